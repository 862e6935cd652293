use super::*;
use crate::config;
use serde_json::Value;

const ACCOUNT: &str = "123456789012";

fn file_from(yaml: &str) -> config::LoadedFile {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.yaml");
    std::fs::write(&p, yaml).unwrap();
    config::load(&p).unwrap()
}

fn env_from(yaml: &str) -> Environment {
    file_from(yaml).into_only()
}

fn lab(name: &str, extra: &str) -> Environment {
    lab_file(name, extra).into_only()
}

/// The stack file of a lab named `name` with `extra` settings (its targets, its copies).
fn lab_file(name: &str, extra: &str) -> config::LoadedFile {
    file_from(&format!(
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
    let root = crate::config::workspace_root();
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
    // With `jobs:` and `kms_key`, so that the job table's calls are granted too, and the key
    // a sender to an encrypted queue needs.
    let d = for_environments(
        &[lab(
            "a",
            "jobs: {}\nkms_key: arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-0123-0123-0123456789ab\n",
        )],
        ACCOUNT,
    )
    .unwrap();
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
            "arn:aws:sqs:eu-west-1:123456789012:qfleet-a--*",
            "arn:aws:sqs:eu-west-1:123456789012:qfleet-a-data-*",
            "arn:aws:sqs:eu-west-1:123456789012:qfleet-a-jobs",
            "arn:aws:sqs:eu-west-1:123456789012:qfleet-a-priority"
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

/// iam:PassRole is checked with the service the role is passed to (`iam:PassedToService`,
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html>): EC2 for an
/// instance profile's role, Lambda for a function's execution role
/// (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html>), ECS
/// tasks for a task's roles, ECS for a Managed Instances capacity provider's infrastructure
/// and instance roles, CodeDeploy for the role a deployment group shifts a worker
/// function's alias as (its service role,
/// <https://docs.aws.amazon.com/codedeploy/latest/userguide/getting-started-create-service-role.html>).
/// A deploy may switch `workers.kind` under the policy printed for the file before the switch,
/// so the worker roles go to every kind's service, and to no other.
#[test]
fn pass_role_is_only_for_the_worker_role_and_only_to_the_worker_services() {
    for kind in [
        "",
        "workers:\n  kind: lambda\n",
        "workers:\n  kind: fargate\n  image: public.ecr.aws/docker/library/python:3.12\n",
    ] {
        let env = env_from(&format!(
            "environment: a\nregion: eu-west-1\nlab: true\n{kind}"
        ));
        let d = for_environments(&[env], ACCOUNT).unwrap();
        let docs = d.caller.documents();
        let s = granting(&docs, "iam:PassRole");
        let mut services: Vec<&str> = s
            .iter()
            .map(|s| {
                assert_eq!(
                    resources(s),
                    ["arn:aws:iam::123456789012:role/qfleet-a-fleet-*"]
                );
                s["Condition"]["StringEquals"]["iam:PassedToService"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        services.sort();
        assert_eq!(
            services,
            [
                "codedeploy.amazonaws.com",
                "ec2.amazonaws.com",
                "ecs-tasks.amazonaws.com",
                "ecs.amazonaws.com",
                "lambda.amazonaws.com"
            ],
            "{kind}"
        );
    }
    let d = for_environments(&[lab("a", "")], ACCOUNT).unwrap();
    let docs = d.caller.documents();
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

/// One action on many environments' resources: its statement is split by resources, and
/// every document stays within IAM's 6,144 characters.
#[test]
fn one_action_on_many_resources_is_split_into_statements_that_each_fit() {
    let mut g = policy::Grants::default();
    for i in 0..300 {
        g.add(
            "ecs:DescribeServices",
            policy::Scope::on([format!(
                "arn:aws:ecs:eu-west-1:123456789012:service/qfleet-env{i:03}/qfleet-env{i:03}-workers"
            )]),
        );
    }
    let docs = g.documents();
    let resources: usize = statements(&docs).iter().map(|s| resources(s).len()).sum();
    assert_eq!(resources, 300, "every resource once");
    assert!(docs.len() >= 4, "{}", docs.len());
    for d in &docs {
        assert!(policy::compact_len(d) <= policy::MANAGED_POLICY_LIMIT);
    }
}

#[test]
fn calls_are_found_by_the_names_the_request_log_uses() {
    assert!(calls::find("CloudFormation", "DescribeStacks").is_some());
    assert!(calls::find("Auto Scaling", "DescribePolicies").is_some());
    assert!(calls::find("CloudWatch", "GetMetricData").is_some());
    assert!(calls::find("SQS", "SendMessage").is_some());
    assert!(calls::find("SQS", "DeleteQueue").is_none());
}

/// The actions a policy names: every statement's.
fn all_actions(docs: &[Value]) -> BTreeSet<String> {
    statements(docs)
        .into_iter()
        .flat_map(|s| actions(s).into_iter().map(str::to_string))
        .collect()
}

/// Stack files with every setting that changes the policy: the lab (default VPC, public AMI
/// parameter), production (KMS key, own subnets), a function, a service role.
fn variety() -> Vec<Environment> {
    let root = crate::config::workspace_root();
    let mut envs = Vec::new();
    for f in [
        "stacks/lab.yaml",
        "stacks/prod.yaml",
        "examples/lambda.yaml",
        "examples/lambda-image.yaml",
        "examples/spot.yaml",
    ] {
        envs.extend(
            config::load(&root.join(f))
                .unwrap()
                .expand()
                .into_iter()
                .take(1),
        );
    }
    envs.push(lab(
        "svc",
        "service_role_arn: arn:aws:iam::123456789012:role/cfn-deployer\n",
    ));
    envs
}

/// The Service Authorization Reference's "Resource types" column: "If there is no value for
/// this column, you must specify all resources ("*")"; if it names a type, a statement can
/// name ARNs of that type (<https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html#actions_table>).
/// So `"*"` is only for actions that support no resource type (and the reviewed
/// [`OPTIONAL_TYPES_ONLY`]); an action that names types gets the environment's ARNs or nothing.
#[test]
fn only_actions_that_support_no_resource_type_are_granted_on_any_resource() {
    let reference = reference::get().unwrap();
    for env in variety() {
        let d = for_environments(std::slice::from_ref(&env), ACCOUNT).unwrap();
        let mut docs = d.caller.documents();
        for g in d.service_roles.values() {
            docs.extend(g.documents());
        }
        let mut on_any = Vec::new();
        for s in statements(&docs) {
            if !resources(s).contains(&"*") {
                continue;
            }
            for a in actions(s) {
                let types = reference.resource_types(a).unwrap_or_default();
                if !types.is_empty() && !OPTIONAL_TYPES_ONLY.contains(&a) {
                    on_any.push(format!("{a} {types:?}"));
                }
            }
        }
        assert!(
            on_any.is_empty(),
            "{}: on \"*\" although AWS lets a policy name their resources:\n{}",
            env.name,
            on_any.join("\n")
        );
    }
}

/// AWS rejects a policy naming an action that does not exist only in its policy validator; IAM
/// itself accepts it silently, so a misspelled or API-only name (`s3:PutBucketReplication`;
/// the action is `s3:PutReplicationConfiguration`) grants nothing and hides what is needed.
/// Every action the policy names is one the Service Authorization Reference lists
/// (<https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html>).
#[test]
fn every_granted_action_is_listed_in_the_service_authorization_reference() {
    let reference = reference::get().unwrap();
    let known: BTreeSet<String> = reference.actions().map(|(a, _)| a.to_string()).collect();
    for env in variety() {
        let d = for_environments(std::slice::from_ref(&env), ACCOUNT).unwrap();
        let mut docs = d.caller.documents();
        for g in d.service_roles.values() {
            docs.extend(g.documents());
        }
        let unknown: Vec<String> = all_actions(&docs)
            .into_iter()
            .filter(|a| !known.contains(&a.to_ascii_lowercase()))
            .collect();
        assert!(unknown.is_empty(), "{}: {unknown:?}", env.name);
    }
}

/// iam:AttachUserPolicy and iam:AttachGroupPolicy act on users and groups (Service
/// Authorization Reference for IAM, resource types `user` and `group`:
/// <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html>);
/// the templates declare neither, and on `"*"` they let the deployer attach any policy to
/// itself. Likewise S3 Tables and VPC Lattice, which the handlers list for properties qfleet
/// never sets.
#[test]
fn no_permission_for_users_groups_or_resources_the_templates_do_not_declare() {
    let d = for_environments(&[lab("a", "")], ACCOUNT).unwrap();
    let granted = all_actions(&d.caller.documents());
    for a in [
        "iam:AttachUserPolicy",
        "iam:AttachGroupPolicy",
        "iam:DetachUserPolicy",
        "iam:DetachGroupPolicy",
        "lambda:GetLayerVersion",
        "ssm:GetDocument",
    ] {
        assert!(!granted.contains(a), "{a} is granted");
    }
    for prefix in [
        "s3tables:",
        "vpc-lattice:",
        "managed-fleets:",
        "firehose:",
        "kms:",
    ] {
        let found: Vec<&String> = granted.iter().filter(|a| a.starts_with(prefix)).collect();
        assert!(found.is_empty(), "{found:?}");
    }
    // What the templates do declare stays: the worker role's own policy attachment.
    assert!(granted.contains("iam:AttachRolePolicy"));
}

/// IAM's resource type for instance profiles is spelled `instance-profile`, ARN
/// `arn:${Partition}:iam::${Account}:instance-profile/${InstanceProfileNameWithPath}`
/// (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html#awsidentityandaccessmanagementiam-resources-for-iam-policies>).
#[test]
fn instance_profile_actions_are_scoped_to_the_environments_generated_profile_names() {
    let d = for_environments(&[lab("a", "")], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    for a in [
        "iam:CreateInstanceProfile",
        "iam:AddRoleToInstanceProfile",
        "iam:RemoveRoleFromInstanceProfile",
        "iam:DeleteInstanceProfile",
        "iam:GetInstanceProfile",
    ] {
        let s = granting(&docs, a);
        assert_eq!(s.len(), 1, "{a}");
        assert_eq!(
            resources(s[0]),
            ["arn:aws:iam::123456789012:instance-profile/qfleet-a-fleet-*"],
            "{a}"
        );
    }
}

/// Every resource type the scope code names ARNs for is spelled as the Service Authorization
/// Reference spells it for that service (a misspelled arm never matches, and its actions fell
/// back to `"*"`): <https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html#resources_table>.
#[test]
fn every_scoped_resource_type_is_one_the_service_authorization_reference_defines() {
    let reference = reference::get().unwrap();
    let mut defined: BTreeSet<(String, String)> = BTreeSet::new();
    for (action, types) in reference.actions() {
        let service = action.split(':').next().unwrap();
        for t in types {
            defined.insert((service.to_string(), t.clone()));
        }
    }
    for (service, t) in scope::SCOPED_TYPES {
        if *t == "*" {
            continue;
        }
        assert!(
            defined.contains(&(service.to_string(), t.to_string())),
            "scope.rs names ({service}, {t}), which AWS's reference does not define"
        );
    }
    // And the list is the code: every (service, type) that yields an ARN is listed (production
    // for most; a function's image repository only with an image function; the publisher's
    // rule only with a high-resolution metric; a capacity provider only on managed instances).
    let root = crate::config::workspace_root();
    let envs = [
        "stacks/prod.yaml",
        "examples/lambda-image.yaml",
        "examples/high-resolution.yaml",
        "examples/jobs.yaml",
        "examples/lambda-managed.yaml",
    ]
    .map(|f| config::load(&root.join(f)).unwrap().into_only());
    for (service, t) in &defined {
        let arns: Vec<String> = envs
            .iter()
            .flat_map(|env| {
                let place = scope::Place::new(env, ACCOUNT);
                place.arns_of_type(&format!("{service}:Act"), service, t)
            })
            .collect();
        let listed = scope::SCOPED_TYPES.iter().any(|(s, l)| {
            s == service && (l == t || (*l == "*" && ["ec2", "ecs"].contains(&service.as_str())))
        });
        assert_eq!(!arns.is_empty(), listed, "({service}, {t}): {arns:?}");
    }
}

/// KMS authorizes on the key (`key*`,
/// <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html>);
/// without `kms_key` the templates use no customer managed key, so no KMS action is granted.
#[test]
fn kms_actions_are_granted_only_on_the_stack_files_key() {
    let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let d = for_environments(&[lab("a", &format!("kms_key: {key}\n"))], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    let kms: Vec<String> = all_actions(&docs)
        .into_iter()
        .filter(|a| a.starts_with("kms:"))
        .collect();
    assert!(!kms.is_empty());
    for a in &kms {
        for s in granting(&docs, a) {
            assert_eq!(resources(s), [key], "{a}");
        }
    }
    let d = for_environments(&[lab("a", "")], ACCOUNT).unwrap();
    assert!(
        !all_actions(&d.caller.documents())
            .iter()
            .any(|a| a.starts_with("kms:"))
    );
}

/// IAM's `?` matches exactly one character of an ARN (`*` any number):
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards>.
/// The copies of one stack file (`lab-01` … `lab-30`) are named by `lab-??`: every copy, no
/// other-length name (`lab-prod`), so 30 copies take as many documents as 2.
#[test]
fn the_copies_of_one_stack_file_are_scoped_by_one_single_character_wildcard_pattern() {
    let copies = |n: u32| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lab.yaml");
        std::fs::write(
            &p,
            format!("environment: lab\nregion: eu-west-1\nlab: true\ncopies: {n}\n"),
        )
        .unwrap();
        config::load(&p).unwrap().expand()
    };
    let two = for_environments(&copies(2), ACCOUNT)
        .unwrap()
        .caller
        .documents();
    let thirty_envs = copies(30);
    let thirty = for_environments(&thirty_envs, ACCOUNT)
        .unwrap()
        .caller
        .documents();
    assert_eq!(thirty.len(), two.len());
    let s = granting(&thirty, "sqs:DeleteQueue");
    assert_eq!(
        resources(s[0]),
        [
            "arn:aws:sqs:eu-west-1:123456789012:qfleet-lab-??--*",
            "arn:aws:sqs:eu-west-1:123456789012:qfleet-lab-??-data-*",
            "arn:aws:sqs:eu-west-1:123456789012:qfleet-lab-??-jobs",
            "arn:aws:sqs:eu-west-1:123456789012:qfleet-lab-??-priority"
        ]
    );
    // Evaluated as IAM evaluates it: every copy's queue and stack, and nothing else.
    let policies: Vec<iam_rs::IAMPolicy> = thirty
        .iter()
        .map(|d| iam_rs::IAMPolicy::from_json(&d.to_string()).unwrap())
        .collect();
    let allowed = |action: &str, arn: &str| {
        let request = iam_rs::IAMRequest::new(
            iam_rs::Principal::Aws(iam_rs::PrincipalId::String(format!(
                "arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci"
            ))),
            action,
            iam_rs::Arn::parse(arn).unwrap(),
        );
        iam_rs::evaluate_policies(&policies, &request).unwrap() == iam_rs::Decision::Allow
    };
    for e in &thirty_envs {
        let q = format!("arn:aws:sqs:eu-west-1:{ACCOUNT}:qfleet-{}-jobs", e.name);
        assert!(allowed("sqs:DeleteQueue", &q), "{q}");
        let stack = format!(
            "arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/{}/0f0e0d0c",
            e.fleet_stack_name()
        );
        assert!(allowed("cloudformation:DeleteStack", &stack), "{stack}");
    }
    for other in ["lab-prod", "lab-001", "lab-1", "labs-01"] {
        let q = format!("arn:aws:sqs:eu-west-1:{ACCOUNT}:qfleet-{other}-jobs");
        assert!(!allowed("sqs:DeleteQueue", &q), "{q}");
    }
    // Some copies only: each one's own names.
    let some = for_environments(&thirty_envs[..3], ACCOUNT)
        .unwrap()
        .caller
        .documents();
    let r = resources(granting(&some, "sqs:DeleteQueue")[0]).join(" ");
    assert!(r.contains("qfleet-lab-03-jobs") && !r.contains('?'), "{r}");
}

/// A role or user may have 10 managed policies attached by default and 20 at most (IAM
/// quotas, "Managed policies attached to an IAM role":
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>).
#[test]
fn more_documents_than_a_role_may_attach_warn_above_10_and_fail_above_20() {
    assert_eq!(check_document_count("the caller", 10).unwrap(), None);
    let w = check_document_count("the caller", 11).unwrap().unwrap();
    assert!(w.contains("11 managed policies") && w.contains("10"), "{w}");
    let e = check_document_count("the caller", 21).unwrap_err();
    assert!(matches!(e, Error::TooManyPolicies { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("21") && text.contains("fewer environments"),
        "{text}"
    );
    // Many distinct environments do not fit one principal: the count says so.
    let many: Vec<Environment> = (0..60).map(|i| lab(&format!("e{i:02}"), "")).collect();
    let docs = for_environments(&many, ACCOUNT).unwrap().caller.documents();
    assert!(docs.len() > MANAGED_POLICIES_MAX, "{}", docs.len());
    assert!(check_document_count("the caller", docs.len()).is_err());
}

/// A mixed instances policy asks nothing more of the deploying principal: CloudFormation's
/// AutoScalingGroup handlers list the same permissions whatever the group's properties
/// (reference.json), and Auto Scaling launches the Spot and On-Demand instances with its own
/// service-linked role, AWSServiceRoleForAutoScaling
/// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-service-linked-role.html).
/// So the Spot example's policy is the one-type fleet's, scoped the same way, with no Spot or
/// fleet request of the caller's own.
#[test]
fn the_spot_examples_policy_is_the_one_type_fleets_and_still_scoped() {
    let root = crate::config::workspace_root();
    let spot = config::load(&root.join("examples/spot.yaml"))
        .unwrap()
        .into_only();
    let one_type = env_from(&format!(
        "environment: spot\nregion: eu-west-1\nworkers:\n  ami: {}\n  instance_type: m7g.large\n  max: 20\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0aaaaaaaaaaaaaaa1\n      eu-west-1b: subnet-0bbbbbbbbbbbbbbb2\n",
        spot.spec.workers.ami
    ));
    let with = for_environments(std::slice::from_ref(&spot), ACCOUNT).unwrap();
    let without = for_environments(&[one_type], ACCOUNT).unwrap();
    let docs = with.caller.documents();
    assert_eq!(all_actions(&docs), all_actions(&without.caller.documents()));
    for action in [
        "ec2:CreateFleet",
        "ec2:RequestSpotInstances",
        "ec2:RequestSpotFleet",
    ] {
        assert!(granting(&docs, action).is_empty(), "{action}");
    }
    // The group's own actions stay on this environment's group.
    let update = granting(&docs, "autoscaling:UpdateAutoScalingGroup");
    assert!(!update.is_empty());
    for s in update {
        for r in resources(s) {
            assert!(r.contains("qfleet-spot-workers"), "{r}");
        }
    }
}

/// A warm pool adds its handler's calls (the CloudFormation registry schema of
/// `AWS::AutoScaling::WarmPool`: PutWarmPool, DeleteWarmPool; DescribeWarmPool the group's
/// handlers call already) and nothing else; the calls that name a group stay on this environment's group.
#[test]
fn a_warm_pool_adds_only_the_pools_calls_scoped_to_the_environments_group() {
    let with = for_environments(&[lab("wp", "  warm_pool: {min_size: 1}\n")], ACCOUNT).unwrap();
    let without = for_environments(&[lab("wp", "")], ACCOUNT).unwrap();
    let docs = with.caller.documents();
    let added: Vec<String> = all_actions(&docs)
        .difference(&all_actions(&without.caller.documents()))
        .cloned()
        .collect();
    assert_eq!(
        added,
        ["autoscaling:DeleteWarmPool", "autoscaling:PutWarmPool"]
    );
    // DescribeWarmPool the group's own handlers already call.
    assert!(!granting(&docs, "autoscaling:DescribeWarmPool").is_empty());
    for action in ["autoscaling:PutWarmPool", "autoscaling:DeleteWarmPool"] {
        let grants = granting(&docs, action);
        assert!(!grants.is_empty(), "{action}");
        for s in grants {
            for r in resources(s) {
                assert!(r.contains("qfleet-wp-workers"), "{action}: {r}");
            }
        }
    }
}

/// Lambda checks that the principal creating or updating a function from a container image may
/// read it: ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on its repository (Lambda developer
/// guide, "Amazon ECR permissions"). Granted on exactly the image's repository, in the account
/// the URI names; never ecr:SetRepositoryPolicy (which would let the deployer rewrite who may
/// read the repository). Beside them, only teardown's reads and deletions of the repository
/// qfleet would have built images into (`qfleet/ENV`), which every environment gets.
#[test]
fn an_image_function_reads_exactly_its_repository_and_nothing_more_of_ecr() {
    let image = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/resizer@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let env = env_from(&format!(
        "environment: img\nregion: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n  lambda:\n    image: {image}\n"
    ));
    let d = for_environments(std::slice::from_ref(&env), ACCOUNT).unwrap();
    let docs = d.caller.documents();
    let repo = "arn:aws:ecr:eu-west-1:210987654321:repository/team/resizer";
    for action in IMAGE_ACTIONS {
        let found = granting(&docs, action);
        assert_eq!(found.len(), 1, "{action}: {found:?}");
        assert_eq!(resources(found[0]), vec![repo], "{action}");
    }
    let teardown = [
        "ecr:BatchDeleteImage",
        "ecr:DeleteRepository",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:ListTagsForResource",
    ];
    let own = format!("arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/qfleet/img");
    for action in teardown {
        let found = granting(&docs, action);
        let on: Vec<&str> = found.iter().flat_map(|s| resources(s)).collect();
        assert_eq!(on, vec![own.as_str()], "{action}");
    }
    let ecr: Vec<String> = all_actions(&docs)
        .into_iter()
        .filter(|a| a.starts_with("ecr:"))
        .collect();
    let mut expected: Vec<String> = IMAGE_ACTIONS
        .iter()
        .chain(&teardown)
        .map(|a| a.to_string())
        .collect();
    expected.sort();
    assert_eq!(ecr, expected);
    // Both names the function may have: a switch between a package and an image deletes the
    // other one.
    let deletes = granting(&docs, "lambda:DeleteFunction");
    let scoped: Vec<&str> = deletes.iter().flat_map(|s| resources(s)).collect();
    for name in ["qfleet-img-worker", "qfleet-img-worker-image"] {
        let arn = format!("arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{name}");
        assert!(scoped.contains(&arn.as_str()), "{arn} not in {scoped:?}");
    }
    // What the policy leaves to the repository's own policy is said, for this one only.
    let notes = repository_notes(&[env.clone(), lab("a", "")], ACCOUNT);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("img: ")
            && notes[0].contains(repo)
            && notes[0].contains("lambda.amazonaws.com"),
        "{notes:?}"
    );
    // A zip function and EC2 workers get teardown's reads and deletions of their own
    // repository, and no other ECR permission.
    for (other, name) in [
        (lab("a", ""), "a"),
        (
            env_from("environment: z\nregion: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n"),
            "z",
        ),
    ] {
        let docs = for_environments(&[other], ACCOUNT)
            .unwrap()
            .caller
            .documents();
        let ecr: Vec<String> = all_actions(&docs)
            .into_iter()
            .filter(|a| a.starts_with("ecr:"))
            .collect();
        assert_eq!(ecr, teardown.map(String::from).to_vec(), "{name}");
        let own = format!("arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/qfleet/{name}");
        for action in teardown {
            let on: Vec<String> = granting(&docs, action)
                .iter()
                .flat_map(|s| resources(s))
                .map(str::to_string)
                .collect();
            assert_eq!(on, vec![own.clone()], "{name} {action}");
        }
    }
}

/// Removing a stage is a deploy of the stack file without it: its policy still lets the deploy
/// check that the stage's fleet stack is gone and delete the stage's queues, because both are
/// scoped to the environment's stage names (`qfleet-ENV--…`), which no other environment's
/// names can take.
#[test]
fn a_stack_file_s_policy_covers_the_queues_and_the_fleet_check_of_a_stage_taken_out_of_it() {
    let d = for_environments(&[lab("a", "")], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    let granted = |action: &str| -> Vec<String> {
        granting(&docs, action)
            .into_iter()
            .flat_map(resources)
            .map(str::to_string)
            .collect()
    };
    assert!(
        granted("sqs:DeleteQueue")
            .contains(&"arn:aws:sqs:eu-west-1:123456789012:qfleet-a--*".to_string())
    );
    assert!(granted("cloudformation:DescribeStacks").contains(
        &"arn:aws:cloudformation:eu-west-1:123456789012:stack/qfleet-a--*/*".to_string()
    ));
    // Never beyond the environment's own stages.
    for action in [
        "sqs:DeleteQueue",
        "cloudformation:DescribeStacks",
        "cloudformation:DeleteStack",
    ] {
        for r in granted(action) {
            // Beside them, reading every environment's data stack: the search for what the
            // file made and no longer makes.
            let renamed =
                action == "cloudformation:DescribeStacks" && r.contains("stack/qfleet-*-data/");
            assert!(
                r == "*" || r.contains("qfleet-a-") || r.contains(":a-uploads-") || renamed,
                "{action} on {r}"
            );
        }
    }
    assert!(
        !granted("cloudformation:DeleteStack")
            .iter()
            .any(|r| r.contains("qfleet-a--")),
        "a stage's fleet is deleted by a teardown with the stage in the file, not by this policy"
    );
}

/// `scaling.metric: high_resolution` adds the publisher's rule and its invoke permission:
/// exactly the EventBridge rule's and the permission's handler calls, each scoped to the
/// environment's publisher by name; the function, role and log group calls the fleet already
/// needs cover the publisher's own only when it has one.
#[test]
fn a_high_resolution_metric_adds_only_its_publishers_calls_scoped_to_its_names() {
    let with = for_environments(
        &[lab("hr", "scaling: {metric: high_resolution}\n")],
        ACCOUNT,
    )
    .unwrap();
    let without = for_environments(&[lab("hr", "")], ACCOUNT).unwrap();
    let docs = with.caller.documents();
    let added: Vec<String> = all_actions(&docs)
        .difference(&all_actions(&without.caller.documents()))
        .cloned()
        .collect();
    // What creates, changes or reads a publisher: the deletions are in both (below).
    assert_eq!(
        added,
        [
            "events:ListTagsForResource",
            "events:PutRule",
            "events:PutTargets",
            "events:TagResource",
            "events:UntagResource",
            "lambda:AddPermission",
            "lambda:GetPolicy",
        ]
    );
    for action in &added {
        for s in granting(&docs, action) {
            for r in resources(s) {
                assert!(
                    r.ends_with(":rule/qfleet-hr-backlog-metric")
                        || r.contains(":function:qfleet-hr-"),
                    "{action}: {r}"
                );
            }
        }
    }
    let on = |docs: &[Value], action: &str, want: &str| {
        granting(docs, action)
            .iter()
            .any(|s| resources(s).iter().any(|r| r.contains(want)))
    };
    let without_docs = without.caller.documents();
    for (action, name) in [
        (
            "lambda:CreateFunction",
            ":function:qfleet-hr-backlog-metric",
        ),
        ("logs:CreateLogGroup", "/qfleet/hr/backlog-metric"),
    ] {
        assert!(on(&docs, action, name), "{action} on {name}");
        assert!(
            !on(&without_docs, action, name),
            "{action} on {name} without it"
        );
    }
    // Without the setting, exactly what deletes a publisher, on its names: the deploy that
    // turns the setting off runs under the policy of the file without it.
    for (action, name) in [
        ("events:DeleteRule", ":rule/qfleet-hr-backlog-metric"),
        ("events:RemoveTargets", ":rule/qfleet-hr-backlog-metric"),
        (
            "lambda:RemovePermission",
            ":function:qfleet-hr-backlog-metric",
        ),
        (
            "lambda:DeleteFunction",
            ":function:qfleet-hr-backlog-metric",
        ),
        ("logs:DeleteLogGroup", "/qfleet/hr/backlog-metric"),
    ] {
        assert!(
            on(&without_docs, action, name),
            "{action} on {name} without it"
        );
    }
    for action in ["events:DeleteRule", "events:RemoveTargets"] {
        for s in granting(&without_docs, action) {
            assert_eq!(
                resources(s),
                ["arn:aws:events:eu-west-1:123456789012:rule/qfleet-hr-backlog-metric"],
                "{action}"
            );
        }
    }
}

/// In a pipeline only the stage that sets `scaling.metric: high_resolution` has a publisher:
/// its rule and function names carry the stage, and the first stage's names get nothing.
#[test]
fn a_pipeline_stages_publisher_is_scoped_to_that_stages_names() {
    let env = env_from(
        "environment: pl\nregion: eu-west-1\nlab: true\nstages:\n  - name: parse\n    workers: {min: 1, max: 2, public_ip: true}\n  - name: index\n    workers: {min: 1, max: 2, public_ip: true}\n    scaling: {metric: high_resolution}\n",
    );
    let stages: Vec<Environment> = env.stages().into_iter().cloned().collect();
    let d = for_environments(&stages, ACCOUNT).unwrap();
    let docs = d.caller.documents();
    let rules: Vec<&str> = granting(&docs, "events:PutRule")
        .into_iter()
        .flat_map(resources)
        .collect();
    assert_eq!(
        rules,
        ["arn:aws:events:eu-west-1:123456789012:rule/qfleet-pl--index-backlog-metric"]
    );
    let functions: Vec<&str> = granting(&docs, "lambda:CreateFunction")
        .into_iter()
        .flat_map(resources)
        .collect();
    assert!(
        functions
            .iter()
            .any(|r| r.ends_with(":function:qfleet-pl--index-backlog-metric")),
        "{functions:?}"
    );
    assert!(
        !functions
            .iter()
            .any(|r| r.ends_with(":function:qfleet-pl-backlog-metric")),
        "{functions:?}"
    );
}

#[test]
fn a_policy_for_targets_with_a_role_says_what_assuming_it_needs() {
    let file = lab_file(
        "orders",
        "deploy_role: qfleet-deployer\ntargets:\n  - name: eu\n    account: '111111111111'\n",
    );
    let policies = policies(&file.expand(), "111111111111".to_string()).unwrap();
    assert!(
        policies.notes.iter().any(|n| n.contains(
            "the role qfleet assumes there (arn:aws:iam::111111111111:role/qfleet-deployer); the credentials qfleet runs with need sts:AssumeRole on it"
        )),
        "{:?}",
        policies.notes
    );
}

/// The names CloudFormation generates are matched by the start that any cut leaves
/// ([`scope::GeneratedNames`]): that needs the longest logical id of each such resource in
/// every shipped template, with every kind of workers.
#[test]
fn generated_name_patterns_know_the_longest_logical_id_of_every_shipped_template() {
    let root = crate::config::workspace_root();
    let kinds = [
        ("AWS::IAM::Role", "RoleName", scope::ROLE_NAMES),
        (
            "AWS::IAM::InstanceProfile",
            "InstanceProfileName",
            scope::PROFILE_NAMES,
        ),
        (
            "AWS::IAM::ManagedPolicy",
            "ManagedPolicyName",
            scope::POLICY_NAMES,
        ),
        ("AWS::SQS::Queue", "QueueName", scope::QUEUE_NAMES),
    ];
    let mut longest = BTreeMap::new();
    for dir in ["stacks", "examples"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            let Ok(file) = config::load(&path) else {
                continue;
            };
            for env in file.expand() {
                for kind in WorkerKind::ALL {
                    for stack in render::render(&as_kind(&env, kind)).unwrap() {
                        let doc: serde_yaml_ng::Value =
                            serde_yaml_ng::from_str(&stack.template).unwrap();
                        for (id, r) in doc["Resources"].as_mapping().unwrap() {
                            let t = r["Type"].as_str().unwrap_or_default();
                            let Some((_, name_key, _)) = kinds.iter().find(|k| k.0 == t) else {
                                continue;
                            };
                            if r["Properties"].get(*name_key).is_some() {
                                continue;
                            }
                            let len = id.as_str().unwrap().len();
                            let l = longest.entry(t.to_string()).or_insert(0);
                            *l = (*l).max(len);
                        }
                    }
                }
            }
        }
    }
    // A resource only some settings render (a team topic of another account's role) may be in
    // no example: every id the templates spell out counts too.
    for entry in std::fs::read_dir(root.join("templates")).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (id, ty, block) in literal_resources(&source) {
            let Some((_, name_key, _)) = kinds.iter().find(|k| k.0 == ty) else {
                continue;
            };
            if block.contains(&format!("      {name_key}:")) {
                continue;
            }
            let l = longest.entry(ty.to_string()).or_insert(0);
            *l = (*l).max(id.len());
        }
    }
    for (t, _, names) in kinds {
        let found = longest.get(t).copied().unwrap_or(0);
        assert!(found > 0, "{t}: no such resource rendered");
        assert!(found <= names.longest_logical_id, "{t}: {found}");
        // Tight where no stage's name makes the id.
        if !matches!(t, "AWS::SQS::Queue" | "AWS::IAM::ManagedPolicy") {
            assert_eq!(names.longest_logical_id, found, "{t}");
        }
    }
    // The pattern: all of a short stack's name, the start any cut leaves of a long one.
    assert_eq!(
        scope::ROLE_NAMES.pattern("qfleet-lab-fleet"),
        "qfleet-lab-fleet-*"
    );
    let long = scope::ROLE_NAMES.pattern("StackSet-qfleet-fleetsets-fleet");
    assert_eq!(long, "StackSet-qfleet-fleetsets-fle*");
    assert_eq!(long.len() - 1, 64 - 20 - 13 - 2);
}

/// The resources a template's source names literally (no `{{ }}` in the logical id): each
/// one's id, type and lines.
fn literal_resources(source: &str) -> Vec<(&str, &str, String)> {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(id) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) else {
            continue;
        };
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let Some(ty) = lines
            .get(i + 1)
            .and_then(|l| l.trim_start().strip_prefix("Type: "))
        else {
            continue;
        };
        let block: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| l.is_empty() || l.starts_with("    ") || l.starts_with("{%"))
            .copied()
            .collect();
        out.push((id, ty.trim(), block.join("\n")));
    }
    out
}

#[test]
fn literal_resources_are_read_from_a_template_source() {
    let source = "Resources:\n  TeamTopicRole:\n    Type: AWS::IAM::Role\n    Properties:\n      Path: /\n  Named:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: x\n  Stage{{ s }}Role:\n    Type: AWS::IAM::Role\n";
    let found = literal_resources(source);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        (found[0].0, found[0].1),
        ("TeamTopicRole", "AWS::IAM::Role")
    );
    assert!(!found[0].2.contains("RoleName"));
    assert!(found[1].2.contains("      RoleName: x"));
}

/// Issues 72 and 83: `plan` of a file with an owner looks for what it made and no longer
/// makes under any name (`environment:` renamed, the file renamed with it); the printed
/// policy lets it read every environment's data stack there (and only read them:
/// DescribeStacks), in the environment's own account and Region. Without an owner nothing
/// ties one by the file's name, and nothing beyond its own is read.
#[test]
fn the_search_for_what_a_file_no_longer_makes_reads_every_data_stack_and_nothing_more() {
    let unowned = for_environments(&[lab("course", "")], ACCOUNT)
        .unwrap()
        .caller
        .documents();
    let all: Vec<&str> = statements(&unowned)
        .into_iter()
        .flat_map(resources)
        .collect();
    assert!(
        !all.iter().any(|r| r.contains("stack/qfleet-*-data/")),
        "{all:?}"
    );
    let renamed = lab("course", "owner: shop\n");
    let docs = for_environments(&[renamed], ACCOUNT)
        .unwrap()
        .caller
        .documents();
    let pattern = format!("arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/qfleet-*-data/*");
    let describe: Vec<&str> = granting(&docs, "cloudformation:DescribeStacks")
        .into_iter()
        .flat_map(resources)
        .collect();
    assert!(describe.contains(&pattern.as_str()), "{describe:?}");
    for st in statements(&docs) {
        if resources(st).contains(&pattern.as_str()) {
            assert_eq!(actions(st), ["cloudformation:DescribeStacks"], "{st}");
        }
    }
}

/// A Lambda worker's deploy through CodeDeploy (templates/lambda.yaml.j2): CloudFormation's
/// handlers create the application and deployment group, and the alias's update policy has
/// CloudFormation create and follow each deployment
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatepolicy.html>).
/// Each CodeDeploy action names only the environment's application (named as the function:
/// either name), its deployment group and the two predefined configurations
/// `workers.lambda.deployment` chooses from; versions and the alias only on this function;
/// StopDeployment, which supports no resource type, stays on `*`.
#[test]
fn codedeploy_and_the_functions_versions_and_alias_are_held_to_this_environment() {
    let env = env_from("environment: z\nregion: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n");
    let docs = for_environments(&[env], ACCOUNT)
        .unwrap()
        .caller
        .documents();
    let on = |action: &str| -> Vec<String> {
        let mut r: Vec<String> = granting(&docs, action)
            .iter()
            .flat_map(|s| resources(s))
            .map(String::from)
            .collect();
        r.sort();
        r
    };
    let prefix = format!("arn:aws:codedeploy:eu-west-1:{ACCOUNT}");
    // One set for every CodeDeploy action (an action is authorized on the ARN of the
    // resource it acts on: an application's ARN grants a deployment group's action nothing).
    let mut own = vec![
        format!("{prefix}:application:qfleet-z-worker"),
        format!("{prefix}:application:qfleet-z-worker-image"),
        format!("{prefix}:deploymentgroup:qfleet-z-worker-image/workers"),
        format!("{prefix}:deploymentgroup:qfleet-z-worker/workers"),
        format!("{prefix}:deploymentconfig:CodeDeployDefault.LambdaCanary10Percent5Minutes"),
        format!("{prefix}:deploymentconfig:CodeDeployDefault.LambdaLinear10PercentEvery1Minute"),
    ];
    own.sort();
    for action in [
        "codedeploy:CreateApplication",
        "codedeploy:DeleteApplication",
        "codedeploy:CreateDeploymentGroup",
        "codedeploy:UpdateDeploymentGroup",
        "codedeploy:DeleteDeploymentGroup",
        "codedeploy:CreateDeployment",
        "codedeploy:GetDeployment",
        "codedeploy:GetDeploymentConfig",
    ] {
        assert_eq!(on(action), own, "{action}");
    }
    // No on-premises instance, nothing of EC2 deployments.
    assert!(granting(&docs, "codedeploy:RegisterOnPremisesInstance").is_empty());
    assert_eq!(on("codedeploy:StopDeployment"), ["*"]);
    // Versions and the alias are authorized on the function's ARN (the Service Authorization
    // Reference names the `function` type for these actions): this function's names only.
    for action in [
        "lambda:PublishVersion",
        "lambda:CreateAlias",
        "lambda:UpdateAlias",
        "lambda:DeleteAlias",
    ] {
        assert_eq!(
            on(action),
            ["qfleet-z-worker", "qfleet-z-worker-image"]
                .map(|n| format!("arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{n}")),
            "{action}"
        );
    }
    // Every CodeDeploy grant names this environment's resources, or `*` for StopDeployment.
    for s in statements(&docs) {
        if actions(s).iter().any(|a| a.starts_with("codedeploy:")) {
            for r in resources(s) {
                assert!(
                    r == "*"
                        || r.contains("qfleet-z-worker")
                        || r.contains(":deploymentconfig:CodeDeployDefault.Lambda"),
                    "{r}"
                );
            }
        }
    }
}

/// `alerts.topic` of another account: the data stack makes EventBridge's execution role
/// (eb-service-cross-account.html), so the deploy may create it and pass it to EventBridge
/// alone; a topic of the deploying account needs neither.
#[test]
fn a_team_topic_of_another_account_lets_the_deploy_pass_a_role_to_eventbridge_only() {
    let passed_to_events = |docs: &[Value]| -> Vec<String> {
        granting(docs, "iam:PassRole")
            .into_iter()
            .filter(|s| s["Condition"].to_string().contains("events.amazonaws.com"))
            .flat_map(resources)
            .map(str::to_string)
            .collect()
    };
    let creates = |docs: &[Value]| -> Vec<String> {
        granting(docs, "iam:CreateRole")
            .into_iter()
            .flat_map(resources)
            .map(str::to_string)
            .collect()
    };
    let elsewhere = lab(
        "al",
        "alerts:\n  topic: arn:aws:sns:eu-west-1:444455556666:oncall\n",
    );
    let d = for_environments(&[elsewhere], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    assert_eq!(
        passed_to_events(&docs),
        ["arn:aws:iam::123456789012:role/qfleet-al-data-*"]
    );
    assert!(
        creates(&docs).contains(&"arn:aws:iam::123456789012:role/qfleet-al-data-*".to_string()),
        "{:?}",
        creates(&docs)
    );
    let here = lab(
        "al",
        &format!("alerts:\n  topic: arn:aws:sns:eu-west-1:{ACCOUNT}:oncall\n"),
    );
    let d = for_environments(&[here], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    assert!(passed_to_events(&docs).is_empty());
    assert!(
        !creates(&docs).iter().any(|r| r.contains("qfleet-al-data-")),
        "{:?}",
        creates(&docs)
    );
}

/// `alerts` (docs/alerts.md): the chat channels' resources and plan's reads are granted to an
/// environment with Slack or Teams alone, each scoped to its names; the channels' role may be
/// passed to the chat service only.
#[test]
fn alerts_add_only_the_chat_channels_scoped_to_the_environments_names() {
    let plain = lab("al", "");
    let d = for_environments(&[plain], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    assert!(
        !all_actions(&docs).iter().any(|a| a.starts_with("chatbot:")),
        "no chat channel, no chatbot action"
    );
    let slack = lab(
        "al",
        "alerts:\n  email: ops@example.com\n  slack: {workspace: T0123ABCD, channel: C0123ABCD}\n",
    );
    let d = for_environments(&[slack], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    let configs: Vec<&str> = granting(&docs, "chatbot:CreateSlackChannelConfiguration")
        .into_iter()
        .chain(granting(&docs, "chatbot:DeleteSlackChannelConfiguration"))
        .flat_map(resources)
        .collect();
    assert!(!configs.is_empty());
    for r in &configs {
        assert!(
            *r == "*"
                || *r == "arn:aws:chatbot::123456789012:chat-configuration/*/qfleet-al-eu-west-1-*",
            "{r}"
        );
    }
    let deletes: Vec<&str> = granting(&docs, "chatbot:DeleteSlackChannelConfiguration")
        .into_iter()
        .flat_map(resources)
        .collect();
    assert_eq!(
        deletes,
        ["arn:aws:chatbot::123456789012:chat-configuration/*/qfleet-al-eu-west-1-*"]
    );
    for action in [
        "chatbot:DescribeSlackWorkspaces",
        "chatbot:ListMicrosoftTeamsConfiguredTeams",
    ] {
        let r: Vec<&str> = granting(&docs, action)
            .into_iter()
            .flat_map(resources)
            .collect();
        assert_eq!(r, ["*"], "{action}: no resource type");
    }
    let passes: Vec<&Value> = granting(&docs, "iam:PassRole")
        .into_iter()
        .filter(|s| s["Condition"].to_string().contains("chatbot.amazonaws.com"))
        .collect();
    assert_eq!(passes.len(), 1);
    assert_eq!(
        resources(passes[0]),
        ["arn:aws:iam::123456789012:role/qfleet-al-data-*"]
    );
    let rules: Vec<&str> = granting(&docs, "events:PutRule")
        .into_iter()
        .flat_map(resources)
        .collect();
    assert!(
        rules.contains(&"arn:aws:events:eu-west-1:123456789012:rule/qfleet-al-rolled-back"),
        "{rules:?}"
    );
    let topics: Vec<&str> = granting(&docs, "sns:CreateTopic")
        .into_iter()
        .flat_map(resources)
        .collect();
    assert!(
        topics.contains(&"arn:aws:sns:eu-west-1:123456789012:qfleet-al-alerts"),
        "{topics:?}"
    );
}

/// An image promoted from another environment (`promote_from: staging`): the deploy reads
/// staging's repository (its tags, the image's manifest and layers) and staging's fleet
/// template for the stage, and writes only its own repository. Nothing else of staging, and
/// nothing of it at all without `promote_from`.
#[test]
fn a_promoted_image_reads_exactly_the_other_environments_repository_and_fleet_template() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let load = |extra: &str| {
        let p = dir.path().join("prod.yaml");
        std::fs::write(
            &p,
            format!("environment: prod\nregion: eu-west-1\nlab: true\nworkers:\n  kind: fargate\n  image:\n    build:\n      engine: podman\n{extra}"),
        )
        .unwrap();
        config::load(&p).unwrap().into_only()
    };
    let promoting = load("      promote_from: staging\n");
    let docs = for_environments(&[promoting], ACCOUNT)
        .unwrap()
        .caller
        .documents();
    let staging = format!("arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/qfleet/staging");
    let own = format!("arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/qfleet/prod");
    let on = |action: &str| -> Vec<String> {
        granting(&docs, action)
            .into_iter()
            .flat_map(resources)
            .map(str::to_string)
            .collect()
    };
    assert_eq!(on("ecr:GetDownloadUrlForLayer"), vec![staging.clone()]);
    for action in [
        "ecr:DescribeRepositories",
        "ecr:ListTagsForResource",
        "ecr:BatchGetImage",
    ] {
        let mut got = on(action);
        got.sort();
        assert_eq!(got, vec![own.clone(), staging.clone()], "{action}");
    }
    for action in [
        "ecr:BatchCheckLayerAvailability",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
    ] {
        assert_eq!(on(action), vec![own.clone()], "{action}: written only here");
    }
    let template =
        format!("arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/qfleet-staging-fleet/*");
    assert!(on("cloudformation:GetTemplate").contains(&template));
    let mut of_staging: Vec<String> = all_actions(&docs)
        .into_iter()
        .filter(|a| on(a).iter().any(|r| r.contains("staging")))
        .collect();
    of_staging.sort();
    assert_eq!(
        of_staging,
        [
            "cloudformation:GetTemplate",
            "ecr:BatchGetImage",
            "ecr:DescribeRepositories",
            "ecr:GetDownloadUrlForLayer",
            "ecr:ListTagsForResource",
        ],
        "staging is granted only the promotion's reads"
    );
    // Without promote_from, nothing of staging.
    let docs = for_environments(&[load("")], ACCOUNT)
        .unwrap()
        .caller
        .documents();
    let everything: String = docs.iter().map(|d| d.to_string()).collect();
    assert!(!everything.contains("staging"), "{everything}");
}

/// `budget`: the budget's actions on this environment's budget alone (its name ends in eight
/// characters of digest, each a `?`), and the account's default billing view read; without a
/// budget, neither.
#[test]
fn a_budget_is_granted_on_its_own_name_and_the_default_billing_view_alone() {
    let env = lab(
        "bud",
        "alerts: {email: a@example.com}\nbudget: {amount: 50}\n",
    );
    let d = for_environments(&[env], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    for action in [
        "budgets:ModifyBudget",
        "budgets:ViewBudget",
        "budgets:TagResource",
    ] {
        let grants = granting(&docs, action);
        assert_eq!(grants.len(), 1, "{action}");
        assert_eq!(
            resources(grants[0]),
            [format!(
                "arn:aws:budgets::{ACCOUNT}:budget/qfleet-bud-eu-west-1-????????"
            )],
            "{action}"
        );
    }
    let view = granting(&docs, "billing:GetBillingViewData");
    assert_eq!(
        view.iter().flat_map(|s| resources(s)).collect::<Vec<_>>(),
        [format!("arn:aws:billing::{ACCOUNT}:billingview/primary")]
    );
    // The pattern matches the budget's own name, and not that of an environment whose name
    // ends in a Region (`bud-eu-west-1`, in us-east-1).
    let pattern = format!("qfleet-bud-eu-west-1-{}", "?".repeat(8));
    let matches = |name: &str| {
        name.len() == pattern.len()
            && name
                .chars()
                .zip(pattern.chars())
                .all(|(n, p)| p == '?' || n == p)
    };
    let b = lab(
        "bud",
        "alerts: {email: a@example.com}\nbudget: {amount: 50}\n",
    );
    let own = crate::render::budget_name(&b, b.spec.budget.as_ref().unwrap());
    assert!(matches(&own), "{own}");
    let other = file_from(
        "environment: bud-eu-west-1\nregion: us-east-1\nalerts: {email: a@example.com}\nbudget: {amount: 50}\n",
    )
    .into_only();
    let theirs = crate::render::budget_name(&other, other.spec.budget.as_ref().unwrap());
    assert!(!matches(&theirs), "{theirs}");
    // With a service role, CloudFormation's handlers act as it: the caller keeps status's
    // read of the budget alone (DescribeBudget), on the same name.
    let served = lab(
        "bud",
        &format!(
            "alerts: {{email: a@example.com}}\nbudget: {{amount: 50}}\nservice_role_arn: arn:aws:iam::{ACCOUNT}:role/cfn\n"
        ),
    );
    let d = for_environments(&[served], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    let reads = granting(&docs, "budgets:ViewBudget");
    assert_eq!(
        reads.iter().flat_map(|s| resources(s)).collect::<Vec<_>>(),
        [format!(
            "arn:aws:budgets::{ACCOUNT}:budget/qfleet-bud-eu-west-1-????????"
        )]
    );
    assert!(granting(&docs, "budgets:ModifyBudget").is_empty());
    let none = for_environments(&[lab("bud", "")], ACCOUNT).unwrap();
    let docs = none.caller.documents();
    assert!(granting(&docs, "budgets:ModifyBudget").is_empty());
    assert!(granting(&docs, "billing:GetBillingViewData").is_empty());
    assert!(granting(&docs, "budgets:ViewBudget").is_empty());
}

/// Lambda Managed Instances: the deployer creates, updates and deletes exactly this
/// environment's capacity provider (`qfleet-ENV-capacity-` and eight `?`, the digest of its
/// create-only properties), passes the fleet's roles (the operator role among them) to Lambda
/// alone, and lets the function's handler put the function on it (lambda:PassCapacityProvider
/// on the capacity provider, AWS::Lambda::Function's handler permissions). Without managed
/// instances nothing of a capacity provider is granted.
#[test]
fn a_capacity_provider_is_this_environments_alone_and_its_role_passed_to_lambda_only() {
    let managed = env_from(
        "environment: z\nregion: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n  network:\n    vpc: vpc-0a1b2c3d4e5f67890\n    subnets:\n      eu-west-1a: subnet-0a1b2c3d4e5f67890\n      eu-west-1b: subnet-1a1b2c3d4e5f67890\n  lambda:\n    runtime: python3.13\n    memory_mb: 2048\n    managed_instances: {max_vcpus: 8}\n",
    );
    let provider =
        format!("arn:aws:lambda:eu-west-1:{ACCOUNT}:capacity-provider:qfleet-z-capacity-????????");
    // The rendered name matches the pattern it is granted by.
    let fleet = crate::render::render(&managed)
        .unwrap()
        .into_iter()
        .find(|s| s.stack_name.ends_with("-fleet"))
        .unwrap();
    let name = fleet
        .template
        .lines()
        .find_map(|l| l.trim().strip_prefix("CapacityProviderName: "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    assert!(
        name.starts_with("qfleet-z-capacity-") && name.len() == "qfleet-z-capacity-".len() + 8,
        "{name}"
    );
    let docs = for_environments(&[managed], ACCOUNT)
        .unwrap()
        .caller
        .documents();
    for action in [
        "lambda:CreateCapacityProvider",
        "lambda:UpdateCapacityProvider",
        "lambda:DeleteCapacityProvider",
        "lambda:GetCapacityProvider",
        "lambda:PassCapacityProvider",
    ] {
        let granted: Vec<&str> = granting(&docs, action)
            .iter()
            .flat_map(|s| resources(s))
            .collect();
        assert_eq!(granted, [provider.as_str()], "{action}");
    }
    // Tagging reaches the provider beside the functions, nothing else of Lambda's.
    let tag: Vec<&str> = granting(&docs, "lambda:TagResource")
        .iter()
        .flat_map(|s| resources(s))
        .collect();
    assert!(tag.contains(&provider.as_str()), "{tag:?}");
    assert!(
        tag.iter().all(|r| r.contains(":function:qfleet-z-")
            || *r == provider
            || r.contains(":event-source-mapping:")),
        "{tag:?}"
    );
    // The operator role is one of the fleet stack's roles, passed to Lambda alone (besides the
    // other kinds' services, as for every environment).
    let pass: Vec<&Value> = granting(&docs, "iam:PassRole");
    assert!(pass.iter().any(|s| {
        resources(s) == [format!("arn:aws:iam::{ACCOUNT}:role/qfleet-z-fleet-*")]
            && s["Condition"]["StringEquals"]["iam:PassedToService"] == "lambda.amazonaws.com"
    }));
    // Without managed instances (any kind): only what deletes this environment's provider, so
    // that a deploy turning the block off may remove it; nothing creates one or puts a function
    // on one.
    for kind in [
        "lambda",
        "ec2",
        "fargate\n  image: public.ecr.aws/docker/library/python:3.12",
    ] {
        let plain = env_from(&format!(
            "environment: z\nregion: eu-west-1\nlab: true\nworkers:\n  kind: {kind}\n"
        ));
        let docs = for_environments(&[plain], ACCOUNT)
            .unwrap()
            .caller
            .documents();
        for action in [
            "lambda:CreateCapacityProvider",
            "lambda:UpdateCapacityProvider",
            "lambda:PassCapacityProvider",
        ] {
            assert!(granting(&docs, action).is_empty(), "{kind}: {action}");
        }
        for action in [
            "lambda:DeleteCapacityProvider",
            "lambda:GetCapacityProvider",
        ] {
            let granted: Vec<&str> = granting(&docs, action)
                .iter()
                .flat_map(|s| resources(s))
                .collect();
            assert_eq!(granted, [provider.as_str()], "{kind}: {action}");
        }
    }
}

/// The deploying policy names a cluster's Managed Instances capacity providers by one pattern
/// that holds both of its names, and no other environment's (an environment's name holds no
/// underscore).
#[test]
fn the_capacity_providers_are_granted_by_a_pattern_of_this_environment_alone() {
    let env = env_from(
        "environment: a\nregion: eu-west-1\nlab: true\nworkers:\n  kind: ecs_managed\n  image: public.ecr.aws/docker/library/python:3.12\n",
    );
    let names = crate::render::ResourceNames::of(&env);
    let other = crate::render::ResourceNames::of(&env_from(
        "environment: a-b\nregion: eu-west-1\nlab: true\n",
    ));
    let d = for_environments(&[env], ACCOUNT).unwrap();
    let docs = d.caller.documents();
    let arn = |name: &str| format!("arn:aws:ecs:eu-west-1:{ACCOUNT}:capacity-provider/{name}");
    let glob = |pattern: &str, text: &str| match pattern.strip_suffix('*') {
        Some(prefix) => text.starts_with(prefix),
        None => pattern == text,
    };
    let patterns: Vec<&str> = granting(&docs, "ecs:CreateCapacityProvider")
        .into_iter()
        .flat_map(resources)
        .filter(|r| r.contains(":capacity-provider/"))
        .collect();
    assert_eq!(patterns.len(), 1, "{patterns:?}");
    for mine in [&names.on_demand_provider, &names.spot_provider] {
        assert!(glob(patterns[0], &arn(mine)), "{} {mine}", patterns[0]);
    }
    for theirs in [&other.on_demand_provider, &other.spot_provider] {
        assert!(!glob(patterns[0], &arn(theirs)), "{} {theirs}", patterns[0]);
    }
}
