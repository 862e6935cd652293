//! The stack file as written by the user: one environment per file, with defaults that keep a
//! lab file to a few lines. Every struct rejects unknown keys so a typo is an error, not a
//! silently ignored setting.
//!
//! These declarations are the one source of the stack-file language: through [`settings!`] and
//! [`choices!`] each field is also a key of the key table (its kind read from its Rust type) and
//! says what it accepts (`=> "…"`, the help under an error about it and in the JSON Schema); each
//! enum's words are its variants'.

use super::duration::Seconds;
use super::language::{Kind, Setting, choices, settings};
use super::permissions::Statement;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The Amazon Linux 2023 public SSM parameter: the latest AL2023 AMI for x86_64.
pub(super) const DEFAULT_AMI: &str =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

settings! {
    #[derive(Debug, Clone, Deserialize, Serialize)]
    pub struct StackFile {
        /// Environment name; defaults to the file name without `.yaml`.
        pub environment: Option<String>
            => "lowercase letters, digits and hyphens, starting with a letter, at most 24 characters",
        /// AWS region the environment lives in.
        pub region: String = required
            => "an AWS Region of the aws, aws-cn or aws-us-gov partition, such as eu-west-1 (a Region newer than qfleet: also set region_unlisted: true)",
        /// Accept a region that qfleet's table of AWS Regions (`regions.rs`) does not list yet.
        pub region_unlisted: bool
            => "true or false (default false): true accepts a region name qfleet's table of AWS Regions does not list yet, with a warning",
        /// A classroom environment: data is not retained and stacks are not protected by default.
        pub lab: bool => "true or false",
        /// Number of identical copies (`lab-01` … `lab-NN`); absent or 0 means just this one.
        pub copies: Option<u32>
            => "a whole number from 1 to 100: that many identical environments NAME-01 … NAME-NN (optional)",
        /// Tags put on every stack (CloudFormation propagates them to the resources).
        pub tags: BTreeMap<String, String> => "a mapping of tag names to string values";
            each "a tag name of at most 128 characters (not aws:… nor qfleet:…, qfleet's own marks) and a value of 1 to 256 characters, both of letters, digits, spaces and _ . : / = + - @; at most 50 tags with qfleet's own (validate names them)",
        /// Who owns the environment (a team or repository name), put on its stacks as the tag
        /// `qfleet:owner`: a stack whose owner differs is not this file's to change (two teams
        /// whose stack files share an environment name in one account cannot overwrite each other).
        pub owner: Option<String>
            => "the environment's owner (a team or repository name) put on its stacks as the tag qfleet:owner: 1 to 128 characters of letters, digits, spaces and _ . : / = + - @ (optional)",
        /// The only AWS accounts this file may act in: credentials of any other account are refused
        /// before anything is read or changed (a guard for production files). Empty: any account.
        /// (`accounts:` without a value is no guard; an empty list is refused by validate.)
        pub accounts: Option<Vec<String>>
            => "a list of 12-digit AWS account ids: qfleet refuses credentials of any other account (optional; absent: any account)",
        /// Stack termination protection; defaults to on outside labs.
        pub termination_protection: Option<bool>
            => "true or false (default: true, false when lab: true)",
        /// CloudFormation express mode: an operation ends once the resources' configuration is
        /// applied, without waiting for them to stabilise; defaults to on in labs.
        pub express: Option<bool>
            => "true or false (default: true when lab: true, else false); not with termination protection on",
        /// IAM role CloudFormation assumes to act on the stacks (optional).
        pub service_role_arn: Option<String>
            => "an IAM role ARN: arn:aws:iam::<account>:role/<name>",
        /// Customer managed KMS key ARN for the bucket, topics and queues (absent: AWS owned keys).
        pub kms_key: Option<String>
            => "a KMS key ARN: arn:aws:kms:<region>:<account>:key/<key id> (not an alias)",
        pub bucket: BucketSpec => "a mapping with {keys}",
        pub queue: QueueSpec => "a mapping with {keys}",
        /// What else feeds the queue: jobs sent as messages, and SNS topics (docs/sources.md).
        pub sources: SourcesSpec
            => "a mapping with {keys and} (optional; absent: the uploads alone feed the queue)",
        pub alarms: AlarmSpec => "a mapping with {keys}",
        /// A CloudWatch dashboard of the environment in its data stack, one row per stage
        /// (docs/dashboard.md). It costs $3 a month beyond an account's first three dashboards.
        pub dashboard: Option<bool>
            => "true or false (default true): a CloudWatch dashboard of the environment, $3 a month each beyond an account's first three",
        /// Where the environment's alarms and failure notices reach the team: e-mail, a topic of
        /// the team's, Slack and Microsoft Teams channels (docs/alerts.md). Absent: the alarm
        /// topic alone (and `alarms.email`).
        pub alerts: Option<AlertsSpec>
            => "a mapping with {keys and} (optional; absent: the alarms reach the alarm topic alone)",
        /// Jobs a user can follow: a job table (DynamoDB) the workers keep with every upload's
        /// state and history, and a response queue with one message per finished job
        /// (docs/jobs.md). Absent: neither.
        pub jobs: Option<JobsSpec>
            => "a mapping with {keys and} (optional; absent: no job table and no response queue; `jobs: {}` turns them on with the defaults)",
        /// Limits the environment's workers share (`workers.limits`): at most N jobs at once
        /// hold a limit, across every stage that names it (docs/workers.md, "Limits shared
        /// across stages"). The slots are items of the job lease table: needs `jobs`.
        pub limits: BTreeMap<String, u32>
            => "a mapping of limit names to the most jobs that may hold each at once, across every stage whose workers.limits names it (optional; needs jobs)";
            each "a name of 1 to 32 lowercase letters, digits and hyphens, and a whole number from 1 to 1000",
        /// What the environment may cost a day or a month (docs/budget.md): an AWS Budgets
        /// budget on its `qfleet:environment` tag in its region, whose notices reach the alarm
        /// topic at each threshold. Needs `alerts`. Absent: no budget.
        pub budget: Option<BudgetSpec>
            => "a mapping with {keys} (optional; needs alerts)",
        pub workers: WorkersSpec
            => "a mapping with kind; for both: environment, queue_url_as, secrets, secret_keys, policies, statements, allow_privileged, dev_principals; for ec2: ami, instance_type or instance_types, spot, warm_pool, gpu, min, max, network, egress, security_groups, user_data or image, health_check_grace_period, instance_warmup, root_volume_gib, log_retention_days, public_ip, job_timeout, limits; for lambda: lambda, network (a mapping), egress, security_groups; for fargate: image, fargate, spot, min, max, network, egress, security_groups, public_ip, log_retention_days, job_timeout, limits; for ecs_managed: image, ecs_managed, instance_types, gpu, spot, min, max, network, egress, security_groups, public_ip, log_retention_days, job_timeout, limits",
        pub scaling: ScalingSpec
            => "a mapping with target_backlog_per_instance, or max_latency_seconds and seconds_per_message; and scale_from_zero, expected_peak, metric, scale_in",
        /// The IAM role qfleet assumes in each target's account (`targets`), by name: the ARN is
        /// `arn:PARTITION:iam::ACCOUNT:role/NAME` (docs/targets.md gives the trust it needs).
        /// Absent: the targets are deployed with the credentials qfleet runs with.
        pub deploy_role: Option<String>
            => "an IAM role name (1 to 64 letters, digits and + = , . @ _ -) that qfleet assumes in every target's account (optional; needs targets with account)",
        /// Where the environment is deployed: one environment `NAME-TARGET` per target, each in
        /// its own account and region with its own overrides (docs/targets.md). Absent: one
        /// environment in `region`, in the credentials' account.
        #[serde(deserialize_with = "null_as_empty")]
        pub targets: Vec<TargetSpec>
            => "a list of 1 to 20 targets, each a mapping with {keys}; without it, one environment in region";
            each "a mapping of the target's settings: {settings}",
        /// How a deploy of the targets goes on from one wave (`targets.N.wave`) to the next.
        pub rollout: RolloutSpec => "a mapping with {keys} (used with targets in several waves)",
        /// A pipeline: several stages, each with its own queue, workers and scaling, the first fed
        /// by the uploads and each later one by the stage before it. Absent: one stage made of the
        /// top-level `queue`, `workers` and `scaling`.
        #[serde(deserialize_with = "null_as_empty")]
        pub stages: Vec<StageSpec>
            => "a list of 1 to 8 stages, each a mapping with {keys}; without it, one stage of the top-level queue, workers and scaling";
            each "a mapping of the stage's settings: {settings}",
    }
}

impl StackFile {
    /// What the top level of a stack file accepts.
    pub(super) const HELP: &str = "a YAML mapping of settings: region (required), region_unlisted, environment, lab, copies, tags, owner, accounts, termination_protection, express, service_role_arn, kms_key, bucket, queue, sources, alarms, alerts, dashboard, jobs, limits, budget, workers, scaling, stages, deploy_role, targets, rollout";
}

choices! {
    /// How a later stage's queue learns of the previous stage's results.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum Feed {
        /// The bucket's event for each object the previous stage writes under this stage's prefix.
        #[default]
        Objects = "objects"
            => "the default: the bucket's events for what the stage before writes under prefix",
        /// A message the previous stage's worker sends to this stage's queue
        /// (`QFLEET_NEXT_QUEUE_URL`).
        Messages = "messages" => "the stage before sends them",
    }
}

settings! {
    /// One stage of a pipeline (`stages`): a queue and the workers that consume it. Its queue,
    /// workers and scaling accept what the top level's do.
    #[derive(Debug, Clone, Deserialize, Serialize)]
    pub struct StageSpec {
        /// The stage's name: part of its queue's, group's, function's and fleet stack's names.
        pub name: String = required
            => "lowercase letters, digits and single hyphens, starting with a letter, at most 16 characters",
        /// Later stages only: `objects` (default) or `messages`.
        pub fed_by: Option<Feed> => "{choices}",
        /// Later stages only: where the previous stage writes its results (default `NAME/`).
        pub prefix: Option<String>
            => "a key prefix ending in / (default: the stage's name and /), apart from the other stages' and the bucket's prefixes",
        pub queue: QueueSpec,
        pub sources: SourcesSpec,
        pub workers: WorkersSpec,
        pub scaling: ScalingSpec,
    }
}

