//! The property values of a change set, read from DescribeChangeSet's answer as AWS documents
//! it (the API reference's `ResourceChange`, `ResourceChangeDetail` and
//! `ResourceTargetDefinition`, and the user guide's `describe-change-set
//! --include-property-values` example): a `Details` entry per property, each with its `Path`,
//! `BeforeValue` / `AfterValue` (JSON text for structures), `AttributeChangeType` and
//! `RequiresRecreation`. moto returns no details at all; these answers are built by hand.

use super::*;
use crate::output::Answer;
use aws_sdk_cloudformation::types::{
    AttributeChangeType, ChangeSource, EvaluationType, RequiresRecreation, ResourceAttribute,
    ResourceChangeDetail, ResourceTargetDefinition,
};

struct Target {
    attribute: &'static str,
    name: Option<&'static str>,
    path: &'static str,
    change: &'static str,
    before: Option<&'static str>,
    after: Option<&'static str>,
    recreation: &'static str,
    evaluation: &'static str,
    source: &'static str,
    causing: Option<&'static str>,
}

fn detail(t: &Target) -> ResourceChangeDetail {
    let mut target = ResourceTargetDefinition::builder()
        .attribute(ResourceAttribute::from(t.attribute))
        .path(t.path)
        .attribute_change_type(AttributeChangeType::from(t.change))
        .requires_recreation(RequiresRecreation::from(t.recreation))
        .set_name(t.name.map(str::to_string))
        .set_before_value(t.before.map(str::to_string))
        .set_after_value(t.after.map(str::to_string));
    if t.attribute == "Properties" {
        target = target.attribute(ResourceAttribute::Properties);
    }
    ResourceChangeDetail::builder()
        .target(target.build())
        .evaluation(EvaluationType::from(t.evaluation))
        .change_source(ChangeSource::from(t.source))
        .set_causing_entity(t.causing.map(str::to_string))
        .build()
}

const VISIBILITY: Target = Target {
    attribute: "Properties",
    name: Some("VisibilityTimeout"),
    path: "/Properties/VisibilityTimeout",
    change: "Modify",
    before: Some("60"),
    after: Some("120"),
    recreation: "Never",
    evaluation: "Static",
    source: "DirectModification",
    causing: None,
};

/// The data stack's change set: the queue modified with `details`, its `Replacement` as given;
/// answered only when asked with IncludePropertyValues.
fn queue_change_set(replacement: &'static str, details: Vec<Target>) -> Rule {
    mock!(Cfn::describe_change_set)
        .match_requests(|r| r.include_property_values() == Some(true))
        .then_output(move || {
            let rc = ResourceChange::builder()
                .action(cfn_types::ChangeAction::Modify)
                .logical_resource_id("Queue")
                .physical_resource_id(
                    "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-mk-jobs",
                )
                .resource_type("AWS::SQS::Queue")
                .replacement(cfn_types::Replacement::from(replacement))
                .scope(ResourceAttribute::Properties)
                .set_details(Some(details.iter().map(detail).collect()))
                .build();
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .changes(
                    cfn_types::Change::builder()
                        .r#type(cfn_types::ChangeType::Resource)
                        .resource_change(rc)
                        .build(),
                )
                .build()
        })
}

fn asked(answers: &[Answer]) -> (Reporter, Options) {
    let reporter = Reporter::answering(
        Output {
            format: Format::Text,
            interactive: false,
            command: "test",
        },
        answers,
    );
    let o = Options {
        can_prompt: true,
        ..opts(false)
    };
    (reporter, o)
}

