#!/usr/bin/env bash
# Backfill benchmark against moto's server, with a release build: 10 000 jobs from a file of
# JSON lines, as users send them — `qfleet submit ENV --lines FILE` (batches of ten) to a
# deployed environment without `jobs:`, and to one with `jobs:` (each job recorded `queued`
# in the job table first) — against one `aws sqs send-message` per job. The AWS CLI's figure is
# 200 sequential calls, timed, times 50: a full run of it would take most of an hour.
# Target (issue 56): qfleet sends the 10 000 jobs at least 5 times faster.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-tools python >&2
cargo build --release --quiet
exec .venv/bin/python bench/submit.py "$@"
