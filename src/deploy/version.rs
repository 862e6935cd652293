//! A fleet update that brings a new worker version, named as such (docs/rollback.md): the
//! version, the one it replaces, how the workers are replaced and how long the rollback alarms
//! watch it. A plan of a new version showed a launch template change and three alarm changes;
//! it now says "new worker version, rolling update, rollback watch 5 minutes", in its text and
//! its JSON (`worker_version` of the fleet stack).
//!
//! The version is the `Version` dimension of the stage's rollback alarms, which every worker
//! kind's template carries (`rollback-alarms.yaml.j2`). CloudFormation's change set says
//! whether it changes: the failed-jobs alarm's `Dimensions` are modified, with the value before
//! (the running version). An update that adds the alarms says nothing of a version before
//! them: then the workers' definition changing (the launch template, the task definition, the
//! function) is a new version, the one before not known.

use crate::aws::ResourceChange as Change;
use crate::config::{LambdaDeployment, WorkerKind};
use aws_sdk_cloudformation::types::ChangeAction;
use schemars::JsonSchema;
use serde::Serialize;

/// The alarm whose `Version` dimension names the version (every kind has it).
const VERSIONED_ALARM: &str = "RollbackFailedJobsAlarm";

/// The resource types whose properties are the workers' definition (`render::worker_version`).
const DEFINITIONS: [&str; 3] = [
    "AWS::EC2::LaunchTemplate",
    "AWS::ECS::TaskDefinition",
    "AWS::Lambda::Function",
];

/// A new worker version, and what happens next.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub(crate) struct NewVersion {
    /// The version the update brings: the hash of the workers' definition, which every worker
    /// carries as `QFLEET_VERSION`.
    pub(crate) version: String,
    /// The version running now, as the change set's value before says it; null when it does
    /// not say (the update adds the rollback alarms).
    pub(crate) running: Option<String>,
    /// How it replaces the running version: `rolling_update` (EC2: one instance at a time),
    /// `ecs_deployment` (Fargate: ECS's rolling deployment), `codedeploy_canary` or
    /// `codedeploy_linear` (Lambda: CodeDeploy shifts the alias), `at_once` (Lambda with
    /// `deployment: direct`).
    #[schemars(extend("enum" = ["rolling_update", "ecs_deployment", "codedeploy_canary", "codedeploy_linear", "at_once"]))]
    pub(crate) rollout: &'static str,
    /// How long the rollback alarms watch it, in minutes: EC2, after the rolling update (0:
    /// during it only, or not at all: see `next`); Lambda, the shift. Null for Fargate, whose
    /// bake time ECS computes (by default under 5 minutes), and for `at_once` (no watch).
    pub(crate) watch_minutes: Option<i32>,
    /// What happens next, in words (the preview's line).
    pub(crate) next: String,
}

/// How an update of a fleet is judged: its kind, a function's deployment, and for EC2 the
/// rollback triggers it sends (how many, and their watch after the update).
pub(super) struct Judged {
    pub(super) kind: WorkerKind,
    pub(super) lambda: LambdaDeployment,
    pub(super) triggers: usize,
    pub(super) monitoring_minutes: i32,
}

/// The new worker version the update of `desired` (a stage's fleet stack, its change set's
/// `changes`) brings, judged as `env`'s workers are.
pub(super) fn of_update(
    env: &crate::config::Environment,
    desired: &super::desired::DesiredStack,
    changes: &[Change],
) -> Option<NewVersion> {
    let triggers = desired.rollback.as_ref();
    // The stage whose fleet stack it is (a pipeline's stages may be of different kinds).
    let stages = env.stages();
    let stage = stages
        .iter()
        .find(|s| s.fleet_stack_name() == desired.name)
        .copied()
        .unwrap_or(env);
    let judged = Judged {
        kind: stage.spec.workers.kind,
        lambda: stage.spec.workers.lambda.deployment,
        triggers: triggers.map_or(0, |t| t.alarms.len()),
        monitoring_minutes: triggers.map_or(0, |t| t.monitoring_minutes),
    };
    new_version(&desired.template, changes, &judged)
}

/// The new worker version `changes` (a fleet stack's change set) bring to `template`'s
/// workers; `None` when the version stays.
pub(super) fn new_version(
    template: &str,
    changes: &[Change],
    judged: &Judged,
) -> Option<NewVersion> {
    let version = version_of(template)?;
    let alarm = changes.iter().find(|c| c.logical_id == VERSIONED_ALARM);
    let running = match alarm.map(|c| (c.action.clone(), c.details.as_deref())) {
        // The alarm's dimensions change: the version does (the value before is the running one).
        Some((ChangeAction::Modify, Some(details))) => {
            match details
                .iter()
                .find(|d| d.name.as_deref() == Some("Dimensions"))
            {
                Some(d) => Some(d.before.as_deref().and_then(version_in_dimensions)),
                None => return None,
            }
        }
        // Not detailed, or the alarms are added: the definition tells.
        _ => changes
            .iter()
            .any(|c| {
                c.action == ChangeAction::Modify && DEFINITIONS.contains(&c.resource_type.as_str())
            })
            .then_some(None),
    }?;
    if running.as_deref() == Some(version.as_str()) {
        return None;
    }
    let (rollout, watch_minutes, next) = next_of(judged);
    Some(NewVersion {
        version,
        running,
        rollout,
        watch_minutes,
        next,
    })
}

