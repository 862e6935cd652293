//! The job table (`jobs:` in the stack file; docs/jobs.md), the jobs feature's record: what a
//! record means (a job's states and history), the protocol's writes qfleet makes itself (a job
//! sent as a message queued, a waiting job cancelled, a failed one redriven or queued again, a
//! job whose message could not be sent), each on the condition that keeps a worker's change,
//! and qfleet's reads of it (`qfleet jobs`, `send`, `status`, `dlq list`, `drift`,
//! `teardown`). The workers write the rest (crates/qfleet-runtime). The calls go through
//! qfleet-aws's signed DynamoDB client.
//!
//! DynamoDB's API as AWS documents it:
//! - Query (a key condition on the partition key, pages by `LastEvaluatedKey`):
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html>
//! - GetItem (`ConsistentRead`):
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html>
//! - Scan (`Limit` is the number of items evaluated; an answer without `LastEvaluatedKey` is
//!   the end of the table):
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Scan.html>
//! - DescribeTable, DescribeTimeToLive, DescribeContinuousBackups, and
//!   `ResourceNotFoundException` for a table that does not exist:
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DescribeTable.html>
//! - the item's attribute values (`S`, `N`, `BOOL`, `L`, `M`, `NULL`):
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_AttributeValue.html>

use crate::aws::{AwsError, ErrorKind as Kind, JsonApi, Result};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// The table's layout is the shipped protocol's (crates/qfleet-runtime): the templates declare
// it and the workers write it.
pub use qfleet_runtime::job_table::{INDEX, TTL_ATTRIBUTE};
/// The index's partition key is the change's hour and one of this many shards.
const SHARDS: u32 = 8;

/// One change of a job, as its history records it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Change {
    /// `queued`, `processing`, `retrying`, `done` or `failed`.
    pub state: String,
    /// When (UTC, ISO 8601).
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The SQS message id an attempt (`processing`) came in: a redrive sends the job again
    /// under a new one, and the worker's log line names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A failed attempt (`retrying`): when its message is visible again for the next attempt
    /// (UTC, ISO 8601; `queue.retry`, the worker's wait). Absent: not said (no wait of the
    /// worker's own, or a record older than it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<String>,
    /// A failed attempt that ran past `workers.job_timeout` and was stopped (true only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timed_out: Option<bool>,
}

/// One job: an upload's record in the table.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Job {
    /// The upload's object key.
    pub key: String,
    /// Which upload of the key: its version id (or the event's sequencer).
    pub upload: String,
    /// `queued`, `processing`, `retrying`, `done`, `failed` or `cancelled` (`unknown`: the
    /// item has none).
    pub state: String,
    /// A pipeline's stage the job is in.
    pub stage: Option<String>,
    pub stage_index: Option<u64>,
    /// Processing attempts at the current stage.
    pub attempts: Option<u64>,
    /// The job's sequence: 1 more at every change of state, over its whole life (every stage,
    /// every redrive). Of two answers for a job, the one with the greater `seq` is the latest.
    /// Absent in a list (the index does not carry it) and in a record older than it.
    pub seq: Option<u64>,
    /// Who made the last change (an instance, a task, an invocation).
    pub worker: Option<String>,
    /// The job's tenant, its message group (`queue.tenant`, or the group it was sent with).
    /// Absent without one, and in a record older than it.
    pub tenant: Option<String>,
    /// `priority` for a job sent to a priority lane (`queue.priority`: `submit --priority`,
    /// or taken from one by a worker). Absent for any other.
    pub lane: Option<String>,
    pub uploaded_at: Option<String>,
    pub queued_at: Option<String>,
    pub received_at: Option<String>,
    pub finished_at: Option<String>,
    /// The key the last finished stage wrote.
    pub output: Option<String>,
    /// The last failure's error.
    pub error: Option<String>,
    /// Redeliveries of the job once done, deleted without processing.
    pub duplicates: Option<u64>,
    /// The last change.
    pub updated_at: Option<String>,
    /// When DynamoDB may delete the record (epoch seconds): its time to live.
    pub expires_at: Option<u64>,
    /// Every change, oldest first (empty in a list, which reads the index).
    pub history: Vec<Change>,
}

impl Job {
    /// Seconds from the upload (a job sent as a message: from its queueing) to the end, for a
    /// finished job whose times are readable.
    pub fn seconds(&self) -> Option<f64> {
        let start = millis(self.uploaded_at.as_deref().or(self.queued_at.as_deref())?)?;
        let end = millis(self.finished_at.as_deref()?)?;
        Some((end - start) as f64 / 1000.0)
    }
}

