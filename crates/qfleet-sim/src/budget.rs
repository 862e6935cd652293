//! `budget` (docs/budget.md) as the simulator knows it: what the workers cost a day at their
//! maximum, from qfleet's price table, against the budget's day (`--tune` keeps its choices
//! within that day: `tune::within_budget`).
//!
//! The price table is on demand: a Spot share costs less, so a fleet within the budget on
//! demand is within it on Spot too. A month's amount is spread over 31 days, the longest
//! month, so a fleet within a day's share is within any month's amount.

use crate::config::{BudgetSpec, Environment, Platform, WorkerKind};

/// Seconds in a day.
const DAY: f64 = 86_400.0;

/// The budget's day share in words: "$6.45 a day ($200 a month over 31 days)" or "$20 a
/// day".
pub fn words(b: &BudgetSpec) -> String {
    match b.period {
        crate::config::BudgetPeriod::Day => format!("${} a day", b.amount),
        crate::config::BudgetPeriod::Month => format!(
            "${:.2} a day (${} a month over 31 days)",
            b.per_day_usd(),
            b.amount
        ),
    }
}

/// What one stage's workers cost a day at their maximum, USD on demand: every instance or
/// task of `workers.max` running all day (the most expensive of `instance_types`), or a
/// function's every invocation `workers.lambda.max_concurrency` allows running all day
/// (compute alone; provisioned pollers are not priced). `Err`: what the table does not price.
pub fn max_day_usd(env: &Environment) -> Result<f64, String> {
    let spec = &env.spec;
    let w = &spec.workers;
    let region = spec.region.as_str();
    match w.kind {
        WorkerKind::Ec2 => {
            let mut most: f64 = 0.0;
            for ty in w.types() {
                let hour = crate::price::instance_hour(region, ty)
                    .ok_or_else(|| format!("{ty} in {region}"))?;
                most = most.max(hour);
            }
            Ok(most * 24.0 * w.max.max(0) as f64)
        }
        // ECS may place several tasks on one instance; one instance a task, of the dearest
        // type the file allows, is the most a day can cost, and the management fee on top.
        WorkerKind::EcsManaged => {
            let Some(types) = &w.instance_types else {
                return Err(format!(
                    "ECS Managed Instances in {region} without workers.instance_types (ECS chooses the types)"
                ));
            };
            let mut most: f64 = 0.0;
            for ty in types {
                let hour = crate::price::instance_hour(region, ty)
                    .ok_or_else(|| format!("{ty} in {region}"))?;
                most = most.max(hour * (1.0 + crate::price::ECS_MANAGED_FEE_SHARE));
            }
            Ok(most * 24.0 * w.max.max(0) as f64)
        }
        WorkerKind::Fargate => {
            let arm = w.fargate.platform == Platform::LinuxArm64;
            let hour =
                crate::price::fargate_task_hour(region, arm, w.fargate.cpu, w.fargate.memory)
                    .ok_or_else(|| format!("Fargate in {region}"))?;
            Ok(hour * 24.0 * w.max.max(0) as f64)
        }
        WorkerKind::Lambda => {
            let l = &w.lambda;
            // Provisioned pollers are billed by the hour, a price the table does not hold;
            // their invocations reach 10 × the maximum pollers, not max_concurrency.
            if l.provisioned_pollers.is_some() {
                return Err(format!("Lambda's provisioned pollers in {region}"));
            }
            let arm = l.architecture == crate::config::Architecture::Arm64;
            let gb_seconds = f64::from(l.max_concurrency) * f64::from(l.memory_mb) / 1_024.0 * DAY;
            crate::price::lambda(region, arm, gb_seconds, 0)
                .ok_or_else(|| format!("Lambda in {region}"))
        }
    }
}

/// The warning `qfleet validate` gives when the workers at their maximum all day would cost
/// more than the budget's day, or when the table cannot tell.
pub fn warning(env: &Environment) -> Option<String> {
    let budget = env.spec.budget.as_ref()?;
    let mut total = 0.0;
    for stage in env.stages() {
        match max_day_usd(stage) {
            Ok(usd) => total += usd,
            Err(what) => {
                return Some(format!(
                    "budget: qfleet's price table has no price for {what}, so it cannot tell whether the workers at their maximum stay within the budget's {} (docs/budget.md)",
                    words(budget)
                ));
            }
        }
    }
    // With budget.hold the fleet stops growing at the cap, hours after the cost (AWS Budgets'
    // figures lag), and keeps running at its size: the period can still end over the amount.
    let stops = if budget.hold {
        "and budget.hold then holds the fleet at its size, which can still cost more than the amount by the period's end"
    } else {
        "and nothing stops the fleet"
    };
    (total > budget.per_day_usd()).then(|| {
        format!(
            "budget: the workers at their maximum all day cost ${total:.2} a day on demand, over the budget's {}; AWS Budgets tells the alarm topic hours after the cost, {stops}: lower workers.max, or raise budget.amount (docs/budget.md)",
            words(budget)
        )
    })
}

#[cfg(test)]
mod tests;
