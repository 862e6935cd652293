//! Rendering an environment's CloudFormation templates from `templates/` with minijinja.
//!
//! The templates are compiled into the binary so that `qfleet` works from any directory and a
//! render never touches the disk; they are still plain files in `templates/` to read and edit.

use crate::config::{Environment, ScalingMetric, SourceFile, WorkerKind};
use crate::error::{Error, Result};
use crate::kinds::LogGroup;
use minijinja::{UndefinedBehavior, Value};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

mod access;
mod alerts;
mod body;
mod budget;
pub use access::secret_references;
pub use body::{TEMPLATE_BODY_LIMIT, request_body};
pub use budget::{BUDGET_ID, DIGEST_LEN as BUDGET_DIGEST_LEN, budget_name};
pub mod check;
pub mod dashboard;
pub mod embed;
pub mod fingerprint;
pub mod ids;
pub mod managed_instances;
mod merged;
mod network;
pub mod reach;
mod sources;
mod worker_env;
pub mod worker_version;

pub use fingerprint::{FINGERPRINT_PARAMETER, fingerprint};

pub use merged::{Place, instantiate, long_form, same as same_value};
#[cfg(any(test, feature = "test-util"))]
pub use sources::Deployed as DeployedSource;
pub use sources::SCHEDULE_DEAD_LETTERS;
pub use sources::deployed as deployed_sources;
#[cfg(any(test, feature = "test-util"))]
pub use worker_env::user_data as worker_user_data;
pub use worker_env::variables as worker_variables;

/// The templates, by the path they have in the repository.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "data.yaml.j2",
        include_str!("../../../../templates/data.yaml.j2"),
    ),
    (
        "job-statements.yaml.j2",
        include_str!("../../../../templates/job-statements.yaml.j2"),
    ),
    (
        "fleet.yaml.j2",
        include_str!("../../../../templates/fleet.yaml.j2"),
    ),
    (
        "lambda.yaml.j2",
        include_str!("../../../../templates/lambda.yaml.j2"),
    ),
    (
        "user-data.sh.j2",
        include_str!("../../../../templates/user-data.sh.j2"),
    ),
    (
        "qfleet-worker.service.j2",
        include_str!("../../../../templates/qfleet-worker.service.j2"),
    ),
    (
        "qfleet-container.service.j2",
        include_str!("../../../../templates/qfleet-container.service.j2"),
    ),
    (
        "fargate.yaml.j2",
        include_str!("../../../../templates/fargate.yaml.j2"),
    ),
    (
        "declared-policy.yaml.j2",
        include_str!("../../../../templates/declared-policy.yaml.j2"),
    ),
    (
        "rollback-alarms.yaml.j2",
        include_str!("../../../../templates/rollback-alarms.yaml.j2"),
    ),
];

/// The program that runs the worker with its secrets (`/usr/local/bin/qfleet-secrets`).
const SECRETS_HELPER: &str = qfleet_runtime::SECRETS;

/// What a container worker's instance runs around the container: readiness signalled, the
/// container drained on termination (docs/workers.md, "Container workers").
const CONTAINER_LIFECYCLE: &str =
    include_str!("../../../../templates/qfleet-container-lifecycle.sh");

/// The high-resolution backlog metric's publisher (`scaling.metric: high_resolution`), the
/// fleet template's inline function code.
const BACKLOG_PUBLISHER: &str = qfleet_runtime::BACKLOG_PUBLISHER;

/// The reference worker installed by the default user data, as one file: what it shares with
/// the reference handler in its import's place ([`qfleet_runtime::inline_shared`]), without
/// comment lines and docstrings ([`embed::slim_module`]): the fleet template carries it, and
/// every byte there counts against CloudFormation's 51,200.
fn shipped_worker() -> String {
    embed::slim_module(&qfleet_runtime::inline_shared(qfleet_runtime::WORKER))
}

/// The job table's protocol (`jobs:`; docs/jobs.md), installed beside the reference worker and
/// read by the reference handler, both from the job table's metadata in the data stack.
const JOBS_MODULE: &str = qfleet_runtime::JOBS;

/// The job sweeper (`jobs:`; docs/jobs.md, "A worker that stops"), kept gzipped in the job
/// table's metadata beside [`JOBS_MODULE`], and the loader that is its function's inline code.
const SWEEPER_MODULE: &str = qfleet_runtime::SWEEPER;
const SWEEPER_LOADER: &str = qfleet_runtime::SWEEPER_LOADER;

/// The SHA-256 of the two modules the sweeper loads, in hex: a change to either changes the
/// function's configuration.
fn sweeper_modules_sha256() -> String {
    fingerprint::fingerprint(&format!("{JOBS_MODULE}{SWEEPER_MODULE}"))
}

/// What every template carries of the code qfleet ships, packed once in a process: the
/// modules are compiled in, so each is the same text for every environment, and packing them
/// again (gzip at its best compression, SHA-256, slimming) was a good part of each render's
/// work (validate, render, plan, deploy and iam-policy each render, iam-policy every kind of
/// workers).
struct Packed {
    /// The reference worker ([`shipped_worker`]), gzipped and in base64.
    worker_py_gz: String,
    /// Its SHA-256, in hex.
    worker_sha256: String,
    /// The secrets helper, gzipped and in base64.
    secrets_py_gz: String,
    /// The container's lifecycle script of an instance that runs an image, without its
    /// comments, gzipped and in base64.
    container_lifecycle_gz: String,
    /// The job table's protocol, slimmed, gzipped and in base64.
    jobs_module_gz: String,
    /// The job sweeper, slimmed, gzipped and in base64.
    sweeper_module_gz: String,
    /// The sweeper's loader, slimmed.
    sweeper_loader: String,
    /// [`sweeper_modules_sha256`].
    sweeper_modules_sha256: String,
    /// The reference handler as one file, slimmed ([`shipped_handler`]).
    reference_handler: String,
}

