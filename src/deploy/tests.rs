//! Stack states and failure paths that moto's server cannot produce (rollback states, resource
//! events, empty or failed change sets, termination protection, outputs after a change set),
//! exercised against SDK-level mocks (aws-smithy-mocks). Every test name says `mocked`.

use super::*;
use crate::aws::Clients;
use crate::config;
use crate::output::{Format, Output};
use aws_sdk_cloudformation::Client as Cfn;
use aws_sdk_cloudformation::operation::continue_update_rollback::ContinueUpdateRollbackOutput;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use aws_sdk_cloudformation::types::{
    self as cfn_types, ChangeSetStatus, ResourceChange, ResourceStatus, StackStatus,
};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_types::error::ErrorMetadata;
use std::path::PathBuf;
use std::time::Duration;

const STACK_FILE: &str = "environment: mk\nregion: eu-west-1\nworkers:\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\n";
const DATA: &str = "qfleet-mk-data";
const FLEET: &str = "qfleet-mk-fleet";

fn env(yaml: &str) -> Environment {
    config::parse(PathBuf::from("stacks/mk.yaml"), yaml.to_string()).unwrap()
}

fn desired(env: &Environment, role: StackRole) -> DesiredStack {
    let rendered = render::render(env).unwrap();
    let s = rendered.iter().find(|s| s.role == role).unwrap();
    let network = (role == StackRole::Fleet).then(|| {
        let Network::Explicit(net) = &env.spec.workers.network else {
            unreachable!()
        };
        FleetNetwork::Place(Placement {
            vpc: net.vpc.clone(),
            subnets: net.subnets.clone(),
        })
    });
    DesiredStack::new(env, s, network.as_ref())
}

/// A DescribeStacks answer for a stack in `status` with the parameters and tags of `d`
/// (or a stale fingerprint when `current` is false).
fn stack(
    d: &DesiredStack,
    status: StackStatus,
    current: bool,
    protection: bool,
) -> DescribeStacksOutput {
    let mut b = cfn_types::Stack::builder()
        .stack_name(&d.name)
        .stack_id(format!(
            "arn:aws:cloudformation:eu-west-1:111122223333:stack/{}/1",
            d.name
        ))
        .stack_status(status)
        .enable_termination_protection(protection)
        .creation_time(aws_smithy_types::DateTime::from_secs(0));
    for (k, v) in &d.parameters {
        let value = match v {
            desired::Param::Value(v) if current || k != desired::FINGERPRINT_PARAMETER => v.clone(),
            _ => "stale".to_string(),
        };
        b = b.parameters(
            cfn_types::Parameter::builder()
                .parameter_key(k)
                .parameter_value(value)
                .build(),
        );
    }
    for (k, v) in &d.tags {
        b = b.tags(cfn_types::Tag::builder().key(k).value(v).build());
    }
    b = b.outputs(
        cfn_types::Output::builder()
            .output_key("QueueUrl")
            .output_value("https://sqs/q")
            .build(),
    );
    DescribeStacksOutput::builder().stacks(b.build()).build()
}

fn describe_sequence(name: &'static str, answers: Vec<DescribeStacksOutput>) -> Rule {
    let mut seq = mock!(Cfn::describe_stacks)
        .match_requests(move |r| r.stack_name() == Some(name))
        .sequence();
    let last = answers.len() - 1;
    for (i, a) in answers.into_iter().enumerate() {
        seq = seq.output(move || a.clone());
        if i == last {
            return seq.repeatedly().build();
        }
    }
    unreachable!()
}

fn missing(name: &'static str) -> Rule {
    mock!(Cfn::describe_stacks)
        .match_requests(move |r| r.stack_name() == Some(name))
        .then_error(move || {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message(format!("Stack with id {name} does not exist"))
                    .build(),
            )
        })
}

fn missing_then(name: &'static str, then: Vec<DescribeStacksOutput>) -> Rule {
    let mut seq = mock!(Cfn::describe_stacks)
        .match_requests(move |r| r.stack_name() == Some(name))
        .sequence()
        .error(move || {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message(format!("Stack with id {name} does not exist"))
                    .build(),
            )
        });
    let last = then.len() - 1;
    for (i, a) in then.into_iter().enumerate() {
        seq = seq.output(move || a.clone());
        if i == last {
            return seq.repeatedly().build();
        }
    }
    unreachable!()
}

