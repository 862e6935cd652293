//! The first half of a stack's deploy (all of a plan): bring the stack to a state a change set
//! can start from, take the fast no-op when nothing changed, and otherwise create and compute
//! its change set. Nothing the user has to confirm is done here: the change sets of both
//! stacks are created before either is executed (the fleet refers to the data stack's
//! resources only by their names, so its change set does not need them to exist).

use super::Ctx;
use super::adopt;
use super::desired::DesiredStack;
use super::event::Event;
use super::{Action, Mode, recover};
use crate::aws::StackState;
use crate::aws::{self, ChangeSet, ResourceChange as Change};
use crate::error::{Error, Result};
use crate::output::Spinner;
use crate::render::{StackRole, ids};
use aws_sdk_cloudformation::types::ChangeAction;
use std::time::Instant;

/// A stack, ready to be executed once the environment's changes are confirmed.
pub(super) struct Prepared {
    pub(super) desired: DesiredStack,
    /// The stack as it stands (after waiting, recovering or continuing a rollback).
    pub(super) state: Option<StackState>,
    pub(super) step: Step,
    /// What the preview says about the stack besides its changes.
    pub(super) notes: Vec<String>,
    /// A fleet update that brings a new worker version (see [`super::version`]).
    pub(super) new_version: Option<super::version::NewVersion>,
    pub(super) started: Instant,
}

/// What executing a prepared stack does.
pub(super) enum Step {
    /// Nothing to change (the fast no-op, or a change set CloudFormation found empty).
    Nothing,
    /// Only termination protection differs: turned on or off, no change set.
    Protection,
    /// A computed change set.
    ChangeSet { cs: ChangeSet, creating: bool },
    /// The stack failed to create earlier (ROLLBACK_COMPLETE): it is deleted and created again
    /// from the template, whose resources `changes` lists (all added).
    Recreate { changes: Vec<Change> },
    /// The environment's bucket stands outside any stack (an earlier teardown kept it): it is
    /// imported into a new stack, then the rest is created (`changes`: from the template).
    Import {
        bucket: String,
        changes: Vec<Change>,
    },
}

impl Prepared {
    /// The changes the preview shows.
    pub(super) fn changes(&self) -> &[Change] {
        match &self.step {
            Step::ChangeSet { cs, .. } => &cs.changes,
            Step::Recreate { changes } | Step::Import { changes, .. } => changes,
            Step::Nothing | Step::Protection => &[],
        }
    }

    pub(super) fn creating(&self) -> bool {
        match &self.step {
            Step::ChangeSet { creating, .. } => *creating,
            Step::Recreate { .. } | Step::Import { .. } => true,
            Step::Nothing | Step::Protection => false,
        }
    }

    /// Executing it changes resources (and needs consent).
    pub(super) fn has_changes(&self) -> bool {
        !matches!(self.step, Step::Nothing | Step::Protection)
    }

    /// What a plan reports for it.
    pub(super) fn plan_action(&self) -> Action {
        match &self.step {
            Step::Nothing | Step::Protection => Action::NoChanges,
            Step::ChangeSet { creating: true, .. } | Step::Import { .. } => Action::WouldCreate,
            Step::ChangeSet { .. } => Action::ChangesPending,
            Step::Recreate { .. } => Action::WouldRecreate,
        }
    }

    /// The computed change set not executed yet, if any.
    pub(super) fn change_set(&self) -> Option<(&ChangeSet, bool)> {
        match &self.step {
            Step::ChangeSet { cs, creating } => Some((cs, *creating)),
            _ => None,
        }
    }
}

/// The resources a template declares, each as a change that adds it (`import`: the one
/// brought in instead).
fn template_changes(template: &str, import: Option<&str>) -> Result<Vec<Change>> {
    let bad = |why: String| Error::aws(format!("reading the rendered template: {why}"));
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(template).map_err(|e| bad(e.to_string()))?;
    let resources = doc
        .get("Resources")
        .and_then(|r| r.as_mapping())
        .ok_or_else(|| bad("no Resources".into()))?;
    resources
        .iter()
        .map(|(id, r)| {
            let (Some(id), Some(ty)) = (id.as_str(), r.get("Type").and_then(|t| t.as_str())) else {
                return Err(bad("a resource without a name or a type".into()));
            };
            Ok(Change {
                action: if Some(id) == import {
                    ChangeAction::Import
                } else {
                    ChangeAction::Add
                },
                logical_id: id.to_string(),
                resource_type: ty.to_string(),
                replacement: None,
                details: Some(vec![]),
                drift: None,
            })
        })
        .collect()
}

