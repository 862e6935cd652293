//! Which resources of one environment an action may touch: ARNs built from the names qfleet
//! gives (or CloudFormation generates from the stack name) for every resource type AWS lets a
//! policy name.

use crate::config::Environment;
use crate::render::ResourceNames;

/// The partition of a region (`aws`, `aws-cn`, `aws-us-gov`).
pub(super) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Where one environment lives.
pub(super) struct Place<'a> {
    pub(super) env: &'a Environment,
    pub(super) account: &'a str,
    /// For a target deployed through StackSets (`rollout.mode: stack_sets`): its stack file's
    /// environment name, whose stack sets' instances are its stacks.
    pub(super) stack_sets: Option<&'a str>,
}

/// The longest name AWS gives a resource of a type whose names CloudFormation generates in
/// qfleet's templates, and the longest logical id qfleet's templates may give such a resource
/// (a test checks every rendered template): IAM role names are at most 64 characters
/// (<https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html>), instance
/// profile and managed policy names 128
/// (<https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateInstanceProfile.html>,
/// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html>), queue names 80
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html>).
pub(super) const ROLE_NAMES: GeneratedNames = GeneratedNames {
    limit: 64,
    longest_logical_id: 20,
};
pub(super) const PROFILE_NAMES: GeneratedNames = GeneratedNames {
    limit: 128,
    longest_logical_id: 15,
};
/// A later stage's producers' policy is `StageNAMEProducerPolicy` (`sources.messages`).
pub(super) const POLICY_NAMES: GeneratedNames = GeneratedNames {
    limit: 128,
    longest_logical_id: "Stage".len() + crate::config::MAX_STAGE_NAME_LEN + "ProducerPolicy".len(),
};
/// A later stage's dead-letter queue is `StageNAMEDeadLetterQueue`, its name at most
/// [`MAX_STAGE_NAME_LEN`](crate::config::MAX_STAGE_NAME_LEN) characters.
pub(super) const QUEUE_NAMES: GeneratedNames = GeneratedNames {
    limit: 80,
    longest_logical_id: "Stage".len() + crate::config::MAX_STAGE_NAME_LEN + "DeadLetterQueue".len(),
};

/// A resource type's name limit and the longest logical id of such a resource in qfleet's
/// templates.
#[derive(Debug, Clone, Copy)]
pub(super) struct GeneratedNames {
    limit: usize,
    pub(super) longest_logical_id: usize,
}

/// The random part CloudFormation ends a generated name with, at its longest: 12 characters in
/// AWS's examples (`MyStack-MyBucket-abcdefghijk1`, "CloudFormation resource custom naming",
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html>);
/// 13 here, so that a longer one still fits the model.
const RANDOM_PART: usize = 13;

impl GeneratedNames {
    /// The pattern that matches every name CloudFormation may generate for such a resource of
    /// a stack named `stack…` (the stack's name, or its start: a stack set instance's stack
    /// ends in an id). A generated name is the stack's name, the logical id and a random part
    /// (the page above); a name that would be longer than the type allows has its stack's
    /// name cut, as in AWS's own example of a stack set instance's queue,
    /// `StackSet-stack-set-drift-example-b7fde68e-e541-44c2-b33d-ef2-Queue-6FNDEY4AUEPV`
    /// ("Detecting unmanaged configuration changes in stack sets",
    /// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-drift.html>).
    /// AWS documents no rule for the cut, so the pattern keeps only as much of `stack…-` as
    /// survives when the logical id is kept whole and the random part is at its longest: the
    /// least of the stack's name any cut leaves.
    pub(super) fn pattern(&self, stack: &str) -> String {
        let room = self
            .limit
            .saturating_sub(self.longest_logical_id + RANDOM_PART + 2);
        let prefix = format!("{stack}-");
        let kept: String = prefix.chars().take(room).collect();
        format!("{kept}*")
    }
}

