//! The workers' images qfleet builds (`workers.image.build`, `workers.lambda.image.build`; see
//! [`crate::package::image`]): built before anything changes on AWS, so that a Dockerfile that
//! does not build leaves every stack as it was; pushed to the environment's repository
//! (`qfleet/ENV`) after the data stack and before the fleets, whose templates name the image
//! by its tag. The tag is a digest of the build's inputs: a repository that has it already
//! holds this image, and nothing is built or pushed.
//!
//! The repository is qfleet's, not a stack's: its name is fixed (the fleets' templates name
//! it), which Guard's CFN_NO_EXPLICIT_RESOURCE_NAMES refuses in a template. qfleet creates it
//! with its marks (the stacks' `qfleet:environment` and `qfleet:owner` tags), pushes only to
//! one that carries them, and teardown deletes it (its images only when asked).
//!
//! Its lifecycle policy, set on every deploy before the fleets change: every image a fleet
//! runs now (what a failed update rolls back to) and every image this deploy puts in place is
//! kept by a rule of its own, ahead of the rule that keeps the ten newest. ECR's rules
//! (<https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html>, "Lifecycle
//! policy evaluation rules"): an image that matches a higher-priority rule's tag requirements
//! cannot be expired by a rule of lower priority; `tagPatternList` matches when every pattern
//! matches one of the image's tags; a rule with `tagStatus: any` must come last.

use super::Ctx;
use crate::aws;
use crate::aws::Clients;
use crate::config::Environment;
use crate::error::{Error, Result, ToolFailure};
use crate::package::BuildFailure;
use crate::package::engine::{self, Engine};
use crate::package::image::{ImageBuild, is_built_tag};

/// Images kept beyond those a fleet runs or this deploy puts in place (the newest pushed).
pub(crate) const KEEP_NEWEST: u32 = 10;

/// One image a deploy needs in the repository: built here (to push) or there already.
pub(super) struct Ready {
    stage: String,
    repository: String,
    tag: String,
    /// The repository was there, with qfleet's marks, before the deploy changed anything.
    existed: bool,
    /// The engine and the local name, when this deploy built it.
    built: Option<(Engine, String)>,
    /// The image to copy from another environment's repository (`promote_from`).
    promoted: Option<Promotion>,
}

/// An image another environment's repository holds, to copy into this one's by digest.
struct Promotion {
    /// The environment it comes from, and its repository (`qfleet/FROM`).
    from: String,
    repository: String,
    manifest: aws::ImageManifest,
}

/// Where a stage that promotes stands.
enum Promoted {
    /// This environment's repository holds the tag as that image already.
    Here(aws::ImageManifest),
    /// It lacks it: the deploy copies it.
    Copy(Promotion),
}

/// What `promote_from` finds for a stage whose image is `repository:tag`, before anything
/// changes: the other environment's repository (`qfleet/FROM`, in this account and Region,
/// with qfleet's mark for FROM) must hold the tag; this environment's either lacks it or holds
/// the same image (the same digest). Anything else is refused: the image the other
/// environment tested is the only one a promoting stage runs.
async fn promotion(
    cx: &Ctx<'_>,
    (stage, from): (&Environment, &str),
    (repository, tag): (&str, &str),
    exists: bool,
) -> Result<Promoted> {
    let ecr = &cx.clients.ecr;
    let source = format!("qfleet/{from}");
    let unready = |why: String| -> Error {
        crate::deploy::errors::Refusal::PromotionUnready {
            env: cx.env.name.clone(),
            stage: stage.name.clone(),
            from: from.to_string(),
            why,
        }
        .into()
    };
    let Some(r) = aws::describe_repository(ecr, &source).await? else {
        return Err(unready(format!(
            "this account and Region have no repository {source}"
        )));
    };
    let marks = aws::repository_tags(ecr, &r.repository_arn).await?;
    let mark = marks
        .get(crate::config::ENVIRONMENT_TAG)
        .map(String::as_str);
    if mark != Some(from) {
        return Err(unready(format!(
            "the repository {source} is not qfleet's for {from}: it lacks the tag {}={from} ({})",
            crate::config::ENVIRONMENT_TAG,
            match mark {
                Some(v) => format!("it has {v}"),
                None => "it has none".into(),
            }
        )));
    }
    let Some(theirs) = aws::image_manifest(ecr, &source, tag).await? else {
        return Err(unready(format!(
            "{source} holds no image {tag}: {from} was not deployed with these build inputs"
        )));
    };
    // A layer ECR's API cannot write (its parts' quotas) is refused before anything changes.
    if let Err(why) = aws::image_blobs(&theirs) {
        return Err(unready(format!("{source}:{tag} cannot be copied: {why}")));
    }
    let ours = match exists {
        true => aws::image_manifest(ecr, repository, tag).await?,
        false => None,
    };
    match ours {
        Some(m) if m.digest == theirs.digest => Ok(Promoted::Here(m)),
        Some(m) => Err(crate::deploy::errors::Refusal::PromotedTagTaken {
            env: cx.env.name.clone(),
            from: from.to_string(),
            image: format!("{repository}:{tag} ({})", m.digest),
            theirs: theirs.digest,
        }
        .into()),
        None => Ok(Promoted::Copy(Promotion {
            from: from.to_string(),
            repository: source,
            manifest: theirs,
        })),
    }
}

