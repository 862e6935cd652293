//! Termination protection and DELETE_FAILED, which the emulator cannot produce, through
//! SDK-level mocks. Test names say `mocked`.

use super::*;
use crate::aws::mock::Rules;
use crate::aws::poll::Polling;
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

fn env() -> Environment {
    crate::config::parse(
        PathBuf::from("stacks/td.yaml"),
        "region: eu-west-1\n".into(),
    )
    .unwrap()
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
    let err = o.error.unwrap();
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
    let err = o.error.unwrap();
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

// Decisions over hand-built snapshots: no AWS, no mocks.

mod decisions {
    use super::super::decide::*;
    use crate::aws::buckets::{Contents, Version};
    use crate::aws::queues::Queue;
    use crate::snapshot::Fact;
    use crate::snapshot::Snapshot;

    fn contents(n: usize) -> Contents {
        let versions: Vec<Version> = (0..n)
            .map(|i| Version {
                key: format!("uploads/{i}"),
                version_id: Some("v".into()),
            })
            .collect();
        Contents {
            objects: n as u64,
            bytes: 5 * n as u64,
            versions,
        }
    }

    /// A deployed environment, empty: both stacks complete, bucket not retained.
    fn deployed() -> Snapshot {
        let mut s = Snapshot::deployed("td");
        s.bucket = Fact::Known("td-uploads-1-eu-west-1".into());
        s.bucket_contents = Some(Fact::Known(contents(0)));
        s.queue = Fact::Known(Queue::for_tests("qfleet-td-jobs", 0, &[]));
        s.dead_letter_queue = Fact::Known(Queue::for_tests("qfleet-td-dlq", 0, &[]));
        s
    }

    fn none() -> Allowed {
        Allowed::default()
    }

    fn refusals(d: Decision) -> (Vec<Refusal>, bool) {
        match d {
            Decision::Refuse {
                reasons,
                aws_unreadable,
                ..
            } => (reasons, aws_unreadable),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_environment_is_torn_down_fleet_first() {
        let Decision::Proceed(plan) = decide(&deployed(), none()) else {
            panic!()
        };
        let names: Vec<&str> = plan.targets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["qfleet-td-fleet", "qfleet-td-data"]);
        assert!(plan.purge.is_none());
    }

    #[test]
    fn an_unreadable_queue_is_a_refusal_not_an_empty_queue() {
        let mut s = deployed();
        s.queue = Fact::Unknown(
            "reading queue qfleet-td-jobs: the answer has no ApproximateNumberOfMessages".into(),
        );
        let (r, unreadable) = refusals(decide(&s, none()));
        assert!(!unreadable);
        assert!(
            matches!(&r[..], [Refusal::CannotCheck { what, .. }] if what == "the queue"),
            "{r:?}"
        );
        // Allowing the bucket to go does not allow messages to go.
        let (r, _) = refusals(decide(
            &s,
            Allowed {
                purge_bucket: true,
                ..none()
            },
        ));
        assert_eq!(r.len(), 1);
        let msg = refusal_message("td", &r);
        assert!(
            msg.contains("nothing was deleted") && msg.contains("could not check the queue"),
            "{msg}"
        );
    }

    #[test]
    fn an_unreadable_dead_letter_queue_is_a_refusal_too() {
        let mut s = deployed();
        s.dead_letter_queue = Fact::Unknown(
            "qfleet-td-data does not list DeadLetterQueue and no redrive policy names it".into(),
        );
        let (r, _) = refusals(decide(&s, none()));
        assert!(
            matches!(&r[..], [Refusal::CannotCheck { what, .. }] if what == "the dead-letter queue"),
            "{r:?}"
        );
    }

    #[test]
    fn discarding_messages_is_allowed_only_by_its_flag() {
        let mut s = deployed();
        s.queue = Fact::Known(Queue::for_tests("qfleet-td-jobs", 3, &[]));
        s.dead_letter_queue = Fact::Known(Queue::for_tests("qfleet-td-dlq", 1, &[]));
        let (r, _) = refusals(decide(
            &s,
            Allowed {
                purge_bucket: true,
                ..none()
            },
        ));
        assert_eq!(r.len(), 2, "{r:?}");
        let msg = refusal_message("td", &r);
        assert!(msg.contains("queue qfleet-td-jobs: 3 messages"), "{msg}");
        assert!(
            msg.contains("DLQ qfleet-td-dlq: 1 message."),
            "singular: {msg}"
        );
        assert!(
            msg.contains("--discard-messages") && !msg.contains("--purge-bucket"),
            "{msg}"
        );
        assert!(matches!(
            decide(
                &s,
                Allowed {
                    discard_messages: true,
                    ..none()
                }
            ),
            Decision::Proceed(_)
        ));
        // An unknown queue stops being a question once its messages may go.
        s.queue = Fact::Unknown("boom".into());
        assert!(matches!(
            decide(
                &s,
                Allowed {
                    discard_messages: true,
                    ..none()
                }
            ),
            Decision::Proceed(_)
        ));
    }

    #[test]
    fn a_bucket_with_objects_is_purged_only_with_the_flag_and_exactly_what_was_listed() {
        let mut s = deployed();
        s.bucket_contents = Some(Fact::Known(contents(3)));
        let (r, _) = refusals(decide(&s, none()));
        assert_eq!(
            r,
            [Refusal::BucketHoldsObjects {
                bucket: "td-uploads-1-eu-west-1".into(),
                objects: 3,
                bytes: 15
            }]
        );
        assert!(
            refusal_message("td", &r).contains("bucket td-uploads-1-eu-west-1: 3 objects, 15 B")
        );
        let Decision::Proceed(plan) = decide(
            &s,
            Allowed {
                purge_bucket: true,
                ..none()
            },
        ) else {
            panic!()
        };
        let (bucket, versions) = plan.purge.unwrap();
        assert_eq!(
            (bucket.as_str(), versions.len()),
            ("td-uploads-1-eu-west-1", 3)
        );
    }

    #[test]
    fn unlisted_bucket_contents_are_a_refusal_even_with_purge() {
        let mut s = deployed();
        s.bucket_contents = Some(Fact::Unknown(
            "listing the objects: the answer was not whole".into(),
        ));
        for allowed in [
            none(),
            Allowed {
                purge_bucket: true,
                ..none()
            },
        ] {
            let (r, _) = refusals(decide(&s, allowed));
            assert!(matches!(&r[..], [Refusal::CannotCheck { .. }]), "{r:?}");
        }
    }

    #[test]
    fn a_retained_bucket_keeps_its_objects_and_needs_no_flag() {
        let mut s = deployed();
        s.bucket_contents = Some(Fact::Known(contents(2)));
        s.data.deletion_policies = Some(Fact::Known(
            [("Bucket".to_string(), "RetainExceptOnCreate".to_string())].into(),
        ));
        let Decision::Proceed(plan) = decide(&s, none()) else {
            panic!()
        };
        assert!(plan.data.unwrap().bucket_retained);
        assert!(plan.purge.is_none(), "a retained bucket is never emptied");
    }

    #[test]
    fn an_unreadable_template_leaves_a_full_bucket_unchecked() {
        let mut s = deployed();
        s.bucket_contents = Some(Fact::Known(contents(2)));
        s.data.deletion_policies = Some(Fact::Unknown("the template could not be read".into()));
        let (r, _) = refusals(decide(&s, none()));
        assert!(
            matches!(&r[..], [Refusal::CannotCheck { what, .. }] if what.contains("retained")),
            "{r:?}"
        );
    }

    #[test]
    fn only_fleet_never_looks_at_or_deletes_the_data() {
        let mut s = deployed();
        s.queue = Fact::Unknown("boom".into());
        s.bucket_contents = Some(Fact::Known(contents(9)));
        let Decision::Proceed(plan) = decide(
            &s,
            Allowed {
                only_fleet: true,
                ..none()
            },
        ) else {
            panic!()
        };
        assert_eq!(plan.targets.len(), 1);
        assert!(plan.data.is_none());
    }

    #[test]
    fn unreadable_stacks_refuse_with_exit_1_and_one_unreadable_stack_with_exit_4() {
        let mut s = deployed();
        s.data.state = Fact::Unknown("describing stack: throttled".into());
        s.fleet.state = Fact::Unknown("describing stack: throttled".into());
        let (_, unreadable) = refusals(decide(&s, none()));
        assert!(unreadable, "AWS could not be read at all: exit 1");
        let mut s = deployed();
        s.data.state = Fact::Unknown("describing stack: throttled".into());
        let (r, unreadable) = refusals(decide(&s, none()));
        assert!(!unreadable);
        assert!(
            matches!(&r[..], [Refusal::CannotCheck { what, .. }] if what == "stack qfleet-td-data"),
            "{r:?}"
        );
    }

    #[test]
    fn protection_and_data_are_refused_together_with_both_flags_named() {
        let mut s = deployed();
        if let Fact::Known(st) = &mut s.fleet.state {
            st.termination_protection = true;
        }
        s.queue = Fact::Known(Queue::for_tests("qfleet-td-jobs", 1, &[]));
        let (r, _) = refusals(decide(&s, none()));
        let msg = refusal_message("td", &r);
        assert!(
            msg.contains("qfleet-td-fleet has termination protection"),
            "{msg}"
        );
        assert!(
            msg.contains("--disable-termination-protection") && msg.contains("--discard-messages"),
            "{msg}"
        );
    }

    #[test]
    fn nothing_deployed_is_nothing_to_do() {
        assert!(matches!(
            decide(&Snapshot::empty("td", "eu-west-1"), none()),
            Decision::Nothing
        ));
    }
}

#[tokio::test]
async fn mocked_messages_that_arrive_while_the_fleet_goes_stop_the_data_stack_from_going() {
    use crate::aws::mock::{list_resources, queue_attributes, resource};
    const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-td-jobs";
    const DLQ: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-td-dlq";
    let e = env();
    let data = describe(
        "qfleet-td-data",
        vec![Some(stack(
            "qfleet-td-data",
            cfn::StackStatus::CreateComplete,
            false,
        ))],
    );
    let fleet = describe(
        "qfleet-td-fleet",
        vec![
            Some(stack(
                "qfleet-td-fleet",
                cfn::StackStatus::CreateComplete,
                false,
            )),
            None,
        ],
    );
    let live = cfn::ResourceStatus::CreateComplete;
    let res = list_resources(vec![(
        "qfleet-td-data",
        vec![
            resource("Queue", QUEUE, "AWS::SQS::Queue", live.clone()),
            resource("DeadLetterQueue", DLQ, "AWS::SQS::Queue", live),
        ],
    )]);
    // Empty at the first look; five jobs by the second, after the fleet is gone.
    let queue = mock!(aws_sdk_sqs::Client::get_queue_attributes)
        .match_requests(|r| r.queue_url() == Some(QUEUE))
        .sequence()
        .output(|| queue_attributes(0, 0, 0, &[]))
        .output(|| queue_attributes(5, 0, 0, &[]))
        .repeatedly()
        .build();
    let dlq = mock!(aws_sdk_sqs::Client::get_queue_attributes)
        .match_requests(|r| r.queue_url() == Some(DLQ))
        .then_output(|| queue_attributes(0, 0, 0, &[]));
    let del = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let (t, ev, b) = (template(), no_events(), no_bucket());
    let clients = Rules {
        cfn: vec![&data, &fleet, &res, &del, &t, &ev],
        sqs: vec![&queue, &dlq],
        s3: vec![&b],
        ..Default::default()
    }
    .clients();
    let o = environment(&clients, &e, &opts(), &reporter()).await;
    assert_eq!(o.exit_code, 4, "{o:?}");
    assert_eq!(
        o.deleted,
        ["qfleet-td-fleet"],
        "the fleet went; the data stays"
    );
    assert_eq!(del.num_calls(), 1);
    let err = o.error.unwrap();
    assert!(
        err.contains("queue qfleet-td-jobs: 5 messages")
            && err.contains("checked again after the fleet was deleted"),
        "{err}"
    );
}

#[tokio::test]
async fn mocked_the_bucket_is_emptied_after_the_fleet_is_gone_and_just_before_the_data_stack() {
    use crate::aws::mock::{list_resources, queue_attributes, resource};
    use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
    use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
    use aws_sdk_s3::types::ObjectVersion;
    use std::sync::{Arc, Mutex};
    const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-td-jobs";
    const DLQ: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-td-dlq";
    const BUCKET: &str = "td-uploads-111122223333-eu-west-1";
    let order: Arc<Mutex<Vec<String>>> = Arc::default();
    let e = env();
    let data = describe(
        "qfleet-td-data",
        vec![
            Some(stack(
                "qfleet-td-data",
                cfn::StackStatus::CreateComplete,
                false,
            )),
            Some(stack(
                "qfleet-td-data",
                cfn::StackStatus::CreateComplete,
                false,
            )),
            None,
        ],
    );
    let fleet = describe(
        "qfleet-td-fleet",
        vec![
            Some(stack(
                "qfleet-td-fleet",
                cfn::StackStatus::CreateComplete,
                false,
            )),
            None,
        ],
    );
    let live = cfn::ResourceStatus::CreateComplete;
    let res = list_resources(vec![(
        "qfleet-td-data",
        vec![
            resource("Bucket", BUCKET, "AWS::S3::Bucket", live.clone()),
            resource("Queue", QUEUE, "AWS::SQS::Queue", live.clone()),
            resource("DeadLetterQueue", DLQ, "AWS::SQS::Queue", live),
        ],
    )]);
    let t = mock!(Cfn::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body(
                "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    DeletionPolicy: Delete\n",
            )
            .build()
    });
    let q = mock!(aws_sdk_sqs::Client::get_queue_attributes)
        .then_output(|| queue_attributes(0, 0, 0, &[]));
    let version = |k: &str| {
        ObjectVersion::builder()
            .key(k)
            .version_id("v1")
            .size(5)
            .build()
    };
    let two = move || {
        ListObjectVersionsOutput::builder()
            .versions(version("uploads/a"))
            .versions(version("uploads/b"))
            .is_truncated(false)
            .build()
    };
    let listed = mock!(aws_sdk_s3::Client::list_object_versions)
        .sequence()
        .output(two)
        .output(two)
        .output(|| {
            ListObjectVersionsOutput::builder()
                .is_truncated(false)
                .build()
        })
        .repeatedly()
        .build();
    let o2 = order.clone();
    let purged = mock!(aws_sdk_s3::Client::delete_objects).then_compute_output(move |r| {
        let n = r.delete().map(|d| d.objects().len()).unwrap_or(0);
        o2.lock().unwrap().push(format!("delete {n} objects"));
        DeleteObjectsOutput::builder().build()
    });
    let o3 = order.clone();
    let del = mock!(Cfn::delete_stack).then_compute_output(move |r| {
        o3.lock()
            .unwrap()
            .push(format!("delete {}", r.stack_name().unwrap()));
        DeleteStackOutput::builder().build()
    });
    let ev = no_events();
    let clients = Rules {
        cfn: vec![&data, &fleet, &res, &t, &del, &ev],
        sqs: vec![&q],
        s3: vec![&listed, &purged],
        ..Default::default()
    }
    .clients();
    let opts = Options {
        purge_bucket: true,
        ..opts()
    };
    let o = environment(&clients, &e, &opts, &reporter()).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(o.purged_objects, 2);
    assert_eq!(
        *order.lock().unwrap(),
        [
            "delete qfleet-td-fleet",
            "delete 2 objects",
            "delete qfleet-td-data"
        ],
        "no worker writes to the bucket while it is emptied"
    );
}

// Scheduling: slots are held to read, decide and send calls, not to wait for CloudFormation.

/// Both environments' stacks as DescribeStacks answers: a data stack never exists; a fleet is
/// complete until its DeleteStack, then DELETE_IN_PROGRESS until every fleet in `all` has been
/// sent its DeleteStack, then gone. Each answer records the free slots at that moment, as
/// `(stack, "read" | "wait", free slots)`.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, &'static str, usize)>>>;

fn fleets_gone_together(
    all: &'static [&'static str],
    deleted: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    schedule: schedule::Schedule,
    seen: Seen,
) -> Rule {
    mock!(Cfn::describe_stacks).then_compute_response(move |r| {
        use aws_smithy_mocks::MockResponse;
        let name = r.stack_name().unwrap_or_default().to_string();
        if !name.ends_with("-fleet") {
            return MockResponse::Error(crate::aws::mock::no_such_stack(&name));
        }
        let gone = deleted.lock().unwrap().clone();
        let phase = if gone.contains(&name) { "wait" } else { "read" };
        seen.lock()
            .unwrap()
            .push((name.clone(), phase, schedule.free_slots()));
        if all.iter().all(|f| gone.iter().any(|g| g == f)) {
            MockResponse::Error(crate::aws::mock::no_such_stack(&name))
        } else if phase == "wait" {
            MockResponse::Output(stack(&name, cfn::StackStatus::DeleteInProgress, false))
        } else {
            MockResponse::Output(stack(&name, cfn::StackStatus::CreateComplete, false))
        }
    })
}

