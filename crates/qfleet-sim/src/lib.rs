//! The scaling simulator (`qfleet simulate`), the model under the command: an environment as
//! rendered from its stack file,
//! run under a load, one-second steps, repeatable for a seed. A pipeline (`simulate_pipeline`) runs
//! stage by stage: each later stage under the completions of the stage before it.
//!
//! - `load.rs`: the `--load` grammar (steady, poisson, burst, daily, csv) and the arrivals per second;
//! - `rules.rs`: AWS's documented scaling rules, one function each, with the pages cited;
//! - `model.rs`: the discrete-time model: the queue, the units of work and their messages,
//!   driven second by second with the fleet's scaler; a fleet back at rest after the last
//!   arrival is counted at once for the rest of the run;
//! - `scalers/`: one scaler per kind (`ec2.rs`: the Auto Scaling group, its alarms, warm pool
//!   and scale-in policy; `fargate.rs`: the ECS service under Application Auto Scaling;
//!   `lambda.rs`: the event source mapping's pollers);
//! - `range.rs`: the model run across the ranges of what AWS leaves unsaid, the worst run
//!   reported;
//! - `tune.rs`: `--tune`, the cheapest settings that meet the goal across the range and still
//!   do under random arrivals and the load raised by `--margin`, costed over the day
//!   (`tune/advice_tests.rs` takes its advice as a user would);
//! - `compare.rs`: `--tune --instance-types`, each type tuned as the fleet's only type and
//!   ranked by its cheapest settings' cost a day at the goal;
//! - `across.rs`: `--tune --kinds`, the job run by EC2, ECS Managed Instances, Fargate and
//!   Lambda, each tuned and ranked by cost a day at the goal, the kinds that cannot run it last;
//! - `advice.rs`: when the goal is missed, the smallest change of one setting that meets it,
//!   each found by simulating;
//! - `price.rs`: the on-demand prices of `prices.tsv` (each row naming its source; refreshed by
//!   `scripts/prices` from AWS's public price data, or taken from `--prices FILE`);
//! - `run_result.rs`: a run's result (percentiles, cost, verdict) and its JSON;
//! - `run_text.rs`: a run's text (timeline, sparklines, summary, advice);
//! - `chart.rs`: the SVG chart (plotters, SVG backend only);
//! - `error.rs`: what a run is refused for (a flag's value, a setting the run needs);
//! - `tests.rs`: one test per documented rule, and the model's behaviour end to end;
//!   `limits_tests.rs`: the limits beside the scaling (a function's timeout, its batching
//!   window, partial batches, the visibility timeout) and the rest of a run at rest;
//!   `priority_tests.rs`: priority lanes (`queue.priority`, `--priority-share`).
//!
//! The command (`src/simulate/` of the root: the runs, their document, exit code and files)
//! uses what is re-exported here and the result modules; the model's modules are private.
//! Nothing here talks to AWS or writes: a run's text and chart are returned as strings.

// No production function over the threshold in clippy.toml (150 lines).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
// A panic is never an answer to what a user gives or AWS answers: production code neither
// unwraps nor expects (tests and test support may).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod across;
mod advice;
pub mod budget;
pub mod chart;
pub mod compare;
mod error;
mod load;
mod model;
mod price;
mod range;
pub mod rules;
pub mod run_result;
pub mod run_text;
mod scalers;
mod schedules;
pub mod tune;

/// The floors under the simulator, by the names the root crate gives them.
use qfleet_stackfile::{config, kinds};
use qfleet_text as text;

use crate::config::{
    Environment, Feed, PoolState, PrioritySpec, ScaleInPolicy, ScaleInSpec, ScalingMetric,
    WorkerKind, WorkersSpec,
};
pub use error::{Error, Result};
pub use load::{Load, parse as parse_load};
use model::{Fleet, Params};
pub use price::use_file as use_prices;
pub use run_result::Report;

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
    /// From launch to the worker reading the queue: an instance's boot and user data, or a
    /// task's image pull and start; `None`: the kind's default (`launch_time`).
    pub launch_time: Option<u64>,
    /// Messages one instance (or task) works on at once.
    pub per_instance: u64,
    pub seed: u64,
    /// The latency goal in seconds; `None`: `scaling.max_latency_seconds`.
    pub max_latency: Option<f64>,
    /// The headroom asked of a fleet: `--tune` checks its choices under the load raised by
    /// this share, and a run warns when its fleet settles with less (`--margin`, 0.1).
    pub margin: f64,
    /// The share of the arriving jobs sent to the priority lane (`--priority-share`, 0 to 1;
    /// 0: none). Above 0 the stage needs `queue.priority` (a pipeline: its first stage,
    /// where the jobs arrive). Each second's arrivals are split by a draw seeded by `seed`.
    pub priority_share: f64,
}

