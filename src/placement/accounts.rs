//! The accounts of a target that stands for a whole AWS Organizations unit
//! (`rollout.auto_deployment`): to every command, each account of the unit where the target
//! has stacks is an environment of its own, named `ENV-TARGET@ACCOUNT`, found when a command
//! runs; and the sessions of the commands that act on each account.

use super::stack_names::StackNames;
use crate::aws::{Aws, Clients, Settings};
use crate::config::{Environment, Target, role_in, valid_account};
use crate::error::{Result, Usage};
use crate::session::Session;
use std::collections::BTreeMap;

/// What joins a unit-wide target's name and one account of its unit into that account's
/// environment's name (`orders-eu@111122223333`): no environment name holds it.
pub(crate) const ACCOUNT_MARK: char = '@';

/// `orders-eu@111122223333` on a command line: one account (`111122223333`) of the whole-unit
/// target `orders-eu`. `None` for anything else: a path (`ci/job@2/orders.yaml`, as CI
/// workspaces are named), or an `@` not followed by a 12-digit account.
pub(crate) fn account_pick(arg: &str) -> Option<(&str, &str)> {
    let (base, account) = arg.rsplit_once(ACCOUNT_MARK)?;
    let path = base.contains(['/', '\\']) || base.ends_with(".yaml") || base.ends_with(".yml");
    (valid_account(account) && !base.is_empty() && !path).then_some((base, account))
}

/// One account of a unit-wide target `unit` ([`crate::config::unit_wide`]), as the environment it is to every
/// command: named `orders-eu@111122223333` (its resources keep the target's names,
/// [`Environment::resource_name`]), guarded to `account`, acting there as `deploy_role`, in
/// the unit `organizational_unit` its instances were created in.
pub(crate) fn of_account(
    unit: &Environment,
    account: &str,
    organizational_unit: Option<&str>,
) -> Environment {
    let mut env = unit.clone();
    let name = format!("{}{ACCOUNT_MARK}{account}", unit.resource_name());
    env.pipeline = crate::config::rename_stages(&unit.pipeline, &name);
    env.name = name;
    let role = env
        .spec
        .deploy_role
        .as_ref()
        .map(|r| role_in(r, &env.spec.region, account));
    env.spec.accounts = Some(vec![account.to_string()]);
    let at = |t: &mut Target| {
        t.account = Some(account.to_string());
        t.role_arn.clone_from(&role);
        if let Some(ou) = organizational_unit {
            t.organizational_unit = Some(ou.to_string());
        }
    };
    env.target.iter_mut().for_each(at);
    for stage in &mut env.pipeline {
        stage.spec.accounts = Some(vec![account.to_string()]);
        stage.target.iter_mut().for_each(at);
    }
    env
}

/// The session of a command that acts on each account of an environment: a target that
/// stands for a whole AWS Organizations unit (`rollout.auto_deployment`) is each account of
/// the unit where it has stacks, named `ENV-TARGET@ACCOUNT`
/// ([`accounts_of`]), and `ENV-TARGET@ACCOUNT` on the command
/// line ([`account_pick`]) picks that account alone. `load`
/// gives the environments named on the command line.
pub(crate) fn of_accounts(
    targets: &[String],
    load: impl Fn(&[String]) -> Result<Vec<Environment>>,
    settings: Settings,
    concurrency: usize,
) -> Result<Session> {
    let mut picks: Vec<(&String, &str)> = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for t in targets {
        match account_pick(t) {
            Some(_) if picks.iter().any(|(p, _)| *p == t) => {
                return Err(Usage::NamedTwice { env: t.clone() }.into());
            }
            Some((base, _)) => picks.push((t, base)),
            None => named.push(t.clone()),
        }
    }
    // The environments named whole (every account of a unit among them).
    let whole: Vec<String> = match named.is_empty() {
        true => Vec::new(),
        false => load(&named)?.into_iter().map(|e| e.name).collect(),
    };
    let mut all = named;
    for (_, base) in &picks {
        if !whole.iter().any(|w| w == base) && !all.iter().any(|x| x == base) {
            all.push(base.to_string());
        }
    }
    let mut session = Session::open(load(&all)?, settings, concurrency)?;
    for (pick, base) in &picks {
        if !session
            .envs
            .iter()
            .any(|e| e.name == *base && e.whole_unit())
        {
            return Err(super::errors::Usage::NoSuchAccount {
                name: pick.to_string(),
                base: base.to_string(),
                accounts: None,
            }
            .into());
        }
    }
    find_accounts(&mut session)?;
    if picks.is_empty() {
        return Ok(session);
    }
    for (pick, base) in &picks {
        if !session.envs.iter().any(|e| &e.name == *pick) {
            let accounts = session
                .envs
                .iter()
                .filter(|e| e.resource_name() == *base && e.name != *base)
                .filter_map(|e| e.target.as_ref()?.account.clone())
                .collect();
            return Err(super::errors::Usage::NoSuchAccount {
                name: pick.to_string(),
                base: base.to_string(),
                accounts: Some(accounts),
            }
            .into());
        }
    }
    session.envs.retain(|e| {
        whole.iter().any(|w| w == e.resource_name()) || picks.iter().any(|(p, _)| **p == e.name)
    });
    Ok(session)
}