fn recording_delete(
    deleted: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    schedule: schedule::Schedule,
    seen: Seen,
) -> Rule {
    mock!(Cfn::delete_stack).then_compute_output(move |r| {
        let name = r.stack_name().unwrap_or_default().to_string();
        seen.lock()
            .unwrap()
            .push((name.clone(), "delete", schedule.free_slots()));
        deleted.lock().unwrap().push(name);
        DeleteStackOutput::builder().build()
    })
}

fn named(name: &str) -> Environment {
    crate::config::parse(
        PathBuf::from(format!("stacks/{name}.yaml")),
        "region: eu-west-1\n".into(),
    )
    .unwrap()
}

#[tokio::test]
async fn mocked_with_one_slot_two_environments_wait_for_their_deletions_at_the_same_time() {
    // ta's fleet is gone only once tb's fleet has been sent its DeleteStack too. With one slot
    // held through the wait, tb could never be read or deleted and ta's wait would run out of
    // polls; with the slot given back while CloudFormation deletes, both waits overlap.
    let schedule = schedule::Schedule::new(1);
    let (deleted, seen): (std::sync::Arc<std::sync::Mutex<Vec<String>>>, Seen) = Default::default();
    let describe = fleets_gone_together(
        &["qfleet-ta-fleet", "qfleet-tb-fleet"],
        deleted.clone(),
        schedule.clone(),
        seen.clone(),
    );
    let del = recording_delete(deleted.clone(), schedule.clone(), seen.clone());
    let res = mock!(Cfn::list_stack_resources)
        .then_output(|| ListStackResourcesOutput::builder().build());
    let (t, ev) = (template(), no_events());
    let clients = Rules {
        cfn: vec![&describe, &del, &res, &t, &ev],
        ..Default::default()
    }
    .clients();
    let opts = Options {
        schedule: schedule.clone(),
        ..opts()
    };
    let rep = reporter();
    let (a, b) = (named("ta"), named("tb"));
    // Boxed: two teardowns side by side are too large for a test thread's stack.
    let (oa, ob) = tokio::join!(
        Box::pin(environment(&clients, &a, &opts, &rep)),
        Box::pin(environment(&clients, &b, &opts, &rep))
    );
    assert!(oa.ok && ob.ok, "{oa:?}\n{ob:?}");
    assert_eq!(oa.deleted, ["qfleet-ta-fleet"]);
    assert_eq!(ob.deleted, ["qfleet-tb-fleet"]);
    let seen = seen.lock().unwrap();
    let waited = |stack: &str| {
        seen.iter()
            .filter(|(s, phase, _)| s == stack && *phase == "wait")
            .count()
    };
    assert!(
        waited("qfleet-ta-fleet") >= 1 && waited("qfleet-tb-fleet") >= 1,
        "both waited: {seen:?}"
    );
    // ta was still waiting (DELETE_IN_PROGRESS) when tb was read and its DeleteStack sent.
    let tb_deleted = seen
        .iter()
        .position(|(s, phase, _)| s == "qfleet-tb-fleet" && *phase == "delete")
        .unwrap();
    assert!(
        seen[..tb_deleted]
            .iter()
            .any(|(s, phase, _)| s == "qfleet-ta-fleet" && *phase == "wait"),
        "{seen:?}"
    );
    for (s, phase, free) in seen.iter() {
        if *phase != "wait" {
            assert_eq!(*free, 0, "{s} {phase} holds the one slot: {seen:?}");
        }
    }
    assert_eq!(schedule.free_slots(), 1, "every slot given back");
    assert_eq!(schedule.waits(), 0);
}

