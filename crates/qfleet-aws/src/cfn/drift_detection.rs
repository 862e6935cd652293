//! CloudFormation drift detection on one stack: start it, wait for it, list each drifted
//! property with its expected and actual value.

use crate::Result;
use crate::error::{AwsError, Kind};
use crate::poll::{self, Poll, Polling};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    StackDriftDetectionStatus, StackDriftStatus, StackResourceDriftStatus,
};

/// A drift field CloudFormation left out.
const NOT_REPORTED: &str = "(not reported)";

/// One drifted resource property (or a deleted resource: property `-`).
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyDrift {
    pub logical_id: String,
    pub property: String,
    pub expected: String,
    pub actual: String,
}

/// Drift detection takes seconds to minutes; this bounds a wait at about 10 minutes.
const MAX_POLLS: u32 = 150;

/// Runs drift detection on `stack` and returns what drifted.
pub async fn detect(cfn: &Client, stack: &str, polling: Polling) -> Result<Vec<PropertyDrift>> {
    let id = cfn
        .detect_stack_drift()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("starting drift detection on {stack}"), e))?
        .stack_drift_detection_id()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            AwsError::with_kind(
                format!("starting drift detection on {stack}: the answer has no detection id"),
                Kind::Malformed,
            )
        })?
        .to_string();
    poll::until(
        polling,
        MAX_POLLS,
        &format!("drift detection on {stack}"),
        || async {
            let st = cfn
                .describe_stack_drift_detection_status()
                .stack_drift_detection_id(&id)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("reading the drift detection status", e))?;
            match st.detection_status() {
                Some(StackDriftDetectionStatus::DetectionInProgress) => Ok(Poll::Pending),
                // A detection that failed on some resources still reports those it checked as
                // drifted; one that found no drift and failed is not an answer.
                Some(StackDriftDetectionStatus::DetectionFailed)
                    if st.stack_drift_status() != Some(&StackDriftStatus::Drifted) =>
                {
                    Err(AwsError::new(format!(
                        "drift detection on {stack} failed: {}",
                        st.detection_status_reason().unwrap_or("no reason given")
                    )))
                }
                Some(_) => Ok(Poll::Ready(())),
                None => Err(AwsError::with_kind(
                    "reading the drift detection status: the answer has no status",
                    Kind::Malformed,
                )),
            }
        },
    )
    .await?;
    let mut out = Vec::new();
    let mut pages = cfn
        .describe_stack_resource_drifts()
        .stack_name(stack)
        .stack_resource_drift_status_filters(StackResourceDriftStatus::Modified)
        .stack_resource_drift_status_filters(StackResourceDriftStatus::Deleted)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            AwsError::from_sdk(&format!("listing the resource drifts of {stack}"), e)
        })?;
        for d in page.stack_resource_drifts() {
            // Each field is required in StackResourceDrift and PropertyDifference; one left out
            // is shown as such, and the difference still counts.
            let said = |v: Option<&str>| v.unwrap_or(NOT_REPORTED).to_string();
            let logical_id = said(d.logical_resource_id());
            if d.stack_resource_drift_status() == Some(&StackResourceDriftStatus::Deleted) {
                out.push(PropertyDrift {
                    logical_id: logical_id.clone(),
                    property: "-".into(),
                    expected: "exists".into(),
                    actual: "deleted".into(),
                });
            }
            for p in d.property_differences() {
                out.push(PropertyDrift {
                    logical_id: logical_id.clone(),
                    property: said(p.property_path()),
                    expected: said(p.expected_value()),
                    actual: said(p.actual_value()),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Drift detection, which both emulators answer with an error, through SDK-level mocks
    //! that follow CloudFormation's documented answers. Test names say `mocked`.

    use super::*;
    use crate::mock::Rules;
    use aws_sdk_cloudformation::Client as Cfn;
    use aws_sdk_cloudformation::operation::describe_stack_drift_detection_status::DescribeStackDriftDetectionStatusOutput;
    use aws_sdk_cloudformation::operation::describe_stack_resource_drifts::DescribeStackResourceDriftsOutput;
    use aws_sdk_cloudformation::operation::detect_stack_drift::DetectStackDriftOutput;
    use aws_sdk_cloudformation::types as cfn;
    use aws_smithy_mocks::mock;

    #[tokio::test]
    async fn mocked_drift_detection_lists_each_property_expected_and_actual() {
        let start = mock!(Cfn::detect_stack_drift).then_output(|| {
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
            cfn: vec![&start, &status, &drifts],
            ..Default::default()
        }
        .clients();
        let found = detect(&clients.cfn, "qfleet-x-data", Polling::immediate())
            .await
            .unwrap();
        assert_eq!(status.num_calls(), 2, "polled until detection completed");
        assert_eq!(
            found,
            [
                PropertyDrift {
                    logical_id: "Queue".into(),
                    property: "/VisibilityTimeout".into(),
                    expected: "60".into(),
                    actual: "45".into()
                },
                PropertyDrift {
                    logical_id: "AlarmTopic".into(),
                    property: "-".into(),
                    expected: "exists".into(),
                    actual: "deleted".into()
                },
            ]
        );
    }
}
