//! Deployment targets (`targets` in the stack file): one stack file, many accounts and regions.
//! Each target is an environment of its own, `NAME-TARGET`, in its account and region, with the
//! settings that differ there (the KMS key, the workers' size, instance types, AMI, image and
//! network). Like a copy (`copies`), every command addresses it by that name, and the file's
//! name stands for all of them; unlike a copy, its credentials are its own: qfleet assumes the
//! target's role (`deploy_role`, or the target's `role`) and refuses credentials of any other
//! account (the target's `account` is its account guard).
//!
//! The role's trust: <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_aws-accounts.html>
//! (docs/targets.md shows it).
//!
//! Every target is validated as the environment it is (so the checks that depend on the region,
//! such as a KMS key's or an ECR image's, are made in the target's region); an error about a
//! setting the target sets is located at the target's line, any other error says which targets
//! it concerns.

use super::schema::{TargetSpec, TargetWorkers, WorkersSpec};
use super::{Environment, LoadedFile, checks, regions, stages};
use crate::config::InputError;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The most targets a stack file lists: each is deployed, watched and torn down as an
/// environment, and one run of fifty targets is better served by several files.
const MAX_TARGETS: usize = 20;

/// Longest target name: `ENV-TARGET` must stay a valid environment name (24 characters).
const MAX_TARGET_NAME_LEN: usize = 8;

/// Where a target environment is deployed, beyond its region (which is its `spec.region`), and
/// the stack file it came from.
#[derive(Debug, Clone)]
pub struct Target {
    /// The target's name (`eu` of `orders-eu`).
    pub name: String,
    /// The target's environment (`orders-eu`): the name its stacks and resources have, also
    /// for one account of a whole unit (whose environment is `orders-eu@111122223333`).
    pub(super) environment: String,
    /// Its position in the file's `targets` (for its errors).
    pub index: usize,
    /// The account it must be deployed in, when the file says (the account guard there).
    pub account: Option<String>,
    /// The role qfleet assumes to act there (an ARN), when the file names one.
    pub role_arn: Option<String>,
    /// The wave it is deployed in (`wave`, 1 first).
    pub wave: u32,
    /// Whether the target sets its own `kms_key` (else it has the file's).
    own_kms_key: bool,
    /// The AWS Organizations unit its account is in (service-managed StackSets).
    pub organizational_unit: Option<String>,
    /// The stack file it came from, loaded once.
    pub file: Arc<TargetFile>,
}

/// The stack file of targets, loaded once and shared by every environment made of it: each
/// of its targets, their stages, and each account of a whole unit. A command that needs the
/// file (its stack sets, its other targets) reads it here, never from disk again. It is the
/// [`LoadedFile`] the load made, shared: its `base` is the file's, and its targets are the
/// file's once loaded whole.
///
/// The file holds its targets and each target holds the file: a cycle of a few values a
/// command loads once, freed when the process ends.
pub struct TargetFile {
    /// The file's own settings ([`LoadedFile::base`], `orders`): its `region` (where its stack
    /// sets are), `rollout`, `owner` and `tags`.
    pub base: Environment,
    /// Every target of the file, once loaded whole (their files read).
    targets: std::sync::OnceLock<Vec<Environment>>,
}

impl std::fmt::Debug for TargetFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the targets: each of them holds this file.
        f.debug_struct("TargetFile")
            .field("name", &self.base.name)
            .field("path", &self.base.source.path)
            .finish_non_exhaustive()
    }
}

impl TargetFile {
    /// The file whose own settings are `base` ([`LoadedFile::base`]), its targets still to be
    /// recorded ([`loaded`]).
    fn new(base: &Environment) -> Arc<TargetFile> {
        Arc::new(TargetFile {
            base: base.clone(),
            targets: std::sync::OnceLock::new(),
        })
    }

    /// The file's environment name (`orders`).
    pub fn name(&self) -> &str {
        &self.base.name
    }

    /// Every target of the file, in the file's order.
    pub fn targets(&self) -> &[Environment] {
        self.targets.get().map_or(&[], Vec::as_slice)
    }

    /// How many waves the file's targets make.
    pub fn waves(&self) -> u32 {
        self.targets()
            .iter()
            .filter_map(|e| e.target.as_ref().map(|t| t.wave))
            .collect::<std::collections::BTreeSet<u32>>()
            .len() as u32
    }

    /// The accounts the file's targets name (a target's account, or its role's), each once,
    /// sorted.
    fn accounts(&self) -> Vec<String> {
        let mut accounts: Vec<String> = self
            .targets()
            .iter()
            .filter_map(|e| e.target.as_ref()?.account.clone())
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        accounts
    }
}

/// Records the file's targets, loaded whole, in the [`TargetFile`] they share: from then on
/// it holds what `file` holds.
pub(super) fn loaded(file: &LoadedFile) {
    if let Some(t) = file.targets.first().and_then(|e| e.target.as_ref()) {
        // Set once, by the load that derived them.
        let _ = t.file.targets.set(file.targets.clone());
    }
}

/// The stack set of a target's stack (`rollout.mode: stack_sets`): `qfleet-orders-eu1-data`
/// of `orders-eu1` is `qfleet-orders-data` of the file `orders`.
pub fn stack_set_name(file_env: &str, env: &str, stack: &str) -> String {
    match stack.strip_prefix(&format!("qfleet-{env}-")) {
        Some(rest) => format!("qfleet-{file_env}-{rest}"),
        None => stack.to_string(),
    }
}

/// Whether the file's targets each stand for a whole AWS Organizations unit
/// (`rollout.auto_deployment` with service-managed StackSets): their accounts are found when a
/// command runs ([`of_account`]), and StackSets deploys to the accounts that join a unit
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_AutoDeployment.html>).
pub fn unit_wide(spec: &super::schema::StackFile) -> bool {
    use super::schema::{PermissionModel, RolloutMode};
    let r = &spec.rollout;
    r.auto_deployment
        && r.mode == RolloutMode::StackSets
        && r.permission_model == PermissionModel::ServiceManaged
}

/// The ARN of the role named `role` (`deploy_role`) in `account` (an account id, or a stand-in
/// such as `*` or `ACCOUNT` for every account of a whole unit), in `region`'s partition.
pub fn role_in(role: &str, region: &str, account: &str) -> String {
    let partition = regions::partition(region).unwrap_or("aws");
    format!("arn:{partition}:iam::{account}:role/{role}")
}

