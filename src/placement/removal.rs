//! How a teardown removes an environment's stacks where placement put them. Stacks under
//! their own names are the teardown's to delete; a target its stack file deploys through
//! StackSets (`rollout.mode: stack_sets`) has its stacks removed here, each as its stack set's
//! instance, in the order the teardown decided (the fleet first, the data after the second
//! look), then the stack sets the teardown covers are tidied ([`tidy`]); the StackSets calls
//! are `remove.rs`'s.
//!
//! The teardown hands over what it runs with through [`RemovalRun`]: its slot of `--concurrency`,
//! given back while this waits for a stack set's turn or an operation (StackSets runs one
//! operation at a time on a stack set: the targets of one file torn down together take turns
//! on each), its progress and its lines. Teardown itself names no stack set.

use super::remove::{
    SetLocks, delete_instance, delete_stack_set, instance_deleted, instance_label, instances_left,
    leftover_instance, leftover_instances,
};
use super::stack_names::{StackNames, StackSetTarget};
use crate::aws::Polling;
use crate::config::Environment;
use crate::error::{Error, Result};

/// What removing a StackSets target's stacks needs from the teardown that runs it.
pub(crate) trait RemovalRun {
    /// Gives back the run's slot of `--concurrency` while this waits.
    fn give_back(&mut self);
    /// Takes the slot again before this acts.
    fn take(&mut self) -> impl std::future::Future<Output = ()>;
    /// Counts an operation waited on (the run's poll budget) until the guard drops: hold it
    /// for the whole wait.
    #[must_use]
    fn waiting(&self) -> impl Sized;
    /// The progress of `stack`, as its spinner says it: one spinner for the value, labelled
    /// with the first stack it is given.
    fn progress(&mut self, stack: &str, text: String);
    /// `stack`'s deletion is under way (its event).
    fn deleting(&self, stack: &str);
    /// A line of the teardown's output.
    fn line(&self, text: String);
    /// One StackSets operation at a time per stack set among the run's targets.
    fn locks(&self) -> &SetLocks;
    /// How the run polls an operation (its interval and budget).
    fn polling(&self) -> Polling;
}

/// What a teardown covers of an environment: each stage's fleet, then the data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    /// `--stage`: that stage's fleet alone (with `--only fleet`).
    pub(crate) stage: Option<&'a str>,
    /// `--only fleet`: the data stays.
    pub(crate) only_fleet: bool,
}

impl StackNames {
    /// Whether placement removes the stacks ([`delete`], [`tidy`]): a StackSets target's,
    /// as its stack sets' instances. Otherwise each goes by its own name.
    pub(crate) fn removed_here(&self) -> bool {
        self.stack_set.is_some()
    }

    /// The stacks under the names AWS gave them (a StackSets target's instances' stacks),
    /// which the teardown's events name; empty for stacks under their own names.
    pub(crate) fn placed_stacks(&self) -> Vec<String> {
        self.stack_set.as_ref().map_or_else(Vec::new, |t| {
            t.instances
                .keys()
                .filter_map(|own| self.name(own))
                .collect()
        })
    }

    /// How the preview and the steps name `stack`.
    pub(crate) fn label(&self, stack: &str) -> String {
        match &self.stack_set {
            Some(t) => instance_label(t, stack),
            None => stack.to_string(),
        }
    }

    /// Why `--retain-failed` does not apply to these stacks, when it does not.
    pub(crate) fn retain_failed_void(&self) -> Option<&'static str> {
        self.stack_set.as_ref().map(|_| {
            "--retain-failed does not apply: StackSets deletes a stack set instance's stack, and says why when it cannot"
        })
    }

    /// What else the teardown deletes after the stacks, as the preview lists it: each stack
    /// set it covers, once no instance is left.
    pub(crate) fn also_deleted(&self, env: &Environment, scope: Scope<'_>) -> Vec<String> {
        self.stack_set.as_ref().map_or_else(Vec::new, |t| {
            sets_covered(env, scope, t)
                .into_iter()
                .map(|s| format!("stack set {s} if no instance is left"))
                .collect()
        })
    }
}

/// The stack sets a target's teardown covers: each stage's fleet's (the chosen stage's
/// alone with `--stage`), then the data's unless `--only fleet`.
fn sets_covered(env: &Environment, scope: Scope<'_>, t: &StackSetTarget) -> Vec<String> {
    let mut own: Vec<String> = env
        .stages()
        .iter()
        .filter(|s| {
            scope.stage.is_none() || s.stage.as_ref().map(|x| x.name.as_str()) == scope.stage
        })
        .map(|s| s.fleet_stack_name())
        .collect();
    own.reverse();
    if !scope.only_fleet {
        own.push(env.data_stack_name());
    }
    own.iter()
        .filter_map(|o| t.instances.get(o).map(|(set, _)| set.clone()))
        .collect()
}

