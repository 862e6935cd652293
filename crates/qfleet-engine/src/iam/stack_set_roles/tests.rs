//! The StackSets policies, decided by an IAM policy evaluator (iam-rs) on the ARNs AWS
//! authorizes StackSets calls and the execution role's calls against. No emulator here runs
//! StackSets with IAM, so these requests are built from AWS's documented ARN formats.

use super::*;
use iam_rs::{Arn, Context, ContextValue, Decision, IAMPolicy, IAMRequest, Principal, PrincipalId};
use serde_json::Value;
use std::collections::BTreeMap;

/// The account that holds the stack sets; the example's targets are in 111122223333
/// (eu-west-1 and us-east-1) and 444455556666 (eu-west-1).
const ADMIN: &str = "999999999999";
const UUID: &str = "1b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d";

fn targets() -> Vec<Environment> {
    let root = crate::config::workspace_root();
    crate::config::load(&root.join("examples/stack-sets.yaml"))
        .unwrap()
        .expand()
}

fn policies() -> crate::iam::Policies {
    crate::iam::policies(&targets(), ADMIN.to_string()).unwrap()
}

fn decide(docs: &[Value], action: &str, arn: &str, context: &[(&str, &str)]) -> Decision {
    let policies: Vec<IAMPolicy> = docs
        .iter()
        .map(|d| IAMPolicy::from_json(&d.to_string()).unwrap())
        .collect();
    let mut ctx = Context::new();
    for (k, v) in context {
        ctx.insert(k.to_string(), ContextValue::String(v.to_string()));
    }
    let request = IAMRequest::new_with_context(
        Principal::Aws(PrincipalId::String(format!(
            "arn:aws:sts::{ADMIN}:assumed-role/deployer/ci"
        ))),
        action,
        Arn::parse(arn).unwrap_or_else(|e| panic!("{arn}: {e:?}")),
        ctx,
    );
    iam_rs::evaluate_policies(&policies, &request).unwrap()
}

fn allowed(docs: &[Value], action: &str, arn: &str) -> bool {
    decide(docs, action, arn, &[]) == Decision::Allow
}

fn role<'a>(roles: &'a BTreeMap<String, Vec<Value>>, arn: &str) -> &'a [Value] {
    roles
        .get(arn)
        .unwrap_or_else(|| panic!("{arn} in {:?}", roles.keys()))
}

const EXECUTION_111: &str = "arn:aws:iam::111122223333:role/AWSCloudFormationStackSetExecutionRole";
const EXECUTION_444: &str = "arn:aws:iam::444455556666:role/AWSCloudFormationStackSetExecutionRole";
const ADMINISTRATION: &str =
    "arn:aws:iam::999999999999:role/AWSCloudFormationStackSetAdministrationRole";

