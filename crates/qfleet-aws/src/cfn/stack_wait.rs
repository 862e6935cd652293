//! Waiting for a stack operation to end, handing every new resource event to the caller on the
//! way (deploy and teardown print them).

use super::stack_events::{self, ResourceEvent};
use super::stacks::{self, StackState};
use crate::poll::{Pacer, Polling};
use crate::{AwsError, Result};
use aws_sdk_cloudformation::Client;
use std::time::Duration;

/// How a wait ended.
pub struct Finished {
    /// The stack's final state; `None` when it was deleted.
    pub state: Option<StackState>,
    /// Every event seen while waiting, oldest first.
    pub events: Vec<ResourceEvent>,
}

/// A stack operation may run for hours (a rolling update waiting on signals): at the 5-second
/// ceiling this bounds a wait at about 4 hours.
const MAX_POLLS: u32 = 3_000;

/// Polls that may still read REVIEW_IN_PROGRESS after ExecuteChangeSet (AWS moves the stack on
/// at once; this is eventual consistency, not an operation).
const MAX_REVIEW_POLLS: u32 = 20;

/// Waits until `stack` leaves its in-progress state, passing events newer than `since` to
/// `on_event` (oldest first) and each in-progress status to `on_status`.
pub async fn until_settled(
    cfn: &Client,
    stack: &str,
    since: Option<String>,
    polling: Polling,
    on_event: impl FnMut(&ResourceEvent),
    on_status: impl FnMut(&StackState),
) -> Result<Finished> {
    until_settled_spaced(
        cfn,
        stack,
        since,
        polling,
        |_| Duration::ZERO,
        on_event,
        on_status,
    )
    .await
}

/// [`until_settled`], each poll after the first delayed by `spacing(interval)` more than the
/// polling interval (a caller sharing a poll budget among many waits spreads them out).
pub async fn until_settled_spaced(
    cfn: &Client,
    stack: &str,
    since: Option<String>,
    polling: Polling,
    spacing: impl Fn(Duration) -> Duration,
    mut on_event: impl FnMut(&ResourceEvent),
    mut on_status: impl FnMut(&StackState),
) -> Result<Finished> {
    let mut interval = polling.first;
    let mut first = true;
    let mut seen = since;
    let mut all: Vec<ResourceEvent> = Vec::new();
    let mut pacer = Pacer::new(polling, MAX_POLLS, &format!("waiting for {stack}"));
    let mut review_polls = 0;
    loop {
        pacer.wait().await?;
        if !first {
            let extra = spacing(interval);
            if !extra.is_zero() {
                tokio::time::sleep(extra).await;
            }
        }
        first = false;
        interval = polling.next(interval);
        let events = match stack_events::events_since(cfn, stack, seen.as_deref()).await {
            Ok(ev) => ev,
            // A stack deleted while we watch has no events to read any more.
            Err(e) if e.is_not_found() && seen.is_some() => Vec::new(),
            Err(e) => {
                pacer.failed(e)?;
                continue;
            }
        };
        for e in &events {
            on_event(e);
        }
        if let Some(last) = events.last() {
            seen = Some(last.event_id.clone());
        }
        all.extend(events);
        match stacks::describe(cfn, stack).await {
            Ok(None) => {
                return Ok(Finished {
                    state: None,
                    events: all,
                });
            }
            // Right after ExecuteChangeSet a new stack may still read REVIEW_IN_PROGRESS.
            Ok(Some(state)) if state.is_terminal() && !state.is_review() => {
                return Ok(Finished {
                    state: Some(state),
                    events: all,
                });
            }
            Ok(Some(state)) if state.is_review() => {
                review_polls += 1;
                if review_polls > MAX_REVIEW_POLLS {
                    return Err(AwsError::new(format!(
                        "{stack} stayed in REVIEW_IN_PROGRESS: the operation did not start; run the command again"
                    )));
                }
                pacer.answered();
            }
            Ok(Some(state)) => {
                on_status(&state);
                pacer.answered();
            }
            Err(e) => pacer.failed(e)?,
        }
    }
}
