//! `qfleet simulate ENV --load SPEC --tune`: the cheapest scaling settings that meet the goal
//! under that load in every run of the assumptions' range, each candidate simulated.
//!
//! Candidates (EC2 and Fargate workers): the target (the derived one and 0.5, 0.7, 0.9), two
//! scale-in settings (qfleet's default, and a brisker one), the metric (SQS's one-minute, or
//! for EC2 the high-resolution one, its publisher's monthly cost prorated to the run); for
//! each, the file's `min` and `max` when they meet the goal, else the smallest `max` above
//! the file's (with its `min`) and the smallest `min` (with `max` raised to it when needed),
//! found by an exponential then a binary search, assuming more workers never do worse; every
//! value printed is a run that met the goal. Cheapest first, by the run's on-demand cost.

use super::model::{Fleet, Params, ScaleIn};
use super::{Assumptions, advice, range, run_result};
use crate::config::Environment;
use crate::config::schema::WorkerKind;
use crate::error::{Result, Usage};
use serde::Serialize;

/// The most instances or tasks a candidate is tried with.
const MAX_COUNT: u64 = 1_000;

/// A scale-in setting tried.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub(super) struct ScaleInSetting {
    pub(super) percent: u64,
    pub(super) below: f64,
    pub(super) minutes: u64,
    pub(super) cooldown: u64,
}

/// qfleet's default, and a brisker one (more per step, sooner); both keep below ÷ (1 −
/// percent) under 1, so that a step never crosses the target.
pub(super) const SCALE_INS: [ScaleInSetting; 2] = [
    ScaleInSetting {
        percent: 10,
        below: 0.75,
        minutes: 10,
        cooldown: 300,
    },
    ScaleInSetting {
        percent: 20,
        below: 0.7,
        minutes: 5,
        cooldown: 180,
    },
];

/// One set of settings that met the goal, and what its run cost.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub(super) struct Choice {
    pub(super) target: f64,
    pub(super) min: u64,
    pub(super) max: u64,
    pub(super) scale_in: ScaleInSetting,
    pub(super) high_resolution: bool,
    /// The worst p99 of the range's runs, seconds.
    pub(super) p99: Option<u64>,
    /// The run's on-demand cost (the high-resolution publisher's prorated in); `None`
    /// without a price.
    pub(super) cost_usd: Option<f64>,
    /// The stack-file lines to paste.
    pub(super) lines: String,
}

/// What `--tune` found.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub(super) struct Tuning {
    /// Every setting found to meet the goal, cheapest first.
    pub(super) choices: Vec<Choice>,
    /// The runs simulated (each across the range).
    pub(super) candidates_simulated: usize,
    /// Why nothing was found, when nothing was.
    pub(super) reason: Option<String>,
}

