//! The dead-letter queue of an environment (`qfleet dlq`): what is in it and why (the uploads
//! its messages name), one message in full, sending them back to the job queue with SQS's
//! message-move task, and purging them only with a confirmation that names the count.

pub(crate) mod errors;
mod report;

pub(crate) use report::{Action, act};

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use report::schema;

use crate::aws::Clients;
use crate::aws::{self, MoveTask, Peeked};
use crate::aws::{Queue, QueueDepth as Depth};
use crate::config::Environment;
use crate::error::{Error, Interruption, Result};
use crate::placement::StackNames;
use crate::render::ResourceNames;
use serde::Serialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The job queue and its dead-letter queue, found through the job queue's redrive policy.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub(crate) struct Queues {
    pub queue: Queue,
    pub queue_arn: String,
    pub dead_letter: Queue,
    pub dead_letter_arn: String,
    /// The data stack's name there (a stack set's instance's for a StackSets target).
    #[serde(skip)]
    pub data_stack: String,
}

/// Reads both queues; anything that cannot be read, or a job queue without a redrive policy,
/// is an error (never "no dead-letter queue, nothing in it").
pub(crate) async fn locate(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
) -> Result<Queues> {
    let data_stack =
        crate::placement::check_data_stack(&clients.cfn, &clients.sts, env, at).await?;
    let name = ResourceNames::of(env).queue;
    let missing = |what: &str| {
        Error::aws(format!(
            "{}: {what}; is the environment deployed? (`qfleet status {}`)",
            env.name, env.name
        ))
    };
    let url = aws::queue_url(&clients.sqs, &name)
        .await?
        .ok_or_else(|| missing(&format!("queue {name} does not exist")))?;
    let queue = aws::describe_queue(&clients.sqs, &url)
        .await?
        .ok_or_else(|| missing(&format!("queue {name} does not exist")))?;
    let dead_letter_arn = queue
        .dead_letter_target()
        .ok_or_else(|| missing(&format!("queue {name} has no redrive policy")))?;
    let dlq_name = aws::queue_name(&dead_letter_arn).to_string();
    let dlq_url = aws::queue_url(&clients.sqs, &dlq_name)
        .await?
        .ok_or_else(|| missing(&format!("its dead-letter queue {dlq_name} does not exist")))?;
    let dead_letter = aws::describe_queue(&clients.sqs, &dlq_url)
        .await?
        .ok_or_else(|| missing(&format!("its dead-letter queue {dlq_name} does not exist")))?;
    let queue_arn = queue
        .attribute("QueueArn")
        .map(str::to_string)
        .ok_or_else(|| Error::aws(format!("reading queue {name}: the answer has no QueueArn")))?;
    Ok(Queues {
        queue,
        queue_arn,
        dead_letter,
        dead_letter_arn,
        data_stack,
    })
}

/// One dead-lettered message: the uploads it names, how often it was received, its age.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub(crate) struct Letter {
    pub id: String,
    /// The S3 keys of the upload events it carries (decoded), empty when the body is not an S3
    /// event (a test event, a message sent by hand).
    pub keys: Vec<String>,
    /// A job sent as a message (no upload's event): its id, the `job_id` message attribute,
    /// else `sqs:` and the message id (docs/jobs.md); null for an upload's event.
    pub job_id: Option<String>,
    pub receive_count: Option<u64>,
    /// RFC 3339.
    pub sent: Option<String>,
    pub first_receive: Option<String>,
    pub age_seconds: Option<u64>,
    /// With a job table (`jobs:`): the job each upload event of the message belongs to, and
    /// where its record stands (`state` null: the table has no record of it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<LetterJob>,
}

/// The job a dead letter belongs to (docs/jobs.md: the key and upload the worker keys it by).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub(crate) struct LetterJob {
    pub key: String,
    pub upload: String,
    pub state: Option<String>,
    pub error: Option<String>,
}

