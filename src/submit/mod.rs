//! `qfleet submit`: one job sent as a message to an environment's job queue, as a producer's
//! own SDK call sends it (docs/jobs.md, "Jobs sent as messages"): its id in the `job_id`
//! message attribute. With `jobs:` the job is recorded `queued` before it is sent, a job id
//! already done is a duplicate (nothing is sent), and `--wait` follows the job's record (never
//! the response queue, which is the application's) to its end.

mod report;

pub(crate) use report::Submitted;
#[cfg(test)]
pub(crate) use report::schema;

use crate::aws::job_table::{self, Job};
use crate::aws::{Clients, queues};
use crate::config::Environment;
use crate::error::{Error, Result, Usage};
use crate::render::ResourceNames;
use crate::rollout::StackNames;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// The message attribute that carries a job's id (the workers read it: docs/jobs.md).
pub(crate) const JOB_ID_ATTRIBUTE: &str = "job_id";
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
    ) -> Result<Request> {
        let body = match (body, file) {
            (Some(b), None) => b,
            (None, Some(p)) => {
                std::fs::read_to_string(p).map_err(|source| Usage::JobUnreadable {
                    path: p.to_path_buf(),
                    source,
                })?
            }
            _ => {
                return Err(Usage::FlagValue {
                    flag: "BODY",
                    value: String::new(),
                    why: "give the job's body as BODY or with --file F (one of them)".into(),
                }
                .into());
            }
        };
        if body.is_empty() {
            return Err(flag(
                "BODY",
                "",
                "a message body must not be empty (SQS refuses one)",
            ));
        }
        let id = match id {
            Some(id) if id.is_empty() || id.len() > JOB_ID_MAX => {
                return Err(flag(
                    "--id",
                    &id,
                    &format!("a job id is 1 to {JOB_ID_MAX} bytes"),
                ));
            }
            Some(id) => id,
            None => new_id(),
        };
        let mut parsed = Vec::new();
        for a in attributes {
            parsed.push(attribute(a)?);
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
        })
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
    if k.is_empty() || k.len() > 256 || !k.chars().all(allowed) {
        return Err(flag(
            "--attribute",
            text,
            "a name is 1 to 256 letters, digits, `_`, `-` or `.`",
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
    if v.is_empty() {
        return Err(flag("--attribute", text, "a value must not be empty"));
    }
    Ok((k.to_string(), v.to_string()))
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
}

/// Sends `request` to `env`'s job queue (its first stage's), recording it first with `jobs:`,
/// and with `--wait` follows its record to `done` or `failed`.
pub(crate) async fn submit(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    request: &Request,
) -> Result<Submission> {
    let first = env.stages()[0];
    let names = ResourceNames::of(first);
    let queue_url = queues::url_of(&clients.sqs, &names.queue)
        .await?
        .ok_or_else(|| {
            Error::aws(format!(
                "{}: queue {} does not exist; is the environment deployed?",
                env.name, names.queue
            ))
        })?;
    let limit = queues::read(&clients.sqs, &queue_url)
        .await?
        .and_then(|q| q.attributes.get("MaximumMessageSize")?.parse().ok())
        .unwrap_or(SIZE_UNREAD);
    if request.size() > limit {
        return Err(flag(
            "BODY",
            &format!("({} bytes)", request.size()),
            &format!(
                "the message would be {} bytes with its attributes, over the queue's {limit}",
                request.size()
            ),
        ));
    }
    let table = match env.spec.jobs {
        Some(_) => {
            let data =
                crate::rollout::check_data_stack(&clients.cfn, &clients.sts, env, at).await?;
            Some(crate::jobs::table_name(clients, env, &data).await?)
        }
        None => None,
    };
    let key = (request.id.as_str(), MESSAGE_UPLOAD);
    let mut outcome = Outcome::Sent;
    if let Some(table) = &table {
        let retention = env.spec.jobs.as_ref().map_or(30, |j| j.retention_days);
        let stage = first.stage.as_ref().map(|s| s.name.as_str());
        let now = SystemTime::now();
        if !job_table::queue_job(&clients.dynamodb, table, key, stage, now, retention).await? {
            let known = job_table::job(&clients.dynamodb, table, key.0, key.1).await?;
            match known.as_ref().map(|j| j.state.as_str()) {
                Some("done") => outcome = Outcome::Duplicate,
                Some("failed") => outcome = Outcome::Resubmitted,
                _ => outcome = Outcome::InFlight,
            }
            if outcome != Outcome::Resubmitted {
                return Ok(Submission {
                    queue: names.queue.clone(),
                    id: request.id.clone(),
                    outcome,
                    message_id: None,
                    job: known,
                    timed_out: false,
                });
            }
        }
    }
    let mut attributes = vec![(JOB_ID_ATTRIBUTE.to_string(), request.id.clone())];
    attributes.extend(request.attributes.iter().cloned());
    let sent = queues::send(&clients.sqs, &queue_url, &request.body, &attributes).await;
    let message_id = match sent {
        Ok(id) => id,
        Err(e) => {
            // Nothing was sent: the record this submission wrote says so, rather than
            // `queued` for ever.
            if let (Some(table), Outcome::Sent) = (&table, outcome) {
                let why = format!("not sent: {e}");
                job_table::unsent(&clients.dynamodb, table, key, &why).await?;
            }
            return Err(e.into());
        }
    };
    let mut submission = Submission {
        queue: names.queue.clone(),
        id: request.id.clone(),
        outcome,
        message_id: Some(message_id),
        job: None,
        timed_out: false,
    };
    if let (Some(table), Some(wait)) = (&table, request.wait) {
        let (job, timed_out) = follow(clients, table, key, wait).await?;
        submission.job = job;
        submission.timed_out = timed_out;
    }
    Ok(submission)
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
        let job = job_table::job(&clients.dynamodb, table, key, upload).await?;
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
        crate::config::parse("stacks/t.yaml".into(), text).unwrap()
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

    #[test]
    fn an_id_is_given_or_a_new_uuid_and_wait_needs_a_job_table() {
        let new = Request::new(&env(true), Some("x".into()), None, None, &[], None).unwrap();
        assert_eq!(new.id.len(), 36);
        assert_eq!(&new.id[14..15], "4", "{}", new.id);
        let other = Request::new(&env(true), Some("x".into()), None, None, &[], None).unwrap();
        assert_ne!(new.id, other.id);
        let long = "x".repeat(JOB_ID_MAX + 1);
        let e = Request::new(&env(true), Some("x".into()), None, Some(long), &[], None);
        assert!(e.unwrap_err().to_string().contains("1 to 1024 bytes"));
        let wait = Some(Duration::from_secs(5));
        let e = Request::new(&env(false), Some("x".into()), None, None, &[], wait);
        assert!(e.unwrap_err().to_string().contains("set `jobs:`"));
        assert!(Request::new(&env(true), Some("x".into()), None, None, &[], wait).is_ok());
        let e = Request::new(&env(true), None, None, None, &[], None);
        assert!(e.unwrap_err().to_string().contains("BODY or with --file"));
    }

    #[test]
    fn the_size_counts_the_body_and_every_attributes_name_type_and_value() {
        let r = request(&["tenant=acme"]).unwrap();
        assert_eq!(r.size(), 2 + (6 + 6 + 1) + (6 + 6 + 4));
    }
}
