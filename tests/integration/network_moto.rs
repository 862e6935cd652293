//! Issue 66: the VPC, subnets, security groups and prefix lists a stack file names are checked
//! in the workers' Region before anything changes, on moto: one that does not exist, or a
//! subnet of another VPC or zone, is refused at its own line (exit 2), and no stack is created.

use crate::common::*;

#[tokio::test]
async fn plan_and_deploy_refuse_a_group_or_prefix_list_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("nref");
    let file = lab_stack_file(
        dir.path(),
        &e,
        "  egress:\n    - port: 80\n      prefix_list: pl-0123456789abcdef0\n  security_groups: [sg-0123456789abcdef0]\n",
    );
    for command in ["plan", "deploy"] {
        let mut cmd = qfleet_on_moto();
        cmd.arg(command).arg(&file);
        if command == "deploy" {
            cmd.arg("--yes");
        }
        let o = run(&mut cmd);
        assert_eq!(o.status.code(), Some(2), "{command}: {}", stderr(&o));
        let err = stderr(&o);
        for said in [
            "workers.security_groups.0: security group sg-0123456789abcdef0 does not exist in eu-west-1",
            "workers.egress.0.prefix_list: prefix list pl-0123456789abcdef0 does not exist in eu-west-1",
        ] {
            assert!(err.contains(said), "{command}: {err}");
        }
    }
    // A group that exists in the workers' VPC (the default VPC's, made with boto3 here) passes.
    let made = std::process::Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import boto3,sys; ec2=boto3.client('ec2', endpoint_url=sys.argv[1], region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing'); vpc=ec2.describe_vpcs(Filters=[{'Name':'is-default','Values':['true']}])['Vpcs'][0]['VpcId']; print(ec2.create_security_group(GroupName=sys.argv[2], Description='db clients', VpcId=vpc)['GroupId'])",
            &moto_endpoint(),
            &format!("{e}-db-clients"),
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let sg = String::from_utf8_lossy(&made.stdout).trim().to_string();
    lab_stack_file(dir.path(), &e, &format!("  security_groups: [{sg}]\n"));
    let o = run(qfleet_on_moto().arg("plan").arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Nothing was created: no fleet stack, and no data stack beyond a review.
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    assert!(!stack_exists(&cfn, &format!("qfleet-{e}-fleet")).await);
    if stack_exists(&cfn, &format!("qfleet-{e}-data")).await {
        let s = cfn
            .describe_stacks()
            .stack_name(format!("qfleet-{e}-data"))
            .send()
            .await
            .unwrap();
        let status = s.stacks()[0].stack_status().unwrap().as_str().to_string();
        assert_eq!(status, "REVIEW_IN_PROGRESS");
    }
}

#[tokio::test]
async fn plan_refuses_a_vpc_or_subnet_that_does_not_exist_or_is_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("nsub");
    // The default VPC's subnets in two zones, as moto has them.
    let listed = std::process::Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import boto3,sys; ec2=boto3.client('ec2', endpoint_url=sys.argv[1], region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing'); vpc=ec2.describe_vpcs(Filters=[{'Name':'is-default','Values':['true']}])['Vpcs'][0]['VpcId']; s={x['AvailabilityZone']:x['SubnetId'] for x in ec2.describe_subnets(Filters=[{'Name':'vpc-id','Values':[vpc]}])['Subnets']}; print(vpc, s['eu-west-1a'], s['eu-west-1b'])\n# AWS gives the default VPC an internet gateway and a main route to it; moto gives neither.\nrt=ec2.describe_route_tables(Filters=[{'Name':'vpc-id','Values':[vpc]},{'Name':'association.main','Values':['true']}])['RouteTables'][0]\nif not any(r.get('DestinationCidrBlock')=='0.0.0.0/0' for r in rt['Routes']):\n  igw=ec2.create_internet_gateway()['InternetGateway']['InternetGatewayId']; ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc); ec2.create_route(RouteTableId=rt['RouteTableId'], DestinationCidrBlock='0.0.0.0/0', GatewayId=igw)",
            &moto_endpoint(),
        ])
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let out = String::from_utf8_lossy(&listed.stdout).to_string();
    let [vpc, a, b] = out.split_whitespace().collect::<Vec<_>>()[..] else {
        panic!("{out}");
    };
    let network =
        |vpc: &str, subnets: &str| format!("  network:\n    vpc: {vpc}\n    subnets:\n{subnets}");
    // A subnet that does not exist, and one keyed by a zone it is not in.
    let file = lab_stack_file(
        dir.path(),
        &e,
        &network(
            vpc,
            &format!(
                "      eu-west-1a: {a}\n      eu-west-1b: subnet-0123456789abcdef0\n      eu-west-1c: {b}\n"
            ),
        ),
    );
    let o = run(qfleet_on_moto().arg("plan").arg(&file));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    for said in [
        "workers.network.subnets.eu-west-1b: subnet subnet-0123456789abcdef0 does not exist in eu-west-1".to_string(),
        format!("workers.network.subnets.eu-west-1c: subnet {b} is in eu-west-1b, not in eu-west-1c"),
    ] {
        assert!(stderr(&o).contains(&said), "{}", stderr(&o));
    }
    assert!(!stderr(&o).contains("eu-west-1a:"), "{}", stderr(&o));
    // A VPC that does not exist is said first, on its own line.
    lab_stack_file(
        dir.path(),
        &e,
        &network(
            "vpc-0123456789abcdef0",
            &format!("      eu-west-1a: {a}\n      eu-west-1b: {b}\n"),
        ),
    );
    let o = run(qfleet_on_moto().arg("plan").arg(&file));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("workers.network.vpc: VPC vpc-0123456789abcdef0 does not exist in eu-west-1"),
        "{}",
        stderr(&o)
    );
    // The default VPC's own subnets in their zones pass.
    lab_stack_file(
        dir.path(),
        &e,
        &network(
            vpc,
            &format!("      eu-west-1a: {a}\n      eu-west-1b: {b}\n"),
        ),
    );
    let o = run(qfleet_on_moto().arg("plan").arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    assert!(!stack_exists(&cfn, &format!("qfleet-{e}-fleet")).await);
}

