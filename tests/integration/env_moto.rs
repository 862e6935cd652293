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
/// `qfleet submit` is done, recorded in the job table as the fleet records it; Ctrl-C stops the
/// worker (exit 130). A protected environment is refused before anything runs.
#[tokio::test]
async fn dev_runs_the_reference_worker_on_a_submitted_job_until_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("wdev");
    let file = lab_stack_file(dir.path(), &e, "jobs: {}\n");
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
    // moto answers DescribeStackResource, how the worker finds the job tables from
    // QFLEET_JOBS_STACK, with HTTP 500: the test names them, as QFLEET_JOB_TABLE and
    // QFLEET_LEASE_TABLE let anyone do (they pass through to the worker).
    let tables = std::process::Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import boto3,sys; c=boto3.client('cloudformation', endpoint_url=sys.argv[1], region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing'); r={x['LogicalResourceId']:x['PhysicalResourceId'] for x in c.list_stack_resources(StackName=sys.argv[2])['StackResourceSummaries']}; print(r['JobTable'], r['JobLeaseTable'])",
            &moto_endpoint(),
            &format!("qfleet-{e}-data"),
        ])
        .output()
        .unwrap();
    let tables = String::from_utf8_lossy(&tables.stdout).to_string();
    let [table, leases] = tables.split_whitespace().collect::<Vec<_>>()[..] else {
        panic!("{tables}");
    };
    let log = dir.path().join("dev.log");
    let mut dev = qfleet_on_moto()
        .arg("dev")
        .arg(&file)
        .env("QFLEET_JOB_TABLE", table)
        .env("QFLEET_LEASE_TABLE", leases)
        .env("PATH", &path)
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
    std::process::Command::new("kill")
        .args(["-s", "INT", &dev.id().to_string()])
        .status()
        .unwrap();
    let status = dev.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{said}");

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
