//! What a change set means for data: which changes lose it, and the preview table.

use crate::aws::changesets::Change;
use aws_sdk_cloudformation::types::{ChangeAction, Replacement};

/// Resource types that hold data: replacing or removing one loses what it holds.
pub const STATEFUL_TYPES: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
];

impl Change {
    /// This change would delete a resource that holds data (removal or replacement).
    pub fn loses_data(&self) -> bool {
        STATEFUL_TYPES.contains(&self.resource_type.as_str())
            && (self.action == ChangeAction::Remove
                || matches!(
                    self.replacement,
                    Some(Replacement::True | Replacement::Conditional)
                ))
    }

    pub fn describe_loss(&self) -> String {
        let what = if self.action == ChangeAction::Remove {
            "REMOVES"
        } else if self.replacement == Some(Replacement::Conditional) {
            "MAY REPLACE"
        } else {
            "REPLACES"
        };
        format!(
            "{what} {} ({}): whatever it holds is lost unless its policy retains it",
            self.logical_id, self.resource_type
        )
    }
}

/// What a fleet change set switches: `(from, to)` when it removes one kind of worker and adds
/// the other (`workers.kind` changed in the stack file).
pub fn kind_switch(changes: &[Change]) -> Option<(&'static str, &'static str)> {
    let has = |action: ChangeAction, ty: &str| {
        changes
            .iter()
            .any(|c| c.action == action && c.resource_type == ty)
    };
    const GROUP: &str = "AWS::AutoScaling::AutoScalingGroup";
    const FUNCTION: &str = "AWS::Lambda::Function";
    if has(ChangeAction::Remove, GROUP) && has(ChangeAction::Add, FUNCTION) {
        Some(("ec2", "lambda"))
    } else if has(ChangeAction::Remove, FUNCTION) && has(ChangeAction::Add, GROUP) {
        Some(("lambda", "ec2"))
    } else {
        None
    }
}

/// How a switch of worker kind happens, for the preview.
pub fn describe_switch(from: &str, to: &str) -> String {
    let (new, old) = match to {
        "lambda" => (
            "the function and its queue mapping",
            "the Auto Scaling group (its instances drain through the lifecycle hook; a message a worker held becomes visible again)",
        ),
        _ => (
            "the Auto Scaling group (its first instances signal once their worker reached the queue)",
            "the queue mapping and the function (a batch in flight finishes or becomes visible again)",
        ),
    };
    format!(
        "workers switch from {from} to {to}: CloudFormation first creates {new}; then, in its cleanup phase, it removes {old}. The queue keeps every waiting message meanwhile"
    )
}

/// The preview table of a change set.
pub fn table(changes: &[Change]) -> String {
    let rows = changes.iter().map(|c| {
        let action = match c.action {
            ChangeAction::Add => "+ add",
            ChangeAction::Modify => "~ modify",
            ChangeAction::Remove => "- remove",
            ref other => other.as_str(),
        };
        let replacement = match c.replacement {
            Some(Replacement::True) => "REPLACE",
            Some(Replacement::Conditional) => "maybe replace",
            _ => "",
        };
        vec![
            action.to_string(),
            c.logical_id.clone(),
            c.resource_type.clone(),
            replacement.to_string(),
        ]
    });
    crate::output::table(&["action", "resource", "type", "replacement"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: &str, ty: &str, replacement: Option<&str>) -> Change {
        Change {
            action: ChangeAction::from(action),
            logical_id: "X".into(),
            resource_type: ty.into(),
            replacement: replacement.map(Replacement::from),
        }
    }

    #[test]
    fn a_change_of_worker_kind_is_named_both_ways() {
        let to_lambda = [
            change("Remove", "AWS::AutoScaling::AutoScalingGroup", None),
            change("Add", "AWS::Lambda::Function", None),
            change("Add", "AWS::Lambda::EventSourceMapping", None),
        ];
        assert_eq!(kind_switch(&to_lambda), Some(("ec2", "lambda")));
        let to_ec2 = [
            change("Add", "AWS::AutoScaling::AutoScalingGroup", None),
            change("Remove", "AWS::Lambda::Function", None),
        ];
        assert_eq!(kind_switch(&to_ec2), Some(("lambda", "ec2")));
        let update = [change("Modify", "AWS::Lambda::Function", None)];
        assert_eq!(kind_switch(&update), None);
        assert!(describe_switch("ec2", "lambda").contains("first creates the function"));
    }

    #[test]
    fn only_removing_or_replacing_a_stateful_resource_loses_data() {
        assert!(change("Remove", "AWS::SQS::Queue", None).loses_data());
        assert!(change("Modify", "AWS::S3::Bucket", Some("True")).loses_data());
        assert!(change("Modify", "AWS::KMS::Key", Some("Conditional")).loses_data());
        assert!(!change("Modify", "AWS::SQS::Queue", Some("False")).loses_data());
        assert!(!change("Add", "AWS::SQS::Queue", None).loses_data());
        assert!(!change("Remove", "AWS::AutoScaling::AutoScalingGroup", None).loses_data());
    }

    #[test]
    fn the_preview_marks_replacements() {
        let t = table(&[
            change("Add", "AWS::SNS::Topic", None),
            change("Modify", "AWS::SQS::Queue", Some("True")),
        ]);
        assert!(
            t.contains("+ add") && t.contains("~ modify") && t.contains("REPLACE"),
            "{t}"
        );
    }
}