/// Tunes `env`'s scaling under the assumptions' load.
pub(super) fn tune(env: &Environment, a: &Assumptions) -> Result<Tuning> {
    let spec = &env.spec;
    if spec.workers.kind == WorkerKind::Lambda {
        return Err(Usage::TuneLambda {
            env: env.name.clone(),
        }
        .into());
    }
    if env.is_pipeline() {
        return Err(Usage::TunePipeline {
            env: env.name.clone(),
        }
        .into());
    }
    let goal = super::goal_of(env, a).ok_or_else(|| Usage::TuneNoGoal {
        env: env.name.clone(),
    })?;
    let base = super::params(env, a)?;
    let arrivals = a.load.arrivals(base.duration, a.seed);
    let (min0, max0) = match &base.fleet {
        Fleet::Ec2 { min, max, .. } | Fleet::Fargate { min, max, .. } => (*min, *max),
        Fleet::Lambda { .. } => (0, 0),
    };
    let mut targets = vec![env.backlog_target(), 0.5, 0.7, 0.9];
    targets
        .iter_mut()
        .for_each(|t| *t = (*t * 100.0).round() / 100.0);
    targets.sort_by(f64::total_cmp);
    targets.dedup();
    let metrics: &[bool] =
        if spec.workers.kind == WorkerKind::Ec2 && !spec.region.starts_with("us-gov-") {
            &[false, true]
        } else {
            &[false]
        };
    let mut simulated = 0usize;
    let mut choices = Vec::new();
    for &high_resolution in metrics {
        for scale_in in SCALE_INS {
            for &target in &targets {
                let mut try_counts = |min: u64, max: u64| -> Option<Choice> {
                    simulated += 1;
                    let p = with(&base, target, min, max, scale_in, high_resolution);
                    let (o, runs) = range::run(&p, &arrivals, Some(goal));
                    let r = run_result::build(env, a, &p, o, runs);
                    (r.goal.met == Some(true)).then(|| Choice {
                        target,
                        min,
                        max,
                        scale_in,
                        high_resolution,
                        p99: r.range.iter().filter_map(|x| x.p99).max(),
                        cost_usd: r.cost.usd.map(|c| {
                            c + if high_resolution {
                                advice::HIGH_RESOLUTION_MONTHLY_USD * p.duration as f64
                                    / (30.0 * 86_400.0)
                            } else {
                                0.0
                            }
                        }),
                        lines: lines(env, target, min, max, scale_in, high_resolution),
                    })
                };
                if let Some(c) = try_counts(min0, max0) {
                    choices.push(c);
                    continue;
                }
                if let Some(c) = smallest(max0 + 1, &mut |m| try_counts(min0, m)) {
                    choices.push(c);
                }
                if let Some(c) = smallest(min0 + 1, &mut |m| try_counts(m, max0.max(m))) {
                    choices.push(c);
                }
            }
        }
    }
    choices.sort_by(|x, y| {
        x.cost_usd
            .unwrap_or(f64::MAX)
            .total_cmp(&y.cost_usd.unwrap_or(f64::MAX))
            .then(x.max.cmp(&y.max))
    });
    let reason = choices.is_empty().then(|| {
        format!(
            "no candidate meets the {goal} s goal under this load within {MAX_COUNT} workers: the goal is too close to the processing time, or the load arrives faster than {MAX_COUNT} workers process it"
        )
    });
    Ok(Tuning {
        choices,
        candidates_simulated: simulated,
        reason,
    })
}

/// `base` with these settings.
fn with(base: &Params, t: f64, lo: u64, hi: u64, s: ScaleInSetting, hires: bool) -> Params {
    let mut p = base.clone();
    let step = ScaleIn::Step {
        percent: s.percent,
        below: s.below,
        minutes: s.minutes,
        cooldown: s.cooldown,
    };
    match &mut p.fleet {
        Fleet::Ec2 {
            min,
            max,
            target,
            scale_in,
            high_resolution,
            ..
        } => {
            (*min, *max, *target, *scale_in, *high_resolution) = (lo, hi, t, step, hires);
        }
        Fleet::Fargate {
            min,
            max,
            target,
            scale_in,
            ..
        } => {
            (*min, *max, *target, *scale_in) = (lo, hi, t, step);
        }
        Fleet::Lambda { .. } => {}
    }
    p
}

/// The smallest count from `lo` up to [`MAX_COUNT`] whose run meets the goal: doubling steps
/// until one does, then a binary search below it (more workers never do worse, assumed; the
/// value returned is always a run that met it).
fn smallest(lo: u64, meets: &mut dyn FnMut(u64) -> Option<Choice>) -> Option<Choice> {
    if lo > MAX_COUNT {
        return None;
    }
    let (mut fail, mut step) = (lo - 1, 1u64);
    let (mut hi, mut best) = loop {
        let m = (fail + step).min(MAX_COUNT);
        if let Some(c) = meets(m) {
            break (m, c);
        }
        if m == MAX_COUNT {
            return None;
        }
        fail = m;
        step *= 2;
    };
    while fail + 1 < hi {
        let mid = fail + (hi - fail) / 2;
        match meets(mid) {
            Some(c) => {
                hi = mid;
                best = c;
            }
            None => fail = mid,
        }
    }
    Some(best)
}

