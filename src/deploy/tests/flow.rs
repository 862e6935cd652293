//! One question per environment: both previews, one answer, both stacks or neither.

use super::logged::*;
use super::*;
use crate::output::Answer;

/// A lab environment whose two stacks are both out of date, each with one change computed
/// (`queue_replacement`: what CloudFormation says about the data stack's queue).
struct BothStale {
    env: Environment,
    log: Log,
    rules: Vec<Rule>,
}

impl BothStale {
    fn new(queue_replacement: &'static str) -> BothStale {
        let env = env(&format!("{STACK_FILE}lab: true\n"));
        let (d, f) = (
            desired(&env, StackRole::Data),
            desired(&env, StackRole::Fleet),
        );
        let log = Log::default();
        let rules = vec![
            describe_sequence(
                DATA,
                vec![stack(&d, StackStatus::UpdateComplete, false, false)],
            ),
            describe_sequence(
                FLEET,
                vec![stack(&f, StackStatus::UpdateComplete, false, false)],
            ),
            events(
                DATA,
                vec![(
                    "Queue",
                    "AWS::SQS::Queue",
                    ResourceStatus::UpdateComplete,
                    None,
                )],
            ),
            events(
                FLEET,
                vec![(
                    "WorkerGroup",
                    "AWS::AutoScaling::AutoScalingGroup",
                    ResourceStatus::UpdateComplete,
                    None,
                )],
            ),
            create_cs_logged(&log),
            change_set_of(
                DATA,
                "Modify",
                "Queue",
                "AWS::SQS::Queue",
                Some(queue_replacement),
            ),
            change_set_of(
                FLEET,
                "Modify",
                "LaunchTemplate",
                "AWS::EC2::LaunchTemplate",
                Some("False"),
            ),
            execute_logged(&log),
            delete_cs_logged(&log),
        ];
        BothStale { env, log, rules }
    }

    async fn run(&self, reporter: &Reporter, opts: &Options) -> EnvOutcome {
        let c = clients(&self.rules.iter().collect::<Vec<_>>());
        environment(
            &c,
            &self.env,
            Mode::Deploy,
            opts,
            reporter,
            &InFlight::default(),
        )
        .await
    }
}

fn on_terminal() -> Options {
    Options {
        can_prompt: true,
        ..opts(false)
    }
}

fn text() -> Output {
    Output {
        format: Format::Text,
        interactive: false,
        command: "test",
    }
}

#[tokio::test]
async fn mocked_one_question_shows_both_stacks_then_data_and_fleet_are_executed_in_order() {
    let t = BothStale::new("False");
    let reporter = Reporter::answering(text(), &[Answer::Yes]);
    let o = t.run(&reporter, &on_terminal()).await;
    assert!(o.ok && !o.cancelled, "{o:?}");
    let asked = reporter.questions();
    assert_eq!(
        asked.len(),
        1,
        "one question for the environment: {asked:?}"
    );
    let q = &asked[0];
    // Both previews above the one question.
    assert!(
        q.contains("qfleet-mk-data: update (1 change)")
            && q.contains("~ modify  Queue (AWS::SQS::Queue)"),
        "{q}"
    );
    assert!(
        q.contains("qfleet-mk-fleet: update (1 change)") && q.contains("LaunchTemplate"),
        "{q}"
    );
    assert!(
        q.ends_with("mk: deploy these changes (qfleet-mk-data, then qfleet-mk-fleet)? [y/N]"),
        "{q}"
    );
    // Both change sets exist before either is executed; the data stack goes first.
    assert_eq!(
        logged(&t.log),
        [
            "create qfleet-mk-data",
            "create qfleet-mk-fleet",
            "execute qfleet-mk-data",
            "execute qfleet-mk-fleet"
        ]
    );
    assert_eq!(
        (action(&o, DATA), action(&o, FLEET)),
        (Action::Updated, Action::Updated)
    );
}

#[tokio::test]
async fn mocked_no_deletes_both_change_sets_and_changes_nothing() {
    let t = BothStale::new("False");
    let reporter = Reporter::answering(text(), &[Answer::No]);
    let o = t.run(&reporter, &on_terminal()).await;
    assert!(o.ok && o.cancelled, "cancelled is not a failure: {o:?}");
    assert_eq!(
        (o.exit_code, o.error.as_ref().map(|e| e.message.as_str())),
        (crate::error::Exit::Ok, None)
    );
    assert!(reporter.declined("mk"));
    assert_eq!(
        logged(&t.log),
        [
            "create qfleet-mk-data",
            "create qfleet-mk-fleet",
            "delete-change-set qfleet-mk-data",
            "delete-change-set qfleet-mk-fleet"
        ]
    );
    assert_eq!(
        (action(&o, DATA), action(&o, FLEET)),
        (Action::Cancelled, Action::Cancelled)
    );
}

