//! `qfleet env ENV [--stage S] [--shell]`: a stage's worker environment as the fleet gets it.

use super::Global;
use crate::error::{Result, Usage};
use crate::output::Output;
use clap::Args;

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// One environment: its name (a file in the stacks directory, one copy, ENV-TARGET@ACCOUNT
    /// for one account of a whole-unit target, or NAME@REGION or NAME@ACCOUNT/REGION for the
    /// one environment of a name there), or a path.
    pub env: String,
    /// For a pipeline, this stage's workers (default: the first stage's).
    #[arg(long)]
    pub stage: Option<String>,
    /// Print `export NAME=value` lines (values shell-quoted) for `eval`; secrets as comments.
    #[arg(long, conflicts_with = "output")]
    pub shell: bool,
}

pub(crate) fn run(args: EnvArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let session = super::session_of_accounts(std::slice::from_ref(&args.env), g)?;
    let [env] = session.envs.as_slice() else {
        return Err(Usage::OneEnvironment {
            command: "env",
            named: args.env.clone(),
            count: session.envs.len(),
        }
        .into());
    };
    let stages = crate::session::chosen_stages(env, args.stage.as_deref())?;
    crate::worker_env::show(&session, env, stages[0], args.shell, out)
}
