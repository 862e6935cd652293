//! What earlier runs and teardowns left: a review stack, a queue name SQS still holds, a kept
//! bucket; and workers that never report in.

use super::*;

#[tokio::test]
async fn mocked_a_stack_left_in_review_in_progress_is_deleted_and_created_afresh() {
    use aws_sdk_cloudformation::operation::list_change_sets::ListChangeSetsOutput;
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    // An interrupted first deploy left the data stack in REVIEW_IN_PROGRESS with its change
    // set: qfleet deletes the empty stack, then creates it.
    let (review, creating, created) = (
        stack(&d, StackStatus::ReviewInProgress, false, false),
        stack(&d, StackStatus::CreateInProgress, true, false),
        stack(&d, StackStatus::CreateComplete, true, false),
    );
    let rd = mock!(Cfn::describe_stacks)
        .match_requests(|r| r.stack_name() == Some(DATA))
        .sequence()
        .output(move || review.clone())
        .error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack with id qfleet-mk-data does not exist")
                    .build(),
            )
        })
        .output(move || creating.clone())
        .output(move || created.clone())
        .repeatedly()
        .build();
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::CreateComplete, true, false)],
    );
    let leftover = mock!(Cfn::list_change_sets).then_output(|| {
        ListChangeSetsOutput::builder()
            .summaries(
                cfn_types::ChangeSetSummary::builder()
                    .change_set_id("cs-left")
                    .change_set_name("qfleet-1700000000000")
                    .stack_name(DATA)
                    .build(),
            )
            .build()
    });
    let ev = events(
        DATA,
        vec![(
            "Queue",
            "AWS::SQS::Queue",
            ResourceStatus::CreateComplete,
            None,
        )],
    );
    let del = mock!(Cfn::delete_stack)
        .match_requests(|r| r.stack_name() == Some(DATA) && r.client_request_token().is_some())
        .then_output(|| DeleteStackOutput::builder().build());
    let (cc, cs, ex) = (
        mock!(Cfn::create_change_set)
            .match_requests(|r| {
                r.change_set_type() == Some(&cfn_types::ChangeSetType::Create)
                    && r.client_token().is_some()
            })
            .then_output(|| {
                CreateChangeSetOutput::builder()
                    .id("cs-1")
                    .stack_id("id")
                    .build()
            }),
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![("Add", "Queue", "AWS::SQS::Queue", None)],
        ),
        execute(),
    );
    let c = clients(&[&rd, &rf, &leftover, &ev, &del, &cc, &cs, &ex]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(action(&o, DATA), Action::Created);
    assert_eq!(del.num_calls(), 1, "the empty review stack is deleted");
    assert_eq!((cc.num_calls(), ex.num_calls()), (1, 1));
}

/// A plan meets a first deploy waiting at its question (the stack in REVIEW_IN_PROGRESS with
/// qfleet's change set): it previews with a change set of its own and deletes only that.
#[tokio::test]
async fn mocked_a_plan_leaves_a_review_stack_it_did_not_create() {
    use aws_sdk_cloudformation::operation::list_change_sets::ListChangeSetsOutput;
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let rd = describe_sequence(
        DATA,
        vec![stack(&d, StackStatus::ReviewInProgress, false, false)],
    );
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::CreateComplete, true, false)],
    );
    let waiting = mock!(Cfn::list_change_sets).then_output(|| {
        ListChangeSetsOutput::builder()
            .summaries(
                cfn_types::ChangeSetSummary::builder()
                    .change_set_id("cs-waiting")
                    .change_set_name("qfleet-1700000000000")
                    .stack_name(DATA)
                    .build(),
            )
            .build()
    });
    let del = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let (cc, cs, dcs) = (
        create_cs(),
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![("Add", "Queue", "AWS::SQS::Queue", None)],
        ),
        delete_cs(),
    );
    let c = clients(&[&rd, &rf, &waiting, &del, &cc, &cs, &dcs]);
    let o = deploy(&c, &e, Mode::Plan, &Options::default()).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(action(&o, DATA), Action::WouldCreate);
    assert_eq!(dcs.num_calls(), 1, "its own change set is deleted");
    assert_eq!(del.num_calls(), 0, "the waiting deploy's stack stays");
}