/// Whether DynamoDB may delete the item any moment now (its time to live has passed): left
/// out of what recent jobs show, as docs/jobs.md says.
pub fn expired(job: &Job, now: SystemTime) -> bool {
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    job.expires_at.is_some_and(|t| t < secs)
}

/// What DescribeTable, DescribeTimeToLive and DescribeContinuousBackups say of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// `ACTIVE`, `CREATING`, …
    pub status: String,
    /// `PAY_PER_REQUEST` or `PROVISIONED` (absent in an answer: provisioned, as AWS documents).
    pub billing_mode: Option<String>,
    /// `KMS` with a customer managed or AWS managed key, absent with DynamoDB's own key.
    pub sse_type: Option<String>,
    pub kms_key: Option<String>,
    pub indexes: Vec<String>,
    /// `ENABLED`, `DISABLED`, `ENABLING`, `DISABLING`.
    pub time_to_live: String,
    pub time_to_live_attribute: Option<String>,
    /// Point-in-time recovery: `ENABLED` or `DISABLED`.
    pub point_in_time_recovery: String,
}

fn what(table: &str, doing: &str) -> String {
    format!("{doing} job table {table}")
}

/// The table's settings; `None`: there is no such table.
pub async fn settings(db: &JsonApi, table: &str) -> Result<Option<Settings>> {
    let described: Value = match db
        .call(
            &what(table, "describing"),
            "DescribeTable",
            &json!({ "TableName": table }),
        )
        .await
    {
        Ok(v) => v,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let t = &described["Table"];
    let status = text(t, "TableStatus")
        .ok_or_else(|| malformed(table, "DescribeTable named no TableStatus"))?;
    let input = json!({ "TableName": table });
    let (ttl_what, backups_what) = (
        what(table, "reading the time to live of"),
        what(table, "reading the backups of"),
    );
    let (ttl, backups): (Value, Value) = tokio::try_join!(
        db.call::<Value>(&ttl_what, "DescribeTimeToLive", &input),
        db.call::<Value>(&backups_what, "DescribeContinuousBackups", &input),
    )?;
    let ttl = &ttl["TimeToLiveDescription"];
    let pitr = &backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"];
    Ok(Some(Settings {
        status,
        billing_mode: text(&t["BillingModeSummary"], "BillingMode"),
        sse_type: text(&t["SSEDescription"], "SSEType"),
        kms_key: text(&t["SSEDescription"], "KMSMasterKeyArn"),
        indexes: t["GlobalSecondaryIndexes"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| text(i, "IndexName")).collect())
            .unwrap_or_default(),
        time_to_live: text(ttl, "TimeToLiveStatus")
            .ok_or_else(|| malformed(table, "DescribeTimeToLive named no TimeToLiveStatus"))?,
        time_to_live_attribute: text(ttl, "AttributeName"),
        point_in_time_recovery: text(pitr, "PointInTimeRecoveryStatus").ok_or_else(|| {
            malformed(
                table,
                "DescribeContinuousBackups named no PointInTimeRecoveryStatus",
            )
        })?,
    }))
}

