//! Change sets: create one, wait until CloudFormation has computed it, read its changes (with
//! their property values: DescribeChangeSet's `IncludePropertyValues`), execute or delete it.
//! Mutating calls carry client tokens so that a retry after a lost answer is recognised as the
//! same request.

pub(crate) mod details;
pub use details::PropertyChange;

use super::operation_events::{self, Validation};
use super::stacks::client_token;
use crate::Result;
use crate::error::{AwsError, Kind};
use crate::poll::{Pacer, Polling};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    Capability, ChangeAction, ChangeSetStatus, ChangeSetType, DeploymentConfig,
    DeploymentConfigMode, DeploymentMode, Parameter, Replacement, ResourceToImport,
    RollbackConfiguration, RollbackTrigger, Tag,
};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// A parameter value to send, or "keep the deployed one" (CloudFormation's UsePreviousValue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Value(String),
    Previous,
}

/// What to create a change set from.
pub struct Request<'a> {
    pub stack: &'a str,
    pub template: &'a str,
    pub parameters: &'a BTreeMap<String, Param>,
    pub tags: &'a BTreeMap<String, String>,
    /// The service role CloudFormation acts through.
    pub role_arn: Option<&'a str>,
    /// The stack does not exist yet (or only as an unexecuted review stack).
    pub creating: bool,
    /// Import this existing resource instead (an IMPORT change set).
    pub import: Option<Import<'a>>,
    /// Express mode (DeploymentConfig Mode EXPRESS): the operation ends once the resources'
    /// configuration is applied, without waiting for them to stabilise.
    pub express: bool,
    /// A drift-aware change set (DeploymentMode REVERT_DRIFT): compared with the resources'
    /// actual state, it brings drifted resources back to the template. Updates only: a stack
    /// being created has nothing to drift.
    pub revert_drift: bool,
    /// The stack is in CREATE_FAILED or UPDATE_FAILED (an earlier operation failed with
    /// rollback disabled): CloudFormation goes on from there only with rollback disabled
    /// ("Preserve successfully provisioned resources"), so the change set is executed with
    /// DisableRollback. Otherwise rollback stays on, in express mode too.
    pub continue_failed: bool,
    /// The stack's rollback triggers for this update (RollbackConfiguration): `None` sends
    /// none, and CloudFormation keeps the stack's saved ones; an empty list removes them.
    pub rollback: Option<&'a Triggers>,
}

/// Alarms CloudFormation watches during an update, and for `monitoring_minutes` after it,
/// rolling the update back when one goes into ALARM (CreateChangeSet's
/// RollbackConfiguration, "Roll back your CloudFormation stack on alarm breach with rollback
/// triggers",
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-rollback-triggers.html>).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Triggers {
    /// The alarms' ARNs.
    pub alarms: Vec<String>,
    /// 0 to 180.
    pub monitoring_minutes: i32,
}

/// A resource to bring into a stack: its type, logical id and identifying property.
#[derive(Debug, Clone, Copy)]
pub struct Import<'a> {
    pub resource_type: &'a str,
    pub logical_id: &'a str,
    pub identifier: (&'a str, &'a str),
}

/// One resource change of a change set.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Change {
    /// Add, Modify, Remove, Import or Dynamic.
    #[serde(serialize_with = "action_str")]
    #[schemars(with = "String")]
    #[schemars(extend("enum" = ["Add", "Modify", "Remove", "Import", "Dynamic"]))]
    pub action: ChangeAction,
    pub logical_id: String,
    pub resource_type: String,
    /// True, False or Conditional (for Modify).
    #[serde(serialize_with = "replacement_str")]
    #[schemars(with = "Option<String>")]
    #[schemars(extend("enum" = ["True", "False", "Conditional", null]))]
    pub replacement: Option<Replacement>,
    /// What changes on the resource, property by property, with the values before and after.
    /// `None` for a modification CloudFormation did not detail: unknown, not "nothing".
    pub details: Option<Vec<PropertyChange>>,
    /// In a drift-aware change set, the resource's drift (ResourceDriftStatus): `MODIFIED`,
    /// `DELETED`, `IN_SYNC`, `NOT_CHECKED`, `UNKNOWN` or `UNSUPPORTED`. `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<String>,
}

/// Resource types that hold data: replacing or removing one loses what it holds.
pub const STATEFUL_TYPES: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
];

