//! `qfleet dlq ENV list|show|redrive|purge`: the environment's dead-letter queue.

use super::Global;
use crate::dlq;
use crate::dlq::Action;
use crate::error::{Result, Usage};
use crate::output::Output;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct DlqArgs {
    /// One environment: its name (a file in the stacks directory, one copy, ENV-TARGET@ACCOUNT
    /// for one account of a whole-unit target, or NAME@REGION or NAME@ACCOUNT/REGION for the
    /// one environment of a name there), or a path.
    pub env: String,
    /// For a pipeline, the stage whose dead-letter queue to act on (`list` and `show` default to
    /// every stage's; `redrive` and `purge` need one named).
    #[arg(long, global = true)]
    pub stage: Option<String>,
    #[command(subcommand)]
    pub action: DlqAction,
}

#[derive(Debug, Subcommand)]
pub enum DlqAction {
    /// The dead-lettered messages (the uploads they name, receive count, age), peeked without
    /// consuming them.
    List {
        /// The most messages to show.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
        max: u16,
    },
    /// One message in full, by its id (from `list`).
    Show {
        /// The message's id, as `list` prints it.
        id: String,
    },
    /// Sends every dead-lettered message back to the job queue (SQS's message-move task);
    /// follows a redrive already running; Ctrl-C cancels it. With --job, only that job's.
    Redrive {
        /// The most messages moved a second (1 to 500; default: as fast as SQS goes).
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..=500))]
        rate: Option<i32>,
        /// Only the dead letter of this job (an upload's key, or a message job's id): received,
        /// sent to the job queue, then deleted; its record says queued again.
        #[arg(long, conflicts_with = "rate")]
        job: Option<String>,
    },
    /// Deletes every dead-lettered message, only with `--confirm` naming how many it holds.
    Purge {
        /// The number of messages the dead-letter queue holds now (`list` says it).
        #[arg(long)]
        confirm: Option<u64>,
    },
}

impl DlqAction {
    /// The feature's action for this subcommand.
    fn action(&self) -> Action {
        match self {
            DlqAction::List { max } => Action::List { max: *max as usize },
            DlqAction::Show { id } => Action::Show { id: id.clone() },
            DlqAction::Redrive { rate, job } => Action::Redrive {
                rate: *rate,
                job: job.clone(),
            },
            DlqAction::Purge { confirm } => Action::Purge { confirm: *confirm },
        }
    }
}

pub(crate) fn run(args: DlqArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let session = super::session_without_build_contexts(std::slice::from_ref(&args.env), g)?;
    if session.envs.len() != 1 {
        return Err(Usage::OneEnvironment {
            command: "dlq",
            named: args.env.clone(),
            count: session.envs.len(),
        }
        .into());
    }
    let action = args.action.action();
    let stage = args.stage.as_deref();
    let results = crate::placement::each_located(&session, |clients, env, at| {
        let action = &action;
        async move { dlq::act(&clients, env, at, action, stage, out).await }
    });
    match results.into_iter().next() {
        Some(result) => out.print(&result),
        None => Err(Usage::NoEnvironment { what: "act on" }.into()),
    }
}
