//! qfleet on a real (pseudo-)terminal against moto's server, as a person runs it: questions,
//! spinners and Ctrl-C. `tests/support/pty_run.py` plays the person.

use crate::common::*;
use serde_json::Value;
use std::process::Command;

/// Runs `cmd` on a terminal, types `keys` once `wait_for` appears, and returns the driver's
/// report: exit code, seconds from the keys to the exit, and the output.
fn on_terminal(cmd: &Command, wait_for: &str, keys: &str) -> Value {
    let mut py = Command::new(root().join(".venv/bin/python"));
    py.arg(root().join("tests/support/pty_run.py"))
        .args([wait_for, keys, "--"])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env("TERM", "xterm")
        .env_remove("CI");
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => py.env(k, v),
            None => py.env_remove(k),
        };
    }
    let o = py.output().expect("python runs");
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

#[tokio::test]
async fn ctrl_c_at_the_deploy_question_exits_at_once_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("tty-q");
    let file = lab_stack_file(dir.path(), &e, "");
    let mut cmd = qfleet_on_moto();
    cmd.arg("deploy").arg(&file);
    let r = on_terminal(&cmd, "Execute these changes", "^C");
    let output = r["output"].as_str().unwrap();
    assert_eq!(r["exit_code"], 130, "{output}");
    assert!(
        r["seconds_after_keys"].as_f64().unwrap() < 5.0,
        "exits at once, not after the next Enter: {r}"
    );
    assert!(output.contains("interrupted"), "{output}");
    let conf = moto_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    assert!(
        !stack_exists(&cfn, &format!("qfleet-{e}-data")).await,
        "the empty review stack of the unexecuted change set is deleted: {output}"
    );
}
