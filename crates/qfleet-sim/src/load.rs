//! The `--load SPEC` grammar: when messages arrive. Terms joined with `+` add up:
//!
//! | term | arrivals |
//! |---|---|
//! | `steady:RATE` | RATE messages per second, minute or hour (`10/s`, `600/m`, `36000/h`) |
//! | `poisson:RATE` | random arrivals at RATE on average: a Poisson process, seeded by `--seed` |
//! | `burst:N@T` | N messages at once, T after the start (`5000@60s`, `200@2m`) |
//! | `daily:PEAK` | a daily curve: 0 at midnight (the start), PEAK at noon, a raised cosine |
//! | `csv:FILE` | one arrival per line: seconds after the start (`12.5`), optional `,COUNT` |
//!
//! `steady:` and `daily:` spread their rate deterministically: a rate of 2.5/s brings 2, 3, 2,
//! 3… messages in successive seconds. Evenly spaced arrivals understate queueing (no two
//! messages ever arrive close together); `poisson:` draws each second's count at random
//! (exponential, the Poisson process), from a generator seeded by the run's seed, so a run is
//! still repeatable for a given seed.

use crate::config::duration;
use crate::error::{Error, Result};
use std::path::Path;

/// One term of a load.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// Messages per second, constant.
    Steady(f64),
    /// Messages per second on average, a Poisson process.
    Poisson(f64),
    /// `count` messages at second `at`.
    Burst { count: u64, at: u64 },
    /// Peak messages per second at noon, 0 at midnight, on average: a Poisson process whose
    /// rate follows the day.
    Daily(f64),
    /// Arrivals read from a file: (second, count), sorted by second.
    Csv(Vec<(u64, u64)>),
}

/// The arrivals of a run: the sum of its terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub spec: String,
    pub terms: Vec<Term>,
}

/// What the grammar accepts, for error messages.
pub const GRAMMAR: &str = "steady:RATE (10/s, 600/m, 36000/h; evenly spaced, which understates queueing), poisson:RATE (random arrivals at RATE on average, seeded by --seed), burst:N@T (5000@60s), daily:PEAK (random arrivals, 50/s on average at noon), csv:FILE (one arrival per line: seconds[,count]); join terms with +";

fn bad(spec: &str, why: impl std::fmt::Display) -> Error {
    Error::Load {
        spec: spec.to_string(),
        why: why.to_string(),
        grammar: GRAMMAR,
    }
}

/// Parses a rate: `10/s`, `600/m`, `36000/h` (a bare number is per second).
fn rate(spec: &str, text: &str) -> Result<f64> {
    let (num, per) = match text.split_once('/') {
        Some((n, "s")) => (n, 1.0),
        Some((n, "m")) => (n, 60.0),
        Some((n, "h")) => (n, 3_600.0),
        Some((_, unit)) => {
            return Err(bad(
                spec,
                format!("`{unit}` is not a rate unit (s, m or h)"),
            ));
        }
        None => (text, 1.0),
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v / per),
        _ => Err(bad(
            spec,
            format!("`{text}` is not a rate (a number ≥ 0, then /s, /m or /h)"),
        )),
    }
}

/// Parses a `--load` value; `base` is where a relative `csv:` path is looked up.
pub fn parse(spec: &str, base: &Path) -> Result<Load> {
    let mut terms = Vec::new();
    if spec.trim().is_empty() {
        return Err(bad(spec, "it is empty"));
    }
    for term in spec.split('+') {
        let term = term.trim();
        let Some((kind, arg)) = term.split_once(':') else {
            return Err(bad(spec, format!("`{term}` has no kind (KIND:VALUE)")));
        };
        terms.push(match kind {
            "steady" => Term::Steady(rate(spec, arg)?),
            "poisson" => Term::Poisson(rate(spec, arg)?),
            "daily" => Term::Daily(rate(spec, arg)?),
            "burst" => {
                let (n, at) = arg.split_once('@').ok_or_else(|| {
                    bad(spec, format!("`{term}` needs a time: burst:N@T (5000@60s)"))
                })?;
                let count = n
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| bad(spec, format!("`{n}` is not a whole number of messages")))?;
                let at = duration::parse(at).ok_or_else(|| {
                    bad(spec, format!("`{at}` is not a duration (60, 60s, 2m, 1h)"))
                })?;
                Term::Burst { count, at: at.0 }
            }
            "csv" => Term::Csv(read_csv(spec, &base.join(arg))?),
            other => {
                return Err(bad(spec, format!("`{other}` is not a kind of load")));
            }
        });
    }
    Ok(Load {
        spec: spec.to_string(),
        terms,
    })
}

