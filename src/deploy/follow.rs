//! Following a stack operation of a deploy: each resource event printed (or sent as an event),
//! the stack's spinner kept current, until the operation ends.

use super::Ctx;
use crate::aws::Polling;
use crate::aws::{self, WaitFinished as Finished};
use crate::error::Result;
use crate::output::Spinner;

/// Waits for the stack operation that started after event `since`, printing each resource
/// event and keeping the stack's spinner current.
pub(super) async fn follow(
    cx: &Ctx<'_>,
    stack: &str,
    since: Option<String>,
    polling: Polling,
    spinner: &Spinner,
) -> Result<Finished> {
    let Ctx { reporter, .. } = *cx;
    let cfn = &cx.clients.cfn;
    Ok(aws::until_settled(
        cfn,
        stack,
        since,
        polling,
        |e| {
            reporter.resource_event(e);
            spinner.set(format!("{} {}", e.logical_id, e.status.as_str()));
        },
        |s| spinner.set(s.status.as_str()),
    )
    .await?)
}

/// A stack operation's resource event, as AWS access reads it, is what the output layer prints
/// on its line (deploy's and teardown's waits alike).
impl crate::output::ResourceLine for crate::aws::ResourceEvent {
    fn stack(&self) -> &str {
        &self.stack
    }

    fn logical_id(&self) -> &str {
        &self.logical_id
    }

    fn resource_type(&self) -> &str {
        &self.resource_type
    }

    fn status(&self) -> &str {
        self.status.as_str()
    }

    fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}
