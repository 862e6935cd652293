//! One concurrent read of everything an environment is: its two stacks (state, resources,
//! deletion policies), the bucket and what it holds, the topic, the queues, the workers (the
//! Auto Scaling group with its instances, policies and hooks, or the Lambda function with its
//! queue mapping), the subscription, the bucket notification, alarms and metrics. Every part
//! is a [`Fact`]: known, absent, or unknown with the reason.
//!
//! The data-bearing resources are looked for by what the templates declare, not by what a list
//! call happened to return: a declared resource the stack does not list is looked up by its
//! fixed name (queue, bucket) or through the queue's redrive policy (dead-letter queue), and
//! stays unknown when neither answers for sure.

use crate::aws::Clients;
use crate::aws::Queue;
use crate::aws::Subscription;
use crate::aws::{self, BucketContents as Contents, BucketNotification as Notification};
use crate::aws::{Alarm, Metrics};
use crate::aws::{StackResource, StackState};
use crate::config::Environment;
use crate::placement::StackNames;
use crate::render::{ResourceNames, ids};
pub use fact::Fact;
pub use images::ImageRepository;
pub use jobs::{JobTable, JobsScope};
use serde::Serialize;
use std::collections::BTreeMap;

/// Which optional parts to read; the stacks, queues, bucket name, topic and group are always read.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Scope {
    /// Every object version in the bucket (teardown).
    pub bucket_contents: bool,
    /// The deployed templates' deletion policies (teardown).
    pub deletion_policies: bool,
    /// The group with its instances and scaling policies, or the function with its queue
    /// mapping (status, drift).
    pub scaling: bool,
    /// Subscription, bucket notification and lifecycle hooks (drift).
    pub wiring: bool,
    /// Alarms, metrics and recent scaling activities (status).
    pub monitoring: bool,
    /// The workers' log group the fleet stack lists, with what it holds (teardown).
    pub log_group: bool,
    /// What to read of the job table (`jobs:`).
    pub jobs: JobsScope,
    /// The response queue (`jobs:`), with its messages (drift, teardown).
    pub response_queue: bool,
    /// The queue of schedules' runs Scheduler could not send to a FIFO stage, with its
    /// messages (status, teardown).
    pub schedule_dead_letters: bool,
    /// The stage's priority lane (`queue.priority`) the data stack lists, with its messages
    /// (status, teardown).
    pub priority_queue: bool,
}

impl Scope {
    pub(crate) const STATUS: Scope = Scope {
        bucket_contents: false,
        deletion_policies: false,
        scaling: true,
        wiring: false,
        monitoring: true,
        log_group: false,
        jobs: JobsScope {
            settings: false,
            records: false,
            recent: Some(std::time::Duration::from_secs(15 * 60)),
        },
        response_queue: false,
        schedule_dead_letters: true,
        priority_queue: true,
    };
    pub(crate) const DRIFT: Scope = Scope {
        bucket_contents: false,
        deletion_policies: false,
        scaling: true,
        wiring: true,
        monitoring: false,
        log_group: false,
        jobs: JobsScope {
            settings: true,
            records: false,
            recent: None,
        },
        response_queue: true,
        schedule_dead_letters: false,
        priority_queue: false,
    };
    pub(crate) const TEARDOWN: Scope = Scope {
        bucket_contents: true,
        deletion_policies: true,
        scaling: false,
        wiring: false,
        monitoring: false,
        log_group: true,
        jobs: JobsScope {
            settings: false,
            records: true,
            recent: None,
        },
        response_queue: true,
        schedule_dead_letters: true,
        priority_queue: true,
    };
    /// A later stage of a pipeline in a teardown: its fleet and its queues, with the data
    /// stack's deletion policies (the bucket is the first stage's to count).
    pub(crate) const TEARDOWN_STAGE: Scope = Scope {
        bucket_contents: false,
        deletion_policies: true,
        scaling: false,
        wiring: false,
        monitoring: false,
        log_group: true,
        jobs: JobsScope {
            settings: false,
            records: false,
            recent: None,
        },
        response_queue: false,
        schedule_dead_letters: false,
        priority_queue: true,
    };
}

