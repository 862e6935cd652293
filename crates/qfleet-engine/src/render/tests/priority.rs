//! `queue.priority` as each kind renders it: the lane beside the job queue in the data stack
//! (the same dead-letter queue, which lets it redrive; its own alarm), what each kind's workers
//! get (its URL, the grants on both queues, a function's second mapping), a scaling that
//! counts both lanes, and a pipeline's priority jobs handed on to the next stage's lane.

use super::*;

const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/resizer:1.4.2";
const LANE: &str = "qfleet-t-priority";

fn kinds() -> [(&'static str, String); 3] {
    [
        ("ec2", String::new()),
        (
            "fargate",
            format!("workers:\n  kind: fargate\n  image: {IMAGE}\n"),
        ),
        ("lambda", "workers:\n  kind: lambda\n".into()),
    ]
}

fn yaml(v: &Value) -> String {
    serde_yaml_ng::to_string(v).unwrap()
}

/// The resources of a policy's statement `sid`, as text.
fn granted(fleet: &Value, sid: &str) -> Vec<String> {
    let policies = fleet["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| {
            r["Type"].as_str() == Some("AWS::IAM::ManagedPolicy")
                || r["Type"].as_str() == Some("AWS::IAM::Policy")
        });
    for p in policies {
        let statements = p["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        if let Some(s) = statements.iter().find(|s| s["Sid"].as_str() == Some(sid)) {
            return match &s["Resource"] {
                Value::Sequence(list) => list.iter().map(|r| yaml(untagged(r))).collect(),
                one => vec![yaml(untagged(one))],
            };
        }
    }
    panic!("no statement {sid}")
}

#[test]
fn every_kind_gets_its_lane_beside_the_queue_and_none_without_it() {
    for (kind, workers) in kinds() {
        let priority = if kind == "lambda" {
            "{max_concurrency: 3}"
        } else {
            "{weight: 4}"
        };
        let env = from_str(&format!(
            "region: eu-west-1\nlab: true\nqueue:\n  priority: {priority}\n{workers}"
        ));
        let (data, fleet) = rendered(&env);
        // The lane: the queue's settings and its dead-letter queue, which takes it back.
        let lane = resource(&data, "PriorityQueue");
        let queue = resource(&data, "Queue");
        assert_eq!(lane["QueueName"], LANE, "{kind}");
        for key in [
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "ReceiveMessageWaitTimeSeconds",
            "SqsManagedSseEnabled",
        ] {
            assert_eq!(lane[key], queue[key], "{kind}: {key}");
        }
        assert_eq!(
            yaml(&lane["RedrivePolicy"]),
            yaml(&queue["RedrivePolicy"]),
            "{kind}"
        );
        let sources = yaml(&resource(&data, "DeadLetterQueue")["RedriveAllowPolicy"]);
        assert!(
            sources.contains(":qfleet-t-jobs") && sources.contains(LANE),
            "{sources}"
        );
        let alarm = resource(&data, "PriorityOldestMessageAlarm");
        assert_eq!(alarm["MetricName"], "ApproximateAgeOfOldestMessage");
        assert!(yaml(&alarm["Dimensions"]).contains("PriorityQueue.QueueName"));
        assert!(data["Outputs"]["PriorityQueueUrl"].is_mapping(), "{kind}");

        // The workers: its URL, and every grant on the queue on the lane too.
        let stacks = render(&env).unwrap();
        let fleet_stack = stacks.iter().find(|s| s.role == StackRole::Fleet).unwrap();
        let vars = worker_variables(&env, &env, fleet_stack, "123456789012").unwrap();
        assert_eq!(
            vars.get("QFLEET_PRIORITY_QUEUE_URL").map(String::as_str),
            Some("https://sqs.eu-west-1.amazonaws.com/123456789012/qfleet-t-priority"),
            "{kind}"
        );
        let sid = if kind == "lambda" {
            "QueueMapping"
        } else {
            "ConsumeJobs"
        };
        let grants = granted(&fleet, sid);
        assert_eq!(grants.len(), 2, "{kind}: {grants:?}");
        assert!(grants[1].contains(LANE), "{kind}: {grants:?}");
        match kind {
            "lambda" => {
                // A mapping on each lane: the lane's at its own concurrency.
                let m = resource(&fleet, "PriorityQueueMapping");
                assert!(yaml(&m["EventSourceArn"]).contains(LANE));
                assert_eq!(m["ScalingConfig"]["MaximumConcurrency"], 3);
                assert_eq!(
                    resource(&fleet, "QueueMapping")["ScalingConfig"]["MaximumConcurrency"],
                    5
                );
                assert_eq!(vars.get("QFLEET_PRIORITY_WEIGHT"), None);
            }
            _ => {
                assert_eq!(
                    vars.get("QFLEET_PRIORITY_WEIGHT").map(String::as_str),
                    Some("4"),
                    "{kind}"
                );
                // The backlog per worker counts both lanes.
                let text = yaml(&fleet);
                assert!(
                    text.contains("FILL(p1, 0) + FILL(p3, 0)"),
                    "{kind}: the target tracking's metric"
                );
                assert!(text.contains(LANE), "{kind}");
            }
        }

        // Without it: one queue, and nothing of a lane anywhere.
        let env = from_str(&format!("region: eu-west-1\nlab: true\n{workers}"));
        let stacks = render(&env).unwrap();
        for s in &stacks {
            // (The reference handler's code, inline in a function's template, reads a lane's
            // variable when one is set.)
            for mark in [LANE, "PriorityQueue", "FILL(p1", "FILL(pvisible"] {
                assert!(
                    !s.template.contains(mark),
                    "{kind}: {} has {mark}",
                    s.file_name
                );
            }
        }
    }
}

