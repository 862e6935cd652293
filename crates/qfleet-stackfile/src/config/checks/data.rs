//! The rules for the data stack's settings: the bucket's prefixes, log bucket and lifecycle, and
//! the queue's timeouts, retention and dead-letter settings.

use super::Checker;
use crate::config::Environment;

/// A key prefix qfleet accepts: S3's safe characters, ending in `/`.
pub(super) fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.ends_with('/')
        && !prefix.starts_with('/')
        && prefix.len() <= 512
        && prefix
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_./!*'()".contains(ch))
}

pub(super) fn check_bucket(c: &mut Checker, env: &Environment) {
    let b = &env.spec.bucket;
    for (field, prefix) in [
        ("bucket.upload_prefix", &b.upload_prefix),
        ("bucket.processed_prefix", &b.processed_prefix),
    ] {
        if !valid_prefix(prefix) {
            c.fail(field, format!("`{prefix}` is not a key prefix ending in /"));
        }
    }
    if b.upload_prefix.starts_with(&b.processed_prefix)
        || b.processed_prefix.starts_with(&b.upload_prefix)
    {
        c.fail(
            "bucket.processed_prefix",
            format!(
                "`{}` overlaps the upload prefix `{}`: processed objects would trigger new jobs",
                b.processed_prefix, b.upload_prefix
            ),
        );
    }
    for (field, prefix) in [
        ("bucket.upload_prefix", &b.upload_prefix),
        ("bucket.processed_prefix", &b.processed_prefix),
    ] {
        let stored = crate::config::STORED_BODIES;
        if prefix.starts_with(stored) || stored.starts_with(prefix.as_str()) {
            c.fail(
                field,
                format!("`{prefix}` overlaps `{stored}`, where job bodies over SQS's size limit are stored: choose another prefix"),
            );
        }
    }
    if let Some(logs) = &b.access_log_bucket {
        let ok = (3..=63).contains(&logs.len())
            && logs
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.');
        if !ok {
            c.fail(
                "bucket.access_log_bucket",
                format!("`{logs}` is not an S3 bucket name"),
            );
        }
    }
    c.range(
        "bucket.noncurrent_version_expiration_days",
        b.noncurrent_version_expiration_days.into(),
        1,
        3650,
        " days",
    );
    c.range(
        "bucket.abort_incomplete_multipart_days",
        b.abort_incomplete_multipart_days.into(),
        1,
        3650,
        " days",
    );
}

/// `jobs:`: the job table's retention.
pub(super) fn check_jobs(c: &mut Checker, env: &Environment) {
    if let Some(jobs) = &env.spec.jobs {
        c.range(
            "jobs.retention_days",
            jobs.retention_days.into(),
            1,
            365,
            " days",
        );
    }
}

pub(super) fn check_queue(c: &mut Checker, env: &Environment) {
    let q = &env.spec.queue;
    c.range(
        "queue.visibility_timeout",
        q.visibility_timeout.0,
        0,
        43_200,
        "s",
    );
    c.range(
        "queue.message_retention",
        q.message_retention.0,
        60,
        1_209_600,
        "s",
    );
    c.range("queue.receive_wait_time", q.receive_wait_time.0, 0, 20, "s");
    c.range("queue.dlq_retention", q.dlq_retention.0, 60, 1_209_600, "s");
    if q.oldest_message_alarm.0 < 60 {
        c.fail(
            "queue.oldest_message_alarm",
            format!(
                "{} is shorter than one alarm period (60s)",
                q.oldest_message_alarm
            ),
        );
    }
    if q.max_receive_count < 1 || q.max_receive_count > 1000 {
        c.fail(
            "queue.max_receive_count",
            format!(
                "{} is out of range (1 to 1000): a message must be received at least once before it moves to the dead-letter queue",
                q.max_receive_count
            ),
        );
    }
    let max_with_jobs = crate::config::schema::MAX_RECEIVES_WITH_JOBS;
    if env.spec.jobs.is_some() && q.max_receive_count > max_with_jobs {
        c.fail(
            "queue.max_receive_count",
            format!(
                "{} is more than {max_with_jobs} with jobs: on: each attempt adds to the job's history, and a DynamoDB item holds at most 400 KB",
                q.max_receive_count
            ),
        );
    }
    if let Some(r) = &q.retry {
        check_retry(c, q, r);
    }
    if let Some(t) = &q.tenant {
        check_tenant(c, env, t);
    }
    if let Some(p) = &q.priority {
        check_priority(c, env, p);
    }
    if q.dlq_retention <= q.message_retention {
        c.fail(
            "queue.dlq_retention",
            format!(
                "{} is not longer than queue.message_retention ({}): SQS keeps a message's original enqueue time, so it would expire in the dead-letter queue before anyone looks at it",
                q.dlq_retention, q.message_retention
            ),
        );
    }
}

