//! Stack files: finding, parsing and validating them ([`LoadedFile`]), and the environments
//! they make ([`Environment`]).

mod allowed;
mod checks;
mod complete;
pub mod cron;
mod declared;
pub mod duration;
#[cfg(test)]
mod editor_schema;
mod error;
#[cfg(any(test, feature = "test-util"))]
mod examples;
mod grants;
pub mod headroom;
mod image;
mod keys;
mod language;
mod permissions;
mod positions;
mod regions;
mod runtimes;
mod schema;
mod stages;
mod syntax;
mod targets;
mod walk;
mod warnings;

pub use checks::{MAX_NAME_LEN, TagRoom, tag_room, valid_name};
pub use schema::{
    GPU_AMI_ARM, GPU_AMI_X86, MAX_LAUNCH_HEARTBEAT, MAX_ROLLING_PAUSE, Network, StackFile,
};

pub use checks::gpu::{ACCELERATOR_NAMES, GPU_FAMILIES, accelerator_name};
pub use checks::network::MAX_EXTRA_GROUPS;
pub use checks::network::{
    canonical_cidr as egress_canonical_cidr, cidr_family as egress_cidr_family,
    destination as egress_destination, normalized_port as egress_ports,
    to_the_internet as egress_to_the_internet,
};
pub use checks::{ROLE_POLICY_LIMIT, teams_channel_for_cloudformation, valid_region};
pub use complete::candidates as completion_candidates;
pub use declared::{Declared, FileMakes, declared};
pub use grants::describe as describe_grants;
pub use image::{
    Image, engine as build_engine, of as workers_image, parse as parse_image, promote_from,
    repository as image_repository, setting as image_setting,
};
pub use permissions::{PSEUDO_PARAMETERS, SecretSource};
pub use positions::{Locations, byte_offset};
pub use regions::partition;
pub use schema::{
    AlarmSpec, AlertsSpec, Architecture, BucketSpec, BudgetPeriod, BudgetSpec, CallAs,
    EgressProtocol, EgressRule, EndpointsMode, ExplicitNetwork, Feed, FilterScope, GpuSpec,
    ImageSetting, Jitter, LambdaDeployment, LambdaSpec, PermissionModel, Platform, PollerSpec,
    PoolState, PrioritySpec, QueueSpec, RetrySpec, ScaleInPolicy, ScaleInSpec, ScalingMetric,
    ScheduleSpec, SlackSpec, SourcesSpec, SpotSpec, TeamsSpec, TenantSpec, WarmPoolSpec,
    WorkerKind, WorkersSpec, is_graviton, tenant_group,
};
pub use stages::{MAX_STAGE_NAME_LEN, priority_queue_name, queue_name, rename as rename_stages};
pub use targets::{
    Target, TargetFile, administration_account, bake, retired, role_in, stack_set_name, unit_wide,
    valid_account,
};
pub use warnings::{privileged, warnings};

// For the tests of this crate and the crates above (feature `test-util`).
#[cfg(any(test, feature = "test-util"))]
pub use checks::{check, own_managed_policies, qfleet_tags};
#[cfg(any(test, feature = "test-util"))]
pub use examples::{stack_sets_service_managed, unmergeable_stack_sets, workspace_root};
#[cfg(any(test, feature = "test-util"))]
pub use regions::PARTITIONS;
#[cfg(any(test, feature = "test-util"))]
pub use stages::MAX_STAGES;

pub use error::{Error, FileError, InputError, Result};
use miette::NamedSource;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Tag qfleet puts on every stack (a stack file may not set it).
pub const ENVIRONMENT_TAG: &str = "qfleet:environment";
/// Where in the bucket a job's body over SQS's limit is stored, as the Amazon SQS Extended
/// Client Library stores one (docs/jobs.md): no prefix of the stack file may overlap it.
pub const STORED_BODIES: &str = "bodies/";
/// The tag that names a stack's owner (the stack file's `owner`), beside [`ENVIRONMENT_TAG`].
pub const OWNER_TAG: &str = "qfleet:owner";
/// On the data stack: the repository of the images qfleet built for the environment
/// (`workers.image.build`), kept once set so that teardown deletes it after the file stops
/// building.
pub const IMAGES_TAG: &str = "qfleet:images";
/// The tag that names the stack file's own environment a stack was deployed from (`class` of
/// the copy `class-07`, `orders` of the target `orders-eu`): every environment of one file
/// carries it, so those the file no longer makes are found.
pub const FILE_TAG: &str = "qfleet:file";
/// The tag that names the stack file a stack was deployed from, by its file name
/// (`orders.yaml`): an environment whose file kept its name and renamed its `environment:`,
/// or that is gone from its directory, is found by it.
pub const STACK_FILE_TAG: &str = "qfleet:stack-file";
/// The tag that names the kinds of an environment's workers (`ec2`, `lambda+fargate` for a
/// pipeline of both).
pub const KIND_TAG: &str = "qfleet:kind";
/// The tag that names which copy of its file an environment is (`7` of `class-07`).
pub const COPY_TAG: &str = "qfleet:copy";
/// The tag that names which target of its file an environment is (`eu` of `orders-eu`).
pub const TARGET_TAG: &str = "qfleet:target";
/// The prefix of the tags on a data stack that record where the environment ran before its
/// file moved it to another Region or account (`qfleet:moved:eu-west-1` = `111122223333`, or
/// `-` for the credentials' own): the old one is found again until it is torn down.
pub const MOVED_TAG: &str = "qfleet:moved:";
/// The prefix of the tags on a target's data stack that record its file's targets
/// (`qfleet:targets:us2` = `444455556666 us-east-1 ROLE`): a target dropped from the file is
/// found, and reached, through the targets that stay.
pub const TARGETS_TAG: &str = "qfleet:targets:";

