//! The status as text: one screen per environment.

use super::function::{self, FUNCTION, MAPPING};
use super::{Direction, QueueDepth, Status};
use crate::aws::Why;
use crate::config::WorkerKind;
use std::collections::BTreeMap;

pub fn text(s: &Status) -> String {
    let mut out = String::new();
    let mut line = |t: String| {
        out.push_str(&t);
        out.push('\n');
    };
    match &s.account {
        Some(account) => line(format!(
            "environment {} (account {account}, {})",
            s.environment, s.region
        )),
        None => line(format!("environment {} ({})", s.environment, s.region)),
    }
    if let Some((code, refused)) = &s.refused {
        let what = if *code == crate::error::Exit::Refused {
            "refused"
        } else {
            "the account could not be checked"
        };
        line(format!("{what}: {}", refused.message));
        return out;
    }
    line(stacks_table(&s.stacks));
    if let Some(d) = &s.dashboard {
        line(format!("dashboard: {d}"));
    }
    if let Some(b) = &s.budget {
        line(budget_line(b));
    }
    if let Some(p) = &s.parked {
        line(p.clone());
    }
    for st in &s.stacks {
        if let Some(l) = st.origin.line() {
            line(l);
        }
    }
    // A section the endpoint does not serve is said in the one line at the end.
    let missing = |section: &str| match s.unavailable.get(section) {
        Some(why) if why.not_served().is_some() => None,
        Some(why) => Some(match why.strip_prefix(super::MISSING) {
            Some(why) => format!("{section}: MISSING ({why})"),
            None => format!("{section}: not available ({why})"),
        }),
        None => Some(format!("{section}: not deployed")),
    };
    let shows = |kind: WorkerKind| s.shows(kind);
    match s.fleet() {
        None if shows(WorkerKind::Ec2) => {
            missing(super::group::FLEET).into_iter().for_each(&mut line)
        }
        None => {}
        Some(f) => super::group::render(f, &mut line),
    }
    match s.function() {
        Some(f) => function::render(f, &s.unavailable, &mut line),
        None if shows(WorkerKind::Lambda) => missing(FUNCTION).into_iter().for_each(&mut line),
        None => {}
    }
    match s.service() {
        Some(svc) => super::service::render(svc, &mut line),
        None if shows(WorkerKind::Fargate) => missing(super::service::SERVICE)
            .into_iter()
            .for_each(&mut line),
        None => {}
    }
    match &s.queue {
        Some(q) => line(depth_line("queue", q)),
        None => missing("queue").into_iter().for_each(&mut line),
    }
    if let Some(q) = &s.priority_queue {
        line(depth_line("priority lane", q));
    }
    if let Some(f) = s.queue.as_ref().and_then(|q| q.fair_shares.as_ref()) {
        line(fair_shares_line(f));
    }
    for l in [
        s.upload_to_processed.as_ref().map(processed_line),
        s.jobs.as_ref().map(jobs_line),
        s.latency.as_ref().map(latency_line),
    ]
    .into_iter()
    .flatten()
    {
        line(l);
    }
    s.sources.iter().map(source_line).for_each(&mut line);
    let dead_letters = missing("dead-letter queue");
    dead_letter_lines(s, dead_letters)
        .into_iter()
        .for_each(&mut line);
    if let Some(f) = s.function() {
        line(function::scaling_line(f, s.queue.as_ref(), &s.unavailable));
    }
    if let Some(sc) = &s.scaling {
        let unit = if s.fleet().is_none() && s.service().is_some() {
            "task"
        } else {
            "instance"
        };
        scaling_line(sc, unit, &s.unavailable, &mut line);
    }
    for a in &s.alarms {
        line(format!("alarm {}: {}", a.name, a.state));
    }
    for (section, why) in &s.unavailable {
        if ![
            "fleet",
            FUNCTION,
            MAPPING,
            function::PRIORITY_MAPPING,
            super::service::SERVICE,
            "queue",
            "dead-letter queue",
        ]
        .contains(&section.as_str())
            && why.not_served().is_none()
        {
            line(format!("not available: {section}: {why}"));
        }
    }
    if let Some(l) = not_served_line(&s.unavailable) {
        line(l);
    }
    if let Some(p) = &s.pipeline {
        line(format!(
            "pipeline: {} stages; the oldest message across them {}",
            p.stages,
            p.oldest_message_age_seconds
                .map(|a| format!("has waited {a:.0} s"))
                .unwrap_or_else(|| "is not known (a stage's queue age could not be read)".into())
        ));
    }
    // Each later stage as its own screen, under its name (its stacks are the data stack and
    // its own fleet stack).
    for st in &s.stages {
        out.push_str(&format!("\nstage {}\n", st.stage));
        out.push_str(&text(&st.status));
    }
    out
}

