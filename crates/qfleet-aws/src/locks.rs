//! One run at a time per environment: a lock object per environment in a bucket qfleet keeps
//! per account and Region (`qfleet-locks-ACCOUNT-REGION`), taken and handed on with S3's
//! conditional writes alone, so no other service is needed.
//!
//! - Taken: PutObject with `If-None-Match: *` succeeds only when no object has the key; S3
//!   answers 412 Precondition Failed when one does, and may answer 409 Conflict to one of two
//!   writes racing for a key (Conditional writes,
//!   <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>).
//! - Renewed, released and taken over: PutObject with `If-Match: ETAG` replaces the object only
//!   while it is the version that ETag names: the holder renews its own (its Last-Modified
//!   moves on), releases it by writing it as released, and a run takes over a released or
//!   stale one only if nobody else did first. No DeleteObject is
//!   needed (S3 has conditional deletes too, but an emulator here does not serve them).
//! - Stale: no renewal for [`LEASE`], judged on S3's clock alone: the object's Last-Modified
//!   against the `Date` of the answer that read it (both S3's), so that clients' clocks, which
//!   may each be minutes off, never decide.
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
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a lock holds without a renewal: then another run may take it over.
pub const LEASE: Duration = Duration::from_secs(300);

/// How often a holder renews its lock: five chances within a lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(60);

/// The tag that marks the lock bucket as qfleet's.
pub const BUCKET_TAG: (&str, &str) = ("qfleet:purpose", "locks");

/// The lock bucket of an account and Region.
pub fn bucket_name(account: &str, region: &str) -> String {
    format!("qfleet-locks-{account}-{region}")
}

/// What a lock object says: which run holds it, for what, since when (the holder's clock,
/// for people), and whether it was released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub environment: String,
    /// The command that holds it (`deploy`, `teardown`).
    pub command: String,
    /// Who runs it: a CI run's address, else `user@host (pid N)`.
    pub holder: String,
    /// The run's own id: a run knows its lock by it.
    pub run: String,
    /// When the run took it (RFC 3339, the holder's clock).
    pub since: String,
    #[serde(default)]
    pub released: bool,
    /// Released by an interrupted run, whose last requests may still be on their way.
    #[serde(default)]
    pub interrupted: bool,
    /// The host and process of the run, so that a run on the same host can tell that the
    /// holder's process has ended (killed, crashed) and take the lock over at once.
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub pid: Option<u32>,
    /// A number new on every write, so that every write has an ETag of its own: an ETag of a
    /// single-part object is its content's MD5, and a renewal of the same words would keep
    /// it, letting a takeover that read the lock before the renewal still match it.
    #[serde(default)]
    pub write: u64,
}

/// A lock this run holds: the version of the object it wrote last.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub bucket: String,
    pub key: String,
    pub account: String,
    etag: String,
}

/// Whose lock a run took, when it was another run's: that run's last requests may still be on
/// their way, and a lock taken over from a run that never released it is said.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    /// Nobody's: new, or released by a run that ended as it should.
    Nobody,
    /// Taken over from a run whose process had ended (killed or crashed) without releasing it.
    Ended(Holder),
    /// Taken over from a run that had not renewed it for longer than [`LEASE`] (S3's clock),
    /// this long: crashed on another host, or cut off from S3. `None`: a lock object qfleet
    /// could not read.
    Stale {
        holder: Option<Holder>,
        renewed_ago: Duration,
    },
    /// An interrupted run that released it this long ago (S3's clock).
    Released(Duration),
}