/// One of the environment's stacks.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StackSnapshot {
    pub name: String,
    pub state: Fact<StackState>,
    pub resources: Fact<BTreeMap<String, StackResource>>,
    /// DeletionPolicy by logical id, from the template CloudFormation holds (resources without
    /// one have CloudFormation's default, Delete).
    pub deletion_policies: Option<Fact<BTreeMap<String, String>>>,
}

impl StackSnapshot {
    /// An absent stack (none there, or one built by hand for a test).
    pub(crate) fn absent(name: &str) -> StackSnapshot {
        StackSnapshot {
            name: name.to_string(),
            state: Fact::Absent,
            resources: Fact::Absent,
            deletion_policies: Some(Fact::Absent),
        }
    }

    /// Where the stack's resource `logical` stands.
    pub(crate) fn locate(&self, logical: &str) -> Located {
        match &self.state {
            Fact::Unknown(why) => return Located::Unknown(why.clone()),
            Fact::Absent => return Located::Absent,
            // An unexecuted review stack holds nothing; a failed create was rolled back, and
            // what a Retain policy kept no longer belongs to the stack.
            Fact::Known(s) if s.is_review() || s.is_failed_create() => return Located::Absent,
            Fact::Known(_) => {}
        }
        match &self.resources {
            Fact::Unknown(why) => Located::Unknown(why.clone()),
            Fact::Absent => Located::Absent,
            Fact::Known(map) => match map.get(logical) {
                Some(r) => match (&r.physical_id, r.is_live()) {
                    (Some(id), true) => Located::Physical(id.clone()),
                    // Deleted, or kept by a Retain policy: no longer the stack's.
                    (Some(_), false) => Located::Absent,
                    // Listed before CloudFormation created it.
                    (None, _) => Located::NotListed,
                },
                None => Located::NotListed,
            },
        }
    }

    /// The deletion policy of `logical`: known only when the template was read.
    pub(crate) fn deletion_policy(&self, logical: &str) -> Fact<String> {
        match &self.deletion_policies {
            None => Fact::Unknown("the deployed template was not read".into()),
            Some(Fact::Known(p)) => {
                Fact::Known(p.get(logical).cloned().unwrap_or_else(|| "Delete".into()))
            }
            Some(Fact::Absent) => Fact::Absent,
            Some(Fact::Unknown(why)) => Fact::Unknown(why.clone()),
        }
    }
}

/// Where a declared resource stands in its stack.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Located {
    Physical(String),
    /// The stack (or its resource) does not exist.
    Absent,
    /// The stack exists but its resource list does not name a live resource for it.
    NotListed,
    Unknown(crate::aws::Why),
}

/// Everything an environment is, as read at one moment.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub environment: String,
    /// The stack file's `owner`: with the environment's name, the marks its stacks must carry
    /// (see [`crate::ownership`]). Not in the JSON.
    pub owner: Option<String>,
    /// The environment whose marks its stacks carry: its own, or its stack file's for the
    /// stack sets' instances of a target deployed through StackSets ([`crate::placement::stacks_of`]).
    /// Not in the JSON.
    pub marked_as: String,
    pub region: String,
    pub data: StackSnapshot,
    pub fleet: StackSnapshot,
    pub bucket: Fact<String>,
    pub bucket_contents: Option<Fact<Contents>>,
    /// qfleet's code bucket and every version in it, when the data stack has one (teardown).
    pub code_bucket: Option<Fact<(String, Contents)>>,
    /// The repository of the images qfleet built for the environment (teardown; not in the
    /// JSON).
    pub image_repository: Option<Fact<images::ImageRepository>>,
    /// The workers' log group the fleet stack lists, and what it holds (teardown).
    pub log_group: Option<Fact<crate::aws::LogGroupHolding>>,
    pub topic: Fact<String>,
    pub queue: Fact<Queue>,
    pub dead_letter_queue: Fact<Queue>,
    pub subscription: Option<Fact<Subscription>>,
    /// The subscription of each topic the stage's `sources.topics` names, by its logical id in
    /// the data stack, with its attributes (drift).
    pub source_subscriptions: Option<Vec<(String, Fact<Attributes>)>>,
    pub notifications: Option<Fact<Vec<Notification>>>,
    pub alarms: Option<Fact<Vec<Alarm>>>,
    pub metrics: Option<Fact<Metrics>>,
    /// The job table (`jobs:`; `None`: the environment has none, or the scope did not read it).
    pub job_table: Option<Fact<JobTable>>,
    /// The response queue (`jobs:`; `None`: none, or not read).
    pub response_queue: Option<Fact<Queue>>,
    /// The queue Scheduler keeps what it could not send to a FIFO stage in (`None`: the data
    /// stack has none, or not read; read with the response queue).
    pub schedule_dead_letters: Option<Fact<Queue>>,
    /// The stage's priority lane (`None`: the data stack lists none, or not read).
    pub priority_queue: Option<Fact<Queue>>,
    /// What consumes the queue, each kind with its parts as read: the stack file's kind, and
    /// the other one too while the fleet stack still lists it (a kind switch under way);
    /// empty when the scope reads no worker. In the order of
    /// [`crate::config::WorkerKind::ALL`].
    pub workers: Vec<Consumer>,
}

