//! The Fargate fleet template (`workers.kind: fargate`), checked on the parsed YAML: what
//! moto drops or skips (most Fargate properties, Application Auto Scaling) is asserted here
//! against AWS's documented behaviour, cited in the template.

use super::*;
use crate::config;
use serde_yaml_ng::Value;

const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/resizer:1.4.2";

fn fargate(extra: &str) -> Value {
    fargate_with("", extra)
}

fn fargate_with(top: &str, workers: &str) -> Value {
    let env = config::parse(
        PathBuf::from("stacks/t.yaml"),
        format!(
            "region: eu-west-1\nlab: true\n{top}workers:\n  kind: fargate\n  image: {IMAGE}\n{workers}"
        ),
    )
    .unwrap()
    .into_only();
    let stacks = render(&env).unwrap();
    serde_yaml_ng::from_str::<Value>(&stacks[1].template).unwrap()
}

fn props<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["Resources"][name]["Properties"]
}

fn types(doc: &Value) -> Vec<String> {
    doc["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .map(|r| r["Type"].as_str().unwrap().to_string())
        .collect()
}

fn container(doc: &Value) -> &Value {
    &props(doc, ids::TASK_DEFINITION)["ContainerDefinitions"][0]
}

fn env_var<'a>(doc: &'a Value, name: &str) -> Option<&'a Value> {
    container(doc)["Environment"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| v["Name"].as_str() == Some(name))
        .map(|v| &v["Value"])
}

fn statement<'a>(doc: &'a Value, policy: &str, sid: &str) -> Option<&'a Value> {
    props(doc, policy)["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["Sid"].as_str() == Some(sid))
}

#[test]
fn the_service_runs_the_image_in_private_subnets_behind_a_circuit_breaker() {
    let fleet = fargate("");
    let t = types(&fleet);
    for absent in [
        "AWS::AutoScaling::AutoScalingGroup",
        "AWS::Lambda::Function",
    ] {
        assert!(!t.iter().any(|x| x == absent), "{t:?}");
    }
    let s = props(&fleet, ids::SERVICE);
    assert_eq!(s["ServiceName"].as_str(), Some("qfleet-t-workers"));
    assert_eq!(
        fleet["Resources"][ids::SERVICE]["DependsOn"],
        serde_yaml_ng::from_str::<Value>("[WorkerExecutionPolicy, WorkerPolicy]").unwrap(),
        "the first task runs with its policies in place"
    );
    // A deploy never resets what Application Auto Scaling set.
    assert!(s.get("DesiredCount").is_none(), "{s:?}");
    // "If a capacityProviderStrategy is specified, the launchType parameter must be omitted."
    assert!(s.get("LaunchType").is_none());
    assert_eq!(
        s["CapacityProviderStrategy"][0]["CapacityProvider"].as_str(),
        Some("FARGATE")
    );
    let breaker = &s["DeploymentConfiguration"]["DeploymentCircuitBreaker"];
    assert_eq!(breaker["Enable"].as_bool(), Some(true));
    assert_eq!(breaker["Rollback"].as_bool(), Some(true));
    let net = &s["NetworkConfiguration"]["AwsvpcConfiguration"];
    assert_eq!(net["AssignPublicIp"].as_str(), Some("DISABLED"));
    assert_eq!(s["EnableExecuteCommand"].as_bool(), Some(false));
    let td = props(&fleet, ids::TASK_DEFINITION);
    assert_eq!(td["Family"].as_str(), Some("qfleet-t-worker"));
    assert_eq!(td["NetworkMode"].as_str(), Some("awsvpc"));
    assert_eq!(td["Cpu"].as_str(), Some("256"));
    assert_eq!(td["Memory"].as_str(), Some("512"));
    assert_eq!(
        td["RuntimePlatform"]["CpuArchitecture"].as_str(),
        Some("X86_64")
    );
    let c = container(&fleet);
    assert_eq!(c["Image"].as_str(), Some(IMAGE));
    assert_eq!(c["StopTimeout"].as_u64(), Some(30));
    // awslogs on Fargate needs a stream prefix; qfleet's own group, not one ECS creates.
    let logs = &c["LogConfiguration"]["Options"];
    assert_eq!(logs["awslogs-stream-prefix"].as_str(), Some("worker"));
    assert!(logs.get("awslogs-create-group").is_none());
    assert_eq!(
        props(&fleet, ids::WORKER_LOG_GROUP)["LogGroupName"].as_str(),
        Some("/qfleet/t/workers")
    );
    assert_eq!(
        env_var(&fleet, "QFLEET_QUEUE_NAME").and_then(Value::as_str),
        Some("qfleet-t-jobs")
    );
    // The worker drains within the stop timeout, a few seconds kept for its own exit.
    assert_eq!(
        env_var(&fleet, "QFLEET_STOP_GRACE").and_then(Value::as_str),
        Some("25")
    );
    let cluster = props(&fleet, ids::CLUSTER);
    assert_eq!(cluster["ClusterName"].as_str(), Some("qfleet-t"));
    assert_eq!(
        cluster["ClusterSettings"][0]["Value"].as_str(),
        Some("enabled"),
        "Container Insights publishes RunningTaskCount, the policy's denominator"
    );
}

