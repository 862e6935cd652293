//! Against fake connections that answer as the ECR API Reference documents (DescribeImages'
//! `ImageNotFoundException`, ListImages' one entry per digest and tag, BatchDeleteImage's
//! `failures`); test names say `mocked`.

use super::*;
use crate::json_api::ECR;
use crate::signed::fake::{Fake, Seen, json_error};
use base64::Engine as _;

fn ecr(fake: &Fake) -> JsonApi {
    JsonApi::with_http_client(ECR, fake.client())
}

const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921";

fn assert_target(seen: &Seen, operation: &str) {
    assert_eq!(
        seen.headers["x-amz-target"],
        format!("{TARGET}.{operation}")
    );
    assert_eq!(seen.headers["content-type"], "application/x-amz-json-1.1");
    assert!(
        seen.headers["authorization"].contains("/eu-west-1/ecr/aws4_request"),
        "{:?}",
        seen.headers
    );
    assert_eq!(seen.uri, "https://ecr.eu-west-1.amazonaws.com/");
}

fn failing(code: &'static str) -> Fake {
    Fake::new(move |_| (400, json_error(code, "as ECR says it")))
}

#[tokio::test]
async fn mocked_a_pushed_tag_exists() {
    let fake = Fake::by_target(&[(
        "DescribeImages",
        json!({"imageDetails": [{
            "registryId": "123456789012", "repositoryName": "qfleet-orders",
            "imageDigest": "sha256:aa", "imageTags": ["v1", "latest"], "imagePushedAt": 1.7e9
        }]}),
    )]);
    assert!(
        tag_exists(&ecr(&fake), "qfleet-orders", "v1")
            .await
            .unwrap()
    );
    let seen = &fake.requests()[0];
    assert_target(seen, "DescribeImages");
    assert_eq!(
        seen.json(),
        json!({"repositoryName": "qfleet-orders", "imageIds": [{"imageTag": "v1"}]})
    );
}

#[tokio::test]
async fn mocked_a_missing_tag_or_repository_is_absent() {
    for code in ["ImageNotFoundException", "RepositoryNotFoundException"] {
        let fake = failing(code);
        assert!(
            !tag_exists(&ecr(&fake), "qfleet-orders", "v1")
                .await
                .unwrap(),
            "{code}"
        );
        assert_eq!(fake.requests().len(), 1, "{code} is not retried");
    }
}

#[tokio::test]
async fn mocked_access_denied_or_an_empty_answer_is_an_error_never_absent() {
    let e = tag_exists(
        &ecr(&failing("AccessDeniedException")),
        "qfleet-orders",
        "v1",
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, Kind::AccessDenied, "{e}");
    assert!(e.to_string().contains("qfleet-orders"), "{e}");
    let empty = Fake::by_target(&[("DescribeImages", json!({"imageDetails": []}))]);
    let e = tag_exists(&ecr(&empty), "qfleet-orders", "v1")
        .await
        .unwrap_err();
    assert_eq!(e.kind, Kind::Malformed, "{e}");
}

