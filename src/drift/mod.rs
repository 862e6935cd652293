//! `drift`: is the environment still what was deployed? CloudFormation drift detection on each
//! stack, plus the fleet checks it does not cover, comparing live configuration (describe
//! calls) with what the rendered templates say.

use crate::aws::resources::{self, EnvResources};
use crate::aws::stacks;
use crate::aws::{Clients, sdk_error};
use crate::config::Environment;
use crate::deploy::desired::{FINGERPRINT_PARAMETER, fingerprint};
use crate::error::{Error, Result};
use crate::render::{self, ResourceNames};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;

/// One difference between what was deployed and what runs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Difference {
    /// `cloudformation` (drift detection) or `fleet` (qfleet's own checks).
    pub source: String,
    pub stack: String,
    pub resource: String,
    /// The property, e.g. `VisibilityTimeout`, or `-` for the resource as a whole.
    pub property: String,
    pub expected: String,
    pub actual: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    pub environment: String,
    pub differences: Vec<Difference>,
    /// Stacks whose CloudFormation drift detection could not run, with the reason.
    pub detection_unavailable: Option<String>,
    /// The stack file differs from what is deployed (compare with `plan`).
    pub undeployed_changes: Vec<String>,
}

impl DriftReport {
    pub fn drifted(&self) -> bool {
        !self.differences.is_empty()
    }
}

fn diff(
    source: &str,
    stack: &str,
    resource: &str,
    property: &str,
    expected: impl ToString,
    actual: impl ToString,
) -> Difference {
    Difference {
        source: source.into(),
        stack: stack.into(),
        resource: resource.into(),
        property: property.into(),
        expected: expected.to_string(),
        actual: actual.to_string(),
    }
}

/// Runs CloudFormation drift detection and the fleet checks on one environment.
pub async fn check(clients: &Clients, env: &Environment, poll: Duration) -> Result<DriftReport> {
    let (data_name, fleet_name) = (env.data_stack_name(), env.fleet_stack_name());
    let (data, fleet) = stacks::describe_pair(&clients.cfn, &data_name, &fleet_name).await?;
    if data.is_none() && fleet.is_none() {
        return Err(Error::Aws(format!(
            "environment {} is not deployed",
            env.name
        )));
    }
    let rendered = render::render(env)?;
    let mut undeployed = Vec::new();
    for (s, state) in rendered.iter().zip([&data, &fleet]) {
        if let Some(st) = state
            && st.parameters.get(FINGERPRINT_PARAMETER) != Some(&fingerprint(&s.template))
        {
            undeployed.push(s.stack_name.clone());
        }
    }

    let mut differences = Vec::new();
    let mut unavailable = None;
    for name in [&data_name, &fleet_name] {
        let exists = if name == &data_name {
            data.is_some()
        } else {
            fleet.is_some()
        };
        if !exists {
            differences.push(diff(
                "fleet",
                name,
                "-",
                "-",
                "stack exists",
                "stack does not exist",
            ));
            continue;
        }
        if unavailable.is_some() {
            continue;
        }
        match cloudformation_drift(clients, name, poll).await {
            Ok(found) => differences.extend(found),
            Err(Unavailable(why)) => unavailable = Some(why),
        }
    }

    let (data_ids, fleet_ids) = tokio::try_join!(
        resources::physical_ids(&clients.cfn, &data_name),
        resources::physical_ids(&clients.cfn, &fleet_name),
    )?;
    let res = EnvResources::from_ids(&data_ids, &fleet_ids);
    differences.extend(fleet_checks(clients, env, &res).await?);
    Ok(DriftReport {
        environment: env.name.clone(),
        differences,
        detection_unavailable: unavailable,
        undeployed_changes: undeployed,
    })
}

/// CloudFormation drift detection could not run (the API failed or is not implemented).
pub struct Unavailable(pub String);

