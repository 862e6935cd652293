//! The teardown of a target its stack file deploys through StackSets (`rollout.mode:
//! stack_sets`). Its stacks are read and decided on in its account and region like any
//! environment's ([`crate::ownership::stack_names`]); each stack qfleet decided to delete goes
//! as its stack set's instance (DeleteStackInstances with RetainStacks false: the stack is
//! deleted with it), in the same order (the fleet first, the data after the second look).
//! Then, for the stack sets this teardown covers ([`leftovers`], [`tidy`]): this target's
//! instance that has no stack there (its creation failed, or its stack was deleted by hand) is
//! deleted with RetainStacks true, so that a stack that does exist after all (AWS documents no
//! rule that an instance without a StackId has none) is kept, never deleted unchecked; and a
//! stack set left without any instance, still carrying the file's marks, is deleted, since a
//! stack set with instances cannot be
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStackSet.html>).
//! Both are in the teardown's question; a teardown that finds no stack asks about them alone.
//!
//! StackSets runs one operation at a time on a stack set: the targets of one file torn down
//! together take turns on each stack set ([`Locks`]), holding no slot of `--concurrency` while
//! they wait for it or for the operation.

use super::event::{Event, StackAction};
use super::schedule::Turn;
use super::{Ctx, TeardownOutcome};
use crate::aws::cfn::stack_sets::{self, Instance, MAX_POLLS};
use crate::error::{Error, Result};
use crate::rollout::{StackSetTarget, describe_ours};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One lock per stack set, shared by the run's environments (clones share them).
#[derive(Debug, Clone, Default)]
pub struct Locks(Arc<Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>>);

impl Locks {
    fn of(&self, set: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.entry(set.to_string()).or_default().clone()
    }
}

/// How the preview and the steps name a stack of a stack-set target.
pub fn label(t: &StackSetTarget, stack: &str) -> String {
    match t.of_stack(stack) {
        Some((set, _)) => format!(
            "{stack} (stack set {set}'s instance in {} {})",
            t.account, t.region
        ),
        None => stack.to_string(),
    }
}

/// Deletes the instance whose stack is `stack`, and waits for the operation's result for this
/// account and region.
pub async fn delete_instance(
    at: &Ctx<'_>,
    t: &StackSetTarget,
    stack: &str,
    turn: &mut Turn,
) -> Result<()> {
    let Some((set, instance)) = t.of_stack(stack) else {
        return Err(Error::aws(format!(
            "{stack}: no stack set's instance in {} {} has this stack",
            t.account, t.region
        )));
    };
    let spinner = at.reporter.spinner(stack);
    spinner.set(format!("waiting for stack set {set}"));
    turn.give_back();
    let lock = at.opts.stack_set_locks.of(set);
    let _one_at_a_time = lock.lock().await;
    turn.take().await;
    let deleted = delete_and_wait(at, t, set, t.unit_for(set), false, turn, |op| {
        spinner.set(format!("deleting (stack set {set}, operation {op})"));
        at.reporter.event(Event::Stack {
            stack: stack.to_string(),
            action: StackAction::Deleting,
        });
    })
    .await?;
    match deleted {
        Ok(()) => {
            at.reporter.line(format!(
                "{stack}: deleted with stack set {set}'s instance in {} {}",
                t.account, t.region
            ));
            Ok(())
        }
        // StackSets leaves an INOPERABLE instance out of updates, and AWS's way out keeps the
        // stack (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceSummary.html>).
        Err(why) if instance.status == "INOPERABLE" => Err(Error::aws(format!(
            "{stack}: stack set {set}'s instance in {} {} was not deleted: {why}. It is INOPERABLE (an earlier deletion or import of it failed): AWS's remedy is DeleteStackInstances with RetainStacks true, which keeps the stack, then deleting that stack yourself once its data is safe",
            t.account, t.region
        ))),
        Err(why) => Err(Error::aws(format!(
            "{stack}: stack set {set}'s instance in {} {} was not deleted: {why}. Fix the cause and run teardown again",
            t.account, t.region
        ))),
    }
}

