//! GPU workers on moto's server, with a stand-in for Service Quotas (moto answers no EC2
//! quota): the account's quota is checked before any change. A quota below what the fleet
//! needs at workers.max is refused, exit 4, naming the quota, its code and the vCPUs needed,
//! and no stack is created; `--over-quota` deploys the GPU example anyway.
//!
//! moto's Parameter Store has no Deep Learning AMI parameter and refuses to store names under
//! `/aws/`, so the file names an AMI id (moto's Amazon Linux 2023); the render tests check the
//! default image.

use crate::common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// A stand-in Service Quotas endpoint (AWS JSON 1.1): every ListServiceQuotas of `ec2` gets
/// the G and VT On-Demand quota at `applied` vCPUs (none: no applied value, so it is not
/// listed), and ListAWSDefaultServiceQuotas at `default`, one page each
/// (<https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ListServiceQuotas.html>,
/// <https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ListAWSDefaultServiceQuotas.html>).
/// Returns its URL; it serves until the test process ends.
fn quotas_standing_in(applied: Option<f64>, default: f64) -> String {
    quotas_counted(applied, default).0
}

/// [`quotas_standing_in`], and the count of the requests it has answered.
fn quotas_counted(
    applied: Option<f64>,
    default: f64,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            let mut target = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("x-amz-target:") {
                    target = line.trim().to_string();
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let value = match target.rsplit('.').next() {
                Some("ListServiceQuotas") => applied,
                Some("ListAWSDefaultServiceQuotas") => Some(default),
                _ => None,
            };
            let listed = target.ends_with("ServiceQuotasV20190624.ListServiceQuotas")
                || target.ends_with("ServiceQuotasV20190624.ListAWSDefaultServiceQuotas");
            let answer = if !listed {
                r#"{"__type":"UnknownOperationException","message":"not stood in for"}"#.into()
            } else if value.is_none() {
                r#"{"Quotas":[]}"#.to_string()
            } else {
                serde_json::json!({"Quotas": [{
                    "ServiceCode": "ec2",
                    "QuotaName": "Running On-Demand G and VT instances",
                    "QuotaCode": "L-DB2E81BA",
                    "Value": value.unwrap_or_default(),
                    "Unit": "None",
                    "UsageMetric": {
                        "MetricNamespace": "AWS/Usage",
                        "MetricName": "ResourceCount",
                        "MetricDimensions": {"Service": "EC2", "Type": "Resource",
                                             "Resource": "vCPU", "Class": "G/OnDemand"},
                        "MetricStatisticRecommendation": "Maximum"
                    }
                }]})
                .to_string()
            };
            let status = if answer.contains("Quotas") {
                "200 OK"
            } else {
                "400 Bad Request"
            };
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, count)
}

/// The GPU example as a test environment: its workers and scaling, moto's AMI.
fn gpu_file(dir: &std::path::Path, env: &str) -> std::path::PathBuf {
    let ami = moto_ami();
    let example = std::fs::read_to_string(root().join("examples/gpu.yaml")).unwrap();
    let body = example
        .replace("environment: gpu\n", &format!("environment: {env}\n"))
        .replace("region: us-east-1\n", "region: eu-west-1\n")
        .replace("us-east-1.amazonaws.com", "eu-west-1.amazonaws.com")
        .replace("  gpu:\n", &format!("  ami: {ami}\n  gpu:\n"));
    let p = dir.join(format!("{env}.yaml"));
    std::fs::write(&p, body).unwrap();
    p
}

/// An AMI id moto launches: its Amazon Linux 2023 one, read from its Parameter Store.
fn moto_ami() -> String {
    let o = run(std::process::Command::new(root().join(".venv/bin/python"))
        .arg("-c")
        .arg("import boto3,sys;print(boto3.client('ssm',region_name='eu-west-1',endpoint_url=sys.argv[1],aws_access_key_id='testing',aws_secret_access_key='testing').get_parameter(Name='/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64')['Parameter']['Value'])")
        .arg(moto_endpoint()));
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).trim().to_string()
}