/// Whether the environment `from` runs the image `tag` now, as its fleet stack for the stage
/// names it; a read that fails is said as unchecked.
async fn runs_there(cx: &Ctx<'_>, stage: &Environment, from: &str, tag: &str) -> String {
    let stack = stage.fleet_stack_name_in(from);
    let source = format!("qfleet/{from}");
    match aws::stack_template(&cx.clients.cfn, &stack).await {
        Ok(Some(t)) => {
            let running = running_tags(&t, &source);
            if running.iter().any(|r| r == tag) {
                format!("{}: {from} runs this image now ({stack})", stage.name)
            } else if running.is_empty() {
                format!(
                    "{}: {from}'s fleet ({stack}) runs no image of {source}: this one has not run there",
                    stage.name
                )
            } else {
                format!(
                    "{}: {from}'s fleet ({stack}) runs {}, not this image",
                    stage.name,
                    running.join(", ")
                )
            }
        }
        Ok(None) => format!(
            "{}: {from} has no fleet stack {stack} in this account and Region: it does not run this image here",
            stage.name
        ),
        Err(e) => format!(
            "{}: unchecked whether {from} runs this image: {e}",
            stage.name
        ),
    }
}

/// The build of each stage that builds its image, with the stage's name.
fn builds(env: &Environment) -> Vec<(&Environment, &ImageBuild)> {
    env.stages()
        .into_iter()
        .filter_map(|s| s.image_build.as_ref().map(|b| (s, b)))
        .collect()
}

/// The name a build is tagged with on this machine.
fn local_name(repository: &str, tag: &str) -> String {
    format!("localhost/{repository}:{tag}")
}

/// Whether the repository has `tag`; a read that fails is an error, never "not there".
async fn there(clients: &Clients, repository: &str, tag: &str) -> Result<bool> {
    Ok(aws::image_tag_exists(&clients.ecr, repository, tag).await?)
}

/// Whether the registry scans the repository's images on push: the account's setting, which
/// qfleet reports and never changes (ECR user guide, "Scan images for software
/// vulnerabilities": the registry's scan filters decide; the repository-level setting is
/// deprecated). A read that fails is said as unchecked.
async fn scan_note(clients: &Clients, stage: &str, repository: &str) -> String {
    match aws::scan_on_push(&clients.ecr, repository).await {
        Ok(aws::ScanOnPush::On { scan_type }) => {
            format!("{stage}: the registry scans {repository} on push ({scan_type})")
        }
        Ok(aws::ScanOnPush::Off) => format!(
            "{stage}: the registry does not scan {repository} on push: its scanning configuration has no filter for it (an account-wide setting: aws ecr put-registry-scanning-configuration)"
        ),
        Err(e) => {
            format!("{stage}: unchecked whether the registry scans {repository} on push: {e}")
        }
    }
}

