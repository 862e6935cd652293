//! The policies of a target deployed through CloudFormation StackSets (`rollout.mode:
//! stack_sets`, self-managed permissions, "Grant self-managed permissions",
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html>):
//! - the caller, in the account that holds the stack sets: qfleet's StackSets calls on the
//!   file's stack sets, their targets' accounts and the resource types of their templates;
//!   iam:PassRole on the administration role, only to CloudFormation; sts:AssumeRole on the
//!   role qfleet assumes in a target's account;
//! - the administration role: sts:AssumeRole on the execution role of each target's account;
//! - each target account's execution role: what CloudFormation's handlers call for the
//!   target's resources (as a service role would), and CloudFormation's own calls on the
//!   target's instance stacks;
//! - whoever qfleet acts as in a target's account (its `role`, else the caller): qfleet's own
//!   calls on the target's stacks and resources (status, drift, dlq, the bake's alarms,
//!   teardown's checks and purges).
//!
//! A target's stacks are its stack sets' instances, named `StackSet-` and the stack set's name
//! and an id ([`Place::stack_sets`]): every name CloudFormation generates starts there.

use super::policy::Scope;
use super::scope::{Place, partition};
use super::{Deployer, calls, grant_environment, reference::Reference};
use crate::config::{Environment, PermissionModel};
use crate::error::{Error, Result};
use std::collections::BTreeSet;

/// The administration role StackSets uses when the file names none, in the account that holds
/// the stack sets, and the execution role it assumes in each target's account when the file
/// names none (the page above).
const DEFAULT_ADMINISTRATION_ROLE: &str = "AWSCloudFormationStackSetAdministrationRole";
const DEFAULT_EXECUTION_ROLE: &str = "AWSCloudFormationStackSetExecutionRole";

/// What the execution role calls on its instance's stack in the target account. AWS names
/// `cloudformation:*` on any resource as its minimum ("Your target account always needs full
/// CloudFormation permissions, which include permissions to create, update, delete, and
/// describe stacks", the page above; an earlier version of the page added `s3:*`, which it no
/// longer names) and documents no narrower list: these are every CloudFormation action on a
/// stack (a test checks the list against the Service Authorization Reference) but moving
/// resources between stacks (stack refactors), granted on the target's instance stacks only.
const EXECUTION_ON_STACKS: &[&str] = &[
    "cloudformation:CancelUpdateStack",
    "cloudformation:ContinueUpdateRollback",
    "cloudformation:CreateChangeSet",
    "cloudformation:CreateStack",
    "cloudformation:DeleteChangeSet",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeChangeSet",
    "cloudformation:DescribeChangeSetHooks",
    "cloudformation:DescribeEvents",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResource",
    "cloudformation:DescribeStackResourceDrifts",
    "cloudformation:DescribeStackResources",
    "cloudformation:DescribeStacks",
    "cloudformation:DetectStackDrift",
    "cloudformation:DetectStackResourceDrift",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:GetStackPolicy",
    "cloudformation:GetTemplate",
    "cloudformation:GetTemplateSummary",
    "cloudformation:ListChangeSets",
    "cloudformation:ListHookResults",
    "cloudformation:ListStackResources",
    "cloudformation:RecordHandlerProgress",
    "cloudformation:RollbackStack",
    "cloudformation:SetStackPolicy",
    "cloudformation:SignalResource",
    "cloudformation:TagResource",
    "cloudformation:UntagResource",
    "cloudformation:UpdateStack",
    "cloudformation:UpdateTerminationProtection",
];

/// CloudFormation's reads that AWS lets no policy scope, which creating and describing a
/// stack may make: granted on `"*"`, as they can only be.
const EXECUTION_READS: &[&str] = &[
    "cloudformation:DescribeAccountLimits",
    "cloudformation:DescribeStackDriftDetectionStatus",
    "cloudformation:DescribeType",
    "cloudformation:ListExports",
    "cloudformation:ListImports",
    "cloudformation:ListStacks",
    "cloudformation:ValidateTemplate",
];

/// The roles of one StackSets target's file.
pub(super) struct Roles {
    /// The administration role's ARN, in the account that holds the stack sets.
    pub(super) administration: String,
    /// The execution role's ARN in the target's account.
    pub(super) execution: String,
}

/// The roles of `env`'s file, with the stack sets held in `account`.
pub(super) fn roles(env: &Environment, account: &str) -> Result<Roles> {
    let p = partition(&env.spec.region);
    let r = &env.spec.rollout;
    let target = target_account(env)?;
    Ok(Roles {
        administration: r.administration_role.clone().unwrap_or_else(|| {
            format!("arn:{p}:iam::{account}:role/{DEFAULT_ADMINISTRATION_ROLE}")
        }),
        execution: format!(
            "arn:{p}:iam::{target}:role/{}",
            r.execution_role
                .as_deref()
                .unwrap_or(DEFAULT_EXECUTION_ROLE)
        ),
    })
}

/// The target's account (validation requires one of every StackSets target), or `*` for a
/// target that stands for a whole AWS Organizations unit: its accounts are found when a
/// command runs, so its policies name any account, narrowed by the environment's own names.
fn target_account(env: &Environment) -> Result<&str> {
    if env.whole_unit() {
        return Ok("*");
    }
    env.target
        .as_ref()
        .and_then(|t| t.account.as_deref())
        .ok_or_else(|| Error::StackSetsTargetWithoutAccount {
            env: env.name.clone(),
        })
}

