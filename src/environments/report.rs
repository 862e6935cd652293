//! `qfleet environments`' result: every environment qfleet made in an account and region,
//! with the stack file of the stacks directory that makes it (none: its file no longer does,
//! or it is not in this directory).

use super::Made;
use crate::error::Result;
use crate::output::{Document, Environment, Output, Report};
use schemars::JsonSchema;
use serde::Serialize;

/// Every environment found, with the file that makes it.
pub(crate) struct Listing {
    pub region: String,
    pub environments: Vec<(Made, Option<String>)>,
}

/// One environment qfleet made there, as its stacks' tags say.
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    /// The stack file's own environment it was made from (`null`: deployed before qfleet
    /// said).
    file_environment: Option<&'a str>,
    /// The stack file of the stacks directory that makes it now (`null`: none does; its file
    /// no longer makes it, or is elsewhere).
    stack_file: Option<&'a str>,
    owner: Option<&'a str>,
    /// The kinds of its workers (`ec2`, `lambda`, `fargate`, `+` between a pipeline's).
    kind: Option<&'a str>,
    /// Which copy or target of its file it is.
    copy: Option<&'a str>,
    target: Option<&'a str>,
    /// Its stacks, the data stack first.
    stacks: &'a [String],
}

/// The document's own keys.
#[derive(Serialize, JsonSchema)]
struct Own<'a> {
    /// The region listed.
    region: &'a str,
}

/// The schema of `qfleet environments`' document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Body<'static>, Own<'static>>(
        "environments",
        "qfleet environments --output json",
        Environments::Each,
    )
}

impl Report for Listing {
    fn exit_code(&self) -> crate::error::Exit {
        crate::error::Exit::Ok
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let environments = self
            .environments
            .iter()
            .map(|(m, file)| {
                let body = Body {
                    file_environment: m.file.as_deref(),
                    stack_file: file.as_deref(),
                    owner: m.owner.as_deref(),
                    kind: m.kind.as_deref(),
                    copy: m.copy.as_deref(),
                    target: m.target.as_deref(),
                    stacks: &m.stacks,
                };
                Environment::ok(&m.environment, body)
            })
            .collect();
        Document::with_own(
            crate::error::Exit::Ok,
            environments,
            Own {
                region: &self.region,
            },
        )
    }

    fn text(&self, out: &Output) -> Result<()> {
        if self.environments.is_empty() {
            out.note(format!("no environment of qfleet's in {}", self.region));
            return Ok(());
        }
        let rows = self.environments.iter().map(|(m, file)| {
            vec![
                m.environment.clone(),
                m.kind.clone().unwrap_or_else(|| "?".into()),
                m.owner.clone().unwrap_or_else(|| "-".into()),
                m.stacks.len().to_string(),
                file.clone().unwrap_or_else(|| "no stack file here".into()),
            ]
        });
        out.line(crate::output::table(
            &["ENVIRONMENT", "KIND", "OWNER", "STACKS", "MADE BY"],
            rows,
        ));
        let orphans: Vec<&str> = self
            .environments
            .iter()
            .filter(|(_, f)| f.is_none())
            .map(|(m, _)| m.environment.as_str())
            .collect();
        if !orphans.is_empty() {
            out.note(format!(
                "{} made by no stack file here: each keeps running until `qfleet teardown NAME` retires it (run it where its stack file is, or pass --stacks-dir)",
                orphans.join(", ")
            ));
        }
        Ok(())
    }
}
