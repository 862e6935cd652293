//! One module per subcommand. Each parses its flags, calls the modules that do the work and
//! prints the result; none holds logic of its own.

pub mod completions;
pub mod deploy;
pub mod dlq;
pub mod drift;
mod global;
pub mod iam_policy;
pub mod import;
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
        return Err(Error::usage(format!(
            "--stage {name}: {} declares no stages; leave --stage out",
            env.source.display()
        )));
    }
    match stages
        .iter()
        .find(|s| s.stage.as_ref().is_some_and(|s| s.name == name))
    {
        Some(s) => Ok(vec![s]),
        None => Err(Error::usage(format!(
            "--stage {name}: {} has no such stage; its stages are {}",
            env.source.display(),
            names.join(", ")
        ))),
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
    /// Opens a session on the environments named on the command line (pipelines included).
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

#[cfg(test)]
mod tests {
    use super::chosen_stages;
    use std::path::PathBuf;

    fn parse(text: &str) -> crate::config::Environment {
        crate::config::parse(PathBuf::from("stacks/p.yaml"), text.into()).unwrap()
    }

    #[test]
    fn a_stage_is_chosen_by_name_every_stage_without_one_and_an_unknown_name_lists_them() {
        let env = parse(
            "region: eu-west-1\nlab: true\nstages:\n  - name: parse\n  - name: thumbs\n    prefix: parsed/\n",
        );
        let names = |s: Vec<&crate::config::Environment>| -> Vec<String> {
            s.iter()
                .map(|e| e.stage.as_ref().unwrap().name.clone())
                .collect()
        };
        assert_eq!(
            names(chosen_stages(&env, None).unwrap()),
            ["parse", "thumbs"]
        );
        assert_eq!(
            names(chosen_stages(&env, Some("thumbs")).unwrap()),
            ["thumbs"]
        );
        let e = chosen_stages(&env, Some("index")).unwrap_err().to_string();
        assert!(
            e.contains("no such stage; its stages are parse, thumbs"),
            "{e}"
        );

        let one = parse("region: eu-west-1\nlab: true\n");
        assert_eq!(chosen_stages(&one, None).unwrap().len(), 1);
        let e = chosen_stages(&one, Some("parse")).unwrap_err().to_string();
        assert!(e.contains("declares no stages"), "{e}");
    }
}
