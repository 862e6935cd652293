//! The status of Fargate workers, from snapshots: the service's tasks, its rollout and the
//! backlog per running task; an unreadable service is said, never shown as empty.

use super::super::*;
use crate::aws::Queue;
use crate::aws::{
    EcsService as Service, ServiceDeployment as Deployment, StrategyItem as Provider,
};
use crate::snapshot::{Fact, Snapshot};

fn service(desired: i32, running: i32, rollout: &str) -> Service {
    Service {
        name: "qfleet-st-workers".into(),
        cluster: "qfleet-st".into(),
        status: "ACTIVE".into(),
        desired,
        running,
        pending: desired - running,
        task_definition: Some(
            "arn:aws:ecs:eu-west-1:111122223333:task-definition/qfleet-st-worker:4".into(),
        ),
        deployments: vec![Deployment {
            status: "PRIMARY".into(),
            rollout_state: Some(rollout.into()),
            rollout_state_reason: None,
            task_definition: None,
            desired,
            running,
            pending: desired - running,
            failed_tasks: 0,
        }],
        capacity_provider_strategy: vec![Provider {
            name: "FARGATE".into(),
            base: 0,
            weight: 1,
        }],
        assign_public_ip: Some("DISABLED".into()),
        execute_command: false,
        budget_hold: None,
        events: vec![],
    }
}

fn fargate(svc: Fact<Service>) -> Snapshot {
    let mut s = Snapshot::deployed("st");
    s.without(crate::config::WorkerKind::Ec2);
    s.queue = Fact::Known(Queue::for_tests("qfleet-st-jobs", 30, &[]));
    s.dead_letter_queue = Fact::Known(Queue::for_tests("qfleet-st-dlq", 0, &[]));
    s.fargate_mut().service = svc;
    s
}

#[test]
fn the_service_s_tasks_rollout_and_backlog_per_running_task_are_shown() {
    let st = from_snapshot(&fargate(Fact::Known(service(4, 2, "IN_PROGRESS"))), 10.0);
    assert_eq!(st.kinds(), [crate::config::WorkerKind::Fargate]);
    let sc = st.scaling.as_ref().unwrap();
    assert_eq!(
        sc.backlog_per_instance,
        Some(15.0),
        "30 visible / 2 running"
    );
    assert_eq!(sc.direction, Direction::Out, "4 wanted, 2 running");
    let text = text::text(&st);
    assert!(
        text.contains("service qfleet-st-workers (ACTIVE): desired 4, 2 running, 2 pending"),
        "{text}"
    );
    assert!(text.contains("IN_PROGRESS (2/4 running)"), "{text}");
    assert!(text.contains("scaling: backlog per task 15.0"), "{text}");
    let json = serde_json::to_value(&st).unwrap();
    assert_eq!(json["service"]["running"], 2);
}

#[test]
fn a_service_at_zero_has_no_backlog_per_task_rather_than_an_infinite_one() {
    let st = from_snapshot(&fargate(Fact::Known(service(0, 0, "COMPLETED"))), 10.0);
    let sc = st.scaling.as_ref().unwrap();
    assert_eq!(sc.backlog_per_instance, None);
    assert!(text::text(&st).contains("n/a (no task running)"));
}

#[test]
fn an_unreadable_service_is_said_with_its_reason_never_as_not_deployed() {
    let st = from_snapshot(
        &fargate(Fact::Unknown(
            "reading ECS service qfleet-st-workers of cluster qfleet-st: AccessDeniedException"
                .into(),
        )),
        10.0,
    );
    assert!(st.service().is_none());
    assert_eq!(st.kinds(), [crate::config::WorkerKind::Fargate]);
    assert_eq!(st.scaling.as_ref().unwrap().direction, Direction::Unknown);
    let text = text::text(&st);
    assert!(
        text.contains("service: not available (reading ECS service"),
        "{text}"
    );
    assert!(!text.contains("service: not deployed"), "{text}");
}
