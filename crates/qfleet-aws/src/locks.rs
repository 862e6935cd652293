//! The lock bucket and the S3 calls of the lock protocol (the root's `lock::protocol`): a
//! bucket qfleet keeps per account and Region (`qfleet-locks-ACCOUNT-REGION`), objects written
//! only under a condition, and read with S3's own clock.
//!
//! - A conditional write: PutObject with `If-None-Match: *` succeeds only when no object has
//!   the key, with `If-Match: ETAG` only while the object is the version that ETag names; S3
//!   answers 412 Precondition Failed when the condition does not hold, and may answer 409
//!   Conflict to one of two writes racing for a key (Conditional writes,
//!   <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>).
//! - A dated read: the object's Last-Modified against the `Date` of the answer that read it
//!   (both S3's), so that clients' clocks, which may each be minutes off, never decide.
//! - The bucket: created on first use with its public access blocked, encrypted at rest as
//!   every new bucket is (SSE-S3), the tag that says it is qfleet's, and a lifecycle rule that
//!   expires lock objects a day after their last write. No bucket policy: only qfleet's own
//!   calls reach it (over HTTPS, the SDK's default), and a deployer that may write bucket
//!   policies could open it. Every call names the expected owner (the account), so a bucket of that name in
//!   another account is refused, never written to
//!   (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html>).

use super::Result;
use super::error::{AwsError, Kind};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, CreateBucketConfiguration,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    PublicAccessBlockConfiguration, Tag, Tagging,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::date_time::{DateTime, Format};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The tag that marks the lock bucket as qfleet's.
pub const BUCKET_TAG: (&str, &str) = ("qfleet:purpose", "locks");

/// The lock bucket of an account and Region.
pub fn bucket_name(account: &str, region: &str) -> String {
    format!("qfleet-locks-{account}-{region}")
}

/// The lock bucket of `account` in the client's Region, created if it does not exist; a bucket
/// of that name that is not qfleet's (another account's, or one without qfleet's tag) is an
/// error, never used.
pub async fn ensure_bucket(s3: &Client, account: &str, region: &str) -> Result<String> {
    let bucket = bucket_name(account, region);
    let head = s3
        .head_bucket()
        .bucket(&bucket)
        .expected_bucket_owner(account)
        .send()
        .await;
    match head {
        Ok(_) => {}
        // S3 answers a HEAD request it refuses with 403 and no body, so no error code says
        // why: the caller may not read the bucket, or it is another account's (the expected
        // owner differs) (HeadBucket, "If the bucket does not exist or you do not have
        // permission to access it, the HEAD request returns a generic 400 Bad Request, 403
        // Forbidden or 404 Not Found code",
        // https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html).
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
            return Err(AwsError::with_kind(
                format!(
                    "reading the lock bucket {bucket}: access denied (HTTP 403): the credentials may not read it (s3:ListBucket), or another account owns a bucket of that name"
                ),
                Kind::AccessDenied,
            ));
        }
        Err(e) => {
            let e = AwsError::from_sdk(&format!("reading the lock bucket {bucket}"), e);
            if !e.is_not_found() {
                return Err(e);
            }
            create_bucket(s3, &bucket, account, region).await?;
        }
    }
    // Another run may be creating it right now: its tag comes last, within seconds.
    let mut ours = tagged(s3, &bucket, account).await?;
    for _ in 0..5 {
        if ours {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        ours = tagged(s3, &bucket, account).await?;
    }
    if !ours {
        return Err(AwsError::new(format!(
            "bucket {bucket} exists but is not qfleet's lock bucket (it has no {}={} tag): qfleet does not write to it; if another run is creating it right now, run again",
            BUCKET_TAG.0, BUCKET_TAG.1
        )));
    }
    Ok(bucket)
}

/// Whether the bucket carries qfleet's lock bucket tag.
async fn tagged(s3: &Client, bucket: &str, account: &str) -> Result<bool> {
    let tagging = s3
        .get_bucket_tagging()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("reading the tags of {bucket}"), e));
    match tagging {
        Ok(t) => Ok(t
            .tag_set()
            .iter()
            .any(|t| t.key() == BUCKET_TAG.0 && t.value() == BUCKET_TAG.1)),
        Err(e) if e.code() == Some("NoSuchTagSet") => Ok(false),
        Err(e) => Err(e),
    }
}