impl Snapshot {
    /// A snapshot of an environment that is not deployed, to build test cases from.
    #[cfg(test)]
    pub(crate) fn empty(env: &str, region: &str) -> Snapshot {
        Snapshot {
            environment: env.to_string(),
            owner: None,
            marked_as: env.to_string(),
            region: region.to_string(),
            data: StackSnapshot::absent(&format!("qfleet-{env}-data")),
            fleet: StackSnapshot::absent(&format!("qfleet-{env}-fleet")),
            bucket: Fact::Absent,
            bucket_contents: Some(Fact::Absent),
            code_bucket: Some(Fact::Absent),
            image_repository: Some(Fact::Absent),
            log_group: Some(Fact::Absent),
            topic: Fact::Absent,
            queue: Fact::Absent,
            dead_letter_queue: Fact::Absent,
            subscription: Some(Fact::Absent),
            source_subscriptions: Some(Vec::new()),
            notifications: Some(Fact::Absent),
            alarms: Some(Fact::Known(Vec::new())),
            metrics: Some(Fact::Known(Metrics::default())),
            job_table: None,
            response_queue: None,
            schedule_dead_letters: None,
            priority_queue: None,
            workers: vec![Consumer::Ec2(GroupRead {
                group: Fact::Absent,
                policies: Some(Fact::Absent),
                hooks: Some(Fact::Absent),
                activities: Some(Fact::Absent),
            })],
        }
    }
}

/// Reads the environment. Never fails as a whole: what could not be read is unknown, with why.
#[cfg(test)]
pub(crate) async fn read(clients: &Clients, env: &Environment, scope: Scope) -> Snapshot {
    read_at(clients, env, scope, &StackNames::own()).await
}

