//! The rules for what a worker gets beyond qfleet's own grants: `workers.environment`,
//! `workers.secrets`, `workers.secret_keys`, `workers.policies` and `workers.statements`.

use super::Checker;
use crate::config::Environment;
use crate::config::permissions::{Effect, SecretSource, Statement};
use crate::config::schema::{WorkerKind, WorkersSpec};

/// Environment variables Lambda sets itself and refuses in a function's configuration (Lambda
/// Developer Guide, "Defined runtime environment variables":
/// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-runtime.html). Every
/// `AWS_LAMBDA_…` name is Lambda's too, but the wrapper script's.
const LAMBDA_RESERVED: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_EXECUTION_ENV",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
];

/// `AWS_…` names that carry credentials, or send the SDK's calls, trust or credentials
/// elsewhere: a worker that got one would act as someone else or talk to another endpoint
/// (the SDKs' settings, "Environment variables support",
/// https://docs.aws.amazon.com/sdkref/latest/guide/environment-variables.html; the Java SDK
/// 1.x's own, https://docs.aws.amazon.com/sdk-for-java/latest/developer-guide/migration-env-and-system-props.html). qfleet sets
/// `AWS_REGION` and `AWS_DEFAULT_REGION` itself. Any other `AWS_…` name (django-storages'
/// `AWS_STORAGE_BUCKET_NAME`) is the worker's own.
const AWS_SDK: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_CREDENTIAL_PROFILES_FILE",
    "AWS_DATA_PATH",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_CA_BUNDLE",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
];

/// Why `name` is not the worker's to set, or `None`.
fn reserved(name: &str, lambda: bool) -> Option<&'static str> {
    if AWS_SDK.contains(&name) || name.starts_with("AWS_ENDPOINT_URL") {
        return Some(
            "it carries credentials or sends the AWS SDK's calls elsewhere (qfleet sets the Region; the workers' role gives the credentials)",
        );
    }
    // A wrapper script is the one AWS_LAMBDA_… name a function sets itself
    // (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-modify.html).
    let lambdas_own = name.starts_with("AWS_LAMBDA_") && name != "AWS_LAMBDA_EXEC_WRAPPER";
    if lambda && (LAMBDA_RESERVED.contains(&name) || lambdas_own) {
        return Some("Lambda sets it in every function and refuses it in the configuration");
    }
    None
}

/// A Lambda function's environment: at most 4 KB, names and values together (Lambda quotas:
/// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
const LAMBDA_ENV_LIMIT: usize = 4 * 1024;

/// Managed policies a role may have attached by default ("Managed policies attached to an IAM
/// role: 10", IAM and AWS STS quotas,
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html). The rendered
/// templates are counted against it too (`render::check`), so this count and the templates
/// cannot part.
pub const ROLE_POLICY_LIMIT: usize = 10;

/// Whether the worker's role gets qfleet's declared policy: the secrets the stack file names
/// and its own statements (templates/declared-policy.yaml.j2). A Fargate task's secrets are
/// read by the task's execution role, not the worker's: its declared policy holds only the
/// statements (templates/fargate.yaml.j2).
fn declared_policy(w: &WorkersSpec) -> bool {
    match w.kind {
        WorkerKind::Fargate | WorkerKind::EcsManaged => !w.statements.is_empty(),
        WorkerKind::Ec2 | WorkerKind::Lambda => !w.secrets.is_empty() || !w.statements.is_empty(),
    }
}

/// The managed policies qfleet itself attaches to the worker's role: an EC2 instance's gets
/// AmazonSSMManagedInstanceCore and the worker policy, a function's or a task's its worker
/// policy; each gets the declared policy when the stack file names secrets or statements.
pub fn own_managed_policies(w: &WorkersSpec) -> usize {
    let base = match w.kind {
        WorkerKind::Ec2 => 2,
        WorkerKind::Lambda | WorkerKind::Fargate | WorkerKind::EcsManaged => 1,
    };
    base + usize::from(declared_policy(w))
}

/// AWS managed policies that grant administrative power, or power over IAM itself (which is
/// the power to grant anything): refused in `workers.policies` without
/// `workers.allow_privileged` ("AWS managed policies for job functions",
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_job-functions.html).
const PRIVILEGED_MANAGED: &[&str] = &[
    "AdministratorAccess",
    "AdministratorAccess-Amplify",
    "AdministratorAccess-AWSElasticBeanstalk",
    "PowerUserAccess",
    "SystemAdministrator",
    "DatabaseAdministrator",
    "DataScientist",
    "NetworkAdministrator",
];

