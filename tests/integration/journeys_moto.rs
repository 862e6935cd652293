//! Issue 85: a user's whole path through the two-stage example (examples/jobs.yaml) on moto,
//! with both stages' reference workers run by `qfleet dev` and nothing exported by hand. A
//! job sent by `qfleet submit` goes through both stages and ends `done` with one response; a
//! job cancelled before any worker took it ends `cancelled`, is never run and gets none. Every
//! command qfleet prints on the way (submit's, and a second stage's failure notice's) is run
//! by bash as printed.
//!
//! The journey suite has three parts: this file (the pipeline as a user runs it, on moto's
//! server); `jobs_moto` (each way in: an upload, `submit`, a producer's SDK call, a topic, each
//! to the dead-letter queue and redriven by the commands printed, a job id with spaces and
//! parentheses); and the runtime's `test_qfleet_journeys.py` (the matrix: every way in × the
//! worker and the handler × a second stage fed by objects or messages, FIFO, failures at
//! either stage then redriven, one notice per job failed for good), in-process with moto.
//!
//! What AWS does between the stages is done here as AWS does it: moto's CloudFormation applies
//! no bucket notification and no VersioningConfiguration, so the test turns versioning on (as
//! the template declares) and sends S3's event for each object the first stage writes under
//! `resized/` to the second stage's queue (notification-content-structure: its key, its
//! version id).

use crate::common::*;
use crate::hints::{printed, run_in_bash};
use std::path::Path;
use std::time::Duration;

/// examples/jobs.yaml as moto deploys it: a lab (no termination protection) named `env`, in
/// moto's default VPC with public addresses (the example's network is its own), without the
/// settings that name resources of another account (its KMS key, its access-log bucket), its
/// alerts to e-mail rather than a chat channel moto has no service for. Its stages, prefixes
/// and `jobs:` are the example's.
fn example_on_moto(dir: &Path, env: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join("examples/jobs.yaml")).unwrap();
    let mut file: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let m = file.as_mapping_mut().unwrap();
    m.insert("environment".into(), env.into());
    m.insert("lab".into(), true.into());
    for gone in ["kms_key", "alerts", "bucket"] {
        m.remove(gone);
    }
    // The alarms and notices to e-mail instead of the example's Slack channel.
    m.insert(
        "alerts".into(),
        serde_yaml_ng::from_str("{email: [oncall@example.com]}").unwrap(),
    );
    for stage in m
        .get_mut("stages")
        .and_then(|s| s.as_sequence_mut())
        .unwrap()
    {
        let w = stage.get_mut("workers").unwrap().as_mapping_mut().unwrap();
        w.remove("network");
        w.insert("public_ip".into(), true.into());
    }
    // In `stacks/`, where a bare `qfleet ENV` looks from `dir`: as an on-call engineer's
    // checkout has it, so that a notice's commands (which name the environment alone) run there.
    std::fs::create_dir_all(dir.join("stacks")).unwrap();
    let path = dir.join(format!("stacks/{env}.yaml"));
    std::fs::write(&path, serde_yaml_ng::to_string(&file).unwrap()).unwrap();
    path
}

/// The e-mail of the failure notice the shipped runtime (`qfleet_shared.Notices`) sends for
/// `job` failed for good at `stage`, in the worker environment `qfleet env` gives that stage
/// (the alarm topic named here: the notice is captured, never published).
fn notice_of(file: &Path, stage: &str, job: &str) -> String {
    let script = format!(
        r#"set -e
eval "$('{bin}' env '{file}' --stage {stage} --shell)"
export QFLEET_ALERTS_TOPIC=arn:aws:sns:eu-west-1:123456789012:qfleet-journey-alerts
'{python}' - "$1" <<'PY'
import json, os, sys, time
sys.path.insert(0, "{runtime}")
from qfleet_shared import Notices
class Sns:
    sent = []
    def publish(self, **kw):
        self.sent.append(kw)
        return {{"MessageId": "n-1"}}
n = Notices(dict(os.environ), sns=Sns())
last = os.environ.get("QFLEET_MAX_RECEIVE_COUNT") or "5"
m = {{"MessageId": "m-1", "Attributes": {{"ApproximateReceiveCount": last,
      "SentTimestamp": str(int(time.time() * 1000))}}}}
assert n.failed([sys.argv[1]], "boom", m), "no notice"
print(json.loads(Sns.sent[0]["Message"])["email"])
PY
"#,
        bin = env!("CARGO_BIN_EXE_qfleet"),
        file = file.display(),
        python = root().join(".venv/bin/python").display(),
        runtime = root().join("crates/qfleet-runtime/python").display(),
    );
    let o = run(std::process::Command::new("bash")
        .args(["-c", &script, "notice", job])
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-1")
        .env_remove("AWS_PROFILE"));
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    stdout(&o)
}

