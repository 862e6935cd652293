//! `qfleet env`: a stage's worker environment exactly as the fleet gets it, to run the worker
//! on a laptop with the fleet's settings (`eval "$(qfleet env ENV --shell)"`). The variables
//! are read from the rendered fleet template as CloudFormation fills them in, in the account
//! the credentials are for; secrets are named with where they come from, never printed.

pub(crate) mod errors;
use crate::config::Environment;
use crate::error::{Error, Exit, Result};
use crate::output::{Document, Output, Report};
use crate::session::Session;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// One stage's worker environment.
#[derive(Debug, Serialize, JsonSchema)]
struct Body {
    /// The stage (a pipeline's), or null for a one-stage environment.
    stage: Option<String>,
    /// `ec2`, `fargate` or `lambda`.
    kind: String,
    /// The account the variables were filled in for.
    account: String,
    region: String,
    /// Each variable the workers get, by name, as CloudFormation fills it in.
    variables: BTreeMap<String, String>,
    /// Each secret the workers get, by name, with where it is read from when they start
    /// (`ssm:/…`, `secretsmanager:…`): never its value.
    secrets: BTreeMap<String, String>,
}

/// The schema of `qfleet env`'s document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Body, ()>("env", "qfleet env --output json", Environments::One)
}

pub(crate) struct WorkerEnv {
    environment: String,
    body: Body,
    shell: bool,
}

mod check;
mod dev;
#[cfg(test)]
mod tests;

pub(crate) use dev::{Dev, run as dev};

/// The job table and the lease table of an environment with `jobs:`, by name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tables {
    pub(crate) jobs: String,
    pub(crate) leases: String,
}

/// Starts the program in a process group of its own, with `vars` set and `cleared` removed
/// from what it inherits; with `capture`, its stdout piped to qfleet.
fn spawn(
    program: &str,
    args: &[String],
    vars: &BTreeMap<String, String>,
    cleared: &[&str],
    capture: bool,
) -> Result<tokio::process::Child> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).envs(vars).kill_on_drop(true);
    if capture {
        cmd.stdout(std::process::Stdio::piped());
    }
    for name in cleared {
        cmd.env_remove(name);
    }
    #[cfg(unix)]
    cmd.process_group(0);
    cmd.spawn().map_err(|e| {
        Error::aws(format!(
            "cannot start `{program}`: {e}{}",
            match program {
                "python3" => " (the reference worker needs python3 with boto3 on PATH; or give your own command after --)",
                _ => "",
            }
        ))
    })
}

/// Sends `signal` (`INT`, `TERM`, `KILL`) to the child, by its process id.
async fn signal(child: &tokio::process::Child, signal: &str) {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill")
            .args(["-s", signal, &pid.to_string()])
            .status()
            .await;
    }
}

/// The account the credentials are for (checked against the file's `accounts:`) and the
/// variables `stage`'s workers get there.
fn read(
    session: &Session,
    env: &Environment,
    stage: &Environment,
    command: &'static str,
) -> Result<(String, BTreeMap<String, String>)> {
    // Fail closed: a StackSets instance's stacks are not named as the templates name them.
    if !env.deployed_directly() {
        return Err(crate::placement::errors::Usage::WorkerEnvNotDirect {
            env: env.name.clone(),
            command,
        }
        .into());
    }
    let account = session.block_on(async {
        let clients = crate::session::clients_for(&session.aws, env).await;
        crate::ownership::check_account(&clients.sts, env).await?;
        crate::aws::account_id(&clients.sts)
            .await
            .map_err(Error::from)
    })?;
    let rendered = crate::render::render(env)?;
    let fleet = rendered
        .iter()
        .find(|s| s.stack_name == stage.fleet_stack_name())
        .ok_or_else(|| Error::aws(format!("{}: no fleet stack rendered", stage.name)))?;
    let variables = crate::render::worker_variables(env, stage, fleet, &account)?;
    Ok((account, variables))
}

/// Reads `stage`'s worker environment (of the environment `env`) and prints it.
pub(crate) fn show(
    session: &Session,
    env: &Environment,
    stage: &Environment,
    shell: bool,
    out: Output,
) -> Result<Exit> {
    let (account, variables) = read(session, env, stage, "env")?;
    out.print(&WorkerEnv {
        environment: env.name.clone(),
        body: Body {
            stage: stage.pipeline_stage().map(|s| s.name.clone()),
            kind: stage.spec.workers.kind.to_string(),
            account,
            region: stage.spec.region.clone(),
            variables,
            secrets: stage.spec.workers.secrets.clone(),
        },
        shell,
    })
}

impl Report for WorkerEnv {
    fn exit_code(&self) -> Exit {
        Exit::Ok
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        Document::new(
            Exit::Ok,
            vec![crate::output::Environment::ok(
                &self.environment,
                &self.body,
            )],
        )
    }

    fn text(&self, out: &Output) -> Result<()> {
        let quote = crate::stack_outputs::shell_quote;
        for (k, v) in &self.body.variables {
            match self.shell {
                true => out.line(format!("export {k}={}", quote(v))),
                false => out.line(format!("{k}={v}")),
            }
        }
        for (k, from) in &self.body.secrets {
            // A secret's value is never printed: the worker reads it when it starts.
            match self.shell {
                true => out.line(format!(
                    "# {k}: a secret, read from {from} when the worker starts"
                )),
                false => out.note(format!(
                    "{k}: a secret, read from {from} when the worker starts"
                )),
            }
        }
        Ok(())
    }
}
