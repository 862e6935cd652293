//! Rendered templates: snapshots of the shipped stack files, and the properties the
//! architecture depends on, checked on the parsed YAML.

use super::*;
use crate::config;
use serde_yaml_ng::Value;

fn load(rel: &str) -> Environment {
    load_file(rel).into_only()
}

fn load_file(rel: &str) -> config::LoadedFile {
    let p = crate::config::workspace_root().join(rel);
    config::load(&p).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn from_str(yaml: &str) -> Environment {
    config::parse(PathBuf::from("stacks/t.yaml"), yaml.to_string())
        .unwrap()
        .into_only()
}

fn rendered(env: &Environment) -> (Value, Value) {
    let stacks = render(env).unwrap();
    assert_eq!(stacks.len(), 2);
    assert_eq!(stacks[0].role, StackRole::Data, "data is deployed first");
    let parse = |s: &RenderedStack| serde_yaml_ng::from_str::<Value>(&s.template).unwrap();
    (parse(&stacks[0]), parse(&stacks[1]))
}

fn resource<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["Resources"][name]["Properties"]
}

/// The value of a YAML node with CloudFormation's short tags (`!Sub x`) looked through.
fn untagged(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

#[test]
fn snapshots_of_the_shipped_stack_files() {
    for rel in [
        "stacks/lab.yaml",
        "stacks/prod.yaml",
        "examples/batch.yaml",
        "examples/lambda.yaml",
        "examples/lambda-image.yaml",
        "examples/lambda-managed.yaml",
        "examples/high-resolution.yaml",
        "examples/fargate.yaml",
    ] {
        let env = load(rel);
        for s in render(&env).unwrap() {
            let name = format!("{}-{}", env.name, s.role.as_str());
            insta::assert_snapshot!(name, s.template);
        }
    }
}

#[test]
fn the_group_has_no_desired_capacity_and_tracks_backlog_per_instance() {
    let env = load("stacks/lab.yaml");
    let (_, fleet) = rendered(&env);
    let asg = resource(&fleet, "WorkerGroup");
    assert!(
        asg.get("DesiredCapacity").is_none(),
        "a redeploy must not reset the scaled size"
    );
    assert_eq!(asg["MinSize"], Value::from("1"));
    assert_eq!(asg["MaxSize"], Value::from("2"));
    let metrics = asg["MetricsCollection"][0]["Metrics"]
        .as_sequence()
        .unwrap();
    assert!(metrics.contains(&Value::from("GroupInServiceInstances")));
    assert_eq!(
        asg["MetricsCollection"][0]["Granularity"],
        Value::from("1Minute")
    );
    assert!(
        matches!(asg["VPCZoneIdentifier"], Value::Tagged(_)),
        "subnets come from the parameter"
    );

    let policy = resource(&fleet, "BacklogPerInstancePolicy");
    assert_eq!(policy["PolicyType"], Value::from("TargetTrackingScaling"));
    let tt = &policy["TargetTrackingConfiguration"];
    assert_eq!(
        tt["TargetValue"].as_f64(),
        Some(crate::config::headroom::target(10.0, 0.5, 2, None)),
        "the headroom target of a 10 s goal at 0.5 s per message"
    );
    // Target tracking scales out only; the gradual policy below scales in.
    assert_eq!(tt["DisableScaleIn"].as_bool(), Some(true));
    let m = tt["CustomizedMetricSpecification"]["Metrics"]
        .as_sequence()
        .unwrap();
    let by_id = |id: &str| m.iter().find(|x| x["Id"] == id).unwrap();
    let m1 = &by_id("m1")["MetricStat"];
    assert_eq!(m1["Metric"]["Namespace"], Value::from("AWS/SQS"));
    assert_eq!(
        m1["Metric"]["MetricName"],
        Value::from("ApproximateNumberOfMessagesVisible")
    );
    assert_eq!(
        m1["Metric"]["Dimensions"][0]["Value"],
        Value::from("qfleet-lab-jobs")
    );
    assert_eq!(m1["Stat"], Value::from("Sum"));
    let m2 = &by_id("m2")["MetricStat"];
    assert_eq!(
        m2["Metric"]["MetricName"],
        Value::from("GroupInServiceInstances")
    );
    assert_eq!(m2["Stat"], Value::from("Average"));
    let m3 = &by_id("m3")["MetricStat"];
    assert_eq!(
        m3["Metric"]["MetricName"],
        Value::from("ApproximateNumberOfMessagesNotVisible")
    );
    // No in-flight datapoint is none in flight (SQS reports it "if in-flight messages exist").
    assert_eq!(
        by_id("e1")["Expression"],
        Value::from("(m1 + FILL(m3, 0)) / m2")
    );
    let returning: Vec<_> = m.iter().filter(|x| x["ReturnData"] == true).collect();
    assert_eq!(returning.len(), 1);
    assert_eq!(returning[0]["Id"], Value::from("e1"));
    assert!(fleet["Resources"].get("ScaleFromZeroPolicy").is_none());
    // The gradual scale-in: a simple scaling policy (its cooldown waits for the drained
    // terminations) on an alarm of the same busy backlog.
    let scale_in = resource(&fleet, "ScaleInPolicy");
    assert_eq!(scale_in["PolicyType"], Value::from("SimpleScaling"));
    assert_eq!(
        scale_in["AdjustmentType"],
        Value::from("PercentChangeInCapacity")
    );
    assert_eq!(scale_in["ScalingAdjustment"].as_i64(), Some(-10));
    assert_eq!(scale_in["MinAdjustmentMagnitude"].as_u64(), Some(1));
    assert_eq!(scale_in["Cooldown"], Value::from("300"));
    let alarm = resource(&fleet, "ScaleInAlarm");
    assert_eq!(
        alarm["ComparisonOperator"],
        Value::from("LessThanThreshold")
    );
    let busy = alarm["Metrics"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|x| x["ReturnData"] == true)
        .unwrap();
    // The busy backlog per instance, held over the target where a step would cross it
    // (scale_in_alarm.rs evaluates it).
    assert_eq!(
        busy["Expression"],
        Value::from(format!(
            "(held + {} * crosses * serving) / (serving * (FILL(visible, -1) >= 0))",
            env.backlog_target()
        ))
    );
}

#[test]
fn target_tracking_scales_in_itself_only_when_the_file_asks() {
    let env = config::parse(
        "stacks/tt.yaml".into(),
        "region: eu-west-1\nlab: true\nscaling:\n  max_latency_seconds: 10\n  seconds_per_message: 0.5\n  scale_in: {policy: target_tracking}\n".into(),
    )
    .unwrap()
    .into_only();
    let (_, fleet) = rendered(&env);
    let tt = &resource(&fleet, "BacklogPerInstancePolicy")["TargetTrackingConfiguration"];
    assert!(tt.get("DisableScaleIn").is_none());
    assert!(fleet["Resources"].get("ScaleInPolicy").is_none());
    assert!(fleet["Resources"].get("ScaleInAlarm").is_none());
}

/// A parked environment (`workers.max: 0`, Copilot's `count: 0`) runs no instance and scales
/// nothing: Auto Scaling refuses target tracking on a group whose MaxSize is not above its
/// MinSize (cfn-lint E3712), so the fleet has no scaling policy, and validate needs no
/// scale-from-zero for its `min: 0`.
#[test]
fn a_parked_fleet_has_no_instances_and_no_scaling() {
    let env = from_str("region: eu-west-1\nworkers:\n  min: 0\n  max: 0\n");
    assert!(crate::config::check(&env).is_empty());
    assert!(env.parked() && env.parked_note().unwrap().contains("no worker runs"));
    let (_, fleet) = rendered(&env);
    let group = resource(&fleet, "WorkerGroup");
    assert_eq!(
        (group["MinSize"].as_str(), group["MaxSize"].as_str()),
        (Some("0"), Some("0"))
    );
    let types: Vec<&str> = fleet["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter_map(|r| r["Type"].as_str())
        .collect();
    assert!(
        !types.contains(&"AWS::AutoScaling::ScalingPolicy"),
        "{types:?}"
    );
    // One above zero scales again, with scale-from-zero for its min: 0.
    let e = crate::config::parse(
        "t.yaml".into(),
        "region: eu-west-1\nworkers:\n  min: 0\n  max: 1\n".into(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("scale_from_zero"), "{e}");
}

#[test]
fn scale_from_zero_adds_its_own_policy() {
    let (_, fleet) = rendered(&load("examples/batch.yaml"));
    assert_eq!(resource(&fleet, "WorkerGroup")["MinSize"], Value::from("0"));
    assert_eq!(
        resource(&fleet, "ScaleFromZeroPolicy")["PolicyType"],
        Value::from("StepScaling")
    );
    let alarm = resource(&fleet, "ScaleFromZeroAlarm");
    assert!(matches!(alarm["AlarmActions"][0], Value::Tagged(_)));
}

#[test]
fn the_launch_template_is_locked_down() {
    let (_, fleet) = rendered(&load("stacks/prod.yaml"));
    let data = &resource(&fleet, "LaunchTemplate")["LaunchTemplateData"];
    assert_eq!(
        data["MetadataOptions"]["HttpTokens"],
        Value::from("required")
    );
    let ebs = &data["BlockDeviceMappings"][0]["Ebs"];
    assert_eq!(ebs["Encrypted"], Value::from(true));
    assert_eq!(ebs["VolumeType"], Value::from("gp3"));
    assert_eq!(
        data["NetworkInterfaces"][0]["AssociatePublicIpAddress"],
        Value::from(false)
    );
    assert!(
        data.get("KeyName").is_none(),
        "no SSH key: SSM Session Manager instead"
    );
    let sg = resource(&fleet, "WorkerSecurityGroup");
    assert!(
        sg.get("SecurityGroupIngress").is_none(),
        "nothing may connect to a worker"
    );
    let role = resource(&fleet, "WorkerRole");
    let managed = format!("{:?}", role["ManagedPolicyArns"]);
    assert!(
        managed.contains("AmazonSSMManagedInstanceCore"),
        "{managed}"
    );
    // The image is an SSM parameter resolved at deploy time, matching the instance architecture.
    assert_eq!(
        fleet["Parameters"]["ImageId"]["Type"],
        Value::from("AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>")
    );
    assert!(
        fleet["Parameters"]["ImageId"]["Default"]
            .as_str()
            .unwrap()
            .ends_with("arm64")
    );
}

#[test]
fn public_ip_is_an_explicit_opt_in() {
    let (_, fleet) = rendered(&load("stacks/lab.yaml"));
    let lt = &fleet["Resources"]["LaunchTemplate"];
    assert_eq!(
        lt["Properties"]["LaunchTemplateData"]["NetworkInterfaces"][0]["AssociatePublicIpAddress"],
        Value::from(true)
    );
    let suppressed = format!("{:?}", lt["Metadata"]["guard"]["SuppressedRules"]);
    assert!(
        suppressed.contains("EC2_INSTANCE_NO_PUBLIC_IP"),
        "{suppressed}"
    );
    let (_, fleet) = rendered(&from_str("region: eu-west-1\n"));
    assert!(
        fleet["Resources"]["LaunchTemplate"]["Metadata"]
            .get("guard")
            .is_none()
    );
}

#[test]
fn the_worker_policy_is_scoped_to_this_environment() {
    let (_, fleet) = rendered(&load("stacks/lab.yaml"));
    let doc = &resource(&fleet, "WorkerPolicy")["PolicyDocument"]["Statement"];
    let text = serde_yaml_ng::to_string(doc).unwrap();
    // "*" only for PutMetricData, which has no resource type, kept to qfleet's namespace by
    // its condition; the worker reads its lifecycle state from instance metadata, not the API.
    let on_any: Vec<_> = doc
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|st| st["Resource"].as_str() == Some("*"))
        .collect();
    assert_eq!(on_any.len(), 1, "{text}");
    assert_eq!(
        on_any[0]["Action"].as_str(),
        Some("cloudwatch:PutMetricData")
    );
    assert_eq!(
        on_any[0]["Condition"]["StringEquals"]["cloudwatch:namespace"].as_str(),
        Some("qfleet"),
        "{text}"
    );
    assert!(!text.contains("autoscaling:Describe"), "{text}");
    assert!(text.contains("qfleet-lab-jobs"));
    assert!(text.contains("lab-uploads-${AWS::AccountId}-${AWS::Region}/uploads/*"));
    assert!(text.contains("lab-uploads-${AWS::AccountId}-${AWS::Region}/processed/*"));
    for action in [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    ] {
        assert!(text.contains(action), "{action}");
    }
    assert!(!text.contains("sqs:SendMessage") && !text.contains("sqs:*") && !text.contains("s3:*"));
    // No scale-in protection (it would let a busy worker stall a teardown or a rolling update),
    // and no lifecycle heartbeats the worker never sends.
    assert!(
        !text.contains("SetInstanceProtection") && !text.contains("RecordLifecycleActionHeartbeat"),
        "{text}"
    );
}

#[test]
fn deploys_wait_for_the_workers_to_signal_that_they_reached_the_queue() {
    let (_, fleet) = rendered(&load("stacks/lab.yaml"));
    let group = &fleet["Resources"]["WorkerGroup"];
    let signal = &group["CreationPolicy"]["ResourceSignal"];
    assert_eq!(signal["Count"].as_u64(), Some(1), "lab: workers.min is 1");
    assert_eq!(signal["Timeout"].as_str(), Some("PT900S"));
    // An update waits for each replacement's signal too (its launch hook, before it).
    let rolling = &group["UpdatePolicy"]["AutoScalingRollingUpdate"];
    assert_eq!(rolling["WaitOnResourceSignals"].as_bool(), Some(true));
    assert_eq!(rolling["PauseTime"].as_str(), Some("PT900S"));
    let hook = resource(&fleet, ids::LAUNCH_HOOK);
    assert_eq!(hook["HeartbeatTimeout"].as_u64(), Some(900));
    let policy =
        serde_yaml_ng::to_string(&resource(&fleet, "WorkerPolicy")["PolicyDocument"]).unwrap();
    assert!(
        policy.contains("cloudformation:SignalResource")
            && policy.contains(":stack/${AWS::StackName}/*"),
        "signals only its own stack: {policy}"
    );
    // Without a first instance there is nothing to wait for.
    let zero = from_str(
        "region: eu-west-1\nworkers:\n  min: 0\n  max: 3\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\nscaling:\n  scale_from_zero: true\n",
    );
    let (_, fleet) = rendered(&zero);
    assert!(
        fleet["Resources"]["WorkerGroup"]
            .get("CreationPolicy")
            .is_none()
    );
}

#[test]
fn the_data_stack_wires_bucket_topic_and_queues() {
    let (data, _) = rendered(&load("stacks/prod.yaml"));
    let bucket = resource(&data, "Bucket");
    let pab = &bucket["PublicAccessBlockConfiguration"];
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(pab[k], Value::from(true), "{k}");
    }
    assert_eq!(
        bucket["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
        Value::from("BucketOwnerEnforced")
    );
    assert_eq!(
        bucket["VersioningConfiguration"]["Status"],
        Value::from("Enabled")
    );
    let sse = &bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        Value::from("aws:kms")
    );
    let n = &bucket["NotificationConfiguration"]["TopicConfigurations"][0];
    assert_eq!(n["Event"], Value::from("s3:ObjectCreated:*"));
    assert_eq!(
        n["Filter"]["S3Key"]["Rules"][0]["Value"],
        Value::from("uploads/")
    );
    assert_eq!(
        data["Resources"]["Bucket"]["DeletionPolicy"],
        Value::from("RetainExceptOnCreate"),
        "kept on teardown, removed when the first create fails"
    );
    assert!(
        bucket["LifecycleConfiguration"]["Rules"][0]
            .get("AbortIncompleteMultipartUpload")
            .is_some()
    );

    let tls = &resource(&data, "BucketPolicy")["PolicyDocument"]["Statement"][0];
    assert_eq!(tls["Effect"], Value::from("Deny"));
    assert_eq!(
        tls["Condition"]["Bool"]["aws:SecureTransport"],
        Value::from(false)
    );

    let tp = &resource(&data, "TopicPolicy")["PolicyDocument"]["Statement"][0];
    assert_eq!(tp["Principal"]["Service"], Value::from("s3.amazonaws.com"));
    assert!(tp["Condition"]["ArnLike"].get("aws:SourceArn").is_some());
    assert!(
        tp["Condition"]["StringEquals"]
            .get("aws:SourceAccount")
            .is_some()
    );

    let q = resource(&data, "Queue");
    assert_eq!(q["VisibilityTimeout"], Value::from(300));
    assert_eq!(q["ReceiveMessageWaitTimeSeconds"], Value::from(20));
    assert_eq!(q["RedrivePolicy"]["maxReceiveCount"], Value::from(5));
    let dlq = resource(&data, "DeadLetterQueue");
    assert_eq!(dlq["MessageRetentionPeriod"], Value::from(14 * 86_400));
    assert_eq!(
        dlq["RedriveAllowPolicy"]["redrivePermission"],
        Value::from("byQueue")
    );
    let src = untagged(&dlq["RedriveAllowPolicy"]["sourceQueueArns"][0]);
    assert!(src.as_str().unwrap().ends_with(":qfleet-prod-jobs"));

    let qp = &resource(&data, "QueuePolicy")["PolicyDocument"]["Statement"][0];
    assert_eq!(qp["Principal"]["Service"], Value::from("sns.amazonaws.com"));
    assert_eq!(qp["Action"], Value::from("sqs:SendMessage"));
    let sub = resource(&data, "Subscription");
    assert_eq!(sub["RawMessageDelivery"], Value::from(true));
    assert_eq!(sub["Protocol"], Value::from("sqs"));

    let outputs = data["Outputs"].as_mapping().unwrap();
    for k in [
        "BucketName",
        "TopicArn",
        "QueueUrl",
        "QueueArn",
        "DeadLetterQueueUrl",
        "DeadLetterQueueArn",
    ] {
        assert!(outputs.contains_key(k), "output {k}");
    }
    assert!(resource(&data, "DeadLetterQueueNotEmptyAlarm")["Threshold"] == 0);
    assert_eq!(
        resource(&data, "OldestMessageAlarm")["MetricName"],
        Value::from("ApproximateAgeOfOldestMessage")
    );
}

#[test]
fn without_a_key_the_lab_uses_aws_owned_encryption() {
    let (data, _) = rendered(&load("stacks/lab.yaml"));
    assert_eq!(
        data["Resources"]["Bucket"]["DeletionPolicy"],
        Value::from("Delete")
    );
    assert_eq!(
        resource(&data, "Queue")["SqsManagedSseEnabled"],
        Value::from(true)
    );
    assert!(resource(&data, "Topic").get("KmsMasterKeyId").is_none());
}

#[test]
fn user_data_writes_the_environment_and_starts_the_reference_worker() {
    let env = load("stacks/lab.yaml");
    let stacks = render(&env).unwrap();
    let fleet = &stacks[1].template;
    assert!(fleet.contains("QFLEET_QUEUE_NAME=qfleet-lab-jobs"));
    assert!(fleet.contains("systemctl enable --now qfleet-worker.service"));
    assert!(fleet.contains("NoNewPrivileges=yes"));
    assert!(fleet.contains("User=qfleet"));
    assert!(fleet.contains("Restart=always"));
    // The reference worker is not in the user data (EC2 takes 16 KB of it): the launch
    // template's metadata holds it, gzipped, and the bootstrap reads it from this stack.
    assert!(!fleet.contains("base64 -d <<'QFLEET_WORKER'"));
    assert!(fleet.contains(
        "describe_stack_resource(StackName=\"${AWS::StackName}\", LogicalResourceId=\"LaunchTemplate\")"
    ));
    let doc: Value = serde_yaml_ng::from_str(fleet).unwrap();
    let packed = doc["Resources"]["LaunchTemplate"]["Metadata"]["qfleet"]["worker"]
        .as_str()
        .unwrap();
    // The reference worker as one file, with what it shares with the handler.
    assert_eq!(
        packed,
        crate::render::embed::gzip_base64_line(&shipped_worker())
    );
    // Its hash is in the user data: a new worker (or shared module) is a new launch template
    // version.
    let hash = super::sha256_hex(&shipped_worker());
    assert!(fleet.contains(&format!("(SHA-256 {hash})")), "{hash}");
    // The role may read it from its own stack, and from no other.
    let statements = format!(
        "{:?}",
        resource(&doc, "WorkerPolicy")["PolicyDocument"]["Statement"]
    );
    assert!(statements.contains("ReadOwnWorker"), "{statements}");
}

/// EC2's 16 KB is measured on the user data EC2 receives: the `Fn::Sub` text once
/// CloudFormation has put in the stack's name, Region and account, `${!X}` as `${X}`; a
/// StackSets instance's stack name (which StackSets makes) at its longest.
#[test]
fn the_user_data_is_measured_as_ec2_receives_it_in_each_mode() {
    let env = load("stacks/lab.yaml");
    let stacks = render(&env).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&stacks[1].template).unwrap();
    let ud = &doc["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"];
    let Value::Tagged(sub) = ud else {
        panic!("{ud:?}")
    };
    let text = sub.value.as_str().unwrap();
    let received = text
        .replace("${AWS::Region}", "eu-west-1")
        .replace("${AWS::AccountId}", "123456789012")
        .replace("${AWS::URLSuffix}", "amazonaws.com")
        .replace("${AWS::StackName}", "qfleet-lab-fleet")
        .replace("${!", "${");
    assert!(!received.contains("${AWS::"));
    assert_eq!(super::user_data_received(&env, text), received.len());
    // Through StackSets, each `${AWS::StackName}` counts at 128 characters.
    let f = load_file("examples/stack-sets.yaml");
    let t = &f.targets[0];
    let rendered = render(t).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&rendered[1].template).unwrap();
    // A pair: the worker version is a variable targets may differ in.
    let sub = &doc["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
        ["Fn::Sub"];
    assert!(sub[1]["QfleetWorkerVersion"].as_str().is_some(), "{sub:?}");
    let text = sub[0].as_str().unwrap();
    assert!(
        text.contains("QFLEET_VERSION=${QfleetWorkerVersion}\n"),
        "{text}"
    );
    let names = text.matches("${AWS::StackName}").count();
    assert!(names >= 2, "{names}");
    let direct = text.replace("${AWS::StackName}", &t.fleet_stack_name());
    assert_eq!(
        super::user_data_received(t, text),
        super::user_data_received(t, &direct)
            + names * (super::STACK_NAME_MAX - t.fleet_stack_name().len())
    );
}

