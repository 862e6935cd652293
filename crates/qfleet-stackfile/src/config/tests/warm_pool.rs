//! `workers.warm_pool`: AWS's exclusions (no mixed instances policy, no Spot: PutWarmPool's
//! reference), the reference worker only (it waits for InService), EC2 only.

use super::{error, parse_str};
use crate::config::schema::{PoolState, WarmPoolSpec};

#[test]
fn a_warm_pool_is_read_with_its_defaults() {
    let w = parse_str("region: eu-west-1\nworkers:\n  max: 6\n  warm_pool: {min_size: 2}\n")
        .unwrap()
        .into_only()
        .spec
        .workers;
    assert_eq!(
        w.warm_pool,
        Some(WarmPoolSpec {
            min_size: 2,
            pool_state: PoolState::Stopped,
            reuse_on_scale_in: false
        })
    );
    let w = parse_str(
        "region: eu-west-1\nworkers:\n  warm_pool:\n    pool_state: running\n    reuse_on_scale_in: true\n",
    )
    .unwrap()
    .into_only()
    .spec
    .workers;
    let pool = w.warm_pool.unwrap();
    assert_eq!(
        (pool.pool_state, pool.reuse_on_scale_in),
        (PoolState::Running, true)
    );
    assert!(
        parse_str("region: eu-west-1\n")
            .unwrap()
            .into_only()
            .spec
            .workers
            .warm_pool
            .is_none()
    );
}

#[test]
fn a_warm_pool_is_refused_with_spot_several_types_a_custom_worker_or_a_function() {
    let e = error(
        "region: eu-west-1\nworkers:\n  spot: {percent: 50}\n  warm_pool: {min_size: 1}\n",
        "workers.warm_pool",
        4,
    );
    assert!(e.message.contains("mixed instances policy or Spot"), "{e}");
    let e = error(
        "region: eu-west-1\nworkers:\n  instance_types: [t3.micro, t3a.micro]\n  warm_pool: {}\n",
        "workers.warm_pool",
        4,
    );
    assert!(e.message.contains("workers.instance_types is set"), "{e}");
    let e = error(
        "region: eu-west-1\nworkers:\n  image: public.ecr.aws/docker/library/busybox:1.36\n  warm_pool: {}\n",
        "workers.warm_pool",
        4,
    );
    assert!(e.message.contains("reference worker"), "{e}");
    let e = error(
        "region: eu-west-1\nworkers:\n  max: 2\n  warm_pool: {min_size: 3}\n",
        "workers.warm_pool.min_size",
        4,
    );
    assert!(e.message.contains("greater than workers.max (2)"), "{e}");
    let e = error(
        "region: eu-west-1\nworkers:\n  kind: lambda\n  warm_pool: {}\n",
        "workers.warm_pool",
        4,
    );
    assert!(e.message.contains("EC2 workers only"), "{e}");
    let e = error(
        "region: eu-west-1\nworkers:\n  warm_pool: {pool_state: hibernated}\n",
        "workers.warm_pool.pool_state",
        3,
    );
    assert!(e.message.contains("running"), "{e}");
}
