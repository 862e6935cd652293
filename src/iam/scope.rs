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

/// Every (service, resource type) [`Place::arns_of_type`] names ARNs for, spelled as the
/// Service Authorization Reference spells them (a test checks each against `reference.json`);
/// `("ec2", "*")` stands for every other EC2 type, `("ecs", "*")` for every ECS type.
pub const SCOPED_TYPES: &[(&str, &str)] = &[
    ("cloudformation", "stack"),
    ("sqs", "queue"),
    ("sns", "topic"),
    ("s3", "bucket"),
    ("s3", "object"),
    ("autoscaling", "autoScalingGroup"),
    ("iam", "role"),
    ("iam", "instance-profile"),
    ("iam", "policy"),
    ("cloudwatch", "alarm"),
    ("ec2", "image"),
    ("ec2", "snapshot"),
    ("ec2", "*"),
    ("lambda", "function"),
    ("lambda", "eventSourceMapping"),
    ("ecs", "*"),
    ("application-autoscaling", "ScalableTarget"),
    ("events", "rule-on-default-event-bus"),
    ("ecr", "repository"),
    ("logs", "log-group"),
    ("ssm", "parameter"),
    ("kms", "key"),
    ("dynamodb", "table"),
    ("dynamodb", "index"),
];

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

    /// qfleet's code bucket, when the environment's function has a deployment package.
    pub fn code_bucket(&self) -> Option<String> {
        self.env.function_code.as_ref()?.package.as_ref().map(|_| {
            let names = ResourceNames::of(self.env);
            format!(
                "arn:{}:s3:::{}-{}-{}",
                self.p(),
                names.code_bucket,
                self.account,
                self.region()
            )
        })
    }

    /// The ECR repository of the worker function's image (`workers.lambda.image`), in the
    /// account and Region the image URI names (validation keeps it the stack's Region).
    pub fn image_repository(&self) -> Option<String> {
        let w = &self.env.spec.workers;
        if w.kind != crate::config::schema::WorkerKind::Lambda {
            return None;
        }
        let ecr = crate::config::image::parse(w.lambda.image.as_deref()?)
            .ok()?
            .ecr?;
        Some(format!(
            "arn:{}:ecr:{}:{}:repository/{}",
            self.p(),
            ecr.region,
            ecr.account,
            ecr.repository
        ))
    }

    /// Every fleet stack a stage of this environment's pipeline may have, `qfleet-ENV--*`:
    /// environment names hold no `--`, so no other environment's stack matches.
    pub fn stage_stacks(&self) -> String {
        format!(
            "arn:{}:cloudformation:{}:{}:stack/qfleet-{}--*/*",
            self.p(),
            self.region(),
            self.account,
            self.env.name
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
    /// `None` when none of them is a resource of this environment: then the action is needed
    /// only for resources qfleet's templates do not declare (users, groups, other services'
    /// resources) and is not granted.
    pub fn arns(&self, action: &str, resource_types: &[String]) -> Option<Vec<String>> {
        let (service, _) = action.split_once(':')?;
        let mut out = Vec::new();
        for t in resource_types {
            out.extend(self.arns_of_type(action, service, t));
        }
        out.sort();
        out.dedup();
        (!out.is_empty()).then_some(out)
    }

    /// This environment's ARNs of one resource type (as the Service Authorization Reference
    /// spells it) for `action`; every arm is listed in [`SCOPED_TYPES`].
    pub fn arns_of_type(&self, action: &str, service: &str, resource_type: &str) -> Vec<String> {
        let names = ResourceNames::of(self.env);
        let (p, region, account) = (self.p(), self.region(), self.account);
        let data = self.env.data_stack_name();
        let fleet = self.env.fleet_stack_name();
        match (service, resource_type) {
            ("cloudformation", "stack") => self.stacks(),
            ("sqs", "queue") => vec![
                format!("arn:{p}:sqs:{region}:{account}:{}", names.queue),
                self.generated("sqs", "", "", &data),
                // A pipeline's stages' queues, `qfleet-ENV--STAGE-jobs`, those the stack file
                // names and those a deploy removes with a stage taken out of it (environment
                // names hold no `--`: no other environment's queue matches).
                format!("arn:{p}:sqs:{region}:{account}:qfleet-{}--*", self.env.name),
            ],
            ("sns", "topic") => vec![self.generated("sns", "", "", &data)],
            ("s3", "bucket") => [Some(self.bucket()), self.code_bucket()]
                .into_iter()
                .flatten()
                .collect(),
            ("s3", "object") => [
                Some(format!("{}/*", self.bucket())),
                // Only qfleet's packages: the keys it writes, Lambda reads and teardown deletes.
                self.code_bucket().map(|b| format!("{b}/lambda/*")),
            ]
            .into_iter()
            .flatten()
            .collect(),
            ("autoscaling", "autoScalingGroup") => vec![format!(
                "arn:{p}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{}",
                names.asg
            )],
            ("iam", "role") => vec![format!("arn:{p}:iam::{account}:role/{fleet}-*")],
            ("iam", "instance-profile") => {
                vec![format!("arn:{p}:iam::{account}:instance-profile/{fleet}-*")]
            }
            ("iam", "policy") => vec![format!("arn:{p}:iam::{account}:policy/{fleet}-*")],
            // DescribeAlarms is authorized on the region's alarms as a whole.
            ("cloudwatch", "alarm") if action.starts_with("cloudwatch:Describe") => {
                vec![format!("arn:{p}:cloudwatch:{region}:{account}:alarm:*")]
            }
            // Alarm names are generated from either stack's name; Fargate's target tracking
            // alarms are named after the service (`TargetTracking-service/CLUSTER/SERVICE-
            // AlarmHigh-…`), and Application Auto Scaling checks that the caller may make them ("Permissions
            // validation for API calls on target resources", Application Auto Scaling User
            // Guide).
            ("cloudwatch", "alarm") => {
                let mut alarms = vec![
                    self.generated("cloudwatch", "alarm", ":", &data),
                    self.generated("cloudwatch", "alarm", ":", &fleet),
                ];
                alarms.push(format!(
                    "arn:{p}:cloudwatch:{region}:{account}:alarm:TargetTracking-service/{}/{}-*",
                    names.cluster, names.service
                ));
                alarms
            }
            // Public images and snapshots have no account in their ARN.
            ("ec2", "image") => vec![format!("arn:{p}:ec2:{region}::image/*")],
            ("ec2", "snapshot") => vec![format!("arn:{p}:ec2:{region}::snapshot/*")],
            // Other EC2 resources have generated ids: the environment's region and account.
            ("ec2", _) => vec![format!("arn:{p}:ec2:{region}:{account}:*")],
            // Both names the worker function may have (zip package, container image): a
            // deploy that switches between them deletes the other one.
            // With `scaling.metric: high_resolution`, the metric's publisher too.
            ("lambda", "function") => names
                .function_names
                .iter()
                .chain(self.publisher(&names))
                .map(|name| format!("arn:{p}:lambda:{region}:{account}:function:{name}"))
                .collect(),
            // The rule that starts the publisher (named as the function).
            ("events", "rule-on-default-event-bus") => self
                .publisher(&names)
                .map(|name| format!("arn:{p}:events:{region}:{account}:rule/{name}"))
                .into_iter()
                .collect(),
            // The repository of a function's container image, in whichever account holds it.
            ("ecr", "repository") => self.image_repository().into_iter().collect(),
            // Fargate workers: every ECS resource of the environment, whichever type the action
            // names: its cluster, what lives under the cluster (the service, its deployments,
            // its tasks) and the task definition's revisions. One set for every ECS action
            // keeps a policy for many environments within IAM's size limits; no other
            // environment's names match (`/qfleet-ENV/` ends at the slash, the family at `:`).
            ("ecs", _) => vec![
                format!("arn:{p}:ecs:{region}:{account}:cluster/{}", names.cluster),
                format!("arn:{p}:ecs:{region}:{account}:*/{}/*", names.cluster),
                format!(
                    "arn:{p}:ecs:{region}:{account}:task-definition/{}:*",
                    names.task_family
                ),
            ],
            // A scalable target's ARN ends in an id Application Auto Scaling generates: the
            // region's and account's.
            ("application-autoscaling", "ScalableTarget") => vec![format!(
                "arn:{p}:application-autoscaling:{region}:{account}:scalable-target/*"
            )],
            // Mappings are named by generated UUIDs: the region's and account's.
            ("lambda", "eventSourceMapping") => vec![format!(
                "arn:{p}:lambda:{region}:{account}:event-source-mapping:*"
            )],
            // The workers' log group, whichever kind (EC2's journal, the function's lines):
            // one pattern covers the group's ARN with and without the `:*` that some actions
            // are authorized on, so that a policy for many environments stays within IAM's
            // size limits. No qfleet name extends either group's name.
            ("logs", "log-group") => [&names.worker_log_group, &names.function_log_group]
                .into_iter()
                .chain(self.publisher(&names).map(|_| &names.publisher_log_group))
                .map(|name| format!("arn:{p}:logs:{region}:{account}:log-group:{name}*"))
                .collect(),
            ("ssm", "parameter") if self.env.spec.workers.ami.starts_with('/') => {
                vec![format!(
                    "arn:{p}:ssm:{region}::parameter{}",
                    self.env.spec.workers.ami
                )]
            }
            // The stack file names its key by ARN (validated); without one no key is used.
            ("kms", "key") => self.env.spec.kms_key.iter().cloned().collect(),
            // The job table (`jobs:`) and its index, only for an environment that has them.
            // Its name is CloudFormation's, `qfleet-ENV-data-JobTable-…`: no other
            // environment's matches (environment names hold no `-data-JobTable-`).
            ("dynamodb", "table") if self.env.spec.jobs.is_some() => vec![format!(
                "arn:{p}:dynamodb:{region}:{account}:table/{}*",
                names.job_table
            )],
            ("dynamodb", "index") if self.env.spec.jobs.is_some() => vec![format!(
                "arn:{p}:dynamodb:{region}:{account}:table/{}*/index/*",
                names.job_table
            )],
            _ => Vec::new(),
        }
    }

    /// The high-resolution metric's publisher (function and rule name), only for an
    /// environment that has one (`scaling.metric: high_resolution`, EC2 workers).
    fn publisher<'n>(&self, names: &'n ResourceNames) -> Option<&'n String> {
        let spec = &self.env.spec;
        (spec.scaling.metric == crate::config::schema::ScalingMetric::HighResolution
            && self.env.kind().high_resolution())
        .then_some(&names.publisher)
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
        self.service_linked_role("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling")
    }

    fn service_linked_role(&self, service: &str, name: &str) -> String {
        format!(
            "arn:{}:iam::{}:role/aws-service-role/{service}/{name}",
            self.p(),
            self.account
        )
    }

    /// The service-linked roles (ARN, service principal) the handler of `resource_type` may
    /// create: Auto Scaling's for a group, ECS's for a cluster, and Application Auto
    /// Scaling's role for ECS services for a scalable target ("Service-linked roles for
    /// Application Auto Scaling", https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html).
    pub fn service_linked_roles(&self, resource_type: &str) -> Vec<(String, &'static str)> {
        match resource_type {
            "AWS::AutoScaling::AutoScalingGroup" => vec![(
                self.autoscaling_service_linked_role(),
                "autoscaling.amazonaws.com",
            )],
            "AWS::ECS::Cluster" => vec![(
                self.service_linked_role("ecs.amazonaws.com", "AWSServiceRoleForECS"),
                "ecs.amazonaws.com",
            )],
            "AWS::ApplicationAutoScaling::ScalableTarget" => vec![(
                self.service_linked_role(
                    "ecs.application-autoscaling.amazonaws.com",
                    "AWSServiceRoleForApplicationAutoScaling_ECSService",
                ),
                "ecs.application-autoscaling.amazonaws.com",
            )],
            _ => Vec::new(),
        }
    }
}
