//! Change sets: create one for the desired stack, wait for it, read its changes, delete it.

use super::desired::{DesiredStack, Param};
use crate::aws::{error_code, sdk_error};
use crate::error::{Error, Result};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, Tag};
use serde::Serialize;
use std::time::Duration;

/// Resource types that hold data: replacing or removing one loses what it holds.
pub const STATEFUL_TYPES: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
];

/// One resource change of a change set.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change {
    /// Add, Modify, Remove, Import or Dynamic.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// True, False or Conditional (for Modify).
    pub replacement: Option<String>,
}

impl Change {
    /// This change would delete a resource that holds data (removal or replacement).
    pub fn loses_data(&self) -> bool {
        STATEFUL_TYPES.contains(&self.resource_type.as_str())
            && (self.action == "Remove"
                || matches!(self.replacement.as_deref(), Some("True" | "Conditional")))
    }

    pub fn describe_loss(&self) -> String {
        let what = if self.action == "Remove" {
            "REMOVES"
        } else if self.replacement.as_deref() == Some("Conditional") {
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

/// A created change set and what it would do.
#[derive(Debug, Clone)]
pub struct ChangeSet {
    pub id: String,
    pub stack: String,
    pub changes: Vec<Change>,
    /// CloudFormation found nothing to change.
    pub empty: bool,
}

fn is_no_change_reason(reason: &str) -> bool {
    reason.contains("didn't contain changes")
        || reason.contains("No updates are to be performed")
        || reason.contains("no changes")
}

/// Creates a change set for `desired` and waits until CloudFormation has computed it.
pub async fn create(
    cfn: &Client,
    desired: &DesiredStack,
    kind: ChangeSetType,
    poll: Duration,
) -> Result<ChangeSet> {
    let name = format!(
        "qfleet-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    );
    let mut req = cfn
        .create_change_set()
        .stack_name(&desired.name)
        .change_set_name(&name)
        .change_set_type(kind)
        .template_body(&desired.template)
        .capabilities(Capability::CapabilityIam)
        .description(format!("qfleet {}", env!("CARGO_PKG_VERSION")));
    for (k, v) in &desired.parameters {
        let p = Parameter::builder().parameter_key(k);
        req = req.parameters(match v {
            Param::Value(v) => p.parameter_value(v).build(),
            Param::Previous => p.use_previous_value(true).build(),
        });
    }
    for (k, v) in &desired.tags {
        req = req.tags(Tag::builder().key(k).value(v).build());
    }
    if let Some(role) = &desired.role_arn {
        req = req.role_arn(role);
    }
    let created = req
        .send()
        .await
        .map_err(|e| sdk_error(&format!("creating a change set for {}", desired.name), e))?;
    let id = created.id().unwrap_or(&name).to_string();

    let mut delay = poll.min(Duration::from_millis(500));
    loop {
        let mut changes = Vec::new();
        let mut token: Option<String> = None;
        let (status, reason) = loop {
            let out = match cfn
                .describe_change_set()
                .change_set_name(&id)
                .stack_name(&desired.name)
                .set_next_token(token.clone())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    return Err(sdk_error(
                        &format!("reading change set {name} of {}", desired.name),
                        e,
                    ));
                }
            };
            for c in out.changes() {
                if let Some(rc) = c.resource_change() {
                    changes.push(Change {
                        action: rc
                            .action()
                            .map(|a| a.as_str().to_string())
                            .unwrap_or_default(),
                        logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                        resource_type: rc.resource_type().unwrap_or_default().to_string(),
                        replacement: rc.replacement().map(|r| r.as_str().to_string()),
                    });
                }
            }
            let status = out
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            let reason = out.status_reason().unwrap_or_default().to_string();
            match out.next_token() {
                Some(t) if status == "CREATE_COMPLETE" => token = Some(t.to_string()),
                _ => break (status, reason),
            }
        };
        match status.as_str() {
            "CREATE_COMPLETE" => {
                let empty = changes.is_empty();
                return Ok(ChangeSet {
                    id,
                    stack: desired.name.clone(),
                    changes,
                    empty,
                });
            }
            "FAILED" if is_no_change_reason(&reason) => {
                return Ok(ChangeSet {
                    id,
                    stack: desired.name.clone(),
                    changes: Vec::new(),
                    empty: true,
                });
            }
            "FAILED" => {
                let _ = delete(cfn, &id, &desired.name).await;
                return Err(Error::Aws(format!(
                    "CloudFormation rejected the change set for {}: {reason}",
                    desired.name
                )));
            }
            _ => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Deletes a change set that will not be executed. A change set that is already gone is fine.
pub async fn delete(cfn: &Client, id: &str, stack: &str) -> Result<()> {
    match cfn
        .delete_change_set()
        .change_set_name(id)
        .stack_name(stack)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e).as_deref() == Some("ChangeSetNotFound") => Ok(()),
        Err(e) => Err(sdk_error(
            &format!("deleting change set {id} of {stack}"),
            e,
        )),
    }
}

/// Starts executing a change set.
pub async fn execute(cfn: &Client, cs: &ChangeSet) -> Result<()> {
    cfn.execute_change_set()
        .change_set_name(&cs.id)
        .stack_name(&cs.stack)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error(&format!("executing the change set of {}", cs.stack), e))
}

/// The preview table of a change set.
pub fn table(changes: &[Change]) -> String {
    let rows = changes.iter().map(|c| {
        let action = match c.action.as_str() {
            "Add" => "+ add",
            "Modify" => "~ modify",
            "Remove" => "- remove",
            other => other,
        };
        let replacement = match c.replacement.as_deref() {
            Some("True") => "REPLACE",
            Some("Conditional") => "maybe replace",
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
            action: action.into(),
            logical_id: "X".into(),
            resource_type: ty.into(),
            replacement: replacement.map(str::to_string),
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
