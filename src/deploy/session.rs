//! A deploy or plan of every environment a command line names, at most `--concurrency` at a
//! time, each with its own question on a terminal; Ctrl-C stops waiting and says what each had
//! done and which change sets were left. Its end is [`super::summary`].

use super::event::Event;
use super::event::Reporter;
use super::rollout::{self, Wave};
use super::summary::{Collected, Finished, Printing};
use super::{EnvOutcome, InFlight, Mode, Options};
use crate::error::{Interruption, Result};
use crate::output::Output;
use crate::session::Session;
use std::time::Instant;

/// Deploys (or plans) every environment of `session`; `printing` says how the end is told.
pub fn all(
    session: &Session,
    mode: Mode,
    opts: Options,
    out: Output,
    printing: Printing,
) -> Result<Finished> {
    let reporter = Reporter::new(out).with_details(printing.details || session.envs.len() == 1);
    reporter.several_environments(session.envs.len() > 1);
    if mode == Mode::Plan {
        peak_warnings(session, out, &reporter);
    }
    let inflight = InFlight::default();
    let waves = super::rollout::waves(&session.envs);
    let done = if mode == Mode::Deploy && waves.len() > 1 {
        // This run is a rollout (of one file's waves or several files' merged): every
        // environment of it is baked, so none is deployed in express mode unasked.
        let opts = Options {
            rollout: true,
            ..opts.clone()
        };
        in_waves(session, &waves, &opts, out, &reporter, &inflight)
    } else {
        session.each_until_interrupted(|clients, env| {
            let (reporter, inflight, opts) = (&reporter, inflight.clone(), opts.clone());
            async move { super::environment(&clients, env, mode, &opts, reporter, &inflight).await }
        })
    };
    let Some(outcomes) = done else {
        let mut notes = session.block_on(inflight.abandon());
        notes.extend(reporter.ledger.report(&session.names()));
        return Err(Interruption::Deploy { notes }.into());
    };
    let stacks = session
        .envs
        .iter()
        .map(|e| {
            std::iter::once(e.data_stack_name())
                .chain(e.stages().iter().map(|s| s.fleet_stack_name()))
                .collect()
        })
        .collect();
    Ok(Finished::new(
        outcomes,
        Collected {
            events: reporter.events(),
            stacks,
        },
        printing,
        Instant::now(),
    ))
}

/// A declared peak the fleet cannot meet (simulated offline, as validate does): said on
/// stderr, and among the environment's warnings in the JSON document.
fn peak_warnings(session: &Session, out: Output, reporter: &Reporter) {
    for env in &session.envs {
        for stage in env.stages() {
            if let Some(w) = crate::simulate::peak_warning(stage) {
                let w = match &stage.stage {
                    Some(s) if env.is_pipeline() => format!("stage {}: {w}", s.name),
                    _ => w,
                };
                out.note(format!("{}: warning: {w}", env.name));
                reporter.event(Event::Warning {
                    environment: Some(env.name.clone()),
                    stack: None,
                    change: None,
                    message: w,
                });
            }
        }
    }
}

/// The waves deployed in turn through the session ([`rollout::run`]); `None` on Ctrl-C.
fn in_waves(
    session: &Session,
    waves: &[Wave],
    opts: &Options,
    out: Output,
    reporter: &super::event::Reporter,
    inflight: &InFlight,
) -> Option<Vec<EnvOutcome>> {
    let deploy = |envs: &[crate::config::Environment]| {
        session.each_of_until_interrupted(envs, |clients, env| {
            let (inflight, opts) = (inflight.clone(), opts.clone());
            async move {
                super::environment(&clients, env, Mode::Deploy, &opts, reporter, &inflight).await
            }
        })
    };
    // Every target of a wave watched at once (a bake each, not one per round of
    // --concurrency); the first that stops the rollout ends the others' watches.
    let watch = |envs: &[crate::config::Environment], bake| {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let stop = &stop;
        session.all_of_until_interrupted(envs, |clients, env| async move {
            rollout::watch(&clients, env, bake, stop).await
        })
    };
    let done = rollout::run(waves, opts.resume, |n| out.note(n), deploy, watch)?;
    // In the command line's order, as every other command reports its environments.
    let mut done = done;
    let mut ordered = Vec::with_capacity(done.len());
    for env in &session.envs {
        if let Some(at) = done.iter().position(|o| o.environment == env.name) {
            ordered.push(done.remove(at));
        }
    }
    Some(ordered)
}