#[tokio::test]
async fn a_gpu_fleet_over_the_accounts_quota_is_refused_by_plan_and_deploy_before_any_change_then_deploys_with_over_quota()
 {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-gpu");
    let file = gpu_file(dir.path(), &e);
    // An account still at AWS's default of 0 G vCPUs: ListServiceQuotas leaves the quota
    // out, AWS's default list has it.
    let fresh = quotas_standing_in(None, 0.0);
    let o = run(qfleet_on_moto()
        .env("AWS_ENDPOINT_URL_SERVICE_QUOTAS", &fresh)
        .args(["plan"])
        .arg(&file));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(
        err.contains("AWS's default") && err.contains("holds 0 of them"),
        "{err}"
    );
    // 8 vCPUs of G: workers.max 4 × 4 vCPUs (g6.xlarge, g5.xlarge) need 16.
    let quotas = quotas_standing_in(Some(8.0), 0.0);
    let o = run(qfleet_on_moto()
        .env("AWS_ENDPOINT_URL_SERVICE_QUOTAS", &quotas)
        .args(["deploy", "--yes"])
        .arg(&file));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    for said in [
        "Running On-Demand G and VT instances",
        "L-DB2E81BA",
        "16 vCPUs",
        "nothing was changed",
        "--over-quota",
    ] {
        assert!(err.contains(said), "{said}: {err}");
    }
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    for stack in ["data", "fleet"] {
        assert!(
            !stack_exists(&cfn, &format!("qfleet-{e}-{stack}")).await,
            "{stack}"
        );
    }
    // `--yes` answers questions; only --over-quota goes on.
    let o = run(qfleet_on_moto()
        .env("AWS_ENDPOINT_URL_SERVICE_QUOTAS", &quotas)
        .args(["deploy", "--yes", "--over-quota"])
        .arg(&file));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("WARNING") && err.contains("L-DB2E81BA"),
        "{err}"
    );
    assert!(stack_exists(&cfn, &format!("qfleet-{e}-fleet")).await);

    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto()
        .args(["teardown", "--yes", "--purge-bucket"])
        .arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Two copies of the GPU fleet, each within the account's quota alone (16 vCPUs of 24), not
/// together (32): a plan of the file refuses them before any change, naming both, and the
/// quota's holding (issue 86, item 3).
#[test]
fn copies_that_each_fit_the_quota_alone_are_refused_together_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-gpus");
    let file = gpu_file(dir.path(), &e);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}copies: 2\n")).unwrap();
    let quotas = quotas_standing_in(Some(24.0), 0.0);
    let o = run(qfleet_on_moto()
        .env("AWS_ENDPOINT_URL_SERVICE_QUOTAS", &quotas)
        .args(["plan"])
        .arg(&file));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    for said in [
        format!("qfleet-{e}-01-fleet 4 instances"),
        format!("qfleet-{e}-02-fleet 4 instances"),
        "32 vCPUs".into(),
        "with this deploy's other fleets in eu-west-1".into(),
        "--over-quota".into(),
    ] {
        assert!(err.contains(&said), "{said}: {err}");
    }
}

/// The quota of a run's fleets together is read once for all the fleets of a place, not once
/// for each: N copies cost N reads of their own quotas and one of them together. Counted at
/// the stand-in: a third copy costs what one fleet alone costs, nothing more.
#[test]
fn the_fleets_of_a_place_read_the_quotas_they_share_once() {
    let dir = tempfile::tempdir().unwrap();
    let reads = |copies: u32| {
        let e = unique(&format!("gpuq{copies}"));
        let file = gpu_file(dir.path(), &e);
        if copies > 1 {
            let text = std::fs::read_to_string(&file).unwrap();
            std::fs::write(&file, format!("{text}copies: {copies}\n")).unwrap();
        }
        let (quotas, count) = quotas_counted(Some(1000.0), 0.0);
        let o = run(qfleet_on_moto()
            .env("AWS_ENDPOINT_URL_SERVICE_QUOTAS", &quotas)
            .args(["plan", "--concurrency", "1"])
            .arg(&file));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        count.load(std::sync::atomic::Ordering::SeqCst)
    };
    let (one, two, three) = (reads(1), reads(2), reads(3));
    assert!(one > 0, "a fleet reads its quota");
    assert!(two > 2 * one, "two copies read their sum too: {one}, {two}");
    assert_eq!(
        three - two,
        one,
        "a third copy adds its own reads only: {one}, {two}, {three}"
    );
}
