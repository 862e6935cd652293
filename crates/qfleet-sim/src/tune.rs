//! `qfleet simulate ENV --load SPEC --tune`: the cheapest scaling settings whose advice holds
//! when a user takes it, each candidate simulated.
//!
//! - **The search.** Candidates (EC2 and Fargate workers): the target (the file's own, and
//!   0.5, 0.7, 0.9), the scale-in (the file's, qfleet's default and a brisker one), the metric
//!   (the file's, and for EC2 the other); for each, the smallest `workers.max` with the
//!   lowest `workers.min` (0 when the file starts from zero, else 1) and the smallest `min`
//!   (with `max` raised to it), found by an exponential then a binary search on the load
//!   given, across the range of what AWS leaves unsaid, assuming more workers never do
//!   worse; a run stops as soon as it has missed the goal for sure.
//! - **The checks.** A choice is printed only when it also meets the goal, across the range,
//!   under Poisson arrivals of the load's mean with three other seeds and under the load
//!   raised by `--margin` (10 % by default), as given and as Poisson arrivals: a queue with
//!   no headroom has no steady state. Choices are checked cheapest first; one that fails is
//!   given more workers until it passes.
//! - **The cost.** A day, over the load's own period ([`Period`]): a daily curve's day, a
//!   held rate's day, a burst or a CSV once followed by the rest of the day at rest (the
//!   run is a day; the fleet back at rest is counted at once), or the `--duration` run
//!   repeated; the high-resolution publisher's monthly cost prorated. Without a price the
//!   ranking is by the resources used (vCPU-hours).
//! - **The lines.** Exactly what the stack file needs for `qfleet simulate FILE --load SPEC`
//!   to give the same verdict without flags: the goal and processing time when they came
//!   from flags, the metric and scale-in when they change, the target unless the file
//!   derives the same one; rows that are the same fleet (`min` = `max`: the scaling never
//!   acts) are one row, with the file's own scaling kept.

use super::load::{Load, Period};
use super::model::{Fleet, Params, ScaleIn};
use super::range::Ranged;
use super::run_result::{HIGH_RESOLUTION_MONTHLY_USD, Report};
use super::{Assumptions, range, run_result};
use crate::config::{Environment, ScaleInPolicy, ScalingMetric, WorkerKind};
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::HashMap;

/// The most instances or tasks a candidate is tried with.
const MAX_COUNT: u64 = 1_000;

/// The cheapest choices printed, each one checked.
const SHOWN: usize = 3;

/// The load raised by this share unless `--margin` says otherwise.
pub const DEFAULT_MARGIN: f64 = 0.1;

/// A scale-in setting tried (qfleet's step policy), or target tracking's own.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ScaleInSetting {
    /// `step` or `target_tracking` (the figures then unused).
    pub policy: &'static str,
    pub percent: u64,
    pub below: f64,
    pub minutes: u64,
    pub cooldown: u64,
}

impl ScaleInSetting {
    fn step(percent: u64, below: f64, minutes: u64, cooldown: u64) -> ScaleInSetting {
        ScaleInSetting {
            policy: "step",
            percent,
            below,
            minutes,
            cooldown,
        }
    }

    fn of(s: ScaleIn) -> ScaleInSetting {
        match s {
            ScaleIn::Tracking => ScaleInSetting {
                policy: "target_tracking",
                ..ScaleInSetting::step(0, 0.0, 0, 0)
            },
            ScaleIn::Step {
                percent,
                below,
                minutes,
                cooldown,
            } => ScaleInSetting::step(percent, below, minutes, cooldown),
        }
    }

    fn model(self) -> ScaleIn {
        if self.policy == "target_tracking" {
            ScaleIn::Tracking
        } else {
            ScaleIn::Step {
                percent: self.percent,
                below: self.below,
                minutes: self.minutes,
                cooldown: self.cooldown,
            }
        }
    }

    /// In words, for the table.
    pub fn words(self) -> String {
        if self.policy == "target_tracking" {
            "target tracking's".to_string()
        } else {
            format!(
                "{} %, below {} × target, {} min, {} s",
                self.percent, self.below, self.minutes, self.cooldown
            )
        }
    }
}

/// qfleet's default, and a brisker one (more per step, sooner); both keep below ÷ (1 −
/// percent) under 1, so that a step never crosses the target.
fn scale_ins() -> [ScaleInSetting; 2] {
    [
        ScaleInSetting::step(10, 0.75, 10, 300),
        ScaleInSetting::step(20, 0.7, 5, 180),
    ]
}

/// One set of settings that met the goal under every check, and what it costs.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Choice {
    pub target: f64,
    pub min: u64,
    pub max: u64,
    pub scale_in: ScaleInSetting,
    pub high_resolution: bool,
    /// The worst p99 of every run of every check, seconds.
    pub p99: Option<u64>,
    /// USD a day over `Tuning::period` (the high-resolution publisher's share in); `None`
    /// without a price.
    pub cost_per_day_usd: Option<f64>,
    /// USD a month of 30 such days; `None` without a price.
    pub cost_per_month_usd: Option<f64>,
    /// The resources used a day, in `Tuning::resource_unit`: the ranking without a price.
    pub resources_per_day: f64,
    /// The stack-file lines to paste.
    pub lines: String,
}

