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
