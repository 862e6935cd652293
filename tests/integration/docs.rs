//! The documentation: the README stays short and opens with the set-up commands; the book in
//! `docs/` (mdBook, `book.toml`) builds; and no link is broken, neither in the Markdown as
//! GitHub shows it (README.md, docs/*.md, bench/README.md: every relative link names a file
//! that exists and every `#anchor` a heading of its target) nor in the built book (every
//! relative `href` of every page names a page or asset of the book, and every fragment an `id`
//! of that page). A path the docs name in backticks (`src/deploy/`, `scripts/test`) must exist
//! too, so that moving a file shows which docs to update. Every statement about release binaries
//! agrees with whether the repository publishes any. README.md and docs/ read in one pass: no
//! table cell holds a paragraph and sentences are short (`the_docs_read_in_one_pass` prints the
//! figures). Offline, a few seconds.

use crate::common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

const SETUP: &str = "run the README's test command (scripts/test), which installs mdBook with cargo (scripts/setup-tools)";

/// The Markdown files a reader meets: the README, the book's chapters, the benchmark figures.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md"), root().join("bench/README.md")];
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    chapters.sort();
    files.extend(chapters);
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// The lines of a Markdown file outside fenced code blocks, with their numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        for marker in ["```", "~~~"] {
            if t.starts_with(marker) {
                match fence {
                    None => fence = Some(marker),
                    Some(m) if m == marker => fence = None,
                    Some(_) => {}
                }
            }
        }
        if fence.is_none() && !t.starts_with("```") && !t.starts_with("~~~") {
            out.push((i + 1, line));
        }
    }
    out
}

/// A line with its inline code spans blanked out (what is in backticks is not a link), and
/// the code spans themselves.
fn split_code_spans(line: &str) -> (String, Vec<String>) {
    let mut prose = String::new();
    let mut spans = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let fence = &rest[start..start + ticks];
        let after = &rest[start + ticks..];
        match after.find(fence) {
            Some(end) => {
                prose.push_str(&rest[..start]);
                prose.push(' ');
                spans.push(after[..end].trim().to_string());
                rest = &after[end + ticks..];
            }
            None => break,
        }
    }
    prose.push_str(rest);
    (prose, spans)
}

/// The `[text](target)` links of a line (images included), their targets as written.
fn links(prose: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = prose;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let end = after
            .find(|c: char| c == ')' || c.is_whitespace())
            .unwrap_or(after.len());
        let target = after[..end].trim_start_matches('<').trim_end_matches('>');
        if !target.is_empty() {
            out.push(target.to_string());
        }
        rest = &after[end..];
    }
    out
}

/// GitHub's anchor for a heading: its text as rendered (code, emphasis and link syntax
/// dropped), lower-cased, every character but letters, digits, `-` and `_` dropped, spaces
/// made hyphens.
fn slug(heading: &str) -> String {
    // Code spans keep their text.
    let rebuilt = heading.replace('`', "");
    let mut plain = String::new();
    let mut rest = rebuilt.as_str();
    // [text](url) → text
    while let Some(open) = rest.find('[') {
        match rest[open..].find("](").map(|m| open + m) {
            Some(mid) => {
                let close = rest[mid..]
                    .find(')')
                    .map(|c| mid + c)
                    .unwrap_or(rest.len() - 1);
                plain.push_str(&rest[..open]);
                plain.push_str(&rest[open + 1..mid]);
                rest = &rest[close + 1..];
            }
            None => break,
        }
    }
    plain.push_str(rest);
    plain
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file: one per ATX heading, `-1`, `-2` … for repeats, with the
/// files it includes (`{{#include path}}`, as mdBook does) read in place.
fn anchors(path: &Path) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut add = |heading: &str| {
        let s = slug(heading);
        let n = seen.entry(s.clone()).or_insert(0);
        out.insert(if *n == 0 {
            s.clone()
        } else {
            format!("{s}-{n}")
        });
        *n += 1;
    };
    let text = expand_includes(path);
    for (_, line) in prose_lines(&text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            add(line[hashes..].trim().trim_end_matches('#').trim());
        }
    }
    out
}

