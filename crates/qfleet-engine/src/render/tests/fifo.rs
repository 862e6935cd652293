//! FIFO stages (`queue.fifo`, docs/sources.md): FIFO queues with FIFO dead-letter queues, no
//! uploads where S3 cannot send, and Lambda's FIFO limits.

use super::*;

fn stacks(env: &Environment) -> Vec<Value> {
    render(env)
        .unwrap()
        .iter()
        .map(|s| serde_yaml_ng::from_str::<Value>(&s.template).unwrap())
        .collect()
}

fn has(doc: &Value, id: &str) -> bool {
    doc["Resources"].get(id).is_some()
}

#[test]
fn a_fifo_stage_has_fifo_queues_and_no_uploads() {
    let env = load("examples/fifo.yaml");
    let docs = stacks(&env);
    let data = &docs[0];
    let queue = resource(data, "Queue");
    assert_eq!(queue["FifoQueue"].as_bool(), Some(true));
    assert_eq!(queue["QueueName"].as_str(), Some("qfleet-fifo-jobs.fifo"));
    assert_eq!(queue["ContentBasedDeduplication"].as_bool(), Some(true));
    assert!(queue.get("DeduplicationScope").is_none());
    // "a FIFO queue can only use a FIFO DLQ": named, since the name must end in .fifo.
    let dlq = resource(data, "DeadLetterQueue");
    assert_eq!(dlq["FifoQueue"].as_bool(), Some(true));
    assert_eq!(dlq["QueueName"].as_str(), Some("qfleet-fifo-jobs-dlq.fifo"));
    let allowed = &dlq["RedriveAllowPolicy"]["sourceQueueArns"][0];
    assert!(
        untagged(allowed)
            .as_str()
            .unwrap()
            .ends_with(":qfleet-fifo-jobs.fifo")
    );
    // S3 cannot send to a FIFO queue: no uploads topic, no notification, no arrivals.
    for id in ["Topic", "TopicPolicy", "Subscription", "JobArrivals"] {
        assert!(!has(data, id), "{id} rendered for a stage without uploads");
    }
    assert!(
        resource(data, "Bucket")
            .get("NotificationConfiguration")
            .is_none()
    );
    assert!(data["Resources"]["Bucket"].get("DependsOn").is_none());
    assert!(data["Outputs"].get("TopicArn").is_none());
    // The queue policy keeps the FIFO topic's statement only.
    let statements = resource(data, "QueuePolicy")["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let sids: Vec<_> = statements.iter().map(|s| s["Sid"].as_str()).collect();
    assert_eq!(sids, [Some("AllowTopicsToSend")]);

    // The second stage: high throughput, fed by the first stage's messages.
    let invoices = resource(data, "StageInvoicesQueue");
    assert_eq!(invoices["FifoQueue"].as_bool(), Some(true));
    assert_eq!(
        invoices["DeduplicationScope"].as_str(),
        Some("messageGroup")
    );
    assert_eq!(
        invoices["FifoThroughputLimit"].as_str(),
        Some("perMessageGroupId")
    );
    assert_eq!(
        invoices["QueueName"].as_str(),
        Some("qfleet-fifo--invoices-jobs.fifo")
    );
    // The first stage's workers consume their FIFO queue and send to the next one, by the
    // names the data stack gives them (the worker's tests cannot: each stage has its role).
    let grants = resource(&docs[1], "WorkerPolicy")["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .clone();
    let on = |sid: &str| {
        let st = grants
            .iter()
            .find(|s| s["Sid"].as_str() == Some(sid))
            .unwrap();
        untagged(&st["Resource"]).as_str().unwrap().to_string()
    };
    assert!(on("ConsumeJobs").ends_with(":qfleet-fifo-jobs.fifo"));
    assert!(on("FeedNextStage").ends_with(":qfleet-fifo--invoices-jobs.fifo"));
    // The function's event source mapping reads the FIFO queue by its name.
    let mapping_source = untagged(&resource(&docs[2], "QueueMapping")["EventSourceArn"]);
    assert!(
        mapping_source
            .as_str()
            .unwrap()
            .ends_with(":qfleet-fifo--invoices-jobs.fifo")
    );
    // "Batching window is not supported for FIFO queues".
    let mapping = resource(&docs[2], "QueueMapping");
    assert_eq!(mapping["BatchSize"].as_u64(), Some(10));
    assert!(mapping.get("MaximumBatchingWindowInSeconds").is_none());
}

#[test]
fn a_standard_stage_renders_as_before() {
    let (data, _) = rendered(&load("stacks/lab.yaml"));
    for id in ["Queue", "DeadLetterQueue"] {
        assert!(resource(&data, id).get("FifoQueue").is_none(), "{id}");
    }
    assert!(
        resource(&data, "DeadLetterQueue")
            .get("QueueName")
            .is_none()
    );
    assert!(has(&data, "Topic") && has(&data, "Subscription"));
}

/// A standard stage whose uploads are off keeps the bucket, with no notification, and the
/// queue policy only for what still sends.
#[test]
fn uploads_off_on_a_standard_stage_keeps_the_bucket_without_events() {
    let env =
        from_str("region: eu-west-1\nlab: true\nsources:\n  uploads: false\n  messages: {}\n");
    let (data, _) = rendered(&env);
    assert!(has(&data, "Bucket"));
    assert!(!has(&data, "Topic"));
    assert!(
        !has(&data, "QueuePolicy"),
        "no one outside the account sends"
    );
    assert!(has(&data, "ProducerPolicy"));
}

/// Content-based deduplication is rendered only when asked.
#[test]
fn content_based_deduplication_is_the_files_choice() {
    let env = from_str(
        "region: eu-west-1\nlab: true\nqueue:\n  fifo: true\n  content_based_deduplication: true\nsources:\n  uploads: false\n  messages: {}\n",
    );
    let (data, _) = rendered(&env);
    assert_eq!(
        resource(&data, "Queue")["ContentBasedDeduplication"].as_bool(),
        Some(true)
    );
}

/// A schedule on a FIFO stage: its runs in one message group, and what Scheduler could not
/// send kept in a standard queue of its own (Scheduler takes no FIFO dead-letter queue), which
/// its role may send to, alarmed; a standard stage's schedules keep the stage's.
#[test]
fn a_fifo_stages_schedule_sends_in_its_group_and_keeps_failures_in_a_standard_queue() {
    let env = from_str(
        "region: eu-west-1\nlab: true\nqueue: {fifo: true, content_based_deduplication: true}\nsources:\n  uploads: false\n  schedules:\n    - {name: nightly, cron: \"0 2 * * ? *\"}\n    - {name: hourly, rate: 1 hour, group: reports}\n",
    );
    let (data, _) = rendered(&env);
    let targets: Vec<&Value> = data["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Scheduler::Schedule"))
        .map(|r| &r["Properties"]["Target"])
        .collect();
    let mut groups: Vec<&str> = targets
        .iter()
        .map(|t| t["SqsParameters"]["MessageGroupId"].as_str().unwrap())
        .collect();
    groups.sort();
    assert_eq!(
        groups,
        ["nightly", "reports"],
        "the name, or the group given"
    );
    for t in &targets {
        assert_eq!(
            untagged(&t["DeadLetterConfig"]["Arn"]).as_str(),
            Some("ScheduleDeadLetterQueue.Arn")
        );
    }
    let dlq = resource(&data, "ScheduleDeadLetterQueue");
    assert!(dlq.get("FifoQueue").is_none(), "a standard queue");
    assert!(has(&data, "ScheduleDeadLetterQueueNotEmptyAlarm"));
    let may_send = serde_yaml_ng::to_string(&resource(&data, "SchedulerPolicy")).unwrap();
    assert!(
        may_send.contains("ScheduleDeadLetterQueue.Arn"),
        "{may_send}"
    );

    let (standard, _) = rendered(&load("examples/sources.yaml"));
    assert!(!has(&standard, "ScheduleDeadLetterQueue"));
}
