//! `qfleet status ENV... [--watch]`: stacks, fleet, queues, scaling and alarms in one screen.

use super::{Global, Session};
use crate::error::Result;
use crate::output::Output;
use crate::status;
use clap::Args;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Environment names (files in the stacks directory) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// Refresh until Ctrl-C (in place on a terminal; one JSON object per refresh with --output json).
    #[arg(long, short = 'w')]
    pub watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,
}

pub fn run(args: StatusArgs, g: &Global, out: Output) -> Result<i32> {
    let session = Session::open(&args.envs, g)?;
    loop {
        let statuses =
            session.each(|clients, env| async move { status::gather(&clients, env).await });
        // Exit 1 when a stack itself could not be read: the status is then no answer.
        let code = if statuses
            .iter()
            .any(|s| s.stacks.iter().any(|st| st.exists.is_none()))
        {
            1
        } else {
            0
        };
        if out.is_json() {
            if statuses.len() == 1 && !args.watch {
                out.json(&statuses[0]);
            } else {
                out.json(&serde_json::json!({ "environments": statuses }));
            }
        } else {
            let screen: Vec<String> = statuses.iter().map(status::render_text).collect();
            if args.watch && out.interactive {
                // Clear the screen and go home: refresh in place.
                crate::output::stdout_write("\x1b[2J\x1b[H");
            }
            out.line(screen.join("\n").trim_end());
        }
        if !args.watch {
            return Ok(code);
        }
        let stop = session.block_on(async {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(args.interval)) => false,
                _ = tokio::signal::ctrl_c() => true,
            }
        });
        if stop {
            return Ok(0);
        }
    }
}
