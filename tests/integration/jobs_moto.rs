//! Jobs a user can follow (`jobs:`; docs/jobs.md) against moto's server, which runs DynamoDB
//! (LocalStack 4.13.1's DynamoDB answers CreateTable with HTTP 500 on these machines): the job
//! table deployed, the reference worker keeping it, `qfleet jobs`, `status`, `send`'s cleanup of
//! its own record, and a teardown that refuses a table holding records.
//!
//! moto gaps: it skips bucket notifications and SNS subscriptions, so an upload's event is sent
//! to the queue here as SNS's raw delivery would carry it (the S3 event's documented shape,
//! with the version id S3 answered the upload with); and its CloudFormation leaves the bucket's
//! VersioningConfiguration unapplied, so the test turns versioning on (the template declares it).

use crate::common::*;

struct Moto {
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
}

async fn moto() -> Moto {
    let conf = moto_config().await;
    let s3 = aws_sdk_s3::config::Builder::from(&conf)
        .force_path_style(true)
        .build();
    Moto {
        s3: aws_sdk_s3::Client::from_conf(s3),
        sqs: aws_sdk_sqs::Client::new(&conf),
    }
}

/// Uploads `key` and sends its S3 event to `queue`, as S3 and the topic would: the event's
/// documented fields (notification-content-structure), the version id S3 gave the upload.
async fn upload(m: &Moto, bucket: &str, key: &str, queue: &str) -> String {
    versioned(&m.s3, bucket).await;
    let put =
        m.s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"a photo"))
            .send()
            .await
            .unwrap();
    let version = put
        .version_id()
        .expect("the bucket is versioned")
        .to_string();
    let event = serde_json::json!({ "Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "eventTime": "2026-11-24T19:55:00.120Z",
        "s3": {
            "bucket": { "name": bucket },
            "object": { "key": key, "versionId": version, "sequencer": "0055AED6DCD90281E5" }
        }
    }]});
    send_job(&m.sqs, queue, &event.to_string()).await;
    version
}

/// Runs the reference worker once on `queue` with the job table's settings, as the stage's
/// user data gives them.
fn work_once(
    (env, table): (&str, &str),
    queue_url: &str,
    bucket: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut c = std::process::Command::new(root().join(".venv/bin/python"));
    c.arg(root().join("crates/qfleet-runtime/python/qfleet_worker.py"))
        .arg("--once")
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-1")
        .env_remove("AWS_PROFILE")
        .env("QFLEET_ENVIRONMENT", env)
        .env("QFLEET_QUEUE_URL", queue_url)
        .env("QFLEET_BUCKET", bucket)
        .env("QFLEET_WAIT_SECONDS", "1")
        .env("QFLEET_RETRY_BACKOFF", "0")
        // The table's name as the bootstrap writes it from the data stack's resource (moto's
        // DescribeStackResource fails on a stack with a resource it skipped: HTTP 500, so the
        // name is read here from ListStackResources; the workers' own lookup is tested with
        // moto in-process, crates/qfleet-runtime/python/test_qfleet_jobs.py).
        .env("QFLEET_JOB_TABLE", table)
        .env("QFLEET_STAGE_INDEX", "0")
        .env("QFLEET_NEXT_STAGE", "")
        .env("QFLEET_MAX_RECEIVE_COUNT", "2")
        .env("QFLEET_JOB_RETENTION_DAYS", "30")
        .env(
            "QFLEET_RESPONSE_QUEUE_URL",
            format!("{}/123456789012/qfleet-{env}-responses", moto_endpoint()),
        );
    for (k, v) in extra {
        c.env(k, v);
    }
    let o = run(&mut c);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    stdout(&o)
}

