//! A deploy of a stack file's targets in waves (`targets.N.wave`, `rollout.bake`): wave 1 (the
//! canary) first; then, once every target of a wave is deployed, its alarms are watched for the
//! bake, and the next wave goes only on positive evidence that none fired. A failed deploy, an
//! alarm in ALARM, alarms that could not be read or an alarm not OK at the bake's end stop the
//! rollout: the later waves are not touched.
//!
//! The bake is measured from the change: a wave deployed now is baked for `rollout.bake` from
//! now; a wave with nothing to change (a deploy run again, after a stop or an interruption) for
//! what is left of the bake since its stacks' last change finished (their newest `*_COMPLETE`
//! stack event; unknown or under way: a whole bake), with one look at least. `deploy --resume`
//! passes a wave with nothing to change whose bake has run out without a look (the operator
//! has dealt with what stopped it), with [`CLOCK_SKEW`] to spare, and never one whose bake has
//! not.
//!
//! The alarms watched are the environment's own: the `AWS::CloudWatch::Alarm` resources of its
//! data stack (a dead letter, the oldest message older than `queue.oldest_message_alarm` or
//! than the latency goal, the function's errors and throttles), read by name; a data stack
//! without alarms, or an alarm CloudWatch does not know, is no evidence. An alarm fires only
//! once its evaluation periods breach
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html>),
//! so validate warns about a bake shorter than the slowest alarm needs
//! ([`crate::config::alarm_window`]). A new alarm is INSUFFICIENT_DATA until
//! it is first evaluated
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-alarm.html>);
//! qfleet's alarms treat missing data as not breaching, so an idle queue's alarm is OK: an
//! alarm still INSUFFICIENT_DATA at the bake's last look has not been evaluated, and the wave
//! does not go on.

use crate::aws;
use crate::aws::Alarm;
use crate::aws::Clients;
use crate::config::Environment;
use crate::error::Error;
use std::time::{Duration, SystemTime};

/// What a rollout needs to know of a target's deploy, and how it marks one it stops.
pub(crate) trait Deployed: Sized {
    /// The environment's name.
    fn environment(&self) -> &str;
    /// Deployed (or declined) without an error.
    fn ok(&self) -> bool;
    /// The question was answered no: not deployed.
    fn declined(&self) -> bool;
    /// The deploy changed a stack of the environment (a wave that did is baked from now).
    fn changed(&self) -> bool;
    /// Marks a deployed target whose wave's alarms stopped the rollout, with why.
    fn stopped(&mut self, e: &Error);
    /// The outcome of a target the rollout did not reach.
    fn not_reached(env: &Environment, e: &Error) -> Self;
}

/// One wave: its number and its environments, in the command line's order.
#[derive(Debug, Clone)]
pub(crate) struct Wave {
    number: u32,
    envs: Vec<Environment>,
}

/// The environments grouped by wave, lowest first (an environment that is not a target is in
/// wave 1). One wave: no rollout, every environment at once as ever.
pub(crate) fn waves(envs: &[Environment]) -> Vec<Wave> {
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

/// How long a wave's alarms are watched: the longest bake of its environments
/// ([`crate::config::bake`]).
fn bake_of(wave: &Wave) -> Duration {
    Duration::from_secs(wave.envs.iter().map(crate::config::bake).max().unwrap_or(0))
}

/// How a wave is baked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bake {
    /// The wave's bake ([`bake_of`]).
    length: Duration,
    /// Whether its deploy changed a stack: baked from now; else from the stacks' last change.
    changed: bool,
    /// `--resume`: a wave with nothing to change whose bake has run out is passed unlooked.
    resume: bool,
}

