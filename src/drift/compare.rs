//! qfleet's own drift checks as a function of a snapshot and the stack file: the queue's
//! settings and redrive, the DLQ's retention, the subscription, the bucket notification, and
//! the workers, each kind in its own file: EC2's group in [`super::group`], a Lambda function
//! and its queue mapping in [`super::function`], a Fargate service in [`super::service`].

use super::findings::Findings;
use super::{Difference, DriftReport, Source};
use crate::aws::PropertyDrift;
use crate::config::{Environment, Feed, WorkerKind};
use crate::render::ids;
use crate::snapshot::{Fact, Snapshot, StackSnapshot};

/// The whole report of a one-stage environment or a pipeline's first stage: drift
/// detection's results per stack (data, fleet; `None` where the stack is not deployed) and
/// qfleet's checks.
pub(super) fn report(
    snap: &Snapshot,
    env: &Environment,
    detections: [Option<crate::aws::Result<Vec<PropertyDrift>>>; 2],
) -> DriftReport {
    let mut f = Findings::default();
    let [data, fleet] = detections;
    let detection_unavailable = stacks(&mut f, [(&snap.data, data), (&snap.fleet, fleet)]);
    resources(&mut f, snap, env);
    DriftReport {
        environment: env.name.clone(),
        differences: f.differences,
        unchecked: f.unchecked,
        detection_unavailable,
        undeployed_changes: Vec::new(),
    }
}

/// Adds a later stage of a pipeline to its report: drift detection on the stage's fleet stack
/// and qfleet's checks of its queues, its feed and its workers (the data stack is the first
/// stage's to report).
pub(super) fn later_stage(
    report: &mut DriftReport,
    snap: &Snapshot,
    stage: &Environment,
    detection: Option<crate::aws::Result<Vec<PropertyDrift>>>,
) {
    let mut f = Findings::default();
    let unavailable = stacks(&mut f, [(&snap.fleet, detection)]);
    if report.detection_unavailable.is_none() {
        report.detection_unavailable = unavailable;
    }
    resources(&mut f, snap, stage);
    report.differences.extend(f.differences);
    report.unchecked.extend(f.unchecked);
}

