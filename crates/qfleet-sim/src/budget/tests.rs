use super::*;
use crate::Assumptions;

const FARGATE: &str = "region: eu-west-1\nlab: true\nalerts: {email: a@example.com}\nworkers:\n  kind: fargate\n  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1\n  min: 1\n  max: 8\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\nscaling:\n  target_backlog_per_instance: 0.8\n";

fn env(yaml: &str) -> Environment {
    crate::config::parse(std::path::PathBuf::from("stacks/orders.yaml"), yaml.into())
        .unwrap()
        .expand()
        .remove(0)
}

fn with_budget(yaml: &str, budget: &str) -> Environment {
    env(&format!("{yaml}budget: {budget}\n"))
}

fn load() -> Assumptions {
    let mut a =
        Assumptions::defaults(crate::parse_load("poisson:1/s", std::path::Path::new(".")).unwrap());
    a.duration = Some(1_800);
    a.seconds_per_message = Some(2.0);
    a.max_latency = Some(120.0);
    a
}

#[test]
fn a_month_is_spread_over_its_longest_so_any_month_stays_within() {
    let month = with_budget(FARGATE, "{amount: 310}");
    let b = month.spec.budget.as_ref().unwrap();
    assert_eq!(b.per_day_usd(), 10.0);
    assert_eq!(b.thresholds(), [80, 100]);
    assert_eq!(words(b), "$10.00 a day ($310 a month over 31 days)");
    let day = with_budget(FARGATE, "{amount: 7, period: day, notify_at: [50]}");
    let b = day.spec.budget.as_ref().unwrap();
    assert_eq!((b.per_day_usd(), b.thresholds()), (7.0, vec![50]));
}

#[test]
fn the_workers_at_their_maximum_are_priced_all_day_on_demand_for_each_kind() {
    let e = env(FARGATE);
    let f = &e.spec.workers.fargate;
    let task = crate::price::fargate_task_hour("eu-west-1", false, f.cpu, f.memory).unwrap();
    let max = max_day_usd(&e).unwrap();
    assert!((max - task * 24.0 * 8.0).abs() < 1e-9, "{max}");
    // EC2: the dearest of the types, for every instance of max.
    let ec2 = env(
        "region: eu-west-1\nlab: true\nworkers:\n  instance_types: [m7i.large, m7i.xlarge]\n  max: 3\n",
    );
    let dear = crate::price::instance_hour("eu-west-1", "m7i.xlarge").unwrap();
    assert!((max_day_usd(&ec2).unwrap() - dear * 24.0 * 3.0).abs() < 1e-9);
    // Lambda: every invocation the mapping allows, all day.
    let f = env(
        "region: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n  lambda: {max_concurrency: 5, memory_mb: 2048}\n",
    );
    let gbs = crate::price::lambda("eu-west-1", false, 5.0 * 2.0 * 86_400.0, 0).unwrap();
    assert!((max_day_usd(&f).unwrap() - gbs).abs() < 1e-9);
    // Provisioned pollers are billed by the hour: not priced, never taken as free.
    let polled = env(
        "region: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n  lambda: {provisioned_pollers: {minimum: 2, maximum: 4}}\n",
    );
    assert_eq!(
        max_day_usd(&polled),
        Err("Lambda's provisioned pollers in eu-west-1".into())
    );
    // A type the table does not price is said, never taken as free.
    let gpu = env("region: eu-west-1\nlab: true\nworkers:\n  instance_type: g6.xlarge\n");
    assert_eq!(max_day_usd(&gpu), Err("g6.xlarge in eu-west-1".into()));
}

#[test]
fn validate_warns_when_the_maximum_all_day_passes_the_budget_or_cannot_be_priced() {
    let max = max_day_usd(&env(FARGATE)).unwrap();
    let under = with_budget(
        FARGATE,
        &format!("{{amount: {}, period: day}}", max.ceil() as u32 + 1),
    );
    assert_eq!(warning(&under), None);
    let over = with_budget(
        FARGATE,
        &format!("{{amount: {}, period: day}}", max.floor() as u32),
    );
    let w = warning(&over).unwrap();
    assert!(
        w.starts_with(&format!(
            "budget: the workers at their maximum all day cost ${max:.2} a day"
        )) && w.contains("nothing stops the fleet"),
        "{w}"
    );
    assert_eq!(warning(&env(FARGATE)), None);
    let gpu = with_budget(
        "region: eu-west-1\nlab: true\nalerts: {email: a@example.com}\nworkers:\n  instance_type: g6.xlarge\n",
        "{amount: 100}",
    );
    assert!(
        warning(&gpu)
            .unwrap()
            .contains("no price for g6.xlarge in eu-west-1")
    );
}

