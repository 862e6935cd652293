//! `qfleet send`: the smoke test a pipeline runs after a deploy. It puts a test object under
//! the upload prefix and follows it through the environment: the object was moved to the
//! processed prefix (the reference workers' convention: `uploads/<rest>` becomes
//! `processed/<rest>`), which implies its event reached the job queue; or, with
//! `--until queue` (an environment without running workers: a fresh deploy, a lab), that its
//! event reached the job queue, seen by looking into it. Each look counts as a receive of the
//! messages it returns (SQS has no other way to see a message), so the default never looks,
//! and `--until queue` looks at most half of `queue.max_receive_count` times: a look alone
//! never sends a job to the dead-letter queue. The first step that does not happen in time is
//! the failure.
//!
//! By default the queue is only counted (GetQueueAttributes, which receives nothing): its count
//! rising above what it held before the upload says the event arrived, so an upload that was
//! queued and never processed names the workers, and only one whose event never arrived names
//! the wiring. SQS's counts are approximate
//! (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html>):
//! a queue busy with other jobs may hide the rise, and the send then says it cannot tell.

mod cleanup;
pub(crate) mod errors;
mod job;
mod report;

pub(crate) use report::Sent;

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use report::schema;

use crate::aws::{self, Clients};
use crate::config::Environment;
use crate::error::{Error, Result};
use crate::render::ResourceNames;
use aws_sdk_s3::primitives::ByteStream;
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

/// How far to follow the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Until {
    /// Its event reached the job queue (the data stack's wiring: notification, topic,
    /// subscription, queue policy).
    Queue,
    /// A worker processed it: the object is under the processed prefix.
    Processed,
}

/// One step of the journey.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct Step {
    /// `uploaded`, `queued`, `processed`, or `job` (where the job table's record stands, with
    /// `jobs:`).
    #[schemars(extend("enum" = ["uploaded", "queued", "processed", "job"]))]
    step: &'static str,
    /// For a pipeline, the stage whose output `processed` is (each stage's, in order; the last
    /// one's is under the bucket's processed prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    stage: Option<String>,
    /// Milliseconds after the upload, when seen; `None`: it did not happen in time.
    after_ms: Option<u128>,
    /// How it was known.
    how: String,
}

/// What `send` removed of what it created once it had followed it, and what it left.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
struct Cleanup {
    /// What it removed: each object it wrote or a worker wrote for it (`s3://BUCKET/KEY`, with
    /// the versions and delete markers that appeared there during the send), and its message
    /// when it took it out of the job queue (`--until queue`).
    removed: Vec<String>,
    /// What it left in place and why (`null`: nothing): `--keep`, a step that did not happen
    /// in time (left for you to look at), or a listing or deletion that failed. A teardown
    /// counts what is left as data.
    left: Option<String>,
}

/// What the job queue's counts said of the upload's event (none is received to know).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Counted {
    /// Not counted: `--until queue` looks into the queue instead.
    #[default]
    Looked,
    /// The queue held nothing before the upload, and nothing since: the event never arrived.
    StayedEmpty,
    /// The queue held other messages, and its count never rose: whether the event arrived
    /// cannot be told.
    Busy { held: u64 },
    /// The count rose: the event arrived.
    Rose,
    /// The queue's count could not be read before the upload.
    Unreadable,
}

/// The test object's way from the upload.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub(crate) struct Journey {
    bucket: String,
    key: String,
    steps: Vec<Step>,
    /// The first step that did not happen in time.
    #[schemars(extend("enum" = [null, "queued", "processed"]))]
    missing: Option<&'static str>,
    /// For a pipeline, the stage of the missing `processed` step.
    #[serde(skip_serializing_if = "Option::is_none")]
    missing_stage: Option<String>,
    /// What the send removed after following its object, and what it left.
    cleanup: Cleanup,
    /// The job table's record of the upload as last read (`jobs:`; absent without a job
    /// table, `null` when no worker wrote one in time).
    #[serde(skip_serializing_if = "Option::is_none")]
    job: Option<Option<crate::jobs::table::Job>>,
    /// What the queue's counts said when its event was not seen otherwise. Not in the JSON (the
    /// `queued` step says it).
    #[serde(skip)]
    #[schemars(skip)]
    counted: Counted,
}

/// The key a test object goes to: `KEY` under the upload prefix, or a new unique name.
fn key_for(env: &Environment, key: Option<&str>) -> String {
    let prefix = &env.spec.bucket.upload_prefix;
    match key {
        Some(k) => format!("{prefix}{}", k.trim_start_matches('/')),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            format!("{prefix}qfleet-send-{nanos:x}.txt")
        }
    }
}