#[test]
fn public_ip_is_an_explicit_opt_in_on_fargate_too() {
    let fleet = fargate("  public_ip: true\n");
    let net = &props(&fleet, ids::SERVICE)["NetworkConfiguration"]["AwsvpcConfiguration"];
    assert_eq!(net["AssignPublicIp"].as_str(), Some("ENABLED"));
}

#[test]
fn spot_is_a_capacity_provider_strategy_with_the_base_on_demand() {
    let fleet = fargate("  max: 10\n  spot: {percent: 70, on_demand_base: 1}\n");
    let s = &props(&fleet, ids::SERVICE)["CapacityProviderStrategy"];
    assert_eq!(s[0]["CapacityProvider"].as_str(), Some("FARGATE"));
    assert_eq!(s[0]["Base"].as_u64(), Some(1));
    assert_eq!(s[0]["Weight"].as_u64(), Some(3));
    assert_eq!(s[1]["CapacityProvider"].as_str(), Some("FARGATE_SPOT"));
    assert!(s[1].get("Base").is_none(), "one provider has a base");
    assert_eq!(s[1]["Weight"].as_u64(), Some(7));
    // Only providers associated with the cluster can be used.
    let providers = &props(&fleet, ids::CLUSTER)["CapacityProviders"];
    assert_eq!(providers[1].as_str(), Some("FARGATE_SPOT"));
}