/// What a plan says of each image: built and pushed by the deploy, or there already.
pub(super) async fn plan_notes(cx: &Ctx<'_>) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    for (stage, b) in builds(cx.env) {
        let repository = crate::config::image_repository(stage);
        if let Some(from) = crate::config::promote_from(stage) {
            let exists = exists_and_ours(cx, &repository).await?;
            notes.push(
                match promotion(cx, (stage, from), (&repository, &b.tag), exists).await? {
                    Promoted::Here(m) => format!(
                        "{}: runs {from}'s image {repository}:{} ({}), copied by digest before: deploy builds nothing",
                        stage.name, b.tag, m.digest
                    ),
                    Promoted::Copy(p) => format!(
                        "{}: deploy copies {from}'s image {}:{} ({}) into {repository} by digest: nothing is built",
                        stage.name, p.repository, b.tag, p.manifest.digest
                    ),
                },
            );
            notes.push(runs_there(cx, stage, from, &b.tag).await);
            notes.push(scan_note(cx.clients, &stage.name, &repository).await);
            continue;
        }
        let there = exists_and_ours(cx, &repository).await?
            && there(cx.clients, &repository, &b.tag).await?;
        notes.push(match there {
            true => format!(
                "{}: the image {repository}:{} is in the repository: deploy builds nothing",
                stage.name, b.tag
            ),
            false => format!(
                "{}: deploy builds the image ({} files of {}) and pushes it as {repository}:{}",
                stage.name,
                b.files,
                b.context.display(),
                b.tag
            ),
        });
        notes.push(scan_note(cx.clients, &stage.name, &repository).await);
    }
    Ok(notes)
}

/// Builds every stage's image the repository lacks: only reads on AWS (the tag looked up), so
/// that an image that does not build fails the deploy before its first change. Stages with the
/// same inputs share one image.
pub(super) async fn build_missing(cx: &Ctx<'_>) -> Result<Vec<Ready>> {
    let mut ready: Vec<Ready> = Vec::new();
    for (stage, b) in builds(cx.env) {
        let repository = crate::config::image_repository(stage);
        if ready
            .iter()
            .any(|r| r.repository == repository && r.tag == b.tag)
        {
            continue;
        }
        let exists = match ready.iter().any(|r| r.repository == repository) {
            true => true,
            false => exists_and_ours(cx, &repository).await?,
        };
        if let Some(from) = crate::config::promote_from(stage) {
            let promoted = match promotion(cx, (stage, from), (&repository, &b.tag), exists).await?
            {
                Promoted::Here(m) => {
                    cx.reporter.line(format!(
                        "{}: the image {repository}:{} ({}) is {from}'s, in the repository already",
                        stage.name, b.tag, m.digest
                    ));
                    None
                }
                Promoted::Copy(p) => Some(p),
            };
            ready.push(Ready {
                stage: stage.name.clone(),
                repository,
                tag: b.tag.clone(),
                existed: exists,
                built: None,
                promoted,
            });
            continue;
        }
        let built = if exists && there(cx.clients, &repository, &b.tag).await? {
            cx.reporter.line(format!(
                "{}: the image {repository}:{} is in the repository already",
                stage.name, b.tag
            ));
            None
        } else {
            let named = cx.opts.build_engine.or(crate::config::build_engine(stage));
            let local = local_name(&repository, &b.tag);
            let engine = blocking(move || engine::choose(named))
                .await
                .map_err(|f| failure(stage, f))?;
            cx.reporter.line(format!(
                "{}: building the image with {} ({} files of {})",
                stage.name,
                engine.program(),
                b.files,
                b.context.display()
            ));
            let (owned, name) = (b.clone(), local.clone());
            let lambda = stage.spec.workers.kind == crate::config::WorkerKind::Lambda;
            blocking(move || engine::build(engine, &owned, &name, lambda))
                .await
                .map_err(|f| failure(stage, f))?;
            Some((engine, local))
        };
        ready.push(Ready {
            stage: stage.name.clone(),
            repository,
            tag: b.tag.clone(),
            existed: exists,
            built,
            promoted: None,
        });
    }
    Ok(ready)
}