/// An AWS managed policy of [`PRIVILEGED_MANAGED`], or a service's full access (`…FullAccess`,
/// `…_FullAccess`: every action of a service on every resource, as a wildcard action on a
/// broad resource is in a statement).
fn privileged_managed(name: &str) -> bool {
    PRIVILEGED_MANAGED.contains(&name) || name.ends_with("FullAccess")
}

/// IAM actions that only read (IAM's access levels List and Read, and the reports of
/// Generate…/Simulate…, "Actions, resources, and condition keys for AWS Identity and Access
/// Management", https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html).
const IAM_READ_PREFIXES: &[&str] = &["get", "list", "generate", "simulate"];

/// What in the workers' policies and statements grants administrative or IAM-wide power, each
/// with its field and why: an AWS managed policy of [`PRIVILEGED_MANAGED`]; an allowed IAM
/// action that can write (anything but Get…/List…/Generate…/Simulate…, wildcards included:
/// `iam:*Role*` reaches CreateRole), `iam:PassRole` among them (the power to hand a role to a
/// service, "Granting a user permissions to pass a role to an AWS service",
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html); and a
/// wildcard action on a broad resource (every resource of a type, or of any account).
pub fn privileged(w: &WorkersSpec) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (i, arn) in w.policies.iter().enumerate() {
        if let Some(name) = arn
            .split_once(":iam::aws:policy/")
            .map(|(_, n)| n.rsplit('/').next().unwrap_or(n))
            && privileged_managed(name)
        {
            found.push((
                format!("workers.policies.{i}"),
                format!("`{arn}` is an AWS managed policy with administrative or IAM-wide power"),
            ));
        }
    }
    for (i, st) in w.statements.iter().enumerate() {
        if st.effect != Effect::Allow {
            continue;
        }
        let field = format!("workers.statements.{i}.Action");
        let resources = st.resource.items();
        let broad: Vec<&&str> = resources.iter().filter(|r| broad_resource(r)).collect();
        for a in st.action.items() {
            let Some((svc, name)) = a.split_once(':') else {
                continue;
            };
            let lower = name.to_ascii_lowercase();
            let literal = lower.split(['*', '?']).next().unwrap_or("");
            let wildcard = literal.len() != lower.len();
            if svc.eq_ignore_ascii_case("iam")
                && !IAM_READ_PREFIXES.iter().any(|p| literal.starts_with(p))
            {
                let what = match (glob_matches(&lower, "passrole"), wildcard) {
                    (true, false) => "grants iam:PassRole (handing roles to services)",
                    (true, true) => {
                        "grants IAM writes (creating or changing roles, users and policies), iam:PassRole among them"
                    }
                    _ => "grants IAM writes (creating or changing roles, users and policies)",
                };
                found.push((field.clone(), format!("`{a}` {what}")));
            } else if (wildcard || assumes_roles(svc, &lower))
                && let Some(r) = broad.first()
            {
                let what = if wildcard {
                    "a wildcard action"
                } else {
                    "assuming roles"
                };
                found.push((
                    field.clone(),
                    format!("`{a}` is {what} on the broad resource `{r}`"),
                ));
            }
        }
    }
    found
}

/// A resource ARN that names every resource of its type, or any account's: its account is a
/// wildcard, or its resource part is `*` or starts with one after the resource type
/// (`arn:aws:iam::*:role/*`, `arn:aws:dynamodb:eu-west-1:123456789012:table/*`).
fn broad_resource(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, _, _, _, account, resource] = parts[..] else {
        return false;
    };
    if account.contains('*') {
        return true;
    }
    // An S3 ARN has no resource type: its resource is the bucket, then the key.
    let after_type = if parts[2] == "s3" {
        resource
    } else {
        resource
            .split_once(['/', ':'])
            .map_or(resource, |(_, rest)| rest)
    };
    resource.starts_with(['*', '?']) || after_type.starts_with(['*', '?']) || after_type.is_empty()
}

/// `sts:AssumeRole` and its kin: on a broad resource, the power of every role they reach.
fn assumes_roles(svc: &str, action: &str) -> bool {
    svc.eq_ignore_ascii_case("sts") && action.starts_with("assumerole")
}

/// IAM's action wildcards: `*` any run of characters, `?` any one (both lowercase).
fn glob_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => {
            pattern.len() == name.len()
                && pattern
                    .chars()
                    .zip(name.chars())
                    .all(|(p, n)| p == '?' || p == n)
        }
        Some((head, rest)) => {
            name.len() >= head.len()
                && glob_matches(head, &name[..head.len()])
                && (head.len()..=name.len()).any(|k| glob_matches(rest, &name[k..]))
        }
    }
}

