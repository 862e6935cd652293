//! SNS: the subscription that carries the bucket's events from the topic to the queue, and
//! the attributes of the subscriptions a stage's topic sources have.

use super::Result;
use super::query::{Node, Query};
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
/// none), with its delivery setting. Reads the topic's subscriptions page by page, to the page that
/// has it (ListSubscriptionsByTopic, <https://docs.aws.amazon.com/sns/latest/api/API_ListSubscriptionsByTopic.html>;
/// an unconfirmed subscription's ARN is `PendingConfirmation`).
pub async fn queue_subscription(
    sns: &Query,
    topic: &str,
    queue: &str,
) -> Result<Option<Subscription>> {
    let suffix = format!(":{queue}");
    // The queue's confirmed subscription on a page (an unconfirmed one's ARN is
    // `PendingConfirmation`).
    let confirmed = |page: &Node| {
        page.members("Subscriptions")
            .filter(|s| {
                s.text("Protocol") == Some("sqs")
                    && s.text("Endpoint").is_some_and(|e| e.ends_with(&suffix))
            })
            .filter_map(|s| s.text("SubscriptionArn"))
            .find(|a| a.starts_with("arn:"))
            .map(str::to_string)
    };
    let pages = sns
        .pages_until(
            "listing the topic's subscriptions",
            "ListSubscriptionsByTopic",
            &[("TopicArn", topic)],
            |page| confirmed(page).is_some(),
        )
        .await?;
    let arn = pages.iter().find_map(confirmed);
    let Some(arn) = arn else { return Ok(None) };
    let Some(attrs) = subscription_attributes(sns, &arn).await? else {
        // Gone between the two reads: there is none now.
        return Ok(None);
    };
    let attr = |k: &str| attrs.get(k).map(String::as_str);
    let raw_delivery = attr("RawMessageDelivery") == Some("true");
    let leaves_test_event_out =
        leaves_test_event_out(attr("FilterPolicyScope"), attr("FilterPolicy"));
    Ok(Some(Subscription {
        arn,
        raw_delivery,
        leaves_test_event_out,
    }))
}

/// The attributes of the subscription `arn` (`None`: SNS does not know it: `NotFound`, HTTP
/// 404), as GetSubscriptionAttributes gives them: `TopicArn`, `Endpoint`, `RawMessageDelivery`,
/// `FilterPolicy`, `FilterPolicyScope`, `PendingConfirmation`, …
/// (<https://docs.aws.amazon.com/sns/latest/api/API_GetSubscriptionAttributes.html>).
pub async fn subscription_attributes(
    sns: &Query,
    arn: &str,
) -> Result<Option<std::collections::BTreeMap<String, String>>> {
    match sns
        .call(
            "reading a topic's subscription",
            "GetSubscriptionAttributes",
            &[("SubscriptionArn", arn)],
        )
        .await
    {
        Ok(out) => Ok(Some(out.entries("Attributes").into_iter().collect())),
        Err(e) if e.code() == Some("NotFound") => Ok(None),
        Err(e) => Err(e),
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
