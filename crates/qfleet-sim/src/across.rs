//! `qfleet simulate ENV --load SPEC --tune --kinds ec2,ecs_managed,fargate,lambda`: the
//! stage's job run by each kind of worker, each tuned to its cheapest settings that meet the
//! goal, ranked by cost a day at the goal; a kind that cannot run the job is listed last, with
//! why.
//!
//! - **The job.** Every kind works the file's messages at once and seconds a message (as
//!   `--instance-types` takes them: the simulator cannot know a machine's speed). Fargate and
//!   Lambda run it at a Fargate file's task size, else the type's vCPUs with 2 GB each
//!   ([`task_size`]): Lambda with that memory, one message an invocation.
//! - **EC2.** Today's model: the Auto Scaling group of the type (each of `--instance-types`,
//!   else the file's first), priced at the table's on-demand price (AWS's price list).
//! - **ECS Managed Instances** (`workers.kind: ecs_managed`). An ECS service scaled by
//!   Application Auto Scaling, as the Fargate model scales one, whose each task gets an
//!   instance of the type (one task an instance: the file's messages at once). Start-up: the
//!   EC2 model's launch of the type plus [`PLACEMENT`] for ECS to launch the instance for the
//!   task and start it there (AWS documents no figure: modelled, tuned at the slow end so that
//!   the settings hold across it). Price: the instance's plus AWS's management fee an
//!   instance-hour, [`fee_hour`].
//! - **Fargate.** Today's Fargate model (task start [`crate::rules::FARGATE_TASK_START`],
//!   modelled) at the table's vCPU-hour and GB-hour prices (AWS's). No GPU: a GPU job is
//!   refused.
//! - **Lambda.** Today's mapping model (five concurrent batches, then 300 more a minute),
//!   the smallest maximum concurrency that meets the goal; priced by GB-second and request
//!   (AWS's). Refused for a GPU job, a job longer than 15 minutes or over 10,240 MB.
//! - **The ranking.** By cost a day at the goal, a modelled range's high end (the fee);
//!   whether the order holds across every range is said. Unpriced rows follow, refused last.

use super::compare::{TypeSpec, assumptions_for};
use super::model::Fleet;
use super::range;
use super::run_result::{self, Report};
use super::tune::{self, Choice, Tuning};
use super::{Assumptions, price, rules};
use crate::config::duration::Seconds;
use crate::config::{Environment, WorkerKind};
use crate::error::{Error, Result};
use serde::Serialize;

const FLAG: &str = "--kinds";

/// ECS Managed Instances' fee: AWS's example figure, and the range modelled for other types
/// (kept with the prices, [`price`]).
pub use price::{FEE_EXAMPLE, FEE_SHARE_RANGE};

/// Seconds, besides the instance's launch, for ECS Managed Instances to see a task it cannot
/// place, launch an instance for it, register it and start the task there: no figure in AWS's
/// documentation ("Amazon ECS Managed Instances auto scaling and task placement",
/// <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instance-auto-scaling.html>,
/// names the steps only): modelled, 0 to 60 s; tuned at 60 s, the slow end, so that the
/// settings hold across the range.
pub const PLACEMENT: (u64, u64) = (0, 60);

/// Lambda's longest invocation and largest memory: "Code can run for up to 15 minutes in a
/// single invocation and a single function can use up to 10,240 MB of memory" (Lambda quotas,
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>).
pub const LAMBDA_TIMEOUT_MAX: u64 = 900;
pub const LAMBDA_MEMORY_MAX: u32 = 10_240;

/// AWS's pages the figures come from, cited in the output.
const FARGATE_PRICING: &str = "https://aws.amazon.com/fargate/pricing/";
const LAMBDA_PRICING: &str = "https://aws.amazon.com/lambda/pricing/";
const EC2_PRICING: &str = "https://aws.amazon.com/ec2/pricing/on-demand/";
const ECS_PRICING: &str = "https://aws.amazon.com/ecs/pricing/";
/// "The following task definition parameters are not valid in Fargate tasks: … gpu"
/// (Amazon ECS task definition differences for Fargate).
const FARGATE_NO_GPU: &str =
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html";
const LAMBDA_LIMITS: &str =
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html";

