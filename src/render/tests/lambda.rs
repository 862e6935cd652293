//! The serverless fleet template (`workers.kind: lambda`), checked on the parsed YAML.

use super::*;
use crate::config;
use serde_yaml_ng::Value;

fn lambda(extra: &str) -> (Value, Value) {
    let env = config::parse(
        PathBuf::from("stacks/t.yaml"),
        format!("region: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n{extra}"),
    )
    .unwrap();
    let stacks = render(&env).unwrap();
    let parse = |s: &RenderedStack| serde_yaml_ng::from_str::<Value>(&s.template).unwrap();
    (parse(&stacks[0]), parse(&stacks[1]))
}

fn props<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["Resources"][name]["Properties"]
}

#[test]
fn the_function_is_fed_by_the_queue_with_partial_batch_failures() {
    let (_, fleet) = lambda("");
    let resources = fleet["Resources"].as_mapping().unwrap();
    let types: Vec<&str> = resources
        .values()
        .map(|r| r["Type"].as_str().unwrap())
        .collect();
    assert!(
        !types.contains(&"AWS::AutoScaling::AutoScalingGroup"),
        "{types:?}"
    );
    assert!(!types.contains(&"AWS::EC2::LaunchTemplate"), "{types:?}");
    let m = props(&fleet, ids::QUEUE_MAPPING);
    assert_eq!(
        m["FunctionResponseTypes"][0].as_str(),
        Some("ReportBatchItemFailures")
    );
    assert_eq!(m["BatchSize"].as_u64(), Some(10));
    assert_eq!(m["ScalingConfig"]["MaximumConcurrency"].as_u64(), Some(5));
    assert_eq!(
        fleet["Resources"][ids::QUEUE_MAPPING]["DependsOn"].as_str(),
        Some(ids::FUNCTION_POLICY),
        "the mapping polls with the role's permissions in place"
    );
    let f = props(&fleet, ids::FUNCTION);
    assert_eq!(f["FunctionName"].as_str(), Some("qfleet-t-worker"));
    assert_eq!(f["Handler"].as_str(), Some("index.handler"));
    assert_eq!(f["Timeout"].as_u64(), Some(10));
    let code = f["Code"]["ZipFile"].as_str().unwrap();
    assert_eq!(code.trim_end(), config::code::REFERENCE_HANDLER.trim_end());
    assert!(f.get("ReservedConcurrentExecutions").is_none());
    let logs = props(&fleet, ids::FUNCTION_LOG_GROUP);
    assert_eq!(
        logs["LogGroupName"].as_str(),
        Some("/aws/lambda/qfleet-t-worker")
    );
    assert_eq!(logs["RetentionInDays"].as_u64(), Some(14));
}

#[test]
fn the_function_role_is_scoped_to_this_environment() {
    let (_, fleet) = lambda("");
    let doc = &props(&fleet, ids::FUNCTION_POLICY)["PolicyDocument"]["Statement"];
    let text = serde_yaml_ng::to_string(doc).unwrap();
    assert!(
        !text.contains("\"*\"") && !text.contains("Resource: '*'"),
        "{text}"
    );
    assert!(text.contains("qfleet-t-jobs"));
    assert!(text.contains("t-uploads-${AWS::AccountId}-${AWS::Region}/processed/*"));
    for forbidden in [
        "sqs:SendMessage",
        "sqs:*",
        "s3:*",
        "s3:ListBucket",
        "logs:CreateLogGroup",
    ] {
        assert!(!text.contains(forbidden), "{forbidden} in {text}");
    }
    // Uploads are deleted, never written; results are written, never deleted.
    for st in doc.as_sequence().unwrap() {
        let resources = serde_yaml_ng::to_string(&st["Resource"]).unwrap();
        match st["Action"].as_str() {
            Some("s3:PutObject") => assert!(!resources.contains("/uploads/"), "{resources}"),
            Some("s3:DeleteObject") => assert!(!resources.contains("/processed/"), "{resources}"),
            _ => {}
        }
    }
}

#[test]
fn the_data_stack_alarms_on_the_functions_errors_and_throttles() {
    let (data, _) = lambda("");
    for (alarm, metric) in [
        ("FunctionErrorsAlarm", "Errors"),
        ("FunctionThrottlesAlarm", "Throttles"),
    ] {
        let a = props(&data, alarm);
        assert_eq!(a["Namespace"].as_str(), Some("AWS/Lambda"));
        assert_eq!(a["MetricName"].as_str(), Some(metric));
        assert_eq!(
            a["Dimensions"][0]["Value"].as_str(),
            Some("qfleet-t-worker")
        );
    }
    // EC2 environments have no function alarms.
    let env = config::parse(PathBuf::from("stacks/t.yaml"), "region: eu-west-1\n".into()).unwrap();
    let data = render(&env).unwrap().remove(0).template;
    assert!(!data.contains("FunctionErrorsAlarm"));
}

#[test]
fn reserved_concurrency_is_set_only_when_asked() {
    let (_, fleet) = lambda("  lambda:\n    reserved_concurrency: 8\n");
    assert_eq!(
        props(&fleet, ids::FUNCTION)["ReservedConcurrentExecutions"].as_u64(),
        Some(8)
    );
    let suppressed =
        serde_yaml_ng::to_string(&fleet["Resources"][ids::FUNCTION]["Metadata"]).unwrap();
    assert!(
        !suppressed.contains("LAMBDA_CONCURRENCY_CHECK"),
        "{suppressed}"
    );
}

#[test]
fn provisioned_pollers_replace_the_maximum_concurrency() {
    let (_, fleet) = lambda("  lambda:\n    provisioned_pollers: {minimum: 2, maximum: 50}\n");
    let m = props(&fleet, ids::QUEUE_MAPPING);
    assert_eq!(
        m["ProvisionedPollerConfig"]["MinimumPollers"].as_u64(),
        Some(2)
    );
    assert_eq!(
        m["ProvisionedPollerConfig"]["MaximumPollers"].as_u64(),
        Some(50)
    );
    // AWS makes the two exclusive: no ScalingConfig in provisioned mode.
    assert!(m.get("ScalingConfig").is_none(), "{m:?}");
    let (_, standard) = lambda("");
    let m = props(&standard, ids::QUEUE_MAPPING);
    assert_eq!(m["ScalingConfig"]["MaximumConcurrency"].as_u64(), Some(5));
    assert!(m.get("ProvisionedPollerConfig").is_none(), "{m:?}");
}
