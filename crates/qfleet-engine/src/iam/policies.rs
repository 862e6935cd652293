//! The deploying policies of a set of environments in one account (`qfleet iam-policy`'s
//! result, which the root prints): the policy documents of the caller, of each role
//! CloudFormation acts as and of each role qfleet assumes, with notes on where the images
//! and trusts are.

use super::{
    Deployer, check_document_count, for_environments, policy, reference, repository_notes,
};
use crate::config::Environment;
use crate::error::Result;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The policies for every stage of `envs` (a pipeline's each stand as an environment).
pub struct Policies {
    /// Each environment (stage) with its region.
    pub environments: Vec<(String, String)>,
    pub own: Own,
    /// Notes for stderr: where the images' and code's repositories are.
    pub notes: Vec<String>,
}

/// The document's own top-level keys.
#[derive(Serialize, JsonSchema)]
pub struct Own {
    /// The account the environments live in (with StackSets, the one that holds the stack
    /// sets, where qfleet runs).
    #[schemars(extend("pattern" = "^[0-9]{12}$"))]
    pub account: String,
    /// Policy documents for the deploying principal; attach them all.
    #[schemars(extend("minItems" = 1))]
    pub caller: Vec<Value>,
    /// Each role CloudFormation acts as, by the role's ARN, with its policy documents: a
    /// stack's service role; with StackSets, the administration role and each target
    /// account's execution role.
    pub service_roles: BTreeMap<String, Vec<Value>>,
    /// With StackSets: each role qfleet assumes in a target's account (the target's `role`),
    /// by its ARN, with its policy documents (qfleet's own calls there).
    pub target_roles: BTreeMap<String, Vec<Value>>,
    /// The resource types of the rendered templates.
    pub resource_types: BTreeSet<String>,
    /// Where the handlers' permissions come from (AWS's resource schemas, and when).
    pub source: String,
    /// What to know before attaching them (more managed policies than IAM's default quota).
    pub warnings: Vec<String>,
}

/// What the principal that assumes the targets' roles needs besides: the policy is the role's.
fn role_note(envs: &[Environment]) -> Option<String> {
    let roles: BTreeSet<&str> = envs
        .iter()
        .filter(|e| !e.through_stack_sets())
        .filter_map(|e| e.target.as_ref()?.role_arn.as_deref())
        .collect();
    (!roles.is_empty()).then(|| {
        format!(
            "these policies are for the role qfleet assumes there ({}); the credentials qfleet runs with need sts:AssumeRole on it, and its trust policy must name them (docs/targets.md)",
            roles.into_iter().collect::<Vec<_>>().join(", ")
        )
    })
}

/// What the StackSets roles' trust policies must say, for targets deployed through StackSets
/// ("Grant self-managed permissions",
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html>).
fn stack_sets_note(envs: &[Environment], account: &str) -> Result<Option<String>> {
    let mut administration = BTreeSet::new();
    let mut execution = BTreeSet::new();
    let mut p = "aws";
    let mut service_managed = false;
    let mut delegated = false;
    for env in envs.iter().filter(|e| e.through_stack_sets()) {
        p = super::scope::partition(&env.spec.region);
        if env.spec.rollout.permission_model == crate::config::PermissionModel::ServiceManaged {
            service_managed = true;
            delegated |= env.spec.rollout.call_as == crate::config::CallAs::DelegatedAdmin;
            continue;
        }
        let roles = super::stack_set_roles::roles(env, account)?;
        administration.insert(roles.administration);
        execution.insert(roles.execution);
    }
    // "Activate trusted access with AWS Organizations",
    // <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-activate-trusted-access.html>.
    // "Register a delegated administrator",
    // <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-delegated-admin.html>.
    let organizations = service_managed.then(|| match delegated {
        false => format!(
            "StackSets with service-managed permissions: trusted access with AWS Organizations must be activated in the organization's management account ({account}), which holds the stack sets; AWS creates the roles StackSets uses in the targets' accounts, so service_roles names none for them (docs/targets.md)"
        ),
        true => format!(
            "StackSets with service-managed permissions, as a delegated administrator: trusted access with AWS Organizations must be activated, and account {account} registered as a delegated administrator for StackSets, in the organization's management account, which holds the stack sets (the caller's StackSets calls name them in any account, by name); AWS creates the roles StackSets uses in the targets' accounts, so service_roles names none for them (docs/targets.md)"
        ),
    });
    if administration.is_empty() {
        return Ok(organizations);
    }
    let join = |s: BTreeSet<String>| s.into_iter().collect::<Vec<_>>().join(", ");
    let self_managed = format!(
        "StackSets: the administration role ({}) must trust cloudformation.amazonaws.com, with aws:SourceAccount {account} and aws:SourceArn arn:{p}:cloudformation:*:{account}:stackset/* in its trust policy's condition (AWS's guard against the confused deputy); each execution role ({}) must trust the administration role (docs/targets.md)",
        join(administration),
        join(execution)
    );
    Ok(Some(match organizations {
        Some(o) => format!("{self_managed}. {o}"),
        None => self_managed,
    }))
}

/// The documents of each role, checked against IAM's quota of managed policies per principal.
fn documents_of(
    roles: &BTreeMap<String, policy::Grants>,
    who: &str,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<String, Vec<Value>>> {
    let mut out = BTreeMap::new();
    for (arn, grants) in roles {
        let docs = grants.documents();
        warnings.extend(check_document_count(&format!("{who} {arn}"), docs.len())?);
        out.insert(arn.clone(), docs);
    }
    Ok(out)
}

/// The deploying policies of `envs` in `account`, checked against IAM's quota of managed
/// policies per principal.
pub fn policies(envs: &[Environment], account: String) -> Result<Policies> {
    let Deployer {
        caller,
        service_roles,
        target_roles,
        resource_types,
    } = for_environments(envs, &account)?;
    let caller = caller.documents();
    // Each principal holds its documents as managed policies; AWS caps how many.
    let mut warnings = Vec::new();
    warnings.extend(check_document_count("the caller", caller.len())?);
    let service_roles = documents_of(&service_roles, "the service role", &mut warnings)?;
    let target_roles = documents_of(&target_roles, "the role", &mut warnings)?;
    Ok(Policies {
        environments: envs
            .iter()
            .map(|e| (e.name.clone(), e.spec.region.clone()))
            .collect(),
        notes: repository_notes(envs, &account)
            .into_iter()
            .chain(role_note(envs))
            .chain(stack_sets_note(envs, &account)?)
            .collect(),
        own: Own {
            account,
            caller,
            service_roles,
            target_roles,
            resource_types,
            source: reference::get()?.source.clone(),
            warnings,
        },
    })
}
