//! Whether the workers can reach the AWS services they call, found before any change.
//!
//! A subnet whose route table has an active route to `0.0.0.0/0` through a NAT gateway (or a
//! transit gateway, a firewall, an instance) goes out; one through an internet gateway goes
//! out only for a worker with a public IP address. A worker in a subnet with no way out
//! reaches a service only through a VPC endpoint for it: an interface endpoint with private
//! DNS, which makes the service's usual name resolve to it ("To use private DNS, you must
//! enable DNS hostnames and DNS resolution for your VPC",
//! <https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html>), or for
//! S3 and DynamoDB a gateway endpoint in the subnet's route table ("Instances in subnets that
//! aren't associated with these route tables use the public service endpoint, not the gateway
//! endpoint", <https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html>).
//!
//! The services come from the fleet template ([`crate::render::reach`]); the endpoints from
//! the VPC, found first: an interface endpoint serves the whole VPC, so one made by another
//! team or environment serves these workers too.

use crate::aws::Clients;
use crate::aws::StackState;
use crate::aws::{self, VpcEndpoint as Endpoint, WayOut};
use crate::config::{EndpointsMode, Environment, Network};
use crate::error::{Error, Result};
use crate::render::reach::EndpointPlan;
use crate::render::reach::Service;
use std::collections::BTreeMap;

/// What an interface endpoint costs, for the messages: AWS bills "each hour that your VPC
/// endpoint remains provisioned in each Availability Zone", plus each gigabyte it processes;
/// gateway endpoints have "no additional charge" (<https://aws.amazon.com/privatelink/pricing/>,
/// <https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html>). The hourly
/// rate differs by Region: the message names the unit, not a figure.
const COST: &str = "an interface endpoint is billed per Availability Zone per hour and per GB it carries; S3 and DynamoDB gateway endpoints are free";

/// How one service is reached from the subnets without a way out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// Through this endpoint (`vpce-…`, with ` (gateway)` for a gateway endpoint).
    Endpoint(String),
    /// Not at all, and why.
    Missing(String),
}