/// Whether the table holds any item, expired or not (an expired item is still there until
/// DynamoDB deletes it): `None` when there is no such table. Read with Scan, one item at a
/// time, until an item or the end of the table is seen: never DescribeTable's `ItemCount`,
/// which DynamoDB updates about every six hours.
pub async fn holds_records(db: &JsonApi, table: &str) -> Result<Option<bool>> {
    let mut start: Option<Value> = None;
    loop {
        let mut input = json!({
            "TableName": table,
            "Limit": 1,
            "Select": "COUNT",
            "ConsistentRead": true,
        });
        if let Some(s) = &start {
            input["ExclusiveStartKey"] = s.clone();
        }
        let page: Value = match db
            .call(&what(table, "looking for records in"), "Scan", &input)
            .await
        {
            Ok(v) => v,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let count = page["Count"]
            .as_u64()
            .ok_or_else(|| malformed(table, "Scan answered without a Count"))?;
        if count > 0 {
            return Ok(Some(true));
        }
        match page.get("LastEvaluatedKey") {
            Some(k) if !k.is_null() => start = Some(k.clone()),
            _ => return Ok(Some(false)),
        }
    }
}

/// Every job of one upload key, with its history, newest change last.
pub async fn jobs_of(db: &JsonApi, table: &str, key: &str) -> Result<Vec<Job>> {
    let input = json!({
        "TableName": table,
        "KeyConditionExpression": "#k = :k",
        "ExpressionAttributeNames": { "#k": "key" },
        "ExpressionAttributeValues": { ":k": { "S": key } },
        "ConsistentRead": true,
    });
    let mut jobs = query_all(db, table, input).await?;
    jobs.sort_by(|a, b| a.updated_at.cmp(&b.updated_at));
    Ok(jobs)
}

/// The index shard of the job `key`, `upload`: CRC-32 of the key, a newline and the upload,
/// modulo [`SHARDS`], as the workers compute it (docs/jobs.md).
pub(crate) fn shard(key: &str, upload: &str) -> u32 {
    crc32fast::hash(format!("{key}\n{upload}").as_bytes()) % SHARDS
}

/// What every write of a change sets beside the change, as the workers write it: the time,
/// the `recent` index key (the hour and the job's shard) and the time to live.
struct Stamps {
    at: String,
    recent: String,
    expires: u64,
}

impl Stamps {
    fn of(now: SystemTime, (key, upload): (&str, &str), retention_days: u32) -> Stamps {
        let at = iso_millis(now);
        let recent = format!("{}#{}", &at[..13], shard(key, upload));
        let expires = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
            + u64::from(retention_days) * 86_400;
        Stamps {
            at,
            recent,
            expires,
        }
    }
}

/// One conditional write: whether it was made (`false`: its condition did not hold, which
/// DynamoDB answers with ConditionalCheckFailedException; any other error is one).
async fn conditional(db: &JsonApi, what: &str, op: &'static str, input: &Value) -> Result<bool> {
    match db.call::<Value>(what, op, input).await {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(e),
    }
}

/// Records the job `key`, `upload` `queued` at `now` (stage 0, `seq` 1), unless the table holds
/// it already: whether it was written. The protocol's first write of a job sent as a message
/// (docs/jobs.md): the worker's start finds it queued and goes on from there.
pub async fn queue_job(
    db: &JsonApi,
    table: &str,
    (key, upload): (&str, &str),
    (stage, stage_index): (Option<&str>, usize),
    (tenant, lane): (Option<&str>, Option<&str>),
    now: SystemTime,
    retention_days: u32,
) -> Result<bool> {
    let Stamps {
        at,
        recent,
        expires,
    } = Stamps::of(now, (key, upload), retention_days);
    let mut entry = json!({ "state": { "S": "queued" }, "at": { "S": at } });
    let mut item = json!({
        "key": { "S": key },
        "upload": { "S": upload },
        "state": { "S": "queued" },
        "stage_index": { "N": stage_index.to_string() },
        "queued_at": { "S": at },
        "updated_at": { "S": at },
        "recent": { "S": recent },
        "expires_at": { "N": expires.to_string() },
        "seq": { "N": "1" },
    });
    if let Some(stage) = stage {
        item["stage"] = json!({ "S": stage });
        entry["stage"] = json!({ "S": stage });
    }
    // Its message group: the tenant the workers keep (`queue.tenant`).
    if let Some(tenant) = tenant {
        item["tenant"] = json!({ "S": tenant });
    }
    // Sent to the priority lane (`submit --priority`): the workers write the same.
    if let Some(lane) = lane {
        item["lane"] = json!({ "S": lane });
    }
    item["history"] = json!({ "L": [{ "M": entry }] });
    conditional(
        db,
        &what(table, "recording a job in"),
        "PutItem",
        &json!({
            "TableName": table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#k)",
            "ExpressionAttributeNames": { "#k": "key" },
        }),
    )
    .await
}

/// Marks the job that [`queue_job`] or [`requeue`] recorded `queued` with sequence `written`
/// `failed` with `why` when its message could not be sent, on the condition that nothing has
/// moved it on since (`queued`, `seq` = `written`): the record then says what happened rather
/// than `queued` for ever.
pub async fn unsent(
    db: &JsonApi,
    table: &str,
    (key, upload): (&str, &str),
    written: u64,
    why: &str,
) -> Result<()> {
    let at = iso_millis(SystemTime::now());
    let entry =
        json!({ "M": { "state": { "S": "failed" }, "at": { "S": at }, "error": { "S": why } } });
    conditional(
        db,
        &what(table, "recording a job not sent in"),
        "UpdateItem",
        &json!({
            "TableName": table,
            "Key": { "key": { "S": key }, "upload": { "S": upload } },
            "UpdateExpression": "SET #state = :failed, #error = :why, #finished_at = :at, #updated_at = :at, #history = list_append(#history, :entry) ADD #seq :one",
            "ConditionExpression": "#state = :queued AND #seq = :written",
            "ExpressionAttributeNames": {
                "#state": "state", "#error": "error", "#finished_at": "finished_at",
                "#updated_at": "updated_at", "#history": "history", "#seq": "seq",
            },
            "ExpressionAttributeValues": {
                ":failed": { "S": "failed" }, ":queued": { "S": "queued" },
                ":why": { "S": why }, ":at": { "S": at }, ":one": { "N": "1" },
                ":written": { "N": written.to_string() }, ":entry": { "L": [entry] },
            },
        }),
    )
    .await
    .map(|_| ())
}

/// Cancels the job `key`, `upload` while it waits in its queue (`queued` or `retrying`):
/// `cancelled`, `finished_at`, a `cancelled` entry, `seq` + 1, on that condition, so a job a
/// worker has started is never cancelled. A worker that receives its message skips it and
/// deletes the message (docs/jobs.md). Whether it was written.
pub async fn cancel(
    db: &JsonApi,
    table: &str,
    (key, upload): (&str, &str),
    now: SystemTime,
    retention_days: u32,
) -> Result<bool> {
    let Stamps {
        at,
        recent,
        expires,
    } = Stamps::of(now, (key, upload), retention_days);
    let entry = json!({ "M": { "state": { "S": "cancelled" }, "at": { "S": at } } });
    conditional(
        db,
        &what(table, "cancelling a job in"),
        "UpdateItem",
        &json!({
            "TableName": table,
            "Key": { "key": { "S": key }, "upload": { "S": upload } },
            "UpdateExpression": "SET #state = :cancelled, #finished_at = :at, \
                #updated_at = :at, #recent = :recent, #expires_at = :exp, \
                #history = list_append(#history, :entry) ADD #seq :one",
            "ConditionExpression": "#state IN (:queued, :retrying)",
            "ExpressionAttributeNames": {
                "#state": "state", "#finished_at": "finished_at",
                "#updated_at": "updated_at", "#recent": "recent",
                "#expires_at": "expires_at", "#history": "history", "#seq": "seq",
            },
            "ExpressionAttributeValues": {
                ":cancelled": { "S": "cancelled" }, ":queued": { "S": "queued" },
                ":retrying": { "S": "retrying" }, ":at": { "S": at },
                ":recent": { "S": recent }, ":exp": { "N": expires.to_string() },
                ":one": { "N": "1" }, ":entry": { "L": [entry] },
            },
        }),
    )
    .await
}

/// Records that the failed job `key`, `upload` (sequence `seen`, as read before its dead letter
/// was moved) is back in its queue as the message `message`: `queued` at its stage, `seq` + 1,
/// a `queued` entry naming the message; on the condition that nothing changed it since
/// (`failed`, `seq` = `seen`), so a worker that received the message first is never overwritten.
/// Whether it was written.
pub async fn redriven(
    db: &JsonApi,
    table: &str,
    (key, upload): (&str, &str),
    seen: u64,
    (now, message): (SystemTime, &str),
    retention_days: u32,
) -> Result<bool> {
    let Stamps {
        at,
        recent,
        expires,
    } = Stamps::of(now, (key, upload), retention_days);
    let entry = json!({ "M": {
        "state": { "S": "queued" }, "at": { "S": at }, "message": { "S": message },
    } });
    conditional(
        db,
        &what(table, "recording a redriven job in"),
        "UpdateItem",
        &json!({
            "TableName": table,
            "Key": { "key": { "S": key }, "upload": { "S": upload } },
            "UpdateExpression": "SET #state = :queued, #updated_at = :at, #recent = :recent, \
                #expires_at = :exp, #history = list_append(#history, :entry) \
                REMOVE #finished_at ADD #seq :one",
            "ConditionExpression": "#state = :failed AND #seq = :seen",
            "ExpressionAttributeNames": {
                "#state": "state", "#updated_at": "updated_at", "#recent": "recent",
                "#expires_at": "expires_at", "#history": "history",
                "#finished_at": "finished_at", "#seq": "seq",
            },
            "ExpressionAttributeValues": {
                ":queued": { "S": "queued" }, ":failed": { "S": "failed" },
                ":at": { "S": at }, ":recent": { "S": recent },
                ":exp": { "N": expires.to_string() }, ":one": { "N": "1" },
                ":seen": { "N": seen.to_string() }, ":entry": { "L": [entry] },
            },
        }),
    )
    .await
}

/// Queues again, at the first stage, the job `key`, `upload` whose record says `failed` with
/// sequence `seen` (what was read): `queued`, `stage_index` 0, no error, `seq` + 1, a `queued`
/// entry; on the condition that nothing changed it since (`failed`, `seq` = `seen`), so two
/// submissions never both send. Whether it was written.
pub async fn requeue(
    db: &JsonApi,
    table: &str,
    (key, upload): (&str, &str),
    (stage, stage_index): (Option<&str>, usize),
    seen: u64,
    now: SystemTime,
    retention_days: u32,
) -> Result<bool> {
    let Stamps {
        at,
        recent,
        expires,
    } = Stamps::of(now, (key, upload), retention_days);
    let mut entry = json!({ "state": { "S": "queued" }, "at": { "S": at } });
    let mut values = json!({
        ":queued": { "S": "queued" }, ":failed": { "S": "failed" }, ":zero": { "N": "0" },
        ":si": { "N": stage_index.to_string() },
        ":at": { "S": at }, ":recent": { "S": recent },
        ":exp": { "N": expires.to_string() }, ":one": { "N": "1" },
        ":seen": { "N": seen.to_string() },
    });
    let mut set = "#state = :queued, #stage_index = :si, #attempts = :zero, #queued_at = :at, \
                   #updated_at = :at, #recent = :recent, #expires_at = :exp, \
                   #history = list_append(#history, :entry)"
        .to_string();
    let mut remove = "#error, #finished_at".to_string();
    if let Some(stage) = stage {
        set.push_str(", #stage = :stage");
        values[":stage"] = json!({ "S": stage });
        entry["stage"] = json!({ "S": stage });
    } else {
        remove.push_str(", #stage");
    }
    values[":entry"] = json!({ "L": [{ "M": entry }] });
    conditional(
        db,
        &what(table, "queuing a failed job again in"),
        "UpdateItem",
        &json!({
            "TableName": table,
            "Key": { "key": { "S": key }, "upload": { "S": upload } },
            "UpdateExpression": format!("SET {set} REMOVE {remove} ADD #seq :one"),
            "ConditionExpression": "#state = :failed AND #seq = :seen",
            "ExpressionAttributeNames": {
                "#state": "state", "#stage_index": "stage_index", "#attempts": "attempts",
                "#queued_at": "queued_at", "#updated_at": "updated_at", "#recent": "recent",
                "#expires_at": "expires_at", "#history": "history", "#error": "error",
                "#finished_at": "finished_at", "#stage": "stage", "#seq": "seq",
            },
            "ExpressionAttributeValues": values,
        }),
    )
    .await
}

/// One job; `None`: the table has no record of it.
pub async fn job(db: &JsonApi, table: &str, key: &str, upload: &str) -> Result<Option<Job>> {
    let answer: Value = db
        .call(
            &what(table, "reading a job in"),
            "GetItem",
            &json!({
                "TableName": table,
                "Key": { "key": { "S": key }, "upload": { "S": upload } },
                "ConsistentRead": true,
            }),
        )
        .await?;
    match answer.get("Item") {
        Some(Value::Object(item)) => Ok(Some(job_of(table, item)?)),
        _ => Ok(None),
    }
}

/// Deletes one job's record (the record `qfleet send`'s own upload made).
pub async fn delete(db: &JsonApi, table: &str, key: &str, upload: &str) -> Result<()> {
    db.call::<Value>(
        &what(table, "deleting a job's record in"),
        "DeleteItem",
        &json!({
            "TableName": table,
            "Key": { "key": { "S": key }, "upload": { "S": upload } },
        }),
    )
    .await
    .map(|_| ())
}

/// The jobs whose last change is at or after `since` (from the index: no history), newest
/// first: the index's partitions of every hour from `since`'s to `now`'s, each shard.
pub async fn changed_since(
    db: &JsonApi,
    table: &str,
    since: SystemTime,
    now: SystemTime,
) -> Result<Vec<Job>> {
    let since_text = iso_millis(since);
    let mut partitions = Vec::new();
    for hour in hours(since, now) {
        for shard in 0..SHARDS {
            partitions.push(format!("{hour}#{shard}"));
        }
    }
    let reads = partitions.into_iter().map(|p| {
        let input = json!({
            "TableName": table,
            "IndexName": INDEX,
            "KeyConditionExpression": "#r = :r AND #u >= :since",
            "ExpressionAttributeNames": { "#r": "recent", "#u": "updated_at" },
            "ExpressionAttributeValues": { ":r": { "S": p }, ":since": { "S": since_text } },
        });
        query_all(db, table, input)
    });
    let mut jobs: Vec<Job> = futures::future::try_join_all(reads)
        .await?
        .into_iter()
        .flatten()
        .collect();
    jobs.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
    Ok(jobs)
}

/// The attributes a job read from the index lacks (the index projects
/// [`qfleet_runtime::job_table::INDEX_PROJECTION`]):
/// when it was queued and first received, its sequence, its tenant and its lane.
const NOT_IN_INDEX: [&str; 5] = ["queued_at", "received_at", "seq", "tenant", "lane"];
/// BatchGetItem takes at most 100 keys a call
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html>).
const BATCH_KEYS: usize = 100;
/// How often keys DynamoDB left unprocessed are asked for again ("If DynamoDB returns any
/// unprocessed items, you should retry the batch operation on those items ... we strongly
/// recommend that you use an exponential backoff algorithm", the same page).
const BATCH_TRIES: u32 = 6;

