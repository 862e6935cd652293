//! Express mode, drift-aware change sets, pre-deployment validation and per-operation events,
//! against answers built as AWS documents them (emulators implement none of these):
//! - CreateChangeSet's `DeploymentConfig.Mode` (EXPRESS) and `DeploymentMode` (REVERT_DRIFT);
//! - a drift-aware DescribeChangeSet: `ResourceChange.ResourceDriftStatus`, and per property
//!   `ResourceTargetDefinition.BeforeValueFrom` and `Drift` (`PreviousValue`, `ActualValue`),
//!   "only present for drift-aware change sets";
//! - DescribeEvents: a change set's validation events (`ValidationName`, `ValidationStatus`,
//!   `ValidationFailureMode` FAIL or WARN, `ValidationPath`), and one operation's failed events
//!   (`OperationId`, `Filters.FailedEvents`).

use super::*;
use aws_sdk_cloudformation::operation::describe_events::DescribeEventsOutput;
use aws_sdk_cloudformation::types::{
    AttributeChangeType, BeforeValueFrom, DeploymentConfigMode, DeploymentMode, EventType,
    HookFailureMode, LiveResourceDrift, OperationEvent, RequiresRecreation, ResourceAttribute,
    ResourceChangeDetail, ResourceTargetDefinition, StackResourceDriftStatus, ValidationStatus,
};
use std::sync::{Arc, Mutex};

/// What each CreateChangeSet asked for: stack, deployment mode, express.
type Asked = Arc<Mutex<Vec<(String, Option<DeploymentMode>, bool)>>>;

fn create_recording(asked: &Asked) -> Rule {
    let asked = asked.clone();
    mock!(Cfn::create_change_set).then_compute_output(move |r| {
        let stack = r.stack_name().unwrap_or_default().to_string();
        let express = r
            .deployment_config()
            .and_then(|c| c.mode())
            .is_some_and(|m| *m == DeploymentConfigMode::Express);
        asked
            .lock()
            .unwrap()
            .push((stack.clone(), r.deployment_mode().cloned(), express));
        CreateChangeSetOutput::builder()
            .id(format!("cs-{stack}"))
            .stack_id("id")
            .build()
    })
}

/// The data stack's drift-aware change set: the queue's VisibilityTimeout was set to 120
/// outside CloudFormation (deployed 60); the template says 60. `drift`: whether the answer
/// carries the drift fields at all.
fn drifted_queue(drift: bool) -> Rule {
    mock!(Cfn::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some("cs-qfleet-mk-data"))
        .then_output(move || {
            let mut target = ResourceTargetDefinition::builder()
                .attribute(ResourceAttribute::Properties)
                .name("VisibilityTimeout")
                .path("/Properties/VisibilityTimeout")
                .attribute_change_type(AttributeChangeType::Modify)
                .requires_recreation(RequiresRecreation::Never)
                .before_value("120")
                .after_value("60");
            let mut rc = ResourceChange::builder()
                .action(cfn_types::ChangeAction::Modify)
                .logical_resource_id("Queue")
                .resource_type("AWS::SQS::Queue")
                .replacement(cfn_types::Replacement::False);
            if drift {
                target = target
                    .before_value_from(BeforeValueFrom::ActualState)
                    .drift(
                        LiveResourceDrift::builder()
                            .previous_value("60")
                            .actual_value("120")
                            .drift_detection_timestamp(aws_smithy_types::DateTime::from_secs(0))
                            .build(),
                    );
                rc = rc.resource_drift_status(StackResourceDriftStatus::Modified);
            }
            rc = rc.details(
                ResourceChangeDetail::builder()
                    .target(target.build())
                    .build(),
            );
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .changes(
                    cfn_types::Change::builder()
                        .r#type(cfn_types::ChangeType::Resource)
                        .resource_change(rc.build())
                        .build(),
                )
                .build()
        })
}

/// The fleet's change set: nothing changed (CloudFormation's documented reason).
fn fleet_unchanged() -> Rule {
    mock!(Cfn::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some("cs-qfleet-mk-fleet"))
        .then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::Failed)
                .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
                .build()
        })
}

