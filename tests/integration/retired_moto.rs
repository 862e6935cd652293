//! Environments a stack file made and no longer makes, on moto: after `copies: 3` becomes 2,
//! and after a target is taken out of a file of two accounts, `plan` and `status` name the
//! one left behind (plan --detailed-exitcode exits 3), `status NAME` reaches it by its name
//! (in its own account, through the role the file's record names), and `teardown NAME`
//! retires it; then nothing is left to name.

use crate::common::*;

const EU: &str = "111111111111";
const US: &str = "222222222222";

/// The names of the environments a document says its files no longer make.
fn retired(v: &serde_json::Value) -> Vec<String> {
    v["retired"]
        .as_array()
        .unwrap_or_else(|| panic!("no retired list in {v}"))
        .iter()
        .map(|r| r["environment"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_copy_above_copies_is_named_reached_by_its_name_and_retired() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("rc");
    let file = deploy_lab(dir.path(), &e, "copies: 3\n");
    lab_stack_file(dir.path(), &e, "copies: 2\n");
    let gone = format!("{e}-03");

    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        3,
    );
    check_schema("plan", &v);
    assert_eq!(retired(&v), std::slice::from_ref(&gone));
    assert_eq!(v["retired"][0]["stacks"][0], format!("qfleet-{gone}-data"));
    let o = run(qfleet_on_moto().args(["plan"]).arg(&file));
    assert!(
        stderr(&o).contains(&format!(" teardown {gone}` retires it")),
        "{}",
        stderr(&o)
    );

    let v = doc(
        qfleet_on_moto().args(["status", "-o", "json"]).arg(&file),
        0,
    );
    check_schema("status", &v);
    assert_eq!(retired(&v), std::slice::from_ref(&gone));
    // By its name, though its file no longer makes it: its stacks are read.
    let v = doc(
        qfleet_on_moto()
            .args(["status", &gone, "-o", "json", "--stacks-dir"])
            .arg(dir.path()),
        0,
    );
    assert_eq!(v["environments"][0]["environment"], gone);

    // The region's listing: every copy, the retired one made by no file here.
    let v = doc(
        qfleet_on_moto()
            .args([
                "environments",
                "--region",
                "eu-west-1",
                "-o",
                "json",
                "--stacks-dir",
            ])
            .arg(dir.path()),
        0,
    );
    check_schema("environments", &v);
    let listed: Vec<(&str, &serde_json::Value)> = v["environments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["file_environment"] == e.as_str())
        .map(|x| (x["environment"].as_str().unwrap(), &x["stack_file"]))
        .collect();
    assert_eq!(listed.len(), 3, "{v}");
    for (name, file) in listed {
        assert_eq!(file.is_null(), name == gone, "{name}: {v}");
    }

    moto_detach_role_policies(&[&gone]);
    let o = run(qfleet_on_moto()
        .args(["teardown", &gone, "--yes", "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        0,
    );
    assert!(retired(&v).is_empty(), "{v}");
    // A name no file makes and AWS has none of is still no environment.
    let o = run(qfleet_on_moto()
        .args(["status", &format!("{e}-07"), "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

fn two_targets(dir: &std::path::Path, env: &str, us: bool) -> std::path::PathBuf {
    let us = match us {
        true => format!("  - name: us\n    account: '{US}'\n    region: us-east-1\n"),
        false => String::new(),
    };
    lab_stack_file(
        dir,
        env,
        &format!(
            "accounts: ['{EU}', '{US}']\ndeploy_role: qfleet-deployer\ntargets:\n  - name: eu\n    account: '{EU}'\n{us}"
        ),
    )
}

#[test]
fn a_target_taken_out_of_the_file_is_found_through_the_record_of_the_ones_that_stay() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("rt");
    let file = two_targets(dir.path(), &e, true);
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    two_targets(dir.path(), &e, false);
    let gone = format!("{e}-us");

    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        3,
    );
    assert_eq!(retired(&v), std::slice::from_ref(&gone));
    assert_eq!(v["retired"][0]["account"], US);
    assert_eq!(v["retired"][0]["region"], "us-east-1");
    // By its name: in its own account and region, reached as the file's deploy_role there.
    let v = doc(
        qfleet_on_moto()
            .args(["status", &gone, "-o", "json", "--stacks-dir"])
            .arg(dir.path()),
        0,
    );
    assert_eq!(v["environments"][0]["environment"], gone);
    assert_eq!(v["environments"][0]["region"], "us-east-1");

    moto_detach_role_policies_in(Some(US), &[&gone]);
    let o = run(qfleet_on_moto()
        .args(["teardown", &gone, "--yes", "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Nothing left to name. (Not a plan: the staying target's record now drops `us`, a
    // change of its data stack's tags alone, which moto refuses to make a change set of.)
    let v = doc(
        qfleet_on_moto().args(["status", "-o", "json"]).arg(&file),
        0,
    );
    assert!(retired(&v).is_empty(), "{v}");
}
