//! CloudFormation StackSets: a stack set, its instances, and the operations that create,
//! update and delete them. With self-managed permissions, a call names its accounts; with
//! service-managed ones, it names them within their AWS Organizations units
//! (`DeploymentTargets` with the INTERSECTION filter: "only accounts that are both specified
//! in the Accounts property and belong to the specified OUs",
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html>),
//! so that each call acts on the accounts qfleet names and on no other account of a unit.
//!
//! - An operation is RUNNING, then SUCCEEDED, FAILED (its failure tolerance was exceeded, or
//!   it could not run), STOPPED (StopStackSetOperation) or still QUEUED/STOPPING
//!   (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperation.html>);
//! - each account and region of it ends SUCCEEDED, FAILED or CANCELLED (not reached: the
//!   operation stopped or failed first), with a reason
//!   (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationResultSummary.html>);
//! - an instance is CURRENT, OUTDATED (its last operation did not finish for it) or INOPERABLE
//!   (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceSummary.html>).

use crate::Result;
use crate::error::{AwsError, Kind};
use crate::poll::{self, Poll, Polling};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    AccountFilterType, AutoDeployment, Capability, DeploymentTargets, Parameter, PermissionModels,
    RegionConcurrencyType, StackSetOperationPreferences, StackSetOperationStatus, StackSetStatus,
    Tag,
};
use std::collections::BTreeMap;

/// How long an operation is followed: 5 s between polls at most, 6 hours.
pub const MAX_POLLS: u32 = 6 * 60 * 12;

/// Who acts on the stack sets (`CallAs`, service-managed permissions only): the account that
/// holds them (the organization's management account; AWS's default, SELF, sent as nothing),
/// or a delegated administrator of the organization, whose calls act on the stack sets of
/// the management account ("StackSets with service-managed permissions are created in the
/// management account, including StackSets that are created by delegated administrators",
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallAs {
    #[default]
    Holder,
    DelegatedAdmin,
}

impl CallAs {
    fn sdk(self) -> Option<aws_sdk_cloudformation::types::CallAs> {
        match self {
            CallAs::Holder => None,
            CallAs::DelegatedAdmin => Some(aws_sdk_cloudformation::types::CallAs::DelegatedAdmin),
        }
    }
}

/// The CloudFormation client that reaches the stack sets, and as whom every call acts.
#[derive(Debug, Clone, Copy)]
pub struct Api<'a> {
    cfn: &'a Client,
    call_as: CallAs,
}

impl<'a> Api<'a> {
    pub fn new(cfn: &'a Client, call_as: CallAs) -> Api<'a> {
        Api { cfn, call_as }
    }
}

/// A unique id for an operation (CloudFormation takes up to 128 characters).
pub fn operation_token(set: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        // A clock before 1970 would give every operation the same token, and CloudFormation
        // takes a token it has seen as the same operation: a random one stays unique.
        .unwrap_or_else(|_| fastrand::u128(..));
    let mut token = format!("qfleet-{nanos}-{set}");
    token.truncate(128);
    token
}

/// A stack set as qfleet reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct StackSet {
    name: String,
    pub template: Option<String>,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// SELF_MANAGED or SERVICE_MANAGED, when the answer says.
    pub permission_model: Option<String>,
    /// Whether StackSets deploys to the accounts added to its units by itself (service-managed
    /// permissions), when the answer says.
    pub auto_deployment: Option<bool>,
    /// Whether an account that leaves a unit keeps its stacks (automatic deployment's
    /// RetainStacksOnAccountRemoval), when the answer says.
    pub retains_stacks: Option<bool>,
    /// Its ARN, when the answer says (what another stack set's automatic deployment names
    /// to wait for it).
    pub arn: Option<String>,
    /// The stack sets (ARNs) its automatic deployment waits for.
    pub depends_on: Vec<String>,
}

/// The stack set `name`, or `None` when there is none (or it was deleted).
pub async fn describe(api: Api<'_>, name: &str) -> Result<Option<StackSet>> {
    let call = api
        .cfn
        .describe_stack_set()
        .stack_set_name(name)
        .set_call_as(api.call_as.sdk());
    match call.send().await {
        Ok(out) => {
            let Some(s) = out.stack_set() else {
                return Err(AwsError::with_kind(
                    format!("describing stack set {name}: the answer has no stack set"),
                    Kind::Malformed,
                ));
            };
            if s.status() == Some(&StackSetStatus::Deleted) {
                return Ok(None);
            }
            Ok(Some(StackSet {
                name: name.to_string(),
                template: s.template_body().map(str::to_string),
                parameters: crate::cfn::stacks::parameters_of(s.parameters()),
                tags: crate::cfn::stacks::tags_of(s.tags()),
                permission_model: s.permission_model().map(|m| m.as_str().to_string()),
                auto_deployment: s.auto_deployment().and_then(|a| a.enabled()),
                retains_stacks: s
                    .auto_deployment()
                    .and_then(|a| a.retain_stacks_on_account_removal()),
                arn: s.stack_set_arn().map(str::to_string),
                // None said is none: a whole unit's fleet stack set without it is refused.
                depends_on: s
                    .auto_deployment()
                    .map(|a| a.depends_on().to_vec())
                    .unwrap_or_default(),
            }))
        }
        Err(e) => AwsError::from_sdk(&format!("describing stack set {name}"), e).into_absent(),
    }
}

/// What qfleet asks of a stack set: its template, parameters, tags and roles.
#[derive(Debug, Clone)]
pub struct Desired<'a> {
    pub name: &'a str,
    pub template: &'a str,
    pub parameters: &'a BTreeMap<String, String>,
    pub tags: &'a BTreeMap<String, String>,
    pub administration_role: Option<&'a str>,
    pub execution_role: Option<&'a str>,
    /// Service-managed permissions (AWS Organizations' trusted access) rather than the roles.
    pub service_managed: bool,
    /// Automatic deployment on (targets that each stand for a whole unit), waiting for these
    /// stack sets (ARNs) when it deploys to an account that joins a unit; `None`: off.
    pub auto_deployment: Option<&'a [String]>,
}

