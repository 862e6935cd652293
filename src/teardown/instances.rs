//! The teardown of a target its stack file deploys through StackSets (`rollout.mode:
//! stack_sets`). Its stacks are read and decided on in its account and region like any
//! environment's ([`crate::placement::stacks_of`]); each stack qfleet decided to delete goes as its
//! stack set's instance, in the same order (the fleet first, the data after the second look),
//! then the stack sets this teardown covers are tidied ([`tidy`]); the StackSets calls are
//! [`crate::placement`]'s (`remove.rs`). Both are in the teardown's question; a teardown that
//! finds no stack asks about them alone.
//!
//! StackSets runs one operation at a time on a stack set: the targets of one file torn down
//! together take turns on each stack set, holding no slot of `--concurrency` while they wait
//! for it or for the operation.

use super::event::{Event, StackAction};
use super::schedule::Turn;
use super::{Ctx, TeardownOutcome};
use crate::error::{Error, Result};
use crate::placement::StackSetTarget;

/// Deletes the instance whose stack is `stack`, and waits for the operation's result for this
/// account and region.
pub(super) async fn delete_instance(
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
    let lock = at.opts.rollout_locks.of(set);
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
    let op = crate::placement::delete_instance(t, set, unit, keep_stack).await?;
    started(&op);
    turn.give_back();
    let _under_way = at.opts.schedule.waiting();
    crate::placement::instance_deleted(t, set, &op, at.opts.polling).await
}

/// After the stacks: for each stack set in `sets`, this target's instance that has no stack is
/// deleted (nothing is in it), and so is one whose stack CloudFormation says does not exist
/// when `stacks_absent` (the teardown read every stack of the target as absent), and the
/// stack set goes once no instance is left (another target's instance keeps it). Each deleted
/// stack set is added to `out.deleted`.
pub(super) async fn tidy(
    at: &Ctx<'_>,
    t: &StackSetTarget,
    sets: &[String],
    stacks_absent: bool,
    out: &mut TeardownOutcome,
    turn: &mut Turn,
) -> Result<()> {
    for set in sets {
        turn.give_back();
        let lock = at.opts.rollout_locks.of(set);
        let _one_at_a_time = lock.lock().await;
        turn.take().await;
        let Some(leftover) =
            crate::placement::leftover_instance(t, &at.env.name, set, stacks_absent).await?
        else {
            continue;
        };
        if let Some((i, unit)) = leftover {
            let deleted = delete_and_wait(at, t, set, unit.as_deref(), true, turn, |_| {}).await?;
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
        let left = crate::placement::instances_left(t, set, at.opts.polling).await?;
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
        crate::placement::delete_stack_set(t, set).await?;
        at.reporter
            .line(format!("stack set {set}: deleted (no instance left)"));
        out.deleted.push(format!("stack set {set}"));
    }
    Ok(())
}
