//! The rules for `workers.kind: fargate`: an image, a task size from AWS's table, the stop
//! timeout against the queue's visibility timeout, the count and network every kind that
//! places workers shares, and no setting of another kind.

use super::Checker;
use crate::config::Environment;
use crate::config::schema::ScalingMetric;

/// Settings that mean something only for EC2 instances or a Lambda function.
pub(super) const NOT_FARGATE: &[(&str, &str)] = &[
    ("workers.ami", "EC2"),
    ("workers.instance_type", "EC2"),
    ("workers.instance_types", "EC2"),
    ("workers.warm_pool", "EC2"),
    ("workers.user_data", "EC2"),
    ("workers.health_check_grace_period", "EC2"),
    ("workers.instance_warmup", "EC2"),
    ("workers.root_volume_gib", "EC2"),
    ("workers.gpu", "EC2"),
    ("workers.lambda", "Lambda"),
    ("workers.ecs_managed", "ECS Managed Instances"),
];

/// The task sizes Fargate runs on Linux: CPU units and the memory (MiB) each allows, from,
/// to, in steps of (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html>;
/// 8192 and 16384 need platform 1.4.0, which LATEST is).
const TASK_SIZES: &[(u32, u32, u32, u32)] = &[
    (256, 512, 2_048, 0), // 512, 1024 or 2048
    (512, 1_024, 4_096, 1_024),
    (1_024, 2_048, 8_192, 1_024),
    (2_048, 4_096, 16_384, 1_024),
    (4_096, 8_192, 30_720, 1_024),
    (8_192, 16_384, 61_440, 4_096),
    (16_384, 32_768, 122_880, 8_192),
];

/// The memory sizes (MiB) a task of `cpu` units may have; empty for a CPU size Fargate does
/// not offer.
fn memory_sizes(cpu: u32) -> Vec<u32> {
    match TASK_SIZES.iter().find(|(c, ..)| *c == cpu) {
        None => Vec::new(),
        Some((_, _, _, 0)) => vec![512, 1_024, 2_048],
        Some((_, from, to, step)) => (*from..=*to).step_by(*step as usize).collect(),
    }
}

/// Security groups a task takes at most (awsvpc: 5), and subnets (16).
const MAX_SUBNETS: usize = 16;

