//! `qfleet logs ENV [--follow] [--since 10m] [--filter TEXT | --job ID]`: the workers' log
//! lines, each with the instance or the invocation it came from.

use super::Global;
use crate::error::{Result, Usage};
use crate::logs::{self, Options};
use crate::output::Output;
use clap::Args;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// One environment: its name (a file in the stacks directory, one copy, ENV-TARGET@ACCOUNT
    /// for one account of a whole-unit target, or NAME@REGION or NAME@ACCOUNT/REGION for the
    /// one environment of a name there), or a path.
    pub env: String,
    /// Keep showing new lines as they arrive, until Ctrl-C (text output only).
    #[arg(long, short)]
    pub follow: bool,
    /// How far back to start: whole seconds or a number with a unit (90, 30s, 10m, 2h, 1d).
    #[arg(long, default_value = "10m", value_parser = super::global::positive_duration)]
    pub since: Duration,
    /// Only lines containing this text (case-sensitive).
    #[arg(long)]
    pub filter: Option<String>,
    /// Only the lines of this job: those naming its id, and, with `jobs:`, those of each
    /// attempt's message its record keeps. An upload's id is its key (with or without the
    /// upload prefix).
    #[arg(long, conflicts_with = "filter")]
    pub job: Option<String>,
    /// For a pipeline, only this stage's workers (default: every stage's, merged by time).
    #[arg(long)]
    pub stage: Option<String>,
}

pub(crate) fn run(args: LogsArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    if args.follow {
        out.text_only("--follow shows lines as they come, as text; with -o json, leave it out to get one document of the lines since --since")?;
    }
    for (flag, given) in [("--filter", &args.filter), ("--job", &args.job)] {
        if given.as_deref().is_some_and(str::is_empty) {
            return Err(Usage::EmptyFilter { flag }.into());
        }
    }
    let session = super::session_without_build_contexts(std::slice::from_ref(&args.env), g)?;
    let [env] = session.envs.as_slice() else {
        return Err(Usage::OneEnvironment {
            command: "logs",
            named: args.env.clone(),
            count: session.envs.len(),
        }
        .into());
    };
    let stages = crate::session::chosen_stages(env, args.stage.as_deref())?;
    let opts = Options {
        since: args.since,
        filter: args.filter,
        job: args.job,
        follow: args.follow,
    };
    logs::show(&session, env, stages, &opts, out)
}
