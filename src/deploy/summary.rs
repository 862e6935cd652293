//! The end of a deploy or plan: its one JSON document, and for a plan of several environments
//! one row per environment with each warning told once.

use crate::deploy::EnvOutcome;
use crate::error::ErrorReport;
use crate::output::envelope;
use crate::output::words::{self, count};
use serde_json::{Map, Value, json};

/// What the run collected besides the outcomes: the events, and each environment's stacks.
pub struct Collected<'a> {
    pub events: Vec<Value>,
    /// Per environment (in the outcomes' order), the names of its stacks.
    pub stacks: Vec<Vec<String>>,
    pub command: &'a str,
}

/// The warnings of one environment's events, as text (`STACK: what the change does`, or what
/// the warning says about the environment as a whole).
fn warnings(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "warning")
        .map(|e| {
            let message = e["message"].as_str().unwrap_or("-");
            match e["stack"].as_str() {
                Some(stack) => format!("{stack}: {message}"),
                None => message.to_string(),
            }
        })
        .collect()
}

/// The deploy's or plan's document: each environment's outcome with its events (all but the
/// per-resource ones) and warnings.
pub fn document(
    c: &Collected,
    outcomes: &[EnvOutcome],
    code: i32,
    pending: bool,
    duration_ms: u128,
) -> Value {
    let environments = outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let stacks = c.stacks.get(i).cloned().unwrap_or_default();
            let events = envelope::events_of(&c.events, &o.environment, &stacks);
            let mut v = envelope::environment(
                &o.environment,
                o.exit_code,
                o.error
                    .as_ref()
                    .map(|e| ErrorReport::from_exit_code(o.exit_code, e)),
                o,
            );
            v["changes_pending"] = json!(o.stacks.iter().any(|s| s.action.pending()));
            v["warnings"] = json!(warnings(&events));
            v["events"] = Value::Array(events);
            v
        })
        .collect();
    let own = Map::from_iter([
        ("changes_pending".to_string(), json!(pending)),
        ("duration_ms".to_string(), json!(duration_ms)),
    ]);
    envelope::document(c.command, code, environments, own)
}

/// `data` or `fleet`: the role of the stack an event names (`qfleet-ENV-data`).
fn role_of(event: &Value) -> &str {
    let stack = event["stack"].as_str().unwrap_or_default();
    if stack.ends_with("-data") {
        "data stack"
    } else if stack.ends_with("-fleet") {
        "fleet stack"
    } else {
        "stack"
    }
}

/// One row per environment (the stacks' actions, how many changes, warnings), then each
/// warning and note once for the environments it concerns: a plan of many environments at a
/// glance.
pub fn rows(c: &Collected, outcomes: &[EnvOutcome]) -> (String, Vec<String>) {
    let mut per_env = Vec::new();
    let table = crate::output::table(
        &["environment", "data", "fleet", "changes", "warnings"],
        outcomes.iter().enumerate().map(|(i, o)| {
            let stacks = c.stacks.get(i).cloned().unwrap_or_default();
            let events = envelope::events_of(&c.events, &o.environment, &stacks);
            // Told without the stack's name, so that every copy's warning reads the same.
            let notes: Vec<String> = events
                .iter()
                .filter_map(|e| {
                    let message = e["message"].as_str()?;
                    match e["event"].as_str()? {
                        "warning" => Some(format!("WARNING: {role}: {message}", role = role_of(e))),
                        "switch" => Some(format!("note: {role}: {message}", role = role_of(e))),
                        _ => None,
                    }
                })
                .collect();
            let n_warnings = notes.iter().filter(|n| n.starts_with("WARNING")).count();
            per_env.push((o.environment.as_str(), notes));
            let action = |role: &str| {
                o.stacks
                    .iter()
                    .find(|s| s.role.as_str() == role)
                    .map(|s| s.action.text().to_string())
                    .unwrap_or_else(|| if o.error.is_some() { "FAILED" } else { "-" }.to_string())
            };
            let changes: usize = o.stacks.iter().map(|s| s.changes.len()).sum();
            vec![
                o.environment.clone(),
                action("data"),
                action("fleet"),
                count(changes as u64, "change", "changes"),
                n_warnings.to_string(),
            ]
        }),
    );
    let notes = words::group_notes(per_env)
        .into_iter()
        .map(|(note, envs)| words::noted_for(&note, &envs, outcomes.len()))
        .collect();
    (table, notes)
}
