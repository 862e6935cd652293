//! An EC2 fleet's update rolls back on its rollback alarms through CloudFormation's rollback
//! triggers: CloudFormation watches the alarms during the update (the rolling update of its
//! group) and for [`MONITORING_MINUTES`] after it, and rolls the whole update back when one goes
//! into ALARM ("Roll back your CloudFormation stack on alarm breach with rollback triggers",
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-rollback-triggers.html>).
//! Fargate's and Lambda's deploys are watched by ECS and CodeDeploy instead, so their stacks
//! get none.
//!
//! What AWS documents, and what is decided here from it:
//! - A trigger must exist when the update starts ("If a specified trigger is missing, the entire
//!   stack operation fails", RollbackTrigger,
//!   <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackTrigger.html>):
//!   only alarms that stand now and that the new template keeps are triggers. The update that
//!   creates them has none.
//! - Only ALARM rolls back, not INSUFFICIENT_DATA (the same page), so a new alarm is a trigger.
//! - An alarm updated by the operation keeps its state until it is evaluated again ("When you
//!   update an existing alarm, its StateValue is left unchanged", PutMetricAlarm,
//!   <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>).
//!   What CloudFormation does with a trigger already in ALARM when the update starts is not
//!   documented: it may roll back at once. Such an alarm judges the running version (its
//!   failures): it is left out, so a fix deployed during an incident is never rolled back by
//!   the old version's alarm, and the deploy says so.
//! - Triggers are saved with the stack and used again when an update sends none; a list sent
//!   replaces them, and an empty list removes them (RollbackConfiguration,
//!   <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackConfiguration.html>):
//!   every fleet update sends its full list, empty for Fargate and Lambda, so a kind switch
//!   never leaves a trigger on an alarm it deletes.
//! - Alarms that cannot be read give no trigger, and the deploy says that this update does not
//!   roll back on them: never a guess at their state.

use crate::aws::RollbackTriggers as Triggers;
use crate::aws::StandingAlarm;
use std::collections::BTreeSet;

/// How long CloudFormation watches the triggers after an update that brings a new worker
/// version: the failed-jobs alarm trips within about three minutes of the new version's first
/// failures (2 of 3 one-minute periods), so five minutes see a version that fails every job
/// it takes once replacements take jobs. An update of the same version is watched only while
/// it runs (0).
pub(super) const MONITORING_MINUTES: i32 = 5;

/// What a fleet template says of its rollback triggers: present when its workers are an Auto
/// Scaling group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Watched {
    /// The logical ids of its rollback alarms (`Rollback…`, `AWS::CloudWatch::Alarm`).
    ids: BTreeSet<String>,
    /// The worker version they judge (their `Version` dimension).
    version: Option<String>,
}

/// The rollback alarms of `template` when its workers are an Auto Scaling group; `None` for
/// other workers. A template that cannot be read is an error, never "no group".
pub(super) fn watched(template: &str) -> Result<Option<Watched>, String> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(template).map_err(|e| e.to_string())?;
    let resources = doc
        .get("Resources")
        .and_then(|r| r.as_mapping())
        .ok_or("no Resources")?;
    let of_type =
        |r: &serde_yaml_ng::Value, t: &str| r.get("Type").and_then(|v| v.as_str()) == Some(t);
    if !resources
        .values()
        .any(|r| of_type(r, "AWS::AutoScaling::AutoScalingGroup"))
    {
        return Ok(None);
    }
    let mut ids = BTreeSet::new();
    let mut version = None;
    for (id, r) in resources {
        let Some(id) = id.as_str() else { continue };
        if !id.starts_with("Rollback") || !of_type(r, "AWS::CloudWatch::Alarm") {
            continue;
        }
        ids.insert(id.to_string());
        let dims = r.get("Properties").and_then(|p| p.get("Dimensions"));
        for d in dims.and_then(|d| d.as_sequence()).into_iter().flatten() {
            if d.get("Name").and_then(|n| n.as_str()) == Some("Version") {
                version = d.get("Value").and_then(|v| v.as_str()).map(str::to_string);
            }
        }
    }
    Ok(Some(Watched { ids, version }))
}

/// The logical id in the name CloudFormation gave an alarm of `stack`:
/// `<stack>-<logical id>-<random>`.
fn logical_id<'a>(stack: &str, alarm: &'a str) -> Option<&'a str> {
    alarm
        .strip_prefix(stack)?
        .strip_prefix('-')?
        .rsplit_once('-')
        .map(|(id, _)| id)
}

