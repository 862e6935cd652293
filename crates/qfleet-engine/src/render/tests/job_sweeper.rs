//! `jobs:`: the job sweeper in the data stack (docs/jobs.md, "A worker that stops"): the
//! leases' table, a function whose role reads the leases, ends records and answers them and
//! nothing more, started every minute by its own rule.

use super::*;

const JOBS: &str = "region: eu-west-1\nlab: true\njobs: {}\n";

fn sweeper_resources(data: &Value) -> Vec<String> {
    let mut ids: Vec<String> = data["Resources"]
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(|k| k.as_str())
        .filter(|k| k.starts_with("JobSweeper"))
        .map(str::to_string)
        .collect();
    ids.sort();
    ids
}

/// The statements of the sweeper's policy, by Sid.
fn statements(data: &Value) -> Vec<(String, &Value)> {
    resource(data, "JobSweeperPolicy")["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| (s["Sid"].as_str().unwrap().to_string(), s))
        .collect()
}

fn yaml(v: &Value) -> String {
    serde_yaml_ng::to_string(v).unwrap()
}

#[test]
fn without_jobs_there_is_no_sweeper() {
    let (data, _) = rendered(&from_str("region: eu-west-1\nlab: true\n"));
    assert!(sweeper_resources(&data).is_empty());
}

/// The leases are a table of their own: an index added to an existing job table in the same
/// update as the sweeper could not be rolled back.
#[test]
fn the_leases_are_a_table_of_their_own_and_the_job_table_keeps_one_index() {
    let (data, fleet) = rendered(&from_str(JOBS));
    let table = resource(&data, ids::JOB_TABLE);
    let names: Vec<&str> = table["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| i["IndexName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["recent"]);
    let leases = resource(&data, ids::LEASE_TABLE);
    // CloudFormation names it, as the job table (Guard's CFN_NO_EXPLICIT_RESOURCE_NAMES).
    assert!(leases.get("TableName").is_none(), "{leases:?}");
    assert_eq!(
        yaml(&leases["KeySchema"]),
        "- AttributeName: key\n  KeyType: HASH\n- AttributeName: upload\n  KeyType: RANGE\n"
    );
    assert_eq!(
        leases["TimeToLiveSpecification"]["AttributeName"],
        "expires_at"
    );
    assert_eq!(
        data["Resources"][ids::LEASE_TABLE]["DeletionPolicy"],
        "Delete"
    );
    // The workers read its name from the data stack, and may write only a lease's attributes.
    let fleet_text = yaml(&fleet);
    assert!(fleet_text.contains("QFLEET_LEASES=on"), "user data");
    let grant = resource(&fleet, "WorkerPolicy")["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "HoldJobLeases")
        .unwrap()
        .clone();
    assert!(yaml(&grant["Resource"]).contains(":table/qfleet-t-data-JobLeaseTable-*"));
    let attrs: Vec<&str> = grant["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(attrs, qfleet_runtime::job_table::LEASE_ATTRIBUTES);
}

#[test]
fn the_sweeper_runs_every_minute_as_a_role_only_lambda_takes() {
    let (data, _) = rendered(&from_str(JOBS));
    assert_eq!(
        sweeper_resources(&data),
        [
            "JobSweeper",
            "JobSweeperInvokePermission",
            "JobSweeperLogGroup",
            "JobSweeperPolicy",
            "JobSweeperRole",
            "JobSweeperSchedule",
        ]
    );
    let trust = yaml(&resource(&data, "JobSweeperRole")["AssumeRolePolicyDocument"]);
    assert!(trust.contains("lambda.${AWS::URLSuffix}"), "{trust}");
    assert_eq!(trust.matches("Service:").count(), 1, "{trust}");
    let rule = resource(&data, "JobSweeperSchedule");
    assert_eq!(rule["ScheduleExpression"], "rate(1 minute)");
    assert_eq!(rule["Name"], "qfleet-t-job-sweeper");
    let permission = resource(&data, "JobSweeperInvokePermission");
    assert_eq!(permission["Principal"], "events.amazonaws.com");
    assert!(yaml(&permission["SourceArn"]).contains("JobSweeperSchedule.Arn"));
    let function = resource(&data, "JobSweeper");
    assert_eq!(function["FunctionName"], "qfleet-t-job-sweeper");
    assert_eq!(
        resource(&data, "JobSweeperLogGroup")["LogGroupName"],
        "/qfleet/t/job-sweeper"
    );
    let vars = yaml(&function["Environment"]["Variables"]);
    for var in [
        "QFLEET_JOB_TABLE: !Ref JobTable",
        "QFLEET_JOBS_STACK: !Ref AWS::StackName",
        "QFLEET_LEASE_TABLE: !Ref JobLeaseTable",
        "QFLEET_MODULES_SHA256: ",
        "QFLEET_RESPONSE_QUEUE_URL: !Ref ResponseQueue",
    ] {
        assert!(vars.contains(var), "{var} in {vars}");
    }
}

#[test]
fn the_sweepers_policy_reads_the_leases_ends_records_and_answers_nothing_more() {
    let (data, _) = rendered(&from_str(JOBS));
    let sids: Vec<String> = statements(&data).into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        sids,
        [
            "SettleExpiredLeases",
            "FailStoppedJobs",
            "LoadJobModules",
            "AnswerStoppedJobs",
            "OwnLogGroup"
        ]
    );
    for (sid, s) in statements(&data) {
        let text = yaml(s);
        assert!(!text.contains("'*'"), "{sid}: {text}");
        assert_eq!(s["Effect"], "Allow");
        match sid.as_str() {
            "SettleExpiredLeases" => {
                assert!(text.contains("dynamodb:Scan"), "{text}");
                assert!(text.contains("JobLeaseTable.Arn"), "{text}");
            }
            "FailStoppedJobs" => {
                assert!(text.contains("JobTable.Arn"), "{text}");
                let attrs = &s["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"];
                let attrs: Vec<&str> = attrs
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap())
                    .collect();
                assert_eq!(attrs, qfleet_runtime::job_table::ATTRIBUTES);
            }
            "LoadJobModules" => {
                assert_eq!(s["Action"], "cloudformation:DescribeStackResource");
                assert!(text.contains("AWS::StackId"), "{text}");
            }
            "AnswerStoppedJobs" => {
                assert_eq!(s["Action"], "sqs:SendMessage");
                assert!(text.contains("ResponseQueue.Arn"), "{text}");
            }
            _ => assert!(text.contains("JobSweeperLogGroup.Arn"), "{text}"),
        }
    }
}

#[test]
fn without_a_response_queue_the_sweeper_answers_nothing_and_with_a_key_it_may_use_it() {
    let key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let (data, _) = rendered(&from_str(&format!(
        "region: eu-west-1\nlab: true\nkms_key: {key}\njobs: {{response_queue: false}}\n"
    )));
    let sids: Vec<String> = statements(&data).into_iter().map(|(s, _)| s).collect();
    assert!(!sids.contains(&"AnswerStoppedJobs".to_string()), "{sids:?}");
    assert!(sids.contains(&"UseEnvironmentKey".to_string()), "{sids:?}");
    let vars = yaml(&resource(&data, "JobSweeper")["Environment"]["Variables"]);
    assert!(!vars.contains("QFLEET_RESPONSE_QUEUE_URL"), "{vars}");
}

/// The function's inline code is the loader, and the table's metadata carries the two
/// modules it loads, each the shipped file slimmed (no comment lines, docstrings blanked).
#[test]
fn the_sweeper_loads_the_shipped_modules_from_the_tables_metadata() {
    let decode = super::super::embed::tests::decode;
    let (data, _) = rendered(&from_str(JOBS));
    let meta = &data["Resources"][ids::JOB_TABLE]["Metadata"]["qfleet"];
    let strip = super::super::embed::slim_module;
    assert_eq!(
        decode(meta["jobs_module"].as_str().unwrap()),
        strip(super::super::JOBS_MODULE)
    );
    assert_eq!(
        decode(meta["sweeper_module"].as_str().unwrap()),
        strip(super::super::SWEEPER_MODULE)
    );
    let code = resource(&data, "JobSweeper")["Code"]["ZipFile"]
        .as_str()
        .unwrap();
    assert_eq!(
        code.trim_end(),
        strip(super::super::SWEEPER_LOADER).trim_end()
    );
}

/// The uploads' topic invokes the sweeper too (docs/jobs.md, "When a job is queued"): a Lambda
/// subscription of the first stage's topic only, SNS allowed to invoke it from that topic only,
/// and a pipeline names its first stage for the `queued` entry.
#[test]
fn the_uploads_topic_invokes_the_sweeper_to_record_arrivals() {
    let (data, _) = rendered(&from_str(JOBS));
    let sub = resource(&data, ids::ARRIVALS);
    assert_eq!(sub["Protocol"], "lambda");
    assert_eq!(yaml(&sub["TopicArn"]).trim(), "!Ref Topic");
    assert_eq!(yaml(&sub["Endpoint"]).trim(), "!GetAtt JobSweeper.Arn");
    let permission = resource(&data, "JobArrivalsPermission");
    assert_eq!(permission["Principal"], "sns.amazonaws.com");
    assert_eq!(permission["Action"], "lambda:InvokeFunction");
    assert_eq!(yaml(&permission["SourceArn"]).trim(), "!Ref Topic");
    let vars = yaml(&resource(&data, "JobSweeper")["Environment"]["Variables"]);
    assert!(!vars.contains("QFLEET_FIRST_STAGE"), "{vars}");
    // Only the first stage's topic: a later stage fed by objects has a topic of its own.
    let topics = data["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| {
            r["Type"] == "AWS::SNS::Subscription" && r["Properties"]["Protocol"] == "lambda"
        })
        .count();
    assert_eq!(topics, 1);

    let stacks = render(&from_str(
        "region: eu-west-1\nlab: true\njobs: {}\nstages:\n  - name: resize\n  - name: thumb\n",
    ))
    .unwrap();
    let data: Value = serde_yaml_ng::from_str(&stacks[0].template).unwrap();
    let vars = yaml(&resource(&data, "JobSweeper")["Environment"]["Variables"]);
    assert!(vars.contains("QFLEET_FIRST_STAGE: resize"), "{vars}");
    let subs: Vec<String> = data["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| {
            r["Type"] == "AWS::SNS::Subscription" && r["Properties"]["Protocol"] == "lambda"
        })
        .map(|r| yaml(&r["Properties"]["TopicArn"]).trim().to_string())
        .collect();
    assert_eq!(subs, ["!Ref Topic"]);
}
