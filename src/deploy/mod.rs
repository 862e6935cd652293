//! Deploying an environment's stacks through change sets (and `plan`: the same, stopping at the
//! preview). Both stacks' change sets are created, previewed and confirmed together, then
//! executed together, or the data stack before the fleet where the fleet needs it; express
//! mode and drift-aware change sets are decided here; environments run concurrently.

mod adopt;
mod changeset;
mod consent;
mod desired;
mod event;
mod execute;
mod flow;
mod follow;
mod image;
mod inflight;
mod many;
mod markdown;
mod package;
mod prepare;
mod preview;
mod reach;
mod recover;
mod summary;
mod through_sets;

pub use changeset::STATEFUL_TYPES;
pub use inflight::InFlight;

pub(crate) use many::all;
pub(crate) use summary::Printing;

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use event::{Event, tests::one_of_each as one_event_of_each};
#[cfg(test)]
pub(crate) use summary::schema;

use crate::aws::Clients;
use crate::aws::cfn::changesets::Change;
use crate::aws::cfn::stacks::StackState;
use crate::aws::network::{self, Placement};
use crate::aws::poll::Polling;
use crate::config::{Environment, Network};
use crate::error::{ErrorReport, Result};
use crate::render::StackRole;
use desired::FleetNetwork;
use event::Reporter;
use serde::Serialize;
use std::time::Instant;

/// Deploy, or only preview (plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Deploy,
    Plan,
}

#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Execute without asking (required without a terminal).
    pub(crate) yes: bool,
    /// Going ahead when a change set removes or replaces a resource that holds data.
    pub(crate) allow_replacement: bool,
    /// Create a change set even when the deployed stack matches (re-resolves the AMI parameter).
    pub(crate) force: bool,
    /// Discover the default VPC's subnets again instead of keeping the deployed ones.
    pub(crate) rediscover_network: bool,
    /// Questions may be asked on this terminal.
    pub(crate) can_prompt: bool,
    pub(crate) polling: Polling,
    /// How long SQS keeps a deleted queue's name (60 s); shorter only in tests.
    pub(crate) queue_name_cooldown: std::time::Duration,
    /// `--express` (Some(true)) or `--no-express` (Some(false)); `None`: the stack file decides.
    pub(crate) express: Option<bool>,
    /// `--revert-drift`: drift-aware change sets for the stacks that exist.
    pub(crate) revert_drift: bool,
    /// `--adopt`: take over stacks of the environment's names that lack qfleet's marks.
    pub(crate) adopt: bool,
    /// `--resume`: a rollout in waves passes a wave deployed already whose bake has run out
    /// without a look at its alarms ([`crate::rollout`]).
    pub(crate) resume: bool,
    /// This run deploys in several waves ([`crate::rollout::waves`] of its environments): set by the
    /// deploy session, not by a flag.
    pub(crate) rollout: bool,
    /// What the stack files made and no longer make, found before the deploy: a target's
    /// record keeps each dropped target still in AWS.
    pub(crate) found: crate::environments::Found,
    /// `--build-engine`: the engine that builds the workers' images (before the file's).
    pub(crate) build_engine: Option<crate::package::engine::Engine>,
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
            express: None,
            revert_drift: false,
            adopt: false,
            resume: false,
            rollout: false,
            found: crate::environments::Found::default(),
            build_engine: None,
        }
    }
}

/// What happened to one stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Action {
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
    /// Deploy: the question was answered no; the stack was not changed.
    Cancelled,
}

impl Action {
    /// The stack is not what its stack file says: a plan's changes, or a deploy's that were
    /// declined (still to be deployed).
    fn pending(self) -> bool {
        matches!(
            self,
            Action::ChangesPending
                | Action::WouldCreate
                | Action::WouldRecreate
                | Action::Cancelled
        )
    }