static PACKED: std::sync::LazyLock<Packed> = std::sync::LazyLock::new(|| {
    let worker = shipped_worker();
    Packed {
        worker_py_gz: embed::gzip_base64_line(&worker),
        worker_sha256: sha256_hex(&worker),
        secrets_py_gz: embed::gzip_base64(SECRETS_HELPER),
        container_lifecycle_gz: embed::gzip_base64(&embed::script_without_comments(
            CONTAINER_LIFECYCLE,
        )),
        jobs_module_gz: embed::gzip_base64_line(&embed::slim_module(JOBS_MODULE)),
        sweeper_module_gz: embed::gzip_base64_line(&embed::slim_module(SWEEPER_MODULE)),
        sweeper_loader: embed::slim_module(SWEEPER_LOADER).trim_end().to_string(),
        sweeper_modules_sha256: sweeper_modules_sha256(),
        reference_handler: embed::slim_module(&shipped_handler(crate::package::REFERENCE_HANDLER)),
    }
});

/// What takes the reference handler's `from qfleet_jobs import …` line's place when qfleet
/// deploys it inline: a loader that reads the module from the job table's metadata in the
/// data stack (with `jobs:`; without, the names are None and never used).
const JOBS_FROM_STACK: &str = include_str!("../../../../templates/lambda-jobs-from-stack.py");

