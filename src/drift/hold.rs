//! The budget hold (`budget.hold`, docs/budget.md) in the drift report. A fleet the hold holds
//! carries the tag `qfleet:budget-hold` = `N since TIME` and a maximum of N: what the file asks
//! for while the period's cost is at the budget's amount. Neither qfleet's own check nor
//! CloudFormation's drift detection (the maximum at N, the tag among the resource's tags)
//! counts it as drift, and only on that evidence: the file asks for a hold, the tag reads in
//! qfleet's form, and the maximum read is N. A tag the file does not ask for is a difference,
//! which `qfleet deploy` ends (it gives the maximum back).

use super::Source;
use super::findings::Findings;
use crate::aws;
use crate::config::Environment;

/// Where a fleet keeps its hold: the resource that carries the tag, and the resource and
/// property of its maximum (in CloudFormation's drift results).
pub(super) struct Held<'a> {
    pub(super) tagged: &'a str,
    pub(super) max_resource: &'a str,
    pub(super) max_property: &'a str,
}

/// Checks the fleet's hold tag (`tag`) against the file; `live_max`, the maximum as read
/// (`None` where qfleet does not read it: CloudFormation's drift result then must show N).
/// True when the hold accounts for the maximum, so that the caller does not compare it with
/// `workers.max`.
pub(super) fn check(
    f: &mut Findings,
    fleet: &str,
    env: &Environment,
    tag: Option<&str>,
    at: &Held<'_>,
    live_max: Option<i64>,
) -> bool {
    let Some(tag) = tag else {
        return false;
    };
    let wanted = env.spec.budget.as_ref().is_some_and(|b| b.hold);
    match (wanted, aws::budget_hold(tag)) {
        (true, Some((n, _))) => {
            if let Some(live) = live_max.filter(|m| *m != n) {
                f.diff(
                    fleet,
                    at.max_resource,
                    at.max_property,
                    format!("{n}, held by the budget (its next check sets it)"),
                    live,
                );
                return true;
            }
            let held = n.to_string();
            f.differences.retain(|d| {
                let property = d.property.trim_start_matches('/');
                let set_aside = d.source == Source::CloudFormation
                    && d.stack == fleet
                    && ((d.resource == at.max_resource
                        && property == at.max_property
                        && d.actual == held)
                        || (d.resource == at.tagged
                            && property.starts_with("Tags")
                            && (d.actual.contains(aws::BUDGET_HOLD_TAG)
                                || d.expected.contains(aws::BUDGET_HOLD_TAG))));
                !set_aside
            });
            true
        }
        (wanted, _) => {
            f.diff(
                fleet,
                at.tagged,
                "Tags.qfleet:budget-hold",
                if wanted {
                    "a hold in qfleet's form (N since TIME)"
                } else {
                    "none: the file has no budget.hold (docs/budget.md, \"Turning the hold off\")"
                },
                tag,
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::Difference;

    fn env(hold: bool) -> Environment {
        crate::config::parse(
            "stacks/h.yaml".into(),
            format!(
                "region: eu-west-1\nlab: true\nalerts: {{email: a@example.com}}\nbudget: {{amount: 10, hold: {hold}}}\n"
            ),
        )
        .unwrap()
        .into_only()
    }

    const AT: Held<'static> = Held {
        tagged: "WorkerGroup",
        max_resource: "WorkerGroup",
        max_property: "MaxSize",
    };

    /// CloudFormation's drift results for a held group: its MaxSize, and the tag it added.
    fn detected() -> Findings {
        let cfn = |property: &str, actual: &str| Difference {
            source: Source::CloudFormation,
            stack: "qfleet-h-fleet".into(),
            resource: "WorkerGroup".into(),
            property: property.into(),
            expected: "10".into(),
            actual: actual.into(),
        };
        Findings {
            differences: vec![
                cfn("/MaxSize", "3"),
                cfn(
                    "/Tags/2",
                    r#"{"Key":"qfleet:budget-hold","Value":"3 since 2026-11-30T10:00:00Z"}"#,
                ),
                cfn("/Tags/0", r#"{"Key":"qfleet:environment","Value":"x"}"#),
            ],
            unchecked: Vec::new(),
        }
    }

    #[test]
    fn a_hold_the_file_asks_for_at_its_maximum_is_no_drift_of_either_source() {
        let mut f = detected();
        let tag = Some("3 since 2026-11-30T10:00:00Z");
        assert!(check(
            &mut f,
            "qfleet-h-fleet",
            &env(true),
            tag,
            &AT,
            Some(3)
        ));
        // Another tag's difference stays.
        assert_eq!(f.differences.len(), 1, "{:?}", f.differences);
        assert_eq!(f.differences[0].property, "/Tags/0");
    }

    #[test]
    fn a_maximum_other_than_the_held_one_is_drift() {
        let mut f = detected();
        let tag = Some("3 since 2026-11-30T10:00:00Z");
        assert!(check(
            &mut f,
            "qfleet-h-fleet",
            &env(true),
            tag,
            &AT,
            Some(10)
        ));
        let last = f.differences.last().unwrap();
        assert_eq!(
            (last.property.as_str(), last.actual.as_str()),
            ("MaxSize", "10")
        );
        assert!(last.expected.contains("held by the budget"));
        // CloudFormation's MaxSize result, with another maximum, is not set aside either.
        let mut f = detected();
        f.differences[0].actual = "4".into();
        assert!(check(&mut f, "qfleet-h-fleet", &env(true), tag, &AT, None));
        assert_eq!(f.differences.len(), 2);
        assert_eq!(f.differences[0].property, "/MaxSize");
    }

    #[test]
    fn a_tag_the_file_does_not_ask_for_is_drift_and_the_maximum_is_compared() {
        let mut f = Findings::default();
        let tag = Some("3 since 2026-11-30T10:00:00Z");
        assert!(!check(
            &mut f,
            "qfleet-h-fleet",
            &env(false),
            tag,
            &AT,
            Some(3)
        ));
        assert_eq!(f.differences[0].property, "Tags.qfleet:budget-hold");
        assert!(f.differences[0].expected.contains("no budget.hold"));
        // A tag not in qfleet's form, with the hold on: drift too.
        let mut f = Findings::default();
        assert!(!check(
            &mut f,
            "qfleet-h-fleet",
            &env(true),
            Some("by hand"),
            &AT,
            Some(3)
        ));
        assert!(f.differences[0].expected.contains("qfleet's form"));
        // No tag: nothing said here.
        let mut f = Findings::default();
        assert!(!check(
            &mut f,
            "qfleet-h-fleet",
            &env(true),
            None,
            &AT,
            Some(3)
        ));
        assert!(f.differences.is_empty());
    }
}
