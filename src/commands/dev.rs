//! `qfleet dev ENV [--stage S] [-- COMMAND...]`: a worker on this machine with the fleet's
//! settings.

use super::Global;
use crate::error::{Result, Usage};
use crate::output::Output;
use clap::Args;

#[derive(Debug, Args)]
pub struct DevArgs {
    /// One environment: its name (a file in the stacks directory, one copy, ENV-TARGET@ACCOUNT
    /// for one account of a whole-unit target, or NAME@REGION or NAME@ACCOUNT/REGION for the
    /// one environment of a name there), or a path.
    pub env: String,
    /// For a pipeline, run this stage's worker (default: the first stage's).
    #[arg(long)]
    pub stage: Option<String>,
    /// Run on a protected environment too: the worker takes its real jobs.
    #[arg(long)]
    pub on_protected: bool,
    /// Run with the workers' own role (assumed for an hour), so that AccessDenied shows as it
    /// would in the fleet; the role must trust you (workers.dev_principals).
    #[arg(long)]
    pub as_workers: bool,
    /// Give the worker the stack file's secrets, read when it starts as an instance reads them
    /// (qfleet-secrets, with the worker's credentials); without it they are not set.
    #[arg(long)]
    pub with_secrets: bool,
    /// Keep your shell's value of this variable where the fleet's would replace it, or where
    /// dev would clear it (repeat for more names); dev names each one it replaces.
    #[arg(long, value_name = "NAME")]
    pub keep: Vec<String>,
    /// Check the worker against the worker protocol instead of running it until Ctrl-C: send
    /// it one job as a message (this file's text its body, under an id of its own), follow the
    /// job's record, send it again, then stop the worker with SIGTERM; exit 0 when every rule
    /// was kept, 3 when not.
    #[arg(long, value_name = "JOB")]
    pub check: Option<std::path::PathBuf>,
    /// With --check: how long the job may take here, from its send to its record's end:
    /// whole seconds or a number with a unit (90, 30s, 5m) (default 2m).
    #[arg(long, requires = "check", value_parser = super::global::positive_duration)]
    pub timeout: Option<std::time::Duration>,
    /// The command to run (default: the reference worker, with python3 and boto3).
    #[arg(last = true)]
    pub command: Vec<String>,
}

pub(crate) fn run(args: DevArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let session = super::session_of_accounts(std::slice::from_ref(&args.env), g)?;
    let [env] = session.envs.as_slice() else {
        return Err(Usage::OneEnvironment {
            command: "dev",
            named: args.env.clone(),
            count: session.envs.len(),
        }
        .into());
    };
    let stages = crate::session::chosen_stages(env, args.stage.as_deref())?;
    let dev = crate::worker_env::Dev {
        command: args.command,
        on_protected: args.on_protected,
        as_workers: args.as_workers,
        with_secrets: args.with_secrets,
        keep: args.keep,
        check: args.check,
        timeout: args.timeout,
    };
    crate::worker_env::dev(&session, env, stages[0], dev, out)
}
