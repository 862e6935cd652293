//! `workers.image`: a container image the EC2 workers run instead of the reference worker, the
//! image Fargate's tasks run, or (`workers.lambda.image`) a function's image: a reference to an
//! image already pushed, or one `qfleet deploy` builds (`….image.build`) and pushes to the
//! environment's ECR repository (`qfleet/ENV`, in its data stack).

use super::Environment;
use super::schema::{BuildPlatform, ImageSetting, WorkerKind};
use crate::config::InputError;
use crate::package::image::{BuildInputs, ImageBuild};
use serde::Serialize;
use std::path::Path;

/// The registry of the stack's own account and region, as CloudFormation's `Fn::Sub` reads it
/// (<https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html>: a private
/// registry is `ACCOUNT.dkr.ecr.REGION.amazonaws.com`; `AWS::URLSuffix` is `amazonaws.com.cn`
/// in China).
const OWN_REGISTRY: &str = "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}";

/// The environment's image repository (`qfleet/ENV`), which holds the images qfleet builds.
pub fn repository(env: &Environment) -> String {
    format!("qfleet/{}", env.resource_name())
}

/// The image setting the environment's kind runs, with its field: `workers.image` (EC2,
/// Fargate) or `workers.lambda.image`.
pub fn setting(env: &Environment) -> Option<(&'static str, &ImageSetting)> {
    let w = &env.spec.workers;
    match w.kind {
        WorkerKind::Lambda => w.lambda.image.as_ref().map(|i| ("workers.lambda.image", i)),
        _ => w.image.as_ref().map(|i| ("workers.image", i)),
    }
}

/// The workers' image, read: the reference the file names, or the one qfleet builds, in the
/// stack's own registry (its account and region as `Fn::Sub` variables).
pub fn of(env: &Environment) -> Option<Image> {
    match setting(env)?.1 {
        ImageSetting::Uri(u) => parse(u).ok(),
        ImageSetting::Source(_) => {
            let tag = &env.image_build.as_ref().filter(|b| !b.unread)?.tag;
            let repository = repository(env);
            Some(Image {
                uri: format!("{OWN_REGISTRY}/{repository}:{tag}"),
                sub: true,
                ecr: Some(Ecr {
                    registry: OWN_REGISTRY.into(),
                    account: "${AWS::AccountId}".into(),
                    region: "${AWS::Region}".into(),
                    repository,
                }),
            })
        }
    }
}

/// The environment whose image this one runs (`….image.build.promote_from`), if any.
pub fn promote_from(env: &Environment) -> Option<&str> {
    setting(env)?.1.build()?.promote_from.as_deref()
}

/// Stages of a pipeline whose builds make the same image (the same tag, in the environment's
/// one repository) share it: they must agree on where it comes from, built here or copied
/// from the same environment (a deploy makes it once). Said at the later stage's
/// `promote_from`. Builds whose context was not read (their tag unknown) are not compared.
pub(super) fn shared_builds(stages: &[Environment]) -> Option<InputError> {
    let read: Vec<(&Environment, &ImageBuild)> = stages
        .iter()
        .filter_map(|s| s.image_build.as_ref().filter(|b| !b.unread).map(|b| (s, b)))
        .collect();
    let name = |e: &Environment| e.stage.as_ref().map_or(e.name.clone(), |s| s.name.clone());
    let says = |s: Option<&str>| match s {
        Some(e) => format!("copied from {e}"),
        None => "built here".to_string(),
    };
    for (i, (stage, b)) in read.iter().enumerate() {
        let from = promote_from(stage);
        let Some((other, _)) = read[..i]
            .iter()
            .find(|(o, ob)| ob.tag == b.tag && promote_from(o) != from)
        else {
            continue;
        };
        let field = setting(stage).map_or("workers.image", |(f, _)| f);
        return Some(stage.source.error(
            &format!("{field}.build.promote_from"),
            format!(
                "stages {} and {} build the same image ({}), one {} and one {}: give both the same promote_from",
                name(other),
                name(stage),
                b.tag,
                says(promote_from(other)),
                says(from)
            ),
        ));
    }
    None
}

/// The engine the stack file names for the build (`….image.build.engine`), if any.
pub fn engine(env: &Environment) -> Option<crate::package::engine::Engine> {
    use crate::package::engine::Engine;
    match setting(env)?.1.build()?.engine? {
        super::schema::Engine::Docker => Some(Engine::Docker),
        super::schema::Engine::Podman => Some(Engine::Podman),
    }
}

/// The platform the workers run: Fargate's, Lambda's architecture, or the instance type's.
fn workers_platform(env: &Environment) -> BuildPlatform {
    let w = &env.spec.workers;
    let arm = match w.kind {
        WorkerKind::Fargate => w.fargate.platform == super::schema::Platform::LinuxArm64,
        WorkerKind::EcsManaged => w.ecs_managed.platform == super::schema::Platform::LinuxArm64,
        WorkerKind::Lambda => w.lambda.architecture == super::schema::Architecture::Arm64,
        WorkerKind::Ec2 => w
            .types()
            .first()
            .is_some_and(|t| super::schema::is_graviton(t)),
    };
    if arm {
        BuildPlatform::Arm64
    } else {
        BuildPlatform::Amd64
    }
}

