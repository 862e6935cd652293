//! A fleet stack's update that its rollback alarm stopped: the deploy fails (exit 1, as any
//! stack that ended badly), and its error names the alarm, CloudWatch's reason and what to run
//! next, in the message and in the JSON error's `rollback`. Proven with mocks: moto's
//! CloudWatch does not answer the Rust SDK (a 404), and no emulator runs rollback triggers,
//! an ECS deployment or CodeDeploy.

use super::logged::*;
use super::*;
use aws_sdk_cloudwatch::Client as Cw;
use aws_sdk_cloudwatch::operation::describe_alarm_history::DescribeAlarmHistoryOutput;
use aws_sdk_cloudwatch::operation::describe_alarms::{DescribeAlarmsError, DescribeAlarmsOutput};
use aws_sdk_cloudwatch::types::{
    AlarmHistoryItem, Dimension, HistoryItemType, MetricAlarm, StateValue,
};
use std::sync::{Arc, Mutex};

const ALARM: &str = "qfleet-mk-fleet-RollbackFailedJobsAlarm-1A2B3C";
const REASON: &str = "Threshold Crossed: 2 out of the last 3 datapoints [5.0, 4.0] were greater than or equal to the threshold (3.0).";

/// The fleet's update ends in UPDATE_ROLLBACK_COMPLETE (its update was cancelled); the data
/// stack's goes through. `cw`: CloudWatch's answers.
async fn fleet_rolled_back(cw: Vec<&'static Rule>) -> EnvOutcome {
    fleet_updated(cw, &Sent::default()).await
}

/// The rollback configuration each CreateChangeSet sent, by stack: its triggers' ARNs and
/// monitoring time (`None`: no RollbackConfiguration).
type Sent = Arc<Mutex<Vec<(String, Option<(Vec<String>, Option<i32>)>)>>>;

fn create_cs_recording(log: &Log, sent: &Sent) -> Rule {
    let (log, sent) = (log.clone(), sent.clone());
    mock!(Cfn::create_change_set).then_compute_output(move |r| {
        let stack = r.stack_name().unwrap_or_default().to_string();
        log.lock().unwrap().push(format!("create {stack}"));
        let config = r.rollback_configuration().map(|c| {
            (
                c.rollback_triggers()
                    .iter()
                    .map(|t| t.arn().unwrap_or_default().to_string())
                    .collect(),
                c.monitoring_time_in_minutes(),
            )
        });
        sent.lock().unwrap().push((stack.clone(), config));
        CreateChangeSetOutput::builder()
            .id(format!("cs-{stack}"))
            .stack_id("id")
            .build()
    })
}

/// [`fleet_rolled_back`], recording what each CreateChangeSet sent in `sent`.
async fn fleet_updated(cw: Vec<&'static Rule>, sent: &Sent) -> EnvOutcome {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let log = Log::default();
    let rules: Vec<&'static Rule> = [
        describe_sequence(
            DATA,
            vec![stack(&d, StackStatus::UpdateComplete, false, false)],
        ),
        describe_sequence(
            FLEET,
            vec![
                stack(&f, StackStatus::UpdateComplete, false, false),
                stack(&f, StackStatus::UpdateRollbackComplete, false, false),
            ],
        ),
        events_after(
            DATA,
            1,
            vec![(
                DATA,
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateComplete,
                None,
            )],
        ),
        events_after(
            FLEET,
            1,
            vec![
                (
                    FLEET,
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::UpdateComplete,
                    None,
                ),
                (
                    "WorkerGroup",
                    "AWS::AutoScaling::AutoScalingGroup",
                    ResourceStatus::UpdateFailed,
                    Some("Resource update cancelled"),
                ),
            ],
        ),
        create_cs_recording(&log, sent),
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
    ]
    .into_iter()
    .map(|r| &*Box::leak(Box::new(r)))
    .collect();
    let (sts, s3) = no_kept_bucket();
    let mut cfn = rules;
    cfn.push(no_operation_events());
    let c = crate::aws::mock::Rules {
        cfn,
        cloudwatch: cw,
        sts: vec![sts],
        s3: vec![s3],
        ec2: Some(the_network_of_stack_file()),
        ..Default::default()
    }
    .clients();
    deploy(&c, &e, Mode::Deploy, &opts(true)).await
}

fn leak(r: Rule) -> &'static Rule {
    Box::leak(Box::new(r))
}

#[tokio::test]
async fn a_fleet_rolled_back_by_its_alarm_fails_naming_the_alarm_with_mocks() {
    let alarms = leak(
        mock!(Cw::describe_alarms)
            .match_requests(|r| r.alarm_name_prefix() == Some("qfleet-mk-fleet-Rollback"))
            .then_output(|| {
                DescribeAlarmsOutput::builder()
                    .metric_alarms(
                        MetricAlarm::builder()
                            .alarm_name(ALARM)
                            .state_value(StateValue::Ok)
                            .build(),
                    )
                    .build()
            }),
    );
    let history = leak(mock!(Cw::describe_alarm_history).then_output(|| {
        let data = serde_json::json!({
            "newState": {"stateValue": "ALARM", "stateReason": REASON}
        });
        DescribeAlarmHistoryOutput::builder()
            .alarm_history_items(
                AlarmHistoryItem::builder()
                    .alarm_name(ALARM)
                    .history_item_type(HistoryItemType::StateUpdate)
                    .timestamp(aws_smithy_types::DateTime::from(
                        std::time::SystemTime::now(),
                    ))
                    .history_data(data.to_string())
                    .build(),
            )
            .build()
    }));
    let o = fleet_rolled_back(vec![alarms, history]).await;
    assert_eq!(o.exit_code, 1, "a failed deploy keeps its code: {o:?}");
    let error = o.error.as_ref().unwrap();
    let m = &error.message;
    assert!(
        m.contains("deploying qfleet-mk-fleet failed: UPDATE_ROLLBACK_COMPLETE"),
        "{m}"
    );
    assert!(
        m.contains(&format!("rolled back on its rollback alarm {ALARM} at ")),
        "{m}"
    );
    assert!(m.contains(REASON), "{m}");
    assert!(
        m.contains("`qfleet logs mk --since 1h --filter failed`"),
        "{m}"
    );
    let json = serde_json::to_value(error).unwrap();
    assert_eq!(json["rollback"]["stack"], FLEET);
    assert_eq!(json["rollback"]["alarms"][0]["name"], ALARM);
    assert_eq!(json["rollback"]["alarms"][0]["reason"], REASON);
    assert!(json["rollback"]["unknown"].is_null());
}