/// Each target that stands for a whole AWS Organizations unit becomes the accounts of
/// its unit where it has stacks, in its place
/// ([`accounts_of`]); one without any stays as it is (not
/// deployed). A unit whose stack sets could not be read fails the whole command: an
/// account left out would be "not there" to it.
pub(crate) fn find_accounts(session: &mut Session) -> Result<()> {
    if !session.envs.iter().any(Environment::whole_unit) {
        return Ok(());
    }
    let aws = &session.aws;
    let found = session.block_on(futures::future::join_all(session.envs.iter().map(
        |e| async move {
            match e.whole_unit() {
                true => accounts_of(aws, e).await.map(Some),
                false => Ok(None),
            }
        },
    )));
    let mut envs = Vec::new();
    for (env, accounts) in std::mem::take(&mut session.envs).into_iter().zip(found) {
        match accounts? {
            Some(accounts) if !accounts.is_empty() => envs.extend(accounts),
            _ => envs.push(env),
        }
    }
    session.envs = envs;
    Ok(())
}

/// [`Session::each`], with where each environment's stacks are: under their own
/// names, or a StackSets target's stack sets' instances
/// ([`super::stack_names::stacks_of`]), or why they could not be found.
pub(crate) fn each_located<'a, T, F, Fut>(session: &'a Session, f: F) -> Vec<T>
where
    F: Fn(Clients, &'a Environment, Result<StackNames>) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    session.each(|clients, env| {
        let f = &f;
        async move {
            let at = super::stack_names::stacks_of(&session.aws, env).await;
            f(clients, env, at).await
        }
    })
}

/// The accounts of a target that stands for a whole AWS Organizations unit
/// ([`crate::config::unit_wide`]) where its stacks are: the accounts of its file's
/// stack sets' instances in its region named in its unit (as ListStackInstances says; an
/// instance there of another unit, or of none, is no target's of this file and is left
/// alone), each as the environment it is to every command
/// ([`crate::placement::of_account`], named `orders-eu@111122223333`), in the
/// unit its data stack's instance was created in, sorted by account. Empty: no instance in the
/// region (nothing deployed). Read in the account and region that hold the stack sets; a
/// stack set that could not be read, or is not the file's, is an error, never "no account".
pub(crate) async fn accounts_of(aws: &Aws, env: &Environment) -> Result<Vec<Environment>> {
    let admin =
        super::stack_names::admin_clients(aws, super::stack_names::file_of(env)?, &env.name)
            .await?;
    accounts_in(&admin, env).await
}

/// [`accounts_of`], read with `admin` (the clients of the account and region that hold the
/// stack sets).
pub(crate) async fn accounts_in(admin: &Clients, env: &Environment) -> Result<Vec<Environment>> {
    let mut found: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (_, _, instances) in super::stack_names::unit_sets(admin, env).await? {
        for i in instances.into_iter().flatten() {
            found.entry(i.account).or_insert(i.organizational_unit);
        }
    }
    Ok(found
        .iter()
        .map(|(account, unit)| of_account(env, account, unit.as_deref()))
        .collect())
}

#[cfg(test)]
mod tests;
