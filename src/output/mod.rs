//! How results and errors reach the user: readable text on a terminal or in a CI log, or JSON
//! for a pipeline (`--output json`: one document, see [`envelope`]; `--output ndjson`: live
//! events, one per line, the document last).

#[cfg(test)]
pub mod document_schema;
pub(crate) mod envelope;
mod event;
pub(crate) mod hint;
mod ledger;
mod once;
mod progress;
mod report;
mod when;
pub(crate) use crate::text::{table, words};

pub(crate) use event::{Event, ResourceLine, events_of};
pub(crate) use progress::{Question, Reporter, Spinner, cancelled, question_text};
pub(crate) use report::{Document, Environment, Report};
pub(crate) use when::ago;

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use event::{Resource, contract};
#[cfg(test)]
pub(crate) use progress::Answer;

use crate::error::Error;
use serde::Serialize;
use std::io::{IsTerminal, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON document on stdout, whatever the command and however many environments.
    Json,
    /// Newline-delimited JSON: live events as they happen, one per line, then the document.
    Ndjson,
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly instead of panicking.
/// What every environment shares is told once ([`once`]), here as everywhere.
pub(crate) fn stdout_write(text: &str) {
    let text = once::shorten_text(text);
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Writes to stderr (no newline), flushed, quietly ignoring a closed stderr.
pub(crate) fn stderr_write(text: &str) {
    let text = once::shorten_text(text);
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// Writes a line to stderr, quietly ignoring a closed stderr.
fn stderr_line(text: &str) {
    stderr_line_raw(&once::shorten_text(text));
}

/// Writes a line to stderr as it is (what [`once::finish`] tells once).
fn stderr_line_raw(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Where a command writes: the chosen format, whether stderr is a terminal, and the command
/// that runs (its name is the document's `command`).
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub(crate) format: Format,
    pub(crate) interactive: bool,
    pub(crate) command: &'static str,
}

impl Output {
    pub(crate) fn new(format: Format, command: &'static str) -> Output {
        Output {
            format,
            interactive: std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
            command,
        }
    }

    /// Prints a command's result, as its document or as text (the one place that chooses),
    /// and returns the run's exit code.
    pub(crate) fn print(
        &self,
        result: &impl report::Report,
    ) -> crate::error::Result<crate::error::Exit> {
        result.notes(self);
        if self.is_json() {
            self.print_document(result);
        } else {
            result.text(self)?;
        }
        Ok(result.exit_code())
    }

    /// Prints a result's document, whatever the format (`iam-policy`'s text is its JSON).
    pub(crate) fn print_document(&self, result: &impl report::Report) {
        self.document(self.filled(result.document()));
    }

    /// Prints one screen of a refreshing command (`status --watch`): text, or with
    /// `--output ndjson` its document on one line marked `"event": "refresh"`.
    pub(crate) fn refresh(&self, result: &impl report::Report) -> crate::error::Result<()> {
        if self.is_json() {
            let mut doc = self.filled(result.document());
            if let serde_json::Value::Object(map) = &mut doc {
                map.insert("event".into(), "refresh".into());
            }
            self.json(&doc);
            Ok(())
        } else {
            result.text(self)
        }
    }

    /// A document with this run's command in it, as JSON.
    fn filled<E: Serialize, O: Serialize>(&self, doc: report::Document<E, O>) -> serde_json::Value {
        filled(self.command, doc)
    }

    /// JSON on stdout (a document, or events and a document): no text there.
    pub(crate) fn is_json(&self) -> bool {
        matches!(self.format, Format::Json | Format::Ndjson)
    }

    /// Refuses what only text output can do (`message` says what and why) when JSON was asked.
    pub(crate) fn text_only(&self, message: &'static str) -> crate::error::Result<()> {
        if self.is_json() {
            return Err(crate::error::Usage::TextOnly(message).into());
        }
        Ok(())
    }

    /// Live events on stdout, one per line.
    fn is_ndjson(&self) -> bool {
        self.format == Format::Ndjson
    }

    /// Prints the command's one document (the last line with `--output ndjson`, marked as the
    /// `summary` event), unless it is out already ([`once_only`]).
    fn document(&self, doc: serde_json::Value) {
        once_only(|| {
            let doc = self.document_only(doc);
            // A pipeline's log shows stderr: a failure is said there too, in one line.
            if let Some(line) = failure_line(&doc) {
                stderr_line_raw(&line);
            }
        });
    }

    /// From here on, a signal's deadline writes this run's document when the run has not:
    /// one that says the run stopped before it could tell where it left each environment.
    pub(crate) fn document_on_deadline(self) {
        crate::error::on_deadline(move || {
            // Bounded: a run blocked writing its own document (a stalled pipe) must not keep
            // the deadline from ending the process.
            let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
            loop {
                match SAID.try_lock() {
                    Ok(said) if *said => return,
                    Ok(said) => {
                        drop(said);
                        let err = crate::error::Interruption::Unsaid.into();
                        return self.error(&err);
                    }
                    Err(_) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    Err(_) => return,
                }
            }
        });
    }

    /// [`Output::document`] without its line on stderr (a usage error clap already said
    /// there); the document as printed.
    pub(crate) fn document_only(&self, mut doc: serde_json::Value) -> serde_json::Value {
        if self.is_ndjson()
            && let serde_json::Value::Object(map) = &mut doc
        {
            map.insert("event".into(), "summary".into());
        }
        once::shorten_document(&mut doc);
        write_json(&doc);
        doc
    }

    /// Prints one JSON value on its own line on stdout (what every environment shares told
    /// once, in the document's `error`: [`once::shorten_document`]).
    fn json<T: Serialize>(&self, value: &T) {
        let mut value = match serde_json::to_value(value) {
            Ok(v) => v,
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        };
        once::shorten_document(&mut value);
        write_json(&value);
    }

    /// Prints a line of text on stdout.
    pub(crate) fn line(&self, text: impl AsRef<str>) {
        let text = once::shorten_text(text.as_ref());
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    /// Ends the run's output: what text mentioned and every environment shares (missing
    /// credentials) is told once, last, on stderr.
    pub(crate) fn finish(&self) {
        once::finish();
    }

    /// Prints a progress or status note on stderr (never mixed into JSON on stdout).
    pub(crate) fn note(&self, text: impl AsRef<str>) {
        stderr_line(text.as_ref());
    }

    /// Reports an error that ended the run, in the chosen format, unless the run's document or
    /// closing error is out already (an interrupted run writes its own before its cleanup).
    pub(crate) fn error(&self, err: &Error) {
        if self.is_json() {
            self.document(envelope::failure(self.command, err));
            return;
        }
        once_only(|| self.error_text(err));
    }

    fn error_text(&self, err: &Error) {
        match err {
            Error::Input(list) => {
                for e in list {
                    stderr_line(&format!("{:?}", miette::Report::new(e.clone())));
                }
                stderr_line(&format!(
                    "error: {} problem{} found; nothing was changed",
                    list.len(),
                    if list.len() == 1 { "" } else { "s" }
                ));
            }
            // Whole, and last: the message every other line pointed at ("see below"), its hints
            // with the flags that find the environments again.
            other => stderr_line_raw(once::tell(&hint::apply(&format!("error: {other}")))),
        }
    }
}

/// A document with `command` in it, as JSON.
fn filled<E: Serialize, O: Serialize>(
    command: &'static str,
    mut doc: report::Document<E, O>,
) -> serde_json::Value {
    doc.command = command;
    serde_json::to_value(&doc)
        .unwrap_or_else(|e| serde_json::json!({ "command": command, "error": e.to_string() }))
}

/// The document `command` prints with `--output json` for `result`, as a value: the one a run
/// writes ([`Output::print`]), shortened as it is, nothing written. A library call has no
/// command line: its hints carry no flags ([`hint`]).
pub(crate) fn document_of(command: &'static str, result: &impl Report) -> serde_json::Value {
    let mut doc = filled(command, result.document());
    once::shorten_document(&mut doc);
    doc
}

/// The document `command` prints with `--output json` for a run that ended with `err`
/// ([`envelope::failure`]), as a value, nothing written.
pub(crate) fn failure_of(command: &'static str, err: &Error) -> serde_json::Value {
    let mut doc = envelope::failure(command, err);
    once::shorten_document(&mut doc);
    doc
}

/// Whether the run's one document (or, in text, its closing error) is out.
static SAID: std::sync::Mutex<bool> = std::sync::Mutex::new(false);

/// Runs `say` unless the run's document or closing error is out already, then counts it as
/// out. One at a time: a signal's deadline ([`Output::document_on_deadline`]) and the run's
/// own end never both write.
fn once_only(say: impl FnOnce()) {
    let mut said = SAID
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !*said {
        say();
        *said = true;
    }
}

/// One JSON value on its own line on stdout, as it is (already shortened: shortening twice
/// would add the hints' flags twice).
fn write_json(value: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (e.g. `| head`) is not worth a panic.
    let _ = serde_json::to_writer(&mut out, value);
    let _ = writeln!(out);
}

/// The one line on stderr that says a JSON document's run failed: the run's error, else the
/// first failed environment's (and how many more failed); `None` for success or differences.
fn failure_line(doc: &serde_json::Value) -> Option<String> {
    let code = doc.get("exit_code")?.as_u64()?;
    if code == 0 || code == 3 {
        return None;
    }
    let first_line = |v: &serde_json::Value| {
        v.get("message")
            .and_then(|m| m.as_str())
            .and_then(|m| m.lines().next())
            .map(str::to_string)
    };
    if let Some(m) = doc.get("error").and_then(first_line) {
        return Some(format!("error: {m}"));
    }
    let failed: Vec<&serde_json::Value> = doc
        .get("environments")
        .and_then(|e| e.as_array())
        .map(|envs| {
            envs.iter()
                .filter(|e| !matches!(e.get("exit_code").and_then(|c| c.as_u64()), Some(0 | 3)))
                .collect()
        })
        .unwrap_or_default();
    let first = failed.first()?;
    let name = first
        .get("environment")
        .and_then(|n| n.as_str())
        .unwrap_or("");
    let said = first
        .get("error")
        .and_then(first_line)
        .map(|m| match m.starts_with(&format!("{name}: ")) {
            true => m,
            false => format!("{name}: {m}"),
        })
        .unwrap_or_else(|| {
            format!(
                "{name}: failed (exit {})",
                first
                    .get("exit_code")
                    .and_then(|c| c.as_u64())
                    .unwrap_or(code)
            )
        });
    let more = match failed.len() {
        1 => String::new(),
        n => format!(" (and {} more; see the JSON document)", n - 1),
    };
    Some(format!("error: {said}{more}"))
}

#[cfg(test)]
mod failure_line_tests {
    use super::failure_line;
    use serde_json::json;

    /// With `-o json` a failure still leaves one line on stderr (issue 57: it left none).
    #[test]
    fn a_failed_document_gives_one_line_and_a_good_one_none() {
        let whole = json!({"exit_code": 2, "error": {"kind": "usage", "message": "bad flag\nmore"}, "environments": []});
        assert_eq!(failure_line(&whole).as_deref(), Some("error: bad flag"));
        let envs = json!({"exit_code": 1, "error": null, "environments": [
            {"environment": "a", "exit_code": 0, "error": null},
            {"environment": "b", "exit_code": 1, "error": {"message": "b: stack qfleet-b-data: access denied"}},
            {"environment": "c", "exit_code": 4, "error": {"message": "refused"}}
        ]});
        assert_eq!(
            failure_line(&envs).as_deref(),
            Some(
                "error: b: stack qfleet-b-data: access denied (and 1 more; see the JSON document)"
            )
        );
        let one = json!({"exit_code": 4, "error": null, "environments": [
            {"environment": "c", "exit_code": 4, "error": {"message": "refused: the bucket holds objects"}}
        ]});
        assert_eq!(
            failure_line(&one).as_deref(),
            Some("error: c: refused: the bucket holds objects")
        );
        for ok in [0, 3] {
            assert_eq!(
                failure_line(&json!({"exit_code": ok, "error": null, "environments": []})),
                None
            );
        }
    }
}