/// How deeply a stack file's values may nest: its deepest setting
/// (`stages.N.workers.statements.N.Condition.OPERATOR.KEY.N`) is 9 levels down, so 64 leaves room for any
/// real file and refuses a runaway one before a parser recurses through it.
const MAX_DEPTH: usize = 64;

/// The largest stack file qfleet reads: real ones are a few kilobytes.
const MAX_FILE_BYTES: usize = 1024 * 1024;

/// Where stack files live unless `--stacks-dir` says otherwise.
pub const DEFAULT_STACKS_DIR: &str = "stacks";

/// A stack file's text, kept to point errors at their line.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    locations: Locations,
    /// The dotted path a stage's settings are under (`stages.1.`), or empty: every field
    /// named through this file is read below it.
    prefix: String,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> SourceFile {
        let locations = Locations::index(&text);
        SourceFile {
            path,
            text,
            locations,
            prefix: String::new(),
        }
    }

    /// The same file, with every field named below `prefix` (a stage's `stages.N`).
    fn within(&self, prefix: &str) -> SourceFile {
        SourceFile {
            prefix: format!("{prefix}."),
            ..self.clone()
        }
    }

    /// The field's full dotted path in the file.
    fn full(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    pub fn display(&self) -> String {
        self.path.display().to_string()
    }

    /// Whether the file sets `field` (a dotted path) itself.
    fn sets(&self, field: &str) -> bool {
        self.locations.key(&self.full(field)).is_some()
    }

    /// An error about the setting at `field` (a dotted path), located in the file.
    pub fn error(&self, field: &str, message: impl Into<String>) -> InputError {
        let pos = self.locations.find(&self.full(field));
        self.error_at(field, pos, message)
    }

    /// An error about a key (e.g. a key that must not be there).
    pub fn key_error(&self, field: &str, message: impl Into<String>) -> InputError {
        let full = self.full(field);
        let pos = self
            .locations
            .key(&full)
            .or_else(|| self.locations.find(&full));
        self.error_at(field, pos, message)
    }

    fn error_at(
        &self,
        field: &str,
        pos: Option<positions::Position>,
        message: impl Into<String>,
    ) -> InputError {
        let (line, column, span) = match pos {
            Some(p) => (p.line, p.column, Some((p.offset, p.len).into())),
            None => (1, 1, Some((0, 0).into())),
        };
        InputError {
            file: self.display(),
            line,
            column,
            field: if field.is_empty() && self.prefix.is_empty() {
                "-".into()
            } else if field.is_empty() {
                self.prefix.trim_end_matches('.').to_string()
            } else {
                self.full(field)
            },
            message: message.into(),
            allowed: checks::allowed(field),
            src: NamedSource::new(self.display(), self.text.clone()),
            span,
        }
    }

    /// A problem the first pass found, located at its key or value.
    fn problem(&self, p: walk::Problem) -> InputError {
        let mut e = if p.at_key {
            self.key_error(&p.field, p.message)
        } else {
            self.error(&p.field, p.message)
        };
        if p.help.is_some() {
            e.allowed = p.help;
        }
        e
    }

    /// An error at a known line and column (from the YAML parser).
    pub fn error_at_line(
        &self,
        field: &str,
        line: usize,
        column: usize,
        offset: usize,
        message: impl Into<String>,
    ) -> InputError {
        let offset = offset.min(self.text.len());
        // One character, or nothing at the end of the file.
        let len = self
            .text
            .get(offset..)
            .and_then(|rest| rest.chars().next())
            .map_or(0, char::len_utf8);
        let pos = positions::Position {
            line,
            column,
            offset,
            len,
        };
        self.error_at(field, Some(pos), message)
    }
}

