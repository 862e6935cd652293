//! A pipeline's data stack on LocalStack, whose S3 notifications, queue policies and SNS
//! subscription are real (moto skips all three): an upload travels through both stages of a
//! two-stage pipeline to the final prefix, each stage run by the reference worker as a local
//! process with the environment its fleet gives it, and the second stage's queue is fed only by
//! the first stage's output, and `qfleet send` follows it through every stage. `qfleet dlq` finds and redrives a stage's dead letter; qfleet deploys it and tears it down (LocalStack runs no Auto
//! Scaling: the fleets are stacks there, their workers are the local processes).

use crate::common::*;
use crate::localstack::config;
use serde_json::Value;

/// One receive batch of the reference worker, as a fleet runs it, with `env` besides.
fn worker_once(queue_url: &str, bucket: &str, env: &[(&str, &str)]) -> std::process::Output {
    let mut worker = std::process::Command::new(root().join(".venv/bin/python"));
    worker
        .arg(root().join("crates/qfleet-runtime/python/qfleet_worker.py"))
        .arg("--once")
        .env("AWS_ENDPOINT_URL", localstack_endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "eu-west-1")
        .env_remove("AWS_PROFILE")
        .env("QFLEET_QUEUE_URL", queue_url)
        .env("QFLEET_BUCKET", bucket)
        .env("QFLEET_WAIT_SECONDS", "2");
    for (k, v) in env {
        worker.env(k, v);
    }
    let o = run(&mut worker);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    o
}

/// One receive batch of the reference worker for a stage, as its fleet runs it.
fn work_once(queue_url: &str, bucket: &str, reads: &str, writes: &str) {
    worker_once(
        queue_url,
        bucket,
        &[
            ("QFLEET_UPLOAD_PREFIX", reads),
            ("QFLEET_PROCESSED_PREFIX", writes),
        ],
    );
}

async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let r = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut k: Vec<String> = r
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    k.sort();
    k
}

/// The object keys of the S3 events waiting in the queue, read without consuming them.
async fn waiting_keys(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let r = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    r.messages()
        .iter()
        .filter_map(|m| {
            let body: Value = serde_json::from_str(m.body()?).ok()?;
            Some(
                body["Records"][0]["s3"]["object"]["key"]
                    .as_str()?
                    .replace("%2F", "/"),
            )
        })
        .collect()
}

/// The keys of the S3 events that arrive in the queue within about 20 seconds.
async fn arrived(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    for _ in 0..10 {
        let waiting = waiting_keys(sqs, url).await;
        if !waiting.is_empty() {
            return waiting;
        }
    }
    Vec::new()
}

/// A stage's workers on the pipeline's bucket.
struct Stage<'a> {
    s3: &'a aws_sdk_s3::Client,
    bucket: &'a str,
}

impl Stage<'_> {
    /// Runs the stage's worker until the object `name` has moved from `reads` to `writes`.
    async fn run(&self, queue: &str, reads: &str, writes: &str, name: &str) {
        let moved = [format!("{writes}{name}")];
        for _ in 0..5 {
            work_once(queue, self.bucket, reads, writes);
            if keys(self.s3, self.bucket).await == moved {
                return;
            }
        }
        assert_eq!(keys(self.s3, self.bucket).await, moved);
    }
}

