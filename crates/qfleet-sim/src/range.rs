//! Runs across what AWS leaves unsaid: the model run at every end of every assumption's
//! range that applies (`rules::Unknowns::range`), on both cores, and the run that did worst,
//! which the report shows. A run is judged met only when every one of them met the goal;
//! the report names the assumption that decided.

use super::model::{self, Fleet, Outcome, Params, ScaleIn};
use super::rules::Unknowns;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// The runs of `p` under `arrivals` across the range: the worst outcome (the highest p99,
/// then the highest p99 once held, then the first) and every run's summary, nominal first.
pub fn run(p: &Params, arrivals: &[u64], goal: Option<f64>) -> (Outcome, Vec<RangeRun>) {
    // Without `stop_at_miss` every run goes to its end: never `None`.
    runs(p, arrivals, goal, false).unwrap_or_default()
}

/// As [`run`] when every run of the range meets `goal`, else `None`, found as soon as one
/// run has missed it for sure (the others stop there): a search needs no more of a miss.
pub fn run_if_met(p: &Params, arrivals: &[u64], goal: f64) -> Option<(Outcome, Vec<RangeRun>)> {
    runs(p, arrivals, Some(goal), true)
}

fn runs(
    p: &Params,
    arrivals: &[u64],
    goal: Option<f64>,
    stop_at_miss: bool,
) -> Option<(Outcome, Vec<RangeRun>)> {
    let missed = goal
        .filter(|_| stop_at_miss)
        .map(|g| model::Missed::of(g, arrivals, p.duration));
    let (tracking, high_resolution) = match &p.fleet {
        Fleet::Ec2 {
            scale_in,
            high_resolution,
            ..
        } => (*scale_in == ScaleIn::Tracking, *high_resolution),
        Fleet::Fargate { scale_in, .. } => (*scale_in == ScaleIn::Tracking, false),
        // A function's mapping reads no alarm: one run.
        Fleet::Lambda { .. } => {
            let o = model::run_until(p, arrivals, missed);
            let summary = summary("nominal", p.unknowns, &o, goal);
            if stop_at_miss && summary.met == Some(false) {
                return None;
            }
            return Some((o, vec![summary]));
        }
    };
    let points = Unknowns::range(tracking, high_resolution);
    // Once one run has missed, the others need not run (only when stopping at a miss).
    let miss = AtomicBool::new(false);
    let one = |u: Unknowns| -> Option<Outcome> {
        if miss.load(Ordering::Relaxed) {
            return None;
        }
        let o = model::run_until(
            &Params {
                unknowns: u,
                ..p.clone()
            },
            arrivals,
            missed,
        );
        if stop_at_miss && summary("", u, &o, goal).met == Some(false) {
            miss.store(true, Ordering::Relaxed);
        }
        Some(o)
    };
    // Two cores: the runs split in halves, one on a thread of its own.
    let half = points.len().div_ceil(2);
    let (first, second) = points.split_at(half);
    let outcomes: Vec<Option<Outcome>> = std::thread::scope(|scope| {
        let other = scope.spawn(|| second.iter().map(|(_, u)| one(*u)).collect::<Vec<_>>());
        let mut mine: Vec<Option<Outcome>> = first.iter().map(|(_, u)| one(*u)).collect();
        // A panic in the other half is a bug of the model's: propagated as it is.
        mine.extend(
            other
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e)),
        );
        mine
    });
    if miss.load(Ordering::Relaxed) {
        return None;
    }
    let outcomes: Vec<Outcome> = outcomes.into_iter().flatten().collect();
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
    Some((worst, runs))
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
