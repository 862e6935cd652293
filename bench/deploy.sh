#!/usr/bin/env bash
# Deploy benchmark against moto's server (the local AWS emulator), with a release build.
# Prints wall time, API requests (counted from the server's request log) and peak memory of:
#   qfleet deploy (create, no-op), qfleet plan (no-op), and the AWS CLI's
#   `aws cloudformation deploy` (create, no-op) on the same two templates and server;
#   one environment against ten deployed concurrently.
# Targets (issue 3): qfleet's no-op >= 10x faster than the AWS CLI's and <= 2 requests;
# ten environments < 3x the wall time of one; peak memory of a deploy < 60 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-tools python >&2
cargo build --release --quiet
exec .venv/bin/python bench/deploy.py "$@"