/// The reference handler as one file: CloudFormation carries one source file (`ZipFile`), so
/// what it shares with the reference worker takes its import's place
/// ([`qfleet_runtime::inline_shared`]) and its one `from qfleet_jobs import …` line becomes
/// [`JOBS_FROM_STACK`] (a test of the handler runs it so assembled).
fn shipped_handler(handler: &str) -> String {
    qfleet_runtime::inline_shared(handler)
        .lines()
        .map(|line| {
            if line.starts_with("from qfleet_jobs import ") {
                JOBS_FROM_STACK.trim_end()
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

pub use crate::config::MAX_ROLLING_PAUSE;

/// EC2 accepts at most 16 KB of user data: "User data is limited to 16 KB, in raw form, before
/// it is base64-encoded" (Amazon EC2 User Guide, "Work with instance user data",
/// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-add-user-data.html>).
/// Measured on the text EC2 receives: the launch template's `Fn::Sub` once CloudFormation has
/// filled in the stack's name, Region and account ([`user_data_received`]).
const USER_DATA_LIMIT: usize = 16 * 1024;

/// The longest name a stack can have ("A stack name can contain only alphanumeric characters
/// (case-sensitive) and hyphens. It must start with an alphabetic character and can't be
/// longer than 128 characters", CreateStack,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html>).
/// StackSets names its instances' stacks itself (`StackSet-NAME-…`) and documents no length
/// but this one: a StackSets target's stack names count at it.
const STACK_NAME_MAX: usize = 128;

/// The bytes of the user data EC2 receives from `user_data` (the text inside the launch
/// template's `Fn::Sub`): each `${AWS::…}` pseudo parameter as CloudFormation fills it in for
/// `env` (its Region, its partition's URL suffix, a 12-digit account), `${AWS::StackName}` and
/// the imported data stack's name (`${QfleetDataStack}`) as that mode names them (a direct
/// deploy's `qfleet-ENV-fleet`; a StackSets instance's at [`STACK_NAME_MAX`]), and each `${!X}`
/// as the `${X}` it stands for.
fn user_data_received(env: &Environment, user_data: &str) -> usize {
    let region = env.spec.region.as_str();
    let partition = crate::config::partition(region);
    let stack = |own: String| match env.through_stack_sets() {
        true => STACK_NAME_MAX,
        false => own.len(),
    };
    check::substituted_len(user_data, |name| match name {
        "AWS::Region" => region.len(),
        "AWS::AccountId" => 12,
        // A Region qfleet's table does not list yet (`region_unlisted`) counts at the longest.
        "AWS::Partition" => partition.map_or("aws-us-gov".len(), str::len),
        "AWS::URLSuffix" => match partition {
            Some("aws-cn") | None => "amazonaws.com.cn".len(),
            Some(_) => "amazonaws.com".len(),
        },
        "AWS::StackName" => stack(env.fleet_stack_name()),
        "QfleetDataStack" => stack(env.data_stack_name()),
        "QfleetWorkerVersion" => worker_version::PENDING.len(),
        // No other name is substituted in the user data; anything else counts at its longest.
        _ => check::REFERENCE_LENGTH,
    })
}

/// The SHA-256 of `text`, in hex.
fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Which half of an environment a stack is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StackRole {
    /// Bucket, topic, queues and alarms: holds the data.
    Data,
    /// Role, security group, launch template, group and scaling: holds no data.
    Fleet,
}

impl StackRole {
    pub fn as_str(self) -> &'static str {
        match self {
            StackRole::Data => "data",
            StackRole::Fleet => "fleet",
        }
    }
}

/// One rendered CloudFormation template.
#[derive(Debug, Clone, Serialize)]
pub struct RenderedStack {
    pub role: StackRole,
    pub stack_name: String,
    /// File name used by `render --out`.
    pub file_name: String,
    pub template: String,
}

/// Names qfleet gives the environment's resources. They are fixed (not generated by
/// CloudFormation) so that either stack can refer to the other's resources without a
/// circular reference or a cross-stack export.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceNames {
    /// Bucket name before `-<account>-<region>`.
    pub bucket: String,
    pub queue: String,
    /// The priority lane (`queue.priority`; named whether or not the file has one, so that a
    /// teardown or a file that dropped it still finds it).
    pub priority_queue: String,
    pub asg: String,
    /// The worker function (`workers.kind: lambda`): `qfleet-ENV-worker` from a zip package,
    /// `qfleet-ENV-worker-image` from a container image (Lambda cannot change a function's
    /// package type, so each has its own name; see templates/lambda.yaml.j2).
    pub function: String,
    /// Both names a worker function may have (zip package, image), whichever the stack file
    /// names now: a deploy that switches deletes the other one, a teardown whichever exists.
    pub function_names: [String; 2],
    /// The EC2 workers' log group (`workers.kind: ec2`).
    pub worker_log_group: String,
    /// The worker function's log group (`workers.kind: lambda`), named after the zip
    /// package's function and kept by an image function too (its LoggingConfig names it), so
    /// that a switch between the two keeps the environment's log lines.
    pub function_log_group: String,
    /// The code bucket before `-<account>-<region>` (a function's deployment package).
    pub code_bucket: String,
    /// The high-resolution backlog metric's publisher function and its schedule's rule
    /// (`qfleet-ENV-backlog-metric`; at most 64 characters with the longest environment and
    /// stage names, Lambda's and EventBridge's limit).
    pub publisher: String,
    /// The publisher's log group.
    pub publisher_log_group: String,
    /// Fargate workers (`workers.kind: fargate`): the ECS cluster (`qfleet-ENV`), the
    /// service (`qfleet-ENV-workers`) and the task definition's family (`qfleet-ENV-worker`).
    pub cluster: String,
    pub service: String,
    pub task_family: String,
    /// On ECS Managed Instances (`workers.kind: ecs_managed`): the cluster's capacity
    /// providers, On-Demand and Spot: the cluster's name, an underscore and the option
    /// (`qfleet-ENV_on-demand`). No environment's name holds an underscore, so
    /// `qfleet-ENV_*` names this cluster's alone (`qfleet iam-policy`).
    pub on_demand_provider: String,
    pub spot_provider: String,
    /// With `jobs:`: the start of the job table's name, which CloudFormation generates from the
    /// data stack's name and the logical id (`qfleet-ENV-data-JobTable-`), and the response
    /// queue (`qfleet-ENV-responses`): the environment's, shared by its stages.
    pub job_table: String,
    pub response_queue: String,
    /// With `jobs:`: the job sweeper's function and rule (`qfleet-ENV-job-sweeper`), and its
    /// log group (`/qfleet/ENV/job-sweeper`): the environment's, in the data stack.
    pub sweeper: String,
    pub sweeper_log_group: String,
    /// With `jobs:`: the start of the leases' table's name, CloudFormation's as the job
    /// table's (`qfleet-ENV-data-JobLeaseTable-`): the leases of jobs on their last attempt.
    pub job_leases: String,
    /// The alarm topic, named when alerts are configured (`qfleet-ENV-alerts`): the
    /// environment's, in its data stack; the workers publish their failure notices there.
    pub alarm_topic: String,
    /// With alerts, the data stack's rule of rolled-back deploys (`qfleet-ENV-rolled-back`).
    pub rolled_back_rule: String,
    /// With `budget`, the start of its name (`qfleet-ENV-REGION-`; [`budget_name`] ends it):
    /// a budget's name is unique in the account across its regions.
    pub budget: String,
    /// With `budget.hold`: the hold's function and rule (`qfleet-ENV-budget-hold`, as long as
    /// the sweeper's name), and its log group (`/qfleet/ENV/budget-hold`).
    pub budget_hold: String,
    pub budget_hold_log_group: String,
}

impl ResourceNames {
    /// The log group of the environment's workers, whichever their kind.
    pub fn log_group(&self, kind: WorkerKind) -> &str {
        match crate::kinds::of(kind).log_group() {
            LogGroup::Workers => &self.worker_log_group,
            LogGroup::Function => &self.function_log_group,
        }
    }

    pub fn of(env: &Environment) -> ResourceNames {
        // A later stage of a pipeline has names of its own (`qfleet-ENV--STAGE-jobs`); the
        // bucket is the environment's.
        let sfx = env.stage_suffix();
        let (index, stage) = env
            .stage
            .as_ref()
            .map_or((0, ""), |s| (s.index, s.name.as_str()));
        let name = env.resource_name();
        let function = format!("qfleet-{name}{sfx}-worker");
        ResourceNames {
            bucket: format!("{}-uploads", name),
            queue: crate::config::queue_name(name, index, stage, env.spec.queue.fifo),
            priority_queue: crate::config::priority_queue_name(
                name,
                index,
                stage,
                env.spec.queue.fifo,
            ),
            asg: format!("qfleet-{}{sfx}-workers", name),
            worker_log_group: if index == 0 {
                format!("/qfleet/{}/workers", name)
            } else {
                format!("/qfleet/{}/{stage}/workers", name)
            },
            function_log_group: format!("/aws/lambda/{function}"),
            function: if env.spec.workers.lambda.image.is_some() {
                format!("{function}-image")
            } else {
                function.clone()
            },
            function_names: [function.clone(), format!("{function}-image")],
            code_bucket: format!("{}-code", name),
            publisher: format!("qfleet-{}{sfx}-backlog-metric", name),
            cluster: format!("qfleet-{}{sfx}", name),
            service: format!("qfleet-{}{sfx}-workers", name),
            task_family: format!("qfleet-{}{sfx}-worker", name),
            on_demand_provider: format!("qfleet-{}{sfx}_on-demand", name),
            spot_provider: format!("qfleet-{}{sfx}_spot", name),
            job_table: format!("{}-{}-", env.data_stack_name(), ids::JOB_TABLE),
            response_queue: format!("qfleet-{}-responses", name),
            sweeper: format!("qfleet-{}-job-sweeper", name),
            sweeper_log_group: format!("/qfleet/{}/job-sweeper", name),
            job_leases: format!("{}-{}-", env.data_stack_name(), ids::LEASE_TABLE),
            alarm_topic: alerts::topic_name(name),
            rolled_back_rule: format!("qfleet-{name}-rolled-back"),
            budget: format!("qfleet-{name}-{}-", env.spec.region),
            budget_hold: format!("qfleet-{name}-budget-hold"),
            budget_hold_log_group: format!("/qfleet/{name}/budget-hold"),
            publisher_log_group: if index == 0 {
                format!("/qfleet/{}/backlog-metric", name)
            } else {
                format!("/qfleet/{}/{stage}/backlog-metric", name)
            },
        }
    }
}

#[derive(Serialize)]
struct Workers<'a> {
    #[serde(flatten)]
    spec: &'a crate::config::WorkersSpec,
    /// The AMI the instances run (`workers.ami`, or the GPU image with `workers.gpu`).
    machine_image: &'a str,
    ami_is_parameter: bool,
    /// The root volume's size in GiB (room for the GPU image with `workers.gpu`).
    root_volume: u32,
    lifecycle_heartbeat: u64,
    /// How long a new instance has to signal that its worker reached the queue.
    signal_timeout: u64,
    /// A rolling update keeps this many in service; AWS requires it below MaxSize.
    min_in_service: i64,
    /// How long a rolling update waits for a replacement's signal: the signal timeout, within
    /// CloudFormation's maximum PauseTime.
    rolling_pause: u64,
    /// The instance types, in order of preference (one unless `instance_types` is set).
    types: Vec<&'a str>,
    /// Launch through a mixed instances policy (several types, or Spot).
    mixed: bool,
    /// OnDemandPercentageAboveBaseCapacity: what Spot leaves to On-Demand.
    on_demand_above_base: u32,
    /// The declared secrets' grants and references.
    access: access::Access,
    /// The container image the instances run (`workers.image`), read.
    container: Option<crate::config::Image>,
    /// `workers.max: 0`: no worker runs, and nothing scales.
    parked: bool,
    /// The warm pool's `PoolState`, as CloudFormation spells it.
    warm_pool_state: Option<&'static str>,
    /// How long the launching hook waits for a bootstrap (a warm pool's): the signal timeout,
    /// within a lifecycle hook's longest heartbeat (7,200 s).
    launch_heartbeat: u64,
    /// `workers.egress` as the security group's `SecurityGroupEgress` entries.
    egress_rules: Vec<serde_json::Value>,
    /// Whether one of them reaches the whole internet.
    egress_open_to_world: bool,
    /// Whether one of them opens a range of ports.
    egress_port_range: bool,
}

#[derive(Serialize)]
struct Bucket<'a> {
    #[serde(flatten)]
    spec: &'a crate::config::BucketSpec,
    retain: bool,
}

