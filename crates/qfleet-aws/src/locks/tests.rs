use super::*;

fn holder(released: bool) -> Holder {
    Holder {
        environment: "lab".into(),
        command: "deploy".into(),
        holder: "ci@runner (pid 7)".into(),
        run: "r1".into(),
        since: "2026-11-28T03:00:00Z".into(),
        released,
        interrupted: false,
        host: Some("runner".into()),
        pid: Some(7),
        write: 0,
    }
}

#[test]
fn a_lock_is_free_only_when_released_or_not_renewed_for_a_lease_by_s3s_clock() {
    let live = holder(false);
    let minute = Duration::from_secs(60);
    assert!(!free(Some(&live), Some(minute)), "renewed a minute ago");
    assert!(
        !free(Some(&live), Some(LEASE)),
        "exactly a lease: still held"
    );
    assert!(free(Some(&live), Some(LEASE + Duration::from_secs(1))));
    assert!(free(Some(&holder(true)), Some(Duration::ZERO)), "released");
    // Fail closed: an age S3 did not give is no evidence of staleness.
    assert!(!free(Some(&live), None));
    // A body qfleet cannot read is held until it is stale.
    assert!(!free(None, Some(minute)));
    assert!(free(None, Some(LEASE * 2)));
    // Five renewals fit in a lease.
    assert!(RENEW_EVERY * 5 <= LEASE);
}

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

#[test]
fn a_lock_object_reads_back_as_written_and_an_old_one_without_released_is_held() {
    let h = holder(false);
    let text = serde_json::to_string(&h).unwrap();
    assert_eq!(serde_json::from_str::<Holder>(&text).unwrap(), h);
    let without: Holder = serde_json::from_str(
        r#"{"environment":"lab","command":"deploy","holder":"x","run":"r","since":"t"}"#,
    )
    .unwrap();
    assert!(!without.released);
}

#[test]
fn every_write_is_numbered_anew_so_that_its_etag_is_new() {
    let (a, b) = (next_write(), next_write());
    assert!(b > a, "{a} {b}");
    let h = holder(false);
    let one = serde_json::to_vec(&Holder {
        write: a,
        ..h.clone()
    })
    .unwrap();
    let two = serde_json::to_vec(&Holder { write: b, ..h }).unwrap();
    assert_ne!(one, two, "the same holder written twice is two bodies");
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
