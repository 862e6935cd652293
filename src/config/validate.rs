//! Checks on a parsed stack file that its types alone cannot express. Every rule reports the
//! setting it is about, so the error points at the right line.

use super::schema::{DEFAULT_AMI, Network};
use super::{Environment, SourceFile};
use crate::error::InputError;

/// Target backlog per instance when the stack file sets none (AWS's worked example:
/// 10 s acceptable latency ÷ 0.1 s per message).
pub const DEFAULT_BACKLOG_TARGET: f64 = 100.0;

/// Longest environment name: the bucket name `<env>-uploads-<account>-<region>` must fit in 63.
pub const MAX_NAME_LEN: usize = 24;

/// What each setting accepts, shown under its errors.
pub fn allowed(field: &str) -> Option<&'static str> {
    // Tags and subnets are keyed by the user's own names.
    let key = if field.starts_with("tags.") {
        "tags.*"
    } else if field.starts_with("workers.network.subnets.") {
        "workers.network.subnets.*"
    } else {
        field
    };
    Some(match key {
        "" => {
            "a YAML mapping of settings: region (required), environment, lab, tags, termination_protection, service_role_arn, kms_key, bucket, queue, alarms, workers, scaling"
        }
        "environment" => {
            "lowercase letters, digits and hyphens, starting with a letter, at most 24 characters"
        }
        "region" => "an AWS region name such as eu-west-1",
        "lab" => "true or false",
        "tags" => "a mapping of tag names to string values",
        "tags.*" => {
            "a string value (at most 256 characters) for a tag name of at most 128 characters, not starting with aws:"
        }
        "termination_protection" => "true or false (default: true, false when lab: true)",
        "service_role_arn" => "an IAM role ARN: arn:aws:iam::<account>:role/<name>",
        "kms_key" => "a KMS key ARN: arn:aws:kms:<region>:<account>:key/<key id> (not an alias)",
        "bucket" => {
            "a mapping with upload_prefix, processed_prefix, retain, access_log_bucket, noncurrent_version_expiration_days, abort_incomplete_multipart_days"
        }
        "bucket.upload_prefix" | "bucket.processed_prefix" => {
            "a key prefix ending in /, such as uploads/; the two prefixes must not overlap"
        }
        "bucket.retain" => "true or false (default: true, false when lab: true)",
        "bucket.access_log_bucket" => {
            "the name of an existing S3 bucket (3–63 lowercase letters, digits, dots, hyphens)"
        }
        "bucket.noncurrent_version_expiration_days" | "bucket.abort_incomplete_multipart_days" => {
            "a whole number of days from 1 to 3650"
        }
        "queue" => {
            "a mapping with visibility_timeout, message_retention, receive_wait_time, max_receive_count, dlq_retention, oldest_message_alarm"
        }
        "queue.visibility_timeout" => {
            "a duration from 0s to 12h (e.g. 60, 90s, 5m), at least scaling.seconds_per_message"
        }
        "queue.message_retention" => "a duration from 60s to 14d (e.g. 4d)",
        "queue.receive_wait_time" => "a duration from 0s to 20s (20s enables full long polling)",
        "queue.max_receive_count" => "a whole number from 1 to 1000 (3 to 5 recommended)",
        "queue.dlq_retention" => "a duration from 60s to 14d, longer than queue.message_retention",
        "queue.oldest_message_alarm" => "a duration of at least 60s",
        "alarms" => "a mapping with email",
        "alarms.email" => "an e-mail address",
        "workers" => {
            "a mapping with ami, instance_type, min, max, network, user_data, health_check_grace_period, instance_warmup, root_volume_gib, public_ip"
        }
        "workers.ami" => {
            "an SSM parameter path such as /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64, or an AMI id (ami- and 8 or 17 hex digits)"
        }
        "workers.instance_type" => "an EC2 instance type such as t3.micro or m7g.large",
        "workers.min" => {
            "a whole number from 0 to workers.max; 0 only with scaling.scale_from_zero: true"
        }
        "workers.max" => "a whole number from 1 to 1000, at least workers.min",
        "workers.network" => {
            "`default` (the default VPC, at least 2 AZs) or {vpc: vpc-…, subnets: {<az>: subnet-…}} with at least 2 availability zones"
        }
        "workers.network.vpc" => "a VPC id: vpc- and 8 or 17 hex digits",
        "workers.network.subnets" => {
            "a mapping of availability zone to subnet id, at least 2 zones of the stack's region"
        }
        "workers.network.subnets.*" => {
            "a subnet id (subnet- and 8 or 17 hex digits) keyed by an availability zone of the region (e.g. eu-west-1a)"
        }
        "workers.user_data" => {
            "a path, relative to the stack file, to a shell script starting with #!"
        }
        "workers.health_check_grace_period" => "a duration from 0s to 2h",
        "workers.instance_warmup" => "a duration from 0s to 2h",
        "workers.root_volume_gib" => "a whole number of GiB from 8 to 16384",
        "workers.public_ip" => {
            "true or false (default false; true is insecure and only for subnets without NAT or VPC endpoints)"
        }
        "scaling" => {
            "a mapping with target_backlog_per_instance, or max_latency_seconds and seconds_per_message; and scale_from_zero"
        }
        "scaling.target_backlog_per_instance" => {
            "a number greater than 0 (messages per in-service instance)"
        }
        "scaling.max_latency_seconds" | "scaling.seconds_per_message" => {
            "a number of seconds greater than 0; give both, or target_backlog_per_instance instead"
        }
        "scaling.scale_from_zero" => "true or false",
        _ => return None,
    })
}

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

