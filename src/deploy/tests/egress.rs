//! A group an egress rule names in another VPC than the workers' (`workers.egress.N.
//! security_group`), checked before any change (issue 86, item 4). EC2 answers as AWS documents
//! DescribeSecurityGroups, DescribeVpcPeeringConnections and DescribeTransitGatewayAttachments
//! (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSecurityGroups.html>,
//! <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcPeeringConnections.html>,
//! <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTransitGatewayAttachments.html>),
//! each filter applied as AWS applies it: the values of one filter are alternatives, and every
//! filter must hold.

use super::*;
use crate::aws::{fake::Fake, fake::Seen};
use std::collections::BTreeMap;

const NS: &str = "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"";
const WORKERS_VPC: &str = "vpc-0123456789abcdef0";
const OTHER_VPC: &str = "vpc-0aaaabbbbccccdddd";
const GROUP: &str = "sg-0ddddeeeeffff0000";
/// The file's line of the rule's `security_group` (1-based).
const GROUP_LINE: usize = 11;

fn stack_file() -> String {
    format!("{STACK_FILE}  egress:\n    - port: 5432\n      security_group: {GROUP}\nlab: true\n")
}

/// A filter's values in a Query request (`Filter.N.Name`, `Filter.N.Value.M`), by name.
fn filters(r: &Seen) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for n in 1.. {
        let Some(name) = r.param(&format!("Filter.{n}.Name")) else {
            break;
        };
        let values = (1..)
            .map_while(|m| {
                r.param(&format!("Filter.{n}.Value.{m}"))
                    .map(str::to_string)
            })
            .collect();
        out.insert(name.to_string(), values);
    }
    out
}

/// Whether an item passes every filter of the request, `fields` its value for each filter's
/// name.
fn passes(r: &Seen, fields: &[(&str, &str)]) -> bool {
    filters(r).iter().all(|(name, values)| {
        fields
            .iter()
            .find(|(f, _)| f == name)
            .is_some_and(|(_, v)| values.iter().any(|x| x == v))
    })
}

/// One VPC peering connection, as AWS's VpcPeeringConnection answer has it.
struct Peering {
    id: &'static str,
    requester: &'static str,
    accepter: &'static str,
    status: &'static str,
}

impl Peering {
    fn xml(&self) -> String {
        let side = |vpc: &str| {
            format!(
                "<ownerId>123456789012</ownerId><vpcId>{vpc}</vpcId><cidrBlock>10.0.0.0/16</cidrBlock><peeringOptions><allowDnsResolutionFromRemoteVpc>false</allowDnsResolutionFromRemoteVpc></peeringOptions><region>eu-west-1</region>"
            )
        };
        format!(
            "<item><vpcPeeringConnectionId>{}</vpcPeeringConnectionId><requesterVpcInfo>{}</requesterVpcInfo><accepterVpcInfo>{}</accepterVpcInfo><status><code>{}</code><message>{}</message></status><tagSet/></item>",
            self.id,
            side(self.requester),
            side(self.accepter),
            self.status,
            self.status
        )
    }
}

/// One transit gateway attachment of a VPC.
struct Attachment {
    gateway: &'static str,
    vpc: &'static str,
    state: &'static str,
}

