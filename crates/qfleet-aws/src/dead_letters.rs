//! The dead-letter queue's messages, read without consuming them, and SQS's message-move tasks
//! that send them back to the queue they came from (StartMessageMoveTask).

use super::Result;
use super::error::{AwsError, Kind};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, MessageSystemAttributeName};
// The attribute a job sent as a message carries its id in: the job protocol's (docs/jobs.md).
use qfleet_runtime::job_table::JOB_ID_ATTRIBUTE;
use serde::Serialize;

/// How long a peeked message stays hidden before it is released (made visible again at once,
/// explicitly); the bound if a release is lost.
const PEEK_HOLD_SECONDS: i32 = 30;

/// One message, as a peek saw it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Peeked {
    pub id: String,
    pub body: String,
    /// ApproximateReceiveCount after this peek (which counts as a receive).
    pub receive_count: Option<u64>,
    /// When the message was sent (ms since the epoch), and first received.
    pub sent_ms: Option<u64>,
    pub first_receive_ms: Option<u64>,
    /// A job sent as a message: the id its sender gave it (the `job_id` attribute,
    /// docs/jobs.md), when it has one.
    pub job_id: Option<String>,
}

/// Up to `max` messages of the queue, without consuming them: each is received (hidden for at
/// most 30 s) and made visible again at once with a zero visibility change. A receive counts
/// toward ApproximateReceiveCount; no message is deleted.
pub async fn peek(sqs: &Client, url: &str, max: usize) -> Result<Vec<Peeked>> {
    peek_as(sqs, url, max, "reading the dead-letter queue's messages").await
}

/// [`peek`] on any queue, `what` naming the read in errors. The messages are held for at most
/// 30 s and released explicitly with ChangeMessageVisibility 0 ("The minimum is 0 seconds":
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html>).
async fn peek_as(sqs: &Client, url: &str, max: usize, what: &str) -> Result<Vec<Peeked>> {
    let mut seen: Vec<Peeked> = Vec::new();
    let mut handles: Vec<String> = Vec::new();
    let mut outcome = Ok(());
    while seen.len() < max {
        let out = match sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages((max - seen.len()).min(10) as i32)
            .visibility_timeout(PEEK_HOLD_SECONDS)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names(JOB_ID_ATTRIBUTE)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                outcome = Err(AwsError::from_sdk(what, e));
                break;
            }
        };
        if out.messages().is_empty() {
            break;
        }
        for m in out.messages() {
            let (Some(id), Some(handle)) = (m.message_id(), m.receipt_handle()) else {
                outcome = Err(AwsError::with_kind(
                    format!("{what}: a message without its id or receipt handle"),
                    Kind::Malformed,
                ));
                break;
            };
            handles.push(handle.to_string());
            if seen.iter().any(|p| p.id == id) {
                continue;
            }
            seen.push(peeked_of(m, id));
        }
        if outcome.is_err() {
            break;
        }
    }
    // Whatever happened, what was received is released.
    let released = release(sqs, url, &handles).await;
    outcome?;
    released?;
    Ok(seen)
}

/// What a [`look`] found: whether a message matched, and the id of the one it deleted.
#[derive(Debug, Default)]
pub struct Looked {
    pub seen: bool,
    pub taken: Option<String>,
}

