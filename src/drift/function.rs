//! qfleet's own checks of a Lambda environment's workers, as [`super::group`] checks the
//! group: the queue mapping (enabled, from the queue, batch size and window, maximum
//! concurrency, partial batch failures reported) and the function (timeout, memory, reserved
//! concurrency) against the stack file. What could not be read is not checked, never in sync.

use super::findings::Findings;
use crate::config::Environment;
use crate::render::{ResourceNames, ids};
use crate::snapshot::Snapshot;

/// A number AWS may leave out of its answer: `not set` when it did.
fn shown(v: Option<i32>) -> String {
    v.map(|n| n.to_string()).unwrap_or_else(|| "not set".into())
}

pub(super) fn check(f: &mut Findings, snap: &Snapshot, env: &Environment) {
    let fleet = &snap.fleet.name;
    let want = &env.spec.workers.lambda;
    let function_id = ids::function_of(env);
    if let Some(func) = f.need(snap.function(), fleet, function_id, "exists") {
        if i64::from(func.timeout_seconds) != want.timeout.0 as i64 {
            f.diff(
                fleet,
                function_id,
                "Timeout",
                want.timeout.0,
                func.timeout_seconds,
            );
        }
        if i64::from(func.memory_mb) != i64::from(want.memory_mb) {
            f.diff(
                fleet,
                function_id,
                "MemorySize",
                want.memory_mb,
                func.memory_mb,
            );
        }
        // New code outside CloudFormation (UpdateFunctionCode with another image): the URI
        // the function was given is no longer the stack file's. A function from a package has
        // no image; one from an image answers with the URI it was given.
        // An image qfleet builds is named in the stack's own registry: its account and
        // Region are CloudFormation's, so the repository and tag are compared.
        let image = match (&want.image, &env.image_build) {
            (Some(crate::config::ImageSetting::Uri(u)), _) => Some(u.clone()),
            (Some(_), Some(b)) => Some(format!(
                "{}:{}",
                crate::config::image_repository(env),
                b.tag
            )),
            _ => None,
        };
        if let Some(image) = &image
            && !func
                .image_uri
                .as_deref()
                .is_some_and(|u| u == image || u.ends_with(&format!("/{image}")))
        {
            f.diff(
                fleet,
                function_id,
                "Code.ImageUri",
                image,
                func.image_uri
                    .as_deref()
                    .unwrap_or("no image (a zip package)"),
            );
        }
        // Lambda Managed Instances: the function on a capacity provider exactly when the file
        // asks for one (`workers.lambda.managed_instances`).
        let provider = |on: bool| match on {
            true => "a capacity provider (Lambda Managed Instances)",
            false => "none (Lambda's default compute)",
        };
        let managed = want.managed_instances.is_some();
        if managed != func.capacity_provider.is_some() {
            f.diff(
                fleet,
                function_id,
                "CapacityProviderConfig",
                provider(managed),
                func.capacity_provider.as_deref().unwrap_or(provider(false)),
            );
        }
        let reserved = func.reserved_concurrency.map(i64::from);
        if reserved != want.reserved_concurrency.map(i64::from) {
            let none = |v: Option<String>| v.unwrap_or_else(|| "none".into());
            f.diff(
                fleet,
                function_id,
                "ReservedConcurrentExecutions",
                none(want.reserved_concurrency.map(|r| r.to_string())),
                none(reserved.map(|r| r.to_string())),
            );
        }
    }
    let queue = ResourceNames::of(env).queue;
    let standard = match want.provisioned_pollers {
        None => Mode::Standard(want.max_concurrency),
        Some(p) => Mode::Provisioned(p.minimum, p.maximum),
    };
    if let Some(m) = f.need(
        snap.mapping(),
        fleet,
        ids::QUEUE_MAPPING,
        "mapping from the queue",
    ) {
        check_mapping(f, (fleet, ids::QUEUE_MAPPING), m, want, (&queue, standard));
    }
    // The priority lane's (`queue.priority`): its own mapping, standard mode, its own
    // maximum concurrency. A lane the file no longer has is a change to deploy, not drift.
    if let Some(p) = env.spec.queue.priority {
        let lane = ResourceNames::of(env).priority_queue;
        let at = p.max_concurrency.unwrap_or(want.max_concurrency);
        if let Some(m) = f.need(
            snap.priority_mapping(),
            fleet,
            ids::PRIORITY_QUEUE_MAPPING,
            "mapping from the priority lane",
        ) {
            let id = ids::PRIORITY_QUEUE_MAPPING;
            check_mapping(f, (fleet, id), m, want, (&lane, Mode::Standard(at)));
        }
    }
}

/// How a mapping scales: standard mode's maximum concurrency, or provisioned mode's pollers.
#[derive(Clone, Copy)]
enum Mode {
    Standard(u32),
    Provisioned(u32, u32),
}

/// One mapping against the stack file: enabled, from `queue`, its batches, its scaling in
/// `mode`, and partial batch failures reported.
fn check_mapping(
    f: &mut Findings,
    (fleet, id): (&str, &str),
    m: &crate::aws::EventSourceMapping,
    want: &crate::config::LambdaSpec,
    (queue, mode): (&str, Mode),
) {
    match m.state.as_str() {
        "Enabled" => {}
        // Switched off, or on its way out: the queue feeds nothing.
        "Disabled" | "Disabling" | "Deleting" => f.diff(fleet, id, "State", "Enabled", &m.state),
        // Creating, Enabling, Updating: not settled, so neither in sync nor a difference yet.
        other => f.unchecked(
            format!("{fleet} {id} State"),
            format!("the mapping is {other}; run again when it has settled"),
        ),
    }
    let source = m.event_source_arn.as_deref().unwrap_or("not set");
    if source.rsplit(':').next() != Some(queue) {
        f.diff(fleet, id, "EventSourceArn", format!("…:{queue}"), source);
    }
    let mut expected = vec![
        ("BatchSize", want.batch_size, m.batch_size),
        (
            "MaximumBatchingWindowInSeconds",
            want.batching_window.0 as u32,
            m.batching_window_seconds,
        ),
    ];
    match mode {
        Mode::Standard(at) => {
            expected.push((
                "ScalingConfig.MaximumConcurrency",
                at,
                m.maximum_concurrency,
            ));
            if m.pollers.is_some() {
                f.diff(
                    fleet,
                    id,
                    "ProvisionedPollerConfig",
                    "not set (standard mode)",
                    "set (provisioned mode)",
                );
            }
        }
        Mode::Provisioned(minimum, maximum) => {
            let (min, max) = m.pollers.unwrap_or((None, None));
            expected.push(("ProvisionedPollerConfig.MinimumPollers", minimum, min));
            expected.push(("ProvisionedPollerConfig.MaximumPollers", maximum, max));
        }
    }
    for (prop, expected, actual) in expected {
        if actual.map(i64::from) != Some(i64::from(expected)) {
            f.diff(fleet, id, prop, expected, shown(actual));
        }
    }
    if !m.reports_batch_item_failures() {
        f.diff(
            fleet,
            id,
            "FunctionResponseTypes",
            "ReportBatchItemFailures",
            if m.function_response_types.is_empty() {
                "none".to_string()
            } else {
                m.function_response_types.join(", ")
            },
        );
    }
}
