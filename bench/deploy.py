"""Driver for bench/deploy.sh (see there)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import AWS, QFLEET, Moto, table  # noqa: E402


def main():
    with Moto() as moto:
        run_all(moto)


def run_all(moto):
    work, env, endpoint = moto.work, moto.env, moto.endpoint
    rows = []

    def row(label, result):
        rows.append((label, result))
        return result

    q = moto.stack_file("bench-q")
    row("qfleet deploy (create)", moto.measure([QFLEET, "deploy", q, "--yes"]))
    noop_q = row("qfleet deploy (no-op)", moto.measure([QFLEET, "deploy", q, "--yes"]))
    row("qfleet plan (no-op)", moto.measure([QFLEET, "plan", q]))

    # The AWS CLI on the same two templates, with the network parameters qfleet discovered.
    out = os.path.join(work, "rendered")
    subprocess.run([QFLEET, "render", moto.stack_file("bench-aws"), "--out", out], check=True, env=env,
                   capture_output=True)
    import boto3
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="eu-west-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = ",".join(s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default-for-az", "Values": ["true"]}])["Subnets"])
    aws = [AWS, "--endpoint-url", endpoint, "cloudformation", "deploy",
           "--no-fail-on-empty-changeset", "--capabilities", "CAPABILITY_IAM"]

    # moto answers an unchanged CreateChangeSet with "No updates are to be performed", which
    # the AWS CLI reports as an error even with --no-fail-on-empty-changeset: still a no-op.
    def aws_deploy(noop=False):
        unchanged = (lambda p: "No updates are to be performed" in p.stderr) if noop else None
        a = moto.measure(aws + ["--template-file", os.path.join(out, "data.yaml"), "--stack-name", "bench-aws-data"],
                         accept=unchanged)
        b = moto.measure(aws + ["--template-file", os.path.join(out, "fleet.yaml"), "--stack-name",
                                "bench-aws-fleet", "--parameter-overrides", f"VpcId={vpc}", f"SubnetIds={subnets}"],
                         accept=unchanged)
        return a[0] + b[0], a[1] + b[1], max(a[2], b[2])

    row("aws cloudformation deploy x2 (create)", aws_deploy())
    noop_aws = row("aws cloudformation deploy x2 (no-op)", aws_deploy(noop=True))

    one = row("qfleet deploy, 1 environment", moto.measure([QFLEET, "deploy", moto.stack_file("bench-one"), "--yes"]))
    ten_files = [moto.stack_file(f"bench-ten-{i:02}") for i in range(1, 11)]
    ten = row("qfleet deploy, 10 environments", moto.measure([QFLEET, "deploy", *ten_files, "--yes"]))

    table(rows)
    qfleet_peak = max(r[1][2] for r in rows if r[0].startswith("qfleet"))
    speedup = noop_aws[0] / noop_q[0]
    print()
    print(f"no-op speed-up over the AWS CLI: {speedup:.1f}x (target >= 10x): {'met' if speedup >= 10 else 'NOT met'}")
    print(f"no-op requests: {noop_q[1]} (target <= 2): {'met' if noop_q[1] <= 2 else 'NOT met'}")
    ratio = ten[0] / one[0]
    print(f"10 environments / 1: {ratio:.2f}x wall time (target < 3x): {'met' if ratio < 3 else 'NOT met'}")
    print(f"peak memory of a qfleet deploy: {qfleet_peak:.1f} MB (target < 60 MB): {'met' if qfleet_peak < 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