/// Both stacks deployed from the current templates (the fast no-op would apply).
fn current(e: &Environment) -> [Rule; 2] {
    let (d, f) = (desired(e, StackRole::Data), desired(e, StackRole::Fleet));
    [
        describe_sequence(
            DATA,
            vec![stack(&d, StackStatus::UpdateComplete, true, false)],
        ),
        describe_sequence(
            FLEET,
            vec![stack(&f, StackStatus::CreateComplete, true, false)],
        ),
    ]
}

async fn plan_revert_drift(e: &Environment, drift: bool, asked: &Asked) -> EnvOutcome {
    let [rd, rf] = current(e);
    let (create, data_cs, fleet_cs, del) = (
        create_recording(asked),
        drifted_queue(drift),
        fleet_unchanged(),
        delete_cs(),
    );
    let c = clients(&[&rd, &rf, &create, &data_cs, &fleet_cs, &del]);
    let o = Options {
        revert_drift: true,
        ..opts(false)
    };
    deploy(&c, e, Mode::Plan, &o).await
}

#[tokio::test]
async fn mocked_revert_drift_previews_what_a_deploy_overwrites_per_property_as_aws_documents() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let asked = Asked::default();
    let o = plan_revert_drift(&e, true, &asked).await;
    assert!(o.ok, "{o:?}");
    // The templates are the deployed ones, yet both stacks get a drift-aware change set: only
    // CloudFormation can tell whether their resources drifted. In the standard mode: a lab's
    // express mode gives way to a drift-aware change set, which rolls back on failure.
    let mut calls = asked.lock().unwrap().clone();
    calls.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        calls,
        [
            (DATA.to_string(), Some(DeploymentMode::RevertDrift), false),
            (FLEET.to_string(), Some(DeploymentMode::RevertDrift), false),
        ]
    );
    let data = o.stacks.iter().find(|s| s.stack == DATA).unwrap();
    assert_eq!(data.action, Action::ChangesPending);
    let queue = &data.changes[0];
    assert_eq!(queue.drift.as_deref(), Some("MODIFIED"));
    let json = serde_json::to_value(queue).unwrap();
    assert_eq!(json["drift"], "MODIFIED");
    assert_eq!(json["details"][0]["before_from"], "ACTUAL_STATE");
    assert_eq!(json["details"][0]["drift"]["deployed"], "60");
    assert_eq!(json["details"][0]["drift"]["actual"], "120");
    let shown = crate::changes::changes(&data.changes);
    for line in [
        "~ modify  Queue (AWS::SQS::Queue)  [drifted: changed outside CloudFormation]",
        "VisibilityTimeout: 120 → 60  [changed outside CloudFormation (deployed: 60, actual: 120); this deploy overwrites it]",
    ] {
        assert!(shown.contains(line), "missing `{line}` in:\n{shown}");
    }
    assert!(data.notes.is_empty(), "{:?}", data.notes);
    let fleet = o.stacks.iter().find(|s| s.stack == FLEET).unwrap();
    assert_eq!(fleet.action, Action::NoChanges);
}

#[tokio::test]
async fn mocked_a_drift_aware_change_set_without_drift_fields_is_unknown_not_in_sync() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let o = plan_revert_drift(&e, false, &Asked::default()).await;
    let data = o.stacks.iter().find(|s| s.stack == DATA).unwrap();
    assert!(
        data.notes
            .iter()
            .any(|n| n.contains("reported no drift status")),
        "{:?}",
        data.notes
    );
}

#[tokio::test]
async fn mocked_express_only_where_the_stack_file_or_the_flag_asks_and_never_silently_when_protected()
 {
    // A lab: express by default. Outside labs (protected): standard, unless --express.
    for (yaml, flag, express) in [
        (format!("{STACK_FILE}lab: true\n"), None, true),
        (format!("{STACK_FILE}lab: true\n"), Some(false), false),
        (STACK_FILE.to_string(), None, false),
        (STACK_FILE.to_string(), Some(true), true),
        (
            format!("{STACK_FILE}lab: true\ntermination_protection: true\n"),
            None,
            false,
        ),
    ] {
        let e = env(&yaml);
        let asked = Asked::default();
        let [rd, rf] = current(&e);
        let (create, data_cs, fleet_cs, del) = (
            create_recording(&asked),
            drifted_queue(true),
            fleet_unchanged(),
            delete_cs(),
        );
        let c = clients(&[&rd, &rf, &create, &data_cs, &fleet_cs, &del]);
        let o = Options {
            force: true,
            express: flag,
            ..opts(false)
        };
        let out = deploy(&c, &e, Mode::Plan, &o).await;
        assert!(out.ok, "{out:?}");
        let calls = asked.lock().unwrap().clone();
        assert_eq!(calls.len(), 2);
        assert!(
            calls
                .iter()
                .all(|(_, mode, x)| *x == express && mode.is_none()),
            "{yaml} {flag:?}: {calls:?}"
        );
    }
    let protected = env(STACK_FILE);
    let said = super::super::express::express(
        &protected,
        &Options {
            express: Some(true),
            ..opts(false)
        },
    );
    assert!(said.0 && said.1.unwrap().contains("WARNING"));
}