/// One environment, a set of stacks deployed as one unit: a stack file's own environment, a
/// numbered copy of it (`copy`), one of its targets (`target`), a stage of a pipeline
/// (`stage`, held in `pipeline`), or one account of a unit-wide target; its validated settings
/// and what qfleet derives from them. A stack file as loaded is a [`LoadedFile`], which makes
/// these.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub spec: StackFile,
    pub source: SourceFile,
    /// Contents of `workers.user_data`, when the stack file names a script.
    pub user_data: Option<String>,
    /// The Lambda function's code (`workers.kind: lambda` without `workers.lambda.image`).
    pub function_code: Option<crate::package::FunctionCode>,
    /// The workers' image, when `qfleet deploy` builds it (`workers.image.build`,
    /// `workers.lambda.image.build`): its inputs and tag.
    pub image_build: Option<crate::package::image::ImageBuild>,
    /// Set when this environment stands for one stage of a pipeline (see `stages`).
    pub stage: Option<stages::StageOf>,
    /// The stages of a pipeline (`stages` in the stack file), each as an environment of its
    /// own; empty for a one-stage environment.
    pub pipeline: Vec<Environment>,
    /// Set when this environment stands for one target of the stack file (`targets`): its
    /// account and the role qfleet assumes there.
    pub target: Option<targets::Target>,
    /// Which copy of its stack file this environment is (`copies`).
    pub copy: Option<CopyOf>,
}

/// A stack file, read, parsed and validated ([`load`], [`parse`]): its own settings and its
/// targets. It is no environment itself: [`LoadedFile::expand`] makes its environments.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    /// The file's own settings: its name, region, owner, rollout and tags; for a file without
    /// targets, the one environment it makes, or the pattern of its copies. For a file with
    /// targets it is deployed nowhere (its workers' files are not read): each target is.
    pub base: Environment,
    /// The environments of the file's targets (`targets`), each validated and its files read;
    /// empty without targets.
    pub targets: Vec<Environment>,
}

impl LoadedFile {
    /// The environments this stack file makes: its own (`base`), its numbered copies
    /// (`lab-01` … `lab-30`), each with its own bucket, queue and fleet, or its targets
    /// (`orders-eu`, `orders-us`), each in its own account and region.
    pub fn expand(self) -> Vec<Environment> {
        if !self.targets.is_empty() {
            return self.targets;
        }
        let file = self.base;
        let Some(n) = file.spec.copies else {
            return vec![file];
        };
        copy_names(&file.name, n)
            .into_iter()
            .zip(1..)
            .map(|(name, number)| {
                let of = CopyOf {
                    number,
                    file: file.name.clone(),
                };
                let mut copy = file.clone();
                copy.pipeline = stages::rename(&file.pipeline, &name);
                copy.pipeline
                    .iter_mut()
                    .for_each(|s| s.copy = Some(of.clone()));
                copy.name = name;
                copy.copy = Some(of);
                copy
            })
            .collect()
    }

    /// A copy named `name` of this file (`copies`) that the file no longer makes (a copy above
    /// `copies`), as it still is in AWS: the file's settings (`base`) under its name, to be
    /// read and torn down by it; `file` is the file's environment its stacks say made it.
    pub fn retired_copy(&self, name: &str, file: &str, number: Option<u32>) -> Environment {
        let of = CopyOf {
            number: number.unwrap_or(0),
            file: file.to_string(),
        };
        let mut copy = self.base.renamed(name);
        copy.pipeline
            .iter_mut()
            .for_each(|s| s.copy = Some(of.clone()));
        copy.copy = Some(of);
        copy
    }

    /// The one environment a file without targets or copies makes (its `base`): for the tests
    /// of this crate and the crates above (feature `test-util`), whose files make one.
    ///
    /// # Panics
    /// For a file that makes several environments (targets, copies): its own settings are
    /// `base`, its environments [`LoadedFile::expand`]'s.
    #[cfg(any(test, feature = "test-util"))]
    pub fn into_only(self) -> Environment {
        assert!(
            self.targets.is_empty() && self.base.spec.copies.is_none(),
            "{} makes several environments, not one",
            self.base.source.display()
        );
        self.base
    }
}

/// One copy of a stack file with `copies` (`lab-07`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOf {
    /// Its number, from 1 (`7`).
    pub number: u32,
    /// The file's own environment name (`lab`).
    pub file: String,
}

