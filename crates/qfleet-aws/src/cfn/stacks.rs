//! CloudFormation stacks as qfleet sees them: state, resources, template; and the calls
//! that change a stack as a whole (delete, termination protection, continue a rollback).

use crate::Result;
use crate::error::{AwsError, Kind};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{ResourceStatus, Stack, StackStatus};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// A stack's (or a stack set's) parameters by key. A parameter without a value is left out
/// (absent, never ""): a desired value of "" would otherwise match what was not read, and a
/// deploy find nothing to change.
pub(super) fn parameters_of(
    p: &[aws_sdk_cloudformation::types::Parameter],
) -> BTreeMap<String, String> {
    p.iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_string(),
                p.parameter_value()?.to_string(),
            ))
        })
        .collect()
}

/// A stack's (or a stack set's) tags by key; a tag without its key or value is left out.
pub(super) fn tags_of(t: &[aws_sdk_cloudformation::types::Tag]) -> BTreeMap<String, String> {
    t.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

/// Serializes an SDK enum by its AWS name (`CREATE_COMPLETE`).
pub(super) fn as_aws_str<S: Serializer, T: AsAwsStr>(
    v: &T,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(v.aws_str())
}

/// SDK enums that have an AWS name.
pub(super) trait AsAwsStr {
    fn aws_str(&self) -> &str;
}

impl AsAwsStr for StackStatus {
    fn aws_str(&self) -> &str {
        self.as_str()
    }
}

impl AsAwsStr for ResourceStatus {
    fn aws_str(&self) -> &str {
        self.as_str()
    }
}

/// What DescribeStacks says about one stack.
#[derive(Debug, Clone, Serialize)]
pub struct StackState {
    pub name: String,
    id: String,
    #[serde(serialize_with = "as_aws_str")]
    pub status: StackStatus,
    pub status_reason: Option<String>,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    /// Whether DeleteStack is refused; `None` when DescribeStacks' answer did not say (the
    /// element is optional in the `Stack` type: "Required: No",
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Stack.html), which
    /// is unknown, not off.
    pub termination_protection: Option<bool>,
    /// Last update (or creation) time, RFC 3339.
    pub last_updated: Option<String>,
}

impl StackState {
    /// A state read from AWS; an answer without a name or status is malformed.
    fn from_sdk(s: &Stack) -> std::result::Result<StackState, String> {
        let name = s.stack_name().ok_or("a stack without a name")?.to_string();
        let status = s
            .stack_status()
            .ok_or_else(|| format!("stack {name} without a status"))?
            .clone();
        Ok(StackState {
            // StackId is always in AWS's answer; without it the stack cannot be told from
            // another of the same name (a deleted one's id differs), so it is not read.
            id: s
                .stack_id()
                .ok_or_else(|| format!("stack {name} without an id"))?
                .to_string(),
            status,
            status_reason: s.stack_status_reason().map(str::to_string),
            // A parameter without a value is left out (absent, never ""): a desired value of ""
            // would otherwise match what was not read, and the deploy find nothing to change.
            parameters: parameters_of(s.parameters()),
            tags: tags_of(s.tags()),
            outputs: s
                .outputs()
                .iter()
                // An output without a value is left out (read as absent, never as ""):
                // `outputs --shell` would otherwise hand a pipeline an empty queue URL.
                .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
                .collect(),
            termination_protection: s.enable_termination_protection(),
            last_updated: s
                .last_updated_time()
                .or(s.creation_time())
                .map(|t| t.to_string()),
            name,
        })
    }

    /// A state for tests and hand-built snapshots.
    #[cfg(any(test, feature = "test-util"))]
    pub fn new(name: &str, status: StackStatus) -> StackState {
        StackState {
            name: name.to_string(),
            id: format!("arn:aws:cloudformation:eu-west-1:123456789012:stack/{name}/1"),
            status,
            status_reason: None,
            parameters: BTreeMap::new(),
            tags: BTreeMap::new(),
            outputs: BTreeMap::new(),
            termination_protection: Some(false),
            last_updated: None,
        }
    }

    /// An operation is running on the stack; nothing else can start until it ends.
    pub fn in_progress(&self) -> bool {
        self.status.as_str().ends_with("_IN_PROGRESS") && !self.is_review()
    }

    /// The status of a stack whose last operation ended, for better or worse.
    pub(super) fn is_terminal(&self) -> bool {
        !self.in_progress()
    }

    /// Created by a change set that was never executed: the stack holds no resources.
    pub fn is_review(&self) -> bool {
        self.status == StackStatus::ReviewInProgress
    }

    /// Its creation failed and was rolled back: every resource it created is gone (except those
    /// a Retain policy kept, which the stack no longer owns).
    pub fn is_failed_create(&self) -> bool {
        self.status == StackStatus::RollbackComplete
    }