#[tokio::test]
async fn mocked_no_to_a_first_deploy_also_deletes_the_review_stack_it_made() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let d = desired(&e, StackRole::Data);
    let log = Log::default();
    let gone = || {
        DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("Stack with id qfleet-mk-fleet does not exist")
                .build(),
        )
    };
    let review = cfn_types::Stack::builder()
        .stack_name(FLEET)
        .stack_id("id")
        .stack_status(StackStatus::ReviewInProgress)
        .creation_time(aws_smithy_types::DateTime::from_secs(0))
        .build();
    // The fleet does not exist; its first change set made a review stack, deleted after the no.
    let rf = mock!(Cfn::describe_stacks)
        .match_requests(|r| r.stack_name() == Some(FLEET))
        .sequence()
        .error(gone)
        .output(move || {
            DescribeStacksOutput::builder()
                .stacks(review.clone())
                .build()
        })
        .error(gone)
        .repeatedly()
        .build();
    let rules = [
        describe_sequence(
            DATA,
            vec![stack(&d, StackStatus::UpdateComplete, false, false)],
        ),
        events(
            FLEET,
            vec![(
                FLEET,
                "AWS::CloudFormation::Stack",
                ResourceStatus::from("REVIEW_IN_PROGRESS"),
                None,
            )],
        ),
        create_cs_logged(&log),
        change_set_of(DATA, "Modify", "Queue", "AWS::SQS::Queue", Some("False")),
        change_set_of(
            FLEET,
            "Add",
            "WorkerGroup",
            "AWS::AutoScaling::AutoScalingGroup",
            None,
        ),
        execute_logged(&log),
        delete_cs_logged(&log),
        mock!(Cfn::delete_stack)
            .match_requests(|r| r.stack_name() == Some(FLEET))
            .then_output(|| DeleteStackOutput::builder().build()),
    ];
    let mut all: Vec<&Rule> = rules.iter().collect();
    all.push(&rf);
    let c = clients(&all);
    let reporter = Reporter::answering(text(), &[Answer::No]);
    let o = environment(
        &c,
        &e,
        Mode::Deploy,
        &on_terminal(),
        &reporter,
        &InFlight::default(),
    )
    .await;
    assert!(o.ok && o.cancelled, "{o:?}");
    assert!(
        !logged(&log).iter().any(|l| l.starts_with("execute")),
        "{:?}",
        logged(&log)
    );
    assert_eq!(
        rules[7].num_calls(),
        1,
        "the fleet's review stack is deleted"
    );
    assert!(reporter.questions()[0].contains("qfleet-mk-fleet: create (1 change)"));
}

#[tokio::test]
async fn mocked_yes_to_all_answers_the_next_environments_but_never_a_loss_of_data() {
    let reporter = Reporter::answering(text(), &[Answer::All, Answer::No]);
    reporter.several_environments(true);
    let first = BothStale::new("False");
    assert!(first.run(&reporter, &on_terminal()).await.ok);
    let second = BothStale::new("False");
    let o = second.run(&reporter, &on_terminal()).await;
    assert!(o.ok && !o.cancelled, "answered by the a: {o:?}");
    assert_eq!(
        logged(&second.log)
            .iter()
            .filter(|l| l.starts_with("execute"))
            .count(),
        2
    );
    let lossy = BothStale::new("True");
    let o = lossy.run(&reporter, &on_terminal()).await;
    assert!(
        o.cancelled,
        "the question that loses data is asked and answered no: {o:?}"
    );
    let asked = reporter.questions();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked[0].ends_with("[y/N/a: yes to all]"), "{}", asked[0]);
    assert!(
        asked[1].contains("WARNING: qfleet-mk-data: this change REPLACES Queue")
            && asked[1]
                .contains("mk: DATA WOULD BE LOST (Queue in qfleet-mk-data). Deploy these changes"),
        "{}",
        asked[1]
    );
    assert!(!logged(&lossy.log).iter().any(|l| l.starts_with("execute")));
}

