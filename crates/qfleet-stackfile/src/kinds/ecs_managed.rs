//! Container tasks of an ECS service on ECS Managed Instances: EC2 instances that ECS
//! launches, patches and replaces through a capacity provider of the environment's cluster,
//! chosen by their attributes. The service, its task scale-in protection and its scaling on the
//! backlog per task are Fargate's ([`super::fargate`]); what differs is where the tasks run.
//!
//! AWS's pages behind each setting:
//! - the capacity provider (`AWS::ECS::CapacityProvider`, `ManagedInstancesProvider`,
//!   `InstanceLaunchTemplate`, `InstanceRequirementsRequest`):
//!   <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-capacityprovider.html>,
//!   <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-capacityprovider-managedinstancesprovider.html>,
//!   <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-capacityprovider-instancelaunchtemplate.html>;
//!   "Managed instances capacity providers are cluster-scoped" (`ClusterName`, required for
//!   them); `VCpuCount` and `MemoryMiB` are required, each with a `Min`.
//! - the instance profile: with a custom infrastructure policy "the instance role can have any
//!   name as long as your policy includes an `iam:PassRole` grant targeting the instance role
//!   ARN" (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instances-instance-profile.html>).

use super::fargate::{Provider, strategy};
use super::{Kind, LogGroup};
use crate::config::{Environment, WorkerKind, accelerator_name};

pub(super) struct EcsManaged;

impl Kind for EcsManaged {
    fn id(&self) -> WorkerKind {
        WorkerKind::EcsManaged
    }
    /// The Fargate template, whose cluster, task definition and service take the Managed
    /// Instances capacity providers in place of `FARGATE` and `FARGATE_SPOT`.
    fn template(&self) -> &'static str {
        "fargate.yaml.j2"
    }
    fn noun(&self) -> &'static str {
        "tasks"
    }
    fn unit(&self) -> Option<&'static str> {
        Some("task")
    }
    fn has_network(&self) -> bool {
        true
    }
    fn consumer_type(&self) -> &'static str {
        "AWS::ECS::CapacityProvider"
    }
    fn arrives(&self) -> &'static str {
        "the Managed Instances capacity provider, the ECS service and its scaling (its deployment completes once its tasks run, after ECS launches an instance for them)"
    }
    fn leaves(&self) -> &'static str {
        "the ECS service (its tasks get SIGTERM and workers.ecs_managed.stop_timeout to finish or release their messages; a message a task held becomes visible again), then the capacity provider, whose instances ECS terminates"
    }
    fn log_group(&self) -> LogGroup {
        LogGroup::Workers
    }
    /// awslogs names a task's stream `PREFIX/CONTAINER/TASK-ID`, as on Fargate.
    fn worker_of_stream<'a>(&self, stream: &'a str) -> &'a str {
        stream.rsplit('/').next().unwrap_or(stream)
    }
    fn summary(&self, env: &Environment) -> String {
        let w = &env.spec.workers;
        match env.parked() {
            true => "ECS Managed Instances, parked".into(),
            false => format!("ECS Managed Instances {}–{}", w.min, w.max),
        }
    }
    fn describe(&self, env: &Environment) -> String {
        let w = &env.spec.workers;
        let m = &w.ecs_managed;
        let gpus = match &w.gpu {
            Some(g) => format!(", {} GPU{}", g.count, if g.count == 1 { "" } else { "s" }),
            None => String::new(),
        };
        let types = match &w.instance_types {
            Some(t) => format!(" on {}", t.join(", ")),
            None => String::new(),
        };
        format!(
            "workers: tasks of {} on ECS Managed Instances{types} ({} CPU units, {} MiB{gpus}, {}), target {} messages per task ({}), {}–{} tasks{}",
            w.image
                .as_ref()
                .map_or("(no image)".to_string(), ToString::to_string),
            m.cpu,
            m.memory,
            m.platform.as_str(),
            env.backlog_target(),
            super::target_reason(env),
            w.min,
            w.max,
            super::spot_share(&w.spot, "tasks")
        )
    }
}

/// What the template needs for the Managed Instances capacity providers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Render {
    /// The service's strategy: the On-Demand provider with the base, the Spot one with
    /// `workers.spot.percent` of the rest.
    pub strategy: Vec<Provider>,
    /// The providers made and joined to the cluster: always both, so that a change of the
    /// Spot share never drops one that running tasks use.
    pub providers: Vec<Provider>,
    /// `InstanceRequirements.VCpuCount.Min`: the task's CPU in whole vCPUs, at least 1.
    pub vcpus: u32,
    /// `InstanceRequirements.MemoryMiB.Min`: the task's memory.
    pub memory_mib: u32,
    /// `AcceleratorCount`, with the NVIDIA GPU types, when `workers.gpu` is given.
    pub gpus: Option<u32>,
    /// `AcceleratorNames` (`workers.gpu.accelerator`).
    pub accelerator: Option<&'static str>,
    /// `AllowedInstanceTypes` (`workers.instance_types`); empty: any type that fits.
    pub instance_types: Vec<String>,
    /// `CpuManufacturers`: Graviton for `linux/arm64`, Intel and AMD for `linux/x86_64`, so
    /// that every instance chosen runs the image.
    pub cpu_manufacturers: &'static [&'static str],
    pub storage_gib: Option<u32>,
}

impl Render {
    pub fn of(env: &Environment) -> Render {
        let w = &env.spec.workers;
        let m = &w.ecs_managed;
        let mut strategy = strategy(&w.spot);
        for p in &mut strategy {
            p.name = if p.on_demand { "OnDemand" } else { "Spot" };
        }
        let providers = [("OnDemand", true), ("Spot", false)]
            .map(|(name, on_demand)| Provider {
                name,
                on_demand,
                base: 0,
                weight: 0,
            })
            .to_vec();
        Render {
            strategy,
            providers,
            vcpus: m.cpu.div_ceil(1024).max(1),
            memory_mib: m.memory,
            gpus: w.gpu.as_ref().map(|g| g.count),
            accelerator: w
                .gpu
                .as_ref()
                .and_then(|g| g.accelerator.as_deref())
                .and_then(accelerator_name),
            instance_types: w.instance_types.clone().unwrap_or_default(),
            cpu_manufacturers: match m.platform {
                crate::config::Platform::LinuxArm64 => &["amazon-web-services"],
                crate::config::Platform::LinuxX86_64 => &["intel", "amd"],
            },
            storage_gib: m.storage_gib,
        }
    }
}
