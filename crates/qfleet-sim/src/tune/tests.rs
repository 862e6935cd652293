//! `--tune`'s lines, its search and its rows, alone; the advice as a user takes it is tested
//! end to end in `advice_tests.rs`.

use super::*;

fn envs(yaml: &str) -> Vec<Environment> {
    crate::config::parse(std::path::PathBuf::from("stacks/orders.yaml"), yaml.into())
        .unwrap()
        .expand()
}

fn a(load: &str) -> Assumptions {
    Assumptions::defaults(super::super::parse_load(load, std::path::Path::new(".")).unwrap())
}

fn same(target: f64, min: u64, max: u64) -> Lines {
    let s = scale_ins()[0];
    Lines {
        target: (target, target),
        min,
        max,
        scale_in: (s, s),
        high_resolution: (false, false),
        instance_type: None,
    }
}

#[test]
fn a_target_s_lines_go_under_its_own_entry_and_shared_scaling_is_said_so() {
    let base = "region: eu-west-1\nlab: true\nscaling: {target_backlog_per_instance: 0.7}\n";
    let one = envs(base);
    let l = Lines {
        target: (0.5, 0.7),
        ..same(0.7, 2, 9)
    };
    assert_eq!(
        lines(&one[0], &a("steady:1/s"), &l),
        "workers:\n  min: 2\n  max: 9\nscaling:\n  target_backlog_per_instance: 0.5\n"
    );
    let targets = envs(&format!(
        "{base}targets:\n  - name: a\n  - name: b\n    region: us-east-1\n"
    ));
    // The file's own scaling: only the workers, under targets.1.
    assert_eq!(
        lines(&targets[1], &a("steady:1/s"), &same(0.7, 2, 9)),
        "targets:  # its own entry, targets.1\n  - name: b\n    workers:\n      min: 2\n      max: 9\n"
    );
    // Another instance type (--instance-types): under the workers, the target's own too.
    let typed = Lines {
        instance_type: Some("m7i.large".into()),
        ..same(0.7, 2, 9)
    };
    assert_eq!(
        lines(&one[0], &a("steady:1/s"), &typed),
        "workers:\n  instance_type: m7i.large\n  min: 2\n  max: 9\n"
    );
    assert!(
        lines(&targets[1], &a("steady:1/s"), &typed)
            .contains("    workers:\n      instance_type: m7i.large\n      min: 2\n"),
    );
    // Other scaling: as the file's, for every target.
    let other = lines(
        &targets[1],
        &a("steady:1/s"),
        &Lines {
            target: (0.5, 0.7),
            scale_in: (scale_ins()[1], scale_ins()[0]),
            high_resolution: (true, false),
            ..same(0.7, 2, 9)
        },
    );
    assert!(
        other.contains(
            "# the file's, for every target (a target cannot set its own scaling):\nscaling:\n  target_backlog_per_instance: 0.5\n  metric: high_resolution\n  scale_in: {policy: step, percent: 20, below: 0.7, minutes: 5, cooldown: 180s}\n"
        ),
        "{other}"
    );
    // Pasted under a target, the lines parse as that target's.
    let pasted = format!(
        "{base}targets:\n  - name: a\n{}",
        lines(&targets[1], &a("steady:1/s"), &same(0.7, 2, 9))
            .lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    let again = envs(&pasted);
    assert_eq!(
        (again[1].spec.workers.min, again[1].spec.workers.max),
        (2, 9)
    );
}

#[test]
fn the_lines_carry_the_goal_and_processing_time_from_flags_and_every_change_and_nothing_else() {
    let file = envs("region: eu-west-1\nlab: true\nworkers: {min: 1, max: 4}\n");
    let mut flags = a("steady:2/s");
    flags.max_latency = Some(60.0);
    flags.seconds_per_message = Some(2.0);
    // The file has no goal: the lines give it, and the processing time, and the target only
    // when it is not the one the pasted file derives.
    let l = lines(&file[0], &flags, &same(0.82, 1, 6));
    assert_eq!(
        l,
        "workers:\n  min: 1\n  max: 6\nscaling:\n  max_latency_seconds: 60\n  seconds_per_message: 2\n"
    );
    // A file whose scale-in is target tracking's, tuned to qfleet's: the policy is said.
    let tracking = envs(
        "region: eu-west-1\nlab: true\nscaling: {max_latency_seconds: 60, seconds_per_message: 2, scale_in: {policy: target_tracking}}\n",
    );
    let step = scale_ins()[0];
    let l = lines(
        &tracking[0],
        &a("steady:2/s"),
        &Lines {
            scale_in: (step, ScaleInSetting::of(ScaleIn::Tracking)),
            ..same(0.8, 1, 6)
        },
    );
    assert!(
        l.contains(
            "scale_in: {policy: step, percent: 10, below: 0.75, minutes: 10, cooldown: 300s}"
        ),
        "{l}"
    );
    // The file's values already there are not repeated.
    let goal = envs(
        "region: eu-west-1\nlab: true\nscaling: {max_latency_seconds: 60, seconds_per_message: 2}\n",
    );
    let mut same_flags = a("steady:2/s");
    same_flags.max_latency = Some(60.0);
    assert!(!lines(&goal[0], &same_flags, &same(0.8, 1, 6)).contains("max_latency_seconds"));
}

#[test]
fn the_smallest_count_is_found_by_doubling_then_halving_and_is_always_a_run_that_met() {
    let mut tried = Vec::new();
    let found = smallest(3, MAX_COUNT, &mut |n| {
        tried.push(n);
        (n >= 37).then_some(n)
    });
    assert_eq!(found, Some((37, 37)));
    assert!(tried.len() < 16, "{tried:?}");
    assert_eq!(
        smallest(1, MAX_COUNT, &mut |n| (n > MAX_COUNT).then_some(())),
        None
    );
    assert_eq!(smallest(5, MAX_COUNT, &mut |n| Some(n)), Some((5, 5)));
}

#[test]
fn when_nothing_holds_it_says_so_with_the_numbers_and_the_smallest_goal_that_would() {
    // A 1 s goal for 2 s messages: no fleet meets it; 1,000 always on still take 2 s or more.
    let e = envs(
        "region: eu-west-1\nlab: true\nworkers:\n  kind: fargate\n  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1\n  min: 1\n  max: 4\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\nscaling:\n  target_backlog_per_instance: 0.8\n",
    );
    let mut flags = a("poisson:1/s");
    flags.duration = Some(600);
    flags.seconds_per_message = Some(2.0);
    flags.max_latency = Some(1.0);
    let t = tune(&e[0], &flags).unwrap();
    assert!(t.choices.is_empty(), "{:?}", t.choices);
    let why = t.reason.unwrap();
    assert!(
        why.contains("nothing within 1000 workers meets the 1 s goal")
            && why.contains("even 1000 always on give p99")
            && why.contains("the smallest goal they meet is"),
        "{why}"
    );
    let p99: u64 = why
        .split("give p99 ")
        .nth(1)
        .and_then(|w| w.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!((2..=4).contains(&p99), "{why}");
}

#[test]
fn without_a_price_the_choices_are_ranked_by_the_resources_used_and_say_so() {
    // g6.xlarge has no price in eu-west-1 (not sold there on the day of the table's
    // prices): no cost, never zero; the ranking is by vCPU-hours a day.
    let e = envs(
        "region: eu-west-1\nlab: true\nworkers:\n  instance_type: g6.xlarge\n  min: 1\n  max: 6\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\nscaling:\n  max_latency_seconds: 30\n  seconds_per_message: 2\n",
    );
    let mut load = a("poisson:1/s");
    load.duration = Some(1_800);
    let t = tune(&e[0], &load).unwrap();
    assert!(!t.choices.is_empty(), "{:?}", t.reason);
    assert!(t.choices.iter().all(|c| c.cost_per_day_usd.is_none()));
    let used: Vec<f64> = t.choices.iter().map(|c| c.resources_per_day).collect();
    assert!(used.iter().all(|&r| r > 0.0), "{used:?}");
    assert!(used.windows(2).all(|w| w[0] <= w[1]), "{used:?}");
    assert_eq!(t.resource_unit, "vCPU-hours");
    let text = text("t", &t);
    assert!(
        text.contains("vCPU-hours a day") && text.contains("ranked by the resources used"),
        "{text}"
    );
}

/// workers.limits: a goal that the limit's slots cannot meet is met by no count of workers,
/// and the reason names the limit.
#[test]
fn when_a_limit_holds_the_jobs_back_no_count_meets_and_the_reason_names_it() {
    let e = envs(
        "region: eu-west-1\nlab: true\njobs: {}\nlimits: {db: 1}\nworkers:\n  kind: fargate\n  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1\n  min: 1\n  max: 4\n  limits: [db]\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\nscaling:\n  target_backlog_per_instance: 0.8\n",
    );
    let mut flags = a("poisson:1/s");
    flags.duration = Some(600);
    flags.seconds_per_message = Some(2.0);
    flags.max_latency = Some(60.0);
    let t = tune(&e[0], &flags).unwrap();
    assert!(t.choices.is_empty(), "{:?}", t.choices);
    let why = t.reason.unwrap();
    assert!(
        why.starts_with("nothing within 1 worker (at most 1 job runs at once, the limit in workers.limits: more workers would only wait"),
        "{why}"
    );
}

/// A limit of 3 slots: the choices run at most 3 workers, whatever the file's max (more only
/// wait, billed), and a goal the slots meet is met.
#[test]
fn with_a_limit_no_choice_runs_more_workers_than_its_slots() {
    let e = envs(
        "region: eu-west-1\nlab: true\njobs: {}\nlimits: {db: 3}\nworkers:\n  kind: fargate\n  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1\n  min: 1\n  max: 20\n  limits: [db]\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\nscaling:\n  target_backlog_per_instance: 0.8\n",
    );
    let mut flags = a("poisson:0.5/s");
    flags.duration = Some(1_800);
    flags.seconds_per_message = Some(2.0);
    flags.max_latency = Some(600.0);
    let t = tune(&e[0], &flags).unwrap();
    assert!(!t.choices.is_empty(), "{:?}", t.reason);
    for c in &t.choices {
        assert!(c.max <= 3, "{c:?}");
    }
    // Four messages a worker: one worker holds all three slots (3 ÷ 4, rounded up).
    flags.per_instance = 4;
    let t = tune(&e[0], &flags).unwrap();
    assert!(!t.choices.is_empty(), "{:?}", t.reason);
    for c in &t.choices {
        assert_eq!(c.max, 1, "{c:?}");
    }
}
