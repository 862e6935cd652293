use super::*;
use crate::config;
use serde_json::Value;
use std::path::Path;

const ACCOUNT: &str = "123456789012";

fn env_from(yaml: &str) -> Environment {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.yaml");
    std::fs::write(&p, yaml).unwrap();
    config::load(&p).unwrap()
}

fn lab(name: &str, extra: &str) -> Environment {
    env_from(&format!(
        "environment: {name}\nregion: eu-west-1\nlab: true\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\n{extra}"
    ))
}

fn statements(docs: &[Value]) -> Vec<&Value> {
    docs.iter()
        .flat_map(|d| d["Statement"].as_array().unwrap())
        .collect()
}

fn actions(s: &Value) -> Vec<&str> {
    s["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

fn resources(s: &Value) -> Vec<&str> {
    match &s["Resource"] {
        Value::String(r) => vec![r.as_str()],
        Value::Array(v) => v.iter().map(|r| r.as_str().unwrap()).collect(),
        _ => vec![],
    }
}

/// Every statement that grants `action`.
fn granting<'a>(docs: &'a [Value], action: &str) -> Vec<&'a Value> {
    statements(docs)
        .into_iter()
        .filter(|s| actions(s).contains(&action))
        .collect()
}

#[test]
fn the_reference_covers_every_resource_type_of_every_shipped_template() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["stacks", "examples", "examples/lab"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 3, "{files:?}");
    let mut seen = BTreeSet::new();
    for f in files {
        let envs = config::load(&f).unwrap().expand();
        let d = for_environments(&envs[..1], ACCOUNT)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        seen.extend(d.resource_types);
    }
    let listed: BTreeSet<String> = reference::get().unwrap().handlers.keys().cloned().collect();
    // A type the reference lists that no template uses is a stale grant.
    assert_eq!(seen, listed);
}

