//! Termination protection and DELETE_FAILED, which the emulator cannot produce, through
//! SDK-level mocks. Test names say `mocked`.

use super::*;
use crate::aws::Polling;
use crate::aws::mock::Rules;
use crate::output::{Format, Output};
use aws_sdk_cloudformation::Client as Cfn;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use aws_sdk_cloudformation::types as cfn;
use aws_smithy_mocks::{Rule, mock};
use std::path::PathBuf;

/// An environment whose file asks for no termination protection: its stacks, as the mocks
/// describe them, have none (a protected one's are in the tests of protection).
fn env() -> Environment {
    crate::config::parse(
        PathBuf::from("stacks/td.yaml"),
        "region: eu-west-1\ntermination_protection: false\n".into(),
    )
    .unwrap()
    .into_only()
}

fn stack(name: &str, status: cfn::StackStatus, protected: bool) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(crate::aws::mock::stack(name, status, protected))
        .build()
}

fn describe(name: &'static str, answers: Vec<Option<DescribeStacksOutput>>) -> Rule {
    let mut seq = mock!(Cfn::describe_stacks)
        .match_requests(move |r| r.stack_name() == Some(name))
        .sequence();
    let n = answers.len();
    for (i, a) in answers.into_iter().enumerate() {
        seq = match a {
            Some(out) => seq.output(move || out.clone()),
            None => seq.error(move || {
                DescribeStacksError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("ValidationError")
                        .message(format!("Stack with id {name} does not exist"))
                        .build(),
                )
            }),
        };
        if i == n - 1 {
            return seq.repeatedly().build();
        }
    }
    unreachable!()
}

fn opts() -> Options {
    Options {
        yes: true,
        polling: Polling::immediate(),
        ..Default::default()
    }
}

fn reporter() -> Reporter {
    Reporter::new(Output {
        format: Format::Text,
        interactive: false,
        command: "test",
    })
}

#[tokio::test]
async fn mocked_termination_protection_is_refused_without_the_flag_and_nothing_deleted() {
    let e = env();
    let data = describe(
        "qfleet-td-data",
        vec![Some(stack(
            "qfleet-td-data",
            cfn::StackStatus::CreateComplete,
            true,
        ))],
    );
    let fleet = describe(
        "qfleet-td-fleet",
        vec![Some(stack(
            "qfleet-td-fleet",
            cfn::StackStatus::CreateComplete,
            true,
        ))],
    );
    let del = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let lift = mock!(Cfn::update_termination_protection)
        .then_output(|| UpdateTerminationProtectionOutput::builder().build());
    let (res, t) = (
        mock!(Cfn::list_stack_resources)
            .then_output(|| ListStackResourcesOutput::builder().build()),
        template(),
    );
    let (b, q) = (no_bucket(), no_queue());
    let clients = Rules {
        cfn: vec![&data, &fleet, &del, &lift, &res, &t],
        s3: vec![&b],
        sqs: vec![&q],
        ..Default::default()
    }
    .clients();
    let o = environment(&clients, &e, &opts(), &reporter()).await;
    assert_eq!(o.exit_code, 4);
    let err = o.error.unwrap().message;
    assert!(
        err.contains("qfleet-td-fleet and qfleet-td-data have termination protection"),
        "{err}"
    );
    assert!(err.contains("--disable-termination-protection"), "{err}");
    assert_eq!(
        (del.num_calls(), lift.num_calls()),
        (0, 0),
        "nothing deleted, protection not touched"
    );
}

