//! The rules for `workers`: size, instance type and architecture, AMI, network, user data.

use super::{Checker, is_aws_id};
use crate::config::Environment;
use crate::config::schema::{DEFAULT_AMI, Network, ScalingMetric, WarmPoolSpec, is_graviton};

pub(super) fn check(c: &mut Checker, env: &Environment) {
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
    match &w.instance_types {
        None => check_type(
            c,
            "workers.instance_type",
            &w.instance_type,
            w.machine_image(),
        ),
        Some(types) => check_types(c, types, w.machine_image()),
    }
    if let Some(gpu) = &w.gpu {
        super::gpu::check(c, w, gpu);
    }
    if w.instance_types.is_some() && c.src.sets("workers.instance_type") {
        let e = c.src.key_error(
            "workers.instance_type",
            "give either instance_type (one type) or instance_types (several), not both",
        );
        c.errors.push(e);
    }
    c.range("workers.spot.percent", w.spot.percent.into(), 0, 100, "%");
    if let Some(i) = &w.image {
        match i.uri()
            .map_or(Ok(()), |u| crate::config::image::parse(u).map(|_| ())) {
            Err(why) => c.fail("workers.image", why),
            Ok(_) if w.user_data.is_some() => c.fail(
                "workers.image",
                "give either image (qfleet runs the container) or user_data (your script starts the worker), not both",
            ),
            Ok(_) => {}
        }
    }
    for (i, p) in w.dev_principals.iter().enumerate() {
        let parts: Vec<&str> = p.splitn(6, ':').collect();
        let ok = matches!(parts[..], ["arn", _, "iam", "", account, what]
            if account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && (what.starts_with("role/") || what.starts_with("user/"))
                && what.len() > 5
                && !what.contains('*'));
        if !ok {
            c.fail(
                &format!("workers.dev_principals.{i}"),
                format!(
                    "`{p}` is not an IAM role or user ARN (arn:aws:iam::123456789012:role/NAME)"
                ),
            );
        }
    }
    if let Some(t) = w.job_timeout {
        // At most what a message's visibility can reach from its receive, 12 hours
        // (ChangeMessageVisibility,
        // <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html>):
        // the worker holds its message for as long as the attempt runs.
        c.range("workers.job_timeout", t.0, 1, 43_200, "s");
    }
    if let Some(pool) = &w.warm_pool {
        check_warm_pool(c, w, pool);
    }
    // "Target tracking using high-resolution metrics is available in all AWS Regions except
    // the AWS GovCloud (US) Regions" (EC2 Auto Scaling User Guide, "Create a target tracking
    // policy using high-resolution metrics for faster response").
    if spec.scaling.metric == ScalingMetric::HighResolution && spec.region.starts_with("us-gov-") {
        c.fail(
            "scaling.metric",
            format!(
                "high_resolution is not available in {} (target tracking on high-resolution metrics is offered in every Region but the AWS GovCloud (US) Regions); use sqs there",
                spec.region
            ),
        );
    }
    check_count(c, env, "instance");
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
    check_log_retention(c, env);
    check_network(c, env);
}

/// The most types `workers.instance_types` takes: qfleet's own bound, well within the Auto
/// Scaling group's, that keeps the preview readable.
const MAX_INSTANCE_TYPES: usize = 20;

pub(super) fn is_instance_type(t: &str) -> bool {
    t.split_once('.').is_some_and(|(family, size)| {
        !family.is_empty()
            && !size.is_empty()
            && family.starts_with(|ch: char| ch.is_ascii_lowercase())
            && family
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
            && size
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())
    })
}

/// One instance type: its form, and its architecture against an AMI given as an SSM path.
fn check_type(c: &mut Checker, field: &str, t: &str, ami: &str) {
    if !is_instance_type(t) {
        c.fail(field, format!("`{t}` is not an EC2 instance type"));
    } else if ami.starts_with('/') {
        check_architecture(c, field, t, ami);
    }
}

fn check_architecture(c: &mut Checker, field: &str, t: &str, ami: &str) {
    let arm_type = is_graviton(t);
    if arm_type && ami.contains("x86_64") {
        c.fail(
            field,
            format!(
                "{t} is an Arm (Graviton) type but workers.ami is an x86_64 image{}",
                if ami == DEFAULT_AMI {
                    " (the default); use /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
                } else {
                    ""
                }
            ),
        );
    } else if !arm_type && ami.contains("arm64") {
        c.fail(
            field,
            format!("{t} is an x86_64 type but workers.ami is an arm64 image"),
        );
    }
}

