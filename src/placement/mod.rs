//! Placement: where an environment's stacks are and how they roll out. A stack file's
//! targets (`targets` in the stack file) deploy one file to several accounts and regions;
//! its copies (`copies`) deploy it several times in one. This module owns what happens to targets once the file is loaded
//! ([`crate::config`] reads and checks them, each a typed [`crate::config::Target`] holding
//! its loaded file), and answers, for every command, where an environment's stacks are:
//! under their own names, or, for a target deployed through StackSets, as its file's stack
//! sets' instances ([`stacks_of`], [`each_located`]).
//!
//! - `stack_names.rs`: where an environment's stacks are ([`StackNames`]), the account that
//!   holds the file's stack sets, and the templates the file renders for them;
//! - `accounts.rs`: the accounts of a target that stands for a whole AWS Organizations
//!   unit, each an environment of its own, and the sessions of the commands that act on them;
//! - `waves.rs`: the rollout in waves (`rollout` in the stack file, canary first), each
//!   wave's bake on its alarms, and the verdict that lets the next wave go on or stops it;
//! - `plan.rs`: what a wave does to one stack set (`rollout.mode: stack_sets`), decided
//!   before any call: each target's step, the guards, the refusals, the calls;
//! - `apply.rs`: the wave's calls made and followed to their end, then read back;
//! - `judge.rs`: the read-back judged: a target passes only on positive evidence;
//! - `instance_changes.rs`, `template_diff.rs`: what a stack set's change does to each instance;
//! - `policy_account.rs`: the account a deploying policy is for (`iam-policy`);
//! - `protect.rs`: termination protection on the stacks StackSets creates;
//! - `remove.rs`: a target's stack set instances removed (`teardown`), the StackSets calls;
//!   `removal.rs`: the removal as the teardown asks for it, its steps through [`RemovalRun`];
//! - `rendered.rs`: `render`'s result: each environment's templates where `--out` puts them
//!   (a folder each for copies and targets), and the stack sets' templates;
//! - `origin.rs`: where a stack comes from (its stack set and instance), as `status` says it;
//!   `shown.rs`: how a target is deployed and with which templates, as `validate` shows it;
//! - `errors.rs`: what placement refuses, in its own words (the exit codes stay
//!   [`crate::error`]'s).
//!
//! The commands (`deploy`, `status`, `teardown`, `iam-policy`, …) call this module; only
//! AWS access (`qfleet-aws`: [`crate::aws::create_stack_set`] and the rest) talks to StackSets below it.

mod accounts;
mod apply;
pub(crate) mod errors;
mod instance_changes;
mod judge;
mod origin;
mod plan;
mod policy_account;
mod protect;
mod removal;
mod remove;
mod rendered;
pub(crate) mod shown;
mod stack_names;
mod template_diff;
mod waves;

pub use template_diff::CREATE_ONLY;

pub(crate) use accounts::{account_pick, each_located, of_accounts};
pub(crate) use apply::{Run, SetOutcome, wave};
pub(crate) use origin::{LOCATING, Origin};
pub(crate) use plan::Step;
pub(crate) use policy_account::{in_account, policy_account};
pub(crate) use protect::protect_all;
pub(crate) use removal::{RemovalRun, Scope as RemovalScope, delete, leftovers, tidy};
pub(crate) use remove::SetLocks;
pub(crate) use rendered::render_all;
pub(crate) use stack_names::{
    StackNames, admin_clients, check_data_stack, stacks_of, wanted_templates,
};
pub(crate) use waves::{Deployed, Wave, run, watch_target, waves};

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use accounts::accounts_in;
#[cfg(test)]
pub(crate) use accounts::of_account;
#[cfg(test)]
pub(crate) use plan::{groups, preferences};
#[cfg(test)]
pub(crate) use protect::protect;
#[cfg(test)]
pub(crate) use rendered::schema as render_schema;
#[cfg(test)]
pub(crate) use stack_names::StackSetTarget;
#[cfg(test)]
pub(crate) use stack_names::instances_of;
