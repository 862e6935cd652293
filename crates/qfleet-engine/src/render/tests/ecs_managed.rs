//! The fleet template of tasks on ECS Managed Instances (`workers.kind: ecs_managed`), checked
//! on the parsed YAML. No emulator runs ECS Managed Instances: what the template asks of AWS
//! is asserted here against AWS's pages, cited in templates/fargate.yaml.j2 and
//! crates/qfleet-stackfile/src/kinds/ecs_managed.rs.

use super::*;
use crate::config;
use serde_yaml_ng::Value;

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/transcriber:2.1.0";
const NETWORK: &str = "  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      us-east-1a: subnet-0123456789abcdef0\n      us-east-1b: subnet-0123456789abcdef1\n";

fn managed(workers: &str) -> Value {
    let env = config::parse(
        PathBuf::from("stacks/t.yaml"),
        format!(
            "environment: gm\nregion: us-east-1\nlab: true\nworkers:\n  kind: ecs_managed\n  image: {IMAGE}\n{NETWORK}{workers}"
        ),
    )
    .unwrap()
    .into_only();
    let stacks = render(&env).unwrap();
    serde_yaml_ng::from_str::<Value>(&stacks[1].template).unwrap()
}

fn resource<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["Resources"][name]
}

fn props<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &resource(doc, name)["Properties"]
}

fn of_type<'a>(doc: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
    doc["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(ty))
        .map(|(k, r)| (k.as_str().unwrap(), r))
        .collect()
}

fn statement<'a>(doc: &'a Value, policy: &str, sid: &str) -> &'a Value {
    props(doc, policy)["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["Sid"].as_str() == Some(sid))
        .unwrap_or_else(|| panic!("{policy} has no {sid}"))
}

fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap()
}

#[test]
fn the_tasks_run_on_a_managed_instances_provider_of_the_cluster_not_on_fargate() {
    let t = managed("");
    let task = props(&t, ids::TASK_DEFINITION);
    assert_eq!(task["RequiresCompatibilities"], yaml("[MANAGED_INSTANCES]"));
    assert_eq!(task["NetworkMode"], "awsvpc");
    assert_eq!(task["Cpu"], "1024");
    assert_eq!(task["Memory"], "2048");
    // EphemeralStorage is not valid for Managed Instances tasks (the task definition
    // differences page); the instance's data volume holds the writes.
    assert!(task["EphemeralStorage"].is_null());
    // The cluster names no Fargate provider; the association joins the managed ones.
    let cluster = props(&t, ids::CLUSTER);
    assert!(cluster["CapacityProviders"].is_null(), "{cluster:?}");
    // Both providers, even without a Spot share: ECS refuses to drop one that running tasks
    // use, so a later change of the share must not remove it.
    let providers = of_type(&t, "AWS::ECS::CapacityProvider");
    let ids: Vec<&str> = providers.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, ["CapacityProviderOnDemand", "CapacityProviderSpot"]);
    let (_, p) = providers[0];
    let p = &p["Properties"];
    assert_eq!(p["Name"], "qfleet-gm_on-demand");
    assert_eq!(p["ClusterName"], yaml(&format!("!Ref {}", ids::CLUSTER)));
    let template = &p["ManagedInstancesProvider"]["InstanceLaunchTemplate"];
    assert_eq!(template["CapacityOptionType"], "ON_DEMAND");
    // VCpuCount and MemoryMiB are required, each with a Min: the task's size.
    assert_eq!(template["InstanceRequirements"]["VCpuCount"]["Min"], 1);
    assert_eq!(template["InstanceRequirements"]["MemoryMiB"]["Min"], 2048);
    assert_eq!(
        template["InstanceRequirements"]["CpuManufacturers"],
        yaml("[intel, amd]")
    );
    assert!(template["InstanceRequirements"]["AcceleratorCount"].is_null());
    // The instances go where the tasks go, in the service's security group.
    let service = props(&t, ids::SERVICE);
    let awsvpc = &service["NetworkConfiguration"]["AwsvpcConfiguration"];
    assert_eq!(
        template["NetworkConfiguration"]["Subnets"],
        awsvpc["Subnets"]
    );
    assert_eq!(
        template["NetworkConfiguration"]["SecurityGroups"],
        awsvpc["SecurityGroups"]
    );
    assert_eq!(
        service["CapacityProviderStrategy"],
        yaml("[{CapacityProvider: !Ref CapacityProviderOnDemand, Base: 0, Weight: 1}]")
    );
    assert_eq!(
        service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"],
        "DISABLED"
    );
    let depends = resource(&t, ids::SERVICE)["DependsOn"]
        .as_sequence()
        .unwrap();
    assert!(depends.contains(&yaml("CapacityProviderAssociations")));
    let assoc = props(&t, "CapacityProviderAssociations");
    assert_eq!(
        assoc["CapacityProviders"],
        yaml("[!Ref CapacityProviderOnDemand, !Ref CapacityProviderSpot]")
    );
    assert_eq!(resource(&t, ids::SERVICE)["Type"], "AWS::ECS::Service");
    assert_eq!(t["Metadata"]["qfleet"]["kind"], "ecs_managed");
}

