//! IAM proven in both directions, with an IAM policy evaluator (iam-rs):
//! - every AWS call qfleet makes in deploy, plan, outputs, status, drift and teardown (read
//!   from its request log against moto's server) is listed in `qfleet::iam::calls` and
//!   allowed by the policy `qfleet iam-policy` prints for the environment;
//! - every AWS call the reference worker makes in its own tests is allowed by the worker
//!   policy of the rendered fleet template, and every action that policy grants is used by a
//!   call or justified here.

use crate::common::*;
use iam_rs::{Arn, Context, ContextValue, Decision, IAMPolicy, IAMRequest, Principal, PrincipalId};
use serde_json::Value;
use std::collections::BTreeSet;

pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) const REGION: &str = "eu-west-1";

/// One AWS request from qfleet's request log (`--debug`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Logged {
    service: String,
    operation: String,
    target: Option<String>,
}

/// Reads `SERVICE.Operation [TARGET] OUTCOME in N ms (attempt K)` lines.
fn logged_calls(stderr: &str) -> BTreeSet<Logged> {
    let mut out = BTreeSet::new();
    for line in stderr.lines() {
        let Some((_, rest)) = line.split_once(" DEBUG ") else {
            continue;
        };
        let Some((service, rest)) = rest.split_once('.') else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let Some(operation) = words.next() else {
            continue;
        };
        let target = words
            .next()
            .filter(|w| {
                !(w.chars().all(|c| c.is_ascii_digit())
                    || ["HTTP", "failed:", "no", "ok"].contains(w))
            })
            .map(str::to_string);
        out.insert(Logged {
            service: service.to_string(),
            operation: operation.to_string(),
            target,
        });
    }
    out
}

/// The ARN AWS authorizes `action` against for a request naming `target`.
fn resource_arn(action: &str, target: Option<&str>) -> String {
    let service = action.split(':').next().unwrap();
    let Some(t) = target else {
        if action == "cloudwatch:DescribeAlarms" {
            // CloudWatch's RPC v2 body (CBOR) is not read by the request log; AWS authorizes
            // DescribeAlarms on the alarms it names (CloudWatch's IAM documentation).
            return format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:qfleet-some-alarm");
        }
        // A request that names nothing is authorized on "*": only a grant on any resource of
        // the service covers it.
        return format!("arn:aws:{service}:{REGION}:{ACCOUNT}:qfleet-unnamed-resource");
    };
    if let Some(named) = t.strip_prefix("s3://") {
        let on_objects = qfleet::iam::reference::get()
            .unwrap()
            .resource_types(action)
            .is_some_and(|types| types.iter().any(|t| t == "object"));
        let (bucket, key) = named.split_once('/').unwrap_or((named, ""));
        return if on_objects && !key.is_empty() {
            // The object the request named.
            format!("arn:aws:s3:::{bucket}/{key}")
        } else if on_objects && bucket.ends_with(&format!("-code-{ACCOUNT}-{REGION}")) {
            // qfleet's code bucket holds only its packages (teardown refuses anything else).
            format!("arn:aws:s3:::{bucket}/lambda/{}.zip", "0a".repeat(32))
        } else if on_objects {
            format!("arn:aws:s3:::{bucket}/uploads/some-object")
        } else {
            format!("arn:aws:s3:::{bucket}")
        };
    }
    if t.starts_with("https://") || t.starts_with("http://") {
        let name = t.rsplit('/').next().unwrap();
        return format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}");
    }
    if t.starts_with("arn:aws:sns:") {
        // A subscription's ARN is its topic's ARN and an id.
        return t.split(':').take(6).collect::<Vec<_>>().join(":");
    }
    if t.starts_with("arn:") {
        return t.to_string();
    }
    match service {
        "cloudformation" => format!(
            "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{t}/0f0e0d0c-0000-4000-8000-000000000000"
        ),
        "autoscaling" => format!(
            "arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:0f0e0d0c-0000-4000-8000-000000000000:autoScalingGroupName/{t}"
        ),
        "sqs" => format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{t}"),
        "logs" => format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{t}:*"),
        "lambda" => match t.strip_prefix("event-source-mapping:") {
            Some(id) => format!("arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{id}"),
            None => format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{t}"),
        },
        "ecr" => format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{t}"),
        _ => panic!("no ARN for {action} on {t}"),
    }
}

pub(crate) fn policies(docs: &[Value]) -> Vec<IAMPolicy> {
    docs.iter()
        .map(|d| IAMPolicy::from_json(&d.to_string()).unwrap_or_else(|e| panic!("{e}: {d}")))
        .collect()
}

pub(crate) fn decide(
    policies: &[IAMPolicy],
    action: &str,
    arn: &str,
    context: Context,
) -> Decision {
    let request = IAMRequest::new_with_context(
        Principal::Aws(PrincipalId::String(format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci"
        ))),
        action,
        Arn::parse(arn).unwrap_or_else(|e| panic!("{arn}: {e:?}")),
        context,
    );
    iam_rs::evaluate_policies(policies, &request).unwrap_or_else(|e| panic!("{action}: {e:?}"))
}

/// Every call in `calls` that `docs` does not allow, with why.
fn denied(calls: &BTreeSet<Logged>, docs: &[Value]) -> Vec<String> {
    let policies = policies(docs);
    let mut out = Vec::new();
    for c in calls {
        if c.service.eq_ignore_ascii_case("sts") {
            continue; // GetCallerIdentity needs no permission.
        }
        let Some(known) = qfleet::iam::calls::find(&c.service, &c.operation) else {
            out.push(format!(
                "{}.{} is not listed in crates/qfleet-engine/src/iam/calls.rs",
                c.service, c.operation
            ));
            continue;
        };
        for action in known.actions {
            let arn = resource_arn(action, c.target.as_deref());
            let d = decide(&policies, action, &arn, Context::new());
            if d != Decision::Allow {
                out.push(format!(
                    "{}.{} needs {action} on {arn}: {d:?}",
                    c.service, c.operation
                ));
            }
        }
    }
    out
}

