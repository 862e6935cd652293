//! `workers.environment`, `workers.secrets`, `workers.secret_keys`, `workers.policies` and
//! `workers.statements`: each mistake named with its file, line and field.

use super::{error, errors, parse_str};
use crate::config::permissions::{Effect, OneOrMany};

const FULL: &str = "region: eu-west-1
workers:
  environment:
    TABLE_NAME: results
    BATCH: 25
  secrets:
    DB_PASSWORD: ssm:/myapp/db-password
    API_KEY: secretsmanager:myapp/api-key
  secret_keys: [arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab]
  policies: [arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess]
  statements:
    - Sid: WriteResults
      Effect: Allow
      Action: [dynamodb:PutItem, dynamodb:UpdateItem]
      Resource: arn:aws:dynamodb:eu-west-1:123456789012:table/results
      Condition:
        StringEquals: {aws:RequestedRegion: eu-west-1}
";

#[test]
fn settings_secrets_policies_and_statements_are_read() {
    let w = parse_str(FULL).unwrap().into_only().spec.workers;
    assert_eq!(w.environment["BATCH"], "25", "a number is read as text");
    assert_eq!(w.secrets["API_KEY"], "secretsmanager:myapp/api-key");
    assert_eq!(w.policies.len(), 1);
    let st = &w.statements[0];
    assert_eq!(st.effect, Effect::Allow);
    assert_eq!(
        st.action,
        OneOrMany::Many(vec![
            "dynamodb:PutItem".into(),
            "dynamodb:UpdateItem".into()
        ])
    );
    assert_eq!(
        st.condition.as_ref().unwrap()["StringEquals"]["aws:RequestedRegion"],
        "eu-west-1"
    );
}

#[test]
fn environment_names_are_variable_names_and_not_reserved() {
    for (name, says) in [
        ("9LIVES", "not an environment variable name"),
        ("MY-VAR", "not an environment variable name"),
        ("QFLEET_QUEUE_URL", "qfleet's own"),
        ("AWS_REGION", "not yours to set"),
        ("AWS_SESSION_TOKEN", "carries credentials"),
        (
            "AWS_ENDPOINT_URL_SQS",
            "sends the AWS SDK's calls elsewhere",
        ),
        ("AWS_SECRET_KEY", "carries credentials"),
    ] {
        let e = error(
            &format!("region: eu-west-1\nworkers:\n  environment:\n    {name}: x\n"),
            &format!("workers.environment.{name}"),
            4,
        );
        assert!(e.message.contains(says), "{name}: {e}");
        assert!(
            e.allowed
                .as_deref()
                .unwrap()
                .contains("letters, digits and _")
        );
    }
    let e = error(
        "region: eu-west-1\nworkers:\n  kind: lambda\n  environment:\n    TZ: UTC\n",
        "workers.environment.TZ",
        5,
    );
    assert!(e.message.contains("Lambda sets it"), "{e}");
    // The worker's own AWS_… settings (django-storages'), and TZ on an instance, are its own.
    let env = crate::config::parse(
        std::path::PathBuf::from("t.yaml"),
        "region: eu-west-1\nworkers:\n  environment:\n    AWS_STORAGE_BUCKET_NAME: media\n    AWS_QUERYSTRING_AUTH: \"False\"\n    AWS_LAMBDA_STYLE: x\n    TZ: Europe/Paris\n".to_string(),
    )
    .unwrap()
    .into_only();
    assert_eq!(
        env.spec.workers.environment["AWS_STORAGE_BUCKET_NAME"],
        "media"
    );
    let e = error(
        "region: eu-west-1\nworkers:\n  kind: lambda\n  environment:\n    AWS_LAMBDA_STYLE: x\n",
        "workers.environment.AWS_LAMBDA_STYLE",
        5,
    );
    assert!(e.message.contains("Lambda sets it"), "{e}");
    // A wrapper script is a function's own to set.
    crate::config::parse(
        std::path::PathBuf::from("t.yaml"),
        "region: eu-west-1\nworkers:\n  kind: lambda\n  environment:\n    AWS_LAMBDA_EXEC_WRAPPER: /opt/wrap\n".to_string(),
    )
    .unwrap()
    .into_only();
}

