//! The logical ids (and the lifecycle hook's name) that the templates declare and the Rust code
//! looks up: defined once here and passed into the template context as `ids`.

use serde::Serialize;

pub const BUCKET: &str = "Bucket";
/// qfleet's bucket for the worker function's deployment package (only when it has one).
pub const CODE_BUCKET: &str = "CodeBucket";
const TOPIC: &str = "Topic";
pub const QUEUE: &str = "Queue";
pub const DEAD_LETTER_QUEUE: &str = "DeadLetterQueue";
/// The priority lane (`queue.priority`), a later stage's prefixed with the stage's id, and the
/// worker function's mapping on it.
pub const PRIORITY_QUEUE: &str = "PriorityQueue";
pub const PRIORITY_QUEUE_MAPPING: &str = "PriorityQueueMapping";
pub(super) const SUBSCRIPTION: &str = "Subscription";
pub const WORKER_GROUP: &str = "WorkerGroup";
pub const SCALING_POLICY: &str = "BacklogPerInstancePolicy";
pub const DRAIN_HOOK: &str = "DrainOnTerminateHook";
pub const FUNCTION: &str = "WorkerFunction";
/// The worker function from a container image (`workers.lambda.image`): an id (and a name) of
/// its own, since Lambda cannot change a function's package type (see templates/lambda.yaml.j2).
pub const IMAGE_FUNCTION: &str = "WorkerImageFunction";
/// Both ids a worker function may have, the zip package's first.
pub const FUNCTIONS: [&str; 2] = [FUNCTION, IMAGE_FUNCTION];
pub(super) const FUNCTION_ROLE: &str = "WorkerFunctionRole";
pub(super) const FUNCTION_POLICY: &str = "WorkerFunctionPolicy";
pub const FUNCTION_LOG_GROUP: &str = "WorkerFunctionLogGroup";
pub const WORKER_LOG_GROUP: &str = "WorkerLogGroup";
pub const QUEUE_MAPPING: &str = "QueueMapping";
/// A function whose new versions CodeDeploy shifts (`workers.lambda.deployment` other than
/// `direct`): its published version, the alias the queue mapping invokes (and the alias's
/// name), the CodeDeploy application and deployment group, and the role CodeDeploy acts as
/// with its policy.
pub const FUNCTION_VERSION: &str = "WorkerFunctionVersion";
pub const FUNCTION_ALIAS: &str = "WorkerFunctionAlias";
pub const FUNCTION_ALIAS_NAME: &str = "live";
pub const DEPLOY_APPLICATION: &str = "WorkerDeployApplication";
pub const DEPLOYMENT_GROUP: &str = "WorkerDeploymentGroup";
pub const DEPLOY_ROLE: &str = "WorkerDeployRole";
pub const DEPLOY_POLICY: &str = "WorkerDeployPolicy";
/// The deployment group's name (its application is named as the function).
pub const DEPLOYMENT_GROUP_NAME: &str = "workers";
/// CodeDeploy's predefined configurations `workers.lambda.deployment` chooses from
/// (`canary`, `linear`).
pub const DEPLOYMENT_CONFIGS: [&str; 2] = [
    "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
];
/// The name of the lifecycle hook the worker completes when its instance terminates.
pub const DRAIN_HOOK_NAME: &str = "drain-on-terminate";
/// With a warm pool: the group's warm pool, and the launching hook that holds a new instance
/// until its bootstrap is done (and again when it leaves the pool).
pub(super) const WARM_POOL: &str = "WarmPool";
pub(super) const LAUNCH_HOOK: &str = "BootstrapOnLaunchHook";
pub(super) const LAUNCH_HOOK_NAME: &str = "bootstrap-on-launch";
/// With `scaling.metric: high_resolution`: the function that publishes the backlog per
/// instance every 10 seconds, its role, policy and log group, the rule that starts it every
/// minute and the permission that lets the rule invoke it.
pub(super) const PUBLISHER: &str = "BacklogPublisher";
const PUBLISHER_ROLE: &str = "BacklogPublisherRole";
pub(super) const PUBLISHER_POLICY: &str = "BacklogPublisherPolicy";
pub(super) const PUBLISHER_LOG_GROUP: &str = "BacklogPublisherLogGroup";
pub(super) const PUBLISHER_SCHEDULE: &str = "BacklogPublisherSchedule";
pub(super) const PUBLISHER_PERMISSION: &str = "BacklogPublisherInvokePermission";
/// Fargate workers (`workers.kind: fargate`): the ECS cluster, task definition and service,
/// and the service's scalable target and backlog-per-task policy.
pub(super) const CLUSTER: &str = "WorkerCluster";
pub(super) const TASK_DEFINITION: &str = "WorkerTaskDefinition";
pub const SERVICE: &str = "WorkerService";
pub const SCALABLE_TARGET: &str = "WorkerScalableTarget";
pub(super) const TASK_SCALING_POLICY: &str = "BacklogPerTaskPolicy";
/// With `jobs:`: the job table and the response queue (data stack).
pub const JOB_TABLE: &str = "JobTable";
pub const RESPONSE_QUEUE: &str = "ResponseQueue";
/// With `jobs:`: the job sweeper (docs/jobs.md, "A worker that stops"), its role, policy and
/// log group, the rule that starts it every minute and the permission that lets the rule
/// invoke it (data stack).
pub const LEASE_TABLE: &str = "JobLeaseTable";
const SWEEPER: &str = "JobSweeper";
const SWEEPER_ROLE: &str = "JobSweeperRole";
const SWEEPER_POLICY: &str = "JobSweeperPolicy";
const SWEEPER_LOG_GROUP: &str = "JobSweeperLogGroup";
const SWEEPER_SCHEDULE: &str = "JobSweeperSchedule";
const SWEEPER_PERMISSION: &str = "JobSweeperInvokePermission";
/// The sweeper's subscription to the uploads' topic, and SNS's permission to invoke it: each
/// upload's job is recorded `queued` as it arrives.
pub const ARRIVALS: &str = "JobArrivals";
const ARRIVALS_PERMISSION: &str = "JobArrivalsPermission";

