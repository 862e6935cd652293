//! A rollout in waves: the order, the halt on a canary's alarm (or on alarms that cannot be
//! read, or a failed deploy) with the later waves untouched, and `--resume` finishing it. The
//! order is tested with fake deploys and watches; the alarms' reading with CloudWatch answered
//! by SDK-level mocks (`mocked_` tests: moto answers the Rust SDK's CloudWatch with 404, and
//! LocalStack has no Auto Scaling).

use super::*;
use crate::aws::mock::Rules;
use crate::config::parse;
use crate::deploy::{Action, StackOutcome};
use crate::render::StackRole;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::types::{MetricAlarm, StateValue};
use aws_smithy_mocks::mock;
use std::cell::RefCell;
use std::path::PathBuf;

/// A canary, then two targets, then one: three waves.
fn targets() -> Vec<Environment> {
    parse(
        PathBuf::from("stacks/orders.yaml"),
        "region: eu-west-1\nlab: true\nrollout: {bake: 10m}\ntargets:\n  - name: canary\n  - name: eu\n    wave: 2\n  - name: us\n    region: us-east-1\n    wave: 2\n  - name: ap\n    region: ap-southeast-2\n    wave: 3\n"
            .to_string(),
    )
    .unwrap()
    .expand()
}

fn outcome(env: &Environment, action: Option<Action>) -> EnvOutcome {
    EnvOutcome {
        environment: env.name.clone(),
        region: env.spec.region.clone(),
        ok: action.is_some(),
        cancelled: false,
        stacks: action
            .map(|action| StackOutcome {
                stack: env.data_stack_name(),
                role: StackRole::Data,
                action,
                status: None,
                duration_ms: 0,
                changes: Vec::new(),
                notes: Vec::new(),
                outputs: Default::default(),
            })
            .into_iter()
            .collect(),
        error: action
            .is_none()
            .then(|| Error::aws("the fleet stack rolled back").report()),
        exit_code: if action.is_some() {
            Exit::Ok
        } else {
            Exit::Aws
        },
        duration_ms: 0,
    }
}

fn alarm(name: &str) -> Alarm {
    Alarm {
        name: name.to_string(),
        state: "ALARM".to_string(),
        reason: Some("Threshold Crossed: 1 datapoint [3.0] was greater than 0.0".to_string()),
    }
}

/// What a fake run did: the environments deployed and watched, each call a list.
#[derive(Default)]
struct Seen {
    deployed: Vec<Vec<String>>,
    watched: Vec<(Vec<String>, Duration)>,
    notes: Vec<String>,
}

fn names_of(envs: &[Environment]) -> Vec<String> {
    envs.iter().map(|e| e.name.clone()).collect()
}

/// Runs the rollout with deploys that do `action` for every target (`None`: fail) but those
/// named in `failing`, and watches whose verdict `verdict` gives for each target.
fn roll(
    resume: bool,
    action: Action,
    failing: &[&str],
    verdict: impl Fn(&str) -> Verdict,
) -> (Vec<EnvOutcome>, Seen) {
    let envs = targets();
    let waves = waves(&envs);
    let seen = RefCell::new(Seen::default());
    let done = run(
        &waves,
        resume,
        |n| seen.borrow_mut().notes.push(n),
        |envs| {
            seen.borrow_mut().deployed.push(names_of(envs));
            Some(
                envs.iter()
                    .map(|e| outcome(e, (!failing.contains(&e.name.as_str())).then_some(action)))
                    .collect(),
            )
        },
        |envs, bake| {
            seen.borrow_mut().watched.push((names_of(envs), bake));
            Some(envs.iter().map(|e| verdict(&e.name)).collect())
        },
    )
    .expect("not interrupted");
    (done, seen.into_inner())
}

#[test]
fn targets_deploy_wave_by_wave_each_baked_but_the_last() {
    let (done, seen) = roll(false, Action::Updated, &[], |_| Verdict::Quiet);
    assert_eq!(
        seen.deployed,
        [
            vec!["orders-canary"],
            vec!["orders-eu", "orders-us"],
            vec!["orders-ap"]
        ]
    );
    let ten = Duration::from_secs(600);
    assert_eq!(
        seen.watched,
        [
            (vec!["orders-canary".to_string()], ten),
            (vec!["orders-eu".to_string(), "orders-us".to_string()], ten)
        ]
    );
    assert!(done.iter().all(|o| o.ok && o.error.is_none()));
    assert_eq!(done.len(), 4);
}