settings! {
    /// One place the environment is deployed to (`targets`): an account and a region, with
    /// the settings that differ there.
    #[derive(Debug, Clone, Deserialize, Serialize)]
    pub struct TargetSpec {
        /// The target's name: the environment there is `NAME-TARGET` (`orders-eu`).
        pub name: String = required
            => "lowercase letters and digits, starting with a letter, at most 8 characters; the environment there is ENV-NAME",
        /// The account the target is in; qfleet refuses credentials of any other account there.
        pub account: Option<String>
            => "a 12-digit AWS account id, one of accounts when the file lists them (optional in mode: direct, absent: the credentials' account; required with rollout.mode: stack_sets, absent with rollout.auto_deployment: the target is then every account of its organizational_unit)",
        /// The AWS Organizations unit the target's account is in (`rollout.permission_model:
        /// service_managed`).
        pub organizational_unit: Option<String>
            => "with rollout.permission_model: service_managed (and then required), the id of the AWS Organizations unit the target's account is in (ou-…, or the root r-…)",
        /// The region the target is in (default: the file's `region`).
        pub region: Option<String>
            => "an AWS Region such as us-east-1 (default: the file's region)",
        /// The IAM role to assume for this target, by ARN, instead of `deploy_role`.
        pub role: Option<String>
            => "an IAM role ARN arn:PARTITION:iam::ACCOUNT:role/NAME in the target's account (optional; default: deploy_role in the target's account)",
        /// The KMS key there: a key is in one region (default: the file's `kms_key`).
        pub kms_key: Option<String>
            => "a KMS key ARN in the target's region: arn:aws:kms:<region>:<account>:key/<key id> (default: the file's kms_key)",
        /// The workers' settings that differ in this target.
        pub workers: TargetWorkers => "a mapping with {keys and} (each default: the file's workers.KEY)",
        /// The wave the target is deployed in: wave 1 first (the canary), then each next wave
        /// once the one before has baked without an alarm (`rollout.bake`).
        pub wave: Option<i64>
            => "a whole number from 1 to 10 (default 1): targets deploy wave by wave, lowest first, each wave once the one before baked without an alarm",
    }
}

settings! {
    /// A deploy of targets in several waves (`targets.N.wave`).
    #[derive(Debug, Clone, Default, Deserialize, Serialize)]
    pub struct RolloutSpec: defaults {
        /// How long a wave's alarms are watched before the next wave is deployed (absent: as
        /// long as the environment's slowest alarm needs to fire).
        pub bake: Option<Seconds>
            => "a duration from 0s to 24h (default: as long as the environment's slowest alarm needs to fire, 21m with the default queue settings; shorter is a warning)",
        /// How the targets are deployed: by qfleet itself in each target's account, or by
        /// CloudFormation StackSets from the account qfleet runs in.
        pub mode: RolloutMode
            => "direct (default: qfleet deploys each target's stacks with change sets, assuming deploy_role there) or stack_sets (CloudFormation StackSets: a stack set per stack, a stack instance per target)",
        /// Who gives StackSets its roles: the file's administration and execution roles, or
        /// AWS Organizations (trusted access).
        pub permission_model: PermissionModel
            => "with mode: stack_sets, self_managed (default: the administration and execution roles you create) or service_managed (AWS Organizations' trusted access creates the roles; each target names its organizational_unit, and the stack sets are in the organization's management account)",
        /// As whom qfleet acts on service-managed stack sets: the organization's management
        /// account, or a delegated administrator account.
        pub call_as: CallAs
            => "with permission_model: service_managed, self (default: qfleet runs in the organization's management account) or delegated_admin (qfleet runs in an account registered as a delegated administrator for StackSets; the stack sets are the management account's)",
        /// The account qfleet acts on the stack sets from (the account guard of the credentials
        /// qfleet runs with in this mode).
        pub administration_account: Option<String>
            => "with mode: stack_sets, the 12-digit account qfleet acts on the stack sets from: the one that holds them (the account of administration_role when it is set), or with call_as: delegated_admin the delegated administrator account (optional, required with permission_model: service_managed; when known, every command refuses credentials of another account before it reads or changes a stack set)",
        /// StackSets' administration role in the account qfleet runs in (an ARN).
        pub administration_role: Option<String>
            => "with mode: stack_sets, the ARN of the StackSets administration role in the account qfleet runs in (default: AWSCloudFormationStackSetAdministrationRole there)",
        /// StackSets' execution role in every target's account (a name).
        pub execution_role: Option<String>
            => "with mode: stack_sets, the name of the StackSets execution role in every target's account (default: AWSCloudFormationStackSetExecutionRole)",
        /// How many accounts a StackSets operation deploys to at once in each region.
        pub max_concurrent_accounts: Option<i64>
            => "with mode: stack_sets, a whole number from 1 to 100 (default 1), at most failure_tolerance + 1: how many accounts of a wave an operation deploys to at once in each region",
        /// How many accounts may fail in a region before a StackSets operation stops.
        pub failure_tolerance: Option<i64>
            => "with mode: stack_sets, a whole number from 0 to 99 (default 0): how many accounts of a wave may fail in a region before StackSets stops the operation",
        /// Deploy a wave's regions at once rather than one after the other.
        pub regions_in_parallel: bool
            => "with mode: stack_sets, true or false (default false: one region after the other, in the order the targets name them)",
        /// Each target stands for a whole AWS Organizations unit, and StackSets deploys to the
        /// accounts that join it (automatic deployment).
        pub auto_deployment: bool
            => "with permission_model: service_managed, true or false (default false: each target is one account). true: each target names an organizational_unit and no account, and stands for every account in that unit, found when a command runs; StackSets deploys the environment to accounts that join the unit, and an account that leaves it keeps its stacks and data (RetainStacksOnAccountRemoval); deploy_role is assumed in each of the unit's accounts; one target per region",
    }
}

choices! {
    /// StackSets' permission model (`rollout.permission_model`,
    /// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-concepts.html>).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum PermissionModel {
        /// The administration and execution roles the user creates.
        #[default]
        SelfManaged = "self_managed" => "the default: the administration and execution roles you create",
        /// AWS Organizations' trusted access gives StackSets its roles.
        ServiceManaged = "service_managed" => "AWS Organizations' trusted access creates the roles in the organization's accounts",
    }
}

choices! {
    /// As whom qfleet acts on service-managed stack sets (`rollout.call_as`, AWS's `CallAs`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum CallAs {
        /// The organization's management account.
        #[default]
        SelfAccount = "self" => "the default: qfleet runs in the organization's management account",
        /// A delegated administrator account for StackSets.
        DelegatedAdmin = "delegated_admin" => "qfleet runs in a delegated administrator account for StackSets",
    }
}

choices! {
    /// How a stack file's targets are deployed (`rollout.mode`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum RolloutMode {
        /// qfleet deploys each target's stacks itself, with change sets.
        #[default]
        Direct = "direct" => "the default: qfleet deploys each target's stacks with change sets",
        /// CloudFormation StackSets deploys a stack set per stack to the targets.
        StackSets = "stack_sets" => "a stack set per stack, a stack instance per target",
    }
}

settings! {
    /// The workers' settings a target may set for itself (`targets.N.workers`).
    #[derive(Debug, Clone, Default, Deserialize, Serialize)]
    pub struct TargetWorkers: defaults {
        pub min: Option<i64> => "a whole number from 0 to workers.max (default: workers.min)",
        pub max: Option<i64> => "a whole number from 1 to 1000 (default: workers.max)",
        pub instance_type: Option<String>
            => "an EC2 instance type offered in the target's region (default: workers.instance_type)",
        pub instance_types: Option<Vec<String>>
            => "a list of 2 to 20 EC2 instance types offered in the target's region (default: workers.instance_types)",
        pub ami: Option<String>
            => "an SSM parameter path or an AMI id of the target's region (default: workers.ami)",
        pub image: Option<String>
            => "a container image the target's region can pull (default: workers.image)",
        pub network: Option<Network>
            => "`default` or {vpc: vpc-…, subnets: {<az>: subnet-…}} of the target's region (default: workers.network; with rollout.mode: stack_sets, the mapping)",
    }
}

settings! {
    #[derive(Debug, Clone, Deserialize, Serialize)]
    pub struct BucketSpec: defaults {
        /// Prefix whose new objects become jobs.
        pub upload_prefix: String
            => "a key prefix ending in /, such as uploads/; the two prefixes must not overlap",
        /// Prefix the workers write results to (never triggers a job).
        pub processed_prefix: String
            => "a key prefix ending in /, such as uploads/; the two prefixes must not overlap",
        /// Keep the bucket (and its objects) when the stack is deleted; defaults to yes outside labs.
        pub retain: Option<bool> => "true or false (default: true, false when lab: true)",
        /// Existing bucket that receives server access logs (recommended in production).
        pub access_log_bucket: Option<String>
            => "the name of an existing S3 bucket (3–63 lowercase letters, digits, dots, hyphens)",
        /// Days before a noncurrent object version expires.
        pub noncurrent_version_expiration_days: u32 => "a whole number of days from 1 to 3650",
        /// Days before an incomplete multipart upload is aborted.
        pub abort_incomplete_multipart_days: u32 => "a whole number of days from 1 to 3650",
    }
}

impl Default for BucketSpec {
    fn default() -> Self {
        BucketSpec {
            upload_prefix: "uploads/".into(),
            processed_prefix: "processed/".into(),
            retain: None,
            access_log_bucket: None,
            noncurrent_version_expiration_days: 30,
            abort_incomplete_multipart_days: 7,
        }
    }
}

settings! {
    #[derive(Debug, Clone, Deserialize, Serialize)]
    pub struct QueueSpec: defaults {
        /// How long a received message stays hidden from other workers.
        pub visibility_timeout: Seconds
            => "a duration from 0s to 12h (e.g. 60, 90s, 5m), at least scaling.seconds_per_message",
        /// How long an unprocessed message is kept.
        pub message_retention: Seconds => "a duration from 60s to 14d (e.g. 4d)",
        /// Long polling wait (0–20 s).
        pub receive_wait_time: Seconds
            => "a duration from 0s to 20s (20s enables full long polling)",
        /// Receives before a message moves to the dead-letter queue.
        pub max_receive_count: i64 => "a whole number from 1 to 1000 (3 to 5 recommended)",
        /// How long the dead-letter queue keeps messages; must exceed `message_retention`.
        pub dlq_retention: Seconds
            => "a duration from 60s to 14d, longer than queue.message_retention",
        /// Alarm when the oldest message is older than this.
        pub oldest_message_alarm: Seconds => "a duration of at least 60s",
        /// A FIFO queue: the jobs of one message group run one at a time, in order.
        pub fifo: bool
            => "true or false (default false); a FIFO stage takes no uploads (sources.uploads: false), and the queue type cannot change once deployed",
        /// FIFO only: a message without a deduplication id is deduplicated by its body.
        pub content_based_deduplication: bool
            => "true or false (default false; queue.fifo only; schedules on a FIFO stage need true)",
        /// FIFO only: throughput counted per message group rather than per queue.
        pub high_throughput: bool
            => "true or false (default false; queue.fifo only): deduplication and throughput per message group",
        /// When a failed attempt's message comes back: after a delay that doubles with each
        /// attempt (the attempts are `max_receive_count`). Absent: EC2 and Fargate workers
        /// wait 1 s doubling up to 10 s, a function the visibility timeout.
        pub retry: Option<RetrySpec>
            => "a mapping with {keys} (optional; absent: 1s doubling up to 10s on EC2 and Fargate, the visibility timeout on Lambda; the attempts are queue.max_receive_count)",
        /// Where a job's tenant is read from: its message group (`MessageGroupId`), which
        /// SQS's fair queues keep apart on a standard queue (docs/workers.md, "Fair shares").
        /// Absent: only a group the sender gives (`submit --group`).
        pub tenant: Option<TenantSpec>
            => "a mapping with one of {keys} (optional; absent: a job's group is only the one its sender gives)",
        /// A priority lane: a second queue for urgent jobs (`qfleet submit --priority`), which
        /// the stage's workers take before the ordinary queue's (docs/workers.md, "Priority
        /// lanes"). Absent: one queue.
        pub priority: Option<PrioritySpec>
            => "a mapping with {keys}, or {} (optional; absent: one lane)",
    }
}

