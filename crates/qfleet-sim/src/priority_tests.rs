//! Priority lanes (`queue.priority`, `--priority-share`): instances and tasks take the
//! priority lane first (strictly, or at most `weight` in a row while ordinary jobs wait); a
//! function's priority lane has a mapping of its own, with its own concurrency; the fleet
//! scales on both lanes together. At a share of 0 the run is the run without a lane.

use super::model::{self, Fleet, Lanes, Outcome, Params, Split};
use super::tests::{assumptions, ec2, env, params};
use super::*;
use proptest::prelude::*;

fn share(share: f64, weight: Option<u64>) -> Option<Lanes> {
    Some(Lanes {
        split: Split::Share(share),
        weight,
        max_concurrency: None,
    })
}

fn steady(rate: u64, duration: u64) -> Vec<u64> {
    vec![rate; duration as usize]
}

/// Ten instances, no more and no fewer, a second a message: they do ten a second.
fn ten_instances(lanes: Option<Lanes>) -> Params {
    Params {
        lanes,
        ..params(ec2(10, 10, 1.0), 1_800)
    }
}

fn lambda(max_concurrency: u64) -> Fleet {
    Fleet::Lambda {
        max_concurrency,
        pollers: None,
        batch_size: 1,
        memory_mb: 256,
        timeout: 60,
        batching_window: 0,
    }
}

fn p95(o: &model::LaneOutcome) -> u64 {
    o.percentile(95.0).unwrap()
}

/// The slowest job of a lane: processed, or still waiting at its age.
fn slowest(o: &model::LaneOutcome) -> u64 {
    o.max_latency().unwrap_or(0).max(o.oldest_unfinished())
}

/// Every arrival is processed, dead-lettered or left unfinished, in each lane and in all.
fn assert_nothing_lost(o: &Outcome) {
    let all = (o.arrived, o.processed + o.dead_lettered + o.unfinished);
    assert_eq!(all.0, all.1, "all: {o:?}");
    assert_eq!(o.latency.iter().sum::<u64>(), o.processed);
    assert_eq!(o.completions.iter().sum::<u64>(), o.processed);
    if let Some(pri) = &o.priority {
        let ordinary = o.ordinary().unwrap();
        for (name, l) in [("priority", pri), ("ordinary", &ordinary)] {
            assert_eq!(
                l.arrived,
                l.processed + l.dead_lettered + l.unfinished,
                "{name}: {l:?}"
            );
            assert_eq!(l.latency.iter().sum::<u64>(), l.processed, "{name}");
            assert_eq!(l.completions.iter().sum::<u64>(), l.processed, "{name}");
            assert_eq!(
                l.unfinished_ages.iter().sum::<u64>(),
                l.unfinished,
                "{name}"
            );
        }
        assert_eq!(pri.arrived + ordinary.arrived, o.arrived);
    }
}

#[test]
fn under_a_backlog_priority_jobs_wait_far_less_than_ordinary_ones() {
    // 12 a second for ten a second of work: the backlog grows all along. A fifth of the jobs
    // are urgent, and taken first: they wait for a worker to be free, never for the backlog.
    let o = model::run(&ten_instances(share(0.2, None)), &steady(12, 1_800));
    assert_nothing_lost(&o);
    let (pri, ordinary) = (o.priority.as_ref().unwrap(), o.ordinary().unwrap());
    assert!(p95(pri) <= 3, "{pri:?}");
    assert!(p95(&ordinary) > 50 * p95(pri), "{ordinary:?}");
    assert!(pri.unfinished < 20 && ordinary.unfinished > 3_000, "{o:?}");
    // About a fifth of the arrivals, drawn: neither none nor all.
    let part = pri.arrived as f64 / o.arrived as f64;
    assert!((part - 0.2).abs() < 0.01, "{part}");
}

