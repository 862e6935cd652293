//! The snapshot of a Lambda environment against SDK-level mocks (and, for Lambda's three reads,
//! a fake connection) that answer as AWS documents:
//! the function and its mapping found through the fleet stack's list, or by the function's
//! fixed name; the group not read; the function's metrics in the same GetMetricData call.
//! Test names say `mocked`.

use super::*;
use crate::aws::fake::{Fake, Reply};
use crate::aws::{
    mock::Rules, mock::describe_stacks, mock::list_resources, mock::queue_attributes,
    mock::resource,
};
use aws_sdk_cloudformation::types::{ResourceStatus, StackStatus};
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::MetricDataResult;
use aws_smithy_mocks::{Rule, mock};
use serde_json::json;
use std::path::PathBuf;

const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-sn-jobs";
const DLQ: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-sn-dlq";
const UUID: &str = "a1b2c3d4-5678-90ab-cdef-11111EXAMPLE";

fn env(kind: &str) -> Environment {
    crate::config::parse(
        PathBuf::from("stacks/sn.yaml"),
        format!("region: eu-west-1\nworkers: {{kind: {kind}}}\n"),
    )
    .unwrap()
    .into_only()
}

fn live(
    logical: &str,
    physical: &str,
    ty: &str,
) -> aws_sdk_cloudformation::types::StackResourceSummary {
    resource(logical, physical, ty, ResourceStatus::CreateComplete)
}

fn data_resources() -> Vec<aws_sdk_cloudformation::types::StackResourceSummary> {
    vec![
        live("Queue", QUEUE, "AWS::SQS::Queue"),
        live("DeadLetterQueue", DLQ, "AWS::SQS::Queue"),
        live(
            "Bucket",
            "sn-uploads-111122223333-eu-west-1",
            "AWS::S3::Bucket",
        ),
    ]
}

fn both_stacks_up() -> Rule {
    describe_stacks(vec![
        ("qfleet-sn-data", Some((StackStatus::CreateComplete, false))),
        (
            "qfleet-sn-fleet",
            Some((StackStatus::CreateComplete, false)),
        ),
    ])
}

fn queues() -> Rule {
    mock!(aws_sdk_sqs::Client::get_queue_attributes)
        .then_compute_output(|_| queue_attributes(12, 0, 0, &[]))
}

/// Lambda's REST paths (the API reference's GetFunction, GetEventSourceMapping and
/// ListEventSourceMappings).
const FUNCTION_PATH: &str = "/2015-03-31/functions/qfleet-sn-worker";
const MAPPINGS_OF_FUNCTION: &str =
    "/2015-03-31/event-source-mappings/?FunctionName=qfleet-sn-worker";

fn ok(doc: serde_json::Value) -> Reply {
    (200, Vec::new(), doc.to_string())
}

/// GetFunction's answer for the worker function.
fn the_function() -> Reply {
    ok(json!({"Configuration": {
        "FunctionName": "qfleet-sn-worker", "MemorySize": 256, "Timeout": 10,
    }}))
}

/// Lambda's answer for a function that does not exist: its type in `X-Amzn-ErrorType`.
fn not_found() -> Reply {
    (
        404,
        vec![("x-amzn-errortype", "ResourceNotFoundException".to_string())],
        json!({"Type": "User", "message": "Function not found: arn:aws:lambda:eu-west-1:111122223333:function:qfleet-sn-worker"}).to_string(),
    )
}

/// Calls whose path (with its query) ends with `path`.
fn calls_to(fake: &Fake, path: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.uri.ends_with(path))
        .count()
}

