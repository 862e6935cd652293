//! S3's test event is not data: a fresh queue fed by a bucket holds one (S3 sends it when the
//! bucket's notification is put), and a teardown that counted it would refuse to delete an
//! environment nobody used. SQS cannot show a message without receiving it, so a teardown
//! looks only at a queue that holds a few messages ([`MAX_HELD`]), receives at most 10 of them
//! for at most 30 s and makes them visible again at once (ChangeMessageVisibility 0), deleting
//! none: a look counts as one receive of each message toward the queue's maxReceiveCount, which
//! is why it looks at so few, and only when the teardown would otherwise refuse for them
//! (never with `--discard-messages`, nor in a teardown that cannot go ahead: without `--yes`
//! and without a terminal to ask on). A message is left out of the count only when it is
//! exactly S3's test event for this environment's bucket ([`crate::aws::test_event`]); a look
//! that fails leaves every message counted.

use crate::aws::Clients;
use crate::aws::dead_letters;
use crate::aws::queues::Queue;
use crate::aws::test_event::is_s3_test_event;
use crate::snapshot::{Fact, Snapshot};

/// The most messages a queue may hold for a teardown to look at them: S3 sends one test
/// event each time the bucket's notification is put (a deploy that changes it).
pub const MAX_HELD: u64 = 5;

/// Counts the test events among the messages of `snap`'s queues, for `bucket` (the
/// environment's, the first stage's for a pipeline) and `topic` (the topic's ARN, for a
/// message SNS wrapped).
pub async fn count(
    clients: &Clients,
    snap: &mut Snapshot,
    bucket: Option<&str>,
    topic: Option<&str>,
) {
    let Some(bucket) = bucket else { return };
    let (queue, dead_letter_queue) = tokio::join!(
        in_queue(clients, &snap.queue, bucket, topic),
        in_queue(clients, &snap.dead_letter_queue, bucket, topic),
    );
    snap.test_events.queue = queue;
    snap.test_events.dead_letter_queue = dead_letter_queue;
}

async fn in_queue(
    clients: &Clients,
    queue: &Fact<Queue>,
    bucket: &str,
    topic: Option<&str>,
) -> u64 {
    let Fact::Known(q) = queue else { return 0 };
    let held = q.depth.total();
    if held == 0 || held > MAX_HELD {
        return 0;
    }
    let what = format!("looking for S3's test event in queue {}", q.name);
    // Up to 10, more than MAX_HELD: the depth SQS reports is approximate, so a message it
    // does not count yet is seen, and counted as data, too.
    match dead_letters::peek_as(&clients.sqs, &q.url, 10, &what).await {
        Ok(seen) => recognised(held, seen.iter().map(|m| m.body.as_str()), bucket, topic),
        Err(e) => {
            tracing::debug!("{e}");
            0
        }
    }
}

/// How many of a queue's messages are left out of its count: the test events seen, unless the
/// look saw more messages than the queue was counted with (then some data arrived meanwhile,
/// and it is counted whole).
pub fn recognised<'a>(
    held: u64,
    bodies: impl Iterator<Item = &'a str>,
    bucket: &str,
    topic: Option<&str>,
) -> u64 {
    let (mut seen, mut tests) = (0u64, 0u64);
    for body in bodies {
        seen += 1;
        if is_s3_test_event(body, bucket, topic) {
            tests += 1;
        }
    }
    if seen > held { 0 } else { tests }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUCKET: &str = "qfleet-lab-000000000000-eu-west-1";

    fn test_event(bucket: &str) -> String {
        serde_json::json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-24T10:00:00.000Z", "Bucket": bucket, "RequestId": "R", "HostId": "H"}).to_string()
    }

    #[test]
    fn only_our_test_events_are_left_out() {
        let ours = test_event(BUCKET);
        let theirs = test_event("other");
        let job = r#"{"Records":[{"s3":{"object":{"key":"uploads/a"}}}]}"#.to_string();
        assert_eq!(recognised(1, [ours.as_str()].into_iter(), BUCKET, None), 1);
        assert_eq!(
            recognised(
                3,
                [ours.as_str(), theirs.as_str(), job.as_str()].into_iter(),
                BUCKET,
                None
            ),
            1
        );
        // Seen fewer than held: the unseen ones stay counted (the caller subtracts only these).
        assert_eq!(recognised(2, [ours.as_str()].into_iter(), BUCKET, None), 1);
        // More seen than held: the count is stale, nothing is left out.
        assert_eq!(
            recognised(1, [ours.as_str(), job.as_str()].into_iter(), BUCKET, None),
            0
        );
    }
}