#[tokio::test]
async fn mocked_updates_of_both_stacks_run_together_and_a_failed_data_stack_fails_the_environment()
{
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let log = Log::default();
    let rules = [
        describe_sequence(
            DATA,
            vec![
                stack(&d, StackStatus::UpdateComplete, false, false),
                stack(&d, StackStatus::UpdateRollbackComplete, false, false),
            ],
        ),
        describe_sequence(
            FLEET,
            vec![stack(&f, StackStatus::UpdateComplete, false, false)],
        ),
        events_after(
            DATA,
            1,
            vec![
                (
                    DATA,
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::UpdateComplete,
                    None,
                ),
                (
                    "Queue",
                    "AWS::SQS::Queue",
                    ResourceStatus::UpdateFailed,
                    Some("Invalid value"),
                ),
            ],
        ),
        events_after(
            FLEET,
            1,
            vec![(
                FLEET,
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateComplete,
                None,
            )],
        ),
        create_cs_logged(&log),
        change_set_of(DATA, "Modify", "Queue", "AWS::SQS::Queue", Some("False")),
        change_set_of(
            FLEET,
            "Modify",
            "LaunchTemplate",
            "AWS::EC2::LaunchTemplate",
            Some("False"),
        ),
        execute_logged(&log),
        delete_cs_logged(&log),
    ];
    let c = clients(&rules.iter().collect::<Vec<_>>());
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert!(
        o.error
            .as_ref()
            .unwrap()
            .message
            .contains("deploying qfleet-mk-data failed")
    );
    // Both stacks stand and the data stack's update keeps its queue: the two change sets run
    // at the same time, so the fleet's is executed although the data stack's fails.
    let mut calls = logged(&log);
    calls.sort();
    assert_eq!(
        calls,
        [
            "create qfleet-mk-data",
            "create qfleet-mk-fleet",
            "execute qfleet-mk-data",
            "execute qfleet-mk-fleet",
        ]
    );
    assert_eq!(action(&o, FLEET), Action::Updated, "{o:?}");
}

/// Issue 57: a SIGTERM that cut an ExecuteChangeSet off half-way left the stack in
/// REVIEW_IN_PROGRESS while the run said it was being updated. The call now runs as a task of
/// its own, and an interrupted run waits for its answer: executed, the stack is named as
/// updating and its change set kept; refused, the change set is deleted like any unexecuted one.
#[tokio::test]
async fn mocked_an_interruption_waits_for_the_answer_to_an_execute_on_its_way() {
    let change_set = crate::aws::ChangeSet {
        id: "cs-1".into(),
        stack: DATA.into(),
        changes: Vec::new(),
        empty: false,
        validations: Vec::new(),
        validation_unread: None,
        made: true,
    };
    for refused in [false, true] {
        let del = delete_cs();
        let exec = if refused {
            mock!(Cfn::execute_change_set).then_error(|| {
                aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetError::generic(
                    ErrorMetadata::builder()
                        .code("InvalidChangeSetStatus")
                        .message("not executable")
                        .build(),
                )
            })
        } else {
            mock!(Cfn::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build())
        };
        let c = clients(&[&exec, &del]);
        let inflight = InFlight::default();
        inflight.add(&c.cfn, DATA, "cs-1", "mk", None);
        // The run is cut off at once, the call on its way.
        let cut = futures::FutureExt::now_or_never(inflight.execute(&c.cfn, &change_set, false));
        assert!(cut.is_none(), "the run was not cut off");
        let (stopped, notes) = interrupt(&inflight).await;
        assert_eq!(exec.num_calls(), 1, "the execute was sent once");
        if refused {
            assert_eq!(del.num_calls(), 1, "{notes:?}");
            assert_eq!(
                notes,
                ["mk: deleted the unexecuted change set of qfleet-mk-data"]
            );
            assert_eq!(
                stopped.left_behind[0].what,
                "the unexecuted change set of qfleet-mk-data"
            );
            assert!(stopped.under_way.is_empty(), "{stopped:?}");
        } else {
            assert_eq!(del.num_calls(), 0, "{notes:?}");
            assert_eq!(stopped.under_way, ["deploy qfleet-mk-data"]);
            assert!(stopped.left_behind.is_empty(), "{stopped:?}");
        }
    }
}

#[tokio::test]
async fn mocked_ctrl_c_deletes_unexecuted_change_sets_and_names_stacks_still_updating() {
    let del = delete_cs();
    let c = clients(&[&del]);
    let inflight = InFlight::default();
    // Registered by name before CreateChangeSet is answered, then by the id it returns.
    inflight.add(&c.cfn, DATA, "qfleet-1", "mk", None);
    inflight.add(&c.cfn, FLEET, "qfleet-2", "mk", None);
    inflight.identified("qfleet-2", "cs-running");
    inflight.executing("cs-running");
    let (stopped, notes) = interrupt(&inflight).await;
    assert_eq!(
        del.num_calls(),
        1,
        "only the unexecuted change set is deleted"
    );
    assert_eq!(
        notes,
        ["mk: deleted the unexecuted change set of qfleet-mk-data"]
    );
    assert_eq!(stopped.under_way, ["deploy qfleet-mk-fleet"]);
    assert_eq!(stopped.left_behind.len(), 1, "{stopped:?}");
    assert!(
        stopped.left_behind[0]
            .cleanup
            .contains("the next `qfleet deploy mk`"),
        "{stopped:?}"
    );
}