/// `qfleet dev FILE [--stage STAGE]` running the reference worker (python3 with boto3: the
/// tests' virtualenv first on PATH), its output in `dir`.
fn dev(file: &Path, stage: Option<&str>, dir: &Path) -> std::process::Child {
    let path = format!(
        "{}:{}",
        root().join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let name = stage.unwrap_or("first");
    let mut c = qfleet_on_moto();
    c.arg("dev").arg(file);
    if let Some(s) = stage {
        c.args(["--stage", s]);
    }
    c.env("PATH", path)
        .env("QFLEET_WAIT_SECONDS", "1")
        .stdout(std::fs::File::create(dir.join(format!("dev-{name}.out"))).unwrap())
        .stderr(std::fs::File::create(dir.join(format!("dev-{name}.err"))).unwrap())
        .spawn()
        .unwrap()
}

/// The job `id`'s record as `qfleet jobs FILE ID -o json` gives it (null when it has none).
fn job(file: &Path, id: &str) -> serde_json::Value {
    let o = run(qfleet_on_moto()
        .arg("jobs")
        .arg(file)
        .args(["-o", "json", "--", id]));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    d["environments"][0]["jobs"][0].clone()
}

/// Sends S3's event for each object under `prefix` not sent yet to `queue`, as the bucket's
/// notification would.
async fn notify_new_objects(
    s3: &aws_sdk_s3::Client,
    sqs: &aws_sdk_sqs::Client,
    (bucket, prefix): (&str, &str),
    queue: &str,
    sent: &mut Vec<String>,
) {
    let listed = s3
        .list_object_versions()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    for v in listed.versions() {
        let (key, version) = (v.key().unwrap(), v.version_id().unwrap());
        if sent.iter().any(|s| s == version) {
            continue;
        }
        let event = serde_json::json!({ "Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "eventTime": "2026-11-29T04:00:00.000Z",
            "s3": { "bucket": { "name": bucket },
                    "object": { "key": key, "versionId": version } }
        }]});
        send_job(sqs, queue, &event.to_string()).await;
        sent.push(version.to_string());
    }
}

