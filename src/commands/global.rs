//! The flags every command shares.

use crate::output::Format;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// A flag's positive duration: whole seconds or a number with a unit (`90`, `30s`, `10m`, `2h`,
/// `1d`), as the stack file writes durations.
pub(super) fn positive_duration(text: &str) -> std::result::Result<Duration, String> {
    crate::config::duration::parse(text)
        .filter(|s| s.0 > 0)
        .map(|s| Duration::from_secs(s.0))
        .ok_or_else(|| format!("`{text}` is not a duration such as 90, 30s, 10m or 2h"))
}

#[derive(Debug, Args)]
pub struct Global {
    /// Output format: text for people; json (one document) or ndjson (live events, then the
    /// document) for pipelines.
    #[arg(
        long,
        short = 'o',
        global = true,
        value_enum,
        default_value = "text",
        env = "QFLEET_OUTPUT"
    )]
    pub output: Format,
    /// Directory holding the stack files (ENV names a file NAME.yaml in it).
    #[arg(long, global = true, default_value = crate::config::DEFAULT_STACKS_DIR, env = "QFLEET_STACKS_DIR")]
    pub stacks_dir: PathBuf,
    /// AWS profile (from ~/.aws/config; SSO profiles work after `aws sso login`).
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// Deploy to this region instead of the stack file's.
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Assume this IAM role for every AWS call.
    #[arg(long, global = true)]
    pub role_arn: Option<String>,
    /// Environments reading or sending calls at the same time (deploy, plan, outputs, status,
    /// drift, teardown); a teardown's waits for CloudFormation to delete a stack do not count.
    #[arg(long, global = true, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=50))]
    pub concurrency: u16,
    /// Log every AWS request (operation, outcome, duration) on stderr; RUST_LOG works too.
    #[arg(long, global = true)]
    pub debug: bool,
}

impl Global {
    pub(super) fn aws_settings(&self) -> crate::aws::Settings {
        crate::aws::Settings {
            profile: self.profile.clone(),
            region: self.region.clone(),
            role_arn: self.role_arn.clone(),
        }
    }
}
