//! `status`: is the environment healthy and keeping up? The stacks, the fleet per zone, the
//! queues, backlog per instance against the target, scaling direction and alarms, gathered
//! with concurrent describe calls.

use crate::aws::resources::{self, EnvResources};
use crate::aws::stacks::{self, StackState};
use crate::aws::{Clients, sdk_error};
use crate::config::Environment;
use crate::error::Result;
use crate::render::ResourceNames;
use aws_sdk_cloudwatch::types::{Metric, MetricDataQuery, MetricStat};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub environment: String,
    pub region: String,
    pub stacks: Vec<StackSummary>,
    pub fleet: Option<Fleet>,
    pub queue: Option<QueueDepth>,
    pub dead_letter_queue: Option<QueueDepth>,
    pub scaling: Scaling,
    pub alarms: Vec<Alarm>,
    /// Sections that could not be read, with the reason (the rest of the status stands).
    pub unavailable: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackSummary {
    pub name: String,
    pub exists: bool,
    pub status: Option<String>,
    pub last_updated: Option<String>,
    /// Why it failed or what it is doing, when CloudFormation says.
    pub reason: Option<String>,
    pub termination_protection: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fleet {
    pub group: String,
    pub desired: i32,
    pub min: i32,
    pub max: i32,
    pub in_service: usize,
    pub instances: Vec<Instance>,
    /// Availability zone → instances in it.
    pub per_zone: BTreeMap<String, usize>,
    /// Instances still on an older launch template version than the group's.
    pub outdated: usize,
    pub launch_template_version: Option<String>,
    pub suspended_processes: Vec<String>,
    pub activities: Vec<Activity>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Instance {
    pub id: String,
    pub zone: String,
    pub lifecycle: String,
    pub health: String,
    pub launch_template_version: Option<String>,
    pub outdated: bool,
    pub protected_from_scale_in: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub start: String,
    pub status: String,
    pub description: String,
    pub cause: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueDepth {
    pub name: String,
    pub visible: Option<u64>,
    pub in_flight: Option<u64>,
    pub delayed: Option<u64>,
    /// From CloudWatch; `None` when it has no data yet.
    pub oldest_message_age_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scaling {
    /// Visible messages ÷ instances in service, now (from SQS and Auto Scaling).
    pub backlog_per_instance: Option<f64>,
    /// The scaling policy's own metric (metric math in CloudWatch); `None` without data.
    pub backlog_per_instance_metric: Option<f64>,
    /// The target-tracking target deployed in the policy.
    pub target: Option<f64>,
    /// The target in the stack file.
    pub configured_target: f64,
    /// out, in, steady, or unknown.
    pub direction: String,
    pub policy: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Alarm {
    pub name: String,
    pub state: String,
    pub reason: Option<String>,
}

/// Gathers the status of one environment.
pub async fn gather(clients: &Clients, env: &Environment) -> Result<Status> {
    let names = ResourceNames::of(env);
    let (data_name, fleet_name) = (env.data_stack_name(), env.fleet_stack_name());
    let ((data, fleet), data_ids, fleet_ids) = tokio::try_join!(
        stacks::describe_pair(&clients.cfn, &data_name, &fleet_name),
        resources::physical_ids(&clients.cfn, &data_name),
        resources::physical_ids(&clients.cfn, &fleet_name),
    )?;
    let res = EnvResources::from_ids(&data_ids, &fleet_ids);
    let group = res.group.clone().unwrap_or(names.asg.clone());

    let (fleet_view, queue, dlq, policy, alarms, metrics) = tokio::join!(
        fleet_status(clients, &group, fleet.is_some()),
        queue_depth(clients, res.queue_url.as_deref()),
        queue_depth(clients, res.dlq_url.as_deref()),
        target_policy(clients, &group, fleet.is_some()),
        alarms(clients, env, &group),
        metrics(clients, &res, &group),
    );
    let fleet_view = fleet_view?;
    let (mut queue, mut dlq) = (queue?, dlq?);
    let (oldest, dlq_oldest, backlog_metric) = metrics;
    if let Some(q) = &mut queue {
        q.oldest_message_age_seconds = oldest;
    }
    if let Some(q) = &mut dlq {
        q.oldest_message_age_seconds = dlq_oldest;
    }
    let (policy_name, target) = policy?;
    let mut unavailable = Vec::new();
    let alarms = alarms.unwrap_or_else(|e| {
        unavailable.push(format!("alarms: {e}"));
        Vec::new()
    });

    let in_service = fleet_view.as_ref().map(|f| f.in_service);
    let backlog = match (queue.as_ref().and_then(|q| q.visible), in_service) {
        (Some(v), Some(n)) if n > 0 => Some(v as f64 / n as f64),
        _ => None,
    };
    let direction = match &fleet_view {
        Some(f) if (f.desired as usize) > f.in_service => "out",
        Some(f) if (f.desired as usize) < f.in_service => "in",
        Some(_) => "steady",
        None => "unknown",
    }
    .to_string();

    Ok(Status {
        environment: env.name.clone(),
        region: clients.region.clone(),
        stacks: [(data_name, data), (fleet_name, fleet)]
            .into_iter()
            .map(|(name, s)| summary(name, s))
            .collect(),
        fleet: fleet_view,
        queue,
        dead_letter_queue: dlq,
        scaling: Scaling {
            backlog_per_instance: backlog,
            backlog_per_instance_metric: backlog_metric,
            target,
            configured_target: env.backlog_target(),
            direction,
            policy: policy_name,
        },
        alarms,
        unavailable,
    })
}

fn summary(name: String, s: Option<StackState>) -> StackSummary {
    match s {
        None => StackSummary {
            name,
            exists: false,
            status: None,
            last_updated: None,
            reason: None,
            termination_protection: false,
        },
        Some(s) => StackSummary {
            name,
            exists: true,
            reason: s.status_reason.clone().filter(|r| !r.is_empty()),
            status: Some(s.status),
            last_updated: s.last_updated,
            termination_protection: s.termination_protection,
        },
    }
}

async fn fleet_status(clients: &Clients, group: &str, exists: bool) -> Result<Option<Fleet>> {
    if !exists {
        return Ok(None);
    }
    let asg = &clients.autoscaling;
    let (groups, activities) = tokio::join!(
        asg.describe_auto_scaling_groups()
            .auto_scaling_group_names(group)
            .send(),
        asg.describe_scaling_activities()
            .auto_scaling_group_name(group)
            .max_records(5)
            .send(),
    );
    let groups = groups.map_err(|e| sdk_error(&format!("describing group {group}"), e))?;
    let Some(g) = groups.auto_scaling_groups().first() else {
        return Ok(None);
    };
    let group_version = g
        .launch_template()
        .and_then(|lt| lt.version())
        .map(str::to_string);
    let instances: Vec<Instance> = g
        .instances()
        .iter()
        .map(|i| {
            let version = i
                .launch_template()
                .and_then(|lt| lt.version())
                .map(str::to_string);
            Instance {
                id: i.instance_id().unwrap_or_default().to_string(),
                zone: i.availability_zone().unwrap_or_default().to_string(),
                lifecycle: i
                    .lifecycle_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                health: i.health_status().unwrap_or_default().to_string(),
                outdated: is_outdated(version.as_deref(), group_version.as_deref()),
                launch_template_version: version,
                protected_from_scale_in: i.protected_from_scale_in().unwrap_or(false),
            }
        })
        .collect();
    let mut per_zone = BTreeMap::new();
    for z in g.availability_zones() {
        per_zone.insert(z.to_string(), 0);
    }
    for i in &instances {
        *per_zone.entry(i.zone.clone()).or_insert(0) += 1;
    }
    let activities = activities
        .map(|a| {
            a.activities()
                .iter()
                .map(|x| Activity {
                    start: x.start_time().map(|t| t.to_string()).unwrap_or_default(),
                    status: x
                        .status_code()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    description: x.description().unwrap_or_default().to_string(),
                    cause: x.cause().unwrap_or_default().to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(Fleet {
        group: group.to_string(),
        desired: g.desired_capacity().unwrap_or_default(),
        min: g.min_size().unwrap_or_default(),
        max: g.max_size().unwrap_or_default(),
        in_service: instances
            .iter()
            .filter(|i| i.lifecycle == "InService")
            .count(),
        outdated: instances.iter().filter(|i| i.outdated).count(),
        per_zone,
        instances,
        launch_template_version: group_version,
        suspended_processes: g
            .suspended_processes()
            .iter()
            .filter_map(|p| p.process_name().map(str::to_string))
            .collect(),
        activities,
    }))
}

/// An instance is outdated when its launch template version is a number lower than the
/// group's (`$Latest`/`$Default` on either side cannot be compared and count as current).
pub fn is_outdated(instance: Option<&str>, group: Option<&str>) -> bool {
    match (
        instance.and_then(|v| v.parse::<u64>().ok()),
        group.and_then(|v| v.parse::<u64>().ok()),
    ) {
        (Some(i), Some(g)) => i < g,
        _ => false,
    }
}

async fn queue_depth(clients: &Clients, url: Option<&str>) -> Result<Option<QueueDepth>> {
    let Some(url) = url else { return Ok(None) };
    Ok(crate::aws::queues::depth(&clients.sqs, url)
        .await?
        .map(|d| QueueDepth {
            name: resources::queue_name(url).to_string(),
            visible: d.visible,
            in_flight: d.in_flight,
            delayed: d.delayed,
            oldest_message_age_seconds: None,
        }))
}

/// The target-tracking policy of the group: its name and target.
async fn target_policy(
    clients: &Clients,
    group: &str,
    exists: bool,
) -> Result<(Option<String>, Option<f64>)> {
    if !exists {
        return Ok((None, None));
    }
    let out = clients
        .autoscaling
        .describe_policies()
        .auto_scaling_group_name(group)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("reading the scaling policies of {group}"), e))?;
    Ok(out
        .scaling_policies()
        .iter()
        .find(|p| p.policy_type() == Some("TargetTrackingScaling"))
        .map(|p| {
            (
                p.policy_name().map(str::to_string),
                p.target_tracking_configuration()
                    .and_then(|t| t.target_value()),
            )
        })
        .unwrap_or((None, None)))
}

/// The environment's alarms: the data stack's and the target-tracking ones of its group.
async fn alarms(clients: &Clients, env: &Environment, group: &str) -> Result<Vec<Alarm>> {
    let cw = &clients.cloudwatch;
    let stack_prefix = format!("{}-", env.data_stack_name());
    let tt_prefix = format!("TargetTracking-{group}-");
    let (a, b) = tokio::join!(
        cw.describe_alarms().alarm_name_prefix(&stack_prefix).send(),
        cw.describe_alarms().alarm_name_prefix(&tt_prefix).send(),
    );
    let mut out = Vec::new();
    for r in [a, b] {
        let r = r.map_err(|e| sdk_error("reading the alarms", e))?;
        for m in r.metric_alarms() {
            out.push(Alarm {
                name: m.alarm_name().unwrap_or_default().to_string(),
                state: m
                    .state_value()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                reason: m.state_reason().map(str::to_string),
            });
        }
    }
    out.sort_by(|x, y| x.name.cmp(&y.name));
    out.dedup_by(|x, y| x.name == y.name);
    Ok(out)
}

/// Latest CloudWatch values: age of the oldest message in the queue and the DLQ, and the
/// backlog-per-instance expression the policy tracks. `None` where CloudWatch has no data.
async fn metrics(
    clients: &Clients,
    res: &EnvResources,
    group: &str,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    let Some(queue_url) = &res.queue_url else {
        return (None, None, None);
    };
    let queue = resources::queue_name(queue_url).to_string();
    let stat = |id: &str, ns: &str, metric: &str, dim: (&str, &str), stat: &str| {
        MetricDataQuery::builder()
            .id(id)
            .return_data(id != "visible" && id != "inservice")
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace(ns)
                            .metric_name(metric)
                            .dimensions(
                                aws_sdk_cloudwatch::types::Dimension::builder()
                                    .name(dim.0)
                                    .value(dim.1)
                                    .build(),
                            )
                            .build(),
                    )
                    .period(60)
                    .stat(stat)
                    .build(),
            )
            .build()
    };
    let mut queries = vec![
        stat(
            "oldest",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            ("QueueName", &queue),
            "Maximum",
        ),
        stat(
            "visible",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            ("QueueName", &queue),
            "Sum",
        ),
        stat(
            "inservice",
            "AWS/AutoScaling",
            "GroupInServiceInstances",
            ("AutoScalingGroupName", group),
            "Average",
        ),
        MetricDataQuery::builder()
            .id("backlog")
            .expression("visible / inservice")
            .return_data(true)
            .build(),
    ];
    if let Some(dlq) = &res.dlq_url {
        queries.push(stat(
            "dlqoldest",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            ("QueueName", resources::queue_name(dlq)),
            "Maximum",
        ));
    }
    let now = std::time::SystemTime::now();
    let start = now - std::time::Duration::from_secs(15 * 60);
    let out = clients
        .cloudwatch
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(aws_smithy_types::DateTime::from(start))
        .end_time(aws_smithy_types::DateTime::from(now))
        .scan_by(aws_sdk_cloudwatch::types::ScanBy::TimestampDescending)
        .send()
        .await;
    let Ok(out) = out else {
        return (None, None, None);
    };
    let latest = |id: &str| {
        out.metric_data_results()
            .iter()
            .find(|r| r.id() == Some(id))
            .and_then(|r| r.values().first().copied())
    };
    (latest("oldest"), latest("dlqoldest"), latest("backlog"))
}

/// The status as text, one screen.
pub fn render_text(s: &Status) -> String {
    let mut out = String::new();
    let mut line = |t: String| {
        out.push_str(&t);
        out.push('\n');
    };
    line(format!("environment {} ({})", s.environment, s.region));
    line(crate::output::table(
        &["stack", "status", "last update", "protection", "reason"],
        s.stacks.iter().map(|st| {
            vec![
                st.name.clone(),
                st.status.clone().unwrap_or_else(|| "not deployed".into()),
                st.last_updated.clone().unwrap_or_default(),
                if st.termination_protection {
                    "on"
                } else {
                    "off"
                }
                .to_string(),
                st.reason.clone().unwrap_or_default(),
            ]
        }),
    ));
    match &s.fleet {
        None => line("fleet: not deployed".into()),
        Some(f) => {
            line(format!(
                "fleet {}: desired {} (min {}, max {}), {} in service, {} on an older launch template version{}",
                f.group,
                f.desired,
                f.min,
                f.max,
                f.in_service,
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
                line(crate::output::table(
                    &[
                        "instance",
                        "zone",
                        "lifecycle",
                        "health",
                        "template version",
                    ],
                    f.instances.iter().map(|i| {
                        vec![
                            i.id.clone(),
                            i.zone.clone(),
                            i.lifecycle.clone(),
                            i.health.clone(),
                            format!(
                                "{}{}",
                                i.launch_template_version.clone().unwrap_or_default(),
                                if i.outdated { " (outdated)" } else { "" }
                            ),
                        ]
                    }),
                ));
            }
            for a in f.activities.iter().take(3) {
                line(format!("  {} {}: {}", a.start, a.status, a.description));
            }
        }
    }
    let age = |q: &QueueDepth| match q.oldest_message_age_seconds {
        Some(a) => format!("{a:.0} s"),
        None => "no data yet".into(),
    };
    let n = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_else(|| "?".into());
    match &s.queue {
        Some(q) => line(format!(
            "queue {}: {} visible, {} in flight, {} delayed; oldest message: {}",
            q.name,
            n(q.visible),
            n(q.in_flight),
            n(q.delayed),
            age(q)
        )),
        None => line("queue: not deployed".into()),
    }
    if let Some(q) = &s.dead_letter_queue {
        let depth = q.visible.unwrap_or(0) + q.in_flight.unwrap_or(0);
        let flag = if depth > 0 {
            "  <-- FAILED JOBS WAITING"
        } else {
            ""
        };
        line(format!(
            "dead-letter queue {}: {} messages{flag}",
            q.name, depth
        ));
    }
    let sc = &s.scaling;
    line(format!(
        "scaling: backlog per instance {} (CloudWatch: {}), target {}{}; {}",
        sc.backlog_per_instance
            .map(|b| format!("{b:.1}"))
            .unwrap_or_else(|| "n/a (no instance in service)".into()),
        sc.backlog_per_instance_metric
            .map(|b| format!("{b:.1}"))
            .unwrap_or_else(|| "no data yet".into()),
        sc.target
            .map(|t| format!("{t}"))
            .unwrap_or_else(|| "none (no target-tracking policy found)".into()),
        if sc
            .target
            .is_some_and(|t| (t - sc.configured_target).abs() > 1e-9)
        {
            format!(" (stack file: {})", sc.configured_target)
        } else {
            String::new()
        },
        match sc.direction.as_str() {
            "out" => "scaling out",
            "in" => "scaling in",
            "steady" => "steady",
            _ => "unknown",
        }
    ));
    for a in &s.alarms {
        line(format!("alarm {}: {}", a.name, a.state));
    }
    for u in &s.unavailable {
        line(format!("not available: {u}"));
    }
    out
}

#[cfg(test)]
mod tests;