#[tokio::test]
async fn mocked_a_function_environment_reads_what_the_fleet_stack_lists_and_never_the_group() {
    let stacks = both_stacks_up();
    let res = list_resources(vec![
        ("qfleet-sn-data", data_resources()),
        (
            "qfleet-sn-fleet",
            vec![
                live(
                    "WorkerFunction",
                    "qfleet-sn-worker",
                    "AWS::Lambda::Function",
                ),
                live("QueueMapping", UUID, "AWS::Lambda::EventSourceMapping"),
            ],
        ),
    ]);
    let sqs = queues();
    let lambda = Fake::with_headers(|r| {
        if r.uri.ends_with(FUNCTION_PATH) {
            the_function()
        } else if r
            .uri
            .ends_with(&format!("/2015-03-31/event-source-mappings/{UUID}"))
        {
            ok(json!({
                "UUID": UUID, "State": "Enabled",
                "EventSourceArn": "arn:aws:sqs:eu-west-1:111122223333:qfleet-sn-jobs",
                "BatchSize": 10, "MaximumBatchingWindowInSeconds": 0,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "ScalingConfig": {"MaximumConcurrency": 5},
            }))
        } else {
            not_found()
        }
    });
    let groups = crate::aws::mock::no_group();
    let alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
        aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder().build()
    });
    // One GetMetricData call: the function's three metrics beside the queue's, no group's.
    let metrics = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|r| {
            let ids: Vec<&str> = r
                .metric_data_queries()
                .iter()
                .filter_map(|q| q.id())
                .collect();
            ids.contains(&"fnerrors")
                && ids.contains(&"fnthrottles")
                && ids.contains(&"fnconcurrency")
                && !ids.contains(&"inservice")
        })
        .then_output(|| {
            let r = |id: &str, v: &[f64]| {
                MetricDataResult::builder()
                    .id(id)
                    .set_values(Some(v.to_vec()))
                    .build()
            };
            GetMetricDataOutput::builder()
                .metric_data_results(r("oldest", &[42.0, 30.0]))
                .metric_data_results(r("fnerrors", &[1.0, 2.0, 0.0]))
                .metric_data_results(r("fnconcurrency", &[2.0, 4.0, 1.0]))
                .metric_data_results(r("fnthrottles", &[]))
                .build()
        });
    let clients = Rules {
        cfn: vec![&stacks, &res],
        sqs: vec![&sqs],
        lambda: Some(lambda),
        autoscaling: Some(groups.clone()),
        cloudwatch: vec![&alarms, &metrics],
        ..Default::default()
    }
    .clients();
    let snap = read(&clients, &env("lambda"), Scope::STATUS).await;
    let f = snap
        .function()
        .and_then(|f| f.known())
        .expect("the function");
    assert_eq!((f.memory_mb, f.timeout_seconds), (256, 10));
    let m = snap.mapping().and_then(|m| m.known()).expect("the mapping");
    assert_eq!((m.uuid.as_str(), m.maximum_concurrency), (UUID, Some(5)));
    assert!(snap.group().is_none() && snap.policies().is_none() && snap.activities().is_none());
    assert!(groups.requests().is_empty(), "the group is not read");
    let metrics = snap
        .metrics
        .as_ref()
        .and_then(|m| m.known())
        .expect("the metrics");
    assert_eq!(
        metrics.oldest_message_age_seconds,
        Some(42.0),
        "the newest value"
    );
    assert_eq!(metrics.function_errors, Some(3.0), "summed over the window");
    assert_eq!(metrics.function_concurrency_peak, Some(4.0), "the peak");
    assert_eq!(metrics.function_throttles, None, "no data is None, not 0");
}

