//! The least-privilege policy a deploying principal (a CI's OIDC role, an engineer) needs for
//! a set of environments (`qfleet iam-policy`):
//! - qfleet's own calls in deploy, plan, outputs, status, drift and teardown ([`calls`]);
//! - what CloudFormation's handlers call for every resource type in the rendered templates,
//!   with both kinds of fleet (a deploy may switch `workers.kind`) (the registry schemas list
//!   them; [`reference`]);
//! - `iam:PassRole` on the worker role, only to EC2 (or Lambda for a worker function); with
//!   `service_role_arn`, on that role, only to CloudFormation;
//! - resources scoped to the environment's names wherever AWS lets a policy name them
//!   ([`scope`]); no wildcard action.
//!
//! With `service_role_arn` CloudFormation acts as the service role: the caller keeps qfleet's
//! own calls and the right to pass that role; the handlers' permissions go to the service role.

pub mod calls;
pub mod policy;
pub mod reference;
pub mod scope;
#[cfg(test)]
mod tests;

use crate::config::Environment;
use crate::config::schema::WorkerKind;
use crate::error::{Error, Result};
use crate::render;
use policy::{Grants, Scope};
use scope::Place;
use std::collections::{BTreeMap, BTreeSet};

/// The permissions of the principal that runs qfleet, and of each CloudFormation service role.
#[derive(Debug, Default)]
pub struct Deployer {
    pub caller: Grants,
    /// Service role ARN → what CloudFormation needs when it acts as that role.
    pub service_roles: BTreeMap<String, Grants>,
    /// Resource types of the rendered templates, for the record.
    pub resource_types: BTreeSet<String>,
}

/// The resource types a rendered template declares.
pub fn resource_types(template: &str) -> Result<BTreeSet<String>> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(template)
        .map_err(|e| Error::usage(format!("a rendered template does not parse: {e}")))?;
    Ok(doc
        .get("Resources")
        .and_then(|r| r.as_mapping())
        .into_iter()
        .flatten()
        .filter_map(|(_, r)| r.get("Type")?.as_str().map(str::to_string))
        .collect())
}

/// The environment with the other kind of workers (the reference handler for a function).
fn other_kind(env: &Environment) -> Environment {
    let mut other = env.clone();
    match env.spec.workers.kind {
        WorkerKind::Ec2 => {
            other.spec.workers.kind = WorkerKind::Lambda;
            other.function_code = Some(crate::config::code::FunctionCode {
                text: crate::config::code::REFERENCE_HANDLER.to_string(),
                handler: "index.handler".into(),
            });
        }
        WorkerKind::Lambda => other.spec.workers.kind = WorkerKind::Ec2,
    }
    other
}

/// The scope of `action` in one environment: its resources there where AWS lets a policy name
/// them, `"*"` otherwise.
fn scope_of(reference: &reference::Reference, place: &Place, action: &str) -> Scope {
    match reference
        .resource_types(action)
        .and_then(|types| place.arns(action, types))
    {
        Some(arns) => Scope::on(arns),
        None => Scope::any(),
    }
}

/// The deploying policy for `envs` in `account`.
pub fn for_environments(envs: &[Environment], account: &str) -> Result<Deployer> {
    let reference = reference::get()?;
    let mut d = Deployer::default();
    for env in envs {
        let place = Place { env, account };
        for call in calls::CALLS {
            for action in call.actions {
                d.caller.add(action, scope_of(reference, &place, action));
            }
        }
        // Both kinds of fleet: a deploy that switches workers.kind deletes the other kind's
        // resources, and a teardown deletes whichever kind is deployed.
        let mut types = BTreeSet::new();
        for variant in [env.clone(), other_kind(env)] {
            for stack in render::render(&variant)? {
                types.extend(resource_types(&stack.template)?);
            }
        }
        let handler_grants = match &env.spec.service_role_arn {
            Some(role) => {
                d.caller.add(
                    "iam:PassRole",
                    Scope::on([role.clone()]).when(
                        "StringEquals",
                        "iam:PassedToService",
                        "cloudformation.amazonaws.com",
                    ),
                );
                d.service_roles.entry(role.clone()).or_default()
            }
            None => &mut d.caller,
        };
        for t in &types {
            let handlers = reference.handlers.get(t).ok_or_else(|| {
                Error::usage(format!(
                    "the templates declare {t}, which src/iam/reference.json does not list: \
                     add it to scripts/iam-reference and run it"
                ))
            })?;
            for action in handlers.all() {
                let scope = match action {
                    // Only the worker role, only to the service that runs the workers.
                    "iam:PassRole" => Scope::on([place.worker_role()]).when(
                        "StringEquals",
                        "iam:PassedToService",
                        place.worker_service(),
                    ),
                    // The first group in an account creates Auto Scaling's own role.
                    "iam:CreateServiceLinkedRole" => {
                        Scope::on([place.autoscaling_service_linked_role()]).when(
                            "StringEquals",
                            "iam:AWSServiceName",
                            "autoscaling.amazonaws.com",
                        )
                    }
                    _ => scope_of(reference, &place, action),
                };
                handler_grants.add(action, scope);
            }
        }
        // An AMI given as an SSM parameter is resolved when the change set is created.
        if env.spec.workers.ami.starts_with('/') {
            let scope = scope_of(reference, &place, "ssm:GetParameters");
            handler_grants.add("ssm:GetParameters", scope.clone());
            if env.spec.service_role_arn.is_some() {
                d.caller.add("ssm:GetParameters", scope);
            }
        }
        d.resource_types.extend(types);
    }
    Ok(d)
}
