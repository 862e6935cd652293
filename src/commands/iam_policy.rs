//! `qfleet iam-policy ENV… [--account ID]`: the least-privilege policy a deploying principal
//! needs for these environments, as JSON (always JSON: it is a policy).

use super::Global;
use crate::aws::{Aws, account};
use crate::error::{Error, Result};
use crate::iam;
use crate::output::{Output, envelope};
use clap::Args;
use serde_json::json;

#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    /// Environments the principal deploys: names, stack file paths, copies, globs.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// The account the environments live in (12 digits). Without it, qfleet asks AWS STS
    /// who the current credentials belong to.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
}

pub fn run(args: IamPolicyArgs, g: &Global, out: Output) -> Result<i32> {
    // A pipeline's policy covers every stage's stacks and resources: each stage stands as an
    // environment of its own (its fleet stack, queues, group or function by its names).
    let envs: Vec<crate::config::Environment> = super::load_environments(&args.envs, g)?
        .iter()
        .flat_map(|env| env.stages().into_iter().cloned().collect::<Vec<_>>())
        .collect();
    let account = match args.account {
        Some(a) if a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()) => a,
        Some(a) => {
            return Err(Error::usage(format!(
                "--account {a}: an AWS account id is 12 digits"
            )));
        }
        None => {
            let aws = Aws::new(g.aws_settings());
            let region = aws.region_for(&envs[0].spec.region);
            super::runtime()?.block_on(async {
                let clients = aws.clients(&region).await;
                account::id(&clients.sts).await
            })?
        }
    };
    let d = iam::for_environments(&envs, &account)?;
    let caller = d.caller.documents();
    let service_roles: serde_json::Map<String, serde_json::Value> = d
        .service_roles
        .iter()
        .map(|(arn, grants)| (arn.clone(), json!(grants.documents())))
        .collect();
    // Each principal holds its documents as managed policies; AWS caps how many.
    let mut warnings = Vec::new();
    warnings.extend(iam::check_document_count("the caller", caller.len())?);
    for (arn, docs) in &service_roles {
        let n = docs.as_array().map_or(0, Vec::len);
        warnings.extend(iam::check_document_count(
            &format!("the service role {arn}"),
            n,
        )?);
    }
    for w in &warnings {
        out.note(format!("WARNING: {w}"));
    }
    for n in iam::repository_notes(&envs, &account) {
        out.note(n);
    }
    let names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
    out.note(format!(
        "{} for {}: {} policy document{} for the caller{}; each fits a managed policy \
         ({} characters); attach them all.",
        "iam-policy",
        names.join(", "),
        caller.len(),
        if caller.len() == 1 { "" } else { "s" },
        if service_roles.is_empty() {
            String::new()
        } else {
            format!(
                ", and the permissions of {} CloudFormation service role{}",
                service_roles.len(),
                if service_roles.len() == 1 { "" } else { "s" }
            )
        },
        iam::policy::MANAGED_POLICY_LIMIT,
    ));
    let environments = envs
        .iter()
        .map(|e| envelope::environment(&e.name, 0, None, json!({ "region": e.spec.region })))
        .collect();
    let own = serde_json::Map::from_iter([
        ("account".to_string(), json!(account)),
        ("caller".to_string(), json!(caller)),
        ("service_roles".to_string(), json!(service_roles)),
        ("resource_types".to_string(), json!(d.resource_types)),
        ("source".to_string(), json!(iam::reference::get()?.source)),
        ("warnings".to_string(), json!(warnings)),
    ]);
    out.document(envelope::document("iam-policy", 0, environments, own));
    Ok(0)
}