#[tokio::test]
async fn mocked_a_function_the_fleet_stack_does_not_list_is_absent_only_when_lambda_says_so() {
    let stacks = both_stacks_up();
    // The fleet stack's list names neither the function nor the mapping.
    let res = list_resources(vec![("qfleet-sn-data", data_resources())]);
    let sqs = queues();
    let lambda = Fake::with_headers(|_| not_found());
    let clients = Rules {
        cfn: vec![&stacks, &res],
        sqs: vec![&sqs],
        lambda: Some(lambda.clone()),
        ..Default::default()
    }
    .clients();
    let scope = Scope {
        scaling: true,
        ..Scope::default()
    };
    let snap = read(&clients, &env("lambda"), scope).await;
    assert_eq!(snap.function(), Some(&Fact::Absent));
    assert_eq!(snap.mapping(), Some(&Fact::Absent));
    assert_eq!(
        (
            calls_to(&lambda, FUNCTION_PATH),
            calls_to(&lambda, MAPPINGS_OF_FUNCTION)
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn mocked_a_fleet_stack_that_cannot_be_read_leaves_the_function_unknown_not_absent() {
    let stacks =
        mock!(aws_sdk_cloudformation::Client::describe_stacks).then_compute_response(|r| {
            use aws_sdk_cloudformation::operation::describe_stacks::{
                DescribeStacksError, DescribeStacksOutput,
            };
            if r.stack_name() == Some("qfleet-sn-fleet") {
                aws_smithy_mocks::MockResponse::Error(DescribeStacksError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("InternalFailure")
                        .message("boom")
                        .build(),
                ))
            } else {
                aws_smithy_mocks::MockResponse::Output(
                    DescribeStacksOutput::builder()
                        .stacks(crate::aws::mock::stack(
                            "qfleet-sn-data",
                            StackStatus::CreateComplete,
                            false,
                        ))
                        .build(),
                )
            }
        });
    let res = list_resources(vec![("qfleet-sn-data", data_resources())]);
    let sqs = queues();
    let clients = Rules {
        cfn: vec![&stacks, &res],
        sqs: vec![&sqs],
        ..Default::default()
    }
    .clients();
    let scope = Scope {
        scaling: true,
        ..Scope::default()
    };
    let snap = read(&clients, &env("lambda"), scope).await;
    for part in [
        snap.function().and_then(|f| f.unknown()),
        snap.mapping().and_then(|m| m.unknown()),
    ] {
        assert!(
            part.is_some_and(|why| why.contains("InternalFailure")),
            "{part:?}"
        );
    }
    assert!(
        snap.group().is_none(),
        "a function environment: no group expected"
    );
}

#[tokio::test]
async fn mocked_an_ec2_environment_whose_fleet_stack_still_holds_a_function_reads_both() {
    let stacks = both_stacks_up();
    let res = list_resources(vec![
        ("qfleet-sn-data", data_resources()),
        (
            "qfleet-sn-fleet",
            vec![
                live(
                    "WorkerFunction",
                    "qfleet-sn-worker",
                    "AWS::Lambda::Function",
                ),
                live(
                    "WorkerGroup",
                    "qfleet-sn-workers",
                    "AWS::AutoScaling::AutoScalingGroup",
                ),
            ],
        ),
    ]);
    let sqs = queues();
    let lambda = Fake::with_headers(|r| {
        if r.uri.ends_with(FUNCTION_PATH) {
            the_function()
        } else if r.uri.ends_with(MAPPINGS_OF_FUNCTION) {
            ok(json!({"EventSourceMappings": []}))
        } else {
            not_found()
        }
    });
    use crate::aws::mock::query_answer;
    let groups = crate::aws::fake::Fake::by_action(&[
        (
            "DescribeAutoScalingGroups",
            &query_answer("DescribeAutoScalingGroups", "<AutoScalingGroups/>"),
        ),
        ("DescribePolicies", &query_answer("DescribePolicies", "")),
    ]);
    let clients = Rules {
        cfn: vec![&stacks, &res],
        sqs: vec![&sqs],
        lambda: Some(lambda),
        autoscaling: Some(groups),
        ..Default::default()
    }
    .clients();
    let scope = Scope {
        scaling: true,
        ..Scope::default()
    };
    let snap = read(&clients, &env("ec2"), scope).await;
    assert_eq!(
        snap.group(),
        Some(&Fact::Absent),
        "Auto Scaling lists no such group"
    );
    assert!(snap.function().and_then(|f| f.known()).is_some());
    assert_eq!(
        snap.mapping(),
        Some(&Fact::Absent),
        "no mapping from the queue"
    );
}
