//! `qfleet drift ENV...`: exit 0 in sync, 3 drifted, 1 could not check (all or part).

use super::{Global, Session};
use crate::aws::poll::Polling;
use crate::drift;
use crate::error::Result;
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
                    None,
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
