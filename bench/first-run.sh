#!/usr/bin/env bash
# A first run from a fresh clone (issues 13 and 36): how long `scripts/demo` takes from a fresh
# clone with empty caches to its end, and what the build step of `scripts/test` compiles after
# it (the two commands share one build: it should compile no dependency again).
# Target: the whole demo within 4 minutes on 2 cores (issue 84).
#
#   bench/first-run.sh [--warm-registry] [--worktree]
#
# It clones this repository's HEAD into a temporary directory (--worktree: with this checkout's
# uncommitted changes and new files) and runs there, with an empty CARGO_TARGET_DIR, an empty
# CARGO_HOME (the crates.io download counts; --warm-registry uses yours instead) and an empty
# pip and uv caches:
#   1. scripts/demo, its output timestamped: the build it does, its first qfleet output (the
#      .venv it installs counts: the clone has none), the whole demo (LocalStack's install too);
#   2. the build step of scripts/test: `cargo clippy --all-targets -- -D warnings`, then
#      `cargo test --no-run`, with the units each compiles: the tests' own (dev-dependencies,
#      test targets), and any the demo had built, compiled again (target: none).
# The demo stops the emulators it started; the clone, its build and its caches are removed at
# the end. A cold build takes minutes and both cores: run nothing else heavy meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
warm_registry=false
worktree=false
for arg in "$@"; do
  case "$arg" in
    --warm-registry) warm_registry=true ;;
    --worktree) worktree=true ;;
    *) echo "usage: bench/first-run.sh [--warm-registry] [--worktree]" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/qfleet-first-run.XXXXXX")
clone=$work/qfleet
cleanup() {
  # The demo stops its emulators itself; this is for a run cut short.
  if [ -d "$clone/scripts" ]; then
    (cd "$clone" && { scripts/local-aws stop; scripts/localstack stop; }) >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

git clone --quiet "$root" "$clone"
what="HEAD $(git -C "$clone" rev-parse --short HEAD)"
if $worktree; then
  git -C "$root" diff HEAD --binary > "$work/worktree.patch"
  [ -s "$work/worktree.patch" ] && git -C "$clone" apply "$work/worktree.patch"
  git -C "$root" ls-files --others --exclude-standard -z | (cd "$root" && xargs -0r cp --parents -t "$clone")
  what="$what + the working tree"
fi

export CARGO_TARGET_DIR=$work/target PIP_CACHE_DIR=$work/pip-cache UV_CACHE_DIR=$work/uv-cache
if $warm_registry; then
  registry="your CARGO_HOME (crates already downloaded do not count)"
else
  export CARGO_HOME=$work/cargo-home
  registry="empty CARGO_HOME (the crates.io download counts)"
fi

# Times are integer microseconds ($EPOCHREALTIME without its point).
now() { echo "${EPOCHREALTIME/./}"; }
secs() { local d=$(($2 - $1)); printf '%d.%d' $((d / 1000000)) $((d % 1000000 / 100000)); }

# Every cargo call goes through a wrapper that logs its start and end, its exit code, the CPU
# time the whole machine spent meanwhile (/proc/stat, in 1/100 s), the CPU time of cargo and its
# compilers (`times`, in s) and its arguments: what the others on a shared machine took shows.
real_cargo=$(command -v cargo)
mkdir -p "$work/bin"
cat > "$work/bin/cargo" <<WRAPPER
#!/usr/bin/env bash
busy() { awk '/^cpu / { print \$2 + \$3 + \$4 + \$7 + \$8 + \$9 }' /proc/stat; }
start=\${EPOCHREALTIME/./} busy0=\$(busy)
"$real_cargo" "\$@" && rc=0 || rc=\$?
end=\${EPOCHREALTIME/./} busy1=\$(busy)
times > "$work/times.\$\$"  # in this shell: a subshell has no children to count
cpu=\$(awk 'NR == 2 { split(\$0, t, /[ms ]+/); print t[1] * 60 + t[2] + t[3] * 60 + t[4] }' "$work/times.\$\$")
rm -f "$work/times.\$\$"
echo "\$start \$end \$rc \$busy0 \$busy1 \$cpu \$*" >> "$work/cargo-calls"
exit \$rc
WRAPPER
chmod +x "$work/bin/cargo"
export PATH=$work/bin:$PATH

echo "first run of $what: $(nproc) cores, empty target dir, $registry, empty pip and uv caches"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. The demo, each line logged with the seconds since the start. Its first qfleet output is
#    the first line after the first `$ .../qfleet ...` step line.
start=$(now)
(cd "$clone" && scripts/demo 2>&1) | {
  step=false
  while IFS= read -r line; do
    t=$(now)
    printf '%8s  %s\n' "$(secs "$start" "$t")" "$line" >> "$work/demo.log"
    if $step && [ ! -s "$work/first" ]; then echo "$t" > "$work/first"; fi
    case "$line" in '$ '*qfleet' '*) step=true ;; esac
  done
} && demo_rc=0 || demo_rc=$?
end=$(now)
first=$(cat "$work/first" 2>/dev/null || true)
b0="" b1="" busy0="" busy1="" cpu="" build_args=""
if [ -f "$work/cargo-calls" ]; then
  read -r b0 b1 busy0 busy1 cpu build_args < \
    <(awk '$3 == 0 && $7 == "build" { $3 = ""; print; exit }' "$work/cargo-calls") || true
