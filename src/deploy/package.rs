//! The worker function's deployment package (see [`crate::package`]): uploaded to
//! qfleet's code bucket after the data stack (which holds the bucket) and before the function's
//! stack (whose `Code` names the object: CloudFormation needs it there to create or update the
//! function). The key is content-addressed: an object that already has it is the same
//! package, so nothing is built or uploaded again.

use super::Ctx;
use crate::aws::{account, buckets};
use crate::config::Environment;
use crate::error::{Error, Result};
use crate::package::{self, Package};
use crate::render::ResourceNames;

/// The package the environment's function needs, if any.
pub fn of(env: &Environment) -> Option<&Package> {
    env.function_code.as_ref()?.package.as_ref()
}

/// The code bucket's name in `account` and `region`.
pub fn bucket(env: &Environment, account: &str, region: &str) -> String {
    format!("{}-{account}-{region}", ResourceNames::of(env).code_bucket)
}

/// Builds and uploads the package unless its key is already in the bucket.
pub async fn upload(cx: &Ctx<'_>) -> Result<()> {
    let Ctx {
        clients,
        env,
        reporter,
        ..
    } = *cx;
    let Some(p) = of(env) else {
        return Ok(());
    };
    let account = account::id(&clients.sts).await?;
    let bucket = bucket(env, &account, &clients.region);
    let key = p.key();
    if buckets::object_exists(&clients.s3, &bucket, &key).await? {
        reporter.line(format!(
            "{}: the function's package s3://{bucket}/{key} is already there",
            env.name
        ));
        return Ok(());
    }
    let owned = p.clone();
    let built = tokio::task::spawn_blocking(move || package::build(&owned))
        .await
        .map_err(|e| Error::aws(format!("building the function's package: {e}")))?;
    let bytes = built.map_err(|m| Error::from(env.source.error("workers.lambda.code", m)))?;
    let size = bytes.len() as u64;
    buckets::put_object(&clients.s3, &bucket, &key, bytes).await?;
    reporter.line(format!(
        "{}: uploaded the function's package s3://{bucket}/{key} ({})",
        env.name,
        indicatif::DecimalBytes(size)
    ));
    Ok(())
}