/// A kind of worker compared: the stack file's `workers.kind` spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Ec2,
    EcsManaged,
    Fargate,
    Lambda,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Ec2, Kind::EcsManaged, Kind::Fargate, Kind::Lambda];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ec2 => "ec2",
            Kind::EcsManaged => "ecs_managed",
            Kind::Fargate => "fargate",
            Kind::Lambda => "lambda",
        }
    }

    /// In words, for the table.
    fn words(self) -> &'static str {
        match self {
            Kind::Ec2 => "EC2",
            Kind::EcsManaged => "ECS Managed Instances",
            Kind::Fargate => "Fargate",
            Kind::Lambda => "Lambda",
        }
    }
}

/// `--kinds`' value: `all`, or 1 to 4 different kinds, comma-separated.
pub fn parse_kinds(text: &str) -> Result<Vec<Kind>> {
    if text.trim() == "all" {
        return Ok(Kind::ALL.to_vec());
    }
    let mut kinds = Vec::new();
    for item in text.split(',').map(str::trim) {
        let Some(k) = Kind::ALL.into_iter().find(|k| k.as_str() == item) else {
            return Err(Error::FlagValue {
                flag: FLAG,
                value: text.to_string(),
                why: format!(
                    "`{item}` is no kind: give all, or some of ec2, ecs_managed, fargate, lambda, comma-separated"
                ),
            });
        };
        if kinds.contains(&k) {
            return Err(Error::FlagValue {
                flag: FLAG,
                value: text.to_string(),
                why: format!("`{item}` is given twice"),
            });
        }
        kinds.push(k);
    }
    Ok(kinds)
}

/// One kind's row (one per instance type for EC2 and ECS Managed Instances).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct KindRow {
    pub kind: Kind,
    /// EC2 and ECS Managed Instances: the type.
    pub instance_type: Option<String>,
    /// Seconds from a worker asked for to it reading the queue, as tuned.
    pub start_seconds: Option<u64>,
    /// The cheapest checked choice's `workers.min` and `max` (a function: `None`).
    pub min: Option<u64>,
    pub max: Option<u64>,
    /// Its backlog target per worker (a function: `None`).
    pub target: Option<f64>,
    /// A function's maximum concurrency.
    pub max_concurrency: Option<u64>,
    /// Its worst p99 over every check, seconds.
    pub p99: Option<u64>,
    /// USD a day at the goal: the low and high ends of the modelled fee's range (the same
    /// figure twice without one); `None` without a price or a choice.
    pub cost_per_day_usd: Option<(f64, f64)>,
    /// The stack-file lines to use.
    pub lines: Option<String>,
    /// Why the kind cannot run the job, or why nothing meets the goal, or the price missing.
    pub refused: Option<String>,
    /// Whether its cost a day (the high end) is over the budget's day.
    pub over_budget: bool,
}

/// One figure the comparison rests on, and whether it is AWS's or modelled.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Figure {
    pub what: String,
    pub value: String,
    /// `aws` (with the page) or `modelled` (a range, the decision held across it).
    pub basis: &'static str,
    pub source: String,
}

/// `--kinds`' comparison: every row, cheapest first.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Kinds {
    pub rows: Vec<KindRow>,
    /// The first row with a price and settings that meet the goal (`kind` or `kind
    /// type`).
    pub cheapest: Option<String>,
    /// Whether the order of the priced rows is the same at both ends of every modelled range.
    pub order_holds: bool,
    /// `budget` in words: every kind is tuned at the goal without it, and a row dearer than
    /// it says so.
    pub budget: Option<String>,
    pub figures: Vec<Figure>,
}

/// The assumptions of a row: the type's own figures where given, and the start-up.
fn with_start(a: &Assumptions, start: Option<u64>) -> Assumptions {
    Assumptions {
        launch_time: start.or(a.launch_time),
        ..a.clone()
    }
}

/// The file's job as another kind runs it: `kind` (Fargate's model for an ECS service) at
/// `cpu` units and `memory` MiB.
fn as_kind(env: &Environment, kind: WorkerKind, cpu: u32, memory: u32) -> Environment {
    let mut e = env.clone();
    e.spec.workers.kind = kind;
    e.spec.workers.fargate.cpu = cpu;
    e.spec.workers.fargate.memory = memory;
    e.spec.workers.warm_pool = None;
    e
}

