//! `qfleet validate ENV...`: checks the stack files and their rendered templates, offline.

use super::Global;
use crate::error::Result;
use crate::output::Output;
use crate::validate;
use clap::Args;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Environment names (files in the stacks directory, copies, globs) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// The full summary of every environment (the default for one); several get a row each.
    #[arg(long)]
    pub details: bool,
}

pub(crate) fn run(args: ValidateArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let envs = super::load_environments(&args.envs, g)?;
    out.print(&validate::check_all(&envs, args.details)?)
}
