//! The logical ids (and the lifecycle hook's name) that the templates declare and the Rust code
//! looks up: defined once here and passed into the template context as `ids`.

use serde::Serialize;

pub const BUCKET: &str = "Bucket";
/// qfleet's bucket for the worker function's deployment package (only when it has one).
pub const CODE_BUCKET: &str = "CodeBucket";
pub const TOPIC: &str = "Topic";
pub const QUEUE: &str = "Queue";
pub const DEAD_LETTER_QUEUE: &str = "DeadLetterQueue";
pub const SUBSCRIPTION: &str = "Subscription";
pub const WORKER_GROUP: &str = "WorkerGroup";
pub const SCALING_POLICY: &str = "BacklogPerInstancePolicy";
pub const DRAIN_HOOK: &str = "DrainOnTerminateHook";
pub const FUNCTION: &str = "WorkerFunction";
/// The worker function from a container image (`workers.lambda.image`): an id (and a name) of
/// its own, since Lambda cannot change a function's package type (see templates/lambda.yaml.j2).
pub const IMAGE_FUNCTION: &str = "WorkerImageFunction";
/// Both ids a worker function may have, the zip package's first.
pub const FUNCTIONS: [&str; 2] = [FUNCTION, IMAGE_FUNCTION];
pub const FUNCTION_ROLE: &str = "WorkerFunctionRole";
pub const FUNCTION_POLICY: &str = "WorkerFunctionPolicy";
pub const FUNCTION_LOG_GROUP: &str = "WorkerFunctionLogGroup";
pub const WORKER_LOG_GROUP: &str = "WorkerLogGroup";
pub const QUEUE_MAPPING: &str = "QueueMapping";
/// The name of the lifecycle hook the worker completes when its instance terminates.
pub const DRAIN_HOOK_NAME: &str = "drain-on-terminate";
/// With a warm pool: the group's warm pool, and the launching hook that holds a new instance
/// until its bootstrap is done (and again when it leaves the pool).
pub const WARM_POOL: &str = "WarmPool";
pub const LAUNCH_HOOK: &str = "BootstrapOnLaunchHook";
pub const LAUNCH_HOOK_NAME: &str = "bootstrap-on-launch";
/// With `scaling.metric: high_resolution`: the function that publishes the backlog per
/// instance every 10 seconds, its role, policy and log group, the rule that starts it every
/// minute and the permission that lets the rule invoke it.
pub const PUBLISHER: &str = "BacklogPublisher";
pub const PUBLISHER_ROLE: &str = "BacklogPublisherRole";
pub const PUBLISHER_POLICY: &str = "BacklogPublisherPolicy";
pub const PUBLISHER_LOG_GROUP: &str = "BacklogPublisherLogGroup";
pub const PUBLISHER_SCHEDULE: &str = "BacklogPublisherSchedule";
pub const PUBLISHER_PERMISSION: &str = "BacklogPublisherInvokePermission";
/// Fargate workers (`workers.kind: fargate`): the ECS cluster, task definition and service,
/// and the service's scalable target and backlog-per-task policy.
pub const CLUSTER: &str = "WorkerCluster";
pub const TASK_DEFINITION: &str = "WorkerTaskDefinition";
pub const SERVICE: &str = "WorkerService";
pub const SCALABLE_TARGET: &str = "WorkerScalableTarget";
pub const TASK_SCALING_POLICY: &str = "BacklogPerTaskPolicy";
/// With `jobs:`: the job table and the response queue (data stack).
pub const JOB_TABLE: &str = "JobTable";
pub const RESPONSE_QUEUE: &str = "ResponseQueue";

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
pub struct Ids {
    pub bucket: &'static str,
    pub code_bucket: &'static str,
    pub topic: &'static str,
    pub queue: &'static str,
    pub dead_letter_queue: &'static str,
    pub subscription: &'static str,
    pub worker_group: &'static str,
    pub scaling_policy: &'static str,
    pub drain_hook: &'static str,
    pub drain_hook_name: &'static str,
    pub warm_pool: &'static str,
    pub launch_hook: &'static str,
    pub launch_hook_name: &'static str,
    pub function: &'static str,
    pub image_function: &'static str,
    pub function_role: &'static str,
    pub function_policy: &'static str,
    pub function_log_group: &'static str,
    pub worker_log_group: &'static str,
    pub queue_mapping: &'static str,
    pub publisher: &'static str,
    pub publisher_role: &'static str,
    pub publisher_policy: &'static str,
    pub publisher_log_group: &'static str,
    pub publisher_schedule: &'static str,
    pub publisher_permission: &'static str,
    pub cluster: &'static str,
    pub task_definition: &'static str,
    pub service: &'static str,
    pub scalable_target: &'static str,
    pub task_scaling_policy: &'static str,
    pub job_table: &'static str,
    pub response_queue: &'static str,
}

pub const IDS: Ids = Ids {
    bucket: BUCKET,
    code_bucket: CODE_BUCKET,
    topic: TOPIC,
    queue: QUEUE,
    dead_letter_queue: DEAD_LETTER_QUEUE,
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
};

/// The logical id of the worker function a stack file declares.
pub fn function_of(env: &crate::config::Environment) -> &'static str {
    if env.spec.workers.lambda.image.is_some() {
        IMAGE_FUNCTION
    } else {
        FUNCTION
    }
}