/// Reads the environment whose stacks are where `at` says (a stack set's instances for a
/// target deployed through StackSets).
pub(crate) async fn read_at(
    clients: &Clients,
    env: &Environment,
    scope: Scope,
    at: &StackNames,
) -> Snapshot {
    let stack = |own: String, with_policies: bool| async move {
        match at.name(&own) {
            Some(name) => read_stack(clients, &name, with_policies).await,
            None => StackSnapshot::absent(&own),
        }
    };
    let (data, fleet) = tokio::join!(
        stack(env.data_stack_name(), scope.deletion_policies),
        stack(env.fleet_stack_name(), false),
    );
    let data_name = data.name.clone();
    let names = ResourceNames::of(env);
    // A later stage of a pipeline reads its own queues in the data stack.
    let (queue_id, dead_letter_id) = ids::stage_queues(env);
    let (topic_id, _) = ids::stage_feed(env);
    let wanted = workers::wanted(env, &fleet);

    // The bucket, the topic, the queue and the workers by what the stacks list (or their names).
    let (bucket, topic, queue) = tokio::join!(
        locate_bucket(clients, &data, &names),
        async { to_fact(data.locate(&topic_id), &topic_id, &data.name) },
        locate_queue(clients, &data, &names.queue, &queue_id),
    );
    let group_name = workers::group_name(&fleet, &names);
    let function_name = workers::function_name(env, &fleet, &names);
    let dead_letter_queue = locate_dead_letter_queue(clients, &data, &queue, &dead_letter_id).await;

    let group_name_ref = group_name.known().cloned();
    let (
        bucket_contents,
        group,
        policies,
        hooks,
        subscription,
        notifications,
        alarms,
        metrics,
        activities,
        function,
    ) = tokio::join!(
        optional(
            scope.bucket_contents,
            read_bucket_contents(clients, &bucket)
        ),
        optional(
            scope.scaling && wanted.group,
            with_group(&group_name_ref, &group_name, |g| async move {
                aws::auto_scaling_group(&clients.autoscaling, &g).await
            })
        ),
        optional(
            scope.scaling && wanted.group,
            with_group(&group_name_ref, &group_name, |g| async move {
                aws::scaling_policies(&clients.autoscaling, &g)
                    .await
                    .map(Some)
            })
        ),
        optional(
            scope.wiring && wanted.group,
            with_group(&group_name_ref, &group_name, |g| async move {
                aws::lifecycle_hooks(&clients.autoscaling, &g)
                    .await
                    .map(Some)
            })
        ),
        optional(scope.wiring, read_subscription(clients, &topic, &queue)),
        optional(scope.wiring, read_notifications(clients, &bucket)),
        optional(scope.monitoring, read_alarms(clients, &data_name, &names)),
        optional(
            scope.monitoring,
            read_metrics(
                clients,
                env,
                &queue,
                &dead_letter_queue,
                (&wanted, &names, &function_name)
            )
        ),
        optional(
            scope.monitoring && wanted.group,
            with_group(&group_name_ref, &group_name, |g| async move {
                aws::recent_scaling_activities(&clients.autoscaling, &g)
                    .await
                    .map(Some)
            })
        ),
        when(
            scope.scaling && wanted.function,
            workers::read_function(clients, env, &fleet, (&function_name, &names))
        ),
    );
    let source_subscriptions = read_source_subscriptions(clients, env, &data, scope).await;
    let (code_bucket, image_repository, log_group, service, job_table, response_queue) = tokio::join!(
        optional(scope.bucket_contents, read_code_bucket(clients, &data)),
        optional(scope.bucket_contents, images::read(clients, env, &data)),
        optional(scope.log_group, read_log_group(clients, &fleet)),
        optional(
            scope.scaling && wanted.service,
            workers::read_service(clients, &fleet, &names)
        ),
        jobs::read_table(clients, env, &data, scope.jobs),
        optional(
            scope.response_queue && jobs::response_queue_wanted(env, &data),
            locate_queue(clients, &data, &names.response_queue, ids::RESPONSE_QUEUE)
        ),
    );
    let schedule_dead_letters = read_schedule_dead_letters(clients, env, &data, scope).await;
    let priority_queue = read_priority_queue(clients, env, &data, scope).await;
    Snapshot {
        environment: env.name.clone(),
        owner: env.spec.owner.clone(),
        marked_as: at.marked_as(env).to_string(),
        region: clients.region.clone(),
        data,
        fleet,
        bucket,
        bucket_contents,
        code_bucket,
        image_repository,
        log_group,
        topic,
        queue,
        dead_letter_queue,
        subscription,
        source_subscriptions,
        notifications,
        alarms,
        metrics,
        job_table,
        response_queue,
        schedule_dead_letters,
        priority_queue,
        workers: workers::consumers(
            group.map(|group| GroupRead {
                group,
                policies,
                hooks,
                activities,
            }),
            function,
            service.map(|service| ServiceRead { service }),
        ),
    }
}

/// A subscription's attributes, by name.
pub(crate) type Attributes = BTreeMap<String, String>;

/// The subscription of each topic source of the stage, found by its logical id in the data
/// stack (its physical id is the subscription's ARN).
async fn read_source_subscriptions(
    clients: &Clients,
    env: &Environment,
    data: &StackSnapshot,
    scope: Scope,
) -> Option<Vec<(String, Fact<Attributes>)>> {
    if !scope.wiring {
        return None;
    }
    let mut out = Vec::new();
    for d in crate::render::deployed_sources(env) {
        if d.kind != "topic" {
            continue;
        }
        let fact = match to_fact(data.locate(&d.logical_id), &d.logical_id, &data.name) {
            Fact::Known(arn) => match aws::subscription_attributes(&clients.sns, &arn).await {
                Ok(Some(attrs)) => Fact::Known(attrs),
                Ok(None) => Fact::Absent,
                Err(e) => Fact::Unknown(e.into()),
            },
            Fact::Absent => Fact::Absent,
            Fact::Unknown(why) => Fact::Unknown(why),
        };
        out.push((d.logical_id, fact));
    }
    Some(out)
}

