//! A rollout in waves: the order, the halt on a canary's alarm (or on alarms that cannot be
//! read, or not OK at the bake's end, or a failed deploy) with the later waves untouched, and
//! `--resume` finishing it. The order is tested with fake deploys and watches; the bake's
//! length, the alarms' names and states with CloudFormation and CloudWatch answered by
//! SDK-level mocks (`mocked_` tests: moto answers the Rust SDK's CloudWatch with 404, and
//! LocalStack has no Auto Scaling).

use super::*;
use crate::aws::{mock::Rules, mock::list_resources, mock::resource};
use crate::config::parse;
use crate::deploy::{Action, EnvOutcome, StackOutcome};
use crate::error::Exit;
use crate::render::StackRole;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::types::{MetricAlarm, StateValue};
use aws_smithy_mocks::Rule;
use aws_smithy_mocks::mock;
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

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
                worker_version: None,
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
    watched: Vec<(Vec<String>, Bake)>,
    notes: Vec<String>,
}

fn names_of(envs: &[Environment]) -> Vec<String> {
    envs.iter().map(|e| e.name.clone()).collect()
}

/// A bake of 10 minutes.
fn ten(changed: bool, resume: bool) -> Bake {
    Bake {
        length: Duration::from_secs(600),
        changed,
        resume,
    }
}

/// Runs the rollout with deploys that do `action` for every target (`None`: fail) but those
/// named in `failing`, and watches whose verdict `verdict` gives for each target.
fn roll(
    resume: bool,
    action: Action,
    failing: &[&str],
    verdict: impl Fn(&str, Bake) -> Verdict,
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
            Some(envs.iter().map(|e| verdict(&e.name, bake)).collect())
        },
    )
    .expect("not interrupted");
    (done, seen.into_inner())
}

#[test]
fn targets_deploy_wave_by_wave_each_baked_but_the_last() {
    let (done, seen) = roll(false, Action::Updated, &[], |_, _| Verdict::Quiet);
    assert_eq!(
        seen.deployed,
        [
            vec!["orders-canary"],
            vec!["orders-eu", "orders-us"],
            vec!["orders-ap"]
        ]
    );
    assert_eq!(
        seen.watched,
        [
            (vec!["orders-canary".to_string()], ten(true, false)),
            (
                vec!["orders-eu".to_string(), "orders-us".to_string()],
                ten(true, false)
            )
        ]
    );
    assert!(done.iter().all(|o| o.ok && o.error.is_none()));
    assert_eq!(done.len(), 4);
}

