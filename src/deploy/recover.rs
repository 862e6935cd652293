//! Bringing a stack to a state a change set can start from: wait for an operation in progress,
//! delete a stack whose creation failed (with consent), continue a failed rollback, and clean up
//! what an interrupted run left (unexecuted change sets, an empty review stack).

use super::Ctx;
use super::Mode;
use super::event::Event;
use crate::aws::{self, StackState};
use crate::error::{Error, Result};
use crate::output::Spinner;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::StackStatus;

/// Deletes the stack a never-executed CREATE change set left in REVIEW_IN_PROGRESS. It holds
/// no resources; anything else is left alone.
pub(super) async fn abandon_review_stack(cfn: &Client, name: &str, service_role: Option<&str>) {
    if let Ok(Some(s)) = aws::describe_stack(cfn, name).await
        && s.is_review()
    {
        let _ = aws::delete_stack(cfn, name, &[], service_role).await;
    }
}

/// A stack an interrupted first deploy left in REVIEW_IN_PROGRESS holds no resources, only
/// change sets. When they are all qfleet's, the stack is deleted (and created afresh by the
/// caller); a change set of anyone else's means someone is reviewing it: left alone.
async fn recover_review_stack(cx: &Ctx<'_>, name: &str) -> Result<()> {
    let Ctx {
        env,
        mode,
        opts,
        reporter,
        ..
    } = *cx;
    let cfn = &cx.clients.cfn;
    let sets = aws::list_change_sets(cfn, name).await?;
    if let Some((_, other)) = sets.iter().find(|(_, n)| !n.starts_with("qfleet-")) {
        return Err(Error::aws(format!(
            "{name} is in REVIEW_IN_PROGRESS with change set {other}, which qfleet did not create; finish or delete that review first"
        )));
    }
    let found = format!(
        "{name}: found in REVIEW_IN_PROGRESS, left by an interrupted run (no resources; {} unexecuted change set{})",
        sets.len(),
        if sets.len() == 1 { "" } else { "s" }
    );
    if mode == Mode::Plan {
        reporter.line(format!("{found}; deploy deletes it and creates the stack"));
        return Ok(());
    }
    let since = aws::newest_event_id(cfn, name).await?;
    aws::delete_stack(cfn, name, &[], env.spec.service_role_arn.as_deref()).await?;
    let finished = aws::until_settled(cfn, name, since, opts.polling, |_| {}, |_| {}).await?;
    if let Some(s) = finished.state {
        return Err(Error::aws(format!(
            "{name}: deleting the empty review stack ended in {}",
            s.status.as_str()
        )));
    }
    reporter.line(format!("{found}; deleted it, creating the stack afresh"));
    reporter.event(Event::Recovered {
        stack: name.to_string(),
        found: "REVIEW_IN_PROGRESS".into(),
        change_sets: sets.len(),
        action: "deleted".into(),
    });
    Ok(())
}

/// Deletes a stack whose creation failed (ROLLBACK_COMPLETE: it holds nothing), so that it can
/// be created again; the caller has the user's consent.
pub(super) async fn delete_failed(cx: &Ctx<'_>, name: &str, spinner: &Spinner) -> Result<()> {
    let Ctx { env, opts, .. } = *cx;
    let cfn = &cx.clients.cfn;
    spinner.set("deleting the failed stack");
    let since = aws::newest_event_id(cfn, name).await?;
    aws::delete_stack(cfn, name, &[], env.spec.service_role_arn.as_deref()).await?;
    let finished = super::follow::follow(cx, name, since, opts.polling, spinner).await?;
    match finished.state {
        Some(s) if s.status == StackStatus::DeleteFailed => Err(Error::aws(format!(
            "{name}: deleting the failed stack failed: {}",
            s.status_reason.as_deref().unwrap_or("no reason given")
        ))),
        Some(s) => Err(Error::aws(format!(
            "{name}: deleting the failed stack ended in {}",
            s.status.as_str()
        ))),
        None => Ok(()),
    }
}

/// Like [`abandon_review_stack`], and waits until it is gone, so that nothing an unexecuted
/// change set made is left when qfleet exits.
pub(super) async fn abandon_review_stack_and_wait(
    cfn: &Client,
    name: &str,
    service_role: Option<&str>,
    polling: crate::aws::Polling,
) {
    if let Ok(Some(s)) = aws::describe_stack(cfn, name).await
        && s.is_review()
    {
        let since = aws::newest_event_id(cfn, name).await.ok().flatten();
        if aws::delete_stack(cfn, name, &[], service_role)
            .await
            .is_ok()
            && since.is_some()
        {
            let _ = aws::until_settled(cfn, name, since, polling, |_| {}, |_| {}).await;
        }
    }
}

/// Returns the state to start from (`None`: the stack does not exist). A stack whose creation
/// failed (ROLLBACK_COMPLETE) is returned as it is: deleting it is part of the changes asked for.
pub(super) async fn settle(
    cx: &Ctx<'_>,
    name: &str,
    mut state: Option<StackState>,
    spinner: &Spinner,
) -> Result<Option<StackState>> {
    let Ctx {
        env,
        mode,
        opts,
        reporter,
        ..
    } = *cx;
    let cfn = &cx.clients.cfn;
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
                reporter.event(Event::Waiting {
                    stack: name.to_string(),
                    status: Some(st.clone()),
                    reason: None,
                });
                let since = aws::newest_event_id(cfn, name).await?;
                state = super::follow::follow(cx, name, since, opts.polling, spinner)
                    .await?
                    .state;
            }
            StackStatus::ReviewInProgress => {
                recover_review_stack(cx, name).await?;
                // Plan previews a creation; deploy deleted the empty stack and creates it.
                return Ok(if mode == Mode::Plan { state } else { None });
            }
            // Deleted and created again only once the environment's changes are confirmed.
            StackStatus::RollbackComplete => return Ok(state),
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
                let since = aws::newest_event_id(cfn, name).await?;
                aws::continue_update_rollback(cfn, name, role).await?;
                let finished =
                    super::follow::follow(cx, name, since, opts.polling, spinner).await?;
                if finished
                    .state
                    .as_ref()
                    .is_some_and(|s| s.status == StackStatus::UpdateRollbackFailed)
                {
                    let cause = aws::root_cause(&finished.events)
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
                let what_to_do = match s.status {
                    StackStatus::RollbackFailed => format!(
                        "the rollback of a failed create did not finish, and CloudFormation allows only deleting it: `qfleet teardown {}` (it checks the data first), then deploy again",
                        env.name
                    ),
                    StackStatus::DeleteFailed => format!(
                        "a deletion failed: `qfleet teardown {}` deletes it again (--retain-failed keeps what cannot be deleted)",
                        env.name
                    ),
                    _ => format!(
                        "repair the resource the stack events name in the CloudFormation console, or tear it down with `qfleet teardown {}`",
                        env.name
                    ),
                };
                return Err(Error::aws(format!(
                    "{name} is in {}{}; qfleet cannot deploy over it: {what_to_do}",
                    s.status.as_str(),
                    s.status_reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                )));
            }
            // Known states that prepare() goes on from with rollback disabled.
            _ if s.is_failed_without_rollback() => return Ok(state),
            _ => return Ok(state),
        }
    }
    Err(Error::aws(format!(
        "{name} did not reach a state to deploy from"
    )))
}