impl Environment {
    /// Whether the bucket survives stack deletion (defaults: retained outside labs).
    pub fn retain_bucket(&self) -> bool {
        self.spec.bucket.retain.unwrap_or(!self.spec.lab)
    }

    /// Whether the stacks get termination protection (defaults: on outside labs).
    pub fn termination_protection(&self) -> bool {
        self.spec.termination_protection.unwrap_or(!self.spec.lab)
    }

    /// Whether this stage's queue holds jobs in their tenants' message groups, so that SQS's
    /// fair queues apply there: a standard queue whose own `queue.tenant` reads a message
    /// (`qfleet submit` sends in the group), or whose jobs come in groups from the stage
    /// before. An upload queue gets none from its rule (S3's event carries no group); a FIFO
    /// queue is not a fair queue.
    pub fn gets_groups(&self) -> bool {
        let own = self
            .spec
            .queue
            .tenant
            .as_ref()
            .is_some_and(|t| t.key_segment.is_none());
        let from_before = self.stage.as_ref().is_some_and(|s| s.tenants_in);
        !self.spec.queue.fifo && (own || from_before)
    }

    /// `queue.tenant` in a line, as `validate` and `plan` say it.
    pub fn tenant_line(&self) -> Option<String> {
        let next_by_messages = self.stage.as_ref().is_some_and(|s| s.next_queue.is_some());
        self.spec.queue.tenant.as_ref().map(|t| {
            t.line(
                self.spec.queue.fifo,
                next_by_messages,
                self.spec.jobs.is_some(),
            )
        })
    }

    /// `queue.priority` in a line, as `validate` and `plan` say it: the lane's queue, who takes
    /// its jobs first and how, and where a priority job goes on.
    pub fn priority_line(&self) -> Option<String> {
        let p = self.spec.queue.priority.as_ref()?;
        let (index, stage) = self
            .stage
            .as_ref()
            .map_or((0, ""), |s| (s.index, s.name.as_str()));
        let lane = priority_queue_name(self.resource_name(), index, stage, self.spec.queue.fifo);
        let order = match (self.spec.workers.kind, p.weight) {
            (WorkerKind::Lambda, _) => format!(
                "a mapping of its own runs its jobs, up to {} at once beside the ordinary lane's",
                p.max_concurrency
                    .unwrap_or(self.spec.workers.lambda.max_concurrency)
            ),
            (_, None) => "the workers take its jobs before any other".to_string(),
            (_, Some(n)) => format!(
                "the workers take its jobs first, at most {n} in a row while other jobs wait"
            ),
        };
        let on = match self
            .stage
            .as_ref()
            .and_then(|s| s.next_priority_queue.as_ref())
        {
            Some(next) => format!("; they go on to {next}"),
            None => String::new(),
        };
        let first = self.stage.as_ref().is_none_or(|s| s.index == 0);
        let way_in = match first || self.spec.sources.messages.is_some() {
            true => "qfleet submit --priority",
            false => "the stage before's priority jobs",
        };
        Some(format!(
            "priority lane {lane} ({way_in}): {order}{on} (queue.priority)"
        ))
    }

    /// Whether the environment has a dashboard: as set, else yes.
    pub fn dashboard(&self) -> bool {
        self.spec.dashboard.unwrap_or(true)
    }

    /// Whether the stack file deploys in express mode: as set, else in labs that are not
    /// protected (a protected environment is never deployed in express mode by default).
    pub fn express(&self) -> bool {
        self.spec
            .express
            .unwrap_or(self.spec.lab && !self.termination_protection())
    }

    /// The target-tracking target: the backlog (visible + in flight) each in-service worker
    /// may hold. Either given, or derived from the latency goal and the processing time with
    /// headroom for the p99 (`headroom.rs`): AWS's acceptable latency ÷ processing time
    /// parks the fleet where a message waits about the whole goal.
    pub fn backlog_target(&self) -> f64 {
        let s = &self.spec.scaling;
        match (
            s.target_backlog_per_instance,
            s.max_latency_seconds,
            s.seconds_per_message,
        ) {
            (Some(t), _, _) => t,
            (None, Some(latency), Some(per_message)) if per_message > 0.0 => headroom::target(
                latency,
                per_message,
                // A parked environment (max 0) keeps the target of one worker.
                self.spec.workers.max.max(1) as u64,
                s.expected_peak,
            ),
            _ => checks::DEFAULT_BACKLOG_TARGET,
        }
    }

    /// Whether the environment is parked: `workers.max: 0` (EC2, Fargate), no worker runs and
    /// the jobs wait in the queue (Copilot's `count: 0`).
    pub fn parked(&self) -> bool {
        self.spec.workers.kind != WorkerKind::Lambda && self.spec.workers.max == 0
    }

