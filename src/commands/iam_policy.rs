//! `qfleet iam-policy ENV… [--account ID]`: the least-privilege policy a deploying principal
//! needs for these environments, as JSON (always JSON: it is a policy); for StackSets targets,
//! also the StackSets roles' and the targets' roles' ([`crate::iam::stack_sets`]).

use super::Global;
use crate::error::Result;
use crate::iam;
use crate::output::Output;
use clap::Args;

#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    /// Environments the principal deploys: names, stack file paths, copies, globs.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// The account the environments live in (12 digits); for a file deployed through StackSets,
    /// the account that holds its stack sets (the file's rollout.administration_account when
    /// it names one). Without it, the account the file names (its targets', or with StackSets
    /// the stack sets'), else qfleet asks AWS STS who the current credentials belong to. With
    /// targets in several accounts (direct mode), the policy is for the targets in this one.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
}

pub(crate) fn run(args: IamPolicyArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let loaded = super::load_environments(&args.envs, g)?;
    out.print(&iam::policies_for(&loaded, args.account, g.aws_settings())?)
}
