//! Runs every `sh` block of examples/lab/README.md, in order, in one bash session against
//! moto's server, with the qfleet under test first on PATH.

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

#[test]
fn the_lab_walkthrough_runs_step_by_step() {
    let _ = moto_endpoint();
    let readme = std::fs::read_to_string(root().join("examples/lab/README.md")).unwrap();
    let steps = sh_blocks(&readme);
    assert!(steps.contains("qfleet deploy lab --yes") && steps.contains("qfleet teardown lab"));
    // The worker runs in the background; it must not outlive a failed step.
    let script = format!(
        "set -euo pipefail\ntrap 'kill \"${{WORKER:-}}\" 2>/dev/null || true' EXIT\n{steps}"
    );
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_qfleet"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(root())
        .env("PATH", path)
        .env("CI", "true")
        .env_remove("AWS_PROFILE")
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
        "3 jobs wait",
        "queue empty",
        "outcome=processed",
        "outcome=failed",
        "FAILED JOBS WAITING",
        "deleted qfleet-lab-fleet, qfleet-lab-data",
    ] {
        assert!(out.contains(marker), "missing `{marker}` in:\n{out}");
    }
}