    /// What plan, deploy and status say of a parked environment, every time.
    pub fn parked_note(&self) -> Option<String> {
        self.parked().then(|| {
            format!(
                "parked: workers.max is 0, so no worker runs; jobs wait in the queue, for up to queue.message_retention ({}), until workers.max is raised",
                self.spec.queue.message_retention
            )
        })
    }

    /// This environment under another name (`name`), its stages' stacks named after it: an
    /// environment its file made before its `environment:` was renamed.
    pub fn renamed(&self, name: &str) -> Environment {
        let mut env = self.clone();
        env.pipeline = stages::rename(&self.pipeline, name);
        env.name = name.to_string();
        env.copy = None;
        env
    }

    /// Whether this is a target its stack file deploys through CloudFormation StackSets
    /// (`rollout.mode: stack_sets`): its stacks are the stack sets' instances.
    pub fn through_stack_sets(&self) -> bool {
        self.target.is_some() && self.spec.rollout.mode == schema::RolloutMode::StackSets
    }

    /// Whether qfleet deploys its stacks itself, under the names it gives them
    /// ([`Environment::stack_names`]) in the environment's account and region: every
    /// environment but a target the file deploys through another service (StackSets), whose
    /// stacks that service names and which only `crate::placement` of the root reaches.
    pub fn deployed_directly(&self) -> bool {
        !self.through_stack_sets()
    }

    /// The name its resources and stacks are named with: its name, but for one account of a
    /// target that stands for a whole AWS Organizations unit (`orders-eu@111122223333`, see
    /// `crate::placement::of_account` of the root) the target's (`orders-eu`): every account of the unit
    /// has the same template, keyed by region alone, while each account is an environment of
    /// its own to every command (its row, its outcome, its teardown).
    pub fn resource_name(&self) -> &str {
        self.target
            .as_ref()
            .map_or(self.name.as_str(), |t| t.environment.as_str())
    }

    /// Whether this is a target that stands for a whole AWS Organizations unit
    /// ([`targets::unit_wide`]) as the file names it, its accounts not yet found
    /// (once found, each is an environment of its own, `crate::placement::of_account` of the root).
    pub fn whole_unit(&self) -> bool {
        self.through_stack_sets()
            && targets::unit_wide(&self.spec)
            && self.target.as_ref().is_some_and(|t| t.account.is_none())
    }

    /// The stack set whose instance in this target's account and region is its stack `stack`
    /// (`qfleet-orders-data` for `qfleet-orders-eu-data`), for a target deployed through
    /// StackSets; `None` otherwise (the stack is deployed under its own name).
    pub fn stack_set_of(&self, stack: &str) -> Option<String> {
        if !self.through_stack_sets() {
            return None;
        }
        self.stack_set_names()
            .into_iter()
            .find_map(|(own, set)| (own == stack).then_some(set))
    }

    /// Each of the environment's stacks by qfleet's name ([`Environment::stack_names`]) with
    /// the stack set whose instance it is when its file deploys it through StackSets: named
    /// as the stack is, with the file's environment in the target's place
    /// (`qfleet-orders-eu-data` is an instance of `qfleet-orders-data`).
    pub fn stack_set_names(&self) -> Vec<(String, String)> {
        let file = self.file_environment();
        std::iter::once((self.data_stack_name(), data_stack(file)))
            .chain(
                self.stages()
                    .iter()
                    .map(|s| (s.fleet_stack_name(), fleet_stack(file, &s.stage_suffix()))),
            )
            .collect()
    }

