//! EC2 instances in a multi-AZ Auto Scaling group, from a launch template.

use super::{Kind, LogGroup, spot_share};
use crate::config::{Environment, WorkerKind};

pub(super) struct Ec2;

impl Kind for Ec2 {
    fn id(&self) -> WorkerKind {
        WorkerKind::Ec2
    }
    fn template(&self) -> &'static str {
        "fleet.yaml.j2"
    }
    fn noun(&self) -> &'static str {
        "workers"
    }
    fn unit(&self) -> Option<&'static str> {
        Some("instance")
    }
    fn has_network(&self) -> bool {
        true
    }
    fn high_resolution(&self) -> bool {
        true
    }
    fn consumer_type(&self) -> &'static str {
        "AWS::AutoScaling::AutoScalingGroup"
    }
    fn arrives(&self) -> &'static str {
        "the Auto Scaling group (its first instances signal once their worker reached the queue)"
    }
    fn leaves(&self) -> &'static str {
        "the Auto Scaling group (its instances drain through the lifecycle hook; a message a worker held becomes visible again)"
    }
    fn log_group(&self) -> LogGroup {
        LogGroup::Workers
    }
    fn summary(&self, env: &Environment) -> String {
        let w = &env.spec.workers;
        match env.parked() {
            true => "EC2, parked".into(),
            false => format!("EC2 {}–{}", w.min, w.max),
        }
    }
    fn describe(&self, env: &Environment) -> String {
        let w = &env.spec.workers;
        format!(
            "workers: EC2 {}, target {} messages per instance ({}), {}–{} instances{}",
            w.types().join(", "),
            env.backlog_target(),
            super::target_reason(env),
            w.min,
            w.max,
            spot_share(&w.spot, "instances")
        )
    }
}
