//! Every command's output schema, generated from the types that print its document
//! (`schemas/output/COMMAND.json`); of the envelope they share (`common.json`), written by
//! hand, the events are generated from the features' event types too. The integration tests
//! check every document a command prints against its schema.

use serde_json::Value;

/// Each command with a generated schema, and the schema.
fn generated() -> Vec<(&'static str, Value)> {
    vec![
        ("deploy", crate::deploy::schema("deploy")),
        ("dlq", crate::dlq::schema()),
        ("drift", crate::drift::schema()),
        ("env", crate::worker_env::schema()),
        ("environments", crate::environments::schema()),
        ("iam-policy", crate::iam::schema()),
        ("import", crate::import::schema()),
        ("jobs", crate::jobs::schema()),
        ("logs", crate::logs::schema()),
        ("outputs", crate::stack_outputs::schema()),
        ("plan", crate::deploy::schema("plan")),
        ("render", crate::placement::render_schema()),
        ("send", crate::send::schema()),
        ("simulate", crate::simulate::schema()),
        ("status", crate::status::schema()),
        ("submit", crate::submit::schema()),
        ("teardown", crate::teardown::schema()),
        ("validate", crate::validate::schema()),
    ]
}

/// The events `common.json` lists (`$defs/event` and the definitions it refers to), generated
/// from the features' event types: a deploy's or plan's, a teardown's, and the per-resource
/// line.
#[cfg(test)]
fn events() -> serde_json::Map<String, Value> {
    crate::output::document_schema::Shared::default()
        .add::<crate::deploy::Event>()
        .add::<crate::teardown::Event>()
        .add::<crate::output::Resource<crate::aws::ResourceEvent>>()
        .definitions(
            "event",
            "An event of a deploy, plan or teardown as --output ndjson prints it live (src/deploy/event.rs, src/teardown/event.rs, and the per-resource one in src/output/event.rs); generated from those types: an event not listed here breaks the contract",
        )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The contract lists exactly the events the features emit: deploy's, teardown's and the
    /// per-resource one (each feature's own tests check its events against the list).
    #[test]
    fn the_contract_lists_exactly_the_events_the_features_emit() {
        use crate::output::contract;
        let mut emitted = contract::check(&crate::deploy::one_event_of_each());
        emitted.extend(contract::check(&crate::teardown::one_event_of_each()));
        emitted.push("resource".to_string());
        emitted.sort();
        emitted.dedup();
        let mut listed = contract::listed();
        listed.sort();
        listed.dedup();
        assert_eq!(
            emitted, listed,
            "schemas/output/common.json lists other events"
        );
        let unknown = serde_json::json!({ "event": "something_new", "stack": "s" });
        let common = contract::common();
        let schema = serde_json::json!({ "$defs": common["$defs"], "$ref": "#/$defs/event" });
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(
            !validator.is_valid(&unknown),
            "an unlisted event fails the contract"
        );
    }

    /// common.json's events are the ones the types generate: a change to an event fails here
    /// until `QFLEET_WRITE_SCHEMA=1 cargo test --lib schemas` writes them (the rest of
    /// common.json, the envelope, is written by hand; its commands and exit codes are checked
    /// in `cli`).
    #[test]
    fn common_json_events_are_generated_from_the_event_types() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/output/common.json");
        let mut common: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let generated = super::events();
        let defs = common["$defs"].as_object_mut().unwrap();
        // The generated definitions are the event and the type-named ones (upper case); the
        // envelope's are lower case.
        let committed: serde_json::Map<String, serde_json::Value> = defs
            .iter()
            .filter(|(k, _)| k.as_str() == "event" || k.starts_with(char::is_uppercase))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if std::env::var_os("QFLEET_WRITE_SCHEMA").is_some() {
            defs.retain(|k, _| !committed.contains_key(k));
            defs.extend(generated);
            let text = serde_json::to_string_pretty(&common).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
            return;
        }
        assert_eq!(
            serde_json::Value::Object(committed),
            serde_json::Value::Object(generated),
            "schemas/output/common.json's events are out of date: QFLEET_WRITE_SCHEMA=1 cargo test --lib schemas writes them"
        );
    }

    /// Every command that prints a document has a generated schema, and no other file is in
    /// schemas/output/ but the shared envelope.
    #[test]
    fn every_output_schema_is_generated() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/output");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| {
                e.file_name()
                    .to_string_lossy()
                    .trim_end_matches(".json")
                    .to_string()
            })
            .filter(|f| f != "common")
            .collect();
        files.sort();
        let generated: Vec<&str> = super::generated().iter().map(|(c, _)| *c).collect();
        assert_eq!(files, generated);
    }

    /// The committed schemas are what the types generate: a change to a document's type
    /// fails here until `QFLEET_WRITE_SCHEMA=1 cargo test --lib schemas` writes it.
    #[test]
    fn the_committed_output_schemas_are_generated_from_the_types() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/output");
        let write = std::env::var_os("QFLEET_WRITE_SCHEMA").is_some();
        for (command, schema) in super::generated() {
            let path = dir.join(format!("{command}.json"));
            let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            if write {
                std::fs::write(&path, &text).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap();
            assert!(
                committed == text,
                "{} differs from the schema its types generate: run QFLEET_WRITE_SCHEMA=1 cargo test --lib schemas",
                path.display()
            );
        }
    }
}