    /// The kinds of the environment's workers, each once in the stages' order, joined with
    /// `+` (`ec2`, `ec2+lambda`).
    pub fn kinds(&self) -> String {
        let mut kinds: Vec<&str> = Vec::new();
        for stage in self.stages() {
            let k = stage.spec.workers.kind.as_str();
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        kinds.join("+")
    }

    /// The stack file's own environment name of a target or a copy (`orders` of `orders-eu`,
    /// `lab` of `lab-07`); the environment's name otherwise.
    pub fn file_environment(&self) -> &str {
        match (&self.target, &self.copy) {
            (Some(t), _) => t.file.name(),
            (None, Some(c)) => &c.file,
            (None, None) => &self.name,
        }
    }

    /// The environment's stacks by qfleet's names: the data stack's, then each stage's
    /// fleet's.
    pub fn stack_names(&self) -> Vec<String> {
        std::iter::once(self.data_stack_name())
            .chain(self.stages().iter().map(|s| s.fleet_stack_name()))
            .collect()
    }

    pub fn data_stack_name(&self) -> String {
        data_stack(self.resource_name())
    }

    /// The fleet stack of this environment, or of this stage of a pipeline
    /// (`qfleet-ENV--STAGE-fleet` for a later stage).
    pub fn fleet_stack_name(&self) -> String {
        fleet_stack(self.resource_name(), &self.stage_suffix())
    }

    /// This stage's fleet stack in the environment named `other` (the same pipeline deployed
    /// there: `promote_from` reads which image it runs).
    pub fn fleet_stack_name_in(&self, other: &str) -> String {
        fleet_stack(other, &self.stage_suffix())
    }

    /// The part a later stage of a pipeline adds to its resources' names (`--thumbs`).
    pub fn stage_suffix(&self) -> String {
        self.stage
            .as_ref()
            .map(stages::StageOf::suffix)
            .unwrap_or_default()
    }

    /// The stages of the environment: its pipeline's, or itself as the one stage.
    pub fn stages(&self) -> Vec<&Environment> {
        if self.pipeline.is_empty() {
            vec![self]
        } else {
            self.pipeline.iter().collect()
        }
    }

    /// The stage this environment stands for in a pipeline of several stages (a pipeline of
    /// one stage is a one-stage environment to every command and template).
    pub fn pipeline_stage(&self) -> Option<&stages::StageOf> {
        self.stage.as_ref().filter(|s| s.count > 1)
    }

    /// Whether the stack file declares a pipeline of several stages.
    pub fn is_pipeline(&self) -> bool {
        self.pipeline.len() > 1
    }
}

/// The data stack of the environment named `name`.
fn data_stack(name: &str) -> String {
    format!("qfleet-{name}-data")
}

/// The fleet stack of the environment named `name`, for the stage whose resources' names end
/// in `suffix` (none for the first).
fn fleet_stack(name: &str, suffix: &str) -> String {
    format!("qfleet-{name}{suffix}-fleet")
}

/// The names of `n` copies of environment `base`: `base-01` … `base-NN`, numbered with at
/// least two digits (`base-001` … `base-100` for 100).
pub fn copy_names(base: &str, n: u32) -> Vec<String> {
    let width = n.to_string().len().max(2);
    (1..=n).map(|i| format!("{base}-{i:0width$}")).collect()
}

/// Finds the stack file for `target`: a path to a file, or an environment name looked up in
/// `stacks_dir` as `NAME.yaml` (or `.yml`).
pub fn locate(target: &str, stacks_dir: &Path) -> Result<PathBuf> {
    let as_path = Path::new(target);
    let looks_like_path = target.contains('/')
        || target.contains(std::path::MAIN_SEPARATOR)
        || target.ends_with(".yaml")
        || target.ends_with(".yml");
    if looks_like_path {
        if as_path.is_file() {
            return Ok(as_path.to_path_buf());
        }
        if as_path.is_dir() {
            return Err(a_directory(target));
        }
        return Err(FileError::NoStackFile {
            target: target.to_string(),
            stacks_dir: stacks_dir.to_path_buf(),
        }
        .into());
    }
    for ext in ["yaml", "yml"] {
        let p = stacks_dir.join(format!("{target}.{ext}"));
        if p.is_file() {
            return Ok(p);
        }
        if p.is_dir() {
            return Err(a_directory(&p.display().to_string()));
        }
    }
    Err(FileError::UnknownEnvironment {
        name: target.to_string(),
        stacks_dir: stacks_dir.to_path_buf(),
        known: environment_names(stacks_dir),
    }
    .into())
}

/// The error for a directory where a stack file was expected.
fn a_directory(target: &str) -> Error {
    FileError::Directory {
        target: target.to_string(),
    }
    .into()
}

/// Names of the environments in `stacks_dir`, sorted.
pub fn environment_names(stacks_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(stacks_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            let ext = p.extension()?.to_str()?;
            if ext == "yaml" || ext == "yml" {
                Some(p.file_stem()?.to_str()?.to_string())
            } else {
                None
            }
        })
        .collect();
    names.sort();
    names
}

/// Reads, parses and validates a stack file.
pub fn load(path: &Path) -> Result<LoadedFile> {
    parse(path.to_path_buf(), read_text(path)?)
}

/// A stack file's text, read whole once its size is known to be a stack file's.
fn read_text(path: &Path) -> Result<String> {
    let cannot = |source: std::io::Error| FileError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    // The size first, so that a huge file is not read whole.
    let size = std::fs::metadata(path).map_err(cannot)?.len();
    if size > MAX_FILE_BYTES as u64 {
        return Err(too_large(path.to_path_buf(), size).into());
    }
    let bytes = std::fs::read(path).map_err(cannot)?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => Err(not_utf8(path.to_path_buf(), e).into()),
    }
}