impl Change {
    /// This change would delete a resource that holds data (removal or replacement). A
    /// property that requires recreation counts even when the resource's `Replacement` does not
    /// say so: the stricter of the two answers decides.
    pub fn loses_data(&self) -> bool {
        STATEFUL_TYPES.contains(&self.resource_type.as_str())
            && (self.action == ChangeAction::Remove || self.replaces() != Some(false))
    }

    /// Whether the resource is replaced: `Some(true)` surely, `None` maybe, `Some(false)` not
    /// (as far as the change set says).
    pub fn replaces(&self) -> Option<bool> {
        let by_details: Vec<Option<bool>> = self
            .details
            .iter()
            .flatten()
            .map(|d| d.recreates())
            .collect();
        if self.replacement == Some(Replacement::True) || by_details.contains(&Some(true)) {
            Some(true)
        } else if self.replacement == Some(Replacement::Conditional) || by_details.contains(&None) {
            None
        } else {
            Some(false)
        }
    }
}

fn action_str<S: Serializer>(a: &ChangeAction, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(a.as_str())
}

fn replacement_str<S: Serializer>(
    r: &Option<Replacement>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_some(r.as_str()),
        None => s.serialize_none(),
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
    /// Its pre-deployment validation results (DescribeEvents), once read.
    pub validations: Vec<Validation>,
    /// Why the validation results could not be read, when they could not: unknown, not "none".
    pub validation_unread: Option<crate::Why>,
    /// CloudFormation made it (false: CreateChangeSet was refused because nothing would
    /// change, [`is_nothing_to_update`]; there is nothing to delete).
    pub made: bool,
}

impl ChangeSet {
    /// The empty change set of a CreateChangeSet refused because nothing would change
    /// ([`is_nothing_to_update`]): named by the name it was sent with, as none was made.
    pub fn empty(name: &str, stack: &str) -> ChangeSet {
        ChangeSet {
            made: false,
            ..ChangeSet::new(name, stack, Vec::new(), true)
        }
    }

    /// An empty or computed change set as `computed` returns it, validation not read yet.
    fn new(id: &str, stack: &str, changes: Vec<Change>, empty: bool) -> ChangeSet {
        ChangeSet {
            id: id.to_string(),
            stack: stack.to_string(),
            changes,
            empty,
            validations: Vec::new(),
            validation_unread: None,
            made: true,
        }
    }

    /// Reads the change set's pre-deployment validation results into it.
    pub async fn read_validation(&mut self, cfn: &Client) {
        match operation_events::change_set_validations(cfn, &self.stack, &self.id).await {
            Ok(v) => self.validations = v,
            Err(e) => self.validation_unread = Some(e.into()),
        }
    }

    /// The validation findings to read before executing (failed, not blocking).
    pub fn warnings(&self) -> impl Iterator<Item = &Validation> {
        self.validations.iter().filter(|v| v.warns())
    }
}