/// Looks into a queue that workers consume for a message whose body `matches`: one receive of
/// up to 10 messages (long polling up to `wait` s), held for at most 30 s and released at once
/// with ChangeMessageVisibility 0, except the first match when `take` says it may go: that one
/// is deleted with the receipt handle of this receive, which is the latest while it is held ("you
/// must provide the most recently received ReceiptHandle for the message (otherwise, the request
/// succeeds, but the message will not be deleted)":
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html>).
/// Counts as one receive of each message returned, toward the queue's maxReceiveCount.
pub async fn look(
    sqs: &Client,
    url: &str,
    wait: i32,
    matches: impl Fn(&str) -> bool,
    take: impl Fn(&str) -> bool,
) -> Result<Looked> {
    let what = "looking into the job queue";
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(PEEK_HOLD_SECONDS)
        .wait_time_seconds(wait)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(what, e))?;
    let mut found = Looked::default();
    let mut release_these = Vec::new();
    let mut delete_this = None;
    for m in out.messages() {
        let Some(handle) = m.receipt_handle() else {
            continue;
        };
        let body = m.body().unwrap_or_default();
        if !found.seen && matches(body) {
            found.seen = true;
            if take(body)
                && let Some(id) = m.message_id()
            {
                delete_this = Some((id.to_string(), handle.to_string()));
                continue;
            }
        }
        release_these.push(handle.to_string());
    }
    let deleted = match delete_this {
        Some((id, handle)) => sqs
            .delete_message()
            .queue_url(url)
            .receipt_handle(handle)
            .send()
            .await
            .map(|_| Some(id))
            .map_err(|e| AwsError::from_sdk(what, e)),
        None => Ok(None),
    };
    release(sqs, url, &release_these).await?;
    found.taken = deleted?;
    Ok(found)
}

/// What [`move_one`] moved: the dead letter, and the id of the copy sent to the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct MovedOne {
    pub letter: Peeked,
    pub sent_id: String,
    /// Whether the copy carries the attribute the caller asked to add (`tag`).
    pub tagged: bool,
    /// What went wrong after the move, which did not undo it (the other messages' release).
    pub warning: Option<String>,
}

/// SQS takes at most 10 message attributes a message ("A message can have up to 10
/// metadata attributes":
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html>).
const MAX_ATTRIBUTES: usize = 10;

/// Moves the first message of the dead-letter queue at `from` that `matches` back to the queue
/// at `to`: received (with every attribute), sent to `to` with the same body and message
/// attributes, then deleted from `from` with the receipt handle of that receive. A send that
/// fails leaves the message where it was; a delete that fails after the send leaves it in both
/// queues (a duplicate, never a loss), and says so. Every other message received while looking
/// (at most `max`) is released at once. `None`: no message matched among those SQS returned.
///
/// A FIFO queue takes a message only with its group id ("MessageGroupId ... required for FIFO
/// queues") and, without content-based deduplication, a deduplication id:
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>.
/// The copy keeps the dead letter's group; its deduplication id is the dead letter's id and the
/// receive's count (see `send_copy`).
///
/// `tag` names a string attribute the copy carries if the letter lacks it (and has room for
/// it): a job known by its message id keeps its identity under the copy's new id.
pub async fn move_one(
    sqs: &Client,
    (from, to): (&str, &str),
    max: usize,
    matches: impl Fn(&Peeked) -> bool,
    tag: impl Fn(&Peeked) -> Option<(String, String)>,
) -> Result<Option<MovedOne>> {
    let what = "moving a dead letter back to its queue";
    let mut handles: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut found = None;
    let mut outcome = Ok(());
    while found.is_none() && seen.len() < max {
        let out = match sqs
            .receive_message()
            .queue_url(from)
            .max_number_of_messages((max - seen.len()).min(10) as i32)
            .visibility_timeout(PEEK_HOLD_SECONDS)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                outcome = Err(AwsError::from_sdk(what, e));
                break;
            }
        };
        let fresh: Vec<_> = out
            .messages()
            .iter()
            .filter(|m| {
                m.message_id()
                    .is_some_and(|id| !seen.iter().any(|s| s == id))
            })
            .collect();
        if fresh.is_empty() {
            break;
        }
        for m in out.messages() {
            let (Some(id), Some(handle)) = (m.message_id(), m.receipt_handle()) else {
                continue;
            };
            if seen.iter().any(|s| s == id) {
                handles.push(handle.to_string());
                continue;
            }
            seen.push(id.to_string());
            let letter = peeked_of(m, id);
            if found.is_none() && matches(&letter) {
                found = Some((letter, handle.to_string(), m.clone()));
            } else {
                handles.push(handle.to_string());
            }
        }
    }
    let moved = match (&outcome, found) {
        (Ok(()), Some((letter, handle, m))) => {
            let extra = tag(&letter);
            match send_copy(sqs, to, &letter, &m, extra.as_ref()).await {
                // Not sent: the letter is released with the others, where it was.
                Err(e) => {
                    handles.push(handle);
                    Err(e)
                }
                Ok((sent_id, tagged)) => delete_letter(sqs, from, &letter, &handle, &sent_id)
                    .await
                    .map(|()| {
                        Some(MovedOne {
                            letter,
                            sent_id,
                            tagged,
                            warning: None,
                        })
                    }),
            }
        }
        (Ok(()), None) => Ok(None),
        (Err(_), Some((_, handle, _))) => {
            handles.push(handle);
            Ok(None)
        }
        (Err(_), None) => Ok(None),
    };
    let released = release(sqs, from, &handles).await;
    outcome?;
    let mut moved = moved?;
    // A release that fails after a move does not undo it: said beside it, not instead.
    match (&mut moved, released) {
        (_, Ok(())) => {}
        (Some(m), Err(e)) => m.warning = Some(e.to_string()),
        (None, Err(e)) => return Err(e),
    }
    Ok(moved)
}