fn validation(
    status: ValidationStatus,
    mode: HookFailureMode,
    name: &str,
    reason: &str,
) -> OperationEvent {
    OperationEvent::builder()
        .event_id("v1")
        .operation_id("op-cs")
        .event_type(EventType::ValidationError)
        .logical_resource_id("Queue")
        .resource_type("AWS::SQS::Queue")
        .validation_name(name)
        .validation_status(status)
        .validation_failure_mode(mode)
        .validation_status_reason(reason)
        .validation_path("/Resources/Queue/Properties")
        .build()
}

#[tokio::test]
async fn mocked_validation_warnings_are_in_the_question_as_aws_documents() {
    let t = StaleData::new(change_set(
        ChangeSetStatus::CreateComplete,
        None,
        vec![("Modify", "Queue", "AWS::SQS::Queue", Some("False"))],
    ));
    let events = mock!(Cfn::describe_events)
        .match_requests(|r| r.change_set_name() == Some("cs-1"))
        .then_output(|| {
            DescribeEventsOutput::builder()
                .operation_events(validation(
                    ValidationStatus::Failed,
                    HookFailureMode::Warn,
                    "ServiceQuotaCheck",
                    "the account is at its queue quota",
                ))
                .build()
        });
    let reporter = Reporter::answering(
        Output {
            format: Format::Text,
            interactive: false,
            command: "test",
        },
        &[crate::output::Answer::No],
    );
    let mut rules: Vec<&Rule> = vec![&events];
    rules.extend(t.rules.iter());
    let c = clients(&rules);
    let o = Options {
        can_prompt: true,
        ..opts(false)
    };
    let out = environment(
        &c,
        &t.env,
        Mode::Deploy,
        &o,
        &reporter,
        &InFlight::default(),
    )
    .await;
    assert!(out.cancelled, "{out:?}");
    let q = &reporter.questions()[0];
    assert!(
        q.contains("WARNING: qfleet-mk-data: pre-deployment validation ServiceQuotaCheck (Queue, /Resources/Queue/Properties): the account is at its queue quota"),
        "{q}"
    );
    assert_eq!(events.num_calls(), 1);
}

#[tokio::test]
async fn mocked_a_change_set_failed_by_validation_says_which_as_aws_documents() {
    let t = StaleData::new(change_set(
        ChangeSetStatus::Failed,
        Some("Pre-deployment validation failed"),
        vec![],
    ));
    let events = mock!(Cfn::describe_events).then_output(|| {
        DescribeEventsOutput::builder()
            .operation_events(validation(
                ValidationStatus::Failed,
                HookFailureMode::Fail,
                "ResourceNameConflict",
                "a queue named qfleet-mk-jobs already exists",
            ))
            .build()
    });
    let mut rules: Vec<&Rule> = vec![&events];
    rules.extend(t.rules.iter());
    let c = clients(&rules);
    let out = deploy(&c, &t.env, Mode::Deploy, &opts(true)).await;
    let error = out.error.map(|e| e.message).unwrap_or_default();
    assert!(
        error.contains("rejected the change set for qfleet-mk-data: Pre-deployment validation failed")
            && error.contains("validation ResourceNameConflict (Queue, /Resources/Queue/Properties): a queue named qfleet-mk-jobs already exists"),
        "{error}"
    );
}

