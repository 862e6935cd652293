//! The environment's CloudWatch dashboard (`dashboard`, on by default): one row per stage, of
//! what an engineer on call looks at first. Its body is built here as JSON and written into the
//! data stack as a `Fn::Sub` text (the Region, and each dead-letter queue's generated name).
//!
//! The body follows "Dashboard Body Structure and Syntax"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html>):
//! a 24-column grid of widgets, each metric a row `[namespace, name, dimension, value, …,
//! {options}]`, where `"."` repeats the row above's item at that place. Only metric and text
//! widgets: no Logs Insights widget, which bills per query it runs.

use super::{ResourceNames, stage_id};
use crate::config::{Environment, WorkerKind};
use serde_json::{Value, json};

/// The logical id of the dashboard in the data stack.
pub const DASHBOARD: &str = "Dashboard";

/// Columns of a widget (six to a row of 24) and rows of a stage's widgets.
const WIDTH: u32 = 4;
const HEIGHT: u32 = 6;

/// The dashboard's name: the environment's and the Region's. A dashboard's name is the
/// account's, not a Region's (its ARN has none: `arn:aws:cloudwatch::ACCOUNT:dashboard/NAME`,
/// "Amazon CloudWatch" in the Service Authorization Reference,
/// <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html>),
/// so an environment of the same name in another Region needs another. A `Fn::Sub` text.
pub(crate) fn name(env: &Environment) -> String {
    format!("qfleet-{}-${{AWS::Region}}", env.resource_name())
}

/// The console's page of the dashboard `name` in `region`: each partition has its console
/// ("Signing in to the AWS Management Console": aws-cn's at console.amazonaws.cn,
/// <https://docs.amazonaws.cn/en_us/aws/latest/userguide/console.html>; AWS GovCloud (US)'s at
/// console.amazonaws-us-gov.com,
/// <https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/getting-started-sign-in.html>).
pub fn link(region: &str, name: &str) -> String {
    let host = match crate::config::partition(region) {
        Some("aws-cn") => format!("{region}.console.amazonaws.cn"),
        Some("aws-us-gov") => "console.amazonaws-us-gov.com".to_string(),
        _ => format!("{region}.console.aws.amazon.com"),
    };
    format!("https://{host}/cloudwatch/home?region={region}#dashboards/dashboard/{name}")
}

/// The dashboard's body as a `Fn::Sub` text.
pub(crate) fn body(env: &Environment) -> String {
    let mut widgets = Vec::new();
    for (i, stage) in env.stages().into_iter().enumerate() {
        let y = i as u32 * (HEIGHT + 1);
        widgets.push(header(stage, y));
        widgets.extend(
            row(stage, i)
                .into_iter()
                .enumerate()
                .map(|(col, (title, properties))| widget(title, properties, col as u32, y + 1)),
        );
    }
    json!({ "widgets": widgets }).to_string()
}

fn header(stage: &Environment, y: u32) -> Value {
    let kind = stage.spec.workers.kind.as_str();
    let text = match stage.pipeline_stage() {
        Some(s) => format!("### Stage {} ({kind} workers)", s.name),
        None => format!("### qfleet {} ({kind} workers)", stage.resource_name()),
    };
    json!({"type": "text", "x": 0, "y": y, "width": 24, "height": 1,
           "properties": {"markdown": text}})
}

fn widget(title: &str, mut properties: Value, col: u32, y: u32) -> Value {
    properties["title"] = json!(title);
    properties["region"] = json!("${AWS::Region}");
    properties["period"] = json!(60);
    json!({"type": "metric", "x": col * WIDTH, "y": y, "width": WIDTH, "height": HEIGHT,
           "properties": properties})
}