#[test]
fn a_weight_of_one_narrows_the_gap_and_ordinary_jobs_are_not_starved() {
    // Half the jobs urgent at 15 a second for ten a second of work: taken strictly first the
    // urgent ones alone take three quarters of the fleet, and the ordinary ones get the rest;
    // with a weight of 1, an ordinary job after each urgent one while both wait: half each.
    let arrivals = steady(15, 1_800);
    let strict = model::run(&ten_instances(share(0.5, None)), &arrivals);
    let weighted = model::run(&ten_instances(share(0.5, Some(1))), &arrivals);
    assert_nothing_lost(&strict);
    assert_nothing_lost(&weighted);
    let lanes = |o: &Outcome| (o.priority.clone().unwrap(), o.ordinary().unwrap());
    let ((sp, so), (wp, wo)) = (lanes(&strict), lanes(&weighted));
    // Strictly first: the urgent jobs never wait for the backlog.
    assert!(p95(&sp) <= 3, "{sp:?}");
    // The gap narrows: urgent jobs wait more, ordinary ones less.
    assert!(p95(&wp) > p95(&sp), "{wp:?}");
    assert!(p95(&wo) < p95(&so), "{wo:?} {so:?}");
    assert!(p95(&wo) - p95(&wp) < p95(&so) - p95(&sp));
    // Not starved: about twice the ordinary jobs done (5 a second, not 2.5), the slowest of
    // them far sooner.
    assert!(wo.processed > so.processed * 3 / 2, "{wo:?} {so:?}");
    assert!(slowest(&wo) * 4 < slowest(&so) * 3, "{wo:?} {so:?}");
    // The fleet did the same work either way.
    let done = |o: &Outcome| o.processed;
    assert!(done(&strict).abs_diff(done(&weighted)) <= 10);
}

#[test]
fn a_weight_counts_only_while_ordinary_jobs_wait() {
    // The fleet keeps up (5 a second on ten instances): whatever the weight, no job waits for
    // another, and the weight changes nothing.
    let arrivals = steady(5, 1_800);
    let strict = model::run(&ten_instances(share(0.5, None)), &arrivals);
    let weighted = model::run(&ten_instances(share(0.5, Some(1))), &arrivals);
    assert_eq!(strict.latency, weighted.latency);
    assert_eq!(strict.priority, weighted.priority);
}

#[test]
fn a_functions_priority_lane_keeps_its_own_concurrency_while_the_ordinary_backlog_grows() {
    // A function capped at 4 invocations, a second a message, 8 jobs a second, a fifth of them
    // urgent: the ordinary mapping does 4 of its 6.4 a second, its backlog grows; the priority
    // lane's own mapping (4 more invocations) does its 1.6 as they come.
    let mut p = params(lambda(4), 1_800);
    p.lanes = Some(Lanes {
        split: Split::Share(0.2),
        weight: None,
        max_concurrency: Some(4),
    });
    let o = model::run(&p, &steady(8, 1_800));
    assert_nothing_lost(&o);
    let (pri, ordinary) = (o.priority.as_ref().unwrap(), o.ordinary().unwrap());
    assert!(p95(pri) <= 3, "{pri:?}");
    assert!(ordinary.unfinished > 3_000, "{ordinary:?}");
    let backlog = |m: usize| o.minutes[m].backlog;
    assert!(backlog(29) > backlog(20) && backlog(20) > backlog(10));
    // Both mappings' concurrency in the timeline: 4 each.
    assert_eq!(o.minutes[5].capacity, 8);
    assert_eq!(o.peak_capacity, 8);
    // Without the lane, every job waits in the one backlog.
    p.lanes = None;
    let one = model::run(&p, &steady(8, 1_800));
    assert!(
        one.percentile(95.0).unwrap() > 100,
        "{:?}",
        one.percentile(95.0)
    );

    // The lane's own cap: at 1 invocation, its 1.6 a second build a backlog of their own,
    // which the ordinary mapping's idle capacity does not take.
    p.lanes = Some(Lanes {
        split: Split::Share(0.2),
        weight: None,
        max_concurrency: Some(1),
    });
    let capped = model::run(&p, &steady(8, 1_800));
    assert_nothing_lost(&capped);
    let pri = capped.priority.as_ref().unwrap();
    assert!(pri.unfinished > 500, "{pri:?}");
    assert_eq!(capped.minutes[5].capacity, 5);
}

