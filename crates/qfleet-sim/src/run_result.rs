//! A run's result (`Report`): the latency percentiles, what was dead-lettered or left, the
//! usage and its on-demand cost, the verdict against `scaling.max_latency_seconds`; its JSON.
//! Its text is `run_text.rs`.

use super::load::Period;
use super::model::{Fleet, LaneOutcome, Minute, Outcome, Params, Split, WarmPool};
use super::{Assumptions, price};
use crate::config::{Environment, PollerSpec, WorkerKind};
use serde::Serialize;

/// The advised setting `scaling.metric`: `from` 0 (sqs) `to` 1 (high_resolution).
pub const METRIC_SETTING: &str = "scaling.metric";

/// What the high-resolution metric's publisher costs per environment and month, beside the
/// instances (docs/simulate.md, us-east-1 list prices as of 2026-11; check before relying
/// on it): the function, PutMetricData and GetQueueAttributes calls, the custom metric and
/// the policy's two alarms at high resolution.
pub const HIGH_RESOLUTION_MONTHLY_USD: f64 = 9.0;

/// One change and the run it gives.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Change {
    /// The stack file's setting.
    pub setting: &'static str,
    pub from: f64,
    pub to: f64,
    /// The slowest message of the run with the change, seconds.
    pub max_latency: Option<u64>,
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Latency {
    pub p50: Option<u64>,
    pub p95: Option<u64>,
    pub p99: Option<u64>,
    pub max: Option<u64>,
}

/// One lane's jobs in a run with a priority lane.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LaneReport {
    pub arrived: u64,
    pub processed: u64,
    pub dead_lettered: u64,
    pub unfinished: u64,
    /// The oldest unfinished job's age when the run ended, seconds (0 when none is left).
    pub oldest_unfinished_seconds: u64,
    /// Arrival in the lane to done, of the jobs processed, seconds.
    pub latency: Latency,
}

impl LaneReport {
    fn of(o: &LaneOutcome) -> LaneReport {
        LaneReport {
            arrived: o.arrived,
            processed: o.processed,
            dead_lettered: o.dead_lettered,
            unfinished: o.unfinished,
            oldest_unfinished_seconds: o.oldest_unfinished(),
            latency: Latency {
                p50: o.percentile(50.0),
                p95: o.percentile(95.0),
                p99: o.percentile(99.0),
                max: o.max_latency(),
            },
        }
    }
}

/// A run with a priority lane (`queue.priority`, `--priority-share` above 0): each lane's
/// jobs. The latency goal is judged on all of them together, as without lanes.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Lanes {
    /// The share of the arriving jobs sent to the priority lane (`--priority-share`); a later
    /// stage of a pipeline: the share of its arrivals the stage before sent to its lane.
    pub priority_share: f64,
    /// How the priority lane's jobs are taken, in words: first (at most `weight` in a row
    /// while ordinary jobs wait), or by a function's own mapping.
    pub rule: String,
    pub priority: LaneReport,
    pub ordinary: LaneReport,
}

