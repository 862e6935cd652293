//! Deploy-time discovery of the default VPC's subnets (`workers.network: default`).

use super::Result;
use super::ec2::{Ec2, Filter};
use super::error::AwsError;
use std::collections::{BTreeMap, BTreeSet};

/// The VPC and one subnet per availability zone the workers run in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub vpc: String,
    /// Availability zone → subnet id.
    pub subnets: BTreeMap<String, String>,
}

impl Placement {
    pub fn subnet_list(&self) -> String {
        self.subnets.values().cloned().collect::<Vec<_>>().join(",")
    }
}

/// The default VPC and its default subnet in each availability zone that offers at least one
/// of `instance_types` (at least two zones).
pub async fn default_placement(
    ec2: &Ec2,
    region: &str,
    instance_types: &[&str],
) -> Result<Placement> {
    let instance_type = instance_types.join(" or ");
    let vpcs = ec2
        .describe(
            "finding the default VPC",
            "DescribeVpcs",
            "vpcSet",
            &[],
            &[filter("is-default", ["true"])],
        )
        .await?;
    let vpc = vpcs
        .first()
        .and_then(|v| v.get("vpcId"))
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            AwsError::new(format!(
                "{region} has no default VPC; set workers.network to a VPC and its subnets in the stack file"
            ))
        })?
        .to_string();
    let subnets = ec2
        .describe(
            "listing the default VPC's subnets",
            "DescribeSubnets",
            "subnetSet",
            &[],
            &[
                filter("vpc-id", [vpc.as_str()]),
                filter("default-for-az", ["true"]),
            ],
        )
        .await?;
    let mut by_az: BTreeMap<String, String> = BTreeMap::new();
    for s in &subnets {
        if let (Some(az), Some(id)) = (s.get("availabilityZone"), s.get("subnetId"))
            && !az.is_empty()
            && !id.is_empty()
        {
            by_az
                .entry(az.to_string())
                .or_insert_with(|| id.to_string());
        }
    }
    if by_az.len() < 2 {
        return Err(AwsError::new(format!(
            "the default VPC {vpc} in {region} has default subnets in {} availability zone(s); the fleet needs at least 2. Create default subnets (aws ec2 create-default-subnet) or set workers.network in the stack file",
            by_az.len()
        )));
    }
    // Not every instance type is offered in every zone: a group whose subnets include a zone
    // without the type fails every launch there. Tasks on Fargate name no instance type.
    if instance_types.is_empty() {
        return Ok(Placement {
            vpc,
            subnets: by_az,
        });
    }
    let offered = zones_offering(ec2, instance_types, by_az.keys()).await?;
    let missing: Vec<String> = by_az
        .keys()
        .filter(|az| !offered.contains(*az))
        .cloned()
        .collect();
    by_az.retain(|az, _| offered.contains(az));
    if by_az.len() < 2 {
        return Err(AwsError::new(format!(
            "{instance_type} is offered in {} of the default VPC's availability zones in {region} (not in {}); the fleet needs at least 2. Choose another workers.instance_type or set workers.network",
            by_az.len(),
            missing.join(", ")
        )));
    }
    Ok(Placement {
        vpc,
        subnets: by_az,
    })
}

fn filter<'a, const N: usize>(name: &'a str, values: [&str; N]) -> Filter<'a> {
    Filter {
        name,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

/// The availability zones among `zones` that offer any of `instance_types`
/// (DescribeInstanceTypeOfferings with the availability-zone location type).
async fn zones_offering<'a>(
    ec2: &Ec2,
    instance_types: &[&str],
    zones: impl Iterator<Item = &'a String>,
) -> Result<BTreeSet<String>> {
    let what = instance_types.join(", ");
    let offerings = ec2
        .describe(
            &format!("finding the availability zones that offer {what}"),
            "DescribeInstanceTypeOfferings",
            "instanceTypeOfferingSet",
            &[("LocationType", "availability-zone")],
            &[
                Filter {
                    name: "instance-type",
                    values: instance_types.iter().map(|t| t.to_string()).collect(),
                },
                Filter {
                    name: "location",
                    values: zones.cloned().collect(),
                },
            ],
        )
        .await?;
    Ok(offerings
        .iter()
        .filter(|o| {
            o.get("instanceType")
                .is_some_and(|t| instance_types.contains(&t.as_str()))
        })
        .filter_map(|o| o.get("location").filter(|z| !z.is_empty()).cloned())
        .collect())
}

/// The security groups among `ids` that exist in the Region, each with its VPC
/// (DescribeSecurityGroups filtered by `group-id`: an id that does not exist is left out, not
/// an error; <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSecurityGroups.html>).
pub async fn security_groups(ec2: &Ec2, ids: &[String]) -> Result<BTreeMap<String, String>> {
    let groups = ec2
        .describe(
            "reading the security groups the stack file names",
            "DescribeSecurityGroups",
            "securityGroupInfo",
            &[],
            &[Filter {
                name: "group-id",
                values: ids.to_vec(),
            }],
        )
        .await?;
    Ok(groups
        .into_iter()
        .filter_map(|g| Some((g.get("groupId")?.clone(), g.get("vpcId")?.clone())))
        .collect())
}

