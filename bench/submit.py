"""Driver for bench/submit.sh (see there)."""
import json
import os
import subprocess
import sys

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import AWS, QFLEET, Moto, table  # noqa: E402

JOBS = 10_000
CLI_SAMPLE = 200


def visible(sqs, queue):
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(a["Attributes"]["ApproximateNumberOfMessages"]), url


def main():
    with Moto() as moto:
        sqs = boto3.client("sqs", endpoint_url=moto.endpoint, region_name="eu-west-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        lines = os.path.join(moto.work, "jobs.jsonl")
        with open(lines, "w") as f:
            for n in range(JOBS):
                f.write(json.dumps({"photo": f"p-{n:05}", "resize": "1080p"}) + "\n")
        rows = []
        for env, extra, label in [("bf-s", "", "qfleet submit --lines, no jobs:"),
                                  ("bf-j", "jobs: {}\n", "qfleet submit --lines, jobs: (recorded)")]:
            f = moto.stack_file(env, extra)
            subprocess.run([QFLEET, "deploy", f, "--yes"], env=moto.env, check=True,
                           capture_output=True)
            t = moto.measure([QFLEET, "submit", f, "--lines", lines, "--id-field", "photo",
                              "-o", "json"])
            held, _ = visible(sqs, f"qfleet-{env}-jobs")
            if held != JOBS:
                sys.exit(f"{env}: the queue holds {held} messages, expected {JOBS}")
            rows.append((f"{label} {JOBS:,} jobs", t))

        # One `aws sqs send-message` per job, as a shell loop over the file would send them.
        sqs.create_queue(QueueName="bf-cli")
        _, url = visible(sqs, "bf-cli")
        with open(lines) as f:
            sample = [next(f).strip() for _ in range(CLI_SAMPLE)]
        parts = [moto.measure([AWS, "--endpoint-url", moto.endpoint, "sqs", "send-message",
                               "--queue-url", url, "--message-body", body,
                               "--message-attributes",
                               json.dumps({"job_id": {"DataType": "String",
                                                      "StringValue": json.loads(body)["photo"]}})])
                 for body in sample]
        held, _ = visible(sqs, "bf-cli")
        if held != CLI_SAMPLE:
            sys.exit(f"bf-cli: the queue holds {held} messages, expected {CLI_SAMPLE}")
        cli = (sum(p[0] for p in parts), sum(p[1] for p in parts), max(p[2] for p in parts))
        rows.append((f"aws sqs send-message x{CLI_SAMPLE}, sequential", cli))
        table(rows)
        per_job = cli[0] / CLI_SAMPLE
        cli_all = per_job * JOBS
        print()
        print(f"aws sqs send-message: {per_job * 1000:.0f} ms a job; {JOBS:,} jobs at that rate: "
              f"{cli_all:,.0f} s")
        for label, (wall, reqs, _) in rows[:2]:
            ratio = cli_all / wall
            print(f"{label}: {wall:.1f} s, {JOBS / wall:,.0f} jobs/s, {reqs:,} requests; "
                  f"{ratio:.0f}x the AWS CLI (target >= 5x): {'met' if ratio >= 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