/// One arrival per line: seconds after the start, optionally `,count`; `#` comments, blank
/// lines and a header line (`seconds,count`) are skipped.
fn read_csv(spec: &str, path: &Path) -> Result<Vec<(u64, u64)>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad(spec, format!("cannot read {}: {e}", path.display())))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cells = line.split(',').map(str::trim);
        let first = cells.next().unwrap_or_default();
        let second = cells.next();
        let Ok(at) = first.parse::<f64>() else {
            if rows.is_empty() && i == 0 {
                continue; // a header
            }
            return Err(bad(
                spec,
                format!(
                    "{} line {}: `{first}` is not seconds after the start",
                    path.display(),
                    i + 1
                ),
            ));
        };
        if !at.is_finite() || at < 0.0 {
            return Err(bad(
                spec,
                format!("{} line {}: `{first}` is negative", path.display(), i + 1),
            ));
        }
        let count = match second {
            None | Some("") => 1,
            Some(c) => c.parse::<u64>().map_err(|_| {
                bad(
                    spec,
                    format!(
                        "{} line {}: `{c}` is not a whole number of messages",
                        path.display(),
                        i + 1
                    ),
                )
            })?,
        };
        rows.push((at.floor() as u64, count));
    }
    if rows.is_empty() {
        return Err(bad(spec, format!("{} holds no arrival", path.display())));
    }
    rows.sort_by_key(|r| r.0);
    Ok(rows)
}

/// Over what a run's cost is counted a day (`Load::period`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Period {
    /// A daily curve: the run is the day.
    Day,
    /// A rate with no period of its own (`steady:`, `poisson:`, with or without a burst):
    /// held all day, the fleet as over the run's second half for the rest of it.
    Held,
    /// Bursts or a CSV alone: the run, then the rest of the day at rest.
    Once,
    /// `--duration` given: that long, repeated through the day.
    Given(u64),
}

impl Period {
    /// How the day is counted, in words (the cost's `period`).
    pub fn words(self) -> String {
        match self {
            Period::Day => "a day of the daily curve".to_string(),
            Period::Held => {
                "a day of the load held, the fleet as over the run's second half for the rest of the day"
                    .to_string()
            }
            Period::Once => "the load once, then the rest of the day at rest".to_string(),
            Period::Given(d) => format!("the {d} s run (--duration) repeated through the day"),
        }
    }
}

impl Load {
    /// Over what a day's cost is counted: `--duration` when given, else the load's own
    /// period (a day for `daily:`; a rate held all day; bursts and CSVs once a day).
    pub fn period(&self, duration_given: Option<u64>) -> Period {
        if let Some(d) = duration_given {
            return Period::Given(d);
        }
        if self.terms.iter().any(|t| matches!(t, Term::Daily(_))) {
            Period::Day
        } else if self
            .terms
            .iter()
            .any(|t| matches!(t, Term::Steady(_) | Term::Poisson(_)))
        {
            Period::Held
        } else {
            Period::Once
        }
    }

    /// The busiest rate the load holds, messages a second: its steady and Poisson rates, and
    /// a daily curve's peak; `None` for bursts and CSVs alone, which hold no rate.
    pub fn sustained_rate(&self) -> Option<f64> {
        let mut rate = None;
        for t in &self.terms {
            if let Term::Steady(r) | Term::Poisson(r) | Term::Daily(r) = t {
                rate = Some(rate.unwrap_or(0.0) + r);
            }
        }
        rate
    }

    /// The same mean arrivals as random ones: `steady:` as `poisson:` at its rate; the
    /// other terms are random already (`poisson:`, `daily:`) or arrive as given (a burst is
    /// all at once; a CSV is a trace).
    pub fn randomised(&self) -> Load {
        let terms: Vec<Term> = self
            .terms
            .iter()
            .map(|t| match t {
                Term::Steady(r) => Term::Poisson(*r),
                other => other.clone(),
            })
            .collect();
        Load {
            spec: spec_of(&terms),
            terms,
        }
    }

    /// The load raised by `factor` (1.1: 10 % more): rates, bursts and a CSV's counts (a
    /// count's fraction carried to the next).
    pub fn raised(&self, factor: f64) -> Load {
        let terms: Vec<Term> = self
            .terms
            .iter()
            .map(|t| match t {
                Term::Steady(r) => Term::Steady(r * factor),
                Term::Poisson(r) => Term::Poisson(r * factor),
                Term::Daily(r) => Term::Daily(r * factor),
                Term::Burst { count, at } => Term::Burst {
                    count: (*count as f64 * factor).ceil() as u64,
                    at: *at,
                },
                Term::Csv(rows) => {
                    let mut carry = 0.0;
                    Term::Csv(
                        rows.iter()
                            .map(|&(at, n)| {
                                carry += n as f64 * factor;
                                let whole = carry.floor();
                                carry -= whole;
                                (at, whole as u64)
                            })
                            .collect(),
                    )
                }
            })
            .collect();
        Load {
            spec: spec_of(&terms),
            terms,
        }
    }

