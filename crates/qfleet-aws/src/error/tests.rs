//! Answers the SDK cannot read, as whole HTTP answers through SDK clients (aws-smithy-mocks,
//! with qfleet's own interceptor as the real clients have it): the line a user reads says in
//! words what could not be read and never carries the decoder's text.

use super::{AwsError, Kind};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;

const HTML: &str = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>";

/// The SDK decoders' own words that must never reach a user.
const RAW: &[&str] = &[
    "0x3c",
    "expected map",
    "unexpected",
    "Unhandled",
    "unhandled",
    "deserializ",
    "service error",
    "response error",
];

fn answer(status: u16, content_type: &str, body: &'static str) -> HttpResponse {
    let mut r = HttpResponse::new(
        StatusCode::try_from(status).expect("a status"),
        SdkBody::from(body),
    );
    r.headers_mut()
        .insert("content-type", content_type.to_string());
    r
}

/// A rule that answers every attempt of the call with the same whole HTTP answer.
macro_rules! answering {
    ($op:path, $status:expr, $ct:expr, $body:expr) => {
        mock!($op)
            .sequence()
            .http_response(move || answer($status, $ct, $body))
            .times(10)
            .build()
    };
}

/// A client of `$sdk` whose calls `rule` answers, through qfleet's interceptor, without retries.
macro_rules! client {
    ($sdk:ident, $rule:expr) => {
        mock_client!($sdk, RuleMode::MatchAny, &[$rule], |c| c
            .interceptor(crate::trace::Requests)
            .retry_config(RetryConfig::disabled()))
    };
}

fn assert_in_words(e: &AwsError) {
    for raw in RAW {
        assert!(
            !e.message.contains(raw),
            "the SDK's text `{raw}` reached the user: {}",
            e.message
        );
    }
}

async fn metric_data(rule: &Rule) -> AwsError {
    let cw = client!(aws_sdk_cloudwatch, rule);
    let err = cw
        .get_metric_data()
        .send()
        .await
        .expect_err("the call fails");
    AwsError::from_sdk("reading the metrics", err)
}

#[tokio::test]
async fn an_html_page_instead_of_cbor_says_so_in_words() {
    // What a proxy or captive portal sends, under the content type CloudWatch's CBOR protocol
    // expects and under its own.
    for ct in ["application/cbor", "text/html"] {
        let rule = answering!(aws_sdk_cloudwatch::Client::get_metric_data, 200, ct, HTML);
        let e = metric_data(&rule).await;
        assert_eq!(e.kind, Kind::Malformed, "{}", e.message);
        assert!(
            e.message.starts_with(
                "reading the metrics: the answer to GetMetricData could not be read: it was an HTML page, not the document AWS sends"
            ),
            "{}",
            e.message
        );
        assert_in_words(&e);
    }
}

#[tokio::test]
async fn the_decoders_words_stay_in_the_error_source_for_debug() {
    // A whole XML document where CloudWatch speaks CBOR (an emulator older than the SDK): the
    // interceptor lets it through, the CBOR decoder fails on its first byte (`<` is 0x3c).
    let rule = answering!(
        aws_sdk_cloudwatch::Client::get_metric_data,
        200,
        "text/xml",
        "<GetMetricDataResponse><GetMetricDataResult/></GetMetricDataResponse>"
    );
    let e = metric_data(&rule).await;
    assert_eq!(e.kind, Kind::Malformed);
    assert!(
        e.message.contains(
            "the answer to GetMetricData could not be read: it was not the document AWS sends (69 bytes of XML"
        ),
        "{}",
        e.message
    );
    assert_in_words(&e);
    let source = std::error::Error::source(&e).expect("the SDK error is kept");
    let chain = super::chain_of(source);
    assert!(chain.contains("0x3c"), "{chain}");
}

#[tokio::test]
async fn the_decoders_words_are_logged_only_at_warn_level_for_debug() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let rule = answering!(
        aws_sdk_cloudwatch::Client::get_metric_data,
        200,
        "text/xml",
        "<GetMetricDataResponse/>"
    );
    let cw = client!(aws_sdk_cloudwatch, &rule);
    // tracing caches per callsite whether anyone listens; a test thread without a subscriber
    // that meets the callsite meanwhile can cache "no one" again after the rebuild below. A
    // few attempts, each with a fresh error; the decoder's words must show up in one.
    let mut log = String::new();
    for _ in 0..5 {
        let err = cw
            .get_metric_data()
            .send()
            .await
            .expect_err("the call fails");
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("qfleet=debug")
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let e = tracing::subscriber::with_default(subscriber, || {
            tracing::callsite::rebuild_interest_cache();
            AwsError::from_sdk("reading the metrics", err)
        });
        assert_in_words(&e);
        log = String::from_utf8(buf.0.lock().expect("lock").clone()).expect("UTF-8");
        if !log.is_empty() {
            break;
        }
    }
    assert!(
        log.contains(" WARN ") && log.contains("reading the metrics") && log.contains("0x3c"),
        "{log}"
    );
}

