//! `workers.kind: ecs_managed`: an image, a task size the instances can hold, GPUs the
//! capacity provider can ask for by name, a network with a way out, and no setting that only
//! instances qfleet launches itself (or another kind) would read.

use super::{errors, parse_str};

const BASE: &str = "region: us-east-1\nworkers:\n  kind: ecs_managed\n  image: public.ecr.aws/docker/library/python:3.12\n";

fn fields(yaml: &str) -> Vec<(String, String)> {
    errors(yaml)
        .into_iter()
        .map(|e| (e.field.clone(), e.message.clone()))
        .collect()
}

fn refused(extra: &str, field: &str, says: &str) {
    let found = fields(&format!("{BASE}{extra}"));
    assert!(
        found.iter().any(|(f, m)| f == field && m.contains(says)),
        "{field}: {says}\n{found:?}"
    );
}

#[test]
fn a_managed_fleet_with_gpus_types_and_spot_is_valid() {
    let env = parse_str(&format!(
        "{BASE}  ecs_managed: {{cpu: 4096, memory: 14336, storage_gib: 200}}\n  instance_types: [g6.xlarge]\n  gpu: {{count: 1, accelerator: L4}}\n  spot: {{percent: 50, on_demand_base: 1}}\n"
    ))
    .unwrap()
    .into_only();
    let w = &env.spec.workers;
    assert_eq!((w.ecs_managed.cpu, w.ecs_managed.memory), (4096, 14336));
    assert_eq!(env.kind().unit(), Some("task"));
    assert!(
        env.kind()
            .describe(&env)
            .contains("on ECS Managed Instances on g6.xlarge")
    );
}

#[test]
fn settings_of_instances_qfleet_launches_or_of_another_kind_are_refused_with_the_reason() {
    refused(
        "  ami: ami-0123456789abcdef0\n",
        "workers.ami",
        "ECS chooses the instances' image",
    );
    refused(
        "  instance_type: m7i.large\n",
        "workers.instance_type",
        "give workers.instance_types",
    );
    refused(
        "  user_data: start.sh\n",
        "workers.user_data",
        "ECS starts the instances",
    );
    refused(
        "  root_volume_gib: 100\n",
        "workers.root_volume_gib",
        "workers.ecs_managed.storage_gib",
    );
    refused(
        "  fargate: {cpu: 512}\n",
        "workers.fargate",
        "use workers.ecs_managed",
    );
    refused("  public_ip: true\n", "workers.public_ip", "no public IP");
    refused(
        "scaling:\n  metric: high_resolution\n",
        "scaling.metric",
        "EC2 workers only",
    );
    // And the block is refused with the other kinds.
    let f = fields("region: us-east-1\nworkers:\n  ecs_managed: {cpu: 1024}\n");
    assert!(
        f.iter()
            .any(|(k, m)| k == "workers.ecs_managed" && m.contains("ecs_managed only")),
        "{f:?}"
    );
    let f = fields("region: us-east-1\nworkers:\n  kind: lambda\n  ecs_managed: {cpu: 1024}\n");
    assert!(f.iter().any(|(k, _)| k == "workers.ecs_managed"), "{f:?}");
    let f = fields(
        "region: us-east-1\nworkers:\n  kind: fargate\n  image: public.ecr.aws/a/b:1\n  ecs_managed: {cpu: 1024}\n",
    );
    assert!(f.iter().any(|(k, _)| k == "workers.ecs_managed"), "{f:?}");
}

#[test]
fn the_task_size_stop_timeout_types_and_gpu_model_are_bounded_as_aws_allows() {
    refused(
        "  ecs_managed: {cpu: 128}\n",
        "workers.ecs_managed.cpu",
        "256",
    );
    refused(
        "  ecs_managed: {cpu: 200000}\n",
        "workers.ecs_managed.cpu",
        "196608",
    );
    refused(
        "  ecs_managed: {memory: 256}\n",
        "workers.ecs_managed.memory",
        "512",
    );
    refused(
        "  ecs_managed: {stop_timeout: 3m}\n",
        "workers.ecs_managed.stop_timeout",
        "120",
    );
    refused(
        "  ecs_managed: {storage_gib: 29}\n",
        "workers.ecs_managed.storage_gib",
        "30",
    );
    refused(
        "  ecs_managed: {command: []}\n",
        "workers.ecs_managed.command",
        "is empty",
    );
    refused(
        "  instance_types: [big]\n",
        "workers.instance_types",
        "not an EC2 instance type",
    );
    refused(
        "  instance_types: [m7g.large]\n",
        "workers.instance_types",
        "is Graviton (arm64)",
    );
    refused(
        "  ecs_managed: {platform: linux/arm64}\n  instance_types: [m7i.large]\n",
        "workers.instance_types",
        "is x86_64",
    );
    refused(
        "  gpu: {accelerator: B200}\n",
        "workers.gpu.accelerator",
        "allowed: A10G",
    );
    refused(
        "  gpu: {}\n  instance_types: [m7i.large]\n",
        "workers.instance_types",
        "no NVIDIA GPU",
    );
    let f = fields("region: us-east-1\nworkers:\n  kind: ecs_managed\n");
    assert!(
        f.iter()
            .any(|(k, m)| k == "workers.image" && m.contains("ecs_managed")),
        "{f:?}"
    );
}
