//! Drift as a function of a snapshot and the stack file, over hand-built snapshots (no AWS):
//! what differs, what could not be checked, and the exit code each gives.

use super::*;
use crate::aws::AwsError;
use crate::aws::BucketNotification as Notification;
use crate::aws::PropertyDrift;
use crate::aws::Queue;
use crate::aws::Subscription;
use crate::aws::{AutoScalingGroup as Group, ScalingPolicy};
use crate::render::{FINGERPRINT_PARAMETER, fingerprint};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn env() -> Environment {
    crate::config::parse(
        PathBuf::from("stacks/dr.yaml"),
        "region: eu-west-1\nlab: true\n".into(),
    )
    .unwrap()
    .into_only()
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
        leaves_test_event_out: true,
    }));
    s.notifications = Some(Fact::Known(vec![Notification {
        target_arn: topic.into(),
        events: vec!["s3:ObjectCreated:*".into()],
        prefixes: vec![env.spec.bucket.upload_prefix.clone()],
    }]));
    s.ec2_mut().group = Fact::Known(Group {
        name: "qfleet-dr-workers".into(),
        desired: env.spec.workers.min as i32,
        min: env.spec.workers.min as i32,
        max: env.spec.workers.max as i32,
        zones: vec![],
        launch_template_version: Some("1".into()),
        instances: vec![],
        suspended_processes: vec![],
        budget_hold: None,
    });
    s.ec2_mut().policies = Some(Fact::Known(vec![ScalingPolicy {
        name: "p".into(),
        policy_type: "TargetTrackingScaling".into(),
        target: Some(env.backlog_target()),
    }]));
    s.ec2_mut().hooks = Some(Fact::Known(vec!["drain-on-terminate".into()]));
    s
}

fn detected() -> [Option<crate::aws::Result<Vec<PropertyDrift>>>; 2] {
    [Some(Ok(vec![])), Some(Ok(vec![]))]
}

#[test]
fn an_environment_as_deployed_is_in_sync() {
    let e = env();
    let r = compare::report(&in_sync(&e), &e, detected());
    assert!(r.differences.is_empty() && r.unchecked.is_empty(), "{r:?}");
    assert_eq!(r.exit_code(), 0);
    assert!(text(&r).contains("dr: in sync"));
}

