//! `scaling.metric: high_resolution`: the publisher function, its least-privilege role, log
//! group and schedule, and the target tracking policy that reads its metric every 10 seconds.

use super::*;

const HIRES: &str = "region: eu-west-1\nlab: true\nscaling: {metric: high_resolution}\n";

fn publisher_resources(fleet: &Value) -> Vec<String> {
    let mut ids: Vec<String> = fleet["Resources"]
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(|k| k.as_str())
        .filter(|k| k.starts_with("BacklogPublisher"))
        .map(str::to_string)
        .collect();
    ids.sort();
    ids
}

#[test]
fn by_default_the_policy_reads_sqs_and_nothing_publishes() {
    let (_, fleet) = rendered(&from_str("region: eu-west-1\nlab: true\n"));
    assert!(publisher_resources(&fleet).is_empty());
    let spec = &resource(&fleet, ids::SCALING_POLICY)["TargetTrackingConfiguration"]["CustomizedMetricSpecification"];
    assert!(spec.get("Period").is_none());
    assert_eq!(
        spec["Metrics"][0]["MetricStat"]["Metric"]["Namespace"],
        "AWS/SQS"
    );
}

#[test]
fn the_policy_reads_the_published_metric_with_a_ten_second_period() {
    let (_, fleet) = rendered(&from_str(HIRES));
    let tt = &resource(&fleet, ids::SCALING_POLICY)["TargetTrackingConfiguration"];
    let spec = &tt["CustomizedMetricSpecification"];
    assert_eq!(spec["Period"], 10);
    assert_eq!(spec["Namespace"], "qfleet");
    assert_eq!(spec["MetricName"], "BacklogPerInstance");
    assert_eq!(spec["Statistic"], "Average");
    assert_eq!(
        serde_yaml_ng::to_string(&spec["Dimensions"]).unwrap(),
        "- Name: Environment\n  Value: t\n"
    );
    assert!(spec.get("Metrics").is_none());
    assert_eq!(
        publisher_resources(&fleet),
        [
            "BacklogPublisher",
            "BacklogPublisherInvokePermission",
            "BacklogPublisherLogGroup",
            "BacklogPublisherPolicy",
            "BacklogPublisherRole",
            "BacklogPublisherSchedule",
        ]
    );
}

#[test]
fn the_publisher_runs_the_embedded_code_every_minute() {
    let env = from_str(HIRES);
    let (_, fleet) = rendered(&env);
    let f = resource(&fleet, ids::PUBLISHER);
    assert_eq!(f["FunctionName"], "qfleet-t-backlog-metric");
    assert_eq!(f["Handler"], "index.handler");
    // The shipped publisher, slimmed (embed.rs: the same syntax tree, Python says).
    assert_eq!(
        f["Code"]["ZipFile"].as_str().unwrap(),
        embed::slim_module(BACKLOG_PUBLISHER).trim_end()
    );
    let vars = &f["Environment"]["Variables"];
    assert_eq!(vars["QFLEET_ENVIRONMENT"], "t");
    assert!(vars.get("QFLEET_STAGE").is_none());
    assert_eq!(text_of(&vars["QFLEET_GROUP"]), ids::WORKER_GROUP);
    assert!(text_of(&vars["QFLEET_QUEUE_URL"]).ends_with("/qfleet-t-jobs"));
    // The function stops before its timeout, which is under the rule's minute.
    assert!(f["Timeout"].as_u64().unwrap() < 60);
    let rule = resource(&fleet, ids::PUBLISHER_SCHEDULE);
    assert_eq!(rule["ScheduleExpression"], "rate(1 minute)");
    assert_eq!(rule["Name"], "qfleet-t-backlog-metric");
    let perm = resource(&fleet, ids::PUBLISHER_PERMISSION);
    assert_eq!(perm["Action"], "lambda:InvokeFunction");
    assert_eq!(perm["Principal"], "events.amazonaws.com");
    assert_eq!(
        text_of(&perm["SourceArn"]),
        format!("{}.Arn", ids::PUBLISHER_SCHEDULE)
    );
    let logs = resource(&fleet, ids::PUBLISHER_LOG_GROUP);
    assert_eq!(logs["LogGroupName"], "/qfleet/t/backlog-metric");
    assert_eq!(
        logs["RetentionInDays"].as_u64(),
        Some(env.spec.workers.log_retention_days.into()),
        "the workers' retention"
    );
}

fn text_of(v: &Value) -> String {
    match untagged(v) {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other).unwrap(),
    }
}

#[test]
fn the_publishers_role_may_read_the_counts_and_publish_in_qfleets_namespace_only() {
    let (_, fleet) = rendered(&from_str(HIRES));
    let doc = &resource(&fleet, ids::PUBLISHER_POLICY)["PolicyDocument"]["Statement"];
    let statements: Vec<(String, String, String)> = doc
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["Sid"].as_str().unwrap().to_string(),
                serde_yaml_ng::to_string(&s["Action"]).unwrap(),
                text_of(&s["Resource"]),
            )
        })
        .collect();
    assert_eq!(statements.len(), 4, "{statements:#?}");
    assert_eq!(statements[0].1.trim(), "sqs:GetQueueAttributes");
    assert!(statements[0].2.ends_with(":qfleet-t-jobs"));
    assert_eq!(
        statements[1].1.trim(),
        "autoscaling:DescribeAutoScalingGroups"
    );
    assert_eq!(statements[2].1.trim(), "cloudwatch:PutMetricData");
    assert_eq!(
        doc[2]["Condition"]["StringEquals"]["cloudwatch:namespace"],
        "qfleet"
    );
    assert_eq!(
        statements[3].2,
        format!("{}.Arn", ids::PUBLISHER_LOG_GROUP),
        "logs on its own group only"
    );
}

#[test]
fn in_a_pipeline_only_the_stage_that_asks_publishes_with_its_own_dimension() {
    let env = from_str(
        "region: eu-west-1
lab: true
stages:
  - name: transcode
    workers: {min: 1, max: 3}
  - name: thumbnail
    prefix: transcoded/
    workers: {min: 1, max: 3}
    scaling: {metric: high_resolution}
",
    );
    let stacks = render(&env).unwrap();
    assert_eq!(stacks.len(), 3);
    let parse = |s: &RenderedStack| serde_yaml_ng::from_str::<Value>(&s.template).unwrap();
    let first = parse(&stacks[1]);
    assert!(publisher_resources(&first).is_empty());
    let second = parse(&stacks[2]);
    assert_eq!(publisher_resources(&second).len(), 6);
    let f = resource(&second, ids::PUBLISHER);
    assert_eq!(f["FunctionName"], "qfleet-t--thumbnail-backlog-metric");
    assert_eq!(f["Environment"]["Variables"]["QFLEET_STAGE"], "thumbnail");
    assert!(
        text_of(&f["Environment"]["Variables"]["QFLEET_QUEUE_URL"])
            .ends_with("/qfleet-t--thumbnail-jobs")
    );
    assert_eq!(
        resource(&second, ids::PUBLISHER_LOG_GROUP)["LogGroupName"],
        "/qfleet/t/thumbnail/backlog-metric"
    );
    let spec = &resource(&second, ids::SCALING_POLICY)["TargetTrackingConfiguration"]["CustomizedMetricSpecification"];
    assert_eq!(
        serde_yaml_ng::to_string(&spec["Dimensions"]).unwrap(),
        "- Name: Environment\n  Value: t\n- Name: Stage\n  Value: thumbnail\n"
    );
}