#[test]
fn gpus_types_spot_and_storage_map_to_the_providers_and_the_container() {
    let t = managed(
        "  ecs_managed:\n    cpu: 4096\n    memory: 14336\n    storage_gib: 200\n    platform: linux/arm64\n  instance_types: [g5g.xlarge, g5g.2xlarge]\n  gpu:\n    count: 1\n    accelerator: T4G\n  spot:\n    percent: 70\n    on_demand_base: 1\n",
    );
    let providers = of_type(&t, "AWS::ECS::CapacityProvider");
    let names: Vec<&str> = providers.iter().map(|(id, _)| *id).collect();
    assert_eq!(names, ["CapacityProviderOnDemand", "CapacityProviderSpot"]);
    for (id, p) in &providers {
        let lt = &p["Properties"]["ManagedInstancesProvider"]["InstanceLaunchTemplate"];
        assert_eq!(
            lt["CapacityOptionType"],
            if *id == "CapacityProviderSpot" {
                "SPOT"
            } else {
                "ON_DEMAND"
            }
        );
        let r = &lt["InstanceRequirements"];
        assert_eq!(r["VCpuCount"]["Min"], 4);
        assert_eq!(r["MemoryMiB"]["Min"], 14336);
        assert_eq!(r["CpuManufacturers"], yaml("[amazon-web-services]"));
        assert_eq!(r["AcceleratorCount"]["Min"], 1);
        assert_eq!(r["AcceleratorManufacturers"], yaml("[nvidia]"));
        assert_eq!(r["AcceleratorTypes"], yaml("[gpu]"));
        assert_eq!(r["AcceleratorNames"], yaml("[t4g]"));
        assert_eq!(r["AllowedInstanceTypes"], yaml("[g5g.xlarge, g5g.2xlarge]"));
        assert_eq!(lt["StorageConfiguration"]["StorageSizeGiB"], 200);
    }
    // The base On-Demand, then 70 % of the rest on Spot: weights 3 and 7, as on Fargate.
    assert_eq!(
        props(&t, ids::SERVICE)["CapacityProviderStrategy"],
        yaml(
            "[{CapacityProvider: !Ref CapacityProviderOnDemand, Base: 1, Weight: 3}, {CapacityProvider: !Ref CapacityProviderSpot, Weight: 7}]"
        )
    );
    let task = props(&t, ids::TASK_DEFINITION);
    assert_eq!(task["RuntimePlatform"]["CpuArchitecture"], "ARM64");
    assert_eq!(
        task["ContainerDefinitions"][0]["ResourceRequirements"],
        yaml("[{Type: GPU, Value: '1'}]")
    );
    // ECS may make EC2 Spot's service-linked role, and only that role.
    let spot = statement(&t, "ManagedInfraPolicy", "MakeTheSpotRole");
    assert!(
        spot["Resource"]
            .as_str()
            .is_some_and(|r| r.ends_with("/AWSServiceRoleForEC2Spot")),
        "{spot:?}"
    );
}

#[test]
fn the_infrastructure_role_passes_only_this_stacks_instance_role_and_the_agent_joins_only_this_cluster()
 {
    let t = managed("");
    let role = props(&t, "ManagedInfraRole");
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        yaml("!Sub \"ecs.${AWS::URLSuffix}\"")
    );
    let pass = statement(&t, "ManagedInfraPolicy", "PassTheInstanceRole");
    assert_eq!(pass["Action"], "iam:PassRole");
    assert_eq!(pass["Resource"], yaml("!GetAtt ManagedInstanceRole.Arn"));
    assert_eq!(
        pass["Condition"]["StringEquals"]["iam:PassedToService"],
        yaml("!Sub \"ec2.${AWS::URLSuffix}\"")
    );
    // Launches only what carries ECS's managed tag, as AWS's managed policy does.
    let launch = statement(&t, "ManagedInfraPolicy", "LaunchTaggedInstances");
    assert_eq!(
        launch["Condition"]["StringEquals"]["aws:RequestTag/AmazonECSManaged"],
        "true"
    );
    // Nothing in the policy reaches another account or Region (IAM, global, this account).
    let text = serde_yaml_ng::to_string(props(&t, "ManagedInfraPolicy")).unwrap();
    for line in text.lines().filter(|l| l.contains("arn:")) {
        let regional = line.contains("${AWS::Region}");
        let this_account = line.contains(":iam::${AWS::AccountId}:");
        assert!(
            (regional || this_account) && !line.contains(":*:*:"),
            "{line}"
        );
    }
    let join = statement(&t, "ManagedInstancePolicy", "JoinAndReport");
    assert_eq!(
        join["Resource"],
        yaml(
            "!Sub \"arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/qfleet-gm\""
        )
    );
    let take = statement(&t, "ManagedInstancePolicy", "TakeTasks");
    assert!(
        take["Resource"]
            .as_str()
            .is_some_and(|r| r.ends_with(":container-instance/qfleet-gm/*")),
        "{take:?}"
    );
    let profile = props(&t, "ManagedProfile");
    assert_eq!(profile["Roles"], yaml("[!Ref ManagedInstanceRole]"));
}

#[test]
fn a_managed_fleet_keeps_the_services_scaling_and_protection_of_fargate() {
    let t = managed("  min: 0\n  max: 4\nscaling:\n  scale_from_zero: true\n");
    let target = props(&t, ids::SCALABLE_TARGET);
    assert_eq!(target["ScalableDimension"], "ecs:service:DesiredCount");
    assert_eq!(
        (target["MinCapacity"].clone(), target["MaxCapacity"].clone()),
        (yaml("0"), yaml("4"))
    );
    assert!(!of_type(&t, "AWS::ApplicationAutoScaling::ScalingPolicy").is_empty());
    // The task role may protect the cluster's tasks from scale-in, as on Fargate.
    let text = serde_yaml_ng::to_string(props(&t, "WorkerPolicy")).unwrap();
    assert!(text.contains("ecs:UpdateTaskProtection"), "{text}");
}
