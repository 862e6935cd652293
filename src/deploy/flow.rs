//! One environment's deploy or plan: prepare both stacks at once (their change sets created
//! and computed, nothing executed), show both previews, ask once (or go ahead with `--yes`),
//! then execute both at once when that is safe, else the data stack and then the fleet (see
//! [`together`]). Whatever is not
//! executed in the end — after a no, a refusal, a failure — is deleted: the change sets and the
//! empty review stacks their creation made.

use super::Ctx;
use super::consent::{self, Decision, Loss};
use super::desired::DesiredStack;
use super::execute;
use super::prepare::{self, Prepared};
use super::{Action, Mode, StackOutcome, fleet_network, ledger_step, preview, recover};
use crate::aws::cfn::changesets;
use crate::aws::cfn::stacks;
use crate::aws::error::AwsError;
use crate::config::Environment;
use crate::config::schema::WorkerKind;
use crate::error::{Error, Result};
use crate::output::progress::{Question, Reporter};
use crate::render::{self, StackRole};

/// How an environment's run ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Done,
    /// The question was answered no: nothing was changed.
    Cancelled,
}

pub async fn run(cx: &Ctx<'_>, done: &mut Vec<StackOutcome>) -> Result<Ended> {
    let Ctx {
        clients,
        env,
        mode,
        opts,
        reporter,
        ..
    } = *cx;
    let rendered = render::render(env)?;
    let cfn = &clients.cfn;
    // Both stacks are described at once: a no-op deploy costs these two calls and nothing more.
    let (data_state, fleet_state) =
        stacks::describe_pair(cfn, &env.data_stack_name(), &env.fleet_stack_name()).await?;
    reporter.ledger.plan(
        &env.name,
        rendered
            .iter()
            .map(|s| ledger_step(&s.stack_name))
            .collect(),
    );

    let (express, warning) = super::express(env, opts);
    if let Some(w) = &warning {
        reporter.line(w);
        reporter.event(
            "warning",
            serde_json::json!({ "environment": env.name, "message": w }),
        );
    }
    // Both stacks are prepared at once: the fleet refers to the data stack's resources only by
    // their names, so its change set does not wait for the data stack's.
    let (Some(data), Some(fleet)) = (rendered.first(), rendered.get(1)) else {
        return Err(crate::error::Error::aws(format!(
            "{}: rendering gave no data and fleet stacks",
            env.name
        )));
    };
    let one = |stack, state| prepare_stack(cx, stack, state, express);
    let (data, fleet) = futures::join!(one(data, data_state), one(fleet, fleet_state));
    let prepared: Vec<Prepared> = match (data, fleet) {
        (Ok(d), Ok(f)) => vec![d, f],
        (d, f) => {
            let (mut ok, mut errors) = (Vec::new(), Vec::new());
            for r in [d, f] {
                match r {
                    Ok(p) => ok.push(p),
                    Err(e) => errors.push(e),
                }
            }
            discard(cx, &ok).await;
            return Err(one_error(errors));
        }
    };

    let block = show(&prepared, reporter);
    let losses: Vec<Loss> = prepared
        .iter()
        .flat_map(|p| {
            p.changes().iter().filter(|c| c.loses_data()).map(|c| Loss {
                stack: &p.desired.name,
                change: c,
            })
        })
        .collect();

    if mode == Mode::Plan {
        reporter.detail(&block);
        let deleted = discard_strictly(cx, &prepared).await;
        for p in &prepared {
            finish(env, p, p.plan_action(), reporter, done);
        }
        deleted?;
        return Ok(Ended::Done);
    }

    if prepared.iter().any(Prepared::has_changes) {
        let decision = consent::decide(&env.name, &losses, opts);
        let asked = match decision {
            Decision::Go => {
                reporter.detail(&block);
                Ok(true)
            }
            Decision::Refuse(e) => {
                reporter.detail(&block);
                Err(e)
            }
            Decision::Ask { loses_data } => {
                let stacks: Vec<&str> = prepared
                    .iter()
                    .filter(|p| p.has_changes())
                    .map(|p| p.desired.name.as_str())
                    .collect();
                let text = consent::question(&env.name, &stacks, &losses);
                reporter
                    .ask(Question {
                        environment: &env.name,
                        preview: &block,
                        text: &text,
                        loses_data,
                    })
                    .await
            }
        };
        match asked {
            Ok(true) => {}
            Ok(false) => {
                discard(cx, &prepared).await;
                for p in &prepared {
                    // Only a stack with changes was cancelled; the other had nothing to do.
                    let action = if p.has_changes() {
                        Action::Cancelled
                    } else {
                        Action::NoChanges
                    };
                    finish(env, p, action, reporter, done);
                }
                let said = crate::output::progress::cancelled(&env.name);
                reporter.line(&said);
                reporter.event(
                    "cancelled",
                    serde_json::json!({ "environment": env.name, "message": said }),
                );
                return Ok(Ended::Cancelled);
            }
            Err(e) => {
                discard(cx, &prepared).await;
                return Err(e);
            }
        }
    } else {
        reporter.detail(&block);
    }

    let record = |outcome: StackOutcome, done: &mut Vec<StackOutcome>| {
        reporter.ledger.finish(
            &env.name,
            &ledger_step(&outcome.stack),
            format!("{} {}", outcome.stack, outcome.action.text()),
        );
        done.push(outcome);
    };
    if let [data, fleet] = prepared.as_slice()
        && together(data, fleet, env.spec.workers.kind)
    {
        // Both stacks stand and the data stack's update keeps every resource that holds data:
        // the fleet's update does not wait for it (a deploy takes as long as the slower one).
        let (sd, sf) = (
            reporter.spinner(&data.desired.name),
            reporter.spinner(&fleet.desired.name),
        );
        let (d, f) = futures::join!(
            execute::apply(cx, data, &sd),
            execute::apply(cx, fleet, &sf),
        );
        let mut errors = Vec::new();
        for r in [d, f] {
            match r {
                Ok(outcome) => record(outcome, done),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(one_error(errors));
        }
    } else {
        // The data stack first: a fleet being created needs the queue (the workers' health
        // gate waits for a receive, a function's mapping names the queue).
        for (i, p) in prepared.iter().enumerate() {
            let spinner = reporter.spinner(&p.desired.name);
            match execute::apply(cx, p, &spinner).await {
                Ok(outcome) => record(outcome, done),
                Err(e) => {
                    // The stacks after it are not deployed: their change sets go.
                    discard(cx, &prepared[i + 1..]).await;
                    return Err(e);
                }
            }
        }
    }
    if express && prepared.iter().any(Prepared::has_changes) {
        let said = super::express_done(&env.name);
        reporter.line(&said);
        reporter.event(
            "express",
            serde_json::json!({ "environment": env.name, "message": said }),
        );
    }
    Ok(Ended::Done)
}

/// Prepares one of the environment's stacks (see [`prepare::prepare`]).
async fn prepare_stack(
    cx: &Ctx<'_>,
    stack: &render::RenderedStack,
    state: Option<stacks::StackState>,
    express: bool,
) -> Result<Prepared> {
    let Ctx {
        clients,
        env,
        opts,
        reporter,
        ..
    } = *cx;
    let spinner = reporter.spinner(&stack.stack_name);
    let network = match stack.role {
        StackRole::Fleet if env.spec.workers.kind == WorkerKind::Ec2 => {
            Some(fleet_network(clients, env, state.as_ref(), opts).await?)
        }
        // The data stack and a worker function have no network of qfleet's.
        _ => None,
    };
    let mut desired = DesiredStack::new(env, stack, network.as_ref());
    desired.express = express;
    desired.revert_drift = opts.revert_drift;
    prepare::prepare(cx, desired, state, &spinner).await
}

/// Whether the two stacks' change sets may run at the same time: both change, and the data
/// stack is an update (it stands; the fleet's workers and mapping find its queue) that
/// replaces or removes nothing holding data. A worker function's mapping is checked against
/// the queue's settings when it is created or changed (its visibility timeout against the
/// function's timeout), so a change to the queue goes first there.
fn together(data: &Prepared, fleet: &Prepared, kind: WorkerKind) -> bool {
    let updating = matches!(
        data.step,
        prepare::Step::ChangeSet {
            creating: false,
            ..
        }
    );
    let queue_changes = data
        .changes()
        .iter()
        .any(|c| c.logical_id == crate::render::ids::QUEUE);
    data.has_changes()
        && fleet.has_changes()
        && updating
        && !data.changes().iter().any(|c| c.loses_data())
        && !(kind == WorkerKind::Lambda && queue_changes)
}

/// One error for the environment: the first, or both stacks' when both are AWS failures.
fn one_error(mut errors: Vec<Error>) -> Error {
    if errors.len() == 2
        && let (Error::Aws(a), Error::Aws(b)) = (&errors[0], &errors[1])
    {
        return Error::Aws(AwsError::with_kind(format!("{a}; and {b}"), a.kind));
    }
    if errors.is_empty() {
        return Error::aws("the deploy failed without an error");
    }
    errors.swap_remove(0)
}

/// The preview of both stacks as one block (printed with the question, or on its own), and
/// the events that say the same in JSON.
fn show(prepared: &[Prepared], reporter: &Reporter) -> String {
    let mut lines = Vec::new();
    for p in prepared {
        let name = &p.desired.name;
        for n in &p.notes {
            lines.push(if n.starts_with(name.as_str()) {
                n.clone()
            } else {
                format!("{name}: {n}")
            });
        }
        if !p.has_changes() {
            lines.push(format!("{name}: no changes"));
            continue;
        }
        let changes = p.changes();
        lines.push(preview::heading(name, p.creating(), changes.len()));
        lines.push(preview::changes(changes));
        reporter.event(
            "changes",
            serde_json::json!({ "stack": name, "creating": p.creating(), "changes": changes }),
        );
        if let Some((from, to)) = super::changeset::kind_switch(changes) {
            let text = super::changeset::describe_switch(from, to);
            lines.push(format!("{name}: {text}"));
            reporter.event(
                "switch",
                serde_json::json!({ "stack": name, "from": from, "to": to, "message": text }),
            );
        }
        if let Some((cs, _)) = p.change_set() {
            for v in cs.warnings() {
                let text = format!("pre-deployment validation {}", v.describe());
                lines.push(format!("WARNING: {name}: {text}"));
                reporter.event(
                    "validation",
                    serde_json::json!({ "stack": name, "validation": v, "message": text }),
                );
            }
            if let Some(why) = &cs.validation_unread {
                let text = format!(
                    "CloudFormation's pre-deployment validation results could not be read ({why}); its checks still run when the change set executes"
                );
                lines.push(format!("{name}: {text}"));
                reporter.event(
                    "validation_unread",
                    serde_json::json!({ "stack": name, "message": text }),
                );
            }
        }
        for c in changes.iter().filter(|c| c.loses_data()) {
            lines.push(format!(
                "WARNING: {name}: this change {}",
                c.describe_loss()
            ));
            reporter.event(
                "warning",
                serde_json::json!({ "stack": name, "change": c, "message": c.describe_loss() }),
            );
        }
    }
    lines.join("\n")
}

/// Records a stack that ends without being executed (plan, or cancelled).
fn finish(
    env: &Environment,
    p: &Prepared,
    action: Action,
    reporter: &Reporter,
    done: &mut Vec<StackOutcome>,
) {
    let name = &p.desired.name;
    reporter.event(
        "stack",
        serde_json::json!({ "stack": name, "action": action }),
    );
    reporter.ledger.finish(
        &env.name,
        &ledger_step(name),
        format!("{name} {}", action.text()),
    );
    done.push(StackOutcome {
        stack: name.clone(),
        role: p.desired.role,
        action,
        status: p.state.as_ref().map(|s| s.status.as_str().to_string()),
        duration_ms: p.started.elapsed().as_millis(),
        changes: p.changes().to_vec(),
        notes: p.notes.clone(),
        outputs: p
            .state
            .as_ref()
            .map(|s| s.outputs.clone())
            .unwrap_or_default(),
    });
}

/// Deletes the unexecuted change sets of `prepared` (and the review stacks of first creates,
/// waiting until they are gone); what fails to go is left to the next run's recovery.
async fn discard(cx: &Ctx<'_>, prepared: &[Prepared]) {
    let _ = discard_strictly(cx, prepared).await;
}

/// Like [`discard`], returning the first change set that could not be deleted (a plan says so).
async fn discard_strictly(cx: &Ctx<'_>, prepared: &[Prepared]) -> Result<()> {
    let Ctx {
        clients,
        inflight,
        opts,
        ..
    } = *cx;
    let mut first = Ok(());
    for p in prepared {
        let Some((cs, creating)) = p.change_set() else {
            continue;
        };
        if inflight.was_executed(&cs.id) {
            continue;
        }
        let name = &p.desired.name;
        let deleted = changesets::delete(&clients.cfn, &cs.id, name).await;
        // Only a review stack this run made: one that stood before is someone's first deploy.
        if creating && p.state.is_none() {
            recover::abandon_review_stack_and_wait(
                &clients.cfn,
                name,
                p.desired.role_arn.as_deref(),
                opts.polling,
            )
            .await;
        }
        inflight.done(&cs.id);
        if first.is_ok() {
            first = deleted;
        }
    }
    Ok(first?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::cfn::changesets::{Change, ChangeSet};
    use aws_sdk_cloudformation::types::{ChangeAction, Replacement};

    fn prepared(role: StackRole, creating: bool, changes: &[(&str, &str, bool)]) -> Prepared {
        let env =
            crate::config::parse("stacks/mk.yaml".into(), "region: eu-west-1\n".into()).unwrap();
        let rendered = render::render(&env).unwrap();
        let stack = rendered.iter().find(|s| s.role == role).unwrap();
        let changes = changes
            .iter()
            .map(|(id, ty, replaced)| Change {
                action: ChangeAction::Modify,
                logical_id: id.to_string(),
                resource_type: ty.to_string(),
                replacement: Some(if *replaced {
                    Replacement::True
                } else {
                    Replacement::False
                }),
                details: Some(vec![]),
                drift: None,
            })
            .collect();
        Prepared {
            desired: DesiredStack::new(&env, stack, None),
            state: None,
            step: prepare::Step::ChangeSet {
                cs: ChangeSet {
                    id: "cs".into(),
                    stack: stack.stack_name.clone(),
                    changes,
                    empty: false,
                    validations: vec![],
                    validation_unread: None,
                },
                creating,
            },
            notes: vec![],
            started: std::time::Instant::now(),
        }
    }

    #[test]
    fn both_stacks_run_together_only_when_the_data_stack_stands_and_keeps_its_data() {
        let fleet = prepared(
            StackRole::Fleet,
            false,
            &[("WorkerGroup", "AWS::AutoScaling::AutoScalingGroup", false)],
        );
        let queue = ("Queue", "AWS::SQS::Queue", false);
        let alarm = ("DlqAlarm", "AWS::CloudWatch::Alarm", false);
        let update = prepared(StackRole::Data, false, &[queue]);
        assert!(together(&update, &fleet, WorkerKind::Ec2));
        // Created: the workers' health gate needs the queue first.
        let create = prepared(StackRole::Data, true, &[queue]);
        assert!(!together(&create, &fleet, WorkerKind::Ec2));
        // Replacing the queue loses its messages: one step at a time.
        let replace = prepared(
            StackRole::Data,
            false,
            &[("Queue", "AWS::SQS::Queue", true)],
        );
        assert!(!together(&replace, &fleet, WorkerKind::Ec2));
        // A function's mapping is checked against the queue's settings: the queue goes first.
        assert!(!together(&update, &fleet, WorkerKind::Lambda));
        let alarms_only = prepared(StackRole::Data, false, &[alarm]);
        assert!(together(&alarms_only, &fleet, WorkerKind::Lambda));
        // Nothing to wait for when one stack does not change.
        let unchanged = Prepared {
            step: prepare::Step::Nothing,
            ..prepared(StackRole::Fleet, false, &[])
        };
        assert!(!together(&update, &unchanged, WorkerKind::Ec2));
    }
}
