//! What `sources` renders (docs/sources.md): the producers' managed policy, the queue policy's
//! statements for other accounts' producers and for the topics, and each topic's
//! subscription with its dead-letter queue.

use super::*;

fn statements(doc: &Value, policy: &str) -> Vec<Value> {
    resource(doc, policy)["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .clone()
}

fn sid<'a>(statements: &'a [Value], sid: &str) -> &'a Value {
    statements
        .iter()
        .find(|s| s["Sid"].as_str() == Some(sid))
        .unwrap_or_else(|| panic!("no statement {sid}"))
}

/// The producers' policy: send to the stage's queue, and store a body over SQS's limit under
/// the bucket's bodies/ (docs/jobs.md), nothing else.
#[test]
fn the_producers_policy_sends_to_this_queue_and_nothing_else() {
    let (data, fleet) = rendered(&load("examples/sources.yaml"));
    let policy = statements(&data, "ProducerPolicy");
    assert_eq!(policy.len(), 2, "{policy:?}");
    let store = sid(&policy, "StoreLargeBodies");
    assert_eq!(store["Action"].as_str(), Some("s3:PutObject"));
    assert_eq!(
        untagged(&store["Resource"]).as_str(),
        Some("${Bucket.Arn}/bodies/*")
    );
    // The stage's workers read them there, and only there.
    let worker = statements(&fleet, "WorkerPolicy");
    let read = sid(&worker, "ReadStoredBodies");
    assert_eq!(read["Action"].as_str(), Some("s3:GetObject"));
    assert!(
        untagged(&read["Resource"])
            .as_str()
            .unwrap()
            .ends_with("-${AWS::AccountId}-${AWS::Region}/bodies/*")
    );
    assert_eq!(policy[0]["Action"].as_str(), Some("sqs:SendMessage"));
    assert_eq!(policy[0]["Effect"].as_str(), Some("Allow"));
    // The stage's own queue, and its priority lane (the example has one: `queue.priority`).
    let queues: Vec<&str> = policy[0]["Resource"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| untagged(r).as_str().unwrap())
        .collect();
    assert_eq!(
        queues,
        ["Queue.Arn", "PriorityQueue.Arn"],
        "the stage's own queues"
    );
    assert_eq!(
        untagged(&data["Outputs"]["ProducerPolicyArn"]["Value"]).as_str(),
        Some("ProducerPolicy")
    );

    // With a key: the two KMS actions a producer of an SSE-KMS queue needs, on that key.
    let key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let env = from_str(&format!(
        "region: eu-west-1\nlab: true\nkms_key: {key}\nsources:\n  messages: {{}}\n"
    ));
    let (data, _) = rendered(&env);
    let policy = statements(&data, "ProducerPolicy");
    let kms = sid(&policy, "EncryptJobs");
    let actions: Vec<&str> = kms["Action"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(actions, ["kms:GenerateDataKey", "kms:Decrypt"]);
    assert_eq!(kms["Resource"].as_str(), Some(key));
    // No producers listed: the queue policy names no other account.
    let queue_policy = statements(&data, "QueuePolicy");
    assert!(
        queue_policy
            .iter()
            .all(|s| s["Sid"].as_str() != Some("AllowProducersToSend"))
    );
}

#[test]
fn other_accounts_producers_and_the_topics_are_named_in_the_queue_policy() {
    let (data, _) = rendered(&load("examples/sources.yaml"));
    let policy = statements(&data, "QueuePolicy");
    let producers = sid(&policy, "AllowProducersToSend");
    let principals = producers["Principal"]["AWS"].as_sequence().unwrap();
    assert_eq!(
        untagged(&principals[0]).as_str(),
        Some("arn:${AWS::Partition}:iam::444455556666:root")
    );
    assert_eq!(
        principals[1].as_str(),
        Some("arn:aws:iam::777788889999:role/orders-api")
    );
    assert_eq!(producers["Action"].as_str(), Some("sqs:SendMessage"));

    let topics = sid(&policy, "AllowTopicsToSend");
    assert_eq!(
        topics["Principal"]["Service"].as_str(),
        Some("sns.amazonaws.com")
    );
    let arns: Vec<&str> = topics["Condition"]["ArnEquals"]["aws:SourceArn"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        arns,
        [
            "arn:aws:sns:eu-west-1:444455556666:orders",
            "arn:aws:sns:eu-west-1:444455556666:refunds"
        ]
    );
    // The dead-letter queue takes what SNS cannot deliver from exactly those topics.
    let dlq = statements(&data, "DeadLetterQueuePolicy");
    assert_eq!(
        dlq[0]["Condition"]["ArnEquals"]["aws:SourceArn"],
        topics["Condition"]["ArnEquals"]["aws:SourceArn"]
    );
}

#[test]
fn each_topic_is_subscribed_with_the_dead_letter_queue_after_the_policies() {
    let (data, _) = rendered(&load("examples/sources.yaml"));
    let id = format!(
        "{}Subscription",
        crate::render::sources::topic_id("arn:aws:sns:eu-west-1:444455556666:orders")
    );
    let sub = &data["Resources"][id.as_str()];
    let depends: Vec<&str> = sub["DependsOn"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(depends, ["QueuePolicy", "DeadLetterQueuePolicy"]);
    let p = &sub["Properties"];
    assert_eq!(p["Protocol"].as_str(), Some("sqs"));
    assert_eq!(
        p["RawMessageDelivery"].as_bool(),
        Some(true),
        "raw by default"
    );
    assert_eq!(
        untagged(&p["RedrivePolicy"]["deadLetterTargetArn"]).as_str(),
        Some("DeadLetterQueue.Arn")
    );
    assert_eq!(p["FilterPolicyScope"].as_str(), Some("MessageAttributes"));
    assert_eq!(p["FilterPolicy"]["event"][0].as_str(), Some("order_placed"));
}

/// A later stage fed by the messages of the stage before has no queue policy of its own;
/// with sources it gets one, with its own producers' policy and subscriptions.
#[test]
fn a_later_stage_takes_sources_of_its_own() {
    let env = from_str(
        "region: eu-west-1\nlab: true\nstages:\n  - name: first\n  - name: second\n    fed_by: messages\n    sources:\n      messages:\n        producers: [\"444455556666\"]\n      topics:\n        - arn: arn:aws:sns:eu-west-1:444455556666:orders\n          envelope: true\n",
    );
    let stacks = render(&env).unwrap();
    let data: Value = serde_yaml_ng::from_str(&stacks[0].template).unwrap();
    assert!(data["Resources"].get("ProducerPolicy").is_none());
    let policy = statements(&data, "StageSecondProducerPolicy");
    assert_eq!(
        untagged(&policy[0]["Resource"]).as_str(),
        Some("StageSecondQueue.Arn")
    );
    let queue_policy = statements(&data, "StageSecondQueuePolicy");
    let sids: Vec<&str> = queue_policy
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, ["AllowProducersToSend", "AllowTopicsToSend"]);
    let id = format!(
        "StageSecond{}Subscription",
        crate::render::sources::topic_id("arn:aws:sns:eu-west-1:444455556666:orders")
    );
    let sub = &data["Resources"][id.as_str()]["Properties"];
    assert_eq!(
        sub["RawMessageDelivery"].as_bool(),
        Some(false),
        "envelope: true"
    );
    assert_eq!(
        untagged(&sub["RedrivePolicy"]["deadLetterTargetArn"]).as_str(),
        Some("StageSecondDeadLetterQueue.Arn")
    );
    assert!(
        data["Outputs"]
            .get("StageSecondProducerPolicyArn")
            .is_some()
    );
}

/// Schedules (`sources.schedules`): a role only EventBridge Scheduler of this account may
/// take, allowed to send to the scheduled stages' queues (and their dead-letter queues, for
/// the dead-letter events) and nothing else; one schedule per entry.
#[test]
fn schedules_send_as_a_role_that_can_send_only_to_their_queues() {
    let env = from_str(
        "region: eu-west-1\nlab: true\nstages:\n  - name: first\n    sources:\n      schedules:\n        - name: nightly\n          cron: \"0 2 * * ?\"\n          timezone: Europe/Paris\n          window: 15m\n          body: {report: daily}\n  - name: second\n    fed_by: messages\n    sources:\n      schedules:\n        - name: hourly\n          rate: 1 hour\n          paused: true\n",
    );
    let stacks = render(&env).unwrap();
    let data: Value = serde_yaml_ng::from_str(&stacks[0].template).unwrap();
    let trust = &resource(&data, "SchedulerRole")["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        trust["Principal"]["Service"].as_str(),
        Some("scheduler.amazonaws.com")
    );
    assert_eq!(
        untagged(&trust["Condition"]["StringEquals"]["aws:SourceAccount"]).as_str(),
        Some("AWS::AccountId")
    );
    assert!(resource(&data, "SchedulerRole").get("Policies").is_none());

    let policy = statements(&data, "SchedulerPolicy");
    assert_eq!(policy.len(), 1, "no key: one statement");
    assert_eq!(policy[0]["Action"].as_str(), Some("sqs:SendMessage"));
    let queues: Vec<&str> = policy[0]["Resource"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| untagged(r).as_str().unwrap())
        .collect();
    assert_eq!(
        queues,
        [
            "Queue.Arn",
            "StageSecondQueue.Arn",
            "DeadLetterQueue.Arn",
            "StageSecondDeadLetterQueue.Arn"
        ]
    );

    let schedule = |name: &str| {
        let id = format!("Schedule{:08x}", crc32fast::hash(name.as_bytes()));
        data["Resources"][id.as_str()]["Properties"].clone()
    };
    let nightly = schedule("nightly");
    // The file leaves the year out; the template has it, as the API reference's six fields.
    assert_eq!(
        nightly["ScheduleExpression"].as_str(),
        Some("cron(0 2 * * ? *)")
    );
    assert_eq!(
        nightly["ScheduleExpressionTimezone"].as_str(),
        Some("Europe/Paris")
    );
    assert_eq!(
        nightly["FlexibleTimeWindow"]["Mode"].as_str(),
        Some("FLEXIBLE")
    );
    assert_eq!(
        nightly["FlexibleTimeWindow"]["MaximumWindowInMinutes"].as_u64(),
        Some(15)
    );
    assert_eq!(nightly["State"].as_str(), Some("ENABLED"));
    assert_eq!(
        untagged(&nightly["Target"]["Arn"]).as_str(),
        Some("Queue.Arn")
    );
    let input: serde_json::Value =
        serde_json::from_str(nightly["Target"]["Input"].as_str().unwrap()).unwrap();
    assert_eq!(input["body"]["report"], "daily");
    assert_eq!(input["qfleetSchedule"]["name"], "nightly");
    assert_eq!(
        input["qfleetSchedule"]["scheduled_time"],
        "<aws.scheduler.scheduled-time>"
    );

    let hourly = schedule("hourly");
    assert_eq!(hourly["ScheduleExpression"].as_str(), Some("rate(1 hour)"));
    // "OFF" quoted: YAML 1.1 would read a bare OFF as false.
    assert_eq!(hourly["FlexibleTimeWindow"]["Mode"].as_str(), Some("OFF"));
    assert_eq!(hourly["State"].as_str(), Some("DISABLED"));
    assert_eq!(
        untagged(&hourly["Target"]["DeadLetterConfig"]["Arn"]).as_str(),
        Some("StageSecondDeadLetterQueue.Arn")
    );
    assert_eq!(
        untagged(&data["Resources"]["ScheduleGroup"]["Properties"]["Name"]).as_str(),
        Some("qfleet-t")
    );
}

/// Stored bodies are read where jobs come as messages: the first stage (where `qfleet submit`
/// sends) and a stage with `sources.messages`; a later stage fed only by objects reads none.
#[test]
fn only_stages_that_take_messages_read_stored_bodies() {
    let env = from_str(
        "region: eu-west-1\nlab: true\nstages:\n  - name: a\n  - name: b\n  - name: c\n    sources:\n      messages: {}\n",
    );
    let stacks = render(&env).unwrap();
    let reads: Vec<bool> = stacks[1..]
        .iter()
        .map(|s| {
            let doc: Value = serde_yaml_ng::from_str(&s.template).unwrap();
            statements(&doc, "WorkerPolicy")
                .iter()
                .any(|s| s["Sid"].as_str() == Some("ReadStoredBodies"))
        })
        .collect();
    assert_eq!(reads, [true, false, true]);
}