/// Adds what StackSets target `env` needs to `d`, its stack sets held in `account`.
pub(super) fn grant(
    d: &mut Deployer,
    reference: &Reference,
    env: &Environment,
    account: &str,
) -> Result<()> {
    let target = target_account(env)?;
    let file = env.file_environment();
    let file_region = match &env.target {
        Some(t) => t.file.base.spec.region.clone(),
        None => env.spec.region.clone(),
    };
    let place = Place {
        env,
        account: target,
        stack_sets: Some(file),
    };
    let g = grant_environment(reference, env, &place)?;
    let p = partition(&env.spec.region);
    // With service-managed permissions, AWS Organizations' trusted access gives StackSets its
    // roles (AWS creates and manages them, "Activate trusted access",
    // <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-activate-trusted-access.html>):
    // no administration or execution role to print, nor one to pass.
    let service_managed = env.spec.rollout.permission_model == PermissionModel::ServiceManaged;

    // qfleet's own calls, by whoever it acts as in the target's account (for a whole unit,
    // `deploy_role` in each account of it).
    let role = match env.whole_unit() {
        true => env
            .spec
            .deploy_role
            .as_ref()
            .map(|r| crate::config::role_in(r, &env.spec.region, "*")),
        false => env.target.as_ref().and_then(|t| t.role_arn.clone()),
    };
    match &role {
        Some(role) => {
            d.target_roles
                .entry(role.clone())
                .or_default()
                .extend(g.reader);
            d.caller.add("sts:AssumeRole", Scope::on([role.clone()]));
        }
        None => d.caller.extend(g.reader),
    }

    if !service_managed {
        let roles = roles(env, account)?;
        // The execution role: the handlers', and CloudFormation's on the instance stacks.
        let execution = d.service_roles.entry(roles.execution.clone()).or_default();
        execution.extend(g.handlers);
        for action in EXECUTION_ON_STACKS {
            execution.add(action, Scope::on(place.stacks()));
        }
        for action in EXECUTION_READS {
            execution.add(action, Scope::any());
        }

        // The administration role assumes the execution role in each target's account.
        d.service_roles
            .entry(roles.administration.clone())
            .or_default()
            .add("sts:AssumeRole", Scope::on([roles.execution.clone()]));

        // CreateStackSet and UpdateStackSet pass the administration role to CloudFormation
        // (the API operations table below: iam:PassRole with iam:PassedToService); "the user
        // must have permission to pass the role to CloudFormation" (the self-managed
        // permissions page).
        d.caller.add(
            "iam:PassRole",
            Scope::on([roles.administration.clone()]).when(
                "StringEquals",
                "iam:PassedToService",
                "cloudformation.amazonaws.com",
            ),
        );
    }

    // The caller's StackSets calls: on the file's stack sets (`stackset/NAME:ID`), their
    // instances in the target's account (`stackset-target/STACK-SET-ID/ACCOUNT`) and the
    // resource types of their templates (`type/resource/AWS-SQS-Queue`), the resource types
    // AWS authorizes instance operations on ("Restrict stack set operations based on Region
    // and resource types",
    // <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/security_iam_id-based-policy-examples.html>).
    // A public type's ARN has no account (AWS's own denials name
    // `arn:aws:cloudformation:us-east-1::type/resource/…`) where that page's example has `*`:
    // any account, so that either holds; `AWS-` names are AWS's own types.
    // A delegated administrator acts on stack sets the management account holds ("StackSets
    // with service-managed permissions are created in the management account, including
    // StackSets that are created by delegated administrators", CreateStackSet's CallAs,
    // <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html>),
    // an account the file does not name: any account there, the file's stack sets by name.
    let holder = match env.spec.rollout.call_as {
        crate::config::CallAs::DelegatedAdmin if service_managed => "*",
        _ => account,
    };
    let sets: Vec<String> = env
        .stack_set_names()
        .into_iter()
        .map(|(_, set)| set)
        .collect();
    let stack_sets: BTreeSet<String> = sets
        .iter()
        .map(|s| format!("arn:{p}:cloudformation:{file_region}:{holder}:stackset/{s}:*"))
        .collect();
    // With service-managed permissions a call names the account within its unit: AWS does
    // not say which of the two the stack set target of its authorization is, so both are
    // granted (each the file's own).
    let unit = env
        .target
        .as_ref()
        .and_then(|t| t.organizational_unit.as_deref())
        .filter(|_| service_managed);
    let set_targets: BTreeSet<String> = sets
        .iter()
        .flat_map(|s| {
            std::iter::once(target).chain(unit).map(move |t| {
                format!("arn:{p}:cloudformation:*:{holder}:stackset-target/{s}:*/{t}")
            })
        })
        .collect();
    let types: BTreeSet<String> = g
        .types
        .iter()
        .map(|t| {
            format!(
                "arn:{p}:cloudformation:*:*:type/resource/{}",
                t.replace("::", "-")
            )
        })
        .collect();
    for call in calls::STACK_SETS_CALLS {
        for action in call.actions {
            let Some(kinds) = reference.resource_types(action) else {
                continue;
            };
            if kinds.is_empty() {
                d.caller.add(action, Scope::any());
                continue;
            }
            let mut arns = BTreeSet::new();
            for kind in kinds {
                match kind.as_str() {
                    "stackset" => arns.extend(stack_sets.iter().cloned()),
                    "stackset-target" => arns.extend(set_targets.iter().cloned()),
                    "type" => arns.extend(types.iter().cloned()),
                    _ => {}
                }
            }
            if !arns.is_empty() {
                d.caller.add(action, Scope::on(arns));
            }
        }
    }
    d.resource_types.extend(g.types);
    Ok(())
}

#[cfg(test)]
mod tests;