/// Looks at the workers' subnets and, where one has no way out, at the VPC's endpoints: the
/// notes to print, or an error at `workers.network` naming each service the workers could not
/// reach. On the default VPC (an explicit, warned choice) a missing endpoint is a warning.
pub(super) async fn check(
    clients: &Clients,
    env: &Environment,
    template: &str,
    stack: &str,
    vpc: &str,
    subnets: &[String],
) -> Result<Vec<String>> {
    let (services, unknown) = crate::render::reach::aws_services(template)
        .map_err(|e| Error::aws(format!("reading the fleet template's roles: {e}")))?;
    let ways = aws::ways_out(&clients.ec2, vpc, subnets).await?;
    if let Some(s) = subnets.iter().find(|s| !ways.contains_key(*s)) {
        // Fail closed: a subnet whose route table is not found is not one "with a way out".
        return Err(Error::aws(format!(
            "could not find the route table of subnet {s} in {vpc}: whether the workers reach the AWS APIs from it is not known"
        )));
    }
    let public_ip = env.kind().has_network() && env.spec.workers.public_ip;
    let shut: BTreeMap<&String, &WayOut> = ways
        .iter()
        .filter(|(_, w)| w.target.is_none() || (w.internet_gateway() && !public_ip))
        .collect();
    let called = services
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut notes = Vec::new();
    for arn in &unknown {
        notes.push(format!(
            "{stack}: the services {arn} allows are not known: where a subnet has no way out, the workers reach them only through endpoints you make"
        ));
    }
    if shut.is_empty() {
        let targets: std::collections::BTreeSet<&str> =
            ways.values().filter_map(|w| w.target.as_deref()).collect();
        let targets: Vec<&str> = targets.into_iter().collect();
        notes.insert(
            0,
            format!(
                "{stack}: the workers call {called}; every subnet goes out through {}",
                targets.join(", ")
            ),
        );
        return Ok(notes);
    }
    let endpoints = aws::vpc_endpoints(&clients.ec2, &clients.region, vpc).await?;
    let tables: Vec<&str> = shut.values().map(|w| w.route_table.as_str()).collect();
    let creates = matches!(&env.spec.workers.network, Network::Explicit(n) if n.endpoints == EndpointsMode::Create);
    let data_stack = env.data_stack_name();
    let owned: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
    let found: Vec<(&Service, Found)> = services
        .iter()
        .map(|s| match reached(s, &endpoints, &tables) {
            // The data stack makes it (it goes first): `endpoints: create`.
            Found::Missing(_)
                if creates
                    && matches!(
                        decide(&s.name, &endpoints, &owned, None),
                        Decision::Create(_)
                    ) =>
            {
                (s, Found::Endpoint(format!("(made by {data_stack})")))
            }
            f => (s, f),
        })
        .collect();
    let why_shut: Vec<String> = shut
        .iter()
        .map(|(s, w)| match &w.target {
            None => format!("{s} ({}: no route to 0.0.0.0/0)", w.route_table),
            Some(igw) => format!(
                "{s} ({}: {igw}, and the workers have no public IP)",
                w.route_table
            ),
        })
        .collect();
    let listed: Vec<String> = found
        .iter()
        .map(|(s, f)| match f {
            Found::Endpoint(e) => format!("{} {e}", s.name),
            Found::Missing(why) => format!("{} MISSING ({why})", s.name),
        })
        .collect();
    notes.insert(
        0,
        format!(
            "{stack}: the workers call {called}; with no way out of {}, they reach them through the VPC's endpoints: {}",
            why_shut.join(", "),
            listed.join(", ")
        ),
    );
    let missing: Vec<String> = found
        .iter()
        .filter_map(|(s, f)| match f {
            Found::Missing(why) => Some(format!(
                "{} ({why}; for {})",
                s.name,
                s.for_what.iter().cloned().collect::<Vec<_>>().join(", ")
            )),
            Found::Endpoint(_) => None,
        })
        .collect();
    if missing.is_empty() {
        return Ok(notes);
    }
    let what = format!(
        "the workers cannot reach {} from {}. Route the subnets to a NAT gateway, or make each endpoint in {vpc} ({COST})",
        missing.join(", "),
        why_shut.join(", ")
    );
    match &env.spec.workers.network {
        Network::Explicit(_) => Err(Error::Input(vec![
            env.source.error("workers.network", what),
        ])),
        Network::Default => {
            notes.push(format!("WARNING: {stack}: {what}"));
            Ok(notes)
        }
    }
}

/// Whether `e` is there or on its way (not being deleted, failed or refused;
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpcEndpoint.html>, `State`).
fn live(e: &Endpoint) -> bool {
    !matches!(
        e.state.as_str(),
        "deleting" | "deleted" | "failed" | "rejected" | "expired"
    )
}

/// What the data stack does about one service's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The VPC has one that serves: it is used, not made.
    Found,
    /// The data stack makes (or keeps) it; for a gateway endpoint, in these route tables.
    Create(Vec<String>),
}

/// Found first. An interface endpoint is made unless another one with private DNS stands for
/// the service (a second is refused: its private DNS name conflicts with the first's). A
/// gateway endpoint is made for the route tables `tables` that no other gateway endpoint of
/// the service is in: "You can't have multiple endpoint routes to the same service in a single
/// route table" (<https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html>).
/// `ours` is the endpoint this stack made, which is kept.
pub(crate) fn decide(
    service: &str,
    endpoints: &[Endpoint],
    tables: &[String],
    ours: Option<&str>,
) -> Decision {
    let others = || {
        endpoints
            .iter()
            .filter(move |e| e.service == service && live(e) && Some(e.id.as_str()) != ours)
    };
    if crate::render::reach::by_gateway(service) {
        let uncovered: Vec<String> = tables
            .iter()
            .filter(|t| {
                !others()
                    .filter(|e| e.kind == "Gateway")
                    .any(|e| e.route_tables.contains(t))
            })
            .cloned()
            .collect();
        return match uncovered.is_empty() {
            true => Decision::Found,
            false => Decision::Create(uncovered),
        };
    }
    let mine = ours.is_some_and(|id| endpoints.iter().any(|e| e.id == id && live(e)));
    let claimed = others().any(|e| e.kind == "Interface" && e.private_dns);
    match mine || !claimed {
        true => Decision::Create(Vec::new()),
        false => Decision::Found,
    }
}