/// Issue 83: a file that asks for termination protection (the default outside labs) whose
/// stacks lack it (a deploy could not set it; moto answers UpdateTerminationProtection with
/// HTTP 500). On a terminal the question says so and is asked (answered no here: nothing
/// deleted); with `--yes` alone it is refused, nothing deleted; both say it on stderr or in
/// the refusal, and the asked one in a warning event.
#[tokio::test]
async fn mocked_protection_the_file_asks_for_and_the_stacks_lack_is_said_and_asked() {
    let protected = crate::config::parse(
        PathBuf::from("stacks/td.yaml"),
        "region: eu-west-1\n".into(),
    )
    .unwrap()
    .into_only();
    assert!(
        protected.termination_protection(),
        "the default outside labs"
    );
    let unprotected = |name: &'static str| {
        describe(
            name,
            vec![Some(stack(name, cfn::StackStatus::CreateComplete, false))],
        )
    };
    // The fleet alone (a data stack's reads are the decisions' tests).
    let data = describe("qfleet-td-data", vec![None]);
    let fleet = unprotected("qfleet-td-fleet");
    let del = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let lift = mock!(Cfn::update_termination_protection)
        .then_output(|| UpdateTerminationProtectionOutput::builder().build());
    let res = mock!(Cfn::list_stack_resources)
        .then_output(|| ListStackResourcesOutput::builder().build());
    let (t, b, q) = (template(), no_bucket(), no_queue());
    let clients = Rules {
        cfn: vec![&data, &fleet, &del, &lift, &res, &t],
        s3: vec![&b],
        sqs: vec![&q],
        ..Default::default()
    }
    .clients();
    let out = Output {
        format: Format::Text,
        interactive: false,
        command: "test",
    };
    let asked = Reporter::answering(out, &[crate::output::Answer::No]);
    let on_a_terminal = Options {
        yes: false,
        can_prompt: true,
        ..opts()
    };
    let o = environment(&clients, &protected, &on_a_terminal, &asked).await;
    assert!(o.cancelled && o.exit_code == 0, "{o:?}");
    assert_eq!(
        asked.questions(),
        [
            "  - delete qfleet-td-fleet\ntd: tear down (delete qfleet-td-fleet) though stacks/td.yaml asks for termination protection and qfleet-td-fleet lacks it? [y/N]"
        ]
    );
    let warned: Vec<String> = asked
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Warning { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(
        warned,
        [
            "qfleet-td-fleet lacks the termination protection its stack file asks for (termination_protection; a deploy could not set it); a teardown of a protected environment is asked about"
        ]
    );
    let o = environment(&clients, &protected, &opts(), &reporter()).await;
    assert_eq!(o.exit_code, 4, "--yes alone: {o:?}");
    let err = o.error.unwrap().message;
    assert!(
        err.contains("qfleet-td-fleet lacks the termination protection its stack file asks for")
            && err.contains("--disable-termination-protection"),
        "{err}"
    );
    assert_eq!(
        (del.num_calls(), lift.num_calls()),
        (0, 0),
        "nothing deleted, protection not touched"
    );
}

fn template() -> Rule {
    mock!(Cfn::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body(
                "Resources:\n  WorkerSecurityGroup:\n    Type: AWS::EC2::SecurityGroup\n",
            )
            .build()
    })
}

fn failed_resources() -> Rule {
    mock!(Cfn::list_stack_resources).then_output(|| {
        ListStackResourcesOutput::builder()
            .stack_resource_summaries(
                cfn::StackResourceSummary::builder()
                    .logical_resource_id("WorkerSecurityGroup")
                    .physical_resource_id("sg-0123")
                    .resource_type("AWS::EC2::SecurityGroup")
                    .resource_status(cfn::ResourceStatus::DeleteFailed)
                    .resource_status_reason("resource sg-0123 has a dependent object")
                    .last_updated_timestamp(aws_smithy_types::DateTime::from_secs(0))
                    .build(),
            )
            .build()
    })
}

fn no_bucket() -> Rule {
    mock!(aws_sdk_s3::Client::head_bucket).then_error(|| {
        aws_sdk_s3::operation::head_bucket::HeadBucketError::NotFound(
            aws_sdk_s3::types::error::NotFound::builder().build(),
        )
    })
}

fn no_queue() -> Rule {
    mock!(aws_sdk_sqs::Client::get_queue_url).then_error(|| {
        aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError::QueueDoesNotExist(
            aws_sdk_sqs::types::error::QueueDoesNotExist::builder().build(),
        )
    })
}

