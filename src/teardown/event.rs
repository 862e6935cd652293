//! The events a teardown reports: live as lines of `--output ndjson`, and in each
//! environment's `events` in the `--output json` document. Each is listed in the contract
//! (`schemas/output/common.json#/$defs/event`); a test validates one of each against it.

use serde::Serialize;

/// The progress reporter of a teardown.
pub(super) type Reporter = crate::output::Reporter<Event>;

/// An event of a teardown.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
#[schemars(rename = "TeardownEvent")]
pub(crate) enum Event {
    /// The question was answered no: nothing was deleted.
    Cancelled {
        environment: String,
        message: String,
    },
    /// What happened to a stack.
    Stack { stack: String, action: StackAction },
    /// Something to read about the environment's teardown: its lock taken over from a run that
    /// never released it, or termination protection its stack file asks for and its stacks
    /// lack.
    Warning {
        environment: String,
        message: String,
    },
}

/// What a teardown did to a stack, as its `stack` event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum StackAction {
    /// DeleteStack was called; the deletion is under way.
    Deleting,
}

impl crate::output::Event for Event {
    fn environment(&self) -> Option<&str> {
        match self {
            Event::Cancelled { environment, .. } | Event::Warning { environment, .. } => {
                Some(environment)
            }
            Event::Stack { .. } => None,
        }
    }

    fn stack(&self) -> Option<&str> {
        match self {
            Event::Stack { stack, .. } => Some(stack),
            Event::Cancelled { .. } | Event::Warning { .. } => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::output::contract;

    /// One event of each kind: a new variant must be added here, and then to the contract.
    pub(crate) fn one_of_each() -> Vec<Event> {
        vec![
            Event::Cancelled {
                environment: "lab".into(),
                message: "m".into(),
            },
            Event::Stack {
                stack: "qfleet-lab-fleet".into(),
                action: StackAction::Deleting,
            },
            Event::Warning {
                environment: "lab".into(),
                message: "m".into(),
            },
        ]
    }

    #[test]
    fn every_teardown_event_is_in_the_contract_under_its_own_name() {
        assert_eq!(
            contract::check(&one_of_each()),
            ["cancelled", "stack", "warning"]
        );
        let v = serde_json::to_value(&one_of_each()[1]).unwrap();
        assert_eq!(v["action"], "deleting");
    }
}
