//! The serverless fleet template (`workers.kind: lambda`), checked on the parsed YAML.

use super::*;
use crate::config;
use serde_yaml_ng::Value;

fn lambda(extra: &str) -> (Value, Value) {
    let env = config::parse(
        PathBuf::from("stacks/t.yaml"),
        format!("region: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n{extra}"),
    )
    .unwrap()
    .into_only();
    let stacks = render(&env).unwrap();
    let parse = |s: &RenderedStack| serde_yaml_ng::from_str::<Value>(&s.template).unwrap();
    (parse(&stacks[0]), parse(&stacks[1]))
}

fn props<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["Resources"][name]["Properties"]
}

#[test]
fn the_function_is_fed_by_the_queue_with_partial_batch_failures() {
    let (_, fleet) = lambda("");
    let resources = fleet["Resources"].as_mapping().unwrap();
    let types: Vec<&str> = resources
        .values()
        .map(|r| r["Type"].as_str().unwrap())
        .collect();
    assert!(
        !types.contains(&"AWS::AutoScaling::AutoScalingGroup"),
        "{types:?}"
    );
    assert!(!types.contains(&"AWS::EC2::LaunchTemplate"), "{types:?}");
    let m = props(&fleet, ids::QUEUE_MAPPING);
    assert_eq!(
        m["FunctionResponseTypes"][0].as_str(),
        Some("ReportBatchItemFailures")
    );
    assert_eq!(m["BatchSize"].as_u64(), Some(10));
    assert_eq!(m["ScalingConfig"]["MaximumConcurrency"].as_u64(), Some(5));
    assert_eq!(
        fleet["Resources"][ids::QUEUE_MAPPING]["DependsOn"][0].as_str(),
        Some(ids::FUNCTION_POLICY),
        "the mapping polls with the role's permissions in place"
    );
    let f = props(&fleet, ids::FUNCTION);
    assert_eq!(f["FunctionName"].as_str(), Some("qfleet-t-worker"));
    assert_eq!(f["Handler"].as_str(), Some("index.handler"));
    assert_eq!(f["Timeout"].as_u64(), Some(10));
    // The reference handler, one file: the shared module's text and the job module's loader
    // in their imports' places, without comment lines and docstrings (the template's limit).
    let code = f["Code"]["ZipFile"].as_str().unwrap();
    assert_eq!(
        code.trim_end(),
        crate::render::embed::slim_module(&crate::render::shipped_handler(
            crate::package::REFERENCE_HANDLER
        ))
        .trim_end()
    );
    assert!(code.contains(crate::render::embed::slim_module(qfleet_runtime::SHARED).trim_end()));
    assert!(
        !code
            .lines()
            .any(|l| l.starts_with("from qfleet_shared import")),
        "{code}"
    );
    assert!(!code.contains("from qfleet_jobs import"), "{code}");
    assert!(code.contains("def _qfleet_jobs():") && code.contains("def handler("));
    assert!(
        !code.contains("class Jobs:"),
        "the module is read from the data stack"
    );
    assert!(f.get("ReservedConcurrentExecutions").is_none());
    let logs = props(&fleet, ids::FUNCTION_LOG_GROUP);
    assert_eq!(
        logs["LogGroupName"].as_str(),
        Some("/aws/lambda/qfleet-t-worker")
    );
    assert_eq!(logs["RetentionInDays"].as_u64(), Some(14));
}