fn parameters(p: &BTreeMap<String, String>) -> Vec<Parameter> {
    p.iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect()
}

fn tags(t: &BTreeMap<String, String>) -> Vec<Tag> {
    t.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Creates the stack set (no instance yet). Service-managed, it deploys only where qfleet
/// names: automatic deployment is off (on, StackSets would also deploy to every account added
/// to a unit, and delete the instances of an account that leaves it,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_AutoDeployment.html>),
/// unless the file's targets each stand for a whole unit: then it is on, an account that
/// leaves its unit keeps its stacks and their data (`RetainStacksOnAccountRemoval`), and an
/// account's instance waits for those of the stack sets it depends on (`DependsOn`: "operations
/// will be sequenced to ensure all dependencies complete successfully before this StackSet's
/// operation begins"; a fleet needs its data stack's queue).
pub async fn create(api: Api<'_>, d: &Desired<'_>) -> Result<()> {
    let mut call = api.cfn.create_stack_set().set_call_as(api.call_as.sdk());
    if d.service_managed {
        let auto = match d.auto_deployment {
            None => AutoDeployment::builder().enabled(false),
            Some(depends_on) => AutoDeployment::builder()
                .enabled(true)
                .retain_stacks_on_account_removal(true)
                .set_depends_on((!depends_on.is_empty()).then(|| depends_on.to_vec())),
        };
        call = call
            .permission_model(PermissionModels::ServiceManaged)
            .auto_deployment(auto.build());
    }
    call.stack_set_name(d.name)
        .description(format!("qfleet {}", env!("CARGO_PKG_VERSION")))
        .template_body(d.template)
        .set_parameters(Some(parameters(d.parameters)))
        .set_tags(Some(tags(d.tags)))
        .capabilities(Capability::CapabilityIam)
        .set_administration_role_arn(d.administration_role.map(str::to_string))
        .set_execution_role_name(d.execution_role.map(str::to_string))
        .client_request_token(crate::cfn::stacks::client_token("ss", d.name))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("creating stack set {}", d.name), e))?;
    Ok(())
}

/// The accounts and regions one call names: StackSets acts on every account in every region
/// of a call, so a call names accounts that share their regions. With service-managed
/// permissions, the AWS Organizations units the accounts are in (else empty).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group {
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub organizational_units: Vec<String>,
    /// Every account of its units, and no account named (targets that each stand for a
    /// whole unit, `rollout.auto_deployment`).
    pub whole_units: bool,
}

impl Group {
    /// The group's accounts within its units, and no other account of them; or every account
    /// of its units ("the organization root ID or organizational unit (OU) IDs to which
    /// StackSets deploys", with no account filter,
    /// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeploymentTargets.html>).
    fn deployment_targets(&self) -> DeploymentTargets {
        let targets = DeploymentTargets::builder()
            .set_organizational_unit_ids(Some(self.organizational_units.clone()));
        match self.whole_units {
            true => targets.account_filter_type(AccountFilterType::None).build(),
            false => targets
                .set_accounts(Some(self.accounts.clone()))
                .account_filter_type(AccountFilterType::Intersection)
                .build(),
        }
    }

    /// Why a call must not name this group: without a region, or without an account (but for
    /// whole units, without a unit), it would act on every instance there is.
    fn unfit(&self) -> Option<&'static str> {
        match (self.whole_units, self.regions.is_empty()) {
            (_, true) => Some("a group without a region"),
            (true, _) if self.organizational_units.is_empty() || !self.accounts.is_empty() => {
                Some("a group of whole units without a unit, or with accounts")
            }
            (false, _) if self.accounts.is_empty() => Some("a group without an account"),
            _ => None,
        }
    }
}

/// How an operation goes (`rollout`'s StackSets settings).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Preferences {
    pub region_order: Vec<String>,
    pub regions_in_parallel: bool,
    pub max_concurrent_accounts: i32,
    pub failure_tolerance: i32,
}

impl Preferences {
    pub fn sdk(&self, regions: &[String]) -> StackSetOperationPreferences {
        let order: Vec<String> = self
            .region_order
            .iter()
            .filter(|r| regions.contains(r))
            .cloned()
            .collect();
        StackSetOperationPreferences::builder()
            .region_concurrency_type(if self.regions_in_parallel {
                RegionConcurrencyType::Parallel
            } else {
                RegionConcurrencyType::Sequential
            })
            .set_region_order(Some(order))
            .max_concurrent_count(self.max_concurrent_accounts.max(1))
            .failure_tolerance_count(self.failure_tolerance.max(0))
            .build()
    }
}

