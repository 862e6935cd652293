//! `qfleet submit ENV --lines FILE`: a backfill. Each non-empty line of FILE is one job's body
//! (a JSON value). Every line is checked before anything is sent. The jobs go in batches of up
//! to ten (SendMessageBatch), each with its id in `job_id`; with `jobs:`, each is recorded
//! `queued` before its batch goes, as one `submit` records its job. Every job's id is printed.

use super::{
    JOB_ID_ATTRIBUTE, MESSAGE_UPLOAD, Outcome, Request, body_problem, id_problem, job_queue,
    job_table_of, new_id, record, stored, unstorable,
};
use crate::aws::Clients;
use crate::aws::ErrorKind as Kind;
use crate::aws::{self, Delivery, OutgoingMessage as Outgoing, SEND_BATCH_MAX as BATCH_MAX};
use crate::config::Environment;
use crate::error::{Error, Result, Usage};
use crate::placement::StackNames;
use crate::render::ResourceNames;
use futures::StreamExt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// "The total size of all messages sent in a single SendMessageBatch call cannot exceed
/// 1,048,576 bytes (1 MiB)" (Amazon SQS batch actions,
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html>).
const BATCH_BYTES: u64 = 1_048_576;
/// Batches in flight at once: each records its jobs, then sends. A crash leaves at most this
/// many batches recorded `queued` and unsent (`--resend` sends them).
const CONCURRENT_BATCHES: usize = 8;

/// The jobs of a file of JSON lines, checked, each with its line's number.
#[derive(Debug, Clone)]
pub(crate) struct Lines {
    pub(crate) path: PathBuf,
    pub(crate) jobs: Vec<(usize, Request)>,
}

fn line_error(path: &Path, line: usize, why: String) -> Error {
    crate::submit::errors::Usage::JobLine {
        path: path.to_path_buf(),
        line,
        why,
    }
    .into()
}

impl Lines {
    /// Reads and checks every line: a JSON value SQS and the workers take as a job, its id
    /// (`--id-field`'s value, else a new UUID) unique in the file. The attributes, group and
    /// `--resend` are `template`'s, for every job; without a group, each line's tenant (what
    /// `tenant` reads in it, `queue.tenant`) is its group.
    pub(crate) fn read(
        path: &Path,
        id_field: Option<&str>,
        template: &Request,
        tenant: Option<&crate::config::TenantSpec>,
    ) -> Result<Lines> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            crate::jobs::errors::Usage::JobUnreadable {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let mut jobs = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let body = raw.trim_end_matches('\r');
            if body.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(body).map_err(|e| {
                line_error(
                    path,
                    line,
                    format!("not a JSON value ({e}): one job per line"),
                )
            })?;
            if let Some((_, why)) = body_problem(body) {
                return Err(line_error(path, line, why));
            }
            let id = match id_field {
                None => new_id(),
                Some(field) => match value.get(field) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Number(n)) => n.to_string(),
                    _ => {
                        return Err(line_error(
                            path,
                            line,
                            format!("--id-field {field}: the line has no string or number {field}"),
                        ));
                    }
                },
            };
            if let Some(why) = id_problem(&id) {
                return Err(line_error(path, line, format!("its id: {why}")));
            }
            if let Some(first) = seen.insert(id.clone(), line) {
                return Err(line_error(
                    path,
                    line,
                    format!("its id {id} is line {first}'s too: one job per id"),
                ));
            }
            let mut request = template.clone();
            request.body = body.to_string();
            request.id = id;
            let request = request
                .tenant_or_why(tenant)
                .map_err(|why| line_error(path, line, why))?;
            jobs.push((line, request));
        }
        if jobs.is_empty() {
            return Err(Usage::FlagValue {
                flag: "--lines",
                value: path.display().to_string(),
                why: "no job: every line is empty".into(),
            }
            .into());
        }
        Ok(Lines {
            path: path.to_path_buf(),
            jobs,
        })
    }
}