/// The active VPC peering connections that join `a` and `b`, either one the requester, by id
/// (DescribeVpcPeeringConnections filtered by `status-code` `active` and by each side's
/// `vpc-id`, <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcPeeringConnections.html>).
/// The filters ask for both VPCs on each side; a connection in the answer is kept only when it
/// says so itself: its status `active`, its two sides `a` and `b` (a connection of a VPC with
/// itself is none). Positive evidence only: a filter not applied never makes one active.
pub async fn active_peerings(ec2: &Ec2, a: &str, b: &str) -> Result<Vec<String>> {
    let found = ec2
        .describe(
            &format!("reading the VPC peering connections between {a} and {b}"),
            "DescribeVpcPeeringConnections",
            "vpcPeeringConnectionSet",
            &[],
            &[
                filter("status-code", ["active"]),
                filter("requester-vpc-info.vpc-id", [a, b]),
                filter("accepter-vpc-info.vpc-id", [a, b]),
            ],
        )
        .await?;
    let mut ids: Vec<String> = found
        .into_iter()
        .filter(|p| p.get("status.code").map(String::as_str) == Some("active"))
        .filter(|p| {
            let side = |k: &str| p.get(&format!("{k}.vpcId")).map(String::as_str);
            matches!(
                (side("requesterVpcInfo"), side("accepterVpcInfo")),
                (Some(r), Some(c)) if (r == a && c == b) || (r == b && c == a)
            )
        })
        .filter_map(|p| p.get("vpcPeeringConnectionId").cloned())
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The transit gateways both `a` and `b` have an available VPC attachment to
/// (DescribeTransitGatewayAttachments filtered by `resource-type` `vpc`, `resource-id` and
/// `state` `available`,
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTransitGatewayAttachments.html>).
/// An account lists the attachments of its own VPCs, and the transit gateway's owner every
/// attachment to it.
pub async fn shared_transit_gateways(ec2: &Ec2, a: &str, b: &str) -> Result<Vec<String>> {
    let found = ec2
        .describe(
            &format!("reading the transit gateway attachments of {a} and {b}"),
            "DescribeTransitGatewayAttachments",
            "transitGatewayAttachments",
            &[],
            &[
                filter("resource-type", ["vpc"]),
                filter("resource-id", [a, b]),
                filter("state", ["available"]),
            ],
        )
        .await?;
    let attached = |vpc: &str| -> BTreeSet<String> {
        found
            .iter()
            .filter(|t| t.get("resourceId").map(String::as_str) == Some(vpc))
            .filter(|t| t.get("state").map(String::as_str) == Some("available"))
            .filter_map(|t| t.get("transitGatewayId").cloned())
            .collect()
    };
    Ok(attached(a).intersection(&attached(b)).cloned().collect())
}

/// The subnets among `ids` that exist in the Region, each with its VPC and availability zone
/// (DescribeSubnets filtered by `subnet-id`: an id that does not exist is left out;
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSubnets.html>).
pub async fn subnets(ec2: &Ec2, ids: &[String]) -> Result<BTreeMap<String, (String, String)>> {
    let found = ec2
        .describe(
            "reading the subnets the stack file names",
            "DescribeSubnets",
            "subnetSet",
            &[],
            &[Filter {
                name: "subnet-id",
                values: ids.to_vec(),
            }],
        )
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|s| {
            Some((
                s.get("subnetId")?.clone(),
                (s.get("vpcId")?.clone(), s.get("availabilityZone")?.clone()),
            ))
        })
        .collect())
}

/// Whether the VPC `id` exists in the Region (DescribeVpcs filtered by `vpc-id`;
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcs.html>).
pub async fn vpc_exists(ec2: &Ec2, id: &str) -> Result<bool> {
    let found = ec2
        .describe(
            "reading the VPC the stack file names",
            "DescribeVpcs",
            "vpcSet",
            &[],
            &[filter("vpc-id", [id])],
        )
        .await?;
    Ok(found
        .iter()
        .any(|v| v.get("vpcId").map(String::as_str) == Some(id)))
}

/// The IPv4 CIDR blocks of `vpc`: its primary block and those associated with it
/// (DescribeVpcs; <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Vpc.html>).
pub async fn vpc_cidrs(ec2: &Ec2, vpc: &str) -> Result<Vec<String>> {
    let found = ec2
        .describe(
            "reading the CIDR blocks of the workers' VPC",
            "DescribeVpcs",
            "vpcSet",
            &[],
            &[filter("vpc-id", [vpc])],
        )
        .await?;
    let Some(v) = found
        .iter()
        .find(|v| v.get("vpcId").map(String::as_str) == Some(vpc))
    else {
        return Err(AwsError::new(format!("VPC {vpc} was not found")));
    };
    let mut cidrs: Vec<String> = Vec::new();
    let primary = v.get("cidrBlock").into_iter().cloned();
    // A block being disassociated (or failed) no longer holds the VPC's addresses.
    let associated = (1..)
        .map_while(|n| {
            let key = format!("cidrBlockAssociationSet.{n}");
            let cidr = v.get(&format!("{key}.cidrBlock"))?;
            let state = v.get(&format!("{key}.cidrBlockState.state"));
            Some(
                state
                    .is_none_or(|s| s == "associated" || s == "associating")
                    .then(|| cidr.clone()),
            )
        })
        .flatten();
    for c in primary.chain(associated) {
        if !c.is_empty() && !cidrs.contains(&c) {
            cidrs.push(c);
        }
    }
    Ok(cidrs)
}

/// The endpoints, security groups and prefix lists of the Region tagged
/// `qfleet:environment` = `env` (Describe… filtered by `tag:qfleet:environment`): what an
/// environment's data stack made with `workers.network.endpoints: create`, and keeps after
/// the stack is gone. Groups and prefix lists are also filtered by their `Name` tag,
/// `group_name`.
pub async fn made_for(ec2: &Ec2, region: &str, env: &str, group_name: &str) -> Result<Made> {
    let tag = |key: &'static str, value: &str| Filter {
        name: key,
        values: vec![value.to_string()],
    };
    let found = ec2
        .describe(
            "finding the VPC endpoints the environment made",
            "DescribeVpcEndpoints",
            "vpcEndpointSet",
            &[],
            &[tag("tag:qfleet:environment", env)],
        )
        .await?;
    let prefix = format!("com.amazonaws.{region}.");
    let endpoints = found
        .iter()
        .filter(|e| {
            // The answer says each endpoint's tags: only this environment's count.
            let tags = indexed(e, "tagSet", Some("key")).into_iter().zip(indexed(
                e,
                "tagSet",
                Some("value"),
            ));
            tags.into_iter()
                .any(|(k, v)| k == "qfleet:environment" && v == env)
        })
        .filter_map(|e| endpoint(e, &prefix))
        .filter(|e| !matches!(e.state.as_str(), "deleted" | "deleting"))
        .collect();
    let groups = ec2
        .describe(
            "finding the security group of the environment's VPC endpoints",
            "DescribeSecurityGroups",
            "securityGroupInfo",
            &[],
            &[
                tag("tag:qfleet:environment", env),
                tag("tag:Name", group_name),
            ],
        )
        .await?;
    let groups = groups
        .into_iter()
        .filter_map(|g| Some((g.get("groupId")?.clone(), g.get("vpcId")?.clone())))
        .collect();
    // DescribeManagedPrefixLists filters by name, not by tag
    // (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeManagedPrefixLists.html>):
    // the list's name is the group's, and its tags say whose it is.
    let lists = ec2
        .describe(
            "finding the prefix list of the environment's VPC endpoints",
            "DescribeManagedPrefixLists",
            "prefixListSet",
            &[],
            &[tag("prefix-list-name", group_name)],
        )
        .await?
        .into_iter()
        .filter(|l| {
            indexed(l, "tagSet", Some("key"))
                .into_iter()
                .zip(indexed(l, "tagSet", Some("value")))
                .any(|(k, v)| k == "qfleet:environment" && v == env)
        })
        .filter_map(|l| l.get("prefixListId").cloned())
        .collect();
    Ok(Made {
        endpoints,
        groups,
        lists,
    })
}