#[tokio::test]
async fn mocked_plan_reads_property_values_as_aws_documents() {
    let t = StaleData::new(queue_change_set(
        "False",
        vec![
            VISIBILITY,
            // The same path once more, caused by a parameter: one change, shown once.
            Target {
                source: "ParameterReference",
                causing: Some("VisibilityTimeout"),
                ..VISIBILITY
            },
            Target {
                attribute: "Tags",
                name: None,
                path: "/Properties/Tags/0",
                change: "Add",
                before: None,
                after: Some(r#"{"Key":"team","Value":"jobs"}"#),
                ..VISIBILITY
            },
            Target {
                name: Some("RedrivePolicy"),
                path: "/Properties/RedrivePolicy/maxReceiveCount",
                before: Some("5"),
                after: Some("3"),
                ..VISIBILITY
            },
        ],
    ));
    let o = t.run(Mode::Plan, &opts(false)).await;
    assert!(o.ok, "{o:?}");
    let data = o.stacks.iter().find(|s| s.stack == DATA).unwrap();
    let queue = &data.changes[0];
    let details = queue.details.as_ref().expect("details");
    assert_eq!(details.len(), 3, "{details:?}");
    let json = serde_json::to_value(queue).unwrap();
    assert_eq!(json["details"][0]["path"], "/Properties/VisibilityTimeout");
    assert_eq!(json["details"][0]["before"], "60");
    assert_eq!(json["details"][0]["after"], "120");
    assert_eq!(json["details"][0]["change"], "Modify");
    assert_eq!(json["details"][0]["requires_recreation"], "Never");
    assert_eq!(json["details"][1]["before"], serde_json::Value::Null);
    assert_eq!(
        json["details"][1]["after"],
        r#"{"Key":"team","Value":"jobs"}"#
    );
    let shown = crate::changes::changes(&data.changes);
    for line in [
        "~ modify  Queue (AWS::SQS::Queue)",
        "VisibilityTimeout: 60 → 120",
        r#"Tags[0]: (not set) → {"Key":"team","Value":"jobs"}"#,
        "RedrivePolicy.maxReceiveCount: 5 → 3",
    ] {
        assert!(shown.contains(line), "missing `{line}` in:\n{shown}");
    }
    assert!(!queue.loses_data());
}

#[tokio::test]
async fn mocked_the_deploy_question_shows_the_values_as_aws_documents() {
    let t = StaleData::new(queue_change_set("False", vec![VISIBILITY]));
    let (reporter, o) = asked(&[Answer::No]);
    let c = clients(&t.rules.iter().collect::<Vec<_>>());
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
    assert!(q.contains("      VisibilityTimeout: 60 → 120"), "{q}");
    assert!(q.contains("qfleet-mk-fleet: no changes"), "{q}");
    assert_eq!((t.executed(), t.deleted()), (0, 1));
}

#[tokio::test]
async fn mocked_a_conditional_replacement_is_a_possible_loss_as_aws_documents() {
    // "If the RequiresRecreation field is Always and the Evaluation field is Dynamic,
    // Replacement is Conditional" (ResourceChange, API reference).
    let t = StaleData::new(queue_change_set(
        "Conditional",
        vec![Target {
            name: Some("QueueName"),
            path: "/Properties/QueueName",
            before: Some("qfleet-mk-jobs"),
            after: Some("{{changeSet:KNOWN_AFTER_APPLY}}"),
            recreation: "Always",
            evaluation: "Dynamic",
            ..VISIBILITY
        }],
    ));
    let o = t.run(Mode::Deploy, &opts(true)).await;
    assert_eq!(o.exit_code, 4, "refused without --allow-replacement: {o:?}");
    assert_eq!(t.executed(), 0);
    let (reporter, on_tty) = asked(&[Answer::No]);
    let c = clients(&t.rules.iter().collect::<Vec<_>>());
    let o = environment(
        &c,
        &t.env,
        Mode::Deploy,
        &on_tty,
        &reporter,
        &InFlight::default(),
    )
    .await;
    assert!(o.cancelled);
    let q = &reporter.questions()[0];
    for expected in [
        "~ modify  Queue (AWS::SQS::Queue)  maybe replace",
        "QueueName: qfleet-mk-jobs → (known once deployed)  [replaces the resource if its value changes]",
        "WARNING: qfleet-mk-data: this change MAY REPLACE Queue",
        "mk: DATA WOULD BE LOST (Queue in qfleet-mk-data)",
    ] {
        assert!(q.contains(expected), "missing `{expected}` in:\n{q}");
    }
}

#[tokio::test]
async fn mocked_a_modification_without_details_is_unknown_not_unchanged() {
    // moto's answer: a Modify with neither Replacement nor Details.
    let t = StaleData::new(change_set(
        ChangeSetStatus::CreateComplete,
        None,
        vec![("Modify", "Queue", "AWS::SQS::Queue", None)],
    ));
    let o = t.run(Mode::Plan, &opts(false)).await;
    let data = o.stacks.iter().find(|s| s.stack == DATA).unwrap();
    assert_eq!(data.changes[0].details, None);
    let json = serde_json::to_value(&data.changes[0]).unwrap();
    assert!(json["details"].is_null(), "{json}");
    assert!(crate::changes::changes(&data.changes).contains(crate::changes::NOT_DETAILED));
}