/// The sections the endpoint does not serve, in one line: `not served by this endpoint:
/// alarms (CloudWatch DescribeAlarms), metrics (CloudWatch GetMetricData)`. Not read, so not
/// shown: never "none" or "in sync" (`unavailable` in JSON says each with its line).
pub(super) fn not_served_line(unavailable: &BTreeMap<String, Why>) -> Option<String> {
    let each: Vec<String> = unavailable
        .iter()
        .filter_map(|(section, why)| Some(format!("{section} ({})", why.not_served()?.api())))
        .collect();
    (!each.is_empty()).then(|| format!("not served by this endpoint: {}", each.join(", ")))
}

/// The stacks, one row each.
fn stacks_table(stacks: &[super::StackSummary]) -> String {
    crate::output::table(
        &["stack", "status", "last update", "protection", "reason"],
        stacks.iter().map(|st| {
            vec![
                st.name.clone(),
                match st.exists {
                    Some(true) => st.status.clone().unwrap_or_default(),
                    Some(false) => "not deployed".into(),
                    None => "could not be read".into(),
                },
                st.last_updated
                    .as_deref()
                    .map(crate::output::ago)
                    .unwrap_or_default(),
                match st.termination_protection {
                    Some(true) => "on",
                    Some(false) => "off",
                    None => "unknown",
                }
                .to_string(),
                st.reason.clone().unwrap_or_default(),
            ]
        }),
    )
}

/// `LABEL NAME: N visible, N in flight, N delayed; oldest message: …`.
fn depth_line(label: &str, q: &QueueDepth) -> String {
    let age = match q.oldest_message_age_seconds {
        Some(a) => format!("{a:.0} s"),
        None => "no data yet".into(),
    };
    format!(
        "{label} {}: {} visible, {} in flight, {} delayed; oldest message: {age}",
        q.name, q.visible, q.in_flight, q.delayed
    )
}

/// How long uploads took to be processed, lately.
fn processed_line(p: &super::Percentiles) -> String {
    format!(
        "upload to processed (last {} min, {} job{}): p50 {:.0} s, p95 {:.0} s, p99 {:.0} s, max {:.0} s",
        p.window_minutes,
        p.jobs,
        if p.jobs == 1 { "" } else { "s" },
        p.p50_seconds,
        p.p95_seconds,
        p.p99_seconds,
        p.max_seconds
    )
}

/// The dead-letter queue's depth (or why it is missing), and the schedules' one's when the
/// stack has it.
fn dead_letter_lines(s: &Status, dead_letters_missing: Option<String>) -> Vec<String> {
    let mut out = Vec::new();
    match &s.dead_letter_queue {
        Some(q) => out.push(held_line("dead-letter queue", q, "FAILED JOBS WAITING")),
        None => out.extend(dead_letters_missing),
    }
    if let Some(q) = &s.schedule_dead_letter_queue {
        out.push(held_line(
            "schedule dead-letter queue",
            q,
            "SCHEDULED RUNS NOT SENT (aws sqs receive-message reads them)",
        ));
    }
    out
}

/// `LABEL NAME: N messages`, flagged when it holds any.
fn held_line(label: &str, q: &QueueDepth, flag: &str) -> String {
    let depth = q.visible + q.in_flight + q.delayed;
    let flag = if depth > 0 {
        format!("  <-- {flag}")
    } else {
        String::new()
    };
    format!(
        "{label} {}: {depth} message{}{flag}",
        q.name,
        if depth == 1 { "" } else { "s" }
    )
}

/// A topic or a schedule of the stage, and its state in the data stack.
fn source_line(src: &super::SourceStatus) -> String {
    let next = match (&src.next_run, &src.no_next_run) {
        (Some(run), _) => {
            let window = run
                .window_seconds
                .map(|w| format!(", starting within {}", crate::config::duration::Seconds(w)))
                .unwrap_or_default();
            format!(", next run {} ({}){window}", run.local, run.at)
        }
        (None, Some(why)) => format!("; {why}"),
        (None, None) => String::new(),
    };
    format!(
        "{} {} ({}): {}{next}",
        src.kind,
        src.name,
        src.detail,
        src.state
            .as_deref()
            .unwrap_or("unknown: the data stack's resources could not be read")
    )
}

/// The job table's last 15 minutes.
fn jobs_line(j: &crate::jobs::Recent) -> String {
    let slowest = j
        .slowest
        .as_ref()
        .map(|x| format!("; slowest {} ({:.1} s)", x.key, x.seconds))
        .unwrap_or_default();
    let cancelled = match j.cancelled {
        0 => String::new(),
        n => format!(", {n} cancelled"),
    };
    format!(
        "jobs (last 15 min): {} done, {} failed{cancelled}, {} under way{slowest}",
        j.done, j.failed, j.in_progress
    )
}