/// What [`made_for`] finds.
#[derive(Debug, Default)]
pub struct Made {
    pub endpoints: Vec<Endpoint>,
    /// Security groups, each with its VPC.
    pub groups: Vec<(String, String)>,
    /// Managed prefix lists (no VPC: a Region's).
    pub lists: Vec<String>,
}

/// The network interfaces in `vpc`, each with its type (`interface`, `vpc_endpoint`,
/// `natGateway`, `lambda`, …; DescribeNetworkInterfaces filtered by `vpc-id`,
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NetworkInterface.html>).
pub async fn interfaces_in(ec2: &Ec2, vpc: &str) -> Result<Vec<(String, String)>> {
    let found = ec2
        .describe(
            "listing the network interfaces of the VPC",
            "DescribeNetworkInterfaces",
            "networkInterfaceSet",
            &[],
            &[filter("vpc-id", [vpc])],
        )
        .await?;
    Ok(found
        .into_iter()
        .filter(|n| n.get("vpcId").is_none_or(|v| v == vpc))
        .filter_map(|n| {
            Some((
                n.get("networkInterfaceId")?.clone(),
                n.get("interfaceType").cloned().unwrap_or_default(),
            ))
        })
        .collect())
}

/// Deletes the endpoints `ids` (DeleteVpcEndpoints: the ids it could not delete come back in
/// `unsuccessful`, each with its error;
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVpcEndpoints.html>).
pub async fn delete_endpoints(ec2: &Ec2, ids: &[String]) -> Result<()> {
    let params: Vec<(String, String)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("VpcEndpointId.{}", i + 1), id.clone()))
        .collect();
    let failed = ec2
        .act(
            "deleting the environment's VPC endpoints",
            "DeleteVpcEndpoints",
            "unsuccessful",
            &params,
        )
        .await?;
    // An endpoint already gone (a teardown run again) is what was asked; any other item EC2
    // lists did not go, with or without its id.
    let said: Vec<String> = failed
        .iter()
        .filter(|f| {
            f.get("error.code").map(String::as_str) != Some("InvalidVpcEndpointId.NotFound")
        })
        .map(|f| {
            format!(
                "{} ({})",
                f.get("resourceId").map_or("an endpoint", String::as_str),
                f.get("error.message")
                    .map_or("no reason given", String::as_str)
            )
        })
        .collect();
    match said.is_empty() {
        true => Ok(()),
        false => Err(AwsError::new(format!(
            "EC2 did not delete the VPC endpoints {}",
            said.join(", ")
        ))),
    }
}

/// Deletes the managed prefix list `id`; one already gone is deleted
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteManagedPrefixList.html>).
pub async fn delete_prefix_list(ec2: &Ec2, id: &str) -> Result<()> {
    match ec2
        .act(
            &format!("deleting prefix list {id}"),
            "DeleteManagedPrefixList",
            "prefixList",
            &[("PrefixListId".to_string(), id.to_string())],
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("InvalidPrefixListID.NotFound") => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether `vpc` has DNS resolution and DNS hostnames on, as private DNS for an interface
/// endpoint needs ("To use private DNS, you must enable DNS hostnames and DNS resolution for
/// your VPC", <https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html>;
/// DescribeVpcAttribute, <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcAttribute.html>).
/// An attribute the answer does not give is `None`: not known, not off.
pub async fn dns_attributes(ec2: &Ec2, vpc: &str) -> Result<[(&'static str, Option<bool>); 2]> {
    let mut out = [("enableDnsSupport", None), ("enableDnsHostnames", None)];
    for (name, value) in out.iter_mut() {
        let text = ec2
            .value(
                &format!("reading {name} of VPC {vpc}"),
                "DescribeVpcAttribute",
                &[
                    ("VpcId".to_string(), vpc.to_string()),
                    ("Attribute".to_string(), name.to_string()),
                ],
                [*name, "value"],
            )
            .await?;
        *value = text.map(|t| t == "true");
    }
    Ok(out)
}

/// Deletes the security group `id`: `false` while a network interface still wears it
/// (DeleteSecurityGroup refuses with `DependencyViolation`,
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html>).
pub async fn delete_group(ec2: &Ec2, id: &str) -> Result<bool> {
    match ec2
        .act(
            &format!("deleting security group {id}"),
            "DeleteSecurityGroup",
            "return",
            &[("GroupId".to_string(), id.to_string())],
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("InvalidGroup.NotFound") => Ok(true),
        Err(e) if e.code() == Some("DependencyViolation") => Ok(false),
        Err(e) => Err(e),
    }
}

/// The managed prefix lists among `ids` that exist in the Region
/// (DescribeManagedPrefixLists filtered by `prefix-list-id`;
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeManagedPrefixLists.html>).
pub async fn prefix_lists(ec2: &Ec2, ids: &[String]) -> Result<BTreeSet<String>> {
    let lists = ec2
        .describe(
            "reading the prefix lists the stack file names",
            "DescribeManagedPrefixLists",
            "prefixListSet",
            &[],
            &[Filter {
                name: "prefix-list-id",
                values: ids.to_vec(),
            }],
        )
        .await?;
    Ok(lists
        .into_iter()
        .filter_map(|l| l.get("prefixListId").cloned())
        .collect())
}

/// Where a subnet's traffic to the internet goes: its route table (the one associated with it,
/// or the VPC's main route table for a subnet without an association) and the target of its
/// active route to `0.0.0.0/0`, if any
/// (<https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html>: "Subnets that
/// you do not explicitly associate with a route table are implicitly associated with the main
/// route table").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WayOut {
    pub route_table: String,
    /// `nat-…`, `igw-…`, `tgw-…`, `eni-…`, `i-…`, `pcx-…`; `None` without an active default
    /// route (a blackhole route leads nowhere).
    pub target: Option<String>,
}

