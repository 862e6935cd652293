//! `qfleet simulate ENV... --load SPEC`: the environments as rendered, run under a load by the
//! scaling simulator (offline); exit 3 when an environment misses its latency goal. A pipeline
//! runs stage by stage, each stage under the completions of the one before it, and misses when
//! any stage misses its own goal.

use super::Global;
use crate::config::duration;
use crate::error::{Result, Usage};
use crate::output::Output;
use crate::simulate::{
    Assumptions, Kind, TypeSpec, parse_kinds, parse_load, parse_types, simulate_all, tune_all,
};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Environment names (files in the stacks directory, copies, globs) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// When messages arrive: steady:RATE (10/s, 600/m, evenly spaced), poisson:RATE (random,
    /// seeded by --seed), burst:N@T (5000@60s), daily:PEAK (50/s at noon), csv:FILE
    /// (seconds[,count] per line); join terms with +. Default: poisson at the stack file's
    /// scaling.expected_peak, the load validate checks the goal under (every environment
    /// given must set the same).
    #[arg(long, value_name = "SPEC")]
    pub load: Option<String>,
    /// How long to simulate (60s, 30m, 2h, 1d; up to 31d). Default: an hour, a day for
    /// daily:, and 30 minutes past the last burst or CSV arrival.
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,
    /// Write an SVG chart of the run (FILE-ENV.svg for each of several environments).
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,
    /// Mean processing time of one message, in seconds. Default: scaling.seconds_per_message
    /// (a pipeline: for the stages that set none, as a Lambda stage).
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub seconds_per_message: Option<f64>,
    /// Processing times are uniform within the mean ± this share of it (0 to 0.95).
    #[arg(
        long,
        default_value_t = 0.2,
        value_name = "SHARE",
        allow_negative_numbers = true
    )]
    pub spread: f64,
    /// Share of processing attempts that fail (0 to 1): the message is retried after the
    /// visibility timeout, and dead-lettered after queue.max_receive_count receives.
    #[arg(
        long,
        default_value_t = 0.0,
        value_name = "SHARE",
        allow_negative_numbers = true
    )]
    pub failure_rate: f64,
    /// Time from an instance's launch to its worker reading the queue (boot, user data), or
    /// for Fargate from a task's placement (image pull, start). Default: 90s for an instance,
    /// 300s for an accelerated one (G, P, Inf, Trn, DL, VT: boot, driver, a multi-GB image, the
    /// model), 60s for a task.
    #[arg(long, value_name = "D")]
    pub launch_time: Option<String>,
    /// Messages one instance (or Fargate task) works on at once (the reference worker: 1).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub messages_per_instance: u64,
    /// The latency goal, upload to processed (e.g. 60s, 5m). Default:
    /// scaling.max_latency_seconds (a Lambda environment has none: give it here; a pipeline:
    /// for the stages that set none).
    #[arg(long, value_name = "D")]
    pub max_latency: Option<String>,
    /// Seed of the run's random draws (processing times, failures, `poisson:` arrivals): the
    /// same seed, the same run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Find the cheapest scaling settings (target, min, max, scale-in, metric) that meet the
    /// goal under this load in every run of the assumptions' range, and still meet it under
    /// Poisson arrivals with other seeds and under the load raised by --margin. Print the
    /// stack-file lines to paste (EC2 and Fargate workers; exit 3 when none does).
    #[arg(long)]
    pub tune: bool,
    /// Headroom to keep, as a share of the load (0 to 1): --tune checks each choice under
    /// the load raised by it, and a run warns when its fleet settles with less.
    #[arg(
        long,
        default_value_t = 0.1,
        value_name = "SHARE",
        allow_negative_numbers = true
    )]
    pub margin: f64,
    /// Share of the arriving jobs sent to the priority lane (0 to 1; needs queue.priority, a
    /// pipeline's on its first stage): urgent jobs, as `qfleet submit --priority` sends them.
    /// The report gives each lane's latency; the goal stays judged on all jobs.
    #[arg(
        long,
        default_value_t = 0.0,
        value_name = "SHARE",
        allow_negative_numbers = true
    )]
    pub priority_share: f64,
    /// Prices from FILE, a table scripts/prices wrote (fresh from AWS's public price list
    /// files), instead of the dated one built in.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// With --tune (EC2 workers): tune once for each of these instance types, as the fleet's
    /// only type, and print the cheapest's lines and every type's cost a day at the goal.
    /// Each works the file's messages at once and seconds a message unless given as TYPE:N
    /// (N at once) or TYPE:N:S (and S seconds each); up to 10 types.
    #[arg(long, value_name = "A,B,…")]
    pub instance_types: Option<String>,
    /// With --tune: tune the job as each of these kinds of worker (all, or some of ec2,
    /// ecs_managed, fargate, lambda) and rank them by cost a day at the goal, each with its
    /// settings and lines; a kind that cannot run the job is listed last, with why. EC2 and
    /// ECS Managed Instances: each of --instance-types, else the file's first type.
    #[arg(long, value_name = "KINDS")]
    pub kinds: Option<String>,
}

/// The longest run: a month of one-second steps.
const MAX_DURATION: u64 = 31 * 86_400;