/// How often `--until queue` may look into the job queue (a pipeline's first stage's): at most
/// half of its maxReceiveCount, so that a message is never dead-lettered by looks alone.
fn looks(env: &Environment) -> u32 {
    (env.stages()[0].spec.queue.max_receive_count / 2).clamp(0, 10) as u32
}

/// What one send uploads and how far and how long it follows it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The object's key, under the upload prefix.
    key: String,
    body: Vec<u8>,
    until: Until,
    timeout: Duration,
    /// Leave what the send created in place (`--keep`).
    keep: bool,
}

impl Request {
    /// The send `env` is asked for: the file's bytes (a line naming the run without one), the
    /// key ([`key_for`]); refused when `--until queue` could not look into the queue even once
    /// without risking a dead letter ([`looks`]).
    pub(crate) fn new(
        env: &Environment,
        file: Option<&Path>,
        key: Option<&str>,
        until: Until,
        timeout: Duration,
        keep: bool,
    ) -> Result<Request> {
        let body = match file {
            Some(p) => {
                std::fs::read(p).map_err(|source| crate::jobs::errors::Usage::JobUnreadable {
                    path: p.to_path_buf(),
                    source,
                })?
            }
            None => format!("qfleet send: a test job for {}\n", env.name).into_bytes(),
        };
        if !env.stages()[0].spec.sources.takes_uploads() {
            return Err(crate::send::errors::Usage::NoUploads {
                env: env.name.clone(),
            }
            .into());
        }
        if until == Until::Queue && looks(env) == 0 {
            return Err(crate::send::errors::Usage::UntilQueue {
                max_receive_count: env.stages()[0].spec.queue.max_receive_count,
            }
            .into());
        }
        Ok(Request {
            key: key_for(env, key),
            body,
            until,
            timeout,
            keep,
        })
    }
}

