//! The per-environment loop of the commands that talk to AWS: the environments named on the
//! command line, the clients for each one's region, at most a number of them at a time, on
//! one runtime; and the stages of an environment a command acts on.

pub(crate) mod errors;
use crate::aws::{Aws, Clients, Settings};
use crate::config::Environment;
use crate::error::{Error, Result};

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
        return Err(crate::session::errors::Usage::NoStages {
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
        None => Err(crate::session::errors::Usage::UnknownStage {
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
                _ = crate::error::interrupted() => None,
            }
        })
    }

    pub fn names(&self) -> Vec<String> {
        self.envs.iter().map(|e| e.name.clone()).collect()
    }

    /// Runs a future on the session's runtime.
    pub fn block_on<T>(&self, fut: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(fut)
    }
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
        return Err(crate::session::errors::Usage::TargetFlag {
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
