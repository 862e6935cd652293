use super::*;
use crate::error::Kind;
use crate::signed::fake::{Fake, json_error};
use serde_json::json;

/// The error's code as AWS JSON services send it: `__type` qualified by a namespace, or the
/// `X-Amzn-ErrorType` header with a `:…` suffix; the message as `message` or `Message`
/// (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization).
#[test]
fn the_error_code_is_read_from_every_documented_form() {
    let e = error(
        r#"{"__type":"com.amazonaws.logs#ResourceNotFoundException","message":"The specified log group does not exist."}"#,
        None,
    );
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    assert_eq!(e.message(), Some("The specified log group does not exist."));
    let e = error(
        r#"{"Message":"Rate exceeded"}"#,
        Some("ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/"),
    );
    assert_eq!(e.code(), Some("ThrottlingException"));
    assert_eq!(e.message(), Some("Rate exceeded"));
    let e = error("<html>bad gateway</html>", None);
    assert_eq!((e.code(), e.message()), (None, None));
}

#[tokio::test]
async fn a_call_posts_the_input_with_its_target_and_reads_the_output() {
    let fake = Fake::by_target(&[(
        "DescribeLogGroups",
        json!({"logGroups": [{"logGroupName": "g"}]}),
    )]);
    let logs = JsonApi::with_http_client(LOGS, fake.client());
    let out: serde_json::Value = logs
        .call(
            "reading",
            "DescribeLogGroups",
            &json!({"logGroupNamePrefix": "g"}),
        )
        .await
        .unwrap();
    assert_eq!(out["logGroups"][0]["logGroupName"], "g");
    let seen = &fake.requests()[0];
    assert_eq!(seen.uri, "https://logs.eu-west-1.amazonaws.com/");
    assert_eq!(
        seen.headers["x-amz-target"],
        "Logs_20140328.DescribeLogGroups"
    );
    assert_eq!(seen.headers["content-type"], "application/x-amz-json-1.1");
    assert_eq!(seen.json(), json!({"logGroupNamePrefix": "g"}));
    assert!(
        seen.headers["authorization"].contains("/eu-west-1/logs/aws4_request"),
        "{:?}",
        seen.headers
    );
}

#[tokio::test]
async fn a_missing_resource_is_not_found_and_a_page_that_is_not_json_is_malformed() {
    let missing = Fake::new(|_| {
        (
            400,
            json_error(
                "ResourceNotFoundException",
                "The specified log group does not exist.",
            ),
        )
    });
    let logs = JsonApi::with_http_client(LOGS, missing.client());
    let e = logs
        .call::<serde_json::Value>("reading the log group g", "FilterLogEvents", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, Kind::NotFound, "{e}");
    assert_eq!(missing.requests().len(), 1, "not retried");

    // An empty answer is not an empty output (it would read as "no such log group").
    let empty = Fake::new(|_| (200, String::new()));
    let logs = JsonApi::with_http_client(LOGS, empty.client());
    let e = logs
        .call::<serde_json::Value>("reading the log group g", "DescribeLogGroups", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, Kind::Malformed, "{e}");

    let html = Fake::new(|_| (200, "<html>captive portal</html>".into()));
    let logs = JsonApi::with_http_client(LOGS, html.client());
    let e = logs
        .call::<serde_json::Value>("reading the log group g", "FilterLogEvents", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, Kind::Malformed, "{e}");
}
