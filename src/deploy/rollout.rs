//! A deploy of a stack file's targets in waves (`targets.N.wave`, `rollout.bake`): wave 1 (the
//! canary) first; then, once every target of a wave is deployed, its alarms are watched for the
//! bake, and the next wave goes only on positive evidence that none fired. A failed deploy, an
//! alarm in ALARM or alarms that could not be read stop the rollout: the later waves are not
//! touched, and `deploy --resume` goes on from where it stopped, passing the waves that are
//! deployed already (nothing to change) without watching them again.
//!
//! The alarms watched are the environment's own, in its data stack (named by CloudFormation
//! `STACK-LOGICALID-SUFFIX`): a dead letter, the oldest message older than
//! `queue.oldest_message_alarm` or than the latency goal, the function's errors and throttles.
//! An alarm fires only once its evaluation periods breach
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html>),
//! so a bake shorter than 5 minutes is a warning of validate's. INSUFFICIENT_DATA is no alarm:
//! a new queue has no metric data yet, and SQS publishes its metrics only while a queue is
//! active (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html>).

use super::EnvOutcome;
use crate::aws::Clients;
use crate::aws::monitoring::{self, Alarm};
use crate::config::Environment;
use crate::error::{Error, Exit, Refusal};
use std::time::Duration;

/// One wave: its number and its environments, in the command line's order.
#[derive(Debug, Clone)]
pub struct Wave {
    pub number: u32,
    pub envs: Vec<Environment>,
}

/// The environments grouped by wave, lowest first (an environment that is not a target is in
/// wave 1). One wave: no rollout, every environment at once as ever.
pub fn waves(envs: &[Environment]) -> Vec<Wave> {
    let mut out: Vec<Wave> = Vec::new();
    let mut numbers: Vec<u32> = envs.iter().map(wave_of).collect();
    numbers.sort_unstable();
    numbers.dedup();
    for number in numbers {
        out.push(Wave {
            number,
            envs: envs
                .iter()
                .filter(|e| wave_of(e) == number)
                .cloned()
                .collect(),
        });
    }
    out
}

fn wave_of(env: &Environment) -> u32 {
    env.target.as_ref().map_or(1, |t| t.wave)
}

/// How long a wave's alarms are watched: the longest bake of its environments' files.
pub fn bake_of(wave: &Wave) -> Duration {
    Duration::from_secs(
        wave.envs
            .iter()
            .map(|e| e.spec.rollout.bake.0)
            .max()
            .unwrap_or(0),
    )
}

/// What watching one environment's alarms found.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// No alarm of the environment was in ALARM, at any look.
    Quiet,
    /// These alarms were in ALARM.
    Firing(Vec<Alarm>),
    /// The alarms could not be read: no evidence either way.
    Unreadable(String),
}

/// The environment's alarms in ALARM now (its data stack's).
pub async fn look(clients: &Clients, env: &Environment) -> Verdict {
    let prefix = format!("{}-", env.data_stack_name());
    match monitoring::alarms(&clients.cloudwatch, &[prefix]).await {
        Ok(alarms) => {
            let firing: Vec<Alarm> = alarms.into_iter().filter(|a| a.state == "ALARM").collect();
            if firing.is_empty() {
                Verdict::Quiet
            } else {
                Verdict::Firing(firing)
            }
        }
        Err(e) => Verdict::Unreadable(e.to_string()),
    }
}

/// How often a bake looks: a tenth of the bake, from 1 s to 30 s (an alarm's period is 60 s).
pub fn every(bake: Duration) -> Duration {
    (bake / 10).clamp(Duration::from_secs(1), Duration::from_secs(30))
}

/// Watches the environment's alarms for `bake`: at once, every [`every`] and at the end; the
/// first alarm in ALARM, or the first look that cannot read them, ends the watch.
pub async fn watch(clients: &Clients, env: &Environment, bake: Duration) -> Verdict {
    let end = tokio::time::Instant::now() + bake;
    loop {
        let verdict = look(clients, env).await;
        if verdict != Verdict::Quiet {
            return verdict;
        }
        let now = tokio::time::Instant::now();
        if now >= end {
            return Verdict::Quiet;
        }
        tokio::time::sleep(every(bake).min(end - now)).await;
    }
}

/// `2m 30s`, `10m`, `45s`: a bake as the notes say it.
pub fn say(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 60, s % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m {s}s"),
    }
}

