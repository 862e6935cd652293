//! The rollback alarms of a stage's fleet stack (`<stack>-Rollback…`: CloudFormation names each
//! `<stack>-<logical id>-<random>`, and their logical ids start with `Rollback` for every kind), read after an update of that stack failed: which of them went into
//! ALARM since the deploy began, with CloudWatch's reason. An ECS deployment, a CodeDeploy
//! deployment or CloudFormation's rollback triggers (EC2) that one of them stopped fails the stack's update, and
//! CloudFormation rolls the stack back; by the time qfleet reads the alarms they may be back to
//! OK (their dimension back on the previous version), so what they did is read from their
//! history (DescribeAlarmHistory, state updates since the deploy began:
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html>).

use super::Result;
use super::error::AwsError;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{HistoryItemType, MetricAlarm};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

pub use super::error::rollback_cause::{FiredAlarm, RollbackCause};

/// The prefix of a stack's rollback alarms' names.
pub fn prefix(stack: &str) -> String {
    format!("{stack}-Rollback")
}

/// A rollback alarm as it stands before a deploy: what a fleet stack's rollback triggers are
/// made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandingAlarm {
    pub name: String,
    pub arn: String,
    /// OK, ALARM or INSUFFICIENT_DATA.
    pub state: String,
    /// The worker version it judges (its `Version` dimension).
    pub version: Option<String>,
}

/// The rollback alarms of `stack` as they stand (DescribeAlarms by the name prefix).
pub async fn standing(cw: &Client, stack: &str) -> Result<Vec<StandingAlarm>> {
    alarms(cw, stack)
        .await?
        .iter()
        .map(|a| {
            // An alarm without its name, ARN or state is not guessed at: the read failed.
            let (Some(name), Some(arn), Some(state)) =
                (a.alarm_name(), a.alarm_arn(), a.state_value())
            else {
                return Err(AwsError::new(
                    "reading the rollback alarms: an alarm came without its name, ARN or state",
                ));
            };
            Ok(StandingAlarm {
                name: name.to_string(),
                arn: arn.to_string(),
                state: state.as_str().to_string(),
                version: a
                    .dimensions()
                    .iter()
                    .find(|d| d.name() == Some("Version"))
                    .and_then(|d| d.value())
                    .map(str::to_string),
            })
        })
        .collect()
}

/// Every rollback alarm of `stack` (DescribeAlarms by the name prefix, every page).
async fn alarms(cw: &Client, stack: &str) -> Result<Vec<MetricAlarm>> {
    let mut pages = cw
        .describe_alarms()
        .alarm_name_prefix(prefix(stack))
        .into_paginator()
        .send();
    let mut alarms = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("reading the rollback alarms", e))?;
        alarms.extend(page.metric_alarms().iter().cloned());
    }
    Ok(alarms)
}

/// The rollback alarms of `stack` that fired since `since` (or were in ALARM from before it).
pub async fn fired_since(cw: &Client, stack: &str, since: DateTime) -> Result<Vec<FiredAlarm>> {
    let mut out = Vec::new();
    for a in &alarms(cw, stack).await? {
        let name = a.alarm_name().unwrap_or_default();
        let went = went_into_alarm(cw, name, since).await?;
        if let Some((at, reason)) = went {
            out.push(FiredAlarm {
                name: name.to_string(),
                reason,
                at: Some(at),
                before_the_deploy: false,
            });
        } else if a.state_value().map(|s| s.as_str()) == Some("ALARM") {
            out.push(FiredAlarm {
                name: name.to_string(),
                reason: a.state_reason().map(str::to_string),
                at: a.state_updated_timestamp().and_then(rfc3339),
                before_the_deploy: true,
            });
        }
    }
    out.sort_by(|x, y| x.at.cmp(&y.at).then_with(|| x.name.cmp(&y.name)));
    Ok(out)
}