/// Puts `lines` into the log group `group` as one instance's worker stream, as the CloudWatch
/// agent would (boto3 from the test environment: the crate has no Logs client of its own).
fn put_log_lines(group: &str, lines: &[&str]) {
    let script = r#"
import json, sys, time, boto3
group, lines = sys.argv[1], json.loads(sys.argv[2])
logs = boto3.client("logs")
logs.create_log_stream(logGroupName=group, logStreamName="i-0abc123/worker")
now = int(time.time() * 1000)
logs.put_log_events(logGroupName=group, logStreamName="i-0abc123/worker", logEvents=[
    {"timestamp": now + i, "message": m} for i, m in enumerate(lines)])
"#;
    let o = run(std::process::Command::new(root().join(".venv/bin/python"))
        .args(["-c", script, group])
        .arg(serde_json::to_string(lines).unwrap())
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-1")
        .env_remove("AWS_PROFILE"));
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The job table's name: CloudFormation's, as the data stack lists it.
async fn table_of(env: &str) -> String {
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    let r = cfn
        .list_stack_resources()
        .stack_name(format!("qfleet-{env}-data"))
        .send()
        .await
        .unwrap();
    let name = r
        .stack_resource_summaries()
        .iter()
        .find(|s| s.logical_resource_id() == Some("JobTable"))
        .and_then(|s| s.physical_resource_id())
        .expect("the data stack lists its job table")
        .to_string();
    assert!(
        name.starts_with(&format!("qfleet-{env}-data-JobTable-")),
        "{name}"
    );
    name
}

fn states(job: &serde_json::Value) -> Vec<String> {
    job["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_upload_is_a_job_kept_once_failed_when_poison_shown_and_guarded_by_teardown() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("jobs");
    let file = deploy_lab(
        dir.path(),
        &e,
        "jobs: {}\nqueue:\n  max_receive_count: 2\n  visibility_timeout: 5\n  priority: {}\n",
    );
    let m = moto().await;
    let bucket = format!("{e}-uploads-123456789012-eu-west-1");
    let queue = format!("qfleet-{e}-jobs");
    let url = queue_url(&m.sqs, &queue).await;
    let table = table_of(&e).await;

    // An upload goes queued → processing → done, and the response queue gets its message.
    let version = upload(&m, &bucket, "uploads/cat.jpg", &queue).await;
    let log = work_once((&e, &table), &url, &bucket, &[]);
    assert!(log.contains("outcome=processed"), "{log}");
    let cat_log = log;
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["cat.jpg", "-o", "json"]),
        0,
    );
    check_schema("jobs", &d);
    let job = &d["environments"][0]["jobs"][0];
    assert_eq!(job["upload"], version.as_str());
    assert_eq!(job["state"], "done");
    assert_eq!(job["output"], "processed/cat.jpg");
    assert_eq!(states(job), ["queued", "processing", "done"]);
    let answered = responses(&m.sqs, &e).await;
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!(answered[0]["state"], "done");
    assert_eq!(answered[0]["key"], "uploads/cat.jpg");

    // The same message again: not processed, counted as a duplicate, no second response.
    let event = serde_json::json!({ "Records": [{
        "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "eventTime": "2026-11-24T19:55:00.120Z",
        "s3": { "bucket": { "name": bucket }, "object": { "key": "uploads/cat.jpg", "versionId": version } }
    }]});
    send_job(&m.sqs, &queue, &event.to_string()).await;
    work_once((&e, &table), &url, &bucket, &[]);
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["cat.jpg", "-o", "json"]),
        0,
    );
    let job = &d["environments"][0]["jobs"][0];
    assert_eq!(job["duplicates"], 1, "{job}");
    assert_eq!(states(job), ["queued", "processing", "done"], "{job}");
    assert!(responses(&m.sqs, &e).await.is_empty());

    // A job sent as a message, as a producer's own SDK call sends it (docs/jobs.md): recorded
    // under its job_id, its record of the message written, answered once with its sequence.
    m.sqs
        .send_message()
        .queue_url(&url)
        .message_body(r#"{"photo": 42, "resize": "1080p"}"#)
        .message_attributes(
            "job_id",
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value("photo-42")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let log = work_once((&e, &table), &url, &bucket, &[]);
    assert!(log.contains("outcome=processed"), "{log}");
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["photo-42", "-o", "json"]),
        0,
    );
    check_schema("jobs", &d);
    let job = &d["environments"][0]["jobs"][0];
    assert_eq!(
        (&job["key"], &job["upload"]),
        (&"photo-42".into(), &"job".into())
    );
    assert_eq!(job["output"], "processed/jobs/photo-42.json", "{job}");
    assert_eq!(states(job), ["queued", "processing", "done"]);
    assert_eq!(job["seq"], 2, "{job}");
    let photo_log = log;

    // The list reads the index, which carries no queued_at, received_at or seq: they come from
    // the items, so a message job's record is whole and its time taken is shown (issue 67).
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["-o", "json"]),
        0,
    );
    check_schema("jobs", &d);
    let listed = d["environments"][0]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["key"] == "photo-42")
        .unwrap()
        .clone();
    assert!(
        listed["queued_at"].is_string() && listed["received_at"].is_string(),
        "{listed}"
    );
    assert_eq!(listed["seq"], 2, "{listed}");
    let o = run(qfleet_on_moto().args(["jobs"]).arg(&file));
    let row = stdout(&o)
        .lines()
        .find(|l| l.contains("photo-42"))
        .unwrap_or_default()
        .to_string();
    let words: Vec<&str> = row.split_whitespace().collect();
    assert!(
        words
            .windows(2)
            .any(|w| w[1] == "s" && w[0].parse::<f64>().is_ok()),
        "took is shown: {row}"
    );

    // `logs --job`: the worker's own lines, as the agent ships them, found by the job's id (as
    // given, without the upload prefix) and by the message id its record keeps. moto matches
    // no filter pattern with several terms (it returns every line; a quoted term it never
    // unescapes): the lines shown are the ones qfleet's own reading keeps, as on AWS.
    let cat = cat_log.trim();
    let photo = photo_log.trim();
    assert!(cat.contains(r#" job="uploads/cat.jpg" "#), "{cat}");
    assert!(photo.contains(r#" job="photo-42" "#), "{photo}");
    let by_message = cat.replace(r#" job="uploads/cat.jpg""#, "");
    put_log_lines(
        &format!("/qfleet/{e}/workers"),
        &[cat, photo, &by_message, "qfleet-worker start queue=x"],
    );
    let d = doc(
        qfleet_on_moto()
            .args(["logs"])
            .arg(&file)
            .args(["--job", "cat.jpg", "-o", "json"]),
        0,
    );
    check_schema("logs", &d);
    let shown: Vec<&str> = d["environments"][0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(shown, [cat, by_message.as_str()], "{d}");
    let o = run(qfleet_on_moto()
        .args(["logs"])
        .arg(&file)
        .args(["--job", "photo-42"]));
    assert!(stdout(&o).contains(photo), "{}", stdout(&o));
    assert!(!stdout(&o).contains("cat.jpg"), "{}", stdout(&o));
    let record =
        m.s3.get_object()
            .bucket(&bucket)
            .key("processed/jobs/photo-42.json")
            .send()
            .await
            .unwrap();
    let record: serde_json::Value =
        serde_json::from_slice(&record.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(record["bytes"], 32, "{record}");
    let answered = responses(&m.sqs, &e).await;
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!(
        (
            &answered[0]["key"],
            &answered[0]["state"],
            &answered[0]["seq"]
        ),
        (&"photo-42".into(), &"done".into(), &2.into())
    );

    // `qfleet submit`: recorded queued before it is sent, then kept by the worker as above.
    let d = doc(
        qfleet_on_moto().arg("submit").arg(&file).args([
            r#"{"n": 1}"#,
            "--id",
            "sub-1",
            "--attribute",
            "tenant=acme",
            "-o",
            "json",
        ]),
        0,
    );
    check_schema("submit", &d);
    let sub = &d["environments"][0];
    assert_eq!(
        (&sub["job_id"], &sub["outcome"]),
        (&"sub-1".into(), &"sent".into()),
        "{d}"
    );
    assert!(sub["message_id"].is_string(), "{d}");
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["sub-1", "-o", "json"]),
        0,
    );
    let job = &d["environments"][0]["jobs"][0];
    assert_eq!(
        (&job["state"], &job["seq"]),
        (&"queued".into(), &1.into()),
        "{job}"
    );
    // --wait follows the record while a worker takes both jobs.
    let waiting = qfleet_on_moto()
        .arg("submit")
        .arg(&file)
        .args([
            r#"{"n": 2}"#,
            "--id",
            "sub-2",
            "--wait",
            "--timeout",
            "90",
            "-o",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    for _ in 0..2 {
        let log = work_once((&e, &table), &url, &bucket, &[]);
        assert!(log.contains("outcome=processed"), "{log}");
    }
    let waited = waiting.wait_with_output().unwrap();
    assert_eq!(waited.status.code(), Some(0), "{}", stderr(&waited));
    let d = document(&waited);
    check_schema("submit", &d);
    let sub = &d["environments"][0];
    assert_eq!(
        (&sub["state"], &sub["seq"]),
        (&"done".into(), &3.into()),
        "{d}"
    );
    assert_eq!(sub["output"], "processed/jobs/sub-2.json", "{d}");
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["sub-1", "-o", "json"]),
        0,
    );
    assert_eq!(
        states(&d["environments"][0]["jobs"][0]),
        ["queued", "processing", "done"]
    );
    // A job id already done is a duplicate: nothing is sent.
    let d = doc(
        qfleet_on_moto()
            .arg("submit")
            .arg(&file)
            .args(["again", "--id", "sub-1", "-o", "json"]),
        0,
    );
    let sub = &d["environments"][0];
    assert_eq!(sub["outcome"], "duplicate", "{d}");
    assert_eq!(sub["message_id"], serde_json::Value::Null, "{d}");
    let mut answered = responses(&m.sqs, &e).await;
    answered.extend(responses(&m.sqs, &e).await);
    let mut keys: Vec<&str> = answered
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["sub-1", "sub-2"], "each answers once: {answered:?}");

    // Issue 87: a job sent to the priority lane (`submit --priority`) behind ordinary ones is
    // the reference worker's next, given the lane as the fleet's user data gives it; its
    // record says its lane, and `jobs` counts it while it waits.
    for id in ["ord-1", "ord-2"] {
        doc(
            qfleet_on_moto()
                .arg("submit")
                .arg(&file)
                .args(["{}", "--id", id, "-o", "json"]),
            0,
        );
    }
    let d = doc(
        qfleet_on_moto().arg("submit").arg(&file).args([
            "{}",
            "--id",
            "urgent",
            "--priority",
            "-o",
            "json",
        ]),
        0,
    );
    check_schema("submit", &d);
    let lane = format!("qfleet-{e}-priority");
    assert_eq!(d["environments"][0]["queue"], lane.as_str(), "{d}");
    let o = run(qfleet_on_moto().args(["jobs"]).arg(&file));
    assert!(
        stdout(&o).contains("queued by lane, of the jobs shown: priority 1"),
        "{}",
        stdout(&o)
    );
    let lane_url = queue_url(&m.sqs, &lane).await;
    let lanes = [("QFLEET_PRIORITY_QUEUE_URL", lane_url.as_str())];
    let log = work_once((&e, &table), &url, &bucket, &lanes);
    assert!(
        log.contains("job=\"urgent\"")
            && log.contains("outcome=processed")
            && log.ends_with("lane=priority\n"),
        "the priority job first: {log}"
    );
    for _ in 0..2 {
        let log = work_once((&e, &table), &url, &bucket, &lanes);
        assert!(
            log.contains("job=\"ord-") && !log.contains("lane="),
            "{log}"
        );
    }
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["urgent", "-o", "json"]),
        0,
    );
    check_schema("jobs", &d);
    let job = &d["environments"][0]["jobs"][0];
    assert_eq!(
        (&job["state"], &job["lane"]),
        (&"done".into(), &"priority".into()),
        "{job}"
    );
    assert_eq!(responses(&m.sqs, &e).await.len(), 3, "each answers once");

    // A poison message (its object is not there): retrying, then failed at the second receive.
    let poison = serde_json::json!({ "Records": [{
        "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "eventTime": "2026-11-24T19:56:00.000Z",
        "s3": { "bucket": { "name": bucket }, "object": { "key": "uploads/gone.jpg", "versionId": "v-gone" } }
    }]});
    send_job(&m.sqs, &queue, &poison.to_string()).await;
    for _ in 0..2 {
        work_once((&e, &table), &url, &bucket, &[]);
    }
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["--failed", "-o", "json"]),
        0,
    );
    let failed = d["environments"][0]["jobs"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{d}");
    assert_eq!(failed[0]["key"], "uploads/gone.jpg");
    assert!(
        failed[0]["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{d}"
    );
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["gone.jpg", "-o", "json"]),
        0,
    );
    assert_eq!(
        states(&d["environments"][0]["jobs"][0]),
        ["queued", "processing", "retrying", "processing", "failed"]
    );
    // Issue 67: a lookup that finds nothing says what it looked for and where; a filter that
    // matches none says how many jobs are in other states.
    let o = run(qfleet_on_moto().args(["jobs"]).arg(&file).arg("nothing-7"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!(
            "no job with id or upload key `uploads/nothing-7` or `nothing-7` in the job table {table}"
        )),
        "{}",
        stdout(&o)
    );
    let o = run(qfleet_on_moto()
        .args(["jobs"])
        .arg(&file)
        .args(["--state", "retrying"]));
    assert!(
        stdout(&o).contains("no retrying job changed in the last 1h (")
            && stdout(&o).contains(" in other states)"),
        "{}",
        stdout(&o)
    );
    let answered = responses(&m.sqs, &e).await;
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!(answered[0]["state"], "failed");

    // status shows the last minutes' jobs from the table.
    let s = doc(
        qfleet_on_moto()
            .arg("status")
            .arg(&file)
            .args(["-o", "json"]),
        0,
    );
    let jobs = &s["environments"][0]["jobs"];
    assert_eq!(
        (jobs["done"].as_u64(), jobs["failed"].as_u64()),
        (Some(7), Some(1)),
        "{s}"
    );
    // The lane is shown beside the queue.
    assert_eq!(
        s["environments"][0]["priority_queue"]["name"],
        format!("qfleet-{e}-priority").as_str(),
        "{s}"
    );

    // `dlq redrive --job`: the poison's next receive moves it to the dead-letter queue (SQS
    // moves a message received more than maxReceiveCount times); `dlq list` names its job;
    // the redrive of that one job moves exactly it back, and its record says queued, not
    // failed. A job with no dead letter is said, exit 2, and nothing moves.
    let d = doc(
        qfleet_on_moto()
            .args(["dlq"])
            .arg(&file)
            .args(["list", "-o", "json"]),
        0,
    );
    let dlq_name = d["environments"][0]["dead_letter_queue"]
        .as_str()
        .unwrap()
        .to_string();
    send_job(&m.sqs, &dlq_name, r#"{"not": "a job of ours"}"#).await;
    let _ = m
        .sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    let d = doc(
        qfleet_on_moto()
            .args(["dlq"])
            .arg(&file)
            .args(["list", "-o", "json"]),
        0,
    );
    check_schema("dlq", &d);
    let letters = d["environments"][0]["messages"].as_array().unwrap();
    assert_eq!(letters.len(), 2, "{d}");
    assert!(
        letters
            .iter()
            .any(|l| l["jobs"][0]["key"] == "uploads/gone.jpg" && l["jobs"][0]["state"] == "failed"),
        "{d}"
    );
    // `jobs ID` says where each job's message is, and what sends it back.
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["gone.jpg", "-o", "json"]),
        0,
    );
    check_schema("jobs", &d);
    let w = &d["environments"][0]["whereabouts"][0];
    assert_eq!(w["place"], "dead_letter_queue", "{d}");
    assert_eq!(
        w["redrive"],
        format!("qfleet dlq {e} redrive --job uploads/gone.jpg"),
        "{d}"
    );
    let o = run(qfleet_on_moto().args(["jobs"]).arg(&file).arg("cat.jpg"));
    assert!(
        stdout(&o).contains("it has ended: its worker deleted its message"),
        "{}",
        stdout(&o)
    );
    let o = run(qfleet_on_moto()
        .args(["dlq"])
        .arg(&file)
        .args(["redrive", "--job", "nothing-7"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no message of job nothing-7"),
        "{}",
        stderr(&o)
    );
    let d = doc(
        qfleet_on_moto()
            .args(["dlq"])
            .arg(&file)
            .args(["redrive", "--job", "gone.jpg", "-o", "json"]),
        0,
    );
    check_schema("dlq", &d);
    let moved = &d["environments"][0];
    assert_eq!(moved["job"], "gone.jpg", "{d}");
    assert_eq!(moved["jobs"][0]["state"], "queued", "{d}");
    assert_eq!(visible_messages(&m.sqs, &dlq_name).await, 1);
    let back = m
        .sqs
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = back.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, [poison.to_string().as_str()], "the same body, once");
    assert_eq!(back.messages()[0].message_id(), moved["sent"].as_str());
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["gone.jpg", "-o", "json"]),
        0,
    );
    let job = &d["environments"][0]["jobs"][0];
    assert_eq!(job["state"], "queued", "{d}");
    // Back in the job queue, which is never looked into: not in the dead-letter queue (looked),
    // never "waiting" on no evidence.
    assert_eq!(
        d["environments"][0]["whereabouts"][0]["place"], "not_looked",
        "{d}"
    );
    let last = job["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["state"], &last["message"]),
        (&"queued".into(), &moved["sent"]),
        "{d}"
    );
    // The worker takes it again: its record moves on from queued, and the attempt names the
    // message the redrive sent.
    work_once((&e, &table), &url, &bucket, &[]);
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["gone.jpg", "-o", "json"]),
        0,
    );
    let job = &d["environments"][0]["jobs"][0];
    assert_ne!(job["state"], "queued", "{d}");
    let attempt = job["history"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|h| h["state"] == "processing")
        .unwrap();
    assert_eq!(attempt["message"], moved["sent"], "{d}");

    // A backfill: 25 lines in batches of ten, each recorded queued and sent once; run again,
    // nothing is sent twice; a line whose id is done already is a duplicate.
    let lines = dir.path().join("backfill.jsonl");
    let mut text: String = (1..=25)
        .map(|n| format!("{{\"photo\": \"p-{n}\"}}\n"))
        .collect();
    text.push_str("{\"photo\": \"sub-1\"}\n");
    std::fs::write(&lines, &text).unwrap();
    let before = visible_messages(&m.sqs, &queue).await;
    let backfill = |expect: i32| {
        let d = doc(
            qfleet_on_moto().arg("submit").arg(&file).args([
                "--lines",
                lines.to_str().unwrap(),
                "--id-field",
                "photo",
                "-o",
                "json",
            ]),
            expect,
        );
        check_schema("submit", &d);
        d["environments"][0]["jobs"].as_array().unwrap().clone()
    };
    let jobs = backfill(0);
    assert_eq!(jobs.len(), 26);
    assert_eq!(
        (&jobs[0]["line"], &jobs[0]["job_id"]),
        (&1.into(), &"p-1".into())
    );
    assert!(
        jobs[..25]
            .iter()
            .all(|j| j["outcome"] == "sent" && j["message_id"].is_string())
    );
    assert_eq!(jobs[25]["outcome"], "duplicate");
    assert_eq!(visible_messages(&m.sqs, &queue).await, before + 25);
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["p-25", "-o", "json"]),
        0,
    );
    assert_eq!(d["environments"][0]["jobs"][0]["state"], "queued", "{d}");
    let again = backfill(0);
    assert!(
        again[..25].iter().all(|j| j["outcome"] == "in_flight"),
        "{again:?}"
    );
    assert_eq!(visible_messages(&m.sqs, &queue).await, before + 25);

    // `jobs ID --cancel`: a queued job is cancelled (a worker that receives it skips it and
    // deletes its message: the reference worker's tests); a done one, or one cancelled
    // already, is refused with its state and nothing changes; an unknown id is a usage error.
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["p-25", "--cancel", "-o", "json"]),
        0,
    );
    check_schema("jobs", &d);
    assert_eq!(
        d["environments"][0]["cancelled"],
        serde_json::json!(["job"]),
        "{d}"
    );
    let job = &d["environments"][0]["jobs"][0];
    assert_eq!(job["state"], "cancelled", "{d}");
    assert_eq!(states(job), ["queued", "cancelled"], "{d}");
    for (id, state) in [("p-25", "cancelled (job)"), ("cat.jpg", "done (")] {
        let o = run(qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args([id, "--cancel"]));
        assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
        assert!(stderr(&o).contains(state), "{}", stderr(&o));
    }
    let o = run(qfleet_on_moto()
        .args(["jobs"])
        .arg(&file)
        .args(["nothing-9", "--cancel"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let d = doc(
        qfleet_on_moto()
            .arg("status")
            .arg(&file)
            .args(["-o", "json"]),
        0,
    );
    assert_eq!(d["environments"][0]["jobs"]["cancelled"], 1, "{d}");

    // A line over the queue's limit (1.1 MiB: over SQS's largest) is stored in the bucket as
    // one submit stores it, and its message carries the pointer; the line beside it goes as is.
    let big = dir.path().join("big.jsonl");
    let pad = "x".repeat(1_150_000);
    std::fs::write(
        &big,
        format!("{{\"photo\": \"big-1\", \"pad\": \"{pad}\"}}\n{{\"photo\": \"small-1\"}}\n"),
    )
    .unwrap();
    let d = doc(
        qfleet_on_moto().arg("submit").arg(&file).args([
            "--lines",
            big.to_str().unwrap(),
            "--id-field",
            "photo",
            "-o",
            "json",
        ]),
        0,
    );
    check_schema("submit", &d);
    let jobs = d["environments"][0]["jobs"].as_array().unwrap();
    assert!(jobs.iter().all(|j| j["outcome"] == "sent"), "{jobs:?}");
    let at = jobs[0]["stored_body"].as_str().unwrap();
    let prefix = format!("s3://{bucket}/bodies/");
    assert!(at.starts_with(&prefix), "{at}");
    assert!(jobs[1]["stored_body"].is_null());
    let stored =
        m.s3.get_object()
            .bucket(&bucket)
            .key(&at[format!("s3://{bucket}/").len()..])
            .send()
            .await
            .unwrap();
    let bytes = stored.body.collect().await.unwrap().into_bytes();
    assert!(
        bytes.len() > 1_150_000 && bytes.starts_with(b"{\"photo\": \"big-1\""),
        "the line's body as it was"
    );
    assert_eq!(visible_messages(&m.sqs, &queue).await, before + 27);

    // A job waiting in the priority lane is data: a teardown without --discard-messages
    // refuses it by name.
    send_job(&m.sqs, &format!("qfleet-{e}-priority"), "{}").await;
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--purge-bucket",
        "--delete-job-records",
    ]));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("qfleet-{e}-priority")),
        "{}",
        stderr(&o)
    );
    // A teardown refuses a table that holds records, and deletes nothing.
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--purge-bucket",
        "--discard-messages",
    ]));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--delete-job-records"),
        "{}",
        stderr(&o)
    );
    let still = run(qfleet_on_moto().args(["jobs"]).arg(&file).arg("cat.jpg"));
    assert_eq!(still.status.code(), Some(0), "{}", stderr(&still));
    assert!(stdout(&still).contains("done"), "{}", stdout(&still));

    // With the flag it goes, the table with it.
    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--purge-bucket",
        "--discard-messages",
        "--delete-job-records",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[tokio::test]
