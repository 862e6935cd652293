//! Which resources of one environment an action may touch: ARNs built from the names qfleet
//! gives (or CloudFormation generates from the stack name) for every resource type AWS lets a
//! policy name.

use crate::config::Environment;
use crate::render::ResourceNames;

/// The partition of a region (`aws`, `aws-cn`, `aws-us-gov`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Where one environment lives.
pub struct Place<'a> {
    pub env: &'a Environment,
    pub account: &'a str,
}

impl Place<'_> {
    fn region(&self) -> &str {
        &self.env.spec.region
    }

    fn p(&self) -> &'static str {
        partition(self.region())
    }

    pub fn bucket(&self) -> String {
        let names = ResourceNames::of(self.env);
        format!(
            "arn:{}:s3:::{}-{}-{}",
            self.p(),
            names.bucket,
            self.account,
            self.region()
        )
    }

    pub fn stacks(&self) -> Vec<String> {
        [self.env.data_stack_name(), self.env.fleet_stack_name()]
            .iter()
            .map(|s| {
                format!(
                    "arn:{}:cloudformation:{}:{}:stack/{s}/*",
                    self.p(),
                    self.region(),
                    self.account
                )
            })
            .collect()
    }

    /// Names CloudFormation generates (`qfleet-lab-data-DeadLetterQueue-1A2B`) start with the
    /// stack's name.
    fn generated(&self, service: &str, kind: &str, sep: &str, stack: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{kind}{sep}{stack}-*",
            self.p(),
            self.region(),
            self.account
        )
    }

    /// The ARNs `action` may be scoped to, for the resource types AWS lets it name;
    /// `None` when none of them is a resource of this environment (then only `"*"` works).
    pub fn arns(&self, action: &str, resource_types: &[String]) -> Option<Vec<String>> {
        let (service, _) = action.split_once(':')?;
        let names = ResourceNames::of(self.env);
        let (p, region, account) = (self.p(), self.region(), self.account);
        let data = self.env.data_stack_name();
        let fleet = self.env.fleet_stack_name();
        let mut out = Vec::new();
        for t in resource_types {
            match (service, t.as_str()) {
                ("cloudformation", "stack") => out.extend(self.stacks()),
                ("sqs", "queue") => {
                    out.push(format!("arn:{p}:sqs:{region}:{account}:{}", names.queue));
                    out.push(self.generated("sqs", "", "", &data));
                }
                ("sns", "topic") => {
                    out.push(self.generated("sns", "", "", &data));
                }
                ("s3", "bucket") => out.push(self.bucket()),
                ("s3", "object") => out.push(format!("{}/*", self.bucket())),
                ("autoscaling", "autoScalingGroup") => out.push(format!(
                    "arn:{p}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{}",
                    names.asg
                )),
                ("iam", "role") => out.push(format!("arn:{p}:iam::{account}:role/{fleet}-*")),
                ("iam", "instanceprofile") => {
                    out.push(format!("arn:{p}:iam::{account}:instance-profile/{fleet}-*"))
                }
                ("iam", "policy") => out.push(format!("arn:{p}:iam::{account}:policy/{fleet}-*")),
                // DescribeAlarms is authorized on the region's alarms as a whole.
                ("cloudwatch", "alarm") if action.starts_with("cloudwatch:Describe") => {
                    out.push(format!("arn:{p}:cloudwatch:{region}:{account}:alarm:*"))
                }
                // Alarm names are generated from either stack's name.
                ("cloudwatch", "alarm") => {
                    out.push(self.generated("cloudwatch", "alarm", ":", &data));
                    out.push(self.generated("cloudwatch", "alarm", ":", &fleet));
                }
                // EC2 resources have generated ids: the environment's region and account.
                ("ec2", "image") => out.push(format!("arn:{p}:ec2:{region}::image/*")),
                ("ec2", _) => out.push(format!("arn:{p}:ec2:{region}:{account}:*")),
                ("lambda", "function") => out.push(format!(
                    "arn:{p}:lambda:{region}:{account}:function:{}",
                    names.function
                )),
                // Mappings are named by generated UUIDs: the region's and account's.
                ("lambda", "eventSourceMapping") => out.push(format!(
                    "arn:{p}:lambda:{region}:{account}:event-source-mapping:*"
                )),
                ("logs", "log-group") => {
                    let group = format!(
                        "arn:{p}:logs:{region}:{account}:log-group:/aws/lambda/{}",
                        names.function
                    );
                    out.push(format!("{group}:*"));
                    out.push(group);
                }
                ("ssm", "parameter") if self.env.spec.workers.ami.starts_with('/') => out.push(
                    format!("arn:{p}:ssm:{region}::parameter{}", self.env.spec.workers.ami),
                ),
                // A key named by ARN or id; an alias leaves the action on "*".
                ("kms", "key") => match self.env.spec.kms_key.as_deref() {
                    Some(k) if k.starts_with("arn:") => out.push(k.to_string()),
                    Some(k) if !k.contains('/') && !k.starts_with("alias") => {
                        out.push(format!("arn:{p}:kms:{region}:{account}:key/{k}"))
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        out.sort();
        out.dedup();
        (!out.is_empty()).then_some(out)
    }

    /// The service the worker role is passed to: EC2 (the launch template's instance profile)
    /// or Lambda (the function's execution role).
    pub fn worker_service(&self) -> &'static str {
        match self.env.spec.workers.kind {
            crate::config::schema::WorkerKind::Ec2 => "ec2.amazonaws.com",
            crate::config::schema::WorkerKind::Lambda => "lambda.amazonaws.com",
        }
    }

    /// The worker role (EC2's instance role or the function's execution role).
    pub fn worker_role(&self) -> String {
        format!(
            "arn:{}:iam::{}:role/{}-*",
            self.p(),
            self.account,
            self.env.fleet_stack_name()
        )
    }

    /// Auto Scaling's service-linked role, created by the first group in an account.
    pub fn autoscaling_service_linked_role(&self) -> String {
        format!(
            "arn:{}:iam::{}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
            self.p(),
            self.account
        )
    }
}
