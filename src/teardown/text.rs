//! What a teardown says of each environment when it ends: deleted, retained, emptied, refused,
//! cancelled or failed.

use super::TeardownOutcome;
use crate::output::words::count;

/// The environment's closing line, and a note on stderr (the refusal or error) when it was
/// not torn down.
pub(super) fn outcome(o: &TeardownOutcome) -> (String, Option<String>) {
    let secs = o.duration_ms as f64 / 1000.0;
    match &o.error {
        Some(e) => (
            format!("{}: NOT torn down ({secs:.1} s)", o.environment),
            Some(format!(
                "{}: {e}",
                if e.kind == "refused" {
                    "refused"
                } else {
                    "error"
                }
            )),
        ),
        None if o.cancelled => (
            format!("{} ({secs:.1} s)", crate::output::cancelled(&o.environment)),
            None,
        ),
        None if o.deleted.is_empty() => (format!("{}: nothing to tear down", o.environment), None),
        None => {
            let mut line = format!("{}: deleted {}", o.environment, o.deleted.join(", "));
            if o.purged_objects > 0 {
                line.push_str(&format!(
                    "; emptied the bucket ({})",
                    count(o.purged_objects, "object", "objects")
                ));
            }
            // `data` is there only when the data stack was deleted, its queues with it.
            let discarded = o.data.as_ref().map_or(0, super::messages_discarded);
            if discarded > 0 {
                line.push_str(&format!(
                    "; discarded {} (--discard-messages)",
                    count(discarded, "message", "messages")
                ));
            }
            if let Some(r) = &o.image_repository_deleted {
                line.push_str(&format!(
                    "; deleted ECR repository {r} ({})",
                    count(o.images_deleted, "image", "images")
                ));
            }
            if !o.retained.is_empty() {
                line.push_str(&format!("; retained: {}", o.retained.join(", ")));
            }
            (format!("{line} ({secs:.1} s)"), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::teardown::decide::{DataAtRisk, JobsAtRisk, StageQueues};

    fn torn_down(data: Option<DataAtRisk>) -> TeardownOutcome {
        TeardownOutcome {
            environment: "lab-01".into(),
            ok: true,
            cancelled: false,
            exit_code: crate::error::Exit::Ok,
            error: None,
            refusals: Vec::new(),
            deleted: vec!["qfleet-lab-01-fleet".into(), "qfleet-lab-01-data".into()],
            retained: Vec::new(),
            data,
            log_group: None,
            log_groups: Vec::new(),
            purged_objects: 0,
            endpoints_deleted: Vec::new(),
            endpoints_kept: Vec::new(),
            image_repository_deleted: None,
            images_deleted: 0,
            duration_ms: 1_500,
            instance_stacks: Vec::new(),
        }
    }

    #[test]
    fn the_closing_line_counts_the_messages_discarded_with_every_queue() {
        let data = DataAtRisk {
            queue: Some("q".into()),
            queue_messages: Some(4),
            dead_letter_queue: Some("dlq".into()),
            dead_letter_messages: Some(2),
            stages: vec![StageQueues {
                stage: "thumbs".into(),
                queue: Some("q2".into()),
                queue_messages: Some(3),
                ..StageQueues::default()
            }],
            jobs: Some(JobsAtRisk {
                response_queue: Some("r".into()),
                response_messages: Some(1),
                ..JobsAtRisk::default()
            }),
            ..DataAtRisk::default()
        };
        let (line, note) = outcome(&torn_down(Some(data)));
        assert_eq!(
            line,
            "lab-01: deleted qfleet-lab-01-fleet, qfleet-lab-01-data; discarded 10 messages (--discard-messages) (1.5 s)"
        );
        assert_eq!(note, None);
        // Empty queues (a fresh environment's: S3's test event never reaches them): nothing
        // discarded, nothing said.
        let empty = DataAtRisk {
            queue_messages: Some(0),
            dead_letter_messages: Some(0),
            ..DataAtRisk::default()
        };
        assert!(!outcome(&torn_down(Some(empty))).0.contains("discarded"));
        // The fleet alone: no data stack deleted, no queue counted.
        assert!(!outcome(&torn_down(None)).0.contains("discarded"));
    }
}
