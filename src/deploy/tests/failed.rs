//! Express mode's rollback and the states an operation with rollback disabled leaves, against
//! answers built as AWS documents them (no emulator implements either):
//! - CloudFormation's express mode "disables rollback by default … To re-enable rollback …
//!   set disableRollback to false" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-express-mode.html,
//!   "Rollback behavior with express mode");
//! - a stack in CREATE_FAILED or UPDATE_FAILED takes a change set, and "When you update a stack
//!   that's in a FAILED state, you must select Preserve successfully provisioned resources"
//!   (rollback disabled), where "Immutable update types aren't supported"
//!   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html).

use super::*;
use aws_sdk_cloudformation::types::{DeploymentConfigMode, DeploymentMode};
use std::sync::{Arc, Mutex};

/// What each CreateChangeSet asked for: stack, type, express mode, DeploymentConfig's
/// DisableRollback, deployment mode.
type Sent = Arc<
    Mutex<
        Vec<(
            String,
            Option<cfn_types::ChangeSetType>,
            bool,
            Option<bool>,
            Option<DeploymentMode>,
        )>,
    >,
>;

fn recording(sent: &Sent) -> Rule {
    let sent = sent.clone();
    mock!(Cfn::create_change_set).then_compute_output(move |r| {
        let stack = r.stack_name().unwrap_or_default().to_string();
        let config = r.deployment_config();
        sent.lock().unwrap().push((
            stack.clone(),
            r.change_set_type().cloned(),
            config
                .and_then(|c| c.mode())
                .is_some_and(|m| *m == DeploymentConfigMode::Express),
            config.and_then(|c| c.disable_rollback()),
            r.deployment_mode().cloned(),
        ));
        CreateChangeSetOutput::builder()
            .id(format!("cs-{stack}"))
            .stack_id("id")
            .build()
    })
}

/// ExecuteChangeSet, recording its DisableRollback.
fn executing(flags: &Arc<Mutex<Vec<Option<bool>>>>) -> Rule {
    let flags = flags.clone();
    mock!(Cfn::execute_change_set).then_compute_output(move |r| {
        flags.lock().unwrap().push(r.disable_rollback());
        ExecuteChangeSetOutput::builder().build()
    })
}

fn modify_queue(replacement: &'static str) -> Rule {
    change_set(
        ChangeSetStatus::CreateComplete,
        None,
        vec![("Modify", "Queue", "AWS::SQS::Queue", Some(replacement))],
    )
}

/// A lab environment whose data stack answers DescribeStacks with `data` in turn (each built
/// from the desired stack: status, whether its fingerprint is current) and whose fleet is
/// deployed and current.
fn lab_with_data(data: &[(StackStatus, bool)]) -> (Environment, Rule, Rule) {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let answers = data
        .iter()
        .map(|(status, current)| stack(&d, status.clone(), *current, false))
        .collect();
    let rd = describe_sequence(DATA, answers);
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::CreateComplete, true, false)],
    );
    (e, rd, rf)
}

#[tokio::test]
async fn as_aws_documents_express_change_sets_send_disable_rollback_false() {
    let (e, rd, rf) = lab_with_data(&[(StackStatus::UpdateComplete, false)]);
    let sent = Sent::default();
    let (cc, cs, del) = (recording(&sent), modify_queue("False"), delete_cs());
    let c = clients(&[&rd, &rf, &cc, &cs, &del]);
    let o = deploy(&c, &e, Mode::Plan, &opts(false)).await;
    assert!(o.ok, "{o:?}");
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (_, kind, express, disable_rollback, mode) = &sent[0];
    assert_eq!(kind, &Some(cfn_types::ChangeSetType::Update));
    assert!(express, "a lab deploys in express mode");
    assert_eq!(
        disable_rollback,
        &Some(false),
        "rollback stays on: sent explicitly, since express mode disables it by default"
    );
    assert_eq!(mode, &None);
}