#[tokio::test]
async fn mocked_a_failed_update_is_explained_by_its_own_operation_events_as_aws_documents() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    // The stack events say only that the update was cancelled; the operation's failed events
    // hold the handler's message.
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
            vec![stack(&f, StackStatus::CreateComplete, true, false)],
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
                    DATA,
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::UpdateInProgress,
                    None,
                ),
                (
                    "Queue",
                    "AWS::SQS::Queue",
                    ResourceStatus::UpdateFailed,
                    Some("Resource update cancelled"),
                ),
            ],
        ),
        create_cs(),
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![("Modify", "Queue", "AWS::SQS::Queue", Some("False"))],
        ),
        delete_cs(),
        execute(),
    ];
    let failed = mock!(Cfn::describe_events)
        .match_requests(|r| {
            r.operation_id() == Some("op-qfleet-mk-data")
                && r.filters().and_then(|f| f.failed_events()) == Some(true)
        })
        .then_output(|| {
            DescribeEventsOutput::builder()
                .operation_events(
                    OperationEvent::builder()
                        .event_id("f1")
                        .operation_id("op-qfleet-mk-data")
                        .event_type(EventType::ProvisioningError)
                        .logical_resource_id("Queue")
                        .resource_type("AWS::SQS::Queue")
                        .resource_status(ResourceStatus::UpdateFailed)
                        .resource_status_reason(
                            "Resource handler returned message: \"Value 50000 for parameter VisibilityTimeout is invalid\"",
                        )
                        .timestamp(aws_smithy_types::DateTime::from_secs(5))
                        .build(),
                )
                .build()
        });
    let mut all: Vec<&Rule> = vec![&failed];
    all.extend(rules.iter());
    let c = clients(&all);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    let error = o.error.map(|e| e.message).unwrap_or_default();
    assert!(
        error.contains("root cause: Queue (AWS::SQS::Queue) UPDATE_FAILED: Resource handler returned message: \"Value 50000 for parameter VisibilityTimeout is invalid\""),
        "{error}"
    );
    assert_eq!(failed.num_calls(), 1);
}

/// An endpoint that does not serve DescribeEvents (an HTML error page for it, as an emulator
/// without the API sends): the preview says so once a run, in one note, for every stack and
/// environment; each stack's validation stays unknown in the events, never "none".
#[tokio::test]
async fn mocked_an_endpoint_without_describe_events_is_noted_once_a_run() {
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    let html = mock!(Cfn::describe_events).then_http_response(|| {
        let mut r = HttpResponse::new(
            StatusCode::try_from(500).expect("a status"),
            SdkBody::from("<!doctype html><html><title>500 Internal Server Error</title></html>"),
        );
        r.headers_mut().insert("content-type", "text/html");
        r
    });
    let reporter = Reporter::answering(
        Output {
            format: Format::Text,
            interactive: false,
            command: "test",
        },
        &[crate::output::Answer::No, crate::output::Answer::No],
    );
    let o = Options {
        can_prompt: true,
        ..opts(false)
    };
    // Two environments of one run, each with a change set to preview.
    for _ in 0..2 {
        let t = StaleData::new(change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![("Modify", "Queue", "AWS::SQS::Queue", Some("False"))],
        ));
        let mut rules: Vec<&Rule> = vec![&html];
        rules.extend(t.rules.iter());
        let c = clients(&rules);
        let out = environment(
            &c,
            &t.env,
            Mode::Deploy,
            &o,
            &reporter,
            &InFlight::default(),
        )
        .await;
        assert!(out.cancelled, "{out:?}");
    }
    let questions = reporter.questions().join("\n");
    let note = "note: this endpoint does not serve CloudFormation DescribeEvents; pre-deployment validation results are not shown (CloudFormation still runs its checks when the change set executes)";
    assert_eq!(questions.matches(note).count(), 1, "{questions}");
    for gone in ["HTML page", "captive portal", "could not be read"] {
        assert!(!questions.contains(gone), "{gone}: {questions}");
    }
    // Machine-readable: each stack's validation is unknown, with why.
    let unread: Vec<String> = reporter
        .events()
        .into_iter()
        .filter_map(|e| match e {
            event::Event::ValidationUnread { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(unread.len(), 2, "{unread:?}");
    assert!(
        unread.iter().all(|m| m.contains(
            "this endpoint does not serve CloudFormation DescribeEvents (HTTP 500 with an HTML page)"
        )),
        "{unread:?}"
    );
}
