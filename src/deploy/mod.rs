//! Deploying an environment's stacks through change sets (and `plan`: the same, stopping at the
//! preview). Stacks go in dependency order, the data stack before the fleet; environments run
//! concurrently.

pub mod changeset;
pub mod desired;
pub mod wait;

use crate::aws::network::{self, Placement};
use crate::aws::stacks::{self, StackState};
use crate::aws::{Clients, sdk_error};
use crate::config::{Environment, Network};
use crate::error::{Error, Result};
use crate::output::progress::Reporter;
use crate::render::{self, StackRole};
use aws_sdk_cloudformation::types::ChangeSetType;
use changeset::{Change, ChangeSet};
use desired::{DesiredStack, FleetNetwork};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wait::Polling;

/// Deploy, or only preview (plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Deploy,
    Plan,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Execute without asking (required without a terminal).
    pub yes: bool,
    /// Going ahead when a change set removes or replaces a resource that holds data.
    pub allow_replacement: bool,
    /// Create a change set even when the deployed stack matches (re-resolves the AMI parameter).
    pub force: bool,
    /// Discover the default VPC's subnets again instead of keeping the deployed ones.
    pub rediscover_network: bool,
    /// Questions may be asked on this terminal.
    pub can_prompt: bool,
    pub polling: Polling,
}

/// What happened to one stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Created,
    Updated,
    NoChanges,
    /// Only termination protection changed.
    ProtectionUpdated,
    /// Plan: a change set shows pending changes.
    ChangesPending,
    /// Plan: the stack does not exist and would be created.
    WouldCreate,
    /// Plan: the stack failed to create and would be deleted and created again.
    WouldRecreate,
}

impl Action {
    pub fn pending(self) -> bool {
        matches!(
            self,
            Action::ChangesPending | Action::WouldCreate | Action::WouldRecreate
        )
    }