#[derive(Serialize)]
struct Scaling<'a> {
    target: f64,
    scale_from_zero: bool,
    /// The latency goal, when the stack file sets one (an alarm watches it).
    max_latency_seconds: Option<f64>,
    /// `scaling.metric: high_resolution`: qfleet publishes the metric (EC2 workers only).
    high_resolution: bool,
    /// The high-resolution metric's `Stage` dimension: a later stage's name. The first stage
    /// of a pipeline keeps a one-stage environment's metric, as it keeps its names.
    metric_stage: Option<&'a str>,
    /// qfleet's gradual scale-in (`scaling.scale_in.policy: step`); `None`: target
    /// tracking's own.
    scale_in: Option<ScaleIn>,
}

/// The scale-in policy and alarm as the templates render them.
#[derive(Serialize)]
struct ScaleIn {
    percent: u32,
    below: f64,
    /// The alarm's threshold: `below` × the target, to a thousandth.
    threshold: f64,
    minutes: u32,
    cooldown: u64,
}

#[derive(Serialize)]
struct Context<'a> {
    env: &'a str,
    ids: ids::Ids,
    region: &'a str,
    version: &'a str,
    /// Where a stage's worker version goes ([`worker_version`]): replaced once rendered.
    worker_version: &'static str,
    names: ResourceNames,
    kms_key: Option<&'a str>,
    bucket: Bucket<'a>,
    queue: &'a crate::config::QueueSpec,
    /// `queue.tenant` as the workers read it (QFLEET_TENANT): `attribute:NAME`,
    /// `key_segment:N` or `json:PATH`.
    tenant: Option<String>,
    alarms: &'a crate::config::AlarmSpec,
    /// `alerts`: where the alarms and notices go besides the alarm topic.
    alerts: Option<alerts::Alerts>,
    workers: Workers<'a>,
    scaling: Scaling<'a>,
    tags: &'a BTreeMap<String, String>,
    /// The stage's name in a pipeline (absent for a one-stage environment).
    stage: Option<&'a str>,
    /// The next stage's queue when it is fed by messages this stage's workers send.
    next_queue: Option<&'a str>,
    /// The next stage's priority lane, where this stage's workers send its priority jobs on.
    next_priority_queue: Option<&'a str>,
    /// What else feeds the stage's queue (`sources`).
    sources: sources::Sources,
    /// The prefix of job bodies stored in the bucket, when this stage's workers read them: the
    /// first stage (where `qfleet submit` sends) and a stage with `sources.messages`.
    stored_bodies: Option<&'static str>,
    /// Fargate workers' strategy, secrets and cooldowns (`workers.kind: fargate`).
    fargate: Option<crate::kinds::fargate::Render>,
    /// The Managed Instances capacity providers (`workers.kind: ecs_managed`).
    managed: Option<crate::kinds::ecs_managed::Render>,
    /// The job table and the response queue (`jobs:`), and this stage's part in them.
    jobs: Option<Jobs>,
    /// The environment's data stack (the fleet's bootstrap reads the job module there).
    data_stack: String,
    /// A target deployed through StackSets with `jobs:`: the export of its data stack's name.
    /// StackSets names the instance's stack (`StackSet-qfleet-FILE-data-…`), so the workers
    /// and their grants take it from the data stack's export, in the instance's account and
    /// region, rather than from a name a direct deploy gives it.
    data_stack_export: Option<String>,
    /// The workers' network written into the template (a StackSets target), rather than the
    /// `VpcId` and `SubnetIds` parameters a direct deploy sets ([`written_network`]).
    network: Option<WrittenNetwork>,
    /// A function in a VPC (`workers.network` as a mapping, `kind: lambda`): its VPC and
    /// subnets, written into the template (a function takes no network parameters).
    function_network: Option<WrittenNetwork>,
    /// A function on Lambda Managed Instances: its capacity provider.
    capacity_provider: Option<managed_instances::CapacityProvider>,
    /// A target deployed through StackSets: values that differ between targets are written
    /// into the template (an AMI id), not left to parameters a stack set has one value of.
    stack_set: bool,
}

