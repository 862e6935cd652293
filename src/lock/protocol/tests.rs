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

/// A lock found held is taken over, and says from whom, when its holder's process has ended
/// (`Ended`, the holder as read) or when it went a lease without a renewal by S3's clock
/// (`Stale`, with how long); one that is neither stays busy (mocked S3: a lock object's
/// Last-Modified minutes in the past cannot be made on an emulator).
#[tokio::test]
async fn a_lock_taken_over_says_whose_it_was_and_why_mocked() {
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    let theirs = Holder {
        holder: "ana@studio (pid 4242)".into(),
        run: "their-run".into(),
        host: Some("studio pid:[4026531836]".into()),
        pid: Some(4242),
        ..holder(false)
    };
    let body = serde_json::to_string(&theirs).unwrap();
    // The lock as S3 answers GetObject: written `ago` seconds before S3's own Date.
    let s3 = |ago: u64| {
        let taken = mock!(aws_sdk_s3::Client::put_object)
            .match_requests(|r| r.if_none_match().is_some())
            .then_http_response(|| {
                Response::new(
                    StatusCode::try_from(412).unwrap(),
                    SdkBody::from("<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>"),
                )
            });
        let over = mock!(aws_sdk_s3::Client::put_object)
            .match_requests(|r| r.if_match() == Some("\"09\""))
            .then_output(|| {
                aws_sdk_s3::operation::put_object::PutObjectOutput::builder()
                    .e_tag("\"10\"")
                    .build()
            });
        let body = body.clone();
        let read = mock!(aws_sdk_s3::Client::get_object).then_http_response(move || {
            let now = 1_800_000_000;
            let date = |secs: u64| {
                aws_smithy_types::DateTime::from_secs(secs as i64)
                    .fmt(aws_smithy_types::date_time::Format::HttpDate)
                    .unwrap()
            };
            let mut r = Response::new(
                StatusCode::try_from(200).unwrap(),
                SdkBody::from(body.clone()),
            );
            r.headers_mut().insert("Date", date(now));
            r.headers_mut().insert("Last-Modified", date(now - ago));
            r.headers_mut().insert("ETag", "\"09\"");
            r.headers_mut().insert("Content-Type", "application/json");
            r
        });
        let rules: Vec<&'static aws_smithy_mocks::Rule> = [taken, over, read]
            .into_iter()
            .map(|r| &*Box::leak(Box::new(r)))
            .collect();
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules, |c| c
            .force_path_style(true))
    };
    let me = holder(false);
    let bucket = "qfleet-locks-1-eu-west-1";
    // Its process ended (the caller's judgement), renewed 20 s ago: taken over from it.
    let ended = take(&s3(20), bucket, "1", &me, &|h: &Holder| h.pid == Some(4242))
        .await
        .unwrap();
    assert!(
        matches!(&ended, Taken::Held { after: After::Ended(h), .. } if *h == theirs),
        "{ended:?}"
    );
    // Not renewed for 7 minutes, its process not known to have ended: stale.
    let stale = take(&s3(420), bucket, "1", &me, &|_: &Holder| false)
        .await
        .unwrap();
    assert!(
        matches!(
            &stale,
            Taken::Held { after: After::Stale { holder: Some(h), renewed_ago }, .. }
                if *h == theirs && renewed_ago.as_secs() == 420
        ),
        "{stale:?}"
    );
    // Renewed 20 s ago by a live holder: busy, nobody's takeover.
    let busy = take(&s3(20), bucket, "1", &me, &|_: &Holder| false)
        .await
        .unwrap();
    assert!(
        matches!(&busy, Taken::Busy { holder: Some(h), .. } if *h == theirs),
        "{busy:?}"
    );
}