#[tokio::test]
async fn an_html_error_page_names_the_call_and_its_status() {
    let rule = answering!(
        aws_sdk_cloudwatch::Client::describe_alarms,
        502,
        "text/html",
        HTML
    );
    let cw = client!(aws_sdk_cloudwatch, &rule);
    let err = cw
        .describe_alarms()
        .send()
        .await
        .expect_err("the call fails");
    let e = AwsError::from_sdk("reading the alarms", err);
    assert_eq!(e.kind, Kind::Service, "a 5xx is AWS's trouble, not ours");
    assert!(
        e.message.starts_with(
            "reading the alarms: DescribeAlarms failed (HTTP 502) and its error could not be read: it was an HTML page"
        ),
        "{}",
        e.message
    );
    assert_in_words(&e);
}

#[tokio::test]
async fn a_cut_off_xml_answer_gives_the_interceptors_reason() {
    let rule = answering!(
        aws_sdk_cloudformation::Client::describe_stacks,
        200,
        "text/xml",
        r#"<?xml version="1.0"?><DescribeStacksResponse><DescribeStacksResult><Stacks><member>"#
    );
    let cfn = client!(aws_sdk_cloudformation, &rule);
    let err = cfn.describe_stacks().send().await.expect_err("refused");
    let e = AwsError::from_sdk("describing stack s", err);
    assert_eq!(e.kind, Kind::Malformed);
    assert_eq!(
        e.message,
        "describing stack s: the answer to DescribeStacks could not be read: it was cut off or damaged (XML that ends before its root element <DescribeStacksResponse> closes)"
    );
}

#[tokio::test]
async fn an_empty_or_unparsable_json_answer_says_so() {
    let rule = answering!(
        aws_sdk_cloudformation::Client::describe_stacks,
        200,
        "text/xml",
        ""
    );
    let cfn = client!(aws_sdk_cloudformation, &rule);
    let err = cfn.describe_stacks().send().await.expect_err("refused");
    let e = AwsError::from_sdk("describing stack s", err);
    assert_eq!(
        e.message,
        "describing stack s: the answer to DescribeStacks could not be read: it was empty"
    );

    let rule = answering!(
        aws_sdk_sqs::Client::get_queue_attributes,
        200,
        "application/x-amz-json-1.0",
        r#"{"Attributes": {"ApproximateNumberOfMessages": "1""#
    );
    let sqs = client!(aws_sdk_sqs, &rule);
    let err = sqs
        .get_queue_attributes()
        .queue_url("https://sqs.eu-west-1.amazonaws.com/1/q")
        .send()
        .await
        .expect_err("refused");
    let e = AwsError::from_sdk("reading queue q", err);
    assert_eq!(e.kind, Kind::Malformed);
    assert!(
        e.message.starts_with(
            "reading queue q: the answer to GetQueueAttributes could not be read: it was cut off or damaged (JSON that does not parse)"
        ),
        "{}",
        e.message
    );
    assert!(!e.message.contains("EOF"), "{}", e.message);
}

#[test]
fn operation_names_come_from_the_error_types() {
    assert_eq!(
        super::operation_name::<aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataError>(
        ),
        Some("GetMetricData")
    );
    assert_eq!(super::operation_name::<std::io::Error>(), None);
}

/// An SDK error whose chain of messages is `chain` (as the identity resolver's would be).
fn failed_with(chain: &str) -> AwsError {
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
    use aws_smithy_runtime_api::client::result::SdkError;
    let err: SdkError<GetCallerIdentityError, HttpResponse> =
        SdkError::construction_failure(std::io::Error::other(chain.to_string()));
    AwsError::from_sdk("finding the account", err)
}

#[test]
fn a_role_sts_refused_to_assume_is_said_so_not_missing_credentials() {
    // aws-config's AssumeRoleProvider: STS's AccessDenied inside the identity resolver's error.
    let e = failed_with(
        "failed to load credentials: an error occurred while loading credentials: service error: AccessDenied: User: arn:aws:sts::999988887777:assumed-role/ci/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/qfleet-deployer",
    );
    assert_eq!(e.kind, Kind::Credentials);
    assert_eq!(
        e.message,
        "finding the account: AWS STS refused to let the credentials assume the role (User: arn:aws:sts::999988887777:assumed-role/ci/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/qfleet-deployer). The role's trust policy must name the principal qfleet runs as, and that principal needs sts:AssumeRole on the role (docs/targets.md)"
    );
}

