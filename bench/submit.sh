#!/usr/bin/env bash
# Backfill benchmark against moto's server, with a release build: 10 000 jobs from a file of
# JSON lines, as users send them — `qfleet submit ENV --lines FILE` (batches of ten) to a
# deployed environment without `jobs:` (with --jobs, also to one with `jobs:`, each job
# recorded `queued` first) — against one `aws sqs send-message` per job. moto's cost of a send
# grows with the queue's depth: the AWS CLI is timed for 100 sends into an empty queue and 100
# into the full one, and the 10 000 estimated at the mean of the two (a full run of it would
# take hours). Target (issue 56): qfleet sends the 10 000 jobs at least 5 times faster.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-tools python >&2
cargo build --release --quiet
exec .venv/bin/python bench/submit.py "$@"
