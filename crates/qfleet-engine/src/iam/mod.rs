//! The least-privilege policy a deploying principal (a CI's OIDC role, an engineer) needs for
//! a set of environments (`qfleet iam-policy`):
//! - qfleet's own calls in deploy, plan, outputs, status, drift and teardown ([`calls`]);
//! - what CloudFormation's handlers call for every resource type in the rendered templates,
//!   with both kinds of fleet (a deploy may switch `workers.kind`) (the registry schemas list
//!   them; [`reference`]);
//! - `iam:PassRole` on the worker role, only to EC2 and Lambda (either kind of workers: a
//!   deploy may switch `workers.kind`), ECS tasks, and CodeDeploy (the role that shifts a
//!   worker function's alias); with `service_role_arn`, on that role, only to
//!   CloudFormation;
//! - resources scoped to the environment's names ([`scope`]); every copy of one stack file by
//!   one name pattern (`lab-??`); `"*"` only for actions that support no resource type (and
//!   [`OPTIONAL_TYPES_ONLY`]); an action whose resource types are none of the environment's is
//!   not granted, nor a name AWS's reference does not know; no wildcard action.
//!
//! With `service_role_arn` CloudFormation acts as the service role: the caller keeps qfleet's
//! own calls and the right to pass that role; the handlers' permissions go to the service role.
//! A target deployed through StackSets has the roles of that mode ([`stack_sets`]).

pub mod calls;
mod policies;
mod policy;
pub mod reference;
mod scope;
mod stack_set_roles;
#[cfg(test)]
mod tests;

pub use policies::{Own, Policies, policies};
pub use policy::MANAGED_POLICY_LIMIT;
pub use scope::lock_bucket;

use crate::config::{Environment, WorkerKind};
use crate::error::{Error, Result};
use crate::render;
use policy::{Grants, Scope};
use scope::Place;
use std::collections::{BTreeMap, BTreeSet};

/// The permissions of the principal that runs qfleet, and of each CloudFormation service role.
#[derive(Debug, Default)]
struct Deployer {
    caller: Grants,
    /// Service role ARN → what CloudFormation needs when it acts as that role (with StackSets:
    /// the administration role, and each target account's execution role).
    service_roles: BTreeMap<String, Grants>,
    /// With StackSets: the role qfleet assumes in a target's account (its `role`) → qfleet's
    /// own calls there.
    target_roles: BTreeMap<String, Grants>,
    /// Resource types of the rendered templates, for the record.
    resource_types: BTreeSet<String>,
}

/// Managed policies one role or user may have attached: 10 by default, 20 at most after a
/// quota increase (IAM quotas, <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>).
const MANAGED_POLICIES_DEFAULT: usize = 10;
const MANAGED_POLICIES_MAX: usize = 20;

/// Whether `count` policy documents fit one principal (`who`): a warning above the default
/// quota, an error above the most AWS allows.
fn check_document_count(who: &str, count: usize) -> Result<Option<String>> {
    if count > MANAGED_POLICIES_MAX {
        return Err(Error::TooManyPolicies {
            who: who.to_string(),
            count,
            max: MANAGED_POLICIES_MAX,
        });
    }
    Ok((count > MANAGED_POLICIES_DEFAULT).then(|| {
        format!(
            "{who} needs {count} managed policies; a role or user may have \
             {MANAGED_POLICIES_DEFAULT} by default: ask AWS for a quota increase (up to \
             {MANAGED_POLICIES_MAX}), or print the policy for fewer environments at a time"
        )
    }))
}

/// The resource types a rendered template declares.
fn resource_types(template: &str) -> Result<BTreeSet<String>> {
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(template).map_err(|source| Error::TemplateUnparsable { source })?;
    Ok(doc
        .get("Resources")
        .and_then(|r| r.as_mapping())
        .into_iter()
        .flatten()
        .filter_map(|(_, r)| r.get("Type")?.as_str().map(str::to_string))
        .collect())
}