settings! {
    /// A stage's priority lane (`queue.priority`): a second queue, `NAME-priority`, with the
    /// same settings and dead-letter queue. Workers on instances and tasks take its jobs
    /// first; a function has a mapping on each queue.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub struct PrioritySpec: defaults {
        /// At most this many priority jobs in a row while ordinary jobs wait, then one
        /// ordinary job. Absent: the priority lane always first.
        pub weight: Option<u32>
            => "a whole number from 1 to 100 (optional; absent: the priority lane always first): a worker takes at most this many priority jobs in a row while ordinary jobs wait (EC2 and Fargate)",
        /// Lambda: the priority lane's mapping's maximum concurrency, on top of the ordinary
        /// lane's `workers.lambda.max_concurrency`.
        pub max_concurrency: Option<u32>
            => "a whole number from 2 to 1000 (optional; default workers.lambda.max_concurrency): the priority lane's own invocations at once, beside the ordinary lane's (workers.kind: lambda only)",
    }
}

settings! {
    /// Where a job's tenant is read from (`queue.tenant`): exactly one of the three. The
    /// tenant becomes the job's message group wherever qfleet sends it (`qfleet submit`, a
    /// worker passing it to the next stage) and is kept in its record.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub struct TenantSpec: defaults {
        /// A message attribute of the job (`submit --attribute NAME=V`, a topic's message
        /// attribute).
        pub attribute: Option<String>
            => "a message attribute's name (letters, digits, _ - .; at most 256 characters): the job's tenant is that attribute's value",
        /// A folder of the upload's key below the upload prefix, counted from 1.
        pub key_segment: Option<u32>
            => "a whole number from 1 to 10: the tenant is that folder of the upload's key below bucket.upload_prefix (1: uploads/acme/a.csv is acme's); needs jobs or a next stage fed by messages",
        /// A field of a job's JSON body, as a dotted path.
        pub json: Option<String>
            => "a dotted path of field names (letters, digits, _ -), such as customer.id: the tenant is that string or whole number in a job's JSON body",
    }
}

impl TenantSpec {
    /// The rule as the workers read it (QFLEET_TENANT): `attribute:NAME`, `key_segment:N`
    /// or `json:PATH`; `None` when no field is set (validate refuses that).
    pub fn rule(&self) -> Option<String> {
        match (&self.attribute, self.key_segment, &self.json) {
            (Some(a), None, None) => Some(format!("attribute:{a}")),
            (None, Some(n), None) => Some(format!("key_segment:{n}")),
            (None, None, Some(p)) => Some(format!("json:{p}")),
            _ => None,
        }
    }

    /// The rule in words, as `plan` and `validate` say it.
    pub fn describe(&self) -> String {
        match (&self.attribute, self.key_segment, &self.json) {
            (Some(a), _, _) => format!("the job's message attribute `{a}`"),
            (_, Some(n), _) => format!("folder {n} of the upload's key"),
            (_, _, Some(p)) => format!("the field `{p}` of the job's JSON body"),
            _ => "nothing".into(),
        }
    }

    /// The rule in a line, as `validate` and `plan` say it: where the tenant is read, where it
    /// becomes the job's message group (`qfleet submit`, for a rule that reads a message; the
    /// workers, with a next stage fed by messages: `next_by_messages`), whether the record
    /// keeps it (`jobs`), and what the group does (on a FIFO queue, the order).
    pub fn line(&self, fifo: bool, next_by_messages: bool, jobs: bool) -> String {
        let mut uses = Vec::new();
        if self.key_segment.is_none() {
            uses.push("qfleet submit sends it as the job's message group");
        }
        if next_by_messages {
            uses.push("the workers send the job on to the next stage in that group");
        }
        if jobs {
            uses.push("the job's record keeps it");
        }
        let effect = match fifo {
            true => "a tenant's jobs run one at a time, in order",
            false => "SQS's fair queues keep one busy tenant from delaying the others",
        };
        format!(
            "a job's tenant is {}: {}; {effect} (queue.tenant)",
            self.describe(),
            uses.join(", ")
        )
    }

    /// The tenant of a job sent as a message (`qfleet submit`): from its attributes or its
    /// body; `None` when the rule finds none there (a job sent as a message has no key).
    pub fn of_message(&self, body: &str, attributes: &[(String, String)]) -> Option<String> {
        if let Some(a) = &self.attribute {
            return attributes
                .iter()
                .find(|(k, _)| k == a)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty());
        }
        let path = self.json.as_ref()?;
        let doc: serde_json::Value = serde_json::from_str(body).ok()?;
        let found = path
            .split('.')
            .try_fold(&doc, |v, part| v.as_object()?.get(part))?;
        // A string, or a whole number as JSON writes it: the workers read the same (a
        // fraction or an exponent would print differently in Python).
        match found {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
            _ => None,
        }
    }
}

/// The message group a tenant's jobs are sent with: the tenant itself when SQS takes it as a
/// `MessageGroupId` ("The length of MessageGroupId is 128 characters. Valid values:
/// alphanumeric characters and punctuation", SendMessage,
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>),
/// else its SHA-256 in hex, so that one tenant is still one group. The workers compute the
/// same (`tenant_group` in crates/qfleet-runtime/python/qfleet_shared.py; a test holds the
/// two equal).
pub fn tenant_group(tenant: &str) -> String {
    let fits = (1..=128).contains(&tenant.len()) && tenant.chars().all(|c| c.is_ascii_graphic());
    if fits {
        tenant.to_string()
    } else {
        use sha2::Digest as _;
        sha2::Sha256::digest(tenant.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

settings! {
    /// How long a failed attempt's message stays hidden before the next attempt
    /// (`queue.retry`): `backoff` × 2^(attempt − 1), at most `max_delay`, with `jitter`. The
    /// worker sets it with ChangeMessageVisibility once the attempt has failed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
    pub struct RetrySpec: defaults {
        /// The delay after the first failed attempt; each later one doubles it.
        pub backoff: Seconds
            => "a duration from 0s to 12h (default 1s): the wait after the first failed attempt; each later one doubles it",
        /// The longest delay.
        pub max_delay: Seconds
            => "a duration from 0s to 12h, at least queue.retry.backoff (default 10s): no wait is longer",
        pub jitter: Jitter => "{choices}",
    }
}

impl RetrySpec {
    /// Seconds a message waits hidden after its attempt `attempt` (1 for the first) failed,
    /// before jitter: `backoff` × 2^(attempt − 1), at most `max_delay`. The worker and the
    /// handler compute the same (`retry_delay` in crates/qfleet-runtime/python/qfleet_shared.py);
    /// full jitter draws the wait from 0 to this.
    pub fn delay(&self, attempt: u64) -> u64 {
        let doubled = 2u64
            .checked_pow(u32::try_from(attempt.saturating_sub(1).min(40)).unwrap_or(40))
            .and_then(|f| self.backoff.0.checked_mul(f))
            .unwrap_or(u64::MAX);
        doubled.min(self.max_delay.0)
    }

    /// The waits between `attempts` attempts in words, as `validate` and `plan` say them: "a
    /// failed attempt waits 10s, 20s, 40s, then 1m each (at random below each: full
    /// jitter); the 5th failure goes to the dead-letter queue".
    pub fn describe(&self, attempts: u64) -> String {
        let mut waits: Vec<String> = Vec::new();
        let mut n = 1;
        while n < attempts {
            let d = self.delay(n);
            if d == self.max_delay.0 {
                let left = attempts - n;
                waits.push(match (left, waits.is_empty()) {
                    (1, _) => format!("{}", super::duration::Seconds(d)),
                    (_, true) => format!("{} each", super::duration::Seconds(d)),
                    (_, false) => format!("then {} each", super::duration::Seconds(d)),
                });
                break;
            }
            waits.push(format!("{}", super::duration::Seconds(d)));
            n += 1;
        }
        let jitter = match self.jitter {
            Jitter::None => "",
            Jitter::Full => " (at random below each: full jitter)",
        };
        match attempts {
            0 | 1 => "one attempt: a failure goes to the dead-letter queue".into(),
            _ => format!(
                "a failed attempt waits {}{jitter} before the next; failure {attempts} goes to the dead-letter queue",
                waits.join(", ")
            ),
        }
    }

    /// The waits between the attempts of a message that fails every one: after each but the
    /// last (`max_receive_count` attempts; after the last the worker waits none, for SQS to
    /// dead-letter it at its next receive), before jitter.
    pub fn waits(&self, max_receive_count: u64) -> u64 {
        // SQS takes at most 1000 receives (validate refuses more).
        (1..max_receive_count.min(1000))
            .map(|n| self.delay(n))
            .fold(0, u64::saturating_add)
    }
}

impl Default for RetrySpec {
    fn default() -> Self {
        RetrySpec {
            backoff: Seconds(1),
            max_delay: Seconds(10),
            jitter: Jitter::None,
        }
    }
}

choices! {
    /// How a retry's delay is spread (`queue.retry.jitter`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum Jitter {
        /// Each delay as computed.
        #[default]
        None = "none" => "default: each wait as computed",
        /// Each delay drawn uniformly from 0 to the computed one, so that jobs that failed
        /// together do not come back together.
        Full = "full" => "each wait drawn at random from 0 to the computed one",
    }
}

impl SourcesSpec {
    /// Whether the bucket's uploads feed this queue: the first stage's, unless
    /// `sources.uploads: false`.
    pub fn takes_uploads(&self) -> bool {
        self.uploads != Some(false)
    }
}

impl Default for QueueSpec {
    fn default() -> Self {
        QueueSpec {
            visibility_timeout: Seconds(60),
            message_retention: Seconds::days(4),
            receive_wait_time: Seconds(20),
            max_receive_count: 5,
            dlq_retention: Seconds::days(14),
            oldest_message_alarm: Seconds::minutes(15),
            fifo: false,
            content_based_deduplication: false,
            high_throughput: false,
            retry: None,
            tenant: None,
            priority: None,
        }
    }
}

settings! {
    /// What feeds a stage's queue besides the uploads (the first stage) or the stage before
    /// (a later stage): jobs that producers send as messages, and SNS topics the queue
    /// subscribes to (docs/sources.md).
    #[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
    pub struct SourcesSpec: defaults {
        /// The first stage only: whether the bucket's uploads feed the queue.
        pub uploads: Option<bool>
            => "true or false (first stage only; default true); false for a queue fed only by the other sources, such as a FIFO queue, which S3 cannot feed",
        /// Jobs sent as messages: a managed policy this account's producers attach, and the
        /// other accounts' producers named in the queue policy.
        pub messages: Option<MessagesSpec>
            => "a mapping with {keys} (optional; `messages: {}` renders the producers' managed policy)",
        /// Existing SNS topics the queue subscribes to.
        #[serde(deserialize_with = "null_as_empty")]
        pub topics: Vec<TopicSpec>
            => "a list of 1 to 10 SNS topics, each a mapping with {keys}";
            each "a mapping of the topic's settings: {settings}",
        /// Jobs on a schedule: EventBridge Scheduler sends one message per run.
        #[serde(deserialize_with = "null_as_empty")]
        pub schedules: Vec<ScheduleSpec>
            => "a list of 1 to 10 schedules, each a mapping with {keys}";
            each "a mapping of the schedule's settings: {settings}",
    }
}

settings! {
    /// A job sent on a schedule (`sources.schedules`), by EventBridge Scheduler.
    #[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
    pub struct ScheduleSpec {
        /// The schedule's name, unique in the environment.
        pub name: String = required
            => "1 to 64 letters, digits, hyphens, underscores and dots, unique in the environment",
        /// When it runs: a cron expression of six fields (the year may be left out).
        pub cron: Option<String>
            => "six fields: minutes hours day-of-month month day-of-week year (the year may be left out), such as 0 2 * * ? * (one of cron and rate)",
        /// How often it runs.
        pub rate: Option<String>
            => "a whole number and minute(s), hour(s) or day(s), such as 15 minutes (one of cron and rate)",
        /// The time zone the cron expression is read in.
        pub timezone: Option<String> => "an IANA time zone such as Europe/Paris (default UTC)",
        /// A flexible window: each run starts at a moment within it.
        pub window: Option<Seconds>
            => "whole minutes from 1m to 24h (default: none, each run on the minute)",
        /// The job's JSON body.
        pub body: Option<serde_json::Value> => "any JSON value, at most 8 KiB (default {})",
        /// A paused schedule sends nothing until it is resumed.
        pub paused: bool => "true or false (default false)",
        /// FIFO stages only: the message group of its runs.
        pub group: Option<String>
            => "1 to 128 letters, digits and punctuation (FIFO stages only; default: the schedule's name)",
    }
}

settings! {
    /// Producers that send jobs as messages (`sources.messages`).
    #[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
    pub struct MessagesSpec: defaults {
        /// Producers in other accounts: the queue policy lets them send, and the bucket
        /// policy store a large body. In this account, a producer's role attaches the
        /// managed policy instead.
        #[serde(deserialize_with = "null_as_empty")]
        pub producers: Vec<String>
            => "a list of up to 20 producers in other accounts (optional; in this account, attach the managed policy ProducerPolicyArn)";
            each "a 12-digit account id (its IAM decides who sends) or an IAM role or user ARN, of another account",
    }
}

settings! {
    /// An SNS topic the queue subscribes to (`sources.topics`).
    #[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
    pub struct TopicSpec {
        /// The topic's ARN; it stays the topic owner's.
        pub arn: String = required
            => "an SNS topic ARN arn:PARTITION:sns:REGION:ACCOUNT:NAME in the environment's region, of the queue's type (a FIFO stage takes FIFO topics, NAME.fifo)",
        /// Only messages that match reach the queue.
        pub filter_policy: Option<serde_json::Value>
            => "an SNS filter policy: a mapping of at most 5 keys, at most 150 combinations of values (optional; absent: every message)",
        /// What the filter policy reads.
        pub filter_scope: FilterScope => "{choices}",
        /// SNS's JSON envelope around each message, rather than raw delivery (the published
        /// body and its attributes, as a direct message has them).
        pub envelope: bool
            => "true or false (default false: raw delivery, the published body and its attributes as is; true: SNS's JSON envelope, which names the topic)",
    }
}

choices! {
    /// What a topic's filter policy reads (`sources.topics.N.filter_scope`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum FilterScope {
        #[default]
        Attributes = "attributes" => "the default: the message attributes",
        Body = "body" => "the message body, a JSON object",
    }
}

settings! {
    #[derive(Debug, Clone, Default, Deserialize, Serialize)]
    pub struct AlarmSpec: defaults {
        /// E-mail address subscribed to the alarm topic (optional; `alerts.email` is the newer
        /// place for it, and takes a list).
        pub email: Option<String> => "an e-mail address (alerts.email is the newer place for it)",
    }
}

settings! {
    /// Where the alarms, the rolled-back deploys and the failed jobs' notices go (`alerts`).
    #[derive(Debug, Clone, Default, Deserialize, Serialize)]
    pub struct AlertsSpec: defaults {
        /// Addresses subscribed to the alarm topic (each confirms by e-mail).
        pub email: Option<Emails>
            => "an e-mail address or a list of 1 to 10 of them, each subscribed to the alarm topic (each confirms the subscription by e-mail)",
        /// A topic of the team's that every alert is published to as well.
        pub topic: Option<String>
            => "an SNS topic ARN arn:PARTITION:sns:REGION:ACCOUNT:NAME in the environment's region (not FIFO): every alarm, rolled-back deploy and failure notice is published there too",
        /// A Slack channel, through Amazon Q Developer in chat applications.
        pub slack: Option<SlackSpec> => "a mapping with {keys}",
        /// A Microsoft Teams channel, through Amazon Q Developer in chat applications.
        pub teams: Option<TeamsSpec> => "a mapping with {keys}",
    }
}

/// `alerts.email`: one address, or a list of them. A single value is text as serde_yaml reads
/// any scalar into a `String`; a list's items are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Emails {
    One(String),
    Many(Vec<String>),
}

