//! The rules for what the workers may reach (`workers.egress`) and the groups they wear
//! beside qfleet's own (`workers.security_groups`), for the kinds that have a security group
//! (EC2 and Fargate).

use super::{Checker, is_aws_id};
use crate::config::Environment;
use crate::config::schema::{EgressProtocol, EgressRule};
use std::net::{Ipv4Addr, Ipv6Addr};

/// "Inbound or outbound rules per security group: 60" (Amazon VPC quotas,
/// <https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups>):
/// the rule qfleet always has (TCP 443) leaves 59. A prefix list counts as its maximum entries
/// there; AWS refuses the group at deploy if those exceed the quota.
pub(crate) const MAX_EGRESS_RULES: usize = 59;

/// "Security groups per network interface: 5" (the same page; adjustable up to 16): qfleet's
/// own leaves 4. ECS's awsvpc network configuration takes at most 5 too
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AwsVpcConfiguration.html>).
pub(crate) const MAX_EXTRA_GROUPS: usize = 4;

/// The rule qfleet's group always has: a rule the file gives that is the same is refused, as
/// EC2 refuses a group with one rule twice.
const HTTPS_TO_ALL: (&str, &str, &str) = ("tcp", "443", "0.0.0.0/0");

pub(super) fn check(c: &mut Checker, env: &Environment) {
    let w = &env.spec.workers;
    if w.egress.len() > MAX_EGRESS_RULES {
        c.fail(
            "workers.egress",
            format!(
                "{} rules: a security group holds at most 60 outbound rules, and qfleet's own HTTPS rule is one of them (at most {MAX_EGRESS_RULES} here)",
                w.egress.len()
            ),
        );
    }
    let mut seen: Vec<(String, String)> = Vec::new();
    for (i, rule) in w.egress.iter().enumerate() {
        let field = format!("workers.egress.{i}");
        check_rule(c, &field, rule);
        let key = (
            format!("{} {}", rule.protocol.as_str(), port_key(rule)),
            destination(rule).unwrap_or_default().to_string(),
        );
        if rule.protocol == EgressProtocol::Tcp
            && normalized_port(rule.port.as_deref()) == Some((443, 443))
            && rule.cidr.as_deref() == Some(HTTPS_TO_ALL.2)
        {
            c.fail(
                &field,
                format!(
                    "{} port {} to {} is the rule qfleet's group always has: leave it out",
                    HTTPS_TO_ALL.0, HTTPS_TO_ALL.1, HTTPS_TO_ALL.2
                ),
            );
        } else if let Some(j) = seen.iter().position(|k| *k == key) {
            c.fail(
                &field,
                format!("the same rule as workers.egress.{j}: a security group takes a rule once"),
            );
        }
        seen.push(key);
    }
    if w.security_groups.len() > MAX_EXTRA_GROUPS {
        c.fail(
            "workers.security_groups",
            format!(
                "{} groups: a worker's network interface takes at most 5 security groups, and qfleet's own is one of them (at most {MAX_EXTRA_GROUPS} here)",
                w.security_groups.len()
            ),
        );
    }
    for (i, sg) in w.security_groups.iter().enumerate() {
        let field = format!("workers.security_groups.{i}");
        if !is_aws_id(sg, "sg-") {
            c.fail(
                &field,
                format!("`{sg}` is not a security group id (sg- and 8 or 17 hex digits)"),
            );
        } else if w.security_groups[..i].contains(sg) {
            c.fail(&field, format!("`{sg}` is listed twice"));
        }
    }
}

