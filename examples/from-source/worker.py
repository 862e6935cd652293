"""A stand-in for the team's worker: reads the queue qfleet gives it and logs each message.

qfleet sets QFLEET_QUEUE_URL (and the rest of the stage's settings: `qfleet env ENV`).
"""

import os

import boto3

queue = os.environ["QFLEET_QUEUE_URL"]
sqs = boto3.client("sqs")
while True:
    for m in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20).get("Messages", []):
        print("processing", m["MessageId"], flush=True)
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
