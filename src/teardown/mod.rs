//! Tearing an environment down without losing data by accident: look at the data first,
//! refuse (exit 4) unless the user allowed exactly that loss, then delete the fleet and the
//! data stack in reverse dependency order with live progress.

use crate::aws::resources::{self, EnvResources};
use crate::aws::stacks::{self, StackState};
use crate::aws::{Clients, error_code, sdk_error};
use crate::config::Environment;
use crate::deploy::wait::{self, Polling};
use crate::error::{Error, Result};
use crate::output::progress::Reporter;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub yes: bool,
    pub can_prompt: bool,
    /// Empty the bucket (all versions and delete markers) so that it can be deleted.
    pub purge_bucket: bool,
    /// Delete queues that still hold messages.
    pub discard_messages: bool,
    /// Turn termination protection off before deleting.
    pub disable_termination_protection: bool,
    /// Only the fleet stack; the data stays.
    pub only_fleet: bool,
    /// After DELETE_FAILED, retry once keeping the resources that failed.
    pub retain_failed: bool,
    pub polling: Polling,
}

/// What the environment holds that a teardown would lose.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DataAtRisk {
    pub bucket: Option<String>,
    pub bucket_retained: bool,
    /// Object versions and delete markers.
    pub objects: u64,
    pub bytes: u64,
    pub queue: Option<String>,
    pub queue_messages: u64,
    pub dead_letter_queue: Option<String>,
    pub dead_letter_messages: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TeardownOutcome {
    pub environment: String,
    pub ok: bool,
    pub exit_code: i32,
    pub error: Option<String>,
    pub deleted: Vec<String>,
    /// Resources left in place (retained by policy, or kept after DELETE_FAILED), with ids.
    pub retained: Vec<String>,
    pub data: Option<DataAtRisk>,
    pub purged_objects: u64,
    pub duration_ms: u128,
}

/// Tears down one environment. Errors end up in the outcome so that other environments go on.
pub async fn environment(
    clients: &Clients,
    env: &Environment,
    opts: &Options,
    reporter: &Reporter,
) -> TeardownOutcome {
    let started = Instant::now();
    let mut out = TeardownOutcome {
        environment: env.name.clone(),
        ok: true,
        exit_code: 0,
        error: None,
        deleted: Vec::new(),
        retained: Vec::new(),
        data: None,
        purged_objects: 0,
        duration_ms: 0,
    };
    if let Err(e) = run(clients, env, opts, reporter, &mut out).await {
        out.ok = false;
        out.exit_code = e.exit_code();
        out.error = Some(e.to_string());
    }
    out.duration_ms = started.elapsed().as_millis();
    out
}

