//! CloudWatch: the environment's alarms and the latest values of the metrics that status shows
//! (age of the oldest message, the backlog-per-instance expression the policy tracks, and the
//! worker function's errors, throttles and concurrency).

use super::Result;
use super::error::AwsError;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Alarm {
    pub name: String,
    pub state: String,
    pub reason: Option<String>,
}

/// Alarms whose names start with any of `prefixes`, sorted by name, each once.
pub async fn alarms(cw: &Client, prefixes: &[String]) -> Result<Vec<Alarm>> {
    described(
        prefixes
            .iter()
            .map(|p| cw.describe_alarms().alarm_name_prefix(p)),
    )
    .await
}

/// The alarms named, sorted by name (DescribeAlarms takes at most 100 names a call:
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html>).
/// A name CloudWatch does not know is left out: the caller compares.
pub async fn alarms_named(cw: &Client, names: &[String]) -> Result<Vec<Alarm>> {
    described(
        names
            .chunks(100)
            .map(|chunk| cw.describe_alarms().set_alarm_names(Some(chunk.to_vec()))),
    )
    .await
}

/// Every page of every request's answer: the metric alarms, sorted by name, each once.
async fn described(
    requests: impl Iterator<Item = aws_sdk_cloudwatch::operation::describe_alarms::builders::DescribeAlarmsFluentBuilder>,
) -> Result<Vec<Alarm>> {
    let mut out = Vec::new();
    for request in requests {
        let mut pages = request.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("reading the alarms", e))?;
            out.extend(page.metric_alarms().iter().map(alarm));
        }
    }
    out.sort_by(|x, y| x.name.cmp(&y.name));
    out.dedup_by(|x, y| x.name == y.name);
    Ok(out)
}

fn alarm(m: &aws_sdk_cloudwatch::types::MetricAlarm) -> Alarm {
    Alarm {
        name: m.alarm_name().unwrap_or_default().to_string(),
        state: m
            .state_value()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        reason: m.state_reason().map(str::to_string),
    }
}

/// What CloudWatch says; `None` where it has no data yet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Metrics {
    pub oldest_message_age_seconds: Option<f64>,
    pub dead_letter_oldest_age_seconds: Option<f64>,
    pub backlog_per_instance: Option<f64>,
    /// The worker function's Errors, summed over the window.
    pub function_errors: Option<f64>,
    /// The worker function's Throttles, summed over the window.
    pub function_throttles: Option<f64>,
    /// The worker function's ConcurrentExecutions, the highest minute of the window.
    pub function_concurrency_peak: Option<f64>,
    /// Upload-to-processed seconds of the jobs done in the window, as the reference consumers
    /// publish them; `None` when no job was done (or none published).
    pub upload_to_processed: Option<Percentiles>,
    /// A fair queue's (jobs in tenants' groups): the oldest message of the tenants SQS does
    /// not count as noisy. `None` when not read (no groups) or no data yet.
    pub quiet_tenants_oldest_age_seconds: Option<f64>,
    /// A fair queue's: the tenants SQS counts as noisy, the newest value.
    pub noisy_tenants: Option<f64>,
    /// The priority lane's oldest message (`queue.priority`), the newest value; `None` when
    /// not read (no lane) or no data yet.
    pub priority_oldest_age_seconds: Option<f64>,
}

/// The namespace and metric the reference consumers publish every job's upload-to-processed
/// seconds to, with the environment as the `Environment` dimension (crates/qfleet-runtime/python:
/// the worker with PutMetricData, Values and Counts; the handler in embedded metric format lines).
const LATENCY_NAMESPACE: &str = "qfleet";
const LATENCY_METRIC: &str = "UploadToProcessedSeconds";

/// Percentiles over the whole window, from one datapoint per statistic (the period is the
/// window): CloudWatch computes them from every value published in it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Percentiles {
    pub window_minutes: u64,
    /// Jobs counted (SampleCount).
    pub jobs: u64,
    pub p50_seconds: f64,
    pub p95_seconds: f64,
    pub p99_seconds: f64,
    pub max_seconds: f64,
}

/// The upload-to-processed statistics [`metrics`] asks for, by query id.
const LATENCY_STATS: [(&str, &str); 5] = [
    ("latencyjobs", "SampleCount"),
    ("latencyp50", "p50"),
    ("latencyp95", "p95"),
    ("latencyp99", "p99"),
    ("latencymax", "Maximum"),
];

/// The window [`metrics`] reads, in minutes.
pub const WINDOW_MINUTES: u64 = 15;

