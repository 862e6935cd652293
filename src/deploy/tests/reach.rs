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
    let rf = describe_sequence(
        FLEET,
        vec![stack(&f, StackStatus::UpdateComplete, true, false)],
    );
    let c = clients_with(ec2, &[&rd, &rf]);
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