/// Deploys the waves in turn: each wave's targets at once (`deploy`), then, unless it is the
/// last, their alarms watched for the bake (`watch`); a failure, a firing alarm or unreadable
/// alarms stop the rollout, and the later waves' targets are reported not deployed. `resume`
/// passes a wave with nothing to change without watching it. `note` tells the progress. The
/// outcomes wave by wave; `None` when `deploy` or `watch` is interrupted.
pub fn run(
    waves: &[Wave],
    resume: bool,
    note: impl Fn(String),
    mut deploy: impl FnMut(&[Environment]) -> Option<Vec<EnvOutcome>>,
    mut watch: impl FnMut(&[Environment], Duration) -> Option<Vec<Verdict>>,
) -> Option<Vec<EnvOutcome>> {
    let mut done: Vec<EnvOutcome> = Vec::new();
    let total = waves.len();
    for (i, wave) in waves.iter().enumerate() {
        let n = wave.number;
        note(format!(
            "wave {n} ({} of {total}): {}",
            i + 1,
            names(&wave.envs)
        ));
        let outcomes = deploy(&wave.envs)?;
        let start = done.len();
        done.extend(outcomes);
        let rest: Vec<&Environment> = waves[i + 1..].iter().flat_map(|w| &w.envs).collect();
        if rest.is_empty() {
            break;
        }
        if let Some(by) = unfinished(&done[start..]) {
            note(format!("the rollout stopped at wave {n}: {by}"));
            done.extend(rest.iter().map(|e| not_deployed(e, n, &by)));
            break;
        }
        let changed = done[start..].iter().any(changed);
        if !changed && resume {
            note(format!(
                "wave {n}: deployed already, passed without watching its alarms (--resume)"
            ));
            continue;
        }
        // A wave with nothing to change is not baked again, but its alarms must be quiet now.
        let bake = if changed {
            bake_of(wave)
        } else {
            Duration::ZERO
        };
        note(format!(
            "wave {n}: watching the alarms of {} for {}",
            names(&wave.envs),
            say(bake)
        ));
        let verdicts = watch(&wave.envs, bake)?;
        let mut stopped_by = None;
        // The outcomes and the verdicts are in the wave's order.
        let watched = done[start..].iter_mut().zip(&wave.envs).zip(verdicts);
        for ((o, env), v) in watched {
            let why = match v {
                Verdict::Quiet => continue,
                Verdict::Firing(alarms) => alarms
                    .iter()
                    .map(|a| match &a.reason {
                        Some(r) => format!("alarm {} is in ALARM ({r})", a.name),
                        None => format!("alarm {} is in ALARM", a.name),
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                Verdict::Unreadable(e) => format!(
                    "its alarms could not be read, and a wave goes on only once its alarms are known to be quiet ({e})"
                ),
            };
            stopped_by.get_or_insert_with(|| format!("{}'s alarms", env.name));
            stop(o, env, n, why);
        }
        if let Some(by) = stopped_by {
            note(format!("the rollout stopped at wave {n}: {by}"));
            done.extend(rest.iter().map(|e| not_deployed(e, n, &by)));
            break;
        }
        note(format!("wave {n}: no alarm fired"));
    }
    Some(done)
}

fn names(envs: &[Environment]) -> String {
    envs.iter()
        .map(|e| e.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a wave's deploy does not let the rollout go on: a target failed, or was declined.
fn unfinished(outcomes: &[EnvOutcome]) -> Option<String> {
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.ok)
        .map(|o| o.environment.as_str())
        .collect();
    let declined: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.ok && o.cancelled)
        .map(|o| o.environment.as_str())
        .collect();
    match (failed.is_empty(), declined.is_empty()) {
        (false, _) => Some(format!("{} failed", failed.join(", "))),
        (true, false) => Some(format!(
            "{} was not deployed (answered no)",
            declined.join(", ")
        )),
        (true, true) => None,
    }
}

/// Whether the deploy changed a stack of the environment (a wave that did is baked).
fn changed(o: &EnvOutcome) -> bool {
    o.stacks.iter().any(|s| {
        matches!(
            s.action,
            crate::deploy::Action::Created
                | crate::deploy::Action::Updated
                | crate::deploy::Action::ProtectionUpdated
        )
    })
}

/// The outcome of a deployed target whose alarms stopped the rollout.
fn stop(o: &mut EnvOutcome, env: &Environment, wave: u32, why: String) {
    let e = Error::from(Refusal::RolloutStopped {
        wave,
        why,
        file: env.source.display(),
    });
    o.ok = false;
    o.exit_code = Exit::Refused;
    o.error = Some(e.report());
}

/// The outcome of a target the rollout did not reach.
fn not_deployed(env: &Environment, wave: u32, by: &str) -> EnvOutcome {
    let e = Error::from(Refusal::NotDeployed {
        wave,
        by: by.to_string(),
    });
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

#[cfg(test)]
mod tests;
