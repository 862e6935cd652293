//! The fleet's network, found and checked before any change: the stack file's VPC and subnets
//! (or the default VPC's, discovered once and kept), and the security groups and prefix lists
//! its settings name.

use super::Options;
use super::desired::FleetNetwork;
use crate::aws::Clients;
use crate::aws::StackState;
use crate::aws::{self, NetworkPlacement as Placement};
use crate::config::{Environment, Network};
use crate::error::Result;

/// The fleet's network: from the stack file, or the default VPC's subnets. Those are
/// discovered when the fleet is first created and kept afterwards (UsePreviousValue), so that a
/// redeploy never moves the fleet and costs no EC2 calls; `--rediscover-network` looks again.
pub(super) async fn fleet_network(
    clients: &Clients,
    env: &Environment,
    state: Option<&StackState>,
    opts: &Options,
) -> Result<FleetNetwork> {
    match &env.spec.workers.network {
        Network::Explicit(net) => Ok(FleetNetwork::Place(Placement {
            vpc: net.vpc.clone(),
            subnets: net.subnets.clone(),
        })),
        Network::Default => {
            let deployed = state.is_some_and(|s| {
                !s.is_review()
                    && !s.is_failed_create()
                    && s.parameters.get("VpcId").is_some_and(|v| !v.is_empty())
                    && s.parameters.get("SubnetIds").is_some_and(|v| !v.is_empty())
            });
            if deployed && !opts.rediscover_network {
                return Ok(FleetNetwork::KeepDeployed);
            }
            // With several types (a mixed instances policy), a zone that offers any of them
            // can launch workers.
            let w = &env.spec.workers;
            let types = match env.kind().unit() {
                Some("instance") => w.types(),
                _ => Vec::new(),
            };
            aws::default_placement(&clients.ec2, &clients.region, &types)
                .await
                .map(FleetNetwork::Place)
                .map_err(Into::into)
        }
    }
}

/// The security groups and prefix lists the stack file names (`workers.security_groups`,
/// `workers.egress`), checked in the workers' Region before any change: each exists, a group
/// the workers wear is in their VPC `vpc`, and a group an egress rule names is in `vpc` or in
/// a VPC joined to it by an active peering connection ([`egress_group_problems`]). One that
/// is not is an error at its own line; a read that fails is an error too, never "fine".
pub(super) async fn check_network_references(
    clients: &Clients,
    env: &Environment,
    vpc: &str,
) -> Result<()> {
    let w = &env.spec.workers;
    let mut groups: Vec<(String, &str, bool)> = w
        .security_groups
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("workers.security_groups.{i}"), id.as_str(), true))
        .collect();
    let mut lists: Vec<(String, &str)> = Vec::new();
    for (i, r) in w.egress.iter().enumerate() {
        if let Some(sg) = &r.security_group {
            groups.push((format!("workers.egress.{i}.security_group"), sg, false));
        }
        if let Some(pl) = &r.prefix_list {
            lists.push((format!("workers.egress.{i}.prefix_list"), pl));
        }
    }
    let mut problems = match &w.network {
        crate::config::Network::Explicit(n) => check_vpc_and_subnets(clients, env, n).await?,
        crate::config::Network::Default => Vec::new(),
    };
    if !groups.is_empty() {
        let ids: Vec<String> = groups.iter().map(|(_, id, _)| id.to_string()).collect();
        let found = aws::security_groups(&clients.ec2, &ids).await?;
        let mut elsewhere: Vec<(&str, &str, &str)> = Vec::new();
        for (field, id, worn) in &groups {
            let why = match found.get(*id) {
                None => format!("security group {id} does not exist in {}", clients.region),
                Some(in_vpc) if *worn && in_vpc != vpc => format!(
                    "security group {id} is in {in_vpc}, and the workers run in {vpc}: a worker wears groups of its own VPC only"
                ),
                Some(in_vpc) if in_vpc != vpc => {
                    elsewhere.push((field, id, in_vpc));
                    continue;
                }
                Some(_) => continue,
            };
            problems.push(env.source.error(field, why));
        }
        for (field, why) in egress_group_problems(clients, vpc, &elsewhere).await? {
            problems.push(env.source.error(field, why));
        }
    }
    if !lists.is_empty() {
        let ids: Vec<String> = lists.iter().map(|(_, id)| id.to_string()).collect();
        let found = aws::prefix_lists(&clients.ec2, &ids).await?;
        for (field, id) in &lists {
            if !found.contains(*id) {
                problems.push(env.source.error(
                    field,
                    format!("prefix list {id} does not exist in {}", clients.region),
                ));
            }
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(crate::error::Error::Input(problems)),
    }
}

