//! `qfleet status ENV... [--watch]`: stacks, fleet, queues, scaling and alarms in one screen,
//! or one row per environment for several.

use super::Global;
use crate::error::{Result, Usage};
use crate::output::{Format, Output};
use crate::status;
use clap::Args;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Environment names (files in the stacks directory, copies, globs, ENV-TARGET@ACCOUNT for
    /// one account of a whole-unit target, NAME@REGION or NAME@ACCOUNT/REGION for the one
    /// environment of a name there) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// Refresh until Ctrl-C, the way a watch ends (exit 0) (in place on a terminal; one document per refresh and line with
    /// --output ndjson).
    #[arg(long, short = 'w')]
    pub watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,
    /// The whole screen of every environment (the default for one); several get a row each.
    #[arg(long)]
    pub details: bool,
}

pub(crate) fn run(args: StatusArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    if args.watch && out.format == Format::Json {
        return Err(Usage::WatchNeedsNdjson.into());
    }
    let session = super::session_of_accounts(&args.envs, g)?;
    let details = args.details || session.envs.len() == 1;
    status::show(&session, &out, details, args.watch.then_some(args.interval))
}
