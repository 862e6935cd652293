//! `teardown` against moto's server: refusals that delete nothing, the flags that allow exactly
//! a loss, retained buckets, `--only fleet`, and copies torn down concurrently.
//!
//! moto gap: its CloudFormation cannot delete a role with managed policies attached; tests that
//! delete a fleet stack detach them first (`moto_detach_role_policies`). Termination protection
//! and DELETE_FAILED are covered by the mock tests in src/teardown/tests.rs.

use crate::common::*;

async fn clients() -> (
    aws_sdk_cloudformation::Client,
    aws_sdk_s3::Client,
    aws_sdk_sqs::Client,
) {
    let conf = moto_config().await;
    let s3 = aws_sdk_s3::config::Builder::from(&conf)
        .force_path_style(true)
        .build();
    (
        aws_sdk_cloudformation::Client::new(&conf),
        aws_sdk_s3::Client::from_conf(s3),
        aws_sdk_sqs::Client::new(&conf),
    )
}

async fn bucket_of(e: &str) -> String {
    format!("{e}-uploads-123456789012-eu-west-1")
}

async fn objects(s3: &aws_sdk_s3::Client, bucket: &str) -> usize {
    match s3.list_object_versions().bucket(bucket).send().await {
        Ok(o) => o.versions().len() + o.delete_markers().len(),
        Err(_) => 0,
    }
}

#[tokio::test]
async fn teardown_refuses_a_non_empty_bucket_and_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("td-bucket");
    let file = deploy_lab(dir.path(), &e, "");
    let (cfn, s3, _) = clients().await;
    let bucket = bucket_of(&e).await;
    put_object(&s3, &bucket, "uploads/a.txt", b"hello").await;

    let o = run(qfleet_on_moto().arg("teardown").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("bucket {bucket}: 1 object, 5 B")),
        "{err}"
    );
    assert!(err.contains("--purge-bucket"), "{err}");
    assert!(
        stack_exists(&cfn, &format!("qfleet-{e}-fleet")).await,
        "the fleet is not deleted either"
    );
    assert!(stack_exists(&cfn, &format!("qfleet-{e}-data")).await);
    assert_eq!(objects(&s3, &bucket).await, 1, "the object is still there");
}

#[tokio::test]
async fn teardown_refuses_a_queue_holding_messages_and_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("td-queue");
    let file = deploy_lab(dir.path(), &e, "");
    let (cfn, _, sqs) = clients().await;
    let queue = format!("qfleet-{e}-jobs");
    send_job(&sqs, &queue, "job").await;

    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--purge-bucket",
        "-o",
        "json",
    ]));
    assert_eq!(o.status.code(), Some(4), "{}", stdout(&o));
    let s = document(&o);
    let env = &s["environments"][0];
    assert_eq!(env["error"]["kind"], "refused");
    assert!(
        env["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("queue {queue}: 1 message.")),
        "{env}"
    );
    assert_eq!(env["data"]["queue_messages"], 1);
    assert_eq!(
        visible_messages(&sqs, &queue).await,
        1,
        "the message is still there"
    );
    assert!(stack_exists(&cfn, &format!("qfleet-{e}-fleet")).await);
}

#[tokio::test]
async fn teardown_with_the_flags_empties_the_bucket_versions_included_and_removes_every_stack() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("td-flags");
    let file = deploy_lab(dir.path(), &e, "");
    let (cfn, s3, sqs) = clients().await;
    let bucket = bucket_of(&e).await;
    // moto's CloudFormation does not apply VersioningConfiguration; turn it on as AWS would.
    versioned(&s3, &bucket).await;
    for body in [&b"one"[..], &b"two"[..]] {
        put_object(&s3, &bucket, "uploads/a.txt", body).await;
    }
    s3.delete_object()
        .bucket(&bucket)
        .key("uploads/a.txt")
        .send()
        .await
        .unwrap();
    let before = objects(&s3, &bucket).await;
    assert_eq!(before, 3, "two versions and a delete marker");
    send_job(&sqs, &format!("qfleet-{e}-jobs"), "job").await;
    // A worker's line in the fleet's log group, as the CloudWatch agent writes it.
    let logs = Logs::new(moto_endpoint());
    let group = format!("/qfleet/{e}/workers");
    logs.write(&group, "i-0abc", &["outcome=processed keys=1"]);

    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--purge-bucket",
        "--discard-messages",
        "-o",
        "json",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let s = document(&o);
    // The log group the fleet stack lists was read and reported with what it held.
    let held = &s["environments"][0]["log_group"];
    assert_eq!(held["name"], group.as_str(), "{s}");
    assert_eq!(held["has_lines"], true, "{s}");
    assert_eq!(held["unknown"], serde_json::Value::Null, "{s}");
    assert_eq!(
        s["environments"][0]["purged_objects"].as_u64().unwrap() as usize,
        before
    );
    let deleted: Vec<&str> = s["environments"][0]["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        deleted,
        [format!("qfleet-{e}-fleet"), format!("qfleet-{e}-data")],
        "fleet first, then data"
    );
    assert!(!stack_exists(&cfn, &format!("qfleet-{e}-fleet")).await);
    assert!(!stack_exists(&cfn, &format!("qfleet-{e}-data")).await);
    assert!(
        s3.head_bucket().bucket(&bucket).send().await.is_err(),
        "the bucket is gone"
    );
}

