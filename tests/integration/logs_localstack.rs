//! `qfleet logs` against LocalStack's CloudWatch Logs: the log group the rendered template
//! names, written the way its writers write it (the CloudWatch agent: a stream per instance;
//! Lambda: a stream per execution environment, the runtime's START and END lines around each
//! invocation's), read back with the instance or invocation of each line, filtered, followed,
//! and a missing group said as such.

use crate::common::*;
use crate::localstack::qfleet_on_localstack;
use std::io::BufRead;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The LogGroupName of the resource `logical` in the fleet template rendered from `file`.
fn rendered_group(file: &std::path::Path, logical: &str) -> String {
    let v = rendered(file);
    let fleet = v["environments"][0]["stacks"][1]["template"]
        .as_str()
        .unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(fleet).unwrap();
    doc["Resources"][logical]["Properties"]["LogGroupName"]
        .as_str()
        .unwrap_or_else(|| panic!("no {logical} in {fleet}"))
        .to_string()
}

fn write(logs: &Logs, group: &str, stream: &str, lines: &[&str]) {
    logs.write(group, stream, lines);
}

#[tokio::test]
async fn logs_shows_each_workers_lines_with_its_instance_filtered_and_followed() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-logs");
    let file = lab_stack_file(dir.path(), &e, "");
    let group = rendered_group(&file, "WorkerLogGroup");
    assert_eq!(group, format!("/qfleet/{e}/workers"));
    let logs = Logs::new(localstack_endpoint());
    let path = file.to_str().unwrap();

    // Before the fleet exists there is no group: said, never an empty list.
    let o = run(qfleet_on_localstack().args(["logs", path]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));

    logs.create_group(&group);
    write(
        &logs,
        &group,
        "i-0aaa",
        &[
            "outcome=processed keys=1 key=uploads/a.txt",
            "outcome=failed key=uploads/b.txt error=AccessDenied",
        ],
    );
    write(&logs, &group, "i-0bbb/bootstrap", &["Installed: python3"]);

    let o = run(qfleet_on_localstack().args(["logs", path, "-o", "json", "--since", "5m"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let v = document(&o);
    let lines = v["environments"][0]["lines"].as_array().unwrap();
    let seen: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["instance"].as_str().unwrap(),
                l["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen.len(), 3, "{v}");
    assert!(seen.contains(&(
        "i-0aaa",
        "outcome=failed key=uploads/b.txt error=AccessDenied"
    )));
    assert!(seen.contains(&("i-0bbb", "Installed: python3")));

    let o = run(qfleet_on_localstack().args(["logs", path, "--filter", "outcome=failed"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("i-0aaa") && out.contains("uploads/b.txt"),
        "{out}"
    );

    // --follow shows a line written after it started, once.
    let mut child = qfleet_on_localstack()
        .args(["logs", path, "--follow", "--since", "1m"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    write(
        &logs,
        &group,
        "i-0ccc",
        &["outcome=processed key=uploads/late.txt"],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
            got.push(l);
            if got.iter().any(|l| l.contains("late.txt")) {
                // One more round of polling: the line must not come again.
                tokio::time::sleep(Duration::from_secs(5)).await;
                while let Ok(l) = rx.try_recv() {
                    got.push(l);
                }
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let late: Vec<&String> = got.iter().filter(|l| l.contains("late.txt")).collect();
    assert_eq!(late.len(), 1, "{got:?}");
    assert!(late[0].contains("i-0ccc"), "{got:?}");
}

#[tokio::test]
async fn a_functions_lines_are_shown_with_the_invocation_they_belong_to() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-fnlogs");
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(
        &file,
        format!("environment: {e}\nregion: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n"),
    )
    .unwrap();
    let group = rendered_group(&file, "WorkerFunctionLogGroup");
    let logs = Logs::new(localstack_endpoint());
    logs.create_group(&group);
    write(
        &logs,
        &group,
        "2026/11/23/[$LATEST]aaaa",
        &[
            "START RequestId: 11111111-aaaa Version: $LATEST",
            "processed uploads/a.txt",
            "END RequestId: 11111111-aaaa",
        ],
    );
    write(
        &logs,
        &group,
        "2026/11/23/[$LATEST]bbbb",
        &[
            "START RequestId: 22222222-bbbb Version: $LATEST",
            "processed uploads/b.txt",
            "END RequestId: 22222222-bbbb",
        ],
    );
    let path = file.to_str().unwrap();
    let o = run(qfleet_on_localstack().args(["logs", path, "-o", "json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let v = document(&o);
    let of = |text: &str| {
        v["environments"][0]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["message"] == text)
            .unwrap_or_else(|| panic!("no {text} in {v}"))["request"]
            .clone()
    };
    assert_eq!(of("processed uploads/a.txt"), "11111111-aaaa");
    assert_eq!(of("processed uploads/b.txt"), "22222222-bbbb");

    // Filtered, a line still knows its invocation from the START line the pattern lets through.
    let o = run(qfleet_on_localstack().args(["logs", path, "--filter", "uploads/b"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("22222222-bbbb  processed uploads/b.txt"),
        "{out}"
    );
}

#[tokio::test]
async fn a_pipelines_lines_come_from_every_stage_merged_by_time_or_from_the_stage_named() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-plogs");
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(
        &file,
        "region: eu-west-1\nlab: true\nstages:\n  - name: parse\n  - name: thumbs\n    prefix: parsed/\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let logs = Logs::new(localstack_endpoint());
    let (first, second) = (
        format!("/qfleet/{e}/workers"),
        format!("/qfleet/{e}/thumbs/workers"),
    );
    for group in [&first, &second] {
        logs.create_group(group);
    }
    write(
        &logs,
        &first,
        "i-0aaa",
        &["outcome=processed key=uploads/a.jpg"],
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    write(
        &logs,
        &second,
        "i-0bbb",
        &["outcome=processed key=parsed/a.jpg"],
    );

    let o = run(qfleet_on_localstack().args(["logs", path, "-o", "json", "--since", "5m"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let v = document(&o);
    let env = &v["environments"][0];
    let seen: Vec<(&str, &str)> = env["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["stage"].as_str().unwrap(),
                l["instance"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [("parse", "i-0aaa"), ("thumbs", "i-0bbb")], "{v}");
    assert_eq!(env["stages"][1]["log_group"], second.as_str(), "{v}");

    let o = run(qfleet_on_localstack().args(["logs", path, "--stage", "thumbs", "--since", "5m"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("i-0bbb") && out.contains("parsed/a.jpg"),
        "{out}"
    );

    let o = run(qfleet_on_localstack().args(["logs", path, "--stage", "index"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("its stages are parse, thumbs"),
        "{}",
        stderr(&o)
    );
}
