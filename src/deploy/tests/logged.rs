//! Mocked CloudFormation calls that log what they were asked, so that a test can tell the order
//! of creations, executions and deletions across both stacks.

use super::*;
use std::sync::{Arc, Mutex};

/// What the mocked CloudFormation was asked to do, in order (`create STACK`, `execute STACK`,
/// `delete-change-set STACK`).
pub type Log = Arc<Mutex<Vec<String>>>;

pub fn logged(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// CreateChangeSet answered with an id of the stack's own (`cs-STACK`).
pub fn create_cs_logged(log: &Log) -> Rule {
    let log = log.clone();
    mock!(Cfn::create_change_set).then_compute_output(move |r| {
        let stack = r.stack_name().unwrap_or_default().to_string();
        log.lock().unwrap().push(format!("create {stack}"));
        CreateChangeSetOutput::builder()
            .id(format!("cs-{stack}"))
            .stack_id("id")
            .build()
    })
}

pub fn execute_logged(log: &Log) -> Rule {
    let log = log.clone();
    mock!(Cfn::execute_change_set).then_compute_output(move |r| {
        log.lock()
            .unwrap()
            .push(format!("execute {}", r.stack_name().unwrap_or_default()));
        ExecuteChangeSetOutput::builder().build()
    })
}

pub fn delete_cs_logged(log: &Log) -> Rule {
    let log = log.clone();
    mock!(Cfn::delete_change_set).then_compute_output(move |r| {
        log.lock().unwrap().push(format!(
            "delete-change-set {}",
            r.stack_name().unwrap_or_default()
        ));
        DeleteChangeSetOutput::builder().build()
    })
}

/// One resource change of a computed change set, for the change set `cs-STACK` only.
pub fn change_set_of(
    stack: &'static str,
    action: &'static str,
    logical: &'static str,
    ty: &'static str,
    replacement: Option<&'static str>,
) -> Rule {
    mock!(Cfn::describe_change_set)
        .match_requests(move |r| r.change_set_name() == Some(format!("cs-{stack}").as_str()))
        .then_output(move || {
            let mut rc = ResourceChange::builder()
                .action(cfn_types::ChangeAction::from(action))
                .logical_resource_id(logical)
                .resource_type(ty);
            if let Some(r) = replacement {
                rc = rc.replacement(cfn_types::Replacement::from(r));
            }
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .changes(
                    cfn_types::Change::builder()
                        .resource_change(rc.build())
                        .build(),
                )
                .build()
        })
}
