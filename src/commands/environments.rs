//! `qfleet environments`: every environment qfleet made in an account and region (or every
//! Region enabled for the account), found by its stacks' tags, with the stack file of the
//! stacks directory that makes it.

use super::Global;
use crate::error::Result;
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
    if args.all_regions && g.region.is_some() {
        return Err(crate::environments::errors::Usage::EnvironmentsRegions.into());
    }
    let session = super::Session::open(Vec::new(), g.aws_settings(), g.concurrency.into())?;
    // The region listed, or asked for the account's Regions: --region, else the one the
    // environment or profile sets (its partition's), else us-east-1 for --all-regions.
    let region = match &g.region {
        Some(r) => Some(r.clone()),
        None => session.block_on(session.aws.configured_region()),
    };
    let regions = match (args.all_regions, region) {
        (true, at) => session.block_on(async {
            let clients = session
                .aws
                .clients(at.as_deref().unwrap_or("us-east-1"))
                .await;
            crate::aws::enabled_regions(&clients.ec2).await
        })?,
        (false, Some(one)) => vec![one],
        (false, None) => return Err(crate::environments::errors::Usage::EnvironmentsRegion.into()),
    };
    let listing = session.block_on(crate::environments::listing(
        &session.aws,
        regions,
        args.all_regions,
        &g.stacks_dir,
    ));
    out.print(&listing)
}