#[test]
fn scaling_tracks_backlog_per_running_task_within_min_and_max() {
    let fleet = fargate_with(
        "scaling: {max_latency_seconds: 60, seconds_per_message: 2}\n",
        "  min: 1\n  max: 8\n",
    );
    let target = props(&fleet, ids::SCALABLE_TARGET);
    assert_eq!(target["MinCapacity"].as_u64(), Some(1));
    assert_eq!(target["MaxCapacity"].as_u64(), Some(8));
    assert_eq!(
        target["ScalableDimension"].as_str(),
        Some("ecs:service:DesiredCount")
    );
    assert!(target.get("RoleARN").is_none(), "the service-linked role");
    let p = &props(&fleet, ids::TASK_SCALING_POLICY)["TargetTrackingScalingPolicyConfiguration"];
    assert_eq!(
        p["TargetValue"].as_f64(),
        Some(crate::config::headroom::target(60.0, 2.0, 8, None))
    );
    assert_eq!(p["DisableScaleIn"].as_bool(), Some(true));
    assert_eq!(p["ScaleOutCooldown"].as_u64(), Some(60));
    assert_eq!(p["ScaleInCooldown"].as_u64(), Some(120));
    let m = &p["CustomizedMetricSpecification"]["Metrics"];
    assert_eq!(
        m[0]["MetricStat"]["Metric"]["MetricName"].as_str(),
        Some("ApproximateNumberOfMessagesVisible")
    );
    let running = &m[1]["MetricStat"]["Metric"];
    assert_eq!(running["Namespace"].as_str(), Some("ECS/ContainerInsights"));
    assert_eq!(running["MetricName"].as_str(), Some("RunningTaskCount"));
    assert_eq!(running["Dimensions"][0]["Value"].as_str(), Some("qfleet-t"));
    assert_eq!(
        running["Dimensions"][1]["Value"].as_str(),
        Some("qfleet-t-workers")
    );
    assert_eq!(
        m[2]["MetricStat"]["Metric"]["MetricName"].as_str(),
        Some("ApproximateNumberOfMessagesNotVisible")
    );
    // No in-flight datapoint is none in flight: SQS reports the metric "if in-flight
    // messages exist".
    assert_eq!(m[3]["Expression"].as_str(), Some("(m1 + FILL(m3, 0)) / m2"));
    assert!(fleet["Resources"].get("ScaleFromZeroPolicy").is_none());
    // The gradual scale-in: a step policy removing 10 % (at least one task) with its
    // cooldown, on an alarm below 0.75 × the target for 10 minutes.
    let step = &props(&fleet, "ScaleInPolicy")["StepScalingPolicyConfiguration"];
    assert_eq!(
        step["AdjustmentType"].as_str(),
        Some("PercentChangeInCapacity")
    );
    assert_eq!(step["Cooldown"].as_u64(), Some(300));
    assert_eq!(step["MinAdjustmentMagnitude"].as_u64(), Some(1));
    assert_eq!(
        step["StepAdjustments"][0]["ScalingAdjustment"].as_i64(),
        Some(-10)
    );
    assert_eq!(
        step["StepAdjustments"][0]["MetricIntervalUpperBound"].as_u64(),
        Some(0)
    );
    let alarm = props(&fleet, "ScaleInAlarm");
    assert_eq!(alarm["EvaluationPeriods"].as_u64(), Some(10));
    assert_eq!(alarm["DatapointsToAlarm"].as_u64(), Some(10));
    assert_eq!(
        alarm["ComparisonOperator"].as_str(),
        Some("LessThanThreshold")
    );
    assert_eq!(alarm["TreatMissingData"].as_str(), Some("notBreaching"));
    let threshold = alarm["Threshold"].as_f64().unwrap();
    let expected = crate::config::headroom::target(60.0, 2.0, 8, None) * 0.75;
    assert!(
        (threshold - expected).abs() < 1e-3,
        "{threshold} {expected}"
    );
}

#[test]
fn starting_from_zero_adds_one_task_while_jobs_wait_and_no_task_takes_them() {
    let fleet = fargate_with("scaling: {scale_from_zero: true}\n", "  min: 0\n  max: 4\n");
    let p = &props(&fleet, "ScaleFromZeroPolicy")["StepScalingPolicyConfiguration"];
    assert_eq!(p["AdjustmentType"].as_str(), Some("ChangeInCapacity"));
    assert_eq!(
        p["StepAdjustments"][0]["ScalingAdjustment"].as_i64(),
        Some(1)
    );
    let a = props(&fleet, "ScaleFromZeroAlarm");
    assert_eq!(
        a["Metrics"][3]["Expression"].as_str(),
        Some("IF(visible > 0 AND (FILL(inflight, 0) == 0 OR FILL(received, 0) == 0), 1, 0)")
    );
    assert_eq!(a["EvaluationPeriods"].as_u64(), Some(2));
    assert_eq!(a["TreatMissingData"].as_str(), Some("notBreaching"));
}

