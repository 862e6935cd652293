//! `qfleet send ENV [FILE]`: upload a test object and follow it (the smoke test after a deploy).

use super::Global;
use crate::error::{Result, Usage};
use crate::output::Output;
use crate::send::{self, Sent, Until};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct SendArgs {
    /// One environment: its name (a file in the stacks directory, one copy, ENV-TARGET@ACCOUNT
    /// for one account of a whole-unit target, or NAME@REGION or NAME@ACCOUNT/REGION for the
    /// one environment of a name there), or a path.
    pub env: String,
    /// The file to upload (default: a line of text naming the run).
    pub file: Option<PathBuf>,
    /// The key under the upload prefix (default: qfleet-send-<unique>.txt).
    #[arg(long)]
    pub key: Option<String>,
    /// How far to follow it: `processed` (a worker moved it to the processed prefix) or `queue`
    /// (its event reached the job queue, for an environment without running workers: each look
    /// into the queue counts as a receive of the messages it returns, so it looks at most half
    /// of queue.max_receive_count times).
    #[arg(long, value_enum, default_value_t = Until::Processed)]
    pub until: Until,
    /// How long to wait for it: whole seconds or a number with a unit (90, 30s, 5m).
    #[arg(long, default_value = "5m", value_parser = super::global::positive_duration)]
    pub timeout: Duration,
    /// Leave the test object (and, with --until queue, its message) in place; by default they
    /// are removed once followed, so that a teardown does not count them as data.
    #[arg(long)]
    pub keep: bool,
}

pub(crate) fn run(args: SendArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let session = super::session_without_build_contexts(std::slice::from_ref(&args.env), g)?;
    let [env] = session.envs.as_slice() else {
        return Err(Usage::OneEnvironment {
            command: "send",
            named: args.env.clone(),
            count: session.envs.len(),
        }
        .into());
    };
    let request = send::Request::new(
        env,
        args.file.as_deref(),
        args.key.as_deref(),
        args.until,
        args.timeout,
        args.keep,
    )?;
    let result = crate::placement::each_located(&session, |clients, env, at| {
        let request = request.clone();
        async move { send::send(&clients, env, &at?, &request).await }
    })
    .into_iter()
    .next()
    .ok_or(Usage::NoEnvironment { what: "send to" })?;
    out.print(&Sent {
        environment: env.name.clone(),
        pipeline: env.is_pipeline(),
        timeout: args.timeout,
        result,
    })
}