pub(super) fn check(c: &mut Checker, env: &Environment) {
    let w = &env.spec.workers;
    let lambda = w.kind == WorkerKind::Lambda;
    // An EC2 worker reads its settings from an environment file (`KEY=value` lines).
    let env_file = w.kind == WorkerKind::Ec2;
    let mut names = Vec::new();
    for (name, value) in &w.environment {
        let field = format!("workers.environment.{name}");
        name_rule(c, &field, name, lambda);
        if env_file && let Some(why) = ec2_value_problem(value) {
            c.fail(&field, format!("the value of {name} {why}"));
        }
        names.push(name);
    }
    for (i, name) in w.queue_url_as.iter().enumerate() {
        let field = format!("workers.queue_url_as.{i}");
        name_rule(c, &field, name, lambda);
        if w.environment.contains_key(name) || w.secrets.contains_key(name) {
            c.fail(
                &field,
                format!("{name} is also in workers.environment or workers.secrets; give it once"),
            );
        }
    }
    for (name, source) in &w.secrets {
        let field = format!("workers.secrets.{name}");
        name_rule(c, &field, name, lambda);
        if w.environment.contains_key(name) {
            c.fail(
                &field,
                format!("{name} is also in workers.environment; give it once"),
            );
        }
        if let Err(why) = SecretSource::parse(source) {
            c.fail(&field, why);
        }
    }
    for (i, key) in w.secret_keys.iter().enumerate() {
        if !is_kms_key_arn(key) {
            c.fail(
                &format!("workers.secret_keys.{i}"),
                format!("`{key}` is not a KMS key ARN"),
            );
        }
    }
    let own = own_managed_policies(w);
    if w.policies.len() + own > ROLE_POLICY_LIMIT {
        c.fail(
            "workers.policies",
            format!(
                "{} policies; a role takes at most {ROLE_POLICY_LIMIT} managed policies and qfleet attaches {own} of its own to this worker's role{}",
                w.policies.len(),
                if declared_policy(w) {
                    " (one of them holds workers.secrets and workers.statements)"
                } else {
                    ""
                }
            ),
        );
    }
    if !w.allow_privileged {
        for (field, why) in privileged(w) {
            c.fail(
                &field,
                format!(
                    "{why}; refused unless the stack file opts in with workers.allow_privileged: true"
                ),
            );
        }
    }
    for (i, arn) in w.policies.iter().enumerate() {
        if !is_policy_arn(arn) {
            c.fail(
                &format!("workers.policies.{i}"),
                format!("`{arn}` is not a managed policy ARN"),
            );
        }
    }
    for (i, st) in w.statements.iter().enumerate() {
        statement(c, &format!("workers.statements.{i}"), st);
    }
    if lambda {
        let used = lambda_env_size(&w.environment, &w.secrets);
        if used + QFLEET_LAMBDA_ENV > LAMBDA_ENV_LIMIT {
            c.fail(
                "workers.environment",
                format!(
                    "the function's environment would take {} bytes (these settings {used}, qfleet's own up to {QFLEET_LAMBDA_ENV}); Lambda takes at most {LAMBDA_ENV_LIMIT}",
                    used + QFLEET_LAMBDA_ENV
                ),
            );
        }
    }
}

/// What qfleet's own variables take of a function's environment, as first told (the bucket name
/// with account and region, the prefixes, the environment name): a file whose own settings
/// leave less is refused here, at its line. The rendered template is then measured whole, with
/// the prefixes, stage names and stack names it holds (`render::check`).
const QFLEET_LAMBDA_ENV: usize = 512;

fn name_rule(c: &mut Checker, field: &str, name: &str, lambda: bool) {
    let ok = name
        .chars()
        .next()
        .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_')
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    if !ok {
        c.fail(
            field,
            format!("`{name}` is not an environment variable name"),
        );
    } else if name.starts_with("QFLEET_") {
        c.fail(field, format!("{name}: QFLEET_… names are qfleet's own"));
    } else if let Some(why) = reserved(name, lambda) {
        c.fail(field, format!("{name} is not yours to set: {why}"));
    }
}

/// Why a plain value cannot go into the instance's `/etc/qfleet/worker.env` (read by systemd's
/// EnvironmentFile= and by a container runtime's env file alike, which treat quotes,
/// backslashes and `$` differently), or `None`.
fn ec2_value_problem(v: &str) -> Option<&'static str> {
    if v.chars().any(|ch| ch.is_control()) {
        Some("spans lines or holds control characters")
    } else if v.contains(['"', '\'', '\\', '$']) {
        Some(
            "holds a quote, a backslash or $, which the instance's environment file cannot carry the same way for every reader; keep it in workers.secrets",
        )
    } else if v.trim() != v {
        Some("starts or ends with spaces, which an environment file drops")
    } else {
        None
    }
}