/// The lanes of a run with a priority lane; `None` without one.
fn lanes_of(p: &Params, o: &Outcome) -> Option<Lanes> {
    let (lanes, pri, ordinary) = (p.lanes.as_ref()?, o.priority.as_ref()?, o.ordinary()?);
    let rule = match (&p.fleet, lanes.weight) {
        (
            Fleet::Lambda {
                max_concurrency, ..
            },
            _,
        ) => format!(
            "its own mapping, up to {} at once",
            crate::text::words::count(
                lanes.max_concurrency.unwrap_or(*max_concurrency),
                "invocation",
                "invocations"
            )
        ),
        (_, None) => "taken first".to_string(),
        (_, Some(w)) => format!("taken first, at most {w} in a row while ordinary jobs wait"),
    };
    Some(Lanes {
        priority_share: match lanes.split {
            Split::Share(share) => share,
            Split::Given(_) if o.arrived > 0 => pri.arrived as f64 / o.arrived as f64,
            Split::Given(_) => 0.0,
        },
        rule,
        priority: LaneReport::of(pri),
        ordinary: LaneReport::of(&ordinary),
    })
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Cost {
    /// USD on demand for the run; `None` when the table has no price for the type or region.
    pub usd: Option<f64>,
    /// What was priced, in words.
    pub basis: String,
    /// Where the prices come from, and when they were taken.
    pub source: String,
    /// USD a day, counted over `period`; `None` without a price.
    pub per_day_usd: Option<f64>,
    /// USD a month of 30 such days; `None` without a price.
    pub per_month_usd: Option<f64>,
    /// The resources used a day over `period`, in `resource_unit`: what `--tune` ranks by
    /// without a price.
    pub per_day_resources: f64,
    /// `vCPU-hours` (instances' or tasks' vCPUs × hours), `instance-hours` (a type whose
    /// vCPUs are not known), or `GB-seconds` (Lambda).
    pub resource_unit: &'static str,
    /// How a day is counted: a day of a daily curve, a rate held all day, a burst once a day
    /// then the rest at rest, or the `--duration` run repeated.
    pub period: String,
}

/// A run's quantity (billed seconds, GB-seconds) over a day counted as `period` says:
/// `at_end` is the quantity a second that the rest of the day keeps: a held load's, as over
/// the run's second half; a burst's, as the run ends (back at rest when it had drained).
fn per_day(period: Period, duration: u64, run: f64, at_end: f64) -> f64 {
    let day = 86_400.0;
    let d = duration.max(1) as f64;
    match period {
        Period::Day | Period::Given(_) => run * day / d,
        Period::Held | Period::Once if d >= day => run * day / d,
        Period::Held | Period::Once => run + at_end * (day - d),
    }
}

/// The billed workers a second for the rest of the day: a held load's average over the run's
/// second half (a snapshot at the end would be one draw of a fleet that moves with random
/// arrivals), a burst's as the run ends.
fn rest_rate(period: Period, o: &Outcome) -> f64 {
    match period {
        Period::Held => o.billed_second_half,
        _ => o.billed_at_end as f64,
    }
}

/// The day's figures from a price per unit of `per_day` (`None`: no price).
fn day_cost(unit_price: Option<f64>, per_day: f64) -> (Option<f64>, Option<f64>) {
    let day = unit_price.map(|u| u * per_day);
    (day, day.map(|d| d * 30.0))
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Goal {
    pub max_latency_seconds: Option<f64>,
    /// `None` when the stack file sets no goal. Met when 99 % of the messages that arrived
    /// (those left unfinished at their age) took at most the goal, in every run of the
    /// assumptions' range.
    pub met: Option<bool>,
    pub reason: String,
    /// The assumptions under which the goal was missed ("nominal": at the nominal values);
    /// empty when met or unset.
    pub missed_under: Vec<&'static str>,
}

/// The load held: the messages that arrived once the fleet had caught up after its first
/// scale-out (the cold start apart).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Held {
    /// The second from which (0: the fleet never scaled out); `None`: it never caught up.
    pub since_seconds: Option<u64>,
    pub p99: Option<u64>,
    /// `None` without a goal or when it never caught up.
    pub met: Option<bool>,
}

/// How busy the fleet is at the most it can settle on, against the margin asked for.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Headroom {
    /// The load's busiest rate, messages a second (a function with a priority lane: the
    /// busier mapping's share of it, against that mapping's cap).
    pub rate: f64,
    /// The most the fleet settles on: `workers.max` instances or tasks, or a function's
    /// concurrency cap.
    pub capacity: u64,
    /// The share of that capacity the rate keeps busy (rate × seconds per message ÷ what
    /// the capacity processes at once).
    pub utilisation: f64,
    /// The margin asked for (`--margin`).
    pub margin: f64,
    /// Set when the capacity leaves less than the margin: more load, or random arrivals,
    /// would find it short.
    pub warning: Option<String>,
}

