//! A fleet stack's update that failed, said with its rollback alarms: a new worker version
//! that an ECS deployment, a CodeDeploy deployment or CloudFormation's rollback triggers (EC2,
//! [`super::triggers`]) stopped on one of them fails the stack's update, which CloudFormation
//! rolls back. The deploy then names the
//! alarm, its reason and what to run next; alarms that cannot be read leave the cause unknown,
//! never "no alarm".

use super::Ctx;
use crate::aws::{self, RollbackCause};
use aws_smithy_types::DateTime;
use std::time::{Duration, SystemTime};

/// How far before the deploy's start the alarms' history is read: a clock behind AWS's by up
/// to this much still sees every state update of the deploy. No alarm of a new version fires
/// in its first minute (its first datapoint is a minute of the new workers' jobs).
const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// When the deploy of a stack began, as the alarms' history is read from.
pub(super) fn began() -> SystemTime {
    SystemTime::now()
}

/// What the rollback alarms of `stack` say of its failed update since `began`.
pub(super) async fn cause(cx: &Ctx<'_>, stack: &str, began: SystemTime) -> RollbackCause {
    let since = DateTime::from(began.checked_sub(CLOCK_SKEW).unwrap_or(began));
    match aws::alarms_fired_since(&cx.clients.cloudwatch, stack, since).await {
        Ok(alarms) => RollbackCause {
            stack: stack.to_string(),
            alarms,
            unknown: None,
        },
        Err(e) => RollbackCause {
            stack: stack.to_string(),
            alarms: Vec::new(),
            unknown: Some(e.to_string()),
        },
    }
}