/// Updates the stack set's template and parameters for the instances of `group` (the others
/// are marked OUTDATED and keep their stacks as they are,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html>;
/// [`update_instances`] brings them to it later). `group` `None` names no account: AWS then
/// updates every instance, so it is only for a stack set without any (its template alone);
/// a group without an account or a region is refused here rather than sent. The operation's
/// id.
pub async fn update(
    api: Api<'_>,
    d: &Desired<'_>,
    group: Option<&Group>,
    prefs: &Preferences,
    token: &str,
) -> Result<String> {
    if let Some(why) = group.and_then(Group::unfit) {
        return Err(AwsError::new(format!(
            "updating stack set {}: {why} would update every instance; nothing was sent",
            d.name
        )));
    }
    let mut call = api
        .cfn
        .update_stack_set()
        .set_call_as(api.call_as.sdk())
        .stack_set_name(d.name)
        .description(format!("qfleet {}", env!("CARGO_PKG_VERSION")))
        .set_tags(Some(tags(d.tags)))
        .capabilities(Capability::CapabilityIam)
        .set_administration_role_arn(d.administration_role.map(str::to_string))
        .set_execution_role_name(d.execution_role.map(str::to_string))
        .operation_preferences(prefs.sdk(group.map_or(&[][..], |g| &g.regions)))
        .operation_id(token);
    if let Some(group) = group {
        call = call.set_regions(Some(group.regions.clone()));
        call = match group.organizational_units.is_empty() {
            true => call.set_accounts(Some(group.accounts.clone())),
            false => call.deployment_targets(group.deployment_targets()),
        };
    }
    let out = call
        .template_body(d.template)
        .set_parameters(Some(parameters(d.parameters)))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("updating stack set {}", d.name), e))?;
    Ok(out.operation_id().unwrap_or(token).to_string())
}

/// An operation on the instances of `group` (`$op`: the SDK's CreateStackInstances or
/// UpdateStackInstances, which take the same targets): its accounts in its regions, within
/// their AWS Organizations units with service-managed permissions ([`Group`]); a group
/// without an account or a region is refused rather than sent. The operation's id.
macro_rules! on_group {
    ($api:expr, $op:ident, $name:expr, $group:expr, $prefs:expr, $token:expr, $doing:literal) => {{
        let (api, name, group, token) = ($api, $name, $group, $token);
        if let Some(why) = group.unfit() {
            return Err(AwsError::new(format!(
                "{} instances of stack set {name}: {why}; nothing was sent",
                $doing
            )));
        }
        let call = api
            .cfn
            .$op()
            .set_call_as(api.call_as.sdk())
            .stack_set_name(name)
            .set_regions(Some(group.regions.clone()))
            .operation_preferences($prefs.sdk(&group.regions))
            .operation_id(token);
        let call = match group.organizational_units.is_empty() {
            true => call.set_accounts(Some(group.accounts.clone())),
            false => call.deployment_targets(group.deployment_targets()),
        };
        let out = call.send().await.map_err(|e| {
            AwsError::from_sdk(&format!("{} instances of stack set {name}", $doing), e)
        })?;
        Ok(out.operation_id().unwrap_or(token).to_string())
    }};
}

/// Creates the instances of `group`; the operation's id.
pub async fn create_instances(
    api: Api<'_>,
    name: &str,
    group: &Group,
    prefs: &Preferences,
    token: &str,
) -> Result<String> {
    on_group!(
        api,
        create_stack_instances,
        name,
        group,
        prefs,
        token,
        "creating"
    )
}

/// Brings the instances of `group` to the stack set's current template, their parameters as
/// they are, without changing the stack set: UpdateStackInstances without ParameterOverrides
/// ("To leave all parameters set to their present values, don't specify this property at
/// all", <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackInstances.html>).
/// That its operation updates the instances' stacks with the stack set's current template is
/// how StackSets deploys every instance, but AWS's reference does not say it in so many words:
/// the deploy reads each instance back and passes it only when CURRENT
/// ([`instance_settled`]).
/// Not UpdateStackSet: one that names a template or the Parameters property "marks all stack
/// instances with a status of OUTDATED prior to updating the stack instances in the specified
/// accounts" (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html>),
/// the instances of other waves and of the wave's earlier calls too. The operation's id.
pub async fn update_instances(
    api: Api<'_>,
    name: &str,
    group: &Group,
    prefs: &Preferences,
    token: &str,
) -> Result<String> {
    on_group!(
        api,
        update_stack_instances,
        name,
        group,
        prefs,
        token,
        "updating"
    )
}

/// One instance of a stack set.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub account: String,
    pub region: String,
    /// CURRENT, OUTDATED or INOPERABLE.
    pub status: String,
    /// Its last operation's status for it (SUCCEEDED, FAILED, CANCELLED, RUNNING, …).
    pub detailed: Option<String>,
    pub reason: Option<String>,
    /// The stack's id (an ARN), once there is a stack.
    pub stack_id: Option<String>,
    /// The AWS Organizations unit its account was named in (service-managed permissions).
    pub organizational_unit: Option<String>,
}

/// The stack set's instance in `account` and `region` once it is listed CURRENT ("the stack
/// is currently up to date with the stack set",
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceSummary.html>),
/// or as listed after [`RESULT_READS`] more reads, paced as every wait (`None`: not listed):
/// the caller judges. ListStackInstances filtered to the account and region.
pub async fn instance_settled(
    api: Api<'_>,
    name: &str,
    account: &str,
    region: &str,
    polling: Polling,
) -> Result<Option<Instance>> {
    let read = || async {
        Ok::<_, AwsError>(
            listed(api, name, Some((account, region)))
                .await?
                .into_iter()
                .find(|i| i.account == account && i.region == region),
        )
    };
    let what = format!("stack set {name}'s instance in {account} {region}");
    read_again(polling, &what, read, |found: &Option<Instance>| {
        found.as_ref().is_some_and(|i| i.status == "CURRENT")
    })
    .await
}

/// The stack set's instances in `region` named in the unit `unit` (every account of a whole
/// unit there) once at least one is listed and each is CURRENT, or as listed after
/// [`RESULT_READS`] more reads, paced as every wait: the caller judges ([`instance_settled`]
/// for a whole unit).
pub async fn region_settled(
    api: Api<'_>,
    name: &str,
    region: &str,
    unit: Option<&str>,
    polling: Polling,
) -> Result<Vec<Instance>> {
    let read = || async {
        Ok::<_, AwsError>(
            listed(api, name, None)
                .await?
                .into_iter()
                .filter(|i| i.region == region && i.organizational_unit.as_deref() == unit)
                .collect::<Vec<_>>(),
        )
    };
    let what = format!("stack set {name}'s instances in {region}");
    read_again(polling, &what, read, |found: &Vec<Instance>| {
        !found.is_empty() && found.iter().all(|i| i.status == "CURRENT")
    })
    .await
}