fn rfc3339(ms: u64) -> Option<String> {
    aws_smithy_types::DateTime::from_millis(ms as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .ok()
}

impl Letter {
    fn of(p: &Peeked, now: SystemTime) -> Letter {
        let now_ms = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as u64;
        Letter {
            id: p.id.clone(),
            keys: keys_of(&p.body),
            job_id: job_refs_of(&p.body, &p.id, p.job_id.as_deref())
                .into_iter()
                .find(|(_, upload)| upload == crate::jobs::MESSAGE_UPLOAD)
                .map(|(key, _)| key),
            receive_count: p.receive_count,
            sent: p.sent_ms.and_then(rfc3339),
            first_receive: p.first_receive_ms.and_then(rfc3339),
            age_seconds: p.sent_ms.map(|s| now_ms.saturating_sub(s) / 1000),
            jobs: Vec::new(),
        }
    }
}

/// The longest job id the workers take (bytes), as `qfleet_jobs.py` checks it.
/// How long an interrupted redrive waits for SQS to confirm its cancel (CancelMessageMoveTask),
/// so that the run's document is out within seconds of the signal.
const CANCEL_WAIT: Duration = Duration::from_secs(2);

const MAX_JOB_ID: usize = 1024;

/// The jobs a message belongs to, as the workers key them (docs/jobs.md): a message's
/// `qfleetJob` (a message-fed stage's), else each S3 event record's key with its `versionId`
/// or `sequencer`, else the message's id; a message that is no upload's event is a job sent as
/// a message: its `job_id` (`job_id`), else `sqs:` and its message id.
pub(crate) fn job_refs_of(
    body: &str,
    message_id: &str,
    job_id: Option<&str>,
) -> Vec<(String, String)> {
    let sent = || {
        let key = job_id.map_or_else(|| format!("sqs:{message_id}"), str::to_string);
        vec![(key, crate::jobs::MESSAGE_UPLOAD.to_string())]
    };
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(body) else {
        // Not JSON: only a job sent as a message can be that.
        return sent();
    };
    if let Some(inner) = v.get("Message").and_then(|m| m.as_str())
        && let Ok(unwrapped) = serde_json::from_str(inner)
    {
        v = unwrapped;
    }
    if let (Some(k), Some(u)) = (
        v["qfleetJob"]["key"].as_str(),
        v["qfleetJob"]["upload"].as_str(),
    ) {
        return vec![(k.to_string(), u.to_string())];
    }
    // What S3 and SNS send to set a subscription up is no job's.
    if v["Event"] == "s3:TestEvent" || v["Type"] == "SubscriptionConfirmation" {
        return Vec::new();
    }
    if !v["Records"].is_array() {
        return sent();
    }
    let keys = keys_of(body);
    v["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(keys)
        .map(|(r, key)| {
            let o = &r["s3"]["object"];
            let upload = o["versionId"]
                .as_str()
                .or_else(|| o["sequencer"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| format!("message:{message_id}"));
            (key, upload)
        })
        .collect()
}

/// Each letter's jobs with their records, read from the job table of an environment that has
/// one (a record not read is an error: the list says nothing rather than a guess).
async fn with_jobs(
    clients: &Clients,
    env: &Environment,
    data_stack: &str,
    peeked: &[Peeked],
    letters: &mut [Letter],
) -> Result<()> {
    if crate::jobs::has_table(env).is_err() || peeked.is_empty() {
        return Ok(());
    }
    let table = crate::jobs::table_name(clients, env, data_stack).await?;
    for (p, letter) in peeked.iter().zip(letters.iter_mut()) {
        for (key, upload) in job_refs_of(&p.body, &p.id, p.job_id.as_deref()) {
            // An id the workers refuse (empty, or over their 1,024 bytes) has no record, and
            // DynamoDB would refuse a key over 2,048 bytes: said, never looked up.
            if key.is_empty() || key.len() > MAX_JOB_ID {
                letter.jobs.push(LetterJob {
                    state: None,
                    error: Some(format!(
                        "its job_id is {} bytes: the workers take 1 to {MAX_JOB_ID}, so it has no record",
                        key.len()
                    )),
                    key: key.chars().take(64).collect(),
                    upload,
                });
                continue;
            }
            let record = crate::jobs::table::job(&clients.dynamodb, &table, &key, &upload).await?;
            letter.jobs.push(LetterJob {
                state: record.as_ref().map(|j| j.state.clone()),
                error: record.and_then(|j| j.error),
                key,
                upload,
            });
        }
    }
    Ok(())
}

/// The `qfleet dlq` arguments that name this queue again: the environment, and the stage of a
/// pipeline (`lab --stage thumbs`).
fn target(env: &Environment) -> String {
    use crate::output::hint::quote;
    match env.pipeline_stage() {
        Some(s) => format!("{} --stage {}", quote(&env.name), quote(&s.name)),
        None => quote(&env.name),
    }
}

/// The S3 keys an upload's event names: a raw S3 event, or one wrapped in an SNS envelope.
/// Keys arrive form-encoded (a space is `+`) and are decoded.
pub(crate) fn keys_of(body: &str) -> Vec<String> {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(body) else {
        return Vec::new();
    };
    if let Some(inner) = v.get("Message").and_then(|m| m.as_str())
        && let Ok(unwrapped) = serde_json::from_str(inner)
    {
        v = unwrapped;
    }
    v["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["s3"]["object"]["key"].as_str())
        .map(|k| {
            form_urlencoded::parse(format!("k={k}").as_bytes())
                .map(|(_, v)| v.into_owned())
                .next()
                .unwrap_or_else(|| k.to_string())
        })
        .collect()
}

/// What `dlq list` found.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub(crate) struct Listing {
    pub dead_letter_queue: String,
    pub depth: Depth,
    pub messages: Vec<Letter>,
    /// How the messages were read, said in words.
    pub note: String,
}

/// Lists up to `max` dead-lettered messages without consuming them.
pub(crate) async fn list(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    max: usize,
) -> Result<Listing> {
    let q = locate(clients, env, at).await?;
    let peeked = aws::peek_letters(&clients.sqs, &q.dead_letter.url, max).await?;
    let now = SystemTime::now();
    let mut messages: Vec<Letter> = peeked.iter().map(|p| Letter::of(p, now)).collect();
    with_jobs(clients, env, &q.data_stack, &peeked, &mut messages).await?;
    Ok(Listing {
        dead_letter_queue: q.dead_letter.name.clone(),
        depth: q.dead_letter.depth,
        messages,
        note: format!(
            "peeked: each message was received and made visible again at once (a zero visibility change), which counts as a receive; nothing was deleted{}",
            if peeked.len() >= max {
                format!("; the first {max} shown (--max)")
            } else {
                String::new()
            }
        ),
    })
}

/// One message in full (`None`: no message with that id among those SQS returned).
pub(crate) async fn show(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    id: &str,
) -> Result<Option<(Letter, String)>> {
    let q = locate(clients, env, at).await?;
    // The whole queue, at most: a peek holds nothing back.
    let max = (q.dead_letter.depth.total() as usize).clamp(10, 1000);
    let peeked = aws::peek_letters(&clients.sqs, &q.dead_letter.url, max).await?;
    let now = SystemTime::now();
    let Some(p) = peeked.into_iter().find(|p| p.id == id) else {
        return Ok(None);
    };
    let mut letter = [Letter::of(&p, now)];
    with_jobs(
        clients,
        env,
        &q.data_stack,
        std::slice::from_ref(&p),
        &mut letter,
    )
    .await?;
    let [letter] = letter;
    Ok(Some((letter, p.body)))
}

/// Sends the dead-lettered messages back to the job queue with a message-move task, or follows
/// the one already running (a redrive started earlier and interrupted goes on by itself), until
/// it ends; `progress` hears each poll. Ctrl-C cancels the task: the messages moved so far stay
/// moved, the rest stay in the dead-letter queue.
pub(crate) async fn redrive(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    rate: Option<i32>,
    progress: impl Fn(&MoveTask),
) -> Result<(MoveTask, bool)> {
    let q = locate(clients, env, at).await?;
    let sqs = &clients.sqs;
    let (handle, resumed) = match aws::latest_move(sqs, &q.dead_letter_arn).await? {
        Some(t) if t.running() => (t.handle.clone(), true),
        _ => (
            Some(aws::start_move(sqs, &q.dead_letter_arn, &q.queue_arn, rate).await?),
            false,
        ),
    };
    let mut delay = Duration::from_millis(500);
    loop {
        let interrupted = tokio::select! {
            _ = tokio::time::sleep(delay) => false,
            _ = crate::error::interrupted() => true,
        };
        if interrupted {
            // Bounded, so that the run's document is out within seconds of the signal: a
            // cancel SQS did not confirm in time is said as that.
            let cancelled = match &handle {
                Some(h) => matches!(
                    tokio::time::timeout(
                        CANCEL_WAIT.min(crate::error::time_left()),
                        aws::cancel_move(sqs, h),
                    )
                    .await,
                    Ok(Ok(_))
                ),
                None => false,
            };
            return Err(Interruption::Redrive {
                cancelled,
                env: env.name.clone(),
                queue: q.queue.name.clone(),
                dead_letter: q.dead_letter.name.clone(),
                target: target(env),
            }
            .into());
        }
        delay = (delay * 2).min(Duration::from_secs(5));
        let Some(task) = aws::latest_move(sqs, &q.dead_letter_arn).await? else {
            return Err(Error::aws(format!(
                "{}: the redrive started but SQS lists no move task for {}",
                env.name, q.dead_letter.name
            )));
        };
        progress(&task);
        if !task.running() {
            return match task.status.as_str() {
                "COMPLETED" => Ok((task, resumed)),
                _ => Err(Error::aws(format!(
                    "{}: the redrive ended {}{}",
                    env.name,
                    task.status,
                    task.failure_reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ))),
            };
        }
    }
}

/// Where the message of each job `found` holds is, as far as a look can tell without taking
/// anything from the job. A job not done has its stage's dead-letter queue looked into, peeked
/// as `dlq list` does (each message received and made visible again at once: the dead-letter
/// queue has no redrive policy of its own, so the receive costs no message anything); a dead
/// letter found there is said, with the command that sends it back, whatever the record says.
/// The job queue is never looked into, so a job not found in the dead-letter queue is said
/// `not_looked` (failed: `not_found`), never "waiting": a receive there, even with a
/// VisibilityTimeout of 0 that leaves it visible at once, counts toward the message's receives
/// ("A message that isn't deleted or a message whose visibility isn't extended before the
/// visibility timeout expires counts as a failed receive. Depending on the configuration of the
/// queue, the message might be sent to the dead-letter queue."), and a message a worker holds is
/// "hidden from subsequent retrieve requests" for its visibility timeout (ReceiveMessage,
/// VisibilityTimeout:
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html>;
/// SQS moves a message once its receives pass the queue's maxReceiveCount:
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html>).
/// A dead-letter queue that cannot be read, or not wholly (see [`partly_seen`]), makes the place
/// `unknown`, never "not there". A done job is not looked for: its worker deleted its message.
pub(crate) async fn whereabouts(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    found: &mut crate::jobs::Found,
) {
    let mut letters: std::collections::BTreeMap<usize, std::result::Result<DeadLetters, String>> =
        std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for j in &found.jobs {
        if j.state == "done" {
            out.push(place(&j.upload, "none"));
            continue;
        }
        // A pipeline's job is at its stage: that stage's queues.
        let stages = env.stages();
        let index = j
            .stage_index
            .map_or(0, |i| i as usize)
            .min(stages.len().saturating_sub(1));
        let stage = &stages[index];
        if let std::collections::btree_map::Entry::Vacant(e) = letters.entry(index) {
            e.insert(dead_letters_of(clients, stage, at).await);
        }
        let read = &letters[&index];
        let seen = seen_in(j, read);
        // Only now, for a failed job not there: whether a redrive sent it back.
        let redriven = match (&seen, read, j.state.as_str()) {
            (Seen::Absent, Ok((_, q)), "failed") => Some(
                match aws::latest_move_started(&clients.sqs, &q.dead_letter_arn).await {
                    Ok(at) => redriven_after(at, j.finished_at.as_deref()),
                    Err(e) => Some(format!(
                        "whether a redrive sent it back could not be read ({e})"
                    )),
                },
            ),
            _ => None,
        };
        let dlq = read.as_ref().ok().map(|(_, q)| q.dead_letter.name.as_str());
        out.push(placed(stage, j, dlq, seen, redriven.flatten()));
    }
    found.whereabouts = out;
}

/// What a look into a stage's dead-letter queue showed of one job.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// Its dead letter, by message id.
    There(String),
    /// Not among its messages, every one of them read.
    Absent,
    /// Not among the messages read, and not every one could be: why.
    Partly(String),
    /// The queue could not be read: why.
    Unread(String),
}

/// Whether the job `j`'s dead letter is among `read` (a stage's dead letters as peeked).
fn seen_in(j: &crate::jobs::table::Job, read: &std::result::Result<DeadLetters, String>) -> Seen {
    let (peeked, q) = match read {
        Ok(l) => l,
        Err(why) => return Seen::Unread(why.clone()),
    };
    let letter = peeked.iter().find(|p| {
        job_refs_of(&p.body, &p.id, p.job_id.as_deref())
            .iter()
            .any(|(k, u)| *k == j.key && *u == j.upload)
    });
    match (letter, partly_seen(q)) {
        (Some(p), _) => Seen::There(p.id.clone()),
        (None, Some(why)) => Seen::Partly(why),
        (None, None) => Seen::Absent,
    }
}

/// Why the job queue is not looked into, said where a job's message is not known.
const JOB_QUEUE_NOT_LOOKED: &str = "not looked for in the job queue: reading a message there means receiving it, which counts toward the receives after which SQS moves it to the dead-letter queue, and a message a worker holds is hidden from every receive";

/// Where the job `j` of `stage` is, from what its stage's dead-letter queue `dlq` showed
/// (`seen`) and, for a failed job not there, a redrive after its failure (`redriven`).
fn placed(
    stage: &Environment,
    j: &crate::jobs::table::Job,
    dlq: Option<&str>,
    seen: Seen,
    redriven: Option<String>,
) -> crate::jobs::Whereabouts {
    let mut w = crate::jobs::Whereabouts {
        dead_letter_queue: dlq.map(str::to_string),
        ..place(&j.upload, "unknown")
    };
    match seen {
        Seen::There(id) => {
            w.place = "dead_letter_queue";
            w.message = Some(id);
            w.redrive = Some(redrive_command(stage, &j.key));
        }
        Seen::Unread(why) => {
            w.why = Some(format!("the dead-letter queue could not be read ({why})"));
        }
        Seen::Partly(why) => {
            w.why = Some(format!(
                "not among the dead letters read ({why}); {JOB_QUEUE_NOT_LOOKED}"
            ));
        }
        Seen::Absent if j.state == "failed" => {
            w.place = "not_found";
            w.why = redriven;
        }
        Seen::Absent => {
            w.place = "not_looked";
            w.why = Some(match j.state.as_str() {
                "cancelled" => format!(
                    "{JOB_QUEUE_NOT_LOOKED}; a worker that receives a cancelled job's message deletes it unrun, so it may be gone already"
                ),
                _ => JOB_QUEUE_NOT_LOOKED.to_string(),
            });
        }
    }
    w
}

/// The command that sends the job `key`'s dead letter in `stage`'s dead-letter queue back to
/// its job queue, as a shell reads it back (`qfleet dlq shop --stage thumbs redrive --job
/// 'order 7 (rush)'`).
pub(crate) fn redrive_command(stage: &Environment, key: &str) -> String {
    format!(
        "qfleet dlq {} redrive {}",
        target(stage),
        crate::output::hint::option("--job", key)
    )
}

fn place(upload: &str, place: &'static str) -> crate::jobs::Whereabouts {
    crate::jobs::Whereabouts {
        upload: upload.to_string(),
        place,
        dead_letter_queue: None,
        message: None,
        redrive: None,
        why: None,
    }
}

/// A stage's dead-letter queue's messages, peeked, and its queues as read.
type DeadLetters = (Vec<Peeked>, Queues);

/// The dead-letter queue's messages, peeked (at most its depth, capped at [`MAX_READ`]), and its
/// queues, or why they could not be read.
async fn dead_letters_of(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
) -> std::result::Result<DeadLetters, String> {
    let q = locate(clients, env, at).await.map_err(|e| e.to_string())?;
    let max = (q.dead_letter.depth.total() as usize).clamp(10, MAX_READ);
    let peeked = aws::peek_letters(&clients.sqs, &q.dead_letter.url, max)
        .await
        .map_err(|e| e.to_string())?;
    Ok((peeked, q))
}

/// What a failed job's missing dead letter may mean when the dead-letter queue was redriven
/// after the job failed (`redriven`, ms; `failed`, RFC 3339): SQS's move task reports counts,
/// not which messages it moved, so it is said as likely, not as known.
fn redriven_after(redriven: Option<u64>, failed: Option<&str>) -> Option<String> {
    let failed_ms = aws_smithy_types::DateTime::from_str(
        failed?,
        aws_smithy_types::date_time::Format::DateTime,
    )
    .ok()?
    .to_millis()
    .ok()?;
    let at = redriven.filter(|&r| r as i64 >= failed_ms)?;
    Some(format!(
        "the dead-letter queue was redriven at {} (after the job failed): its message is likely back in the job queue and runs again at its next receive",
        rfc3339(at).unwrap_or_else(|| at.to_string())
    ))
}

/// One job's dead letter moved back (`dlq redrive --job`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub(crate) struct JobRedrive {
    /// The job asked for.
    pub job: String,
    /// The dead letter moved, and the id of the message sent to the job queue in its place.
    pub moved: String,
    pub sent: String,
    pub queue: String,
    /// Every job the message carries, and what its record says now (with `jobs:`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<LetterJob>,
    /// How the message was moved, said in words.
    pub note: String,
}