/// What `--tune` found.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Tuning {
    /// The cheapest settings that met the goal under every check, cheapest first (at most
    /// three; the same fleet once).
    pub choices: Vec<Choice>,
    /// The runs simulated (each across the range).
    pub candidates_simulated: usize,
    /// Why nothing was found, with the numbers and the smallest change that would do.
    pub reason: Option<String>,
    /// How a day's cost is counted.
    pub period: String,
    /// The resources' unit (`vCPU-hours` or `instance-hours`).
    pub resource_unit: &'static str,
    /// The checks every choice passed, besides the load given.
    pub checks: Vec<String>,
    /// The share the load was raised by in the checks.
    pub margin: f64,
    /// The command that gives the same verdict once the lines are pasted: the load, and the
    /// assumptions no stack-file setting holds.
    pub reproduce: String,
    /// The launch time assumed and where it comes from (`--launch-time`, or qfleet's default
    /// for the kind and type), in words.
    pub launch: Option<String>,
    /// With `budget`: the budget every choice is within, in words (a month's spread over 31
    /// days); a choice over it, or without a price, is not shown.
    pub budget: Option<String>,
}

/// Where a candidate's target comes from: the file's (derived at the candidate's `max`, as
/// the pasted file derives it, or given), or one tried.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TargetOf {
    File,
    Fixed(f64),
}

/// The target, scale-in and metric of a family of candidates.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Combo {
    target: TargetOf,
    scale_in: ScaleInSetting,
    high_resolution: bool,
}

/// How a family grows: `max` from its floor with the lowest `min`, or `min` (and `max` with
/// it) from one above the lowest.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Grow {
    Max,
    Min,
}

/// What the file says and the search starts from.
struct Space {
    /// The lowest `min`: 0 when the file starts from zero (or sets 0), else 1.
    min_lo: u64,
    /// The file's `max`: family `Max` starts at it, `Min` never goes below it (at most
    /// `cap`).
    max0: u64,
    /// The most workers the search tries: [`MAX_COUNT`], or as many as `workers.limits` lets
    /// work at once (`Params::limit` ÷ messages per worker, rounded up): more only wait.
    cap: u64,
    combos: Vec<Combo>,
    /// The file's own scaling, for the lines.
    file_scale_in: ScaleInSetting,
    file_high_resolution: bool,
}

/// One load a choice must meet the goal under, with its arrivals.
pub(crate) struct Check {
    pub(crate) name: String,
    pub(crate) arrivals: Vec<u64>,
    pub(crate) seed: u64,
}

/// What is left to look at, cheapest first: a family not searched yet, at the least it can
/// cost, or a candidate found.
enum Pending {
    Unsearched {
        combo: Combo,
        grow: Grow,
        floor: f64,
    },
    Found(Box<Candidate>),
}

/// What one worker always on costs a day, in the ranking's unit: USD when the table prices
/// it, else its vCPU-hours (an instance of unknown vCPUs: its hours).
fn worker_day(env: &Environment) -> f64 {
    let spec = &env.spec;
    let w = &spec.workers;
    let (usd, vcpus) = match w.kind {
        WorkerKind::Fargate => {
            let arm = w.fargate.platform == crate::config::Platform::LinuxArm64;
            (
                super::price::fargate_task_hour(&spec.region, arm, w.fargate.cpu, w.fargate.memory),
                f64::from(w.fargate.cpu) / 1_024.0,
            )
        }
        // One instance of the first type the file allows a task, with the fee; without a
        // type, the task's vCPUs.
        WorkerKind::EcsManaged => match w.instance_types.iter().flatten().next() {
            Some(ty) => (
                super::price::instance_hour(&spec.region, ty)
                    .map(|h| h * (1.0 + super::price::ECS_MANAGED_FEE_SHARE)),
                super::price::vcpus(ty).unwrap_or(1.0),
            ),
            None => (None, f64::from(w.ecs_managed.cpu) / 1_024.0),
        },
        WorkerKind::Ec2 | WorkerKind::Lambda => {
            let ty = w.types()[0];
            (
                super::price::instance_hour(&spec.region, ty),
                super::price::vcpus(ty).unwrap_or(1.0),
            )
        }
    };
    24.0 * usd.unwrap_or(vcpus)
}

/// A candidate found to meet the load given, and whether the checks passed.
#[derive(Clone)]
struct Candidate {
    combo: Combo,
    grow: Grow,
    count: u64,
    report: Report,
    p99: Option<u64>,
    checked: bool,
}

/// A run across the range as [`Runs`] keeps it: its parameters in full (`Debug`, the seed
/// in them), its arrivals' place in `Runs::loads`, and the goal's bits.
type RunKey = (String, usize, u64);

/// The runs across the range already made, by what alone decides them: the parameters (the
/// seed in them), the arrivals and the goal. One tuning's, or shared by the tunings of a
/// comparison (`--instance-types`): the model never reads the type, so types alike in all
/// else run the same. What a search counts as simulated (`Tuning::candidates_simulated`) is
/// what it asks for, as if each run were made then: this only saves making it again.
#[derive(Default)]
pub(crate) struct Runs {
    /// Every distinct arrivals run under, once: a run's key names them by their place here.
    loads: Vec<Vec<u64>>,
    /// A run's result when it met the goal (its outcome without its completions, which no
    /// report reads), `None` when it missed.
    made: HashMap<RunKey, Option<Ranged>>,
}

impl Runs {
    /// Where `arrivals` are in `loads`, added when new.
    fn load(&mut self, arrivals: &[u64]) -> usize {
        match self.loads.iter().position(|l| l.as_slice() == arrivals) {
            Some(i) => i,
            None => {
                self.loads.push(arrivals.to_vec());
                self.loads.len() - 1
            }
        }
    }

