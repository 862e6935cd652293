//! qfleet's own checks of Fargate workers, as [`super::group`] checks the group: the ECS
//! service is active, runs the stack file's task family, places its tasks as the stack file
//! says (capacity provider strategy, public IP, ECS Exec), and its count stays within
//! `workers.min` to `workers.max`. What could not be read is not checked, never in sync.

use super::findings::Findings;
use crate::config::Environment;
use crate::kinds::fargate::strategy;
use crate::render::{ResourceNames, ids};
use crate::snapshot::Snapshot;

pub(super) fn check(f: &mut Findings, snap: &Snapshot, env: &Environment) {
    let fleet = &snap.fleet.name;
    let Some(s) = f.need(snap.service(), fleet, ids::SERVICE, "exists") else {
        return;
    };
    let w = &env.spec.workers;
    let names = ResourceNames::of(env);
    if s.status != "ACTIVE" {
        f.diff(fleet, ids::SERVICE, "Status", "ACTIVE", &s.status);
    }
    // The task definition ARN ends in `task-definition/FAMILY:REVISION`.
    let family = s
        .task_definition
        .as_deref()
        .and_then(|t| t.rsplit('/').next())
        .and_then(|t| t.rsplit_once(':'))
        .map(|(family, _)| family);
    match family {
        Some(family) if family != names.task_family => f.diff(
            fleet,
            ids::SERVICE,
            "TaskDefinition",
            format!("a revision of {}", names.task_family),
            family,
        ),
        Some(_) => {}
        // An answer without the task definition says nothing about it: not checked.
        None => f.unchecked(
            format!("{fleet} {} TaskDefinition", ids::SERVICE),
            "ECS's answer names no task definition",
        ),
    }
    // On Managed Instances the providers are the cluster's own, named after it.
    let managed = w.kind == crate::config::WorkerKind::EcsManaged;
    let provider = |p: &crate::kinds::fargate::Provider| match (managed, p.on_demand) {
        (false, _) => p.name.to_string(),
        (true, true) => names.on_demand_provider.clone(),
        (true, false) => names.spot_provider.clone(),
    };
    let want: Vec<String> = strategy(&w.spot)
        .iter()
        .map(|p| format!("{} base {} weight {}", provider(p), p.base, p.weight))
        .collect();
    let have: Vec<String> = s
        .capacity_provider_strategy
        .iter()
        .map(|p| format!("{} base {} weight {}", p.name, p.base, p.weight))
        .collect();
    if want != have {
        f.diff(
            fleet,
            ids::SERVICE,
            "CapacityProviderStrategy",
            want.join(", "),
            if have.is_empty() {
                "none (a launch type)".into()
            } else {
                have.join(", ")
            },
        );
    }
    let public = if w.public_ip && !managed {
        "ENABLED"
    } else {
        "DISABLED"
    };
    match &s.assign_public_ip {
        Some(have) if have != public => f.diff(
            fleet,
            ids::SERVICE,
            "NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp",
            public,
            have,
        ),
        Some(_) => {}
        None => f.unchecked(
            format!(
                "{fleet} {} NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp",
                ids::SERVICE
            ),
            "ECS's answer gives no network configuration",
        ),
    }
    let exec = if managed {
        w.ecs_managed.exec
    } else {
        w.fargate.exec
    };
    if s.execute_command != exec {
        f.diff(
            fleet,
            ids::SERVICE,
            "EnableExecuteCommand",
            exec,
            s.execute_command,
        );
    }
    let at = super::hold::Held {
        tagged: ids::SERVICE,
        max_resource: ids::SCALABLE_TARGET,
        max_property: "MaxCapacity",
    };
    // A held service's count stays within workers.min to workers.max all the same.
    super::hold::check(f, fleet, env, s.budget_hold.as_deref(), &at, None);
    let desired = i64::from(s.desired);
    if desired < w.min || desired > w.max {
        f.diff(
            fleet,
            ids::SERVICE,
            "DesiredCount",
            format!("{} to {} (workers.min to workers.max)", w.min, w.max),
            desired,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::{EcsService as Service, StrategyItem as Provider};
    use crate::snapshot::Fact;

    fn env() -> Environment {
        crate::config::parse(
            "stacks/f.yaml".into(),
            "region: eu-west-1\nlab: true\nworkers:\n  kind: fargate\n  image: public.ecr.aws/docker/library/python:3.12\n  min: 1\n  max: 4\n  spot: {percent: 50}\n".into(),
        )
        .unwrap()
        .into_only()
    }

    fn service() -> Service {
        Service {
            name: "qfleet-f-workers".into(),
            cluster: "qfleet-f".into(),
            status: "ACTIVE".into(),
            desired: 2,
            running: 2,
            pending: 0,
            task_definition: Some(
                "arn:aws:ecs:eu-west-1:111122223333:task-definition/qfleet-f-worker:3".into(),
            ),
            deployments: vec![],
            capacity_provider_strategy: vec![
                Provider {
                    name: "FARGATE".into(),
                    base: 0,
                    weight: 1,
                },
                Provider {
                    name: "FARGATE_SPOT".into(),
                    base: 0,
                    weight: 1,
                },
            ],
            assign_public_ip: Some("DISABLED".into()),
            execute_command: false,
            budget_hold: None,
            events: vec![],
        }
    }

    fn findings(s: Fact<Service>) -> Findings {
        let mut snap = Snapshot::deployed("f");
        snap.fargate_mut().service = s;
        let mut f = Findings::default();
        check(&mut f, &snap, &env());
        f
    }

    #[test]
    fn a_service_as_the_stack_file_says_is_in_sync() {
        let f = findings(Fact::Known(service()));
        assert!(f.differences.is_empty() && f.unchecked.is_empty());
    }

    #[test]
    fn a_changed_strategy_public_ip_and_count_are_each_a_difference() {
        let mut s = service();
        s.capacity_provider_strategy.truncate(1);
        s.assign_public_ip = Some("ENABLED".into());
        s.desired = 9;
        let f = findings(Fact::Known(s));
        let props: Vec<&str> = f.differences.iter().map(|d| d.property.as_str()).collect();
        assert_eq!(
            props,
            [
                "CapacityProviderStrategy",
                "NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp",
                "DesiredCount"
            ]
        );
        assert_eq!(f.differences[2].actual, "9");
    }

    /// A field ECS's answer leaves out is not checked, never taken as in sync.
    #[test]
    fn fields_the_answer_leaves_out_are_unchecked_not_in_sync() {
        let mut s = service();
        s.task_definition = None;
        s.assign_public_ip = None;
        let f = findings(Fact::Known(s));
        assert!(f.differences.is_empty());
        let what: Vec<&str> = f.unchecked.iter().map(|u| u.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "qfleet-f-fleet WorkerService TaskDefinition",
                "qfleet-f-fleet WorkerService NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp"
            ]
        );
    }

    /// On ECS Managed Instances the strategy names the cluster's own providers: a service on
    /// them is in sync, one on Fargate's is drift.
    #[test]
    fn a_managed_service_is_held_to_its_own_providers() {
        let managed = crate::config::parse(
            "stacks/f.yaml".into(),
            "region: eu-west-1\nlab: true\nworkers:\n  kind: ecs_managed\n  image: public.ecr.aws/docker/library/python:3.12\n  min: 1\n  max: 4\n  spot: {percent: 50}\n".into(),
        )
        .unwrap()
        .into_only();
        let run = |s: Service| {
            let mut snap = Snapshot::deployed("f");
            snap.fargate_mut().service = Fact::Known(s);
            let mut f = Findings::default();
            check(&mut f, &snap, &managed);
            f
        };
        let mut s = service();
        s.capacity_provider_strategy[0].name = "qfleet-f_on-demand".into();
        s.capacity_provider_strategy[1].name = "qfleet-f_spot".into();
        let f = run(s);
        assert!(f.differences.is_empty(), "{:?}", f.differences);
        let f = run(service());
        let props: Vec<&str> = f.differences.iter().map(|d| d.property.as_str()).collect();
        assert_eq!(props, ["CapacityProviderStrategy"]);
        assert!(
            f.differences[0]
                .expected
                .contains("qfleet-f_on-demand base 0 weight 1")
        );
    }

    #[test]
    fn an_unreadable_service_is_unchecked_and_a_missing_one_is_drift() {
        let unknown = findings(Fact::Unknown("AccessDeniedException".into()));
        assert!(unknown.differences.is_empty());
        assert_eq!(unknown.unchecked[0].what, "qfleet-f-fleet WorkerService");
        let missing = findings(Fact::Absent);
        assert_eq!(missing.differences[0].actual, "missing");
    }
}
