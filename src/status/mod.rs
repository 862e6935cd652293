//! `status`: is the environment healthy and keeping up? The stacks, the workers (each kind in
//! its own file: EC2's group per zone in [`group`], a Lambda function in [`function`], a
//! Fargate service in [`service`]), the queues, backlog per instance against the target,
//! scaling direction and alarms: a function of one [`Snapshot`], rendered by [`render`]. A
//! section that could not be read says why and the rest is shown.

mod function;
mod group;
mod json;
mod next_run;
mod report;
mod rows;
mod service;
mod text;

pub(crate) use report::show;

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use report::schema;

use crate::aws::Clients;
use crate::aws::Queue;
use crate::aws::Why;
use crate::aws::{Alarm, Percentiles};
use crate::config::{Environment, WorkerKind};
use crate::placement::StackNames;
use crate::snapshot::{self, Fact, Scope, Snapshot, StackSnapshot};
use serde::Serialize;
use std::collections::BTreeMap;

pub use function::FunctionStatus;
pub use group::Fleet;
pub use rows::render_rows;
pub use text::text;

#[derive(Debug, Clone)]
pub(crate) struct Status {
    environment: String,
    /// The account the environment's stacks live in, from their ARNs (`None` when no stack
    /// exists or none could be read).
    account: Option<String>,
    region: String,
    stacks: Vec<StackSummary>,
    /// What consumes the queue, as read, each kind with its section: EC2's `fleet`, Lambda's
    /// `function`, Fargate's `service`; two for a moment while an environment switches
    /// kinds. In the JSON, `workers` lists the kinds (`ec2`, `lambda`, `fargate`) and each
    /// section is its own field, `null` when not deployed, not read (see `unavailable`), or
    /// the workers are of another kind.
    workers: Vec<Workers>,
    queue: Option<QueueDepth>,
    /// The stage's priority lane (`queue.priority`): its jobs, taken before the queue's
    /// (`null` without one).
    priority_queue: Option<QueueDepth>,
    dead_letter_queue: Option<QueueDepth>,
    /// The runs of schedules Scheduler could not send to a FIFO stage (`null` without one).
    schedule_dead_letter_queue: Option<QueueDepth>,
    /// The group's or the service's scaling (`null` for a function: see
    /// `function.concurrency`); for Fargate workers the `backlog_per_instance` fields are per
    /// running task.
    scaling: Option<Scaling>,
    alarms: Vec<Alarm>,
    /// Upload-to-processed seconds of the jobs done in the last minutes, from the metric the
    /// reference consumers publish; `null` when no job was done in the window (or the metrics
    /// could not be read: see `unavailable`).
    upload_to_processed: Option<Percentiles>,
    /// The latency goal against the oldest message's age now and the jobs' p99; `null` when
    /// the stack file sets no `scaling.max_latency_seconds`.
    latency: Option<LatencyGoal>,
    /// The jobs done, failed and under way in the last 15 minutes, and the slowest done, from
    /// the job table (`jobs:`); `None` without one, or when it could not be read (see
    /// `unavailable`).
    jobs: Option<crate::jobs::Recent>,
    /// The stage's topics and schedules (`sources`), as its data stack holds them.
    sources: Vec<SourceStatus>,
    /// Sections that could not be read, with the reason (the rest of the status stands).
    unavailable: BTreeMap<String, Why>,
    /// A pipeline's later stages, each read as this status reads the first (absent for one
    /// stage).
    stages: Vec<StageStatus>,
    /// A pipeline as a whole (absent for one stage).
    pipeline: Option<Pipeline>,
    /// Why nothing was read, and its exit code: the account guard refused the credentials,
    /// or could not learn their account (`accounts:`).
    refused: Option<(crate::error::Exit, crate::error::ErrorReport)>,
    /// The stage is parked (`workers.max: 0`): no worker runs, jobs wait in the queue.
    parked: Option<String>,
    /// The environment's CloudWatch dashboard, as a console link (see [`dashboard_link`]).
    dashboard: Option<String>,
    /// `budget`: what AWS Budgets says the environment has cost this period (with the first
    /// stage; `None` without a budget, or when it could not be read: see `unavailable`).
    budget: Option<BudgetStatus>,
    /// Where the data stack's budget stands, as the snapshot located it (read by
    /// [`budget`]; not shown).
    budget_resource: Option<crate::snapshot::Located>,
}

