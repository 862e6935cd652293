//! The upload bucket: what it holds (every object version and delete marker), its event
//! notification, and emptying it (exactly what was listed, in batches sent concurrently).

use super::error::{AwsError, Kind};
use crate::error::Result;
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
        let malformed = || -> crate::error::Error {
            AwsError::with_kind(
                format!("{what}: a listed version has no key"),
                Kind::Malformed,
            )
            .into()
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
            )
            .into());
        }
    }
}

/// Objects S3 deletes in one DeleteObjects call, and calls sent at once.
const BATCH: usize = 1000;
const CONCURRENT_BATCHES: usize = 8;

/// Deletes exactly `versions` (object versions and delete markers); returns how many.
pub async fn delete_versions(s3: &Client, bucket: &str, versions: &[Version]) -> Result<u64> {
    let what = format!("emptying bucket {bucket}");
    let batches = versions.chunks(BATCH).map(|chunk| {
        let what = what.clone();
        async move {
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
                .map_err(|e| AwsError::from_sdk(&what, e))?;
            if let Some(err) = out.errors().first() {
                return Err(AwsError::new(format!(
                    "{what}: {} {}: {}",
                    err.key().unwrap_or_default(),
                    err.code().unwrap_or_default(),
                    err.message().unwrap_or_default()
                ))
                .into());
            }
            Ok::<u64, crate::error::Error>(chunk.len() as u64)
        }
    });
    let mut results = futures::stream::iter(batches).buffer_unordered(CONCURRENT_BATCHES);
    let mut deleted = 0;
    while let Some(r) = results.next().await {
        deleted += r?;
    }
    Ok(deleted)
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
            if e.is_not_found() {
                Ok(false)
            } else {
                Err(e.into())
            }
        }
    }
}