    fn text(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::NoChanges => "no changes",
            Action::ProtectionUpdated => "termination protection updated",
            Action::ChangesPending => "changes pending",
            Action::WouldCreate => "would be created",
            Action::WouldRecreate => "would be deleted and created again",
            Action::Cancelled => "not changed (cancelled)",
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub(crate) struct StackOutcome {
    pub(crate) stack: String,
    pub(crate) role: StackRole,
    pub(crate) action: Action,
    pub(crate) status: Option<String>,
    pub(crate) duration_ms: u128,
    /// The changes previewed (executed, or pending in a plan), with their property details.
    pub(crate) changes: Vec<Change>,
    /// What the preview said besides the changes (a kept bucket to import, a failed stack to
    /// create again).
    pub(crate) notes: Vec<String>,
    pub(crate) outputs: std::collections::BTreeMap<String, String>,
}

impl StackOutcome {
    /// Whether its deploy failed after its changes were previewed (a StackSets instance whose
    /// operation failed, or that was refused): `status` `FAILED`, whatever its `action`.
    fn failed(&self) -> bool {
        self.status.as_deref() == Some("FAILED")
    }

    /// What happened to the stack, as the text says it: `FAILED`, or its action.
    fn said(&self) -> &'static str {
        match self.failed() {
            true => "FAILED",
            false => self.action.text(),
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub(crate) struct EnvOutcome {
    pub(crate) environment: String,
    pub(crate) region: String,
    pub(crate) ok: bool,
    /// The question was answered no: nothing was changed (exit code 0).
    pub(crate) cancelled: bool,
    pub(crate) stacks: Vec<StackOutcome>,
    /// What ended the environment, with its kind; in JSON the environment's `error` (the
    /// envelope's key, [`crate::output::Environment`]).
    #[serde(skip)]
    pub(crate) error: Option<ErrorReport>,
    pub(crate) exit_code: crate::error::Exit,
    pub(crate) duration_ms: u128,
}

impl EnvOutcome {
    /// The outcome of an environment that `e` kept from being deployed at all.
    fn failed(env: &Environment, e: &crate::error::Error) -> EnvOutcome {
        EnvOutcome {
            environment: env.name.clone(),
            region: env.spec.region.clone(),
            ok: false,
            cancelled: false,
            stacks: Vec::new(),
            error: Some(e.report()),
            exit_code: e.exit_code(),
            duration_ms: 0,
        }
    }
}

/// What every step of one environment's deploy or plan works with.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    clients: &'a Clients,
    env: &'a Environment,
    mode: Mode,
    opts: &'a Options,
    reporter: &'a Reporter,
    inflight: &'a InFlight,
}

/// Deploys (or plans) one environment. Errors end up in the outcome, not in the return value,
/// so that other environments carry on.
async fn environment(
    clients: &Clients,
    env: &Environment,
    mode: Mode,
    opts: &Options,
    reporter: &Reporter,
    inflight: &InFlight,
) -> EnvOutcome {
    let started = Instant::now();
    let mut stacks_done = Vec::new();
    let cx = Ctx {
        clients,
        env,
        mode,
        opts,
        reporter,
        inflight,
    };
    let result = flow::run(&cx, &mut stacks_done).await;
    let (ok, cancelled, error, exit_code) = match result {
        Ok(ended) => (
            true,
            ended == flow::Ended::Cancelled,
            None,
            crate::error::Exit::Ok,
        ),
        Err(e) => (false, false, Some(e.report()), e.exit_code()),
    };
    EnvOutcome {
        environment: env.name.clone(),
        region: clients.region.clone(),
        ok,
        cancelled,
        stacks: stacks_done,
        error,
        exit_code,
        duration_ms: started.elapsed().as_millis(),
    }
}

/// Whether an environment deploys in express mode, and the warning to print when it does on
/// a protected environment (only `--express` asks for that: the stack file cannot).
fn express(env: &Environment, opts: &Options) -> (bool, Option<String>) {
    // Drift-aware change sets roll resources back to their actual state on failure; they run
    // in the standard mode (`--express` with `--revert-drift` is refused on the command line).
    if opts.revert_drift {
        let said = (env.express() && opts.express.is_none()).then(|| {
            format!(
                "{}: --revert-drift deploys in the standard mode, not the stack file's express mode",
                env.name
            )
        });
        return (false, said);
    }
    // A rollout's bake watches the wave's alarms from the end of its deploy: the wave must be
    // stable, its workers in service, by then. Express mode ends an operation before that.
    if opts.rollout {
        return match opts.express {
            None if env.express() => (
                false,
                Some(format!(
                    "{}: a rollout in waves deploys in the standard mode, not the stack file's express mode: a wave is baked once its resources are stable and its workers in service",
                    env.name
                )),
            ),
            Some(true) => (
                true,
                Some(format!(
                    "WARNING: {}: express mode in a rollout in waves (--express): the bake begins before the wave's resources are stable and its workers in service",
                    env.name
                )),
            ),
            _ => (false, None),
        };
    }
    match opts.express {
        Some(true) if env.termination_protection() => (
            true,
            Some(format!(
                "WARNING: {}: express mode on a protected environment (--express): CloudFormation ends each operation once the configuration is applied, without waiting for resources to stabilise or for the workers to report in",
                env.name
            )),
        ),
        Some(on) => (on, None),
        None => (env.express(), None),
    }
}

/// What to say after an express deploy that changed something.
fn express_done(env: &str) -> String {
    format!(
        "{env}: deployed in express mode: resources may still be stabilising (workers starting, not yet reporting in); `qfleet status {env}` shows when they are in service"
    )
}

/// The ledger's name for one stack's step: `deploy STACK`, under way from ExecuteChangeSet
/// on; `plan STACK` for a plan, which executes nothing (an interrupted plan says so).
pub(crate) fn ledger_step(mode: Mode, stack: &str) -> String {
    match mode {
        Mode::Deploy => format!("deploy {stack}"),
        Mode::Plan => format!("plan {stack}"),
    }
}

/// The fleet's network: from the stack file, or the default VPC's subnets. Those are
/// discovered when the fleet is first created and kept afterwards (UsePreviousValue), so that a
/// redeploy never moves the fleet and costs no EC2 calls; `--rediscover-network` looks again.
pub(super) async fn fleet_network(
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
            // With several types (a mixed instances policy), a zone that offers any of them
            // can launch workers.
            let w = &env.spec.workers;
            let types = match env.kind().unit() {
                Some("instance") => w.types(),
                _ => Vec::new(),
            };
            network::default_placement(&clients.ec2, &clients.region, &types)
                .await
                .map(FleetNetwork::Place)
                .map_err(Into::into)
        }
    }
}

/// The security groups and prefix lists the stack file names (`workers.security_groups`,
/// `workers.egress`), checked in the workers' Region before any change: each exists, and a
/// group the workers wear is in their VPC `vpc` (a group an egress rule names may be in a
/// peered one). One that does not is an error at its own line; a read that fails is an error
/// too, never "fine".
pub(super) async fn check_network_references(
    clients: &Clients,
    env: &Environment,
    vpc: &str,
) -> Result<()> {
    let w = &env.spec.workers;
    let mut groups: Vec<(String, &str, bool)> = w
        .security_groups
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("workers.security_groups.{i}"), id.as_str(), true))
        .collect();
    let mut lists: Vec<(String, &str)> = Vec::new();
    for (i, r) in w.egress.iter().enumerate() {
        if let Some(sg) = &r.security_group {
            groups.push((format!("workers.egress.{i}.security_group"), sg, false));
        }
        if let Some(pl) = &r.prefix_list {
            lists.push((format!("workers.egress.{i}.prefix_list"), pl));
        }
    }
    let mut problems = match &w.network {
        crate::config::Network::Explicit(n) => check_vpc_and_subnets(clients, env, n).await?,
        crate::config::Network::Default => Vec::new(),
    };
    if !groups.is_empty() {
        let ids: Vec<String> = groups.iter().map(|(_, id, _)| id.to_string()).collect();
        let found = network::security_groups(&clients.ec2, &ids).await?;
        for (field, id, worn) in &groups {
            let why = match found.get(*id) {
                None => format!("security group {id} does not exist in {}", clients.region),
                Some(in_vpc) if *worn && in_vpc != vpc => format!(
                    "security group {id} is in {in_vpc}, and the workers run in {vpc}: a worker wears groups of its own VPC only"
                ),
                Some(_) => continue,
            };
            problems.push(env.source.error(field, why));
        }
    }
    if !lists.is_empty() {
        let ids: Vec<String> = lists.iter().map(|(_, id)| id.to_string()).collect();
        let found = network::prefix_lists(&clients.ec2, &ids).await?;
        for (field, id) in &lists {
            if !found.contains(*id) {
                problems.push(env.source.error(
                    field,
                    format!("prefix list {id} does not exist in {}", clients.region),
                ));
            }
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(crate::error::Error::Input(problems)),
    }
}