impl Assumptions {
    /// `load` with every other assumption at `simulate`'s default: the load's own duration, the
    /// file's seconds per message, a spread of 0.2, no failures, the kind's launch time, one
    /// message per instance at a time, seed 1, the file's goal, the default margin, no job
    /// sent to a priority lane.
    pub fn defaults(load: Load) -> Assumptions {
        Assumptions {
            load,
            duration: None,
            seconds_per_message: None,
            spread: 0.2,
            failure_rate: 0.0,
            launch_time: None,
            per_instance: 1,
            seed: 1,
            max_latency: None,
            margin: tune::DEFAULT_MARGIN,
            priority_share: 0.0,
        }
    }

    /// Seconds from launch to the worker reading the queue for `w`: `--launch-time`, else
    /// 60 s for a task, 300 s for a group that may launch an accelerated type
    /// (`rules::GPU_LAUNCH`) and 90 s for any other instance (all assumptions,
    /// docs/simulate.md).
    fn launch_time(&self, w: &WorkersSpec) -> u64 {
        self.launch_time.unwrap_or(match w.kind {
            WorkerKind::Fargate => rules::FARGATE_TASK_START,
            // A task that finds no room waits for ECS to launch an instance, then starts on
            // it: modelled as both, every time (a task placed on an idle instance starts
            // sooner, so the goal holds with room to spare).
            WorkerKind::EcsManaged if accelerated(w).is_some() => {
                rules::GPU_LAUNCH + rules::FARGATE_TASK_START
            }
            WorkerKind::EcsManaged => rules::EC2_LAUNCH + rules::FARGATE_TASK_START,
            WorkerKind::Ec2 if accelerated(w).is_some() => rules::GPU_LAUNCH,
            WorkerKind::Ec2 | WorkerKind::Lambda => rules::EC2_LAUNCH,
        })
    }

    /// Where the launch time of `w` comes from, in words (`None` for a Lambda mapping).
    pub(crate) fn launch_basis(&self, w: &WorkersSpec) -> Option<String> {
        if w.kind == WorkerKind::Lambda {
            return None;
        }
        let secs = self.launch_time(w);
        if self.launch_time.is_some() {
            return Some(format!("{secs} s, given (--launch-time)"));
        }
        let (lo, hi) = rules::GPU_LAUNCH_RANGE;
        Some(match w.kind {
            WorkerKind::Fargate => format!(
                "{secs} s, qfleet's default for a task (image pull, container start): measure yours, give --launch-time"
            ),
            WorkerKind::EcsManaged => format!(
                "{secs} s, qfleet's default for a task on ECS Managed Instances: an instance launched for it{}, then the image pulled and the container started: measure yours, give --launch-time",
                if accelerated(w).is_some() {
                    " (a GPU type)"
                } else {
                    ""
                }
            ),
            _ if let Some(ty) = accelerated(w) => format!(
                "{secs} s, qfleet's default for an accelerated type ({ty}): boot, the NVIDIA driver, a multi-GB image pulled, the model loaded; {lo}–{hi} s by AWS's published figures: measure yours, give --launch-time"
            ),
            _ => format!(
                "{secs} s, qfleet's default for an instance (boot, user data): measure yours, give --launch-time"
            ),
        })
    }
}