/// `workers.instance_types`: 2 to 20 different types, all of one architecture, that of the AMI
/// (one launch template, so one image, serves them all).
fn check_types(c: &mut Checker, types: &[String], ami: &str) {
    const FIELD: &str = "workers.instance_types";
    if types.len() < 2 || types.len() > MAX_INSTANCE_TYPES {
        c.fail(
            FIELD,
            format!(
                "{} type{} given; list 2 to {MAX_INSTANCE_TYPES} (for one, use workers.instance_type)",
                types.len(),
                if types.len() == 1 { "" } else { "s" }
            ),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for t in types {
        if !is_instance_type(t) {
            c.fail(FIELD, format!("`{t}` is not an EC2 instance type"));
            return;
        }
        if !seen.insert(t.as_str()) {
            c.fail(FIELD, format!("{t} is listed twice"));
            return;
        }
    }
    if let Some(first) = types.first() {
        if let Some(other) = types.iter().find(|t| is_graviton(t) != is_graviton(first)) {
            let arch = |t: &str| {
                if is_graviton(t) {
                    "Arm (Graviton)"
                } else {
                    "x86_64"
                }
            };
            c.fail(
                FIELD,
                format!(
                    "{first} is {} but {other} is {}: the group's one AMI runs on one architecture",
                    arch(first),
                    arch(other)
                ),
            );
        } else if ami.starts_with('/') {
            check_architecture(c, FIELD, first, ami);
        }
    }
}

/// A warm pool (`workers.warm_pool`): AWS refuses one on a group "that has a mixed instances
/// policy or a launch template or launch configuration that requests Spot Instances"
/// (PutWarmPool, <https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutWarmPool.html>);
/// and only the reference worker waits for its instance to be `InService` before it reads
/// the queue (`crates/qfleet-runtime/python/qfleet_worker.py`, `may_receive`): a custom script or a
/// container would start consuming from the pool, so they are refused rather than trusted.
fn check_warm_pool(c: &mut Checker, w: &crate::config::schema::WorkersSpec, pool: &WarmPoolSpec) {
    if w.mixed() {
        let key = if w.instance_types.is_some() {
            "workers.instance_types"
        } else {
            "workers.spot.percent"
        };
        c.fail(
            "workers.warm_pool",
            format!(
                "a warm pool needs one instance type and no Spot ({key} is set): AWS does not put a warm pool on a group with a mixed instances policy or Spot Instances"
            ),
        );
    }
    if w.image.is_some() || w.user_data.is_some() {
        c.fail(
            "workers.warm_pool",
            "a warm pool needs the reference worker, which waits until its instance is in service before it reads the queue; a container (workers.image) or a custom script (workers.user_data) would start consuming while its instance is still in the pool",
        );
    }
    if i64::from(pool.min_size) > w.max {
        c.fail(
            "workers.warm_pool.min_size",
            format!(
                "{} is greater than workers.max ({}): the pool holds at most the instances the group may run",
                pool.min_size, w.max
            ),
        );
    }
}

/// The count range every kind that counts units shares (`workers.min`, `max`, the
/// On-Demand base).
pub(super) fn check_count(c: &mut Checker, env: &Environment, unit: &str) {
    let spec = &env.spec;
    let w = &spec.workers;
    if i64::from(w.spot.on_demand_base) > w.max {
        c.fail(
            "workers.spot.on_demand_base",
            format!(
                "{} is greater than workers.max ({}): the fleet could never start its On-Demand base",
                w.spot.on_demand_base, w.max
            ),
        );
    }

    if w.max < 0 || w.max > 1000 {
        c.fail(
            "workers.max",
            format!(
                "{} is out of range (0 to 1000; 0 parks the environment: no worker runs)",
                w.max
            ),
        );
    }
    if w.min < 0 {
        c.fail("workers.min", format!("{} is negative", w.min));
    } else if w.min > w.max {
        c.fail(
            "workers.min",
            format!("{} is greater than workers.max ({})", w.min, w.max),
        );
    } else if w.min == 0 && w.max > 0 && !spec.scaling.scale_from_zero {
        c.fail(
            "workers.min",
            format!("0 needs scaling.scale_from_zero: true: the backlog-per-{unit} metric divides by the {unit}s in service and has no data at zero, so target tracking alone would never start a worker"),
        );
    }
}

pub(super) fn check_log_retention(c: &mut Checker, env: &Environment) {
    let w = &env.spec.workers;
    if !super::LOG_RETENTION_DAYS.contains(&w.log_retention_days) {
        c.fail(
            "workers.log_retention_days",
            format!(
                "{} is not a retention CloudWatch Logs offers",
                w.log_retention_days
            ),
        );
    }
}

/// An explicit network: a VPC and a subnet in each of 2 or more availability zones.
pub(super) fn check_network(c: &mut Checker, env: &Environment) {
    let spec = &env.spec;
    let w = &spec.workers;
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
                // A target of a pipeline has its stages' network, named once for every target.
                let why = match env.target.is_some() && env.stage.is_some() {
                    true => {
                        ": a pipeline's targets share their stages' networks, so they are in one Region (use a file per Region)"
                    }
                    false => "",
                };
                c.errors.push(c.src.key_error(
                    &field,
                    format!("`{az}` is not an availability zone of {}{why}", spec.region),
                ));
            }
            if !is_aws_id(subnet, "subnet-") {
                c.fail(&field, format!("`{subnet}` is not a subnet id"));
            }
        }
        // "Each subnet must reside entirely within one Availability Zone"
        // (https://docs.aws.amazon.com/vpc/latest/userguide/configure-subnets.html): one id
        // under two zones is wrong under one of them, and spreads the fleet over fewer zones.
        let mut first_zone: std::collections::BTreeMap<&str, &str> = Default::default();
        for (az, subnet) in &net.subnets {
            if let Some(earlier) = first_zone.insert(subnet.as_str(), az.as_str()) {
                c.fail(
                    &format!("workers.network.subnets.{az}"),
                    format!(
                        "`{subnet}` is listed under {earlier} too: a subnet is in one availability zone; give each zone its own subnet"
                    ),
                );
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