    /// The last operation failed with rollback disabled (CREATE_FAILED, UPDATE_FAILED): the
    /// stack keeps what was provisioned, and CloudFormation goes on from here only with
    /// rollback disabled, by RollbackStack, or by deleting it (CloudFormation's "Choose how to
    /// handle failures when provisioning resources").
    pub fn is_failed_without_rollback(&self) -> bool {
        matches!(
            self.status,
            StackStatus::CreateFailed | StackStatus::UpdateFailed
        )
    }

    /// The last operation ended in a state that says what is deployed: completed, or rolled
    /// back to the last good state. Only from here can an unchanged template mean "no
    /// changes".
    pub fn is_stable(&self) -> bool {
        self.is_complete()
            || matches!(
                self.status,
                StackStatus::UpdateRollbackComplete | StackStatus::ImportRollbackComplete
            )
    }

    /// The last create or update succeeded.
    pub fn is_complete(&self) -> bool {
        matches!(
            self.status,
            StackStatus::CreateComplete | StackStatus::UpdateComplete | StackStatus::ImportComplete
        )
    }

    /// States a change set cannot start from and qfleet does not repair by itself.
    pub fn is_stuck(&self) -> bool {
        matches!(
            self.status,
            StackStatus::RollbackFailed
                | StackStatus::DeleteFailed
                | StackStatus::ImportRollbackFailed
        )
    }

    /// The account the stack lives in, from its ARN.
    pub fn account(&self) -> Option<&str> {
        self.id.split(':').nth(4).filter(|a| !a.is_empty())
    }
}

/// The stack, or `None` when it does not exist (or was deleted).
pub async fn describe(cfn: &Client, name: &str) -> Result<Option<StackState>> {
    match cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => {
            let Some(s) = out.stacks().first() else {
                return Err(AwsError::with_kind(
                    format!("describing stack {name}: the answer lists no stack"),
                    Kind::Malformed,
                ));
            };
            let state = StackState::from_sdk(s).map_err(|why| {
                AwsError::with_kind(
                    format!("describing stack {name}: {why} in the answer"),
                    Kind::Malformed,
                )
            })?;
            Ok(Some(state).filter(|s| s.status != StackStatus::DeleteComplete))
        }
        Err(e) => {
            let e = AwsError::from_sdk(&format!("describing stack {name}"), e);
            e.into_absent()
        }
    }
}

/// The names of every stack in the account and region whose name starts with `prefix`
/// (deleted ones left out): ListStacks, a page at a time, as AWS advises rather than
/// DescribeStacks without a name, which "describes all resources in the account, which can
/// impact performance"
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html>,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStacks.html>).
/// A page that cannot be read is an error: never fewer stacks.
pub async fn names(cfn: &Client, prefix: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut pages = cfn.list_stacks().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("listing the stacks", e))?;
        for s in page.stack_summaries() {
            let deleted = s.stack_status() == Some(&StackStatus::DeleteComplete);
            match s.stack_name() {
                Some(name) if !deleted && name.starts_with(prefix) => out.push(name.to_string()),
                _ => {}
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// One resource of a stack.
#[derive(Debug, Clone, Serialize)]
pub struct StackResource {
    pub logical_id: String,
    /// Empty until CloudFormation has created it.
    pub physical_id: Option<String>,
    pub resource_type: String,
    #[serde(serialize_with = "as_aws_str")]
    pub status: ResourceStatus,
    pub reason: Option<String>,
}

impl StackResource {
    /// The stack owns a live resource: created (or being changed), not deleted or skipped.
    pub fn is_live(&self) -> bool {
        self.physical_id.is_some()
            && !matches!(
                self.status,
                ResourceStatus::DeleteComplete | ResourceStatus::DeleteSkipped
            )
    }
}

/// Every resource of a stack by logical id (ListStackResources, all pages); `None` when the stack
/// does not exist. An entry without a logical id, type or status makes the answer malformed.
pub async fn resources(
    cfn: &Client,
    stack: &str,
) -> Result<Option<BTreeMap<String, StackResource>>> {
    let what = format!("listing the resources of {stack}");
    let mut pages = cfn
        .list_stack_resources()
        .stack_name(stack)
        .into_paginator()
        .send();
    let mut out = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                let e = AwsError::from_sdk(&what, e);
                return e.into_absent();
            }
        };
        for r in page.stack_resource_summaries() {
            let (Some(logical), Some(status)) = (r.logical_resource_id(), r.resource_status())
            else {
                return Err(AwsError::with_kind(
                    format!("{what}: an entry without a logical id or status"),
                    Kind::Malformed,
                ));
            };
            out.insert(
                logical.to_string(),
                StackResource {
                    logical_id: logical.to_string(),
                    physical_id: r
                        .physical_resource_id()
                        .filter(|id| !id.is_empty() && *id != "None" && *id != "unknown")
                        .map(str::to_string),
                    resource_type: r.resource_type().unwrap_or_default().to_string(),
                    status: status.clone(),
                    reason: r.resource_status_reason().map(str::to_string),
                },
            );
        }
    }
    Ok(Some(out))
}