/// Whose metrics to read: the queue always; the group's and the function's when they are
/// known (the one the fleet stack holds).
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    pub queue: &'a str,
    pub dead_letter_queue: Option<&'a str>,
    pub group: Option<&'a str>,
    pub function: Option<&'a str>,
    /// The environment whose upload-to-processed percentiles to read.
    pub environment: Option<&'a str>,
    /// A pipeline's stage: its workers publish the percentiles with the `Stage` dimension too,
    /// a metric of its own (CloudWatch keeps each combination of dimensions apart).
    pub stage: Option<&'a str>,
    /// Whether the queue holds jobs in tenants' groups (a fair queue): its quiet tenants'
    /// oldest message and its noisy tenants are read too.
    pub fair: bool,
    /// The stage's priority lane (`queue.priority`): its oldest message is read too.
    pub priority_queue: Option<&'a str>,
}

fn stat(
    id: &str,
    ns: &str,
    metric: &str,
    dim: (&str, &str),
    stat: &str,
    returned: bool,
) -> MetricDataQuery {
    stat_over(id, ns, metric, &[dim], stat, returned, 60)
}

fn stat_over(
    id: &str,
    ns: &str,
    metric: &str,
    dims: &[(&str, &str)],
    stat: &str,
    returned: bool,
    period: i32,
) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .return_data(returned)
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(ns)
                        .metric_name(metric)
                        .set_dimensions(Some(
                            dims.iter()
                                .map(|(name, value)| {
                                    Dimension::builder().name(*name).value(*value).build()
                                })
                                .collect(),
                        ))
                        .build(),
                )
                .period(period)
                .stat(stat)
                .build(),
        )
        .build()
}

/// The dimensions of the upload-to-processed metric the workers publish: the environment, and
/// a pipeline's stage (crates/qfleet-runtime/python: the worker's and the handler's).
fn latency_dimensions<'a>(environment: &'a str, stage: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut dims = vec![("Environment", environment)];
    if let Some(stage) = stage {
        dims.push(("Stage", stage));
    }
    dims
}

/// The last 15 minutes of the queue's, the DLQ's, the group's and the function's metrics in one
/// GetMetricData call (all its pages): the newest value of the queue's and the backlog's, the
/// function's errors and throttles summed and its concurrency's peak.
pub async fn metrics(cw: &Client, on: Sources<'_>) -> Result<Metrics> {
    let mut queries = vec![stat(
        "oldest",
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        ("QueueName", on.queue),
        "Maximum",
        true,
    )];
    if let Some(group) = on.group {
        queries.extend([
            stat(
                "visible",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                ("QueueName", on.queue),
                "Sum",
                false,
            ),
            stat(
                "inservice",
                "AWS/AutoScaling",
                "GroupInServiceInstances",
                ("AutoScalingGroupName", group),
                "Average",
                false,
            ),
            MetricDataQuery::builder()
                .id("backlog")
                .expression("visible / inservice")
                .return_data(true)
                .build(),
        ]);
    }
    if on.fair {
        // "Each QuietGroup metric is a subset of the equivalent standard queue-level
        // Approximate metric, but excludes messages from noisy neighbor groups" (Available
        // CloudWatch metrics for Amazon SQS,
        // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html).
        queries.extend([
            stat(
                "quietoldest",
                "AWS/SQS",
                "ApproximateAgeOfOldestMessageInQuietGroups",
                ("QueueName", on.queue),
                "Maximum",
                true,
            ),
            stat(
                "noisy",
                "AWS/SQS",
                "ApproximateNumberOfNoisyGroups",
                ("QueueName", on.queue),
                "Maximum",
                true,
            ),
        ]);
    }
    // The priority lane's oldest message, and the dead-letter queue's.
    for (id, queue) in [
        ("priorityoldest", on.priority_queue),
        ("dlqoldest", on.dead_letter_queue),
    ] {
        if let Some(queue) = queue {
            queries.push(stat(
                id,
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                ("QueueName", queue),
                "Maximum",
                true,
            ));
        }
    }
    if let Some(function) = on.function {
        let dim = ("FunctionName", function);
        queries.extend([
            stat("fnerrors", "AWS/Lambda", "Errors", dim, "Sum", true),
            stat("fnthrottles", "AWS/Lambda", "Throttles", dim, "Sum", true),
            stat(
                "fnconcurrency",
                "AWS/Lambda",
                "ConcurrentExecutions",
                dim,
                "Maximum",
                true,
            ),
        ]);
    }
    if let Some(environment) = on.environment {
        // One datapoint per statistic over the whole window. GetMetricData takes percentiles
        // as the stat "p50" etc. (CloudWatch User Guide, "Statistics definitions":
        // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html).
        let window = (WINDOW_MINUTES * 60) as i32;
        let dims = latency_dimensions(environment, on.stage);
        for (id, s) in LATENCY_STATS {
            queries.push(stat_over(
                id,
                LATENCY_NAMESPACE,
                LATENCY_METRIC,
                &dims,
                s,
                true,
                window,
            ));
        }
    }
    let now = std::time::SystemTime::now();
    let start = now - std::time::Duration::from_secs(WINDOW_MINUTES * 60);
    let mut pages = cw
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(aws_smithy_types::DateTime::from(start))
        .end_time(aws_smithy_types::DateTime::from(now))
        .scan_by(ScanBy::TimestampDescending)
        .into_paginator()
        .send();
    // Values by query id, newest first, across pages.
    let mut values: HashMap<String, Vec<f64>> = HashMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("reading the metrics", e))?;
        for r in page.metric_data_results() {
            if let Some(id) = r.id() {
                values
                    .entry(id.to_string())
                    .or_default()
                    .extend_from_slice(r.values());
            }
        }
    }
    let of = |id: &str| values.get(id).filter(|v| !v.is_empty());
    let latest = |id: &str| of(id).map(|v| v[0]);
    let upload_to_processed = match LATENCY_STATS.map(|(id, _)| latest(id)) {
        [Some(jobs), Some(p50), Some(p95), Some(p99), Some(max)] if jobs >= 1.0 => {
            Some(Percentiles {
                window_minutes: WINDOW_MINUTES,
                jobs: jobs as u64,
                p50_seconds: p50,
                p95_seconds: p95,
                p99_seconds: p99,
                max_seconds: max,
            })
        }
        _ => None,
    };
    Ok(Metrics {
        upload_to_processed,
        oldest_message_age_seconds: latest("oldest"),
        dead_letter_oldest_age_seconds: latest("dlqoldest"),
        backlog_per_instance: latest("backlog"),
        quiet_tenants_oldest_age_seconds: latest("quietoldest"),
        noisy_tenants: latest("noisy"),
        priority_oldest_age_seconds: latest("priorityoldest"),
        function_errors: of("fnerrors").map(|v| v.iter().sum()),
        function_throttles: of("fnthrottles").map(|v| v.iter().sum()),
        function_concurrency_peak: of("fnconcurrency")
            .map(|v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
    })
}