/// The first accelerated type an EC2 group may launch (G, P, Inf, Trn, DL, VT), if any.
fn accelerated(w: &WorkersSpec) -> Option<&str> {
    match w.kind {
        WorkerKind::Ec2 => w.types().into_iter().find(|t| rules::is_accelerated(t)),
        // ECS chooses the type; workers.gpu makes it a GPU type.
        WorkerKind::EcsManaged => w.gpu.as_ref().map(|_| {
            w.instance_types
                .iter()
                .flatten()
                .map(String::as_str)
                .find(|t| rules::is_accelerated(t))
                .unwrap_or("a GPU type")
        }),
        WorkerKind::Fargate | WorkerKind::Lambda => None,
    }
}

/// The model's parameters for `env`: the values the templates render (target, min, max,
/// warmup, scale from zero, visibility timeout, max receive count, the mapping's maximum
/// concurrency and batch size) and the assumptions.
fn params(env: &Environment, a: &Assumptions) -> Result<Params> {
    let spec = &env.spec;
    let seconds_per_message = match a.seconds_per_message.or(spec.scaling.seconds_per_message) {
        Some(s) if s > 0.0 && s.is_finite() => s,
        Some(s) => {
            return Err(Error::FlagValue {
                flag: "--seconds-per-message",
                value: s.to_string(),
                why: "a processing time is a number of seconds above 0".to_string(),
            });
        }
        None if let Some(stage) = env.pipeline_stage() => {
            return Err(Error::Input(vec![env.source.key_error(
                "scaling",
                format!(
                    "the {} stage sets no seconds_per_message: `qfleet simulate` needs its processing time of one message (scaling.seconds_per_message, or --seconds-per-message for the stages that set none, as a Lambda stage)",
                    stage.name
                ),
            )]));
        }
        None => {
            return Err(Error::NoSecondsPerMessage {
                file: env.source.display(),
            });
        }
    };
    let w = &spec.workers;
    let scale_in = scale_in_of(&spec.scaling.scale_in);
    let fleet = match w.kind {
        // Tasks on ECS Managed Instances scale as Fargate's do (the same service, scalable
        // target and policies); only their start differs (`launch_time`).
        WorkerKind::Fargate | WorkerKind::EcsManaged => Fleet::Fargate {
            min: w.min.max(0) as u64,
            max: w.max.max(0) as u64,
            target: env.backlog_target(),
            start_time: a.launch_time(w),
            per_task: a.per_instance,
            scale_from_zero: spec.scaling.scale_from_zero,
            scale_out_cooldown: crate::kinds::fargate::SCALE_OUT_COOLDOWN,
            scale_in_cooldown: crate::kinds::fargate::SCALE_IN_COOLDOWN,
            start_cooldown: crate::kinds::fargate::START_COOLDOWN,
            counts_in_flight: true,
            scale_in,
        },
        WorkerKind::Ec2 => Fleet::Ec2 {
            min: w.min.max(0) as u64,
            max: w.max.max(0) as u64,
            target: env.backlog_target(),
            warmup: w.instance_warmup.0,
            launch_time: a.launch_time(w),
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
            counts_in_flight: true,
            scale_in,
        },
        WorkerKind::Lambda => Fleet::Lambda {
            max_concurrency: w.lambda.max_concurrency.into(),
            pollers: w.lambda.provisioned_pollers,
            batch_size: w.lambda.batch_size.max(1).into(),
            memory_mb: w.lambda.memory_mb.into(),
            timeout: w.lambda.timeout.0,
            batching_window: w.lambda.batching_window.0,
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
        unknowns: rules::Unknowns::NOMINAL,
        extends_visibility: extends_visibility(env),
        retry: spec.queue.retry,
        job_timeout: match spec.workers.kind {
            crate::config::WorkerKind::Lambda => None,
            _ => spec.workers.job_timeout.map(|t| t.0),
        },
        limit: match spec.workers.kind {
            crate::config::WorkerKind::Lambda => None,
            _ => w
                .limits
                .iter()
                .filter_map(|name| spec.limits.get(name))
                .min()
                .map(|&n| u64::from(n)),
        },
        lanes: share_lanes(env, a)?,
    })
}