/// Whether the environment's repository exists: one without qfleet's marks for the
/// environment is refused (exit 4), by plan and by deploy before it builds.
async fn exists_and_ours(cx: &Ctx<'_>, name: &str) -> Result<bool> {
    let ecr = &cx.clients.ecr;
    let env = cx.env;
    let Some(r) = aws::describe_repository(ecr, name).await? else {
        return Ok(false);
    };
    let tags = aws::repository_tags(ecr, &r.repository_arn).await?;
    let lacks = crate::ownership::lacks_tags(env.resource_name(), env.spec.owner.as_deref(), &tags);
    if !lacks.is_empty() {
        return Err(crate::deploy::errors::Refusal::RepositoryNotOurs {
            env: env.name.clone(),
            repository: name.to_string(),
            lacks,
        }
        .into());
    }
    Ok(true)
}

/// The environment's repository, created with its marks when missing; one found ours before
/// the build is not read again.
async fn ensure_repository(cx: &Ctx<'_>, name: &str, existed: bool) -> Result<()> {
    if existed || exists_and_ours(cx, name).await? {
        return Ok(());
    }
    let env = cx.env;
    let mut tags = env.spec.tags.clone();
    tags.extend(crate::ownership::marks(env, false));
    aws::create_repository(&cx.clients.ecr, name, env.spec.kms_key.as_deref(), &tags).await?;
    cx.reporter
        .line(format!("{}: created the ECR repository {name}", env.name));
    Ok(())
}

/// After the data stack, before the fleets: the repository made or checked, the images
/// [`build_missing`] built pushed, and the lifecycle policy set to keep what the fleets run and
/// what they are about to run.
pub(super) async fn push(cx: &Ctx<'_>, ready: &[Ready]) -> Result<()> {
    let Some(first) = ready.first() else {
        return Ok(());
    };
    ensure_repository(cx, &first.repository, first.existed).await?;
    if ready.iter().any(|r| r.built.is_some()) {
        let login = aws::registry_login(&cx.clients.ecr).await?;
        for r in ready {
            let Some((engine, local)) = &r.built else {
                continue;
            };
            let remote = format!("{}/{}:{}", login.registry, r.repository, r.tag);
            let (engine, local, to, l) = (*engine, local.clone(), remote.clone(), login.clone());
            let timeout = cx.opts.push_timeout;
            // The engine's lines, as it prints them, on the stage's spinner.
            let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
            let pushing = blocking(move || {
                let progress = |line: &str| {
                    let _ = tx.send(line.to_string());
                };
                engine::push(
                    engine,
                    (&local, &to),
                    (&l.registry, &l.username, &l.password),
                    engine::Watch {
                        timeout,
                        progress: &progress,
                    },
                )
            });
            cx.reporter.line(format!(
                "{}: pushing the image {remote} (stopped after {}: --push-timeout)",
                r.stage,
                engine::spoken(timeout)
            ));
            let spinner = cx.reporter.spinner(&r.stage);
            spinner.set(format!("pushing the image {remote}"));
            let shown = async {
                while let Some(line) = lines.recv().await {
                    spinner.set(format!("pushing the image: {line}"));
                }
            };
            let (pushed, ()) = tokio::join!(pushing, shown);
            drop(spinner);
            pushed.map_err(|f| {
                let why = match f {
                    BuildFailure::Input(w) | BuildFailure::Tool { why: w, .. } => w,
                };
                // The data stack may have changed already: an AWS failure, not a tool's.
                Error::aws(format!("{}: pushing the image {remote}: {why}", r.stage))
            })?;
            cx.reporter
                .line(format!("{}: pushed the image {remote}", r.stage));
            cx.reporter
                .line(scan_note(cx.clients, &r.stage, &r.repository).await);
        }
    }
    for r in ready {
        if let Some(p) = &r.promoted {
            copy(cx, r, p).await?;
        }
    }
    let kept = kept_tags(cx.clients, cx.env).await?;
    aws::put_lifecycle_policy(&cx.clients.ecr, &first.repository, &policy(&kept)).await?;
    if cx
        .env
        .stages()
        .iter()
        .any(|s| s.spec.workers.kind == crate::config::WorkerKind::Lambda)
    {
        let account = crate::aws::account_id(&cx.clients.sts).await?;
        let text = lambda_pull_policy(cx.env, &cx.clients.region, &account);
        aws::set_repository_policy(&cx.clients.ecr, &first.repository, &text).await?;
    }
    Ok(())
}

