//! Issue 83: one environment, one name, whatever its files do. On moto, as a platform team
//! lives with its files: a target moved to another Region, a copy split into a file of its
//! own, `environment:` renamed, and the file renamed with it. After each, every name reaches
//! exactly one environment or is refused naming each by an address that works as printed,
//! and the command qfleet prints to retire the old one runs as printed and removes exactly
//! its stacks.

use crate::common::*;
use std::path::Path;

/// The environments `environments` lists in `region`, by name, with their documents.
fn listed(region: &str, stacks_dir: &Path) -> serde_json::Value {
    let v = doc(
        qfleet_on_moto()
            .args([
                "environments",
                "--region",
                region,
                "-o",
                "json",
                "--stacks-dir",
            ])
            .arg(stacks_dir),
        0,
    );
    check_schema("environments", &v);
    v
}

fn present(v: &serde_json::Value, name: &str) -> Option<serde_json::Value> {
    v["environments"]
        .as_array()?
        .iter()
        .find(|e| e["environment"] == name)
        .cloned()
}

/// The first command `` `qfleet … teardown NAME…` `` in `text` that retires `name`, split as
/// a shell would (the words here hold no quotes).
fn printed_teardown(text: &str, name: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(|c| c.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|w| {
            w.first().map(String::as_str) == Some("qfleet")
                && w.iter().any(|x| x == "teardown")
                && w.iter().any(|x| x.starts_with(&format!("{name}@")))
        })
        .unwrap_or_else(|| panic!("no command retiring {name} in: {text}"))
}

/// The printed command, run as printed (with `--yes`, the question's answer) by the binary
/// on moto, from `cwd`.
fn run_printed(words: &[String], cwd: &Path) -> std::process::Output {
    assert_eq!(words[0], "qfleet", "{words:?}");
    run(qfleet_on_moto()
        .current_dir(cwd)
        .args(&words[1..])
        .arg("--yes"))
}