impl Setting for Emails {
    const KIND: Kind = Kind::TextOrList;
}

impl<'de> Deserialize<'de> for Emails {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Emails;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an e-mail address or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Emails, E> {
                Ok(Emails::One(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Emails, E> {
                Ok(Emails::One(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Emails, E> {
                Ok(Emails::One(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Emails, E> {
                Ok(Emails::One(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Emails, E> {
                Ok(Emails::One(v.to_string()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Emails, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(Emails::Many(items))
            }
        }
        d.deserialize_any(V)
    }
}

impl AlertsSpec {
    /// `alerts.email`'s addresses, in the order written.
    pub fn emails(&self) -> Vec<&str> {
        match &self.email {
            None => Vec::new(),
            Some(Emails::One(e)) => vec![e.as_str()],
            Some(Emails::Many(v)) => v.iter().map(String::as_str).collect(),
        }
    }

    /// Whether a Slack or a Microsoft Teams channel is configured.
    pub fn chat(&self) -> bool {
        self.slack.is_some() || self.teams.is_some()
    }
}

/// How many failure notices one worker publishes at most (`alerts`): a burst of this many a
/// minute, and this many an hour (qfleet_shared.py's `Notices` holds the same numbers).
pub const NOTICES_PER_MINUTE: u32 = 3;
pub const NOTICES_PER_HOUR: u32 = 10;

settings! {
    /// A Slack channel (`alerts.slack`): the workspace must be authorised in the console first.
    #[derive(Debug, Clone, Default, Deserialize, Serialize)]
    pub struct SlackSpec: defaults {
        /// The Slack workspace (team) id, as the console shows it once authorised.
        pub workspace: String
            => "the Slack workspace id (T followed by 8 to 12 capital letters and digits, such as T0123ABCD), authorised once in the Amazon Q Developer in chat applications console",
        /// The channel id (Slack: the channel's details, or the end of its link).
        pub channel: String
            => "the Slack channel id (C, or G for a private channel, followed by 8 to 12 capital letters and digits, such as C0123ABCD)",
    }
}

settings! {
    /// A Microsoft Teams channel (`alerts.teams`): the team must be authorised in the console first.
    #[derive(Debug, Clone, Default, Deserialize, Serialize)]
    pub struct TeamsSpec: defaults {
        /// The Microsoft Entra tenant id.
        pub tenant: String
            => "the Microsoft Teams tenant id, a GUID such as 1a2b3c4d-5e6f-1a2b-3c4d-1a2b3c4d5e6f, as the console shows it once the team is authorised",
        /// The team id.
        pub team: String
            => "the Microsoft Teams team id, a GUID, as the console shows it once the team is authorised",
        /// The channel id, as Teams copies it (`19%3a…%40thread.tacv2` or `19:…@thread.tacv2`).
        pub channel: String
            => "the Microsoft Teams channel id as Teams gives it (its link's 19%3a…%40thread.tacv2 part, or 19:…@thread.tacv2)",
    }
}

settings! {
    /// A budget (`budget`): what the environment may cost each period, and when to say so.
    #[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
    pub struct BudgetSpec {
        /// US dollars a period.
        pub amount: u32 = required
            => "a whole number of US dollars from 1 to 1000000: what the environment may cost each period",
        pub period: BudgetPeriod => "{choices}",
        /// Percentages of `amount`: the alarm topic hears when the actual cost passes each.
        /// Empty: 80 and 100.
        #[serde(deserialize_with = "null_as_empty")]
        pub notify_at: Vec<u32>
            => "a list of 1 to 5 percentages of amount (default [80, 100]): the alarm topic hears when the period's actual cost passes each";
            each "a whole number from 1 to 1000, each once",
        /// At 100 %, hold each EC2 and Fargate stage's maximum at its size then, until the
        /// period ends (docs/budget.md, "Holding the fleet at the cap").
        pub hold: bool
            => "true or false (default false): once the period's actual cost reaches amount, each EC2 and Fargate stage's maximum is held at its size then (at least 1) until the next period",
    }
}

choices! {
    /// The period a budget's amount covers (`budget.period`): AWS Budgets' time unit.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum BudgetPeriod {
        /// A calendar day (UTC).
        Day = "day" => "a calendar day, UTC",
        /// A calendar month (UTC).
        #[default]
        Month = "month" => "default: a calendar month, UTC",
    }
}

impl BudgetSpec {
    /// The thresholds notified at, in percent of `amount`: the file's, or 80 and 100.
    pub fn thresholds(&self) -> Vec<u32> {
        if self.notify_at.is_empty() {
            vec![80, 100]
        } else {
            self.notify_at.clone()
        }
    }

    /// The most the budget lets the environment cost in any one day, USD: a day's amount, or
    /// a month's spread over its longest month (31 days), so that a fleet within it stays
    /// within the month's amount whatever the month.
    pub fn per_day_usd(&self) -> f64 {
        match self.period {
            BudgetPeriod::Day => f64::from(self.amount),
            BudgetPeriod::Month => f64::from(self.amount) / 31.0,
        }
    }
}

settings! {
    /// Jobs a user can follow (`jobs`): the job table and the response queue.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
    pub struct JobsSpec: defaults {
        /// Days a job's record is kept after its last change (the table's time to live).
        pub retention_days: u32 => "a whole number of days from 1 to 365 (default 30)",
        /// A response queue that receives one message per finished job (done or failed).
        pub response_queue: bool => "true or false (default true)",
    }
}

impl Default for JobsSpec {
    fn default() -> Self {
        JobsSpec {
            retention_days: 30,
            response_queue: true,
        }
    }
}

/// The most receives a message may have with `jobs:`: a job's history holds at most two entries
/// an attempt, and a DynamoDB item at most 400 KB.
pub(super) const MAX_RECEIVES_WITH_JOBS: i64 = 100;

choices! {
    /// What consumes the queue: EC2 instances in an Auto Scaling group, a Lambda function, or
    /// container tasks of an ECS service on Fargate. What each kind means to every feature is
    /// in `crate::kinds`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum WorkerKind {
        #[default]
        Ec2 = "ec2" => "default: instances in an Auto Scaling group",
        Lambda = "lambda" => "a function fed by the queue",
        Fargate = "fargate" => "container tasks of an ECS service",
        EcsManaged = "ecs_managed" => "container tasks of an ECS service on EC2 instances AWS launches, patches and replaces (ECS Managed Instances): GPUs and Spot with no AMI to keep",
    }
}

choices! {
    /// The operating system and CPU architecture of Fargate tasks (`workers.fargate.platform`).
    /// Linux only: Windows tasks have other sizes and no Fargate Spot.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum Platform {
        #[default]
        LinuxX86_64 = "linux/x86_64" => "default",
        LinuxArm64 = "linux/arm64",
    }
}

impl Platform {
    /// `RuntimePlatform.CpuArchitecture` of the task definition.
    pub fn cpu_architecture(self) -> &'static str {
        match self {
            Platform::LinuxX86_64 => "X86_64",
            Platform::LinuxArm64 => "ARM64",
        }
    }
}

settings! {
    /// Container workers on Fargate (`workers.fargate`, `kind: fargate` only). The image, count,
    /// Spot share, network, variables, secrets and permissions are the keys every kind shares.
    #[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
    pub struct FargateSpec: defaults {
        /// CPU units of one task: 256, 512, 1024, 2048, 4096, 8192 or 16384.
        pub cpu: u32
            => "CPU units of one task: 256 (default), 512, 1024, 2048, 4096, 8192 or 16384",
        /// MiB of memory of one task; the sizes each `cpu` allows are AWS's table.
        pub memory: u32
            => "MiB of one task (default 512): with cpu 256: 512, 1024 or 2048; 512: 1024 to 4096; 1024: 2048 to 8192; 2048: 4096 to 16384; 4096: 8192 to 30720 (steps of 1024); 8192: 16384 to 61440 (steps of 4096); 16384: 32768 to 122880 (steps of 8192)",
        pub platform: Platform => "{choices}: what the image was built for",
        /// Seconds between SIGTERM and SIGKILL when a task stops (2 to 120; AWS's default 30).
        pub stop_timeout: Seconds
            => "a duration from 2s to 2m (default 30s), at most queue.visibility_timeout: from SIGTERM to SIGKILL when a task stops",
        /// Task storage in GiB (21 to 200); absent: Fargate's 20 GiB.
        pub ephemeral_storage_gib: Option<u32>
            => "a whole number of GiB from 21 to 200 (optional; Fargate gives 20 without it)",
        /// ECS Exec into running tasks (`EnableExecuteCommand`, and the SSM channels on the task
        /// role). Off by default.
        pub exec: bool => "true or false (default false): ECS Exec into running tasks",
        /// Overrides the image's CMD.
        pub command: Option<Vec<String>> => "a list of strings overriding the image's CMD (optional)",
        /// Overrides the image's ENTRYPOINT.
        pub entry_point: Option<Vec<String>>
            => "a list of strings overriding the image's ENTRYPOINT (optional)",
    }
}

impl Default for FargateSpec {
    fn default() -> Self {
        FargateSpec {
            cpu: 256,
            memory: 512,
            platform: Platform::default(),
            stop_timeout: Seconds(30),
            ephemeral_storage_gib: None,
            exec: false,
            command: None,
            entry_point: None,
        }
    }
}

settings! {
    /// Container tasks on ECS Managed Instances (`workers.ecs_managed`, `kind: ecs_managed`
    /// only): EC2 instances that ECS launches, patches and replaces, chosen by their attributes
    /// from the task's size, `workers.gpu` and `workers.instance_types`. The image, count, Spot
    /// share, network, variables, secrets and permissions are the keys every kind shares.
    #[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
    pub struct EcsManagedSpec: defaults {
        /// CPU units of one task (1024 = one vCPU).
        pub cpu: u32
            => "CPU units of one task (default 1024, one vCPU): a whole number from 256 to 196608; the instances chosen have at least this many vCPUs",
        /// MiB of memory of one task.
        pub memory: u32
            => "MiB of one task (default 2048): a whole number from 512 to 786432; the instances chosen have at least this much memory",
        pub platform: Platform => "{choices}: what the image was built for",
        /// Seconds between SIGTERM and SIGKILL when a task stops (2 to 120).
        pub stop_timeout: Seconds
            => "a duration from 2s to 2m (default 30s), at most queue.visibility_timeout: from SIGTERM to SIGKILL when a task stops",
        /// Each instance's data volume in GiB (AWS's default 80 without it).
        pub storage_gib: Option<u32>
            => "a whole number of GiB from 30 to 16384 (optional; AWS gives 80 without it): each instance's data volume, where images and tasks' writable layers go",
        /// ECS Exec into running tasks. Off by default.
        pub exec: bool => "true or false (default false): ECS Exec into running tasks",
        /// Overrides the image's CMD.
        pub command: Option<Vec<String>> => "a list of strings overriding the image's CMD (optional)",
        /// Overrides the image's ENTRYPOINT.
        pub entry_point: Option<Vec<String>>
            => "a list of strings overriding the image's ENTRYPOINT (optional)",
    }
}

impl Default for EcsManagedSpec {
    fn default() -> Self {
        EcsManagedSpec {
            cpu: 1024,
            memory: 2048,
            platform: Platform::default(),
            stop_timeout: Seconds(30),
            storage_gib: None,
            exec: false,
            command: None,
            entry_point: None,
        }
    }
}

choices! {
    /// The instruction set architecture of a Lambda function (`workers.lambda.architecture`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum Architecture {
        #[default]
        X86_64 = "x86_64" => "default",
        Arm64 = "arm64",
    }
}

choices! {
    /// How a new version of the worker function takes the queue's jobs
    /// (`workers.lambda.deployment`): CodeDeploy shifts the function's alias to it, watching
    /// the rollback alarms (`canary`, `linear`), or the mapping invokes the function's latest
    /// code at once (`direct`: no alias, nothing rolls back).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum LambdaDeployment {
        #[default]
        Canary = "canary" => "default: 10 % of the jobs for 5 minutes, then all; rolls back on the alarms",
        Linear = "linear" => "10 % more of the jobs every minute, all after 10 minutes; rolls back on the alarms",
        Direct = "direct" => "every job at once, nothing rolls back",
    }
}

settings! {
    /// The serverless variant: a function fed by the queue through an event source mapping.
    #[derive(Debug, Clone, Deserialize, Serialize)]
    pub struct LambdaSpec: defaults {
        /// Directory (relative to the stack file) holding the function's code: one Python file,
        /// packaged inline into the template. Absent: the reference handler.
        pub code: Option<PathBuf>
            => "a directory, relative to the stack file, holding the handler: one source file goes inline in the template; with a requirements.txt (Python) or package.json (Node.js), or several files, qfleet deploy builds a deployment package (tests, conftest.py, __init__.py and *.md at its top are left out); or a .zip file, taken as the package; absent: the reference handler",
        /// A container image in a private Amazon ECR repository of the stack's region, instead of
        /// `code`, `runtime` and `handler`: the image carries its own runtime and handler.
        pub image: Option<ImageSetting>
            => "a container image in a private Amazon ECR repository of the stack's region: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY@sha256:DIGEST (recommended) or :TAG, or {build: {context: ., dockerfile: Dockerfile}}: qfleet deploy builds it and pushes it to the environment's ECR repository; instead of code, runtime and handler",
        /// Overrides the image's CMD (`kind: lambda` with `image` only).
        pub command: Option<Vec<String>>
            => "a list of strings overriding the image's CMD, such as [app.handler] (workers.lambda.image only)",
        /// Overrides the image's ENTRYPOINT (`kind: lambda` with `image` only).
        pub entry_point: Option<Vec<String>>
            => "a list of strings overriding the image's ENTRYPOINT, such as [/usr/local/bin/python, -m, awslambdaric] (workers.lambda.image only)",
        /// The instruction set the image was built for (`image` only; a zip package is x86_64).
        pub architecture: Architecture
            => "{choices}: the instruction set the image was built for (workers.lambda.image only)",
        pub runtime: String
            => "a Python 3 or Node.js runtime AWS Lambda still creates functions on, such as python3.14 or nodejs24.x (default python3.12); a deprecated one is a warning",
        /// `module.function` of the handler.
        pub handler: String => "module.function, such as qfleet_handler.handler (the default)",
        pub memory_mb: u32 => "a whole number of MB from 128 to 10240 (default 256); with managed_instances at least 2048, a multiple of 1024 × managed_instances.memory_per_vcpu",
        pub timeout: Seconds
            => "a duration from 1s to 15m, to 90m with managed_instances (default 10s); queue.visibility_timeout must be at least 6 times it",
        /// Messages per invocation.
        pub batch_size: u32
            => "1 to 10 messages per invocation, up to 10000 with a batching_window of at least 1s",
        /// How long the mapping gathers messages before it invokes (0 to 5 minutes).
        pub batching_window: Seconds => "a duration from 0s to 5m (default 0s)",
        /// Most concurrent invocations the queue's mapping starts: the scaling cap.
        pub max_concurrency: u32
            => "a whole number from 2 to 1000 (default 5): the most invocations the queue starts at once (standard mode; not with provisioned_pollers)",
        /// Concurrency reserved for the function (optional).
        pub reserved_concurrency: Option<u32>
            => "a whole number, at least workers.lambda.max_concurrency, or 10 × provisioned_pollers.maximum in provisioned mode (optional)",
        /// Provisioned mode: dedicated event pollers, instead of `max_concurrency` (AWS makes the
        /// two mutually exclusive). Absent: standard mode.
        pub provisioned_pollers: Option<PollerSpec>
            => "a mapping with {keys and}: the event source mapping's provisioned mode, dedicated event pollers of up to 10 concurrent invocations each, billed by the hour; instead of max_concurrency (optional, absent: standard mode)",
        pub log_retention_days: u32
            => "one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (default 14)",
        /// How a new version of the function takes the jobs: shifted by CodeDeploy with the
        /// rollback alarms watching, or at once.
        pub deployment: LambdaDeployment
            => "{choices}: how a new version of the function takes the queue's jobs",
        /// Lambda Managed Instances: the function runs on EC2 instances Lambda manages in the
        /// stage's VPC, through a capacity provider of its own. Absent: Lambda (default).
        pub managed_instances: Option<ManagedInstancesSpec>
            => "a mapping with {keys}: run the function on Lambda Managed Instances, EC2 instances Lambda manages in workers.network's subnets (optional, absent: Lambda's default compute)",
    }
}

settings! {
    /// Lambda Managed Instances (`workers.lambda.managed_instances`): the capacity provider's
    /// instances and scaling, and the function's size and concurrency on them. Every key is
    /// optional; an empty mapping takes AWS's defaults.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub struct ManagedInstancesSpec {
        /// `InstanceRequirements.AllowedInstanceTypes`; absent: Lambda chooses.
        pub instance_types: Option<Vec<String>>
            => "a list of 1 to 400 EC2 instance types the instances may be, such as [m7g.large, c7g.xlarge] (a * may stand for part of a name; optional, absent: Lambda chooses, which AWS recommends)",
        /// `CapacityProviderScalingConfig.MaxVCpuCount`.
        pub max_vcpus: Option<u32>
            => "a whole number from 2 to 15000: the most vCPUs of all the instances together (optional, absent: AWS's default)",
        /// The function's `ExecutionEnvironmentMemoryGiBPerVCpu`.
        pub memory_per_vcpu: Option<u32>
            => "2, 4 or 8: GiB of the function's memory per vCPU, so workers.lambda.memory_mb / 1024 / this is its vCPUs (optional, absent: AWS's default)",
        /// The function's `PerExecutionEnvironmentMaxConcurrency`.
        pub per_environment: Option<u32>
            => "a whole number from 1 to 1600: the invocations one execution environment runs at once (optional, absent: the runtime's default)",
    }
}

settings! {
    /// The event source mapping's provisioned mode (`workers.lambda.provisioned_pollers`):
    /// `ProvisionedPollerConfig`. Both bounds are the user's to choose, since the minimum is
    /// billed all the time.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
    pub struct PollerSpec {
        /// Pollers kept ready even when the queue is empty (`MinimumPollers`).
        pub minimum: u32 = required
            => "a whole number from 2 to 200, at most maximum: pollers kept ready (and billed) even when the queue is empty",
        /// Pollers the mapping may scale up to (`MaximumPollers`).
        pub maximum: u32 = required
            => "a whole number from 2 to 2000, at least minimum: the pollers the mapping may scale up to",
    }
}

impl PollerSpec {
    /// "Each poller can handle up to 1 MB/s of throughput, up to 10 concurrent invokes" (AWS
    /// News Blog, "AWS Lambda enhances event processing with provisioned mode for SQS
    /// event-source mapping", <https://aws.amazon.com/blogs/aws/aws-lambda-enhances-sqs-processing-with-new-provisioned-mode-3x-faster-scaling-16x-higher-capacity>).
    pub const INVOCATIONS_PER_POLLER: u32 = 10;

    /// The most concurrent invocations the maximum pollers run.
    pub fn max_invocations(&self) -> u32 {
        self.maximum.saturating_mul(Self::INVOCATIONS_PER_POLLER)
    }
}

impl Default for LambdaSpec {
    fn default() -> Self {
        LambdaSpec {
            code: None,
            image: None,
            command: None,
            entry_point: None,
            architecture: Architecture::X86_64,
            runtime: "python3.12".into(),
            handler: "qfleet_handler.handler".into(),
            memory_mb: 256,
            // Six times this is the queue's default visibility timeout (60 s), as AWS asks.
            timeout: Seconds(10),
            batch_size: 10,
            batching_window: Seconds(0),
            max_concurrency: 5,
            reserved_concurrency: None,
            provisioned_pollers: None,
            log_retention_days: 14,
            deployment: LambdaDeployment::Canary,
            managed_instances: None,
        }
    }
}

settings! {
    #[derive(Debug, Clone, Deserialize, Serialize)]
    pub struct WorkersSpec: defaults {
        /// `ec2` (default), `lambda`, `fargate` or `ecs_managed`.
        pub kind: WorkerKind => "{choices}",
        /// Settings of the Lambda function (`kind: lambda` only).
        pub lambda: LambdaSpec
            => "a mapping with code, runtime, handler (or image, command, entry_point, architecture), memory_mb, timeout, batch_size, batching_window, max_concurrency, reserved_concurrency, provisioned_pollers, log_retention_days, deployment, managed_instances (workers.kind: lambda only)",
        /// Settings of the Fargate tasks (`kind: fargate` only).
        pub fargate: FargateSpec => "a mapping with {keys} (workers.kind: fargate only)",
        /// Settings of the tasks on ECS Managed Instances (`kind: ecs_managed` only).
        pub ecs_managed: EcsManagedSpec
            => "a mapping with {keys} (workers.kind: ecs_managed only)",
        /// An SSM public parameter path (`/aws/service/...`) or an AMI id (`ami-...`).
        pub ami: String
            => "an SSM parameter path such as /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64, or an AMI id (ami- and 8 or 17 hex digits)",
        pub instance_type: String => "an EC2 instance type such as t3.micro or m7g.large",
        /// Several instance types of one architecture, in order of preference, instead of
        /// `instance_type`: the group launches them through a mixed instances policy.
        pub instance_types: Option<Vec<String>>
            => "a list of 2 to 20 different EC2 instance types of one architecture (all Graviton or all x86_64, matching workers.ami), in order of preference, such as [m7g.large, m6g.large, c7g.large]; instead of workers.instance_type",
        /// The share of the capacity above an On-Demand base that runs on Spot Instances.
        pub spot: SpotSpec
            => "a mapping with {keys and} (default: no Spot, every instance On-Demand)",
        /// Instances launched and initialised ahead, stopped or running, that the group draws on
        /// when it scales out (`AWS::AutoScaling::WarmPool`). Absent: none.
        pub warm_pool: Option<WarmPoolSpec>
            => "a mapping with {keys and}: instances launched and bootstrapped ahead that the group draws on when it scales out (optional; one instance type, no Spot, the reference worker)",
        /// The NVIDIA GPUs every instance must have (`kind: ec2`). Absent: none.
        pub gpu: Option<GpuSpec>
            => "a mapping with {keys and}: the NVIDIA GPUs each instance must have (kind ec2 only; optional): GPU instance types, an AMI with the NVIDIA driver, containers started with the GPUs, and an instance whose GPUs are missing replaced",
        pub min: i64
            => "a whole number from 0 to workers.max; 0 only with scaling.scale_from_zero: true",
        pub max: i64 => "a whole number from 0 to 1000, at least workers.min; 0 parks the environment: no worker runs, the jobs wait in the queue",
        pub network: Network
            => "`default` (the default VPC, at least 2 AZs) or {vpc: vpc-…, subnets: {<az>: subnet-…}} with at least 2 availability zones",
        /// Shell script (path relative to the stack file) that installs and starts the worker.
        pub user_data: Option<PathBuf>
            => "a path, relative to the stack file, to a shell script starting with #!",
        /// A container image the instances run as the worker, instead of the reference worker;
        /// with `kind: fargate`, the image every task runs (required).
        pub image: Option<ImageSetting>
            => "a container image the instances run as the worker: REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST], such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker:1.4 (pulled with the instance role) or public.ecr.aws/org/worker:1.4; or {build: {context: ., dockerfile: Dockerfile}}: qfleet deploy builds it and pushes it to the environment's ECR repository; not with workers.user_data",
        pub health_check_grace_period: Seconds => "a duration from 0s to 2h",
        /// Default instance warmup of the group.
        pub instance_warmup: Seconds => "a duration from 0s to 2h",
        pub root_volume_gib: u32 => "a whole number of GiB from 8 to 16384",
        /// Days the EC2 workers' log group keeps their journal (kind ec2; a Lambda function's is
        /// `lambda.log_retention_days`).
        pub log_retention_days: u32
            => "one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (default 14): how long the workers' log group keeps their journal",
        /// Give workers a public IP address. Insecure; needed only in subnets without a NAT gateway
        /// or VPC endpoints, such as the default VPC.
        pub public_ip: bool
            => "true or false (default false; true is insecure and only for subnets without NAT or VPC endpoints)",
        /// How long one attempt may run (EC2 and Fargate): a longer one is stopped, recorded as
        /// timed out, and retried or dead-lettered as a failure is. Absent: no limit.
        pub job_timeout: Option<Seconds>
            => "a duration from 1s to 12h (optional; EC2 and Fargate workers): an attempt that runs longer is stopped, and retried or dead-lettered as a failure is; a function's limit is workers.lambda.timeout",
        /// The limits (`limits`) each of these workers' jobs holds a slot of while it runs
        /// (EC2 and Fargate): a job over one waits, its message held, and is no failure.
        #[serde(deserialize_with = "null_as_empty")]
        pub limits: Vec<String>
            => "a list of names from limits (optional; EC2 and Fargate workers): each job holds a slot of each while it runs, and waits, its message held, while one is full",
        /// Plain settings the worker gets as environment variables (both kinds).
        pub environment: BTreeMap<String, String>
            => "a mapping of environment variable names to plain values the worker gets (not secrets: see workers.secrets)";
            each "a name of letters, digits and _ not starting with a digit, not QFLEET_…, not an AWS_… name that carries credentials or redirects the SDK, nor one Lambda reserves; a value on one line without quotes, backslashes or $ on EC2, and all values of a Lambda function within its 4 KB of environment",
        /// More names the workers get the queue's URL under, beside `QFLEET_QUEUE_URL`: a
        /// worker written for another tool reads it unchanged (Copilot's `COPILOT_QUEUE_URI`).
        #[serde(deserialize_with = "null_as_empty")]
        pub queue_url_as: Vec<String>
            => "a list of environment variable names (letters, digits and _), each set to the queue's URL as QFLEET_QUEUE_URL is; not one of workers.environment's",
        /// Environment variable → SSM parameter or Secrets Manager secret, resolved when the worker
        /// starts (never written into the template or the user data).
        pub secrets: BTreeMap<String, String>
            => "a mapping of environment variable names to ssm:/PARAMETER, secretsmanager:SECRET or the ARN of either, resolved when the worker starts";
            each "ssm:/PARAMETER (a Parameter Store name), secretsmanager:SECRET (a Secrets Manager name) or the ARN of a parameter or secret; the variable name as in workers.environment",
        /// Customer managed KMS keys that encrypt those secrets: the worker may decrypt with them.
        #[serde(deserialize_with = "null_as_empty")]
        pub secret_keys: Vec<String>
            => "a list of KMS key ARNs (arn:aws:kms:<region>:<account>:key/<key id>) that encrypt the secrets; not needed for AWS managed keys",
        /// Managed policy ARNs attached to the worker's role.
        #[serde(deserialize_with = "null_as_empty")]
        pub policies: Vec<String>
            => "a list of managed policy ARNs (arn:aws:iam::aws:policy/NAME or arn:aws:iam::<account>:policy/NAME), at most 10 with qfleet's own",
        /// IAM statements added to the worker's role.
        #[serde(deserialize_with = "null_as_empty")]
        pub statements: Vec<Statement>
            => "a list of IAM statements with Effect, Action and Resource (and optionally Sid and Condition) added to the worker's role";
            each "an IAM statement: Effect (Allow or Deny), Action, Resource, optionally Sid and Condition; NotAction, NotResource and Principal are not allowed",
        /// What the workers may reach beside HTTPS (their database, cache, broker, services):
        /// egress rules of the workers' own security group, each added to the rule qfleet always
        /// has (TCP 443 to the AWS APIs). Empty: HTTPS only.
        #[serde(deserialize_with = "null_as_empty")]
        pub egress: Vec<EgressRule>
            => "a list of at most 59 egress rules, each a mapping with protocol, port, one of cidr, prefix_list or security_group, and description: what the workers may reach beside HTTPS to the AWS APIs (EC2 and Fargate; default: HTTPS only)";
            each "a mapping with {settings}",
        /// Existing security groups attached to every worker beside qfleet's own (the
        /// database's client group, say).
        #[serde(deserialize_with = "null_as_empty")]
        pub security_groups: Vec<String>
            => "a list of at most 4 security group ids (sg- and 8 or 17 hex digits) of the workers' VPC, attached beside qfleet's own group (EC2 and Fargate)",
        /// The explicit opt-in for policies and statements that grant administrative or IAM-wide
        /// power (refused without it; warned about every time with it).
        pub allow_privileged: bool
            => "true or false (default: false): allow workers.policies and workers.statements that grant administrative or IAM-wide power (AdministratorAccess, IAMFullAccess, IAM writes, iam:PassRole, wildcard actions on broad resources); warned about on every run",
        /// IAM roles or users that may assume the workers' role (`qfleet dev --as-workers`):
        /// an explicit opt-in, warned about on every run.
        #[serde(deserialize_with = "null_as_empty")]
        pub dev_principals: Vec<String>
            => "a list of IAM role or user ARNs of the stack's account that may assume the workers' role, so that qfleet dev --as-workers runs a worker with exactly the fleet's permissions (EC2 and Fargate; an opt-in, warned about on every run; default none)",
    }
}

impl Default for WorkersSpec {
    fn default() -> Self {
        WorkersSpec {
            kind: WorkerKind::Ec2,
            lambda: LambdaSpec::default(),
            fargate: FargateSpec::default(),
            ecs_managed: EcsManagedSpec::default(),
            ami: DEFAULT_AMI.into(),
            instance_type: "t3.micro".into(),
            instance_types: None,
            spot: SpotSpec::default(),
            warm_pool: None,
            gpu: None,
            job_timeout: None,
            limits: Vec::new(),
            min: 1,
            max: 2,
            network: Network::Default,
            user_data: None,
            image: None,
            health_check_grace_period: Seconds(120),
            instance_warmup: Seconds(120),
            root_volume_gib: 8,
            log_retention_days: 14,
            public_ip: false,
            environment: BTreeMap::new(),
            queue_url_as: Vec::new(),
            secrets: BTreeMap::new(),
            secret_keys: Vec::new(),
            policies: Vec::new(),
            statements: Vec::new(),
            egress: Vec::new(),
            security_groups: Vec::new(),
            allow_privileged: false,
            dev_principals: Vec::new(),
        }
    }
}

choices! {
    /// The protocol of an egress rule (`workers.egress.N.protocol`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum EgressProtocol {
        #[default]
        Tcp = "tcp" => "default",
        Udp = "udp",
        All = "all" => "every protocol and port, without port: warned when its destination is the whole internet",
    }
}

settings! {
    /// One egress rule of the workers' security group (`workers.egress`): a protocol, a port or
    /// a range of them, and one destination.
    #[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
    pub struct EgressRule {
        pub protocol: EgressProtocol => "{choices}",
        /// A port (`5432`) or a range (`8000-8100`); none with `protocol: all`.
        pub port: Option<String>
            => "a port from 0 to 65535 (5432) or a range of them (8000-8100); required with tcp and udp, not with all",
        /// An IPv4 or IPv6 CIDR block.
        pub cidr: Option<String>
            => "an IPv4 or IPv6 CIDR block, such as 10.0.0.0/16 or 0.0.0.0/0 (one of cidr, prefix_list, security_group)",
        /// A managed prefix list (`pl-…`).
        pub prefix_list: Option<String>
            => "a managed prefix list id: pl- and 8 or 17 hex digits (one of cidr, prefix_list, security_group)",
        /// A security group (`sg-…`) of the workers' VPC, or of a peered one.
        pub security_group: Option<String>
            => "a security group id: sg- and 8 or 17 hex digits, of the workers' VPC or a peered one (one of cidr, prefix_list, security_group)",
        pub description: Option<String>
            => "up to 255 of letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* (optional)",
    }
}

/// An empty list for `key:` or `key: ~`, as for a missing key.
fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

settings! {
    /// Spot capacity (`workers.spot`): the group's instances distribution. The default is no Spot.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub struct SpotSpec: defaults {
        /// Percent (0 to 100) of the capacity above the On-Demand base that runs on Spot.
        pub percent: u32
            => "a whole number from 0 to 100: the percent of the instances above on_demand_base that run on Spot (default 0, no Spot)",
        /// Instances that are always On-Demand, launched first.
        pub on_demand_base: u32
            => "a whole number from 0 to workers.max: instances that are always On-Demand, launched first (default 0)",
    }
}

choices! {
    /// The state instances wait in in a warm pool (`PoolState`; `Hibernated` is left out: it
    /// needs hibernation configured in the launch template).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum PoolState {
        /// Stopped: only their EBS volumes are billed; a start takes a boot.
        #[default]
        Stopped = "stopped" => "default: only their EBS volumes are billed; a start takes a boot",
        /// Running: billed as instances; in service at once.
        Running = "running" => "billed as instances; in service at once",
    }
}

impl PoolState {
    pub fn as_cfn(self) -> &'static str {
        match self {
            PoolState::Stopped => "Stopped",
            PoolState::Running => "Running",
        }
    }
}

settings! {
    /// GPUs (`workers.gpu`).
    #[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
    pub struct GpuSpec: defaults {
        /// GPUs each instance must have; fewer makes it unhealthy.
        pub count: u32
            => "a whole number from 1 to 16 (default 1): the GPUs each instance must have; an instance that shows fewer is unhealthy and replaced",
        /// The GPU every instance type must carry, as EC2 names it (`GpuInfo`).
        pub accelerator: Option<String>
            => "a GPU model as EC2 names it, such as L4, A10G, L40S, A100, H100 (optional): plan and deploy check that every instance type carries it",
    }
}

impl Default for GpuSpec {
    fn default() -> Self {
        GpuSpec {
            count: 1,
            accelerator: None,
        }
    }
}

settings! {
    /// A warm pool (`workers.warm_pool`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub struct WarmPoolSpec: defaults {
        /// Instances kept in the pool at least (`MinSize`); AWS keeps `max` minus the desired
        /// capacity there, and at least this.
        pub min_size: u32
            => "a whole number from 0 to workers.max (default 0): instances kept in the pool at least; AWS keeps workers.max minus the desired capacity there",
        pub pool_state: PoolState => "{choices}",
        /// Instances scaled in go back to the pool instead of being terminated.
        pub reuse_on_scale_in: bool
            => "true or false (default false): instances scaled in go back to the pool instead of being terminated",
    }
}