#[tokio::test]
async fn alarms_that_cannot_be_read_leave_the_cause_unknown_with_mocks() {
    let denied = leak(mock!(Cw::describe_alarms).then_error(|| {
        DescribeAlarmsError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("User is not authorized to perform: cloudwatch:DescribeAlarms")
                .build(),
        )
    }));
    let o = fleet_rolled_back(vec![denied]).await;
    assert_eq!(o.exit_code, 1);
    let error = o.error.as_ref().unwrap();
    assert!(
        error.message.contains("stopped it is unknown"),
        "{}",
        error.message
    );
    assert!(!error.message.contains("None of"), "{}", error.message);
    let json = serde_json::to_value(error).unwrap();
    assert!(
        json["rollback"]["unknown"]
            .as_str()
            .unwrap()
            .contains("rollback alarms")
    );
    assert_eq!(json["rollback"]["alarms"], serde_json::json!([]));
}

/// An EC2 fleet's update sends its standing rollback alarms as CloudFormation's rollback
/// triggers, watched five minutes past a new worker version; the data stack's sends none. An
/// alarm in ALARM on the running version is left out (a fix is not rolled back by the old
/// version's failures), and the preview says so. As CloudFormation documents them
/// (RollbackConfiguration; "Roll back your CloudFormation stack on alarm breach with rollback
/// triggers"): mocks, since moto's CloudWatch does not answer the Rust SDK.
#[tokio::test]
async fn an_ec2_fleet_update_rolls_back_on_its_standing_alarms_with_mocks() {
    let arn = |id: &str| {
        format!("arn:aws:cloudwatch:eu-west-1:111122223333:alarm:qfleet-mk-fleet-{id}-1A2B3C")
    };
    let alarm = move |id: &str, state: StateValue| {
        MetricAlarm::builder()
            .alarm_name(format!("qfleet-mk-fleet-{id}-1A2B3C"))
            .alarm_arn(arn(id))
            .state_value(state)
            .dimensions(
                Dimension::builder()
                    .name("Version")
                    .value("0123456789ab")
                    .build(),
            )
            .build()
    };
    let alarms = leak(
        mock!(Cw::describe_alarms)
            .match_requests(|r| r.alarm_name_prefix() == Some("qfleet-mk-fleet-Rollback"))
            .then_output(move || {
                DescribeAlarmsOutput::builder()
                    .metric_alarms(alarm("RollbackFailedJobsAlarm", StateValue::Alarm))
                    .metric_alarms(alarm("RollbackDeadLettersAlarm", StateValue::Ok))
                    .metric_alarms(alarm(
                        "RollbackBootstrapAlarm",
                        StateValue::InsufficientData,
                    ))
                    .build()
            }),
    );
    let history = leak(
        mock!(Cw::describe_alarm_history)
            .then_output(|| DescribeAlarmHistoryOutput::builder().build()),
    );
    let sent = Sent::default();
    let o = fleet_updated(vec![alarms, history], &sent).await;
    let sent = sent.lock().unwrap().clone();
    let by = |stack: &str| sent.iter().find(|(s, _)| s == stack).unwrap().1.clone();
    assert_eq!(
        by(DATA),
        None,
        "the data stack has no rollback alarms: {sent:?}"
    );
    let (triggers, minutes) = by(FLEET).expect("the fleet's update sends its triggers");
    assert_eq!(
        triggers,
        [
            arn("RollbackDeadLettersAlarm"),
            arn("RollbackBootstrapAlarm")
        ],
        "standing and kept by the template, not in ALARM"
    );
    assert_eq!(
        minutes,
        Some(5),
        "a new worker version: watched after its update too"
    );
    let notes: Vec<&String> = o.stacks.iter().flat_map(|s| &s.notes).collect();
    assert!(
        notes.iter().any(|n| n.contains(
            "RollbackFailedJobsAlarm is in ALARM on the running worker version (0123456789ab): this update is not rolled back on it"
        )),
        "{notes:?}"
    );
    // Issue 85: the launch template's change is named as the new worker version it is, with
    // its rolling update and its watch, in the text and the JSON.
    let fleet = o.stacks.iter().find(|s| s.stack == FLEET).unwrap();
    let v = fleet.worker_version.as_ref().expect("a new worker version");
    assert_eq!((v.rollout, v.watch_minutes), ("rolling_update", Some(5)));
    assert!(
        notes.iter().any(|n| n.starts_with(&format!(
            "{FLEET}: new worker version {}: a rolling update replaces the instances one at a time",
            v.version
        ))),
        "{notes:?}"
    );
    let json = serde_json::to_value(fleet).unwrap();
    assert_eq!(
        json["worker_version"]["rollout"], "rolling_update",
        "{json}"
    );
    let data = o.stacks.iter().find(|s| s.stack == DATA).unwrap();
    assert!(data.worker_version.is_none());
}
