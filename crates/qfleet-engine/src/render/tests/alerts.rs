//! `alerts` (docs/alerts.md), proven by render: no emulator here models the chat channels of
//! Amazon Q Developer in chat applications, so these tests read the rendered templates.

use super::*;

const SLACK: &str = "  slack: {workspace: T0123ABCD, channel: C0123ABCD}\n";
const TEAMS: &str = "  teams: {tenant: 1A2B3C4D-5E6F-1A2B-3C4D-1A2B3C4D5E6F, team: 0a1b2c3d-4e5f-1a2b-3c4d-0a1b2c3d4e5f, channel: \"19:b6ef35dc342d56ba5654e6fc6d25a071@thread.tacv2\"}\n";
const TOPIC: &str = "arn:aws:sns:eu-west-1:444455556666:oncall";

fn with(alerts: &str, rest: &str) -> Environment {
    from_str(&format!("region: eu-west-1\nalerts:\n{alerts}{rest}"))
}

fn docs(env: &Environment) -> Vec<Value> {
    render(env)
        .unwrap()
        .iter()
        .map(|s| serde_yaml_ng::from_str::<Value>(&s.template).unwrap())
        .collect()
}

fn types(doc: &Value) -> Vec<String> {
    doc["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .map(|r| r["Type"].as_str().unwrap().to_string())
        .collect()
}

/// Every alarm's actions, both kinds, of the data stack.
fn alarm_actions(data: &Value) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (_, r) in data["Resources"].as_mapping().unwrap() {
        if r["Type"] == "AWS::CloudWatch::Alarm" {
            for key in ["AlarmActions", "OKActions"] {
                let list = r["Properties"][key].as_sequence().unwrap();
                out.push(list.iter().map(|v| format!("{:?}", untagged(v))).collect());
            }
        }
    }
    out
}

#[test]
fn without_alerts_nothing_of_them_renders_and_the_alarm_topic_keeps_its_generated_name() {
    let env = from_str("region: eu-west-1\nalarms: {email: ops@example.com}\n");
    let (data, fleet) = rendered(&env);
    let topic = resource(&data, "AlarmTopic");
    assert!(
        topic.get("TopicName").is_none(),
        "renaming replaces the topic"
    );
    assert_eq!(topic["Subscription"][0]["Endpoint"], "ops@example.com");
    for t in [
        "AWS::SNS::TopicPolicy",
        "AWS::Events::Rule",
        "AWS::Chatbot::SlackChannelConfiguration",
    ] {
        assert!(!types(&data).iter().any(|x| x == t) || t == "AWS::SNS::TopicPolicy");
    }
    assert!(data["Resources"].get("AlarmTopicPolicy").is_none());
    assert!(
        !serde_yaml_ng::to_string(&fleet)
            .unwrap()
            .contains("QFLEET_ALERTS_TOPIC")
    );
}

#[test]
fn email_alerts_subscribe_every_address_once_by_render() {
    let env = with(
        "  email: [ops@example.com, OPS@example.com, oncall@example.com]\n",
        "alarms: {email: legacy@example.com}\n",
    );
    let (data, _) = rendered(&env);
    let topic = resource(&data, "AlarmTopic");
    assert_eq!(topic["TopicName"], "qfleet-t-alerts");
    let subs: Vec<&str> = topic["Subscription"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["Protocol"], "email");
            s["Endpoint"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        subs,
        [
            "ops@example.com",
            "oncall@example.com",
            "legacy@example.com"
        ]
    );
}

#[test]
fn a_slack_alert_renders_a_channel_whose_guardrail_is_never_administrator_access_by_render() {
    let env = with(SLACK, "");
    let (data, _) = rendered(&env);
    let slack = resource(&data, "SlackChannel");
    assert_eq!(slack["SlackWorkspaceId"], "T0123ABCD");
    assert_eq!(slack["SlackChannelId"], "C0123ABCD");
    assert_eq!(slack["UserRoleRequired"].as_bool(), Some(false));
    assert_eq!(
        format!("{:?}", untagged(&slack["SnsTopicArns"][0])),
        format!("{:?}", Value::String("AlarmTopic".into()))
    );
    the_guardrail_is_the_notifications_policy(&data, slack);
}

#[test]
fn a_teams_alert_renders_a_channel_with_its_ids_as_cloudformation_takes_them_by_render() {
    let env = with(TEAMS, "");
    let (data, _) = rendered(&env);
    let teams = resource(&data, "TeamsChannel");
    // GUIDs in lower case; the channel id URL-encoded, as CloudFormation's pattern wants it.
    assert_eq!(
        teams["TeamsTenantId"],
        "1a2b3c4d-5e6f-1a2b-3c4d-1a2b3c4d5e6f"
    );
    assert_eq!(teams["TeamId"], "0a1b2c3d-4e5f-1a2b-3c4d-0a1b2c3d4e5f");
    assert_eq!(
        teams["TeamsChannelId"],
        "19%3ab6ef35dc342d56ba5654e6fc6d25a071%40thread.tacv2"
    );
    the_guardrail_is_the_notifications_policy(&data, teams);
}

