//! Container tasks of an ECS service on Fargate (and Fargate Spot), scaled by Application
//! Auto Scaling on the backlog per task.

use super::{Kind, LogGroup};
use crate::config::{Environment, SpotSpec, WorkerKind};

pub(super) struct Fargate;

impl Kind for Fargate {
    fn id(&self) -> WorkerKind {
        WorkerKind::Fargate
    }
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
        "AWS::ECS::Service"
    }
    fn arrives(&self) -> &'static str {
        "the ECS service and its scaling (its deployment completes once its tasks run)"
    }
    fn leaves(&self) -> &'static str {
        "the ECS service (its tasks get SIGTERM and workers.fargate.stop_timeout to finish or release their messages; a message a task held becomes visible again)"
    }
    fn log_group(&self) -> LogGroup {
        LogGroup::Workers
    }
    /// awslogs names a task's stream `PREFIX/CONTAINER/TASK-ID` (the awslogs-stream-prefix
    /// option, Amazon ECS Developer Guide): the task.
    fn worker_of_stream<'a>(&self, stream: &'a str) -> &'a str {
        stream.rsplit('/').next().unwrap_or(stream)
    }
    fn summary(&self, env: &Environment) -> String {
        let w = &env.spec.workers;
        match env.parked() {
            true => "Fargate, parked".into(),
            false => format!("Fargate {}–{}", w.min, w.max),
        }
    }
    fn describe(&self, env: &Environment) -> String {
        let w = &env.spec.workers;
        let f = &w.fargate;
        format!(
            "workers: Fargate tasks of {} ({} CPU units, {} MiB, {}), target {} messages per task ({}), {}–{} tasks{}",
            w.image
                .as_ref()
                .map_or("(no image)".to_string(), ToString::to_string),
            f.cpu,
            f.memory,
            f.platform.as_str(),
            env.backlog_target(),
            super::target_reason(env),
            w.min,
            w.max,
            spot_text(&w.spot)
        )
    }
}

/// Application Auto Scaling's cooldowns that qfleet sets on the backlog-per-task policy, in
/// seconds. Without them ECS services get 300 s each way (API reference,
/// TargetTrackingScalingPolicyConfiguration); a task starts in about a minute, so a scale-out
/// may follow a minute after the last, and a scale-in waits two.
pub const SCALE_OUT_COOLDOWN: u64 = 60;
pub const SCALE_IN_COOLDOWN: u64 = 120;
/// The start-from-zero step policy's cooldown: while it runs, the task it added counts
/// towards the next step, so an alarm that stays in ALARM adds no second task.
pub const START_COOLDOWN: u64 = 180;

/// What the Fargate template needs beyond the stack file's own settings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Render {
    strategy: Vec<Provider>,
    /// `RuntimePlatform.CpuArchitecture`.
    architecture: &'static str,
    /// The declared secrets as the container's `Secrets` (`Name`, `ValueFrom` for Fn::Sub).
    secrets: Vec<Secret>,
    /// What the worker is told it has after SIGTERM (`QFLEET_STOP_GRACE`): the stop timeout
    /// less 5 s for its own exit, at least 1 s.
    stop_grace: u64,
    scale_out_cooldown: u64,
    scale_in_cooldown: u64,
    start_cooldown: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
struct Secret {
    name: String,
    value_from: String,
}

impl Render {
    /// The ECS service's settings for `kind: fargate` and `kind: ecs_managed` alike: the two
    /// differ in where the tasks run, not in how the service runs them.
    pub fn of(env: &Environment) -> Render {
        let w = &env.spec.workers;
        let (architecture, stop_timeout) = match w.kind {
            WorkerKind::EcsManaged => (
                w.ecs_managed.platform.cpu_architecture(),
                w.ecs_managed.stop_timeout.0,
            ),
            _ => (
                w.fargate.platform.cpu_architecture(),
                w.fargate.stop_timeout.0,
            ),
        };
        let secrets = w
            .secrets
            .iter()
            .filter_map(|(name, text)| {
                let src = crate::config::SecretSource::parse(text).ok()?;
                Some(Secret {
                    name: name.clone(),
                    value_from: src.value_from_sub(),
                })
            })
            .collect();
        Render {
            strategy: strategy(&w.spot),
            architecture,
            secrets,
            stop_grace: stop_timeout.saturating_sub(5).max(1),
            scale_out_cooldown: SCALE_OUT_COOLDOWN,
            scale_in_cooldown: SCALE_IN_COOLDOWN,
            start_cooldown: START_COOLDOWN,
        }
    }
}

/// A capacity provider of the service's strategy: `FARGATE` or `FARGATE_SPOT`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Provider {
    pub name: &'static str,
    /// Whether it runs tasks On-Demand (`FARGATE`, or the On-Demand Managed Instances
    /// provider), where the base goes.
    pub on_demand: bool,
    pub base: u32,
    pub weight: u32,
}

/// The service's capacity provider strategy for `workers.spot` (always rendered, so that a
/// change of the Spot share updates the service in place): the On-Demand base on `FARGATE`,
/// the rest split by weight, `percent` of it on `FARGATE_SPOT`. Weights are divided by their
/// greatest common divisor.
pub fn strategy(spot: &SpotSpec) -> Vec<Provider> {
    let p = spot.percent.min(100);
    let base = spot.on_demand_base;
    if p == 0 {
        return vec![Provider {
            name: "FARGATE",
            on_demand: true,
            base,
            weight: 1,
        }];
    }
    let g = gcd(p, 100 - p);
    vec![
        Provider {
            name: "FARGATE",
            on_demand: true,
            base,
            weight: (100 - p) / g,
        },
        Provider {
            name: "FARGATE_SPOT",
            on_demand: false,
            base: 0,
            weight: p / g,
        },
    ]
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

fn spot_text(spot: &SpotSpec) -> String {
    if spot.percent == 0 {
        return String::new();
    }
    let base = match spot.on_demand_base {
        0 => String::new(),
        n => format!(" above {n} on FARGATE"),
    };
    format!(
        "; Fargate Spot: about {}% of the tasks{base} (tasks stop after a two-minute notice when AWS needs the capacity back)",
        spot.percent
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spot(percent: u32, on_demand_base: u32) -> SpotSpec {
        SpotSpec {
            percent,
            on_demand_base,
        }
    }

    #[test]
    fn no_spot_is_fargate_alone_with_the_base() {
        assert_eq!(
            strategy(&spot(0, 2)),
            vec![Provider {
                name: "FARGATE",
                on_demand: true,
                base: 2,
                weight: 1
            }]
        );
    }

    #[test]
    fn a_spot_share_splits_the_weights_by_their_ratio() {
        let s = strategy(&spot(70, 1));
        assert_eq!((s[0].name, s[0].base, s[0].weight), ("FARGATE", 1, 3));
        assert_eq!((s[1].name, s[1].base, s[1].weight), ("FARGATE_SPOT", 0, 7));
        let half = strategy(&spot(50, 0));
        assert_eq!((half[0].weight, half[1].weight), (1, 1));
    }

    #[test]
    fn all_spot_keeps_the_base_on_demand_and_no_weight_there() {
        // AWS: a provider of weight 0 places no task beyond its base.
        let s = strategy(&spot(100, 1));
        assert_eq!((s[0].base, s[0].weight), (1, 0));
        assert_eq!((s[1].base, s[1].weight), (0, 1));
    }
}
