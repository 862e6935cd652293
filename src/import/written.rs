//! An import's result as the user gets it: the stack file on stdout (or written to `--out`,
//! never over an existing file) with the report on stderr, or the document with both.

use super::Imported;
use crate::error::Result;
use crate::output::{Document, Environment, Output, Report};
use schemars::JsonSchema;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// An imported stack file, and where it was written (stdout when `None`).
pub(crate) struct Written {
    imported: Imported,
    to: Option<PathBuf>,
}

/// Writes the stack file to `to` (refused when the file exists); `None` leaves it for stdout.
pub(crate) fn write(imported: Imported, to: Option<&Path>) -> Result<Written> {
    if let Some(path) = to {
        if path.exists() {
            return Err(crate::import::errors::Usage::ImportExists {
                path: path.to_path_buf(),
            }
            .into());
        }
        std::fs::write(path, &imported.stack_file).map_err(|source| {
            crate::import::errors::Usage::ImportUnwritable {
                path: path.to_path_buf(),
                source,
            }
        })?;
    }
    Ok(Written {
        imported,
        to: to.map(Path::to_path_buf),
    })
}

/// One imported environment: the stack file written (its text, and the file when --out was given)
/// and the report of what was carried over, defaulted, changed in meaning and not carried (with
/// why).
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    /// The file written (`--out`), or null when the stack file went to the document only.
    written_to: Option<String>,
    /// The stack file's YAML text.
    stack_file: &'a str,
    report: &'a super::report::Report,
}

/// The schema of `qfleet import`'s document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Body<'static>, ()>(
        "import",
        "qfleet import copilot --output json",
        Environments::One,
    )
}

impl Report for Written {
    fn exit_code(&self) -> crate::error::Exit {
        crate::error::Exit::Ok
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let body = Body {
            written_to: self.to.as_ref().map(|p| p.display().to_string()),
            stack_file: &self.imported.stack_file,
            report: &self.imported.report,
        };
        Document::new(
            crate::error::Exit::Ok,
            vec![Environment::ok(&self.imported.environment, body)],
        )
    }

    fn text(&self, out: &Output) -> Result<()> {
        match &self.to {
            None => crate::output::stdout_write(&self.imported.stack_file),
            Some(p) => out.note(format!(
                "wrote {} (environment {}); check it with `qfleet validate {}`",
                p.display(),
                self.imported.environment,
                p.display()
            )),
        }
        crate::output::stderr_write(&self.imported.report.text());
        Ok(())
    }
}
