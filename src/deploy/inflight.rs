//! Change sets created and not yet executed or deleted, so that an interrupted run can clean
//! them up, and stacks being executed, so that it can say which. A change set is registered
//! before CreateChangeSet is sent (by its name), so that Ctrl-C while it is being created still
//! finds it.

use crate::aws::cfn::changesets;
use std::sync::{Arc, Mutex};

#[derive(Default, Clone)]
pub struct InFlight(Arc<Mutex<Vec<Pending>>>);

#[derive(Clone)]
struct Pending {
    cfn: aws_sdk_cloudformation::Client,
    stack: String,
    /// The change set's name until CloudFormation answers with its id.
    change_set: String,
    executing: bool,
    environment: String,
    /// The stack did not exist before (an abandoned first change set leaves a review stack to
    /// delete), with the service role to delete it through.
    creating: Option<Option<String>>,
}

impl InFlight {
    pub fn add(
        &self,
        cfn: &aws_sdk_cloudformation::Client,
        stack: &str,
        change_set: &str,
        environment: &str,
        creating: Option<Option<String>>,
    ) {
        if let Ok(mut v) = self.0.lock() {
            v.push(Pending {
                cfn: cfn.clone(),
                stack: stack.to_string(),
                change_set: change_set.to_string(),
                executing: false,
                environment: environment.to_string(),
                creating,
            });
        }
    }

    /// CloudFormation answered with the change set's id.
    pub fn identified(&self, name: &str, id: &str) {
        if let Ok(mut v) = self.0.lock() {
            for p in v.iter_mut().filter(|p| p.change_set == name) {
                p.change_set = id.to_string();
            }
        }
    }

    pub fn executing(&self, id: &str) {
        if let Ok(mut v) = self.0.lock() {
            for p in v.iter_mut().filter(|p| p.change_set == id) {
                p.executing = true;
            }
        }
    }

    /// ExecuteChangeSet was refused: the change set did not run, and is cleaned up like any
    /// other that was never executed.
    pub fn refused(&self, id: &str) {
        if let Ok(mut v) = self.0.lock() {
            for p in v.iter_mut().filter(|p| p.change_set == id) {
                p.executing = false;
            }
        }
    }

    pub fn was_executed(&self, id: &str) -> bool {
        self.0
            .lock()
            .map(|v| v.iter().any(|p| p.change_set == id && p.executing))
            .unwrap_or(false)
    }

    pub fn done(&self, id: &str) {
        if let Ok(mut v) = self.0.lock() {
            v.retain(|p| p.change_set != id);
        }
    }

    /// After Ctrl-C: deletes the change sets nobody will execute (and the empty review stack a
    /// first one made) and returns what to tell the user about the stacks still updating.
    pub async fn abandon(&self) -> Vec<String> {
        let pending: Vec<Pending> = self.0.lock().map(|v| v.clone()).unwrap_or_default();
        let mut notes = Vec::new();
        for p in pending {
            if p.executing {
                notes.push(format!(
                    "{} is still being updated by CloudFormation; `qfleet deploy {}` waits for it and carries on, `qfleet status {}` shows it",
                    p.stack, p.environment, p.environment
                ));
                continue;
            }
            match changesets::delete(&p.cfn, &p.change_set, &p.stack).await {
                Ok(()) => notes.push(format!("deleted the unexecuted change set of {}", p.stack)),
                Err(e) => notes.push(format!(
                    "could not delete the unexecuted change set of {} ({e}); the next `qfleet deploy {}` cleans it up",
                    p.stack, p.environment
                )),
            }
            if let Some(role) = &p.creating {
                super::recover::abandon_review_stack(&p.cfn, &p.stack, role.as_deref()).await;
            }
        }
        notes
    }
}