/// What watching one environment's alarms found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// Every alarm was read at every look, none in ALARM, each OK at the last.
    Quiet,
    /// These alarms were in ALARM.
    Firing(Vec<Alarm>),
    /// The alarms could not be read, or the data stack names none: no evidence either way.
    Unreadable(String),
    /// At the bake's last look these alarms were not OK (INSUFFICIENT_DATA: never evaluated).
    Unsettled(Vec<Alarm>),
    /// `--resume`: nothing changed, and the bake ran out (at this time, RFC 3339) since the
    /// stacks' last change finished (with [`CLOCK_SKEW`] to spare), or is 0s: why, in words;
    /// not looked at.
    Passed(String),
    /// The watch ended early: another target of the wave stopped the rollout.
    Cut,
}

impl Verdict {
    /// The verdict of a target that stands for a whole AWS Organizations unit, from each of
    /// its accounts' (`111122223333`, its verdict): the worst of them, naming the account of
    /// each alarm (their names are alike in every account). An alarm in ALARM first, then
    /// alarms that could not be read, then alarms not OK at the end; passed (`--resume`) only
    /// when every account was; no account at all is no evidence.
    fn of_accounts(each: Vec<(String, Verdict)>) -> Verdict {
        if each.is_empty() {
            return Verdict::Unreadable(
                "no account of its unit has its stacks: no alarm to watch".into(),
            );
        }
        let named = |account: &str, alarms: &[Alarm]| -> Vec<Alarm> {
            alarms
                .iter()
                .map(|a| Alarm {
                    name: format!("{} in account {account}", a.name),
                    ..a.clone()
                })
                .collect()
        };
        let mut firing = Vec::new();
        let mut unreadable = Vec::new();
        let mut unsettled = Vec::new();
        let (mut passed, mut cut) = (Vec::new(), false);
        for (account, v) in &each {
            match v {
                Verdict::Firing(a) => firing.extend(named(account, a)),
                Verdict::Unreadable(e) => unreadable.push(format!("account {account}: {e}")),
                Verdict::Unsettled(a) => unsettled.extend(named(account, a)),
                Verdict::Passed(why) => passed.push(why.clone()),
                Verdict::Cut => cut = true,
                Verdict::Quiet => {}
            }
        }
        match () {
            _ if !firing.is_empty() => Verdict::Firing(firing),
            _ if !unreadable.is_empty() => Verdict::Unreadable(unreadable.join("; ")),
            _ if !unsettled.is_empty() => Verdict::Unsettled(unsettled),
            _ if cut => Verdict::Cut,
            _ if passed.len() == each.len() => Verdict::Passed(passed.swap_remove(0)),
            _ => Verdict::Quiet,
        }
    }

    /// Whether this verdict stops the rollout.
    fn stops(&self) -> bool {
        matches!(
            self,
            Verdict::Firing(_) | Verdict::Unreadable(_) | Verdict::Unsettled(_)
        )
    }
}

/// The names of the environment's alarms: the alarms of its data stack, by physical id.
async fn alarm_names(clients: &Clients, stack: &str) -> Result<Vec<String>, String> {
    match aws::stack_resources(&clients.cfn, stack).await {
        Ok(Some(resources)) => {
            let names: Vec<String> = resources
                .values()
                .filter(|r| r.resource_type == "AWS::CloudWatch::Alarm" && r.is_live())
                .filter_map(|r| r.physical_id.clone())
                .collect();
            if names.is_empty() {
                Err(format!("stack {stack} has no alarm to watch"))
            } else {
                Ok(names)
            }
        }
        Ok(None) => Err(format!("stack {stack} does not exist")),
        Err(e) => Err(e.to_string()),
    }
}

/// The state of each alarm named (and of no other); an alarm CloudWatch does not know is an
/// error.
async fn look(clients: &Clients, names: &[String]) -> Result<Vec<Alarm>, String> {
    let mut alarms = aws::alarms_named(&clients.cloudwatch, names)
        .await
        .map_err(|e| e.to_string())?;
    alarms.retain(|a| names.contains(&a.name));
    let missing: Vec<&str> = names
        .iter()
        .filter(|n| !alarms.iter().any(|a| &a.name == *n))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Ok(alarms)
    } else {
        Err(format!(
            "CloudWatch does not know the alarm {} of the data stack",
            missing.join(", ")
        ))
    }
}

