//! Termination protection on the stacks StackSets creates for a target: StackSets takes no
//! such setting, so qfleet sets it on each instance's stack after the wave.

use crate::aws;
use crate::aws::Clients;
use crate::config::Environment;
use crate::error::{Error, Result};
use crate::session::Session;

/// The changes protection made on a target's stacks (its stack set and a line each), or why
/// it could not be set.
pub(crate) type Protected = Result<Vec<(String, String)>>;

/// Protection on the instance stacks of each target in `reached` (deployed, or failed part
/// way), in the target's account after its account guard; a target that stands for a whole
/// unit in each account of it where it has stacks. Each target's name with its result;
/// `None` on Ctrl-C.
pub(crate) fn protect_all(
    session: &Session,
    admin: &Clients,
    reached: Vec<Environment>,
) -> Option<Vec<(String, Protected)>> {
    let mut results: Vec<(String, Protected)> = Vec::new();
    let mut each: Vec<(String, Environment)> = Vec::new();
    for env in reached {
        if !env.whole_unit() {
            each.push((env.name.clone(), env));
            continue;
        }
        let found = session.block_on(super::accounts::accounts_of(&session.aws, &env));
        // Deployed, so it has accounts: none found is no evidence of protection.
        match found {
            Ok(accounts) if accounts.is_empty() => results.push((
                env.name.clone(),
                Err(Error::aws(format!(
                    "{}: no account of its unit is listed with its stacks after the deploy, so termination protection could not be set on them",
                    env.name
                ))),
            )),
            Ok(accounts) => each.extend(accounts.into_iter().map(|a| (env.name.clone(), a))),
            Err(e) => results.push((env.name.clone(), Err(e))),
        }
    }
    let envs: Vec<Environment> = each.iter().map(|(_, e)| e.clone()).collect();
    let protected = session.each_of_until_interrupted(&envs, |clients, env| {
        let admin = admin.clone();
        async move { protect(admin, &clients, env).await }
    })?;
    results.extend(each.into_iter().map(|(owner, _)| owner).zip(protected));
    Some(results)
}

/// Termination protection on a target's instance stacks, as the stack file sets it (on by
/// default outside labs, [`Environment::termination_protection`]), in the target's account
/// (`target`): StackSets creates its stacks without it and takes no such setting
/// (CreateStackInstances and UpdateStackSet have none,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html>),
/// so qfleet sets it on each instance's stack, by its id, as it does on its own stacks
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateTerminationProtection.html>);
/// only where it differs (unknown is set, not assumed), after the target's account guard. The
/// instances are found through the file's stack sets (with `admin`), which must carry the
/// file's marks; an instance without a stack (a creation that failed) has nothing to protect.
/// Each stack set whose instance's protection changed, with a line that says so.
pub(crate) async fn protect(
    admin: Clients,
    target: &Clients,
    env: &Environment,
) -> Result<Vec<(String, String)>> {
    crate::ownership::check_account(&target.sts, env).await?;
    let want = env.termination_protection();
    let located = super::stack_names::instances_of(admin, env).await?;
    let mut changed = Vec::new();
    for own in env.stack_names() {
        let Some((set, Some(instance))) = located.instances.get(&own) else {
            continue;
        };
        // An INOPERABLE instance's stack is left as it is: AWS's remedy ends with deleting it.
        if instance.status == "INOPERABLE" {
            continue;
        }
        let Some(id) = instance.stack_id.as_deref() else {
            continue;
        };
        let name = aws::stack_name_of(id);
        let Some(state) = crate::aws::describe_stack(&target.cfn, id).await? else {
            return Err(Error::aws(format!(
                "{}: the stack {name} of its stack set {set}'s instance is not there",
                env.name
            )));
        };
        if state.termination_protection != Some(want) {
            crate::aws::set_termination_protection(&target.cfn, id, want).await?;
            changed.push((
                set.clone(),
                format!(
                    "{name}: termination protection turned {}",
                    if want { "on" } else { "off" }
                ),
            ));
        }
    }
    Ok(changed)
}