/// Deletes this target's instance of `set` (keeping any stack with `keep_stack`) and waits
/// for the operation without a slot (`started` hears its id); the slot is given back when
/// this returns. With service-managed permissions, the account is named in `unit`. Its result
/// for the target's account and region: done, or why not.
async fn delete_and_wait(
    at: &Ctx<'_>,
    t: &StackSetTarget,
    set: &str,
    unit: Option<&str>,
    keep_stack: bool,
    turn: &mut Turn,
    started: impl FnOnce(&str),
) -> Result<std::result::Result<(), String>> {
    let op = stack_sets::delete_instance(
        t.api(),
        set,
        &t.account,
        unit,
        &t.region,
        keep_stack,
        &stack_sets::operation_token(set),
    )
    .await?;
    started(&op);
    turn.give_back();
    let ended = {
        let _under_way = at.opts.schedule.waiting();
        stack_sets::wait(
            t.api(),
            set,
            &op,
            at.opts.polling,
            MAX_POLLS,
            &[(t.account.as_str(), t.region.as_str())],
        )
        .await?
    };
    let of_op = format!(
        "the operation {}{}",
        ended.status,
        ended
            .reason
            .as_ref()
            .map(|x| format!(" ({x})"))
            .unwrap_or_default()
    );
    Ok(match ended.result(&t.account, &t.region) {
        Some(r) if r.status == "SUCCEEDED" => Ok(()),
        Some(r) => Err(format!(
            "{of_op}, here {}: {}",
            r.status,
            r.reason.as_deref().unwrap_or("StackSets gave no reason")
        )),
        None => Err(format!("{of_op}, and its results name no instance here")),
    })
}

/// Whether this target's instance of a stack set goes in [`tidy`]: one without a stack, or
/// with `stacks_absent` (the teardown read each of the target's stacks as absent) any.
fn leftover(t: &StackSetTarget, i: &Instance, stacks_absent: bool) -> bool {
    i.account == t.account && i.region == t.region && (i.stack_id.is_none() || stacks_absent)
}

/// What [`tidy`] would delete, said for the question: this target's instances without a stack
/// there, and the stack sets that would be left without any instance.
pub async fn leftovers(
    t: &StackSetTarget,
    sets: &[String],
    stacks_absent: bool,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for set in sets {
        if stack_sets::describe(t.api(), set).await?.is_none() {
            continue;
        }
        let instances = stack_sets::instances(t.api(), set).await?;
        if instances.iter().any(|i| leftover(t, i, stacks_absent)) {
            out.push(format!(
                "stack set {set}'s instance in {} {} (no stack there)",
                t.account, t.region
            ));
        }
        if instances.iter().all(|i| leftover(t, i, stacks_absent)) {
            out.push(format!("stack set {set} (no instance left)"));
        }
    }
    Ok(out)
}

/// After the stacks: for each stack set in `sets`, this target's instance that has no stack is
/// deleted (nothing is in it), and so is one whose stack CloudFormation says does not exist
/// when `stacks_absent` (the teardown read every stack of the target as absent), and the
/// stack set goes once no instance is left (another target's instance keeps it). Each deleted
/// stack set is added to `out.deleted`.
pub async fn tidy(
    at: &Ctx<'_>,
    t: &StackSetTarget,
    sets: &[String],
    stacks_absent: bool,
    out: &mut TeardownOutcome,
    turn: &mut Turn,
) -> Result<()> {
    for set in sets {
        turn.give_back();
        let lock = at.opts.stack_set_locks.of(set);
        let _one_at_a_time = lock.lock().await;
        turn.take().await;
        // Its marks again, right before anything of it goes.
        let owner = t.owner.as_deref();
        let ours = describe_ours(t.api(), set, &at.env.name, &t.file, owner).await?;
        if ours.is_none() {
            continue;
        }
        let instances = stack_sets::instances(t.api(), set).await?;
        if let Some(i) = instances.iter().find(|i| leftover(t, i, stacks_absent)) {
            // The unit this listing says the instance was created in (else the file's).
            let unit = i.organizational_unit.as_deref().or(t.unit_for(set));
            let deleted = delete_and_wait(at, t, set, unit, true, turn, |_| {}).await?;
            turn.take().await;
            if let Err(why) = deleted {
                return Err(Error::aws(format!(
                    "stack set {set}: its instance in {} {} (without a stack there) was not deleted: {why}",
                    t.account, t.region
                )));
            }
            at.reporter.line(format!(
                "stack set {set}: its instance in {} {} without a stack there ({}) deleted",
                t.account, t.region, i.status
            ));
        }
        let gone = (t.account.as_str(), t.region.as_str());
        let left =
            stack_sets::instances_after_deleting(t.api(), set, gone, at.opts.polling).await?;
        if let Some(other) = left.first() {
            at.reporter.line(format!(
                "stack set {set}: kept, {} instance{} left (in {} {}{})",
                left.len(),
                if left.len() == 1 { "" } else { "s" },
                other.account,
                other.region,
                if left.len() > 1 { ", …" } else { "" }
            ));
            continue;
        }
        stack_sets::delete(t.api(), set).await?;
        at.reporter
            .line(format!("stack set {set}: deleted (no instance left)"));
        out.deleted.push(format!("stack set {set}"));
    }
    Ok(())
}