#[test]
fn settings_changed_behind_qfleets_back_are_differences() {
    let e = env();
    let mut s = in_sync(&e);
    if let Fact::Known(q) = &mut s.queue {
        q.attributes.insert("VisibilityTimeout".into(), "45".into());
    }
    if let Some(Fact::Known(g)) = s.group_mut() {
        g.max = 9;
        g.suspended_processes = vec!["AZRebalance".into()];
    }
    s.subscription = Some(Fact::Known(Subscription {
        arn: "arn:x".into(),
        raw_delivery: false,
        leaves_test_event_out: true,
    }));
    s.ec2_mut().hooks = Some(Fact::Known(vec![]));
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

/// A subscription without the filter that leaves S3's test event out lets it wait in the queue
/// (counted as a job by status, as data by teardown): a difference (issue 57).
#[test]
fn a_subscription_that_lets_s3_s_test_event_in_is_a_difference() {
    let e = env();
    let mut s = in_sync(&e);
    s.subscription = Some(Fact::Known(Subscription {
        arn: "arn:x".into(),
        raw_delivery: true,
        leaves_test_event_out: false,
    }));
    let r = compare::report(&s, &e, detected());
    let found: Vec<(&str, &str)> = r
        .differences
        .iter()
        .map(|d| (d.resource.as_str(), d.property.as_str()))
        .collect();
    assert_eq!(found, [("Subscription", "FilterPolicy")]);
}

/// Issue 56: each topic of `sources.topics` is checked through its subscription's attributes
/// (SNS's, by the ARN the data stack lists): in sync as deployed; a changed delivery, filter
/// or endpoint, or a removed subscription, is a difference; one that could not be read is
/// unchecked.
#[test]
fn a_topic_sources_subscription_is_checked_by_its_attributes() {
    let arn = "arn:aws:sns:eu-west-1:444455556666:orders";
    let e = crate::config::parse(
        PathBuf::from("stacks/dr.yaml"),
        format!(
            "region: eu-west-1\nlab: true\nsources:\n  topics:\n    - arn: {arn}\n      filter_policy: {{event: [order_placed]}}\n"
        ),
    )
    .unwrap()
    .into_only();
    let id = crate::render::deployed_sources(&e)[0].logical_id.clone();
    let deployed: BTreeMap<String, String> = [
        ("TopicArn", arn),
        ("Endpoint", "arn:aws:sqs:eu-west-1:1:qfleet-dr-jobs"),
        ("RawMessageDelivery", "true"),
        ("PendingConfirmation", "false"),
        ("FilterPolicy", r#"{"event":["order_placed"]}"#),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let with = |attrs: Fact<BTreeMap<String, String>>| {
        let mut s = in_sync(&e);
        s.source_subscriptions = Some(vec![(id.clone(), attrs)]);
        compare::report(&s, &e, detected())
    };
    let r = with(Fact::Known(deployed.clone()));
    assert!(r.differences.is_empty() && r.unchecked.is_empty(), "{r:?}");

    let mut changed = deployed.clone();
    changed.insert("RawMessageDelivery".into(), "false".into());
    changed.insert("FilterPolicy".into(), r#"{"event":["refunded"]}"#.into());
    changed.insert("Endpoint".into(), "arn:aws:sqs:eu-west-1:1:other".into());
    let r = with(Fact::Known(changed));
    let found: Vec<(&str, &str)> = r
        .differences
        .iter()
        .map(|d| (d.resource.as_str(), d.property.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (id.as_str(), "RawMessageDelivery"),
            (id.as_str(), "Endpoint"),
            (id.as_str(), "FilterPolicy"),
        ]
    );
    let r = with(Fact::Absent);
    assert_eq!(r.differences.len(), 1);
    assert_eq!(r.differences[0].actual, "missing");
    let r = with(Fact::Unknown(
        "reading a topic's subscription: throttled".into(),
    ));
    assert!(r.differences.is_empty(), "{:?}", r.differences);
    assert_eq!(r.unchecked.len(), 1, "{:?}", r.unchecked);
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn what_could_not_be_read_is_unchecked_never_in_sync_nor_a_difference() {
    let e = env();
    let mut s = in_sync(&e);
    s.notifications = Some(Fact::Unknown(
        "reading the notification of bucket x: the answer was not whole".into(),
    ));
    s.ec2_mut().group = Fact::Unknown("describing group: InternalFailure".into());
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
    let text = text(&r);
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
        )))
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
    s.ec2_mut().policies = Some(Fact::Known(vec![]));
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

/// A Lambda environment: the function and its queue mapping against the stack file.
mod lambda {
    use super::*;
    use crate::aws::{EventSourceMapping as Mapping, Function};

    fn env() -> Environment {
        crate::config::parse(
            PathBuf::from("stacks/dr.yaml"),
            "region: eu-west-1\nlab: true\nqueue: {visibility_timeout: 2m}\nworkers:\n  kind: lambda\n  lambda:\n    timeout: 20s\n    batch_size: 10\n    batching_window: 2s\n    max_concurrency: 5\n".into(),
        )
        .unwrap()
        .into_only()
    }

    /// The environment exactly as its stack file deploys it: the data stack as in the EC2
    /// case, the fleet stack a function (256 MB, 20 s, nothing reserved) and its mapping.
    fn in_sync(env: &Environment) -> Snapshot {
        let mut s = super::in_sync(env).serverless();
        s.lambda_mut().function = Fact::Known(Function::for_tests("qfleet-dr-worker", 256, 20));
        s.lambda_mut().mapping = Fact::Known(Mapping::for_tests("qfleet-dr-jobs", 10, 2, 5));
        s
    }

    fn found(r: &DriftReport) -> Vec<(&str, &str, &str, &str)> {
        r.differences
            .iter()
            .map(|d| {
                (
                    d.resource.as_str(),
                    d.property.as_str(),
                    d.expected.as_str(),
                    d.actual.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn a_function_environment_as_deployed_is_in_sync() {
        let e = env();
        let r = compare::report(&in_sync(&e), &e, detected());
        assert!(r.differences.is_empty() && r.unchecked.is_empty(), "{r:?}");
        assert_eq!(r.exit_code(), 0);
        assert!(text(&r).contains("dr: in sync"));
    }

    #[test]
    fn each_function_and_mapping_setting_changed_behind_qfleets_back_is_a_difference() {
        let e = env();
        let mut s = in_sync(&e);
        if let Some(Fact::Known(f)) = s.function_mut() {
            f.timeout_seconds = 60;
            f.memory_mb = 1024;
            f.reserved_concurrency = Some(2);
        }
        if let Some(Fact::Known(m)) = s.mapping_mut() {
            m.state = "Disabled".into();
            m.event_source_arn = Some("arn:aws:sqs:eu-west-1:1:someone-elses-queue".into());
            m.batch_size = Some(1);
            m.batching_window_seconds = Some(0);
            m.maximum_concurrency = None;
            m.function_response_types = vec![];
        }
        let r = compare::report(&s, &e, detected());
        assert_eq!(
            found(&r),
            [
                ("WorkerFunction", "Timeout", "20", "60"),
                ("WorkerFunction", "MemorySize", "256", "1024"),
                (
                    "WorkerFunction",
                    "ReservedConcurrentExecutions",
                    "none",
                    "2"
                ),
                ("QueueMapping", "State", "Enabled", "Disabled"),
                (
                    "QueueMapping",
                    "EventSourceArn",
                    "…:qfleet-dr-jobs",
                    "arn:aws:sqs:eu-west-1:1:someone-elses-queue"
                ),
                ("QueueMapping", "BatchSize", "10", "1"),
                ("QueueMapping", "MaximumBatchingWindowInSeconds", "2", "0"),
                (
                    "QueueMapping",
                    "ScalingConfig.MaximumConcurrency",
                    "5",
                    "not set"
                ),
                (
                    "QueueMapping",
                    "FunctionResponseTypes",
                    "ReportBatchItemFailures",
                    "none"
                ),
            ]
        );
        assert!(r.unchecked.is_empty(), "{:?}", r.unchecked);
        assert_eq!(r.exit_code(), 3);
        assert!(text(&r).contains("9 differences"));
    }

    #[test]
    fn reserved_concurrency_the_stack_file_asks_for_and_aws_lacks_is_a_difference() {
        let e = crate::config::parse(
            PathBuf::from("stacks/dr.yaml"),
            "region: eu-west-1\nlab: true\nqueue: {visibility_timeout: 2m}\nworkers:\n  kind: lambda\n  lambda: {timeout: 20s, batching_window: 2s, reserved_concurrency: 8}\n".into(),
        )
        .unwrap()
        .into_only();
        let r = compare::report(&in_sync(&e), &e, detected());
        assert_eq!(
            found(&r),
            [(
                "WorkerFunction",
                "ReservedConcurrentExecutions",
                "8",
                "none"
            )]
        );
    }

    /// Lambda Managed Instances: the function on a capacity provider exactly when the file
    /// says `workers.lambda.managed_instances`; off it, or on one unasked, is a difference.
    #[test]
    fn a_function_off_its_capacity_provider_or_on_one_unasked_is_a_difference() {
        let e = crate::config::parse(
            PathBuf::from("stacks/dr.yaml"),
            "region: eu-west-1\nlab: true\nqueue: {visibility_timeout: 2m}\nworkers:\n  kind: lambda\n  network: {vpc: vpc-0a1b2c3d4e5f67890, subnets: {eu-west-1a: subnet-0a1b2c3d4e5f67890, eu-west-1b: subnet-1a1b2c3d4e5f67890}}\n  lambda: {timeout: 20s, batching_window: 2s, runtime: python3.13, memory_mb: 2048, managed_instances: {}}\n".into(),
        )
        .unwrap()
        .into_only();
        let arn = "arn:aws:lambda:eu-west-1:1:capacity-provider:qfleet-dr-capacity-0a1b2c3d";
        let mut s = in_sync(&e);
        if let Some(Fact::Known(f)) = s.function_mut() {
            f.memory_mb = 2048;
        }
        let r = compare::report(&s, &e, detected());
        assert_eq!(
            found(&r),
            [(
                "WorkerFunction",
                "CapacityProviderConfig",
                "a capacity provider (Lambda Managed Instances)",
                "none (Lambda's default compute)"
            )]
        );
        if let Some(Fact::Known(f)) = s.function_mut() {
            f.capacity_provider = Some(arn.into());
        }
        assert!(compare::report(&s, &e, detected()).differences.is_empty());
        // The default file's function, found on a capacity provider.
        let plain = env();
        let mut s = in_sync(&plain);
        if let Some(Fact::Known(f)) = s.function_mut() {
            f.capacity_provider = Some(arn.into());
        }
        assert_eq!(
            found(&compare::report(&s, &plain, detected())),
            [(
                "WorkerFunction",
                "CapacityProviderConfig",
                "none (Lambda's default compute)",
                arn
            )]
        );
    }

    /// A priority lane (`queue.priority`): its own mapping, checked as the queue's, at its own
    /// maximum concurrency; one the fleet stack lacks is missing, never in sync.
    #[test]
    fn the_priority_lanes_mapping_is_checked_as_the_queues() {
        let e = crate::config::parse(
            PathBuf::from("stacks/dr.yaml"),
            "region: eu-west-1\nlab: true\nqueue: {visibility_timeout: 2m, priority: {max_concurrency: 3}}\nworkers:\n  kind: lambda\n  lambda: {timeout: 20s, batching_window: 2s}\n".into(),
        )
        .unwrap()
        .into_only();
        let mut s = in_sync(&e);
        s.lambda_mut().priority_mapping = Some(Fact::Known(Mapping::for_tests(
            "qfleet-dr-priority",
            10,
            2,
            3,
        )));
        let r = compare::report(&s, &e, detected());
        assert!(r.differences.is_empty() && r.unchecked.is_empty(), "{r:?}");
        if let Some(Fact::Known(m)) = s.lambda_mut().priority_mapping.as_mut() {
            m.state = "Disabled".into();
            m.maximum_concurrency = Some(5);
        }
        let r = compare::report(&s, &e, detected());
        assert_eq!(
            found(&r),
            [
                ("PriorityQueueMapping", "State", "Enabled", "Disabled"),
                (
                    "PriorityQueueMapping",
                    "ScalingConfig.MaximumConcurrency",
                    "3",
                    "5"
                ),
            ]
        );
        s.lambda_mut().priority_mapping = Some(Fact::Absent);
        let r = compare::report(&s, &e, detected());
        assert_eq!(
            found(&r),
            [(
                "PriorityQueueMapping",
                "-",
                "mapping from the priority lane",
                "missing"
            )]
        );
    }

    #[test]
    fn provisioned_pollers_are_checked_instead_of_the_maximum_concurrency() {
        let e = crate::config::parse(
            PathBuf::from("stacks/dr.yaml"),
            "region: eu-west-1\nlab: true\nqueue: {visibility_timeout: 2m}\nworkers:\n  kind: lambda\n  lambda: {timeout: 20s, batching_window: 2s, provisioned_pollers: {minimum: 2, maximum: 20}}\n".into(),
        )
        .unwrap()
        .into_only();
        let mut s = in_sync(&e);
        if let Some(Fact::Known(m)) = s.mapping_mut() {
            m.maximum_concurrency = None;
            m.pollers = Some((Some(2), Some(20)));
        }
        let r = compare::report(&s, &e, detected());
        assert!(r.differences.is_empty(), "{r:?}");
        if let Some(Fact::Known(m)) = s.mapping_mut() {
            m.pollers = Some((Some(4), Some(20)));
        }
        let r = compare::report(&s, &e, detected());
        assert_eq!(
            found(&r),
            [(
                "QueueMapping",
                "ProvisionedPollerConfig.MinimumPollers",
                "2",
                "4"
            )]
        );
        // Switched to standard mode behind qfleet's back.
        if let Some(Fact::Known(m)) = s.mapping_mut() {
            m.pollers = None;
            m.maximum_concurrency = Some(5);
        }
        let r = compare::report(&s, &e, detected());
        assert_eq!(r.differences.len(), 2, "{r:?}");
        // A standard-mode stack file, a mapping in provisioned mode.
        let e = env();
        let mut s = in_sync(&e);
        if let Some(Fact::Known(m)) = s.mapping_mut() {
            m.pollers = Some((Some(2), Some(20)));
        }
        let r = compare::report(&s, &e, detected());
        assert_eq!(
            found(&r),
            [(
                "QueueMapping",
                "ProvisionedPollerConfig",
                "not set (standard mode)",
                "set (provisioned mode)"
            )]
        );
    }

    #[test]
    fn an_unreadable_function_is_not_checked_and_its_mapping_still_is() {
        let e = env();
        let mut s = in_sync(&e);
        s.lambda_mut().function = Fact::Unknown(
            "reading function qfleet-dr-worker: access denied: not authorized to perform: lambda:GetFunction".into(),
        );
        if let Some(Fact::Known(m)) = s.mapping_mut() {
            m.batch_size = Some(1);
        }
        let r = compare::report(&s, &e, detected());
        assert_eq!(found(&r), [("QueueMapping", "BatchSize", "10", "1")]);
        let what: Vec<&str> = r.unchecked.iter().map(|u| u.what.as_str()).collect();
        assert_eq!(what, ["qfleet-dr-fleet WorkerFunction"]);
        assert!(r.unchecked[0].reason.contains("lambda:GetFunction"));
        assert_eq!(r.exit_code(), 1, "could not check outranks drifted");
        let text = text(&r);
        assert!(text.contains("could not check 1 thing"), "{text}");
        assert!(!text.contains("in sync"), "{text}");
    }

    #[test]
    fn an_unreadable_mapping_is_not_checked_never_in_sync() {
        let e = env();
        let mut s = in_sync(&e);
        s.lambda_mut().mapping = Fact::Unknown(
            "reading event source mapping a1b2: the answer could not be read (HTTP 200 with an HTML page)".into(),
        );
        let r = compare::report(&s, &e, detected());
        assert!(r.differences.is_empty(), "{:?}", r.differences);
        assert_eq!(r.unchecked[0].what, "qfleet-dr-fleet QueueMapping");
        assert_eq!(r.exit_code(), 1);
    }

    #[test]
    fn a_mapping_still_updating_is_not_checked_for_its_state() {
        let e = env();
        let mut s = in_sync(&e);
        if let Some(Fact::Known(m)) = s.mapping_mut() {
            m.state = "Updating".into();
        }
        let r = compare::report(&s, &e, detected());
        assert!(r.differences.is_empty(), "{:?}", r.differences);
        assert_eq!(r.unchecked[0].what, "qfleet-dr-fleet QueueMapping State");
        assert_eq!(r.exit_code(), 1);
    }

    #[test]
    fn a_missing_function_and_mapping_are_differences() {
        let e = env();
        let mut s = in_sync(&e);
        s.lambda_mut().function = Fact::Absent;
        s.lambda_mut().mapping = Fact::Absent;
        let r = compare::report(&s, &e, detected());
        assert_eq!(
            found(&r),
            [
                ("WorkerFunction", "-", "exists", "missing"),
                ("QueueMapping", "-", "mapping from the queue", "missing"),
            ]
        );
        assert_eq!(r.exit_code(), 3);
    }

    #[test]
    fn a_function_environment_is_not_checked_for_a_group() {
        let e = env();
        let mut s = in_sync(&e);
        // A group read while the fleet stack still held one does not count for a function.
        s.ec2_mut().group = Fact::Unknown("describing group: InternalFailure".into());
        let r = compare::report(&s, &e, detected());
        assert!(r.differences.is_empty() && r.unchecked.is_empty(), "{r:?}");
    }

    /// An image function whose code was changed outside CloudFormation (UpdateFunctionCode
    /// with another image) is a difference in Code.ImageUri; the image it was given is in sync.
    #[test]
    fn an_image_function_given_another_image_behind_qfleets_back_is_a_difference() {
        let image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/w@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let e = crate::config::parse(
            PathBuf::from("stacks/dr.yaml"),
            format!("region: eu-west-1\nlab: true\nqueue: {{visibility_timeout: 2m}}\nworkers:\n  kind: lambda\n  lambda:\n    image: {image}\n    timeout: 20s\n    batching_window: 2s\n"),
        )
        .unwrap()
        .into_only();
        let mut s = in_sync(&e);
        if let Some(Fact::Known(f)) = s.function_mut() {
            f.name = "qfleet-dr-worker-image".into();
            f.runtime = None;
            f.image_uri = Some(image.into());
        }
        let r = compare::report(&s, &e, detected());
        assert!(r.differences.is_empty(), "{:?}", found(&r));
        if let Some(Fact::Known(f)) = s.function_mut() {
            f.image_uri = Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com/w:hotfix".into());
        }
        let r = compare::report(&s, &e, detected());
        assert_eq!(
            found(&r),
            [(
                "WorkerImageFunction",
                "Code.ImageUri",
                image,
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/w:hotfix"
            )]
        );
    }
}

/// A pipeline's later stages: their own queues, their feed, their fleet stack.
mod pipeline {
    use super::*;
    use crate::config::Feed;

    fn pipeline() -> Environment {
        crate::config::parse(
            PathBuf::from("stacks/dr.yaml"),
            "region: eu-west-1\nlab: true\nstages:\n  - name: parse\n  - name: thumbs\n    prefix: parsed/\n    queue: {visibility_timeout: 90}\n  - name: index\n    fed_by: messages\n"
                .into(),
        )
        .unwrap()
        .into_only()
    }

    /// A later stage exactly as deployed: its queues (with their ARN), the bucket's event to
    /// its queue when it is fed by objects, its own fleet stack.
    fn stage_in_sync(stage: &Environment, first: &Snapshot) -> Snapshot {
        let mut s = in_sync(stage);
        let fleet = stage.fleet_stack_name();
        s.fleet.name = fleet.clone();
        if let Fact::Known(st) = &mut s.fleet.state {
            st.name = fleet;
        }
        let queue = crate::render::ResourceNames::of(stage).queue;
        let arn = format!("arn:aws:sqs:eu-west-1:1:{queue}");
        if let Fact::Known(q) = &mut s.queue {
            q.attributes.insert("QueueArn".into(), arn.clone());
        }
        s.subscription = Some(Fact::Absent);
        let mut notifications = match &first.notifications {
            Some(Fact::Known(n)) => n.clone(),
            _ => vec![],
        };
        if stage.stage.as_ref().and_then(|s| s.feed) == Some(Feed::Objects) {
            // The stage's own topic, the queue's subscription to it.
            let topic = format!("arn:aws:sns:eu-west-1:1:qfleet-dr-data-{queue}-topic");
            s.topic = Fact::Known(topic.clone());
            s.subscription = Some(Fact::Known(Subscription {
                arn: format!("{topic}:1"),
                raw_delivery: true,
                leaves_test_event_out: true,
            }));
            notifications.push(Notification {
                target_arn: topic,
                events: vec!["s3:ObjectCreated:*".into()],
                prefixes: vec![stage.spec.bucket.upload_prefix.clone()],
            });
        }
        s.notifications = Some(Fact::Known(notifications));
        s
    }

    fn report(snaps: &[Snapshot], env: &Environment) -> DriftReport {
        let stages = env.stages();
        let mut r = compare::report(&snaps[0], stages[0], detected());
        for (snap, stage) in snaps.iter().zip(&stages).skip(1) {
            compare::later_stage(&mut r, snap, stage, Some(Ok(vec![])));
        }
        r
    }

    fn in_sync_pipeline(env: &Environment) -> Vec<Snapshot> {
        let stages = env.stages();
        let first = in_sync(stages[0]);
        let mut snaps = vec![first.clone()];
        snaps.extend(stages.iter().skip(1).map(|s| stage_in_sync(s, &first)));
        snaps
    }

    #[test]
    fn a_pipeline_as_deployed_is_in_sync() {
        let e = pipeline();
        let r = report(&in_sync_pipeline(&e), &e);
        assert!(r.differences.is_empty() && r.unchecked.is_empty(), "{r:?}");
        assert_eq!(r.exit_code(), 0);
    }

    #[test]
    fn a_later_stage_s_changed_queue_and_lost_feed_are_differences_named_after_the_stage() {
        let e = pipeline();
        let mut snaps = in_sync_pipeline(&e);
        if let Fact::Known(q) = &mut snaps[1].queue {
            q.attributes.insert("VisibilityTimeout".into(), "30".into());
        }
        // The bucket's event for parsed/ now goes nowhere: the stage would starve.
        snaps[1].notifications = snaps[0].notifications.clone();
        if let Some(Fact::Known(g)) = snaps[2].group_mut() {
            g.min = 3;
        }
        let r = report(&snaps, &e);
        let found: Vec<(&str, &str, &str)> = r
            .differences
            .iter()
            .map(|d| (d.stack.as_str(), d.resource.as_str(), d.property.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("qfleet-dr-data", "StageThumbsQueue", "VisibilityTimeout"),
                ("qfleet-dr-data", "Bucket", "NotificationConfiguration"),
                ("qfleet-dr--index-fleet", "WorkerGroup", "MinSize"),
            ]
        );
        let feed = &r.differences[1];
        assert!(
            feed.expected.contains("parsed/") && feed.expected.contains("-topic"),
            "{feed:?}"
        );
        assert_eq!(r.exit_code(), 3);
    }

    #[test]
    fn a_later_stage_s_feed_that_cannot_be_read_is_unchecked_never_in_sync() {
        let e = pipeline();
        let mut snaps = in_sync_pipeline(&e);
        snaps[1].notifications = Some(Fact::Unknown("throttled".into()));
        let r = report(&snaps, &e);
        assert!(r.differences.is_empty(), "{r:?}");
        assert_eq!(r.unchecked.len(), 1, "{r:?}");
        assert!(r.unchecked[0].reason.contains("throttled"));
        assert_eq!(r.exit_code(), 1);

        let mut snaps = in_sync_pipeline(&e);
        snaps[2].fleet.state = Fact::Unknown("throttled".into());
        let r = report(&snaps, &e);
        assert!(
            r.unchecked
                .iter()
                .any(|u| u.what == "stack qfleet-dr--index-fleet"),
            "{r:?}"
        );
        assert_eq!(r.exit_code(), 1);
    }

    #[test]
    fn a_missing_later_stage_fleet_is_a_difference_and_its_detection_failure_is_said() {
        let e = pipeline();
        let mut snaps = in_sync_pipeline(&e);
        snaps[1].fleet.state = Fact::Absent;
        let stages = e.stages();
        let mut r = compare::report(&snaps[0], stages[0], detected());
        compare::later_stage(&mut r, &snaps[1], stages[1], None);
        compare::later_stage(
            &mut r,
            &snaps[2],
            stages[2],
            Some(Err(AwsError::new("drift detection is not available"))),
        );
        assert!(
            r.differences
                .iter()
                .any(|d| d.stack == "qfleet-dr--thumbs-fleet" && d.actual == "stack does not exist"),
            "{r:?}"
        );
        assert_eq!(
            r.detection_unavailable.as_deref(),
            Some("drift detection is not available")
        );
        assert_eq!(r.exit_code(), 1);
    }
}

/// `jobs:` (issue 37): the job table's settings as the data template declares them, and the
/// response queue's encryption.
#[test]
fn the_job_tables_settings_and_the_response_queue_are_checked() {
    use crate::jobs::table::Settings;
    let e = crate::config::parse(
        PathBuf::from("stacks/dr.yaml"),
        "region: eu-west-1\nlab: true\njobs: {}\n".into(),
    )
    .unwrap()
    .into_only();
    let table = |settings: Fact<Settings>| {
        Some(Fact::Known(crate::snapshot::JobTable {
            name: "qfleet-dr-data-JobTable-1A2B".into(),
            settings: Some(settings),
            holds_records: None,
            recent: None,
        }))
    };
    let declared = Settings {
        status: "ACTIVE".into(),
        billing_mode: Some("PAY_PER_REQUEST".into()),
        sse_type: None,
        kms_key: None,
        indexes: vec!["recent".into()],
        time_to_live: "ENABLED".into(),
        time_to_live_attribute: Some("expires_at".into()),
        point_in_time_recovery: "DISABLED".into(),
    };
    let mut s = in_sync(&e);
    s.job_table = table(Fact::Known(declared.clone()));
    s.response_queue = Some(Fact::Known(Queue::for_tests(
        "qfleet-dr-responses",
        0,
        &[("SqsManagedSseEnabled", "true")],
    )));
    let r = compare::report(&s, &e, detected());
    assert!(r.differences.is_empty() && r.unchecked.is_empty(), "{r:?}");

    // Time to live turned off and the queue's encryption removed behind qfleet's back.
    let mut changed = declared.clone();
    changed.time_to_live = "DISABLED".into();
    s.job_table = table(Fact::Known(changed));
    s.response_queue = Some(Fact::Known(Queue::for_tests("qfleet-dr-responses", 0, &[])));
    let r = compare::report(&s, &e, detected());
    let props: Vec<&str> = r.differences.iter().map(|d| d.property.as_str()).collect();
    assert_eq!(props, ["TimeToLiveSpecification", "encryption"], "{r:?}");
    assert_eq!(r.exit_code(), 3);

    // Settings that could not be read are unchecked, never in sync.
    s.job_table = table(Fact::Unknown("AccessDenied".into()));
    let r = compare::report(&s, &e, detected());
    assert!(
        r.unchecked.iter().any(|u| u.reason == "AccessDenied"),
        "{r:?}"
    );
    assert_ne!(r.exit_code(), 0);
}

/// A StackSets target's stacks are its stack sets' instances: what it should run is its stack
/// set's template (what StackSets gives every instance), not the target's own rendering, and
/// a changed one is named as the stack is there.
#[test]
fn a_stack_sets_targets_undeployed_changes_are_against_its_stack_sets_templates() {
    use crate::aws::StackInstance as Instance;
    use crate::placement::StackSetTarget;
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/stack-sets.yaml");
    let file = crate::config::load(&p).unwrap();
    let env = file.targets[0].clone();
    let sets = crate::render::stack_sets_of(&file).unwrap();
    let data_set = sets
        .iter()
        .find(|s| s.stack_name == "qfleet-fleetsets-data")
        .unwrap();
    let instance = |stack: &str| Instance {
        organizational_unit: None,
        account: "111122223333".into(),
        region: "eu-west-1".into(),
        status: "CURRENT".into(),
        detailed: None,
        reason: None,
        stack_id: Some(format!(
            "arn:aws:cloudformation:eu-west-1:111122223333:stack/{stack}/guid"
        )),
    };
    let at = StackNames {
        stack_set: Some(StackSetTarget {
            admin: crate::aws::mock::Rules::default().clients(),
            file: "fleetsets".into(),
            owner: None,
            account: "111122223333".into(),
            organizational_unit: None,
            call_as: Default::default(),
            region: "eu-west-1".into(),
            instances: [
                (
                    env.data_stack_name(),
                    (
                        "qfleet-fleetsets-data".to_string(),
                        Some(instance("StackSet-d")),
                    ),
                ),
                (
                    env.fleet_stack_name(),
                    (
                        "qfleet-fleetsets-fleet".to_string(),
                        Some(instance("StackSet-f")),
                    ),
                ),
            ]
            .into(),
        }),
    };
    let mut snap = Snapshot::deployed("fleetsets-eu1");
    for (stack, name, fp) in [
        (
            &mut snap.data,
            "StackSet-d",
            fingerprint(&data_set.template),
        ),
        (
            &mut snap.fleet,
            "StackSet-f",
            "an older template".to_string(),
        ),
    ] {
        let mut state = crate::aws::StackState::new(
            name,
            aws_sdk_cloudformation::types::StackStatus::UpdateComplete,
        );
        state.parameters.insert(FINGERPRINT_PARAMETER.into(), fp);
        stack.name = name.into();
        stack.state = Fact::Known(state);
    }
    assert_eq!(undeployed(&[snap], &env, &at).unwrap(), ["StackSet-f"]);
}