    /// Keeps a run's result (its completions dropped: they are only a pipeline's next
    /// stage's arrivals) and returns it.
    fn keep(&mut self, key: RunKey, made: Option<Ranged>) -> Option<Ranged> {
        let made = made.map(|(mut o, runs)| {
            o.completions = Vec::new();
            if let Some(pri) = o.priority.as_mut() {
                pri.completions = Vec::new();
            }
            (o, runs)
        });
        self.made.insert(key, made.clone());
        made
    }
}

/// The search's state: the environment, the runs' parameters and what was simulated.
struct Search<'a> {
    env: &'a Environment,
    a: &'a Assumptions,
    base: Params,
    goal: f64,
    arrivals: Vec<u64>,
    checks: Vec<Check>,
    space: Space,
    simulated: usize,
    /// Runs already made, by the fleet they ran (the same fleet under several names).
    seen: HashMap<String, Option<Report>>,
    /// The runs made, perhaps by another tuning, and where the load given (0) and each
    /// check's (1 on) are among their arrivals.
    runs: Runs,
    loads: Vec<usize>,
    /// The instance type the lines set, when the search runs another than the file's.
    instance_type: Option<String>,
}

/// Tunes `env`'s scaling under the assumptions' load, its checks raised by `--margin`.
pub fn tune(env: &Environment, a: &Assumptions) -> Result<Tuning> {
    tune_as(env, a, None)
}

/// `env` with its workers of `instance_type` (the group launching that type alone).
pub(crate) fn as_type(env: &Environment, instance_type: &str) -> Environment {
    let mut e = env.clone();
    match e.spec.workers.kind {
        // ECS Managed Instances take a list of the types ECS may choose from.
        WorkerKind::EcsManaged => {
            e.spec.workers.instance_types = Some(vec![instance_type.to_string()]);
        }
        _ => {
            e.spec.workers.instance_type = instance_type.to_string();
            e.spec.workers.instance_types = None;
        }
    }
    e
}

/// [`tune`], as if the workers were of `instance_type` (`None`: the file's types); the lines
/// then set it unless it is the file's one type already.
pub(crate) fn tune_as(
    env: &Environment,
    a: &Assumptions,
    instance_type: Option<&str>,
) -> Result<Tuning> {
    tune_with(env, a, instance_type, &mut Runs::default())
}

/// [`tune_as`], with the runs already made by other tunings (`runs`, which keeps this one's
/// too): the same tuning, its runs made once.
pub(crate) fn tune_with(
    env: &Environment,
    a: &Assumptions,
    instance_type: Option<&str>,
    runs: &mut Runs,
) -> Result<Tuning> {
    let file_types = env.spec.workers.types();
    let changed = instance_type.filter(|t| file_types != [*t]);
    // The line, saying what it replaces when the file lists several types.
    let line = changed.map(
        |t| match (env.spec.workers.kind, &env.spec.workers.instance_types) {
            (WorkerKind::EcsManaged, _) => t.to_string(),
            (_, Some(_)) => format!("{t}  # instead of instance_types"),
            (_, None) => t.to_string(),
        },
    );
    let typed;
    let env = match changed {
        Some(t) => {
            typed = as_type(env, t);
            &typed
        }
        None => env,
    };
    let mut search = Search::new(env, a)?;
    search.instance_type = line;
    search.share(std::mem::take(runs));
    let found = search.candidates();
    let mut choices = search.cheapest_checked(found);
    // `budget`: no choice over the budget's day is shown.
    let over_budget = within_budget(env, &mut choices);
    let reason = choices
        .is_empty()
        .then(|| over_budget.unwrap_or_else(|| search.nothing_found()));
    let resource_unit = search.unit_of_resources();
    *runs = std::mem::take(&mut search.runs);
    Ok(Tuning {
        choices,
        candidates_simulated: search.simulated,
        reason,
        period: a.load.period(a.duration).words(),
        resource_unit,
        checks: search.checks.iter().map(|c| c.name.clone()).collect(),
        margin: a.margin,
        reproduce: reproduce(env, a),
        launch: a.launch_basis(&env.spec.workers),
        budget: env.spec.budget.as_ref().map(super::budget::words),
    })
}

/// Keeps the choices whose cost a day is within the budget's day, and says why when none is
/// left of those found: each over it, or not priced (a choice the table cannot price is not
/// shown as within a budget).
fn within_budget(env: &Environment, choices: &mut Vec<Choice>) -> Option<String> {
    let budget = env.spec.budget.as_ref()?;
    let day = budget.per_day_usd();
    let cheapest = choices.first().map(|c| c.cost_per_day_usd);
    choices.retain(|c| c.cost_per_day_usd.is_some_and(|usd| usd <= day));
    if !choices.is_empty() {
        return None;
    }
    Some(match cheapest? {
        Some(cheapest) => format!(
            "the cheapest settings that meet the goal cost ${cheapest:.2} a day, over the budget's {}; raise budget.amount, or ease the goal",
            super::budget::words(budget)
        ),
        None => format!(
            "qfleet's price table has no price for these workers, so no choice can be shown within the budget's {}",
            super::budget::words(budget)
        ),
    })
}

/// The checks besides the load given: Poisson arrivals of its mean with three other seeds;
/// the load raised by `margin`, as given and as Poisson arrivals with a fourth seed.
pub(crate) fn checks(load: &Load, seed: u64, margin: f64, duration: u64) -> Vec<Check> {
    let random = load.randomised();
    let raised = load.raised(1.0 + margin);
    let raised_random = raised.randomised();
    let pct = (margin * 100.0).round();
    let mut out: Vec<Check> = (1..=3)
        .map(|i| Check {
            name: format!("{} (seed {})", random.spec, seed + i),
            arrivals: random.arrivals(duration, seed + i),
            seed: seed + i,
        })
        .collect();
    out.push(Check {
        name: format!("{pct} % more: {}", raised.spec),
        arrivals: raised.arrivals(duration, seed),
        seed,
    });
    out.push(Check {
        name: format!("{pct} % more: {} (seed {})", raised_random.spec, seed + 4),
        arrivals: raised_random.arrivals(duration, seed + 4),
        seed: seed + 4,
    });
    out
}