type Event = (
    &'static str,
    &'static str,
    ResourceStatus,
    Option<&'static str>,
);

fn events(name: &'static str, list: Vec<Event>) -> Rule {
    events_after(name, 0, list)
}

/// Stack events: the first `before` of `list` (oldest first) exist before the operation, the
/// rest appear after the first DescribeStackEvents call.
fn events_after(name: &'static str, before: usize, list: Vec<Event>) -> Rule {
    let page = move |n: usize, list: &[Event]| {
        // Newest first, as CloudFormation returns them.
        let mut out = DescribeStackEventsOutput::builder();
        for (i, (id, ty, status, reason)) in list.iter().enumerate().take(n).rev() {
            let mut e = cfn_types::StackEvent::builder()
                .event_id(format!("e{i}"))
                .stack_name(name)
                .stack_id("id")
                .logical_resource_id(*id)
                .resource_type(*ty)
                .resource_status(status.clone())
                .timestamp(aws_smithy_types::DateTime::from_secs(i as i64));
            if let Some(r) = reason {
                e = e.resource_status_reason(*r);
            }
            out = out.stack_events(e.build());
        }
        out.build()
    };
    let (first, all) = (list.clone(), list);
    let n = all.len();
    mock!(Cfn::describe_stack_events)
        .match_requests(move |r| r.stack_name() == Some(name))
        .sequence()
        .output(move || page(before.max(1).min(n), &first))
        .output(move || page(n, &all))
        .repeatedly()
        .build()
}

fn change_set(
    status: ChangeSetStatus,
    reason: Option<&'static str>,
    changes: Vec<(
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    )>,
) -> Rule {
    mock!(Cfn::describe_change_set).then_output(move || {
        let mut b = DescribeChangeSetOutput::builder().status(status.clone());
        if let Some(r) = reason {
            b = b.status_reason(r);
        }
        for (action, id, ty, replacement) in &changes {
            let mut rc = ResourceChange::builder()
                .action(cfn_types::ChangeAction::from(*action))
                .logical_resource_id(*id)
                .resource_type(*ty);
            if let Some(r) = replacement {
                rc = rc.replacement(cfn_types::Replacement::from(*r));
            }
            b = b.changes(
                cfn_types::Change::builder()
                    .resource_change(rc.build())
                    .build(),
            );
        }
        b.build()
    })
}

fn create_cs() -> Rule {
    mock!(Cfn::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("cs-1")
            .stack_id("id")
            .build()
    })
}
fn execute() -> Rule {
    mock!(Cfn::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build())
}
fn delete_cs() -> Rule {
    mock!(Cfn::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build())
}
fn protection() -> Rule {
    mock!(Cfn::update_termination_protection)
        .then_output(|| UpdateTerminationProtectionOutput::builder().build())
}

/// The account (STS) and S3's answer that no bucket was kept by an earlier teardown, as every
/// first create of a data stack asks.
fn no_kept_bucket() -> (&'static Rule, &'static Rule) {
    let sts = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
            .account("111122223333")
            .build()
    });
    let s3 = mock!(aws_sdk_s3::Client::head_bucket).then_error(|| {
        aws_sdk_s3::operation::head_bucket::HeadBucketError::NotFound(
            aws_sdk_s3::types::error::NotFound::builder().build(),
        )
    });
    (Box::leak(Box::new(sts)), Box::leak(Box::new(s3)))
}

fn clients(rules: &[&Rule]) -> Clients {
    let (sts, s3) = no_kept_bucket();
    crate::aws::mock::Rules {
        cfn: rules.to_vec(),
        sts: vec![sts],
        s3: vec![s3],
        ..Default::default()
    }
    .clients()
}

fn opts(yes: bool) -> Options {
    Options {
        yes,
        polling: Polling {
            first: Duration::from_millis(1),
            max: Duration::from_millis(2),
        },
        queue_name_cooldown: Duration::from_millis(1),
        ..Default::default()
    }
}