/// Creates the stack's change set and waits until it is computed. It is registered before it
/// is sent (an interrupt meanwhile still finds it); one that fails is not left behind, nor the
/// empty review stack a first one made (`owns_stack`: the stack did not exist before this run;
/// a review stack that did is someone's first deploy waiting at its question).
pub(super) async fn change_set(
    cx: &Ctx<'_>,
    desired: &DesiredStack,
    creating: bool,
    owns_stack: bool,
) -> Result<ChangeSet> {
    let Ctx {
        env,
        opts,
        inflight,
        ..
    } = *cx;
    let cfn = &cx.clients.cfn;
    let name = &desired.name;
    let cs_name = aws::new_change_set_name();
    inflight.add(
        cfn,
        name,
        &cs_name,
        &env.name,
        (creating && owns_stack).then(|| desired.role_arn.clone()),
    );
    let mut id = None;
    let created = async {
        let made = match aws::create_change_set(cfn, &desired.request(creating), &cs_name).await {
            Ok(made) => made,
            // Refused because nothing would change: no change set was made, so none is left.
            Err(e) if !creating && aws::is_nothing_to_update(&e) => {
                inflight.done(&cs_name);
                return Ok(ChangeSet::empty(&cs_name, name));
            }
            Err(e) => return Err(e.into()),
        };
        let id = id.insert(made);
        inflight.identified(&cs_name, id);
        let mut cs = aws::computed_change_set(cfn, name, id, opts.polling).await?;
        if !cs.empty {
            cs.read_validation(cfn).await;
        }
        Ok::<ChangeSet, Error>(cs)
    }
    .await;
    match created {
        Ok(cs) => Ok(cs),
        Err(e) => {
            // Whatever went wrong after CreateChangeSet (a wait that ran out, an answer that
            // could not be read), the change set is not left behind on the stack.
            if let Some(id) = &id {
                let _ = aws::delete_change_set(cfn, id, name).await;
                inflight.done(id);
            }
            inflight.done(&cs_name);
            if creating && owns_stack {
                recover::abandon_review_stack(cfn, name, desired.role_arn.as_deref()).await;
            }
            Err(e)
        }
    }
}

/// What the preview says of a stack an earlier operation left in CREATE_FAILED or
/// UPDATE_FAILED (rollback disabled: an express deploy of an earlier qfleet, or another tool).
fn failed_note(name: &str, s: &StackState, revert_drift: bool) -> String {
    format!(
        "{name} is in {} ({}): an earlier operation failed with rollback disabled and kept what it had provisioned; this deploy goes on from there with rollback disabled, as CloudFormation requires (a change that replaces a resource is refused that way){}",
        s.status.as_str(),
        s.status_reason.as_deref().unwrap_or("no reason given"),
        if revert_drift {
            "; not drift-aware: a drift-aware change set needs rollback"
        } else {
            ""
        }
    )
}

/// The note of a bucket an earlier teardown kept, imported into the new data stack; one
/// that is not this environment's (taken with `--adopt`) is a warning too.
fn import_note(cx: &Ctx<'_>, desired: &DesiredStack, bucket: &str, lacks: &[String]) -> String {
    let (env, reporter) = (cx.env, cx.reporter);
    if lacks.is_empty() {
        format!(
            "bucket {bucket} was kept by an earlier teardown; deploy imports it into the new stack first (an IMPORT change set), then creates the rest"
        )
    } else {
        let w = format!(
            "{}: --adopt: bucket {bucket} stands outside any stack and is not qfleet's for this environment (it lacks {}); deploy imports it into the new stack first (an IMPORT change set), then creates the rest",
            env.name,
            lacks.join(" and ")
        );
        reporter.line(format!("warning: {w}"));
        reporter.event(Event::Warning {
            environment: Some(env.name.clone()),
            stack: Some(desired.name.clone()),
            change: None,
            message: w.clone(),
        });
        w
    }
}

/// An empty change set, deleted: nothing to deploy but termination protection where it
/// differs. A failed stack with nothing to change is still failed: never "no changes".
async fn nothing_to_change(
    cx: &Ctx<'_>,
    desired: &DesiredStack,
    state: Option<&StackState>,
    made: Option<&str>,
    owns_stack: bool,
) -> Result<Step> {
    let (cfn, env, mode, inflight) = (&cx.clients.cfn, cx.env, cx.mode, cx.inflight);
    let name = desired.name.clone();
    // The empty change set, when CloudFormation made one (not when it refused to).
    if let Some(id) = made {
        aws::delete_change_set(cfn, id, &name).await?;
        inflight.done(id);
    }
    if owns_stack {
        recover::abandon_review_stack(cfn, &name, desired.role_arn.as_deref()).await;
    }
    // A failed stack with nothing to change is still failed: never "no changes".
    if let Some(s) = state.filter(|s| s.is_failed_without_rollback()) {
        return Err(Error::aws(format!(
            "{name} is in {} ({}) and this template changes nothing CloudFormation can go on with: fix what failed and deploy a changed stack file, roll the stack back (`aws cloudformation rollback-stack --stack-name {name}`; CloudFormation refuses that for a stack last updated in express mode), or tear it down with `qfleet teardown {}` (which checks the data first) and deploy again",
            s.status.as_str(),
            s.status_reason.as_deref().unwrap_or("no reason given"),
            env.name
        )));
    }
    let step = match state {
        Some(s)
            if mode == Mode::Deploy
                && s.termination_protection != Some(desired.termination_protection) =>
        {
            Step::Protection
        }
        _ => Step::Nothing,
    };
    Ok(step)
}

