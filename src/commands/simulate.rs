//! `qfleet simulate ENV... --load SPEC`: the environments as rendered, run under a load by the
//! scaling simulator (offline); exit 3 when an environment misses its latency goal.

use super::Global;
use crate::config::duration;
use crate::error::{Error, Result};
use crate::output::{Output, envelope};
use crate::simulate::{self, Assumptions, Report, load, report};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Environment names (files in the stacks directory, copies, globs) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// When messages arrive: steady:RATE (10/s, 600/m), burst:N@T (5000@60s), daily:PEAK
    /// (50/s at noon), csv:FILE (seconds[,count] per line); join terms with +.
    #[arg(long, value_name = "SPEC")]
    pub load: String,
    /// How long to simulate (60s, 30m, 2h, 1d; up to 31d). Default: an hour, a day for
    /// daily:, and 30 minutes past the last burst or CSV arrival.
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,
    /// Write an SVG chart of the run (FILE-ENV.svg for each of several environments).
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,
    /// Mean processing time of one message, in seconds. Default: scaling.seconds_per_message.
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
    /// EC2: time from an instance's launch to its worker reading the queue (boot, user data).
    #[arg(long, default_value = "90s", value_name = "D")]
    pub launch_time: String,
    /// EC2: messages one instance works on at once (the reference worker: 1).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub messages_per_instance: u64,
    /// The latency goal, upload to processed (e.g. 60s, 5m). Default:
    /// scaling.max_latency_seconds (a Lambda environment has none: give it here).
    #[arg(long, value_name = "D")]
    pub max_latency: Option<String>,
    /// Seed of the processing-time spread: the same seed, the same run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The longest run: a month of one-second steps.
const MAX_DURATION: u64 = 31 * 86_400;

fn flag_duration(flag: &str, text: &str, min: u64) -> Result<u64> {
    match duration::parse(text) {
        Some(d) if d.0 >= min && d.0 <= MAX_DURATION => Ok(d.0),
        _ => Err(Error::usage(format!(
            "{flag} {text}: a duration from {min}s to 31d (e.g. 90, 90s, 30m, 2h, 1d)"
        ))),
    }
}

fn assumptions(args: &SimulateArgs) -> Result<Assumptions> {
    let share = |flag: &str, v: f64, max: f64| {
        if (0.0..=max).contains(&v) {
            Ok(v)
        } else {
            Err(Error::usage(format!("{flag} {v}: a share from 0 to {max}")))
        }
    };
    if args.messages_per_instance == 0 || args.messages_per_instance > 1_000 {
        return Err(Error::usage(format!(
            "--messages-per-instance {}: a whole number from 1 to 1000",
            args.messages_per_instance
        )));
    }
    if let Some(s) = args.seconds_per_message
        && !(s.is_finite() && s > 0.0 && s <= 43_200.0)
    {
        return Err(Error::usage(format!(
            "--seconds-per-message {s}: a number of seconds above 0, at most 43200 (12 hours)"
        )));
    }
    Ok(Assumptions {
        load: load::parse(&args.load, Path::new("."))?,
        duration: args
            .duration
            .as_deref()
            .map(|d| flag_duration("--duration", d, 60))
            .transpose()?,
        seconds_per_message: args.seconds_per_message,
        spread: share("--spread", args.spread, 0.95)?,
        failure_rate: share("--failure-rate", args.failure_rate, 1.0)?,
        launch_time: flag_duration("--launch-time", &args.launch_time, 0)?,
        per_instance: args.messages_per_instance,
        seed: args.seed,
        max_latency: args
            .max_latency
            .as_deref()
            .map(|d| flag_duration("--max-latency", d, 1).map(|s| s as f64))
            .transpose()?,
    })
}

/// FILE.svg for one environment, FILE-ENV.svg for each of several.
fn chart_path(base: &Path, env: &str, several: bool) -> PathBuf {
    if !several {
        return base.to_path_buf();
    }
    let stem = base.file_stem().and_then(|s| s.to_str()).unwrap_or("chart");
    let ext = base.extension().and_then(|s| s.to_str()).unwrap_or("svg");
    base.with_file_name(format!("{stem}-{env}.{ext}"))
}

pub fn run(args: SimulateArgs, g: &Global, out: Output) -> Result<i32> {
    let a = assumptions(&args)?;
    let envs = super::load_one_stage_environments(&args.envs, g)?;
    let several = envs.len() > 1;
    let mut reports: Vec<(String, Report)> = Vec::new();
    for env in &envs {
        let mut r = simulate::simulate(env, &a)?;
        if let Some(base) = &args.chart {
            let path = chart_path(base, &env.name, several);
            let svg = simulate::chart::svg(&env.name, &r)
                .map_err(|e| Error::usage(format!("--chart: cannot draw the chart: {e}")))?;
            std::fs::write(&path, svg).map_err(|e| {
                Error::usage(format!("--chart {}: cannot write it: {e}", path.display()))
            })?;
            r.chart = Some(path.display().to_string());
        }
        reports.push((env.name.clone(), r));
    }
    let code = envelope::combined_exit_code(reports.iter().map(|(_, r)| r.exit_code()));
    if out.is_json() {
        let environments = reports
            .iter()
            .map(|(name, r)| envelope::environment(name, r.exit_code(), None, r))
            .collect();
        out.document(envelope::document(
            "simulate",
            code,
            environments,
            Default::default(),
        ));
        return Ok(code);
    }
    if several {
        out.line(rows(&reports));
    } else {
        for (name, r) in &reports {
            out.line(report::text(name, r).trim_end());
        }
    }
    Ok(code)
}

/// One row per environment.
fn rows(reports: &[(String, Report)]) -> String {
    let s = |v: Option<u64>| v.map_or("-".into(), |v| format!("{v} s"));
    crate::output::table(
        &[
            "environment",
            "workers",
            "peak",
            "p50",
            "p95",
            "p99",
            "max",
            "dead",
            "unfinished",
            "cost",
            "verdict",
        ],
        reports.iter().map(|(name, r)| {
            vec![
                name.clone(),
                r.settings.workers.to_string(),
                r.peak_capacity.to_string(),
                s(r.latency.p50),
                s(r.latency.p95),
                s(r.latency.p99),
                s(r.latency.max),
                r.dead_lettered.to_string(),
                r.unfinished.to_string(),
                r.cost.usd.map_or("-".into(), |u| format!("${u:.4}")),
                match r.goal.met {
                    Some(true) => "met".to_string(),
                    Some(false) => format!("MISSED: {}", r.goal.reason),
                    None => "no goal".to_string(),
                },
            ]
        }),
    )
}
