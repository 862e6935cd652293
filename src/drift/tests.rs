//! CloudFormation drift detection, which the emulator answers with HTTP 500, through
//! SDK-level mocks. Test names say `mocked`.

use super::*;
use crate::aws::mock::Rules;
use aws_sdk_cloudformation::Client as Cfn;
use aws_sdk_cloudformation::operation::describe_stack_drift_detection_status::DescribeStackDriftDetectionStatusOutput;
use aws_sdk_cloudformation::operation::describe_stack_resource_drifts::DescribeStackResourceDriftsOutput;
use aws_sdk_cloudformation::operation::detect_stack_drift::{
    DetectStackDriftError, DetectStackDriftOutput,
};
use aws_sdk_cloudformation::types as cfn;
use aws_smithy_mocks::mock;

#[tokio::test]
async fn mocked_drift_detection_lists_each_property_expected_and_actual() {
    let detect = mock!(Cfn::detect_stack_drift).then_output(|| {
        DetectStackDriftOutput::builder()
            .stack_drift_detection_id("d-1")
            .build()
    });
    let status = mock!(Cfn::describe_stack_drift_detection_status)
        .sequence()
        .output(|| {
            DescribeStackDriftDetectionStatusOutput::builder()
                .stack_id("s")
                .stack_drift_detection_id("d-1")
                .detection_status(cfn::StackDriftDetectionStatus::DetectionInProgress)
                .timestamp(aws_smithy_types::DateTime::from_secs(0))
                .build()
        })
        .output(|| {
            DescribeStackDriftDetectionStatusOutput::builder()
                .stack_id("s")
                .stack_drift_detection_id("d-1")
                .detection_status(cfn::StackDriftDetectionStatus::DetectionComplete)
                .stack_drift_status(cfn::StackDriftStatus::Drifted)
                .timestamp(aws_smithy_types::DateTime::from_secs(0))
                .build()
        })
        .repeatedly()
        .build();
    let drifts = mock!(Cfn::describe_stack_resource_drifts).then_output(|| {
        let ts = aws_smithy_types::DateTime::from_secs(0);
        DescribeStackResourceDriftsOutput::builder()
            .stack_resource_drifts(
                cfn::StackResourceDrift::builder()
                    .stack_id("s")
                    .logical_resource_id("Queue")
                    .resource_type("AWS::SQS::Queue")
                    .stack_resource_drift_status(cfn::StackResourceDriftStatus::Modified)
                    .timestamp(ts)
                    .property_differences(
                        cfn::PropertyDifference::builder()
                            .property_path("/VisibilityTimeout")
                            .expected_value("60")
                            .actual_value("45")
                            .difference_type(cfn::DifferenceType::NotEqual)
                            .build(),
                    )
                    .build(),
            )
            .stack_resource_drifts(
                cfn::StackResourceDrift::builder()
                    .stack_id("s")
                    .logical_resource_id("AlarmTopic")
                    .resource_type("AWS::SNS::Topic")
                    .stack_resource_drift_status(cfn::StackResourceDriftStatus::Deleted)
                    .timestamp(ts)
                    .build(),
            )
            .build()
    });
    let clients = Rules {
        cfn: vec![&detect, &status, &drifts],
        ..Default::default()
    }
    .clients();
    let found =
        match cloudformation_drift(&clients, "qfleet-x-data", Duration::from_millis(1)).await {
            Ok(f) => f,
            Err(Unavailable(why)) => panic!("{why}"),
        };
    assert_eq!(status.num_calls(), 2, "polled until detection completed");
    assert_eq!(
        found,
        [
            diff(
                "cloudformation",
                "qfleet-x-data",
                "Queue",
                "/VisibilityTimeout",
                "60",
                "45"
            ),
            diff(
                "cloudformation",
                "qfleet-x-data",
                "AlarmTopic",
                "-",
                "exists",
                "deleted"
            ),
        ]
    );
}

#[tokio::test]
async fn mocked_an_unavailable_drift_api_is_said_in_one_line() {
    let detect = mock!(Cfn::detect_stack_drift).then_error(|| {
        DetectStackDriftError::generic(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code("InternalFailure")
                .message("boom")
                .build(),
        )
    });
    let clients = Rules {
        cfn: vec![&detect],
        ..Default::default()
    }
    .clients();
    let Err(Unavailable(why)) = cloudformation_drift(&clients, "s", Duration::from_millis(1)).await
    else {
        panic!("expected unavailable");
    };
    assert!(why.contains("InternalFailure"), "{why}");
    let report = DriftReport {
        environment: "x".into(),
        differences: vec![],
        detection_unavailable: Some(why),
        undeployed_changes: vec![],
    };
    let text = render_text(&report);
    assert_eq!(
        text.lines().filter(|l| l.contains("unavailable")).count(),
        1
    );
    assert!(text.contains("x: in sync"));
}
