//! `workers.warm_pool`: the pool, the launching hook that holds a new instance until its
//! bootstrap is done, and the bootstrap's helper that completes it; nothing without one.

use super::*;

#[test]
fn a_warm_pool_renders_the_pool_and_a_launching_hook_the_bootstrap_completes() {
    let env = from_str(
        "region: eu-west-1\nworkers:\n  max: 6\n  warm_pool: {min_size: 2, reuse_on_scale_in: true}\n",
    );
    let (_, fleet) = rendered(&env);
    let pool = &fleet["Resources"][ids::WARM_POOL];
    assert_eq!(pool["Type"].as_str(), Some("AWS::AutoScaling::WarmPool"));
    let p = &pool["Properties"];
    assert_eq!(p["MinSize"].as_u64(), Some(2));
    assert_eq!(p["PoolState"].as_str(), Some("Stopped"));
    assert_eq!(
        p["InstanceReusePolicy"]["ReuseOnScaleIn"].as_bool(),
        Some(true)
    );
    // AWS leaves the pool at max minus desired: no MaxGroupPreparedCapacity.
    assert!(p.get("MaxGroupPreparedCapacity").is_none());
    let hook = resource(&fleet, ids::LAUNCH_HOOK);
    assert_eq!(
        hook["LifecycleTransition"].as_str(),
        Some("autoscaling:EC2_INSTANCE_LAUNCHING")
    );
    assert_eq!(
        hook["LifecycleHookName"].as_str(),
        Some(ids::LAUNCH_HOOK_NAME)
    );
    assert_eq!(hook["DefaultResult"].as_str(), Some("ABANDON"));
    assert_eq!(hook["HeartbeatTimeout"].as_u64(), Some(900));
    let text = &render(&env).unwrap()[1].template;
    assert!(text.contains("QFLEET_LAUNCH_HOOK=bootstrap-on-launch"));
    assert!(text.contains("systemctl enable --now qfleet-launch-hook.service"));
    // The hook is completed after the worker's unit is enabled: the bootstrap's last step.
    let worker = text
        .find("systemctl enable --now qfleet-worker.service")
        .unwrap();
    let hook = text
        .find("systemctl enable --now qfleet-launch-hook.service")
        .unwrap();
    assert!(worker < hook);
}

#[test]
fn a_running_pool_is_spelled_as_cloudformation_wants_and_no_pool_renders_nothing() {
    let (_, fleet) = rendered(&from_str(
        "region: eu-west-1\nworkers:\n  warm_pool: {pool_state: running}\n",
    ));
    assert_eq!(
        resource(&fleet, ids::WARM_POOL)["PoolState"].as_str(),
        Some("Running")
    );
    let env = from_str("region: eu-west-1\n");
    let (_, fleet) = rendered(&env);
    let resources = fleet["Resources"].as_mapping().unwrap();
    assert!(!resources.contains_key(ids::WARM_POOL));
    assert!(!resources.contains_key(ids::LAUNCH_HOOK));
    assert!(
        !render(&env).unwrap()[1]
            .template
            .contains("qfleet-launch-hook")
    );
}
