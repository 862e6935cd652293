//! `qfleet deploy ENV...` and `qfleet plan ENV...`: change sets, preview, execution, progress.

use super::{Global, Session};
use crate::deploy::summary::{self, Collected};
use crate::deploy::{self, EnvOutcome, InFlight, Mode, Options};
use crate::error::{Error, Result};
use crate::output::progress::Reporter;
use crate::output::{Output, envelope};
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
    #[command(flatten)]
    pub modes: ModeArgs,
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
    /// Every stack's preview (the default for one environment); several get a row each.
    #[arg(long)]
    pub details: bool,
    #[command(flatten)]
    pub modes: ModeArgs,

    /// `markdown`: the preview as Markdown on stdout, for a pull-request comment (not with
    /// `--output json`/`ndjson`; progress stays on stderr).
    #[arg(long, value_enum, default_value_t = PreviewFormat::Text)]
    pub format: PreviewFormat,
}

/// How the change sets of deploy (and of the plan previewing it) are made.
#[derive(Debug, Args)]
pub struct ModeArgs {
    /// CloudFormation's express mode: operations end once the configuration is applied,
    /// without waiting for resources to stabilise (the default for labs; on a protected
    /// environment only through this flag, with a warning).
    #[arg(long, overrides_with = "no_express")]
    pub express: bool,
    /// The standard mode even where the stack file says express.
    #[arg(long, overrides_with = "express")]
    pub no_express: bool,
    /// Drift-aware change sets: compared with the resources' actual state, they bring
    /// resources changed outside CloudFormation back to the template (the preview shows, per
    /// property, what is overwritten). They run in the standard mode, with rollback.
    #[arg(long, conflicts_with = "express")]
    pub revert_drift: bool,
    /// Take over stacks of the environment's names that qfleet did not create for it (no
    /// qfleet:environment tag, or another owner's): refused without this flag. The preview
    /// shows what changes; resources their template has and qfleet's does not are deleted.
    #[arg(long)]
    pub adopt: bool,
}