/// What became of one line's job.
#[derive(Debug, Clone)]
pub(crate) struct LineJob {
    pub(crate) line: usize,
    pub(crate) id: String,
    /// `None`: not sent, or it may have been (see `error`).
    pub(crate) outcome: Option<Outcome>,
    pub(crate) message_id: Option<String>,
    pub(crate) error: Option<String>,
    /// Where its body went when it was over the queue's limit (`s3://BUCKET/bodies/ID`).
    pub(crate) stored_body: Option<String>,
}

/// The backfill: the queue, and each line's job in the file's order.
#[derive(Debug, Clone)]
pub(crate) struct Backfill {
    pub(crate) queue: String,
    pub(crate) path: PathBuf,
    pub(crate) jobs: Vec<LineJob>,
}

/// Sends every job of `lines` to `env`'s job queue in batches, recording each first with
/// `jobs:`. Nothing is sent when a job is larger than the queue takes.
pub(crate) async fn backfill(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
    lines: &Lines,
) -> Result<Backfill> {
    let first = env.stages()[0];
    // Every line's group is --group's: checked once, before anything is recorded or sent.
    let fifo = match lines.jobs.first() {
        Some((_, r)) => super::fifo_queue(first, r)?,
        None => false,
    };
    let priority = lines.jobs.first().is_some_and(|(_, r)| r.priority);
    let (names, queue_url, limit) = job_queue(clients, env, priority).await?;
    // A body over the queue's limit is stored in the bucket when its batch goes, as one
    // submit stores it; one that cannot be is refused before anything is sent.
    for (line, r) in lines.jobs.iter().filter(|(_, r)| r.size() > limit) {
        if let Some((flag, value, why)) = unstorable(r) {
            return Err(line_error(
                &lines.path,
                *line,
                format!("{why} ({flag} {value})"),
            ));
        }
    }
    let table = job_table_of(clients, env, at).await?;
    let stage = first.stage.as_ref().map(|s| s.name.clone());
    let stage_index = first.stage.as_ref().map_or(0, |s| s.index);
    let retention = env.spec.jobs.as_ref().map_or(30, |j| j.retention_days);
    let batches = batches(&lines.jobs);
    let (table, stage) = (table.as_deref(), (stage.as_deref(), stage_index));
    let to = Destination {
        env,
        url: queue_url.as_str(),
        names: &names,
        limit,
    };
    let sent: Vec<Vec<LineJob>> = if fifo {
        // To a FIFO queue one batch at a time: "For a FIFO queue, multiple messages within a
        // single batch are enqueued in the order they are sent" (SendMessageBatch,
        // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html),
        // and batches in flight together would not be. After a job not sent, none after it
        // goes: it would overtake that job in the group.
        in_order(&batches, |batch| {
            one_batch(clients, table, to, stage, retention, batch)
        })
        .await
    } else {
        futures::stream::iter(batches.iter().map(|batch| async move {
            one_batch(clients, table, to, stage, retention, batch).await
        }))
        .buffered(CONCURRENT_BATCHES)
        .collect::<Vec<_>>()
        .await
    };
    Ok(Backfill {
        queue: names.queue,
        path: lines.path.clone(),
        jobs: sent.into_iter().flatten().collect(),
    })
}