fi
if [ "$demo_rc" != 0 ] || [ -z "$first" ] || [ -z "$b1" ]; then
  tail -40 "$work/demo.log" >&2 || true
  echo "scripts/demo failed (exit $demo_rc) or printed no qfleet output" >&2
  exit 1
fi

# 2. The build step of scripts/test, as scripts/test runs it (keep these in step with it).
#    With -v cargo names every unit: `Running `rustc --crate-name X ...`` for each one it
#    compiles (or, for clippy, checks), `Fresh X` for each one it reuses.
run_step() {
  local log=$work/$1.log t0 t1 units ours
  shift
  t0=$(now)
  (cd "$clone" && "$@" > "$log" 2>&1) || { tail -30 "$log" >&2; echo "failed: $*" >&2; return 1; }
  t1=$(now)
  # shellcheck disable=SC2016  # the backquote is cargo's, not an expansion
  units=$(grep -o 'Running `[^`]*--crate-name [A-Za-z0-9_]*' "$log" | sed 's/.*--crate-name //' || true)
  ours=$(grep -cxE 'qfleet(_[a-z]+)?|integration|layers' <<< "$units" || true)
  echo "$(secs "$t0" "$t1") $(grep -c . <<< "$units" || true) $ours $(grep -c '^ *Fresh ' "$log" || true)"
}
# scripts/test's builds are not incremental (CARGO_INCREMENTAL=0), as the demo's.
export CARGO_INCREMENTAL=0
# The demo's units, as its build names them when nothing is left to compile (`Fresh NAME
# VERSION`): a dependency cargo test compiles that is among them is compiled again.
# shellcheck disable=SC2086  # the demo's arguments, one word each
(cd "$clone" && cargo ${build_args/--quiet/} -v 2>&1) | sed -n 's/^ *Fresh //p' | sort -u > "$work/demo-units"
clippy=$(run_step clippy cargo clippy -v --all-targets -- -D warnings)
tests=$(run_step test cargo test -v --no-run)
read -r clippy_s clippy_n clippy_ours clippy_fresh <<< "$clippy"
read -r test_s test_n test_ours test_fresh <<< "$tests"

row() { printf '%-58s %8s  %s\n' "$@"; }
echo
row "step" "wall s" ""
row "scripts/demo: cargo $build_args" "$(secs "$b0" "$b1")" "(from $(secs "$start" "$b0") s to $(secs "$start" "$b1") s)"
# What the build had of the machine: its own CPU time, and what other processes took meanwhile.
cores=$(nproc)
wall=$(((b1 - b0) / 1000000))
machine=$(((busy1 - busy0) / 100))
others=$((machine - ${cpu%.*}))
[ "$others" -lt 0 ] && others=0
row "  its CPU time: cargo and the compilers" "${cpu%.*}" "($((${cpu%.*} / cores)) s per core)"
row "  the CPU time other processes took meanwhile" "$others" \
  "($((others * 100 / (wall * cores + 1)))% of the $cores cores, the venv installs included)"
row "scripts/demo: first qfleet output" "$(secs "$start" "$first")" ""
row "scripts/demo: the whole demo (LocalStack's install too)" "$(secs "$start" "$end")" ""
row "scripts/test: cargo clippy --all-targets -- -D warnings" "$clippy_s" \
  "(checks $((clippy_n - clippy_ours)) dependencies, $clippy_ours qfleet units; reuses $clippy_fresh)"
row "scripts/test: cargo test --no-run" "$test_s" \
  "(compiles $((test_n - test_ours)) dependencies, $test_ours qfleet units; reuses $test_fresh)"
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
first_s=$(((first - start) / 1000000))
echo "first qfleet output after $((first_s / 60)) min $((first_s % 60)) s"
end_s=$(((end - start) / 1000000))
echo "the whole demo after $((end_s / 60)) min $((end_s % 60)) s (target <= 4 min): $([ "$end_s" -le 240 ] && echo met || echo not met)"
deps=$((test_n - test_ours))
again=$(sed -n 's/^ *Compiling //p' "$work/test.log" | grep -v ' (/' | sort -u | comm -12 - "$work/demo-units" | grep -c . || true)
echo "dependencies cargo test compiles after scripts/demo: $deps (the tests' own), of them again: $again (target 0): $([ "$again" = 0 ] && echo met || echo not met)"
