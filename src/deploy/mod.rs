//! Deploying an environment's stacks through change sets (and `plan`: the same, stopping at the
//! preview). Both stacks' change sets are created, previewed and confirmed together, then
//! executed together, or the data stack before the fleet where the fleet needs it; express
//! mode (`express.rs`) and drift-aware change sets are decided here; environments run
//! concurrently.
//!
//! The walk reads down: `many.rs` runs each environment through `flow.rs` (its story:
//! prepare, preview, confirm, execute), which calls the steps (`prepare.rs`, `preview.rs`,
//! `consent.rs`, `execute.rs`, `network.rs`, …); this file only declares them and the types
//! they share (the options, the context, the outcomes).

mod adopt;
mod changeset;
mod chat;
mod consent;
mod desired;
pub(crate) mod errors;
mod event;
mod execute;
mod express;
mod flow;
mod follow;
mod hold;
mod image;
mod inflight;
mod many;
mod markdown;
mod network;
mod package;
mod prepare;
mod preview;
mod quota;
mod reach;
mod recover;
mod rollback;
mod summary;
mod through_sets;
mod triggers;
mod version;

pub use changeset::STATEFUL_TYPES;
pub use inflight::InFlight;

#[cfg(test)]
use flow::environment;
pub(crate) use many::all;
pub(crate) use summary::Printing;

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use event::{Event, tests::one_of_each as one_event_of_each};
#[cfg(test)]
pub(crate) use summary::schema;

use crate::aws::Clients;
use crate::aws::Polling;
use crate::aws::ResourceChange as Change;
use crate::config::Environment;
use crate::error::ErrorReport;
use crate::render::StackRole;
use desired::FleetNetwork;
use event::Reporter;
use serde::Serialize;

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
    /// `--over-quota`: go on when the EC2 vCPU quotas cannot hold `workers.max` ([`quota`]).
    pub(crate) over_quota: bool,
    /// `--resume`: a rollout in waves passes a wave deployed already whose bake has run out
    /// without a look at its alarms ([`crate::placement`]).
    pub(crate) resume: bool,
    /// This run deploys in several waves ([`crate::placement::waves`] of its environments): set by the
    /// deploy session, not by a flag.
    pub(crate) rollout: bool,
    /// What the stack files made and no longer make, found before the deploy: a target's
    /// record keeps each dropped target still in AWS.
    pub(crate) found: crate::environments::Found,
    /// `--build-engine`: the engine that builds the workers' images (before the file's).
    pub(crate) build_engine: Option<crate::package::engine::Engine>,
    /// `--push-timeout`: how long an image's push may take before it is stopped.
    pub(crate) push_timeout: std::time::Duration,
    /// The EC2 fleets of this run, by the account and Region they land in: their quota is
    /// checked for all of them at once ([`quota::Together`]).
    pub(crate) together: quota::Together,
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
            over_quota: false,
            resume: false,
            rollout: false,
            found: crate::environments::Found::default(),
            build_engine: None,
            push_timeout: crate::package::engine::PUSH_TIMEOUT,
            together: quota::Together::default(),
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
    /// Deploy: refused, to protect data (or a running stage), or because another run holds
    /// the environment's lock; the stack was not changed and its changes are still pending
    /// (refused by the lock, nothing was previewed: `changes` is empty and a note says so).
    Refused,
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
                | Action::Refused
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
            Action::Refused => "not changed (refused)",
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
    /// A fleet stack's update that brings a new worker version: the version, the one it
    /// replaces, how the workers are replaced and how long the rollback alarms watch it
    /// (docs/rollback.md); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) worker_version: Option<version::NewVersion>,
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

#[cfg(test)]
mod tests;
