//! `budget` as the data template renders it (docs/budget.md): an AWS Budgets cost budget on
//! the environment's `qfleet:environment` tag in its region, whose notices reach the alarm
//! topic.

use crate::config::{BudgetPeriod, BudgetSpec, ENVIRONMENT_TAG, Environment};
use serde::Serialize;

#[derive(Serialize)]
pub(super) struct Budget {
    /// [`budget_name`].
    name: String,
    amount: u32,
    /// AWS Budgets' TimeUnit: DAILY or MONTHLY
    /// (<https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html>).
    time_unit: &'static str,
    /// The cost filter on the environment's tag: a user-defined cost allocation tag is
    /// `user:KEY$VALUE` in a budget's TagKeyValue filter
    /// (<https://docs.aws.amazon.com/cli/latest/reference/budgets/create-budget.html>).
    tag: String,
    /// Percentages of the amount, each an ACTUAL notification.
    thresholds: Vec<u32>,
}

/// The budget's logical id in the data template (templates/data.yaml.j2).
pub const BUDGET_ID: &str = "Budget";

/// The characters of a budget's name after [`super::ResourceNames::budget`].
pub const DIGEST_LEN: usize = 8;

/// A budget's name: `qfleet-ENV-REGION-` and the first [`DIGEST_LEN`] hex digits of the
/// SHA-256 of its thresholds. CloudFormation replaces a budget whose notifications change
/// (the resource's `createOnlyProperties` hold `NotificationsWithSubscribers` and
/// `BudgetName`, <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-budgets-budget.html>),
/// and cannot replace a resource under the same custom name ("If you must replace the
/// resource, specify a new name",
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html>):
/// new thresholds, a new name.
pub fn budget_name(env: &Environment, b: &BudgetSpec) -> String {
    let thresholds: Vec<String> = b.thresholds().iter().map(u32::to_string).collect();
    let digest = super::fingerprint::fingerprint(&thresholds.join(","));
    format!(
        "{}{}",
        super::ResourceNames::of(env).budget,
        &digest[..DIGEST_LEN]
    )
}

impl Budget {
    pub(super) fn of(env: &Environment, b: &BudgetSpec) -> Budget {
        Budget {
            name: budget_name(env, b),
            amount: b.amount,
            time_unit: match b.period {
                BudgetPeriod::Day => "DAILY",
                BudgetPeriod::Month => "MONTHLY",
            },
            tag: format!("user:{ENVIRONMENT_TAG}${}", env.resource_name()),
            thresholds: b.thresholds(),
        }
    }
}