/// Each stack's state and its drift detection's results; why detection could not run, if so.
fn stacks<'a>(
    f: &mut Findings,
    stacks: impl IntoIterator<
        Item = (
            &'a StackSnapshot,
            Option<crate::aws::Result<Vec<PropertyDrift>>>,
        ),
    >,
) -> Option<String> {
    let mut detection_unavailable = None;
    for (stack, detected) in stacks {
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
    detection_unavailable
}

/// qfleet's checks of the stage's queues, its feed and its workers.
fn resources(f: &mut Findings, snap: &Snapshot, env: &Environment) {
    if snap.data.state.known().is_some() {
        queues(f, snap, env);
        if env.stage.as_ref().is_none_or(|s| s.index == 0) {
            super::jobs::check(f, snap, env);
        }
        topic_sources(f, snap, env);
        match env.stage.as_ref().and_then(|s| s.feed) {
            None if env.spec.sources.takes_uploads() => wiring(f, snap, env),
            // `sources.uploads: false`: no notification, topic or subscription to check.
            None => {}
            Some(Feed::Objects) => wiring(f, snap, env),
            // The stage before sends to the queue: its permission and its variable are the
            // fleet stack's, which drift detection covers.
            Some(Feed::Messages) => {}
        }
    }
    if snap.fleet.state.known().is_some() {
        match env.spec.workers.kind {
            WorkerKind::Ec2 => super::group::check(f, snap, env),
            WorkerKind::Lambda => super::function::check(f, snap, env),
            WorkerKind::Fargate | WorkerKind::EcsManaged => super::service::check(f, snap, env),
        }
    }
}

fn queues(f: &mut Findings, snap: &Snapshot, env: &Environment) {
    let data = &snap.data.name;
    let spec = &env.spec.queue;
    // A later stage of a pipeline has its own queues in the data stack.
    let (queue_id, dead_letter_id) = ids::stage_queues(env);
    let (queue_id, dead_letter_id) = (queue_id.as_str(), dead_letter_id.as_str());
    let Some(q) = f.need(Some(&snap.queue), data, queue_id, "exists") else {
        return;
    };
    for (prop, want) in [
        ("VisibilityTimeout", spec.visibility_timeout.0),
        ("MessageRetentionPeriod", spec.message_retention.0),
        ("ReceiveMessageWaitTimeSeconds", spec.receive_wait_time.0),
    ] {
        let have = q.attribute(prop).unwrap_or("not set");
        if have != want.to_string() {
            f.diff(data, queue_id, prop, want, have);
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
            queue_id,
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
        dead_letter_id,
        "exists",
    ) else {
        return;
    };
    let target = q.dead_letter_target().unwrap_or_default();
    if !target.ends_with(&format!(":{}", dlq.name)) {
        f.diff(
            data,
            queue_id,
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
            dead_letter_id,
            "MessageRetentionPeriod",
            spec.dlq_retention.0,
            have,
        );
    }
}

/// Each topic of `sources.topics` still reaches the stage's queue as the file says: its
/// subscription exists, is confirmed, names the topic and the queue, and delivers raw or in
/// SNS's envelope, through the file's filter policy. Schedules are left to CloudFormation's
/// drift detection. SNS's default scope is the message attributes ("MessageAttributes –
/// Applies the filter policy to message attributes (default setting)",
/// https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html).
fn topic_sources(f: &mut Findings, snap: &Snapshot, env: &Environment) {
    let data = &snap.data.name;
    let queue = crate::render::ResourceNames::of(env).queue;
    let deployed = crate::render::deployed_sources(env);
    for topic in &env.spec.sources.topics {
        let Some(d) = deployed
            .iter()
            .find(|d| d.kind == "topic" && d.name == topic.arn)
        else {
            continue;
        };
        let id = d.logical_id.as_str();
        let fact = snap
            .source_subscriptions
            .as_ref()
            .and_then(|list| list.iter().find(|(l, _)| l == id))
            .map(|(_, fact)| fact);
        let Some(attrs) = f.need(fact, data, id, "subscription of the queue") else {
            continue;
        };
        let get = |k: &str| attrs.get(k).map(String::as_str);
        let mut same = |prop: &str, want: String, have: Option<&str>| {
            if have != Some(want.as_str()) {
                f.diff(data, id, prop, want, have.unwrap_or("not set"));
            }
        };
        same("TopicArn", topic.arn.clone(), get("TopicArn"));
        same(
            "PendingConfirmation",
            "false".into(),
            get("PendingConfirmation"),
        );
        same(
            "RawMessageDelivery",
            (!topic.envelope).to_string(),
            Some(get("RawMessageDelivery").unwrap_or("false")),
        );
        let endpoint = get("Endpoint").unwrap_or("not set");
        if !endpoint.ends_with(&format!(":{queue}")) {
            f.diff(data, id, "Endpoint", format!("the queue {queue}"), endpoint);
        }
        let parse = |text: Option<&str>| {
            text.filter(|t| !t.trim().is_empty())
                .map(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        };
        let have = parse(get("FilterPolicy"));
        match (&topic.filter_policy, have) {
            (None, None) => {}
            (Some(want), Some(Some(have))) if *want == have => {
                let scope = match topic.filter_scope {
                    crate::config::FilterScope::Attributes => "MessageAttributes",
                    crate::config::FilterScope::Body => "MessageBody",
                };
                let have = get("FilterPolicyScope").unwrap_or("MessageAttributes");
                if have != scope {
                    f.diff(data, id, "FilterPolicyScope", scope, have);
                }
            }
            (want, have) => f.diff(
                data,
                id,
                "FilterPolicy",
                want.as_ref().map_or("none".into(), |w| w.to_string()),
                match have {
                    None => "none".to_string(),
                    Some(None) => "not JSON".to_string(),
                    Some(Some(v)) => v.to_string(),
                },
            ),
        }
    }
}

/// The bucket's events under the stage's prefix reach its queue: the notification to the
/// stage's topic, the queue's subscription with raw delivery and the filter that leaves S3's
/// test event out.
fn wiring(f: &mut Findings, snap: &Snapshot, env: &Environment) {
    let data = &snap.data.name;
    let (topic_id, subscription_id) = ids::stage_feed(env);
    let sub = f.need(
        snap.subscription.as_ref(),
        data,
        &subscription_id,
        "sqs subscription of the queue",
    );
    if let Some(sub) = sub {
        if !sub.raw_delivery {
            f.diff(
                data,
                &subscription_id,
                "RawMessageDelivery",
                "true",
                "false",
            );
        }
        if !sub.leaves_test_event_out {
            f.diff(
                data,
                &subscription_id,
                "FilterPolicy",
                r#"{"Event":[{"exists":false}]} on MessageBody"#,
                "another or none",
            );
        }
    }
    let prefix = &env.spec.bucket.upload_prefix;
    let (Some(topic), Some(notifications)) = (snap.topic.known(), snap.notifications.as_ref())
    else {
        if let Fact::Unknown(why) = &snap.topic {
            f.unchecked(format!("{data} {topic_id}"), why.clone());
        }
        return;
    };
    let want = format!("s3:ObjectCreated:* on {prefix} → {topic}");
    match notifications {
        Fact::Known(list) => {
            let ok = list.iter().any(|n| {
                &n.target_arn == topic
                    && n.events.iter().any(|e| e == "s3:ObjectCreated:*")
                    && n.prefixes.iter().any(|p| p == prefix)
            });
            if !ok {
                let actual = if list.is_empty() {
                    "no notification".to_string()
                } else {
                    list.iter()
                        .map(|n| n.target_arn.clone())
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
