//! The stack file as written by the user: one environment per file, with defaults that keep a
//! lab file to a few lines. Every struct rejects unknown keys so a typo is an error, not a
//! silently ignored setting.

use super::duration::Seconds;
use super::permissions::Statement;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The Amazon Linux 2023 public SSM parameter: the latest AL2023 AMI for x86_64.
pub const DEFAULT_AMI: &str =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StackFile {
    /// Environment name; defaults to the file name without `.yaml`.
    #[serde(default)]
    pub environment: Option<String>,
    /// AWS region the environment lives in.
    pub region: String,
    /// Accept a region that qfleet's table of AWS Regions (`regions.rs`) does not list yet.
    #[serde(default)]
    pub region_unlisted: bool,
    /// A classroom environment: data is not retained and stacks are not protected by default.
    #[serde(default)]
    pub lab: bool,
    /// Number of identical copies (`lab-01` … `lab-NN`); absent or 0 means just this one.
    #[serde(default)]
    pub copies: Option<u32>,
    /// Tags put on every stack (CloudFormation propagates them to the resources).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Who owns the environment (a team or repository name), put on its stacks as the tag
    /// `qfleet:owner`: a stack whose owner differs is not this file's to change (two teams
    /// whose stack files share an environment name in one account cannot overwrite each other).
    #[serde(default)]
    pub owner: Option<String>,
    /// The only AWS accounts this file may act in: credentials of any other account are refused
    /// before anything is read or changed (a guard for production files). Empty: any account.
    /// (`accounts:` without a value is no guard; an empty list is refused by validate.)
    #[serde(default)]
    pub accounts: Option<Vec<String>>,
    /// Stack termination protection; defaults to on outside labs.
    #[serde(default)]
    pub termination_protection: Option<bool>,
    /// CloudFormation express mode: an operation ends once the resources' configuration is
    /// applied, without waiting for them to stabilise; defaults to on in labs.
    #[serde(default)]
    pub express: Option<bool>,
    /// IAM role CloudFormation assumes to act on the stacks (optional).
    #[serde(default)]
    pub service_role_arn: Option<String>,
    /// Customer managed KMS key ARN for the bucket, topics and queues (absent: AWS owned keys).
    #[serde(default)]
    pub kms_key: Option<String>,
    #[serde(default)]
    pub bucket: BucketSpec,
    #[serde(default)]
    pub queue: QueueSpec,
    #[serde(default)]
    pub alarms: AlarmSpec,
    #[serde(default)]
    pub workers: WorkersSpec,
    #[serde(default)]
    pub scaling: ScalingSpec,
    /// A pipeline: several stages, each with its own queue, workers and scaling, the first fed
    /// by the uploads and each later one by the stage before it. Absent: one stage made of the
    /// top-level `queue`, `workers` and `scaling`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub stages: Vec<StageSpec>,
}

/// How a later stage's queue learns of the previous stage's results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Feed {
    /// The bucket's event for each object the previous stage writes under this stage's prefix.
    #[default]
    Objects,
    /// A message the previous stage's worker sends to this stage's queue
    /// (`QFLEET_NEXT_QUEUE_URL`).
    Messages,
}

impl Feed {
    pub fn as_str(self) -> &'static str {
        match self {
            Feed::Objects => "objects",
            Feed::Messages => "messages",
        }
    }
}