/// The build the stack file asks for, read and digested (its tag known before anything is
/// built); the error names the field.
/// With `contexts` false, the build is known from the file alone and its context is not read:
/// its tag is unknown ([`ImageBuild::unread`]).
pub(super) fn read_build(
    env: &Environment,
    contexts: bool,
) -> Result<Option<ImageBuild>, Box<InputError>> {
    let Some((field, ImageSetting::Source(s))) = setting(env) else {
        return Ok(None);
    };
    let b = &s.build;
    let runs = workers_platform(env);
    let platform = b.platform.unwrap_or(runs);
    if platform != runs {
        return Err(Box::new(env.source.error(
            &format!("{field}.build.platform"),
            format!(
                "the workers run on {}, so the image must be built for it, not {}",
                runs.as_str(),
                platform.as_str()
            ),
        )));
    }
    let base = env.source.path.parent().unwrap_or(Path::new("."));
    let context = base.join(b.context.as_deref().unwrap_or(Path::new(".")));
    let dockerfile = match &b.dockerfile {
        Some(d) => base.join(d),
        None => context.join("Dockerfile"),
    };
    let inputs = BuildInputs {
        context,
        dockerfile,
        target: b.target.as_deref(),
        args: b
            .args
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        platform: platform.as_str(),
    };
    if let Some(from) = &b.promote_from {
        let field = format!("{field}.build.promote_from");
        if !super::checks::valid_name(from) {
            let mut e = env
                .source
                .error(&field, format!("`{from}` is not an environment's name"));
            e.allowed = Some(super::checks::NAME_RULE.into());
            return Err(Box::new(e));
        }
        if from == env.resource_name() || from == &env.name {
            return Err(Box::new(env.source.error(
                &field,
                format!("names this environment, {from}: name the environment whose image {} runs (the one that tested it)", env.name),
            )));
        }
    }
    if !contexts {
        return Ok(Some(ImageBuild::unread(inputs)));
    }
    crate::package::image::read(inputs)
        .map(Some)
        .map_err(|why| Box::new(env.source.error(&format!("{field}.build"), why)))
}

/// An image reference, read: where it is pulled from decides what the instance role needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Image {
    pub uri: String,
    /// Whether `uri` holds `Fn::Sub` variables (an image qfleet builds, in the stack's own
    /// registry).
    pub sub: bool,
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]`: a private ECR registry, pulled with the
    /// instance role; `None` for a public registry.
    pub ecr: Option<Ecr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ecr {
    pub registry: String,
    pub account: String,
    pub region: String,
    pub repository: String,
}

/// Reads `registry/path[:tag][@sha256:digest]`; the error says what is allowed.
pub fn parse(uri: &str) -> Result<Image, String> {
    let bad = |why: &str| Err(format!("`{uri}` {why}"));
    if uri.is_empty() || uri.len() > 255 || uri.chars().any(|c| c.is_whitespace()) {
        return bad("is not an image reference");
    }
    let (name, _digest) = match uri.split_once('@') {
        Some((n, d)) => {
            let hex = d.strip_prefix("sha256:").unwrap_or_default();
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return bad("has a digest that is not sha256: and 64 hex digits");
            }
            (n, Some(d))
        }
        None => (uri, None),
    };
    // A tag follows the last `:` after the last `/` (a registry's port comes before a `/`).
    let (repo, tag) = match name.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, Some(t)),
        _ => (name, None),
    };
    if let Some(t) = tag
        && (t.is_empty()
            || t.len() > 128
            || !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)))
    {
        return bad("has a tag that is not 1 to 128 letters, digits, _ . -");
    }
    let path_ok = |p: &str| {
        !p.is_empty()
            && p.split('/').all(|seg| {
                !seg.is_empty()
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            })
    };
    let Some((registry, path)) = repo.split_once('/') else {
        return bad(
            "names no registry: write it in full, such as public.ecr.aws/org/worker:1.4 or 123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker:1.4",
        );
    };
    if !registry.contains('.') || !path_ok(path) {
        return bad("is not REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST] with a lowercase repository");
    }
    let labels: Vec<&str> = registry.split('.').collect();
    let ecr = match labels[..] {
        [account, "dkr", "ecr", region, "amazonaws", "com", ..] => Some((account, region)),
        _ => None,
    };
    Ok(Image {
        uri: uri.to_string(),
        sub: false,
        ecr: match ecr {
            Some((account, region))
                if account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()) =>
            {
                Some(Ecr {
                    registry: registry.to_string(),
                    account: account.to_string(),
                    region: region.to_string(),
                    repository: path.to_string(),
                })
            }
            Some(_) => return bad("is an ECR registry without a 12-digit account"),
            None => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ecr_public_and_digest_references_read() {
        let i = parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/resizer:1.4").unwrap();
        let e = i.ecr.unwrap();
        assert_eq!(
            (e.account.as_str(), e.region.as_str(), e.repository.as_str()),
            ("123456789012", "eu-west-1", "team/resizer")
        );
        assert!(
            parse("public.ecr.aws/acme/worker:latest")
                .unwrap()
                .ecr
                .is_none()
        );
        let digest = format!("docker.io/library/python@sha256:{}", "a".repeat(64));
        assert!(parse(&digest).unwrap().ecr.is_none());
        assert!(parse("registry.example.com:5000/w").unwrap().ecr.is_none());
        for bad in [
            "worker:1.4",
            "python",
            "public.ecr.aws/Acme/worker",
            "public.ecr.aws/acme/worker:",
            "public.ecr.aws/acme/worker@sha256:abc",
            "12345.dkr.ecr.eu-west-1.amazonaws.com/w",
            "public.ecr.aws/acme/ worker",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
