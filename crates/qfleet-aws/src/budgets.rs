//! A budget's spend as AWS Budgets has calculated it (`budget` in the stack file;
//! docs/budget.md): DescribeBudget's `CalculatedSpend`, which AWS updates up to three times a
//! day (<https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DescribeBudget.html>,
//! <https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CalculatedSpend.html>).

use super::Result;
use super::json_api::JsonApi;
use serde::Deserialize;
use serde_json::json;

/// What AWS Budgets says of one budget.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct BudgetSpend {
    /// The budget's amount, USD a period.
    pub limit_usd: Option<f64>,
    /// What the period has cost so far; `null` before AWS has calculated it.
    pub actual_usd: Option<f64>,
    /// What AWS forecasts for the whole period; `null` without a forecast (AWS needs weeks of
    /// data to make one).
    pub forecast_usd: Option<f64>,
    /// When AWS last updated the figures (epoch seconds).
    pub updated_at: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Described {
    budget: Option<Budget>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Budget {
    budget_limit: Option<Spend>,
    calculated_spend: Option<Calculated>,
    last_updated_time: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Calculated {
    actual_spend: Option<Spend>,
    forecasted_spend: Option<Spend>,
}

/// A Spend: `Amount` is a decimal string, in `Unit` (USD for a cost budget).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Spend {
    amount: String,
    unit: Option<String>,
}

impl Spend {
    /// The amount in US dollars; another unit or an unreadable amount is not a figure.
    fn usd(&self) -> Option<f64> {
        match self.unit.as_deref() {
            None | Some("USD") => self.amount.trim().parse().ok(),
            Some(_) => None,
        }
    }
}

/// The spend of budget `name` of `account`; `None` when AWS has no such budget
/// (NotFoundException).
pub async fn describe_budget(
    budgets: &JsonApi,
    account: &str,
    name: &str,
) -> Result<Option<BudgetSpend>> {
    let what = format!("reading budget {name}");
    let out: Described = match budgets
        .call(
            &what,
            "DescribeBudget",
            &json!({"AccountId": account, "BudgetName": name}),
        )
        .await
    {
        Ok(o) => o,
        Err(e) => return e.into_absent(),
    };
    Ok(out.budget.map(|b| {
        let spent = b.calculated_spend.as_ref();
        BudgetSpend {
            limit_usd: b.budget_limit.as_ref().and_then(Spend::usd),
            actual_usd: spent
                .and_then(|c| c.actual_spend.as_ref())
                .and_then(Spend::usd),
            forecast_usd: spent
                .and_then(|c| c.forecasted_spend.as_ref())
                .and_then(Spend::usd),
            updated_at: b.last_updated_time,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_api::{BUDGETS, JsonApi};
    use crate::signed::fake::Fake;

    fn budgets(answer: (u16, serde_json::Value)) -> (JsonApi, Fake) {
        let fake = Fake::new(move |_| (answer.0, answer.1.to_string()));
        (JsonApi::with_http_client(BUDGETS, fake.client()), fake)
    }

    #[tokio::test]
    async fn a_budget_s_spend_is_read_as_aws_answers_it() {
        let (api, fake) = budgets((
            200,
            json!({"Budget": {
                "BudgetName": "qfleet-shop-eu-west-1-534addb3",
                "BudgetLimit": {"Amount": "300.0", "Unit": "USD"},
                "CalculatedSpend": {
                    "ActualSpend": {"Amount": "42.17", "Unit": "USD"},
                    "ForecastedSpend": {"Amount": "280.5", "Unit": "USD"}
                },
                "TimeUnit": "MONTHLY",
                "BudgetType": "COST",
                "LastUpdatedTime": 1764374400.0
            }}),
        ));
        let got = describe_budget(&api, "111122223333", "qfleet-shop-eu-west-1-534addb3")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            got,
            BudgetSpend {
                limit_usd: Some(300.0),
                actual_usd: Some(42.17),
                forecast_usd: Some(280.5),
                updated_at: Some(1764374400.0),
            }
        );
        let seen = &fake.requests()[0];
        assert_eq!(seen.target(), Some("DescribeBudget"));
        assert_eq!(
            seen.headers.get("x-amz-target").map(String::as_str),
            Some("AWSBudgetServiceGateway.DescribeBudget")
        );
        assert_eq!(
            seen.json(),
            json!({"AccountId": "111122223333", "BudgetName": "qfleet-shop-eu-west-1-534addb3"})
        );
    }

    /// Before AWS has calculated anything: no figures, never zero.
    #[tokio::test]
    async fn a_budget_not_yet_calculated_has_no_figures() {
        let (api, _) = budgets((
            200,
            json!({"Budget": {"BudgetName": "b", "BudgetLimit": {"Amount": "10", "Unit": "USD"}}}),
        ));
        let got = describe_budget(&api, "111122223333", "b")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((got.actual_usd, got.forecast_usd), (None, None));
        assert_eq!(got.limit_usd, Some(10.0));
    }

    /// No such budget is absent; any other failure (here: no permission) an error.
    #[tokio::test]
    async fn a_missing_budget_is_absent_and_a_refusal_an_error() {
        let (api, _) = budgets((
            400,
            json!({"__type": "NotFoundException", "Message": "Unable to get budget: b - the budget doesn't exist."}),
        ));
        assert_eq!(describe_budget(&api, "1", "b").await.unwrap(), None);
        let (api, _) = budgets((
            400,
            json!({"__type": "AccessDeniedException", "Message": "not authorized to perform: budgets:ViewBudget"}),
        ));
        let e = describe_budget(&api, "1", "b").await.unwrap_err();
        assert!(e.to_string().contains("budgets:ViewBudget"), "{e}");
    }
}
