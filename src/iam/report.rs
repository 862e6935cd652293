//! `iam-policy`'s result: the policy documents of the caller and of each CloudFormation service
//! role, as JSON whatever the output format (it is a policy), with the warnings and a summary
//! on stderr.

use crate::aws::Settings;
use crate::config::Environment;
use crate::error::Result;
use crate::output::Output;
#[cfg(test)]
pub(crate) use crate::output::document_schema::{self as schema, Environments};
use crate::output::{Document, Environment as EnvDoc, Report};
#[cfg(test)]
use qfleet_engine::iam::Own;
use qfleet_engine::iam::{MANAGED_POLICY_LIMIT, Policies, policies};
use schemars::JsonSchema;
use serde::Serialize;

/// `iam-policy`'s result for the environments a command line names (`loaded`): a pipeline's
/// policy covers every stage's stacks and resources (each stage stands as an environment of
/// its own: its fleet stack, queues, group or function by its names), in the account
/// `account` (`--account`) picks or, without it, the one [`crate::placement::policy_account`] finds (which may ask
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
    let envs = crate::placement::in_account(envs, account.as_deref())?;
    let account = crate::placement::policy_account(account, settings, &envs)?;
    Ok(policies(&envs, account)?)
}

/// [`policies_for`] in `account`, given: offline (no AWS call asks whose the credentials are).
pub(crate) fn policies_in(loaded: &[Environment], account: &str) -> Result<Policies> {
    policies_for(loaded, Some(account.to_string()), Settings::default())
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
            MANAGED_POLICY_LIMIT,
        ));
    }
}

#[cfg(test)]
mod tests {
    /// The engine's lock bucket, which the deploying policy grants, is the one the lock
    /// protocol makes.
    #[test]
    fn the_policy_s_lock_bucket_is_the_lock_protocol_s() {
        for (account, region) in [
            ("123456789012", "eu-west-1"),
            ("000000000000", "ap-southeast-5"),
        ] {
            assert_eq!(
                qfleet_engine::iam::lock_bucket(account, region),
                crate::aws::lock_bucket_name(account, region)
            );
        }
    }
}
