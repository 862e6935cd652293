//! SQS queues: their attributes and depth, read the same way by status, drift and teardown.

use super::Result;
use super::error::{AwsError, Kind};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Serialize;
use std::collections::BTreeMap;

/// Messages in a queue, as SQS approximates them. All three numbers are present, or the queue
/// was not read at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Depth {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

impl Depth {
    /// Everything the queue holds: visible, in flight and delayed.
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

/// One queue as SQS describes it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Queue {
    pub name: String,
    pub url: String,
    pub depth: Depth,
    /// Every attribute, by its AWS name (`VisibilityTimeout`, `RedrivePolicy`, …).
    pub attributes: BTreeMap<String, String>,
}

impl Queue {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    /// The dead-letter queue's ARN from the redrive policy, when there is one.
    pub fn dead_letter_target(&self) -> Option<String> {
        let redrive: serde_json::Value =
            serde_json::from_str(self.attribute("RedrivePolicy")?).ok()?;
        redrive["deadLetterTargetArn"].as_str().map(str::to_string)
    }
}

/// The queue's name: the last segment of its URL (or ARN).
pub fn queue_name(url: &str) -> &str {
    url.rsplit(['/', ':']).next().unwrap_or(url)
}

/// The queue with all its attributes; `None` when SQS says it does not exist. An answer without
/// the three depth numbers is malformed, never zero.
pub async fn read(sqs: &Client, url: &str) -> Result<Option<Queue>> {
    let name = queue_name(url);
    let what = format!("reading queue {name}");
    let out = match sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) => {
            let e = AwsError::from_sdk_or_missing(&what, e, |e| e.is_queue_does_not_exist());
            return e.into_absent();
        }
    };
    let attributes: BTreeMap<String, String> = out
        .attributes()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let number = |k: QueueAttributeName| -> Result<u64> {
        attributes
            .get(k.as_str())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| {
                AwsError::with_kind(
                    format!("{what}: the answer has no {}", k.as_str()),
                    Kind::Malformed,
                )
            })
    };
    let depth = Depth {
        visible: number(QueueAttributeName::ApproximateNumberOfMessages)?,
        in_flight: number(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)?,
        delayed: number(QueueAttributeName::ApproximateNumberOfMessagesDelayed)?,
    };
    Ok(Some(Queue {
        name: name.to_string(),
        url: url.to_string(),
        depth,
        attributes,
    }))
}

/// The URL of the queue named `name` (`None`: SQS says there is no such queue).
pub async fn url_of(sqs: &Client, name: &str) -> Result<Option<String>> {
    match sqs.get_queue_url().queue_name(name).send().await {
        Ok(o) => match o.queue_url() {
            Some(u) if !u.is_empty() => Ok(Some(u.to_string())),
            _ => Err(AwsError::with_kind(
                format!("looking up queue {name}: the answer has no URL"),
                Kind::Malformed,
            )),
        },
        Err(e) => {
            let e = AwsError::from_sdk_or_missing(&format!("looking up queue {name}"), e, |e| {
                e.is_queue_does_not_exist()
            });
            e.into_absent()
        }
    }
}

/// The attribute that says a message's body is stored in S3, and its size, as the Amazon SQS
/// Extended Client Library writes it (a Number): the workers read the body from the bucket.
pub const EXTENDED_PAYLOAD_SIZE: &str = "ExtendedPayloadSize";

/// Where a message goes: its group (a FIFO queue's order, or a fair queue's tenant) and, to a
/// FIFO queue, its deduplication id.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ordering<'a> {
    pub group: Option<&'a str>,
    pub deduplication: Option<&'a str>,
}

/// Sends one message to the queue at `url` with string message attributes
/// ([`EXTENDED_PAYLOAD_SIZE`] a Number); the message id SQS gave it.
pub async fn send(
    sqs: &Client,
    url: &str,
    body: &str,
    attributes: &[(String, String)],
    ordering: Ordering<'_>,
) -> Result<String> {
    let what = format!("sending a message to queue {}", queue_name(url));
    let mut call = sqs
        .send_message()
        .queue_url(url)
        .message_body(body)
        .set_message_group_id(ordering.group.map(str::to_string))
        .set_message_deduplication_id(ordering.deduplication.map(str::to_string));
    for (k, v) in attributes {
        let value = aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type(if k == EXTENDED_PAYLOAD_SIZE {
                "Number"
            } else {
                "String"
            })
            .string_value(v)
            .build()
            .map_err(|e| AwsError::with_kind(format!("{what}: {e}"), Kind::Malformed))?;
        call = call.message_attributes(k, value);
    }
    let out = call
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&what, e))?;
    out.message_id()
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            AwsError::with_kind(
                format!("{what}: the answer has no message id"),
                Kind::Malformed,
            )
        })
}

