//! `queue.retry`: the waits between a failing message's attempts, each within what
//! ChangeMessageVisibility takes, all of them before SQS's retention deletes the message; the
//! same waits as the worker's and the handler's (`retry_delay` of qfleet_shared.py).

use super::*;

#[test]
fn absent_the_file_keeps_the_kinds_old_retries_and_present_it_has_the_documented_defaults() {
    let env = parse_str("region: eu-west-1\n").unwrap().into_only();
    assert_eq!(env.spec.queue.retry, None);
    let env = parse_str("region: eu-west-1\nqueue:\n  retry: {}\n")
        .unwrap()
        .into_only();
    let r = env.spec.queue.retry.unwrap();
    assert_eq!(
        (r.backoff.0, r.max_delay.0, r.jitter),
        (1, 10, Jitter::None)
    );
    // 1 s doubling up to 10 s: the reference worker's waits before queue.retry existed.
    assert_eq!(
        (1..=6).map(|n| r.delay(n)).collect::<Vec<_>>(),
        [1, 2, 4, 8, 10, 10]
    );
}

#[test]
fn each_wait_doubles_up_to_max_delay_and_a_huge_attempt_saturates() {
    let env = parse_str(
        "region: eu-west-1\nqueue:\n  retry: {backoff: 30s, max_delay: 5m, jitter: full}\n",
    )
    .unwrap()
    .into_only();
    let r = env.spec.queue.retry.unwrap();
    assert_eq!(r.jitter, Jitter::Full);
    assert_eq!(
        (1..=6).map(|n| r.delay(n)).collect::<Vec<_>>(),
        [30, 60, 120, 240, 300, 300]
    );
    assert_eq!((r.delay(0), r.delay(u64::MAX)), (30, 300));
    // Between 5 attempts, 4 waits.
    assert_eq!(r.waits(5), 30 + 60 + 120 + 240);
    assert_eq!(r.waits(1), 0);
}

#[test]
fn a_wait_beyond_twelve_hours_or_a_cap_below_the_first_wait_is_refused() {
    let list = errors(
        "region: eu-west-1\nqueue:\n  message_retention: 13d\n  retry:\n    backoff: 13h\n    max_delay: 13h\n",
    );
    let fields: Vec<(&str, usize)> = list.iter().map(|e| (e.field.as_str(), e.line)).collect();
    assert_eq!(
        fields,
        [("queue.retry.backoff", 5), ("queue.retry.max_delay", 6)]
    );
    assert!(
        list[0].message.contains("out of range (0s to 43200s)"),
        "{}",
        list[0]
    );
    let list = errors("region: eu-west-1\nqueue:\n  retry:\n    backoff: 1m\n    max_delay: 30s\n");
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0].field, "queue.retry.max_delay");
    assert!(
        list[0]
            .message
            .contains("shorter than queue.retry.backoff (1m)"),
        "{}",
        list[0]
    );
}

#[test]
fn waits_that_outlast_the_retention_are_refused_as_they_would_lose_the_message() {
    // 5 attempts: waits of 1h, 2h, 4h and 8h, 15 h in all, against a retention of 4 days: kept.
    parse_str("region: eu-west-1\nqueue:\n  retry: {backoff: 1h, max_delay: 12h}\n").unwrap();
    // Against a retention of 12 hours: the message would be gone before its fifth attempt.
    let e = error(
        "region: eu-west-1\nqueue:\n  message_retention: 12h\n  retry: {backoff: 1h, max_delay: 12h}\n",
        "queue.retry",
        4,
    );
    assert!(
        e.message
            .contains("add up to 15h, not shorter than queue.message_retention (12h)")
            && e.message.contains("never reach the dead-letter queue"),
        "{e}"
    );
}

#[test]
fn a_stage_has_its_own_retry() {
    let file = parse_str(
        "region: eu-west-1\nstages:\n  - name: fast\n  - name: slow\n    queue:\n      retry: {backoff: 1m, max_delay: 1h}\n",
    )
    .unwrap();
    let stages: Vec<_> = file
        .base
        .stages()
        .into_iter()
        .map(|s| s.spec.queue.retry)
        .collect();
    assert_eq!(stages[0], None);
    assert_eq!(stages[1].map(|r| r.max_delay.0), Some(3600));
}

