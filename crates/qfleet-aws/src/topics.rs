//! SNS: the subscription that carries the bucket's events from the topic to the queue, and
//! the attributes of the subscriptions a stage's topic sources have.

use super::Result;
use super::error::AwsError;
use aws_sdk_sns::Client;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subscription {
    pub arn: String,
    /// RawMessageDelivery: the queue gets the S3 event itself, not an SNS envelope.
    pub raw_delivery: bool,
    /// The filter policy on the message body that leaves S3's test event out (`FilterPolicy`
    /// `{"Event":[{"exists":false}]}` with `FilterPolicyScope` `MessageBody`).
    pub leaves_test_event_out: bool,
}

/// Whether a subscription's attributes filter S3's test event out: the body's top-level
/// `Event` key must be absent (the scope `MessageBody`; without a scope SNS applies a policy
/// to the message attributes, <https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html>).
fn leaves_test_event_out(scope: Option<&str>, policy: Option<&str>) -> bool {
    let Some(policy) = policy.and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
    else {
        return false;
    };
    scope == Some("MessageBody") && policy == serde_json::json!({"Event": [{"exists": false}]})
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
    let attr = |k: &str| {
        attrs
            .attributes()
            .and_then(|a| a.get(k))
            .map(String::as_str)
    };
    let raw_delivery = attr("RawMessageDelivery") == Some("true");
    let leaves_test_event_out =
        leaves_test_event_out(attr("FilterPolicyScope"), attr("FilterPolicy"));
    Ok(Some(Subscription {
        arn,
        raw_delivery,
        leaves_test_event_out,
    }))
}

/// The attributes of the subscription `arn` (`None`: SNS does not know it), as
/// GetSubscriptionAttributes gives them: `TopicArn`, `Endpoint`, `RawMessageDelivery`,
/// `FilterPolicy`, `FilterPolicyScope`, `PendingConfirmation`, …
/// (<https://docs.aws.amazon.com/sns/latest/api/API_GetSubscriptionAttributes.html>).
pub async fn subscription_attributes(
    sns: &Client,
    arn: &str,
) -> Result<Option<std::collections::BTreeMap<String, String>>> {
    match sns
        .get_subscription_attributes()
        .subscription_arn(arn)
        .send()
        .await
    {
        Ok(out) => Ok(Some(
            out.attributes()
                .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        )),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::from_sdk("reading a topic's subscription", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::leaves_test_event_out;

    #[test]
    fn only_the_body_filter_on_a_missing_event_key_leaves_the_test_event_out() {
        let policy = r#"{"Event":[{"exists":false}]}"#;
        assert!(leaves_test_event_out(Some("MessageBody"), Some(policy)));
        // On the message attributes (the default scope) it filters nothing of S3's.
        assert!(!leaves_test_event_out(
            Some("MessageAttributes"),
            Some(policy)
        ));
        assert!(!leaves_test_event_out(None, Some(policy)));
        assert!(!leaves_test_event_out(Some("MessageBody"), None));
        assert!(!leaves_test_event_out(
            Some("MessageBody"),
            Some(r#"{"Event":["s3:TestEvent"]}"#)
        ));
    }
}