/// Fills in what the index does not carry ([`NOT_IN_INDEX`]) of the first `cap` of `jobs` that
/// `which` picks, read from the table by key (BatchGetItem, [`BATCH_KEYS`] keys a call). The
/// index's projection cannot change on a table that exists ("Update requires: Updates are not
/// supported", AWS::DynamoDB::Table Projection, NonKeyAttributes:
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-dynamodb-table-projection.html>),
/// so a list reads them from the items. A job the table no longer holds (expired meanwhile)
/// keeps what the index said; keys still unprocessed after [`BATCH_TRIES`] calls are an error,
/// never a null.
pub async fn fill(
    db: &JsonApi,
    table: &str,
    jobs: &mut [Job],
    which: impl Fn(&Job) -> bool,
    cap: usize,
) -> Result<()> {
    // Each key once: a list read from several partitions of the index may hold a job twice
    // (BatchGetItem refuses duplicate keys), and every copy is filled.
    let mut picked: Vec<(String, String)> = Vec::new();
    for j in jobs.iter().filter(|j| which(j)) {
        let k = (j.key.clone(), j.upload.clone());
        if !picked.contains(&k) {
            picked.push(k);
        }
        if picked.len() == cap {
            break;
        }
    }
    for chunk in picked.chunks(BATCH_KEYS) {
        let mut keys: Vec<Value> = chunk
            .iter()
            .map(|(k, u)| json!({ "key": { "S": k }, "upload": { "S": u } }))
            .collect();
        let mut names = json!({ "#k": "key", "#u": "upload" });
        let mut projection = vec!["#k".to_string(), "#u".to_string()];
        for (n, a) in NOT_IN_INDEX.iter().enumerate() {
            names[format!("#a{n}")] = json!(a);
            projection.push(format!("#a{n}"));
        }
        let mut tries = 0;
        while !keys.is_empty() {
            if tries == BATCH_TRIES {
                return Err(AwsError::new(format!(
                    "{}: DynamoDB left {} key(s) unprocessed after {BATCH_TRIES} calls",
                    what(table, "reading jobs in"),
                    keys.len()
                )));
            }
            if tries > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50 << tries)).await;
            }
            tries += 1;
            let page: Value = db
                .call(
                    &what(table, "reading jobs in"),
                    "BatchGetItem",
                    &json!({ "RequestItems": { table: {
                        "Keys": keys,
                        "ProjectionExpression": projection.join(", "),
                        "ExpressionAttributeNames": names,
                    } } }),
                )
                .await?;
            for item in page["Responses"][table].as_array().into_iter().flatten() {
                let Value::Object(item) = item else {
                    return Err(malformed(table, "an item is not a map"));
                };
                let (Some(k), Some(u)) = (
                    item.get("key").and_then(string),
                    item.get("upload").and_then(string),
                ) else {
                    return Err(malformed(table, "an item without its key"));
                };
                for j in jobs.iter_mut().filter(|j| j.key == k && j.upload == u) {
                    j.queued_at = item.get("queued_at").and_then(string);
                    j.received_at = item.get("received_at").and_then(string);
                    j.seq = item.get("seq").and_then(number);
                    j.tenant = item.get("tenant").and_then(string);
                    j.lane = item.get("lane").and_then(string);
                }
            }
            keys = page["UnprocessedKeys"][table]["Keys"]
                .as_array()
                .cloned()
                .unwrap_or_default();
        }
    }
    Ok(())
}