/// A file's text with each `{{#include path[:from[:to]]}}` line replaced by those lines of the
/// included file (1-based, `to` inclusive, as mdBook reads them).
fn expand_includes(path: &Path) -> String {
    let text = read(path);
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(spec) = t
            .strip_prefix("{{#include ")
            .and_then(|s| s.strip_suffix("}}"))
        {
            let mut parts = spec.trim().split(':');
            let file = path.parent().unwrap().join(parts.next().unwrap());
            let included = read(&file);
            let lines: Vec<&str> = included.lines().collect();
            let from = parts
                .next()
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(1);
            let to = parts
                .next()
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(lines.len());
            for l in &lines[from.saturating_sub(1).min(lines.len())..to.min(lines.len())] {
                out.push_str(l);
                out.push('\n');
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn is_external(target: &str) -> bool {
    let scheme = target.split(':').next().unwrap_or("");
    let has_scheme = target.contains(':')
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    has_scheme || target.starts_with("//")
}

/// What is wrong with the relative links of one Markdown file (empty when nothing is).
fn broken_links(file: &Path, cache: &mut BTreeMap<PathBuf, BTreeSet<String>>) -> Vec<String> {
    let docs = root().join("docs");
    let in_book = file.starts_with(&docs);
    let mut problems = Vec::new();
    for (n, line) in prose_lines(&read(file)) {
        let (prose, _) = split_code_spans(line);
        for target in links(&prose) {
            if is_external(&target) {
                continue;
            }
            let at = format!("{}:{n}: {target}", rel(file));
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                file.to_path_buf()
            } else {
                normalize(&file.parent().unwrap().join(path))
            };
            if !resolved.exists() {
                problems.push(format!("{at}: no such file {}", rel(&resolved)));
                continue;
            }
            if !resolved.starts_with(root()) {
                problems.push(format!("{at}: outside the repository"));
                continue;
            }
            if in_book && !resolved.starts_with(&docs) {
                problems.push(format!(
                    "{at}: leaves docs/, so the built book has no such page (name the file in backticks, or include it as docs/benchmarks.md includes bench/README.md)"
                ));
                continue;
            }
            if let Some(anchor) = anchor
                && resolved.extension().is_some_and(|x| x == "md")
            {
                let known = cache
                    .entry(resolved.clone())
                    .or_insert_with(|| anchors(&resolved));
                if !known.contains(anchor) {
                    problems.push(format!(
                        "{at}: no heading of {} has the anchor #{anchor} (it has: {})",
                        rel(&resolved),
                        known.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn the_slugs_are_githubs() {
    assert_eq!(slug("Exit codes"), "exit-codes");
    assert_eq!(
        slug("Progress, retries and Ctrl-C"),
        "progress-retries-and-ctrl-c"
    );
    assert_eq!(
        slug("The `workers.kind` setting"),
        "the-workerskind-setting"
    );
    assert_eq!(slug("See [IAM](iam.md) first"), "see-iam-first");
    assert_eq!(slug("Rollback in express mode"), "rollback-in-express-mode");
}

#[test]
fn the_link_reader_skips_code_and_finds_links() {
    let (prose, spans) = split_code_spans("a `[x](y.md)` and [b](c.md#d) `src/x/`");
    assert_eq!(links(&prose), vec!["c.md#d".to_string()]);
    assert_eq!(spans, vec!["[x](y.md)".to_string(), "src/x/".to_string()]);
    let fenced = "a\n```sh\n[x](nowhere.md)\n```\nb";
    assert_eq!(
        prose_lines(fenced).iter().map(|l| l.1).collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    assert!(is_external("https://example.com/x"));
    assert!(!is_external("docs/iam.md#policy-changes"));
}

#[test]
fn every_relative_link_and_anchor_in_the_markdown_resolves() {
    let mut cache = BTreeMap::new();
    let mut problems = Vec::new();
    let mut count = 0;
    for file in markdown_files() {
        count += prose_lines(&read(&file))
            .iter()
            .map(|(_, l)| links(&split_code_spans(l).0).len())
            .sum::<usize>();
        problems.extend(broken_links(&file, &mut cache));
    }
    assert!(
        count >= 20,
        "only {count} links found: is the reader broken?"
    );
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_path_the_docs_name_exists() {
    const ROOTS: [&str; 12] = [
        "src/",
        "crates/",
        "tests/",
        "examples/",
        "scripts/",
        "bench/",
        "templates/",
        "schemas/",
        "stacks/",
        "docs/",
        ".ci/",
        "book.toml",
    ];
    let mut problems = Vec::new();
    for file in markdown_files() {
        for (n, line) in prose_lines(&read(&file)) {
            for span in split_code_spans(line).1 {
                let path = span.split(':').next().unwrap_or("");
                // stacks/ENV.yaml, schemas/output/COMMAND.json, uploads/*: not one file.
                let placeholder = path.split('/').any(|part| {
                    let word = part.split('.').next().unwrap_or("");
                    let upper = !word.is_empty()
                        && word.chars().all(|c| c.is_ascii_uppercase() || c == '_');
                    upper || part.contains(['*', '?', '{', '<', '…'])
                });
                if path.contains(' ') || placeholder || !ROOTS.iter().any(|r| path.starts_with(r)) {
                    continue;
                }
                if !root().join(path).exists() {
                    problems.push(format!("{}:{n}: `{span}` does not exist", rel(&file)));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "paths the docs name that are not there (moved? update the docs):\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_chapter_is_in_the_summary() {
    let summary = root().join("docs/SUMMARY.md");
    let listed: BTreeSet<PathBuf> = prose_lines(&read(&summary))
        .iter()
        .flat_map(|(_, l)| links(&split_code_spans(l).0))
        .map(|t| normalize(&root().join("docs").join(t)))
        .collect();
    for chapter in markdown_files()
        .into_iter()
        .filter(|p| p.starts_with(root().join("docs")) && *p != summary)
    {
        assert!(
            listed.contains(&chapter),
            "{} is not in docs/SUMMARY.md, so the book leaves it out",
            rel(&chapter)
        );
    }
    for page in &listed {
        assert!(
            page.is_file(),
            "docs/SUMMARY.md lists {}, which does not exist",
            rel(page)
        );
    }
}

#[test]
fn the_readme_is_short_and_opens_with_the_set_up_commands() {
    let readme = read(&root().join("README.md"));
    let lines: Vec<&str> = readme.lines().collect();
    assert!(
        lines.len() < 200,
        "README.md has {} lines: move detail to docs/",
        lines.len()
    );
    for command in ["scripts/demo", "scripts/test"] {
        let at = lines.iter().position(|l| l.trim() == command);
        assert!(
            at.is_some_and(|i| i < 40),
            "`{command}` alone on a line within README.md's first 40 lines (found at {:?})",
            at.map(|i| i + 1)
        );
    }
}

/// Every `attr="value"` of an HTML page.
fn attributes<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        let after = &rest[i + needle.len()..];
        let end = after.find('"').unwrap_or(after.len());
        out.push(&after[..end]);
        rest = &after[end..];
    }
    out
}

fn html_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            html_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "html") {
            out.push(p);
        }
    }
}

#[test]
fn the_book_builds_and_no_link_in_it_is_broken() {
    let mdbook = tool("MDBOOK", &cargo_bin("mdbook"), SETUP);
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(&mdbook)
        .arg("build")
        .arg("--dest-dir")
        .arg(out.path())
        .current_dir(root())
        .output()
        .expect("mdbook runs");
    let log = format!("{}{}", stdout(&o), stderr(&o));
    assert!(o.status.success(), "mdbook build failed:\n{log}");
    assert!(
        !log.contains("WARN") && !log.contains("ERROR"),
        "mdbook build warned:\n{log}"
    );

    let mut pages = Vec::new();
    html_files(out.path(), &mut pages);
    assert!(
        pages.iter().any(|p| p.ends_with("deploy.html")),
        "no deploy.html in {pages:?}"
    );
    let ids: BTreeMap<PathBuf, BTreeSet<String>> = pages
        .iter()
        .map(|p| {
            let html = read(p);
            let ids = attributes(&html, "id")
                .into_iter()
                .map(String::from)
                .collect();
            (p.clone(), ids)
        })
        .collect();
    let mut problems = Vec::new();
    for page in &pages {
        let html = read(page);
        for href in attributes(&html, "href") {
            let href = href.replace("&amp;", "&");
            if is_external(&href) {
                continue;
            }
            let (path, fragment) = match href.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (href.as_str(), None),
            };
            let target = if path.is_empty() {
                page.clone()
            } else {
                normalize(&page.parent().unwrap().join(path))
            };
            let name = page.strip_prefix(out.path()).unwrap().display().to_string();
            if !target.exists() {
                problems.push(format!("{name}: href=\"{href}\": no such file in the book"));
            } else if let (Some(fragment), Some(known)) = (fragment, ids.get(&target))
                && !fragment.is_empty()
                && !known.contains(fragment)
            {
                problems.push(format!(
                    "{name}: href=\"{href}\": no id \"{fragment}\" there"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken links in the built book:\n{}",
        problems.join("\n")
    );
}

/// Every statement about release binaries says the same (issue 36: the CI examples said there
/// are none while the README and docs/ci.md described them). Whether there are any is read
/// from the repository: the release workflow installed where GitHub runs it. Without it, the
/// README, docs/ci.md and both CI examples say there are none and nothing says where to
/// download one (the release workflow's own header says it is not in use yet); with it, none
/// says there are none.
#[test]
fn every_statement_about_releases_agrees() {
    let published = root().join(".github/workflows/release.yml").is_file();
    let none = "no release binaries";
    let some = [
        "binary from a release",
        "binaries from a release",
        "download a binary",
        "from the release page",
    ];
    let mut files = markdown_files();
    files.extend(
        ["github-actions.yml", "gitlab-ci.yml", "release.yml"]
            .iter()
            .map(|f| root().join("examples/ci").join(f)),
    );
    files.push(root().join("examples/lab/README.md"));
    let mut problems = Vec::new();
    for file in &files {
        // One statement may span lines (and a YAML comment's `#`s): read it as one line.
        let text = read(file)
            .lines()
            .map(|l| l.trim().trim_start_matches('#').trim())
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let says_none = text.contains(none);
        let says_some: Vec<&str> = some.iter().copied().filter(|s| text.contains(s)).collect();
        let not_in_use = text.contains("not in use yet");
        if published && says_none {
            problems.push(format!("{} says there are {none}", rel(file)));
        }
        if !published && !says_some.is_empty() && !not_in_use {
            problems.push(format!(
                "{} describes release binaries ({}), but nothing publishes them",
                rel(file),
                says_some.join(", ")
            ));
        }
    }
    if !published {
        for f in [
            "README.md",
            "docs/ci.md",
            "examples/ci/github-actions.yml",
            "examples/ci/gitlab-ci.yml",
        ] {
            let text = read(&root().join(f)).replace("\n#", "").replace('\n', " ");
            if !text.to_lowercase().contains(none) {
                problems.push(format!("{f} does not say there are {none}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "statements about releases disagree with the repository (release workflow {}):\n{}",
        if published {
            "installed"
        } else {
            "not installed"
        },
        problems.join("\n")
    );
}

/// The first fenced block of a Markdown file.
fn first_block(text: &str) -> &str {
    let a = text.find("```\n").expect("a fenced block") + 4;
    let b = a + text[a..].find("```").expect("its end");
    &text[a..b]
}

/// The README's diagram shows every kind of workers the code has (issue 36: it showed EC2
/// workers only) and a pipeline of stages, and the introduction shows the same one.
#[test]
fn the_diagram_shows_every_kind_and_the_introduction_the_same() {
    let readme = read(&root().join("README.md"));
    let diagram = first_block(&readme);
    // The kinds as the stack file's schema (generated from the code's enum) lists them.
    let schema: serde_json::Value =
        serde_json::from_str(&read(&root().join("schemas/stack-file.json"))).unwrap();
    let kinds = schema["properties"]["workers"]["properties"]["kind"]["enum"]
        .as_array()
        .expect("workers.kind's values in schemas/stack-file.json")
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert!(kinds.len() >= 3, "{kinds:?}");
    for kind in kinds {
        assert!(
            diagram.contains(&format!("▼ {kind}")),
            "README.md's diagram has no branch for workers.kind: {kind}:\n{diagram}"
        );
    }
    assert!(diagram.contains("stages:"), "no pipeline in:\n{diagram}");
    let intro = read(&root().join("docs/introduction.md"));
    assert_eq!(
        first_block(&intro),
        diagram,
        "docs/introduction.md's diagram differs from README.md's"
    );
}

/// The goals of issue 54 for the Markdown a person reads (README.md and docs/*.md): no table
/// cell over 80 words and sentences of under 22 words on average. The test prints the figures.
const MAX_CELL_WORDS: usize = 80;
const MAX_AVERAGE_SENTENCE: f64 = 22.0;

/// The Markdown read in one pass: README.md and the book's chapters, but not docs/SUMMARY.md
/// (the book's table of contents: links, no prose).
fn readable_files() -> Vec<PathBuf> {
    markdown_files()
        .into_iter()
        .filter(|p| *p == root().join("README.md") || p.starts_with(root().join("docs")))
        .filter(|p| !p.ends_with("SUMMARY.md"))
        .collect()
}

/// A line as a reader reads it: each inline code span one word (`code`), a link its text
/// (`[text](target)` → `text`), HTML tags dropped.
fn plain(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let after = &rest[start + ticks..];
        match after.find(&rest[start..start + ticks]) {
            Some(end) => {
                out.push_str(&rest[..start]);
                out.push_str(" code ");
                rest = &after[end + ticks..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    // [text](target) → text
    let mut linked = String::new();
    let mut rest = out.as_str();
    while let Some(mid) = rest.find("](") {
        let close = rest[mid..].find(')').map_or(rest.len(), |c| mid + c + 1);
        match rest[..mid].rfind('[') {
            Some(open) => {
                linked.push_str(&rest[..open]);
                linked.push_str(&rest[open + 1..mid]);
            }
            None => linked.push_str(&rest[..mid]),
        }
        rest = &rest[close..];
    }
    linked.push_str(rest);
    // <br>, </details>: a tag opens with a letter or `/` (a `<` in prose stays).
    let mut text = String::new();
    let mut in_tag = false;
    let mut chars = linked.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' if !in_tag
                && chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphabetic() || *n == '/') =>
            {
                in_tag = true
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// A word: a run of characters between white space that holds a letter or a digit.
fn word_count(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// The sentences of a paragraph, as word counts: a sentence ends after a word ending in `.`,
/// `?` or `!` (closing quotes and brackets after it allowed), except `e.g.`, `i.e.` and
/// `vs.`; the end of the paragraph ends one too. `:` and `;` end none.
fn sentence_lengths(paragraph: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut words = 0;
    for w in paragraph.split_whitespace() {
        if w.chars().any(char::is_alphanumeric) {
            words += 1;
        }
        let end = w.trim_end_matches(['"', '\'', ')', '”', '’', '*', '_']);
        let abbreviation = ["e.g.", "i.e.", "vs."].contains(&end.to_lowercase().as_str());
        if end.ends_with(['.', '?', '!']) && !abbreviation && words > 0 {
            out.push(words);
            words = 0;
        }
    }
    if words > 0 {
        out.push(words);
    }
    out
}

/// What a reader meets in one Markdown file.
#[derive(Default)]
struct Reading {
    /// Each sentence's words, with the line its paragraph starts on.
    sentences: Vec<(usize, usize)>,
    /// Each table cell's words, with its line.
    cells: Vec<(usize, usize)>,
}

/// Reads a Markdown file as a person does. Prose is paragraphs and list items (a blank line,
/// a heading, a table row or a new item ends one); fenced code, headings, HTML comments,
/// `{{#include}}` lines and tables' separator rows are not read. Generated sections, between
/// an HTML comment naming `begin` or `generated` and one naming `end`, are skipped: their
/// generators (tests/integration/cli_reference.rs, pairs.rs and emulator_table.rs,
/// crates/qfleet-layers/tests/layers.rs and crates/qfleet-stackfile/src/config/tests/docs_samples.rs) write them from the code, and they are judged there.
fn reading(text: &str) -> Reading {
    let mut r = Reading::default();
    let mut fence: Option<&str> = None;
    let mut generated = false;
    let mut paragraph = String::new();
    let mut start = 0;
    let flush = |paragraph: &mut String, start: usize, r: &mut Reading| {
        for n in sentence_lengths(paragraph) {
            r.sentences.push((n, start));
        }
        paragraph.clear();
    };
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let t = line.trim();
        if let Some(marker) = fence {
            if t.starts_with(marker) {
                fence = None;
            }
            continue;
        }
        if let Some(marker) = ["```", "~~~"].into_iter().find(|m| t.starts_with(m)) {
            flush(&mut paragraph, start, &mut r);
            fence = Some(marker);
            continue;
        }
        if t.starts_with("<!--") {
            flush(&mut paragraph, start, &mut r);
            let words: Vec<String> = t
                .split(|c: char| !c.is_alphanumeric())
                .map(str::to_lowercase)
                .collect();
            if words.iter().any(|w| w == "begin" || w == "generated") {
                generated = true;
            } else if words.iter().any(|w| w == "end") {
                generated = false;
            }
            continue;
        }
        if generated {
            continue;
        }
        if t.is_empty() || t.starts_with('#') || t.starts_with("{{#") {
            flush(&mut paragraph, start, &mut r);
            continue;
        }
        if t.starts_with('|') {
            flush(&mut paragraph, start, &mut r);
            if t.chars().all(|c| "|:- ".contains(c)) {
                continue;
            }
            let row = plain(t).replace("\\|", "/");
            for cell in row.trim().trim_matches('|').split('|') {
                r.cells.push((word_count(cell), n));
            }
            continue;
        }
        let t = t.trim_start_matches('>').trim_start();
        let item = t
            .strip_prefix(['-', '*', '+'])
            .filter(|rest| rest.starts_with(' '))
            .or_else(|| {
                let digits = t.chars().take_while(char::is_ascii_digit).count();
                t[digits..].strip_prefix(". ").filter(|_| digits > 0)
            });
        let t = match item {
            Some(rest) => {
                flush(&mut paragraph, start, &mut r);
                rest
            }
            None => t,
        };
        if paragraph.is_empty() {
            start = n;
        }
        paragraph.push_str(&plain(t));
        paragraph.push(' ');
    }
    flush(&mut paragraph, start, &mut r);
    r
}

#[test]
fn the_reader_counts_sentences_and_cells_as_its_definition_says() {
    let text = "# A heading. Not read.\n\
        Run `qfleet deploy lab --yes` first. Then read [the status](status.md#x): it says\n\
        what runs, e.g. the fleet <br> if 1 < 2!\n\
        \n\
        - an item without a full stop\n\
        - two. Sentences\n\
        \n\
        ```sh\n\
        echo not. read. at. all.\n\
        ```\n\
        <!-- flags: begin (generated) -->\n\
        | a very long generated cell that is not counted |\n\
        <!-- flags: end -->\n\
        | key | meaning of `x` and [y](z.md) |\n\
        |---|---|\n";
    let r = reading(text);
    assert_eq!(
        r.sentences,
        vec![(3, 2), (14, 2), (6, 5), (1, 6), (1, 6)],
        "sentences"
    );
    assert_eq!(r.cells, vec![(1, 14), (5, 14)], "cells");
}

/// No table cell holds a paragraph, and sentences say one thing (issue 54). The figures:
/// `cargo test --test integration docs -- --nocapture`.
///
/// A sentence ends after a word ending in `.`, `?` or `!` (not `e.g.`, `i.e.`, `vs.`), or at
/// the end of its paragraph or list item; `:` and `;` do not end one. A word is a run of
/// characters between white space holding a letter or a digit; an inline code span counts as
/// one word and a link as its text. Headings, fenced code, tables and the generated sections
/// are no sentences (see `reading`); a table cell's words are counted on their own.
#[test]
fn the_docs_read_in_one_pass() {
    let mut longest = (0, String::new());
    let mut sentences = 0usize;
    let mut words = 0usize;
    let mut long = Vec::new();
    for file in readable_files() {
        let r = reading(&read(&file));
        for (n, line) in r.cells {
            if n > longest.0 {
                longest = (n, format!("{}:{line}", rel(&file)));
            }
        }
        for (n, line) in r.sentences {
            sentences += 1;
            words += n;
            if n > 40 {
                long.push(format!("{}:{line} ({n} words)", rel(&file)));
            }
        }
    }
    assert!(
        sentences >= 500,
        "only {sentences} sentences read: is the reader broken?"
    );
    let average = words as f64 / sentences as f64;
    eprintln!(
        "docs: longest table cell {} words ({}); {sentences} sentences, {average:.1} words on average, {} over 40 words",
        longest.0,
        longest.1,
        long.len()
    );
    assert!(
        longest.0 <= MAX_CELL_WORDS,
        "a table cell of {} words at {}: move the explanation into prose under the table (at most {MAX_CELL_WORDS})",
        longest.0,
        longest.1
    );
    assert!(
        average < MAX_AVERAGE_SENTENCE,
        "sentences of {average:.1} words on average (goal: under {MAX_AVERAGE_SENTENCE}); the longest:\n{}",
        long.join("\n")
    );
}
