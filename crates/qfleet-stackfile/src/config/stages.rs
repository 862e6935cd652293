//! Pipelines (`stages`): an environment as a list of stages, each a queue and the workers that
//! consume it. The first stage is fed by the uploads; each later one by the stage before it,
//! through the bucket's events for the objects it writes under the stage's prefix, or through
//! the messages its worker sends.
//!
//! Each stage is seen by the rest of qfleet as an environment of its own (`Environment` with
//! `stage` set): the stage's queue, workers and scaling in the places the top-level settings
//! have in a one-stage file, the prefix it reads as its upload prefix and the one it writes as
//! its processed prefix, and its errors located under `stages.N`. So every rule and template
//! written for one stage applies to each stage unchanged.

use super::Environment;
use super::schema::{Feed, StageSpec};

/// Most stages in a pipeline: the data stack holds every stage's queues, policies and alarms,
/// and must stay within CloudFormation's 51,200-byte limit for a template body.
pub const MAX_STAGES: usize = 8;

/// Longest stage name: the function `qfleet-ENV--STAGE-worker` must fit in Lambda's 64
/// characters with the longest environment name (24).
pub const MAX_STAGE_NAME_LEN: usize = 16;

/// What a stage of a pipeline is, on the environment that stands for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageOf {
    /// 0 for the first stage.
    pub index: usize,
    /// How many stages the pipeline has.
    pub(super) count: usize,
    pub name: String,
    /// How the queue is fed (later stages; the first is fed by the uploads).
    pub feed: Option<Feed>,
    /// The next stage's queue name when the next stage is fed by messages: the worker may
    /// send there, and nowhere else.
    pub next_queue: Option<String>,
    /// The next stage's name (`None` for the last stage).
    pub next: Option<String>,
    /// Whether the stage's jobs come from the stage before in their tenants' message groups:
    /// fed by messages from a stage whose jobs carry a tenant (`queue.tenant` there, or
    /// before it down a chain of stages fed by messages).
    pub tenants_in: bool,
    /// The next stage's priority lane when the next stage is fed by messages and has one
    /// (`queue.priority`): the workers send a priority job on there.
    pub next_priority_queue: Option<String>,
    /// Whether the stage before hands it priority jobs: fed by messages from a stage with a
    /// priority lane of its own.
    pub priority_in: bool,
}

impl StageOf {
    /// The part a later stage adds to its resources' names (`--thumbs`); the first stage keeps
    /// the names of a one-stage environment, so that turning a file into a pipeline keeps its
    /// queue and fleet. Environment names may not hold `--`, so no stage's names can be those
    /// of another environment (`shop` + `eu` is `qfleet-shop--eu-fleet`, never `shop-eu`'s).
    pub(super) fn suffix(&self) -> String {
        if self.index == 0 {
            String::new()
        } else {
            format!("--{}", self.name)
        }
    }
}

/// The prefix a later stage reads: where the stage before it writes.
pub(super) fn input_prefix(stage: &StageSpec) -> String {
    stage
        .prefix
        .clone()
        .unwrap_or_else(|| format!("{}/", stage.name))
}

/// The queue name of stage `index` (named `stage`) of environment `env`; a FIFO queue's ends
/// in `.fifo`: "The name of a FIFO queue must end with the .fifo suffix"
/// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/create-queue-cloudformation.html).
pub fn queue_name(env: &str, index: usize, stage: &str, fifo: bool) -> String {
    let fifo = if fifo { ".fifo" } else { "" };
    if index == 0 {
        format!("qfleet-{env}-jobs{fifo}")
    } else {
        format!("qfleet-{env}--{stage}-jobs{fifo}")
    }
}

/// The priority lane's queue name of stage `index` (`queue.priority`): the job queue's with
/// `priority` for `jobs` (`qfleet-ENV-priority`, `qfleet-ENV--STAGE-priority`), within SQS's 80
/// characters at the longest names.
pub fn priority_queue_name(env: &str, index: usize, stage: &str, fifo: bool) -> String {
    let fifo = if fifo { ".fifo" } else { "" };
    if index == 0 {
        format!("qfleet-{env}-priority{fifo}")
    } else {
        format!("qfleet-{env}--{stage}-priority{fifo}")
    }
}

/// The environments that stand for the stages of `env`'s pipeline (empty without `stages`).
pub(super) fn derive(env: &Environment) -> Vec<Environment> {
    let stages = &env.spec.stages;
    // Whether the stage before sends its jobs on with a tenant.
    let mut carried = false;
    stages
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            let tenants_in = i > 0 && stage.fed_by == Some(Feed::Messages) && carried;
            carried = tenants_in || stage.queue.tenant.is_some();
            let mut spec = env.spec.clone();
            spec.stages = Vec::new();
            spec.queue = stage.queue.clone();
            spec.sources = stage.sources.clone();
            spec.workers = stage.workers.clone();
            spec.scaling = stage.scaling.clone();
            if i > 0 {
                spec.bucket.upload_prefix = input_prefix(stage);
            }
            if let Some(next) = stages.get(i + 1) {
                spec.bucket.processed_prefix = input_prefix(next);
            }
            let next_by_messages = stages
                .get(i + 1)
                .filter(|next| next.fed_by == Some(Feed::Messages));
            let next_queue = next_by_messages
                .map(|next| queue_name(env.resource_name(), i + 1, &next.name, next.queue.fifo));
            let next_priority_queue = next_by_messages
                .filter(|next| next.queue.priority.is_some() && stage.queue.priority.is_some())
                .map(|next| {
                    priority_queue_name(env.resource_name(), i + 1, &next.name, next.queue.fifo)
                });
            let priority_in = i > 0
                && stage.fed_by == Some(Feed::Messages)
                && stages[i - 1].queue.priority.is_some();
            Environment {
                name: env.name.clone(),
                spec,
                source: env.source.within(&format!("stages.{i}")),
                user_data: None,
                function_code: None,
                image_build: None,
                stage: Some(StageOf {
                    index: i,
                    count: stages.len(),
                    name: stage.name.clone(),
                    feed: (i > 0).then(|| stage.fed_by.unwrap_or_default()),
                    next_queue,
                    next: stages.get(i + 1).map(|next| next.name.clone()),
                    tenants_in,
                    next_priority_queue,
                    priority_in,
                }),
                pipeline: Vec::new(),
                target: env.target.clone(),
                copy: env.copy.clone(),
            }
        })
        .collect()
}

/// The same stages for a copy of the environment named `name` (`lab-01`).
pub fn rename(stages: &[Environment], name: &str) -> Vec<Environment> {
    let names: Vec<(String, bool)> = stages
        .iter()
        .map(|s| {
            let name = s.stage.as_ref().map(|st| st.name.clone());
            (name.unwrap_or_default(), s.spec.queue.fifo)
        })
        .collect();
    stages
        .iter()
        .map(|s| {
            let mut copy = s.clone();
            copy.name = name.to_string();
            let named = copy.resource_name().to_string();
            if let Some(st) = copy.stage.as_mut()
                && st.next_queue.is_some()
                && let Some((next, fifo)) = names.get(st.index + 1)
            {
                st.next_queue = Some(queue_name(&named, st.index + 1, next, *fifo));
            }
            copy
        })
        .collect()
}