/// With no stack left to delete: what is left of a StackSets target all the same (its
/// instances without a stack there, and the stack sets they would leave empty), as the
/// preview lists it. They hold nothing, and go once confirmed ([`tidy`] with `absent`).
pub(crate) async fn leftovers(
    names: &StackNames,
    env: &Environment,
    scope: Scope<'_>,
) -> Result<Vec<String>> {
    match &names.stack_set {
        Some(t) => leftover_instances(t, &sets_covered(env, scope, t), true).await,
        None => Ok(Vec::new()),
    }
}

/// Deletes the stack set instance whose stack is `stack`, and waits for the operation's
/// result for this account and region.
pub(crate) async fn delete(
    names: &StackNames,
    stack: &str,
    run: &mut impl RemovalRun,
) -> Result<()> {
    // A guard: the teardown calls this only when `removed_here`.
    let Some(t) = &names.stack_set else {
        return Err(Error::aws(format!(
            "{stack}: not a stack set's instance: teardown deletes it by its name"
        )));
    };
    let Some((set, instance)) = t.of_stack(stack) else {
        return Err(Error::aws(format!(
            "{stack}: no stack set's instance in {} {} has this stack",
            t.account, t.region
        )));
    };
    run.progress(stack, format!("waiting for stack set {set}"));
    run.give_back();
    let lock = run.locks().of(set);
    let _one_at_a_time = lock.lock().await;
    run.take().await;
    let op = delete_instance(t, set, t.unit_for(set), false).await?;
    run.progress(stack, format!("deleting (stack set {set}, operation {op})"));
    run.deleting(stack);
    let deleted = wait(t, set, &op, run).await?;
    match deleted {
        Ok(()) => {
            run.line(format!(
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

/// Waits for operation `op` on `set` without a slot (given back until this returns): its
/// result for the target's account and region, done or why not.
async fn wait(
    t: &StackSetTarget,
    set: &str,
    op: &str,
    run: &mut impl RemovalRun,
) -> Result<std::result::Result<(), String>> {
    run.give_back();
    let _under_way = run.waiting();
    instance_deleted(t, set, op, run.polling()).await
}

/// After the stacks: for each stack set the teardown covers, this target's instance that
/// has no stack is deleted (nothing is in it), and so is one whose stack CloudFormation says
/// does not exist when `absent` (the teardown read every stack of the target as absent), and
/// the stack set goes once no instance is left (another target's instance keeps it). Each
/// stack set deleted is added to `deleted` as it goes, as the teardown's outcome lists them
/// (kept when a later one fails). Nothing for stacks under their own names.
pub(crate) async fn tidy(
    names: &StackNames,
    env: &Environment,
    scope: Scope<'_>,
    absent: bool,
    run: &mut impl RemovalRun,
    deleted: &mut Vec<String>,
) -> Result<()> {
    let Some(t) = &names.stack_set else {
        return Ok(());
    };
    for set in &sets_covered(env, scope, t) {
        run.give_back();
        let lock = run.locks().of(set);
        let _one_at_a_time = lock.lock().await;
        run.take().await;
        let Some(leftover) = leftover_instance(t, &env.name, set, absent).await? else {
            continue;
        };
        if let Some((i, unit)) = leftover {
            let op = delete_instance(t, set, unit.as_deref(), true).await?;
            let result = wait(t, set, &op, run).await?;
            run.take().await;
            if let Err(why) = result {
                return Err(Error::aws(format!(
                    "stack set {set}: its instance in {} {} (without a stack there) was not deleted: {why}",
                    t.account, t.region
                )));
            }
            run.line(format!(
                "stack set {set}: its instance in {} {} without a stack there ({}) deleted",
                t.account, t.region, i.status
            ));
        }
        let left = instances_left(t, set, run.polling()).await?;
        if let Some(other) = left.first() {
            run.line(format!(
                "stack set {set}: kept, {} instance{} left (in {} {}{})",
                left.len(),
                if left.len() == 1 { "" } else { "s" },
                other.account,
                other.region,
                if left.len() > 1 { ", …" } else { "" }
            ));
            continue;
        }
        delete_stack_set(t, set).await?;
        run.line(format!("stack set {set}: deleted (no instance left)"));
        deleted.push(format!("stack set {set}"));
    }
    Ok(())
}