#[test]
fn an_instance_value_must_read_the_same_in_every_env_file() {
    for value in ["'a\"b'", "'c:\\dir'", "'cost $5'", "' padded'"] {
        let e = error(
            &format!("region: eu-west-1\nworkers:\n  environment:\n    V: {value}\n"),
            "workers.environment.V",
            4,
        );
        assert!(e.message.starts_with("the value of V"), "{e}");
    }
    // A function's environment is JSON in the template: any value goes.
    parse_str(
        "region: eu-west-1\nworkers:\n  kind: lambda\n  environment:\n    V: 'cost $5 \"x\"'\n",
    )
    .unwrap()
    .into_only();
}

#[test]
fn a_functions_environment_fits_in_4_kb() {
    let big = "x".repeat(3_700);
    let e = error(
        &format!("region: eu-west-1\nworkers:\n  kind: lambda\n  environment:\n    BIG: {big}\n"),
        "workers.environment",
        4,
    );
    assert!(e.message.contains("at most 4096"), "{e}");
}

#[test]
fn secrets_name_a_parameter_or_a_secret_once() {
    let e = error(
        "region: eu-west-1\nworkers:\n  secrets:\n    DB: vault:/db\n",
        "workers.secrets.DB",
        4,
    );
    assert!(e.message.contains("names no parameter or secret"), "{e}");
    assert!(e.allowed.unwrap().contains("ssm:/PARAMETER"));
    let e = error(
        "region: eu-west-1\nworkers:\n  environment: {DB: x}\n  secrets:\n    DB: ssm:/db\n",
        "workers.secrets.DB",
        5,
    );
    assert!(e.message.contains("give it once"), "{e}");
    error(
        "region: eu-west-1\nworkers:\n  secret_keys: [alias/mine]\n",
        "workers.secret_keys.0",
        3,
    );
}

#[test]
fn policies_are_managed_policy_arns_within_the_roles_limit() {
    error(
        "region: eu-west-1\nworkers:\n  policies: [AmazonS3ReadOnlyAccess]\n",
        "workers.policies.0",
        3,
    );
    let many: Vec<String> = (0..9)
        .map(|i| format!("arn:aws:iam::123456789012:policy/p{i}"))
        .collect();
    let e = error(
        &format!(
            "region: eu-west-1\nworkers:\n  policies: [{}]\n",
            many.join(", ")
        ),
        "workers.policies",
        3,
    );
    assert!(e.message.contains("at most 10"), "{e}");
}

fn statement(body: &str) -> String {
    format!("region: eu-west-1\nworkers:\n  statements:\n    - {body}\n")
}

#[test]
fn a_statement_names_its_actions_and_resources() {
    let table = "Resource: arn:aws:dynamodb:eu-west-1:123456789012:table/t";
    for (action, says) in [
        ("'*'", "every action of every service"),
        ("'dynamodb:*'", "every action of dynamodb"),
        ("PutItem", "not service:Action"),
    ] {
        let e = error(
            &statement(&format!(
                "Effect: Allow\n      Action: {action}\n      {table}"
            )),
            "workers.statements.0.Action",
            5,
        );
        assert!(e.message.contains(says), "{action}: {e}");
        assert!(e.allowed.unwrap().contains("not \"*\""));
    }
    let e = error(
        &statement("Effect: Allow\n      Action: dynamodb:PutItem\n      Resource: '*'"),
        "workers.statements.0.Resource",
        6,
    );
    assert!(e.message.contains("name the ARNs"), "{e}");
    // Wildcards inside a name are fine.
    parse_str(&statement(&format!(
        "Effect: Allow\n      Action: dynamodb:Get*\n      {table}"
    )))
    .unwrap()
    .into_only();
}

