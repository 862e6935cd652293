//! Events read per operation (DescribeEvents): the failures of one stack operation, and the
//! pre-deployment validation results of a change set.
//!
//! AWS documents DescribeEvents as grouping events by operation id (every create, update,
//! rollback and change-set creation is one), with `Filters.FailedEvents` returning only the
//! failed ones, and as the place where a change set's early validations report: each
//! validation event names the check (`ValidationName`), its outcome (`ValidationStatus`:
//! FAILED or SKIPPED), its mode (`ValidationFailureMode`: FAIL blocks the change set, WARN
//! lets it be executed) and the template path it is about (`ValidationPath`).
//!
//! Both reads are additions to what the stack events already say, so they are given a short
//! retry budget; a caller that cannot read them says so (validation) or falls back to the
//! stack's events (failures).

use super::stack_events::ResourceEvent;
use crate::Result;
use crate::error::AwsError;
use aws_config::retry::RetryConfig;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::describe_events::builders::DescribeEventsFluentBuilder;
use aws_sdk_cloudformation::types::{EventFilter, OperationEvent, ResourceStatus};
use serde::Serialize;
use std::time::Duration;

/// One retry: these reads add detail to a report that stands without them.
fn short_retries() -> aws_sdk_cloudformation::config::Builder {
    aws_sdk_cloudformation::config::Builder::default().retry_config(
        RetryConfig::standard()
            .with_max_attempts(2)
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(1)),
    )
}

/// One pre-deployment validation result of a change set.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Validation {
    /// The check, as CloudFormation names it (e.g. a bucket-emptiness or a quota check).
    pub name: String,
    /// `FAILED` or `SKIPPED`.
    pub status: String,
    /// `FAIL` (the change set cannot be executed) or `WARN` (it can; read this first).
    pub mode: Option<String>,
    pub reason: Option<String>,
    /// Where in the template, e.g. `/Resources/Bucket/Properties/BucketName`.
    pub path: Option<String>,
    pub logical_id: Option<String>,
    pub resource_type: Option<String>,
}

impl Validation {
    fn from_sdk(e: &OperationEvent) -> Option<Validation> {
        let status = e.validation_status()?.as_str().to_string();
        Some(Validation {
            name: e
                .validation_name()
                .unwrap_or("a validation CloudFormation did not name")
                .to_string(),
            status,
            mode: e.validation_failure_mode().map(|m| m.as_str().to_string()),
            reason: e.validation_status_reason().map(str::to_string),
            path: e.validation_path().map(str::to_string),
            logical_id: e.logical_resource_id().map(str::to_string),
            resource_type: e.resource_type().map(str::to_string),
        })
    }

    /// The change set cannot be executed because of it.
    fn blocks(&self) -> bool {
        self.status == "FAILED" && self.mode.as_deref() == Some("FAIL")
    }

    /// A finding to read before executing: failed, not blocking.
    pub(super) fn warns(&self) -> bool {
        self.status == "FAILED" && !self.blocks()
    }

    /// `bucket emptiness (Bucket, /Resources/Bucket): the bucket holds objects`.
    pub fn describe(&self) -> String {
        let mut at = Vec::new();
        if let Some(l) = &self.logical_id {
            at.push(l.as_str());
        }
        if let Some(p) = &self.path {
            at.push(p.as_str());
        }
        let mut out = self.name.clone();
        if !at.is_empty() {
            out.push_str(&format!(" ({})", at.join(", ")));
        }
        out.push_str(": ");
        out.push_str(self.reason.as_deref().unwrap_or("no reason given"));
        out
    }
}

/// Every event DescribeEvents lists for the request `ask` builds, page by page.
async fn all_events(
    cfn: &Client,
    what: &str,
    ask: impl Fn(DescribeEventsFluentBuilder) -> DescribeEventsFluentBuilder,
) -> Result<Vec<OperationEvent>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ask(cfn.describe_events())
            .set_next_token(token.take())
            .customize()
            .config_override(short_retries())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(what, e))?;
        out.extend(page.operation_events().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// The validation results of the change set `change_set` (its id) of `stack`: every event
/// that carries a validation status.
pub(super) async fn change_set_validations(
    cfn: &Client,
    stack: &str,
    change_set: &str,
) -> Result<Vec<Validation>> {
    let what = format!("reading the pre-deployment validation of {stack}'s change set");
    let events = all_events(cfn, &what, |b| {
        b.stack_name(stack).change_set_name(change_set)
    })
    .await?;
    Ok(events.iter().filter_map(Validation::from_sdk).collect())
}

/// The failed events of the stack operation `operation` (an operation id), oldest first, as
/// resource events. Empty when CloudFormation lists none.
pub async fn failures_of(cfn: &Client, stack: &str, operation: &str) -> Result<Vec<ResourceEvent>> {
    let what = format!("reading the failures of {stack}'s operation {operation}");
    let mut events = all_events(cfn, &what, |b| {
        b.stack_name(stack)
            .operation_id(operation)
            .filters(EventFilter::builder().failed_events(true).build())
    })
    .await?;
    // The order of the answer is not documented: oldest first, as the stack events are read.
    events.sort_by_key(|e| e.timestamp().or(e.start_time()).copied());
    Ok(events.iter().map(|e| as_resource_event(e, stack)).collect())
}

fn as_resource_event(e: &OperationEvent, stack: &str) -> ResourceEvent {
    // A validation or hook failure has no resource status: its reason is the one to show.
    let reason = e
        .resource_status_reason()
        .or(e.validation_status_reason())
        .or(e.hook_status_reason())
        .map(str::to_string);
    let status = e.resource_status().cloned().unwrap_or_else(|| {
        ResourceStatus::from(match e.event_type().map(|t| t.as_str()) {
            Some("VALIDATION_ERROR") => "VALIDATION_FAILED",
            Some("HOOK_INVOCATION_ERROR") => "HOOK_FAILED",
            _ => "OPERATION_FAILED",
        })
    });
    ResourceEvent {
        event_id: e.event_id().unwrap_or_default().to_string(),
        stack: stack.to_string(),
        logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
        resource_type: e.resource_type().unwrap_or_default().to_string(),
        status,
        reason,
        timestamp: e
            .timestamp()
            .or(e.start_time())
            .map(|t| t.to_string())
            .unwrap_or_default(),
        operation_id: e.operation_id().map(str::to_string),
    }
}

/// The operation a followed create, update or import ran as: the operation id of the stack's
/// own event that started it. Earlier events belong to other operations (the change set's
/// creation: REVIEW_IN_PROGRESS), later ones may belong to the rollback it triggered.
pub fn operation_of(events: &[ResourceEvent]) -> Option<&str> {
    events
        .iter()
        .find(|e| {
            e.is_stack_event()
                && matches!(
                    e.status.as_str(),
                    "CREATE_IN_PROGRESS" | "UPDATE_IN_PROGRESS" | "IMPORT_IN_PROGRESS"
                )
        })
        .and_then(|e| e.operation_id.as_deref())
}
