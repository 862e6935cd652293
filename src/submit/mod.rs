//! `qfleet submit`: one job sent as a message to an environment's job queue, as a producer's
//! own SDK call sends it (docs/jobs.md, "Jobs sent as messages"): its id in the `job_id`
//! message attribute. With `jobs:` the job is recorded `queued` before it is sent, a job id
//! already done is a duplicate (nothing is sent), and `--wait` follows the job's record (never
//! the response queue, which is the application's) to its end.

pub(crate) mod errors;
mod lines;
mod report;

pub(crate) use lines::{Lines, backfill};
#[cfg(test)]
pub(crate) use report::schema;
pub(crate) use report::{Backfilled, Submitted};

use crate::aws;
use crate::aws::Clients;
use crate::aws::ErrorKind as Kind;
use crate::config::Environment;
use crate::error::{Error, Result, Usage};
use crate::jobs::table::Job;
use crate::placement::StackNames;
use crate::render::ResourceNames;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// The message attribute that carries a job's id (the workers read it: docs/jobs.md).
pub(crate) use qfleet_runtime::job_table::JOB_ID_ATTRIBUTE;
/// The `upload` of a job sent as a message in the job table.
const MESSAGE_UPLOAD: &str = crate::jobs::MESSAGE_UPLOAD;
/// A job id's length in bytes (the workers check the same).
const JOB_ID_MAX: usize = 1024;
/// "A message can have up to 10 metadata attributes" (Amazon SQS message attributes,
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html>):
/// `job_id` is one of them.
const ATTRIBUTES_MAX: usize = 10;
/// The queue's maximum message size when it cannot be read: SQS's default before it was raised
/// to 1 MiB (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html>),
/// so that a body the queue would refuse is never sent on a guess.
const SIZE_UNREAD: u64 = 262_144;
/// The largest body stored in the bucket: the Amazon SQS Extended Client Library's, whose
/// stored bodies the workers read ("payloads between 256 KB and 2 GB",
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-managing-large-messages.html>).
const STORED_BODY_MAX: u64 = 2 * 1024 * 1024 * 1024;
/// A stored body's pointer, as the Extended Client Library writes it (its body is
/// `[POINTER_CLASS, {"s3BucketName": …, "s3Key": …}]`, with the body's size in the
/// [`aws::EXTENDED_PAYLOAD_SIZE`] attribute).
const POINTER_CLASS: &str = "software.amazon.payloadoffloading.PayloadS3Pointer";

/// One job to send, checked before anything is sent.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub body: String,
    /// The job's id: given with `--id`, else a new UUID.
    pub id: String,
    /// The user's message attributes (`--attribute K=V`), in the order given.
    pub attributes: Vec<(String, String)>,
    /// `--wait`: how long to follow the job's record.
    pub wait: Option<Duration>,
    /// `--resend`: send a job whose record still says `queued`.
    pub resend: bool,
    /// `--group`: the message group, a tenant of SQS's fair queues on a standard queue.
    pub group: Option<String>,
    /// `--priority`: sent to the stage's priority lane (`queue.priority`).
    pub priority: bool,
}

impl Request {
    /// The request the flags make: the body from `BODY` or `--file`, the id, the attributes;
    /// refused (exit 2) when the id or an attribute is not one SQS and the workers take, or
    /// `--wait` has no job table to follow.
    pub(crate) fn new(
        env: &Environment,
        body: Option<String>,
        file: Option<&Path>,
        id: Option<String>,
        attributes: &[String],
        wait: Option<Duration>,
        resend: bool,
    ) -> Result<Request> {
        let body = match (body, file) {
            (Some(b), None) => b,
            (None, Some(p)) => std::fs::read_to_string(p).map_err(|source| {
                crate::jobs::errors::Usage::JobUnreadable {
                    path: p.to_path_buf(),
                    source,
                }
            })?,
            _ => {
                return Err(Usage::FlagValue {
                    flag: "BODY",
                    value: String::new(),
                    why: "give the job's body as BODY or with --file F (one of them)".into(),
                }
                .into());
            }
        };
        if let Some((value, why)) = body_problem(&body) {
            return Err(flag("BODY", &value, &why));
        }
        let id = match id {
            Some(id) => match id_problem(&id) {
                Some(why) => return Err(flag("--id", &id, &why)),
                None => id,
            },
            None => new_id(),
        };
        let mut parsed: Vec<(String, String)> = Vec::new();
        for a in attributes {
            let (k, v) = attribute(a)?;
            if parsed.iter().any(|(have, _)| *have == k) {
                return Err(flag("--attribute", a, "each name once"));
            }
            parsed.push((k, v));
        }
        if parsed.len() >= ATTRIBUTES_MAX {
            return Err(flag(
                "--attribute",
                &parsed.len().to_string(),
                &format!(
                    "at most {} attributes: SQS takes {ATTRIBUTES_MAX} a message, and job_id is one",
                    ATTRIBUTES_MAX - 1
                ),
            ));
        }
        if wait.is_some() && env.spec.jobs.is_none() {
            return Err(flag(
                "--wait",
                "",
                &format!(
                    "it follows the job's record, and {} keeps none: set `jobs:` in its stack file",
                    env.name
                ),
            ));
        }
        Ok(Request {
            body,
            id,
            attributes: parsed,
            wait,
            resend,
            group: None,
            priority: false,
        })
    }

