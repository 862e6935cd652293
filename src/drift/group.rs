//! qfleet's own checks of EC2 workers, as [`super::function`] checks a function and
//! [`super::service`] a Fargate service: the Auto Scaling group's size, suspended processes
//! and instances on an older launch template version, the target tracking policy's target and
//! the drain lifecycle hook, against the stack file. What could not be read is not checked,
//! never in sync.

use super::findings::Findings;
use crate::aws;
use crate::config::Environment;
use crate::render::ids;
use crate::snapshot::{Fact, Snapshot, StackSnapshot};

pub(super) fn check(f: &mut Findings, snap: &Snapshot, env: &Environment) {
    let fleet = &snap.fleet.name;
    let w = &env.spec.workers;
    if let Some(g) = f.need(snap.group(), fleet, ids::WORKER_GROUP, "exists") {
        if g.min != w.min as i32 {
            f.diff(fleet, ids::WORKER_GROUP, "MinSize", w.min, g.min);
        }
        let at = super::hold::Held {
            tagged: ids::WORKER_GROUP,
            max_resource: ids::WORKER_GROUP,
            max_property: "MaxSize",
        };
        let held = super::hold::check(
            f,
            fleet,
            env,
            g.budget_hold.as_deref(),
            &at,
            Some(i64::from(g.max)),
        );
        if !held && g.max != w.max as i32 {
            f.diff(fleet, ids::WORKER_GROUP, "MaxSize", w.max, g.max);
        }
        if !g.suspended_processes.is_empty() {
            f.diff(
                fleet,
                ids::WORKER_GROUP,
                "SuspendedProcesses",
                "none",
                g.suspended_processes.join(", "),
            );
        }
        let version = g.launch_template_version.as_deref();
        let old: Vec<&str> = g
            .instances
            .iter()
            .filter(|i| {
                aws::launch_template_outdated(i.launch_template_version.as_deref(), version)
            })
            .map(|i| i.id.as_str())
            .collect();
        if !old.is_empty() {
            f.diff(
                fleet,
                ids::WORKER_GROUP,
                "Instances.LaunchTemplateVersion",
                format!("all on version {}", version.unwrap_or("?")),
                format!("older: {}", old.join(", ")),
            );
        }
    }
    let target = env.backlog_target();
    // A parked fleet has no scaling policy (templates/fleet.yaml.j2).
    if !env.parked()
        && let Some(policies) = known_list(f, snap.policies(), &snap.fleet, ids::SCALING_POLICY)
    {
        match policies.iter().find(|p| p.is_target_tracking()) {
            None => f.diff(
                fleet,
                ids::SCALING_POLICY,
                "-",
                format!("target tracking at {target}"),
                "missing",
            ),
            Some(p) if p.target.is_none_or(|h| (h - target).abs() > 1e-9) => f.diff(
                fleet,
                ids::SCALING_POLICY,
                "TargetValue",
                target,
                p.target
                    .map(|h| h.to_string())
                    .unwrap_or_else(|| "none".into()),
            ),
            Some(_) => {}
        }
    }
    if let Some(hooks) = known_list(f, snap.hooks(), &snap.fleet, ids::DRAIN_HOOK)
        && !hooks.iter().any(|h| h == ids::DRAIN_HOOK_NAME)
    {
        f.diff(
            fleet,
            ids::DRAIN_HOOK,
            "-",
            format!("{} hook", ids::DRAIN_HOOK_NAME),
            "missing",
        );
    }
}

/// A list read from the group: absent (no group) is already a difference of the group itself.
fn known_list<'a, T>(
    f: &mut Findings,
    list: Option<&'a Fact<Vec<T>>>,
    stack: &StackSnapshot,
    resource: &str,
) -> Option<&'a Vec<T>> {
    match list {
        Some(Fact::Known(v)) => Some(v),
        Some(Fact::Absent) => None,
        Some(Fact::Unknown(why)) => {
            f.unchecked(format!("{} {resource}", stack.name), why.clone());
            None
        }
        None => None,
    }
}