/// The data stack's endpoint parameters (`workers.network.endpoints: create`), found first
/// ([`decide`]); the VPC's CIDR blocks for the prefix list the interface endpoints admit; and
/// the notes that say what this deploy makes and uses. Private DNS needs the VPC's DNS
/// attributes on: one that is off, or cannot be read, is refused before any change.
pub(super) async fn endpoint_parameters(
    clients: &Clients,
    env: &Environment,
    plan: &EndpointPlan,
    state: Option<&StackState>,
) -> Result<(BTreeMap<String, String>, Vec<String>)> {
    let ec2 = &clients.ec2;
    let stack = env.data_stack_name();
    let endpoints = aws::vpc_endpoints(ec2, &clients.region, &plan.vpc).await?;
    // The endpoints this stack made: its resources' physical ids, where it says it made one.
    let made_before = state.is_some_and(|s| {
        s.parameters
            .iter()
            .any(|(k, v)| k.starts_with("Endpoint") && k.ends_with("Source") && v == "create")
    });
    // A read that fails is an error (`?`). A stack gone since it was described has no
    // resources: none is "ours", so an endpoint of the VPC counts as someone else's and is
    // used, never made a second time.
    let physical: BTreeMap<String, String> = match made_before {
        true => crate::aws::stack_resources(&clients.cfn, &stack)
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(logical, r)| Some((logical, r.physical_id?)))
            .collect(),
        false => BTreeMap::new(),
    };
    let subnets = create_subnets(env);
    let ways = aws::ways_out(ec2, &plan.vpc, &subnets).await?;
    let mut tables: Vec<String> = Vec::new();
    for s in &subnets {
        let Some(w) = ways.get(s) else {
            return Err(Error::aws(format!(
                "could not find the route table of subnet {s} in {}: the gateway endpoints would not reach it",
                plan.vpc
            )));
        };
        if !tables.contains(&w.route_table) {
            tables.push(w.route_table.clone());
        }
    }
    let mut params = BTreeMap::new();
    let (mut made, mut found) = (Vec::new(), Vec::new());
    for e in plan.interface.iter().chain(&plan.gateway) {
        let ours = physical
            .get(&format!("Endpoint{}", e.id))
            .map(String::as_str);
        let decision = decide(&e.service, &endpoints, &tables, ours);
        let value = match &decision {
            Decision::Create(_) => {
                made.push(e.service.clone());
                "create"
            }
            Decision::Found => {
                let ids: Vec<&str> = endpoints
                    .iter()
                    .filter(|x| x.service == e.service && live(x))
                    .map(|x| x.id.as_str())
                    .collect();
                found.push(format!("{} {}", e.service, ids.join(" ")));
                "found"
            }
        };
        params.insert(e.parameter(), value.to_string());
        if crate::render::reach::by_gateway(&e.service) {
            let tables = match decision {
                Decision::Create(t) => t.join(","),
                Decision::Found => String::new(),
            };
            params.insert(format!("Endpoint{}RouteTables", e.id), tables);
        }
    }
    let interface_made = made
        .iter()
        .filter(|s| !crate::render::reach::by_gateway(s))
        .count();
    // Each interface endpoint made goes in the workers' subnets whose zones offer its service.
    let making: Vec<String> = plan
        .interface
        .iter()
        .filter(|e| params.get(&e.parameter()).map(String::as_str) == Some("create"))
        .map(|e| e.service.clone())
        .collect();
    let (placed, mut zone_notes) = match making.is_empty() {
        true => (BTreeMap::new(), Vec::new()),
        false => {
            let offered = aws::endpoint_service_zones(ec2, &clients.region, &making).await?;
            let zones = aws::subnet_zones(ec2, &plan.subnets).await?;
            let keys = subnet_keys(env, &plan.subnets);
            place(&Placing {
                stack: &stack,
                region: &clients.region,
                services: &making,
                keys: &keys,
                zones: &zones,
                offered: &offered,
            })?
        }
    };
    for e in &plan.interface {
        let subnets = placed.get(&e.service).unwrap_or(&plan.subnets);
        params.insert(e.subnets_parameter(), subnets.join(","));
    }
    if !plan.interface.is_empty() {
        if interface_made > 0 {
            check_dns(env, ec2, &plan.vpc).await?;
        }
        let cidrs = aws::vpc_cidrs(ec2, &plan.vpc).await?;
        if cidrs.len() > 5 {
            return Err(Error::aws(format!(
                "{} has {} IPv4 CIDR blocks; the endpoints qfleet makes admit HTTPS from at most 5: make the endpoints yourself and leave out workers.network.endpoints",
                plan.vpc,
                cidrs.len()
            )));
        }
        for n in 1..=5 {
            let cidr = cidrs.get(n - 1).cloned().unwrap_or_default();
            params.insert(format!("VpcCidr{n}"), cidr);
        }
    }
    let mut notes = Vec::new();
    if !made.is_empty() {
        notes.push(format!(
            "{stack}: makes (or keeps) the endpoints for {} in {}: {interface_made} interface endpoint(s), each in the workers' zones that offer its service, up to {} ({COST}); they outlive the environment unless its teardown is asked to delete them",
            made.join(", "),
            plan.vpc,
            plan.subnets.len()
        ));
    }
    notes.append(&mut zone_notes);
    if !found.is_empty() {
        notes.push(format!(
            "{stack}: uses the endpoints {} already has: {}; whoever made them keeps them",
            plan.vpc,
            found.join(", ")
        ));
    }
    Ok((params, notes))
}

