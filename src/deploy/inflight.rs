//! Change sets created and not yet executed or deleted, so that an interrupted run can clean
//! them up, and stacks being executed, so that it can say which. A change set is registered
//! before CreateChangeSet is sent (by its name), so that Ctrl-C while it is being created still
//! finds it.

use crate::aws;
use std::sync::{Arc, Mutex};

/// How long an interrupted run waits for the answer to an ExecuteChangeSet on its way before
/// it says where it left each environment: its document is out within 3 s of the signal
/// (`crate::error::time_left` bounds the rest). Unanswered by then, the stack is said to be
/// possibly updating, and its change set is not deleted.
const SENDING_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

#[derive(Default, Clone)]
pub struct InFlight(Arc<Mutex<Vec<Pending>>>);

#[derive(Clone)]
struct Pending {
    cfn: aws_sdk_cloudformation::Client,
    stack: String,
    /// The change set's name until CloudFormation answers with its id.
    change_set: String,
    executing: bool,
    /// ExecuteChangeSet is on its way and not yet answered.
    sending: bool,
    environment: String,
    /// The stack did not exist before (an abandoned first change set leaves a review stack to
    /// delete), with the service role to delete it through.
    creating: Option<Option<String>>,
}

impl InFlight {
    /// The change sets and stacks in flight. A lock poisoned by a panic elsewhere still holds
    /// the list as it was: it is read, never taken as empty (nothing to clean up).
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn add(
        &self,
        cfn: &aws_sdk_cloudformation::Client,
        stack: &str,
        change_set: &str,
        environment: &str,
        creating: Option<Option<String>>,
    ) {
        let mut v = self.list();
        v.push(Pending {
            cfn: cfn.clone(),
            stack: stack.to_string(),
            change_set: change_set.to_string(),
            executing: false,
            sending: false,
            environment: environment.to_string(),
            creating,
        });
    }

    /// CloudFormation answered with the change set's id.
    pub(super) fn identified(&self, name: &str, id: &str) {
        let mut v = self.list();
        for p in v.iter_mut().filter(|p| p.change_set == name) {
            p.change_set = id.to_string();
        }
    }

    pub(super) fn executing(&self, id: &str) {
        let mut v = self.list();
        for p in v.iter_mut().filter(|p| p.change_set == id) {
            p.executing = true;
        }
    }

    /// Sends ExecuteChangeSet for `cs` so that an interruption cannot cut it off half-way: the
    /// call runs as a task of its own, which an interrupted run's [`InFlight::settle`] waits
    /// for. Cut off, the request may or may not have reached CloudFormation, and the stack was
    /// left in REVIEW_IN_PROGRESS or updating with nobody able to say which. An answer that
    /// refuses it (a change set that is not executable, a stack that is busy, no permission)
    /// means it did not run; a lost answer may mean it did.
    pub(super) async fn execute(
        &self,
        cfn: &aws_sdk_cloudformation::Client,
        cs: &aws::ChangeSet,
        disable_rollback: bool,
    ) -> crate::aws::Result<()> {
        self.executing(&cs.id);
        self.set_sending(&cs.id, true);
        let (this, cfn, cs) = (self.clone(), cfn.clone(), cs.clone());
        let call = tokio::spawn(async move {
            let answer = aws::execute_change_set(&cfn, &cs, disable_rollback).await;
            if let Err(e) = &answer
                && !matches!(
                    e.kind,
                    crate::aws::ErrorKind::Unreachable | crate::aws::ErrorKind::Malformed
                )
            {
                this.refused(&cs.id);
            }
            this.set_sending(&cs.id, false);
            answer
        });
        match call.await {
            Ok(answer) => answer,
            Err(e) => Err(crate::aws::AwsError::with_kind(
                format!("executing a change set: the call's task ended: {e}"),
                crate::aws::ErrorKind::Unreachable,
            )),
        }
    }

    fn set_sending(&self, id: &str, sending: bool) {
        let mut v = self.list();
        for p in v.iter_mut().filter(|p| p.change_set == id) {
            p.sending = sending;
        }
    }

    /// Whether an ExecuteChangeSet is on its way.
    fn sending(&self) -> bool {
        self.list().iter().any(|p| p.sending)
    }

    /// ExecuteChangeSet was refused: the change set did not run, and is cleaned up like any
    /// other that was never executed.
    fn refused(&self, id: &str) {
        let mut v = self.list();
        for p in v.iter_mut().filter(|p| p.change_set == id) {
            p.executing = false;
        }
    }

    pub(super) fn was_executed(&self, id: &str) -> bool {
        self.list()
            .iter()
            .any(|p| p.change_set == id && p.executing)
    }

    pub(super) fn done(&self, id: &str) {
        let mut v = self.list();
        v.retain(|p| p.change_set != id);
    }

    /// After Ctrl-C, first: an ExecuteChangeSet on its way is answered (the SDK's own timeouts
    /// bound it; [`SENDING_WAIT`] bounds the wait too), so that whether its stack runs is known.
    pub(super) async fn settle(&self) {
        let since = std::time::Instant::now();
        while self.sending() && since.elapsed() < SENDING_WAIT {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// What the run leaves in environment `stopped`: its stacks CloudFormation is still
    /// updating (unless the ledger says so already), and its unexecuted change sets (with the
    /// empty review stack of a first one), which [`InFlight::clean_up`] deletes next.
    pub(super) fn add_to(&self, stopped: &mut crate::error::Stopped) {
        let pending: Vec<Pending> = self.list().clone();
        let env = stopped.environment.clone();
        for p in pending.iter().filter(|p| p.environment == env) {
            if p.executing {
                if !stopped.under_way.iter().any(|u| u.contains(&p.stack)) {
                    stopped.under_way.push(format!("deploy {}", p.stack));
                }
                continue;
            }
            stopped.left_behind.push(crate::error::LeftBehind {
                what: match p.creating {
                    Some(_) => format!(
                        "the unexecuted change set of {} and its empty review stack",
                        p.stack
                    ),
                    None => format!("the unexecuted change set of {}", p.stack),
                },
                cleanup: format!(
                    "deleted as this run ends; what it cannot delete in time, the next `qfleet deploy {env}` does"
                ),
            });
        }
    }

    /// Then: deletes the change sets nobody will execute (and the empty review stack a first
    /// one made), and only then releases the run's locks, telling `say` of each as it goes. A
    /// cleanup cut off at the deadline keeps the locks: its requests may still land, and a run
    /// let in at once would meet them (a late DeleteStack took a rerun's new fleet stack with
    /// it). The next run waits for the lease, or 3 s on this host (src/lock.rs).
    pub(super) async fn clean_up(&self, say: impl Fn(String)) {
        self.delete_unexecuted(&say).await;
        crate::lock::release_all(&say).await;
    }

    async fn delete_unexecuted(&self, say: &impl Fn(String)) {
        let pending: Vec<Pending> = self.list().clone();
        for p in pending.into_iter().filter(|p| !p.executing) {
            match aws::delete_change_set(&p.cfn, &p.change_set, &p.stack).await {
                Ok(()) => say(format!(
                    "{}: deleted the unexecuted change set of {}",
                    p.environment, p.stack
                )),
                Err(e) => say(format!(
                    "{}: could not delete the unexecuted change set of {} ({e}); the next `qfleet deploy {}` cleans it up",
                    p.environment, p.stack, p.environment
                )),
            }
            if let Some(role) = &p.creating {
                super::recover::abandon_review_stack(&p.cfn, &p.stack, role.as_deref()).await;
            }
        }
    }
}