    /// The request with `--group`: on a standard queue, the tenant that SQS's fair queues
    /// keep apart ("In standard queues, using MessageGroupId enables fair queues"; its
    /// length "is 128 characters. Valid values: alphanumeric characters and punctuation",
    /// Amazon SQS message quotas,
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html>).
    /// `--priority`: to the stage's priority lane, refused where `stage` has none.
    pub(crate) fn with_priority(mut self, stage: &Environment, priority: bool) -> Result<Request> {
        if priority && stage.spec.queue.priority.is_none() {
            let which = match stage.pipeline_stage() {
                Some(s) => format!("stage {} of {}", s.name, stage.name),
                None => stage.name.clone(),
            };
            return Err(flag(
                "--priority",
                "",
                &format!(
                    "{which} has no priority lane: add queue.priority to its queue settings and deploy (docs/workers.md, \"Priority lanes\")"
                ),
            ));
        }
        self.priority = priority;
        Ok(self)
    }

    pub(crate) fn with_group(mut self, group: Option<String>) -> Result<Request> {
        if let Some(g) = &group {
            let ok = (1..=128).contains(&g.len())
                && g.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation());
            if !ok {
                return Err(flag(
                    "--group",
                    g,
                    "a message group is 1 to 128 letters, digits and punctuation",
                ));
            }
        }
        self.group = group;
        Ok(self)
    }

    /// The request with its tenant as its group when it has no `--group` and its stage reads
    /// one (`queue.tenant`, docs/workers.md, "Fair shares"): from its attributes or its JSON
    /// body. A job the rule finds no tenant in is refused with why (a job without its group
    /// would quietly lose its share). A rule that reads an upload's key reads nothing in a job
    /// sent as a message, which has no key: that job goes as it is, in no group, unless
    /// `--group` names one.
    pub(crate) fn with_tenant(self, rule: Option<&crate::config::TenantSpec>) -> Result<Request> {
        self.tenant_or_why(rule)
            .map_err(|why| flag("--group", "", &why))
    }

    /// [`Request::with_tenant`], refused with why alone (a line of `--lines` says its line).
    pub(crate) fn tenant_or_why(
        mut self,
        rule: Option<&crate::config::TenantSpec>,
    ) -> std::result::Result<Request, String> {
        let Some(rule) = rule.filter(|r| self.group.is_none() && r.key_segment.is_none()) else {
            return Ok(self);
        };
        match rule.of_message(&self.body, &self.attributes) {
            Some(t) => {
                self.group = Some(crate::config::tenant_group(&t));
                Ok(self)
            }
            None => Err(format!(
                "queue.tenant reads the tenant from {}, and this job has none: {}, or give it with --group G",
                rule.describe(),
                match (&rule.attribute, &rule.json) {
                    (Some(a), _) => format!("add --attribute {a}=TENANT"),
                    (_, Some(p)) => format!("give the body a string or number at {p}"),
                    _ => "name it".to_string(),
                }
            )),
        }
    }

    /// The bytes SQS counts for the message: the body, and each attribute's name, type and
    /// value ("the message size includes ... message attributes").
    fn size(&self) -> u64 {
        let attribute = |k: &str, v: &str| (k.len() + "String".len() + v.len()) as u64;
        self.body.len() as u64
            + attribute(JOB_ID_ATTRIBUTE, &self.id)
            + self
                .attributes
                .iter()
                .map(|(k, v)| attribute(k, v))
                .sum::<u64>()
    }
}

/// Why SQS or the workers would not take `body` as a job's message: the value to show, and why.
fn body_problem(body: &str) -> Option<(String, String)> {
    if body.is_empty() {
        return Some((
            String::new(),
            "a message body must not be empty (SQS refuses one)".into(),
        ));
    }
    if let Some(c) = body.chars().find(|c| !sqs_character(*c)) {
        return Some((
            format!("(U+{:04X})", c as u32),
            "SQS takes only tab, newline, carriage return and Unicode from U+0020 (its character set)".into(),
        ));
    }
    not_a_message(body).map(|what| {
        (
            String::new(),
            format!(
                "it reads as {what}, which the workers handle as such, not as a job: wrap it in an object of your own"
            ),
        )
    })
}

/// Why `id` cannot be a job's id.
fn id_problem(id: &str) -> Option<String> {
    (id.is_empty() || id.len() > JOB_ID_MAX).then(|| format!("a job id is 1 to {JOB_ID_MAX} bytes"))
}

/// Whether the job queue is FIFO (`queue.fifo`). "`MessageGroupId` is required for FIFO
/// queues" (Amazon SQS message quotas,
/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html),
/// so a job without `--group` is refused before anything is recorded or sent.
pub(super) fn fifo_queue(first: &Environment, request: &Request) -> Result<bool> {
    if !first.spec.queue.fifo {
        return Ok(false);
    }
    if request.group.is_none() {
        return Err(flag(
            "--group",
            "",
            "the job queue is FIFO (queue.fifo): name the job's message group with --group G; the jobs of one group run one at a time, in the order sent",
        ));
    }
    Ok(true)
}