/// Jobs, secrets and a warm pool together fit in EC2's 16 KB (the reference worker is read
/// from the stack, not carried); a function or a task has no user data, so no limit of EC2's
/// refuses one.
#[test]
fn jobs_secrets_and_a_warm_pool_fit_and_only_instances_carry_user_data() {
    let secrets = "  secrets: {API_KEY: 'secretsmanager:app/api-key', DB: 'ssm:/app/db'}\n";
    let ec2 = from_str(&format!(
        "region: eu-west-1\njobs: {{}}\nworkers:\n  min: 1\n  max: 4\n  warm_pool: {{min_size: 1}}\n{secrets}"
    ));
    let fleet = &render(&ec2).unwrap()[1].template;
    assert!(fleet.contains("qfleet-launch-hook") && fleet.contains("qfleet-secrets"));
    for kind in [
        "kind: lambda\n",
        "kind: fargate\n  image: public.ecr.aws/docker/library/python:3.12\n",
    ] {
        let env = from_str(&format!(
            "region: eu-west-1\njobs: {{}}\nworkers:\n  {kind}{secrets}"
        ));
        let fleet = &render(&env).unwrap()[1].template;
        assert!(!fleet.contains("UserData"), "{kind}");
    }
}

#[test]
fn custom_user_data_is_escaped_for_fn_sub() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("w.sh"),
        "#!/bin/bash\necho \"${HOME} $PATH\"\n",
    )
    .unwrap();
    let stack = dir.path().join("t.yaml");
    std::fs::write(&stack, "region: eu-west-1\nworkers: {user_data: w.sh}\n").unwrap();
    let env = config::load(&stack).unwrap().into_only();
    let fleet = &render(&env).unwrap()[1].template;
    assert!(
        fleet.contains("echo \"${!HOME} $PATH\""),
        "`${{` must reach the instance literally"
    );
    assert!(
        !fleet.contains("qfleet_worker.py"),
        "a custom script replaces the reference worker"
    );
    assert!(fleet.contains("/etc/qfleet/user-data.sh"));
}