/// The caller makes every StackSets call qfleet makes on the file's stack sets, in the account
/// and region that hold them, for the targets' accounts and the templates' resource types,
/// and on nothing else.
#[test]
fn the_caller_makes_each_stack_sets_call_on_its_files_stack_sets_only() {
    let p = policies();
    let caller = &p.own.caller;
    let set = |name: &str, account: &str, region: &str| {
        format!("arn:aws:cloudformation:{region}:{account}:stackset/{name}:{UUID}")
    };
    for call in crate::iam::calls::STACK_SETS_CALLS {
        for action in call.actions {
            for name in ["qfleet-fleetsets-data", "qfleet-fleetsets-fleet"] {
                let ours = set(name, ADMIN, "eu-west-1");
                assert!(allowed(caller, action, &ours), "{action} {ours}");
            }
            if *action == "cloudformation:CreateStackSet" {
                // AWS lets no policy scope it ("*" only).
                continue;
            }
            for other in [
                set("qfleet-other-data", ADMIN, "eu-west-1"),
                set("qfleet-fleetsets-eu1-data", ADMIN, "eu-west-1"),
                set("qfleet-fleetsets-data", "111122223333", "eu-west-1"),
                set("qfleet-fleetsets-data", ADMIN, "us-east-1"),
            ] {
                assert!(!allowed(caller, action, &other), "{action} {other}");
            }
        }
    }
    // An instance operation's targets: the file's accounts only.
    let target = |account: &str| {
        format!(
            "arn:aws:cloudformation:eu-west-1:{ADMIN}:stackset-target/qfleet-fleetsets-data:{UUID}/{account}"
        )
    };
    for action in [
        "cloudformation:CreateStackInstances",
        "cloudformation:UpdateStackInstances",
        "cloudformation:DeleteStackInstances",
        "cloudformation:UpdateStackSet",
    ] {
        for account in ["111122223333", "444455556666"] {
            assert!(allowed(caller, action, &target(account)), "{action}");
        }
        assert!(
            !allowed(caller, action, &target("777777777777")),
            "{action}"
        );
        // A public type's ARN, with no account (as AWS's denials name it) or with one.
        for account in ["", ADMIN] {
            let t = |name: &str| {
                format!("arn:aws:cloudformation:eu-west-1:{account}:type/resource/{name}")
            };
            assert!(allowed(caller, action, &t("AWS-SQS-Queue")), "{action}");
            assert!(!allowed(caller, action, &t("AWS-IAM-User")), "{action}");
        }
    }
    // The administration role, only to CloudFormation.
    let pass = |service: &str| {
        decide(
            caller,
            "iam:PassRole",
            ADMINISTRATION,
            &[("iam:PassedToService", service)],
        )
    };
    assert_eq!(pass("cloudformation.amazonaws.com"), Decision::Allow);
    assert_ne!(pass("ec2.amazonaws.com"), Decision::Allow);
    // The role qfleet assumes in each target's account (the file's deploy_role there).
    for account in ["111122223333", "444455556666"] {
        let reader = format!("arn:aws:iam::{account}:role/qfleet-reader");
        assert!(allowed(caller, "sts:AssumeRole", &reader), "{reader}");
    }
    assert!(!allowed(
        caller,
        "sts:AssumeRole",
        "arn:aws:iam::111122223333:role/admin"
    ));
    // The caller deploys nothing itself: no handler's action, no data of a target.
    assert!(!allowed(
        caller,
        "sqs:CreateQueue",
        "arn:aws:sqs:eu-west-1:111122223333:qfleet-fleetsets-eu1-jobs"
    ));
    assert!(!allowed(
        caller,
        "sqs:GetQueueAttributes",
        "arn:aws:sqs:eu-west-1:111122223333:qfleet-fleetsets-eu1-jobs"
    ));
}

#[test]
fn the_administration_role_assumes_the_targets_execution_roles_only() {
    let p = policies();
    let admin = role(&p.own.service_roles, ADMINISTRATION);
    assert!(allowed(admin, "sts:AssumeRole", EXECUTION_111));
    assert!(allowed(admin, "sts:AssumeRole", EXECUTION_444));
    assert!(!allowed(
        admin,
        "sts:AssumeRole",
        "arn:aws:iam::777777777777:role/AWSCloudFormationStackSetExecutionRole"
    ));
    assert!(!allowed(
        admin,
        "sts:AssumeRole",
        "arn:aws:iam::111122223333:role/qfleet-reader"
    ));
    assert!(!allowed(
        admin,
        "sqs:CreateQueue",
        "arn:aws:sqs:eu-west-1:111122223333:qfleet-fleetsets-eu1-jobs"
    ));
    // Named by the file: rollout.execution_role, rollout.administration_role.
    let mut envs = targets();
    for e in &mut envs {
        e.spec.rollout.execution_role = Some("fleet-exec".into());
        e.spec.rollout.administration_role =
            Some("arn:aws:iam::999999999999:role/fleet-admin".into());
    }
    let named = crate::iam::policies(&envs, ADMIN.to_string()).unwrap();
    let admin = role(
        &named.own.service_roles,
        "arn:aws:iam::999999999999:role/fleet-admin",
    );
    assert!(allowed(
        admin,
        "sts:AssumeRole",
        "arn:aws:iam::444455556666:role/fleet-exec"
    ));
    assert!(!allowed(admin, "sts:AssumeRole", EXECUTION_444));
    assert!(
        named
            .own
            .service_roles
            .contains_key("arn:aws:iam::111122223333:role/fleet-exec")
    );
}

/// What CloudFormation generates for a resource of the instance's stack when the whole name
/// would be too long: the stack's name cut (as in AWS's example of a stack set instance's
/// queue), or its logical id cut instead; both ways the result must be allowed.
fn generated(stack: &str, logical: &str, limit: usize) -> Vec<String> {
    let random = "ABCDEFGHIJKLM";
    let room = limit - logical.len() - random.len() - 2;
    let cut_stack: String = stack.chars().take(room).collect();
    let keep_stack = stack.len().min(limit - random.len() - 2 - 1);
    let stack_whole: String = stack.chars().take(keep_stack).collect();
    let logical_room = limit - stack_whole.len() - random.len() - 2;
    let cut_logical: String = logical.chars().take(logical_room.max(1)).collect();
    vec![
        format!("{cut_stack}-{logical}-{random}"),
        format!("{stack_whole}-{cut_logical}-{random}"),
    ]
}

