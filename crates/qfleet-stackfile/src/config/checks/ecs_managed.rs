//! The rules for `workers.kind: ecs_managed`: what every ECS service's tasks share (an image,
//! the stop timeout, the count, the network), a task size the instances can hold, GPUs the
//! capacity provider can ask for by name, and no setting of another kind.

use super::Checker;
use super::fargate::{Service, check_service};
use crate::config::Environment;
use crate::config::schema::ScalingMetric;
use crate::config::{ACCELERATOR_NAMES, accelerator_name};

/// Settings that mean something only for instances qfleet launches itself, or for another
/// kind. ECS chooses, patches and replaces Managed Instances, and brings their image.
const NOT_ECS_MANAGED: &[(&str, &str, &str)] = &[
    (
        "workers.ami",
        "EC2 workers",
        "ECS chooses the instances' image and patches it",
    ),
    (
        "workers.instance_type",
        "EC2 workers",
        "give workers.instance_types, a list, or let ECS choose by the task's size",
    ),
    (
        "workers.warm_pool",
        "EC2 workers",
        "ECS keeps idle instances itself for a while",
    ),
    (
        "workers.user_data",
        "EC2 workers",
        "ECS starts the instances; the image is the worker",
    ),
    (
        "workers.health_check_grace_period",
        "EC2 workers",
        "ECS replaces unhealthy instances itself",
    ),
    (
        "workers.instance_warmup",
        "EC2 workers",
        "the service's scaling counts tasks, not instances",
    ),
    (
        "workers.root_volume_gib",
        "EC2 workers",
        "use workers.ecs_managed.storage_gib",
    ),
    (
        "workers.public_ip",
        "EC2 and Fargate workers",
        "a task on an instance takes the awsvpc network mode, where ECS gives it no public IP; use subnets with a NAT gateway or VPC endpoints (workers.network with endpoints: create)",
    ),
    (
        "workers.lambda",
        "workers.kind: lambda",
        "the settings of a function",
    ),
    (
        "workers.fargate",
        "workers.kind: fargate",
        "use workers.ecs_managed",
    ),
];

/// The largest task: 192 vCPUs and 768 GiB ("Task size" in the ECS Developer Guide's task
/// definition parameters: the task-level `cpu` and `memory` of tasks on instances,
/// <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size>).
const MAX_CPU: u64 = 196_608;
const MAX_MEMORY: u64 = 786_432;

pub(super) fn check(c: &mut Checker, env: &Environment) {
    let spec = &env.spec;
    let w = &spec.workers;
    for (key, kind, why) in NOT_ECS_MANAGED {
        if c.src.sets(key) {
            let e = c.src.key_error(
                key,
                format!(
                    "`{}` applies to {kind} only (workers.kind is ecs_managed): {why}",
                    key.trim_start_matches("workers.")
                ),
            );
            c.errors.push(e);
        }
    }
    if spec.scaling.metric == ScalingMetric::HighResolution {
        c.fail(
            "scaling.metric",
            "high_resolution applies to EC2 workers only (workers.kind is ecs_managed): its publisher counts instances in service; allowed here: sqs",
        );
    }
    let m = &w.ecs_managed;
    c.range(
        "workers.ecs_managed.cpu",
        m.cpu.into(),
        256,
        MAX_CPU,
        " CPU units",
    );
    c.range(
        "workers.ecs_managed.memory",
        m.memory.into(),
        512,
        MAX_MEMORY,
        " MiB",
    );
    // The instance's data volume: "The minimum size of this volume is 30 GiB and the maximum
    // size is 16,384 GiB. By default, the size of this volume is 80 GiB" ("Architect for
    // Amazon ECS Managed Instances",
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ManagedInstances.html); the
    // API's own minimum of 1 is looser.
    if let Some(gib) = m.storage_gib {
        c.range(
            "workers.ecs_managed.storage_gib",
            gib.into(),
            30,
            16_384,
            " GiB",
        );
    }
    check_service(
        c,
        env,
        Service {
            kind: "ecs_managed",
            stop_timeout: m.stop_timeout,
            command: &m.command,
            entry_point: &m.entry_point,
        },
    );
    if let Some(types) = &w.instance_types {
        if types.is_empty() || types.len() > 20 {
            c.fail(
                "workers.instance_types",
                format!(
                    "{} types; give 1 to 20, or leave it out and ECS chooses any type that holds a task",
                    types.len()
                ),
            );
        }
        // The image runs on one architecture: a type of the other would never be chosen (the
        // providers ask for the platform's CPU makers), and the tasks would wait for ever.
        let arm = m.platform == crate::config::Platform::LinuxArm64;
        for t in types {
            if !super::workers::is_instance_type(t) {
                c.fail(
                    "workers.instance_types",
                    format!("`{t}` is not an EC2 instance type such as m7i.large or g6.xlarge"),
                );
            } else if crate::config::schema::is_graviton(t) != arm {
                c.fail(
                    "workers.instance_types",
                    format!(
                        "`{t}` is {}, and workers.ecs_managed.platform is {}: the image runs on the other; list types of one architecture, the platform's",
                        if arm { "x86_64" } else { "Graviton (arm64)" },
                        m.platform.as_str()
                    ),
                );
            }
        }
    }
    if let Some(gpu) = &w.gpu {
        c.range("workers.gpu.count", gpu.count.into(), 1, 16, " GPUs");
        if let Some(model) = &gpu.accelerator
            && accelerator_name(model).is_none()
        {
            c.fail(
                "workers.gpu.accelerator",
                format!(
                    "`{model}` is not a GPU the capacity provider can ask for by name; allowed: {}",
                    ACCELERATOR_NAMES
                        .iter()
                        .map(|(ec2, _)| *ec2)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        if let Some(types) = &w.instance_types {
            for t in types {
                let family = t.split('.').next().unwrap_or(t);
                if !crate::config::GPU_FAMILIES.contains(&family) {
                    c.fail(
                        "workers.instance_types",
                        format!(
                            "`{t}` has no NVIDIA GPU qfleet runs, and workers.gpu asks for {} per task; allowed families: {}",
                            gpu.count,
                            crate::config::GPU_FAMILIES.join(", ")
                        ),
                    );
                }
            }
        }
    }
    c.range("workers.spot.percent", w.spot.percent.into(), 0, 100, "%");
    super::workers::check_count(c, env, "task");
    super::workers::check_log_retention(c, env);
    super::workers::check_network(c, env);
}
