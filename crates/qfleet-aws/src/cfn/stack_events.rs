//! A stack's events: what each resource did during an operation, and the root cause of a failure.

use super::stacks::as_aws_str;
use crate::Result;
use crate::error::AwsError;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{ResourceStatus, StackEvent};
use serde::Serialize;

/// One resource event, as printed while a stack operation runs.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ResourceEvent {
    pub event_id: String,
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    /// As CloudFormation names it (`CREATE_COMPLETE`, `UPDATE_FAILED`, …).
    #[serde(serialize_with = "as_aws_str")]
    #[schemars(with = "String")]
    pub status: ResourceStatus,
    pub reason: Option<String>,
    pub timestamp: String,
    /// The stack operation the event belongs to (CREATE_STACK, UPDATE_STACK, ROLLBACK, …), where
    /// CloudFormation reports it: DescribeEvents reads one operation's events by this id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
}

impl ResourceEvent {
    fn from_sdk(e: &StackEvent) -> ResourceEvent {
        ResourceEvent {
            event_id: e.event_id().unwrap_or_default().to_string(),
            stack: e.stack_name().unwrap_or_default().to_string(),
            logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
            resource_type: e.resource_type().unwrap_or_default().to_string(),
            status: e
                .resource_status()
                .cloned()
                .unwrap_or_else(|| ResourceStatus::from("UNKNOWN")),
            reason: e.resource_status_reason().map(str::to_string),
            timestamp: e.timestamp().map(|t| t.to_string()).unwrap_or_default(),
            operation_id: e.operation_id().map(str::to_string),
        }
    }

    /// The stack's own event (not a resource's).
    pub fn is_stack_event(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }

    pub fn is_failure(&self) -> bool {
        self.status.as_str().ends_with("_FAILED")
    }

    /// CloudFormation kept the resource when deleting (DeletionPolicy Retain, or RetainResources).
    pub fn is_delete_skipped(&self) -> bool {
        self.status == ResourceStatus::DeleteSkipped
    }
}

/// Events newer than `seen` (an event id), oldest first. Reads pages until it reaches `seen`;
/// without a marker, one page (the newest events) is enough.
pub async fn events_since(
    cfn: &Client,
    stack: &str,
    seen: Option<&str>,
) -> Result<Vec<ResourceEvent>> {
    let mut newest_first = Vec::new();
    let mut pages = cfn
        .describe_stack_events()
        .stack_name(stack)
        .into_paginator()
        .send();
    'pages: while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::from_sdk(&format!("reading the events of {stack}"), e))?;
        for e in page.stack_events() {
            if seen.is_some() && e.event_id() == seen {
                break 'pages;
            }
            newest_first.push(ResourceEvent::from_sdk(e));
        }
        if seen.is_none() {
            break;
        }
    }
    newest_first.reverse();
    Ok(newest_first)
}

/// The id of the newest event, used as the starting mark before an operation.
pub async fn newest_event_id(cfn: &Client, stack: &str) -> Result<Option<String>> {
    let out = cfn
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("reading the events of {stack}"), e))?;
    Ok(out
        .stack_events()
        .first()
        .and_then(|e| e.event_id())
        .map(str::to_string))
}

/// The first failure among `events` (oldest first): the resource whose failure started it all,
/// skipping the "cancelled" echoes of other resources.
pub fn root_cause(events: &[ResourceEvent]) -> Option<&ResourceEvent> {
    let failed = |e: &&ResourceEvent| e.is_failure() && !e.is_stack_event();
    let cancelled = |e: &&ResourceEvent| {
        e.reason
            .as_deref()
            .is_some_and(|r| r.contains("cancelled") || r.contains("canceled"))
    };
    events
        .iter()
        .find(|e| failed(e) && !cancelled(e))
        .or_else(|| events.iter().find(failed))
}