fn token(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn mocked_login_decodes_user_and_password_and_strips_https() {
    let fake = Fake::by_target(&[(
        "GetAuthorizationToken",
        json!({"authorizationData": [{
            "authorizationToken": token("AWS:pass:with-colon"),
            "expiresAt": 1.7e9,
            "proxyEndpoint": "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        }]}),
    )]);
    let got = login(&ecr(&fake)).await.unwrap();
    assert_eq!(got.registry, "123456789012.dkr.ecr.eu-west-1.amazonaws.com");
    assert_eq!(got.username, "AWS");
    assert_eq!(got.password, "pass:with-colon");
    assert_eq!(got.expires_at, Some(1.7e9));
    let shown = format!("{got:?}");
    assert!(!shown.contains("pass:with-colon"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let seen = &fake.requests()[0];
    assert_target(seen, "GetAuthorizationToken");
    assert_eq!(seen.json(), json!({}));
}

#[tokio::test]
async fn mocked_login_without_data_or_with_a_bad_token_is_an_error() {
    let endpoint = "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    for answer in [
        json!({}),
        json!({"authorizationData": []}),
        json!({"authorizationData": [{"authorizationToken": "not base64!", "proxyEndpoint": endpoint}]}),
        json!({"authorizationData": [{"authorizationToken": token("no-colon"), "proxyEndpoint": endpoint}]}),
        json!({"authorizationData": [{"authorizationToken": token("AWS:p")}]}),
    ] {
        let fake = Fake::by_target(&[("GetAuthorizationToken", answer.clone())]);
        let e = login(&ecr(&fake)).await.unwrap_err();
        assert_eq!(e.kind, Kind::Malformed, "{answer}: {e}");
        assert!(!e.to_string().contains("no-colon"), "{e}");
    }
}

#[tokio::test]
async fn mocked_images_follow_next_token_and_group_tags_by_digest() {
    let fake = Fake::new(|r| {
        let page = match r.json()["nextToken"].as_str() {
            None => json!({"imageIds": [
                {"imageDigest": "sha256:aa", "imageTag": "v1"},
                {"imageDigest": "sha256:bb"},
                {"imageDigest": "sha256:aa", "imageTag": "latest"}
            ], "nextToken": "page-2"}),
            Some("page-2") => json!({"imageIds": [
                {"imageDigest": "sha256:cc", "imageTag": "v2"},
                {"imageDigest": "sha256:aa", "imageTag": "stable"}
            ]}),
            Some(other) => panic!("unexpected token {other}"),
        };
        (200, page.to_string())
    });
    let got = images(&ecr(&fake), "qfleet-orders").await.unwrap().unwrap();
    let id = |d: &str, tags: &[&str]| ImageId {
        digest: d.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
    };
    assert_eq!(
        got,
        [
            id("sha256:aa", &["v1", "latest", "stable"]),
            id("sha256:bb", &[]),
            id("sha256:cc", &["v2"]),
        ]
    );
    let seen = fake.requests();
    assert_eq!(seen.len(), 2);
    assert_target(&seen[0], "ListImages");
    assert_eq!(
        seen[0].json(),
        json!({"repositoryName": "qfleet-orders", "maxResults": 1000})
    );
    assert_eq!(
        seen[1].json(),
        json!({"repositoryName": "qfleet-orders", "maxResults": 1000, "nextToken": "page-2"})
    );
}

#[tokio::test]
async fn mocked_images_of_a_missing_repository_are_none_and_other_errors_stay() {
    let got = images(&ecr(&failing("RepositoryNotFoundException")), "gone")
        .await
        .unwrap();
    assert_eq!(got, None);
    let e = images(&ecr(&failing("AccessDeniedException")), "qfleet-orders")
        .await
        .unwrap_err();
    assert_eq!(e.kind, Kind::AccessDenied, "{e}");
}

#[tokio::test]
async fn mocked_delete_images_sends_batches_of_100() {
    let fake = Fake::new(|r| {
        // The first digest of the last batch is already gone: not a failure.
        let first = r.json()["imageIds"][0]["imageDigest"].clone();
        let failures = match first.as_str() {
            Some("sha256:200") => json!([{
                "imageId": {"imageDigest": "sha256:200"},
                "failureCode": "ImageNotFound",
                "failureReason": "Requested image not found"
            }]),
            _ => json!([]),
        };
        (
            200,
            json!({"imageIds": [], "failures": failures}).to_string(),
        )
    });
    let digests: Vec<String> = (0..250).map(|i| format!("sha256:{i}")).collect();
    delete_images(&ecr(&fake), "qfleet-orders", &digests)
        .await
        .unwrap();
    let seen = fake.requests();
    assert_eq!(seen.len(), 3);
    assert_target(&seen[0], "BatchDeleteImage");
    let sizes: Vec<usize> = seen
        .iter()
        .map(|s| s.json()["imageIds"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(seen[0].json()["repositoryName"], "qfleet-orders");
    assert_eq!(
        seen[2].json()["imageIds"][49],
        json!({"imageDigest": "sha256:249"})
    );
    // Nothing to delete, nothing sent.
    let none = Fake::new(|_| panic!("no call expected"));
    delete_images(&ecr(&none), "qfleet-orders", &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn mocked_delete_images_reports_a_failure_other_than_image_not_found() {
    let fake = Fake::by_target(&[(
        "BatchDeleteImage",
        json!({"imageIds": [{"imageDigest": "sha256:aa"}], "failures": [
            {"imageId": {"imageDigest": "sha256:bb"}, "failureCode": "ImageNotFound",
             "failureReason": "Requested image not found"},
            {"imageId": {"imageDigest": "sha256:cc"}, "failureCode": "ImageReferencedByManifestList",
             "failureReason": "Requested image is referenced by an image index"}
        ]}),
    )]);
    let digests = ["sha256:aa", "sha256:bb", "sha256:cc"].map(String::from);
    let e = delete_images(&ecr(&fake), "qfleet-orders", &digests)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("sha256:cc"), "{text}");
    assert!(text.contains("referenced by an image index"), "{text}");
    assert!(!text.contains("sha256:bb"), "{text}");
}

fn scanning(conf: serde_json::Value) -> Fake {
    Fake::by_target(&[(
        "GetRegistryScanningConfiguration",
        json!({"registryId": "123456789012", "scanningConfiguration": conf}),
    )])
}

fn rule(frequency: &str, filter: &str) -> serde_json::Value {
    json!({"scanFrequency": frequency,
           "repositoryFilters": [{"filter": filter, "filterType": "WILDCARD"}]})
}

#[tokio::test]
async fn mocked_scan_on_push_is_on_when_a_rule_matches_the_repository() {
    let on = |t: &str| ScanOnPush::On {
        scan_type: t.into(),
    };
    let cases = [
        (
            json!({"scanType": "BASIC", "rules": [rule("SCAN_ON_PUSH", "*")]}),
            on("BASIC"),
        ),
        (
            json!({"scanType": "ENHANCED", "rules": [rule("CONTINUOUS_SCAN", "qfleet-*")]}),
            on("ENHANCED"),
        ),
        (
            json!({"scanType": "BASIC", "rules": [rule("SCAN_ON_PUSH", "other-*")]}),
            ScanOnPush::Off,
        ),
        (json!({"scanType": "BASIC", "rules": []}), ScanOnPush::Off),
        (
            json!({"scanType": "BASIC", "rules": [rule("MANUAL", "*")]}),
            ScanOnPush::Off,
        ),
    ];
    for (conf, want) in cases {
        let fake = scanning(conf.clone());
        let got = scan_on_push(&ecr(&fake), "qfleet-orders").await.unwrap();
        assert_eq!(got, want, "{conf}");
        let seen = &fake.requests()[0];
        assert_target(seen, "GetRegistryScanningConfiguration");
        assert_eq!(seen.json(), json!({}));
    }
    let none = Fake::by_target(&[("GetRegistryScanningConfiguration", json!({}))]);
    assert_eq!(
        scan_on_push(&ecr(&none), "qfleet-orders").await.unwrap(),
        ScanOnPush::Off
    );
    let e = scan_on_push(&ecr(&failing("AccessDeniedException")), "qfleet-orders")
        .await
        .unwrap_err();
    assert_eq!(e.kind, Kind::AccessDenied, "{e}");
}

/// The user guide's table (image-scanning-filters.html): filters down, names across.
#[test]
fn wildcard_filters_match_as_the_user_guide_table_says() {
    let names = [
        "prod",
        "repo-prod",
        "prod-repo",
        "repo-prod-repo",
        "prodrepo",
    ];
    let table = [
        ("prod", [true, true, true, true, true]),
        ("*prod", [true, true, false, false, false]),
        ("prod*", [true, false, true, false, true]),
        ("*prod*", [true, true, true, true, true]),
        ("prod*repo", [false, false, true, false, true]),
    ];
    for (filter, row) in table {
        for (name, want) in names.iter().zip(row) {
            assert_eq!(wildcard_matches(filter, name), want, "{filter} on {name}");
        }
    }
    assert!(wildcard_matches("*", ""));
    assert!(wildcard_matches("*", "qfleet-orders"));
    assert!(wildcard_matches("qfleet-*", "qfleet-orders"));
    assert!(!wildcard_matches("qfleet-*", "orders-qfleet-x"));
    assert!(wildcard_matches("a*b*c", "a-b-b-c"));
    assert!(!wildcard_matches("a*a", "a"));
    assert!(wildcard_matches("a**a", "aa"));
}

#[tokio::test]
async fn mocked_a_missing_repository_is_none_and_one_not_named_is_an_error() {
    assert_eq!(
        repository(
            &ecr(&failing("RepositoryNotFoundException")),
            "qfleet/orders"
        )
        .await
        .unwrap(),
        None
    );
    let fake = Fake::by_target(&[(
        "DescribeRepositories",
        json!({"repositories": [{"repositoryArn": "arn:aws:ecr:eu-west-1:123456789012:repository/qfleet/orders", "repositoryName": "qfleet/orders"}]}),
    )]);
    let r = repository(&ecr(&fake), "qfleet/orders")
        .await
        .unwrap()
        .unwrap();
    assert!(r.repository_arn.ends_with("repository/qfleet/orders"));
    assert_target(&fake.requests()[0], "DescribeRepositories");
    let empty = Fake::by_target(&[("DescribeRepositories", json!({"repositories": []}))]);
    assert!(repository(&ecr(&empty), "qfleet/orders").await.is_err());
}

#[tokio::test]
async fn mocked_a_repository_is_created_immutable_encrypted_and_tagged() {
    let fake = Fake::by_target(&[(
        "CreateRepository",
        json!({"repository": {"repositoryArn": "arn:aws:ecr:eu-west-1:123456789012:repository/qfleet/orders", "repositoryName": "qfleet/orders"}}),
    )]);
    let tags = [("qfleet:environment".to_string(), "orders".to_string())].into();
    create_repository(
        &ecr(&fake),
        "qfleet/orders",
        Some("arn:aws:kms:eu-west-1:123456789012:key/k"),
        &tags,
    )
    .await
    .unwrap();
    let body = fake.requests()[0].json();
    assert_eq!(body["imageTagMutability"], "IMMUTABLE");
    assert_eq!(body["encryptionConfiguration"]["encryptionType"], "KMS");
    assert_eq!(
        body["tags"],
        json!([{"Key": "qfleet:environment", "Value": "orders"}])
    );
}

#[tokio::test]
async fn mocked_deleting_a_repository_that_is_gone_is_false_and_one_not_empty_an_error() {
    assert!(
        !delete_repository(
            &ecr(&failing("RepositoryNotFoundException")),
            "qfleet/orders"
        )
        .await
        .unwrap()
    );
    assert!(
        delete_repository(
            &ecr(&failing("RepositoryNotEmptyException")),
            "qfleet/orders"
        )
        .await
        .is_err()
    );
}
