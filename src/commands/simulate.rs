//! `qfleet simulate ENV... --load SPEC`: the environments as rendered, run under a load by the
//! scaling simulator (offline); exit 3 when an environment misses its latency goal. A pipeline
//! runs stage by stage, each stage under the completions of the one before it, and misses when
//! any stage misses its own goal.

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
    /// When messages arrive: steady:RATE (10/s, 600/m, evenly spaced), poisson:RATE (random,
    /// seeded by --seed), burst:N@T (5000@60s), daily:PEAK (50/s at noon), csv:FILE
    /// (seconds[,count] per line); join terms with +.
    #[arg(long, value_name = "SPEC")]
    pub load: String,
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
    /// 60s for a task.
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
    /// goal under this load in every run of the assumptions' range, each one simulated, and
    /// print the stack-file lines (EC2 and Fargate workers; exit 3 when none does).
    #[arg(long)]
    pub tune: bool,
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
        launch_time: args
            .launch_time
            .as_deref()
            .map(|d| flag_duration("--launch-time", d, 0))
            .transpose()?,
        per_instance: args.messages_per_instance,
        seed: args.seed,
        max_latency: args
            .max_latency
            .as_deref()
            .map(|d| flag_duration("--max-latency", d, 1).map(|s| s as f64))
            .transpose()?,
    })
}

/// FILE.svg for one environment, FILE-ENV.svg for each of several; a pipeline's stage adds
/// its name (FILE-STAGE.svg, FILE-ENV-STAGE.svg).
fn chart_path(base: &Path, env: &str, several: bool, stage: Option<&str>) -> PathBuf {
    let parts: Vec<&str> = [several.then_some(env), stage]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        return base.to_path_buf();
    }
    let stem = base.file_stem().and_then(|s| s.to_str()).unwrap_or("chart");
    let ext = base.extension().and_then(|s| s.to_str()).unwrap_or("svg");
    base.with_file_name(format!("{stem}-{}.{ext}", parts.join("-")))
}

/// An environment's run: one stage, or every stage of a pipeline.
enum Run {
    One(Box<Report>),
    Pipeline(simulate::Pipeline),
}

impl Run {
    fn exit_code(&self) -> i32 {
        match self {
            Run::One(r) => r.exit_code(),
            Run::Pipeline(p) => p.exit_code(),
        }
    }

    fn reports_mut(&mut self) -> Vec<&mut Report> {
        match self {
            Run::One(r) => vec![&mut **r],
            Run::Pipeline(p) => p.stages.iter_mut().collect(),
        }
    }
}

fn chart(base: &Path, env: &str, several: bool, r: &mut Report) -> Result<()> {
    let path = chart_path(base, env, several, r.stage.as_deref());
    let title = match &r.stage {
        Some(stage) => format!("{env}/{stage}"),
        None => env.to_string(),
    };
    let svg = simulate::chart::svg(&title, r)
        .map_err(|e| Error::usage(format!("--chart: cannot draw the chart: {e}")))?;
    std::fs::write(&path, svg)
        .map_err(|e| Error::usage(format!("--chart {}: cannot write it: {e}", path.display())))?;
    r.chart = Some(path.display().to_string());
    Ok(())
}

/// A pipeline's JSON: its first stage as the environment's own keys (as `status` does), each
/// later stage under `stages` with its name, and `pipeline`: the stages, the worst one, and
/// the end-to-end latency.
fn pipeline_json(name: &str, p: &simulate::Pipeline) -> serde_json::Value {
    let stage_name = |r: &Report| r.stage.clone().unwrap_or_default();
    let mut env = envelope::environment(name, p.exit_code(), None, &p.stages[0]);
    let later: Vec<serde_json::Value> = p.stages[1..]
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            if let Some(map) = v.as_object_mut() {
                map.insert("stage".into(), serde_json::json!(stage_name(r)));
                map.insert("ok".into(), serde_json::json!(r.exit_code() == 0));
            }
            v
        })
        .collect();
    if let Some(map) = env.as_object_mut() {
        map.insert("stages".into(), serde_json::json!(later));
        map.insert(
            "pipeline".into(),
            serde_json::json!({
                "stages": p.stages.len(),
                "first_stage": stage_name(&p.stages[0]),
                "worst_stage": stage_name(p.worst()),
                "end_to_end": p.end_to_end.latency,
                "end_to_end_basis": p.end_to_end.basis,
            }),
        );
    }
    env
}

