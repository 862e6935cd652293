//! The key table (`keys.rs`), the types in `schema.rs` and `schemas/stack-file.json` say the
//! same: the same keys, the same values accepted, and every shipped stack file valid.

use super::keys::{self, Kind};
use super::*;
use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;
use std::collections::BTreeSet;

fn root() -> std::path::PathBuf {
    crate::config::workspace_root()
}

fn committed_schema() -> Json {
    let text = std::fs::read_to_string(root().join(editor_schema::PATH))
        .unwrap_or_else(|e| panic!("{}: {e}", editor_schema::PATH));
    serde_json::from_str(&text).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&committed_schema()).expect("the schema compiles")
}

fn as_json(yaml: &str) -> Json {
    serde_json::to_value(serde_yaml_ng::from_str::<Yaml>(yaml).unwrap()).unwrap()
}

fn walk_yaml(yaml: &str) -> Vec<walk::Problem> {
    walk::walk(
        &serde_yaml_ng::from_str(yaml).unwrap(),
        &positions::Locations::index(yaml),
    )
}

/// `region: eu-west-1` plus `value` at the dotted `path`, as YAML.
fn stack_file_with(path: &str, value: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    let mut yaml = if path == "region" {
        String::new()
    } else {
        "region: eu-west-1\n".to_string()
    };
    for (depth, part) in parts.iter().enumerate() {
        let indent = "  ".repeat(depth);
        if depth + 1 == parts.len() {
            yaml.push_str(&format!("{indent}{part}: {value}\n"));
        } else {
            yaml.push_str(&format!("{indent}{part}:\n"));
        }
        // A budget needs its amount beside any other key of it.
        if depth == 0 && *part == "budget" && parts.get(1).is_some_and(|k| *k != "amount") {
            yaml.push_str("  amount: 100\n");
        }
    }
    yaml
}

/// Run with `QFLEET_WRITE_SCHEMA=1` to write the file after changing a setting's declaration in
/// `schema.rs` (its type or help) or a default.
#[test]
fn the_committed_schema_is_the_generated_one() {
    let path = root().join(editor_schema::PATH);
    if std::env::var_os("QFLEET_WRITE_SCHEMA").is_some() {
        std::fs::write(&path, editor_schema::text()).unwrap();
    }
    assert!(
        committed_schema() == editor_schema::generate(),
        "{} is out of date: run `QFLEET_WRITE_SCHEMA=1 cargo test --lib config::tests::stack_file_schema` and commit it",
        editor_schema::PATH
    );
    assert!(jsonschema::meta::is_valid(&committed_schema()));
}

#[test]
fn every_shipped_stack_file_matches_the_schema() {
    let validator = validator();
    let mut n = 0;
    for dir in ["stacks", "examples", "examples/lab"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = entry.unwrap().path();
            if !p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                continue;
            }
            let doc = as_json(&std::fs::read_to_string(&p).unwrap());
            let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{}: {errors:#?}", p.display());
            n += 1;
        }
    }
    assert!(n >= 5, "expected the stacks and the examples, found {n}");
}

/// The keys of the Rust types, read from what they serialize (a user's own names excepted).
fn serialized_paths(v: &Json, path: &str, out: &mut BTreeSet<String>) {
    if let Json::Object(map) = v {
        for (k, child) in map {
            let p = positions::join(path, k);
            out.insert(p.clone());
            if !matches!(p.as_str(), "tags" | "workers.network.subnets") {
                serialized_paths(child, &p, out);
            }
        }
    }
}

#[test]
fn the_key_table_has_exactly_the_keys_of_the_rust_types() {
    let yaml = "region: eu-west-1\nworkers:\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets: {eu-west-1a: subnet-0123456789abcdef0}\n  image: {build: {}}\n  lambda:\n    provisioned_pollers: {minimum: 2, maximum: 10}\n    image: {build: {}}\n    managed_instances: {}\n  warm_pool: {}\n  gpu: {}\njobs: {}\nbudget: {amount: 100}\nalerts: {slack: {}, teams: {}}\nsources:\n  messages: {}\nqueue:\n  retry: {}\n  tenant: {}\n  priority: {}\n";
    let spec: StackFile = serde_yaml_ng::from_str(yaml).unwrap();
    let mut from_types = BTreeSet::new();
    serialized_paths(&serde_json::to_value(spec).unwrap(), "", &mut from_types);
    let from_table: BTreeSet<String> = keys::all_paths().into_iter().collect();
    assert_eq!(from_table, from_types);
    assert!(from_table.contains("workers.kind") && from_table.contains("workers.lambda.timeout"));
}

/// A value `kind` accepts.
fn accepted(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "true",
        Kind::Int | Kind::UInt => "1",
        Kind::Float => "1.5",
        Kind::Duration => "5s",
        Kind::Text | Kind::Any | Kind::TextOrList => "x",
        Kind::Choice(words) => words[words.len() - 1],
        Kind::Network => "default",
        Kind::Image => "public.ecr.aws/org/worker:1",
        Kind::List(Kind::Settings(_)) => "[]",
        Kind::List(_) => "[x]",
        Kind::Optional(_) | Kind::Settings(_) | Kind::Names | Kind::Counts => "",
    }
}