/// The fleet's headroom at the most it can settle on under the load's busiest rate: a fleet
/// below its `max` adds workers as the load grows, one at its `max` (or a fixed fleet, `min`
/// = `max`) has only what is left.
fn headroom(a: &Assumptions, p: &Params) -> Option<Headroom> {
    let mut rate = a.load.sustained_rate()?;
    let (mut capacity, mut at_once, unit, mut setting) = match &p.fleet {
        Fleet::Lambda {
            max_concurrency,
            pollers,
            ..
        } => match pollers {
            Some(pollers) => {
                let cap = super::rules::provisioned_bounds(*pollers).1;
                (
                    cap,
                    cap as f64,
                    "concurrent invocations",
                    "workers.lambda.provisioned_pollers.maximum",
                )
            }
            None => {
                let cap = (*max_concurrency).min(super::rules::LAMBDA_MAX);
                (
                    cap,
                    cap as f64,
                    "concurrent invocations",
                    "workers.lambda.max_concurrency",
                )
            }
        },
        Fleet::Ec2 { max, .. } => (
            *max,
            (*max * a.per_instance) as f64,
            "instances",
            "workers.max",
        ),
        Fleet::Fargate { max, .. } => {
            (*max, (*max * a.per_instance) as f64, "tasks", "workers.max")
        }
    };
    let busy_of = |rate: f64, at_once: f64| {
        if at_once > 0.0 {
            rate * p.seconds_per_message / at_once
        } else {
            f64::MAX
        }
    };
    // A function's priority lane has a mapping of its own: each mapping its share of the
    // rate, the busier one shown.
    if let (
        Fleet::Lambda {
            max_concurrency, ..
        },
        Some(lanes),
    ) = (&p.fleet, &p.lanes)
        && let super::model::Split::Share(share) = lanes.split
    {
        let cap = lanes
            .max_concurrency
            .unwrap_or(*max_concurrency)
            .min(super::rules::LAMBDA_MAX);
        let (ordinary, priority) = (rate * (1.0 - share), rate * share);
        if busy_of(priority, cap as f64) > busy_of(ordinary, at_once) {
            (rate, capacity, at_once) = (priority, cap, cap as f64);
            setting = "queue.priority.max_concurrency";
        } else {
            rate = ordinary;
        }
    }
    let utilisation = busy_of(rate, at_once);
    let short = utilisation * (1.0 + a.margin) > 1.0 + 1e-9;
    let warning = short.then(|| {
        format!(
            "at its most ({setting}: {capacity} {unit}) the fleet is {:.0} % busy with {} messages a second of {} s: less headroom than the {:.0} % margin (--margin), so random arrivals or {:.0} % more load would find it short; `--tune` finds settings that keep the margin",
            utilisation.min(99_999.0) * 100.0,
            (rate * 1_000.0).round() / 1_000.0,
            p.seconds_per_message,
            a.margin * 100.0,
            a.margin * 100.0,
        )
    });
    Some(Headroom {
        rate,
        capacity,
        utilisation,
        margin: a.margin,
        warning,
    })
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Settings {
    /// What consumes the queue (`ec2`, `lambda`, `fargate`, `ecs_managed`).
    #[schemars(with = "String", extend("enum" = ["ec2", "lambda", "fargate", "ecs_managed"]))]
    pub workers: WorkerKind,
    pub min: Option<u64>,
    pub max: Option<u64>,
    pub backlog_target: Option<f64>,
    pub instance_warmup: Option<u64>,
    pub scale_from_zero: Option<bool>,
    /// Standard mode's cap (`None` in provisioned mode).
    pub max_concurrency: Option<u64>,
    /// EC2: the group's warm pool (`None`: none), as the stack file's `workers.warm_pool`.
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub warm_pool: Option<crate::config::WarmPoolSpec>,
    /// Provisioned mode's pollers (`None` in standard mode), as the stack file's
    /// `workers.lambda.provisioned_pollers`.
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub provisioned_pollers: Option<crate::config::PollerSpec>,
    pub batch_size: Option<u64>,
    pub visibility_timeout: u64,
    pub max_receive_count: u64,
    /// Fargate: the task size and the scaling policies' cooldowns (`None` for other kinds).
    pub fargate: Option<FargateSettings>,
}

/// A Fargate service's task size and Application Auto Scaling cooldowns, as rendered.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FargateSettings {
    /// CPU units of one task (1,024 a vCPU).
    pub cpu: u32,
    /// MiB of memory of one task.
    pub memory: u32,
    pub platform: &'static str,
    pub scale_out_cooldown: u64,
    pub scale_in_cooldown: u64,
    pub start_cooldown: u64,
    /// Seconds between SIGTERM and SIGKILL of a stopping task.
    pub stop_timeout: u64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Workload {
    pub load: String,
    pub duration_seconds: u64,
    pub seconds_per_message: f64,
    pub spread: f64,
    pub failure_rate: f64,
    pub launch_seconds: Option<u64>,
    /// Where `launch_seconds` comes from: `--launch-time`, or qfleet's default for the kind
    /// and type (an accelerated type's with its range), in words.
    pub launch_basis: Option<String>,
    pub messages_per_instance: Option<u64>,
    pub seed: u64,
    pub metric_delay_seconds: u64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub settings: Settings,
    pub workload: Workload,
    pub arrived: u64,
    pub processed: u64,
    pub dead_lettered: u64,
    pub unfinished: u64,
    pub oldest_unfinished_seconds: u64,
    /// Processed messages only: those left at the end are in `unfinished_age`.
    pub latency: Latency,
    /// The unfinished messages' ages when the run ended (all `None` when none is left).
    pub unfinished_age: Latency,
    /// With a priority lane (`--priority-share` above 0): each lane's jobs and latency;
    /// absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lanes: Option<Lanes>,
    /// After the first scale-out.
    pub held: Held,
    /// The fleet's utilisation at the capacity it settles on under the load's busiest rate,
    /// against `--margin`; `None` for a load that holds no rate (bursts, a CSV).
    pub headroom: Option<Headroom>,
    /// Every run of the assumptions' range; the report's figures are the worst's.
    pub range: Vec<super::range::RangeRun>,
    pub peak_capacity: u64,
    pub instance_hours: Option<f64>,
    /// Fargate: hours of tasks placed (starting or running), summed.
    pub task_hours: Option<f64>,
    pub gb_seconds: Option<f64>,
    pub invocations: Option<u64>,
    pub cost: Cost,
    pub goal: Goal,
    /// The limits beside the scaling that decided some messages' fate in the worst run, in
    /// words (each also in the verdict): the function's timeout, the batching window, a
    /// visibility timeout outlasted, partial batch responses, a concurrency limit
    /// (`workers.limits`) full or shared with other stages.
    pub limits: Vec<String>,
    pub minutes: Vec<Minute>,
    /// When the goal is missed: the smallest change of one setting that meets it, each one
    /// simulated.
    pub advice: Vec<Change>,
    /// Where `--chart` wrote the chart.
    pub chart: Option<String>,
    /// A pipeline's stage: its name (its latency is counted from its own queue, not the upload).
    #[serde(skip)]
    pub stage: Option<String>,
}

impl Report {
    /// What the workers are counted in ("instance", "task"); `None` for a Lambda mapping.
    pub fn unit(&self) -> Option<&'static str> {
        crate::kinds::of(self.settings.workers).unit()
    }

    /// Whether the goal is missed (the command exits 3); not when it is met or none is set.
    pub fn missed(&self) -> bool {
        self.goal.met == Some(false)
    }
}

