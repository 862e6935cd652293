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
    let r = on_terminal(&cmd, "deploy these changes", "^C");
    let output = r["output"].as_str().unwrap();
    assert_eq!(r["exit_code"], 130, "{output}");
    assert!(
        r["seconds_after_keys"].as_f64().unwrap() < 5.0,
        "exits at once, not after the next Enter: {r}"
    );
    assert!(output.contains("interrupted"), "{output}");
    let conf = moto_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    // Both change sets were created before the question; both go, with their review stacks.
    for stack in [format!("qfleet-{e}-data"), format!("qfleet-{e}-fleet")] {
        assert!(
            !stack_exists(&cfn, &stack).await,
            "{stack}: the empty review stack of the unexecuted change set is deleted: {output}"
        );
    }
}

/// The status of stack `name` on moto (`None`: there is none).
async fn status(cfn: &aws_sdk_cloudformation::Client, name: &str) -> Option<String> {
    cfn.describe_stacks()
        .stack_name(name)
        .send()
        .await
        .ok()?
        .stacks()
        .first()
        .and_then(|s| s.stack_status())
        .map(|s| s.as_str().to_string())
        .filter(|s| s != "DELETE_COMPLETE")
}

#[tokio::test]
async fn no_at_the_deploy_question_cancels_both_stacks_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("tty-no");
    let file = lab_stack_file(dir.path(), &e, "");
    let mut cmd = qfleet_on_moto();
    cmd.arg("deploy").arg(&file);
    let r = on_terminal(&cmd, "[y/N]", "n\n");
    let output = r["output"].as_str().unwrap();
    assert_eq!(r["exit_code"], 0, "a no is not a failure: {output}");
    // One question for the environment, both stacks' previews above it.
    assert_eq!(
        output.matches("deploy these changes").count(),
        1,
        "{output}"
    );
    for expected in [
        format!("qfleet-{e}-data: create ("),
        format!("qfleet-{e}-fleet: create ("),
        format!("{e}: deploy these changes (qfleet-{e}-data, then qfleet-{e}-fleet)? [y/N]"),
        format!("{e}: cancelled, nothing changed"),
    ] {
        assert!(
            output.contains(&expected),
            "missing `{expected}` in:\n{output}"
        );
    }
    assert!(!output.contains("FAILED"), "{output}");
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    for stack in [format!("qfleet-{e}-data"), format!("qfleet-{e}-fleet")] {
        assert_eq!(
            status(&cfn, &stack).await,
            None,
            "{stack}: the review stack of its unexecuted change set is deleted"
        );
    }
}

#[tokio::test]
async fn yes_at_the_deploy_question_deploys_the_data_then_the_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("tty-yes");
    let file = lab_stack_file(dir.path(), &e, "");
    let mut cmd = qfleet_on_moto();
    cmd.arg("deploy").arg(&file);
    let r = on_terminal(&cmd, "[y/N]", "y\n");
    let output = r["output"].as_str().unwrap();
    assert_eq!(r["exit_code"], 0, "{output}");
    assert_eq!(
        output.matches("deploy these changes").count(),
        1,
        "{output}"
    );
    let data_done = output.find(&format!("qfleet-{e}-data: CREATE_COMPLETE"));
    let fleet_done = output.find(&format!("qfleet-{e}-fleet: CREATE_COMPLETE"));
    assert!(
        matches!((data_done, fleet_done), (Some(d), Some(f)) if d < f),
        "{output}"
    );
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    for stack in [format!("qfleet-{e}-data"), format!("qfleet-{e}-fleet")] {
        assert_eq!(
            status(&cfn, &stack).await.as_deref(),
            Some("CREATE_COMPLETE")
        );
    }
}

/// Deploy and teardown of several environments ask alike: one question each, and `a` answers
/// the rest.
#[tokio::test]
async fn a_at_the_first_question_answers_every_environment_of_a_deploy_and_a_teardown() {
    let dir = tempfile::tempdir().unwrap();
    let envs = [unique("tty-a1"), unique("tty-a2")];
    let files: Vec<_> = envs
        .iter()
        .map(|e| lab_stack_file(dir.path(), e, ""))
        .collect();
    let mut cmd = qfleet_on_moto();
    cmd.arg("deploy").args(&files);
    let r = on_terminal(&cmd, "[y/N/a: yes to all]", "a\n");
    let output = r["output"].as_str().unwrap();
    assert_eq!(r["exit_code"], 0, "{output}");
    assert_eq!(
        output.matches("[y/N/a: yes to all]").count(),
        1,
        "the a answers the other environment: {output}"
    );
    assert!(output.contains("yes (answered a: yes to all)"), "{output}");
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    for e in &envs {
        for stack in [format!("qfleet-{e}-data"), format!("qfleet-{e}-fleet")] {
            assert_eq!(
                status(&cfn, &stack).await.as_deref(),
                Some("CREATE_COMPLETE")
            );
        }
    }

    moto_detach_role_policies(&[&envs[0], &envs[1]]);
    let mut cmd = qfleet_on_moto();
    cmd.arg("teardown").args(&files);
    let r = on_terminal(&cmd, "[y/N/a: yes to all]", "a\n");
    let output = r["output"].as_str().unwrap();
    assert_eq!(r["exit_code"], 0, "{output}");
    assert_eq!(output.matches("[y/N/a: yes to all]").count(), 1, "{output}");
    for e in &envs {
        assert!(
            output.contains(&format!(
                "{e}: tear down (delete qfleet-{e}-fleet, then qfleet-{e}-data)?"
            )),
            "{output}"
        );
        for stack in [format!("qfleet-{e}-data"), format!("qfleet-{e}-fleet")] {
            assert_eq!(status(&cfn, &stack).await, None, "{stack}");
        }
    }
}

#[tokio::test]
async fn no_at_the_teardown_question_cancels_and_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("tty-tdno");
    let file = deploy_lab(dir.path(), &e, "");
    let mut cmd = qfleet_on_moto();
    cmd.arg("teardown").arg(&file);
    let r = on_terminal(&cmd, "[y/N]", "n\n");
    let output = r["output"].as_str().unwrap();
    assert_eq!(r["exit_code"], 0, "{output}");
    assert!(
        output.contains(&format!("{e}: cancelled, nothing changed")),
        "{output}"
    );
    assert!(!output.contains("NOT torn down"), "{output}");
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    assert!(stack_exists(&cfn, &format!("qfleet-{e}-fleet")).await);
}
