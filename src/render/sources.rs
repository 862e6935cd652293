//! What else feeds a stage's queue (`sources`), as the data template declares it: the
//! producers' managed policy and queue-policy statement, and each topic's subscription.

use crate::config::{FilterScope, SourcesSpec};
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

/// `Topic` and eight hex digits of the ARN's CRC-32: stable for one ARN, whatever its place in
/// the list.
pub(crate) fn topic_id(arn: &str) -> String {
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