/// The worker's and the handler's waits (qfleet_shared.retry_delay, which Python runs here)
/// are this crate's, which the simulator and validate use.
#[test]
fn the_workers_waits_are_the_stack_files() {
    let cases = [
        (1, 10, 1),
        (2, 10, 3),
        (30, 300, 7),
        (0, 5, 2),
        (3600, 43_200, 9),
    ];
    let mut program = String::from("import qfleet_shared as s\n");
    for (b, m, n) in cases {
        program.push_str(&format!(
            "print(s.retry_delay(s.SharedConfig({{'QFLEET_RETRY_BACKOFF': '{b}', 'QFLEET_RETRY_MAX_DELAY': '{m}'}}), {n}))\n"
        ));
    }
    let theirs: Vec<u64> = shipped_python(&program)
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    let ours: Vec<u64> = cases
        .iter()
        .map(|&(b, m, n)| {
            RetrySpec {
                backoff: duration::Seconds(b),
                max_delay: duration::Seconds(m),
                jitter: Jitter::None,
            }
            .delay(n)
            // SQS's 12 hours from the receive, which the worker keeps within.
            .min(43_199)
        })
        .collect();
    assert_eq!(theirs, ours);
}

#[test]
fn the_waits_are_said_in_words_up_to_the_cap() {
    let r = |yaml: &str| {
        parse_str(&format!("region: eu-west-1\nqueue:\n  retry: {yaml}\n"))
            .unwrap()
            .into_only()
            .spec
            .queue
            .retry
            .unwrap()
    };
    assert_eq!(
        r("{backoff: 10s, max_delay: 1m, jitter: full}").describe(5),
        "a failed attempt waits 10s, 20s, 40s, 1m (at random below each: full jitter) before the next; failure 5 goes to the dead-letter queue"
    );
    assert_eq!(
        r("{backoff: 10s, max_delay: 30s}").describe(6),
        "a failed attempt waits 10s, 20s, then 30s each before the next; failure 6 goes to the dead-letter queue"
    );
    assert_eq!(
        r("{backoff: 1m, max_delay: 1m}").describe(3),
        "a failed attempt waits 1m each before the next; failure 3 goes to the dead-letter queue"
    );
    assert_eq!(
        r("{}").describe(2),
        "a failed attempt waits 1s before the next; failure 2 goes to the dead-letter queue"
    );
    assert_eq!(
        r("{}").describe(1),
        "one attempt: a failure goes to the dead-letter queue"
    );
}

/// `workers.job_timeout`: 1 s to 12 h on EC2 and Fargate; on Lambda refused, naming the
/// function's own limit.
#[test]
fn a_job_timeout_is_within_twelve_hours_and_refused_on_lambda_with_its_own_limit() {
    let env = parse_str("region: eu-west-1\nworkers:\n  job_timeout: 10m\n")
        .unwrap()
        .into_only();
    assert_eq!(env.spec.workers.job_timeout.map(|t| t.0), Some(600));
    let e = error(
        "region: eu-west-1\nworkers:\n  job_timeout: 13h\n",
        "workers.job_timeout",
        3,
    );
    assert!(e.message.contains("out of range (1s to 43200s)"), "{e}");
    let e = error(
        "region: eu-west-1\nworkers:\n  kind: lambda\n  job_timeout: 1m\n",
        "workers.job_timeout",
        4,
    );
    assert!(e.message.contains("workers.lambda.timeout"), "{e}");
}

/// On Lambda the handler's wait comes after the function's timeout and batching window: all
/// of it within SQS's 12 hours from the receive.
#[test]
fn a_functions_longest_wait_leaves_room_for_its_timeout_within_twelve_hours() {
    let yaml = |max: &str| {
        format!(
            "region: eu-west-1\nqueue:\n  visibility_timeout: 1h\n  message_retention: 14d\n  dlq_retention: 14d\n  retry: {{backoff: 1m, max_delay: {max}}}\nworkers:\n  kind: lambda\n  lambda:\n    timeout: 10m\n"
        )
    };
    let list = errors(&yaml("12h"));
    let e = list
        .iter()
        .find(|e| e.field == "queue.retry.max_delay")
        .unwrap_or_else(|| panic!("{list:#?}"));
    assert!(e.message.contains("at most 42600s"), "{e}");
    assert!(
        errors(&yaml("11h"))
            .iter()
            .all(|e| e.field != "queue.retry.max_delay")
    );
}
