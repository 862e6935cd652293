//! The teardown's side of a removal placement makes ([`crate::placement::RemovalRun`]): the run's
//! slot of `--concurrency`, the stack's spinner and event, the run's lines and poll budget.

use super::Ctx;
use super::event::{Event, StackAction};
use super::schedule::Turn;
use crate::aws::Polling;
use crate::output::Spinner;
use crate::placement::SetLocks;

/// What one removal call (a delete or a tidy) borrows from the run: made for each call, so
/// that a delete's spinner ends with it.
pub(super) struct Steps<'a, 'b> {
    at: &'a Ctx<'b>,
    turn: &'a mut Turn,
    spinner: Option<Spinner>,
}

impl<'a, 'b> Steps<'a, 'b> {
    pub(super) fn new(at: &'a Ctx<'b>, turn: &'a mut Turn) -> Self {
        Steps {
            at,
            turn,
            spinner: None,
        }
    }
}

impl crate::placement::RemovalRun for Steps<'_, '_> {
    fn give_back(&mut self) {
        self.turn.give_back();
    }

    async fn take(&mut self) {
        self.turn.take().await;
    }

    fn waiting(&self) -> impl Sized {
        self.at.opts.schedule.waiting()
    }

    fn progress(&mut self, stack: &str, text: String) {
        self.spinner
            .get_or_insert_with(|| self.at.reporter.spinner(stack))
            .set(text);
    }

    fn deleting(&self, stack: &str) {
        self.at.reporter.event(Event::Stack {
            stack: stack.to_string(),
            action: StackAction::Deleting,
        });
    }

    fn line(&self, text: String) {
        self.at.reporter.line(text);
    }

    fn locks(&self) -> &SetLocks {
        &self.at.opts.rollout_locks
    }

    fn polling(&self) -> Polling {
        self.at.opts.polling
    }
}