/// What a run used and what it cost, as its kind counts it.
struct Usage {
    settings: Settings,
    instance_hours: Option<f64>,
    task_hours: Option<f64>,
    gb_seconds: Option<f64>,
    invocations: Option<u64>,
    cost: Cost,
}

/// The settings every kind reports the same way.
fn common_settings(kind: WorkerKind, p: &Params) -> Settings {
    Settings {
        workers: kind,
        min: None,
        max: None,
        backlog_target: None,
        instance_warmup: None,
        scale_from_zero: None,
        max_concurrency: None,
        warm_pool: None,
        provisioned_pollers: None,
        batch_size: None,
        visibility_timeout: p.visibility_timeout,
        max_receive_count: p.max_receive_count,
        fargate: None,
    }
}

/// An Auto Scaling group's settings, instance-hours and their cost: `counts` its min, max and
/// target, `group` its warmup, scale from zero and warm pool.
fn ec2_usage(
    env: &Environment,
    (p, o, period): (&Params, &Outcome, Period),
    (min, max, target): (u64, u64, f64),
    (warmup, scale_from_zero, warm_pool): (u64, bool, Option<WarmPool>),
) -> Usage {
    let spec = &env.spec;
    let hours = o.instance_seconds / 3_600.0;
    let ty = spec.workers.types()[0].to_string();
    let per_hour = price::instance_hour(&spec.region, &ty);
    let day_hours = per_day(period, p.duration, o.instance_seconds, rest_rate(period, o)) / 3_600.0;
    let (per_day_usd, per_month_usd) = day_cost(per_hour, day_hours);
    let vcpus = price::vcpus(&ty);
    let spot = if spec.workers.spot.percent > 0 {
        " (all On-Demand: the Spot share would cost less)"
    } else if warm_pool.is_some_and(|w| !w.running) {
        " (the stopped warm pool's volumes are billed besides, not priced here)"
    } else {
        ""
    };
    let basis = match per_hour {
        Some(h) => format!(
            "{hours:.2} instance-hours of {ty} in {} at ${h}/h{spot}",
            spec.region
        ),
        None => format!(
            "{hours:.2} instance-hours of {ty} in {}: not in the price table",
            spec.region
        ),
    };
    Usage {
        settings: Settings {
            min: Some(min),
            max: Some(max),
            backlog_target: Some(target),
            instance_warmup: Some(warmup),
            scale_from_zero: Some(scale_from_zero),
            warm_pool: spec.workers.warm_pool.filter(|_| warm_pool.is_some()),
            ..common_settings(WorkerKind::Ec2, p)
        },
        instance_hours: Some(hours),
        task_hours: None,
        gb_seconds: None,
        invocations: None,
        cost: Cost {
            usd: per_hour.map(|h| h * hours),
            basis,
            source: price::instance_source(&spec.region, &ty),
            per_day_usd,
            per_month_usd,
            per_day_resources: day_hours * vcpus.unwrap_or(1.0),
            resource_unit: if vcpus.is_some() {
                "vCPU-hours"
            } else {
                "instance-hours"
            },
            period: period.words(),
        },
    }
}