/// A fleet's VPC and its subnets (comma-separated, by zone) as template values.
#[derive(Serialize)]
struct WrittenNetwork {
    vpc: String,
    subnets: String,
}

/// The network a StackSets target's fleet template holds: a stack set takes one set of
/// parameter values for every instance an operation names
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html>),
/// so each target's VPC and subnets are values of its template, which the stack set's merge
/// turns into a lookup by the instance's account and region ([`merged`]). Validation gives
/// every such target an explicit network; a direct deploy sets the parameters (and finds a
/// default VPC) instead.
fn written_network(env: &Environment) -> Option<WrittenNetwork> {
    use crate::config::Network;
    match (&env.spec.workers.network, env.through_stack_sets()) {
        (Network::Explicit(net), true) => Some(WrittenNetwork {
            vpc: net.vpc.clone(),
            subnets: net.subnets.values().cloned().collect::<Vec<_>>().join(","),
        }),
        _ => None,
    }
}

/// A function's VPC and subnets, when the stack file puts it in one (`kind: lambda` with
/// `workers.network` as a mapping): the subnets one value, split in the template, so that a
/// stack set's merge keeps one value per target.
fn function_network(env: &Environment) -> Option<WrittenNetwork> {
    use crate::config::Network;
    match (&env.spec.workers.network, env.spec.workers.kind) {
        (Network::Explicit(net), WorkerKind::Lambda) => Some(WrittenNetwork {
            vpc: net.vpc.clone(),
            subnets: net.subnets.values().cloned().collect::<Vec<_>>().join(","),
        }),
        _ => None,
    }
}

/// `jobs:` as the templates render it: the table and queue in the data stack, and each stage's
/// workers' settings and grants (docs/jobs.md).
#[derive(Serialize)]
struct Jobs {
    retention_days: u32,
    response_queue: bool,
    /// A protected environment keeps its table (DeletionPolicy Retain, deletion protection)
    /// and has point-in-time recovery on.
    protected: bool,
    /// This stage's index (0 first) and the next stage's name (empty for the last).
    stage_index: usize,
    next_stage: String,
    /// Every attribute the protocol writes: the workers' grant names exactly these.
    attributes: &'static [&'static str],
    index: &'static str,
    index_projection: &'static [&'static str],
    /// Every attribute a worker writes in a lease, and in a limit's slot when the stage's
    /// workers name limits: the workers' grant names exactly these.
    lease_attributes: Vec<&'static str>,
    ttl_attribute: &'static str,
    /// The limits this stage's jobs hold a slot of (`workers.limits`), as the workers read
    /// them (`QFLEET_LIMITS`: NAME=N,...; empty: none), and their slots' keys.
    limits: String,
    limit_keys: Vec<String>,
}

