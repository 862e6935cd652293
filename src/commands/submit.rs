//! `qfleet submit ENV [BODY]`: send one job as a message, as a producer's own code would
//! (docs/jobs.md); with `--wait`, follow its record to its end; with `--lines FILE`, a
//! backfill of one job per line.

use super::Global;
use crate::error::{Result, Usage};
use crate::output::Output;
use crate::submit::{self, Submitted};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// One environment: its name (a file in the stacks directory, one copy, ENV-TARGET@ACCOUNT
    /// for one account of a whole-unit target, or NAME@REGION or NAME@ACCOUNT/REGION for the
    /// one environment of a name there), or a path.
    pub env: String,
    /// The job's body, as the message's text (JSON is what the reference workers parse).
    #[arg(conflicts_with_all = ["file", "lines"])]
    pub body: Option<String>,
    /// Read the body from this file instead.
    #[arg(long, conflicts_with = "lines")]
    pub file: Option<PathBuf>,
    /// A backfill: one job per line of this file (each a JSON value), sent in batches of ten;
    /// every line is checked before any is sent, and every job's id printed.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["id", "wait"])]
    pub lines: Option<PathBuf>,
    /// With --lines: each job's id is this top-level field of its line (a string or number),
    /// so that running the file again sends no job twice (default: a new UUID each).
    #[arg(long, value_name = "NAME", requires = "lines")]
    pub id_field: Option<String>,
    /// The job's id, sent as the job_id message attribute (default: a new UUID). A job id
    /// already done is not sent again.
    #[arg(long)]
    pub id: Option<String>,
    /// A message attribute NAME=VALUE for the job (repeatable; at most 9).
    #[arg(long = "attribute", value_name = "NAME=VALUE")]
    pub attributes: Vec<String>,
    /// The job's message group. On a FIFO queue (`queue.fifo`), required: the group's jobs
    /// run one at a time, in the order sent. On a standard queue, a tenant that SQS's fair
    /// queues keep apart, so that one noisy tenant does not delay the others' jobs (no order).
    #[arg(long, value_name = "G")]
    pub group: Option<String>,
    /// Send to the stage's priority lane (`queue.priority`): its workers take it before the
    /// jobs waiting in the job queue.
    #[arg(long)]
    pub priority: bool,
    /// Follow the job's record until it is done (exit 0) or failed (exit 1); needs `jobs:`.
    #[arg(long)]
    pub wait: bool,
    /// Send again a job whose record still says queued: a submit cut off before it knew
    /// whether its message went out. If both messages arrive, the second finds the job done.
    #[arg(long)]
    pub resend: bool,
    /// The stage of a pipeline to send the job to (default: the first); a later stage must
    /// declare sources.messages.
    #[arg(long, value_name = "S")]
    pub stage: Option<String>,
    /// How long --wait follows it: whole seconds or a number with a unit (90, 30s, 5m).
    #[arg(long, default_value = "5m", value_parser = super::global::positive_duration)]
    pub timeout: Duration,
}

pub(crate) fn run(args: SubmitArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let session = super::session_without_build_contexts(std::slice::from_ref(&args.env), g)?;
    let [env] = session.envs.as_slice() else {
        return Err(Usage::OneEnvironment {
            command: "submit",
            named: args.env.clone(),
            count: session.envs.len(),
        }
        .into());
    };
    let stage = submit::stage_of(env, args.stage.as_deref())?;
    if let Some(path) = &args.lines {
        return backfill(&args, path, &session, (env, stage), out);
    }
    let request = submit::Request::new(
        stage,
        args.body,
        args.file.as_deref(),
        args.id,
        &args.attributes,
        args.wait.then_some(args.timeout),
        args.resend,
    )?
    .with_group(args.group)?
    .with_priority(stage, args.priority)?
    .with_tenant(stage.spec.queue.tenant.as_ref())?;
    let result = crate::placement::each_located(&session, |clients, env, at| {
        let request = request.clone();
        let stage = args.stage.clone();
        async move {
            let env = submit::stage_of(env, stage.as_deref())?;
            submit::submit(&clients, env, &at?, &request).await
        }
    })
    .into_iter()
    .next()
    .ok_or(Usage::NoEnvironment { what: "submit to" })?;
    out.print(&Submitted::new(env, stage, &request.id, result))
}

/// `--lines FILE`: one job per line, sent in batches (`submit::backfill`).
fn backfill(
    args: &SubmitArgs,
    path: &std::path::Path,
    session: &super::Session,
    (env, stage): (&crate::config::Environment, &crate::config::Environment),
    out: Output,
) -> Result<crate::error::Exit> {
    // Each line's body and id replace these, and its tenant its group (`queue.tenant`).
    let template = submit::Request::new(
        stage,
        Some("{}".into()),
        None,
        None,
        &args.attributes,
        None,
        args.resend,
    )?
    .with_group(args.group.clone())?
    .with_priority(stage, args.priority)?;
    let lines = submit::Lines::read(
        path,
        args.id_field.as_deref(),
        &template,
        stage.spec.queue.tenant.as_ref(),
    )?;
    let result = crate::placement::each_located(session, |clients, env, at| {
        let lines = lines.clone();
        let stage = args.stage.clone();
        async move {
            let env = submit::stage_of(env, stage.as_deref())?;
            submit::backfill(&clients, env, &at?, &lines).await
        }
    })
    .into_iter()
    .next()
    .ok_or(Usage::NoEnvironment { what: "submit to" })?;
    out.print(&submit::Backfilled {
        environment: env.name.clone(),
        result,
    })
}
