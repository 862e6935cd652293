//! The JSON contract (docs/json-contract.md): with `--output json` every command prints one
//! document, whose top-level keys are the same for one environment and for two, and which
//! matches the command's schema in `schemas/output/`. Offline commands here, the AWS ones
//! against moto's server; `--output ndjson` streams events and ends with the document.

use crate::common::*;
use serde_json::Value;

/// The documents for one and for two environments have the same top-level keys, one and two
/// environment objects, each with the same keys too.
fn same_shape(one: &Value, two: &Value) {
    assert_eq!(top_level_keys(one), top_level_keys(two), "{one}\n{two}");
    assert_eq!(one["environments"].as_array().unwrap().len(), 1);
    assert_eq!(two["environments"].as_array().unwrap().len(), 2);
    assert_eq!(
        top_level_keys(&one["environments"][0]),
        top_level_keys(&two["environments"][1])
    );
}

#[test]
fn offline_commands_print_one_document_of_the_same_shape_for_one_and_two_environments() {
    for (command, extra) in [
        ("validate", &[][..]),
        ("render", &[]),
        ("iam-policy", &["--account", "123456789012"]),
    ] {
        let one = doc(
            qfleet()
                .args([command, "lab"])
                .args(extra)
                .args(["-o", "json"]),
            0,
        );
        let two = doc(
            qfleet()
                .args([command, "lab", "prod"])
                .args(extra)
                .args(["-o", "json"]),
            0,
        );
        same_shape(&one, &two);
        assert_eq!(
            (two["command"].as_str(), two["ok"].as_bool()),
            (Some(command), Some(true))
        );
        assert_eq!(two["environments"][1]["environment"], "prod");
    }
}

#[test]
fn copies_are_one_document_too() {
    let v = doc(
        qfleet().args(["validate", "examples/classroom.yaml", "-o", "json"]),
        0,
    );
    let envs = v["environments"].as_array().unwrap();
    assert!(envs.len() > 1, "{v}");
    assert!(envs.iter().all(|e| e["warnings"].as_array().is_some()));
}

#[test]
fn a_run_that_fails_as_a_whole_is_one_document_with_the_error_at_the_top() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "region: eu-west-1\nworkers:\n  min: 4\n  max: 2\n").unwrap();
    for command in [
        "validate", "render", "plan", "deploy", "status", "drift", "teardown", "outputs",
    ] {
        let v = doc(
            qfleet()
                .arg(command)
                .arg("lab")
                .arg(&broken)
                .args(["-o", "json"]),
            2,
        );
        assert_eq!(v["command"], command);
        assert_eq!(v["error"]["kind"], "input", "{v}");
        assert_eq!(v["error"]["problems"][0]["field"], "workers.min", "{v}");
        assert_eq!(
            top_level_keys(&v),
            ["command", "environments", "error", "exit_code", "ok"]
        );
    }
    // A usage error is the same shape.
    let v = doc(
        qfleet().args(["outputs", "lab", "nowhere", "-o", "json"]),
        2,
    );
    assert_eq!(v["error"]["kind"], "usage");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("nowhere"),
        "{v}"
    );
}

#[test]
fn a_command_line_clap_rejects_is_one_document_too() {
    let v = doc(qfleet().args(["status", "lab", "--bogus", "-o", "json"]), 2);
    assert_eq!(
        (v["command"].as_str(), v["error"]["kind"].as_str()),
        (Some("status"), Some("usage"))
    );
    assert!(
        v["error"]["message"].as_str().unwrap().contains("--bogus"),
        "{v}"
    );
    let v = doc(qfleet().args(["--output=json", "plan"]), 2);
    assert_eq!(v["command"], "plan");
}

#[test]
fn status_watch_streams_only_as_ndjson() {
    let v = doc(qfleet().args(["status", "lab", "--watch", "-o", "json"]), 2);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--output ndjson"),
        "{v}"
    );
}

#[tokio::test]
async fn every_aws_command_prints_one_document_of_the_same_shape_for_one_and_two_environments() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|n| unique(&format!("js{n}")))
        .collect();
    let files: Vec<_> = names
        .iter()
        .map(|n| lab_stack_file(dir.path(), n, ""))
        .collect();
    let (a, b, c) = (&files[0], &files[1], &files[2]);

    // plan: nothing deployed yet; exit 3 with --detailed-exitcode is not ok.
    let one = doc(
        qfleet_on_moto()
            .arg("plan")
            .arg(a)
            .args(["--detailed-exitcode", "-o", "json"]),
        3,
    );
    let two = doc(
        qfleet_on_moto()
            .arg("plan")
            .args([a, b])
            .args(["--detailed-exitcode", "-o", "json"]),
        3,
    );
    same_shape(&one, &two);
    assert_eq!(
        (two["ok"].as_bool(), two["changes_pending"].as_bool()),
        (Some(false), Some(true))
    );

    // deploy: two at once, then one (a no-op for the first of them).
    let two = deploy_all(&files[..2]);
    let one = deploy_all(&files[..1]);
    same_shape(&one, &two);
    deploy_all(&files[2..]);
    let events = two["environments"][1]["events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["event"] == "changes"),
        "each environment's document carries its events: {events:?}"
    );

    for (command, code) in [("status", 0), ("outputs", 0), ("drift", 1)] {
        let one = doc(
            qfleet_on_moto().arg(command).arg(a).args(["-o", "json"]),
            code,
        );
        let two = doc(
            qfleet_on_moto()
                .arg(command)
                .args([a, b])
                .args(["-o", "json"]),
            code,
        );
        same_shape(&one, &two);
        assert_eq!(one["ok"], code == 0, "{command}");
    }

    // teardown: one, then two.
    moto_detach_role_policies(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let one = doc(
        qfleet_on_moto()
            .arg("teardown")
            .arg(a)
            .args(["--yes", "-o", "json"]),
        0,
    );
    let two = doc(
        qfleet_on_moto()
            .arg("teardown")
            .args([b, c])
            .args(["--yes", "-o", "json"]),
        0,
    );
    same_shape(&one, &two);
    assert_eq!(
        two["environments"][1]["deleted"],
        serde_json::json!([
            format!("qfleet-{}-fleet", names[2]),
            format!("qfleet-{}-data", names[2])
        ])
    );
}