#[test]
fn sts_words_after_letters_that_lowercase_longer_are_quoted_whole() {
    // `İ` is 2 bytes and lowercases to 3: an offset found in the lowered text would cut the
    // message mid-character.
    let e = failed_with(
        "service error: AccessDenied: İİİ Not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/r",
    );
    assert_eq!(e.kind, Kind::Credentials);
    assert!(
        e.message.contains(
            "(Not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/r)"
        ),
        "{}",
        e.message
    );
}

#[test]
fn a_web_identity_refused_is_not_blamed_on_a_targets_role() {
    // The base credentials' own AssumeRoleWithWebIdentity (OIDC in CI) refused: not the
    // target's trust policy, so not that advice.
    let e = failed_with(
        "failed to load credentials: an error occurred while loading credentials: service error: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity",
    );
    assert!(
        !e.message.contains("trust policy must name"),
        "{}",
        e.message
    );
}

/// The SDK's debug form of STS's refusal: the message ends at its closing quote.
#[test]
fn a_refused_role_in_the_sdks_debug_form_is_said_without_it() {
    let e = failed_with(
        "failed to load credentials: an error occurred while loading credentials: service error: unhandled error (AccessDenied): Error { code: \"AccessDenied\", message: \"User: arn:aws:sts::999988887777:assumed-role/ci/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/qfleet-deployer\", aws_request_id: \"r-1\" }",
    );
    assert_eq!(e.kind, Kind::Credentials);
    assert!(
        e.message.contains(
            "assume the role (User: arn:aws:sts::999988887777:assumed-role/ci/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/qfleet-deployer). The role's trust policy"
        ),
        "{}",
        e.message
    );
}

/// A role qfleet assumes through an STS it cannot reach: the network is said, never missing
/// credentials (which the user has).
#[test]
fn credentials_that_could_not_reach_their_service_are_unreachable_not_missing() {
    let e = failed_with(
        "an unknown error occurred: an error occurred while loading credentials: dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111)",
    );
    assert_eq!(e.kind, Kind::Unreachable);
    assert!(
        e.message.starts_with("finding the account: loading the credentials (assuming the role, or signing in) could not reach ")
            && e.message.ends_with("Connection refused (os error 111)"),
        "{}",
        e.message
    );
}

#[test]
fn an_expired_sso_token_is_said_expired_not_missing() {
    // aws-config's SSO token provider: "the SSO token has expired and cannot be refreshed",
    // inside the identity resolver's "failed to load credentials".
    let e = failed_with(
        "failed to load credentials: the SSO token has expired and cannot be refreshed",
    );
    assert_eq!(e.kind, Kind::Credentials);
    assert_eq!(
        e.message,
        "finding the account: your AWS credentials have expired. Refresh them (e.g. `aws sso login`) and run the command again"
    );
    let e = failed_with("failed to load credentials: no providers in chain provided credentials");
    assert_eq!(e.kind, Kind::Credentials);
    assert!(
        e.message
            .starts_with("finding the account: no AWS credentials found. Set AWS_PROFILE"),
        "{}",
        e.message
    );
}

/// The error of `what` answered by `rule`, through CloudFormation's DescribeEvents.
async fn describe_events(rule: &Rule) -> AwsError {
    let cfn = client!(aws_sdk_cloudformation, rule);
    let err = cfn
        .describe_events()
        .stack_name("qfleet-lab-data")
        .send()
        .await
        .expect_err("the call fails");
    AwsError::from_sdk("reading the pre-deployment validation", err)
}

/// What an endpoint that does not implement an operation sends: an HTML error page.
const HTML_500: &str = "<!doctype html><html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>";

#[tokio::test]
async fn an_html_500_says_the_endpoint_does_not_serve_the_api() {
    let rule = answering!(
        aws_sdk_cloudformation::Client::describe_events,
        500,
        "text/html; charset=utf-8",
        HTML_500
    );
    let e = describe_events(&rule).await;
    assert_eq!(e.kind, Kind::Service, "the kind stays the answer's own");
    assert_eq!(
        e.message,
        "reading the pre-deployment validation: this endpoint does not serve CloudFormation DescribeEvents (HTTP 500 with an HTML page)"
    );
    let why = super::Why::from(&e);
    assert_eq!(
        why.not_served().map(super::NotServed::api).as_deref(),
        Some("CloudFormation DescribeEvents")
    );
    assert_in_words(&e);
}

