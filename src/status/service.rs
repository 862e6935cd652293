//! The status of Fargate workers: the ECS service's tasks (desired, running, pending), its
//! deployments as the circuit breaker sees them, its capacity provider strategy and its
//! latest events. The text of this section is here too.

use crate::aws::{EcsService as Service, ServiceDeployment as Deployment};

/// The section's name in `unavailable`.
pub(super) const SERVICE: &str = "service";

/// The task definition's `family:revision` from its ARN.
fn revision(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The deployment in a few words: `COMPLETED`, `IN_PROGRESS (2/3 running)`, `FAILED: why`.
fn rollout(d: &Deployment) -> String {
    let state = d.rollout_state.as_deref().unwrap_or("state unknown");
    match state {
        "FAILED" => format!(
            "FAILED{}{}",
            match d.failed_tasks {
                0 => String::new(),
                n => format!(" ({n} task{} failed)", if n == 1 { "" } else { "s" }),
            },
            d.rollout_state_reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        "IN_PROGRESS" => format!("IN_PROGRESS ({}/{} running)", d.running, d.desired),
        other => other.to_string(),
    }
}

pub(super) fn render(s: &Service, line: &mut dyn FnMut(String)) {
    line(format!(
        "service {} ({}): desired {}, {} running, {} pending{}{}",
        s.name,
        s.status,
        s.desired,
        s.running,
        s.pending,
        s.task_definition
            .as_deref()
            .map(|t| format!("; task definition {}", revision(t)))
            .unwrap_or_default(),
        s.budget_hold
            .as_deref()
            .map(|t| super::group::BudgetHold::of(t).words())
            .unwrap_or_default()
    ));
    if !s.capacity_provider_strategy.is_empty() {
        line(format!(
            "  capacity: {}",
            s.capacity_provider_strategy
                .iter()
                .map(|p| format!("{} base {} weight {}", p.name, p.base, p.weight))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for d in &s.deployments {
        line(format!(
            "  deployment {} {}: {}",
            d.status,
            d.task_definition.as_deref().map(revision).unwrap_or("?"),
            rollout(d)
        ));
    }
    for e in s.events.iter().take(3) {
        line(format!("  event: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(state: &str, failed: i32, reason: Option<&str>) -> Deployment {
        Deployment {
            status: "PRIMARY".into(),
            rollout_state: Some(state.into()),
            rollout_state_reason: reason.map(str::to_string),
            task_definition: Some(
                "arn:aws:ecs:eu-west-1:111122223333:task-definition/qfleet-f-worker:7".into(),
            ),
            desired: 3,
            running: 1,
            pending: 2,
            failed_tasks: failed,
        }
    }

    #[test]
    fn a_failed_rollout_says_how_many_tasks_failed_and_why() {
        assert_eq!(
            rollout(&deployment(
                "FAILED",
                3,
                Some("ECS deployment circuit breaker: tasks failed to start.")
            )),
            "FAILED (3 tasks failed): ECS deployment circuit breaker: tasks failed to start."
        );
        assert_eq!(
            rollout(&deployment("IN_PROGRESS", 0, None)),
            "IN_PROGRESS (1/3 running)"
        );
        assert_eq!(rollout(&deployment("COMPLETED", 0, None)), "COMPLETED");
    }

    #[test]
    fn the_section_names_the_counts_revision_and_strategy() {
        let s = Service {
            name: "qfleet-f-workers".into(),
            cluster: "qfleet-f".into(),
            status: "ACTIVE".into(),
            desired: 3,
            running: 1,
            pending: 2,
            task_definition: deployment("COMPLETED", 0, None).task_definition,
            deployments: vec![deployment("IN_PROGRESS", 0, None)],
            capacity_provider_strategy: vec![crate::aws::StrategyItem {
                name: "FARGATE".into(),
                base: 1,
                weight: 1,
            }],
            assign_public_ip: Some("DISABLED".into()),
            execute_command: false,
            budget_hold: None,
            events: vec!["(service qfleet-f-workers) has started 2 tasks".into()],
        };
        let mut lines = Vec::new();
        render(&s, &mut |l| lines.push(l));
        assert_eq!(
            lines[0],
            "service qfleet-f-workers (ACTIVE): desired 3, 1 running, 2 pending; task definition qfleet-f-worker:7"
        );
        assert_eq!(lines[1], "  capacity: FARGATE base 1 weight 1");
        assert_eq!(
            lines[2],
            "  deployment PRIMARY qfleet-f-worker:7: IN_PROGRESS (1/3 running)"
        );
        assert!(lines[3].contains("has started 2 tasks"));
    }
}
