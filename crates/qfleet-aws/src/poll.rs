//! The one way qfleet waits for AWS: polls that start fast and back off to a ceiling, with
//! jitter so that many environments do not poll in step, and that slow down instead of failing
//! when AWS throttles them (within a bounded budget).

use super::Result;
use super::error::{AwsError, Kind};
use std::future::Future;
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

/// Throttled polls in a row that a wait absorbs (each one doubling the delay, up to a minute)
/// before it gives up.
const THROTTLED_POLLS_BUDGET: u32 = 12;

impl Polling {
    /// The next delay: 1.5 × the current one, at most the ceiling.
    pub(super) fn next(&self, current: Duration) -> Duration {
        current.mul_f32(1.5).min(self.max)
    }

    /// A polling for tests: as fast as possible.
    #[cfg(any(test, feature = "test-util"))]
    pub fn immediate() -> Polling {
        Polling {
            first: Duration::from_millis(1),
            max: Duration::from_millis(2),
        }
    }
}

/// What one poll found.
pub(super) enum Poll<T> {
    Ready(T),
    Pending,
}

/// The pace of one wait: the delay before each poll, the throttling budget, the bound.
pub(super) struct Pacer {
    polling: Polling,
    delay: Duration,
    throttled: u32,
    polls: u32,
    max_polls: u32,
    what: String,
}

impl Pacer {
    pub(super) fn new(polling: Polling, max_polls: u32, what: &str) -> Pacer {
        Pacer {
            polling,
            delay: polling.first,
            throttled: 0,
            polls: 0,
            max_polls,
            what: what.to_string(),
        }
    }

    /// Sleeps until the next poll is due; fails once the wait has used up its polls.
    pub(super) async fn wait(&mut self) -> Result<()> {
        if self.polls >= self.max_polls {
            return Err(AwsError::new(format!(
                "{}: still not finished after {} checks; run the command again to keep waiting",
                self.what, self.max_polls
            )));
        }
        self.polls += 1;
        tokio::time::sleep(jitter(self.delay)).await;
        Ok(())
    }

    /// A poll answered: the next one comes a little later.
    pub(super) fn answered(&mut self) {
        self.throttled = 0;
        self.delay = self.polling.next(self.delay);
    }

    /// A poll failed: a throttled one within the budget slows the wait down (Ok: poll again);
    /// anything else ends it.
    pub(super) fn failed(&mut self, e: AwsError) -> Result<()> {
        match e {
            a if a.kind == Kind::Throttled && self.throttled < THROTTLED_POLLS_BUDGET => {
                self.throttled += 1;
                self.delay = (self.delay * 2).clamp(self.polling.first, Duration::from_secs(60));
                tracing::debug!(target: "qfleet::aws", what = %self.what, delay = ?self.delay, "throttled while waiting; slowing down");
                Ok(())
            }
            other => Err(other),
        }
    }
}

/// Polls `check` until it is ready. The delay grows as [`Polling::next`] says, with up to 20 %
/// jitter. A throttled poll is not a failure: the wait slows down and tries again, giving up only
/// after [`THROTTLED_POLLS_BUDGET`] throttled polls in a row. `max_polls` bounds the wait.
pub(super) async fn until<T, F, Fut>(
    polling: Polling,
    max_polls: u32,
    what: &str,
    mut check: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    let mut pacer = Pacer::new(polling, max_polls, what);
    loop {
        pacer.wait().await?;
        match check().await {
            Ok(Poll::Ready(v)) => return Ok(v),
            Ok(Poll::Pending) => pacer.answered(),
            Err(e) => pacer.failed(e)?,
        }
    }
}

/// `d` plus up to 20 % more, so that concurrent waits spread out.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    d + d.mul_f64(f64::from(nanos % 200) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

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
        assert_eq!(*seen.last().unwrap(), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_throttled_poll_slows_down_instead_of_failing() {
        let calls = AtomicU32::new(0);
        let r = until(Polling::immediate(), 20, "waiting", || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(AwsError::with_kind("slow down", Kind::Throttled)),
                2 => Ok(Poll::Pending),
                _ => Ok(Poll::Ready(7)),
            }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn other_errors_end_the_wait_at_once() {
        let calls = AtomicU32::new(0);
        let r: Result<()> = until(Polling::immediate(), 20, "waiting", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(AwsError::new("broken"))
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_wait_is_bounded() {
        let r: Result<()> = until(Polling::immediate(), 3, "waiting for X", || async {
            Ok(Poll::Pending)
        })
        .await;
        assert!(r.unwrap_err().to_string().contains("waiting for X"));
    }
}
