//! A run's text (`qfleet simulate` for one environment): the timeline, sparklines, the
//! percentiles, the usage and its cost, the verdict and the advice.

use super::run_result::{HIGH_RESOLUTION_MONTHLY_USD, METRIC_SETTING, Report};
use crate::config::WorkerKind;

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

/// A line for each lane of a run with a priority lane: its latency, what it is and its jobs.
fn lane_lines(lanes: &super::run_result::Lanes) -> String {
    let line = |name: &str, l: &super::run_result::LaneReport, what: String| {
        let left = if l.unfinished > 0 {
            format!(
                ", {} unfinished (the oldest {} s)",
                l.unfinished, l.oldest_unfinished_seconds
            )
        } else {
            String::new()
        };
        format!(
            "{name:<12}p50 {}, p95 {}, p99 {}, max {}: {what}; {} of {} done{left}\n",
            secs(l.latency.p50),
            secs(l.latency.p95),
            secs(l.latency.p99),
            secs(l.latency.max),
            l.processed,
            l.arrived,
        )
    };
    // 0.2 as 20, 0.025 as 2.5.
    let percent = (lanes.priority_share * 1_000.0).round() / 10.0;
    line(
        "priority",
        &lanes.priority,
        format!("{percent} % of the jobs, {}", lanes.rule),
    ) + &line("ordinary", &lanes.ordinary, "the rest".to_string())
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

/// What runs the workers, in words: the kind, its counts and its scaling.
fn describe(r: &Report) -> String {
    let ec2 = r.settings.workers == WorkerKind::Ec2;
    if let Some(f) = &r.settings.fargate {
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
                        crate::config::PoolState::Stopped => "stopped",
                        crate::config::PoolState::Running => "running",
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
    }
}

/// The timeline, one row a minute (every n-th minute for a long run).
fn timeline(r: &Report) -> String {
    let ec2 = r.settings.workers == WorkerKind::Ec2;
    let group = r.unit().is_some();
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
    let mut s = crate::text::table(&header, rows);
    s.push('\n');
    if step > 1 {
        s.push_str(&format!(
            "(one row every {step} minutes; -o json has every minute)\n"
        ));
    }
    s
}

/// The sparklines, the percentiles, the range, the messages, the cost and the verdict.
fn summary(r: &Report) -> String {
    let mut s = String::new();
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
    if let Some(lanes) = &r.lanes {
        s.push_str(&lane_lines(lanes));
    }
    if r.unit().is_some() {
        s.push_str(&held_line(r));
    }
    if let Some(w) = r.headroom.as_ref().and_then(|h| h.warning.as_ref()) {
        s.push_str(&format!("headroom    {w}\n"));
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
    if let Some(basis) = &r.workload.launch_basis {
        s.push_str(&format!("launch      {basis}\n"));
    }
    s.push_str(&format!(
        "cost        {}: {}\n",
        r.cost
            .usd
            .map_or("no price".to_string(), |u| format!("${u:.4}")),
        r.cost.basis
    ));
    s.push_str(&format!("a day       {}\n", day_line(&r.cost)));
    let verdict = match r.goal.met {
        Some(true) => "goal met",
        Some(false) => "goal MISSED",
        None => "no goal",
    };
    s.push_str(&format!("verdict     {verdict}: {}\n", r.goal.reason));
    s
}

/// A day's cost and a month's, and how the day is counted.
fn day_line(c: &super::run_result::Cost) -> String {
    match (c.per_day_usd, c.per_month_usd) {
        (Some(day), Some(month)) => format!(
            "${day:.2}, a month ${month:.2} ({}; {:.1} {})",
            c.period, c.per_day_resources, c.resource_unit
        ),
        _ => format!(
            "no price; {:.1} {} ({})",
            c.per_day_resources, c.resource_unit, c.period
        ),
    }
}

/// The advice lines, when the goal is missed.
fn advice(r: &Report) -> String {
    let mut s = String::new();
    if r.goal.met != Some(false) {
        return s;
    }
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
    s
}

/// The text of one environment: the timeline, sparklines, percentiles, cost and verdict.
pub fn text(name: &str, r: &Report) -> String {
    let mut s = format!(
        "{name}: {}; load {} for {} min, {} s per message\n",
        describe(r),
        r.workload.load,
        r.workload.duration_seconds / 60,
        r.workload.seconds_per_message
    );
    s.push_str(&timeline(r));
    s.push_str(&summary(r));
    s.push_str(&advice(r));
    if let Some(c) = &r.chart {
        s.push_str(&format!("chart       {c}\n"));
    }
    s
}
