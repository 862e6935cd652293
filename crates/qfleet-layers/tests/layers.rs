//! The direction of imports, checked on the source: no file of `src/` refers (through a
//! `crate::` or `super::` path) to a module that refers back to it, directly or through
//! others; the top-level modules are layers (none reaches a module that reaches it back); AWS
//! access is the bottom, and only the command line reaches the commands.
//! Test-only code (`tests` modules and files, `#[cfg(test)]` modules) is left out.
//!
//! The workspace's crates that `src/lib.rs` re-exports as modules (`use qfleet_aws as aws`)
//! are read as those modules: their `crate::` paths are their own root's. The compiler already
//! keeps them from reaching back; the scan shows them in the layers all the same.
//!
//! A crate of its own (crates/qfleet-layers), without dependencies: it reads files and builds in
//! a second, so scripts/demo builds it to give the binary's dependencies the tests' features
//! without compiling any of the root's tests or dev-dependencies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The workspace's root (this crate is crates/qfleet-layers).
fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

type Module = Vec<String>;

/// Every non-test source file's module path (`["drift", "compare"]`) and its text without
/// comments and inline test modules.
fn sources() -> BTreeMap<Module, String> {
    let mut out = BTreeMap::new();
    collect(&root().join("src"), &mut Vec::new(), &mut out);
    for (krate, module) in CRATES {
        let mut found = BTreeMap::new();
        let start: Module = module.iter().map(|m| m.to_string()).collect();
        collect(
            &root().join("crates").join(krate).join("src"),
            &mut start.clone(),
            &mut found,
        );
        // A crate whose modules the root re-exports one by one: its lib.rs only declares them.
        if start.is_empty() {
            found.remove(&start);
        }
        out.extend(found);
    }
    out
}

/// The workspace's crates `src/lib.rs` re-exports: (folder, the module it is re-exported as,
/// or none when each of its modules is re-exported as a top-level module of the same name).
const CRATES: [(&str, &[&str]); 4] = [
    ("qfleet-aws", &["aws"]),
    ("qfleet-stackfile", &[]),
    ("qfleet-sim", &["sim"]),
    ("qfleet-text", &["text"]),
];

/// The module a file's `crate::` paths start from: `aws` for a file of `crates/qfleet-aws`.
fn crate_root(me: &Module) -> Module {
    me.first()
        .filter(|m| {
            CRATES
                .iter()
                .any(|(_, module)| module.first() == Some(&m.as_str()))
        })
        .map(|m| vec![m.clone()])
        .unwrap_or_default()
}

fn collect(dir: &Path, path: &mut Module, out: &mut BTreeMap<Module, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    let test_only = test_only_children(dir);
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        let stem = name.trim_end_matches(".rs").to_string();
        if stem == "tests" || test_only.contains(&stem) {
            continue;
        }
        if e.path().is_dir() {
            path.push(stem);
            collect(&e.path(), path, out);
            path.pop();
        } else if name.ends_with(".rs") && stem != "main" {
            let mut module = path.clone();
            if !matches!(stem.as_str(), "mod" | "lib") {
                module.push(stem);
            }
            let text = std::fs::read_to_string(e.path()).unwrap();
            out.insert(module, code_of(&text));
        }
    }
}

/// The modules a directory's `mod.rs` (or `lib.rs`) declares under `#[cfg(test)]`.
fn test_only_children(dir: &Path) -> BTreeSet<String> {
    let parent = ["mod.rs", "lib.rs"]
        .iter()
        .find_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .unwrap_or_default();
    let lines: Vec<&str> = parent.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter(|w| w[0] == "#[cfg(test)]")
        .filter_map(|w| {
            let decl = w[1].strip_prefix("pub ").unwrap_or(w[1]);
            Some(decl.strip_prefix("mod ")?.strip_suffix(';')?.to_string())
        })
        .collect()
}

/// A file's code: no comment lines, and nothing from its first inline test module on.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim();
        if t == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim().contains("mod ") && next.trim().ends_with('{'))
        {
            break;
        }
        if !t.starts_with("//") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The modules a file refers to: each `crate::a::b` or `super::a` path, as the longest prefix