/// An answer AWS documents as eventually consistent (or documents nothing of): `read`, then
/// read again while it is not `settled`, at most [`RESULT_READS`] more times, paced as every
/// wait (a throttled read slows the pace). The last answer, for the caller to judge.
async fn read_again<T, F, Fut>(
    polling: Polling,
    what: &str,
    read: F,
    settled: impl Fn(&T) -> bool,
) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut got = read().await?;
    let mut pacer = poll::Pacer::new(polling, RESULT_READS, what);
    while !settled(&got) && pacer.wait().await.is_ok() {
        match read().await {
            Ok(again) => {
                got = again;
                pacer.answered();
            }
            Err(e) => pacer.failed(e)?,
        }
    }
    Ok(got)
}

/// Every instance of the stack set.
pub async fn instances(api: Api<'_>, name: &str) -> Result<Vec<Instance>> {
    listed(api, name, None).await
}

/// The stack set's instance in `account` and `region`, if it has one (ListStackInstances
/// filtered to them: one call whatever the number of instances).
pub async fn instance_in(
    api: Api<'_>,
    name: &str,
    account: &str,
    region: &str,
) -> Result<Option<Instance>> {
    Ok(listed(api, name, Some((account, region)))
        .await?
        .into_iter()
        .find(|i| i.account == account && i.region == region))
}

/// Every instance of the stack set once the ones just deleted (`gone`: account and region)
/// are no longer listed, or as listed after [`RESULT_READS`] more reads, paced as every wait:
/// AWS documents no consistency for ListStackInstances (its operation results are "eventually
/// consistent",
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackSetOperationResults.html>),
/// and a listing that lags must not keep a stack set it could delete. Another instance ends
/// the reads at once: the caller keeps the stack set.
pub async fn instances_after_deleting(
    api: Api<'_>,
    name: &str,
    gone: (&str, &str),
    polling: Polling,
) -> Result<Vec<Instance>> {
    let what = format!("stack set {name}'s instances after a deletion");
    read_again(
        polling,
        &what,
        || instances(api, name),
        |left: &Vec<Instance>| {
            left.is_empty()
                || left
                    .iter()
                    .any(|i| i.account != gone.0 || i.region != gone.1)
        },
    )
    .await
}

/// The stack set's instances, in one account and region when `only` says.
async fn listed(api: Api<'_>, name: &str, only: Option<(&str, &str)>) -> Result<Vec<Instance>> {
    let mut out = Vec::new();
    let mut pages = api
        .cfn
        .list_stack_instances()
        .set_call_as(api.call_as.sdk())
        .stack_set_name(name)
        .set_stack_instance_account(only.map(|(a, _)| a.to_string()))
        .set_stack_instance_region(only.map(|(_, r)| r.to_string()))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            AwsError::from_sdk(&format!("listing the instances of stack set {name}"), e)
        })?;
        for s in page.summaries() {
            let (Some(account), Some(region)) = (s.account(), s.region()) else {
                return Err(AwsError::with_kind(
                    format!(
                        "listing the instances of stack set {name}: an instance without its account or region"
                    ),
                    Kind::Malformed,
                ));
            };
            out.push(Instance {
                account: account.to_string(),
                region: region.to_string(),
                status: s
                    .status()
                    .map_or("UNKNOWN".into(), |x| x.as_str().to_string()),
                detailed: s
                    .stack_instance_status()
                    .and_then(|d| d.detailed_status())
                    .map(|d| d.as_str().to_string()),
                reason: s.status_reason().map(str::to_string),
                stack_id: s.stack_id().map(str::to_string),
                organizational_unit: s.organizational_unit_id().map(str::to_string),
            });
        }
    }
    Ok(out)
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// SUCCEEDED, FAILED or STOPPED.
    pub status: String,
    pub reason: Option<String>,
    /// Each account and region's result.
    pub results: Vec<InstanceResult>,
}

/// One account and region's result in an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceResult {
    pub account: String,
    pub region: String,
    /// SUCCEEDED, FAILED, CANCELLED (not reached), or PENDING/RUNNING.
    pub status: String,
    pub reason: Option<String>,
}

impl Operation {
    /// This account and region's result, if the operation names it.
    pub fn result(&self, account: &str, region: &str) -> Option<&InstanceResult> {
        self.results
            .iter()
            .find(|r| r.account == account && r.region == region)
    }
}

/// How many times the results of an ended operation are read while some place it named has
/// no final result there yet. ListStackSetOperationResults "provides eventually consistent
/// reads meaning it may take some time but will eventually return the most up-to-date data"
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackSetOperationResults.html>),
/// and AWS says not how long: the reads are paced as every wait is (by default half a second
/// apart at first, then half as long again each time up to five seconds: 20 to 25 s in all),
/// and a place still without a final result is reported so ([`Operation::result`] gives
/// `None` or a result not SUCCEEDED), never success.
pub const RESULT_READS: u32 = 8;

/// A result's final statuses (PENDING and RUNNING are not,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationResultSummary.html>).
const FINAL_RESULTS: [&str; 3] = ["SUCCEEDED", "FAILED", "CANCELLED"];

