//! How the environments of one teardown share `--concurrency`.
//!
//! A slot is held only while an environment reads, decides or sends calls: the first read and
//! decision, lifting termination protection, DeleteStack, the second look and the purge, a
//! DELETE_FAILED's resources. Waiting for CloudFormation to finish a deletion (minutes on AWS)
//! holds no slot, nor does a question on the terminal, so at most `--concurrency` environments
//! are talking to AWS at any moment while any number of deletions run.
//!
//! The waits poll on their own, but within one budget: the first poll of a wait comes at its
//! first interval, as always (there is one per DeleteStack, and DeleteStack needs a slot); after
//! that, with `n` waits under way and a limit of `c`, each wait stretches its interval by
//! `n / c` whenever `n > c`. All the waits together therefore poll no more often than `c` waits
//! each at its own pace, however many environments are being deleted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The slots and the waits of one teardown run, shared by its environments (clones share).
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    limit: usize,
    slots: Arc<Semaphore>,
    waits: Arc<AtomicUsize>,
}

impl Default for Schedule {
    /// One slot: one environment at a time (the command passes `--concurrency`).
    fn default() -> Self {
        Schedule::new(1)
    }
}

impl Schedule {
    /// At most `limit` environments reading, deciding or sending calls at once (at least one).
    pub(crate) fn new(limit: usize) -> Schedule {
        let limit = limit.max(1);
        Schedule {
            limit,
            slots: Arc::new(Semaphore::new(limit)),
            waits: Arc::new(AtomicUsize::new(0)),
        }
    }

    #[cfg(test)]
    fn limit(&self) -> usize {
        self.limit
    }

    /// An environment's turn, not yet holding a slot.
    pub(super) fn turn(&self) -> Turn {
        Turn {
            slots: self.slots.clone(),
            permit: None,
        }
    }

    /// Counts a wait as under way until the returned guard is dropped.
    pub(super) fn waiting(&self) -> Waiting {
        self.waits.fetch_add(1, Ordering::SeqCst);
        Waiting(self.waits.clone())
    }

    /// Slots no environment holds now.
    #[cfg(test)]
    pub(super) fn free_slots(&self) -> usize {
        self.slots.available_permits()
    }

    /// Waits under way now.
    pub(super) fn waits(&self) -> usize {
        self.waits.load(Ordering::SeqCst)
    }

    /// How much longer than `interval` a wait sleeps before its next poll: nothing while the
    /// waits under way fit the limit, else `interval × (n − c) / c`.
    pub(super) fn stretch(&self, interval: Duration) -> Duration {
        let n = self.waits();
        if n <= self.limit {
            return Duration::ZERO;
        }
        interval.mul_f64((n - self.limit) as f64 / self.limit as f64)
    }
}

/// One environment's hold on a slot: taken before it reads or sends calls, given back while it
/// waits. Dropping it gives the slot back.
#[derive(Debug)]
pub(super) struct Turn {
    slots: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Turn {
    /// Takes a slot, waiting for one if all are held; holding one already is enough.
    pub(super) async fn take(&mut self) {
        if self.permit.is_none() {
            // The semaphore is never closed, so this always yields a permit; were it closed,
            // going on without one would only lift the limit, never skip a step.
            self.permit = self.slots.clone().acquire_owned().await.ok();
        }
    }

    /// Gives the slot back (before a wait or a question).
    pub(super) fn give_back(&mut self) {
        self.permit = None;
    }

    #[cfg(test)]
    fn holds(&self) -> bool {
        self.permit.is_some()
    }
}

/// A wait under way (see [`Schedule::waiting`]).
#[derive(Debug)]
pub(super) struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_within_the_limit_poll_at_their_own_pace_and_more_share_the_budget() {
        let s = Schedule::new(2);
        let second = Duration::from_secs(1);
        let w: Vec<Waiting> = (0..2).map(|_| s.waiting()).collect();
        assert_eq!(s.stretch(second), Duration::ZERO, "2 waits, 2 slots");
        let more: Vec<Waiting> = (0..4).map(|_| s.waiting()).collect();
        // 6 waits, limit 2: each polls every 3 intervals, so together they poll as often as 2.
        assert_eq!(s.stretch(second), Duration::from_secs(2));
        drop(more);
        drop(w);
        assert_eq!(s.waits(), 0, "a wait stops counting when it ends");
    }

    #[tokio::test]
    async fn a_turn_holds_at_most_one_slot_and_gives_it_back() {
        let s = Schedule::new(2);
        let (mut a, mut b) = (s.turn(), s.turn());
        a.take().await;
        a.take().await;
        assert_eq!(s.free_slots(), 1, "taking twice holds one slot");
        b.take().await;
        assert_eq!(s.free_slots(), 0);
        a.give_back();
        assert!(!a.holds() && b.holds());
        assert_eq!(s.free_slots(), 1);
        drop(b);
        assert_eq!(s.free_slots(), 2, "a dropped turn gives its slot back");
        assert_eq!(Schedule::new(0).limit(), 1, "never fewer than one slot");
    }
}