/// When the environment's stacks last finished changing: the latest of their own `*_COMPLETE`
/// events (CREATE_COMPLETE, UPDATE_COMPLETE, UPDATE_ROLLBACK_COMPLETE, …). Not the stacks'
/// LastUpdatedTime or CreationTime: those are when an operation began, and a fleet's update
/// runs for many minutes before its new workers are in service. `None` when a stack or its
/// events could not be read, or its newest stack event is not a completion (an operation
/// under way): the bake is then whole.
async fn last_change(clients: &Clients, stacks: &[String]) -> Option<SystemTime> {
    let mut latest = None;
    for stack in stacks {
        // The newest page: a finished operation's completion is the stack's newest event.
        let events = aws::stack_events_since(&clients.cfn, stack, None)
            .await
            .ok()?;
        // A stack's own events carry its name (a stack set's instance is read by its id).
        let name = crate::aws::stack_name_of(stack);
        let own = events
            .iter()
            .rev()
            .find(|e| e.is_stack_event() && e.logical_id == name)?;
        if !own.status.as_str().ends_with("_COMPLETE") {
            return None;
        }
        let at = aws_smithy_types::DateTime::from_str(
            &own.timestamp,
            aws_smithy_types::date_time::Format::DateTime,
        )
        .ok()?;
        let at = SystemTime::try_from(at).ok()?;
        latest = latest.max(Some(at));
    }
    latest
}

/// How far this machine's clock may run ahead of AWS's before `--resume` passes a wave early:
/// the SDK corrects its own requests for skew, so no request fails on it, and AWS documents no
/// bound for a runner's clock; its developer blog speaks of "about 15 minutes" as the skew a
/// request is refused at without correction
/// (<https://aws.amazon.com/blogs/developer/clock-skew-correction/>).
const CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// What is left of a bake of `length` at `now` that began at `since` (unknown: all of it).
fn left(length: Duration, since: Option<SystemTime>, now: SystemTime) -> Duration {
    since.map_or(length, |t| {
        (t + length).duration_since(now).unwrap_or(Duration::ZERO)
    })
}

/// How often a bake looks: a tenth of the bake, from 1 s to 30 s (an alarm's period is 60 s).
fn every(bake: Duration) -> Duration {
    (bake / 10).clamp(Duration::from_secs(1), Duration::from_secs(30))
}

/// Watches the environment's alarms for what is left of the bake ([`Bake`]): at once, every
/// [`every`] and at the end; the first alarm in ALARM, or the first look that cannot read
/// them, ends the watch, and at the end every alarm must be OK. A verdict that stops the
/// rollout sets `stop`, and a watch that finds `stop` set ends ([`Verdict::Cut`]).
async fn watch(
    clients: &Clients,
    env: &Environment,
    bake: Bake,
    stop: &std::sync::atomic::AtomicBool,
) -> Verdict {
    watch_stacks(clients, &env.stack_names(), bake, stop).await
}