/// What one run of every command left: the policy `qfleet iam-policy` printed for the first
/// variant of the stack file, the request log, and each worker role CloudFormation passed to a
/// service (`iam:PassRole` when it creates the instance profile's launch template or the
/// function): its ARN and the service.
struct Run {
    docs: Vec<Value>,
    log: String,
    passed_roles: Vec<(String, &'static str)>,
}

/// Runs plan, deploy, outputs, status and drift on moto for each `workers` variant of one
/// environment's stack file in turn (a later variant switches `workers.kind` in place), then
/// teardown. The policy is printed for the first variant, before anything is deployed.
async fn run_every_command(e: &str, variants: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{e}.yaml"));
    let write = |workers: &str| {
        std::fs::write(
            &file,
            format!("environment: {e}\nregion: {REGION}\nlab: true\n{workers}"),
        )
        .unwrap()
    };
    write(variants[0]);
    let docs = printed_policy(&file);

    let conf = moto_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let mut log = String::new();
    let mut passed_roles = Vec::new();
    let mut step = |args: &[&str], ok: &[i32]| {
        let o = run(qfleet_on_moto().args(args).arg(&file).arg("--debug"));
        assert!(
            ok.contains(&o.status.code().unwrap_or(-1)),
            "{args:?}: {}",
            stderr(&o)
        );
        log.push_str(&stderr(&o));
    };
    for (i, workers) in variants.iter().enumerate() {
        if i > 0 {
            // The switch deletes the other kind's role (moto cannot while policies are attached).
            moto_detach_role_policies(&[e]);
        }
        write(workers);
        step(&["plan"], &[0, 3]);
        step(&["deploy", "--yes"], &[0]);
        step(&["deploy", "--yes"], &[0]);
        step(&["outputs"], &[0]);
        step(&["status"], &[0, 1]);
        // moto answers drift detection with HTTP 500: drift exits 1 after its calls.
        step(&["drift"], &[0, 1, 3]);
        let service = if workers.contains("kind: lambda") {
            "lambda.amazonaws.com"
        } else {
            "ec2.amazonaws.com"
        };
        let resources = cfn
            .list_stack_resources()
            .stack_name(format!("qfleet-{e}-fleet"))
            .send()
            .await
            .unwrap();
        let roles: Vec<String> = resources
            .stack_resource_summaries()
            .iter()
            .filter(|r| r.resource_type() == Some("AWS::IAM::Role"))
            .filter_map(|r| r.physical_resource_id())
            .map(|name| format!("arn:aws:iam::{ACCOUNT}:role/{name}"))
            .collect();
        assert_eq!(roles.len(), 1, "{workers}: {resources:?}");
        passed_roles.extend(roles.into_iter().map(|r| (r, service)));
    }
    let s3 = aws_sdk_s3::Client::new(&conf);
    let bucket = format!("{e}-uploads-{ACCOUNT}-{REGION}");
    put_object(&s3, &bucket, "processed/a.txt", b"a").await;
    step(&["teardown", "--yes"], &[4]);
    moto_detach_role_policies(&[e]);
    step(
        &["teardown", "--yes", "--purge-bucket", "--discard-messages"],
        &[0],
    );
    Run {
        docs,
        log,
        passed_roles,
    }
}

/// The worker roles CloudFormation passed that `docs` does not let the deployer pass.
/// iam:PassRole is authorized on the role with the service it goes to in
/// `iam:PassedToService` (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html>):
/// EC2 for an instance profile's role, Lambda for a function's execution role
/// (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html>).
fn roles_not_passable(passed: &[(String, &str)], docs: &[Value]) -> Vec<String> {
    let policies = policies(docs);
    passed
        .iter()
        .filter_map(|(role, service)| {
            let mut context = Context::new();
            context.insert(
                "iam:PassedToService".to_string(),
                ContextValue::String(service.to_string()),
            );
            let d = decide(&policies, "iam:PassRole", role, context);
            (d != Decision::Allow).then(|| format!("iam:PassRole {role} to {service}: {d:?}"))
        })
        .collect()
}

const EC2_WORKERS: &str = "workers:\n  min: 1\n  max: 2\n  public_ip: true\n";
/// `deployment: direct`: moto has no AWS::Lambda::Alias (common::MOTO_LAMBDA).
const LAMBDA_WORKERS: &str = "workers:\n  kind: lambda\n  lambda:\n    deployment: direct\n";

/// docs/iam.md promises one policy for both kinds of workers: the policy printed for an EC2
/// environment covers every call of deploying it, switching it to a Lambda function in place
/// (same name, `workers.kind: lambda`) and tearing that down, and passing each worker role to
/// the service that runs it.
#[tokio::test]
async fn every_call_qfleet_makes_is_allowed_by_the_policy_iam_policy_prints() {
    let ec2 = unique("iam");
    let Run {
        docs,
        log,
        passed_roles,
    } = run_every_command(&ec2, &[EC2_WORKERS, LAMBDA_WORKERS]).await;
    let fun = unique("iamfn");
    let fn_run = run_every_command(&fun, &[LAMBDA_WORKERS]).await;
    let fn_calls = logged_calls(&fn_run.log);
    assert!(
        fn_calls.iter().any(|c| c.operation == "GetFunction"),
        "{fn_calls:?}"
    );
    assert_allowed(&fn_calls, &fn_run.docs, "calls of a function environment");
    let refused = roles_not_passable(&fn_run.passed_roles, &fn_run.docs);
    assert!(refused.is_empty(), "{}", refused.join("\n"));

    // The EC2 environment switched to a function: its function calls were logged too, and the
    // EC2 policy passes both kinds' roles.
    let calls = logged_calls(&log);
    assert!(
        calls.iter().any(|c| c.operation == "GetFunction"),
        "{calls:?}"
    );
    let services: BTreeSet<&str> = passed_roles.iter().map(|(_, s)| *s).collect();
    assert_eq!(
        services,
        BTreeSet::from(["ec2.amazonaws.com", "lambda.amazonaws.com"])
    );
    let refused = roles_not_passable(&passed_roles, &docs);
    assert!(
        refused.is_empty(),
        "worker roles the EC2 environment's policy does not let CloudFormation pass:\n{}",
        refused.join("\n")
    );
    // The evaluator can say no: a role of another environment, or to another service.
    let other = [
        (
            format!("arn:aws:iam::{ACCOUNT}:role/qfleet-other-fleet-WorkerRole-1A2B"),
            "ec2.amazonaws.com",
        ),
        (passed_roles[0].0.clone(), "cloudformation.amazonaws.com"),
    ];
    assert_eq!(roles_not_passable(&other, &docs).len(), 2);
    let ops: BTreeSet<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
    for must in [
        "CreateChangeSet",
        "ExecuteChangeSet",
        "DescribeStackEvents",
        "GetQueueAttributes",
        "ListObjectVersions",
        "DeleteObjects",
        "DescribeAutoScalingGroups",
        "DetectStackDrift",
        "DeleteStack",
    ] {
        assert!(
            ops.contains(must),
            "{must} was not seen in the log: {ops:?}"
        );
    }
    assert_allowed(&calls, &docs, "calls");

    // The evaluator can say no: without the statements on the environment's stacks (`Stacks`,
    // `Stacks2`, …: one per set of stack ARNs), the CloudFormation calls are refused.
    let without_stacks: Vec<Value> = docs
        .iter()
        .map(|d| {
            let mut d = d.clone();
            let kept: Vec<Value> = d["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| {
                    !s["Sid"]
                        .as_str()
                        .is_some_and(|sid| sid.starts_with("Stacks"))
                })
                .cloned()
                .collect();
            d["Statement"] = Value::Array(kept);
            d
        })
        .collect();
    let refused = denied(&calls, &without_stacks);
    assert!(
        refused
            .iter()
            .any(|r| r.contains("cloudformation:CreateChangeSet")),
        "{refused:?}"
    );
}

/// A function with a deployment package (examples/lambda-deps): the printed policy allows
/// every call of deploying it, uploading its package (PutObject after a HeadObject), a
/// redeploy that finds the package there, and a teardown that empties the code bucket; and
/// nothing broader: S3 objects of the code bucket only under `lambda/`, and no grant on a code
/// bucket at all for an environment whose function is inline.
#[tokio::test]
async fn a_packaged_functions_upload_and_cleanup_are_allowed_and_nothing_broader() {
    let e = unique("iampkg");
    let workers = format!(
        "queue:\n  visibility_timeout: 2m\nworkers:\n  kind: lambda\n  lambda:\n    code: {}\n    handler: job.handler\n    timeout: 20s\n{MOTO_LAMBDA}",
        root().join("examples/lambda-deps").display()
    );
    let Run {
        docs,
        log,
        passed_roles,
    } = run_every_command(&e, &[&workers]).await;
    let calls = logged_calls(&log);
    let code_bucket = format!("s3://{e}-code-{ACCOUNT}-{REGION}");
    for op in [
        "HeadObject",
        "PutObject",
        "ListObjectVersions",
        "DeleteObjects",
    ] {
        assert!(
            calls.iter().any(|c| {
                c.operation == op
                    && c.target.as_deref().is_some_and(|t| {
                        t == code_bucket || t.starts_with(&format!("{code_bucket}/"))
                    })
            }),
            "{op} on {code_bucket} was not seen: {calls:?}"
        );
    }
    assert_allowed(&calls, &docs, "calls");
    assert!(roles_not_passable(&passed_roles, &docs).is_empty());

    // CloudFormation reads the package with the deployer's credentials (AWS::Lambda::Function's
    // handler permissions: s3:GetObject), on the package's key.
    let policies = policies(&docs);
    let bucket = format!("{e}-code-{ACCOUNT}-{REGION}");
    let package = format!("arn:aws:s3:::{bucket}/lambda/{}.zip", "0a".repeat(32));
    for action in ["s3:GetObject", "s3:PutObject", "s3:DeleteObjectVersion"] {
        assert_eq!(
            decide(&policies, action, &package, Context::new()),
            Decision::Allow,
            "{action}"
        );
    }
    // Nothing broader: other keys of the code bucket, another environment's code bucket.
    for (action, arn) in [
        ("s3:PutObject", format!("arn:aws:s3:::{bucket}/other/x.zip")),
        (
            "s3:DeleteObject",
            format!("arn:aws:s3:::{bucket}/notes.txt"),
        ),
        (
            "s3:PutObject",
            format!("arn:aws:s3:::other-code-{ACCOUNT}-{REGION}/lambda/x.zip"),
        ),
    ] {
        assert_ne!(
            decide(&policies, action, &arn, Context::new()),
            Decision::Allow,
            "{action} on {arn}"
        );
    }
    // An inline function's policy names no code bucket.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inline.yaml");
    std::fs::write(
        &file,
        format!("environment: {e}\nregion: {REGION}\nlab: true\n{LAMBDA_WORKERS}"),
    )
    .unwrap();
    let printed = policy_printed(&file, ACCOUNT).to_string();
    assert!(!printed.contains(&bucket), "{printed}");
}