/// How the new version replaces the running one, how long it is watched, and that in words.
fn next_of(j: &Judged) -> (&'static str, Option<i32>, String) {
    match j.kind {
        WorkerKind::Ec2 => {
            let watch = match (j.triggers, j.monitoring_minutes) {
                (0, _) => "its rollback alarms are no trigger of this update (see above): nothing rolls it back".to_string(),
                (_, 0) => "its rollback alarms watch it while it runs, and one in ALARM rolls the stack update back".to_string(),
                (_, m) => format!("its rollback alarms watch it while it runs and {m} minutes after, and one in ALARM rolls the stack update back"),
            };
            let minutes = (j.triggers > 0).then_some(j.monitoring_minutes);
            (
                "rolling_update",
                minutes,
                format!("a rolling update replaces the instances one at a time, each waiting for its worker to reach the queue; {watch}"),
            )
        }
        WorkerKind::Fargate | WorkerKind::EcsManaged => (
            "ecs_deployment",
            None,
            "ECS replaces the tasks (a rolling deployment with its circuit breaker) and watches the rollback alarms through the deployment's bake time (by default under 5 minutes); one in ALARM rolls the service back".into(),
        ),
        WorkerKind::Lambda => match j.lambda {
            LambdaDeployment::Canary => (
                "codedeploy_canary",
                Some(5),
                "CodeDeploy shifts the alias: 10 % of the jobs for 5 minutes, then all, watching the rollback alarms; one in ALARM shifts it back".into(),
            ),
            LambdaDeployment::Linear => (
                "codedeploy_linear",
                Some(10),
                "CodeDeploy shifts the alias: 10 % more of the jobs every minute, all after 10 minutes, watching the rollback alarms; one in ALARM shifts it back".into(),
            ),
            LambdaDeployment::Direct => (
                "at_once",
                None,
                "every job goes to it at once (deployment: direct): nothing rolls it back".into(),
            ),
        },
    }
}

/// The worker version a fleet template carries: its failed-jobs alarm's `Version` dimension.
fn version_of(template: &str) -> Option<String> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(template).ok()?;
    let dims = doc
        .get("Resources")?
        .get(VERSIONED_ALARM)?
        .get("Properties")?
        .get("Dimensions")?;
    dims.as_sequence()?
        .iter()
        .find(|d| d.get("Name").and_then(|n| n.as_str()) == Some("Version"))?
        .get("Value")?
        .as_str()
        .map(str::to_string)
}

/// The `Version` of a change's `Dimensions` value (JSON text, as CloudFormation gives it).
fn version_in_dimensions(json: &str) -> Option<String> {
    let dims: serde_json::Value = serde_json::from_str(json).ok()?;
    dims.as_array()?.iter().find(|d| d["Name"] == "Version")?["Value"]
        .as_str()
        .map(str::to_string)
}

