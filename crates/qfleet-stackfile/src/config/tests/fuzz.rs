//! A property test over the whole stack-file loading path (parse and validate, offline): for
//! random bytes, YAML-ish text built from a grammar of keys, values, indentation, anchors and
//! tags, and mutations of the shipped stack files, loading never panics, and every error is
//! located (line and column from 1, a span inside the text). 10,000 cases each.

use super::*;
use crate::config::Error;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::sync::OnceLock;

/// Cases per strategy; set explicitly so the suite's time is bounded (see the module docs).
const CASES: u32 = 10_000;

/// A path whose directory does not exist, so that no file a stack file names is read.
const PATH: &str = "/nonexistent-qfleet-fuzz/stacks/t.yaml";

/// Loads `text` as a stack file and checks the property: no panic (proptest fails the case on
/// one), and an invalid file's every error located in it.
fn check(text: &str) -> Result<(), TestCaseError> {
    match parse(PathBuf::from(PATH), text.to_string()) {
        Ok(_) => Ok(()),
        Err(Error::Input(list)) => {
            prop_assert!(!list.is_empty(), "an empty list of errors for {text:?}");
            for e in &list {
                prop_assert!(e.line >= 1 && e.column >= 1, "{e} for {text:?}");
                prop_assert_eq!(&e.file, PATH);
                if let Some(span) = e.span {
                    prop_assert!(
                        span.offset() + span.len() <= e.src.inner().len(),
                        "{e}: span {span:?} outside the text, for {text:?}"
                    );
                }
            }
            // The errors come in the file's order.
            let order: Vec<(usize, usize)> = list.iter().map(|e| (e.line, e.column)).collect();
            prop_assert!(order.is_sorted(), "{order:?} for {text:?}");
            Ok(())
        }
        Err(other) => Err(TestCaseError::fail(format!(
            "not an input error: {other} for {text:?}"
        ))),
    }
}

fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let ran = std::sync::atomic::AtomicU32::new(0);
    let counted = |value| {
        ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        test(value)
    };
    if let Err(e) = runner.run(&strategy, counted) {
        panic!("{e}");
    }
    // As many inputs as promised went through the loading path.
    assert!(ran.into_inner() >= CASES);
}

#[test]
fn random_bytes_never_panic() {
    run(proptest::collection::vec(any::<u8>(), 0..300), |bytes| {
        check(&String::from_utf8_lossy(&bytes))
    });
}

/// Keys: the stack file's own at every level, near misses and junk.
const KEYS: &[&str] = &[
    "region",
    "region_unlisted",
    "environment",
    "lab",
    "copies",
    "tags",
    "workers",
    "queue",
    "scaling",
    "bucket",
    "alarms",
    "stages",
    "kind",
    "min",
    "max",
    "network",
    "vpc",
    "subnets",
    "eu-west-1a",
    "lambda",
    "fargate",
    "spot",
    "warm_pool",
    "statements",
    "Action",
    "Resource",
    "Condition",
    "Effect",
    "name",
    "fed_by",
    "prefix",
    "visibility_timeout",
    "max_receive_count",
    "instance_type",
    "instance_types",
    "policies",
    "environment",
    "secrets",
    "mni",
    "? ",
    "<<",
    "\"quoted\"",
    "'single'",
    "x",
    "",
];

/// Values: every kind of scalar, the start of every kind of collection, anchors and tags.
const VALUES: &[&str] = &[
    "",
    "eu-west-1",
    "eu-westt-1",
    "xx-newland-1",
    "true",
    "false",
    "~",
    "null",
    "0",
    "-1",
    "3",
    "1.5",
    "1e400",
    "0x10",
    "007",
    ".inf",
    "99999999999999999999999",
    "-99999999999999999999999",
    "4294967296",
    "5m",
    "2d",
    "ec2",
    "lambda",
    "fargate",
    "default",
    "[",
    "]",
    "{",
    "}",
    "[1, 2]",
    "{a: 1}",
    "{min: 3, max: 2}",
    "&a",
    "*a",
    "&a {x: 1}",
    "!!int 3",
    "!!str 3",
    "!tag x",
    "!!binary aGk=",
    "|",
    ">-",
    "'",
    "\"",
    "'it''s'",
    "\"\\u00e9\"",
    "- a",
    "-",
    ":",
    "#",
    "---",
    "...",
    "%YAML 1.2",
    "\t",
    "\u{feff}",
    "é",
    "s3:GetObject",
    "arn:aws:s3:::b/*",
    "*",
];

