//! The group's mixed instances policy: several instance types and a Spot share above an
//! On-Demand base, and nothing of it for a stack file that asks for neither.

use super::*;
use crate::config;
use serde_yaml_ng::Value;

fn fleet(env: &Environment) -> Value {
    let stacks = render(env).unwrap();
    serde_yaml_ng::from_str(&stacks[1].template).unwrap()
}

fn group(fleet: &Value) -> &Value {
    &fleet["Resources"]["WorkerGroup"]["Properties"]
}

fn untagged(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

/// The CloudFormation InstancesDistribution: OnDemandBaseCapacity is launched first and
/// OnDemandPercentageAboveBaseCapacity is the On-Demand share of the rest (20 means 80% Spot);
/// SpotAllocationStrategy price-capacity-optimized, and OnDemandAllocationStrategy prioritized
/// (the overrides' order), the default for a group that lists its instance types
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-autoscaling-autoscalinggroup-instancesdistribution.html).
/// The overrides replace the launch template's instance type
/// (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_LaunchTemplateOverrides.html),
/// which stays the first type so the launch template alone names one its AMI runs on.
#[test]
fn the_spot_example_launches_through_a_mixed_instances_policy() {
    let p = crate::config::workspace_root().join("examples/spot.yaml");
    let env = config::load(&p).unwrap().into_only();
    let fleet = fleet(&env);
    let asg = group(&fleet);
    assert!(
        asg.get("LaunchTemplate").is_none(),
        "the policy's launch template replaces the group's own"
    );
    let policy = &asg["MixedInstancesPolicy"];
    let d = &policy["InstancesDistribution"];
    assert_eq!(d["OnDemandBaseCapacity"], 1);
    assert_eq!(d["OnDemandPercentageAboveBaseCapacity"], 30, "70% Spot");
    assert_eq!(d["SpotAllocationStrategy"], "price-capacity-optimized");
    assert_eq!(d["OnDemandAllocationStrategy"], "prioritized");
    let lt = &policy["LaunchTemplate"];
    let spec = &lt["LaunchTemplateSpecification"];
    assert_eq!(untagged(&spec["LaunchTemplateId"]), "LaunchTemplate");
    assert!(spec.get("Version").is_some());
    let types: Vec<&str> = lt["Overrides"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|o| o["InstanceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["m7g.large", "m6g.large", "c7g.large"]);
    assert_eq!(asg["CapacityRebalance"], true);
    let data = &fleet["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"];
    assert_eq!(data["InstanceType"], "m7g.large");
}

#[test]
fn spot_with_one_type_overrides_with_that_type_and_all_spot_above_no_base() {
    let env = config::parse(
        "stacks/t.yaml".into(),
        "region: eu-west-1\nworkers:\n  instance_type: m7i.large\n  spot: {percent: 100}\n"
            .to_string(),
    )
    .unwrap()
    .into_only();
    let fleet = fleet(&env);
    let policy = &group(&fleet)["MixedInstancesPolicy"];
    assert_eq!(policy["InstancesDistribution"]["OnDemandBaseCapacity"], 0);
    assert_eq!(
        policy["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"],
        0
    );
    assert_eq!(
        policy["LaunchTemplate"]["Overrides"][0]["InstanceType"],
        "m7i.large"
    );
}

#[test]
fn several_types_without_spot_are_all_on_demand() {
    let env = config::parse(
        "stacks/t.yaml".into(),
        "region: eu-west-1\nworkers:\n  instance_types: [m7i.large, m6i.large]\n".to_string(),
    )
    .unwrap()
    .into_only();
    let fleet = fleet(&env);
    let d = &group(&fleet)["MixedInstancesPolicy"]["InstancesDistribution"];
    assert_eq!(d["OnDemandPercentageAboveBaseCapacity"], 100);
}

#[test]
fn without_spot_or_several_types_the_group_keeps_its_launch_template() {
    let env = config::parse("stacks/t.yaml".into(), "region: eu-west-1\n".to_string())
        .unwrap()
        .into_only();
    let fleet = fleet(&env);
    let asg = group(&fleet);
    assert!(asg.get("MixedInstancesPolicy").is_none());
    assert_eq!(
        untagged(&asg["LaunchTemplate"]["LaunchTemplateId"]),
        "LaunchTemplate"
    );
}