/// GuardrailPolicies left out is AdministratorAccess ("The AWS managed 'AdministratorAccess'
/// policy is applied as a default if this is not set",
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-chatbot-slackchannelconfiguration.html):
/// it is set, to the channel role's own notifications-only policy, and nothing anywhere names
/// AdministratorAccess.
fn the_guardrail_is_the_notifications_policy(data: &Value, channel: &Value) {
    let guard = channel["GuardrailPolicies"].as_sequence().expect("set");
    assert_eq!(guard.len(), 1);
    assert_eq!(
        format!("{:?}", untagged(&guard[0])),
        format!("{:?}", Value::String("ChatNotificationsPolicy".into()))
    );
    let text = serde_yaml_ng::to_string(data).unwrap();
    assert!(!text.contains("AdministratorAccess"));
    let policy = resource(data, "ChatNotificationsPolicy");
    let actions: Vec<&str> = policy["PolicyDocument"]["Statement"][0]["Action"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "cloudwatch:Describe*",
            "cloudwatch:Get*",
            "cloudwatch:List*"
        ]
    );
    assert_eq!(
        policy["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap()
            .len(),
        1
    );
    let role = resource(data, "ChatChannelRole");
    let trust = &role["AssumeRolePolicyDocument"]["Statement"];
    assert_eq!(trust.as_sequence().unwrap().len(), 1);
    assert_eq!(trust[0]["Principal"]["Service"], "chatbot.amazonaws.com");
    assert!(role.get("ManagedPolicyArns").is_none() && role.get("Policies").is_none());
}