/// The environment's budget as AWS Budgets has calculated it (docs/budget.md).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct BudgetStatus {
    /// The budget's name as the data stack holds it (`qfleet-ENV-REGION-…`); `null` when it
    /// holds none yet.
    name: Option<String>,
    /// The stack file's amount, USD a period.
    amount: u32,
    /// The stack file's period: `day` or `month`.
    period: &'static str,
    /// What AWS Budgets says (its own amount and period as deployed); `null` when `missing`
    /// says why.
    spend: Option<crate::aws::BudgetSpend>,
    /// Why there is no spend: `not deployed` (the data stack holds no budget yet) or `not in
    /// AWS Budgets` (the stack holds one AWS does not have: deleted outside CloudFormation).
    missing: Option<&'static str>,
}

/// One kind of consumer as read, with its section (`None`: not deployed, or could not be
/// read: see `unavailable`).
#[derive(Debug, Clone)]
enum Workers {
    Ec2(Option<Fleet>),
    /// Boxed: the largest section by far.
    Lambda(Option<Box<FunctionStatus>>),
    Fargate(Option<crate::aws::EcsService>),
}

impl Workers {
    fn kind(&self) -> WorkerKind {
        match self {
            Workers::Ec2(_) => WorkerKind::Ec2,
            Workers::Lambda(_) => WorkerKind::Lambda,
            Workers::Fargate(_) => WorkerKind::Fargate,
        }
    }
}

/// A later stage of a pipeline: its status as its own snapshot gives it (its fleet stack,
/// workers, queues, scaling and latency goal).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct StageStatus {
    stage: String,
    #[serde(flatten)]
    status: Status,
}

/// What a pipeline's stages add up to.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct Pipeline {
    stages: usize,
    /// The oldest message's age across every stage's queue: how far behind the pipeline is
    /// at its slowest point; `null` unless every stage's age is known (never a guess).
    oldest_message_age_seconds: Option<f64>,
}

/// The latency goal (`scaling.max_latency_seconds`) against the age of the oldest message in
/// the queue now (CloudWatch's ApproximateAgeOfOldestMessage) and the p99 of the jobs done in
/// the window (upload to processed).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct LatencyGoal {
    goal_seconds: f64,
    oldest_message_age_seconds: Option<f64>,
    p99_seconds: Option<f64>,
    /// Missed when either figure is over the goal; met only when the oldest message's age is
    /// known and neither is over; `null` otherwise (no age yet, or the queue was not read):
    /// never taken for met.
    met: Option<bool>,
}

impl LatencyGoal {
    fn of(
        goal_seconds: f64,
        queue: Option<&QueueDepth>,
        done: Option<&Percentiles>,
    ) -> LatencyGoal {
        let age = queue.and_then(|q| q.oldest_message_age_seconds);
        let p99 = done.map(|p| p.p99_seconds);
        let over = |v: Option<f64>| v.is_some_and(|v| v > goal_seconds);
        let met = if over(age) || over(p99) {
            Some(false)
        } else {
            age.map(|_| true)
        };
        LatencyGoal {
            goal_seconds,
            oldest_message_age_seconds: age,
            p99_seconds: p99,
            met,
        }
    }
}

impl Status {
    /// The kinds of consumer read.
    #[cfg(test)]
    fn kinds(&self) -> Vec<WorkerKind> {
        self.workers.iter().map(Workers::kind).collect()
    }

    /// Whether the consumer of `kind` was read (its section is shown, or said missing).
    fn shows(&self, kind: WorkerKind) -> bool {
        self.workers.iter().any(|w| w.kind() == kind)
    }

    /// The EC2 group's section, when read and deployed.
    fn fleet(&self) -> Option<&Fleet> {
        self.workers.iter().find_map(|w| match w {
            Workers::Ec2(f) => f.as_ref(),
            _ => None,
        })
    }

    /// The function's section, when read and deployed.
    fn function(&self) -> Option<&FunctionStatus> {
        self.workers.iter().find_map(|w| match w {
            Workers::Lambda(f) => f.as_deref(),
            _ => None,
        })
    }

    /// The Fargate workers' ECS service, when read and deployed.
    fn service(&self) -> Option<&crate::aws::EcsService> {
        self.workers.iter().find_map(|w| match w {
            Workers::Fargate(s) => s.as_ref(),
            _ => None,
        })
    }

    /// 4 when the account guard refused, 1 when a stack itself could not be read (the status
    /// is then no answer), else 0.
    fn exit_code(&self) -> crate::error::Exit {
        if let Some((code, _)) = &self.refused {
            return *code;
        }
        let stacks = self
            .stacks
            .iter()
            .chain(self.stages.iter().flat_map(|s| s.status.stacks.iter()));
        if stacks.clone().any(|st| st.exists.is_none()) {
            crate::error::Exit::Aws
        } else {
            crate::error::Exit::Ok
        }
    }