async fn run(
    clients: &Clients,
    env: &Environment,
    opts: &Options,
    reporter: &Reporter,
    out: &mut TeardownOutcome,
) -> Result<()> {
    let cfn = &clients.cfn;
    let (data_name, fleet_name) = (env.data_stack_name(), env.fleet_stack_name());
    let (data, fleet) = stacks::describe_pair(cfn, &data_name, &fleet_name).await?;
    // Reverse dependency order: the fleet first, then the data.
    let mut targets: Vec<Option<StackState>> = vec![fleet];
    if !opts.only_fleet {
        targets.push(data.clone());
    }
    let targets: Vec<StackState> = targets.into_iter().flatten().collect();
    if targets.is_empty() {
        reporter.line(format!("{}: nothing to tear down", env.name));
        return Ok(());
    }

    // Termination protection is never lifted silently.
    let protected: Vec<&str> = targets
        .iter()
        .filter(|s| s.termination_protection)
        .map(|s| s.name.as_str())
        .collect();
    if !protected.is_empty() && !opts.disable_termination_protection {
        return Err(Error::Refused(format!(
            "{} {} termination protection; nothing was deleted. Pass --disable-termination-protection to lift it",
            protected.join(" and "),
            if protected.len() == 1 { "has" } else { "have" }
        )));
    }

    // Each stack's resources and what its DeletionPolicy keeps, read once.
    let mut layouts = Vec::new();
    for s in &targets {
        layouts.push(layout(cfn, &s.name).await?);
    }

    // Look at the data before deleting anything.
    let data_layout = targets
        .iter()
        .zip(&layouts)
        .find(|(s, _)| s.name == data_name);
    if let Some((_, data_layout)) = data_layout {
        let at_risk = inspect(clients, data_layout).await?;
        let mut losses = Vec::new();
        if let Some(b) = &at_risk.bucket
            && !at_risk.bucket_retained
            && at_risk.objects > 0
            && !opts.purge_bucket
        {
            losses.push(format!(
                "bucket {b}: {} objects, {}",
                thousands(at_risk.objects),
                human_bytes(at_risk.bytes)
            ));
        }
        if !opts.discard_messages {
            if let Some(q) = &at_risk.queue
                && at_risk.queue_messages > 0
            {
                losses.push(format!(
                    "queue {q}: {} messages",
                    thousands(at_risk.queue_messages)
                ));
            }
            if at_risk.dead_letter_messages > 0 {
                losses.push(format!(
                    "DLQ: {} messages",
                    thousands(at_risk.dead_letter_messages)
                ));
            }
        }
        out.data = Some(at_risk.clone());
        if !losses.is_empty() {
            let mut flags = Vec::new();
            if losses.iter().any(|l| l.starts_with("bucket")) {
                flags.push("--purge-bucket (empties the bucket, all versions)");
            }
            if losses.iter().any(|l| !l.starts_with("bucket")) {
                flags.push("--discard-messages");
            }
            return Err(Error::Refused(format!(
                "{} holds data; nothing was deleted: {}. To delete it anyway pass {}, or tear down only the workers with --only fleet",
                env.name,
                losses.join("; "),
                flags.join(" and ")
            )));
        }
    }

    let names: Vec<&str> = targets.iter().map(|s| s.name.as_str()).collect();
    if !opts.yes {
        if !opts.can_prompt {
            return Err(Error::Refused(format!(
                "not deleting {} without confirmation: no terminal to ask on; pass --yes",
                names.join(", ")
            )));
        }
        if !reporter.confirm(&format!("Delete {}?", names.join(" and "))) {
            return Err(Error::Refused(format!(
                "{}: not confirmed; nothing was deleted",
                env.name
            )));
        }
    }

    for s in targets.iter().filter(|s| s.termination_protection) {
        cfn.update_termination_protection()
            .stack_name(&s.name)
            .enable_termination_protection(false)
            .send()
            .await
            .map_err(|e| {
                sdk_error(
                    &format!("lifting the termination protection of {}", s.name),
                    e,
                )
            })?;
        reporter.line(format!(
            "{}: termination protection turned off (--disable-termination-protection)",
            s.name
        ));
    }

    if let Some(d) = &out.data
        && let Some(bucket) = &d.bucket
        && opts.purge_bucket
        && !d.bucket_retained
        && d.objects > 0
    {
        reporter.line(format!(
            "emptying bucket {bucket} ({} objects and versions, --purge-bucket)",
            thousands(d.objects)
        ));
        out.purged_objects = purge_bucket(clients, bucket).await?;
    }

    for (s, l) in targets.iter().zip(&layouts) {
        out.retained
            .extend(l.retained.iter().map(Retained::describe));
        delete_stack(clients, env, &s.name, &l.retained, opts, reporter, out).await?;
        out.deleted.push(s.name.clone());
    }
    for r in &out.retained {
        reporter.line(format!("retained: {r}"));
    }
    Ok(())
}

/// A resource that stack deletion leaves in place because its DeletionPolicy says Retain.
#[derive(Debug, Clone, PartialEq)]
struct Retained {
    logical: String,
    resource_type: String,
    physical: String,
}

impl Retained {
    fn describe(&self) -> String {
        let what = match self.resource_type.as_str() {
            "AWS::S3::Bucket" => "bucket",
            "AWS::SQS::Queue" => "queue",
            other => other,
        };
        format!(
            "{what} {} ({}, DeletionPolicy Retain)",
            self.physical, self.logical
        )
    }
}

/// A deployed stack's resources (physical ids by logical id) and those it retains.
struct Layout {
    ids: std::collections::BTreeMap<String, String>,
    retained: Vec<Retained>,
}

