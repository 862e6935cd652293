//! Waiting for a stack's deletion without a slot, within the teardown's shared poll budget
//! ([`super::schedule`]): like [`crate::aws::until_settled`] (every new resource
//! event printed on the way, a bounded wait, throttled polls slowing it down), with each poll
//! after the first spaced out further when more deletions are waited for than the limit.

use super::event::Reporter;
use super::schedule::Schedule;
use crate::aws::Polling;
use crate::aws::{self, WaitFinished as Finished};
use crate::error::Result;
use crate::output::Spinner;
use aws_sdk_cloudformation::Client;

/// Waits until `stack` leaves its in-progress state, printing the events newer than `since`.
pub(super) async fn deletion(
    cfn: &Client,
    stack: &str,
    since: Option<String>,
    polling: Polling,
    schedule: &Schedule,
    reporter: &Reporter,
    spinner: &Spinner,
) -> Result<Finished> {
    let _under_way = schedule.waiting();
    aws::until_settled_spaced(
        cfn,
        stack,
        since,
        polling,
        |interval| schedule.stretch(interval),
        |e| {
            reporter.resource_event(e);
            spinner.set(format!("{} {}", e.logical_id, e.status.as_str()));
        },
        |state| spinner.set(state.status.as_str()),
    )
    .await
    .map_err(Into::into)
}