/// The account that holds a StackSets file's stack sets, when the file says:
/// `rollout.administration_account`, else the account of `rollout.administration_role`
/// (the administration role is in the administrator account,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html>).
/// Validation makes both agree.
pub fn administration_account(env: &Environment) -> Option<String> {
    let r = &env.spec.rollout;
    r.administration_account.clone().or_else(|| {
        let arn = r.administration_role.as_deref()?;
        role_account(arn, regions::partition(&env.spec.region).unwrap_or("aws")).ok()
    })
}

/// The most waves a rollout has.
const MAX_WAVES: i64 = 10;

/// How long the slowest of an environment's alarms (its data stack's) needs, at the most, to
/// fire after a deploy, and which alarm that is. CloudWatch sets an alarm to ALARM once
/// `DatapointsToAlarm` of its last `EvaluationPeriods` periods breach
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html>);
/// every period of qfleet's alarms is 60 s. So:
/// - the dead-letter alarm (1 of 1): a job that fails every time is moved to the dead-letter
///   queue once it has been received `queue.max_receive_count` times
///   (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html>),
///   each receive ending with the visibility timeout: `max_receive_count x visibility_timeout`,
///   then one period;
/// - the oldest-message alarm (3 of 5): the oldest job becomes older than its threshold, then
///   three periods; the latency-goal alarm (5 of 5) likewise with the goal and five;
/// - a worker function's errors and throttles (3 of 5): three periods.
///
/// The largest over every stage of a pipeline, plus [`ALARM_DELAY_SECONDS`].
fn alarm_window(env: &Environment) -> (u64, String) {
    use super::schema::WorkerKind;
    let mut worst = (0, String::new());
    for stage in env.stages() {
        let (q, spec) = (&stage.spec.queue, &stage.spec);
        let of = match &stage.stage {
            Some(s) if env.is_pipeline() => format!("stage {}'s ", s.name),
            _ => String::new(),
        };
        let receives = u64::try_from(q.max_receive_count).unwrap_or(0);
        let mut each = vec![
            (
                receives.saturating_mul(q.visibility_timeout.0) + 60,
                format!(
                    "{of}dead-letter alarm (queue.max_receive_count {receives} x queue.visibility_timeout {}, then one 1-minute period)",
                    q.visibility_timeout
                ),
            ),
            (
                q.oldest_message_alarm.0 + 3 * 60,
                format!(
                    "{of}oldest-message alarm (queue.oldest_message_alarm {}, then 3 one-minute periods)",
                    q.oldest_message_alarm
                ),
            ),
        ];
        if let Some(goal) = spec.scaling.max_latency_seconds {
            each.push((
                (goal.ceil() as u64).saturating_add(5 * 60),
                format!(
                    "{of}latency-goal alarm (scaling.max_latency_seconds {goal}, then 5 one-minute periods)"
                ),
            ));
        }
        if spec.workers.kind == WorkerKind::Lambda {
            each.push((
                3 * 60,
                format!("{of}function alarms (3 one-minute periods)"),
            ));
        }
        for (secs, what) in each {
            let secs = secs + ALARM_DELAY_SECONDS;
            if secs > worst.0 {
                worst = (secs, what);
            }
        }
    }
    worst
}

/// What a bake adds to an alarm's periods: a minute's data point is judged only once the
/// minute is over and SQS has published it ("at one-minute intervals",
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/monitoring-using-cloudwatch.html>),
/// and a worker must receive a message once more before SQS moves it to the dead-letter
/// queue. AWS documents no number for these delays: three more periods are assumed.
const ALARM_DELAY_SECONDS: u64 = 3 * 60;

/// How long a wave of this environment is baked: `rollout.bake`, else its [`alarm_window`]
/// (at most [`MAX_BAKE_SECONDS`]).
pub fn bake(env: &Environment) -> u64 {
    env.spec
        .rollout
        .bake
        .map_or_else(|| alarm_window(env).0.min(MAX_BAKE_SECONDS), |b| b.0)
}

/// The longest bake.
const MAX_BAKE_SECONDS: u64 = 86_400;

/// The settings of targets that are wrong whatever the targets: a bake too long, a rollout
/// or a `deploy_role` without targets, an empty `targets`.
pub(super) fn check_rollout(env: &Environment) -> Vec<InputError> {
    let spec = &env.spec;
    let src = &env.source;
    let mut errors = Vec::new();
    if src.sets("targets") && spec.targets.is_empty() {
        errors.push(src.key_error(
            "targets",
            "an empty list: list the targets (each a name, and its account, region or role), or remove targets to deploy the file as one environment",
        ));
    }
    if src.sets("deploy_role") && spec.targets.is_empty() {
        errors.push(src.key_error(
            "deploy_role",
            "deploy_role names the role qfleet assumes in each target's account: without targets there is none; remove it (the credentials qfleet runs with act here), or pass --role-arn",
        ));
    }
    if src.sets("rollout") && spec.targets.is_empty() {
        errors.push(src.key_error(
            "rollout",
            "rollout is how a deploy goes on from one wave of targets to the next: without targets there is no wave",
        ));
    }
    if let Some(bake) = spec.rollout.bake.filter(|b| b.0 > MAX_BAKE_SECONDS) {
        errors.push(src.error(
            "rollout.bake",
            format!("{} is longer than 24h", super::duration::say(bake.0)),
        ));
    }
    errors
}

/// The most accounts a StackSets operation deploys to at once, and the most that may fail
/// (`MaxConcurrentCount`, `FailureToleranceCount`: "at most one more than the failure tolerance"
/// in the default strict mode,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html>).
const MAX_CONCURRENT_ACCOUNTS: i64 = 100;

/// What `rollout.mode: stack_sets` needs of the file and its targets: an account for each
/// target (StackSets creates an instance in the accounts and regions a call names), one target
/// per account and region (a stack set has one instance there,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-concepts.html>),
/// no function code to upload (a stack set's template is one for every account and region,
/// and qfleet uploads code to one account's bucket), and operation preferences AWS accepts.
/// The StackSets settings without the mode are errors.
fn check_stack_sets(env: &Environment, envs: &[Environment]) -> Vec<InputError> {
    use super::schema::RolloutMode;
    let (spec, src) = (&env.spec, &env.source);
    let r = &spec.rollout;
    let mut errors = Vec::new();
    if r.mode != RolloutMode::StackSets {
        for key in [
            "permission_model",
            "call_as",
            "administration_account",
            "administration_role",
            "execution_role",
            "max_concurrent_accounts",
            "failure_tolerance",
            "regions_in_parallel",
            "auto_deployment",
        ] {
            let field = format!("rollout.{key}");
            if src.sets(&field) {
                errors.push(src.key_error(
                    &field,
                    format!("{field} is a setting of CloudFormation StackSets: it needs rollout.mode: stack_sets"),
                ));
            }
        }
        errors.extend(organizational_units(env, false));
        return errors;
    }
    errors.extend(stack_sets_permissions(env));
    errors.extend(stack_sets_roles(env));
    errors.extend(stack_sets_preferences(env));
    errors.extend(default_networks(env, envs));
    errors.extend(stack_sets_places(env, envs));
    errors
}