/// Arm64 (AWS Graviton) types: the first-generation `a1`, and the families that carry a `g`
/// after the generation digit (t4g, m7g, c7gn, r8gd, im4gn), per EC2's instance type naming
/// conventions (https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html:
/// "g – AWS Graviton processors").
pub fn is_graviton(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or_default();
    if family == "a1" {
        return true;
    }
    match family.find(|ch: char| ch.is_ascii_digit()) {
        Some(i) => family[i..]
            .trim_start_matches(|ch: char| ch.is_ascii_digit())
            .contains('g'),
        None => false,
    }
}

/// The least time a new instance gets to signal that its worker is up (15 minutes).
const SIGNAL_TIMEOUT: u64 = 900;

/// The longest a new instance may wait in its launch lifecycle hook for its worker to be
/// ready: a hook's largest HeartbeatTimeout, two hours
/// (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutLifecycleHook.html>).
pub const MAX_LAUNCH_HEARTBEAT: u64 = 7_200;

/// The longest a rolling update may wait for a replacement's signal: CloudFormation's maximum
/// `PauseTime` (one hour, `PT1H`; the UpdatePolicy attribute's documentation).
pub const MAX_ROLLING_PAUSE: u64 = 3_600;

/// The AMIs with the NVIDIA driver that `workers.gpu` runs on by default: AWS's Deep Learning
/// Base OSS Nvidia Driver GPU AMI (Amazon Linux 2023), whose Parameter Store name is
/// `/aws/service/deeplearning/ami/$architecture/$ami_type/latest/ami-id` ("Finding the ID of a
/// DLAMI", <https://docs.aws.amazon.com/dlami/latest/devguide/find-dlami-id.html>). It carries
/// the NVIDIA driver, CUDA, Docker and the NVIDIA Container Toolkit, and no ECS agent; the
/// x86_64 one runs G4dn, G5, G6, Gr6, G6e, G7e, P4d, P4de, P5, P5e, P5en and P6-B200/B300, the
/// arm64 one G5g, P6e-GB200 and P6e-GB300 (its release notes' "supported_ec2_instances",
/// <https://docs.aws.amazon.com/dlami/latest/devguide/aws-deep-learning-ami-gpubaseoss-al2023.html>).
pub const GPU_AMI_X86: &str = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id";
pub const GPU_AMI_ARM: &str = "/aws/service/deeplearning/ami/arm64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id";

