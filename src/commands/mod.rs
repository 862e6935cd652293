//! One module per subcommand. Each parses its flags, calls the modules that do the work and
//! prints the result; none holds logic of its own.

pub mod completions;
pub mod deploy;
pub mod dlq;
pub mod drift;
mod global;
pub mod iam_policy;
pub mod logs;
pub mod outputs;
pub mod render;
pub mod send;
pub mod simulate;
pub mod status;
pub mod teardown;
pub mod validate;

use crate::aws::{Aws, Clients};
use crate::config::Environment;
use crate::error::{Error, Result};
pub use global::Global;

/// The environments named on the command line (names, paths, copies, globs), every invalid
/// stack file reported before anything touches AWS.
pub fn load_environments(targets: &[String], g: &Global) -> Result<Vec<Environment>> {
    crate::config::targets::load(targets, &g.stacks_dir)
}

/// The environments named on the command line, for a command that does not handle pipelines
/// yet: a stack file with several `stages` is refused before anything touches AWS, so that
/// no command acts on, or reports, only part of a pipeline (its first stage).
pub fn load_one_stage_environments(targets: &[String], g: &Global) -> Result<Vec<Environment>> {
    let envs = load_environments(targets, g)?;
    let refused: Vec<_> = envs
        .iter()
        .filter(|env| env.is_pipeline())
        .map(|env| {
            env.source.key_error(
                "stages",
                "this command does not handle pipelines of several stages yet; `qfleet validate`, `render`, `plan`, `deploy`, `outputs`, `status`, `teardown` and `iam-policy` do",
            )
        })
        .collect();
    if refused.is_empty() {
        Ok(envs)
    } else {
        Err(Error::Input(refused))
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
    pub fn open(targets: &[String], g: &Global) -> Result<Session> {
        Self::open_envs(load_one_stage_environments(targets, g)?, g)
    }

    /// For a command that handles pipelines of several stages (plan, deploy, outputs, teardown).
    pub fn open_with_pipelines(targets: &[String], g: &Global) -> Result<Session> {
        Self::open_envs(load_environments(targets, g)?, g)
    }

    fn open_envs(envs: Vec<Environment>, g: &Global) -> Result<Session> {
        Ok(Session {
            envs,
            aws: Aws::new(g.aws_settings()),
            concurrency: g.concurrency.into(),
            rt: runtime()?,
        })
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
                let fut = async move { aws.clients(&aws.region_for(&env.spec.region)).await };
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
        self.rt.block_on(async {
            let work = each_env(&self.envs, self.concurrency, |env| {
                let aws = self.aws.clone();
                let fut = async move { aws.clients(&aws.region_for(&env.spec.region)).await };
                let f = &f;
                async move { f(fut.await, env).await }
            });
            tokio::select! {
                done = work => Some(done),
                _ = tokio::signal::ctrl_c() => None,
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

/// A Tokio runtime for the commands that talk to AWS (the offline ones never start one).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::aws(format!("cannot start the async runtime: {e}")))
}
