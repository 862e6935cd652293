//! Advice when a run misses its goal: for each setting that moves the scaling (EC2:
//! `workers.max`, `workers.min`, the backlog target, a warm pool, the high-resolution
//! metric; Fargate: `workers.max`, `workers.min`, the backlog target, never a warm pool nor
//! the high-resolution metric, which Fargate services do not have; Lambda: the mapping's maximum
//! concurrency, or provisioned mode's pollers), the smallest change of it alone that meets the goal, found by simulating,
//! never guessed: every value advised is a run that met the goal.

use super::model::{self, Fleet, Params};
use super::run_result::{self, Report};
/// The advice's shape and its fixed figures live with the report that shows them.
pub use super::run_result::{Change, METRIC_SETTING};
use super::{Assumptions, rules};
use crate::config::{Environment, PollerSpec};

/// Provisioned mode's least minimum for SQS, AWS's default (`MinimumPollers`).
const MIN_POLLERS: u32 = 2;
/// The most pollers CloudFormation accepts (`MaximumPollers`).
const MAX_POLLERS: u64 = 2_000;

fn run(env: &Environment, a: &Assumptions, p: &Params, arrivals: &[u64]) -> Report {
    let (o, runs) = super::range::run(p, arrivals, super::goal_of(env, a));
    run_result::build(env, a, p, o, runs)
}

fn change(setting: &'static str, from: f64, to: f64, r: &Report) -> Change {
    Change {
        setting,
        from,
        to,
        max_latency: r.latency.max,
        cost_usd: r.cost.usd,
    }
}

/// The smallest whole value in `lo..=hi` whose run meets the goal, assuming a larger value
/// never does worse; the value found is simulated, so a wrong assumption only costs advice.
fn smallest(
    lo: u64,
    hi: u64,
    meets: &mut dyn FnMut(u64) -> Option<Report>,
) -> Option<(u64, Report)> {
    if lo > hi {
        return None;
    }
    let mut best = meets(hi)?;
    let (mut lo, mut hi) = (lo, hi);
    // hi always meets the goal.
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match meets(mid) {
            Some(r) => {
                hi = mid;
                best = r;
            }
            None => lo = mid + 1,
        }
    }
    Some((hi, best))
}

/// The most instances or tasks a change of `workers.min` or `workers.max` is tried with.
const MAX_COUNT: u64 = 1_000;

/// The count and target changes of a fleet that counts units (instances or tasks): the
/// smallest `workers.max`, the smallest `workers.min` (raising max with it: min is at most
/// max), and the largest target below the current one, in tenths, that meet the goal.
fn advise_counts(
    fleet: &Fleet,
    (min, max, target): (u64, u64, f64),
    try_fleet: &dyn Fn(Fleet) -> Option<Report>,
    out: &mut Vec<Change>,
) {
    let with = |change: &dyn Fn(&mut u64, &mut u64, &mut f64)| {
        let mut g = fleet.clone();
        if let Fleet::Ec2 {
            min, max, target, ..
        }
        | Fleet::Fargate {
            min, max, target, ..
        } = &mut g
        {
            change(min, max, target);
        }
        try_fleet(g)
    };
    if let Some((m, r)) = smallest(max + 1, MAX_COUNT, &mut |m| with(&|_, max, _| *max = m)) {
        out.push(change("workers.max", max as f64, m as f64, &r));
    }
    let raise_min = |m: u64| {
        with(&|min, max, _| {
            *min = m;
            *max = (*max).max(m);
        })
    };
    if let Some((m, r)) = smallest(min + 1, MAX_COUNT, &mut |m| raise_min(m)) {
        out.push(change("workers.min", min as f64, m as f64, &r));
    }
    let tenths = (target * 10.0).round() as u64;
    if tenths > 1 {
        let lower = |cut: u64| with(&|_, _, target| *target = (tenths - cut) as f64 / 10.0);
        if let Some((cut, r)) = smallest(1, tenths - 1, &mut |c| lower(c)) {
            out.push(change(
                "scaling.target_backlog_per_instance",
                target,
                (tenths - cut) as f64 / 10.0,
                &r,
            ));
        }
    }
}

