//! A deploy or plan of every environment a command line names, at most `--concurrency` at a
//! time, each with its own question on a terminal; Ctrl-C stops waiting and says what each had
//! done and which change sets were left. Its end is [`super::summary`].

use super::event::Event;
use super::event::Reporter;
use super::summary::{Collected, Finished, Printing};
use super::{InFlight, Mode, Options};
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
    let done = session.each_until_interrupted(|clients, env| {
        let (reporter, inflight, opts) = (&reporter, inflight.clone(), opts.clone());
        async move { super::environment(&clients, env, mode, &opts, reporter, &inflight).await }
    });
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
