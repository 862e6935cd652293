//! The workers' security group as the templates declare it: the rule qfleet always has (TCP
//! 443 to the AWS APIs) and each rule of `workers.egress`, in the shape of
//! `AWS::EC2::SecurityGroup`'s `SecurityGroupEgress`
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ec2-securitygroup-egress.html>).

use crate::config::{EgressProtocol, EgressRule, WorkersSpec};
use serde_json::{Value, json};

/// Each egress rule the file gives, as CloudFormation takes it (after qfleet's HTTPS rule).
/// `IpProtocol` `-1` is every protocol and port ("Use -1 to specify all protocols"; the ports
/// are then left out).
pub(super) fn egress_rules(w: &WorkersSpec) -> Vec<Value> {
    w.egress.iter().map(rule).collect()
}

/// Whether a rule of the file reaches the whole internet (the Guard and checkov notes on the
/// group say so instead of "only port 443").
pub(super) fn open_to_the_internet(w: &WorkersSpec) -> bool {
    w.egress.iter().any(crate::config::egress_to_the_internet)
}

fn rule(r: &EgressRule) -> Value {
    let mut v = serde_json::Map::new();
    let protocol = match r.protocol {
        EgressProtocol::Tcp => "tcp",
        EgressProtocol::Udp => "udp",
        EgressProtocol::All => "-1",
    };
    v.insert("IpProtocol".into(), json!(protocol));
    if r.protocol != EgressProtocol::All
        && let Some((from, to)) = crate::config::egress_ports(r.port.as_deref())
    {
        v.insert("FromPort".into(), json!(from));
        v.insert("ToPort".into(), json!(to));
    }
    if let Some(cidr) = &r.cidr {
        let key = match crate::config::egress_cidr_family(cidr) {
            Some(6) => "CidrIpv6",
            _ => "CidrIp",
        };
        v.insert(
            key.into(),
            json!(crate::config::egress_canonical_cidr(cidr)),
        );
    }
    if let Some(pl) = &r.prefix_list {
        v.insert("DestinationPrefixListId".into(), json!(pl));
    }
    if let Some(sg) = &r.security_group {
        v.insert("DestinationSecurityGroupId".into(), json!(sg));
    }
    let description = match &r.description {
        Some(d) => d.clone(),
        None => format!(
            "workers.egress: {} to {}",
            match r.protocol {
                EgressProtocol::All => "all traffic".to_string(),
                p => format!("{} {}", p.as_str(), r.port.as_deref().unwrap_or_default()),
            },
            crate::config::egress_destination(r).unwrap_or_default()
        ),
    };
    v.insert("Description".into(), json!(description));
    Value::Object(v)
}

/// Whether a rule of the file opens a range of ports (the Guard note on the group says the
/// file asks for it).
pub(super) fn port_range(w: &WorkersSpec) -> bool {
    w.egress.iter().any(|r| {
        r.protocol != EgressProtocol::All
            && crate::config::egress_ports(r.port.as_deref()).is_some_and(|(a, b)| a != b)
    })
}