#[tokio::test]
async fn a_retained_bucket_survives_the_teardown_with_its_objects() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("td-retain");
    let file = deploy_lab(dir.path(), &e, "bucket:\n  retain: true\n");
    let (cfn, s3, _) = clients().await;
    let bucket = bucket_of(&e).await;
    put_object(&s3, &bucket, "uploads/keep.txt", b"keep").await;

    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!(
            "retained: bucket {bucket} (Bucket, DeletionPolicy RetainExceptOnCreate)"
        )),
        "{}",
        stdout(&o)
    );
    assert!(!stack_exists(&cfn, &format!("qfleet-{e}-data")).await);
    assert_eq!(
        objects(&s3, &bucket).await,
        1,
        "the retained bucket keeps its object"
    );
}

#[tokio::test]
async fn only_fleet_keeps_the_queue_and_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("td-only");
    let file = deploy_lab(dir.path(), &e, "");
    let (cfn, _, sqs) = clients().await;
    let queue = format!("qfleet-{e}-jobs");
    send_job(&sqs, &queue, "waits for the next fleet").await;

    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto()
        .arg("teardown")
        .arg(&file)
        .args(["--only", "fleet", "--yes"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stack_exists(&cfn, &format!("qfleet-{e}-fleet")).await);
    assert!(stack_exists(&cfn, &format!("qfleet-{e}-data")).await);
    assert_eq!(visible_messages(&sqs, &queue).await, 1);

    // Deploy again: the fleet comes back to the waiting message.
    let o = run(qfleet_on_moto()
        .arg("deploy")
        .arg(&file)
        .args(["--yes", "-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = document(&o);
    assert_eq!(s["environments"][0]["stacks"][1]["action"], "created");
    assert_eq!(visible_messages(&sqs, &queue).await, 1);
}

#[tokio::test]
async fn without_a_terminal_teardown_needs_yes() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("td-noyes");
    let file = deploy_lab(dir.path(), &e, "");
    let (cfn, _, _) = clients().await;
    let o = run(qfleet_on_moto()
        .arg("teardown")
        .arg(&file)
        .stdin(std::process::Stdio::null()));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("pass --yes"), "{}", stderr(&o));
    assert!(stack_exists(&cfn, &format!("qfleet-{e}-fleet")).await);
}

#[tokio::test]
async fn ten_copies_deploy_and_tear_down_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("cp");
    let file = lab_stack_file(dir.path(), &e, "copies: 10\n");
    let o = run(qfleet_on_moto()
        .arg("deploy")
        .arg(&file)
        .args(["--yes", "-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let s = document(&o);
    let names: Vec<&str> = s["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["environment"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 10);
    assert_eq!(
        (names[0], names[9]),
        (format!("{e}-01").as_str(), format!("{e}-10").as_str())
    );

    // One copy by name, and a glob over the copies, from the stacks directory.
    let o = run(qfleet_on_moto()
        .args(["status", &format!("{e}-07"), "--stacks-dir"])
        .arg(dir.path())
        .args(["-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = document(&o);
    assert_eq!(v["environments"][0]["environment"], format!("{e}-07"));

    let copies: Vec<String> = (1..=10).map(|i| format!("{e}-{i:02}")).collect();
    moto_detach_role_policies(&copies.iter().map(String::as_str).collect::<Vec<_>>());
    let o = run(qfleet_on_moto()
        .args(["teardown", &format!("{e}-*"), "--yes", "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o)
            .lines()
            .filter(|l| l.contains(": deleted "))
            .count(),
        10,
        "{}",
        stdout(&o)
    );
    let (cfn, _, _) = clients().await;
    for c in &copies {
        assert!(
            !stack_exists(&cfn, &format!("qfleet-{c}-data")).await,
            "{c}"
        );
    }
}

/// Reading never consumes (issue 57): SQS has no peek, every receive counts toward a message's
/// maxReceiveCount ("ApproximateReceiveCount: the number of times a message has been received
/// across all queues but not deleted",
/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html;
/// past maxReceiveCount it moves to the dead-letter queue,
/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
/// Six refused `teardown --yes` runs, then one `status` and one `send` that times out, leave a
/// waiting job's receive count where it was: the one receive of this test's own check.
#[tokio::test]
async fn refused_teardowns_status_and_send_never_receive_a_waiting_job() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("rcvcount");
    let (_, s3, sqs) = clients().await;
    let file = deploy_lab(dir.path(), &e, "");
    let queue = format!("qfleet-{e}-jobs");
    send_job(&sqs, &queue, "a student's waiting job").await;
    // The bucket holds an upload: each teardown is refused (exit 4).
    put_object(&s3, &bucket_of(&e).await, "uploads/a.txt", b"a").await;
    for _ in 0..6 {
        let o = run(qfleet_on_moto().arg("teardown").arg(&file).arg("--yes"));
        assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    }
    let o = run(qfleet_on_moto().arg("status").arg(&file));
    assert!(o.status.code().is_some(), "{}", stderr(&o));
    // moto runs no workers: the send is not processed in time (exit 1).
    let o = run(qfleet_on_moto()
        .args(["send"])
        .arg(&file)
        .args(["--timeout", "2s"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let url = queue_url(&sqs, &queue).await;
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .message_system_attribute_names(
            aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
        )
        .send()
        .await
        .unwrap();
    let job = got
        .messages()
        .iter()
        .find(|m| m.body() == Some("a student's waiting job"))
        .expect("the job still waits");
    let count = job
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
        })
        .cloned();
    assert_eq!(count.as_deref(), Some("1"), "only this check received it");
}

/// Issue 83: a file that asks for termination protection (the default outside labs) whose
/// deploy could not set it (moto answers UpdateTerminationProtection with HTTP 500: the data
/// stack stands unprotected, the deploy exits 1). `teardown --yes` does not tear it down
/// unawares: refused (exit 4, `protection-missing`), nothing deleted, until
/// `--disable-termination-protection`, which goes ahead and says so.
#[tokio::test]
async fn teardown_yes_refuses_an_environment_whose_file_asks_for_protection_its_stacks_lack() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("td-unprot");
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(
        &file,
        format!(
            "environment: {e}\nregion: eu-west-1\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\n"
        ),
    )
    .unwrap();
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("termination protection"),
        "the deploy could not set it: {}",
        stderr(&o)
    );
    let (cfn, _, _) = clients().await;
    let data = format!("qfleet-{e}-data");
    assert!(stack_exists(&cfn, &data).await, "the data stack stands");

    let o = run(qfleet_on_moto()
        .arg("teardown")
        .arg(&file)
        .args(["--yes", "-o", "json"]));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let doc = document(&o);
    check_schema("teardown", &doc);
    let env = &doc["environments"][0];
    assert_eq!(
        env["refusals"],
        serde_json::json!([{"reason": "protection-missing", "stacks": [data]}]),
        "{doc}"
    );
    let message = env["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "{data} lacks the termination protection its stack file asks for"
        )) && message.contains("--disable-termination-protection"),
        "{message}"
    );
    assert!(
        stderr(&o).contains(&format!("error: {e}: nothing was deleted")),
        "{}",
        stderr(&o)
    );
    assert!(stack_exists(&cfn, &data).await, "nothing deleted");

    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--disable-termination-protection",
        "-o",
        "json",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = document(&o);
    check_schema("teardown", &doc);
    let env = &doc["environments"][0];
    assert_eq!(env["deleted"], serde_json::json!([data]), "{doc}");
    let said = format!(
        "{data} lacks the termination protection its stack file asks for (termination_protection; a deploy could not set it); torn down as asked (--disable-termination-protection)"
    );
    assert!(
        stderr(&o).contains(&format!("warning: {e}: {said}")),
        "{}",
        stderr(&o)
    );
    assert!(
        env["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ev| ev["event"] == "warning" && ev["message"] == said.as_str()),
        "{doc}"
    );
    assert!(!stack_exists(&cfn, &data).await, "torn down");
}
