//! `qfleet outputs ENV...`: the stacks' outputs as a table, JSON, or KEY=value lines for shells.

use super::{Global, Session};
use crate::error::{Error, Result};
use crate::output::Output;
use crate::output::envelope;
use crate::outputs::{merged, read, shell_key, shell_quote};
use clap::Args;

#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// Environment names (files in the stacks directory, copies, globs) or paths to stack files;
    /// --shell takes one.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// Print KEY=value lines (keys in UPPER_SNAKE_CASE, values shell-quoted) for `eval`.
    #[arg(long, conflicts_with = "output")]
    pub shell: bool,
}

pub fn run(args: OutputsArgs, g: &Global, out: Output) -> Result<i32> {
    let session = Session::open_with_pipelines(&args.envs, g)?;
    if args.shell && session.envs.len() > 1 {
        return Err(Error::usage(format!(
            "--shell takes one environment ({} named: their KEY=value lines would overwrite each other)",
            session.envs.len()
        )));
    }
    let results = session.each(|clients, env| async move { read(&clients, env).await });
    let code = results
        .iter()
        .map(|r| r.as_ref().map_or_else(Error::exit_code, |_| 0))
        .max()
        .unwrap_or(0);
    if out.is_json() {
        let environments = session
            .envs
            .iter()
            .zip(&results)
            .map(|(env, r)| match r {
                Ok(by_stack) => envelope::environment(
                    &env.name,
                    0,
                    None,
                    serde_json::json!({ "outputs": merged(by_stack), "stacks": by_stack }),
                ),
                Err(e) => envelope::environment(
                    &env.name,
                    e.exit_code(),
                    Some(e.report()),
                    serde_json::json!({ "outputs": null, "stacks": null }),
                ),
            })
            .collect();
        out.document(envelope::document(
            "outputs",
            code,
            environments,
            Default::default(),
        ));
        return Ok(code);
    }
    let several = session.envs.len() > 1;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (env, r) in session.envs.iter().zip(&results) {
        let by_stack = match r {
            Ok(b) => b,
            Err(e) => {
                out.note(format!("error: {}: {e}", env.name));
                continue;
            }
        };
        let merged = merged(by_stack);
        if merged.is_empty() && args.shell {
            // Silence would let `eval "$(qfleet outputs ENV --shell)"` carry on with nothing set.
            return Err(Error::aws(format!(
                "{}: the stacks have no outputs yet, so --shell has nothing to print (CloudFormation fills them in when a create or update completes; `qfleet status {}` shows where the stacks stand)",
                env.name, env.name
            )));
        }
        if merged.is_empty() {
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
            rows.extend(merged.iter().map(|(k, v)| {
                let row = vec![k.to_string(), v.to_string()];
                if several {
                    [vec![env.name.clone()], row].concat()
                } else {
                    row
                }
            }));
        }
    }
    if !rows.is_empty() {
        let header: &[&str] = if several {
            &["environment", "output", "value"]
        } else {
            &["output", "value"]
        };
        out.line(crate::output::table(header, rows));
    }
    Ok(code)
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
