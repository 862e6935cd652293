//! Runs every `sh` block of examples/lab/README.md, in order, in one bash session against
//! LocalStack, with the qfleet under test first on PATH. The uploads reach the queue through
//! the data stack's own bucket notification, topic and subscription; only the poison message
//! is sent by hand.
//!
//! The walkthrough deploys the environments `lab` (stacks/lab.yaml) and `pipeline`
//! (examples/pipeline.yaml), fixed names: no other test deploys either on LocalStack (the
//! others use `unique` names), so concurrent tests do not meet them.

use crate::common::*;
use std::process::Command;

fn sh_blocks(markdown: &str) -> String {
    let mut script = String::new();
    let mut inside = false;
    for line in markdown.lines() {
        if inside {
            if line.trim_start().starts_with("```") {
                inside = false;
                script.push('\n');
            } else {
                script.push_str(line);
                script.push('\n');
            }
        } else if line.trim() == "```sh" {
            inside = true;
        }
    }
    script
}

/// The environment `scripts/localstack start` prints, for the LocalStack the test command
/// started.
fn on_localstack(c: &mut Command) -> &mut Command {
    c.env("AWS_ENDPOINT_URL", localstack_endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env_remove("AWS_PROFILE")
        .env("CI", "true")
}

#[test]
fn the_lab_walkthrough_runs_step_by_step() {
    let readme = std::fs::read_to_string(root().join("examples/lab/README.md")).unwrap();
    // The reader starts LocalStack in a `bash` block; the test command has started it and the
    // steps get the same exports.
    assert!(readme.contains("eval \"$(scripts/localstack start)\""));
    let steps = sh_blocks(&readme);
    assert!(steps.contains("qfleet deploy lab --yes") && steps.contains("qfleet teardown lab"));
    // Uploads travel through the templates' wiring: nothing hands the queue an S3 event but
    // the poison step.
    assert!(!steps.contains("notify"), "{steps}");
    assert_eq!(steps.matches("lab.py poison").count(), 1, "{steps}");

    // An earlier run that was interrupted may have left the lab behind; start from nothing.
    for env in ["lab", "examples/pipeline.yaml"] {
        let o = run(on_localstack(&mut qfleet()).args([
            "teardown",
            env,
            "--yes",
            "--purge-bucket",
            "--discard-messages",
        ]));
        assert_eq!(o.status.code(), Some(0), "{env}: {}", stderr(&o));
    }

    // The workers run in the background; they must not outlive a failed step.
    let script = format!(
        "set -euo pipefail\ntrap 'kill \"${{WORKER:-}}\" \"${{THUMBS:-}}\" 2>/dev/null || true' EXIT\n{steps}"
    );
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_qfleet"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = on_localstack(
        Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(root())
            .env("PATH", path)
            .env_remove("QFLEET_OUTPUT")
            .env_remove("QFLEET_STACKS_DIR"),
    )
    .output()
    .unwrap();
    assert!(
        o.status.success(),
        "walkthrough failed (exit {:?}):\n{}\n{}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    let out = stdout(&o);
    for marker in [
        // Step 1: the fleet is named with what LocalStack does not serve (Auto Scaling).
        "not served by this endpoint: fleet (Auto Scaling DescribeAutoScalingGroups)",
        // Step 3: the upload reached the worker through the bucket's notification.
        "ok: s3://lab-uploads-000000000000-eu-west-1/processed/hello world.txt",
        "outcome=processed",
        // Steps 4 and 5: the backlog waits, then drains.
        "queue qfleet-lab-jobs: 3 visible",
        "ok: 0 job(s) waiting in the queue",
        // Step 6: the poison message ends in the dead-letter queue.
        "outcome=failed",
        "FAILED JOBS WAITING",
        // Step 6, then: the dead-lettered message listed, fixed and redriven, nothing lost.
        "lab: moved 1 message(s) back to the job queue",
        "ok: 0 message(s) in the dead-letter queue",
        // Step 7: the serverless variant's preview, and the reference handler on the queue.
        "workers switch from ec2 to lambda",
        "ok: the handler finished 2 job(s)",
        "ok: s3://lab-uploads-000000000000-eu-west-1/processed/job-5.txt",
        // Step 8: each clip through both stages; with no thumbnail worker, the backlog waits
        // in the second stage's queue only; the simulated slow second stage misses its goal.
        "ok: s3://pipeline-uploads-000000000000-eu-west-1/transcoded/clip-3.mov",
        "queue qfleet-pipeline-jobs: 0 visible",
        "queue qfleet-pipeline--thumbnail-jobs: 3 visible",
        "ok: s3://pipeline-uploads-000000000000-eu-west-1/processed/clip-3.mov",
        "verdict     transcode met, thumbnail MISSED",
        // Step 9.
        "deleted qfleet-lab-fleet, qfleet-lab-data",
    ] {
        assert!(out.contains(marker), "missing `{marker}` in:\n{out}");
    }
}