/// That AMI's root snapshot (75 GiB): a smaller root volume fails every launch.
pub const GPU_AMI_SNAPSHOT_GIB: u32 = 75;

/// The root volume a GPU worker gets unless the file says: the image's 75 GiB, and room for a
/// container image and a model (often several GB each).
pub const GPU_ROOT_VOLUME_GIB: u32 = 100;

impl WorkersSpec {
    /// The AMI the instances run: `workers.ami`, or with `workers.gpu` and no AMI of the file's
    /// own, the Deep Learning Base AMI of the types' architecture.
    pub fn machine_image(&self) -> &str {
        match &self.gpu {
            Some(_) if self.ami == DEFAULT_AMI => {
                if self.types().first().is_some_and(|t| is_graviton(t)) {
                    GPU_AMI_ARM
                } else {
                    GPU_AMI_X86
                }
            }
            _ => &self.ami,
        }
    }

    /// The root volume's size: `workers.root_volume_gib`, or on the default GPU image with a
    /// size below its snapshot (the default 8; validation refuses a smaller one written in
    /// the file), 100 GiB.
    pub fn root_volume(&self) -> u32 {
        match &self.gpu {
            Some(_) if self.ami == DEFAULT_AMI && self.root_volume_gib < GPU_AMI_SNAPSHOT_GIB => {
                GPU_ROOT_VOLUME_GIB
            }
            _ => self.root_volume_gib,
        }
    }

