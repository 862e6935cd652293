//! `budget`: a cost budget in AWS Budgets whose notices reach the alarm topic.

use super::*;

const ALERTS: &str = "region: eu-west-1\nalerts: {email: oncall@example.com}\n";

#[test]
fn a_budget_takes_an_amount_and_defaults_to_a_month_noticed_at_80_and_100() {
    let env = parse_str(&format!("{ALERTS}budget:\n  amount: 300\n"))
        .unwrap()
        .into_only();
    let b = env.spec.budget.as_ref().unwrap();
    assert_eq!(
        (b.amount, b.period, b.thresholds()),
        (300, BudgetPeriod::Month, vec![80, 100])
    );
    let env = parse_str(&format!(
        "{ALERTS}budget: {{amount: 20, period: day, notify_at: [50, 90, 100, 150, 1000]}}\n"
    ))
    .unwrap()
    .into_only();
    let b = env.spec.budget.as_ref().unwrap();
    assert_eq!(
        (b.period, b.thresholds()),
        (BudgetPeriod::Day, vec![50, 90, 100, 150, 1000])
    );
    // Without one, none.
    assert!(parse_str(ALERTS).unwrap().into_only().spec.budget.is_none());
}

#[test]
fn a_budget_needs_alerts_an_amount_and_at_most_five_distinct_thresholds() {
    let e = error("region: eu-west-1\nbudget: {amount: 10}\n", "budget", 2);
    assert!(e.message.contains("add alerts"), "{e}");
    let e = error(
        &format!("{ALERTS}budget: {{period: day}}\n"),
        "budget.amount",
        3,
    );
    assert!(e.message.contains("missing field `amount`"), "{e}");
    let e = error(
        &format!("{ALERTS}budget:\n  amount: 0\n"),
        "budget.amount",
        4,
    );
    assert!(
        e.message.contains("out of range (1 USD to 1000000 USD)"),
        "{e}"
    );
    let e = error(
        &format!("{ALERTS}budget:\n  amount: 10\n  period: week\n"),
        "budget.period",
        5,
    );
    assert!(
        e.message.contains("day") && e.message.contains("month"),
        "{e}"
    );
    let e = error(
        &format!("{ALERTS}budget:\n  amount: 10\n  notify_at: [1, 2, 3, 4, 5, 6]\n"),
        "budget.notify_at",
        5,
    );
    assert!(e.message.contains("at most 5 notifications"), "{e}");
    let e = error(
        &format!("{ALERTS}budget:\n  amount: 10\n  notify_at: [80, 80]\n"),
        "budget.notify_at.1",
        5,
    );
    assert!(e.message.contains("80 is listed twice"), "{e}");
    let e = error(
        &format!("{ALERTS}budget:\n  amount: 10\n  notify_at: [0]\n"),
        "budget.notify_at.0",
        5,
    );
    assert!(e.message.contains("out of range (1 % to 1000 %)"), "{e}");
    let e = error(
        &format!("{ALERTS}budget:\n  amount: 10\n  notify_at: []\n"),
        "budget.notify_at",
        5,
    );
    assert!(e.message.contains("is empty"), "{e}");
}

/// With `kms_key`, the key's policy must let every service that publishes to the alarm topic
/// use it: AWS Budgets too once there is a budget.
#[test]
fn with_a_key_the_warning_names_budgets_only_with_a_budget() {
    let key =
        "kms_key: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\n";
    let warning = |yaml: &str| {
        let env = parse_str(yaml).unwrap().into_only();
        crate::config::warnings(&env)
            .into_iter()
            .find(|w| w.starts_with("alerts with kms_key"))
            .unwrap()
    };
    let without = warning(&format!("{ALERTS}{key}"));
    assert!(
        without.contains("cloudwatch.amazonaws.com and events.amazonaws.com use")
            && !without.contains("budgets"),
        "{without}"
    );
    let with = warning(&format!("{ALERTS}{key}budget: {{amount: 10}}\n"));
    assert!(
        with.contains(
            "cloudwatch.amazonaws.com, events.amazonaws.com and budgets.amazonaws.com use"
        ) && with.contains("the budget's notices do not reach the alarm topic"),
        "{with}"
    );
}

/// `budget.hold`: off by default; it starts with the notice at 100 %, and holds only fleets
/// of instances or tasks.
#[test]
fn a_hold_needs_the_notice_at_100_and_a_fleet_of_instances_or_tasks() {
    let env = parse_str(&format!("{ALERTS}budget: {{amount: 10}}\n"))
        .unwrap()
        .into_only();
    assert!(!env.spec.budget.as_ref().unwrap().hold);
    let env = parse_str(&format!("{ALERTS}budget: {{amount: 10, hold: true}}\n"))
        .unwrap()
        .into_only();
    assert!(env.spec.budget.as_ref().unwrap().hold);
    let e = error(
        &format!("{ALERTS}budget:\n  amount: 10\n  notify_at: [50, 90]\n  hold: true\n"),
        "budget.hold",
        6,
    );
    assert!(e.message.contains("add 100 to budget.notify_at"), "{e}");
    let e = error(
        &format!("{ALERTS}workers: {{kind: lambda}}\nbudget:\n  amount: 10\n  hold: true\n"),
        "budget.hold",
        6,
    );
    assert!(e.message.contains("every stage here runs on Lambda"), "{e}");
    // A pipeline with one stage of instances is held there.
    let env = parse_str(&format!(
        "{ALERTS}budget: {{amount: 10, hold: true}}\nstages:\n  - name: a\n  - name: b\n    workers: {{kind: lambda}}\n"
    ))
    .unwrap()
    .into_only();
    assert!(env.spec.budget.as_ref().unwrap().hold);
}

/// A hold can outlast the queue's retention: said, with the retention that covers more.
#[test]
fn a_hold_longer_than_the_queue_keeps_jobs_is_warned_about() {
    let warn = |yaml: &str| {
        let env = parse_str(&format!("{ALERTS}{yaml}")).unwrap().into_only();
        crate::config::warnings(&env)
            .into_iter()
            .find(|w| w.starts_with("budget.hold"))
    };
    let w = warn("budget: {amount: 10, hold: true}\n").unwrap();
    assert!(
        w.contains("until the month ends") && w.contains("(the queue's 4d)") && w.contains("13d"),
        "{w}"
    );
    assert!(warn("budget: {amount: 10, hold: true}\nqueue: {message_retention: 13d}\n").is_none());
    assert!(warn("budget: {amount: 10, hold: true, period: day}\n").is_none());
    assert!(warn("budget: {amount: 10}\n").is_none());
}