async fn a_two_stage_pipeline_records_both_stages_on_one_job_and_only_the_last_answers() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("jobs-pipe");
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(
        &file,
        format!(
            "environment: {e}\nregion: eu-west-1\nlab: true\njobs: {{}}\nstages:\n  - name: resize\n    workers: {{min: 1, max: 2, public_ip: true}}\n  - name: thumb\n    prefix: resized/\n    workers: {{min: 1, max: 2, public_ip: true}}\n"
        ),
    )
    .unwrap();
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = moto().await;
    let bucket = format!("{e}-uploads-123456789012-eu-west-1");
    let first = queue_url(&m.sqs, &format!("qfleet-{e}-jobs")).await;
    let second = queue_url(&m.sqs, &format!("qfleet-{e}--thumb-jobs")).await;
    let table = table_of(&e).await;

    let version = upload(&m, &bucket, "uploads/dog.jpg", &format!("qfleet-{e}-jobs")).await;
    work_once(
        (&e, &table),
        &first,
        &bucket,
        &[
            ("QFLEET_STAGE", "resize"),
            ("QFLEET_NEXT_STAGE", "thumb"),
            ("QFLEET_PROCESSED_PREFIX", "resized/"),
        ],
    );
    // Nothing answered yet: the job is done only when the last stage is.
    assert!(responses(&m.sqs, &e).await.is_empty());
    // The resized object's event, as the bucket's notification would send it to stage 2: the
    // worker reads the job it belongs to from the object's metadata.
    let head =
        m.s3.head_object()
            .bucket(&bucket)
            .key("resized/dog.jpg")
            .send()
            .await
            .unwrap();
    let event = serde_json::json!({ "Records": [{
        "eventSource": "aws:s3", "eventName": "ObjectCreated:Copy",
        "eventTime": "2026-11-24T19:57:00.000Z",
        "s3": { "bucket": { "name": bucket },
                "object": { "key": "resized/dog.jpg", "versionId": head.version_id().unwrap() } }
    }]});
    send_job(
        &m.sqs,
        &format!("qfleet-{e}--thumb-jobs"),
        &event.to_string(),
    )
    .await;
    work_once(
        (&e, &table),
        &second,
        &bucket,
        &[
            ("QFLEET_STAGE", "thumb"),
            ("QFLEET_STAGE_INDEX", "1"),
            ("QFLEET_UPLOAD_PREFIX", "resized/"),
            ("QFLEET_PROCESSED_PREFIX", "processed/"),
        ],
    );
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["dog.jpg", "-o", "json"]),
        0,
    );
    let jobs = d["environments"][0]["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "one job for both stages: {d}");
    assert_eq!(jobs[0]["upload"], version.as_str());
    assert_eq!(jobs[0]["state"], "done");
    assert_eq!(jobs[0]["stage"], "thumb");
    let stages = job_history(&jobs[0]);
    let done: Vec<&str> = stages
        .iter()
        .filter(|(s, _)| s == "done")
        .map(|(_, st)| st.as_str())
        .collect();
    assert_eq!(done, ["resize", "thumb"], "{stages:?}");
    let answered = responses(&m.sqs, &e).await;
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!(answered[0]["stage"], "thumb");
    assert_eq!(answered[0]["output"], "processed/dog.jpg");
}

