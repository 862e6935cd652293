//! `qfleet teardown ENV...`: delete the fleet, then the data, never losing data by accident.

use super::{Global, Session};
use crate::error::ErrorReport;
use crate::error::{Error, Result};
use crate::output::progress::Reporter;
use crate::output::{Output, envelope};
use crate::teardown::schedule::Schedule;
use crate::teardown::{self, Options, TeardownOutcome};
use clap::{Args, ValueEnum};
use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Only {
    /// The fleet stack only: workers go, the bucket and the queued messages stay.
    Fleet,
}

#[derive(Debug, Args)]
pub struct TeardownArgs {
    /// Environment names (files in the stacks directory, copies, globs) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// Delete without asking (required when there is no terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Empty the bucket, all object versions and delete markers included, so it can be deleted.
    #[arg(long)]
    pub purge_bucket: bool,
    /// Delete the queue and the dead-letter queue even when they hold messages.
    #[arg(long)]
    pub discard_messages: bool,
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
}

pub fn run(args: TeardownArgs, g: &Global, out: Output) -> Result<i32> {
    let mut session = Session::open_with_pipelines(&args.envs, g)?;
    if args.stage.is_some() {
        for env in &session.envs {
            super::chosen_stages(env, args.stage.as_deref())?;
        }
    }
    // `--concurrency` bounds the environments reading, deciding or sending calls, not those
    // whose stacks CloudFormation is deleting: every environment starts, and each takes one of
    // the schedule's slots for its calls and gives it back while it waits (teardown::schedule).
    let schedule = Schedule::new(session.concurrency);
    session.concurrency = session.envs.len().max(1);
    let envs = &session.envs;
    // Several environments on a terminal: one question each, in turn (`a`: yes to all).
    let can_prompt = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let opts = Options {
        yes: args.yes,
        can_prompt,
        purge_bucket: args.purge_bucket,
        discard_messages: args.discard_messages,
        disable_termination_protection: args.disable_termination_protection,
        only_fleet: args.only == Some(Only::Fleet),
        stage: args.stage.clone(),
        retain_failed: args.retain_failed,
        polling: Default::default(),
        schedule,
    };
    let reporter = Reporter::new(out);
    reporter.several_environments(envs.len() > 1);
    let outcomes: Vec<TeardownOutcome> = session
        .each_until_interrupted(|clients, env| {
            let (opts, reporter) = (opts.clone(), &reporter);
            async move { teardown::environment(&clients, env, &opts, reporter).await }
        })
        .ok_or_else(|| {
            Error::Interrupted(format!(
                "interrupted: stopped waiting; nothing more is started.\n  {}",
                reporter.ledger.report(&session.names()).join("\n  ")
            ))
        })?;
    let code = outcomes.iter().map(|o| o.exit_code).max().unwrap_or(0);
    if out.is_json() {
        let events = reporter.events();
        let environments = envs
            .iter()
            .zip(&outcomes)
            .map(|(env, o)| {
                let stacks: Vec<String> = std::iter::once(env.data_stack_name())
                    .chain(env.stages().iter().map(|s| s.fleet_stack_name()))
                    .collect();
                let mut v = envelope::environment(
                    &o.environment,
                    o.exit_code,
                    o.error
                        .as_ref()
                        .map(|e| ErrorReport::from_exit_code(o.exit_code, e)),
                    o,
                );
                v["events"] = envelope::events_of(&events, &env.name, &stacks).into();
                v
            })
            .collect();
        out.document(envelope::document(
            "teardown",
            code,
            environments,
            Default::default(),
        ));
        return Ok(code);
    }
    for o in &outcomes {
        let (line, note) = crate::teardown::text::outcome(o);
        out.line(line);
        if let Some(note) = note {
            out.note(note);
        }
    }
    Ok(code)
}
