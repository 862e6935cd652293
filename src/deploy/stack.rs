//! One stack of a deploy or plan: settle it, take the fast no-op when nothing changed, create a
//! change set, preview it, refuse data loss unasked, confirm, execute and follow it.

use super::adopt;
use super::desired::DesiredStack;
use super::inflight::InFlight;
use super::{Action, Mode, Options, StackOutcome, recover};
use crate::aws::Clients;
use crate::aws::changesets::{self, Change, ChangeSet};
use crate::aws::error::{AwsError, Kind};
use crate::aws::stack_events;
use crate::aws::stack_events::ResourceEvent;
use crate::aws::stacks::{self, StackState};
use crate::config::Environment;
use crate::error::{Error, Result};
use crate::output::progress::{Reporter, Spinner};
use crate::render::StackRole;
use std::time::Instant;

/// One stack; a create that failed only because SQS still holds a deleted queue's name (a
/// teardown moments ago) is waited out and tried once more: the failed stack is deleted (it
/// holds nothing) and created again with the change the user already confirmed.
#[allow(clippy::too_many_arguments)]
pub async fn one_stack(
    clients: &Clients,
    env: &Environment,
    desired: &DesiredStack,
    state: Option<StackState>,
    mode: Mode,
    opts: &Options,
    reporter: &Reporter,
    inflight: &InFlight,
) -> Result<StackOutcome> {
    let cfn = &clients.cfn;
    match attempt(clients, env, desired, state, mode, opts, reporter, inflight).await {
        Err(Error::Aws(e)) if e.kind == Kind::QueueNameCoolingDown => {
            let name = &desired.name;
            reporter.line(format!(
                "{name}: SQS keeps a deleted queue's name for 60 seconds (QueueDeletedRecently); waiting {} s, then creating the stack again",
                opts.queue_name_cooldown.as_secs()
            ));
            reporter.event(
                "waiting",
                serde_json::json!({ "stack": name, "reason": "QueueDeletedRecently" }),
            );
            tokio::time::sleep(opts.queue_name_cooldown).await;
            let state = stacks::describe(cfn, name).await?;
            let again = Options {
                yes: true,
                ..opts.clone()
            };
            attempt(
                clients, env, desired, state, mode, &again, reporter, inflight,
            )
            .await
        }
        other => other,
    }
}

/// Whether the group failed because its instances never reported in (CreationPolicy or
/// WaitOnResourceSignals timed out).
fn workers_never_signalled(events: &[ResourceEvent]) -> bool {
    events.iter().any(|e| {
        e.is_failure()
            && e.reason
                .as_deref()
                .is_some_and(|r| r.contains("SUCCESS signal") || r.contains("resource signal"))
    })
}

const WORKERS_DID_NOT_SIGNAL: &str = ". The workers never reported that they reached the queue: \
look at an instance's /var/log/qfleet-bootstrap.log and `journalctl -u qfleet-worker` (Session \
Manager, or the EC2 console's system log). Usual causes: no route to the package repositories \
or to SQS (private subnets need a NAT gateway or VPC endpoints; the default VPC needs \
workers.public_ip), or a workers.user_data script that failed";

/// Whether a failed create's events say SQS refused a recently deleted queue name.
fn queue_name_cooling_down(events: &[ResourceEvent]) -> bool {
    events.iter().any(|e| {
        e.is_failure()
            && e.reason.as_deref().is_some_and(|r| {
                r.contains("QueueDeletedRecently")
                    || r.contains("wait 60 seconds after deleting a queue")
            })
    })
}

