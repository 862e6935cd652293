//! The worker function's deployment package (see [`crate::package`]): built before anything
//! changes on AWS, so that code that cannot be packaged (a dependency pip cannot install, no
//! network for npm) leaves no stack behind; uploaded to qfleet's code bucket after the data
//! stack (which holds the bucket) and before the function's stack (whose `Code` names the
//! object: CloudFormation needs it there to create or update the function). The key is
//! content-addressed: an object that already has it is the same package, so nothing is built
//! or uploaded again.

use super::Ctx;
use crate::aws;
use crate::config::Environment;
use crate::error::{Error, Result, ToolFailure};
use crate::package::{self, BuildFailure, Package};
use crate::render::ResourceNames;

/// The package the environment's function needs, if any.
pub(super) fn of(env: &Environment) -> Option<&Package> {
    env.function_code.as_ref()?.package.as_ref()
}

/// The code bucket's name in `account` and `region`.
fn bucket(env: &Environment, account: &str, region: &str) -> String {
    format!("{}-{account}-{region}", ResourceNames::of(env).code_bucket)
}

/// One package a deploy needs in the code bucket: built (its bytes, to upload) or already
/// there.
pub(super) struct Ready {
    bucket: String,
    key: String,
    /// `None`: the bucket holds the key already.
    bytes: Option<Vec<u8>>,
}

/// Builds every stage's package that the code bucket does not hold yet: only reads on AWS
/// (the key looked up), so that a package that cannot be built fails the deploy before its
/// first change. Several stages with the same code share one package.
pub(super) async fn build_missing(cx: &Ctx<'_>) -> Result<Vec<Ready>> {
    let mut ready: Vec<Ready> = Vec::new();
    for stage in cx.env.stages() {
        let Some(p) = of(stage) else { continue };
        let account = aws::account_id(&cx.clients.sts).await?;
        let bucket = bucket(stage, &account, &cx.clients.region);
        let key = p.key();
        if ready.iter().any(|r| r.bucket == bucket && r.key == key) {
            continue;
        }
        let bytes = if aws::object_exists(&cx.clients.s3, &bucket, &key).await? {
            cx.reporter.line(format!(
                "{}: the function's package s3://{bucket}/{key} is already there",
                stage.name
            ));
            None
        } else {
            cx.reporter.line(format!(
                "{}: building the function's package (workers.lambda.code)",
                stage.name
            ));
            Some(build(stage, p).await?)
        };
        ready.push(Ready { bucket, key, bytes });
    }
    Ok(ready)
}

/// Builds `p` off the runtime's threads; a failure as what it is: the stack file's code (exit
/// 2, located at `workers.lambda.code`) or the tool's trouble (exit 5).
async fn build(env: &Environment, p: &Package) -> Result<Vec<u8>> {
    let owned = p.clone();
    let built = tokio::task::spawn_blocking(move || package::build(&owned))
        .await
        .map_err(|e| Error::aws(format!("building the function's package: {e}")))?;
    built.map_err(|f| failure(env, f))
}

/// The error a package build failed with.
fn failure(env: &Environment, f: BuildFailure) -> Error {
    match f {
        BuildFailure::Input(m) => Error::from(env.source.error("workers.lambda.code", m)),
        BuildFailure::Tool { tool, why } => Error::Tool(ToolFailure {
            next: format!(
                "The stack file is not at fault: run again once {tool} can reach its package index"
            ),
            what: format!(
                "{}: building the function's package (workers.lambda.code)",
                env.name
            ),
            tool: tool.to_string(),
            why,
        }),
    }
}

/// Uploads the packages [`build_missing`] built.
pub(super) async fn upload(cx: &Ctx<'_>, ready: &[Ready]) -> Result<()> {
    for r in ready {
        let Some(bytes) = &r.bytes else { continue };
        let size = bytes.len() as u64;
        aws::put_object(&cx.clients.s3, &r.bucket, &r.key, bytes.clone()).await?;
        cx.reporter.line(format!(
            "{}: uploaded the function's package s3://{}/{} ({})",
            cx.env.name,
            r.bucket,
            r.key,
            indicatif::DecimalBytes(size)
        ));
    }
    Ok(())
}