/// A received message as a peek reports it.
fn peeked_of(m: &aws_sdk_sqs::types::Message, id: &str) -> Peeked {
    let number = |a: MessageSystemAttributeName| {
        m.attributes()
            .and_then(|attrs| attrs.get(&a))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Peeked {
        id: id.to_string(),
        body: m.body().unwrap_or_default().to_string(),
        receive_count: number(MessageSystemAttributeName::ApproximateReceiveCount),
        sent_ms: number(MessageSystemAttributeName::SentTimestamp),
        first_receive_ms: number(MessageSystemAttributeName::ApproximateFirstReceiveTimestamp),
        job_id: m
            .message_attributes()
            .and_then(|a| a.get(JOB_ID_ATTRIBUTE))
            .and_then(|v| v.string_value())
            .map(str::to_string),
    }
}

/// Sends a copy of the dead letter `m` to `to` (with `extra`, a string attribute it lacks,
/// when it has room): the copy's id, and whether it carries `extra`.
async fn send_copy(
    sqs: &Client,
    to: &str,
    letter: &Peeked,
    m: &aws_sdk_sqs::types::Message,
    extra: Option<&(String, String)>,
) -> Result<(String, bool)> {
    let mut attributes = m.message_attributes().cloned().unwrap_or_default();
    let mut tagged = false;
    if let Some((name, value)) = extra
        && !attributes.contains_key(name)
        && attributes.len() < MAX_ATTRIBUTES
    {
        let v = aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| AwsError::new(format!("moving dead letter {}: {e}", letter.id)))?;
        attributes.insert(name.clone(), v);
        tagged = true;
    }
    let mut send = sqs
        .send_message()
        .queue_url(to)
        .message_body(&letter.body)
        .set_message_attributes((!attributes.is_empty()).then_some(attributes));
    // The group goes with the copy on any queue: a FIFO queue needs it, a standard queue's
    // fair queues use it ("MessageGroupId ... applies to fair queues" for standard queues,
    // the SendMessage page).
    let group = m
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
        .cloned();
    if let Some(g) = &group {
        send = send.message_group_id(g);
    }
    if to.ends_with(".fifo") {
        if group.is_none() {
            return Err(AwsError::new(format!(
                "moving dead letter {} back: it has no message group id, which its FIFO queue needs",
                letter.id
            )));
        }
        // The letter's id and this receive's count: a retry of the same move (this receive
        // again) is dropped by SQS as a duplicate, while a later move of the letter (a delete
        // that failed left it) is a receive of its own and is never dropped unseen.
        let dedup = format!("{}-{}", letter.id, letter.receive_count.unwrap_or_default());
        send = send.message_deduplication_id(dedup.chars().take(128).collect::<String>());
    }
    let sent = send
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("sending a dead letter back to its queue", e))?;
    let sent_id = sent.message_id().unwrap_or_default().to_string();
    Ok((sent_id, tagged))
}

/// Deletes the dead letter sent back as `sent_id`, with the receipt handle of its receive.
async fn delete_letter(
    sqs: &Client,
    from: &str,
    letter: &Peeked,
    handle: &str,
    sent_id: &str,
) -> Result<()> {
    sqs.delete_message()
        .queue_url(from)
        .receipt_handle(handle)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            AwsError::new(format!(
                "dead letter {} was sent back (as {sent_id}) but could not be deleted from the dead-letter queue: it is in both queues, and a worker may run it twice ({})",
                letter.id,
                AwsError::from_sdk("deleting the dead letter", e)
            ))
        })
}

