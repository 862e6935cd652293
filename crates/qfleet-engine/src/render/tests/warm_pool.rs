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
    // The launch hook holds every new instance until it is ready, pool or not.
    assert!(resources.contains_key(ids::LAUNCH_HOOK));
    assert!(
        !render(&env).unwrap()[1]
            .template
            .contains("qfleet-launch-hook")
    );
}

/// The resources `id` waits for in CloudFormation's create order: its `DependsOn`, its `!Ref`
/// and `!GetAtt` targets and the `${X}` a `!Sub` names, and theirs in turn.
fn waits_for(doc: &Value, id: &str) -> std::collections::BTreeSet<String> {
    fn direct(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Tagged(t) => {
                let tag = t.tag.to_string();
                match (tag.trim_start_matches('!'), &t.value) {
                    ("Ref", Value::String(s)) => out.push(s.clone()),
                    ("GetAtt", Value::String(s)) => {
                        out.push(s.split('.').next().unwrap_or_default().to_string())
                    }
                    ("Sub", Value::String(s)) => {
                        for part in s.split("${").skip(1) {
                            let name = part.split('}').next().unwrap_or_default();
                            out.push(name.split('.').next().unwrap_or_default().to_string());
                        }
                    }
                    _ => direct(&t.value, out),
                }
            }
            Value::Sequence(s) => s.iter().for_each(|x| direct(x, out)),
            Value::Mapping(m) => m.values().for_each(|x| direct(x, out)),
            _ => {}
        }
    }
    let resources = &doc["Resources"];
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![id.to_string()];
    while let Some(r) = todo.pop() {
        let mut next = Vec::new();
        match &resources[r.as_str()]["DependsOn"] {
            Value::String(s) => next.push(s.clone()),
            Value::Sequence(s) => {
                next.extend(s.iter().filter_map(|x| x.as_str().map(String::from)))
            }
            _ => {}
        }
        direct(&resources[r.as_str()]["Properties"], &mut next);
        for n in next {
            if resources.get(n.as_str()).is_some() && seen.insert(n.clone()) {
                todo.push(n);
            }
        }
    }
    seen
}

/// "As soon as an instance finishes launching into the warm pool, Amazon EC2 Auto Scaling
/// stops or hibernates the instance" without waiting for user data ("Use lifecycle hooks with a
/// warm pool in Auto Scaling group", EC2 Auto Scaling User Guide,
/// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html):
/// the launch hook must exist before the pool launches anything. CloudFormation creates in
/// parallel what does not depend on each other, so the pool must wait for the hook (and the
/// drain hook, which holds instances the pool takes back on scale-in).
#[test]
fn the_warm_pool_is_created_only_after_its_lifecycle_hooks() {
    for state in ["stopped", "running"] {
        let env = from_str(&format!(
            "region: eu-west-1\nworkers:\n  max: 6\n  warm_pool: {{pool_state: {state}, reuse_on_scale_in: true}}\n",
        ));
        let (_, fleet) = rendered(&env);
        let pool = waits_for(&fleet, ids::WARM_POOL);
        assert!(pool.contains(ids::WORKER_GROUP), "{pool:?}");
        assert!(pool.contains(ids::LAUNCH_HOOK), "{state}: {pool:?}");
        assert!(pool.contains(ids::DRAIN_HOOK), "{state}: {pool:?}");
        // No cycle: neither hook waits for the pool.
        for hook in [ids::LAUNCH_HOOK, ids::DRAIN_HOOK] {
            assert!(!waits_for(&fleet, hook).contains(ids::WARM_POOL), "{hook}");
        }
    }
}
