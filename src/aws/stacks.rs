//! CloudFormation stacks as qfleet sees them: their state, events and outputs.

use super::{error_code, error_message, sdk_error};
use crate::error::Result;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Stack, StackEvent};
use serde::Serialize;
use std::collections::BTreeMap;

/// What DescribeStacks says about one stack.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StackState {
    pub name: String,
    pub id: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    pub termination_protection: bool,
    /// Last update (or creation) time, RFC 3339.
    pub last_updated: Option<String>,
}

impl StackState {
    fn from_sdk(s: &Stack) -> StackState {
        StackState {
            name: s.stack_name().unwrap_or_default().to_string(),
            id: s.stack_id().unwrap_or_default().to_string(),
            status: s
                .stack_status()
                .map(|x| x.as_str().to_string())
                .unwrap_or_default(),
            status_reason: s.stack_status_reason().map(str::to_string),
            parameters: s
                .parameters()
                .iter()
                .filter_map(|p| {
                    Some((
                        p.parameter_key()?.to_string(),
                        p.parameter_value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
            tags: s
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect(),
            outputs: s
                .outputs()
                .iter()
                .filter_map(|o| {
                    Some((
                        o.output_key()?.to_string(),
                        o.output_value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
            termination_protection: s.enable_termination_protection().unwrap_or(false),
            last_updated: s
                .last_updated_time()
                .or(s.creation_time())
                .map(|t| t.to_string()),
        }
    }

    /// An operation is running on the stack; nothing else can start until it ends.
    pub fn in_progress(&self) -> bool {
        self.status.ends_with("_IN_PROGRESS") && self.status != "REVIEW_IN_PROGRESS"
    }

    /// The status of a stack whose last operation ended, for better or worse.
    pub fn is_terminal(&self) -> bool {
        !self.status.ends_with("_IN_PROGRESS") || self.status == "REVIEW_IN_PROGRESS"
    }
}

/// The stack, or `None` when it does not exist (or was deleted).
pub async fn describe(cfn: &Client, name: &str) -> Result<Option<StackState>> {
    match cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => Ok(out
            .stacks()
            .first()
            .map(StackState::from_sdk)
            .filter(|s| s.status != "DELETE_COMPLETE")),
        Err(e) => {
            let missing = error_code(&e).as_deref() == Some("ValidationError")
                && error_message(&e).is_some_and(|m| m.contains("does not exist"));
            if missing {
                Ok(None)
            } else {
                Err(sdk_error(&format!("describing stack {name}"), e))
            }
        }
    }
}

/// The environment's two stacks, described concurrently (one round trip).
pub async fn describe_pair(
    cfn: &Client,
    data: &str,
    fleet: &str,
) -> Result<(Option<StackState>, Option<StackState>)> {
    tokio::try_join!(describe(cfn, data), describe(cfn, fleet))
}

/// One resource event, as printed while a stack operation runs.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceEvent {
    pub event_id: String,
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
    pub timestamp: String,
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
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            reason: e.resource_status_reason().map(str::to_string),
            timestamp: e.timestamp().map(|t| t.to_string()).unwrap_or_default(),
        }
    }

    /// The stack's own event (not a resource's).
    pub fn is_stack_event(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }
}

/// Events newer than `seen` (an event id), oldest first. Reads pages until it reaches `seen`.
pub async fn events_since(
    cfn: &Client,
    stack: &str,
    seen: Option<&str>,
) -> Result<Vec<ResourceEvent>> {
    let mut newest_first = Vec::new();
    let mut token: Option<String> = None;
    'pages: loop {
        let out = cfn
            .describe_stack_events()
            .stack_name(stack)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| sdk_error(&format!("reading the events of {stack}"), e))?;
        for e in out.stack_events() {
            if seen.is_some() && e.event_id() == seen {
                break 'pages;
            }
            newest_first.push(ResourceEvent::from_sdk(e));
        }
        match out.next_token() {
            // Without a marker to stop at, one page (the newest events) is enough.
            Some(t) if seen.is_some() => token = Some(t.to_string()),
            _ => break,
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
        .map_err(|e| sdk_error(&format!("reading the events of {stack}"), e))?;
    Ok(out
        .stack_events()
        .first()
        .and_then(|e| e.event_id())
        .map(str::to_string))
}

/// The first failure among `events` (oldest first): the resource whose failure started it all,
/// skipping the "cancelled" echoes of other resources.
pub fn root_cause(events: &[ResourceEvent]) -> Option<&ResourceEvent> {
    let failed = |e: &&ResourceEvent| e.status.ends_with("_FAILED") && !e.is_stack_event();
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
