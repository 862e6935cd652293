//! `workers.egress` and `workers.security_groups` (issue 66): what the workers may reach
//! beside HTTPS, and the groups they wear beside qfleet's own. Each mistake names its rule.

use super::*;

const HEAD: &str = "region: eu-west-1\nworkers:\n";

#[test]
fn a_database_a_cache_and_a_groups_rules_parse_for_ec2_and_fargate() {
    for kind in [
        "",
        "  kind: fargate\n  image: public.ecr.aws/org/worker:1.4\n",
    ] {
        let env = parse_str(&format!(
            "{HEAD}{kind}  egress:\n    - port: 5432\n      cidr: 10.20.0.0/16\n    - port: 6379\n      security_group: sg-0123456789abcdef0\n    - protocol: udp\n      port: 8000-8100\n      prefix_list: pl-0123abcd\n  security_groups: [sg-0fedcba9876543210]\n"
        ))
        .unwrap()
        .into_only();
        let w = &env.spec.workers;
        assert_eq!(w.egress.len(), 3);
        assert_eq!(w.egress[0].protocol, schema::EgressProtocol::Tcp);
        assert_eq!(w.egress[0].port.as_deref(), Some("5432"));
        assert_eq!(w.security_groups, ["sg-0fedcba9876543210"]);
    }
}

#[test]
fn each_rule_names_what_is_wrong_with_it() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "    - cidr: 10.0.0.0/8\n",
            "workers.egress.0",
            "needs a port",
        ),
        (
            "    - protocol: all\n      port: 80\n      cidr: 10.0.0.0/8\n",
            "workers.egress.0.port",
            "opens every port",
        ),
        (
            "    - port: 70000\n      cidr: 10.0.0.0/8\n",
            "workers.egress.0.port",
            "neither a port",
        ),
        (
            "    - port: 90-80\n      cidr: 10.0.0.0/8\n",
            "workers.egress.0.port",
            "neither a port",
        ),
        (
            "    - port: 80\n",
            "workers.egress.0",
            "give one destination",
        ),
        (
            "    - port: 80\n      cidr: 10.0.0.0/8\n      prefix_list: pl-0123abcd\n",
            "workers.egress.0",
            "not cidr and prefix_list",
        ),
        (
            "    - port: 80\n      cidr: 10.0.0.0\n",
            "workers.egress.0.cidr",
            "not an IPv4 or IPv6 CIDR",
        ),
        (
            "    - port: 80\n      security_group: db-clients\n",
            "workers.egress.0.security_group",
            "not a security group id",
        ),
        (
            "    - port: 80\n      prefix_list: pl-x\n",
            "workers.egress.0.prefix_list",
            "not a prefix list id",
        ),
        (
            "    - port: 80\n      cidr: 10.0.0.5/16\n",
            "workers.egress.0.cidr",
            "write the block as `10.0.0.0/16`",
        ),
        (
            "    - port: 80\n      cidr: 2001:db8::1/32\n",
            "workers.egress.0.cidr",
            "write the block as `2001:db8::/32`",
        ),
        (
            "    - port: 443\n      cidr: 0.0.0.0/00\n",
            "workers.egress.0",
            "the rule qfleet's group always has",
        ),
        (
            "    - port: 443\n      cidr: 0.0.0.0/0\n",
            "workers.egress.0",
            "the rule qfleet's group always has",
        ),
        (
            "    - port: 80\n      cidr: 10.0.0.0/8\n      description: \"quote \\\" no\"\n",
            "workers.egress.0.description",
            "`\"` is not allowed: EC2 takes at most 255",
        ),
    ];
    for (rule, field, says) in cases {
        let list = errors(&format!("{HEAD}  egress:\n{rule}"));
        assert!(
            list.iter()
                .any(|e| e.field == *field && e.message.contains(says)),
            "{rule}: {list:#?}"
        );
    }
    let twice = errors(&format!(
        "{HEAD}  egress:\n    - port: 5432\n      cidr: 10.0.0.0/8\n    - protocol: tcp\n      port: '5432'\n      cidr: 10.0.0.0/8\n"
    ));
    assert!(
        twice
            .iter()
            .any(|e| e.field == "workers.egress.1" && e.message.contains("workers.egress.0")),
        "{twice:#?}"
    );
}

