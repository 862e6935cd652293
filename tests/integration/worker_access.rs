//! A worker's declared settings, secrets and permissions (`workers.environment`,
//! `workers.secrets`, `workers.secret_keys`, `workers.policies`, `workers.statements`), from the
//! shipped examples: the IAM evaluator allows exactly the declared calls, no secret value is
//! ever rendered, and the EC2 example deploys on moto with its declared policy attached.

use crate::common::*;
use crate::iam::{ACCOUNT, REGION, decide, policies, rendered_policy};
use iam_rs::{Context, Decision};

const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn allowed(policy: &serde_json::Value, action: &str, arn: &str) -> bool {
    decide(
        &policies(std::slice::from_ref(policy)),
        action,
        arn,
        Context::new(),
    ) == Decision::Allow
}

/// IAM evaluates a request against the policy's statements (IAM User Guide, "Policy evaluation
/// logic": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
/// the worker's declared policy allows the calls the stack file declares, on the resources it
/// names, and nothing beside them. A secret's ARN ends in `-` and six random characters.
#[test]
fn the_declared_policy_allows_the_declared_calls_and_nothing_beside_them() {
    let ec2 = rendered_policy(
        &root().join("examples/worker-access.yaml"),
        "qfleet-access-fleet",
        "WorkerDeclaredPolicy",
    );
    let here = format!("{REGION}:{ACCOUNT}");
    let table = format!("arn:aws:dynamodb:{here}:table/image-results");
    let yes = [
        (
            "ssm:GetParameter",
            format!("arn:aws:ssm:{here}:parameter/image-app/db-password"),
        ),
        (
            "secretsmanager:GetSecretValue",
            format!("arn:aws:secretsmanager:{here}:secret:image-app/api-key-AbCdEf"),
        ),
        ("kms:Decrypt", KEY.to_string()),
        ("dynamodb:PutItem", table.clone()),
        ("dynamodb:UpdateItem", table.clone()),
    ];
    for (action, arn) in &yes {
        assert!(allowed(&ec2, action, arn), "{action} on {arn}: {ec2:#}");
    }
    let no = [
        (
            "ssm:GetParameter",
            format!("arn:aws:ssm:{here}:parameter/image-app/other"),
        ),
        (
            "ssm:GetParametersByPath",
            format!("arn:aws:ssm:{here}:parameter/image-app/db-password"),
        ),
        (
            "secretsmanager:GetSecretValue",
            format!("arn:aws:secretsmanager:{here}:secret:image-app/api-key-extra-AbCdEf"),
        ),
        (
            "secretsmanager:PutSecretValue",
            format!("arn:aws:secretsmanager:{here}:secret:image-app/api-key-AbCdEf"),
        ),
        (
            "kms:Decrypt",
            format!("arn:aws:kms:{here}:key/00000000-0000-0000-0000-000000000000"),
        ),
        ("kms:Encrypt", KEY.to_string()),
        ("dynamodb:DeleteItem", table.clone()),
        ("dynamodb:DeleteTable", table.clone()),
        (
            "dynamodb:PutItem",
            format!("arn:aws:dynamodb:{here}:table/other"),
        ),
        ("s3:GetObject", "arn:aws:s3:::any-bucket/key".to_string()),
    ];
    for (action, arn) in &no {
        assert!(!allowed(&ec2, action, arn), "{action} on {arn} is allowed");
    }

    let function = rendered_policy(
        &root().join("examples/lambda-access.yaml"),
        "qfleet-lambda-access-fleet",
        "WorkerFunctionDeclaredPolicy",
    );
    assert!(allowed(&function, yes[1].0, &yes[1].1));
    assert!(allowed(&function, "dynamodb:PutItem", &table));
    assert!(!allowed(&function, "dynamodb:UpdateItem", &table));
    assert!(
        !allowed(&function, yes[0].0, &yes[0].1),
        "no parameter declared"
    );
    assert!(!allowed(&function, "kms:Decrypt", KEY), "no key declared");
}

