//! Removing a target's stack set instances (`teardown`): the StackSets calls and what is
//! decided from their answers. The teardown decides which stacks go and in which order;
//! `removal.rs` makes each step, with the teardown's slot of `--concurrency`.
//!
//! Each stack qfleet decided to delete goes as its stack set's instance (DeleteStackInstances
//! with RetainStacks false: the stack is deleted with it). This target's instance that has no
//! stack there (its creation failed, or its stack was deleted by hand) is deleted with
//! RetainStacks true, so that a stack that does exist after all (AWS documents no rule that an
//! instance without a StackId has none) is kept, never deleted unchecked; and a stack set left
//! without any instance, still carrying the file's marks, is deleted, since a stack set with
//! instances cannot be
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStackSet.html>).
//!
//! StackSets runs one operation at a time on a stack set: the targets of one file torn down
//! together take turns on each stack set ([`SetLocks`]).

use super::stack_names::StackSetTarget;
use crate::aws::Polling;
use crate::aws::{self, STACK_SET_MAX_POLLS as MAX_POLLS, StackInstance as Instance};
use crate::error::Result;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One lock per stack set, shared by the run's environments (clones share them).
#[derive(Debug, Clone, Default)]
pub(crate) struct SetLocks(Arc<Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>>);

impl SetLocks {
    /// The lock of stack set `set`.
    pub(crate) fn of(&self, set: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.entry(set.to_string()).or_default().clone()
    }
}

/// How the preview and the steps name a stack of a stack-set target.
pub(crate) fn instance_label(t: &StackSetTarget, stack: &str) -> String {
    match t.of_stack(stack) {
        Some((set, _)) => format!(
            "{stack} (stack set {set}'s instance in {} {})",
            t.account, t.region
        ),
        None => stack.to_string(),
    }
}

/// Starts deleting this target's instance of `set` (keeping any stack with `keep_stack`);
/// with service-managed permissions, the account is named in `unit`. The operation's id.
pub(crate) async fn delete_instance(
    t: &StackSetTarget,
    set: &str,
    unit: Option<&str>,
    keep_stack: bool,
) -> Result<String> {
    Ok(aws::delete_stack_instance(
        t.api(),
        set,
        &t.account,
        unit,
        &t.region,
        keep_stack,
        &aws::stack_set_operation_token(set),
    )
    .await?)
}

/// The deletion `op` of this target's instance of `set`, followed to its end: its result for
/// the target's account and region, done or why not.
pub(crate) async fn instance_deleted(
    t: &StackSetTarget,
    set: &str,
    op: &str,
    polling: Polling,
) -> Result<std::result::Result<(), String>> {
    let here = [(t.account.as_str(), t.region.as_str())];
    let ended =
        aws::wait_for_stack_set_operation(t.api(), set, op, polling, MAX_POLLS, &here).await?;
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

/// Whether this target's instance of a stack set is left over once its stacks are gone: one
/// without a stack, or with `stacks_absent` (the teardown read each of the target's stacks as
/// absent) any.
fn leftover(t: &StackSetTarget, i: &Instance, stacks_absent: bool) -> bool {
    i.account == t.account && i.region == t.region && (i.stack_id.is_none() || stacks_absent)
}

/// What a teardown's tidying would delete, said for the question: this target's instances without a
/// stack there, and the stack sets that would be left without any instance.
pub(crate) async fn leftover_instances(
    t: &StackSetTarget,
    sets: &[String],
    stacks_absent: bool,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for set in sets {
        if aws::describe_stack_set(t.api(), set).await?.is_none() {
            continue;
        }
        let instances = aws::stack_instances(t.api(), set).await?;
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

/// This target's left-over instance of `set` ([`leftover`]) with the unit to name its account
/// in, the stack set's marks read again right before anything of it goes: `None` when the
/// stack set is not there (nothing of it to tidy), `Some(None)` when it has no left-over
/// instance of this target.
pub(crate) async fn leftover_instance(
    t: &StackSetTarget,
    env: &str,
    set: &str,
    stacks_absent: bool,
) -> Result<Option<Option<(Instance, Option<String>)>>> {
    let owner = t.owner.as_deref();
    if super::stack_names::describe_ours(t.api(), set, env, &t.file, owner)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let instances = aws::stack_instances(t.api(), set).await?;
    Ok(Some(
        instances
            .into_iter()
            .find(|i| leftover(t, i, stacks_absent))
            .map(|i| {
                // The unit this listing says the instance was created in (else the file's).
                let unit = i
                    .organizational_unit
                    .clone()
                    .or_else(|| t.unit_for(set).map(str::to_string));
                (i, unit)
            }),
    ))
}

/// The instances of `set` left once this target's is gone (read again while the listing
/// still shows it).
pub(crate) async fn instances_left(
    t: &StackSetTarget,
    set: &str,
    polling: Polling,
) -> Result<Vec<Instance>> {
    let gone = (t.account.as_str(), t.region.as_str());
    Ok(aws::stack_instances_after_deleting(t.api(), set, gone, polling).await?)
}

/// Deletes stack set `set`, left without any instance.
pub(crate) async fn delete_stack_set(t: &StackSetTarget, set: &str) -> Result<()> {
    Ok(aws::delete_stack_set(t.api(), set).await?)
}