fn no_events() -> Rule {
    mock!(Cfn::describe_stack_events).then_output(|| DescribeStackEventsOutput::builder().build())
}

#[tokio::test]
async fn mocked_the_flag_lifts_protection_and_delete_failed_is_reported_with_resource_and_reason() {
    let e = env();
    let fleet = describe(
        "qfleet-td-fleet",
        vec![
            Some(stack(
                "qfleet-td-fleet",
                cfn::StackStatus::CreateComplete,
                true,
            )),
            Some(stack(
                "qfleet-td-fleet",
                cfn::StackStatus::DeleteFailed,
                false,
            )),
        ],
    );
    let data = describe("qfleet-td-data", vec![None]);
    let del = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let lift = mock!(Cfn::update_termination_protection)
        .match_requests(|r| r.enable_termination_protection() == Some(false))
        .then_output(|| UpdateTerminationProtectionOutput::builder().build());
    let (t, res, ev) = (template(), failed_resources(), no_events());
    let clients = Rules {
        cfn: vec![&fleet, &data, &del, &lift, &t, &res, &ev],
        ..Default::default()
    }
    .clients();
    let opts = Options {
        disable_termination_protection: true,
        ..opts()
    };
    let o = environment(&clients, &e, &opts, &reporter()).await;
    assert_eq!(lift.num_calls(), 1, "protection lifted, as asked");
    assert_eq!(
        del.num_calls(),
        1,
        "no retry without --retain-failed or a terminal"
    );
    assert_eq!(o.exit_code, 1);
    let err = o.error.unwrap().message;
    assert!(
        err.contains(
            "DELETE_FAILED (WorkerSecurityGroup: resource sg-0123 has a dependent object)"
        ),
        "{err}"
    );
    assert!(err.contains("--retain-failed"), "{err}");
}

#[tokio::test]
async fn mocked_retain_failed_retries_keeping_the_failed_resource() {
    let e = env();
    let fleet = describe(
        "qfleet-td-fleet",
        vec![
            Some(stack(
                "qfleet-td-fleet",
                cfn::StackStatus::CreateComplete,
                false,
            )),
            Some(stack(
                "qfleet-td-fleet",
                cfn::StackStatus::DeleteFailed,
                false,
            )),
            None,
        ],
    );
    let data = describe("qfleet-td-data", vec![None]);
    let first = mock!(Cfn::delete_stack)
        .match_requests(|r| r.retain_resources().is_empty())
        .then_output(|| DeleteStackOutput::builder().build());
    let retry = mock!(Cfn::delete_stack)
        .match_requests(|r| r.retain_resources() == ["WorkerSecurityGroup".to_string()])
        .then_output(|| DeleteStackOutput::builder().build());
    let (t, res, ev) = (template(), failed_resources(), no_events());
    let clients = Rules {
        cfn: vec![&fleet, &data, &first, &retry, &t, &res, &ev],
        ..Default::default()
    }
    .clients();
    let opts = Options {
        retain_failed: true,
        ..opts()
    };
    let o = environment(&clients, &e, &opts, &reporter()).await;
    assert!(o.ok, "{o:?}");
    assert_eq!((first.num_calls(), retry.num_calls()), (1, 1));
    assert_eq!(o.deleted, ["qfleet-td-fleet"]);
    assert!(
        o.retained
            .iter()
            .any(|r| r.contains("WorkerSecurityGroup (kept after DELETE_FAILED)")),
        "{o:?}"
    );
}