/// The priority lane of a run with `--priority-share` above 0: `None` at 0; refused outside
/// 0 to 1, or on a stage without `queue.priority`.
fn share_lanes(env: &Environment, a: &Assumptions) -> Result<Option<model::Lanes>> {
    let share = a.priority_share;
    let refuse = |why: String| Error::FlagValue {
        flag: "--priority-share",
        value: share.to_string(),
        why,
    };
    if !(0.0..=1.0).contains(&share) {
        return Err(refuse("a share from 0 to 1".to_string()));
    }
    if share == 0.0 {
        return Ok(None);
    }
    let Some(priority) = env.spec.queue.priority else {
        let what = match env.pipeline_stage() {
            Some(stage) => format!(
                "the {} stage of {} (where the jobs arrive)",
                stage.name, env.name
            ),
            None => env.name.clone(),
        };
        return Err(refuse(format!(
            "{what} has no priority lane: add queue.priority to its queue settings (a second queue its workers take first), or leave the flag out"
        )));
    };
    Ok(Some(lanes(
        &env.spec.workers,
        priority,
        model::Split::Share(share),
    )))
}

/// The model's lanes for `queue.priority`: the weight for instances and tasks, the
/// priority mapping's own maximum concurrency for a function.
fn lanes(w: &WorkersSpec, priority: PrioritySpec, split: model::Split) -> model::Lanes {
    let lambda = w.kind == WorkerKind::Lambda;
    model::Lanes {
        split,
        weight: priority.weight.filter(|_| !lambda).map(u64::from),
        max_concurrency: priority.max_concurrency.filter(|_| lambda).map(u64::from),
    }
}

/// Whether the workers extend a message's visibility while they work on it: the reference
/// worker does (a heartbeat of `ChangeMessageVisibility` every half visibility timeout,
/// crates/qfleet-runtime/python/qfleet_worker.py), and it is what an EC2 fleet runs without
/// `image` or `user_data`. A container image or user data runs a worker of the user's, which
/// may not: the model takes the side that can lose the goal. A Lambda mapping's own visibility
/// is the queue's, bounded by the function's timeout.
fn extends_visibility(env: &Environment) -> bool {
    let w = &env.spec.workers;
    w.kind == WorkerKind::Ec2 && w.image.is_none() && w.user_data.is_none()
}

/// The model's scale-in for `scaling.scale_in`.
fn scale_in_of(spec: &ScaleInSpec) -> model::ScaleIn {
    match spec.policy {
        ScaleInPolicy::TargetTracking => model::ScaleIn::Tracking,
        ScaleInPolicy::Step => model::ScaleIn::Step {
            percent: spec.percent.into(),
            below: spec.below,
            minutes: spec.minutes.into(),
            cooldown: spec.cooldown.0,
        },
    }
}

/// The warning `qfleet validate` gives when `scaling.expected_peak` messages a second,
/// arriving for an hour at a fleet at rest, miss the latency goal (the default assumptions:
/// a spread of 0.2, the kind's launch time (90 s for an instance, 60 s for a task), one
/// message per instance or task at a time). EC2 and Fargate workers; a Lambda function has
/// no `scaling.expected_peak` of its own to check here.
pub fn peak_warning(env: &Environment) -> Option<String> {
    let peak = env.spec.scaling.expected_peak?;
    // A parked environment meets no peak, and says so itself (Environment::parked_note).
    if env.spec.workers.kind == WorkerKind::Lambda || env.parked() {
        return None;
    }
    // Random arrivals: evenly spaced ones (`steady:`) hide the queueing a real peak has.
    let spec = format!("poisson:{peak}/s");
    let a = Assumptions {
        duration: Some(3_600),
        ..Assumptions::defaults(load::parse(&spec, std::path::Path::new(".")).ok()?)
    };
    let r = simulate(env, &a).ok()?;
    if r.goal.met != Some(false) {
        return None;
    }
    let fix = match r.advice.first() {
        // min is at most max: a min above the file's max comes with max raised to it (the
        // run that met the goal had both).
        Some(c)
            if c.setting == "workers.min"
                && r.settings.max.is_some_and(|max| c.to > max as f64) =>
        {
            format!(
                "; workers.min: {0} with workers.max: {0} (min is at most max) meets it",
                c.to
            )
        }
        Some(c) => format!("; {}: {} meets it", c.setting, c.to),
        None => "; no change of max, min or the target alone meets it".to_string(),
    };
    // A later stage's peak arrives at its own queue: simulating the pipeline under an upload
    // load reaches it only through the stages before it.
    let how = match &env.stage {
        Some(stage) if stage.index > 0 => format!(
            "`qfleet simulate {} --load {spec}` runs every stage, this one under what the stages before it finish",
            env.name
        ),
        _ => format!("`qfleet simulate {} --load {spec}`", env.name),
    };
    Some(format!(
        "scaling.expected_peak: {peak} messages a second arriving at a fleet at rest miss max_latency_seconds in a simulated hour: {}{fix} ({how})",
        r.goal.reason
    ))
}

