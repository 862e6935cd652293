//! `iam-policy`'s result: the policy documents of the caller and of each CloudFormation service
//! role, as JSON whatever the output format (it is a policy), with the warnings and a summary
//! on stderr.

use super::{
    Deployer, check_document_count, for_environments, policy, reference, repository_notes,
};
use crate::aws::{Aws, Settings, account};
use crate::config::Environment;
use crate::error::{Result, Usage};
use crate::output::Output;
#[cfg(test)]
pub(crate) use crate::output::document_schema::{self as schema, Environments};
use crate::output::{Document, Environment as EnvDoc, Report};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The account the environments live in: `flag` (12 digits), else the account their targets
/// name (`targets`), else whom the credentials belong to, by AWS STS in the first one's region.
/// Targets in several accounts, or in another than `flag`'s, are refused: a policy's ARNs are
/// one account's.
/// With `--account`, the direct targets of that account among `envs` (a file's targets in
/// several accounts make a policy per account), and the environments that are no such target;
/// without it, `envs`. A flag that leaves no target of several accounts is refused, naming
/// each account's targets.
pub(crate) fn of_account(envs: Vec<Environment>, flag: Option<&str>) -> Result<Vec<Environment>> {
    let account = |e: &Environment| -> Option<String> {
        match e.through_stack_sets() {
            true => None,
            false => e.target.as_ref()?.account.clone(),
        }
    };
    let Some(flag) = flag else {
        return Ok(envs);
    };
    if !(flag.len() == 12 && flag.chars().all(|c| c.is_ascii_digit())) {
        return Err(Usage::FlagValue {
            flag: "--account",
            value: flag.to_string(),
            why: "an AWS account id is 12 digits".to_string(),
        }
        .into());
    }
    let (kept, left): (Vec<Environment>, Vec<Environment>) = envs
        .into_iter()
        .partition(|e| account(e).is_none_or(|a| a == flag));
    if !left.is_empty() && !kept.iter().any(|e| account(e).is_some()) {
        return Err(Usage::TargetAccounts {
            accounts: format!("{}, not {flag} (--account)", by_account(&left, account)),
        }
        .into());
    }
    Ok(kept)
}

