//! `qfleet outputs ENV...`: the stacks' outputs as a table, JSON, or KEY=value lines for shells.

use super::Global;
use crate::error::{Result, Usage};
use crate::output::Output;
use crate::stack_outputs::{Outputs, read};
use clap::Args;

#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// Environment names (files in the stacks directory, copies, globs, ENV-TARGET@ACCOUNT for
    /// one account of a whole-unit target, NAME@REGION or NAME@ACCOUNT/REGION for the one
    /// environment of a name there) or paths to stack files; --shell takes one.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// Print KEY=value lines (keys in UPPER_SNAKE_CASE, values shell-quoted) for `eval`.
    #[arg(long, conflicts_with = "output")]
    pub shell: bool,
}

pub(crate) fn run(args: OutputsArgs, g: &Global, out: Output) -> Result<crate::error::Exit> {
    let session = super::session_without_build_contexts(&args.envs, g)?;
    if args.shell && session.envs.len() > 1 {
        return Err(Usage::ShellOneEnvironment {
            count: session.envs.len(),
        }
        .into());
    }
    let results = crate::placement::each_located(&session, |clients, env, at| async move {
        read(&clients, env, at).await
    });
    out.print(&Outputs {
        environments: session.names().into_iter().zip(results).collect(),
        shell: args.shell,
    })
}

#[cfg(test)]
mod tests {
    use crate::stack_outputs::{shell_key, shell_quote};

    #[test]
    fn keys_become_upper_snake_case() {
        assert_eq!(shell_key("QueueUrl"), "QUEUE_URL");
        assert_eq!(shell_key("DeadLetterQueueArn"), "DEAD_LETTER_QUEUE_ARN");
        assert_eq!(shell_key("AutoScalingGroupName"), "AUTO_SCALING_GROUP_NAME");
        assert_eq!(shell_key("KMSKeyId"), "KMS_KEY_ID");
    }

    #[test]
    fn values_are_quoted_only_when_needed() {
        assert_eq!(
            shell_quote("https://sqs.eu-west-1.amazonaws.com/1/q"),
            "https://sqs.eu-west-1.amazonaws.com/1/q"
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