/// DetectStackDrift, wait for it, list the drifted resources with each property's difference.
async fn cloudformation_drift(
    clients: &Clients,
    stack: &str,
    poll: Duration,
) -> std::result::Result<Vec<Difference>, Unavailable> {
    let cfn = &clients.cfn;
    let id = cfn
        .detect_stack_drift()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            Unavailable(crate::aws::describe(
                &format!("DetectStackDrift on {stack}"),
                &e,
            ))
        })?
        .stack_drift_detection_id()
        .unwrap_or_default()
        .to_string();
    let mut delay = poll;
    for _ in 0..120 {
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
        let st = cfn
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
            .map_err(|e| {
                Unavailable(crate::aws::describe(
                    "reading the drift detection status",
                    &e,
                ))
            })?;
        match st.detection_status().map(|s| s.as_str()) {
            Some("DETECTION_IN_PROGRESS") => continue,
            Some("DETECTION_FAILED")
                if st.stack_drift_status().map(|s| s.as_str()) != Some("DRIFTED") =>
            {
                return Err(Unavailable(format!(
                    "drift detection on {stack} failed: {}",
                    st.detection_status_reason().unwrap_or("no reason given")
                )));
            }
            _ => break,
        }
    }
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = cfn
            .describe_stack_resource_drifts()
            .stack_name(stack)
            .stack_resource_drift_status_filters(
                aws_sdk_cloudformation::types::StackResourceDriftStatus::Modified,
            )
            .stack_resource_drift_status_filters(
                aws_sdk_cloudformation::types::StackResourceDriftStatus::Deleted,
            )
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| Unavailable(crate::aws::describe("listing resource drifts", &e)))?;
        for d in page.stack_resource_drifts() {
            let resource = d.logical_resource_id().unwrap_or_default();
            let status = d
                .stack_resource_drift_status()
                .map(|s| s.as_str())
                .unwrap_or_default();
            if status == "DELETED" {
                out.push(diff(
                    "cloudformation",
                    stack,
                    resource,
                    "-",
                    "exists",
                    "deleted",
                ));
            }
            for p in d.property_differences() {
                out.push(diff(
                    "cloudformation",
                    stack,
                    resource,
                    p.property_path().unwrap_or_default(),
                    p.expected_value().unwrap_or_default(),
                    p.actual_value().unwrap_or_default(),
                ));
            }
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    Ok(out)
}

