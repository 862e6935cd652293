//! qfleet's own drift checks as a function of a snapshot and the stack file: the queue's
//! settings and redrive, the DLQ's retention, the subscription, the bucket notification, the
//! group's size, processes and instances, the scaling policy and the lifecycle hook (or, for
//! a Lambda environment, the function and its queue mapping: [`super::function`]).

use super::findings::Findings;
use super::{Difference, DriftReport, Source};
use crate::aws::autoscaling;
use crate::aws::cfn::drift_detection::PropertyDrift;
use crate::config::Environment;
use crate::config::schema::WorkerKind;
use crate::render::ids;
use crate::snapshot::Fact;
use crate::snapshot::{Snapshot, StackSnapshot};

/// The whole report: drift detection's results per stack (data, fleet; `None` where the stack
/// is not deployed) and qfleet's checks.
pub fn report(
    snap: &Snapshot,
    env: &Environment,
    detections: [Option<crate::aws::Result<Vec<PropertyDrift>>>; 2],
) -> DriftReport {
    let mut f = Findings {
        differences: Vec::new(),
        unchecked: Vec::new(),
    };
    let mut detection_unavailable = None;
    for (stack, detected) in [&snap.data, &snap.fleet].into_iter().zip(detections) {
        match &stack.state {
            Fact::Absent => f.diff(
                &stack.name,
                "-",
                "-",
                "stack exists",
                "stack does not exist",
            ),
            Fact::Unknown(why) => f.unchecked(format!("stack {}", stack.name), why.clone()),
            Fact::Known(_) => {}
        }
        match detected {
            Some(Ok(drifts)) => f.differences.extend(drifts.into_iter().map(|d| Difference {
                source: Source::CloudFormation,
                stack: stack.name.clone(),
                resource: d.logical_id,
                property: d.property,
                expected: d.expected,
                actual: d.actual,
            })),
            Some(Err(e)) => {
                let why = e.to_string();
                f.unchecked(
                    format!("CloudFormation drift detection on {}", stack.name),
                    why.clone(),
                );
                detection_unavailable.get_or_insert(why);
            }
            None => {}
        }
    }
    if snap.data.state.known().is_some() {
        queues(&mut f, snap, env);
        wiring(&mut f, snap, env);
    }
    if snap.fleet.state.known().is_some() {
        match env.spec.workers.kind {
            WorkerKind::Ec2 => group(&mut f, snap, env),
            WorkerKind::Lambda => super::function::check(&mut f, snap, env),
        }
    }
    DriftReport {
        environment: env.name.clone(),
        differences: f.differences,
        unchecked: f.unchecked,
        detection_unavailable,
        undeployed_changes: Vec::new(),
    }
}

fn queues(f: &mut Findings, snap: &Snapshot, env: &Environment) {
    let data = &snap.data.name;
    let spec = &env.spec.queue;
    let Some(q) = f.need(Some(&snap.queue), data, ids::QUEUE, "exists") else {
        return;
    };
    for (prop, want) in [
        ("VisibilityTimeout", spec.visibility_timeout.0),
        ("MessageRetentionPeriod", spec.message_retention.0),
        ("ReceiveMessageWaitTimeSeconds", spec.receive_wait_time.0),
    ] {
        let have = q.attribute(prop).unwrap_or("not set");
        if have != want.to_string() {
            f.diff(data, ids::QUEUE, prop, want, have);
        }
    }
    let redrive: serde_json::Value = q
        .attribute("RedrivePolicy")
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default();
    let count = redrive["maxReceiveCount"].as_i64().or_else(|| {
        redrive["maxReceiveCount"]
            .as_str()
            .and_then(|s| s.parse().ok())
    });
    if count != Some(spec.max_receive_count) {
        f.diff(
            data,
            ids::QUEUE,
            "RedrivePolicy.maxReceiveCount",
            spec.max_receive_count,
            count
                .map(|c| c.to_string())
                .unwrap_or_else(|| "no redrive policy".into()),
        );
    }
    let Some(dlq) = f.need(
        Some(&snap.dead_letter_queue),
        data,
        ids::DEAD_LETTER_QUEUE,
        "exists",
    ) else {
        return;
    };
    let target = q.dead_letter_target().unwrap_or_default();
    if !target.ends_with(&format!(":{}", dlq.name)) {
        f.diff(
            data,
            ids::QUEUE,
            "RedrivePolicy.deadLetterTargetArn",
            format!("…:{}", dlq.name),
            if target.is_empty() {
                "none".to_string()
            } else {
                target
            },
        );
    }
    let have = dlq.attribute("MessageRetentionPeriod").unwrap_or("not set");
    if have != spec.dlq_retention.0.to_string() {
        f.diff(
            data,
            ids::DEAD_LETTER_QUEUE,
            "MessageRetentionPeriod",
            spec.dlq_retention.0,
            have,
        );
    }
}