fn templates(file: &str) -> Vec<String> {
    rendered(file)["environments"][0]["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["template"].as_str().unwrap().to_string())
        .collect()
}

/// qfleet never reads a secret's value: the templates hold where each secret is kept, for the
/// worker to read when it starts, and no CloudFormation dynamic reference (which would put the
/// value into the resource's configuration).
#[test]
fn the_templates_hold_where_secrets_are_kept_never_their_values() {
    let ec2 = templates("examples/worker-access.yaml").join("\n");
    assert!(!ec2.contains("{{resolve:"));
    assert!(
        ec2.contains(r#"{"API_KEY":"secretsmanager:image-app/api-key","DB_PASSWORD":"ssm:/image-app/db-password"}"#),
        "the instance's /etc/qfleet/secrets.json"
    );
    assert!(ec2.contains("RESULTS_TABLE=image-results") && ec2.contains("THUMBNAIL_WIDTH=320"));
    assert!(
        !ec2.lines().any(|l| l.trim_start().starts_with("API_KEY=")
            || l.trim_start().starts_with("DB_PASSWORD=")),
        "a secret is never a line of worker.env"
    );
    assert!(ec2.contains(
        "ExecStart=/usr/local/bin/qfleet-secrets /usr/bin/python3 /opt/qfleet/qfleet_worker.py"
    ));
    let function = templates("examples/lambda-access.yaml").join("\n");
    assert!(!function.contains("{{resolve:"));
    assert!(
        function
            .contains(r#"QFLEET_SECRETS: "{\"API_KEY\":\"secretsmanager:image-app/api-key\"}""#)
    );
    assert!(function.contains("RESULTS_TABLE: \"image-results\""));
    assert!(!function.contains("          API_KEY:"));
}

/// The EC2 example as shipped (its name made unique) deploys on moto: the role gets the
/// declared policy and the managed policy, and the preview says what the workers get.
#[tokio::test]
async fn the_worker_access_example_deploys_with_its_declared_policy() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-access");
    let text = std::fs::read_to_string(root().join("examples/worker-access.yaml"))
        .unwrap()
        .replace("environment: access", &format!("environment: {e}"));
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(&file, text).unwrap();
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        said.contains("the workers get allow dynamodb:PutItem, dynamodb:UpdateItem on arn:aws:dynamodb:eu-west-1:123456789012:table/image-results"),
        "{said}"
    );
    assert!(
        said.contains(
            "secrets, read when the worker starts: API_KEY from secretsmanager:image-app/api-key"
        ),
        "{said}"
    );

    let conf = moto_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let res = cfn
        .describe_stack_resource()
        .stack_name(format!("qfleet-{e}-fleet"))
        .logical_resource_id("WorkerDeclaredPolicy")
        .send()
        .await
        .expect("the declared policy is a resource of the fleet stack");
    let status = res
        .stack_resource_detail()
        .and_then(|d| d.resource_status())
        .map(|s| s.as_str().to_string());
    assert_eq!(status.as_deref(), Some("CREATE_COMPLETE"));

    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto()
        .args(["teardown", "--yes", "--purge-bucket"])
        .arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// The container example as shipped (its name made unique) deploys on moto: its launch
/// template carries the Docker bootstrap, and its role the ECR pull statement.
#[tokio::test]
async fn the_container_example_deploys_on_moto() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-container");
    let text = std::fs::read_to_string(root().join("examples/container.yaml"))
        .unwrap()
        .replace("environment: container", &format!("environment: {e}"));
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(&file, text).unwrap();
    let o = run(qfleet_on_moto().arg("deploy").arg(&file).arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let conf = moto_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let id = cfn
        .describe_stack_resource()
        .stack_name(format!("qfleet-{e}-fleet"))
        .logical_resource_id("LaunchTemplate")
        .send()
        .await
        .expect("the launch template is a resource of the fleet stack")
        .stack_resource_detail()
        .and_then(|d| d.physical_resource_id())
        .expect("its id")
        .to_string();
    // The launch template's user data as moto holds it (read with boto3: qfleet has no EC2
    // SDK client, see crates/qfleet-aws/src/ec2.rs).
    let o = run(std::process::Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import boto3, sys; print(boto3.client('ec2', region_name='eu-west-1', endpoint_url=sys.argv[1], aws_access_key_id='testing', aws_secret_access_key='testing').describe_launch_template_versions(LaunchTemplateId=sys.argv[2], Versions=['$Latest'])['LaunchTemplateVersions'][0]['LaunchTemplateData']['UserData'])",
        ])
        .arg(moto_endpoint())
        .arg(&id));
    assert!(o.status.success(), "{}", stderr(&o));
    let data = stdout(&o).trim().to_string();
    use aws_smithy_types::base64;
    let script = String::from_utf8(base64::decode(data).unwrap()).unwrap();
    assert!(script.contains("dnf install -y docker"), "{script}");
    assert!(script.contains("docker login --username AWS"));
    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto()
        .args(["teardown", "--yes", "--purge-bucket"])
        .arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