/// Every page of a Query.
async fn query_all(db: &JsonApi, table: &str, mut input: Value) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    loop {
        let page: Value = db
            .call(&what(table, "reading jobs in"), "Query", &input)
            .await?;
        let items = page["Items"]
            .as_array()
            .ok_or_else(|| malformed(table, "Query answered without Items"))?;
        for item in items {
            let Value::Object(item) = item else {
                return Err(malformed(table, "an item is not a map"));
            };
            jobs.push(job_of(table, item)?);
        }
        match page.get("LastEvaluatedKey") {
            Some(k) if !k.is_null() => input["ExclusiveStartKey"] = k.clone(),
            _ => return Ok(jobs),
        }
    }
}

/// A job from its item. The keys are required (every item has them); any other attribute may
/// be missing, and one of another type than the protocol's is left out.
fn job_of(table: &str, item: &Map<String, Value>) -> Result<Job> {
    let s = |k: &str| item.get(k).and_then(string);
    let n = |k: &str| item.get(k).and_then(number);
    Ok(Job {
        key: s("key").ok_or_else(|| malformed(table, "an item without its key"))?,
        upload: s("upload").ok_or_else(|| malformed(table, "an item without its upload"))?,
        state: s("state").unwrap_or_else(|| "unknown".to_string()),
        stage: s("stage"),
        stage_index: n("stage_index"),
        attempts: n("attempts"),
        seq: n("seq"),
        worker: s("worker"),
        tenant: s("tenant"),
        lane: s("lane"),
        uploaded_at: s("uploaded_at"),
        queued_at: s("queued_at"),
        received_at: s("received_at"),
        finished_at: s("finished_at"),
        output: s("output"),
        error: s("error"),
        duplicates: n("duplicates"),
        updated_at: s("updated_at"),
        expires_at: n("expires_at"),
        history: item
            .get("history")
            .and_then(|h| h.get("L"))
            .and_then(Value::as_array)
            .map(|entries| entries.iter().filter_map(change_of).collect())
            .unwrap_or_default(),
    })
}

