//! The workers' security group (issue 66): exactly qfleet's HTTPS rule and the rules of
//! `workers.egress`, nothing wider, and the groups of `workers.security_groups` beside
//! qfleet's own, on EC2 and Fargate.

use super::*;
use serde_yaml_ng::Value;

const RULES: &str = "  egress:\n    - port: 5432\n      cidr: 10.20.0.0/16\n      description: Postgres\n    - port: 6379\n      security_group: sg-0123456789abcdef0\n  security_groups: [sg-0fedcba9876543210]\n";

fn fleet(yaml: &str) -> Value {
    let env = crate::config::parse(std::path::PathBuf::from("stacks/net.yaml"), yaml.into())
        .unwrap()
        .into_only();
    serde_yaml_ng::from_str(&render(&env).unwrap()[1].template).unwrap()
}

fn untagged(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

fn rules(fleet: &Value) -> Vec<serde_json::Value> {
    let egress = &fleet["Resources"]["WorkerSecurityGroup"]["Properties"]["SecurityGroupEgress"];
    serde_json::to_value(egress)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// `SecurityGroupEgress` entries as CloudFormation takes them
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ec2-securitygroup-egress.html>).
fn expected() -> Vec<serde_json::Value> {
    vec![
        serde_json::json!({"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "CidrIp": "10.20.0.0/16", "Description": "Postgres"}),
        serde_json::json!({"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "DestinationSecurityGroupId": "sg-0123456789abcdef0", "Description": "workers.egress: tcp 6379 to sg-0123456789abcdef0"}),
    ]
}

#[test]
fn a_postgres_cidr_and_a_redis_group_are_exactly_the_rules_beside_https_on_ec2() {
    let f = fleet(&format!("region: eu-west-1\nworkers:\n{RULES}"));
    let got = rules(&f);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!(got[0]["FromPort"], 443);
    assert_eq!(got[0]["ToPort"], 443);
    assert_eq!(got[0]["CidrIp"], "0.0.0.0/0");
    assert_eq!(got[1..], expected()[..]);
    // The group's description does not change with its rules: GroupDescription is
    // create-only, and a new one would replace the group (and every rule that names it).
    assert_eq!(
        f["Resources"]["WorkerSecurityGroup"]["Properties"]["GroupDescription"],
        fleet("region: eu-west-1\n")["Resources"]["WorkerSecurityGroup"]["Properties"]["GroupDescription"]
    );
    let groups = &f["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["NetworkInterfaces"]
        [0]["Groups"];
    let groups = groups.as_sequence().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(untagged(&groups[0]).as_str(), Some("WorkerSecurityGroup"));
    assert_eq!(groups[1].as_str(), Some("sg-0fedcba9876543210"));
}

#[test]
fn a_postgres_cidr_and_a_redis_group_are_exactly_the_rules_beside_https_on_fargate() {
    let f = fleet(&format!(
        "region: eu-west-1\nworkers:\n  kind: fargate\n  image: public.ecr.aws/org/worker:1.4\n{RULES}"
    ));
    let got = rules(&f);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!(got[0]["FromPort"], 443);
    assert_eq!(got[1..], expected()[..]);
    let service = f["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|r| r["Type"] == "AWS::ECS::Service")
        .unwrap();
    let groups =
        service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
            .as_sequence()
            .unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[1].as_str(), Some("sg-0fedcba9876543210"));
}

/// Without `egress`: HTTPS alone, and the Guard note says only 443 is open; every protocol to
/// the internet is `-1` without ports, and the note says the file asked for it.
#[test]
fn no_rules_is_https_alone_and_all_traffic_is_minus_one_without_ports() {
    let f = fleet("region: eu-west-1\n");
    assert_eq!(rules(&f).len(), 1);
    let f = fleet(
        "region: eu-west-1\nworkers:\n  egress:\n    - protocol: all\n      cidr: 0.0.0.0/0\n    - protocol: udp\n      port: 8000-8100\n      cidr: 2001:DB8::/32\n",
    );
    let got = rules(&f);
    assert_eq!(
        got[1],
        serde_json::json!({"IpProtocol": "-1", "CidrIp": "0.0.0.0/0", "Description": "workers.egress: all traffic to 0.0.0.0/0"})
    );
    assert_eq!(got[2]["CidrIpv6"], "2001:db8::/32");
    assert_eq!(
        (got[2]["FromPort"].clone(), got[2]["ToPort"].clone()),
        (8000.into(), 8100.into())
    );
    let template =
        serde_json::to_string(&f["Resources"]["WorkerSecurityGroup"]["Metadata"]).unwrap();
    assert!(
        template.contains("SECURITY_GROUP_EGRESS_PORT_RANGE_RULE"),
        "{template}"
    );
}

/// A function in a VPC: its subnets and its own group beside the file's, the same rules, and
/// the role's permissions for the network interfaces Lambda creates with it (the Lambda
/// developer guide's execution role permissions for a VPC).
#[test]
fn a_function_in_a_vpc_wears_the_same_rules_and_may_manage_its_interfaces() {
    let f = fleet(&format!(
        "region: eu-west-1\nworkers:\n  kind: lambda\n  network:\n    vpc: vpc-0a1b2c3d4e5f67890\n    subnets:\n      eu-west-1a: subnet-0a1b2c3d4e5f67890\n      eu-west-1b: subnet-1a1b2c3d4e5f67890\n{RULES}"
    ));
    let got = rules(&f);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!(got[0]["FromPort"], 443);
    assert_eq!(got[1..], expected()[..]);
    let function = f["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|r| r["Type"] == "AWS::Lambda::Function")
        .unwrap();
    // The policy that lets Lambda create its interfaces is attached before the function.
    assert_eq!(function["DependsOn"].as_str(), Some("WorkerFunctionPolicy"));
    let vpc = serde_json::to_value(&function["Properties"]["VpcConfig"]).unwrap();
    assert_eq!(
        vpc["SecurityGroupIds"],
        serde_json::json!([{"!Ref": "WorkerSecurityGroup"}, "sg-0fedcba9876543210"])
    );
    assert_eq!(
        vpc["SubnetIds"]["!Split"][1],
        "subnet-0a1b2c3d4e5f67890,subnet-1a1b2c3d4e5f67890"
    );
    let policy = serde_json::to_string(&f["Resources"]).unwrap();
    for action in [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ] {
        assert!(policy.contains(action), "{action}");
    }
    // Without a VPC: no group, no VpcConfig, no interface permissions.
    let f = fleet("region: eu-west-1\nworkers:\n  kind: lambda\n");
    let text = serde_json::to_string(&f["Resources"]).unwrap();
    assert!(!text.contains("VpcConfig") && !text.contains("ec2:CreateNetworkInterface"));
    assert!(f["Resources"].get("WorkerSecurityGroup").is_none());
}