/// that is a file's module.
fn references(me: &Module, code: &str, files: &BTreeSet<Module>) -> BTreeSet<Module> {
    let mut found = BTreeSet::new();
    for (keyword, base) in [
        ("crate::", crate_root(me)),
        ("super::", me[..me.len().saturating_sub(1)].to_vec()),
    ] {
        for (i, _) in code.match_indices(keyword) {
            let before = code[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &code[i + keyword.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let mut parts = base.clone();
            parts.extend(
                rest[..end]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            // A crate names the floors under it by the names the root gives them
            // (`use qfleet_stackfile::config;` in qfleet-sim): `crate::config` is `config`.
            let own = base.len();
            if keyword == "crate::"
                && own > 0
                && parts.len() > own
                && !files.contains(&parts[..=own])
                && files.contains(&parts[own..=own])
            {
                parts.drain(..own);
            }
            if let Some(k) = (0..=parts.len())
                .rev()
                .find(|k| files.contains(&parts[..*k]))
            {
                let target = parts[..k].to_vec();
                if &target != me {
                    found.insert(target);
                }
            }
        }
    }
    found
}

/// The groups of nodes that reach each other (Tarjan's strongly connected components), the
/// ones of more than one node.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let lw = s.low[w.as_str()];
                s.low.insert(v, s.low[v].min(lw));
            } else if s.stack.contains(&w.as_str()) {
                let iw = s.index[w.as_str()];
                s.low.insert(v, s.low[v].min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                group.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.found.push(group);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

/// The file-level and top-level graphs of `src/`.
fn graphs() -> (
    BTreeMap<String, BTreeSet<String>>,
    BTreeMap<String, BTreeSet<String>>,
) {
    let sources = sources();
    let files: BTreeSet<Module> = sources.keys().cloned().collect();
    let name = |m: &Module| m.join("::");
    let top = |m: &Module| m.first().cloned().unwrap_or_else(|| "lib".into());
    let mut by_file = BTreeMap::new();
    let mut by_top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (me, code) in &sources {
        let refs = references(me, code, &files);
        for r in &refs {
            if top(r) != top(me) {
                by_top.entry(top(me)).or_default().insert(top(r));
            }
        }
        by_file.insert(name(me), refs.iter().map(name).collect());
    }
    (by_file, by_top)
}

#[test]
fn no_file_refers_to_a_module_that_refers_back_to_it() {
    let (by_file, _) = graphs();
    assert!(by_file.len() > 100, "{} files read", by_file.len());
    assert!(
        by_file["commands::status"].contains("status"),
        "the scan sees references"
    );
    assert!(
        by_file["aws::cfn::stacks"].contains("aws::error"),
        "the scan reads a crate's `crate::` paths from its own root"
    );
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    for (krate, module) in CRATES {
        let krate = krate.replace('-', "_");
        let re_export = match module {
            [] => format!("use {krate}::{{"),
            [one] => format!("use {krate} as {one};"),
            _ => unreachable!("a crate is re-exported as one module or as its own"),
        };
        assert!(lib.contains(&re_export), "src/lib.rs: {re_export}");
    }
    assert_eq!(cycles(&by_file), Vec::<Vec<String>>::new());
}

#[test]
fn the_top_level_modules_are_layers_with_aws_at_the_bottom_and_the_commands_on_top() {
    let (_, by_top) = graphs();
    assert_eq!(cycles(&by_top), Vec::<Vec<String>>::new(), "{by_top:#?}");
    assert_eq!(
        by_top.get("aws"),
        None,
        "AWS access (crates/qfleet-aws) refers to {:?}",
        by_top.get("aws")
    );
    // The stack file (crates/qfleet-stackfile) refers to nothing but itself.
    for floor in ["config", "kinds", "package"] {
        let above: Vec<&String> = by_top
            .get(floor)
            .into_iter()
            .flatten()
            .filter(|m| !["config", "kinds", "package"].contains(&m.as_str()))
            .collect();
        assert!(above.is_empty(), "{floor} refers to {above:?}");
    }
    let reaching_commands: Vec<&String> = by_top
        .iter()
        .filter(|(_, to)| to.contains("commands"))
        .map(|(from, _)| from)
        .collect();
    assert_eq!(reaching_commands, ["cli"]);
}

/// The import table of docs/architecture.md: each top-level module and what it refers to,
/// from the bottom layer up (a module after everything it refers to).
fn import_table(by_top: &BTreeMap<String, BTreeSet<String>>) -> String {
    fn depth(m: &str, g: &BTreeMap<String, BTreeSet<String>>) -> usize {
        g.get(m)
            .into_iter()
            .flatten()
            .map(|d| 1 + depth(d, g))
            .max()
            .unwrap_or(0)
    }
    let mut modules: BTreeSet<String> = by_top.keys().cloned().collect();
    modules.extend(by_top.values().flatten().cloned());
    let mut order: Vec<(usize, String)> = modules
        .into_iter()
        .filter(|m| m != "lib")
        .map(|m| (depth(&m, by_top), m))
        .collect();
    order.sort();
    let mut table = String::from("| layer | module | refers to |\n|---|---|---|\n");
    for (d, m) in order {
        let to: Vec<String> = by_top
            .get(&m)
            .into_iter()
            .flatten()
            .map(|t| format!("`{t}`"))
            .collect();
        let to = if to.is_empty() {
            "nothing else".to_string()
        } else {
            to.join(", ")
        };
        table.push_str(&format!("| {d} | `{m}` | {to} |\n"));
    }
    table
}

/// docs/architecture.md's import table is the one the code has (`QFLEET_WRITE_DOCS=1`
/// writes it).
#[test]
fn the_architecture_chapter_shows_the_imports_as_they_are() {
    let (_, by_top) = graphs();
    let path = root().join("docs/architecture.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- imports: begin -->\n", "<!-- imports: end -->");
    let a = text.find(start).expect("the imports markers") + start.len();
    let b = text.find(end).expect("the imports end marker");
    let table = import_table(&by_top);
    if std::env::var_os("QFLEET_WRITE_DOCS").is_some() {
        std::fs::write(&path, format!("{}{table}{}", &text[..a], &text[b..])).unwrap();
        return;
    }
    assert_eq!(
        &text[a..b],
        table,
        "docs/architecture.md's import table differs from the code: QFLEET_WRITE_DOCS=1 cargo test -p qfleet-layers"
    );
}

#[test]
fn the_scan_finds_a_cycle_where_there_is_one() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(cycles(&graph), [["a", "b", "c"]]);
    let files: BTreeSet<Module> = [vec![], vec!["x".to_string()], vec!["x".into(), "y".into()]]
        .into_iter()
        .collect();
    let refs = references(
        &vec!["x".into(), "y".into()],
        "use super::Thing;\nlet a = crate::x::y::z();\nmy_crate::x;\n",
        &files,
    );
    assert_eq!(refs, [vec!["x".to_string()]].into_iter().collect());
}

/// The functions of a rustfmt-formatted file longer than `max` lines: each `fn` from its first
/// line to the `}` at its own indentation (a signature that ends with `;` has no body).
fn long_functions(code: &str, max: usize) -> Vec<(String, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut long = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let is_fn = [
            "fn ",
            "pub fn ",
            "async fn ",
            "pub async fn ",
            "pub(crate) fn ",
        ]
        .iter()
        .any(|p| t.starts_with(p));
        if !is_fn {
            continue;
        }
        let indent = &line[..line.len() - t.len()];
        let close = format!("{indent}}}");
        if let Some(end) = lines[i..].iter().position(|l| *l == close)
            && end + 1 > max
        {
            long.push((t.to_string(), end + 1));
        }
    }
    long
}

/// Commands are thin (issue 35): flags → options → feature → print, no function over 40 lines,
/// and the output is the features' typed documents (no `is_json` branch, no `json!` literal).
#[test]
fn commands_are_thin() {
    let commands: Vec<(Module, String)> = sources()
        .into_iter()
        .filter(|(m, _)| m.first().map(String::as_str) == Some("commands"))
        .collect();
    assert!(commands.len() > 10, "{} command files", commands.len());
    for (module, code) in &commands {
        let name = module.join("::");
        assert_eq!(long_functions(code, 40), Vec::new(), "{name}");
        for word in ["is_json", "json!"] {
            assert!(!code.contains(word), "{name} uses {word}");
        }
    }
    // The check sees a long function where there is one.
    let body = "    let x = 1;\n".repeat(41);
    assert_eq!(
        long_functions(&format!("pub fn run() {{\n{body}}}\n"), 40).len(),
        1
    );
}

/// The root crate's top-level modules as the tree has them: each directory and `.rs` file of
/// `src/` (the binary's `main.rs` and `lib.rs` aside).
fn tree_modules() -> BTreeSet<String> {
    std::fs::read_dir(root().join("src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            match name.strip_suffix(".rs") {
                Some(m) if m != "lib" && m != "main" => Some(m.to_string()),
                Some(_) => None,
                None => p.is_dir().then_some(name),
            }
        })
        .collect()
}

/// Issue 84: the lists that tell a reader where things are name the modules the tree has, and
/// nothing it lacks: `src/lib.rs`'s list (each module, and the crates it re-exports as
/// modules) and docs/architecture.md's layout (each module's `src/` path).
#[test]
fn the_module_lists_name_every_module_of_the_tree_and_no_other() {
    let tree = tree_modules();
    assert!(
        tree.contains("deploy") && tree.contains("worker_env"),
        "{tree:?}"
    );
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let listed: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//! - [`"))
        .filter_map(|l| l.split_once("`]").map(|(m, _)| m.to_string()))
        .collect();
    // The crates re-exported as modules (`pub(crate) use qfleet_aws as aws;`).
    let reexported: BTreeSet<String> = lib
        .lines()
        .filter(|l| l.trim_start().starts_with("pub(crate) use qfleet_"))
        .flat_map(|l| {
            l.rsplit_once(" as ").map_or_else(
                || {
                    l.split(['{', '}'])
                        .nth(1)
                        .unwrap_or_default()
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .collect()
                },
                |(_, m)| vec![m.trim_end_matches(';').trim().to_string()],
            )
        })
        .collect();
    let missing: Vec<&String> = tree.difference(&listed).collect();
    assert!(missing.is_empty(), "src/lib.rs does not list {missing:?}");
    let stale: Vec<&String> = listed
        .iter()
        .filter(|m| !tree.contains(*m) && !reexported.contains(*m))
        .collect();
    assert!(
        stale.is_empty(),
        "src/lib.rs lists {stale:?}, which the tree lacks"
    );

    let book = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let rows: Vec<&str> = book
        .lines()
        .filter(|l| l.starts_with("| `src/"))
        .map(|l| l.split(" | ").next().unwrap_or_default())
        .collect();
    let unshown: Vec<&String> = tree
        .iter()
        .filter(|m| {
            let (dir, file) = (format!("`src/{m}/`"), format!("`src/{m}.rs`"));
            !rows.iter().any(|r| r.contains(&dir) || r.contains(&file))
        })
        .collect();
    assert!(
        unshown.is_empty(),
        "docs/architecture.md's layout has no row for {unshown:?}"
    );
}

/// `src/lib.rs`'s list of modules and docs/architecture.md's layout name every top-level
/// module of `src/` (a folder or a file), and nothing that is not one.
#[test]
fn lib_rs_and_the_layout_name_every_top_level_module() {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let layout = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let mut declared: Vec<String> = lib
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("pub(crate) mod ")
                .or_else(|| l.strip_prefix("pub mod "))
                .or_else(|| l.strip_prefix("mod "))?;
            rest.strip_suffix(';').map(str::to_string)
        })
        .collect();
    declared.sort();
    let on_disk: Vec<String> = {
        let mut v: Vec<String> = std::fs::read_dir(root().join("src"))
            .unwrap()
            .flatten()
            .map(|e| {
                e.file_name()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .filter(|n| !["lib", "main", "tests"].contains(&n.as_str()))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(declared, on_disk, "src/lib.rs declares these modules");
    // The list in lib.rs's comment: every module, and the crates it re-exports.
    let listed: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//! - [`"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let mut expected: Vec<String> = declared.clone();
    expected.extend(["aws", "config", "kinds", "package", "sim", "text"].map(String::from));
    expected.retain(|m| m != "replacement");
    let mut listed_sorted: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    listed_sorted.sort();
    expected.sort();
    assert_eq!(listed_sorted, expected, "src/lib.rs's list of modules");
    // docs/architecture.md's layout: a row for each module of src/.
    let missing: Vec<&String> = declared
        .iter()
        .filter(|m| m.as_str() != "replacement")
        .filter(|m| {
            !layout.contains(&format!("`src/{m}/`")) && !layout.contains(&format!("`src/{m}.rs`"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md's layout lacks {missing:?}"
    );
}