fn check_rule(c: &mut Checker, field: &str, rule: &EgressRule) {
    match (rule.protocol, rule.port.as_deref()) {
        (EgressProtocol::All, Some(_)) => c.fail(
            &format!("{field}.port"),
            "protocol all opens every port: leave port out, or give protocol tcp or udp",
        ),
        (EgressProtocol::Tcp | EgressProtocol::Udp, None) => c.fail(
            field,
            format!(
                "protocol {} needs a port (5432) or a range (8000-8100)",
                rule.protocol.as_str()
            ),
        ),
        (_, Some(p)) if normalized_port(Some(p)).is_none() => c.fail(
            &format!("{field}.port"),
            format!(
                "`{p}` is neither a port from 0 to 65535 nor a range of them such as 8000-8100"
            ),
        ),
        _ => {}
    }
    let given: Vec<&str> = [
        ("cidr", rule.cidr.is_some()),
        ("prefix_list", rule.prefix_list.is_some()),
        ("security_group", rule.security_group.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    if given.len() != 1 {
        c.fail(
            field,
            match given.len() {
                0 => "give one destination: cidr, prefix_list or security_group".to_string(),
                _ => format!(
                    "give one destination, not {}: a rule has one cidr, prefix_list or security_group",
                    given.join(" and ")
                ),
            },
        );
    }
    if let Some(cidr) = &rule.cidr
        && cidr_family(cidr).is_none()
    {
        c.fail(
            &format!("{field}.cidr"),
            format!(
                "`{cidr}` is not an IPv4 or IPv6 CIDR block such as 10.0.0.0/16 or 2001:db8::/32"
            ),
        );
    }
    if let Some(pl) = &rule.prefix_list
        && !is_aws_id(pl, "pl-")
    {
        c.fail(
            &format!("{field}.prefix_list"),
            format!("`{pl}` is not a prefix list id (pl- and 8 or 17 hex digits)"),
        );
    }
    if let Some(sg) = &rule.security_group
        && !is_aws_id(sg, "sg-")
    {
        c.fail(
            &format!("{field}.security_group"),
            format!("`{sg}` is not a security group id (sg- and 8 or 17 hex digits)"),
        );
    }
    if let Some(d) = &rule.description
        && let Some(why) = description_problem(d)
    {
        c.fail(
            &format!("{field}.description"),
            format!("{why}: EC2 takes at most 255 of letters, digits, spaces and ._-:/()#,@[]+=&;{{}}!$*"),
        );
    }
}

/// The ports of a rule, `(from, to)`: `5432` or `8000-8100`, each from 0 to 65535, from ≤ to.
pub(crate) fn normalized_port(port: Option<&str>) -> Option<(u16, u16)> {
    let p = port?.trim();
    let (from, to) = match p.split_once('-') {
        Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
        None => {
            let one: u16 = p.parse().ok()?;
            (one, one)
        }
    };
    (from <= to).then_some((from, to))
}

fn port_key(rule: &EgressRule) -> String {
    match normalized_port(rule.port.as_deref()) {
        Some((a, b)) => format!("{a}-{b}"),
        None => String::new(),
    }
}

/// The rule's one destination, as written.
pub(crate) fn destination(rule: &EgressRule) -> Option<&str> {
    rule.cidr
        .as_deref()
        .or(rule.prefix_list.as_deref())
        .or(rule.security_group.as_deref())
}

/// Whether `cidr` is an IPv4 (`Some(4)`) or IPv6 (`Some(6)`) CIDR block.
pub(crate) fn cidr_family(cidr: &str) -> Option<u8> {
    let (addr, bits) = cidr.split_once('/')?;
    let bits: u8 = bits.parse().ok()?;
    if addr.parse::<Ipv4Addr>().is_ok() && bits <= 32 {
        Some(4)
    } else if addr.parse::<Ipv6Addr>().is_ok() && bits <= 128 {
        Some(6)
    } else {
        None
    }
}

/// Whether a rule reaches the whole internet: `0.0.0.0/0` or `::/0`.
pub(crate) fn to_the_internet(rule: &EgressRule) -> bool {
    matches!(rule.cidr.as_deref(), Some("0.0.0.0/0" | "::/0"))
}

/// EC2's rule descriptions: "Constraints: Up to 255 characters in length. Allowed characters
/// are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html>).
fn description_problem(d: &str) -> Option<String> {
    if d.len() > 255 {
        return Some(format!("{} characters", d.len()));
    }
    d.chars()
        .find(|ch| !(ch.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(*ch)))
        .map(|ch| format!("`{ch}` is not allowed"))
}
