//! Drift of the job table and the response queue (`jobs:`; docs/jobs.md): what the data
//! template declares, read back from DynamoDB and SQS. A setting that could not be read is
//! unchecked, never in sync.

use super::findings::Findings;
use crate::config::Environment;
use crate::jobs::table::{INDEX, TTL_ATTRIBUTE};
use crate::render::ids;
use crate::snapshot::{Fact, Snapshot};

/// The job table's billing, encryption, index, time to live and point-in-time recovery, and
/// the response queue's existence and encryption.
pub(super) fn check(f: &mut Findings, snap: &Snapshot, env: &Environment) {
    let Some(jobs) = env.spec.jobs else { return };
    let data = &snap.data.name;
    if let Some(table) = f.need(snap.job_table.as_ref(), data, ids::JOB_TABLE, "exists") {
        let settings = table
            .settings
            .clone()
            .unwrap_or(Fact::Unknown("its settings were not read".into()));
        if let Some(s) = f.need(Some(&settings), data, ids::JOB_TABLE, "exists") {
            let kms = env.spec.kms_key.as_deref();
            let protected = env.termination_protection();
            let want_pitr = if protected { "ENABLED" } else { "DISABLED" };
            let have_sse = match (&s.sse_type, &s.kms_key) {
                (Some(t), Some(k)) => format!("{t} {k}"),
                (Some(t), None) => t.clone(),
                (None, _) => "DynamoDB's AWS owned key".into(),
            };
            let want_sse = match kms {
                Some(k) => format!("KMS {k}"),
                None => "DynamoDB's AWS owned key".into(),
            };
            let ttl = format!(
                "{} on {}",
                s.time_to_live,
                s.time_to_live_attribute.as_deref().unwrap_or("nothing")
            );
            let billing = s.billing_mode.as_deref().unwrap_or("PROVISIONED");
            let checks = [
                (
                    "BillingMode",
                    "PAY_PER_REQUEST".to_string(),
                    billing.to_string(),
                ),
                ("SSESpecification", want_sse, have_sse),
                (
                    "TimeToLiveSpecification",
                    format!("ENABLED on {TTL_ATTRIBUTE}"),
                    ttl,
                ),
                (
                    "PointInTimeRecoverySpecification",
                    want_pitr.to_string(),
                    s.point_in_time_recovery.clone(),
                ),
                (
                    "GlobalSecondaryIndexes",
                    INDEX.to_string(),
                    s.indexes.join(", "),
                ),
            ];
            for (property, want, have) in checks {
                // An ARN and an id name the same key: compare the key id they end with.
                let same = want == have
                    || (property == "SSESpecification"
                        && want.rsplit('/').next() == have.rsplit('/').next());
                if !same {
                    f.diff(data, ids::JOB_TABLE, property, want, have);
                }
            }
        }
    }
    if jobs.response_queue
        && let Some(q) = f.need(
            snap.response_queue.as_ref(),
            data,
            ids::RESPONSE_QUEUE,
            "exists",
        )
    {
        let encrypted = q.attribute("SqsManagedSseEnabled") == Some("true")
            || q.attribute("KmsMasterKeyId").is_some();
        if !encrypted {
            f.diff(
                data,
                ids::RESPONSE_QUEUE,
                "encryption",
                "SSE-SQS or SSE-KMS",
                "none",
            );
        }
    }
}
