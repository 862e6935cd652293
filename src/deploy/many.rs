//! A deploy or plan of every environment a command line names, at most `--concurrency` at a
//! time, each with its own question on a terminal; Ctrl-C stops waiting and says what each had
//! done and which change sets were left. Its end is [`super::summary`].

use super::event::Event;
use super::event::Reporter;
use super::summary::{Collected, Finished, Printing};
use super::{EnvOutcome, InFlight, Mode, Options};
use crate::config::Environment;
use crate::error::{Error, Interruption, Result};
use crate::output::Output;
use crate::placement::{self, Wave};
use crate::session::Session;
use std::time::Instant;

/// Deploys (or plans) every environment of `session`; `printing` says how the end is told.
pub(crate) fn all(
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
    // What the stack files made and no longer make, before anything changes: a deploy never
    // deletes one, and a target's record keeps each dropped target still there.
    let found = crate::environments::Found::of(
        session.block_on(crate::environments::retired(&session.aws, &session.envs)),
    );
    let opts = Options {
        found: found.clone(),
        together: super::quota::Together::of(&session.envs),
        ..opts
    };
    let waves = placement::waves(&session.envs);
    let done = if mode == Mode::Deploy && waves.len() > 1 {
        // This run is a rollout (of one file's waves or several files' merged): every
        // environment of it is baked, so none is deployed in express mode unasked.
        let opts = Options {
            rollout: true,
            ..opts.clone()
        };
        in_waves(session, &waves, &opts, out, &reporter, &inflight)
    } else {
        some(
            session,
            &session.envs,
            mode,
            &opts,
            out,
            &reporter,
            &inflight,
        )
    };
    let Some(outcomes) = done else {
        return Err(stopped(session, &reporter, &inflight, out));
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
    let mut finished = Finished::new(
        outcomes,
        Collected {
            events: reporter.events(),
            stacks,
        },
        printing,
        Instant::now(),
    );
    finished.found = found;
    if mode == Mode::Plan {
        finished.owner_note = crate::ownership::owner_note(&session.envs);
    }
    Ok(finished)
}

/// Ctrl-C (or SIGTERM, SIGHUP) stopped the run: where it left each environment is said at
/// once, in the run's one document, then the change sets nobody will execute are deleted
/// within the time the signal leaves ([`crate::error::time_left`]); the error ends the run
/// (its document is out already).
fn stopped(session: &Session, reporter: &Reporter, inflight: &InFlight, out: Output) -> Error {
    session.block_on(inflight.settle());
    let mut environments = crate::environments::stopped(session, reporter);
    for s in &mut environments {
        inflight.add_to(s);
    }
    let err = Error::from(Interruption::Deploy { environments });
    reporter.end_progress();
    out.error(&err);
    let cleaned = session.block_on(async {
        tokio::time::timeout(
            crate::error::time_left(),
            inflight.clean_up(|line| out.note(line)),
        )
        .await
    });
    if cleaned.is_err() {
        out.note(
            "the cleanup ran out of time: what it left is in the document (left behind), and the next deploy of each environment deletes it",
        );
    }
    err
}

/// A declared peak the fleet cannot meet (simulated offline, as validate does): said on
/// stderr, and among the environment's warnings in the JSON document.
fn peak_warnings(session: &Session, out: Output, reporter: &Reporter) {
    for env in &session.envs {
        for stage in env.stages() {
            let said = crate::simulate::peak_warning(stage).or(stage.parked_note());
            if let Some(w) = said {
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

/// The waves deployed in turn through the session ([`placement::run`]); `None` on Ctrl-C.
fn in_waves(
    session: &Session,
    waves: &[Wave],
    opts: &Options,
    out: Output,
    reporter: &super::event::Reporter,
    inflight: &InFlight,
) -> Option<Vec<EnvOutcome>> {
    let deploy =
        |envs: &[Environment]| some(session, envs, Mode::Deploy, opts, out, reporter, inflight);
    // Every target of a wave watched at once (a bake each, not one per round of
    // --concurrency); the first that stops the rollout ends the others' watches.
    let watch = |envs: &[Environment], bake| {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let stop = &stop;
        session.all_of_until_interrupted(envs, |clients, env| async move {
            placement::watch_target(&session.aws, &clients, env, bake, stop).await
        })
    };
    let done = placement::run(waves, opts.resume, |n| out.note(n), deploy, watch)?;
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

/// Deploys (or plans) these environments: the direct ones `--concurrency` at a time with
/// change sets, the targets of a file in `rollout.mode: stack_sets` through its stack sets
/// (a file's targets together, in the account and region that hold the stack sets). The
/// outcomes in `envs`' order; `None` on Ctrl-C.
pub(super) fn some(
    session: &Session,
    envs: &[Environment],
    mode: Mode,
    opts: &Options,
    out: Output,
    reporter: &Reporter,
    inflight: &InFlight,
) -> Option<Vec<EnvOutcome>> {
    let direct: Vec<Environment> = envs
        .iter()
        .filter(|e| e.deployed_directly())
        .cloned()
        .collect();
    let mut done: Vec<EnvOutcome> = if direct.is_empty() {
        Vec::new()
    } else {
        session.each_of_until_interrupted(&direct, |clients, env| {
            let (inflight, opts) = (inflight.clone(), opts.clone());
            async move {
                super::flow::environment(&clients, env, mode, &opts, reporter, &inflight).await
            }
        })?
    };
    let mut files: Vec<&std::path::Path> = Vec::new();
    for env in envs.iter().filter(|e| !e.deployed_directly()) {
        if !files.contains(&env.source.path.as_path()) {
            files.push(&env.source.path);
        }
    }
    for path in files {
        let of_file: Vec<Environment> = envs
            .iter()
            .filter(|e| !e.deployed_directly() && e.source.path == path)
            .cloned()
            .collect();
        // The file the targets came from, loaded once with them.
        let Some(file) = of_file.first().and_then(|e| e.target.as_ref()) else {
            continue;
        };
        let file = std::sync::Arc::clone(&file.file);
        let note = |n: String| out.note(format!("{}: {n}", file.name()));
        // The account that holds the stack sets, when the file names it, before anything else.
        let admin = session.block_on(placement::admin_clients(
            &session.aws,
            &file.base,
            file.name(),
        ));
        let admin = match admin {
            Ok(admin) => admin,
            Err(e) => {
                done.extend(of_file.iter().map(|env| EnvOutcome::failed(env, &e)));
                continue;
            }
        };
        // A target to protect is deployed only once its account can be acted in: its
        // protection is set there after the wave (fail closed, before anything changes).
        let of_file = if mode == Mode::Deploy && opts.yes {
            let guards =
                session.each_of_until_interrupted(&of_file, |clients, env| async move {
                    // A whole unit's accounts are found, and each guarded, once deployed.
                    match env.termination_protection() && !env.whole_unit() {
                        true => crate::ownership::check_account(&clients.sts, env).await,
                        false => Ok(()),
                    }
                })?;
            let mut reachable = Vec::new();
            for (env, guard) in of_file.into_iter().zip(guards) {
                match guard {
                    Ok(()) => reachable.push(env),
                    Err(e) => done.push(EnvOutcome::failed(&env, &e)),
                }
            }
            reachable
        } else {
            of_file
        };
        if of_file.is_empty() {
            continue;
        }
        let mut outcomes = session.block_on(async {
            tokio::select! {
                d = super::through_sets::wave(&admin, &file, &of_file, mode, opts, &note) => Some(d),
                _ = crate::error::interrupted() => None,
            }
        })?;
        if mode == Mode::Deploy {
            // The file's termination protection on the instance stacks of each target the
            // wave's operations reached (deployed, or failed part way), in the target's
            // account (after its account guard).
            let reached: Vec<Environment> = of_file
                .iter()
                .filter(|e| {
                    outcomes.iter().any(|o| {
                        o.environment == e.name
                            && (o.ok || !o.stacks.is_empty())
                            && e.termination_protection()
                    })
                })
                .cloned()
                .collect();
            let results = placement::protect_all(session, &admin, reached)?;
            for (name, result) in results {
                if let Some(o) = outcomes.iter_mut().find(|o| o.environment == name) {
                    for line in super::through_sets::protected(o, result) {
                        reporter.line(line);
                    }
                }
            }
        }
        done.extend(outcomes);
    }
    let mut ordered = Vec::with_capacity(done.len());
    for env in envs {
        if let Some(at) = done.iter().position(|o| o.environment == env.name) {
            ordered.push(done.remove(at));
        }
    }
    Some(ordered)
}

/// What a rollout in waves reads of a target's deploy ([`placement::run`]).
impl placement::Deployed for super::EnvOutcome {
    fn environment(&self) -> &str {
        &self.environment
    }

    fn ok(&self) -> bool {
        self.ok
    }

    fn declined(&self) -> bool {
        self.cancelled
    }

    fn changed(&self) -> bool {
        self.stacks.iter().any(|s| {
            matches!(
                s.action,
                super::Action::Created | super::Action::Updated | super::Action::ProtectionUpdated
            )
        })
    }

    fn stopped(&mut self, e: &crate::error::Error) {
        self.ok = false;
        self.exit_code = crate::error::Exit::Refused;
        self.error = Some(e.report());
    }

    fn not_reached(env: &Environment, e: &crate::error::Error) -> Self {
        super::EnvOutcome::failed(env, e)
    }
}