#[tokio::test]
async fn a_submitted_job_goes_through_both_stages_run_by_dev_and_a_cancelled_one_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("journey");
    let file = example_on_moto(dir.path(), &e);
    let o = run(qfleet_on_moto().args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let conf = moto_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let bucket = format!("{e}-uploads-123456789012-eu-west-1");
    versioned(&s3, &bucket).await;

    // A job cancelled while it waits: the command submit prints follows it, and the one jobs
    // prints for it cancels it, each run by bash as printed.
    let o = run(qfleet_on_moto().arg("submit").arg(&file).args([
        r#"{"photo": 44}"#,
        "--id",
        "photo 44 (old)",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let said = format!("{}{}", stdout(&o), stderr(&o));
    let follow = printed(&said);
    assert!(!follow.is_empty(), "submit prints how to follow it: {said}");
    for cmd in &follow {
        let o = run_in_bash(cmd, root());
        assert_eq!(o.status.code(), Some(0), "{cmd}: {}", stderr(&o));
    }
    let o = run(qfleet_on_moto()
        .arg("jobs")
        .arg(&file)
        .args(["photo 44 (old)", "--cancel"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(job(&file, "photo 44 (old)")["state"], "cancelled");

    // The job that goes through, sent before any worker runs.
    let o = run(qfleet_on_moto().arg("submit").arg(&file).args([
        r#"{"photo": 43}"#,
        "--id",
        "photo-43",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Both stages' workers, as a developer runs them.
    let mut first = dev(&file, None, dir.path());
    let mut second = dev(&file, Some("thumbnail"), dir.path());
    let second_queue = format!("qfleet-{e}--thumbnail-jobs");
    let mut sent = Vec::new();
    let mut done = serde_json::Value::Null;
    for _ in 0..120 {
        notify_new_objects(&s3, &sqs, (&bucket, "resized/"), &second_queue, &mut sent).await;
        let j = job(&file, "photo-43");
        if j["state"] == "done" {
            done = j;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let said = |name: &str| {
        std::fs::read_to_string(dir.path().join(format!("dev-{name}.err"))).unwrap_or_default()
    };
    assert_eq!(
        done["state"],
        "done",
        "first stage:\n{}\nsecond stage:\n{}",
        said("first"),
        said("thumbnail")
    );
    // One job, both stages on it, the second last: the first stage's output carried the job.
    assert_eq!(done["stage"], "thumbnail", "{done}");
    let finished: Vec<String> = job_history(&done)
        .into_iter()
        .filter(|(s, _)| s == "done")
        .map(|(_, stage)| stage)
        .collect();
    assert_eq!(finished, ["resize", "thumbnail"], "{done}");
    assert_eq!(
        job_history(&done).first().map(|(s, _)| s.as_str()),
        Some("queued"),
        "{done}"
    );
    assert_eq!(sent.len(), 1, "one object from the first stage: {sent:?}");

    for child in [&mut first, &mut second] {
        std::process::Command::new("kill")
            .args(["-s", "INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(130));
    }
    // dev said which data it takes, and nothing needed exporting: the tables' names came from
    // the data stack.
    assert!(
        said("thumbnail").contains("takes the environment's real jobs"),
        "{}",
        said("thumbnail")
    );

    // Exactly one response, for the job that went through, from the last stage.
    let answered = responses(&sqs, &e).await;
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!(answered[0]["state"], "done", "{answered:?}");
    assert_eq!(answered[0]["stage"], "thumbnail", "{answered:?}");

    // The cancelled job never ran, and its message is gone from the first stage's queue.
    let cancelled = job(&file, "photo 44 (old)");
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    assert!(
        !job_history(&cancelled)
            .iter()
            .any(|(s, _)| s == "processing"),
        "{cancelled}"
    );
    assert_eq!(visible_messages(&sqs, &format!("qfleet-{e}-jobs")).await, 0);
    // No other job was recorded along the way (the first stage's output is the same job).
    let d = doc(
        qfleet_on_moto().arg("jobs").arg(&file).args(["-o", "json"]),
        0,
    );
    let mut keys: Vec<&str> = d["environments"][0]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["key"].as_str().unwrap_or_default())
        .collect();
    keys.sort();
    assert_eq!(keys, ["photo 44 (old)", "photo-43"], "{d}");

    // A pipeline's failure notice, as the second stage's worker would send it for a job that
    // failed for good: each command it prints names the stage and runs as printed, by bash,
    // from the checkout that holds the stack file.
    let email = notice_of(&file, "thumbnail", "photo 44 (old)");
    let commands: Vec<&str> = email
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .filter(|l| l.starts_with("qfleet "))
        .collect();
    assert_eq!(commands.len(), 3, "{email}");
    for cmd in &commands {
        if !cmd.starts_with("qfleet jobs ") {
            assert!(cmd.contains(" --stage thumbnail "), "{cmd}");
        }
        let o = run_in_bash(cmd, dir.path());
        assert_eq!(
            o.status.code(),
            Some(0),
            "{cmd}: {}\n{}",
            stdout(&o),
            stderr(&o)
        );
    }

    // Every command the alarms' descriptions print (what on-call reads first), each stage's
    // naming its stage, runs as printed: found and parsed (never exit 2).
    let rendered = qfleet::engine::render(&[&file], None).unwrap();
    let mut alarm_commands = Vec::new();
    for t in &rendered.files {
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&t.text).unwrap();
        for (_, r) in doc["Resources"].as_mapping().into_iter().flatten() {
            if r["Type"].as_str() != Some("AWS::CloudWatch::Alarm") {
                continue;
            }
            let d = &r["Properties"]["AlarmDescription"];
            let text = match d {
                serde_yaml_ng::Value::Tagged(t) => t.value.as_str().unwrap_or_default(),
                other => other.as_str().unwrap_or_default(),
            };
            alarm_commands.extend(printed(text));
        }
    }
    assert!(
        alarm_commands.iter().any(|c| c.contains("--stage resize")),
        "{alarm_commands:?}"
    );
    alarm_commands.sort();
    alarm_commands.dedup();
    // dlq list and redrive, logs with and without the failures, status, jobs: of both stages.
    assert!(alarm_commands.len() >= 10, "{alarm_commands:?}");
    for cmd in &alarm_commands {
        let o = run_in_bash(cmd, dir.path());
        assert_ne!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
    }

    moto_detach_role_policies(&[&e, &format!("{e}--thumbnail")]);
    let o = run(qfleet_on_moto().arg("teardown").arg(&file).args([
        "--yes",
        "--purge-bucket",
        "--discard-messages",
        "--delete-job-records",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