/// All problems in the environment's stack file (empty when it is valid).
pub fn check(env: &Environment) -> Vec<InputError> {
    let spec = &env.spec;
    let mut c = Checker {
        src: &env.source,
        errors: Vec::new(),
    };

    let name_field = if spec.environment.is_some() {
        "environment"
    } else {
        ""
    };
    if !valid_name(&env.name) {
        let what = if spec.environment.is_some() {
            format!("environment name `{}` is not allowed", env.name)
        } else {
            format!(
                "the environment name `{}` (taken from the file name) is not allowed; rename the file or set `environment`",
                env.name
            )
        };
        c.fail(name_field, what);
    }

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
    }

    for (k, v) in &spec.tags {
        let field = format!("tags.{k}");
        if k.is_empty() || k.len() > 128 || k.starts_with("aws:") {
            c.fail(&field, format!("tag name `{k}` is not allowed"));
        }
        if v.len() > 256 {
            c.fail(&field, "tag value is longer than 256 characters");
        }
    }

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

    check_bucket(&mut c, env);
    check_queue(&mut c, env);
    check_workers(&mut c, env);
    check_scaling(&mut c, env);

    if let Some(email) = &spec.alarms.email {
        let ok = email.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
        });
        if !ok {
            c.fail(
                "alarms.email",
                format!("`{email}` is not an e-mail address"),
            );
        }
    }
    c.errors
}

fn check_bucket(c: &mut Checker, env: &Environment) {
    let b = &env.spec.bucket;
    for (field, prefix) in [
        ("bucket.upload_prefix", &b.upload_prefix),
        ("bucket.processed_prefix", &b.processed_prefix),
    ] {
        let ok = !prefix.is_empty()
            && prefix.ends_with('/')
            && !prefix.starts_with('/')
            && prefix.len() <= 512
            && prefix
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_./!*'()".contains(ch));
        if !ok {
            c.fail(field, format!("`{prefix}` is not a key prefix ending in /"));
        }
    }
    if b.upload_prefix.starts_with(&b.processed_prefix)
        || b.processed_prefix.starts_with(&b.upload_prefix)
    {
        c.fail(
            "bucket.processed_prefix",
            format!(
                "`{}` overlaps the upload prefix `{}`: processed objects would trigger new jobs",
                b.processed_prefix, b.upload_prefix
            ),
        );
    }
    if let Some(logs) = &b.access_log_bucket {
        let ok = (3..=63).contains(&logs.len())
            && logs
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.');
        if !ok {
            c.fail(
                "bucket.access_log_bucket",
                format!("`{logs}` is not an S3 bucket name"),
            );
        }
    }
    c.range(
        "bucket.noncurrent_version_expiration_days",
        b.noncurrent_version_expiration_days.into(),
        1,
        3650,
        " days",
    );
    c.range(
        "bucket.abort_incomplete_multipart_days",
        b.abort_incomplete_multipart_days.into(),
        1,
        3650,
        " days",
    );
}

