//! What an event is to the output layer: a feature (deploy, teardown) owns its events as a
//! typed enum and implements [`Event`] for it; the [`super::progress::Reporter`] prints each one
//! live as a line of `--output ndjson` and keeps it, typed, for each environment's `events` in
//! the `--output json` document. Every event's JSON carries its name in `"event"` (a serde tag);
//! the contract lists them all (`schemas/output/common.json#/$defs/event`), and each feature's
//! tests validate every one of its events against that list.
//!
//! The one event the output layer owns is [`Resource`]: a stack operation's per-resource event,
//! printed live and never kept. The output layer asks of it only what its line says
//! ([`ResourceLine`]); AWS access's event is one.

use serde::Serialize;

/// An event a feature reports: serialised with its name in `"event"`, and told apart by the
/// environment or stack it is about (an environment's document keeps the events that name it
/// or one of its stacks).
pub(crate) trait Event: Serialize + Clone + Send + Sync {
    /// The environment the event is about as a whole, if it names one.
    fn environment(&self) -> Option<&str> {
        None
    }

    /// The stack the event is about, if it names one.
    fn stack(&self) -> Option<&str> {
        None
    }
}

/// What a stack operation's per-resource event says on its line: the stack, the resource's
/// logical id and type, its status and CloudFormation's reason; serialised as its own fields.
pub(crate) trait ResourceLine: Serialize {
    fn stack(&self) -> &str;
    fn logical_id(&self) -> &str;
    fn resource_type(&self) -> &str;
    /// As CloudFormation names it (`CREATE_COMPLETE`, `UPDATE_FAILED`, …).
    fn status(&self) -> &str;
    fn reason(&self) -> Option<&str>;
}

/// One resource event of a stack operation, as `--output ndjson` prints it live (it is not
/// kept in the document): the resource event's fields and `"event": "resource"`.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "ResourceEventLine")]
pub(crate) struct Resource<'a, R> {
    #[serde(flatten)]
    resource: &'a R,
    /// Always `resource`.
    #[schemars(extend("const" = "resource"))]
    event: &'static str,
}

impl<'a, R: ResourceLine> Resource<'a, R> {
    pub(super) fn new(resource: &'a R) -> Resource<'a, R> {
        Resource {
            resource,
            event: "resource",
        }
    }
}

/// The events of one environment out of those a run collected: the ones naming the
/// environment itself or one of its stacks.
pub(crate) fn events_of<E: Event>(events: &[E], environment: &str, stacks: &[String]) -> Vec<E> {
    events
        .iter()
        .filter(|e| {
            e.environment() == Some(environment)
                || e.stack().is_some_and(|s| stacks.iter().any(|x| x == s))
        })
        .cloned()
        .collect()
}

/// Test support: checking a feature's events against the contract's list.
#[cfg(test)]
pub mod contract {
    use serde_json::Value;

    /// `schemas/output/common.json`.
    pub fn common() -> Value {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/output/common.json");
        serde_json::from_str(&std::fs::read_to_string(&path).expect("common.json"))
            .expect("common.json parses")
    }

    /// The event names the contract lists: every `event` constant its event definitions
    /// (the `event` and the type-named ones) hold.
    pub fn listed() -> Vec<String> {
        fn consts(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(c) = m
                        .get("properties")
                        .and_then(|p| p.get("event"))
                        .and_then(|e| e.get("const"))
                        .and_then(Value::as_str)
                    {
                        out.push(c.to_string());
                    }
                    m.values().for_each(|x| consts(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| consts(x, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        let common = common();
        let defs = common["$defs"].as_object().expect("common.json has $defs");
        for (name, def) in defs {
            if name == "event" || name.starts_with(char::is_uppercase) {
                consts(def, &mut out);
            }
        }
        out
    }

    /// Asserts that each event, as emitted, is valid against the contract's list, and returns
    /// their names.
    pub fn check<E: serde::Serialize>(events: &[E]) -> Vec<String> {
        let common = common();
        let schema = serde_json::json!({ "$defs": common["$defs"], "$ref": "#/$defs/event" });
        let validator = jsonschema::validator_for(&schema).expect("the event schema compiles");
        events
            .iter()
            .map(|e| {
                let v = serde_json::to_value(e).expect("an event serialises");
                assert!(validator.is_valid(&v), "not in the contract: {v}");
                v["event"]
                    .as_str()
                    .expect("an event has a name")
                    .to_string()
            })
            .collect()
    }

    /// An event type with no events, for tests of the reporter alone.
    #[derive(Debug, Clone, serde::Serialize)]
    pub enum NoEvent {}

    impl super::Event for NoEvent {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Serialize)]
    #[serde(tag = "event", rename_all = "snake_case")]
    enum Sample {
        Cancelled {
            environment: String,
            message: String,
        },
        Waiting {
            stack: String,
        },
    }

    impl Event for Sample {
        fn environment(&self) -> Option<&str> {
            match self {
                Sample::Cancelled { environment, .. } => Some(environment),
                Sample::Waiting { .. } => None,
            }
        }
        fn stack(&self) -> Option<&str> {
            match self {
                Sample::Waiting { stack } => Some(stack),
                Sample::Cancelled { .. } => None,
            }
        }
    }

    #[test]
    fn an_environment_keeps_the_events_naming_it_or_one_of_its_stacks() {
        let events = vec![
            Sample::Cancelled {
                environment: "lab".into(),
                message: "m".into(),
            },
            Sample::Waiting {
                stack: "qfleet-lab-data".into(),
            },
            Sample::Waiting {
                stack: "qfleet-prod-data".into(),
            },
            Sample::Cancelled {
                environment: "prod".into(),
                message: "m".into(),
            },
        ];
        let lab = events_of(&events, "lab", &["qfleet-lab-data".to_string()]);
        assert_eq!(lab.len(), 2);
        assert!(matches!(&lab[1], Sample::Waiting { stack } if stack == "qfleet-lab-data"));
        assert!(events_of(&events, "dev", &[]).is_empty());
    }

    #[test]
    fn a_resource_event_is_listed_in_the_contract_and_named_resource() {
        let e = crate::aws::ResourceEvent {
            event_id: "e-1".into(),
            stack: "qfleet-lab-data".into(),
            logical_id: "Queue".into(),
            resource_type: "AWS::SQS::Queue".into(),
            status: aws_sdk_cloudformation::types::ResourceStatus::CreateComplete,
            reason: None,
            timestamp: "2026-11-24T10:00:00Z".into(),
            operation_id: None,
        };
        let names = contract::check(&[Resource::new(&e)]);
        assert_eq!(names, ["resource"]);
    }
}