fn change_of(entry: &Value) -> Option<Change> {
    let m = entry.get("M")?;
    let s = |k: &str| m.get(k).and_then(string);
    Some(Change {
        state: s("state")?,
        at: s("at")?,
        stage: s("stage").filter(|x| !x.is_empty()),
        worker: s("worker"),
        attempt: m.get("attempt").and_then(number),
        error: s("error"),
        output: s("output"),
        message: s("message"),
        retry_at: s("retry_at"),
        timed_out: m
            .get("timed_out")
            .and_then(|v| v.get("BOOL"))
            .and_then(Value::as_bool)
            .filter(|t| *t),
    })
}

fn string(v: &Value) -> Option<String> {
    v.get("S").and_then(Value::as_str).map(str::to_string)
}

fn number(v: &Value) -> Option<u64> {
    v.get("N")
        .and_then(Value::as_str)
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|n| *n >= 0.0)
        .map(|n| n as u64)
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn malformed(table: &str, why: &str) -> AwsError {
    AwsError::with_kind(format!("reading job table {table}: {why}"), Kind::Malformed)
}

/// A time as the protocol writes it: UTC, ISO 8601, milliseconds (`2026-11-24T19:55:01.123Z`),
/// so that times sort as text.
fn iso_millis(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = aws_smithy_types::DateTime::from_secs(d.as_secs() as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default();
    format!("{}.{:03}Z", secs.trim_end_matches('Z'), d.subsec_millis())
}

/// Milliseconds since the epoch of a protocol time (`None`: not one).
fn millis(text: &str) -> Option<i64> {
    let t =
        aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime)
            .ok()?;
    Some(t.secs() * 1000 + i64::from(t.subsec_nanos() / 1_000_000))
}