/// Creates the lock bucket: public access blocked, expired lock objects gone after a day, and
/// qfleet's tag last (so that a bucket with the tag is whole).
async fn create_bucket(s3: &Client, bucket: &str, account: &str, region: &str) -> Result<()> {
    let what = |step: &str| format!("creating the lock bucket {bucket}: {step}");
    let mut create = s3.create_bucket().bucket(bucket);
    // us-east-1 takes no location constraint (CreateBucket,
    // https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html).
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => {}
        Err(e) => {
            let e = AwsError::from_sdk(&what("CreateBucket"), e);
            // Another run of this account created it first: it goes on below.
            if e.code() != Some("BucketAlreadyOwnedByYou") {
                return Err(e);
            }
        }
    }
    s3.put_public_access_block()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&what("blocking public access"), e))?;
    let expire = LifecycleRule::builder()
        .id("expire-lock-objects")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(LifecycleExpiration::builder().days(1).build())
        .build()
        .map_err(|e| AwsError::new(what(&e.to_string())))?;
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(expire)
                .build()
                .map_err(|e| AwsError::new(what(&e.to_string())))?,
        )
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&what("its lifecycle rule"), e))?;
    let tag = Tag::builder()
        .key(BUCKET_TAG.0)
        .value(BUCKET_TAG.1)
        .build()
        .map_err(|e| AwsError::new(what(&e.to_string())))?;
    s3.put_bucket_tagging()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .tagging(
            Tagging::builder()
                .tag_set(tag)
                .build()
                .map_err(|e| AwsError::new(what(&e.to_string())))?,
        )
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&what("its tag"), e))?;
    Ok(())
}

/// Whether S3 refused a conditional write because its condition did not hold (412), or
/// because another conditional write to the key raced it (409).
fn condition_failed(e: &AwsError) -> bool {
    matches!(
        e.code(),
        Some("PreconditionFailed" | "ConditionalRequestConflict")
    )
}

/// The precondition of a conditional write.
#[derive(Debug, Clone, Copy)]
pub enum WriteIf<'a> {
    /// No object has the key.
    Absent,
    /// The object is the version with this ETag.
    Is(&'a str),
}

/// What a conditional write did.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Written: the new version's ETag.
    Done(String),
    /// Refused: the condition did not hold (412), or another conditional write to the key
    /// raced it (409).
    ConditionFailed,
}

/// Writes `body` (JSON) under `key` if `condition` holds; `what` names the write in errors.
pub async fn put_object_if(
    s3: &Client,
    bucket: &str,
    account: &str,
    key: &str,
    body: Vec<u8>,
    condition: WriteIf<'_>,
    what: &str,
) -> Result<Written> {
    let mut put = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(account)
        .content_type("application/json")
        .body(ByteStream::from(body));
    put = match condition {
        WriteIf::Absent => put.if_none_match("*"),
        WriteIf::Is(etag) => put.if_match(etag),
    };
    let out = match put.send().await {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::from_sdk(what, e);
            return if condition_failed(&e) {
                Ok(Written::ConditionFailed)
            } else {
                Err(e)
            };
        }
    };
    out.e_tag()
        .map(|etag| Written::Done(etag.to_string()))
        .ok_or_else(|| {
            AwsError::with_kind(format!("{what}: the answer has no ETag"), Kind::Malformed)
        })
}

/// An object as read: its body, its version, and how long ago S3 last wrote it by S3's own
/// clock (`None`: S3's answer did not say both times).
#[derive(Debug, Clone, PartialEq)]
pub struct DatedObject {
    pub body: Vec<u8>,
    pub etag: String,
    pub age: Option<Duration>,
}

/// The object under `key` (`None`: there is none); `what` names the read in errors.
pub async fn read_dated(
    s3: &Client,
    bucket: &str,
    account: &str,
    key: &str,
    what: &str,
) -> Result<Option<DatedObject>> {
    let date = ServerDate::default();
    let out = match s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(account)
        .customize()
        .interceptor(date.clone())
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::from_sdk(what, e);
            return match e.code() {
                Some("NoSuchKey") => Ok(None),
                _ => e.into_absent(),
            };
        }
    };
    let etag = out.e_tag().map(str::to_string).ok_or_else(|| {
        AwsError::with_kind(format!("{what}: the answer has no ETag"), Kind::Malformed)
    })?;
    let written = out.last_modified().copied();
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| AwsError::with_kind(format!("{what}: {e}"), Kind::Unreachable))?
        .into_bytes()
        .to_vec();
    let age = match (date.get(), written) {
        (Some(now), Some(then)) => Some(age(now, then)),
        _ => None,
    };
    Ok(Some(DatedObject { body, etag, age }))
}

/// How long before `now` `then` was (zero when `then` is later).
fn age(now: DateTime, then: DateTime) -> Duration {
    let secs = now.secs().saturating_sub(then.secs());
    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// The `Date` of an S3 answer: S3's clock when it answered.
#[derive(Debug, Clone, Default)]
struct ServerDate(Arc<Mutex<Option<DateTime>>>);

impl ServerDate {
    fn get(&self) -> Option<DateTime> {
        self.0.lock().ok().and_then(|d| *d)
    }
}

impl Intercept for ServerDate {
    fn name(&self) -> &'static str {
        "qfleet::aws::locks::ServerDate"
    }

    fn read_before_deserialization(
        &self,
        ctx: &BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        let date = ctx
            .response()
            .headers()
            .get("date")
            .and_then(|d| DateTime::from_str(d, Format::HttpDate).ok());
        if let (Some(d), Ok(mut slot)) = (date, self.0.lock()) {
            *slot = Some(d);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