#[test]
fn at_most_four_groups_beside_qfleets_own_each_an_id_once() {
    let e = errors(&format!(
        "{HEAD}  security_groups: [sg-01234567, sg-11234567, sg-21234567, sg-31234567, sg-41234567]\n"
    ));
    assert!(
        e.iter().any(|e| e.field == "workers.security_groups"
            && e.message.contains("at most 5 security groups")),
        "{e:#?}"
    );
    let e = errors(&format!(
        "{HEAD}  security_groups: [sg-01234567, sg-01234567, db]\n"
    ));
    assert!(
        e.iter()
            .any(|e| e.field == "workers.security_groups.1" && e.message.contains("twice")),
        "{e:#?}"
    );
    assert!(
        e.iter().any(|e| e.field == "workers.security_groups.2"
            && e.message.contains("not a security group id")),
        "{e:#?}"
    );
}

#[test]
fn at_most_59_rules_beside_qfleets_own() {
    let rules: String = (1..=60)
        .map(|p| format!("    - port: {p}\n      cidr: 10.0.0.0/8\n"))
        .collect();
    let e = errors(&format!("{HEAD}  egress:\n{rules}"));
    assert!(
        e.iter()
            .any(|e| e.field == "workers.egress" && e.message.contains("at most 59")),
        "{e:#?}"
    );
}

/// A function takes a VPC only as a mapping of private subnets (Lambda gives it no public
/// IP); `egress` and `security_groups` only with one.
#[test]
fn a_function_in_a_vpc_takes_egress_and_groups_and_none_without_one() {
    let vpc = "  network:\n    vpc: vpc-0a1b2c3d4e5f67890\n    subnets:\n      eu-west-1a: subnet-0a1b2c3d4e5f67890\n      eu-west-1b: subnet-1a1b2c3d4e5f67890\n";
    let rules =
        "  egress:\n    - port: 5432\n      cidr: 10.0.0.0/8\n  security_groups: [sg-01234567]\n";
    let env = parse_str(&format!(
        "region: eu-west-1\nworkers:\n  kind: lambda\n{vpc}{rules}"
    ))
    .unwrap()
    .into_only();
    assert_eq!(env.spec.workers.egress.len(), 1);
    let e = errors(&format!(
        "region: eu-west-1\nworkers:\n  kind: lambda\n{rules}"
    ));
    for key in ["egress", "security_groups"] {
        assert!(
            e.iter().any(|e| e.field == format!("workers.{key}")
                && e.message.contains("applies to a function in a VPC")),
            "{key}: {e:#?}"
        );
    }
    let e = errors("region: eu-west-1\nworkers:\n  kind: lambda\n  network: default\n");
    assert!(
        e.iter().any(|e| e.field == "workers.network"
            && e.message.contains("Lambda gives a function no public IP")),
        "{e:#?}"
    );
    // A function's VPC is checked as the instances' is: two zones at least.
    let e = errors(
        "region: eu-west-1\nworkers:\n  kind: lambda\n  network:\n    vpc: vpc-0a1b2c3d4e5f67890\n    subnets:\n      eu-west-1a: subnet-0a1b2c3d4e5f67890\n",
    );
    assert!(
        e.iter().any(|e| e.field.starts_with("workers.network")),
        "{e:#?}"
    );
}

/// Every port to the whole internet is allowed when the file asks, and warned about on every
/// run; a single port to a private CIDR is not.
#[test]
fn all_traffic_or_a_range_to_the_internet_is_warned_about() {
    let env = parse_str(&format!(
        "{HEAD}  egress:\n    - protocol: all\n      cidr: 0.0.0.0/0\n    - port: 1024-65535\n      cidr: ::/0\n    - port: 5432\n      cidr: 10.0.0.0/8\n"
    ))
    .unwrap()
    .into_only();
    let w = crate::config::warnings(&env);
    let egress: Vec<&String> = w
        .iter()
        .filter(|w| w.starts_with("workers.egress"))
        .collect();
    assert_eq!(egress.len(), 2, "{w:#?}");
    assert!(egress[0].contains(
        "workers.egress.0: the workers may reach every protocol and port anywhere on the internet"
    ));
    assert!(
        egress[1].contains("workers.egress.1: the workers may reach tcp ports 1024-65535 anywhere")
    );
}