/// The latency goal: `--max-latency`, else `scaling.max_latency_seconds`.
fn goal_of(env: &Environment, a: &Assumptions) -> Option<f64> {
    a.max_latency.or(env.spec.scaling.max_latency_seconds)
}

/// Seconds simulated: `--duration`, or the load's default.
fn duration(a: &Assumptions) -> u64 {
    a.duration.unwrap_or_else(|| a.load.default_duration())
}

/// Simulates `env` under the assumptions and reports the run.
pub fn simulate(env: &Environment, a: &Assumptions) -> Result<Report> {
    let mut arrivals = a.load.arrivals(duration(a), a.seed);
    let scheduled = schedules::of(env, duration(a), a.seed);
    scheduled.add_to(&mut arrivals);
    let (mut r, _) = run_stage(env, a, &arrivals, None)?;
    with_schedules(&mut r, &scheduled);
    Ok(r)
}

/// The run's load names the stack file's schedules it added, and those it left out.
fn with_schedules(r: &mut Report, scheduled: &schedules::Scheduled) {
    let words = scheduled.words();
    if !words.is_empty() {
        r.workload.load = format!("{} + {words}", r.workload.load);
    }
}

/// What a stage finished in each second: all its messages, and those of its priority lane
/// (`None` without one).
type Done = (Vec<u64>, Option<Vec<u64>>);

/// One run of `env` under `arrivals` (of them, `priority` in its priority lane each second: a
/// later stage's share of the priority jobs the stage before finished): its report (advice
/// included, for these arrivals) and what it finished in each second.
fn run_stage(
    env: &Environment,
    a: &Assumptions,
    arrivals: &[u64],
    priority: Option<Vec<u64>>,
) -> Result<(Report, Done)> {
    let mut p = params(env, a)?;
    if let (Some(given), Some(spec)) = (priority, env.spec.queue.priority) {
        let split = model::Split::Given(std::sync::Arc::new(given));
        p.lanes = Some(lanes(&env.spec.workers, spec, split));
    }
    let (mut outcome, runs) = range::run(&p, arrivals, goal_of(env, a));
    let completions = std::mem::take(&mut outcome.completions);
    let priority_done = outcome
        .priority
        .as_mut()
        .map(|pri| std::mem::take(&mut pri.completions));
    let mut r = run_result::build(env, a, &p, outcome, runs);
    r.advice = advice::advise_for(env, a, &p, &r, arrivals);
    Ok((r, (completions, priority_done)))
}

/// A pipeline's run: every stage's report, in order, and the end-to-end latency.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub stages: Vec<Report>,
    pub end_to_end: EndToEnd,
}

/// Upload to the last stage's processed.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct EndToEnd {
    /// `None` when not estimated (`basis` says why).
    pub latency: Option<run_result::Latency>,
    /// How it was estimated, or why it was not.
    pub basis: String,
}

impl Pipeline {
    /// Whether any stage misses its goal (the command exits 3); not when every stage meets its
    /// own (or has none).
    pub fn missed(&self) -> bool {
        self.stages.iter().any(Report::missed)
    }

    /// The stage that misses its goal by most (its slowest message, or the oldest left at the
    /// end, against its goal), else the one nearest to its goal.
    pub fn worst(&self) -> &Report {
        let score = |r: &Report| {
            let slowest = r.latency.max.unwrap_or(0).max(if r.unfinished > 0 {
                r.oldest_unfinished_seconds
            } else {
                0
            }) as f64;
            let share = r.goal.max_latency_seconds.map_or(0.0, |g| slowest / g);
            (r.goal.met == Some(false), share)
        };
        let mut worst = &self.stages[0];
        for r in &self.stages[1..] {
            if score(r) > score(worst) {
                worst = r;
            }
        }
        worst
    }
}