#[test]
fn every_key_is_accepted_and_a_misspelled_one_rejected_by_parser_walk_and_schema() {
    let validator = validator();
    let mut n = 0;
    for (parent, table) in keys::mappings() {
        // The network mapping's keys need each other, and so do provisioned mode's two
        // bounds; the test above reads them.
        if parent == "workers.network" || parent == "workers.lambda.provisioned_pollers" {
            continue;
        }
        for key in table {
            let path = positions::join(&parent, key.name);
            let value = accepted(key.kind);
            let yaml = stack_file_with(&path, value);
            serde_yaml_ng::from_str::<StackFile>(&yaml)
                .unwrap_or_else(|e| panic!("the parser rejects {path}: {e}\n{yaml}"));
            assert_eq!(walk_yaml(&yaml), []);
            assert!(
                validator.is_valid(&as_json(&yaml)),
                "the schema rejects {path}"
            );

            let typo = positions::join(&parent, &format!("{}x", key.name));
            let yaml = stack_file_with(&typo, value);
            assert!(
                serde_yaml_ng::from_str::<StackFile>(&yaml).is_err(),
                "{typo}"
            );
            let problems = walk_yaml(&yaml);
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].field, typo);
            assert!(
                problems[0]
                    .message
                    .contains(&format!("did you mean `{}`?", key.name)),
                "{problems:?}"
            );
            assert!(
                !validator.is_valid(&as_json(&yaml)),
                "the schema accepts {typo}"
            );
            n += 1;
        }
    }
    assert!(n >= 45, "{n} keys");
}

/// Values of every kind, quoted and not, empty, lists and mappings.
const SAMPLES: &[&str] = &[
    "true",
    "False",
    "0",
    "3",
    "-3",
    "0x10",
    "1.5",
    "5000000000",
    "\"3\"",
    "'true'",
    "90s",
    "15m",
    "+5 m",
    "4w",
    "007",
    "1e3",
    ".inf",
    "0o17",
    "+3",
    "3_000",
    "-0x1",
    "3 weeks",
    "lots",
    "~",
    "null",
    "",
    "[1]",
    "{a: 1}",
    "{}",
    "default",
    "ec2",
    "lambda",
    "t3.micro",
];

/// Where YAML read into JSON loses what the parser goes by, so the schema cannot decide as it
/// does (the walk still must, and is checked there too).
fn json_cannot_tell(sample: &str, kind: Kind) -> bool {
    let numeric = matches!(kind, Kind::Int | Kind::UInt | Kind::Float | Kind::Duration)
        || matches!(kind, Kind::Optional(inner) if matches!(inner, Kind::Int | Kind::UInt | Kind::Float | Kind::Duration));
    match sample {
        // One null: `tags:` (no tags) and `tags: ~` (an error) are the same.
        "~" | "null" => matches!(kind, Kind::Settings(_) | Kind::Names | Kind::Counts),
        // `0x10` is 16, a whole number but not a number to serde_yaml; `1e3` is 1000.0, an
        // integer to JSON Schema; `007` is text in a YAML value but 7 where a number goes.
        "0x10" | "0o17" | "-0x1" | "1e3" | "007" => numeric,
        // JSON has no infinity: it becomes null.
        ".inf" => true,
        _ => false,
    }
}

#[test]
fn parser_walk_and_schema_accept_the_same_values_everywhere() {
    let validator = validator();
    let mut checked = 0;
    for (parent, table) in keys::mappings() {
        for key in table {
            let path = positions::join(&parent, key.name);
            for sample in SAMPLES {
                let yaml = stack_file_with(&path, sample);
                let parsed = serde_yaml_ng::from_str::<StackFile>(&yaml);
                let problems = walk_yaml(&yaml);
                let schema_ok = validator.is_valid(&as_json(&yaml));
                // Inside the network mapping the other required key is missing either way.
                if path.starts_with("workers.network.") {
                    assert!(parsed.is_err() && !problems.is_empty() && !schema_ok);
                    continue;
                }
                assert_eq!(
                    parsed.is_ok(),
                    problems.is_empty(),
                    "{path}: {sample}: parser {parsed:?}, walk {problems:?}"
                );
                if json_cannot_tell(sample, key.kind) {
                    continue;
                }
                assert_eq!(parsed.is_ok(), schema_ok, "{path}: {sample}: schema");
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn the_duration_pattern_is_what_durations_parse() {
    let pattern = jsonschema::validator_for(&serde_json::json!({
        "type": "string", "pattern": editor_schema::DURATION_PATTERN
    }))
    .unwrap();
    for s in [
        "90", "90s", " 5 m ", "+5s", "2h", "4d", "0", "4w", "-3s", "", "s", "1.5m", "5 5s",
    ] {
        assert_eq!(
            pattern.is_valid(&serde_json::json!(s)),
            duration::parse(s).is_some(),
            "{s:?}"
        );
    }
}

#[test]
fn lambda_and_worker_kinds_are_in_the_schema() {
    let schema = committed_schema();
    let workers = &schema["properties"]["workers"]["properties"];
    assert_eq!(
        workers["kind"]["enum"],
        serde_json::json!(crate::config::schema::WorkerKind::WORDS)
    );
    assert_eq!(workers["kind"]["default"], "ec2");
    let lambda = &workers["lambda"]["properties"];
    assert_eq!(lambda["runtime"]["default"], "python3.12");
    assert_eq!(lambda["timeout"]["default"], "10s");
    assert!(
        lambda["log_retention_days"]["description"]
            .as_str()
            .unwrap()
            .contains("14")
    );
    assert_eq!(schema["required"], serde_json::json!(["region"]));
}
