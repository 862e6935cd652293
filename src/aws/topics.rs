//! SNS: the subscription that carries the bucket's events from the topic to the queue.

use super::Result;
use super::error::AwsError;
use aws_sdk_sns::Client;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subscription {
    pub arn: String,
    /// RawMessageDelivery: the queue gets the S3 event itself, not an SNS envelope.
    pub raw_delivery: bool,
}

/// The topic's confirmed SQS subscription of the queue whose name is `queue` (`None`: there is
/// none), with its delivery setting. Reads every page of the topic's subscriptions.
pub async fn queue_subscription(
    sns: &Client,
    topic: &str,
    queue: &str,
) -> Result<Option<Subscription>> {
    let suffix = format!(":{queue}");
    let mut pages = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .into_paginator()
        .send();
    let mut arn = None;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("listing the topic's subscriptions", e))?;
        arn = page
            .subscriptions()
            .iter()
            .find(|s| {
                s.protocol() == Some("sqs") && s.endpoint().is_some_and(|e| e.ends_with(&suffix))
            })
            .and_then(|s| s.subscription_arn())
            .filter(|a| a.starts_with("arn:"))
            .map(str::to_string);
        if arn.is_some() {
            break;
        }
    }
    let Some(arn) = arn else { return Ok(None) };
    let attrs = sns
        .get_subscription_attributes()
        .subscription_arn(&arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("reading the subscription", e))?;
    let raw_delivery = attrs
        .attributes()
        .and_then(|a| a.get("RawMessageDelivery"))
        .is_some_and(|v| v == "true");
    Ok(Some(Subscription { arn, raw_delivery }))
}