#[test]
fn the_execution_role_creates_a_targets_resources_under_the_names_cloudformation_gives_them() {
    let p = policies();
    let exec = role(&p.own.service_roles, EXECUTION_111);
    let data = format!("StackSet-qfleet-fleetsets-data-{UUID}");
    let fleet = format!("StackSet-qfleet-fleetsets-fleet-{UUID}");
    for region in ["eu-west-1", "us-east-1"] {
        for stack in [&data, &fleet] {
            let arn = format!("arn:aws:cloudformation:{region}:111122223333:stack/{stack}/{UUID}");
            for action in EXECUTION_ON_STACKS {
                assert!(allowed(exec, action, &arn), "{action} {arn}");
            }
        }
    }
    for other in [
        format!("stack/StackSet-qfleet-other-data-{UUID}/{UUID}"),
        format!("stack/qfleet-fleetsets-eu1-data/{UUID}"),
        // A file named `fleetsets-data`: its stack sets' names start as this file's do.
        format!("stack/StackSet-qfleet-fleetsets-data-data-{UUID}/{UUID}"),
        format!("stack/StackSet-qfleet-fleetsets-data-fleet-{UUID}/{UUID}"),
    ] {
        let arn = format!("arn:aws:cloudformation:eu-west-1:111122223333:{other}");
        assert!(!allowed(exec, "cloudformation:CreateStack", &arn), "{arn}");
    }
    for name in generated(&fleet, "WorkerExecutionRole", 64) {
        assert!(name.len() <= 64, "{name}");
        let arn = format!("arn:aws:iam::111122223333:role/{name}");
        assert!(allowed(exec, "iam:CreateRole", &arn), "{arn}");
        assert!(
            decide(
                exec,
                "iam:PassRole",
                &arn,
                &[("iam:PassedToService", "ec2.amazonaws.com")]
            ) == Decision::Allow,
            "{arn}"
        );
    }
    for name in generated(&data, "DeadLetterQueue", 80) {
        let arn = format!("arn:aws:sqs:eu-west-1:111122223333:{name}");
        assert!(allowed(exec, "sqs:CreateQueue", &arn), "{arn}");
    }
    let queue =
        |account: &str, env: &str| format!("arn:aws:sqs:eu-west-1:{account}:qfleet-{env}-jobs");
    assert!(allowed(
        exec,
        "sqs:CreateQueue",
        &queue("111122223333", "fleetsets-eu1")
    ));
    // Another target's resources, another account's, another file's roles.
    assert!(!allowed(
        exec,
        "sqs:CreateQueue",
        &queue("111122223333", "fleetsets-eu2")
    ));
    assert!(!allowed(
        exec,
        "sqs:CreateQueue",
        &queue("444455556666", "fleetsets-eu2")
    ));
    assert!(!allowed(
        exec,
        "iam:CreateRole",
        &format!("arn:aws:iam::111122223333:role/StackSet-qfleet-other-fleet-{UUID}")
    ));
    assert!(!allowed(
        exec,
        "iam:CreateRole",
        "arn:aws:iam::111122223333:role/AWSCloudFormationStackSetExecutionRole"
    ));
    // The other account's execution role acts on that account's target only.
    let exec444 = role(&p.own.service_roles, EXECUTION_444);
    assert!(allowed(
        exec444,
        "sqs:CreateQueue",
        &queue("444455556666", "fleetsets-eu2")
    ));
    assert!(!allowed(
        exec444,
        "sqs:CreateQueue",
        &queue("444455556666", "fleetsets-eu1")
    ));
    // The job table of an instance's data stack.
    let mut envs = targets();
    for e in &mut envs {
        e.spec.jobs = Some(Default::default());
    }
    let jobs = crate::iam::policies(&envs, ADMIN.to_string()).unwrap();
    let exec = role(&jobs.own.service_roles, EXECUTION_111);
    let table =
        format!("arn:aws:dynamodb:eu-west-1:111122223333:table/{data}-JobTable-ABCDEFGHIJKL");
    assert!(allowed(exec, "dynamodb:CreateTable", &table), "{table}");
    assert!(!allowed(
        exec,
        "dynamodb:CreateTable",
        "arn:aws:dynamodb:eu-west-1:111122223333:table/qfleet-fleetsets-eu1-data-JobTable-ABC"
    ));
}