#[test]
fn instances_scale_on_both_lanes_together() {
    // An autoscaled group under a burst: the same backlog, split or not, asks for the same
    // instances (the policy reads the sum), so the capacity is the same minute by minute.
    let mut p = params(ec2(1, 40, 10.0), 3_600);
    p.spread = 0.2;
    let arrivals = super::tests::burst(3_000, 60, 3_600);
    let one = model::run(&p, &arrivals);
    p.lanes = share(0.3, None);
    let two = model::run(&p, &arrivals);
    assert_nothing_lost(&two);
    let capacity = |o: &Outcome| o.minutes.iter().map(|m| m.capacity).collect::<Vec<_>>();
    assert_eq!(capacity(&one), capacity(&two));
    assert_eq!(one.processed, two.processed);
    // The burst's urgent jobs go first.
    let (pri, ordinary) = (two.priority.as_ref().unwrap(), two.ordinary().unwrap());
    assert!(pri.max_latency() < ordinary.max_latency(), "{pri:?}");
}

#[test]
fn the_split_follows_the_seed() {
    let arrivals = steady(12, 1_800);
    let run = |seed: u64| {
        model::run(
            &Params {
                seed,
                ..ten_instances(share(0.2, None))
            },
            &arrivals,
        )
    };
    let (a, b, c) = (run(7), run(7), run(8));
    assert_eq!(a.priority, b.priority);
    assert_eq!(a.latency, b.latency);
    assert_ne!(
        a.priority.as_ref().unwrap().arrived,
        c.priority.as_ref().unwrap().arrived
    );
}

// --- From the stack file to the report ----------------------------------------------

/// `workers` and `queue` lines of a one-stage file with a 60 s goal, a second a message (a
/// function's from the flags: `flags`).
fn file(workers: &str, queue: &str) -> crate::config::Environment {
    let scaling = if workers.contains("kind: lambda") {
        ""
    } else {
        "scaling:\n  max_latency_seconds: 60\n  seconds_per_message: 1\n"
    };
    env(&format!(
        "region: eu-west-1\nqueue:\n  max_receive_count: 3\n{queue}{scaling}workers:\n{workers}"
    ))
}

/// What a function's file leaves to the flags.
fn flags(a: Assumptions) -> Assumptions {
    Assumptions {
        seconds_per_message: Some(1.0),
        max_latency: Some(60.0),
        ..a
    }
}

const GROUP: &str = "  min: 1\n  max: 4\n";
const LAMBDA: &str = "  kind: lambda\n  lambda:\n    max_concurrency: 4\n    batch_size: 2\n    batching_window: 2s\n";

#[test]
fn at_a_share_of_0_a_file_with_a_priority_lane_runs_as_one_without() {
    let fargate = "  kind: fargate\n  image: public.ecr.aws/org/worker:1.4\n  min: 1\n  max: 4\n";
    for (workers, load) in [
        (GROUP, "poisson:3/s"),
        (fargate, "burst:400@60s"),
        (LAMBDA, "poisson:3/s"),
    ] {
        let a = Assumptions {
            duration: Some(1_800),
            failure_rate: 0.2,
            ..assumptions(load)
        };
        let a = if workers == LAMBDA { flags(a) } else { a };
        let retry = "  retry: {backoff: 5s, max_delay: 60s}\n";
        let lane = if workers == LAMBDA {
            "  priority: {max_concurrency: 3}\n"
        } else {
            "  priority: {weight: 2}\n"
        };
        let without = simulate(&file(workers, retry), &a).unwrap();
        let with = simulate(&file(workers, &format!("{retry}{lane}")), &a).unwrap();
        let json = |r: &Report| serde_json::to_string(r).unwrap();
        assert_eq!(json(&with), json(&without), "{workers}");
        assert_eq!(run_text::text("t", &with), run_text::text("t", &without));
        assert!(!json(&with).contains("\"lanes\""));
    }
}

