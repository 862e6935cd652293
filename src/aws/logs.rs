//! CloudWatch Logs: the workers' log lines (`qfleet logs`) and what a log group holds (what a
//! teardown reports). FilterLogEvents returns a group's events across its streams, oldest
//! first within a page, each with its stream and an id unique in the group
//! (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html>).

use super::Result;
use super::error::AwsError;
use aws_sdk_cloudwatchlogs::Client;
use serde::Serialize;

/// One log event as CloudWatch Logs stored it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Milliseconds since the epoch: when the line was written.
    pub time_ms: i64,
    pub stream: String,
    pub message: String,
    /// Unique within the group: a line seen twice while following is shown once.
    pub id: String,
}

/// What a log group holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Holding {
    pub name: String,
    /// CloudWatch Logs' own count, which it updates with a delay: a group with streams but 0
    /// bytes may still hold lines (`None`: not given).
    pub stored_bytes: Option<u64>,
    pub retention_days: Option<i32>,
    /// Whether any stream exists (a line was ever written).
    pub has_streams: bool,
}

/// The events of `group` from `start_ms` on (and before `end_ms` when given) that match
/// `pattern`, every page of them; `None` when the group does not exist.
pub async fn events(
    logs: &Client,
    group: &str,
    start_ms: i64,
    pattern: Option<&str>,
) -> Result<Option<Vec<Event>>> {
    let what = format!("reading the log group {group}");
    let mut pages = logs
        .filter_log_events()
        .log_group_name(group)
        .start_time(start_ms)
        .set_filter_pattern(pattern.map(str::to_string))
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                return AwsError::from_sdk_or_missing(&what, e, |e| {
                    e.is_resource_not_found_exception()
                })
                .into_absent();
            }
        };
        for e in page.events() {
            // Every field is documented as always present; should one be missing, the line
            // is still shown, with the time it reached CloudWatch Logs and an id of its own.
            let time_ms = e.timestamp().or(e.ingestion_time()).unwrap_or(start_ms);
            let stream = e.log_stream_name().unwrap_or("-").to_string();
            let message = e.message().unwrap_or("").trim_end().to_string();
            let id = e
                .event_id()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{stream}/{time_ms}/{message}"));
            out.push(Event {
                time_ms,
                stream,
                message,
                id,
            });
        }
    }
    // Pages are in order within themselves; across streams the service interleaves them.
    out.sort_by(|a, b| (a.time_ms, &a.id).cmp(&(b.time_ms, &b.id)));
    Ok(Some(out))
}

/// What `group` holds, or `None` when it does not exist.
pub async fn holding(logs: &Client, group: &str) -> Result<Option<Holding>> {
    let what = format!("reading the log group {group}");
    let found = logs
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&what, e))?;
    let Some(g) = found
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(group))
    else {
        return Ok(None);
    };
    let streams = logs
        .describe_log_streams()
        .log_group_name(group)
        .limit(1)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("listing the streams of {group}"), e))?;
    Ok(Some(Holding {
        name: group.to_string(),
        stored_bytes: g.stored_bytes().map(|b| b.max(0) as u64),
        retention_days: g.retention_in_days(),
        has_streams: !streams.log_streams().is_empty(),
    }))
}