/// An ECS service's settings, task-hours and their cost: `counts` its min, max and target,
/// `cooldowns` its scale-out, scale-in and start-from-zero cooldowns.
fn fargate_usage(
    env: &Environment,
    (p, o, period): (&Params, &Outcome, Period),
    (min, max, target, scale_from_zero): (u64, u64, f64, bool),
    (scale_out_cooldown, scale_in_cooldown, start_cooldown): (u64, u64, u64),
) -> Usage {
    let spec = &env.spec;
    let hours = o.instance_seconds / 3_600.0;
    let managed = spec.workers.kind == WorkerKind::EcsManaged;
    let (cpu, memory, platform, stop_timeout) = match managed {
        true => {
            let m = &spec.workers.ecs_managed;
            (m.cpu, m.memory, m.platform, m.stop_timeout)
        }
        false => {
            let f = &spec.workers.fargate;
            (f.cpu, f.memory, f.platform, f.stop_timeout)
        }
    };
    let arm = platform == crate::config::Platform::LinuxArm64;
    // On Managed Instances: the first type the file allows, one task an instance (ECS may
    // pack several on a larger one, so this is the most it costs), and the management fee.
    let first_type = spec.workers.instance_types.iter().flatten().next();
    let per_hour = match (managed, first_type) {
        (false, _) => price::fargate_task_hour(&spec.region, arm, cpu, memory),
        (true, Some(ty)) => {
            price::instance_hour(&spec.region, ty).map(|h| h * (1.0 + price::ECS_MANAGED_FEE_SHARE))
        }
        (true, None) => None,
    };
    let day_hours = per_day(period, p.duration, o.instance_seconds, rest_rate(period, o)) / 3_600.0;
    let (per_day_usd, per_month_usd) = day_cost(per_hour, day_hours);
    let size = match (managed, first_type) {
        (true, Some(ty)) => format!(
            "a {ty} each, with ECS Managed Instances' fee ({}% modelled)",
            (price::ECS_MANAGED_FEE_SHARE * 100.0).round()
        ),
        (true, None) => "an instance ECS chooses each (workers.instance_types names none)".into(),
        (false, _) => format!(
            "{} vCPU and {} GB ({})",
            f64::from(cpu) / 1_024.0,
            f64::from(memory) / 1_024.0,
            platform.as_str()
        ),
    };
    let spot = match (spec.workers.spot.percent > 0, managed) {
        (false, _) => "",
        (true, false) => {
            " (all On-Demand: Fargate Spot runs at up to 70% off, its price varies and is not priced here)"
        }
        (true, true) => " (all On-Demand: the Spot share would cost less)",
    };
    let basis = match per_hour {
        Some(h) => format!(
            "{hours:.2} task-hours of {size} in {} at ${h:.5}/h{spot}",
            spec.region
        ),
        None => format!(
            "{hours:.2} task-hours of {size} in {}: not in the price table{spot}",
            spec.region
        ),
    };
    Usage {
        settings: Settings {
            min: Some(min),
            max: Some(max),
            backlog_target: Some(target),
            scale_from_zero: Some(scale_from_zero),
            fargate: Some(FargateSettings {
                cpu,
                memory,
                platform: platform.as_str(),
                scale_out_cooldown,
                scale_in_cooldown,
                start_cooldown,
                stop_timeout: stop_timeout.0,
            }),
            ..common_settings(spec.workers.kind, p)
        },
        instance_hours: None,
        task_hours: Some(hours),
        gb_seconds: None,
        invocations: None,
        cost: Cost {
            usd: per_hour.map(|h| h * hours),
            basis,
            source: match (managed, first_type) {
                (true, Some(ty)) => format!(
                    "{}; the fee is modelled, not AWS's figure (https://aws.amazon.com/ecs/pricing/)",
                    price::instance_source(&spec.region, ty)
                ),
                _ => price::fargate_source(&spec.region, arm),
            },
            per_day_usd,
            per_month_usd,
            per_day_resources: day_hours * f64::from(cpu) / 1_024.0,
            resource_unit: "vCPU-hours",
            period: period.words(),
        },
    }
}