/// The task size Fargate (and Lambda, its memory) runs the job at: a Fargate file's own; else
/// the instance type's vCPUs (the first type compared, the smallest Fargate size that holds
/// them, at most 16 vCPUs) with 2 GB each, the least memory Fargate allows at each size
/// (modelled: the table holds no instance's memory).
fn task_size(env: &Environment, types: &[TypeSpec]) -> (u32, u32) {
    let w = &env.spec.workers;
    if w.kind == WorkerKind::Fargate {
        return (w.fargate.cpu, w.fargate.memory);
    }
    // A task on Managed Instances already has its size: the smallest Fargate size that holds
    // its CPU.
    let units = match (w.kind, types.first()) {
        (WorkerKind::EcsManaged, _) => f64::from(w.ecs_managed.cpu),
        (_, Some(t)) => price::vcpus(&t.name).unwrap_or(1.0) * 1_024.0,
        (_, None) => price::vcpus(w.types()[0]).unwrap_or(1.0) * 1_024.0,
    };
    let cpu = [256, 512, 1_024, 2_048, 4_096, 8_192, 16_384]
        .into_iter()
        .find(|&c| f64::from(c) >= units)
        .unwrap_or(16_384);
    (cpu, 2 * cpu)
}

/// Whether the job needs a GPU: `workers.gpu`, or an accelerated type.
fn needs_gpu(env: &Environment) -> bool {
    let w = &env.spec.workers;
    match w.kind {
        WorkerKind::Ec2 => w.gpu.is_some() || w.types().iter().any(|t| rules::is_accelerated(t)),
        WorkerKind::EcsManaged => {
            w.gpu.is_some()
                || w.instance_types
                    .iter()
                    .flatten()
                    .any(|t| rules::is_accelerated(t))
        }
        WorkerKind::Fargate | WorkerKind::Lambda => false,
    }
}

/// AWS's management fee an instance-hour of `ty` in `region` (low, high): the pricing page's
/// own figure for its example type, else [`FEE_SHARE_RANGE`] of the on-demand price.
pub fn fee_hour(region: &str, ty: &str) -> Option<(f64, f64)> {
    if (region, ty) == ("us-east-1", FEE_EXAMPLE.0) {
        return Some((FEE_EXAMPLE.1, FEE_EXAMPLE.1));
    }
    let h = price::instance_hour(region, ty)?;
    Some((h * FEE_SHARE_RANGE.0, h * FEE_SHARE_RANGE.1))
}

/// `lines` with `extra` added under `workers:` (its first line), or before them.
fn under_workers(lines: &str, extra: &str) -> String {
    match lines.strip_prefix("workers:\n") {
        Some(rest) => format!("workers:\n{extra}{rest}"),
        None => format!("workers:\n{extra}{lines}"),
    }
}

fn refused(kind: Kind, ty: Option<&str>, why: String) -> KindRow {
    KindRow {
        kind,
        instance_type: ty.map(str::to_string),
        start_seconds: None,
        min: None,
        max: None,
        target: None,
        max_concurrency: None,
        p99: None,
        cost_per_day_usd: None,
        lines: None,
        refused: Some(why),
        over_budget: false,
    }
}

/// A row from a tuning's cheapest choice, `cost` its day's USD range.
fn tuned_row(
    kind: Kind,
    ty: Option<&str>,
    start: u64,
    t: &Tuning,
    cost: impl Fn(&Choice) -> Option<(f64, f64)>,
    lines: impl Fn(&str) -> String,
) -> KindRow {
    let Some(best) = t.choices.first() else {
        return KindRow {
            start_seconds: Some(start),
            ..refused(
                kind,
                ty,
                t.reason
                    .clone()
                    .unwrap_or_else(|| "nothing meets the goal".into()),
            )
        };
    };
    let cost = cost(best);
    KindRow {
        kind,
        instance_type: ty.map(str::to_string),
        start_seconds: Some(start),
        min: Some(best.min),
        max: Some(best.max),
        target: Some(best.target),
        max_concurrency: None,
        p99: best.p99,
        cost_per_day_usd: cost,
        lines: Some(lines(&best.lines)),
        refused: cost
            .is_none()
            .then(|| "price missing from the table".to_string()),
        over_budget: false,
    }
}

