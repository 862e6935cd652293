//! The workers' way to the AWS APIs, found before any change (SDK-level fakes: neither
//! emulator answers DescribeRouteTables and DescribeVpcEndpoints as AWS routes traffic).

use super::*;

const NS: &str = "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"";

/// EC2 answering for [`STACK_FILE`]'s network, its main route table with no default route
/// (private subnets without NAT), and the VPC's endpoints `endpoints` (items).
fn private_vpc(endpoints: &str) -> crate::aws::signed::fake::Fake {
    let network = the_network_of_stack_file();
    let tables = format!(
        "<DescribeRouteTablesResponse {NS}><requestId>r</requestId><routeTableSet><item><routeTableId>rtb-private</routeTableId><routeSet><item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock><gatewayId>local</gatewayId><state>active</state></item></routeSet><associationSet><item><routeTableAssociationId>rtbassoc-1</routeTableAssociationId><main>true</main></item></associationSet></item></routeTableSet></DescribeRouteTablesResponse>"
    );
    let endpoints = format!(
        "<DescribeVpcEndpointsResponse {NS}><requestId>r</requestId><vpcEndpointSet>{endpoints}</vpcEndpointSet></DescribeVpcEndpointsResponse>"
    );
    crate::aws::signed::fake::Fake::new(move |r| match r.param("Action") {
        Some("DescribeRouteTables") => (200, tables.clone()),
        Some("DescribeVpcEndpoints") => (200, endpoints.clone()),
        _ => network.answer(r),
    })
}

fn interface(service: &str) -> String {
    format!(
        "<item><vpcEndpointId>vpce-{}</vpcEndpointId><vpcEndpointType>Interface</vpcEndpointType><serviceName>com.amazonaws.eu-west-1.{service}</serviceName><state>available</state><privateDnsEnabled>true</privateDnsEnabled></item>",
        service.replace('.', "-")
    )
}

fn clients_with(ec2: crate::aws::signed::fake::Fake, rules: &[&Rule]) -> Clients {
    let (sts, s3) = no_kept_bucket();
    let mut cfn = rules.to_vec();
    cfn.push(no_operation_events());
    crate::aws::mock::Rules {
        cfn,
        cloudwatch: vec![no_rollback_alarms()],
        sts: vec![sts],
        s3: vec![s3],
        ec2: Some(ec2),
        ..Default::default()
    }
    .clients()
}

#[tokio::test]
async fn mocked_private_subnets_without_an_endpoint_the_workers_call_refuse_before_any_change() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let rd = describe_sequence(
        DATA,
        vec![stack(&d, StackStatus::UpdateComplete, true, false)],
    );
    // The fleet is out of date: a deploy would make a change set for it (no rule answers
    // CreateChangeSet here, so one asked for fails the test).
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::UpdateComplete, false, false)],
    );
    // S3 by a gateway endpoint in the subnets' table, SQS by an interface one: the rest is
    // missing.
    let ec2 = private_vpc(&format!(
        "<item><vpcEndpointId>vpce-s3</vpcEndpointId><vpcEndpointType>Gateway</vpcEndpointType><serviceName>com.amazonaws.eu-west-1.s3</serviceName><state>available</state><routeTableIdSet><item>rtb-private</item></routeTableIdSet></item>{}",
        interface("sqs")
    ));
    let c = clients_with(ec2, &[&rd, &rf]);
    let o = deploy(&c, &e, Mode::Deploy, &opts(true)).await;
    assert!(!o.ok, "{o:?}");
    let err = o.error.as_ref().unwrap();
    assert_eq!(o.exit_code, crate::error::Exit::Input, "{err:?}");
    let text = err.message.clone();
    assert!(text.contains("workers.network"), "{text}");
    for missing in [
        "logs (no endpoint",
        "monitoring (no endpoint",
        "cloudformation (no endpoint",
    ] {
        assert!(text.contains(missing), "{missing}: {text}");
    }
    assert!(!text.contains("sqs (") && !text.contains("s3 ("), "{text}");
    assert!(
        text.contains("rtb-private: no route to 0.0.0.0/0"),
        "{text}"
    );
    // Refused while preparing, before either stack is touched.
    assert!(o.stacks.is_empty(), "{o:?}");
}