impl WayOut {
    /// The default route leads to an internet gateway: only a worker with a public IP address
    /// goes out through it.
    pub fn internet_gateway(&self) -> bool {
        self.target
            .as_deref()
            .is_some_and(|t| t.starts_with("igw-"))
    }
}

/// The targets a route names, in the order DescribeRouteTables' `Route` lists them
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Route.html>).
const ROUTE_TARGETS: &[&str] = &[
    "natGatewayId",
    "gatewayId",
    "transitGatewayId",
    "instanceId",
    "networkInterfaceId",
    "vpcPeeringConnectionId",
    "carrierGatewayId",
    "localGatewayId",
    "coreNetworkArn",
];

/// The way out of each of `subnets` (DescribeRouteTables filtered by `vpc-id`;
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html>). A
/// subnet with neither its own table nor a main one is left out: the caller says it could not
/// be read, never "no way out".
pub async fn ways_out(
    ec2: &Ec2,
    vpc: &str,
    subnets: &[String],
) -> Result<BTreeMap<String, WayOut>> {
    let tables = ec2
        .describe(
            "reading the route tables of the workers' VPC",
            "DescribeRouteTables",
            "routeTableSet",
            &[],
            &[filter("vpc-id", [vpc])],
        )
        .await?;
    let mut main = None;
    let mut by_subnet = BTreeMap::new();
    for t in &tables {
        let Some(id) = t.get("routeTableId") else {
            continue;
        };
        let way = WayOut {
            route_table: id.clone(),
            target: default_route(t),
        };
        for n in 1.. {
            let key = format!("associationSet.{n}");
            if !t.contains_key(&format!("{key}.routeTableAssociationId"))
                && !t.contains_key(&format!("{key}.main"))
            {
                break;
            }
            if t.get(&format!("{key}.main")).map(String::as_str) == Some("true") {
                main = Some(way.clone());
            }
            if let Some(subnet) = t.get(&format!("{key}.subnetId")).filter(|s| !s.is_empty()) {
                by_subnet.insert(subnet.clone(), way.clone());
            }
        }
    }
    Ok(subnets
        .iter()
        .filter_map(|s| {
            let way = by_subnet.get(s).or(main.as_ref())?;
            Some((s.clone(), way.clone()))
        })
        .collect())
}

/// The target of a table's active route to `0.0.0.0/0`.
fn default_route(t: &BTreeMap<String, String>) -> Option<String> {
    for n in 1.. {
        let key = format!("routeSet.{n}");
        if !t.keys().any(|k| k.starts_with(&format!("{key}."))) {
            return None;
        }
        let field = |f: &str| t.get(&format!("{key}.{f}")).filter(|v| !v.is_empty());
        if field("destinationCidrBlock").map(String::as_str) != Some("0.0.0.0/0")
            || field("state").is_some_and(|s| s != "active")
        {
            continue;
        }
        if let Some(target) = ROUTE_TARGETS.iter().find_map(|f| field(f)) {
            return Some(target.clone());
        }
    }
    None
}

/// A VPC endpoint as the workers' reach needs it (DescribeVpcEndpoints;
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpcEndpoint.html>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    /// The service's short name: `sqs`, `ecr.dkr` (its full name less `com.amazonaws.REGION.`).
    pub service: String,
    /// `Interface`, `Gateway` or another type.
    pub kind: String,
    /// `available`, `pending`, … (in lower case).
    pub state: String,
    pub private_dns: bool,
    /// The route tables a gateway endpoint's routes are in.
    pub route_tables: Vec<String>,
    /// The tags it carries (`qfleet:environment` names the environment that made it).
    pub tags: BTreeMap<String, String>,
    pub vpc: String,
}

/// The endpoints of `vpc` (DescribeVpcEndpoints filtered by `vpc-id`;
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpoints.html>).
pub async fn vpc_endpoints(ec2: &Ec2, region: &str, vpc: &str) -> Result<Vec<Endpoint>> {
    let found = ec2
        .describe(
            "reading the endpoints of the workers' VPC",
            "DescribeVpcEndpoints",
            "vpcEndpointSet",
            &[],
            &[filter("vpc-id", [vpc])],
        )
        .await?;
    let prefix = format!("com.amazonaws.{region}.");
    Ok(found
        .iter()
        // Each endpoint names its VPC: one of another VPC never serves these workers, whatever
        // the answer holds.
        .filter(|e| e.get("vpcId").is_none_or(|v| v == vpc))
        .filter_map(|e| endpoint(e, &prefix))
        .collect())
}

/// The Availability Zones an endpoint service is offered in, as DescribeVpcEndpointServices
/// answers the account that asks: its zones' names (`availabilityZoneSet`, in the asking
/// account's names) and, where the answer gives them, their ids (`availabilityZoneIdSet`)
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointServices.html>,
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ServiceDetail.html>). A zone's
/// name "might be mapped to a different physical Availability Zone in each AWS account"; its id
/// is the same in every account
/// (<https://docs.aws.amazon.com/vpc/latest/privatelink/create-endpoint-service.html>,
/// Considerations).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfferedZones {
    pub names: Vec<String>,
    pub ids: Vec<String>,
}

