//! Issue 38, direct mode: one stack file with two targets in two accounts and two regions. On
//! moto, which keeps one backend per account and answers AssumeRole with credentials of the
//! role's account: `deploy` assumes each target's role and creates the target's stacks in its
//! own account and region (and nowhere else), `status` shows a row per target, the name of the
//! file stands for every target, and the account guard refuses a target whose credentials are
//! of another account before anything is created.

use crate::common::*;

const EU: &str = "111111111111";
const US: &str = "222222222222";

/// Clients acting in `account` and `region`, through AssumeRole as qfleet does.
async fn cfn_in(account: &str, region: &str) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&config_in(account, region).await)
}

/// The SDK configuration of `account` and `region` on moto, through AssumeRole.
async fn config_in(account: &str, region: &str) -> aws_config::SdkConfig {
    let conf = moto_config().await;
    let sts = aws_sdk_sts::Client::new(&conf);
    let out = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/qfleet-deployer"))
        .role_session_name("tests")
        .send()
        .await
        .expect("moto assumes the role");
    let c = out.credentials().expect("credentials");
    let creds = aws_credential_types::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "assumed",
    );
    conf.into_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .region(aws_config::Region::new(region.to_string()))
        .build()
}

fn stack_file(dir: &std::path::Path, env: &str, extra: &str) -> std::path::PathBuf {
    lab_stack_file(
        dir,
        env,
        &format!(
            "accounts: ['{EU}', '{US}']\ndeploy_role: qfleet-deployer\ntargets:\n  - name: eu\n    account: '{EU}'\n  - name: us\n    account: '{US}'\n    region: us-east-1\n    workers: {{max: 3}}\n{extra}"
        ),
    )
}