/// `queue.retry`: each wait within what ChangeMessageVisibility takes, and every attempt
/// reached before SQS's retention deletes the message.
fn check_retry(c: &mut Checker, q: &crate::config::QueueSpec, r: &crate::config::RetrySpec) {
    // "Values range: 0 to 43200. Maximum: 12 hours." (ChangeMessageVisibility,
    // <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html>).
    c.range("queue.retry.backoff", r.backoff.0, 0, 43_200, "s");
    c.range("queue.retry.max_delay", r.max_delay.0, 0, 43_200, "s");
    if r.max_delay < r.backoff {
        c.fail(
            "queue.retry.max_delay",
            format!(
                "{} is shorter than queue.retry.backoff ({}): no wait could be as long as the first",
                r.max_delay, r.backoff
            ),
        );
    }
    // A message SQS keeps for message_retention from when it was sent, whatever its
    // receives: waits that add up to it delete the message before its last attempt, and it
    // never reaches the dead-letter queue ("Amazon SQS automatically deletes messages that
    // have been in a queue for more than the maximum message retention period",
    // <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-basic-architecture.html>).
    let attempts = u64::try_from(q.max_receive_count).unwrap_or(1);
    let waits = r.waits(attempts);
    if waits >= q.message_retention.0 {
        c.fail(
            "queue.retry",
            format!(
                "the waits between the {attempts} attempts (queue.max_receive_count) add up to {}, not shorter than queue.message_retention ({}): SQS would delete a failing message before its last attempt, and it would never reach the dead-letter queue; lower queue.retry.max_delay or raise queue.message_retention",
                crate::config::duration::Seconds(waits),
                q.message_retention
            ),
        );
    }
}