/// The VPC and subnets `workers.network` names: the VPC exists in the Region, and each subnet
/// exists, is in that VPC and in the availability zone the file keys it by (a group whose
/// subnets are elsewhere fails to launch there, or in another VPC at all).
async fn check_vpc_and_subnets(
    clients: &Clients,
    env: &Environment,
    n: &crate::config::ExplicitNetwork,
) -> Result<Vec<crate::error::InputError>> {
    let region = &clients.region;
    if !network::vpc_exists(&clients.ec2, &n.vpc).await? {
        let why = format!("VPC {} does not exist in {region}", n.vpc);
        return Ok(vec![env.source.error("workers.network.vpc", why)]);
    }
    let ids: Vec<String> = n.subnets.values().cloned().collect();
    let found = network::subnets(&clients.ec2, &ids).await?;
    let mut problems = Vec::new();
    for (zone, id) in &n.subnets {
        let why = match found.get(id) {
            None => format!("subnet {id} does not exist in {region}"),
            Some((vpc, _)) if *vpc != n.vpc => format!(
                "subnet {id} is in {vpc}, and workers.network.vpc is {}: the workers run in one VPC",
                n.vpc
            ),
            Some((_, az)) if az != zone => {
                format!("subnet {id} is in {az}, not in {zone}: key it by its own zone")
            }
            Some(_) => continue,
        };
        problems.push(
            env.source
                .error(&format!("workers.network.subnets.{zone}"), why),
        );
    }
    Ok(problems)
}

#[cfg(test)]
mod tests;