/// The types EC2 and ECS Managed Instances rows are for: `--instance-types`', else the
/// file's first (an EC2 file's, or the first a Managed Instances file allows).
fn types_of(env: &Environment, types: Option<&[TypeSpec]>) -> Vec<TypeSpec> {
    match types {
        Some(t) => t.to_vec(),
        None if env.spec.workers.kind == WorkerKind::Ec2 => vec![TypeSpec {
            name: env.spec.workers.types()[0].to_string(),
            per_instance: None,
            seconds_per_message: None,
        }],
        // A Managed Instances file's first allowed type, when it names one.
        None if env.spec.workers.kind == WorkerKind::EcsManaged => env
            .spec
            .workers
            .instance_types
            .iter()
            .flatten()
            .take(1)
            .map(|t| TypeSpec {
                name: t.clone(),
                per_instance: None,
                seconds_per_message: None,
            })
            .collect(),
        None => Vec::new(),
    }
}

/// The EC2 rows, and each type's tuning (the lines of the cheapest).
fn ec2_rows(
    env: &Environment,
    a: &Assumptions,
    types: &[TypeSpec],
    runs: &mut tune::Runs,
    out: &mut Vec<(KindRow, Option<Tuning>)>,
) -> Result<()> {
    let file_kind = env.spec.workers.kind;
    let ec2 = as_kind(
        env,
        WorkerKind::Ec2,
        env.spec.workers.fargate.cpu,
        env.spec.workers.fargate.memory,
    );
    for t in types {
        let own = assumptions_for(a, t);
        let typed = tune::as_type(&ec2, &t.name);
        let start = own.launch_time(&typed.spec.workers);
        let tuning = tune::tune_with(&ec2, &own, Some(&t.name), runs)?;
        let row = tuned_row(
            Kind::Ec2,
            Some(&t.name),
            start,
            &tuning,
            |c| c.cost_per_day_usd.map(|d| (d, d)),
            |l| {
                if file_kind == WorkerKind::Ec2 {
                    l.to_string()
                } else {
                    under_workers(l, &format!("  kind: ec2\n  instance_type: {}\n", t.name))
                }
            },
        );
        out.push((row, Some(tuning)));
    }
    Ok(())
}

/// The ECS Managed Instances rows: Fargate's service model, one task an instance, started in
/// the type's launch and [`PLACEMENT`]'s slow end, priced at the instance and the fee.
fn ecs_managed_rows(
    env: &Environment,
    a: &Assumptions,
    types: &[TypeSpec],
    runs: &mut tune::Runs,
    out: &mut Vec<(KindRow, Option<Tuning>)>,
) -> Result<()> {
    let ec2 = as_kind(env, WorkerKind::Ec2, 1_024, 2_048);
    // One vCPU a task: the tuning's resources a day are its task-hours.
    let service = as_kind(env, WorkerKind::Fargate, 1_024, 2_048);
    let region = &env.spec.region;
    for t in types {
        let own = assumptions_for(a, t);
        let launch = own.launch_time(&tune::as_type(&ec2, &t.name).spec.workers);
        let start = launch + PLACEMENT.1;
        let own = with_start(&own, Some(start));
        let mut tuning = tune::tune_with(&service, &own, None, runs)?;
        let hour = price::instance_hour(region, &t.name);
        let fee = fee_hour(region, &t.name);
        let day = |c: &Choice| -> Option<(f64, f64)> {
            let (h, (lo, hi)) = (hour?, fee?);
            Some((
                c.resources_per_day * (h + lo),
                c.resources_per_day * (h + hi),
            ))
        };
        // The choices' own costs: the instance and the fee's high end, not Fargate's price.
        for c in &mut tuning.choices {
            c.cost_per_day_usd = day(c).map(|d| d.1);
            c.cost_per_month_usd = c.cost_per_day_usd.map(|d| d * 30.0);
        }
        tuning.resource_unit = "task-hours";
        tuning.launch = Some(format!(
            "{start} s: the instance's launch ({launch} s, as for EC2) and {} s for ECS to place the task on it and start it ({}–{} s modelled, its slow end)",
            PLACEMENT.1, PLACEMENT.0, PLACEMENT.1
        ));
        let extra = format!("  kind: ecs_managed\n  instance_types: [{}]\n", t.name);
        let row = tuned_row(Kind::EcsManaged, Some(&t.name), start, &tuning, day, |l| {
            under_workers(l, &extra)
        });
        for c in &mut tuning.choices {
            c.lines = under_workers(&c.lines, &extra);
        }
        out.push((row, Some(tuning)));
    }
    Ok(())
}

