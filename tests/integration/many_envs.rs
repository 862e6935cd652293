//! Many environments at once: a glob reads only the stack files it can match; validate,
//! status and plan of several environments print one row each (details on request) and a
//! note the same for every copy once.

use crate::common::*;
use std::path::Path;

/// A stacks directory holding `lab` with three copies, a file that is not a copy of it, and a
/// broken file no `lab-*` glob can match.
fn stacks_with_a_broken_file(dir: &Path) {
    lab_stack_file(dir, "lab", "copies: 3\n");
    lab_stack_file(dir, "labrador", "");
    std::fs::write(
        dir.join("broken.yaml"),
        "region: [eu-west-1\nworkers: {min: 4",
    )
    .unwrap();
}

#[test]
fn a_glob_reads_only_the_stack_files_it_can_match() {
    let dir = tempfile::tempdir().unwrap();
    stacks_with_a_broken_file(dir.path());
    let v = doc(
        qfleet()
            .args(["validate", "lab-*", "-o", "json", "--stacks-dir"])
            .arg(dir.path()),
        0,
    );
    let names: Vec<&str> = v["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["environment"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lab-01", "lab-02", "lab-03"]);
    // Several targets, render included: a copy, a glob, a name.
    let o = run(qfleet()
        .args(["render", "lab-02", "lab*r", "lab-01", "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for stack in [
        "qfleet-lab-02-data",
        "qfleet-labrador-fleet",
        "qfleet-lab-01-data",
    ] {
        assert!(stdout(&o).contains(stack), "{stack}");
    }
    // A glob that matches the broken file reports it, and nothing else runs.
    let o = run(qfleet()
        .args(["validate", "*", "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("broken.yaml"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

#[test]
fn several_environments_validate_as_one_row_each_and_a_shared_warning_is_told_once() {
    let dir = tempfile::tempdir().unwrap();
    stacks_with_a_broken_file(dir.path());
    let o = run(qfleet()
        .args(["validate", "lab", "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    for copy in ["lab-01", "lab-02", "lab-03"] {
        assert_eq!(
            text.lines().filter(|l| l.contains(copy)).count(),
            1,
            "one row for {copy}:\n{text}"
        );
    }
    assert!(
        !text.contains("valid ("),
        "no details without --details:\n{text}"
    );
    let err = stderr(&o);
    assert_eq!(
        err.matches("warning: workers.public_ip").count(),
        1,
        "{err}"
    );
    assert!(err.contains("(for all 3 environments)"), "{err}");

    let o = run(qfleet()
        .args(["validate", "lab", "--details", "--stacks-dir"])
        .arg(dir.path()));
    assert_eq!(stdout(&o).matches("valid (").count(), 3, "{}", stdout(&o));
}

#[tokio::test]
async fn status_of_several_environments_is_one_row_each() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("js-rows");
    let file = lab_stack_file(dir.path(), &e, "copies: 2\n");
    deploy_all(std::slice::from_ref(&file));
    let conf = moto_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    send_job(&sqs, &format!("qfleet-{e}-01-jobs"), "one job").await;

    let o = run(qfleet_on_moto().arg("status").arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let row = |copy: &str| {
        text.lines()
            .find(|l| l.contains(&format!("{e}-{copy}")))
            .unwrap_or_else(|| panic!("no row for {copy}:\n{text}"))
            .to_string()
    };
    assert!(
        row("01").contains("1 message") && !row("01").contains("1 messages"),
        "{text}"
    );
    assert!(row("01").contains("1/1 in service"), "{text}");
    assert!(row("02").contains("0 messages"), "{text}");
    assert!(
        !text.contains("per zone"),
        "details only on request:\n{text}"
    );

    let o = run(qfleet_on_moto().arg("status").arg(&file).arg("--details"));
    let text = stdout(&o);
    assert_eq!(text.matches("per zone").count(), 2, "{text}");
    assert!(
        text.contains(" ago") || text.contains("just now"),
        "times are relative: {text}"
    );
    assert!(!text.contains("+00:00") && !text.contains(":00Z"), "{text}");

    // plan: a row per copy, and the switch both copies would make told once.
    std::fs::write(
        &file,
        format!(
            "environment: {e}\nregion: eu-west-1\nlab: true\ncopies: 2\nworkers:\n  kind: lambda\n  lambda:\n{MOTO_LAMBDA}"
        ),
    )
    .unwrap();
    let o = run(qfleet_on_moto().arg("plan").arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (text, err) = (stdout(&o), stderr(&o));
    for copy in ["01", "02"] {
        let row = text
            .lines()
            .find(|l| l.contains(&format!("{e}-{copy}")))
            .unwrap_or_else(|| panic!("no row for {copy}:\n{text}"));
        assert!(row.contains("changes pending"), "{row}");
    }
    assert_eq!(
        err.matches("workers switch from ec2 to lambda").count(),
        1,
        "{err}"
    );
    assert!(err.contains("(for all 2 environments)"), "{err}");
    assert!(
        !err.contains("~ modify"),
        "previews only with --details: {err}"
    );

    moto_detach_role_policies(&[&format!("{e}-01"), &format!("{e}-02")]);
    let o = run(qfleet_on_moto()
        .arg("teardown")
        .arg(&file)
        .args(["--yes", "--discard-messages"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
