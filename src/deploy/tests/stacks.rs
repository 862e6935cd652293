//! Stack states, failures and recoveries of one environment's deploy.

use super::*;

#[tokio::test]
async fn mocked_a_no_op_costs_exactly_two_describe_calls() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let rd = describe_sequence(
        DATA,
        vec![stack(&d, StackStatus::UpdateComplete, true, false)],
    );
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::CreateComplete, true, false)],
    );
    let c = clients(&[&rd, &rf]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(
        (action(&o, DATA), action(&o, FLEET)),
        (Action::NoChanges, Action::NoChanges)
    );
    assert_eq!(rd.num_calls() + rf.num_calls(), 2);
}

#[tokio::test]
async fn mocked_a_created_stack_gets_termination_protection_and_reports_its_outputs() {
    let e = env(STACK_FILE); // not a lab: protection on
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let rd = missing_then(
        DATA,
        vec![
            stack(&d, StackStatus::CreateInProgress, true, false),
            stack(&d, StackStatus::CreateComplete, true, false),
        ],
    );
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::CreateComplete, true, true)],
    );
    let ev = events(
        DATA,
        vec![(
            "Queue",
            "AWS::SQS::Queue",
            ResourceStatus::CreateComplete,
            None,
        )],
    );
    let (cc, cs, ex, tp) = (
        create_cs(),
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![("Add", "Queue", "AWS::SQS::Queue", None)],
        ),
        execute(),
        protection(),
    );
    let c = clients(&[&rd, &rf, &ev, &cc, &cs, &ex, &tp]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(action(&o, DATA), Action::Created);
    assert_eq!(ex.num_calls(), 1);
    assert_eq!(tp.num_calls(), 1, "protection turned on after the create");
    let data = o.stacks.iter().find(|s| s.stack == DATA).unwrap();
    assert_eq!(
        data.outputs.get("QueueUrl").map(String::as_str),
        Some("https://sqs/q")
    );
    assert_eq!(data.changes.len(), 1);
}

#[tokio::test]
async fn mocked_rollback_complete_is_deleted_and_recreated_with_yes() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let deleted = DescribeStacksOutput::builder()
        .stacks(
            cfn_types::Stack::builder()
                .stack_name(DATA)
                .stack_id("arn:aws:cloudformation:eu-west-1:111122223333:stack/qfleet-mk-data/1")
                .stack_status(StackStatus::DeleteComplete)
                .creation_time(aws_smithy_types::DateTime::from_secs(0))
                .build(),
        )
        .build();
    let rd = describe_sequence(
        DATA,
        vec![
            stack(&d, StackStatus::RollbackComplete, false, false),
            deleted,
            stack(&d, StackStatus::CreateComplete, true, false),
        ],
    );
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::CreateComplete, true, false)],
    );
    let ev = events(
        DATA,
        vec![(
            "qfleet-mk-data",
            "AWS::CloudFormation::Stack",
            ResourceStatus::DeleteComplete,
            None,
        )],
    );
    let del = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let (cc, cs, ex) = (
        create_cs(),
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![("Add", "Queue", "AWS::SQS::Queue", None)],
        ),
        execute(),
    );
    let c = clients(&[&rd, &rf, &ev, &del, &cc, &cs, &ex]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(del.num_calls(), 1);
    assert_eq!(action(&o, DATA), Action::Created);
}

#[tokio::test]
async fn mocked_rollback_complete_without_yes_or_terminal_is_refused_and_nothing_deleted() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let d = desired(&e, StackRole::Data);
    let rd = describe_sequence(
        DATA,
        vec![stack(&d, StackStatus::RollbackComplete, false, false)],
    );
    let rf = missing(FLEET);
    let del = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    // The fleet's first change set is computed for the preview, then deleted unexecuted.
    let (cc, cs, dcs, ex) = (
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
        delete_cs(),
        execute(),
    );
    let c = clients(&[&rd, &rf, &del, &cc, &cs, &dcs, &ex]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(false)).await;
    assert!(!o.ok);
    assert_eq!(o.exit_code, 2);
    let error = o.error.as_ref().unwrap();
    assert_eq!(error.kind, "usage", "{o:?}");
    assert!(error.message.contains("pass --yes"), "{o:?}");
    assert_eq!(
        del.num_calls(),
        0,
        "the failed stack is not deleted unasked"
    );
    assert_eq!((ex.num_calls(), dcs.num_calls()), (0, 1));
}