/// A function from a container image: every call of qfleet's commands on moto is allowed by
/// the printed policy, and the evaluator allows what Lambda checks on the deployer when it
/// creates or updates the function (ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the
/// image's repository; Lambda developer guide, "Amazon ECR permissions",
/// https://docs.aws.amazon.com/lambda/latest/dg/images-create.html) and nothing broader: not on
/// another repository, not ecr:SetRepositoryPolicy. Lambda makes those ECR calls server-side,
/// so they are not in qfleet's request log: they are decided here by the evaluator.
#[tokio::test]
async fn an_image_functions_ecr_reads_are_allowed_on_its_repository_only() {
    let e = unique("iamimg");
    let repo = format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/resizer");
    let workers = format!(
        "workers:\n  kind: lambda\n  lambda:\n    image: {ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/resizer@sha256:{}\n{MOTO_LAMBDA}",
        "0a".repeat(32)
    );
    let Run {
        docs,
        log,
        passed_roles,
    } = run_every_command(&e, &[&workers]).await;
    assert_allowed(&logged_calls(&log), &docs, "calls");
    assert!(roles_not_passable(&passed_roles, &docs).is_empty());

    let policies = policies(&docs);
    let allowed =
        |action: &str, arn: &str| decide(&policies, action, arn, Context::new()) == Decision::Allow;
    for action in ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"] {
        assert!(allowed(action, &repo), "{action} on {repo}");
        let other = format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/other");
        assert!(!allowed(action, &other), "{action} on {other}");
    }
    for action in [
        "ecr:SetRepositoryPolicy",
        "ecr:GetRepositoryPolicy",
        "ecr:BatchDeleteImage",
        "ecr:PutImage",
    ] {
        assert!(!allowed(action, &repo), "{action} on {repo}");
    }
    // Both names the function may have: a switch deletes the other one.
    for name in [
        format!("qfleet-{e}-worker-image"),
        format!("qfleet-{e}-worker"),
    ] {
        let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}");
        for action in ["lambda:CreateFunction", "lambda:DeleteFunction"] {
            assert!(allowed(action, &arn), "{action} on {arn}");
        }
    }
}

/// The folder of the shipped Python code and its tests.
const PYTHON: &str = "crates/qfleet-runtime/python";

/// The names the shipped Python code's tests give their resources, as environment `e`'s
/// (each test file reads those it uses: `QFLEET_TEST_*`).
fn resource_names(e: &str) -> [(&'static str, String); 10] {
    [
        (
            "QFLEET_TEST_BUCKET",
            format!("{e}-uploads-{ACCOUNT}-{REGION}"),
        ),
        ("QFLEET_TEST_QUEUE", format!("qfleet-{e}-jobs")),
        ("QFLEET_TEST_PRIORITY_QUEUE", format!("qfleet-{e}-priority")),
        ("QFLEET_TEST_ASG", format!("qfleet-{e}-workers")),
        ("QFLEET_TEST_STACK", format!("qfleet-{e}-fleet")),
        ("QFLEET_TEST_CLUSTER", format!("qfleet-{e}")),
        (
            "QFLEET_TEST_TABLE",
            format!("qfleet-{e}-data-JobTable-1A2B3C4D5E6F"),
        ),
        ("QFLEET_TEST_DATA_STACK", format!("qfleet-{e}-data")),
        ("QFLEET_TEST_RESPONSES", format!("qfleet-{e}-responses")),
        (
            "QFLEET_TEST_LEASE_TABLE",
            format!("qfleet-{e}-data-JobLeaseTable-6F5E4D3C2B1A"),
        ),
    ]
}

/// What the tests of one piece of the shipped Python code (test files of [`PYTHON`]) recorded:
/// one JSON object per AWS call.
fn recorded_calls(tests: &[&str], file: &std::path::Path, e: &str) -> Vec<Value> {
    let python = root().join(".venv/bin/python");
    let mut cmd = std::process::Command::new(&python);
    cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .args(tests.iter().map(|t| root().join(PYTHON).join(t)))
        .env("QFLEET_RECORD_CALLS", file)
        .current_dir(root());
    cmd.envs(resource_names(e));
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    assert!(
        o.status.success(),
        "the tests {tests:?} failed:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A policy of the environment's rendered fleet template (`logical` is the policy resource),
/// with `!Sub`'s pseudo parameters resolved for the emulator's account and region.
pub(crate) fn rendered_policy(file: &std::path::Path, fleet_stack: &str, logical: &str) -> Value {
    let v = rendered(file);
    let template = v["environments"][0]["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "fleet")
        .unwrap()["template"]
        .as_str()
        .unwrap()
        .to_string();
    let resolved = template
        .replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", REGION)
        .replace("${AWS::AccountId}", ACCOUNT)
        .replace("${AWS::StackName}", fleet_stack)
        .replace("!Sub ", "");
    // The log group's Arn attribute, as CloudFormation documents it (it ends in `:*`).
    let env = fleet_stack
        .trim_start_matches("qfleet-")
        .trim_end_matches("-fleet");
    let resolved = resolved.replace(
        "!GetAtt WorkerFunctionLogGroup.Arn",
        &format!("\"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/qfleet-{env}-worker:*\""),
    );
    let resolved = resolved.replace(
        "!GetAtt BacklogPublisherLogGroup.Arn",
        &format!("\"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/qfleet/{env}/backlog-metric:*\""),
    );
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&resolved).unwrap();
    let policy = &doc["Resources"][logical]["Properties"]["PolicyDocument"];
    assert!(!policy.is_null(), "no {logical} in the fleet template");
    serde_json::to_value(policy).unwrap()
}

/// Why a granted action no recorded call uses stays, or why a test's calls are meant to fail.
type Reasons = &'static [(&'static str, &'static str)];

/// Checks every recorded call against `policy` with the evaluator; every granted action must be
/// used by a call or be in `justified`. Returns the calls that were checked.
fn check_calls(
    policy: &Value,
    calls: &[Value],
    justified: Reasons,
    expected_refusals: Reasons,
) -> Vec<Value> {
    let policies = policies(std::slice::from_ref(policy));
    let mut refused = Vec::new();
    let mut used = BTreeSet::new();
    let mut checked = Vec::new();
    for c in calls {
        let test = c["test"].as_str().unwrap();
        if expected_refusals.iter().any(|(t, _)| test.ends_with(t)) {
            continue;
        }
        let action = c["action"].as_str().unwrap();
        let arn = c["resource"].as_str().unwrap();
        let d = decide(&policies, action, arn, context_of(c));
        used.insert(action.to_string());
        if d != Decision::Allow {
            refused.push(format!("{test} ({}): {action} on {arn}: {d:?}", c["call"]));
        }
        checked.push(c.clone());
    }
    assert!(
        refused.is_empty(),
        "calls the rendered policy does not allow:\n{}",
        refused.join("\n")
    );
    let granted: BTreeSet<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(v) => v.iter().map(|a| a.as_str().unwrap().to_string()).collect(),
            _ => vec![],
        })
        .collect();
    let unused: Vec<&String> = granted
        .iter()
        .filter(|a| !used.contains(*a) && !justified.iter().any(|(j, _)| j == a))
        .collect();
    assert!(
        unused.is_empty(),
        "granted but used by no call (remove, or justify it in the test): {unused:?}"
    );
    checked
}

/// A recorded call's condition keys: a string, or a list (a multi-valued key such as
/// `dynamodb:Attributes`).
fn context_of(call: &Value) -> Context {
    let mut context = Context::new();
    if let Some(obj) = call["context"].as_object() {
        for (k, v) in obj {
            let value = match v {
                Value::Array(items) => ContextValue::StringList(
                    items
                        .iter()
                        .map(|i| i.as_str().unwrap().to_string())
                        .collect(),
                ),
                other => ContextValue::String(other.as_str().unwrap().into()),
            };
            context.insert(k.clone(), value);
        }
    }
    context
}

/// The same calls under the policy without the statement `sid` are refused somewhere.
fn without_statement_refuses(policy: &Value, sid: &str, calls: &[Value]) -> bool {
    let mut narrower = policy.clone();
    narrower["Statement"] = Value::Array(
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Sid"] != sid)
            .cloned()
            .collect(),
    );
    let narrower = policies(&[narrower]);
    calls.iter().any(|c| {
        decide(
            &narrower,
            c["action"].as_str().unwrap(),
            c["resource"].as_str().unwrap(),
            context_of(c),
        ) != Decision::Allow
    })
}

/// What the reference worker's tests record (the worker's, its jobs' and its secrets helper's),
/// named as environment `e`'s resources. The tests run once for the binary, their resources
/// named for [`CALLS_ENV`], and each caller's copy is renamed for `e`: the two worker policies
/// (an instance's, a task's) check one recording, as pytest is the slowest part of either.
/// The job sweeper's calls are its role's, recorded and checked on their own.
fn worker_calls(e: &str) -> Vec<Value> {
    static RECORDED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = RECORDED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let e = CALLS_ENV;
        recorded_calls(
            &[
                "test_qfleet_worker.py",
                "test_qfleet_jobs.py",
                "test_qfleet_secrets.py",
            ],
            &dir.path().join("calls.jsonl"),
            e,
        )
        .iter()
        .map(|c| c.to_string() + "\n")
        .collect()
    });
    text.replace(CALLS_ENV, e)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The environment name the worker's calls are recorded under, then renamed: in no other name.
