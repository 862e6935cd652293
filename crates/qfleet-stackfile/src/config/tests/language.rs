//! The stack-file language declared once, with the types of `schema.rs`: the key table, the
//! help of every setting and the words of every choice read from those declarations.

use super::keys::{self, Kind};
use super::schema::{StageSpec, WorkerKind};
use super::*;

/// Every dotted path of the key table, and each under a stage's index.
fn every_setting() -> Vec<String> {
    let mut paths = keys::all_paths();
    let staged: Vec<String> = StageSpec::KEYS
        .iter()
        .map(|k| format!("stages.0.{}", k.name))
        .collect();
    paths.extend(staged);
    paths
}

#[test]
fn every_setting_says_what_it_accepts_with_nothing_left_to_fill_in() {
    for path in every_setting() {
        let help = checks::allowed(&path).unwrap_or_else(|| panic!("{path} has no help"));
        assert!(!help.is_empty(), "{path}");
        for placeholder in ["{keys}", "{keys and}", "{settings}", "{choices}"] {
            assert!(!help.contains(placeholder), "{path}: {help}");
        }
    }
}

#[test]
fn a_mapping_s_help_names_its_keys_from_the_table() {
    assert_eq!(
        checks::allowed("queue").unwrap(),
        format!(
            "a mapping with {}",
            keys::names(schema::QueueSpec::KEYS).join(", ")
        )
    );
    assert!(
        checks::allowed("workers.spot")
            .unwrap()
            .starts_with("a mapping with percent and on_demand_base ")
    );
    assert_eq!(
        checks::allowed("stages.1").unwrap(),
        "a mapping of the stage's settings: name (required), fed_by, prefix, queue, sources, workers, scaling"
    );
}

#[test]
fn a_choice_s_words_are_the_enum_s_and_its_help_says_each() {
    let words: Vec<&str> = WorkerKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(crate::config::schema::WorkerKind::WORDS, words.as_slice());
    let kind = keys::find(schema::WorkersSpec::KEYS, "kind").unwrap();
    assert_eq!(kind.kind, Kind::Choice(WorkerKind::WORDS));
    let help = checks::allowed("workers.kind").unwrap();
    for word in WorkerKind::WORDS {
        assert!(help.contains(word), "{help}");
    }
    for kind in WorkerKind::ALL {
        let parsed: WorkerKind =
            serde_yaml_ng::from_str(kind.as_str()).expect("the word is what serde reads");
        assert_eq!(parsed, kind);
    }
}

/// A stack file that sets every required key of every mapping.
const COMPLETE: &str = "region: eu-west-1\nbudget: {amount: 100}\nstages:\n  - name: one\nworkers:\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets: {eu-west-1a: subnet-0123456789abcdef0}\n  image: {build: {}}\n  lambda:\n    provisioned_pollers: {minimum: 2, maximum: 10}\n    image: {build: {}}\n  statements:\n    - {Effect: Allow, Action: s3:GetObject, Resource: 'arn:aws:s3:::b/*'}\n";

#[test]
fn the_keys_marked_required_are_the_ones_the_parser_requires() {
    serde_yaml_ng::from_str::<StackFile>(COMPLETE).expect("the complete file parses");
    let required = [
        ("", "region"),
        ("budget", "amount"),
        ("stages.0", "name"),
        ("workers.network", "vpc"),
        ("workers.network", "subnets"),
        ("workers.lambda.provisioned_pollers", "minimum"),
        ("workers.lambda.provisioned_pollers", "maximum"),
        ("workers.image", "build"),
        ("workers.lambda.image", "build"),
        ("workers.statements.0", "Effect"),
        ("workers.statements.0", "Action"),
        ("workers.statements.0", "Resource"),
    ];
    let mut marked: Vec<String> = keys::mappings()
        .into_iter()
        .flat_map(|(path, table)| {
            table
                .iter()
                .filter(|k| k.required)
                .map(move |k| positions::join(&path, k.name))
        })
        .collect();
    marked.extend(
        StageSpec::KEYS
            .iter()
            .filter(|k| k.required)
            .map(|k| format!("stages.0.{}", k.name)),
    );
    marked.extend(
        crate::config::permissions::Statement::KEYS
            .iter()
            .filter(|k| k.required)
            .map(|k| format!("workers.statements.0.{}", k.name)),
    );
    let mut expected: Vec<String> = required
        .iter()
        .map(|(path, key)| positions::join(path, key))
        .collect();
    marked.sort();
    expected.sort();
    assert_eq!(marked, expected);
    // Without any one of them the parser refuses the file, naming it.
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(COMPLETE).unwrap();
    for (path, key) in required {
        let mut without = doc.clone();
        let mut at = &mut without;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            at = match part.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[part],
            };
        }
        at.as_mapping_mut().unwrap().remove(key);
        let err = serde_yaml_ng::from_value::<StackFile>(without).unwrap_err();
        assert!(
            err.to_string().contains(&format!("missing field `{key}`")),
            "{path}.{key}: {err}"
        );
    }
}