#[tokio::test]
async fn mocked_a_review_stack_with_someone_elses_change_set_is_left_alone() {
    use aws_sdk_cloudformation::operation::list_change_sets::ListChangeSetsOutput;
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let rd = describe_sequence(
        DATA,
        vec![stack(&d, StackStatus::ReviewInProgress, false, false)],
    );
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::CreateComplete, true, false)],
    );
    let theirs = mock!(Cfn::list_change_sets).then_output(|| {
        ListChangeSetsOutput::builder()
            .summaries(
                cfn_types::ChangeSetSummary::builder()
                    .change_set_id("cs-x")
                    .change_set_name("alice-review")
                    .stack_name(DATA)
                    .build(),
            )
            .build()
    });
    let del = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let c = clients(&[&rd, &rf, &theirs, &del]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(!o.ok);
    assert!(
        o.error
            .as_ref()
            .map(|e| e.message.as_str())
            .unwrap()
            .contains("alice-review"),
        "{o:?}"
    );
    assert_eq!(del.num_calls(), 0);
}

#[tokio::test]
async fn mocked_a_queue_name_deleted_moments_ago_is_waited_out_and_the_create_retried() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let gone = || {
        DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("Stack with id qfleet-mk-data does not exist")
                .build(),
        )
    };
    let (failed, failed2, created) = (
        stack(&d, StackStatus::RollbackComplete, true, false),
        stack(&d, StackStatus::RollbackComplete, true, false),
        stack(&d, StackStatus::CreateComplete, true, false),
    );
    let rd = mock!(Cfn::describe_stacks)
        .match_requests(|r| r.stack_name() == Some(DATA))
        .sequence()
        .error(gone)
        .output(move || failed.clone())
        .output(move || failed2.clone())
        .error(gone)
        .output(move || created.clone())
        .repeatedly()
        .build();
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::CreateComplete, true, false)],
    );
    // SQS's answer to CreateQueue within 60 s of deleting a queue of the same name, as
    // CloudFormation reports it on the resource.
    let ev = events(
        DATA,
        vec![(
            "Queue",
            "AWS::SQS::Queue",
            ResourceStatus::CreateFailed,
            Some(
                "Resource handler returned message: \"You must wait 60 seconds after deleting a queue before you can create another with the same name. (Service: Sqs, Status Code: 400) (HandlerErrorCode: AlreadyExists)\"",
            ),
        )],
    );
    let (cc, cs, ex) = (
        create_cs(),
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![("Add", "Queue", "AWS::SQS::Queue", None)],
        ),
        execute(),
    );
    let del = mock!(Cfn::delete_stack)
        .match_requests(|r| r.stack_name() == Some(DATA))
        .then_output(|| DeleteStackOutput::builder().build());
    let c = clients(&[&rd, &rf, &ev, &cc, &cs, &ex, &del]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(action(&o, DATA), Action::Created);
    assert_eq!(del.num_calls(), 1, "the failed, empty stack is deleted");
    assert_eq!(
        (cc.num_calls(), ex.num_calls()),
        (2, 2),
        "created once more"
    );
}

#[tokio::test]
async fn mocked_workers_that_never_signal_fail_the_deploy_with_what_to_look_at() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let rd = describe_sequence(
        DATA,
        vec![stack(&d, StackStatus::CreateComplete, true, false)],
    );
    let rf = missing_then(
        FLEET,
        vec![stack(&f, StackStatus::RollbackComplete, true, false)],
    );
    // CloudFormation's answer when the CreationPolicy's signals do not come.
    let ev = events(
        FLEET,
        vec![(
            "WorkerGroup",
            "AWS::AutoScaling::AutoScalingGroup",
            ResourceStatus::CreateFailed,
            Some(
                "Received 0 SUCCESS signal(s) out of 1.  Unable to satisfy 100% MinSuccessfulInstancesPercent requirement",
            ),
        )],
    );
    let (cc, cs, ex) = (
        create_cs(),
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![(
                "Add",
                "WorkerGroup",
                "AWS::AutoScaling::AutoScalingGroup",
                None,
            )],
        ),
        execute(),
    );
    let c = clients(&[&rd, &rf, &ev, &cc, &cs, &ex]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert_eq!(o.exit_code, 1, "{o:?}");
    let err = o.error.unwrap().message;
    assert!(err.contains("Received 0 SUCCESS signal(s)"), "{err}");
    assert!(
        err.contains("never reported that they reached the queue")
            && err.contains("qfleet-bootstrap.log"),
        "{err}"
    );
}

