//! The offline commands as a user or a pipeline runs them: output, formats and exit codes.

use crate::common::*;

fn invalid_stack_file(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("broken.yaml");
    std::fs::write(&p, "region: eu-west-1\nworkers:\n  min: 4\n  max: 2\n").unwrap();
    p
}

#[test]
fn render_prints_both_stacks_to_stdout() {
    let o = run(qfleet().args(["render", "lab"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("# qfleet-lab-data (data.yaml)"));
    assert!(text.contains("# qfleet-lab-fleet (fleet.yaml)"));
    assert!(text.contains("AWS::AutoScaling::ScalingPolicy"));
}

#[test]
fn render_out_writes_one_file_per_stack() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let o = run(qfleet()
        .args(["render", "stacks/prod.yaml", "--out"])
        .arg(&out));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let data = std::fs::read_to_string(out.join("data.yaml")).unwrap();
    let fleet = std::fs::read_to_string(out.join("fleet.yaml")).unwrap();
    assert!(data.contains("AWS::SQS::Queue") && !data.contains("AWS::AutoScaling"));
    assert!(
        fleet.contains("AWS::AutoScaling::AutoScalingGroup") && !fleet.contains("AWS::SQS::Queue")
    );
}

#[test]
fn render_json_carries_the_templates() {
    let o = run(qfleet().args(["render", "lab", "--output", "json"]));
    assert_eq!(o.status.code(), Some(0));
    let doc = document(&o);
    let v = &doc["environments"][0];
    assert_eq!(v["environment"], "lab");
    assert_eq!(v["stacks"][0]["stack_name"], "qfleet-lab-data");
    assert_eq!(v["stacks"][1]["role"], "fleet");
    assert!(
        v["stacks"][1]["template"]
            .as_str()
            .unwrap()
            .contains("WorkerGroup")
    );
}

#[test]
fn validate_summarizes_a_good_file() {
    let o = run(qfleet().args(["validate", "lab"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("valid (lab)"));
    // The target, and why it is what it is.
    assert!(
        stdout(&o).contains("(visible + in flight; derived so that 99 % of the messages meet the 10 s goal at 0.5 s each)"),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("warning: workers.public_ip"),
        "the opt-in is pointed out"
    );

    let o = run(qfleet().args(["validate", "prod", "-o", "json"]));
    let doc = document(&o);
    let v = &doc["environments"][0];
    assert_eq!(v["ok"], true);
    // prod's 60 s goal at 2 s a message: a busy share with headroom for the p99, not
    // 60 ÷ 2 = 30 messages waiting per instance.
    assert_eq!(v["backlog_target"], 0.9);
    assert_eq!(v["retain_bucket"], true);
    assert_eq!(v["termination_protection"], true);
}

/// A function from a container image is summarized by its image, not a runtime it does not
/// have; a digest draws no warning, a tag does (Lambda does not follow a re-pushed tag).
#[test]
fn validate_summarizes_an_image_function_by_its_image() {
    let example = root().join("examples/lambda-image.yaml");
    let o = run(qfleet().arg("validate").arg(&example));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("workers: Lambda image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/image-resizer@sha256:")
            && out.contains("(x86_64) (1024 MB, 30 s)")
            && !out.contains("python"),
        "{out}"
    );
    assert!(!stderr(&o).contains("names a tag"), "{}", stderr(&o));
    // iam-policy says what it leaves to the repository's own policy.
    let o = run(qfleet()
        .arg("iam-policy")
        .arg(&example)
        .args(["--account", "123456789012"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("repository/image-resizer must allow the Lambda service principal"),
        "{}",
        stderr(&o)
    );
    let dir = tempfile::tempdir().unwrap();
    let tagged = dir.path().join("tagged.yaml");
    std::fs::write(
        &tagged,
        "region: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n  lambda:\n    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/r:latest\n",
    )
    .unwrap();
    let o = run(qfleet().arg("validate").arg(&tagged));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: workers.lambda.image"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_invalid_stack_file_exits_2_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = invalid_stack_file(dir.path());
    for cmd in ["render", "validate"] {
        let o = run(qfleet().arg(cmd).arg(&p));
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "{}:3:8: workers.min: 4 is greater than workers.max (2)",
                p.display()
            )),
            "{err}"
        );
        assert!(err.contains("nothing was changed"), "{err}");
        assert!(o.stdout.is_empty(), "nothing is rendered");
    }
}

#[test]
fn errors_in_json_are_machine_readable() {
    let dir = tempfile::tempdir().unwrap();
    let p = invalid_stack_file(dir.path());
    let o = run(qfleet().arg("validate").arg(&p).args(["--output", "json"]));
    assert_eq!(o.status.code(), Some(2));
    let v = document(&o);
    assert_eq!(v["command"], "validate");
    assert_eq!(v["ok"], false);
    assert_eq!(v["exit_code"], 2);
    assert_eq!(v["error"]["kind"], "input");
    assert_eq!(v["environments"], serde_json::json!([]));
    let e = &v["error"]["problems"][0];
    assert_eq!(e["field"], "workers.min");
    assert_eq!(e["line"], 3);
    assert_eq!(e["column"], 8);
    assert!(e["allowed"].as_str().unwrap().contains("whole number"));
}

#[test]
fn an_unknown_environment_lists_the_known_ones() {
    let o = run(qfleet().args(["render", "staging"]));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("no stack file for environment `staging`"),
        "{err}"
    );
    assert!(err.contains("lab, prod"), "{err}");
}