/// EC2 answering for [`STACK_FILE`]'s network, the group [`GROUP`] in `group_vpc`, and the
/// account's `peerings` and transit gateway `attachments` (`None`: the call is refused as
/// `UnauthorizedOperation`, as AWS answers a principal without the permission).
fn ec2(
    group_vpc: &'static str,
    peerings: Option<Vec<Peering>>,
    attachments: Option<Vec<Attachment>>,
) -> Fake {
    let network = the_network_of_stack_file();
    let denied = |action: &str| {
        (
            403,
            crate::aws::fake::error(
                "UnauthorizedOperation",
                &format!("You are not authorized to perform this operation. ({action})"),
            ),
        )
    };
    Fake::new(move |r| match r.param("Action") {
        Some("DescribeSecurityGroups") => {
            let item = format!(
                "<item><ownerId>123456789012</ownerId><groupId>{GROUP}</groupId><groupName>db</groupName><groupDescription>the database</groupDescription><vpcId>{group_vpc}</vpcId><ipPermissions/><ipPermissionsEgress/></item>"
            );
            let items = if passes(r, &[("group-id", GROUP)]) {
                item
            } else {
                String::new()
            };
            (
                200,
                format!(
                    "<DescribeSecurityGroupsResponse {NS}><requestId>r</requestId><securityGroupInfo>{items}</securityGroupInfo></DescribeSecurityGroupsResponse>"
                ),
            )
        }
        Some("DescribeVpcPeeringConnections") => match &peerings {
            None => denied("ec2:DescribeVpcPeeringConnections"),
            Some(list) => {
                let items: String = list
                    .iter()
                    .filter(|p| {
                        passes(
                            r,
                            &[
                                ("status-code", p.status),
                                ("requester-vpc-info.vpc-id", p.requester),
                                ("accepter-vpc-info.vpc-id", p.accepter),
                            ],
                        )
                    })
                    .map(Peering::xml)
                    .collect();
                (
                    200,
                    format!(
                        "<DescribeVpcPeeringConnectionsResponse {NS}><requestId>r</requestId><vpcPeeringConnectionSet>{items}</vpcPeeringConnectionSet></DescribeVpcPeeringConnectionsResponse>"
                    ),
                )
            }
        },
        Some("DescribeTransitGatewayAttachments") => match &attachments {
            None => denied("ec2:DescribeTransitGatewayAttachments"),
            Some(list) => {
                let items: String = list
                    .iter()
                    .filter(|a| {
                        passes(
                            r,
                            &[
                                ("resource-type", "vpc"),
                                ("resource-id", a.vpc),
                                ("state", a.state),
                            ],
                        )
                    })
                    .map(|a| {
                        format!(
                            "<item><transitGatewayAttachmentId>tgw-attach-{}</transitGatewayAttachmentId><transitGatewayId>{}</transitGatewayId><transitGatewayOwnerId>123456789012</transitGatewayOwnerId><resourceOwnerId>123456789012</resourceOwnerId><resourceType>vpc</resourceType><resourceId>{}</resourceId><state>{}</state><association><transitGatewayRouteTableId>tgw-rtb-1</transitGatewayRouteTableId><state>associated</state></association><creationTime>2024-09-25T00:00:00.000Z</creationTime><tagSet/></item>",
                            a.vpc, a.gateway, a.vpc, a.state
                        )
                    })
                    .collect();
                (
                    200,
                    format!(
                        "<DescribeTransitGatewayAttachmentsResponse {NS}><requestId>r</requestId><transitGatewayAttachments>{items}</transitGatewayAttachments></DescribeTransitGatewayAttachmentsResponse>"
                    ),
                )
            }
        },
        _ => network.answer(r),
    })
}

/// Plans [`stack_file`] with a fleet out of date, EC2 answering as `ec2` does.
async fn plan(ec2: Fake) -> EnvOutcome {
    plan_with_the_fleet_changing(&env(&stack_file()), ec2).await
}

/// The one problem of a plan refused at the rule's line, before either stack is touched.
fn refused_at_the_rule(o: &EnvOutcome) -> String {
    assert!(!o.ok, "{o:?}");
    let err = o.error.as_ref().unwrap();
    assert_eq!(o.exit_code, crate::error::Exit::Input, "{err:?}");
    // As `--output json` reports it: each problem with its file, line and field.
    let report = serde_json::to_value(err).unwrap();
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    let p = &problems[0];
    assert_eq!(p["file"], "stacks/mk.yaml");
    assert_eq!(p["field"], "workers.egress.0.security_group");
    assert_eq!(p["line"], GROUP_LINE, "{p}");
    assert!(o.stacks.is_empty(), "{o:?}");
    p["message"].as_str().unwrap().to_string()
}

fn asked(fake: &Fake, action: &str) -> Vec<BTreeMap<String, Vec<String>>> {
    fake.requests()
        .iter()
        .filter(|r| r.param("Action") == Some(action))
        .map(filters)
        .collect()
}

#[test]
fn the_stack_file_names_the_group_at_its_line() {
    let text = stack_file();
    let line = text.lines().nth(GROUP_LINE - 1).unwrap();
    assert_eq!(line.trim(), format!("security_group: {GROUP}"), "{text}");
    let e = env(&text);
    assert_eq!(
        e.spec.workers.egress[0].security_group.as_deref(),
        Some(GROUP)
    );
}

#[tokio::test]
async fn as_aws_documents_a_group_of_the_workers_vpc_is_taken_without_asking_for_peerings() {
    let fake = ec2(WORKERS_VPC, Some(vec![]), Some(vec![]));
    let o = plan(fake.clone()).await;
    assert!(o.ok, "{o:?}");
    assert!(asked(&fake, "DescribeVpcPeeringConnections").is_empty());
    assert_eq!(asked(&fake, "DescribeSecurityGroups").len(), 1);
}

#[tokio::test]
async fn as_aws_documents_a_group_across_an_active_peering_connection_is_taken() {
    // The workers' VPC accepted a connection the group's VPC requested: either side counts.
    let fake = ec2(
        OTHER_VPC,
        Some(vec![Peering {
            id: "pcx-111aaa22",
            requester: OTHER_VPC,
            accepter: WORKERS_VPC,
            status: "active",
        }]),
        Some(vec![]),
    );
    let o = plan(fake.clone()).await;
    assert!(o.ok, "{o:?}");
    let asked = asked(&fake, "DescribeVpcPeeringConnections");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["status-code"], ["active"]);
    for side in ["requester-vpc-info.vpc-id", "accepter-vpc-info.vpc-id"] {
        let mut v = asked[0][side].clone();
        v.sort();
        assert_eq!(v, [WORKERS_VPC, OTHER_VPC], "{side}");
    }
}