/// The Fargate row: the file's task size, today's model and prices.
fn fargate_row(
    env: &Environment,
    a: &Assumptions,
    (cpu, memory): (u32, u32),
    runs: &mut tune::Runs,
) -> Result<(KindRow, Option<Tuning>)> {
    if needs_gpu(env) {
        return Ok((
            refused(
                Kind::Fargate,
                None,
                "no GPUs on Fargate (a task definition's gpu is not valid there)".into(),
            ),
            None,
        ));
    }
    let fargate = as_kind(env, WorkerKind::Fargate, cpu, memory);
    let start = a.launch_time(&fargate.spec.workers);
    let tuning = tune::tune_with(&fargate, a, None, runs)?;
    let extra = if env.spec.workers.kind == WorkerKind::Fargate {
        String::new()
    } else {
        format!("  kind: fargate\n  fargate: {{cpu: {cpu}, memory: {memory}}}\n")
    };
    let row = tuned_row(
        Kind::Fargate,
        None,
        start,
        &tuning,
        |c| c.cost_per_day_usd.map(|d| (d, d)),
        |l| under_workers(l, &extra),
    );
    Ok((row, Some(tuning)))
}

/// Why Lambda cannot run the job, if it cannot.
fn lambda_refusal(env: &Environment, a: &Assumptions, memory: u32) -> Option<String> {
    if needs_gpu(env) {
        return Some(
            "no GPUs on Lambda (a function has memory and storage, no accelerator)".into(),
        );
    }
    let s = a
        .seconds_per_message
        .or(env.spec.scaling.seconds_per_message)
        .unwrap_or_default();
    let longest = s * (1.0 + a.spread);
    if longest > LAMBDA_TIMEOUT_MAX as f64 {
        return Some(format!(
            "a job takes up to {longest:.0} s, over Lambda's 15 minutes"
        ));
    }
    (memory > LAMBDA_MEMORY_MAX)
        .then(|| format!("a job needs {memory} MB, over Lambda's {LAMBDA_MEMORY_MAX} MB"))
}