/// The hours (`2026-11-24T19`) from `since`'s to `now`'s, both included.
fn hours(since: SystemTime, now: SystemTime) -> Vec<String> {
    let mut out = Vec::new();
    let hour = Duration::from_secs(3600);
    let floor = |t: SystemTime| {
        let s = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        UNIX_EPOCH + Duration::from_secs(s - s % 3600)
    };
    let mut t = floor(since);
    let end = floor(now);
    while t <= end {
        out.push(iso_millis(t)[..13].to_string());
        t += hour;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shard is the workers' (Python's `zlib.crc32(b"KEY\nUPLOAD") % 8`, computed there).
    #[test]
    fn a_jobs_shard_is_the_one_the_workers_compute() {
        assert_eq!(shard("uploads/a.jpg", "v1"), 4);
        assert_eq!(crc32fast::hash(b"photo-42\njob"), 2_963_562_586);
        assert_eq!(shard("photo-42", "job"), 2);
    }

    #[test]
    fn times_are_written_with_milliseconds_and_sort_as_text() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_550_101_123);
        assert_eq!(iso_millis(t), "2026-11-24T19:55:01.123Z");
        assert_eq!(millis("2026-11-24T19:55:01.123Z"), Some(1_795_550_101_123));
        assert_eq!(
            iso_millis(UNIX_EPOCH + Duration::from_secs(1_795_550_101)),
            "2026-11-24T19:55:01.000Z"
        );
        assert!(iso_millis(t) < iso_millis(t + Duration::from_millis(1)));
    }

    #[test]
    fn the_index_is_read_hour_by_hour_from_since_to_now() {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_550_101);
        assert_eq!(
            hours(now - Duration::from_secs(900), now),
            ["2026-11-24T19"]
        );
        assert_eq!(
            hours(now - Duration::from_secs(3600), now),
            ["2026-11-24T18", "2026-11-24T19"]
        );
    }

    #[test]
    fn an_item_reads_as_a_job_and_its_history_in_order() {
        let item = json!({
            "key": { "S": "uploads/cat.jpg" },
            "upload": { "S": "v1" },
            "state": { "S": "done" },
            "attempts": { "N": "2" },
            "uploaded_at": { "S": "2026-11-24T19:55:00.120Z" },
            "finished_at": { "S": "2026-11-24T19:55:02.480Z" },
            "history": { "L": [
                { "M": { "state": { "S": "queued" }, "at": { "S": "2026-11-24T19:55:00.200Z" } } },
                { "M": { "state": { "S": "done" }, "at": { "S": "2026-11-24T19:55:02.480Z" },
                         "output": { "S": "processed/cat.jpg" }, "attempt": { "N": "2" } } }
            ] }
        });
        let job = job_of("t", item.as_object().unwrap()).unwrap();
        assert_eq!(job.state, "done");
        assert_eq!(job.attempts, Some(2));
        assert_eq!(job.history.len(), 2);
        assert_eq!(job.history[1].output.as_deref(), Some("processed/cat.jpg"));
        assert_eq!(job.seconds(), Some(2.36));
        // An item without its key is not a job: the answer is malformed, never skipped.
        let keyless = json!({ "upload": { "S": "v1" } });
        assert!(job_of("t", keyless.as_object().unwrap()).is_err());
    }

    fn listed(key: &str, upload: &str) -> Job {
        let item =
            json!({ "key": { "S": key }, "upload": { "S": upload }, "state": { "S": "done" } });
        job_of("t", item.as_object().unwrap()).unwrap()
    }

    /// A fake DynamoDB (no emulator here answers BatchGetItem's UnprocessedKeys): the first call
    /// leaves one key unprocessed, the second answers it. Both jobs get what the index lacks;
    /// the one `which` leaves out is not asked for.
    #[tokio::test]
    async fn fill_reads_what_the_index_lacks_and_asks_again_for_unprocessed_keys_fake_dynamodb() {
        use crate::aws::fake::{Fake, Seen};
        let item = |k: &str, q: &str| {
            json!({ "key": { "S": k }, "upload": { "S": "job" }, "queued_at": { "S": q },
                    "received_at": { "S": q }, "seq": { "N": "3" } })
        };
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let (a, b) = (
            item("a", "2026-11-27T10:00:00.000Z"),
            item("b", "2026-11-27T11:00:00.000Z"),
        );
        let fake = Fake::new(move |r: &Seen| {
            assert_eq!(r.target(), Some("BatchGetItem"));
            let asked = r.json()["RequestItems"]["t"]["Keys"]
                .as_array()
                .unwrap()
                .len();
            let doc = match counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => {
                    assert_eq!(asked, 2, "two keys picked");
                    json!({ "Responses": { "t": [a.clone()] }, "UnprocessedKeys": { "t": {
                        "Keys": [{ "key": { "S": "b" }, "upload": { "S": "job" } }] } } })
                }
                _ => {
                    assert_eq!(asked, 1, "only the unprocessed key again");
                    json!({ "Responses": { "t": [b.clone()] }, "UnprocessedKeys": {} })
                }
            };
            (200, doc.to_string())
        });
        let db = crate::aws::mock::Rules {
            dynamodb: Some(fake.clone()),
            ..Default::default()
        }
        .clients()
        .dynamodb;
        // `a` twice, as two partitions of the index may give it: asked once, both filled.
        let mut jobs = vec![
            listed("a", "job"),
            listed("b", "job"),
            listed("up.jpg", "v1"),
            listed("a", "job"),
        ];
        fill(&db, "t", &mut jobs, |j| j.upload == "job", 10)
            .await
            .unwrap();
        assert_eq!(jobs[3].queued_at, jobs[0].queued_at);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(
            jobs[0].queued_at.as_deref(),
            Some("2026-11-27T10:00:00.000Z")
        );
        assert_eq!(
            (jobs[1].seq, jobs[1].received_at.is_some()),
            (Some(3), true)
        );
        assert_eq!(jobs[2].queued_at, None, "not picked, not read");
    }

    /// Keys DynamoDB never processes are an error after the tries, not nulls (fake DynamoDB).
    #[tokio::test]
    async fn fill_says_so_when_keys_stay_unprocessed_fake_dynamodb() {
        use crate::aws::fake::Fake;
        let fake = Fake::new(|r| {
            let keys = r.json()["RequestItems"]["t"]["Keys"].clone();
            let doc =
                json!({ "Responses": { "t": [] }, "UnprocessedKeys": { "t": { "Keys": keys } } });
            (200, doc.to_string())
        });
        let db = crate::aws::mock::Rules {
            dynamodb: Some(fake.clone()),
            ..Default::default()
        }
        .clients()
        .dynamodb;
        let mut jobs = vec![listed("a", "job")];
        let e = fill(&db, "t", &mut jobs, |_| true, 10).await.unwrap_err();
        assert!(
            e.to_string().contains("1 key(s) unprocessed after 6 calls"),
            "{e}"
        );
        assert_eq!(fake.requests().len(), 6);
    }
}
