//! The lock protocol: one run at a time per environment, an object per environment in the
//! lock bucket, taken and handed on with S3's conditional writes alone
//! ([`crate::aws::put_object_if`], [`crate::aws::read_dated`]), so no other service is needed.
//!
//! - Taken: a write that succeeds only when no object has the key; S3 answers 412
//!   Precondition Failed when one does, and may answer 409 Conflict to one of two writes racing
//!   for a key (Conditional writes,
//!   <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>).
//! - Renewed, released and taken over: a write that replaces the object only while it is the
//!   version its ETag names: the holder renews its own (its Last-Modified moves on), releases
//!   it by writing it as released, and a run takes over a released or stale one only if nobody
//!   else did first. No DeleteObject is needed.
//! - Stale: no renewal for [`LEASE`], judged on S3's clock alone: the object's Last-Modified
//!   against the `Date` of the answer that read it (both S3's), so that clients' clocks, which
//!   may each be minutes off, never decide.

use crate::aws::{self, AwsError, DatedObject, WriteIf, Written};
use serde::{Deserialize, Serialize};
use std::time::Duration;

type Result<T> = std::result::Result<T, AwsError>;

/// How long a lock holds without a renewal: then another run may take it over.
pub(crate) const LEASE: Duration = Duration::from_secs(300);

/// How often a holder renews its lock: five chances within a lease.
pub(crate) const RENEW_EVERY: Duration = Duration::from_secs(60);

/// What a lock object says: which run holds it, for what, since when (the holder's clock,
/// for people), and whether it was released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Holder {
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
pub(crate) struct Held {
    pub bucket: String,
    pub key: String,
    pub account: String,
    etag: String,
}

/// Whose lock a run took, when it was another run's: that run's last requests may still be on
/// their way, and a lock taken over from a run that never released it is said.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum After {
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
pub(crate) enum Taken {
    /// Taken; `after`: from whom, when it was another run's.
    Held { held: Held, after: After },
    /// Another run holds it: who, and how long ago (S3's clock) it last renewed it.
    Busy {
        holder: Option<Holder>,
        renewed_ago: Option<Duration>,
    },
}

/// Takes the lock of `holder.environment` in `bucket`: a new one, or a released or stale one
/// taken over, or one whose holder's process `ended` says has ended; else who holds it.
pub(crate) async fn take(
    s3: &aws_sdk_s3::Client,
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
        if let Some(etag) = put(s3, bucket, account, &key, holder, WriteIf::Absent).await? {
            return Ok(held(etag, After::Nobody));
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
        if let Some(etag) = put(s3, bucket, account, &key, holder, WriteIf::Is(&found.etag)).await?
        {
            return Ok(held(etag, after));
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
pub(crate) async fn renew(
    s3: &aws_sdk_s3::Client,
    lock: &Held,
    holder: &Holder,
) -> Result<Option<Held>> {
    Ok(write_over(s3, lock, holder, holder)
        .await?
        .map(|etag| Held {
            etag,
            ..lock.clone()
        }))
}

/// Releases the lock: written as released (`interrupted`: by an interrupted run) over the
/// version this run wrote. `false`: another run had taken it over, and it is left to that run.
pub(crate) async fn release(
    s3: &aws_sdk_s3::Client,
    lock: &Held,
    holder: &Holder,
    interrupted: bool,
) -> Result<bool> {
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
    s3: &aws_sdk_s3::Client,
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
            WriteIf::Is(&etag),
        )
        .await?;
        if let Some(etag) = written {
            return Ok(Some(etag));
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

/// Writes `holder` as the lock object under `condition`; its new ETag, or `None` when S3
/// refused the write because its condition did not hold or another write raced it.
async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    account: &str,
    key: &str,
    holder: &Holder,
    condition: WriteIf<'_>,
) -> Result<Option<String>> {
    let stamped = Holder {
        write: next_write(),
        ..holder.clone()
    };
    let body = serde_json::to_vec(&stamped)
        .map_err(|e| AwsError::new(format!("writing the lock of {key}: {e}")))?;
    let what = format!("writing the lock of {key} in {bucket}");
    Ok(
        match aws::put_object_if(s3, bucket, account, key, body, condition, &what).await? {
            Written::Done(etag) => Some(etag),
            Written::ConditionFailed => None,
        },
    )
}

/// A lock object as read: its holder (`None`: not a lock qfleet can read), its version, and
/// how long ago S3 last wrote it (`None`: S3's answer did not say both times).
struct Found {
    holder: Option<Holder>,
    etag: String,
    renewed_ago: Option<Duration>,
}

/// The lock object under `key` (`None`: there is none).
async fn read(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    account: &str,
    key: &str,
) -> Result<Option<Found>> {
    let what = format!("reading the lock of {key} in {bucket}");
    Ok(aws::read_dated(s3, bucket, account, key, &what).await?.map(
        |DatedObject { body, etag, age }| Found {
            holder: serde_json::from_slice(&body).ok(),
            etag,
            renewed_ago: age,
        },
    ))
}

#[cfg(test)]
mod tests;