#[test]
fn a_statement_has_effect_action_and_resource_and_nothing_else() {
    let list = errors(&statement("Effect: Allow\n      Action: s3:GetObject"));
    assert!(
        list.iter()
            .any(|e| e.field == "workers.statements.0.Resource" && e.message.contains("missing")),
        "{list:#?}"
    );
    let list = errors(&statement(
        "Effect: Allow\n      NotAction: s3:GetObject\n      Resource: arn:aws:s3:::b/*",
    ));
    assert!(
        list.iter()
            .any(|e| e.field == "workers.statements.0.NotAction"),
        "{list:#?}"
    );
    let e = error(
        &statement("Effect: Permit\n      Action: s3:GetObject\n      Resource: arn:aws:s3:::b/*"),
        "workers.statements.0.Effect",
        4,
    );
    assert!(e.message.contains("Allow or Deny"), "{e}");
}

#[test]
fn an_image_is_a_full_reference_and_not_with_user_data() {
    let e = error(
        "region: eu-west-1\nworkers:\n  image: resizer:1.4\n",
        "workers.image",
        3,
    );
    assert!(e.message.contains("names no registry"), "{e}");
    let list = errors(
        "region: eu-west-1\nworkers:\n  image: public.ecr.aws/acme/w:1\n  user_data: missing.sh\n",
    );
    assert!(!list.is_empty());
    let e = error(
        "region: eu-west-1\nworkers:\n  kind: lambda\n  image: public.ecr.aws/acme/w:1\n",
        "workers.image",
        4,
    );
    assert!(e.message.contains("EC2 and Fargate workers only"), "{e}");
}

/// The measured cases of issue 33: AdministratorAccess, and `iam:*Role*` on every role.
#[test]
fn privileged_policies_and_statements_are_refused_without_the_opt_in() {
    let e = error(
        "region: eu-west-1\nworkers:\n  policies: [arn:aws:iam::aws:policy/AdministratorAccess]\n",
        "workers.policies.0",
        3,
    );
    assert!(
        e.message.contains("administrative or IAM-wide power"),
        "{e}"
    );
    assert!(e.message.contains("workers.allow_privileged: true"), "{e}");
    for (action, resource, says) in [
        (
            "'iam:*Role*'",
            "'arn:aws:iam::*:role/*'",
            "grants IAM writes",
        ),
        (
            "iam:PassRole",
            "arn:aws:iam::123456789012:role/app",
            "grants iam:PassRole",
        ),
        (
            "'iam:Pass*'",
            "arn:aws:iam::123456789012:role/app",
            "iam:PassRole among them",
        ),
        (
            "iam:CreateUser",
            "arn:aws:iam::123456789012:user/x",
            "grants IAM writes",
        ),
        (
            "'dynamodb:*Item'",
            "'arn:aws:dynamodb:eu-west-1:123456789012:table/*'",
            "wildcard action on the broad resource",
        ),
        (
            "'s3:Get*'",
            "'arn:aws:s3:::*'",
            "wildcard action on the broad resource",
        ),
        (
            "'sqs:Send*'",
            "'arn:aws:sqs:eu-west-1:*:jobs'",
            "wildcard action on the broad resource",
        ),
    ] {
        let e = error(
            &statement(&format!(
                "{{Effect: Allow, Action: {action}, Resource: {resource}}}"
            )),
            "workers.statements.0.Action",
            4,
        );
        assert!(e.message.contains(says), "{action}: {e}");
    }
}