/// qfleet's own calls in a target's account (status, the bake's alarms, dlq, teardown's
/// checks) are the role's it assumes there; the handlers' are not.
#[test]
fn qfleets_own_calls_in_a_target_account_are_the_role_s_it_assumes_there() {
    let p = policies();
    let reader = role(
        &p.own.target_roles,
        "arn:aws:iam::111122223333:role/qfleet-reader",
    );
    let stack = format!(
        "arn:aws:cloudformation:us-east-1:111122223333:stack/StackSet-qfleet-fleetsets-data-{UUID}/{UUID}"
    );
    assert!(allowed(reader, "cloudformation:DescribeStacks", &stack));
    assert!(allowed(
        reader,
        "sqs:GetQueueAttributes",
        "arn:aws:sqs:us-east-1:111122223333:qfleet-fleetsets-us1-jobs"
    ));
    assert!(allowed(
        reader,
        "cloudwatch:DescribeAlarms",
        "arn:aws:cloudwatch:us-east-1:111122223333:alarm:StackSet-qfleet-fleetsets-data-x"
    ));
    assert!(!allowed(
        reader,
        "sqs:CreateQueue",
        "arn:aws:sqs:us-east-1:111122223333:qfleet-fleetsets-us1-jobs"
    ));
    // StackSets changes and deletes the instances' stacks: qfleet never does there.
    for action in [
        "cloudformation:CreateStack",
        "cloudformation:DeleteStack",
        "cloudformation:CreateChangeSet",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:ContinueUpdateRollback",
    ] {
        assert!(!allowed(reader, action, &stack), "{action}");
    }
    assert!(allowed(
        reader,
        "cloudformation:UpdateTerminationProtection",
        &stack
    ));
    assert!(!allowed(
        reader,
        "sqs:GetQueueAttributes",
        "arn:aws:sqs:eu-west-1:444455556666:qfleet-fleetsets-eu2-jobs"
    ));
    // Without a role there, qfleet acts as the caller.
    let mut envs = targets();
    for e in &mut envs {
        if let Some(t) = e.target.as_mut() {
            t.role_arn = None;
        }
    }
    let own = crate::iam::policies(&envs, ADMIN.to_string()).unwrap();
    assert!(own.own.target_roles.is_empty());
    assert!(allowed(
        &own.own.caller,
        "sqs:GetQueueAttributes",
        "arn:aws:sqs:us-east-1:111122223333:qfleet-fleetsets-us1-jobs"
    ));
    assert!(!allowed(
        &own.own.caller,
        "sts:AssumeRole",
        "arn:aws:iam::111122223333:role/qfleet-reader"
    ));
}

/// Every document: no wildcard action, within a managed policy's size; the notes say what
/// the roles' trust policies need.
#[test]
fn every_stack_sets_document_is_a_managed_policy_without_a_wildcard_action() {
    let p = policies();
    let docs = p
        .own
        .caller
        .iter()
        .chain(p.own.service_roles.values().flatten())
        .chain(p.own.target_roles.values().flatten());
    for doc in docs {
        let text = doc.to_string();
        assert!(
            text.len() <= crate::iam::policy::MANAGED_POLICY_LIMIT + 200,
            "{}",
            text.len()
        );
        for s in doc["Statement"].as_array().unwrap() {
            for a in s["Action"].as_array().unwrap() {
                assert!(!a.as_str().unwrap().contains('*'), "{a}");
            }
        }
    }
    let note = p
        .notes
        .iter()
        .find(|n| n.starts_with("StackSets:"))
        .expect("a note on the roles' trust");
    assert!(
        note.contains("aws:SourceAccount 999999999999")
            && note.contains(EXECUTION_111)
            && note.contains(EXECUTION_444),
        "{note}"
    );
}

/// The execution role's CloudFormation actions are every action AWS lets a policy scope to a
/// stack, but stack refactors; its reads take no resource.
#[test]
fn the_execution_roles_cloudformation_actions_follow_the_service_authorization_reference() {
    let reference = crate::iam::reference::get().unwrap();
    let listed: BTreeSet<String> = EXECUTION_ON_STACKS
        .iter()
        .map(|a| a.to_ascii_lowercase())
        .collect();
    let on_stacks: BTreeSet<String> = reference
        .actions()
        .filter(|(a, types)| {
            a.starts_with("cloudformation:")
                && types.iter().any(|t| t == "stack")
                && !a.contains("stackrefactor")
        })
        .map(|(a, _)| a.to_string())
        .collect();
    assert_eq!(listed, on_stacks);
    for a in EXECUTION_READS {
        assert_eq!(reference.resource_types(a), Some(&[][..]), "{a}");
    }
}