/// [`watch`] on these stacks (names or ids, the data stack first): a stack set's instances.
async fn watch_stacks(
    clients: &Clients,
    stacks: &[String],
    bake: Bake,
    stop: &std::sync::atomic::AtomicBool,
) -> Verdict {
    let verdict = watch_alarms(clients, stacks, bake, stop).await;
    if verdict.stops() {
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    verdict
}

async fn watch_alarms(
    clients: &Clients,
    stacks: &[String],
    bake: Bake,
    stop: &std::sync::atomic::AtomicBool,
) -> Verdict {
    let remaining = if bake.changed {
        bake.length
    } else {
        let since = last_change(clients, stacks).await;
        let now = SystemTime::now();
        if bake.resume {
            if bake.length.is_zero() {
                return Verdict::Passed("its bake is 0s".into());
            }
            // Passed only when the bake ran out even if this clock is CLOCK_SKEW ahead.
            if let Some(t) = since
                && left(bake.length + CLOCK_SKEW, Some(t), now).is_zero()
            {
                let end = aws_smithy_types::DateTime::from(t + bake.length);
                return Verdict::Passed(format!(
                    "its bake ran out at {}",
                    end.fmt(aws_smithy_types::date_time::Format::DateTime)
                        .unwrap_or_else(|_| "?".into())
                ));
            }
        }
        left(bake.length, since, now)
    };
    let Some(data) = stacks.first() else {
        return Verdict::Unreadable("no data stack to read the alarms of".into());
    };
    let names = match alarm_names(clients, data).await {
        Ok(names) => names,
        Err(e) => return Verdict::Unreadable(e),
    };
    let end = tokio::time::Instant::now() + remaining;
    loop {
        let alarms = match look(clients, &names).await {
            Ok(alarms) => alarms,
            Err(e) => return Verdict::Unreadable(e),
        };
        let firing: Vec<Alarm> = alarms
            .iter()
            .filter(|a| a.state == "ALARM")
            .cloned()
            .collect();
        if !firing.is_empty() {
            return Verdict::Firing(firing);
        }
        let now = tokio::time::Instant::now();
        if now >= end {
            let unsettled: Vec<Alarm> = alarms.into_iter().filter(|a| a.state != "OK").collect();
            return if unsettled.is_empty() {
                Verdict::Quiet
            } else {
                Verdict::Unsettled(unsettled)
            };
        }
        tokio::time::sleep(every(bake.length).min(end - now)).await;
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Verdict::Cut;
        }
    }
}

/// Watches target `env`'s alarms for the bake, where its stacks are: under its own names, as
/// its stack sets' instances (watched by their stacks' ids), or, for a target that stands for
/// a whole AWS Organizations unit, in each account of the unit where it has stacks at once,
/// each as a target of its own ([`Verdict::of_accounts`]).
pub(crate) async fn watch_target(
    aws: &crate::aws::Aws,
    clients: &Clients,
    env: &Environment,
    bake: Bake,
    stop: &std::sync::atomic::AtomicBool,
) -> Verdict {
    if !env.through_stack_sets() {
        return watch(clients, env, bake, stop).await;
    }
    if !env.whole_unit() {
        return match instance_stacks(aws, env).await {
            Ok(stacks) => watch_stacks(clients, &stacks, bake, stop).await,
            Err(e) => Verdict::Unreadable(e),
        };
    }
    let accounts = match super::accounts::accounts_of(aws, env).await {
        Ok(accounts) => accounts,
        Err(e) => return Verdict::Unreadable(e.to_string()),
    };
    let each = futures::future::join_all(accounts.iter().map(|account| async move {
        let clients = crate::session::clients_for(aws, account).await;
        let verdict = match instance_stacks(aws, account).await {
            Ok(stacks) => watch_stacks(&clients, &stacks, bake, stop).await,
            Err(e) => Verdict::Unreadable(e),
        };
        let id = account
            .target
            .as_ref()
            .and_then(|t| t.account.clone())
            .unwrap_or_default();
        (id, verdict)
    }))
    .await;
    Verdict::of_accounts(each)
}

/// The stack ids of a target's stack-set instances (its data stack's first), read in the
/// account and region that hold the stack sets.
async fn instance_stacks(
    aws: &crate::aws::Aws,
    env: &Environment,
) -> std::result::Result<Vec<String>, String> {
    let at = super::stack_names::stacks_of(aws, env)
        .await
        .map_err(|e| e.to_string())?;
    match &at.stack_set {
        Some(t) => t.stack_ids(env),
        None => Err(format!("{}: not deployed through StackSets", env.name)),
    }
}

/// `2m 30s`, `10m`, `45s`: a bake as the notes say it.
fn say(d: Duration) -> String {
    crate::config::duration::say(d.as_secs())
}