/// The permission model's settings: service-managed permissions take no roles and need the
/// account qfleet acts from; automatic deployment needs them, `deploy_role`, and no
/// `accounts`.
fn stack_sets_permissions(env: &Environment) -> Vec<InputError> {
    use super::schema::PermissionModel;
    let (spec, src) = (&env.spec, &env.source);
    let r = &spec.rollout;
    let mut errors = Vec::new();
    let service_managed = r.permission_model == PermissionModel::ServiceManaged;
    if service_managed {
        for key in ["administration_role", "execution_role"] {
            let field = format!("rollout.{key}");
            if src.sets(&field) {
                errors.push(src.key_error(
                    &field,
                    format!("{field} is a role of self-managed permissions: with permission_model: service_managed, AWS Organizations' trusted access gives StackSets its roles; remove it"),
                ));
            }
        }
    }
    if r.auto_deployment && !service_managed {
        errors.push(src.key_error(
            "rollout.auto_deployment",
            "automatic deployment is StackSets' for AWS Organizations units: it needs rollout.permission_model: service_managed",
        ));
    }
    let units = unit_wide(spec);
    if units && spec.deploy_role.is_none() {
        errors.push(src.key_error(
            "rollout.auto_deployment",
            "with auto_deployment, qfleet reads, protects, bakes and tears down each account of a unit as a role there: set deploy_role (the role's name, the same in every account of the unit)",
        ));
    }
    if units && src.sets("accounts") {
        errors.push(src.key_error(
            "accounts",
            "with rollout.auto_deployment, the targets' accounts are their units' (found when a command runs, and joined by StackSets): the file cannot list them; remove accounts (rollout.administration_account guards the credentials)",
        ));
    }
    // The account qfleet acts from, required: it is the guard of every command, and with
    // the management account the one account StackSets never deploys to.
    if service_managed && r.administration_account.is_none() {
        errors.push(src.key_error(
            "rollout.administration_account",
            "with permission_model: service_managed, name the account qfleet acts on the stack sets from: the organization's management account (or with call_as: delegated_admin, the delegated administrator account); every command refuses credentials of another",
        ));
    }
    if !service_managed && src.sets("rollout.call_as") {
        errors.push(src.key_error(
            "rollout.call_as",
            "call_as says as whom qfleet acts on service-managed stack sets: it needs rollout.permission_model: service_managed",
        ));
    }
    errors.extend(organizational_units(env, service_managed));
    errors
}

/// The administration account and the roles, as AWS names them.
fn stack_sets_roles(env: &Environment) -> Vec<InputError> {
    let (spec, src) = (&env.spec, &env.source);
    let r = &spec.rollout;
    let mut errors = Vec::new();
    if let Some(account) = r
        .administration_account
        .as_ref()
        .filter(|a| !valid_account(a))
    {
        errors.push(src.error(
            "rollout.administration_account",
            format!("`{account}` is not a 12-digit AWS account id"),
        ));
    }
    if let Some(arn) = &r.administration_role {
        let partition = regions::partition(&spec.region).unwrap_or("aws");
        match role_account(arn, partition) {
            Err(why) => errors.push(src.error("rollout.administration_role", why)),
            Ok(of_role) => {
                if let Some(declared) = r.administration_account.as_ref().filter(|a| **a != of_role)
                {
                    errors.push(src.error(
                        "rollout.administration_role",
                        format!(
                            "`{arn}` is a role of account {of_role}, and rollout.administration_account is {declared}: the administration role is in the account that holds the stack sets"
                        ),
                    ));
                }
            }
        }
    }
    if let Some(name) = r.execution_role.as_ref().filter(|n| !valid_role_name(n)) {
        errors.push(src.error(
            "rollout.execution_role",
            format!("`{name}` is not an IAM role name (1 to 64 letters, digits and + = , . @ _ -)"),
        ));
    }
    errors
}

/// The operation preferences AWS accepts.
fn stack_sets_preferences(env: &Environment) -> Vec<InputError> {
    let src = &env.source;
    let r = &env.spec.rollout;
    let mut errors = Vec::new();
    let tolerance = r.failure_tolerance.unwrap_or(0);
    if !(0..MAX_CONCURRENT_ACCOUNTS).contains(&tolerance) {
        errors.push(src.error(
            "rollout.failure_tolerance",
            format!("{tolerance} is not a whole number from 0 to 99"),
        ));
    }
    let concurrent = r.max_concurrent_accounts.unwrap_or(1);
    if !(1..=MAX_CONCURRENT_ACCOUNTS).contains(&concurrent) {
        errors.push(src.error(
            "rollout.max_concurrent_accounts",
            format!("{concurrent} is not a whole number from 1 to 100"),
        ));
    } else if concurrent > tolerance + 1 {
        errors.push(src.error(
            "rollout.max_concurrent_accounts",
            format!(
                "{concurrent} accounts at once with rollout.failure_tolerance {tolerance}: StackSets deploys to at most one account more than the failure tolerance at once; lower it to {} or raise failure_tolerance",
                tolerance + 1
            ),
        ));
    }
    errors
}

