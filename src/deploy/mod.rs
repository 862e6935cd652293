//! Deploying an environment's stacks through change sets (and `plan`: the same, stopping at the
//! preview). Stacks go in dependency order, the data stack before the fleet; environments run
//! concurrently.

mod adopt;
pub mod changeset;
pub mod desired;
mod inflight;
mod recover;
mod stack;

pub use inflight::InFlight;

use crate::aws::Clients;
use crate::aws::changesets::Change;
use crate::aws::network::{self, Placement};
use crate::aws::poll::Polling;
use crate::aws::stacks::{self, StackState};
use crate::config::schema::WorkerKind;
use crate::config::{Environment, Network};
use crate::error::Result;
use crate::output::progress::Reporter;
use crate::render::{self, StackRole};
use desired::{DesiredStack, FleetNetwork};
use serde::Serialize;
use std::time::Instant;

/// Deploy, or only preview (plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Deploy,
    Plan,
}

#[derive(Debug, Clone)]
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
    /// How long SQS keeps a deleted queue's name (60 s); shorter only in tests.
    pub queue_name_cooldown: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            yes: false,
            allow_replacement: false,
            force: false,
            rediscover_network: false,
            can_prompt: false,
            polling: Polling::default(),
            queue_name_cooldown: std::time::Duration::from_secs(60),
        }
    }
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

    reporter.ledger.plan(
        &env.name,
        rendered
            .iter()
            .map(|s| ledger_step(&s.stack_name))
            .collect(),
    );
    for (stack, state) in rendered.iter().zip([data_state, fleet_state]) {
        let network = match stack.role {
            StackRole::Fleet if env.spec.workers.kind == WorkerKind::Ec2 => {
                Some(fleet_network(clients, env, state.as_ref(), opts).await?)
            }
            // The data stack and a worker function have no network of qfleet's.
            _ => None,
        };
        let desired = DesiredStack::new(env, stack, network.as_ref());
        let outcome = stack::one_stack(
            clients, env, &desired, state, mode, opts, reporter, inflight,
        )
        .await?;
        reporter.ledger.finish(
            &env.name,
            &ledger_step(&outcome.stack),
            format!("{} {}", outcome.stack, outcome.action.text()),
        );
        done.push(outcome);
    }
    Ok(())
}

/// The ledger's name for deploying one stack: under way from ExecuteChangeSet on.
pub(crate) fn ledger_step(stack: &str) -> String {
    format!("deploy {stack}")
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
                !s.is_review()
                    && !s.is_failed_create()
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

#[cfg(test)]
mod tests;