#[cfg(test)]
mod tests {
    /// The workers publish a pipeline stage's latency with the Stage dimension (see the worker's
    /// and the handler's tests, crates/qfleet-runtime/python); status reads exactly that
    /// metric, and a one-stage environment's without it.
    #[test]
    fn a_pipeline_stage_reads_the_latency_metric_its_workers_publish() {
        assert_eq!(
            super::latency_dimensions("lab", Some("thumbs")),
            [("Environment", "lab"), ("Stage", "thumbs")]
        );
        assert_eq!(
            super::latency_dimensions("lab", None),
            [("Environment", "lab")]
        );
    }

    /// SDK-level mock: a fair queue's read asks for SQS's two fair-queue metrics of that queue
    /// (names as the SQS Developer Guide's metrics page lists them) and takes their newest
    /// values; any other queue's read asks for neither.
    #[tokio::test]
    async fn a_fair_queue_reads_its_quiet_tenants_oldest_message_and_noisy_tenants_mocked() {
        use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
        use aws_sdk_cloudwatch::types::MetricDataResult;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = asked.clone();
        let rule =
            mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_compute_output(move |r| {
                for q in r.metric_data_queries() {
                    if let Some(m) = q.metric_stat().and_then(|s| s.metric()) {
                        let queue = m.dimensions().first().and_then(|d| d.value());
                        seen.lock().unwrap().push((
                            q.id().unwrap_or_default().to_string(),
                            m.metric_name().unwrap_or_default().to_string(),
                            queue.unwrap_or_default().to_string(),
                        ));
                    }
                }
                let r = |id: &str, v: f64| MetricDataResult::builder().id(id).values(v).build();
                GetMetricDataOutput::builder()
                    .metric_data_results(r("oldest", 300.0))
                    .metric_data_results(
                        MetricDataResult::builder()
                            .id("quietoldest")
                            .values(4.0)
                            .values(9.0)
                            .build(),
                    )
                    .metric_data_results(r("noisy", 2.0))
                    .build()
            });
        let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&rule, &rule]);
        let on = |fair| super::Sources {
            queue: "qfleet-p-jobs",
            dead_letter_queue: None,
            group: None,
            function: None,
            environment: None,
            stage: None,
            fair,
            priority_queue: None,
        };
        let m = super::metrics(&cw, on(true)).await.unwrap();
        assert_eq!(
            (m.quiet_tenants_oldest_age_seconds, m.noisy_tenants),
            (Some(4.0), Some(2.0))
        );
        let fair_reads: Vec<(String, String, String)> = asked.lock().unwrap().clone();
        assert_eq!(
            fair_reads[1..],
            [
                (
                    "quietoldest".into(),
                    "ApproximateAgeOfOldestMessageInQuietGroups".into(),
                    "qfleet-p-jobs".into()
                ),
                (
                    "noisy".into(),
                    "ApproximateNumberOfNoisyGroups".into(),
                    "qfleet-p-jobs".into()
                ),
            ]
        );
        asked.lock().unwrap().clear();
        super::metrics(&cw, on(false)).await.unwrap();
        let ids: Vec<String> = asked.lock().unwrap().iter().map(|a| a.0.clone()).collect();
        assert_eq!(ids, ["oldest"]);
    }
}