#[test]
fn the_function_role_is_scoped_to_this_environment() {
    let (_, fleet) = lambda("");
    let doc = &props(&fleet, ids::FUNCTION_POLICY)["PolicyDocument"]["Statement"];
    let text = serde_yaml_ng::to_string(doc).unwrap();
    assert!(
        !text.contains("\"*\"") && !text.contains("Resource: '*'"),
        "{text}"
    );
    assert!(text.contains("qfleet-t-jobs"));
    assert!(text.contains("t-uploads-${AWS::AccountId}-${AWS::Region}/processed/*"));
    for forbidden in [
        "sqs:SendMessage",
        "sqs:*",
        "s3:*",
        "s3:ListBucket",
        "logs:CreateLogGroup",
    ] {
        assert!(!text.contains(forbidden), "{forbidden} in {text}");
    }
    // Uploads are deleted, never written; results are written, never deleted.
    for st in doc.as_sequence().unwrap() {
        let resources = serde_yaml_ng::to_string(&st["Resource"]).unwrap();
        match st["Action"].as_str() {
            Some("s3:PutObject") => assert!(!resources.contains("/uploads/"), "{resources}"),
            Some("s3:DeleteObject") => assert!(!resources.contains("/processed/"), "{resources}"),
            _ => {}
        }
    }
}

#[test]
fn the_data_stack_alarms_on_the_functions_errors_and_throttles() {
    let (data, _) = lambda("");
    for (alarm, metric) in [
        ("FunctionErrorsAlarm", "Errors"),
        ("FunctionThrottlesAlarm", "Throttles"),
    ] {
        let a = props(&data, alarm);
        assert_eq!(a["Namespace"].as_str(), Some("AWS/Lambda"));
        assert_eq!(a["MetricName"].as_str(), Some(metric));
        assert_eq!(
            a["Dimensions"][0]["Value"].as_str(),
            Some("qfleet-t-worker")
        );
    }
    // EC2 environments have no function alarms.
    let env = config::parse(PathBuf::from("stacks/t.yaml"), "region: eu-west-1\n".into())
        .unwrap()
        .into_only();
    let data = render(&env).unwrap().remove(0).template;
    assert!(!data.contains("FunctionErrorsAlarm"));
}

#[test]
fn reserved_concurrency_is_set_only_when_asked() {
    let (_, fleet) = lambda("  lambda:\n    reserved_concurrency: 8\n");
    assert_eq!(
        props(&fleet, ids::FUNCTION)["ReservedConcurrentExecutions"].as_u64(),
        Some(8)
    );
    let suppressed =
        serde_yaml_ng::to_string(&fleet["Resources"][ids::FUNCTION]["Metadata"]).unwrap();
    assert!(
        !suppressed.contains("LAMBDA_CONCURRENCY_CHECK"),
        "{suppressed}"
    );
}

#[test]
fn provisioned_pollers_replace_the_maximum_concurrency() {
    let (_, fleet) = lambda("  lambda:\n    provisioned_pollers: {minimum: 2, maximum: 50}\n");
    let m = props(&fleet, ids::QUEUE_MAPPING);
    assert_eq!(
        m["ProvisionedPollerConfig"]["MinimumPollers"].as_u64(),
        Some(2)
    );
    assert_eq!(
        m["ProvisionedPollerConfig"]["MaximumPollers"].as_u64(),
        Some(50)
    );
    // AWS makes the two exclusive: no ScalingConfig in provisioned mode.
    assert!(m.get("ScalingConfig").is_none(), "{m:?}");
    let (_, standard) = lambda("");
    let m = props(&standard, ids::QUEUE_MAPPING);
    assert_eq!(m["ScalingConfig"]["MaximumConcurrency"].as_u64(), Some(5));
    assert!(m.get("ProvisionedPollerConfig").is_none(), "{m:?}");
}

