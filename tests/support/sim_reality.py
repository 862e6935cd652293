"""Model against reality: a fixed fleet of reference workers (qfleet_worker.py's Worker, run
as it runs on an instance, with a job that takes a fixed time) consumes a queue on the emulator
while a script sends S3 events on a schedule; prints, as JSON, each message's
upload-to-processed latency (measured) for tests/integration/simulate_moto.rs to compare with
`qfleet simulate` of the same run. It also prints what the model needs to simulate the run that
happened rather than the one planned: the arrivals as they were sent (a loaded machine sends
late) and the seconds a worker was taken per message (the job's own time plus the worker's
calls to the emulator, which grow when the machine is loaded).

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

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "crates", "qfleet-runtime",
                                "python"))
import qfleet_worker as qw  # noqa: E402

REGION = "eu-west-1"


def client(endpoint):
    return boto3.client("sqs", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


class Timed:
    """The SQS client of one worker, timing its calls: a message holds the worker from the
    moment its receive returns to the moment its delete returns, plus the receive's own round
    trip, taken here as long as the delete's (both are one small call to the same server; a
    receive's own duration also holds the long poll's wait for a message)."""

    def __init__(self, sqs, held):
        self.sqs, self.held, self.received = sqs, held, None

    def receive_message(self, **kw):
        r = self.sqs.receive_message(**kw)
        if r.get("Messages"):
            self.received = time.time()
        return r

    def delete_message(self, **kw):
        t0 = time.time()
        r = self.sqs.delete_message(**kw)
        now = time.time()
        if self.received is not None:
            self.held.put(now - self.received + (now - t0))
            self.received = None
        return r

    def __getattr__(self, name):
        return getattr(self.sqs, name)


def worker(endpoint, url, seconds, done, held, stop):
    sys.stdout = sys.stderr  # the worker's log lines; stdout is the JSON
    cfg = qw.Config({"QFLEET_QUEUE_URL": url, "QFLEET_VISIBILITY_TIMEOUT": "60",
                     "QFLEET_WAIT_SECONDS": "1", "AWS_REGION": REGION,
                     "QFLEET_BUCKET": "sim-reality"})

    def job(_s3, _bucket, key, _cfg):
        time.sleep(seconds)
        done.put((key, time.time()))

    w = qw.Worker(cfg, sqs=Timed(client(endpoint), held), s3=object(), job=job,
                  instance_id="i-sim")
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
    done, held, stop = mp.Queue(), mp.Queue(), mp.Event()
    procs = [mp.Process(target=worker, args=(endpoint, url, seconds, done, held, stop))
             for _ in range(n)]
    for p in procs:
        p.start()
    time.sleep(3)  # the workers reach the queue
    sent, arrivals, total, t0 = {}, {}, sum(c for _, c in schedule), time.time()
    for at, count in schedule:
        time.sleep(max(0.0, t0 + at - time.time()))
        for i in range(0, count, 10):
            keys = [f"uploads/{at}-{j}" for j in range(i, min(count, i + 10))]
            now = time.time()
            sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(k), "MessageBody": event(key)} for k, key in enumerate(keys)])
            for key in keys:
                sent[key] = now
            second = int(now - t0)
            arrivals[second] = arrivals.get(second, 0) + len(keys)
    # A bound, not an expectation: a loaded machine is slow, and each message is still waited for.
    latencies, deadline = [], time.time() + 600
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
    taken = []
    while True:
        try:
            taken.append(held.get(timeout=0.5))
        except Exception:  # noqa: BLE001 - queue.Empty
            break
    print(json.dumps({"sent": total, "latencies": sorted(latencies),
                      "arrivals": sorted([s, n] for s, n in arrivals.items()),
                      "seconds_per_message": sum(taken) / len(taken) if taken else None,
                      "held": len(taken)}))


if __name__ == "__main__":
    main()