    /// Why the status is no answer: the account guard's refusal, or the stacks that could not
    /// be read, and why.
    fn error(&self) -> Option<crate::error::ErrorReport> {
        if let Some((_, r)) = &self.refused {
            return Some(r.clone());
        }
        let unread: Vec<String> = self
            .stacks
            .iter()
            .map(|st| (st, &self.unavailable))
            .chain(
                self.stages
                    .iter()
                    .flat_map(|s| s.status.stacks.iter().map(|st| (st, &s.status.unavailable))),
            )
            .filter(|(st, _)| st.exists.is_none())
            .map(|(st, unavailable)| {
                let key = format!("stack {}", st.name);
                match unavailable.get(&key) {
                    Some(why) => format!("{key} could not be read: {why}"),
                    None => format!("{key} could not be read"),
                }
            })
            .collect();
        (!unread.is_empty()).then(|| crate::error::Error::aws(unread.join("; ")).report())
    }
}

/// A topic or a schedule that feeds the stage's queue (`sources`), as its data stack holds it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct SourceStatus {
    /// `topic` or `schedule`.
    kind: &'static str,
    /// The topic's ARN, or the schedule's name.
    name: String,
    /// Raw delivery or SNS's envelope; the schedule's expression and time zone.
    detail: String,
    /// `subscribed`, `enabled`, `paused` or `not deployed`; CloudFormation's status of its
    /// resource while that changes or after it failed; `null` when the data stack's
    /// resources could not be read.
    state: Option<String>,
    /// An enabled cron schedule's next run, from the stack file's expression and time zone,
    /// when the data stack holds the file's template as it is; else `null`.
    next_run: Option<next_run::NextRun>,
    /// Why an enabled schedule shows no `next_run`: a rate runs every period from its last
    /// run, which Scheduler does not report; the stack file changed since the last deploy; no
    /// run left. `null` otherwise.
    no_next_run: Option<String>,
}

/// Each source of `stage` and its state, from the data stack's resources. A subscription
/// CloudFormation created is subscribed: the queue's owner creates it, and "When the queue
/// owner creates a subscription, the subscription doesn't require confirmation"
/// (<https://docs.aws.amazon.com/sns/latest/dg/sns-send-message-to-sqs-cross-account.html>).
/// A schedule is enabled or paused as the template deployed it (drift checks the rest).
/// An enabled cron schedule shows its next run after `now` ([`next_run`]), read from the
/// stack file only when the data stack holds the file's template as it is (`as_file`): a
/// file changed since the last deploy, or a data stack whose template could not be told,
/// shows none, and says why.
fn sources_of(
    stage: &Environment,
    data: &StackSnapshot,
    as_file: Option<bool>,
    now: jiff::Timestamp,
) -> Vec<SourceStatus> {
    crate::render::deployed_sources(stage)
        .into_iter()
        .map(|d| {
            let state = match &data.resources {
                Fact::Known(map) => Some(match map.get(&d.logical_id) {
                    None => "not deployed".to_string(),
                    Some(r) => match r.status.as_str() {
                        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" => match d.kind {
                            "topic" => "subscribed",
                            _ if d.paused => "paused",
                            _ => "enabled",
                        }
                        .to_string(),
                        other => other.to_string(),
                    },
                }),
                Fact::Absent => Some("not deployed".to_string()),
                Fact::Unknown(_) => None,
            };
            let schedule = stage
                .spec
                .sources
                .schedules
                .iter()
                .find(|s| s.name == d.name);
            let next = match (d.kind, schedule, state.as_deref(), as_file) {
                ("schedule", Some(schedule), Some("enabled"), Some(true)) => {
                    Some(next_run::next_run(schedule, now))
                }
                ("schedule", Some(_), Some("enabled"), Some(false)) => Some(Err(
                    "next run unknown: the data stack is not the stack file's as it is now (qfleet plan shows the difference)".to_string(),
                )),
                ("schedule", Some(_), Some("enabled"), None) => Some(Err(
                    "next run unknown: whether the data stack holds the stack file's schedules could not be read".to_string(),
                )),
                _ => None,
            };
            SourceStatus {
                kind: d.kind,
                name: d.name,
                detail: d.detail,
                state,
                next_run: next.clone().and_then(Result::ok),
                no_next_run: next.and_then(Result::err),
            }
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct StackSummary {
    name: String,
    /// `null` when it could not be read.
    exists: Option<bool>,
    status: Option<String>,
    last_updated: Option<String>,
    /// Why it failed or what it is doing, when CloudFormation says.
    reason: Option<String>,
    /// `null` when the stack or its protection could not be read.
    termination_protection: Option<bool>,
    /// Where the stack comes from, when not deployed under its own name.
    #[serde(flatten)]
    origin: crate::placement::Origin,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct QueueDepth {
    name: String,
    visible: u64,
    in_flight: u64,
    delayed: u64,
    /// From CloudWatch; `None` when it has no data yet.
    oldest_message_age_seconds: Option<f64>,
    /// A fair queue's view, for a queue that gets jobs in their tenants' groups
    /// (`queue.tenant`); `null` for any other.
    fair_shares: Option<FairShares>,
}

/// What SQS says of a fair queue's tenants (CloudWatch, the window's newest value; `null`
/// when it has no data yet).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct FairShares {
    /// The oldest message of the tenants SQS does not count as noisy.
    quiet_tenants_oldest_age_seconds: Option<f64>,
    /// The tenants SQS counts as noisy.
    noisy_tenants: Option<u64>,
}

/// Where the group is heading: more instances than in service wanted, fewer, as many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Direction {
    Out,
    In,
    Steady,
    Unknown,
}

/// Where the backlog per instance against the target sends the scaling. Target tracking
/// "will scale out (increase capacity) when [the metric] exceeds [the target] ... [and] scale
/// in (decrease capacity) when [it] drops below" (EC2 Auto Scaling:
/// <https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html>;
/// Application Auto Scaling, Fargate's:
/// <https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html>),
/// within the group's (the service's) minimum and maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum TargetDirection {
    /// Above the target, below the maximum: more instances.
    Out,
    /// Above the target at the maximum: no more.
    AtMax,
    /// Below the target, above the minimum: fewer (a gradual `scale_in`: only below its
    /// threshold, for its minutes).
    In,
    /// Below the target at the minimum: no fewer.
    AtMin,
    /// At the target.
    AtTarget,
    /// No backlog per instance (none in service, or the queue not read), or no target.
    Unknown,
}