#[test]
fn a_canary_whose_alarm_fires_stops_the_rollout_and_resume_finishes_it() {
    let name = "qfleet-orders-canary-data-DeadLetterQueueNotEmptyAlarm-AB12";
    let (done, seen) = roll(false, Action::Updated, &[], |env| {
        if env == "orders-canary" {
            Verdict::Firing(vec![alarm(name)])
        } else {
            Verdict::Quiet
        }
    });
    // Only the canary was deployed; nothing else was touched.
    assert_eq!(seen.deployed, [vec!["orders-canary"]]);
    let canary = &done[0];
    assert_eq!((canary.ok, canary.exit_code), (false, Exit::Refused));
    let why = canary.error.as_ref().unwrap().message.clone();
    for words in [
        name,
        "is in ALARM (Threshold Crossed",
        "after wave 1 was deployed",
        "`qfleet deploy stacks/orders.yaml --resume`",
    ] {
        assert!(why.contains(words), "{why}");
    }
    let rest: Vec<(&str, &str, Exit)> = done[1..]
        .iter()
        .map(|o| {
            (
                o.environment.as_str(),
                o.error.as_ref().unwrap().kind,
                o.exit_code,
            )
        })
        .collect();
    assert_eq!(
        rest,
        [
            ("orders-eu", "refused", Exit::Refused),
            ("orders-us", "refused", Exit::Refused),
            ("orders-ap", "refused", Exit::Refused)
        ]
    );
    assert!(
        done[3].error.as_ref().unwrap().message.contains(
            "not deployed: the rollout stopped at wave 1 (orders-canary's alarms); nothing was changed here"
        ),
        "{:?}",
        done[3].error
    );
    assert!(seen.notes.iter().any(|n| n.contains("stopped at wave 1")));

    // Dealt with, the rollout is resumed: the canary has nothing to change and is passed
    // without a look at its alarm (still firing here), and the later waves go on.
    let (done_resumed, seen_resumed) = {
        let envs = targets();
        let waves = waves(&envs);
        let seen = RefCell::new(Seen::default());
        let done = run(
            &waves,
            true,
            |n| seen.borrow_mut().notes.push(n),
            |envs| {
                seen.borrow_mut().deployed.push(names_of(envs));
                // The canary is deployed already: its change set finds nothing to change.
                Some(
                    envs.iter()
                        .map(|e| {
                            let action = if e.name == "orders-canary" {
                                Action::NoChanges
                            } else {
                                Action::Created
                            };
                            outcome(e, Some(action))
                        })
                        .collect(),
                )
            },
            |envs, bake| {
                seen.borrow_mut().watched.push((names_of(envs), bake));
                Some(
                    envs.iter()
                        .map(|e| {
                            if e.name == "orders-canary" {
                                Verdict::Firing(vec![alarm(name)])
                            } else {
                                Verdict::Quiet
                            }
                        })
                        .collect(),
                )
            },
        )
        .unwrap();
        (done, seen.into_inner())
    };
    assert!(done_resumed.iter().all(|o| o.ok), "{:?}", done_resumed);
    assert_eq!(seen_resumed.deployed.len(), 3, "every wave deployed");
    assert_eq!(
        seen_resumed.watched,
        [(
            vec!["orders-eu".to_string(), "orders-us".to_string()],
            Duration::from_secs(600)
        )],
        "the canary is not watched again"
    );
    assert!(
        seen_resumed
            .notes
            .iter()
            .any(|n| n == "wave 1: deployed already, passed without watching its alarms (--resume)"),
        "{:?}",
        seen_resumed.notes
    );
}

#[test]
fn without_resume_a_wave_with_nothing_to_change_must_be_quiet_now() {
    // Run again without --resume while the canary's alarm still fires: looked at once (no
    // bake: nothing was deployed), and the rollout stops there again.
    let (done, seen) = roll(false, Action::NoChanges, &[], |env| {
        if env == "orders-canary" {
            Verdict::Firing(vec![alarm("a")])
        } else {
            Verdict::Quiet
        }
    });
    assert_eq!(
        seen.watched,
        [(vec!["orders-canary".to_string()], Duration::ZERO)]
    );
    assert_eq!(seen.deployed.len(), 1);
    assert!(!done[0].ok && done[1..].iter().all(|o| !o.ok));
}

#[test]
fn alarms_that_cannot_be_read_stop_the_rollout() {
    let (done, seen) = roll(false, Action::Created, &[], |env| {
        if env == "orders-us" {
            Verdict::Unreadable("reading the alarms: DescribeAlarms failed (HTTP 404)".into())
        } else {
            Verdict::Quiet
        }
    });
    assert_eq!(seen.deployed.len(), 2, "waves 1 and 2, not 3");
    let us = done.iter().find(|o| o.environment == "orders-us").unwrap();
    let why = &us.error.as_ref().unwrap().message;
    assert!(
        why.contains("its alarms could not be read") && why.contains("known to be quiet"),
        "{why}"
    );
    let eu = done.iter().find(|o| o.environment == "orders-eu").unwrap();
    assert!(eu.ok, "its own alarms were quiet");
    let ap = done.iter().find(|o| o.environment == "orders-ap").unwrap();
    assert!(
        ap.error
            .as_ref()
            .unwrap()
            .message
            .contains("stopped at wave 2 (orders-us's alarms)")
    );
}

