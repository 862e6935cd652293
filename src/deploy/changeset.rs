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