#[test]
fn the_topic_policy_lets_only_this_accounts_alarms_and_the_rollback_rule_publish_by_render() {
    let env = with("  email: ops@example.com\n", "");
    let (data, _) = rendered(&env);
    let statements = resource(&data, "AlarmTopicPolicy")["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .clone();
    assert_eq!(statements.len(), 2);
    let cw = &statements[0];
    assert_eq!(cw["Principal"]["Service"], "cloudwatch.amazonaws.com");
    assert_eq!(cw["Action"], "sns:Publish");
    let source = format!(
        "{:?}",
        untagged(&cw["Condition"]["ArnLike"]["aws:SourceArn"])
    );
    assert!(source.contains(":cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"));
    assert!(
        cw["Condition"]["StringEquals"]
            .get("aws:SourceAccount")
            .is_some()
    );
    let events = &statements[1];
    assert_eq!(events["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(events["Action"], "sns:Publish");
    let rule = format!("{:?}", events["Condition"]["ArnEquals"]["aws:SourceArn"]);
    assert!(rule.contains("RolledBackDeployRule.Arn"), "{rule}");
    for s in &statements {
        assert!(
            s["Principal"].get("AWS").is_none(),
            "no principal but the two services"
        );
    }
}

#[test]
fn a_rolled_back_deploy_of_this_environments_stacks_alone_is_a_custom_notification_by_render() {
    let env = from_str(
        "region: eu-west-1\nalerts: {email: ops@example.com}\nstages:\n  - name: split\n  - name: encode\n",
    );
    let data = &docs(&env)[0];
    let rule = &data["Resources"]["RolledBackDeployRule"]["Properties"];
    let pattern = &rule["EventPattern"];
    assert_eq!(
        pattern["detail-type"][0],
        "CloudFormation Stack Status Change"
    );
    let statuses = &pattern["detail"]["status-details"]["status"];
    assert_eq!(statuses[0], "UPDATE_ROLLBACK_COMPLETE");
    let stacks: Vec<String> = pattern["detail"]["stack-id"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| format!("{:?}", untagged(&p["prefix"])))
        .collect();
    assert_eq!(stacks.len(), 3);
    for (stack, name) in stacks.iter().zip([
        "qfleet-t-data/",
        "qfleet-t-fleet/",
        "qfleet-t--encode-fleet/",
    ]) {
        assert!(stack.contains(&format!(":stack/{name}")), "{stack}");
    }
    let target = &rule["Targets"][0];
    let template: serde_json::Value = serde_json::from_str(
        target["InputTransformer"]["InputTemplate"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(template["version"], "1.0");
    assert_eq!(template["source"], "custom");
    assert!(
        template["content"]["description"]
            .as_str()
            .unwrap()
            .contains("<reason>")
    );
    assert!(
        template["content"]["nextSteps"][0]
            .as_str()
            .unwrap()
            .contains("qfleet status t --details")
    );
    assert_eq!(
        target["InputTransformer"]["InputPathsMap"]["reason"],
        "$.detail.status-details.status-reason"
    );
}

#[test]
fn a_team_topic_gets_every_alarm_and_the_rolled_back_deploys_by_render() {
    let env = with(&format!("  topic: {TOPIC}\n"), "");
    let (data, _) = rendered(&env);
    let actions = alarm_actions(&data);
    assert!(actions.len() >= 4);
    for a in actions {
        assert_eq!(a.len(), 2);
        assert!(a[1].contains(TOPIC));
    }
    let targets = data["Resources"]["RolledBackDeployRule"]["Properties"]["Targets"]
        .as_sequence()
        .unwrap();
    assert_eq!(targets[1]["Arn"], TOPIC);
}

/// A team topic of another account is reached through an execution role of the rule's
/// account, set on the target, trusted by EventBridge for this rule alone, and allowed to
/// publish to that topic only
/// (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-cross-account.html>).
/// In the topic's own account (decided where the stack is, so one template serves every
/// account of a stack set) the target has no role, and no role is made.
#[test]
fn a_team_topic_of_another_account_is_reached_through_an_execution_role_by_render() {
    let env = with(
        &format!(
            "  topic: {TOPIC}
"
        ),
        "",
    );
    let (data, _) = rendered(&env);
    assert_eq!(
        format!("{:?}", untagged(&data["Conditions"]["TeamTopicElsewhere"])),
        format!(
            "{:?}",
            untagged(
                &serde_yaml_ng::from_str::<Value>(
                    "!Not [!Equals [!Ref AWS::AccountId, \"444455556666\"]]"
                )
                .unwrap()
            )
        )
    );
    let target = &data["Resources"]["RolledBackDeployRule"]["Properties"]["Targets"][1];
    let role_arn = format!("{:?}", untagged(&target["RoleArn"]));
    assert!(role_arn.contains("TeamTopicElsewhere"), "{role_arn}");
    assert!(role_arn.contains("TeamTopicRole.Arn"), "{role_arn}");
    assert!(role_arn.contains("AWS::NoValue"), "{role_arn}");
    // The alarm topic, in this account, is never sent as a role.
    let own = &data["Resources"]["RolledBackDeployRule"]["Properties"]["Targets"][0];
    assert!(own.get("RoleArn").is_none());

    let role = &data["Resources"]["TeamTopicRole"];
    assert_eq!(role["Condition"], "TeamTopicElsewhere");
    let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"];
    assert_eq!(trust.as_sequence().unwrap().len(), 1);
    assert_eq!(trust[0]["Principal"]["Service"], "events.amazonaws.com");
    let held = format!("{:?}", untagged(&trust[0]["Condition"]["StringEquals"]));
    assert!(held.contains("aws:SourceAccount"), "{held}");
    assert!(
        held.contains(":rule/qfleet-") && held.contains("aws:SourceArn"),
        "{held}"
    );
    let policy = &data["Resources"]["TeamTopicDeliveryPolicy"];
    assert_eq!(policy["Condition"], "TeamTopicElsewhere");
    assert_eq!(untagged(&policy["Properties"]["Roles"][0]), "TeamTopicRole");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Action"], "sns:Publish");
    assert_eq!(statements[0]["Resource"], TOPIC);
    // `qfleet outputs` names it, for the topic's policy (docs/alerts.md).
    let output = &data["Outputs"]["TeamTopicRoleArn"];
    assert_eq!(output["Condition"], "TeamTopicElsewhere");

    // Without a team topic: no condition, no role.
    let env = with("  email: oncall@example.com\n", "");
    let (data, _) = rendered(&env);
    assert!(data["Resources"].get("TeamTopicRole").is_none());
    assert!(
        data.get("Conditions")
            .is_none_or(|c| c.get("TeamTopicElsewhere").is_none())
    );
}

#[test]
fn every_alarm_says_what_to_run_next_by_render() {
    let env = with(
        "  email: ops@example.com\n",
        "jobs: {}\nscaling: {max_latency_seconds: 60, seconds_per_message: 1}\n",
    );
    let (data, _) = rendered(&env);
    let mut n = 0;
    for (_, r) in data["Resources"].as_mapping().unwrap() {
        if r["Type"] == "AWS::CloudWatch::Alarm" {
            let d = r["Properties"]["AlarmDescription"].as_str().unwrap();
            assert!(d.contains(" Next: `qfleet "), "{d}");
            assert!(
                d.len() <= 1024,
                "AlarmDescription is at most 1024 characters"
            );
            n += 1;
        }
    }
    assert!(n >= 4);
    let dlq = resource(&data, "DeadLetterQueueNotEmptyAlarm")["AlarmDescription"]
        .as_str()
        .unwrap();
    assert!(dlq.contains("`qfleet dlq t list`") && dlq.contains("`qfleet jobs t --failed`"));
}

#[test]
fn a_backlog_with_no_worker_alarms_for_each_kind_and_not_for_a_parked_stage_by_render() {
    let env = from_str(
        "region: eu-west-1\nalerts: {email: ops@example.com}\nstages:\n  - name: split\n  - name: encode\n    workers: {kind: lambda}\n  - name: pack\n    workers: {kind: fargate, image: public.ecr.aws/docker/library/python:3.12}\n  - name: idle\n    workers: {min: 0, max: 0}\n",
    );
    let data = &docs(&env)[0];
    let metric = |id: &str| {
        let m = &resource(data, id)["Metrics"];
        let workers = &m[1]["MetricStat"]["Metric"];
        assert_eq!(
            m[2]["Expression"],
            "IF(backlog > 0 AND FILL(workers, 0) == 0, 1, 0)"
        );
        assert_eq!(
            m[0]["MetricStat"]["Metric"]["MetricName"],
            "ApproximateNumberOfMessagesVisible"
        );
        (
            workers["Namespace"].as_str().unwrap().to_string(),
            workers["MetricName"].as_str().unwrap().to_string(),
            workers["Dimensions"][0]["Value"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    assert_eq!(
        metric("NoWorkerAlarm"),
        (
            "AWS/AutoScaling".into(),
            "GroupInServiceInstances".into(),
            "qfleet-t-workers".into()
        )
    );
    assert_eq!(
        metric("StageEncodeNoWorkerAlarm"),
        (
            "AWS/Lambda".into(),
            "ConcurrentExecutions".into(),
            "qfleet-t--encode-worker".into()
        )
    );
    assert_eq!(
        metric("StagePackNoWorkerAlarm"),
        (
            "ECS/ContainerInsights".into(),
            "RunningTaskCount".into(),
            "qfleet-t--pack".into()
        )
    );
    assert!(
        data["Resources"].get("StageIdleNoWorkerAlarm").is_none(),
        "parked: a backlog is expected"
    );
    let a = resource(data, "NoWorkerAlarm");
    assert_eq!(a["EvaluationPeriods"].as_u64(), Some(15));
    assert_eq!(a["DatapointsToAlarm"].as_u64(), Some(15));
    assert_eq!(a["TreatMissingData"], "notBreaching");
}

#[test]
fn workers_gain_only_sns_publish_on_the_alert_topics_by_render() {
    for kind in ["ec2", "lambda", "fargate"] {
        let image = if kind == "fargate" {
            ", image: public.ecr.aws/docker/library/python:3.12"
        } else {
            ""
        };
        let yaml =
            |alerts: &str| format!("region: eu-west-1\n{alerts}workers: {{kind: {kind}{image}}}\n");
        let plain = from_str(&yaml(""));
        let alerted = from_str(&yaml(&format!(
            "alerts: {{email: ops@example.com, topic: {TOPIC}}}\n"
        )));
        let statements = |env: &Environment| -> Vec<Value> {
            let fleet = &docs(env)[1];
            let mut out = Vec::new();
            for (_, r) in fleet["Resources"].as_mapping().unwrap() {
                let p = &r["Properties"];
                for doc in [&p["PolicyDocument"]] {
                    if let Some(s) = doc["Statement"].as_sequence() {
                        out.extend(s.iter().cloned());
                    }
                }
                if let Some(policies) = p["Policies"].as_sequence() {
                    for pol in policies {
                        out.extend(
                            pol["PolicyDocument"]["Statement"]
                                .as_sequence()
                                .unwrap()
                                .iter()
                                .cloned(),
                        );
                    }
                }
            }
            out
        };
        let before = statements(&plain);
        let after = statements(&alerted);
        let added: Vec<&Value> = after.iter().filter(|s| !before.contains(s)).collect();
        assert_eq!(added.len(), 1, "{kind}: one statement more: {added:?}");
        let s = added[0];
        assert_eq!(s["Sid"], "PublishFailureNotices");
        assert_eq!(s["Action"], "sns:Publish", "{kind}");
        let resources = s["Resource"].as_sequence().unwrap();
        assert_eq!(resources.len(), 2);
        assert!(format!("{:?}", untagged(&resources[0])).contains(":qfleet-t-alerts"));
        assert_eq!(resources[1], TOPIC);
        let text = serde_yaml_ng::to_string(&docs(&alerted)[1]).unwrap();
        assert!(
            text.contains("QFLEET_ALERTS_TOPIC") && text.contains("QFLEET_ALERTS_TEAM_TOPIC"),
            "{kind}"
        );
    }
}
