//! `qfleet environments`: every environment qfleet made in an account and region, found by
//! its stacks' tags, with the stack file of the stacks directory that makes it.

use super::Global;
use crate::environments::Listing;
use crate::error::{Result, Usage};
use crate::output::Output;
use clap::Args;

#[derive(Debug, Args)]
pub struct EnvironmentsArgs {}

pub fn run(_args: EnvironmentsArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    // The region listed: --region, else the AWS region setting.
    let region = g
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty())
        .ok_or(Usage::EnvironmentsRegion)?;
    let session = super::Session::open(Vec::new(), g.aws_settings(), g.concurrency.into())?;
    let found = session.block_on(async {
        let clients = session.aws.clients(&region).await;
        crate::environments::every(&clients).await
    })?;
    let files = crate::config::StackFiles::default();
    let environments = found
        .into_iter()
        .map(|m| {
            let file = crate::environments::load_from(
                std::slice::from_ref(&m.environment),
                &g.stacks_dir,
                &files,
            )
            .ok()
            .and_then(|envs| envs.first().map(|e| e.source.display()));
            (m, file)
        })
        .collect();
    out.print(&Listing {
        region,
        environments,
    })
}
