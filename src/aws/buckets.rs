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
    let what = format!("listing the objects in bucket {bucket}");
    let mut c = Contents::default();
    let (mut key, mut version): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = match s3
            .list_object_versions()
            .bucket(bucket)
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

/// The bucket's notifications to SNS topics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicNotification {
    pub topic_arn: String,
    pub events: Vec<String>,
    /// Values of the key filter rules (`uploads/`).
    pub prefixes: Vec<String>,
}

/// The bucket's notifications to topics (`None`: no such bucket).
pub async fn topic_notifications(
    s3: &Client,
    bucket: &str,
) -> Result<Option<Vec<TopicNotification>>> {
    match s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(n) => Ok(Some(
            n.topic_configurations()
                .iter()
                .map(|c| TopicNotification {
                    topic_arn: c.topic_arn().to_string(),
                    events: c.events().iter().map(|e| e.as_str().to_string()).collect(),
                    prefixes: c
                        .filter()
                        .and_then(|f| f.key())
                        .map(|k| {
                            k.filter_rules()
                                .iter()
                                .filter_map(|r| r.value().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect(),
        )),
        Err(e) => {
            let e = AwsError::from_sdk(&format!("reading the notification of bucket {bucket}"), e);
            e.into_absent()
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::mock::Rules;
    use aws_sdk_s3::operation::delete_objects::{DeleteObjectsError, DeleteObjectsOutput};
    use aws_smithy_mocks::mock;
    use std::sync::{Arc, Mutex};

    fn versions(n: usize) -> Vec<Version> {
        (0..n)
            .map(|i| Version {
                key: format!("uploads/{i:05}"),
                version_id: Some(format!("v{i}")),
            })
            .collect()
    }

    /// Each DeleteObjects request: how many objects, its Quiet flag, the versions.
    type Sent = Arc<Mutex<Vec<(usize, Option<bool>, Vec<Version>)>>>;

    #[tokio::test]
    async fn mocked_exactly_the_listed_versions_go_in_quiet_batches_of_at_most_1000() {
        let sent: Sent = Arc::default();
        let seen = sent.clone();
        let rule = mock!(Client::delete_objects).then_compute_output(move |r| {
            let d = r.delete().map(|d| {
                (
                    d.objects().len(),
                    d.quiet(),
                    d.objects()
                        .iter()
                        .map(|o| Version {
                            key: o.key().to_string(),
                            version_id: o.version_id().map(str::to_string),
                        })
                        .collect(),
                )
            });
            seen.lock().unwrap().extend(d);
            DeleteObjectsOutput::builder().build()
        });
        let clients = Rules {
            s3: vec![&rule],
            ..Default::default()
        }
        .clients();
        let listed = versions(2500);
        let n = delete_versions(&clients.s3, "b", &listed).await.unwrap();
        assert_eq!(n, 2500);
        let sent = sent.lock().unwrap();
        let mut sizes: Vec<usize> = sent.iter().map(|(n, _, _)| *n).collect();
        sizes.sort();
        assert_eq!(sizes, [500, 1000, 1000]);
        assert!(sent.iter().all(|(_, quiet, _)| *quiet == Some(true)));
        let mut all: Vec<Version> = sent.iter().flat_map(|(_, _, v)| v.clone()).collect();
        all.sort();
        assert_eq!(all, listed, "exactly what was listed, each once");
    }

    #[tokio::test]
    async fn mocked_keys_listed_under_errors_in_a_200_answer_are_not_deleted() {
        // S3 answers 200 and lists the keys it could not delete under Errors (quiet mode lists
        // nothing else): those are not deleted, and the purge fails after every batch answered.
        let calls = Arc::new(Mutex::new(0));
        let counted = calls.clone();
        let rule = mock!(Client::delete_objects).then_compute_output(move |r| {
            *counted.lock().unwrap() += 1;
            let first = r
                .delete()
                .and_then(|d| d.objects().first())
                .map(|o| o.key().to_string())
                .unwrap_or_default();
            let out = DeleteObjectsOutput::builder();
            if first == "uploads/00000" {
                out.errors(
                    aws_sdk_s3::types::Error::builder()
                        .key("uploads/00007")
                        .version_id("v7")
                        .code("AccessDenied")
                        .message("Access Denied")
                        .build(),
                )
                .build()
            } else {
                out.build()
            }
        });
        let clients = Rules {
            s3: vec![&rule],
            ..Default::default()
        }
        .clients();
        let err = delete_versions(&clients.s3, "b", &versions(1500))
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(*calls.lock().unwrap(), 2, "every batch was sent");
        assert!(
            err.contains(
                "emptying bucket b: 1 of 1500 object versions were not deleted (1499 were)"
            ),
            "{err}"
        );
        assert!(
            err.contains("uploads/00007 v7: AccessDenied: Access Denied"),
            "{err}"
        );
    }

    /// S3's DeleteObjects answers 200 and names, per key, the ones it could not delete; `SlowDown`
    /// and `InternalError` are the documented retryable ones
    /// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html,
    /// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). Those keys are sent
    /// again with backoff, alone; a key refused for another reason is not.
    #[tokio::test]
    async fn as_aws_documents_keys_answered_slowdown_or_internalerror_are_sent_again() {
        let sent: Arc<Mutex<Vec<Vec<String>>>> = Arc::new(Mutex::new(Vec::new()));
        let seen = sent.clone();
        let rule = mock!(Client::delete_objects).then_compute_output(move |r| {
            let keys: Vec<String> = r
                .delete()
                .map(|d| d.objects().iter().map(|o| o.key().to_string()).collect())
                .unwrap_or_default();
            let round = {
                let mut s = seen.lock().unwrap();
                s.push(keys.clone());
                s.len()
            };
            let error = |key: &str, code: &str| {
                aws_sdk_s3::types::Error::builder()
                    .key(key)
                    .code(code)
                    .message(code)
                    .build()
            };
            let mut out = DeleteObjectsOutput::builder();
            for k in &keys {
                match (round, k.as_str()) {
                    (1, "uploads/00001") => out = out.errors(error(k, "SlowDown")),
                    (1 | 2, "uploads/00002") => out = out.errors(error(k, "InternalError")),
                    (_, "uploads/00003") => out = out.errors(error(k, "AccessDenied")),
                    _ => {}
                }
            }
            out.build()
        });
        let clients = Rules {
            s3: vec![&rule],
            ..Default::default()
        }
        .clients();
        let err = delete_versions(&clients.s3, "b", &versions(10))
            .await
            .unwrap_err()
            .to_string();
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 3, "{sent:?}");
        assert_eq!(sent[0].len(), 10);
        assert_eq!(sent[1], ["uploads/00001", "uploads/00002"]);
        assert_eq!(sent[2], ["uploads/00002"]);
        assert!(
            err.contains("1 of 10 object versions were not deleted (9 were)")
                && err.contains("uploads/00003: AccessDenied"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn mocked_a_batch_that_fails_as_a_whole_counts_as_not_deleted() {
        let rule = mock!(Client::delete_objects)
            .match_requests(|r| {
                r.delete()
                    .and_then(|d| d.objects().first())
                    .is_some_and(|o| o.key() == "uploads/01000")
            })
            .then_error(|| {
                DeleteObjectsError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("AccessDenied")
                        .message("Access Denied")
                        .build(),
                )
            });
        let ok =
            mock!(Client::delete_objects).then_output(|| DeleteObjectsOutput::builder().build());
        let clients = Rules {
            s3: vec![&rule, &ok],
            ..Default::default()
        }
        .clients();
        let err = delete_versions(&clients.s3, "b", &versions(1200))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("200 of 1200 object versions were not deleted (1000 were)"),
            "{err}"
        );
        assert!(
            err.contains("were): a batch of 200: access denied"),
            "{err}"
        );
    }
}