/// Makes the received messages visible again at once (visibility timeout 0).
async fn release(sqs: &Client, url: &str, handles: &[String]) -> Result<()> {
    for (n, chunk) in handles.chunks(10).enumerate() {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, h)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(format!("m{n}-{i}"))
                    .receipt_handle(h)
                    .visibility_timeout(0)
                    .build()
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| AwsError::new(format!("releasing peeked messages: {e}")))?;
        let out = sqs
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("releasing peeked messages", e))?;
        if !out.failed().is_empty() {
            return Err(AwsError::new(format!(
                "releasing peeked messages: {} could not be made visible again at once (they will be after {PEEK_HOLD_SECONDS} s)",
                out.failed().len()
            )));
        }
    }
    Ok(())
}

/// A message-move task, as ListMessageMoveTasks reports it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MoveTask {
    pub handle: Option<String>,
    /// RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED.
    pub status: String,
    pub moved: u64,
    pub to_move: Option<u64>,
    pub failure_reason: Option<String>,
}

impl MoveTask {
    pub fn running(&self) -> bool {
        matches!(self.status.as_str(), "RUNNING" | "CANCELLING")
    }
}

/// The most recent message-move task from `source_arn` (`None`: there has been none).
pub async fn latest_move(sqs: &Client, source_arn: &str) -> Result<Option<MoveTask>> {
    let out = sqs
        .list_message_move_tasks()
        .source_arn(source_arn)
        .max_results(1)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("reading the dead-letter queue's move tasks", e))?;
    Ok(out.results().first().map(|t| MoveTask {
        handle: t.task_handle().map(str::to_string),
        status: t.status().unwrap_or("UNKNOWN").to_string(),
        moved: t.approximate_number_of_messages_moved().max(0) as u64,
        to_move: t
            .approximate_number_of_messages_to_move()
            .map(|n| n.max(0) as u64),
        failure_reason: t.failure_reason().map(str::to_string),
    }))
}

/// When the most recent message-move task from `source_arn` started (ms), for a hint: asked
/// twice at most, not with the whole retry budget (a read that fails is said, not waited on).
pub async fn latest_move_started(sqs: &Client, source_arn: &str) -> Result<Option<u64>> {
    let quick = aws_sdk_sqs::config::Builder::default()
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2));
    let out = sqs
        .list_message_move_tasks()
        .source_arn(source_arn)
        .max_results(1)
        .customize()
        .config_override(quick)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("reading the dead-letter queue's move tasks", e))?;
    Ok(out
        .results()
        .first()
        .and_then(|t| u64::try_from(t.started_timestamp()).ok())
        .filter(|&ms| ms > 0))
}

/// Starts moving every message of `source_arn` to `destination_arn` at most `rate` a second
/// (None: as fast as SQS goes); returns the task's handle.
pub async fn start_move(
    sqs: &Client,
    source_arn: &str,
    destination_arn: &str,
    rate: Option<i32>,
) -> Result<String> {
    let out = sqs
        .start_message_move_task()
        .source_arn(source_arn)
        .destination_arn(destination_arn)
        .set_max_number_of_messages_per_second(rate)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("starting the redrive", e))?;
    out.task_handle().map(str::to_string).ok_or_else(|| {
        AwsError::with_kind(
            "starting the redrive: the answer has no task handle",
            Kind::Malformed,
        )
    })
}

/// Cancels a running message-move task (the messages moved so far stay moved).
pub async fn cancel_move(sqs: &Client, handle: &str) -> Result<()> {
    sqs.cancel_message_move_task()
        .task_handle(handle)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk("cancelling the redrive", e))
}

/// Deletes every message of the queue (PurgeQueue).
pub async fn purge(sqs: &Client, url: &str) -> Result<()> {
    sqs.purge_queue()
        .queue_url(url)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk("purging the dead-letter queue", e))
}