/// A function's settings, GB-seconds, invocations and their cost.
fn lambda_usage(
    env: &Environment,
    (p, o, period): (&Params, &Outcome, Period),
    (max_concurrency, pollers, batch_size, memory_mb): (u64, Option<PollerSpec>, u64, u64),
) -> Usage {
    let spec = &env.spec;
    let arm = spec.workers.lambda.architecture == crate::config::Architecture::Arm64;
    let gbs = o.invocation_seconds * memory_mb as f64 / 1_024.0;
    let usd = price::lambda(&spec.region, arm, gbs, o.invocations);
    // A function costs nothing at rest: a held load keeps the run's rate, a burst is once.
    let rate = |run: f64| match period {
        Period::Once => 0.0,
        _ => run / p.duration.max(1) as f64,
    };
    let day_gbs = per_day(period, p.duration, gbs, rate(gbs));
    let day_requests = per_day(
        period,
        p.duration,
        o.invocations as f64,
        rate(o.invocations as f64),
    );
    let per_day_usd = price::lambda(&spec.region, arm, day_gbs, day_requests.round() as u64);
    // Provisioned mode's pollers are billed besides (event poller units, Lambda's
    // pricing page): not in the price table, said rather than counted as nothing.
    let poller_note = if pollers.is_some() {
        "; the event pollers are billed besides, not priced here"
    } else {
        ""
    };
    let basis = match usd {
        Some(_) => format!(
            "{gbs:.1} GB-seconds and {} invocations in {}{poller_note}",
            o.invocations, spec.region
        ),
        None => format!(
            "{gbs:.1} GB-seconds in {}: not in the price table{poller_note}",
            spec.region
        ),
    };
    Usage {
        settings: Settings {
            max_concurrency: pollers.is_none().then_some(max_concurrency),
            provisioned_pollers: pollers,
            batch_size: Some(batch_size),
            ..common_settings(WorkerKind::Lambda, p)
        },
        instance_hours: None,
        task_hours: None,
        gb_seconds: Some(gbs),
        invocations: Some(o.invocations),
        cost: Cost {
            usd,
            basis,
            source: price::lambda_source(&spec.region, arm),
            per_day_usd,
            per_month_usd: per_day_usd.map(|d| d * 30.0),
            per_day_resources: day_gbs,
            resource_unit: "GB-seconds",
            period: period.words(),
        },
    }
}

/// The workload as run: the load, the processing and the assumptions.
fn workload(env: &Environment, a: &Assumptions, p: &Params) -> Workload {
    let group = p.fleet.is_group();
    Workload {
        load: a.load.spec.clone(),
        duration_seconds: p.duration,
        seconds_per_message: p.seconds_per_message,
        spread: p.spread,
        failure_rate: p.failure_rate,
        launch_seconds: group.then(|| a.launch_time(&env.spec.workers)),
        launch_basis: if group {
            a.launch_basis(&env.spec.workers)
        } else {
            None
        },
        messages_per_instance: group.then_some(a.per_instance),
        seed: p.seed,
        metric_delay_seconds: if matches!(
            p.fleet,
            Fleet::Ec2 {
                high_resolution: true,
                ..
            }
        ) {
            p.unknowns.high_resolution_delay
        } else {
            p.unknowns.metric_delay
        },
    }
}