fn is_kms_key_arn(s: &str) -> bool {
    let p: Vec<&str> = s.split(':').collect();
    p.len() == 6
        && p[0] == "arn"
        && p[1].starts_with("aws")
        && p[2] == "kms"
        && p[4].len() == 12
        && p[5].strip_prefix("key/").is_some_and(|id| !id.is_empty())
}

fn is_policy_arn(s: &str) -> bool {
    let p: Vec<&str> = s.splitn(6, ':').collect();
    p.len() == 6
        && p[0] == "arn"
        && p[1].starts_with("aws")
        && p[2] == "iam"
        && p[3].is_empty()
        && (p[4] == "aws" || (p[4].len() == 12 && p[4].chars().all(|c| c.is_ascii_digit())))
        && p[5].strip_prefix("policy/").is_some_and(|n| !n.is_empty())
}

fn statement(c: &mut Checker, field: &str, st: &Statement) {
    if let Some(sid) = &st.sid
        && (sid.is_empty() || !sid.chars().all(|ch| ch.is_ascii_alphanumeric()))
    {
        c.fail(
            &format!("{field}.Sid"),
            format!("`{sid}`: a Sid is letters and digits"),
        );
    }
    let actions = st.action.items();
    if actions.is_empty() {
        c.fail(&format!("{field}.Action"), "no action");
    }
    for a in actions {
        let problem = match a.split_once(':') {
            _ if a == "*" => Some("\"*\" grants every action of every service".to_string()),
            Some((svc, name))
                if !svc.is_empty()
                    && svc
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
                    && !name.is_empty()
                    && name
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '*' || ch == '?') =>
            {
                (name.chars().all(|ch| ch == '*'))
                    .then(|| format!("`{a}` grants every action of {svc}; list the actions"))
            }
            _ => Some(format!("`{a}` is not service:Action")),
        };
        if let Some(why) = problem {
            c.fail(&format!("{field}.Action"), why);
        }
    }
    let resources = st.resource.items();
    if resources.is_empty() {
        c.fail(&format!("{field}.Resource"), "no resource");
    }
    for r in resources {
        if r == "*" {
            c.fail(
                &format!("{field}.Resource"),
                "\"*\" names no resource; name the ARNs the worker uses (for an action with no resource type, attach an AWS managed policy through workers.policies)",
            );
        } else if !(r.starts_with("arn:") && r.split(':').count() >= 6) {
            c.fail(&format!("{field}.Resource"), format!("`{r}` is not an ARN"));
        } else if let Some(other) = r
            .match_indices("${AWS::")
            .map(|(i, _)| &r[i..r[i..].find('}').map_or(r.len(), |e| i + e + 1)])
            .find(|p| !crate::config::PSEUDO_PARAMETERS.contains(p))
        {
            c.fail(
                &format!("{field}.Resource"),
                format!("`{other}` is not a pseudo parameter CloudFormation fills in here: ${{AWS::Partition}}, ${{AWS::Region}}, ${{AWS::AccountId}} or ${{AWS::URLSuffix}}"),
            );
        }
    }
    if let Some(cond) = &st.condition
        && !cond.is_object()
    {
        c.fail(
            &format!("{field}.Condition"),
            "a condition is a mapping: operator → condition key → values",
        );
    }
}

/// Bytes the stack file's settings take of a function's environment as Lambda measures it
/// (the variables as one JSON object: `"NAME":"value",` with JSON's escapes): each plain
/// variable, and the secrets' references as the one `QFLEET_SECRETS` variable, whose value is
/// JSON in a JSON string. The rendered template is measured whole too
/// (`render::check::LAMBDA_ENVIRONMENT_LIMIT`), qfleet's own variables included.
fn lambda_env_size(
    environment: &std::collections::BTreeMap<String, String>,
    secrets: &std::collections::BTreeMap<String, String>,
) -> usize {
    let entry = |k: &str, v: &str| {
        serde_json::to_string(k).map_or(0, |s| s.len())
            + serde_json::to_string(v).map_or(0, |s| s.len())
            + 2
    };
    let plain: usize = environment.iter().map(|(k, v)| entry(k, v)).sum();
    let refs = if secrets.is_empty() {
        0
    } else {
        entry(
            "QFLEET_SECRETS",
            &serde_json::to_string(secrets).unwrap_or_default(),
        )
    };
    plain + refs
}