/// `111122223333 (orders-eu1, orders-us1), 444455556666 (orders-eu2)`: each account with the
/// environments in it.
fn by_account(envs: &[Environment], account: impl Fn(&Environment) -> Option<String>) -> String {
    let mut of: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    for e in envs {
        if let Some(a) = account(e) {
            let names = of.entry(a).or_default();
            if !names.contains(&e.name.as_str()) {
                names.push(&e.name);
            }
        }
    }
    of.iter()
        .map(|(a, names)| format!("{a} ({})", names.join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn account_of(
    flag: Option<String>,
    settings: Settings,
    envs: &[Environment],
) -> Result<String> {
    // An account is in one partition (aws, aws-cn, aws-us-gov), and so are a policy's ARNs.
    let partitions: BTreeSet<&str> = envs
        .iter()
        .map(|e| crate::config::partition(&e.spec.region).unwrap_or("aws"))
        .collect();
    if partitions.len() > 1 {
        return Err(Usage::Partitions {
            partitions: partitions.into_iter().collect::<Vec<_>>().join(" and "),
        }
        .into());
    }
    // One account per policy: a StackSets file's is the one that holds its stack sets (the
    // credentials'), not one its targets name.
    let (through, other): (Vec<&Environment>, Vec<&Environment>) =
        envs.iter().partition(|e| e.through_stack_sets());
    if let (Some(s), Some(o)) = (through.first(), other.first()) {
        return Err(Usage::StackSetsMixed {
            stack_sets: s.name.clone(),
            other: o.name.clone(),
        }
        .into());
    }
    // Service-managed stack sets are acted on from the management account or from a
    // delegated administrator, never both from one account (the management account cannot
    // be registered as a delegated administrator,
    // <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-delegated-admin.html>).
    let as_whom = |call_as| {
        through.iter().find(|e| {
            e.spec.rollout.permission_model == crate::config::PermissionModel::ServiceManaged
                && e.spec.rollout.call_as == call_as
        })
    };
    if let (Some(h), Some(d)) = (
        as_whom(crate::config::CallAs::SelfAccount),
        as_whom(crate::config::CallAs::DelegatedAdmin),
    ) {
        return Err(Usage::CallAsMixed {
            holder: h.name.clone(),
            delegated: d.name.clone(),
        }
        .into());
    }
    // The account a StackSets file says holds its stack sets: the policy is that account's.
    let admin: BTreeSet<String> = through
        .iter()
        .filter_map(|e| crate::config::administration_account(e))
        .collect();
    if admin.len() > 1 {
        return Err(Usage::TargetAccounts {
            accounts: admin.into_iter().collect::<Vec<_>>().join(", "),
        }
        .into());
    }
    if let Some(declared) = admin.first() {
        return match flag {
            Some(f) if f != *declared => Err(Usage::FlagValue {
                flag: "--account",
                value: f,
                why: format!(
                    "the stack file acts on its stack sets from account {declared} (rollout.administration_account, or the account of rollout.administration_role), and the policy is that account's"
                ),
            }
            .into()),
            _ => Ok(declared.clone()),
        };
    }
    // A StackSets target's account holds its instance, not the stack sets the caller acts on.
    let named: BTreeSet<&str> = envs
        .iter()
        .filter(|e| !e.through_stack_sets())
        .filter_map(|e| e.target.as_ref()?.account.as_deref())
        .collect();
    if named.len() > 1 || (named.len() == 1 && flag.as_deref().is_some_and(|f| !named.contains(f)))
    {
        let direct: Vec<Environment> = envs
            .iter()
            .filter(|e| !e.through_stack_sets())
            .cloned()
            .collect();
        let mut accounts = by_account(&direct, |e| e.target.as_ref()?.account.clone());
        if let Some(f) = flag.as_deref().filter(|f| !named.contains(f)) {
            accounts.push_str(&format!(", {f} (--account)"));
        }
        return Err(Usage::TargetAccounts { accounts }.into());
    }
    let flag = flag.or_else(|| named.first().map(|a| a.to_string()));
    let region = envs.first().map_or("us-east-1", |e| e.spec.region.as_str());
    match flag {
        Some(a) if a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()) => Ok(a),
        Some(a) => Err(Usage::FlagValue {
            flag: "--account",
            value: a,
            why: "an AWS account id is 12 digits".to_string(),
        }
        .into()),
        None => {
            let aws = Aws::new(settings);
            let region = aws.region_for(region);
            crate::session::runtime()?
                .block_on(async {
                    let clients = aws.clients(&region).await;
                    account::id(&clients.sts).await
                })
                .map_err(crate::error::Error::from)
        }
    }
}

/// The policies for every stage of `envs` (a pipeline's each stand as an environment).
pub(crate) struct Policies {
    /// Each environment (stage) with its region.
    environments: Vec<(String, String)>,
    pub(super) own: Own,
    /// Notes for stderr: where the images' and code's repositories are.
    pub(super) notes: Vec<String>,
}

/// The document's own top-level keys.
#[derive(Serialize, JsonSchema)]
pub(super) struct Own {
    /// The account the environments live in (with StackSets, the one that holds the stack
    /// sets, where qfleet runs).
    #[schemars(extend("pattern" = "^[0-9]{12}$"))]
    account: String,
    /// Policy documents for the deploying principal; attach them all.
    #[schemars(extend("minItems" = 1))]
    pub(super) caller: Vec<Value>,
    /// Each role CloudFormation acts as, by the role's ARN, with its policy documents: a
    /// stack's service role; with StackSets, the administration role and each target
    /// account's execution role.
    pub(super) service_roles: BTreeMap<String, Vec<Value>>,
    /// With StackSets: each role qfleet assumes in a target's account (the target's `role`),
    /// by its ARN, with its policy documents (qfleet's own calls there).
    pub(super) target_roles: BTreeMap<String, Vec<Value>>,
    /// The resource types of the rendered templates.
    resource_types: BTreeSet<String>,
    /// Where the handlers' permissions come from (AWS's resource schemas, and when).
    source: String,
    /// What to know before attaching them (more managed policies than IAM's default quota).
    warnings: Vec<String>,
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

/// `iam-policy`'s result for the environments a command line names (`loaded`): a pipeline's
/// policy covers every stage's stacks and resources (each stage stands as an environment of
/// its own: its fleet stack, queues, group or function by its names), in the account
/// `account` (`--account`) picks or, without it, the one [`account_of`] finds (which may ask
/// AWS STS).
pub(crate) fn policies_for(
    loaded: &[Environment],
    account: Option<String>,
    settings: Settings,
) -> Result<Policies> {
    let envs: Vec<Environment> = loaded
        .iter()
        .flat_map(|env| env.stages().into_iter().cloned().collect::<Vec<_>>())
        .collect();
    let envs = of_account(envs, account.as_deref())?;
    let account = account_of(account, settings, &envs)?;
    policies(&envs, account)
}

/// [`policies_for`] in `account`, given: offline (no AWS call asks whose the credentials are).
pub(crate) fn policies_in(loaded: &[Environment], account: &str) -> Result<Policies> {
    policies_for(loaded, Some(account.to_string()), Settings::default())
}

/// The deploying policies of `envs` in `account`, checked against IAM's quota of managed
/// policies per principal.
pub(crate) fn policies(envs: &[Environment], account: String) -> Result<Policies> {
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

/// The least-privilege policy for deploying these environments (always JSON).
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    /// The environment's region.
    region: &'a str,
}

/// The schema of `qfleet iam-policy`'s document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    schema::document::<Body<'static>, Own>(
        "iam-policy",
        "qfleet iam-policy --output json",
        Environments::Each,
    )
}

impl Report for Policies {
    fn exit_code(&self) -> crate::error::Exit {
        crate::error::Exit::Ok
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let environments = self
            .environments
            .iter()
            .map(|(name, region)| EnvDoc::ok(name, Body { region }))
            .collect();
        Document::with_own(crate::error::Exit::Ok, environments, &self.own)
    }

    /// The policy is JSON in every format.
    fn text(&self, out: &Output) -> Result<()> {
        out.print_document(self);
        Ok(())
    }

    fn notes(&self, out: &Output) {
        for w in &self.own.warnings {
            out.note(format!("WARNING: {w}"));
        }
        for n in &self.notes {
            out.note(n);
        }
        let names: Vec<&str> = self.environments.iter().map(|(n, _)| n.as_str()).collect();
        let (caller, roles) = (self.own.caller.len(), self.own.service_roles.len());
        let targets = self.own.target_roles.len();
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        out.note(format!(
            "iam-policy for {}: {caller} policy document{} for the caller{}{}; each fits a managed policy \
             ({} characters); attach them all.",
            names.join(", "),
            plural(caller),
            if roles == 0 {
                String::new()
            } else {
                format!(
                    ", the permissions of {roles} role{} CloudFormation acts as (service_roles)",
                    plural(roles)
                )
            },
            if targets == 0 {
                String::new()
            } else {
                format!(
                    ", and the permissions of {targets} role{} qfleet assumes in the targets' accounts (target_roles)",
                    plural(targets)
                )
            },
            policy::MANAGED_POLICY_LIMIT,
        ));
    }
}
