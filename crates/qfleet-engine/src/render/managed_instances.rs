//! Lambda Managed Instances (`workers.lambda.managed_instances`): the capacity provider the
//! worker function runs on, as the template renders it.
//!
//! The capacity provider is named, so that `qfleet iam-policy` can hold the deployer to it:
//! `qfleet-ENV-capacity-` and a digest of its create-only properties (its subnets, security
//! groups, instance types and architecture: VpcConfig and InstanceRequirements, "Update
//! requires: Replacement", AWS::Lambda::CapacityProvider,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-capacityprovider.html>).
//! A change to one of them is then a new name, which CloudFormation creates before it deletes
//! the old provider: a named resource replaced under the same name would fail.

use crate::config::{Environment, Network, WorkerKind};
use serde::Serialize;

/// Hex digits of the digest that ends a capacity provider's name.
pub const DIGEST_LEN: usize = 8;

/// What templates/lambda.yaml.j2 renders the capacity provider from.
#[derive(Debug, Serialize)]
pub(super) struct CapacityProvider {
    /// `CapacityProviderName`: `[a-zA-Z0-9-_]+`, at most 140 characters.
    name: String,
    /// `InstanceRequirements.Architectures`: the function's (x86_64 for a zip package, the
    /// image's otherwise), since its code runs on these instances.
    architecture: &'static str,
}

/// The start of the environment's capacity provider's name (`qfleet-ENV-capacity-`, a later
/// stage's `qfleet-ENV--STAGE-capacity-`), which [`DIGEST_LEN`] hex digits end.
pub fn name_prefix(env: &Environment) -> String {
    format!(
        "qfleet-{}{}-capacity-",
        env.resource_name(),
        env.stage_suffix()
    )
}

impl CapacityProvider {
    /// The capacity provider of a function on managed instances; `None` for every other
    /// stage (validation refuses managed instances without `workers.network`).
    pub(super) fn of(env: &Environment) -> Option<CapacityProvider> {
        let w = &env.spec.workers;
        if w.kind != WorkerKind::Lambda {
            return None;
        }
        let m = w.lambda.managed_instances.as_ref()?;
        let Network::Explicit(net) = &w.network else {
            return None;
        };
        let architecture = match w.lambda.image {
            Some(_) => w.lambda.architecture.as_str(),
            None => crate::config::Architecture::X86_64.as_str(),
        };
        let created = serde_json::json!({
            "subnets": net.subnets,
            "security_groups": w.security_groups,
            "instance_types": m.instance_types,
            "architecture": architecture,
        });
        let digest = super::fingerprint::fingerprint(&created.to_string());
        Some(CapacityProvider {
            name: format!("{}{}", name_prefix(env), &digest[..DIGEST_LEN]),
            architecture,
        })
    }
}