/// Moves the dead letter of the job `id` (an upload's key, with or without the upload prefix,
/// or the id of a job sent as a message) back to the job queue: received, sent, then deleted
/// (a duplicate is possible, a loss is not). With a job table, each job of the message whose
/// record said `failed` when it was read before the move is recorded `queued` again, unless a
/// worker changed it meanwhile. `None`: no dead letter of the job among the queue's messages.
pub(crate) async fn redrive_job(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    id: &str,
) -> Result<Option<JobRedrive>> {
    let q = locate(clients, env, at).await?;
    let wanted = [crate::jobs::stored_key(env, id), id.to_string()];
    // The records first: the write after the move is conditioned on what was read here.
    let table = match crate::jobs::has_table(env) {
        Ok(()) => Some(crate::jobs::table_name(clients, env, &q.data_stack).await?),
        Err(_) => None,
    };
    let mut before = Vec::new();
    if let Some(table) = &table {
        for key in wanted
            .iter()
            .filter(|k| !k.is_empty() && k.len() <= MAX_JOB_ID)
        {
            before.extend(crate::jobs::table::jobs_of(&clients.dynamodb, table, key).await?);
        }
    }
    let max = (q.dead_letter.depth.total() as usize).clamp(10, MAX_READ);
    let found = aws::move_one_letter(
        &clients.sqs,
        (&q.dead_letter.url, &q.queue.url),
        max,
        |p| {
            job_refs_of(&p.body, &p.id, p.job_id.as_deref())
                .iter()
                .any(|(k, _)| wanted.contains(k))
        },
        // A job known by its message id (sent as a message without a job_id) keeps that id
        // under the copy's new one.
        |p| {
            let known = (
                format!("sqs:{}", p.id),
                crate::jobs::MESSAGE_UPLOAD.to_string(),
            );
            job_refs_of(&p.body, &p.id, p.job_id.as_deref())
                .contains(&known)
                .then(|| (JOB_ID.to_string(), known.0))
        },
    )
    .await?;
    let Some(moved) = found else {
        // Not found is said only when every message could be looked at.
        return match partly_seen(&q) {
            Some(why) => Err(Error::aws(format!(
                "{}: job {id}'s dead letter is not among the messages read: {why}; nothing was moved",
                env.name
            ))),
            None => Ok(None),
        };
    };
    let mut jobs = Vec::new();
    let refs = job_refs_of(
        &moved.letter.body,
        &moved.letter.id,
        moved.letter.job_id.as_deref(),
    );
    let mut note = "received from the dead-letter queue, sent to the job queue, then deleted: a duplicate is possible, a loss is not".to_string();
    if let Some(w) = &moved.warning {
        note.push_str(&format!("; then {w}"));
    }
    let untagged = format!("sqs:{}", moved.letter.id);
    if let Some(table) = &table {
        for (key, upload) in refs {
            // A job known by its old message id whose copy could not carry it is a new job
            // under the copy's id: its old record is left as it is.
            if key == untagged && !moved.tagged {
                note.push_str(&format!(
                    "; the copy had no room for a job_id attribute, so it runs as job sqs:{}",
                    moved.sent_id
                ));
                continue;
            }
            let read = before.iter().find(|j| j.key == key && j.upload == upload);
            jobs.push(
                record_after_move(clients, env, table, (key, upload), read, &moved.sent_id).await,
            );
        }
    }
    Ok(Some(JobRedrive {
        job: id.to_string(),
        moved: moved.letter.id,
        sent: moved.sent_id,
        queue: q.queue.name.clone(),
        jobs,
        note,
    }))
}

