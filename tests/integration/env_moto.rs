//! Issue 68: `qfleet env` prints a stage's worker environment exactly as the fleet gets it. On
//! moto: deployed, the launch template's user data (as CloudFormation filled it in) writes the
//! same variables `qfleet env` prints, and `--shell` is what `eval` takes.

use crate::common::*;

#[tokio::test]
async fn env_prints_what_the_deployed_launch_template_gives_the_workers() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("wenv");
    let file = lab_stack_file(
        dir.path(),
        &e,
        "  environment:\n    DATABASE_HOST: db.internal\n    PRICE: \"1.50\"\n  secrets:\n    DATABASE_URL: ssm:/orders/database-url\njobs: {}\n",
    );
    let o = run(qfleet_on_moto().args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = run(qfleet_on_moto().arg("env").arg(&file).args(["-o", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let printed = doc["environments"][0]["variables"]
        .as_object()
        .unwrap()
        .clone();
    assert_eq!(
        doc["environments"][0]["secrets"]["DATABASE_URL"],
        "ssm:/orders/database-url"
    );

    // The user data of the launch template moto made from the deployed stack.
    let given = std::process::Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import boto3,sys,base64; ec2=boto3.client('ec2', endpoint_url=sys.argv[1], region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing'); cfn=boto3.client('cloudformation', endpoint_url=sys.argv[1], region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing'); lt=cfn.describe_stack_resource(StackName=sys.argv[2], LogicalResourceId='LaunchTemplate')['StackResourceDetail']['PhysicalResourceId']; v=ec2.describe_launch_template_versions(LaunchTemplateId=lt)['LaunchTemplateVersions'][-1]; print(base64.b64decode(v['LaunchTemplateData']['UserData']).decode())",
            &moto_endpoint(),
            &format!("qfleet-{e}-fleet"),
        ])
        .output()
        .unwrap();
    assert!(
        given.status.success(),
        "{}",
        String::from_utf8_lossy(&given.stderr)
    );
    let user_data = String::from_utf8_lossy(&given.stdout).to_string();
    let start = user_data
        .find("<<'QFLEET_ENV'\n")
        .expect("the user data writes worker.env");
    let body = &user_data[start + "<<'QFLEET_ENV'\n".len()..];
    let body = &body[..body.find("\nQFLEET_ENV\n").unwrap()];
    let in_user_data: serde_json::Map<String, serde_json::Value> = body
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    assert_eq!(printed, in_user_data);
    assert_eq!(printed["PRICE"], "1.50", "as written");

    // --shell: export lines for eval, the secret as a comment only.
    let o = run(qfleet_on_moto().arg("env").arg(&file).arg("--shell"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("export QFLEET_QUEUE_URL=https://sqs.eu-west-1.amazonaws.com/"),
        "{text}"
    );
    assert!(
        text.contains("# DATABASE_URL: a secret, read from ssm:/orders/database-url"),
        "{text}"
    );
    let sh = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{text}\nprintf %s \"$PRICE|$QFLEET_ENVIRONMENT\""))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&sh.stdout), format!("1.50|{e}"));
    moto_detach_role_policies(&[&e]);
}