/// Prepares one stack of a deploy or plan.
/// The fast no-op: DescribeStacks already says whether the template, parameters and tags are
/// the deployed ones. Not for a drift-aware deploy (`--revert-drift`): a stack whose template
/// is the deployed one may still have drifted, and only the change set can tell; not with
/// `--force`. Only a stack whose last operation completed (or rolled back) is what its
/// parameters say: one in UPDATE_FAILED carries the failed update's fingerprint.
pub(super) fn deployed_as_desired(
    desired: &DesiredStack,
    state: &StackState,
    opts: &super::Options,
) -> bool {
    !opts.force && !desired.revert_drift && state.is_stable() && desired.matches(state)
}

/// Whether the stack needs nothing of a deploy: deployed as desired, its termination
/// protection as the file asks. Such a stack is no reason to take the lock or to read what
/// only a change needs (quotas, the workers' way out).
pub(super) fn unchanged(
    desired: &DesiredStack,
    state: Option<&StackState>,
    opts: &super::Options,
) -> bool {
    state.is_some_and(|s| {
        deployed_as_desired(desired, s, opts)
            && s.termination_protection == Some(desired.termination_protection)
    })
}

pub(super) async fn prepare(
    cx: &Ctx<'_>,
    desired: DesiredStack,
    state: Option<StackState>,
    spinner: &Spinner,
) -> Result<Prepared> {
    let Ctx {
        clients,
        env,
        mode,
        opts,
        reporter,
        inflight,
    } = *cx;
    let cfn = &clients.cfn;
    let started = Instant::now();
    let name = desired.name.clone();
    let state = recover::settle(cx, &name, state, spinner).await?;
    let ready = |desired, state, step, notes| Prepared {
        desired,
        state,
        step,
        notes,
        new_version: None,
        started,
    };

    if state.as_ref().is_some_and(|s| s.is_failed_create()) {
        let note = match mode {
            Mode::Plan => "failed to create earlier (ROLLBACK_COMPLETE); deploy deletes it and creates it again".to_string(),
            Mode::Deploy => format!("{name} failed to create and is in ROLLBACK_COMPLETE: it has to be deleted before it can be created again"),
        };
        let changes = template_changes(&desired.template, None)?;
        return Ok(ready(
            desired,
            state,
            Step::Recreate { changes },
            vec![note],
        ));
    }
    // A bucket an earlier teardown kept is brought into the new data stack, not created again.
    if desired.role == StackRole::Data
        && state.as_ref().is_none_or(|s| s.is_review())
        && let Some((bucket, lacks)) = adopt::kept_bucket(clients, env, opts.adopt).await?
    {
        let note = import_note(cx, &desired, &bucket, &lacks);
        let changes = template_changes(&desired.template, Some(ids::BUCKET))?;
        return Ok(ready(
            desired,
            state,
            Step::Import { bucket, changes },
            vec![note],
        ));
    }

    if let Some(s) = &state
        && deployed_as_desired(&desired, s, opts)
    {
        let step = if s.termination_protection == Some(desired.termination_protection)
            || mode == Mode::Plan
        {
            Step::Nothing
        } else {
            Step::Protection
        };
        return Ok(ready(desired, state, step, vec![]));
    }

    let creating = state.as_ref().is_none_or(|s| s.is_review());
    let owns_stack = state.is_none();
    let mut desired = desired;
    let mut notes = Vec::new();
    if let Some(s) = state.as_ref().filter(|s| s.is_failed_without_rollback()) {
        desired.continue_failed = true;
        notes.push(failed_note(&name, s, desired.revert_drift));
    }
    // A fleet's update carries its rollback triggers (an EC2 group's alarms; none otherwise,
    // which removes any saved); with rollback disabled there is nothing they could do.
    if !creating && desired.role == StackRole::Fleet {
        let (triggers, said) = match super::triggers::watched(&desired.template) {
            Err(why) => super::triggers::unread(&name, &format!("reading the template: {why}")),
            Ok(watched) => {
                let watched = watched.filter(|_| !desired.continue_failed);
                let standing = match &watched {
                    Some(_) => {
                        spinner.set("reading the rollback alarms");
                        crate::aws::standing_alarms(&cx.clients.cloudwatch, &name)
                            .await
                            .map_err(|e| e.to_string())
                    }
                    None => Ok(Vec::new()),
                };
                super::triggers::triggers(&name, watched.as_ref(), standing)
            }
        };
        desired.rollback = Some(triggers);
        notes.extend(said);
    }
    spinner.set("computing changes");
    let cs = change_set(cx, &desired, creating, owns_stack).await?;
    // Announced when CloudFormation made it: one refused at creation because nothing would
    // change has no id, and nothing of it is left.
    if cs.made {
        reporter.event(Event::ChangeSet {
            stack: name.clone(),
            id: cs.id.clone(),
            empty: cs.empty,
        });
    }
    if cs.empty {
        let made = cs.made.then_some(cs.id.as_str());
        let step = nothing_to_change(cx, &desired, state.as_ref(), made, owns_stack).await?;
        return Ok(ready(desired, state, step, vec![]));
    }
    if desired.continue_failed {
        let replaced: Vec<&str> = cs
            .changes
            .iter()
            .filter(|c| c.action == ChangeAction::Modify && c.replaces() != Some(false))
            .map(|c| c.logical_id.as_str())
            .collect();
        if !replaced.is_empty() {
            let _ = aws::delete_change_set(cfn, &cs.id, &name).await;
            inflight.done(&cs.id);
            return Err(Error::aws(format!(
                "{name} is in {}: CloudFormation goes on from there only with rollback disabled, and then refuses changes that replace a resource ({}); roll the stack back first (`aws cloudformation rollback-stack --stack-name {name}`), or tear it down with `qfleet teardown {}` and deploy again",
                state
                    .as_ref()
                    .map_or("a failed state", |s| s.status.as_str()),
                replaced.join(", "),
                env.name
            )));
        }
    }
    // The role's declared grants change: say what the workers will be allowed.
    if cs.changes.iter().any(|c| {
        c.resource_type == "AWS::IAM::Role"
            || (c.resource_type == "AWS::IAM::ManagedPolicy" && c.logical_id.contains("Declared"))
    }) {
        for line in crate::config::describe_grants(&env.spec.workers) {
            notes.push(format!("{name}: the workers get {line}"));
        }
    }
    if desired.revert_drift && !creating && cs.changes.iter().all(|c| c.drift.is_none()) {
        // Asked for a drift-aware change set and got no drift status: what changed outside
        // CloudFormation is unknown, not "nothing".
        notes.push(format!(
            "{name}: CloudFormation reported no drift status in the change set: changes made outside CloudFormation are not known, so the preview cannot show which ones this deploy overwrites"
        ));
    }
    // A new worker version is named, with what replaces the workers and what watches it.
    let new_version = match (creating, desired.role) {
        (false, StackRole::Fleet) => super::version::of_update(env, &desired, &cs.changes),
        _ => None,
    };
    if let Some(v) = &new_version {
        notes.push(super::version::said(&name, v));
    }
    notes.extend(job_notes(env, desired.role, &name));
    Ok(Prepared {
        new_version,
        ..ready(desired, state, Step::ChangeSet { cs, creating }, notes)
    })
}