/// The queue Scheduler keeps what it could not send to a FIFO stage in (the environment's,
/// read with its first stage), when the data stack lists one.
async fn read_schedule_dead_letters(
    clients: &Clients,
    env: &Environment,
    data: &StackSnapshot,
    scope: Scope,
) -> Option<Fact<Queue>> {
    let first_stage = env.stage.as_ref().is_none_or(|s| s.index == 0);
    if !(scope.schedule_dead_letters && first_stage) {
        return None;
    }
    match data.locate(crate::render::SCHEDULE_DEAD_LETTERS) {
        Located::Physical(url) => Some(Fact::from(
            crate::aws::describe_queue(&clients.sqs, &url).await,
        )),
        Located::Unknown(why) => Some(Fact::Unknown(why)),
        Located::Absent | Located::NotListed => None,
    }
}

/// Every object version in the bucket, when it is known.
async fn read_bucket_contents(clients: &Clients, bucket: &Fact<String>) -> Fact<Contents> {
    match bucket {
        Fact::Known(b) => Fact::from(aws::bucket_contents(&clients.s3, b).await),
        Fact::Absent => Fact::Absent,
        Fact::Unknown(why) => Fact::Unknown(why.clone()),
    }
}

/// The stage's priority lane, when the scope reads it and the data stack lists it: a queue the
/// stack does not list is not deleted with it, nor fed by qfleet.
async fn read_priority_queue(
    clients: &Clients,
    env: &Environment,
    data: &StackSnapshot,
    scope: Scope,
) -> Option<Fact<Queue>> {
    if !scope.priority_queue {
        return None;
    }
    match data.locate(&ids::stage_priority_queue(env)) {
        Located::Physical(url) => Some(Fact::from(
            crate::aws::describe_queue(&clients.sqs, &url).await,
        )),
        Located::Unknown(why) => Some(Fact::Unknown(why)),
        Located::Absent | Located::NotListed => None,
    }
}

/// The job queue's subscription to the topic (both known).
async fn read_subscription(
    clients: &Clients,
    topic: &Fact<String>,
    queue: &Fact<Queue>,
) -> Fact<Subscription> {
    match (topic, queue) {
        (Fact::Known(t), Fact::Known(q)) => {
            Fact::from(aws::queue_subscription(&clients.sns, t, &q.name).await)
        }
        (Fact::Unknown(why), _) | (_, Fact::Unknown(why)) => Fact::Unknown(why.clone()),
        _ => Fact::Absent,
    }
}

/// The bucket's event notifications.
async fn read_notifications(clients: &Clients, bucket: &Fact<String>) -> Fact<Vec<Notification>> {
    match bucket {
        Fact::Known(b) => Fact::from(aws::bucket_notifications(&clients.s3, b).await),
        Fact::Absent => Fact::Absent,
        Fact::Unknown(why) => Fact::Unknown(why.clone()),
    }
}

/// The data stack's alarms and the group's target tracking alarms, by their names' prefixes.
async fn read_alarms(
    clients: &Clients,
    data_name: &str,
    names: &ResourceNames,
) -> Fact<Vec<Alarm>> {
    let prefixes = vec![
        format!("{data_name}-"),
        format!("TargetTracking-{}-", names.asg),
    ];
    match aws::alarms(&clients.cloudwatch, &prefixes).await {
        Ok(a) => Fact::Known(a),
        Err(e) => Fact::Unknown(e.into()),
    }
}