#[test]
fn a_failed_deploy_stops_the_rollout_without_watching() {
    let (done, seen) = roll(false, Action::Created, &["orders-canary"], |_| {
        Verdict::Quiet
    });
    assert_eq!(seen.deployed.len(), 1);
    assert!(seen.watched.is_empty());
    assert_eq!(done[0].exit_code, Exit::Aws, "the canary's own error");
    assert!(
        done[1]
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("(orders-canary failed)")
    );
}

#[test]
fn waves_are_ordered_by_number_and_every_target_is_in_one() {
    let envs = targets();
    let w: Vec<(u32, Vec<String>)> = waves(&envs)
        .iter()
        .map(|w| (w.number, names_of(&w.envs)))
        .collect();
    assert_eq!(w.len(), 3);
    assert_eq!(w[1], (2, vec!["orders-eu".into(), "orders-us".into()]));
    assert_eq!(bake_of(&waves(&envs)[0]), Duration::from_secs(600));
    assert_eq!(every(Duration::from_secs(600)), Duration::from_secs(30));
    assert_eq!(every(Duration::from_secs(2)), Duration::from_secs(1));
    assert_eq!(say(Duration::from_secs(150)), "2m 30s");
}

fn alarms_answer(states: &[(&str, StateValue)]) -> DescribeAlarmsOutput {
    DescribeAlarmsOutput::builder()
        .set_metric_alarms(Some(
            states
                .iter()
                .map(|(name, state)| {
                    MetricAlarm::builder()
                        .alarm_name(*name)
                        .state_value(state.clone())
                        .state_reason("Threshold Crossed")
                        .build()
                })
                .collect(),
        ))
        .build()
}

#[tokio::test]
async fn mocked_only_an_alarm_in_alarm_fires_and_the_data_stack_s_prefix_is_asked() {
    let envs = targets();
    let canary = &envs[0];
    let rule = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(|r| r.alarm_name_prefix() == Some("qfleet-orders-canary-data-"))
        .then_output(|| {
            alarms_answer(&[
                (
                    "qfleet-orders-canary-data-OldestMessageAlarm-X",
                    StateValue::Ok,
                ),
                (
                    "qfleet-orders-canary-data-LatencyGoalAlarm-Y",
                    StateValue::InsufficientData,
                ),
            ])
        });
    let clients = Rules {
        cloudwatch: vec![&rule],
        ..Default::default()
    }
    .clients();
    assert_eq!(look(&clients, canary).await, Verdict::Quiet);

    let rule = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
        alarms_answer(&[
            (
                "qfleet-orders-canary-data-OldestMessageAlarm-X",
                StateValue::Ok,
            ),
            (
                "qfleet-orders-canary-data-DeadLetterQueueNotEmptyAlarm-Z",
                StateValue::Alarm,
            ),
        ])
    });
    let clients = Rules {
        cloudwatch: vec![&rule],
        ..Default::default()
    }
    .clients();
    match look(&clients, canary).await {
        Verdict::Firing(a) => {
            assert_eq!(a.len(), 1);
            assert_eq!(
                a[0].name,
                "qfleet-orders-canary-data-DeadLetterQueueNotEmptyAlarm-Z"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn mocked_a_watch_ends_at_the_first_alarm_or_the_first_failed_read() {
    let envs = targets();
    let canary = &envs[0];
    // Quiet at the first look, firing at the second: the watch ends there, before its bake.
    let rule = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .sequence()
        .output(|| alarms_answer(&[("qfleet-orders-canary-data-A-1", StateValue::Ok)]))
        .output(|| alarms_answer(&[("qfleet-orders-canary-data-A-1", StateValue::Alarm)]))
        .build();
    let clients = Rules {
        cloudwatch: vec![&rule],
        ..Default::default()
    }
    .clients();
    let started = std::time::Instant::now();
    let v = watch(&clients, canary, Duration::from_secs(60)).await;
    assert!(matches!(v, Verdict::Firing(_)), "{v:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it stops at the alarm"
    );
    assert_eq!(rule.num_calls(), 2, "two looks, a second apart");

    // A read that fails is no evidence: the watch ends, unreadable.
    let broken = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .sequence()
        .http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(404).unwrap(),
                aws_smithy_types::body::SdkBody::from("not found"),
            )
        })
        .times(10)
        .build();
    let clients = Rules {
        cloudwatch: vec![&broken],
        ..Default::default()
    }
    .clients();
    match watch(&clients, canary, Duration::from_secs(60)).await {
        Verdict::Unreadable(why) => assert!(why.contains("reading the alarms"), "{why}"),
        other => panic!("{other:?}"),
    }
}