#[tokio::test]
async fn ndjson_streams_the_events_and_ends_with_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("js-nd");
    let file = lab_stack_file(dir.path(), &e, "");
    let o = run(qfleet_on_moto()
        .arg("plan")
        .arg(&file)
        .args(["-o", "ndjson"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    let (last, events) = lines.split_last().expect("lines");
    assert!(events.len() >= 2, "{lines:?}");
    assert!(events.iter().all(|e| e["event"].is_string()));
    for e in events {
        check_event(e);
    }
    assert!(events.iter().any(|e| e["event"] == "changes"), "{lines:?}");
    assert_eq!(last["event"], "summary");
    check_schema("plan", last);
    assert_eq!(last["environments"][0]["environment"], e);
}

#[test]
fn simulate_prints_one_document_of_the_same_shape_for_one_and_two_environments() {
    let run = |envs: &[&str], code| {
        doc(
            qfleet()
                .arg("simulate")
                .args(envs)
                .args(["--load", "burst:5000@60s", "-o", "json"]),
            code,
        )
    };
    let one = run(&["lab"], 3);
    let two = run(&["lab", "prod"], 3);
    same_shape(&one, &two);
    assert_eq!(
        (two["command"].as_str(), two["ok"].as_bool()),
        (Some("simulate"), Some(false))
    );
    let lab = &one["environments"][0];
    assert_eq!(lab["goal"]["met"], false);
    assert_eq!(lab["minutes"].as_array().unwrap().len(), 60);
    // A burst the lab cannot absorb: raising min is the change that meets the goal.
    assert_eq!(lab["advice"][0]["setting"], "workers.min", "{lab}");
}

/// Issue 33: with `--detailed-exitcode` an environment with pending changes said `ok: true,
/// exit_code: 0` while the document said `ok: false, exit_code: 3`; one failed environment and
/// one with changes must exit 1 (a failure is never hidden behind changes pending), each
/// environment saying its own code as the document does.
#[tokio::test]
async fn each_environment_agrees_with_the_document_and_a_failure_wins_over_changes_pending() {
    let dir = tempfile::tempdir().unwrap();
    let (pending, failing) = (unique("jspend"), unique("jsfail"));
    let a = lab_stack_file(dir.path(), &pending, "");
    let b = lab_stack_file(dir.path(), &failing, "");
    // Someone else's review of `failing`'s data stack: qfleet's plan of it fails (exit 1).
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    cfn.create_change_set()
        .stack_name(format!("qfleet-{failing}-data"))
        .change_set_name("someone-review")
        .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Create)
        .template_body(r#"{"Resources":{"T":{"Type":"AWS::SNS::Topic"}}}"#)
        .send()
        .await
        .unwrap();

    // One environment with pending changes: 3 at both levels, ok false at both.
    let one = doc(
        qfleet_on_moto()
            .arg("plan")
            .arg(&a)
            .args(["--detailed-exitcode", "-o", "json"]),
        3,
    );
    let env = &one["environments"][0];
    assert_eq!(
        (&env["ok"], &env["exit_code"], &env["changes_pending"]),
        (&one["ok"], &one["exit_code"], &one["changes_pending"]),
        "{one}"
    );
    assert_eq!(
        (env["exit_code"].as_i64(), env["ok"].as_bool()),
        (Some(3), Some(false))
    );

    // Without --detailed-exitcode pending changes are no exit code: 0 and ok at both levels.
    let plain = doc(qfleet_on_moto().arg("plan").arg(&a).args(["-o", "json"]), 0);
    let env = &plain["environments"][0];
    assert_eq!(
        (
            env["ok"].as_bool(),
            env["exit_code"].as_i64(),
            env["changes_pending"].as_bool()
        ),
        (Some(true), Some(0), Some(true)),
        "{plain}"
    );

    // A failure and changes pending: the failure wins, each environment says its own.
    for order in [[&a, &b], [&b, &a]] {
        let mixed = doc(
            qfleet_on_moto()
                .arg("plan")
                .args(order)
                .args(["--detailed-exitcode", "-o", "json"]),
            1,
        );
        assert_eq!(
            (mixed["ok"].as_bool(), mixed["changes_pending"].as_bool()),
            (Some(false), Some(true))
        );
        let by_name = |n: &str| {
            mixed["environments"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["environment"] == n)
                .unwrap()
                .clone()
        };
        let (p, f) = (by_name(&pending), by_name(&failing));
        assert_eq!(
            (
                p["exit_code"].as_i64(),
                p["ok"].as_bool(),
                p["changes_pending"].as_bool()
            ),
            (Some(3), Some(false), Some(true)),
            "{mixed}"
        );
        assert!(p["error"].is_null(), "{mixed}");
        assert_eq!(
            (f["exit_code"].as_i64(), f["ok"].as_bool()),
            (Some(1), Some(false))
        );
        assert!(
            f["error"]["message"]
                .as_str()
                .unwrap()
                .contains("someone-review"),
            "{mixed}"
        );
    }

    // The text summary and the Markdown preview follow the same rule.
    for format in [&[][..], &["--format", "markdown"]] {
        let o = run(qfleet_on_moto()
            .arg("plan")
            .args([&a, &b])
            .arg("--detailed-exitcode")
            .args(format));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    }
}