/// The changes for a run of these arrivals (a pipeline's later stage: the completions of the
/// stage before it, as they were in the run advised on).
pub fn advise_for(
    env: &Environment,
    a: &Assumptions,
    p: &Params,
    baseline: &Report,
    arrivals: &[u64],
) -> Vec<Change> {
    if baseline.goal.met != Some(false) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let with = |f: Fleet| Params {
        fleet: f,
        ..p.clone()
    };
    let try_fleet = |f: Fleet| {
        let r = run(env, a, &with(f), arrivals);
        (r.goal.met == Some(true)).then_some(r)
    };
    match p.fleet.clone() {
        Fleet::Ec2 {
            min,
            max,
            target,
            warm_pool,
            high_resolution,
            ..
        } => {
            let f = p.fleet.clone();
            advise_counts(&f, (min, max, target), &try_fleet, &mut out);
            // A stopped warm pool, where AWS allows one (one type, no Spot) and the worker
            // waits for InService (the reference worker): the smallest MinSize that meets it.
            let w = &env.spec.workers;
            if warm_pool.is_none() && !w.mixed() && w.image.is_none() && w.user_data.is_none() {
                let mut set_pool = |m: u64| {
                    let mut g = f.clone();
                    if let Fleet::Ec2 { warm_pool, .. } = &mut g {
                        *warm_pool = Some(model::WarmPool {
                            min_size: m,
                            running: false,
                            reuse_on_scale_in: false,
                            start_time: rules::WARM_START_STOPPED,
                        });
                    }
                    try_fleet(g)
                };
                if let Some((m, r)) = smallest(0, max, &mut set_pool) {
                    out.push(change("workers.warm_pool.min_size", 0.0, m as f64, &r));
                }
            }
            // The high-resolution backlog metric (`scaling.metric: high_resolution`, from 0:
            // sqs to 1: high_resolution): simulated like the rest; its publisher's cost (about
            // $9 a month) is not in the run's cost, the text says so.
            if !high_resolution {
                let mut g = f.clone();
                if let Fleet::Ec2 {
                    high_resolution, ..
                } = &mut g
                {
                    *high_resolution = true;
                }
                if let Some(r) = try_fleet(g) {
                    out.push(change(METRIC_SETTING, 0.0, 1.0, &r));
                }
            }
        }
        Fleet::Fargate {
            min, max, target, ..
        } => {
            // An ECS service has no warm pool, and validation refuses the high-resolution
            // metric for Fargate: only the count and the target are advised.
            advise_counts(&p.fleet, (min, max, target), &try_fleet, &mut out);
        }
        Fleet::Lambda { .. } => advise_lambda(&p.fleet, &try_fleet, &mut out),
    }
    out
}

/// A function's changes: in standard mode the smallest maximum concurrency, or provisioned
/// mode at AWS's least minimum; in provisioned mode a larger maximum or minimum.
fn advise_lambda(
    fleet: &Fleet,
    try_fleet: &dyn Fn(Fleet) -> Option<Report>,
    out: &mut Vec<Change>,
) {
    match fleet.clone() {
        Fleet::Lambda {
            max_concurrency,
            pollers: None,
            ..
        } => {
            let f = fleet.clone();
            let mut set = |m: u64| {
                let mut g = f.clone();
                if let Fleet::Lambda {
                    max_concurrency, ..
                } = &mut g
                {
                    *max_concurrency = m;
                }
                try_fleet(g)
            };
            if let Some((m, r)) = smallest(max_concurrency + 1, rules::LAMBDA_MAX, &mut set) {
                out.push(change(
                    "workers.lambda.max_concurrency",
                    max_concurrency as f64,
                    m as f64,
                    &r,
                ));
            }
            // Provisioned mode instead, at AWS's least minimum (2 pollers, the least billed):
            // the smallest maximum whose faster ramp meets the goal.
            let mut provisioned = |m: u64| {
                let mut g = f.clone();
                if let Fleet::Lambda { pollers, .. } = &mut g {
                    *pollers = Some(PollerSpec {
                        minimum: MIN_POLLERS,
                        maximum: m as u32,
                    });
                }
                try_fleet(g)
            };
            if let Some((m, r)) = smallest(MIN_POLLERS.into(), MAX_POLLERS, &mut provisioned) {
                out.push(change(
                    "workers.lambda.provisioned_pollers.maximum",
                    0.0,
                    m as f64,
                    &r,
                ));
            }
        }
        Fleet::Lambda {
            pollers: Some(now), ..
        } => {
            let f = fleet.clone();
            let with = |minimum: u32, maximum: u32| {
                let mut g = f.clone();
                if let Fleet::Lambda { pollers, .. } = &mut g {
                    *pollers = Some(PollerSpec { minimum, maximum });
                }
                g
            };
            let mut set_max = |m: u64| try_fleet(with(now.minimum, m as u32));
            if let Some((m, r)) = smallest(u64::from(now.maximum) + 1, MAX_POLLERS, &mut set_max) {
                out.push(change(
                    "workers.lambda.provisioned_pollers.maximum",
                    now.maximum.into(),
                    m as f64,
                    &r,
                ));
            }
            // A minimum above the maximum raises the maximum with it.
            let mut set_min = |m: u64| try_fleet(with(m as u32, now.maximum.max(m as u32)));
            if let Some((m, r)) = smallest(u64::from(now.minimum) + 1, 200, &mut set_min) {
                out.push(change(
                    "workers.lambda.provisioned_pollers.minimum",
                    now.minimum.into(),
                    m as f64,
                    &r,
                ));
            }
        }
        _ => {}
    }
}