#[tokio::test]
async fn an_html_404_says_the_endpoint_does_not_serve_the_api() {
    // CloudWatch's CBOR route on an endpoint that has no such route.
    let rule = answering!(
        aws_sdk_cloudwatch::Client::describe_alarms,
        404,
        "text/html",
        "<!doctype html><html><title>404 Not Found</title></html>"
    );
    let cw = client!(aws_sdk_cloudwatch, &rule);
    let err = cw.describe_alarms().send().await.expect_err("fails");
    let e = AwsError::from_sdk("reading the alarms", err);
    assert_eq!(e.kind, Kind::Malformed);
    assert_eq!(
        e.message,
        "reading the alarms: this endpoint does not serve CloudWatch DescribeAlarms (HTTP 404 with an HTML page)"
    );
    assert!(super::Why::from(e).not_served().is_some());
}

#[tokio::test]
async fn an_aws_500_stays_an_error_of_aws() {
    // AWS's own error document under a 500: AWS's trouble, not a missing API.
    let rule = answering!(
        aws_sdk_cloudformation::Client::describe_events,
        500,
        "text/xml",
        r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>We encountered an internal error. Please try again.</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"#
    );
    let e = describe_events(&rule).await;
    assert_eq!(e.kind, Kind::Service);
    assert_eq!(
        e.message,
        "reading the pre-deployment validation: InternalFailure: We encountered an internal error. Please try again."
    );
    let why = super::Why::from(&e);
    assert!(why.not_served().is_none());
    // A reader that can do without it says what happened, not the server's words.
    assert_eq!(
        why.server_failed()
            .map(super::ServerFailed::line)
            .as_deref(),
        Some(
            "this endpoint could not answer CloudFormation DescribeEvents (HTTP 500, an error on its side)"
        )
    );
}

#[tokio::test]
async fn only_a_5xx_with_an_error_of_its_own_is_a_failure_on_the_endpoints_side() {
    for (status, ct, body, failed) in [
        (
            503,
            "text/xml",
            r#"<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>down</Message></Error></ErrorResponse>"#,
            true,
        ),
        // Throttling, however it comes, stays throttling.
        (
            503,
            "text/xml",
            r#"<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"#,
            false,
        ),
        // An API it does not serve.
        (
            501,
            "text/xml",
            r#"<ErrorResponse><Error><Code>InternalFailure</Code><Message>no</Message></Error></ErrorResponse>"#,
            false,
        ),
        // No error of its own (a proxy's page): said in words already.
        (502, "text/html", HTML, false),
        // The caller's fault.
        (
            400,
            "text/xml",
            r#"<ErrorResponse><Error><Code>ValidationError</Code><Message>bad</Message></Error></ErrorResponse>"#,
            false,
        ),
    ] {
        let rule = answering!(
            aws_sdk_cloudformation::Client::describe_events,
            status,
            ct,
            body
        );
        let e = describe_events(&rule).await;
        assert_eq!(
            super::Why::from(&e).server_failed().is_some(),
            failed,
            "{status}: {}",
            e.message
        );
    }
}

#[tokio::test]
async fn a_501_or_an_unknown_action_says_the_endpoint_does_not_serve_the_api() {
    for (status, code) in [(501, "InternalFailure"), (400, "InvalidAction")] {
        let body = format!(
            r#"<ErrorResponse><Error><Code>{code}</Code><Message>not here</Message></Error></ErrorResponse>"#
        );
        let body: &'static str = Box::leak(body.into_boxed_str());
        let rule = answering!(
            aws_sdk_cloudformation::Client::describe_events,
            status,
            "text/xml",
            body
        );
        let e = describe_events(&rule).await;
        assert_eq!(
            e.message,
            format!(
                "reading the pre-deployment validation: this endpoint does not serve CloudFormation DescribeEvents (HTTP {status}, {code})"
            )
        );
        assert!(super::Why::from(&e).not_served().is_some(), "{status}");
    }
}

#[tokio::test]
async fn a_proxys_html_502_is_not_a_missing_api() {
    let rule = answering!(
        aws_sdk_cloudformation::Client::describe_events,
        502,
        "text/html",
        HTML
    );
    let e = describe_events(&rule).await;
    assert!(super::Why::from(&e).not_served().is_none(), "{}", e.message);
    assert!(e.message.contains("failed (HTTP 502)"), "{}", e.message);
}