/// A stage's six widgets: backlog against the scaling target, the oldest message against the
/// latency goal, the workers, the dead letters, the jobs' latency, the jobs done and failed.
fn row(stage: &Environment, index: usize) -> Vec<(&'static str, Value)> {
    let names = ResourceNames::of(stage);
    let queue = names.queue.as_str();
    let dead_letters = match index {
        0 => "DeadLetterQueue".to_string(),
        _ => format!(
            "{}DeadLetterQueue",
            stage_id(
                &stage
                    .pipeline_stage()
                    .map(|s| s.name.clone())
                    .unwrap_or_default()
            )
        ),
    };
    let goal = stage.spec.scaling.max_latency_seconds;
    let ours = own_dimensions(stage);
    let latency = |stat: &str| {
        let mut m = vec![json!("qfleet"), json!("UploadToProcessedSeconds")];
        m.extend(ours.iter().cloned());
        m.push(json!({"stat": stat, "label": stat}));
        Value::Array(m)
    };
    let count = |metric: &str, label: &str| {
        let mut m = vec![json!("qfleet"), json!(metric)];
        m.extend(ours.iter().cloned());
        m.push(json!({"stat": "Sum", "label": label}));
        Value::Array(m)
    };
    let mut oldest = vec![json!([
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "QueueName",
        queue
    ])];
    if stage.gets_groups() {
        // Fair shares (`queue.tenant`): the quiet tenants' oldest job beside the queue's, and
        // how many tenants SQS counts as noisy ("Each QuietGroup metric is a subset of the
        // equivalent standard queue-level Approximate metric, but excludes messages from
        // noisy neighbor groups", Available CloudWatch metrics for Amazon SQS,
        // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html).
        oldest.push(json!(["AWS/SQS", "ApproximateAgeOfOldestMessageInQuietGroups", "QueueName", queue, {"label": "quiet tenants"}]));
        oldest.push(json!(["AWS/SQS", "ApproximateNumberOfNoisyGroups", "QueueName", queue, {"label": "noisy tenants", "yAxis": "right"}]));
    }
    if stage.spec.queue.priority.is_some() {
        // The priority lane's oldest job (`queue.priority`): the wait of the urgent ones.
        oldest.push(json!(["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", names.priority_queue, {"label": "priority lane"}]));
    }
    vec![
        ("Backlog", backlog(stage, &names)),
        (
            "Oldest message (s)",
            json!({"stat": "Maximum", "metrics": oldest,
                   "annotations": {"horizontal": goal.map(|g| vec![json!({"label": "latency goal", "value": g})]).unwrap_or_default()}}),
        ),
        ("Workers", workers(stage, &names)),
        (
            "Dead letters",
            json!({"stat": "Maximum", "metrics": [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", format!("${{{dead_letters}.QueueName}}")]]}),
        ),
        (
            "Upload to processed (s)",
            json!({"metrics": [latency("p50"), latency("p95"), latency("p99")]}),
        ),
        (
            "Jobs a minute",
            json!({"metrics": [count("JobsDone", "done"), count("JobsFailed", "failed")]}),
        ),
    ]
}

/// The dimensions of the metrics the workers publish: `Environment`, and a pipeline's `Stage`
/// (as the workers' `QFLEET_ENVIRONMENT` and `QFLEET_STAGE` name them).
fn own_dimensions(stage: &Environment) -> Vec<Value> {
    let mut d = vec![json!("Environment"), json!(stage.resource_name())];
    if let Some(s) = stage.pipeline_stage() {
        d.extend([json!("Stage"), json!(s.name)]);
    }
    d
}

/// The workers' count metrics: desired and working. An Auto Scaling group's come from its
/// group metrics (the fleet stack collects them); a Fargate service's from
/// Container Insights, on in its cluster; a function's concurrent executions.
fn worker_metrics(stage: &Environment, names: &ResourceNames) -> Vec<Value> {
    match stage.spec.workers.kind {
        WorkerKind::Ec2 => vec![
            json!(["AWS/AutoScaling", "GroupDesiredCapacity", "AutoScalingGroupName", names.asg, {"label": "desired"}]),
            json!([".", "GroupInServiceInstances", ".", ".", {"label": "in service", "id": "w"}]),
        ],
        WorkerKind::Fargate | WorkerKind::EcsManaged => vec![
            json!(["ECS/ContainerInsights", "DesiredTaskCount", "ClusterName", names.cluster, "ServiceName", names.service, {"label": "desired"}]),
            json!([".", "RunningTaskCount", ".", ".", ".", ".", {"label": "running", "id": "w"}]),
        ],
        WorkerKind::Lambda => vec![
            json!(["AWS/Lambda", "ConcurrentExecutions", "FunctionName", names.function, {"label": "concurrent executions"}]),
        ],
    }
}

fn workers(stage: &Environment, names: &ResourceNames) -> Value {
    json!({"stat": "Maximum", "metrics": worker_metrics(stage, names)})
}

/// Visible and in-flight messages; for a group or a service, also the backlog per working
/// worker (on the right axis) against the scaling policy's target, the figure target tracking
/// keeps ("Scaling policy based on Amazon SQS",
/// <https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-using-sqs-queue.html>).
fn backlog(stage: &Environment, names: &ResourceNames) -> Value {
    let queue = names.queue.as_str();
    let mut metrics = vec![
        json!(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue, {"label": "visible", "id": "v"}]),
        json!([".", "ApproximateNumberOfMessagesNotVisible", ".", ".", {"label": "in flight", "id": "f"}]),
    ];
    // The priority lane's jobs, which the scaling counts with the queue's (`queue.priority`).
    let lane = stage.spec.queue.priority.is_some();
    if lane {
        metrics.push(json!(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", names.priority_queue, {"label": "priority visible", "id": "pv"}]));
        metrics.push(json!([".", "ApproximateNumberOfMessagesNotVisible", ".", ".", {"label": "priority in flight", "id": "pf"}]));
    }
    if stage.spec.workers.kind == WorkerKind::Lambda {
        return json!({"stat": "Maximum", "metrics": metrics});
    }
    let mut working = worker_metrics(stage, names).pop().unwrap_or(Value::Null);
    if let Some(options) = working.as_array_mut().and_then(|a| a.last_mut()) {
        options["visible"] = json!(false);
    }
    // The row above is the queue's: this one names its namespace in full.
    if let (Some(row), Some(first)) = (working.as_array_mut(), worker_metrics(stage, names).first())
    {
        let full = first.as_array().cloned().unwrap_or_default();
        for (i, item) in row.iter_mut().enumerate() {
            if item == "." {
                *item = full.get(i).cloned().unwrap_or(Value::Null);
            }
        }
    }
    metrics.push(working);
    let held = if lane {
        "v + f + FILL(pv, 0) + FILL(pf, 0)"
    } else {
        "v + f"
    };
    metrics.push(json!([{"expression": format!("IF(w > 0, ({held}) / w, {held})"), "label": "per worker", "yAxis": "right"}]));
    json!({"stat": "Maximum", "metrics": metrics,
           "annotations": {"horizontal": [{"label": "target per worker", "value": stage.backlog_target(), "yAxis": "right"}]}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{long_form, render, worker_env};
    use std::path::PathBuf;

    fn env(yaml: &str) -> Environment {
        crate::config::parse(PathBuf::from("stacks/dash.yaml"), yaml.to_string())
            .unwrap()
            .into_only()
    }

    /// The dashboard as the data stack declares it: its name's and its body's `Fn::Sub` text.
    fn declared(e: &Environment) -> Option<(String, Value)> {
        let stacks = render(e).unwrap();
        let t = long_form(&stacks[0].template).unwrap();
        let d = t["Resources"].get(DASHBOARD)?;
        assert_eq!(d["Type"], "AWS::CloudWatch::Dashboard");
        let name = d["Properties"]["DashboardName"]["Fn::Sub"]
            .as_str()
            .unwrap();
        let body = d["Properties"]["DashboardBody"]["Fn::Sub"]
            .as_str()
            .unwrap();
        // Every `${X.QueueName}` names a queue of the same template.
        for var in body.split("${").skip(1).map(|s| &s[..s.find('}').unwrap()]) {
            if let Some(id) = var.strip_suffix(".QueueName") {
                assert_eq!(t["Resources"][id]["Type"], "AWS::SQS::Queue", "{var}");
            } else {
                assert_eq!(var, "AWS::Region");
            }
        }
        Some((name.to_string(), serde_json::from_str(body).unwrap()))
    }

    fn metrics_of(w: &Value) -> Vec<Vec<Value>> {
        w["properties"]["metrics"]
            .as_array()
            .map(|m| m.iter().map(|r| r.as_array().cloned().unwrap()).collect())
            .unwrap_or_default()
    }

    /// Each metric row's dimension values, with `"."` filled from the row above.
    fn full_rows(w: &Value) -> Vec<Vec<Value>> {
        let mut out: Vec<Vec<Value>> = Vec::new();
        for row in metrics_of(w) {
            let filled: Vec<Value> = row
                .iter()
                .enumerate()
                .map(|(i, v)| match (v.as_str(), out.last()) {
                    (Some("."), Some(prev)) => prev[i].clone(),
                    _ => v.clone(),
                })
                .collect();
            out.push(filled);
        }
        out
    }

    #[test]
    fn every_example_has_a_dashboard_row_per_stage_within_the_grid_by_render() {
        let dir = crate::config::workspace_root().join("examples");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "yaml") {
                continue;
            }
            let file = crate::config::load(&path).unwrap();
            for e in &file.expand() {
                let (name, body) = declared(e).unwrap_or_else(|| panic!("{path:?}: none"));
                assert_eq!(
                    name,
                    format!("qfleet-{}-${{AWS::Region}}", e.resource_name())
                );
                let widgets = body["widgets"].as_array().unwrap();
                let stages = e.stages().len();
                let headers = widgets.iter().filter(|w| w["type"] == "text").count();
                assert_eq!(headers, stages, "{path:?}");
                assert_eq!(widgets.len(), stages * 7, "{path:?}");
                for w in widgets {
                    // Metric and text widgets only: a Logs Insights widget bills per query.
                    assert!(w["type"] == "metric" || w["type"] == "text", "{w}");
                    let (x, width) = (w["x"].as_u64().unwrap(), w["width"].as_u64().unwrap());
                    assert!(x + width <= 24, "{w}");
                    if w["type"] == "metric" {
                        assert_eq!(w["properties"]["region"], "${AWS::Region}");
                    }
                }
                seen += 1;
            }
        }
        assert!(seen > 20, "{seen}");
    }

    /// The dashboard reads the metrics the workers publish under the dimensions their
    /// environment gives them, and each kind's worker count by the names its stack gives.
    #[test]
    fn its_metrics_are_the_ones_the_workers_and_their_stacks_publish_by_render() {
        let goal = "    scaling: {max_latency_seconds: 120, seconds_per_message: 2}\n";
        let yaml = format!(
            "region: eu-west-1\nstages:\n  - name: split\n{goal}  - name: encode\n    workers: {{kind: fargate, image: public.ecr.aws/org/w:1, min: 1, max: 2}}\n{goal}  - name: notify\n    workers: {{kind: lambda}}\n"
        );
        let yaml = yaml.as_str();
        let e = env(yaml);
        let stacks = render(&e).unwrap();
        let (_, body) = declared(&e).unwrap();
        let widgets = body["widgets"].as_array().unwrap();
        for (i, stage) in e.stages().into_iter().enumerate() {
            let row: Vec<&Value> = widgets.iter().skip(i * 7 + 1).take(6).collect();
            let fleet = stacks
                .iter()
                .find(|s| s.stack_name == stage.fleet_stack_name())
                .unwrap();
            let vars = worker_env::variables(&e, stage, fleet, "123456789012").unwrap();
            // The jobs' latency and counts: the workers' own dimensions.
            for w in &row[4..] {
                for r in full_rows(w) {
                    assert_eq!(r[0], "qfleet");
                    assert_eq!(
                        r[2..6],
                        [
                            json!("Environment"),
                            json!(vars["QFLEET_ENVIRONMENT"]),
                            json!("Stage"),
                            json!(vars["QFLEET_STAGE"])
                        ]
                    );
                }
            }
            let names = ResourceNames::of(stage);
            if let Some(q) = vars.get("QFLEET_QUEUE_NAME") {
                assert_eq!(q, &names.queue);
            }
            let queue = json!(names.queue);
            assert_eq!(full_rows(row[0])[0][3], queue);
            assert_eq!(full_rows(row[1])[0][3], queue);
            let goal = &row[1]["properties"]["annotations"]["horizontal"];
            match stage.spec.workers.kind {
                WorkerKind::Lambda => assert_eq!(goal, &json!([])),
                _ => assert_eq!(goal[0]["value"], 120.0),
            }
            let counted = full_rows(row[2]);
            match stage.spec.workers.kind {
                WorkerKind::Ec2 => {
                    assert_eq!(counted[1][1], "GroupInServiceInstances");
                    assert_eq!(counted[1][3], json!(vars["QFLEET_ASG_NAME"]));
                }
                WorkerKind::Fargate | WorkerKind::EcsManaged => {
                    assert_eq!(counted[1][1], "RunningTaskCount");
                    assert_eq!(
                        counted[1][3..],
                        [
                            json!(names.cluster),
                            json!("ServiceName"),
                            json!(names.service),
                            counted[1][6].clone()
                        ]
                    );
                }
                WorkerKind::Lambda => {
                    assert_eq!(counted[0][3], json!(names.function));
                }
            }
            // Backlog per worker against the scaling target (not for a function, which the
            // event source mapping scales).
            let per_worker = &row[0]["properties"]["annotations"]["horizontal"];
            match stage.spec.workers.kind {
                WorkerKind::Lambda => assert!(per_worker.is_null(), "{per_worker}"),
                _ => {
                    assert_eq!(per_worker[0]["value"], stage.backlog_target());
                    let rows = full_rows(row[0]);
                    assert_eq!(rows[2][..4], counted[1][..4], "the working count, in full");
                }
            }
        }
    }

    /// Fair shares: the queue that gets jobs in their tenants' groups shows SQS's fair-queue
    /// metrics beside the oldest message: here the second stage's, fed by messages from the
    /// upload stage that reads the tenant from the key (S3's event carries no group, so the
    /// upload queue has none), and not the third's, fed by objects.
    #[test]
    fn a_stage_with_tenants_shows_the_quiet_tenants_oldest_job_and_the_noisy_ones_by_render() {
        let e = env(
            "region: eu-west-1\nstages:\n  - name: a\n    queue:\n      tenant: {key_segment: 1}\n  - name: b\n    fed_by: messages\n  - name: c\n",
        );
        let (_, body) = declared(&e).unwrap();
        let oldest: Vec<&Value> = body["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["properties"]["title"] == "Oldest message (s)")
            .collect();
        assert_eq!(oldest.len(), 3);
        let names = |w: &Value| -> Vec<(String, String)> {
            metrics_of(w)
                .iter()
                .map(|m| {
                    (
                        m[1].as_str().unwrap().to_string(),
                        m[3].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        let queue = ResourceNames::of(e.stages()[1]).queue;
        assert_eq!(names(oldest[0]).len(), 1, "the upload queue has no groups");
        assert_eq!(
            names(oldest[1]),
            [
                ("ApproximateAgeOfOldestMessage".to_string(), queue.clone()),
                (
                    "ApproximateAgeOfOldestMessageInQuietGroups".to_string(),
                    queue.clone()
                ),
                ("ApproximateNumberOfNoisyGroups".to_string(), queue),
            ]
        );
        assert_eq!(names(oldest[2]).len(), 1, "fed by objects: no groups");
        // A rule that reads a message: `qfleet submit` sends the stage's own jobs in groups;
        // on a FIFO queue, no fair queue.
        let own = |fifo: &str| {
            let e = env(&format!(
                "region: eu-west-1\nqueue:\n  tenant: {{attribute: customer}}\n{fifo}sources:\n  uploads: false\n  messages: {{}}\n"
            ));
            let (_, body) = declared(&e).unwrap();
            let w = body["widgets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["properties"]["title"] == "Oldest message (s)")
                .unwrap()
                .clone();
            metrics_of(&w).len()
        };
        assert_eq!(own(""), 3);
        assert_eq!(
            own("  fifo: true\n  content_based_deduplication: true\n"),
            1
        );
    }

    #[test]
    fn the_link_is_the_console_of_the_regions_partition() {
        assert_eq!(
            link("eu-west-1", "qfleet-lab-eu-west-1"),
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/qfleet-lab-eu-west-1"
        );
        assert!(link("cn-north-1", "d").starts_with("https://cn-north-1.console.amazonaws.cn/"));
        assert!(link("us-gov-west-1", "d").starts_with("https://console.amazonaws-us-gov.com/"));
    }

    #[test]
    fn dashboard_false_leaves_it_out_by_render() {
        assert!(declared(&env("region: eu-west-1\ndashboard: false\n")).is_none());
        assert!(declared(&env("region: eu-west-1\nlab: true\n")).is_some());
    }
}