pub(super) fn check(c: &mut Checker, env: &Environment) {
    let spec = &env.spec;
    let w = &spec.workers;
    // "The following task definition parameters are not valid in Fargate tasks: … gpu"
    // ("Amazon ECS task definition differences for Fargate",
    // <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html>).
    if c.src.sets("workers.gpu") {
        let e = c.src.key_error(
            "workers.gpu",
            "Fargate runs no GPUs (ECS refuses a GPU in a Fargate task); use workers.kind: ec2, whose instances run GPU types with workers.gpu",
        );
        c.errors.push(e);
    }
    for (key, kind) in NOT_FARGATE {
        if c.src.sets(key) && *key != "workers.gpu" {
            let e = c.src.key_error(
                key,
                format!(
                    "`{}` applies to {kind} workers only (workers.kind is fargate)",
                    key.trim_start_matches("workers.")
                ),
            );
            c.errors.push(e);
        }
    }
    if spec.scaling.metric == ScalingMetric::HighResolution {
        c.fail(
            "scaling.metric",
            "high_resolution applies to EC2 workers only (workers.kind is fargate): its publisher counts instances in service; allowed here: sqs",
        );
    }
    let f = &w.fargate;
    let sizes = memory_sizes(f.cpu);
    if sizes.is_empty() {
        c.fail(
            "workers.fargate.cpu",
            format!(
                "{} is not a Fargate task size; allowed: {}",
                f.cpu,
                TASK_SIZES
                    .iter()
                    .map(|s| s.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    } else if !sizes.contains(&f.memory) {
        let (first, last) = (sizes[0], sizes[sizes.len() - 1]);
        c.fail(
            "workers.fargate.memory",
            format!(
                "{} MiB is not offered with cpu {}; allowed: {}",
                f.memory,
                f.cpu,
                if sizes.len() <= 3 {
                    sizes
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                } else {
                    format!("{first} to {last} in steps of {}", sizes[1] - sizes[0])
                }
            ),
        );
    }
    if let Some(gib) = f.ephemeral_storage_gib {
        c.range(
            "workers.fargate.ephemeral_storage_gib",
            gib.into(),
            21,
            200,
            " GiB",
        );
    }
    check_service(
        c,
        env,
        Service {
            kind: "fargate",
            stop_timeout: f.stop_timeout,
            command: &f.command,
            entry_point: &f.entry_point,
        },
    );
}

/// What the checks of an ECS service's tasks read, for `kind: fargate` and `ecs_managed`.
pub(super) struct Service<'a> {
    /// The kind's word, which is also its block's key (`workers.fargate`).
    pub kind: &'static str,
    pub stop_timeout: crate::config::duration::Seconds,
    pub command: &'a Option<Vec<String>>,
    pub entry_point: &'a Option<Vec<String>>,
}

/// The rules every ECS service's tasks share, on Fargate or Managed Instances: an image, the
/// stop timeout against the queue's visibility timeout, secrets ECS can name, the count and
/// the network.
pub(super) fn check_service(c: &mut Checker, env: &Environment, s: Service<'_>) {
    let spec = &env.spec;
    let w = &spec.workers;
    match &w.image {
        None => c.fail(
            "workers.image",
            format!(
                "is required with workers.kind: {}: the container image every task runs (REGISTRY/REPOSITORY:TAG or @sha256:…)",
                s.kind
            ),
        ),
        Some(i) => {
            if let Some(Err(why)) = i.uri().map(crate::config::image::parse) {
                c.fail("workers.image", why);
            }
        }
    }
    // "The valid values for Fargate are 2-120 seconds" (ContainerDefinition StopTimeout); the
    // same bound holds qfleet's tasks on Managed Instances, whose Spot notice is two minutes.
    let key = format!("workers.{}.stop_timeout", s.kind);
    c.range(&key, s.stop_timeout.0, 2, 120, "s");
    if s.stop_timeout.0 > spec.queue.visibility_timeout.0 {
        c.fail(
            &key,
            format!(
                "{} is longer than queue.visibility_timeout ({}): a message a stopping task still holds would reappear and be processed twice; at most the visibility timeout",
                s.stop_timeout, spec.queue.visibility_timeout
            ),
        );
    }
    for (key, list) in [("command", s.command), ("entry_point", s.entry_point)] {
        if list.as_ref().is_some_and(|l| l.is_empty()) {
            c.fail(
                &format!("workers.{}.{key}", s.kind),
                "is empty; leave it out to keep the image's own",
            );
        }
    }
    // ECS is given a secret named without its ARN as its partial ARN (…:secret:NAME); a name
    // that ends in a hyphen and six characters reads as a complete ARN with its random suffix
    // ("if your secret has a name that ends in a hyphen followed by six characters … Secrets
    // Manager [assumes] that you're specifying a complete ARN", Secrets Manager API, SecretId).
    for (name, source) in &w.secrets {
        if let Some(secret) = source.strip_prefix("secretsmanager:")
            && ends_like_a_suffix(secret)
        {
            c.fail(
                &format!("workers.secrets.{name}"),
                format!(
                    "`{secret}` ends in a hyphen and six characters, which Secrets Manager reads as the random suffix of a full ARN; give the secret's full ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:{secret}-XXXXXX)"
                ),
            );
        }
    }
    c.range("workers.spot.percent", w.spot.percent.into(), 0, 100, "%");
    super::workers::check_count(c, env, "task");
    super::workers::check_log_retention(c, env);
    super::workers::check_network(c, env);
    if let crate::config::Network::Explicit(net) = &w.network
        && net.subnets.len() > MAX_SUBNETS
    {
        c.fail(
            "workers.network.subnets",
            format!(
                "{} subnets; an ECS service takes at most {MAX_SUBNETS}",
                net.subnets.len()
            ),
        );
    }
}

/// Whether a secret's name ends as a full ARN's random suffix does: `-` and six letters or digits.
fn ends_like_a_suffix(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > 7 && b[b.len() - 7] == b'-' && b[b.len() - 6..].iter().all(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::{ends_like_a_suffix, memory_sizes};

    #[test]
    fn a_secret_name_ending_like_an_arn_suffix_is_told() {
        assert!(ends_like_a_suffix("app/db-prod01"));
        assert!(!ends_like_a_suffix("app/api-key"));
        assert!(!ends_like_a_suffix("app/database"));
    }

    #[test]
    fn the_memory_table_is_awss() {
        assert_eq!(memory_sizes(256), vec![512, 1024, 2048]);
        assert_eq!(memory_sizes(512), vec![1024, 2048, 3072, 4096]);
        assert_eq!(memory_sizes(4096).last(), Some(&30_720));
        assert_eq!(memory_sizes(8192)[..2], [16_384, 20_480]);
        assert_eq!(memory_sizes(16_384).last(), Some(&122_880));
        assert!(memory_sizes(300).is_empty());
    }
}