#[tokio::test]
async fn mocked_a_bucket_kept_by_an_earlier_teardown_is_imported_then_the_stack_completed() {
    let e = env(STACK_FILE); // not a lab: the bucket is retained
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let gone = || {
        DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("Stack with id qfleet-mk-data does not exist")
                .build(),
        )
    };
    let (imported, updated) = (
        stack(&d, StackStatus::ImportComplete, false, false),
        stack(&d, StackStatus::UpdateComplete, true, true),
    );
    let rd = mock!(Cfn::describe_stacks)
        .match_requests(|r| r.stack_name() == Some(DATA))
        .sequence()
        .error(gone)
        .output(move || imported.clone())
        .output(move || updated.clone())
        .repeatedly()
        .build();
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::CreateComplete, true, true)],
    );
    let import = mock!(Cfn::create_change_set)
        .match_requests(|r| {
            r.change_set_type() == Some(&cfn_types::ChangeSetType::Import)
                && r.resources_to_import().len() == 1
                && r.resources_to_import()[0].logical_resource_id() == Some("Bucket")
                && r.resources_to_import()[0]
                    .resource_identifier()
                    .and_then(|m| m.get("BucketName"))
                    == Some(&"mk-uploads-111122223333-eu-west-1".to_string())
                && !r
                    .template_body()
                    .unwrap_or_default()
                    .contains("NotificationConfiguration")
        })
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id("cs-import")
                .stack_id("id")
                .build()
        });
    let update = mock!(Cfn::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&cfn_types::ChangeSetType::Update))
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id("cs-update")
                .stack_id("id")
                .build()
        });
    let describe_cs =
        |id: &'static str, action: &'static str, logical: &'static str, ty: &'static str| {
            mock!(Cfn::describe_change_set)
                .match_requests(move |r| r.change_set_name() == Some(id))
                .then_output(move || {
                    DescribeChangeSetOutput::builder()
                        .status(ChangeSetStatus::CreateComplete)
                        .changes(
                            cfn_types::Change::builder()
                                .resource_change(
                                    ResourceChange::builder()
                                        .action(cfn_types::ChangeAction::from(action))
                                        .logical_resource_id(logical)
                                        .resource_type(ty)
                                        .build(),
                                )
                                .build(),
                        )
                        .build()
                })
        };
    let (cs_import, cs_update) = (
        describe_cs("cs-import", "Import", "Bucket", "AWS::S3::Bucket"),
        describe_cs("cs-update", "Add", "Queue", "AWS::SQS::Queue"),
    );
    let ev = events(
        DATA,
        vec![(
            "Bucket",
            "AWS::S3::Bucket",
            ResourceStatus::ImportComplete,
            None,
        )],
    );
    let (ex, tp) = (execute(), protection());
    let sts = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
            .account("111122223333")
            .build()
    });
    let kept = mock!(aws_sdk_s3::Client::head_bucket)
        .match_requests(|r| r.bucket() == Some("mk-uploads-111122223333-eu-west-1"))
        .then_output(|| aws_sdk_s3::operation::head_bucket::HeadBucketOutput::builder().build());
    // The tags CloudFormation propagated from the stack that kept it.
    let tagged = kept_bucket_tags("mk");
    let c = crate::aws::mock::Rules {
        cfn: vec![
            &rd,
            &rf,
            &import,
            &update,
            &cs_import,
            &cs_update,
            &ev,
            &ex,
            &tp,
            super::no_operation_events(),
        ],
        sts: vec![&sts],
        s3: vec![&kept, &tagged],
        ec2: Some(super::the_network_of_stack_file()),
        ..Default::default()
    }
    .clients();
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(
        (import.num_calls(), update.num_calls()),
        (1, 1),
        "import first, then the rest"
    );
    assert_eq!(ex.num_calls(), 2);
    assert_eq!(action(&o, DATA), Action::Updated);
}

/// GetBucketTagging's answer for a bucket kept by a teardown of environment `env`.
fn kept_bucket_tags(env: &'static str) -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_s3::Client::get_bucket_tagging).then_output(move || {
        aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingOutput::builder()
            .tag_set(
                aws_sdk_s3::types::Tag::builder()
                    .key(crate::config::ENVIRONMENT_TAG)
                    .value(env)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    })
}