const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/resizer@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// AWS::Lambda::Function from a container image: `PackageType: Image`, `Code.ImageUri`, and no
/// Runtime or Handler (the image carries them); the queue mapping and the log group stay.
#[test]
fn an_image_function_takes_its_code_from_ecr_without_runtime_or_handler() {
    let (data, fleet) = lambda(&format!("  lambda:\n    image: {IMAGE}\n"));
    assert!(fleet["Resources"].get(ids::FUNCTION).is_none());
    let f = props(&fleet, ids::IMAGE_FUNCTION);
    assert_eq!(f["PackageType"].as_str(), Some("Image"));
    assert_eq!(f["Code"]["ImageUri"].as_str(), Some(IMAGE));
    assert_eq!(f["Code"].as_mapping().unwrap().len(), 1, "{:?}", f["Code"]);
    assert!(f.get("Runtime").is_none() && f.get("Handler").is_none());
    assert!(f.get("ImageConfig").is_none(), "no override asked");
    assert_eq!(f["Architectures"][0].as_str(), Some("x86_64"));
    assert_eq!(f["FunctionName"].as_str(), Some("qfleet-t-worker-image"));
    // The log group keeps its name: `qfleet logs`, teardown and the deploying policy's scope
    // stay the same, and a switch keeps the lines written before it.
    assert_eq!(
        props(&fleet, ids::FUNCTION_LOG_GROUP)["LogGroupName"].as_str(),
        Some("/aws/lambda/qfleet-t-worker")
    );
    // The mapping invokes the alias of the image's function.
    let mapping =
        serde_yaml_ng::to_string(&props(&fleet, ids::QUEUE_MAPPING)["FunctionName"]).unwrap();
    assert!(mapping.contains(ids::FUNCTION_ALIAS), "{mapping}");
    let alias =
        serde_yaml_ng::to_string(&props(&fleet, ids::FUNCTION_ALIAS)["FunctionName"]).unwrap();
    assert!(alias.contains(ids::IMAGE_FUNCTION), "{alias}");
    let outputs = serde_yaml_ng::to_string(&fleet["Outputs"]).unwrap();
    assert!(
        outputs.contains(ids::IMAGE_FUNCTION) && !outputs.contains(&format!("{}\n", ids::FUNCTION)),
        "{outputs}"
    );
    // The data stack's function alarms watch the image function by its name.
    assert_eq!(
        props(&data, "FunctionErrorsAlarm")["Dimensions"][0]["Value"].as_str(),
        Some("qfleet-t-worker-image")
    );
}

#[test]
fn image_overrides_and_architecture_reach_the_function() {
    let (_, fleet) = lambda(&format!(
        "  lambda:\n    image: {IMAGE}\n    command: [app.handler]\n    entry_point: [/lambda-entrypoint.sh]\n    architecture: arm64\n"
    ));
    let f = props(&fleet, ids::IMAGE_FUNCTION);
    assert_eq!(f["ImageConfig"]["Command"][0].as_str(), Some("app.handler"));
    assert_eq!(
        f["ImageConfig"]["EntryPoint"][0].as_str(),
        Some("/lambda-entrypoint.sh")
    );
    assert!(f["ImageConfig"].get("WorkingDirectory").is_none());
    assert_eq!(f["Architectures"][0].as_str(), Some("arm64"));
}