const CALLS_ENV: &str = "qfleetcallsrec";

/// The stack file of the IAM tests' environments carries `jobs:`, so that the workers' job
/// table and response queue grants are checked too (docs/jobs.md).
const JOBS: &str = "jobs: {}\n";

/// With `jobs:`, the limit `db` the workers' jobs hold a slot of (`limits`, `workers.limits`):
/// the job module's tests take its slots, so the grants on them are checked too.
const LIMITS: &str = "limits: {db: 2}\n";

/// A priority lane (`queue.priority`): the workers' tests take jobs from it too, so every
/// grant on the queue is checked on the lane.
const PRIORITY: &str = "queue:\n  priority: {}\n";

/// Why the grants only the bootstrap uses stay.
const BOOTSTRAP_READS: (&str, &str) = (
    "cloudformation:DescribeStackResource",
    "the instance's bootstrap reads the reference worker from its launch template's metadata, and the job module from the data stack's",
);

/// The worker's tests whose calls any role refuses, and why.
const WORKER_REFUSALS: Reasons = &[
    (
        "test_no_signal_when_the_queue_cannot_be_reached",
        "it polls a queue that is not the environment's; AWS refuses it, which is as unreachable",
    ),
    (
        "test_a_stage_fed_by_messages_gets_one_per_object_written_and_reads_it_as_an_upload",
        "two stages of a pipeline, each with its own role; render's pipeline tests check the send grant",
    ),
    (
        "test_two_stages_fed_by_objects_keep_one_job_and_only_the_last_answers",
        "two stages of a pipeline, each with its own role and queue",
    ),
    (
        "test_a_stage_fed_by_messages_reads_the_job_from_the_message",
        "two stages of a pipeline, each with its own role and queue",
    ),
    (
        "test_a_table_that_cannot_be_written_runs_no_job",
        "it writes to a table that is not the environment's, which AWS refuses",
    ),
    (
        "test_a_lease_that_cannot_be_written_runs_no_job",
        "a stage of a pipeline's, polling its own queue, with its own role",
    ),
    (
        "test_a_fifo_stage_works_a_group_in_order_and_passes_its_group_on",
        "two FIFO stages of a pipeline, each with its own role; render's fifo tests check both grants",
    ),
    (
        "test_a_standard_stage_passes_a_jobs_tenant_on_and_makes_none_up",
        "two stages of a pipeline, each with its own role; render's pipeline tests check the send grant",
    ),
    (
        "test_two_tenants_bursts_go_on_in_their_groups_under_queue_tenant",
        "two stages of a pipeline, each with its own role; render's pipeline tests check the send grant",
    ),
    (
        "test_a_jobs_tenant_is_kept_in_its_record_and_goes_on_as_its_group",
        "two stages of a pipeline, each with its own role and queue",
    ),
    (
        "test_a_lane_that_cannot_be_read_keeps_no_worker_from_the_job_queue",
        "it polls a lane that is not the environment's, as one a deploy deleted; AWS refuses it, which the worker logs",
    ),
    (
        "test_a_priority_job_goes_on_to_the_next_stages_priority_lane",
        "two stages of a pipeline, each with its own role; render's priority tests check the send grant",
    ),
    (
        "test_a_jobs_lane_in_its_record_is_the_lane_of_its_latest_attempt",
        "two stages of a pipeline, each with its own role and queue",
    ),
];

#[test]
fn the_workers_calls_are_allowed_by_the_rendered_worker_policy() {
    let dir = tempfile::tempdir().unwrap();
    let e = "iamworker";
    let file = lab_stack_file(
        dir.path(),
        e,
        &format!("  limits: [db]\n{JOBS}{LIMITS}{PRIORITY}"),
    );
    let fleet_stack = format!("qfleet-{e}-fleet");
    let policy = rendered_policy(&file, &fleet_stack, "WorkerPolicy");
    // An instance has no ECS agent: its worker never sets task protection.
    let calls: Vec<Value> = worker_calls(e)
        .into_iter()
        .filter(|c| c["action"] != "ecs:UpdateTaskProtection")
        .collect();
    assert!(calls.len() > 20, "{calls:?}");
    let checked = check_calls(
        &policy,
        &calls,
        &[
            (
                "logs:CreateLogStream",
                "the CloudWatch agent ships the worker's journal",
            ),
            (
                "logs:PutLogEvents",
                "the CloudWatch agent ships the worker's journal",
            ),
            (
                "logs:DescribeLogStreams",
                "the CloudWatch agent ships the worker's journal",
            ),
            BOOTSTRAP_READS,
        ],
        WORKER_REFUSALS,
    );
    // The evaluator can say no: the same calls without the queue statement, without the job
    // table's.
    assert!(without_statement_refuses(&policy, "ConsumeJobs", &checked));
    assert!(without_statement_refuses(
        &policy,
        "KeepJobRecords",
        &checked
    ));
}

