//! SQS queues: their depth and attributes, read the same way by status, drift and teardown.

use super::resources::queue_name;
use super::{error_code, sdk_error};
use crate::error::Result;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::HashMap;

/// Messages in a queue, as SQS approximates them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    pub visible: Option<u64>,
    pub in_flight: Option<u64>,
    pub delayed: Option<u64>,
}

impl Depth {
    /// Everything the queue holds: visible, in flight and delayed.
    pub fn total(&self) -> u64 {
        self.visible.unwrap_or(0) + self.in_flight.unwrap_or(0) + self.delayed.unwrap_or(0)
    }
}

/// The queue's attributes; empty when the queue does not exist.
pub async fn attributes(
    sqs: &Client,
    url: &str,
    names: &[QueueAttributeName],
) -> Result<HashMap<QueueAttributeName, String>> {
    match sqs
        .get_queue_attributes()
        .queue_url(url)
        .set_attribute_names(Some(names.to_vec()))
        .send()
        .await
    {
        Ok(o) => Ok(o.attributes().cloned().unwrap_or_default()),
        Err(e) if error_code(&e).is_some_and(|c| c.contains("NonExistentQueue")) => {
            Ok(HashMap::new())
        }
        Err(e) => Err(sdk_error(&format!("reading queue {}", queue_name(url)), e)),
    }
}

/// The queue's depth; `None` when the queue does not exist.
pub async fn depth(sqs: &Client, url: &str) -> Result<Option<Depth>> {
    let a = attributes(
        sqs,
        url,
        &[
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ],
    )
    .await?;
    if a.is_empty() {
        return Ok(None);
    }
    let get = |k: QueueAttributeName| a.get(&k).and_then(|v| v.parse::<u64>().ok());
    Ok(Some(Depth {
        visible: get(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        delayed: get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
    }))
}