/// One stage of a pipeline (`stages`): a queue and the workers that consume it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// The stage's name: part of its queue's, group's, function's and fleet stack's names.
    pub name: String,
    /// Later stages only: `objects` (default) or `messages`.
    #[serde(default)]
    pub fed_by: Option<Feed>,
    /// Later stages only: where the previous stage writes its results (default `NAME/`).
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub queue: QueueSpec,
    #[serde(default)]
    pub workers: WorkersSpec,
    #[serde(default)]
    pub scaling: ScalingSpec,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BucketSpec {
    /// Prefix whose new objects become jobs.
    pub upload_prefix: String,
    /// Prefix the workers write results to (never triggers a job).
    pub processed_prefix: String,
    /// Keep the bucket (and its objects) when the stack is deleted; defaults to yes outside labs.
    pub retain: Option<bool>,
    /// Existing bucket that receives server access logs (recommended in production).
    pub access_log_bucket: Option<String>,
    /// Days before a noncurrent object version expires.
    pub noncurrent_version_expiration_days: u32,
    /// Days before an incomplete multipart upload is aborted.
    pub abort_incomplete_multipart_days: u32,
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

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueSpec {
    /// How long a received message stays hidden from other workers.
    pub visibility_timeout: Seconds,
    /// How long an unprocessed message is kept.
    pub message_retention: Seconds,
    /// Long polling wait (0–20 s).
    pub receive_wait_time: Seconds,
    /// Receives before a message moves to the dead-letter queue.
    pub max_receive_count: i64,
    /// How long the dead-letter queue keeps messages; must exceed `message_retention`.
    pub dlq_retention: Seconds,
    /// Alarm when the oldest message is older than this.
    pub oldest_message_alarm: Seconds,
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
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlarmSpec {
    /// E-mail address subscribed to the alarm topic (optional).
    pub email: Option<String>,
}

/// What consumes the queue: EC2 instances in an Auto Scaling group, a Lambda function, or
/// container tasks of an ECS service on Fargate. What each kind means to every feature is
/// in `crate::kinds`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerKind {
    #[default]
    Ec2,
    Lambda,
    Fargate,
}

impl WorkerKind {
    pub const ALL: [WorkerKind; 3] = [WorkerKind::Ec2, WorkerKind::Lambda, WorkerKind::Fargate];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkerKind::Ec2 => "ec2",
            WorkerKind::Lambda => "lambda",
            WorkerKind::Fargate => "fargate",
        }
    }
}

/// The operating system and CPU architecture of Fargate tasks (`workers.fargate.platform`).
/// Linux only: Windows tasks have other sizes and no Fargate Spot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum Platform {
    #[default]
    #[serde(rename = "linux/x86_64")]
    LinuxX86_64,
    #[serde(rename = "linux/arm64")]
    LinuxArm64,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::LinuxX86_64 => "linux/x86_64",
            Platform::LinuxArm64 => "linux/arm64",
        }
    }

    /// `RuntimePlatform.CpuArchitecture` of the task definition.
    pub fn cpu_architecture(self) -> &'static str {
        match self {
            Platform::LinuxX86_64 => "X86_64",
            Platform::LinuxArm64 => "ARM64",
        }
    }
}

/// Container workers on Fargate (`workers.fargate`, `kind: fargate` only). The image, count,
/// Spot share, network, variables, secrets and permissions are the keys every kind shares.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FargateSpec {
    /// CPU units of one task: 256, 512, 1024, 2048, 4096, 8192 or 16384.
    pub cpu: u32,
    /// MiB of memory of one task; the sizes each `cpu` allows are AWS's table.
    pub memory: u32,
    pub platform: Platform,
    /// Seconds between SIGTERM and SIGKILL when a task stops (2 to 120; AWS's default 30).
    pub stop_timeout: Seconds,
    /// Task storage in GiB (21 to 200); absent: Fargate's 20 GiB.
    pub ephemeral_storage_gib: Option<u32>,
    /// ECS Exec into running tasks (`EnableExecuteCommand`, and the SSM channels on the task
    /// role). Off by default.
    pub exec: bool,
    /// Overrides the image's CMD.
    pub command: Option<Vec<String>>,
    /// Overrides the image's ENTRYPOINT.
    pub entry_point: Option<Vec<String>>,
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

/// The instruction set architecture of a Lambda function (`workers.lambda.architecture`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum Architecture {
    #[default]
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// The serverless variant: a function fed by the queue through an event source mapping.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LambdaSpec {
    /// Directory (relative to the stack file) holding the function's code: one Python file,
    /// packaged inline into the template. Absent: the reference handler.
    pub code: Option<PathBuf>,
    /// A container image in a private Amazon ECR repository of the stack's region, instead of
    /// `code`, `runtime` and `handler`: the image carries its own runtime and handler.
    pub image: Option<String>,
    /// Overrides the image's CMD (`kind: lambda` with `image` only).
    pub command: Option<Vec<String>>,
    /// Overrides the image's ENTRYPOINT (`kind: lambda` with `image` only).
    pub entry_point: Option<Vec<String>>,
    /// The instruction set the image was built for (`image` only; a zip package is x86_64).
    pub architecture: Architecture,
    pub runtime: String,
    /// `module.function` of the handler.
    pub handler: String,
    pub memory_mb: u32,
    pub timeout: Seconds,
    /// Messages per invocation.
    pub batch_size: u32,
    /// How long the mapping gathers messages before it invokes (0 to 5 minutes).
    pub batching_window: Seconds,
    /// Most concurrent invocations the queue's mapping starts: the scaling cap.
    pub max_concurrency: u32,
    /// Concurrency reserved for the function (optional).
    pub reserved_concurrency: Option<u32>,
    /// Provisioned mode: dedicated event pollers, instead of `max_concurrency` (AWS makes the
    /// two mutually exclusive). Absent: standard mode.
    pub provisioned_pollers: Option<PollerSpec>,
    pub log_retention_days: u32,
}

