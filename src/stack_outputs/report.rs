//! The outputs of the environments a command line names as one result: a table (a column
//! per environment for several), `KEY=value` lines for `eval` (`--shell`), or the document.

use super::{ByStack, merged, shell_key, shell_quote};
use crate::error::{Error, Result};
use crate::output::{Document, Environment, Output, Report};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// What was read of each environment: its outputs by stack, or why they could not be read.
pub(crate) struct Outputs {
    pub environments: Vec<(String, Result<ByStack>)>,
    /// `KEY=value` lines for `eval "$(qfleet outputs ENV --shell)"`.
    pub shell: bool,
}

/// Each environment's stack outputs, merged (outputs) and by stack (stacks); null with the
/// environment's error when it is not deployed.
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    /// Every stack's outputs in one map (the template fingerprint left out).
    outputs: Option<BTreeMap<&'a str, &'a str>>,
    /// Each stack's outputs, by stack name.
    stacks: Option<&'a ByStack>,
}

/// The schema of `qfleet outputs`'s document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Body<'static>, ()>(
        "outputs",
        "qfleet outputs --output json",
        Environments::Each,
    )
}

impl Report for Outputs {
    fn exit_code(&self) -> crate::error::Exit {
        self.environments
            .iter()
            .map(|(_, r)| {
                r.as_ref()
                    .map_or_else(Error::exit_code, |_| crate::error::Exit::Ok)
            })
            .max()
            .unwrap_or(crate::error::Exit::Ok)
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let environments = self
            .environments
            .iter()
            .map(|(name, r)| match r {
                Ok(by_stack) => Environment::ok(
                    name,
                    Body {
                        outputs: Some(merged(by_stack)),
                        stacks: Some(by_stack),
                    },
                ),
                Err(e) => Environment::failed(
                    name,
                    e,
                    Body {
                        outputs: None,
                        stacks: None,
                    },
                ),
            })
            .collect();
        Document::new(self.exit_code(), environments)
    }

    fn text(&self, out: &Output) -> Result<()> {
        let several = self.environments.len() > 1;
        let mut rows: Vec<Vec<String>> = Vec::new();
        for (name, r) in &self.environments {
            let by_stack = match r {
                Ok(b) => b,
                Err(e) => {
                    out.note(format!(
                        "error: {}",
                        crate::output::words::of_env(name, &e.to_string())
                    ));
                    continue;
                }
            };
            let merged = merged(by_stack);
            if merged.is_empty() {
                empty(name, self.shell, out)?;
            } else if self.shell {
                for (k, v) in &merged {
                    out.line(format!("{}={}", shell_key(k), shell_quote(v)));
                }
            } else {
                rows.extend(merged.iter().map(|(k, v)| {
                    let row = vec![k.to_string(), v.to_string()];
                    if several {
                        [vec![name.clone()], row].concat()
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
        Ok(())
    }
}

/// An environment whose stacks have no outputs yet: said on stderr, so that `eval "$(qfleet
/// outputs ENV --shell)"` stays harmless, and an error with `--shell`, whose silence would let
/// the `eval` carry on with nothing set.
fn empty(name: &str, shell: bool, out: &Output) -> Result<()> {
    if shell {
        return Err(Error::aws(format!(
            "{name}: the stacks have no outputs yet, so --shell has nothing to print (CloudFormation fills them in when a create or update completes; `qfleet status {name}` shows where the stacks stand)"
        )));
    }
    out.note(format!(
        "{name}: the stacks report no outputs yet (CloudFormation fills them in when an operation completes)"
    ));
    Ok(())
}