/// Uploads the request's body to its key and follows it until `until`, at most `timeout`: for
/// a pipeline, through each stage's output to the last stage's, under the bucket's processed
/// prefix.
pub(crate) async fn send(
    clients: &Clients,
    env: &Environment,
    at: &crate::placement::StackNames,
    request: &Request,
) -> Result<Journey> {
    let Request {
        key,
        body,
        until,
        timeout,
        keep,
    } = request;
    let (key, body, until, timeout, keep) = (key.as_str(), body.clone(), *until, *timeout, *keep);
    // The uploads feed a pipeline's first stage.
    let names = ResourceNames::of(env.stages()[0]);
    let data_stack =
        crate::placement::check_data_stack(&clients.cfn, &clients.sts, env, at).await?;
    let account = aws::account_id(&clients.sts).await?;
    let bucket = format!("{}-{account}-{}", names.bucket, clients.region);
    let queue_url = aws::queue_url(&clients.sqs, &names.queue)
        .await?
        .ok_or_else(|| {
            Error::aws(format!(
                "{}: queue {} does not exist; is the environment deployed?",
                env.name, names.queue
            ))
        })?;
    let rest = key
        .strip_prefix(env.spec.bucket.upload_prefix.as_str())
        .ok_or_else(|| crate::send::errors::Usage::NotUnderPrefix {
            key: key.to_string(),
            prefix: env.spec.bucket.upload_prefix.clone(),
        })?;
    // Where each stage writes the object (one stage: the processed prefix). Each stage moves
    // the object on, so a stage's output may be gone before it is looked at: a later stage's
    // output implies every earlier one.
    let outputs: Vec<(Option<String>, String)> = env
        .stages()
        .iter()
        .map(|stage| {
            (
                stage
                    .stage
                    .as_ref()
                    .filter(|_| env.is_pipeline())
                    .map(|s| s.name.clone()),
                format!("{}{rest}", stage.spec.bucket.processed_prefix),
            )
        })
        .collect();
    // What the keys held before: only what appears at them during the send is its to remove.
    let mut keys = vec![key.to_string()];
    keys.extend(outputs.iter().map(|(_, k)| k.clone()));
    let before = cleanup::versions(&clients.s3, &bucket, &keys).await;
    // Without --until queue the queue is counted, never received from, against what it held
    // before the upload: read after it, the count may already hold the upload's own event (S3
    // may deliver it within a second), which would then never rise above it.
    let before_count = match until {
        Until::Processed => queue_count(clients, &queue_url).await,
        Until::Queue => None,
    };
    let put = clients
        .s3
        .put_object()
        .bucket(&bucket)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| {
            crate::aws::AwsError::from_sdk(&format!("uploading s3://{bucket}/{key}"), e)
        })?;
    // With a job table, the upload's record is followed too (its key and version).
    let follow = job::Follow::of(clients, env, &data_stack, key, put.version_id()).await?;
    let started = Instant::now();
    let mut steps = vec![Step {
        step: "uploaded",
        stage: None,
        after_ms: Some(0),
        how: format!("s3://{bucket}/{key}"),
    }];
    let watch = Watch {
        clients,
        env,
        bucket: &bucket,
        key,
        queue_url: &queue_url,
        outputs: &outputs,
        follow: follow.as_ref(),
        until,
        keep,
    };
    let Watched {
        queued,
        done,
        counted,
        taken,
        record,
    } = watch.run(started, timeout, before_count).await?;
    let kept_left = keep.then(|| kept(&bucket, key, &outputs, &done, &queued, taken.is_some()));
    let (mut missing, mut missing_stage) = (None, None);
    let mut push = |step: &'static str, stage: Option<String>, seen: Option<(u128, String)>| {
        if seen.is_none() && missing.is_none() {
            missing = Some(step);
            missing_stage = stage.clone();
        }
        steps.push(Step {
            step,
            stage,
            after_ms: seen.as_ref().map(|(t, _)| *t),
            how: seen.map(|(_, h)| h).unwrap_or_else(|| "not seen".into()),
        });
    };
    push("queued", None, queued);
    if until == Until::Processed {
        for ((stage, _), seen) in outputs.into_iter().zip(done) {
            push("processed", stage, seen);
        }
    }
    if let Some(j) = &record {
        steps.push(job::step(j, started.elapsed().as_millis()));
    }
    let cleanup = if keep {
        Cleanup {
            removed: Vec::new(),
            left: kept_left,
        }
    } else if missing.is_some() {
        Cleanup {
            removed: Vec::new(),
            left: Some(format!(
                "s3://{bucket}/{key} and its event, as they are: the send did not reach its last step, so they are left to look at; remove them yourself (a teardown counts them)"
            )),
        }
    } else {
        let message = match (until, taken) {
            (Until::Processed, _) => cleanup::Message::Consumed,
            (Until::Queue, Some(id)) => cleanup::Message::Taken {
                queue: aws::queue_name(&queue_url).to_string(),
                id,
            },
            (Until::Queue, None) => cleanup::Message::Unknown,
        };
        let mut c = cleanup::remove(clients, &bucket, &keys, before, message).await;
        if let (Some(f), Some(_), None) = (&follow, &record, &c.left) {
            match f.remove(clients).await {
                Ok(r) => c.removed.push(r),
                Err(why) => c.left = Some(format!("its job's record in {}: {why}", f.table)),
            }
        }
        c
    };
    Ok(Journey {
        bucket,
        key: key.to_string(),
        steps,
        missing,
        missing_stage,
        cleanup,
        job: follow.map(|_| record),
        counted,
    })
}

/// Where one send looks for its upload, and how far it follows it.
struct Watch<'a> {
    clients: &'a Clients,
    env: &'a Environment,
    bucket: &'a str,
    key: &'a str,
    queue_url: &'a str,
    /// Each stage's output key, by stage (a pipeline's) or not.
    outputs: &'a [(Option<String>, String)],
    follow: Option<&'a job::Follow>,
    until: Until,
    keep: bool,
}

/// What the watch of one upload saw: when it was queued and each stage's output appeared, how
/// the queue was counted, the message a look took, the job's record.
struct Watched {
    queued: Option<(u128, String)>,
    done: Vec<Option<(u128, String)>>,
    counted: Counted,
    taken: Option<String>,
    record: Option<crate::jobs::table::Job>,
}

