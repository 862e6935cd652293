//! `qfleet outputs ENV`: the stacks' outputs as a table, JSON, or KEY=value lines for shells.

use super::Global;
use crate::aws::stacks;
use crate::aws::{Aws, Clients};
use crate::config::Environment;
use crate::error::Result;
use crate::output::Output;
use clap::Args;
use std::collections::BTreeMap;

#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// Environment name (a file in the stacks directory) or path to a stack file.
    pub env: String,
    /// Print KEY=value lines (keys in UPPER_SNAKE_CASE, values shell-quoted) for `eval`.
    #[arg(long, conflicts_with = "output")]
    pub shell: bool,
}

/// `QueueUrl` → `QUEUE_URL`.
pub fn shell_key(key: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = key.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let boundary = i > 0
            && c.is_ascii_uppercase()
            && (chars[i - 1].is_ascii_lowercase()
                || chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())
                    && chars[i - 1].is_ascii_uppercase());
        if boundary {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Single-quotes a value for POSIX shells when it needs quoting.
pub fn shell_quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c))
    {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\'', r"'\''"))
    }
}

/// Outputs of every stack of the environment, by stack name (absent stacks are left out).
pub async fn collect(
    clients: &Clients,
    env: &Environment,
) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let (data, fleet) = stacks::describe_pair(
        &clients.cfn,
        &env.data_stack_name(),
        &env.fleet_stack_name(),
    )
    .await?;
    Ok([data, fleet]
        .into_iter()
        .flatten()
        .map(|s| (s.name, s.outputs))
        .collect())
}

pub fn run(args: OutputsArgs, g: &Global, out: Output) -> Result<i32> {
    let env = super::load_environments(std::slice::from_ref(&args.env), g)?.remove(0);
    let aws = Aws::new(g.aws_settings());
    let by_stack = super::runtime()?.block_on(async {
        let clients = aws.clients(&aws.region_for(&env.spec.region)).await;
        collect(&clients, &env).await
    })?;
    if by_stack.is_empty() {
        return Err(crate::error::Error::aws(format!(
            "environment {} is not deployed (no stack {} or {})",
            env.name,
            env.data_stack_name(),
            env.fleet_stack_name()
        )));
    }
    let merged: BTreeMap<&str, &str> = by_stack
        .values()
        .flat_map(|o| o.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .filter(|(k, _)| *k != crate::deploy::desired::FINGERPRINT_PARAMETER)
        .collect();
    if out.is_json() {
        out.json(&serde_json::json!({
            "environment": env.name,
            "outputs": merged,
            "stacks": by_stack,
        }));
    } else if merged.is_empty() {
        // On stderr, so that `eval "$(qfleet outputs ENV --shell)"` stays harmless.
        out.note(format!(
            "{}: the stacks report no outputs yet (CloudFormation fills them in when an operation completes)",
            env.name
        ));
    } else if args.shell {
        for (k, v) in &merged {
            out.line(format!("{}={}", shell_key(k), shell_quote(v)));
        }
    } else {
        out.line(crate::output::table(
            &["output", "value"],
            merged.iter().map(|(k, v)| vec![*k, *v]),
        ));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