/// A fleet stack that changes: how its workers' failures come back, with queue.retry, and
/// where its jobs' tenant is read, with queue.tenant.
fn job_notes(env: &crate::config::Environment, role: StackRole, name: &str) -> Vec<String> {
    if role != StackRole::Fleet {
        return Vec::new();
    }
    let q = &env.spec.queue;
    let attempts = u64::try_from(q.max_receive_count).unwrap_or(1);
    let retry = q
        .retry
        .as_ref()
        .map(|r| format!("{name}: {} (queue.retry)", r.describe(attempts)));
    let tenant = env.tenant_line().map(|line| format!("{name}: {line}"));
    let priority = env.priority_line().map(|line| format!("{name}: {line}"));
    retry.into_iter().chain(tenant).chain(priority).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_lists_its_resources_as_additions_and_the_import() {
        let env = crate::config::load(std::path::Path::new("stacks/prod.yaml"))
            .unwrap()
            .into_only();
        let data = &crate::render::render(&env).unwrap()[0];
        let changes = template_changes(&data.template, Some(ids::BUCKET)).unwrap();
        let bucket = changes
            .iter()
            .find(|c| c.logical_id == ids::BUCKET)
            .unwrap();
        assert_eq!(bucket.action, ChangeAction::Import);
        let queue = changes.iter().find(|c| c.logical_id == ids::QUEUE).unwrap();
        assert_eq!(
            (&queue.action, queue.resource_type.as_str()),
            (&ChangeAction::Add, "AWS::SQS::Queue")
        );
        assert!(changes.iter().all(|c| !c.loses_data()));
    }
}