impl Watch<'_> {
    /// Looks until the upload reaches `until` or `timeout` passes since `started`;
    /// `before_count`: what the queue held before the upload (`None`: not read).
    async fn run(
        &self,
        started: Instant,
        timeout: Duration,
        before_count: Option<u64>,
    ) -> Result<Watched> {
        let mut seen = Watched {
            queued: None,
            done: vec![None; self.outputs.len()],
            counted: match (self.until, before_count) {
                (Until::Processed, None) => Counted::Unreadable,
                _ => Counted::Looked,
            },
            taken: None,
            record: None,
        };
        let mut delay = Duration::from_millis(250);
        let mut looks_left = looks(self.env);
        while started.elapsed() < timeout {
            let finished = match self.until {
                Until::Queue => {
                    if seen.queued.is_none() && looks_left > 0 {
                        looks_left -= 1;
                        self.look_in_queue(&mut seen, started, timeout).await?;
                    }
                    seen.queued.is_some()
                }
                Until::Processed => {
                    let failed = self.look_for_outputs(&mut seen, started).await?;
                    if seen.queued.is_none()
                        && let Some(held) = before_count
                    {
                        self.count_queue(&mut seen, started, held).await;
                    }
                    failed || seen.done.last().is_some_and(Option::is_some)
                }
            };
            if finished {
                break;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        Ok(seen)
    }

    /// `--until queue`: one look into the job queue, long polling within what is left of the
    /// timeout (a look returns as soon as messages arrive).
    async fn look_in_queue(
        &self,
        seen: &mut Watched,
        started: Instant,
        timeout: Duration,
    ) -> Result<()> {
        let (key, keep) = (self.key, self.keep);
        let wait = timeout.saturating_sub(started.elapsed()).as_secs().min(10) as i32;
        let ours = |body: &str| crate::dlq::keys_of(body).iter().any(|k| k == key);
        // Taken out when it is the event of this one object alone (unless --keep).
        let alone = |body: &str| !keep && crate::dlq::keys_of(body) == [key];
        let looked =
            aws::look_at_letters(&self.clients.sqs, self.queue_url, wait, ours, alone).await?;
        if looked.seen {
            seen.taken = looked.taken;
            seen.queued = Some((
                started.elapsed().as_millis(),
                "seen in the job queue".to_string(),
            ));
        }
        Ok(())
    }

    /// The default: the latest stage output that exists, and the job's record. Whether the
    /// record says the job failed (nothing more will come).
    async fn look_for_outputs(&self, seen: &mut Watched, started: Instant) -> Result<bool> {
        let (clients, bucket) = (self.clients, self.bucket);
        for (i, (_, output)) in self.outputs.iter().enumerate().rev() {
            if seen.done[i].is_some() {
                break;
            }
            if crate::aws::object_exists(&clients.s3, bucket, output).await? {
                let at = started.elapsed().as_millis();
                seen.done[i] = Some((at, format!("s3://{bucket}/{output}")));
                for earlier in &mut seen.done[..i] {
                    earlier.get_or_insert((at, "implied: a later stage processed it".into()));
                }
                break;
            }
        }
        let mut failed = false;
        if let Some(f) = self.follow
            && let Some(j) = f.read(clients).await?
        {
            let at = started.elapsed().as_millis();
            seen.queued
                .get_or_insert((at, format!("in job table {}", f.table)));
            for (i, (stage, _)) in self.outputs.iter().enumerate() {
                if seen.done[i].is_none() && job::stage_done(&j, stage.as_deref()) {
                    seen.done[i] = Some((at, format!("job table {}: done", f.table)));
                }
            }
            failed = j.state == "failed";
            seen.record = Some(j);
        }
        if let Some(Some((at, _))) = seen.done.first() {
            // A worker took it from the queue before a look could see it there.
            seen.queued
                .get_or_insert((*at, "implied: a worker processed it".into()));
        }
        Ok(failed)
    }

    /// The default, not yet queued: the queue counted (never received from) against what it
    /// held before the upload.
    async fn count_queue(&self, seen: &mut Watched, started: Instant, held: u64) {
        let Ok(Some(q)) = aws::describe_queue(&self.clients.sqs, self.queue_url).await else {
            return;
        };
        let now = q.depth.total();
        if now > held {
            seen.counted = Counted::Rose;
            seen.queued = Some((
                started.elapsed().as_millis(),
                format!("the job queue's count rose from {held} to {now} (counted, not received)"),
            ));
        } else if held == 0 && now == 0 {
            seen.counted = Counted::StayedEmpty;
        } else {
            seen.counted = Counted::Busy {
                held: held.max(now),
            };
        }
    }
}

/// How many messages the queue holds, visible or in flight (`None`: the count could not be
/// read, which is never taken as empty).
async fn queue_count(clients: &Clients, queue_url: &str) -> Option<u64> {
    aws::describe_queue(&clients.sqs, queue_url)
        .await
        .ok()
        .flatten()
        .map(|q| q.depth.total())
}

/// What `--keep` left, as it stands: the last output a worker wrote (the upload moved, its
/// event consumed), else the upload and, when it reached the queue, its event there.
pub(crate) fn kept(
    bucket: &str,
    key: &str,
    outputs: &[(Option<String>, String)],
    done: &[Option<(u128, String)>],
    queued: &Option<(u128, String)>,
    looked_and_left: bool,
) -> String {
    let last_done = outputs
        .iter()
        .zip(done)
        .rev()
        .find(|(_, d)| d.is_some())
        .map(|((_, output), _)| output);
    match last_done {
        Some(output) => format!(
            "s3://{bucket}/{output}, the worker's output (it moved the upload and consumed its event): --keep"
        ),
        None if looked_and_left || queued.is_some() => {
            format!("s3://{bucket}/{key} and its event in the job queue: --keep")
        }
        None => format!("s3://{bucket}/{key}: --keep"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment whose uploads feed no queue: `send` refuses before it uploads anything,
    /// and says which command sends a job there.
    #[test]
    fn send_refuses_an_environment_that_takes_no_uploads() {
        let env = crate::config::parse(
            "stacks/t.yaml".into(),
            "region: eu-west-1\nsources: {uploads: false, messages: {}}\n".into(),
        )
        .unwrap()
        .into_only();
        let e = Request::new(
            &env,
            None,
            None,
            Until::Processed,
            Duration::from_secs(60),
            false,
        )
        .map(|_| ())
        .unwrap_err()
        .to_string();
        assert!(e.contains("qfleet submit t BODY"), "{e}");
    }
}

/// The queue is counted against what it held before the upload, read before the upload: S3 may
/// deliver the upload's event within a second, and a count read after the upload that already
/// holds it never rises above itself, so the send could not tell that the event arrived
/// (mocked AWS: the queue's count is 0 until the upload is put, 1 after; on LocalStack the
/// race shows only under load).
#[cfg(test)]
mod counted_before {
    use super::*;
    use crate::aws::mock::{Rules, describe_stacks, queue_attributes};
    use aws_sdk_cloudformation::types::StackStatus;
    use aws_smithy_mocks::mock;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn mocked_an_event_that_reaches_the_queue_at_once_is_seen_as_queued() {
        let env = crate::config::parse(
            std::path::PathBuf::from("stacks/sq.yaml"),
            "region: eu-west-1\n".into(),
        )
        .unwrap()
        .into_only();
        let put = Arc::new(AtomicBool::new(false));
        let stacks = describe_stacks(vec![(
            "qfleet-sq-data",
            Some((StackStatus::CreateComplete, false)),
        )]);
        let url = mock!(aws_sdk_sqs::Client::get_queue_url).then_output(|| {
            aws_sdk_sqs::operation::get_queue_url::GetQueueUrlOutput::builder()
                .queue_url("https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-sq-jobs")
                .build()
        });
        let seen = put.clone();
        // The event is in the queue as soon as the upload is.
        let count =
            mock!(aws_sdk_sqs::Client::get_queue_attributes).then_compute_output(move |_| {
                queue_attributes(u64::from(seen.load(Ordering::SeqCst)), 0, 0, &[])
            });
        let versions = mock!(aws_sdk_s3::Client::list_object_versions).then_output(|| {
            aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput::builder().build()
        });
        let setter = put.clone();
        let upload = mock!(aws_sdk_s3::Client::put_object).then_compute_output(move |_| {
            setter.store(true, Ordering::SeqCst);
            aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build()
        });
        // Nothing is processed: no worker runs.
        let absent = mock!(aws_sdk_s3::Client::head_object).then_error(|| {
            aws_sdk_s3::operation::head_object::HeadObjectError::NotFound(
                aws_sdk_s3::types::error::NotFound::builder().build(),
            )
        });
        let clients = Rules {
            cfn: vec![&stacks],
            sqs: vec![&url, &count],
            s3: vec![&versions, &upload, &absent],
            ..Rules::default()
        }
        .clients();
        let request = Request {
            key: "uploads/a.txt".into(),
            body: b"a".to_vec(),
            until: Until::Processed,
            timeout: Duration::from_millis(600),
            keep: true,
        };
        let journey = send(
            &clients,
            &env,
            &crate::placement::StackNames::default(),
            &request,
        )
        .await
        .unwrap();
        let queued = &journey.steps[1];
        assert_eq!(queued.step, "queued");
        assert!(
            queued.how.contains("rose from 0 to 1"),
            "the upload's own event counted as held before it: {}",
            queued.how
        );
        assert_eq!(journey.missing, Some("processed"));
    }
}