impl Jobs {
    fn of(env: &Environment) -> Option<Jobs> {
        use qfleet_runtime::job_table;
        let spec = env.spec.jobs?;
        let stage = env.stage.as_ref();
        Some(Jobs {
            retention_days: spec.retention_days,
            response_queue: spec.response_queue,
            protected: env.termination_protection(),
            stage_index: stage.map_or(0, |s| s.index),
            next_stage: stage.and_then(|s| s.next.clone()).unwrap_or_default(),
            attributes: &job_table::ATTRIBUTES,
            index: job_table::INDEX,
            index_projection: &job_table::INDEX_PROJECTION,
            lease_attributes: {
                let mut a = job_table::LEASE_ATTRIBUTES.to_vec();
                if !env.spec.workers.limits.is_empty() {
                    for s in job_table::SLOT_ATTRIBUTES {
                        if !a.contains(&s) {
                            a.push(s);
                        }
                    }
                }
                a
            },
            ttl_attribute: job_table::TTL_ATTRIBUTE,
            limits: env
                .spec
                .workers
                .limits
                .iter()
                .map(|n| format!("{n}={}", env.spec.limits.get(n).copied().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(","),
            limit_keys: env
                .spec
                .workers
                .limits
                .iter()
                .map(|n| format!("{}{n}", job_table::LIMIT_KEY))
                .collect(),
        })
    }
}

/// A later stage of a pipeline, as the data template declares its queues, policy and alarms.
#[derive(Serialize)]
struct LaterStage<'a> {
    /// The stage's part of its logical ids (`StageThumbs`).
    id: String,
    name: &'a str,
    /// `objects` or `messages`.
    feed: &'static str,
    /// The prefix the stage reads (the bucket's events under it feed the queue, for `objects`).
    prefix: &'a str,
    names: ResourceNames,
    queue: &'a crate::config::QueueSpec,
    kind: &'static str,
    max_latency_seconds: Option<f64>,
    sources: sources::Sources,
    /// `workers.max: 0` (not a function): no worker runs, and a backlog is expected.
    parked: bool,
}

/// The logical-id part of a stage (`thumbs-small` → `StageThumbsSmall`).
pub fn stage_id(name: &str) -> String {
    let mut id = String::from("Stage");
    for part in name.split('-') {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    id
}

fn later_stages(env: &Environment) -> Vec<LaterStage<'_>> {
    env.pipeline
        .iter()
        .skip(1)
        .filter_map(|s| {
            let st = s.stage.as_ref()?;
            Some(LaterStage {
                id: stage_id(&st.name),
                name: &st.name,
                feed: st.feed.unwrap_or_default().as_str(),
                prefix: &s.spec.bucket.upload_prefix,
                names: ResourceNames::of(s),
                queue: &s.spec.queue,
                kind: s.spec.workers.kind.as_str(),
                max_latency_seconds: s.spec.scaling.max_latency_seconds,
                sources: sources::Sources::of(&s.spec.sources),
                parked: s.parked(),
            })
        })
        .collect()
}

fn context(env: &Environment) -> Context<'_> {
    let spec = &env.spec;
    Context {
        env: env.resource_name(),
        ids: ids::IDS,
        region: &spec.region,
        version: env!("CARGO_PKG_VERSION"),
        worker_version: worker_version::PENDING,
        names: ResourceNames::of(env),
        kms_key: spec.kms_key.as_deref(),
        bucket: Bucket {
            spec: &spec.bucket,
            retain: env.retain_bucket(),
        },
        queue: &spec.queue,
        tenant: spec.queue.tenant.as_ref().and_then(|t| t.rule()),
        alarms: &spec.alarms,
        alerts: alerts::Alerts::of(env),
        workers: Workers {
            spec: &spec.workers,
            machine_image: spec.workers.machine_image(),
            ami_is_parameter: spec.workers.machine_image().starts_with('/'),
            root_volume: spec.workers.root_volume(),
            // The terminating hook waits as long as a worker may hold a message.
            lifecycle_heartbeat: spec.queue.visibility_timeout.0.clamp(30, 7_200),
            signal_timeout: spec.workers.signal_timeout(),
            // Validation keeps 0 <= min <= max.
            min_in_service: spec.workers.min.min(spec.workers.max - 1).max(0),
            rolling_pause: spec.workers.signal_timeout().min(MAX_ROLLING_PAUSE),
            types: spec.workers.types(),
            mixed: spec.workers.mixed(),
            // Validation keeps the percent within 0 to 100.
            on_demand_above_base: 100 - spec.workers.spot.percent.min(100),
            access: access::Access::of(&spec.workers),
            container: crate::config::workers_image(env),
            parked: env.parked(),
            warm_pool_state: spec.workers.warm_pool.map(|w| w.pool_state.as_cfn()),
            launch_heartbeat: spec
                .workers
                .signal_timeout()
                .min(crate::config::MAX_LAUNCH_HEARTBEAT),
            egress_rules: network::egress_rules(&spec.workers),
            egress_open_to_world: network::open_to_the_internet(&spec.workers),
            egress_port_range: network::port_range(&spec.workers),
        },
        scaling: Scaling {
            target: env.backlog_target(),
            scale_from_zero: spec.scaling.scale_from_zero,
            max_latency_seconds: spec.scaling.max_latency_seconds,
            high_resolution: spec.scaling.metric == ScalingMetric::HighResolution
                && env.kind().high_resolution(),
            metric_stage: env
                .stage
                .as_ref()
                .filter(|s| s.index > 0)
                .map(|s| s.name.as_str()),
            scale_in: {
                let si = &spec.scaling.scale_in;
                (si.policy == crate::config::ScaleInPolicy::Step).then(|| ScaleIn {
                    percent: si.percent,
                    below: si.below,
                    threshold: (env.backlog_target() * si.below * 1_000.0).round() / 1_000.0,
                    minutes: si.minutes,
                    cooldown: si.cooldown.0,
                })
            },
        },
        tags: &spec.tags,
        // A pipeline of one stage renders as a one-stage file.
        stage: env.pipeline_stage().map(|s| s.name.as_str()),
        next_queue: env.stage.as_ref().and_then(|s| s.next_queue.as_deref()),
        next_priority_queue: env
            .stage
            .as_ref()
            .and_then(|s| s.next_priority_queue.as_deref()),
        sources: sources::Sources::of(&spec.sources),
        stored_bodies: (env.stage.as_ref().is_none_or(|s| s.index == 0)
            || spec.sources.messages.is_some())
        .then_some(crate::config::STORED_BODIES),
        fargate: matches!(
            spec.workers.kind,
            crate::config::WorkerKind::Fargate | crate::config::WorkerKind::EcsManaged
        )
        .then(|| crate::kinds::fargate::Render::of(env)),
        managed: (spec.workers.kind == crate::config::WorkerKind::EcsManaged)
            .then(|| crate::kinds::ecs_managed::Render::of(env)),
        jobs: Jobs::of(env),
        data_stack: env.data_stack_name(),
        data_stack_export: data_stack_export(env),
        network: written_network(env),
        function_network: function_network(env),
        capacity_provider: managed_instances::CapacityProvider::of(env),
        stack_set: env.through_stack_sets(),
    }
}

/// The export of the data stack's name, for a target deployed through StackSets with `jobs:`
/// (an export's name is unique in its account and region, where the stack set has one
/// instance: the stack set's name names it): `qfleet-orders-data-stack`.
fn data_stack_export(env: &Environment) -> Option<String> {
    env.spec.jobs.as_ref()?;
    env.stack_set_of(&env.data_stack_name())
        .map(|set| format!("{set}-stack"))
}

/// Escapes text for the inside of an `Fn::Sub` string: `${X}` would be substituted by
/// CloudFormation, `${!X}` stays literally `${X}`.
fn sub_escape(text: String) -> String {
    text.replace("${", "${!")
}

/// A declared statement as the template's JSON: a resource naming a pseudo parameter goes
/// through `Fn::Sub`, with any IAM policy variable (`${aws:username}`) escaped so that it
/// reaches IAM as written; every other value as written.
fn statement(v: minijinja::Value) -> Result<String, minijinja::Error> {
    let bad = |e: serde_json::Error| {
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
    };
    let mut st = serde_json::to_value(&v).map_err(bad)?;
    let sub = |r: &serde_json::Value| match r.as_str() {
        Some(s)
            if crate::config::PSEUDO_PARAMETERS
                .iter()
                .any(|p| s.contains(p)) =>
        {
            let mut escaped = s.replace("${", "${!");
            for p in crate::config::PSEUDO_PARAMETERS {
                escaped = escaped.replace(&p.replace("${", "${!"), p);
            }
            serde_json::json!({ "Fn::Sub": escaped })
        }
        _ => r.clone(),
    };
    if let Some(r) = st.get_mut("Resource") {
        let new = match &*r {
            serde_json::Value::Array(items) => items.iter().map(sub).collect(),
            one => sub(one),
        };
        *r = new;
    }
    serde_json::to_string(&st).map_err(bad)
}

