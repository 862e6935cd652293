//! Worker deploys that roll back on alarms (EC2 and Fargate), proven by render: no emulator here
//! runs an instance refresh or an ECS deployment, so these tests check the rendered templates
//! against AWS's pages, cited beside each.

use super::*;

const NET: &str = "  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\n";

/// The alarm a node names: `!Ref ID` (an alarm's Ref is its name), as ID.
fn named(v: &Value) -> Option<&str> {
    match v {
        Value::Tagged(t) if t.tag == "!Ref" => t.value.as_str(),
        _ => None,
    }
}

/// The stage's worker version as its template carries it: the workers' `QFLEET_VERSION`.
fn version_in(template: &str) -> String {
    let at = template
        .find("QFLEET_VERSION")
        .expect("the workers carry their version");
    template[at..]
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| {
            w.len() == 12
                && w.chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
        .expect("a 12-digit version after QFLEET_VERSION")
        .to_string()
}

/// Each rollback alarm: named `<this stack>-rollback-<what>`, on the worker metric `what`
/// with the stage's dimensions and the version, missing data not breaching.
fn assert_alarms(fleet: &Value, template: &str, stage: Option<&str>, ids: &[(&str, &str, &str)]) {
    let version = version_in(template);
    assert_eq!(version.len(), 12, "{version}");
    for (id, name, metric) in ids {
        let a = resource(fleet, id);
        // Unnamed: CloudFormation names it `<stack>-<id>-<random>`, read by `<stack>-Rollback`.
        assert!(
            a.get("AlarmName").is_none() && id.starts_with("Rollback"),
            "{id} {name}"
        );
        assert_eq!(a["Namespace"].as_str(), Some("qfleet"));
        assert_eq!(a["MetricName"].as_str(), Some(*metric), "{id}");
        assert_eq!(a["TreatMissingData"].as_str(), Some("notBreaching"), "{id}");
        let dims: Vec<(String, String)> = a["Dimensions"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["Name"].as_str().unwrap().to_string(),
                    d["Value"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let mut want = vec![("Environment".to_string(), "t".to_string())];
        if let Some(s) = stage {
            want.push(("Stage".into(), s.into()));
        }
        want.push(("Version".into(), version.clone()));
        assert_eq!(dims, want, "{id}: the new version's series only");
    }
}

/// An EC2 stage's update is a rolling update that waits for each replacement's signal, not an
/// instance refresh watching the rollback alarms: "When choosing a CloudWatch alarm, the alarm
/// must be in a compatible state. If the alarm state is INSUFFICIENT_DATA or ALARM, you receive
/// an error when you try to start the instance refresh"
/// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-rollback.html), which a
/// rollback alarm the same deploy creates, or a fix deployed during an incident, would meet.
/// The stage's rollback alarms roll it back as the update's rollback triggers, which deploy
/// sends (src/deploy/triggers.rs).
#[test]
fn an_ec2_update_is_a_rolling_update_on_signals_not_a_refresh_an_alarm_could_refuse_by_render() {
    let env = from_str(&format!(
        "region: eu-west-1\nworkers:\n  min: 2\n  max: 6\n  instance_warmup: 180\n{NET}"
    ));
    let stacks = render(&env).unwrap();
    let fleet: Value = serde_yaml_ng::from_str(&stacks[1].template).unwrap();
    let group = &fleet["Resources"]["WorkerGroup"];
    let policy = &group["UpdatePolicy"];
    assert!(policy.get("AutoScalingInstanceRefresh").is_none());
    let rolling = &policy["AutoScalingRollingUpdate"];
    assert_eq!(rolling["WaitOnResourceSignals"].as_bool(), Some(true));
    assert_eq!(rolling["MaxBatchSize"].as_u64(), Some(1));
    assert_eq!(rolling["MinInstancesInService"].as_u64(), Some(2));
    assert_alarms(
        &fleet,
        &stacks[1].template,
        None,
        &[
            ("RollbackFailedJobsAlarm", "failed-jobs", "JobsFailed"),
            (
                "RollbackDeadLettersAlarm",
                "dead-letters",
                "JobsDeadLettered",
            ),
            ("RollbackBootstrapAlarm", "bootstrap", "BootstrapFailed"),
        ],
    );
    // The first create still waits for the first instances' signals.
    assert_eq!(
        group["CreationPolicy"]["ResourceSignal"]["Count"].as_u64(),
        Some(2)
    );
    // A new instance waits in the launching hook till its worker reached the queue; one never
    // completed is abandoned.
    let hook = resource(&fleet, ids::LAUNCH_HOOK);
    assert_eq!(
        hook["LifecycleTransition"].as_str(),
        Some("autoscaling:EC2_INSTANCE_LAUNCHING")
    );
    assert_eq!(hook["DefaultResult"].as_str(), Some("ABANDON"));
}

/// Thresholds: a version that fails every job trips the failed-jobs alarm in 2 of 3 minutes
/// with 3 failures a minute; one flaky failure does not; one dead letter does; two failed
/// bootstraps in ten minutes do.
#[test]
fn the_rollback_alarms_trip_on_a_failing_version_not_on_one_flaky_failure_by_render() {
    let (_, fleet) = rendered(&from_str(&format!("region: eu-west-1\nworkers:\n{NET}")));
    let failed = resource(&fleet, "RollbackFailedJobsAlarm");
    assert_eq!(failed["Period"].as_u64(), Some(60));
    assert_eq!(failed["EvaluationPeriods"].as_u64(), Some(3));
    assert_eq!(failed["DatapointsToAlarm"].as_u64(), Some(2));
    assert_eq!(failed["Threshold"].as_f64(), Some(3.0));
    assert_eq!(
        failed["ComparisonOperator"].as_str(),
        Some("GreaterThanOrEqualToThreshold")
    );
    let dead = resource(&fleet, "RollbackDeadLettersAlarm");
    assert_eq!(dead["Threshold"].as_f64(), Some(1.0));
    assert_eq!(dead["EvaluationPeriods"].as_u64(), Some(1));
    let boot = resource(&fleet, "RollbackBootstrapAlarm");
    assert_eq!(boot["EvaluationPeriods"].as_u64(), Some(10));
    assert_eq!(boot["DatapointsToAlarm"].as_u64(), Some(2));
}

/// A failed bootstrap reports BootstrapFailed with the version the alarm watches and abandons
/// its launch hook (CompleteLifecycleAction, ABANDON: the instance is terminated and
/// replaced, https://docs.aws.amazon.com/autoscaling/ec2/userguide/completing-lifecycle-hooks.html);
/// the reference worker gets the hook's name, and a container's bootstrap completes it.
#[test]
fn a_failed_bootstrap_reports_its_version_and_abandons_its_launch_by_render() {
    let net = "      network:\n        vpc: vpc-0123456789abcdef0\n        subnets:\n          eu-west-1a: subnet-0123456789abcdef0\n          eu-west-1b: subnet-0123456789abcdef1\n";
    let env = from_str(&format!(
        "region: eu-west-1\nlab: true\nstages:\n  - name: resize\n    workers:\n{net}  - name: thumbnail\n    fed_by: objects\n    prefix: resized/\n    workers:\n{net}"
    ));
    let stacks = render(&env).unwrap();
    let last = stacks.last().unwrap();
    let version = version_in(&last.template);
    let fleet: Value = serde_yaml_ng::from_str(&last.template).unwrap();
    assert_alarms(
        &fleet,
        &last.template,
        Some("thumbnail"),
        &[("RollbackBootstrapAlarm", "bootstrap", "BootstrapFailed")],
    );
    let t = &last.template;
    assert!(
        t.contains("trap 'qfleet_bootstrap_failed $? $LINENO' ERR"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "--dimensions \"Environment=t,Stage=thumbnail,Version={version}\""
        )),
        "the bootstrap's metric carries the alarm's dimensions"
    );
    assert!(t.contains("--lifecycle-action-result ABANDON"));
    assert!(t.contains("QFLEET_LAUNCH_HOOK=bootstrap-on-launch"));
}

/// "How CloudWatch alarms detect Amazon ECS deployment failures" (Amazon ECS Developer Guide,
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html):
/// the service's deployment alarms (Enable, Rollback) beside the circuit breaker, each failing
/// the deployment as soon as its criteria are met; ECS watches them through the bake time
/// after the new tasks are healthy and the old ones gone.
#[test]
fn a_fargate_service_rolls_back_on_the_stages_alarms_beside_its_circuit_breaker_by_render() {
    let env = from_str(
        "region: eu-west-1\nlab: true\nworkers:\n  kind: fargate\n  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/resizer:1.4.2\n",
    );
    let stacks = render(&env).unwrap();
    let fleet: Value = serde_yaml_ng::from_str(&stacks[1].template).unwrap();
    let service = fleet["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|r| r["Type"].as_str() == Some("AWS::ECS::Service"))
        .unwrap();
    let dc = &service["Properties"]["DeploymentConfiguration"];
    assert_eq!(
        dc["DeploymentCircuitBreaker"]["Rollback"].as_bool(),
        Some(true)
    );
    let alarms = &dc["Alarms"];
    assert_eq!(alarms["Enable"].as_bool(), Some(true));
    assert_eq!(alarms["Rollback"].as_bool(), Some(true));
    let names: Vec<&str> = alarms["AlarmNames"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| named(a).unwrap())
        .collect();
    assert_eq!(
        names,
        ["RollbackFailedJobsAlarm", "RollbackDeadLettersAlarm"],
        "Refs: the service waits for their update"
    );
    assert_alarms(
        &fleet,
        &stacks[1].template,
        None,
        &[
            ("RollbackFailedJobsAlarm", "failed-jobs", "JobsFailed"),
            (
                "RollbackDeadLettersAlarm",
                "dead-letters",
                "JobsDeadLettered",
            ),
        ],
    );
    assert!(fleet["Resources"].get("RollbackBootstrapAlarm").is_none());
}