/// The preview's line of a new worker version.
pub(super) fn said(stack: &str, v: &NewVersion) -> String {
    format!(
        "{stack}: new worker version {}{}: {}",
        v.version,
        v.running
            .as_deref()
            .map(|r| format!(" (replacing {r})"))
            .unwrap_or_default(),
        v.next
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::PropertyChange;

    const TEMPLATE: &str = "Resources:\n  LaunchTemplate:\n    Type: AWS::EC2::LaunchTemplate\n  RollbackFailedJobsAlarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      Dimensions:\n        - Name: Environment\n          Value: shop\n        - Name: Version\n          Value: \"bbbbbbbbbbbb\"\n";

    fn change(
        id: &str,
        ty: &str,
        action: ChangeAction,
        details: Option<Vec<PropertyChange>>,
    ) -> Change {
        Change {
            action,
            logical_id: id.into(),
            resource_type: ty.into(),
            replacement: None,
            details,
            drift: None,
        }
    }

    fn dimensions(before: &str) -> PropertyChange {
        PropertyChange {
            attribute: Some("Properties".into()),
            name: Some("Dimensions".into()),
            path: Some("/Properties/Dimensions".into()),
            change: Some("Modify".into()),
            before: Some(before.into()),
            after: None,
            requires_recreation: Some("Never".into()),
            evaluation: Some("Static".into()),
            source: Some("DirectModification".into()),
            causing_entity: None,
            before_from: None,
            drift: None,
        }
    }

    fn ec2(triggers: usize) -> Judged {
        Judged {
            kind: WorkerKind::Ec2,
            lambda: LambdaDeployment::Canary,
            triggers,
            monitoring_minutes: if triggers > 0 {
                super::super::triggers::MONITORING_MINUTES
            } else {
                0
            },
        }
    }

    /// Issue 85: a plan of a new worker version names it, the one it replaces, the rolling
    /// update and the rollback watch, not only a launch template change and alarm changes.
    #[test]
    fn a_new_version_is_named_with_its_rollout_and_watch() {
        let changes = [
            change(
                "LaunchTemplate",
                "AWS::EC2::LaunchTemplate",
                ChangeAction::Modify,
                Some(vec![]),
            ),
            change(
                VERSIONED_ALARM,
                "AWS::CloudWatch::Alarm",
                ChangeAction::Modify,
                Some(vec![dimensions(
                    r#"[{"Name":"Environment","Value":"shop"},{"Name":"Version","Value":"aaaaaaaaaaaa"}]"#,
                )]),
            ),
        ];
        let v = new_version(TEMPLATE, &changes, &ec2(3)).unwrap();
        assert_eq!(v.version, "bbbbbbbbbbbb");
        assert_eq!(v.running.as_deref(), Some("aaaaaaaaaaaa"));
        assert_eq!((v.rollout, v.watch_minutes), ("rolling_update", Some(5)));
        assert_eq!(
            said("qfleet-shop-fleet", &v),
            "qfleet-shop-fleet: new worker version bbbbbbbbbbbb (replacing aaaaaaaaaaaa): a rolling update replaces the instances one at a time, each waiting for its worker to reach the queue; its rollback alarms watch it while it runs and 5 minutes after, and one in ALARM rolls the stack update back"
        );
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["version"], "bbbbbbbbbbbb", "{json}");
        assert_eq!(json["watch_minutes"], 5, "{json}");
        // No trigger (its alarms in ALARM, or not read): said, never a watch that is not there.
        let v = new_version(TEMPLATE, &changes, &ec2(0)).unwrap();
        assert_eq!(v.watch_minutes, None);
        assert!(v.next.contains("nothing rolls it back"), "{}", v.next);
    }

    #[test]
    fn the_same_version_or_no_worker_change_is_no_new_version() {
        // A scaling change: neither the alarm's dimensions nor the definition change.
        let scaling = [change(
            "ScalingPolicy",
            "AWS::AutoScaling::ScalingPolicy",
            ChangeAction::Modify,
            Some(vec![]),
        )];
        assert_eq!(new_version(TEMPLATE, &scaling, &ec2(3)), None);
        // The alarm changes another property: not the version.
        let mut threshold = dimensions("1");
        threshold.name = Some("Threshold".into());
        let alarm = [change(
            VERSIONED_ALARM,
            "AWS::CloudWatch::Alarm",
            ChangeAction::Modify,
            Some(vec![threshold]),
        )];
        assert_eq!(new_version(TEMPLATE, &alarm, &ec2(3)), None);
        // Its dimensions say the same version.
        let same = [change(
            VERSIONED_ALARM,
            "AWS::CloudWatch::Alarm",
            ChangeAction::Modify,
            Some(vec![dimensions(
                r#"[{"Name":"Version","Value":"bbbbbbbbbbbb"}]"#,
            )]),
        )];
        assert_eq!(new_version(TEMPLATE, &same, &ec2(3)), None);
        assert_eq!(
            new_version("Resources: {}", &same, &ec2(3)),
            None,
            "no version in the template"
        );
    }

    /// The alarms are added by this update: the definition's change is the new version, the
    /// one before not known. Each kind says how it is replaced and watched.
    #[test]
    fn each_kind_says_how_a_new_version_replaces_the_workers() {
        let changes = [
            change(
                "TaskDefinition",
                "AWS::ECS::TaskDefinition",
                ChangeAction::Modify,
                Some(vec![]),
            ),
            change(
                VERSIONED_ALARM,
                "AWS::CloudWatch::Alarm",
                ChangeAction::Add,
                None,
            ),
        ];
        let judged = |kind, lambda| Judged {
            kind,
            lambda,
            triggers: 0,
            monitoring_minutes: 0,
        };
        let v = new_version(
            TEMPLATE,
            &changes,
            &judged(WorkerKind::Fargate, LambdaDeployment::Canary),
        )
        .unwrap();
        assert_eq!(
            (v.running, v.rollout, v.watch_minutes),
            (None, "ecs_deployment", None)
        );
        assert!(v.next.contains("bake time"), "{}", v.next);
        for (deployment, rollout, watch) in [
            (LambdaDeployment::Canary, "codedeploy_canary", Some(5)),
            (LambdaDeployment::Linear, "codedeploy_linear", Some(10)),
            (LambdaDeployment::Direct, "at_once", None),
        ] {
            let v =
                new_version(TEMPLATE, &changes, &judged(WorkerKind::Lambda, deployment)).unwrap();
            assert_eq!((v.rollout, v.watch_minutes), (rollout, watch));
        }
    }
}