/// The environment with `kind` of workers, as it renders with its own settings or the
/// defaults (the reference handler for a function, a placeholder image for tasks: only the
/// resource types and names of the rendered templates matter here).
fn as_kind(env: &Environment, kind: WorkerKind) -> Environment {
    let mut other = env.clone();
    if env.spec.workers.kind == kind {
        return other;
    }
    other.spec.workers.kind = kind;
    match kind {
        WorkerKind::Ec2 => {}
        WorkerKind::Lambda => {
            other.function_code = Some(crate::package::FunctionCode {
                text: crate::package::REFERENCE_HANDLER.to_string(),
                handler: "index.handler".into(),
                package: None,
            });
        }
        WorkerKind::Fargate | WorkerKind::EcsManaged => {
            if other.spec.workers.image.is_none() {
                other.spec.workers.image = Some(crate::config::ImageSetting::Uri(
                    "public.ecr.aws/docker/library/python:3.12".into(),
                ));
            }
        }
    }
    other
}

/// The environment as it would be with a high-resolution metric's publisher (an EC2 fleet with
/// `scaling.metric: high_resolution`), when it has none now; `None` when it has one, or where
/// AWS does not offer the metric (GovCloud).
fn with_publisher(env: &Environment) -> Option<Environment> {
    use crate::config::ScalingMetric;
    if env.spec.region.starts_with("us-gov-") {
        return None;
    }
    let mut with = match env.spec.workers.kind {
        WorkerKind::Ec2 if env.spec.scaling.metric == ScalingMetric::HighResolution => return None,
        WorkerKind::Ec2 => env.clone(),
        WorkerKind::Lambda | WorkerKind::Fargate | WorkerKind::EcsManaged => {
            as_kind(env, WorkerKind::Ec2)
        }
    };
    with.spec.scaling.metric = ScalingMetric::HighResolution;
    Some(with)
}

/// What the principal that creates or updates a function from a container image needs on the
/// image's ECR repository.
const IMAGE_ACTIONS: [&str; 2] = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

/// What the printed policy leaves to the image's repository policy, one line per environment
/// with a function from a container image: Lambda pulls as the Lambda service, which the
/// repository policy must allow (it adds that statement itself only for a caller with
/// ecr:SetRepositoryPolicy, which the policy does not grant).
fn repository_notes(envs: &[Environment], account: &str) -> Vec<String> {
    envs.iter()
        // qfleet sets the policy of the repository it builds into.
        .filter(|env| env.stages().iter().all(|s| s.image_build.is_none()))
        .filter_map(|env| {
            let repo = Place::new(env, account).image_repository()?;
            Some(format!(
                "{}: the repository policy of {repo} must allow the Lambda service principal (lambda.amazonaws.com) ecr:BatchGetImage and ecr:GetDownloadUrlForLayer; this policy does not grant ecr:SetRepositoryPolicy, with which Lambda would add that statement itself (docs/workers.md, \"A container image\")",
                env.name
            ))
        })
        .collect()
}

/// Actions whose resource types the Service Authorization Reference lists as optional only,
/// which qfleet and the handlers call without naming such a resource: AWS then authorizes
/// them on `"*"`. `cloudwatch:GetMetricData` (qfleet's backlog metric, a target-tracking
/// policy's validation) names no dataset; CloudWatch's own example policy grants it on `"*"`.
const OPTIONAL_TYPES_ONLY: &[&str] = &["cloudwatch:GetMetricData"];

/// The scope of `action` in one environment, or `None` when it is not granted:
/// - an action AWS's reference does not know is no IAM action (`s3:PutBucketReplication` is
///   an API operation; the action is `s3:PutReplicationConfiguration`);
/// - an action that supports no resource type is on `"*"`, the only resource it accepts;
/// - otherwise on this environment's resources of the types it names; an action none of whose
///   types is a resource of this environment is needed only for resources qfleet's templates
///   do not declare (users, groups, S3 tables, VPC Lattice target groups, a KMS key the stack
///   file does not set) and is not granted.
fn scope_of(reference: &reference::Reference, place: &Place, action: &str) -> Option<Scope> {
    let types = reference.resource_types(action)?;
    if types.is_empty() || OPTIONAL_TYPES_ONLY.contains(&action) {
        return Some(Scope::any());
    }
    place.arns(action, types).map(Scope::on)
}

