//! `qfleet dev`: a worker run on this machine with a stage's settings, the reference worker by
//! default. It takes the environment's real jobs and records them in the job table as the
//! fleet does. It runs with the caller's credentials. On Ctrl-C (or SIGTERM) the worker stops
//! and releases the messages it holds at once, as it does on an instance.

use crate::config::Environment;
use crate::error::{Error, Exit, Refusal, Result};
use crate::output::Output;
use crate::session::Session;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The variables only an instance of the group can use: a machine that is not one has no
/// lifecycle to follow (the worker would wait for an `InService` state that never comes) and
/// no group to signal.
const INSTANCE_ONLY: &[&str] = &[
    "QFLEET_ASG_NAME",
    "QFLEET_LIFECYCLE_HOOK",
    "QFLEET_LAUNCH_HOOK",
    "QFLEET_SIGNAL_STACK",
    "QFLEET_SIGNAL_RESOURCE",
];

/// What `qfleet dev` runs.
pub(crate) struct Dev {
    /// The command and its arguments; empty: the reference worker.
    pub(crate) command: Vec<String>,
    /// Run on a protected environment too.
    pub(crate) on_protected: bool,
}

/// Runs the command with `stage`'s worker variables (of the environment `env`) until it ends
/// or is interrupted.
pub(crate) fn run(
    session: &Session,
    env: &Environment,
    stage: &Environment,
    dev: Dev,
    out: Output,
) -> Result<Exit> {
    out.text_only("dev runs a worker in the foreground and prints its lines, as text; use `qfleet env ENV -o json` for the settings as JSON")?;
    if env.termination_protection() && !dev.on_protected {
        return Err(Refusal::DevOnProtected {
            env: env.name.clone(),
        }
        .into());
    }
    let (_, mut variables) = super::read(session, env, stage)?;
    variables.retain(|k, _| !INSTANCE_ONLY.contains(&k.as_str()));
    let (program, args, dir) = match dev.command.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec(), None),
        None => {
            let dir = reference_worker()?;
            let worker = dir.join("qfleet_worker.py");
            (
                "python3".to_string(),
                vec![worker.display().to_string()],
                Some(dir),
            )
        }
    };
    let shown = std::iter::once(program.as_str())
        .chain(args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    out.note(format!(
        "{}: running `{shown}` with the workers' settings{}: it takes the environment's real jobs from {}; Ctrl-C stops it, and the messages it holds go back to the queue",
        env.name,
        stage
            .pipeline_stage()
            .map(|s| format!(" of stage {}", s.name))
            .unwrap_or_default(),
        variables
            .get("QFLEET_QUEUE_URL")
            .map_or("its queue", String::as_str)
    ));
    for (name, from) in &stage.spec.workers.secrets {
        out.note(format!(
            "{name}: a secret the fleet reads from {from}; not set here: export it yourself if the worker needs it"
        ));
    }
    let ended = session.block_on(wait(&program, &args, &variables));
    if let Some(d) = dir {
        let _ = std::fs::remove_dir_all(d);
    }
    ended
}

/// The reference worker and the job table's module, written to a directory of their own.
fn reference_worker() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("qfleet-dev-{}", std::process::id()));
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|e| {
            Error::aws(format!(
                "writing the reference worker to {}: {e}",
                dir.display()
            ))
        })
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::aws(format!(
            "writing the reference worker to {}: {e}",
            dir.display()
        ))
    })?;
    write(
        "qfleet_worker.py",
        &qfleet_runtime::inline_shared(qfleet_runtime::WORKER),
    )?;
    write("qfleet_jobs.py", qfleet_runtime::JOBS)?;
    Ok(dir)
}

/// Runs the program and waits for it; on a signal to qfleet, the program gets SIGINT (a
/// terminal's Ctrl-C reaches both) and is waited for, as it releases what it holds.
async fn wait(program: &str, args: &[String], vars: &BTreeMap<String, String>) -> Result<Exit> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .envs(vars)
        .spawn()
        .map_err(|e| {
            Error::aws(format!(
                "cannot start `{program}`: {e}{}",
                match program {
                    "python3" => " (the reference worker needs python3 with boto3 on PATH; or give your own command after --)",
                    _ => "",
                }
            ))
        })?;
    let status = tokio::select! {
        s = child.wait() => s,
        signal = crate::error::interrupted() => {
            if let Some(pid) = child.id() {
                let _ = tokio::process::Command::new("kill")
                    .args(["-s", "INT", &pid.to_string()])
                    .status()
                    .await;
            }
            let _ = child.wait().await;
            return Ok(Exit::Interrupted(signal));
        }
    };
    let status = status.map_err(|e| Error::aws(format!("waiting for `{program}`: {e}")))?;
    match status.code() {
        Some(0) => Ok(Exit::Ok),
        Some(code) => Err(Error::aws(format!("`{program}` exited with status {code}"))),
        None => Ok(Exit::Interrupted(crate::error::Signal::Interrupt)),
    }
}
