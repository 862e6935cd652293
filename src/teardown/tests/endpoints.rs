//! The endpoints `workers.network.endpoints: create` made, after the data stack is gone
//! (SDK-level fakes: moto's CloudFormation drops the endpoints' tags). Kept unless asked;
//! deleted with their group and prefix list with `--delete-endpoints`.

use super::*;
use crate::aws::fake::Fake;

const NS: &str = "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"";

/// EC2 with the environment's two endpoints and their group in vpc-1, and `interfaces` in the
/// VPC (id, type). Deletions are answered as AWS does; the group is in use for the first
/// `busy` tries.
fn ec2(interfaces: &'static [(&'static str, &'static str)], busy: usize) -> Fake {
    let tries = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Fake::new(move |r| {
        let body = match r.param("Action").unwrap_or_default() {
            "DescribeVpcEndpoints" => {
                assert_eq!(r.param("Filter.1.Name"), Some("tag:qfleet:environment"));
                let one = |id: &str, service: &str, kind: &str| {
                    format!(
                        "<item><vpcEndpointId>{id}</vpcEndpointId><vpcEndpointType>{kind}</vpcEndpointType><vpcId>vpc-1</vpcId><serviceName>com.amazonaws.eu-west-1.{service}</serviceName><state>available</state><tagSet><item><key>qfleet:environment</key><value>td</value></item></tagSet></item>"
                    )
                };
                format!(
                    "<DescribeVpcEndpointsResponse {NS}><vpcEndpointSet>{}{}</vpcEndpointSet></DescribeVpcEndpointsResponse>",
                    one("vpce-sqs", "sqs", "Interface"),
                    one("vpce-s3", "s3", "Gateway")
                )
            }
            "DescribeSecurityGroups" => format!(
                "<DescribeSecurityGroupsResponse {NS}><securityGroupInfo><item><groupId>sg-ep</groupId><vpcId>vpc-1</vpcId></item></securityGroupInfo></DescribeSecurityGroupsResponse>"
            ),
            "DescribeManagedPrefixLists" => format!(
                "<DescribeManagedPrefixListsResponse {NS}><prefixListSet><item><prefixListId>pl-ep</prefixListId><tagSet><item><key>qfleet:environment</key><value>td</value></item></tagSet></item><item><prefixListId>pl-other</prefixListId><tagSet><item><key>qfleet:environment</key><value>other</value></item></tagSet></item></prefixListSet></DescribeManagedPrefixListsResponse>"
            ),
            "DeleteManagedPrefixList" => format!(
                "<DeleteManagedPrefixListResponse {NS}><prefixList><prefixListId>pl-ep</prefixListId></prefixList></DeleteManagedPrefixListResponse>"
            ),
            "DescribeNetworkInterfaces" => {
                let items: String = interfaces
                    .iter()
                    .map(|(id, kind)| format!("<item><networkInterfaceId>{id}</networkInterfaceId><vpcId>vpc-1</vpcId><interfaceType>{kind}</interfaceType></item>"))
                    .collect();
                format!(
                    "<DescribeNetworkInterfacesResponse {NS}><networkInterfaceSet>{items}</networkInterfaceSet></DescribeNetworkInterfacesResponse>"
                )
            }
            "DeleteVpcEndpoints" => format!(
                "<DeleteVpcEndpointsResponse {NS}><unsuccessful/></DeleteVpcEndpointsResponse>"
            ),
            "DeleteSecurityGroup" => {
                if tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < busy {
                    return (
                        400,
                        crate::aws::fake::error(
                            "DependencyViolation",
                            "resource sg-ep has a dependent object",
                        ),
                    );
                }
                format!(
                    "<DeleteSecurityGroupResponse {NS}><return>true</return></DeleteSecurityGroupResponse>"
                )
            }
            other => panic!("{other} not expected"),
        };
        (200, body)
    })
}

fn clients(fake: &Fake) -> Clients {
    crate::aws::mock::Rules {
        ec2: Some(fake.clone()),
        ..Default::default()
    }
    .clients()
}

async fn tidy(fake: &Fake, delete_endpoints: bool) -> TeardownOutcome {
    let e = env();
    let o = Options {
        delete_endpoints,
        ..opts()
    };
    let r = reporter();
    let at = Ctx {
        clients: &clients(fake),
        env: &e,
        opts: &o,
        reporter: &r,
    };
    let mut out = TeardownOutcome::new("td");
    out.retained.push(
        "AWS::EC2::VPCEndpoint vpce-sqs (EndpointSqs, DeletionPolicy RetainExceptOnCreate)".into(),
    );
    super::super::endpoints::tidy(&at, &mut out).await.unwrap();
    out
}

fn asked(fake: &Fake) -> Vec<String> {
    fake.requests()
        .iter()
        .filter_map(|r| r.param("Action").map(str::to_string))
        .collect()
}

#[tokio::test]
async fn mocked_endpoints_are_kept_and_said_unless_asked_for_they_serve_the_whole_vpc() {
    let fake = ec2(&[("eni-ep1", "vpc_endpoint")], 0);
    let out = tidy(&fake, false).await;
    assert!(out.endpoints_deleted.is_empty());
    assert_eq!(
        out.endpoints_kept,
        ["vpce-sqs", "vpce-s3", "sg-ep", "pl-ep"]
    );
    let asked = asked(&fake);
    assert!(!asked.iter().any(|a| a.starts_with("Delete")), "{asked:?}");
}

#[tokio::test]
async fn mocked_asked_the_endpoints_go_then_their_group_once_free_then_the_prefix_list() {
    let fake = ec2(&[("eni-ep1", "vpc_endpoint"), ("eni-db", "interface")], 2);
    let out = tidy(&fake, true).await;
    assert_eq!(
        out.endpoints_deleted,
        ["vpce-sqs", "vpce-s3", "sg-ep", "pl-ep"]
    );
    assert!(out.endpoints_kept.is_empty());
    assert!(out.retained.is_empty(), "{:?}", out.retained);
    let asked = asked(&fake);
    let deletes: Vec<&String> = asked.iter().filter(|a| a.starts_with("Delete")).collect();
    // Tried again while the endpoints' interfaces went; the list last, once no group uses it.
    assert_eq!(
        deletes,
        [
            "DeleteVpcEndpoints",
            "DeleteSecurityGroup",
            "DeleteSecurityGroup",
            "DeleteSecurityGroup",
            "DeleteManagedPrefixList"
        ]
    );
}