/// The environments as scoped: every copy of one stack file (`lab-01` … `lab-30`, all of them
/// named) stands as one environment whose name is the copies' pattern (`lab-??`), so that IAM's
/// `?` wildcard (one character) names them all in one ARN; others as they are. Each comes with
/// an environment to render (a real copy).
fn scoped(envs: &[Environment]) -> Vec<(Environment, &Environment)> {
    let mut out = Vec::new();
    let mut done = BTreeSet::new();
    for (i, env) in envs.iter().enumerate() {
        if done.contains(&i) {
            continue;
        }
        let group = copy_group(envs, env);
        match group {
            Some((pattern, members)) => {
                done.extend(members);
                let mut pattern_env = env.clone();
                pattern_env.name = pattern;
                out.push((pattern_env, env));
            }
            None => out.push((env.clone(), env)),
        }
    }
    out
}

/// When `env` is a copy and every copy of its stack file is in `envs`: the copies' name
/// pattern and their indexes in `envs`.
fn copy_group(envs: &[Environment], env: &Environment) -> Option<(String, Vec<usize>)> {
    let n = env.spec.copies.filter(|n| *n >= 2)?;
    let (base, number) = env.name.rsplit_once('-')?;
    let copies: BTreeSet<String> = crate::config::copy_names(base, n).into_iter().collect();
    if !copies.contains(&env.name) {
        return None;
    }
    let members: Vec<usize> = envs
        .iter()
        .enumerate()
        .filter(|(_, e)| e.source.path == env.source.path && copies.contains(&e.name))
        .map(|(i, _)| i)
        .collect();
    if members.len() != copies.len() {
        return None;
    }
    Some((format!("{base}-{}", "?".repeat(number.len())), members))
}

/// The services the roles of a fleet with these resource types are passed to: the one that
/// runs each resource that takes a role.
fn passed_to(types: &BTreeSet<String>) -> Vec<&'static str> {
    [
        ("AWS::EC2::LaunchTemplate", "ec2.amazonaws.com"),
        ("AWS::Lambda::Function", "lambda.amazonaws.com"),
        // The operator role Lambda manages a capacity provider's instances as ("Lambda
        // operator role for Lambda Managed Instances": trusted by lambda.amazonaws.com,
        // https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-operator-role.html).
        ("AWS::Lambda::CapacityProvider", "lambda.amazonaws.com"),
        ("AWS::ECS::TaskDefinition", "ecs-tasks.amazonaws.com"),
        // A Managed Instances capacity provider takes the infrastructure role and the
        // instance profile's role: "You must have the iam:PassRole permission for this role
        // with the condition iam:PassedToService: ecs.amazonaws.com"
        // (https://docs.aws.amazon.com/batch/latest/APIReference/API_ManagedInstancesProvider.html).
        ("AWS::ECS::CapacityProvider", "ecs.amazonaws.com"),
        // The role CodeDeploy shifts a worker function's alias as (its deployment group's
        // service role).
        (
            "AWS::CodeDeploy::DeploymentGroup",
            "codedeploy.amazonaws.com",
        ),
    ]
    .into_iter()
    .filter(|(t, _)| types.contains(*t))
    .map(|(_, service)| service)
    .collect()
}

/// What deletes resources of `types` (their delete handlers' calls) scoped to `place`, and
/// nothing that passes a role or creates a service-linked one.
fn grant_deletions(
    grants: &mut Grants,
    reference: &reference::Reference,
    place: &Place,
    types: &BTreeSet<String>,
) -> Result<()> {
    for t in types {
        for action in &reference.handlers_of(t)?.delete {
            if action == "iam:PassRole" || action == "iam:CreateServiceLinkedRole" {
                continue;
            }
            if let Some(scope) = scope_of(reference, place, action) {
                grants.add(action, scope);
            }
        }
    }
    Ok(())
}

/// The environment as it would be with its function on Lambda Managed Instances, for the
/// names of the capacity provider a deploy may have to delete.
fn with_managed_instances(env: &Environment) -> Environment {
    let mut with = env.clone();
    with.spec.workers.kind = WorkerKind::Lambda;
    with.spec.workers.lambda.managed_instances = Some(Default::default());
    with
}