async fn layout(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> Result<Layout> {
    let template = cfn
        .get_template()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("reading the template of {stack}"), e))?;
    let doc: serde_yaml::Value =
        serde_yaml::from_str(template.template_body().unwrap_or_default()).unwrap_or_default();
    let ids = resources::physical_ids(cfn, stack).await?;
    let retained = doc
        .get("Resources")
        .and_then(|r| r.as_mapping())
        .into_iter()
        .flatten()
        .filter(|(_, v)| v.get("DeletionPolicy").and_then(|p| p.as_str()) == Some("Retain"))
        .map(|(k, v)| {
            let logical = k.as_str().unwrap_or_default().to_string();
            Retained {
                resource_type: v
                    .get("Type")
                    .and_then(|t| t.as_str())
                    .unwrap_or_default()
                    .to_string(),
                physical: ids.get(&logical).cloned().unwrap_or_else(|| "?".into()),
                logical,
            }
        })
        .collect();
    Ok(Layout { ids, retained })
}

/// Deletes a stack and waits; on DELETE_FAILED reports the resources and reasons, and retries
/// once keeping them when the user asks for it.
async fn delete_stack(
    clients: &Clients,
    env: &Environment,
    name: &str,
    kept_by_policy: &[Retained],
    opts: &Options,
    reporter: &Reporter,
    out: &mut TeardownOutcome,
) -> Result<()> {
    let cfn = &clients.cfn;
    let spinner = reporter.spinner(name);
    let mut retain: Vec<String> = Vec::new();
    for attempt in 0..2 {
        let since = stacks::newest_event_id(cfn, name).await?;
        let mut req = cfn.delete_stack().stack_name(name);
        for r in &retain {
            req = req.retain_resources(r);
        }
        if let Some(role) = &env.spec.service_role_arn {
            req = req.role_arn(role);
        }
        req.send()
            .await
            .map_err(|e| sdk_error(&format!("deleting {name}"), e))?;
        spinner.set("deleting");
        reporter.event(
            "stack",
            serde_json::json!({ "stack": name, "action": "deleting" }),
        );
        let finished =
            wait::until_settled(cfn, name, since, opts.polling, reporter, &spinner).await?;
        let Some(state) = finished.state else {
            reporter.line(format!("{name}: DELETE_COMPLETE"));
            for e in finished
                .events
                .iter()
                .filter(|e| e.status == "DELETE_SKIPPED")
            {
                if !kept_by_policy.iter().any(|r| r.logical == e.logical_id) {
                    out.retained.push(format!(
                        "{} ({}) skipped by CloudFormation",
                        e.logical_id, e.resource_type
                    ));
                }
            }
            return Ok(());
        };
        if state.status != "DELETE_FAILED" {
            return Err(Error::Aws(format!(
                "{name}: deletion ended in {}",
                state.status
            )));
        }
        let failed = failed_resources(cfn, name).await?;
        let listing = failed
            .iter()
            .map(|(id, reason)| format!("{id}: {reason}"))
            .collect::<Vec<_>>()
            .join("; ");
        reporter.line(format!("{name}: DELETE_FAILED: {listing}"));
        let ids: Vec<String> = failed.into_iter().map(|(id, _)| id).collect();
        let again = attempt == 0
            && !ids.is_empty()
            && (opts.retain_failed
                || (opts.can_prompt
                    && reporter.confirm(&format!(
                        "Retry deleting {name}, keeping {}?",
                        ids.join(", ")
                    ))));
        if !again {
            return Err(Error::Aws(format!(
                "{name}: DELETE_FAILED ({listing}). Fix the cause and run teardown again, or pass --retain-failed to delete the stack keeping {}",
                if ids.is_empty() {
                    "the failed resources".to_string()
                } else {
                    ids.join(", ")
                }
            )));
        }
        for id in &ids {
            out.retained
                .push(format!("{id} (kept after DELETE_FAILED)"));
        }
        retain = ids;
    }
    Err(Error::Aws(format!("{name}: could not be deleted")))
}

