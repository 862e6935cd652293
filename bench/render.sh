#!/usr/bin/env bash
# Times `qfleet render lab` (wall time per run, release build) and prints the figures.
# Target (issue 2): under 10 ms once built.
#   bench/render.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
cargo build --release --quiet
bin=target/release/qfleet
"$bin" render lab > /dev/null   # warm the page cache

python3 - "$bin" "$runs" <<'PY'
import statistics, subprocess, sys, time
binary, runs = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run([binary, "render", "lab"], stdout=subprocess.DEVNULL, check=True)
    times.append((time.perf_counter() - t) * 1000)
times.sort()
p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(f"qfleet render lab: {runs} runs, wall ms: min {times[0]:.2f}  median {statistics.median(times):.2f}  p95 {p(0.95):.2f}  max {times[-1]:.2f}")
print("target: under 10 ms ->", "met" if p(0.95) < 10 else "NOT met")
PY