    /// How long a new instance has to signal that its worker is up: booting, installing Python
    /// and boto3 and reaching the queue takes minutes; a custom script may take longer than the
    /// warmup, never less.
    pub fn signal_timeout(&self) -> u64 {
        self.instance_warmup.0.max(SIGNAL_TIMEOUT)
    }

    /// The instance types the group may launch, in order of preference.
    pub fn types(&self) -> Vec<&str> {
        match &self.instance_types {
            Some(types) => types.iter().map(String::as_str).collect(),
            None => vec![self.instance_type.as_str()],
        }
    }

    /// Whether the group launches through a mixed instances policy: several types, or Spot.
    pub fn mixed(&self) -> bool {
        self.instance_types.is_some() || self.spot.percent > 0
    }
}

/// Where the workers run: `default` (the default VPC's default subnets, discovered at deploy
/// time) or an explicit VPC with one subnet per availability zone.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Network {
    #[default]
    Default,
    Explicit(ExplicitNetwork),
}

impl Setting for Network {
    const KIND: Kind = Kind::Network;
}

settings! {
    /// The mapping form of `workers.network`.
    #[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
    pub struct ExplicitNetwork {
        pub vpc: String = required => "a VPC id: vpc- and 8 or 17 hex digits",
        /// Availability zone → subnet id.
        pub subnets: BTreeMap<String, String> = required
            => "a mapping of availability zone to subnet id, at least 2 zones of the stack's region";
            each "a subnet id (subnet- and 8 or 17 hex digits) keyed by an availability zone of the region (e.g. eu-west-1a)",
        /// Where a subnet has no way out: find the VPC's endpoints (the default), or also make
        /// the missing ones in the data stack.
        pub endpoints: EndpointsMode => "{choices}",
    }
}

