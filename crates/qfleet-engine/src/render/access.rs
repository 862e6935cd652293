//! What the templates need of a worker's declared settings, secrets and permissions
//! (`workers.environment`, `workers.secrets`, `workers.policies`, `workers.statements`): the
//! secrets' grants and references, computed once for both worker kinds.

use crate::config::{SecretSource, WorkersSpec};
use serde::Serialize;
use std::collections::BTreeMap;

/// One secret as the templates use it: the grant on its parameter or secret. Its value is
/// never known to qfleet.
#[derive(Debug, Clone, Serialize)]
struct SecretGrant {
    name: String,
    action: &'static str,
    /// The ARN for Fn::Sub (this account's and region's unless the stack file gave an ARN).
    resource_sub: String,
}

/// What the templates get.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct Access {
    /// Grants on Parameter Store parameters.
    parameters: Vec<SecretGrant>,
    /// Grants on Secrets Manager secrets.
    secrets: Vec<SecretGrant>,
    /// `{"NAME": "ssm:/x", …}`: what the worker resolves when it starts (`/etc/qfleet/secrets.json`
    /// on an instance, `QFLEET_SECRETS` for a function); `None` without secrets.
    references: Option<String>,
    /// Whether the role gets the declared policy (secrets, their keys or statements).
    declared_policy: bool,
}

/// `{"NAME": "ssm:/x", …}` of the stack file's secrets, as an instance's
/// `/etc/qfleet/secrets.json` holds them (`qfleet dev --with-secrets`); `None` without secrets.
pub fn secret_references(w: &WorkersSpec) -> Option<String> {
    Access::of(w).references
}

impl Access {
    /// Validation has already read every reference; one it cannot read is left out.
    pub(super) fn of(w: &WorkersSpec) -> Access {
        let mut out = Access::default();
        let mut refs = BTreeMap::new();
        for (name, text) in &w.secrets {
            let Ok(src) = SecretSource::parse(text) else {
                continue;
            };
            refs.insert(name.clone(), src.reference());
            let grant = SecretGrant {
                name: name.clone(),
                action: src.action(),
                resource_sub: src.resource_sub(),
            };
            match src {
                SecretSource::Ssm { .. } => out.parameters.push(grant),
                SecretSource::SecretsManager { .. } => out.secrets.push(grant),
            }
        }
        if !refs.is_empty() {
            out.references = serde_json::to_string(&refs).ok();
        }
        out.declared_policy = !refs.is_empty() || !w.statements.is_empty();
        out
    }
}
