//! S3's test event, recognised positively. When a bucket's notification configuration is put,
//! Amazon S3 sends one message to each destination to check it: `{"Service":"Amazon S3",
//! "Event":"s3:TestEvent","Time":…,"Bucket":…,"RequestId":…,"HostId":…}`. It names no object
//! and is nobody's work, so a count of the data a queue holds may leave it out, but only when
//! it is exactly that message for this environment's bucket: anything else, anything that does
//! not parse, a test event of another bucket or one wrapped by another topic, is data.
//!
//! - "When you configure an event notification on a bucket, Amazon S3 sends the following test
//!   message" (Event message structure):
//!   <https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>
//! - "When the notification is first enabled, an s3:TestEvent occurs" (Using Amazon SQS, Amazon
//!   SNS, and Lambda):
//!   <https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-to-enable-disable-notification-intro.html>
//! - qfleet's topic delivers to the queue with raw message delivery (templates/data.yaml.j2),
//!   so the queue holds S3's message as S3 wrote it; without it, SNS wraps it in a notification
//!   whose `Type` is `Notification`, whose `TopicArn` is the topic and whose `Message` is S3's
//!   message as a string (Amazon SNS message and JSON formats):
//!   <https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html>, and raw
//!   delivery: <https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html>

use serde_json::{Map, Value};

/// The keys S3's test message has, as documented; a message with any other is not it.
const TEST_EVENT_KEYS: [&str; 6] = ["Service", "Event", "Time", "Bucket", "RequestId", "HostId"];

/// Whether `body` is exactly S3's test event for `bucket`: as S3 wrote it (raw delivery), or
/// inside an SNS notification published by `topic_arn` (when it is known; an envelope is
/// never recognised without it).
pub fn is_s3_test_event(body: &str, bucket: &str, topic_arn: Option<&str>) -> bool {
    let Ok(Value::Object(v)) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    if v.contains_key("Type") {
        return from_topic(&v, topic_arn).is_some_and(|inner| is_test_event(&inner, bucket));
    }
    is_test_event(&v, bucket)
}

/// S3's message inside an SNS notification from `topic_arn`.
fn from_topic(
    envelope: &Map<String, Value>,
    topic_arn: Option<&str>,
) -> Option<Map<String, Value>> {
    let topic = topic_arn?;
    if envelope.get("Type")?.as_str()? != "Notification"
        || envelope.get("TopicArn")?.as_str()? != topic
    {
        return None;
    }
    match serde_json::from_str::<Value>(envelope.get("Message")?.as_str()?).ok()? {
        Value::Object(inner) => Some(inner),
        _ => None,
    }
}

/// The documented fields, every one a string, no other, and Service, Event and Bucket ours.
fn is_test_event(v: &Map<String, Value>, bucket: &str) -> bool {
    let text = |k: &str| v.get(k).and_then(Value::as_str);
    v.keys().all(|k| TEST_EVENT_KEYS.contains(&k.as_str()))
        && v.values().all(Value::is_string)
        && text("Service") == Some("Amazon S3")
        && text("Event") == Some("s3:TestEvent")
        && text("Bucket") == Some(bucket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BUCKET: &str = "qfleet-class-07-000000000000-eu-west-1";
    const TOPIC: &str = "arn:aws:sns:eu-west-1:000000000000:qfleet-class-07-uploads";

    /// The message as the S3 documentation shows it, for `bucket`.
    fn test_event(bucket: &str) -> Value {
        json!({
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2014-10-13T15:57:02.089Z",
            "Bucket": bucket,
            "RequestId": "5582815E1AEA5ADF",
            "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"
        })
    }

    fn wrapped(message: &Value, topic: &str) -> String {
        json!({
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": topic,
            "Subject": "Amazon S3 Notification",
            "Message": message.to_string(),
            "Timestamp": "2014-10-13T15:57:02.089Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "EXAMPLE",
            "UnsubscribeURL": "EXAMPLE"
        })
        .to_string()
    }

    #[test]
    fn our_buckets_test_event_raw_is_recognised() {
        assert!(is_s3_test_event(
            &test_event(BUCKET).to_string(),
            BUCKET,
            None
        ));
        assert!(is_s3_test_event(
            &test_event(BUCKET).to_string(),
            BUCKET,
            Some(TOPIC)
        ));
    }

    #[test]
    fn another_buckets_test_event_is_data() {
        let other = test_event("someone-elses-bucket").to_string();
        assert!(!is_s3_test_event(&other, BUCKET, Some(TOPIC)));
    }

    #[test]
    fn wrapped_by_our_topic_is_recognised_by_another_is_data() {
        let ours = wrapped(&test_event(BUCKET), TOPIC);
        assert!(is_s3_test_event(&ours, BUCKET, Some(TOPIC)));
        // The topic unknown: an envelope is not recognised.
        assert!(!is_s3_test_event(&ours, BUCKET, None));
        let theirs = wrapped(
            &test_event(BUCKET),
            "arn:aws:sns:eu-west-1:000000000000:other",
        );
        assert!(!is_s3_test_event(&theirs, BUCKET, Some(TOPIC)));
        // Another type of SNS message, or a message that is not S3's.
        let sub = wrapped(&test_event(BUCKET), TOPIC)
            .replace("\"Notification\"", "\"SubscriptionConfirmation\"");
        assert!(!is_s3_test_event(&sub, BUCKET, Some(TOPIC)));
        let not_json = json!({"Type": "Notification", "TopicArn": TOPIC, "Message": "hello"});
        assert!(!is_s3_test_event(
            &not_json.to_string(),
            BUCKET,
            Some(TOPIC)
        ));
    }

    #[test]
    fn an_upload_event_or_a_lookalike_is_data() {
        let upload = json!({"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": BUCKET}, "object": {"key": "uploads/a"}}}]});
        assert!(!is_s3_test_event(&upload.to_string(), BUCKET, Some(TOPIC)));
        // A test event with a job in it, or any field more: not S3's message.
        let mut more = test_event(BUCKET);
        more["Records"] = json!([{"s3": {"object": {"key": "uploads/a"}}}]);
        assert!(!is_s3_test_event(&more.to_string(), BUCKET, None));
        let mut extra = test_event(BUCKET);
        extra["job"] = json!("resize");
        assert!(!is_s3_test_event(&extra.to_string(), BUCKET, None));
        // Each defining field wrong or missing.
        for (k, v) in [
            ("Service", json!("Amazon SQS")),
            ("Event", json!("s3:ObjectCreated:Put")),
            ("Bucket", json!(7)),
        ] {
            let mut e = test_event(BUCKET);
            e[k] = v;
            assert!(!is_s3_test_event(&e.to_string(), BUCKET, None), "{k}");
        }
        let mut e = test_event(BUCKET);
        e.as_object_mut().map(|o| o.remove("Bucket"));
        assert!(!is_s3_test_event(&e.to_string(), BUCKET, None));
    }

    #[test]
    fn malformed_bodies_are_data() {
        for body in [
            "",
            "not json",
            "[]",
            "null",
            "\"s3:TestEvent\"",
            "{\"Event\":\"s3:TestEvent\"",
        ] {
            assert!(!is_s3_test_event(body, BUCKET, Some(TOPIC)), "{body}");
        }
    }
}
