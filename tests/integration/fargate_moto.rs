//! Fargate workers on moto's server, the emulator that takes ECS through CloudFormation
//! (measured: moto 5.2.5 keeps the cluster, task definition and service as records, drops most
//! Fargate properties and skips Application Auto Scaling; LocalStack's community edition has
//! no ECS). What moto cannot show (the properties, the scaling, ECS's answers) is asserted in
//! render tests and SDK-level mocks. Here: the example deploys and status reads its service;
//! switching ec2 → fargate → lambda keeps every waiting message; teardown removes it.

use crate::common::*;

#[tokio::test]
async fn the_fargate_example_deploys_status_reads_its_service_and_teardown_removes_it_on_moto() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("fg");
    let conf = moto_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    // The example itself, under this test's environment name.
    let text = std::fs::read_to_string(root().join("examples/fargate.yaml"))
        .unwrap()
        .replace("environment: fargate", &format!("environment: {e}"));
    let file = dir.path().join(format!("{e}.yaml"));
    std::fs::write(&file, text).unwrap();
    deploy_on_moto(&file);
    let types = fleet_types(&cfn, &e).await;
    // moto gap: it skips Application Auto Scaling's resources (the render tests assert them).
    for t in [
        "AWS::ECS::Cluster",
        "AWS::ECS::TaskDefinition",
        "AWS::ECS::Service",
    ] {
        assert!(types.contains(t), "{t}: {types:?}");
    }
    assert!(
        !types.contains("AWS::AutoScaling::AutoScalingGroup"),
        "{types:?}"
    );
    // ECS holds the service under qfleet's names, running the task family's revision (read
    // with boto3: qfleet has no ECS SDK crate to lend the tests).
    let o = run(std::process::Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import boto3, sys; print(boto3.client('ecs', region_name='eu-west-1', endpoint_url=sys.argv[1], aws_access_key_id='testing', aws_secret_access_key='testing').describe_services(cluster=sys.argv[2], services=[sys.argv[3]])['services'][0]['taskDefinition'])",
        ])
        .arg(moto_endpoint())
        .arg(format!("qfleet-{e}"))
        .arg(format!("qfleet-{e}-workers")));
    assert!(o.status.success(), "{}", stderr(&o));
    let task_definition = stdout(&o);
    assert!(
        task_definition.contains(&format!("task-definition/qfleet-{e}-worker:")),
        "{task_definition}"
    );

    // status reads the service through the same call (its JSON matches the schema).
    let o = run(qfleet_on_moto()
        .arg("status")
        .arg(&file)
        .args(["-o", "json"]));
    let d = document(&o);
    let env = &d["environments"][0];
    assert_eq!(env["workers"], serde_json::json!(["fargate"]), "{env}");
    assert_eq!(env["service"]["name"], format!("qfleet-{e}-workers"));
    assert_eq!(env["service"]["status"], "ACTIVE");
    assert!(env["fleet"].is_null() && env["function"].is_null());
    assert!(
        !env["unavailable"]
            .as_object()
            .unwrap()
            .contains_key("service"),
        "{env}"
    );

    // moto gap: its CloudFormation cannot delete a role with managed policies attached.
    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto()
        .arg("teardown")
        .arg(&file)
        .args(["--yes", "--discard-messages"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for role in ["data", "fleet"] {
        assert!(!stack_exists(&cfn, &format!("qfleet-{e}-{role}")).await);
    }
}

#[tokio::test]
async fn switching_worker_kind_ec2_to_fargate_to_lambda_keeps_every_waiting_message_on_moto() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("fgk");
    let conf = moto_config().await;
    let (cfn, sqs) = (
        aws_sdk_cloudformation::Client::new(&conf),
        aws_sdk_sqs::Client::new(&conf),
    );
    let queue = format!("qfleet-{e}-jobs");

    // Messages wait while the workers (which moto never runs) consume nothing.
    deploy_on_moto(&kind_stack_file(dir.path(), &e, "ec2"));
    for i in 0..7 {
        send_job(&sqs, &queue, &format!("job {i}")).await;
    }
    assert_eq!(waiting(&sqs, &queue).await, 7);

    let mut from = "ec2";
    for (kind, consumer) in [
        ("fargate", "AWS::ECS::Service"),
        ("lambda", "AWS::Lambda::Function"),
    ] {
        moto_detach_role_policies(&[&e]);
        switch_on_moto(&kind_stack_file(dir.path(), &e, kind), from, kind);
        let types = fleet_types(&cfn, &e).await;
        assert!(types.contains(consumer), "{types:?}");
        for (other, gone) in [
            ("ec2", "AWS::AutoScaling::AutoScalingGroup"),
            ("fargate", "AWS::ECS::Service"),
        ] {
            if other != kind {
                assert!(!types.contains(gone), "{kind}: {types:?}");
            }
        }
        assert_eq!(
            waiting(&sqs, &queue).await,
            7,
            "every waiting message is still in the queue after the switch to {kind}"
        );
        from = kind;
    }
}