/// A target moved to another Region: the bare name reaches the live environment and the one
/// the file left in the old Region, so a teardown by it is refused and the live stacks stay;
/// the address the deploy printed tears down exactly the old one.
#[test]
fn a_bare_name_never_tears_down_the_live_environment_after_its_target_moved() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("im");
    let write = |us: &str| {
        std::fs::write(
            dir.path().join(format!("{e}.yaml")),
            format!(
                "region: eu-west-1\nlab: true\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\ntargets:\n  - name: eu1\n  - name: us1\n    region: {us}\n"
            ),
        )
        .unwrap();
    };
    write("us-east-1");
    let file = dir.path().join(format!("{e}.yaml"));
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    write("us-west-2");
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let moved = format!("{e}-us1");
    let hint = stderr(&o);
    let printed = printed_teardown(&hint, &moved);
    assert!(
        printed.contains(&format!("{moved}@us-east-1")),
        "{printed:?}"
    );

    // The bare name: refused, naming both places; nothing is deleted.
    moto_detach_role_policies(&[&moved]);
    let o = run(qfleet_on_moto()
        .args(["teardown", &moved, "--yes", "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("names more than one environment"), "{err}");
    assert!(err.contains(&format!("{moved}@us-west-2")), "{err}");
    assert!(err.contains(&format!("{moved}@us-east-1")), "{err}");
    assert!(present(&listed("us-west-2", dir.path()), &moved).is_some());
    assert!(present(&listed("us-east-1", dir.path()), &moved).is_some());

    // The printed address retires exactly the old one.
    let o = run_printed(&printed, &std::env::current_dir().unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(present(&listed("us-east-1", dir.path()), &moved).is_none());
    let live = present(&listed("us-west-2", dir.path()), &moved).expect("the live one stays");
    assert_eq!(live["stack_file"], file.display().to_string(), "{live}");
    // And the bare name is one environment again.
    let v = doc(
        qfleet_on_moto()
            .args(["status", &moved, "-o", "json", "--stacks-dir"])
            .arg(dir.path()),
        0,
    );
    assert_eq!(v["environments"][0]["region"], "us-west-2", "{v}");
}

/// `copies: 3` → `copies: 2` and a file of its own for the third copy, in the same Region:
/// one environment, which the new file makes. Its name and address reach it; the old file
/// no longer calls it retired; `environments` says the new file makes it.
#[test]
fn a_copy_split_into_a_file_of_its_own_stays_one_environment() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("ic");
    let file = deploy_lab(dir.path(), &e, "copies: 3\n");
    lab_stack_file(dir.path(), &e, "copies: 2\n");
    let third = format!("{e}-03");
    let split = dir.path().join(format!("{third}.yaml"));
    std::fs::write(
        &split,
        "region: eu-west-1\nlab: true\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\n",
    )
    .unwrap();

    // The old file's plan: nothing retired (another file of its directory makes the copy).
    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        0,
    );
    assert_eq!(v["retired"], serde_json::json!([]), "{v}");
    // Its name and its address reach the one environment.
    for name in [third.clone(), format!("{third}@eu-west-1")] {
        let v = doc(
            qfleet_on_moto()
                .args(["status", &name, "-o", "json", "--stacks-dir"])
                .arg(dir.path()),
            0,
        );
        assert_eq!(v["environments"][0]["environment"], third, "{name}: {v}");
        let o = run(qfleet_on_moto()
            .args(["outputs", &name, "--stacks-dir"])
            .arg(dir.path()));
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
    }
    // The new file's deploy takes it over (its marks are rewritten on CloudFormation: moto
    // refuses a change set of the stack's tags alone, so here it is "no changes").
    let o = run(qfleet_on_moto().arg("deploy").arg(&split).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        0,
    );
    assert_eq!(v["retired"], serde_json::json!([]), "{v}");
    let row = present(&listed("eu-west-1", dir.path()), &third).unwrap();
    assert_eq!(row["stack_file"], split.display().to_string(), "{row}");
    assert!(row["retire"].is_null(), "{row}");
}

/// `environment:` renamed in the same file, whose `owner` ties the two: the old environment
/// is retired, the plan says so and why, and the command it prints removes exactly the old
/// stacks.
#[test]
fn a_renamed_environment_is_retired_by_the_command_the_plan_prints() {
    let dir = tempfile::tempdir().unwrap();
    let old = unique("rno");
    let new = unique("rnn");
    // The owner is this run's own: an earlier run's leftovers on a reused emulator are
    // another owner's.
    let owner = unique("shop");
    let file = dir.path().join("orders.yaml");
    let write = |env: &str| {
        std::fs::write(
            &file,
            format!(
                "environment: {env}\nowner: {owner}\nregion: eu-west-1\nlab: true\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\n"
            ),
        )
        .unwrap()
    };
    write(&old);
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    write(&new);
    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        3,
    );
    let retired = v["retired"].as_array().unwrap();
    assert_eq!(retired.len(), 1, "{v}");
    assert_eq!(retired[0]["environment"], old);
    assert!(
        retired[0]["why"]
            .as_str()
            .unwrap()
            .contains(&format!("`{new}`")),
        "{v}"
    );
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let printed = printed_teardown(&stderr(&o), &old);
    assert!(printed.contains(&format!("{old}@eu-west-1")), "{printed:?}");

    moto_detach_role_policies(&[&old]);
    let o = run_printed(&printed, &std::env::current_dir().unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = listed("eu-west-1", dir.path());
    assert!(present(&v, &old).is_none(), "{v}");
    assert!(present(&v, &new).is_some(), "the new one stays: {v}");
}

/// The file and its environment both renamed: no file makes the old one, and no file of the
/// same name is left beside the new one. The new file's plan lists it (same owner, same
/// place, its file gone); `environments` attributes it to no file, with a command that
/// runs as printed from anywhere: the environment is read from its stacks alone.
#[test]
fn after_the_file_and_its_environment_are_renamed_the_old_one_is_retired_from_its_stacks() {
    let dir = tempfile::tempdir().unwrap();
    let old = unique("wko");
    let new = unique("wkn");
    let body = format!(
        "region: eu-west-1\nowner: {}\nlab: true\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\n",
        unique("walk")
    );
    let first = dir.path().join("walk-a.yaml");
    std::fs::write(&first, format!("environment: {old}\n{body}")).unwrap();
    let o = run(qfleet_on_moto().arg("deploy").arg(&first).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::remove_file(&first).unwrap();
    let second = dir.path().join("walk-b.yaml");
    std::fs::write(&second, format!("environment: {new}\n{body}")).unwrap();

    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&second),
        3,
    );
    let names: Vec<&str> = v["retired"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["environment"].as_str())
        .collect();
    assert_eq!(names, [old.as_str()], "{v}");
    let o = run(qfleet_on_moto().arg("deploy").arg(&second).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let row = present(&listed("eu-west-1", dir.path()), &old).unwrap();
    assert!(row["stack_file"].is_null(), "{row}");
    assert_eq!(row["made_by_file"], "walk-a.yaml", "{row}");
    let retire = row["retire"].as_str().unwrap().to_string();
    assert_eq!(retire, format!("qfleet teardown {old}@eu-west-1"));
    // The text says the same command, never a placeholder.
    let o = run(qfleet_on_moto()
        .args(["environments", "--region", "eu-west-1", "--stacks-dir"])
        .arg(dir.path()));
    assert!(
        stderr(&o).contains(&format!("`{retire}`")),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("NAME@REGION"), "{}", stderr(&o));

    // Run as printed from a directory with no stack file at all.
    moto_detach_role_policies(&[&old]);
    let elsewhere = tempfile::tempdir().unwrap();
    let words: Vec<String> = retire.split_whitespace().map(str::to_string).collect();
    let o = run_printed(&words, elsewhere.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = listed("eu-west-1", dir.path());
    assert!(present(&v, &old).is_none(), "{v}");
    assert!(present(&v, &new).is_some(), "the new one stays: {v}");
}

/// A whole file (no targets) moved to another Region: the first plan there finds the old
/// environment by a scan of the Regions enabled for the account, the deploy records where it
/// was on the new data stack, and every later plan finds it through that record, until the
/// printed command retires it.
#[test]
fn a_file_moved_to_another_region_leaves_its_old_environment_listed_until_retired() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("mv");
    let write = |region: &str| {
        std::fs::write(
            dir.path().join(format!("{e}.yaml")),
            format!(
                "region: {region}\nlab: true\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\n"
            ),
        )
        .unwrap()
    };
    write("eu-west-1");
    let file = dir.path().join(format!("{e}.yaml"));
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    write("us-west-2");
    let retired_of = |v: &serde_json::Value| -> Vec<(String, String, String)> {
        v["retired"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["environment"].as_str().unwrap().to_string(),
                    r["region"].as_str().unwrap().to_string(),
                    r["why"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        3,
    );
    let found = retired_of(&v);
    assert_eq!(found.len(), 1, "{v}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1.as_str()),
        (e.as_str(), "eu-west-1")
    );
    assert!(found[0].2.contains("found by a scan"), "{found:?}");

    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let printed = printed_teardown(&stderr(&o), &e);
    assert!(printed.contains(&format!("{e}@eu-west-1")), "{printed:?}");
    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        3,
    );
    let found = retired_of(&v);
    assert_eq!(found.len(), 1, "{v}");
    assert!(found[0].2.contains("through the record"), "{found:?}");

    // The bare name reaches both: refused. The printed address retires the old one alone.
    let o = run(qfleet_on_moto()
        .args(["teardown", &e, "--yes", "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    moto_detach_role_policies(&[&e]);
    let o = run_printed(&printed, &std::env::current_dir().unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(present(&listed("eu-west-1", dir.path()), &e).is_none());
    assert!(present(&listed("us-west-2", dir.path()), &e).is_some());
    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        0,
    );
    assert!(retired_of(&v).is_empty(), "{v}");
}

/// The shrunk case of the model's property test: a target moved from another account into the
/// credentials' own, in the same Region (found through the record of the target that stays).
/// Two environments of one name in one Region: the bare name is refused, each named with its
/// account, and the live one's address (with the credentials' own account, read from STS)
/// reaches it alone.
#[test]
fn two_environments_of_one_name_in_one_region_are_told_apart_by_their_accounts() {
    const OTHER: &str = "222222222222";
    let dir = tempfile::tempdir().unwrap();
    let e = unique("ia");
    let write = |account: &str| {
        std::fs::write(
            dir.path().join(format!("{e}.yaml")),
            format!(
                "region: eu-west-1\nlab: true\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\ntargets:\n  - name: t2\n  - name: t1\n{account}"
            ),
        )
        .unwrap();
    };
    write(&format!(
        "    account: '{OTHER}'\n    role: arn:aws:iam::{OTHER}:role/qfleet-deployer\n"
    ));
    let file = dir.path().join(format!("{e}.yaml"));
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    write("");
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let name = format!("{e}-t1");
    let o = run(qfleet_on_moto()
        .args(["status", &name, "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    let own = format!("{name}@123456789012/eu-west-1");
    let other = format!("{name}@{OTHER}/eu-west-1");
    assert!(err.contains(&own) && err.contains(&other), "{err}");
    for (address, account) in [(own, "123456789012"), (other, OTHER)] {
        let v = doc(
            qfleet_on_moto()
                .args(["status", &address, "-o", "json", "--stacks-dir"])
                .arg(dir.path()),
            0,
        );
        assert_eq!(v["environments"][0]["account"], account, "{address}: {v}");
    }
}
