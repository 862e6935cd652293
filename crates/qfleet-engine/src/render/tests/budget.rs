//! `budget`: an AWS Budgets cost budget in the data stack, filtered on the environment's tag
//! and Region, each threshold a notification to the alarm topic, whose policy lets Budgets
//! publish.

use super::*;

const ALERTS: &str = "region: eu-west-1\nlab: true\nalerts: {email: oncall@example.com}\n";

fn statements(data: &Value) -> Vec<Value> {
    resource(data, "AlarmTopicPolicy")["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .clone()
}

#[test]
fn the_budget_watches_the_environment_s_tag_in_its_region_and_tells_the_alarm_topic() {
    let env = from_str(&format!(
        "{ALERTS}environment: shop\nbudget: {{amount: 250, notify_at: [50, 100, 120]}}\n"
    ));
    let (data, _) = rendered(&env);
    let b = &resource(&data, "Budget")["Budget"];
    assert_eq!(b["BudgetName"], "qfleet-shop-eu-west-1-534addb3");
    assert_eq!(b["BudgetType"], "COST");
    assert_eq!(b["TimeUnit"], "MONTHLY");
    assert_eq!(b["BudgetLimit"]["Amount"], 250);
    assert_eq!(b["BudgetLimit"]["Unit"], "USD");
    assert_eq!(
        b["CostFilters"]["TagKeyValue"][0],
        "user:qfleet:environment$shop"
    );
    assert_eq!(untagged(&b["CostFilters"]["Region"][0]), "AWS::Region");
    let notes = resource(&data, "Budget")["NotificationsWithSubscribers"]
        .as_sequence()
        .unwrap();
    let thresholds: Vec<u64> = notes
        .iter()
        .map(|n| n["Notification"]["Threshold"].as_u64().unwrap())
        .collect();
    assert_eq!(thresholds, [50, 100, 120]);
    for n in notes {
        assert_eq!(n["Notification"]["NotificationType"], "ACTUAL");
        assert_eq!(n["Notification"]["ThresholdType"], "PERCENTAGE");
        assert_eq!(n["Notification"]["ComparisonOperator"], "GREATER_THAN");
        assert_eq!(n["Subscribers"][0]["SubscriptionType"], "SNS");
        assert_eq!(untagged(&n["Subscribers"][0]["Address"]), "AlarmTopic");
    }
    // The topic lets this account's budgets publish, and only them; the budget waits for it.
    assert_eq!(data["Resources"]["Budget"]["DependsOn"], "AlarmTopicPolicy");
    let s = statements(&data);
    let grant = s
        .iter()
        .find(|s| s["Sid"] == "AllowThisAccountsBudgets")
        .unwrap();
    assert_eq!(grant["Principal"]["Service"], "budgets.amazonaws.com");
    assert_eq!(grant["Action"], "sns:Publish");
    assert_eq!(
        untagged(&grant["Condition"]["ArnLike"]["aws:SourceArn"]),
        "arn:${AWS::Partition}:budgets::${AWS::AccountId}:*"
    );
    assert_eq!(
        untagged(&grant["Condition"]["StringEquals"]["aws:SourceAccount"]),
        "AWS::AccountId"
    );
}

#[test]
fn a_day_budget_is_daily_and_without_a_budget_there_is_none_and_no_grant() {
    let (data, _) = rendered(&from_str(&format!(
        "{ALERTS}budget: {{amount: 9, period: day}}\n"
    )));
    let b = &resource(&data, "Budget");
    assert_eq!(b["Budget"]["TimeUnit"], "DAILY");
    assert_eq!(
        b["NotificationsWithSubscribers"]
            .as_sequence()
            .unwrap()
            .len(),
        2
    );
    let (data, _) = rendered(&from_str(ALERTS));
    assert!(data["Resources"].get("Budget").is_none());
    assert!(
        statements(&data)
            .iter()
            .all(|s| s["Sid"] != "AllowThisAccountsBudgets")
    );
}

/// Each copy is an environment of its own: its own budget, on its own tag.
#[test]
fn each_copy_has_its_own_budget_on_its_own_tag() {
    let envs = config::parse(
        PathBuf::from("stacks/class.yaml"),
        format!("{ALERTS}copies: 2\nbudget: {{amount: 30}}\n"),
    )
    .unwrap()
    .expand();
    let names: Vec<(String, String)> = envs
        .iter()
        .map(|e| {
            let (data, _) = rendered(e);
            let b = &resource(&data, "Budget")["Budget"];
            (
                b["BudgetName"].as_str().unwrap().to_string(),
                b["CostFilters"]["TagKeyValue"][0]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            (
                "qfleet-class-01-eu-west-1-96daf367".to_string(),
                "user:qfleet:environment$class-01".to_string()
            ),
            (
                "qfleet-class-02-eu-west-1-96daf367".to_string(),
                "user:qfleet:environment$class-02".to_string()
            ),
        ]
    );
}

/// CloudFormation replaces a budget whose notifications change, and cannot replace one under
/// the same name: new thresholds give a new name; the amount and the period, which update in
/// place, keep it.
#[test]
fn new_thresholds_give_the_budget_a_new_name_and_nothing_else_does() {
    let name = |budget: &str| {
        let (data, _) = rendered(&from_str(&format!("{ALERTS}budget: {budget}\n")));
        resource(&data, "Budget")["Budget"]["BudgetName"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = name("{amount: 100}");
    assert_eq!(first, name("{amount: 250, period: day}"));
    // The defaults, written out, are the same thresholds.
    assert_eq!(first, name("{amount: 100, notify_at: [80, 100]}"));
    let other = name("{amount: 100, notify_at: [80, 100, 120]}");
    assert_ne!(first, other);
    assert_eq!(first.len(), other.len());
    assert!(first.starts_with("qfleet-t-eu-west-1-"), "{first}");
}

/// `budget.hold`: a function in the data stack that the alarm topic and a daily rule start,
/// whose role reads this budget and changes only the named fleets' maximum and hold tag.
/// A Lambda stage is not held.
#[test]
fn a_hold_is_a_function_of_the_data_stack_scoped_to_the_budget_and_the_fleets() {
    let env = from_str(&format!(
        "{ALERTS}environment: shop\nbudget: {{amount: 50, hold: true}}\nstages:\n  - name: a\n    workers: {{max: 6}}\n  - name: b\n    workers: {{kind: fargate, max: 4, image: public.ecr.aws/docker/library/python:3.12}}\n  - name: c\n    workers: {{kind: lambda}}\n"
    ));
    let stacks = render(&env).unwrap();
    assert_eq!(stacks.len(), 4);
    let data: Value = serde_yaml_ng::from_str(&stacks[0].template).unwrap();
    let f = resource(&data, "BudgetHold");
    assert_eq!(f["FunctionName"], "qfleet-shop-budget-hold");
    let vars = &f["Environment"]["Variables"];
    assert_eq!(untagged(&vars["QFLEET_BUDGET"]), "Budget");
    assert_eq!(untagged(&vars["QFLEET_TOPIC"]), "AlarmTopic");
    let fleets: serde_json::Value =
        serde_json::from_str(vars["QFLEET_FLEETS"].as_str().unwrap()).unwrap();
    assert_eq!(
        fleets,
        serde_json::json!([
            {"stage": "a", "group": "qfleet-shop-workers", "max": 6},
            {"stage": "b", "service": "service/qfleet-shop--b/qfleet-shop--b-workers",
             "cluster": "qfleet-shop--b", "max": 4},
        ])
    );
    // Started by every alarm-topic message, and at 00:05 and 12:05 UTC each day.
    assert_eq!(
        untagged(&resource(&data, "BudgetHoldSubscription")["TopicArn"]),
        "AlarmTopic"
    );
    assert_eq!(
        resource(&data, "BudgetHoldSchedule")["ScheduleExpression"],
        "cron(5 0,12 * * ? *)"
    );
    let statements = resource(&data, "BudgetHoldPolicy")["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .clone();
    let sid = |s: &str| statements.iter().find(|x| x["Sid"] == s).unwrap().clone();
    assert_eq!(
        untagged(&sid("ReadBudget")["Resource"]),
        "arn:${AWS::Partition}:budgets::${AWS::AccountId}:budget/${Budget}"
    );
    let groups = sid("HoldGroups");
    assert_eq!(groups["Resource"].as_sequence().unwrap().len(), 1);
    assert!(
        untagged(&groups["Resource"][0])
            .as_str()
            .unwrap()
            .ends_with(":autoScalingGroup:*:autoScalingGroupName/qfleet-shop-workers")
    );
    let services = sid("HoldServices");
    assert_eq!(
        untagged(&services["Resource"][0]),
        "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/qfleet-shop--b/qfleet-shop--b-workers"
    );
    assert_eq!(
        sid("HoldServicesMaximum")["Condition"]["StringEquals"]["application-autoscaling:service-namespace"],
        "ecs"
    );
    // Only the reads that have no resource type are on "*".
    for s in &statements {
        if s["Resource"] == "*" {
            assert_eq!(s["Sid"], "ReadFleets");
        }
    }
    // Without hold: no function.
    let (data, _) = rendered(&from_str(&format!("{ALERTS}budget: {{amount: 50}}\n")));
    assert!(data["Resources"].get("BudgetHold").is_none());
}

/// The function's inline code is the shipped module, packed: Python unpacks it as Lambda would
/// load `index.py`, and finds its handler and the hold's tag.
#[test]
fn the_hold_s_packed_code_runs_as_the_shipped_module() {
    let env = from_str(&format!("{ALERTS}budget: {{amount: 50, hold: true}}\n"));
    let (data, _) = rendered(&env);
    let code = resource(&data, "BudgetHold")["Code"]["ZipFile"]
        .as_str()
        .unwrap()
        .to_string();
    // Packed, it takes a tenth of the data template at most.
    assert!(code.len() < 5_120, "{} bytes", code.len());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.py"), &code).unwrap();
    let out = std::process::Command::new("python3")
        .current_dir(dir.path())
        .args([
            "-c",
            "import sys, types; sys.modules['boto3'] = types.ModuleType('boto3')\nimport index\nprint(index.TAG, callable(index.handler), index.own_notice({}))",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "qfleet:budget-hold True False"
    );
}