/// Each target's place: an account and a region of its own (a stack set has one instance
/// there), or with automatic deployment, a unit and a region of its own.
fn stack_sets_places(env: &Environment, envs: &[Environment]) -> Vec<InputError> {
    let (spec, src) = (&env.spec, &env.source);
    let (r, units) = (&spec.rollout, unit_wide(spec));
    let mut errors = Vec::new();
    let mut places: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut regions_of_units: BTreeMap<String, usize> = BTreeMap::new();
    for (i, t) in spec.targets.iter().enumerate() {
        let at = |field: &str| format!("targets.{i}.{field}");
        let Some(target_env) = envs
            .iter()
            .find(|e| e.target.as_ref().is_some_and(|x| x.index == i))
        else {
            continue;
        };
        if units {
            if t.account.is_some() {
                errors.push(src.key_error(
                    &at("account"),
                    format!(
                        "with rollout.auto_deployment, target `{}` stands for every account of its organizational_unit: remove account (or turn auto_deployment off to deploy to the accounts the targets name)",
                        t.name
                    ),
                ));
            }
            if t.role.is_some() {
                errors.push(src.key_error(
                    &at("role"),
                    format!(
                        "a role names one account, and target `{}` stands for every account of its unit: remove it (deploy_role is assumed in each)",
                        t.name
                    ),
                ));
            }
            let region = target_env.spec.region.clone();
            if let Some(first) = regions_of_units.insert(region.clone(), i) {
                errors.push(src.error(
                    &at("region"),
                    format!(
                        "targets.{first} is in {region} too: with rollout.auto_deployment a stack set's template is keyed by region alone (a unit's accounts are not known when it is rendered), so one target per region"
                    ),
                ));
            }
            continue;
        }
        let Some(account) = t.account.clone() else {
            // Said at rollout.auto_deployment, which needs service-managed permissions.
            if r.auto_deployment {
                continue;
            }
            errors.push(src.key_error(
                &at("account"),
                format!(
                    "target `{}` has no account: with rollout.mode: stack_sets, StackSets creates each instance in an account qfleet names",
                    t.name
                ),
            ));
            continue;
        };
        // Every command but the StackSets calls acts in the target's own account (its stacks,
        // alarms, termination protection, teardown's checks): from another account, only as a
        // role there.
        if let Some(admin) = administration_account(env)
            && account != admin
            && target_env
                .target
                .as_ref()
                .is_some_and(|x| x.role_arn.is_none())
        {
            errors.push(src.key_error(
                &at("role"),
                format!(
                    "target `{}` is in account {account}, and qfleet acts on the stack sets from {admin}: it reads and protects the target's stacks in {account} (status, the bake, termination protection, teardown) as a role there; set deploy_role, or the target's role",
                    t.name
                ),
            ));
        }
        let region = target_env.spec.region.clone();
        if let Some(first) = places.insert((account.clone(), region.clone()), i) {
            errors.push(src.error(
                &at("region"),
                format!(
                    "targets.{first} is in account {account} and {region} too: a stack set has one instance per account and region; use mode: direct, or a stack file per target there"
                ),
            ));
        }
    }
    errors
}

/// Once the workers' files are read: a StackSets file whose function's code is a package to
/// upload (a directory with files beside the handler, or requirements) is refused, once, at
/// `rollout.mode`: qfleet uploads a package to one account's bucket, and a stack set's template
/// is one for every account and region (one that joins a unit later too). A handler of one
/// file is carried in the template itself (`ZipFile`), and a container image is an image.
pub(super) fn check_uploads(file: &LoadedFile) -> Vec<InputError> {
    let uploads = |e: &Environment| {
        e.function_code
            .as_ref()
            .is_some_and(|c| c.package.is_some())
    };
    let builds = |e: &Environment| e.image_build.is_some();
    let stack_sets = file.base.spec.rollout.mode == super::schema::RolloutMode::StackSets;
    let any = |f: &dyn Fn(&Environment) -> bool| {
        stack_sets
            && file
                .targets
                .iter()
                .any(|t| f(t) || t.pipeline.iter().any(f))
    };
    let mut errors = Vec::new();
    if any(&uploads) {
        errors.push(file.base.source.error(
            "rollout.mode",
            "stack_sets cannot deploy a function's code package (a directory with files beside the handler, or requirements): qfleet uploads it to one account's bucket, and a stack set's template is one for every account and region; keep the handler in one file (carried in the template), give the function a container image (workers.lambda.image), or use mode: direct",
        ));
    }
    // The same for an image qfleet builds: it would push to one account's repository.
    if any(&builds) {
        errors.push(file.base.source.error(
            "rollout.mode",
            "stack_sets cannot deploy an image qfleet builds (….image.build): qfleet pushes it to one account's repository, and a stack set's template is one for every account and region; name an image every target can pull (a reference, replicated by ECR), or use mode: direct",
        ));
    }
    errors
}

/// A StackSets target whose workers run in a network (instances, tasks) names that network:
/// its VPC and subnets are values of the stack set's template, looked up by the instance's
/// account and region (a stack set takes one value per parameter for every instance an
/// operation names,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html>),
/// and `network: default` is the default VPC found in the target's account at a direct deploy,
/// which a stack set's template cannot hold. One error per setting that would name it (a
/// stage's, a target's, else the file's), naming the targets it concerns.
fn default_networks(file: &Environment, envs: &[Environment]) -> Vec<InputError> {
    use super::schema::{Network, WorkerKind};
    let src = &file.source;
    // A file with `stages` (one or more) places each stage in its own network: its targets
    // cannot set workers, and every target's stage is in the stage's network (a VPC shared
    // with their accounts, through AWS RAM).
    let staged = !file.spec.stages.is_empty();
    // Each setting, who runs there, and the targets.
    let mut found: Vec<(String, String, Vec<String>)> = Vec::new();
    for target_env in envs {
        let Some(t) = target_env.target.as_ref() else {
            continue;
        };
        let i = t.index;
        for s in target_env.stages() {
            let w = &s.spec.workers;
            if w.kind == WorkerKind::Lambda || w.network != Network::Default {
                continue;
            }
            let (field, whose) = match &s.stage {
                Some(st) if staged => (
                    format!("stages.{}.workers.network", st.index),
                    format!("stage {}'s workers", st.name),
                ),
                _ if src.sets(&format!("targets.{i}.workers.network")) => {
                    (format!("targets.{i}.workers.network"), "its workers".into())
                }
                _ if src.sets("workers.network") => {
                    ("workers.network".into(), "its workers".into())
                }
                _ => (format!("targets.{i}"), "its workers".into()),
            };
            match found.iter_mut().find(|(f, _, _)| *f == field) {
                Some((_, _, names)) => names.push(t.name.clone()),
                None => found.push((field, whose, vec![t.name.clone()])),
            }
        }
    }
    let why = "the stack set's template holds every target's VPC and subnets, and a default VPC is found only in its own account by a direct deploy";
    found
        .into_iter()
        .map(|(field, whose, names)| {
            let who = match names.as_slice() {
                [one] => format!("target `{one}` runs"),
                many => format!("targets {} run", many.join(", ")),
            };
            let head = format!("{who} {whose} in the default VPC (network: default)");
            let set = "to {vpc: vpc-…, subnets: {<zone>: subnet-…}}";
            let message = if staged {
                format!(
                    "{head}: with rollout.mode: stack_sets, set {field} {set} (a pipeline's targets share their stages' networks: a VPC shared with every target's account), since {why}"
                )
            } else if field == "workers.network" {
                format!(
                    "{head}: with rollout.mode: stack_sets, set each target's targets.N.workers.network {set}, since {why}"
                )
            } else {
                let at = field.strip_suffix(".workers.network").unwrap_or(&field);
                format!(
                    "{head}: with rollout.mode: stack_sets, set {at}.workers.network {set} (or workers.network for every target), since {why}"
                )
            };
            match src.sets(&field) {
                true => src.error(&field, message),
                false => src.key_error(&field, message),
            }
        })
        .collect()
}