/// Issue 67: `submit --stage` sends a job to a later stage that takes producers' messages,
/// here a FIFO one (its group given), recorded at that stage; a stage that takes no messages,
/// and one the file does not have, are refused before anything is sent. Issue 87: that
/// stage reads a job's tenant from its body (`queue.tenant`): without `--group` the tenant is
/// the job's group, kept in its record, and shown by `jobs`; a job without one is refused.
#[tokio::test]
async fn submit_reaches_a_later_fifo_stage_that_takes_messages() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("sst");
    let file = dir.path().join(format!("{e}.yaml"));
    let write = |second_takes_messages: bool| {
        // A tenant read from a job's body, where the stage takes jobs as messages.
        let (sources, tenant) = if second_takes_messages {
            (
                "    sources: {messages: {}}\n",
                ", tenant: {json: customer}",
            )
        } else {
            ("", "")
        };
        std::fs::write(
            &file,
            format!(
                "environment: {e}\nregion: eu-west-1\nlab: true\njobs: {{}}\nstages:\n  - name: parse\n    workers: {{min: 1, max: 2, public_ip: true}}\n  - name: orders\n    fed_by: messages\n    queue: {{fifo: true, content_based_deduplication: true{tenant}}}\n{sources}    workers: {{min: 1, max: 2, public_ip: true}}\n"
            ),
        )
        .unwrap();
    };
    write(true);
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let d = doc(
        qfleet_on_moto().arg("submit").arg(&file).args([
            "--stage",
            "orders",
            "--group",
            "customer-7",
            "--id",
            "order-1",
            "{\"order\": 1}",
            "-o",
            "json",
        ]),
        0,
    );
    check_schema("submit", &d);
    let queue = d["environments"][0]["queue"].as_str().unwrap().to_string();
    assert!(queue.contains("--orders-"), "{d}");
    let j = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args(["order-1", "-o", "json"]),
        0,
    );
    let job = &j["environments"][0]["jobs"][0];
    assert_eq!(job["state"], "queued", "{j}");
    assert_eq!(job["stage"], "orders", "{j}");
    assert_eq!(job["tenant"], "customer-7", "--group wins: {j}");
    // The tenant from the body, as its group and in its record; none there: refused, unsent.
    let d = doc(
        qfleet_on_moto().arg("submit").arg(&file).args([
            "--stage",
            "orders",
            "--id",
            "order-2",
            "{\"order\": 2, \"customer\": \"c-9\"}",
            "-o",
            "json",
        ]),
        0,
    );
    check_schema("submit", &d);
    let o = run(qfleet_on_moto().arg("submit").arg(&file).args([
        "--stage",
        "orders",
        "--id",
        "order-3",
        "{\"order\": 3}",
    ]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("queue.tenant reads the tenant from the field `customer`"),
        "{}",
        stderr(&o)
    );
    let listed = run(qfleet_on_moto().args(["jobs"]).arg(&file));
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    let text = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(
        text.contains("queued by tenant, of the jobs shown: ")
            && text.contains("c-9 1")
            && text.contains("customer-7 1")
            && !text.contains("order-3"),
        "{text}"
    );
    // At that stage's index: its workers move the record on only from a lower one.
    assert_eq!(job["stage_index"], 1, "{j}");
    let m = moto().await;
    let url = queue_url(&m.sqs, &queue).await;
    let held = m
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(
        held.attributes()
            .and_then(
                |a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            )
            .map(String::as_str),
        Some("2")
    );
    // Refused before anything is sent: no such stage, and a stage fed only by the one before.
    let o = run(qfleet_on_moto()
        .arg("submit")
        .arg(&file)
        .args(["--stage", "nope", "{}"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    write(false);
    let o = run(qfleet_on_moto()
        .arg("submit")
        .arg(&file)
        .args(["--stage", "orders", "--group", "g", "{}"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("declare sources.messages in it"),
        "{}",
        stderr(&o)
    );
    write(true);
    moto_detach_role_policies(&[&e, &format!("{e}--orders")]);
    let o = run(qfleet_on_moto()
        .args([
            "teardown",
            "--yes",
            "--delete-job-records",
            "--discard-messages",
            "--producers-detached",
        ])
        .arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Issue 67: a job sent by `submit`, one by a producer's SDK and one through a topic (raw
/// delivery, sources.topics' default: its attributes are the message's) each fail into the
/// dead-letter queue, and `dlq list` names each one's job and its state. moto makes no
/// subscription from a template: the topic and its subscription are made here by hand, as
/// CloudFormation would make them. The jobs fail as a worker without its bucket fails every
/// message job ("a message job needs QFLEET_BUCKET").
#[tokio::test]
async fn a_job_from_every_way_in_is_named_in_the_dead_letter_queue() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("jobs-dlq");
    let file = deploy_lab(
        dir.path(),
        &e,
        "jobs: {}\nqueue:\n  max_receive_count: 2\n  visibility_timeout: 5\n",
    );
    let m = moto().await;
    let conf = moto_config().await;
    let bucket = format!("{e}-uploads-123456789012-eu-west-1");
    let queue = format!("qfleet-{e}-jobs");
    let url = queue_url(&m.sqs, &queue).await;
    let table = table_of(&e).await;
    let attribute = |v: &str| {
        aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .unwrap()
    };

    let o =
        run(qfleet_on_moto()
            .arg("submit")
            .arg(&file)
            .args([r#"{"n": 1}"#, "--id", "by-submit"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    m.sqs
        .send_message()
        .queue_url(&url)
        .message_body(r#"{"n": 2}"#)
        .message_attributes("job_id", attribute("by-sdk"))
        .send()
        .await
        .unwrap();
    let sns = aws_sdk_sns::Client::new(&conf);
    let topic = sns
        .create_topic()
        .name(format!("{e}-orders"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let queue_arn = format!("arn:aws:sqs:eu-west-1:123456789012:{queue}");
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    sns.publish()
        .topic_arn(&topic)
        .message(r#"{"n": 3}"#)
        .message_attributes(
            "job_id",
            aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value("by-topic")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // A job sent without a job_id: known by its message id.
    let plain = m
        .sqs
        .send_message()
        .queue_url(&url)
        .message_body(r#"{"n": 4}"#)
        .send()
        .await
        .unwrap()
        .message_id()
        .unwrap()
        .to_string();

    // Each fails twice (max_receive_count 2), then SQS moves it at its next receive.
    let no_bucket = [("QFLEET_BUCKET", "")];
    for _ in 0..16 {
        let log = work_once((&e, &table), &url, &bucket, &no_bucket);
        if log.trim().is_empty() {
            break;
        }
    }
    let _ = m
        .sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    let d = doc(
        qfleet_on_moto()
            .args(["dlq"])
            .arg(&file)
            .args(["list", "-o", "json"]),
        0,
    );
    check_schema("dlq", &d);
    let mut named: Vec<(String, String)> = d["environments"][0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["jobs"].as_array().unwrap().clone())
        .map(|j| {
            (
                j["key"].as_str().unwrap().to_string(),
                j["state"].as_str().unwrap_or("no record").to_string(),
            )
        })
        .collect();
    named.sort();
    assert_eq!(
        named,
        [
            ("by-sdk".to_string(), "failed".to_string()),
            ("by-submit".to_string(), "failed".to_string()),
            ("by-topic".to_string(), "failed".to_string()),
            (format!("sqs:{plain}"), "failed".to_string()),
        ],
        "{d}"
    );
    // Redriven, the job known by its message id keeps that id (the copy carries it as its
    // job_id): its record says queued, and the worker's run of the copy ends it done.
    let id = format!("sqs:{plain}");
    let d = doc(
        qfleet_on_moto()
            .args(["dlq"])
            .arg(&file)
            .args(["redrive", "--job", &id, "-o", "json"]),
        0,
    );
    assert_eq!(d["environments"][0]["jobs"][0]["state"], "queued", "{d}");
    assert_ne!(d["environments"][0]["sent"], plain.as_str(), "{d}");
    let log = work_once((&e, &table), &url, &bucket, &[]);
    assert!(
        log.contains(&format!("job=\"{id}\" outcome=processed")),
        "{log}"
    );
    let d = doc(
        qfleet_on_moto()
            .args(["jobs"])
            .arg(&file)
            .args([&id, "-o", "json"]),
        0,
    );
    assert_eq!(d["environments"][0]["jobs"][0]["state"], "done", "{d}");
    let o = run(qfleet_on_moto().args(["dlq"]).arg(&file).arg("list"));
    for id in ["by-sdk", "by-submit", "by-topic"] {
        assert!(
            stdout(&o).contains(&format!("job {id} (sent as a message)")),
            "{}",
            stdout(&o)
        );
    }
    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--purge-bucket",
        "--discard-messages",
        "--delete-job-records",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Issue 72: the closing line names where the environment was.
    let closing = format!("{e}: deleted qfleet-{e}-fleet, qfleet-{e}-data");
    let line = stdout(&o)
        .lines()
        .find(|l| l.starts_with(&closing))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.ends_with("[eu-west-1, account 123456789012]"),
        "{}",
        stdout(&o)
    );
}

/// Issue 85: a job whose id has spaces and parentheses, followed through every command qfleet
/// prints for it, each run by bash as printed. `submit --wait` interrupted says the job was
/// sent and how to follow it, never to run it again (exit 130), and that command runs. The
/// job fails into the dead-letter queue; `jobs ENV ID` says so, having looked, and its redrive
/// command runs (exit 0) and sends exactly that job back, after which `jobs` no longer says
/// where its message is without looking.
#[tokio::test]
async fn a_job_id_with_spaces_is_followed_and_redriven_by_the_commands_as_printed() {
    use crate::hints::{parses, printed, run_in_bash};
    let dir = tempfile::tempdir().unwrap();
    let e = unique("jobs-quoted");
    let file = deploy_lab(
        dir.path(),
        &e,
        "jobs: {}\nqueue:\n  max_receive_count: 2\n  visibility_timeout: 5\n",
    );
    let m = moto().await;
    let bucket = format!("{e}-uploads-123456789012-eu-west-1");
    let queue = format!("qfleet-{e}-jobs");
    let url = queue_url(&m.sqs, &queue).await;
    let table = table_of(&e).await;
    let id = "order 7 (rush)";

    // Ctrl-C while --wait follows the job it sent.
    let out = dir.path().join("submit.out");
    let mut submit = qfleet_on_moto()
        .arg("submit")
        .arg(&file)
        .args([r#"{"n": 7}"#, "--id", id, "--wait", "--timeout", "5m"])
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(dir.path().join("submit.err")).unwrap())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if visible_messages(&m.sqs, &queue).await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        visible_messages(&m.sqs, &queue).await,
        1,
        "the job was sent"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    std::process::Command::new("kill")
        .args(["-s", "INT", &submit.id().to_string()])
        .status()
        .unwrap();
    let status = submit.wait().unwrap();
    let said = format!(
        "{}{}",
        std::fs::read_to_string(&out).unwrap(),
        std::fs::read_to_string(dir.path().join("submit.err")).unwrap()
    );
    assert_eq!(status.code(), Some(130), "{said}");
    assert!(
        said.contains(&format!("stopped following job {id}")),
        "{said}"
    );
    assert!(!said.contains("again"), "never to send it again: {said}");
    let follow = printed(&said);
    assert_eq!(follow.len(), 1, "{said}");
    assert!(follow[0].ends_with(&format!("jobs {e} '{id}'")), "{said}");
    let o = run_in_bash(&follow[0], root());
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains(&format!("{id} (sent as a message): queued")),
        "{}",
        stdout(&o)
    );
    // Its message is in the job queue, which is never looked into: said, never guessed.
    assert!(
        stdout(&o).contains("not looked for in the job queue"),
        "{}",
        stdout(&o)
    );

    // It fails every attempt (no bucket to write its answer to), then SQS moves it.
    let no_bucket = [("QFLEET_BUCKET", "")];
    for _ in 0..6 {
        if work_once((&e, &table), &url, &bucket, &no_bucket)
            .trim()
            .is_empty()
        {
            break;
        }
    }
    let _ = m
        .sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    let o = run(qfleet_on_moto().arg("jobs").arg(&file).arg(id));
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}\n{}", stderr(&o));
    assert!(text.contains("is in the dead-letter queue"), "{text}");
    assert!(text.contains("(looked)"), "{text}");
    let hints = printed(&text);
    let redrive: Vec<&String> = hints.iter().filter(|h| h.contains(" redrive ")).collect();
    assert_eq!(redrive.len(), 1, "{text}");
    for h in crate::hints::hints(&text) {
        parses(&h);
    }
    let o = run_in_bash(redrive[0], root());
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains(&format!("moved job {id}'s dead letter")),
        "{}",
        stdout(&o)
    );
    let d = doc(
        qfleet_on_moto()
            .arg("jobs")
            .arg(&file)
            .args([id, "-o", "json"]),
        0,
    );
    assert_eq!(d["environments"][0]["jobs"][0]["state"], "queued", "{d}");
    assert_eq!(
        d["environments"][0]["whereabouts"][0]["place"], "not_looked",
        "{d}"
    );
}
