"""Driver for bench/purge.sh (see there)."""
import concurrent.futures
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import AWS, QFLEET, ROOT, Moto, table  # noqa: E402

DETACH = os.path.join(ROOT, "tests", "support", "moto_detach_policies.py")
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
KEYS = 5_000
VERSIONS_PER_KEY = 2
VERSIONS = KEYS * VERSIONS_PER_KEY
BATCH = 1000


def s3_client(moto):
    return boto3.client("s3", endpoint_url=moto.endpoint, region_name="eu-west-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(max_pool_connections=16))


def fill(s3, bucket):
    """Writes KEYS keys VERSIONS_PER_KEY times each (outside uploads/, so no S3 event makes a
    message of them), 16 at a time; returns the versions the bucket then holds."""
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        for round_ in range(VERSIONS_PER_KEY):
            list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=f"archive/{k:05}",
                                                  Body=f"version {round_} of {k}\n".encode()),
                          range(KEYS)))
    return listing(s3, bucket)


def listing(s3, bucket):
    out = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        out += [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    return out


# A request qfleet logs with --debug: when it ended, the operation, its duration.
LOGGED = re.compile(r"^(\S+)Z DEBUG (\S+) .* in (\d+) ms")


def requests_logged(stderr):
    """(start, end, operation) of every request in a --debug log, in the order they ended."""
    out = []
    for line in stderr.splitlines():
        m = LOGGED.match(line)
        if m:
            end = datetime.fromisoformat(m.group(1))
            out.append((end - timedelta(milliseconds=int(m.group(3))), end, m.group(2)))
    return out


def purge_step(requests):
    """The purge inside a teardown: from the first DeleteObjects sent to the end of the
    ListObjectVersions after the last one (the listing that confirms the bucket empty)."""
    deletes = [i for i, r in enumerate(requests) if r[2] == "S3.DeleteObjects"]
    if not deletes:
        sys.exit("the teardown sent no DeleteObjects")
    confirm = next((r for r in requests[deletes[-1] + 1:] if r[2] == "S3.ListObjectVersions"), None)
    if confirm is None:
        sys.exit("the teardown did not list the bucket after emptying it")
    start = min(requests[i][0] for i in deletes)
    return (confirm[1] - start).total_seconds(), len(deletes)


def bucket_of(s3, env):
    names = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(f"{env}-uploads-")]
    if len(names) != 1:
        sys.exit(f"expected one bucket for {env}, found {names}")
    return names[0]


def bucket_gone(s3, bucket):
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except s3.exceptions.ClientError as e:
        return e.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound")


def main():
    with Moto() as moto:
        s3 = s3_client(moto)

        def deployed(env):
            f = moto.stack_file(env)
            subprocess.run([QFLEET, "deploy", f, "--yes"], env=moto.env, check=True, capture_output=True)
            subprocess.run([PYTHON, DETACH, moto.endpoint, f"qfleet-{env}-fleet"], check=True)
            bucket = bucket_of(s3, env)
            # The template turns versioning on; moto's CloudFormation does not apply it.
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            return f, bucket

        rows = []
        # (a) qfleet, as users run it: a teardown that empties the bucket.
        f, bucket = deployed("purge-q")
        held = len(fill(s3, bucket))
        if held != VERSIONS:
            sys.exit(f"bucket {bucket} holds {held} versions, expected {VERSIONS}")
        *t_q, _, log = moto.measure_output([QFLEET, "teardown", f, "--yes", "--purge-bucket", "--debug"])
        logged = requests_logged(log)
        t_purge, batches = purge_step(logged)
        listed = [r for r in logged if r[2] == "S3.ListObjectVersions"]
        t_listing = sum((r[1] - r[0]).total_seconds() for r in listed)
        if not bucket_gone(s3, bucket):
            sys.exit(f"qfleet's teardown left bucket {bucket} in place")
        rows.append((f"qfleet teardown --purge-bucket, {VERSIONS:,} versions", t_q))

        # For reference: the same teardown with nothing to purge.
        f, bucket = deployed("purge-e")
        t_e = moto.measure([QFLEET, "teardown", f, "--yes", "--purge-bucket"])
        rows.append(("qfleet teardown, same environment, empty bucket", t_e))

        # (b) the same deletions as sequential `aws s3api delete-objects` calls of 1000 keys each.
        bucket = "purge-cli-bench"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        versions = fill(s3, bucket)
        if len(versions) != VERSIONS:
            sys.exit(f"bucket {bucket} holds {len(versions)} versions, expected {VERSIONS}")
        files = []
        for i in range(0, len(versions), BATCH):
            path = os.path.join(moto.work, f"batch-{i // BATCH:02}.json")
            with open(path, "w") as out:
                json.dump({"Objects": versions[i:i + BATCH], "Quiet": True}, out)
            files.append(path)
        parts = [moto.measure([AWS, "--endpoint-url", moto.endpoint, "s3api", "delete-objects",
                               "--bucket", bucket, "--delete", f"file://{p}"]) for p in files]
        left = len(listing(s3, bucket))
        if left:
            sys.exit(f"the AWS CLI's deletions left {left} versions in {bucket}")
        t_cli = (sum(p[0] for p in parts), sum(p[1] for p in parts), max(p[2] for p in parts))
        rows.append((f"aws s3api delete-objects x{len(files)}, sequential", t_cli))

        table(rows)
        purge_rate, cli_rate, whole_rate = VERSIONS / t_purge, VERSIONS / t_cli[0], VERSIONS / t_q[0]
        ratio = purge_rate / cli_rate
        print()
        print(f"qfleet's purge in that teardown (DeleteObjects x{batches}, first sent, to the listing "
              f"that found the bucket empty, from its --debug log): {t_purge:.3f} s, {purge_rate:,.0f} versions/s")
        print(f"aws s3api delete-objects x{len(files)}, sequential (the deletions alone, listed "
              f"beforehand): {t_cli[0]:.3f} s, {cli_rate:,.0f} versions/s")
        print(f"purge: qfleet / AWS CLI: {ratio:.1f}x versions/s (target >= 5x): {'met' if ratio >= 5 else 'NOT met'}")
        print(f"whole teardown: {whole_rate:,.0f} versions/s ({whole_rate / cli_rate:.1f}x the AWS CLI's "
              f"deletions alone); {t_listing:.1f} s of its {t_q[0]:.1f} s are the emulator answering "
              f"{len(listed)} ListObjectVersions calls (two full reads of the bucket before the purge, "
              f"one after it)")


if __name__ == "__main__":
    main()