/// Refuses at `workers.network.endpoints` when the VPC's DNS resolution or DNS hostnames is
/// off, or cannot be read.
async fn check_dns(env: &Environment, ec2: &crate::aws::Ec2, vpc: &str) -> Result<()> {
    for (name, on) in aws::vpc_dns_attributes(ec2, vpc).await? {
        let why = match on {
            Some(true) => continue,
            Some(false) => format!(
                "{vpc} has {name} off, and the interface endpoints' private DNS needs it on: aws ec2 modify-vpc-attribute --vpc-id {vpc} --{} (or leave out endpoints: create)",
                match name {
                    "enableDnsSupport" => "enable-dns-support",
                    _ => "enable-dns-hostnames",
                }
            ),
            None => format!(
                "{vpc}'s {name} could not be read (EC2 did not say), and the interface endpoints' private DNS needs it on"
            ),
        };
        return Err(Error::Input(vec![
            env.source.error("workers.network.endpoints", why),
        ]));
    }
    Ok(())
}

/// The subnets each interface endpoint's service goes in, by service.
type Placed = BTreeMap<String, Vec<String>>;

/// What [`place`] decides from.
struct Placing<'a> {
    stack: &'a str,
    region: &'a str,
    /// The interface endpoints' services this stack makes.
    services: &'a [String],
    /// The plan's subnets in order, each with the stage and zone key that name it.
    keys: &'a [(&'a Environment, String, String)],
    /// The subnets' zones, as DescribeSubnets gives them.
    zones: &'a BTreeMap<String, aws::SubnetZone>,
    /// The services' zones, as DescribeVpcEndpointServices gives them.
    offered: &'a BTreeMap<String, aws::OfferedZones>,
}