/// Private subnets without a NAT gateway (a VPC made here, its main route table with the local
/// route only): `plan` names the missing security group and each service the workers call
/// that the VPC has no endpoint for, and changes nothing; once the endpoints are there, it
/// lists them and goes on.
#[tokio::test]
async fn plan_names_a_missing_group_and_each_missing_endpoint_then_lists_the_endpoints_found() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("nend");
    let made = std::process::Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import boto3,sys; ec2=boto3.client('ec2', endpoint_url=sys.argv[1], region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing'); vpc=ec2.create_vpc(CidrBlock='10.77.0.0/16')['Vpc']['VpcId']; a=ec2.create_subnet(VpcId=vpc, CidrBlock='10.77.1.0/24', AvailabilityZone='eu-west-1a')['Subnet']['SubnetId']; b=ec2.create_subnet(VpcId=vpc, CidrBlock='10.77.2.0/24', AvailabilityZone='eu-west-1b')['Subnet']['SubnetId']; print(vpc, a, b)",
            &moto_endpoint(),
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let out = String::from_utf8_lossy(&made.stdout).to_string();
    let [vpc, a, b] = out.split_whitespace().collect::<Vec<_>>()[..] else {
        panic!("{out}");
    };
    let network = format!(
        "  network:\n    vpc: {vpc}\n    subnets:\n      eu-west-1a: {a}\n      eu-west-1b: {b}\n"
    );
    let file = lab_stack_file(
        dir.path(),
        &e,
        &format!(
            "{network}  egress:\n    - port: 5432\n      security_group: sg-0123456789abcdef0\n"
        ),
    );
    let o = run(qfleet_on_moto().arg("plan").arg(&file));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("workers.egress.0.security_group: security group sg-0123456789abcdef0 does not exist in eu-west-1"),
        "{err}"
    );
    assert!(
        err.contains("workers.network: the workers cannot reach"),
        "{err}"
    );
    for service in [
        "sqs",
        "s3",
        "logs",
        "monitoring",
        "cloudformation",
        "autoscaling",
    ] {
        assert!(
            err.contains(&format!("{service} (no endpoint")),
            "{service}: {err}"
        );
    }
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    assert!(!stack_exists(&cfn, &format!("qfleet-{e}-fleet")).await);

    // The endpoints, made by hand: S3 by a gateway endpoint in the subnets' (main) route
    // table, the rest by interface endpoints with private DNS.
    let made = std::process::Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import boto3,sys; ec2=boto3.client('ec2', endpoint_url=sys.argv[1], region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing'); vpc,a=sys.argv[2],sys.argv[3]; rt=ec2.describe_route_tables(Filters=[{'Name':'vpc-id','Values':[vpc]}])['RouteTables'][0]['RouteTableId']; ec2.create_vpc_endpoint(VpcId=vpc, ServiceName='com.amazonaws.eu-west-1.s3', VpcEndpointType='Gateway', RouteTableIds=[rt]); [ec2.create_vpc_endpoint(VpcId=vpc, ServiceName='com.amazonaws.eu-west-1.'+s, VpcEndpointType='Interface', SubnetIds=[a], PrivateDnsEnabled=True) for s in ['sqs','logs','monitoring','cloudformation','autoscaling','ssm','ssmmessages','ec2messages']]",
            &moto_endpoint(),
            vpc,
            a,
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    lab_stack_file(dir.path(), &e, &network);
    let o = run(qfleet_on_moto()
        .arg("plan")
        .arg(&file)
        .args(["--output", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let notes = doc["environments"][0]["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["notes"].as_array().unwrap().clone())
        .map(|n| n.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(notes.contains("through the VPC's endpoints"), "{notes}");
    assert!(!notes.contains("MISSING"), "{notes}");
    assert!(notes.contains("(gateway)"), "{notes}");
}

/// `endpoints: create` in private subnets, on moto: the deploy makes the endpoints the VPC
/// lacks and uses the one it has; a second deploy changes nothing; teardown deletes the
/// stacks and keeps the endpoints (moto drops the template's tags and types every network
/// interface `interface`, so the deletion itself is tested against SDK-level fakes:
/// src/teardown/tests/endpoints.rs).
#[tokio::test]
async fn endpoints_create_makes_the_missing_ones_once_and_teardown_keeps_them_when_unproven() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("nmk");
    let py = |script: &str, args: &[&str]| {
        let o = std::process::Command::new(root().join(".venv/bin/python"))
            .arg("-c")
            .arg(format!("import boto3,sys; ec2=boto3.client('ec2', endpoint_url=sys.argv[1], region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing'); {script}"))
            .arg(moto_endpoint())
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let out = py(
        "vpc=ec2.create_vpc(CidrBlock='10.78.0.0/16')['Vpc']['VpcId']; ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={'Value': True}); a=ec2.create_subnet(VpcId=vpc, CidrBlock='10.78.1.0/24', AvailabilityZone='eu-west-1a')['Subnet']['SubnetId']; b=ec2.create_subnet(VpcId=vpc, CidrBlock='10.78.2.0/24', AvailabilityZone='eu-west-1b')['Subnet']['SubnetId']; ec2.create_vpc_endpoint(VpcId=vpc, ServiceName='com.amazonaws.eu-west-1.sqs', VpcEndpointType='Interface', SubnetIds=[a], PrivateDnsEnabled=True); print(vpc, a, b)",
        &[],
    );
    let [vpc, a, b] = out.split_whitespace().collect::<Vec<_>>()[..] else {
        panic!("{out}");
    };
    let file = lab_stack_file(
        dir.path(),
        &e,
        &format!(
            "  network:\n    vpc: {vpc}\n    subnets:\n      eu-west-1a: {a}\n      eu-west-1b: {b}\n    endpoints: create\n"
        ),
    );
    let endpoints = || {
        py(
            "import json; print(json.dumps(sorted(x['ServiceName'].rsplit('.',1)[1] for x in ec2.describe_vpc_endpoints()['VpcEndpoints'] if x['VpcId']==sys.argv[2] and x['State']!='deleted')))",
            &[vpc],
        )
    };
    let o = run(qfleet_on_moto().args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("already has: sqs vpce-"),
        "{}",
        stderr(&o)
    );
    let made: Vec<String> = serde_json::from_str(&endpoints()).unwrap();
    // SQS once (the VPC's own), every other service the workers call once.
    for service in [
        "sqs",
        "s3",
        "logs",
        "monitoring",
        "cloudformation",
        "autoscaling",
        "ssm",
    ] {
        assert_eq!(
            made.iter().filter(|s| *s == service).count(),
            1,
            "{service}: {made:?}"
        );
    }
    let o = run(qfleet_on_moto().args(["deploy", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let again: Vec<String> = serde_json::from_str(&endpoints()).unwrap();
    assert_eq!(again, made, "a second deploy makes none");

    moto_detach_role_policies(&[&e]);
    let o = run(qfleet_on_moto().args(["teardown", "--yes"]).arg(&file));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    assert!(!stack_exists(&cfn, &format!("qfleet-{e}-data")).await);
    let kept: Vec<String> = serde_json::from_str(&endpoints()).unwrap();
    assert_eq!(kept, made, "the endpoints outlive the stack, unless asked");
}

/// A VPC made with the API has DNS hostnames off ("DNS hostnames are disabled by default for
/// nondefault VPCs", <https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html>):
/// private DNS for the endpoints would fail, so `plan` refuses at the key and changes nothing.
#[tokio::test]
async fn endpoints_create_in_a_vpc_without_dns_hostnames_is_refused_at_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let e = unique("ndns");
    let made = std::process::Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import boto3,sys; ec2=boto3.client('ec2', endpoint_url=sys.argv[1], region_name='eu-west-1', aws_access_key_id='testing', aws_secret_access_key='testing'); vpc=ec2.create_vpc(CidrBlock='10.79.0.0/16')['Vpc']['VpcId']; a=ec2.create_subnet(VpcId=vpc, CidrBlock='10.79.1.0/24', AvailabilityZone='eu-west-1a')['Subnet']['SubnetId']; b=ec2.create_subnet(VpcId=vpc, CidrBlock='10.79.2.0/24', AvailabilityZone='eu-west-1b')['Subnet']['SubnetId']; print(vpc, a, b)",
            &moto_endpoint(),
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let out = String::from_utf8_lossy(&made.stdout).to_string();
    let [vpc, a, b] = out.split_whitespace().collect::<Vec<_>>()[..] else {
        panic!("{out}");
    };
    let file = lab_stack_file(
        dir.path(),
        &e,
        &format!(
            "  network:\n    vpc: {vpc}\n    subnets:\n      eu-west-1a: {a}\n      eu-west-1b: {b}\n    endpoints: create\n"
        ),
    );
    let o = run(qfleet_on_moto().arg("plan").arg(&file));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "workers.network.endpoints: {vpc} has enableDnsHostnames off"
        )),
        "{}",
        stderr(&o)
    );
    let cfn = aws_sdk_cloudformation::Client::new(&moto_config().await);
    assert!(!stack_exists(&cfn, &format!("qfleet-{e}-fleet")).await);
}
