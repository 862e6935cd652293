#!/usr/bin/env bash
# Purge benchmark against moto's server, with a release build: emptying a versioned bucket of
# 10 000 object versions (5 000 keys, two versions each; written untimed with boto3), as users
# do it — `qfleet teardown ENV --yes --purge-bucket` of a deployed environment whose bucket
# holds them (the whole teardown is timed: both reads of the bucket, the purge, the final
# listing, both stacks) — against the same deletions sent as sequential
# `aws s3api delete-objects` calls of 1000 keys each (listed beforehand with boto3, untimed).
# A teardown of the same environment with an empty bucket is shown for reference.
# Target (issue 13): qfleet empties the bucket at least 5 times as many versions per second.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-tools python >&2
cargo build --release --quiet
exec .venv/bin/python bench/purge.py "$@"
