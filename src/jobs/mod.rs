//! `qfleet jobs`: the jobs a user can follow (`jobs:` in the stack file; docs/jobs.md). One
//! upload key's jobs with their whole history, or the jobs changed lately, filtered by state;
//! read from the job table the workers keep.

pub(crate) mod errors;
mod report;
pub mod table;

pub(crate) use report::Jobs;

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use report::schema;

use crate::aws::Clients;
use crate::config::Environment;
use crate::error::{Error, Result};
use crate::placement::StackNames;
use crate::render::ids;
use std::time::{Duration, SystemTime};
use table::Job;

/// What to show.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    /// One upload key (under the upload prefix, or without it); `None`: the recent jobs.
    pub key: Option<String>,
    /// Only jobs in this state (`--failed` is `failed`).
    pub state: Option<String>,
    /// How far back a list goes (by each job's last change).
    pub since: Duration,
    /// At most this many jobs in a list, the most recent first.
    pub limit: usize,
}

/// The `upload` of a job sent as a message: its record's key is its id (docs/jobs.md).
pub(crate) const MESSAGE_UPLOAD: &str = "job";

/// The states a job can be in, as the protocol writes them.
pub(crate) const STATES: [&str; 6] = [
    "queued",
    "processing",
    "retrying",
    "done",
    "failed",
    "cancelled",
];

/// What was found.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub table: String,
    /// The key that was looked up, as stored (`None` for a list).
    pub key: Option<String>,
    /// Every key looked up for it: the upload key and the id as given (a message's), for a
    /// lookup that finds nothing to say what it looked for.
    pub looked_for: Vec<String>,
    /// A list filtered by state: how many jobs of the window are in other states.
    pub other_states: usize,
    /// `--cancel`: the uploads of the key whose jobs it cancelled.
    pub cancelled: Option<Vec<String>>,
    /// A key's lookup: where each job's message is, in the order of `jobs`
    /// (`crate::dlq::whereabouts` fills it; empty for a list).
    pub whereabouts: Vec<Whereabouts>,
    pub jobs: Vec<Job>,
    /// Jobs of the list left out by `limit`.
    pub more: usize,
}

/// Where a job's message is, as far as qfleet could look, and what sends it back. qfleet looks
/// only where a look takes nothing from the job: the dead-letter queue of the job's stage
/// (peeked, as `dlq list` does). It never receives from the job queue: a receive there counts
/// toward the message's receives before SQS dead-letters it, and a message a worker holds is
/// hidden from every receive (`crate::dlq::whereabouts`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub(crate) struct Whereabouts {
    /// The job's upload (its record's sort key).
    pub upload: String,
    /// `dead_letter_queue` (seen there, whatever the record says), `not_looked` (not among the
    /// dead-letter queue's messages, every one of them read; the job queue is not looked into:
    /// `why`), `not_found` (failed, and not among the dead-letter queue's messages), `unknown`
    /// (the dead-letter queue could not be read, or not wholly: `why`) or `none` (done: its
    /// worker deleted its message when it recorded it done; not looked).
    #[schemars(extend("enum" = ["dead_letter_queue", "not_looked", "not_found", "unknown", "none"]))]
    pub place: &'static str,
    /// The dead-letter queue looked into (its name), when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue: Option<String>,
    /// The dead letter's message id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The command that sends it back to the job queue (shell-quoted, `--stage` in a pipeline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive: Option<String>,
    /// Why the job queue was not looked into, or why the place is unknown; or, `not_found`, a
    /// redrive of the dead-letter queue after the job failed that likely sent its message back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// Whether `env` keeps a job table: an error when its stack file has no `jobs:`.
pub(crate) fn has_table(env: &Environment) -> Result<()> {
    match env.spec.jobs {
        Some(_) => Ok(()),
        None => Err(crate::jobs::errors::Usage::NoJobTable {
            env: env.name.clone(),
        }
        .into()),
    }
}

