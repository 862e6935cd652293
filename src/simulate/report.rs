//! A run's report: the latency percentiles, what was dead-lettered or left, the usage and its
//! on-demand cost, the verdict against `scaling.max_latency_seconds`; its text (a timeline, a
//! sparkline, a summary) and its JSON.

use super::model::{Fleet, Minute, Outcome, Params};
use super::{Assumptions, price};
use crate::config::Environment;
use crate::config::schema::WorkerKind;
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

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Cost {
    /// USD on demand; `None` when the table has no price for the type or region.
    pub usd: Option<f64>,
    /// What was priced, in words.
    pub basis: String,
    pub source: &'static str,
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

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Settings {
    /// What consumes the queue (`ec2`, `lambda`, `fargate`).
    #[schemars(with = "String", extend("enum" = ["ec2", "lambda", "fargate"]))]
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
    pub warm_pool: Option<crate::config::schema::WarmPoolSpec>,
    /// Provisioned mode's pollers (`None` in standard mode), as the stack file's
    /// `workers.lambda.provisioned_pollers`.
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub provisioned_pollers: Option<crate::config::schema::PollerSpec>,
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
    /// After the first scale-out.
    pub held: Held,
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

    /// 0 when the goal is met (or none is set), 3 when it is missed.
    pub fn exit_code(&self) -> crate::error::Exit {
        if self.goal.met == Some(false) {
            crate::error::Exit::Differences
        } else {
            crate::error::Exit::Ok
        }
    }
}

pub fn build(
    env: &Environment,
    a: &Assumptions,
    p: &Params,
    o: Outcome,
    range: Vec<super::range::RangeRun>,
) -> Report {
    let spec = &env.spec;
    let latency = Latency {
        p50: o.percentile(50.0),
        p95: o.percentile(95.0),
        p99: o.percentile(99.0),
        max: o.max_latency(),
    };
    let mut task_hours = None;
    let (settings, instance_hours, gb_seconds, invocations, cost) = match &p.fleet {
        Fleet::Ec2 {
            min,
            max,
            target,
            warmup,
            scale_from_zero,
            warm_pool,
            ..
        } => {
            let hours = o.instance_seconds / 3_600.0;
            let ty = spec.workers.types()[0].to_string();
            let per_hour = price::instance_hour(&spec.region, &ty);
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
            (
                Settings {
                    workers: WorkerKind::Ec2,
                    min: Some(*min),
                    max: Some(*max),
                    backlog_target: Some(*target),
                    instance_warmup: Some(*warmup),
                    scale_from_zero: Some(*scale_from_zero),
                    max_concurrency: None,
                    warm_pool: spec.workers.warm_pool.filter(|_| warm_pool.is_some()),
                    provisioned_pollers: None,
                    batch_size: None,
                    visibility_timeout: p.visibility_timeout,
                    max_receive_count: p.max_receive_count,
                    fargate: None,
                },
                Some(hours),
                None,
                None,
                Cost {
                    usd: per_hour.map(|h| h * hours),
                    basis,
                    source: price::SOURCE,
                },
            )
        }
        Fleet::Fargate {
            min,
            max,
            target,
            scale_from_zero,
            scale_out_cooldown,
            scale_in_cooldown,
            start_cooldown,
            ..
        } => {
            let hours = o.instance_seconds / 3_600.0;
            task_hours = Some(hours);
            let f = &spec.workers.fargate;
            let arm = f.platform == crate::config::schema::Platform::LinuxArm64;
            let per_hour = price::fargate_task_hour(&spec.region, arm, f.cpu, f.memory);
            let size = format!(
                "{} vCPU and {} GB ({})",
                f64::from(f.cpu) / 1_024.0,
                f64::from(f.memory) / 1_024.0,
                f.platform.as_str()
            );
            let spot = if spec.workers.spot.percent > 0 {
                " (all On-Demand: Fargate Spot runs at up to 70% off, its price varies and is not priced here)"
            } else {
                ""
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
            (
                Settings {
                    workers: WorkerKind::Fargate,
                    min: Some(*min),
                    max: Some(*max),
                    backlog_target: Some(*target),
                    instance_warmup: None,
                    scale_from_zero: Some(*scale_from_zero),
                    max_concurrency: None,
                    warm_pool: None,
                    provisioned_pollers: None,
                    batch_size: None,
                    visibility_timeout: p.visibility_timeout,
                    max_receive_count: p.max_receive_count,
                    fargate: Some(FargateSettings {
                        cpu: f.cpu,
                        memory: f.memory,
                        platform: f.platform.as_str(),
                        scale_out_cooldown: *scale_out_cooldown,
                        scale_in_cooldown: *scale_in_cooldown,
                        start_cooldown: *start_cooldown,
                        stop_timeout: f.stop_timeout.0,
                    }),
                },
                None,
                None,
                None,
                Cost {
                    usd: per_hour.map(|h| h * hours),
                    basis,
                    source: price::FARGATE_SOURCE,
                },
            )
        }
        Fleet::Lambda {
            max_concurrency,
            pollers,
            batch_size,
            memory_mb,
        } => {
            let gbs = o.invocation_seconds * *memory_mb as f64 / 1_024.0;
            let usd = price::lambda(&spec.region, gbs, o.invocations);
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
            (
                Settings {
                    workers: WorkerKind::Lambda,
                    min: None,
                    max: None,
                    backlog_target: None,
                    instance_warmup: None,
                    scale_from_zero: None,
                    max_concurrency: pollers.is_none().then_some(*max_concurrency),
                    warm_pool: None,
                    provisioned_pollers: *pollers,
                    batch_size: Some(*batch_size),
                    visibility_timeout: p.visibility_timeout,
                    max_receive_count: p.max_receive_count,
                    fargate: None,
                },
                None,
                Some(gbs),
                Some(o.invocations),
                Cost {
                    usd,
                    basis,
                    source: price::SOURCE,
                },
            )
        }
    };
    let g = a.max_latency.or(spec.scaling.max_latency_seconds);
    let goal = verdict(g, &o, &latency, &range);
    // Held across the range (never empty: its nominal run at least): the worst run's p99
    // once held; never held when any run never caught up.
    let held_p99 = range
        .iter()
        .map(|r| r.held_p99)
        .collect::<Option<Vec<u64>>>()
        .and_then(|all| all.into_iter().max());
    let held = Held {
        since_seconds: o.settled_at.filter(|_| held_p99.is_some()),
        p99: held_p99,
        met: g.zip(held_p99).map(|(g, v)| v as f64 <= g),
    };
    let group = p.fleet.is_group();
    Report {
        settings,
        workload: Workload {
            load: a.load.spec.clone(),
            duration_seconds: p.duration,
            seconds_per_message: p.seconds_per_message,
            spread: p.spread,
            failure_rate: p.failure_rate,
            launch_seconds: group.then(|| a.launch_time(spec.workers.kind)),
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
        },
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
        latency,
        held,
        range,
        peak_capacity: o.peak_capacity,
        instance_hours,
        task_hours,
        gb_seconds,
        invocations,
        cost,
        goal,
        minutes: o.minutes,
        advice: Vec::new(),
        chart: None,
        stage: env.stage.as_ref().map(|s| s.name.clone()),
    }
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
    // The worst run is the one reported: its own verdict counts even when it is alone.
    if p99 as f64 > g && missed_under.is_empty() {
        missed_under.push("nominal");
    }
    let runs = range.len().max(1);
    let left = if o.unfinished > 0 {
        format!(
            "; {} still waiting at the end, the oldest for {} s",
            crate::output::words::count(o.unfinished, "message was", "messages were"),
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
        (
            false,
            format!("p99 {p99} s, over the {g} s goal ({why}){left}"),
        )
    };
    Goal {
        max_latency_seconds: Some(g),
        met: Some(met),
        reason,
        missed_under,
    }
}

/// The load held after the first scale-out, in words.
fn held_line(r: &Report) -> String {
    let goal = r.goal.max_latency_seconds;
    let against = |p99: u64| match goal {
        Some(g) if p99 as f64 <= g => format!(", within the {g} s goal"),
        Some(g) => format!(", over the {g} s goal"),
        None => String::new(),
    };
    match (r.held.since_seconds, r.held.p99) {
        (None, _) => "held        never: the fleet did not catch up with the load after its first scale-out\n".to_string(),
        (Some(0), _) => "held        no scale-out: the whole run is the load held\n".to_string(),
        (Some(at), Some(p99)) => format!(
            "held        p99 {p99} s{} once the fleet had caught up after its first scale-out (from {} in the worst run; every run of the range)\n",
            against(p99),
            clock(at)
        ),
        (Some(at), None) => format!(
            "held        the fleet caught up at {}; no message arrived after\n",
            clock(at)
        ),
    }
}

/// Seconds as `1h 02m 03s` (or `2m 03s`).
fn clock(s: u64) -> String {
    let (h, m, sec) = (s / 3_600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}h {m:02}m {sec:02}s")
    } else {
        format!("{m}m {sec:02}s")
    }
}

/// A terminal sparkline of `values`, at most `width` characters (values averaged per cell).
pub fn sparkline(values: &[u64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let per = values.len().div_ceil(width);
    let cells: Vec<f64> = values
        .chunks(per)
        .map(|c| c.iter().sum::<u64>() as f64 / c.len() as f64)
        .collect();
    let top = cells.iter().cloned().fold(0.0, f64::max);
    cells
        .iter()
        .map(|&v| {
            if top == 0.0 {
                BARS[0]
            } else {
                BARS[((v / top) * 7.0).round() as usize]
            }
        })
        .collect()
}

fn secs(v: Option<u64>) -> String {
    v.map_or("-".into(), |s| format!("{s} s"))
}

/// The most timeline rows the text shows; longer runs show every n-th minute.
const MAX_ROWS: usize = 60;

/// The text of one environment: the timeline, sparklines, percentiles, cost and verdict.
pub fn text(name: &str, r: &Report) -> String {
    let ec2 = r.settings.workers == WorkerKind::Ec2;
    let group = r.unit().is_some();
    let mut s = String::new();
    let what = if let Some(f) = &r.settings.fargate {
        format!(
            "Fargate {}–{} tasks of {} CPU units and {} MiB ({}), target {} messages per task, cooldowns {} s out, {} s in",
            r.settings.min.unwrap_or(0),
            r.settings.max.unwrap_or(0),
            f.cpu,
            f.memory,
            f.platform,
            r.settings.backlog_target.unwrap_or(0.0),
            f.scale_out_cooldown,
            f.scale_in_cooldown
        )
    } else if ec2 {
        format!(
            "EC2 {}–{} instances, target {} messages per instance, warmup {} s",
            r.settings.min.unwrap_or(0),
            r.settings.max.unwrap_or(0),
            r.settings.backlog_target.unwrap_or(0.0),
            r.settings.instance_warmup.unwrap_or(0)
        ) + &r
            .settings
            .warm_pool
            .map(|w| {
                format!(
                    ", a warm pool ({}, at least {})",
                    match w.pool_state {
                        crate::config::schema::PoolState::Stopped => "stopped",
                        crate::config::schema::PoolState::Running => "running",
                    },
                    w.min_size
                )
            })
            .unwrap_or_default()
    } else if let Some(pollers) = r.settings.provisioned_pollers {
        let (floor, cap) = super::rules::provisioned_bounds(pollers);
        format!(
            "Lambda, provisioned mode: {}–{} pollers ({floor}–{cap} concurrent invocations) of {} messages",
            pollers.minimum,
            pollers.maximum,
            r.settings.batch_size.unwrap_or(0)
        )
    } else {
        format!(
            "Lambda, at most {} concurrent invocations of {} messages",
            r.settings.max_concurrency.unwrap_or(0),
            r.settings.batch_size.unwrap_or(0)
        )
    };
    s.push_str(&format!(
        "{name}: {what}; load {} for {} min, {} s per message\n",
        r.workload.load,
        r.workload.duration_seconds / 60,
        r.workload.seconds_per_message
    ));
    let step = r.minutes.len().div_ceil(MAX_ROWS).max(1);
    let header: Vec<&str> = if r.settings.fargate.is_some() {
        vec![
            "min",
            "arrived",
            "backlog",
            "in flight",
            "oldest",
            "running",
            "starting",
            "desired",
            "processed",
            "dead",
        ]
    } else if ec2 {
        vec![
            "min",
            "arrived",
            "backlog",
            "in flight",
            "oldest",
            "in service",
            "launching",
            "desired",
            "processed",
            "dead",
        ]
    } else {
        vec![
            "min",
            "arrived",
            "backlog",
            "in flight",
            "oldest",
            "invocations",
            "concurrency",
            "processed",
            "dead",
        ]
    };
    let rows = r
        .minutes
        .iter()
        .enumerate()
        .filter(|(i, _)| (i + 1) % step == 0 || i + 1 == r.minutes.len())
        .map(|(_, m)| {
            let mut row = vec![
                m.minute.to_string(),
                m.arrived.to_string(),
                m.backlog.to_string(),
                m.in_flight.to_string(),
                format!("{} s", m.oldest_age),
                m.in_service.to_string(),
            ];
            if group {
                row.push(m.launching.to_string());
            }
            row.push(m.capacity.to_string());
            row.push(m.processed.to_string());
            row.push(m.dead_lettered.to_string());
            row
        });
    s.push_str(&crate::output::table(&header, rows));
    s.push('\n');
    if step > 1 {
        s.push_str(&format!(
            "(one row every {step} minutes; -o json has every minute)\n"
        ));
    }
    let backlog: Vec<u64> = r.minutes.iter().map(|m| m.backlog).collect();
    let serving: Vec<u64> = r.minutes.iter().map(|m| m.in_service).collect();
    let top = |v: &[u64]| v.iter().copied().max().unwrap_or(0);
    s.push_str(&format!(
        "backlog     {}  max {}\n{} {}  max {}\n",
        sparkline(&backlog, 60),
        top(&backlog),
        match r.unit() {
            Some("task") => "tasks      ",
            Some(_) => "in service ",
            None => "invocations",
        },
        sparkline(&serving, 60),
        top(&serving)
    ));
    s.push_str(&format!(
        "latency     p50 {}, p95 {}, p99 {}, max {} ({})\n",
        secs(r.latency.p50),
        secs(r.latency.p95),
        secs(r.latency.p99),
        secs(r.latency.max),
        match &r.stage {
            Some(stage) => format!("arrival in the {stage} stage's queue to done"),
            None => "upload to processed".to_string(),
        }
    ));
    if r.unit().is_some() {
        s.push_str(&held_line(r));
    }
    if r.range.len() > 1 {
        let runs: Vec<String> = r
            .range
            .iter()
            .map(|run| format!("{} p99 {}", run.assumption, secs(run.p99)))
            .collect();
        s.push_str(&format!(
            "range       {} runs across what AWS leaves unsaid, the worst shown: {}\n",
            r.range.len(),
            runs.join("; ")
        ));
    }
    s.push_str(&format!(
        "messages    {} arrived, {} processed, {} dead-lettered, {} unfinished{}\n",
        r.arrived,
        r.processed,
        r.dead_lettered,
        r.unfinished,
        match (r.unfinished_age.p50, r.unfinished_age.max) {
            (Some(median), Some(oldest)) => format!(
                " (their age at the end: median {median} s, oldest {oldest} s; not in the latency)"
            ),
            _ => String::new(),
        }
    ));
    s.push_str(&format!(
        "cost        {}: {}\n",
        r.cost
            .usd
            .map_or("no price".to_string(), |u| format!("${u:.4}")),
        r.cost.basis
    ));
    let verdict = match r.goal.met {
        Some(true) => "goal met",
        Some(false) => "goal MISSED",
        None => "no goal",
    };
    s.push_str(&format!("verdict     {verdict}: {}\n", r.goal.reason));
    if r.goal.met == Some(false) {
        if r.advice.is_empty() {
            s.push_str(
                "advice      no change of one setting alone meets the goal within AWS's limits\n",
            );
        }
        for c in &r.advice {
            let with_max = match (c.setting, r.settings.max) {
                ("workers.min", Some(max)) if c.to > max as f64 => {
                    format!(" (and workers.max: {})", c.to)
                }
                _ => String::new(),
            };
            if c.setting == "workers.warm_pool.min_size" && r.settings.warm_pool.is_none() {
                s.push_str(&format!(
                    "advice      workers.warm_pool: {{min_size: {}}} (stopped) meets it (slowest {}; the pool's volumes are billed besides)\n",
                    c.to,
                    secs(c.max_latency),
                ));
                continue;
            }
            if c.setting == METRIC_SETTING {
                s.push_str(&format!(
                    "advice      scaling.metric: high_resolution meets it (slowest {}; its publisher costs about ${:.0} a month besides)\n",
                    secs(c.max_latency),
                    HIGH_RESOLUTION_MONTHLY_USD,
                ));
                continue;
            }
            if c.setting == "workers.lambda.provisioned_pollers.maximum"
                && r.settings.provisioned_pollers.is_none()
            {
                s.push_str(&format!(
                    "advice      workers.lambda.provisioned_pollers: {{minimum: 2, maximum: {}}} instead of max_concurrency: {} meets it (slowest {}; event pollers are billed besides the GB-seconds)\n",
                    c.to,
                    r.settings.max_concurrency.unwrap_or(0),
                    secs(c.max_latency),
                ));
                continue;
            }
            s.push_str(&format!(
                "advice      {}: {} instead of {}{with_max} meets it (slowest {}, cost {})\n",
                c.setting,
                c.to,
                c.from,
                secs(c.max_latency),
                c.cost_usd
                    .map_or("no price".to_string(), |u| format!("${u:.4}"))
            ));
        }
    }
    if let Some(c) = &r.chart {
        s.push_str(&format!("chart       {c}\n"));
    }
    s
}