choices! {
    /// What qfleet does about the VPC endpoints the workers need (`workers.network.endpoints`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum EndpointsMode {
        #[default]
        Find = "find" => "default: plan and deploy find them and refuse when one is missing",
        Create = "create" => "make the missing ones in the data stack, kept while anything else in the VPC may use them",
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Network;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`default` or a mapping with `vpc` and `subnets` (availability zone: subnet id)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Network, E> {
                if v == "default" {
                    Ok(Network::Default)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
            fn visit_map<M: MapAccess<'de>>(self, m: M) -> Result<Network, M::Error> {
                ExplicitNetwork::deserialize(de::value::MapAccessDeserializer::new(m))
                    .map(Network::Explicit)
            }
        }
        d.deserialize_any(V)
    }
}

/// A container image: a reference to one already pushed, or one `qfleet deploy` builds from
/// source (`workers.image.build`, `workers.lambda.image.build`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ImageSetting {
    Uri(String),
    Source(ImageFromSource),
}

impl Setting for ImageSetting {
    const KIND: Kind = Kind::Image;
}

impl ImageSetting {
    /// The reference, when the file names one.
    pub fn uri(&self) -> Option<&str> {
        match self {
            ImageSetting::Uri(u) => Some(u),
            ImageSetting::Source(_) => None,
        }
    }

    /// How to build it, when qfleet builds it.
    pub fn build(&self) -> Option<&BuildSpec> {
        match self {
            ImageSetting::Uri(_) => None,
            ImageSetting::Source(s) => Some(&s.build),
        }
    }
}

impl fmt::Display for ImageSetting {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ImageSetting::Uri(u) => f.write_str(u),
            ImageSetting::Source(_) => f.write_str("the image qfleet deploy builds"),
        }
    }
}

impl<'de> Deserialize<'de> for ImageSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ImageSetting;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an image reference or a mapping with `build`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ImageSetting, E> {
                Ok(ImageSetting::Uri(v.to_string()))
            }
            fn visit_map<M: MapAccess<'de>>(self, m: M) -> Result<ImageSetting, M::Error> {
                ImageFromSource::deserialize(de::value::MapAccessDeserializer::new(m))
                    .map(ImageSetting::Source)
            }
        }
        d.deserialize_any(V)
    }
}

settings! {
    /// The mapping form of an image setting: built from source.
    #[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
    pub struct ImageFromSource {
        pub build: BuildSpec = required
            => "a mapping with {keys and}: qfleet deploy builds the image with Docker or Podman, tags it by a digest of its inputs and pushes it to the environment's ECR repository (only when that tag is not there yet)",
    }
}

settings! {
    /// How `qfleet deploy` builds a worker image (`….image.build`).
    #[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
    pub struct BuildSpec: defaults {
        /// The build context: a directory, relative to the stack file.
        pub context: Option<PathBuf>
            => "a directory, relative to the stack file (default: the stack file's directory); its .dockerignore is followed",
        /// The Dockerfile, relative to the stack file.
        pub dockerfile: Option<PathBuf>
            => "a path, relative to the stack file (default: Dockerfile in the context)",
        /// The Dockerfile's stage to build (`--target`).
        pub target: Option<String>
            => "a stage of the Dockerfile, as FROM … AS name names it (optional; default: the last)",
        /// Build arguments (`--build-arg NAME=VALUE`).
        pub args: BTreeMap<String, String>
            => "a mapping of build argument names to values (optional; no secrets: they stay in the image's history)";
            each "a build argument: a name of letters, digits and _ not starting with a digit, and a text value",
        /// The platform to build for; it must match the workers' architecture.
        pub platform: Option<BuildPlatform>
            => "{choices} (default: the workers' architecture)",
        /// Which engine builds it (`--build-engine` on the command line wins).
        pub engine: Option<Engine>
            => "{choices} (default: Docker when its daemon answers, else Podman)",
        /// The environment whose image of the same inputs this one runs: copied from its
        /// repository by digest, never built here.
        pub promote_from: Option<String>
            => "the name of another environment in the same account and Region: deploy copies its image of the same build inputs from qfleet/NAME by digest instead of building, and refuses when it has none (optional)",
    }
}

choices! {
    /// What a built image runs on (`….image.build.platform`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
    pub enum BuildPlatform {
        Amd64 = "linux/amd64" => "x86_64 instances, Fargate's linux/x86_64, Lambda's x86_64",
        Arm64 = "linux/arm64" => "Graviton instances, Fargate's linux/arm64, Lambda's arm64",
    }
}

choices! {
    /// The container engine that builds and pushes an image.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
    pub enum Engine {
        Docker = "docker" => "the docker client, with a daemon that answers",
        Podman = "podman" => "Podman, which needs no daemon",
    }
}

settings! {
    #[derive(Debug, Clone, Default, Deserialize, Serialize)]
    pub struct ScalingSpec: defaults {
        /// Messages each in-service instance may have waiting (the target-tracking target).
        pub target_backlog_per_instance: Option<f64>
            => "a number greater than 0 (messages visible or in flight per in-service instance)",
        /// Longest acceptable wait for a message, in seconds; with `seconds_per_message`.
        pub max_latency_seconds: Option<f64> => "a number of seconds greater than 0; give both (qfleet derives the target from them), or target_backlog_per_instance (with them or not: a target given wins, the goal stays for its alarm)",
        /// Average processing time of one message, in seconds.
        pub seconds_per_message: Option<f64> => "a number of seconds greater than 0; give both (qfleet derives the target from them), or target_backlog_per_instance (with them or not: a target given wins, the goal stays for its alarm)",
        /// Add a step policy that starts one instance when messages wait and none is in service,
        /// which allows `workers.min: 0`.
        pub scale_from_zero: bool => "true or false",
        /// Messages per second at the busiest time: `qfleet validate` and `plan` simulate that rate
        /// arriving at a fleet at rest and warns when the latency goal is missed.
        pub expected_peak: Option<f64>
            => "messages per second at the busiest time, a number greater than 0; needs max_latency_seconds and seconds_per_message",
        /// The metric target tracking follows: SQS's one-minute metrics (default), or a backlog
        /// per instance published every 10 seconds by a function in the fleet stack.
        pub metric: ScalingMetric => "{choices}",
        /// How the fleet scales in (EC2 and Fargate workers): qfleet's gradual step policy
        /// (default), or target tracking's own.
        pub scale_in: ScaleInSpec => "a mapping with {keys}",
    }
}

settings! {
    /// `scaling.scale_in`: target tracking scales out; by default it does not scale in
    /// (`DisableScaleIn`), and a policy of qfleet's removes `percent` of the workers (at least
    /// one) while the busy backlog per worker stays below `below` × the target for `minutes`
    /// one-minute datapoints, and the workers left would each hold less than the target, then
    /// waits `cooldown`.
    #[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
    pub struct ScaleInSpec: defaults {
        pub policy: ScaleInPolicy => "{choices}",
        /// Share of the workers one scale-in removes, in percent (at least one worker).
        pub percent: u32
            => "a whole number from 1 to 50: the share of the workers one scale-in removes, in percent (at least one worker)",
        /// The scale-in threshold as a share of the target.
        pub below: f64
            => "a number from 0.1 to 0.9: scale in while the busy backlog per worker is below this share of the target",
        /// Consecutive one-minute datapoints below the threshold before a scale-in.
        pub minutes: u32
            => "a whole number from 1 to 1440: consecutive one-minute datapoints below the threshold before a scale-in",
        /// Time after a scale-in before the next one.
        pub cooldown: Seconds => "a duration from 60s to 1h (e.g. 300, 5m)",
    }
}

impl ScaleInSpec {
    pub(super) const PERCENT: (u32, u32) = (1, 50);
    pub(super) const BELOW: (f64, f64) = (0.1, 0.9);
    /// CloudWatch: an alarm evaluates at most a day (`EvaluationPeriods` × `Period` ≤
    /// 86,400 s) — 1,440 one-minute periods.
    pub(super) const MINUTES: (u32, u32) = (1, 1_440);
    pub(super) const COOLDOWN: (u64, u64) = (60, 3_600);
}

impl Default for ScaleInSpec {
    fn default() -> Self {
        ScaleInSpec {
            policy: ScaleInPolicy::Step,
            percent: 10,
            below: 0.75,
            minutes: 10,
            cooldown: Seconds(300),
        }
    }
}

choices! {
    /// `scaling.scale_in.policy`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum ScaleInPolicy {
        /// Target tracking with `DisableScaleIn: true`, and qfleet's gradual policy.
        #[default]
        Step = "step"
            => "default: target tracking does not scale in; qfleet's gradual policy does",
        /// Target tracking's own scale-in (AWS: "more gradually", by how much undocumented).
        TargetTracking = "target_tracking" => "target tracking's own scale-in",
    }
}

choices! {
    /// The metric of the target tracking policy (`scaling.metric`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
    pub enum ScalingMetric {
        /// Visible + in-flight messages (SQS, one-minute datapoints) ÷ instances in service
        /// (Auto Scaling).
        #[default]
        Sqs = "sqs" => "default: SQS's one-minute metrics",
        /// Visible + in-flight messages ÷ instances in service, published every 10 s at
        /// one-second storage resolution by qfleet's publisher function; read with `Period: 10`.
        HighResolution = "high_resolution"
            => "EC2 workers only: a backlog per instance qfleet publishes every 10 seconds, about $9 a month",
    }
}