/// The logical ids of a stage's queue and dead-letter queue in the data stack: `Queue` and
/// `DeadLetterQueue` for a one-stage environment and a pipeline's first stage,
/// `StageNAMEQueue` and `StageNAMEDeadLetterQueue` for a later stage.
pub fn stage_queues(env: &crate::config::Environment) -> (String, String) {
    match env.stage.as_ref().filter(|s| s.index > 0) {
        Some(s) => {
            let id = super::stage_id(&s.name);
            (format!("{id}Queue"), format!("{id}DeadLetterQueue"))
        }
        None => (QUEUE.to_string(), DEAD_LETTER_QUEUE.to_string()),
    }
}

/// The logical id of a stage's priority lane (`queue.priority`): `PriorityQueue` for the first
/// stage, `StageNAMEPriorityQueue` for a later one.
pub fn stage_priority_queue(env: &crate::config::Environment) -> String {
    match env.stage.as_ref().filter(|s| s.index > 0) {
        Some(s) => format!("{}{PRIORITY_QUEUE}", super::stage_id(&s.name)),
        None => PRIORITY_QUEUE.to_string(),
    }
}

/// The logical ids of the topic that feeds a stage's queue and of the queue's subscription to
/// it: `Topic` and `Subscription` for a one-stage environment and a pipeline's first stage,
/// `StageNAMETopic` and `StageNAMESubscription` for a later stage fed by objects (a stage fed
/// by messages has neither: the stage before it sends to its queue).
pub fn stage_feed(env: &crate::config::Environment) -> (String, String) {
    match env.stage.as_ref().filter(|s| s.index > 0) {
        Some(s) => {
            let id = super::stage_id(&s.name);
            (format!("{id}Topic"), format!("{id}Subscription"))
        }
        None => (TOPIC.to_string(), SUBSCRIPTION.to_string()),
    }
}

