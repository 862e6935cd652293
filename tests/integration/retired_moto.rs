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
    // What CI reads says why the run exits 3, and the account, known from the stack's ARN.
    assert_eq!(v["retired"][0]["account"], "123456789012", "{v}");
    assert_eq!(v["changes_pending"], false, "{v}");
    assert_eq!(
        v["exit_reason"],
        format!(
            "exit 3: 1 environment no longer made by its stack file still running ({gone}@eu-west-1)"
        ),
        "{v}"
    );
    let o = run(qfleet_on_moto()
        .args(["plan", "--detailed-exitcode", "--format", "markdown"])
        .arg(&file));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(
        md.contains("with changes; 1 environment no longer made still running")
            && md.contains(&format!(
                "**Exit 3**: 1 environment no longer made by its stack file still running ({gone}@eu-west-1)"
            )),
        "{md}"
    );
    assert!(
        stderr(&o).contains("exit 3: 1 environment no longer made"),
        "{}",
        stderr(&o)
    );
    let o = run(qfleet_on_moto().args(["plan"]).arg(&file));
    assert!(
        stderr(&o).contains(&format!(" teardown {gone}@eu-west-1` retires it")),
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
    // Every Region enabled for the account: the same three, each with its Region and account,
    // and the retired one said to be made by a file of `e` in the text.
    let v = doc(
        qfleet_on_moto()
            .args([
                "environments",
                "--all-regions",
                "-o",
                "json",
                "--stacks-dir",
            ])
            .arg(dir.path()),
        0,
    );
    check_schema("environments", &v);
    assert!(v["region"].is_null(), "{v}");
    assert!(v["regions"].as_array().unwrap().len() > 1, "{v}");
    assert_eq!(v["unchecked"], serde_json::json!([]), "{v}");
    let ours: Vec<&serde_json::Value> = v["environments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["file_environment"] == e.as_str())
        .collect();
    assert_eq!(ours.len(), 3, "{v}");
    for x in ours {
        assert_eq!(
            (x["region"].as_str(), x["account"].as_str()),
            (Some("eu-west-1"), Some("123456789012")),
            "{x}"
        );
    }
    let o = run(qfleet_on_moto()
        .args(["environments", "--all-regions", "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let row = stdout(&o)
        .lines()
        .find(|l| l.contains(&format!("| {gone} ")))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(
        row.contains("eu-west-1") && row.contains(&format!("none here; made by {e}.yaml")),
        "{}",
        stdout(&o)
    );
    let o = run(qfleet_on_moto().args(["environments", "--all-regions", "--region", "eu-west-1"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

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

/// Issue 72, a split: target `us` moved to a stack file of its own (`ENV-us.yaml`) in another
/// Region. The old target is retired, and the hint names it with its place; the bare name is
/// both environments, so `teardown` of it is refused naming each one's Region; the address
/// in the hint tears down exactly the old one, and the new one stays whole.
#[test]
fn after_a_split_the_hint_reaches_the_old_target_and_the_bare_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("rs");
    let file = two_targets(dir.path(), &e, true);
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    two_targets(dir.path(), &e, false);
    let split = format!("{e}-us");
    let new = dir.path().join(format!("{split}.yaml"));
    std::fs::write(
        &new,
        format!(
            "environment: {split}\nregion: us-west-2\nlab: true\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\n"
        ),
    )
    .unwrap();
    let o = run(qfleet_on_moto().arg("deploy").arg(&new).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let address = format!("{split}@{US}/us-east-1");
    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        3,
    );
    assert_eq!(retired(&v), std::slice::from_ref(&split));
    assert_eq!(v["retired"][0]["region"], "us-east-1");
    let o = run(qfleet_on_moto().arg("plan").arg(&file));
    assert!(
        stderr(&o).contains(&format!(" teardown {address}` retires it")),
        "{}",
        stderr(&o)
    );
    // The pull request's comment: the same, and why the exit is 3.
    let o = run(qfleet_on_moto()
        .args(["plan", "--detailed-exitcode", "--format", "markdown"])
        .arg(&file));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(
        md.contains("1 environment no longer made still running"),
        "{md}"
    );
    assert!(
        md.contains(&format!(" teardown {address}` retires it")),
        "{md}"
    );

    // The bare name: the new, live environment and the old target. Asked, never guessed.
    let o = run(qfleet_on_moto()
        .args(["teardown", &split, "--yes", "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("names more than one environment"), "{err}");
    assert!(err.contains(&address), "{err}");
    assert!(err.contains(&format!("{split}@us-west-2")), "{err}");

    // The address in the hint: exactly the old target, in its own account and Region.
    moto_detach_role_policies_in(Some(US), &[&split]);
    let v = doc(
        qfleet_on_moto()
            .args(["teardown", &address, "--yes", "-o", "json", "--stacks-dir"])
            .arg(dir.path()),
        0,
    );
    assert_eq!(v["environments"][0]["environment"], split);
    assert_eq!(v["environments"][0]["region"], "us-east-1");
    assert_eq!(v["environments"][0]["account"], US);

    // The new environment is whole, and its bare name is one environment again.
    let v = doc(
        qfleet_on_moto()
            .args(["status", &split, "-o", "json", "--stacks-dir"])
            .arg(dir.path()),
        0,
    );
    assert_eq!(v["environments"][0]["region"], "us-west-2");
    assert_eq!(
        v["environments"][0]["stacks"][0]["status"], "CREATE_COMPLETE",
        "{v}"
    );
    moto_detach_role_policies(&[&split]);
    let v = doc(
        qfleet_on_moto()
            .args(["teardown", &split, "--yes", "-o", "json", "--stacks-dir"])
            .arg(dir.path()),
        0,
    );
    assert_eq!(v["environments"][0]["region"], "us-west-2");
}

/// Issue 72, a move: target `us` moved from us-east-1 to us-west-2 in the same account. Its
/// copy in us-east-1 is retired (its file's record says where it was), and the address in
/// the hint tears down that one.
#[test]
fn a_target_moved_to_another_region_leaves_its_old_copy_retired_and_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("rm");
    let file = two_targets(dir.path(), &e, true);
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("us-east-1", "us-west-2")).unwrap();
    let moved = format!("{e}-us");

    // (`status`, not `plan`: the staying target's record changes, a change of its data
    // stack's tags alone, which moto refuses to make a change set of.)
    let v = doc(
        qfleet_on_moto().args(["status", "-o", "json"]).arg(&file),
        0,
    );
    assert_eq!(retired(&v), std::slice::from_ref(&moved));
    assert_eq!(v["retired"][0]["region"], "us-east-1");
    assert_eq!(v["retired"][0]["account"], US);
    assert!(
        v["retired"][0]["why"]
            .as_str()
            .unwrap()
            .contains("us-west-2"),
        "{v}"
    );

    moto_detach_role_policies_in(Some(US), &[&moved]);
    let address = format!("{moved}@{US}/us-east-1");
    let v = doc(
        qfleet_on_moto()
            .args(["teardown", &address, "--yes", "-o", "json", "--stacks-dir"])
            .arg(dir.path()),
        0,
    );
    assert_eq!(v["environments"][0]["region"], "us-east-1");
    let v = doc(
        qfleet_on_moto().args(["status", "-o", "json"]).arg(&file),
        0,
    );
    assert!(retired(&v).is_empty(), "{v}");
}

/// Issue 72, a rename: `environment: E` became `environment: Ex` in the same file (E.yaml).
/// The copies named after the old name are retired, reached by their old names, and torn
/// down by them.
#[test]
fn a_renamed_environment_leaves_its_old_copies_retired_and_reachable_by_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("rn");
    let file = deploy_lab(dir.path(), &e, "copies: 2\n");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            &format!("environment: {e}\n"),
            &format!("environment: {e}x\n"),
        ),
    )
    .unwrap();
    let old: Vec<String> = (1..=2).map(|i| format!("{e}-0{i}")).collect();

    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        3,
    );
    let mut names = retired(&v);
    names.sort();
    assert_eq!(names, old);
    assert!(
        v["retired"][0]["why"]
            .as_str()
            .unwrap()
            .contains(&format!("`{e}x`")),
        "{v}"
    );
    // By its old name, though no file makes it any more.
    let v = doc(
        qfleet_on_moto()
            .args(["status", &old[0], "-o", "json", "--stacks-dir"])
            .arg(dir.path()),
        0,
    );
    assert_eq!(v["environments"][0]["environment"], old[0]);
    moto_detach_role_policies(&[&old[0], &old[1]]);
    for name in &old {
        let o = run(qfleet_on_moto()
            .args(["teardown", name, "--yes", "--stacks-dir"])
            .arg(dir.path()));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        3,
    );
    assert!(retired(&v).is_empty(), "{v}");
}

/// Issue 72, a rename without copies: `environment: E` became `environment: Ex` in E.yaml. The
/// bare name `E` is now both the file (which makes Ex) and the environment E the file made:
/// refused, naming each; the address in the hint tears down exactly E, and `--region` with an
/// address is refused before anything is read.
#[test]
fn after_a_rename_the_files_name_is_refused_and_the_address_reaches_the_old_environment() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("rp");
    let file = deploy_lab(dir.path(), &e, "");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            &format!("environment: {e}\n"),
            &format!("environment: {e}x\n"),
        ),
    )
    .unwrap();
    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        3,
    );
    assert_eq!(retired(&v), std::slice::from_ref(&e));
    let address = format!("{e}@eu-west-1");
    let o = run(qfleet_on_moto().arg("plan").arg(&file));
    assert!(
        stderr(&o).contains(&format!(" teardown {address}` retires it")),
        "{}",
        stderr(&o)
    );
    let o = run(qfleet_on_moto()
        .args(["teardown", &e, "--yes", "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("names more than one environment"), "{err}");
    assert!(err.contains(&format!("{e}x@eu-west-1")), "{err}");
    assert!(err.contains(&address), "{err}");
    let o = run(qfleet_on_moto()
        .args([
            "teardown",
            &address,
            "--region",
            "us-west-2",
            "--yes",
            "--stacks-dir",
        ])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--region does not go with NAME@REGION"),
        "{}",
        stderr(&o)
    );
    moto_detach_role_policies(&[&e]);
    let v = doc(
        qfleet_on_moto()
            .args(["teardown", &address, "--yes", "-o", "json", "--stacks-dir"])
            .arg(dir.path()),
        0,
    );
    assert_eq!(v["environments"][0]["environment"], e);
    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        3,
    );
    assert!(retired(&v).is_empty(), "{v}");
}
