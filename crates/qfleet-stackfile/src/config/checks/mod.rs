//! Checks on a parsed stack file that its types alone cannot express. Every rule reports the
//! setting it is about, so the error points at the right line.

pub use super::allowed::allowed;
use super::regions;
use super::schema::WorkerKind;
use super::{Environment, SourceFile};
use crate::config::InputError;

mod alerts;
pub mod budget;
mod data;
mod ecs_managed;
mod fargate;
pub mod gpu;
pub(super) mod lambda;
mod limits;
pub(super) mod network;
mod permissions;
mod sources;
pub use alerts::teams_channel_for_cloudformation;
#[cfg(any(test, feature = "test-util"))]
pub use permissions::own_managed_policies;
pub use permissions::{ROLE_POLICY_LIMIT, privileged};
mod stages;
mod workers;

/// Target backlog per instance when the stack file sets none (AWS's worked example:
/// 10 s acceptable latency ÷ 0.1 s per message).
pub(super) const DEFAULT_BACKLOG_TARGET: f64 = 100.0;

/// Longest environment name: the bucket name `<env>-uploads-<account>-<region>` must fit in 63.
pub const MAX_NAME_LEN: usize = 24;

struct Checker<'a> {
    src: &'a SourceFile,
    errors: Vec<InputError>,
}

impl Checker<'_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(self.src.error(field, message));
    }

    fn range(&mut self, field: &str, value: u64, min: u64, max: u64, unit: &str) {
        if value < min || value > max {
            self.fail(
                field,
                format!("{value}{unit} is out of range ({min}{unit} to {max}{unit})"),
            );
        }
    }
}

/// `copies` (their names within the limit) and `region`.
fn check_copies_and_region(c: &mut Checker, env: &Environment) {
    let spec = &env.spec;
    if let Some(n) = spec.copies {
        let suffix = n.to_string().len().max(2) + 1;
        if !(1..=100).contains(&n) {
            c.fail("copies", format!("{n} is out of range (1 to 100)"));
        } else if env.name.len() + suffix > MAX_NAME_LEN {
            c.fail(
                "copies",
                format!(
                    "the copies' names ({}-{:0w$}) would be longer than {MAX_NAME_LEN} characters; shorten the environment name",
                    env.name,
                    n,
                    w = suffix - 1
                ),
            );
        }
    }

    if !valid_region(&spec.region) {
        c.fail(
            "region",
            format!("`{}` is not an AWS region name", spec.region),
        );
    } else if !spec.region_unlisted && regions::partition(&spec.region).is_none() {
        let near = regions::closest(&spec.region)
            .map(|r| format!("did you mean `{r}`? "))
            .unwrap_or_default();
        c.fail(
            "region",
            format!(
                "`{}` is not a region of AWS's aws, aws-cn or aws-us-gov partitions; {near}For a Region newer than qfleet, add `region_unlisted: true`",
                spec.region
            ),
        );
    }
}

/// The room a stack file has for its own `tags` in one environment: a stack takes 50 tags,
/// and qfleet adds its own to the busiest of the environment's stacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRoom {
    /// The most tags the file may have (`tags`): what qfleet leaves of the stack's 50.
    pub most: usize,
    /// The tags qfleet adds, as validate names them when a file has too many (a key, or
    /// `Name (on …)` for a tag of the template's own).
    pub qfleet_adds: Vec<String>,
}