#[test]
fn no_wildcard_action_and_every_document_fits_a_managed_policy() {
    let d = for_environments(&[lab("a", "")], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    assert!(!docs.is_empty());
    for doc in &docs {
        assert!(policy::compact_len(doc) <= policy::MANAGED_POLICY_LIMIT);
        let sids: Vec<&str> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        let unique: BTreeSet<&&str> = sids.iter().collect();
        assert_eq!(unique.len(), sids.len(), "{sids:?}");
    }
    for s in statements(&docs) {
        for a in actions(s) {
            assert!(!a.contains('*') && !a.contains('?'), "wildcard action {a}");
            assert!(a.contains(':'), "{a}");
        }
    }
}

#[test]
fn qfleets_own_calls_are_in_the_callers_policy_and_known_to_aws() {
    let d = for_environments(&[lab("a", "")], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    for c in calls::CALLS {
        for a in c.actions {
            assert!(
                reference::get().unwrap().resource_types(a).is_some(),
                "{a} is not an action AWS's reference knows"
            );
            assert!(!granting(&docs, a).is_empty(), "{a} missing");
        }
    }
}

#[test]
fn data_actions_are_scoped_to_the_environments_own_resources() {
    let d = for_environments(&[lab("a", "")], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    let only = |action: &str| -> Vec<String> {
        let s = granting(&docs, action);
        assert_eq!(s.len(), 1, "{action}");
        resources(s[0]).into_iter().map(str::to_string).collect()
    };
    assert_eq!(
        only("s3:DeleteObject"),
        ["arn:aws:s3:::a-uploads-123456789012-eu-west-1/*"]
    );
    assert_eq!(
        only("s3:DeleteBucket"),
        ["arn:aws:s3:::a-uploads-123456789012-eu-west-1"]
    );
    assert_eq!(
        only("sqs:DeleteQueue"),
        [
            "arn:aws:sqs:eu-west-1:123456789012:qfleet-a-data-*",
            "arn:aws:sqs:eu-west-1:123456789012:qfleet-a-jobs"
        ]
    );
    assert_eq!(
        only("cloudformation:DeleteStack"),
        [
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/qfleet-a-data/*",
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/qfleet-a-fleet/*"
        ]
    );
    assert_eq!(
        only("iam:CreateRole"),
        ["arn:aws:iam::123456789012:role/qfleet-a-fleet-*"]
    );
    // Describe actions AWS lets no policy scope stay on "*".
    assert_eq!(only("ec2:DescribeVpcs"), ["*"]);
    assert_eq!(only("autoscaling:DescribeAutoScalingGroups"), ["*"]);
}

#[test]
fn pass_role_is_only_for_the_worker_role_and_only_to_ec2() {
    let d = for_environments(&[lab("a", "")], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    let s = granting(&docs, "iam:PassRole");
    assert_eq!(s.len(), 1);
    assert_eq!(
        resources(s[0]),
        ["arn:aws:iam::123456789012:role/qfleet-a-fleet-*"]
    );
    assert_eq!(
        s[0]["Condition"]["StringEquals"]["iam:PassedToService"],
        "ec2.amazonaws.com"
    );
    let slr = granting(&docs, "iam:CreateServiceLinkedRole");
    assert_eq!(
        slr[0]["Condition"]["StringEquals"]["iam:AWSServiceName"],
        "autoscaling.amazonaws.com"
    );
}

#[test]
fn with_a_service_role_the_handlers_permissions_move_to_it() {
    let role = "arn:aws:iam::123456789012:role/cfn-deployer";
    let env = lab("a", &format!("service_role_arn: {role}\n"));
    let d = for_environments(&[env], ACCOUNT).unwrap();
    let caller = d.caller.documents();
    assert!(granting(&caller, "sqs:CreateQueue").is_empty());
    assert!(granting(&caller, "iam:CreateRole").is_empty());
    assert!(!granting(&caller, "cloudformation:CreateChangeSet").is_empty());
    let pass = granting(&caller, "iam:PassRole");
    assert_eq!(pass.len(), 1);
    assert_eq!(resources(pass[0]), [role]);
    assert_eq!(
        pass[0]["Condition"]["StringEquals"]["iam:PassedToService"],
        "cloudformation.amazonaws.com"
    );
    let service = d.service_roles[role].documents();
    assert!(!granting(&service, "sqs:CreateQueue").is_empty());
    let pass = granting(&service, "iam:PassRole");
    assert_eq!(
        resources(pass[0]),
        ["arn:aws:iam::123456789012:role/qfleet-a-fleet-*"]
    );
}

#[test]
fn several_environments_share_statements_with_each_ones_resources() {
    let d = for_environments(&[lab("a", ""), lab("b", "")], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    let s = granting(&docs, "sqs:GetQueueAttributes");
    assert_eq!(s.len(), 1);
    let r = resources(s[0]);
    assert!(r.contains(&"arn:aws:sqs:eu-west-1:123456789012:qfleet-a-jobs"));
    assert!(r.contains(&"arn:aws:sqs:eu-west-1:123456789012:qfleet-b-jobs"));
}

#[test]
fn an_ami_parameter_is_readable_where_it_is_resolved() {
    let d = for_environments(&[lab("a", "")], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    let s = granting(&docs, "ssm:GetParameters");
    assert_eq!(
        resources(s[0]),
        [
            "arn:aws:ssm:eu-west-1::parameter/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
        ]
    );
}

#[test]
fn a_long_action_list_is_split_across_documents_that_each_fit() {
    let mut g = policy::Grants::default();
    for i in 0..600 {
        g.add(
            &format!("ec2:DescribeSomethingLong{i:04}"),
            policy::Scope::any(),
        );
    }
    let docs = g.documents();
    assert!(docs.len() >= 3, "{}", docs.len());
    let total: usize = statements(&docs).iter().map(|s| actions(s).len()).sum();
    assert_eq!(total, 600);
    for d in &docs {
        assert!(policy::compact_len(d) <= policy::MANAGED_POLICY_LIMIT);
    }
}

#[test]
fn calls_are_found_by_the_names_the_request_log_uses() {
    assert!(calls::find("CloudFormation", "DescribeStacks").is_some());
    assert!(calls::find("Auto Scaling", "DescribePolicies").is_some());
    assert!(calls::find("CloudWatch", "GetMetricData").is_some());
    assert!(calls::find("SQS", "SendMessage").is_none());
}
