//! Pipelines (`stages`): the data stack holds every stage's queues and the bucket's events for
//! the later stages; each stage has a fleet stack of its own, reading its own queue and prefix.

use super::*;

const TWO_STAGES: &str = "region: eu-west-1
lab: true
stages:
  - name: transcode
    workers: {min: 1, max: 3}
  - name: thumbnail
    prefix: transcoded/
    queue: {visibility_timeout: 2m}
    workers: {kind: lambda}
";

fn parse_all(env: &Environment) -> Vec<(RenderedStack, Value)> {
    render(env)
        .unwrap()
        .into_iter()
        .map(|s| {
            let v = serde_yaml_ng::from_str::<Value>(&s.template).unwrap();
            (s, v)
        })
        .collect()
}

fn text(v: &Value) -> String {
    match untagged(v) {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other).unwrap(),
    }
}

#[test]
fn a_pipeline_renders_the_data_stack_and_one_fleet_per_stage() {
    let env = from_str(TWO_STAGES);
    let stacks = parse_all(&env);
    let names: Vec<(&str, &str)> = stacks
        .iter()
        .map(|(s, _)| (s.stack_name.as_str(), s.file_name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("qfleet-t-data", "data.yaml"),
            ("qfleet-t-fleet", "fleet.yaml"),
            ("qfleet-t--thumbnail-fleet", "fleet-thumbnail.yaml"),
        ]
    );
    // The first stage keeps a one-stage environment's names; the second has its own.
    let data = &stacks[0].1;
    assert_eq!(resource(data, "Queue")["QueueName"], "qfleet-t-jobs");
    let q = resource(data, "StageThumbnailQueue");
    assert_eq!(q["QueueName"], "qfleet-t--thumbnail-jobs");
    assert_eq!(q["VisibilityTimeout"], 120);
    assert_eq!(
        text(&q["RedrivePolicy"]["deadLetterTargetArn"]),
        "StageThumbnailDeadLetterQueue.Arn"
    );
    assert!(data["Resources"]["StageThumbnailDeadLetterQueue"].is_mapping());

    // The bucket sends the events of the first stage's output prefix to the second stage's own
    // topic, once the queue's policy and subscription let them through; the subscription
    // leaves S3's test event out, as the first stage's does (issue 57).
    let bucket = &data["Resources"]["Bucket"];
    let depends: Vec<&str> = bucket["DependsOn"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for d in [
        "TopicPolicy",
        "StageThumbnailQueuePolicy",
        "StageThumbnailSubscription",
    ] {
        assert!(depends.contains(&d), "{d}: {depends:?}");
    }
    let n = &bucket["Properties"]["NotificationConfiguration"];
    assert!(
        n.get("QueueConfigurations").is_none(),
        "no queue is a destination"
    );
    let tc = &n["TopicConfigurations"];
    assert_eq!(text(&tc[0]["Topic"]), "Topic");
    assert_eq!(tc[0]["Filter"]["S3Key"]["Rules"][0]["Value"], "uploads/");
    assert_eq!(text(&tc[1]["Topic"]), "StageThumbnailTopic");
    assert_eq!(tc[1]["Filter"]["S3Key"]["Rules"][0]["Value"], "transcoded/");
    let published: Vec<String> =
        resource(data, "TopicPolicy")["PolicyDocument"]["Statement"][0]["Resource"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(text)
            .collect();
    assert_eq!(published, ["Topic", "StageThumbnailTopic"]);
    let st = &resource(data, "StageThumbnailQueuePolicy")["PolicyDocument"]["Statement"][0];
    assert_eq!(st["Principal"]["Service"], "sns.amazonaws.com");
    assert_eq!(st["Action"], "sqs:SendMessage");
    assert_eq!(
        text(&st["Condition"]["ArnEquals"]["aws:SourceArn"]),
        "StageThumbnailTopic"
    );
    let sub = resource(data, "StageThumbnailSubscription");
    assert_eq!(text(&sub["TopicArn"]), "StageThumbnailTopic");
    assert_eq!(text(&sub["Endpoint"]), "StageThumbnailQueue.Arn");
    assert_eq!(sub["RawMessageDelivery"], true);
    for s in [sub, resource(data, "Subscription")] {
        assert_eq!(s["FilterPolicyScope"], "MessageBody");
        assert_eq!(
            serde_json::to_value(&s["FilterPolicy"]).unwrap(),
            serde_json::json!({"Event": [{"exists": false}]})
        );
    }
    // The function's alarms watch the second stage's function; the processed prefix is the
    // pipeline's last.
    assert_eq!(
        resource(data, "StageThumbnailFunctionErrorsAlarm")["Dimensions"][0]["Value"],
        "qfleet-t--thumbnail-worker"
    );
    assert_eq!(data["Outputs"]["ProcessedPrefix"]["Value"], "processed/");

    // The first stage's workers read uploads/ and write transcoded/; the second reads
    // transcoded/ and writes processed/, from its own queue.
    let first = &stacks[1].1;
    let ud = text(&resource(first, "LaunchTemplate")["LaunchTemplateData"]["UserData"]);
    assert!(ud.contains("QFLEET_UPLOAD_PREFIX=uploads/\n"), "{ud}");
    assert!(ud.contains("QFLEET_PROCESSED_PREFIX=transcoded/\n"), "{ud}");
    assert!(ud.contains("QFLEET_QUEUE_NAME=qfleet-t-jobs\n"), "{ud}");
    assert!(
        !ud.contains("QFLEET_NEXT_QUEUE_URL"),
        "fed by objects: {ud}"
    );
    let second = &stacks[2].1;
    let f = resource(second, "WorkerFunction");
    assert_eq!(f["FunctionName"], "qfleet-t--thumbnail-worker");
    let vars = &f["Environment"]["Variables"];
    assert_eq!(vars["QFLEET_UPLOAD_PREFIX"], "transcoded/");
    assert_eq!(vars["QFLEET_PROCESSED_PREFIX"], "processed/");
    assert_eq!(vars["QFLEET_STAGE"], "thumbnail");
    assert!(
        text(&resource(second, "QueueMapping")["EventSourceArn"])
            .ends_with(":qfleet-t--thumbnail-jobs")
    );
    assert_eq!(
        resource(second, "WorkerFunctionLogGroup")["LogGroupName"],
        "/aws/lambda/qfleet-t--thumbnail-worker"
    );
}

#[test]
fn a_stage_fed_by_messages_gets_only_a_send_grant_on_the_next_queue() {
    let yaml = TWO_STAGES.replace("    prefix: transcoded/\n", "    fed_by: messages\n");
    let env = from_str(&yaml);
    let stacks = parse_all(&env);
    let data = &stacks[0].1;
    // No bucket event, topic or queue policy: only the first stage's workers send there.
    let n = &data["Resources"]["Bucket"]["Properties"]["NotificationConfiguration"];
    assert_eq!(n["TopicConfigurations"].as_sequence().unwrap().len(), 1);
    assert!(data["Resources"].get("StageThumbnailQueuePolicy").is_none());
    assert!(data["Resources"].get("StageThumbnailTopic").is_none());
    let first = &stacks[1].1;
    let ud = text(&resource(first, "LaunchTemplate")["LaunchTemplateData"]["UserData"]);
    assert!(
        ud.contains(
            "QFLEET_NEXT_QUEUE_URL=https://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/qfleet-t--thumbnail-jobs\n"
        ),
        "{ud}"
    );
    // The default prefix is the stage's name.
    assert!(ud.contains("QFLEET_PROCESSED_PREFIX=thumbnail/\n"), "{ud}");
    let statements = resource(first, "WorkerPolicy")["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let sends: Vec<&Value> = statements
        .iter()
        .filter(|s| text(&s["Action"]).contains("sqs:SendMessage"))
        .collect();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0]["Sid"], "FeedNextStage");
    assert_eq!(
        text(&sends[0]["Resource"]),
        "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:qfleet-t--thumbnail-jobs"
    );
    // The last stage sends nowhere.
    let last = &stacks[2].1;
    let policy = serde_yaml_ng::to_string(&resource(last, "WorkerFunctionPolicy")).unwrap();
    assert!(!policy.contains("sqs:SendMessage"), "{policy}");
    assert!(
        resource(last, "WorkerFunction")["Environment"]["Variables"]
            .get("QFLEET_NEXT_QUEUE_URL")
            .is_none()
    );
}

/// CloudFormation takes a template body of at most 51,200 bytes (CreateStack's TemplateBody),
/// as qfleet sends it (the YAML, or its compact JSON where the YAML is over): the data stack of
/// the largest pipeline, every stage a function (the most alarms), stays within it without the
/// dashboard, and six such stages with it; with `jobs:` (the job table, the leases and the
/// sweeper) and a key, five such stages do without the dashboard, three with it. More are
/// refused by `validate`, with the body's size and the dashboard's part in it.
#[test]
fn the_largest_pipeline_s_data_stack_fits_a_template_body() {
    for (jobs, stages) in [
        ("dashboard: false\n", crate::config::MAX_STAGES),
        ("", 6),
        ("jobs: {}\ndashboard: false\n", 5),
        ("jobs: {}\n", 3),
    ] {
        let mut yaml = format!(
            "region: eu-west-1\nlab: true\nkms_key: arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-0123-0123-0123456789ab\n{jobs}stages:\n",
        );
        for i in 0..stages {
            yaml.push_str(&format!(
                "  - name: stage-number-{i:02}\n    workers: {{kind: lambda}}\n"
            ));
        }
        let env = from_str(&yaml);
        let stacks = render(&env).unwrap();
        assert_eq!(stacks.len(), stages + 1);
        let data = crate::render::request_body(&stacks[0].template);
        println!(
            "{stages} stages {jobs:?}: the data template is {} bytes as rendered, {} as sent",
            stacks[0].template.len(),
            data.len()
        );
        assert!(data.len() <= 51_200, "{} bytes", data.len());
        // One stage more is refused, and the refusal says what the dashboard takes.
        if stages == crate::config::MAX_STAGES {
            continue;
        }
        let more = format!("{yaml}  - name: stage-number-99\n    workers: {{kind: lambda}}\n");
        let over = render(&from_str(&more)).unwrap();
        let problems = crate::render::check::check(&over[0]);
        assert!(
            problems.iter().any(|p| p.contains("at most 51200")
                && p.contains("dashboard: false") != jobs.contains("dashboard: false")),
            "{stages} stages {jobs:?}: {problems:?}"
        );
    }
}

/// A one-stage file written as a pipeline of one stage renders the same templates: turning a
/// file into a pipeline changes nothing deployed until a stage is added.
#[test]
fn a_pipeline_of_one_stage_renders_as_the_one_stage_file() {
    let plain = from_str(
        "region: eu-west-1\nlab: true\nqueue: {visibility_timeout: 90}\nworkers: {min: 2, max: 5}\n",
    );
    let staged = from_str(
        "region: eu-west-1\nlab: true\nstages:\n  - name: only\n    queue: {visibility_timeout: 90}\n    workers: {min: 2, max: 5}\n",
    );
    let a = render(&plain).unwrap();
    let b = render(&staged).unwrap();
    assert_eq!(a.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.stack_name, y.stack_name);
        assert_eq!(x.template, y.template);
    }
}

/// What the snapshot of each stage looks for in the data stack: the ids the template declares.
#[test]
fn each_stage_s_queues_are_found_by_the_ids_the_data_stack_declares() {
    let env = from_str(TWO_STAGES);
    let data = &parse_all(&env)[0].1;
    let ids: Vec<(String, String)> = env.stages().iter().map(|s| ids::stage_queues(s)).collect();
    assert_eq!(
        ids,
        [
            ("Queue".to_string(), "DeadLetterQueue".to_string()),
            (
                "StageThumbnailQueue".to_string(),
                "StageThumbnailDeadLetterQueue".to_string()
            ),
        ]
    );
    for (q, d) in &ids {
        assert_eq!(data["Resources"][q.as_str()]["Type"], "AWS::SQS::Queue");
        assert_eq!(data["Resources"][d.as_str()]["Type"], "AWS::SQS::Queue");
    }
    let one = from_str("region: eu-west-1\n");
    assert_eq!(ids::stage_queues(&one).0, "Queue");
}