/// Resources of a stack in DELETE_FAILED, with the reason CloudFormation gives.
async fn failed_resources(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<Vec<(String, String)>> {
    let out = cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("listing the resources of {stack}"), e))?;
    Ok(out
        .stack_resources()
        .iter()
        .filter(|r| r.resource_status().map(|s| s.as_str()) == Some("DELETE_FAILED"))
        .map(|r| {
            (
                r.logical_resource_id().unwrap_or_default().to_string(),
                r.resource_status_reason()
                    .unwrap_or("no reason given")
                    .to_string(),
            )
        })
        .collect())
}

/// Counts what the data stack holds: object versions and delete markers in its bucket (unless
/// the bucket is retained), messages in its queues.
async fn inspect(clients: &Clients, data: &Layout) -> Result<DataAtRisk> {
    let res = EnvResources::from_ids(&data.ids, &Default::default());
    let mut d = DataAtRisk {
        bucket: res.bucket.clone(),
        bucket_retained: data.retained.iter().any(|r| r.logical == "Bucket"),
        ..Default::default()
    };
    if let Some(b) = &res.bucket
        && !d.bucket_retained
    {
        let (objects, bytes) = count_versions(clients, b).await?;
        d.objects = objects;
        d.bytes = bytes;
    }
    if let Some(q) = &res.queue_url {
        d.queue = Some(resources::queue_name(q).to_string());
        d.queue_messages = messages(clients, q).await?;
    }
    if let Some(q) = &res.dlq_url {
        d.dead_letter_queue = Some(resources::queue_name(q).to_string());
        d.dead_letter_messages = messages(clients, q).await?;
    }
    Ok(d)
}

async fn count_versions(clients: &Clients, bucket: &str) -> Result<(u64, u64)> {
    let (mut n, mut bytes) = (0u64, 0u64);
    let (mut key, mut version): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = match clients
            .s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key.clone())
            .set_version_id_marker(version.clone())
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if error_code(&e).as_deref() == Some("NoSuchBucket") => return Ok((0, 0)),
            Err(e) => {
                return Err(sdk_error(
                    &format!("counting the objects in bucket {bucket}"),
                    e,
                ));
            }
        };
        for v in page.versions() {
            n += 1;
            bytes += v.size().unwrap_or(0).max(0) as u64;
        }
        n += page.delete_markers().len() as u64;
        if page.is_truncated() != Some(true) {
            return Ok((n, bytes));
        }
        key = page.next_key_marker().map(str::to_string);
        version = page.next_version_id_marker().map(str::to_string);
    }
}

async fn messages(clients: &Clients, url: &str) -> Result<u64> {
    Ok(crate::aws::queues::depth(&clients.sqs, url)
        .await?
        .map(|d| d.total())
        .unwrap_or(0))
}

/// Deletes every object version and delete marker in the bucket; returns how many.
async fn purge_bucket(clients: &Clients, bucket: &str) -> Result<u64> {
    let mut deleted = 0;
    loop {
        let page = clients
            .s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(1000)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("listing bucket {bucket}"), e))?;
        let mut ids = Vec::new();
        for v in page.versions() {
            ids.push((
                v.key().unwrap_or_default().to_string(),
                v.version_id().map(str::to_string),
            ));
        }
        for m in page.delete_markers() {
            ids.push((
                m.key().unwrap_or_default().to_string(),
                m.version_id().map(str::to_string),
            ));
        }
        if ids.is_empty() {
            return Ok(deleted);
        }
        let objects: Vec<ObjectIdentifier> = ids
            .iter()
            .filter_map(|(k, v)| {
                ObjectIdentifier::builder()
                    .key(k)
                    .set_version_id(v.clone())
                    .build()
                    .ok()
            })
            .collect();
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| Error::Aws(format!("emptying bucket {bucket}: {e}")))?;
        let out = clients
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("emptying bucket {bucket}"), e))?;
        if let Some(err) = out.errors().first() {
            return Err(Error::Aws(format!(
                "emptying bucket {bucket}: {} {}: {}",
                err.key().unwrap_or_default(),
                err.code().unwrap_or_default(),
                err.message().unwrap_or_default()
            )));
        }
        deleted += ids.len() as u64;
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests;
