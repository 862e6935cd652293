//! What else feeds a stage's queue (`sources`), as the data template declares it: the
//! producers' managed policy and queue-policy statement, and each topic's subscription.

use crate::config::{Environment, FilterScope, ScheduleSpec, SourcesSpec};
use serde::Serialize;

/// A stage's sources, ready for the template.
#[derive(Serialize, Default)]
pub(super) struct Sources {
    /// `sources.messages` is set: the stage has a producers' managed policy.
    messages: bool,
    /// Other accounts' producers, each as the YAML of a principal: an account becomes its
    /// root ARN in the stack's partition (`!Sub`), an IAM ARN stays as written.
    producers: Vec<String>,
    topics: Vec<Topic>,
}

#[derive(Serialize)]
struct Topic {
    /// The subscription's part of its logical id: from a hash of the ARN, so reordering the
    /// list never replaces a subscription.
    id: String,
    arn: String,
    /// Raw delivery: the published body and attributes, as a direct message has them.
    raw: bool,
    /// The filter policy as JSON (a YAML flow mapping), when there is one.
    filter_policy: Option<String>,
    /// `MessageAttributes` or `MessageBody`.
    filter_scope: &'static str,
}

impl Sources {
    pub(super) fn of(spec: &SourcesSpec) -> Sources {
        let producers = spec
            .messages
            .iter()
            .flat_map(|m| m.producers.iter())
            .map(|p| {
                if p.starts_with("arn:") {
                    serde_json::Value::String(p.clone()).to_string()
                } else {
                    format!("!Sub \"arn:${{AWS::Partition}}:iam::{p}:root\"")
                }
            })
            .collect();
        let topics = spec
            .topics
            .iter()
            .map(|t| Topic {
                id: topic_id(&t.arn),
                arn: t.arn.clone(),
                raw: !t.envelope,
                filter_policy: t.filter_policy.as_ref().map(|p| p.to_string()),
                filter_scope: match t.filter_scope {
                    FilterScope::Attributes => "MessageAttributes",
                    FilterScope::Body => "MessageBody",
                },
            })
            .collect();
        Sources {
            messages: spec.messages.is_some(),
            producers,
            topics,
        }
    }
}

/// One schedule of the environment (`sources.schedules` of any stage), as the data template
/// declares it.
#[derive(Serialize)]
pub(super) struct Schedule {
    /// Its logical id: `Schedule` and eight hex digits of its name's CRC-32.
    id: String,
    name: String,
    /// `cron(…)` or `rate(…)`.
    expression: String,
    timezone: Option<String>,
    /// The flexible window in minutes (none: `OFF`).
    window_minutes: Option<u64>,
    /// What each run sends: qfleet's envelope, `{"qfleetSchedule": {...}, "body": …}`.
    input: String,
    paused: bool,
    /// The logical ids of the stage's queue and of the queue Scheduler sends what it could
    /// not deliver to: the stage's dead-letter queue, or for a FIFO stage the standard
    /// [`SCHEDULE_DEAD_LETTERS`].
    queue: String,
    dead_letter_queue: String,
    /// A FIFO stage's: the message group of its runs.
    group: Option<String>,
}

/// Where Scheduler keeps the runs it could not send to a FIFO stage: "EventBridge Scheduler
/// does not support using a FIFO queue as your schedule's DLQ"
/// (https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html), and
/// a FIFO stage's dead-letter queue is FIFO.
pub const SCHEDULE_DEAD_LETTERS: &str = "ScheduleDeadLetterQueue";

/// [`SCHEDULE_DEAD_LETTERS`] when a schedule sends to a FIFO stage, else `None`.
pub fn schedule_dead_letters(env: &Environment) -> Option<&'static str> {
    env.stages()
        .iter()
        .any(|s| s.spec.queue.fifo && !s.spec.sources.schedules.is_empty())
        .then_some(SCHEDULE_DEAD_LETTERS)
}