#[tokio::test]
async fn mocked_every_endpoint_found_is_listed_and_the_plan_goes_on() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let services = [
        "autoscaling",
        "cloudformation",
        "ec2messages",
        "logs",
        "monitoring",
        "s3",
        "sqs",
        "ssm",
        "ssmmessages",
    ];
    let ec2 = private_vpc(&services.iter().map(|s| interface(s)).collect::<String>());
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let rd = describe_sequence(
        DATA,
        vec![stack(&d, StackStatus::UpdateComplete, true, false)],
    );
    // The fleet changes: its workers' way out is checked (an environment deployed as desired
    // reads none of it).
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::UpdateComplete, false, false)],
    );
    let (cc, cs, dcs) = (
        create_cs(),
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![("Modify", "LaunchTemplate", "AWS::EC2::LaunchTemplate", None)],
        ),
        delete_cs(),
    );
    let c = clients_with(ec2, &[&rd, &rf, &cc, &cs, &dcs]);
    let o = deploy(&c, &e, Mode::Plan, &opts(true)).await;
    assert!(o.ok, "{o:?}");
    let fleet = o.stacks.iter().find(|s| s.stack == FLEET).unwrap();
    let note = &fleet.notes[0];
    assert!(note.contains("through the VPC's endpoints"), "{note}");
    for s in services {
        assert!(
            note.contains(&format!("{s} vpce-{}", s.replace('.', "-"))),
            "{s}: {note}"
        );
    }
}

/// [`STACK_FILE`] asking for endpoints: the VPC has someone's SQS endpoint with private DNS
/// and a Logs endpoint without it; the subnets use the main route table; two CIDR blocks.
fn creating_vpc() -> crate::aws::signed::fake::Fake {
    let logs_without_dns = "<item><vpcEndpointId>vpce-logs0</vpcEndpointId><vpcEndpointType>Interface</vpcEndpointType><serviceName>com.amazonaws.eu-west-1.logs</serviceName><state>available</state><privateDnsEnabled>false</privateDnsEnabled></item>";
    let inner = private_vpc(&format!("{}{logs_without_dns}", interface("sqs")));
    let vpcs = format!(
        "<DescribeVpcsResponse {NS}><requestId>r</requestId><vpcSet><item><vpcId>vpc-0123456789abcdef0</vpcId><cidrBlock>10.0.0.0/16</cidrBlock><cidrBlockAssociationSet><item><cidrBlock>10.0.0.0/16</cidrBlock></item><item><cidrBlock>100.64.0.0/16</cidrBlock></item></cidrBlockAssociationSet></item></vpcSet></DescribeVpcsResponse>"
    );
    crate::aws::signed::fake::Fake::new(move |r| match r.param("Action") {
        Some("DescribeVpcs") => (200, vpcs.clone()),
        Some("DescribeVpcAttribute") => {
            let name = r.param("Attribute").unwrap_or_default();
            // DNS hostnames are off in a VPC whose id ends in 9 (none of the defaults).
            let on = !r.param("VpcId").unwrap_or_default().ends_with('9');
            (
                200,
                format!(
                    "<DescribeVpcAttributeResponse {NS}><requestId>r</requestId><vpcId>x</vpcId><{name}><value>{}</value></{name}></DescribeVpcAttributeResponse>",
                    on || name == "enableDnsSupport"
                ),
            )
        }
        _ => inner.answer(r),
    })
}

const CREATING: &str = "environment: mk\nregion: eu-west-1\nlab: true\nworkers:\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\n    endpoints: create\n";

/// Interface endpoints with private DNS are one per service in a VPC (a second is refused for
/// the conflicting domain, PrivateLink's "private DNS" and the error AWS gives); a gateway
/// endpoint goes in the subnets' route tables; the group admits the VPC's CIDR blocks.
#[tokio::test]
async fn mocked_the_data_stack_makes_only_the_endpoints_the_vpc_lacks_and_keeps_its_own() {
    let e = env(CREATING);
    let rendered = crate::render::render(&e).unwrap();
    let plan = crate::render::endpoint_plan(&e, &rendered[1..])
        .unwrap()
        .unwrap();
    assert_eq!(
        plan.subnets,
        ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    );
    let c = clients_with(creating_vpc(), &[]);
    let (params, notes) = crate::deploy::reach::endpoint_parameters(&c, &e, &plan, None)
        .await
        .unwrap();
    assert_eq!(
        params["EndpointSqsSource"], "found",
        "someone else's serves"
    );
    assert_eq!(
        params["EndpointLogsSource"], "create",
        "one without private DNS does not stand for the service"
    );
    assert_eq!(params["EndpointMonitoringSource"], "create");
    assert_eq!(params["EndpointS3Source"], "create");
    assert_eq!(params["EndpointS3RouteTables"], "rtb-private");
    assert_eq!(params["VpcCidr1"], "10.0.0.0/16");
    assert_eq!(params["VpcCidr2"], "100.64.0.0/16");
    assert_eq!(params["VpcCidr3"], "");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("already has: sqs vpce-sqs")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("per Availability Zone per hour")),
        "{notes:?}"
    );

    // The next deploy: this stack made SQS's endpoint (its resource's physical id is the
    // VPC's SQS endpoint): it stays made, never "found" (which would take it out of the stack).
    let mut state = crate::aws::cfn::stacks::StackState::new(
        DATA,
        aws_sdk_cloudformation::types::StackStatus::UpdateComplete,
    );
    state
        .parameters
        .insert("EndpointSqsSource".into(), "create".into());
    let listed = mock!(Cfn::list_stack_resources).then_output(|| {
        aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput::builder()
            .stack_resource_summaries(
                cfn_types::StackResourceSummary::builder()
                    .logical_resource_id("EndpointSqs")
                    .physical_resource_id("vpce-sqs")
                    .resource_type("AWS::EC2::VPCEndpoint")
                    .resource_status(cfn_types::ResourceStatus::CreateComplete)
                    .build(),
            )
            .build()
    });
    let c = clients_with(creating_vpc(), &[&listed]);
    let (params, _) = crate::deploy::reach::endpoint_parameters(&c, &e, &plan, Some(&state))
        .await
        .unwrap();
    assert_eq!(params["EndpointSqsSource"], "create");
    assert_eq!(listed.num_calls(), 1);
}