/// A FIFO message's deduplication id for job `id` as its record stands at `seq` (`None`
/// without a job table). SQS accepts a message whose id it saw in the last 5 minutes "but
/// [it isn't] delivered" (SendMessage, MessageDeduplicationId,
/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html):
/// a `--resend` of the same record adds no copy, and a failed job queued again (a greater
/// `seq`) is a new message. An id SQS does not take ("alphanumeric characters and
/// punctuation", at most 128 characters, the quotas page) goes as its SHA-256.
pub(super) fn deduplication_id(id: &str, seq: Option<u64>) -> String {
    let id = match seq {
        Some(seq) => format!("{id}#{seq}"),
        None => id.to_string(),
    };
    let fits = id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic());
    if fits {
        id
    } else {
        use sha2::Digest as _;
        sha2::Sha256::digest(id.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn flag(flag: &'static str, value: &str, why: &str) -> Error {
    Usage::FlagValue {
        flag,
        value: value.to_string(),
        why: why.to_string(),
    }
    .into()
}

/// `K=V`: a message attribute of the user's. SQS: a name of at most 256 characters of
/// letters, digits, `_`, `-` and `.`, not starting with `AWS.` or `Amazon.`; `job_id` and names
/// starting `qfleet_` are qfleet's.
fn attribute(text: &str) -> Result<(String, String)> {
    let Some((k, v)) = text.split_once('=') else {
        return Err(flag("--attribute", text, "give it as NAME=VALUE"));
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
    let lower = k.to_ascii_lowercase();
    if k.is_empty()
        || k.len() > 256
        || !k.chars().all(allowed)
        || k.starts_with('.')
        || k.ends_with('.')
        || k.contains("..")
    {
        return Err(flag(
            "--attribute",
            text,
            "a name is 1 to 256 letters, digits, `_`, `-` or `.`, with no `.` first, last or twice in a row",
        ));
    }
    if lower.starts_with("aws.") || lower.starts_with("amazon.") {
        return Err(flag(
            "--attribute",
            text,
            "names starting AWS. or Amazon. are SQS's",
        ));
    }
    if k == JOB_ID_ATTRIBUTE || lower.starts_with("qfleet_") {
        return Err(flag(
            "--attribute",
            text,
            "job_id and names starting qfleet_ are qfleet's (give the id with --id)",
        ));
    }
    if v.is_empty() || !v.chars().all(sqs_character) {
        return Err(flag(
            "--attribute",
            text,
            "a value is not empty and holds only characters SQS takes",
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

/// A character SQS takes in a body or a string attribute: `#x9 | #xA | #xD | #x20 to #xD7FF |
/// #xE000 to #xFFFD | #x10000 to #x10FFFF` ("Amazon SQS message quotas",
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html>).
/// A Rust `char` is never a surrogate, so U+D800 to U+DFFF need no test.
fn sqs_character(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// What the workers take a body for when it is not a job sent as a message (their `classify`,
/// crates/qfleet-runtime/python/qfleet_shared.py): an S3 event (raw or in an SNS envelope),
/// S3's test event, or an SNS confirmation.
fn not_a_message(body: &str) -> Option<&'static str> {
    let mut d: serde_json::Value = serde_json::from_str(body).ok()?;
    let kind = d.get("Type").and_then(|t| t.as_str()).unwrap_or_default();
    if matches!(kind, "SubscriptionConfirmation" | "UnsubscribeConfirmation") {
        return Some("an SNS subscription confirmation");
    }
    if kind == "Notification"
        && let Some(inner) = d.get("Message").and_then(|m| m.as_str())
    {
        d = serde_json::from_str(inner).ok()?;
    }
    if d.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Some("S3's test event");
    }
    let records = d.get("Records").and_then(|r| r.as_array())?;
    let s3 =
        |r: &serde_json::Value| r.get("eventSource").and_then(|e| e.as_str()) == Some("aws:s3");
    (!records.is_empty() && records.iter().all(s3)).then_some("an S3 event")
}

/// A new job id: a random UUID (version 4).
fn new_id() -> String {
    let (a, b) = (fastrand::u64(..), fastrand::u64(..));
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x4000; // version 4
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000; // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// What became of the submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// Sent to the job queue.
    Sent,
    /// Sent again: the job's record says it failed (a resubmission runs it again).
    Resubmitted,
    /// Not sent: the job id is done already.
    Duplicate,
    /// Not sent: the job id is queued or being processed already.
    InFlight,
}

/// A submission: the job, its message and, with `--wait` or a job not sent, its record.
#[derive(Debug, Clone)]
pub(crate) struct Submission {
    pub queue: String,
    pub id: String,
    pub outcome: Outcome,
    pub message_id: Option<String>,
    /// The job's record as last read (`None` without `jobs:`).
    pub job: Option<Job>,
    /// `--wait` ended before the job did.
    pub timed_out: bool,
    /// `--wait` could not read the job's record (what was sent stands).
    pub wait_error: Option<String>,
    /// `--wait` was stopped by a signal (Ctrl-C): the job goes on without it.
    pub interrupted: bool,
    /// Where the body went when it was over the queue's limit (`s3://BUCKET/bodies/ID`).
    pub stored_body: Option<String>,
}

/// The stage of `env` a job is sent to: the first, or the one `--stage` names, which must take
/// producers' messages (`sources.messages`): a later stage's queue is fed by the stage before,
/// and its producers' grant is there only with `sources.messages` (docs/sources.md).
pub(crate) fn stage_of<'a>(env: &'a Environment, name: Option<&str>) -> Result<&'a Environment> {
    let Some(name) = name else {
        return Ok(env.stages()[0]);
    };
    let stage = crate::session::chosen_stages(env, Some(name))?[0];
    let later = stage.stage.as_ref().is_some_and(|s| s.index > 0);
    if later && stage.spec.sources.messages.is_none() {
        return Err(Usage::FlagValue {
            flag: "--stage",
            value: name.to_string(),
            why: format!(
                "stage {name} of {} takes its jobs from the stage before it only: declare sources.messages in it to send it jobs",
                env.name
            ),
        }
        .into());
    }
    Ok(stage)
}

/// The `lane` attribute of a job sent to a priority lane (`queue.priority`), as the workers
/// write it (qfleet_jobs.py).
pub(crate) const PRIORITY_LANE: &str = "priority";

/// `env`'s job queue (its first stage's), or with `priority` its priority lane: its names
/// (`queue` the one sent to), its URL, and the largest message it takes (the queue's
/// MaximumMessageSize, or [`SIZE_UNREAD`] when that cannot be read).
async fn job_queue(
    clients: &Clients,
    env: &Environment,
    priority: bool,
) -> Result<(ResourceNames, String, u64)> {
    let mut names = ResourceNames::of(env.stages()[0]);
    if priority {
        names.queue = names.priority_queue.clone();
    }
    let url = aws::queue_url(&clients.sqs, &names.queue)
        .await?
        .ok_or_else(|| {
            Error::aws(format!(
                "{}: queue {} does not exist; is the environment deployed{}?",
                env.name,
                names.queue,
                if priority { " with queue.priority" } else { "" }
            ))
        })?;
    let limit = aws::describe_queue(&clients.sqs, &url)
        .await?
        .and_then(|q| q.attributes.get("MaximumMessageSize")?.parse().ok())
        .unwrap_or(SIZE_UNREAD);
    Ok((names, url, limit))
}

/// The job table's name with `jobs:` (the data stack checked first), else `None`.
async fn job_table_of(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
) -> Result<Option<String>> {
    match env.spec.jobs {
        Some(_) => {
            let data =
                crate::placement::check_data_stack(&clients.cfn, &clients.sts, env, at).await?;
            Ok(Some(crate::jobs::table_name(clients, env, &data).await?))
        }
        None => Ok(None),
    }
}

/// Sends `request` to `env`'s job queue (its first stage's), recording it first with `jobs:`,
/// and with `--wait` follows its record to `done` or `failed` (a job queued or in flight
/// already too). A signal (Ctrl-C) before SQS answered the send is an interruption that says
/// the message may be out; during the wait it ends the wait, never the job, and the
/// submission says it was sent.
pub(crate) async fn submit(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    request: &Request,
) -> Result<Submission> {
    let (mut submission, table) = tokio::select! {
        biased;
        sent = send(clients, env, at, request) => sent?,
        _ = crate::error::interrupted() => {
            return Err(crate::error::Interruption::Submitting {
                env: env.name.clone(),
                id: request.id.clone(),
                follow: follow_command(env, &request.id),
            }
            .into());
        }
    };
    if let Some(table) = &table
        && submission.outcome != Outcome::Duplicate
    {
        let key = (request.id.as_str(), MESSAGE_UPLOAD);
        wait_for(clients, table, key, request.wait, &mut submission).await;
    }
    Ok(submission)
}

/// The submission up to SQS's answer: the job recorded and its message sent (or not sent, as
/// the record says); and the job table, with `jobs:`.
async fn send(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    request: &Request,
) -> Result<(Submission, Option<String>)> {
    let first = env.stages()[0];
    let fifo = fifo_queue(first, request)?;
    let (names, queue_url, limit) = job_queue(clients, env, request.priority).await?;
    // Over the queue's limit, the body goes to the bucket and the message carries its pointer
    // (docs/jobs.md, "A body over SQS's limit").
    let store = request.size() > limit;
    if store && let Some((flag_name, value, why)) = unstorable(request) {
        return Err(flag(flag_name, &value, &why));
    }
    let table = job_table_of(clients, env, at).await?;
    let key = (request.id.as_str(), MESSAGE_UPLOAD);
    // The sequence of the `queued` this submission wrote, if it wrote one; the record's
    // sequence this message sends.
    let mut written = None;
    let mut seq = None;
    let mut submission = Submission {
        queue: names.queue.clone(),
        id: request.id.clone(),
        outcome: Outcome::Sent,
        message_id: None,
        job: None,
        timed_out: false,
        wait_error: None,
        interrupted: false,
        stored_body: None,
    };
    if let Some(table) = &table {
        // The stage it is queued at, by name and index (`submit --stage`): a worker of that
        // stage moves the record on only from a lower index.
        let stage = (
            first.stage.as_ref().map(|s| s.name.as_str()),
            first.stage.as_ref().map_or(0, |s| s.index),
        );
        let retention = env.spec.jobs.as_ref().map_or(30, |j| j.retention_days);
        let known;
        (submission.outcome, written, known) = record(
            clients,
            table,
            key,
            stage,
            retention,
            (request.resend, request.group.as_deref(), request.priority),
        )
        .await?;
        // A `--resend` sends the record as it stands: its sequence is the one to deduplicate.
        seq = written.or_else(|| known.as_ref().and_then(|j| j.seq));
        if !matches!(submission.outcome, Outcome::Sent | Outcome::Resubmitted) {
            submission.job = known;
            return Ok((submission, Some(table.clone())));
        }
    }
    let mut attributes = vec![(JOB_ID_ATTRIBUTE.to_string(), request.id.clone())];
    attributes.extend(request.attributes.iter().cloned());
    let mut body = std::borrow::Cow::Borrowed(request.body.as_str());
    let mut sent = Ok(String::new());
    if store {
        match stored(clients, &names, &request.body).await {
            Ok((pointer, size, at)) => {
                body = pointer.into();
                attributes.push(size);
                submission.stored_body = Some(at);
            }
            Err(e) => sent = Err(e),
        }
    }
    if sent.is_ok() {
        sent = aws::send_message(
            &clients.sqs,
            &queue_url,
            &body,
            &attributes,
            aws::QueueOrdering {
                group: request.group.as_deref(),
                deduplication: fifo.then(|| deduplication_id(&request.id, seq)).as_deref(),
            },
        )
        .await;
    }
    let e = match sent {
        Ok(id) => {
            submission.message_id = Some(id);
            return Ok((submission, table));
        }
        Err(e) => e,
    };
    // SQS answered with a refusal: nothing was sent, and the record says so rather than
    // `queued` for ever. Without an answer (unreachable, cut off) the message may have gone
    // out: the record stays `queued`, and `--resend` sends it again.
    let refused = !matches!(e.kind, Kind::Unreachable | Kind::Malformed);
    let (Some(table), Some(seq), true) = (table.as_deref(), written, refused) else {
        return Err(Error::aws(format!(
            "{}: job {}: {e}{}",
            env.name,
            request.id,
            if refused {
                String::new()
            } else {
                format!(
                    "; it may have been sent: `{}` shows whether a worker took it, and `--resend` sends it again",
                    follow_command(env, &request.id)
                )
            }
        )));
    };
    let why = format!("not sent: {e}");
    match crate::jobs::table::unsent(&clients.dynamodb, table, key, seq, &why).await {
        Ok(()) => Err(e.into()),
        Err(e2) => Err(Error::aws(format!(
            "{}: job {}: {e}; and its record could not be marked failed ({e2}): it says queued",
            env.name, request.id
        ))),
    }
}

/// Stores a body over the queue's limit in the environment's bucket, under
/// [`crate::config::STORED_BODIES`] and a new id: its bucket and key.
async fn store_body(
    clients: &Clients,
    names: &ResourceNames,
    body: &str,
) -> crate::aws::Result<(String, String)> {
    let account = crate::aws::account_id(&clients.sts).await?;
    let bucket = format!("{}-{account}-{}", names.bucket, clients.region);
    let key = format!("{}{}", crate::config::STORED_BODIES, new_id());
    crate::aws::put_object(&clients.s3, &bucket, &key, body.as_bytes().to_vec()).await?;
    Ok((bucket, key))
}

/// `body` stored in the bucket: the message's pointer body, its size attribute
/// ([`aws::EXTENDED_PAYLOAD_SIZE`]) and where it went (`s3://BUCKET/bodies/ID`), as the
/// Extended Client Library writes them (docs/jobs.md, "A body over SQS's limit").
async fn stored(
    clients: &Clients,
    names: &ResourceNames,
    body: &str,
) -> crate::aws::Result<(String, (String, String), String)> {
    let (bucket, key) = store_body(clients, names, body).await?;
    let pointer = serde_json::json!([POINTER_CLASS, {"s3BucketName": bucket, "s3Key": key}]);
    Ok((
        pointer.to_string(),
        (aws::EXTENDED_PAYLOAD_SIZE.into(), body.len().to_string()),
        format!("s3://{bucket}/{key}"),
    ))
}

/// Why a body over the queue's limit cannot be stored: the flag, its value and why. Its
/// message carries one attribute more ("A message can have up to 10 metadata attributes"; the
/// Extended Client Library keeps one free for it likewise), and S3 takes the body.
fn unstorable(request: &Request) -> Option<(&'static str, String, String)> {
    if request.attributes.len() + 2 > ATTRIBUTES_MAX {
        return Some((
            "--attribute",
            request.attributes.len().to_string(),
            format!(
                "the body is over the queue's limit, so it is stored and its message carries {} besides job_id: at most {} attributes then",
                aws::EXTENDED_PAYLOAD_SIZE,
                ATTRIBUTES_MAX - 2
            ),
        ));
    }
    if request.body.len() as u64 > STORED_BODY_MAX {
        return Some((
            "BODY",
            format!("({} bytes)", request.body.len()),
            format!("a stored body is at most {STORED_BODY_MAX} bytes (2 GiB)"),
        ));
    }
    None
}

/// Records the job before it is sent: `queued` when the table has no record of it; a record
/// that says `failed` queued again at the first stage (on the condition that nothing changed
/// it since it was read, so two submissions never both send); any other record left as it is,
/// and the submission says why nothing is sent. With `resend`, a record still `queued` is sent
/// again (a submission cut off between its record and its send).
async fn record(
    clients: &Clients,
    table: &str,
    key: (&str, &str),
    stage: (Option<&str>, usize),
    retention: u32,
    (resend, group, priority): (bool, Option<&str>, bool),
) -> Result<(Outcome, Option<u64>, Option<Job>)> {
    let db = &clients.dynamodb;
    let now = SystemTime::now();
    let marks = (group, priority.then_some(PRIORITY_LANE));
    if crate::jobs::table::queue_job(db, table, key, stage, marks, now, retention).await? {
        return Ok((Outcome::Sent, Some(1), None));
    }
    let mut known = crate::jobs::table::job(db, table, key.0, key.1).await?;
    let read = known.as_ref().map(|j| (j.state.clone(), j.seq));
    let (outcome, written) = match read.as_ref().map(|(state, seq)| (state.as_str(), *seq)) {
        Some(("done", _)) => (Outcome::Duplicate, None),
        Some(("failed", seen)) => {
            let seen = seen.unwrap_or(0);
            if crate::jobs::table::requeue(db, table, key, stage, seen, now, retention).await? {
                (Outcome::Resubmitted, Some(seen + 1))
            } else {
                // Another submission queued it first: report the record as it is now.
                known = crate::jobs::table::job(db, table, key.0, key.1).await?;
                (Outcome::InFlight, None)
            }
        }
        // The first message may be out: this send's refusal must not mark the job failed.
        Some(("queued", _)) if resend => (Outcome::Resubmitted, None),
        _ => (Outcome::InFlight, None),
    };
    // The record as read: what a submission that sends nothing reports.
    Ok((outcome, written, known))
}

/// With `--wait`, follows the job's record into `submission`; a read that fails ends the
/// wait with its error, keeping what was sent.
async fn wait_for(
    clients: &Clients,
    table: &str,
    key: (&str, &str),
    wait: Option<Duration>,
    submission: &mut Submission,
) {
    let Some(wait) = wait else { return };
    // Ctrl-C ends the wait, never the job: the report names it and how to follow it.
    let followed = tokio::select! {
        biased;
        followed = follow(clients, table, key, wait) => followed,
        _ = crate::error::interrupted() => {
            submission.interrupted = true;
            // The record as it stands, read within the time an interrupted run has.
            let read = crate::jobs::table::job(&clients.dynamodb, table, key.0, key.1);
            if let Ok(Ok(job)) = tokio::time::timeout(READ_AFTER_SIGNAL, read).await {
                submission.job = job;
            }
            return;
        }
    };
    match followed {
        Ok((job, timed_out)) => {
            submission.job = job;
            submission.timed_out = timed_out;
        }
        Err(e) => submission.wait_error = Some(e.to_string()),
    }
}

/// How long an interrupted `--wait` reads the job's record for its report: well within the
/// seconds in which an interrupted run's document is out (`crate::error::signal`).
const READ_AFTER_SIGNAL: Duration = Duration::from_secs(1);

/// The command that shows where the job `id` of `env` is: its record (`qfleet jobs ENV ID`)
/// with `jobs:`, else the workers' lines that name it.
pub(crate) fn follow_command(env: &Environment, id: &str) -> String {
    use crate::output::hint;
    let name = hint::quote(&env.name);
    match env.spec.jobs {
        Some(_) => format!("qfleet jobs {name} {}", hint::last_argument(id)),
        None => format!(
            "qfleet logs {name} {} --since 1h",
            hint::option("--job", id)
        ),
    }
}

/// Reads the job's record until it is `done` or `failed`, at most `wait`: first after a
/// second, then less often, up to every 5 seconds (consistent reads, never the response
/// queue). Whether the wait ended first.
async fn follow(
    clients: &Clients,
    table: &str,
    (key, upload): (&str, &str),
    wait: Duration,
) -> Result<(Option<Job>, bool)> {
    let started = Instant::now();
    let mut delay = Duration::from_secs(1);
    loop {
        let left = wait.saturating_sub(started.elapsed());
        tokio::time::sleep(delay.min(left)).await;
        let job = crate::jobs::table::job(&clients.dynamodb, table, key, upload).await?;
        let ended = job
            .as_ref()
            .is_some_and(|j| j.state == "done" || j.state == "failed");
        if ended || started.elapsed() >= wait {
            return Ok((job, !ended));
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(jobs: bool) -> Environment {
        let text = format!(
            "region: eu-west-1\n{}workers:\n  min: 1\n  max: 2\n",
            if jobs { "jobs: {}\n" } else { "" }
        );
        crate::config::parse("stacks/t.yaml".into(), text)
            .unwrap()
            .into_only()
    }

    fn request(attributes: &[&str]) -> Result<Request> {
        let attributes: Vec<String> = attributes.iter().map(|a| a.to_string()).collect();
        Request::new(
            &env(false),
            Some("{}".into()),
            None,
            Some("a".into()),
            &attributes,
            None,
            false,
        )
    }

    #[test]
    fn attributes_are_names_sqs_takes_and_never_qfleets() {
        assert_eq!(
            request(&["tenant=acme"]).unwrap().attributes,
            [("tenant".to_string(), "acme".to_string())]
        );
        for bad in [
            "tenant",
            "=x",
            "job_id=x",
            "qfleet_body=s3",
            "AWS.x=y",
            "a b=c",
            "k=",
        ] {
            let e = request(&[bad]).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--attribute {bad}: ")), "{e}");
        }
        let nine: Vec<String> = (0..9).map(|i| format!("k{i}=v")).collect();
        let nine: Vec<&str> = nine.iter().map(String::as_str).collect();
        assert!(request(&nine).is_ok());
        let ten = [nine.as_slice(), &["k9=v"]].concat();
        assert!(request(&ten).unwrap_err().to_string().contains("at most 9"));
    }

    /// To a FIFO job queue a job needs its group, refused before anything is recorded or
    /// sent; its id is its deduplication id, as is when SQS takes it, else its SHA-256.
    #[test]
    fn a_fifo_job_needs_its_group_and_is_deduplicated_by_its_id() {
        let fifo = crate::config::parse(
            "stacks/t.yaml".into(),
            "region: eu-west-1\nqueue: {fifo: true}\nsources: {uploads: false, messages: {}}\n"
                .into(),
        )
        .unwrap()
        .into_only();
        let first = fifo.stages()[0];
        let r = request(&[]).unwrap();
        let e = fifo_queue(first, &r).unwrap_err().to_string();
        assert!(
            e.starts_with("--group: the job queue is FIFO"),
            "a flag given without a value is named alone: {e}"
        );
        let grouped = r.clone().with_group(Some("customer-7".into())).unwrap();
        assert!(fifo_queue(first, &grouped).unwrap());
        assert!(!fifo_queue(env(false).stages()[0], &r).unwrap());
        // The record's sequence is part of it: a resend of one record is deduplicated, a
        // failed job queued again is a new message ("accepted successfully but aren't
        // delivered" within 5 minutes, SendMessage).
        assert_eq!(deduplication_id("a", Some(3)), "a#3");
        assert_ne!(
            deduplication_id("a", Some(1)),
            deduplication_id("a", Some(2))
        );
        assert_eq!(deduplication_id("a", None), "a");
        for id in ["é", "a b", &"x".repeat(129)] {
            let d = deduplication_id(id, None);
            assert_eq!(d.len(), 64, "{id}");
            assert!(d.chars().all(|c| c.is_ascii_hexdigit()));
        }
        assert_eq!(deduplication_id(&"x".repeat(128), None), "x".repeat(128));
        assert_eq!(deduplication_id(&"x".repeat(127), Some(5)).len(), 64);
    }

    /// `queue.tenant`: without `--group`, the job's tenant (from its attribute or its JSON
    /// body) is its group, one SQS would not take going as its SHA-256; `--group` wins; a job
    /// the rule finds none in is refused with what to do; a rule that reads an upload's key
    /// gives a job sent as a message no group.
    #[test]
    fn a_jobs_tenant_is_its_group_unless_given_and_none_found_is_refused() {
        use crate::config::TenantSpec;
        let attr = TenantSpec {
            attribute: Some("customer".into()),
            ..TenantSpec::default()
        };
        let r = request(&["customer=acme"]).unwrap();
        let g = |r: Request| r.group;
        assert_eq!(
            g(r.clone().tenant_or_why(Some(&attr)).unwrap()).as_deref(),
            Some("acme")
        );
        assert_eq!(g(r.clone().tenant_or_why(None).unwrap()), None);
        let given = r.clone().with_group(Some("given".into())).unwrap();
        assert_eq!(
            g(given.tenant_or_why(Some(&attr)).unwrap()).as_deref(),
            Some("given")
        );
        let spaced = request(&["customer=Acme Ltd"]).unwrap();
        assert_eq!(
            g(spaced.tenant_or_why(Some(&attr)).unwrap()),
            Some(crate::config::tenant_group("Acme Ltd"))
        );
        let e = request(&[])
            .unwrap()
            .tenant_or_why(Some(&attr))
            .unwrap_err();
        assert!(
            e.contains("add --attribute customer=TENANT, or give it with --group G"),
            "{e}"
        );
        let json = TenantSpec {
            json: Some("c.id".into()),
            ..TenantSpec::default()
        };
        let mut body = request(&[]).unwrap();
        body.body = r#"{"c": {"id": 42}}"#.into();
        assert_eq!(
            g(body.clone().tenant_or_why(Some(&json)).unwrap()).as_deref(),
            Some("42")
        );
        body.body = r#"{"c": {}}"#.into();
        let e = body.tenant_or_why(Some(&json)).unwrap_err();
        assert!(
            e.contains("give the body a string or number at c.id"),
            "{e}"
        );
        let key = TenantSpec {
            key_segment: Some(1),
            ..TenantSpec::default()
        };
        assert_eq!(
            g(r.tenant_or_why(Some(&key)).unwrap()),
            None,
            "no key, no tenant"
        );
    }

    /// `--priority` to a stage without a lane is refused before anything is recorded or sent,
    /// naming the stage of a pipeline; with one, the request goes to the lane.
    #[test]
    fn priority_needs_the_stages_lane() {
        let parse = |yaml: &str| {
            crate::config::parse("stacks/shop.yaml".into(), yaml.into())
                .unwrap()
                .into_only()
        };
        let r = |env: &Environment| {
            Request::new(env, Some("{}".into()), None, None, &[], None, false).unwrap()
        };
        let plain = parse("region: eu-west-1\n");
        let e = r(&plain)
            .with_priority(&plain, true)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--priority: shop has no priority lane: add queue.priority"),
            "{e}"
        );
        assert!(!r(&plain).with_priority(&plain, false).unwrap().priority);
        let lane = parse("region: eu-west-1\nqueue: {priority: {}}\n");
        assert!(r(&lane).with_priority(&lane, true).unwrap().priority);
        let pipeline = parse(
            "region: eu-west-1\nstages:\n  - name: a\n    queue: {priority: {}}\n  - name: b\n    fed_by: messages\n    sources: {messages: {}}\n",
        );
        let b = pipeline.stages()[1];
        let e = r(b).with_priority(b, true).unwrap_err().to_string();
        assert!(e.contains("stage b of shop has no priority lane"), "{e}");
    }

    #[test]
    fn a_group_is_one_sqs_takes() {
        let r = request(&[]).unwrap();
        assert_eq!(
            r.clone()
                .with_group(Some("tenant-a".into()))
                .unwrap()
                .group
                .as_deref(),
            Some("tenant-a")
        );
        assert!(r.clone().with_group(None).unwrap().group.is_none());
        for bad in ["", "a b", "é", &"g".repeat(129)] {
            let e = r.clone().with_group(Some(bad.to_string())).unwrap_err();
            assert!(e.to_string().contains("--group"), "{bad}: {e}");
        }
    }

    #[test]
    fn an_id_is_given_or_a_new_uuid_and_wait_needs_a_job_table() {
        let new = Request::new(&env(true), Some("x".into()), None, None, &[], None, false).unwrap();
        assert_eq!(new.id.len(), 36);
        assert_eq!(&new.id[14..15], "4", "{}", new.id);
        let other =
            Request::new(&env(true), Some("x".into()), None, None, &[], None, false).unwrap();
        assert_ne!(new.id, other.id);
        let long = "x".repeat(JOB_ID_MAX + 1);
        let e = Request::new(
            &env(true),
            Some("x".into()),
            None,
            Some(long),
            &[],
            None,
            false,
        );
        assert!(e.unwrap_err().to_string().contains("1 to 1024 bytes"));
        let wait = Some(Duration::from_secs(5));
        let e = Request::new(&env(false), Some("x".into()), None, None, &[], wait, false);
        assert!(e.unwrap_err().to_string().contains("set `jobs:`"));
        assert!(Request::new(&env(true), Some("x".into()), None, None, &[], wait, false).is_ok());
        let e = Request::new(&env(true), None, None, None, &[], None, false);
        assert!(e.unwrap_err().to_string().contains("BODY or with --file"));
    }

    #[test]
    fn names_sqs_refuses_are_refused_before_anything_is_sent() {
        for bad in [".a=x", "a.=x", "a..b=x", "k=\u{1}"] {
            let e = request(&[bad]).unwrap_err().to_string();
            assert!(e.starts_with("--attribute "), "{bad}: {e}");
        }
        let twice = request(&["k=1", "k=2"]).unwrap_err().to_string();
        assert!(twice.contains("each name once"), "{twice}");
        let body =
            |b: &str| Request::new(&env(false), Some(b.into()), None, None, &[], None, false);
        assert!(body("a\u{0}b").unwrap_err().to_string().contains("U+0000"));
        assert!(body("tab\tnewline\n\u{10FFFF}").is_ok());
    }

    /// What the workers' `classify` takes for something else is not a job to send.
    #[test]
    fn a_body_the_workers_would_not_take_as_a_job_is_refused() {
        let s3 = r#"{"Records": [{"eventSource": "aws:s3", "s3": {}}]}"#;
        let test = r#"{"Event": "s3:TestEvent"}"#;
        let confirm = r#"{"Type": "SubscriptionConfirmation", "SubscribeURL": "x"}"#;
        let enveloped = serde_json::json!({ "Type": "Notification", "Message": s3 }).to_string();
        for (body, what) in [
            (s3, "an S3 event"),
            (test, "S3's test event"),
            (confirm, "an SNS subscription confirmation"),
            (enveloped.as_str(), "an S3 event"),
        ] {
            assert_eq!(not_a_message(body), Some(what), "{body}");
        }
        for job in [
            r#"{"photo": 42}"#,
            "not JSON",
            r#"{"Records": [{"eventSource": "mine"}]}"#,
            r#"{"Records": []}"#,
        ] {
            assert_eq!(not_a_message(job), None, "{job}");
        }
    }

    /// Issue 85: the command that follows a job runs as printed: its id one shell word, one
    /// that starts with `-` never a flag; without a job table, the workers' lines that name it.
    #[test]
    fn the_command_that_follows_a_job_is_shell_quoted() {
        assert_eq!(
            follow_command(&env(true), "order 7 (rush)"),
            "qfleet jobs t 'order 7 (rush)'"
        );
        assert_eq!(follow_command(&env(true), "-7"), "qfleet jobs t -- -7");
        assert_eq!(
            follow_command(&env(false), "it's"),
            r"qfleet logs t --job 'it'\''s' --since 1h"
        );
    }

    #[test]
    fn the_size_counts_the_body_and_every_attributes_name_type_and_value() {
        let r = request(&["tenant=acme"]).unwrap();
        assert_eq!(r.size(), 2 + (6 + 6 + 1) + (6 + 6 + 4));
    }

    /// A body over the queue's MaximumMessageSize goes to the bucket under bodies/, and the
    /// message is the Extended Client Library's pointer with ExtendedPayloadSize, a Number
    /// (SDK-level mocks: the emulators here take any size up to their own limit).
    #[tokio::test]
    async fn mocked_a_body_over_the_queues_limit_is_stored_and_sent_as_its_pointer() {
        use aws_smithy_mocks::mock;
        use std::sync::{Arc, Mutex};
        let url = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-t-jobs";
        let get_url = mock!(aws_sdk_sqs::Client::get_queue_url).then_output(move || {
            aws_sdk_sqs::operation::get_queue_url::GetQueueUrlOutput::builder()
                .queue_url(url)
                .build()
        });
        let attrs = mock!(aws_sdk_sqs::Client::get_queue_attributes).then_output(|| {
            crate::aws::mock::queue_attributes(
                0,
                0,
                0,
                &[(
                    aws_sdk_sqs::types::QueueAttributeName::MaximumMessageSize,
                    "1024",
                )],
            )
        });
        let sts = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
            aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
                .account("111122223333")
                .build()
        });
        let put_log: Arc<Mutex<Vec<(String, String, usize)>>> = Arc::default();
        let seen = put_log.clone();
        let s3 = mock!(aws_sdk_s3::Client::put_object)
            .match_requests(move |r| {
                seen.lock().unwrap().push((
                    r.bucket().unwrap_or_default().to_string(),
                    r.key().unwrap_or_default().to_string(),
                    r.body().bytes().map_or(0, <[u8]>::len),
                ));
                true
            })
            .then_output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build());
        type Sent = (String, Vec<(String, String, String)>);
        let sent_log: Arc<Mutex<Vec<Sent>>> = Arc::default();
        let seen = sent_log.clone();
        let send = mock!(aws_sdk_sqs::Client::send_message)
            .match_requests(move |r| {
                let mut attrs: Vec<(String, String, String)> = r
                    .message_attributes()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.data_type().to_string(),
                            v.string_value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                attrs.sort();
                seen.lock()
                    .unwrap()
                    .push((r.message_body().unwrap_or_default().to_string(), attrs));
                true
            })
            .then_output(|| {
                aws_sdk_sqs::operation::send_message::SendMessageOutput::builder()
                    .message_id("m-1")
                    .build()
            });
        let rules = crate::aws::mock::Rules {
            sqs: vec![&get_url, &attrs, &send],
            sts: vec![&sts],
            s3: vec![&s3],
            ..Default::default()
        };
        let clients = rules.clients();
        let big = format!("{{\"pixels\": \"{}\"}}", "x".repeat(2000));
        let mut request = request(&["tenant=acme"]).unwrap();
        request.body = big.clone();
        let s = submit(&clients, &env(false), &StackNames::own(), &request)
            .await
            .unwrap();
        let put = put_log.lock().unwrap().clone();
        assert_eq!(put.len(), 1);
        let (bucket, key, bytes) = &put[0];
        assert_eq!(bucket, "t-uploads-111122223333-eu-west-1");
        assert!(
            key.starts_with("bodies/") && key.len() == "bodies/".len() + 36,
            "{key}"
        );
        assert_eq!(*bytes, big.len());
        assert_eq!(s.stored_body, Some(format!("s3://{bucket}/{key}")));
        let sent = sent_log.lock().unwrap().clone();
        let pointer: serde_json::Value = serde_json::from_str(&sent[0].0).unwrap();
        assert_eq!(
            pointer,
            serde_json::json!([POINTER_CLASS, {"s3BucketName": bucket, "s3Key": key}])
        );
        assert_eq!(
            sent[0].1,
            [
                (
                    "ExtendedPayloadSize".to_string(),
                    "Number".to_string(),
                    big.len().to_string()
                ),
                ("job_id".into(), "String".into(), "a".into()),
                ("tenant".into(), "String".into(), "acme".into()),
            ]
        );

        // Within the limit: no store, the body itself.
        let small = request.clone();
        let small = Request {
            body: "{}".into(),
            ..small
        };
        let s = submit(&clients, &env(false), &StackNames::own(), &small)
            .await
            .unwrap();
        assert_eq!(s.stored_body, None);
        assert_eq!(put_log.lock().unwrap().len(), 1, "nothing more stored");
        assert_eq!(sent_log.lock().unwrap()[1].0, "{}");

        // Nine attributes of the user's fit one message, but not beside the size attribute:
        // refused before anything is stored or sent.
        let nine: Vec<String> = (0..9).map(|i| format!("k{i}=v")).collect();
        let nine: Vec<&str> = nine.iter().map(String::as_str).collect();
        let crowded = Request {
            body: big.clone(),
            ..self::tests::request(&nine).unwrap()
        };
        let e = submit(&clients, &env(false), &StackNames::own(), &crowded)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 8 attributes then"), "{e}");
        assert_eq!(put_log.lock().unwrap().len(), 1, "nothing stored");
        assert_eq!(sent_log.lock().unwrap().len(), 2, "nothing sent");
    }
}
