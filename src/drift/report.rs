//! The drift of the environments a command line names, as one result: each one's report as
//! text (or the error that stopped its check), and the document with `drifted` at the top.
//! Exit 0 in sync, 3 drifted, 1 could not check (all or part): a partial answer is not the whole.

use super::DriftReport;
use crate::error::{Error, ErrorReport, Result};
use crate::output::{Document, Environment, Output, Report, envelope};
use schemars::JsonSchema;
use serde::Serialize;

/// Each environment's drift report, or why it could not be checked.
pub(crate) struct Drifts {
    pub environments: Vec<(String, Result<DriftReport>)>,
}

/// Drift of each environment: ok only in sync (exit 0); drifted is exit 3; anything not checked
/// is exit 1.
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    /// Whether anything differs; null when the environment could not be checked.
    drifted: Option<bool>,
    /// What was compared and found; null when the environment could not be checked.
    report: Option<&'a DriftReport>,
}

/// The document's own keys.
#[derive(Serialize, JsonSchema)]
struct Own {
    /// Whether any environment drifted.
    drifted: bool,
}

/// The schema of `qfleet drift`'s document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Body<'static>, Own>(
        "drift",
        "qfleet drift --output json",
        Environments::Each,
    )
}

impl Report for Drifts {
    fn exit_code(&self) -> crate::error::Exit {
        // 1 (could not check) outranks 3 (drifted).
        envelope::combined_exit_code(self.environments.iter().map(|(_, r)| match r {
            Ok(report) => report.exit_code(),
            Err(e) => e.exit_code(),
        }))
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let environments = self
            .environments
            .iter()
            .map(|(name, r)| match r {
                Ok(report) => Environment::new(
                    name,
                    report.exit_code(),
                    unchecked_error(report),
                    Body {
                        drifted: Some(report.drifted()),
                        report: Some(report),
                    },
                ),
                Err(e) => Environment::failed(
                    name,
                    e,
                    Body {
                        drifted: None,
                        report: None,
                    },
                ),
            })
            .collect();
        let drifted = self
            .environments
            .iter()
            .any(|(_, r)| r.as_ref().is_ok_and(DriftReport::drifted));
        Document::with_own(self.exit_code(), environments, Own { drifted })
    }

    fn text(&self, out: &Output) -> Result<()> {
        for (name, r) in &self.environments {
            match r {
                Ok(report) => out.line(super::text(report).trim_end()),
                Err(e) => out.note(format!(
                    "error: {}",
                    crate::output::words::of_env(name, &e.to_string())
                )),
            }
        }
        Ok(())
    }
}

/// Why an environment exits 1 though its report came back: what could not be checked (an
/// environment that failed always says why in its `error`).
fn unchecked_error(report: &DriftReport) -> Option<ErrorReport> {
    if report.unchecked.is_empty() {
        return None;
    }
    let what: Vec<String> = report
        .unchecked
        .iter()
        .map(|u| format!("{}: {}", u.what, u.reason))
        .collect();
    Some(Error::aws(format!("could not check {}", what.join("; "))).report())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_environment_that_could_not_be_checked_says_why_in_its_error() {
        let mut report = DriftReport {
            environment: "lab".into(),
            differences: Vec::new(),
            unchecked: Vec::new(),
            detection_unavailable: None,
            undeployed_changes: Vec::new(),
        };
        assert!(unchecked_error(&report).is_none());
        report.unchecked.push(super::super::Unchecked {
            what: "stack qfleet-lab-data".into(),
            reason: "access denied".into(),
        });
        let e = unchecked_error(&report).unwrap();
        assert_eq!(report.exit_code(), crate::error::Exit::Aws);
        assert_eq!(e.kind, "aws");
        assert_eq!(
            e.message,
            "could not check stack qfleet-lab-data: access denied"
        );
    }
}