/// The event source mapping's provisioned mode (`workers.lambda.provisioned_pollers`):
/// `ProvisionedPollerConfig`. Both bounds are the user's to choose, since the minimum is
/// billed all the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PollerSpec {
    /// Pollers kept ready even when the queue is empty (`MinimumPollers`).
    pub minimum: u32,
    /// Pollers the mapping may scale up to (`MaximumPollers`).
    pub maximum: u32,
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
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkersSpec {
    /// `ec2` (default), `lambda` or `fargate`.
    pub kind: WorkerKind,
    /// Settings of the Lambda function (`kind: lambda` only).
    pub lambda: LambdaSpec,
    /// Settings of the Fargate tasks (`kind: fargate` only).
    pub fargate: FargateSpec,
    /// An SSM public parameter path (`/aws/service/...`) or an AMI id (`ami-...`).
    pub ami: String,
    pub instance_type: String,
    /// Several instance types of one architecture, in order of preference, instead of
    /// `instance_type`: the group launches them through a mixed instances policy.
    pub instance_types: Option<Vec<String>>,
    /// The share of the capacity above an On-Demand base that runs on Spot Instances.
    pub spot: SpotSpec,
    /// Instances launched and initialised ahead, stopped or running, that the group draws on
    /// when it scales out (`AWS::AutoScaling::WarmPool`). Absent: none.
    pub warm_pool: Option<WarmPoolSpec>,
    pub min: i64,
    pub max: i64,
    pub network: Network,
    /// Shell script (path relative to the stack file) that installs and starts the worker.
    pub user_data: Option<PathBuf>,
    /// A container image the instances run as the worker, instead of the reference worker;
    /// with `kind: fargate`, the image every task runs (required).
    pub image: Option<String>,
    pub health_check_grace_period: Seconds,
    /// Default instance warmup of the group.
    pub instance_warmup: Seconds,
    pub root_volume_gib: u32,
    /// Days the EC2 workers' log group keeps their journal (kind ec2; a Lambda function's is
    /// `lambda.log_retention_days`).
    pub log_retention_days: u32,
    /// Give workers a public IP address. Insecure; needed only in subnets without a NAT gateway
    /// or VPC endpoints, such as the default VPC.
    pub public_ip: bool,
    /// Plain settings the worker gets as environment variables (both kinds).
    pub environment: BTreeMap<String, String>,
    /// Environment variable → SSM parameter or Secrets Manager secret, resolved when the worker
    /// starts (never written into the template or the user data).
    pub secrets: BTreeMap<String, String>,
    /// Customer managed KMS keys that encrypt those secrets: the worker may decrypt with them.
    #[serde(deserialize_with = "null_as_empty")]
    pub secret_keys: Vec<String>,
    /// Managed policy ARNs attached to the worker's role.
    #[serde(deserialize_with = "null_as_empty")]
    pub policies: Vec<String>,
    /// IAM statements added to the worker's role.
    #[serde(deserialize_with = "null_as_empty")]
    pub statements: Vec<Statement>,
    /// The explicit opt-in for policies and statements that grant administrative or IAM-wide
    /// power (refused without it; warned about every time with it).
    pub allow_privileged: bool,
}

impl Default for WorkersSpec {
    fn default() -> Self {
        WorkersSpec {
            kind: WorkerKind::Ec2,
            lambda: LambdaSpec::default(),
            fargate: FargateSpec::default(),
            ami: DEFAULT_AMI.into(),
            instance_type: "t3.micro".into(),
            instance_types: None,
            spot: SpotSpec::default(),
            warm_pool: None,
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
            secrets: BTreeMap::new(),
            secret_keys: Vec::new(),
            policies: Vec::new(),
            statements: Vec::new(),
            allow_privileged: false,
        }
    }
}

/// An empty list for `key:` or `key: ~`, as for a missing key.
fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Spot capacity (`workers.spot`): the group's instances distribution. The default is no Spot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpotSpec {
    /// Percent (0 to 100) of the capacity above the On-Demand base that runs on Spot.
    pub percent: u32,
    /// Instances that are always On-Demand, launched first.
    pub on_demand_base: u32,
}

/// The state instances wait in in a warm pool (`PoolState`; `Hibernated` is left out: it
/// needs hibernation configured in the launch template).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolState {
    /// Stopped: only their EBS volumes are billed; a start takes a boot.
    #[default]
    Stopped,
    /// Running: billed as instances; in service at once.
    Running,
}

