//! A budget's spend as AWS Budgets has calculated it (`budget` in the stack file;
//! docs/budget.md): DescribeBudget's `CalculatedSpend`, which AWS updates up to three times a
//! day (<https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DescribeBudget.html>,
//! <https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CalculatedSpend.html>).

use super::Result;
use super::error::{AwsError, Kind};
use super::json_api::JsonApi;
use serde::Deserialize;
use serde_json::json;

/// What AWS Budgets says of one budget.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct BudgetSpend {
    /// The budget's amount as deployed, USD a period.
    pub limit_usd: f64,
    /// The period as deployed: `day`, `month`, or AWS's own word for another.
    pub period: String,
    /// What the period has cost so far; `null` before AWS has calculated it.
    pub actual_usd: Option<f64>,
    /// What AWS forecasts for the whole period; `null` without a forecast (AWS needs weeks of
    /// data to make one).
    pub forecast_usd: Option<f64>,
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
    time_unit: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Calculated {
    actual_spend: Option<Spend>,
    forecasted_spend: Option<Spend>,
}

/// A Spend: `Amount` a decimal string (`([0-9]*\.)?[0-9]+`) in `Unit`, both required
/// (<https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Spend.html>).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Spend {
    amount: String,
    unit: Option<String>,
}

impl Spend {
    /// The amount in US dollars: any other unit, no unit or an amount that is not a finite,
    /// non-negative number is an answer qfleet cannot read, never a figure.
    fn usd(&self, what: &str) -> Result<f64> {
        let bad = |why: String| AwsError::with_kind(format!("{what}: {why}"), Kind::Malformed);
        match self.unit.as_deref() {
            Some("USD") => {}
            Some(other) => return Err(bad(format!("AWS Budgets answered in {other}, not USD"))),
            None => return Err(bad("AWS Budgets gave an amount without its unit".into())),
        }
        match self.amount.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
            _ => Err(bad(format!("`{}` is not an amount", self.amount))),
        }
    }
}

/// The spend of budget `name` of `account`; `None` when AWS has no such budget
/// (NotFoundException). An answer without the budget is an error, not its absence.
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
    let Some(b) = out.budget else {
        return Err(AwsError::with_kind(
            format!("{what}: AWS Budgets answered without the budget"),
            Kind::Malformed,
        ));
    };
    let Some(limit) = &b.budget_limit else {
        return Err(AwsError::with_kind(
            format!("{what}: AWS Budgets answered without its amount"),
            Kind::Malformed,
        ));
    };
    let spent = b.calculated_spend.as_ref();
    Ok(Some(BudgetSpend {
        limit_usd: limit.usd(&what)?,
        period: match b.time_unit.as_deref() {
            Some("DAILY") => "day".into(),
            Some("MONTHLY") => "month".into(),
            Some(other) => other.to_ascii_lowercase(),
            None => "unknown".into(),
        },
        actual_usd: spent
            .and_then(|c| c.actual_spend.as_ref())
            .map(|s| s.usd(&what))
            .transpose()?,
        forecast_usd: spent
            .and_then(|c| c.forecasted_spend.as_ref())
            .map(|s| s.usd(&what))
            .transpose()?,
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
                "BudgetType": "COST"
            }}),
        ));
        let got = describe_budget(&api, "111122223333", "qfleet-shop-eu-west-1-534addb3")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            got,
            BudgetSpend {
                limit_usd: 300.0,
                period: "month".into(),
                actual_usd: Some(42.17),
                forecast_usd: Some(280.5),
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
        assert_eq!(got.limit_usd, 10.0);
    }

    /// An answer qfleet cannot read is an error, never a figure: another unit, no unit, an
    /// amount that is no amount, no budget in a 200.
    #[tokio::test]
    async fn an_answer_that_is_no_figure_is_an_error() {
        let with_actual = |spend: serde_json::Value| {
            json!({"Budget": {"BudgetName": "b", "TimeUnit": "DAILY",
                "BudgetLimit": {"Amount": "10", "Unit": "USD"},
                "CalculatedSpend": {"ActualSpend": spend}}})
        };
        for (answer, says) in [
            (
                with_actual(json!({"Amount": "70", "Unit": "CNY"})),
                "answered in CNY",
            ),
            (with_actual(json!({"Amount": "7"})), "without its unit"),
            (
                with_actual(json!({"Amount": "NaN", "Unit": "USD"})),
                "`NaN` is not an amount",
            ),
            (
                with_actual(json!({"Amount": "-1", "Unit": "USD"})),
                "`-1` is not an amount",
            ),
            (json!({}), "answered without the budget"),
        ] {
            let (api, _) = budgets((200, answer));
            let e = describe_budget(&api, "1", "b").await.unwrap_err();
            assert!(e.to_string().contains(says), "{says}: {e}");
        }
        let (api, _) = budgets((200, with_actual(json!({"Amount": "7.5", "Unit": "USD"}))));
        let got = describe_budget(&api, "1", "b").await.unwrap().unwrap();
        assert_eq!((got.period.as_str(), got.actual_usd), ("day", Some(7.5)));
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
