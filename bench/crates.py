#!/usr/bin/env python3
"""The workspace's floors in figures (issue 65): each crate's production lines, its `pub` and
`pub(crate)` items, the paths of the root that reach into a sub-module of AWS access, and the
top-level modules and crates whose production code names stack sets (`stack set`,
`stack_set`, `StackSets`, ..., in code or its strings; comments left out), and the functions of
production code longer than 100 lines, the longest named (its code lines: without comments and
blank lines, from `fn` to its closing brace, braces counted outside strings).

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
    print(f"qfleet-aws's door: {exports(os.path.join(ROOT, 'crates', 'qfleet-aws', 'src', 'lib.rs'))}")
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
    report_functions(crates)


def exports(lib):
    """What a crate's root offers: the names its `pub use` lines export and its own `pub`
    items, and its public modules (test support aside)."""
    if not os.path.exists(lib):
        return "no lib.rs"
    code = " ".join(code_of(open(lib, encoding="utf-8").read()))
    names = 0
    for m in re.finditer(r"pub use [^;]*;", code):
        body = m.group(0)[len("pub use "):-1]
        inner = body[body.index("{") + 1:body.rindex("}")] if "{" in body else body
        names += len([n for n in inner.split(",") if n.strip()])
    own = len(re.findall(r"pub " + ITEM, code))
    mods = len(re.findall(r"pub mod ", code))
    return f"{names} names exported, {own} items of its own root ({mods} public modules)"


FN = re.compile(r"^(pub(\([a-z ]+\))? )?(const )?(async )?(unsafe )?fn (\w+)")


def braces(line):
    """The braces a line opens less those it closes, outside string and char literals."""
    depth, quote, i = 0, None, 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c == '"':
            quote = c
        elif c == "'" and i + 2 < len(line) and (line[i + 2] == "'" or line[i + 1] == "\\"):
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        i += 1
    return depth


def functions(crates):
    """(lines, where) of every function of production code."""
    out = []
    for _, folder in crates:
        for f in sources(os.path.join(ROOT, folder)):
            code = code_of(open(f, encoding="utf-8").read())
            for i, t in enumerate(code):
                m = FN.match(t)
                if not m or t.endswith(";"):
                    continue
                depth, opened, j = 0, False, i
                while j < len(code):
                    depth += braces(code[j])
                    opened = opened or "{" in code[j]
                    if opened and depth <= 0:
                        break
                    j += 1
                out.append((j - i + 1, f"{os.path.relpath(f, ROOT)}: {m.group(6)}"))
    return out


def report_functions(crates):
    fns = functions(crates)
    long = sorted((f for f in fns if f[0] > 100), reverse=True)
    print(f"functions over 100 code lines: {len(long)} of {len(fns)}; the longest: "
          + ", ".join(f"{w} ({n})" for n, w in long[:3]))


if __name__ == "__main__":
    main()
