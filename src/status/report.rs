//! The status of the environments a command line names, as one result: one screen per
//! environment (`--details`, or a single environment) or one row each, and its JSON document;
//! and `--watch`, which prints it again every interval until Ctrl-C.

use super::Status;
use crate::error::Result;
use crate::output::{Document, Environment, Output, Report, envelope};
use crate::session::Session;
use serde::Serialize;
use std::time::{Duration, SystemTime};

/// The statuses of one reading.
struct Statuses {
    statuses: Vec<Status>,
    /// The environments the stack files made and no longer make.
    found: crate::environments::Found,
    /// The whole screen of every environment rather than a row each.
    details: bool,
    /// With `--watch`: the first line says when the screen was read and how to stop.
    watch: Option<u64>,
}

impl Report for Statuses {
    /// 1 when a stack itself could not be read, or the search for environments the stack
    /// files no longer make: the status is then no answer.
    fn exit_code(&self) -> crate::error::Exit {
        let unchecked = (!self.found.unchecked.is_empty()).then_some(crate::error::Exit::Aws);
        envelope::combined_exit_code(self.statuses.iter().map(Status::exit_code).chain(unchecked))
    }

    fn notes(&self, out: &Output) {
        for n in self.found.notes(true) {
            out.note(n);
        }
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let environments = self
            .statuses
            .iter()
            .map(|s| Environment::new(&s.environment, s.exit_code(), s.error(), s))
            .collect();
        Document::with_own(self.exit_code(), environments, &self.found)
            .with_error(self.found.error())
    }

    fn text(&self, out: &Output) -> Result<()> {
        let mut screen = if self.details {
            let each: Vec<String> = self.statuses.iter().map(super::text).collect();
            each.join("\n")
        } else {
            super::render_rows(&self.statuses)
        };
        if let Some(interval) = self.watch {
            screen = format!("{}\n{screen}", refreshed(interval, SystemTime::now()));
            if out.interactive {
                // Clear the screen and go home: refresh in place.
                crate::output::stdout_write("\x1b[2J\x1b[H");
            }
        }
        out.line(screen.trim_end());
        Ok(())
    }
}

/// The schema of `qfleet status`'s document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Status, crate::environments::Found>(
        "status",
        "qfleet status --output json",
        Environments::Each,
    )
}

/// Reads every environment's status once, or with `watch` (seconds) again and again until
/// Ctrl-C; prints each reading and returns the exit code (0 after a watch).
pub(crate) fn show(
    session: &Session,
    out: &Output,
    details: bool,
    watch: Option<u64>,
) -> Result<crate::error::Exit> {
    loop {
        let statuses = crate::placement::each_located(session, |clients, env, at| async move {
            super::gather_at(&clients, env, at).await
        });
        let found = crate::environments::Found::of(
            session.block_on(crate::environments::retired(&session.aws, &session.envs)),
        );
        let reading = Statuses {
            statuses,
            found,
            details,
            watch,
        };
        let Some(interval) = watch else {
            return out.print(&reading);
        };
        out.refresh(&reading)?;
        let stop = session.block_on(async {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(interval)) => false,
                _ = crate::error::interrupted() => true,
            }
        });
        if stop {
            return Ok(crate::error::Exit::Ok);
        }
    }
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
