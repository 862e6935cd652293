//! `qfleet status ENV... [--watch]`: stacks, fleet, queues, scaling and alarms in one screen.

use crate::aws::Aws;
use crate::cli::Global;
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
    let envs = super::load_environments(&args.envs, g)?;
    let aws = Aws::new(g.aws_settings());
    super::runtime()?.block_on(async {
        loop {
            let gathered = super::each_env(&envs, g.concurrency.into(), |env| {
                let aws = aws.clone();
                async move {
                    let clients = aws.clients(&aws.region_for(&env.spec.region)).await;
                    status::gather(&clients, env).await
                }
            })
            .await;
            let mut screen = String::new();
            let mut statuses = Vec::new();
            for r in gathered {
                let s = r?;
                screen.push_str(&status::render_text(&s));
                screen.push('\n');
                statuses.push(s);
            }
            if out.is_json() {
                if statuses.len() == 1 && !args.watch {
                    out.json(&statuses[0]);
                } else {
                    out.json(&serde_json::json!({ "environments": statuses }));
                }
            } else {
                if args.watch && out.interactive {
                    // Clear the screen and go home: refresh in place.
                    print!("\x1b[2J\x1b[H");
                }
                out.line(screen.trim_end());
            }
            if !args.watch {
                return Ok(0);
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(args.interval)) => {}
                _ = tokio::signal::ctrl_c() => return Ok(0),
            }
        }
    })
}
