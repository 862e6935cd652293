//! Importing another tool's workload definition as a qfleet stack file (issue 23): today
//! AWS Copilot's Worker Service manifests (`copilot`). Every import returns the stack file's
//! text and a report of what was carried over, defaulted, changed in meaning and not carried
//! (with why); the stack file is checked with the stack-file validation `qfleet validate`
//! runs before anyone sees it.

pub mod copilot;
pub mod report;
pub mod stack_file;
pub mod written;

use crate::error::{Error, Result};
use report::Report;
use std::path::Path;

/// An import's result.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The qfleet environment the stack file declares.
    pub environment: String,
    /// The stack file's YAML text.
    pub stack_file: String,
    pub report: Report,
}

/// Parses and validates `text` as a stack file (`config::parse`, the checks `qfleet validate`
/// runs on a stack file); a stack file that does not validate is a usage error naming the
/// source and each problem, so nothing invalid is ever written. `environment` names the
/// environment when the text does not.
fn checked(text: String, report: Report, source: &Path, environment: &str) -> Result<Imported> {
    let name = format!("{environment}.yaml");
    match crate::config::parse(name.into(), text.clone()) {
        Ok(env) => Ok(Imported {
            environment: env.name,
            stack_file: text,
            report,
        }),
        Err(Error::Input(problems)) => Err(Error::usage(format!(
            "the stack file imported from {} does not validate, so it was not written:\n{}\n(fix the manifest, or give the value with a flag: --image, --environment-name, --region)",
            source.display(),
            problems
                .iter()
                .map(|p| format!(
                    "  {} (line {} of the stack file): {}",
                    p.field, p.line, p.message
                ))
                .collect::<Vec<_>>()
                .join("\n")
        ))),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests;
