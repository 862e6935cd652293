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

use crate::aws::Clients;
use crate::aws::account;
use crate::aws::dead_letters;
use crate::aws::queues;
use crate::config::Environment;
use crate::error::{Error, Result};
use crate::render::ResourceNames;
use aws_sdk_s3::primitives::ByteStream;
use serde::Serialize;
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
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `uploaded`, `queued` or `processed`.
    pub step: &'static str,
    /// Milliseconds after the upload, when seen; `None`: it did not happen in time.
    pub after_ms: Option<u128>,
    /// How it was known.
    pub how: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Journey {
    pub bucket: String,
    pub key: String,
    pub steps: Vec<Step>,
    /// The first step that did not happen in time.
    pub missing: Option<&'static str>,
}

/// The key a test object goes to: `KEY` under the upload prefix, or a new unique name.
pub fn key_for(env: &Environment, key: Option<&str>) -> String {
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

/// How often `--until queue` may look into the job queue: at most half of its
/// maxReceiveCount, so that a message is never dead-lettered by looks alone.
pub fn looks(env: &Environment) -> u32 {
    (env.spec.queue.max_receive_count / 2).clamp(0, 10) as u32
}

/// Uploads `body` to `key` and follows it until `until`, at most `timeout`.
pub async fn send(
    clients: &Clients,
    env: &Environment,
    key: &str,
    body: Vec<u8>,
    until: Until,
    timeout: Duration,
) -> Result<Journey> {
    let names = ResourceNames::of(env);
    let account = account::id(&clients.sts).await?;
    let bucket = format!("{}-{account}-{}", names.bucket, clients.region);
    let queue_url = queues::url_of(&clients.sqs, &names.queue)
        .await?
        .ok_or_else(|| {
            Error::aws(format!(
                "{}: queue {} does not exist; is the environment deployed?",
                env.name, names.queue
            ))
        })?;
    let rest = key
        .strip_prefix(env.spec.bucket.upload_prefix.as_str())
        .ok_or_else(|| {
            Error::usage(format!(
                "{key} is not under the upload prefix {}",
                env.spec.bucket.upload_prefix
            ))
        })?;
    let processed = format!("{}{rest}", env.spec.bucket.processed_prefix);
    clients
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
    let started = Instant::now();
    let mut steps = vec![Step {
        step: "uploaded",
        after_ms: Some(0),
        how: format!("s3://{bucket}/{key}"),
    }];
    let (mut queued, mut done) = (None, None);
    let mut delay = Duration::from_millis(250);
    let mut looks_left = looks(env);
    while started.elapsed() < timeout {
        if until == Until::Queue && queued.is_none() && looks_left > 0 {
            looks_left -= 1;
            // Long polling within what is left of the timeout: a look returns as soon as
            // messages arrive.
            let wait = timeout.saturating_sub(started.elapsed()).as_secs().min(10) as i32;
            if dead_letters::peek_visible(&clients.sqs, &queue_url, wait)
                .await?
                .iter()
                .any(|m| crate::dlq::keys_of(&m.body).iter().any(|k| k == key))
            {
                queued = Some((
                    started.elapsed().as_millis(),
                    "seen in the job queue".to_string(),
                ));
            }
        }
        if until == Until::Processed
            && crate::aws::buckets::object_exists(&clients.s3, &bucket, &processed).await?
        {
            let at = started.elapsed().as_millis();
            // A worker took it from the queue before a look could see it there.
            queued.get_or_insert((at, "implied: a worker processed it".into()));
            done = Some((at, format!("s3://{bucket}/{processed}")));
        }
        let finished = match until {
            Until::Queue => queued.is_some(),
            Until::Processed => done.is_some(),
        };
        if finished {
            break;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    let mut missing = None;
    let mut push = |step: &'static str, seen: Option<(u128, String)>| {
        if seen.is_none() && missing.is_none() {
            missing = Some(step);
        }
        steps.push(Step {
            step,
            after_ms: seen.as_ref().map(|(t, _)| *t),
            how: seen.map(|(_, h)| h).unwrap_or_else(|| "not seen".into()),
        });
    };
    push("queued", queued);
    if until == Until::Processed {
        push("processed", done);
    }
    Ok(Journey {
        bucket,
        key: key.to_string(),
        steps,
        missing,
    })
}
