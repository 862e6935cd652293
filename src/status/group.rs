//! The status of EC2 workers: the Auto Scaling group's size, its instances per zone and on
//! which launch template version, its suspended processes and recent scaling activities. The
//! text of this section is here too.

use super::take;
use crate::aws::Why;
use crate::aws::{self, ScalingActivity as Activity};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::collections::BTreeMap;

/// The section's name in `unavailable`.
pub(super) const FLEET: &str = "fleet";

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Fleet {
    group: String,
    pub(super) desired: i32,
    pub(super) min: i32,
    pub(super) max: i32,
    pub(super) in_service: usize,
    instances: Vec<Instance>,
    /// Availability zone → instances in it.
    pub(super) per_zone: BTreeMap<String, usize>,
    /// Instances still on an older launch template version than the group's.
    pub(super) outdated: usize,
    launch_template_version: Option<String>,
    pub(super) suspended_processes: Vec<String>,
    pub(super) activities: Vec<Activity>,
    /// With `workers.gpu`: the GPUs of the instances in service and healthy, from each one's
    /// type as EC2 describes it; `null` without `workers.gpu`, or when the types could not be
    /// read (see `unavailable`). An instance whose GPUs went missing marks itself unhealthy.
    pub(super) gpus_in_service: Option<u32>,
    /// The budget hold (`budget.hold`, docs/budget.md): the group's maximum is held since
    /// the budget's amount was reached; `null` when it is not held.
    pub(super) budget_hold: Option<BudgetHold>,
}

/// A fleet's maximum held by the budget, as its `qfleet:budget-hold` tag says.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub(crate) struct BudgetHold {
    /// The maximum held (`null`: the tag does not say it in qfleet's form).
    pub(crate) max: Option<i64>,
    /// When the hold began, UTC.
    pub(crate) since: Option<String>,
    /// The tag's value as read.
    pub(crate) tag: String,
}

impl BudgetHold {
    pub(crate) fn of(tag: &str) -> BudgetHold {
        let read = aws::budget_hold(tag);
        BudgetHold {
            max: read.map(|(n, _)| n),
            since: read.map(|(_, t)| t.to_string()),
            tag: tag.to_string(),
        }
    }

    /// `, HELD by the budget at 3 since 2026-11-30T10:00:00Z`.
    pub(crate) fn words(&self) -> String {
        match (self.max, &self.since) {
            (Some(n), Some(t)) => format!(", HELD by the budget at {n} since {t}"),
            _ => format!(", HELD by the budget (tag {:?})", self.tag),
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct Instance {
    id: String,
    zone: String,
    lifecycle: String,
    health: String,
    launch_template_version: Option<String>,
    outdated: bool,
    protected_from_scale_in: bool,
    instance_type: Option<String>,
    /// The GPUs its type has (`workers.gpu` only).
    gpus: Option<u32>,
}

/// The fleet section (`None`: no group read, absent, or unreadable: see `unavailable`).
pub(super) fn section(snap: &Snapshot, unavailable: &mut BTreeMap<String, Why>) -> Option<Fleet> {
    let activities = take(snap.activities(), "scaling activities", unavailable).unwrap_or_default();
    take(snap.group(), FLEET, unavailable).map(|g| {
        let instances: Vec<Instance> = g
            .instances
            .iter()
            .map(|i| Instance {
                id: i.id.clone(),
                zone: i.zone.clone(),
                lifecycle: i.lifecycle.clone(),
                health: i.health.clone(),
                outdated: aws::launch_template_outdated(
                    i.launch_template_version.as_deref(),
                    g.launch_template_version.as_deref(),
                ),
                launch_template_version: i.launch_template_version.clone(),
                protected_from_scale_in: i.protected_from_scale_in,
                instance_type: i.instance_type.clone(),
                gpus: None,
            })
            .collect();
        let mut per_zone: BTreeMap<String, usize> =
            g.zones.iter().map(|z| (z.clone(), 0)).collect();
        for i in &instances {
            *per_zone.entry(i.zone.clone()).or_insert(0) += 1;
        }
        Fleet {
            group: g.name.clone(),
            desired: g.desired,
            min: g.min,
            max: g.max,
            in_service: g.in_service(),
            outdated: instances.iter().filter(|i| i.outdated).count(),
            per_zone,
            instances,
            launch_template_version: g.launch_template_version.clone(),
            suspended_processes: g.suspended_processes.clone(),
            activities,
            gpus_in_service: None,
            budget_hold: g.budget_hold.as_deref().map(BudgetHold::of),
        }
    })
}

impl Fleet {
    /// The instance types of the group's instances, each once.
    pub(super) fn instance_types(&self) -> Vec<String> {
        let mut types: Vec<String> = self
            .instances
            .iter()
            .filter_map(|i| i.instance_type.clone())
            .collect();
        types.sort();
        types.dedup();
        types
    }

    /// Each instance's GPUs from `per_type` (type → GPUs), and those in service and healthy.
    pub(super) fn with_gpus(&mut self, per_type: &BTreeMap<String, u32>) {
        let mut in_service = 0;
        for i in &mut self.instances {
            i.gpus = i
                .instance_type
                .as_ref()
                .and_then(|t| per_type.get(t))
                .copied();
            if i.lifecycle == "InService" && i.health == "Healthy" {
                in_service += i.gpus.unwrap_or(0);
            }
        }
        self.gpus_in_service = Some(in_service);
    }
}

/// The fleet section's lines: the group's size, its instances per zone and in a table, its
/// latest scaling activities.
pub(super) fn render(f: &Fleet, line: &mut dyn FnMut(String)) {
    line(format!(
        "fleet {}: desired {} (min {}, max {}{}), {} in service{}, {} on an older launch template version{}",
        f.group,
        f.desired,
        f.min,
        f.max,
        f.budget_hold
            .as_ref()
            .map(BudgetHold::words)
            .unwrap_or_default(),
        f.in_service,
        f.gpus_in_service
            .map(|n| format!(" ({n} GPU{} in service)", if n == 1 { "" } else { "s" }))
            .unwrap_or_default(),
        f.outdated,
        if f.suspended_processes.is_empty() {
            String::new()
        } else {
            format!(", SUSPENDED: {}", f.suspended_processes.join(", "))
        }
    ));
    let zones: Vec<String> = f
        .per_zone
        .iter()
        .map(|(z, n)| format!("{z}: {n}"))
        .collect();
    line(format!("  per zone: {}", zones.join(", ")));
    if !f.instances.is_empty() {
        let gpus = f.gpus_in_service.is_some();
        let mut head = vec![
            "instance",
            "zone",
            "lifecycle",
            "health",
            "template version",
        ];
        if gpus {
            head.extend(["type", "GPUs"]);
        }
        line(crate::output::table(
            &head,
            f.instances.iter().map(|i| {
                let mut row = vec![
                    i.id.clone(),
                    i.zone.clone(),
                    i.lifecycle.clone(),
                    i.health.clone(),
                    format!(
                        "{}{}",
                        i.launch_template_version.clone().unwrap_or_default(),
                        if i.outdated { " (outdated)" } else { "" }
                    ),
                ];
                if gpus {
                    row.push(i.instance_type.clone().unwrap_or_default());
                    row.push(i.gpus.map_or("?".into(), |n| n.to_string()));
                }
                row
            }),
        ));
    }
    for a in f.activities.iter().take(3) {
        line(format!(
            "  {} {}: {}",
            crate::output::ago(&a.start),
            a.status,
            a.description
        ));
        if let Some(why) = a.launch_failure() {
            line(format!("    {why}"));
        }
    }
}
