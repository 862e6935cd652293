"""A stand-in for the team's worker: reads the queue qfleet gives it and logs each message.

qfleet sets QFLEET_QUEUE_URL and the rest of the stage's settings (docs/workers.md, "The
variables"). It keeps the worker protocol (docs/workers.md) as a worker without `jobs:` does:
the message deleted after its work, never before; one line per message naming its job; on
SIGTERM, the message in hand finished, then exit. Check it on a laptop, from the repository,
with a job of yours in job.json:

    qfleet dev examples/from-source.yaml --check job.json -- python3 examples/from-source/worker.py
"""

import json
import os
import signal
import threading
import urllib.parse

import boto3

queue = os.environ["QFLEET_QUEUE_URL"]
sqs = boto3.client("sqs")
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())


def job_of(m):
    """The job a message is: its job_id attribute, an upload's key, else the message."""
    attribute = m.get("MessageAttributes", {}).get("job_id", {}).get("StringValue")
    if attribute:
        return attribute
    try:
        key = json.loads(m["Body"])["Records"][0]["s3"]["object"]["key"]
        return urllib.parse.unquote_plus(key)
    except (ValueError, KeyError, IndexError, TypeError):
        return "sqs:" + m["MessageId"]


while not stop.is_set():
    # A long poll shorter than the stop grace: a stop is seen within it.
    got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10, MessageAttributeNames=["job_id"])
    for m in got.get("Messages", []):
        # The team's work goes here.
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        print("msg=%s job=%s outcome=processed" % (m["MessageId"], json.dumps(job_of(m))), flush=True)