/// The latency goal, met or not.
fn latency_line(l: &super::LatencyGoal) -> String {
    let figures = [
        l.oldest_message_age_seconds
            .map(|a| format!("oldest message {a:.0} s")),
        l.p99_seconds.map(|p| format!("p99 {p:.0} s")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    format!(
        "latency goal {:.0} s: {}",
        l.goal_seconds,
        match l.met {
            Some(true) => format!("met ({figures})"),
            Some(false) => format!("MISSED ({figures})"),
            None => "not known (no age of the oldest message yet)".into(),
        }
    )
}

/// The group's or the service's scaling: backlog per instance (or task) now and in
/// CloudWatch against the target.
fn scaling_line(
    sc: &super::Scaling,
    unit: &str,
    unavailable: &BTreeMap<String, Why>,
    line: &mut dyn FnMut(String),
) {
    let none = if unit == "task" {
        "n/a (no task running)"
    } else {
        "n/a (no instance in service)"
    };
    line(format!(
        "scaling: backlog per {unit} {} (visible and in flight, as the policy counts; CloudWatch: {}), target {}{}; {}; {}",
        sc.backlog_per_instance
            .map(|b| format!("{b:.1}"))
            .unwrap_or_else(|| none.into()),
        sc.backlog_per_instance_metric
            .map(|b| format!("{b:.1}"))
            .unwrap_or_else(|| "no data yet".into()),
        match (sc.target, unavailable.contains_key("scaling policies")) {
            (Some(t), _) => format!("{t}"),
            // Application Auto Scaling's policies are not read: say whose target this is.
            (None, _) if unit == "task" => format!(
                "{} (the stack file's; the service's scaling policy is not read)",
                sc.configured_target
            ),
            (None, true) => "unknown (the scaling policies could not be read)".into(),
            (None, false) => "none (no target-tracking policy found)".into(),
        },
        if sc
            .target
            .is_some_and(|t| (t - sc.configured_target).abs() > 1e-9)
        {
            format!(" (stack file: {})", sc.configured_target)
        } else {
            String::new()
        },
        sc.target_direction.words(
            sc.backlog_per_instance,
            sc.target
                .or((unit == "task").then_some(sc.configured_target)),
            sc.max
        ),
        match sc.direction {
            Direction::Out => format!("the {unit}s now: scaling out (desired above in service)"),
            Direction::In => format!("the {unit}s now: scaling in (desired below in service)"),
            Direction::Steady => format!("the {unit}s now: steady (desired as in service)"),
            Direction::Unknown => format!("the {unit}s now: not known"),
        }
    ));
}

/// The budget as AWS Budgets has calculated it: "budget: $42.17 of $300 this month, UTC
/// (forecast $280.50)"; or why there is no figure.
fn budget_line(b: &super::BudgetStatus) -> String {
    let Some(spend) = &b.spend else {
        return match (b.missing, &b.name) {
            (Some("not in AWS Budgets"), Some(name)) => format!(
                "budget: {name} is in the data stack but not in AWS Budgets (deleted outside CloudFormation)"
            ),
            _ => "budget: not deployed yet (the next deploy makes it)".to_string(),
        };
    };
    let this = match spend.period.as_str() {
        "day" => "today, UTC".to_string(),
        "month" => "this month, UTC".to_string(),
        other => format!("this {other}"),
    };
    let limit = format!("${}", trim_cents(spend.limit_usd));
    let mut notes = Vec::new();
    let head = match spend.actual_usd {
        None => format!("budget: {limit} {this}, spend not calculated yet"),
        Some(usd) => {
            if let Some(f) = spend.forecast_usd {
                notes.push(format!("forecast ${f:.2}"));
            }
            if usd == 0.0 {
                notes.push(
                    "it counts only once the cost allocation tag qfleet:environment is active: docs/budget.md"
                        .to_string(),
                );
            }
            format!("budget: ${usd:.2} of {limit} {this}")
        }
    };
    if (spend.limit_usd - f64::from(b.amount)).abs() > 0.005 || spend.period != b.period {
        notes.push(format!(
            "the stack file says ${} a {}, not deployed yet",
            b.amount, b.period
        ));
    }
    if notes.is_empty() {
        head
    } else {
        format!("{head} ({})", notes.join("; "))
    }
}

/// A whole amount without its cents ("300"), else with them ("12.50").
fn trim_cents(usd: f64) -> String {
    if usd.fract() == 0.0 {
        format!("{usd:.0}")
    } else {
        format!("{usd:.2}")
    }
}

/// A fair queue's tenants in a line: how many SQS counts as noisy, and how long the others'
/// oldest job has waited.
pub(super) fn fair_shares_line(f: &super::FairShares) -> String {
    let noisy = match f.noisy_tenants {
        Some(n) => crate::output::words::count(n, "noisy tenant", "noisy tenants"),
        None => "noisy tenants: no data yet".into(),
    };
    let quiet = match f.quiet_tenants_oldest_age_seconds {
        Some(a) => format!("{a:.0} s"),
        None => "no data yet".into(),
    };
    format!("fair shares: {noisy}; the other tenants' oldest message: {quiet}")
}