/// Lambda cannot change a function's package type (PackageType is create-only) and a custom
/// name cannot be taken over by its replacement: the two kinds of function have different
/// logical ids and names, so a switch is an added function and a removed one, both declared
/// with the same queue mapping (its FunctionName can be updated in place).
#[test]
fn a_zip_and_an_image_function_never_share_a_logical_id_or_a_name() {
    let (_, zip) = lambda("");
    let (_, image) = lambda(&format!("  lambda:\n    image: {IMAGE}\n"));
    let ids_of = |doc: &Value| -> Vec<String> {
        doc["Resources"]
            .as_mapping()
            .unwrap()
            .iter()
            .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Lambda::Function"))
            .map(|(k, _)| k.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids_of(&zip), vec![ids::FUNCTION.to_string()]);
    assert_eq!(ids_of(&image), vec![ids::IMAGE_FUNCTION.to_string()]);
    assert_ne!(
        props(&zip, ids::FUNCTION)["FunctionName"],
        props(&image, ids::IMAGE_FUNCTION)["FunctionName"]
    );
    // Everything else keeps its id: the role, its policy, the log group and the mapping.
    for id in [
        ids::FUNCTION_ROLE,
        ids::FUNCTION_POLICY,
        ids::FUNCTION_LOG_GROUP,
        ids::QUEUE_MAPPING,
    ] {
        assert!(
            zip["Resources"].get(id).is_some() && image["Resources"].get(id).is_some(),
            "{id}"
        );
    }
}

/// The longest environment name still gives an image function a name Lambda accepts
/// (64 characters at most).
#[test]
fn the_image_functions_name_fits_lambdas_limit_for_the_longest_environment_name() {
    let name = "e".repeat(crate::config::MAX_NAME_LEN);
    let env = config::parse(
        PathBuf::from(format!("stacks/{name}.yaml")),
        format!("region: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n  lambda:\n    image: {IMAGE}\n"),
    )
    .unwrap()
    .into_only();
    let names = ResourceNames::of(&env);
    assert!(names.function.len() <= 64, "{}", names.function);
    assert!(names.function_names.iter().all(|n| n.len() <= 64));
    // A later stage of a pipeline adds `--STAGE` (16 characters at most) to the name.
    let stage = "s".repeat(16);
    let pipeline = config::parse(
        PathBuf::from(format!("stacks/{name}.yaml")),
        format!(
            "region: eu-west-1\nlab: true\nstages:\n  - name: first\n    workers:\n      kind: lambda\n  - name: {stage}\n    workers:\n      kind: lambda\n      lambda:\n        image: {IMAGE}\n"
        ),
    )
    .unwrap()
    .into_only();
    let last = ResourceNames::of(&pipeline.pipeline[1]);
    assert_eq!(
        last.function,
        format!("qfleet-{name}--{stage}-worker-image"),
        "{last:?}"
    );
    assert!(last.function.len() <= 64, "{}", last.function);
    assert_eq!(
        last.function_log_group,
        format!("/aws/lambda/qfleet-{name}--{stage}-worker")
    );
}

/// Lambda Managed Instances (`workers.lambda.managed_instances`).
const MANAGED_NETWORK: &str = "  network:\n    vpc: vpc-0a1b2c3d4e5f67890\n    subnets:\n      eu-west-1a: subnet-0a1b2c3d4e5f67890\n      eu-west-1b: subnet-1a1b2c3d4e5f67890\n";

fn managed(extra_lambda: &str, extra_workers: &str) -> Value {
    lambda(&format!(
        "{MANAGED_NETWORK}{extra_workers}  lambda:\n    runtime: python3.13\n    memory_mb: 4096\n{extra_lambda}"
    ))
    .1
}

#[test]
fn managed_instances_put_the_function_on_a_capacity_provider_in_the_stages_network() {
    let fleet = managed(
        "    managed_instances:\n      instance_types: [m7g.large]\n      max_vcpus: 64\n      memory_per_vcpu: 4\n      per_environment: 32\n",
        "  security_groups: [sg-0fedcba9876543210]\n",
    );
    let cp = props(&fleet, "LambdaCapacityProvider");
    assert_eq!(
        fleet["Resources"]["LambdaCapacityProvider"]["Type"].as_str(),
        Some("AWS::Lambda::CapacityProvider")
    );
    assert_eq!(
        untagged(&cp["VpcConfig"]["SecurityGroupIds"][0]).as_str(),
        Some("WorkerSecurityGroup")
    );
    assert_eq!(
        cp["VpcConfig"]["SecurityGroupIds"][1].as_str(),
        Some("sg-0fedcba9876543210")
    );
    assert_eq!(
        cp["InstanceRequirements"]["AllowedInstanceTypes"][0].as_str(),
        Some("m7g.large")
    );
    assert_eq!(
        cp["InstanceRequirements"]["Architectures"][0].as_str(),
        Some("x86_64"),
        "a zip package's architecture"
    );
    assert_eq!(
        cp["CapacityProviderScalingConfig"]["MaxVCpuCount"].as_u64(),
        Some(64)
    );
    assert_eq!(
        untagged(&cp["PermissionsConfig"]["CapacityProviderOperatorRoleArn"]).as_str(),
        Some("CapacityOperatorRole.Arn")
    );
    let role = props(&fleet, "CapacityOperatorRole");
    assert_eq!(
        untagged(&role["ManagedPolicyArns"][0]).as_str(),
        Some("arn:${AWS::Partition}:iam::aws:policy/AWSLambdaManagedEC2ResourceOperator")
    );
    let f = props(&fleet, ids::FUNCTION);
    let c = &f["CapacityProviderConfig"]["LambdaManagedInstancesCapacityProviderConfig"];
    assert_eq!(
        untagged(&c["CapacityProviderArn"]).as_str(),
        Some("LambdaCapacityProvider.Arn")
    );
    assert_eq!(c["ExecutionEnvironmentMemoryGiBPerVCpu"].as_u64(), Some(4));
    assert_eq!(
        c["PerExecutionEnvironmentMaxConcurrency"].as_u64(),
        Some(32)
    );
    // The instances are in the VPC, not the function: no VpcConfig, no EC2 grant on its role.
    assert!(f["VpcConfig"].is_null(), "{f:?}");
    let policy = serde_yaml_ng::to_string(&fleet["Resources"][ids::FUNCTION_POLICY]).unwrap();
    assert!(!policy.contains("ec2:"), "{policy}");
    // The mapping invokes the alias of a published version.
    assert_eq!(
        untagged(&props(&fleet, ids::QUEUE_MAPPING)["FunctionName"]).as_str(),
        Some(ids::FUNCTION_ALIAS)
    );
}

#[test]
fn managed_instances_leave_out_what_the_file_leaves_out_and_are_off_by_default() {
    let fleet = managed("    managed_instances: {}\n", "");
    let cp = props(&fleet, "LambdaCapacityProvider");
    assert!(cp["CapacityProviderScalingConfig"].is_null());
    assert!(cp["InstanceRequirements"]["AllowedInstanceTypes"].is_null());
    let c = &props(&fleet, ids::FUNCTION)["CapacityProviderConfig"]["LambdaManagedInstancesCapacityProviderConfig"];
    assert!(c["ExecutionEnvironmentMemoryGiBPerVCpu"].is_null());
    assert!(c["PerExecutionEnvironmentMaxConcurrency"].is_null());
    // Without the block: no capacity provider, and a function in the VPC keeps its VpcConfig.
    let fleet = managed("", "");
    assert!(fleet["Resources"]["LambdaCapacityProvider"].is_null());
    assert!(fleet["Resources"]["CapacityOperatorRole"].is_null());
    let f = props(&fleet, ids::FUNCTION);
    assert!(f["CapacityProviderConfig"].is_null());
    assert!(!f["VpcConfig"].is_null());
}

#[test]
fn a_capacity_providers_name_changes_with_every_property_that_replaces_it() {
    let name = |lambda_extra: &str, workers_extra: &str| {
        props(
            &managed(lambda_extra, workers_extra),
            "LambdaCapacityProvider",
        )["CapacityProviderName"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let base = name("    managed_instances: {}\n", "");
    assert!(base.starts_with("qfleet-t-capacity-"), "{base}");
    assert_eq!(base.len(), "qfleet-t-capacity-".len() + 8);
    // Properties updated in place keep it.
    assert_eq!(
        name(
            "    managed_instances: {max_vcpus: 10, per_environment: 4}\n",
            ""
        ),
        base
    );
    // Create-only ones (instance types, security groups, subnets) give another.
    let others = [
        name("    managed_instances: {instance_types: [m7i.large]}\n", ""),
        name(
            "    managed_instances: {}\n",
            "  security_groups: [sg-0fedcba9876543210]\n",
        ),
    ];
    for other in &others {
        assert_ne!(other, &base);
    }
    assert_ne!(others[0], others[1]);
}
