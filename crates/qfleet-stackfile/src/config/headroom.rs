//! The target a latency goal asks for: a backlog per worker with headroom, so that the p99
//! latency, not the mean, meets `scaling.max_latency_seconds`.
//!
//! The policy's metric counts the busy ((visible + in flight) ÷ workers in service): for a
//! fleet that keeps up it is the share of its workers that are busy, its utilisation. A
//! standing queue saves no worker (a fleet that holds one processes no faster), so the
//! target is a utilisation below one message per worker, the highest at which the wait
//! stays short enough:
//!
//! - the wait of a multi-worker queue with random (Poisson) arrivals is Erlang C's:
//!   P(wait > t) = C(c, a) · e^(−(c − a)·t ÷ s) for c workers, offered load a = c × u and mean
//!   processing time s (exponential processing times, a conservative stand-in for the
//!   simulator's uniform spread: more variable times wait longer);
//! - a message meets the goal G when its wait is at most G − s × (1 + 0.2), its longest
//!   processing time at the simulator's default spread, so the target is the largest
//!   utilisation u with P(wait > G − 1.2 s) ≤ 1 %;
//! - c is the workers the expected rate needs: `scaling.expected_peak` when set, else 30 %
//!   of `workers.max`, the smallest load qfleet's guarantee is stated for (a larger fleet
//!   holds the same utilisation with shorter waits);
//! - within 0.1 and 0.9: above 0.9 Poisson noise alone would keep the scale-out alarm busy.
//!
//! One message per worker at a time (the reference worker and container workers take one);
//! `qfleet simulate --messages-per-instance` judges other workers with the same target.

/// The processing-time spread the derivation allows for.
pub(super) const SPREAD: f64 = 0.2;
/// The share of messages allowed over the goal.
const OVER: f64 = 0.01;
/// The share of `workers.max` whose load the target is derived at, without an expected peak.
const REFERENCE_SHARE: f64 = 0.3;
/// The target's bounds.
pub(super) const LOWEST: f64 = 0.1;
pub(super) const HIGHEST: f64 = 0.9;

/// Erlang C: the probability that a message waits at all, c workers, offered load a < c.
pub fn erlang_c(c: u64, a: f64) -> f64 {
    if c == 0 || a >= c as f64 {
        return 1.0;
    }
    // Erlang B by its recursion (stable for large c), then C from B.
    let mut b = 1.0;
    for n in 1..=c {
        b = a * b / (n as f64 + a * b);
    }
    let u = a / c as f64;
    b / (1.0 - u * (1.0 - b))
}

/// P(wait > t) in an M/M/c queue: c workers at utilisation u, mean processing time s.
pub fn wait_beyond(c: u64, u: f64, s: f64, t: f64) -> f64 {
    if u >= 1.0 {
        return 1.0;
    }
    let a = c as f64 * u;
    erlang_c(c, a) * (-(c as f64 - a) * t.max(0.0) / s).exp()
}

/// Whether c workers at utilisation u meet `goal` for all but [`OVER`] of the messages.
pub fn holds(c: u64, u: f64, goal: f64, s: f64) -> bool {
    let slack = goal - s * (1.0 + SPREAD);
    slack > 0.0 && wait_beyond(c, u, s, slack) <= OVER
}

/// The highest utilisation (to a hundredth) at which c workers meet the goal, within
/// [`LOWEST`] and [`HIGHEST`]; `LOWEST` when even that misses it (the goal is too close to
/// the processing time: `qfleet simulate` says so with numbers).
fn utilisation(c: u64, goal: f64, s: f64) -> f64 {
    let c = c.max(1);
    let mut best = LOWEST;
    let mut u = LOWEST;
    while u <= HIGHEST + 1e-9 {
        if holds(c, u, goal, s) {
            best = u;
        } else {
            break;
        }
        u = ((u + 0.01) * 100.0).round() / 100.0;
    }
    best
}

/// The workers the target is derived for: those `rate` messages a second keep busy at the
/// target (a fixed point: more workers, a higher target), or without a rate 30 % of `max`.
pub(super) fn reference_workers(goal: f64, s: f64, max: u64, rate: Option<f64>) -> u64 {
    match rate {
        Some(r) => {
            let mut c = 1u64;
            for _ in 0..20 {
                let u = utilisation(c, goal, s);
                let next = ((r * s / u).ceil() as u64).max(1);
                if next == c {
                    break;
                }
                c = next;
            }
            c
        }
        None => ((max as f64 * REFERENCE_SHARE).round() as u64).max(1),
    }
}

/// The target for a goal: [`utilisation`] at [`reference_workers`].
pub fn target(goal: f64, s: f64, max: u64, rate: Option<f64>) -> f64 {
    utilisation(reference_workers(goal, s, max, rate), goal, s)
}
