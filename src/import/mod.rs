//! Importing another tool's workload definition as a qfleet stack file (issue 23): today
//! AWS Copilot's Worker Service manifests (`copilot`). Every import returns the stack file's
//! text and a report of what was carried over, defaulted, changed in meaning and not carried
//! (with why); the stack file is checked with the stack-file validation `qfleet validate`
//! runs before anyone sees it.

mod copilot;
pub(crate) mod errors;
mod report;
mod stack_file;
mod written;

pub(crate) use copilot::{Options, import as from_copilot};
pub(crate) use written::write;

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use written::schema;

use crate::error::Error;
use report::Report;
use std::path::Path;

/// A Copilot manifest's text, or why it cannot be read (exit 2).
pub(crate) fn read_manifest(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| {
        errors::Usage::ManifestUnreadable {
            path: path.to_path_buf(),
            source,
        }
        .into()
    })
}

/// An import's result.
#[derive(Debug, Clone)]
pub(crate) struct Imported {
    /// The qfleet environment the stack file declares.
    pub(crate) environment: String,
    /// The stack file's YAML text.
    stack_file: String,
    report: Report,
}

/// Why an import was refused: the error, and the report when the source could be read (what
/// would have been carried, defaulted, changed and not carried), shown with it.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) report: Option<Box<Report>>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            error,
            report: None,
        }
    }
}

impl From<crate::error::InputError> for Failure {
    fn from(e: crate::error::InputError) -> Failure {
        Failure::from(Error::from(e))
    }
}

/// Parses and validates `text` as a stack file (`config::parse`, the checks `qfleet validate`
/// runs on a stack file); a stack file that does not validate is a usage error naming the
/// source and each problem, so nothing invalid is ever written. `environment` names the
/// environment when the text does not.
/// The stack file validated as `qfleet validate` reads it at `written` (where its relative
/// paths lead).
fn checked(
    text: String,
    report: Report,
    source: &Path,
    written: &Path,
) -> std::result::Result<Imported, Failure> {
    let error = match crate::config::parse(written.to_path_buf(), text.clone()) {
        Ok(file) => {
            return Ok(Imported {
                environment: file.base.name,
                stack_file: text,
                report,
            });
        }
        Err(crate::config::Error::Input(problems)) => crate::import::errors::Usage::ImportInvalid {
            manifest: source.to_path_buf(),
            problems,
        }
        .into(),
        Err(other) => other.into(),
    };
    Err(Failure {
        error,
        report: Some(Box::new(report)),
    })
}

#[cfg(test)]
mod tests;