/// One message of a batch: its body, its String attributes, its group and deduplication id.
pub struct Outgoing<'a> {
    pub body: &'a str,
    pub attributes: &'a [(String, String)],
    pub ordering: Ordering<'a>,
}

/// What became of one message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Sent: its message id.
    Sent(String),
    /// Refused by SQS (its code and message): not sent.
    Refused(String),
    /// The answer does not say: it may have been sent.
    Unknown(String),
}

/// The most messages one SendMessageBatch takes: "A single message batch request can include
/// a maximum of 10 messages" (Amazon SQS message quotas,
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html>).
pub const BATCH_MAX: usize = 10;

/// Sends up to [`BATCH_MAX`] messages in one SendMessageBatch and says what became of each,
/// in the order given. "The result of sending each message is reported individually in the
/// response" (SendMessageBatch, Amazon SQS API Reference,
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html>):
/// a refused entry is [`Delivery::Refused`], one the answer leaves out [`Delivery::Unknown`].
/// A call that fails as a whole is an error (whether any went out is then unknown).
pub async fn send_batch(
    sqs: &Client,
    url: &str,
    messages: &[Outgoing<'_>],
) -> Result<Vec<Delivery>> {
    use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
    let what = format!("sending a batch of messages to queue {}", queue_name(url));
    let malformed = |e: aws_sdk_sqs::error::BuildError| {
        AwsError::with_kind(format!("{what}: {e}"), Kind::Malformed)
    };
    let mut call = sqs.send_message_batch().queue_url(url);
    for (i, m) in messages.iter().enumerate() {
        let mut entry = SendMessageBatchRequestEntry::builder()
            .id(i.to_string())
            .message_body(m.body)
            .set_message_group_id(m.ordering.group.map(str::to_string))
            .set_message_deduplication_id(m.ordering.deduplication.map(str::to_string));
        for (k, v) in m.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(malformed)?;
            entry = entry.message_attributes(k, value);
        }
        call = call.entries(entry.build().map_err(malformed)?);
    }
    let out = call
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&what, e))?;
    let mut results =
        vec![Delivery::Unknown("SQS's answer did not mention it".into()); messages.len()];
    for ok in out.successful() {
        if let Some(r) = ok
            .id()
            .parse::<usize>()
            .ok()
            .and_then(|i| results.get_mut(i))
        {
            *r = Delivery::Sent(ok.message_id().to_string());
        }
    }
    for failed in out.failed() {
        if let Some(r) = failed
            .id()
            .parse::<usize>()
            .ok()
            .and_then(|i| results.get_mut(i))
        {
            let why = format!(
                "{}: {}",
                failed.code(),
                failed.message().unwrap_or("no message")
            );
            // "SenderFault: Specifies whether the error happened due to the caller of the
            // batch API action" (BatchResultErrorEntry): either way SQS did not take it.
            *r = Delivery::Refused(why);
        }
    }
    Ok(results)
}

