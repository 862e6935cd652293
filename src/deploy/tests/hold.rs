//! A deploy that turns the budget hold off (mocked CloudFormation and Lambda, named so): the
//! data stack's change set removes the hold's function, so the function gives the held fleets
//! back before anything executes; a function that cannot stops the deploy, nothing executed.

use super::*;

/// Lambda answering Invoke with `answer` (status, body), keeping what it was sent.
fn lambda(status: u16, answer: &'static str) -> crate::aws::fake::Fake {
    crate::aws::fake::Fake::new(move |_| (status, answer.to_string()))
}

async fn turned_off(l: &crate::aws::fake::Fake) -> (EnvOutcome, StaleData) {
    let t = StaleData::new(change_set(
        ChangeSetStatus::CreateComplete,
        None,
        vec![("Remove", "BudgetHold", "AWS::Lambda::Function", None)],
    ));
    let (sts, s3) = no_kept_bucket();
    let ev = Box::leak(Box::new(events(DATA, vec![])));
    let mut cfn: Vec<&Rule> = t.rules.iter().collect();
    cfn.push(ev);
    cfn.push(no_operation_events());
    let c = crate::aws::mock::Rules {
        cfn,
        cloudwatch: vec![no_rollback_alarms()],
        sts: vec![sts],
        s3: vec![s3],
        ec2: Some(the_network_of_stack_file()),
        lambda: Some(l.clone()),
        ..Default::default()
    }
    .clients();
    let o = deploy(&c, &t.env, Mode::Deploy, &opts(true)).await;
    (o, t)
}

#[tokio::test]
async fn mocked_the_hold_s_function_gives_the_fleets_back_before_the_deploy_deletes_it() {
    let l = lambda(
        200,
        r#"{"fleets": [{"stage": null, "fleet": "qfleet-mk-workers", "action": "released", "max": 4}]}"#,
    );
    let (o, t) = turned_off(&l).await;
    assert_eq!(o.exit_code, 0, "{o:?}");
    let sent = l.requests();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]
            .uri
            .ends_with("/2015-03-31/functions/qfleet-mk-budget-hold/invocations"),
        "{}",
        sent[0].uri
    );
    assert_eq!(sent[0].json(), serde_json::json!({"qfleet": "give back"}));
    assert_eq!(t.executed(), 1);
}

#[tokio::test]
async fn mocked_a_function_that_cannot_give_back_stops_the_deploy_before_any_change() {
    // Lambda answers 200 with the function's error (Invoke, RequestResponse).
    let l = lambda(
        200,
        r#"{"errorMessage": "1 fleet(s) failed, first: qfleet-mk-workers: ClientError: AccessDenied", "errorType": "RuntimeError"}"#,
    );
    let (o, t) = turned_off(&l).await;
    assert_ne!(o.exit_code, 0, "{o:?}");
    let message = o.error.unwrap().message;
    assert!(
        message.contains("could not give the held fleets back")
            && message.contains("RuntimeError: 1 fleet(s) failed")
            && message.contains("Nothing was deployed"),
        "{message}"
    );
    assert_eq!(t.executed(), 0);
    assert_eq!(t.deleted(), 1, "its change set goes");
}

/// plan says that the deploy will give the fleets back, in its text and as a warning event a
/// pipeline reads; it invokes nothing.
#[tokio::test]
async fn mocked_a_plan_that_turns_the_hold_off_says_the_give_back_and_invokes_nothing() {
    let l = lambda(200, "{}");
    let t = StaleData::new(change_set(
        ChangeSetStatus::CreateComplete,
        None,
        vec![("Remove", "BudgetHold", "AWS::Lambda::Function", None)],
    ));
    let (sts, s3) = no_kept_bucket();
    let mut cfn: Vec<&Rule> = t.rules.iter().collect();
    cfn.push(no_operation_events());
    let c = crate::aws::mock::Rules {
        cfn,
        cloudwatch: vec![no_rollback_alarms()],
        sts: vec![sts],
        s3: vec![s3],
        ec2: Some(the_network_of_stack_file()),
        lambda: Some(l.clone()),
        ..Default::default()
    }
    .clients();
    let reporter = Reporter::new(Output {
        format: Format::Json,
        interactive: false,
        command: "plan",
    });
    let o = environment(
        &c,
        &t.env,
        Mode::Plan,
        &opts(true),
        &reporter,
        &InFlight::default(),
    )
    .await;
    assert!(o.ok, "{o:?}");
    let said = reporter.events().into_iter().any(|e| {
        matches!(&e, crate::deploy::event::Event::Warning { message, .. }
            if message.contains("budget.hold is turned off") && message.contains("give back"))
    });
    assert!(said, "{:?}", reporter.events());
    assert!(l.requests().is_empty());
    assert_eq!(t.executed(), 0);
}
