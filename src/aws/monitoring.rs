//! CloudWatch: the environment's alarms and the latest values of the metrics that status shows
//! (age of the oldest message, and the backlog-per-instance expression the policy tracks).

use super::error::AwsError;
use crate::error::Result;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    pub name: String,
    pub state: String,
    pub reason: Option<String>,
}

/// Alarms whose names start with any of `prefixes`, sorted by name, each once.
pub async fn alarms(cw: &Client, prefixes: &[String]) -> Result<Vec<Alarm>> {
    let mut out = Vec::new();
    for prefix in prefixes {
        let mut pages = cw
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("reading the alarms", e))?;
            for m in page.metric_alarms() {
                out.push(Alarm {
                    name: m.alarm_name().unwrap_or_default().to_string(),
                    state: m
                        .state_value()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    reason: m.state_reason().map(str::to_string),
                });
            }
        }
    }
    out.sort_by(|x, y| x.name.cmp(&y.name));
    out.dedup_by(|x, y| x.name == y.name);
    Ok(out)
}

/// The latest values; `None` where CloudWatch has no data yet.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    pub oldest_message_age_seconds: Option<f64>,
    pub dead_letter_oldest_age_seconds: Option<f64>,
    pub backlog_per_instance: Option<f64>,
}

fn stat(
    id: &str,
    ns: &str,
    metric: &str,
    dim: (&str, &str),
    stat: &str,
    returned: bool,
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
                        .dimensions(Dimension::builder().name(dim.0).value(dim.1).build())
                        .build(),
                )
                .period(60)
                .stat(stat)
                .build(),
        )
        .build()
}

/// The last 15 minutes of the queue's, the DLQ's and the group's metrics, newest value of each.
pub async fn metrics(
    cw: &Client,
    queue: &str,
    dead_letter_queue: Option<&str>,
    group: &str,
) -> Result<Metrics> {
    let mut queries = vec![
        stat(
            "oldest",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            ("QueueName", queue),
            "Maximum",
            true,
        ),
        stat(
            "visible",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            ("QueueName", queue),
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
    ];
    if let Some(dlq) = dead_letter_queue {
        queries.push(stat(
            "dlqoldest",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            ("QueueName", dlq),
            "Maximum",
            true,
        ));
    }
    let now = std::time::SystemTime::now();
    let start = now - std::time::Duration::from_secs(15 * 60);
    let out = cw
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(aws_smithy_types::DateTime::from(start))
        .end_time(aws_smithy_types::DateTime::from(now))
        .scan_by(ScanBy::TimestampDescending)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("reading the metrics", e))?;
    let latest = |id: &str| {
        out.metric_data_results()
            .iter()
            .find(|r| r.id() == Some(id))
            .and_then(|r| r.values().first().copied())
    };
    Ok(Metrics {
        oldest_message_age_seconds: latest("oldest"),
        dead_letter_oldest_age_seconds: latest("dlqoldest"),
        backlog_per_instance: latest("backlog"),
    })
}
