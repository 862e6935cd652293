//! IAM's quotas on the worker roles as rendered (IAM and AWS STS quotas,
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): every policy
//! qfleet attaches counted, and the count validate makes equal to the template's.

use super::*;
use crate::render::check;

fn with_policies(kind_lines: &str, extra: &str, n: usize) -> Environment {
    let mut env = from_str(&format!("region: eu-west-1\nworkers:\n{kind_lines}{extra}"));
    env.spec.workers.policies = (0..n)
        .map(|i| format!("arn:aws:iam::123456789012:policy/p{i}"))
        .collect();
    env
}

fn problems(env: &Environment) -> Vec<String> {
    render(env).unwrap().iter().flat_map(check::check).collect()
}

#[test]
fn the_worker_roles_managed_policies_fit_iams_quota_as_validate_counts_them() {
    let declared = "  secrets: {TOKEN: ssm:/app/token}\n  statements:\n    - {Effect: Allow, Action: sqs:SendMessage, Resource: arn:aws:sqs:eu-west-1:123456789012:out}\n";
    for kind in [
        "  kind: ec2\n",
        "  kind: lambda\n",
        "  kind: fargate\n  image: public.ecr.aws/x/y:1\n",
    ] {
        for extra in ["", declared, "  secrets: {TOKEN: ssm:/app/token}\n"] {
            let env = with_policies(kind, extra, 0);
            let own = crate::config::own_managed_policies(&env.spec.workers);
            let room = check::MANAGED_POLICIES_PER_ROLE - own;
            let fits = with_policies(kind, extra, room);
            assert_eq!(problems(&fits), Vec::<String>::new(), "{kind}{extra}");
            let over = problems(&with_policies(kind, extra, room + 1));
            assert_eq!(over.len(), 1, "{kind}{extra}: {over:?}");
            assert!(
                over[0].contains("11 managed policies attached") && over[0].contains("at most 10"),
                "{over:?}"
            );
        }
    }
}

#[test]
fn a_declared_policy_over_iams_size_is_a_problem() {
    // 60 statements, each naming a long table ARN: well over 6,144 characters.
    let statements: String = (0..60)
        .map(|i| {
            format!(
                "    - {{Effect: Allow, Action: [dynamodb:PutItem, dynamodb:UpdateItem], Resource: arn:aws:dynamodb:eu-west-1:123456789012:table/results-of-the-nightly-run-{i:03}}}\n"
            )
        })
        .collect();
    let env = from_str(&format!(
        "region: eu-west-1\nworkers:\n  statements:\n{statements}"
    ));
    let found = problems(&env);
    assert!(
        found
            .iter()
            .any(|p| p.contains("managed policy WorkerDeclaredPolicy takes")
                && p.contains("IAM allows 6144")),
        "{found:?}"
    );
    // A few statements fit.
    let env = from_str(&format!(
        "region: eu-west-1\nworkers:\n  statements:\n{}",
        statements.lines().take(3).collect::<Vec<_>>().join("\n") + "\n"
    ));
    assert_eq!(problems(&env), Vec::<String>::new());
}

/// The resource that runs the workers waits for every policy of the workers' roles, so that
/// the grants exist before the first worker and outlast the last one on deletion (review of
/// round 4: the group and the Lambda mapping did not wait for all of them; DependsOn attribute,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html).
#[test]
fn the_workers_wait_for_every_policy_of_their_roles() {
    let declared = "  secrets: {TOKEN: ssm:/app/token}\n  statements:\n    - {Effect: Allow, Action: sqs:SendMessage, Resource: arn:aws:sqs:eu-west-1:123456789012:out}\n";
    for (kind, consumer, roles) in [
        (
            "  kind: ec2\n",
            crate::render::ids::WORKER_GROUP,
            vec!["WorkerRole"],
        ),
        (
            "  kind: lambda\n",
            crate::render::ids::QUEUE_MAPPING,
            vec![crate::render::ids::FUNCTION_ROLE],
        ),
        (
            "  kind: fargate\n  image: public.ecr.aws/x/y:1\n",
            crate::render::ids::SERVICE,
            vec!["WorkerTaskRole", "WorkerExecutionRole"],
        ),
    ] {
        for extra in ["", declared, "  secrets: {TOKEN: ssm:/app/token}\n"] {
            let env = with_policies(kind, extra, 0);
            let (_, fleet) = rendered(&env);
            let resources = fleet["Resources"].as_mapping().unwrap();
            let depends: Vec<String> = match &fleet["Resources"][consumer]["DependsOn"] {
                Value::String(s) => vec![s.clone()],
                Value::Sequence(v) => v
                    .iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect(),
                other => panic!("{kind}{extra}: {consumer} has no DependsOn: {other:?}"),
            };
            let policies: Vec<&str> = resources
                .iter()
                .filter(|(_, r)| r["Type"] == "AWS::IAM::ManagedPolicy")
                .filter(|(_, r)| {
                    r["Properties"]["Roles"].as_sequence().is_some_and(|rs| {
                        rs.iter()
                            .any(|x| roles.iter().any(|role| untagged(x).as_str() == Some(role)))
                    })
                })
                .filter_map(|(id, _)| id.as_str())
                .collect();
            assert!(!policies.is_empty(), "{kind}{extra}");
            for p in policies {
                assert!(
                    depends.iter().any(|d| d == p),
                    "{kind}{extra}: {consumer} does not wait for {p} ({depends:?})"
                );
            }
        }
    }
}