/// Copies a promoted image into the environment's repository, its progress on the stage's
/// spinner.
async fn copy(cx: &Ctx<'_>, r: &Ready, p: &Promotion) -> Result<()> {
    let m = &p.manifest;
    cx.reporter.line(format!(
        "{}: copying {}'s image {}:{} ({}) into {} by digest",
        r.stage, p.from, p.repository, r.tag, m.digest, r.repository
    ));
    let spinner = cx.reporter.spinner(&r.stage);
    spinner.set(format!("copying the image {}:{}", p.repository, r.tag));
    let progress = |line: String| spinner.set(format!("copying the image: {line}"));
    let copied = aws::copy_image(
        &cx.clients.ecr,
        (&p.repository, &r.repository),
        &r.tag,
        m,
        &progress,
    )
    .await;
    drop(spinner);
    let copied = copied.map_err(|e| {
        // The data stack may have changed already: an AWS failure.
        match e.code() {
            Some("ImageTagAlreadyExistsException") => Error::aws(format!(
                "{}: copying {}'s image: {}:{} was tagged as another image meanwhile (by another run?); the fleets were not changed, and a plan names the image that tag holds",
                r.stage, p.from, r.repository, r.tag
            )),
            _ => Error::aws(format!("{}: copying {}'s image: {e}", r.stage, p.from)),
        }
    })?;
    cx.reporter.line(format!(
        "{}: copied the image {}:{} ({}): {} of its {} blobs written, {} bytes",
        r.stage, r.repository, r.tag, m.digest, copied.copied, copied.blobs, copied.bytes
    ));
    Ok(())
}

/// Runs `f` off the runtime's threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, BuildFailure> + Send + 'static,
) -> std::result::Result<T, BuildFailure> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(BuildFailure::Tool {
            tool: "qfleet",
            why: format!("the build stopped: {e}"),
        })
    })
}

/// A build that failed, as the engine's trouble with its own output (exit 5): nothing has
/// changed on AWS yet.
fn failure(stage: &Environment, f: BuildFailure) -> Error {
    let (tool, why) = match f {
        BuildFailure::Input(why) => ("the build", why),
        BuildFailure::Tool { tool, why } => (tool, why),
    };
    Error::Tool(ToolFailure {
        next: "Fix what it names (the Dockerfile, the context, the engine or its registry) and deploy again: the image is built before anything changes".into(),
        what: format!("{}: building the image (workers.image.build)", stage.name),
        tool: tool.to_string(),
        why,
    })
}

/// The repository policy a function's image needs: Lambda pulls the image as the Lambda
/// service, for the environment's functions only (Lambda developer guide, "Create a Lambda
/// function using a container image", Amazon ECR permissions:
/// <https://docs.aws.amazon.com/lambda/latest/dg/images-create.html>; the `aws:sourceArn`
/// condition lets Lambda pull again to reactivate an idle function).
fn lambda_pull_policy(env: &Environment, region: &str, account: &str) -> String {
    // The image function of the first stage, and of each later one (`qfleet-ENV--STAGE-…`).
    let arn = |name: String| {
        format!(
            "arn:{}:lambda:{region}:{account}:function:{name}",
            crate::config::partition(region).unwrap_or("aws")
        )
    };
    let env_name = env.resource_name();
    let functions = [
        arn(format!("qfleet-{env_name}-worker-image")),
        arn(format!("qfleet-{env_name}--*")),
    ];
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "LambdaECRImageRetrievalPolicy",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Condition": {"StringLike": {"aws:sourceArn": functions}},
        }],
    })
    .to_string()
}

