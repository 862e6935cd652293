//! `qfleet deploy ENV...` and `qfleet plan ENV...`: change sets, preview, execution, progress.

use super::{Global, Session};
use crate::deploy::{self, EnvOutcome, InFlight, Mode, Options};
use crate::error::{EXIT_DIFFERENCES, Error, Result};
use crate::output::Output;
use crate::output::progress::Reporter;
use clap::Args;
use std::io::IsTerminal;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Environment names (files in the stacks directory) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// Execute the change sets without asking (required when there is no terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Go ahead even when a change set removes or replaces a bucket, queue or key.
    #[arg(long)]
    pub allow_replacement: bool,
    /// Create change sets even when the deployed stacks match (re-resolves the AMI parameter).
    #[arg(long)]
    pub force: bool,
    /// Discover the default VPC's subnets again instead of keeping the deployed ones.
    #[arg(long)]
    pub rediscover_network: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Environment names (files in the stacks directory) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// Exit 3 when changes are pending, 0 when there are none (1 and 2 stay errors).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Discover the default VPC's subnets again instead of keeping the deployed ones.
    #[arg(long)]
    pub rediscover_network: bool,
}

pub fn deploy(args: DeployArgs, g: &Global, out: Output) -> Result<i32> {
    let can_prompt = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.yes && can_prompt && args.envs.len() > 1 {
        return Err(Error::usage(
            "deploying several environments at once needs --yes (one confirmation per environment would interleave)",
        ));
    }
    let opts = Options {
        yes: args.yes,
        allow_replacement: args.allow_replacement,
        force: args.force,
        rediscover_network: args.rediscover_network,
        can_prompt,
        ..Default::default()
    };
    let outcomes = run(&args.envs, g, out, Mode::Deploy, opts)?;
    Ok(summarize(out, Mode::Deploy, &outcomes, false))
}

pub fn plan(args: PlanArgs, g: &Global, out: Output) -> Result<i32> {
    let opts = Options {
        rediscover_network: args.rediscover_network,
        ..Default::default()
    };
    let outcomes = run(&args.envs, g, out, Mode::Plan, opts)?;
    Ok(summarize(
        out,
        Mode::Plan,
        &outcomes,
        args.detailed_exitcode,
    ))
}

fn run(
    targets: &[String],
    g: &Global,
    out: Output,
    mode: Mode,
    opts: Options,
) -> Result<Vec<EnvOutcome>> {
    let session = Session::open(targets, g)?;
    let reporter = Reporter::new(out);
    let inflight = InFlight::default();
    let done = session.each_until_interrupted(|clients, env| {
        let (reporter, inflight, opts) = (&reporter, inflight.clone(), opts.clone());
        async move { deploy::environment(&clients, env, mode, &opts, reporter, &inflight).await }
    });
    match done {
        Some(outcomes) => Ok(outcomes),
        None => {
            let mut notes = session.block_on(inflight.abandon());
            notes.extend(reporter.ledger.report(&session.names()));
            Err(Error::Interrupted(format!(
                "interrupted: stopped waiting.\n  {}",
                notes.join("\n  ")
            )))
        }
    }
}

/// Prints one line per environment (or the JSON summary) and returns the run's exit code:
/// the highest of the environments' codes, or 3 for pending changes with --detailed-exitcode.
fn summarize(out: Output, mode: Mode, outcomes: &[EnvOutcome], detailed: bool) -> i32 {
    let started = Instant::now();
    let failed = outcomes.iter().map(|o| o.exit_code).max().unwrap_or(0);
    let pending = outcomes
        .iter()
        .flat_map(|o| &o.stacks)
        .any(|s| s.action.pending());
    let code = if failed != 0 {
        failed
    } else if detailed && pending {
        EXIT_DIFFERENCES
    } else {
        0
    };
    if out.is_json() {
        out.json(&serde_json::json!({
            "event": "summary",
            "command": if mode == Mode::Plan { "plan" } else { "deploy" },
            "ok": failed == 0,
            "changes_pending": pending,
            "exit_code": code,
            "environments": outcomes,
            "duration_ms": outcomes.iter().map(|o| o.duration_ms).max().unwrap_or(0) + started.elapsed().as_millis(),
        }));
        return code;
    }
    for o in outcomes {
        let secs = o.duration_ms as f64 / 1000.0;
        if let Some(err) = &o.error {
            out.line(format!("{}: FAILED after {secs:.1} s", o.environment));
            out.note(format!("error: {}: {err}", o.environment));
            for s in &o.stacks {
                out.line(format!("  {} {}", s.stack, s.action.text()));
            }
        } else {
            let stacks: Vec<String> = o
                .stacks
                .iter()
                .map(|s| format!("{} {}", s.stack, s.action.text()))
                .collect();
            out.line(format!(
                "{}: {} ({secs:.1} s)",
                o.environment,
                stacks.join(", ")
            ));
        }
    }
    code
}