    pub fn text(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::NoChanges => "no changes",
            Action::ProtectionUpdated => "termination protection updated",
            Action::ChangesPending => "changes pending",
            Action::WouldCreate => "would be created",
            Action::WouldRecreate => "would be deleted and created again",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StackOutcome {
    pub stack: String,
    pub role: StackRole,
    pub action: Action,
    pub status: Option<String>,
    pub duration_ms: u128,
    pub changes: Vec<Change>,
    pub outputs: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvOutcome {
    pub environment: String,
    pub region: String,
    pub ok: bool,
    pub stacks: Vec<StackOutcome>,
    pub error: Option<String>,
    pub exit_code: i32,
    pub duration_ms: u128,
}

/// Change sets created and not yet executed or deleted, so that an interrupted run can clean
/// them up, and stacks being executed, so that it can say which.
#[derive(Default, Clone)]
pub struct InFlight(Arc<Mutex<Vec<Pending>>>);

#[derive(Clone)]
struct Pending {
    cfn: aws_sdk_cloudformation::Client,
    stack: String,
    change_set: String,
    executing: bool,
    environment: String,
}

impl InFlight {
    fn add(&self, cfn: &aws_sdk_cloudformation::Client, cs: &ChangeSet, environment: &str) {
        if let Ok(mut v) = self.0.lock() {
            v.push(Pending {
                cfn: cfn.clone(),
                stack: cs.stack.clone(),
                change_set: cs.id.clone(),
                executing: false,
                environment: environment.to_string(),
            });
        }
    }

    fn executing(&self, cs: &ChangeSet) {
        if let Ok(mut v) = self.0.lock() {
            for p in v.iter_mut().filter(|p| p.change_set == cs.id) {
                p.executing = true;
            }
        }
    }

    fn was_executed(&self, cs: &ChangeSet) -> bool {
        self.0
            .lock()
            .map(|v| v.iter().any(|p| p.change_set == cs.id && p.executing))
            .unwrap_or(false)
    }

    fn done(&self, cs: &ChangeSet) {
        if let Ok(mut v) = self.0.lock() {
            v.retain(|p| p.change_set != cs.id);
        }
    }

    /// After Ctrl-C: deletes the change sets nobody will execute and returns what to tell the
    /// user about the stacks still updating.
    pub async fn abandon(&self) -> Vec<String> {
        let pending: Vec<Pending> = self.0.lock().map(|v| v.clone()).unwrap_or_default();
        let mut notes = Vec::new();
        for p in pending {
            if p.executing {
                notes.push(format!(
                    "{} is still being updated by CloudFormation; `qfleet deploy {}` waits for it and carries on, `qfleet status {}` shows it",
                    p.stack, p.environment, p.environment
                ));
            } else {
                let _ = changeset::delete(&p.cfn, &p.change_set, &p.stack).await;
                notes.push(format!("deleted the unexecuted change set of {}", p.stack));
            }
        }
        notes
    }
}

/// Deploys (or plans) one environment. Errors end up in the outcome, not in the return value,
/// so that other environments carry on.
pub async fn environment(
    clients: &Clients,
    env: &Environment,
    mode: Mode,
    opts: &Options,
    reporter: &Reporter,
    inflight: &InFlight,
) -> EnvOutcome {
    let started = Instant::now();
    let mut stacks_done = Vec::new();
    let result = run_environment(
        clients,
        env,
        mode,
        opts,
        reporter,
        inflight,
        &mut stacks_done,
    )
    .await;
    let (ok, error, exit_code) = match result {
        Ok(()) => (true, None, 0),
        Err(e) => (false, Some(e.to_string()), e.exit_code()),
    };
    EnvOutcome {
        environment: env.name.clone(),
        region: clients.region.clone(),
        ok,
        stacks: stacks_done,
        error,
        exit_code,
        duration_ms: started.elapsed().as_millis(),
    }
}

async fn run_environment(
    clients: &Clients,
    env: &Environment,
    mode: Mode,
    opts: &Options,
    reporter: &Reporter,
    inflight: &InFlight,
    done: &mut Vec<StackOutcome>,
) -> Result<()> {
    let rendered = render::render(env)?;
    let cfn = &clients.cfn;
    // Both stacks are described at once: a no-op deploy costs these two calls and nothing more.
    let (data_state, fleet_state) =
        stacks::describe_pair(cfn, &env.data_stack_name(), &env.fleet_stack_name()).await?;

    for (stack, state) in rendered.iter().zip([data_state, fleet_state]) {
        let network = match stack.role {
            StackRole::Data => None,
            StackRole::Fleet => Some(fleet_network(clients, env, state.as_ref(), opts).await?),
        };
        let desired = DesiredStack::new(env, stack, network.as_ref());
        let outcome = one_stack(cfn, env, &desired, state, mode, opts, reporter, inflight).await?;
        done.push(outcome);
    }
    Ok(())
}

/// The fleet's network: from the stack file, or the default VPC's subnets. Those are
/// discovered when the fleet is first created and kept afterwards (UsePreviousValue), so that a
/// redeploy never moves the fleet and costs no EC2 calls; `--rediscover-network` looks again.
async fn fleet_network(
    clients: &Clients,
    env: &Environment,
    state: Option<&StackState>,
    opts: &Options,
) -> Result<FleetNetwork> {
    match &env.spec.workers.network {
        Network::Explicit(net) => Ok(FleetNetwork::Place(Placement {
            vpc: net.vpc.clone(),
            subnets: net.subnets.clone(),
        })),
        Network::Default => {
            let deployed = state.is_some_and(|s| {
                s.status != "REVIEW_IN_PROGRESS"
                    && s.status != "ROLLBACK_COMPLETE"
                    && s.parameters.get("VpcId").is_some_and(|v| !v.is_empty())
                    && s.parameters.get("SubnetIds").is_some_and(|v| !v.is_empty())
            });
            if deployed && !opts.rediscover_network {
                return Ok(FleetNetwork::KeepDeployed);
            }
            network::default_placement(&clients.ec2, &clients.region)
                .await
                .map(FleetNetwork::Place)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn one_stack(
    cfn: &aws_sdk_cloudformation::Client,
    env: &Environment,
    desired: &DesiredStack,
    state: Option<StackState>,
    mode: Mode,
    opts: &Options,
    reporter: &Reporter,
    inflight: &InFlight,
) -> Result<StackOutcome> {
    let started = Instant::now();
    let name = &desired.name;
    let spinner = reporter.spinner(name);
    let outcome =
        |action: Action, status: Option<String>, changes: Vec<Change>, outputs| StackOutcome {
            stack: name.clone(),
            role: desired.role,
            action,
            status,
            duration_ms: started.elapsed().as_millis(),
            changes,
            outputs,
        };

    let state = settle(cfn, env, name, state, mode, opts, reporter, &spinner).await?;
    if mode == Mode::Plan
        && state
            .as_ref()
            .is_some_and(|s| s.status == "ROLLBACK_COMPLETE")
    {
        reporter.line(format!("{name}: failed to create earlier (ROLLBACK_COMPLETE); deploy deletes it and creates it again"));
        return Ok(outcome(
            Action::WouldRecreate,
            state.map(|s| s.status),
            vec![],
            Default::default(),
        ));
    }

    // The fast no-op: DescribeStacks already says whether the template, parameters and tags
    // are the deployed ones.
    if let Some(s) = &state
        && !opts.force
        && s.status != "REVIEW_IN_PROGRESS"
        && desired.matches(s)
    {
        if s.termination_protection == desired.termination_protection || mode == Mode::Plan {
            reporter.line(format!("{name}: no changes"));
            report_stack(reporter, name, Action::NoChanges);
            return Ok(outcome(
                Action::NoChanges,
                Some(s.status.clone()),
                vec![],
                s.outputs.clone(),
            ));
        }
        set_protection(cfn, name, desired.termination_protection).await?;
        reporter.line(format!(
            "{name}: termination protection turned {}",
            if desired.termination_protection {
                "on"
            } else {
                "off"
            }
        ));
        return Ok(outcome(
            Action::ProtectionUpdated,
            Some(s.status.clone()),
            vec![],
            s.outputs.clone(),
        ));
    }

    let creating = state
        .as_ref()
        .is_none_or(|s| s.status == "REVIEW_IN_PROGRESS");
    let kind = if creating {
        ChangeSetType::Create
    } else {
        ChangeSetType::Update
    };
    spinner.set("computing changes");
    let cs = changeset::create(cfn, desired, kind, opts.polling.first).await?;
    reporter.event(
        "change_set",
        serde_json::json!({ "stack": name, "id": cs.id, "empty": cs.empty }),
    );
    inflight.add(cfn, &cs, &env.name);
    let result = preview_and_apply(
        cfn, env, desired, &state, &cs, creating, mode, opts, reporter, inflight, &spinner,
    )
    .await;
    if result.is_err() && !inflight.was_executed(&cs) {
        // A change set that was never executed is not left behind, nor the empty stack
        // (REVIEW_IN_PROGRESS) that creating its first change set made.
        let _ = changeset::delete(cfn, &cs.id, name).await;
        if creating {
            abandon_review_stack(cfn, name).await;
        }
    }
    inflight.done(&cs);
    let (action, final_state) = result?;
    let outputs = final_state
        .as_ref()
        .map(|s| s.outputs.clone())
        .unwrap_or_default();
    let status = final_state
        .map(|s| s.status)
        .or_else(|| state.map(|s| s.status));
    report_stack(reporter, name, action);
    Ok(outcome(action, status, cs.changes.clone(), outputs))
}

/// Deletes the stack a never-executed CREATE change set left in REVIEW_IN_PROGRESS. It holds
/// no resources; anything else is left alone.
async fn abandon_review_stack(cfn: &aws_sdk_cloudformation::Client, name: &str) {
    if let Ok(Some(s)) = stacks::describe(cfn, name).await
        && s.status == "REVIEW_IN_PROGRESS"
    {
        let _ = cfn.delete_stack().stack_name(name).send().await;
    }
}

fn report_stack(reporter: &Reporter, name: &str, action: Action) {
    reporter.event(
        "stack",
        serde_json::json!({ "stack": name, "action": action }),
    );
}

#[allow(clippy::too_many_arguments)]
async fn preview_and_apply(
    cfn: &aws_sdk_cloudformation::Client,
    env: &Environment,
    desired: &DesiredStack,
    state: &Option<StackState>,
    cs: &ChangeSet,
    creating: bool,
    mode: Mode,
    opts: &Options,
    reporter: &Reporter,
    inflight: &InFlight,
    spinner: &crate::output::progress::Spinner,
) -> Result<(Action, Option<StackState>)> {
    let name = &desired.name;
    if cs.empty {
        changeset::delete(cfn, &cs.id, name).await?;
        reporter.line(format!("{name}: no changes"));
        if mode == Mode::Deploy
            && let Some(s) = state
            && s.termination_protection != desired.termination_protection
        {
            set_protection(cfn, name, desired.termination_protection).await?;
            return Ok((Action::ProtectionUpdated, state.clone()));
        }
        return Ok((Action::NoChanges, state.clone()));
    }

    reporter.line(format!(
        "{name}: {} ({} change{})\n{}",
        if creating { "create" } else { "update" },
        cs.changes.len(),
        if cs.changes.len() == 1 { "" } else { "s" },
        changeset::table(&cs.changes)
    ));
    reporter.event(
        "changes",
        serde_json::json!({ "stack": name, "creating": creating, "changes": cs.changes }),
    );
    let losses: Vec<&Change> = cs.changes.iter().filter(|c| c.loses_data()).collect();
    for c in &losses {
        reporter.line(format!(
            "WARNING: {name}: this change {}",
            c.describe_loss()
        ));
        reporter.event(
            "warning",
            serde_json::json!({ "stack": name, "change": c, "message": c.describe_loss() }),
        );
    }

    if mode == Mode::Plan {
        changeset::delete(cfn, &cs.id, name).await?;
        if creating {
            abandon_review_stack(cfn, name).await;
        }
        let action = if creating {
            Action::WouldCreate
        } else {
            Action::ChangesPending
        };
        return Ok((action, state.clone()));
    }

    confirm(env, name, &losses, opts, reporter)?;
    let since = if creating {
        None
    } else {
        stacks::newest_event_id(cfn, name).await?
    };
    inflight.executing(cs);
    spinner.set(if creating { "creating" } else { "updating" });
    changeset::execute(cfn, cs).await?;
    let finished = wait::until_settled(cfn, name, since, opts.polling, reporter, spinner).await?;
    let final_state = finished
        .state
        .ok_or_else(|| Error::Aws(format!("{name} disappeared while it was being deployed")))?;
    if !matches!(
        final_state.status.as_str(),
        "CREATE_COMPLETE" | "UPDATE_COMPLETE"
    ) {
        let cause = match stacks::root_cause(&finished.events) {
            Some(e) => format!(
                "root cause: {} ({}) {}: {}",
                e.logical_id,
                e.resource_type,
                e.status,
                e.reason.as_deref().unwrap_or("no reason given")
            ),
            None => format!(
                "stack status reason: {}",
                final_state.status_reason.as_deref().unwrap_or("none given")
            ),
        };
        return Err(Error::Aws(format!(
            "deploying {name} failed: {} ({cause})",
            final_state.status
        )));
    }
    if final_state.termination_protection != desired.termination_protection {
        set_protection(cfn, name, desired.termination_protection).await?;
    }
    reporter.line(format!("{name}: {}", final_state.status));
    Ok((
        if creating {
            Action::Created
        } else {
            Action::Updated
        },
        Some(final_state),
    ))
}

/// Asks before executing, unless `--yes`; refuses without a terminal; refuses to remove or
/// replace a resource holding data without an explicit request.
fn confirm(
    env: &Environment,
    stack: &str,
    losses: &[&Change],
    opts: &Options,
    reporter: &Reporter,
) -> Result<()> {
    if !losses.is_empty() && opts.yes && !opts.allow_replacement {
        return Err(Error::Refused(format!(
            "{stack}: the change set removes or replaces {} holding data; nothing was executed. Review it with `qfleet plan {}` and pass --allow-replacement to go ahead",
            losses
                .iter()
                .map(|c| c.logical_id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            env.name
        )));
    }
    if opts.yes {
        return Ok(());
    }
    if !opts.can_prompt {
        return Err(Error::usage(format!(
            "{stack}: not executing the change set without confirmation: no terminal to ask on; pass --yes"
        )));
    }
    let question = if losses.is_empty() {
        format!("Execute these changes to {stack}?")
    } else {
        format!("Data would be lost. Execute these changes to {stack} anyway?")
    };
    if reporter.confirm(&question) {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "{stack}: not confirmed; the change set was deleted"
        )))
    }
}

async fn set_protection(cfn: &aws_sdk_cloudformation::Client, stack: &str, on: bool) -> Result<()> {
    cfn.update_termination_protection()
        .stack_name(stack)
        .enable_termination_protection(on)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error(&format!("setting termination protection of {stack}"), e))
}

/// Brings a stack to a state a change set can start from: waits for an operation in
/// progress, deletes a stack whose creation failed (with consent), continues a failed
/// rollback. Returns the state to start from (`None`: the stack does not exist).
#[allow(clippy::too_many_arguments)]
async fn settle(
    cfn: &aws_sdk_cloudformation::Client,
    env: &Environment,
    name: &str,
    mut state: Option<StackState>,
    mode: Mode,
    opts: &Options,
    reporter: &Reporter,
    spinner: &crate::output::progress::Spinner,
) -> Result<Option<StackState>> {
    // Each branch either returns or changes the stack's state; a few rounds at most.
    for _ in 0..5 {
        let Some(s) = &state else { return Ok(None) };
        match s.status.as_str() {
            st if s.in_progress() => {
                reporter.line(format!(
                    "{name}: {st} in progress; waiting for it to finish first"
                ));
                reporter.event(
                    "waiting",
                    serde_json::json!({ "stack": name, "status": st }),
                );
                let since = stacks::newest_event_id(cfn, name).await?;
                state = wait::until_settled(cfn, name, since, opts.polling, reporter, spinner)
                    .await?
                    .state;
            }
            "ROLLBACK_COMPLETE" if mode == Mode::Plan => return Ok(state),
            "ROLLBACK_COMPLETE" => {
                let why = format!(
                    "{name} failed to create and is in ROLLBACK_COMPLETE: it has to be deleted before it can be created again"
                );
                reporter.line(&why);
                if !opts.yes {
                    if !opts.can_prompt {
                        return Err(Error::usage(format!(
                            "{why}; pass --yes to delete and recreate it"
                        )));
                    }
                    if !reporter.confirm(&format!("Delete {name} and create it again?")) {
                        return Err(Error::Refused(format!(
                            "{name}: not confirmed; nothing was changed"
                        )));
                    }
                }
                let since = stacks::newest_event_id(cfn, name).await?;
                cfn.delete_stack()
                    .stack_name(name)
                    .send()
                    .await
                    .map_err(|e| sdk_error(&format!("deleting {name}"), e))?;
                let finished =
                    wait::until_settled(cfn, name, since, opts.polling, reporter, spinner).await?;
                if let Some(s) = &finished.state
                    && s.status == "DELETE_FAILED"
                {
                    return Err(Error::Aws(format!(
                        "{name}: deleting the failed stack failed: {}",
                        s.status_reason.as_deref().unwrap_or("no reason given")
                    )));
                }
                state = finished.state;
            }
            "UPDATE_ROLLBACK_FAILED" if mode == Mode::Plan => {
                return Err(Error::Aws(format!(
                    "{name} is in UPDATE_ROLLBACK_FAILED; `qfleet deploy {}` continues the rollback first",
                    env.name
                )));
            }
            "UPDATE_ROLLBACK_FAILED" => {
                reporter.line(format!(
                    "{name}: UPDATE_ROLLBACK_FAILED; continuing the rollback before deploying"
                ));
                let since = stacks::newest_event_id(cfn, name).await?;
                let mut req = cfn.continue_update_rollback().stack_name(name);
                if let Some(role) = &env.spec.service_role_arn {
                    req = req.role_arn(role);
                }
                req.send()
                    .await
                    .map_err(|e| sdk_error(&format!("continuing the rollback of {name}"), e))?;
                let finished =
                    wait::until_settled(cfn, name, since, opts.polling, reporter, spinner).await?;
                if finished
                    .state
                    .as_ref()
                    .is_some_and(|s| s.status == "UPDATE_ROLLBACK_FAILED")
                {
                    let cause = stacks::root_cause(&finished.events)
                        .map(|e| {
                            format!(
                                "{} ({}): {}",
                                e.logical_id,
                                e.resource_type,
                                e.reason.as_deref().unwrap_or("")
                            )
                        })
                        .unwrap_or_else(|| "no reason given".into());
                    return Err(Error::Aws(format!(
                        "{name}: the rollback failed again ({cause}); fix the resource, or continue the rollback skipping it in the CloudFormation console"
                    )));
                }
                state = finished.state;
            }
            "ROLLBACK_FAILED" | "DELETE_FAILED" | "IMPORT_ROLLBACK_FAILED" => {
                return Err(Error::Aws(format!(
                    "{name} is in {}{}; qfleet cannot deploy over it: delete it (qfleet teardown) or repair it in the CloudFormation console",
                    s.status,
                    s.status_reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                )));
            }
            _ => return Ok(state),
        }
    }
    Err(Error::Aws(format!(
        "{name} did not reach a state to deploy from"
    )))
}

#[cfg(test)]
mod tests;
