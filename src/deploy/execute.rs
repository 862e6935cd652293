//! The second half of a stack's deploy, once the environment's changes are confirmed: execute
//! the change set and follow it to the end, naming the root cause of a failure. A stack that
//! failed to create is deleted and created again, a kept bucket imported before the rest, and
//! a create that failed only because SQS still holds a deleted queue's name (a teardown moments
//! ago) is waited out and tried once more; none of these asks again, and a change set computed
//! after the question that would lose data is not executed.

use super::Ctx;
use super::desired::DesiredStack;
use super::event::Event;
use super::prepare::{self, Prepared, Step};
use super::{Action, StackOutcome, adopt, recover};
use crate::aws::ResourceEvent;
use crate::aws::StackState;
use crate::aws::{self, ChangeSet};
use crate::aws::{AwsError, ErrorKind as Kind};
use crate::error::{Error, Result};
use crate::output::Spinner;
use crate::render::StackRole;

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

/// Carries out one prepared stack; returns what happened to it.
pub(super) async fn apply(cx: &Ctx<'_>, p: &Prepared, spinner: &Spinner) -> Result<StackOutcome> {
    let Ctx {
        clients,
        reporter,
        inflight,
        ..
    } = *cx;
    let cfn = &clients.cfn;
    let d = &p.desired;
    let outcome = |action: Action, state: Option<&StackState>| StackOutcome {
        stack: d.name.clone(),
        role: d.role,
        action,
        status: state
            .or(p.state.as_ref())
            .map(|s| s.status.as_str().to_string()),
        duration_ms: p.started.elapsed().as_millis(),
        changes: p.changes().to_vec(),
        notes: p.notes.clone(),
        outputs: state.map(|s| s.outputs.clone()).unwrap_or_default(),
        worker_version: p.new_version.clone(),
    };
    let (action, state) = match &p.step {
        Step::Nothing => (Action::NoChanges, p.state.clone()),
        Step::Protection => {
            aws::set_termination_protection(cfn, &d.name, d.termination_protection).await?;
            reporter.line(format!(
                "{}: termination protection turned {}",
                d.name,
                if d.termination_protection {
                    "on"
                } else {
                    "off"
                }
            ));
            (Action::ProtectionUpdated, p.state.clone())
        }
        Step::ChangeSet { cs, creating } => {
            let done = run(cx, d, cs, *creating, spinner).await;
            if done.is_err() && !inflight.was_executed(&cs.id) {
                // Not executed: neither the change set nor the review stack it made stays.
                let _ = aws::delete_change_set(cfn, &cs.id, &d.name).await;
                if *creating && p.state.is_none() {
                    recover::abandon_review_stack(cfn, &d.name, d.role_arn.as_deref()).await;
                }
            }
            inflight.done(&cs.id);
            let state = match done {
                Err(Error::Aws(e)) if *creating && e.kind == Kind::QueueNameCoolingDown => {
                    cool_down_and_create(cx, d, spinner).await?
                }
                other => other?,
            };
            let action = if *creating {
                Action::Created
            } else {
                Action::Updated
            };
            (action, Some(state))
        }
        Step::Recreate { .. } => {
            recover::delete_failed(cx, &d.name, spinner).await?;
            let done = create_afresh(cx, d, spinner).await;
            let state = match done {
                Err(Error::Aws(e)) if e.kind == Kind::QueueNameCoolingDown => {
                    cool_down_and_create(cx, d, spinner).await?
                }
                other => other?,
            };
            (Action::Created, Some(state))
        }
        Step::Import { bucket, .. } => {
            adopt::import(cx, d, bucket, spinner).await?;
            let cs = prepare::change_set(cx, d, false, false).await?;
            let state = unseen(cx, d, cs, false, spinner).await?;
            (Action::Updated, Some(state))
        }
    };
    reporter.event(Event::Stack {
        stack: d.name.clone(),
        action,
    });
    Ok(outcome(action, state.as_ref()))
}