/// [`TagRoom`] of `env`: the check of `tags` ([`check`]) and what it tells.
pub fn tag_room(env: &Environment) -> TagRoom {
    // CloudFormation propagates the stack's tags to its resources; qfleet adds its own. The
    // fleet's security group and its instances carry one more of the template's own, `Name`
    // (an EC2 resource takes 50 tags too); the record of a file's targets is on the data stack
    // only. AWS says that propagation "varies by resource type" (CloudFormation resource
    // tagging, https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-resource-tags.html):
    // counted as if every resource got every stack tag.
    // The data stack carries no kind; the workers' stacks carry no record.
    let all = qfleet_tags(env);
    let named = env.stages().iter().any(|s| {
        matches!(
            s.spec.workers.kind,
            WorkerKind::Ec2 | WorkerKind::Fargate | WorkerKind::EcsManaged
        )
    });
    let data: Vec<String> = all
        .iter()
        .filter(|k| *k != crate::config::KIND_TAG)
        .cloned()
        .collect();
    let mut fleet: Vec<String> = all
        .iter()
        .filter(|k| !k.starts_with(crate::config::TARGETS_TAG))
        .cloned()
        .collect();
    if named {
        fleet.push("Name (on the workers' security group and instances)".into());
    }
    let qfleet_adds = if fleet.len() >= data.len() {
        fleet
    } else {
        data
    };
    TagRoom {
        most: MAX_TAGS.saturating_sub(qfleet_adds.len()),
        qfleet_adds,
    }
}