/// What CloudFormation drift detection does not cover, or cannot see on the emulator: the
/// queue's settings and redrive, the group's size and processes, its instances' template
/// version, the scaling policy, the subscription and the bucket notification.
pub async fn fleet_checks(
    clients: &Clients,
    env: &Environment,
    res: &EnvResources,
) -> Result<Vec<Difference>> {
    let names = ResourceNames::of(env);
    let (data, fleet) = (env.data_stack_name(), env.fleet_stack_name());
    let spec = &env.spec;
    let mut out = Vec::new();

    // The queues.
    if let Some(url) = &res.queue_url {
        let attrs = queue_attributes(clients, url).await?;
        let get = |k: &QueueAttributeName| attrs.get(k).cloned().unwrap_or_default();
        for (k, prop, want) in [
            (
                QueueAttributeName::VisibilityTimeout,
                "VisibilityTimeout",
                spec.queue.visibility_timeout.0,
            ),
            (
                QueueAttributeName::MessageRetentionPeriod,
                "MessageRetentionPeriod",
                spec.queue.message_retention.0,
            ),
            (
                QueueAttributeName::ReceiveMessageWaitTimeSeconds,
                "ReceiveMessageWaitTimeSeconds",
                spec.queue.receive_wait_time.0,
            ),
        ] {
            let have = get(&k);
            if have != want.to_string() {
                out.push(diff("fleet", &data, "Queue", prop, want, have));
            }
        }
        let redrive: serde_json::Value =
            serde_json::from_str(&get(&QueueAttributeName::RedrivePolicy)).unwrap_or_default();
        let count = redrive["maxReceiveCount"].as_i64().or_else(|| {
            redrive["maxReceiveCount"]
                .as_str()
                .and_then(|s| s.parse().ok())
        });
        if count != Some(spec.queue.max_receive_count) {
            out.push(diff(
                "fleet",
                &data,
                "Queue",
                "RedrivePolicy.maxReceiveCount",
                spec.queue.max_receive_count,
                count
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "no redrive policy".into()),
            ));
        }
        let target = redrive["deadLetterTargetArn"].as_str().unwrap_or_default();
        if let Some(dlq) = &res.dlq_url {
            let dlq_name = resources::queue_name(dlq);
            if !target.ends_with(&format!(":{dlq_name}")) {
                out.push(diff(
                    "fleet",
                    &data,
                    "Queue",
                    "RedrivePolicy.deadLetterTargetArn",
                    format!("…:{dlq_name}"),
                    if target.is_empty() {
                        "none".to_string()
                    } else {
                        target.to_string()
                    },
                ));
            }
            let dattrs = queue_attributes(clients, dlq).await?;
            let have = dattrs
                .get(&QueueAttributeName::MessageRetentionPeriod)
                .cloned()
                .unwrap_or_default();
            if have != spec.queue.dlq_retention.0.to_string() {
                out.push(diff(
                    "fleet",
                    &data,
                    "DeadLetterQueue",
                    "MessageRetentionPeriod",
                    spec.queue.dlq_retention.0,
                    have,
                ));
            }
        }
    } else {
        out.push(diff("fleet", &data, "Queue", "-", "exists", "missing"));
    }

    // The subscription from the topic to the queue, with raw delivery.
    if let (Some(topic), Some(url)) = (&res.topic_arn, &res.queue_url) {
        let queue_name = resources::queue_name(url);
        let subs = clients
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .send()
            .await
            .map_err(|e| sdk_error("listing the topic's subscriptions", e))?;
        let sub = subs.subscriptions().iter().find(|s| {
            s.protocol() == Some("sqs")
                && s.endpoint()
                    .is_some_and(|e| e.ends_with(&format!(":{queue_name}")))
        });
        match sub
            .and_then(|s| s.subscription_arn())
            .filter(|a| a.starts_with("arn:"))
        {
            None => out.push(diff(
                "fleet",
                &data,
                "Subscription",
                "-",
                format!("sqs subscription of {queue_name}"),
                "missing",
            )),
            Some(arn) => {
                let attrs = clients
                    .sns
                    .get_subscription_attributes()
                    .subscription_arn(arn)
                    .send()
                    .await
                    .map_err(|e| sdk_error("reading the subscription", e))?;
                let raw = attrs
                    .attributes()
                    .and_then(|a| a.get("RawMessageDelivery"))
                    .cloned()
                    .unwrap_or_default();
                if raw != "true" {
                    out.push(diff(
                        "fleet",
                        &data,
                        "Subscription",
                        "RawMessageDelivery",
                        "true",
                        if raw.is_empty() { "false".into() } else { raw },
                    ));
                }
            }
        }
    }

    // The bucket's notification to the topic, filtered on the upload prefix.
    if let (Some(bucket), Some(topic)) = (&res.bucket, &res.topic_arn) {
        let want = format!(
            "s3:ObjectCreated:* on {} → {topic}",
            spec.bucket.upload_prefix
        );
        let n = match clients
            .s3
            .get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(n) => n,
            // Reported, not hidden: an unverifiable notification is a difference to look at.
            Err(e) => {
                out.push(diff(
                    "fleet",
                    &data,
                    "Bucket",
                    "NotificationConfiguration",
                    &want,
                    format!(
                        "could not be read: {}",
                        short(crate::aws::describe("", &e).trim_start_matches(": "))
                    ),
                ));
                aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput::builder().build()
            }
        };
        let configs = n.topic_configurations();
        let ok = configs.iter().any(|c| {
            c.topic_arn() == topic
                && c.events()
                    .iter()
                    .any(|e| e.as_str() == "s3:ObjectCreated:*")
                && c.filter()
                    .and_then(|f| f.key())
                    .map(|k| {
                        k.filter_rules()
                            .iter()
                            .any(|r| r.value() == Some(spec.bucket.upload_prefix.as_str()))
                    })
                    .unwrap_or(false)
        });
        if !ok
            && out
                .last()
                .is_none_or(|d| d.property != "NotificationConfiguration")
        {
            let actual = if configs.is_empty() {
                "no notification".to_string()
            } else {
                configs
                    .iter()
                    .map(|c| c.topic_arn().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push(diff(
                "fleet",
                &data,
                "Bucket",
                "NotificationConfiguration",
                want,
                actual,
            ));
        }
    }

    // The group: size, processes, instances' template version, policy, hook.
    let group = res.group.clone().unwrap_or(names.asg.clone());
    if res.group.is_some() {
        let groups = clients
            .autoscaling
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&group)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("describing group {group}"), e))?;
        match groups.auto_scaling_groups().first() {
            None => out.push(diff(
                "fleet",
                &fleet,
                "WorkerGroup",
                "-",
                "exists",
                "missing",
            )),
            Some(g) => {
                if g.min_size() != Some(spec.workers.min as i32) {
                    out.push(diff(
                        "fleet",
                        &fleet,
                        "WorkerGroup",
                        "MinSize",
                        spec.workers.min,
                        g.min_size().unwrap_or_default(),
                    ));
                }
                if g.max_size() != Some(spec.workers.max as i32) {
                    out.push(diff(
                        "fleet",
                        &fleet,
                        "WorkerGroup",
                        "MaxSize",
                        spec.workers.max,
                        g.max_size().unwrap_or_default(),
                    ));
                }
                let suspended: Vec<&str> = g
                    .suspended_processes()
                    .iter()
                    .filter_map(|p| p.process_name())
                    .collect();
                if !suspended.is_empty() {
                    out.push(diff(
                        "fleet",
                        &fleet,
                        "WorkerGroup",
                        "SuspendedProcesses",
                        "none",
                        suspended.join(", "),
                    ));
                }
                let version = g.launch_template().and_then(|l| l.version());
                let old: Vec<&str> = g
                    .instances()
                    .iter()
                    .filter(|i| {
                        crate::status::is_outdated(
                            i.launch_template().and_then(|l| l.version()),
                            version,
                        )
                    })
                    .filter_map(|i| i.instance_id())
                    .collect();
                if !old.is_empty() {
                    out.push(diff(
                        "fleet",
                        &fleet,
                        "WorkerGroup",
                        "Instances.LaunchTemplateVersion",
                        format!("all on version {}", version.unwrap_or("?")),
                        format!("older: {}", old.join(", ")),
                    ));
                }
            }
        }
        let policies = clients
            .autoscaling
            .describe_policies()
            .auto_scaling_group_name(&group)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("reading the scaling policies of {group}"), e))?;
        let target = env.backlog_target();
        match policies
            .scaling_policies()
            .iter()
            .find(|p| p.policy_type() == Some("TargetTrackingScaling"))
        {
            None => out.push(diff(
                "fleet",
                &fleet,
                "BacklogPerInstancePolicy",
                "-",
                format!("target tracking at {target}"),
                "missing",
            )),
            Some(p) => {
                let have = p
                    .target_tracking_configuration()
                    .and_then(|t| t.target_value());
                if have.is_none_or(|h| (h - target).abs() > 1e-9) {
                    out.push(diff(
                        "fleet",
                        &fleet,
                        "BacklogPerInstancePolicy",
                        "TargetValue",
                        target,
                        have.map(|h| h.to_string()).unwrap_or_else(|| "none".into()),
                    ));
                }
            }
        }
        let hooks = clients
            .autoscaling
            .describe_lifecycle_hooks()
            .auto_scaling_group_name(&group)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("reading the lifecycle hooks of {group}"), e))?;
        if !hooks
            .lifecycle_hooks()
            .iter()
            .any(|h| h.lifecycle_hook_name() == Some("drain-on-terminate"))
        {
            out.push(diff(
                "fleet",
                &fleet,
                "DrainOnTerminateHook",
                "-",
                "drain-on-terminate hook",
                "missing",
            ));
        }
    }
    Ok(out)
}

