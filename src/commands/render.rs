//! `qfleet render ENV... [--out DIR]`: the environments' CloudFormation templates.

use super::Global;
use crate::error::Result;
use crate::output::Output;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Environment names (files in the stacks directory, copies, globs) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// Write one file per stack (data.yaml, fleet.yaml) into this directory instead of stdout
    /// (into DIR/ENV/ for each of several environments; a file deployed through StackSets
    /// also gets its stack sets' templates in DIR/stack-sets/).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub(crate) fn run(args: RenderArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let envs = super::load_environments(&args.envs, g)?;
    out.print(&crate::placement::render_all(&envs, args.out.as_deref())?)
}