#[test]
fn the_report_has_each_lanes_latency_and_jobs_and_judges_the_goal_on_all() {
    let e = file("  min: 2\n  max: 2\n", "  priority: {}\n");
    let a = Assumptions {
        duration: Some(1_800),
        priority_share: 0.25,
        ..assumptions("steady:2.4/s")
    };
    let r = simulate(&e, &a).unwrap();
    let lanes = r.lanes.as_ref().unwrap();
    assert_eq!(lanes.priority_share, 0.25);
    assert_eq!(lanes.rule, "taken first");
    assert_eq!(lanes.priority.arrived + lanes.ordinary.arrived, r.arrived);
    assert_eq!(
        lanes.priority.processed + lanes.ordinary.processed,
        r.processed
    );
    assert_eq!(
        lanes.priority.unfinished + lanes.ordinary.unfinished,
        r.unfinished
    );
    assert!(
        lanes.priority.latency.p95 < lanes.ordinary.latency.p95,
        "{lanes:?}"
    );
    // The goal is all the jobs': the urgent ones on time do not make it met.
    assert!(lanes.priority.latency.p99.unwrap() <= 60);
    assert_eq!(r.goal.met, Some(false), "{}", r.goal.reason);
    let text = run_text::text("t", &r);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{text}"))
            .to_string()
    };
    assert!(
        line("priority ").contains("25 % of the jobs, taken first;"),
        "{text}"
    );
    assert!(line("ordinary ").contains(": the rest; "), "{text}");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["lanes"]["priority"]["arrived"], lanes.priority.arrived);
    // The weight and a function's own mapping, in words.
    let weighted = file("  min: 2\n  max: 2\n", "  priority: {weight: 3}\n");
    let r = simulate(&weighted, &a).unwrap();
    assert_eq!(
        r.lanes.unwrap().rule,
        "taken first, at most 3 in a row while ordinary jobs wait"
    );
    let function = file(LAMBDA, "  priority: {max_concurrency: 6}\n");
    let r = simulate(&function, &flags(a.clone())).unwrap();
    assert_eq!(
        r.lanes.unwrap().rule,
        "its own mapping, up to 6 invocations at once"
    );
}

#[test]
fn a_share_outside_0_to_1_or_without_a_priority_lane_is_refused_naming_the_flag() {
    let with = file(GROUP, "  priority: {}\n");
    let refused = |e: &crate::config::Environment, share: f64| {
        let a = Assumptions {
            priority_share: share,
            ..assumptions("steady:1/s")
        };
        let err = simulate(e, &a).unwrap_err();
        assert!(
            matches!(
                err,
                Error::FlagValue {
                    flag: "--priority-share",
                    ..
                }
            ),
            "{err:?}"
        );
        err.to_string()
    };
    for share in [-0.1, 1.5, f64::NAN] {
        assert!(refused(&with, share).contains("a share from 0 to 1"));
    }
    let without = file(GROUP, "");
    let why = refused(&without, 0.2);
    assert!(why.contains("add queue.priority"), "{why}");
    // A pipeline's jobs arrive at its first stage: that stage needs the lane.
    let p = pipeline("", "", "messages");
    let a = Assumptions {
        priority_share: 0.2,
        ..assumptions("steady:1/s")
    };
    let why = simulate_pipeline(&p, &a).unwrap_err().to_string();
    assert!(
        why.contains("the one stage of p") && why.contains("add queue.priority"),
        "{why}"
    );
    // Share 1: every job urgent.
    let r = simulate(
        &with,
        &Assumptions {
            priority_share: 1.0,
            duration: Some(600),
            ..assumptions("steady:1/s")
        },
    )
    .unwrap();
    let lanes = r.lanes.unwrap();
    assert_eq!((lanes.priority.arrived, lanes.ordinary.arrived), (600, 0));
}

/// A two-stage pipeline, the second `fed_by` as given; `first` and `second` are each
/// stage's `queue` lines. The first stage does 3 jobs a second, the second 2.
fn pipeline(first: &str, second: &str, fed_by: &str) -> crate::config::Environment {
    let stage = |n: u64| {
        format!(
            "    workers: {{min: {n}, max: {n}}}\n    scaling: {{max_latency_seconds: 60, seconds_per_message: 1}}\n"
        )
    };
    let prefix = if fed_by == "objects" {
        "    prefix: one-done/\n"
    } else {
        ""
    };
    crate::config::parse(
        "stacks/p.yaml".into(),
        format!(
            "environment: p\nregion: eu-west-1\nlab: true\nstages:\n  - name: one\n    queue:\n      max_receive_count: 3\n{first}{}  - name: two\n    fed_by: {fed_by}\n{prefix}    queue:\n      max_receive_count: 3\n{second}{}",
            stage(3),
            stage(2)
        ),
    )
    .unwrap()
    .into_only()
}

