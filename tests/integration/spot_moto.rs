//! Spot and mixed instances on moto's server: the group is created with its mixed instances
//! policy as rendered (several types, a Spot share above an On-Demand base).

use crate::common::*;

/// The Auto Scaling group's MixedInstancesPolicy, as CloudFormation's
/// AWS::AutoScaling::AutoScalingGroup takes it
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-autoscaling-autoscalinggroup-mixedinstancespolicy.html),
/// reaches the group: DescribeAutoScalingGroups returns the distribution and the overrides.
#[tokio::test]
async fn a_spot_fleet_deploys_with_its_mixed_instances_policy() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("it-spot");
    deploy_lab(
        dir.path(),
        &e,
        "  instance_types: [m7i.large, m6i.large, c7i.large]\n  spot:\n    percent: 70\n    on_demand_base: 1\n",
    );
    let conf = moto_config().await;
    let asg = aws_sdk_autoscaling::Client::new(&conf);
    let groups = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(format!("qfleet-{e}-workers"))
        .send()
        .await
        .unwrap();
    let g = &groups.auto_scaling_groups()[0];
    // moto's CloudFormation leaves CapacityRebalance at false whatever the template says (its
    // group takes the property only through the API); the render tests check the template.
    let policy = g
        .mixed_instances_policy()
        .expect("the group has a mixed instances policy");
    let d = policy.instances_distribution().expect("a distribution");
    assert_eq!(d.on_demand_base_capacity(), Some(1));
    assert_eq!(d.on_demand_percentage_above_base_capacity(), Some(30));
    assert_eq!(
        d.spot_allocation_strategy(),
        Some("price-capacity-optimized")
    );
    assert_eq!(d.on_demand_allocation_strategy(), Some("prioritized"));
    let types: Vec<&str> = policy
        .launch_template()
        .expect("a launch template")
        .overrides()
        .iter()
        .filter_map(|o| o.instance_type())
        .collect();
    assert_eq!(types, ["m7i.large", "m6i.large", "c7i.large"]);

    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto()
        .args(["teardown", "--yes", "--purge-bucket"])
        .arg(dir.path().join(format!("{e}.yaml"))));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
