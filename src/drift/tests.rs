//! Drift as a function of a snapshot and the stack file, over hand-built snapshots (no AWS):
//! what differs, what could not be checked, and the exit code each gives.

use super::*;
use crate::aws::AwsError;
use crate::aws::autoscaling::{Group, ScalingPolicy};
use crate::aws::buckets::TopicNotification;
use crate::aws::drift_detection::PropertyDrift;
use crate::aws::queues::Queue;
use crate::aws::topics::Subscription;
use std::path::PathBuf;

fn env() -> Environment {
    crate::config::parse(
        PathBuf::from("stacks/dr.yaml"),
        "region: eu-west-1\nlab: true\n".into(),
    )
    .unwrap()
}

/// An environment exactly as the lab stack file deploys it.
fn in_sync(env: &Environment) -> Snapshot {
    let q = &env.spec.queue;
    let mut s = Snapshot::deployed("dr");
    let topic = "arn:aws:sns:eu-west-1:1:qfleet-dr-jobs";
    s.topic = Fact::Known(topic.into());
    s.bucket = Fact::Known("dr-uploads-1-eu-west-1".into());
    let redrive = format!(
        r#"{{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:1:qfleet-dr-dlq","maxReceiveCount":{}}}"#,
        q.max_receive_count
    );
    s.queue = Fact::Known(Queue::for_tests(
        "qfleet-dr-jobs",
        0,
        &[
            ("VisibilityTimeout", &q.visibility_timeout.0.to_string()),
            ("MessageRetentionPeriod", &q.message_retention.0.to_string()),
            (
                "ReceiveMessageWaitTimeSeconds",
                &q.receive_wait_time.0.to_string(),
            ),
            ("RedrivePolicy", &redrive),
        ],
    ));
    s.dead_letter_queue = Fact::Known(Queue::for_tests(
        "qfleet-dr-dlq",
        0,
        &[("MessageRetentionPeriod", &q.dlq_retention.0.to_string())],
    ));
    s.subscription = Some(Fact::Known(Subscription {
        arn: format!("{topic}:1"),
        raw_delivery: true,
    }));
    s.notifications = Some(Fact::Known(vec![TopicNotification {
        topic_arn: topic.into(),
        events: vec!["s3:ObjectCreated:*".into()],
        prefixes: vec![env.spec.bucket.upload_prefix.clone()],
    }]));
    s.group = Some(Fact::Known(Group {
        name: "qfleet-dr-workers".into(),
        desired: env.spec.workers.min as i32,
        min: env.spec.workers.min as i32,
        max: env.spec.workers.max as i32,
        zones: vec![],
        launch_template_version: Some("1".into()),
        instances: vec![],
        suspended_processes: vec![],
    }));
    s.policies = Some(Fact::Known(vec![ScalingPolicy {
        name: "p".into(),
        policy_type: "TargetTrackingScaling".into(),
        target: Some(env.backlog_target()),
    }]));
    s.hooks = Some(Fact::Known(vec!["drain-on-terminate".into()]));
    s
}

fn detected() -> [Option<crate::error::Result<Vec<PropertyDrift>>>; 2] {
    [Some(Ok(vec![])), Some(Ok(vec![]))]
}

#[test]
fn an_environment_as_deployed_is_in_sync() {
    let e = env();
    let r = compare::report(&in_sync(&e), &e, detected());
    assert!(r.differences.is_empty() && r.unchecked.is_empty(), "{r:?}");
    assert_eq!(r.exit_code(), 0);
    assert!(render_text(&r).contains("dr: in sync"));
}

#[test]
fn settings_changed_behind_qfleets_back_are_differences() {
    let e = env();
    let mut s = in_sync(&e);
    if let Fact::Known(q) = &mut s.queue {
        q.attributes.insert("VisibilityTimeout".into(), "45".into());
    }
    if let Some(Fact::Known(g)) = &mut s.group {
        g.max = 9;
        g.suspended_processes = vec!["AZRebalance".into()];
    }
    s.subscription = Some(Fact::Known(Subscription {
        arn: "arn:x".into(),
        raw_delivery: false,
    }));
    s.hooks = Some(Fact::Known(vec![]));
    let r = compare::report(&s, &e, detected());
    let found: Vec<(&str, &str)> = r
        .differences
        .iter()
        .map(|d| (d.resource.as_str(), d.property.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("Queue", "VisibilityTimeout"),
            ("Subscription", "RawMessageDelivery"),
            ("WorkerGroup", "MaxSize"),
            ("WorkerGroup", "SuspendedProcesses"),
            ("DrainOnTerminateHook", "-"),
        ]
    );
    assert_eq!(r.exit_code(), 3);
}

#[test]
fn what_could_not_be_read_is_unchecked_never_in_sync_nor_a_difference() {
    let e = env();
    let mut s = in_sync(&e);
    s.notifications = Some(Fact::Unknown(
        "reading the notification of bucket x: the answer was not whole".into(),
    ));
    s.group = Some(Fact::Unknown("describing group: InternalFailure".into()));
    let r = compare::report(&s, &e, detected());
    assert!(r.differences.is_empty(), "{:?}", r.differences);
    let what: Vec<&str> = r.unchecked.iter().map(|u| u.what.as_str()).collect();
    assert_eq!(
        what,
        [
            "qfleet-dr-data Bucket NotificationConfiguration",
            "qfleet-dr-fleet WorkerGroup"
        ]
    );
    assert_eq!(r.exit_code(), 1, "could not check: exit 1");
    let text = render_text(&r);
    assert!(
        text.contains("could not check 2 things") && !text.contains("in sync"),
        "{text}"
    );
}

#[test]
fn an_unavailable_drift_api_is_said_once_and_exits_1() {
    let e = env();
    let failed = || {
        Some(Err(AwsError::new(
            "starting drift detection: InternalFailure: boom",
        )
        .into()))
    };
    let r = compare::report(&in_sync(&e), &e, [failed(), failed()]);
    assert_eq!(r.unchecked.len(), 2);
    assert!(
        r.detection_unavailable
            .as_deref()
            .is_some_and(|w| w.contains("InternalFailure"))
    );
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn cloudformation_differences_and_missing_resources_are_reported_with_their_source() {
    let e = env();
    let mut s = in_sync(&e);
    s.policies = Some(Fact::Known(vec![]));
    let drift = PropertyDrift {
        logical_id: "Queue".into(),
        property: "/VisibilityTimeout".into(),
        expected: "60".into(),
        actual: "45".into(),
    };
    let r = compare::report(&s, &e, [Some(Ok(vec![drift])), Some(Ok(vec![]))]);
    assert_eq!(r.differences[0].source, Source::CloudFormation);
    assert!(
        r.differences
            .iter()
            .any(|d| d.resource == "BacklogPerInstancePolicy" && d.actual == "missing")
    );
    assert_eq!(r.exit_code(), 3);
}