async fn deploy(clients: &Clients, env: &Environment, mode: Mode, opts: &Options) -> EnvOutcome {
    let reporter = Reporter::new(Output {
        format: Format::Text,
        interactive: false,
    });
    environment(clients, env, mode, opts, &reporter, &InFlight::default()).await
}

fn action(o: &EnvOutcome, stack: &str) -> Action {
    o.stacks
        .iter()
        .find(|s| s.stack == stack)
        .unwrap_or_else(|| panic!("{stack} not in {o:?}"))
        .action
}

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
    let c = clients(&[&rd, &rf, &del]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(false)).await;
    assert!(!o.ok);
    assert_eq!(o.exit_code, 2);
    assert!(o.error.as_deref().unwrap().contains("pass --yes"), "{o:?}");
    assert_eq!(del.num_calls(), 0);
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
    let err = o.error.unwrap();
    assert!(err.contains("UPDATE_ROLLBACK_COMPLETE"), "{err}");
    assert!(err.contains("root cause: Queue (AWS::SQS::Queue) UPDATE_FAILED: Invalid value for the parameter VisibilityTimeout"), "{err}");
}

/// A lab environment whose data stack is out of date and whose fleet matches, with the
/// change-set calls answered: `change_set` says what CloudFormation computed.
struct StaleData {
    env: Environment,
    rules: [Rule; 6],
}

impl StaleData {
    fn new(change_set: Rule) -> StaleData {
        let env = env(&format!("{STACK_FILE}lab: true\n"));
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
                vec![stack(&f, StackStatus::CreateComplete, true, false)],
            ),
            create_cs(),
            change_set,
            delete_cs(),
            execute(),
        ];
        StaleData { env, rules }
    }

    async fn run(&self, mode: Mode, opts: &Options) -> EnvOutcome {
        let c = clients(&self.rules.iter().collect::<Vec<_>>());
        deploy(&c, &self.env, mode, opts).await
    }

    fn deleted(&self) -> usize {
        self.rules[4].num_calls()
    }

    fn executed(&self) -> usize {
        self.rules[5].num_calls()
    }
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
    assert!(
        o.error.as_deref().unwrap().contains("--allow-replacement"),
        "{o:?}"
    );
    assert_eq!(t.executed(), 0, "nothing executed");
    assert_eq!(t.deleted(), 1, "the change set is not left behind");
    assert!(
        o.stacks.is_empty(),
        "the fleet is not deployed after a refusal"
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
    let c = clients(&[&rd, &rf]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert_eq!(o.exit_code, 1);
    assert!(o.error.unwrap().contains("DELETE_FAILED"));
}

#[test]
fn mocked_root_cause_skips_cancelled_resources() {
    let ev =
        |id: &str, status: &str, reason: Option<&str>| crate::aws::stack_events::ResourceEvent {
            event_id: id.into(),
            stack: "s".into(),
            logical_id: id.into(),
            resource_type: "AWS::SQS::Queue".into(),
            status: aws_sdk_cloudformation::types::ResourceStatus::from(status),
            reason: reason.map(str::to_string),
            timestamp: String::new(),
        };
    let list = [
        ev("A", "CREATE_FAILED", Some("Resource creation cancelled")),
        ev("B", "CREATE_FAILED", Some("Access denied")),
    ];
    assert_eq!(
        crate::aws::stack_events::root_cause(&list)
            .unwrap()
            .logical_id,
        "B"
    );
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
    let notes = inflight.abandon().await;
    assert_eq!(
        del.num_calls(),
        1,
        "only the unexecuted change set is deleted"
    );
    assert!(
        notes
            .iter()
            .any(|n| n == "deleted the unexecuted change set of qfleet-mk-data"),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("qfleet-mk-fleet is still being updated")
                && n.contains("`qfleet deploy mk`")),
        "{notes:?}"
    );
}

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
        o.error.as_deref().unwrap().contains("alice-review"),
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
    let err = o.error.unwrap();
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
    let c = crate::aws::mock::Rules {
        cfn: vec![
            &rd, &rf, &import, &update, &cs_import, &cs_update, &ev, &ex, &tp,
        ],
        sts: vec![&sts],
        s3: vec![&kept],
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