/// Issue 57: a DELETE_FAILED whose resource CloudFormation listed without a reason said "no
/// reason given" while the stack's events named it. The deletion's events give the reason
/// (DescribeStackEvents' ResourceStatusReason,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackEvent.html).
#[tokio::test]
async fn mocked_delete_failed_without_a_listed_reason_takes_the_events_reason() {
    let e = env();
    let fleet = describe(
        "qfleet-td-fleet",
        vec![
            Some(stack(
                "qfleet-td-fleet",
                cfn::StackStatus::CreateComplete,
                false,
            )),
            Some(stack(
                "qfleet-td-fleet",
                cfn::StackStatus::DeleteFailed,
                false,
            )),
        ],
    );
    let data = describe("qfleet-td-data", vec![None]);
    let del = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let listed = mock!(Cfn::list_stack_resources).then_output(|| {
        ListStackResourcesOutput::builder()
            .stack_resource_summaries(
                cfn::StackResourceSummary::builder()
                    .logical_resource_id("WorkerSecurityGroup")
                    .resource_type("AWS::EC2::SecurityGroup")
                    .resource_status(cfn::ResourceStatus::DeleteFailed)
                    .last_updated_timestamp(aws_smithy_types::DateTime::from_secs(0))
                    .build(),
            )
            .build()
    });
    let event = |id: &str, kind: &str, status, reason: &str| {
        cfn::StackEvent::builder()
            .event_id(format!("{id}-{reason}"))
            .stack_name("qfleet-td-fleet")
            .logical_resource_id(id)
            .resource_type(kind)
            .resource_status(status)
            .resource_status_reason(reason)
            .timestamp(aws_smithy_types::DateTime::from_secs(1))
            .build()
    };
    // Before the deletion, the stack's last event; then the deletion's, newest first.
    let created = event(
        "qfleet-td-fleet",
        "AWS::CloudFormation::Stack",
        cfn::ResourceStatus::CreateComplete,
        "created",
    );
    let before = created.clone();
    let events = mock!(Cfn::describe_stack_events)
        .sequence()
        .output(move || {
            DescribeStackEventsOutput::builder()
                .stack_events(before.clone())
                .build()
        })
        .output(move || {
            DescribeStackEventsOutput::builder()
                .stack_events(event(
                    "qfleet-td-fleet",
                    "AWS::CloudFormation::Stack",
                    cfn::ResourceStatus::DeleteFailed,
                    "The following resource(s) failed to delete: [WorkerSecurityGroup].",
                ))
                .stack_events(event(
                    "WorkerSecurityGroup",
                    "AWS::EC2::SecurityGroup",
                    cfn::ResourceStatus::DeleteFailed,
                    "resource sg-0123 has a dependent object",
                ))
                .stack_events(created.clone())
                .build()
        })
        .repeatedly()
        .build();
    let t = template();
    let clients = Rules {
        cfn: vec![&fleet, &data, &del, &t, &listed, &events],
        ..Default::default()
    }
    .clients();
    let o = environment(&clients, &e, &opts(), &reporter()).await;
    let err = o.error.unwrap().message;
    assert!(
        err.contains(
            "DELETE_FAILED (WorkerSecurityGroup: resource sg-0123 has a dependent object)"
        ),
        "{err}"
    );
}

/// With no resource listed as failed, the events' failed resources are named; without those,
/// the resources the stack's own reason lists.
#[test]
fn a_delete_failed_names_the_resources_whatever_lists_them() {
    use crate::aws::ResourceEvent;
    let ev = |id: &str, kind: &str, reason: Option<&str>| ResourceEvent {
        event_id: id.into(),
        stack: "s".into(),
        logical_id: id.into(),
        resource_type: kind.into(),
        status: cfn::ResourceStatus::DeleteFailed,
        reason: reason.map(str::to_string),
        timestamp: String::new(),
        operation_id: None,
    };
    let events = [
        ev("Queue", "AWS::SQS::Queue", Some("access denied")),
        ev("s", "AWS::CloudFormation::Stack", Some("failed")),
    ];
    assert_eq!(
        delete::failed_resources(vec![], &events, None),
        [("Queue".to_string(), "access denied".to_string())]
    );
    assert_eq!(
        delete::failed_resources(
            vec![],
            &[],
            Some("The following resource(s) failed to delete: [Queue, Topic]. ")
        ),
        [
            ("Queue".to_string(), "no reason given".to_string()),
            ("Topic".to_string(), "no reason given".to_string())
        ]
    );
}

mod decisions;
mod endpoints;
mod instances;
mod schedule;
mod second_look;