/// The first time `alarm` went into ALARM since `since`, with its reason.
async fn went_into_alarm(
    cw: &Client,
    alarm: &str,
    since: DateTime,
) -> Result<Option<(String, Option<String>)>> {
    let mut pages = cw
        .describe_alarm_history()
        .alarm_name(alarm)
        .history_item_type(HistoryItemType::StateUpdate)
        .start_date(since)
        .into_paginator()
        .send();
    let mut first: Option<(DateTime, Option<String>)> = None;
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::from_sdk("reading the rollback alarms' history", e))?;
        for item in page.alarm_history_items() {
            let Some((state, reason)) = item.history_data().and_then(new_state) else {
                continue;
            };
            let Some(at) = item.timestamp() else { continue };
            if state == "ALARM" && first.as_ref().is_none_or(|(t, _)| at < t) {
                first = Some((*at, reason));
            }
        }
    }
    Ok(first.and_then(|(at, reason)| rfc3339(&at).map(|t| (t, reason))))
}

/// A state update's new state and reason, from its history data (a JSON document with
/// `newState.stateValue` and `newState.stateReason`).
fn new_state(data: &str) -> Option<(String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_str(data).ok()?;
    let state = v["newState"]["stateValue"].as_str()?.to_string();
    let reason = v["newState"]["stateReason"].as_str().map(str::to_string);
    Some((state, reason))
}