/// The subnets each interface endpoint goes in: those of the workers' subnets whose zone
/// offers its service, and a note for each service some zone lacks; or a refusal before any
/// change.
///
/// An interface endpoint can be made only in a zone that offers its service: CloudFormation's
/// create of one that names a subnet elsewhere fails ("does not support the Availability Zone
/// of the subnet"), and DescribeVpcEndpointServices names the zones that do
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointServices.html>).
/// us-east-1's use1-az3 lacks many services, and its name differs per account, so the answer
/// is matched by zone id where it gives ids ([`aws::OfferedZones::offers`]).
///
/// A team wants the deploy to work, and the workers in a zone without the service still reach
/// it: the endpoint's private DNS name "resolves to the private IP addresses of the endpoint
/// network interfaces in the VPC", in every zone it is in
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html>,
/// `PrivateDnsEnabled`), and a VPC routes between its zones. So the endpoint is made where the
/// service is offered, and the plan says where it is not (that zone's calls cross zones,
/// billed per GB). Refused, at the subnets' keys: a service offered in none of the workers'
/// zones. Refused as not checked: a subnet or service whose zones were not read.
fn place(p: &Placing<'_>) -> Result<(Placed, Vec<String>)> {
    let region = p.region;
    let label = |subnet: &str| -> String {
        match p.zones.get(subnet) {
            Some(aws::SubnetZone { name, id: Some(id) }) => format!("{name} ({id})"),
            Some(z) => z.name.clone(),
            None => subnet.to_string(),
        }
    };
    if let Some((_, _, s)) = p.keys.iter().find(|(_, _, s)| !p.zones.contains_key(s)) {
        return Err(Error::aws(format!(
            "{}: EC2 did not describe subnet {s}: whether each endpoint's service is offered in its Availability Zone could not be checked; nothing was changed",
            p.stack
        )));
    }
    let mut placed = BTreeMap::new();
    let mut notes = Vec::new();
    let mut nowhere: Vec<(String, String)> = Vec::new();
    let mut problems = Vec::new();
    for service in p.services {
        let name = format!("com.amazonaws.{region}.{service}");
        let Some(offered) = p.offered.get(service) else {
            if let Some((stage, _, _)) = p.keys.first() {
                problems.push(stage.source.error(
                    "workers.network.endpoints",
                    format!(
                        "AWS offers no interface endpoint {name} in {region} (DescribeVpcEndpointServices lists none), and the workers call {service}: route the subnets to a NAT gateway instead of endpoints: create"
                    ),
                ));
            }
            continue;
        };
        if offered.names.is_empty() && offered.ids.is_empty() {
            return Err(Error::aws(format!(
                "{}: DescribeVpcEndpointServices named no Availability Zone for {name}: where its endpoint can go could not be checked; nothing was changed",
                p.stack
            )));
        }
        let (here, not): (Vec<&(&Environment, String, String)>, Vec<_>) = p
            .keys
            .iter()
            .partition(|(_, _, s)| p.zones.get(s).is_some_and(|z| offered.offers(z)));
        let mut offered_in = offered.names.join(", ");
        if !offered.ids.is_empty() {
            offered_in = format!("{offered_in} (zone ids {})", offered.ids.join(", "));
        }
        if here.is_empty() {
            nowhere.push((service.clone(), offered_in));
            continue;
        }
        if !not.is_empty() {
            notes.push(format!(
                "{}: the endpoint for {service} goes in {} only: AWS does not offer {name} in {}; the workers there reach it through the other zones' (its private DNS name answers with every zone's address; traffic across zones is billed per GB)",
                p.stack,
                here.iter().map(|(_, _, s)| format!("{s} ({})", label(s))).collect::<Vec<_>>().join(", "),
                not.iter().map(|(_, _, s)| label(s)).collect::<Vec<_>>().join(", ")
            ));
        }
        placed.insert(
            service.clone(),
            here.iter().map(|(_, _, s)| s.clone()).collect(),
        );
    }
    if !nowhere.is_empty() {
        for (stage, zone, subnet) in p.keys {
            let what: Vec<String> = nowhere
                .iter()
                .map(|(service, offered_in)| {
                    format!("com.amazonaws.{region}.{service} (offered in {offered_in})")
                })
                .collect();
            problems.push(stage.source.error(
                &format!("workers.network.subnets.{zone}"),
                format!(
                    "subnet {subnet} is in {}, and none of the workers' zones offers {}: an interface endpoint can be made only in a zone that offers its service. Add a subnet in one of those zones, or route the subnets to a NAT gateway instead of endpoints: create",
                    label(subnet),
                    what.join(", ")
                ),
            ));
        }
    }
    match problems.is_empty() {
        true => Ok((placed, notes)),
        false => Err(Error::Input(problems)),
    }
}