/// What taking a lock found.
#[derive(Debug, Clone, PartialEq)]
pub enum Taken {
    /// Taken; `after`: from whom, when it was another run's.
    Held { held: Held, after: After },
    /// Another run holds it: who, and how long ago (S3's clock) it last renewed it.
    Busy {
        holder: Option<Holder>,
        renewed_ago: Option<Duration>,
    },
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

/// Takes the lock of `holder.environment` in `bucket`: a new one, or a released or stale one
/// taken over, or one whose holder's process `ended` says has ended; else who holds it.
pub async fn take(
    s3: &Client,
    bucket: &str,
    account: &str,
    holder: &Holder,
    ended: &(dyn Fn(&Holder) -> bool + Sync),
) -> Result<Taken> {
    let key = holder.environment.clone();
    let held = |etag: String, after: After| Taken::Held {
        held: Held {
            bucket: bucket.to_string(),
            key: key.clone(),
            account: account.to_string(),
            etag,
        },
        after,
    };
    // A few rounds: each lost race reads again what won it.
    for _ in 0..3 {
        match put(s3, bucket, account, &key, holder, Condition::Absent).await {
            Ok(etag) => return Ok(held(etag, After::Nobody)),
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(e),
        }
        let Some(found) = read(s3, bucket, account, &key).await? else {
            // Gone between the two calls (its day is over): try again.
            continue;
        };
        // This run's own write, whose answer was lost and whose retry then found it.
        if found.holder.as_ref().is_some_and(|h| ours(h, holder)) {
            return Ok(held(found.etag, After::Nobody));
        }
        let holder_ended = found.holder.as_ref().is_some_and(ended);
        if !(holder_ended || free(found.holder.as_ref(), found.renewed_ago)) {
            return Ok(Taken::Busy {
                holder: found.holder,
                renewed_ago: found.renewed_ago,
            });
        }
        let released = found.holder.as_ref().is_some_and(|h| h.released);
        let stale = found.renewed_ago.filter(|ago| *ago > LEASE);
        let after = match (found.holder.clone(), released, stale) {
            (holder, false, Some(renewed_ago)) => After::Stale {
                holder,
                renewed_ago,
            },
            (Some(holder), false, None) => After::Ended(holder),
            // Not reached: a lock neither released, stale nor of an ended holder is busy.
            (None, false, None) => After::Nobody,
            (Some(h), true, None) if h.interrupted => {
                // Released, S3's answer without its age: as if just now.
                After::Released(found.renewed_ago.unwrap_or(Duration::ZERO))
            }
            (_, true, _) => After::Nobody,
        };
        match put(
            s3,
            bucket,
            account,
            &key,
            holder,
            Condition::Is(&found.etag),
        )
        .await
        {
            Ok(etag) => return Ok(held(etag, after)),
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Err(AwsError::new(format!(
        "taking the lock of {key} in {bucket}: other runs kept changing it; run again"
    )))
}

/// Whether a lock object found may be taken over: released, or not renewed for longer than
/// [`LEASE`] by S3's clock. A lock whose age S3's answer did not give, or whose body qfleet
/// cannot read and is not stale, is held (fail closed).
pub(crate) fn free(holder: Option<&Holder>, renewed_ago: Option<Duration>) -> bool {
    let released = holder.is_some_and(|h| h.released);
    let stale = renewed_ago.is_some_and(|ago| ago > LEASE);
    released || stale
}

/// Renews the lock: the same holder written again over the version this run wrote. `None`:
/// another run took it over (this run went [`LEASE`] without renewing).
pub async fn renew(s3: &Client, lock: &Held, holder: &Holder) -> Result<Option<Held>> {
    Ok(write_over(s3, lock, holder, holder)
        .await?
        .map(|etag| Held {
            etag,
            ..lock.clone()
        }))
}

/// Releases the lock: written as released (`interrupted`: by an interrupted run) over the
/// version this run wrote. `false`: another run had taken it over, and it is left to that run.
pub async fn release(s3: &Client, lock: &Held, holder: &Holder, interrupted: bool) -> Result<bool> {
    let released = Holder {
        released: true,
        interrupted,
        ..holder.clone()
    };
    Ok(write_over(s3, lock, holder, &released).await?.is_some())
}

/// Writes `body` over the version of the lock this run (`me`) wrote; its new ETag. When that
/// version is gone, the lock is read again: a write of this run whose answer was lost (or a
/// renewal that landed after it was given up) is this run's still, and is written over;
/// another run's means the lock was taken over: `None`.
async fn write_over(
    s3: &Client,
    lock: &Held,
    me: &Holder,
    body: &Holder,
) -> Result<Option<String>> {
    let mut etag = lock.etag.clone();
    for _ in 0..3 {
        let written = put(
            s3,
            &lock.bucket,
            &lock.account,
            &lock.key,
            body,
            Condition::Is(&etag),
        )
        .await;
        match written {
            Ok(etag) => return Ok(Some(etag)),
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(e),
        }
        match read(s3, &lock.bucket, &lock.account, &lock.key).await? {
            Some(found) if found.holder.as_ref().is_some_and(|h| ours(h, me)) => {
                etag = found.etag;
            }
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Whether a lock object's holder is this run (its run id), not yet released.
fn ours(found: &Holder, me: &Holder) -> bool {
    found.run == me.run && !found.released
}

/// A number no earlier write of this process used: the time in nanoseconds, made to grow.
fn next_write() -> u64 {
    static LAST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let prev = LAST.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
    if now > prev {
        now
    } else {
        LAST.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1
    }
}

/// The precondition of a lock write.
enum Condition<'a> {
    /// No object has the key.
    Absent,
    /// The object is the version with this ETag.
    Is(&'a str),
}

/// Writes `holder` as the lock object under `condition`; its new ETag.
async fn put(
    s3: &Client,
    bucket: &str,
    account: &str,
    key: &str,
    holder: &Holder,
    condition: Condition<'_>,
) -> Result<String> {
    let stamped = Holder {
        write: next_write(),
        ..holder.clone()
    };
    let body = serde_json::to_vec(&stamped)
        .map_err(|e| AwsError::new(format!("writing the lock of {key}: {e}")))?;
    let mut put = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .expected_bucket_owner(account)
        .content_type("application/json")
        .body(ByteStream::from(body));
    put = match condition {
        Condition::Absent => put.if_none_match("*"),
        Condition::Is(etag) => put.if_match(etag),
    };
    let out = put
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("writing the lock of {key} in {bucket}"), e))?;
    out.e_tag().map(str::to_string).ok_or_else(|| {
        AwsError::with_kind(
            format!("writing the lock of {key} in {bucket}: the answer has no ETag"),
            Kind::Malformed,
        )
    })
}

/// A lock object as read: its holder (`None`: not a lock qfleet can read), its version, and
/// how long ago S3 last wrote it (`None`: S3's answer did not say both times).
struct Found {
    holder: Option<Holder>,
    etag: String,
    renewed_ago: Option<Duration>,
}

/// The lock object under `key` (`None`: there is none).
async fn read(s3: &Client, bucket: &str, account: &str, key: &str) -> Result<Option<Found>> {
    let what = format!("reading the lock of {key} in {bucket}");
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
            let e = AwsError::from_sdk(&what, e);
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
        .into_bytes();
    let renewed_ago = match (date.get(), written) {
        (Some(now), Some(then)) => Some(age(now, then)),
        _ => None,
    };
    Ok(Some(Found {
        holder: serde_json::from_slice(&body).ok(),
        etag,
        renewed_ago,
    }))
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
