//! `status` and `drift` against moto's server.
//!
//! moto gaps (DEVELOPERS.md) met here: drift-detection calls fail, so only qfleet's fleet checks
//! run; CloudFormation skips the SNS subscription, the scaling policy and the lifecycle hook and
//! ignores the bucket notification; CloudWatch (metric math, alarms) has nothing to say. The
//! CloudFormation drift results and the CloudWatch-backed status fields are covered by the mock
//! tests in src/drift/tests.rs and src/status/tests.rs.

use crate::common::*;
use serde_json::Value;
use std::process::Command;

fn differences(o: &std::process::Output) -> Vec<(String, String, String, String)> {
    let v = document(o);
    v["environments"][0]["report"]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["resource"].as_str().unwrap().to_string(),
                d["property"].as_str().unwrap().to_string(),
                d["expected"].as_str().unwrap().to_string(),
                d["actual"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The differences a fresh deploy shows on moto, each a resource the emulator does not create.
fn emulator_gaps(
    diffs: &[(String, String, String, String)],
) -> Vec<(String, String, String, String)> {
    diffs
        .iter()
        .filter(|(resource, property, _, _)| {
            // moto skips AWS::SNS::Subscription, AWS::AutoScaling::ScalingPolicy and
            // AWS::AutoScaling::LifecycleHook.
            matches!(
                (resource.as_str(), property.as_str()),
                ("Subscription", "-")
                    | ("BacklogPerInstancePolicy", "-")
                    | ("DrainOnTerminateHook", "-")
            )
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn drift_on_a_fresh_deploy_reports_only_what_moto_does_not_create() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("dr-fresh");
    let file = deploy_lab(dir.path(), &e, "");
    let o = run(qfleet_on_moto()
        .arg("drift")
        .arg(&file)
        .args(["-o", "json"]));
    // moto's drift API fails: qfleet says so, runs its own checks, and exits 1 because a part
    // could not be checked (never 0, never a difference).
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc = document(&o);
    assert_eq!(
        (doc["ok"].as_bool(), doc["drifted"].as_bool()),
        (Some(false), Some(true))
    );
    let v = &doc["environments"][0];
    assert!(
        v["report"]["detection_unavailable"].as_str().is_some(),
        "moto's drift API fails; qfleet says so and runs its own checks"
    );
    let unchecked: Vec<&str> = v["report"]["unchecked"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["what"].as_str())
        .collect();
    assert!(
        unchecked
            .iter()
            .any(|w| w.starts_with("CloudFormation drift detection on")),
        "{unchecked:?}"
    );
    let diffs = differences(&o);
    let gaps = emulator_gaps(&diffs);
    assert_eq!(
        diffs, gaps,
        "only the emulator's gaps differ on a fresh deploy"
    );
    let resources: Vec<&str> = gaps.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(
        resources,
        [
            "Subscription",
            "BacklogPerInstancePolicy",
            "DrainOnTerminateHook"
        ]
    );
    // moto answers GetBucketNotificationConfiguration with a document the SDK cannot read: that
    // is something not checked, not a difference.
    assert!(
        unchecked
            .iter()
            .any(|w| w.ends_with("Bucket NotificationConfiguration")),
        "{unchecked:?}"
    );
}

#[tokio::test]
async fn drift_names_settings_changed_behind_qfleets_back() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("dr-changed");
    let file = deploy_lab(dir.path(), &e, "");
    let conf = moto_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let url = queue_url(&sqs, &format!("qfleet-{e}-jobs")).await;
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "45",
        )
        .send()
        .await
        .unwrap();
    let asg = aws_sdk_autoscaling::Client::new(&conf);
    let group = format!("qfleet-{e}-workers");
    asg.update_auto_scaling_group()
        .auto_scaling_group_name(&group)
        .max_size(5)
        .send()
        .await
        .unwrap();
    asg.suspend_processes()
        .auto_scaling_group_name(&group)
        .scaling_processes("AZRebalance")
        .send()
        .await
        .unwrap();

    let o = run(qfleet_on_moto()
        .arg("drift")
        .arg(&file)
        .args(["-o", "json"]));
    assert_eq!(
        o.status.code(),
        Some(1),
        "drift detection could not run on moto: {}",
        stderr(&o)
    );
    let diffs = differences(&o);
    let changed: Vec<_> = diffs
        .iter()
        .filter(|d| !emulator_gaps(std::slice::from_ref(d)).contains(d))
        .cloned()
        .collect();
    let t = |a: &str, b: &str, c: &str, d: &str| {
        (a.to_string(), b.to_string(), c.to_string(), d.to_string())
    };
    assert_eq!(
        changed,
        [
            t("Queue", "VisibilityTimeout", "60", "45"),
            t("WorkerGroup", "MaxSize", "2", "5"),
            t("WorkerGroup", "SuspendedProcesses", "none", "AZRebalance"),
        ]
    );

    let o = run(qfleet_on_moto().arg("drift").arg(&file));
    let text = stdout(&o);
    assert!(
        text.contains("VisibilityTimeout") && text.contains("MaxSize"),
        "{text}"
    );
    assert!(text.contains("could not check"), "{text}");
}

#[tokio::test]
async fn drift_on_an_environment_that_is_not_deployed_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = lab_stack_file(dir.path(), &unique("dr-none"), "");
    let o = run(qfleet_on_moto().arg("drift").arg(&file));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not deployed"), "{}", stderr(&o));
}

#[tokio::test]
async fn status_shows_stacks_fleet_per_zone_queue_depth_and_backlog() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("st-json");
    let file = deploy_lab(dir.path(), &e, "");
    let conf = moto_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    for i in 0..3 {
        send_job(&sqs, &format!("qfleet-{e}-jobs"), &format!("job {i}")).await;
    }

    let o = run(qfleet_on_moto()
        .arg("status")
        .arg(&file)
        .args(["-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = document(&o);
    let v = &doc["environments"][0];
    assert_eq!(v["environment"], e);
    let stacks = v["stacks"].as_array().unwrap();
    assert_eq!(stacks.len(), 2);
    assert!(
        stacks.iter().all(|s| s["status"] == "CREATE_COMPLETE"),
        "{stacks:?}"
    );
    let fleet = &v["fleet"];
    assert_eq!(
        (fleet["min"].as_i64(), fleet["max"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(fleet["in_service"], 1);
    let per_zone = fleet["per_zone"].as_object().unwrap();
    assert!(
        per_zone.len() >= 2,
        "every zone of the group is listed: {per_zone:?}"
    );
    assert_eq!(
        per_zone.values().map(|n| n.as_u64().unwrap()).sum::<u64>(),
        1
    );
    assert_eq!(v["queue"]["visible"], 3, "the test's messages show up");
    assert_eq!(v["dead_letter_queue"]["visible"], 0);
    assert_eq!(v["scaling"]["backlog_per_instance"], 3.0);
    assert_eq!(v["scaling"]["configured_target"], 100.0);
    assert!(
        v["queue"]["oldest_message_age_seconds"].is_null(),
        "no CloudWatch data is null, not 0"
    );

    let o = run(qfleet_on_moto().arg("status").arg(&file));
    let text = stdout(&o);
    assert!(
        text.contains("3 visible") && text.contains("oldest message: no data yet"),
        "{text}"
    );
}

#[tokio::test]
async fn status_watch_refreshes_until_stopped() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let e = unique("st-watch");
    let file = deploy_lab(dir.path(), &e, "");
    let mut child = qfleet_on_moto()
        .arg("status")
        .arg(&file)
        .args(["--watch", "--interval", "1", "-o", "ndjson"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // A watchdog, so that a hanging watch fails the test instead of blocking it.
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    let started = std::time::Instant::now();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..2 {
        let line = lines.next().expect("a refresh").unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["event"], "refresh");
        check_schema("status", &v);
        assert_eq!(v["environments"][0]["environment"], e);
    }
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "the second refresh waits for the interval"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