#[test]
fn narrow_grants_and_iam_reads_are_not_privileged() {
    for (action, resource) in [
        ("iam:GetRole", "arn:aws:iam::123456789012:role/app"),
        ("'iam:List*'", "arn:aws:iam::123456789012:role/app"),
        (
            "'dynamodb:*Item'",
            "arn:aws:dynamodb:eu-west-1:123456789012:table/results",
        ),
        ("'s3:Get*'", "'arn:aws:s3:::my-bucket/*'"),
        (
            "dynamodb:PutItem",
            "'arn:aws:dynamodb:eu-west-1:123456789012:table/*'",
        ),
    ] {
        let text = statement(&format!(
            "{{Effect: Allow, Action: {action}, Resource: {resource}}}"
        ));
        assert!(parse_str(&text).is_ok(), "{action} on {resource}");
    }
    // A Deny grants nothing.
    assert!(
        parse_str(&statement(
            "{Effect: Deny, Action: 'iam:*Role*', Resource: 'arn:aws:iam::*:role/*'}"
        ))
        .is_ok()
    );
    // AWS managed policies without administrative power.
    assert!(
        parse_str(
            "region: eu-west-1\nworkers:\n  policies: [arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess]\n"
        )
        .is_ok()
    );
}

#[test]
fn the_opt_in_allows_privilege_and_says_so_every_time() {
    let env = parse_str(
        "region: eu-west-1\nworkers:\n  allow_privileged: true\n  policies: [arn:aws:iam::aws:policy/AdministratorAccess]\n  statements:\n    - {Effect: Allow, Action: iam:PassRole, Resource: 'arn:aws:iam::*:role/*'}\n",
    )
    .unwrap()
    .into_only();
    let said = crate::config::warnings::privileged(&env);
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].starts_with("workers.policies.0: `arn:aws:iam::aws:policy/AdministratorAccess`")
    );
    assert!(said[1].contains("iam:PassRole"), "{said:?}");
    assert!(
        crate::config::warnings::warnings(&env)
            .iter()
            .any(|w| w.contains("allowed by workers.allow_privileged: true"))
    );
}

/// What qfleet attaches counts against the role's 10 (issue 33: a file with 8 of the user's
/// policies on EC2, 9 on Fargate or Lambda, and a statement validated and rendered a role with
/// 11). The rendered templates are counted by `render::check`; see the render test
/// `the_worker_roles_managed_policies_fit_iams_quota_as_validate_counts_them`.
#[test]
fn the_roles_limit_counts_the_declared_policy() {
    let many = |n: usize| {
        (0..n)
            .map(|i| format!("arn:aws:iam::123456789012:policy/p{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let with_statement = "  statements:\n    - {Effect: Allow, Action: sqs:SendMessage, Resource: arn:aws:sqs:eu-west-1:123456789012:out}\n";
    for (kind, extra, fits) in [
        ("ec2", "", 8),
        ("ec2", with_statement, 7),
        ("fargate", "  image: public.ecr.aws/x/y:1\n", 9),
        (
            "fargate",
            &format!("  image: public.ecr.aws/x/y:1\n{with_statement}"),
            8,
        ),
    ] {
        let text = |n| {
            format!(
                "region: eu-west-1\nworkers:\n  kind: {kind}\n{extra}  policies: [{}]\n",
                many(n)
            )
        };
        assert!(parse_str(&text(fits)).is_ok(), "{kind} {fits}");
        let list = errors(&text(fits + 1));
        assert!(
            list.iter()
                .any(|e| e.field == "workers.policies" && e.message.contains("at most 10")),
            "{kind}: {list:#?}"
        );
    }
}

#[test]
fn the_queue_url_goes_under_more_names_each_given_once() {
    let env = crate::config::parse(
        std::path::PathBuf::from("t.yaml"),
        "region: eu-west-1\nworkers:\n  queue_url_as: [COPILOT_QUEUE_URI]\n".to_string(),
    )
    .unwrap()
    .into_only();
    assert_eq!(env.spec.workers.queue_url_as, ["COPILOT_QUEUE_URI"]);
    let e = error(
        "region: eu-west-1\nworkers:\n  queue_url_as: [QUEUE]\n  environment:\n    QUEUE: x\n",
        "workers.queue_url_as.0",
        3,
    );
    assert!(e.message.contains("give it once"), "{e}");
}
