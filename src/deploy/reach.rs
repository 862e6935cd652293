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
use crate::aws::network::{self, Endpoint, WayOut};
use crate::config::{Environment, Network};
use crate::error::{Error, Result};
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
    let ways = network::ways_out(&clients.ec2, vpc, subnets).await?;
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
    let endpoints = network::vpc_endpoints(&clients.ec2, &clients.region, vpc).await?;
    let tables: Vec<&str> = shut.values().map(|w| w.route_table.as_str()).collect();
    let found: Vec<(&Service, Found)> = services
        .iter()
        .map(|s| (s, reached(s, &endpoints, &tables)))
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
