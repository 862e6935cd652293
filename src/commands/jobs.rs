//! `qfleet jobs ENV [KEY]`: one upload's jobs with their history, or the recent jobs
//! (`--failed`, `--state`, `--since`, `--limit`), from the job table (`jobs:`).

use super::Global;
use crate::error::{Result, Usage};
use crate::jobs::{self, Jobs, Query};
use crate::output::Output;
use clap::Args;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct JobsArgs {
    /// One environment: its name (a file in the stacks directory, one copy, ENV-TARGET@ACCOUNT
    /// for one account of a whole-unit target, or NAME@REGION or NAME@ACCOUNT/REGION for the
    /// one environment of a name there), or a path.
    pub env: String,
    /// An upload's key (under the upload prefix, or without it), or the id of a job sent as a
    /// message: its jobs with every change.
    pub key: Option<String>,
    /// Only failed jobs (the same as --state failed).
    #[arg(long, conflicts_with = "state")]
    pub failed: bool,
    /// Only jobs in this state: queued, processing, retrying, done, failed or cancelled.
    #[arg(long)]
    pub state: Option<String>,
    /// How far back a list goes, by each job's last change: whole seconds or a number with a
    /// unit (90, 30s, 10m, 2h, 1d).
    #[arg(long, default_value = "1h", value_parser = super::global::positive_duration)]
    pub since: Duration,
    /// At most this many jobs in a list, the most recent first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Cancel the job KEY names while it waits in its queue (queued or retrying): a worker
    /// that receives it skips it. A job a worker holds is not cancelled.
    #[arg(long, requires = "key", conflicts_with_all = ["failed", "state"])]
    pub cancel: bool,
}

/// The state `--failed` or `--state` filters by, checked.
fn state_of(failed: bool, state: Option<String>) -> Result<Option<String>> {
    match (failed, state) {
        (true, _) => Ok(Some("failed".to_string())),
        (false, Some(s)) if !jobs::STATES.contains(&s.as_str()) => {
            let allowed = jobs::STATES.join(", ");
            Err(crate::jobs::errors::Usage::JobState { state: s, allowed }.into())
        }
        (false, s) => Ok(s),
    }
}

pub(crate) fn run(args: JobsArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let state = state_of(args.failed, args.state)?;
    let session = super::session_without_build_contexts(std::slice::from_ref(&args.env), g)?;
    let [env] = session.envs.as_slice() else {
        return Err(Usage::OneEnvironment {
            command: "jobs",
            named: args.env.clone(),
            count: session.envs.len(),
        }
        .into());
    };
    let query = Query {
        key: args.key,
        state: state.clone(),
        since: args.since,
        limit: args.limit,
    };
    let cancel = args.cancel;
    let result = crate::placement::each_located(&session, |clients, env, at| {
        let q = query.clone();
        async move { find(&clients, env, &at?, &q, cancel).await }
    })
    .into_iter()
    .next()
    .ok_or(Usage::NoEnvironment { what: "read" })?;
    out.print(&Jobs {
        environment: env.name.clone(),
        result,
        since: crate::config::duration::Seconds(args.since.as_secs()).to_string(),
        state,
    })
}

/// The jobs `q` asks for (with `cancel`, after cancelling the key's), and for a key where each
/// one's message is.
async fn find(
    clients: &crate::aws::Clients,
    env: &crate::config::Environment,
    at: &crate::placement::StackNames,
    q: &Query,
    cancel: bool,
) -> Result<jobs::Found> {
    let mut found = match (&q.key, cancel) {
        (Some(id), true) => jobs::cancel(clients, env, at, id).await?,
        _ => jobs::read(clients, env, at, q).await?,
    };
    if q.key.is_some() {
        crate::dlq::whereabouts(clients, env, at, &mut found).await;
    }
    Ok(found)
}