#[test]
fn the_task_role_gets_the_queue_and_statements_and_the_execution_role_the_secrets() {
    let fleet = fargate(
        "  secrets: {API_KEY: secretsmanager:app/key, DB: ssm:/app/db}\n  statements:\n    - {Effect: Allow, Action: dynamodb:PutItem, Resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/t'}\n",
    );
    let trust = &props(&fleet, "WorkerTaskRole")["AssumeRolePolicyDocument"]["Statement"][0];
    assert!(
        trust["Principal"]["Service"]
            .as_str()
            .unwrap()
            .starts_with("ecs-tasks.")
    );
    assert!(statement(&fleet, "WorkerPolicy", "ConsumeJobs").is_some());
    let protect = statement(&fleet, "WorkerPolicy", "ProtectWhileWorking").unwrap();
    assert_eq!(protect["Action"].as_str(), Some("ecs:UpdateTaskProtection"));
    assert!(
        untagged(&protect["Resource"])
            .as_str()
            .unwrap()
            .ends_with(":task/qfleet-t/*")
    );
    assert!(statement(&fleet, "WorkerPolicy", "CompleteOwnLifecycle").is_none());
    assert!(statement(&fleet, "WorkerPolicy", "ExecIntoTasks").is_none());
    let declared = &props(&fleet, "WorkerDeclaredPolicy")["PolicyDocument"]["Statement"];
    assert_eq!(declared[0]["Action"].as_str(), Some("dynamodb:PutItem"));
    // ECS reads parameters with GetParameters, secrets with GetSecretValue, as the
    // execution role, when each task starts; the task role reads none.
    let ssm = statement(&fleet, "WorkerExecutionPolicy", "ReadDeclaredParameters").unwrap();
    assert_eq!(ssm["Action"].as_str(), Some("ssm:GetParameters"));
    let sm = statement(&fleet, "WorkerExecutionPolicy", "ReadDeclaredSecrets").unwrap();
    assert_eq!(sm["Action"].as_str(), Some("secretsmanager:GetSecretValue"));
    assert!(statement(&fleet, "WorkerPolicy", "ReadDeclaredSecrets").is_none());
    // The private ECR image is pulled by the execution role from its repository only.
    let pull = statement(&fleet, "WorkerExecutionPolicy", "PullWorkerImage").unwrap();
    assert!(
        untagged(&pull["Resource"])
            .as_str()
            .unwrap()
            .ends_with(":repository/resizer")
    );
    let secrets = container(&fleet)["Secrets"].as_sequence().unwrap();
    let value_from = |name: &str| {
        secrets
            .iter()
            .find(|s| s["Name"].as_str() == Some(name))
            .map(|s| untagged(&s["ValueFrom"]).as_str().unwrap().to_string())
            .unwrap()
    };
    assert!(value_from("DB").ends_with(":parameter/app/db"));
    assert!(value_from("API_KEY").ends_with(":secret:app/key"));
    // Never a value in the environment.
    assert!(env_var(&fleet, "API_KEY").is_none());
}

#[test]
fn exec_adds_the_ssm_channels_and_turns_on_execute_command() {
    let fleet = fargate_with(
        "queue: {visibility_timeout: 5m}\n",
        "  fargate: {exec: true, cpu: 1024, memory: 4096, platform: linux/arm64, stop_timeout: 2m, ephemeral_storage_gib: 50}\n",
    );
    assert!(statement(&fleet, "WorkerPolicy", "ExecIntoTasks").is_some());
    let s = props(&fleet, ids::SERVICE);
    assert_eq!(s["EnableExecuteCommand"].as_bool(), Some(true));
    let td = props(&fleet, ids::TASK_DEFINITION);
    assert_eq!(td["Cpu"].as_str(), Some("1024"));
    assert_eq!(td["Memory"].as_str(), Some("4096"));
    assert_eq!(
        td["RuntimePlatform"]["CpuArchitecture"].as_str(),
        Some("ARM64")
    );
    assert_eq!(td["EphemeralStorage"]["SizeInGiB"].as_u64(), Some(50));
    assert_eq!(container(&fleet)["StopTimeout"].as_u64(), Some(120));
}

/// A file loaded without its build contexts (a command that neither builds nor renders) knows
/// no image tag: rendering it is refused at the build's field, never a template without its
/// image.
#[test]
fn a_build_whose_context_was_not_read_is_never_rendered() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let path = dir.path().join("b.yaml");
    let text = "region: eu-west-1\nlab: true\nworkers:\n  kind: fargate\n  image:\n    build: {}\n";
    std::fs::write(&path, text).unwrap();
    let read = config::parse(path.clone(), text.into())
        .unwrap()
        .into_only();
    assert!(render(&read).is_ok());
    let unread = config::parse_reading(path, text.into(), config::Reading::NoBuildContexts)
        .unwrap()
        .into_only();
    let err = render(&unread).unwrap_err().to_string();
    assert!(
        err.contains("workers.image.build") && err.contains("did not read the build context"),
        "{err}"
    );
}