/// The interface endpoint services `services` (short names: `sqs`, `ecr.dkr`) of `region`,
/// each with the zones it is offered in: DescribeVpcEndpointServices filtered by `service-type`
/// Interface, every page, each detail kept when its `serviceName` is one of `services`. A
/// service missing from the map is not offered in the Region. The names are matched here, not
/// by the `service-name` filter: one read answers for every service, whatever the Region
/// lacks (and moto 5.2.5 answers that filter with HTTP 500, which would leave the emulator
/// scenarios of `endpoints: create` untested).
pub async fn endpoint_service_zones(
    ec2: &Ec2,
    region: &str,
    services: &[String],
) -> Result<BTreeMap<String, OfferedZones>> {
    if services.is_empty() {
        return Ok(BTreeMap::new());
    }
    let prefix = format!("com.amazonaws.{region}.");
    let found = ec2
        .describe(
            "reading the Availability Zones of the endpoint services the workers call",
            "DescribeVpcEndpointServices",
            "serviceDetailSet",
            &[],
            &[filter("service-type", ["Interface"])],
        )
        .await?;
    let mut out: BTreeMap<String, OfferedZones> = BTreeMap::new();
    for d in &found {
        let Some(short) = d
            .get("serviceName")
            .and_then(|n| n.strip_prefix(&prefix))
            .filter(|s| services.iter().any(|x| x == s))
        else {
            continue;
        };
        let zones = out.entry(short.to_string()).or_default();
        for n in indexed(d, "availabilityZoneSet", None) {
            if !n.is_empty() && !zones.names.contains(&n) {
                zones.names.push(n);
            }
        }
        for id in indexed(d, "availabilityZoneIdSet", None) {
            if !id.is_empty() && !zones.ids.contains(&id) {
                zones.ids.push(id);
            }
        }
    }
    Ok(out)
}

/// The zone (name and id) of each subnet among `ids` that exists (DescribeSubnets filtered by
/// `subnet-id`: `availabilityZone` and `availabilityZoneId`,
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Subnet.html>).
pub async fn subnet_zones(ec2: &Ec2, ids: &[String]) -> Result<BTreeMap<String, SubnetZone>> {
    let found = ec2
        .describe(
            "reading the Availability Zones of the workers' subnets",
            "DescribeSubnets",
            "subnetSet",
            &[],
            &[Filter {
                name: "subnet-id",
                values: ids.to_vec(),
            }],
        )
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|s| {
            let name = s.get("availabilityZone").filter(|z| !z.is_empty())?.clone();
            Some((
                s.get("subnetId")?.clone(),
                SubnetZone {
                    name,
                    id: s
                        .get("availabilityZoneId")
                        .filter(|z| !z.is_empty())
                        .cloned(),
                },
            ))
        })
        .collect())
}

/// A subnet's Availability Zone: its name in this account, and its id where EC2 gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetZone {
    pub name: String,
    pub id: Option<String>,
}

impl OfferedZones {
    /// Whether `zone` is among them: by its id where both sides give ids (the same in every
    /// account), else by its name (the answer's names are the asking account's, as the
    /// subnet's are).
    pub fn offers(&self, zone: &SubnetZone) -> bool {
        match (&zone.id, self.ids.is_empty()) {
            (Some(id), false) => self.ids.contains(id),
            _ => self.names.contains(&zone.name),
        }
    }
}

fn endpoint(e: &BTreeMap<String, String>, prefix: &str) -> Option<Endpoint> {
    let service = e.get("serviceName")?;
    Some(Endpoint {
        id: e.get("vpcEndpointId")?.clone(),
        service: service.strip_prefix(prefix).unwrap_or(service).to_string(),
        kind: e.get("vpcEndpointType").cloned().unwrap_or_default(),
        state: e.get("state").cloned().unwrap_or_default().to_lowercase(),
        private_dns: e.get("privateDnsEnabled").map(String::as_str) == Some("true"),
        route_tables: indexed(e, "routeTableIdSet", None),
        tags: indexed(e, "tagSet", Some("key"))
            .into_iter()
            .zip(indexed(e, "tagSet", Some("value")))
            .collect(),
        vpc: e.get("vpcId").cloned().unwrap_or_default(),
    })
}

