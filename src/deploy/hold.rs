//! A deploy that turns the budget hold off (`budget.hold` gone, or the budget itself) first
//! gives back what the hold holds: the change set that removes the hold's function is the
//! evidence, and the function itself gives each held fleet its `workers.max` back and takes
//! off its tag (docs/budget.md, "Holding the fleet at the cap"), since once it is deleted
//! nothing would. A give-back that fails stops the deploy before any change: a fleet left held
//! with no function to give it back would stay small for good.

use super::Ctx;
use super::event::Event;
use super::prepare::Prepared;
use crate::aws;
use crate::error::{Error, Result};
use crate::render::{ResourceNames, StackRole};
use aws_sdk_cloudformation::types::ChangeAction;

/// The hold's function in the data template (templates/data.yaml.j2).
pub(super) const HOLD_ID: &str = "BudgetHold";

/// Whether the data stack's change removes the hold's function.
fn removes_hold(prepared: &[Prepared]) -> bool {
    prepared
        .iter()
        .filter(|p| p.desired.role == StackRole::Data)
        .flat_map(Prepared::changes)
        .any(|c| c.logical_id == HOLD_ID && c.action == ChangeAction::Remove)
}

/// The fleets the function gave back, from its answer (`{"fleets": [{"stage", "fleet",
/// "action", "max"}]}`), in words: `stage a: qfleet-x-workers may grow to 6 again`.
fn given_back(answer: &serde_json::Value) -> Vec<String> {
    answer["fleets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["action"] == "released")
        .map(|f| {
            let who = f["stage"]
                .as_str()
                .map(|s| format!("stage {s}: "))
                .unwrap_or_default();
            format!(
                "{who}{} may grow to {} again",
                f["fleet"].as_str().unwrap_or("the fleet"),
                f["max"]
            )
        })
        .collect()
}

/// What a plan says of a change that turns the hold off.
pub(super) fn plan_note(prepared: &[Prepared]) -> Option<&'static str> {
    removes_hold(prepared).then_some(
        "budget.hold is turned off: the deploy first has the hold's function give back every fleet it holds",
    )
}

/// Before a deploy that removes the hold: its function gives every held fleet back.
pub(super) async fn give_back(cx: &Ctx<'_>, prepared: &[Prepared]) -> Result<()> {
    if !removes_hold(prepared) {
        return Ok(());
    }
    let name = ResourceNames::of(cx.env).budget_hold;
    let payload = serde_json::json!({"qfleet": "give back"});
    let said = match aws::invoke_function(&cx.clients.lambda, &name, &payload).await {
        Ok(Some(answer)) => {
            let back = given_back(&answer);
            if back.is_empty() {
                "the budget hold is turned off: no fleet was held".to_string()
            } else {
                format!("the budget hold is turned off: {}", back.join("; "))
            }
        }
        // The stack still lists it, Lambda does not: nothing can give back for it.
        Ok(None) => format!(
            "the budget hold is turned off, and its function {name} is gone: `qfleet drift {}` names any fleet still held",
            cx.env.name
        ),
        Err(e) => {
            return Err(Error::aws(format!(
                "the budget hold is turned off, and its function could not give the held fleets back: {e}. Nothing was deployed: the deploy would delete {name} and leave them held. Fix the cause (the log group /qfleet/{}/budget-hold says it), or deploy with budget.hold: true",
                cx.env.resource_name()
            )));
        }
    };
    cx.reporter.line(&said);
    cx.reporter.event(Event::Warning {
        environment: Some(cx.env.name.clone()),
        stack: None,
        change: None,
        message: said,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_says_each_fleet_given_back() {
        let answer = serde_json::json!({"fleets": [
            {"stage": "a", "fleet": "qfleet-x-workers", "action": "released", "max": 6},
            {"stage": null, "fleet": "service/qfleet-x--b/qfleet-x--b-workers", "action": "released", "max": 4},
            {"stage": "c", "fleet": "qfleet-x--c-workers", "action": "none", "max": 2},
        ]});
        assert_eq!(
            given_back(&answer),
            [
                "stage a: qfleet-x-workers may grow to 6 again",
                "service/qfleet-x--b/qfleet-x--b-workers may grow to 4 again"
            ]
        );
        assert!(given_back(&serde_json::json!({})).is_empty());
    }
}