#[test]
fn oversized_user_data_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let big = format!("#!/bin/bash\n{}\n", "# padding\n".repeat(2000));
    std::fs::write(dir.path().join("w.sh"), big).unwrap();
    let stack = dir.path().join("t.yaml");
    std::fs::write(&stack, "region: eu-west-1\nworkers:\n  user_data: w.sh\n").unwrap();
    let env = config::load(&stack).unwrap().into_only();
    let err = render(&env).unwrap_err();
    let Error::Input(list) = err else { panic!() };
    assert_eq!(
        (list[0].field.as_str(), list[0].line),
        ("workers.user_data", 3)
    );
    assert!(list[0].message.contains("16384"), "{}", list[0]);
}

#[test]
fn an_unknown_template_variable_names_the_template_and_line() {
    let env = from_str("region: eu-west-1\n");
    let mut j = jinja();
    j.add_template("broken.yaml.j2", "a: 1\nb: {{ workers.no_such_setting }}\n")
        .unwrap();
    let ctx = minijinja::Value::from(minijinja::value::Serde(context(&env)));
    let err = render_one(&j, &env, "broken.yaml.j2", |c| c, &ctx).unwrap_err();
    let Error::Input(list) = err else { panic!() };
    assert_eq!(list[0].file, "templates/broken.yaml.j2");
    assert_eq!(list[0].line, 2);
    assert!(list[0].message.contains("does not provide"), "{}", list[0]);
}