/// The values of a flattened set: `set.N` (or `set.N.field`) for N from 1 on.
fn indexed(item: &BTreeMap<String, String>, set: &str, field: Option<&str>) -> Vec<String> {
    (1..)
        .map_while(|n| {
            let key = match field {
                Some(f) => format!("{set}.{n}.{f}"),
                None => format!("{set}.{n}"),
            };
            item.get(&key).cloned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::Rules;
    use crate::signed::fake::Fake;

    const VPCS: &str = "<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><vpcSet><item><vpcId>vpc-1</vpcId><isDefault>true</isDefault></item></vpcSet></DescribeVpcsResponse>";

    fn subnets() -> String {
        let s = |az: &str, id: &str| {
            format!(
                "<item><subnetId>{id}</subnetId><availabilityZone>{az}</availabilityZone><defaultForAz>true</defaultForAz><tagSet><item><key>availabilityZone</key><value>elsewhere</value></item></tagSet></item>"
            )
        };
        format!(
            "<DescribeSubnetsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><subnetSet>{}{}{}</subnetSet></DescribeSubnetsResponse>",
            s("eu-west-1a", "subnet-a"),
            s("eu-west-1b", "subnet-b"),
            s("eu-west-1c", "subnet-c")
        )
    }

    /// EC2 answering the three calls, with `zones` offering the type asked for.
    fn ec2(zones: &'static [&'static str]) -> Fake {
        let subnets = subnets();
        Fake::new(move |r| match r.param("Action") {
            Some("DescribeVpcs") => (200, VPCS.to_string()),
            Some("DescribeSubnets") => (200, subnets.clone()),
            Some("DescribeInstanceTypeOfferings") => {
                let items: String = zones
                    .iter()
                    .map(|z| format!("<item><instanceType>{}</instanceType><locationType>availability-zone</locationType><location>{z}</location></item>", r.param("Filter.1.Value.1").unwrap_or_default()))
                    .collect();
                (
                    200,
                    format!(
                        "<DescribeInstanceTypeOfferingsResponse><requestId>r</requestId><instanceTypeOfferingSet>{items}</instanceTypeOfferingSet></DescribeInstanceTypeOfferingsResponse>"
                    ),
                )
            }
            _ => (
                400,
                crate::signed::fake::error("InvalidAction", "not in this test"),
            ),
        })
    }

    /// EC2's DescribeInstanceTypeOfferings with `LocationType: availability-zone` lists the
    /// zones where a type can be launched; "an instance type might not be available in every
    /// Availability Zone of a Region"
    /// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceTypeOfferings.html,
    /// https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-regions.html).
    #[tokio::test]
    async fn as_aws_documents_default_subnets_in_zones_without_the_instance_type_are_left_out() {
        let two = ec2(&["eu-west-1a", "eu-west-1c"]);
        let clients = Rules {
            ec2: Some(two.clone()),
            ..Default::default()
        }
        .clients();
        let p = default_placement(&clients.ec2, "eu-west-1", &["t3.micro"])
            .await
            .unwrap();
        assert_eq!(p.vpc, "vpc-1");
        assert_eq!(p.subnet_list(), "subnet-a,subnet-c");
        // What was asked: the default VPC, its default subnets, the type in those zones.
        let asked: Vec<Vec<(String, String)>> = two
            .requests()
            .iter()
            .map(|r| {
                r.form
                    .iter()
                    .filter(|(k, _)| k != "Version")
                    .cloned()
                    .collect()
            })
            .collect();
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            asked,
            [
                pairs(&[
                    ("Action", "DescribeVpcs"),
                    ("Filter.1.Name", "is-default"),
                    ("Filter.1.Value.1", "true")
                ]),
                pairs(&[
                    ("Action", "DescribeSubnets"),
                    ("Filter.1.Name", "vpc-id"),
                    ("Filter.1.Value.1", "vpc-1"),
                    ("Filter.2.Name", "default-for-az"),
                    ("Filter.2.Value.1", "true")
                ]),
                pairs(&[
                    ("Action", "DescribeInstanceTypeOfferings"),
                    ("LocationType", "availability-zone"),
                    ("Filter.1.Name", "instance-type"),
                    ("Filter.1.Value.1", "t3.micro"),
                    ("Filter.2.Name", "location"),
                    ("Filter.2.Value.1", "eu-west-1a"),
                    ("Filter.2.Value.2", "eu-west-1b"),
                    ("Filter.2.Value.3", "eu-west-1c")
                ]),
            ]
        );

        let clients = Rules {
            ec2: Some(ec2(&["eu-west-1b"])),
            ..Default::default()
        }
        .clients();
        let err = default_placement(&clients.ec2, "eu-west-1", &["t3.micro"])
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("t3.micro is offered in 1 of the default VPC's availability zones")
                && err.contains("not in eu-west-1a, eu-west-1c"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_region_without_a_default_vpc_is_an_error_that_says_what_to_set() {
        let none = Fake::by_action(&[(
            "DescribeVpcs",
            "<DescribeVpcsResponse><requestId>r</requestId><vpcSet/></DescribeVpcsResponse>",
        )]);
        let clients = Rules {
            ec2: Some(none),
            ..Default::default()
        }
        .clients();
        let err = default_placement(&clients.ec2, "eu-west-1", &[])
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("eu-west-1 has no default VPC; set workers.network"),
            "{err}"
        );
    }

    /// DescribeRouteTables' answer: the main table routes to an internet gateway, one table to a
    /// NAT gateway, one has only a blackhole default route (its NAT gateway was deleted).
    const TABLES: &str = "<DescribeRouteTablesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><routeTableSet>\
<item><routeTableId>rtb-main</routeTableId><vpcId>vpc-1</vpcId><routeSet><item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock><gatewayId>local</gatewayId><state>active</state></item><item><destinationCidrBlock>0.0.0.0/0</destinationCidrBlock><gatewayId>igw-1</gatewayId><state>active</state></item></routeSet><associationSet><item><routeTableAssociationId>rtbassoc-m</routeTableAssociationId><routeTableId>rtb-main</routeTableId><main>true</main></item></associationSet></item>\
<item><routeTableId>rtb-nat</routeTableId><vpcId>vpc-1</vpcId><routeSet><item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock><gatewayId>local</gatewayId><state>active</state></item><item><destinationCidrBlock>0.0.0.0/0</destinationCidrBlock><natGatewayId>nat-1</natGatewayId><state>active</state></item></routeSet><associationSet><item><routeTableAssociationId>rtbassoc-a</routeTableAssociationId><routeTableId>rtb-nat</routeTableId><subnetId>subnet-a</subnetId><main>false</main></item></associationSet></item>\
<item><routeTableId>rtb-dead</routeTableId><vpcId>vpc-1</vpcId><routeSet><item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock><gatewayId>local</gatewayId><state>active</state></item><item><destinationCidrBlock>0.0.0.0/0</destinationCidrBlock><natGatewayId>nat-gone</natGatewayId><state>blackhole</state></item></routeSet><associationSet><item><routeTableAssociationId>rtbassoc-b</routeTableAssociationId><routeTableId>rtb-dead</routeTableId><subnetId>subnet-b</subnetId><main>false</main></item></associationSet></item>\
</routeTableSet></DescribeRouteTablesResponse>";

    /// A subnet uses its own table, else the main one; only an active default route leads out
    /// (https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html,
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Route.html: state
    /// `blackhole` "indicates that the route's target isn't available").
    #[tokio::test]
    async fn as_aws_documents_a_subnet_goes_out_by_its_own_table_or_the_main_one() {
        let fake = Fake::by_action(&[("DescribeRouteTables", TABLES)]);
        let ec2 = Ec2::with_http_client("eu-west-1", fake.client());
        let ids = ["subnet-a", "subnet-b", "subnet-c"].map(String::from);
        let ways = ways_out(&ec2, "vpc-1", &ids).await.unwrap();
        assert_eq!(ways["subnet-a"].target.as_deref(), Some("nat-1"));
        assert_eq!(ways["subnet-b"].route_table, "rtb-dead");
        assert_eq!(ways["subnet-b"].target, None);
        assert_eq!(ways["subnet-c"].route_table, "rtb-main");
        assert!(ways["subnet-c"].internet_gateway());
        assert!(!ways["subnet-a"].internet_gateway());
        assert_eq!(fake.requests()[0].param("Filter.1.Value.1"), Some("vpc-1"));
    }

    #[tokio::test]
    async fn an_endpoint_reads_its_short_service_name_route_tables_and_tags() {
        let xml = "<DescribeVpcEndpointsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><vpcEndpointSet>\
<item><vpcEndpointId>vpce-s3</vpcEndpointId><vpcEndpointType>Gateway</vpcEndpointType><vpcId>vpc-1</vpcId><serviceName>com.amazonaws.eu-west-1.s3</serviceName><state>available</state><routeTableIdSet><item>rtb-nat</item><item>rtb-main</item></routeTableIdSet><privateDnsEnabled>false</privateDnsEnabled><tagSet><item><key>qfleet:environment</key><value>orders</value></item></tagSet></item>\
<item><vpcEndpointId>vpce-dkr</vpcEndpointId><vpcEndpointType>Interface</vpcEndpointType><vpcId>vpc-1</vpcId><serviceName>com.amazonaws.eu-west-1.ecr.dkr</serviceName><state>Available</state><privateDnsEnabled>true</privateDnsEnabled></item>\
</vpcEndpointSet></DescribeVpcEndpointsResponse>";
        let fake = Fake::by_action(&[("DescribeVpcEndpoints", xml)]);
        let ec2 = Ec2::with_http_client("eu-west-1", fake.client());
        let found = vpc_endpoints(&ec2, "eu-west-1", "vpc-1").await.unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].service, "s3");
        assert_eq!(found[0].kind, "Gateway");
        assert_eq!(found[0].route_tables, ["rtb-nat", "rtb-main"]);
        assert_eq!(found[0].tags["qfleet:environment"], "orders");
        assert!(!found[0].private_dns);
        assert_eq!(found[1].service, "ecr.dkr");
        assert_eq!(found[1].state, "available");
        assert!(found[1].private_dns);
        assert!(found[1].route_tables.is_empty());
    }

    /// AWS's VpcPeeringConnection answer: each side's VPC under `requesterVpcInfo` and
    /// `accepterVpcInfo`, the state under `status/code`
    /// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpcPeeringConnection.html).
    /// Every connection is answered, whatever the filters: only one the answer itself says is
    /// active and joins the two VPCs counts.
    #[tokio::test]
    async fn as_aws_documents_a_peering_connection_counts_only_when_its_answer_says_active_between_the_two()
     {
        let pcx = |id: &str, requester: &str, accepter: &str, code: &str| {
            format!(
                "<item><vpcPeeringConnectionId>{id}</vpcPeeringConnectionId><requesterVpcInfo><ownerId>111122223333</ownerId><vpcId>{requester}</vpcId><cidrBlock>10.0.0.0/16</cidrBlock><peeringOptions><allowDnsResolutionFromRemoteVpc>false</allowDnsResolutionFromRemoteVpc></peeringOptions><region>eu-west-1</region></requesterVpcInfo><accepterVpcInfo><ownerId>111122223333</ownerId><vpcId>{accepter}</vpcId><region>eu-west-1</region></accepterVpcInfo><status><code>{code}</code><message>{code}</message></status><tagSet/></item>"
            )
        };
        let xml = format!(
            "<DescribeVpcPeeringConnectionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><vpcPeeringConnectionSet>{}{}{}{}</vpcPeeringConnectionSet></DescribeVpcPeeringConnectionsResponse>",
            pcx("pcx-pending", "vpc-a", "vpc-b", "pending-acceptance"),
            pcx("pcx-third", "vpc-a", "vpc-c", "active"),
            pcx("pcx-self", "vpc-a", "vpc-a", "active"),
            pcx("pcx-ok", "vpc-b", "vpc-a", "active"),
        );
        let fake = Fake::by_action(&[("DescribeVpcPeeringConnections", xml.as_str())]);
        let ec2 = Ec2::with_http_client("eu-west-1", fake.client());
        assert_eq!(
            active_peerings(&ec2, "vpc-a", "vpc-b").await.unwrap(),
            ["pcx-ok"]
        );
        let without = xml.replace("<code>active</code><message>active</message></status><tagSet/></item></vpcPeeringConnectionSet>", "<code>expired</code><message>expired</message></status><tagSet/></item></vpcPeeringConnectionSet>");
        let fake = Fake::by_action(&[("DescribeVpcPeeringConnections", without.as_str())]);
        let ec2 = Ec2::with_http_client("eu-west-1", fake.client());
        assert!(
            active_peerings(&ec2, "vpc-a", "vpc-b")
                .await
                .unwrap()
                .is_empty()
        );
    }

    /// AWS's TransitGatewayAttachment answer: `transitGatewayId`, `resourceId`, `state`
    /// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TransitGatewayAttachment.html).
    #[tokio::test]
    async fn as_aws_documents_a_transit_gateway_is_shared_when_both_vpcs_are_attached_and_available()
     {
        let att = |tgw: &str, vpc: &str, state: &str| {
            format!(
                "<item><transitGatewayAttachmentId>tgw-attach-{vpc}-{tgw}</transitGatewayAttachmentId><transitGatewayId>{tgw}</transitGatewayId><transitGatewayOwnerId>111122223333</transitGatewayOwnerId><resourceOwnerId>111122223333</resourceOwnerId><resourceType>vpc</resourceType><resourceId>{vpc}</resourceId><state>{state}</state><association><transitGatewayRouteTableId>tgw-rtb-1</transitGatewayRouteTableId><state>associated</state></association><creationTime>2024-09-25T00:00:00.000Z</creationTime><tagSet/></item>"
            )
        };
        let xml = format!(
            "<DescribeTransitGatewayAttachmentsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><transitGatewayAttachments>{}{}{}{}{}</transitGatewayAttachments></DescribeTransitGatewayAttachmentsResponse>",
            att("tgw-1", "vpc-a", "available"),
            att("tgw-1", "vpc-b", "available"),
            att("tgw-2", "vpc-a", "available"),
            att("tgw-2", "vpc-b", "pendingAcceptance"),
            att("tgw-3", "vpc-b", "available"),
        );
        let fake = Fake::by_action(&[("DescribeTransitGatewayAttachments", xml.as_str())]);
        let ec2 = Ec2::with_http_client("eu-west-1", fake.client());
        assert_eq!(
            shared_transit_gateways(&ec2, "vpc-a", "vpc-b")
                .await
                .unwrap(),
            ["tgw-1"]
        );
        let asked = fake.requests();
        assert_eq!(asked[0].param("Filter.2.Name"), Some("resource-id"));
        assert_eq!(asked[0].param("Filter.2.Value.1"), Some("vpc-a"));
        assert_eq!(asked[0].param("Filter.2.Value.2"), Some("vpc-b"));
    }

    /// DescribeVpcEndpointServices as the API reference shows its answer
    /// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointServices.html,
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ServiceDetail.html), in an
    /// account of us-east-1 whose us-east-1e is use1-az3, where the service `x` is not offered.
    fn endpoint_services_use1(with_ids: bool) -> String {
        let zones = |names: &[&str], ids: &[&str]| {
            let items = |v: &[&str]| {
                v.iter()
                    .map(|z| format!("<item>{z}</item>"))
                    .collect::<String>()
            };
            let ids = match with_ids {
                true => format!(
                    "<availabilityZoneIdSet>{}</availabilityZoneIdSet>",
                    items(ids)
                ),
                false => String::new(),
            };
            format!(
                "<availabilityZoneSet>{}</availabilityZoneSet>{ids}",
                items(names)
            )
        };
        let detail = |name: &str, z: String| {
            format!(
                "<item><serviceName>com.amazonaws.us-east-1.{name}</serviceName><serviceId>vpce-svc-0{name}</serviceId><serviceType><item><serviceType>Interface</serviceType></item></serviceType>{z}<owner>amazon</owner><baseEndpointDnsNameSet><item>{name}.us-east-1.vpce.amazonaws.com</item></baseEndpointDnsNameSet><privateDnsName>{name}.us-east-1.amazonaws.com</privateDnsName><privateDnsNameSet><item><privateDnsName>{name}.us-east-1.amazonaws.com</privateDnsName></item></privateDnsNameSet><vpcEndpointPolicySupported>true</vpcEndpointPolicySupported><acceptanceRequired>false</acceptanceRequired><managesVpcEndpoints>false</managesVpcEndpoints><privateDnsNameVerificationState>verified</privateDnsNameVerificationState><supportedIpAddressTypeSet><item>ipv4</item></supportedIpAddressTypeSet></item>"
            )
        };
        let all = zones(
            &[
                "us-east-1a",
                "us-east-1b",
                "us-east-1c",
                "us-east-1d",
                "us-east-1e",
                "us-east-1f",
            ],
            &[
                "use1-az1", "use1-az2", "use1-az4", "use1-az6", "use1-az3", "use1-az5",
            ],
        );
        let without_az3 = zones(
            &[
                "us-east-1a",
                "us-east-1b",
                "us-east-1c",
                "us-east-1d",
                "us-east-1f",
            ],
            &["use1-az1", "use1-az2", "use1-az4", "use1-az6", "use1-az5"],
        );
        format!(
            "<DescribeVpcEndpointServicesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><serviceNameSet><item>com.amazonaws.us-east-1.sqs</item><item>com.amazonaws.us-east-1.x</item></serviceNameSet><serviceDetailSet>{}{}</serviceDetailSet></DescribeVpcEndpointServicesResponse>",
            detail("sqs", all),
            detail("x", without_az3)
        )
    }

    #[tokio::test]
    async fn as_aws_documents_an_endpoint_services_zones_are_read_by_name_and_id() {
        let xml = endpoint_services_use1(true);
        let fake = Fake::by_action(&[("DescribeVpcEndpointServices", &xml)]);
        let ec2 = Ec2::with_http_client("us-east-1", fake.client());
        let asked = ["sqs", "x", "kms"].map(String::from);
        let zones = endpoint_service_zones(&ec2, "us-east-1", &asked)
            .await
            .unwrap();
        // kms is not in the answer: not offered in the Region.
        assert_eq!(zones.keys().collect::<Vec<_>>(), ["sqs", "x"]);
        assert_eq!(zones["sqs"].names.len(), 6);
        assert!(!zones["x"].ids.contains(&"use1-az3".to_string()));
        let r = &fake.requests()[0];
        assert_eq!(r.param("Filter.1.Name"), Some("service-type"));
        assert_eq!(r.param("Filter.1.Value.1"), Some("Interface"));
        assert_eq!(r.param("Filter.2.Name"), None);
        // use1-az3 is us-east-1e in this account, and another letter in the next: the id
        // decides where the answer gives ids.
        let az3 = |name: &str| SubnetZone {
            name: name.into(),
            id: Some("use1-az3".into()),
        };
        assert!(!zones["x"].offers(&az3("us-east-1e")));
        assert!(!zones["x"].offers(&az3("us-east-1a")));
        assert!(zones["sqs"].offers(&az3("us-east-1e")));
        // An answer with names only: the account's own names decide.
        let xml = endpoint_services_use1(false);
        let fake = Fake::by_action(&[("DescribeVpcEndpointServices", &xml)]);
        let ec2 = Ec2::with_http_client("us-east-1", fake.client());
        let zones = endpoint_service_zones(&ec2, "us-east-1", &asked)
            .await
            .unwrap();
        assert!(zones["x"].ids.is_empty());
        assert!(!zones["x"].offers(&az3("us-east-1e")));
        assert!(zones["x"].offers(&SubnetZone {
            name: "us-east-1a".into(),
            id: None
        }));
        // No services, no call.
        assert!(
            endpoint_service_zones(&ec2, "us-east-1", &[])
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(fake.requests().len(), 1);
    }

    #[tokio::test]
    async fn a_subnets_zone_is_read_with_its_id() {
        let xml = "<DescribeSubnetsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><subnetSet><item><subnetId>subnet-e</subnetId><vpcId>vpc-1</vpcId><availabilityZone>us-east-1e</availabilityZone><availabilityZoneId>use1-az3</availabilityZoneId></item><item><subnetId>subnet-a</subnetId><vpcId>vpc-1</vpcId><availabilityZone>us-east-1a</availabilityZone></item></subnetSet></DescribeSubnetsResponse>";
        let fake = Fake::by_action(&[("DescribeSubnets", xml)]);
        let ec2 = Ec2::with_http_client("us-east-1", fake.client());
        let z = subnet_zones(&ec2, &["subnet-e".into(), "subnet-a".into()])
            .await
            .unwrap();
        assert_eq!(z["subnet-e"].id.as_deref(), Some("use1-az3"));
        assert_eq!(z["subnet-a"].name, "us-east-1a");
        assert_eq!(z["subnet-a"].id, None);
    }
}