/// The targets' `organizational_unit`: required of each with service-managed StackSets (the
/// unit its account is in: StackSets names accounts within units,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html>),
/// an id AWS takes, never the organization's management account (StackSets "doesn't deploy
/// stack instances to the organization management account", the same page), and an error
/// anywhere else.
fn organizational_units(env: &Environment, service_managed: bool) -> Vec<InputError> {
    let src = &env.source;
    let admin = administration_account(env);
    let mut errors = Vec::new();
    // An account is in one unit: its targets (one per region) name the same.
    let mut unit_of: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for (i, t) in env.spec.targets.iter().enumerate() {
        let (Some(account), Some(unit), true) =
            (&t.account, &t.organizational_unit, service_managed)
        else {
            continue;
        };
        let &mut (first, other) = unit_of.entry(account).or_insert((i, unit));
        if other != unit {
            errors.push(src.error(
                &format!("targets.{i}.organizational_unit"),
                format!(
                    "targets.{first} names {other} for account {account}: an account is in one AWS Organizations unit; name the same for every target in it"
                ),
            ));
        }
    }
    for (i, t) in env.spec.targets.iter().enumerate() {
        let field = format!("targets.{i}.organizational_unit");
        match (&t.organizational_unit, service_managed) {
            (None, true) => errors.push(src.key_error(
                &field,
                format!(
                    "target `{}` has no organizational_unit: with permission_model: service_managed, StackSets deploys to an account within the AWS Organizations unit it is in; name that unit (ou-…, or the root r-…)",
                    t.name
                ),
            )),
            (Some(_), false) => errors.push(src.key_error(
                &field,
                "organizational_unit is where a target's account is in AWS Organizations: it needs rollout.mode: stack_sets with rollout.permission_model: service_managed",
            )),
            (Some(ou), true) if !valid_organizational_unit(ou) => errors.push(src.error(
                &field,
                format!(
                    "`{ou}` is not an AWS Organizations unit id (ou- then 4 to 32 lowercase letters or digits, -, 8 to 32 more; or the root r- then 4 to 32)"
                ),
            )),
            _ => {}
        }
        // The account qfleet acts from is the management account unless it is a delegated
        // administrator (a member account, where StackSets deploys as anywhere else).
        if service_managed
            && env.spec.rollout.call_as == super::schema::CallAs::SelfAccount
            && let (Some(account), Some(admin)) = (&t.account, &admin)
            && account == admin
        {
            errors.push(src.error(
                &format!("targets.{i}.account"),
                format!(
                    "{account} is the account that holds the stack sets (rollout.administration_account), the organization's management account with service-managed permissions: StackSets does not deploy instances there; deploy it with another stack file in mode: direct"
                ),
            ));
        }
    }
    errors
}