    /// The run's length when `--duration` is not given: an hour, a day for a daily curve,
    /// and at least 30 minutes past the last burst or CSV arrival.
    pub fn default_duration(&self) -> u64 {
        let mut d = 3_600;
        for t in &self.terms {
            d = d.max(match t {
                Term::Steady(_) | Term::Poisson(_) => 3_600,
                Term::Daily(_) => 86_400,
                Term::Burst { at, .. } => at + 1_800,
                Term::Csv(rows) => rows.last().map_or(0, |r| r.0) + 1_800,
            });
        }
        d
    }

    /// Arrivals per second for `duration` seconds; `seed` draws the random terms (`poisson:`),
    /// each from its own stream.
    pub fn arrivals(&self, duration: u64, seed: u64) -> Vec<u64> {
        let n = duration as usize;
        let mut out = vec![0u64; n];
        for (i, t) in self.terms.iter().enumerate() {
            match t {
                Term::Steady(r) => spread(&mut out, |_| *r),
                Term::Poisson(r) => poisson(&mut out, *r, arrival_seed(seed, i)),
                // Random arrivals whose mean follows the day: each second's count a
                // Poisson draw of that second's rate (evenly spaced arrivals would hide the
                // queueing, as `steady:` does).
                Term::Daily(peak) => {
                    let mut rng = fastrand::Rng::with_seed(arrival_seed(seed, i));
                    for (s, slot) in out.iter_mut().enumerate() {
                        let phase = (s % 86_400) as f64 / 86_400.0;
                        let mean = peak * (1.0 - (2.0 * std::f64::consts::PI * phase).cos()) / 2.0;
                        *slot += poisson_count(&mut rng, mean);
                    }
                }
                Term::Burst { count, at } => {
                    if let Some(slot) = out.get_mut(*at as usize) {
                        *slot += count;
                    }
                }
                Term::Csv(rows) => {
                    for (at, count) in rows {
                        if let Some(slot) = out.get_mut(*at as usize) {
                            *slot += count;
                        }
                    }
                }
            }
        }
        out
    }
}

/// A load's terms written back in the grammar (a CSV by its arrivals' count).
fn spec_of(terms: &[Term]) -> String {
    let rate = |r: &f64| format!("{}/s", (r * 1_000.0).round() / 1_000.0);
    terms
        .iter()
        .map(|t| match t {
            Term::Steady(r) => format!("steady:{}", rate(r)),
            Term::Poisson(r) => format!("poisson:{}", rate(r)),
            Term::Daily(r) => format!("daily:{}", rate(r)),
            Term::Burst { count, at } => format!("burst:{count}@{at}s"),
            Term::Csv(rows) => format!("csv:({} arrivals)", rows.iter().map(|r| r.1).sum::<u64>()),
        })
        .collect::<Vec<_>>()
        .join("+")
}

/// The seed of the `index`-th term's arrivals: apart from the processing times' generator
/// (seeded by `seed` itself) and from the other terms'.
fn arrival_seed(seed: u64, index: usize) -> u64 {
    seed ^ 0x9E37_79B9_7F4A_7C15_u64.wrapping_mul(index as u64 + 1)
}

/// Adds a Poisson process of `rate` messages a second as the model sees it: the count of each
/// second, an independent Poisson draw of mean `rate` (the model's clock takes a second's
/// arrivals at its start). A draw costs the same whatever the rate: exact (Knuth's
/// multiplication of uniforms) up to [`EXACT_POISSON`] a second, above it the normal
/// approximation with its continuity correction (mean and variance `rate`), whose error at
/// that size is far below the one-second clock's.
fn poisson(out: &mut [u64], rate: f64, seed: u64) {
    if rate <= 0.0 {
        return;
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    for slot in out.iter_mut() {
        *slot += poisson_count(&mut rng, rate);
    }
}

/// The largest mean drawn exactly.
const EXACT_POISSON: f64 = 30.0;

fn poisson_count(rng: &mut fastrand::Rng, mean: f64) -> u64 {
    if mean <= EXACT_POISSON {
        let limit = (-mean).exp();
        let (mut k, mut p) = (0u64, rng.f64());
        while p > limit {
            k += 1;
            p *= rng.f64();
        }
        return k;
    }
    // Box–Muller: 1 − U is in (0, 1], so its logarithm is finite.
    let z = (-2.0 * (1.0 - rng.f64()).ln()).sqrt() * (std::f64::consts::TAU * rng.f64()).cos();
    (mean + mean.sqrt() * z + 0.5).floor().max(0.0) as u64
}

/// Adds a rate to the seconds, carrying the fractions: the total after `s` seconds is the
/// integral of the rate, rounded down.
fn spread(out: &mut [u64], rate: impl Fn(u64) -> f64) {
    let mut carry = 0.0;
    for (s, slot) in out.iter_mut().enumerate() {
        carry += rate(s as u64);
        let whole = carry.floor();
        *slot += whole as u64;
        carry -= whole;
    }
}
