#!/usr/bin/env bash
# Teardown benchmark against moto's server, with a release build: `qfleet teardown` of one
# environment, of 30 copies at the default --concurrency (10) and of 30 copies at
# --concurrency 30 (each a fresh deploy, untimed; median of 3 runs, BENCH_RUNS to change), and,
# for one environment, the AWS CLI's `aws cloudformation delete-stack` plus
# `aws cloudformation wait stack-delete-complete` for both stacks. moto cannot delete roles with
# managed policies attached (AWS detaches them itself), so the benchmark detaches them before
# each timed teardown, untimed.
# Target (issue 13): 30 copies at the default concurrency take less than 3 times one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-tools python >&2
cargo build --release --quiet
exec .venv/bin/python bench/teardown.py "$@"