/// The ids as the templates see them (`{{ ids.queue }}`).
#[derive(Debug, Clone, Copy, Serialize)]
pub(super) struct Ids {
    bucket: &'static str,
    code_bucket: &'static str,
    topic: &'static str,
    queue: &'static str,
    dead_letter_queue: &'static str,
    priority_queue: &'static str,
    priority_queue_mapping: &'static str,
    subscription: &'static str,
    worker_group: &'static str,
    scaling_policy: &'static str,
    drain_hook: &'static str,
    drain_hook_name: &'static str,
    warm_pool: &'static str,
    launch_hook: &'static str,
    launch_hook_name: &'static str,
    function: &'static str,
    image_function: &'static str,
    function_role: &'static str,
    function_policy: &'static str,
    function_log_group: &'static str,
    worker_log_group: &'static str,
    queue_mapping: &'static str,
    function_version: &'static str,
    function_alias: &'static str,
    function_alias_name: &'static str,
    deploy_application: &'static str,
    deployment_group: &'static str,
    deploy_role: &'static str,
    deploy_policy: &'static str,
    deployment_group_name: &'static str,
    canary_config: &'static str,
    linear_config: &'static str,
    publisher: &'static str,
    publisher_role: &'static str,
    publisher_policy: &'static str,
    publisher_log_group: &'static str,
    publisher_schedule: &'static str,
    publisher_permission: &'static str,
    cluster: &'static str,
    task_definition: &'static str,
    service: &'static str,
    scalable_target: &'static str,
    task_scaling_policy: &'static str,
    job_table: &'static str,
    response_queue: &'static str,
    lease_table: &'static str,
    sweeper: &'static str,
    sweeper_role: &'static str,
    sweeper_policy: &'static str,
    sweeper_log_group: &'static str,
    sweeper_schedule: &'static str,
    sweeper_permission: &'static str,
    arrivals: &'static str,
    arrivals_permission: &'static str,
}

pub(super) const IDS: Ids = Ids {
    bucket: BUCKET,
    code_bucket: CODE_BUCKET,
    topic: TOPIC,
    queue: QUEUE,
    dead_letter_queue: DEAD_LETTER_QUEUE,
    priority_queue: PRIORITY_QUEUE,
    priority_queue_mapping: PRIORITY_QUEUE_MAPPING,
    subscription: SUBSCRIPTION,
    worker_group: WORKER_GROUP,
    scaling_policy: SCALING_POLICY,
    drain_hook: DRAIN_HOOK,
    drain_hook_name: DRAIN_HOOK_NAME,
    warm_pool: WARM_POOL,
    launch_hook: LAUNCH_HOOK,
    launch_hook_name: LAUNCH_HOOK_NAME,
    function: FUNCTION,
    image_function: IMAGE_FUNCTION,
    function_role: FUNCTION_ROLE,
    function_policy: FUNCTION_POLICY,
    function_log_group: FUNCTION_LOG_GROUP,
    worker_log_group: WORKER_LOG_GROUP,
    queue_mapping: QUEUE_MAPPING,
    function_version: FUNCTION_VERSION,
    function_alias: FUNCTION_ALIAS,
    function_alias_name: FUNCTION_ALIAS_NAME,
    deploy_application: DEPLOY_APPLICATION,
    deployment_group: DEPLOYMENT_GROUP,
    deploy_role: DEPLOY_ROLE,
    deploy_policy: DEPLOY_POLICY,
    deployment_group_name: DEPLOYMENT_GROUP_NAME,
    canary_config: DEPLOYMENT_CONFIGS[0],
    linear_config: DEPLOYMENT_CONFIGS[1],
    publisher: PUBLISHER,
    publisher_role: PUBLISHER_ROLE,
    publisher_policy: PUBLISHER_POLICY,
    publisher_log_group: PUBLISHER_LOG_GROUP,
    publisher_schedule: PUBLISHER_SCHEDULE,
    publisher_permission: PUBLISHER_PERMISSION,
    cluster: CLUSTER,
    task_definition: TASK_DEFINITION,
    service: SERVICE,
    scalable_target: SCALABLE_TARGET,
    task_scaling_policy: TASK_SCALING_POLICY,
    job_table: JOB_TABLE,
    response_queue: RESPONSE_QUEUE,
    lease_table: LEASE_TABLE,
    sweeper: SWEEPER,
    sweeper_role: SWEEPER_ROLE,
    sweeper_policy: SWEEPER_POLICY,
    sweeper_log_group: SWEEPER_LOG_GROUP,
    sweeper_schedule: SWEEPER_SCHEDULE,
    sweeper_permission: SWEEPER_PERMISSION,
    arrivals: ARRIVALS,
    arrivals_permission: ARRIVALS_PERMISSION,
};

/// The logical id of the worker function a stack file declares.
pub fn function_of(env: &crate::config::Environment) -> &'static str {
    if env.spec.workers.lambda.image.is_some() {
        IMAGE_FUNCTION
    } else {
        FUNCTION
    }
}