/// What an interrupted run does with `inflight` (as `many::stopped`): waits for an execute on
/// its way, says where it left `mk`, then cleans up; where it left it, and the lines said.
async fn interrupt(inflight: &InFlight) -> (crate::error::Stopped, Vec<String>) {
    inflight.settle().await;
    let mut stopped = crate::error::Stopped {
        environment: "mk".into(),
        ..Default::default()
    };
    inflight.add_to(&mut stopped);
    let said = std::sync::Mutex::new(Vec::new());
    inflight
        .clean_up(|line| said.lock().unwrap().push(line))
        .await;
    (stopped, said.into_inner().unwrap())
}

#[tokio::test]
async fn mocked_a_refused_execution_leaves_no_change_set_behind() {
    let mut t = StaleData::new(change_set(
        ChangeSetStatus::CreateComplete,
        None,
        vec![("Modify", "Queue", "AWS::SQS::Queue", Some("False"))],
    ));
    // CloudFormation refuses to execute a change set that is not executable (its documented
    // InvalidChangeSetStatus error): it did not run, so it goes like any unexecuted one.
    t.rules[5] = mock!(Cfn::execute_change_set).then_error(|| {
        aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetError::generic(
            ErrorMetadata::builder()
                .code("InvalidChangeSetStatus")
                .message("ChangeSet [cs-1] cannot be executed in its current status of [OBSOLETE]")
                .build(),
        )
    });
    let ev = events(DATA, vec![]);
    let mut rules: Vec<&Rule> = t.rules.iter().collect();
    rules.push(&ev);
    let o = deploy(&clients(&rules), &t.env, Mode::Deploy, &opts(true)).await;
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert!(o.error.unwrap().message.contains("InvalidChangeSetStatus"));
    assert_eq!(t.deleted(), 1, "the refused change set is deleted");
}

/// An interrupted plan says where it stopped in a plan's words: the steps it had not reached
/// are plans of stacks, never "deploy" (issue 57: the summary said "deploy" for a plan).
#[tokio::test]
async fn mocked_an_interrupted_plans_summary_says_plan_not_deploy() {
    // The change sets are never answered: the plan stops where an interrupt would find it.
    let (_, reporter) = plan_refused_at_create("Throttling", "").await;
    let said = crate::error::Error::from(crate::error::Interruption::Deploy {
        environments: vec![reporter.ledger.stopped("mk", "eu-west-1", None)],
    })
    .to_string();
    assert!(said.contains("plan qfleet-mk-data"), "{said}");
    assert!(!said.contains("deploy"), "{said}");
}

/// A plan of both stacks, deployed and up to date, whose every CreateChangeSet is answered
/// with the error `code` and `message` (a change set to delete answered too): its outcome, and
/// its reporter (what its ledger says).
async fn plan_refused_at_create(
    code: &'static str,
    message: &'static str,
) -> (EnvOutcome, Reporter) {
    let env = env(STACK_FILE);
    let (d, f) = (
        desired(&env, StackRole::Data),
        desired(&env, StackRole::Fleet),
    );
    let rules = [
        describe_sequence(
            DATA,
            vec![stack(&d, StackStatus::UpdateComplete, false, false)],
        ),
        describe_sequence(
            FLEET,
            vec![stack(&f, StackStatus::UpdateComplete, false, false)],
        ),
        mock!(Cfn::create_change_set).then_error(move || {
            aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetError::generic(
                ErrorMetadata::builder().code(code).message(message).build(),
            )
        }),
        delete_cs(),
    ];
    let reporter = Reporter::new(Output {
        format: Format::Text,
        interactive: false,
        command: "plan",
    });
    let c = clients(&rules.iter().collect::<Vec<_>>());
    let mut o = opts(true);
    o.polling.max = Duration::from_millis(1);
    let outcome = environment(&c, &env, Mode::Plan, &o, &reporter, &InFlight::default()).await;
    (outcome, reporter)
}

/// Issue 72: an endpoint that refuses CreateChangeSet with CloudFormation's "No updates are
/// to be performed" (moto does, for a change of the stack's tags alone) has said nothing
/// changes: the plan says no changes for that stack, never an error, and leaves nothing.
#[tokio::test]
async fn mocked_a_change_set_refused_as_nothing_to_update_is_no_changes() {
    let (o, reporter) =
        plan_refused_at_create("ValidationError", "No updates are to be performed.").await;
    assert!(o.ok, "{o:?}");
    assert_eq!(action(&o, DATA), Action::NoChanges, "{o:?}");
    assert_eq!(action(&o, FLEET), Action::NoChanges, "{o:?}");
    // No change set was made: none is announced (a `change_set` event names one with its id).
    let made: Vec<_> = reporter
        .events()
        .into_iter()
        .filter(|e| matches!(e, crate::deploy::event::Event::ChangeSet { .. }))
        .collect();
    assert!(made.is_empty(), "{made:?}");
}