/// The file's bounds and the combinations of target, scale-in and metric tried.
fn space(env: &Environment, base: &Params) -> Space {
    let (min0, max0, file_scale_in, file_high_resolution, per_worker) = match &base.fleet {
        Fleet::Ec2 {
            min,
            max,
            scale_in,
            high_resolution,
            per_instance,
            ..
        } => (*min, *max, *scale_in, *high_resolution, *per_instance),
        Fleet::Fargate {
            min,
            max,
            scale_in,
            per_task,
            ..
        } => (*min, *max, *scale_in, false, *per_task),
        Fleet::Lambda { .. } => (0, 0, ScaleIn::Tracking, false, 1),
    };
    let cap = base.limit.map_or(MAX_COUNT, |n| {
        n.div_ceil(per_worker.max(1)).clamp(1, MAX_COUNT)
    });
    let file_scale_in = ScaleInSetting::of(file_scale_in);
    let mut targets = vec![TargetOf::File];
    targets.extend([0.5, 0.7, 0.9].map(TargetOf::Fixed));
    let mut scale_in = vec![file_scale_in];
    scale_in.extend(scale_ins().into_iter().filter(|s| *s != file_scale_in));
    let spec = &env.spec;
    let metrics: Vec<bool> =
        if spec.workers.kind == WorkerKind::Ec2 && !spec.region.starts_with("us-gov-") {
            vec![file_high_resolution, !file_high_resolution]
        } else {
            vec![false]
        };
    let mut combos = Vec::new();
    for &high_resolution in &metrics {
        for &s in &scale_in {
            for &target in &targets {
                combos.push(Combo {
                    target,
                    scale_in: s,
                    high_resolution,
                });
            }
        }
    }
    Space {
        min_lo: u64::from(min0 > 0),
        max0: max0.max(1).min(cap),
        cap,
        combos,
        file_scale_in,
        file_high_resolution,
    }
}

/// The flags that give the same verdict with the lines pasted: the load, and each
/// assumption that no stack-file setting holds and that was not its default.
fn reproduce(env: &Environment, a: &Assumptions) -> String {
    let mut s = format!("qfleet simulate {} --load '{}'", env.name, a.load.spec);
    if let Some(d) = a.duration {
        s.push_str(&format!(" --duration {d}s"));
    }
    if (a.spread - 0.2).abs() > 1e-12 {
        s.push_str(&format!(" --spread {}", a.spread));
    }
    if a.failure_rate > 0.0 {
        s.push_str(&format!(" --failure-rate {}", a.failure_rate));
    }
    if let Some(l) = a.launch_time {
        s.push_str(&format!(" --launch-time {l}s"));
    }
    if a.per_instance != 1 {
        s.push_str(&format!(" --messages-per-instance {}", a.per_instance));
    }
    if a.seed != 1 {
        s.push_str(&format!(" --seed {}", a.seed));
    }
    if a.priority_share > 0.0 {
        s.push_str(&format!(" --priority-share {}", a.priority_share));
    }
    s
}

impl<'a> Search<'a> {
    /// The search for `env` under the assumptions: its runs' parameters, the load's arrivals
    /// (a day for a burst or a CSV), the checks and the combinations to try.
    fn new(env: &'a Environment, a: &'a Assumptions) -> Result<Search<'a>> {
        let spec = &env.spec;
        if spec.workers.kind == WorkerKind::Lambda {
            return Err(Error::TuneLambda {
                env: env.name.clone(),
            });
        }
        if env.is_pipeline() {
            return Err(Error::TunePipeline {
                env: env.name.clone(),
            });
        }
        let goal = super::goal_of(env, a).ok_or_else(|| Error::TuneNoGoal {
            env: env.name.clone(),
        })?;
        let mut base = super::params(env, a)?;
        // A burst or a CSV is followed by the rest of the day at rest: the run is the day
        // (the fleet back at rest is counted at once).
        if a.load.period(a.duration) == Period::Once {
            base.duration = base.duration.max(86_400);
        }
        // The stack file's schedules add their runs to every load tried, never raised.
        let mut arrivals = a.load.arrivals(base.duration, a.seed);
        super::schedules::of(env, base.duration, a.seed).add_to(&mut arrivals);
        let mut checks = checks(&a.load, a.seed, a.margin, base.duration);
        for c in &mut checks {
            super::schedules::of(env, base.duration, c.seed).add_to(&mut c.arrivals);
        }
        let space = space(env, &base);
        let mut search = Search {
            env,
            a,
            base,
            goal,
            arrivals,
            checks,
            space,
            simulated: 0,
            seen: HashMap::new(),
            runs: Runs::default(),
            loads: Vec::new(),
            instance_type: None,
        };
        search.share(Runs::default());
        Ok(search)
    }
}