/// `tags` (within AWS's 50 with qfleet's marks), `owner` and `accounts`.
fn check_tags_and_accounts(c: &mut Checker, env: &Environment) {
    let spec = &env.spec;
    let room = tag_room(env);
    if spec.tags.len() + room.qfleet_adds.len() > MAX_TAGS {
        c.fail(
            "tags",
            format!(
                "{} tags; a stack takes at most {MAX_TAGS}, and qfleet adds {}: {}; at most {} are the file's",
                spec.tags.len(),
                room.qfleet_adds.len(),
                room.qfleet_adds.join(", "),
                room.most
            ),
        );
    }
    if let Some(owner) = &spec.owner
        && let Some(why) = tag_problem(owner, 128)
    {
        c.fail("owner", format!("`{owner}` {why}"));
    }
    if spec.accounts.as_ref().is_some_and(Vec::is_empty) {
        c.fail(
            "accounts",
            "an empty list would allow no account; list the account ids, or leave accounts out for any account",
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, account) in spec.accounts.iter().flatten().enumerate() {
        let field = format!("accounts.{i}");
        if account.len() != 12 || !account.chars().all(|ch| ch.is_ascii_digit()) {
            c.fail(
                &field,
                format!("`{account}` is not an AWS account id (12 digits)"),
            );
        } else if !seen.insert(account) {
            c.fail(&field, format!("{account} is listed twice"));
        }
    }
    for (k, v) in &spec.tags {
        let field = format!("tags.{k}");
        if let Some(why) = tag_problem(k, 128) {
            c.fail(&field, format!("tag name `{k}` {why}"));
        } else if k.to_ascii_lowercase().starts_with("aws:") {
            c.fail(
                &field,
                format!("tag name `{k}`: the aws: prefix is AWS's own"),
            );
        } else if k.starts_with("qfleet:") {
            c.fail(
                &field,
                format!("tag name `{k}`: the qfleet: prefix is qfleet's own marks"),
            );
        }
        // CloudFormation's stack Tag takes a value of 1 to 256 characters: not an empty one.
        if let Some(why) = tag_problem(v, 256) {
            c.fail(&field, format!("tag value `{v}` {why}"));
        }
    }
}

/// The ARNs the file names: `service_role_arn` and `kms_key` (in the environment's region).
fn check_arns(c: &mut Checker, env: &Environment) {
    let spec = &env.spec;
    if let Some(arn) = &spec.service_role_arn
        && !(arn.starts_with("arn:aws") && arn.contains(":iam::") && arn.contains(":role/"))
    {
        c.fail(
            "service_role_arn",
            format!("`{arn}` is not an IAM role ARN"),
        );
    }
    if let Some(key) = &spec.kms_key {
        let parts: Vec<&str> = key.split(':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "kms"
            && parts[5].starts_with("key/")
            && parts[5].len() > 4;
        if !ok {
            c.fail("kms_key", format!("`{key}` is not a KMS key ARN"));
        } else if parts[3] != spec.region {
            c.fail(
                "kms_key",
                format!(
                    "the key is in region {}, but the environment is in {}; SQS, SNS and S3 need a key in their own region",
                    parts[3], spec.region
                ),
            );
        }
    }
}

/// The retention periods CloudWatch Logs accepts, in days (a function's log group and the
/// instances' and tasks' alike).
const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// The tags qfleet puts on the environment's stacks beside the file's (`crate::ownership`'s
/// marks, and a directly deployed target's record of its file's targets on its data stack).
pub fn qfleet_tags(env: &Environment) -> Vec<String> {
    use crate::config::{
        COPY_TAG, ENVIRONMENT_TAG, FILE_TAG, KIND_TAG, OWNER_TAG, STACK_FILE_TAG, TARGET_TAG,
        TARGETS_TAG,
    };
    let mut keys = vec![
        ENVIRONMENT_TAG.to_string(),
        FILE_TAG.to_string(),
        STACK_FILE_TAG.to_string(),
        KIND_TAG.to_string(),
    ];
    if env.spec.owner.is_some() {
        keys.push(OWNER_TAG.to_string());
    }
    if env.spec.copies.is_some() {
        keys.push(COPY_TAG.to_string());
    }
    if let Some(t) = &env.target {
        keys.push(TARGET_TAG.to_string());
        if env.spec.rollout.mode == crate::config::schema::RolloutMode::Direct {
            let file = &t.file.base.spec.targets;
            keys.extend(file.iter().map(|x| format!("{TARGETS_TAG}{}", x.name)));
        }
    }
    keys
}

/// All problems in the environment's stack file (empty when it is valid).
pub fn check(env: &Environment) -> Vec<InputError> {
    let spec = &env.spec;
    let mut c = Checker {
        src: &env.source,
        errors: Vec::new(),
    };

    c.errors.extend(name_error(env));
    check_copies_and_region(&mut c, env);
    check_tags_and_accounts(&mut c, env);
    check_arns(&mut c, env);

    // Express mode is for development: a protected environment is one whose operations should
    // end only once its resources are ready.
    if spec.express == Some(true) && env.termination_protection() {
        let why = if spec.termination_protection == Some(true) {
            "termination_protection is on"
        } else {
            "termination protection is on by default outside labs (lab: true, or termination_protection: false)"
        };
        c.fail(
            "express",
            format!(
                "express mode is for development and labs, and {why}; use `qfleet deploy --express` to deploy a protected environment in express mode once"
            ),
        );
    }

    data::check_bucket(&mut c, env);
    data::check_jobs(&mut c, env);
    limits::check(&mut c, env);
    sources::check_schedule_names(&mut c, env);
    if env.pipeline.is_empty() && !c.src.sets("stages") {
        check_stage(&mut c, env);
        network::check_endpoints(&mut c, env, None);
    } else {
        stages::check(&mut c, env);
        // Each stage by the rules of a one-stage file, its errors located under `stages.N`.
        let mut endpoints_vpc: Option<&str> = None;
        for stage in &env.pipeline {
            let mut sc = Checker {
                src: &stage.source,
                errors: Vec::new(),
            };
            check_stage(&mut sc, stage);
            network::check_endpoints(&mut sc, stage, endpoints_vpc);
            if let crate::config::Network::Explicit(n) = &stage.spec.workers.network
                && n.endpoints == crate::config::EndpointsMode::Create
            {
                endpoints_vpc.get_or_insert(n.vpc.as_str());
            }
            c.errors.extend(sc.errors);
        }
    }

    alerts::check(&mut c, env);
    budget::check(&mut c, env);
    c.errors
}

/// The rules for one stage's settings: its queue, its workers' permissions, the workers of its
/// kind and its scaling.
fn check_stage(c: &mut Checker, env: &Environment) {
    permissions::check(c, env);
    limits::check_workers(c, env);
    data::check_queue(c, env);
    sources::check(c, env);
    match env.spec.workers.kind {
        WorkerKind::Ec2 => {
            workers::check(c, env);
            network::check(c, env);
            check_scaling(c, env);
            for (key, kind) in [
                ("workers.lambda", "lambda"),
                ("workers.fargate", "fargate"),
                ("workers.ecs_managed", "ecs_managed"),
            ] {
                if c.src.sets(key) {
                    let e = c.src.key_error(
                        key,
                        format!("applies to workers.kind: {kind} only; these workers are EC2 instances (workers.kind: ec2, the default)"),
                    );
                    c.errors.push(e);
                }
            }
        }
        WorkerKind::Lambda => {
            lambda::check(c, env);
            for (key, kind) in [
                ("workers.fargate", "fargate"),
                ("workers.ecs_managed", "ecs_managed"),
            ] {
                if c.src.sets(key) {
                    let e = c.src.key_error(
                        key,
                        format!("applies to workers.kind: {kind} only (workers.kind is lambda)"),
                    );
                    c.errors.push(e);
                }
            }
        }
        WorkerKind::Fargate => {
            fargate::check(c, env);
            network::check(c, env);
            check_scaling(c, env);
        }
        WorkerKind::EcsManaged => {
            ecs_managed::check(c, env);
            network::check(c, env);
            check_scaling(c, env);
        }
    }
}

fn check_scaling(c: &mut Checker, env: &Environment) {
    let s = &env.spec.scaling;
    // A target given wins over the one the goal derives; the goal then stays for its alarm,
    // `status` and `simulate` (what `simulate --tune` prints).
    if let Some(t) = s.target_backlog_per_instance
        && (t.is_nan() || t <= 0.0 || t.is_infinite())
    {
        c.fail(
            "scaling.target_backlog_per_instance",
            format!("{t} must be greater than 0"),
        );
    }
    match (
        s.target_backlog_per_instance,
        s.max_latency_seconds,
        s.seconds_per_message,
    ) {
        (Some(_), None, None) => {}
        (Some(_), Some(v), None) | (Some(_), None, Some(v)) if v.is_nan() || v <= 0.0 => c.fail(
            if s.max_latency_seconds.is_some() {
                "scaling.max_latency_seconds"
            } else {
                "scaling.seconds_per_message"
            },
            format!("{v} must be greater than 0"),
        ),
        (None, Some(_), None) => c.fail(
            "scaling.max_latency_seconds",
            "max_latency_seconds needs seconds_per_message to compute the target",
        ),
        (None, None, Some(_)) => c.fail(
            "scaling.seconds_per_message",
            "seconds_per_message needs max_latency_seconds to compute the target",
        ),
        (_, Some(latency), Some(per_message)) => {
            if latency.is_nan() || latency <= 0.0 {
                c.fail(
                    "scaling.max_latency_seconds",
                    format!("{latency} must be greater than 0"),
                );
            }
            if per_message.is_nan() || per_message <= 0.0 {
                c.fail(
                    "scaling.seconds_per_message",
                    format!("{per_message} must be greater than 0"),
                );
            } else if latency > 0.0 && latency < per_message {
                c.fail(
                    "scaling.max_latency_seconds",
                    format!(
                        "{latency}s is shorter than the processing time of one message ({per_message}s): the target would be below one message per instance"
                    ),
                );
            }
        }
        _ => {}
    }
    if let Some(peak) = s.expected_peak {
        if peak.is_nan() || peak <= 0.0 || peak.is_infinite() {
            c.fail(
                "scaling.expected_peak",
                format!("{peak} must be a number of messages per second greater than 0"),
            );
        } else if s.max_latency_seconds.is_none() || s.seconds_per_message.is_none() {
            c.fail(
                "scaling.expected_peak",
                "expected_peak is checked against max_latency_seconds with seconds_per_message: give both",
            );
        }
    }
    let si = &s.scale_in;
    let (lo, hi) = crate::config::schema::ScaleInSpec::PERCENT;
    c.range(
        "scaling.scale_in.percent",
        si.percent.into(),
        lo.into(),
        hi.into(),
        "",
    );
    let (lo, hi) = crate::config::schema::ScaleInSpec::BELOW;
    if !(si.below >= lo && si.below <= hi) {
        c.fail(
            "scaling.scale_in.below",
            format!(
                "{} is out of range ({lo} to {hi}: a share of the target)",
                si.below
            ),
        );
    }
    let (lo, hi) = crate::config::schema::ScaleInSpec::MINUTES;
    c.range(
        "scaling.scale_in.minutes",
        si.minutes.into(),
        lo.into(),
        hi.into(),
        "",
    );
    let (lo, hi) = crate::config::schema::ScaleInSpec::COOLDOWN;
    c.range("scaling.scale_in.cooldown", si.cooldown.0, lo, hi, "s");
    if let Some(per_message) = s.seconds_per_message {
        let vt = env.spec.queue.visibility_timeout;
        if per_message > 0.0 && (vt.0 as f64) < per_message {
            c.fail(
                "queue.visibility_timeout",
                format!(
                    "{vt} is shorter than scaling.seconds_per_message ({per_message}s): messages would become visible again and be processed twice while a worker still holds them"
                ),
            );
        }
    }
}

/// The most tags a CloudFormation stack takes (CreateStack's `Tags`: "maximum number of 50
/// tags").
const MAX_TAGS: usize = 50;

/// What is wrong with a tag key or value of at most `max` characters, by AWS's tag rules:
/// letters, digits and white space of any language and `_ . : / = + - @`
/// (`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`, https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions).
fn tag_problem(text: &str, max: usize) -> Option<String> {
    if text.is_empty() {
        return Some("is empty".into());
    }
    let length = text.chars().count();
    if length > max {
        return Some(format!(
            "is {length} characters long; AWS takes at most {max}"
        ));
    }
    let bad: String = text
        .chars()
        .filter(|ch| {
            !(ch.is_alphanumeric()
                || (ch.is_whitespace() && !ch.is_control())
                || "_.:/=+-@".contains(*ch))
        })
        .collect();
    (!bad.is_empty()).then(|| {
        format!(
            "holds characters AWS does not allow in tags ({bad}); allowed: letters, digits, spaces and _ . : / = + - @"
        )
    })
}

/// A name [`valid_name`] refuses, said at `environment`, or at the file when the name is the
/// file's, with what names are allowed (rather than the file's keys the field "" would offer).
pub(super) fn name_error(env: &Environment) -> Option<InputError> {
    if valid_name(&env.name) {
        return None;
    }
    let (field, what) = match env.spec.environment {
        Some(_) => (
            "environment",
            format!("environment name `{}` is not allowed", env.name),
        ),
        None => (
            "",
            format!(
                "the environment name `{}` (taken from the file name) is not allowed; rename the file or set `environment`",
                env.name
            ),
        ),
    };
    let mut e = env.source.error(field, what);
    e.allowed = Some(NAME_RULE.into());
    Some(e)
}

/// What [`valid_name`] allows, as the errors say it.
pub(super) const NAME_RULE: &str =
    "lowercase letters, digits and single hyphens, starting with a letter, at most 24 characters";

/// Environment names become part of stack, queue and bucket names.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.starts_with(|ch: char| ch.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
}

/// Whether `region` is spelled as AWS spells a Region's code.
pub fn valid_region(region: &str) -> bool {
    // e.g. eu-west-1, us-gov-west-1, ap-southeast-2, cn-north-1
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|ch| ch.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|ch| ch.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|ch| ch.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

pub(super) fn is_aws_id(value: &str, prefix: &str) -> bool {
    value.strip_prefix(prefix).is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17) && hex.chars().all(|ch| ch.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests;
