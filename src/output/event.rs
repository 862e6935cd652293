//! Every event a deploy, plan or teardown reports: live as a line of `--output ndjson`, and in
//! each environment's `events` in the `--output json` document. One enum, so the JSON contract
//! (`schemas/output/common.json#/$defs/event`) can list them all; a test keeps the two equal.
//! Nested domain data (a change, a validation finding, a resource event) comes already
//! serialized by the feature that reports it: output/ depends on no feature.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Something to read before going on: a loss of data in a change set (`stack`, `change`),
    /// or a run-wide note such as express mode on a protected environment (`environment`).
    Warning {
        #[serde(skip_serializing_if = "Option::is_none")]
        environment: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        stack: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        change: Option<Value>,
        message: String,
    },
    /// A change set was created and computed.
    ChangeSet {
        stack: String,
        id: String,
        empty: bool,
    },
    /// What a stack's change set does (`creating` a new stack, or `import`ing a kept bucket).
    Changes {
        stack: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        creating: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        import: Option<String>,
        changes: Value,
    },
    /// The fleet's change set switches the kind of worker.
    Switch {
        stack: String,
        from: String,
        to: String,
        message: String,
    },
    /// A finding of CloudFormation's pre-deployment validation.
    Validation {
        stack: String,
        validation: Value,
        message: String,
    },
    /// The validation results could not be read: unknown, not none.
    ValidationUnread { stack: String, message: String },
    /// The question was answered no: nothing changed.
    Cancelled {
        environment: String,
        message: String,
    },
    /// What happened to a stack (`created`, `updated`, `no-changes`, `deleting`, …).
    Stack { stack: String, action: Value },
    /// Deployed in express mode: resources may still be stabilising.
    Express {
        environment: String,
        message: String,
    },
    /// A stack an interrupted run left was recovered.
    Recovered {
        stack: String,
        found: String,
        change_sets: usize,
        action: String,
    },
    /// Waiting: for an operation in progress (`status`) or for a reason (`reason`).
    Waiting {
        stack: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// One resource event of a stack operation (live only: not kept in the document).
    Resource(Value),
}

impl Event {
    /// The event's name, as `"event"` says it in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Warning { .. } => "warning",
            Event::ChangeSet { .. } => "change_set",
            Event::Changes { .. } => "changes",
            Event::Switch { .. } => "switch",
            Event::Validation { .. } => "validation",
            Event::ValidationUnread { .. } => "validation_unread",
            Event::Cancelled { .. } => "cancelled",
            Event::Stack { .. } => "stack",
            Event::Express { .. } => "express",
            Event::Recovered { .. } => "recovered",
            Event::Waiting { .. } => "waiting",
            Event::Resource(_) => "resource",
        }
    }

    /// As JSON, with its `"event"` name.
    pub fn to_json(&self) -> Value {
        match self {
            // A resource event is the feature's own object, named here.
            Event::Resource(v) => {
                let mut v = v.clone();
                if let Value::Object(map) = &mut v {
                    map.insert("event".into(), Value::from(self.name()));
                }
                v
            }
            other => serde_json::to_value(other).unwrap_or_else(|e| {
                serde_json::json!({ "event": other.name(), "message": format!("(not serializable: {e})") })
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One event of each kind: a new variant must be added here, and then to the schema.
    fn one_of_each() -> Vec<Event> {
        let s = || "qfleet-lab-data".to_string();
        vec![
            Event::Warning {
                environment: Some("lab".into()),
                stack: None,
                change: None,
                message: "m".into(),
            },
            Event::ChangeSet {
                stack: s(),
                id: "cs".into(),
                empty: false,
            },
            Event::Changes {
                stack: s(),
                creating: Some(true),
                import: None,
                changes: serde_json::json!([]),
            },
            Event::Switch {
                stack: s(),
                from: "ec2".into(),
                to: "lambda".into(),
                message: "m".into(),
            },
            Event::Validation {
                stack: s(),
                validation: serde_json::json!({}),
                message: "m".into(),
            },
            Event::ValidationUnread {
                stack: s(),
                message: "m".into(),
            },
            Event::Cancelled {
                environment: "lab".into(),
                message: "m".into(),
            },
            Event::Stack {
                stack: s(),
                action: Value::from("created"),
            },
            Event::Express {
                environment: "lab".into(),
                message: "m".into(),
            },
            Event::Recovered {
                stack: s(),
                found: "REVIEW_IN_PROGRESS".into(),
                change_sets: 1,
                action: "deleted".into(),
            },
            Event::Waiting {
                stack: s(),
                status: Some("UPDATE_IN_PROGRESS".into()),
                reason: None,
            },
            Event::Resource(serde_json::json!({ "stack": s(), "logical_id": "Queue" })),
        ]
    }

    /// The contract lists exactly the events qfleet can emit, each with its required fields;
    /// the JSON contract tests validate every emitted event against it.
    #[test]
    fn the_output_schema_lists_every_event_and_each_one_validates() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/output/common.json");
        let common: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let def = &common["$defs"]["event"];
        let listed: Vec<&str> = def["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["properties"]["event"]["const"].as_str().unwrap())
            .collect();
        let events = one_of_each();
        let mut names: Vec<&str> = events.iter().map(Event::name).collect();
        let mut listed_sorted = listed.clone();
        names.sort();
        listed_sorted.sort();
        assert_eq!(
            names, listed_sorted,
            "schemas/output/common.json lists other events"
        );
        // Each event, as emitted, is valid against the schema's definition.
        let schema = serde_json::json!({ "$defs": common["$defs"], "$ref": "#/$defs/event" });
        let validator = jsonschema::validator_for(&schema).unwrap();
        for e in &events {
            let v = e.to_json();
            assert_eq!(v["event"], e.name());
            assert!(validator.is_valid(&v), "{v}");
        }
        let unknown = serde_json::json!({ "event": "something_new", "stack": "s" });
        assert!(
            !validator.is_valid(&unknown),
            "an unlisted event fails the contract"
        );
    }
}
