#!/usr/bin/env python3
"""The workspace's floors in figures (issue 65): each crate's production lines, its `pub` and
`pub(crate)` items, the paths of the root that reach into a sub-module of AWS access, and the
top-level modules and crates whose production code names stack sets (`stack set`,
`stack_set`, `StackSets`, ..., in code or its strings; comments left out).

    bench/crates.py [CHECKOUT]     (default: this checkout)

Production code is a crate's `src/` without `tests` files and folders, snapshot folders,
`test*.rs` files, comment lines, blank lines, and anything from a file's first inline
`#[cfg(test)] mod … {` on (the layers test reads the code the same way). For a checkout from
before the split, `git archive COMMIT | tar -x -C DIR` and give DIR.
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
ITEM = r"(async )?(fn|struct|enum|const|type|trait|mod|static) "


def code_of(text):
    out = []
    lines = text.split("\n")
    for i, line in enumerate(lines):
        t = line.strip()
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if t == "#[cfg(test)]" and "mod " in following and following.endswith("{"):
            break
        if t and not t.startswith("//"):
            out.append(t)
    return out


def sources(folder):
    for path, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in ("tests", "snapshots")]
        for n in names:
            if n.endswith(".rs") and n != "tests.rs" and not n.startswith("test") \
                    and not n.endswith("_tests.rs"):
                yield os.path.join(path, n)


def main():
    crates = [("qfleet (the root)", "src")]
    crates_dir = os.path.join(ROOT, "crates")
    if os.path.isdir(crates_dir):
        crates += [(c, os.path.join("crates", c, "src")) for c in sorted(os.listdir(crates_dir))]
    for name, folder in crates:
        lines = pub = pub_crate = 0
        for f in sources(os.path.join(ROOT, folder)):
            code = code_of(open(f, encoding="utf-8").read())
            lines += len(code)
            pub += sum(1 for t in code if re.match("pub " + ITEM, t))
            pub_crate += sum(1 for t in code if re.match(r"pub\(crate\) " + ITEM, t))
        print(f"{name}: {lines} production lines, {pub} pub items, {pub_crate} pub(crate) items")
    reach = sum(len(re.findall(r"crate::aws::[a-z_]+::[a-z_]+", t))
                for f in sources(os.path.join(ROOT, "src"))
                for t in code_of(open(f, encoding="utf-8").read()))
    print(f"paths of the root into a sub-module of aws (crate::aws::MODULE::NAME): {reach}")
    stack_sets = re.compile(r"(?i)stack[ _-]?sets?")
    naming = {}
    for name, folder in crates:
        for f in sources(os.path.join(ROOT, folder)):
            if any(stack_sets.search(t) for t in code_of(open(f, encoding="utf-8").read())):
                rel = os.path.relpath(f, os.path.join(ROOT, folder))
                unit = rel.split(os.sep)[0].removesuffix(".rs") if folder == "src" else name
                naming[unit] = naming.get(unit, 0) + 1
    print(f"modules and crates naming stack sets: {len(naming)} "
          f"({', '.join(f'{k} {v} files' for k, v in sorted(naming.items()))})")


if __name__ == "__main__":
    main()
