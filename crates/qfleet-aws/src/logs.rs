//! CloudWatch Logs: the workers' log lines (`qfleet logs`) and what a log group holds (what a
//! teardown reports). FilterLogEvents returns a group's events across its streams, oldest
//! first within a page, each with its stream and an id unique in the group
//! (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html>).

use super::Result;
use super::json_api::JsonApi;
use serde::{Deserialize, Serialize};
use serde_json::json;

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

/// A page of FilterLogEvents.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Filtered {
    events: Vec<FilteredEvent>,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct FilteredEvent {
    log_stream_name: Option<String>,
    timestamp: Option<i64>,
    ingestion_time: Option<i64>,
    message: Option<String>,
    event_id: Option<String>,
}

/// The events of `group` from `start_ms` on that match `pattern`, every page of them; `None`
/// when the group does not exist.
pub async fn events(
    logs: &JsonApi,
    group: &str,
    start_ms: i64,
    pattern: Option<&str>,
) -> Result<Option<Vec<Event>>> {
    let what = format!("reading the log group {group}");
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({ "logGroupName": group, "startTime": start_ms });
        if let Some(p) = pattern {
            input["filterPattern"] = json!(p);
        }
        if let Some(t) = &token {
            input["nextToken"] = json!(t);
        }
        let page: Filtered = match logs.call(&what, "FilterLogEvents", &input).await {
            Ok(p) => p,
            Err(e) => return e.into_absent(),
        };
        for e in page.events {
            // Every field is documented as always present; should one be missing, the line
            // is still shown, with the time it reached CloudWatch Logs and an id of its own.
            let time_ms = e.timestamp.or(e.ingestion_time).unwrap_or(start_ms);
            let stream = e.log_stream_name.unwrap_or_else(|| "-".into());
            let message = e.message.unwrap_or_default().trim_end().to_string();
            let id = e
                .event_id
                .unwrap_or_else(|| format!("{stream}/{time_ms}/{message}"));
            out.push(Event {
                time_ms,
                stream,
                message,
                id,
            });
        }
        match page.next_token {
            // A token equal to the last one would page forever.
            Some(next) if token.as_ref() != Some(&next) => token = Some(next),
            _ => break,
        }
    }
    // Pages are in order within themselves; across streams the service interleaves them.
    out.sort_by(|a, b| (a.time_ms, &a.id).cmp(&(b.time_ms, &b.id)));
    Ok(Some(out))
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Groups {
    log_groups: Vec<Group>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Group {
    log_group_name: Option<String>,
    stored_bytes: Option<i64>,
    retention_in_days: Option<i32>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Streams {
    log_streams: Vec<serde_json::Value>,
}

/// What `group` holds, or `None` when it does not exist.
pub async fn holding(logs: &JsonApi, group: &str) -> Result<Option<Holding>> {
    let what = format!("reading the log group {group}");
    let found: Groups = logs
        .call(
            &what,
            "DescribeLogGroups",
            &json!({ "logGroupNamePrefix": group }),
        )
        .await?;
    let Some(g) = found
        .log_groups
        .into_iter()
        .find(|g| g.log_group_name.as_deref() == Some(group))
    else {
        return Ok(None);
    };
    let streams: Streams = logs
        .call(
            &format!("listing the streams of {group}"),
            "DescribeLogStreams",
            &json!({ "logGroupName": group, "limit": 1 }),
        )
        .await?;
    Ok(Some(Holding {
        name: group.to_string(),
        stored_bytes: g.stored_bytes.map(|b| b.max(0) as u64),
        retention_days: g.retention_in_days,
        has_streams: !streams.log_streams.is_empty(),
    }))
}