#[tokio::test]
async fn as_aws_documents_a_group_in_an_unpeered_vpc_is_refused_at_the_rule_saying_what_to_do() {
    let fake = ec2(OTHER_VPC, Some(vec![]), Some(vec![]));
    let msg = refused_at_the_rule(&plan(fake.clone()).await);
    for want in [
        GROUP,
        OTHER_VPC,
        WORKERS_VPC,
        "active VPC peering connection",
        "Peer the two VPCs and accept the connection",
        "(cidr)",
        "(prefix_list)",
    ] {
        assert!(msg.contains(want), "{want}: {msg}");
    }
    assert!(!msg.contains("transit gateway"), "{msg}");
}

#[tokio::test]
async fn as_aws_documents_a_peering_connection_not_yet_accepted_is_none() {
    // AWS lists it as pending-acceptance: the status-code filter leaves it out.
    let fake = ec2(
        OTHER_VPC,
        Some(vec![Peering {
            id: "pcx-222bbb33",
            requester: WORKERS_VPC,
            accepter: OTHER_VPC,
            status: "pending-acceptance",
        }]),
        Some(vec![]),
    );
    let msg = refused_at_the_rule(&plan(fake).await);
    assert!(msg.contains("no active one joins"), "{msg}");
}

#[tokio::test]
async fn as_aws_documents_an_active_peering_of_other_vpcs_is_not_this_one() {
    // An active connection of the group's VPC with a third VPC joins nothing here.
    let fake = ec2(
        OTHER_VPC,
        Some(vec![Peering {
            id: "pcx-333ccc44",
            requester: OTHER_VPC,
            accepter: "vpc-0999999999999999a",
            status: "active",
        }]),
        Some(vec![]),
    );
    refused_at_the_rule(&plan(fake).await);
}

#[tokio::test]
async fn as_aws_documents_a_shared_transit_gateway_is_named_and_refused_for_an_outbound_rule() {
    let fake = ec2(
        OTHER_VPC,
        Some(vec![]),
        Some(vec![
            Attachment {
                gateway: "tgw-0aaa1111bbbb2222c",
                vpc: WORKERS_VPC,
                state: "available",
            },
            Attachment {
                gateway: "tgw-0aaa1111bbbb2222c",
                vpc: OTHER_VPC,
                state: "available",
            },
            // Another gateway only the workers' VPC is attached to.
            Attachment {
                gateway: "tgw-0ddd3333eeee4444f",
                vpc: WORKERS_VPC,
                state: "available",
            },
        ]),
    );
    let msg = refused_at_the_rule(&plan(fake.clone()).await);
    assert!(
        msg.contains("They share transit gateway tgw-0aaa1111bbbb2222c,"),
        "{msg}"
    );
    assert!(!msg.contains("tgw-0ddd3333eeee4444f"), "{msg}");
    assert!(msg.contains("inbound rules only"), "{msg}");
    let asked = asked(&fake, "DescribeTransitGatewayAttachments");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["resource-type"], ["vpc"]);
    assert_eq!(asked[0]["state"], ["available"]);
}

#[tokio::test]
async fn as_aws_documents_an_attachment_not_available_shares_no_transit_gateway() {
    let fake = ec2(
        OTHER_VPC,
        Some(vec![]),
        Some(vec![
            Attachment {
                gateway: "tgw-0aaa1111bbbb2222c",
                vpc: WORKERS_VPC,
                state: "available",
            },
            Attachment {
                gateway: "tgw-0aaa1111bbbb2222c",
                vpc: OTHER_VPC,
                state: "pendingAcceptance",
            },
        ]),
    );
    let msg = refused_at_the_rule(&plan(fake).await);
    assert!(!msg.contains("share transit gateway"), "{msg}");
}

#[tokio::test]
async fn as_aws_documents_peerings_that_cannot_be_read_refuse_the_plan_never_pass_it() {
    let fake = ec2(OTHER_VPC, None, Some(vec![]));
    let o = plan(fake).await;
    assert!(!o.ok, "{o:?}");
    let err = o.error.as_ref().unwrap();
    assert!(
        err.message.contains(&format!(
            "reading the VPC peering connections between {WORKERS_VPC} and {OTHER_VPC}"
        )) && err.message.contains("access denied"),
        "{err:?}"
    );
    assert!(o.stacks.is_empty(), "{o:?}");
}

#[tokio::test]
async fn as_aws_documents_transit_gateways_that_cannot_be_read_are_said_and_the_rule_still_refused()
{
    let fake = ec2(OTHER_VPC, Some(vec![]), None);
    let msg = refused_at_the_rule(&plan(fake).await);
    assert!(
        msg.contains("Whether they share a transit gateway could not be read")
            && msg.contains("ec2:DescribeTransitGatewayAttachments"),
        "{msg}"
    );
}
