//! The upload bucket: what it holds (every object version and delete marker), its event
//! notification, and emptying it (exactly what was listed, in batches sent concurrently).

use super::Result;
use super::error::{AwsError, Kind};
use aws_sdk_s3::Client;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use futures::StreamExt;
use serde::Serialize;

/// One object version or delete marker.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Version {
    pub key: String,
    pub version_id: Option<String>,
}

/// Everything a bucket holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Contents {
    /// Object versions and delete markers.
    #[serde(skip)]
    pub versions: Vec<Version>,
    pub objects: u64,
    pub bytes: u64,
}

/// Every object version and delete marker (`None`: S3 says there is no such bucket). The SDK has
/// no paginator for ListObjectVersions, so the markers are followed here; a page that says it
/// is truncated without the markers to go on is malformed.
pub async fn contents(s3: &Client, bucket: &str) -> Result<Option<Contents>> {
    contents_under(s3, bucket, None).await
}

/// Every version and delete marker of exactly the object `key` (`None`: no such bucket).
pub async fn versions_of(s3: &Client, bucket: &str, key: &str) -> Result<Option<Vec<Version>>> {
    Ok(contents_under(s3, bucket, Some(key))
        .await?
        .map(|c| c.versions.into_iter().filter(|v| v.key == key).collect()))
}

/// [`contents`] of the keys that start with `prefix` (all of them without one).
async fn contents_under(
    s3: &Client,
    bucket: &str,
    prefix: Option<&str>,
) -> Result<Option<Contents>> {
    let what = match prefix {
        Some(p) => format!("listing the versions of s3://{bucket}/{p}"),
        None => format!("listing the objects in bucket {bucket}"),
    };
    let mut c = Contents::default();
    let (mut key, mut version): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = match s3
            .list_object_versions()
            .bucket(bucket)
            .set_prefix(prefix.map(str::to_string))
            .set_key_marker(key.clone())
            .set_version_id_marker(version.clone())
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) => {
                let e = AwsError::from_sdk(&what, e);
                return e.into_absent();
            }
        };
        let malformed = || -> AwsError {
            AwsError::with_kind(
                format!("{what}: a listed version has no key"),
                Kind::Malformed,
            )
        };
        for v in page.versions() {
            c.versions.push(Version {
                key: v.key().ok_or_else(malformed)?.to_string(),
                version_id: v.version_id().map(str::to_string),
            });
            c.bytes += v.size().unwrap_or(0).max(0) as u64;
        }
        for m in page.delete_markers() {
            c.versions.push(Version {
                key: m.key().ok_or_else(malformed)?.to_string(),
                version_id: m.version_id().map(str::to_string),
            });
        }
        if page.is_truncated() != Some(true) {
            c.objects = c.versions.len() as u64;
            return Ok(Some(c));
        }
        key = page.next_key_marker().map(str::to_string);
        version = page.next_version_id_marker().map(str::to_string);
        if key.is_none() {
            return Err(AwsError::with_kind(
                format!("{what}: a truncated page without a marker to go on"),
                Kind::Malformed,
            ));
        }
    }
}

/// Objects S3 deletes in one DeleteObjects call (its documented maximum), and calls sent at once.
const BATCH: usize = 1000;
const CONCURRENT_BATCHES: usize = 8;

/// Per-key failures named in the error message; the rest are counted.
const NAMED_FAILURES: usize = 3;