/// The name qfleet gives its change sets; `qfleet-` marks them as its own. The time in
/// milliseconds and a count of this process's change sets: two stacks' change sets, prepared
/// at once, never share a name. CloudFormation keys a change set by its stack and name, so a
/// shared name would be harmless there; an endpoint that looks change sets up by name alone
/// across stacks (moto) deleted the other stack's when an interrupted run cleaned up by name.
/// Names are at most 128 characters of letters, digits and hyphens, beginning with a letter
/// (CreateChangeSet,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html>).
pub fn new_name() -> String {
    static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = MADE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!(
        "qfleet-{}-{n}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    )
}

/// Sends CreateChangeSet named `name`; returns its id. Call [`computed`] to wait for it.
pub async fn create(cfn: &Client, req: &Request<'_>, name: &str) -> Result<String> {
    let mut call = cfn
        .create_change_set()
        .stack_name(req.stack)
        .change_set_name(name)
        .change_set_type(match (req.import, req.creating) {
            (Some(_), _) => ChangeSetType::Import,
            (None, true) => ChangeSetType::Create,
            (None, false) => ChangeSetType::Update,
        })
        .template_body(req.template)
        .capabilities(Capability::CapabilityIam)
        .client_token(client_token("cs", req.stack))
        .description(format!("qfleet {}", env!("CARGO_PKG_VERSION")))
        .set_role_arn(req.role_arn.map(str::to_string));
    // Express mode disables rollback unless DisableRollback is sent as false (CloudFormation's
    // express mode page, "Rollback behavior with express mode"): qfleet keeps it on, so a
    // failed express operation rolls back like any other. AWS documents DeploymentConfig for
    // CREATE and UPDATE change sets, not for IMPORT: an import goes in the standard mode.
    if req.express && req.import.is_none() {
        call = call.deployment_config(
            DeploymentConfig::builder()
                .mode(DeploymentConfigMode::Express)
                .disable_rollback(req.continue_failed)
                .build(),
        );
    }
    // Drift-aware change sets roll resources back to their actual state on failure: never on
    // a stack that can only go on with rollback disabled, never for a create or an import.
    if req.revert_drift && !req.creating && req.import.is_none() && !req.continue_failed {
        call = call.deployment_mode(DeploymentMode::RevertDrift);
    }
    // Every trigger is listed each time: a list replaces the stack's saved triggers, and an
    // empty one removes them (RollbackConfiguration's RollbackTriggers,
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackConfiguration.html).
    if let Some(t) = req.rollback {
        let triggers = t
            .alarms
            .iter()
            .map(|arn| {
                RollbackTrigger::builder()
                    .arn(arn)
                    .r#type("AWS::CloudWatch::Alarm")
                    .build()
            })
            .collect::<Vec<_>>();
        call = call.rollback_configuration(
            RollbackConfiguration::builder()
                .set_rollback_triggers(Some(triggers))
                .monitoring_time_in_minutes(t.monitoring_minutes)
                .build(),
        );
    }
    for (k, v) in req.parameters {
        let p = Parameter::builder().parameter_key(k);
        call = call.parameters(match v {
            Param::Value(v) => p.parameter_value(v).build(),
            Param::Previous => p.use_previous_value(true).build(),
        });
    }
    if let Some(i) = req.import {
        call = call.resources_to_import(
            ResourceToImport::builder()
                .resource_type(i.resource_type)
                .logical_resource_id(i.logical_id)
                .resource_identifier(i.identifier.0, i.identifier.1)
                .build(),
        );
    }
    for (k, v) in req.tags {
        call = call.tags(Tag::builder().key(k).value(v).build());
    }
    let created = call
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("creating a change set for {}", req.stack), e))?;
    Ok(created.id().unwrap_or(name).to_string())
}

/// Whether CreateChangeSet was refused because nothing would change: a ValidationError whose
/// message is the one CloudFormation documents for an update that changes nothing ("No updates
/// are to be performed", UpdateStack,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStack.html>).
/// AWS itself creates the change set and fails it with its own reason ([`computed`] reads
/// that as empty); an endpoint that refuses the call with this answer says the same thing.
pub fn is_nothing_to_update(e: &AwsError) -> bool {
    e.code() == Some("ValidationError") && is_no_change_reason(&e.to_string())
}

/// CloudFormation's reasons for a change set that failed because nothing changes.
fn is_no_change_reason(reason: &str) -> bool {
    reason.contains("The submitted information didn't contain changes")
        || reason.contains("No updates are to be performed")
}

/// Change sets are computed in seconds; this bounds a wait at about 10 minutes.
const MAX_POLLS: u32 = 150;

