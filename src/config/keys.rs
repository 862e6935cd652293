//! Every key a stack file may hold and the kind of value it takes: what the first pass over a
//! parsed file checks (unknown keys, wrong types), and what `schemas/stack-file.json` is
//! generated from. Tests keep it equal to the types in `schema.rs` (see `tests/stack_file_schema.rs`).

/// The kind of value a key takes, as serde_yaml reads it into the types of `schema.rs`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// `true` or `false` (a `bool`).
    Bool,
    /// A whole number, possibly negative (an `i64`).
    Int,
    /// A whole number from 0 to 4294967295 (a `u32`).
    UInt,
    /// Any number (an `f64`).
    Float,
    /// Whole seconds or a number with a unit (`Seconds`).
    Duration,
    /// Text; serde_yaml reads any single value (`t3.micro`, `4711`, `true`) as text.
    Text,
    /// One of these words (an enum such as `WorkerKind`).
    Choice(&'static [&'static str]),
    /// The kind, or nothing (`key:` or `key: ~`): an `Option`.
    Optional(&'static Kind),
    /// A mapping of these settings (a struct); an empty value means every default.
    Settings(&'static [Key]),
    /// A mapping of the user's own names to text (tags, subnets); empty means none.
    Names,
    /// `default`, or a mapping with `vpc` and `subnets` (`Network`).
    Network,
    /// A list of values of the kind (a `Vec`).
    List(&'static Kind),
    /// Any value: a free-form part of a setting whose own rules check it (an IAM condition).
    Any,
}

/// One key of a mapping of settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Key {
    pub name: &'static str,
    pub kind: Kind,
    /// The file must set it (no default).
    pub required: bool,
}

const fn opt(name: &'static str, kind: Kind) -> Key {
    Key {
        name,
        kind,
        required: false,
    }
}

const fn must(name: &'static str, kind: Kind) -> Key {
    Key {
        name,
        kind,
        required: true,
    }
}

const TEXT: Kind = Kind::Optional(&Kind::Text);

/// The top level of a stack file (`StackFile`).
pub const STACK_FILE: &[Key] = &[
    opt("environment", TEXT),
    must("region", Kind::Text),
    opt("region_unlisted", Kind::Bool),
    opt("lab", Kind::Bool),
    opt("copies", Kind::Optional(&Kind::UInt)),
    opt("tags", Kind::Names),
    opt("owner", TEXT),
    opt("accounts", Kind::Optional(&Kind::List(&Kind::Text))),
    opt("termination_protection", Kind::Optional(&Kind::Bool)),
    opt("express", Kind::Optional(&Kind::Bool)),
    opt("service_role_arn", TEXT),
    opt("kms_key", TEXT),
    opt("bucket", Kind::Settings(BUCKET)),
    opt("queue", Kind::Settings(QUEUE)),
    opt("alarms", Kind::Settings(ALARMS)),
    opt("workers", Kind::Settings(WORKERS)),
    opt("scaling", Kind::Settings(SCALING)),
    opt(
        "stages",
        Kind::Optional(&Kind::List(&Kind::Settings(STAGE))),
    ),
];

/// The values of a stage's `fed_by` (`Feed`).
pub const FEEDS: &[&str] = &["objects", "messages"];

/// One stage of `stages` (`StageSpec`).
const STAGE: &[Key] = &[
    must("name", Kind::Text),
    opt("fed_by", Kind::Optional(&Kind::Choice(FEEDS))),
    opt("prefix", TEXT),
    opt("queue", Kind::Settings(QUEUE)),
    opt("workers", Kind::Settings(WORKERS)),
    opt("scaling", Kind::Settings(SCALING)),
];

const BUCKET: &[Key] = &[
    opt("upload_prefix", Kind::Text),
    opt("processed_prefix", Kind::Text),
    opt("retain", Kind::Optional(&Kind::Bool)),
    opt("access_log_bucket", TEXT),
    opt("noncurrent_version_expiration_days", Kind::UInt),
    opt("abort_incomplete_multipart_days", Kind::UInt),
];

const QUEUE: &[Key] = &[
    opt("visibility_timeout", Kind::Duration),
    opt("message_retention", Kind::Duration),
    opt("receive_wait_time", Kind::Duration),
    opt("max_receive_count", Kind::Int),
    opt("dlq_retention", Kind::Duration),
    opt("oldest_message_alarm", Kind::Duration),
];

const ALARMS: &[Key] = &[opt("email", TEXT)];

/// The values of `workers.kind` (`WorkerKind`).
pub const WORKER_KINDS: &[&str] = &["ec2", "lambda", "fargate"];

const WORKERS: &[Key] = &[
    opt("kind", Kind::Choice(WORKER_KINDS)),
    opt("lambda", Kind::Settings(LAMBDA)),
    opt("fargate", Kind::Settings(FARGATE)),
    opt("ami", Kind::Text),
    opt("instance_type", Kind::Text),
    opt("instance_types", Kind::Optional(&Kind::List(&Kind::Text))),
    opt("spot", Kind::Settings(SPOT)),
    opt("warm_pool", Kind::Optional(&Kind::Settings(WARM_POOL))),
    opt("min", Kind::Int),
    opt("max", Kind::Int),
    opt("network", Kind::Network),
    opt("user_data", TEXT),
    opt("image", TEXT),
    opt("health_check_grace_period", Kind::Duration),
    opt("instance_warmup", Kind::Duration),
    opt("root_volume_gib", Kind::UInt),
    opt("log_retention_days", Kind::UInt),
    opt("public_ip", Kind::Bool),
    opt("environment", Kind::Names),
    opt("secrets", Kind::Names),
    opt("secret_keys", Kind::Optional(&Kind::List(&Kind::Text))),
    opt("policies", Kind::Optional(&Kind::List(&Kind::Text))),
    opt(
        "statements",
        Kind::Optional(&Kind::List(&Kind::Settings(STATEMENT))),
    ),
    opt("allow_privileged", Kind::Bool),
];

/// The values of a statement's `Effect`.
pub const EFFECTS: &[&str] = &["Allow", "Deny"];

/// One IAM statement of `workers.statements` (`permissions::Statement`), with IAM's key names.
const STATEMENT: &[Key] = &[
    opt("Sid", Kind::Text),
    must("Effect", Kind::Choice(EFFECTS)),
    must("Action", Kind::Any),
    must("Resource", Kind::Any),
    opt("Condition", Kind::Any),
];

/// The values of `workers.warm_pool.pool_state` (`PoolState`).
pub const POOL_STATES: &[&str] = &["stopped", "running"];

const WARM_POOL: &[Key] = &[
    opt("min_size", Kind::UInt),
    opt("pool_state", Kind::Choice(POOL_STATES)),
    opt("reuse_on_scale_in", Kind::Bool),
];

const SPOT: &[Key] = &[
    opt("percent", Kind::UInt),
    opt("on_demand_base", Kind::UInt),
];

/// The values of `workers.lambda.architecture`.
pub const ARCHITECTURES: &[&str] = &["x86_64", "arm64"];

const LAMBDA: &[Key] = &[
    opt("code", TEXT),
    opt("image", TEXT),
    opt("command", Kind::Optional(&Kind::List(&Kind::Text))),
    opt("entry_point", Kind::Optional(&Kind::List(&Kind::Text))),
    opt("architecture", Kind::Choice(ARCHITECTURES)),
    opt("runtime", Kind::Text),
    opt("handler", Kind::Text),
    opt("memory_mb", Kind::UInt),
    opt("timeout", Kind::Duration),
    opt("batch_size", Kind::UInt),
    opt("batching_window", Kind::Duration),
    opt("max_concurrency", Kind::UInt),
    opt("reserved_concurrency", Kind::Optional(&Kind::UInt)),
    opt(
        "provisioned_pollers",
        Kind::Optional(&Kind::Settings(POLLERS)),
    ),
    opt("log_retention_days", Kind::UInt),
];

/// The values of `workers.fargate.platform` (`Platform`).
pub const PLATFORMS: &[&str] = &["linux/x86_64", "linux/arm64"];

/// `workers.fargate` (`FargateSpec`).
const FARGATE: &[Key] = &[
    opt("cpu", Kind::UInt),
    opt("memory", Kind::UInt),
    opt("platform", Kind::Choice(PLATFORMS)),
    opt("stop_timeout", Kind::Duration),
    opt("ephemeral_storage_gib", Kind::Optional(&Kind::UInt)),
    opt("exec", Kind::Bool),
    opt("command", Kind::Optional(&Kind::List(&Kind::Text))),
    opt("entry_point", Kind::Optional(&Kind::List(&Kind::Text))),
];

/// `workers.lambda.provisioned_pollers` (`PollerSpec`).
const POLLERS: &[Key] = &[must("minimum", Kind::UInt), must("maximum", Kind::UInt)];

/// The mapping form of `workers.network` (`ExplicitNetwork`).
pub const EXPLICIT_NETWORK: &[Key] = &[must("vpc", Kind::Text), must("subnets", Kind::Names)];

const SCALING: &[Key] = &[
    opt("target_backlog_per_instance", Kind::Optional(&Kind::Float)),
    opt("max_latency_seconds", Kind::Optional(&Kind::Float)),
    opt("seconds_per_message", Kind::Optional(&Kind::Float)),
    opt("scale_from_zero", Kind::Bool),
    opt("expected_peak", Kind::Optional(&Kind::Float)),
    opt("metric", Kind::Choice(SCALING_METRICS)),
    opt("scale_in", Kind::Settings(SCALE_IN)),
];

/// The values of `scaling.scale_in.policy` (`ScaleInPolicy`).
pub const SCALE_IN_POLICIES: &[&str] = &["step", "target_tracking"];

const SCALE_IN: &[Key] = &[
    opt("policy", Kind::Choice(SCALE_IN_POLICIES)),
    opt("percent", Kind::UInt),
    opt("below", Kind::Float),
    opt("minutes", Kind::UInt),
    opt("cooldown", Kind::Duration),
];

/// The values of `scaling.metric` (`ScalingMetric`).
pub const SCALING_METRICS: &[&str] = &["sqs", "high_resolution"];

/// Every mapping of settings with its dotted path (`""` for the top level), parents first.
pub fn mappings() -> Vec<(String, &'static [Key])> {
    fn visit(path: String, keys: &'static [Key], out: &mut Vec<(String, &'static [Key])>) {
        out.push((path.clone(), keys));
        for k in keys {
            let child = super::positions::join(&path, k.name);
            match k.kind {
                Kind::Settings(inner) | Kind::Optional(&Kind::Settings(inner)) => {
                    visit(child, inner, out)
                }
                Kind::Network => visit(child, EXPLICIT_NETWORK, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    visit(String::new(), STACK_FILE, &mut out);
    out
}

/// Every key's dotted path (`workers.lambda.timeout`), mappings included, in table order.
pub fn all_paths() -> Vec<String> {
    mappings()
        .into_iter()
        .flat_map(|(path, keys)| {
            keys.iter()
                .map(move |k| super::positions::join(&path, k.name))
        })
        .collect()
}

/// The names of a mapping's keys, for "allowed here" lists.
pub fn names(keys: &[Key]) -> Vec<&'static str> {
    keys.iter().map(|k| k.name).collect()
}