/// Sends `batches` one after another with `send`; after a job not sent, sends none of the
/// later ones ([`held_back`]).
async fn in_order<'b, F, Fut>(
    batches: &'b [Vec<(usize, Request)>],
    mut send: F,
) -> Vec<Vec<LineJob>>
where
    F: FnMut(&'b [(usize, Request)]) -> Fut,
    Fut: std::future::Future<Output = Vec<LineJob>>,
{
    let mut out = Vec::new();
    let mut unsent: Option<usize> = None;
    for batch in batches {
        let jobs = match unsent {
            Some(line) => held_back(batch, line),
            None => send(batch).await,
        };
        unsent = unsent.or_else(|| jobs.iter().find(|j| j.outcome.is_none()).map(|j| j.line));
        out.push(jobs);
    }
    out
}

/// The jobs of a FIFO backfill's batch after line `line`, which was not sent: none recorded
/// or sent, each saying why.
fn held_back(batch: &[(usize, Request)], line: usize) -> Vec<LineJob> {
    batch
        .iter()
        .map(|(l, r)| LineJob {
            line: *l,
            id: r.id.clone(),
            outcome: None,
            message_id: None,
            error: Some(format!(
                "not sent: line {line} was not, and the queue is FIFO: this job would overtake it; send from line {line} again"
            )),
            stored_body: None,
        })
        .collect()
}

/// The jobs in batches of at most [`BATCH_MAX`] messages and [`BATCH_BYTES`], in order.
fn batches(jobs: &[(usize, Request)]) -> Vec<Vec<(usize, Request)>> {
    let mut out: Vec<Vec<(usize, Request)>> = Vec::new();
    let mut bytes = 0;
    for (line, r) in jobs {
        let full = out
            .last()
            .is_none_or(|b| b.len() == BATCH_MAX || bytes + r.size() > BATCH_BYTES);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += r.size();
        if let Some(b) = out.last_mut() {
            b.push((*line, r.clone()));
        }
    }
    out
}

/// Where a batch goes: the queue, the environment's names (its bucket, for a stored body) and
/// the queue's largest message.
#[derive(Clone, Copy)]
struct Destination<'a> {
    /// The environment (its stage the jobs go to): what the hints name.
    env: &'a Environment,
    url: &'a str,
    names: &'a ResourceNames,
    limit: u64,
}

/// A body as it is sent (its text, and the size attribute of a stored body's pointer), or why
/// it could not be stored.
type Ready = std::result::Result<(String, Option<(String, String)>), String>;

/// `r`'s body as it is sent: as is, or over the queue's limit stored in the bucket and sent as
/// its pointer, `job` noting where it went.
async fn ready(clients: &Clients, to: Destination<'_>, r: &Request, job: &mut LineJob) -> Ready {
    if r.size() <= to.limit {
        return Ok((r.body.clone(), None));
    }
    match stored(clients, to.names, &r.body).await {
        Ok((pointer, size, at)) => {
            job.stored_body = Some(at);
            Ok((pointer, Some(size)))
        }
        Err(e) => Err(format!("its body could not be stored in the bucket: {e}")),
    }
}

/// One batch: each job recorded (with a table), a body over the queue's limit stored, the
/// ones to send sent together, a refused one's record marked failed as one `submit` marks it.
async fn one_batch(
    clients: &Clients,
    table: Option<&str>,
    to: Destination<'_>,
    stage: (Option<&str>, usize),
    retention: u32,
    batch: &[(usize, Request)],
) -> Vec<LineJob> {
    let mut jobs: Vec<LineJob> = batch
        .iter()
        .map(|(line, r)| LineJob {
            line: *line,
            id: r.id.clone(),
            outcome: Some(Outcome::Sent),
            message_id: None,
            error: None,
            stored_body: None,
        })
        .collect();
    let (written, sends) = match table {
        Some(table) => record_all(clients, table, stage, retention, batch, &mut jobs).await,
        None => (vec![None; batch.len()], vec![None; batch.len()]),
    };
    let to_send: Vec<usize> = (0..batch.len())
        .filter(|&i| matches!(jobs[i].outcome, Some(Outcome::Sent | Outcome::Resubmitted)))
        .collect();
    if to_send.is_empty() {
        return jobs;
    }
    let deliveries = deliver(clients, to, batch, (&to_send, &sends), &mut jobs).await;
    settle(
        clients,
        (table, to),
        batch,
        (&to_send, &written),
        deliveries,
        &mut jobs,
    )
    .await;
    jobs
}