pub fn run(args: SimulateArgs, g: &Global, out: Output) -> Result<i32> {
    let a = assumptions(&args)?;
    let envs = super::load_environments(&args.envs, g)?;
    if args.tune {
        return tune(&envs, &a, out);
    }
    let several = envs.len() > 1;
    let mut runs: Vec<(String, Run)> = Vec::new();
    for env in &envs {
        let mut run = if env.is_pipeline() {
            Run::Pipeline(simulate::simulate_pipeline(env, &a)?)
        } else {
            // A file of `stages` with one stage has its settings in that stage.
            let mut r = simulate::simulate(env.stages()[0], &a)?;
            r.stage = None;
            Run::One(Box::new(r))
        };
        if let Some(base) = &args.chart {
            for r in run.reports_mut() {
                chart(base, &env.name, several, r)?;
            }
        }
        runs.push((env.name.clone(), run));
    }
    let code = envelope::combined_exit_code(runs.iter().map(|(_, r)| r.exit_code()));
    if out.is_json() {
        let environments = runs
            .iter()
            .map(|(name, run)| match run {
                Run::One(r) => envelope::environment(name, r.exit_code(), None, &**r),
                Run::Pipeline(p) => pipeline_json(name, p),
            })
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
        out.line(rows(&runs));
    } else {
        for (name, run) in &runs {
            match run {
                Run::One(r) => out.line(report::text(name, r).trim_end()),
                Run::Pipeline(p) => out.line(pipeline_text(name, p).trim_end()),
            }
        }
    }
    Ok(code)
}

/// A pipeline's text: every stage's, then the pipeline's verdict and end-to-end latency.
fn pipeline_text(name: &str, p: &simulate::Pipeline) -> String {
    let n = p.stages.len();
    let mut s = String::new();
    for (i, r) in p.stages.iter().enumerate() {
        let stage = r.stage.as_deref().unwrap_or("-");
        s.push_str(&format!("── stage {} of {n}: {stage}\n", i + 1));
        s.push_str(&report::text(&format!("{name}/{stage}"), r));
        s.push('\n');
    }
    let verdicts: Vec<String> = p
        .stages
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.stage.as_deref().unwrap_or("-"),
                match r.goal.met {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "no goal",
                }
            )
        })
        .collect();
    s.push_str(&format!(
        "── pipeline {name}: {n} stages\nverdict     {}\n",
        verdicts.join(", ")
    ));
    let secs = |v: Option<u64>| v.map_or("-".into(), |v| format!("{v} s"));
    match &p.end_to_end.latency {
        Some(l) => s.push_str(&format!(
            "end to end  p50 {}, p95 {}, p99 {}, max {} (upload to the last stage's processed; {})\n",
            secs(l.p50),
            secs(l.p95),
            secs(l.p99),
            secs(l.max),
            p.end_to_end.basis
        )),
        None => s.push_str(&format!("end to end  {}\n", p.end_to_end.basis)),
    }
    s
}

/// One row per environment; a pipeline's row is its worst stage, named ENV/STAGE.
fn rows(runs: &[(String, Run)]) -> String {
    let s = |v: Option<u64>| v.map_or("-".into(), |v| format!("{v} s"));
    let mut pipelines = false;
    let table = crate::output::table(
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
        runs.iter().map(|(name, run)| {
            let (label, r) = match run {
                Run::One(r) => (name.clone(), &**r),
                Run::Pipeline(p) => {
                    pipelines = true;
                    let w = p.worst();
                    (format!("{name}/{}", w.stage.as_deref().unwrap_or("-")), w)
                }
            };
            vec![
                label,
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
    );
    if pipelines {
        format!(
            "{table}\n(a pipeline's row is its worst stage, ENV/STAGE; simulate it alone for every stage)"
        )
    } else {
        table
    }
}

/// `--tune`: each environment's cheapest settings; exit 3 when one has none that meets.
fn tune(envs: &[crate::config::Environment], a: &Assumptions, out: Output) -> Result<i32> {
    let mut found = Vec::new();
    for env in envs {
        found.push((env.name.clone(), simulate::tune::tune(env, a)?));
    }
    let code_of = |t: &simulate::tune::Tuning| {
        if t.choices.is_empty() {
            crate::error::EXIT_DIFFERENCES
        } else {
            0
        }
    };
    let code = envelope::combined_exit_code(found.iter().map(|(_, t)| code_of(t)));
    if out.is_json() {
        let environments = found
            .iter()
            .map(|(name, t)| envelope::environment(name, code_of(t), None, t))
            .collect();
        out.document(envelope::document(
            "simulate",
            code,
            environments,
            Default::default(),
        ));
    } else {
        for (name, t) in &found {
            out.line(simulate::tune::text(name, t).trim_end());
        }
    }
    Ok(code)
}