#[test]
fn a_pipeline_sends_priority_jobs_on_to_the_next_stages_lane_when_it_is_fed_by_messages() {
    let lane = "      priority: {}\n";
    let a = Assumptions {
        duration: Some(1_200),
        priority_share: 0.3,
        ..assumptions("steady:2.2/s")
    };
    // The second stage falls behind (2.2 a second for 2 a second of work): its urgent jobs
    // go first there too.
    let run = simulate_pipeline(&pipeline(lane, lane, "messages"), &a).unwrap();
    let (one, two) = (&run.stages[0], &run.stages[1]);
    let (l1, l2) = (one.lanes.as_ref().unwrap(), two.lanes.as_ref().unwrap());
    // What the first stage's lane finished arrives in the second's (but for its last second).
    assert!(l2.priority.arrived <= l1.priority.processed);
    assert!(
        l1.priority.processed - l2.priority.arrived <= 4,
        "{l1:?} {l2:?}"
    );
    assert!(l2.priority.latency.p95 < l2.ordinary.latency.p95, "{l2:?}");
    assert!(run.end_to_end.latency.is_none());
    assert!(run.end_to_end.basis.contains("--priority-share"));
    // Fed by the objects the stage before writes: every job arrives in the ordinary queue
    // (its lane takes only what is submitted to it, which the run does not model).
    let own = "      priority: {}\n    sources: {messages: {}}\n";
    let run = simulate_pipeline(&pipeline(lane, own, "objects"), &a).unwrap();
    assert!(run.stages[0].lanes.is_some() && run.stages[1].lanes.is_none());
    // A next stage without a lane of its own: the same.
    let run = simulate_pipeline(&pipeline(lane, "", "messages"), &a).unwrap();
    assert!(run.stages[1].lanes.is_none());
}

#[test]
fn tune_keeps_working_with_a_priority_share_and_judges_all_the_jobs() {
    let e = env(
        "region: eu-west-1\nqueue:\n  priority: {weight: 2}\nscaling:\n  max_latency_seconds: 30\n  seconds_per_message: 2\nworkers:\n  min: 1\n  max: 10\n",
    );
    let a = Assumptions {
        duration: Some(3_600),
        priority_share: 0.3,
        ..assumptions("poisson:2/s")
    };
    let t = tune::tune(&e, &a).unwrap();
    assert!(t.reason.is_none() && !t.choices.is_empty(), "{t:?}");
    assert!(
        t.reproduce.contains("--priority-share 0.3"),
        "{}",
        t.reproduce
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever the seed, the share, the weight, the consumer and the failures: every arrival
    /// is processed, dead-lettered or still queued, and the lanes' counts add up.
    #[test]
    fn no_message_is_lost_and_the_lanes_add_up(
        seed in any::<u64>(),
        share in 0.0f64..=1.0,
        weight in prop::option::of(1u64..5),
        kind in 0usize..3,
        failure_rate in prop::sample::select(vec![0.0, 0.3]),
        arrivals in prop::collection::vec(0u64..30, 1..600),
    ) {
        let fleet = match kind {
            0 => ec2(1, 8, 5.0),
            1 => super::tests::fargate(0, 6, 5.0, 30),
            _ => lambda(3),
        };
        let p = Params {
            seed,
            failure_rate,
            spread: 0.3,
            max_receive_count: 2,
            visibility_timeout: 20,
            lanes: Some(Lanes {
                split: Split::Share(share),
                weight,
                max_concurrency: Some(2),
            }),
            ..params(fleet, 900)
        };
        let o = model::run(&p, &arrivals);
        assert_nothing_lost(&o);
        prop_assert_eq!(o.arrived, arrivals.iter().sum::<u64>());
    }
}