/// Every (service, resource type) [`Place::arns_of_type`] names ARNs for, spelled as the
/// Service Authorization Reference spells them (a test checks each against `reference.json`);
/// `("ec2", "*")` stands for every other EC2 type, `("ecs", "*")` for every ECS type.
#[cfg(test)]
pub(super) const SCOPED_TYPES: &[(&str, &str)] = &[
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
    ("lambda", "capacityProvider"),
    ("codedeploy", "application"),
    ("codedeploy", "deploymentgroup"),
    ("codedeploy", "deploymentconfig"),
    ("ecs", "*"),
    ("application-autoscaling", "ScalableTarget"),
    ("events", "rule-on-default-event-bus"),
    ("ecr", "repository"),
    ("logs", "log-group"),
    ("ssm", "parameter"),
    ("kms", "key"),
    ("dynamodb", "table"),
    ("dynamodb", "index"),
    ("scheduler", "schedule-group"),
    ("scheduler", "schedule"),
    ("chatbot", "ChatbotConfiguration"),
    ("budgets", "budget"),
    ("billing", "billingview"),
];

impl<'a> Place<'a> {
    /// An environment deployed by its own stacks.
    pub(super) fn new(env: &'a Environment, account: &'a str) -> Place<'a> {
        Place {
            env,
            account,
            stack_sets: None,
        }
    }

    /// The start of the name of the stack qfleet calls `own`: that name; for a StackSets
    /// target, `StackSet-` and its stack set's name, which its instance's stack begins with
    /// (AWS names it after the stack set and ends it in an id, as in
    /// `StackSet-stack-set-drift-example-b7fde68e-…`,
    /// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-drift.html>).
    fn stack(&self, own: &str) -> String {
        match self.stack_sets {
            None => own.to_string(),
            Some(_) => {
                let set = self
                    .env
                    .stack_set_names()
                    .into_iter()
                    .find(|(o, _)| o == own);
                format!(
                    "StackSet-{}",
                    set.map_or_else(|| own.to_string(), |(_, set)| set)
                )
            }
        }
    }

    fn data_stack(&self) -> String {
        self.stack(&self.env.data_stack_name())
    }

    fn fleet_stack(&self) -> String {
        self.stack(&self.env.fleet_stack_name())
    }

    /// A stack's ARN pattern, from the start of its name: a StackSets instance's stack ends
    /// in a UUID (`-b7fde68e-e541-44c2-b33d-ef2e2988071a`), matched character for character
    /// so that no other stack set's instance matches (`qfleet-orders-data-data` of a file
    /// named `orders-data`).
    fn stack_arn(&self, stack: &str) -> String {
        let name = match self.stack_sets {
            None => stack.to_string(),
            Some(_) => format!("{stack}-????????-????-????-????-????????????"),
        };
        format!(
            "arn:{}:cloudformation:{}:{}:stack/{name}/*",
            self.p(),
            self.region(),
            self.account
        )
    }

    fn region(&self) -> &str {
        &self.env.spec.region
    }

    fn p(&self) -> &'static str {
        partition(self.region())
    }

    fn bucket(&self) -> String {
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
    fn code_bucket(&self) -> Option<String> {
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
    /// qfleet's lock bucket of the account and Region ([`lock_bucket`]).
    pub(super) fn lock_bucket(&self) -> String {
        format!(
            "arn:{}:s3:::{}",
            self.p(),
            lock_bucket(self.account, self.region())
        )
    }

    /// The environment's lock object in it (its name: every copy's, for a copies' pattern).
    pub(super) fn lock_object(&self) -> String {
        format!("{}/{}", self.lock_bucket(), self.env.name)
    }

    /// The repository of the images qfleet builds for the environment (`qfleet/ENV`).
    pub(super) fn own_repository(&self) -> String {
        format!(
            "arn:{}:ecr:{}:{}:repository/{}",
            self.p(),
            self.region(),
            self.account,
            crate::config::image_repository(self.env)
        )
    }

    /// The image repository of the environment named `env` (`qfleet/ENV`), in this place.
    pub(super) fn repository_of(&self, env: &str) -> String {
        format!(
            "arn:{}:ecr:{}:{}:repository/qfleet/{env}",
            self.p(),
            self.region(),
            self.account
        )
    }

    /// The ARN pattern of the stack named `stack`, in this place (another environment's
    /// stack: never a StackSets instance's name).
    pub(super) fn stack_arn_of(&self, stack: &str) -> String {
        format!(
            "arn:{}:cloudformation:{}:{}:stack/{stack}/*",
            self.p(),
            self.region(),
            self.account
        )
    }

    pub(super) fn image_repository(&self) -> Option<String> {
        let w = &self.env.spec.workers;
        if w.kind != crate::config::WorkerKind::Lambda {
            return None;
        }
        if self.env.image_build.is_some() {
            return Some(format!(
                "arn:{}:ecr:{}:{}:repository/{}",
                self.p(),
                self.region(),
                self.account,
                crate::config::image_repository(self.env)
            ));
        }
        let ecr = crate::config::parse_image(w.lambda.image.as_ref()?.uri()?)
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
    /// For a StackSets target, `StackSet-qfleet-FILE--*`: its file's stages' stack sets'.
    pub(super) fn stage_stacks(&self) -> String {
        let start = match self.stack_sets {
            None => format!("qfleet-{}--", self.env.resource_name()),
            Some(file) => format!("StackSet-qfleet-{file}--"),
        };
        format!(
            "arn:{}:cloudformation:{}:{}:stack/{start}*/*",
            self.p(),
            self.region(),
            self.account
        )
    }

    /// Every environment's data stack in the environment's account and Region
    /// (`qfleet-*-data`), which `plan`, `deploy` and `status` read to find the environments
    /// its file made and no longer makes (`crate::environments::retired`): a copy or target
    /// dropped, `environment:` renamed, or its file renamed with it. DescribeStacks only, a
    /// read. `None` for a StackSets target (its stack sets' instances are its record).
    pub(super) fn other_data_stacks(&self) -> Option<String> {
        match self.stack_sets {
            Some(_) => None,
            None => Some(self.stack_arn("qfleet-*-data")),
        }
    }

    /// The environment's own data stack in every Region: where it ran before its file moved
    /// it, which the search reads there, found by a scan of the Regions or by its record
    /// (`crate::environments::retired`). `None` for a StackSets target.
    pub(super) fn moved_stacks(&self) -> Option<String> {
        self.stack_sets.is_none().then(|| {
            format!(
                "arn:{}:cloudformation:*:{}:stack/{}/*",
                self.p(),
                self.account,
                self.data_stack()
            )
        })
    }

    pub(super) fn stacks(&self) -> Vec<String> {
        [self.data_stack(), self.fleet_stack()]
            .iter()
            .map(|s| self.stack_arn(s))
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
    pub(super) fn arns(&self, action: &str, resource_types: &[String]) -> Option<Vec<String>> {
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
    pub(super) fn arns_of_type(
        &self,
        action: &str,
        service: &str,
        resource_type: &str,
    ) -> Vec<String> {
        let names = ResourceNames::of(self.env);
        let (p, region, account) = (self.p(), self.region(), self.account);
        let data = self.data_stack();
        let fleet = self.fleet_stack();
        match (service, resource_type) {
            ("cloudformation", "stack") => self.stacks(),
            ("sqs", "queue") => self.queue_arns(&names, &data),
            ("sns", "topic") => self.topic_arns(action, &names, &data),
            // The chat channels (`alerts`), named `qfleet-ENV-REGION-slack` and `-teams`:
            // `arn:PARTITION:chatbot::ACCOUNT:chat-configuration/TYPE/NAME` ("Resource types
            // defined by AWS Chatbot",
            // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awschatbot.html).
            ("chatbot", "ChatbotConfiguration") => vec![format!(
                "arn:{p}:chatbot::{account}:chat-configuration/*/qfleet-{}-{region}-*",
                self.env.resource_name()
            )],
            // The budget (`budget`), `qfleet-ENV-REGION`:
            // `arn:PARTITION:budgets::ACCOUNT:budget/NAME` ("Resource types defined by AWS
            // Budget Service",
            // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbudgetservice.html).
            // The name ends in the digest of its thresholds (`render::budget_name`): one `?`
            // each, so that no other environment's budget matches.
            ("budgets", "budget") => vec![format!(
                "arn:{p}:budgets::{account}:budget/{}{}",
                names.budget,
                "?".repeat(crate::render::BUDGET_DIGEST_LEN)
            )],
            // The account's own billing view, which every budget belongs to: CloudFormation's
            // handler of AWS::Budgets::Budget reads it (`billing:GetBillingViewData` in the
            // resource's handler permissions). Read only, and only with a budget (the only
            // resource type whose handlers name the action). The default view is
            // `billingview/primary` ("Resource types defined by AWS Billing",
            // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbilling.html).
            ("billing", "billingview") => {
                vec![format!("arn:{p}:billing::{account}:billingview/primary")]
            }
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
            ("iam", "role") => {
                let mut roles = vec![self.worker_role()];
                roles.extend(self.data_role());
                roles
            }
            // The environment's schedule group and its schedules (`sources.schedules`).
            ("scheduler", "schedule-group") => vec![format!(
                "arn:{p}:scheduler:{region}:{account}:schedule-group/qfleet-{}",
                self.env.resource_name()
            )],
            ("scheduler", "schedule") => vec![format!(
                "arn:{p}:scheduler:{region}:{account}:schedule/qfleet-{}/*",
                self.env.resource_name()
            )],
            ("iam", "instance-profile") => vec![format!(
                "arn:{p}:iam::{account}:instance-profile/{}",
                PROFILE_NAMES.pattern(&fleet)
            )],
            ("iam", "policy") => self.policy_arns(&data, &fleet),
            ("cloudwatch", "alarm") => self.alarm_arns(action, &names, &data, &fleet),
            // Public images and snapshots have no account in their ARN.
            ("ec2", "image") => vec![format!("arn:{p}:ec2:{region}::image/*")],
            ("ec2", "snapshot") => vec![format!("arn:{p}:ec2:{region}::snapshot/*")],
            // Other EC2 resources have generated ids: the environment's region and account.
            ("ec2", _) => vec![format!("arn:{p}:ec2:{region}:{account}:*")],
            ("lambda", "function") => self.function_arns(&names),
            // The worker function's capacity provider (`workers.lambda.managed_instances`),
            // `qfleet-ENV-capacity-` and a digest of DIGEST_LEN hex digits, one `?` each:
            // `arn:PARTITION:lambda:REGION:ACCOUNT:capacity-provider:NAME` ("Resource types
            // defined by AWS Lambda",
            // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html).
            ("lambda", "capacityProvider") => self
                .capacity_provider()
                .map(|name| format!("arn:{p}:lambda:{region}:{account}:capacity-provider:{name}"))
                .into_iter()
                .collect(),
            ("codedeploy", "application" | "deploymentgroup" | "deploymentconfig") => {
                self.codedeploy_arns(&names)
            }
            // The rules that start the publisher and the sweeper (named as their functions).
            ("events", "rule-on-default-event-bus") => self
                .publisher(&names)
                .into_iter()
                .chain(self.sweeper(&names))
                .chain(self.budget_hold(&names))
                .chain(
                    self.env
                        .spec
                        .alerts
                        .as_ref()
                        .map(|_| &names.rolled_back_rule),
                )
                .map(|name| format!("arn:{p}:events:{region}:{account}:rule/{name}"))
                .collect(),
            // The repository of a function's container image, in whichever account holds it.
            ("ecr", "repository") => self.image_repository().into_iter().collect(),
            ("ecs", _) => self.ecs_arns(&names),
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
                .chain(self.sweeper(&names).map(|_| &names.sweeper_log_group))
                .chain(
                    self.budget_hold(&names)
                        .map(|_| &names.budget_hold_log_group),
                )
                .map(|name| format!("arn:{p}:logs:{region}:{account}:log-group:{name}*"))
                .collect(),
            ("ssm", "parameter") if self.env.spec.workers.machine_image().starts_with('/') => {
                vec![format!(
                    "arn:{p}:ssm:{region}::parameter{}",
                    self.env.spec.workers.machine_image()
                )]
            }
            // The stack file names its key by ARN (validated); without one no key is used.
            ("kms", "key") => self.env.spec.kms_key.iter().cloned().collect(),
            ("dynamodb", "table" | "index") if self.env.spec.jobs.is_some() => {
                self.job_table_arns(resource_type, &names)
            }
            _ => Vec::new(),
        }
    }

    /// The queues: the environment's and its priority lane, those its data stack generates, a
    /// pipeline's stages', a FIFO queue's named dead-letter queue and `jobs`' response queue.
    fn queue_arns(&self, names: &ResourceNames, data: &str) -> Vec<String> {
        let (p, region, account) = (self.p(), self.region(), self.account);
        let mut queues = vec![
            format!("arn:{p}:sqs:{region}:{account}:{}", names.queue),
            // The priority lane (`queue.priority`), named whether or not the file has one: a
            // deploy that takes it out deletes it.
            format!("arn:{p}:sqs:{region}:{account}:{}", names.priority_queue),
            format!(
                "arn:{p}:sqs:{region}:{account}:{}",
                QUEUE_NAMES.pattern(data)
            ),
            // A pipeline's stages' queues, `qfleet-ENV--STAGE-jobs`, those the stack file
            // names and those a deploy removes with a stage taken out of it (environment names
            // hold no `--`: no other environment's queue matches).
            format!(
                "arn:{p}:sqs:{region}:{account}:qfleet-{}--*",
                self.env.resource_name()
            ),
        ];
        // A FIFO queue's dead-letter queue is named, for its name must end in `.fifo`
        // (templates/data.yaml.j2): `qfleet-ENV-jobs-dlq.fifo`.
        if self.env.spec.queue.fifo {
            queues.push(format!(
                "arn:{p}:sqs:{region}:{account}:{}-dlq.fifo",
                names.queue.trim_end_matches(".fifo")
            ));
        }
        // The response queue of `jobs` (`qfleet-ENV-responses`).
        if self.env.spec.jobs.is_some() {
            queues.push(format!(
                "arn:{p}:sqs:{region}:{account}:{}",
                names.response_queue
            ));
        }
        queues
    }

    /// The topics: the data stack's, and with alerts the named alarm topic
    /// (`qfleet-ENV-alerts`). The topics the file subscribes its queues to
    /// (`sources.topics`) are their owners': only the subscription's own actions name them.
    fn topic_arns(&self, action: &str, names: &ResourceNames, data: &str) -> Vec<String> {
        let (p, region, account) = (self.p(), self.region(), self.account);
        let mut topics = vec![self.generated("sns", "", "", data)];
        if self.env.spec.alerts.is_some() {
            topics.push(format!(
                "arn:{p}:sns:{region}:{account}:{}",
                names.alarm_topic
            ));
        }
        if action.to_ascii_lowercase().contains("subscri") {
            for stage in self.env.stages() {
                topics.extend(stage.spec.sources.topics.iter().map(|t| t.arn.clone()));
            }
        }
        topics
    }

    /// The fleet's policies, and the data stack's: the producers' (`sources.messages`), the
    /// job sweeper's (`jobs:`), the chat channels' role's.
    fn policy_arns(&self, data: &str, fleet: &str) -> Vec<String> {
        let (p, account) = (self.p(), self.account);
        let mut policies = vec![format!(
            "arn:{p}:iam::{account}:policy/{}",
            POLICY_NAMES.pattern(fleet)
        )];
        if self
            .env
            .stages()
            .iter()
            .any(|s| s.spec.sources.messages.is_some())
            || self.env.spec.jobs.is_some()
            || self.holds()
            || self.chat()
        {
            policies.push(format!(
                "arn:{p}:iam::{account}:policy/{}",
                POLICY_NAMES.pattern(data)
            ));
        }
        policies
    }

    /// The CodeDeploy application that shifts the worker function's alias, named as the
    /// function (either name: a switch between a zip package and an image replaces it), its
    /// deployment group, and the predefined configurations it may use (templates/lambda.yaml.j2;
    /// ARN formats: "Actions, resources, and condition keys for AWS CodeDeploy",
    /// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodedeploy.html).
    /// One set for the three types (as ECS's): an action is authorized on the ARN of the
    /// resource it acts on, so an application's ARN grants nothing to a deployment group's
    /// action; and one statement per environment keeps a policy for many environments within
    /// IAM's size limits.
    fn codedeploy_arns(&self, names: &ResourceNames) -> Vec<String> {
        let (p, region, account) = (self.p(), self.region(), self.account);
        let arn = |what: &str| format!("arn:{p}:codedeploy:{region}:{account}:{what}");
        let mut out = Vec::new();
        for n in &names.function_names {
            out.push(arn(&format!("application:{n}")));
            out.push(arn(&format!(
                "deploymentgroup:{n}/{}",
                crate::render::ids::DEPLOYMENT_GROUP_NAME
            )));
        }
        for c in crate::render::ids::DEPLOYMENT_CONFIGS {
            out.push(arn(&format!("deploymentconfig:{c}")));
        }
        out
    }

    /// The alarms: DescribeAlarms is authorized on the Region's alarms as a whole; the others
    /// on the names generated from either stack's name, and Fargate's target tracking alarms,
    /// named after the service (`TargetTracking-service/CLUSTER/SERVICE-AlarmHigh-…`), which
    /// Application Auto Scaling checks that the caller may make ("Permissions validation for
    /// API calls on target resources", Application Auto Scaling User Guide).
    fn alarm_arns(
        &self,
        action: &str,
        names: &ResourceNames,
        data: &str,
        fleet: &str,
    ) -> Vec<String> {
        let (p, region, account) = (self.p(), self.region(), self.account);
        if action.starts_with("cloudwatch:Describe") {
            return vec![format!("arn:{p}:cloudwatch:{region}:{account}:alarm:*")];
        }
        vec![
            self.generated("cloudwatch", "alarm", ":", data),
            self.generated("cloudwatch", "alarm", ":", fleet),
            format!(
                "arn:{p}:cloudwatch:{region}:{account}:alarm:TargetTracking-service/{}/{}-*",
                names.cluster, names.service
            ),
        ]
    }

    /// Fargate workers: every ECS resource of the environment, whichever type the action
    /// names: its cluster, what lives under the cluster (the service, its deployments, its
    /// tasks) and the task definition's revisions. One set for every ECS action keeps a policy
    /// for many environments within IAM's size limits; no other environment's names match
    /// (`/qfleet-ENV/` ends at the slash, the family at `:`).
    ///
    /// And the cluster's Managed Instances capacity providers, named after it and an
    /// underscore (`qfleet-ENV_on-demand`, `qfleet-ENV_spot`: templates/fargate.yaml.j2): no
    /// environment's name holds one, so `qfleet-ENV_*` is this cluster's alone. The policy is
    /// every kind's, so that a switch deploys under it.
    fn ecs_arns(&self, names: &ResourceNames) -> Vec<String> {
        let (p, region, account) = (self.p(), self.region(), self.account);
        let mut arns = vec![
            format!("arn:{p}:ecs:{region}:{account}:cluster/{}", names.cluster),
            format!("arn:{p}:ecs:{region}:{account}:*/{}/*", names.cluster),
            format!(
                "arn:{p}:ecs:{region}:{account}:task-definition/{}:*",
                names.task_family
            ),
        ];
        arns.push(format!(
            "arn:{p}:ecs:{region}:{account}:capacity-provider/{}_*",
            names.cluster
        ));
        arns
    }

    /// The job table (`jobs:`) and its index. Its name is CloudFormation's,
    /// `qfleet-ENV-data-JobTable-…`: no other environment's matches (environment names hold
    /// no `-data-JobTable-`). And the leases' table, `qfleet-ENV-data-JobLeaseTable-…`, named
    /// the same way.
    fn job_table_arns(&self, resource_type: &str, names: &ResourceNames) -> Vec<String> {
        let (p, region, account) = (self.p(), self.region(), self.account);
        let table = |name: String| format!("arn:{p}:dynamodb:{region}:{account}:table/{name}*");
        match resource_type {
            "index" => vec![format!("{}/index/*", table(self.job_table(names)))],
            _ => vec![table(self.job_table(names)), table(self.job_leases(names))],
        }
    }

    /// Both names the worker function may have (zip package, container image): a
    /// deploy that switches between them deletes the other one.
    /// With `scaling.metric: high_resolution`, the metric's publisher too; with
    /// `jobs:`, the job sweeper.
    /// Its versions and alias are authorized on the function's own ARN: the Service
    /// Authorization Reference names the `function` resource type for PublishVersion,
    /// CreateAlias, UpdateAlias, DeleteAlias and DeleteFunction (a version's delete),
    /// and the version and alias types only for provisioned concurrency, which the
    /// templates do not configure ("Actions, resources, and condition keys for AWS
    /// Lambda", https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html).
    fn function_arns(&self, names: &ResourceNames) -> Vec<String> {
        let (p, region, account) = (self.p(), self.region(), self.account);
        names
            .function_names
            .iter()
            .chain(self.publisher(names))
            .chain(self.sweeper(names))
            .chain(self.budget_hold(names))
            .map(|name| format!("arn:{p}:lambda:{region}:{account}:function:{name}"))
            .collect()
    }

    /// The name pattern of the worker function's capacity provider, only for an environment
    /// whose function runs on Lambda Managed Instances.
    fn capacity_provider(&self) -> Option<String> {
        let w = &self.env.spec.workers;
        (w.kind == crate::config::WorkerKind::Lambda && w.lambda.managed_instances.is_some()).then(
            || {
                format!(
                    "{}{}",
                    crate::render::managed_instances::name_prefix(self.env),
                    "?".repeat(crate::render::managed_instances::DIGEST_LEN)
                )
            },
        )
    }

    /// The high-resolution metric's publisher (function and rule name), only for an
    /// environment that has one (`scaling.metric: high_resolution`, EC2 workers).
    fn publisher<'n>(&self, names: &'n ResourceNames) -> Option<&'n String> {
        let spec = &self.env.spec;
        (spec.scaling.metric == crate::config::ScalingMetric::HighResolution
            && self.env.kind().high_resolution())
        .then_some(&names.publisher)
    }

    /// The job sweeper (function and rule name), only for an environment with `jobs:`.
    fn sweeper<'n>(&self, names: &'n ResourceNames) -> Option<&'n String> {
        self.env.spec.jobs.is_some().then_some(&names.sweeper)
    }

    /// The budget hold (function and rule name), only for an environment whose budget holds
    /// its fleets (`budget.hold`).
    fn budget_hold<'n>(&self, names: &'n ResourceNames) -> Option<&'n String> {
        self.holds().then_some(&names.budget_hold)
    }

    /// Whether the environment's budget holds its fleets at the cap (`budget.hold`).
    fn holds(&self) -> bool {
        self.env.spec.budget.as_ref().is_some_and(|b| b.hold)
    }

    /// The start of the job table's name, generated from the data stack's: for a StackSets
    /// target, its instance's stack name (which ends in an id), then the logical id.
    fn job_table(&self, names: &ResourceNames) -> String {
        match self.stack_sets {
            None => names.job_table.clone(),
            Some(_) => format!("{}-*-{}-", self.data_stack(), crate::render::ids::JOB_TABLE),
        }
    }

    /// The start of the leases' table's name: as the job table's, a StackSets target's data
    /// stack ends in an id.
    fn job_leases(&self, names: &ResourceNames) -> String {
        match self.stack_sets {
            None => names.job_leases.clone(),
            Some(_) => format!(
                "{}-*-{}-",
                self.data_stack(),
                crate::render::ids::LEASE_TABLE
            ),
        }
    }

    /// The fleet stack's roles (EC2's instance role, the function's execution role, the
    /// tasks' roles), by the names CloudFormation generates for them.
    pub(super) fn worker_role(&self) -> String {
        format!(
            "arn:{}:iam::{}:role/{}",
            self.p(),
            self.account,
            ROLE_NAMES.pattern(&self.fleet_stack())
        )
    }

    /// The data stack's role EventBridge Scheduler sends the scheduled jobs as, when the
    /// environment has schedules (`sources.schedules`).
    pub(super) fn scheduler_role(&self) -> Option<String> {
        self.env
            .stages()
            .iter()
            .any(|s| !s.spec.sources.schedules.is_empty())
            .then(|| self.data_roles())
    }

    /// The data stack's role the job sweeper runs as, when the environment has `jobs:`.
    pub(super) fn sweeper_role(&self) -> Option<String> {
        self.env.spec.jobs.is_some().then(|| self.data_roles())
    }

    /// The budget hold's function (`qfleet-ENV-budget-hold`), which a deploy that turns the
    /// hold off invokes to give the held fleets back.
    pub(super) fn budget_hold_function(&self) -> String {
        format!(
            "arn:{}:lambda:{}:{}:function:{}",
            self.p(),
            self.region(),
            self.account,
            ResourceNames::of(self.env).budget_hold
        )
    }

    /// The data stack's role the budget hold runs as, when the budget holds the fleets.
    pub(super) fn budget_hold_role(&self) -> Option<String> {
        self.holds().then(|| self.data_roles())
    }

    /// The data stack's role the chat channels assume, when `alerts` has Slack or Teams.
    pub(super) fn chat_role(&self) -> Option<String> {
        self.chat().then(|| self.data_roles())
    }

    /// The data stack's role EventBridge sends the rolled-back deploys' notice as, when
    /// `alerts.topic` is in another account than this place's (the template's
    /// `TeamTopicElsewhere`; eb-service-cross-account.html).
    pub(super) fn team_topic_role(&self) -> Option<String> {
        let topic = self.env.spec.alerts.as_ref()?.topic.as_deref()?;
        (topic.split(':').nth(4) != Some(self.account)).then(|| self.data_roles())
    }

    /// Whether `alerts` has a chat channel (the data stack's role and policy, the channels).
    fn chat(&self) -> bool {
        self.env.spec.alerts.as_ref().is_some_and(|a| a.chat())
    }

    /// The data stack's roles (the schedules', the job sweeper's, the budget hold's, the chat
    /// channels'), when it has any.
    fn data_role(&self) -> Option<String> {
        self.scheduler_role()
            .or_else(|| self.sweeper_role())
            .or_else(|| self.budget_hold_role())
            .or_else(|| self.chat_role())
            .or_else(|| self.team_topic_role())
    }

    /// The data stack's roles, by the names CloudFormation generates for them.
    fn data_roles(&self) -> String {
        format!(
            "arn:{}:iam::{}:role/{}",
            self.p(),
            self.account,
            ROLE_NAMES.pattern(&self.data_stack())
        )
    }

    /// Auto Scaling's service-linked role, created by the first group in an account.
    fn autoscaling_service_linked_role(&self) -> String {
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
    pub(super) fn service_linked_roles(&self, resource_type: &str) -> Vec<(String, &'static str)> {
        match resource_type {
            "AWS::AutoScaling::AutoScalingGroup" => vec![(
                self.autoscaling_service_linked_role(),
                "autoscaling.amazonaws.com",
            )],
            // Amazon Q Developer in chat applications' own role ("Using service-linked roles
            // for AWS Chatbot", https://docs.aws.amazon.com/chatbot/latest/adminguide/using-service-linked-roles.html).
            "AWS::Chatbot::SlackChannelConfiguration"
            | "AWS::Chatbot::MicrosoftTeamsChannelConfiguration" => vec![(
                self.service_linked_role(
                    "management.chatbot.amazonaws.com",
                    "AWSServiceRoleForAWSChatbot",
                ),
                "management.chatbot.amazonaws.com",
            )],
            // A Managed Instances capacity provider's handler may create ECS's role too.
            "AWS::ECS::Cluster" | "AWS::ECS::CapacityProvider" => vec![(
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

/// The name of qfleet's lock bucket in `account` and `region`, as the lock protocol makes it
/// (crates/qfleet-aws, `lock_bucket_name`; a test of the root crate holds the two equal).
pub fn lock_bucket(account: &str, region: &str) -> String {
    format!("qfleet-locks-{account}-{region}")
}
