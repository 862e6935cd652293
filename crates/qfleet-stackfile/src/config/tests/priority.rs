//! `queue.priority` (priority lanes): a second queue per stage that something can send to, on
//! a queue that keeps no order, with the setting of its workers' kind; its name within SQS's
//! limit; where a pipeline's workers send a priority job on; and the line validate says.

use super::*;
use crate::config::{PrioritySpec, WorkerKind, priority_queue_name};

const LAMBDA: &str = "workers:\n  kind: lambda\nqueue:\n  visibility_timeout: 6m\n";

#[test]
fn absent_one_lane_and_empty_a_lane_taken_first() {
    let env = parse_str("region: eu-west-1\n").unwrap().into_only();
    assert_eq!(env.spec.queue.priority, None);
    assert_eq!(env.priority_line(), None);
    let env = parse_str("region: eu-west-1\nqueue:\n  priority: {}\n")
        .unwrap()
        .into_only();
    assert_eq!(env.spec.queue.priority, Some(PrioritySpec::default()));
    assert_eq!(
        env.priority_line().as_deref(),
        Some(
            "priority lane qfleet-t-priority (qfleet submit --priority): the workers take its jobs before any other (queue.priority)"
        )
    );
    let env = parse_str("region: eu-west-1\nqueue:\n  priority: {weight: 4}\n")
        .unwrap()
        .into_only();
    assert!(
        env.priority_line()
            .unwrap()
            .contains("at most 4 in a row while other jobs wait"),
        "{:?}",
        env.priority_line()
    );
}

#[test]
fn a_weight_is_for_instances_and_tasks_and_a_concurrency_for_a_function() {
    let e = error(
        "region: eu-west-1\nqueue:\n  priority: {weight: 0}\n",
        "queue.priority.weight",
        3,
    );
    assert!(e.message.contains("out of range (1 to 100)"), "{e}");
    error(
        "region: eu-west-1\nqueue:\n  priority: {weight: 101}\n",
        "queue.priority.weight",
        3,
    );
    let e = error(
        "region: eu-west-1\nqueue:\n  priority: {max_concurrency: 4}\n",
        "queue.priority.max_concurrency",
        3,
    );
    assert!(e.message.contains("workers.kind: lambda"), "{e}");
    let lambda = |p: &str| format!("region: eu-west-1\n{LAMBDA}  priority: {p}\n");
    let e = error(&lambda("{weight: 2}"), "queue.priority.weight", 6);
    assert!(e.message.contains("max_concurrency"), "{e}");
    // ScalingConfig's MaximumConcurrency: 2 to 1000.
    error(
        &lambda("{max_concurrency: 1}"),
        "queue.priority.max_concurrency",
        6,
    );
    error(
        &lambda("{max_concurrency: 1001}"),
        "queue.priority.max_concurrency",
        6,
    );
    let env = parse_str(&lambda("{max_concurrency: 7}"))
        .unwrap()
        .into_only();
    assert_eq!(env.spec.workers.kind, WorkerKind::Lambda);
    assert!(
        env.priority_line()
            .unwrap()
            .contains("up to 7 at once beside the ordinary lane's"),
        "{:?}",
        env.priority_line()
    );
    // The lane's invocations come on top of the queue's: a reserved concurrency covers both.
    let e = error(
        "region: eu-west-1\nworkers:\n  kind: lambda\n  lambda: {max_concurrency: 5, reserved_concurrency: 8}\nqueue:\n  visibility_timeout: 6m\n  priority: {max_concurrency: 4}\n",
        "workers.lambda.reserved_concurrency",
        4,
    );
    assert!(e.message.contains("the priority lane's 4"), "{e}");
}

#[test]
fn a_fifo_stage_has_no_second_lane() {
    let e = error(
        "region: eu-west-1\nqueue:\n  fifo: true\n  content_based_deduplication: true\n  priority: {}\nsources:\n  uploads: false\n  messages: {}\n",
        "queue.priority",
        5,
    );
    assert!(e.message.contains("pass the jobs before it"), "{e}");
}

/// A pipeline: the first stage's lane takes `submit --priority`; a later one needs producers'
/// messages, or the stage before's priority jobs (fed by its messages, from a lane of its own).
#[test]
fn a_later_stages_lane_needs_a_way_in_and_gets_the_priority_jobs_of_the_stage_before() {
    let pipeline = |first: &str, second: &str, feed: &str| {
        format!(
            "region: eu-west-1\nstages:\n  - name: a\n    queue: {first}\n  - name: b\n    fed_by: {feed}\n    queue: {second}\n"
        )
    };
    // Fed by objects: nothing sends to its lane.
    let e = error(
        &pipeline("{}", "{priority: {}}", "objects"),
        "stages.1.queue.priority",
        7,
    );
    assert!(e.message.contains("nothing would send"), "{e}");
    // Fed by messages from a stage without a lane: the same.
    error(
        &pipeline("{}", "{priority: {}}", "messages"),
        "stages.1.queue.priority",
        7,
    );
    // Fed by messages from a stage with a lane: its priority jobs go on to this one's.
    let file = parse_str(&pipeline("{priority: {}}", "{priority: {}}", "messages")).unwrap();
    let env = file.into_only();
    let stages = env.stages();
    let first = stages[0].stage.as_ref().unwrap();
    assert_eq!(
        first.next_priority_queue.as_deref(),
        Some("qfleet-t--b-priority")
    );
    assert!(stages[1].stage.as_ref().unwrap().priority_in);
    assert!(
        stages[1]
            .priority_line()
            .unwrap()
            .starts_with("priority lane qfleet-t--b-priority (the stage before's priority jobs)"),
        "{:?}",
        stages[1].priority_line()
    );
    // A first stage's lane alone: its priority jobs go on to the next stage's job queue.
    let env = parse_str(&pipeline("{priority: {}}", "{}", "messages"))
        .unwrap()
        .into_only();
    assert_eq!(
        env.stages()[0].stage.as_ref().unwrap().next_priority_queue,
        None
    );
    // Producers' messages are a way in of their own.
    parse_str(
        "region: eu-west-1\nstages:\n  - name: a\n  - name: b\n    fed_by: objects\n    queue: {priority: {}}\n    sources: {messages: {}}\n",
    )
    .unwrap();
}

#[test]
fn the_lanes_name_fits_sqs_at_the_longest_names() {
    // "A queue name can have up to 80 characters" (CreateQueue,
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html).
    let env = "e".repeat(24);
    let stage = "s".repeat(crate::config::MAX_STAGE_NAME_LEN);
    for fifo in [false, true] {
        let name = priority_queue_name(&env, 3, &stage, fifo);
        assert!(name.len() <= 80, "{name}");
    }
    assert_eq!(
        priority_queue_name("shop", 0, "", false),
        "qfleet-shop-priority"
    );
}
