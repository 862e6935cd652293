#!/usr/bin/env bash
# Status benchmark against moto's server, with a release build: `qfleet status` (the whole
# picture: stacks, fleet, queues, scaling, alarms) against the three AWS CLI calls that give a
# part of it (`aws cloudformation describe-stacks`, `aws autoscaling
# describe-auto-scaling-groups`, `aws sqs get-queue-attributes`) on the same server.
# Target (issue 4): qfleet gives the whole picture faster than those three calls do.
# Then `qfleet status` of 30 copies, which also searches for copies the file no longer makes;
# with QFLEET_BASELINE=PATH (a qfleet built before that search, such as
# `git worktree add /tmp/base 469a0a9 && cargo build --release` there) it is timed against it
# (target: within 1.5x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-tools python >&2
cargo build --release --quiet
exec .venv/bin/python bench/status.py "$@"
