//! An environment's stack outputs: read from both stacks, merged (the template fingerprint
//! left out), and spelled as shell variables for `eval "$(qfleet outputs ENV --shell)"`.

mod report;

pub(crate) use report::Outputs;

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use report::schema;

use crate::aws;
use crate::aws::Clients;
use crate::config::Environment;
use crate::error::{Error, Result};
use crate::placement::StackNames;
use std::collections::BTreeMap;

/// `QueueUrl` → `QUEUE_URL`.
pub(crate) fn shell_key(key: &str) -> String {
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
pub(crate) fn shell_quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c))
    {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\'', r"'\''"))
    }
}

/// Outputs of every stack of the environment, by stack name (absent stacks are left out). A
/// later stage's fleet outputs are named after its stage (`StageThumbsAutoScalingGroupName`),
/// as the data stack names its queues (`StageThumbsQueueUrl`), so that merged they stay apart.
pub(crate) async fn collect(
    clients: &Clients,
    env: &Environment,
    at: &StackNames,
) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let stages = env.stages();
    let names: Vec<(String, String)> = std::iter::once((env.data_stack_name(), String::new()))
        .chain(stages.iter().map(|s| {
            let prefix = s
                .stage
                .as_ref()
                .filter(|st| st.index > 0)
                .map(|st| crate::render::stage_id(&st.name))
                .unwrap_or_default();
            (s.fleet_stack_name(), prefix)
        }))
        // Where the stack is (a stack set's instance's stack); none: no stack to read.
        .filter_map(|(own, prefix)| Some((at.name(&own)?, prefix)))
        .collect();
    let states = futures::future::try_join_all(
        names
            .iter()
            .map(|(name, _)| aws::describe_stack(&clients.cfn, name)),
    )
    .await?;
    Ok(states
        .into_iter()
        .zip(names)
        .filter_map(|(state, (_, prefix))| {
            let s = state?;
            let outputs = s
                .outputs
                .into_iter()
                .map(|(k, v)| (format!("{prefix}{k}"), v))
                .collect();
            Some((s.name, outputs))
        })
        .collect())
}

/// The outputs of one environment by stack, or why there are none to read.
pub(crate) type ByStack = BTreeMap<String, BTreeMap<String, String>>;

/// One environment's outputs: by stack, and merged (the fingerprint parameter left out). The
/// account guard first: another account's stacks of the same name would hand a pipeline
/// another environment's queue URL. The stacks are where `at` says (a target deployed through
/// StackSets: its stack sets' instances), or could not be found (an error).
pub(crate) async fn read(
    clients: &Clients,
    env: &Environment,
    at: Result<StackNames>,
) -> Result<ByStack> {
    crate::ownership::check_account(&clients.sts, env).await?;
    let by_stack = collect(clients, env, &at?).await?;
    if by_stack.is_empty() {
        return Err(Error::aws(format!(
            "environment {} is not deployed (no stack {} or {})",
            env.name,
            env.data_stack_name(),
            env.fleet_stack_name()
        )));
    }
    Ok(by_stack)
}

pub(crate) fn merged(by_stack: &ByStack) -> BTreeMap<&str, &str> {
    by_stack
        .values()
        .flat_map(|o| o.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        // Every stack's, a later stage's fleet's named after its stage.
        .filter(|(k, _)| !k.ends_with(crate::render::FINGERPRINT_PARAMETER))
        .collect()
}