#[tokio::test]
async fn mocked_update_rollback_failed_is_continued_before_deploying() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let rd = describe_sequence(
        DATA,
        vec![
            stack(&d, StackStatus::UpdateRollbackFailed, true, false),
            stack(&d, StackStatus::UpdateRollbackComplete, true, false),
        ],
    );
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::CreateComplete, true, false)],
    );
    let ev = events(
        DATA,
        vec![(
            "qfleet-mk-data",
            "AWS::CloudFormation::Stack",
            ResourceStatus::UpdateRollbackComplete,
            None,
        )],
    );
    let cont = mock!(Cfn::continue_update_rollback)
        .then_output(|| ContinueUpdateRollbackOutput::builder().build());
    let c = clients(&[&rd, &rf, &ev, &cont]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(cont.num_calls(), 1);
    assert_eq!(action(&o, DATA), Action::NoChanges);
}

#[tokio::test]
async fn mocked_an_operation_in_progress_is_waited_for() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let rd = describe_sequence(
        DATA,
        vec![
            stack(&d, StackStatus::UpdateInProgress, true, false),
            stack(&d, StackStatus::UpdateInProgress, true, false),
            stack(&d, StackStatus::UpdateComplete, true, false),
        ],
    );
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::CreateComplete, true, false)],
    );
    let ev = events(
        DATA,
        vec![(
            "Queue",
            "AWS::SQS::Queue",
            ResourceStatus::UpdateComplete,
            None,
        )],
    );
    let c = clients(&[&rd, &rf, &ev]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(o.ok, "{o:?}");
    assert!(rd.num_calls() >= 3, "polled until the update finished");
    assert_eq!(action(&o, DATA), Action::NoChanges);
}

#[tokio::test]
async fn mocked_a_failed_update_names_the_root_cause_and_exits_1() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let rd = describe_sequence(
        DATA,
        vec![
            stack(&d, StackStatus::UpdateComplete, false, false),
            stack(&d, StackStatus::UpdateRollbackComplete, false, false),
        ],
    );
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::CreateComplete, true, false)],
    );
    let ev = events_after(
        DATA,
        1,
        vec![
            (
                "qfleet-mk-data",
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateComplete,
                None,
            ),
            (
                "qfleet-mk-data",
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateInProgress,
                None,
            ),
            (
                "Queue",
                "AWS::SQS::Queue",
                ResourceStatus::UpdateFailed,
                Some("Invalid value for the parameter VisibilityTimeout"),
            ),
            (
                "Topic",
                "AWS::SNS::Topic",
                ResourceStatus::UpdateFailed,
                Some("Resource update cancelled"),
            ),
            (
                "qfleet-mk-data",
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateRollbackComplete,
                None,
            ),
        ],
    );
    let (cc, cs, ex) = (
        create_cs(),
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![("Modify", "Queue", "AWS::SQS::Queue", Some("False"))],
        ),
        execute(),
    );
    let c = clients(&[&rd, &rf, &ev, &cc, &cs, &ex]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(!o.ok);
    assert_eq!(o.exit_code, 1);
    let err = o.error.unwrap().message;
    assert!(err.contains("UPDATE_ROLLBACK_COMPLETE"), "{err}");
    assert!(err.contains("root cause: Queue (AWS::SQS::Queue) UPDATE_FAILED: Invalid value for the parameter VisibilityTimeout"), "{err}");
}

#[tokio::test]
async fn mocked_an_empty_change_set_is_deleted_and_reported_as_no_changes() {
    let t = StaleData::new(change_set(
        ChangeSetStatus::Failed,
        Some(
            "The submitted information didn't contain changes. Submit different information to create a change set.",
        ),
        vec![],
    ));
    let o = t.run(Mode::Deploy, &opts(true)).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(action(&o, DATA), Action::NoChanges);
    assert_eq!((t.deleted(), t.executed()), (1, 0));
}