#[cfg(any(test, feature = "test-util"))]
impl Queue {
    /// A queue holding `visible` messages, with the given attributes.
    pub fn for_tests(name: &str, visible: u64, attrs: &[(&str, &str)]) -> Queue {
        Queue {
            name: name.into(),
            url: format!("https://q/{name}"),
            depth: Depth {
                visible,
                in_flight: 0,
                delayed: 0,
            },
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::operation::send_message::SendMessageOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    /// SDK-level mock: the request SQS receives carries the group (a fair queue's tenant on
    /// a standard queue) and the attributes, and no group when none is given.
    #[tokio::test]
    async fn a_send_carries_its_group_and_attributes_and_no_group_unasked() {
        let url = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-t-jobs";
        let grouped = mock!(Client::send_message)
            .match_requests(|r| {
                r.message_group_id() == Some("tenant-a")
                    && r.message_attributes()
                        .and_then(|a| a.get("job_id"))
                        .and_then(|v| v.string_value())
                        == Some("j-1")
            })
            .then_output(|| SendMessageOutput::builder().message_id("m-1").build());
        let ungrouped = mock!(Client::send_message)
            .match_requests(|r| r.message_group_id().is_none())
            .then_output(|| SendMessageOutput::builder().message_id("m-2").build());
        let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &[&grouped, &ungrouped]);
        let attrs = [("job_id".to_string(), "j-1".to_string())];
        let tenant = Ordering {
            group: Some("tenant-a"),
            deduplication: None,
        };
        let id = send(&sqs, url, "{}", &attrs, tenant).await.unwrap();
        assert_eq!(id, "m-1");
        let id = send(&sqs, url, "{}", &attrs, Ordering::default())
            .await
            .unwrap();
        assert_eq!(id, "m-2");
        assert_eq!((grouped.num_calls(), ungrouped.num_calls()), (1, 1));
    }

    /// SDK-level mock: to a FIFO queue, the request carries the group and the deduplication
    /// id, one batch entry as one message.
    #[tokio::test]
    async fn a_fifo_send_carries_its_group_and_deduplication_id() {
        use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput;
        use aws_sdk_sqs::types::SendMessageBatchResultEntry;
        let url = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-t-jobs.fifo";
        let one = mock!(Client::send_message)
            .match_requests(|r| {
                r.message_group_id() == Some("orders-42")
                    && r.message_deduplication_id() == Some("job-7")
            })
            .then_output(|| SendMessageOutput::builder().message_id("m-1").build());
        let batch = mock!(Client::send_message_batch)
            .match_requests(|r| {
                r.entries().iter().all(|e| {
                    e.message_group_id() == Some("orders-42")
                        && e.message_deduplication_id() == Some("job-8")
                })
            })
            .then_output(|| {
                let sent = SendMessageBatchResultEntry::builder()
                    .id("0")
                    .message_id("m-2")
                    .md5_of_message_body("x")
                    .build()
                    .unwrap();
                SendMessageBatchOutput::builder()
                    .successful(sent)
                    .set_failed(Some(vec![]))
                    .build()
                    .unwrap()
            });
        let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &[&one, &batch]);
        let ordering = |id| Ordering {
            group: Some("orders-42"),
            deduplication: Some(id),
        };
        let id = send(&sqs, url, "{}", &[], ordering("job-7")).await.unwrap();
        assert_eq!(id, "m-1");
        let out = Outgoing {
            body: "{}",
            attributes: &[],
            ordering: ordering("job-8"),
        };
        let results = send_batch(&sqs, url, &[out]).await.unwrap();
        assert_eq!(results, [Delivery::Sent("m-2".into())]);
        assert_eq!((one.num_calls(), batch.num_calls()), (1, 1));
    }

    /// SDK-level mock: each entry's result is read by its id, whatever order SQS answers in;
    /// a refused entry says why and one the answer leaves out is unknown.
    #[tokio::test]
    async fn a_batch_says_what_became_of_each_message_in_the_order_given() {
        use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput;
        use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchResultEntry};
        let url = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-t-jobs";
        let rule = mock!(Client::send_message_batch)
            .match_requests(|r| {
                let e = r.entries();
                e.len() == 3
                    && e.iter().map(|e| e.id()).collect::<Vec<_>>() == ["0", "1", "2"]
                    && e[1]
                        .message_attributes()
                        .and_then(|a| a.get("job_id"))
                        .and_then(|v| v.string_value())
                        == Some("b")
            })
            .then_output(|| {
                SendMessageBatchOutput::builder()
                    .successful(
                        SendMessageBatchResultEntry::builder()
                            .id("2")
                            .message_id("m-2")
                            .md5_of_message_body("x")
                            .build()
                            .unwrap(),
                    )
                    .failed(
                        BatchResultErrorEntry::builder()
                            .id("0")
                            .sender_fault(true)
                            .code("InvalidParameterValue")
                            .message("too long")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap()
            });
        let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &[&rule]);
        let attrs: Vec<[(String, String); 1]> = ["a", "b", "c"]
            .iter()
            .map(|id| [("job_id".to_string(), id.to_string())])
            .collect();
        let messages: Vec<Outgoing> = attrs
            .iter()
            .map(|a| Outgoing {
                body: "{}",
                attributes: a,
                ordering: Ordering::default(),
            })
            .collect();
        let results = send_batch(&sqs, url, &messages).await.unwrap();
        assert_eq!(
            results,
            [
                Delivery::Refused("InvalidParameterValue: too long".into()),
                Delivery::Unknown("SQS's answer did not mention it".into()),
                Delivery::Sent("m-2".into()),
            ]
        );
        assert_eq!(rule.num_calls(), 1);
    }
}
