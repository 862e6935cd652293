//! The repository of the images qfleet built (`workers.image.build`, `qfleet/ENV`), right
//! before the data stack, whose `qfleet:images` tag records it: its images go only when asked (`--delete-images`, decided before
//! anything is deleted), exactly those listed, and then the repository, which ECR refuses to
//! delete while it holds any other (DeleteRepository without `force`). A repository without
//! qfleet's marks for the environment is left, and said.

use super::{Ctx, TeardownOutcome};
use crate::aws;
use crate::error::Result;
use crate::output::words::count;
use crate::snapshot::ImageRepository;

pub(super) async fn tidy(
    at: &Ctx<'_>,
    repo: &ImageRepository,
    out: &mut TeardownOutcome,
) -> Result<()> {
    let Ctx {
        clients,
        env,
        reporter,
        ..
    } = *at;
    if !repo.lacks.is_empty() {
        let line = format!(
            "ECR repository {}: not qfleet's for {} (it lacks {}), so it stays",
            repo.name,
            env.name,
            repo.lacks.join(" and ")
        );
        out.retained.push(line);
        return Ok(());
    }
    let step = format!("delete ECR repository {}", repo.name);
    reporter.ledger.start(&env.name, &step);
    if !repo.digests.is_empty() {
        aws::delete_images(&clients.ecr, &repo.name, &repo.digests).await?;
        out.images_deleted = repo.digests.len() as u64;
    }
    aws::delete_repository(&clients.ecr, &repo.name).await?;
    out.image_repository_deleted = Some(repo.name.clone());
    reporter.ledger.finish(
        &env.name,
        &step,
        format!(
            "deleted ECR repository {} ({})",
            repo.name,
            count(repo.digests.len() as u64, "image", "images")
        ),
    );
    Ok(())
}