/// The next stage's arrivals: a message done during second `s` (it never waits past `s + 1`)
/// is in the next stage's queue at `s + 1`, the S3 event or the message sent taken as
/// immediate. Messages done in the run's last second reach the next stage after the run.
fn next_arrivals(completions: &[u64]) -> Vec<u64> {
    let mut next = vec![0; completions.len()];
    for (s, &n) in completions.iter().enumerate() {
        if let Some(slot) = next.get_mut(s + 1) {
            *slot += n;
        }
    }
    next
}

/// End-to-end latencies, first in, first out: the n-th message done by the last stage is
/// taken as the n-th upload (the model counts messages per second, not their identities).
/// Indexed by seconds, as `Outcome::latency`.
fn first_in_first_out(uploads: &[u64], done: &[u64]) -> Vec<u64> {
    let mut latency: Vec<u64> = Vec::new();
    let mut up = uploads.iter().copied().enumerate().filter(|&(_, n)| n > 0);
    let (mut at, mut left) = (0usize, 0u64);
    for (s, &n) in done.iter().enumerate() {
        let mut n = n;
        while n > 0 {
            if left == 0 {
                match up.next() {
                    Some((u, count)) => (at, left) = (u, count),
                    None => return latency,
                }
            }
            let k = n.min(left);
            let secs = (s + 1).saturating_sub(at);
            if latency.len() <= secs {
                latency.resize(secs + 1, 0);
            }
            latency[secs] += k;
            n -= k;
            left -= k;
        }
    }
    latency
}