#[test]
fn every_shipped_template_passes_the_offline_checks() {
    for rel in [
        "stacks/lab.yaml",
        "stacks/prod.yaml",
        "examples/batch.yaml",
        "examples/lambda.yaml",
        "examples/lambda-deps.yaml",
        "examples/lambda-image.yaml",
        "examples/fargate.yaml",
    ] {
        for s in render(&load(rel)).unwrap() {
            assert_eq!(
                check::check(&s),
                Vec::<String>::new(),
                "{rel} {}",
                s.file_name
            );
        }
    }
}

/// A new instance gets the warmup (at least 15 minutes) to report in: a first create through
/// its CreationPolicy, an update through the launch lifecycle hook, whose heartbeat is at most
/// two hours ("HeartbeatTimeout … The maximum is 7200 seconds",
/// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutLifecycleHook.html), as
/// workers.instance_warmup is.
#[test]
fn the_launch_hooks_heartbeat_never_exceeds_two_hours_by_render() {
    for (warmup, creation, heartbeat) in [
        (120, "PT900S", 900),
        (3_600, "PT3600S", 3_600),
        (7_200, "PT7200S", 7_200),
    ] {
        let env = from_str(&format!(
            "region: eu-west-1\nworkers:\n  instance_warmup: {warmup}\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\n"
        ));
        let (_, fleet) = rendered(&env);
        let group = &fleet["Resources"]["WorkerGroup"];
        assert_eq!(
            group["CreationPolicy"]["ResourceSignal"]["Timeout"].as_str(),
            Some(creation),
            "warmup {warmup}"
        );
        assert_eq!(
            resource(&fleet, ids::LAUNCH_HOOK)["HeartbeatTimeout"].as_u64(),
            Some(heartbeat),
            "warmup {warmup}"
        );
    }
}