/// The same reference worker as a Fargate task: the task role's policy allows every call it
/// makes, and nothing beside them. A task's environment names no lifecycle hook and no stack to
/// signal (templates/fargate.yaml.j2), so the worker makes neither call there: the calls the
/// worker's tests record for the hook and the signal are left out, and the policy must not
/// grant them.
#[test]
fn the_workers_calls_as_a_fargate_task_are_allowed_by_the_rendered_task_policy() {
    let dir = tempfile::tempdir().unwrap();
    let e = "iamtask";
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(
        &file,
        format!(
            "environment: {e}\nregion: eu-west-1\nlab: true\n{JOBS}{LIMITS}{PRIORITY}workers:\n  kind: fargate\n  image: public.ecr.aws/docker/library/python:3.12\n  public_ip: true\n  limits: [db]\n"
        ),
    )
    .unwrap();
    let fleet_stack = format!("qfleet-{e}-fleet");
    let policy = rendered_policy(&file, &fleet_stack, "WorkerPolicy");
    for s in policy["Statement"].as_array().unwrap() {
        let text = s["Action"].to_string();
        assert!(
            !text.contains("CompleteLifecycleAction") && !text.contains("SignalResource"),
            "{s}"
        );
    }
    let calls: Vec<Value> = worker_calls(e)
        .into_iter()
        .filter(|c| {
            ![
                "autoscaling:CompleteLifecycleAction",
                "cloudformation:SignalResource",
            ]
            .contains(&c["action"].as_str().unwrap())
        })
        .collect();
    assert!(calls.len() > 20, "{calls:?}");
    let checked = check_calls(&policy, &calls, &[], WORKER_REFUSALS);
    assert!(without_statement_refuses(&policy, "ConsumeJobs", &checked));
}

#[test]
fn the_handlers_calls_are_allowed_by_the_rendered_function_policy() {
    let dir = tempfile::tempdir().unwrap();
    let e = "iamfn";
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(
        &file,
        // queue.retry: the handler hides a failed message for its wait (RetryWait).
        format!(
            "environment: {e}\nregion: {REGION}\nlab: true\n{JOBS}queue:\n  retry: {{}}\n  priority: {{}}\n{LAMBDA_WORKERS}"
        ),
    )
    .unwrap();
    let fleet_stack = format!("qfleet-{e}-fleet");
    let policy = rendered_policy(&file, &fleet_stack, "WorkerFunctionPolicy");
    let calls = recorded_calls(
        &["test_qfleet_handler.py"],
        &dir.path().join("calls.jsonl"),
        e,
    );
    assert!(calls.len() > 10, "{calls:?}");
    let checked = check_calls(
        &policy,
        &calls,
        &[
            (
                "sqs:ReceiveMessage",
                "the event source mapping receives on the function's behalf",
            ),
            (
                "sqs:DeleteMessage",
                "the mapping deletes what a batch did not report as failed",
            ),
            (
                "sqs:GetQueueAttributes",
                "the mapping reads the queue's attributes",
            ),
            (
                "logs:CreateLogStream",
                "the Lambda runtime writes the function's log",
            ),
            (
                "logs:PutLogEvents",
                "the Lambda runtime writes the function's log",
            ),
        ],
        &[
            (
                "test_secrets_are_read_once_into_the_environment_and_never_shown",
                "it reads secrets this stack file does not declare; worker_access.rs checks a declared policy",
            ),
            (
                "test_a_stage_fed_by_messages_gets_one_per_object_written",
                "a pipeline's stage, which writes under its next stage's prefix; render's pipeline tests check the send grant",
            ),
            (
                "test_to_a_fifo_next_stage_a_message_keeps_its_group_and_is_sent_once",
                "a FIFO pipeline's stage, which writes under its next stage's prefix; render's fifo tests check the send grant",
            ),
            (
                "test_a_standard_stage_passes_a_tenant_on_when_its_record_carries_it",
                "a pipeline's stage, which writes under its next stage's prefix; render's pipeline tests check the send grant",
            ),
            (
                "test_a_function_sends_each_job_on_in_the_tenant_queue_tenant_reads",
                "a pipeline's stage, which writes under its next stage's prefix; render's pipeline tests check the send grant",
            ),
            (
                "test_a_priority_record_goes_on_to_the_next_stages_priority_lane",
                "a pipeline's stage, which sends to its next stage's lane; render's priority tests check the send grant",
            ),
            (
                "test_a_wait_that_cannot_be_set_leaves_the_message_to_the_queue",
                "it names a queue that is not the function's, so that SQS refuses the wait",
            ),
        ],
    );
    assert!(without_statement_refuses(&policy, "WriteResults", &checked));
    assert!(without_statement_refuses(&policy, "RetryWait", &checked));
}