/// The load held across the range (never empty: its nominal run at least): the worst run's
/// p99 once held; never held when any run never caught up.
fn held(goal: Option<f64>, o: &Outcome, range: &[super::range::RangeRun]) -> Held {
    let held_p99 = range
        .iter()
        .map(|r| r.held_p99)
        .collect::<Option<Vec<u64>>>()
        .and_then(|all| all.into_iter().max());
    Held {
        since_seconds: o.settled_at.filter(|_| held_p99.is_some()),
        p99: held_p99,
        met: goal.zip(held_p99).map(|(g, v)| v as f64 <= g),
    }
}

/// The run's report: its percentiles, usage and cost, and the verdict across the range.
pub fn build(
    env: &Environment,
    a: &Assumptions,
    p: &Params,
    o: Outcome,
    range: Vec<super::range::RangeRun>,
) -> Report {
    let latency = Latency {
        p50: o.percentile(50.0),
        p95: o.percentile(95.0),
        p99: o.percentile(99.0),
        max: o.max_latency(),
    };
    let period = a.load.period(a.duration);
    let usage = match p.fleet {
        Fleet::Ec2 {
            min,
            max,
            target,
            warmup,
            scale_from_zero,
            warm_pool,
            ..
        } => ec2_usage(
            env,
            (p, &o, period),
            (min, max, target),
            (warmup, scale_from_zero, warm_pool),
        ),
        Fleet::Fargate {
            min,
            max,
            target,
            scale_from_zero,
            scale_out_cooldown,
            scale_in_cooldown,
            start_cooldown,
            ..
        } => fargate_usage(
            env,
            (p, &o, period),
            (min, max, target, scale_from_zero),
            (scale_out_cooldown, scale_in_cooldown, start_cooldown),
        ),
        Fleet::Lambda {
            max_concurrency,
            pollers,
            batch_size,
            memory_mb,
            ..
        } => lambda_usage(
            env,
            (p, &o, period),
            (max_concurrency, pollers, batch_size, memory_mb),
        ),
    };
    let g = a.max_latency.or(env.spec.scaling.max_latency_seconds);
    let limits = limits_of(p, &o);
    let mut goal = verdict(g, &o, &latency, &range);
    for l in &limits {
        goal.reason.push_str("; ");
        goal.reason.push_str(l);
    }
    let held = held(g, &o, &range);
    let headroom = headroom(a, p);
    let lanes = lanes_of(p, &o);
    Report {
        settings: usage.settings,
        workload: workload(env, a, p),
        arrived: o.arrived,
        processed: o.processed,
        dead_lettered: o.dead_lettered,
        unfinished: o.unfinished,
        oldest_unfinished_seconds: o.oldest_unfinished_age,
        unfinished_age: Latency {
            p50: o.unfinished_age(50.0),
            p95: o.unfinished_age(95.0),
            p99: o.unfinished_age(99.0),
            max: o.unfinished_age(100.0),
        },
        lanes,
        latency,
        held,
        headroom,
        range,
        peak_capacity: o.peak_capacity,
        instance_hours: usage.instance_hours,
        task_hours: usage.task_hours,
        gb_seconds: usage.gb_seconds,
        invocations: usage.invocations,
        cost: usage.cost,
        goal,
        limits,
        minutes: o.minutes,
        advice: Vec::new(),
        chart: None,
        stage: env.stage.as_ref().map(|s| s.name.clone()),
    }
}

