"""Driver for bench/status.sh (see there)."""
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import AWS, QFLEET, Moto, table  # noqa: E402

RUNS = 5


def main():
    with Moto() as moto:
        f = moto.stack_file("bench-status")
        subprocess.run([QFLEET, "deploy", f, "--yes"], env=moto.env, check=True, capture_output=True)
        url = subprocess.run([AWS, "--endpoint-url", moto.endpoint, "sqs", "get-queue-url", "--queue-name",
                              "qfleet-bench-status-jobs", "--query", "QueueUrl", "--output", "text"],
                             env=moto.env, check=True, capture_output=True, text=True).stdout.strip()
        cli = [
            [AWS, "--endpoint-url", moto.endpoint, "cloudformation", "describe-stacks", "--stack-name",
             "qfleet-bench-status-data"],
            [AWS, "--endpoint-url", moto.endpoint, "autoscaling", "describe-auto-scaling-groups",
             "--auto-scaling-group-names", "qfleet-bench-status-workers"],
            [AWS, "--endpoint-url", moto.endpoint, "sqs", "get-queue-attributes", "--queue-url", url,
             "--attribute-names", "All"],
        ]
        q_runs = [moto.measure([QFLEET, "status", f, "-o", "json"]) for _ in range(RUNS)]
        cli_runs = []
        for _ in range(RUNS):
            parts = [moto.measure(c) for c in cli]
            cli_runs.append((sum(p[0] for p in parts), sum(p[1] for p in parts), max(p[2] for p in parts)))

        def median(runs):
            return (statistics.median(r[0] for r in runs), runs[0][1], max(r[2] for r in runs))

        q, c = median(q_runs), median(cli_runs)
        print(f"median of {RUNS} runs")
        table([("qfleet status (whole picture)", q), ("aws CLI: describe-stacks + describe-asg + get-queue-attrs", c)])
        print()
        print(f"qfleet status is {c[0] / q[0]:.1f}x faster than the three AWS CLI calls: "
              f"{'met' if q[0] < c[0] else 'NOT met'}")

        # Status of a class of 30 copies, which also searches for the copies the file no longer
        # makes (one listing of the region, src/inventory/). Against a baseline binary (a
        # qfleet built before that search, QFLEET_BASELINE=PATH), the target is within 1.5x.
        class_file = moto.stack_file("bench-class", "copies: 30\n")
        subprocess.run([QFLEET, "deploy", class_file, "--yes"], env=moto.env, check=True, capture_output=True)
        rows = [("qfleet status of 30 copies", median([moto.measure([QFLEET, "status", class_file, "-o", "json"])
                                                      for _ in range(RUNS)]))]
        baseline = os.environ.get("QFLEET_BASELINE")
        if baseline:
            rows.append(("baseline status of 30 copies (QFLEET_BASELINE)",
                         median([moto.measure([baseline, "status", class_file, "-o", "json"]) for _ in range(RUNS)])))
        print()
        table(rows)
        if baseline:
            ratio = rows[0][1][0] / rows[1][1][0]
            print(f"status of 30 copies takes {ratio:.2f}x the baseline's time, requests {rows[0][1][1]} against "
                  f"{rows[1][1][1]}: {'met' if ratio <= 1.5 else 'NOT met'} (target: within 1.5x)")


if __name__ == "__main__":
    main()