/// Issue 33: a bucket of the environment's name outside any stack that does not carry the
/// environment's marks (another team's, another tool's) is not imported: exit 4, no change set.
#[tokio::test]
async fn mocked_a_kept_bucket_without_the_environments_marks_is_refused_and_nothing_created() {
    let e = env(STACK_FILE);
    let gone = |name: &'static str| {
        move || {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message(format!("Stack with id {name} does not exist"))
                    .build(),
            )
        }
    };
    let rd = mock!(Cfn::describe_stacks)
        .match_requests(|r| r.stack_name() == Some(DATA))
        .then_error(gone(DATA));
    let rf = mock!(Cfn::describe_stacks)
        .match_requests(|r| r.stack_name() == Some(FLEET))
        .then_error(gone(FLEET));
    // The fleet is prepared meanwhile: its change set is computed, then deleted with its
    // review stack when the data stack is refused.
    // The data stack gets no change set at all (the rule matches only its requests; the
    // fleet's go to the next one).
    let data_change_set = mock!(Cfn::create_change_set)
        .match_requests(|r| r.stack_name() == Some(DATA))
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id("cs-data")
                .stack_id("id")
                .build()
        });
    let any_change_set = super::create_cs();
    let computed = super::change_set(ChangeSetStatus::CreateComplete, None, vec![]);
    let deleted = super::delete_cs();
    let review_gone = mock!(Cfn::delete_stack).then_output(|| {
        aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput::builder().build()
    });
    let sts = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
            .account("111122223333")
            .build()
    });
    let kept = mock!(aws_sdk_s3::Client::head_bucket)
        .then_output(|| aws_sdk_s3::operation::head_bucket::HeadBucketOutput::builder().build());
    let theirs = kept_bucket_tags("someone-else");
    let c = crate::aws::mock::Rules {
        cfn: vec![
            &rd,
            &rf,
            &data_change_set,
            &any_change_set,
            &computed,
            &deleted,
            &review_gone,
            super::no_operation_events(),
        ],
        sts: vec![&sts],
        s3: vec![&kept, &theirs],
        ec2: Some(super::the_network_of_stack_file()),
        ..Default::default()
    }
    .clients();
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(!o.ok);
    assert_eq!(o.exit_code, crate::error::Exit::Refused, "{o:?}");
    let said = o.error.clone().map(|e| e.message).unwrap_or_default();
    assert!(
        said.contains("bucket mk-uploads-111122223333-eu-west-1 exists outside any stack"),
        "{said}"
    );
    assert!(
        said.contains("qfleet:environment=mk (it has qfleet:environment=someone-else)"),
        "{said}"
    );
    assert_eq!(theirs.num_calls(), 1);
    // The fleet's change set may have been computed, never the data stack's.
    assert_eq!(data_change_set.num_calls(), 0);
    assert!(any_change_set.num_calls() <= 1);
}

/// Issue 57: a deploy whose fleet stack failed after the data stack was created lists both in
/// the environment's `stacks` (the JSON document's), beside the error: the data stack created,
/// the fleet FAILED (it was left out).
#[tokio::test]
async fn mocked_a_failed_fleet_keeps_the_created_data_stack_in_the_outcome() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let rd = missing_then(
        DATA,
        vec![stack(&d, StackStatus::CreateComplete, true, false)],
    );
    let rf = missing_then(
        FLEET,
        vec![stack(&f, StackStatus::RollbackComplete, true, false)],
    );
    let ev = events(
        FLEET,
        vec![(
            "WorkerGroup",
            "AWS::AutoScaling::AutoScalingGroup",
            ResourceStatus::CreateFailed,
            Some("Received 0 SUCCESS signal(s) out of 1."),
        )],
    );
    let (cc, cs, ex) = (
        create_cs(),
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![("Add", "Queue", "AWS::SQS::Queue", None)],
        ),
        execute(),
    );
    let evd = events(DATA, vec![]);
    let dcs = delete_cs();
    let c = clients(&[&rd, &rf, &ev, &evd, &cc, &cs, &ex, &dcs]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert_eq!(o.exit_code, 1, "{o:?}");
    let stacks: Vec<(&str, Action, Option<&str>)> = o
        .stacks
        .iter()
        .map(|s| (s.stack.as_str(), s.action, s.status.as_deref()))
        .collect();
    assert_eq!(
        stacks,
        [
            (DATA, Action::Created, Some("CREATE_COMPLETE")),
            (FLEET, Action::Created, Some("FAILED")),
        ]
    );
}
