//! `qfleet status ENV... [--watch]`: stacks, fleet, queues, scaling and alarms in one screen,
//! or one row per environment for several.

use super::{Global, Session};
use crate::error::{Error, Result};
use crate::output::{Output, envelope};
use crate::status::{self, Status};
use clap::Args;
use std::time::{Duration, SystemTime};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Environment names (files in the stacks directory, copies, globs) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// Refresh until Ctrl-C (in place on a terminal; one document per refresh and line with
    /// --output ndjson).
    #[arg(long, short = 'w')]
    pub watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,
    /// The whole screen of every environment (the default for one); several get a row each.
    #[arg(long)]
    pub details: bool,
}

pub fn run(args: StatusArgs, g: &Global, out: Output) -> Result<i32> {
    if args.watch && out.is_json() && !out.is_ndjson() {
        return Err(Error::usage(
            "--watch prints a document per refresh: use --output ndjson (one document per line)",
        ));
    }
    let session = Session::open_with_pipelines(&args.envs, g)?;
    let details = args.details || session.envs.len() == 1;
    loop {
        let statuses =
            session.each(|clients, env| async move { status::gather(&clients, env).await });
        // Exit 1 when a stack itself could not be read: the status is then no answer.
        let code = envelope::combined_exit_code(statuses.iter().map(Status::exit_code));
        if out.is_json() {
            let mut doc = document(&statuses, code);
            if args.watch {
                doc["event"] = "refresh".into();
                out.json(&doc);
            } else {
                out.document(doc);
            }
        } else {
            let mut screen = if details {
                let each: Vec<String> = statuses.iter().map(status::text).collect();
                each.join("\n")
            } else {
                status::render_rows(&statuses)
            };
            if args.watch {
                screen = format!("{}\n{screen}", refreshed(args.interval, SystemTime::now()));
                if out.interactive {
                    // Clear the screen and go home: refresh in place.
                    crate::output::stdout_write("\x1b[2J\x1b[H");
                }
            }
            out.line(screen.trim_end());
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

/// The status document: one environment object per status.
fn document(statuses: &[Status], code: i32) -> serde_json::Value {
    let environments = statuses
        .iter()
        .map(|s| envelope::environment(&s.environment, s.exit_code(), s.error(), s))
        .collect();
    envelope::document("status", code, environments, Default::default())
}

/// The watch's first line: when this screen was read, and how to stop.
fn refreshed(interval: u64, now: SystemTime) -> String {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
    format!(
        "refreshed at {h:02}:{m:02}:{s:02} UTC, every {}; Ctrl-C to stop",
        crate::output::words::count(interval, "second", "seconds")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watch_says_when_it_refreshed_and_how_to_stop() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600 + 3 * 3600 + 62);
        assert_eq!(
            refreshed(5, t),
            "refreshed at 03:01:02 UTC, every 5 seconds; Ctrl-C to stop"
        );
        assert!(refreshed(1, t).contains("every 1 second;"));
    }
}