#[allow(clippy::too_many_arguments)]
async fn attempt(
    clients: &Clients,
    env: &Environment,
    desired: &DesiredStack,
    state: Option<StackState>,
    mode: Mode,
    opts: &Options,
    reporter: &Reporter,
    inflight: &InFlight,
) -> Result<StackOutcome> {
    let cfn = &clients.cfn;
    let started = Instant::now();
    let name = &desired.name;
    let spinner = reporter.spinner(name);
    let outcome =
        |action: Action, status: Option<String>, changes: Vec<Change>, outputs| StackOutcome {
            stack: name.clone(),
            role: desired.role,
            action,
            status,
            duration_ms: started.elapsed().as_millis(),
            changes,
            outputs,
        };
    let status_of = |s: &StackState| Some(s.status.as_str().to_string());

    let mut state = recover::settle(cfn, env, name, state, mode, opts, reporter, &spinner).await?;
    // A bucket an earlier teardown kept is brought into the new data stack, not created again.
    if desired.role == StackRole::Data
        && state.as_ref().is_none_or(|s| s.is_review())
        && let Some(bucket) = adopt::kept_bucket(clients, env).await?
    {
        if mode == Mode::Plan {
            reporter.line(format!(
                "{name}: bucket {bucket} was kept by an earlier teardown; deploy imports it into the new stack first (an IMPORT change set), then creates the rest"
            ));
        } else {
            let imported = adopt::import(
                cfn, env, desired, &bucket, opts, reporter, inflight, &spinner,
            );
            state = Some(imported.await?);
        }
    }
    if mode == Mode::Plan && state.as_ref().is_some_and(|s| s.is_failed_create()) {
        reporter.line(format!("{name}: failed to create earlier (ROLLBACK_COMPLETE); deploy deletes it and creates it again"));
        return Ok(outcome(
            Action::WouldRecreate,
            state.as_ref().and_then(status_of),
            vec![],
            Default::default(),
        ));
    }

    // The fast no-op: DescribeStacks already says whether the template, parameters and tags
    // are the deployed ones.
    if let Some(s) = &state
        && !opts.force
        && !s.is_review()
        && desired.matches(s)
    {
        if s.termination_protection == desired.termination_protection || mode == Mode::Plan {
            reporter.line(format!("{name}: no changes"));
            report_stack(reporter, name, Action::NoChanges);
            return Ok(outcome(
                Action::NoChanges,
                status_of(s),
                vec![],
                s.outputs.clone(),
            ));
        }
        stacks::set_termination_protection(cfn, name, desired.termination_protection).await?;
        reporter.line(format!(
            "{name}: termination protection turned {}",
            if desired.termination_protection {
                "on"
            } else {
                "off"
            }
        ));
        return Ok(outcome(
            Action::ProtectionUpdated,
            status_of(s),
            vec![],
            s.outputs.clone(),
        ));
    }

    let creating = state.as_ref().is_none_or(|s| s.is_review());
    spinner.set("computing changes");
    let cs_name = changesets::new_name();
    // Registered before it is sent: an interrupt while CloudFormation creates it still finds it.
    inflight.add(
        cfn,
        name,
        &cs_name,
        &env.name,
        creating.then(|| desired.role_arn.clone()),
    );
    let created = async {
        let id = changesets::create(cfn, &desired.request(creating), &cs_name).await?;
        inflight.identified(&cs_name, &id);
        changesets::computed(cfn, name, &id, opts.polling).await
    }
    .await;
    let cs = match created {
        Ok(cs) => cs,
        Err(e) => {
            inflight.done(&cs_name);
            if creating {
                recover::abandon_review_stack(cfn, name, desired.role_arn.as_deref()).await;
            }
            return Err(e);
        }
    };
    reporter.event(
        "change_set",
        serde_json::json!({ "stack": name, "id": cs.id, "empty": cs.empty }),
    );
    let result = preview_and_apply(
        cfn, env, desired, &state, &cs, creating, mode, opts, reporter, inflight, &spinner,
    )
    .await;
    if result.is_err() && !inflight.was_executed(&cs.id) {
        // A change set that was never executed is not left behind, nor the empty stack
        // (REVIEW_IN_PROGRESS) that creating its first change set made.
        let _ = changesets::delete(cfn, &cs.id, name).await;
        if creating {
            recover::abandon_review_stack(cfn, name, desired.role_arn.as_deref()).await;
        }
    }
    inflight.done(&cs.id);
    let (action, final_state) = result?;
    let outputs = final_state
        .as_ref()
        .map(|s| s.outputs.clone())
        .unwrap_or_default();
    let status = final_state.as_ref().or(state.as_ref()).and_then(status_of);
    report_stack(reporter, name, action);
    Ok(outcome(action, status, cs.changes.clone(), outputs))
}

fn report_stack(reporter: &Reporter, name: &str, action: Action) {
    reporter.event(
        "stack",
        serde_json::json!({ "stack": name, "action": action }),
    );
}

