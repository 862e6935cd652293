//! `qfleet environments`: every environment qfleet made in an account and region (or every
//! Region enabled for the account), found by its stacks' tags, with the stack file of the
//! stacks directory that makes it.

use super::Global;
use crate::error::{Result, Usage};
use crate::output::Output;
use clap::Args;

#[derive(Debug, Args)]
pub struct EnvironmentsArgs {
    /// List every Region enabled for the account (EC2 DescribeRegions), not only one; a Region
    /// that cannot be read is an error (exit 1), never "none there".
    #[arg(long)]
    pub all_regions: bool,
}

pub fn run(args: EnvironmentsArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    // The region listed: --region, else the AWS region setting.
    let region = g
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty());
    if args.all_regions && g.region.is_some() {
        return Err(Usage::EnvironmentsRegions.into());
    }
    let session = super::Session::open(Vec::new(), g.aws_settings(), g.concurrency.into())?;
    let regions = match (args.all_regions, region) {
        // Asked of the Region set, else of us-east-1 (any Region of the partition answers).
        (true, at) => session.block_on(async {
            let clients = session
                .aws
                .clients(at.as_deref().unwrap_or("us-east-1"))
                .await;
            crate::aws::ec2::enabled_regions(&clients.ec2).await
        })?,
        (false, Some(one)) => vec![one],
        (false, None) => return Err(Usage::EnvironmentsRegion.into()),
    };
    let listing = session.block_on(crate::environments::listing(
        &session.aws,
        regions,
        args.all_regions,
        &g.stacks_dir,
    ));
    out.print(&listing)
}