/// The attribute a job sent as a message carries its id in (docs/jobs.md).
const JOB_ID: &str = qfleet_runtime::job_table::JOB_ID_ATTRIBUTE;

/// At most this many dead letters are read to find one.
const MAX_READ: usize = 1000;

/// Why a look through the dead-letter queue may not have seen every message: more than are
/// read, some held in flight (by another look or a worker), or a FIFO queue (which returns no
/// more of a group while one of its messages is in flight). `None`: every message was seen.
fn partly_seen(q: &Queues) -> Option<String> {
    let d = q.dead_letter.depth;
    if d.total() > MAX_READ as u64 {
        Some(format!(
            "it holds {}, and at most {MAX_READ} are read",
            d.total()
        ))
    } else if d.in_flight > 0 {
        Some(format!(
            "{} were in flight (held by another reader)",
            d.in_flight
        ))
    } else if q.dead_letter.name.ends_with(".fifo") {
        Some(
            "a FIFO queue shows one group's messages only as the ones before them are gone"
                .to_string(),
        )
    } else {
        None
    }
}

/// One job's record after its dead letter moved as `sent`: written `queued` when it said
/// `failed` before the move (on that `seq`), then read. What fails here is said in the result,
/// never instead of the move, which happened.
async fn record_after_move(
    clients: &Clients,
    env: &Environment,
    table: &str,
    (key, upload): (String, String),
    read: Option<&crate::jobs::table::Job>,
    sent: &str,
) -> LetterJob {
    let retention = env.spec.jobs.as_ref().map_or(30, |j| j.retention_days);
    let db = &clients.dynamodb;
    let mut error = None;
    if let Some(j) = read.filter(|j| j.state == "failed")
        && let Some(seq) = j.seq
        && let Err(e) = crate::jobs::table::redriven(
            db,
            table,
            (&key, &upload),
            seq,
            (SystemTime::now(), sent),
            retention,
        )
        .await
    {
        error = Some(format!("moved as {sent}; the record was not updated: {e}"));
    }
    match crate::jobs::table::job(db, table, &key, &upload).await {
        Ok(now) => LetterJob {
            state: now.as_ref().map(|j| j.state.clone()),
            error: error.or_else(|| now.and_then(|j| j.error)),
            key,
            upload,
        },
        Err(e) => {
            LetterJob {
                state: None,
                error: Some(error.unwrap_or_else(|| {
                    format!("moved as {sent}; the record could not be read: {e}")
                })),
                key,
                upload,
            }
        }
    }
}

