//! Where a stack comes from, as `status` shows it: for a target deployed through StackSets,
//! the stack set whose instance the stack is, and that instance as StackSets reports it; for
//! a stack deployed under its own name, nothing.

use super::StackNames;
use serde::Serialize;

// A stack's stack set and instance; both null for a stack deployed under its own name. (No
// doc comment: flattened into a stack's summary, it would become that schema's description.)
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub(crate) struct Origin {
    /// For a target deployed through StackSets: the stack set whose instance in the target's
    /// account and region this stack is; else null.
    pub(crate) stack_set: Option<String>,
    /// That instance, as ListStackInstances says; null without one (or for a stack deployed
    /// under its own name).
    pub(crate) instance: Option<InstanceStatus>,
}

/// A stack set's instance as StackSets reports it
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceSummary.html>).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub(crate) struct InstanceStatus {
    /// CURRENT (up to date with the stack set), OUTDATED (its stack failed, or an operation
    /// failed or was stopped before it was created or updated: it does not have the stack
    /// set's template) or INOPERABLE (a DeleteStackInstances operation failed and left it
    /// unstable; UpdateStackSet passes it by).
    pub(crate) status: String,
    /// Its last operation's result for it (SUCCEEDED, FAILED, CANCELLED, RUNNING, PENDING,
    /// INOPERABLE, …), when StackSets says.
    pub(crate) detailed_status: Option<String>,
    pub(crate) reason: Option<String>,
}

/// The section of `status` that says why an environment's stacks could not be located (its
/// stack sets could not be read).
pub(crate) const LOCATING: &str = "stack_sets";

impl StackNames {
    /// Where the stack `name` comes from.
    pub(crate) fn origin(&self, name: &str) -> Origin {
        let Some(t) = &self.stack_set else {
            return Origin::default();
        };
        match t.instance_of(name) {
            Some((set, instance)) => Origin {
                stack_set: Some(set.to_string()),
                instance: instance.map(|i| InstanceStatus {
                    status: i.status.clone(),
                    detailed_status: i.detailed.clone(),
                    reason: i.reason.clone().filter(|r| !r.is_empty()),
                }),
            },
            None => Origin::default(),
        }
    }
}

impl Origin {
    /// What a stack's stack set instance is: up to date with its stack set, or not and what to
    /// do; `None` for a stack deployed under its own name
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceSummary.html>).
    pub(crate) fn line(&self) -> Option<String> {
        let set = self.stack_set.as_deref()?;
        let Some(i) = &self.instance else {
            return Some(format!(
                "stack set {set}: no instance here (deploy its wave to create it)"
            ));
        };
        let last = match (&i.detailed_status, &i.reason) {
            (Some(d), Some(r)) => format!(" (last operation {d}: {r})"),
            (Some(d), None) => format!(" (last operation {d})"),
            (None, Some(r)) => format!(" ({r})"),
            (None, None) => String::new(),
        };
        let meaning = match i.status.as_str() {
            "CURRENT" => "up to date with the stack set",
            "OUTDATED" => {
                "not up to date with the stack set's template (its stack failed, or an operation failed or was stopped before it): deploy the target again"
            }
            "INOPERABLE" => {
                "a deletion (or an import) of the instance failed and left it unstable, and StackSets leaves it out of updates; AWS's remedy: DeleteStackInstances with RetainStacks true, then delete its stack"
            }
            _ => "as StackSets says",
        };
        Some(format!(
            "stack set {set}: instance {}{last}, {meaning}",
            i.status
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{InstanceStatus, Origin};

    fn of(instance: Option<InstanceStatus>) -> Origin {
        Origin {
            stack_set: Some("qfleet-orders-fleet".into()),
            instance,
        }
    }

    /// An instance that is not CURRENT is said with StackSets' reason and what to do; a stack
    /// under its own name gets no such line.
    #[test]
    fn an_instance_not_up_to_date_is_said_with_its_reason() {
        let outdated = of(Some(InstanceStatus {
            status: "OUTDATED".into(),
            detailed_status: Some("CANCELLED".into()),
            reason: Some("Cancelled since failure tolerance has exceeded".into()),
        }));
        assert_eq!(
            outdated.line().unwrap(),
            "stack set qfleet-orders-fleet: instance OUTDATED (last operation CANCELLED: Cancelled since failure tolerance has exceeded), not up to date with the stack set's template (its stack failed, or an operation failed or was stopped before it): deploy the target again"
        );
        let inoperable = of(Some(InstanceStatus {
            status: "INOPERABLE".into(),
            detailed_status: None,
            reason: None,
        }));
        assert!(inoperable.line().unwrap().starts_with(
            "stack set qfleet-orders-fleet: instance INOPERABLE, a deletion (or an import) of the instance failed"
        ));
        assert_eq!(Origin::default().line(), None);
    }
}