/// One line: an indentation, a key or list item, a separator and a value.
fn line() -> impl Strategy<Value = String> {
    (
        0usize..8,
        prop::sample::select(KEYS),
        prop::sample::select(&[": ", ":", " ", "- ", ": - ", ":\n"][..]),
        prop::sample::select(VALUES),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(indent, key, sep, value, comment)| {
            let comment = if comment { " # note" } else { "" };
            format!("{}{key}{sep}{value}{comment}", " ".repeat(indent))
        })
}

#[test]
fn yaml_built_from_a_grammar_never_panics() {
    let file = (prop::bool::ANY, proptest::collection::vec(line(), 0..12)).prop_map(
        |(region_first, lines)| {
            let mut text = if region_first {
                String::from("region: eu-west-1\n")
            } else {
                String::new()
            };
            text.push_str(&lines.join("\n"));
            text
        },
    );
    run(file, |text| check(&text));
}

/// The shipped stack files, read once.
fn shipped() -> &'static [String] {
    static FILES: OnceLock<Vec<String>> = OnceLock::new();
    FILES.get_or_init(|| {
        let root = crate::config::workspace_root();
        let root = root.as_path();
        let mut files = Vec::new();
        for dir in ["stacks", "examples", "examples/lab"] {
            for entry in std::fs::read_dir(root.join(dir))
                .into_iter()
                .flatten()
                .flatten()
            {
                let p = entry.path();
                if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    files.extend(std::fs::read_to_string(&p).ok());
                }
            }
        }
        files.sort();
        files
    })
}

/// One change to a file's bytes, at a position given as a fraction of its length.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(f64, usize),
    Insert(f64, &'static str),
    Byte(f64, u8),
    /// A line repeated (a key set twice) or moved one level in or out.
    DuplicateLine(f64),
    Indent(f64, bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0.0..1.0, 1usize..20).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (0.0..1.0, prop::sample::select(VALUES)).prop_map(|(at, s)| Mutation::Insert(at, s)),
        (0.0..1.0, prop::sample::select(KEYS)).prop_map(|(at, s)| Mutation::Insert(at, s)),
        (0.0..1.0, any::<u8>()).prop_map(|(at, b)| Mutation::Byte(at, b)),
        (0.0..1.0).prop_map(Mutation::DuplicateLine),
        (0.0..1.0, prop::bool::ANY).prop_map(|(at, deeper)| Mutation::Indent(at, deeper)),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let at = |f: f64, len: usize| ((f * len as f64) as usize).min(len);
    match *m {
        Mutation::Delete(f, n) => {
            let start = at(f, bytes.len());
            let end = (start + n).min(bytes.len());
            bytes.drain(start..end);
        }
        Mutation::Insert(f, s) => {
            let i = at(f, bytes.len());
            bytes.splice(i..i, s.bytes());
        }
        Mutation::Byte(f, b) => {
            if !bytes.is_empty() {
                let i = at(f, bytes.len() - 1);
                bytes[i] = b;
            }
        }
        Mutation::DuplicateLine(f) | Mutation::Indent(f, _) => {
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            if !lines.is_empty() {
                let i = at(f, lines.len() - 1);
                match *m {
                    Mutation::DuplicateLine(_) => lines.insert(i, lines[i].clone()),
                    Mutation::Indent(_, true) => lines[i].insert_str(0, "  "),
                    _ => lines[i] = lines[i].trim_start().to_string(),
                }
            }
            return lines.join("\n");
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mutated_shipped_stack_files_never_panic() {
    let files = shipped();
    assert!(
        files.len() >= 10,
        "the shipped stack files: {}",
        files.len()
    );
    let case = (0..files.len(), proptest::collection::vec(mutation(), 1..4));
    run(case, |(i, mutations)| {
        let text = mutations.iter().fold(files[i].clone(), |t, m| apply(&t, m));
        check(&text)
    });
}

#[test]
fn the_shipped_stack_files_pass_the_check_unchanged() {
    // The property's own check accepts every valid file: a check that failed them all would
    // prove nothing.
    for text in shipped() {
        check(text).unwrap();
    }
}
