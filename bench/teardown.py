"""Driver for bench/teardown.sh (see there)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import AWS, QFLEET, ROOT, Moto, table  # noqa: E402

DETACH = os.path.join(ROOT, "tests", "support", "moto_detach_policies.py")
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")


def main():
    with Moto() as moto:
        def deploy(*files):
            subprocess.run([QFLEET, "deploy", *files, "--yes"], env=moto.env, check=True, capture_output=True)

        def detach(*envs):
            subprocess.run([PYTHON, DETACH, moto.endpoint, *[f"qfleet-{e}-fleet" for e in envs]], check=True)

        rows = []
        one = moto.stack_file("td-one")
        deploy(one)
        detach("td-one")
        t_one = moto.measure([QFLEET, "teardown", one, "--yes"])
        rows.append(("qfleet teardown, 1 environment", t_one))

        many = moto.stack_file("td", "copies: 30\n")
        deploy(many)
        detach(*[f"td-{i:02}" for i in range(1, 31)])
        t_many = moto.measure([QFLEET, "teardown", many, "--yes", "--concurrency", "30"])
        rows.append(("qfleet teardown, 30 copies (--concurrency 30)", t_many))

        cli = moto.stack_file("td-cli")
        deploy(cli)
        detach("td-cli")
        parts = []
        for stack in ["qfleet-td-cli-fleet", "qfleet-td-cli-data"]:
            base = [AWS, "--endpoint-url", moto.endpoint, "cloudformation"]
            parts.append(moto.measure(base + ["delete-stack", "--stack-name", stack]))
            parts.append(moto.measure(base + ["wait", "stack-delete-complete", "--stack-name", stack]))
        rows.append(("aws cloudformation delete-stack + wait, x2",
                     (sum(p[0] for p in parts), sum(p[1] for p in parts), max(p[2] for p in parts))))

        table(rows)
        ratio = t_many[0] / t_one[0]
        print()
        print(f"30 copies / 1: {ratio:.2f}x wall time (target < 3x): {'met' if ratio < 3 else 'NOT met'}")


if __name__ == "__main__":
    main()
