//! `qfleet drift ENV...`: exit 0 in sync, 3 drifted, 1 could not check (all or part).

use super::Global;
use crate::aws::Polling;
use crate::drift;
use crate::drift::Drifts;
use crate::error::Result;
use crate::output::Output;
use clap::Args;

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Environment names (files in the stacks directory, copies, globs, ENV-TARGET@ACCOUNT for
    /// one account of a whole-unit target, NAME@REGION or NAME@ACCOUNT/REGION for the one
    /// environment of a name there) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
}

pub(crate) fn run(args: DriftArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let session = super::session_of_accounts(&args.envs, g)?;
    let reports = crate::placement::each_located(&session, |clients, env, at| async move {
        drift::check(&clients, env, at, Polling::default()).await
    });
    out.print(&Drifts {
        environments: session.names().into_iter().zip(reports).collect(),
    })
}