/// EC2's EBS-optimized instances page: current generation types are EBS-optimized by default,
/// and some types (t2.*, among the common lab choices) do not support EBS optimization at all,
/// so a launch template that forces `EbsOptimized: true` makes every launch of them fail
/// (https://docs.aws.amazon.com/ec2/latest/instancetypes/ebs-optimized.html).
#[test]
fn the_launch_template_leaves_ebs_optimization_to_the_instance_types_default() {
    for rel in ["stacks/lab.yaml", "stacks/prod.yaml", "examples/batch.yaml"] {
        let (_, fleet) = rendered(&load(rel));
        let data = &resource(&fleet, "LaunchTemplate")["LaunchTemplateData"];
        assert!(data.get("EbsOptimized").is_none(), "{rel}");
    }
}

/// S3 checks, when the notification is put, only that it may publish to the topic (it sends a
/// test event); the queue policy and the subscription are what carry the events on to the
/// queue (S3's "Walkthrough: Configuring a bucket for notifications (SNS topic or SQS queue)",
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/ways-to-add-notification-config-to-bucket.html).
/// CloudFormation creates resources in parallel unless told otherwise: the bucket (which
/// carries the notification) waits for all three, so no upload's event is dropped.
#[test]
fn the_bucket_notification_goes_live_only_after_the_whole_path_to_the_queue_exists() {
    for rel in ["stacks/lab.yaml", "examples/lambda.yaml"] {
        let (data, _) = rendered(&load(rel));
        let depends: Vec<&str> = data["Resources"][ids::BUCKET]["DependsOn"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{rel}: DependsOn is a list"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for needed in ["TopicPolicy", "QueuePolicy", ids::SUBSCRIPTION] {
            assert!(
                depends.contains(&needed),
                "{rel}: {depends:?} lacks {needed}"
            );
        }
    }
}

