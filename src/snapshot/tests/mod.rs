//! The snapshot reader against SDK-level mocks that answer as AWS documents: a resource list
//! that leaves out a declared resource, an empty or partial queue answer, a stack that cannot
//! be read. Test names say `mocked`.

use super::*;
use crate::aws::{
    mock::Rules, mock::describe_stacks, mock::list_resources, mock::queue_attributes,
    mock::resource,
};
use aws_sdk_cloudformation::types::{ResourceStatus, StackStatus};
use aws_sdk_sqs::Client as Sqs;
use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput;
use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlOutput;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_mocks::mock;
use std::path::PathBuf;

const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-sn-jobs";
const DLQ: &str =
    "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-sn-data-DeadLetterQueue-X";

fn env() -> Environment {
    crate::config::parse(
        PathBuf::from("stacks/sn.yaml"),
        "region: eu-west-1\n".into(),
    )
    .unwrap()
    .into_only()
}

/// S3's answer to HeadBucket for a bucket that does not exist (404, NotFound).
fn no_bucket() -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_s3::Client::head_bucket).then_error(|| {
        aws_sdk_s3::operation::head_bucket::HeadBucketError::NotFound(
            aws_sdk_s3::types::error::NotFound::builder().build(),
        )
    })
}

fn stacks_up() -> aws_smithy_mocks::Rule {
    describe_stacks(vec![
        ("qfleet-sn-data", Some((StackStatus::CreateComplete, false))),
        ("qfleet-sn-fleet", None),
    ])
}

#[tokio::test]
async fn mocked_a_dead_letter_queue_missing_from_the_list_is_found_through_the_redrive_policy() {
    let stacks = stacks_up();
    // The list is cut short: the DLQ is declared by the template but not listed.
    let res = list_resources(vec![(
        "qfleet-sn-data",
        vec![resource(
            "Queue",
            QUEUE,
            "AWS::SQS::Queue",
            ResourceStatus::CreateComplete,
        )],
    )]);
    let s3 = no_bucket();
    let attrs = mock!(Sqs::get_queue_attributes).then_compute_output(|r| {
        if r.queue_url() == Some(QUEUE) {
            queue_attributes(0, 0, 0, &[(
                QueueAttributeName::RedrivePolicy,
                r#"{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:111122223333:qfleet-sn-data-DeadLetterQueue-X","maxReceiveCount":5}"#,
            )])
        } else {
            queue_attributes(7, 0, 0, &[])
        }
    });
    let url = mock!(Sqs::get_queue_url)
        .match_requests(|r| r.queue_name() == Some("qfleet-sn-data-DeadLetterQueue-X"))
        .then_output(|| GetQueueUrlOutput::builder().queue_url(DLQ).build());
    let clients = Rules {
        cfn: vec![&stacks, &res],
        sqs: vec![&attrs, &url],
        s3: vec![&s3],
        ..Default::default()
    }
    .clients();
    let snap = read(&clients, &env(), Scope::default()).await;
    let dlq = snap.dead_letter_queue.known().expect("the DLQ is found");
    assert_eq!((dlq.url.as_str(), dlq.depth.visible), (DLQ, 7));
    assert_eq!(url.num_calls(), 1);
}

#[tokio::test]
async fn mocked_an_empty_queue_answer_is_unknown_not_empty() {
    let stacks = stacks_up();
    let res = list_resources(vec![(
        "qfleet-sn-data",
        vec![
            resource(
                "Queue",
                QUEUE,
                "AWS::SQS::Queue",
                ResourceStatus::CreateComplete,
            ),
            resource(
                "DeadLetterQueue",
                DLQ,
                "AWS::SQS::Queue",
                ResourceStatus::CreateComplete,
            ),
        ],
    )]);
    // An answer without attributes, as a faulty proxy or a cut-off body gives.
    let attrs = mock!(Sqs::get_queue_attributes)
        .then_output(|| GetQueueAttributesOutput::builder().build());
    let s3 = no_bucket();
    let clients = Rules {
        cfn: vec![&stacks, &res],
        sqs: vec![&attrs],
        s3: vec![&s3],
        ..Default::default()
    }
    .clients();
    let snap = read(&clients, &env(), Scope::default()).await;
    let why = snap.queue.unknown().expect("unknown");
    assert!(why.contains("ApproximateNumberOfMessages"), "{why}");
    assert!(snap.dead_letter_queue.unknown().is_some());
}

