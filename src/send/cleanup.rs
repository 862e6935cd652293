//! After `send` has followed its object, it removes what it created, so that the next teardown
//! finds nothing of it: the versions and delete markers that appeared at its keys during the
//! send (the upload, each stage's output; the bucket is versioned, so a worker's move leaves a
//! version and a delete marker at the upload key) and, with `--until queue`, the job message
//! its upload caused, deleted by the look that saw it ([`crate::aws::look_at_letters`]).
//! Only what appeared during the send is removed: a version a key held before it is not its
//! own. When its message was not taken (it held other events too), the object stays with it,
//! and the send says so.

use super::Cleanup;
use crate::aws::Clients;
use crate::aws::{self, ObjectVersion as Version};
use std::collections::BTreeSet;

/// The job message of the send's upload.
pub(super) enum Message {
    /// A worker processed the object, and deleted the message.
    Consumed,
    /// Seen in the job queue and deleted there by the look that saw it.
    Taken { queue: String, id: String },
    /// Seen in the queue but not taken out (it held other events too).
    Unknown,
}

/// Every version at `keys`, or why they could not be listed.
pub(super) async fn versions(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    keys: &[String],
) -> Result<BTreeSet<Version>, String> {
    let mut all = BTreeSet::new();
    for k in keys {
        match aws::object_versions(s3, bucket, k).await {
            Ok(Some(v)) => all.extend(v),
            Ok(None) => return Err(format!("bucket {bucket} does not exist")),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(all)
}

/// Removes what appeared at `keys` since `before`, after taking the message out of the queue
/// when it is still there.
pub(super) async fn remove(
    clients: &Clients,
    bucket: &str,
    keys: &[String],
    before: Result<BTreeSet<Version>, String>,
    message: Message,
) -> Cleanup {
    let upload = &keys[..1.min(keys.len())];
    let left = |why: String| Cleanup {
        removed: Vec::new(),
        left: Some(why),
    };
    let mut removed = Vec::new();
    match message {
        Message::Consumed => {}
        Message::Unknown => {
            return left(format!(
                "s3://{bucket}/{} and its event: the event could not be taken out of the job queue; remove them yourself (a teardown counts them)",
                upload.join(", ")
            ));
        }
        Message::Taken { queue, id } => removed.push(format!("its message {id} in queue {queue}")),
    }
    let before = match before {
        Ok(b) => b,
        Err(why) => {
            return Cleanup {
                removed,
                left: Some(format!(
                    "s3://{bucket}/{}: what its keys held before could not be listed ({why}), so nothing there was deleted",
                    upload.join(", ")
                )),
            };
        }
    };
    let after = match versions(&clients.s3, bucket, keys).await {
        Ok(a) => a,
        Err(why) => {
            return Cleanup {
                removed,
                left: Some(format!("the test object's versions: {why}")),
            };
        }
    };
    let new: Vec<Version> = after.difference(&before).cloned().collect();
    match aws::delete_object_versions(&clients.s3, bucket, &new).await {
        Ok(_) => {
            for k in keys {
                let n = new.iter().filter(|v| &v.key == k).count() as u64;
                if n > 0 {
                    removed.push(format!(
                        "s3://{bucket}/{k} ({})",
                        crate::output::words::count(
                            n,
                            "version or delete marker",
                            "versions and delete markers"
                        )
                    ));
                }
            }
            Cleanup {
                removed,
                left: None,
            }
        }
        Err(e) => Cleanup {
            removed,
            left: Some(format!("the test object's versions: {e}")),
        },
    }
}
