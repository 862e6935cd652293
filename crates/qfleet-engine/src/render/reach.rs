//! The AWS services the workers call, read from the fleet template they run with: every action
//! their roles are allowed, by the statement (its `Sid`) that allows it. A worker in a subnet
//! with no way out to the internet reaches a service only through a VPC endpoint for it, so
//! `plan` and `deploy` look for one per service (src/deploy/reach.rs).
//!
//! Reading the template, not a table per kind, keeps the list true to each kind and setting:
//! a statement added for jobs, secrets, a key or a private image brings its service with it.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The roles the workers' code (or, for tasks, ECS on their behalf) signs calls with, from
/// inside the workers' subnets.
const WORKER_ROLES: &[&str] = &[
    "WorkerRole",
    "WorkerTaskRole",
    "WorkerExecutionRole",
    super::ids::FUNCTION_ROLE,
];

/// A function's role allows what the Lambda service does for it outside the function's VPC:
/// it sends the function's logs "using the regular routing for logs" (Lambda developer guide,
/// <https://docs.aws.amazon.com/lambda/latest/dg/foundation-networking.html>), manages its
/// network interfaces, and its event source mapping polls and deletes the queue's messages
/// from a VPC owned by Lambda
/// (<https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html>: "Lambda polls the queue";
/// <https://docs.aws.amazon.com/lambda/latest/dg/with-msk-cluster-network.html>: an event
/// source mapping "resides in another AWS-managed VPC owned by Lambda").
const CALLED_BY_LAMBDA: &[&str] = &[
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
];

/// AWS managed policies whose services are known: Session Manager's agent calls `ssm`,
/// `ssmmessages` and `ec2messages` (Systems Manager user guide, "Improve the security of EC2
/// instances by using VPC endpoints for Systems Manager",
/// <https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html>).
const MANAGED: &[(&str, &[&str])] = &[(
    "AmazonSSMManagedInstanceCore",
    &["ssm", "ssmmessages", "ec2messages"],
)];

/// One service the workers call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The endpoint's service name less `com.amazonaws.REGION.` (`sqs`, `ecr.dkr`).
    pub name: String,
    /// What calls it: the statements' `Sid`s, or the managed policy.
    pub for_what: BTreeSet<String>,
}