/// `queue.tenant`: one place to read a tenant from, of a form the workers read, where this
/// stage's jobs can carry it.
fn check_tenant(c: &mut Checker, env: &Environment, t: &crate::config::TenantSpec) {
    let set = [
        t.attribute.is_some(),
        t.key_segment.is_some(),
        t.json.is_some(),
    ];
    if set.iter().filter(|s| **s).count() != 1 {
        c.fail(
            "queue.tenant",
            "set exactly one of attribute, key_segment or json: where a job's tenant is read from",
        );
        return;
    }
    let first = env.stage.as_ref().is_none_or(|s| s.index == 0);
    let uploads = first && env.spec.sources.takes_uploads();
    let sources = &env.spec.sources;
    let messages = sources.messages.is_some() || !sources.topics.is_empty();
    if let Some(a) = &t.attribute {
        // A message attribute's name: "Can contain alphanumeric characters, hyphens (-),
        // underscores (_), and periods (.)", up to 256 characters, not starting with `AWS.`
        // or `Amazon.`, no two periods in a row, not starting or ending with one (Amazon SQS
        // message attributes,
        // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html).
        let lower = a.to_ascii_lowercase();
        let ok = (1..=256).contains(&a.len())
            && a.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
            && !a.starts_with('.')
            && !a.ends_with('.')
            && !a.contains("..")
            && !lower.starts_with("aws.")
            && !lower.starts_with("amazon.");
        if !ok {
            c.fail(
                "queue.tenant.attribute",
                format!(
                    "`{a}` is not a message attribute's name: 1 to 256 letters, digits, _ - and ., not starting with AWS. or Amazon."
                ),
            );
        } else if lower.starts_with("qfleet_") {
            c.fail(
                "queue.tenant.attribute",
                format!("`{a}`: names starting qfleet_ are qfleet's own, which submit refuses as yours: name the attribute that holds the customer or team"),
            );
        } else if a == qfleet_runtime::job_table::JOB_ID_ATTRIBUTE {
            c.fail(
                "queue.tenant.attribute",
                "job_id is each job's own id, so every job would be a tenant of its own: name the attribute that holds the customer or team",
            );
        }
    }
    if let Some(n) = t.key_segment {
        c.range("queue.tenant.key_segment", u64::from(n), 1, 10, "");
        let next_by_messages = env.stage.as_ref().is_some_and(|s| s.next_queue.is_some());
        if !uploads {
            c.fail(
                "queue.tenant.key_segment",
                "this stage takes no uploads, so its jobs have no key to read a tenant from: read it from an attribute or a JSON field (a later stage keeps the tenant its jobs came with)",
            );
        } else if !next_by_messages && env.spec.jobs.is_none() {
            // S3's event carries no message group: the tenant read from the key is a group
            // only where a worker sends the job on, and kept only in a job's record.
            c.fail(
                "queue.tenant.key_segment",
                "S3's event carries no message group, so a tenant read from the key is used only by a next stage fed by messages (the workers send the job on in it) or by the job's record (jobs:); this file has neither: add one, or remove queue.tenant",
            );
        }
    }
    if let Some(p) = &t.json {
        let ok = p.len() <= 256
            && p.split('.').count() <= 10
            && p.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "_-".contains(ch))
            });
        if !ok {
            c.fail(
                "queue.tenant.json",
                format!(
                    "`{p}` is not a dotted path: 1 to 10 field names of letters, digits, _ and -, joined by . (such as customer.id)"
                ),
            );
        }
    }
    if (t.attribute.is_some() || t.json.is_some()) && !messages {
        c.fail(
            "queue.tenant",
            "this stage's jobs are uploads, which carry no attributes or JSON body of the sender's: read the tenant from the key (key_segment), or declare sources.messages",
        );
    }
}

/// `queue.priority`: a lane something can send to, on a queue that keeps no order, with the
/// settings of its workers' kind.
fn check_priority(c: &mut Checker, env: &Environment, p: &crate::config::PrioritySpec) {
    let lambda = env.spec.workers.kind == crate::config::WorkerKind::Lambda;
    if env.spec.queue.fifo {
        c.fail(
            "queue.priority",
            "a FIFO queue runs a group's jobs in the order sent, and a second lane would let a group's urgent job pass the jobs before it: remove queue.priority, or queue.fifo",
        );
    }
    if let Some(w) = p.weight {
        if lambda {
            c.fail(
                "queue.priority.weight",
                "a function has a mapping on each lane, both polling at once, so there is no order to weigh: set queue.priority.max_concurrency (the priority lane's own invocations) instead",
            );
        } else {
            c.range("queue.priority.weight", u64::from(w), 1, 100, "");
        }
    }
    if let Some(n) = p.max_concurrency {
        if lambda {
            // "MaximumConcurrency: Minimum value of 2. Maximum value of 1000." (ScalingConfig,
            // https://docs.aws.amazon.com/lambda/latest/api/API_ScalingConfig.html).
            c.range("queue.priority.max_concurrency", u64::from(n), 2, 1000, "");
        } else {
            c.fail(
                "queue.priority.max_concurrency",
                "applies to workers.kind: lambda (the priority lane's mapping); instances and tasks take the priority lane first: set queue.priority.weight to let ordinary jobs through",
            );
        }
    }
    // What can send to the lane: `qfleet submit --priority` to the first stage or to a stage
    // with sources.messages, and the stage before, from its own priority lane, to a stage fed
    // by messages.
    let stage = env.stage.as_ref();
    let first = stage.is_none_or(|s| s.index == 0);
    let reached =
        first || env.spec.sources.messages.is_some() || stage.is_some_and(|s| s.priority_in);
    if !reached {
        c.fail(
            "queue.priority",
            "nothing would send to this stage's priority lane: qfleet submit --priority sends to the first stage or to a stage with sources.messages, and the stage before sends its priority jobs on only from a priority lane of its own to a stage fed by messages; add one of those, or remove queue.priority",
        );
    }
}