/// The stack-file lines of a choice. For a target of a stack file (`targets`), its workers go
/// under its own entry (`targets.N.workers`); scaling is the file's, shared by every target,
/// so it is shown only when it differs from the file's, saying so.
fn lines(
    env: &Environment,
    target: f64,
    min: u64,
    max: u64,
    s: ScaleInSetting,
    hires: bool,
) -> String {
    let mut scaling = format!("scaling:\n  target_backlog_per_instance: {target}\n");
    if hires {
        scaling.push_str("  metric: high_resolution\n");
    }
    if s != SCALE_INS[0] {
        scaling.push_str(&format!(
            "  scale_in: {{percent: {}, below: {}, minutes: {}, cooldown: {}s}}\n",
            s.percent, s.below, s.minutes, s.cooldown
        ));
    }
    let Some(t) = &env.target else {
        return format!("workers:\n  min: {min}\n  max: {max}\n{scaling}");
    };
    let mut out = format!(
        "targets:  # its own entry, targets.{}\n  - name: {}\n    workers:\n      min: {min}\n      max: {max}\n",
        t.index, t.name
    );
    // The candidates' targets are the file's rounded to hundredths (see `tune`).
    let same = (target - (env.backlog_target() * 100.0).round() / 100.0).abs() < 1e-9
        && !hires
        && s == SCALE_INS[0];
    if !same {
        out.push_str("# the file's, for every target (a target cannot set its own scaling):\n");
        out.push_str(&scaling);
    }
    out
}

/// The text of a tuning: the cheapest choice's lines, then every choice with its cost.
pub(super) fn text(name: &str, t: &Tuning) -> String {
    let mut s = String::new();
    let Some(best) = t.choices.first() else {
        return format!(
            "{name}: {} ({} candidates simulated)\n",
            t.reason.as_deref().unwrap_or("nothing found"),
            t.candidates_simulated
        );
    };
    s.push_str(&format!(
        "{name}: the cheapest settings that meet the goal in every run of the range ({} candidates simulated), to paste into the stack file (max_latency_seconds and seconds_per_message stay: a target given wins, the goal keeps its alarm):\n\n",
        t.candidates_simulated
    ));
    for l in best.lines.lines() {
        s.push_str(&format!("  {l}\n"));
    }
    s.push('\n');
    let usd = |c: Option<f64>| c.map_or("-".into(), |u| format!("${u:.4}"));
    let rows = t.choices.iter().map(|c| {
        vec![
            c.target.to_string(),
            c.min.to_string(),
            c.max.to_string(),
            format!(
                "{} %, below {} × target, {} min, {} s",
                c.scale_in.percent, c.scale_in.below, c.scale_in.minutes, c.scale_in.cooldown
            ),
            if c.high_resolution {
                "high_resolution".into()
            } else {
                "sqs".into()
            },
            c.p99.map_or("-".into(), |v| format!("{v} s")),
            usd(c.cost_usd),
        ]
    });
    s.push_str(&crate::output::table(
        &[
            "target",
            "min",
            "max",
            "scale-in",
            "metric",
            "worst p99",
            "cost",
        ],
        rows,
    ));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envs(yaml: &str) -> Vec<Environment> {
        crate::config::parse(std::path::PathBuf::from("stacks/orders.yaml"), yaml.into())
            .unwrap()
            .expand()
    }

    #[test]
    fn a_target_s_lines_go_under_its_own_entry_and_shared_scaling_is_said_so() {
        let base = "region: eu-west-1\nlab: true\nscaling: {target_backlog_per_instance: 0.7}\n";
        let one = envs(base);
        assert_eq!(
            lines(&one[0], 0.5, 2, 9, SCALE_INS[0], false),
            "workers:\n  min: 2\n  max: 9\nscaling:\n  target_backlog_per_instance: 0.5\n"
        );
        let targets = envs(&format!(
            "{base}targets:\n  - name: a\n  - name: b\n    region: us-east-1\n"
        ));
        // The file's own target: only the workers, under targets.1.
        assert_eq!(
            lines(&targets[1], 0.7, 2, 9, SCALE_INS[0], false),
            "targets:  # its own entry, targets.1\n  - name: b\n    workers:\n      min: 2\n      max: 9\n"
        );
        // Another target: the scaling too, as the file's for every target.
        let other = lines(&targets[1], 0.5, 2, 9, SCALE_INS[1], true);
        assert!(
            other.contains(
                "# the file's, for every target (a target cannot set its own scaling):\nscaling:\n  target_backlog_per_instance: 0.5\n  metric: high_resolution\n  scale_in:"
            ),
            "{other}"
        );
        // Pasted under a target, the lines parse as that target's.
        let pasted = format!(
            "{base}targets:\n  - name: a\n{}",
            lines(&targets[1], 0.7, 2, 9, SCALE_INS[0], false)
                .lines()
                .skip(1)
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        );
        let again = envs(&pasted);
        assert_eq!(
            (again[1].spec.workers.min, again[1].spec.workers.max),
            (2, 9)
        );
    }
}