#[tokio::test]
async fn an_upload_travels_through_both_stages_and_the_second_is_fed_only_by_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("ls-pipe");
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(
        &file,
        "region: eu-west-1\nlab: true\nstages:\n  - name: transcode\n  - name: thumbnail\n    prefix: transcoded/\n",
    )
    .unwrap();
    let o = run(crate::localstack::qfleet_on_localstack()
        .arg("deploy")
        .arg(&file)
        .arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Every stage's queue among the outputs, a later stage's named after it.
    let o = run(crate::localstack::qfleet_on_localstack()
        .arg("outputs")
        .arg(&file)
        .arg("--shell"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let shell = stdout(&o);
    for line in [
        format!("QUEUE_NAME=qfleet-{e}-jobs"),
        "STAGE_THUMBNAIL_QUEUE_URL=http".to_string(),
    ] {
        assert!(shell.contains(&line), "{line} in:\n{shell}");
    }
    assert!(!shell.contains("FINGERPRINT"), "{shell}");
    let conf = config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    for stack in [
        format!("qfleet-{e}-data"),
        format!("qfleet-{e}-fleet"),
        format!("qfleet-{e}--thumbnail-fleet"),
    ] {
        assert!(stack_exists(&cfn, &stack).await, "{stack}");
    }

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let bucket = format!("{e}-uploads-000000000000-eu-west-1");
    let first = queue_url(&sqs, &format!("qfleet-{e}-jobs")).await;
    let second = queue_url(&sqs, &format!("qfleet-{e}--thumbnail-jobs")).await;

    // `qfleet send` uploads the object and follows it through every stage's output while the
    // stages' workers run below. `--keep`: this test reads the bucket while the send runs and
    // after it (without it, the send removes the final output as soon as it has seen it).
    let send = crate::localstack::qfleet_on_localstack()
        .arg("send")
        .arg(&file)
        .args([
            "--key",
            "clip.mov",
            "--timeout",
            "3m",
            "--keep",
            "-o",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The upload is the first stage's job only.
    assert_eq!(arrived(&sqs, &first).await, ["uploads/clip.mov"]);
    assert!(waiting_keys(&sqs, &second).await.is_empty());

    // The first stage moves it to transcoded/: the bucket's event feeds the second queue.
    let stage = Stage {
        s3: &s3,
        bucket: &bucket,
    };
    stage
        .run(&first, "uploads/", "transcoded/", "clip.mov")
        .await;
    assert_eq!(arrived(&sqs, &second).await, ["transcoded/clip.mov"]);
    // The first stage's output is not its own job again.
    assert!(waiting_keys(&sqs, &first).await.is_empty());

    // The second stage moves it to the final prefix.
    stage
        .run(&second, "transcoded/", "processed/", "clip.mov")
        .await;
    let o = send.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = document(&o);
    let journey = &doc["environments"][0]["journey"];
    let steps: Vec<(&str, &str)> = journey["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap(),
                s["stage"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("uploaded", ""),
            ("queued", ""),
            ("processed", "transcode"),
            ("processed", "thumbnail"),
        ],
        "{journey}"
    );
    assert_eq!(
        journey["steps"][3]["how"],
        format!("s3://{bucket}/processed/clip.mov"),
        "{journey}"
    );
    assert!(journey["missing"].is_null(), "{journey}");

    // A job dead-lettered in the second stage: `dlq list` finds it among every stage's, a
    // redrive needs the stage named, and with it goes back to that stage's queue.
    let redrive = sqs
        .get_queue_attributes()
        .queue_url(&second)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    let redrive: Value = serde_json::from_str(
        &redrive.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy],
    )
    .unwrap();
    let dlq_name = redrive["deadLetterTargetArn"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap();
    let second_dlq = queue_url(&sqs, dlq_name).await;
    let event = r#"{"Records":[{"s3":{"object":{"key":"transcoded/bad.mov"}}}]}"#;
    sqs.send_message()
        .queue_url(&second_dlq)
        .message_body(event)
        .send()
        .await
        .unwrap();
    let dlq = |args: &[&str]| {
        run(crate::localstack::qfleet_on_localstack()
            .arg("dlq")
            .arg(&file)
            .args(args))
    };
    let o = dlq(&["list", "-o", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = document(&o);
    check_schema("dlq", &doc);
    // The jobs (messages naming an object) in each stage's dead-letter queue. This test's own
    // looks into the first queue count as receives, so S3's test event (no object) may have
    // been dead-lettered there: it names no object.
    let listed: Vec<(&str, Vec<&str>)> = doc["environments"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["stage"].as_str().unwrap(),
                l["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|m| m["keys"].as_array().unwrap())
                    .map(|k| k.as_str().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("transcode", vec![]),
            ("thumbnail", vec!["transcoded/bad.mov"])
        ],
        "{doc}"
    );
    let o = dlq(&["redrive"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--stage (transcode, thumbnail)"),
        "{}",
        stderr(&o)
    );
    let o = dlq(&["--stage", "thumbnail", "redrive", "-o", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = document(&o);
    check_schema("dlq", &doc);
    assert_eq!(doc["environments"][0]["stage"], "thumbnail", "{doc}");
    assert_eq!(doc["environments"][0]["task"]["moved"], 1, "{doc}");
    assert_eq!(arrived(&sqs, &second).await, ["transcoded/bad.mov"]);

    // The bucket holds the result and the second queue a job: teardown loses neither without
    // its flag, and deletes every fleet, then the data.
    let o = run(crate::localstack::qfleet_on_localstack()
        .arg("teardown")
        .arg(&file)
        .arg("--yes"));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let o = run(crate::localstack::qfleet_on_localstack()
        .arg("teardown")
        .arg(&file)
        .args(["--yes", "--purge-bucket"]));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("qfleet-{e}--thumbnail-jobs")),
        "{}",
        stderr(&o)
    );
    let o = run(crate::localstack::qfleet_on_localstack()
        .arg("teardown")
        .arg(&file)
        .args(["--yes", "--purge-bucket", "--discard-messages"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for stack in [
        format!("qfleet-{e}-data"),
        format!("qfleet-{e}-fleet"),
        format!("qfleet-{e}--thumbnail-fleet"),
    ] {
        assert!(!stack_exists(&cfn, &stack).await, "{stack}");
    }
}

/// Issue 56: a FIFO pipeline (with a schedule), whose FIFO queues and FIFO topic subscription LocalStack runs
/// for real. Jobs `qfleet submit` sends in one group, and messages a producer publishes to a
/// FIFO topic in another, are worked by the reference worker in the order sent, and each goes
/// on to the FIFO second stage in that order, in its group. `send` refuses: no uploads.
#[tokio::test]
async fn a_fifo_pipeline_keeps_each_groups_order_from_submit_and_a_fifo_topic() {
    let conf = config().await;
    let sns = aws_sdk_sns::Client::new(&conf);
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let dir = tempfile::tempdir().unwrap();
    let e = unique("ls-fifo");
    let topic = sns
        .create_topic()
        .name(format!("{e}-orders.fifo"))
        .attributes("FifoTopic", "true")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(
        &file,
        format!(
            "region: eu-west-1\nlab: true\nstages:\n  - name: orders\n    queue: {{fifo: true, content_based_deduplication: true}}\n    sources:\n      uploads: false\n      messages: {{}}\n      topics:\n        - arn: {topic}\n      schedules:\n        - {{name: {e}-close, cron: \"0 23 * * ? *\"}}\n  - name: invoices\n    fed_by: messages\n    queue: {{fifo: true}}\n"
        ),
    )
    .unwrap();
    let o = run(crate::localstack::qfleet_on_localstack()
        .arg("deploy")
        .arg(&file)
        .arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let first = queue_url(&sqs, &format!("qfleet-{e}-jobs.fifo")).await;
    let second = queue_url(&sqs, &format!("qfleet-{e}--invoices-jobs.fifo")).await;
    // The schedule's runs Scheduler could not send wait in a standard queue of their own.
    let o = run(crate::localstack::qfleet_on_localstack()
        .arg("outputs")
        .arg(&file)
        .arg("--shell"));
    assert!(
        stdout(&o).contains("SCHEDULE_DEAD_LETTER_QUEUE_URL=http"),
        "{}",
        stdout(&o)
    );

    // Three jobs in one group, by `submit`; without --group it refuses, sending nothing.
    let o = run(crate::localstack::qfleet_on_localstack()
        .arg("submit")
        .arg(&file)
        .arg("{}"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--group"), "{}", stderr(&o));
    for n in 1..=3 {
        let o = run(crate::localstack::qfleet_on_localstack()
            .arg("submit")
            .arg(&file)
            .arg(format!("{{\"order\": {n}}}"))
            .args(["--group", "customer-7", "--id", &format!("job-{n}")]));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    // Two in another group, by a producer publishing to the FIFO topic (raw delivery).
    for n in 1..=2 {
        sns.publish()
            .topic_arn(&topic)
            .message(format!("{{\"invoice\": {n}}}"))
            .message_group_id("customer-9")
            .message_deduplication_id(format!("t-{n}"))
            .message_attributes(
                "job_id",
                aws_sdk_sns::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(format!("topic-{n}"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let bucket = format!("{e}-uploads-000000000000-eu-west-1");
    let mut worked = 0;
    for _ in 0..20 {
        let o = worker_once(
            &first,
            &bucket,
            &[
                ("QFLEET_PROCESSED_PREFIX", "invoices/"),
                ("QFLEET_NEXT_QUEUE_URL", &second),
            ],
        );
        worked += stdout(&o).matches("outcome=processed").count();
        if worked == 5 {
            break;
        }
    }
    assert_eq!(worked, 5, "every job worked once");

    // The second stage's queue holds each group's jobs in the order they were sent.
    let mut groups: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for _ in 0..10 {
        let got = sqs
            .receive_message()
            .queue_url(&second)
            .max_number_of_messages(10)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
            )
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in got.messages() {
            let group = m
                .attributes()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                })
                .cloned()
                .unwrap_or_default();
            let body: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            let key = body["Records"][0]["s3"]["object"]["key"]
                .as_str()
                .unwrap()
                .replace("%2F", "/");
            groups.entry(group).or_default().push(key);
            sqs.delete_message()
                .queue_url(&second)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if groups.values().map(Vec::len).sum::<usize>() == 5 {
            break;
        }
    }
    let jobs = |ids: &[&str]| -> Vec<String> {
        ids.iter()
            .map(|i| format!("invoices/jobs/{i}.json"))
            .collect()
    };
    assert_eq!(
        groups.get("customer-7"),
        Some(&jobs(&["job-1", "job-2", "job-3"]))
    );
    assert_eq!(
        groups.get("customer-9"),
        Some(&jobs(&["topic-1", "topic-2"]))
    );

    // No uploads: `send` says to submit instead.
    let o = run(crate::localstack::qfleet_on_localstack()
        .arg("send")
        .arg(&file));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("takes no uploads"), "{}", stderr(&o));

    let o = run(crate::localstack::qfleet_on_localstack()
        .arg("teardown")
        .arg(&file)
        .args([
            "--yes",
            "--purge-bucket",
            "--discard-messages",
            "--producers-detached",
        ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    sns.delete_topic().topic_arn(&topic).send().await.unwrap();
}
