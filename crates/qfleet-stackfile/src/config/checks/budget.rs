//! `budget` (docs/budget.md): an AWS Budgets budget on the environment's tag, whose notices
//! reach the alarm topic.

use super::{Checker, Environment};

/// The most notifications a budget takes: "A budget can have up to five notifications"
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-budgets-budget.html>,
/// NotificationsWithSubscribers).
pub const MAX_NOTIFICATIONS: usize = 5;

/// The largest amount qfleet takes, USD a period: far above any worker fleet's, so a typo of
/// a few zeros is caught.
const MAX_AMOUNT: u64 = 1_000_000;

/// The highest threshold, in percent of the amount: ten times the budget.
const MAX_PERCENT: u64 = 1000;

pub(super) fn check(c: &mut Checker, env: &Environment) {
    let Some(budget) = &env.spec.budget else {
        return;
    };
    c.range("budget.amount", budget.amount.into(), 1, MAX_AMOUNT, " USD");
    if c.src.sets("budget.notify_at") && budget.notify_at.is_empty() {
        c.fail(
            "budget.notify_at",
            format!("is empty: list 1 to {MAX_NOTIFICATIONS} percentages, or leave it out for 80 and 100"),
        );
    }
    if budget.notify_at.len() > MAX_NOTIFICATIONS {
        c.fail(
            "budget.notify_at",
            format!(
                "lists {} percentages: AWS Budgets takes at most {MAX_NOTIFICATIONS} notifications a budget",
                budget.notify_at.len()
            ),
        );
    }
    for (i, p) in budget.notify_at.iter().enumerate() {
        let field = format!("budget.notify_at.{i}");
        if budget.notify_at[..i].contains(p) {
            c.fail(&field, format!("{p} is listed twice"));
        } else {
            c.range(&field, (*p).into(), 1, MAX_PERCENT, " %");
        }
    }
    if budget.hold {
        check_hold(c, env, budget);
    }
    // A budget's notices are published to the alarm topic, whose policy `alerts` writes: SNS's
    // default policy lets no service publish (the budget's grant is a statement of it).
    if env.spec.alerts.is_none() {
        c.fail(
            "budget",
            "a budget's notices go where the alarms go: add alerts (alerts.email, a topic or a chat channel; docs/alerts.md), or remove budget",
        );
    }
}

/// `budget.hold`: the notice at 100 % starts it, and it holds fleets of instances or tasks.
fn check_hold(c: &mut Checker, env: &Environment, budget: &crate::config::BudgetSpec) {
    if !budget.thresholds().contains(&100) {
        c.fail(
            "budget.hold",
            "starts with the budget's notice at 100 %: add 100 to budget.notify_at",
        );
    }
    let held = env
        .stages()
        .iter()
        .any(|s| s.spec.workers.kind != crate::config::WorkerKind::Lambda);
    if !held {
        c.fail(
            "budget.hold",
            "holds EC2 and Fargate fleets, and every stage here runs on Lambda: a function's cost follows its jobs, not a fleet's size, so holding it would only delay them. Remove hold, or lower workers.lambda.max_concurrency",
        );
    }
}