/// The templates, compiled once in a process: every render reads them (validate, render, plan,
/// deploy and iam-policy each render an environment; the tests, in-process, many).
static JINJA: std::sync::LazyLock<minijinja::Environment<'static>> =
    std::sync::LazyLock::new(jinja);

fn jinja() -> minijinja::Environment<'static> {
    let mut j = minijinja::Environment::new();
    j.set_undefined_behavior(UndefinedBehavior::Strict);
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        j.set_syntax(syntax);
    }
    // The templates quote explicitly (`| tojson`); the extension-based default would
    // JSON-escape every value in a .yaml template.
    j.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    j.add_filter("sub_escape", sub_escape);
    j.add_filter("statement", statement);
    for (name, src) in TEMPLATES {
        // The templates are part of the binary and covered by tests; a syntax error in one is
        // reported when it is rendered.
        let _ = j.add_template(name, src);
    }
    j
}

/// Renders every stack of the environment, in deployment order: the data stack, then each
/// stage's fleet stack (one for a one-stage environment).
pub fn render(env: &Environment) -> Result<Vec<RenderedStack>> {
    let j: &minijinja::Environment<'static> = &JINJA;
    let stages = env.stages();
    // A command that loaded the file without its build contexts knows no image tag: no
    // template may name the image.
    if let Some((stage, field)) = stages.iter().find_map(|s| {
        let unread = s.image_build.as_ref().is_some_and(|b| b.unread);
        unread.then(|| (s, crate::config::image_setting(s).map_or("", |(f, _)| f)))
    }) {
        return Err(Error::Input(vec![stage.source.error(
            &format!("{field}.build"),
            "this command did not read the build context, so the image's tag is unknown and no template can be rendered",
        )]));
    }
    let first = stages[0];
    let mut out = Vec::with_capacity(stages.len() + 1);

    // The data stack is rendered in the first stage's terms (its queue is the environment's
    // queue of a one-stage file), with the later stages' queues beside it.
    let ctx = Value::from(minijinja::value::Serde(context(first)));
    let package = stages
        .iter()
        .find_map(|s| s.function_code.as_ref().and_then(|c| c.package.as_ref()))
        .map(|p| p.key());
    let later = later_stages(env);
    let schedules = sources::schedules(env);
    let uploads = first.spec.sources.takes_uploads();
    // The fleets first: the endpoints the data stack makes are those their workers call.
    let fleets = stages
        .iter()
        .map(|stage| render_fleet(j, stage))
        .collect::<Result<Vec<_>>>()?;
    let endpoints = endpoint_plan(env, &fleets)?;
    let template = render_one(
        j,
        env,
        "data.yaml.j2",
        |c| {
            minijinja::context! {
                function_package => package,
                later_stages => Value::from(minijinja::value::Serde(&later)),
                alert_scope => Value::from(minijinja::value::Serde(alerts::Scope::of(env))),
                schedules => Value::from(minijinja::value::Serde(&schedules)),
                jobs_module_gz => env.spec.jobs.map(|_| PACKED.jobs_module_gz.as_str()),
                sweeper_module_gz => env.spec.jobs.map(|_| PACKED.sweeper_module_gz.as_str()),
                sweeper_loader => PACKED.sweeper_loader.as_str(),
                sweeper_modules_sha256 => PACKED.sweeper_modules_sha256.as_str(),
                final_processed_prefix => env.spec.bucket.processed_prefix.as_str(),
                stored_bodies_prefix => crate::config::STORED_BODIES,
                uploads => uploads,
                schedule_dead_letters => sources::schedule_dead_letters(env),
                object_topics => uploads || later.iter().any(|st| st.feed == "objects"),
                endpoints => Value::from(minijinja::value::Serde(&endpoints)),
                dashboard => env.dashboard().then(|| dashboard::body(env)),
                budget => env.spec.budget.as_ref().map(|b| Value::from(minijinja::value::Serde(budget::Budget::of(env, b)))),
                dashboard_name => dashboard::name(env),
                ..c
            }
        },
        &ctx,
    )?;
    out.push(RenderedStack {
        role: StackRole::Data,
        stack_name: env.data_stack_name(),
        file_name: "data.yaml".into(),
        template,
    });
    out.extend(fleets);
    Ok(out)
}

/// The endpoints the data stack makes (`workers.network.endpoints: create`), from the fleet
/// stacks `fleets` as rendered for `env`'s stages.
pub fn endpoint_plan(
    env: &Environment,
    fleets: &[RenderedStack],
) -> Result<Option<reach::EndpointPlan>> {
    let stages: Vec<(&Environment, &str)> = env
        .stages()
        .into_iter()
        .zip(fleets.iter().filter(|f| f.role == StackRole::Fleet))
        .map(|(stage, f)| (stage, f.template.as_str()))
        .collect();
    reach::endpoint_plan(&stages).map_err(|e| {
        Error::internal(format!(
            "{}: reading the fleet template's roles: {e}",
            env.name
        ))
    })
}