/// What one environment needs, by who needs it.
#[derive(Debug, Default)]
struct EnvironmentGrants {
    /// qfleet's own calls on the environment's stacks and resources, by whoever qfleet acts as
    /// in its account.
    reader: Grants,
    /// What CloudFormation's handlers call: the caller's, a service role's or (StackSets) the
    /// target account's execution role's.
    handlers: Grants,
    /// The resource types of its rendered templates.
    types: BTreeSet<String>,
}

/// The deploying policy for `envs` in `account` (for StackSets targets, `account` is the one
/// that holds the stack sets, [`stack_sets`]).
fn for_environments(envs: &[Environment], account: &str) -> Result<Deployer> {
    let reference = reference::get()?;
    let mut d = Deployer::default();
    for (scoped_env, env) in scoped(envs) {
        if env.through_stack_sets() {
            stack_set_roles::grant(&mut d, reference, env, account)?;
            continue;
        }
        let place = Place::new(&scoped_env, account);
        let g = grant_environment(reference, env, &place)?;
        d.caller.extend(g.reader);
        match &env.spec.service_role_arn {
            Some(role) => {
                d.caller.add(
                    "iam:PassRole",
                    Scope::on([role.clone()]).when(
                        "StringEquals",
                        "iam:PassedToService",
                        "cloudformation.amazonaws.com",
                    ),
                );
                // The caller's change set resolves an AMI parameter too.
                if env.spec.workers.machine_image().starts_with('/')
                    && let Some(scope) = scope_of(reference, &place, "ssm:GetParameters")
                {
                    d.caller.add("ssm:GetParameters", scope);
                }
                d.service_roles
                    .entry(role.clone())
                    .or_default()
                    .extend(g.handlers);
            }
            None => d.caller.extend(g.handlers),
        }
        d.resource_types.extend(g.types);
    }
    Ok(d)
}

/// The repository of the images qfleet builds (`qfleet/ENV`): teardown reads and empties it
/// in every environment whose data stack records one; the rest only where the file builds.
/// The login and the registry's scanning configuration support no resource type: `"*"`.
fn grant_images(g: &mut EnvironmentGrants, env: &Environment, place: &Place) {
    let own = || Scope::on([place.own_repository()]);
    let builds = env.stages().iter().any(|s| s.image_build.is_some());
    for call in calls::IMAGE_CALLS {
        let teardown = calls::IMAGE_TEARDOWN.contains(&call.operation);
        if !teardown && !builds {
            continue;
        }
        for action in call.actions {
            let scope = match *action {
                "ecr:GetAuthorizationToken" | "ecr:GetRegistryScanningConfiguration" => {
                    Scope::any()
                }
                _ => own(),
            };
            g.reader.add(action, scope);
        }
    }
    if builds {
        for action in calls::PUSH_ACTIONS {
            g.reader.add(action, own());
        }
        // An image promoted from another environment: its repository read, and which image its
        // fleet stack for the stage runs (GetTemplate).
        for stage in env.stages() {
            let Some(from) = crate::config::promote_from(stage) else {
                continue;
            };
            for action in calls::PROMOTE_SOURCE {
                g.reader.add(action, Scope::on([place.repository_of(from)]));
            }
            g.reader.add(
                "cloudformation:GetTemplate",
                Scope::on([place.stack_arn_of(&stage.fleet_stack_name_in(from))]),
            );
        }
        // A repository encrypted with the file's key: ECR makes a grant on the key when it
        // creates the repository and retires it when it deletes it ("Encryption at rest",
        // Amazon ECR User Guide: kms:DescribeKey, kms:CreateGrant, kms:RetireGrant).
        if let Some(key) = &env.spec.kms_key {
            for action in ["kms:DescribeKey", "kms:CreateGrant", "kms:RetireGrant"] {
                g.reader.add(action, Scope::on([key.clone()]));
            }
        }
    }
}

