//! The repository of the workers' images qfleet builds (`qfleet/ENV`, see
//! [`crate::deploy`]'s image module): read for teardown when the stack file builds an image or
//! the data stack records that a deploy did (`qfleet:images`), so that a file that stopped
//! building leaves no repository behind, and an environment that never built one makes no
//! ECR call.

use super::{Fact, StackSnapshot};
use crate::aws::{self, Clients};
use crate::config::Environment;

/// The repository, whose it is, and the digests of the images it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRepository {
    pub name: String,
    /// What it lacks of the environment's marks (empty: qfleet made it for this environment).
    pub lacks: Vec<String>,
    pub digests: Vec<String>,
}

/// Whether the environment may have a repository of qfleet's: its file builds an image, or its
/// data stack says a deploy made one.
pub(crate) fn recorded(env: &Environment, data: &StackSnapshot) -> bool {
    env.stages().iter().any(|s| s.image_build.is_some())
        || matches!(&data.state, Fact::Known(s) if s.tags.contains_key(crate::config::IMAGES_TAG))
}

pub(super) async fn read(
    clients: &Clients,
    env: &Environment,
    data: &StackSnapshot,
) -> Fact<ImageRepository> {
    if !recorded(env, data) {
        return Fact::Absent;
    }
    let name = crate::config::image_repository(env);
    let repo = match aws::describe_repository(&clients.ecr, &name).await {
        Ok(Some(r)) => r,
        Ok(None) => return Fact::Absent,
        Err(e) => return Fact::Unknown(e.into()),
    };
    let tags = match aws::repository_tags(&clients.ecr, &repo.repository_arn).await {
        Ok(t) => t,
        Err(e) => return Fact::Unknown(e.into()),
    };
    let lacks = crate::ownership::lacks_tags(env.resource_name(), env.spec.owner.as_deref(), &tags);
    match aws::repository_images(&clients.ecr, &name).await {
        Ok(Some(images)) => Fact::Known(ImageRepository {
            name,
            lacks,
            digests: images.into_iter().map(|i| i.digest).collect(),
        }),
        Ok(None) => Fact::Absent,
        Err(e) => Fact::Unknown(e.into()),
    }
}