/// A group or prefix list id names one in one account and Region: a file whose targets are in
/// several is refused them, once, and reaches its database by CIDR.
#[test]
fn targets_in_several_places_are_refused_group_and_prefix_list_ids() {
    let targets = "targets:\n  - name: eu\n    account: '111122223333'\n  - name: us\n    account: '444455556666'\n    region: us-east-1\n";
    let e = errors(&format!(
        "region: eu-west-1\n{targets}workers:\n  egress:\n    - port: 5432\n      cidr: 10.0.0.0/8\n    - port: 6379\n      security_group: sg-01234567\n    - port: 80\n      prefix_list: pl-01234567\n  security_groups: [sg-11234567]\n"
    ));
    let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "workers.egress.1.security_group",
            "workers.egress.2.prefix_list",
            "workers.security_groups"
        ],
        "{e:#?}"
    );
    assert!(e[0].message.contains("this file's targets are in several"));
    parse_str(&format!(
        "region: eu-west-1\n{targets}workers:\n  egress:\n    - port: 5432\n      cidr: 10.0.0.0/8\n"
    ))
    .unwrap();
}

/// A target that stands for a whole AWS Organizations unit is many accounts: ids of one place
/// are refused there too.
#[test]
fn a_unit_wide_target_is_refused_group_ids() {
    let e = errors(
        "region: eu-west-1\ndeploy_role: qfleet-deployer\nrollout:\n  mode: stack_sets\n  permission_model: service_managed\n  auto_deployment: true\ntargets:\n  - name: eu\n    organizational_unit: ou-ab12-cdef3456\nworkers:\n  network:\n    vpc: vpc-0a1b2c3d4e5f67890\n    subnets:\n      eu-west-1a: subnet-0a1b2c3d4e5f67890\n      eu-west-1b: subnet-1a1b2c3d4e5f67890\n  security_groups: [sg-11234567]\n",
    );
    assert!(
        e.iter().any(|e| e.field == "workers.security_groups"
            && e.message.contains("targets are in several")),
        "{e:#?}"
    );
}

/// `workers.network.endpoints: create`: one VPC for the data stack's endpoints, and none
/// through StackSets (one template for every account).
#[test]
fn endpoints_are_made_in_one_vpc_and_never_through_stack_sets() {
    let network = |vpc: &str| {
        format!(
            "      network:\n        vpc: {vpc}\n        subnets:\n          eu-west-1a: subnet-01234567\n          eu-west-1b: subnet-11234567\n        endpoints: create\n"
        )
    };
    let e = errors(&format!(
        "region: eu-west-1\nstages:\n  - name: split\n    workers:\n{}  - name: encode\n    workers:\n{}",
        network("vpc-01234567"),
        network("vpc-11234567")
    ));
    assert!(
        e.iter()
            .any(|e| e.field == "stages.1.workers.network.endpoints"
                && e.message.contains("in one VPC, vpc-01234567")),
        "{e:#?}"
    );
    assert!(!e.iter().any(|e| e.field.starts_with("stages.0")), "{e:#?}");
    // The same VPC in both stages is one set of endpoints.
    parse_str(&format!(
        "region: eu-west-1\nstages:\n  - name: split\n    workers:\n{}  - name: encode\n    workers:\n{}",
        network("vpc-01234567"),
        network("vpc-01234567")
    ))
    .unwrap()
    .into_only();
    let e = errors(&format!(
        "region: eu-west-1\nrollout:\n  mode: stack_sets\ntargets:\n  - name: eu1\n    account: '111122223333'\nworkers:\n{}",
        network("vpc-01234567")
            .replace("\n      ", "\n  ")
            .trim_start_matches("    ")
    ));
    assert!(
        e.iter()
            .any(|e| e.field == "workers.network.endpoints" && e.message.contains("StackSets")),
        "{e:#?}"
    );
}
