use super::*;

#[test]
fn the_age_is_measured_between_two_times_of_s3s_clock() {
    let then = DateTime::from_secs(1_000);
    assert_eq!(
        age(DateTime::from_secs(1_301), then),
        Duration::from_secs(301)
    );
    // A write stamped after the read's answer (clock granularity): no age, not negative.
    assert_eq!(age(DateTime::from_secs(999), then), Duration::ZERO);
    let date = DateTime::from_str("Sat, 28 Nov 2026 03:07:56 GMT", Format::HttpDate).unwrap();
    assert_eq!(date.secs() % 60, 56);
}

#[test]
fn the_lock_bucket_is_named_by_account_and_region_within_s3s_limit() {
    let b = bucket_name("123456789012", "ap-southeast-4");
    assert_eq!(b, "qfleet-locks-123456789012-ap-southeast-4");
    // Bucket names are 3 to 63 characters
    // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
    assert!(bucket_name("123456789012", "ap-southeast-5-longest").len() <= 63);
}

/// A policy without the lock bucket's grants (one an older qfleet printed): S3 refuses the
/// HEAD request with 403 and no body, so no error code says why; qfleet says access denied,
/// never an unreadable answer, and never creates a bucket (mocked S3: no emulator here
/// enforces IAM).
#[tokio::test]
async fn a_head_bucket_refused_with_403_and_no_body_is_access_denied_and_creates_nothing_mocked() {
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    let head = mock!(aws_sdk_s3::Client::head_bucket)
        .then_http_response(|| Response::new(StatusCode::try_from(403).unwrap(), SdkBody::empty()));
    let create = mock!(aws_sdk_s3::Client::create_bucket).then_output(|| {
        aws_sdk_s3::operation::create_bucket::CreateBucketOutput::builder().build()
    });
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&head, &create]);
    let e = ensure_bucket(&s3, "111122223333", "eu-west-1")
        .await
        .unwrap_err();
    assert_eq!(e.kind, Kind::AccessDenied, "{e}");
    assert!(e.to_string().contains("access denied"), "{e}");
    assert_eq!(create.num_calls(), 0);
}

/// A conditional write S3 refuses, because its condition did not hold (412) or because
/// another conditional write to the key raced it (409, `ConditionalRequestConflict`), is
/// `ConditionFailed`, never an error; a write that goes through gives its new ETag (mocked
/// S3: no emulator here answers 409).
#[tokio::test]
async fn a_conditional_write_refused_with_412_or_409_is_condition_failed_mocked() {
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    let refused = |status: u16, code: &'static str| {
        mock!(aws_sdk_s3::Client::put_object).then_http_response(move || {
            Response::new(
                StatusCode::try_from(status).unwrap(),
                SdkBody::from(format!(
                    "<Error><Code>{code}</Code><Message>no</Message></Error>"
                )),
            )
        })
    };
    for (status, code) in [
        (412, "PreconditionFailed"),
        (409, "ConditionalRequestConflict"),
    ] {
        let rule = refused(status, code);
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&rule]);
        let w = put_object_if(
            &s3,
            "b",
            "1",
            "lab",
            b"{}".to_vec(),
            WriteIf::Absent,
            "writing",
        )
        .await
        .unwrap();
        assert_eq!(w, Written::ConditionFailed, "{status}");
    }
    let ok = mock!(aws_sdk_s3::Client::put_object).then_output(|| {
        aws_sdk_s3::operation::put_object::PutObjectOutput::builder()
            .e_tag("\"7\"")
            .build()
    });
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&ok]);
    let w = put_object_if(
        &s3,
        "b",
        "1",
        "lab",
        b"{}".to_vec(),
        WriteIf::Is("\"6\""),
        "writing",
    )
    .await
    .unwrap();
    assert_eq!(w, Written::Done("\"7\"".into()));
}