/// One run at a time (`src/lock.rs`): qfleet's lock bucket of the account and Region (made on
/// first use, then read) and the environment's own lock object in it, read and written. Not
/// for a StackSets target, whose stacks StackSets changes one operation at a time.
fn grant_lock(g: &mut EnvironmentGrants, place: &Place) {
    if place.stack_sets.is_some() {
        return;
    }
    let bucket = || Scope::on([place.lock_bucket()]);
    for call in calls::LOCK_CALLS {
        for action in call.actions {
            if *action != "s3:GetObject" {
                g.reader.add(action, bucket());
            }
        }
    }
    for action in ["s3:ListBucket", "s3:GetBucketTagging"] {
        g.reader.add(action, bucket());
    }
    for action in ["s3:GetObject", "s3:PutObject"] {
        g.reader.add(action, Scope::on([place.lock_object()]));
    }
}

/// The grants of `env` (rendered as itself) at `place` (its names, or its copies' pattern).
fn grant_environment(
    reference: &reference::Reference,
    env: &Environment,
    place: &Place,
) -> Result<EnvironmentGrants> {
    let mut g = EnvironmentGrants::default();
    for call in calls::CALLS {
        if place.stack_sets.is_some()
            && call.service == "cloudformation"
            && calls::NOT_ON_STACK_SET_INSTANCES.contains(&call.operation)
        {
            continue;
        }
        for action in call.actions {
            if let Some(scope) = scope_of(reference, place, action) {
                g.reader.add(action, scope);
            }
        }
    }
    // alerts' chat channels: plan reads the authorised workspaces and teams.
    if env.spec.alerts.as_ref().is_some_and(|a| a.chat()) {
        for call in calls::CHAT_CALLS {
            for action in call.actions {
                g.reader.add(action, Scope::any());
            }
        }
    }
    // status with a budget reads its spend, on the environment's own budget.
    if env.spec.budget.is_some() {
        for call in calls::BUDGET_CALLS {
            for action in call.actions {
                let arns = place.arns_of_type(action, "budgets", "budget");
                g.reader.add(action, Scope::on(arns));
            }
        }
    }
    // A deploy that turns the budget hold off invokes the hold's function, which gives the
    // held fleets back: its own function alone.
    for call in calls::HOLD_CALLS {
        for action in call.actions {
            g.reader
                .add(action, Scope::on([place.budget_hold_function()]));
        }
    }
    // A deploy that takes a stage out of the stack file first checks that the stage's fleet
    // stack is gone (deploy::flow::removed_stages): a stack the file no longer names.
    g.reader.add(
        "cloudformation:DescribeStacks",
        Scope::on([place.stage_stacks()]),
    );
    // The search for the environments the file made and no longer makes, under any name:
    // only an owner ties one to the file by the file's name.
    if let Some(others) = place
        .other_data_stacks()
        .filter(|_| env.spec.owner.is_some())
    {
        g.reader
            .add("cloudformation:DescribeStacks", Scope::on([others]));
    }
    // And where a file moved to another Region ran before.
    if let Some(moved) = place.moved_stacks() {
        g.reader
            .add("cloudformation:DescribeStacks", Scope::on([moved]));
    }
    // Every kind of fleet: a deploy that switches workers.kind creates the new kind's
    // resources and deletes the other's, and it runs under the policy printed before the
    // stack file changed (a pipeline's role is set up ahead of its deploys); a teardown
    // deletes whichever kind is deployed.
    let mut types = BTreeSet::new();
    for kind in WorkerKind::ALL {
        for stack in render::render(&as_kind(env, kind))? {
            types.extend(resource_types(&stack.template)?);
        }
    }
    let handler_grants = &mut g.handlers;
    for t in &types {
        for action in reference.handlers_of(t)?.all() {
            match action {
                // Only the fleet's roles, only to the services the templates pass them to:
                // EC2 (the instance profile's role), Lambda (a function's execution role:
                // the workers' or the backlog metric's publisher's), ECS tasks (the task
                // and execution roles).
                "iam:PassRole" => {
                    for service in passed_to(&types) {
                        handler_grants.add(
                            action,
                            Scope::on([place.worker_role()]).when(
                                "StringEquals",
                                "iam:PassedToService",
                                service,
                            ),
                        );
                    }
                    // The data stack's roles (the schedules', the job sweeper's): one name
                    // pattern covers both, so each may be passed to these services only.
                    let data_roles = [
                        (place.scheduler_role(), "scheduler.amazonaws.com"),
                        (place.sweeper_role(), "lambda.amazonaws.com"),
                        (place.budget_hold_role(), "lambda.amazonaws.com"),
                        // alerts' chat channels: Amazon Q Developer in chat applications.
                        (place.chat_role(), "chatbot.amazonaws.com"),
                        // alerts.topic in another account: EventBridge's execution role.
                        (place.team_topic_role(), "events.amazonaws.com"),
                    ];
                    for (role, service) in data_roles {
                        if let Some(role) = role {
                            handler_grants.add(
                                action,
                                Scope::on([role]).when(
                                    "StringEquals",
                                    "iam:PassedToService",
                                    service,
                                ),
                            );
                        }
                    }
                }
                // The first group, cluster or scalable target in an account creates its
                // service's own role: only the role of the type that asks.
                "iam:CreateServiceLinkedRole" => {
                    for (role, service) in place.service_linked_roles(t) {
                        handler_grants.add(
                            action,
                            Scope::on([role]).when("StringEquals", "iam:AWSServiceName", service),
                        );
                    }
                }
                _ => {
                    if let Some(scope) = scope_of(reference, place, action) {
                        handler_grants.add(action, scope);
                    }
                }
            }
        }
    }
    // A deploy that turns `scaling.metric: high_resolution` off (or switches such a fleet
    // to a function) deletes the metric's publisher: its rule, invoke permission, function,
    // role and log group. The delete handlers' calls on the publisher's names, so that the
    // policy of the file without the setting allows that deploy; nothing that creates or
    // changes a publisher.
    if let (Some(with_env), Some(with_scoped)) = (with_publisher(env), with_publisher(place.env)) {
        let with_place = Place {
            env: &with_scoped,
            account: place.account,
            stack_sets: place.stack_sets,
        };
        let mut with_types = BTreeSet::new();
        for stack in render::render(&with_env)? {
            with_types.extend(resource_types(&stack.template)?);
        }
        with_types.retain(|t| reference.handlers.contains_key(t));
        grant_deletions(handler_grants, reference, &with_place, &with_types)?;
    }
    // A deploy that turns `workers.lambda.managed_instances` off (or switches such a function
    // to another kind) deletes its capacity provider: the provider's delete handler's calls
    // on the environment's provider names, so that the policy of the file without the block
    // allows that deploy; nothing that creates a provider or puts a function on one. The
    // operator role is one of the fleet's roles, whose deletion every policy grants.
    const CAPACITY_PROVIDER: &str = "AWS::Lambda::CapacityProvider";
    if !types.contains(CAPACITY_PROVIDER) {
        let with_scoped = with_managed_instances(place.env);
        let with_place = Place {
            env: &with_scoped,
            account: place.account,
            stack_sets: place.stack_sets,
        };
        let only = BTreeSet::from([CAPACITY_PROVIDER.to_string()]);
        grant_deletions(handler_grants, reference, &with_place, &only)?;
    }
    // A function from a container image: Lambda checks that the principal creating or
    // updating the function may read the image (Lambda developer guide, "Amazon ECR
    // permissions", https://docs.aws.amazon.com/lambda/latest/dg/images-create.html; the
    // AWS Knowledge Center, https://repost.aws/knowledge-center/lambda-ecr-image), on that
    // repository only. ecr:GetRepositoryPolicy and ecr:SetRepositoryPolicy, with which
    // Lambda adds its own pull statement to a repository policy that lacks it, are not
    // granted: SetRepositoryPolicy could rewrite who may read the repository; the
    // repository policy names Lambda instead (docs/workers.md).
    if place.image_repository().is_some() {
        for action in IMAGE_ACTIONS {
            if let Some(scope) = scope_of(reference, place, action) {
                handler_grants.add(action, scope);
            }
        }
    }
    // An AMI given as an SSM parameter is resolved when the stack's template is.
    if env.spec.workers.machine_image().starts_with('/')
        && let Some(scope) = scope_of(reference, place, "ssm:GetParameters")
    {
        handler_grants.add("ssm:GetParameters", scope);
    }
    grant_images(&mut g, env, place);
    grant_lock(&mut g, place);
    g.types = types;
    Ok(g)
}