#[tokio::test]
async fn mocked_an_environment_holds_its_slot_to_read_and_delete_but_not_to_wait() {
    let schedule = schedule::Schedule::new(3);
    let (deleted, seen): (std::sync::Arc<std::sync::Mutex<Vec<String>>>, Seen) = Default::default();
    let describe = fleets_gone_together(
        &["qfleet-td-fleet"],
        deleted.clone(),
        schedule.clone(),
        seen.clone(),
    );
    let del = recording_delete(deleted.clone(), schedule.clone(), seen.clone());
    // The wait's first poll still finds the stack deleting; it is gone at the second.
    let polls = std::sync::Arc::new(std::sync::Mutex::new(0));
    let counted = polls.clone();
    let gone = deleted.clone();
    let describe_slow = mock!(Cfn::describe_stacks)
        .match_requests(move |r| {
            let deleting = r.stack_name() == Some("qfleet-td-fleet")
                && gone.lock().unwrap().iter().any(|g| g == "qfleet-td-fleet");
            if deleting {
                *counted.lock().unwrap() += 1;
            }
            deleting && *counted.lock().unwrap() == 1
        })
        .then_output(|| stack("qfleet-td-fleet", cfn::StackStatus::DeleteInProgress, false));
    let res = mock!(Cfn::list_stack_resources)
        .then_output(|| ListStackResourcesOutput::builder().build());
    let (t, ev) = (template(), no_events());
    let clients = Rules {
        cfn: vec![&describe_slow, &describe, &del, &res, &t, &ev],
        ..Default::default()
    }
    .clients();
    let opts = Options {
        schedule: schedule.clone(),
        ..opts()
    };
    let o = environment(&clients, &env(), &opts, &reporter()).await;
    assert!(o.ok, "{o:?}");
    let seen = seen.lock().unwrap();
    let free = |phase: &str| -> Vec<usize> {
        seen.iter()
            .filter(|(_, p, _)| *p == phase)
            .map(|(_, _, f)| *f)
            .collect()
    };
    assert_eq!(free("read"), [2], "the first read holds a slot");
    assert_eq!(free("delete"), [2], "DeleteStack is sent holding it");
    assert!(!free("wait").is_empty(), "{seen:?}");
    assert!(
        free("wait").iter().all(|f| *f == 3),
        "no slot is held while CloudFormation deletes: {seen:?}"
    );
    assert!(*polls.lock().unwrap() >= 2, "waited past the first poll");
    assert_eq!(schedule.free_slots(), 3);
}