/// Deletes exactly `versions` (object versions and delete markers) in DeleteObjects calls of
/// up to 1000, several at once, in quiet mode (S3 answers with the failures only); returns how
/// many were deleted. A key S3 lists under Errors in its 200 answer was not deleted: once every
/// batch has answered, any such key, or any batch that failed as a whole, makes this an error
/// that says how many versions were not deleted, and why for the first few.
pub async fn delete_versions(s3: &Client, bucket: &str, versions: &[Version]) -> Result<u64> {
    let what = format!("emptying bucket {bucket}");
    let batches = versions.chunks(BATCH).map(|chunk| {
        let what = format!("a batch of {}", chunk.len());
        async move {
            let outcome = delete_batch(s3, bucket, chunk, &what).await;
            (chunk.len() as u64, outcome)
        }
    });
    let mut results = futures::stream::iter(batches).buffer_unordered(CONCURRENT_BATCHES);
    let (mut deleted, mut not_deleted) = (0u64, 0u64);
    let mut reasons: Vec<String> = Vec::new();
    while let Some((sent, outcome)) = results.next().await {
        match outcome {
            Ok(failures) => {
                let failed = (failures.len() as u64).min(sent);
                deleted += sent - failed;
                not_deleted += failed;
                reasons.extend(failures);
            }
            Err(e) => {
                not_deleted += sent;
                reasons.push(e.to_string());
            }
        }
    }
    if not_deleted == 0 {
        return Ok(deleted);
    }
    let more = reasons.len().saturating_sub(NAMED_FAILURES);
    reasons.truncate(NAMED_FAILURES);
    if more > 0 {
        reasons.push(format!("{more} more"));
    }
    Err(AwsError::new(format!(
        "{what}: {not_deleted} of {} object versions were not deleted ({deleted} were): {}",
        versions.len(),
        reasons.join("; ")
    )))
}

/// Per-key error codes of a DeleteObjects answer that S3 documents as retryable: `SlowDown`
/// (503, "Please reduce your request rate") and `InternalError` (500, "We encountered an
/// internal error. Please try again."), https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html.
const RETRYABLE_KEY_ERRORS: &[&str] = &["SlowDown", "InternalError", "ServiceUnavailable"];

/// How often a key S3 answered with a retryable error is sent again, and the first pause
/// (doubled each time, with jitter).
const KEY_RETRIES: u32 = 5;
const KEY_RETRY_PAUSE: std::time::Duration =
    std::time::Duration::from_millis(if cfg!(test) { 1 } else { 200 });

/// One batch of DeleteObjects (`what` names it in errors), its keys that S3 answered with a
/// retryable error (SlowDown, InternalError) sent again with exponential backoff; `Ok` with
/// the keys that were finally not deleted (`key version: Code: message`), `Err` when a call
/// itself failed.
async fn delete_batch(
    s3: &Client,
    bucket: &str,
    chunk: &[Version],
    what: &str,
) -> Result<Vec<String>> {
    let mut pending: Vec<Version> = chunk.to_vec();
    let mut failures = Vec::new();
    let mut pause = KEY_RETRY_PAUSE;
    for attempt in 0..=KEY_RETRIES {
        if attempt > 0 {
            let jitter = fastrand::u64(0..=pause.as_millis() as u64 / 2);
            tokio::time::sleep(pause + std::time::Duration::from_millis(jitter)).await;
            pause *= 2;
        }
        let failed = delete_once(s3, bucket, &pending, what).await?;
        let (retry, lasting): (Vec<_>, Vec<_>) = failed
            .into_iter()
            .partition(|(_, code, _)| RETRYABLE_KEY_ERRORS.contains(&code.as_str()));
        failures.extend(lasting);
        if retry.is_empty() || attempt == KEY_RETRIES {
            failures.extend(retry);
            break;
        }
        pending = retry.into_iter().map(|(v, _, _)| v).collect();
    }
    Ok(failures
        .iter()
        .map(|(v, code, message)| describe_failure(v, code, message))
        .collect())
}

fn describe_failure(v: &Version, code: &str, message: &str) -> String {
    format!(
        "{}{}: {code}: {message}",
        v.key,
        v.version_id
            .as_deref()
            .map(|id| format!(" {id}"))
            .unwrap_or_default()
    )
}