/// The reference `qfleet iam-policy` is built from matches the registry schemas and the
/// Service Authorization Reference of the pinned cfn-lint.
#[test]
fn the_iam_reference_is_current() {
    let o = run(std::process::Command::new(root().join(".venv/bin/python"))
        .arg(root().join("scripts/iam-reference"))
        .arg("--check")
        .current_dir(root()));
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

/// A role or user may have 10 managed policies attached by default and 20 at most (IAM
/// quotas: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>).
/// Past 10 documents `iam-policy` says so on stderr and in `warnings`; past 20 it refuses
/// (exit 2) and says what to do.
#[test]
fn more_documents_than_a_role_may_attach_warn_above_10_and_fail_above_20() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<std::path::PathBuf> = (1..=60)
        .map(|i| {
            let p = dir.path().join(format!("e{i:02}.yaml"));
            std::fs::write(&p, "region: eu-west-1\nlab: true\n").unwrap();
            p
        })
        .collect();
    let o = run(qfleet().arg("iam-policy").args(&files[..20]).args([
        "--account",
        ACCOUNT,
        "-o",
        "json",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let d = document(&o);
    let n = d["caller"].as_array().unwrap().len();
    assert!((11..=20).contains(&n), "{n} documents for 20 environments");
    for doc in d["caller"].as_array().unwrap() {
        let len = doc.to_string().len();
        assert!(
            len <= 6144,
            "a document of {len} characters: IAM takes 6,144 at most"
        );
    }
    let warnings = d["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains(&format!("{n} managed policies")),
        "{warnings:?}"
    );
    assert!(
        stderr(&o).contains("WARNING: the caller needs"),
        "{}",
        stderr(&o)
    );

    let o = run(qfleet()
        .arg("iam-policy")
        .args(&files)
        .args(["--account", ACCOUNT]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.is_empty() || !stdout(&o).contains("\"Statement\""));
    let err = stderr(&o);
    assert!(
        err.contains("more than the 20") && err.contains("fewer environments"),
        "{err}"
    );

    // Ten environments fit the default quota: no warning.
    let d = doc(
        qfleet()
            .arg("iam-policy")
            .args(&files[..10])
            .args(["--account", ACCOUNT, "-o", "json"]),
        0,
    );
    assert_eq!(d["warnings"], serde_json::json!([]));
}

/// Every call in `calls` is allowed by `docs` (`what` names the calls in the failure).
fn assert_allowed(calls: &BTreeSet<Logged>, docs: &[Value], what: &str) {
    let refused = denied(calls, docs);
    assert!(
        refused.is_empty(),
        "{what} the printed policy does not allow:\n{}",
        refused.join("\n")
    );
}

/// The caller's documents `qfleet iam-policy FILE --account ACCOUNT` prints.
fn printed_policy(file: &std::path::Path) -> Vec<Value> {
    policy_printed(file, ACCOUNT)["caller"]
        .as_array()
        .unwrap()
        .clone()
}

/// A pipeline's deploying policy covers every stage: a two-stage pipeline (EC2 workers, then
/// a function fed by messages) planned, deployed twice, read and torn down on moto makes only
/// calls the printed policy allows; and it refuses the same calls for another environment's
/// later stage.
#[tokio::test]
async fn a_pipeline_s_calls_are_allowed_by_the_policy_iam_policy_prints() {
    let e = unique("iampipe");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(
        &file,
        format!(
            "region: {REGION}\nlab: true\nstages:\n  - name: parse\n    workers: {{min: 1, max: 2, public_ip: true}}\n  - name: index\n    fed_by: messages\n    workers: {{kind: lambda, lambda: {{deployment: direct}}}}\n"
        ),
    )
    .unwrap();
    let docs = printed_policy(&file);
    let mut log = String::new();
    let mut step = |args: &[&str], ok: &[i32]| {
        let o = run(qfleet_on_moto().args(args).arg(&file).arg("--debug"));
        assert!(
            ok.contains(&o.status.code().unwrap_or(-1)),
            "{args:?}: {}",
            stderr(&o)
        );
        log.push_str(&stderr(&o));
    };
    step(&["plan"], &[0, 3]);
    step(&["deploy", "--yes"], &[0]);
    step(&["deploy", "--yes"], &[0]);
    step(&["outputs"], &[0, 1]);
    // Removing the later stage: its fleet alone (the stage still in the file) ...
    moto_detach_role_policies(&[&format!("{e}--index")]);
    step(
        &["teardown", "--yes", "--only", "fleet", "--stage", "index"],
        &[0],
    );
    // ... then the deploy of the file without it, under that file's own policy: it checks the
    // stage's fleet is gone and removes the stage's queues.
    let trimmed_dir = dir.path().join("trimmed");
    std::fs::create_dir(&trimmed_dir).unwrap();
    let trimmed = trimmed_dir.join(format!("{e}.yaml"));
    std::fs::write(
        &trimmed,
        format!(
            "region: {REGION}\nlab: true\nstages:\n  - name: parse\n    workers: {{min: 1, max: 2, public_ip: true}}\n"
        ),
    )
    .unwrap();
    let o = run(qfleet_on_moto()
        .args(["deploy", "--yes", "--allow-replacement"])
        .arg(&trimmed)
        .arg("--debug"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let removal = logged_calls(&stderr(&o));
    assert!(
        removal.iter().any(|c| c.operation == "DescribeStacks"
            && format!("{c:?}").contains(&format!("qfleet-{e}--index-fleet"))),
        "the removed stage's fleet was checked: {removal:?}"
    );
    assert_allowed(&removal, &printed_policy(&trimmed), "a stage's removal");
    moto_detach_role_policies(&[&e]);
    step(
        &["teardown", "--yes", "--purge-bucket", "--discard-messages"],
        &[0],
    );
    let calls = logged_calls(&log);
    let ops: BTreeSet<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
    for must in [
        "CreateChangeSet",
        "ExecuteChangeSet",
        "DeleteStack",
        "GetQueueAttributes",
    ] {
        assert!(ops.contains(must), "{must}: {ops:?}");
    }
    assert!(
        calls
            .iter()
            .any(|c| format!("{c:?}").contains(&format!("qfleet-{e}--index-"))),
        "the later stage's resources were called: {calls:?}"
    );
    assert_allowed(&calls, &docs, "calls of a pipeline");
    // The evaluator can say no: the policy of a one-stage environment of the same name does
    // not cover the later stage's stacks.
    let one = dir.path().join("one");
    std::fs::create_dir(&one).unwrap();
    let single = one.join(format!("{e}.yaml"));
    std::fs::write(
        &single,
        format!("region: {REGION}\nlab: true\n{EC2_WORKERS}"),
    )
    .unwrap();
    assert!(!denied(&calls, &printed_policy(&single)).is_empty());
}

/// The job sweeper's policy in the rendered data template, with its references resolved as
/// CloudFormation would for environment `e` on the emulator's account and region: the table's
/// and queue's ARNs, the index under the table, the stack's id, the log group's ARN.
fn rendered_sweeper_policy(file: &std::path::Path, e: &str) -> Value {
    let v = rendered(file);
    let template = v["environments"][0]["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "data")
        .unwrap()["template"]
        .as_str()
        .unwrap()
        .to_string();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&template).unwrap();
    let table =
        format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/qfleet-{e}-data-JobTable-1A2B3C4D5E6F");
    let arn_of = |id: &str| match id {
        "JobTable" => table.clone(),
        "JobLeaseTable" => format!(
            "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/qfleet-{e}-data-JobLeaseTable-6F5E4D3C2B1A"
        ),
        "ResponseQueue" => format!("arn:aws:sqs:{REGION}:{ACCOUNT}:qfleet-{e}-responses"),
        "JobSweeperLogGroup" => {
            format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/qfleet/{e}/job-sweeper:*")
        }
        other => panic!("no ARN for {other}"),
    };
    let resolve = |r: &serde_yaml_ng::Value| -> String {
        let serde_yaml_ng::Value::Tagged(t) = r else {
            return r.as_str().unwrap().to_string();
        };
        match (t.tag.to_string().as_str(), &t.value) {
            ("!GetAtt", serde_yaml_ng::Value::String(a)) => arn_of(a.trim_end_matches(".Arn")),
            ("!Ref", serde_yaml_ng::Value::String(a)) if a == "AWS::StackId" => format!(
                "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/qfleet-{e}-data/0f0e0d0c-0000-4000-8000-000000000000"
            ),
            other => panic!("unresolved {other:?}"),
        }
    };
    let mut policy = doc["Resources"]["JobSweeperPolicy"]["Properties"]["PolicyDocument"].clone();
    for s in policy["Statement"].as_sequence_mut().unwrap() {
        let r = resolve(&s["Resource"]);
        s["Resource"] = serde_yaml_ng::Value::String(r);
    }
    serde_json::to_value(policy).unwrap()
}

/// Every call the job sweeper makes in its tests (crates/qfleet-runtime/python/test_qfleet_sweeper.py,
/// against moto) is allowed by the sweeper policy of the rendered data template, and every
/// action it grants is used; without the leases' statement or the job table's they are not.
#[test]
fn the_sweepers_calls_are_allowed_by_the_rendered_sweeper_policy() {
    let dir = tempfile::tempdir().unwrap();
    let e = "iamsweep";
    let file = lab_stack_file(dir.path(), e, JOBS);
    let policy = rendered_sweeper_policy(&file, e);
    let calls = recorded_calls(
        &["test_qfleet_sweeper.py"],
        &dir.path().join("calls.jsonl"),
        e,
    );
    let actions: BTreeSet<&str> = calls
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        BTreeSet::from([
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:Scan",
            "dynamodb:UpdateItem",
            "sqs:SendMessage",
        ])
    );
    let checked = check_calls(
        &policy,
        &calls,
        &[
            (
                "cloudformation:DescribeStackResource",
                "the function's loader reads the two modules from the job table's metadata (crates/qfleet-runtime/python/test_qfleet_sweeper_loader.py)",
            ),
            (
                "logs:CreateLogStream",
                "Lambda writes the function's log lines",
            ),
            (
                "logs:PutLogEvents",
                "Lambda writes the function's log lines",
            ),
        ],
        &[],
    );
    assert!(without_statement_refuses(
        &policy,
        "SettleExpiredLeases",
        &checked
    ));
    assert!(without_statement_refuses(
        &policy,
        "FailStoppedJobs",
        &checked
    ));
}

/// Every call the high-resolution metric's publisher makes in its tests
/// (test_qfleet_backlog_metric.py, against moto) is allowed by the publisher policy of the rendered fleet
/// template, and every action it grants is used; without the queue statement they are not.
#[test]
fn the_publishers_calls_are_allowed_by_the_rendered_publisher_policy() {
    let dir = tempfile::tempdir().unwrap();
    let e = "iamhrpub";
    let file = lab_stack_file(
        dir.path(),
        e,
        &format!("scaling: {{metric: high_resolution}}\n{PRIORITY}"),
    );
    let fleet_stack = format!("qfleet-{e}-fleet");
    let policy = rendered_policy(&file, &fleet_stack, "BacklogPublisherPolicy");
    let calls = recorded_calls(
        &["test_qfleet_backlog_metric.py"],
        &dir.path().join("calls.jsonl"),
        e,
    );
    let actions: BTreeSet<&str> = calls
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        BTreeSet::from([
            "autoscaling:DescribeAutoScalingGroups",
            "cloudwatch:PutMetricData",
            "sqs:GetQueueAttributes",
        ])
    );
    let checked = check_calls(
        &policy,
        &calls,
        &[
            (
                "logs:CreateLogStream",
                "Lambda writes the function's log lines",
            ),
            (
                "logs:PutLogEvents",
                "Lambda writes the function's log lines",
            ),
        ],
        &[],
    );
    assert!(without_statement_refuses(&policy, "ReadBacklog", &checked));
}

/// `scaling.metric: high_resolution` on moto, which accepts every resource of the publisher
/// (function, role, policy, log group, EventBridge rule, invoke permission; it runs no
/// schedule): plan, deploy, redeploy, outputs and teardown make only calls the printed policy
/// allows; both roles of the fleet are passable to their services; the rule alone may invoke
/// the function. The one-stage default policy grants none of the publisher's calls.
#[tokio::test]
async fn a_high_resolution_metrics_publisher_deploys_and_tears_down_within_the_printed_policy() {
    let e = unique("iamhr");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(
        &file,
        format!(
            "environment: {e}\nregion: {REGION}\nlab: true\n{EC2_WORKERS}scaling: {{metric: high_resolution}}\n"
        ),
    )
    .unwrap();
    let docs = printed_policy(&file);
    let conf = moto_config().await;
    let mut log = String::new();
    let mut step = |args: &[&str], ok: &[i32]| {
        let o = run(qfleet_on_moto().args(args).arg(&file).arg("--debug"));
        assert!(
            ok.contains(&o.status.code().unwrap_or(-1)),
            "{args:?}: {}",
            stderr(&o)
        );
        log.push_str(&stderr(&o));
    };
    step(&["plan"], &[0, 3]);
    step(&["deploy", "--yes"], &[0]);
    step(&["deploy", "--yes"], &[0]);
    step(&["outputs"], &[0]);

    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let resources = cfn
        .list_stack_resources()
        .stack_name(format!("qfleet-{e}-fleet"))
        .send()
        .await
        .unwrap();
    let of_type = |t: &str| -> Vec<String> {
        resources
            .stack_resource_summaries()
            .iter()
            .filter(|r| r.resource_type() == Some(t))
            .filter_map(|r| r.physical_resource_id().map(str::to_string))
            .collect()
    };
    let function = format!("qfleet-{e}-backlog-metric");
    assert_eq!(
        of_type("AWS::Lambda::Function"),
        std::slice::from_ref(&function)
    );
    assert_eq!(of_type("AWS::Events::Rule").len(), 1);
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let policy = lambda
        .get_policy()
        .function_name(&function)
        .send()
        .await
        .unwrap();
    let policy = policy.policy().unwrap();
    assert!(policy.contains("events.amazonaws.com"), "{policy}");
    assert!(
        policy.contains(&format!(":rule/qfleet-{e}-backlog-metric")),
        "only the rule may invoke it: {policy}"
    );
    let config = lambda
        .get_function_configuration()
        .function_name(&function)
        .send()
        .await
        .unwrap();
    let vars = config.environment().unwrap().variables().unwrap();
    assert_eq!(vars["QFLEET_GROUP"], format!("qfleet-{e}-workers"));
    // Both roles: the workers' to EC2, the publisher's to Lambda.
    let roles = of_type("AWS::IAM::Role");
    assert_eq!(roles.len(), 2, "{roles:?}");
    let passed: Vec<(String, &str)> = roles
        .iter()
        .map(|name| {
            let service = if name.contains("BacklogPublisher") {
                "lambda.amazonaws.com"
            } else {
                "ec2.amazonaws.com"
            };
            (format!("arn:aws:iam::{ACCOUNT}:role/{name}"), service)
        })
        .collect();
    let refused = roles_not_passable(&passed, &docs);
    assert!(refused.is_empty(), "{}", refused.join("\n"));

    moto_detach_role_policies(&[&e]);
    step(
        &["teardown", "--yes", "--purge-bucket", "--discard-messages"],
        &[0],
    );
    let functions = lambda.list_functions().send().await.unwrap();
    assert!(
        !functions
            .functions()
            .iter()
            .any(|f| f.function_name() == Some(function.as_str())),
        "the publisher is deleted with the fleet stack"
    );
    let calls = logged_calls(&log);
    let ops: BTreeSet<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
    for must in ["CreateChangeSet", "ExecuteChangeSet", "DeleteStack"] {
        assert!(ops.contains(must), "{must}: {ops:?}");
    }
    assert_allowed(&calls, &docs, "calls of a high-resolution environment");

    // The handlers' calls that create or change the rule and the permission are granted on the
    // publisher's names only with the setting; the default policy grants only those that
    // delete them (the deploy that turns the setting off runs under it), on those names.
    let granted = |docs: &[Value], action: &str| {
        docs.iter()
            .flat_map(|d| d["Statement"].as_array().unwrap().iter())
            .any(|s| match &s["Action"] {
                Value::String(a) => a == action,
                Value::Array(v) => v.iter().any(|a| a == action),
                _ => false,
            })
    };
    let default = dir.path().join("default");
    std::fs::create_dir(&default).unwrap();
    let plain = default.join(format!("{e}.yaml"));
    std::fs::write(
        &plain,
        format!("environment: {e}\nregion: {REGION}\nlab: true\n{EC2_WORKERS}"),
    )
    .unwrap();
    let plain_docs = printed_policy(&plain);
    for action in [
        "events:PutRule",
        "events:PutTargets",
        "lambda:AddPermission",
    ] {
        assert!(granted(&docs, action), "{action} with high_resolution");
        assert!(!granted(&plain_docs, action), "{action} by default");
    }
    let rule_arn = format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{function}");
    for action in ["events:DeleteRule", "events:RemoveTargets"] {
        for (docs, which) in [(&docs, "with high_resolution"), (&plain_docs, "by default")] {
            assert_eq!(
                decide(&policies(docs), action, &rule_arn, Context::new()),
                Decision::Allow,
                "{action} {which}"
            );
        }
        assert_ne!(
            decide(
                &policies(&plain_docs),
                action,
                &format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/another-rule"),
                Context::new()
            ),
            Decision::Allow,
            "{action} on another rule"
        );
    }
    let publisher_arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}");
    let policies_plain = policies(&plain_docs);
    assert_ne!(
        decide(
            &policies_plain,
            "lambda:CreateFunction",
            &publisher_arn,
            Context::new()
        ),
        Decision::Allow,
        "the default policy may not create the publisher"
    );
    assert_eq!(
        decide(
            &policies(&docs),
            "lambda:CreateFunction",
            &publisher_arn,
            Context::new()
        ),
        Decision::Allow
    );
}

/// An image qfleet builds (`workers.image.build`): plan, two deploys and both teardowns (the
/// refused one and `--delete-images`) on moto, with Podman building and a stand-in for the
/// registry's side of the push (tests/support/engine), make only calls the printed policy
/// allows. The push's own actions, which the request log does not see, are allowed on the
/// environment's repository and on no other; an environment that builds nothing may only read
/// and delete its own repository.
#[tokio::test]
async fn a_built_images_calls_and_push_are_allowed_on_its_own_repository_only() {
    let e = unique("iambuild");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("Dockerfile"),
        "FROM scratch\nCOPY app.txt /app.txt\n",
    )
    .unwrap();
    std::fs::write(src.join("app.txt"), "1\n").unwrap();
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(
        &file,
        format!(
            "environment: {e}\nregion: {REGION}\nlab: true\nworkers:\n  kind: fargate\n  image: {{build: {{context: src, engine: podman}}}}\n  min: 0\n  max: 2\n  public_ip: true\nscaling:\n  scale_from_zero: true\n  scale_in: {{policy: target_tracking}}\n"
        ),
    )
    .unwrap();
    let docs = printed_policy(&file);
    let engine_log = dir.path().join("engine.log");
    let path = format!(
        "{}:{}",
        root().join("tests/support/engine").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut log = String::new();
    let mut step = |args: &[&str], ok: &[i32]| {
        let o = run(qfleet_on_moto()
            .env("PATH", &path)
            .env("QFLEET_TEST_ENGINE_LOG", &engine_log)
            .env("QFLEET_TEST_PYTHON", root().join(".venv/bin/python"))
            .args(args)
            .arg(&file)
            .arg("--debug"));
        assert!(
            ok.contains(&o.status.code().unwrap_or(-1)),
            "{args:?}: {}",
            stderr(&o)
        );
        log.push_str(&stderr(&o));
    };
    step(&["plan"], &[0, 3]);
    step(&["deploy", "--yes"], &[0]);
    step(&["deploy", "--yes"], &[0]);
    step(&["teardown", "--yes"], &[4]);
    moto_detach_role_policies(&[&e]);
    step(&["teardown", "--yes", "--delete-images"], &[0]);
    let calls = logged_calls(&log);
    for op in [
        "CreateRepository",
        "PutLifecyclePolicy",
        "DescribeImages",
        "BatchDeleteImage",
        "DeleteRepository",
    ] {
        assert!(
            calls.iter().any(|c| c.operation == op),
            "{op} was made: {calls:?}"
        );
    }
    assert_allowed(&calls, &docs, "calls");

    let policies = policies(&docs);
    let allowed =
        |action: &str, arn: &str| decide(&policies, action, arn, Context::new()) == Decision::Allow;
    let own = format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/qfleet/{e}");
    let other = format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/other");
    for action in [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
    ] {
        assert!(allowed(action, &own), "{action} on {own}");
        assert!(!allowed(action, &other), "{action} on {other}");
    }
    assert!(allowed(
        "ecr:GetAuthorizationToken",
        "arn:aws:ecr:eu-west-1:123456789012:repository/any"
    ));

    // A file that builds nothing: its own repository's teardown only, no push, no login.
    std::fs::write(
        &file,
        format!("environment: {e}\nregion: {REGION}\nlab: true\n"),
    )
    .unwrap();
    let policies = self::policies(&printed_policy(&file));
    let allowed =
        |action: &str, arn: &str| decide(&policies, action, arn, Context::new()) == Decision::Allow;
    assert!(allowed("ecr:DeleteRepository", &own));
    assert!(!allowed("ecr:DeleteRepository", &other));
    for action in ["ecr:PutImage", "ecr:CreateRepository"] {
        assert!(!allowed(action, &own), "{action} on {own}");
    }
    assert!(!allowed(
        "ecr:GetAuthorizationToken",
        "arn:aws:ecr:eu-west-1:123456789012:repository/any"
    ));
}

/// The budget hold's policy in the rendered data template (`budget.hold`), with its references
/// resolved as CloudFormation would for environment `e` on the emulator's account and region;
/// and the budget's name, from the function's variables.
fn rendered_hold_policy(file: &std::path::Path, e: &str) -> (Value, String) {
    let v = rendered(file);
    let template = v["environments"][0]["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "data")
        .unwrap()["template"]
        .as_str()
        .unwrap()
        .replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", REGION)
        .replace("${AWS::AccountId}", ACCOUNT)
        .replace("!Sub ", "")
        .replace(
            "!Ref AlarmTopic",
            &format!("\"arn:aws:sns:{REGION}:{ACCOUNT}:qfleet-{e}-alerts\""),
        )
        .replace(
            "!GetAtt BudgetHoldLogGroup.Arn",
            &format!("\"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/qfleet/{e}/budget-hold:*\""),
        );
    let budget = {
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&template).unwrap();
        doc["Resources"]["Budget"]["Properties"]["Budget"]["BudgetName"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // The budget's Ref is its name.
    let template = template.replace("${Budget}", &budget);
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&template).unwrap();
    let policy = &doc["Resources"]["BudgetHoldPolicy"]["Properties"]["PolicyDocument"];
    (serde_json::to_value(policy).unwrap(), budget)
}

/// Every call the budget hold makes in its tests (crates/qfleet-runtime/python/test_qfleet_budget_hold.py,
/// against moto) on an EC2 fleet and on a Fargate service is allowed by the hold's policy in
/// the rendered data template, and every action it grants is used; without the group's or the
/// service's statement they are not. For an ECS target the calls include what Application
/// Auto Scaling checks on the caller's behalf (the service, its target tracking alarms).
#[test]
fn the_budget_holds_calls_are_allowed_by_the_rendered_hold_policy() {
    const HOLD: &str = "alerts: {email: oncall@example.com}\nbudget: {amount: 50, hold: true}\n";
    for (e, kind, tests, sid) in [
        (
            "iamhold",
            "",
            "test_a_group_is_held_kept_then_released_in_the_next_month",
            "HoldGroups",
        ),
        (
            "iamholdf",
            "workers:\n  kind: fargate\n  image: public.ecr.aws/docker/library/python:3.12\n  max: 2\n",
            "test_an_ecs_fleet_is_held_and_released",
            "HoldServices",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("{e}.yaml"));
        let workers = if kind.is_empty() { EC2_WORKERS } else { kind };
        std::fs::write(
            &file,
            format!("environment: {e}\nregion: {REGION}\nlab: true\n{workers}{HOLD}"),
        )
        .unwrap();
        let (policy, budget) = rendered_hold_policy(&file, e);
        let calls_file = dir.path().join("calls.jsonl");
        let python = root().join(".venv/bin/python");
        let o = std::process::Command::new(&python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(format!(
                "{}::{tests}",
                root()
                    .join(PYTHON)
                    .join("test_qfleet_budget_hold.py")
                    .display()
            ))
            .env("QFLEET_RECORD_CALLS", &calls_file)
            .env("QFLEET_TEST_ASG", format!("qfleet-{e}-workers"))
            .env("QFLEET_TEST_CLUSTER", format!("qfleet-{e}"))
            .env("QFLEET_TEST_SERVICE", format!("qfleet-{e}-workers"))
            .env("QFLEET_TEST_BUDGET", &budget)
            .env("QFLEET_TEST_TOPIC", format!("qfleet-{e}-alerts"))
            .current_dir(root())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
        let calls: Vec<Value> = std::fs::read_to_string(&calls_file)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(
            calls.iter().any(|c| c["action"] == "budgets:ViewBudget"
                && c["resource"].as_str().unwrap().ends_with(&budget)),
            "{calls:?}"
        );
        let checked = check_calls(
            &policy,
            &calls,
            &[
                (
                    "logs:CreateLogStream",
                    "Lambda writes the function's log lines",
                ),
                (
                    "logs:PutLogEvents",
                    "Lambda writes the function's log lines",
                ),
                (
                    "lambda:PutFunctionConcurrency",
                    "the give-back's, on the function itself (test_give_back_releases_every_held_fleet_without_reading_the_budget)",
                ),
            ],
            &[],
        );
        assert!(without_statement_refuses(&policy, sid, &checked), "{e}");
        assert!(without_statement_refuses(&policy, "ReadBudget", &checked));
    }
}