#[tokio::test]
async fn mocked_a_version_s3_did_not_delete_keeps_the_data_stack() {
    use crate::aws::mock::{list_resources, queue_attributes, resource};
    use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
    use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
    use aws_sdk_s3::types::ObjectVersion;
    const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-td-jobs";
    const DLQ: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-td-dlq";
    const BUCKET: &str = "td-uploads-111122223333-eu-west-1";
    let data = describe(
        "qfleet-td-data",
        vec![Some(stack(
            "qfleet-td-data",
            cfn::StackStatus::CreateComplete,
            false,
        ))],
    );
    let fleet = describe(
        "qfleet-td-fleet",
        vec![
            Some(stack(
                "qfleet-td-fleet",
                cfn::StackStatus::CreateComplete,
                false,
            )),
            None,
        ],
    );
    let live = cfn::ResourceStatus::CreateComplete;
    let res = list_resources(vec![(
        "qfleet-td-data",
        vec![
            resource("Bucket", BUCKET, "AWS::S3::Bucket", live.clone()),
            resource("Queue", QUEUE, "AWS::SQS::Queue", live.clone()),
            resource("DeadLetterQueue", DLQ, "AWS::SQS::Queue", live),
        ],
    )]);
    let t = template();
    let q = mock!(aws_sdk_sqs::Client::get_queue_attributes)
        .then_output(|| queue_attributes(0, 0, 0, &[]));
    let listed = mock!(aws_sdk_s3::Client::list_object_versions).then_output(|| {
        let v = |k: &str| {
            ObjectVersion::builder()
                .key(k)
                .version_id("v1")
                .size(5)
                .build()
        };
        ListObjectVersionsOutput::builder()
            .versions(v("uploads/a"))
            .versions(v("uploads/b"))
            .is_truncated(false)
            .build()
    });
    // A 200 answer naming one key under Errors: that key was not deleted.
    let purged = mock!(aws_sdk_s3::Client::delete_objects).then_output(|| {
        DeleteObjectsOutput::builder()
            .errors(
                aws_sdk_s3::types::Error::builder()
                    .key("uploads/b")
                    .version_id("v1")
                    .code("AccessDenied")
                    .message("Access Denied")
                    .build(),
            )
            .build()
    });
    let del = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let ev = no_events();
    let clients = Rules {
        cfn: vec![&data, &fleet, &res, &t, &del, &ev],
        sqs: vec![&q],
        s3: vec![&listed, &purged],
        ..Default::default()
    }
    .clients();
    let opts = Options {
        purge_bucket: true,
        ..opts()
    };
    let o = environment(&clients, &env(), &opts, &reporter()).await;
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert_eq!(o.deleted, ["qfleet-td-fleet"], "the data stack stays");
    assert_eq!(del.num_calls(), 1);
    assert_eq!(purged.num_calls(), 1);
    let err = o.error.unwrap();
    assert!(
        err.contains("1 of 2 object versions were not deleted")
            && err.contains("uploads/b v1: AccessDenied"),
        "{err}"
    );
}