/// Waits for the operation to end, then reads each account and region's result, again while
/// one of the places it named (`expected`: account, region) has no final result yet
/// ([`RESULT_READS`]).
pub async fn wait(
    api: Api<'_>,
    name: &str,
    operation: &str,
    polling: Polling,
    max_polls: u32,
    expected: &[(&str, &str)],
) -> Result<Operation> {
    let what = format!("stack set {name}'s operation {operation}");
    let (status, reason) = poll::until(polling, max_polls, &what, || async {
        let out = api
            .cfn
            .describe_stack_set_operation()
            .set_call_as(api.call_as.sdk())
            .stack_set_name(name)
            .operation_id(operation)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("reading {what}"), e))?;
        let Some(op) = out.stack_set_operation() else {
            return Err(AwsError::with_kind(
                format!("reading {what}: the answer has no operation"),
                Kind::Malformed,
            ));
        };
        Ok(match op.status() {
            Some(
                s @ (StackSetOperationStatus::Succeeded
                | StackSetOperationStatus::Failed
                | StackSetOperationStatus::Stopped),
            ) => Poll::Ready((
                s.as_str().to_string(),
                op.status_reason().map(str::to_string),
            )),
            _ => Poll::Pending,
        })
    })
    .await?;
    // An expected account "" is every account of a whole unit in the region: known from the
    // results alone, so at least one, each final.
    let settled = |results: &[InstanceResult]| {
        expected.iter().all(|(account, region)| {
            let mut here = results
                .iter()
                .filter(|r| r.region == *region && (account.is_empty() || r.account == *account))
                .peekable();
            here.peek().is_some() && here.all(|r| FINAL_RESULTS.contains(&r.status.as_str()))
        })
    };
    let results = read_again(
        polling,
        &what,
        || operation_results(api, name, operation, &what),
        |r: &Vec<InstanceResult>| settled(r),
    )
    .await?;
    Ok(Operation {
        status,
        reason,
        results,
    })
}

/// Every account and region's result of an operation, as ListStackSetOperationResults says.
async fn operation_results(
    api: Api<'_>,
    name: &str,
    operation: &str,
    what: &str,
) -> Result<Vec<InstanceResult>> {
    let mut results = Vec::new();
    let mut pages = api
        .cfn
        .list_stack_set_operation_results()
        .set_call_as(api.call_as.sdk())
        .stack_set_name(name)
        .operation_id(operation)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::from_sdk(&format!("reading the results of {what}"), e))?;
        for r in page.summaries() {
            // A result that does not say where it is is no target's: an error, not "".
            let (Some(account), Some(region)) = (r.account(), r.region()) else {
                return Err(AwsError::with_kind(
                    format!(
                        "reading the results of {what}: a result without its account or region"
                    ),
                    Kind::Malformed,
                ));
            };
            results.push(InstanceResult {
                account: account.to_string(),
                region: region.to_string(),
                status: r
                    .status()
                    .map_or("UNKNOWN".into(), |s| s.as_str().to_string()),
                reason: r.status_reason().map(str::to_string),
            });
        }
    }
    Ok(results)
}

/// Deletes the instance of `account` and `region`: with its stack (`keep_stack` false,
/// RetainStacks false: the stack is deleted as DeleteStack would), or keeping any stack there
/// (RetainStacks true: the instance leaves the stack set, the stack stays as it is)
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStackInstances.html>);
/// the operation's id. With service-managed permissions, `unit` is the account's AWS
/// Organizations unit: the account is named within it ([`Group`]).
pub async fn delete_instance(
    api: Api<'_>,
    name: &str,
    account: &str,
    unit: Option<&str>,
    region: &str,
    keep_stack: bool,
    token: &str,
) -> Result<String> {
    let call = api
        .cfn
        .delete_stack_instances()
        .set_call_as(api.call_as.sdk())
        .stack_set_name(name)
        .regions(region)
        .retain_stacks(keep_stack)
        .operation_id(token);
    let call = match unit {
        None => call.accounts(account),
        Some(unit) => call.deployment_targets(
            Group {
                accounts: vec![account.to_string()],
                regions: vec![region.to_string()],
                organizational_units: vec![unit.to_string()],
                whole_units: false,
            }
            .deployment_targets(),
        ),
    };
    let out = call.send().await.map_err(|e| {
        AwsError::from_sdk(
            &format!("deleting the instance of stack set {name} in {account} {region}"),
            e,
        )
    })?;
    Ok(out.operation_id().unwrap_or(token).to_string())
}

/// Deletes the stack set, which must have no instance left
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStackSet.html>).
pub async fn delete(api: Api<'_>, name: &str) -> Result<()> {
    api.cfn
        .delete_stack_set()
        .set_call_as(api.call_as.sdk())
        .stack_set_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("deleting stack set {name}"), e))?;
    Ok(())
}