/// No trigger, as the rollback alarms could not be read (`why`): the update does not roll back
/// on them, and the preview says so.
pub(super) fn unread(stack: &str, why: &str) -> (Triggers, Vec<String>) {
    (
        Triggers::default(),
        vec![format!(
            "{stack}: its rollback alarms could not be read ({why}): this update does not roll back on them"
        )],
    )
}

/// The rollback triggers of an update of `stack` to a template whose alarms are `watched`,
/// from its alarms as they stand (or why they could not be read); and what the preview says
/// of them.
pub(super) fn triggers(
    stack: &str,
    watched: Option<&Watched>,
    standing: Result<Vec<StandingAlarm>, String>,
) -> (Triggers, Vec<String>) {
    let Some(w) = watched else {
        return (Triggers::default(), Vec::new());
    };
    if w.ids.is_empty() {
        return (Triggers::default(), Vec::new());
    }
    let standing = match standing {
        Ok(s) => s,
        Err(why) => return unread(stack, &why),
    };
    let mut notes = Vec::new();
    let mut kept: Vec<&StandingAlarm> = Vec::new();
    for a in &standing {
        let Some(id) = logical_id(stack, &a.name).filter(|id| w.ids.contains(*id)) else {
            continue;
        };
        if a.state == "ALARM" {
            notes.push(format!(
                "{stack}: {id} is in ALARM on the running worker version{}: this update is not rolled back on it, so a fix is judged by the others",
                a.version
                    .as_deref()
                    .map(|v| format!(" ({v})"))
                    .unwrap_or_default()
            ));
        } else {
            kept.push(a);
        }
    }
    if standing.is_empty() {
        notes.push(format!(
            "{stack}: this update creates its rollback alarms; the next worker version rolls back on them"
        ));
    }
    let new_version = kept.iter().any(|a| a.version != w.version);
    let triggers = Triggers {
        alarms: kept.iter().map(|a| a.arn.clone()).collect(),
        monitoring_minutes: if new_version && !kept.is_empty() {
            MONITORING_MINUTES
        } else {
            0
        },
    };
    (triggers, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = "qfleet-shop--resize-fleet";

    fn template(group: bool) -> String {
        let group = if group {
            "  WorkerGroup:\n    Type: AWS::AutoScaling::AutoScalingGroup\n"
        } else {
            "  Service:\n    Type: AWS::ECS::Service\n"
        };
        format!(
            "Resources:\n{group}  RollbackFailedJobsAlarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      Dimensions:\n        - Name: Environment\n          Value: shop\n        - Name: Version\n          Value: \"bbbbbbbbbbbb\"\n  RollbackDeadLettersAlarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      Dimensions:\n        - Name: Version\n          Value: \"bbbbbbbbbbbb\"\n  DeadLetterAlarm:\n    Type: AWS::CloudWatch::Alarm\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub \"${{AWS::StackName}}-t\"\n"
        )
    }

    fn alarm(id: &str, state: &str, version: &str) -> StandingAlarm {
        StandingAlarm {
            name: format!("{STACK}-{id}-1A2B3C4D5E6F"),
            arn: format!(
                "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:{STACK}-{id}-1A2B3C4D5E6F"
            ),
            state: state.into(),
            version: Some(version.into()),
        }
    }

    #[test]
    fn an_ec2_template_is_watched_by_its_rollback_alarms_and_their_version() {
        let w = watched(&template(true)).unwrap().unwrap();
        assert_eq!(
            w.ids.iter().map(String::as_str).collect::<Vec<_>>(),
            ["RollbackDeadLettersAlarm", "RollbackFailedJobsAlarm"],
            "the rollback alarms only, not the stage's other alarms"
        );
        assert_eq!(w.version.as_deref(), Some("bbbbbbbbbbbb"));
        assert_eq!(
            watched(&template(false)),
            Ok(None),
            "no group: ECS watches them"
        );
        assert!(
            watched("not: [yaml").is_err(),
            "unreadable is not \"no group\""
        );
        assert!(watched("Outputs: {}").is_err());
    }

    #[test]
    fn a_new_version_is_watched_during_its_update_and_five_minutes_after() {
        let w = watched(&template(true)).unwrap();
        let (t, notes) = triggers(
            STACK,
            w.as_ref(),
            Ok(vec![
                alarm("RollbackFailedJobsAlarm", "OK", "aaaaaaaaaaaa"),
                alarm(
                    "RollbackDeadLettersAlarm",
                    "INSUFFICIENT_DATA",
                    "aaaaaaaaaaaa",
                ),
            ]),
        );
        assert_eq!(
            t.alarms.len(),
            2,
            "INSUFFICIENT_DATA never rolls back: kept"
        );
        assert!(
            t.alarms
                .iter()
                .all(|a| a.starts_with("arn:aws:cloudwatch:"))
        );
        assert_eq!(t.monitoring_minutes, MONITORING_MINUTES);
        assert!(notes.is_empty(), "{notes:?}");
        // The same version (a scaling change): watched only while the update runs.
        let (t, _) = triggers(
            STACK,
            w.as_ref(),
            Ok(vec![alarm("RollbackFailedJobsAlarm", "OK", "bbbbbbbbbbbb")]),
        );
        assert_eq!((t.alarms.len(), t.monitoring_minutes), (1, 0));
    }

    #[test]
    fn an_alarm_in_alarm_on_the_running_version_is_left_out_so_a_fix_is_not_rolled_back() {
        let w = watched(&template(true)).unwrap();
        let (t, notes) = triggers(
            STACK,
            w.as_ref(),
            Ok(vec![
                alarm("RollbackFailedJobsAlarm", "ALARM", "aaaaaaaaaaaa"),
                alarm("RollbackDeadLettersAlarm", "OK", "aaaaaaaaaaaa"),
            ]),
        );
        assert_eq!(t.alarms.len(), 1);
        assert!(t.alarms[0].contains("RollbackDeadLettersAlarm"));
        assert_eq!(t.monitoring_minutes, MONITORING_MINUTES);
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains(
                "RollbackFailedJobsAlarm is in ALARM on the running worker version (aaaaaaaaaaaa)"
            ),
            "{notes:?}"
        );
    }

    #[test]
    fn only_alarms_that_stand_and_that_the_template_keeps_are_triggers() {
        let w = watched(&template(true)).unwrap();
        let (t, _) = triggers(
            STACK,
            w.as_ref(),
            Ok(vec![
                // Deleted by this update (a trigger that goes missing fails the update).
                alarm("RollbackBootstrapAlarm", "OK", "aaaaaaaaaaaa"),
                // Another stack's that shares the prefix's start.
                StandingAlarm {
                    name: format!("{STACK}x-RollbackFailedJobsAlarm-1"),
                    ..alarm("RollbackFailedJobsAlarm", "OK", "a")
                },
            ]),
        );
        assert_eq!(t, Triggers::default());
        // None yet: the update that creates them has no trigger, and says so.
        let (t, notes) = triggers(STACK, w.as_ref(), Ok(vec![]));
        assert_eq!(t, Triggers::default());
        assert!(
            notes[0].contains("creates its rollback alarms"),
            "{notes:?}"
        );
    }

    #[test]
    fn alarms_that_cannot_be_read_give_no_trigger_and_the_deploy_says_so() {
        let w = watched(&template(true)).unwrap();
        let (t, notes) = triggers(STACK, w.as_ref(), Err("AccessDenied".into()));
        assert_eq!(t, Triggers::default(), "empty: the saved ones are removed");
        assert!(
            notes[0].contains(
                "could not be read (AccessDenied): this update does not roll back on them"
            ),
            "{notes:?}"
        );
    }

    /// What the renderer makes is what deploy reads: an EC2 stage's fleet template carries the
    /// three rollback alarms on its worker version; a Fargate or Lambda one is not watched.
    #[test]
    fn the_rendered_fleets_are_watched_by_their_rollback_alarms_by_render() {
        for (file, want) in [
            ("stacks/prod.yaml", Some(3)),
            ("examples/spot.yaml", Some(3)),
            ("examples/fargate.yaml", None),
            ("examples/lambda.yaml", None),
        ] {
            let env = crate::config::load(std::path::Path::new(file))
                .unwrap()
                .into_only();
            for s in crate::render::render(&env).unwrap() {
                if s.role != crate::render::StackRole::Fleet {
                    continue;
                }
                let w = watched(&s.template).unwrap();
                assert_eq!(w.as_ref().map(|w| w.ids.len()), want, "{file}");
                if let Some(w) = w {
                    let v = w.version.expect("the alarms' version");
                    assert!(
                        s.template.contains(&format!("QFLEET_VERSION={v}")),
                        "{file}"
                    );
                }
            }
        }
    }

    #[test]
    fn fargate_and_lambda_stacks_send_an_empty_list() {
        let (t, notes) = triggers(STACK, None, Err("never read".into()));
        assert_eq!(t, Triggers::default());
        assert!(notes.is_empty());
    }
}
