//! The per-environment loop of the commands that talk to AWS: the environments named on the
//! command line, the clients for each one's region, at most a number of them at a time, on
//! one runtime; and the stages of an environment a command acts on.

use crate::aws::{Aws, Clients, Settings};
use crate::config::Environment;
use crate::error::{Error, Result, Usage};
use crate::ownership::stack_names::StackNames;

/// The stages of `env` a command acts on: the one `--stage` names, or every stage (a
/// one-stage environment is its own one stage).
pub fn chosen_stages<'a>(
    env: &'a Environment,
    stage: Option<&str>,
) -> Result<Vec<&'a Environment>> {
    let stages = env.stages();
    let Some(name) = stage else {
        return Ok(stages);
    };
    let names: Vec<&str> = stages
        .iter()
        .filter_map(|s| s.stage.as_ref().map(|s| s.name.as_str()))
        .collect();
    if names.is_empty() {
        return Err(Usage::NoStages {
            stage: name.to_string(),
            file: env.source.display(),
        }
        .into());
    }
    match stages
        .iter()
        .find(|s| s.stage.as_ref().is_some_and(|s| s.name == name))
    {
        Some(s) => Ok(vec![s]),
        None => Err(Usage::UnknownStage {
            stage: name.to_string(),
            file: env.source.display(),
            stages: names.iter().map(|n| n.to_string()).collect(),
        }
        .into()),
    }
}

/// Runs `f` on every environment, at most `limit` at a time, keeping their order.
pub async fn each_env<'a, T, F, Fut>(envs: &'a [Environment], limit: usize, f: F) -> Vec<T>
where
    F: Fn(&'a Environment) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let sem = tokio::sync::Semaphore::new(limit.max(1));
    futures::future::join_all(envs.iter().map(|env| {
        let fut = f(env);
        let sem = &sem;
        async move {
            let _permit = sem.acquire().await;
            fut.await
        }
    }))
    .await
}

/// The AWS commands' per-environment loop: the environments named on the command line, the
/// clients for each one's region, at most `--concurrency` at a time, on one runtime.
pub struct Session {
    pub envs: Vec<Environment>,
    pub aws: Aws,
    pub concurrency: usize,
    rt: tokio::runtime::Runtime,
}

impl Session {
    /// Opens a session on `envs` (pipelines included), `concurrency` at a time; the
    /// environments come from the commands' `load_environments`, which has refused
    /// `--region`/`--role-arn` for a target ([`check_target_flags`]).
    pub fn open(envs: Vec<Environment>, settings: Settings, concurrency: usize) -> Result<Session> {
        Ok(Session {
            envs,
            aws: Aws::new(settings),
            concurrency,
            rt: runtime()?,
        })
    }

    /// Test support: a session on `envs` whose clients are `aws`'s.
    #[cfg(test)]
    pub fn with_aws(envs: Vec<Environment>, aws: Aws, concurrency: usize) -> Session {
        Session {
            envs,
            aws,
            concurrency,
            rt: runtime().expect("a runtime"),
        }
    }

