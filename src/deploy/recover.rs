//! Bringing a stack to a state a change set can start from: wait for an operation in progress,
//! delete a stack whose creation failed (with consent), continue a failed rollback, and clean up
//! what an interrupted run left (unexecuted change sets, an empty review stack).

use super::{Mode, Options};
use crate::aws::stacks::{self, StackState};
use crate::aws::{changesets, stack_events, stack_wait};
use crate::config::Environment;
use crate::error::{Error, Result};
use crate::output::progress::{Reporter, Spinner};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::StackStatus;

/// Deletes the stack a never-executed CREATE change set left in REVIEW_IN_PROGRESS. It holds
/// no resources; anything else is left alone.
pub async fn abandon_review_stack(cfn: &Client, name: &str, service_role: Option<&str>) {
    if let Ok(Some(s)) = stacks::describe(cfn, name).await
        && s.is_review()
    {
        let _ = stacks::delete(cfn, name, &[], service_role).await;
    }
}

async fn wait(
    cfn: &Client,
    name: &str,
    opts: &Options,
    reporter: &Reporter,
    spinner: &Spinner,
) -> Result<stack_wait::Finished> {
    let since = stack_events::newest_event_id(cfn, name).await?;
    stack_wait::until_settled(
        cfn,
        name,
        since,
        opts.polling,
        |e| {
            reporter.resource_event(e);
            spinner.set(format!("{} {}", e.logical_id, e.status.as_str()));
        },
        |s| spinner.set(s.status.as_str()),
    )
    .await
}

/// Deletes the change sets qfleet left on the stack (an interrupted run); says so.
async fn clean_leftover_change_sets(
    cfn: &Client,
    name: &str,
    mode: Mode,
    reporter: &Reporter,
) -> Result<()> {
    for (id, cs_name) in changesets::list(cfn, name).await? {
        if !cs_name.starts_with("qfleet-") {
            continue;
        }
        if mode == Mode::Plan {
            reporter.line(format!(
                "{name}: an earlier run left change set {cs_name}; deploy deletes it"
            ));
            continue;
        }
        changesets::delete(cfn, &id, name).await?;
        reporter.line(format!(
            "{name}: deleted change set {cs_name}, left unexecuted by an interrupted run"
        ));
        reporter.event(
            "recovered",
            serde_json::json!({ "stack": name, "change_set": cs_name, "action": "deleted" }),
        );
    }
    Ok(())
}

/// Returns the state to start from (`None`: the stack does not exist).
#[allow(clippy::too_many_arguments)]
pub async fn settle(
    cfn: &Client,
    env: &Environment,
    name: &str,
    mut state: Option<StackState>,
    mode: Mode,
    opts: &Options,
    reporter: &Reporter,
    spinner: &Spinner,
) -> Result<Option<StackState>> {
    let role = env.spec.service_role_arn.as_deref();
    // Each branch either returns or changes the stack's state; a few rounds at most.
    for _ in 0..5 {
        let Some(s) = &state else { return Ok(None) };
        match &s.status {
            _ if s.in_progress() => {
                let st = s.status.as_str().to_string();
                reporter.line(format!(
                    "{name}: {st} in progress; waiting for it to finish first"
                ));
                reporter.event(
                    "waiting",
                    serde_json::json!({ "stack": name, "status": st }),
                );
                state = wait(cfn, name, opts, reporter, spinner).await?.state;
            }
            StackStatus::ReviewInProgress => {
                // An interrupted first deploy: the stack holds no resources, only change sets.
                clean_leftover_change_sets(cfn, name, mode, reporter).await?;
                return Ok(state);
            }
            StackStatus::RollbackComplete if mode == Mode::Plan => return Ok(state),
            StackStatus::RollbackComplete => {
                let why = format!(
                    "{name} failed to create and is in ROLLBACK_COMPLETE: it has to be deleted before it can be created again"
                );
                reporter.line(&why);
                if !opts.yes {
                    if !opts.can_prompt {
                        return Err(Error::usage(format!(
                            "{why}; pass --yes to delete and recreate it"
                        )));
                    }
                    if !reporter
                        .confirm(&format!("Delete {name} and create it again?"))
                        .await?
                    {
                        return Err(Error::Refused(format!(
                            "{name}: not confirmed; nothing was changed"
                        )));
                    }
                }
                let since = stack_events::newest_event_id(cfn, name).await?;
                stacks::delete(cfn, name, &[], role).await?;
                let finished = stack_wait::until_settled(
                    cfn,
                    name,
                    since,
                    opts.polling,
                    |e| reporter.resource_event(e),
                    |_| {},
                )
                .await?;
                if let Some(s) = &finished.state
                    && s.status == StackStatus::DeleteFailed
                {
                    return Err(Error::aws(format!(
                        "{name}: deleting the failed stack failed: {}",
                        s.status_reason.as_deref().unwrap_or("no reason given")
                    )));
                }
                state = finished.state;
            }
            StackStatus::UpdateRollbackFailed if mode == Mode::Plan => {
                return Err(Error::aws(format!(
                    "{name} is in UPDATE_ROLLBACK_FAILED; `qfleet deploy {}` continues the rollback first",
                    env.name
                )));
            }
            StackStatus::UpdateRollbackFailed => {
                reporter.line(format!(
                    "{name}: UPDATE_ROLLBACK_FAILED; continuing the rollback before deploying"
                ));
                let since = stack_events::newest_event_id(cfn, name).await?;
                stacks::continue_update_rollback(cfn, name, role).await?;
                let finished = stack_wait::until_settled(
                    cfn,
                    name,
                    since,
                    opts.polling,
                    |e| reporter.resource_event(e),
                    |_| {},
                )
                .await?;
                if finished
                    .state
                    .as_ref()
                    .is_some_and(|s| s.status == StackStatus::UpdateRollbackFailed)
                {
                    let cause = stack_events::root_cause(&finished.events)
                        .map(|e| {
                            format!(
                                "{} ({}): {}",
                                e.logical_id,
                                e.resource_type,
                                e.reason.as_deref().unwrap_or("")
                            )
                        })
                        .unwrap_or_else(|| "no reason given".into());
                    return Err(Error::aws(format!(
                        "{name}: the rollback failed again ({cause}); fix the resource, or continue the rollback skipping it in the CloudFormation console"
                    )));
                }
                state = finished.state;
            }
            _ if s.is_stuck() => {
                return Err(Error::aws(format!(
                    "{name} is in {}{}; qfleet cannot deploy over it: delete it (qfleet teardown) or repair it in the CloudFormation console",
                    s.status.as_str(),
                    s.status_reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                )));
            }
            _ => return Ok(state),
        }
    }
    Err(Error::aws(format!(
        "{name} did not reach a state to deploy from"
    )))
}