/// The Lambda row: the smallest maximum concurrency (2 to 1,000) whose runs meet the goal
/// under the load and every check of `--tune`, one message an invocation, the task size's
/// memory, a timeout of twice the longest job (at most 15 minutes).
fn lambda_row(env: &Environment, a: &Assumptions, memory: u32) -> Result<KindRow> {
    let memory = memory.max(128);
    if let Some(why) = lambda_refusal(env, a, memory) {
        return Ok(refused(Kind::Lambda, None, why));
    }
    let goal = super::goal_of(env, a).ok_or_else(|| Error::TuneNoGoal {
        env: env.name.clone(),
    })?;
    let s = a
        .seconds_per_message
        .or(env.spec.scaling.seconds_per_message)
        .unwrap_or(1.0);
    let timeout = ((s * (1.0 + a.spread) * 2.0).ceil() as u64).clamp(1, LAMBDA_TIMEOUT_MAX);
    let mut lambda = as_kind(env, WorkerKind::Lambda, 1_024, memory);
    let l = &mut lambda.spec.workers.lambda;
    l.memory_mb = memory;
    l.timeout = Seconds(timeout);
    l.batch_size = 1;
    l.batching_window = Seconds(0);
    l.provisioned_pollers = None;
    let mut base = super::params(&lambda, a)?;
    if a.load.period(a.duration) == super::load::Period::Once {
        base.duration = base.duration.max(86_400);
    }
    let mut arrivals = a.load.arrivals(base.duration, a.seed);
    super::schedules::of(env, base.duration, a.seed).add_to(&mut arrivals);
    let mut loads = vec![(a.seed, arrivals)];
    for c in tune::checks(&a.load, a.seed, a.margin, base.duration) {
        let mut arr = c.arrivals;
        super::schedules::of(env, base.duration, c.seed).add_to(&mut arr);
        loads.push((c.seed, arr));
    }
    let with = |m: u64, seed: u64| {
        let mut p = base.clone();
        p.seed = seed;
        if let Fleet::Lambda {
            max_concurrency, ..
        } = &mut p.fleet
        {
            *max_concurrency = m;
        }
        p
    };
    let mut meets = |m: u64| -> Option<(Report, Option<u64>)> {
        let ps: Vec<_> = loads.iter().map(|(seed, _)| with(m, *seed)).collect();
        let each: Vec<_> = ps
            .iter()
            .zip(&loads)
            .map(|(p, (_, arr))| (p, arr.as_slice()))
            .collect();
        let results = range::run_each_if_met(&each, goal);
        if results.len() < loads.len() || results.iter().any(Option::is_none) {
            return None;
        }
        let mut worst = None;
        let mut first = None;
        for (i, r) in results.into_iter().enumerate() {
            let (o, runs) = r?;
            worst = worst.max(runs.iter().filter_map(|x| x.p99).max());
            if i == 0 {
                first = Some(run_result::build(&lambda, a, &ps[0], o, runs));
            }
        }
        Some((first?, worst))
    };
    let found = tune::smallest(2, rules::LAMBDA_MAX, &mut meets);
    let Some((m, (report, p99))) = found else {
        return Ok(refused(
            Kind::Lambda,
            None,
            format!(
                "nothing up to {} concurrent invocations meets the {goal} s goal under the load and every check",
                rules::LAMBDA_MAX
            ),
        ));
    };
    let cost = report.cost.per_day_usd;
    Ok(KindRow {
        kind: Kind::Lambda,
        instance_type: None,
        start_seconds: None,
        min: None,
        max: None,
        target: None,
        max_concurrency: Some(m),
        p99,
        cost_per_day_usd: cost.map(|d| (d, d)),
        lines: Some(format!(
            "workers:\n  kind: lambda\n  lambda:\n    memory_mb: {memory}\n    timeout: {timeout}s\n    batch_size: 1\n    max_concurrency: {m}\n"
        )),
        refused: cost
            .is_none()
            .then(|| "price missing from the table".to_string()),
        over_budget: false,
    })
}

/// The ranking key: priced with a choice by the high end of its cost, then a choice without
/// a price, then refused or nothing found.
fn rank(r: &KindRow) -> (u8, f64) {
    match (r.lines.is_some(), r.cost_per_day_usd) {
        (true, Some((_, hi))) => (0, hi),
        (true, None) => (1, 0.0),
        (false, _) => (2, 0.0),
    }
}

/// Every kind asked for, tuned (EC2 and ECS Managed Instances once for each type), ranked;
/// with the cheapest row's tuning (the first ranked EC2 or ECS row's when Lambda ranks
/// first, else the first tuning made) for the lines printed in full.
pub fn compare(
    env: &Environment,
    a: &Assumptions,
    kinds: &[Kind],
    types: Option<&[TypeSpec]>,
) -> Result<(Tuning, Kinds)> {
    if env.spec.workers.kind == WorkerKind::Lambda {
        return Err(Error::TuneLambda {
            env: env.name.clone(),
        });
    }
    // Every kind at the goal: the budget is said beside the rows, not a reason to drop one.
    let budget = env.spec.budget.clone();
    let mut free = env.clone();
    free.spec.budget = None;
    let env = &free;
    let types = types_of(env, types);
    let size = task_size(env, &types);
    let mut rows: Vec<(KindRow, Option<Tuning>)> = Vec::new();
    let mut runs = tune::Runs::default();
    for &k in kinds {
        match k {
            Kind::Ec2 | Kind::EcsManaged if types.is_empty() => rows.push((
                refused(
                    k,
                    None,
                    "no instance type: give --instance-types".to_string(),
                ),
                None,
            )),
            Kind::Ec2 => ec2_rows(env, a, &types, &mut runs, &mut rows)?,
            Kind::EcsManaged => ecs_managed_rows(env, a, &types, &mut runs, &mut rows)?,
            Kind::Fargate => rows.push(fargate_row(env, a, size, &mut runs)?),
            Kind::Lambda => rows.push((lambda_row(env, a, size.1)?, None)),
        }
    }
    rows.sort_by(|(x, _), (y, _)| {
        let (kx, ky) = (rank(x), rank(y));
        kx.0.cmp(&ky.0).then(kx.1.total_cmp(&ky.1))
    });
    let priced: Vec<(f64, f64)> = rows
        .iter()
        .filter(|(r, _)| rank(r).0 == 0)
        .filter_map(|(r, _)| r.cost_per_day_usd)
        .collect();
    if let Some(b) = &budget {
        for (r, _) in &mut rows {
            r.over_budget = r
                .cost_per_day_usd
                .is_some_and(|(_, hi)| hi > b.per_day_usd());
        }
    }
    // The order holds when it is the same ranked by the low ends.
    let order_holds = priced.windows(2).all(|w| w[0].0 <= w[1].0);
    let cheapest = rows
        .first()
        .filter(|(r, _)| rank(r).0 == 0)
        .map(|(r, _)| label(r));
    let tuning = rows
        .iter()
        .find_map(|(_, t)| t.clone())
        .ok_or_else(|| Error::FlagValue {
            flag: FLAG,
            value: kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(","),
            why: "no kind asked for could be tuned: add ec2 or ecs_managed with --instance-types, or fargate".into(),
        })?;
    Ok((
        tuning,
        Kinds {
            rows: rows.into_iter().map(|(r, _)| r).collect(),
            cheapest,
            order_holds,
            budget: budget.as_ref().map(super::budget::words),
            figures: figures(env, a, &types, size),
        },
    ))
}