#[test]
fn a_bad_flag_exits_2_and_help_exits_0() {
    let o = run(qfleet().args(["render", "lab", "--output", "xml"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--output"));
    let o = run(qfleet().arg("--help"));
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("Exit codes"));
}

/// Drift-aware change sets roll resources back to their actual state on failure, and express
/// mode exists to skip waiting: the two are refused together before anything is sent.
#[test]
fn express_and_revert_drift_together_are_refused_before_any_aws_call() {
    for cmd in ["plan", "deploy"] {
        let o = run(qfleet().args([cmd, "lab", "--express", "--revert-drift"]));
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    }
}

/// `--version` names the commit the binary was built from, so a CI log or a bug report says
/// exactly which qfleet ran.
#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let o = run(qfleet().arg("--version"));
    assert_eq!(o.status.code(), Some(0));
    let line = stdout(&o);
    let head = run(std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root()));
    let head = stdout(&head).trim().to_string();
    assert!(
        line.starts_with(&format!("qfleet {} ({head}", env!("CARGO_PKG_VERSION"))),
        "{line} (HEAD is {head})"
    );
}

#[test]
fn completions_are_generated() {
    let o = run(qfleet().args(["completions", "bash"]));
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("_qfleet()"));
}

#[test]
fn missing_credentials_give_one_clear_line_and_exit_1() {
    let home = tempfile::tempdir().unwrap();
    let o = run(qfleet()
        .args(["deploy", "lab", "--yes"])
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.path().join("none"))
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI"));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    // One line, before anything else is drawn, with no SDK jargon (issue 57).
    assert_eq!(err.trim_end(), format!("error: {NO_CREDENTIALS}"), "{err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn a_closed_stdout_ends_every_printing_command_quietly() {
    use std::process::Stdio;
    for args in [
        &["render", "examples/classroom.yaml"][..],
        &["validate", "examples/classroom.yaml"],
        &["validate", "examples/classroom.yaml", "-o", "json"],
        &["completions", "bash"],
    ] {
        let mut child = qfleet()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Like `| head -0`: the reader is gone before qfleet writes.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// A Fargate stack file validates (its document matching the schema, the kind named) and its
/// tasks are summarised with their size and Spot share.
#[test]
fn validate_names_fargate_workers_and_their_task_size() {
    let o = run(qfleet().args(["validate", "examples/fargate.yaml", "-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let d = document(&o);
    assert_eq!(d["environments"][0]["workers"], "fargate");
    let o = run(qfleet().args(["validate", "examples/fargate.yaml"]));
    let text = stdout(&o);
    assert!(
        text.contains("Fargate tasks of")
            && text.contains("512 CPU units, 1024 MiB")
            && text.contains("Fargate Spot: about 70% of the tasks above 1 on FARGATE"),
        "{text}"
    );
}

/// `qfleet` with no AWS credentials anywhere, and an endpoint nobody listens on (offline).
fn qfleet_without_credentials(home: &std::path::Path) -> std::process::Command {
    let empty = home.join("empty");
    std::fs::write(&empty, "").unwrap();
    let mut c = qfleet();
    c.env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "eu-west-1")
        .env("CI", "true");
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        c.env_remove(var);
    }
    c
}

const NO_CREDENTIALS: &str = "no AWS credentials found. Set AWS_PROFILE (or pass --profile), run `aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

/// Issue 33: `status` of two environments without credentials printed the same long message
/// 18 times (every call of every environment); issue 57: then a screen of "not available … no
/// credentials (see below)" lines. A run without credentials says so once, in one line, before
/// drawing anything; with `-o json` the document holds it and stderr keeps the line.
#[test]
fn missing_credentials_are_told_once_per_run_in_text_and_in_json() {
    let home = tempfile::tempdir().unwrap();
    let a = lab_stack_file(home.path(), "credsa", "");
    let b = lab_stack_file(home.path(), "credsb", "");
    for command in [
        &["status"][..],
        &["drift"],
        &["outputs"],
        &["plan"],
        &["teardown", "--yes"],
    ] {
        let o = run(qfleet_without_credentials(home.path())
            .args(command)
            .args([&a, &b]));
        assert_eq!(o.status.code(), Some(1), "{command:?}: {}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!("error: {NO_CREDENTIALS}\n"),
            "{command:?}"
        );
        assert!(stdout(&o).is_empty(), "{command:?}: {}", stdout(&o));

        let o = run(qfleet_without_credentials(home.path())
            .args(command)
            .args([&a, &b])
            .args(["-o", "json"]));
        assert_eq!(o.status.code(), Some(1), "{command:?}: {}", stderr(&o));
        let v = document(&o);
        assert_eq!(v["error"]["kind"], "aws", "{v}");
        assert_eq!(v["error"]["message"], NO_CREDENTIALS, "{v}");
        assert_eq!(v["environments"], serde_json::json!([]), "{v}");
        assert_eq!(
            stderr(&o),
            format!("error: {NO_CREDENTIALS}\n"),
            "{command:?}: -o json keeps the line on stderr"
        );
    }
}

/// Each source of the credential chain that is set up and fails names itself (issue 57: a
/// missing web identity token file was "could not reach http://127.0.0.1:…"), in one line.
#[test]
fn a_failing_credential_source_names_itself() {
    let home = tempfile::tempdir().unwrap();
    let a = lab_stack_file(home.path(), "credsrc", "");
    let config = home.path().join("config");
    std::fs::write(&config, "[profile other]\nregion = eu-west-1\n").unwrap();
    let missing = home.path().join("no-token");
    let sso = home.path().join("sso-config");
    std::fs::write(
        &sso,
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\nregion = eu-west-1\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
    )
    .unwrap();
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[
                ("AWS_PROFILE", "dev"),
                ("AWS_CONFIG_FILE", sso.to_str().unwrap()),
            ],
            "error: AWS credentials could not be loaded from profile dev's SSO sign-in (`aws sso login --profile dev`); ",
        ),
        (
            &[("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")],
            "error: AWS credentials could not be loaded from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); AWS_SECRET_ACCESS_KEY is not set",
        ),
        (
            &[
                ("AWS_PROFILE", "nope"),
                ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ],
            "error: AWS credentials could not be loaded from profile nope (~/.aws/config, ~/.aws/credentials)",
        ),
        (
            &[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", missing.to_str().unwrap()),
                ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci"),
            ],
            "error: AWS credentials could not be loaded from the web identity token file (AWS_WEB_IDENTITY_TOKEN_FILE=",
        ),
        (
            &[(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1:9/creds",
            )],
            "error: AWS credentials could not be loaded from the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9/creds)",
        ),
    ];
    for (vars, said) in cases {
        let mut c = qfleet_without_credentials(home.path());
        c.arg("status").arg(&a);
        for (k, v) in vars {
            c.env(k, v);
        }
        let o = run(&mut c);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{vars:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{vars:?}: {err}");
        assert!(err.starts_with(said), "{vars:?}:\n{err}");
        assert!(!err.contains("could not reach"), "{err}");
    }
}

/// `iam-policy` for a StackSets file, offline with `--account` (the account that holds the
/// stack sets, which the file also names): the caller's policy, the administration role's and each target account's
/// execution role's (`service_roles`), and the role qfleet assumes in each target's account
/// (`target_roles`), scoped to the names StackSets gives the instances' stacks.
#[test]
fn iam_policy_prints_the_stack_sets_roles_policies_for_a_stack_sets_file() {
    let o = run(qfleet().args([
        "iam-policy",
        "examples/stack-sets.yaml",
        "--account",
        "999999999999",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["account"], "999999999999");
    let roles: Vec<&String> = doc["service_roles"].as_object().unwrap().keys().collect();
    assert_eq!(
        roles,
        [
            "arn:aws:iam::111122223333:role/AWSCloudFormationStackSetExecutionRole",
            "arn:aws:iam::444455556666:role/AWSCloudFormationStackSetExecutionRole",
            "arn:aws:iam::999999999999:role/AWSCloudFormationStackSetAdministrationRole",
        ]
    );
    let targets: Vec<&String> = doc["target_roles"].as_object().unwrap().keys().collect();
    assert_eq!(
        targets,
        [
            "arn:aws:iam::111122223333:role/qfleet-reader",
            "arn:aws:iam::444455556666:role/qfleet-reader",
        ]
    );
    let text = stdout(&o);
    assert!(
        text.contains(
            "arn:aws:cloudformation:eu-west-1:999999999999:stackset/qfleet-fleetsets-data:*"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "stack/StackSet-qfleet-fleetsets-data-????????-????-????-????-????????????/*"
        ),
        "{text}"
    );
    assert!(
        stderr(&o).contains("StackSets: the administration role"),
        "{}",
        stderr(&o)
    );
    // The file names the account that holds its stack sets: offline without --account, and
    // another account is a usage error.
    let o = run(qfleet().args(["iam-policy", "examples/stack-sets.yaml"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let offline: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(offline, doc);
    let o = run(qfleet().args([
        "iam-policy",
        "examples/stack-sets.yaml",
        "--account",
        "111122223333",
    ]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("acts on its stack sets from account 999999999999"),
        "{}",
        stderr(&o)
    );
}

/// `environments` without --region or AWS_REGION lists the profile's region, as the SDK
/// reads it (offline: the listing itself fails at an endpoint that answers every request
/// 400, and says which region).
#[test]
fn environments_lists_the_profiles_region_when_nothing_else_names_one() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 65536];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[profile lab]\nregion = eu-north-1\n").unwrap();
    let with = |profile: Option<&str>| {
        let mut c = qfleet();
        c.env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ENDPOINT_URL", &endpoint)
            .args(["environments", "-o", "json"]);
        if let Some(p) = profile {
            c.args(["--profile", p]);
        }
        run(&mut c)
    };
    let o = with(Some("lab"));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["regions"], serde_json::json!(["eu-north-1"]), "{v}");
    assert_eq!(o.status.code(), Some(1), "{v}");
    // Nothing names a region: refused, saying where one may come from.
    let o = with(None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("a region in the profile"),
        "{}",
        stderr(&o)
    );
}