/// The fleet stack of one stage: a group of instances, or a function.
fn render_fleet(j: &minijinja::Environment<'static>, env: &Environment) -> Result<RenderedStack> {
    let ctx = Value::from(minijinja::value::Serde(context(env)));
    // Only instances have user data: a function's or a task's fleet renders none, and no limit
    // of EC2's applies to it.
    let ec2 = env.spec.workers.kind == WorkerKind::Ec2;
    // The reference worker (no custom script, no container image): its bootstrap reads the
    // worker from the launch template's metadata.
    let reference_worker = ec2 && env.user_data.is_none() && env.spec.workers.image.is_none();
    let user_data = match ec2 {
        true => ec2_user_data(j, env, &ctx)?,
        false => String::new(),
    };
    let worker_py_gz = reference_worker.then(|| PACKED.worker_py_gz.as_str());
    let name = env.kind().template();
    let code = env.function_code.as_ref();
    // The reference handler carries what it shares with the worker, and the job table's
    // module's loader, inline (it imports both).
    let code_text = code.map(|c| {
        if c.text == crate::package::REFERENCE_HANDLER {
            PACKED.reference_handler.as_str()
        } else {
            c.text.as_str()
        }
    });
    let template = render_one(
        j,
        env,
        name,
        |c| {
            minijinja::context! {
                user_data => user_data.trim_end(),
                worker_py_gz => worker_py_gz,
                function_code => code_text.map(str::trim_end),
                function_handler => code.map(|c| c.handler.as_str()),
                function_package => code.and_then(|c| c.package.as_ref()).map(|p| p.key()),
                // Inline code counts against CloudFormation's 51,200 bytes: slimmed, as every
                // shipped module is (embed.rs).
                publisher_code => embed::slim_module(BACKLOG_PUBLISHER).trim_end(),
                ..c
            }
        },
        &ctx,
    )?;
    let template = worker_version::stamp(&template, env.spec.workers.kind)
        .map_err(|e| Error::internal(format!("{}: stamping the worker version: {e}", env.name)))?;
    let file_name = match env.stage.as_ref() {
        Some(s) if s.index > 0 => format!("fleet-{}.yaml", s.name),
        _ => "fleet.yaml".into(),
    };
    Ok(RenderedStack {
        role: StackRole::Fleet,
        stack_name: env.fleet_stack_name(),
        file_name,
        template,
    })
}

/// An instance's user data: the bootstrap, with the worker's unit, within EC2's limit on the
/// text it receives ([`user_data_received`]).
fn ec2_user_data(
    j: &minijinja::Environment<'static>,
    env: &Environment,
    ctx: &Value,
) -> Result<String> {
    let unit_template = if env.spec.workers.image.is_some() {
        "qfleet-container.service.j2"
    } else {
        "qfleet-worker.service.j2"
    };
    let unit = render_one(j, env, unit_template, |c| c, ctx)?;
    let user_data = render_one(
        j,
        env,
        "user-data.sh.j2",
        |c| {
            minijinja::context! {
                worker_sha256 => PACKED.worker_sha256.as_str(),
                secrets_py_gz => PACKED.secrets_py_gz.as_str(),
                container_lifecycle_gz => PACKED.container_lifecycle_gz.as_str(),
                worker_unit => unit.trim_end(),
                custom_user_data => env.user_data.as_deref().map(str::trim_end),
                ..c
            }
        },
        ctx,
    )?;
    let received = user_data_received(env, &user_data);
    if received > USER_DATA_LIMIT {
        let (field, what) = match env.user_data.is_some() {
            true => (
                "workers.user_data",
                "have the script download what it installs instead of embedding it",
            ),
            false => (
                "workers",
                "put fewer settings in workers.environment and workers.secrets",
            ),
        };
        return Err(env
            .source
            .error(
                field,
                format!(
                    "the user data EC2 would receive is {received} bytes once CloudFormation fills in the stack's name, Region and account; EC2 accepts at most {USER_DATA_LIMIT} (16 KB before base64): {what}"
                ),
            )
            .into());
    }
    Ok(user_data)
}

fn render_one(
    j: &minijinja::Environment<'static>,
    env: &Environment,
    name: &str,
    extend: impl FnOnce(Value) -> Value,
    ctx: &Value,
) -> Result<String> {
    let tmpl = j
        .get_template(name)
        .map_err(|e| template_error(env, name, &e))?;
    tmpl.render(extend(ctx.clone()))
        .map_err(|e| template_error(env, name, &e))
}

/// A template that fails to render is an input error: it names the template file and line.
fn template_error(env: &Environment, name: &str, e: &minijinja::Error) -> Error {
    let path = PathBuf::from("templates").join(name);
    let src = TEMPLATES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| s.to_string())
        .unwrap_or_default();
    let file = SourceFile::new(path, src);
    let line = e.line().unwrap_or(1);
    let offset = crate::config::byte_offset(&file.text, line, 0);
    let mut message = e
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| e.kind().to_string());
    if e.kind() == minijinja::ErrorKind::UndefinedError {
        message = format!(
            "{message}: the template uses a variable the stack file {} does not provide",
            env.source.display()
        );
    }
    file.error_at_line("-", line, 1, offset, message).into()
}

#[cfg(test)]
mod tests;

/// The stack sets of a stack file in `rollout.mode: stack_sets` ([`merged`]), loaded with
/// its targets, from its targets' rendered stacks.
pub fn stack_sets_of(file: &crate::config::LoadedFile) -> Result<Vec<RenderedStack>> {
    stack_sets_for(&file.base, &file.targets)
}

/// The stack sets of the stack file whose own settings are `file` ([`LoadedFile::base`],
/// [`TargetFile::base`]) and whose targets are `targets` ([`stack_sets_of`]).
///
/// [`LoadedFile::base`]: crate::config::LoadedFile::base
/// [`TargetFile::base`]: crate::config::TargetFile::base
pub fn stack_sets_for(file: &Environment, targets: &[Environment]) -> Result<Vec<RenderedStack>> {
    let mut places = Vec::new();
    let mut rendered = Vec::new();
    for env in targets {
        places.push(merged::Place::of(env));
        rendered.push(render(env)?);
    }
    merged::stack_sets(&file.name, &places, &rendered).map_err(|e| Error::StackSets {
        file: file.source.path.clone(),
        why: e.0,
    })
}