impl Search<'_> {
    /// The target a candidate runs with: the file's as it would derive it at `max` with the
    /// goal and processing time of this run (or the one it gives), or the one tried.
    fn target(&self, t: TargetOf, max: u64) -> f64 {
        match t {
            TargetOf::Fixed(t) => t,
            TargetOf::File => file_target(self.env, self.goal, self.base.seconds_per_message, max),
        }
    }

    fn counts(&self, grow: Grow, count: u64) -> (u64, u64) {
        match grow {
            Grow::Max => (self.space.min_lo, count),
            Grow::Min => (count, self.space.max0.max(count)),
        }
    }

    /// The first count a family tries.
    fn first(&self, grow: Grow) -> u64 {
        match grow {
            Grow::Max => self.space.max0.max(self.space.min_lo).max(1),
            Grow::Min => self.space.min_lo + 1,
        }
    }

    /// `base` with a combination and counts; a fleet whose `min` is its `max` never scales,
    /// so it keeps the file's own scaling (one fleet, whatever the combination).
    fn params(&self, c: Combo, (lo, hi): (u64, u64)) -> Params {
        let mut p = self.base.clone();
        let (scale_in, hires) = if lo == hi {
            (self.space.file_scale_in, self.space.file_high_resolution)
        } else {
            (c.scale_in, c.high_resolution)
        };
        let t = if lo == hi {
            self.target(TargetOf::File, hi)
        } else {
            self.target(c.target, hi)
        };
        match &mut p.fleet {
            Fleet::Ec2 {
                min,
                max,
                target,
                scale_in: s,
                high_resolution,
                ..
            } => {
                (*min, *max, *target, *s, *high_resolution) = (lo, hi, t, scale_in.model(), hires);
            }
            Fleet::Fargate {
                min,
                max,
                target,
                scale_in: s,
                ..
            } => {
                (*min, *max, *target, *s) = (lo, hi, t, scale_in.model());
            }
            Fleet::Lambda { .. } => {}
        }
        p
    }

    /// Takes the runs already made (`runs`; its own so far are dropped), and names the load
    /// given and each check's among their arrivals.
    fn share(&mut self, mut runs: Runs) {
        let mut loads = vec![runs.load(&self.arrivals)];
        loads.extend(self.checks.iter().map(|c| runs.load(&c.arrivals)));
        self.runs = runs;
        self.loads = loads;
    }

    /// What a run of `p` (its seed set) under the load given (`check` 0) or a check's is
    /// remembered by in `seen`, and in `runs`.
    fn keys(&self, p: &Params, check: usize) -> (String, RunKey) {
        let fleet = format!("{p:?}");
        let seed = p.seed;
        (
            format!("{fleet}|{seed}|{check}"),
            (fleet, self.loads[check], self.goal.to_bits()),
        )
    }

    /// The run of `p` under `arrivals` (seed `seed`) across the range, when it meets the
    /// goal; remembered by the fleet it runs.
    fn meets(&mut self, p: &Params, arrivals: &[u64], seed: u64, check: usize) -> Option<Report> {
        let p = Params { seed, ..p.clone() };
        let (key, made) = self.keys(&p, check);
        if let Some(r) = self.seen.get(&key) {
            return r.clone();
        }
        self.simulated += 1;
        let r = match self.runs.made.get(&made) {
            Some(r) => r.clone(),
            None => {
                let r = range::run_if_met(&p, arrivals, self.goal);
                self.runs.keep(made, r)
            }
        }
        .map(|(o, runs)| run_result::build(self.env, self.a, &p, o, runs));
        self.seen.insert(key, r.clone());
        r
    }

    /// Makes at once, on both cores, the runs of a combination and count that
    /// [`Search::checked_from`] will ask for and that are not made yet: under the load given,
    /// then each check's, in that order, up to the first known or found to miss (they stop
    /// there). Nothing is counted here: `meets` counts what it is asked, as it is asked.
    fn make_checked(&mut self, c: Combo, grow: Grow, count: u64) {
        let p = self.params(c, self.counts(grow, count));
        let seeds = std::iter::once(self.base.seed).chain(self.checks.iter().map(|c| c.seed));
        let mut wanted: Vec<(Params, usize, RunKey)> = Vec::new();
        for (check, seed) in seeds.enumerate() {
            let q = Params { seed, ..p.clone() };
            let (key, made) = self.keys(&q, check);
            let known = match self.seen.get(&key) {
                Some(r) => Some(r.is_some()),
                None => self.runs.made.get(&made).map(Option::is_some),
            };
            match known {
                Some(true) => {}
                Some(false) => break,
                None => wanted.push((q, check, made)),
            }
        }
        if wanted.len() < 2 {
            return;
        }
        let each: Vec<(&Params, &[u64])> = wanted
            .iter()
            .map(|(q, check, _)| {
                let arrivals = match check {
                    0 => &self.arrivals,
                    i => &self.checks[i - 1].arrivals,
                };
                (q, arrivals.as_slice())
            })
            .collect();
        let results = range::run_each_if_met(&each, self.goal);
        for ((_, _, made), r) in wanted.into_iter().zip(results) {
            self.runs.keep(made, r);
        }
    }

    /// The run of a combination and count under the load given, when it meets the goal.
    fn meets_given(&mut self, c: Combo, grow: Grow, count: u64) -> Option<Report> {
        let p = self.params(c, self.counts(grow, count));
        let arrivals = std::mem::take(&mut self.arrivals);
        let r = self.meets(&p, &arrivals, self.base.seed, 0);
        self.arrivals = arrivals;
        r
    }

    /// Every check's worst p99 when the candidate meets the goal in all of them.
    fn passes_checks(&mut self, c: Combo, grow: Grow, count: u64) -> Option<Option<u64>> {
        let p = self.params(c, self.counts(grow, count));
        let checks = std::mem::take(&mut self.checks);
        let mut worst: Option<u64> = None;
        let mut ok = true;
        for (i, check) in checks.iter().enumerate() {
            match self.meets(&p, &check.arrivals, check.seed, i + 1) {
                Some(r) => worst = worst.max(r.range.iter().filter_map(|x| x.p99).max()),
                None => {
                    ok = false;
                    break;
                }
            }
        }
        self.checks = checks;
        ok.then_some(worst)
    }

    /// Every combination and family, each still to search, at the least it can cost: its
    /// `min` always on all day (what a worker costs a day, or its vCPUs, times `min`).
    fn candidates(&mut self) -> Vec<Pending> {
        let day = worker_day(self.env);
        let mut out = Vec::new();
        for combo in self.space.combos.clone() {
            for grow in [Grow::Max, Grow::Min] {
                let (min, _) = self.counts(grow, self.first(grow));
                out.push(Pending::Unsearched {
                    combo,
                    grow,
                    floor: min as f64 * day,
                });
            }
        }
        out
    }

    /// A family's smallest count that meets the load given, when any does.
    fn search(&mut self, combo: Combo, grow: Grow) -> Option<Candidate> {
        let first = self.first(grow);
        let cap = self.space.cap;
        let (count, report) = smallest(first, cap, &mut |n| self.meets_given(combo, grow, n))?;
        let p99 = report.range.iter().filter_map(|x| x.p99).max();
        Some(Candidate {
            combo,
            grow,
            count,
            report,
            p99,
            checked: false,
        })
    }

    /// The smallest count from `count` up whose run meets the load given and every check.
    fn checked_from(&mut self, c: &Candidate) -> Option<Candidate> {
        let (combo, grow) = (c.combo, c.grow);
        let passes = |s: &mut Self, n: u64| -> Option<(Report, Option<u64>)> {
            s.make_checked(combo, grow, n);
            let report = s.meets_given(combo, grow, n)?;
            let p99 = s.passes_checks(combo, grow, n)?;
            Some((report, p99))
        };
        let cap = self.space.cap;
        let (count, (report, p99)) = smallest(c.count, cap, &mut |n| passes(self, n))?;
        let given = report.range.iter().filter_map(|x| x.p99).max();
        Some(Candidate {
            count,
            report,
            p99: p99.max(given),
            checked: true,
            ..c.clone()
        })
    }

    /// What a candidate costs a day, or without a price the resources it uses: the key the
    /// choices are ranked by (the high-resolution publisher's daily share added to a price).
    fn rank(&self, c: &Candidate) -> f64 {
        let (lo, hi) = self.counts(c.grow, c.count);
        let hires = lo != hi && c.combo.high_resolution;
        match c.report.cost.per_day_usd {
            Some(d) => {
                d + if hires {
                    HIGH_RESOLUTION_MONTHLY_USD / 30.0
                } else {
                    0.0
                }
            }
            None => c.report.cost.per_day_resources + if hires { 1e-9 } else { 0.0 },
        }
    }

    /// What the resources are counted in (vCPU-hours, or instance-hours for a type whose
    /// vCPUs are not known).
    fn unit_of_resources(&self) -> &'static str {
        let p = self.params(self.space.combos[0], (1, 1));
        let o = super::model::Outcome::default();
        run_result::build(self.env, self.a, &p, o, Vec::new())
            .cost
            .resource_unit
    }

    /// The cheapest candidates that pass every check, cheapest first: each checked in
    /// order of cost; one that fails is given more workers until it passes, then takes its
    /// place by its new cost. The same fleet is one choice.
    fn cheapest_checked(&mut self, families: Vec<Pending>) -> Vec<Choice> {
        let mut pending = families;
        let mut choices: Vec<Choice> = Vec::new();
        while choices.len() < SHOWN && !pending.is_empty() {
            let rank = |s: &Self, p: &Pending| match p {
                Pending::Unsearched { floor, .. } => *floor,
                Pending::Found(c) => s.rank(c),
            };
            let i = (0..pending.len())
                .min_by(|&x, &y| rank(self, &pending[x]).total_cmp(&rank(self, &pending[y])))
                .unwrap_or(0);
            let c = match pending.swap_remove(i) {
                // A family is searched only once nothing found costs less than it can.
                Pending::Unsearched { combo, grow, .. } => {
                    if let Some(c) = self.search(combo, grow) {
                        pending.push(Pending::Found(Box::new(c)));
                    }
                    continue;
                }
                Pending::Found(c) => *c,
            };
            if !c.checked {
                if let Some(checked) = self.checked_from(&c) {
                    pending.push(Pending::Found(Box::new(checked)));
                }
                continue;
            }
            let choice = self.choice(&c);
            // The same fleet is one row: the same settings, or settings whose runs under
            // this load are the same (every target asking for `max` at once under a burst; a
            // scale-in that never acts): the first, the cheaper, kept.
            let same = choices.iter().any(|x| {
                (x.min, x.max) == (choice.min, choice.max)
                    && ((x.high_resolution, x.scale_in)
                        == (choice.high_resolution, choice.scale_in)
                        && (x.target - choice.target).abs() < 1e-9
                        || x.p99 == choice.p99
                            && x.resources_per_day.to_bits() == choice.resources_per_day.to_bits())
            });
            if !same {
                choices.push(choice);
            }
        }
        // More workers can cost less (a fleet that drains sooner): a choice checked later
        // may rank below one shown before it.
        let key = |c: &Choice| c.cost_per_day_usd.unwrap_or(c.resources_per_day);
        choices.sort_by(|x, y| key(x).total_cmp(&key(y)));
        choices
    }

    fn choice(&self, c: &Candidate) -> Choice {
        let (min, max) = self.counts(c.grow, c.count);
        let p = self.params(c.combo, (min, max));
        let (target, scale_in, high_resolution) = match p.fleet {
            Fleet::Ec2 {
                target,
                scale_in,
                high_resolution,
                ..
            } => (target, scale_in, high_resolution),
            Fleet::Fargate {
                target, scale_in, ..
            } => (target, scale_in, false),
            Fleet::Lambda { .. } => (0.0, ScaleIn::Tracking, false),
        };
        let scale_in = ScaleInSetting::of(scale_in);
        let publisher = if high_resolution && min != max {
            HIGH_RESOLUTION_MONTHLY_USD / 30.0
        } else {
            0.0
        };
        let day = c.report.cost.per_day_usd.map(|d| d + publisher);
        Choice {
            target,
            min,
            max,
            scale_in,
            high_resolution,
            p99: c.p99,
            cost_per_day_usd: day,
            cost_per_month_usd: day.map(|d| d * 30.0),
            resources_per_day: c.report.cost.per_day_resources,
            lines: lines(
                self.env,
                self.a,
                &Lines {
                    target: (
                        target,
                        file_target(self.env, self.goal, self.base.seconds_per_message, max),
                    ),
                    min,
                    max,
                    scale_in: (scale_in, self.space.file_scale_in),
                    high_resolution: (high_resolution, self.space.file_high_resolution),
                    instance_type: self.instance_type.clone(),
                },
            ),
        }
    }

    /// Why nothing was found, with numbers: the most the search tries, `cap` workers always
    /// on, and its worst p99 under the load and the checks; the smallest goal it meets.
    fn nothing_found(&mut self) -> String {
        let cap = self.space.cap;
        let all = (cap, cap);
        let p = self.params(self.space.combos[0], all);
        let mut worst: (Option<u64>, String) = (None, "the load given".to_string());
        let loads: Vec<(String, Vec<u64>, u64)> = std::iter::once((
            "the load given".to_string(),
            self.arrivals.clone(),
            self.base.seed,
        ))
        .chain(
            self.checks
                .iter()
                .map(|c| (c.name.clone(), c.arrivals.clone(), c.seed)),
        )
        .collect();
        for (name, arrivals, seed) in loads {
            self.simulated += 1;
            let q = Params { seed, ..p.clone() };
            let (o, runs) = range::run(&q, &arrivals, Some(self.goal));
            let p99 = runs.iter().filter_map(|r| r.p99).max();
            let never = o.never_at(99.0);
            if never || p99 > worst.0 {
                worst = (if never { None } else { p99 }, name);
                if never {
                    break;
                }
            }
        }
        // workers.limits: more workers than the limit's slots would only wait for one.
        let limited = match self.base.limit {
            Some(n) if cap < MAX_COUNT => format!(
                " (at most {} at once, the limit in workers.limits: more workers would only wait; a larger limit, if what it protects allows)",
                crate::text::words::count(n, "job runs", "jobs run")
            ),
            _ => String::new(),
        };
        let within = format!(
            "nothing within {}{limited} meets the {} s goal under the load and every check (Poisson arrivals, {:.0} % more load)",
            match cap {
                1 => "1 worker".to_string(),
                n => format!("{n} workers"),
            },
            self.goal,
            self.a.margin * 100.0
        );
        match worst.0 {
            Some(p99) => format!(
                "{within}: even {cap} always on give p99 {p99} s under {}; the smallest goal they meet is {p99} s (scaling.max_latency_seconds: {p99}), or a shorter processing time",
                worst.1
            ),
            None => format!(
                "{within}: even {cap} always on dead-letter over 1 % of the messages under {} (the visibility timeout or the function's limits decide it: see `qfleet simulate` without --tune)",
                worst.1
            ),
        }
    }
}

