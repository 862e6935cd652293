//! The status of a Lambda environment's workers: the function's state and settings, the
//! concurrency it uses against its cap, its errors and throttles, and the queue mapping's state
//! and batch settings. The text of this section is here too.

use super::{QueueDepth, take};
use crate::aws::Why;
use crate::aws::{EventSourceMapping as Mapping, Function};
use crate::aws::{METRICS_WINDOW_MINUTES as WINDOW_MINUTES, Metrics};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::collections::BTreeMap;

/// The section's name in `unavailable` for the function, and for its mapping.
pub(super) const FUNCTION: &str = "function";
pub(super) const MAPPING: &str = "queue mapping";
pub(super) const PRIORITY_MAPPING: &str = "priority lane mapping";

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FunctionStatus {
    /// The function as GetFunction describes it (name, state, runtime, memory, timeout, …).
    #[serde(flatten)]
    pub(super) function: Function,
    pub(super) concurrency: Concurrency,
    /// Errors over the last `metrics_window_minutes` (CloudWatch; `null`: no data or not read).
    pub(super) errors: Option<f64>,
    pub(super) throttles: Option<f64>,
    metrics_window_minutes: u64,
    /// `null` when the function has no mapping from the queue or it could not be read (see
    /// `unavailable`).
    pub(super) mapping: Option<MappingStatus>,
    /// The mapping from the priority lane (`queue.priority`): `null` without a lane, or when it
    /// is not deployed or could not be read (see `unavailable`).
    pub(super) priority_mapping: Option<MappingStatus>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub(super) struct Concurrency {
    /// The highest ConcurrentExecutions of the window (CloudWatch).
    pub(super) in_use: Option<f64>,
    /// The mapping's ScalingConfig.MaximumConcurrency: the most invocations the queue starts.
    pub(super) mapping_maximum: Option<i32>,
    /// The function's reserved concurrency, when set.
    pub(super) reserved: Option<i32>,
    /// The lower of the two: what the queue can get at most (`null`: no cap known).
    pub(super) cap: Option<i32>,
    /// Visible messages ÷ executions in use (`null` without executions or data).
    pub(super) backlog_per_execution: Option<f64>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub(super) struct MappingStatus {
    uuid: String,
    /// Enabled, Disabled, Creating, Enabling, Disabling, Updating, Deleting.
    pub(super) state: String,
    state_transition_reason: Option<String>,
    pub(super) batch_size: Option<i32>,
    pub(super) batching_window_seconds: Option<i32>,
    pub(super) report_batch_item_failures: bool,
    maximum_concurrency: Option<i32>,
    last_processing_result: Option<String>,
}

fn mapping_status(m: &Mapping) -> MappingStatus {
    MappingStatus {
        uuid: m.uuid.clone(),
        state: m.state.clone(),
        state_transition_reason: m.state_transition_reason.clone(),
        batch_size: m.batch_size,
        batching_window_seconds: m.batching_window_seconds,
        report_batch_item_failures: m.reports_batch_item_failures(),
        maximum_concurrency: m.maximum_concurrency,
        last_processing_result: m.last_processing_result.clone(),
    }
}

/// The function section (`None`: no function read, absent, or unreadable: see `unavailable`).
pub(super) fn section(
    snap: &Snapshot,
    metrics: &Metrics,
    queue: Option<&QueueDepth>,
    unavailable: &mut BTreeMap<String, Why>,
) -> Option<FunctionStatus> {
    let function = take(snap.function(), FUNCTION, unavailable);
    let mapping = take(snap.mapping(), MAPPING, unavailable).map(|m| mapping_status(&m));
    // The lane the stack file has, without its mapping yet: said, not left out.
    if let Some(crate::snapshot::Fact::Absent) = snap.priority_mapping() {
        unavailable.insert(
            PRIORITY_MAPPING.to_string(),
            "not deployed: the stack file has queue.priority; `qfleet deploy` makes it".into(),
        );
    }
    let priority_mapping =
        take(snap.priority_mapping(), PRIORITY_MAPPING, unavailable).map(|m| mapping_status(&m));
    let f = function?;
    let in_use = metrics.function_concurrency_peak;
    let mapping_maximum = mapping.as_ref().and_then(|m| m.maximum_concurrency);
    let cap = match (mapping_maximum, f.reserved_concurrency) {
        (Some(m), Some(r)) => Some(m.min(r)),
        (m, r) => m.or(r),
    };
    let reserved = f.reserved_concurrency;
    Some(FunctionStatus {
        function: f,
        concurrency: Concurrency {
            in_use,
            mapping_maximum,
            reserved,
            cap,
            backlog_per_execution: match (queue, in_use) {
                (Some(q), Some(n)) if n > 0.0 => Some(q.visible as f64 / n),
                _ => None,
            },
        },
        errors: metrics.function_errors,
        throttles: metrics.function_throttles,
        metrics_window_minutes: WINDOW_MINUTES,
        mapping,
        priority_mapping,
    })
}

/// The section as text: the function, its concurrency, errors and throttles, and its mapping.
pub(super) fn render(
    f: &FunctionStatus,
    unavailable: &BTreeMap<String, Why>,
    line: &mut dyn FnMut(String),
) {
    let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "not reported".into());
    let (status, f) = (f, &f.function);
    let mut head = format!(
        "function {}: {} (last update {}), {}, {} MB, timeout {} s",
        f.name,
        or_unknown(&f.state),
        or_unknown(&f.last_update_status),
        match (&f.runtime, &f.image) {
            (None, Some(image)) => format!("image {image}"),
            (runtime, _) => or_unknown(runtime),
        },
        f.memory_mb,
        f.timeout_seconds
    );
    // On Lambda Managed Instances: the capacity provider's name, the last part of its ARN.
    if let Some(arn) = &f.capacity_provider {
        let name = arn.rsplit(':').next().unwrap_or(arn);
        head.push_str(&format!(", on managed instances ({name})"));
    }
    for reason in [&f.state_reason, &f.last_update_status_reason]
        .into_iter()
        .flatten()
    {
        head.push_str(&format!(": {reason}"));
    }
    line(head);
    // The metrics are read in one call: unavailable for one, unavailable for all.
    let metric = |v: Option<f64>| match (v, unavailable.contains_key("metrics")) {
        (Some(v), _) => format!("{v:.0}"),
        (None, true) => "not available".into(),
        (None, false) => "no data".into(),
    };
    let c = &status.concurrency;
    let mut cap = Vec::new();
    if let Some(m) = c.mapping_maximum {
        cap.push(format!("the mapping's maximum {m}"));
    }
    if let Some(r) = c.reserved {
        cap.push(format!("reserved {r}"));
    }
    let at_cap = matches!((c.in_use, c.cap), (Some(n), Some(cap)) if n >= cap as f64);
    line(format!(
        "  concurrency in use (peak, last {} min): {}; cap: {}{}",
        status.metrics_window_minutes,
        metric(c.in_use),
        if cap.is_empty() {
            "no cap (the account's unreserved pool)".to_string()
        } else {
            cap.join(", ")
        },
        if at_cap { "  <-- AT THE CAP" } else { "" }
    ));
    line(format!(
        "  last {} min: errors {}, throttles {}",
        status.metrics_window_minutes,
        metric(status.errors),
        metric(status.throttles)
    ));
    match &status.mapping {
        Some(m) => line(format!(
            "  queue mapping {}: {}, batch size {}, batching window {}, ReportBatchItemFailures {}{}",
            m.uuid,
            m.state,
            m.batch_size
                .map(|b| b.to_string())
                .unwrap_or_else(|| "not set".into()),
            m.batching_window_seconds
                .map(|w| format!("{w} s"))
                .unwrap_or_else(|| "not set".into()),
            if m.report_batch_item_failures {
                "on"
            } else {
                "OFF"
            },
            last_result(m)
        )),
        None => line(match unavailable.get(MAPPING) {
            Some(why) => format!("  queue mapping: not available ({why})"),
            None => "  queue mapping: not deployed (the queue feeds no function)".into(),
        }),
    }
    match (&status.priority_mapping, unavailable.get(PRIORITY_MAPPING)) {
        (Some(m), _) => line(format!(
            "  priority lane mapping {}: {}, maximum concurrency {}{}",
            m.uuid,
            m.state,
            m.maximum_concurrency
                .map(|c| c.to_string())
                .unwrap_or_else(|| "not set".into()),
            last_result(m)
        )),
        (None, Some(why)) => line(format!("  priority lane mapping: {why}")),
        (None, None) => {}
    }
}

/// `; last result: …` when the mapping reports one (a text suffix).
fn last_result(m: &MappingStatus) -> String {
    m.last_processing_result
        .as_deref()
        .map(|r| format!("; last result: {r}"))
        .unwrap_or_default()
}

/// The scaling line of a Lambda environment: the backlog against the executions in use.
pub(super) fn scaling_line(
    f: &FunctionStatus,
    queue: Option<&QueueDepth>,
    unavailable: &BTreeMap<String, Why>,
) -> String {
    let c = &f.concurrency;
    let per_execution = match (c.backlog_per_execution, c.in_use) {
        (Some(b), _) => format!("{b:.1}"),
        (None, Some(_)) => "n/a (no execution in the window)".into(),
        (None, None) if unavailable.contains_key("metrics") => {
            "not available (the metrics could not be read)".into()
        }
        (None, None) => "no data yet".into(),
    };
    match queue {
        Some(q) => format!(
            "scaling: {} visible message{}; per execution in use: {per_execution}{}",
            q.visible,
            if q.visible == 1 { "" } else { "s" },
            match (c.in_use, c.cap) {
                (Some(n), Some(cap)) if n >= cap as f64 && q.visible > 0 =>
                    "; at the cap: the backlog waits for free executions",
                _ => "",
            }
        ),
        None if unavailable.contains_key("queue") => {
            "scaling: unknown (the queue could not be read)".into()
        }
        None => "scaling: n/a (no queue)".into(),
    }
}
