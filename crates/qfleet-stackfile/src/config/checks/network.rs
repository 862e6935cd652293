//! The rules for what the workers may reach (`workers.egress`) and the groups they wear
//! beside qfleet's own (`workers.security_groups`), for the kinds that have a security group
//! (EC2 and Fargate).

use super::{Checker, is_aws_id};
use crate::config::Environment;
use crate::config::schema::{EgressProtocol, EgressRule};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// "Inbound or outbound rules per security group: 60" (Amazon VPC quotas,
/// <https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups>):
/// the rule qfleet always has (TCP 443) leaves 59. A prefix list counts as its maximum entries
/// there; AWS refuses the group at deploy if those exceed the quota.
pub const MAX_EGRESS_RULES: usize = 59;

/// "Security groups per network interface: 5" (the same page; adjustable up to 16): qfleet's
/// own leaves 4. ECS's awsvpc network configuration takes at most 5 too
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AwsVpcConfiguration.html>).
pub const MAX_EXTRA_GROUPS: usize = 4;

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
        let dest = match rule.cidr.as_deref().and_then(parse_cidr) {
            Some(block) => block.canonical(),
            None => destination(rule).unwrap_or_default().to_string(),
        };
        let key = (
            format!("{} {}", rule.protocol.as_str(), port_key(rule)),
            dest.clone(),
        );
        if rule.protocol == EgressProtocol::Tcp
            && normalized_port(rule.port.as_deref()) == Some((443, 443))
            && dest == HTTPS_TO_ALL.2
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
    check_one_place(c, env);
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
    if let Some(cidr) = &rule.cidr {
        match parse_cidr(cidr) {
            None => c.fail(
                &format!("{field}.cidr"),
                format!("`{cidr}` is not an IPv4 or IPv6 CIDR block such as 10.0.0.0/16 or 2001:db8::/32"),
            ),
            // EC2 keeps a block by its network address: one written with host bits would never
            // read back as written, and two spellings of one block would be one rule twice.
            Some(block) if block.as_parsed() != block.canonical() => c.fail(
                &format!("{field}.cidr"),
                format!("`{cidr}` has bits set past its prefix length: write the block as `{}`", block.canonical()),
            ),
            Some(_) => {}
        }
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
pub fn normalized_port(port: Option<&str>) -> Option<(u16, u16)> {
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
pub fn destination(rule: &EgressRule) -> Option<&str> {
    rule.cidr
        .as_deref()
        .or(rule.prefix_list.as_deref())
        .or(rule.security_group.as_deref())
}

/// A CIDR block as parsed: its address and prefix length.
struct Block {
    addr: IpAddr,
    bits: u8,
}

impl Block {
    /// The block by its network address (host bits cleared), as EC2 keeps it.
    fn canonical(&self) -> String {
        let addr = match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        };
        format!("{addr}/{}", self.bits)
    }

    /// The block as written, its address spelled as [`Block::canonical`] spells it.
    fn as_parsed(&self) -> String {
        format!("{}/{}", self.addr, self.bits)
    }
}

fn parse_cidr(cidr: &str) -> Option<Block> {
    let (addr, bits) = cidr.split_once('/')?;
    if bits.is_empty() || bits.len() > 3 || !bits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let bits: u8 = bits.parse().ok()?;
    let addr: IpAddr = addr.parse().ok()?;
    let max = match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    (bits <= max).then_some(Block { addr, bits })
}

/// `cidr` as EC2 keeps it (its network address, in the address's shortest spelling), or as
/// written when it is no CIDR (validation refuses it).
pub fn canonical_cidr(cidr: &str) -> String {
    parse_cidr(cidr).map_or_else(|| cidr.to_string(), |b| b.canonical())
}

/// Whether `cidr` is an IPv4 (`Some(4)`) or IPv6 (`Some(6)`) CIDR block.
pub fn cidr_family(cidr: &str) -> Option<u8> {
    match parse_cidr(cidr)?.addr {
        IpAddr::V4(_) => Some(4),
        IpAddr::V6(_) => Some(6),
    }
}

/// Whether a rule reaches the whole internet: a block of prefix length 0 (`0.0.0.0/0`,
/// `::/0`, however it is spelled).
pub fn to_the_internet(rule: &EgressRule) -> bool {
    rule.cidr
        .as_deref()
        .and_then(parse_cidr)
        .is_some_and(|b| b.bits == 0)
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

/// A security group or prefix list id names one in one account and Region (and a group, one
/// VPC): a file whose targets are in several places cannot give every target the same ones.
fn check_one_place(c: &mut Checker, env: &Environment) {
    // The file's targets as it lists them; said with its first target only, not again for
    // each.
    let file = match env.target.as_ref() {
        Some(t) if t.index > 0 => return,
        Some(t) => &t.file.base.spec,
        None => &env.spec,
    };
    // A target that stands for a whole AWS Organizations unit (no account) is many accounts.
    let unit_wide = file
        .targets
        .iter()
        .any(|t| t.account.is_none() && t.organizational_unit.is_some());
    let mut places: Vec<(Option<&str>, &str)> = file
        .targets
        .iter()
        .map(|t| {
            (
                t.account.as_deref(),
                t.region.as_deref().unwrap_or(&file.region),
            )
        })
        .collect();
    places.sort_unstable();
    places.dedup();
    if places.len() < 2 && !unit_wide {
        return;
    }
    let w = &env.spec.workers;
    let why = "names a resource of one account and Region, and this file's targets are in several: give each place a stack file of its own, or reach the database by cidr";
    if !w.security_groups.is_empty() {
        c.fail(
            "workers.security_groups",
            format!("a security group id {why}"),
        );
    }
    for (i, r) in w.egress.iter().enumerate() {
        let what = match (&r.security_group, &r.prefix_list) {
            (Some(_), _) => "security_group",
            (None, Some(_)) => "prefix_list",
            (None, None) => continue,
        };
        c.fail(
            &format!("workers.egress.{i}.{what}"),
            format!("a {} id {why}", what.replace('_', " ")),
        );
    }
}

/// `workers.network.endpoints: create`: the endpoints are found per VPC when the stack is
/// deployed, and the data stack makes the missing ones; a template deployed through StackSets
/// is one for every account, so it cannot. In a pipeline, every stage that asks makes them in
/// one VPC (`first_vpc`, the first such stage's).
pub(super) fn check_endpoints(c: &mut Checker, env: &Environment, first_vpc: Option<&str>) {
    let crate::config::Network::Explicit(n) = &env.spec.workers.network else {
        return;
    };
    if n.endpoints != crate::config::EndpointsMode::Create {
        return;
    }
    if env.through_stack_sets() {
        c.fail(
            "workers.network.endpoints",
            "create finds and makes endpoints in one VPC when a stack is deployed; a file deployed through StackSets gives every account one template: make the endpoints in each VPC yourself and leave endpoints out",
        );
    }
    if let Some(vpc) = first_vpc.filter(|v| *v != n.vpc) {
        c.fail(
            "workers.network.endpoints",
            format!(
                "the data stack makes the endpoints in one VPC, {vpc} (an earlier stage's), and this stage runs in {}: leave endpoints out here, and make this VPC's yourself",
                n.vpc
            ),
        );
    }
}
