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

/// A registry as the ECR API Reference documents the calls of a copy: BatchGetImage answers a
/// manifest as stored, BatchCheckLayerAvailability says `AVAILABLE` or fails
/// `MissingLayerDigest`, GetDownloadUrlForLayer gives a presigned URL served a range at a
/// time, CompleteLayerUpload checks the layer's digest (`InvalidLayerException`), PutImage
/// needs every blob (`LayersNotFoundException`) and the digest of the manifest's bytes, and an
/// image already tagged so is `ImageAlreadyExistsException`.
#[derive(Default)]
struct Registry {
    /// (repository, digest) → bytes.
    blobs: std::collections::BTreeMap<(String, String), String>,
    /// (repository, tag) → (digest, manifest).
    tags: std::collections::BTreeMap<(String, String), (String, String)>,
    /// upload id → (repository, bytes so far).
    uploads: std::collections::BTreeMap<String, (String, String)>,
    /// Parts to take whose answer is then lost (an HTTP 500 after the part was stored).
    lost_answers: usize,
}

const DOWNLOADS: &str = "https://layers.example.com/";

fn registry(state: std::sync::Arc<std::sync::Mutex<Registry>>, part_size: u64) -> Fake {
    Fake::new(move |r| {
        let mut s = state.lock().unwrap();
        if let Some(rest) = r.uri.strip_prefix(DOWNLOADS) {
            let (repo, digest) = rest.split_once("?blob=").unwrap();
            let repo = repo.replace("%2F", "/");
            let bytes = &s.blobs[&(repo, digest.to_string())];
            let range = r.headers["range"].strip_prefix("bytes=").unwrap();
            let (a, b) = range.split_once('-').unwrap();
            let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
            return (206, bytes[a..=b].to_string());
        }
        let j = r.json();
        let repo = j["repositoryName"].as_str().unwrap_or_default().to_string();
        let ok = |v: serde_json::Value| (200, v.to_string());
        match r.target().unwrap_or_default() {
            "BatchGetImage" => {
                let tag = j["imageIds"][0]["imageTag"].as_str().unwrap().to_string();
                match s.tags.get(&(repo, tag)) {
                    Some((d, m)) => ok(json!({"images": [{
                        "imageId": {"imageDigest": d}, "imageManifest": m,
                        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"}],
                        "failures": []})),
                    None => ok(
                        json!({"images": [], "failures": [{"failureCode": "ImageNotFound", "failureReason": "Requested image not found"}]}),
                    ),
                }
            }
            "BatchCheckLayerAvailability" => {
                let (mut layers, mut failures) = (vec![], vec![]);
                for d in j["layerDigests"].as_array().unwrap() {
                    let d = d.as_str().unwrap().to_string();
                    match s.blobs.get(&(repo.clone(), d.clone())) {
                        Some(b) => layers.push(json!({"layerDigest": d, "layerAvailability": "AVAILABLE", "layerSize": b.len()})),
                        None => failures.push(json!({"layerDigest": d, "failureCode": "MissingLayerDigest", "failureReason": "Could not find layer"})),
                    }
                }
                ok(json!({"layers": layers, "failures": failures}))
            }
            "GetDownloadUrlForLayer" => {
                let d = j["layerDigest"].as_str().unwrap();
                ok(
                    json!({"downloadUrl": format!("{DOWNLOADS}{}?blob={d}", repo.replace('/', "%2F")), "layerDigest": d}),
                )
            }
            "InitiateLayerUpload" => {
                let id = format!("upload-{}", s.uploads.len());
                s.uploads.insert(id.clone(), (repo, String::new()));
                ok(json!({"uploadId": id, "partSize": part_size}))
            }
            "UploadLayerPart" => {
                let id = j["uploadId"].as_str().unwrap();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(j["layerPartBlob"].as_str().unwrap())
                    .unwrap();
                let up = s.uploads.get_mut(id).unwrap();
                // As ECR: a part that does not follow the last one taken.
                if j["partFirstByte"].as_u64().unwrap() as usize != up.1.len() {
                    return (
                        400,
                        json_error("InvalidLayerPartException", "not consecutive"),
                    );
                }
                assert_eq!(
                    j["partLastByte"].as_u64().unwrap() as usize,
                    up.1.len() + bytes.len() - 1
                );
                up.1.push_str(std::str::from_utf8(&bytes).unwrap());
                let last = up.1.len() - 1;
                if s.lost_answers > 0 {
                    s.lost_answers -= 1;
                    return (500, json_error("ServerException", "the answer was lost"));
                }
                ok(json!({"uploadId": id, "lastByteReceived": last}))
            }
            "CompleteLayerUpload" => {
                let id = j["uploadId"].as_str().unwrap();
                let d = j["layerDigests"][0].as_str().unwrap().to_string();
                let (repo, bytes) = s.uploads.remove(id).unwrap();
                if digest_of(bytes.as_bytes()) != d {
                    return (400, json_error("InvalidLayerException", "digest mismatch"));
                }
                s.blobs.insert((repo, d.clone()), bytes);
                ok(json!({"layerDigest": d, "uploadId": id}))
            }
            "PutImage" => {
                let m = j["imageManifest"].as_str().unwrap().to_string();
                let d = j["imageDigest"].as_str().unwrap().to_string();
                if digest_of(m.as_bytes()) != d {
                    return (400, json_error("ImageDigestDoesNotMatchException", "no"));
                }
                let doc: serde_json::Value = serde_json::from_str(&m).unwrap();
                let named =
                    std::iter::once(&doc["config"]).chain(doc["layers"].as_array().unwrap());
                for b in named {
                    let key = (repo.clone(), b["digest"].as_str().unwrap().to_string());
                    if !s.blobs.contains_key(&key) {
                        return (400, json_error("LayersNotFoundException", "layer missing"));
                    }
                }
                let tag = j["imageTag"].as_str().unwrap().to_string();
                if let Some((had, _)) = s.tags.get(&(repo.clone(), tag.clone())) {
                    let code = match *had == d {
                        true => "ImageAlreadyExistsException",
                        false => "ImageTagAlreadyExistsException",
                    };
                    return (400, json_error(code, "tagged already"));
                }
                s.tags.insert((repo, tag), (d.clone(), m));
                ok(json!({"image": {"imageId": {"imageDigest": d}}}))
            }
            other => (400, json_error("UnknownOperationException", other)),
        }
    })
}

/// An image of `layers` (ASCII bytes) in `repo` as `tag`, with a config blob; its manifest.
fn pushed(s: &mut Registry, repo: &str, tag: &str, layers: &[&str]) -> Manifest {
    let config = r#"{"architecture":"amd64","os":"linux"}"#;
    let descriptor = |b: &str| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest_of(b.as_bytes()), "size": b.len()});
    let text = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(config.as_bytes()), "size": config.len()},
        "layers": layers.iter().map(|l| descriptor(l)).collect::<Vec<_>>(),
    })
    .to_string();
    for b in std::iter::once(&config).chain(layers) {
        s.blobs
            .insert((repo.into(), digest_of(b.as_bytes())), b.to_string());
    }
    let digest = digest_of(text.as_bytes());
    s.tags
        .insert((repo.into(), tag.into()), (digest.clone(), text.clone()));
    Manifest {
        digest,
        media_type: MANIFEST_TYPES[0].into(),
        text,
    }
}

