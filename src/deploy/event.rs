//! The events a deploy or plan reports: live as lines of `--output ndjson`, and in each
//! environment's `events` in the `--output json` document. Each is listed in the contract
//! (`schemas/output/common.json#/$defs/event`); a test validates one of each against it.

use super::Action;
use crate::aws::ResourceChange as Change;
use crate::aws::Validation;
use serde::Serialize;

/// The progress reporter of a deploy or plan.
pub(super) type Reporter = crate::output::Reporter<Event>;

/// An event of a deploy or plan.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
#[schemars(rename = "DeployEvent")]
pub(crate) enum Event {
    /// Something to read before going on: a loss of data in a change set (`stack`, `change`),
    /// or a run-wide note such as express mode on a protected environment (`environment`).
    Warning {
        #[serde(skip_serializing_if = "Option::is_none")]
        environment: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        stack: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        change: Option<Change>,
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
        changes: Vec<Change>,
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
        validation: Validation,
        message: String,
    },
    /// The validation results could not be read: unknown, not none.
    ValidationUnread { stack: String, message: String },
    /// The question was answered no: nothing changed.
    Cancelled {
        environment: String,
        message: String,
    },
    /// What happened to a stack.
    Stack { stack: String, action: Action },
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
}

impl crate::output::Event for Event {
    fn environment(&self) -> Option<&str> {
        match self {
            Event::Warning { environment, .. } => environment.as_deref(),
            Event::Cancelled { environment, .. } | Event::Express { environment, .. } => {
                Some(environment)
            }
            _ => None,
        }
    }

    fn stack(&self) -> Option<&str> {
        match self {
            Event::Warning { stack, .. } => stack.as_deref(),
            Event::ChangeSet { stack, .. }
            | Event::Changes { stack, .. }
            | Event::Switch { stack, .. }
            | Event::Validation { stack, .. }
            | Event::ValidationUnread { stack, .. }
            | Event::Stack { stack, .. }
            | Event::Recovered { stack, .. }
            | Event::Waiting { stack, .. } => Some(stack),
            Event::Cancelled { .. } | Event::Express { .. } => None,
        }
    }
}

impl Event {
    /// A warning's text (`STACK: what the change does`, or what it says about the environment
    /// as a whole); `None` for any other event.
    pub(super) fn warning(&self) -> Option<String> {
        match self {
            Event::Warning {
                stack: Some(stack),
                message,
                ..
            } => Some(format!("{stack}: {message}")),
            Event::Warning { message, .. } => Some(message.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::output::contract;

    /// One event of each kind: a new variant must be added here, and then to the contract.
    pub(crate) fn one_of_each() -> Vec<Event> {
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
                changes: Vec::new(),
            },
            Event::Switch {
                stack: s(),
                from: "ec2".into(),
                to: "lambda".into(),
                message: "m".into(),
            },
            Event::Validation {
                stack: s(),
                validation: Validation {
                    name: "check".into(),
                    status: "FAILED".into(),
                    mode: Some("WARN".into()),
                    reason: None,
                    path: None,
                    logical_id: None,
                    resource_type: None,
                },
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
                action: Action::Created,
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
        ]
    }

    #[test]
    fn every_deploy_event_is_in_the_contract_under_its_own_name() {
        let names = contract::check(&one_of_each());
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "two variants share a name");
        assert_eq!(names[1], "change_set");
        assert_eq!(names[5], "validation_unread");
    }

    #[test]
    fn a_stack_event_says_the_action_in_kebab_case() {
        let e = Event::Stack {
            stack: "qfleet-lab-fleet".into(),
            action: Action::NoChanges,
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"event": "stack", "stack": "qfleet-lab-fleet", "action": "no-changes"})
        );
    }
}