impl PoolState {
    pub fn as_cfn(self) -> &'static str {
        match self {
            PoolState::Stopped => "Stopped",
            PoolState::Running => "Running",
        }
    }
}

/// A warm pool (`workers.warm_pool`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarmPoolSpec {
    /// Instances kept in the pool at least (`MinSize`); AWS keeps `max` minus the desired
    /// capacity there, and at least this.
    pub min_size: u32,
    pub pool_state: PoolState,
    /// Instances scaled in go back to the pool instead of being terminated.
    pub reuse_on_scale_in: bool,
}

/// The least time a new instance gets to signal that its worker is up (15 minutes).
pub const SIGNAL_TIMEOUT: u64 = 900;

/// The longest a rolling update may wait for a replacement's signal: CloudFormation's maximum
/// `PauseTime` (one hour, `PT1H`; the UpdatePolicy attribute's documentation).
pub const MAX_ROLLING_PAUSE: u64 = 3_600;

impl WorkersSpec {
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

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExplicitNetwork {
    pub vpc: String,
    /// Availability zone → subnet id.
    pub subnets: BTreeMap<String, String>,
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

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScalingSpec {
    /// Messages each in-service instance may have waiting (the target-tracking target).
    pub target_backlog_per_instance: Option<f64>,
    /// Longest acceptable wait for a message, in seconds; with `seconds_per_message`.
    pub max_latency_seconds: Option<f64>,
    /// Average processing time of one message, in seconds.
    pub seconds_per_message: Option<f64>,
    /// Add a step policy that starts one instance when messages wait and none is in service,
    /// which allows `workers.min: 0`.
    pub scale_from_zero: bool,
    /// Messages per second at the busiest time: `qfleet validate` and `plan` simulate that rate
    /// arriving at a fleet at rest and warns when the latency goal is missed.
    pub expected_peak: Option<f64>,
    /// The metric target tracking follows: SQS's one-minute metrics (default), or a backlog
    /// per instance published every 10 seconds by a function in the fleet stack.
    pub metric: ScalingMetric,
    /// How the fleet scales in (EC2 and Fargate workers): qfleet's gradual step policy
    /// (default), or target tracking's own.
    pub scale_in: ScaleInSpec,
}

/// `scaling.scale_in`: target tracking scales out; by default it does not scale in
/// (`DisableScaleIn`), and a policy of qfleet's removes `percent` of the workers (at least
/// one) while the busy backlog per worker stays below `below` × the target for `minutes`
/// one-minute datapoints, then waits `cooldown`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScaleInSpec {
    pub policy: ScaleInPolicy,
    /// Share of the workers one scale-in removes, in percent (at least one worker).
    pub percent: u32,
    /// The scale-in threshold as a share of the target.
    pub below: f64,
    /// Consecutive one-minute datapoints below the threshold before a scale-in.
    pub minutes: u32,
    /// Time after a scale-in before the next one.
    pub cooldown: Seconds,
}

impl ScaleInSpec {
    pub const PERCENT: (u32, u32) = (1, 50);
    pub const BELOW: (f64, f64) = (0.1, 0.9);
    /// CloudWatch: an alarm evaluates at most a day (`EvaluationPeriods` × `Period` ≤
    /// 86,400 s) — 1,440 one-minute periods.
    pub const MINUTES: (u32, u32) = (1, 1_440);
    pub const COOLDOWN: (u64, u64) = (60, 3_600);
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

/// `scaling.scale_in.policy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleInPolicy {
    /// Target tracking with `DisableScaleIn: true`, and qfleet's gradual policy.
    #[default]
    Step,
    /// Target tracking's own scale-in (AWS: "more gradually", by how much undocumented).
    TargetTracking,
}

impl ScaleInPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ScaleInPolicy::Step => "step",
            ScaleInPolicy::TargetTracking => "target_tracking",
        }
    }
}

/// The metric of the target tracking policy (`scaling.metric`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalingMetric {
    /// Visible messages (SQS, one-minute datapoints) ÷ instances in service (Auto Scaling).
    #[default]
    Sqs,
    /// Visible + in-flight messages ÷ instances in service, published every 10 s at
    /// one-second storage resolution by qfleet's publisher function; read with `Period: 10`.
    HighResolution,
}

impl ScalingMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            ScalingMetric::Sqs => "sqs",
            ScalingMetric::HighResolution => "high_resolution",
        }
    }
}