impl TargetDirection {
    /// From the backlog per instance, the target, and the desired size against its bounds
    /// (`(desired, min, max)`; `None`: not known, then the bounds are not claimed).
    fn of(backlog: Option<f64>, target: Option<f64>, size: Option<(i64, i64, i64)>) -> Self {
        let (Some(b), Some(t)) = (backlog, target) else {
            return TargetDirection::Unknown;
        };
        match b.partial_cmp(&t) {
            Some(std::cmp::Ordering::Greater) => match size {
                Some((desired, _, max)) if desired >= max => TargetDirection::AtMax,
                _ => TargetDirection::Out,
            },
            Some(std::cmp::Ordering::Less) => match size {
                Some((desired, min, _)) if desired <= min => TargetDirection::AtMin,
                _ => TargetDirection::In,
            },
            Some(std::cmp::Ordering::Equal) => TargetDirection::AtTarget,
            None => TargetDirection::Unknown,
        }
    }

    /// In a few words, with how far above the target `backlog` is when it is far
    /// (`270× the target: scales out`).
    fn words(self, backlog: Option<f64>, target: Option<f64>, max: Option<i64>) -> String {
        let times = match (backlog, target) {
            (Some(b), Some(t)) if t > 0.0 && b >= 2.0 * t => format!("{:.0}× the target", b / t),
            _ => "above the target".to_string(),
        };
        match self {
            TargetDirection::Out => format!("{times}: scales out"),
            TargetDirection::AtMax => format!(
                "{times}, at its maximum{}: cannot scale out",
                max.map(|m| format!(" {m}")).unwrap_or_default()
            ),
            TargetDirection::In => "below the target: scales in".into(),
            TargetDirection::AtMin => "below the target, at its minimum".into(),
            TargetDirection::AtTarget => "at the target".into(),
            TargetDirection::Unknown => "direction unknown".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct Scaling {
    /// Visible and in-flight messages ÷ instances in service, now (from SQS and Auto
    /// Scaling): what the scaling policy counts (`(visible + in flight) / in service`).
    backlog_per_instance: Option<f64>,
    /// The scaling policy's own metric (metric math in CloudWatch); `None` without data.
    backlog_per_instance_metric: Option<f64>,
    /// The target-tracking target deployed in the policy.
    target: Option<f64>,
    /// The target in the stack file.
    configured_target: f64,
    /// Where the backlog per instance against the target (the policy's, else for Fargate the
    /// stack file's) sends the scaling: `out`, `at_max` (above it at the maximum), `in`,
    /// `at_min`, `at_target`, or `unknown` (no backlog per instance, or no target).
    target_direction: TargetDirection,
    /// The group (the service) now: `out` (desired above in service), `in` (below), `steady`,
    /// or `unknown`.
    direction: Direction,
    /// The group's (the service's) maximum, where known: what `at_max` reaches.
    #[serde(skip)]
    max: Option<i64>,
    policy: Option<String>,
}

/// Reads the environment and works out its status: a pipeline's first stage as the
/// environment's, each later stage beside it. First the account guard (`accounts:`): the
/// stacks of another account are not this environment's, and "not deployed" read there would
/// mislead.
#[cfg(test)]
async fn gather(clients: &Clients, env: &Environment) -> Status {
    gather_at(clients, env, Ok(StackNames::own())).await
}

/// The status of an environment whose stacks are where `names` says (a target deployed
/// through StackSets: its stack sets' instances); when they could not be found, each stack
/// is unknown with why.
async fn gather_at(
    clients: &Clients,
    env: &Environment,
    names: crate::error::Result<StackNames>,
) -> Status {
    if let Err(e) = crate::ownership::check_account(&clients.sts, env).await {
        return refused(env, "account", e);
    }
    let names = match names {
        Ok(n) => n,
        Err(e) => return refused(env, crate::placement::LOCATING, e),
    };
    let names = &names;
    let stages = env.stages();
    // What the file renders, to tell whether the data stack holds its schedules as they are.
    let wanted = &crate::placement::wanted_templates(env, names).ok();
    let mut read = futures::future::join_all(stages.iter().map(|stage| async move {
        let snap = snapshot::read_at(clients, stage, Scope::STATUS, names).await;
        let workers = &stage.spec.workers;
        let bounds = Some((workers.min, workers.max));
        let mut status = from_snapshot_within(&snap, stage.backlog_target(), bounds);
        with_fair_shares(&mut status, stage, &snap);
        if stage.spec.workers.gpu.is_some() {
            gpus(clients, &mut status).await;
        }
        let as_file = wanted
            .as_ref()
            .and_then(|w| w.iter().find(|(name, _)| *name == snap.data.name))
            .and_then(|(_, template)| snapshot::as_file::holds(&snap.data, template));
        status.sources = sources_of(stage, &snap.data, as_file, jiff::Timestamp::now());
        status.parked = stage.parked_note();
        with_goal(status, stage.spec.scaling.max_latency_seconds)
    }))
    .await
    .into_iter();
    let Some(mut first) = read.next() else {
        unreachable!("an environment has at least one stage")
    };
    if env.is_pipeline() {
        first.stages = read
            .zip(stages.iter().skip(1))
            .map(|(status, stage)| StageStatus {
                stage: stage
                    .stage
                    .as_ref()
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                // The environment's one dashboard is said with its first stage.
                status: Status {
                    dashboard: None,
                    ..status
                },
            })
            .collect();
        first.pipeline = Some(pipeline_of(&first));
    }
    let stacks = first.stacks.iter_mut().chain(
        first
            .stages
            .iter_mut()
            .flat_map(|s| s.status.stacks.iter_mut()),
    );
    for st in stacks {
        st.origin = names.origin(&st.name);
    }
    budget(clients, env, &mut first).await;
    first
}

/// With `budget`: its spend as AWS Budgets says it (one DescribeBudget), under the name the
/// data stack holds, in the account its stacks are in. A budget not read is said in
/// `unavailable`, never shown as spent or unspent.
async fn budget(clients: &Clients, env: &Environment, status: &mut Status) {
    use crate::snapshot::Located;
    let located = status.budget_resource.take();
    let Some(b) = &env.spec.budget else {
        return;
    };
    let shown = |name, spend, missing| BudgetStatus {
        name,
        amount: b.amount,
        period: b.period.as_str(),
        spend,
        missing,
    };
    let mut unavailable = |why: Why| {
        status.unavailable.insert("budget".into(), why);
    };
    let name = match located {
        Some(Located::Physical(name)) => name,
        Some(Located::Absent | Located::NotListed) => {
            status.budget = Some(shown(None, None, Some("not deployed")));
            return;
        }
        Some(Located::Unknown(why)) => return unavailable(why),
        None => return unavailable(Why::from("the data stack's resources were not read")),
    };
    let Some(account) = status.account.clone() else {
        return unavailable(Why::from("the account the stacks are in is not known"));
    };
    let Some(api) = &clients.budgets else {
        return unavailable(Why::from(
            "qfleet knows no AWS Budgets endpoint for this partition or with FIPS",
        ));
    };
    match crate::aws::describe_budget(api, &account, &name).await {
        Ok(Some(spend)) => status.budget = Some(shown(Some(name), Some(spend), None)),
        Ok(None) => status.budget = Some(shown(Some(name), None, Some("not in AWS Budgets"))),
        Err(e) => unavailable(Why::from(&e)),
    }
}

/// With `workers.gpu`: each instance's GPUs, from its type as EC2 describes it; a type not
/// read leaves the count unknown and says why in `unavailable`.
async fn gpus(clients: &Clients, status: &mut Status) {
    let Some(fleet) = status.workers.iter_mut().find_map(|w| match w {
        Workers::Ec2(Some(f)) => Some(f),
        _ => None,
    }) else {
        return;
    };
    let types = fleet.instance_types();
    if types.is_empty() {
        fleet.with_gpus(&BTreeMap::new());
        return;
    }
    match crate::aws::describe_instance_types(&clients.ec2, &types).await {
        Ok(described) if described.len() == types.len() => {
            let per_type = described.into_iter().map(|t| (t.name, t.gpus)).collect();
            fleet.with_gpus(&per_type);
        }
        Ok(_) => {
            status.unavailable.insert(
                "GPUs".into(),
                Why::from("EC2 did not describe every instance type of the group".to_string()),
            );
        }
        Err(e) => {
            status.unavailable.insert(
                "GPUs".into(),
                Why::from(format!("describing the instance types: {e}")),
            );
        }
    }
}

/// The status of an environment that could not be read (the account guard refused it, or its
/// stack sets could not be): nothing read, each stack unknown, `what` saying why.
fn refused(env: &Environment, what: &str, e: crate::error::Error) -> Status {
    let stacks = env.stack_names();
    Status {
        environment: env.name.clone(),
        account: None,
        region: env.spec.region.clone(),
        stacks: stacks
            .iter()
            .map(|name| StackSummary {
                name: name.clone(),
                exists: None,
                status: None,
                last_updated: None,
                reason: None,
                termination_protection: None,
                origin: Default::default(),
            })
            .collect(),
        workers: Vec::new(),
        queue: None,
        priority_queue: None,
        dead_letter_queue: None,
        schedule_dead_letter_queue: None,
        scaling: None,
        alarms: Vec::new(),
        upload_to_processed: None,
        latency: None,
        jobs: None,
        sources: Vec::new(),
        unavailable: BTreeMap::from([(what.to_string(), e.to_string().into())]),
        stages: Vec::new(),
        pipeline: None,
        refused: Some((e.exit_code(), e.report())),
        parked: None,
        dashboard: None,
        budget: None,
        budget_resource: None,
    }
}

/// The pipeline's oldest message across every stage's queue, known only when each is.
fn pipeline_of(first: &Status) -> Pipeline {
    let ages: Vec<Option<f64>> = std::iter::once(first)
        .chain(first.stages.iter().map(|s| &s.status))
        .map(|s| s.queue.as_ref().and_then(|q| q.oldest_message_age_seconds))
        .collect();
    Pipeline {
        stages: ages.len(),
        oldest_message_age_seconds: ages
            .iter()
            .copied()
            .collect::<Option<Vec<f64>>>()
            .map(|a| a.into_iter().fold(0.0, f64::max)),
    }
}

/// The status judged against the stack file's latency goal, if it sets one.
fn with_goal(mut status: Status, goal: Option<f64>) -> Status {
    status.latency = goal.map(|goal| {
        LatencyGoal::of(
            goal,
            status.queue.as_ref(),
            status.upload_to_processed.as_ref(),
        )
    });
    status
}

fn stack_summary(s: &StackSnapshot, unavailable: &mut BTreeMap<String, Why>) -> StackSummary {
    let mut sum = StackSummary {
        name: s.name.clone(),
        exists: Some(false),
        status: None,
        last_updated: None,
        reason: None,
        termination_protection: Some(false),
        origin: Default::default(),
    };
    match &s.state {
        Fact::Known(st) => {
            sum.exists = Some(true);
            sum.status = Some(st.status.as_str().to_string());
            sum.last_updated = st.last_updated.clone();
            sum.reason = st.status_reason.clone().filter(|r| !r.is_empty());
            sum.termination_protection = st.termination_protection;
        }
        Fact::Absent => {}
        Fact::Unknown(why) => {
            sum.exists = None;
            sum.termination_protection = None;
            unavailable.insert(format!("stack {}", s.name), why.clone());
        }
    }
    sum
}

/// How a section deleted outside CloudFormation begins (`unavailable` in JSON), as drift calls
/// it: missing, never "not deployed".
const MISSING: &str = "missing: ";

/// Why a queue the data stack should hold is missing: the stack stands complete (created or
/// updated, not being created, rolled back or deleted), yet SQS says there is no such queue.
fn missing(snap: &Snapshot, queue: &Fact<Queue>) -> Option<String> {
    let Fact::Known(st) = &snap.data.state else {
        return None;
    };
    let stands = matches!(
        st.status.as_str(),
        "CREATE_COMPLETE"
            | "UPDATE_COMPLETE"
            | "UPDATE_ROLLBACK_COMPLETE"
            | "IMPORT_COMPLETE"
            | "IMPORT_ROLLBACK_COMPLETE"
    );
    (stands && matches!(queue, Fact::Absent)).then(|| {
        format!(
            "{MISSING}stack {} stands, but SQS says the queue does not exist (deleted outside CloudFormation); `qfleet drift {}` shows it",
            snap.data.name, snap.environment
        )
    })
}

/// Takes a known value; records why it is missing when it is unknown.
fn take<T: Clone>(
    f: Option<&Fact<T>>,
    section: &str,
    unavailable: &mut BTreeMap<String, Why>,
) -> Option<T> {
    match f? {
        Fact::Known(v) => Some(v.clone()),
        Fact::Absent => None,
        Fact::Unknown(why) => {
            unavailable.insert(section.to_string(), without(why));
            None
        }
    }
}

/// Why a section status does without was not read, as said: an endpoint that failed on its
/// side (HTTP 5xx with an error of its own: AWS's `InternalFailure`, an emulator's
/// `InternalError`) in those words, not in the server's, which tell its internals (a stack
/// trace's last line). The section stays not read: shown as not available, never as zero.
fn without(why: &Why) -> Why {
    match why.server_failed() {
        Some(failed) => Why::from(failed.line()),
        None => why.clone(),
    }
}

fn depth(q: &Queue, oldest: Option<f64>) -> QueueDepth {
    QueueDepth {
        name: q.name.clone(),
        visible: q.depth.visible,
        in_flight: q.depth.in_flight,
        delayed: q.depth.delayed,
        oldest_message_age_seconds: oldest,
        fair_shares: None,
    }
}

/// The job queue's fair shares, for a stage whose queue gets jobs in their tenants' groups,
/// from the metrics read (none when they could not be: said as such elsewhere).
fn with_fair_shares(status: &mut Status, stage: &Environment, snap: &Snapshot) {
    let Some(q) = status.queue.as_mut().filter(|_| stage.gets_groups()) else {
        return;
    };
    let m = snap.metrics.as_ref().and_then(|f| f.known());
    q.fair_shares = Some(FairShares {
        quiet_tenants_oldest_age_seconds: m.and_then(|m| m.quiet_tenants_oldest_age_seconds),
        // A count: CloudWatch's Maximum of a whole number.
        noisy_tenants: m
            .and_then(|m| m.noisy_tenants)
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| n.round() as u64),
    });
}

/// The status of one environment, from a snapshot read with [`Scope::STATUS`] (Fargate's
/// bounds not known: see [`from_snapshot_within`]).
#[cfg(test)]
fn from_snapshot(snap: &Snapshot, configured_target: f64) -> Status {
    from_snapshot_within(snap, configured_target, None)
}

/// The status of one environment, from a snapshot read with [`Scope::STATUS`]; `bounds`, the
/// stack file's minimum and maximum of tasks, for a Fargate service (whose scalable target is
/// not read; a group's are).
fn from_snapshot_within(
    snap: &Snapshot,
    configured_target: f64,
    bounds: Option<(i64, i64)>,
) -> Status {
    let mut unavailable = BTreeMap::new();
    let stacks = vec![
        stack_summary(&snap.data, &mut unavailable),
        stack_summary(&snap.fleet, &mut unavailable),
    ];
    let metrics = take(snap.metrics.as_ref(), "metrics", &mut unavailable).unwrap_or_default();
    let mut fleet = group::section(snap, &mut unavailable);
    let queue = take(Some(&snap.queue), "queue", &mut unavailable)
        .map(|q| depth(&q, metrics.oldest_message_age_seconds));
    let dead_letter_queue = take(
        Some(&snap.dead_letter_queue),
        "dead-letter queue",
        &mut unavailable,
    )
    .map(|q| depth(&q, metrics.dead_letter_oldest_age_seconds));
    for (section, fact) in [
        ("queue", &snap.queue),
        ("dead-letter queue", &snap.dead_letter_queue),
    ] {
        if let Some(why) = missing(snap, fact) {
            unavailable.insert(section.to_string(), why.into());
        }
    }
    let schedule_dead_letter_queue = take(
        snap.schedule_dead_letters.as_ref(),
        "schedule dead-letter queue",
        &mut unavailable,
    )
    .map(|q| depth(&q, None));
    // Listed by the data stack, yet SQS says it does not exist: said, never left out.
    if let Some(fact) = &snap.schedule_dead_letters
        && let Some(why) = missing(snap, fact)
    {
        unavailable.insert("schedule dead-letter queue".to_string(), why.into());
    }
    let priority_queue = take(
        snap.priority_queue.as_ref(),
        "priority lane",
        &mut unavailable,
    )
    .map(|q| depth(&q, metrics.priority_oldest_age_seconds));
    if let Some(fact) = &snap.priority_queue
        && let Some(why) = missing(snap, fact)
    {
        unavailable.insert("priority lane".to_string(), why.into());
    }
    let policies = take(snap.policies(), "scaling policies", &mut unavailable).unwrap_or_default();
    let policy = policies.iter().find(|p| p.is_target_tracking());
    let alarms = take(snap.alarms.as_ref(), "alarms", &mut unavailable).unwrap_or_default();

    let mut service = take(snap.service(), service::SERVICE, &mut unavailable);
    // Instances in service, or tasks running, against what the group or the service wants,
    // and its bounds.
    let counts = match (&fleet, &service) {
        (Some(f), _) => Some((f.desired as i64, f.in_service as i64)),
        (None, Some(s)) => Some((s.desired.into(), s.running.into())),
        (None, None) => None,
    };
    let size = match (&fleet, &service, bounds) {
        (Some(f), _, _) => Some((f.desired.into(), f.min.into(), f.max.into())),
        (None, Some(s), Some((min, max))) => Some((s.desired.into(), min, max)),
        _ => None,
    };
    // As the policy counts it: visible and in flight (received, not yet deleted), per
    // instance in service (the templates' metric math, `(m1 + FILL(m3, 0)) / m2`).
    // With a priority lane, its jobs too (`+ FILL(p1, 0) + FILL(p3, 0)`); a lane listed but
    // not read leaves the backlog unknown.
    let lane = match &snap.priority_queue {
        None => Some(0),
        Some(_) => priority_queue.as_ref().map(|p| p.visible + p.in_flight),
    };
    let backlog = match (&queue, counts, lane) {
        (Some(q), Some((_, working)), Some(lane)) if working > 0 => {
            Some((q.visible + q.in_flight + lane) as f64 / working as f64)
        }
        _ => None,
    };
    let direction = match counts {
        Some((desired, working)) if desired > working => Direction::Out,
        Some((desired, working)) if desired < working => Direction::In,
        Some(_) => Direction::Steady,
        None => Direction::Unknown,
    };
    let mut function = function::section(snap, &metrics, queue.as_ref(), &mut unavailable);
    let dashboard = dashboard_link(snap, &mut unavailable);
    let workers = snap
        .kinds_read()
        .into_iter()
        .map(|kind| match kind {
            WorkerKind::Ec2 => Workers::Ec2(fleet.take()),
            WorkerKind::Lambda => Workers::Lambda(function.take().map(Box::new)),
            WorkerKind::Fargate | WorkerKind::EcsManaged => Workers::Fargate(service.take()),
        })
        .collect();
    Status {
        environment: snap.environment.clone(),
        account: [&snap.data, &snap.fleet]
            .iter()
            .find_map(|st| st.state.known().and_then(|s| s.account()))
            .map(str::to_string),
        region: snap.region.clone(),
        stacks,
        workers,
        queue,
        priority_queue,
        dead_letter_queue,
        schedule_dead_letter_queue,
        scaling: (snap.group().is_some() || snap.service().is_some()).then(|| {
            let target = policy.and_then(|p| p.target);
            // Application Auto Scaling's policies are not read: a service's is the file's.
            let against = target.or(snap.service().is_some().then_some(configured_target));
            Scaling {
                backlog_per_instance: backlog,
                backlog_per_instance_metric: metrics.backlog_per_instance,
                target,
                configured_target,
                target_direction: TargetDirection::of(backlog, against, size),
                direction,
                max: size.map(|(_, _, max)| max),
                policy: policy.map(|p| p.name.clone()),
            }
        }),
        alarms,
        upload_to_processed: metrics.upload_to_processed.clone(),
        latency: None,
        jobs: recent_jobs(snap, &mut unavailable),
        sources: Vec::new(),
        unavailable,
        stages: Vec::new(),
        pipeline: None,
        refused: None,
        parked: None,
        dashboard,
        budget: None,
        budget_resource: Some(snap.data.locate(crate::render::BUDGET_ID)),
    }
}

/// The console link of the dashboard the data stack holds (`dashboard`): `None` when it holds
/// none (`dashboard: false`, or not deployed yet) or could not be read, which `unavailable`
/// then says.
fn dashboard_link(snap: &Snapshot, unavailable: &mut BTreeMap<String, Why>) -> Option<String> {
    use crate::snapshot::Located;
    match snap.data.locate(crate::render::dashboard::DASHBOARD) {
        Located::Physical(name) => Some(crate::render::dashboard::link(&snap.region, &name)),
        Located::Unknown(why) => {
            unavailable.insert("dashboard".into(), why);
            None
        }
        Located::Absent | Located::NotListed => None,
    }
}

/// The jobs of the last minutes, from the job table the snapshot read (`None`: none read).
fn recent_jobs(
    snap: &Snapshot,
    unavailable: &mut BTreeMap<String, Why>,
) -> Option<crate::jobs::Recent> {
    let table = take(snap.job_table.as_ref(), "jobs", unavailable)?;
    let jobs = take(table.recent.as_ref(), "jobs", unavailable)?;
    Some(crate::jobs::Recent::of(&jobs))
}

#[cfg(test)]
mod tests;