/// Private DNS needs the VPC's DNS hostnames on: refused at the key, before any change.
#[tokio::test]
async fn mocked_a_vpc_without_dns_hostnames_is_refused_at_the_key() {
    let e = env(&CREATING.replace("vpc-0123456789abcdef0", "vpc-0123456789abcdef9"));
    let rendered = crate::render::render(&e).unwrap();
    let plan = crate::render::endpoint_plan(&e, &rendered[1..])
        .unwrap()
        .unwrap();
    let c = clients_with(creating_vpc(), &[]);
    let err = crate::deploy::reach::endpoint_parameters(&c, &e, &plan, None)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("workers.network.endpoints"), "{text}");
    assert!(text.contains("enableDnsHostnames off"), "{text}");
    assert!(text.contains("--enable-dns-hostnames"), "{text}");
}

#[test]
fn a_gateway_endpoint_is_made_for_the_tables_no_other_one_is_in() {
    use crate::deploy::reach::{Decision, decide};
    let gw = |id: &str, tables: &[&str]| crate::aws::network::Endpoint {
        id: id.into(),
        service: "s3".into(),
        kind: "Gateway".into(),
        state: "available".into(),
        private_dns: false,
        route_tables: tables.iter().map(|t| t.to_string()).collect(),
        tags: Default::default(),
        vpc: "vpc-1".into(),
    };
    let tables = ["rtb-a".to_string(), "rtb-b".to_string()];
    assert_eq!(
        decide("s3", &[gw("vpce-x", &["rtb-a"])], &tables, None),
        Decision::Create(vec!["rtb-b".into()])
    );
    assert_eq!(
        decide("s3", &[gw("vpce-x", &["rtb-a", "rtb-b"])], &tables, None),
        Decision::Found
    );
    // This stack's own is not another's: it keeps both tables.
    assert_eq!(
        decide(
            "s3",
            &[gw("vpce-x", &["rtb-a", "rtb-b"])],
            &tables,
            Some("vpce-x")
        ),
        Decision::Create(tables.to_vec())
    );
}

#[tokio::test]
async fn mocked_with_endpoints_create_the_fleet_counts_on_those_the_data_stack_makes() {
    let e = env(CREATING);
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let rd = describe_sequence(
        DATA,
        vec![stack(&d, StackStatus::UpdateComplete, false, false)],
    );
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::UpdateComplete, true, false)],
    );
    let (cc, cs, dcs) = (
        create_cs(),
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![("Add", "EndpointLogs", "AWS::EC2::VPCEndpoint", None)],
        ),
        delete_cs(),
    );
    let c = clients_with(creating_vpc(), &[&rd, &rf, &cc, &cs, &dcs]);
    let o = deploy(&c, &e, Mode::Plan, &opts(true)).await;
    assert!(o.ok, "{o:?}");
    let fleet = o.stacks.iter().find(|s| s.stack == FLEET).unwrap();
    assert!(
        fleet.notes[0].contains("logs (made by qfleet-mk-data)"),
        "{:?}",
        fleet.notes
    );
    assert!(fleet.notes[0].contains("sqs vpce-sqs"), "{:?}", fleet.notes);
    let data = o.stacks.iter().find(|s| s.stack == DATA).unwrap();
    assert!(
        data.notes
            .iter()
            .any(|n| n.contains("makes (or keeps) the endpoints for")),
        "{:?}",
        data.notes
    );
}