/// The sentences a deploy's failure gains from `cause`: which alarm fired and why, or that
/// none did, or that it is unknown; and what to run next. `env` is how the run named the
/// environment, `stage` the pipeline stage whose fleet the stack is.
pub(super) fn sentences(
    cause: &RollbackCause,
    env: &str,
    stage: Option<&str>,
    jobs: bool,
) -> String {
    if let Some(why) = &cause.unknown {
        return format!(
            ". Whether one of its rollback alarms ({}*) stopped it is unknown: {why}",
            aws::rollback_alarm_prefix(&cause.stack)
        );
    }
    if cause.alarms.is_empty() {
        return format!(
            ". None of its rollback alarms ({}*) went into ALARM since the deploy began: the cause is the one above",
            aws::rollback_alarm_prefix(&cause.stack)
        );
    }
    let fired: Vec<String> = cause
        .alarms
        .iter()
        .map(|a| {
            let when = match (&a.at, a.before_the_deploy) {
                (Some(at), false) => format!(" at {at}"),
                (Some(at), true) => format!(" (in ALARM since {at}, before the deploy began)"),
                (None, _) => String::new(),
            };
            format!(
                "{}{when}: {}",
                a.name,
                a.reason.as_deref().unwrap_or("no reason given")
            )
        })
        .collect();
    let stage_flag = stage.map(|s| format!(" --stage {s}")).unwrap_or_default();
    let mut next = vec![format!(
        "`qfleet logs {env}{stage_flag} --since 1h --filter failed`"
    )];
    if jobs {
        next.push(format!("`qfleet jobs {env} --failed --since 1h`"));
    }
    if cause
        .alarms
        .iter()
        .any(|a| a.name.contains("-RollbackBootstrapAlarm"))
    {
        next.push(format!(
            "`qfleet logs {env}{stage_flag} --since 1h` (each instance's bootstrap is its stream INSTANCE/bootstrap)"
        ));
    }
    format!(
        ". It rolled back on its rollback alarm{} {}. The new worker version is gone and the one before it runs again; see why with {}, fix it and deploy again",
        if fired.len() > 1 { "s" } else { "" },
        fired.join("; "),
        next.join(" and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::FiredAlarm;

    fn cause(alarms: Vec<FiredAlarm>, unknown: Option<&str>) -> RollbackCause {
        RollbackCause {
            stack: "qfleet-shop--thumbnail-fleet".into(),
            alarms,
            unknown: unknown.map(str::to_string),
        }
    }

    #[test]
    fn a_rollback_names_the_alarm_its_reason_and_what_to_run_next() {
        let c = cause(
            vec![FiredAlarm {
                name: "qfleet-shop--thumbnail-fleet-RollbackFailedJobsAlarm-1A2B3C".into(),
                reason: Some("Threshold Crossed: 2 out of the last 3 datapoints".into()),
                at: Some("2026-11-28T11:42:00Z".into()),
                before_the_deploy: false,
            }],
            None,
        );
        let s = sentences(&c, "shop", Some("thumbnail"), true);
        assert!(s.contains("rolled back on its rollback alarm qfleet-shop--thumbnail-fleet-RollbackFailedJobsAlarm-1A2B3C at 2026-11-28T11:42:00Z: Threshold Crossed"), "{s}");
        assert!(
            s.contains("`qfleet logs shop --stage thumbnail --since 1h --filter failed`"),
            "{s}"
        );
        assert!(s.contains("`qfleet jobs shop --failed --since 1h`"), "{s}");
        let s = sentences(&c, "shop", None, false);
        assert!(!s.contains("qfleet jobs"), "no job table, no `jobs`: {s}");
    }

    #[test]
    fn alarms_that_could_not_be_read_leave_the_cause_unknown_never_none() {
        let s = sentences(
            &cause(vec![], Some("reading the rollback alarms: AccessDenied")),
            "shop",
            None,
            true,
        );
        assert!(
            s.contains("is unknown: reading the rollback alarms: AccessDenied"),
            "{s}"
        );
        assert!(!s.contains("None of"), "{s}");
        let s = sentences(&cause(vec![], None), "shop", None, true);
        assert!(s.contains("None of its rollback alarms (qfleet-shop--thumbnail-fleet-Rollback*) went into ALARM"), "{s}");
    }

    /// The JSON error carries the cause, in the shape schemas/output/common.json gives it; an
    /// error without one has no `rollback` field.
    #[test]
    fn the_json_error_carries_the_alarm_in_the_contracts_shape() {
        let c = cause(
            vec![FiredAlarm {
                name: "qfleet-shop--thumbnail-fleet-RollbackDeadLettersAlarm-4D5E6F".into(),
                reason: Some("Threshold Crossed".into()),
                at: Some("2026-11-28T11:42:00Z".into()),
                before_the_deploy: false,
            }],
            None,
        );
        let e: crate::error::Error = crate::aws::AwsError::new("deploying failed")
            .with_rollback(c)
            .into();
        let json = serde_json::to_value(e.report()).unwrap();
        assert_eq!(
            json["rollback"]["alarms"][0]["name"],
            "qfleet-shop--thumbnail-fleet-RollbackDeadLettersAlarm-4D5E6F"
        );
        let common = crate::output::contract::common();
        let schema = serde_json::json!({ "$defs": common["$defs"], "$ref": "#/$defs/error" });
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(validator.is_valid(&json), "{json}");
        let plain = serde_json::to_value(crate::error::Error::aws("x").report()).unwrap();
        assert!(plain.get("rollback").is_none());
        assert!(validator.is_valid(&plain));
    }

    #[test]
    fn a_failed_bootstrap_points_at_the_bootstrap_log_and_an_earlier_alarm_says_so() {
        let s = sentences(
            &cause(
                vec![FiredAlarm {
                    name: "qfleet-lab-fleet-RollbackBootstrapAlarm-7A8B9C".into(),
                    reason: None,
                    at: Some("2026-11-28T10:00:00Z".into()),
                    before_the_deploy: true,
                }],
                None,
            ),
            "lab",
            None,
            false,
        );
        assert!(s.contains("INSTANCE/bootstrap"), "{s}");
        assert!(s.contains("before the deploy began"), "{s}");
    }
}