/// Waits until CloudFormation has computed the change set `id` and reads all its changes.
/// A change set that failed because nothing changes is returned empty; one that failed for
/// another reason is deleted and reported.
pub async fn computed(cfn: &Client, stack: &str, id: &str, polling: Polling) -> Result<ChangeSet> {
    let what = format!("reading the change set of {stack}");
    let mut pacer = Pacer::new(polling, MAX_POLLS, &what);
    loop {
        pacer.wait().await?;
        let mut changes = Vec::new();
        let mut status = None;
        let mut reason = String::new();
        let mut pages = cfn
            .describe_change_set()
            .change_set_name(id)
            .stack_name(stack)
            .include_property_values(true)
            .into_paginator()
            .send();
        let mut failed = None;
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    failed = Some(AwsError::from_sdk(&what, e));
                    break;
                }
            };
            status = page.status().cloned();
            reason = page.status_reason().unwrap_or_default().to_string();
            for c in page.changes() {
                if let Some(rc) = c.resource_change() {
                    // The type decides whether a change loses data: a change without one is
                    // not a preview to decide on.
                    let (Some(action), Some(logical), Some(ty)) =
                        (rc.action(), rc.logical_resource_id(), rc.resource_type())
                    else {
                        return Err(AwsError::with_kind(
                            format!("{what}: a change without an action, resource or type"),
                            Kind::Malformed,
                        ));
                    };
                    changes.push(Change {
                        action: action.clone(),
                        logical_id: logical.to_string(),
                        resource_type: ty.to_string(),
                        replacement: rc.replacement().cloned(),
                        details: details::of_change(*action == ChangeAction::Modify, rc.details()),
                        drift: rc.resource_drift_status().map(|d| d.as_str().to_string()),
                    });
                }
            }
            if status != Some(ChangeSetStatus::CreateComplete) {
                break;
            }
        }
        if let Some(e) = failed {
            pacer.failed(e)?;
            continue;
        }
        match status {
            // A computed change set is executable even without resource changes: a template
            // that changes only outputs, a description or parameters (the fingerprint) gives
            // one, and executing it is what records the new template. Only a change set that
            // failed because nothing changed is empty.
            Some(ChangeSetStatus::CreateComplete) => {
                return Ok(ChangeSet::new(id, stack, changes, false));
            }
            Some(ChangeSetStatus::Failed) if is_no_change_reason(&reason) => {
                return Ok(ChangeSet::new(id, stack, Vec::new(), true));
            }
            Some(ChangeSetStatus::Failed) => {
                // A validation in FAIL mode (a property CloudFormation's schema rejects, a
                // name another resource holds) fails the change set: its findings say why.
                let findings = match operation_events::change_set_validations(cfn, stack, id).await
                {
                    Ok(v) => v
                        .iter()
                        .filter(|v| v.status == "FAILED")
                        .map(|v| format!("\n  validation {}", v.describe()))
                        .collect::<String>(),
                    Err(_) => String::new(),
                };
                let _ = delete(cfn, id, stack).await;
                return Err(AwsError::new(format!(
                    "CloudFormation rejected the change set for {stack}: {reason}{findings}"
                )));
            }
            None => {
                return Err(AwsError::with_kind(
                    format!("{what}: the answer has no status"),
                    Kind::Malformed,
                ));
            }
            Some(_) => pacer.answered(),
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
        Err(e) => {
            let e = AwsError::from_sdk(&format!("deleting change set {id} of {stack}"), e);
            if e.is_not_found() { Ok(()) } else { Err(e) }
        }
    }
}

/// The change sets a stack holds (id and name), e.g. those an interrupted run left behind.
pub async fn list(cfn: &Client, stack: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut pages = cfn
        .list_change_sets()
        .stack_name(stack)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|e| AwsError::from_sdk(&format!("listing the change sets of {stack}"), e))?;
        // Only the summaries that name this stack: an entry about another stack is not one of
        // its change sets, whatever the answer lists.
        for s in page
            .summaries()
            .iter()
            .filter(|s| s.stack_name() == Some(stack))
        {
            if let (Some(id), Some(name)) = (s.change_set_id(), s.change_set_name()) {
                out.push((id.to_string(), name.to_string()));
            }
        }
    }
    Ok(out)
}

/// Starts executing a change set; `disable_rollback` for a stack that CloudFormation lets go
/// on from CREATE_FAILED or UPDATE_FAILED only that way.
pub async fn execute(cfn: &Client, cs: &ChangeSet, disable_rollback: bool) -> Result<()> {
    cfn.execute_change_set()
        .change_set_name(&cs.id)
        .stack_name(&cs.stack)
        .set_disable_rollback(disable_rollback.then_some(true))
        .client_request_token(client_token("exec", &cs.stack))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk(&format!("executing the change set of {}", cs.stack), e))
}

#[cfg(test)]
mod names {
    /// Change sets made in the same millisecond (a data stack's and a fleet's, prepared at
    /// once) get names of their own, each one CreateChangeSet accepts.
    #[test]
    fn change_sets_made_at_once_never_share_a_name() {
        let names: std::collections::BTreeSet<String> =
            (0..100).map(|_| super::new_name()).collect();
        assert_eq!(names.len(), 100);
        for n in &names {
            assert!(n.starts_with("qfleet-") && n.len() <= 128, "{n}");
            assert!(
                n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "{n}"
            );
        }
    }
}