fn check_queue(c: &mut Checker, env: &Environment) {
    let q = &env.spec.queue;
    c.range(
        "queue.visibility_timeout",
        q.visibility_timeout.0,
        0,
        43_200,
        "s",
    );
    c.range(
        "queue.message_retention",
        q.message_retention.0,
        60,
        1_209_600,
        "s",
    );
    c.range("queue.receive_wait_time", q.receive_wait_time.0, 0, 20, "s");
    c.range("queue.dlq_retention", q.dlq_retention.0, 60, 1_209_600, "s");
    if q.oldest_message_alarm.0 < 60 {
        c.fail(
            "queue.oldest_message_alarm",
            format!(
                "{} is shorter than one alarm period (60s)",
                q.oldest_message_alarm
            ),
        );
    }
    if q.max_receive_count < 1 || q.max_receive_count > 1000 {
        c.fail(
            "queue.max_receive_count",
            format!(
                "{} is out of range (1 to 1000): a message must be received at least once before it moves to the dead-letter queue",
                q.max_receive_count
            ),
        );
    }
    if q.dlq_retention <= q.message_retention {
        c.fail(
            "queue.dlq_retention",
            format!(
                "{} is not longer than queue.message_retention ({}): SQS keeps a message's original enqueue time, so it would expire in the dead-letter queue before anyone looks at it",
                q.dlq_retention, q.message_retention
            ),
        );
    }
}

fn check_workers(c: &mut Checker, env: &Environment) {
    let spec = &env.spec;
    let w = &spec.workers;
    let ami_ok = if w.ami.starts_with('/') {
        w.ami.len() > 1 && !w.ami.contains(char::is_whitespace)
    } else {
        is_aws_id(&w.ami, "ami-")
    };
    if !ami_ok {
        c.fail(
            "workers.ami",
            format!("`{}` is neither an SSM parameter path nor an AMI id", w.ami),
        );
    }
    let it_ok = w
        .instance_type
        .split_once('.')
        .is_some_and(|(family, size)| {
            !family.is_empty()
                && !size.is_empty()
                && family.starts_with(|ch: char| ch.is_ascii_lowercase())
                && family
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
                && size
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())
        });
    if !it_ok {
        c.fail(
            "workers.instance_type",
            format!("`{}` is not an EC2 instance type", w.instance_type),
        );
    } else if w.ami.starts_with('/') {
        let arm_type = is_graviton(&w.instance_type);
        if arm_type && w.ami.contains("x86_64") {
            c.fail(
                "workers.instance_type",
                format!(
                    "{} is an Arm (Graviton) type but workers.ami is an x86_64 image{}",
                    w.instance_type,
                    if w.ami == DEFAULT_AMI {
                        " (the default); use /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
                    } else {
                        ""
                    }
                ),
            );
        } else if !arm_type && w.ami.contains("arm64") {
            c.fail(
                "workers.instance_type",
                format!(
                    "{} is an x86_64 type but workers.ami is an arm64 image",
                    w.instance_type
                ),
            );
        }
    }

    if w.max < 1 || w.max > 1000 {
        c.fail(
            "workers.max",
            format!("{} is out of range (1 to 1000)", w.max),
        );
    }
    if w.min < 0 {
        c.fail("workers.min", format!("{} is negative", w.min));
    } else if w.min > w.max {
        c.fail(
            "workers.min",
            format!("{} is greater than workers.max ({})", w.min, w.max),
        );
    } else if w.min == 0 && !spec.scaling.scale_from_zero {
        c.fail(
            "workers.min",
            "0 needs scaling.scale_from_zero: true: the backlog-per-instance metric divides by the instances in service and has no data at zero, so target tracking alone would never start a worker",
        );
    }
    c.range(
        "workers.health_check_grace_period",
        w.health_check_grace_period.0,
        0,
        7_200,
        "s",
    );
    c.range(
        "workers.instance_warmup",
        w.instance_warmup.0,
        0,
        7_200,
        "s",
    );
    c.range(
        "workers.root_volume_gib",
        w.root_volume_gib.into(),
        8,
        16_384,
        " GiB",
    );

    if let Network::Explicit(net) = &w.network {
        if !is_aws_id(&net.vpc, "vpc-") {
            c.fail(
                "workers.network.vpc",
                format!("`{}` is not a VPC id", net.vpc),
            );
        }
        for (az, subnet) in &net.subnets {
            let field = format!("workers.network.subnets.{az}");
            let az_ok = az.len() > spec.region.len()
                && az.starts_with(&spec.region)
                && az[spec.region.len()..]
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-');
            if !az_ok {
                c.errors.push(c.src.key_error(
                    &field,
                    format!("`{az}` is not an availability zone of {}", spec.region),
                ));
            }
            if !is_aws_id(subnet, "subnet-") {
                c.fail(&field, format!("`{subnet}` is not a subnet id"));
            }
        }
        if net.subnets.len() < 2 {
            c.fail(
                "workers.network.subnets",
                format!(
                    "{} availability zone{} given; the fleet needs at least 2 so that losing one zone does not stop the work",
                    net.subnets.len(),
                    if net.subnets.len() == 1 { "" } else { "s" }
                ),
            );
        }
    }
}

