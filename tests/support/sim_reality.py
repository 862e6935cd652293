"""Model against reality: a fixed fleet of reference workers (examples/worker/qfleet_worker.py's
Worker, run as it runs on an instance, with a job that takes a fixed time) consumes a queue on
the emulator while a script sends S3 events on a schedule; prints, as JSON, each message's
upload-to-processed latency (measured) for tests/integration/simulate_moto.rs to compare with
`qfleet simulate` of the same run.

    sim_reality.py ENDPOINT QUEUE_NAME WORKERS SECONDS_PER_MESSAGE SCHEDULE_JSON
      SCHEDULE_JSON: [[second, count], ...]
"""
import json
import multiprocessing as mp
import os
import sys
import threading
import time

import boto3

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "worker"))
import qfleet_worker as qw  # noqa: E402

REGION = "eu-west-1"


def client(endpoint):
    return boto3.client("sqs", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def worker(endpoint, url, seconds, done, stop):
    sys.stdout = sys.stderr  # the worker's log lines; stdout is the JSON
    cfg = qw.Config({"QFLEET_QUEUE_URL": url, "QFLEET_VISIBILITY_TIMEOUT": "60",
                     "QFLEET_WAIT_SECONDS": "1", "AWS_REGION": REGION,
                     "QFLEET_BUCKET": "sim-reality"})

    def job(_s3, _bucket, key, _cfg):
        time.sleep(seconds)
        done.put((key, time.time()))

    w = qw.Worker(cfg, sqs=client(endpoint), s3=object(), job=job, instance_id="i-sim")
    threading.Thread(target=lambda: (stop.wait(), w.stop.set()), daemon=True).start()
    w.run()


def event(key):
    return json.dumps({"Records": [{
        "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "s3": {"bucket": {"name": "sim-reality"}, "object": {"key": key}}}]})


def main():
    endpoint, name, n, seconds, schedule = sys.argv[1:6]
    n, seconds, schedule = int(n), float(seconds), json.loads(schedule)
    sqs = client(endpoint)
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    done, stop = mp.Queue(), mp.Event()
    procs = [mp.Process(target=worker, args=(endpoint, url, seconds, done, stop))
             for _ in range(n)]
    for p in procs:
        p.start()
    time.sleep(3)  # the workers reach the queue
    sent, total, t0 = {}, sum(c for _, c in schedule), time.time()
    for at, count in schedule:
        time.sleep(max(0.0, t0 + at - time.time()))
        for i in range(0, count, 10):
            keys = [f"uploads/{at}-{j}" for j in range(i, min(count, i + 10))]
            now = time.time()
            sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(k), "MessageBody": event(key)} for k, key in enumerate(keys)])
            for key in keys:
                sent[key] = now
    latencies, deadline = [], time.time() + 120
    while len(latencies) < total and time.time() < deadline:
        try:
            key, at = done.get(timeout=1)
        except Exception:  # noqa: BLE001 - queue.Empty
            continue
        latencies.append(at - sent[key])
    stop.set()
    for p in procs:
        p.join(10)
        if p.is_alive():
            p.terminate()
    sqs.delete_queue(QueueUrl=url)
    print(json.dumps({"sent": total, "latencies": sorted(latencies)}))


if __name__ == "__main__":
    main()