/// What the workers call, by service, from the fleet template `template` (YAML or JSON); and
/// the managed policies of the stack file whose services cannot be known.
pub fn aws_services(template: &str) -> Result<(Vec<Service>, Vec<String>), String> {
    let t = super::long_form(template)?;
    let empty = serde_json::Map::new();
    let resources = t["Resources"].as_object().unwrap_or(&empty);
    let mut by_service: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut unknown = Vec::new();
    for role in WORKER_ROLES {
        let Some(r) = resources.get(*role) else {
            continue;
        };
        let lambda = *role == super::ids::FUNCTION_ROLE;
        let mut documents: Vec<&Value> = r["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| &p["PolicyDocument"])
            .collect();
        for res in resources.values() {
            let attached = res["Properties"]["Roles"]
                .as_array()
                .is_some_and(|roles| roles.iter().any(|x| x["Ref"] == *role));
            if attached
                && matches!(
                    res["Type"].as_str(),
                    Some("AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy")
                )
            {
                documents.push(&res["Properties"]["PolicyDocument"]);
            }
        }
        for doc in documents {
            for s in doc["Statement"].as_array().into_iter().flatten() {
                if s["Effect"] != "Allow" {
                    continue;
                }
                let sid = s["Sid"].as_str().unwrap_or("a declared statement");
                for action in strings(&s["Action"]) {
                    if lambda && CALLED_BY_LAMBDA.contains(&action) {
                        continue;
                    }
                    for name in endpoints_for(action) {
                        by_service.entry(name).or_default().insert(sid.to_string());
                    }
                }
            }
        }
        for arn in r["Properties"]["ManagedPolicyArns"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let text = match arn {
                Value::String(s) => s.clone(),
                other => other["Fn::Sub"].as_str().unwrap_or_default().to_string(),
            };
            let name = text.rsplit('/').next().unwrap_or_default();
            match MANAGED.iter().find(|(n, _)| *n == name) {
                Some((n, services)) => {
                    for s in *services {
                        by_service
                            .entry(s.to_string())
                            .or_default()
                            .insert(n.to_string());
                    }
                }
                None if !unknown.contains(&text) => unknown.push(text),
                None => {}
            }
        }
    }
    Ok((
        by_service
            .into_iter()
            .map(|(name, for_what)| Service { name, for_what })
            .collect(),
        unknown,
    ))
}

/// The endpoints `workers.network.endpoints: create` makes in the data stack: one for each
/// service the workers of those stages call, in their VPC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EndpointPlan {
    pub vpc: String,
    /// One subnet per availability zone: an interface endpoint takes at most one per zone
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-vpcendpoint.html>,
    /// `SubnetIds`). Each interface endpoint goes in those whose zone offers its service,
    /// found by deploy (`Endpoint…Subnets`, src/deploy/reach.rs).
    pub subnets: Vec<String>,
    /// Interface endpoints: `{id, service}` (`id` the logical id's suffix).
    pub interface: Vec<PlannedEndpoint>,
    /// Gateway endpoints (S3, DynamoDB: free, and in the subnets' route tables).
    pub gateway: Vec<PlannedEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedEndpoint {
    /// `Endpoint` + this is the resource's logical id, and the name of its parameter.
    pub id: String,
    pub service: String,
}

impl PlannedEndpoint {
    /// The data stack's parameter that says whether it makes this endpoint (`create`) or the
    /// VPC has one (`found`).
    pub fn parameter(&self) -> String {
        format!("Endpoint{}Source", self.id)
    }

    /// An interface endpoint's parameter of the subnets it goes in: those of the workers'
    /// zones that offer its service (set by deploy).
    pub fn subnets_parameter(&self) -> String {
        format!("Endpoint{}Subnets", self.id)
    }
}

/// Whether `service` is reached through a gateway endpoint (S3 and DynamoDB, "There is no
/// additional charge for using gateway endpoints",
/// <https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html>).
pub fn by_gateway(service: &str) -> bool {
    matches!(service, "s3" | "dynamodb")
}

/// The plan for the stages (`stages`, with their rendered fleet templates) whose network says
/// `endpoints: create`; `None` when none does. Validation keeps them in one VPC.
pub(crate) fn endpoint_plan(
    stages: &[(&crate::config::Environment, &str)],
) -> Result<Option<EndpointPlan>, String> {
    let mut plan: Option<EndpointPlan> = None;
    let mut zones = BTreeSet::new();
    let mut services = BTreeSet::new();
    for (stage, template) in stages {
        let crate::config::Network::Explicit(n) = &stage.spec.workers.network else {
            continue;
        };
        if n.endpoints != crate::config::EndpointsMode::Create {
            continue;
        }
        let p = plan.get_or_insert_with(|| EndpointPlan {
            vpc: n.vpc.clone(),
            subnets: Vec::new(),
            interface: Vec::new(),
            gateway: Vec::new(),
        });
        for (zone, subnet) in &n.subnets {
            if zones.insert(zone.clone()) {
                p.subnets.push(subnet.clone());
            }
        }
        services.extend(aws_services(template)?.0.into_iter().map(|s| s.name));
    }
    let Some(mut p) = plan else {
        return Ok(None);
    };
    for service in services {
        let id = service
            .split(['.', '-'])
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect::<String>();
        let planned = PlannedEndpoint { id, service };
        match by_gateway(&planned.service) {
            true => p.gateway.push(planned),
            false => p.interface.push(planned),
        }
    }
    Ok(Some(p))
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The endpoint services an action is called at. Most have the IAM prefix's name; the
/// exceptions are listed in "AWS services that integrate with AWS PrivateLink"
/// (<https://docs.aws.amazon.com/vpc/latest/privatelink/aws-services-privatelink-support.html>).
/// Pulling an image from ECR takes its API, its Docker registry and S3, where the layers are
/// ("they must access Amazon ECR to get the image manifest and then Amazon S3 to download the
/// actual image layers", <https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html>).
fn endpoints_for(action: &str) -> Vec<String> {
    let Some((prefix, name)) = action.split_once(':') else {
        return Vec::new();
    };
    let one = |s: &str| vec![s.to_string()];
    match prefix {
        "sts" if name == "AssumeRole" => Vec::new(),
        "cloudwatch" => one("monitoring"),
        "ecr" if name == "GetAuthorizationToken" => one("ecr.api"),
        "ecr" => ["ecr.api", "ecr.dkr", "s3"].map(String::from).to_vec(),
        "kinesis" => one("kinesis-streams"),
        "firehose" => one("kinesis-firehose"),
        "ses" => one("email"),
        "bedrock" if name.starts_with("Invoke") || name.starts_with("Converse") => {
            one("bedrock-runtime")
        }
        p => one(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Environment;

    fn env(yaml: &str) -> Environment {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.yaml");
        std::fs::write(&p, yaml).unwrap();
        crate::config::load(&p).unwrap().into_only()
    }

    fn fleet(e: &Environment) -> String {
        crate::render::render(e)
            .unwrap()
            .into_iter()
            .find(|s| s.role == crate::render::StackRole::Fleet)
            .unwrap()
            .template
    }

    fn names(s: &[Service]) -> Vec<&str> {
        s.iter().map(|s| s.name.as_str()).collect()
    }

    const NETWORK: &str = "  network:\n    vpc: vpc-0a1b2c3d4e5f67890\n    subnets:\n      eu-west-1a: subnet-0a1b2c3d4e5f67890\n      eu-west-1b: subnet-1a1b2c3d4e5f67890\n";

    #[test]
    fn an_instance_calls_what_its_role_allows_and_session_managers_services() {
        let e = env(&format!(
            "environment: reach\nregion: eu-west-1\nlab: true\nworkers:\n  min: 1\n  max: 2\n{NETWORK}"
        ));
        let (s, unknown) = aws_services(&fleet(&e)).unwrap();
        assert_eq!(
            names(&s),
            [
                "autoscaling",
                "cloudformation",
                "ec2messages",
                "logs",
                "monitoring",
                "s3",
                "sqs",
                "ssm",
                "ssmmessages"
            ]
        );
        let sqs = s.iter().find(|x| x.name == "sqs").unwrap();
        assert!(sqs.for_what.contains("ConsumeJobs"), "{sqs:?}");
        assert!(unknown.is_empty(), "{unknown:?}");
    }

    #[test]
    fn jobs_a_key_secrets_and_a_private_image_bring_their_services() {
        let e = env(&format!(
            "environment: reach\nregion: eu-west-1\nlab: true\nkms_key: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\njobs: {{}}\nworkers:\n  kind: fargate\n  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders:1\n  min: 1\n  max: 2\n  secrets:\n    DATABASE_URL: secretsmanager:orders/db\n  policies: [arn:aws:iam::123456789012:policy/orders-extra]\n{NETWORK}"
        ));
        let (s, unknown) = aws_services(&fleet(&e)).unwrap();
        for want in [
            "dynamodb",
            "ecr.api",
            "ecr.dkr",
            "kms",
            "logs",
            "s3",
            "secretsmanager",
            "sqs",
        ] {
            assert!(names(&s).contains(&want), "{want} not in {:?}", names(&s));
        }
        // The stack file's own managed policy: its services are not known.
        assert_eq!(unknown, ["arn:aws:iam::123456789012:policy/orders-extra"]);
    }

    #[test]
    fn a_function_in_a_vpc_needs_no_endpoint_for_what_lambda_does_for_it() {
        let e = env(&format!(
            "environment: reach\nregion: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n{NETWORK}"
        ));
        let (s, _) = aws_services(&fleet(&e)).unwrap();
        let n = names(&s);
        // Its logs, its network interfaces and its queue's polling are Lambda's.
        assert!(
            !n.contains(&"logs") && !n.contains(&"ec2") && !n.contains(&"sqs"),
            "{n:?}"
        );
        assert!(n.contains(&"s3"), "{n:?}");
    }

    #[test]
    fn an_action_is_called_at_its_services_endpoints() {
        assert_eq!(endpoints_for("cloudwatch:PutMetricData"), ["monitoring"]);
        assert_eq!(
            endpoints_for("ecr:BatchGetImage"),
            ["ecr.api", "ecr.dkr", "s3"]
        );
        assert_eq!(endpoints_for("ecr:GetAuthorizationToken"), ["ecr.api"]);
        assert_eq!(endpoints_for("dynamodb:PutItem"), ["dynamodb"]);
        assert!(endpoints_for("sts:AssumeRole").is_empty());
    }

    /// Each interface endpoint names its subnets by a parameter deploy sets (the zones that offer
    /// its service); its default is every subnet of the plan.
    #[test]
    fn an_interface_endpoint_takes_its_subnets_from_a_parameter_deploy_sets() {
        let e = env(&format!(
            "environment: reach\nregion: eu-west-1\nlab: true\nworkers:\n  min: 1\n  max: 2\n{NETWORK}    endpoints: create\n"
        ));
        let data = crate::render::render(&e)
            .unwrap()
            .into_iter()
            .find(|s| s.role == crate::render::StackRole::Data)
            .unwrap()
            .template;
        let t = crate::render::long_form(&data).unwrap();
        let p = &t["Parameters"]["EndpointLogsSubnets"];
        assert_eq!(p["Type"], "CommaDelimitedList");
        assert_eq!(
            p["Default"],
            "subnet-0a1b2c3d4e5f67890,subnet-1a1b2c3d4e5f67890"
        );
        assert_eq!(
            t["Resources"]["EndpointLogs"]["Properties"]["SubnetIds"],
            serde_json::json!({"Ref": "EndpointLogsSubnets"})
        );
        // A gateway endpoint has route tables, not subnets.
        assert!(t["Parameters"]["EndpointS3Subnets"].is_null());
    }
}