async fn queue_attributes(
    clients: &Clients,
    url: &str,
) -> Result<HashMap<QueueAttributeName, String>> {
    crate::aws::queues::attributes(&clients.sqs, url, &[QueueAttributeName::All]).await
}

/// The first 160 characters of an error message, for a table cell.
fn short(msg: &str) -> String {
    match msg.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &msg[..i]),
        None => msg.to_string(),
    }
}

/// The report as text.
pub fn render_text(r: &DriftReport) -> String {
    let mut out = String::new();
    if let Some(why) = &r.detection_unavailable {
        out.push_str(&format!("CloudFormation drift detection is unavailable here ({why}); ran qfleet's fleet checks only\n"));
    }
    if !r.undeployed_changes.is_empty() {
        out.push_str(&format!(
            "note: the stack file has changes not deployed yet to {} (see `qfleet plan {}`); differences are against the stack file\n",
            r.undeployed_changes.join(", "),
            r.environment
        ));
    }
    if r.differences.is_empty() {
        out.push_str(&format!("{}: in sync\n", r.environment));
        return out;
    }
    out.push_str(&format!(
        "{}: {} difference(s)\n",
        r.environment,
        r.differences.len()
    ));
    out.push_str(&crate::output::table(
        &[
            "stack", "resource", "property", "expected", "actual", "found by",
        ],
        r.differences.iter().map(|d| {
            vec![
                d.stack.clone(),
                d.resource.clone(),
                d.property.clone(),
                d.expected.clone(),
                d.actual.clone(),
                d.source.clone(),
            ]
        }),
    ));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests;
