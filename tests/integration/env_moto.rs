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