/// SQS keeps a deleted queue's name for 60 seconds: waits that out, deletes the failed (empty)
/// stack and creates it again with the change already confirmed.
async fn cool_down_and_create(
    cx: &Ctx<'_>,
    d: &DesiredStack,
    spinner: &Spinner,
) -> Result<StackState> {
    let Ctx {
        clients,
        env,
        opts,
        reporter,
        ..
    } = *cx;
    let name = &d.name;
    reporter.line(format!(
        "{name}: SQS keeps a deleted queue's name for 60 seconds (QueueDeletedRecently); waiting {} s, then creating the stack again",
        opts.queue_name_cooldown.as_secs()
    ));
    reporter.event(Event::Waiting {
        stack: name.clone(),
        status: None,
        reason: Some("QueueDeletedRecently".into()),
    });
    spinner.set("waiting for SQS to release the queue's name");
    tokio::time::sleep(opts.queue_name_cooldown).await;
    // Created again only from nothing: a failed create that rolled back holds nothing and is
    // deleted first; a stack in any other state is not created over.
    match aws::describe_stack(&clients.cfn, name).await? {
        None => {}
        Some(s) if s.is_failed_create() => {
            recover::delete_failed(cx, name, spinner).await?;
        }
        Some(s) => {
            return Err(Error::aws(format!(
                "{name} failed to create (SQS still held the queue's name) and is in {}, not rolled back; it was not created again: run `qfleet deploy {}` once more, or tear it down with `qfleet teardown {}`",
                s.status.as_str(),
                env.name,
                env.name
            )));
        }
    }
    create_afresh(cx, d, spinner).await
}

/// Creates the stack (it does not exist): a CREATE change set, computed and executed.
async fn create_afresh(cx: &Ctx<'_>, d: &DesiredStack, spinner: &Spinner) -> Result<StackState> {
    spinner.set("computing changes");
    let cs = prepare::change_set(cx, d, true, true).await?;
    unseen(cx, d, cs, true, spinner).await
}

/// Executes a change set computed after the question (the preview showed what it would do):
/// shown as it is, and not executed when it would lose data.
async fn unseen(
    cx: &Ctx<'_>,
    d: &DesiredStack,
    cs: ChangeSet,
    creating: bool,
    spinner: &Spinner,
) -> Result<StackState> {
    let Ctx {
        env,
        reporter,
        inflight,
        ..
    } = *cx;
    let cfn = &cx.clients.cfn;
    let name = &d.name;
    reporter.event(Event::ChangeSet {
        stack: name.clone(),
        id: cs.id.clone(),
        empty: cs.empty,
    });
    reporter.event(Event::Changes {
        stack: name.clone(),
        creating: Some(creating),
        import: None,
        changes: cs.changes.clone(),
    });
    reporter.detail(format!(
        "{}\n{}",
        crate::changes::heading(name, creating, cs.changes.len()),
        crate::changes::changes(&cs.changes)
    ));
    let losses: Vec<&str> = cs
        .changes
        .iter()
        .filter(|c| c.loses_data())
        .map(|c| c.logical_id.as_str())
        .collect();
    if cs.empty || !losses.is_empty() {
        let _ = aws::delete_change_set(cfn, &cs.id, name).await;
        inflight.done(&cs.id);
        if cs.empty {
            return aws::describe_stack(cfn, name).await?.ok_or_else(|| {
                Error::aws(format!("{name} disappeared while it was being deployed"))
            });
        }
        return Err(crate::deploy::errors::Refusal::UnpreviewedLoss {
            stack: name.to_string(),
            env: env.name.clone(),
            resources: losses.iter().map(|l| l.to_string()).collect(),
        }
        .into());
    }
    let result = run(cx, d, &cs, creating, spinner).await;
    if result.is_err() && !inflight.was_executed(&cs.id) {
        let _ = aws::delete_change_set(cfn, &cs.id, name).await;
        if creating {
            recover::abandon_review_stack(cfn, name, d.role_arn.as_deref()).await;
        }
    }
    inflight.done(&cs.id);
    result
}