/// The plan's subnets `subnets`, each with the stage and zone key that name it first.
fn subnet_keys<'a>(
    env: &'a Environment,
    subnets: &[String],
) -> Vec<(&'a Environment, String, String)> {
    let mut out: Vec<(&Environment, String, String)> = Vec::new();
    for subnet in subnets {
        let named = env
            .stages()
            .into_iter()
            .find_map(|stage| match &stage.spec.workers.network {
                Network::Explicit(n) if n.endpoints == EndpointsMode::Create => n
                    .subnets
                    .iter()
                    .find(|(_, s)| *s == subnet)
                    .map(|(zone, _)| (stage, zone.clone(), subnet.clone())),
                _ => None,
            });
        out.extend(named);
    }
    out
}

/// Every subnet of the stages whose network says `endpoints: create`.
fn create_subnets(env: &Environment) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for stage in env.stages() {
        if let Network::Explicit(n) = &stage.spec.workers.network
            && n.endpoints == EndpointsMode::Create
        {
            for s in n.subnets.values() {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
    }
    out
}

/// The endpoint that serves `s` in subnets routed by `tables`, or why none does.
fn reached(s: &Service, endpoints: &[Endpoint], tables: &[&str]) -> Found {
    let mine: Vec<&Endpoint> = endpoints.iter().filter(|e| e.service == s.name).collect();
    let mut why = "no endpoint".to_string();
    for e in &mine {
        if e.state != "available" {
            why = format!("{} is {}", e.id, e.state);
            continue;
        }
        match e.kind.as_str() {
            "Gateway" => match tables
                .iter()
                .find(|t| !e.route_tables.iter().any(|r| r == *t))
            {
                None => return Found::Endpoint(format!("{} (gateway)", e.id)),
                Some(t) => why = format!("gateway endpoint {} is not in route table {t}", e.id),
            },
            "Interface" if e.private_dns => return Found::Endpoint(e.id.clone()),
            "Interface" => {
                why = format!(
                    "{} has private DNS off: the SDK's usual name does not reach it",
                    e.id
                )
            }
            other => why = format!("{} is a {other} endpoint", e.id),
        }
    }
    Found::Missing(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str) -> Service {
        Service {
            name: name.into(),
            for_what: ["ConsumeJobs".to_string()].into(),
        }
    }

    fn endpoint(id: &str, service: &str, kind: &str, dns: bool, tables: &[&str]) -> Endpoint {
        Endpoint {
            id: id.into(),
            service: service.into(),
            kind: kind.into(),
            state: "available".into(),
            private_dns: dns,
            route_tables: tables.iter().map(|t| t.to_string()).collect(),
            tags: Default::default(),
            vpc: "vpc-1".into(),
        }
    }

    #[test]
    fn as_aws_documents_an_interface_endpoint_serves_with_private_dns_a_gateway_one_by_its_tables()
    {
        let eps = [
            endpoint("vpce-q", "sqs", "Interface", true, &[]),
            endpoint("vpce-l", "logs", "Interface", false, &[]),
            endpoint("vpce-s", "s3", "Gateway", false, &["rtb-a"]),
        ];
        assert_eq!(
            reached(&service("sqs"), &eps, &["rtb-a", "rtb-b"]),
            Found::Endpoint("vpce-q".into())
        );
        assert!(matches!(
            reached(&service("logs"), &eps, &["rtb-a"]),
            Found::Missing(w) if w.contains("private DNS off")
        ));
        // In one of the two tables only: the other subnet goes to S3's public endpoint.
        assert!(matches!(
            reached(&service("s3"), &eps, &["rtb-a", "rtb-b"]),
            Found::Missing(w) if w.contains("not in route table rtb-b")
        ));
        assert_eq!(
            reached(&service("s3"), &eps, &["rtb-a"]),
            Found::Endpoint("vpce-s (gateway)".into())
        );
        assert_eq!(
            reached(&service("monitoring"), &eps, &["rtb-a"]),
            Found::Missing("no endpoint".into())
        );
        let mut pending = endpoint("vpce-p", "kms", "Interface", true, &[]);
        pending.state = "pending".into();
        assert!(matches!(
            reached(&service("kms"), &[pending], &["rtb-a"]),
            Found::Missing(w) if w == "vpce-p is pending"
        ));
    }
}