/// The template body CloudFormation holds for the stack (`None`: no such stack).
pub async fn template(cfn: &Client, stack: &str) -> Result<Option<String>> {
    match cfn.get_template().stack_name(stack).send().await {
        Ok(t) => match t.template_body() {
            Some(b) if !b.trim().is_empty() => Ok(Some(b.to_string())),
            _ => Err(AwsError::with_kind(
                format!("reading the template of {stack}: the answer has no template body"),
                Kind::Malformed,
            )),
        },
        Err(e) => {
            let e = AwsError::from_sdk(&format!("reading the template of {stack}"), e);
            e.into_absent()
        }
    }
}

/// A token that makes a retried mutating call recognisable to CloudFormation as the same
/// request (ClientRequestToken / ClientToken: letters, digits and dashes, ≤ 128 characters).
pub(super) fn client_token(action: &str, stack: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut t = format!("qfleet-{action}-{stack}-{nanos:x}");
    t.truncate(128);
    t
}

/// Starts deleting a stack, keeping `retain` (logical ids; only for a stack in DELETE_FAILED),
/// through the service role when the stack file names one.
pub async fn delete(
    cfn: &Client,
    stack: &str,
    retain: &[String],
    service_role: Option<&str>,
) -> Result<()> {
    cfn.delete_stack()
        .stack_name(stack)
        .set_retain_resources((!retain.is_empty()).then(|| retain.to_vec()))
        .set_role_arn(service_role.map(str::to_string))
        .client_request_token(client_token("delete", stack))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk(&format!("deleting {stack}"), e))
}

/// Turns termination protection on or off.
pub async fn set_termination_protection(cfn: &Client, stack: &str, on: bool) -> Result<()> {
    cfn.update_termination_protection()
        .stack_name(stack)
        .enable_termination_protection(on)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            AwsError::from_sdk(
                &format!(
                    "turning termination protection of {stack} {}",
                    if on { "on" } else { "off" }
                ),
                e,
            )
        })
}

/// Continues a rollback that failed (UPDATE_ROLLBACK_FAILED).
pub async fn continue_update_rollback(
    cfn: &Client,
    stack: &str,
    service_role: Option<&str>,
) -> Result<()> {
    cfn.continue_update_rollback()
        .stack_name(stack)
        .set_role_arn(service_role.map(str::to_string))
        .client_request_token(client_token("continue", stack))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk(&format!("continuing the rollback of {stack}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::Output;

    /// DescribeStacks' `Output` has an optional `OutputValue` ("Required: No",
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Output.html): an
    /// output without one is absent, not an empty string, and protection not in the answer is
    /// unknown.
    #[test]
    fn an_output_without_a_value_is_absent_and_unsaid_protection_unknown() {
        let s = Stack::builder()
            .stack_name("qfleet-lab-data")
            .stack_id("arn:aws:cloudformation:eu-west-1:111122223333:stack/qfleet-lab-data/1")
            .stack_status(StackStatus::CreateComplete)
            .outputs(
                Output::builder()
                    .output_key("QueueUrl")
                    .output_value("https://sqs/q")
                    .build(),
            )
            .outputs(Output::builder().output_key("BucketName").build())
            .build();
        let st = StackState::from_sdk(&s).unwrap();
        assert_eq!(
            st.outputs.get("QueueUrl").map(String::as_str),
            Some("https://sqs/q")
        );
        assert!(!st.outputs.contains_key("BucketName"));
        assert_eq!(st.termination_protection, None);
    }

    /// `Parameter.ParameterValue` is optional too ("Required: No",
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Parameter.html):
    /// a parameter without one is absent, so that a desired "" never matches what was not read.
    #[test]
    fn a_parameter_without_a_value_is_absent_not_empty() {
        use aws_sdk_cloudformation::types::Parameter;
        let s = Stack::builder()
            .stack_name("qfleet-lab-data")
            .stack_id("arn:aws:cloudformation:eu-west-1:111122223333:stack/qfleet-lab-data/1")
            .stack_status(StackStatus::CreateComplete)
            .parameters(
                Parameter::builder()
                    .parameter_key("Fingerprint")
                    .parameter_value("abc")
                    .build(),
            )
            .parameters(Parameter::builder().parameter_key("Prefix").build())
            .build();
        let st = StackState::from_sdk(&s).unwrap();
        assert_eq!(
            st.parameters.get("Fingerprint").map(String::as_str),
            Some("abc")
        );
        assert!(!st.parameters.contains_key("Prefix"));
    }
}
