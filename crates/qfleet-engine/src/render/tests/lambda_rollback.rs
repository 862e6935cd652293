//! A Lambda worker's deploy that rolls back on alarms (`workers.lambda.deployment`): the queue
//! mapping invokes an alias, and CloudFormation has CodeDeploy shift the alias to each new
//! version while the rollback alarms watch that version alone. No emulator here models
//! CodeDeploy (moto's CloudFormation has no AWS::Lambda::Alias nor AWS::CodeDeploy::*), so
//! these tests prove by render what AWS's pages say the resources do.

use super::*;
use crate::config;
use serde_yaml_ng::Value;

fn fleet(yaml: &str) -> Value {
    let env = config::parse(PathBuf::from("stacks/t.yaml"), yaml.to_string())
        .unwrap()
        .into_only();
    let stacks = render(&env).unwrap();
    serde_yaml_ng::from_str(&stacks.last().unwrap().template).unwrap()
}

fn lambda(extra: &str) -> Value {
    fleet(&format!(
        "region: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n{extra}"
    ))
}

fn props<'a>(doc: &'a Value, id: &str) -> &'a Value {
    &doc["Resources"][id]["Properties"]
}

/// A node as YAML text, short tags included (`!Ref X`).
fn text(v: &Value) -> String {
    serde_yaml_ng::to_string(v).unwrap().trim().to_string()
}

/// The worker version the function carries (`QFLEET_VERSION`).
fn version_of(doc: &Value, function: &str) -> String {
    let v = props(doc, function)["Environment"]["Variables"]["QFLEET_VERSION"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(v.len(), 12, "{v}");
    assert!(v.chars().all(|c| c.is_ascii_hexdigit()), "{v}");
    v
}

const ROLLBACK_ALARMS: [&str; 3] = [
    "RollbackFailedJobsAlarm",
    "RollbackDeadLettersAlarm",
    "RollbackFunctionErrorsAlarm",
];

/// CloudFormation's UpdatePolicy attribute: "To perform an CodeDeploy deployment when the
/// version changes on an AWS::Lambda::Alias resource, use the CodeDeployLambdaAliasUpdate
/// update policy" with ApplicationName and DeploymentGroupName
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatepolicy.html>).
/// A mapping's FunctionName may be an alias ARN
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html>), and
/// the alias's weights route its invocations while CodeDeploy shifts it
/// (<https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html>). The
/// Lambda compute platform deploys blue/green with traffic control only, and
/// `CodeDeployDefault.LambdaCanary10Percent5Minutes` is one of its predefined configurations
/// (<https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html>);
/// automatic rollback on a failed deployment and on an alarm
/// (<https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html>).
#[test]
fn the_queue_mapping_invokes_an_alias_codedeploy_shifts_with_the_rollback_alarms_by_render() {
    let f = lambda("");
    let mapping = props(&f, ids::QUEUE_MAPPING);
    assert_eq!(
        text(&mapping["FunctionName"]),
        format!("!Ref {}", ids::FUNCTION_ALIAS)
    );

    let alias = &f["Resources"][ids::FUNCTION_ALIAS];
    assert_eq!(alias["Type"].as_str(), Some("AWS::Lambda::Alias"));
    let policy = &alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"];
    assert_eq!(
        text(&policy["ApplicationName"]),
        format!("!Ref {}", ids::DEPLOY_APPLICATION)
    );
    assert_eq!(
        text(&policy["DeploymentGroupName"]),
        format!("!Ref {}", ids::DEPLOYMENT_GROUP)
    );
    let a = &alias["Properties"];
    assert_eq!(a["Name"].as_str(), Some(ids::FUNCTION_ALIAS_NAME));
    assert_eq!(text(&a["FunctionName"]), format!("!Ref {}", ids::FUNCTION));
    assert_eq!(
        text(&a["FunctionVersion"]),
        format!("!GetAtt {}.Version", ids::FUNCTION_VERSION)
    );
    assert_eq!(
        text(&props(&f, ids::FUNCTION_VERSION)["FunctionName"]),
        format!("!Ref {}", ids::FUNCTION)
    );

    let app = props(&f, ids::DEPLOY_APPLICATION);
    assert_eq!(app["ComputePlatform"].as_str(), Some("Lambda"));
    let g = props(&f, ids::DEPLOYMENT_GROUP);
    assert_eq!(
        text(&g["ApplicationName"]),
        format!("!Ref {}", ids::DEPLOY_APPLICATION)
    );
    assert_eq!(
        text(&g["ServiceRoleArn"]),
        format!("!GetAtt {}.Arn", ids::DEPLOY_ROLE)
    );
    assert_eq!(
        g["DeploymentStyle"]["DeploymentType"].as_str(),
        Some("BLUE_GREEN")
    );
    assert_eq!(
        g["DeploymentStyle"]["DeploymentOption"].as_str(),
        Some("WITH_TRAFFIC_CONTROL")
    );
    assert_eq!(
        g["DeploymentConfigName"].as_str(),
        Some("CodeDeployDefault.LambdaCanary10Percent5Minutes")
    );
    assert_eq!(
        g["AutoRollbackConfiguration"]["Enabled"].as_bool(),
        Some(true)
    );
    let events: Vec<&str> = g["AutoRollbackConfiguration"]["Events"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(events, ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]);
    assert_eq!(g["AlarmConfiguration"]["Enabled"].as_bool(), Some(true));
    let alarms: Vec<String> = g["AlarmConfiguration"]["Alarms"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| text(&a["Name"]))
        .collect();
    assert_eq!(
        alarms,
        ROLLBACK_ALARMS.map(|a| format!("!Ref {a}")).to_vec(),
        "the deployment group watches every rollback alarm (the Ref of an alarm is its name)"
    );

    let linear = lambda("  lambda:\n    deployment: linear\n");
    assert_eq!(
        props(&linear, ids::DEPLOYMENT_GROUP)["DeploymentConfigName"].as_str(),
        Some("CodeDeployDefault.LambdaLinear10PercentEvery1Minute")
    );
}