#[tokio::test]
async fn as_aws_documents_revert_drift_runs_in_the_standard_mode_even_in_an_express_lab() {
    let (e, rd, rf) = lab_with_data(&[(StackStatus::UpdateComplete, true)]);
    let sent = Sent::default();
    let (cc, cs, del) = (recording(&sent), modify_queue("False"), delete_cs());
    let c = clients(&[&rd, &rf, &cc, &cs, &del]);
    let o = Options {
        revert_drift: true,
        ..opts(false)
    };
    let out = deploy(&c, &e, Mode::Plan, &o).await;
    assert!(out.ok, "{out:?}");
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2, "{sent:?}");
    for (stack, _, express, disable_rollback, mode) in &sent {
        assert!(
            !express && disable_rollback.is_none(),
            "{stack}: no DeploymentConfig"
        );
        assert_eq!(mode, &Some(DeploymentMode::RevertDrift), "{stack}");
    }
    let (express, said) = super::super::express::express(&e, &o);
    assert!(!express);
    assert!(said.unwrap().contains("standard mode"));
}

#[test]
fn a_rollout_in_waves_deploys_in_the_standard_mode_unless_express_is_asked_for() {
    let envs = crate::config::parse(
        std::path::PathBuf::from("stacks/orders.yaml"),
        "region: eu-west-1\nlab: true\ntargets:\n  - name: a\n  - name: b\n    wave: 2\n".into(),
    )
    .unwrap()
    .expand();
    assert!(envs[0].express(), "a lab: express by default");
    let rollout = Options {
        rollout: true,
        ..opts(false)
    };
    let (express, said) = super::super::express::express(&envs[0], &rollout);
    assert!(!express);
    assert!(
        said.unwrap()
            .contains("a rollout in waves deploys in the standard mode"),
    );
    let asked = Options {
        express: Some(true),
        ..rollout.clone()
    };
    let (express, said) = super::super::express::express(&envs[1], &asked);
    assert!(express);
    assert!(
        said.unwrap()
            .starts_with("WARNING: orders-b: express mode in a rollout")
    );
    // Not a rollout (one target deployed alone): the stack file decides, as ever.
    assert_eq!(
        super::super::express::express(&envs[1], &opts(false)),
        (true, None)
    );
}

/// A stack an earlier express deploy (rollback disabled) left in UPDATE_FAILED carries the
/// failed update's parameters, the current fingerprint among them: the old fast no-op said "no
/// changes" over it. It is continued with rollback disabled instead.
#[tokio::test]
async fn as_aws_documents_an_update_failed_stack_is_continued_with_rollback_disabled() {
    let (e, rd, rf) = lab_with_data(&[
        (StackStatus::UpdateFailed, true),
        (StackStatus::UpdateInProgress, true),
        (StackStatus::UpdateComplete, true),
    ]);
    let ev = events(
        DATA,
        vec![(
            "Queue",
            "AWS::SQS::Queue",
            ResourceStatus::UpdateComplete,
            None,
        )],
    );
    let sent = Sent::default();
    let flags = Arc::new(Mutex::new(Vec::new()));
    let (cc, cs, ex) = (recording(&sent), modify_queue("False"), executing(&flags));
    let c = clients(&[&rd, &rf, &ev, &cc, &cs, &ex]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(o.ok, "{o:?}");
    assert_eq!(action(&o, DATA), Action::Updated, "never `no changes`");
    let data = o.stacks.iter().find(|s| s.stack == DATA).unwrap();
    assert!(
        data.notes
            .iter()
            .any(|n| n.contains("UPDATE_FAILED") && n.contains("rollback disabled")),
        "{:?}",
        data.notes
    );
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1, Some(cfn_types::ChangeSetType::Update));
    assert_eq!(
        sent[0].3,
        Some(true),
        "express goes on with rollback disabled"
    );
    assert_eq!(
        *flags.lock().unwrap(),
        [Some(true)],
        "executed with DisableRollback"
    );
}

#[tokio::test]
async fn as_aws_documents_a_failed_stack_with_nothing_to_change_is_an_error_not_no_changes() {
    let (e, rd, rf) = lab_with_data(&[(StackStatus::UpdateFailed, true)]);
    let (cc, cs, del, ex) = (
        create_cs(),
        change_set(
            ChangeSetStatus::Failed,
            Some(
                "The submitted information didn't contain changes. Submit different information to create a change set.",
            ),
            vec![],
        ),
        delete_cs(),
        execute(),
    );
    let c = clients(&[&rd, &rf, &cc, &cs, &del, &ex]);
    for mode in [Mode::Plan, Mode::Deploy] {
        let o = deploy(&c, &e, mode, &opts(true)).await;
        assert!(!o.ok, "{mode:?}: {o:?}");
        assert_eq!(o.exit_code, 1);
        let err = o.error.unwrap().message;
        assert!(err.contains("is in UPDATE_FAILED"), "{err}");
        assert!(
            err.contains("rollback-stack") && err.contains("qfleet teardown mk"),
            "{err}"
        );
    }
    assert_eq!(ex.num_calls(), 0);
}