/// Executes a change set and follows it to the end; the stack as it ended.
async fn run(
    cx: &Ctx<'_>,
    d: &DesiredStack,
    cs: &ChangeSet,
    creating: bool,
    spinner: &Spinner,
) -> Result<StackState> {
    let Ctx {
        env,
        opts,
        reporter,
        inflight,
        ..
    } = *cx;
    let cfn = &cx.clients.cfn;
    let name = &d.name;
    let since = if creating {
        None
    } else {
        aws::newest_event_id(cfn, name).await?
    };
    reporter
        .ledger
        .start(&env.name, &ledger_step(cx.mode, name));
    spinner.set(if creating { "creating" } else { "updating" });
    let began = super::rollback::began();
    inflight.execute(cfn, cs, d.continue_failed).await?;
    let finished = super::follow::follow(cx, name, since, opts.polling, spinner).await?;
    let final_state = finished
        .state
        .ok_or_else(|| Error::aws(format!("{name} disappeared while it was being deployed")))?;
    if !final_state.is_complete() {
        // The failures of this operation, read per operation where CloudFormation offers it
        // (DescribeEvents); otherwise, or when that read fails, the stack events seen while
        // following it.
        let per_operation = match aws::operation_of(&finished.events) {
            Some(op) => aws::failures_of(cfn, name, op)
                .await
                .ok()
                .filter(|f| f.iter().any(|e| e.is_failure() && !e.is_stack_event())),
            None => None,
        };
        let failures = per_operation.as_deref().unwrap_or(&finished.events);
        let cause = match aws::root_cause(failures) {
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
        if workers_never_signalled(&finished.events) || workers_never_signalled(failures) {
            msg.push_str(WORKERS_DID_NOT_SIGNAL);
        }
        if final_state.is_failed_without_rollback() {
            msg.push_str(&format!(
                ". Rollback was disabled, so {name} stays in {} with what it provisioned: fix the cause and run `qfleet deploy {}` again (it goes on from there), or tear it down with `qfleet teardown {}`",
                final_state.status.as_str(),
                env.name,
                env.name
            ));
        }
        if creating
            && (queue_name_cooling_down(&finished.events) || queue_name_cooling_down(failures))
        {
            return Err(AwsError::with_kind(msg, Kind::QueueNameCoolingDown).into());
        }
        // A fleet's update may have been stopped by one of its rollback alarms: said, with
        // what to run next, and carried in the JSON error.
        if !creating && d.role == StackRole::Fleet {
            let cause = super::rollback::cause(cx, name, began).await;
            msg.push_str(&rolled_back(cx, name, &cause));
            return Err(AwsError::new(msg).with_rollback(cause).into());
        }
        return Err(Error::aws(msg));
    }
    // Unknown (not in the answer) is set, not assumed.
    if final_state.termination_protection != Some(d.termination_protection) {
        aws::set_termination_protection(cfn, name, d.termination_protection).await?;
    }
    reporter.line(format!("{name}: {}", final_state.status.as_str()));
    Ok(final_state)
}

/// What a fleet stack's rollback alarms add to its failure: the stage it is the fleet of, and
/// whether `qfleet jobs` has records to show.
fn rolled_back(cx: &Ctx<'_>, stack: &str, cause: &crate::aws::RollbackCause) -> String {
    let env = cx.env;
    let stage = env
        .pipeline
        .iter()
        .find(|s| s.fleet_stack_name() == stack)
        .and_then(|s| s.pipeline_stage())
        .map(|s| s.name.as_str());
    super::rollback::sentences(cause, &env.name, stage, env.spec.jobs.is_some())
}

/// The ledger's name for one stack's step: `deploy STACK`, under way from ExecuteChangeSet
/// on; `plan STACK` for a plan, which executes nothing (an interrupted plan says so).
pub(crate) fn ledger_step(mode: super::Mode, stack: &str) -> String {
    match mode {
        super::Mode::Deploy => format!("deploy {stack}"),
        super::Mode::Plan => format!("plan {stack}"),
    }
}