/// The name of the stack an ARN names (`arn:…:stack/NAME/ID`), or the text itself.
pub fn stack_name_of(stack_id: &str) -> &str {
    stack_id
        .split_once(":stack/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or(stack_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::Rules;
    use aws_sdk_cloudformation::operation::update_stack_set::UpdateStackSetOutput;
    use aws_smithy_mocks::mock;

    /// What qfleet asks of stack set `name`: an empty template, no parameters nor tags.
    fn desired<'a>(
        name: &'a str,
        empty: &'a BTreeMap<String, String>,
        service_managed: bool,
    ) -> Desired<'a> {
        Desired {
            name,
            template: "{}",
            parameters: empty,
            tags: empty,
            administration_role: None,
            execution_role: None,
            service_managed,
            auto_deployment: None,
        }
    }

    /// The results of an ended operation, read as ListStackSetOperationResults answers them
    /// (eventually consistent): each place in turn, `None` for a read without it.
    fn results_read(answers: Vec<Option<&'static str>>) -> aws_smithy_mocks::Rule {
        use aws_sdk_cloudformation::operation::list_stack_set_operation_results::ListStackSetOperationResultsOutput;
        use aws_sdk_cloudformation::types::{
            StackSetOperationResultStatus, StackSetOperationResultSummary,
        };
        let mut seq =
            mock!(aws_sdk_cloudformation::Client::list_stack_set_operation_results).sequence();
        for a in answers {
            seq = seq.output(move || {
                ListStackSetOperationResultsOutput::builder()
                    .set_summaries(Some(
                        a.map(|status| {
                            StackSetOperationResultSummary::builder()
                                .account("111122223333")
                                .region("eu-west-1")
                                .status(StackSetOperationResultStatus::from(status))
                                .build()
                        })
                        .into_iter()
                        .collect(),
                    ))
                    .build()
            });
        }
        seq.repeatedly().build()
    }

    fn succeeded() -> aws_smithy_mocks::Rule {
        use aws_sdk_cloudformation::operation::describe_stack_set_operation::DescribeStackSetOperationOutput;
        mock!(aws_sdk_cloudformation::Client::describe_stack_set_operation).then_output(|| {
            DescribeStackSetOperationOutput::builder()
                .stack_set_operation(
                    aws_sdk_cloudformation::types::StackSetOperation::builder()
                        .status(StackSetOperationStatus::Succeeded)
                        .build(),
                )
                .build()
        })
    }

    /// ListStackInstances right after a deletion may still list the instance deleted: it is
    /// read again while only that one is listed (SDK-level mock: AWS's lag is not emulated
    /// here), at most RESULT_READS times more; another instance ends the reads at once.
    #[tokio::test]
    async fn mocked_a_deleted_instance_still_listed_is_read_again() {
        use aws_sdk_cloudformation::operation::list_stack_instances::ListStackInstancesOutput;
        use aws_sdk_cloudformation::types::StackInstanceSummary;
        // The accounts listed by each read in turn (every later read as the last).
        async fn left(reads: Vec<Vec<&'static str>>) -> (Vec<String>, usize) {
            let mut seq = mock!(aws_sdk_cloudformation::Client::list_stack_instances).sequence();
            for accounts in reads {
                seq = seq.output(move || {
                    ListStackInstancesOutput::builder()
                        .set_summaries(Some(
                            accounts
                                .iter()
                                .map(|a| {
                                    StackInstanceSummary::builder()
                                        .account(*a)
                                        .region("eu-west-1")
                                        .build()
                                })
                                .collect(),
                        ))
                        .build()
                });
            }
            let list = seq.repeatedly().build();
            let clients = Rules {
                cfn: vec![&list],
                ..Default::default()
            }
            .clients();
            let api = Api::new(&clients.cfn, CallAs::Holder);
            let gone = ("111122223333", "eu-west-1");
            let left = instances_after_deleting(api, "s", gone, Polling::immediate())
                .await
                .unwrap();
            (
                left.into_iter().map(|i| i.account).collect(),
                list.num_calls(),
            )
        }
        let (a, b) = ("111122223333", "444455556666");
        assert_eq!(left(vec![vec![a], vec![a], vec![]]).await, (vec![], 3));
        assert_eq!(left(vec![vec![a, b]]).await, (vec![a.into(), b.into()], 1));
        assert_eq!(left(vec![vec![]]).await, (vec![], 1));
        // Still listed after every read: as listed, for the caller to keep the stack set.
        let (still, reads) = left(vec![vec![a]]).await;
        assert_eq!(still, [a]);
        assert_eq!(reads, 1 + RESULT_READS as usize);
    }

    /// ListStackSetOperationResults is eventually consistent: results read right after the
    /// operation ended may lack a place it named, or say it is still RUNNING; they are read
    /// again until every expected place has a final result (SDK-level mock: AWS's lag is not
    /// emulated here), and at most RESULT_READS times more, never taken for success.
    #[tokio::test]
    async fn mocked_results_are_read_again_until_every_place_has_a_final_one() {
        let place = [("111122223333", "eu-west-1")];
        // The place's final status as read at last, and how many reads it took.
        async fn read(
            answers: Vec<Option<&'static str>>,
            expected: &[(&str, &str)],
        ) -> (Option<String>, usize) {
            let (op, results) = (succeeded(), results_read(answers));
            let clients = Rules {
                cfn: vec![&op, &results],
                ..Default::default()
            }
            .clients();
            let api = Api::new(&clients.cfn, CallAs::Holder);
            let ended = wait(api, "s", "op", Polling::immediate(), 3, expected)
                .await
                .unwrap();
            let status = ended
                .result("111122223333", "eu-west-1")
                .map(|r| r.status.clone());
            (status, results.num_calls())
        }
        assert_eq!(
            read(vec![None, Some("RUNNING"), Some("SUCCEEDED")], &place).await,
            (Some("SUCCEEDED".into()), 3)
        );
        // Without a final result for the place, the reads stop after RESULT_READS more, and
        // the place is not SUCCEEDED.
        assert_eq!(
            read(vec![Some("RUNNING")], &place).await,
            (Some("RUNNING".into()), 1 + RESULT_READS as usize)
        );
        // Nothing expected: one read.
        assert_eq!(read(vec![None], &[]).await, (None, 1));
        // A whole unit's region (account ""): read again until it has a result, and every
        // result there is final.
        assert_eq!(
            read(
                vec![None, Some("RUNNING"), Some("SUCCEEDED")],
                &[("", "eu-west-1")]
            )
            .await,
            (Some("SUCCEEDED".into()), 3)
        );
    }

    /// UpdateStackSet names every instance when it names no account: only `None` says so; a
    /// group without an account or a region is refused before anything is sent (SDK-level
    /// mock: the request is checked, not AWS's answer).
    #[tokio::test]
    async fn mocked_an_update_names_every_instance_only_when_asked_to() {
        let empty = BTreeMap::new();
        let d = desired("qfleet-orders-data", &empty, false);
        let prefs = Preferences {
            region_order: vec!["eu-west-1".into()],
            regions_in_parallel: false,
            max_concurrent_accounts: 1,
            failure_tolerance: 0,
        };
        let every = mock!(aws_sdk_cloudformation::Client::update_stack_set)
            .match_requests(|r| r.accounts().is_empty() && r.regions().is_empty())
            .then_output(|| UpdateStackSetOutput::builder().operation_id("all").build());
        let named = mock!(aws_sdk_cloudformation::Client::update_stack_set)
            .match_requests(|r| r.accounts() == ["111122223333"] && r.regions() == ["eu-west-1"])
            .then_output(|| UpdateStackSetOutput::builder().operation_id("one").build());
        let clients = Rules {
            cfn: vec![&every, &named],
            ..Default::default()
        }
        .clients();
        let cfn = Api::new(&clients.cfn, CallAs::Holder);
        assert_eq!(update(cfn, &d, None, &prefs, "t").await.unwrap(), "all");
        let one = Group {
            accounts: vec!["111122223333".into()],
            regions: vec!["eu-west-1".into()],
            ..Group::default()
        };
        assert_eq!(
            update(cfn, &d, Some(&one), &prefs, "t").await.unwrap(),
            "one"
        );
        for empty in [
            Group {
                accounts: Vec::new(),
                regions: vec!["eu-west-1".into()],
                ..Group::default()
            },
            Group {
                accounts: vec!["111122223333".into()],
                regions: Vec::new(),
                ..Group::default()
            },
            // Whole units: without a unit, or with an account besides.
            Group {
                regions: vec!["eu-west-1".into()],
                whole_units: true,
                ..Group::default()
            },
            Group {
                accounts: vec!["111122223333".into()],
                regions: vec!["eu-west-1".into()],
                organizational_units: vec!["ou-ab12-34cd56ef".into()],
                whole_units: true,
            },
        ] {
            let err = update(cfn, &d, Some(&empty), &prefs, "t")
                .await
                .unwrap_err();
            assert!(err.to_string().contains("nothing was sent"), "{err}");
        }
        assert_eq!((every.num_calls(), named.num_calls()), (1, 1));
    }

    /// Service-managed permissions (SDK-level mocks: the requests are checked, as AWS
    /// documents them; no emulator here runs StackSets with AWS Organizations): the stack set
    /// is created SERVICE_MANAGED without roles and with automatic deployment off, and every
    /// call on instances names the accounts within their units (INTERSECTION), never a unit
    /// alone, nor `Accounts` (which service-managed stack sets do not take).
    #[tokio::test]
    async fn mocked_service_managed_calls_name_the_accounts_within_their_units() {
        use aws_sdk_cloudformation::operation::{
            create_stack_instances::CreateStackInstancesOutput,
            create_stack_set::CreateStackSetOutput,
            delete_stack_instances::DeleteStackInstancesOutput,
        };
        use aws_sdk_cloudformation::types::{AccountFilterType, PermissionModels};
        let within = |t: Option<&DeploymentTargets>, accounts: &[&str], units: &[&str]| {
            t.is_some_and(|t| {
                t.account_filter_type() == Some(&AccountFilterType::Intersection)
                    && t.accounts() == accounts
                    && t.organizational_unit_ids() == units
            })
        };
        let empty = BTreeMap::new();
        let d = desired("qfleet-orders-data", &empty, true);
        let prefs = Preferences::default();
        let created = mock!(aws_sdk_cloudformation::Client::create_stack_set)
            .match_requests(|r| {
                r.permission_model() == Some(&PermissionModels::ServiceManaged)
                    && r.auto_deployment().and_then(|a| a.enabled()) == Some(false)
                    && r.administration_role_arn().is_none()
                    && r.execution_role_name().is_none()
            })
            .then_output(|| CreateStackSetOutput::builder().stack_set_id("id").build());
        let instances = mock!(aws_sdk_cloudformation::Client::create_stack_instances)
            .match_requests(move |r| {
                r.accounts().is_empty()
                    && r.regions() == ["eu-west-1"]
                    && within(
                        r.deployment_targets(),
                        &["111122223333", "444455556666"],
                        &["ou-ab12-34cd56ef", "ou-ab12-99zz88yy"],
                    )
            })
            .then_output(|| {
                CreateStackInstancesOutput::builder()
                    .operation_id("c")
                    .build()
            });
        let updated = mock!(aws_sdk_cloudformation::Client::update_stack_set)
            .match_requests(move |r| {
                r.accounts().is_empty()
                    && within(
                        r.deployment_targets(),
                        &["111122223333"],
                        &["ou-ab12-34cd56ef"],
                    )
            })
            .then_output(|| UpdateStackSetOutput::builder().operation_id("u").build());
        let deleted = mock!(aws_sdk_cloudformation::Client::delete_stack_instances)
            .match_requests(move |r| {
                r.accounts().is_empty()
                    && r.retain_stacks() == Some(true)
                    && within(
                        r.deployment_targets(),
                        &["111122223333"],
                        &["ou-ab12-34cd56ef"],
                    )
            })
            .then_output(|| {
                DeleteStackInstancesOutput::builder()
                    .operation_id("d")
                    .build()
            });
        let clients = Rules {
            cfn: vec![&created, &instances, &updated, &deleted],
            ..Default::default()
        }
        .clients();
        let cfn = Api::new(&clients.cfn, CallAs::Holder);
        create(cfn, &d).await.unwrap();
        let both = Group {
            accounts: vec!["111122223333".into(), "444455556666".into()],
            regions: vec!["eu-west-1".into()],
            organizational_units: vec!["ou-ab12-34cd56ef".into(), "ou-ab12-99zz88yy".into()],
            whole_units: false,
        };
        assert_eq!(
            create_instances(cfn, d.name, &both, &prefs, "t")
                .await
                .unwrap(),
            "c"
        );
        let one = Group {
            accounts: vec!["111122223333".into()],
            regions: vec!["eu-west-1".into()],
            organizational_units: vec!["ou-ab12-34cd56ef".into()],
            whole_units: false,
        };
        assert_eq!(update(cfn, &d, Some(&one), &prefs, "t").await.unwrap(), "u");
        let op = delete_instance(
            cfn,
            d.name,
            "111122223333",
            Some("ou-ab12-34cd56ef"),
            "eu-west-1",
            true,
            "t",
        )
        .await
        .unwrap();
        assert_eq!(op, "d");
        assert_eq!(
            [
                created.num_calls(),
                instances.num_calls(),
                updated.num_calls(),
                deleted.num_calls()
            ],
            [1, 1, 1, 1]
        );
    }

    /// A delegated administrator's calls (SDK-level mocks): every call qfleet makes on the
    /// stack sets says CallAs DELEGATED_ADMIN, since the stack sets are the management
    /// account's; with the default, none says anything (SELF).
    #[tokio::test]
    async fn mocked_a_delegated_administrator_says_so_in_every_call() {
        use aws_sdk_cloudformation::operation::{
            create_stack_instances::CreateStackInstancesOutput,
            create_stack_set::CreateStackSetOutput,
            delete_stack_instances::DeleteStackInstancesOutput,
            delete_stack_set::DeleteStackSetOutput, describe_stack_set::DescribeStackSetOutput,
            describe_stack_set_operation::DescribeStackSetOperationOutput,
            list_stack_instances::ListStackInstancesOutput,
            list_stack_set_operation_results::ListStackSetOperationResultsOutput,
            update_stack_instances::UpdateStackInstancesOutput,
        };
        use aws_sdk_cloudformation::types::{CallAs as Sdk, StackSet as SdkSet, StackSetOperation};
        for (call_as, want) in [
            (CallAs::DelegatedAdmin, Some(Sdk::DelegatedAdmin)),
            (CallAs::Holder, None),
        ] {
            // A rule that answers `operation` only when the call says `want`.
            macro_rules! as_wanted {
                ($operation:path, $answer:expr) => {
                    mock!($operation)
                        .match_requests({
                            let w = want.clone();
                            move |r| r.call_as() == w.as_ref()
                        })
                        .then_output($answer)
                };
            }
            let rules = [
                as_wanted!(aws_sdk_cloudformation::Client::describe_stack_set, || {
                    DescribeStackSetOutput::builder()
                        .stack_set(SdkSet::builder().stack_set_name("s").build())
                        .build()
                }),
                as_wanted!(aws_sdk_cloudformation::Client::create_stack_set, || {
                    CreateStackSetOutput::builder().build()
                }),
                as_wanted!(aws_sdk_cloudformation::Client::update_stack_set, || {
                    UpdateStackSetOutput::builder().operation_id("u").build()
                }),
                as_wanted!(
                    aws_sdk_cloudformation::Client::create_stack_instances,
                    || {
                        CreateStackInstancesOutput::builder()
                            .operation_id("c")
                            .build()
                    }
                ),
                as_wanted!(
                    aws_sdk_cloudformation::Client::update_stack_instances,
                    || {
                        UpdateStackInstancesOutput::builder()
                            .operation_id("i")
                            .build()
                    }
                ),
                as_wanted!(aws_sdk_cloudformation::Client::list_stack_instances, || {
                    ListStackInstancesOutput::builder().build()
                }),
                as_wanted!(
                    aws_sdk_cloudformation::Client::describe_stack_set_operation,
                    || {
                        DescribeStackSetOperationOutput::builder()
                            .stack_set_operation(
                                StackSetOperation::builder()
                                    .status(StackSetOperationStatus::Succeeded)
                                    .build(),
                            )
                            .build()
                    }
                ),
                as_wanted!(
                    aws_sdk_cloudformation::Client::list_stack_set_operation_results,
                    || ListStackSetOperationResultsOutput::builder().build()
                ),
                as_wanted!(
                    aws_sdk_cloudformation::Client::delete_stack_instances,
                    || {
                        DeleteStackInstancesOutput::builder()
                            .operation_id("d")
                            .build()
                    }
                ),
                as_wanted!(aws_sdk_cloudformation::Client::delete_stack_set, || {
                    DeleteStackSetOutput::builder().build()
                }),
            ];
            let clients = Rules {
                cfn: rules.iter().collect(),
                ..Default::default()
            }
            .clients();
            let api = Api::new(&clients.cfn, call_as);
            let empty = BTreeMap::new();
            let d = desired("s", &empty, true);
            let group = Group {
                accounts: vec!["111122223333".into()],
                regions: vec!["eu-west-1".into()],
                organizational_units: vec!["ou-ab12-34cd56ef".into()],
                whole_units: false,
            };
            let prefs = Preferences::default();
            assert!(describe(api, "s").await.unwrap().is_some());
            create(api, &d).await.unwrap();
            update(api, &d, Some(&group), &prefs, "t").await.unwrap();
            create_instances(api, "s", &group, &prefs, "t")
                .await
                .unwrap();
            update_instances(api, "s", &group, &prefs, "t")
                .await
                .unwrap();
            instances(api, "s").await.unwrap();
            wait(api, "s", "op", Polling::immediate(), 1, &[])
                .await
                .unwrap();
            delete_instance(
                api,
                "s",
                "111122223333",
                Some("ou-ab12-34cd56ef"),
                "eu-west-1",
                true,
                "t",
            )
            .await
            .unwrap();
            delete(api, "s").await.unwrap();
            for r in &rules {
                assert_eq!(r.num_calls(), 1, "{call_as:?}");
            }
        }
    }
}
