"""Driver for bench/submit.sh (see there)."""
import json
import os
import subprocess
import sys

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import AWS, QFLEET, Moto, table  # noqa: E402

JOBS = 10_000
CLI_SAMPLE = 100


def visible(sqs, queue):
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(a["Attributes"]["ApproximateNumberOfMessages"]), url


def send_with_cli(moto, url, bodies):
    """One `aws sqs send-message` per body, sequential, each with its job_id attribute."""
    return [moto.measure([AWS, "--endpoint-url", moto.endpoint, "sqs", "send-message",
                          "--queue-url", url, "--message-body", body, "--message-attributes",
                          json.dumps({"job_id": {"DataType": "String",
                                                 "StringValue": json.loads(body)["photo"]}})])
            for body in bodies]


def main():
    with_jobs = "--jobs" in sys.argv[1:]
    with Moto() as moto:
        sqs = boto3.client("sqs", endpoint_url=moto.endpoint, region_name="eu-west-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        lines = os.path.join(moto.work, "jobs.jsonl")
        with open(lines, "w") as f:
            for n in range(JOBS):
                f.write(json.dumps({"photo": f"p-{n:05}", "resize": "1080p"}) + "\n")
        with open(lines) as f:
            sample = [next(f).strip() for _ in range(CLI_SAMPLE)]
        runs = [("bf-s", "", "qfleet submit --lines, no jobs:")]
        if with_jobs:
            runs.append(("bf-j", "jobs: {}\n", "qfleet submit --lines, jobs: (recorded)"))
        rows = []
        for env, extra, label in runs:
            f = moto.stack_file(env, extra)
            subprocess.run([QFLEET, "deploy", f, "--yes"], env=moto.env, check=True,
                           capture_output=True)
            t = moto.measure([QFLEET, "submit", f, "--lines", lines, "--id-field", "photo",
                              "-o", "json"])
            held, url = visible(sqs, f"qfleet-{env}-jobs")
            if held != JOBS:
                sys.exit(f"{env}: the queue holds {held} messages, expected {JOBS}")
            rows.append((f"{label} {JOBS:,} jobs", t))

        # One `aws sqs send-message` per job. moto's cost of a send grows with the queue's
        # depth, so the AWS CLI is timed at both ends of the same range: into an empty queue,
        # and into the first run's queue, which holds the 10 000. Sent one by one, the 10 000
        # would cost about the mean of the two a job.
        sqs.create_queue(QueueName="bf-cli")
        _, empty_url = visible(sqs, "bf-cli")
        _, full_url = visible(sqs, "qfleet-bf-s-jobs")
        at_empty = send_with_cli(moto, empty_url, sample)
        at_full = send_with_cli(moto, full_url, sample)
        for parts, label in [(at_empty, "empty queue"), (at_full, f"queue of {JOBS:,}")]:
            rows.append((f"aws sqs send-message x{CLI_SAMPLE}, {label}",
                         (sum(p[0] for p in parts), sum(p[1] for p in parts),
                          max(p[2] for p in parts))))
        table(rows)
        per_empty = sum(p[0] for p in at_empty) / CLI_SAMPLE
        per_full = sum(p[0] for p in at_full) / CLI_SAMPLE
        cli_all = (per_empty + per_full) / 2 * JOBS
        print()
        print(f"aws sqs send-message: {per_empty * 1000:.0f} ms a job into an empty queue, "
              f"{per_full * 1000:.0f} ms into one of {JOBS:,}; {JOBS:,} jobs one by one: "
              f"about {cli_all:,.0f} s")
        for label, (wall, reqs, _) in rows[:len(runs)]:
            ratio = cli_all / wall
            print(f"{label}: {wall:.1f} s, {JOBS / wall:,.0f} jobs/s, {reqs:,} requests; "
                  f"{ratio:.1f}x the AWS CLI (target >= 5x): {'met' if ratio >= 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
