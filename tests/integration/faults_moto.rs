//! The bounded subset of the fault-injection harness (`bench/faults --ci`): single faults on the
//! reads a teardown decides from (nothing may be lost), SIGKILL and SIGINT during a deploy of
//! three environments, and SIGKILL at three points of a deploy whose every call is 150 ms late
//! (a plain rerun must converge), SIGTERM (and a second signal) during a
//! deploy against an endpoint 1 s late and one failing every DeleteChangeSet (one document
//! within 3 s, exit 143 within 7.5 s, within 1 s of the second signal), and 30 % of
//! CloudFormation calls throttled (no environment may fail). The whole table is `bench/faults`.

use crate::common::*;
use std::process::Command;

#[test]
fn the_fault_harness_subset_loses_nothing_and_every_rerun_converges() {
    let o = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("bench/faults.py"))
        .args([
            "--ci",
            "--qfleet",
            env!("CARGO_BIN_EXE_qfleet"),
            "--endpoint",
        ])
        .arg(moto_endpoint())
        .output()
        .expect("python runs");
    let table = stdout(&o);
    assert!(o.status.success(), "{table}\n{}", stderr(&o));
    assert!(table.contains("faults: 26 passed, 0 failed"), "{table}");
}
