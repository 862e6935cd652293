//! Many environments at a glance: one row each (stacks, workers, queue, dead-letter queue,
//! backlog against the target, alarms), and what could not be read told once.

use super::Status;
use crate::config::WorkerKind;
use crate::output::words::{self, count};

/// One row per environment, and one per later stage of a pipeline under it (`ENV / STAGE`),
/// so that a stage's backlog is never hidden behind the first stage's. When the environments
/// are in more than one account or region (a stack file's targets), a column says where each
/// is: its stacks' account (`?` when none was read) and region.
pub fn render_rows(statuses: &[Status]) -> String {
    let places: std::collections::BTreeSet<(Option<&str>, &str)> = statuses
        .iter()
        .map(|s| (s.account.as_deref(), s.region.as_str()))
        .collect();
    let spread = places.len() > 1;
    let rows: Vec<(String, &Status)> = statuses
        .iter()
        .flat_map(|s| {
            std::iter::once((s.environment.clone(), s)).chain(
                s.stages
                    .iter()
                    .map(move |st| (format!("{} / {}", s.environment, st.stage), &st.status)),
            )
        })
        .collect();
    let mut header = vec!["environment"];
    if spread {
        header.push("where");
    }
    header.extend([
        "stacks",
        "workers",
        "queue",
        "DLQ",
        "backlog / target",
        "alarms",
    ]);
    let mut out = crate::output::table(
        &header,
        rows.iter().map(|(label, s)| {
            let mut row = vec![label.clone()];
            if spread {
                row.push(format!(
                    "{} {}",
                    s.account.as_deref().unwrap_or("?"),
                    s.region
                ));
            }
            if s.refused.is_some() {
                // Nothing was read: the note below says why.
                row.extend(["not read (account)".to_string()]);
                row.resize(header.len(), String::new());
                return row;
            }
            row.extend([
                stacks(s),
                workers(s),
                queue(s),
                dead_letter(s),
                backlog(s),
                alarms(s),
            ]);
            row
        }),
    );
    out.push('\n');
    // Each environment's own resources named as `<env>`, so that 20 copies' notes are one.
    let notes = words::group_notes_naming(rows.iter().map(|(label, s)| {
        let notes = s
            .unavailable
            .iter()
            .filter(|(_, why)| why.not_served().is_none())
            .map(|(section, why)| format!("not available: {section}: {why}"))
            .chain(super::text::not_served_line(&s.unavailable))
            .collect();
        (label.as_str(), s.environment.as_str(), notes)
    }));
    for (note, envs) in notes {
        out.push_str(&words::noted_for(&note, &envs, rows.len()));
        out.push('\n');
    }
    out
}

fn stacks(s: &Status) -> String {
    let each: Vec<String> = s
        .stacks
        .iter()
        .map(|st| match st.exists {
            Some(true) => st.status.clone().unwrap_or_else(|| "unknown".into()),
            Some(false) => "not deployed".into(),
            None => "could not be read".into(),
        })
        .collect();
    match each.as_slice() {
        [a, b] if a == b => a.clone(),
        [data, fleet] => format!("data {data}, fleet {fleet}"),
        _ => each.join(", "),
    }
}

fn workers(s: &Status) -> String {
    if let Some(f) = s.fleet() {
        let mut w = format!("{}/{} in service", f.in_service, f.desired);
        if f.outdated > 0 {
            w.push_str(&format!(", {} outdated", f.outdated));
        }
        if !f.suspended_processes.is_empty() {
            w.push_str(", SUSPENDED");
        }
        return w;
    }
    if let Some(svc) = s.service() {
        let mut w = format!("{}/{} tasks running", svc.running, svc.desired);
        if let Some(d) = svc.rollout()
            && d.rollout_state.as_deref() != Some("COMPLETED")
        {
            w.push_str(&format!(
                ", deployment {}",
                d.rollout_state.as_deref().unwrap_or("state unknown")
            ));
        }
        return w;
    }
    if let Some(f) = s.function() {
        let c = &f.concurrency;
        return format!(
            "function {}, {}/{} executions",
            f.function.state.as_deref().unwrap_or("state unknown"),
            c.in_use.map_or("?".into(), |n| format!("{n:.0}")),
            c.cap.map_or("no cap".into(), |n| n.to_string()),
        );
    }
    let section = if s.shows(WorkerKind::Lambda) {
        super::function::FUNCTION
    } else if s.shows(WorkerKind::Fargate) {
        super::service::SERVICE
    } else {
        super::group::FLEET
    };
    if s.unavailable.contains_key(section) {
        "not available".into()
    } else {
        "not deployed".into()
    }
}

/// A queue section that is not there: MISSING (deleted outside CloudFormation), not
/// available (not read), or not deployed.
fn gone(s: &Status, section: &str) -> String {
    match s.unavailable.get(section) {
        Some(why) if why.starts_with(super::MISSING) => "MISSING".into(),
        Some(_) => "not available".into(),
        None => "not deployed".into(),
    }
}

fn queue(s: &Status) -> String {
    match &s.queue {
        Some(q) => {
            let mut t = count(q.visible, "message", "messages");
            if q.in_flight > 0 {
                t.push_str(&format!(" (+{} in flight)", q.in_flight));
            }
            if let Some(a) = q.oldest_message_age_seconds.filter(|a| *a >= 1.0) {
                t.push_str(&format!(", oldest {a:.0} s"));
            }
            t
        }
        None => gone(s, "queue"),
    }
}

fn dead_letter(s: &Status) -> String {
    match &s.dead_letter_queue {
        Some(q) => {
            let depth = q.visible + q.in_flight + q.delayed;
            if depth > 0 {
                format!("{} FAILED", count(depth, "message", "messages"))
            } else {
                "0".into()
            }
        }
        None => gone(s, "dead-letter queue"),
    }
}

pub(super) fn backlog(s: &Status) -> String {
    if let Some(sc) = &s.scaling {
        let now = sc
            .backlog_per_instance
            .map_or("n/a".into(), |b| format!("{b:.1}"));
        let target = sc.target.unwrap_or(sc.configured_target);
        let direction = sc
            .target_direction
            .words(sc.backlog_per_instance, Some(target), sc.max);
        return format!("{now} / {target} ({direction})");
    }
    if let Some(f) = s.function() {
        return match f.concurrency.backlog_per_execution {
            Some(b) => format!("{b:.1} per execution"),
            None => "-".into(),
        };
    }
    "-".into()
}

fn alarms(s: &Status) -> String {
    let firing: Vec<&str> = s
        .alarms
        .iter()
        .filter(|a| a.state == "ALARM")
        .map(|a| a.name.as_str())
        .collect();
    if firing.is_empty() {
        if s.alarms.is_empty() { "-" } else { "ok" }.into()
    } else {
        format!("{} in ALARM", firing.len())
    }
}