/// What decided some messages' fate beside the scaling, as the worst run met it.
fn limits_of(p: &Params, o: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    if let Fleet::Lambda {
        timeout,
        batching_window,
        batch_size,
        ..
    } = p.fleet
    {
        if o.timed_out_invocations > 0 {
            out.push(format!(
                "{} timed out: a batch of up to {batch_size} messages at {} s each runs past the function's {timeout} s timeout (workers.lambda.timeout), and {} returned to the queue after the visibility timeout",
                crate::text::words::count(o.timed_out_invocations, "invocation", "invocations"),
                p.seconds_per_message,
                crate::text::words::count(o.timed_out_messages, "message", "messages"),
            ));
        }
        if o.window_waits > 0 {
            out.push(format!(
                "a batch short of {batch_size} messages waits up to the {batching_window} s batching window (workers.lambda.batching_window)"
            ));
        }
        if p.failure_rate > 0.0 {
            out.push(
                "a failed message returns alone, the rest of its batch done (partial batch responses, ReportBatchItemFailures)".to_string(),
            );
        }
    }
    if let (Some(limit), false) = (p.job_timeout, matches!(p.fleet, Fleet::Lambda { .. }))
        && o.timed_out_messages > 0
    {
        out.push(format!(
            "{} ran past the {limit} s job timeout (workers.job_timeout): each was stopped and came back as a failed attempt does{}",
            crate::text::words::count(o.timed_out_messages, "attempt", "attempts"),
            match p.retry {
                Some(_) => ", after its wait (queue.retry)",
                None => ", after the visibility timeout",
            }
        ));
    }
    if let Some(limit) = p.limit
        && o.held_by_limit > 0
    {
        out.push(format!(
            "at most {} at once (workers.limits): up to {} more worker slots waited for one while messages waited, billed",
            crate::text::words::count(limit, "job ran", "jobs ran"),
            o.held_by_limit
        ));
    }
    if o.outlasted_visibility > 0 {
        out.push(format!(
            "{} outlasted the {} s visibility timeout (queue.visibility_timeout): the message came back while still being processed and was not taken as done (a worker that does not extend its visibility, as the reference worker does)",
            crate::text::words::count(o.outlasted_visibility, "receive", "receives"),
            p.visibility_timeout,
        ));
    }
    out
}

/// The goal is met when 99 % of the messages that arrived took at most
/// `max_latency_seconds` from upload to processed, a message left unfinished counting at its
/// age (a message still waiting is not a message on time), in every run of the range.
fn verdict(
    goal: Option<f64>,
    o: &Outcome,
    latency: &Latency,
    range: &[super::range::RangeRun],
) -> Goal {
    let Some(g) = goal else {
        return Goal {
            max_latency_seconds: None,
            met: None,
            reason: "no goal: the stack file sets no scaling.max_latency_seconds (--max-latency sets one)".into(),
            missed_under: Vec::new(),
        };
    };
    let p99 = o.percentile_all(99.0).unwrap_or(0);
    let slowest = latency.max.unwrap_or(0);
    let mut missed_under: Vec<&'static str> = range
        .iter()
        .filter(|r| r.met == Some(false))
        .map(|r| r.assumption)
        .collect();
    let never = o.never_at(99.0);
    // The worst run is the one reported: its own verdict counts even when it is alone.
    if (never || p99 as f64 > g) && missed_under.is_empty() {
        missed_under.push("nominal");
    }
    let runs = range.len().max(1);
    let left = if o.unfinished > 0 {
        format!(
            "; {} still waiting at the end, the oldest for {} s",
            crate::text::words::count(o.unfinished, "message was", "messages were"),
            o.oldest_unfinished_age
        )
    } else {
        String::new()
    };
    let (met, reason) = if missed_under.is_empty() {
        let under = if runs > 1 {
            format!(" under every assumption of the range ({runs} runs)")
        } else {
            String::new()
        };
        (
            true,
            format!(
                "99 % of the messages took at most {p99} s (the slowest {slowest} s), within the {g} s goal{under}{left}"
            ),
        )
    } else {
        let why = if missed_under.len() == runs && runs > 1 {
            format!("under every assumption of the range ({runs} runs)")
        } else if missed_under.contains(&"nominal") {
            "at the nominal values".to_string()
        } else {
            format!(
                "met at the nominal values, missed when {}",
                missed_under.join("; when ")
            )
        };
        let p99 = if never {
            format!(
                "p99 never: {} dead-lettered, never processed, over 1 % of those that arrived",
                crate::text::words::count(o.dead_lettered, "message was", "messages were")
            )
        } else {
            format!("p99 {p99} s")
        };
        (false, format!("{p99}, over the {g} s goal ({why}){left}"))
    };
    Goal {
        max_latency_seconds: Some(g),
        met: Some(met),
        reason,
        missed_under,
    }
}