/// The name of `env`'s job table: CloudFormation's, read from the data stack's resources (the
/// workers read it there too). An error when the stack file has no `jobs:`, or the data stack
/// holds no table yet (not deployed with `jobs:`).
/// The job table the data stack `stack` (its name there, see
/// [`crate::placement::check_data_stack`]) lists.
pub(crate) async fn table_name(
    clients: &Clients,
    env: &Environment,
    stack: &str,
) -> Result<String> {
    has_table(env)?;
    let resources = crate::aws::stack_resources(&clients.cfn, stack)
        .await?
        .unwrap_or_default();
    match resources.get(ids::JOB_TABLE) {
        Some(r) if r.is_live() => Ok(r.physical_id.clone().unwrap_or_default()),
        _ => Err(Error::aws(format!(
            "{}: {stack} holds no job table yet: deploy the stack file with `jobs:` first (`qfleet deploy {}`)",
            env.name,
            env.resource_name()
        ))),
    }
}

/// The key as the table stores it: the upload prefix and the key, unless it begins with it.
pub(crate) fn stored_key(env: &Environment, key: &str) -> String {
    let prefix = &env.spec.bucket.upload_prefix;
    if key.starts_with(prefix.as_str()) {
        key.to_string()
    } else {
        format!("{prefix}{}", key.trim_start_matches('/'))
    }
}

/// Reads what `q` asks for from `env`'s job table.
pub(crate) async fn read(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    q: &Query,
) -> Result<Found> {
    has_table(env)?;
    let data = crate::placement::check_data_stack(&clients.cfn, &clients.sts, env, at).await?;
    let table = table_name(clients, env, &data).await?;
    let now = SystemTime::now();
    let keep = |j: &Job| !table::expired(j, now) && q.state.as_deref().is_none_or(|s| j.state == s);
    if let Some(given) = &q.key {
        let mut key = stored_key(env, given);
        let mut jobs: Vec<Job> = table::jobs_of(&clients.dynamodb, &table, &key)
            .await?
            .into_iter()
            .filter(keep)
            .collect();
        // A job sent as a message is kept under its id as given (docs/jobs.md), never under
        // the upload prefix.
        if key != *given {
            let sent: Vec<Job> = table::jobs_of(&clients.dynamodb, &table, given)
                .await?
                .into_iter()
                .filter(|j| j.upload == MESSAGE_UPLOAD && keep(j))
                .collect();
            if jobs.is_empty() && !sent.is_empty() {
                key.clone_from(given);
            }
            jobs.extend(sent);
        }
        let mut looked_for = vec![stored_key(env, given)];
        if looked_for[0] != *given {
            looked_for.push(given.clone());
        }
        return Ok(Found {
            table,
            key: Some(key),
            jobs,
            more: 0,
            looked_for,
            other_states: 0,
            cancelled: None,
            whereabouts: Vec::new(),
        });
    }
    let (mut jobs, others): (Vec<Job>, Vec<Job>) =
        table::changed_since(&clients.dynamodb, &table, now - q.since, now)
            .await?
            .into_iter()
            .filter(|j| !table::expired(j, now))
            .partition(keep);
    let more = jobs.len().saturating_sub(q.limit);
    jobs.truncate(q.limit);
    // The index carries no queued_at, received_at or seq: read from the items shown.
    table::fill(&clients.dynamodb, &table, &mut jobs, |_| true, q.limit).await?;
    Ok(Found {
        table,
        key: None,
        jobs,
        more,
        looked_for: Vec::new(),
        other_states: others.len(),
        cancelled: None,
        whereabouts: Vec::new(),
    })
}