/// `qfleet dev` runs the reference worker here with the fleet's settings: a job sent by
/// `qfleet submit` is done, recorded in the job table as the fleet records it, with nothing
/// exported by hand (dev reads the tables' names from the data stack, which the worker's own
/// DescribeStackResource could not on moto); a local value the fleet's replaces is named, and
/// `--keep` keeps it; Ctrl-C stops the worker (exit 130). A protected environment is refused
/// before anything runs.
#[tokio::test]
async fn dev_runs_the_reference_worker_on_a_submitted_job_until_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("wdev");
    let file = lab_stack_file(
        dir.path(),
        &e,
        "  environment:\n    PGHOST: db.internal\njobs: {}\n",
    );
    let o = run(qfleet_on_moto().args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(qfleet_on_moto()
        .arg("submit")
        .arg(&file)
        .args([r#"{"n": 7}"#, "--id", "dev-1"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // The reference worker needs python3 with boto3: the tests' virtualenv's, first on PATH.
    let path = format!(
        "{}:{}",
        root().join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let log = dir.path().join("dev.log");
    let mut dev = qfleet_on_moto()
        .arg("dev")
        .arg(&file)
        .env("PATH", &path)
        .env("PGHOST", "localhost")
        .env("QFLEET_WAIT_SECONDS", "1")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.path().join("dev.err")).unwrap())
        .spawn()
        .unwrap();
    let mut state = String::new();
    for _ in 0..60 {
        let o = run(qfleet_on_moto()
            .arg("jobs")
            .arg(&file)
            .args(["dev-1", "-o", "json"]));
        let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        state = d["environments"][0]["jobs"][0]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if state == "done" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let said = std::fs::read_to_string(dir.path().join("dev.err")).unwrap_or_default();
    assert_eq!(
        state,
        "done",
        "{said}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(said.contains("takes the environment's real jobs"), "{said}");
    assert!(
        said.contains(
            "the fleet's value replaces your shell's for PGHOST; to keep yours: `qfleet "
        ),
        "{said}"
    );
    assert!(!said.contains("localhost"), "values are never said: {said}");
    std::process::Command::new("kill")
        .args(["-s", "INT", &dev.id().to_string()])
        .status()
        .unwrap();
    let status = dev.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{said}");

    // A worker of the team's own gets the fleet's PGHOST and the tables' names, and dev
    // prints the command that keeps the shell's PGHOST; that command, run as printed by a
    // shell that has PGHOST, gives the worker the shell's value, and says so.
    let show = "import os; print(os.environ['PGHOST'], os.environ['QFLEET_JOB_TABLE'])";
    let o = run(qfleet_on_moto()
        .arg("dev")
        .arg(&file)
        .args(["--", "python3", "-c", show])
        .env("PATH", &path)
        .env("PGHOST", "localhost"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(&format!("db.internal qfleet-{e}-data-JobTable-")),
        "{}",
        stdout(&o)
    );
    let keeping = crate::hints::printed(&stderr(&o));
    let [keeping] = keeping.as_slice() else {
        panic!("one command expected: {}", stderr(&o));
    };
    let o = crate::hints::run_in_bash_with(
        keeping,
        dir.path(),
        &[("PATH", &path), ("PGHOST", "localhost")],
    );
    assert_eq!(o.status.code(), Some(0), "{keeping}: {}", stderr(&o));
    assert!(
        stdout(&o).starts_with(&format!("localhost qfleet-{e}-data-JobTable-")),
        "{keeping}: {}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("your shell's PGHOST kept over the fleet's (--keep)"),
        "{}",
        stderr(&o)
    );

    // Protected (not a lab): refused, nothing started.
    let protected = dir.path().join(format!("{e}-prod.yaml"));
    std::fs::write(
        &protected,
        format!("environment: {e}p\nregion: eu-west-1\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\n"),
    )
    .unwrap();
    let o = run(qfleet_on_moto().arg("dev").arg(&protected));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("--on-protected"), "{}", stderr(&o));
    // A function has no worker to run here: Lambda polls its queue.
    let function = dir.path().join(format!("{e}-fn.yaml"));
    std::fs::write(
        &function,
        format!("environment: {e}f\nregion: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n  lambda:\n{MOTO_LAMBDA}"),
    )
    .unwrap();
    let o = run(qfleet_on_moto().arg("dev").arg(&function));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Lambda polls the queue"),
        "{}",
        stderr(&o)
    );
    moto_detach_role_policies(&[&e]);
}

/// `qfleet dev --check` on moto: the reference worker keeps every rule the check sees (exit 0):
/// its job done, a line naming it, the same message again counted a duplicate, a clean stop on
/// SIGTERM. A worker that names no job, keeps no record and has no SIGTERM handler is told each
/// rule it breaks (exit 3), and its job is cancelled, so that no worker runs it later. Without
/// `jobs:`, the from-source example's worker keeps the rules that apply (exit 0).
#[tokio::test]
async fn dev_check_tells_a_worker_that_follows_the_protocol_from_one_that_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("wchk");
    let file = lab_stack_file(dir.path(), &e, "jobs: {}\n");
    let o = run(qfleet_on_moto().args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let job = dir.path().join("order 7.json");
    std::fs::write(&job, r#"{"order": 7}"#).unwrap();
    let path = format!(
        "{}:{}",
        root().join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let check = |args: &[&str]| {
        run(qfleet_on_moto()
            .arg("dev")
            .arg(&file)
            .arg("--check")
            .arg(&job)
            .args(args)
            .env("PATH", &path)
            .env("QFLEET_WAIT_SECONDS", "1"))
    };
    let id_of = |report: &str| -> String {
        let at = report.find("with the job \"").expect(report) + "with the job \"".len();
        report[at..].split('"').next().unwrap().to_string()
    };

    let o = check(&[]);
    let report = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{report}\n{}", stderr(&o));
    for rule in [
        "  ok           works a job sent as a message, keeping its record: its record says done after 1 attempt",
        "  ok           names the job in a line of its output (job=\"ID\"): job=\"dev-check-",
        "  ok           does not run a done job again: the same message again was counted a duplicate",
        "  ok           stops on SIGTERM within its grace: exited (exit status: 0)",
    ] {
        assert!(report.contains(rule), "{rule}\nin:\n{report}");
    }
    let id = id_of(&report);
    assert!(
        report.contains(&format!("job=\"{id}\"")),
        "the worker's own line, passed on: {report}"
    );
    let o = run(qfleet_on_moto()
        .arg("jobs")
        .arg(&file)
        .args([id.as_str(), "-o", "json"]));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let record = &d["environments"][0]["jobs"][0];
    assert_eq!(record["state"], "done", "{d}");
    assert_eq!(record["duplicates"], 1, "{d}");

    // A worker that deletes each message after printing its id, and nothing more.
    let o = check(&[
        "--timeout",
        "5s",
        "--",
        "python3",
        "-c",
        "import boto3, os\nq = os.environ['QFLEET_QUEUE_URL']\nsqs = boto3.client('sqs')\nwhile True:\n    for m in sqs.receive_message(QueueUrl=q, WaitTimeSeconds=1).get('Messages', []):\n        print('processing', m['MessageId'], flush=True)\n        sqs.delete_message(QueueUrl=q, ReceiptHandle=m['ReceiptHandle'])\n",
    ]);
    let report = stdout(&o);
    assert_eq!(o.status.code(), Some(3), "{report}\n{}", stderr(&o));
    for rule in [
        "  FAILED       works a job sent as a message, keeping its record: its record says queued after 5 s; the check cancelled it",
        "  FAILED       names the job in a line of its output (job=\"ID\"): no line of this worker named it in 5 s",
        "  not checked  does not run a done job again: the job did not end here",
        "  FAILED       stops on SIGTERM within its grace: SIGTERM ended it (no handler)",
    ] {
        assert!(report.contains(rule), "{rule}\nin:\n{report}");
    }
    let id = id_of(&report);
    let o = run(qfleet_on_moto()
        .arg("jobs")
        .arg(&file)
        .args([id.as_str(), "-o", "json"]));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["environments"][0]["jobs"][0]["state"], "cancelled", "{d}");

    // A worker that exits at once: said, and its job cancelled too.
    let o = check(&["--", "sh", "-c", "echo starting; exit 2"]);
    let report = stdout(&o);
    assert_eq!(o.status.code(), Some(3), "{report}\n{}", stderr(&o));
    assert!(
        report.contains("check of `sh -c 'echo starting; exit 2'` against the worker protocol"),
        "{report}"
    );
    assert!(
        report.contains("  FAILED       works a job sent as a message, keeping its record: the worker exited (exit status: 2) before the job ended; the check cancelled it"),
        "{report}"
    );
    let o =
        run(qfleet_on_moto()
            .arg("jobs")
            .arg(&file)
            .args([id_of(&report).as_str(), "-o", "json"]));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["environments"][0]["jobs"][0]["state"], "cancelled", "{d}");

    // Without jobs: the example's worker, built as the team's own would be.
    let bare = format!("{e}b");
    let file = lab_stack_file(dir.path(), &bare, "");
    let o = run(qfleet_on_moto().args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(qfleet_on_moto()
        .arg("dev")
        .arg(&file)
        .arg("--check")
        .arg(&job)
        .arg("--")
        .arg("python3")
        .arg(root().join("examples/from-source/worker.py"))
        .env("PATH", &path));
    let report = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{report}\n{}", stderr(&o));
    for rule in [
        "  -            works a job sent as a message, keeping its record: without jobs: no record says whether it was done",
        "  ok           names the job in a line of its output (job=\"ID\"): job=\"dev-check-",
        "  -            does not run a done job again: without jobs: no record says a job is done",
        "  ok           stops on SIGTERM within its grace: exited (exit status: 0)",
    ] {
        assert!(report.contains(rule), "{rule}\nin:\n{report}");
    }
    moto_detach_role_policies(&[&e, &bare]);
}

/// A target deployed through StackSets: its stacks are named by StackSets, so the variables
/// that name them are not known here. `env` and `dev` refuse (exit 2) before any call.
#[test]
fn env_and_dev_refuse_a_stack_sets_target_before_any_call() {
    for command in [&["env"][..], &["dev", "--on-protected"][..]] {
        let o = run(qfleet()
            .args(["--stacks-dir", "examples"])
            .args(command)
            .arg("fleetsets-eu1")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "eu-west-1"));
        assert_eq!(o.status.code(), Some(2), "{command:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("deployed through StackSets"),
            "{command:?}: {}",
            stderr(&o)
        );
    }
}

/// `qfleet dev --as-workers`: the worker runs with the workers' own role, assumed, where the
/// file lets the caller assume it (`workers.dev_principals`, in the role's trust policy); a
/// file that does not is refused before any call, saying what to add. moto does not check a
/// trust policy: the rendered policy is checked instead.
#[test]
fn dev_as_workers_runs_with_the_workers_role_where_the_file_trusts_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("wdevrole");
    let plain = lab_stack_file(dir.path(), &e, "");
    let o = run(qfleet_on_moto()
        .args(["dev", "--as-workers"])
        .arg(&plain)
        .args(["--", "true"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("workers.dev_principals"),
        "{}",
        stderr(&o)
    );

    let dev_role = "arn:aws:iam::123456789012:role/dev";
    let file = lab_stack_file(dir.path(), &e, &format!("  dev_principals: [{dev_role}]\n"));
    let doc = rendered(&file);
    let fleet = doc["environments"][0]["stacks"][1]["template"]
        .as_str()
        .unwrap();
    assert!(
        fleet.contains(&format!("- Sid: DevAsWorkers\n            Effect: Allow\n            Principal:\n              AWS: [\"{dev_role}\"]")),
        "{fleet}"
    );
    let o = run(qfleet_on_moto().args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(qfleet_on_moto()
        .args(["dev", "--as-workers"])
        .arg(&file)
        .args([
            "--",
            "sh",
            "-c",
            "printf '%s|%s' \"$AWS_ACCESS_KEY_ID\" \"${AWS_SESSION_TOKEN:+a session}\"",
        ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let said = stdout(&o);
    let (key, token) = said.split_once('|').unwrap();
    assert!(
        !key.is_empty() && key != "testing",
        "the role's keys, not the caller's: {said}"
    );
    assert_eq!(token, "a session");
    assert!(
        stderr(&o).contains("as the workers' role arn:aws:iam::123456789012:role/qfleet-"),
        "{}",
        stderr(&o)
    );
    moto_detach_role_policies(&[&e]);
}

/// `qfleet dev --with-secrets` gives the worker the stack file's secrets as an instance does:
/// qfleet-secrets reads each with the worker's credentials when it starts, and qfleet never
/// sees a value; without the flag they are not set, and dev says how to get them.
#[test]
fn dev_with_secrets_reads_them_as_an_instance_does() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("wdevsec");
    let name = format!("/{e}/database-url");
    let o = std::process::Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import boto3,sys; boto3.client('ssm', endpoint_url=sys.argv[1], region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing').put_parameter(Name=sys.argv[2], Value='postgres://db/orders', Type='SecureString', Overwrite=True)",
            &moto_endpoint(),
            &name,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = lab_stack_file(
        dir.path(),
        &e,
        &format!("  secrets:\n    DATABASE_URL: ssm:{name}\n"),
    );
    let o = run(qfleet_on_moto().args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The helper needs python3 with boto3: the tests' virtualenv's, first on PATH.
    let path = format!(
        "{}:{}",
        root().join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let show = ["--", "sh", "-c", "printf '[%s]' \"$DATABASE_URL\""];
    let o = run(qfleet_on_moto()
        .env("PATH", &path)
        .args(["dev", "--with-secrets"])
        .arg(&file)
        .args(show));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "[postgres://db/orders]");
    assert!(
        !stderr(&o).contains("postgres://"),
        "never printed by qfleet"
    );
    let o = run(qfleet_on_moto()
        .env("PATH", &path)
        .arg("dev")
        .arg(&file)
        .args(show));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "[]");
    assert!(stderr(&o).contains("--with-secrets"), "{}", stderr(&o));
    moto_detach_role_policies(&[&e]);
}