/// The metrics of the job queue, its dead-letter queue and the workers: the group and the
/// function where the kind (`wanted`) has them.
async fn read_metrics(
    clients: &Clients,
    env: &Environment,
    queue: &Fact<Queue>,
    dead_letter_queue: &Fact<Queue>,
    (wanted, names, function_name): (&workers::Wanted, &ResourceNames, &Fact<String>),
) -> Fact<Metrics> {
    let q = match queue {
        Fact::Known(q) => q,
        Fact::Absent => return Fact::Absent,
        Fact::Unknown(why) => return Fact::Unknown(why.clone()),
    };
    let on = aws::MetricSources {
        queue: &q.name,
        dead_letter_queue: dead_letter_queue.known().map(|d| d.name.as_str()),
        group: wanted.group.then_some(names.asg.as_str()),
        function: function_name
            .known()
            .filter(|_| wanted.function)
            .map(String::as_str),
        // What the workers publish (QFLEET_ENVIRONMENT): the name of its resources, an
        // account of a whole unit's too.
        environment: Some(env.resource_name()),
        // As the templates give QFLEET_STAGE: a pipeline of one stage is a one-stage
        // environment.
        stage: env.pipeline_stage().map(|s| s.name.as_str()),
        // Fair shares (`queue.tenant`): the queue gets jobs in their tenants' groups.
        fair: env.gets_groups(),
        // The stage's priority lane (`queue.priority`).
        priority_queue: env
            .spec
            .queue
            .priority
            .map(|_| names.priority_queue.as_str()),
    };
    match aws::metrics(&clients.cloudwatch, on).await {
        Ok(m) => Fact::Known(m),
        Err(e) => Fact::Unknown(e.into()),
    }
}

/// The code bucket the data stack lists, with every version in it: absent when the stack has
/// none (it is declared only for a function with a deployment package).
async fn read_code_bucket(clients: &Clients, data: &StackSnapshot) -> Fact<(String, Contents)> {
    match data.locate(ids::CODE_BUCKET) {
        Located::Physical(b) => match aws::bucket_contents(&clients.s3, &b).await {
            Ok(Some(c)) => Fact::Known((b, c)),
            Ok(None) => Fact::Absent,
            Err(e) => Fact::Unknown(e.into()),
        },
        Located::Absent | Located::NotListed => Fact::Absent,
        Located::Unknown(why) => Fact::Unknown(why),
    }
}

/// The workers' log group the fleet stack lists (EC2's or the function's), with what it
/// holds: absent when the stack lists neither (not deployed, or by a qfleet without logs).
async fn read_log_group(
    clients: &Clients,
    fleet: &StackSnapshot,
) -> Fact<crate::aws::LogGroupHolding> {
    for id in [ids::WORKER_LOG_GROUP, ids::FUNCTION_LOG_GROUP] {
        match fleet.locate(id) {
            Located::Physical(name) => {
                return match crate::aws::log_group_holding(&clients.logs, &name).await {
                    Ok(Some(h)) => Fact::Known(h),
                    Ok(None) => Fact::Absent,
                    Err(e) => Fact::Unknown(e.into()),
                };
            }
            Located::Unknown(why) => return Fact::Unknown(why),
            Located::Absent | Located::NotListed => {}
        }
    }
    Fact::Absent
}

/// `read`'s answer when `wanted`, else `None`.
async fn when<T>(wanted: bool, read: impl std::future::Future<Output = T>) -> Option<T> {
    if wanted { Some(read.await) } else { None }
}

async fn optional<T>(
    wanted: bool,
    read: impl std::future::Future<Output = Fact<T>>,
) -> Option<Fact<T>> {
    if wanted { Some(read.await) } else { None }
}

/// Runs `read` on the group's name when it is known; carries absent and unknown over.
async fn with_group<T, F, Fut>(name: &Option<String>, fact: &Fact<String>, read: F) -> Fact<T>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = crate::aws::Result<Option<T>>>,
{
    match (name, fact) {
        (Some(g), _) => Fact::from(read(g.clone()).await),
        (None, Fact::Unknown(why)) => Fact::Unknown(why.clone()),
        _ => Fact::Absent,
    }
}

pub(crate) mod as_file;
mod fact;
mod images;
mod jobs;
mod locate;
mod serialize;
mod stack;
mod workers;

use locate::{locate_bucket, locate_dead_letter_queue, locate_queue, to_fact};
#[cfg(test)]
pub use stack::deletion_policies;
use stack::read_stack;
pub use workers::{Consumer, GroupRead, ServiceRead};

#[cfg(test)]
mod builders;

#[cfg(test)]
mod tests;
