//! A deploy (or plan) of a stack file's targets through CloudFormation StackSets: the wave
//! is [`crate::placement`]'s; here each target's result becomes its deploy outcome, and the
//! termination protection set after the wave is told in it.

use super::{Action, EnvOutcome, Mode, Options, StackOutcome};
use crate::aws::Clients;
use crate::config::{Environment, TargetFile};
use crate::error::{Error, ErrorReport, Exit, Result};
use crate::placement::{Run, SetOutcome, Step};
use std::collections::BTreeMap;

/// Deploys (or plans) the targets `envs` of one wave of `file` through StackSets, with
/// `admin`'s clients (the account and region that hold the stack sets). One outcome per
/// target, in `envs`' order.
pub(super) async fn wave(
    admin: &Clients,
    file: &TargetFile,
    envs: &[Environment],
    mode: Mode,
    opts: &Options,
    note: &(dyn Fn(String) + Sync),
) -> Vec<EnvOutcome> {
    let run = Run {
        plan: mode == Mode::Plan,
        yes: opts.yes,
        allow_replacement: opts.allow_replacement,
        polling: opts.polling,
    };
    let done = crate::placement::wave(admin, file, envs, &run, note).await;
    envs.iter()
        .zip(done)
        .map(|(env, t)| {
            let (ok, error, exit_code) = match t.error {
                None => (true, None, Exit::Ok),
                Some((report, exit)) => (false, Some(report), exit),
            };
            EnvOutcome {
                environment: env.name.clone(),
                region: env.spec.region.clone(),
                ok,
                cancelled: false,
                stacks: t.stacks.into_iter().map(|s| outcome(s, mode)).collect(),
                error,
                exit_code,
                duration_ms: t.started.elapsed().as_millis(),
            }
        })
        .collect()
}

/// A stack set's outcome for one target as a stack's: what a plan would do, what a deploy
/// did (nothing, where the target's instance failed).
fn outcome(s: SetOutcome, mode: Mode) -> StackOutcome {
    let action = match (mode, s.step) {
        (Mode::Plan, Step::Create) => Action::WouldCreate,
        (Mode::Plan, Step::Update | Step::Refresh) => Action::ChangesPending,
        (Mode::Deploy, _) if s.status.is_some() => Action::NoChanges,
        (Mode::Deploy, Step::Create) => Action::Created,
        (Mode::Deploy, Step::Update | Step::Refresh) => Action::Updated,
        _ => Action::NoChanges,
    };
    StackOutcome {
        stack: s.stack,
        role: s.role,
        action,
        status: s.status,
        duration_ms: s.duration_ms,
        changes: s.changes,
        notes: s.notes,
        outputs: BTreeMap::new(),
        worker_version: None,
    }
}

fn reported(e: &Error) -> (ErrorReport, Exit) {
    (e.report(), e.exit_code())
}

#[cfg(test)]
mod tests;

/// After a wave: `outcome`'s protection set (`Ok`: the changes, recorded as notes of its stack
/// sets' outcomes) or not (`Err`: a deployed target fails with it; one that failed already
/// keeps its own error, and the note says its stacks may be unprotected).
pub(super) fn protected(
    outcome: &mut EnvOutcome,
    result: Result<Vec<(String, String)>>,
) -> Vec<String> {
    match result {
        Ok(changed) => changed
            .into_iter()
            .map(|(set, line)| {
                if let Some(s) = outcome.stacks.iter_mut().find(|s| s.stack == set) {
                    s.notes.push(line.clone());
                }
                format!("{}: {line}", outcome.environment)
            })
            .collect(),
        Err(e) if outcome.ok => {
            failed_after(outcome, &e);
            Vec::new()
        }
        Err(e) => vec![format!(
            "{}: its instance stacks may be without termination protection: {e}",
            outcome.environment
        )],
    }
}

/// `outcome` failed after its deploy, with `e`.
fn failed_after(outcome: &mut EnvOutcome, e: &Error) {
    let (report, exit) = reported(e);
    outcome.ok = false;
    outcome.error = Some(report);
    outcome.exit_code = exit;
}