/// Cancels the jobs of `id` (an upload's key or a message job's id) that wait in their queue
/// (`queued` or `retrying`): the records as they are after it, and which it cancelled. None of
/// them waiting is a refusal that says each one's state (a job a worker holds finishes or fails
/// as it would); no record at all is a usage error.
pub(crate) async fn cancel(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    id: &str,
) -> Result<Found> {
    let q = Query {
        key: Some(id.to_string()),
        state: None,
        since: Duration::ZERO,
        limit: usize::MAX,
    };
    let found = read(clients, env, at, &q).await?;
    if found.jobs.is_empty() {
        return Err(crate::jobs::errors::Usage::NoJob {
            env: env.name.clone(),
            id: id.to_string(),
            table: found.table,
        }
        .into());
    }
    let retention = env.spec.jobs.as_ref().map_or(30, |j| j.retention_days);
    let mut cancelled = Vec::new();
    for j in found
        .jobs
        .iter()
        .filter(|j| matches!(j.state.as_str(), "queued" | "retrying"))
    {
        let db = &clients.dynamodb;
        if table::cancel(
            db,
            &found.table,
            (&j.key, &j.upload),
            SystemTime::now(),
            retention,
        )
        .await?
        {
            cancelled.push(j.upload.clone());
        }
    }
    let after = read(clients, env, at, &q).await?;
    if cancelled.is_empty() {
        let states = after
            .jobs
            .iter()
            .map(|j| format!("{} ({})", j.state, j.upload))
            .collect();
        return Err(crate::jobs::errors::Refusal::JobNotWaiting {
            env: env.name.clone(),
            id: id.to_string(),
            states,
        }
        .into());
    }
    Ok(Found {
        cancelled: Some(cancelled),
        ..after
    })
}

/// A job's error as people read it: the reference workers record a failure as Python's repr
/// of the exception (`Exception('x')`, `ValueError("it's")`), which is said as Python's own
/// last line of a traceback says it (`x`, `ValueError: it's`); any other text as it is. An
/// error the workers cut at its 256 characters (docs/jobs.md) inside the quotes ends in `…`.
pub(crate) fn plain_error(text: &str) -> String {
    python_exception(text).unwrap_or_else(|| text.to_string())
}

/// `Name('message')`, its string literal read as Python writes it, as `Name: message`
/// (`Exception`'s as `message` alone); `None` when `text` is not one such repr.
fn python_exception(text: &str) -> Option<String> {
    let open = text.find('(')?;
    let name = &text[..open];
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if name.is_empty()
        || !name.chars().all(plain)
        || !name.starts_with(|c: char| c.is_ascii_uppercase())
    {
        return None;
    }
    let (message, rest) = python_string(&text[open + 1..])?;
    let message = match rest {
        Some(")") => message,
        // Cut inside the literal.
        None => format!("{message}…"),
        Some(_) => return None,
    };
    Some(match name {
        "Exception" => message,
        _ => format!("{name}: {message}"),
    })
}

/// A Python string literal at the start of `text` (`'…'` or `"…"`, with Python's escapes):
/// its value and what follows its closing quote (`None`: the text ends inside it).
fn python_string(text: &str) -> Option<(String, Option<&str>)> {
    let mut chars = text.char_indices();
    let (_, quote) = chars.next().filter(|(_, c)| *c == '\'' || *c == '"')?;
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Some((value, Some(&text[i + c.len_utf8()..]))),
            '\\' => {
                let Some((_, e)) = chars.next() else {
                    return Some((value, None));
                };
                let hex = |n: usize, chars: &mut std::str::CharIndices| {
                    let digits: String = chars.by_ref().take(n).map(|(_, c)| c).collect();
                    u32::from_str_radix(&digits, 16)
                        .ok()
                        .and_then(char::from_u32)
                };
                match e {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    'x' => value.push(hex(2, &mut chars)?),
                    'u' => value.push(hex(4, &mut chars)?),
                    'U' => value.push(hex(8, &mut chars)?),
                    '\\' | '\'' | '"' => value.push(e),
                    _ => return None,
                }
            }
            c => value.push(c),
        }
    }
    Some((value, None))
}

/// What `status` shows of the jobs: those finished in the window, and the slowest.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub(crate) struct Recent {
    /// Jobs done in the window.
    pub done: u64,
    /// Jobs failed in the window.
    pub failed: u64,
    /// Jobs cancelled in the window (`qfleet jobs ENV ID --cancel`).
    pub cancelled: u64,
    /// Jobs not finished whose last change is in the window.
    pub in_progress: u64,
    /// The slowest job done in the window: its key and seconds from upload to done.
    pub slowest: Option<Slowest>,
}

/// A job and how long it took.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub(crate) struct Slowest {
    pub key: String,
    pub seconds: f64,
}