#[tokio::test]
async fn each_target_is_deployed_in_its_own_account_and_region() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("tg");
    let file = stack_file(dir.path(), &e, "");
    // One preview per target, each in its own region (its account: the deploy below).
    let v = doc(
        qfleet_on_moto()
            .args(["plan", "--detailed-exitcode", "-o", "json"])
            .arg(&file),
        3,
    );
    check_schema("plan", &v);
    let previews: Vec<(&str, &str, bool)> = v["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["environment"].as_str().unwrap(),
                x["region"].as_str().unwrap(),
                x["changes_pending"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        previews,
        [
            (format!("{e}-eu").as_str(), "eu-west-1", true),
            (format!("{e}-us").as_str(), "us-east-1", true)
        ]
    );
    let v = doc(
        qfleet_on_moto()
            .args(["deploy", "--yes", "-o", "json"])
            .arg(&file),
        0,
    );
    check_schema("deploy", &v);
    let names: Vec<&str> = v["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["environment"].as_str().unwrap())
        .collect();
    assert_eq!(names, [format!("{e}-eu"), format!("{e}-us")]);

    let eu = cfn_in(EU, "eu-west-1").await;
    let us = cfn_in(US, "us-east-1").await;
    for stack in ["data", "fleet"] {
        let (in_eu, in_us) = (
            format!("qfleet-{e}-eu-{stack}"),
            format!("qfleet-{e}-us-{stack}"),
        );
        assert!(stack_exists(&eu, &in_eu).await, "{in_eu} in {EU}");
        assert!(stack_exists(&us, &in_us).await, "{in_us} in {US}");
        // Nowhere else: not in the other target's account or region, nor in the account of
        // the credentials qfleet runs with.
        assert!(!stack_exists(&eu, &in_us).await, "{in_us} not in {EU}");
        assert!(!stack_exists(&us, &in_eu).await, "{in_eu} not in {US}");
        let own = aws_sdk_cloudformation::Client::new(&moto_config().await);
        assert!(
            !stack_exists(&own, &in_eu).await,
            "{in_eu} not in 123456789012"
        );
    }

    // One name for both: status has a row per target, each found in its own account.
    let v = doc(
        qfleet_on_moto()
            .args(["status", "-o", "json", "--stacks-dir"])
            .arg(dir.path())
            .arg(&e),
        0,
    );
    check_schema("status", &v);
    let rows = v["environments"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v:#}");
    for (row, region) in rows.iter().zip(["eu-west-1", "us-east-1"]) {
        assert_eq!(row["region"], region, "{row:#}");
        let stacks = row["stacks"].as_array().unwrap();
        assert_eq!(stacks.len(), 2, "{row:#}");
        assert!(stacks.iter().all(|s| s["exists"] == true), "{row:#}");
    }
    // And one target alone by its environment's name.
    let v = doc(
        qfleet_on_moto()
            .args(["status", "-o", "json", "--stacks-dir"])
            .arg(dir.path())
            .arg(format!("{e}-us")),
        0,
    );
    assert_eq!(v["environments"].as_array().unwrap().len(), 1);

    // --region cannot move a target.
    let o = run(qfleet_on_moto()
        .args(["status", "--region", "eu-central-1"])
        .arg(&file));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // It names the target and the file that makes it, which is what was typed.
    assert!(
        stderr(&o).contains(&format!(
            "--region does not go with {e}-eu, a target of {}",
            file.display()
        )),
        "{}",
        stderr(&o)
    );
}

#[tokio::test]
async fn a_target_whose_credentials_are_of_another_account_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("tg-guard");
    // No role: the target would be deployed with the credentials qfleet runs with (moto's
    // 123456789012), which are not of the target's account.
    let file = lab_stack_file(
        dir.path(),
        &e,
        &format!("targets:\n  - name: eu\n    account: '{EU}'\n"),
    );
    let o = run(qfleet_on_moto().args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains(EU), "{}", stderr(&o));
    let own = aws_sdk_cloudformation::Client::new(&moto_config().await);
    assert!(!stack_exists(&own, &format!("qfleet-{e}-eu-data")).await);
    assert!(
        !stack_exists(
            &cfn_in(EU, "eu-west-1").await,
            &format!("qfleet-{e}-eu-data")
        )
        .await
    );
    // Nor is anything read there: "not deployed" from another account would mislead, and its
    // outputs would hand a pipeline another environment's queue.
    let v = doc(
        qfleet_on_moto().args(["status", "-o", "json"]).arg(&file),
        4,
    );
    check_schema("status", &v);
    let row = &v["environments"][0];
    assert_eq!(row["error"]["kind"], "refused", "{row:#}");
    assert!(
        row["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["exists"].is_null()),
        "{row:#}"
    );
    for command in [&["outputs"][..], &["logs"][..]] {
        let o = run(qfleet_on_moto().args(command).arg(&file));
        assert_eq!(o.status.code(), Some(4), "{command:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(EU), "{command:?}: {}", stderr(&o));
    }
}

/// Waves on moto, whose CloudWatch the Rust SDK cannot read (HTTP 404; see docs/local-aws.md):
/// the canary is deployed, its alarms cannot be read, and the rollout stops there (fail closed)
/// with the second wave untouched; `--resume` passes the canary, deployed already with a bake of
/// 0s, and finishes the rollout. The alarms' verdicts themselves are covered by the mocked tests of
/// src/placement/waves.
#[tokio::test]
async fn a_rollout_stops_after_the_canary_when_its_alarms_cannot_be_read_and_resume_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("tg-wave");
    let file = lab_stack_file(
        dir.path(),
        &e,
        "rollout: {bake: 0s}\ntargets:\n  - name: canary\n  - name: us\n    region: us-east-1\n    wave: 2\n",
    );
    let v = doc(
        qfleet_on_moto()
            .args(["deploy", "--yes", "-o", "json"])
            .arg(&file),
        4,
    );
    check_schema("deploy", &v);
    let envs = v["environments"].as_array().unwrap();
    let error = |i: usize| {
        envs[i]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        error(0).contains("its alarms could not be read"),
        "{}",
        error(0)
    );
    assert!(error(0).contains("--resume"), "{}", error(0));
    assert!(
        error(1).contains("not deployed: the rollout stopped at wave 1"),
        "{}",
        error(1)
    );
    let own = aws_sdk_cloudformation::Client::new(&moto_config().await);
    let us = aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(&moto_config().await)
            .region(aws_config::Region::new("us-east-1"))
            .build(),
    );
    assert!(stack_exists(&own, &format!("qfleet-{e}-canary-data")).await);
    assert!(
        !stack_exists(&us, &format!("qfleet-{e}-us-data")).await,
        "wave 2 untouched"
    );

    let o = run(qfleet_on_moto()
        .args(["deploy", "--yes", "--resume"])
        .arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Its bake is 0s: nothing to wait for, passed without a look.
    assert!(
        stderr(&o).contains(&format!(
            "wave 1: {e}-canary passed without a look at its alarms: deployed already, its bake is 0s (--resume)"
        )),
        "{}",
        stderr(&o)
    );
    assert!(stack_exists(&us, &format!("qfleet-{e}-us-data")).await);
    assert!(stack_exists(&us, &format!("qfleet-{e}-us-fleet")).await);
}

/// Teardown across accounts keeps its rule in each: the target whose bucket holds an object
/// is refused and keeps everything; the other is torn down in its own account and region.
#[tokio::test]
async fn a_teardown_of_every_target_decides_in_each_account_on_its_own_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("tg-down");
    let file = stack_file(dir.path(), &e, "");
    doc(
        qfleet_on_moto()
            .args(["deploy", "--yes", "-o", "json"])
            .arg(&file),
        0,
    );
    let us_conf = config_in(US, "us-east-1").await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&us_conf)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("{e}-us-uploads-{US}-us-east-1");
    put_object(&s3, &bucket, "uploads/a.txt", b"hello").await;
    moto_detach_role_policies_in(Some(EU), &[&format!("{e}-eu")]);
    moto_detach_role_policies_in(Some(US), &[&format!("{e}-us")]);

    let v = doc(
        qfleet_on_moto()
            .args(["teardown", "--yes", "-o", "json"])
            .arg(&file),
        4,
    );
    check_schema("teardown", &v);
    let envs = v["environments"].as_array().unwrap();
    assert_eq!(envs[0]["exit_code"], 0, "{:#}", envs[0]);
    assert_eq!(envs[1]["exit_code"], 4, "{:#}", envs[1]);
    assert!(
        envs[1]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&bucket),
        "{:#}",
        envs[1]
    );
    let (eu, us) = (cfn_in(EU, "eu-west-1").await, cfn_in(US, "us-east-1").await);
    for stack in ["data", "fleet"] {
        assert!(!stack_exists(&eu, &format!("qfleet-{e}-eu-{stack}")).await);
        assert!(
            stack_exists(&us, &format!("qfleet-{e}-us-{stack}")).await,
            "nothing deleted there"
        );
    }
}