/// Each job of `batch` recorded `queued` in the job table, at once; one whose record could not
/// be written is not sent (`jobs[i].outcome` none, its error said). The sequence each record's
/// `queued` got where this run wrote one, and the record's sequence each message sends (a
/// `--resend` sends the record as it stands).
async fn record_all(
    clients: &Clients,
    table: &str,
    stage: (Option<&str>, usize),
    retention: u32,
    batch: &[(usize, Request)],
    jobs: &mut [LineJob],
) -> (Vec<Option<u64>>, Vec<Option<u64>>) {
    let mut written: Vec<Option<u64>> = vec![None; batch.len()];
    let mut sends: Vec<Option<u64>> = vec![None; batch.len()];
    let recorded = futures::future::join_all(batch.iter().map(|(_, r)| {
        record(
            clients,
            table,
            (r.id.as_str(), MESSAGE_UPLOAD),
            stage,
            retention,
            (r.resend, r.group.as_deref(), r.priority),
        )
    }))
    .await;
    for (i, rec) in recorded.into_iter().enumerate() {
        match rec {
            Ok((outcome, seq, known)) => {
                jobs[i].outcome = Some(outcome);
                written[i] = seq;
                sends[i] = seq.or_else(|| known.and_then(|j| j.seq));
            }
            Err(e) => {
                jobs[i].outcome = None;
                jobs[i].error = Some(format!("not sent: its record could not be written: {e}"));
            }
        }
    }
    (written, sends)
}

/// The jobs `to_send` (places in `batch`) sent in one SendMessageBatch: what became of each, in
/// their order. Each body as it is sent: a body over the limit as its pointer, stored first; one
/// that could not be stored is not sent, and said so as a refused one is. To a FIFO queue, no
/// job goes after one of the batch that does not: it would overtake it in the group.
async fn deliver(
    clients: &Clients,
    to: Destination<'_>,
    batch: &[(usize, Request)],
    (to_send, sends): (&[usize], &[Option<u64>]),
    jobs: &mut [LineJob],
) -> Vec<Delivery> {
    let url = to.url;
    let fifo = url.ends_with(".fifo");
    let first_unsent = (0..batch.len()).find(|&i| jobs[i].outcome.is_none());
    let mut bodies: Vec<Ready> = Vec::new();
    for &i in to_send {
        let behind = first_unsent.is_some_and(|u| u < i) || bodies.iter().any(Result::is_err);
        bodies.push(if fifo && behind {
            Err("an earlier job of its batch was not sent, and the queue is FIFO: it would overtake it".into())
        } else {
            ready(clients, to, &batch[i].1, &mut jobs[i]).await
        });
    }
    let deduplication: Vec<Option<String>> = to_send
        .iter()
        .map(|&i| fifo.then(|| super::deduplication_id(&batch[i].1.id, sends[i])))
        .collect();
    let attributes: Vec<Vec<(String, String)>> = to_send
        .iter()
        .zip(&bodies)
        .map(|(&i, body)| {
            let r = &batch[i].1;
            let mut a = vec![(JOB_ID_ATTRIBUTE.to_string(), r.id.clone())];
            a.extend(r.attributes.iter().cloned());
            if let Ok((_, Some(size))) = body {
                a.push(size.clone());
            }
            a
        })
        .collect();
    // The messages of the bodies ready, by their place in `to_send`.
    let ready: Vec<usize> = (0..to_send.len()).filter(|&k| bodies[k].is_ok()).collect();
    let messages: Vec<Outgoing> = ready
        .iter()
        .map(|&k| {
            let i = to_send[k];
            Outgoing {
                body: bodies[k].as_ref().map_or("", |(b, _)| b.as_str()),
                attributes: &attributes[k],
                ordering: aws::QueueOrdering {
                    group: batch[i].1.group.as_deref(),
                    deduplication: deduplication[k].as_deref(),
                },
            }
        })
        .collect();
    let sent = if messages.is_empty() {
        Ok(Vec::new())
    } else {
        aws::send_message_batch(&clients.sqs, url, &messages).await
    };
    let mut sent = match sent {
        Ok(d) => d,
        Err(e) => {
            // Refused as a whole: none sent. Unanswered: any may have gone out.
            let refused = !matches!(e.kind, Kind::Unreachable | Kind::Malformed);
            let d = if refused {
                Delivery::Refused(e.to_string())
            } else {
                Delivery::Unknown(e.to_string())
            };
            vec![d; messages.len()]
        }
    }
    .into_iter();
    bodies
        .iter()
        .map(|b| match b {
            Err(why) => Delivery::Refused(why.clone()),
            Ok(_) => sent
                .next()
                .unwrap_or_else(|| Delivery::Unknown("SQS's answer did not mention it".into())),
        })
        .collect()
}