fn wiring(f: &mut Findings, snap: &Snapshot, env: &Environment) {
    let data = &snap.data.name;
    if let Some(sub) = f.need(
        snap.subscription.as_ref(),
        data,
        ids::SUBSCRIPTION,
        "sqs subscription of the queue",
    ) && !sub.raw_delivery
    {
        f.diff(
            data,
            ids::SUBSCRIPTION,
            "RawMessageDelivery",
            "true",
            "false",
        );
    }
    let prefix = &env.spec.bucket.upload_prefix;
    let (Some(topic), Some(notifications)) = (snap.topic.known(), snap.notifications.as_ref())
    else {
        if let Fact::Unknown(why) = &snap.topic {
            f.unchecked(format!("{data} {}", ids::TOPIC), why.clone());
        }
        return;
    };
    let want = format!("s3:ObjectCreated:* on {prefix} → {topic}");
    match notifications {
        Fact::Known(list) => {
            let ok = list.iter().any(|n| {
                &n.topic_arn == topic
                    && n.events.iter().any(|e| e == "s3:ObjectCreated:*")
                    && n.prefixes.iter().any(|p| p == prefix)
            });
            if !ok {
                let actual = if list.is_empty() {
                    "no notification".to_string()
                } else {
                    list.iter()
                        .map(|n| n.topic_arn.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                f.diff(data, ids::BUCKET, "NotificationConfiguration", want, actual);
            }
        }
        Fact::Absent => f.diff(data, ids::BUCKET, "-", "exists", "missing"),
        Fact::Unknown(why) => f.unchecked(
            format!("{data} {} NotificationConfiguration", ids::BUCKET),
            why.clone(),
        ),
    }
}

fn group(f: &mut Findings, snap: &Snapshot, env: &Environment) {
    let fleet = &snap.fleet.name;
    let w = &env.spec.workers;
    if let Some(g) = f.need(snap.group.as_ref(), fleet, ids::WORKER_GROUP, "exists") {
        if g.min != w.min as i32 {
            f.diff(fleet, ids::WORKER_GROUP, "MinSize", w.min, g.min);
        }
        if g.max != w.max as i32 {
            f.diff(fleet, ids::WORKER_GROUP, "MaxSize", w.max, g.max);
        }
        if !g.suspended_processes.is_empty() {
            f.diff(
                fleet,
                ids::WORKER_GROUP,
                "SuspendedProcesses",
                "none",
                g.suspended_processes.join(", "),
            );
        }
        let version = g.launch_template_version.as_deref();
        let old: Vec<&str> = g
            .instances
            .iter()
            .filter(|i| autoscaling::is_outdated(i.launch_template_version.as_deref(), version))
            .map(|i| i.id.as_str())
            .collect();
        if !old.is_empty() {
            f.diff(
                fleet,
                ids::WORKER_GROUP,
                "Instances.LaunchTemplateVersion",
                format!("all on version {}", version.unwrap_or("?")),
                format!("older: {}", old.join(", ")),
            );
        }
    }
    let target = env.backlog_target();
    if let Some(policies) = known_list(f, snap.policies.as_ref(), &snap.fleet, ids::SCALING_POLICY)
    {
        match policies.iter().find(|p| p.is_target_tracking()) {
            None => f.diff(
                fleet,
                ids::SCALING_POLICY,
                "-",
                format!("target tracking at {target}"),
                "missing",
            ),
            Some(p) if p.target.is_none_or(|h| (h - target).abs() > 1e-9) => f.diff(
                fleet,
                ids::SCALING_POLICY,
                "TargetValue",
                target,
                p.target
                    .map(|h| h.to_string())
                    .unwrap_or_else(|| "none".into()),
            ),
            Some(_) => {}
        }
    }
    if let Some(hooks) = known_list(f, snap.hooks.as_ref(), &snap.fleet, ids::DRAIN_HOOK)
        && !hooks.iter().any(|h| h == ids::DRAIN_HOOK_NAME)
    {
        f.diff(
            fleet,
            ids::DRAIN_HOOK,
            "-",
            format!("{} hook", ids::DRAIN_HOOK_NAME),
            "missing",
        );
    }
}

/// A list read from the group: absent (no group) is already a difference of the group itself.
fn known_list<'a, T>(
    f: &mut Findings,
    list: Option<&'a Fact<Vec<T>>>,
    stack: &StackSnapshot,
    resource: &str,
) -> Option<&'a Vec<T>> {
    match list {
        Some(Fact::Known(v)) => Some(v),
        Some(Fact::Absent) => None,
        Some(Fact::Unknown(why)) => {
            f.unchecked(format!("{} {resource}", stack.name), why.clone());
            None
        }
        None => None,
    }
}