/// The stack files one command reads: each read from disk once and parsed once, however many
/// of the command line's names (a file's, a copy's, a declared one, a glob) lead to it.
#[derive(Default)]
pub struct StackFiles {
    texts: std::cell::RefCell<BTreeMap<PathBuf, std::rc::Rc<String>>>,
    loaded: std::cell::RefCell<BTreeMap<PathBuf, LoadedFile>>,
    reading: Reading,
}

impl StackFiles {
    /// The stack files of a command that reads what `reading` says beside each.
    pub fn reading(reading: Reading) -> StackFiles {
        StackFiles {
            reading,
            ..StackFiles::default()
        }
    }

    fn key(path: &Path) -> PathBuf {
        path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
    }

    /// The file's text (read once).
    pub fn text(&self, path: &Path) -> Result<std::rc::Rc<String>> {
        let key = Self::key(path);
        if let Some(text) = self.texts.borrow().get(&key) {
            return Ok(text.clone());
        }
        let text = std::rc::Rc::new(read_text(path)?);
        self.texts.borrow_mut().insert(key, text.clone());
        Ok(text)
    }

    /// The file parsed and validated (once; an invalid file's errors are made again from its
    /// text, which is not read again).
    pub fn load(&self, path: &Path) -> Result<LoadedFile> {
        let key = Self::key(path);
        if let Some(file) = self.loaded.borrow().get(&key) {
            return Ok(file.clone());
        }
        let file = parse_reading(
            path.to_path_buf(),
            self.text(path)?.as_str().to_string(),
            self.reading,
        )?;
        self.loaded.borrow_mut().insert(key, file.clone());
        Ok(file)
    }
}

/// The error for a file larger than `MAX_FILE_BYTES`.
fn too_large(path: PathBuf, size: u64) -> InputError {
    let mut e = SourceFile::new(path, String::new()).error(
        "",
        format!(
            "the stack file is too large ({size} bytes); a stack file is at most 1 MiB ({MAX_FILE_BYTES} bytes), and a real one a few kilobytes"
        ),
    );
    e.allowed = Some(format!("a stack file of at most {MAX_FILE_BYTES} bytes"));
    e
}

/// The error for a file that is not UTF-8 text, at the first byte that is not.
fn not_utf8(path: PathBuf, e: std::string::FromUtf8Error) -> InputError {
    let bytes = e.as_bytes();
    let at = e.utf8_error().valid_up_to();
    let encoding = if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8"
    } else {
        "the file is not UTF-8 text; save it as UTF-8"
    };
    // Located in the valid text before the bad byte.
    let before = String::from_utf8_lossy(&bytes[..at]).into_owned();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let source = SourceFile::new(path, before);
    let offset = source.text.len();
    let mut e = source.error_at_line(
        "",
        line,
        column,
        offset,
        format!("byte {} (line {line}, column {column}): {encoding}", at + 1),
    );
    e.allowed = Some("UTF-8 text (a UTF-8 byte-order mark at the start is allowed)".into());
    e
}

/// What loading a stack file reads beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reading {
    /// The files its workers name: user data, a function's code, and each image build's
    /// context (to know the image's tag).
    #[default]
    All,
    /// All but the build contexts, which may be large: for a command that neither builds nor
    /// renders a template (`jobs`, `logs`, `dlq`, `submit`, `teardown`, …). The builds are
    /// known, their tags are not ([`crate::package::image::ImageBuild::unread`]).
    NoBuildContexts,
}

/// Parses and validates stack file text (the path is used for messages and relative files).
pub fn parse(path: PathBuf, text: String) -> Result<LoadedFile> {
    parse_reading(path, text, Reading::All)
}

