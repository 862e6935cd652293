"""Driver for bench/teardown.sh (see there)."""
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import AWS, QFLEET, ROOT, Moto, table  # noqa: E402

DETACH = os.path.join(ROOT, "tests", "support", "moto_detach_policies.py")
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
COPIES = 30


def main():
    with Moto() as moto:
        def deploy(*files):
            subprocess.run([QFLEET, "deploy", *files, "--yes"], env=moto.env, check=True, capture_output=True)

        def detach(*envs):
            subprocess.run([PYTHON, DETACH, moto.endpoint, *[f"qfleet-{e}-fleet" for e in envs]], check=True)

        def teardown(name, copies, *flags):
            """Deploys a fresh environment (or `copies` of one), untimed, and times its teardown."""
            f = moto.stack_file(name, f"copies: {copies}\n" if copies else "")
            deploy(f)
            detach(*([f"{name}-{i:02}" for i in range(1, copies + 1)] if copies else [name]))
            return moto.measure([QFLEET, "teardown", f, "--yes", *flags])

        def median(runs):
            return (statistics.median(r[0] for r in runs), runs[0][1], max(r[2] for r in runs))

        # Interleaved, so that a slow moment of the machine does not fall on one row only.
        one, default, wide = [], [], []
        for r in range(RUNS):
            one.append(teardown(f"one{r}", 0))
            default.append(teardown(f"dflt{r}", COPIES))
            wide.append(teardown(f"wide{r}", COPIES, "--concurrency", str(COPIES)))

        cli = moto.stack_file("td-cli")
        deploy(cli)
        detach("td-cli")
        parts = []
        for stack in ["qfleet-td-cli-fleet", "qfleet-td-cli-data"]:
            base = [AWS, "--endpoint-url", moto.endpoint, "cloudformation"]
            parts.append(moto.measure(base + ["delete-stack", "--stack-name", stack]))
            parts.append(moto.measure(base + ["wait", "stack-delete-complete", "--stack-name", stack]))

        t_one, t_default, t_wide = median(one), median(default), median(wide)
        print(f"median of {RUNS} runs")
        table([
            ("qfleet teardown, 1 environment", t_one),
            (f"qfleet teardown, {COPIES} copies (default concurrency, 10)", t_default),
            (f"qfleet teardown, {COPIES} copies (--concurrency {COPIES})", t_wide),
            ("aws cloudformation delete-stack + wait, x2",
             (sum(p[0] for p in parts), sum(p[1] for p in parts), max(p[2] for p in parts))),
        ])
        print()
        print("runs, wall s: 1 environment " + " ".join(f"{r[0]:.2f}" for r in one)
              + f"; {COPIES} copies " + " ".join(f"{r[0]:.2f}" for r in default)
              + f"; {COPIES} copies at --concurrency {COPIES} " + " ".join(f"{r[0]:.2f}" for r in wide))
        ratio = t_default[0] / t_one[0]
        print(f"{COPIES} copies at the default concurrency / 1: {ratio:.2f}x wall time (target < 3x): "
              f"{'met' if ratio < 3 else 'NOT met'}")
        print(f"{COPIES} copies at --concurrency {COPIES} / 1: {t_wide[0] / t_one[0]:.2f}x wall time")


if __name__ == "__main__":
    main()
