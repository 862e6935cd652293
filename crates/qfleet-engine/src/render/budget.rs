//! `budget` as the data template renders it (docs/budget.md): an AWS Budgets cost budget on
//! the environment's `qfleet:environment` tag in its region, whose notices reach the alarm
//! topic.

use crate::config::{BudgetPeriod, BudgetSpec, ENVIRONMENT_TAG, Environment, WorkerKind};
use serde::Serialize;
use serde_json::json;

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
    /// With `budget.hold`: what the hold's function holds, and its code.
    hold: Option<Hold>,
}

/// The budget hold as the data template renders it (`budget.hold`; qfleet_budget_hold.py).
#[derive(Serialize)]
struct Hold {
    /// The fleets, as the function reads them (`QFLEET_FLEETS`): each EC2 stage's group and
    /// each Fargate stage's service, with the file's `workers.max` to give back.
    fleets: String,
    /// The EC2 stages' groups, whose maximum and tags its role may change.
    groups: Vec<String>,
    /// The Fargate stages' services (cluster and service names), whose desired count it reads.
    services: Vec<Service>,
    /// The function's code: [`hold_code`].
    code: String,
}

#[derive(Serialize)]
struct Service {
    cluster: String,
    service: String,
}

impl Hold {
    fn of(env: &Environment) -> Hold {
        let mut fleets = Vec::new();
        let (mut groups, mut services) = (Vec::new(), Vec::new());
        for stage in env.stages() {
            let names = super::ResourceNames::of(stage);
            let name = stage.pipeline_stage().map(|s| s.name.clone());
            let max = stage.spec.workers.max;
            match stage.spec.workers.kind {
                WorkerKind::Ec2 => {
                    fleets.push(json!({"stage": name, "group": names.asg, "max": max}));
                    groups.push(names.asg);
                }
                WorkerKind::Fargate | WorkerKind::EcsManaged => {
                    fleets.push(json!({
                        "stage": name,
                        "service": format!("service/{}/{}", names.cluster, names.service),
                        "cluster": names.cluster,
                        "max": max,
                    }));
                    services.push(Service {
                        cluster: names.cluster,
                        service: names.service,
                    });
                }
                // A function's cost follows its jobs, not a fleet's size: not held.
                WorkerKind::Lambda => {}
            }
        }
        Hold {
            fleets: serde_json::Value::Array(fleets).to_string(),
            groups,
            services,
            code: hold_code(),
        }
    }
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
            hold: b.hold.then(|| Hold::of(env)),
        }
    }
}

/// The budget hold's inline code: qfleet_budget_hold.py slimmed and gzipped, run by a line
/// that unpacks it under its own file name (so a traceback names it). In clear the module
/// takes about 7.5 KB of the data template, which the data stack's pipelines and jobs need;
/// packed, about 4 KB.
fn hold_code() -> String {
    let packed =
        super::embed::gzip_base64_line(&super::embed::slim_module(qfleet_runtime::BUDGET_HOLD));
    format!(
        "import base64, gzip\nexec(compile(gzip.decompress(base64.b64decode(\"{packed}\")), \"qfleet_budget_hold.py\", \"exec\"))\n"
    )
}