    /// Runs `f` on every environment with its region's clients, keeping their order.
    pub fn each<'a, T, F, Fut>(&'a self, f: F) -> Vec<T>
    where
        F: Fn(Clients, &'a Environment) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        self.rt
            .block_on(each_env(&self.envs, self.concurrency, |env| {
                let aws = self.aws.clone();
                let fut = async move { clients_for(&aws, env).await };
                let f = &f;
                async move { f(fut.await, env).await }
            }))
    }

    /// Like [`Session::each`], with where each environment's stacks are: under their own
    /// names, or a StackSets target's stack sets' instances
    /// ([`crate::ownership::stack_names::locate`]), or why they could not be found.
    pub fn each_located<'a, T, F, Fut>(&'a self, f: F) -> Vec<T>
    where
        F: Fn(Clients, &'a Environment, Result<StackNames>) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        self.each(|clients, env| {
            let f = &f;
            async move {
                let at = crate::ownership::stack_names::locate(&self.aws, env).await;
                f(clients, env, at).await
            }
        })
    }

    /// Like [`Session::each`], but Ctrl-C stops waiting at once: `None` then (what each
    /// environment had done is in the reporter's ledger).
    pub fn each_until_interrupted<'a, T, F, Fut>(&'a self, f: F) -> Option<Vec<T>>
    where
        F: Fn(Clients, &'a Environment) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        self.each_of_until_interrupted(&self.envs, f)
    }

    /// [`Session::each_until_interrupted`] on some environments (a wave of a rollout).
    pub fn each_of_until_interrupted<'a, T, F, Fut>(
        &'a self,
        envs: &'a [Environment],
        f: F,
    ) -> Option<Vec<T>>
    where
        F: Fn(Clients, &'a Environment) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        self.each_of_limited(envs, self.concurrency, f)
    }

    /// [`Session::each_of_until_interrupted`] on every environment at once, whatever
    /// `--concurrency`: for waiting that costs a call now and then (a wave's bake), which
    /// would otherwise take as many bakes as rounds of the limit.
    pub fn all_of_until_interrupted<'a, T, F, Fut>(
        &'a self,
        envs: &'a [Environment],
        f: F,
    ) -> Option<Vec<T>>
    where
        F: Fn(Clients, &'a Environment) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        self.each_of_limited(envs, envs.len(), f)
    }

    fn each_of_limited<'a, T, F, Fut>(
        &'a self,
        envs: &'a [Environment],
        limit: usize,
        f: F,
    ) -> Option<Vec<T>>
    where
        F: Fn(Clients, &'a Environment) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        self.rt.block_on(async {
            let work = each_env(envs, limit, |env| {
                let aws = self.aws.clone();
                let fut = async move { clients_for(&aws, env).await };
                let f = &f;
                async move { f(fut.await, env).await }
            });
            tokio::select! {
                done = work => Some(done),
                _ = crate::error::signal::interrupted() => None,
            }
        })
    }

    /// Each target that stands for a whole AWS Organizations unit becomes the accounts of
    /// its unit where it has stacks, in its place
    /// ([`crate::ownership::stack_names::accounts_of`]); one without any stays as it is (not
    /// deployed). A unit whose stack sets could not be read fails the whole command: an
    /// account left out would be "not there" to it.
    pub fn find_accounts(&mut self) -> Result<()> {
        if !self.envs.iter().any(Environment::whole_unit) {
            return Ok(());
        }
        let aws = &self.aws;
        let found = self
            .rt
            .block_on(futures::future::join_all(self.envs.iter().map(
                |e| async move {
                    match e.whole_unit() {
                        true => crate::ownership::stack_names::accounts_of(aws, e)
                            .await
                            .map(Some),
                        false => Ok(None),
                    }
                },
            )));
        let mut envs = Vec::new();
        for (env, accounts) in std::mem::take(&mut self.envs).into_iter().zip(found) {
            match accounts? {
                Some(accounts) if !accounts.is_empty() => envs.extend(accounts),
                _ => envs.push(env),
            }
        }
        self.envs = envs;
        Ok(())
    }

    pub fn names(&self) -> Vec<String> {
        self.envs.iter().map(|e| e.name.clone()).collect()
    }

    /// Runs a future on the session's runtime.
    pub fn block_on<T>(&self, fut: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(fut)
    }
}

/// The session of a command that acts on each account of an environment: a target that
/// stands for a whole AWS Organizations unit (`rollout.auto_deployment`) is each account of
/// the unit where it has stacks, named `ENV-TARGET@ACCOUNT`
/// ([`crate::ownership::stack_names::accounts_of`]), and `ENV-TARGET@ACCOUNT` on the command
/// line ([`crate::config::deploy_targets::account_pick`]) picks that account alone. `load`
/// gives the environments named on the command line.
pub fn of_accounts(
    targets: &[String],
    load: impl Fn(&[String]) -> Result<Vec<Environment>>,
    settings: Settings,
    concurrency: usize,
) -> Result<Session> {
    use crate::config::deploy_targets::account_pick;
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
            return Err(Usage::NoSuchAccount {
                name: pick.to_string(),
                base: base.to_string(),
                accounts: None,
            }
            .into());
        }
    }
    session.find_accounts()?;
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
            return Err(Usage::NoSuchAccount {
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

/// The clients of `env`'s region, acting as its target's role when it has one (`targets`).
pub async fn clients_for(aws: &Aws, env: &Environment) -> Clients {
    let role = env.target.as_ref().and_then(|t| t.role_arn.as_deref());
    aws.clients_as(&aws.region_for(&env.spec.region), role)
        .await
}

/// `--region` or `--role-arn` given for a target that names its own region or role: a usage
/// error naming the first such target.
pub fn check_target_flags(envs: &[Environment], settings: &Settings) -> Result<()> {
    for env in envs {
        let Some(target) = &env.target else { continue };
        let (flag, what) = if settings.region.is_some() {
            ("--region", "region")
        } else if settings.role_arn.is_some() && target.role_arn.is_some() {
            ("--role-arn", "role")
        } else {
            continue;
        };
        return Err(Usage::TargetFlag {
            flag,
            env: env.name.clone(),
            file: env.source.display(),
            what,
        }
        .into());
    }
    Ok(())
}

/// A Tokio runtime for the commands that talk to AWS (the offline ones never start one).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::aws(format!("cannot start the async runtime: {e}")))
}
