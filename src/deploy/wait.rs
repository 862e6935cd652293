//! Waiting for a stack operation: polls that start fast and back off (first poll within a
//! second, never slower than every five), printing every new resource event on the way.
//! Throttled calls are retried with backoff by the SDK itself (see `aws::Aws`).

use crate::aws::stacks::{self, ResourceEvent, StackState};
use crate::error::Result;
use crate::output::progress::{Reporter, Spinner};
use aws_sdk_cloudformation::Client;
use std::time::Duration;

/// Poll intervals: the first, and the ceiling.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            first: Duration::from_millis(500),
            max: Duration::from_secs(5),
        }
    }
}

impl Polling {
    fn next(&self, current: Duration) -> Duration {
        (current.mul_f32(1.5)).min(self.max)
    }
}

/// How a wait ended.
pub struct Finished {
    /// The stack's final state; `None` when it was deleted.
    pub state: Option<StackState>,
    /// Every event seen while waiting, oldest first.
    pub events: Vec<ResourceEvent>,
}

/// Waits until `stack` leaves its in-progress state, reporting events newer than `since`.
pub async fn until_settled(
    cfn: &Client,
    stack: &str,
    since: Option<String>,
    polling: Polling,
    reporter: &Reporter,
    spinner: &Spinner,
) -> Result<Finished> {
    let mut seen = since;
    let mut all = Vec::new();
    let mut delay = polling.first;
    loop {
        tokio::time::sleep(delay).await;
        delay = polling.next(delay);
        let events = match stacks::events_since(cfn, stack, seen.as_deref()).await {
            Ok(ev) => ev,
            // A stack deleted while we watch has no events to read any more.
            Err(_) if seen.is_some() => Vec::new(),
            Err(e) => return Err(e),
        };
        for e in &events {
            report_event(reporter, e);
            spinner.set(format!("{} {}", e.logical_id, e.status));
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
            Ok(Some(state)) if state.is_terminal() => {
                return Ok(Finished {
                    state: Some(state),
                    events: all,
                });
            }
            Ok(Some(state)) => spinner.set(state.status.clone()),
            Err(e) => return Err(e),
        }
    }
}

/// One line per resource event (text), or one JSON event.
pub fn report_event(reporter: &Reporter, e: &ResourceEvent) {
    reporter.line(format!(
        "  {:<28} {:<26} {:<36} {}{}",
        e.stack,
        e.logical_id,
        e.resource_type,
        e.status,
        e.reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    ));
    reporter.event("resource", serde_json::to_value(e).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_backs_off_to_the_ceiling() {
        let p = Polling::default();
        assert!(
            p.first <= Duration::from_secs(1),
            "first poll within a second"
        );
        let mut d = p.first;
        let mut seen = vec![d];
        for _ in 0..20 {
            d = p.next(d);
            seen.push(d);
        }
        assert!(seen.windows(2).all(|w| w[1] >= w[0]), "never faster again");
        assert_eq!(
            *seen.last().unwrap(),
            Duration::from_secs(5),
            "never slower than 5 s"
        );
    }
}
