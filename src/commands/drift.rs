//! `qfleet drift ENV...`: exit 0 in sync, 3 drifted, 1 could not check (all or part).

use super::{Global, Session};
use crate::aws::poll::Polling;
use crate::drift;
use crate::error::{EXIT_AWS, ErrorReport, Result};
use crate::output::{Output, envelope};
use clap::Args;

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Environment names (files in the stacks directory, copies, globs) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
}

pub fn run(args: DriftArgs, g: &Global, out: Output) -> Result<i32> {
    let session = Session::open_with_pipelines(&args.envs, g)?;
    let reports = session
        .each(|clients, env| async move { drift::check(&clients, env, Polling::default()).await });
    let mut codes = Vec::new();
    let mut drifted = false;
    let mut environments = Vec::new();
    for (env, r) in session.envs.iter().zip(reports) {
        match r {
            Ok(report) => {
                let c = report.exit_code();
                codes.push(c);
                drifted |= report.drifted();
                if !out.is_json() {
                    out.line(drift::text(&report).trim_end());
                }
                environments.push(envelope::environment(
                    &env.name,
                    c,
                    unchecked_error(&report),
                    serde_json::json!({ "drifted": report.drifted(), "report": report }),
                ));
            }
            Err(e) => {
                codes.push(e.exit_code());
                if !out.is_json() {
                    out.note(format!("error: {}: {e}", env.name));
                }
                environments.push(envelope::environment(
                    &env.name,
                    e.exit_code(),
                    Some(e.report()),
                    serde_json::json!({ "drifted": null, "report": null }),
                ));
            }
        }
    }
    // 1 (could not check) outranks 3 (drifted): a partial answer is not the whole.
    let code = envelope::combined_exit_code(codes);
    if out.is_json() {
        let own = serde_json::Map::from_iter([("drifted".to_string(), drifted.into())]);
        out.document(envelope::document("drift", code, environments, own));
    }
    Ok(code)
}

/// Why an environment exits 1 though its report came back: what could not be checked (an
/// environment that failed always says why in its `error`).
fn unchecked_error(report: &drift::DriftReport) -> Option<ErrorReport> {
    if report.unchecked.is_empty() {
        return None;
    }
    let what: Vec<String> = report
        .unchecked
        .iter()
        .map(|u| format!("{}: {}", u.what, u.reason))
        .collect();
    Some(ErrorReport::from_exit_code(
        EXIT_AWS,
        format!("could not check {}", what.join("; ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_environment_that_could_not_be_checked_says_why_in_its_error() {
        let mut report = drift::DriftReport {
            environment: "lab".into(),
            differences: Vec::new(),
            unchecked: Vec::new(),
            detection_unavailable: None,
            undeployed_changes: Vec::new(),
        };
        assert!(unchecked_error(&report).is_none());
        report.unchecked.push(drift::Unchecked {
            what: "stack qfleet-lab-data".into(),
            reason: "access denied".into(),
        });
        let e = unchecked_error(&report).unwrap();
        assert_eq!(report.exit_code(), EXIT_AWS);
        assert_eq!(e.kind, "aws");
        assert_eq!(
            e.message,
            "could not check stack qfleet-lab-data: access denied"
        );
    }
}
