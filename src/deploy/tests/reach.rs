//! The workers' way to the AWS APIs, found before any change (SDK-level fakes: neither
//! emulator answers DescribeRouteTables and DescribeVpcEndpoints as AWS routes traffic).

use super::*;

const NS: &str = "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"";

/// EC2 answering for [`STACK_FILE`]'s network, its main route table with no default route
/// (private subnets without NAT), and the VPC's endpoints `endpoints` (items).
fn private_vpc(endpoints: &str) -> crate::aws::fake::Fake {
    let network = the_network_of_stack_file();
    let tables = format!(
        "<DescribeRouteTablesResponse {NS}><requestId>r</requestId><routeTableSet><item><routeTableId>rtb-private</routeTableId><routeSet><item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock><gatewayId>local</gatewayId><state>active</state></item></routeSet><associationSet><item><routeTableAssociationId>rtbassoc-1</routeTableAssociationId><main>true</main></item></associationSet></item></routeTableSet></DescribeRouteTablesResponse>"
    );
    let endpoints = format!(
        "<DescribeVpcEndpointsResponse {NS}><requestId>r</requestId><vpcEndpointSet>{endpoints}</vpcEndpointSet></DescribeVpcEndpointsResponse>"
    );
    crate::aws::fake::Fake::new(move |r| match r.param("Action") {
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

fn clients_with(ec2: crate::aws::fake::Fake, rules: &[&Rule]) -> Clients {
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
    // The fleet changes: its workers' way out is checked (an environment deployed as desired
    // reads none of it).
    let o = plan_with_the_fleet_changing(&e, ec2).await;
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
fn creating_vpc() -> crate::aws::fake::Fake {
    let logs_without_dns = "<item><vpcEndpointId>vpce-logs0</vpcEndpointId><vpcEndpointType>Interface</vpcEndpointType><serviceName>com.amazonaws.eu-west-1.logs</serviceName><state>available</state><privateDnsEnabled>false</privateDnsEnabled></item>";
    let inner = private_vpc(&format!("{}{logs_without_dns}", interface("sqs")));
    let vpcs = format!(
        "<DescribeVpcsResponse {NS}><requestId>r</requestId><vpcSet><item><vpcId>vpc-0123456789abcdef0</vpcId><cidrBlock>10.0.0.0/16</cidrBlock><cidrBlockAssociationSet><item><cidrBlock>10.0.0.0/16</cidrBlock></item><item><cidrBlock>100.64.0.0/16</cidrBlock></item></cidrBlockAssociationSet></item></vpcSet></DescribeVpcsResponse>"
    );
    let services = endpoint_services(
        "eu-west-1",
        &[(
            "*",
            &["eu-west-1a", "eu-west-1b", "eu-west-1c"],
            &["euw1-az1", "euw1-az2", "euw1-az3"],
        )],
    );
    crate::aws::fake::Fake::new(move |r| match r.param("Action") {
        Some("DescribeVpcs") => (200, vpcs.clone()),
        Some("DescribeVpcEndpointServices") => (200, services(r)),
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

/// The interface services a Region offers, in the answers below: those the workers call,
/// and others they do not.
const INTERFACE_SERVICES: &[&str] = &[
    "autoscaling",
    "cloudformation",
    "ec2",
    "ec2messages",
    "ecr.api",
    "ecr.dkr",
    "ecs",
    "events",
    "execute-api",
    "kms",
    "lambda",
    "logs",
    "monitoring",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "ssmmessages",
    "states",
    "sts",
];

/// DescribeVpcEndpointServices as the API reference shows its answer
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointServices.html>,
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ServiceDetail.html>): for each
/// every interface service of the Region ([`INTERFACE_SERVICES`] and those `offered` names),
/// its detail with the zones `offered` gives it (`*` for any service not named); a service
/// listed without zones is not offered in the Region, and is left out of the answer.
fn endpoint_services(
    region: &'static str,
    offered: &'static [(
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    )],
) -> impl Fn(&crate::aws::fake::Seen) -> String + Send + Sync + 'static {
    move |r| {
        assert_eq!(r.param("Filter.1.Name"), Some("service-type"));
        assert_eq!(r.param("Filter.1.Value.1"), Some("Interface"));
        let items =
            |v: &[&str]| -> String { v.iter().map(|z| format!("<item>{z}</item>")).collect() };
        let mut details = String::new();
        let mut names = String::new();
        let mut all: Vec<&str> = INTERFACE_SERVICES.to_vec();
        all.extend(offered.iter().map(|(s, _, _)| *s).filter(|s| *s != "*"));
        all.sort();
        all.dedup();
        for short in all {
            let name = &format!("com.amazonaws.{region}.{short}");
            let Some((_, zones, ids)) = offered
                .iter()
                .find(|(s, _, _)| *s == short)
                .or_else(|| offered.iter().find(|(s, _, _)| *s == "*"))
            else {
                continue;
            };
            if zones.is_empty() && ids.is_empty() {
                continue;
            }
            names.push_str(&format!("<item>{name}</item>"));
            let ids = match ids.is_empty() {
                true => String::new(),
                false => format!(
                    "<availabilityZoneIdSet>{}</availabilityZoneIdSet>",
                    items(ids)
                ),
            };
            details.push_str(&format!(
                "<item><serviceName>{name}</serviceName><serviceId>vpce-svc-0{short}</serviceId><serviceType><item><serviceType>Interface</serviceType></item></serviceType><availabilityZoneSet>{}</availabilityZoneSet>{ids}<owner>amazon</owner><baseEndpointDnsNameSet><item>{short}.{region}.vpce.amazonaws.com</item></baseEndpointDnsNameSet><privateDnsName>{short}.{region}.amazonaws.com</privateDnsName><vpcEndpointPolicySupported>true</vpcEndpointPolicySupported><acceptanceRequired>false</acceptanceRequired><managesVpcEndpoints>false</managesVpcEndpoints></item>",
                items(zones)
            ));
        }
        format!(
            "<DescribeVpcEndpointServicesResponse {NS}><requestId>r</requestId><serviceNameSet>{names}</serviceNameSet><serviceDetailSet>{details}</serviceDetailSet></DescribeVpcEndpointServicesResponse>"
        )
    }
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
    let mut state = crate::aws::StackState::new(
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
    let gw = |id: &str, tables: &[&str]| crate::aws::VpcEndpoint {
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

/// us-east-1, where `use1-az3` lacks many services. The account's subnets are keyed by their
/// zone names; `az3` is the name use1-az3 has in this account (names differ per account).
fn use1_vpc(
    az3: &'static str,
    offered: &'static [(
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    )],
) -> crate::aws::fake::Fake {
    let inner = creating_vpc();
    let services = endpoint_services("us-east-1", offered);
    let subnets = format!(
        "<DescribeSubnetsResponse {NS}><requestId>r</requestId><subnetSet><item><subnetId>subnet-0123456789abcdef0</subnetId><vpcId>vpc-0123456789abcdef0</vpcId><availabilityZone>us-east-1b</availabilityZone><availabilityZoneId>use1-az1</availabilityZoneId></item><item><subnetId>subnet-0123456789abcdef1</subnetId><vpcId>vpc-0123456789abcdef0</vpcId><availabilityZone>{az3}</availabilityZone><availabilityZoneId>use1-az3</availabilityZoneId></item></subnetSet></DescribeSubnetsResponse>"
    );
    crate::aws::fake::Fake::new(move |r| match r.param("Action") {
        Some("DescribeVpcEndpointServices") => (200, services(r)),
        Some("DescribeSubnets") => (200, subnets.clone()),
        _ => inner.answer(r),
    })
}

fn use1_env(az3: &str) -> Environment {
    env(&CREATING
        .replace("eu-west-1a", "us-east-1b")
        .replace("eu-west-1b", az3)
        .replace("region: eu-west-1", "region: us-east-1"))
}

async fn use1_parameters(
    e: &Environment,
    fake: crate::aws::fake::Fake,
) -> crate::error::Result<(std::collections::BTreeMap<String, String>, Vec<String>)> {
    let rendered = crate::render::render(e).unwrap();
    let plan = crate::render::endpoint_plan(e, &rendered[1..])
        .unwrap()
        .unwrap();
    let mut c = clients_with(fake, &[]);
    c.region = "us-east-1".into();
    crate::deploy::reach::endpoint_parameters(&c, e, &plan, None).await
}

/// Every service is offered in every zone but `monitoring`, which use1-az3 lacks: its endpoint
/// goes in the other zone only, and the plan says so; the rest go in both. The answer's zone
/// ids decide, whatever the zone's name in this account (us-east-1e here, us-east-1a in
/// another).
#[tokio::test]
async fn as_aws_documents_an_interface_endpoint_goes_only_in_the_zones_that_offer_it() {
    const ALL_ZONES: &[(&str, &[&str], &[&str])] = &[
        (
            "monitoring",
            &[
                "us-east-1a",
                "us-east-1b",
                "us-east-1c",
                "us-east-1d",
                "us-east-1f",
            ],
            &["use1-az6", "use1-az1", "use1-az2", "use1-az4", "use1-az5"],
        ),
        (
            "*",
            &[
                "us-east-1a",
                "us-east-1b",
                "us-east-1c",
                "us-east-1d",
                "us-east-1e",
                "us-east-1f",
            ],
            &[
                "use1-az6", "use1-az1", "use1-az2", "use1-az4", "use1-az3", "use1-az5",
            ],
        ),
    ];
    // In another account use1-az3 is us-east-1a, and the answer names the zones that way.
    const OTHER_ACCOUNT: &[(&str, &[&str], &[&str])] = &[
        (
            "monitoring",
            &[
                "us-east-1b",
                "us-east-1c",
                "us-east-1d",
                "us-east-1e",
                "us-east-1f",
            ],
            &["use1-az1", "use1-az2", "use1-az4", "use1-az6", "use1-az5"],
        ),
        (
            "*",
            &[
                "us-east-1a",
                "us-east-1b",
                "us-east-1c",
                "us-east-1d",
                "us-east-1e",
                "us-east-1f",
            ],
            &[
                "use1-az3", "use1-az1", "use1-az2", "use1-az4", "use1-az6", "use1-az5",
            ],
        ),
    ];
    for (az3, offered) in [("us-east-1e", ALL_ZONES), ("us-east-1a", OTHER_ACCOUNT)] {
        let e = use1_env(az3);
        let fake = use1_vpc(az3, offered);
        let (params, notes) = use1_parameters(&e, fake.clone()).await.unwrap();
        assert_eq!(params["EndpointMonitoringSource"], "create");
        assert_eq!(
            params["EndpointMonitoringSubnets"], "subnet-0123456789abcdef0",
            "{az3}: not in use1-az3"
        );
        let mut both: Vec<&str> = params["EndpointLogsSubnets"].split(',').collect();
        both.sort();
        assert_eq!(
            both,
            ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
        );
        let said = notes
            .iter()
            .find(|n| n.contains("the endpoint for monitoring goes in"))
            .unwrap_or_else(|| panic!("{notes:?}"));
        assert!(
            said.contains(&format!(
                "does not offer com.amazonaws.us-east-1.monitoring in {az3} (use1-az3)"
            )),
            "{said}"
        );
        assert!(
            said.contains("subnet-0123456789abcdef0 (us-east-1b (use1-az1))"),
            "{said}"
        );
        // One read answers for every service; a gateway endpoint is in route tables, not zones.
        let asked = fake
            .requests()
            .iter()
            .filter(|r| r.param("Action") == Some("DescribeVpcEndpointServices"))
            .count();
        assert_eq!(asked, 1);
        assert!(!params.contains_key("EndpointS3Subnets"), "{params:?}");
    }
}

/// A service offered in none of the workers' zones is refused at each subnet's key, with the
/// zones that offer it; one the Region does not offer at `endpoints`; nothing is assumed when
/// the zones cannot be read.
#[tokio::test]
async fn as_aws_documents_a_service_in_none_of_the_workers_zones_is_refused_at_the_subnets_keys() {
    const ELSEWHERE: &[(&str, &[&str], &[&str])] = &[
        (
            "monitoring",
            &["us-east-1c", "us-east-1d"],
            &["use1-az2", "use1-az4"],
        ),
        (
            "*",
            &[
                "us-east-1a",
                "us-east-1b",
                "us-east-1c",
                "us-east-1d",
                "us-east-1e",
                "us-east-1f",
            ],
            &[
                "use1-az6", "use1-az1", "use1-az2", "use1-az4", "use1-az3", "use1-az5",
            ],
        ),
    ];
    let e = use1_env("us-east-1e");
    let Err(crate::error::Error::Input(errors)) =
        use1_parameters(&e, use1_vpc("us-east-1e", ELSEWHERE)).await
    else {
        panic!("expected an input error")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "workers.network.subnets.us-east-1b",
            "workers.network.subnets.us-east-1e"
        ]
    );
    let text = &errors[1].message;
    assert!(
        text.contains("subnet-0123456789abcdef1 is in us-east-1e (use1-az3)"),
        "{text}"
    );
    assert!(
        text.contains("com.amazonaws.us-east-1.monitoring (offered in us-east-1c, us-east-1d (zone ids use1-az2, use1-az4))"),
        "{text}"
    );
    assert!(
        text.contains("Add a subnet in one of those zones"),
        "{text}"
    );
    // The line of the key in the file.
    assert_eq!(errors[1].line, 9, "{:?}", errors[1]);

    // The Region offers no such endpoint service.
    const NOT_IN_REGION: &[(&str, &[&str], &[&str])] = &[
        ("monitoring", &[], &[]),
        (
            "*",
            &["us-east-1b", "us-east-1e"],
            &["use1-az1", "use1-az3"],
        ),
    ];
    let Err(crate::error::Error::Input(errors)) =
        use1_parameters(&e, use1_vpc("us-east-1e", NOT_IN_REGION)).await
    else {
        panic!("expected an input error")
    };
    assert_eq!(errors[0].field, "workers.network.endpoints");
    assert!(
        errors[0].message.contains(
            "AWS offers no interface endpoint com.amazonaws.us-east-1.monitoring in us-east-1"
        ),
        "{}",
        errors[0].message
    );

    // Not allowed to read the services: an error that says what was not checked.
    let inner = use1_vpc("us-east-1e", ELSEWHERE);
    let refused = crate::aws::fake::Fake::new(move |r| match r.param("Action") {
        Some("DescribeVpcEndpointServices") => (
            403,
            crate::aws::fake::error(
                "UnauthorizedOperation",
                "You are not authorized to perform this operation. User: arn:aws:iam::111122223333:user/ci is not authorized to perform: ec2:DescribeVpcEndpointServices",
            ),
        ),
        _ => inner.answer(r),
    });
    let err = use1_parameters(&e, refused).await.unwrap_err().to_string();
    assert!(
        err.contains("reading the Availability Zones of the endpoint services")
            && err.contains("ec2:DescribeVpcEndpointServices"),
        "{err}"
    );
}
