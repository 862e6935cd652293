//! Who the caller is: the account id (GetCallerIdentity needs no permission).

use super::Result;
use super::error::{AwsError, Kind};

pub async fn id(sts: &aws_sdk_sts::Client) -> Result<String> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("finding the account", e))?;
    out.account()
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            AwsError::with_kind(
                "finding the account: the answer has no account id",
                Kind::Malformed,
            )
        })
}

/// Temporary credentials of an assumed role (`qfleet dev --as-workers`).
#[derive(Clone)]
pub struct Assumed {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// When they expire (RFC 3339).
    pub expiration: String,
}

/// Without the secret.
impl std::fmt::Debug for Assumed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assumed")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// Assumes `role` for an hour, the longest a role assumed from another role's session may be
/// held ("role chaining", <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>):
/// the role's trust policy must name the caller, or AWS answers AccessDenied.
pub async fn assume(sts: &aws_sdk_sts::Client, role: &str, session: &str) -> Result<Assumed> {
    let what = format!("assuming {role}");
    let out = sts
        .assume_role()
        .role_arn(role)
        .role_session_name(session)
        .duration_seconds(3600)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&what, e))?;
    let c = out.credentials().ok_or_else(|| {
        AwsError::with_kind(
            format!("{what}: the answer has no credentials"),
            Kind::Malformed,
        )
    })?;
    Ok(Assumed {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: c.secret_access_key().to_string(),
        session_token: c.session_token().to_string(),
        expiration: c.expiration().to_string(),
    })
}