fn check_scaling(c: &mut Checker, env: &Environment) {
    let s = &env.spec.scaling;
    match (s.target_backlog_per_instance, s.max_latency_seconds, s.seconds_per_message) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => c.fail(
            "scaling.target_backlog_per_instance",
            "give either target_backlog_per_instance or max_latency_seconds with seconds_per_message, not both",
        ),
        (Some(t), None, None) if t.is_nan() || t <= 0.0 => c.fail(
            "scaling.target_backlog_per_instance",
            format!("{t} must be greater than 0"),
        ),
        (None, Some(_), None) => c.fail(
            "scaling.max_latency_seconds",
            "max_latency_seconds needs seconds_per_message to compute the target",
        ),
        (None, None, Some(_)) => c.fail(
            "scaling.seconds_per_message",
            "seconds_per_message needs max_latency_seconds to compute the target",
        ),
        (None, Some(latency), Some(per_message)) => {
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

fn valid_region(region: &str) -> bool {
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

fn is_aws_id(value: &str, prefix: &str) -> bool {
    value.strip_prefix(prefix).is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17) && hex.chars().all(|ch| ch.is_ascii_hexdigit())
    })
}

/// Graviton families carry a `g` after the generation digit: t4g, m7g, c7gn, r8gd.
fn is_graviton(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or_default();
    match family.find(|ch: char| ch.is_ascii_digit()) {
        Some(i) => family[i..]
            .trim_start_matches(|ch: char| ch.is_ascii_digit())
            .contains('g'),
        None => false,
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn graviton_families() {
        for t in [
            "t4g.micro",
            "m7g.large",
            "c7gn.xlarge",
            "r8gd.2xlarge",
            "a1.medium",
        ] {
            assert_eq!(is_graviton(t), t != "a1.medium", "{t}");
        }
        for t in ["t3.micro", "g4dn.xlarge", "m5.large", "inf2.xlarge"] {
            assert!(!is_graviton(t), "{t}");
        }
    }

    #[test]
    fn names_and_regions() {
        assert!(valid_name("lab-01"));
        assert!(!valid_name("Lab"));
        assert!(!valid_name("1lab"));
        assert!(!valid_name("lab-"));
        assert!(!valid_name("a-very-long-environment-name-x"));
        assert!(valid_region("eu-west-1"));
        assert!(valid_region("us-gov-west-1"));
        assert!(!valid_region("eu-west"));
        assert!(!valid_region("Europe"));
    }
}
