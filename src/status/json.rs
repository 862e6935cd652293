//! The status's JSON: `workers` as the kinds read, and each kind's section as the top-level
//! field it has always been (`fleet`, `function`, `service`; `null` when not shown), in its
//! place among the other sections.

use super::{
    Alarm, BudgetStatus, Fleet, FunctionStatus, LatencyGoal, Percentiles, Pipeline, QueueDepth,
    Scaling, SourceStatus, StackSummary, StageStatus, Status, Workers,
};
use crate::aws::EcsService as Service;
use crate::aws::Why;
use serde::ser::{Serialize, Serializer};
use std::collections::BTreeMap;

/// A consumer in the `workers` list: its kind's word.
impl Serialize for Workers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.kind().serialize(s)
    }
}

/// Each environment's stacks, workers, queues, scaling and alarms. An environment whose stacks
/// could not be read has exit_code 1 and an error; with --watch (--output ndjson only) one such
/// document per refresh and line. (The status as its JSON has it: each kind's section its own
/// field.)
#[derive(serde::Serialize, schemars::JsonSchema)]
struct StatusJson<'a> {
    environment: &'a str,
    /// The account the environment's stacks live in, from their ARNs; `null` when no stack
    /// exists or none could be read.
    account: Option<&'a str>,
    region: &'a str,
    stacks: &'a [StackSummary],
    /// What consumes the queue, as read: `ec2` (the `fleet` section), `lambda` (the `function`
    /// section), `fargate` (the `service` section: an ECS service, on Fargate or on ECS
    /// Managed Instances); two for a moment while an environment switches kinds.
    #[schemars(with = "Vec<String>", extend("items" = { "enum": ["ec2", "lambda", "fargate"] }))]
    workers: &'a [Workers],
    /// `null` when the fleet is not deployed, could not be read (see `unavailable`), or the
    /// workers are not EC2 instances.
    fleet: Option<&'a Fleet>,
    /// `null` when the function is not deployed, could not be read (see `unavailable`), or the
    /// workers are not a function.
    function: Option<&'a FunctionStatus>,
    /// `null` when the Fargate workers' ECS service is not deployed, could not be read (see
    /// `unavailable`), or the workers are not Fargate tasks.
    service: Option<&'a Service>,
    queue: &'a Option<QueueDepth>,
    /// The stage's priority lane (`queue.priority`), whose jobs its workers take first: `null`
    /// without one, or when it could not be read or is missing (see `unavailable`).
    priority_queue: &'a Option<QueueDepth>,
    dead_letter_queue: &'a Option<QueueDepth>,
    /// The runs of schedules EventBridge Scheduler could not send to a FIFO stage
    /// (`ScheduleDeadLetterQueue`, one for the environment, shown with its first stage):
    /// `null` without schedules on a FIFO stage, in a later stage's status, or when it could
    /// not be read or is missing (see `unavailable`).
    schedule_dead_letter_queue: &'a Option<QueueDepth>,
    /// The group's or the service's scaling (`null` for a function: see
    /// `function.concurrency`); for Fargate workers the `backlog_per_instance` fields are per
    /// running task.
    scaling: &'a Option<Scaling>,
    alarms: &'a [Alarm],
    /// Upload-to-processed seconds of the jobs done in the last minutes, from the metric the
    /// reference consumers publish; `null` when no job was done in the window (or the metrics
    /// could not be read: see `unavailable`).
    upload_to_processed: &'a Option<Percentiles>,
    /// The latency goal against the oldest message's age now and the jobs' p99; `null` when
    /// the stack file sets no `scaling.max_latency_seconds`.
    latency: &'a Option<LatencyGoal>,
    /// The jobs done, failed and under way in the last 15 minutes, and the slowest done, from
    /// the job table (absent without `jobs:`; `null` when it could not be read: see
    /// `unavailable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    jobs: Option<&'a crate::jobs::Recent>,
    /// The stage's topics and schedules (`sources`) and their state in the data stack (absent
    /// without any).
    #[serde(skip_serializing_if = "<[SourceStatus]>::is_empty")]
    sources: &'a [SourceStatus],
    /// Sections that could not be read, with the reason (the rest of the status stands).
    unavailable: &'a BTreeMap<String, Why>,
    /// A pipeline's later stages, each read as this status reads the first (absent for one
    /// stage).
    #[serde(skip_serializing_if = "<[StageStatus]>::is_empty")]
    stages: &'a [StageStatus],
    /// A pipeline as a whole (absent for one stage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pipeline: &'a Option<Pipeline>,
    /// Why no worker runs: the stack file parks the stage (`workers.max: 0`); absent
    /// otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    parked: &'a Option<String>,
    /// The environment's CloudWatch dashboard, a console link: `null` without one
    /// (`dashboard: false`, not deployed), in a later stage's status, or when it could not be
    /// read (see `unavailable`).
    dashboard: &'a Option<String>,
    /// `budget`: what AWS Budgets says the environment has cost this period: `null` without a
    /// budget, in a later stage's status, before any stack exists, or when it could not be
    /// read (see `unavailable`).
    budget: &'a Option<BudgetStatus>,
}

impl<'a> From<&'a Status> for StatusJson<'a> {
    fn from(s: &'a Status) -> Self {
        StatusJson {
            environment: &s.environment,
            account: s.account.as_deref(),
            region: &s.region,
            stacks: &s.stacks,
            workers: &s.workers,
            fleet: s.fleet(),
            function: s.function(),
            service: s.service(),
            queue: &s.queue,
            priority_queue: &s.priority_queue,
            dead_letter_queue: &s.dead_letter_queue,
            schedule_dead_letter_queue: &s.schedule_dead_letter_queue,
            scaling: &s.scaling,
            alarms: &s.alarms,
            upload_to_processed: &s.upload_to_processed,
            latency: &s.latency,
            jobs: s.jobs.as_ref(),
            sources: &s.sources,
            unavailable: &s.unavailable,
            stages: &s.stages,
            pipeline: &s.pipeline,
            parked: &s.parked,
            dashboard: &s.dashboard,
            budget: &s.budget,
        }
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StatusJson::from(self).serialize(s)
    }
}

/// The status's schema is its JSON's.
impl schemars::JsonSchema for Status {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Status".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        StatusJson::json_schema(generator)
    }
}