/// A row's name: its kind, and its type.
fn label(r: &KindRow) -> String {
    match &r.instance_type {
        Some(t) => format!("{} {t}", r.kind.as_str()),
        None => r.kind.as_str().to_string(),
    }
}

/// The figures the comparison rests on: AWS's with their pages, the modelled with ranges.
fn figures(
    env: &Environment,
    a: &Assumptions,
    types: &[TypeSpec],
    (cpu, memory): (u32, u32),
) -> Vec<Figure> {
    let region = &env.spec.region;
    let aws = |what: String, value: String, source: &str| Figure {
        what,
        value,
        basis: "aws",
        source: source.to_string(),
    };
    let modelled = |what: String, value: String, source: &str| Figure {
        what,
        value,
        basis: "modelled",
        source: source.to_string(),
    };
    let mut out = Vec::new();
    for t in types {
        if let Some(h) = price::instance_hour(region, &t.name) {
            out.push(aws(
                format!("{} on demand in {region}", t.name),
                format!("${h}/h"),
                EC2_PRICING,
            ));
        }
    }
    out.push(aws(
        "ECS Managed Instances fee, AWS's example".into(),
        format!("${}/h for {}", FEE_EXAMPLE.1, FEE_EXAMPLE.0),
        ECS_PRICING,
    ));
    out.push(modelled(
        "ECS Managed Instances fee, other types".into(),
        format!(
            "{:.0}–{:.0} % of on demand",
            FEE_SHARE_RANGE.0 * 100.0,
            FEE_SHARE_RANGE.1 * 100.0
        ),
        "half to twice the example's share; ranked at the high end",
    ));
    let ec2 = as_kind(env, WorkerKind::Ec2, 1_024, 2_048);
    let launch = types
        .first()
        .map(|t| a.launch_time(&tune::as_type(&ec2, &t.name).spec.workers));
    if let Some(l) = launch {
        out.push(modelled(
            "EC2 launch".into(),
            format!("{l} s"),
            "qfleet's default for the type (docs/simulate.md); --launch-time",
        ));
    }
    out.push(modelled(
        "ECS Managed Instances start".into(),
        format!("EC2 launch + {}–{} s", PLACEMENT.0, PLACEMENT.1),
        "AWS gives no figure; tuned at the slow end",
    ));
    out.push(modelled(
        "Fargate task start".into(),
        format!("{} s", rules::FARGATE_TASK_START),
        "qfleet's default (docs/simulate.md); --launch-time",
    ));
    if env.spec.workers.kind != WorkerKind::Fargate {
        out.push(modelled(
            "Fargate task, Lambda memory".into(),
            format!(
                "{} vCPU, {} GB",
                f64::from(cpu) / 1_024.0,
                f64::from(memory) / 1_024.0
            ),
            "the type's vCPUs, 2 GB each (Fargate's least)",
        ));
    }
    let arm = env.spec.workers.fargate.platform == crate::config::Platform::LinuxArm64;
    if let Some(h) = price::fargate_task_hour(region, arm, cpu, memory) {
        out.push(aws(
            format!(
                "Fargate task of {} vCPU, {} GB",
                f64::from(cpu) / 1_024.0,
                f64::from(memory) / 1_024.0
            ),
            format!("${h:.5}/h"),
            FARGATE_PRICING,
        ));
    }
    out.push(aws("Fargate GPUs".into(), "none".into(), FARGATE_NO_GPU));
    out.push(aws(
        "Lambda per GB-second and request".into(),
        "the table's".into(),
        LAMBDA_PRICING,
    ));
    out.push(aws(
        "Lambda limits".into(),
        "15 min, 10,240 MB, no GPU".into(),
        LAMBDA_LIMITS,
    ));
    out
}