/// The target the pasted file derives at `max`: its own when it gives one, else from the
/// goal and processing time with headroom, at `max` (`crates/qfleet-stackfile/src/config/headroom.rs`).
fn file_target(env: &Environment, goal: f64, seconds_per_message: f64, max: u64) -> f64 {
    let s = &env.spec.scaling;
    match s.target_backlog_per_instance {
        Some(t) => t,
        None => crate::config::headroom::target(goal, seconds_per_message, max, s.expected_peak),
    }
}

/// The smallest count from `lo` (at least 1) up to `cap` whose run meets the goal:
/// doubling steps until one does, then a binary search below it (more workers never do
/// worse, assumed; the value returned is always a run that met it).
pub(crate) fn smallest<T>(
    lo: u64,
    cap: u64,
    meets: &mut dyn FnMut(u64) -> Option<T>,
) -> Option<(u64, T)> {
    let lo = lo.max(1);
    if lo > cap {
        return None;
    }
    let (mut fail, mut step) = (lo - 1, 1u64);
    let (mut hi, mut best) = loop {
        let m = (fail + step).min(cap);
        if let Some(c) = meets(m) {
            break (m, c);
        }
        if m == cap {
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
    Some((hi, best))
}

/// A choice's settings beside the file's own: (the choice's, the file's).
struct Lines {
    target: (f64, f64),
    min: u64,
    max: u64,
    scale_in: (ScaleInSetting, ScaleInSetting),
    high_resolution: (bool, bool),
    /// Another type than the file's: `instance_type`'s value (and what it replaces), instead
    /// of the file's type or types.
    instance_type: Option<String>,
}

/// The stack-file lines of a choice: everything `qfleet simulate FILE --load SPEC` needs to
/// run it again without flags. `workers.min` and `max`; the goal and the processing time
/// when flags gave them; the target unless the file derives the same at this `max` (or
/// gives it); the metric and the scale-in when they change. For a target of a stack file
/// (`targets`) the workers go under its own entry (`targets.N.workers`); scaling is the
/// file's, shared by every target, so it is shown apart, saying so.
fn lines(env: &Environment, a: &Assumptions, l: &Lines) -> String {
    let file = &env.spec.scaling;
    let mut scaling = String::new();
    if let Some(g) = a
        .max_latency
        .filter(|g| file.max_latency_seconds != Some(*g))
    {
        scaling.push_str(&format!("  max_latency_seconds: {g}\n"));
    }
    if let Some(s) = a
        .seconds_per_message
        .filter(|s| file.seconds_per_message != Some(*s))
    {
        scaling.push_str(&format!("  seconds_per_message: {s}\n"));
    }
    if (l.target.0 - l.target.1).abs() > 1e-9 {
        scaling.push_str(&format!("  target_backlog_per_instance: {}\n", l.target.0));
    }
    if l.high_resolution.0 != l.high_resolution.1 {
        let m = if l.high_resolution.0 {
            ScalingMetric::HighResolution
        } else {
            ScalingMetric::Sqs
        };
        scaling.push_str(&format!("  metric: {}\n", m.as_str()));
    }
    if l.scale_in.0 != l.scale_in.1 {
        let s = l.scale_in.0;
        if s.policy == "target_tracking" {
            scaling.push_str(&format!(
                "  scale_in: {{policy: {}}}\n",
                ScaleInPolicy::TargetTracking.as_str()
            ));
        } else {
            scaling.push_str(&format!(
                "  scale_in: {{policy: {}, percent: {}, below: {}, minutes: {}, cooldown: {}s}}\n",
                ScaleInPolicy::Step.as_str(),
                s.percent,
                s.below,
                s.minutes,
                s.cooldown
            ));
        }
    }
    let scaling = if scaling.is_empty() {
        scaling
    } else {
        format!("scaling:\n{scaling}")
    };
    let (min, max) = (l.min, l.max);
    let managed = env.spec.workers.kind == WorkerKind::EcsManaged;
    let ty = |indent: &str| match (&l.instance_type, managed) {
        (None, _) => String::new(),
        (Some(t), true) => format!("{indent}instance_types: [{t}]\n"),
        (Some(t), false) => format!("{indent}instance_type: {t}\n"),
    };
    let Some(t) = &env.target else {
        return format!(
            "workers:\n{}  min: {min}\n  max: {max}\n{scaling}",
            ty("  ")
        );
    };
    let mut out = format!(
        "targets:  # its own entry, targets.{}\n  - name: {}\n    workers:\n{}      min: {min}\n      max: {max}\n",
        t.index,
        t.name,
        ty("      ")
    );
    if !scaling.is_empty() {
        out.push_str("# the file's, for every target (a target cannot set its own scaling):\n");
        out.push_str(&scaling);
    }
    out
}

/// The text of a tuning: the cheapest choice's lines, then every choice with its cost.
pub fn text(name: &str, t: &Tuning) -> String {
    let Some(best) = t.choices.first() else {
        return format!(
            "{name}: {} ({} candidates simulated)\n",
            t.reason.as_deref().unwrap_or("nothing found"),
            t.candidates_simulated
        );
    };
    let mut s = format!(
        "{name}: the cheapest settings that meet the goal in every run of the range, under Poisson arrivals with 3 other seeds and at {} % more load ({} candidates simulated). Paste these lines into the stack file, replacing what is there:\n\n",
        (t.margin * 100.0).round(),
        t.candidates_simulated
    );
    for l in best.lines.lines() {
        s.push_str(&format!("  {l}\n"));
    }
    s.push_str(&format!(
        "\nThen `{}` gives the same verdict.\n\n",
        t.reproduce
    ));
    let priced = best.cost_per_day_usd.is_some();
    let rows = t.choices.iter().map(|c| {
        // A fleet whose min is its max never scales: its scaling is the file's, unused.
        let fixed = c.min == c.max;
        let mut row = vec![
            if fixed {
                "-".into()
            } else {
                format!("{:.2}", c.target)
            },
            c.min.to_string(),
            c.max.to_string(),
            if fixed {
                "- (min = max: never scales)".into()
            } else {
                c.scale_in.words()
            },
            match (fixed, c.high_resolution) {
                (true, _) => "-".into(),
                (false, true) => "high_resolution".into(),
                (false, false) => "sqs".into(),
            },
            c.p99.map_or("-".into(), |v| format!("{v} s")),
        ];
        match (c.cost_per_day_usd, c.cost_per_month_usd) {
            (Some(d), Some(m)) => row.extend([format!("${d:.2}"), format!("${m:.2}")]),
            _ => row.push(format!("{:.1}", c.resources_per_day)),
        }
        row
    });
    let unit = format!("{} a day", t.resource_unit);
    let mut header = vec!["target", "min", "max", "scale-in", "metric", "worst p99"];
    if priced {
        header.extend(["a day", "a month"]);
    } else {
        header.push(&unit);
    }
    s.push_str(&crate::text::table(&header, rows));
    s.push_str(&format!(
        "\n(a day: {}{})\n",
        t.period,
        if priced {
            ""
        } else {
            "; no price for this type, size or Region: ranked by the resources used"
        }
    ));
    if let Some(l) = &t.launch {
        s.push_str(&format!("(launch: {l})\n"));
    }
    if let Some(b) = &t.budget {
        s.push_str(&format!(
            "(budget: under this load, each choice's workers cost at most {b})\n"
        ));
    }
    s
}

#[cfg(test)]
mod advice_tests;
#[cfg(test)]
mod tests;
