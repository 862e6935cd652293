//! `qfleet drift ENV...`: exit 0 in sync, 3 drifted, 1 could not check.

use crate::aws::Aws;
use crate::cli::Global;
use crate::drift;
use crate::error::{EXIT_DIFFERENCES, Result};
use crate::output::Output;
use clap::Args;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Environment names (files in the stacks directory) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
}

pub fn run(args: DriftArgs, g: &Global, out: Output) -> Result<i32> {
    let envs = super::load_environments(&args.envs, g)?;
    let aws = Aws::new(g.aws_settings());
    let reports = super::runtime()?.block_on(super::each_env(&envs, g.concurrency.into(), |env| {
        let aws = aws.clone();
        async move {
            let clients = aws.clients(&aws.region_for(&env.spec.region)).await;
            drift::check(&clients, env, Duration::from_millis(500)).await
        }
    }));
    let mut code = 0;
    let mut results = Vec::new();
    for (env, r) in envs.iter().zip(reports) {
        match r {
            Ok(report) => {
                if report.drifted() {
                    code = code.max(EXIT_DIFFERENCES);
                }
                if !out.is_json() {
                    out.line(drift::render_text(&report).trim_end());
                }
                results.push(serde_json::json!({ "ok": true, "drifted": report.drifted(), "report": report }));
            }
            Err(e) => {
                // 1: could not check; it outranks "drifted" so that a pipeline does not read
                // a partial answer as the whole.
                code = 1;
                if !out.is_json() {
                    out.note(format!("error: {}: {e}", env.name));
                }
                results.push(serde_json::json!({ "ok": false, "environment": env.name, "error": e.to_string() }));
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