#[tokio::test]
async fn as_aws_documents_a_failed_stack_refuses_a_replacement_before_executing() {
    let (e, rd, rf) = lab_with_data(&[(StackStatus::CreateFailed, false)]);
    let (cc, cs, del, ex) = (create_cs(), modify_queue("True"), delete_cs(), execute());
    let c = clients(&[&rd, &rf, &cc, &cs, &del, &ex]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(!o.ok, "{o:?}");
    let err = o.error.unwrap().message;
    assert!(
        err.contains("CREATE_FAILED") && err.contains("replace a resource (Queue)"),
        "{err}"
    );
    assert_eq!(ex.num_calls(), 0, "nothing executed");
    assert!(del.num_calls() >= 1, "the change set is not left behind");
}

/// A create that failed because SQS still held the queue's name is retried only from nothing:
/// a stack that did not roll back (CREATE_FAILED) is not created over.
#[tokio::test]
async fn as_aws_documents_the_queue_name_retry_never_creates_over_a_stack_that_still_exists() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let rd = missing_then(
        DATA,
        vec![stack(&d, StackStatus::CreateFailed, true, false)],
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
            ResourceStatus::CreateFailed,
            Some(
                "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
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
    let del = mock!(Cfn::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let c = clients(&[&rd, &rf, &ev, &cc, &cs, &ex, &del]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(!o.ok, "{o:?}");
    let err = o.error.unwrap().message;
    assert!(
        err.contains("is in CREATE_FAILED") && err.contains("not created again"),
        "{err}"
    );
    assert_eq!((cc.num_calls(), ex.num_calls(), del.num_calls()), (1, 1, 0));
}

/// AWS documents DeploymentConfig for CREATE and UPDATE change sets and says nothing of IMPORT
/// (CreateChangeSet, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html;
/// "Import AWS resources into a CloudFormation stack"): an import goes in the standard mode
/// and is never drift-aware, even in an express lab run with --revert-drift.
#[tokio::test]
async fn as_aws_documents_an_import_change_set_carries_no_deployment_config() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let mut d = desired(&e, StackRole::Data);
    d.express = true;
    d.revert_drift = true;
    let sent = Sent::default();
    let cc = recording(&sent);
    let c = clients(&[&cc]);
    let req = crate::aws::ChangeSetRequest {
        import: Some(crate::aws::ResourceToImport {
            resource_type: "AWS::S3::Bucket",
            logical_id: "Bucket",
            identifier: ("BucketName", "mk-uploads-111122223333-eu-west-1"),
        }),
        ..d.request(true)
    };
    crate::aws::create_change_set(&c.cfn, &req, "qfleet-1")
        .await
        .unwrap();
    let sent = sent.lock().unwrap().clone();
    assert_eq!(
        sent,
        [(
            DATA.to_string(),
            Some(cfn_types::ChangeSetType::Import),
            false,
            None,
            None
        )]
    );
}

/// The states CloudFormation lets only a delete or a repair go on from each say what to do
/// ("ROLLBACK_FAILED: … delete the stack", "DELETE_FAILED: … delete the stack again",
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html#cfn-console-view-stack-data-resources-status-codes),
/// and nothing is sent to them.
#[tokio::test]
async fn as_aws_documents_stacks_only_a_delete_or_a_repair_can_fix_say_what_to_do() {
    for (status, says) in [
        (StackStatus::RollbackFailed, "only deleting it"),
        (StackStatus::DeleteFailed, "deletes it again"),
        (StackStatus::ImportRollbackFailed, "repair the resource"),
    ] {
        let (e, rd, rf) = lab_with_data(&[(status.clone(), true)]);
        let (cc, ex) = (create_cs(), execute());
        let c = clients(&[&rd, &rf, &cc, &ex]);
        let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
        let err = o.error.clone().map(|e| e.message).unwrap_or_default();
        assert!(!o.ok && o.exit_code == 1, "{status:?}: {o:?}");
        assert!(
            err.contains(status.as_str())
                && err.contains(says)
                && err.contains("qfleet teardown mk"),
            "{err}"
        );
        assert_eq!(ex.num_calls(), 0);
    }
}
