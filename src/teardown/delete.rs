//! Deleting one stack and waiting for it; on DELETE_FAILED, reporting the resources and reasons
//! and, when asked, retrying once keeping them.

use super::event::Event;
use super::schedule::Turn;
use super::{TeardownOutcome, wait};
use crate::aws;
use crate::aws::StackResource;
use crate::error::{Error, Result};
use crate::snapshot::Fact;
use crate::snapshot::StackSnapshot;
use aws_sdk_cloudformation::types::{ResourceStatus, StackStatus};

/// A resource that stack deletion leaves in place because its DeletionPolicy says so.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Retained {
    logical: String,
    resource_type: String,
    physical: String,
    policy: String,
}

impl Retained {
    pub(super) fn describe(&self) -> String {
        let what = match self.resource_type.as_str() {
            "AWS::S3::Bucket" => "bucket",
            "AWS::SQS::Queue" => "queue",
            other => other,
        };
        format!(
            "{what} {} ({}, DeletionPolicy {})",
            self.physical, self.logical, self.policy
        )
    }
}

/// The stack's live resources that its deletion policies keep.
pub(super) fn retained(stack: &StackSnapshot) -> Vec<Retained> {
    let (Fact::Known(resources), Some(Fact::Known(policies))) =
        (&stack.resources, &stack.deletion_policies)
    else {
        return Vec::new();
    };
    policies
        .iter()
        .filter(|(_, p)| matches!(p.as_str(), "Retain" | "RetainExceptOnCreate"))
        .filter_map(|(logical, p)| {
            let r: &StackResource = resources.get(logical).filter(|r| r.is_live())?;
            Some(Retained {
                logical: logical.clone(),
                resource_type: r.resource_type.clone(),
                physical: r.physical_id.clone().unwrap_or_default(),
                policy: p.clone(),
            })
        })
        .collect()
}

/// The resources a DELETE_FAILED stack could not delete, each with its reason: as the stack's
/// resources list them, a reason they lack taken from the deletion's events of the same
/// resource; none listed, the events' failed resources; none there either, the resources the
/// stack's own reason names (CloudFormation: "The following resource(s) failed to delete:
/// [A, B]."). A resource is never left unnamed while the events name it.
pub(super) fn failed_resources(
    listed: Vec<(String, Option<String>)>,
    events: &[aws::ResourceEvent],
    stack_reason: Option<&str>,
) -> Vec<(String, String)> {
    let failures: Vec<&aws::ResourceEvent> = events
        .iter()
        .filter(|e| e.status == ResourceStatus::DeleteFailed && !e.is_stack_event())
        .collect();
    // The newest reason the events give a resource.
    let reason_of = |id: &str| {
        failures
            .iter()
            .rev()
            .filter(|e| e.logical_id == id)
            .find_map(|e| e.reason.clone().filter(|r| !r.is_empty()))
    };
    let no_reason = || "no reason given".to_string();
    if !listed.is_empty() {
        return listed
            .into_iter()
            .map(|(id, reason)| {
                let reason = reason
                    .filter(|r| !r.is_empty())
                    .or_else(|| reason_of(&id))
                    .unwrap_or_else(no_reason);
                (id, reason)
            })
            .collect();
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for e in &failures {
        if !out.iter().any(|(id, _)| *id == e.logical_id) {
            let reason = reason_of(&e.logical_id).unwrap_or_else(no_reason);
            out.push((e.logical_id.clone(), reason));
        }
    }
    if out.is_empty()
        && let Some(names) = stack_reason
            .and_then(|r| r.split_once('['))
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(names, _)| names)
    {
        out = names
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| (n.to_string(), no_reason()))
            .collect();
    }
    out
}

/// Deletes `name` and waits for it. `turn` is taken for the calls and given back for the wait;
/// the stack is deleted (or has failed) when this returns, with the slot given back unless
/// DELETE_FAILED needed it.
pub(super) async fn stack(
    at: &super::Ctx<'_>,
    name: &str,
    kept_by_policy: &[Retained],
    out: &mut TeardownOutcome,
    turn: &mut Turn,
) -> Result<()> {
    let super::Ctx {
        clients,
        env,
        opts,
        reporter,
    } = *at;
    let cfn = &clients.cfn;
    let spinner = reporter.spinner(name);
    let mut retain: Vec<String> = Vec::new();
    for attempt in 0..2 {
        turn.take().await;
        let since = aws::newest_event_id(cfn, name).await?;
        aws::delete_stack(cfn, name, &retain, env.spec.service_role_arn.as_deref()).await?;
        spinner.set("deleting");
        reporter.event(Event::Stack {
            stack: name.to_string(),
            action: super::event::StackAction::Deleting,
        });
        // CloudFormation deletes; the slot is free for other environments meanwhile.
        turn.give_back();
        let finished = wait::deletion(
            cfn,
            name,
            since,
            opts.polling,
            &opts.schedule,
            reporter,
            &spinner,
        )
        .await?;
        let Some(state) = finished.state else {
            reporter.line(format!("{name}: DELETE_COMPLETE"));
            for e in finished.events.iter().filter(|e| e.is_delete_skipped()) {
                if !kept_by_policy.iter().any(|r| r.logical == e.logical_id) {
                    out.retained.push(format!(
                        "{} ({}) skipped by CloudFormation",
                        e.logical_id, e.resource_type
                    ));
                }
            }
            return Ok(());
        };
        if state.status != StackStatus::DeleteFailed {
            return Err(Error::aws(format!(
                "{name}: deletion ended in {}",
                state.status.as_str()
            )));
        }
        turn.take().await;
        let listed: Vec<(String, Option<String>)> = aws::stack_resources(cfn, name)
            .await?
            .unwrap_or_default()
            .into_values()
            .filter(|r| r.status == ResourceStatus::DeleteFailed)
            .map(|r| (r.logical_id, r.reason))
            .collect();
        let failed = failed_resources(listed, &finished.events, state.status_reason.as_deref());
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
                || (opts.can_prompt && {
                    turn.give_back();
                    reporter
                        .confirm(&format!(
                            "Retry deleting {name}, keeping {}?",
                            ids.join(", ")
                        ))
                        .await?
                }));
        if !again {
            return Err(Error::aws(format!(
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
    Err(Error::aws(format!("{name}: could not be deleted")))
}