/// An AWS Organizations unit or root id, as the API's pattern says
/// (`^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$`,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html>).
fn valid_organizational_unit(id: &str) -> bool {
    let part = |s: &str, min: usize| {
        (min..=32).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    if let Some(rest) = id.strip_prefix("ou-") {
        return rest
            .split_once('-')
            .is_some_and(|(root, unit)| part(root, 4) && part(unit, 8));
    }
    id.strip_prefix("r-").is_some_and(|root| part(root, 4))
}

/// A rollout's bake too short for the environment's alarms to fire (a warning: a short bake
/// is allowed, for a development account), or a default bake cut to 24h.
pub(super) fn rollout_warning(env: &Environment) -> Option<String> {
    let waves = env.target.as_ref().map_or(0, |t| t.file.waves());
    if waves == 1 && env.spec.rollout.bake.is_some() {
        return Some(
            "rollout.bake: every target is in wave 1, so nothing is baked: give the targets after the canary a later wave (targets.N.wave)".to_string(),
        );
    }
    if waves < 2 {
        return None;
    }
    let (window, alarm) = alarm_window(env);
    let bake = bake(env);
    (bake < window).then(|| {
        let short = "a wave can pass its bake with a problem its alarms have not seen yet (docs/targets.md#waves)";
        match env.spec.rollout.bake {
            Some(b) => format!(
                "rollout.bake: {} is shorter than the {} the {alarm} needs to fire, with 3 minutes for its data to arrive: {short}",
                super::duration::say(b.0),
                super::duration::say(window)
            ),
            None => format!(
                "rollout.bake: the {alarm} needs {} to fire, longer than a bake can be (24h): {short}",
                super::duration::say(window)
            ),
        }
    })
}

/// What a target inherits from the file that belongs to another account, and a target
/// without a role among targets of several accounts (warnings: each can be right, rarely):
/// - the file's `kms_key` in another account serves the target only if the key's policy lets
///   the target's account use it
///   (<https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html>);
/// - the file's `service_role_arn` in another account: CloudFormation assumes it for the
///   target's stacks, and a target cannot name its own;
/// - no `deploy_role` and no `role`: qfleet acts there with the credentials it runs with, which
///   are of one account, so the targets of every other account are refused by the guard.
pub(super) fn account_warnings(env: &Environment) -> Vec<String> {
    let Some(target) = &env.target else {
        return Vec::new();
    };
    let spec = &env.spec;
    let i = target.index;
    let accounts = target.file.accounts();
    let Some(account) = &target.account else {
        // No account and no role among targets of several accounts: no guard at all.
        return if accounts.len() > 1 {
            vec![format!(
                "targets.{i}: target `{}` names no account (account, or a role's), and the other targets are in accounts {}: it is deployed in whichever account the credentials are for, with no account guard; give it its account",
                target.name,
                accounts.join(", ")
            )]
        } else {
            Vec::new()
        };
    };
    let mut w = Vec::new();
    let account_of = |arn: &str| arn.split(':').nth(4).map(str::to_string);
    if let Some(key) = &spec.kms_key
        && !target.own_kms_key
        && let Some(of) = account_of(key).filter(|a| a.len() == 12 && a != account)
    {
        w.push(format!(
            "kms_key: the key is in account {of}, and target `{}` in {account}: it serves there only if its key policy lets account {account} use it; give targets.{i}.kms_key a key of that account",
            target.name
        ));
    }
    if let Some(role) = &spec.service_role_arn
        && let Some(of) = account_of(role).filter(|a| a.len() == 12 && a != account)
    {
        w.push(format!(
            "service_role_arn: the role is in account {of}, and target `{}` in {account}: CloudFormation there assumes the stacks' service role, and a target cannot name its own; use a file per account, or no service_role_arn",
            target.name
        ));
    }
    if target.role_arn.is_none() && accounts.len() > 1 {
        w.push(format!(
            "targets.{i}: target `{}` has no role (deploy_role, or its own role), and the targets are in accounts {}: qfleet acts there with the credentials it runs with, so a run whose credentials are of another account is refused for it; set deploy_role so that one run reaches every account",
            target.name,
            accounts.join(", ")
        ));
    }
    w
}

/// The environments of the targets of the file whose own settings are `env`
/// ([`LoadedFile::base`]), and every problem with them (the environments are of no use unless
/// the problems are empty).
pub(super) fn derive(env: &Environment) -> (Vec<Environment>, Vec<InputError>) {
    let spec = &env.spec;
    let src = &env.source;
    let mut errors = Vec::new();
    if spec.targets.len() > MAX_TARGETS {
        errors.push(src.error(
            "targets",
            format!(
                "{} targets; a stack file lists at most {MAX_TARGETS}",
                spec.targets.len()
            ),
        ));
    }
    if spec.copies.is_some() {
        errors.push(src.key_error(
            "copies",
            "copies and targets do not go together: a target is an environment of its own; list the copies as targets, or use a file per target",
        ));
    }
    if let Some(role) = &spec.deploy_role
        && !valid_role_name(role)
    {
        errors.push(src.error(
            "deploy_role",
            format!("`{role}` is not an IAM role name (1 to 64 letters, digits and + = , . @ _ -)"),
        ));
    }
    errors.extend(check_rollout(env));
    // The file's name is in every target's: said once, at the file's, not at each target.
    let name_problem = name_problem(env);
    errors.extend(name_problem.clone());
    let mut seen = BTreeMap::new();
    let mut envs = Vec::new();
    let mut found: Vec<(InputError, String)> = Vec::new();
    let file = TargetFile::new(env);
    for (i, t) in spec.targets.iter().enumerate() {
        let at = |field: &str| format!("targets.{i}.{field}");
        if !valid_target_name(&t.name) {
            errors.push(src.error(
                &at("name"),
                format!(
                    "`{}` is not a target name: lowercase letters and digits, starting with a letter, at most {MAX_TARGET_NAME_LEN} characters",
                    t.name
                ),
            ));
            continue;
        }
        if let Some(first) = seen.insert(t.name.clone(), i) {
            errors.push(src.error(
                &at("name"),
                format!(
                    "target `{}` is listed twice (targets.{first} and targets.{i})",
                    t.name
                ),
            ));
            continue;
        }
        let (target_env, own) = target(&file, i, t);
        let place = describe(&target_env);
        for e in checks::check(&target_env) {
            let about_name =
                (e.field == "environment" || e.field == "-") && e.message.contains("name");
            if about_name && name_problem.is_some() {
                continue;
            }
            match relocate(env, i, t, &e) {
                // One problem per setting: the target's own check of it comes first.
                Relocated::To(e) if own.iter().any(|o| o.field == e.field) => {}
                Relocated::To(e) => errors.push(e),
                Relocated::Dropped => {}
                Relocated::Shared(e) => found.push((e, place.clone())),
            }
        }
        // A target with a problem of its own is no environment of the file's.
        if own.is_empty() {
            envs.push(target_env);
        }
        errors.extend(own);
    }
    errors.extend(shared(found, spec.targets.len()));
    errors.extend(one_region_images(env, &envs));
    errors.extend(check_stack_sets(env, &envs));
    (envs, errors)
}

/// What is wrong with the file's name as the first part of its targets' environments' names
/// (`ENV-TARGET`, at most [`super::MAX_NAME_LEN`] characters): said at `environment`, or at
/// the file when its name is the file's.
fn name_problem(env: &Environment) -> Option<InputError> {
    let spec = &env.spec;
    let field = if spec.environment.is_some() {
        "environment"
    } else {
        ""
    };
    let whose = if spec.environment.is_some() {
        String::new()
    } else {
        " (taken from the file name; rename the file or set `environment`)".to_string()
    };
    if let Some(e) = super::checks::name_error(env) {
        return Some(e);
    }
    let longest = spec
        .targets
        .iter()
        .filter(|t| valid_target_name(&t.name))
        .max_by_key(|t| t.name.len())?;
    let length = env.name.len() + 1 + longest.name.len();
    (length > super::MAX_NAME_LEN).then(|| {
        env.source.error(
            field,
            format!(
                "the targets' environments are named `{}-TARGET`: with target `{}` that is {length} characters, over {}; shorten the environment name to {} characters{whose}, or the target names",
                env.name,
                longest.name,
                super::MAX_NAME_LEN,
                super::MAX_NAME_LEN - 1 - longest.name.len()
            ),
        )
    })
}

/// The environment of target `i`, or what keeps it from being one (its account and role).
fn target(file: &Arc<TargetFile>, i: usize, t: &TargetSpec) -> (Environment, Vec<InputError>) {
    let env = &file.base;
    let spec = &env.spec;
    let src = &env.source;
    let at = |field: &str| format!("targets.{i}.{field}");
    let mut errors = Vec::new();
    let region = t.region.clone().unwrap_or_else(|| spec.region.clone());
    let partition = regions::partition(&region).unwrap_or("aws");
    if let Some(account) = &t.account {
        if !valid_account(account) {
            errors.push(src.error(
                &at("account"),
                format!("`{account}` is not an AWS account id (12 digits)"),
            ));
        } else if let Some(allowed) = &spec.accounts
            && !allowed.contains(account)
        {
            errors.push(src.error(
                &at("account"),
                format!(
                    "account {account} is not one of the file's accounts ({}); add it there or correct it here",
                    allowed.join(", ")
                ),
            ));
        }
    }
    let role_arn = match (&t.role, &spec.deploy_role, &t.account) {
        (Some(arn), _, _) => match role_account(arn, partition) {
            Err(why) => {
                errors.push(src.error(&at("role"), why));
                None
            }
            Ok(account) if t.account.as_ref().is_some_and(|a| *a != account) => {
                errors.push(src.error(
                    &at("role"),
                    format!(
                        "the role is in account {account}, the target in {}: qfleet assumes a role in the target's own account",
                        t.account.as_deref().unwrap_or_default()
                    ),
                ));
                None
            }
            Ok(account)
                if spec
                    .accounts
                    .as_ref()
                    .is_some_and(|allowed| !allowed.contains(&account)) =>
            {
                errors.push(src.error(
                    &at("role"),
                    format!(
                        "the role is in account {account}, which is not one of the file's accounts ({}); add it there or correct the role",
                        spec.accounts.as_deref().unwrap_or_default().join(", ")
                    ),
                ));
                None
            }
            Ok(_) => Some(arn.clone()),
        },
        (None, Some(name), Some(account)) => Some(role_in(name, &region, account)),
        // A target that stands for a whole unit: the role is named in each of its accounts
        // when a command finds them ([`of_account`]). With `auto_deployment` set where it does
        // not apply, that is the error to say, not a missing account.
        (None, Some(_), None) if spec.rollout.auto_deployment => None,
        (None, Some(_), None) => {
            errors.push(src.key_error(
                &at("account"),
                format!(
                    "target `{}` has no account, and deploy_role needs one to name the role there (arn:{partition}:iam::ACCOUNT:role/NAME); add account, or a role ARN",
                    t.name
                ),
            ));
            None
        }
        (None, None, _) => None,
    };
    // A role names its account: the target is guarded to it even when it does not say.
    let account = t.account.clone().or_else(|| {
        role_arn
            .as_deref()
            .and_then(|arn| role_account(arn, partition).ok())
    });
    let wave = match t.wave {
        None => 1,
        Some(w) if (1..=MAX_WAVES).contains(&w) => w as u32,
        Some(w) => {
            errors.push(src.error(
                &at("wave"),
                format!("{w} is out of range (1 to {MAX_WAVES})"),
            ));
            1
        }
    };
    if !spec.stages.is_empty() && t.workers.is_set() {
        errors.push(src.key_error(
            &at("workers"),
            "a pipeline's workers are its stages' (stages.N.workers): a target of a pipeline cannot set workers",
        ));
    }
    // With a problem of its own, the target is still validated (every problem at once), as
    // if it named no account or role.
    let (account, role_arn) = match errors.is_empty() {
        true => (account, role_arn),
        false => (None, None),
    };
    let mut target_spec = spec.clone();
    target_spec.targets = Vec::new();
    target_spec.region = region;
    if let Some(key) = &t.kms_key {
        target_spec.kms_key = Some(key.clone());
    }
    // The target's account guards it: a valid one even when the target has problems of its
    // own, so that the file's other accounts are not checked as the target's.
    let guard = account
        .clone()
        .or_else(|| t.account.clone().filter(|a| valid_account(a)));
    if let Some(guard) = guard {
        target_spec.accounts = Some(vec![guard]);
    }
    t.workers.apply(&mut target_spec.workers);
    let mut target_env = Environment {
        name: format!("{}-{}", env.name, t.name),
        spec: target_spec,
        source: env.source.clone(),
        user_data: None,
        function_code: None,
        image_build: None,
        stage: None,
        pipeline: Vec::new(),
        target: Some(Target {
            name: t.name.clone(),
            environment: format!("{}-{}", env.name, t.name),
            index: i,
            account,
            role_arn,
            wave,
            own_kms_key: t.kms_key.is_some(),
            organizational_unit: t.organizational_unit.clone(),
            file: Arc::clone(file),
        }),
        copy: None,
    };
    target_env.pipeline = stages::derive(&target_env);
    (target_env, errors)
}

/// A target the file no longer lists, as its file's record says it was (`account`, `region`,
/// the `role` qfleet assumes there): the environment it still is in AWS, to be read and torn
/// down by its name. Its settings are the file's; its account guard and role the record's.
pub fn retired(
    file: &Arc<TargetFile>,
    name: &str,
    account: Option<String>,
    region: String,
    role: Option<String>,
) -> Environment {
    let spec = TargetSpec {
        name: name.to_string(),
        account: account.clone(),
        organizational_unit: None,
        region: Some(region),
        role: None,
        kms_key: None,
        workers: TargetWorkers::default(),
        wave: None,
    };
    let (mut env, _) = target(file, file.base.spec.targets.len(), &spec);
    let role = role.or_else(|| {
        let (account, name) = (account.as_deref()?, file.base.spec.deploy_role.as_deref()?);
        Some(role_in(name, &env.spec.region, account))
    });
    env.spec.accounts = account.clone().map(|a| vec![a]);
    let at = |t: &mut Target| {
        t.account.clone_from(&account);
        t.role_arn.clone_from(&role);
    };
    env.target.iter_mut().for_each(at);
    for stage in &mut env.pipeline {
        stage.spec.accounts.clone_from(&env.spec.accounts);
        stage.target.iter_mut().for_each(at);
    }
    env
}

/// An AMI id names an image of one region (an SSM parameter path names each region's own):
/// the same id for EC2 targets in two regions is wrong in one of them. Said where the id is
/// set: at the file's `workers.ami` when targets share it, else at each target's own.
/// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/CopyingAMIs.html>
fn one_region_images(env: &Environment, envs: &[Environment]) -> Vec<InputError> {
    use super::schema::WorkerKind;
    let src = &env.source;
    let mut regions_of: BTreeMap<&str, Vec<(&str, &Environment)>> = BTreeMap::new();
    for e in envs {
        let w = &e.spec.workers;
        if w.kind == WorkerKind::Ec2 && w.ami.starts_with("ami-") {
            regions_of
                .entry(w.ami.as_str())
                .or_default()
                .push((e.spec.region.as_str(), e));
        }
    }
    let mut errors = Vec::new();
    for (ami, users) in regions_of {
        let mut regions: Vec<&str> = users.iter().map(|(r, _)| *r).collect();
        regions.sort_unstable();
        regions.dedup();
        if regions.len() < 2 {
            continue;
        }
        let message = format!(
            "`{ami}` is an image of one region, and targets in {} use it: an AMI id names one region's image; set targets.N.workers.ami for each region, or use an SSM parameter path (such as /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64), which names each region's own",
            regions.join(" and ")
        );
        let own: Vec<usize> = users
            .iter()
            .filter_map(|(_, e)| e.target.as_ref())
            .filter(|t| env.spec.targets[t.index].workers.ami.is_some())
            .map(|t| t.index)
            .collect();
        if own.len() < users.len() {
            errors.push(src.error("workers.ami", message));
        } else {
            errors.extend(
                own.iter()
                    .map(|i| src.error(&format!("targets.{i}.workers.ami"), message.clone())),
            );
        }
    }
    errors
}

/// What becomes of one problem of a target's environment.
enum Relocated {
    /// A setting the target sets itself: the problem is at the target's line.
    To(InputError),
    /// Not a problem of the file (the target's own setting replaced the file's).
    Dropped,
    /// A setting of the file: the problem is said once, for the targets it concerns.
    Shared(InputError),
}

fn relocate(env: &Environment, i: usize, t: &TargetSpec, e: &InputError) -> Relocated {
    let field = e.field.as_str();
    let src = &env.source;
    // At the target's line, with what the setting accepts as the file's error said it.
    let to = |own: &str| {
        let mut moved = src.error(&format!("targets.{i}.{own}"), e.message.clone());
        if e.allowed.is_some() {
            moved.allowed.clone_from(&e.allowed);
        }
        Relocated::To(moved)
    };
    // The file's `instance_type` beside the target's `instance_types` is the target's choice
    // of several types, not the file's setting both.
    if field == "workers.instance_type" && t.workers.instance_types.is_some() {
        return Relocated::Dropped;
    }
    if (field == "environment" || field == "-") && e.message.contains("name") {
        return to("name");
    }
    if field == "region" && t.region.is_some() {
        return to("region");
    }
    if field == "kms_key" && t.kms_key.is_some() {
        return to("kms_key");
    }
    if field.starts_with("accounts") && t.account.is_some() {
        return to("account");
    }
    if let Some(rest) = field.strip_prefix("workers.") {
        let key = rest.split('.').next().unwrap_or(rest);
        if t.workers.sets(key) {
            return to(&format!("workers.{rest}"));
        }
        // A problem of the file's setting against one the target sets (`workers.min: 1 is
        // greater than workers.max (0)` with the target's max): at the target's setting.
        if let Some(own) = TargetWorkers::KEYS
            .iter()
            .map(|k| k.name)
            .find(|k| t.workers.sets(k) && e.message.contains(&format!("than workers.{k} ")))
        {
            return to(&format!("workers.{own}"));
        }
    }
    Relocated::Shared(e.clone())
}

/// The problems of the file's own settings, each said once: for every target, as the file's;
/// for some, naming them.
fn shared(found: Vec<(InputError, String)>, targets: usize) -> Vec<InputError> {
    // One problem (its line, column, field and message) and the targets it was found in.
    type Place = (usize, usize, String, String);
    let mut by_place: BTreeMap<Place, (InputError, Vec<String>)> = BTreeMap::new();
    for (e, place) in found {
        let key = (e.line, e.column, e.field.clone(), e.message.clone());
        by_place
            .entry(key)
            .or_insert_with(|| (e, Vec::new()))
            .1
            .push(place);
    }
    by_place
        .into_values()
        .map(|(mut e, places)| {
            if places.len() < targets {
                e.message = format!("{} (in {})", e.message, places.join("; "));
            }
            e
        })
        .collect()
}

/// `target eu (eu-west-1)`: which target a problem is in.
fn describe(env: &Environment) -> String {
    let name = env.target.as_ref().map_or("", |t| t.name.as_str());
    format!("target {name}, {}", env.spec.region)
}

impl TargetWorkers {
    /// Whether the target sets any of the workers' settings.
    fn is_set(&self) -> bool {
        TargetWorkers::KEYS.iter().any(|k| self.sets(k.name))
    }

    /// Whether the target sets the workers' setting `key`.
    fn sets(&self, key: &str) -> bool {
        match key {
            "min" => self.min.is_some(),
            "max" => self.max.is_some(),
            "instance_type" => self.instance_type.is_some(),
            "instance_types" => self.instance_types.is_some(),
            "ami" => self.ami.is_some(),
            "image" => self.image.is_some(),
            "network" => self.network.is_some(),
            _ => false,
        }
    }

    /// The file's workers with the target's settings in place of theirs. One instance type
    /// replaces the file's list, and a list the file's one type.
    fn apply(&self, w: &mut WorkersSpec) {
        if let Some(v) = self.min {
            w.min = v;
        }
        if let Some(v) = self.max {
            w.max = v;
        }
        if let Some(v) = &self.instance_type {
            w.instance_type.clone_from(v);
            w.instance_types = None;
        }
        if let Some(v) = &self.instance_types {
            w.instance_types = Some(v.clone());
        }
        if let Some(v) = &self.ami {
            w.ami.clone_from(v);
        }
        if let Some(v) = &self.image {
            w.image = Some(super::schema::ImageSetting::Uri(v.clone()));
        }
        if let Some(v) = &self.network {
            w.network = v.clone();
        }
    }
}

/// `eu`, `us2`: lowercase letters and digits, starting with a letter (no hyphen, so that
/// `ENV-TARGET` parts at its last hyphen as a copy's name does).
fn valid_target_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TARGET_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

pub fn valid_account(account: &str) -> bool {
    account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())
}

/// IAM's role names: 1 to 64 of letters, digits and `+=,.@_-`
/// (<https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html>).
fn valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// The account of a role ARN `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME` in `partition`.
fn role_account(arn: &str, partition: &str) -> Result<String, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let shape = format!("arn:{partition}:iam::ACCOUNT:role/NAME");
    match parts.as_slice() {
        ["arn", p, "iam", "", account, resource] => {
            if *p != partition {
                return Err(format!(
                    "`{arn}` is a role of the {p} partition; the target's region is in {partition} ({shape})"
                ));
            }
            if !valid_account(account) {
                return Err(format!(
                    "`{arn}` does not name a 12-digit account ({shape})"
                ));
            }
            let name = resource
                .strip_prefix("role/")
                .and_then(|r| r.rsplit('/').next());
            match name {
                Some(name) if valid_role_name(name) => Ok((*account).to_string()),
                _ => Err(format!("`{arn}` is not a role ARN ({shape})")),
            }
        }
        _ => Err(format!("`{arn}` is not a role ARN ({shape})")),
    }
}

#[cfg(test)]
mod tests;