/// Service-managed permissions: AWS Organizations gives StackSets its roles, so no
/// administration or execution role is printed, and nothing is passed; the caller's instance
/// operations are allowed on the stack set targets of the file's accounts and of their units
/// (AWS does not say which of the two it authorizes), and on no other account or unit.
#[test]
fn service_managed_needs_no_stack_sets_roles_and_targets_the_files_accounts_and_units() {
    let envs = crate::config::stack_sets_service_managed().expand();
    let p = crate::iam::policies(&envs, ADMIN.to_string()).unwrap();
    assert!(
        p.own.service_roles.is_empty(),
        "{:?}",
        p.own.service_roles.keys()
    );
    let caller = &p.own.caller;
    let pass = decide(
        caller,
        "iam:PassRole",
        ADMINISTRATION,
        &[("iam:PassedToService", "cloudformation.amazonaws.com")],
    );
    assert_ne!(pass, Decision::Allow);
    let target = |to: &str| {
        format!(
            "arn:aws:cloudformation:eu-west-1:{ADMIN}:stackset-target/qfleet-fleetsets-data:{UUID}/{to}"
        )
    };
    for action in [
        "cloudformation:CreateStackInstances",
        "cloudformation:UpdateStackInstances",
        "cloudformation:DeleteStackInstances",
        "cloudformation:UpdateStackSet",
    ] {
        for to in [
            "111122223333",
            "444455556666",
            "ou-ab12-34cd56ef",
            "ou-ab12-99zz88yy",
        ] {
            assert!(allowed(caller, action, &target(to)), "{action} {to}");
        }
        for other in ["777777777777", "ou-ab12-00000000", "r-ab12"] {
            assert!(!allowed(caller, action, &target(other)), "{action} {other}");
        }
    }
    // The roles qfleet assumes in the targets' accounts are unchanged.
    assert_eq!(
        p.own.target_roles.keys().collect::<Vec<_>>(),
        [
            "arn:aws:iam::111122223333:role/qfleet-reader",
            "arn:aws:iam::444455556666:role/qfleet-reader"
        ]
    );
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("trusted access with AWS Organizations")
                && n.contains(ADMIN)
                && !n.contains("AWSCloudFormationStackSetAdministrationRole")),
        "{:?}",
        p.notes
    );
}

/// A delegated administrator (ADMIN here) acts on stack sets the organization's management
/// account holds, which the file does not name: the caller's StackSets calls name the file's
/// stack sets in any account, by name, and nothing else; the note says what to register.
#[test]
fn a_delegated_administrator_acts_on_the_files_stack_sets_in_the_management_account() {
    let mut envs = crate::config::stack_sets_service_managed().expand();
    for e in &mut envs {
        e.spec.rollout.call_as = crate::config::CallAs::DelegatedAdmin;
    }
    let p = crate::iam::policies(&envs, ADMIN.to_string()).unwrap();
    let caller = &p.own.caller;
    let management = "555555555555";
    let set = |name: &str, account: &str| {
        format!("arn:aws:cloudformation:eu-west-1:{account}:stackset/{name}:{UUID}")
    };
    for action in [
        "cloudformation:DescribeStackSet",
        "cloudformation:UpdateStackSet",
    ] {
        assert!(allowed(
            caller,
            action,
            &set("qfleet-fleetsets-data", management)
        ));
        assert!(!allowed(
            caller,
            action,
            &set("qfleet-other-data", management)
        ));
    }
    let target = |to: &str| {
        format!(
            "arn:aws:cloudformation:eu-west-1:{management}:stackset-target/qfleet-fleetsets-data:{UUID}/{to}"
        )
    };
    assert!(allowed(
        caller,
        "cloudformation:CreateStackInstances",
        &target("ou-ab12-34cd56ef")
    ));
    assert!(!allowed(
        caller,
        "cloudformation:CreateStackInstances",
        &target("777777777777")
    ));
    assert!(
        p.notes.iter().any(|n| n.contains(&format!(
            "account {ADMIN} registered as a delegated administrator"
        ))),
        "{:?}",
        p.notes
    );
}
