//! Adopting the bucket an earlier teardown kept. Its DeletionPolicy (RetainExceptOnCreate)
//! leaves it in place when the data stack is deleted, and its name is fixed, so creating the
//! stack again would fail with "already exists". Instead deploy imports it into the new stack
//! first (an IMPORT change set of a template holding only the bucket, shown like any change and
//! confirmed with the environment's other changes), then brings the stack to the full template
//! with an ordinary update.

use super::Ctx;
use super::desired::{DesiredStack, FINGERPRINT_PARAMETER, Param};
use super::event::Event;
use super::recover;
use crate::aws::Clients;
use crate::aws::StackState;
use crate::aws::{self, ChangeSetRequest as Request, ResourceToImport as Import};
use crate::config::Environment;
use crate::error::{Error, Result};
use crate::output::Spinner;
use crate::render::{ResourceNames, check, ids};
use aws_sdk_cloudformation::types::StackStatus;
use serde_yaml_ng::{Mapping, Value};

/// The environment's bucket, when it exists outside any stack (`None`: S3 says there is none).
/// It is imported only when its tags, which CloudFormation propagated from the stack that kept
/// it, carry the environment's marks (see [`crate::ownership`]); another's bucket of the same
/// name is refused, unless `--adopt` takes it over.
/// Returns the bucket and, when `--adopt` takes over one that is not the environment's, the
/// marks it lacks.
pub(super) async fn kept_bucket(
    clients: &Clients,
    env: &Environment,
    adopt: bool,
) -> Result<Option<(String, Vec<String>)>> {
    let account = aws::account_id(&clients.sts).await?;
    let name = format!(
        "{}-{account}-{}",
        ResourceNames::of(env).bucket,
        clients.region
    );
    if !aws::bucket_exists(&clients.s3, &name).await? {
        return Ok(None);
    }
    let tags = aws::bucket_tags(&clients.s3, &name).await?;
    let lacks = crate::ownership::lacks_tags(&env.name, env.spec.owner.as_deref(), &tags);
    if !lacks.is_empty() && !adopt {
        return Err(crate::deploy::errors::Refusal::BucketNotOurs {
            env: env.name.clone(),
            bucket: name,
            lacks,
        }
        .into());
    }
    Ok(Some((name, lacks)))
}

/// The data template reduced to the bucket: its deletion policy and properties, without the
/// notification and the dependency that name resources an import cannot create.
fn import_template(template: &str) -> Result<String> {
    let bad = |why: &str| Error::aws(format!("preparing the bucket's import: {why}"));
    let doc: Value = serde_yaml_ng::from_str(template).map_err(|e| bad(&e.to_string()))?;
    let mut bucket = doc["Resources"][ids::BUCKET].clone();
    let Some(b) = bucket.as_mapping_mut() else {
        return Err(bad("the template declares no bucket"));
    };
    b.remove("DependsOn");
    if let Some(props) = b.get_mut("Properties").and_then(Value::as_mapping_mut) {
        props.remove("NotificationConfiguration");
    }
    let mut resources = Mapping::new();
    resources.insert(Value::from(ids::BUCKET), bucket);
    let mut out = Mapping::new();
    for key in ["AWSTemplateFormatVersion", "Description", "Parameters"] {
        if let Some(v) = doc.get(key) {
            out.insert(Value::from(key), v.clone());
        }
    }
    out.insert(Value::from("Resources"), Value::Mapping(resources));
    serde_yaml_ng::to_string(&Value::Mapping(out)).map_err(|e| bad(&e.to_string()))
}

/// Imports `bucket` into the (new) data stack; returns the stack as the import left it. The
/// caller has the user's consent (the preview said the bucket would be imported).
pub(super) async fn import(
    cx: &Ctx<'_>,
    desired: &DesiredStack,
    bucket: &str,
    spinner: &Spinner,
) -> Result<StackState> {
    let Ctx {
        env,
        opts,
        reporter,
        inflight,
        ..
    } = *cx;
    let cfn = &cx.clients.cfn;
    let name = &desired.name;
    let template = import_template(&desired.template)?;
    let problems = check::check_template(&template);
    if !problems.is_empty() {
        return Err(Error::aws(format!(
            "preparing the bucket's import: {}",
            problems.join("; ")
        )));
    }
    // A fingerprint of its own: the update that follows is never taken for a no-op.
    let mut parameters = desired.parameters.clone();
    parameters.insert(FINGERPRINT_PARAMETER.into(), Param::Value("import".into()));
    let req = Request {
        import: Some(Import {
            resource_type: "AWS::S3::Bucket",
            logical_id: ids::BUCKET,
            identifier: ("BucketName", bucket),
        }),
        template: &crate::render::request_body(&template),
        parameters: &parameters,
        ..desired.request(true)
    };
    spinner.set("importing the kept bucket");
    let cs_name = aws::new_change_set_name();
    inflight.add(
        cfn,
        name,
        &cs_name,
        &env.name,
        Some(desired.role_arn.clone()),
    );
    let result = async {
        let id = aws::create_change_set(cfn, &req, &cs_name).await?;
        inflight.identified(&cs_name, &id);
        let cs = aws::computed_change_set(cfn, name, &id, opts.polling).await?;
        reporter.line(format!(
            "{name}: bucket {bucket} was kept by an earlier teardown; importing it into the new stack first\n{}",
            crate::changes::changes(&cs.changes)
        ));
        reporter.event(Event::Changes {
            stack: name.clone(),
            creating: None,
            import: Some(bucket.to_string()),
            changes: cs.changes.clone(),
        });
        inflight.execute(cfn, &cs, false).await?;
        let finished = super::follow::follow(cx, name, None, opts.polling, spinner).await?;
        Ok::<_, Error>((cs, finished))
    }
    .await;
    match result {
        Ok((cs, finished)) => {
            inflight.done(&cs.id);
            match finished.state {
                Some(s) if s.status == StackStatus::ImportComplete => {
                    reporter.line(format!("{name}: IMPORT_COMPLETE ({bucket})"));
                    Ok(s)
                }
                other => Err(Error::aws(format!(
                    "{name}: importing bucket {bucket} ended in {}",
                    other
                        .map(|s| s.status.as_str().to_string())
                        .unwrap_or_else(|| "a deleted stack".into())
                ))),
            }
        }
        Err(e) => {
            // Not executed: the change set and the empty review stack go.
            let _ = aws::delete_change_set(cfn, &cs_name, name).await;
            recover::abandon_review_stack(cfn, name, desired.role_arn.as_deref()).await;
            inflight.done(&cs_name);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_import_template_holds_only_the_bucket_with_its_policy() {
        let env = crate::config::load(std::path::Path::new("stacks/prod.yaml"))
            .unwrap()
            .into_only();
        let data = &crate::render::render(&env).unwrap()[0];
        let t = import_template(&data.template).unwrap();
        let doc: Value = serde_yaml_ng::from_str(&t).unwrap();
        let resources = doc["Resources"].as_mapping().unwrap();
        assert_eq!(resources.len(), 1);
        let bucket = &doc["Resources"]["Bucket"];
        assert_eq!(
            bucket["DeletionPolicy"],
            Value::from("RetainExceptOnCreate")
        );
        assert!(bucket.get("DependsOn").is_none());
        assert!(
            bucket["Properties"]
                .get("NotificationConfiguration")
                .is_none()
        );
        assert!(bucket["Properties"].get("BucketName").is_some());
        assert!(
            check::check_template(&t).is_empty(),
            "{:?}",
            check::check_template(&t)
        );
        assert!(doc["Parameters"].get(FINGERPRINT_PARAMETER).is_some());
    }
}
