#!/usr/bin/env python3
"""Small helpers for the lab walkthrough (README.md beside this file), with boto3.

  lab.py bucket                 print the environment's bucket name
  lab.py upload FILE            upload FILE to uploads/FILENAME
  lab.py notify KEY             send the S3 event the bucket sends for KEY to the queue
                                (the local emulator does not deliver bucket notifications)
  lab.py wait KEY [SECONDS]     wait until KEY exists in the bucket
  lab.py wait-dlq N [SECONDS]   wait until the dead-letter queue holds N messages

The environment is $QFLEET_ENV (default lab); AWS_ENDPOINT_URL points boto3 at the emulator.
"""
import json
import os
import sys
import time
import urllib.parse

import boto3

ENV = os.environ.get("QFLEET_ENV", "lab")
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


def main(argv):
    cmd, args = (argv[0], argv[1:]) if argv else ("", [])
    s3, sqs = boto3.client("s3", region_name=REGION), boto3.client("sqs", region_name=REGION)
    if cmd == "bucket":
        print(bucket())
    elif cmd == "upload":
        key = "uploads/" + os.path.basename(args[0])
        s3.upload_file(args[0], bucket(), key)
        print(f"uploaded s3://{bucket()}/{key}")
    elif cmd == "notify":
        sqs.send_message(QueueUrl=queue_url(sqs, f"qfleet-{ENV}-jobs"),
                         MessageBody=json.dumps(s3_event(bucket(), args[0])))
        print(f"queued the S3 event for {args[0]}")
    elif cmd == "wait":
        b = bucket()

        def exists():
            try:
                s3.head_object(Bucket=b, Key=args[0])
                return True
            except s3.exceptions.ClientError:
                return False
        wait_until(exists, float(args[1]) if len(args) > 1 else 60, f"s3://{b}/{args[0]}")
    elif cmd == "wait-dlq":
        want = int(args[0])
        url = queue_url(sqs, f"qfleet-{ENV}-jobs")
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
        dlq = queue_url(sqs, json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"].rsplit(":", 1)[1])

        def depth():
            a = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
            return int(a["Attributes"]["ApproximateNumberOfMessages"]) >= want
        wait_until(depth, float(args[1]) if len(args) > 1 else 90, f"{want} message(s) in the dead-letter queue")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