#[tokio::test]
async fn mocked_a_queue_not_listed_and_not_found_by_name_is_absent() {
    let stacks = stacks_up();
    let res = list_resources(vec![("qfleet-sn-data", vec![])]);
    let url = mock!(Sqs::get_queue_url).then_error(|| {
        aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError::QueueDoesNotExist(
            aws_sdk_sqs::types::error::QueueDoesNotExist::builder()
                .message("The specified queue does not exist.")
                .build(),
        )
    });
    let s3 = no_bucket();
    let clients = Rules {
        cfn: vec![&stacks, &res],
        sqs: vec![&url],
        s3: vec![&s3],
        ..Default::default()
    }
    .clients();
    let snap = read(&clients, &env(), Scope::default()).await;
    assert!(snap.queue.is_absent(), "{:?}", snap.queue);
    // With no queue to name it, a DLQ the list leaves out cannot be vouched for.
    assert!(
        snap.dead_letter_queue.unknown().is_some(),
        "{:?}",
        snap.dead_letter_queue
    );
}

#[tokio::test]
async fn mocked_a_stack_that_cannot_be_read_makes_its_resources_unknown() {
    let stacks = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_error(|| {
        aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError::generic(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code("InternalFailure")
                .message("boom")
                .build(),
        )
    });
    let res = list_resources(vec![]);
    let template = mock!(aws_sdk_cloudformation::Client::get_template).then_output(|| {
        aws_sdk_cloudformation::operation::get_template::GetTemplateOutput::builder()
            .template_body("Resources: {}")
            .build()
    });
    let clients = Rules {
        cfn: vec![&stacks, &res, &template],
        ..Default::default()
    }
    .clients();
    let snap = read(
        &clients,
        &env(),
        Scope {
            scaling: true,
            ..Scope::TEARDOWN
        },
    )
    .await;
    assert!(
        snap.data
            .state
            .unknown()
            .is_some_and(|w| w.contains("InternalFailure"))
    );
    assert!(snap.queue.unknown().is_some());
    assert!(snap.bucket.unknown().is_some());
    assert!(snap.group().and_then(|g| g.unknown()).is_some());
}

#[test]
fn deletion_policies_come_from_the_template_and_a_broken_template_is_an_error() {
    let p = deletion_policies("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    DeletionPolicy: Retain\n  Queue:\n    Type: AWS::SQS::Queue\n").unwrap();
    assert_eq!(p.get("Bucket").map(String::as_str), Some("Retain"));
    assert_eq!(p.get("Queue"), None, "no policy: CloudFormation's default");
    assert!(deletion_policies("Resources: [").is_err());
    assert!(deletion_policies("Outputs: {}").is_err());
}

#[test]
fn the_data_template_declares_exactly_the_data_bearing_resources_teardown_checks() {
    // With `jobs:`, the data template holds every stateful resource it can.
    let env = crate::config::parse(
        PathBuf::from("stacks/sn.yaml"),
        "region: eu-west-1\njobs: {}\n".into(),
    )
    .unwrap()
    .into_only();
    let data = &crate::render::render(&env).unwrap()[0];
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&data.template).unwrap();
    let mut declared: Vec<(String, String)> = doc["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter_map(|(k, v)| {
            let ty = v["Type"].as_str()?;
            crate::deploy::STATEFUL_TYPES
                .contains(&ty)
                .then(|| (k.as_str().unwrap().to_string(), ty.to_string()))
        })
        .collect();
    declared.sort();
    let mut checked: Vec<(String, String)> = crate::teardown::DATA_BEARING
        .iter()
        .chain(crate::teardown::TRANSIENT)
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    checked.sort();
    assert_eq!(declared, checked);
}

mod lambda;