/// Deploys the waves in turn: each wave's targets at once (`deploy`), then, unless it is the
/// last, their alarms watched for the bake (`watch`, [`Bake`]); a failure, a firing alarm,
/// unreadable alarms or an alarm not OK at the end stop the rollout, and the later waves'
/// targets are reported not deployed. `note` tells the progress. The outcomes wave by wave;
/// `None` when `deploy` or `watch` is interrupted.
pub(crate) fn run<O: Deployed>(
    waves: &[Wave],
    resume: bool,
    note: impl Fn(String),
    mut deploy: impl FnMut(&[Environment]) -> Option<Vec<O>>,
    mut watch: impl FnMut(&[Environment], Bake) -> Option<Vec<Verdict>>,
) -> Option<Vec<O>> {
    let mut done: Vec<O> = Vec::new();
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
        let bake = Bake {
            length: bake_of(wave),
            changed: done[start..].iter().any(O::changed),
            resume,
        };
        note(if bake.changed {
            format!(
                "wave {n}: watching the alarms of {} for {}",
                names(&wave.envs),
                say(bake.length)
            )
        } else {
            format!(
                "wave {n}: nothing to change; watching the alarms of {} for what is left of the {} bake since their stacks last changed, one look at least{}",
                names(&wave.envs),
                say(bake.length),
                if resume {
                    " (--resume: a target whose bake has run out is passed)"
                } else {
                    ""
                }
            )
        });
        let verdicts = watch(&wave.envs, bake)?;
        let mut stopped_by = None;
        let mut passed = 0;
        // The outcomes and the verdicts are in the wave's order.
        let watched = done[start..].iter_mut().zip(&wave.envs).zip(verdicts);
        for ((o, env), v) in watched {
            let why = match v {
                Verdict::Quiet | Verdict::Cut => continue,
                Verdict::Passed(at) => {
                    note(format!(
                        "wave {n}: {} passed without a look at its alarms: deployed already, {at} (--resume)",
                        env.name
                    ));
                    passed += 1;
                    continue;
                }
                Verdict::Firing(alarms) => alarms
                    .iter()
                    .map(|a| match &a.reason {
                        Some(r) => format!("alarm {} is in ALARM ({r})", a.name),
                        None => format!("alarm {} is in ALARM", a.name),
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                Verdict::Unsettled(alarms) => format!(
                    "at the end of the bake, {} not OK ({}): an alarm that has not been evaluated yet is no evidence; run the deploy again once {} OK, or give rollout.bake more time",
                    if alarms.len() == 1 {
                        "an alarm is"
                    } else {
                        "alarms are"
                    },
                    alarms
                        .iter()
                        .map(|a| format!("{} is {}", a.name, a.state))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if alarms.len() == 1 {
                        "it is"
                    } else {
                        "they are"
                    },
                ),
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
        if passed < wave.envs.len() {
            note(format!("wave {n}: no alarm fired"));
        }
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
fn unfinished<O: Deployed>(outcomes: &[O]) -> Option<String> {
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.ok())
        .map(Deployed::environment)
        .collect();
    let declined: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.ok() && o.declined())
        .map(Deployed::environment)
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

/// The outcome of a deployed target whose alarms stopped the rollout.
fn stop<O: Deployed>(o: &mut O, env: &Environment, wave: u32, why: String) {
    let e = Error::from(crate::placement::errors::Refusal::RolloutStopped {
        wave,
        why,
        file: env.source.display(),
    });
    o.stopped(&e);
}

/// The outcome of a target the rollout did not reach.
fn not_deployed<O: Deployed>(env: &Environment, wave: u32, by: &str) -> O {
    let e = Error::from(crate::placement::errors::Refusal::NotDeployed {
        wave,
        by: by.to_string(),
    });
    O::not_reached(env, &e)
}

#[cfg(test)]
mod tests;