/// The text: the cheapest row, the ranked table, the figures, then each runnable row's
/// lines.
pub fn text(name: &str, k: &Kinds) -> String {
    let usd = |c: Option<(f64, f64)>| match c {
        Some((lo, hi)) if (hi - lo).abs() < 0.005 => format!("${hi:.2}"),
        Some((lo, hi)) => format!("${lo:.2}–{hi:.2}"),
        None => "-".to_string(),
    };
    let mut s = match k.rows.first().filter(|_| k.cheapest.is_some()) {
        Some(r) => format!(
            "{name}: the cheapest kind at the goal is {}: {} a day{}.\n\n",
            row_name(r),
            usd(r.cost_per_day_usd),
            if k.order_holds {
                " (the order holds across every modelled range)"
            } else {
                " (the order of some rows depends on a modelled figure: see its range)"
            }
        ),
        None => format!(
            "{name}: no kind compared has both a price and settings that meet the goal.\n\n"
        ),
    };
    let dash = || "-".to_string();
    let rows = k.rows.iter().enumerate().map(|(i, r)| {
        vec![
            (i + 1).to_string(),
            row_name(r),
            r.start_seconds.map_or_else(dash, |v| format!("{v} s")),
            match (r.min, r.max, r.max_concurrency) {
                (Some(lo), Some(hi), _) => format!("{lo}–{hi}"),
                (_, _, Some(m)) => format!("concurrency {m}"),
                _ => dash(),
            },
            r.target.map_or_else(dash, |t| format!("{t:.2}")),
            r.p99.map_or_else(dash, |p| format!("{p} s")),
            if r.lines.is_some() {
                usd(r.cost_per_day_usd)
            } else {
                "refused".to_string()
            },
        ]
    });
    s.push_str(&crate::text::table(
        &[
            "#",
            "kind",
            "start",
            "workers",
            "target",
            "worst p99",
            "a day",
        ],
        rows,
    ));
    s.push('\n');
    for r in &k.rows {
        if let Some(why) = &r.refused {
            s.push_str(&format!("({}: {why})\n", row_name(r)));
        }
    }
    if let Some(b) = &k.budget {
        let over: Vec<String> = k
            .rows
            .iter()
            .filter(|r| r.over_budget)
            .map(row_name)
            .collect();
        s.push_str(&format!(
            "(budget: {b}; each kind is tuned at the goal without it{})\n",
            if over.is_empty() {
                String::new()
            } else {
                format!("; over it: {}", over.join(", "))
            }
        ));
    }
    s.push_str(
        "\nFigures (aws: AWS's, from the page; modelled: a range, the ranking held across it):\n",
    );
    for f in &k.figures {
        s.push_str(&format!(
            "  {:<8} {}: {} ({})\n",
            f.basis, f.what, f.value, f.source
        ));
    }
    for r in k.rows.iter().filter(|r| r.lines.is_some()) {
        s.push_str(&format!("\nLines for {}:\n", row_name(r)));
        for l in r.lines.as_deref().unwrap_or_default().lines() {
            s.push_str(&format!("  {l}\n"));
        }
    }
    s
}

fn row_name(r: &KindRow) -> String {
    match &r.instance_type {
        Some(t) => format!("{} {t}", r.kind.words()),
        None => r.kind.words().to_string(),
    }
}

#[cfg(test)]
mod tests;
