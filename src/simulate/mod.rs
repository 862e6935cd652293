//! The scaling simulator (`qfleet simulate`): an environment as rendered from its stack file,
//! run under a load, one-second steps, deterministic.
//!
//! - `load.rs`: the `--load` grammar (steady, burst, daily, csv) and the arrivals per second;
//! - `rules.rs`: AWS's documented scaling rules, one function each, with the pages cited;
//! - `model.rs`: the discrete-time model: queue, workers, the group or the event source
//!   mapping, the alarms;
//! - `advice.rs`: when the goal is missed, the smallest change of one setting that meets it,
//!   each found by simulating;
//! - `price.rs`: a small dated table of on-demand prices;
//! - `report.rs`: a run's report (percentiles, cost, verdict), its text, sparklines and JSON;
//! - `chart.rs`: the SVG chart (plotters, SVG backend only);
//! - `tests.rs`: one test per documented rule, and the model's behaviour end to end.

pub mod advice;
pub mod chart;
pub mod load;
pub mod model;
pub mod price;
pub mod report;
pub mod rules;

use crate::config::Environment;
use crate::config::schema::{PoolState, ScalingMetric, WorkerKind};
use crate::error::{Error, Result};
pub use load::Load;
pub use model::{Fleet, Params};
pub use report::Report;

/// What the stack file does not say about the work: the command line's assumptions.
#[derive(Debug, Clone)]
pub struct Assumptions {
    pub load: Load,
    /// Seconds simulated; `None`: the load's default.
    pub duration: Option<u64>,
    /// Mean processing time; `None`: `scaling.seconds_per_message`.
    pub seconds_per_message: Option<f64>,
    pub spread: f64,
    pub failure_rate: f64,
    /// EC2: from launch to the worker reading the queue.
    pub launch_time: u64,
    /// EC2: messages one instance works on at once.
    pub per_instance: u64,
    pub seed: u64,
    /// The latency goal in seconds; `None`: `scaling.max_latency_seconds`.
    pub max_latency: Option<f64>,
}

/// The model's parameters for `env`: the values the templates render (target, min, max,
/// warmup, scale from zero, visibility timeout, max receive count, the mapping's maximum
/// concurrency and batch size) and the assumptions.
pub fn params(env: &Environment, a: &Assumptions) -> Result<Params> {
    let spec = &env.spec;
    let seconds_per_message = match a.seconds_per_message.or(spec.scaling.seconds_per_message) {
        Some(s) if s > 0.0 && s.is_finite() => s,
        Some(s) => {
            return Err(Error::usage(format!(
                "--seconds-per-message {s}: a processing time is a number of seconds above 0"
            )));
        }
        None => {
            return Err(Error::usage(format!(
                "{}: the stack file sets no scaling.seconds_per_message; give the processing time of one message with --seconds-per-message",
                env.source.display()
            )));
        }
    };
    let w = &spec.workers;
    let fleet = match w.kind {
        WorkerKind::Ec2 => Fleet::Ec2 {
            min: w.min.max(0) as u64,
            max: w.max.max(0) as u64,
            target: env.backlog_target(),
            warmup: w.instance_warmup.0,
            launch_time: a.launch_time,
            per_instance: a.per_instance,
            scale_from_zero: spec.scaling.scale_from_zero,
            warm_pool: w.warm_pool.map(|pool| model::WarmPool {
                min_size: pool.min_size.into(),
                running: pool.pool_state == PoolState::Running,
                reuse_on_scale_in: pool.reuse_on_scale_in,
                start_time: match pool.pool_state {
                    PoolState::Stopped => rules::WARM_START_STOPPED,
                    PoolState::Running => rules::WARM_START_RUNNING,
                },
            }),
            high_resolution: spec.scaling.metric == ScalingMetric::HighResolution,
        },
        WorkerKind::Lambda => Fleet::Lambda {
            max_concurrency: w.lambda.max_concurrency.into(),
            pollers: w.lambda.provisioned_pollers,
            batch_size: w.lambda.batch_size.max(1).into(),
            memory_mb: w.lambda.memory_mb.into(),
        },
    };
    Ok(Params {
        fleet,
        duration: a.duration.unwrap_or_else(|| a.load.default_duration()),
        seconds_per_message,
        spread: a.spread,
        failure_rate: a.failure_rate,
        seed: a.seed,
        visibility_timeout: spec.queue.visibility_timeout.0,
        max_receive_count: spec.queue.max_receive_count.max(1) as u64,
    })
}

/// The warning `qfleet validate` gives when `scaling.expected_peak` messages a second,
/// arriving for an hour at a fleet at rest, miss the latency goal (the default assumptions:
/// a spread of 0.2, a launch time of 90 s, one message per instance at a time).
pub fn peak_warning(env: &Environment) -> Option<String> {
    let peak = env.spec.scaling.expected_peak?;
    if env.spec.workers.kind != WorkerKind::Ec2 {
        return None;
    }
    let spec = format!("steady:{peak}/s");
    let a = Assumptions {
        load: load::parse(&spec, std::path::Path::new(".")).ok()?,
        duration: Some(3_600),
        seconds_per_message: None,
        spread: 0.2,
        failure_rate: 0.0,
        launch_time: 90,
        per_instance: 1,
        seed: 1,
        max_latency: None,
    };
    let r = simulate(env, &a).ok()?;
    if r.goal.met != Some(false) {
        return None;
    }
    let fix = match r.advice.first() {
        Some(c) => format!("; {}: {} meets it", c.setting, c.to),
        None => "; no change of max, min or the target alone meets it".to_string(),
    };
    Some(format!(
        "scaling.expected_peak: {peak} messages a second arriving at a fleet at rest miss max_latency_seconds in a simulated hour: {}{fix} (qfleet simulate {} --load {spec})",
        r.goal.reason, env.name
    ))
}

/// Simulates `env` under the assumptions and reports the run.
pub fn simulate(env: &Environment, a: &Assumptions) -> Result<Report> {
    let p = params(env, a)?;
    let arrivals = a.load.arrivals(p.duration);
    let outcome = model::run(&p, &arrivals);
    let mut r = report::build(env, a, &p, outcome);
    r.advice = advice::advise(env, a, &p, &r);
    Ok(r)
}

#[cfg(test)]
mod tests;
