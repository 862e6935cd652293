//! Emptying a bucket: exactly what was listed, in batches, failures per key.
use super::*;
use crate::mock::Rules;
use aws_sdk_s3::operation::delete_objects::{DeleteObjectsError, DeleteObjectsOutput};
use aws_smithy_mocks::mock;
use std::sync::{Arc, Mutex};

fn versions(n: usize) -> Vec<Version> {
    (0..n)
        .map(|i| Version {
            key: format!("uploads/{i:05}"),
            version_id: Some(format!("v{i}")),
        })
        .collect()
}

/// Each DeleteObjects request: how many objects, its Quiet flag, the versions.
type Sent = Arc<Mutex<Vec<(usize, Option<bool>, Vec<Version>)>>>;

#[tokio::test]
async fn mocked_exactly_the_listed_versions_go_in_quiet_batches_of_at_most_1000() {
    let sent: Sent = Arc::default();
    let seen = sent.clone();
    let rule = mock!(Client::delete_objects).then_compute_output(move |r| {
        let d = r.delete().map(|d| {
            (
                d.objects().len(),
                d.quiet(),
                d.objects()
                    .iter()
                    .map(|o| Version {
                        key: o.key().to_string(),
                        version_id: o.version_id().map(str::to_string),
                    })
                    .collect(),
            )
        });
        seen.lock().unwrap().extend(d);
        DeleteObjectsOutput::builder().build()
    });
    let clients = Rules {
        s3: vec![&rule],
        ..Default::default()
    }
    .clients();
    let listed = versions(2500);
    let n = delete_versions(&clients.s3, "b", &listed).await.unwrap();
    assert_eq!(n, 2500);
    let sent = sent.lock().unwrap();
    let mut sizes: Vec<usize> = sent.iter().map(|(n, _, _)| *n).collect();
    sizes.sort();
    assert_eq!(sizes, [500, 1000, 1000]);
    assert!(sent.iter().all(|(_, quiet, _)| *quiet == Some(true)));
    let mut all: Vec<Version> = sent.iter().flat_map(|(_, _, v)| v.clone()).collect();
    all.sort();
    assert_eq!(all, listed, "exactly what was listed, each once");
}

#[tokio::test]
async fn mocked_keys_listed_under_errors_in_a_200_answer_are_not_deleted() {
    // S3 answers 200 and lists the keys it could not delete under Errors (quiet mode lists
    // nothing else): those are not deleted, and the purge fails after every batch answered.
    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    let rule = mock!(Client::delete_objects).then_compute_output(move |r| {
        *counted.lock().unwrap() += 1;
        let first = r
            .delete()
            .and_then(|d| d.objects().first())
            .map(|o| o.key().to_string())
            .unwrap_or_default();
        let out = DeleteObjectsOutput::builder();
        if first == "uploads/00000" {
            out.errors(
                aws_sdk_s3::types::Error::builder()
                    .key("uploads/00007")
                    .version_id("v7")
                    .code("AccessDenied")
                    .message("Access Denied")
                    .build(),
            )
            .build()
        } else {
            out.build()
        }
    });
    let clients = Rules {
        s3: vec![&rule],
        ..Default::default()
    }
    .clients();
    let err = delete_versions(&clients.s3, "b", &versions(1500))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(*calls.lock().unwrap(), 2, "every batch was sent");
    assert!(
        err.contains("emptying bucket b: 1 of 1500 object versions were not deleted (1499 were)"),
        "{err}"
    );
    assert!(
        err.contains("uploads/00007 v7: AccessDenied: Access Denied"),
        "{err}"
    );
}

/// S3's DeleteObjects answers 200 and names, per key, the ones it could not delete; `SlowDown`
/// and `InternalError` are the documented retryable ones
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html,
/// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). Those keys are sent
/// again with backoff, alone; a key refused for another reason is not.
#[tokio::test]
async fn as_aws_documents_keys_answered_slowdown_or_internalerror_are_sent_again() {
    let sent: Arc<Mutex<Vec<Vec<String>>>> = Arc::new(Mutex::new(Vec::new()));
    let seen = sent.clone();
    let rule = mock!(Client::delete_objects).then_compute_output(move |r| {
        let keys: Vec<String> = r
            .delete()
            .map(|d| d.objects().iter().map(|o| o.key().to_string()).collect())
            .unwrap_or_default();
        let round = {
            let mut s = seen.lock().unwrap();
            s.push(keys.clone());
            s.len()
        };
        let error = |key: &str, code: &str| {
            aws_sdk_s3::types::Error::builder()
                .key(key)
                .code(code)
                .message(code)
                .build()
        };
        let mut out = DeleteObjectsOutput::builder();
        for k in &keys {
            match (round, k.as_str()) {
                (1, "uploads/00001") => out = out.errors(error(k, "SlowDown")),
                (1 | 2, "uploads/00002") => out = out.errors(error(k, "InternalError")),
                (_, "uploads/00003") => out = out.errors(error(k, "AccessDenied")),
                _ => {}
            }
        }
        out.build()
    });
    let clients = Rules {
        s3: vec![&rule],
        ..Default::default()
    }
    .clients();
    let err = delete_versions(&clients.s3, "b", &versions(10))
        .await
        .unwrap_err()
        .to_string();
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[0].len(), 10);
    assert_eq!(sent[1], ["uploads/00001", "uploads/00002"]);
    assert_eq!(sent[2], ["uploads/00002"]);
    assert!(
        err.contains("1 of 10 object versions were not deleted (9 were)")
            && err.contains("uploads/00003: AccessDenied"),
        "{err}"
    );
}

#[tokio::test]
async fn mocked_a_batch_that_fails_as_a_whole_counts_as_not_deleted() {
    let rule = mock!(Client::delete_objects)
        .match_requests(|r| {
            r.delete()
                .and_then(|d| d.objects().first())
                .is_some_and(|o| o.key() == "uploads/01000")
        })
        .then_error(|| {
            DeleteObjectsError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("Access Denied")
                    .build(),
            )
        });
    let ok = mock!(Client::delete_objects).then_output(|| DeleteObjectsOutput::builder().build());
    let clients = Rules {
        s3: vec![&rule, &ok],
        ..Default::default()
    }
    .clients();
    let err = delete_versions(&clients.s3, "b", &versions(1200))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("200 of 1200 object versions were not deleted (1000 were)"),
        "{err}"
    );
    assert!(
        err.contains("were): a batch of 200: access denied"),
        "{err}"
    );
}