/// `--tune` with a budget shows no choice over the budget's day: the same choices as without
/// it when all fit, those that fit when some do, and the reason with the cheapest's cost when
/// none does.
#[test]
fn tune_never_proposes_a_fleet_over_the_budget() {
    let a = load();
    let free = crate::tune::tune(&env(FARGATE), &a).unwrap();
    let costs: Vec<f64> = free
        .choices
        .iter()
        .map(|c| c.cost_per_day_usd.unwrap())
        .collect();
    assert!(!costs.is_empty(), "{:?}", free.reason);
    let (cheapest, dearest) = (costs[0], costs[costs.len() - 1]);
    // A month's amount whose day share is just above the dearest: everything shown.
    let roomy = with_budget(
        FARGATE,
        &format!("{{amount: {}}}", (dearest * 31.0).ceil() as u32 + 1),
    );
    let t = crate::tune::tune(&roomy, &a).unwrap();
    assert_eq!(t.choices, free.choices);
    assert_eq!(
        t.budget.as_deref(),
        Some(words(roomy.spec.budget.as_ref().unwrap()).as_str())
    );
    assert!(
        crate::tune::text("t", &t)
            .contains("(budget: under this load, each choice's workers cost at most $")
    );
    // Below the cheapest: nothing, and why.
    let tight = with_budget(
        FARGATE,
        &format!("{{amount: {}}}", (cheapest * 31.0).floor() as u32),
    );
    let t = crate::tune::tune(&tight, &a).unwrap();
    assert!(t.choices.is_empty(), "{:?}", t.choices);
    let why = t.reason.unwrap();
    assert!(
        why.starts_with(&format!("the cheapest settings that meet the goal cost ${cheapest:.2} a day, over the budget's $")),
        "{why}"
    );
    // Between: only those within it, each within it.
    // (a whole dollar a month is $0.03 a day: the choices are further apart than that)
    assert!(costs[1] > cheapest + 0.07, "{costs:?}");
    let day = (cheapest + costs[1]) / 2.0;
    let mid = with_budget(FARGATE, &format!("{{amount: {}}}", (day * 31.0) as u32));
    let limit = mid.spec.budget.as_ref().unwrap().per_day_usd();
    let t = crate::tune::tune(&mid, &a).unwrap();
    assert_eq!(t.choices, free.choices[..1]);
    assert!(
        t.choices
            .iter()
            .all(|c| c.cost_per_day_usd.unwrap() <= limit)
    );
}

/// A pipeline's stages are summed: each within the budget alone is not enough.
#[test]
fn a_pipeline_s_stages_are_summed_against_the_budget() {
    let stages = "region: eu-west-1\nlab: true\nalerts: {email: a@example.com}\nstages:\n  - name: one\n    workers: {max: 10}\n  - name: two\n    workers: {max: 10}\n";
    let e = env(stages);
    let each: Vec<f64> = e.stages().iter().map(|s| max_day_usd(s).unwrap()).collect();
    assert_eq!(each.len(), 2);
    let both: f64 = each.iter().sum();
    // Above one stage's cost, below both: warned.
    let amount = ((each[0] + both) / 2.0).floor() as u32;
    assert!(f64::from(amount) > each[0] && f64::from(amount) < both);
    let w = warning(&with_budget(
        stages,
        &format!("{{amount: {amount}, period: day}}"),
    ))
    .unwrap();
    assert!(w.contains(&format!("${both:.2} a day")), "{w}");
}

/// `--tune` on a type the table does not price shows no choice under a budget, and says why.
#[test]
fn tune_without_a_price_shows_nothing_within_a_budget_and_says_so() {
    let gpu = "region: eu-west-1\nlab: true\nalerts: {email: a@example.com}\nworkers:\n  instance_type: g6.xlarge\n  min: 1\n  max: 6\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\nscaling:\n  max_latency_seconds: 30\n  seconds_per_message: 2\n";
    let mut a = load();
    a.seconds_per_message = None;
    a.max_latency = None;
    let free = crate::tune::tune(&env(gpu), &a).unwrap();
    assert!(!free.choices.is_empty(), "{:?}", free.reason);
    let t = crate::tune::tune(&with_budget(gpu, "{amount: 1000}"), &a).unwrap();
    assert!(t.choices.is_empty());
    assert!(
        t.reason
            .unwrap()
            .starts_with("qfleet's price table has no price for these workers"),
    );
}