/// Purges the dead-letter queue, only when `confirm` names exactly the messages it holds now
/// (visible, in flight and delayed): losing them is asked for by count, never implied.
pub(crate) async fn purge(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    confirm: Option<u64>,
) -> Result<u64> {
    let q = locate(clients, env, at).await?;
    let held = q.dead_letter.depth.total();
    match confirm {
        _ if held == 0 => Ok(0),
        Some(n) if n == held => {
            aws::purge_queue(&clients.sqs, &q.dead_letter.url).await?;
            Ok(held)
        }
        Some(n) => Err(crate::dlq::errors::Refusal::PurgeCountMismatch {
            env: env.name.clone(),
            queue: q.dead_letter.name.clone(),
            held,
            confirmed: n,
            target: target(env),
        }
        .into()),
        None => Err(crate::dlq::errors::Refusal::PurgeUnconfirmed {
            env: env.name.clone(),
            queue: q.dead_letter.name.clone(),
            held,
            target: target(env),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOBS_URL: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-wh-jobs";
    const DLQ_URL: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-wh-dlq";

    fn job(key: &str, state: &str) -> crate::jobs::table::Job {
        crate::jobs::table::Job {
            key: key.into(),
            upload: crate::jobs::MESSAGE_UPLOAD.into(),
            state: state.into(),
            stage: None,
            stage_index: Some(0),
            attempts: Some(1),
            seq: Some(3),
            worker: Some("i-0abc".into()),
            tenant: None,
            lane: None,
            uploaded_at: None,
            queued_at: None,
            received_at: None,
            finished_at: Some("2026-11-27T10:00:00.000Z".into()),
            output: None,
            error: None,
            duplicates: None,
            updated_at: None,
            expires_at: None,
            history: Vec::new(),
        }
    }

    /// Issue 85: `jobs ENV ID` looks before it says where a job's message is. It peeks the
    /// job's stage's dead-letter queue, whatever the record says, and finds there the dead
    /// letter of a job whose record says queued; it never receives from the job queue (a
    /// receive there counts toward the message's receives), so a job not in the dead-letter
    /// queue is `not_looked`, said with why, never "waiting in the job queue". A dead-letter
    /// queue that cannot be read is `unknown` for every job not done.
    #[tokio::test]
    async fn mocked_jobs_id_peeks_the_dead_letter_queue_and_never_receives_from_the_job_queue() {
        use aws_sdk_cloudformation::types as cfn;
        use aws_sdk_sqs::Client as Sqs;
        use aws_sdk_sqs::types::QueueAttributeName as A;
        use aws_smithy_mocks::mock;
        use std::sync::{Arc, Mutex};
        let env = crate::config::parse(
            "stacks/wh.yaml".into(),
            "region: eu-west-1\njobs: {}\nworkers: {min: 1, max: 2}\n".into(),
        )
        .unwrap()
        .into_only();
        let stacks = crate::aws::mock::describe_stacks(vec![(
            "qfleet-wh-data",
            Some((cfn::StackStatus::CreateComplete, false)),
        )]);
        let url = mock!(Sqs::get_queue_url).then_compute_output(|r| {
            let url = match r.queue_name() {
                Some("qfleet-wh-jobs") => JOBS_URL,
                _ => DLQ_URL,
            };
            aws_sdk_sqs::operation::get_queue_url::GetQueueUrlOutput::builder()
                .queue_url(url)
                .build()
        });
        let attrs = mock!(Sqs::get_queue_attributes).then_compute_output(|r| {
            let redrive = r#"{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:111122223333:qfleet-wh-dlq","maxReceiveCount":5}"#;
            match r.queue_url() {
                Some(JOBS_URL) => crate::aws::mock::queue_attributes(
                    3,
                    1,
                    0,
                    &[
                        (A::RedrivePolicy, redrive),
                        (A::QueueArn, "arn:aws:sqs:eu-west-1:111122223333:qfleet-wh-jobs"),
                    ],
                ),
                _ => crate::aws::mock::queue_attributes(
                    1,
                    0,
                    0,
                    &[(A::QueueArn, "arn:aws:sqs:eu-west-1:111122223333:qfleet-wh-dlq")],
                ),
            }
        });
        // Every receive, by queue: the dead letter once, then nothing (the peek reads on until
        // a receive returns none).
        let received: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = received.clone();
        let receive = mock!(Sqs::receive_message).then_compute_output(move |r| {
            let mut log = log.lock().unwrap();
            let url = r.queue_url().unwrap_or_default().to_string();
            let first = !log.contains(&url);
            log.push(url.clone());
            let mut out = aws_sdk_sqs::operation::receive_message::ReceiveMessageOutput::builder();
            if first && url == DLQ_URL {
                out = out.messages(
                    aws_sdk_sqs::types::Message::builder()
                        .message_id("dead-1")
                        .receipt_handle("h-1")
                        .body(r#"{"photo": 7}"#)
                        .message_attributes(
                            "job_id",
                            aws_sdk_sqs::types::MessageAttributeValue::builder()
                                .data_type("String")
                                .string_value("order 7 (rush)")
                                .build()
                                .unwrap(),
                        )
                        .build(),
                );
            }
            out.build()
        });
        let release = mock!(Sqs::change_message_visibility_batch).then_output(|| {
            aws_sdk_sqs::operation::change_message_visibility_batch::ChangeMessageVisibilityBatchOutput::builder()
                .set_successful(Some(Vec::new()))
                .set_failed(Some(Vec::new()))
                .build()
                .unwrap()
        });
        let moves = mock!(Sqs::list_message_move_tasks).then_output(|| {
            aws_sdk_sqs::operation::list_message_move_tasks::ListMessageMoveTasksOutput::builder()
                .build()
        });
        let rules = crate::aws::mock::Rules {
            cfn: vec![&stacks],
            sqs: vec![&url, &attrs, &receive, &release, &moves],
            ..Default::default()
        };
        let clients = rules.clients();
        let states = ["queued", "processing", "cancelled", "failed", "done"];
        let mut found = crate::jobs::Found {
            table: "t".into(),
            key: Some("order 7 (rush)".into()),
            looked_for: Vec::new(),
            other_states: 0,
            cancelled: None,
            whereabouts: Vec::new(),
            jobs: vec![
                job("order 7 (rush)", "queued"),
                job("p-1", "processing"),
                job("c-1", "cancelled"),
                job("f-1", "failed"),
                job("d-1", "done"),
            ],
            more: 0,
        };
        whereabouts(&clients, &env, &StackNames::own(), &mut found).await;
        let places: Vec<&str> = found.whereabouts.iter().map(|w| w.place).collect();
        assert_eq!(
            places,
            [
                "dead_letter_queue",
                "not_looked",
                "not_looked",
                "not_found",
                "none"
            ],
            "{states:?}"
        );
        let dead = &found.whereabouts[0];
        assert_eq!(dead.message.as_deref(), Some("dead-1"));
        assert_eq!(
            dead.redrive.as_deref(),
            Some("qfleet dlq wh redrive --job 'order 7 (rush)'")
        );
        assert_eq!(dead.dead_letter_queue.as_deref(), Some("qfleet-wh-dlq"));
        for w in &found.whereabouts[1..3] {
            let why = w.why.as_deref().unwrap_or_default();
            assert!(why.contains("not looked for in the job queue"), "{why}");
        }
        assert!(
            found.whereabouts[2]
                .why
                .as_deref()
                .is_some_and(|w| w.contains("deletes it unrun")),
            "a cancelled job's message may be gone"
        );
        let received = received.lock().unwrap().clone();
        assert!(
            !received.is_empty(),
            "the dead-letter queue was looked into"
        );
        assert!(
            received.iter().all(|u| u == DLQ_URL),
            "only the dead-letter queue is received from: {received:?}"
        );

        // The dead-letter queue cannot be read: where any job not done is, is unknown.
        let denied = mock!(Sqs::receive_message).then_error(|| {
            aws_sdk_sqs::operation::receive_message::ReceiveMessageError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("not allowed")
                    .build(),
            )
        });
        let rules = crate::aws::mock::Rules {
            cfn: vec![&stacks],
            sqs: vec![&url, &attrs, &denied, &release],
            ..Default::default()
        };
        whereabouts(&rules.clients(), &env, &StackNames::own(), &mut found).await;
        let places: Vec<&str> = found.whereabouts.iter().map(|w| w.place).collect();
        assert_eq!(places, ["unknown", "unknown", "unknown", "unknown", "none"]);
        assert!(
            found.whereabouts[0]
                .why
                .as_deref()
                .is_some_and(|w| w.contains("could not be read")),
            "{:?}",
            found.whereabouts[0]
        );
    }

    /// Issue 85: a redrive command runs as printed: the job id one shell word, a pipeline's
    /// stage named, an id that starts with `-` never a flag.
    #[test]
    fn the_redrive_command_is_shell_quoted_and_names_a_pipelines_stage() {
        let env = crate::config::parse(
            "stacks/pp.yaml".into(),
            "region: eu-west-1\nstages:\n  - name: photos\n    workers: {min: 1, max: 2}\n  - name: thumbs\n    workers: {min: 1, max: 2}\n".into(),
        )
        .unwrap()
        .into_only();
        let stages = env.stages();
        assert_eq!(
            redrive_command(stages[0], "order 7 (rush)"),
            "qfleet dlq pp --stage photos redrive --job 'order 7 (rush)'"
        );
        assert_eq!(
            redrive_command(stages[1], "-7"),
            "qfleet dlq pp --stage thumbs redrive --job=-7"
        );
        for (stage, id) in [(stages[0], "order 7 (rush)"), (stages[1], "-7")] {
            let text = format!("`{}` sends it back", redrive_command(stage, id));
            let parsed = crate::cli::printed::parse_all(&text);
            let crate::cli::Command::Dlq(a) = &parsed[0].command else {
                panic!("{text}");
            };
            assert!(
                matches!(&a.action, crate::commands::dlq::DlqAction::Redrive { job: Some(j), .. } if j == id),
                "{text}"
            );
        }
    }

    /// Issue 67: a dead letter names its job whichever way it came: an upload's event (its key
    /// and version), the message of a stage before (`qfleetJob`), a job sent as a message (its
    /// `job_id`, else `sqs:` and the message id), a body that is not JSON among them.
    #[test]
    fn a_dead_letter_names_its_job_for_every_way_in() {
        let s3 = r#"{"Records":[{"s3":{"bucket":{"name":"b"},"object":{"key":"uploads/a.jpg","versionId":"v1"}}}]}"#;
        assert_eq!(
            super::job_refs_of(s3, "m1", None),
            [("uploads/a.jpg".to_string(), "v1".to_string())]
        );
        let staged = r#"{"qfleetJob":{"key":"uploads/a.jpg","upload":"v1"}}"#;
        assert_eq!(
            super::job_refs_of(staged, "m2", Some("ignored")),
            [("uploads/a.jpg".to_string(), "v1".to_string())]
        );
        let job = crate::jobs::MESSAGE_UPLOAD.to_string();
        assert_eq!(
            super::job_refs_of(r#"{"photo": 42}"#, "m3", Some("order-7")),
            [("order-7".to_string(), job.clone())]
        );
        assert_eq!(
            super::job_refs_of("plain text", "m4", None),
            [("sqs:m4".to_string(), job)]
        );
        // What S3 and SNS send to set a subscription up is no job's.
        assert!(
            super::job_refs_of(
                r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#,
                "m5",
                None
            )
            .is_empty()
        );
        assert!(
            super::job_refs_of(r#"{"Type":"SubscriptionConfirmation"}"#, "m6", None).is_empty()
        );
    }

    /// SQS's move task says how many it moved, not which: a failed job's missing dead letter
    /// is said likely back in the queue only after a redrive that started after it failed.
    #[test]
    fn a_redrive_after_the_failure_is_said_as_likely_never_before_it() {
        let failed = Some("2026-11-27T10:00:00.000Z");
        let at = 1_795_773_600_000; // 2026-11-27T10:00:00Z
        assert!(
            redriven_after(Some(at + 1_000), failed).is_some_and(|w| w.contains("likely back"))
        );
        assert_eq!(redriven_after(Some(at - 1_000), failed), None);
        assert_eq!(redriven_after(None, failed), None);
        assert_eq!(redriven_after(Some(at + 1_000), Some("yesterday")), None);
        assert_eq!(redriven_after(Some(at + 1_000), None), None);
    }

    #[test]
    fn the_keys_of_raw_and_sns_wrapped_s3_events_are_decoded() {
        let raw = r#"{"Records":[{"s3":{"object":{"key":"uploads/a+b%2Bc.txt"}}}]}"#;
        assert_eq!(keys_of(raw), ["uploads/a b+c.txt"]);
        let wrapped = serde_json::json!({ "Type": "Notification", "Message": raw }).to_string();
        assert_eq!(keys_of(&wrapped), ["uploads/a b+c.txt"]);
        assert!(keys_of(r#"{"Event":"s3:TestEvent"}"#).is_empty());
        assert!(keys_of("not json").is_empty());
    }
}