/// What became of each job `to_send`, said on it: its message id; refused, its record marked
/// failed as one `submit` marks it (`written`: the sequence this run's record got); or maybe
/// sent, with the command that shows whether a worker took it.
async fn settle(
    clients: &Clients,
    (table, to): (Option<&str>, Destination<'_>),
    batch: &[(usize, Request)],
    (to_send, written): (&[usize], &[Option<u64>]),
    deliveries: Vec<Delivery>,
    jobs: &mut [LineJob],
) {
    for (&i, delivery) in to_send.iter().zip(deliveries) {
        let key = (batch[i].1.id.as_str(), MESSAGE_UPLOAD);
        match delivery {
            Delivery::Sent(id) => jobs[i].message_id = Some(id),
            Delivery::Refused(why) => {
                jobs[i].outcome = None;
                let why = format!("not sent: {why}");
                let marked = match (table, written[i]) {
                    (Some(table), Some(seq)) => {
                        crate::jobs::table::unsent(&clients.dynamodb, table, key, seq, &why).await
                    }
                    _ => Ok(()),
                };
                jobs[i].error = Some(match marked {
                    Ok(()) => why,
                    Err(e) => format!(
                        "{why}; and its record could not be marked failed ({e}): it says queued"
                    ),
                });
            }
            Delivery::Unknown(why) => {
                jobs[i].outcome = None;
                jobs[i].error = Some(format!(
                    "it may have been sent ({why}): `{}` shows whether a worker took it, and --resend sends it again",
                    super::follow_command(to.env, &batch[i].1.id)
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Request {
        Request {
            body: String::new(),
            id: String::new(),
            attributes: vec![("source".into(), "backfill".into())],
            wait: None,
            resend: false,
            group: None,
            priority: false,
        }
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("jobs.jsonl");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    /// To a FIFO queue, the jobs after one not sent are neither recorded nor sent, and each
    /// says from which line to send again.
    #[test]
    fn a_fifo_backfill_holds_back_what_would_overtake_a_job_not_sent() {
        let (_dir, p) = file("{\"a\": 1}\n{\"a\": 2}\n");
        let lines = Lines::read(&p, None, &template(), None).unwrap();
        let held = held_back(&lines.jobs, 7);
        assert_eq!(held.len(), 2);
        for (j, (line, r)) in held.iter().zip(&lines.jobs) {
            assert_eq!((j.line, j.id.as_str()), (*line, r.id.as_str()));
            assert!(j.outcome.is_none() && j.message_id.is_none());
            let why = j.error.as_deref().unwrap();
            assert!(why.contains("line 7") && why.contains("FIFO"), "{why}");
        }
    }

    /// The FIFO loop itself: line 3 in the second batch is not sent; the rest of its batch
    /// came back from SQS as it did, the third batch is never handed to the sender.
    #[tokio::test]
    async fn a_fifo_backfill_sends_no_batch_after_one_with_a_job_not_sent() {
        let text: String = (1..=7).map(|i| format!("{{\"n\": {i}}}\n")).collect();
        let (_dir, p) = file(&text);
        let lines = Lines::read(&p, None, &template(), None).unwrap();
        let batches: Vec<Vec<(usize, Request)>> = lines.jobs.chunks(2).map(<[_]>::to_vec).collect();
        let mut handed = Vec::new();
        let sent = in_order(&batches, |batch| {
            handed.push(batch.iter().map(|(l, _)| *l).collect::<Vec<_>>());
            let jobs = batch
                .iter()
                .map(|(line, r)| LineJob {
                    line: *line,
                    id: r.id.clone(),
                    outcome: (*line != 3).then_some(Outcome::Sent),
                    message_id: None,
                    error: None,
                    stored_body: None,
                })
                .collect();
            async move { jobs }
        })
        .await;
        assert_eq!(
            handed,
            [vec![1, 2], vec![3, 4]],
            "nothing after line 3's batch"
        );
        let jobs: Vec<&LineJob> = sent.iter().flatten().collect();
        assert_eq!(jobs.len(), 7, "every line is accounted for");
        let sent_lines: Vec<usize> = jobs
            .iter()
            .filter(|j| j.outcome.is_some())
            .map(|j| j.line)
            .collect();
        assert_eq!(sent_lines, [1, 2, 4]);
        for j in jobs.iter().filter(|j| j.line > 4) {
            assert!(
                j.error
                    .as_deref()
                    .is_some_and(|e| e.contains("send from line 3 again")),
                "{j:?}"
            );
        }
    }

    #[test]
    fn each_line_is_a_job_with_its_number_and_the_given_attributes() {
        let (_d, p) = file("{\"photo\": 1}\n\n{\"photo\": 2}\r\n");
        let l = Lines::read(&p, Some("photo"), &template(), None).unwrap();
        let got: Vec<(usize, &str, &str)> = l
            .jobs
            .iter()
            .map(|(n, r)| (*n, r.id.as_str(), r.body.as_str()))
            .collect();
        assert_eq!(
            got,
            [(1, "1", "{\"photo\": 1}"), (3, "2", "{\"photo\": 2}")]
        );
        assert!(
            l.jobs
                .iter()
                .all(|(_, r)| r.attributes == template().attributes)
        );
        // Without --id-field, a new id each.
        let l = Lines::read(&p, None, &template(), None).unwrap();
        assert_ne!(l.jobs[0].1.id, l.jobs[1].1.id);
        assert_eq!(l.jobs[0].1.id.len(), 36);
    }

    #[test]
    fn a_bad_line_is_refused_by_its_number_before_anything_is_sent() {
        let cases = [
            (
                "{\"a\": 1}\nnot json\n",
                None,
                "jobs.jsonl:2: not a JSON value",
            ),
            (
                "{\"id\": \"x\"}\n{\"id\": \"x\"}\n",
                Some("id"),
                "jobs.jsonl:2: its id x is line 1's too",
            ),
            (
                "{\"a\": 1}\n",
                Some("id"),
                "jobs.jsonl:1: --id-field id: the line has no",
            ),
            (
                "{\"Records\": [{\"eventSource\": \"aws:s3\"}]}\n",
                None,
                "jobs.jsonl:1: it reads as an S3 event",
            ),
            ("\n\n", None, "no job: every line is empty"),
        ];
        for (text, field, want) in cases {
            let (_d, p) = file(text);
            let e = Lines::read(&p, field, &template(), None)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{text:?}: {e}");
            assert_eq!(
                Lines::read(&p, field, &template(), None)
                    .unwrap_err()
                    .exit_code(),
                crate::error::Exit::Input
            );
        }
    }

    #[test]
    fn batches_hold_at_most_ten_messages_and_one_mib() {
        let job = |n: usize, bytes: usize| {
            let mut r = template();
            r.body = "x".repeat(bytes);
            r.id = n.to_string();
            (n, r)
        };
        let small: Vec<_> = (1..=23).map(|n| job(n, 10)).collect();
        let sizes: Vec<usize> = batches(&small).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 3]);
        // Three of 400 KB: two fit in 1 MiB, the third starts a batch.
        let big: Vec<_> = (1..=3).map(|n| job(n, 400_000)).collect();
        let b = batches(&big);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
        assert!(
            b.iter()
                .all(|b| b.iter().map(|(_, r)| r.size()).sum::<u64>() <= BATCH_BYTES)
        );
        // The file's order is kept.
        let lines: Vec<usize> = batches(&small).concat().iter().map(|(n, _)| *n).collect();
        assert_eq!(lines, (1..=23).collect::<Vec<_>>());
    }
}
