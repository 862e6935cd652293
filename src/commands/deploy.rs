//! `qfleet deploy ENV...` and `qfleet plan ENV...`: change sets, preview, execution, progress.

use super::Global;
use crate::deploy::{self, Mode, Options, Printing};
use crate::error::Result;
use crate::output::Output;
use clap::Args;
use std::io::IsTerminal;

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Environment names (files in the stacks directory, copies, globs) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// Execute the change sets without asking (required when there is no terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Go ahead even when a change set (or, through StackSets, a template change) removes or
    /// replaces a bucket, queue, key or job table.
    #[arg(long)]
    pub allow_replacement: bool,
    /// Create change sets even when the deployed stacks match (re-resolves the AMI parameter).
    #[arg(long)]
    pub force: bool,
    /// Discover the default VPC's subnets again instead of keeping the deployed ones.
    #[arg(long)]
    pub rediscover_network: bool,
    /// Go on with a rollout in waves (targets.N.wave) that stopped: a wave deployed already
    /// whose bake has run out since its stacks last changed is passed without a look at its
    /// alarms (one whose bake has not is watched for the rest of it).
    #[arg(long)]
    pub resume: bool,
    /// The container engine that builds the workers' images (workers.image.build), instead of
    /// the stack file's build.engine (default: Docker when its daemon answers, else Podman).
    #[arg(long, value_enum)]
    pub build_engine: Option<BuildEngine>,
    /// How long each image's push may take before qfleet stops it and the deploy fails (whole
    /// seconds or a number with a unit: 900, 90s, 45m). The fleets are not changed then; the
    /// data stack may have been.
    #[arg(long, default_value = "30m", value_parser = super::global::positive_duration)]
    pub push_timeout: std::time::Duration,
    #[command(flatten)]
    pub modes: ModeArgs,
}

/// An engine `--build-engine` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BuildEngine {
    Docker,
    Podman,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Environment names (files in the stacks directory, copies, globs) or paths to stack files.
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
    /// Go on when the account's EC2 vCPU quotas cannot hold workers.max (refused without it,
    /// exit 4; with it, a warning). `--yes` does not: it only answers questions.
    #[arg(long)]
    pub over_quota: bool,
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

pub(crate) fn deploy(args: DeployArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    // Several environments on a terminal: one question each, in turn (`a`: yes to all).
    let can_prompt = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    // Decided before anything touches AWS: without a terminal nobody can confirm, and a run
    // that would only end by asking must not continue a rollback or create change sets first.
    if !args.yes && !can_prompt {
        // The stack files' own problems come first: they are what to fix.
        super::load_environments(&args.envs, g)?;
        return Err(crate::deploy::errors::Usage::DeployUnconfirmed.into());
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
        over_quota: args.modes.over_quota,
        resume: args.resume,
        build_engine: args.build_engine.map(|e| match e {
            BuildEngine::Docker => crate::package::engine::Engine::Docker,
            BuildEngine::Podman => crate::package::engine::Engine::Podman,
        }),
        push_timeout: args.push_timeout,
        ..Default::default()
    };
    let printing = Printing {
        details: true,
        ..Default::default()
    };
    let session = super::session(&args.envs, g)?;
    out.print(&deploy::all(&session, Mode::Deploy, opts, out, printing)?)
}

pub(crate) fn plan(args: PlanArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let markdown = args.format == PreviewFormat::Markdown;
    if markdown {
        out.text_only("--format markdown prints Markdown on stdout; it cannot be combined with --output json or ndjson (nor QFLEET_OUTPUT=json)")?;
    }
    let opts = Options {
        rediscover_network: args.rediscover_network,
        express: args.modes.express(),
        revert_drift: args.modes.revert_drift,
        adopt: args.modes.adopt,
        over_quota: args.modes.over_quota,
        ..Default::default()
    };
    let session = super::session(&args.envs, g)?;
    let printing = Printing {
        details: args.details || session.envs.len() == 1,
        detailed_exitcode: args.detailed_exitcode,
        markdown,
    };
    out.print(&deploy::all(&session, Mode::Plan, opts, out, printing)?)
}