/// CloudFormation computes an executable change set without resource changes when only
/// outputs, the description or parameters change (the template fingerprint among them).
#[tokio::test]
async fn mocked_a_change_set_without_resource_changes_is_pending_as_aws_documents() {
    let t = StaleData::new(change_set(ChangeSetStatus::CreateComplete, None, vec![]));
    let o = t.run(Mode::Plan, &Options::default()).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(
        action(&o, DATA),
        Action::ChangesPending,
        "a new template without resource changes is still a change to deploy"
    );
    assert_eq!((t.deleted(), t.executed()), (1, 0));
}

#[tokio::test]
async fn mocked_replacing_a_queue_with_yes_needs_allow_replacement() {
    let t = StaleData::new(change_set(
        ChangeSetStatus::CreateComplete,
        None,
        vec![("Modify", "Queue", "AWS::SQS::Queue", Some("True"))],
    ));
    let o = t.run(Mode::Deploy, &opts(true)).await;
    assert!(!o.ok);
    assert_eq!(o.exit_code, 4, "refused to protect data");
    let error = o.error.as_ref().unwrap();
    assert_eq!(error.kind, "refused", "{o:?}");
    assert!(error.message.contains("--allow-replacement"), "{o:?}");
    assert_eq!(t.executed(), 0, "nothing executed");
    assert_eq!(t.deleted(), 1, "the change set is not left behind");
    // Issue 72: the outcome keeps what was refused, and nothing is deployed after it.
    assert_eq!(action(&o, DATA), Action::Refused, "{o:?}");
    let data = o.stacks.iter().find(|s| s.stack == DATA).unwrap();
    assert_eq!(data.changes.len(), 1, "the refused change is kept: {o:?}");
    assert!(
        o.stacks
            .iter()
            .all(|s| matches!(s.action, Action::Refused | Action::NoChanges)),
        "the fleet is not deployed after a refusal: {o:?}"
    );
}

#[tokio::test]
async fn mocked_plan_previews_and_deletes_the_change_set() {
    let t = StaleData::new(change_set(
        ChangeSetStatus::CreateComplete,
        None,
        vec![("Modify", "Queue", "AWS::SQS::Queue", Some("False"))],
    ));
    let o = t.run(Mode::Plan, &Options::default()).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(action(&o, DATA), Action::ChangesPending);
    assert_eq!(action(&o, FLEET), Action::NoChanges);
    assert_eq!((t.executed(), t.deleted()), (0, 1));
}

#[tokio::test]
async fn mocked_a_stack_in_delete_failed_is_not_deployed_over() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let d = desired(&e, StackRole::Data);
    let rd = describe_sequence(
        DATA,
        vec![stack(&d, StackStatus::DeleteFailed, true, false)],
    );
    let rf = missing(FLEET);
    // The fleet is prepared at the same time (its change set computed), then discarded.
    let (cs, computed, del, del_stack) = (
        create_cs(),
        change_set(ChangeSetStatus::CreateComplete, None, vec![]),
        delete_cs(),
        mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build()),
    );
    let c = clients(&[&rd, &rf, &cs, &computed, &del, &del_stack]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert_eq!(o.exit_code, 1);
    assert!(o.error.unwrap().message.contains("DELETE_FAILED"));
    assert_eq!(
        del.num_calls(),
        1,
        "the fleet's change set is not left behind"
    );
}

#[test]
fn mocked_root_cause_skips_cancelled_resources() {
    let ev = |id: &str, status: &str, reason: Option<&str>| crate::aws::ResourceEvent {
        event_id: id.into(),
        stack: "s".into(),
        logical_id: id.into(),
        resource_type: "AWS::SQS::Queue".into(),
        status: aws_sdk_cloudformation::types::ResourceStatus::from(status),
        reason: reason.map(str::to_string),
        timestamp: String::new(),
        operation_id: None,
    };
    let list = [
        ev("A", "CREATE_FAILED", Some("Resource creation cancelled")),
        ev("B", "CREATE_FAILED", Some("Access denied")),
    ];
    assert_eq!(crate::aws::root_cause(&list).unwrap().logical_id, "B");
}
