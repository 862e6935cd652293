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
        for extra in ["", declared] {
            let env = with_policies(kind, extra, 0);
            let own = crate::config::validate::own_managed_policies(&env.spec.workers);
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