/// The egress rules among `rules` (field, group, the group's VPC) whose group, in another VPC
/// than the workers' `vpc`, an outbound rule of theirs cannot name, each with why and what to
/// do instead.
///
/// A rule may name a group of a peer VPC "in the same Region" once "the VPC peering connection
/// [is] in the active state" (inbound or outbound rules; "Update your security groups to
/// reference peer security groups",
/// <https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-security-groups.html>). A
/// transit gateway with security group referencing on carries references in inbound rules
/// only: "Outbound security rules referencing over Transit Gateway aren't supported"
/// ("Security group referencing", <https://docs.aws.amazon.com/vpc/latest/tgw/tgw-vpc-attachments.html#vpc-attachment-security>;
/// <https://aws.amazon.com/blogs/networking-and-content-delivery/introducing-security-group-referencing-for-aws-transit-gateway/>),
/// so a shared transit gateway is named in the refusal, never taken as a way. A group of
/// another Region or account is not found at all (`does not exist`, above).
///
/// Fail closed: a peering connection not found active is none, and a read of them that fails
/// is an error. Only the reference is checked, not the routes over the connection
/// (docs/stack-file.md says so). The transit gateways are read only to say why; a read of
/// them that fails leaves the refusal as it is, saying what could not be read.
async fn egress_group_problems<'f>(
    clients: &Clients,
    vpc: &str,
    rules: &[(&'f str, &str, &str)],
) -> Result<Vec<(&'f str, String)>> {
    let mut peered: std::collections::BTreeMap<&str, bool> = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for (field, id, other) in rules {
        let active = match peered.get(other) {
            Some(a) => *a,
            None => {
                let a = !aws::active_peerings(&clients.ec2, vpc, other)
                    .await?
                    .is_empty();
                peered.insert(other, a);
                a
            }
        };
        if active {
            continue;
        }
        let gateway = match aws::shared_transit_gateways(&clients.ec2, vpc, other).await {
            Ok(shared) if !shared.is_empty() => format!(
                " They share transit gateway {}, but a transit gateway carries group references in inbound rules only, never in an outbound rule such as this one.",
                shared.join(", ")
            ),
            Ok(_) => String::new(),
            Err(e) => format!(
                " Whether they share a transit gateway could not be read ({e}); one would not carry the reference anyway: a transit gateway does so in inbound rules only."
            ),
        };
        problems.push((
            *field,
            format!(
                "security group {id} is in {other}, and the workers run in {vpc}: an egress rule may name a group of the workers' VPC, or of a VPC joined to it by an active VPC peering connection in the same Region, and no active one joins {vpc} and {other}.{gateway} Peer the two VPCs and accept the connection, or name the group's addresses instead: its VPC's CIDR block (cidr) or a prefix list (prefix_list)"
            ),
        ));
    }
    Ok(problems)
}

/// The VPC and subnets `workers.network` names: the VPC exists in the Region, and each subnet
/// exists, is in that VPC and in the availability zone the file keys it by (a group whose
/// subnets are elsewhere fails to launch there, or in another VPC at all).
async fn check_vpc_and_subnets(
    clients: &Clients,
    env: &Environment,
    n: &crate::config::ExplicitNetwork,
) -> Result<Vec<crate::error::InputError>> {
    let region = &clients.region;
    if !aws::vpc_exists(&clients.ec2, &n.vpc).await? {
        let why = format!("VPC {} does not exist in {region}", n.vpc);
        return Ok(vec![env.source.error("workers.network.vpc", why)]);
    }
    let ids: Vec<String> = n.subnets.values().cloned().collect();
    let found = aws::subnets(&clients.ec2, &ids).await?;
    let mut problems = Vec::new();
    for (zone, id) in &n.subnets {
        let why = match found.get(id) {
            None => format!("subnet {id} does not exist in {region}"),
            Some((vpc, _)) if *vpc != n.vpc => format!(
                "subnet {id} is in {vpc}, and workers.network.vpc is {}: the workers run in one VPC",
                n.vpc
            ),
            Some((_, az)) if az != zone => {
                format!("subnet {id} is in {az}, not in {zone}: key it by its own zone")
            }
            Some(_) => continue,
        };
        problems.push(
            env.source
                .error(&format!("workers.network.subnets.{zone}"), why),
        );
    }
    Ok(problems)
}
