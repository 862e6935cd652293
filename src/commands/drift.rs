//! `qfleet drift ENV...`: exit 0 in sync, 3 drifted, 1 could not check (all or part).

use super::{Global, Session};
use crate::aws::poll::Polling;
use crate::drift;
use crate::error::{EXIT_AWS, Result};
use crate::output::Output;
use clap::Args;

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Environment names (files in the stacks directory) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
}

pub fn run(args: DriftArgs, g: &Global, out: Output) -> Result<i32> {
    let session = Session::open(&args.envs, g)?;
    let reports = session
        .each(|clients, env| async move { drift::check(&clients, env, Polling::default()).await });
    let mut code = 0;
    let mut results = Vec::new();
    for (env, r) in session.envs.iter().zip(reports) {
        match r {
            Ok(report) => {
                let c = report.exit_code();
                // 1 (could not check) outranks 3 (drifted): a partial answer is not the whole.
                code = if c == EXIT_AWS || code == EXIT_AWS {
                    EXIT_AWS
                } else {
                    code.max(c)
                };
                if !out.is_json() {
                    out.line(drift::render_text(&report).trim_end());
                }
                results.push(serde_json::json!({ "ok": c != EXIT_AWS, "exit_code": c, "drifted": report.drifted(), "report": report }));
            }
            Err(e) => {
                code = EXIT_AWS;
                if !out.is_json() {
                    out.note(format!("error: {}: {e}", env.name));
                }
                results.push(serde_json::json!({ "ok": false, "exit_code": EXIT_AWS, "environment": env.name, "error": e.to_string() }));
            }
        }
    }
    if out.is_json() {
        if results.len() == 1 {
            let mut one = results.remove(0);
            one["exit_code"] = code.into();
            out.json(&one);
        } else {
            out.json(&serde_json::json!({ "exit_code": code, "environments": results }));
        }
    }
    Ok(code)
}