/// [`parse`], reading what `reading` says beside the file.
pub fn parse_reading(path: PathBuf, text: String, reading: Reading) -> Result<LoadedFile> {
    if text.len() > MAX_FILE_BYTES {
        return Err(too_large(path, text.len() as u64).into());
    }
    // A UTF-8 byte-order mark (which some Windows editors write) is not part of the YAML.
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    let source = SourceFile::new(path, text);
    if let Some((pos, top)) = source.locations.too_deep() {
        let mut e = source.error_at_line(
            top,
            pos.line,
            pos.column,
            pos.offset,
            format!(
                "values are nested more than {MAX_DEPTH} levels deep here (line {}); a stack file's deepest setting is 9 levels down",
                pos.line
            ),
        );
        e.allowed = Some(format!(
            "at most {MAX_DEPTH} levels of mappings and lists inside one another"
        ));
        return Err(Error::Input(vec![e]));
    }
    let blank = source
        .text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---");
    if blank {
        return Err(source
            .error("", "the stack file is empty; it needs at least `region`")
            .into());
    }
    // First the YAML, then every unknown key and wrong type at once, then the types.
    let doc = syntax::read(&source).map_err(|e| Error::Input(vec![*e]))?;
    let mut problems: Vec<InputError> = walk::walk(&doc, &source.locations)
        .into_iter()
        .map(|p| source.problem(p))
        .collect();
    if !problems.is_empty() {
        sort(&mut problems);
        return Err(Error::Input(problems));
    }
    let de = serde_yaml_ng::Deserializer::from_str(&source.text);
    let spec: StackFile = match serde_path_to_error::deserialize(de) {
        Ok(spec) => spec,
        Err(e) => return Err(syntax::error(&source, e).into()),
    };
    let name = match &spec.environment {
        Some(n) => n.clone(),
        None => source
            .path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string(),
    };
    let mut base = Environment {
        name,
        spec,
        source,
        user_data: None,
        function_code: None,
        image_build: None,
        stage: None,
        pipeline: Vec::new(),
        target: None,
        copy: None,
    };
    base.pipeline = stages::derive(&base);
    let mut file = LoadedFile {
        base,
        targets: Vec::new(),
    };
    // With targets, the file's settings are checked as each target has them (in its region,
    // with its own settings); the file itself is deployed nowhere.
    let mut errors = if file.base.spec.targets.is_empty() {
        let mut errors = checks::check(&file.base);
        errors.extend(targets::check_rollout(&file.base));
        errors
    } else {
        let (targets, errors) = targets::derive(&file.base);
        file.targets = targets;
        errors
    };
    if errors.is_empty() {
        if file.targets.is_empty() {
            read_files(&mut file.base, &mut errors, reading);
        } else {
            for target in &mut file.targets {
                read_files(target, &mut errors, reading);
            }
            errors.extend(targets::check_uploads(&file));
        }
    }
    if errors.is_empty() {
        targets::loaded(&file);
    }
    if errors.is_empty() {
        Ok(file)
    } else {
        sort(&mut errors);
        Err(Error::Input(errors))
    }
}

/// Problems in the order of the files and lines they are on (stable: two at one place keep
/// the order the checks found them in).
pub fn sort(errors: &mut [InputError]) {
    errors.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
}

/// Reads the files the environment's workers name, stage by stage.
fn read_files(env: &mut Environment, errors: &mut Vec<InputError>, reading: Reading) {
    if env.pipeline.is_empty() {
        read_stage_files(env, errors, reading);
    } else {
        for stage in &mut env.pipeline {
            read_stage_files(stage, errors, reading);
        }
        errors.extend(image::shared_builds(&env.pipeline));
    }
}

/// Reads the files a stage's workers name: its user data script, or its function's code.
fn read_stage_files(env: &mut Environment, errors: &mut Vec<InputError>, reading: Reading) {
    match read_user_data(env) {
        Ok(data) => env.user_data = data,
        Err(e) => errors.push(*e),
    }
    match image::read_build(env, reading == Reading::All) {
        Ok(b) => env.image_build = b,
        Err(e) => errors.push(*e),
    }
    // A container image function has no code of qfleet's to read or package.
    if env.spec.workers.kind == schema::WorkerKind::Lambda
        && env.spec.workers.lambda.image.is_none()
    {
        let l = &env.spec.workers.lambda;
        let settings = crate::package::CodeSettings {
            base: env.source.path.parent().unwrap_or(Path::new(".")),
            code: l.code.as_deref(),
            handler: &l.handler,
            runtime: &l.runtime,
        };
        match crate::package::read_code(settings) {
            Ok(c) => env.function_code = Some(c),
            Err(e) => errors.push(env.source.error(e.field, e.message)),
        }
    }
}

fn read_user_data(env: &Environment) -> std::result::Result<Option<String>, Box<InputError>> {
    let Some(rel) = &env.spec.workers.user_data else {
        return Ok(None);
    };
    let base = env.source.path.parent().unwrap_or(Path::new("."));
    let path = base.join(rel);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Box::new(env.source.error(
            "workers.user_data",
            format!("cannot read {}: {e}", path.display()),
        ))
    })?;
    if !text.starts_with("#!") {
        return Err(Box::new(env.source.error(
            "workers.user_data",
            format!(
                "{} must be a script starting with a #! line (e.g. #!/bin/bash)",
                path.display()
            ),
        )));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests;