/// One DeleteObjects call; the versions S3 listed under Errors, with its code and message.
async fn delete_once(
    s3: &Client,
    bucket: &str,
    chunk: &[Version],
    what: &str,
) -> Result<Vec<(Version, String, String)>> {
    let objects: Vec<ObjectIdentifier> = chunk
        .iter()
        .map(|v| {
            ObjectIdentifier::builder()
                .key(&v.key)
                .set_version_id(v.version_id.clone())
                .build()
        })
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| AwsError::new(format!("{what}: {e}")))?;
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .quiet(true)
        .build()
        .map_err(|e| AwsError::new(format!("{what}: {e}")))?;
    let out = s3
        .delete_objects()
        .bucket(bucket)
        .delete(delete)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(what, e))?;
    Ok(out
        .errors()
        .iter()
        .map(|e| {
            (
                Version {
                    key: e.key().unwrap_or("(no key)").to_string(),
                    version_id: e.version_id().map(str::to_string),
                },
                e.code().unwrap_or("(no code)").to_string(),
                e.message().unwrap_or("(no message)").to_string(),
            )
        })
        .collect())
}

/// One of the bucket's event notifications: to an SNS topic (the uploads) or to an SQS queue
/// (a later stage of a pipeline fed by objects).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// The topic's or the queue's ARN.
    pub target_arn: String,
    pub events: Vec<String>,
    /// Values of the key filter rules (`uploads/`).
    pub prefixes: Vec<String>,
}

/// The bucket's notifications to topics and to queues (`None`: no such bucket).
pub async fn notifications(s3: &Client, bucket: &str) -> Result<Option<Vec<Notification>>> {
    fn of(
        target: &str,
        events: &[aws_sdk_s3::types::Event],
        filter: Option<&aws_sdk_s3::types::NotificationConfigurationFilter>,
    ) -> Notification {
        Notification {
            target_arn: target.to_string(),
            events: events.iter().map(|e| e.as_str().to_string()).collect(),
            prefixes: filter
                .and_then(|f| f.key())
                .map(|k| {
                    k.filter_rules()
                        .iter()
                        .filter_map(|r| r.value().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
    match s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(n) => Ok(Some(
            n.topic_configurations()
                .iter()
                .map(|c| of(c.topic_arn(), c.events(), c.filter()))
                .chain(
                    n.queue_configurations()
                        .iter()
                        .map(|c| of(c.queue_arn(), c.events(), c.filter())),
                )
                .collect(),
        )),
        Err(e) => {
            let e = AwsError::from_sdk(&format!("reading the notification of bucket {bucket}"), e);
            e.into_absent()
        }
    }
}

/// Whether the object `key` exists (`false`: S3 says there is no such key; a 403 is an error,
/// not "absent").
pub async fn object_exists(s3: &Client, bucket: &str, key: &str) -> Result<bool> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => Ok(true),
        Err(e) => {
            let e =
                AwsError::from_sdk_or_missing(&format!("looking up s3://{bucket}/{key}"), e, |e| {
                    e.is_not_found()
                });
            if e.is_not_found() { Ok(false) } else { Err(e) }
        }
    }
}

/// Puts `body` at `key` (the function's deployment package in qfleet's code bucket).
pub async fn put_object(s3: &Client, bucket: &str, key: &str, body: Vec<u8>) -> Result<()> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(body))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("uploading s3://{bucket}/{key}"), e))?;
    Ok(())
}

/// Whether the bucket exists and is ours to read (`false`: S3 says there is no such bucket).
pub async fn exists(s3: &Client, bucket: &str) -> Result<bool> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) => {
            let e = AwsError::from_sdk_or_missing(&format!("looking up bucket {bucket}"), e, |e| {
                e.is_not_found()
            });
            if e.is_not_found() { Ok(false) } else { Err(e) }
        }
    }
}

/// The bucket's tags (empty: S3 answers NoSuchTagSet, "There is no tag set associated with the
/// bucket", GetBucketTagging,
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketTagging.html).
pub async fn tags(s3: &Client, bucket: &str) -> Result<std::collections::BTreeMap<String, String>> {
    match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()),
        Err(e) if super::error::error_code(&e).as_deref() == Some("NoSuchTagSet") => {
            Ok(Default::default())
        }
        Err(e) => Err(AwsError::from_sdk(
            &format!("reading the tags of bucket {bucket}"),
            e,
        )),
    }
}

#[cfg(test)]
mod tests;