/// Every property of AWS::Lambda::Version is create-only: CloudFormation publishes a new
/// version only when it replaces the resource
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-version.html>).
/// Its Description carries the worker version, so a change of the function (code, memory,
/// settings) publishes one, and a change of the mapping's scaling does not.
#[test]
fn a_new_version_is_published_exactly_when_the_function_changes_by_render() {
    let description = |doc: &Value| {
        props(doc, ids::FUNCTION_VERSION)["Description"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let base = lambda("");
    let v = version_of(&base, ids::FUNCTION);
    assert_eq!(description(&base), format!("qfleet worker version {v}"));
    let bigger = lambda("  lambda:\n    memory_mb: 512\n");
    assert_ne!(description(&bigger), description(&base));
    let scaled = lambda("  lambda:\n    max_concurrency: 9\n");
    assert_eq!(description(&scaled), description(&base));

    // A function from an image: the same resources around the image's function.
    let image = lambda(
        "  lambda:\n    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/w@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
    );
    let v = version_of(&image, ids::IMAGE_FUNCTION);
    assert_eq!(description(&image), format!("qfleet worker version {v}"));
    for id in [ids::FUNCTION_VERSION, ids::FUNCTION_ALIAS] {
        assert_eq!(
            text(&props(&image, id)["FunctionName"]),
            format!("!Ref {}", ids::IMAGE_FUNCTION)
        );
    }
}

/// The rollback alarms judge the version being deployed alone: the worker metrics by
/// `Version` (the hash the function carries), missing data not breaching, so that the
/// failures of the version before it never roll a fix back; and Lambda's own Errors of that
/// version through the alias, FunctionName, Resource (FUNCTION:ALIAS) and ExecutedVersion
/// ("Types of metrics for Lambda functions", dimensions,
/// <https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html>), for code
/// that fails before it can count a job. Unnamed: deploy reads them by `<stack>-Rollback`.
#[test]
fn the_rollback_alarms_judge_only_the_version_being_deployed_by_render() {
    let f = lambda("");
    let v = version_of(&f, ids::FUNCTION);
    for (id, metric, suffix) in [
        ("RollbackFailedJobsAlarm", "JobsFailed", "failed-jobs"),
        (
            "RollbackDeadLettersAlarm",
            "JobsDeadLettered",
            "dead-letters",
        ),
    ] {
        let a = props(&f, id);
        assert_eq!(a["Namespace"].as_str(), Some("qfleet"));
        assert_eq!(a["MetricName"].as_str(), Some(metric));
        // Unnamed: CloudFormation names it `<stack>-<id>-<random>`, which deploy reads by
        // the prefix `<stack>-Rollback`.
        assert!(a.get("AlarmName").is_none(), "{suffix}");
        assert!(id.starts_with("Rollback"), "{id}");
        assert_eq!(a["TreatMissingData"].as_str(), Some("notBreaching"));
        let dims: Vec<(&str, &str)> = a["Dimensions"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|d| (d["Name"].as_str().unwrap(), d["Value"].as_str().unwrap()))
            .collect();
        assert_eq!(dims, [("Environment", "t"), ("Version", v.as_str())]);
    }
    let e = props(&f, "RollbackFunctionErrorsAlarm");
    assert_eq!(e["Namespace"].as_str(), Some("AWS/Lambda"));
    assert_eq!(e["MetricName"].as_str(), Some("Errors"));
    assert_eq!(e["TreatMissingData"].as_str(), Some("notBreaching"));
    assert!(e.get("AlarmName").is_none());
    let dims: Vec<(String, String)> = e["Dimensions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| (d["Name"].as_str().unwrap().to_string(), text(&d["Value"])))
        .collect();
    assert_eq!(
        dims,
        [
            ("FunctionName".into(), format!("!Ref {}", ids::FUNCTION)),
            (
                "Resource".into(),
                format!("!Sub ${{{}}}:{}", ids::FUNCTION, ids::FUNCTION_ALIAS_NAME)
            ),
            (
                "ExecutedVersion".into(),
                format!("!GetAtt {}.Version", ids::FUNCTION_VERSION)
            ),
        ]
    );

    // A pipeline's stage judges its own version: the Stage dimension too.
    let stages = "region: eu-west-1\nlab: true\nstages:\n  - name: parse\n    workers: {kind: lambda}\n  - name: index\n    fed_by: messages\n    workers: {kind: lambda}\n";
    let second = fleet(stages);
    let dims = text(&props(&second, "RollbackFailedJobsAlarm")["Dimensions"]);
    assert!(dims.contains("Name: Stage\n  Value: index"), "{dims}");
}

/// CodeDeploy shifts the alias as a role of this stack: what AWS's managed
/// AWSCodeDeployRoleForLambda grants for a deployment with no hooks or triggers
/// (<https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCodeDeployRoleForLambda.html>),
/// held to this function, its alias and this stack's rollback alarms; no managed policy of
/// AWS's, no `*` resource.
#[test]
fn codedeploys_role_is_held_to_this_function_and_its_alarms_by_render() {
    let f = lambda("");
    let role = props(&f, ids::DEPLOY_ROLE);
    let principal = &role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"];
    assert_eq!(text(principal), "!Sub codedeploy.${AWS::URLSuffix}");
    assert!(role.get("ManagedPolicyArns").is_none());
    assert!(role.get("Policies").is_none());
    let p = props(&f, ids::DEPLOY_POLICY);
    assert_eq!(text(&p["Roles"][0]), format!("!Ref {}", ids::DEPLOY_ROLE));
    let statements = p["PolicyDocument"]["Statement"].as_sequence().unwrap();
    let all = text(&p["PolicyDocument"]);
    assert!(
        !all.contains("Resource: '*'") && !all.contains("Resource: \"*\""),
        "{all}"
    );
    let of = |sid: &str| {
        statements
            .iter()
            .find(|s| s["Sid"].as_str() == Some(sid))
            .unwrap_or_else(|| panic!("no {sid} in {all}"))
    };
    let alarms = of("ReadRollbackAlarms");
    assert_eq!(alarms["Action"].as_str(), Some("cloudwatch:DescribeAlarms"));
    assert!(
        text(&alarms["Resource"]).ends_with(":alarm:${AWS::StackName}-Rollback*"),
        "{}",
        text(&alarms["Resource"])
    );
    let shift = of("ShiftAlias");
    let actions: Vec<&str> = shift["Action"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        actions,
        [
            "lambda:GetAlias",
            "lambda:UpdateAlias",
            "lambda:GetProvisionedConcurrencyConfig"
        ]
    );
    assert_eq!(
        text(&shift["Resource"]),
        format!(
            "- !GetAtt {f}.Arn\n- !Sub ${{{f}.Arn}}:{a}",
            f = ids::FUNCTION,
            a = ids::FUNCTION_ALIAS_NAME
        )
    );
    assert_eq!(statements.len(), 2, "{all}");
}

/// `deployment: direct`: no version, alias or CodeDeploy; the mapping invokes the function's
/// latest code, as before (nothing rolls back).
#[test]
fn a_direct_deployment_keeps_the_mapping_on_the_function_by_render() {
    let f = lambda("  lambda:\n    deployment: direct\n");
    assert_eq!(
        text(&props(&f, ids::QUEUE_MAPPING)["FunctionName"]),
        format!("!Ref {}", ids::FUNCTION)
    );
    let types = text(&f["Resources"]);
    for gone in [
        "AWS::Lambda::Version",
        "AWS::Lambda::Alias",
        "AWS::CodeDeploy::",
        "rollback-",
    ] {
        assert!(!types.contains(gone), "{gone} in {types}");
    }
    assert!(f["Outputs"].get("DeploymentGroup").is_none());
}