fn flag_duration(flag: &'static str, text: &str, min: u64) -> Result<u64> {
    match duration::parse(text) {
        Some(d) if d.0 >= min && d.0 <= MAX_DURATION => Ok(d.0),
        _ => Err(Usage::FlagValue {
            flag,
            value: text.to_string(),
            why: format!("a duration from {min}s to 31d (e.g. 90, 90s, 30m, 2h, 1d)"),
        }
        .into()),
    }
}

/// A share flag's value, from 0 to `max`.
fn share(flag: &'static str, v: f64, max: f64) -> Result<f64> {
    if (0.0..=max).contains(&v) {
        Ok(v)
    } else {
        Err(Usage::FlagValue {
            flag,
            value: v.to_string(),
            why: format!("a share from 0 to {max}"),
        }
        .into())
    }
}

/// The numbers that have no parser of their own, checked.
fn check_numbers(args: &SimulateArgs) -> Result<()> {
    if args.messages_per_instance == 0 || args.messages_per_instance > 1_000 {
        return Err(Usage::FlagValue {
            flag: "--messages-per-instance",
            value: args.messages_per_instance.to_string(),
            why: "a whole number from 1 to 1000".to_string(),
        }
        .into());
    }
    if let Some(s) = args.seconds_per_message
        && !(s.is_finite() && s > 0.0 && s <= 43_200.0)
    {
        return Err(Usage::FlagValue {
            flag: "--seconds-per-message",
            value: s.to_string(),
            why: "a number of seconds above 0, at most 43200 (12 hours)".to_string(),
        }
        .into());
    }
    Ok(())
}

/// `--load`, or the stack files' own peak as validate simulates it (`poisson:PEAK/s`).
fn load_spec(args: &SimulateArgs, envs: &[crate::config::Environment]) -> Result<String> {
    if let Some(load) = &args.load {
        return Ok(load.clone());
    }
    let peaks: std::collections::BTreeSet<Option<String>> = envs
        .iter()
        .map(|e| e.spec.scaling.expected_peak.map(|p| p.to_string()))
        .collect();
    match peaks.into_iter().collect::<Vec<_>>()[..] {
        [Some(ref peak)] => Ok(format!("poisson:{peak}/s")),
        _ => Err(Usage::FlagValue {
            flag: "--load",
            value: String::new(),
            why: "is needed: give the arrivals to simulate (such as poisson:2/s), or set scaling.expected_peak, the same in every environment given".to_string(),
        }
        .into()),
    }
}

fn assumptions(args: &SimulateArgs, load: &str) -> Result<Assumptions> {
    check_numbers(args)?;
    let duration = |flag: &'static str, v: &Option<String>, min: u64| {
        v.as_deref()
            .map(|d| flag_duration(flag, d, min))
            .transpose()
    };
    Ok(Assumptions {
        load: parse_load(load, Path::new("."))?,
        duration: duration("--duration", &args.duration, 60)?,
        seconds_per_message: args.seconds_per_message,
        spread: share("--spread", args.spread, 0.95)?,
        failure_rate: share("--failure-rate", args.failure_rate, 1.0)?,
        launch_time: duration("--launch-time", &args.launch_time, 0)?,
        per_instance: args.messages_per_instance,
        seed: args.seed,
        max_latency: duration("--max-latency", &args.max_latency, 1)?.map(|s| s as f64),
        margin: share("--margin", args.margin, 1.0)?,
        priority_share: share("--priority-share", args.priority_share, 1.0)?,
    })
}

/// `--instance-types`' types: only with `--tune`.
fn instance_types(args: &SimulateArgs) -> Result<Option<Vec<TypeSpec>>> {
    let Some(text) = &args.instance_types else {
        return Ok(None);
    };
    if !args.tune {
        return Err(Usage::FlagValue {
            flag: "--instance-types",
            value: text.clone(),
            why: "only with --tune, which tunes the fleet for each type; give --tune".to_string(),
        }
        .into());
    }
    Ok(Some(parse_types(text)?))
}

/// `--kinds`' kinds: only with `--tune`.
fn kinds(args: &SimulateArgs) -> Result<Option<Vec<Kind>>> {
    let Some(text) = &args.kinds else {
        return Ok(None);
    };
    if !args.tune {
        return Err(Usage::FlagValue {
            flag: "--kinds",
            value: text.clone(),
            why: "only with --tune, which tunes the job for each kind; give --tune".to_string(),
        }
        .into());
    }
    Ok(Some(parse_kinds(text)?))
}

pub(crate) fn run(args: SimulateArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let envs = super::load_environments(&args.envs, g)?;
    let a = assumptions(&args, &load_spec(&args, &envs)?)?;
    let types = instance_types(&args)?;
    let kinds = kinds(&args)?;
    if let Some(file) = &args.prices {
        crate::simulate::use_prices(file).map_err(|why| Usage::FlagValue {
            flag: "--prices",
            value: file.display().to_string(),
            why,
        })?;
    }
    if args.tune {
        return out.print(&tune_all(&envs, &a, types.as_deref(), kinds.as_deref())?);
    }
    out.print(&simulate_all(&envs, &a, args.chart.as_deref())?)
}