const STAGING: &str = "qfleet/staging";
const PROD: &str = "qfleet/prod";
const TAG: &str = "src-0123456789abcdef01234567";

#[tokio::test]
async fn mocked_an_image_is_copied_by_digest_writing_only_the_blobs_the_target_lacks() {
    let state = std::sync::Arc::new(std::sync::Mutex::new(Registry::default()));
    // A base layer both repositories hold, and an application layer of 21 MiB: three parts
    // of 10 MiB at most, whatever part size ECR's answer names.
    let base = "b".repeat(3000);
    let app: String = (0..21 * 1024 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let m = {
        let mut s = state.lock().unwrap();
        s.blobs
            .insert((PROD.into(), digest_of(base.as_bytes())), base.clone());
        pushed(&mut s, STAGING, TAG, &[&base, &app])
    };
    let fake = registry(state.clone(), 5 * 1024 * 1024);
    let api = ecr(&fake);
    let read = manifest(&api, STAGING, TAG).await.unwrap().unwrap();
    assert_eq!(read, m);
    let lines = std::sync::Mutex::new(Vec::<String>::new());
    let progress = |l: String| lines.lock().unwrap().push(l);
    let copied = copy_image(&api, (STAGING, PROD), TAG, &read, &progress)
        .await
        .unwrap();
    assert_eq!(
        copied,
        Copied {
            blobs: 3,
            copied: 2,
            bytes: (app.len() + 37) as u64
        }
    );
    // The same manifest bytes under the same tag: the same digest, in both repositories.
    {
        let s = state.lock().unwrap();
        assert_eq!(
            s.tags[&(PROD.into(), TAG.into())],
            (m.digest.clone(), m.text.clone())
        );
        assert_eq!(s.blobs[&(PROD.into(), digest_of(app.as_bytes()))], app);
    }
    let seen = fake.requests();
    let gets: Vec<&Seen> = seen
        .iter()
        .filter(|r| r.uri.starts_with(DOWNLOADS))
        .collect();
    // The config in one range, the layer in three of at most 10 MiB; the shared base never read.
    assert_eq!(gets.len(), 4, "{gets:?}");
    assert_eq!(
        gets[3].headers["range"],
        format!("bytes={}-{}", 2 * PART_BYTES, app.len() - 1)
    );
    assert!(
        gets.iter()
            .all(|g| !g.headers.contains_key("authorization")),
        "presigned: unsigned"
    );
    let asked: Vec<String> = seen
        .iter()
        .filter(|r| r.target() == Some("GetDownloadUrlForLayer"))
        .map(|r| r.json()["layerDigest"].as_str().unwrap().to_string())
        .collect();
    assert!(!asked.contains(&digest_of(base.as_bytes())), "{asked:?}");
    assert_eq!(
        lines.lock().unwrap().last().unwrap(),
        &format!(
            "{}: {} of {} bytes",
            &digest_of(app.as_bytes())[..19],
            app.len(),
            app.len()
        )
    );
    // Again: nothing to write, and the image there already is a copy done.
    let again = copy_image(&api, (STAGING, PROD), TAG, &read, &progress)
        .await
        .unwrap();
    assert_eq!((again.blobs, again.copied), (3, 0));
}

#[tokio::test]
async fn mocked_a_tag_the_target_holds_as_another_image_is_an_error_and_nothing_moves() {
    let state = std::sync::Arc::new(std::sync::Mutex::new(Registry::default()));
    let (theirs, ours) = {
        let mut s = state.lock().unwrap();
        (
            pushed(&mut s, STAGING, TAG, &["staging's layer"]),
            pushed(&mut s, PROD, TAG, &["prod's own layer"]),
        )
    };
    let fake = registry(state.clone(), 0);
    let e = copy_image(&ecr(&fake), (STAGING, PROD), TAG, &theirs, &|_| {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ImageTagAlreadyExistsException"), "{e}");
    assert_eq!(
        state.lock().unwrap().tags[&(PROD.into(), TAG.into())].0,
        ours.digest
    );
}

#[tokio::test]
async fn mocked_a_manifest_is_read_only_as_stored_and_a_missing_one_is_absent() {
    let state = std::sync::Arc::new(std::sync::Mutex::new(Registry::default()));
    pushed(&mut state.lock().unwrap(), STAGING, TAG, &["x"]);
    let fake = registry(state, 0);
    let api = ecr(&fake);
    assert_eq!(manifest(&api, STAGING, "src-other").await.unwrap(), None);
    assert_eq!(manifest(&api, "qfleet/none", TAG).await.unwrap(), None);
    // Never schema 1, which ECR would convert the stored manifest to.
    let asked = fake.requests()[0].json();
    assert_eq!(asked["acceptedMediaTypes"], json!(MANIFEST_TYPES));
    assert_target(&fake.requests()[0], "BatchGetImage");
    assert_eq!(
        manifest(&ecr(&failing("RepositoryNotFoundException")), STAGING, TAG)
            .await
            .unwrap(),
        None
    );
    // An answer whose bytes are not its digest, or an image index, is refused.
    let lying = Fake::by_target(&[(
        "BatchGetImage",
        json!({"images": [{"imageId": {"imageDigest": format!("sha256:{}", "0".repeat(64))},
                "imageManifest": "{\"schemaVersion\":2}",
                "imageManifestMediaType": MANIFEST_TYPES[0]}]}),
    )]);
    let e = manifest(&ecr(&lying), STAGING, TAG).await.unwrap_err();
    assert_eq!(e.kind, Kind::Malformed, "{e}");
    let index = "{\"schemaVersion\":2,\"manifests\":[]}";
    let listed = Fake::by_target(&[(
        "BatchGetImage",
        json!({"images": [{"imageId": {"imageDigest": digest_of(index.as_bytes())},
                "imageManifest": index,
                "imageManifestMediaType": "application/vnd.oci.image.index.v1+json"}]}),
    )]);
    let e = manifest(&ecr(&listed), STAGING, TAG).await.unwrap_err();
    assert!(e.to_string().contains("image.index"), "{e}");
}

#[test]
fn a_blob_is_read_in_parts_that_cover_it_exactly_once() {
    assert_eq!(ranges(1, 10), [(0, 0)]);
    assert_eq!(ranges(10, 10), [(0, 9)]);
    assert_eq!(ranges(25, 10), [(0, 9), (10, 19), (20, 24)]);
    assert!(ranges(0, 10).is_empty());
    for size in [
        1u64,
        5,
        PART_BYTES - 1,
        PART_BYTES,
        PART_BYTES + 1,
        3 * PART_BYTES + 7,
    ] {
        let r = ranges(size, PART_BYTES);
        assert_eq!(r.first().unwrap().0, 0);
        assert_eq!(r.last().unwrap().1, size - 1);
        for w in r.windows(2) {
            assert_eq!(w[1].0, w[0].1 + 1);
        }
        assert!(r.iter().all(|(a, b)| b - a < PART_BYTES));
    }
}

/// A part ECR took but whose answer was lost is retried, and ECR refuses it as not following
/// the last part (`InvalidLayerPartException`): the blob is written again from its start with
/// a new upload, and the copy ends with the same bytes.
#[tokio::test]
async fn mocked_a_part_whose_answer_was_lost_is_written_again_from_the_blobs_start() {
    let state = std::sync::Arc::new(std::sync::Mutex::new(Registry::default()));
    let layer = "l".repeat(4096);
    let m = {
        let mut s = state.lock().unwrap();
        s.lost_answers = 1;
        pushed(&mut s, STAGING, TAG, &[&layer])
    };
    let fake = registry(state.clone(), 0);
    let copied = copy_image(&ecr(&fake), (STAGING, PROD), TAG, &m, &|_| {})
        .await
        .unwrap();
    assert_eq!((copied.blobs, copied.copied), (2, 2));
    let initiated = fake
        .requests()
        .iter()
        .filter(|r| r.target() == Some("InitiateLayerUpload"))
        .count();
    assert_eq!(initiated, 3, "two blobs, the first of them twice");
    let s = state.lock().unwrap();
    assert_eq!(s.blobs[&(PROD.into(), digest_of(layer.as_bytes()))], layer);
    assert_eq!(s.tags[&(PROD.into(), TAG.into())].0, m.digest);
}

#[test]
fn a_layer_beyond_what_ecrs_parts_can_write_is_refused_before_any_copy() {
    let big = MAX_BLOB_BYTES + 1;
    let text = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPES[0],
        "config": {"digest": digest_of(b"{}"), "size": 2},
        "layers": [{"digest": format!("sha256:{}", "a".repeat(64)), "size": big}],
    })
    .to_string();
    let m = Manifest {
        digest: digest_of(text.as_bytes()),
        media_type: MANIFEST_TYPES[0].into(),
        text,
    };
    let why = blobs(&m).unwrap_err();
    assert!(why.contains("4,200 parts of 10 MiB"), "{why}");
    // 42,000 MiB: the quota's 4,200 parts of 10 MiB.
    assert_eq!(MAX_BLOB_BYTES, 42_000 * 1024 * 1024);
}