/// S3 lifecycle: "ExpiredObjectDeleteMarker … Indicates whether Amazon S3 will remove a delete
/// marker with no noncurrent versions", which may share a rule with NoncurrentVersionExpiration
/// but not with an Expiration of days or a date
/// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-configuration-examples.html,
/// "Removing expired object delete markers"). Without it every processed job leaves a delete
/// marker in `uploads/` forever and listings keep growing.
#[test]
fn the_lifecycle_removes_expired_object_delete_markers() {
    let (data, _) = rendered(&load("stacks/lab.yaml"));
    let rules = resource(&data, ids::BUCKET)["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .unwrap();
    let rule = rules
        .iter()
        .find(|r| r.get("NoncurrentVersionExpiration").is_some())
        .unwrap();
    assert_eq!(rule["ExpiredObjectDeleteMarker"], Value::from(true));
    assert!(rule.get("ExpirationInDays").is_none() && rule.get("ExpirationDate").is_none());
}

/// Step scaling's ExactCapacity "changes the current capacity to the specified value", which
/// would shrink a group that target tracking had grown; ChangeInCapacity only adds
/// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html, "Scaling
/// adjustment types"). The alarm fires only while the group wants no instance at all.
#[test]
fn scale_from_zero_only_adds_an_instance_when_the_group_wants_none() {
    let (_, fleet) = rendered(&load("examples/batch.yaml"));
    let policy = resource(&fleet, "ScaleFromZeroPolicy");
    assert_eq!(policy["AdjustmentType"], Value::from("ChangeInCapacity"));
    assert_eq!(
        policy["StepAdjustments"][0]["ScalingAdjustment"],
        Value::from(1)
    );
    let alarm = resource(&fleet, "ScaleFromZeroAlarm");
    let metrics = alarm["Metrics"].as_sequence().unwrap();
    let expression = metrics
        .iter()
        .find_map(|m| m.get("Expression").and_then(Value::as_str))
        .unwrap();
    assert_eq!(expression, "IF(visible > 0 AND desired == 0, 1, 0)");
    let desired = metrics.iter().find(|m| m["Id"] == "desired").unwrap();
    assert_eq!(
        desired["MetricStat"]["Metric"]["MetricName"],
        Value::from("GroupDesiredCapacity")
    );
}

mod alerts;
mod budget;
mod ecs_managed;
mod fargate;
mod fifo;
mod gpu;
mod high_resolution;
mod iam_limits;
mod job_sweeper;
mod lambda;
mod lambda_rollback;
mod limits;
mod network;
mod pipeline;
mod priority;
mod retry;
mod rollback;
mod scale_in_alarm;
mod sources;
mod spot;
mod warm_pool;
mod worker_s3;

/// SQS's ApproximateAgeOfOldestMessage is published every minute; the latency goal
/// (`scaling.max_latency_seconds`) missed for five minutes running raises an alarm on the
/// alarm topic (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html).
#[test]
fn a_latency_goal_gets_an_alarm_when_it_is_missed_for_five_minutes() {
    let (data, _) = rendered(&load("stacks/lab.yaml"));
    let alarm = resource(&data, "LatencyGoalAlarm");
    assert_eq!(
        alarm["MetricName"],
        Value::from("ApproximateAgeOfOldestMessage")
    );
    assert_eq!(
        alarm["Threshold"].as_f64(),
        Some(10.0),
        "lab's max_latency_seconds"
    );
    assert_eq!(alarm["EvaluationPeriods"], Value::from(5));
    assert_eq!(alarm["DatapointsToAlarm"], Value::from(5));
    assert_eq!(
        alarm["ComparisonOperator"],
        Value::from("GreaterThanThreshold")
    );
    let without = from_str(
        "region: eu-west-1\nscaling:\n  target_backlog_per_instance: 50\nworkers:\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\n",
    );
    let (data, _) = rendered(&without);
    assert!(data["Resources"].get("LatencyGoalAlarm").is_none());
}

/// A private ECR image is pulled with the instance role: BatchGetImage and
/// GetDownloadUrlForLayer on its repository, GetAuthorizationToken (no resource type) on "*"
/// (Amazon ECR User Guide, "Private repository policies" and "Registry authentication").
#[test]
fn a_private_ecr_image_is_pulled_with_the_instance_role_and_nothing_more() {
    let (_, fleet) = rendered(&load("examples/container.yaml"));
    let doc = &resource(&fleet, "WorkerPolicy")["PolicyDocument"]["Statement"];
    let st = |sid: &str| {
        doc.as_sequence()
            .unwrap()
            .iter()
            .find(|s| s["Sid"].as_str() == Some(sid))
            .cloned()
            .unwrap_or_else(|| panic!("no {sid}"))
    };
    let pull = st("PullWorkerImage");
    assert_eq!(
        serde_yaml_ng::to_string(&pull["Action"]).unwrap(),
        "- ecr:BatchGetImage\n- ecr:GetDownloadUrlForLayer\n"
    );
    assert!(
        serde_yaml_ng::to_string(&pull["Resource"])
            .unwrap()
            .contains(":ecr:eu-west-1:123456789012:repository/image-resizer")
    );
    assert_eq!(st("LogInToRegistry")["Resource"].as_str(), Some("*"));
    let (_, public) = rendered(&from_str(
        "region: eu-west-1\nworkers:\n  image: public.ecr.aws/acme/worker:1\n",
    ));
    let doc = &resource(&public, "WorkerPolicy")["PolicyDocument"]["Statement"];
    assert!(
        !serde_yaml_ng::to_string(doc).unwrap().contains("ecr:"),
        "a public image needs no ECR grant"
    );
}

/// A function with a deployment package takes its code from qfleet's code bucket by the
/// package's content-addressed key; the data stack declares that bucket (encrypted, private,
/// TLS only), and only then: an inline function's stacks have none.
#[test]
fn a_packaged_function_takes_its_code_from_the_code_bucket_by_key() {
    let env = load("examples/lambda-deps.yaml");
    let key = env
        .function_code
        .as_ref()
        .and_then(|c| c.package.as_ref())
        .map(|p| p.key())
        .unwrap();
    let (data, fleet) = rendered(&env);
    let f = resource(&fleet, "WorkerFunction");
    assert_eq!(f["Handler"].as_str(), Some("job.handler"));
    assert_eq!(f["Code"]["S3Key"].as_str(), Some(key.as_str()));
    assert_eq!(
        untagged(&f["Code"]["S3Bucket"]).as_str(),
        Some("lab-deps-code-${AWS::AccountId}-${AWS::Region}")
    );
    assert!(f["Code"].get("ZipFile").is_none());

    let b = resource(&data, "CodeBucket");
    assert_eq!(
        untagged(&b["BucketName"]).as_str(),
        untagged(&f["Code"]["S3Bucket"]).as_str()
    );
    assert_eq!(
        b["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"].as_bool(),
        Some(true)
    );
    assert_eq!(
        b["VersioningConfiguration"]["Status"].as_str(),
        Some("Enabled")
    );
    assert!(b["BucketEncryption"].is_mapping());
    let policy = &resource(&data, "CodeBucketPolicy")["PolicyDocument"]["Statement"][0];
    assert_eq!(policy["Effect"].as_str(), Some("Deny"));
    assert_eq!(
        policy["Condition"]["Bool"]["aws:SecureTransport"].as_bool(),
        Some(false)
    );

    // Inline code: no bucket, the code in the template.
    let (data, fleet) = rendered(&load("examples/lambda.yaml"));
    assert!(data["Resources"].get("CodeBucket").is_none());
    assert!(resource(&fleet, "WorkerFunction")["Code"]["ZipFile"].is_string());
}

/// A declared statement may name the stack's own account and Region by their pseudo
/// parameters: the resource goes through Fn::Sub, an IAM policy variable in it stays as
/// written (`${!aws:username}`), and a resource without one is written as it is. Another
/// `${AWS::…}` is refused by validate.
#[test]
fn a_statements_pseudo_parameters_are_filled_in_by_cloudformation() {
    let env = from_str(
        "region: eu-west-1\nworkers:\n  statements:\n    - Effect: Allow\n      Action: dynamodb:PutItem\n      Resource:\n        - arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/orders\n        - arn:aws:s3:::team-${AWS::AccountId}/${aws:username}/*\n        - arn:aws:dynamodb:eu-west-1:123456789012:table/plain\n",
    );
    let (_, fleet) = rendered(&env);
    let text = serde_json::to_string(&fleet).unwrap();
    assert!(
        text.contains(r#"{"Fn::Sub":"arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/orders"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"{"Fn::Sub":"arn:aws:s3:::team-${AWS::AccountId}/${!aws:username}/*"}"#),
        "{text}"
    );
    assert!(text.contains(r#""arn:aws:dynamodb:eu-west-1:123456789012:table/plain""#));
    let e = crate::config::parse(
        "t.yaml".into(),
        "region: eu-west-1\nworkers:\n  statements:\n    - Effect: Allow\n      Action: s3:GetObject\n      Resource: arn:aws:s3:::${AWS::StackName}/*\n".into(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("is not a pseudo parameter"), "{e}");
}
