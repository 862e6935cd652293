//! Live progress of long operations: a spinner per stack on a terminal, one plain line per
//! event in CI logs, newline-delimited JSON events with `--output ndjson`. The events are also
//! kept (all but the per-resource ones) for the command's one document (`--output json`) and
//! its closing text.

mod bars;
mod question;
mod term;
#[cfg(test)]
pub use question::Answer;
pub use question::{Question, cancelled, question_text};

use super::Output;
use crate::output::event::{Event, Resource};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// The live progress of one run whose features report events of type `E`.
pub(crate) struct Reporter<E> {
    out: Output,
    multi: Option<bars::Bars>,
    /// Serializes prompts with each other.
    prompt: tokio::sync::Mutex<()>,
    /// The questions of this run: `a` given, environments declined, lines held meanwhile.
    asking: question::Asking,
    /// Where each environment's run stands, for the report after Ctrl-C.
    pub(crate) ledger: super::ledger::Ledger,
    /// The events so far, for the document at the end (per-resource events are left out).
    events: std::sync::Mutex<Vec<E>>,
    /// Whether the per-stack previews are printed (`--details`); off, the closing summary
    /// says it in one row per environment.
    details: bool,
    /// The APIs the endpoint does not serve that this run has said so of (as it names them),
    /// each once.
    not_served: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

/// The spinner of one stack operation (a no-op off a terminal).
pub(crate) struct Spinner(Option<ProgressBar>);

impl Spinner {
    pub(crate) fn set(&self, msg: impl Into<String>) {
        if let Some(pb) = &self.0 {
            pb.set_message(msg.into());
        }
    }

    fn finish(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.finish();
    }
}

impl<E: Event> Reporter<E> {
    pub(crate) fn new(out: Output) -> Reporter<E> {
        let multi = (out.interactive && !out.is_json()).then(bars::Bars::new);
        Reporter {
            out,
            multi,
            prompt: tokio::sync::Mutex::new(()),
            asking: Default::default(),
            ledger: Default::default(),
            events: Default::default(),
            details: true,
            not_served: Default::default(),
        }
    }

    /// Whether this run meets `api` not served for the first time: its note is said then, and
    /// never again (an emulator leaves the same APIs out for every stack and environment).
    pub(crate) fn first_not_served(&self, api: &str) -> bool {
        self.not_served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(api.to_string())
    }

    /// Prints the per-stack previews (`detail`) or leaves them to the closing summary.
    pub(crate) fn with_details(mut self, details: bool) -> Reporter<E> {
        self.details = details;
        self
    }

    /// The events kept so far (every kind but `resource`), in the order they happened.
    pub(crate) fn events(&self) -> Vec<E> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// A spinner for `label`; on a terminal only.
    pub(crate) fn spinner(&self, label: &str) -> Spinner {
        let Some(multi) = &self.multi else {
            return Spinner(None);
        };
        let pb = multi.add(ProgressBar::new_spinner());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {prefix:.bold} {msg} ({elapsed})")
        {
            pb.set_style(style);
        }
        pb.set_prefix(label.to_string());
        pb.enable_steady_tick(Duration::from_millis(120));
        Spinner(Some(pb))
    }

    /// Ends the spinners now (an interrupted run, about to say where it stopped): none is left
    /// on the terminal, and the next line starts on a line of its own.
    pub(crate) fn end_progress(&self) {
        if let Some(multi) = &self.multi {
            multi.end();
        }
    }

    /// A line of human progress on stderr (above the spinners on a terminal), whatever the
    /// output format: stdout carries the JSON, and a CI log still shows what the run is doing.
    pub(crate) fn line(&self, text: impl AsRef<str>) {
        if self.asking.hold(text.as_ref()) {
            return;
        }
        match &self.multi {
            Some(m) => {
                let _ = m.println(crate::output::once::shorten_text(text.as_ref()));
            }
            // A log: each line says when (the log's reader may see no times of the CI's own).
            None => super::stderr_line(&bars::stamped(text.as_ref())),
        }
    }

    /// A line of detail (a preview's table, a warning about one stack): printed like
    /// [`Reporter::line`] with `--details` (the default for one environment), else left to the
    /// closing summary, which tells it once per environment.
    pub(crate) fn detail(&self, text: impl AsRef<str>) {
        if self.details {
            self.line(text);
        }
    }

    /// A machine-readable event: printed at once with `--output ndjson`, and kept for the
    /// document and the closing summary.
    pub(crate) fn event(&self, event: E) {
        if self.out.is_ndjson() {
            self.out.json(&event);
        }
        if let Ok(mut events) = self.events.lock() {
            events.push(event);
        }
    }

    /// One line per resource event of a stack operation (text), or one JSON event.
    pub(crate) fn resource_event(&self, e: &impl super::event::ResourceLine) {
        self.line(format!(
            "  {:<28} {:<26} {:<36} {}{}",
            e.stack(),
            e.logical_id(),
            e.resource_type(),
            e.status(),
            e.reason()
                .filter(|r| !r.is_empty())
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
        if self.out.is_ndjson() {
            self.out.json(&Resource::new(e));
        }
    }
}
