#!/usr/bin/env python3
"""Small helpers for the lab walkthrough (README.md beside this file), with boto3.

  lab.py upload FILE            upload FILE to uploads/FILENAME (the bucket's own
                                notification then carries the job to the queue)
  lab.py wait KEY [SECONDS]     wait until KEY exists in the bucket
  lab.py wait-queue N [SECONDS] wait until exactly N jobs wait in the job queue
  lab.py wait-dlq N [SECONDS]   wait until the dead-letter queue holds exactly N messages
  lab.py poison KEY             send the queue, by hand, the S3 event of an upload KEY that
                                does not exist: a job that fails every time
  lab.py mapping N [SECONDS]    play the part of Lambda's event source mapping: hand batches
                                from the queue to the reference handler (qfleet_handler.py) and
                                delete what it did not report as failed, until N jobs are done

The environment is $QFLEET_ENV (default lab); AWS_ENDPOINT_URL points boto3 at the emulator.
With $QFLEET_STAGE set to a pipeline's later stage, the queue is that stage's.
"""
import json
import os
import sys
import time
import urllib.parse

import boto3

ENV = os.environ.get("QFLEET_ENV", "lab")
STAGE = os.environ.get("QFLEET_STAGE")
# The job queue: the first stage's (a one-stage environment's), or a later stage's.
JOBS = f"qfleet-{ENV}--{STAGE}-jobs" if STAGE else f"qfleet-{ENV}-jobs"
REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1"


def bucket():
    account = boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]
    return f"{ENV}-uploads-{account}-{REGION}"


def queue_url(sqs, name):
    return sqs.get_queue_url(QueueName=name)["QueueUrl"]


def s3_event(bucket_name, key):
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket_name, "arn": f"arn:aws:s3:::{bucket_name}"},
               "object": {"key": urllib.parse.quote_plus(key)}},
    }]}


def wait_until(check, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            print(f"ok: {what}")
            return
        time.sleep(0.5)
    sys.exit(f"timed out after {seconds} s waiting for {what}")


def mapping(sqs, want, seconds):
    """What an SQS event source mapping with ReportBatchItemFailures does, on this machine."""
    here = os.path.dirname(os.path.abspath(__file__))
    # The handler and the modules it imports (deployed, qfleet carries them inline, or the job
    # module's loader).
    sys.path.insert(0, os.path.join(here, "..", "..", "crates", "qfleet-runtime", "python"))
    import qfleet_handler

    url = queue_url(sqs, JOBS)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    done, deadline = 0, time.monotonic() + seconds
    while done < want and time.monotonic() < deadline:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                   AttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
        if not msgs:
            continue
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": {},
            "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": REGION,
        } for m in msgs]}
        result = qfleet_handler.handler(event, None)
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        for m in msgs:
            # A failed message is left to become visible again, and to the dead-letter queue.
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                done += 1
    if done < want:
        sys.exit(f"timed out after {seconds} s: the handler finished {done} of {want} jobs")
    print(f"ok: the handler finished {done} job(s)")


def main(argv):
    cmd, args = (argv[0], argv[1:]) if argv else ("", [])
    s3, sqs = boto3.client("s3", region_name=REGION), boto3.client("sqs", region_name=REGION)
    if cmd == "upload":
        key = "uploads/" + os.path.basename(args[0])
        s3.upload_file(args[0], bucket(), key)
        print(f"uploaded s3://{bucket()}/{key}")
    elif cmd == "poison":
        sqs.send_message(QueueUrl=queue_url(sqs, JOBS),
                         MessageBody=json.dumps(s3_event(bucket(), args[0])))
        print(f"sent the queue, by hand, the S3 event of an upload {args[0]}")
    elif cmd == "wait":
        b = bucket()

        def exists():
            try:
                s3.head_object(Bucket=b, Key=args[0])
                return True
            except s3.exceptions.ClientError:
                return False
        wait_until(exists, float(args[1]) if len(args) > 1 else 60, f"s3://{b}/{args[0]}")
    elif cmd == "wait-queue":
        want = int(args[0])
        url = queue_url(sqs, JOBS)

        def waiting():
            a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            return int(a["Attributes"]["ApproximateNumberOfMessages"]) == want
        wait_until(waiting, float(args[1]) if len(args) > 1 else 30, f"{want} job(s) waiting in the queue")
    elif cmd == "wait-dlq":
        want = int(args[0])
        url = queue_url(sqs, JOBS)
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
        dlq = queue_url(sqs, json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"].rsplit(":", 1)[1])

        def depth():
            a = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
            return int(a["Attributes"]["ApproximateNumberOfMessages"]) == want
        wait_until(depth, float(args[1]) if len(args) > 1 else 90, f"{want} message(s) in the dead-letter queue")
    elif cmd == "mapping":
        mapping(sqs, int(args[0]), float(args[1]) if len(args) > 1 else 60)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
