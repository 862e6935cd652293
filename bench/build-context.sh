#!/usr/bin/env bash
# Reads a build context of SIZE_MIB (default 1024: 1 GiB, a file of random bytes plus a small
# app) the way every command that loads a stack file does, with `qfleet validate`, and prints
# the wall time and the peak memory (release build). Target (issue 86, item 6): memory bounded
# whatever the context's size; a context above 500 MiB is warned about.
#   bench/build-context.sh [SIZE_MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
cargo build --release --quiet
bin=$PWD/target/release/qfleet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/worker"
printf 'FROM public.ecr.aws/docker/library/python:3.12-slim\nCOPY . /app\n' > "$dir/worker/Dockerfile"
printf 'print("hello")\n' > "$dir/worker/main.py"
head -c "$((size * 1024 * 1024))" /dev/urandom > "$dir/worker/data.bin"
cat > "$dir/ctx.yaml" <<YAML
environment: ctx
region: eu-west-1
lab: true
workers:
  kind: fargate
  image:
    build:
      context: worker
YAML
python3 - "$bin" "$dir/ctx.yaml" "$size" <<'PY'
import resource, subprocess, sys, time
binary, path, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = time.perf_counter()
p = subprocess.run([binary, "validate", path], capture_output=True, text=True)
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
warned = "more than 500 MiB" in p.stderr
print(f"validate with a build context of {size} MiB: exit {p.returncode}, wall {wall:.2f} s, peak memory {peak:.0f} MiB, warned: {warned}")
print("target: memory under 64 MiB ->", "met" if peak < 64 else "NOT met")
PY