/// Simulates every stage of a pipeline: the first under `--load`, each later one under the
/// completions of the stage before it (`next_arrivals`), each with its own
/// `scaling.seconds_per_message` and judged against its own `scaling.max_latency_seconds`
/// (`--seconds-per-message` and `--max-latency` for a stage that sets none).
pub fn simulate_pipeline(env: &Environment, a: &Assumptions) -> Result<Pipeline> {
    let stages = env.stages();
    // The flags fill what a stage's file does not say (a Lambda stage has no `scaling`); they
    // never override a stage's own value, and one that no stage would take is refused.
    for (flag, given, unset) in [
        (
            "--seconds-per-message",
            a.seconds_per_message.is_some(),
            stages
                .iter()
                .any(|s| s.spec.scaling.seconds_per_message.is_none()),
        ),
        (
            "--max-latency",
            a.max_latency.is_some(),
            stages
                .iter()
                .any(|s| s.spec.scaling.max_latency_seconds.is_none()),
        ),
    ] {
        if given && !unset {
            return Err(Error::SetByEveryStage {
                flag,
                env: env.name.clone(),
                setting: if flag == "--max-latency" {
                    "max_latency_seconds"
                } else {
                    "seconds_per_message"
                },
            });
        }
    }
    let mut uploads = a.load.arrivals(duration(a), a.seed);
    // Each stage's schedules add to its own arrivals: the first stage's count as uploads.
    let scheduled: Vec<schedules::Scheduled> = stages
        .iter()
        .map(|s| schedules::of(s, duration(a), a.seed))
        .collect();
    scheduled[0].add_to(&mut uploads);
    let later_runs: u64 = scheduled[1..].iter().flat_map(|s| &s.runs).sum();
    let mut arrivals = uploads.clone();
    // The priority jobs the stage before finished, which it sends on to this stage's
    // priority lane (`None`: none sent there).
    let mut priority: Option<Vec<u64>> = None;
    let mut reports = Vec::new();
    for (i, stage) in stages.iter().enumerate() {
        if i > 0 {
            scheduled[i].add_to(&mut arrivals);
        }
        let own = Assumptions {
            seconds_per_message: a
                .seconds_per_message
                .filter(|_| stage.spec.scaling.seconds_per_message.is_none()),
            max_latency: a
                .max_latency
                .filter(|_| stage.spec.scaling.max_latency_seconds.is_none()),
            // The jobs arrive at the first stage; later stages get theirs from the stage
            // before.
            priority_share: if i == 0 { a.priority_share } else { 0.0 },
            ..a.clone()
        };
        let (mut r, (done, priority_done)) = run_stage(stage, &own, &arrivals, priority.take())?;
        if i > 0 {
            r.workload.load = format!(
                "the {} stage's completions",
                stages[i - 1]
                    .stage
                    .as_ref()
                    .map_or(env.name.as_str(), |s| s.name.as_str())
            );
        }
        with_schedules(&mut r, &scheduled[i]);
        reports.push(r);
        // A priority job goes on to the next stage's priority lane when that stage is fed by
        // the workers' messages and has a lane of its own (both lanes' queues are sent to).
        priority = stages
            .get(i + 1)
            .filter(|next| {
                next.spec.queue.priority.is_some()
                    && next.stage.as_ref().and_then(|s| s.feed) == Some(Feed::Messages)
            })
            .and(priority_done)
            .map(|done| next_arrivals(&done));
        arrivals = if i + 1 < stages.len() {
            next_arrivals(&done)
        } else {
            done
        };
    }
    let shared = shared_limits(&stages, &mut reports);
    let end_to_end = if a.failure_rate > 0.0 {
        EndToEnd {
            latency: None,
            basis: "not estimated: with --failure-rate above 0, retried and dead-lettered messages leave a stage out of order, and the model counts messages per second rather than following each one".into(),
        }
    } else if a.priority_share > 0.0 {
        EndToEnd {
            latency: None,
            basis: "not estimated: with --priority-share above 0, priority jobs overtake ordinary ones, and the model counts messages per second rather than following each one (each stage's report has its lanes' latencies)".into(),
        }
    } else if later_runs > 0 {
        EndToEnd {
            latency: None,
            basis: "not estimated: a later stage's schedules add jobs that no upload started, and the model counts messages per second rather than following each one".into(),
        }
    } else {
        let o = model::Outcome {
            latency: first_in_first_out(&uploads, &arrivals),
            ..Default::default()
        };
        EndToEnd {
            latency: Some(run_result::Latency {
                p50: o.percentile(50.0),
                p95: o.percentile(95.0),
                p99: o.percentile(99.0),
                max: o.max_latency(),
            }),
            basis: format!(
                "estimated first in, first out: the n-th message the last stage finishes is taken as the n-th upload (the model counts messages, not which is which){}",
                if shared {
                    "; a limit several stages share is counted whole in each, so it may be longer"
                } else {
                    ""
                }
            ),
        }
    };
    Ok(Pipeline {
        stages: reports,
        end_to_end,
    })
}

/// A limit (`limits`) that several stages' workers name: each stage runs alone in the model,
/// as if it had the limit to itself, so the stages together may run fewer jobs at once than shown. Said
/// on each of those stages, in its limits and its verdict; whether any was.
fn shared_limits(stages: &[&Environment], reports: &mut [Report]) -> bool {
    let mut any = false;
    let named = |s: &Environment, name: &str| {
        s.spec.workers.kind != WorkerKind::Lambda && s.spec.workers.limits.iter().any(|l| l == name)
    };
    let stage_name = |s: &Environment| s.stage.as_ref().map_or(s.name.clone(), |x| x.name.clone());
    for (i, stage) in stages.iter().enumerate() {
        for name in &stage.spec.workers.limits {
            let others: Vec<String> = stages
                .iter()
                .enumerate()
                .filter(|(j, s)| *j != i && named(s, name))
                .map(|(_, s)| stage_name(s))
                .collect();
            let Some(n) = stage.spec.limits.get(name).filter(|_| !others.is_empty()) else {
                continue;
            };
            let said = format!(
                "the limit {name} ({} at once) is shared with stage {}: each stage is simulated as if it had the limit to itself, so together they may run fewer at once than shown",
                crate::text::words::count(u64::from(*n), "job", "jobs"),
                others.join(", ")
            );
            let r = &mut reports[i];
            r.goal.reason.push_str("; ");
            r.goal.reason.push_str(&said);
            r.limits.push(said);
            any = true;
        }
    }
    any
}

#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod priority_tests;
#[cfg(test)]
mod tests;