impl Recent {
    /// Counts the jobs (the window's: the caller read them so).
    pub(crate) fn of(jobs: &[Job]) -> Recent {
        let mut r = Recent::default();
        for j in jobs {
            match j.state.as_str() {
                "done" => r.done += 1,
                "failed" => r.failed += 1,
                "cancelled" => r.cancelled += 1,
                _ => r.in_progress += 1,
            }
            if j.state == "done"
                && let Some(s) = j.seconds()
                && r.slowest.as_ref().is_none_or(|x| s > x.seconds)
            {
                r.slowest = Some(Slowest {
                    key: j.key.clone(),
                    seconds: s,
                });
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(key: &str, state: &str, up: &str, end: Option<&str>) -> Job {
        Job {
            key: key.into(),
            upload: "v".into(),
            state: state.into(),
            stage: None,
            stage_index: None,
            attempts: Some(1),
            seq: None,
            worker: None,
            tenant: None,
            lane: None,
            uploaded_at: Some(up.into()),
            queued_at: None,
            received_at: None,
            finished_at: end.map(str::to_string),
            output: None,
            error: None,
            duplicates: None,
            updated_at: end.map(str::to_string),
            expires_at: None,
            history: Vec::new(),
        }
    }

    /// Issue 85: a job's error is said as Python says an exception, never as its repr; text
    /// that is no repr is left as it is.
    #[test]
    fn a_python_repr_is_said_as_python_says_the_exception() {
        for (recorded, said) in [
            ("Exception('x')", "x"),
            ("ValueError(\"it's gone\")", "ValueError: it's gone"),
            (r"KeyError('a\\b\n\x41\u00e9')", "KeyError: a\\b\nAé"),
            (
                "ClientError('An error occurred (AccessDenied)')",
                "ClientError: An error occurred (AccessDenied)",
            ),
            (
                "RuntimeError('cut at 256 chara",
                "RuntimeError: cut at 256 chara…",
            ),
            (
                "not started: the worker was stopping",
                "not started: the worker was stopping",
            ),
            ("Exception('a', 2)", "Exception('a', 2)"),
            ("Exception()", "Exception()"),
            ("f('x')", "f('x')"),
            (
                "the output key 'a' is too long (S3)",
                "the output key 'a' is too long (S3)",
            ),
            ("", ""),
        ] {
            assert_eq!(plain_error(recorded), said, "{recorded}");
        }
    }

    /// Issue 67: a job sent as a message has no upload time; how long it took counts from
    /// its queueing, in `status`'s slowest as in `jobs`.
    #[test]
    fn a_message_job_took_from_its_queueing() {
        let mut j = job(
            "m",
            "done",
            "2026-11-24T19:00:00.000Z",
            Some("2026-11-24T19:00:04.000Z"),
        );
        j.uploaded_at = None;
        j.upload = MESSAGE_UPLOAD.into();
        assert_eq!(j.seconds(), None, "no start known");
        j.queued_at = Some("2026-11-24T19:00:01.000Z".into());
        assert_eq!(j.seconds(), Some(3.0));
        let r = Recent::of(&[j]);
        assert_eq!(r.slowest.map(|s| s.seconds), Some(3.0));
    }

    #[test]
    fn recent_counts_each_state_and_finds_the_slowest_done() {
        let jobs = [
            job(
                "a",
                "done",
                "2026-11-24T19:00:00.000Z",
                Some("2026-11-24T19:00:02.000Z"),
            ),
            job(
                "b",
                "done",
                "2026-11-24T19:00:00.000Z",
                Some("2026-11-24T19:00:09.500Z"),
            ),
            job(
                "c",
                "failed",
                "2026-11-24T19:00:00.000Z",
                Some("2026-11-24T19:01:00.000Z"),
            ),
            job("d", "processing", "2026-11-24T19:00:00.000Z", None),
        ];
        let r = Recent::of(&jobs);
        assert_eq!((r.done, r.failed, r.in_progress), (2, 1, 1));
        assert_eq!(
            r.slowest,
            Some(Slowest {
                key: "b".into(),
                seconds: 9.5
            })
        );
    }
}