/// The tags to keep: each image a fleet of the environment runs now (the tag its deployed
/// template names) and each this deploy puts in place.
async fn kept_tags(clients: &Clients, env: &Environment) -> Result<Vec<String>> {
    let mut kept: Vec<String> = Vec::new();
    for (stage, b) in builds(env) {
        kept.push(b.tag.clone());
        let repository = crate::config::image_repository(stage);
        // A template that cannot be read is an error: a guess could let the running image
        // expire.
        if let Some(template) = aws::stack_template(&clients.cfn, &stage.fleet_stack_name()).await?
        {
            kept.extend(running_tags(&template, &repository));
        }
    }
    kept.sort();
    kept.dedup();
    Ok(kept)
}

/// The tags of `repository` a template names (`…/REPOSITORY:src-…`).
fn running_tags(template: &str, repository: &str) -> Vec<String> {
    let needle = format!("/{repository}:");
    template
        .match_indices(&needle)
        .filter_map(|(i, _)| {
            let rest = &template[i + needle.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(rest.len());
            let tag = &rest[..end];
            is_built_tag(tag).then(|| tag.to_string())
        })
        .collect()
}

/// The policy's JSON text.
pub(crate) fn policy(kept: &[String]) -> String {
    let mut rules: Vec<serde_json::Value> = kept
        .iter()
        .enumerate()
        .map(|(i, tag)| {
            serde_json::json!({
                "rulePriority": i + 1,
                "description": "kept: a fleet runs it or a deploy puts it in place",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": [tag],
                    "countType": "imageCountMoreThan",
                    "countNumber": 1,
                },
                "action": {"type": "expire"},
            })
        })
        .collect();
    rules.push(serde_json::json!({
        "rulePriority": kept.len() + 1,
        "description": format!("the {KEEP_NEWEST} newest images are kept"),
        "selection": {
            "tagStatus": "any",
            "countType": "imageCountMoreThan",
            "countNumber": KEEP_NEWEST,
        },
        "action": {"type": "expire"},
    }));
    serde_json::json!({ "rules": rules }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPO: &str = "qfleet/orders";

    #[test]
    fn the_running_tag_is_read_from_the_deployed_template() {
        let t = "Image: !Sub \"${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/qfleet/orders:src-0123456789abcdef01234567\"\n\
                 Other: 1.dkr.ecr.x.amazonaws.com/qfleet/orders-2:src-ffffffffffffffffffffffff\n\
                 Tagged: x/qfleet/orders:latest";
        assert_eq!(running_tags(t, REPO), ["src-0123456789abcdef01234567"]);
        assert!(running_tags("no image here", REPO).is_empty());
    }

    #[test]
    fn every_kept_tag_has_a_rule_ahead_of_the_count_rule() {
        let kept = [
            "src-aaaaaaaaaaaaaaaaaaaaaaaa".to_string(),
            "src-bbbbbbbbbbbbbbbbbbbbbbbb".into(),
        ];
        let p: serde_json::Value = serde_json::from_str(&policy(&kept)).unwrap();
        let rules = p["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 3);
        for (i, tag) in kept.iter().enumerate() {
            assert_eq!(rules[i]["rulePriority"], i + 1);
            assert_eq!(rules[i]["selection"]["tagPatternList"][0], tag.as_str());
            // One image at most carries a tag (tags are immutable): this rule expires none.
            assert_eq!(rules[i]["selection"]["countNumber"], 1);
        }
        // `any` comes last, as ECR requires.
        assert_eq!(rules[2]["selection"]["tagStatus"], "any");
        assert_eq!(rules[2]["rulePriority"], 3);
        assert_eq!(rules[2]["selection"]["countNumber"], KEEP_NEWEST);
        // Without images to keep, only the count rule.
        let p: serde_json::Value = serde_json::from_str(&policy(&[])).unwrap();
        assert_eq!(p["rules"][0]["rulePriority"], 1);
    }
}