#[test]
fn a_canary_whose_alarm_fires_stops_the_rollout_and_resume_finishes_it() {
    let name = "qfleet-orders-canary-data-DeadLetterQueueNotEmptyAlarm-AB12";
    let (done, seen) = roll(false, Action::Updated, &[], |env, _| {
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
        "`qfleet deploy stacks/orders.yaml` goes on once the wave's alarms are OK, or `--resume` once its bake has run out",
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

    // Dealt with, the rollout is resumed: the canary has nothing to change, its bake has run
    // out since its stacks changed (the watch's verdict: passed, unlooked, though its alarm
    // still fires here), and the later waves go on.
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
                        .map(|_| {
                            if bake.resume && !bake.changed {
                                Verdict::Passed("its bake ran out at 2026-11-25T08:00:00Z".into())
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
        [
            (vec!["orders-canary".to_string()], ten(false, true)),
            (
                vec!["orders-eu".to_string(), "orders-us".to_string()],
                ten(true, true)
            )
        ],
        "the canary's watch is asked whether its bake ran out"
    );
    assert!(
        seen_resumed.notes.iter().any(|n| n
            == "wave 1: orders-canary passed without a look at its alarms: deployed already, its bake ran out at 2026-11-25T08:00:00Z (--resume)"),
        "{:?}",
        seen_resumed.notes
    );
    assert!(
        !seen_resumed
            .notes
            .iter()
            .any(|n| n == "wave 1: no alarm fired"),
        "a wave passed unlooked is not said quiet: {:?}",
        seen_resumed.notes
    );
}

#[test]
fn without_resume_a_wave_with_nothing_to_change_must_be_quiet_now() {
    // Run again without --resume while the canary's alarm still fires: watched for what is
    // left of its bake (at least one look), and the rollout stops there again.
    let (done, seen) = roll(false, Action::NoChanges, &[], |env, _| {
        if env == "orders-canary" {
            Verdict::Firing(vec![alarm("a")])
        } else {
            Verdict::Quiet
        }
    });
    assert_eq!(
        seen.watched,
        [(vec!["orders-canary".to_string()], ten(false, false))]
    );
    assert_eq!(seen.deployed.len(), 1);
    assert!(!done[0].ok && done[1..].iter().all(|o| !o.ok));
}

#[test]
fn alarms_that_cannot_be_read_stop_the_rollout() {
    let (done, seen) = roll(false, Action::Created, &[], |env, _| {
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
    let (done, seen) = roll(false, Action::Created, &["orders-canary"], |_, _| {
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

#[test]
fn an_alarm_not_evaluated_at_the_end_of_the_bake_stops_the_rollout() {
    let (done, seen) = roll(false, Action::Created, &[], |env, _| {
        if env == "orders-canary" {
            Verdict::Unsettled(vec![Alarm {
                name: "qfleet-orders-canary-data-OldestMessageAlarm-X".into(),
                state: "INSUFFICIENT_DATA".into(),
                reason: None,
            }])
        } else {
            Verdict::Quiet
        }
    });
    assert_eq!(seen.deployed.len(), 1);
    let why = &done[0].error.as_ref().unwrap().message;
    assert!(
        why.contains(
            "at the end of the bake, an alarm is not OK (qfleet-orders-canary-data-OldestMessageAlarm-X is INSUFFICIENT_DATA)"
        ) && why.contains("give rollout.bake more time"),
        "{why}"
    );
    assert!(done[1..].iter().all(|o| !o.ok));
}

#[test]
fn the_bake_left_is_measured_from_the_stacks_last_change() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let ten = Duration::from_secs(600);
    // Changed 4 minutes ago (an interrupted bake): 6 minutes left.
    assert_eq!(
        left(ten, Some(now - Duration::from_secs(240)), now),
        Duration::from_secs(360)
    );
    // Changed an hour ago: nothing left.
    assert_eq!(
        left(ten, Some(now - Duration::from_secs(3600)), now),
        Duration::ZERO
    );
    // Unknown: the whole bake.
    assert_eq!(left(ten, None, now), ten);
    // A clock behind CloudFormation's: the bake still ends a bake after CloudFormation's time.
    assert_eq!(
        left(ten, Some(now + Duration::from_secs(30)), now),
        ten + Duration::from_secs(30)
    );
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

/// The canary's data stack with two alarms (and a queue, which is no alarm), and every
/// stack of the canary created at the epoch (its bake ran out long ago).
fn canary_stacks() -> (Rule, Rule) {
    let resources = data_stack_alarms("qfleet-orders-canary-data");
    let stacks = stack_events(vec![
        ("qfleet-orders-canary-data", "UPDATE_COMPLETE"),
        ("qfleet-orders-canary-fleet", "CREATE_COMPLETE"),
    ]);
    (resources, stacks)
}

/// ListStackResources of the data stack `stack` (its name or id): two alarms, and a queue,
/// which is no alarm.
fn data_stack_alarms(stack: &'static str) -> Rule {
    use aws_sdk_cloudformation::types::ResourceStatus;
    list_resources(vec![(
        stack,
        vec![
            resource(
                "OldestMessageAlarm",
                OLDEST,
                "AWS::CloudWatch::Alarm",
                ResourceStatus::CreateComplete,
            ),
            resource(
                "DeadLetterQueueNotEmptyAlarm",
                DEAD,
                "AWS::CloudWatch::Alarm",
                ResourceStatus::UpdateComplete,
            ),
            resource(
                "Queue",
                "https://sqs.eu-west-1.amazonaws.com/111122223333/q",
                "AWS::SQS::Queue",
                ResourceStatus::CreateComplete,
            ),
        ],
    )])
}

/// DescribeStackEvents: each stack's newest own event, with this status, at the epoch (a
/// stack not listed has no events).
fn stack_events(stacks: Vec<(&'static str, &'static str)>) -> Rule {
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::types::{ResourceStatus, StackEvent};
    mock!(aws_sdk_cloudformation::Client::describe_stack_events).then_compute_output(move |r| {
        let name = r.stack_name().unwrap_or_default().to_string();
        let events = stacks
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(n, status)| {
                StackEvent::builder()
                    .event_id(format!("{n}-1"))
                    .stack_name(*n)
                    .logical_resource_id(*n)
                    .resource_type("AWS::CloudFormation::Stack")
                    .resource_status(ResourceStatus::from(*status))
                    .timestamp(aws_smithy_types::DateTime::from_secs(0))
                    .build()
            })
            .collect();
        DescribeStackEventsOutput::builder()
            .set_stack_events(Some(events))
            .build()
    })
}

/// Clients whose CloudFormation and CloudWatch calls these rules answer.
fn answered(cfn: &[&Rule], cloudwatch: &[&Rule]) -> crate::aws::Clients {
    Rules {
        cfn: cfn.to_vec(),
        cloudwatch: cloudwatch.to_vec(),
        ..Default::default()
    }
    .clients()
}

const OLDEST: &str = "qfleet-orders-canary-data-OldestMessageAlarm-X";
const DEAD: &str = "qfleet-orders-canary-data-DeadLetterQueueNotEmptyAlarm-Z";

/// A bake of `secs` seconds of a wave just deployed.
fn fresh(secs: u64) -> Bake {
    Bake {
        length: Duration::from_secs(secs),
        changed: true,
        resume: false,
    }
}

#[tokio::test]
async fn mocked_the_alarms_watched_are_the_data_stack_s_by_name_and_only_alarm_fires() {
    let envs = targets();
    let canary = &envs[0];
    let (resources, stacks) = canary_stacks();
    // Asked by name, the data stack's two; another environment's alarm in the answer (an
    // alarm whose name only begins like the canary's) is not the canary's.
    let rule = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(|r| r.alarm_name_prefix().is_none() && r.alarm_names().len() == 2)
        .then_output(|| {
            alarms_answer(&[
                (OLDEST, StateValue::Ok),
                (DEAD, StateValue::Ok),
                (
                    "qfleet-orders-canary-data-extra-OldestMessageAlarm-Q",
                    StateValue::Alarm,
                ),
            ])
        });
    let clients = answered(&[&resources, &stacks], &[&rule]);
    assert_eq!(
        watch(&clients, canary, fresh(0), &AtomicBool::new(false)).await,
        Verdict::Quiet
    );
    assert_eq!(rule.num_calls(), 1);

    let rule = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .then_output(|| alarms_answer(&[(OLDEST, StateValue::Ok), (DEAD, StateValue::Alarm)]));
    let clients = answered(&[&resources, &stacks], &[&rule]);
    match watch(&clients, canary, fresh(0), &AtomicBool::new(false)).await {
        Verdict::Firing(a) => {
            assert_eq!(a.len(), 1);
            assert_eq!(a[0].name, DEAD);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn mocked_no_alarm_or_an_unknown_alarm_is_no_evidence() {
    let envs = targets();
    let canary = &envs[0];
    // A data stack without alarms: nothing to be quiet.
    let empty = list_resources(vec![("qfleet-orders-canary-data", Vec::new())]);
    let (_, stacks) = canary_stacks();
    let never =
        mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| alarms_answer(&[]));
    let clients = answered(&[&empty, &stacks], &[&never]);
    match watch(&clients, canary, fresh(0), &AtomicBool::new(false)).await {
        Verdict::Unreadable(why) => assert!(why.contains("has no alarm to watch"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(never.num_calls(), 0);

    // One of the two alarms unknown to CloudWatch.
    let (resources, stacks) = canary_stacks();
    let half = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .then_output(|| alarms_answer(&[(OLDEST, StateValue::Ok)]));
    let clients = answered(&[&resources, &stacks], &[&half]);
    match watch(&clients, canary, fresh(0), &AtomicBool::new(false)).await {
        Verdict::Unreadable(why) => assert!(
            why.contains(&format!("CloudWatch does not know the alarm {DEAD}")),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn mocked_insufficient_data_passes_a_look_but_not_the_last() {
    let envs = targets();
    let canary = &envs[0];
    let (resources, stacks) = canary_stacks();
    // Not evaluated yet at the first look, OK at the end: quiet.
    let settling = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .sequence()
        .output(|| {
            alarms_answer(&[
                (OLDEST, StateValue::InsufficientData),
                (DEAD, StateValue::InsufficientData),
            ])
        })
        .output(|| alarms_answer(&[(OLDEST, StateValue::Ok), (DEAD, StateValue::Ok)]))
        .build();
    let clients = answered(&[&resources, &stacks], &[&settling]);
    assert_eq!(
        watch(&clients, canary, fresh(1), &AtomicBool::new(false)).await,
        Verdict::Quiet
    );
    assert_eq!(settling.num_calls(), 2, "at once and at the end");

    // Still not evaluated at the end: no evidence the wave is well.
    let stuck = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
        alarms_answer(&[
            (OLDEST, StateValue::Ok),
            (DEAD, StateValue::InsufficientData),
        ])
    });
    let clients = answered(&[&resources, &stacks], &[&stuck]);
    match watch(&clients, canary, fresh(1), &AtomicBool::new(false)).await {
        Verdict::Unsettled(a) => {
            assert_eq!(a.len(), 1);
            assert_eq!(
                (a[0].name.as_str(), a[0].state.as_str()),
                (DEAD, "INSUFFICIENT_DATA")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn mocked_resume_passes_only_a_wave_whose_bake_ran_out_by_cloudformation_s_clock() {
    let envs = targets();
    let canary = &envs[0];
    let (resources, stacks) = canary_stacks();
    let alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .then_output(|| alarms_answer(&[(OLDEST, StateValue::Ok), (DEAD, StateValue::Alarm)]));
    let clients = answered(&[&resources, &stacks], &[&alarms]);
    let resumed = Bake {
        length: Duration::from_secs(600),
        changed: false,
        resume: true,
    };
    // Created at the epoch: its bake ran out at 00:10; passed, its alarms not read.
    assert_eq!(
        watch(&clients, canary, resumed, &AtomicBool::new(false)).await,
        Verdict::Passed("its bake ran out at 1970-01-01T00:10:00Z".into())
    );
    assert_eq!(alarms.num_calls(), 0);
    // Without --resume, the same wave is looked at: its alarm fires.
    let again = Bake {
        resume: false,
        ..resumed
    };
    assert!(matches!(
        watch(&clients, canary, again, &AtomicBool::new(false)).await,
        Verdict::Firing(_)
    ));

    // An operation under way on the fleet stack: its change has not finished, not passed.
    let updating = stack_events(vec![
        ("qfleet-orders-canary-data", "UPDATE_COMPLETE"),
        ("qfleet-orders-canary-fleet", "UPDATE_IN_PROGRESS"),
    ]);
    let clients = answered(&[&resources, &updating], &[&alarms]);
    let short = Bake {
        length: Duration::from_secs(1),
        ..resumed
    };
    assert!(matches!(
        watch(&clients, canary, short, &AtomicBool::new(false)).await,
        Verdict::Firing(_)
    ));
    // A bake of 0s has nothing to wait for: passed.
    let zero = Bake {
        length: Duration::ZERO,
        ..resumed
    };
    assert!(matches!(
        watch(&clients, canary, zero, &AtomicBool::new(false)).await,
        Verdict::Passed(_)
    ));

    // The stacks' events cannot be read: no evidence the bake ran out, so it is not passed.
    let unreadable = mock!(aws_sdk_cloudformation::Client::describe_stack_events)
        .then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(500).unwrap(),
                aws_smithy_types::body::SdkBody::from("oops"),
            )
        });
    let clients = answered(&[&resources, &unreadable], &[&alarms]);
    let short = Bake {
        length: Duration::from_secs(1),
        ..resumed
    };
    assert!(matches!(
        watch(&clients, canary, short, &AtomicBool::new(false)).await,
        Verdict::Firing(_)
    ));
}

#[tokio::test]
async fn mocked_a_watch_ends_at_the_first_alarm_or_the_first_failed_read() {
    let envs = targets();
    let canary = &envs[0];
    let (resources, stacks) = canary_stacks();
    // Quiet at the first look, firing at the second: the watch ends there, before its bake.
    let rule = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .sequence()
        .output(|| alarms_answer(&[(OLDEST, StateValue::Ok), (DEAD, StateValue::Ok)]))
        .output(|| alarms_answer(&[(OLDEST, StateValue::Alarm), (DEAD, StateValue::Ok)]))
        .build();
    let clients = answered(&[&resources, &stacks], &[&rule]);
    let started = std::time::Instant::now();
    let v = watch(&clients, canary, fresh(20), &AtomicBool::new(false)).await;
    assert!(matches!(v, Verdict::Firing(_)), "{v:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it stops at the alarm"
    );
    assert_eq!(rule.num_calls(), 2, "two looks, two seconds apart");

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
    let clients = answered(&[&resources, &stacks], &[&broken]);
    match watch(&clients, canary, fresh(60), &AtomicBool::new(false)).await {
        Verdict::Unreadable(why) => assert!(why.contains("reading the alarms"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn mocked_the_first_target_that_stops_the_rollout_ends_the_other_watches() {
    use aws_sdk_cloudformation::types::ResourceStatus;
    let envs = targets();
    let (canary, eu) = (&envs[0], &envs[1]);
    let eu_alarm = "qfleet-orders-eu-data-OldestMessageAlarm-E";
    let resources = list_resources(vec![
        (
            "qfleet-orders-canary-data",
            vec![resource(
                "A",
                DEAD,
                "AWS::CloudWatch::Alarm",
                ResourceStatus::CreateComplete,
            )],
        ),
        (
            "qfleet-orders-eu-data",
            vec![resource(
                "A",
                eu_alarm,
                "AWS::CloudWatch::Alarm",
                ResourceStatus::CreateComplete,
            )],
        ),
    ]);
    let stacks = stack_events(vec![
        ("qfleet-orders-canary-data", "CREATE_COMPLETE"),
        ("qfleet-orders-eu-data", "CREATE_COMPLETE"),
    ]);
    // The canary's alarm fires at once; eu's stays OK.
    let canary_alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(|r| r.alarm_names() == [DEAD])
        .then_output(|| alarms_answer(&[(DEAD, StateValue::Alarm)]));
    let eu_alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(move |r| r.alarm_names() == [eu_alarm])
        .then_output(move || alarms_answer(&[(eu_alarm, StateValue::Ok)]));
    let clients = answered(&[&resources, &stacks], &[&canary_alarms, &eu_alarms]);
    let stop = AtomicBool::new(false);
    let started = std::time::Instant::now();
    // A bake of 50 s, a look every 5 s: eu's watch ends at its first wake after the
    // canary's verdict, not at the end of the bake.
    let (c, e) = tokio::join!(
        watch(&clients, canary, fresh(50), &stop),
        watch(&clients, eu, fresh(50), &stop)
    );
    assert!(matches!(c, Verdict::Firing(_)), "{c:?}");
    assert_eq!(e, Verdict::Cut);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

const INSTANCE_DATA: &str = "arn:aws:cloudformation:eu-west-1:111122223333:stack/StackSet-qfleet-orders-data-1b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d/0a1b2c3d";
const INSTANCE_FLEET: &str = "arn:aws:cloudformation:eu-west-1:111122223333:stack/StackSet-qfleet-orders-fleet-2b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d/0a1b2c3e";

/// DescribeStackEvents for stacks asked by id: each one's own newest event carries the
/// stack's name (as CloudFormation's events do), with this status, at the epoch.
fn instance_events(fleet_status: &'static str) -> Rule {
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::types::{ResourceStatus, StackEvent};
    mock!(aws_sdk_cloudformation::Client::describe_stack_events).then_compute_output(move |r| {
        let id = r.stack_name().unwrap_or_default();
        let (status, name) = match id {
            INSTANCE_DATA => (
                "UPDATE_COMPLETE",
                "StackSet-qfleet-orders-data-1b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d",
            ),
            INSTANCE_FLEET => (
                fleet_status,
                "StackSet-qfleet-orders-fleet-2b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d",
            ),
            _ => return DescribeStackEventsOutput::builder().build(),
        };
        DescribeStackEventsOutput::builder()
            .stack_events(
                StackEvent::builder()
                    .event_id(format!("{name}-1"))
                    .stack_id(id)
                    .stack_name(name)
                    .logical_resource_id(name)
                    .resource_type("AWS::CloudFormation::Stack")
                    .resource_status(ResourceStatus::from(status))
                    .timestamp(aws_smithy_types::DateTime::from_secs(0))
                    .build(),
            )
            .build()
    })
}

/// A StackSets target is watched by its instances' stack ids (their names are AWS's): each
/// stack's own events carry its name, not the id, and `--resume` measures the bake from them.
#[tokio::test]
async fn mocked_a_stack_set_instance_is_baked_from_its_own_events_read_by_its_id() {
    let resources = data_stack_alarms(INSTANCE_DATA);
    let alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .then_output(|| alarms_answer(&[(OLDEST, StateValue::Ok), (DEAD, StateValue::Ok)]));
    let stacks = [INSTANCE_DATA.to_string(), INSTANCE_FLEET.to_string()];
    let resumed = Bake {
        length: Duration::from_secs(600),
        changed: false,
        resume: true,
    };
    let done = instance_events("CREATE_COMPLETE");
    let clients = answered(&[&resources, &done], &[&alarms]);
    assert_eq!(
        watch_stacks(&clients, &stacks, resumed, &AtomicBool::new(false)).await,
        Verdict::Passed("its bake ran out at 1970-01-01T00:10:00Z".into())
    );
    assert_eq!(alarms.num_calls(), 0);
    // The fleet instance's stack still changing: no last change, the wave is looked at.
    let changing = instance_events("UPDATE_IN_PROGRESS");
    let clients = answered(&[&resources, &changing], &[&alarms]);
    let short = Bake {
        length: Duration::from_secs(1),
        ..resumed
    };
    assert_eq!(
        watch_stacks(&clients, &stacks, short, &AtomicBool::new(false)).await,
        Verdict::Quiet
    );
    assert!(alarms.num_calls() > 0);
}

/// A whole unit's bake: the worst of its accounts' verdicts, each alarm named with its
/// account; passed only when every account passed; no account is no evidence.
#[test]
fn a_whole_units_verdict_is_the_worst_of_its_accounts() {
    let alarm = |name: &str, state: &str| crate::aws::Alarm {
        name: name.into(),
        state: state.into(),
        reason: None,
    };
    let v = Verdict::of_accounts(vec![
        ("111122223333".into(), Verdict::Quiet),
        (
            "444455556666".into(),
            Verdict::Firing(vec![alarm("dlq", "ALARM")]),
        ),
        ("555555555555".into(), Verdict::Unreadable("denied".into())),
    ]);
    assert_eq!(
        v,
        Verdict::Firing(vec![alarm("dlq in account 444455556666", "ALARM")])
    );
    let v = Verdict::of_accounts(vec![
        ("111122223333".into(), Verdict::Quiet),
        ("555555555555".into(), Verdict::Unreadable("denied".into())),
    ]);
    assert_eq!(
        v,
        Verdict::Unreadable("account 555555555555: denied".into())
    );
    let v = Verdict::of_accounts(vec![
        ("111122223333".into(), Verdict::Passed("ran out".into())),
        ("444455556666".into(), Verdict::Quiet),
    ]);
    assert_eq!(v, Verdict::Quiet);
    let v = Verdict::of_accounts(vec![(
        "111122223333".into(),
        Verdict::Passed("ran out".into()),
    )]);
    assert_eq!(v, Verdict::Passed("ran out".into()));
    assert!(matches!(
        Verdict::of_accounts(Vec::new()),
        Verdict::Unreadable(_)
    ));
}