#[allow(clippy::too_many_arguments)]
async fn preview_and_apply(
    cfn: &aws_sdk_cloudformation::Client,
    env: &Environment,
    desired: &DesiredStack,
    state: &Option<StackState>,
    cs: &ChangeSet,
    creating: bool,
    mode: Mode,
    opts: &Options,
    reporter: &Reporter,
    inflight: &InFlight,
    spinner: &Spinner,
) -> Result<(Action, Option<StackState>)> {
    let name = &desired.name;
    if cs.empty {
        changesets::delete(cfn, &cs.id, name).await?;
        reporter.line(format!("{name}: no changes"));
        if mode == Mode::Deploy
            && let Some(s) = state
            && s.termination_protection != desired.termination_protection
        {
            stacks::set_termination_protection(cfn, name, desired.termination_protection).await?;
            return Ok((Action::ProtectionUpdated, state.clone()));
        }
        return Ok((Action::NoChanges, state.clone()));
    }

    reporter.line(format!(
        "{name}: {} ({} change{})\n{}",
        if creating { "create" } else { "update" },
        cs.changes.len(),
        if cs.changes.len() == 1 { "" } else { "s" },
        super::changeset::table(&cs.changes)
    ));
    reporter.event(
        "changes",
        serde_json::json!({ "stack": name, "creating": creating, "changes": cs.changes }),
    );
    if let Some((from, to)) = super::changeset::kind_switch(&cs.changes) {
        let text = super::changeset::describe_switch(from, to);
        reporter.line(format!("{name}: {text}"));
        reporter.event(
            "switch",
            serde_json::json!({ "stack": name, "from": from, "to": to, "message": text }),
        );
    }
    let losses: Vec<&Change> = cs.changes.iter().filter(|c| c.loses_data()).collect();
    for c in &losses {
        reporter.line(format!(
            "WARNING: {name}: this change {}",
            c.describe_loss()
        ));
        reporter.event(
            "warning",
            serde_json::json!({ "stack": name, "change": c, "message": c.describe_loss() }),
        );
    }

    if mode == Mode::Plan {
        changesets::delete(cfn, &cs.id, name).await?;
        if creating {
            recover::abandon_review_stack(cfn, name, desired.role_arn.as_deref()).await;
        }
        let action = if creating {
            Action::WouldCreate
        } else {
            Action::ChangesPending
        };
        return Ok((action, state.clone()));
    }

    confirm(env, name, &losses, opts, reporter).await?;
    let since = if creating {
        None
    } else {
        stack_events::newest_event_id(cfn, name).await?
    };
    inflight.executing(&cs.id);
    reporter.ledger.start(&env.name, &super::ledger_step(name));
    spinner.set(if creating { "creating" } else { "updating" });
    changesets::execute(cfn, cs).await?;
    let finished = reporter
        .follow(cfn, name, since, opts.polling, spinner)
        .await?;
    let final_state = finished
        .state
        .ok_or_else(|| Error::aws(format!("{name} disappeared while it was being deployed")))?;
    if !final_state.is_complete() {
        let cause = match stack_events::root_cause(&finished.events) {
            Some(e) => format!(
                "root cause: {} ({}) {}: {}",
                e.logical_id,
                e.resource_type,
                e.status.as_str(),
                e.reason.as_deref().unwrap_or("no reason given")
            ),
            None => format!(
                "stack status reason: {}",
                final_state.status_reason.as_deref().unwrap_or("none given")
            ),
        };
        let mut msg = format!(
            "deploying {name} failed: {} ({cause})",
            final_state.status.as_str()
        );
        if workers_never_signalled(&finished.events) {
            msg.push_str(WORKERS_DID_NOT_SIGNAL);
        }
        if creating && queue_name_cooling_down(&finished.events) {
            return Err(AwsError::with_kind(msg, Kind::QueueNameCoolingDown).into());
        }
        return Err(Error::aws(msg));
    }
    if final_state.termination_protection != desired.termination_protection {
        stacks::set_termination_protection(cfn, name, desired.termination_protection).await?;
    }
    reporter.line(format!("{name}: {}", final_state.status.as_str()));
    Ok((
        if creating {
            Action::Created
        } else {
            Action::Updated
        },
        Some(final_state),
    ))
}

/// Asks before executing, unless `--yes`; refuses without a terminal; refuses to remove or
/// replace a resource holding data without an explicit request.
pub(super) async fn confirm(
    env: &Environment,
    stack: &str,
    losses: &[&Change],
    opts: &Options,
    reporter: &Reporter,
) -> Result<()> {
    if !losses.is_empty() && opts.yes && !opts.allow_replacement {
        return Err(Error::Refused(format!(
            "{stack}: the change set removes or replaces {} holding data; nothing was executed. Review it with `qfleet plan {}` and pass --allow-replacement to go ahead",
            losses
                .iter()
                .map(|c| c.logical_id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            env.name
        )));
    }
    if opts.yes {
        return Ok(());
    }
    if !opts.can_prompt {
        return Err(Error::usage(format!(
            "{stack}: not executing the change set without confirmation: no terminal to ask on; pass --yes"
        )));
    }
    let question = if losses.is_empty() {
        format!("Execute these changes to {stack}?")
    } else {
        format!("Data would be lost. Execute these changes to {stack} anyway?")
    };
    if reporter.confirm(&question).await? {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "{stack}: not confirmed; the change set was deleted"
        )))
    }
}