fn rfc3339(t: &DateTime) -> Option<String> {
    t.fmt(Format::DateTime).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::Rules;
    use aws_sdk_cloudwatch::operation::describe_alarm_history::DescribeAlarmHistoryOutput;
    use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
    use aws_sdk_cloudwatch::types::{AlarmHistoryItem, MetricAlarm, StateValue};
    use aws_smithy_mocks::mock;

    const STACK: &str = "qfleet-lab-fleet";

    fn alarm(name: &str, state: StateValue) -> MetricAlarm {
        MetricAlarm::builder()
            .alarm_name(name)
            .state_value(state)
            .state_reason("Threshold Crossed: 1 datapoint [0.0] was not greater than or equal to the threshold (3.0).")
            .state_updated_timestamp(DateTime::from_secs(1_000))
            .build()
    }

    fn history(name: &str, at: i64, state: &str, reason: &str) -> AlarmHistoryItem {
        AlarmHistoryItem::builder()
            .alarm_name(name)
            .timestamp(DateTime::from_secs(at))
            .history_item_type(HistoryItemType::StateUpdate)
            .history_summary(format!("Alarm updated from OK to {state}"))
            .history_data(
                serde_json::json!({
                    "version": "1.0",
                    "oldState": {"stateValue": "OK"},
                    "newState": {"stateValue": state, "stateReason": reason}
                })
                .to_string(),
            )
            .build()
    }

    /// The failed-jobs alarm went into ALARM during the deploy and is OK again (rolled back to
    /// the previous version): its history names it, with CloudWatch's reason; the alarm that
    /// stayed OK is not named. The calls ask for the stack's prefix and for state updates since
    /// the deploy began.
    #[tokio::test]
    async fn an_alarm_that_fired_during_the_deploy_is_named_from_its_history_with_mocks() {
        let failed = format!("{STACK}-RollbackFailedJobsAlarm-1A2B3C");
        let dead = format!("{STACK}-RollbackDeadLettersAlarm-4D5E6F");
        let (f, d) = (failed.clone(), dead.clone());
        let list = mock!(Client::describe_alarms)
            .match_requests(|r| r.alarm_name_prefix() == Some("qfleet-lab-fleet-Rollback"))
            .then_output(move || {
                DescribeAlarmsOutput::builder()
                    .metric_alarms(alarm(&f, StateValue::Ok))
                    .metric_alarms(alarm(&d, StateValue::Ok))
                    .build()
            });
        let f = failed.clone();
        let hist = mock!(Client::describe_alarm_history)
            .match_requests(|r| {
                r.start_date() == Some(&DateTime::from_secs(2_000))
                    && r.history_item_type() == Some(&HistoryItemType::StateUpdate)
            })
            .then_compute_output(move |r| {
                let b = DescribeAlarmHistoryOutput::builder();
                if r.alarm_name() == Some(f.as_str()) {
                    b.alarm_history_items(history(&f, 2_300, "OK", "back"))
                        .alarm_history_items(history(&f, 2_100, "ALARM", "Threshold Crossed: 2 out of the last 3 datapoints were greater than or equal to the threshold (3.0)."))
                        .build()
                } else {
                    b.build()
                }
            });
        let clients = Rules {
            cloudwatch: vec![&list, &hist],
            ..Default::default()
        }
        .clients();
        let fired = fired_since(&clients.cloudwatch, STACK, DateTime::from_secs(2_000))
            .await
            .unwrap();
        assert_eq!(
            fired,
            vec![FiredAlarm {
                name: failed,
                reason: Some("Threshold Crossed: 2 out of the last 3 datapoints were greater than or equal to the threshold (3.0).".into()),
                at: Some("1970-01-01T00:35:00Z".into()),
                before_the_deploy: false,
            }]
        );
    }

    /// An alarm in ALARM before the deploy began, with no state update since, is named too: a
    /// deployment may stop on it at its start.
    #[tokio::test]
    async fn an_alarm_in_alarm_from_before_the_deploy_is_named_as_such_with_mocks() {
        let name = format!("{STACK}-RollbackBootstrapAlarm-7A8B9C");
        let n = name.clone();
        let list = mock!(Client::describe_alarms).then_output(move || {
            DescribeAlarmsOutput::builder()
                .metric_alarms(alarm(&n, StateValue::Alarm))
                .build()
        });
        let hist = mock!(Client::describe_alarm_history)
            .then_output(|| DescribeAlarmHistoryOutput::builder().build());
        let clients = Rules {
            cloudwatch: vec![&list, &hist],
            ..Default::default()
        }
        .clients();
        let fired = fired_since(&clients.cloudwatch, STACK, DateTime::from_secs(2_000))
            .await
            .unwrap();
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].name, name);
        assert!(fired[0].before_the_deploy);
        assert_eq!(fired[0].at.as_deref(), Some("1970-01-01T00:16:40Z"));
    }

    /// Alarms that cannot be read are an error, never "none fired"; history that cannot be
    /// read likewise.
    #[tokio::test]
    async fn alarms_that_cannot_be_read_are_an_error_not_none_with_mocks() {
        let denied = mock!(Client::describe_alarms).then_error(|| {
            aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("not authorized to perform: cloudwatch:DescribeAlarms")
                    .build(),
            )
        });
        let clients = Rules {
            cloudwatch: vec![&denied],
            ..Default::default()
        }
        .clients();
        let e = fired_since(&clients.cloudwatch, STACK, DateTime::from_secs(0))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("rollback alarms"), "{e}");

        let list = mock!(Client::describe_alarms).then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(alarm(
                    "qfleet-lab-fleet-RollbackFailedJobsAlarm-1A2B3C",
                    StateValue::Ok,
                ))
                .build()
        });
        let no_history = mock!(Client::describe_alarm_history).then_error(|| {
            aws_sdk_cloudwatch::operation::describe_alarm_history::DescribeAlarmHistoryError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("not authorized to perform: cloudwatch:DescribeAlarmHistory")
                    .build(),
            )
        });
        let clients = Rules {
            cloudwatch: vec![&list, &no_history],
            ..Default::default()
        }
        .clients();
        let e = fired_since(&clients.cloudwatch, STACK, DateTime::from_secs(0))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("history"), "{e}");
    }

    /// An alarm answered without its state is a failed read, never INSUFFICIENT_DATA: a
    /// guessed state could make an alarm in ALARM a rollback trigger.
    #[tokio::test]
    async fn an_alarm_without_its_state_is_a_failed_read_with_mocks() {
        let list = mock!(Client::describe_alarms).then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name(format!("{STACK}-RollbackFailedJobsAlarm-1"))
                        .alarm_arn("arn:aws:cloudwatch:eu-west-1:1:alarm:a")
                        .build(),
                )
                .build()
        });
        let clients = Rules {
            cloudwatch: vec![&list],
            ..Default::default()
        }
        .clients();
        let e = standing(&clients.cloudwatch, STACK).await.unwrap_err();
        assert!(
            e.to_string().contains("without its name, ARN or state"),
            "{e}"
        );
    }
}
