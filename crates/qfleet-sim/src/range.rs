//! Runs across what AWS leaves unsaid: the model run at every end of every assumption's
//! range that applies (`rules::Unknowns::range`), on both cores, and the run that did worst,
//! which the report shows. A run is judged met only when every one of them met the goal;
//! the report names the assumption that decided.

use super::model::{self, Fleet, Outcome, Params, ScaleIn};
use super::rules::Unknowns;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One run of the range, as the report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RangeRun {
    /// The assumption moved from its nominal value ("nominal": none).
    pub assumption: &'static str,
    pub unknowns: Unknowns,
    /// The p99 latency of every message (unfinished ones at their age), seconds.
    pub p99: Option<u64>,
    /// The p99 of the messages that arrived once the fleet had caught up after its first
    /// scale-out; `None` when it never did.
    pub held_p99: Option<u64>,
    /// Against the goal (`None` without one).
    pub met: Option<bool>,
}

/// The worst outcome of the runs across the range, and every run's summary in order.
pub type Ranged = (Outcome, Vec<RangeRun>);

/// The runs of `p` under `arrivals` across the range: the worst outcome (the highest p99,
/// then the highest p99 once held, then the first) and every run's summary, nominal first.
pub fn run(p: &Params, arrivals: &[u64], goal: Option<f64>) -> Ranged {
    // Without stopping at a miss every run goes to its end: never `None`.
    runs(&[(p, arrivals)], goal, false)
        .pop()
        .flatten()
        .unwrap_or_default()
}

/// As [`run`] when every run of the range meets `goal`, else `None`, found as soon as one
/// run has missed it for sure (the others stop there): a search needs no more of a miss.
pub fn run_if_met(p: &Params, arrivals: &[u64], goal: f64) -> Option<Ranged> {
    runs(&[(p, arrivals)], Some(goal), true).pop().flatten()
}

/// As [`run_if_met`] for several runs in order (each its parameters and arrivals), all of
/// their runs of the range shared between both cores: the results up to the first that
/// misses the goal, which ends the list (`None`); the runs after it are not needed, and not
/// made (those under way stop), nor are the rest of its own.
pub fn run_each_if_met(each: &[(&Params, &[u64])], goal: f64) -> Vec<Option<Ranged>> {
    runs(each, Some(goal), true)
}

/// The runs of the range of what may miss, the summaries named in order: a function's mapping
/// reads no alarm (one run, its own).
fn points(p: &Params) -> Vec<(&'static str, Unknowns)> {
    let (tracking, high_resolution) = match &p.fleet {
        Fleet::Ec2 {
            scale_in,
            high_resolution,
            ..
        } => (*scale_in == ScaleIn::Tracking, *high_resolution),
        Fleet::Fargate { scale_in, .. } => (*scale_in == ScaleIn::Tracking, false),
        Fleet::Lambda { .. } => return vec![("nominal", p.unknowns)],
    };
    Unknowns::range(tracking, high_resolution)
}

/// Every run of every one of `each` across its range, taken in order by two threads (one
/// spawned) as each is free: the results of `each` in order. When `stop_at_miss`, up to the
/// first whose range missed `goal` (`None`, the last): a run stops as soon as it has missed
/// for sure (`model::Missed`), or once a run of an earlier one, or of its own, has missed.
/// Each run is the model's alone (its parameters, arrivals and goal), whichever thread
/// makes it and whenever: the results are those of the runs one after the other.
fn runs(each: &[(&Params, &[u64])], goal: Option<f64>, stop_at_miss: bool) -> Vec<Option<Ranged>> {
    let points: Vec<Vec<(&'static str, Unknowns)>> = each.iter().map(|(p, _)| points(p)).collect();
    let missed: Vec<Option<model::Missed>> = each
        .iter()
        .map(|(p, arrivals)| {
            goal.filter(|_| stop_at_miss)
                .map(|g| model::Missed::of(g, arrivals, p.duration))
        })
        .collect();
    // (which of `each`, which point of its range), in order.
    let jobs: Vec<(usize, usize)> = points
        .iter()
        .enumerate()
        .flat_map(|(i, pts)| (0..pts.len()).map(move |j| (i, j)))
        .collect();
    // The first of `each` known to have missed (`usize::MAX`: none yet): it and those after
    // it need no more runs.
    let first_miss = AtomicUsize::new(usize::MAX);
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done: Vec<(usize, Outcome)> = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(i, j)) = jobs.get(k) else { break };
            let unwanted = || first_miss.load(Ordering::Relaxed) <= i;
            if unwanted() {
                continue;
            }
            let (p, arrivals) = each[i];
            let u = points[i][j].1;
            let o = model::run_until(
                &Params {
                    unknowns: u,
                    ..p.clone()
                },
                arrivals,
                missed[i],
                &unwanted,
            );
            // A run stopped for another's miss is not this one's result.
            if unwanted() {
                continue;
            }
            if stop_at_miss && summary("", u, &o, goal).met == Some(false) {
                first_miss.fetch_min(i, Ordering::Relaxed);
                continue;
            }
            done.push((k, o));
        }
        done
    };
    let done: Vec<(usize, Outcome)> = if jobs.len() > 1 {
        // Two cores: the runs shared between this thread and one of its own.
        std::thread::scope(|scope| {
            let other = scope.spawn(work);
            let mut mine = work();
            // A panic in the other thread is a bug of the model's: propagated as it is.
            mine.extend(
                other
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            );
            mine
        })
    } else {
        work()
    };
    let mut outcomes: Vec<Option<Outcome>> = jobs.iter().map(|_| None).collect();
    for (k, o) in done {
        outcomes[k] = Some(o);
    }
    let first_miss = first_miss.into_inner();
    let mut outcomes = outcomes.into_iter();
    let mut out = Vec::new();
    for (i, pts) in points.iter().enumerate() {
        if i >= first_miss {
            out.push(None);
            break;
        }
        // Every run of one before the first miss ran to its end.
        let outcomes: Vec<Outcome> = outcomes
            .by_ref()
            .take(pts.len())
            .map(Option::unwrap_or_default)
            .collect();
        out.push(Some(worst(pts, outcomes, goal)));
    }
    out
}

/// Of the runs across the range, the worst outcome (the highest p99, then the highest p99
/// once held, then the first) and every run's summary, in order.
fn worst(points: &[(&'static str, Unknowns)], outcomes: Vec<Outcome>, goal: Option<f64>) -> Ranged {
    let runs: Vec<RangeRun> = points
        .iter()
        .zip(&outcomes)
        .map(|((name, u), o)| summary(name, *u, o, goal))
        .collect();
    let worst = runs
        .iter()
        .enumerate()
        .max_by_key(|(i, r)| {
            (
                outcomes[*i].never_at(99.0),
                r.p99.unwrap_or(0),
                r.held_p99.unwrap_or(u64::MAX),
                std::cmp::Reverse(*i),
            )
        })
        .map_or(0, |(i, _)| i);
    let worst = outcomes.into_iter().nth(worst).unwrap_or_default();
    (worst, runs)
}

fn summary(name: &'static str, u: Unknowns, o: &Outcome, goal: Option<f64>) -> RangeRun {
    let p99 = o.percentile_all(99.0);
    RangeRun {
        assumption: name,
        unknowns: u,
        p99,
        held_p99: o.settled_percentile(99.0),
        met: goal
            .map(|g| !o.missed_early && !o.never_at(99.0) && p99.is_none_or(|v| v as f64 <= g)),
    }
}
