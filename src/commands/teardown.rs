//! `qfleet teardown ENV...`: delete the fleet, then the data, never losing data by accident.

use super::Global;
use crate::error::Result;
use crate::output::Output;
use crate::teardown::{self, Options, Schedule};
use clap::{Args, ValueEnum};
use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Only {
    /// The fleet stack only: workers go, the bucket and the queued messages stay.
    Fleet,
}

#[derive(Debug, Args)]
pub struct TeardownArgs {
    /// Environment names (files in the stacks directory, copies, globs, ENV-TARGET@ACCOUNT for
    /// one account of a whole-unit target, NAME@REGION or NAME@ACCOUNT/REGION for the one
    /// environment of a name there) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// Delete without asking (required when there is no terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Empty the bucket, all object versions and delete markers included, so it can be deleted.
    #[arg(long)]
    pub purge_bucket: bool,
    /// Delete the queue and the dead-letter queue (and the response queue) even when they
    /// hold messages.
    #[arg(long)]
    pub discard_messages: bool,
    /// Delete the job table (`jobs:`) even when it holds jobs' records.
    #[arg(long)]
    pub delete_job_records: bool,
    /// Say that no role, user or group attaches the producers' managed policy any more
    /// (`sources.messages`): qfleet cannot read IAM, and deleting the policy would detach it
    /// from roles that are not qfleet's.
    #[arg(long)]
    pub producers_detached: bool,
    /// Turn termination protection off before deleting (it is never lifted otherwise).
    #[arg(long)]
    pub disable_termination_protection: bool,
    /// Tear down only part of the environment.
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// With `--only fleet`, only this stage's fleet of a pipeline: the first step of removing
    /// a stage (its queues go with the deploy that leaves it out of the stack file).
    #[arg(long, requires = "only")]
    pub stage: Option<String>,
    /// When a stack ends in DELETE_FAILED, delete it again keeping the resources that failed.
    #[arg(long)]
    pub retain_failed: bool,
    /// Delete the VPC endpoints `workers.network.endpoints: create` made, with their group and
    /// prefix list. They serve the whole VPC, so they are kept unless asked.
    #[arg(long)]
    pub delete_endpoints: bool,
    /// Delete the images qfleet built (workers.image.build) with their ECR repository: a
    /// deploy builds them again from source. Kept unless asked, as a bucket's objects are.
    #[arg(long)]
    pub delete_images: bool,
}

pub(crate) fn run(args: TeardownArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let mut session = super::session_without_build_contexts(&args.envs, g)?;
    if args.stage.is_some() {
        for env in &session.envs {
            crate::session::chosen_stages(env, args.stage.as_deref())?;
        }
    }
    // `--concurrency` bounds the environments reading, deciding or sending calls, not those
    // whose stacks CloudFormation is deleting: every environment starts, and each takes one of
    // the schedule's slots for its calls and gives it back while it waits (teardown::schedule).
    let schedule = Schedule::new(session.concurrency);
    session.concurrency = session.envs.len().max(1);
    // Several environments on a terminal: one question each, in turn (`a`: yes to all).
    let can_prompt = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let opts = Options {
        yes: args.yes,
        can_prompt,
        purge_bucket: args.purge_bucket,
        discard_messages: args.discard_messages,
        delete_job_records: args.delete_job_records,
        producers_detached: args.producers_detached,
        disable_termination_protection: args.disable_termination_protection,
        only_fleet: args.only == Some(Only::Fleet),
        stage: args.stage.clone(),
        retain_failed: args.retain_failed,
        delete_endpoints: args.delete_endpoints,
        delete_images: args.delete_images,
        polling: Default::default(),
        schedule,
        rollout_locks: Default::default(),
    };
    out.print(&teardown::all(&session, &opts, out)?)
}