/// EC2's scale-in alarm and its start from zero count the lane's jobs too: a fleet must not
/// shrink, nor stay at zero, while urgent jobs wait.
#[test]
fn an_ec2_fleet_neither_shrinks_nor_stays_at_zero_while_the_lane_holds_jobs() {
    let env = from_str(
        "region: eu-west-1\nlab: true\nqueue:\n  priority: {}\nworkers: {min: 0, max: 4}\nscaling:\n  scale_in: {}\n  scale_from_zero: true\n",
    );
    let (_, fleet) = rendered(&env);
    let expression = |alarm: &str, id: &str| {
        resource(&fleet, alarm)["Metrics"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|m| m["Id"].as_str() == Some(id))
            .map(|m| m["Expression"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(
        expression("ScaleInAlarm", "held"),
        "visible + FILL(inflight, 0) + FILL(pvisible, 0) + FILL(pinflight, 0)"
    );
    // A minute without the lane's count is no datapoint, never an empty lane: no step in.
    assert!(
        expression("ScaleInAlarm", "busy").ends_with("* (FILL(pvisible, -1) >= 0))"),
        "{}",
        expression("ScaleInAlarm", "busy")
    );
    // Either queue's jobs start a fleet at zero, the other queue long idle (no count).
    assert!(
        expression("ScaleFromZeroAlarm", "waiting")
            .starts_with("IF(FILL(visible, 0) + FILL(pvisible, 0) > 0"),
    );
    let tracked =
        yaml(&resource(&fleet, "BacklogPerInstancePolicy")["TargetTrackingConfiguration"]);
    assert!(
        tracked.contains("/ (m2 * (FILL(p1, -1) >= 0))"),
        "{tracked}"
    );
    let text = yaml(&fleet);
    assert!(
        text.matches(LANE).count() >= 5,
        "every metric of the lane names it"
    );
}

/// A pipeline: a stage's priority jobs go on to the next stage's lane when it is fed by
/// messages and has one; the workers may send there and nowhere else.
#[test]
fn a_stage_sends_its_priority_jobs_on_to_the_next_stages_lane() {
    let env = from_str(
        "region: eu-west-1\nlab: true\nstages:\n  - name: a\n    queue: {priority: {}}\n  - name: b\n    fed_by: messages\n    queue: {priority: {}}\n    workers: {kind: lambda}\n",
    );
    let stacks = render(&env).unwrap();
    let first = &stacks[1];
    let doc: Value = serde_yaml_ng::from_str(&first.template).unwrap();
    let stage = &env.stages()[0];
    let vars = worker_variables(stage, &env, first, "123456789012").unwrap();
    assert_eq!(
        vars.get("QFLEET_NEXT_PRIORITY_QUEUE_URL")
            .map(String::as_str),
        Some("https://sqs.eu-west-1.amazonaws.com/123456789012/qfleet-t--b-priority")
    );
    let grants = granted(&doc, "FeedNextStage");
    assert_eq!(grants.len(), 2, "{grants:?}");
    assert!(grants[0].contains("qfleet-t--b-jobs") && grants[1].contains("qfleet-t--b-priority"));
    // The data stack holds both stages' lanes, each with its stage's dead-letter queue.
    let data: Value = serde_yaml_ng::from_str(&stacks[0].template).unwrap();
    assert_eq!(
        resource(&data, "PriorityQueue")["QueueName"],
        "qfleet-t-priority"
    );
    let later = data["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .find(|(k, _)| {
            k.as_str()
                .is_some_and(|k| k.ends_with("PriorityQueue") && k != "PriorityQueue")
        })
        .map(|(_, v)| v)
        .unwrap();
    assert_eq!(later["Properties"]["QueueName"], "qfleet-t--b-priority");
    assert!(yaml(&later["Properties"]["RedrivePolicy"]).contains("DeadLetterQueue"));
}
