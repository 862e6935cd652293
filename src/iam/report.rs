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
use crate::output::report::{Document, Environment as EnvDoc, Report};
use crate::output::schema::{self, Environments};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The account the environments live in: `flag` (12 digits), else the account their targets
/// name (`targets`), else whom the credentials belong to, by AWS STS in the first one's region.
/// Targets in several accounts, or in another than `flag`'s, are refused: a policy's ARNs are
/// one account's.
pub fn account_of(
    flag: Option<String>,
    settings: Settings,
    envs: &[Environment],
) -> Result<String> {
    // An account is in one partition (aws, aws-cn, aws-us-gov), and so are a policy's ARNs.
    let partitions: BTreeSet<&str> = envs
        .iter()
        .map(|e| crate::config::regions::partition(&e.spec.region).unwrap_or("aws"))
        .collect();
    if partitions.len() > 1 {
        return Err(Usage::Partitions {
            partitions: partitions.into_iter().collect::<Vec<_>>().join(" and "),
        }
        .into());
    }
    let named: BTreeSet<&str> = envs
        .iter()
        .filter_map(|e| e.target.as_ref()?.account.as_deref())
        .collect();
    if named.len() > 1 || (named.len() == 1 && flag.as_deref().is_some_and(|f| !named.contains(f)))
    {
        let mut accounts: Vec<&str> = named.into_iter().collect();
        if let Some(f) = flag.as_deref().filter(|f| !accounts.contains(f)) {
            accounts.push(f);
        }
        return Err(Usage::TargetAccounts {
            accounts: accounts.join(", "),
        }
        .into());
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
    /// The account the environments live in.
    #[schemars(extend("pattern" = "^[0-9]{12}$"))]
    pub account: String,
    /// Policy documents for the deploying principal; attach them all.
    #[schemars(extend("minItems" = 1))]
    pub caller: Vec<Value>,
    /// Each CloudFormation service role's policy documents, by the role's ARN.
    pub service_roles: BTreeMap<String, Vec<Value>>,
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
        .filter_map(|e| e.target.as_ref()?.role_arn.as_deref())
        .collect();
    (!roles.is_empty()).then(|| {
        format!(
            "these policies are for the role qfleet assumes there ({}); the credentials qfleet runs with need sts:AssumeRole on it, and its trust policy must name them (docs/targets.md)",
            roles.into_iter().collect::<Vec<_>>().join(", ")
        )
    })
}

/// The deploying policies of `envs` in `account`, checked against IAM's quota of managed
/// policies per principal.
pub fn policies(envs: &[Environment], account: String) -> Result<Policies> {
    let Deployer {
        caller,
        service_roles,
        resource_types,
    } = for_environments(envs, &account)?;
    let caller = caller.documents();
    let service_roles: BTreeMap<String, Vec<Value>> = service_roles
        .iter()
        .map(|(arn, grants)| (arn.clone(), grants.documents()))
        .collect();
    // Each principal holds its documents as managed policies; AWS caps how many.
    let mut warnings = Vec::new();
    warnings.extend(check_document_count("the caller", caller.len())?);
    for (arn, docs) in &service_roles {
        warnings.extend(check_document_count(
            &format!("the service role {arn}"),
            docs.len(),
        )?);
    }
    Ok(Policies {
        environments: envs
            .iter()
            .map(|e| (e.name.clone(), e.spec.region.clone()))
            .collect(),
        notes: repository_notes(envs, &account)
            .into_iter()
            .chain(role_note(envs))
            .collect(),
        own: Own {
            account,
            caller,
            service_roles,
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
pub fn schema() -> serde_json::Value {
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
        out.note(format!(
            "iam-policy for {}: {caller} policy document{} for the caller{}; each fits a managed policy \
             ({} characters); attach them all.",
            names.join(", "),
            if caller == 1 { "" } else { "s" },
            if roles == 0 {
                String::new()
            } else {
                format!(
                    ", and the permissions of {roles} CloudFormation service role{}",
                    if roles == 1 { "" } else { "s" }
                )
            },
            policy::MANAGED_POLICY_LIMIT,
        ));
    }
}