/// Every schedule of the environment, each with its stage's queues. A run's message carries
/// the schedule's name and the time it was due: Scheduler replaces
/// `<aws.scheduler.scheduled-time>` "with its respective value when your schedule invokes
/// the target" (Adding context attributes in EventBridge Scheduler,
/// https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html).
pub(super) fn schedules(env: &Environment) -> Vec<Schedule> {
    let mut out = Vec::new();
    for stage in env.stages() {
        let (queue, dead_letter_queue) = super::ids::stage_queues(stage);
        for s in &stage.spec.sources.schedules {
            out.push(Schedule {
                id: schedule_id(&s.name),
                name: s.name.clone(),
                expression: expression(s),
                timezone: s.timezone.clone(),
                window_minutes: s.window.map(|w| w.0 / 60),
                input: serde_json::json!({
                    "qfleetSchedule": {
                        "name": s.name,
                        "scheduled_time": "<aws.scheduler.scheduled-time>",
                    },
                    "body": s.body.clone().unwrap_or_else(|| serde_json::json!({})),
                })
                .to_string(),
                paused: s.paused,
                queue: queue.clone(),
                dead_letter_queue: if stage.spec.queue.fifo {
                    SCHEDULE_DEAD_LETTERS.to_string()
                } else {
                    dead_letter_queue.clone()
                },
                group: stage
                    .spec
                    .queue
                    .fifo
                    .then(|| s.group.clone().unwrap_or_else(|| s.name.clone())),
            });
        }
    }
    out
}

fn expression(s: &ScheduleSpec) -> String {
    match (&s.cron, &s.rate) {
        // Six fields always: the API reference says six, the User Guide makes the year
        // optional; with it both hold.
        (Some(cron), _) => {
            let mut fields: Vec<&str> = cron.split_whitespace().collect();
            if fields.len() == 5 {
                fields.push("*");
            }
            format!("cron({})", fields.join(" "))
        }
        (None, Some(rate)) => format!("rate({})", rate.trim()),
        // Validation requires one of them.
        (None, None) => String::new(),
    }
}

/// One source of a stage as its data stack names it: what `status` looks up there.
pub struct Deployed {
    /// `topic` or `schedule`.
    pub kind: &'static str,
    /// The topic's ARN, or the schedule's name.
    pub name: String,
    /// Raw delivery or SNS's envelope; the schedule's expression and time zone.
    pub detail: String,
    /// The resource's logical id in the data stack (the subscription's, the schedule's).
    pub logical_id: String,
    /// A schedule the stack file pauses.
    pub paused: bool,
}

/// The topics and schedules of `stage` (its own `sources`), with the logical ids the data
/// template gives their subscription and schedule.
pub fn deployed(stage: &Environment) -> Vec<Deployed> {
    let (queue, _) = super::ids::stage_queues(stage);
    let prefix = queue.strip_suffix("Queue").unwrap_or_default();
    let spec = &stage.spec.sources;
    let topics = spec.topics.iter().map(|t| Deployed {
        kind: "topic",
        name: t.arn.clone(),
        detail: if t.envelope {
            "SNS envelope"
        } else {
            "raw delivery"
        }
        .into(),
        logical_id: format!("{prefix}{}Subscription", topic_id(&t.arn)),
        paused: false,
    });
    let schedules = spec.schedules.iter().map(|s| Deployed {
        kind: "schedule",
        name: s.name.clone(),
        detail: match &s.timezone {
            Some(tz) => format!("{} {tz}", expression(s)),
            None => expression(s),
        },
        logical_id: schedule_id(&s.name),
        paused: s.paused,
    });
    topics.chain(schedules).collect()
}

/// `Schedule` and eight hex digits of its name's CRC-32 (names are unique in the environment).
fn schedule_id(name: &str) -> String {
    format!("Schedule{:08x}", crc32fast::hash(name.as_bytes()))
}

/// `Topic` and eight hex digits of the ARN's CRC-32: stable for one ARN, whatever its place in
/// the list.
pub fn topic_id(arn: &str) -> String {
    format!("Topic{:08x}", crc32fast::hash(arn.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topics_id_depends_on_its_arn_alone() {
        let a = topic_id("arn:aws:sns:eu-west-1:444455556666:orders");
        assert_eq!(a, topic_id("arn:aws:sns:eu-west-1:444455556666:orders"));
        assert_ne!(a, topic_id("arn:aws:sns:eu-west-1:444455556666:refunds"));
        assert!(a.starts_with("Topic") && a.len() == 13, "{a}");
    }
}