impl ModeArgs {
    /// `--express` / `--no-express` (the last one given wins); neither: the stack file decides.
    fn express(&self) -> Option<bool> {
        match (self.express, self.no_express) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

/// How `plan` prints its preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PreviewFormat {
    Text,
    Markdown,
}

pub fn deploy(args: DeployArgs, g: &Global, out: Output) -> Result<i32> {
    // Several environments on a terminal: one question each, in turn (`a`: yes to all).
    let can_prompt = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    // Decided before anything touches AWS: without a terminal nobody can confirm, and a run
    // that would only end by asking must not continue a rollback or create change sets first.
    if !args.yes && !can_prompt {
        // The stack files' own problems come first: they are what to fix.
        super::load_environments(&args.envs, g)?;
        return Err(Error::usage(
            "not deploying without confirmation: there is no terminal to ask on; pass --yes (nothing was read or changed)",
        ));
    }
    let opts = Options {
        yes: args.yes,
        allow_replacement: args.allow_replacement,
        force: args.force,
        rediscover_network: args.rediscover_network,
        can_prompt,
        express: args.modes.express(),
        revert_drift: args.modes.revert_drift,
        adopt: args.modes.adopt,
        ..Default::default()
    };
    let (outcomes, collected) = run(&args.envs, g, out, Mode::Deploy, opts, true)?;
    Ok(summarize(out, &collected, &outcomes, false, true))
}

pub fn plan(args: PlanArgs, g: &Global, out: Output) -> Result<i32> {
    if args.format == PreviewFormat::Markdown && out.is_json() {
        return Err(Error::usage(
            "--format markdown prints Markdown on stdout; it cannot be combined with --output json or ndjson (nor QFLEET_OUTPUT=json)",
        ));
    }
    let opts = Options {
        rediscover_network: args.rediscover_network,
        express: args.modes.express(),
        revert_drift: args.modes.revert_drift,
        adopt: args.modes.adopt,
        ..Default::default()
    };
    if args.format == PreviewFormat::Markdown {
        let (outcomes, _) = run(&args.envs, g, out, Mode::Plan, opts, args.details)?;
        return Ok(markdown(out, &outcomes, args.detailed_exitcode));
    }
    let (outcomes, collected) = run(&args.envs, g, out, Mode::Plan, opts, args.details)?;
    let details = args.details || outcomes.len() == 1;
    Ok(summarize(
        out,
        &collected,
        &outcomes,
        args.detailed_exitcode,
        details,
    ))
}

fn run(
    targets: &[String],
    g: &Global,
    out: Output,
    mode: Mode,
    opts: Options,
    details: bool,
) -> Result<(Vec<EnvOutcome>, Collected<'static>)> {
    // Pipelines of several stages: plan and deploy take them (teardown counts every stage).
    let session = Session::open_with_pipelines(targets, g)?;
    let reporter = Reporter::new(out).with_details(details || session.envs.len() == 1);
    reporter.several_environments(session.envs.len() > 1);
    if mode == Mode::Plan {
        // A declared peak the fleet cannot meet (simulated offline, as validate does): said
        // on stderr, and among the environment's warnings in the JSON document.
        for env in &session.envs {
            for stage in env.stages() {
                if let Some(w) = crate::simulate::peak_warning(stage) {
                    let w = match &stage.stage {
                        Some(s) if env.is_pipeline() => format!("stage {}: {w}", s.name),
                        _ => w,
                    };
                    out.note(format!("{}: warning: {w}", env.name));
                    reporter.event(crate::output::event::Event::Warning {
                        environment: Some(env.name.clone()),
                        stack: None,
                        change: None,
                        message: w,
                    });
                }
            }
        }
    }
    let inflight = InFlight::default();
    let done = session.each_until_interrupted(|clients, env| {
        let (reporter, inflight, opts) = (&reporter, inflight.clone(), opts.clone());
        async move { deploy::environment(&clients, env, mode, &opts, reporter, &inflight).await }
    });
    match done {
        Some(outcomes) => Ok((
            outcomes,
            Collected {
                events: reporter.events(),
                stacks: session
                    .envs
                    .iter()
                    .map(|e| {
                        std::iter::once(e.data_stack_name())
                            .chain(e.stages().iter().map(|s| s.fleet_stack_name()))
                            .collect()
                    })
                    .collect(),
                command: if mode == Mode::Plan { "plan" } else { "deploy" },
            },
        )),
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

/// Prints the plan as Markdown on stdout (errors on stderr too) and returns its exit code,
/// as the text summary's.
fn markdown(out: Output, outcomes: &[EnvOutcome], detailed: bool) -> i32 {
    let outcomes = with_run_codes(outcomes, detailed);
    crate::output::stdout_write(&deploy::markdown::render(&outcomes));
    for o in &outcomes {
        if let Some(err) = &o.error {
            out.note(format!("error: {}: {err}", o.environment));
        }
    }
    envelope::combined_exit_code(outcomes.iter().map(|o| o.exit_code))
}

/// The outcomes with each environment's exit code as the run reports it: 3 for one whose
/// stacks have pending changes under --detailed-exitcode and that did not fail. `o.ok` stays
/// "did not fail" (the previews' own sense); the JSON's `ok` follows the exit code
/// ([`envelope::environment`]).
fn with_run_codes(outcomes: &[EnvOutcome], detailed: bool) -> Vec<EnvOutcome> {
    outcomes
        .iter()
        .cloned()
        .map(|mut o| {
            let pending = detailed && o.stacks.iter().any(|s| s.action.pending());
            o.exit_code = envelope::environment_exit_code(o.exit_code, pending);
            o
        })
        .collect()
}

/// Prints one line per environment, or one row each without `details` (or the JSON document),
/// and returns the run's exit code ([`envelope::combined_exit_code`] of the environments',
/// each 3 for pending changes with --detailed-exitcode).
fn summarize(
    out: Output,
    collected: &Collected,
    outcomes: &[EnvOutcome],
    detailed: bool,
    details: bool,
) -> i32 {
    let started = Instant::now();
    let outcomes = &with_run_codes(outcomes, detailed)[..];
    let pending = outcomes
        .iter()
        .flat_map(|o| &o.stacks)
        .any(|s| s.action.pending());
    let code = envelope::combined_exit_code(outcomes.iter().map(|o| o.exit_code));
    if out.is_json() {
        let duration_ms = outcomes.iter().map(|o| o.duration_ms).max().unwrap_or(0)
            + started.elapsed().as_millis();
        out.document(summary::document(
            collected,
            outcomes,
            code,
            pending,
            duration_ms,
        ));
        return code;
    }
    if !details {
        let (rows, notes) = summary::rows(collected, outcomes);
        out.line(rows);
        for n in notes {
            out.note(n);
        }
        for o in outcomes {
            if let Some(err) = &o.error {
                out.note(format!("error: {}: {err}", o.environment));
            }
        }
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
        } else if o.cancelled {
            out.line(format!(
                "{} ({secs:.1} s)",
                crate::output::progress::cancelled(&o.environment)
            ));
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
