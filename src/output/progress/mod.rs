//! Live progress of long operations: a spinner per stack on a terminal, one plain line per
//! event in CI logs, newline-delimited JSON events with `--output ndjson`. The events are also
//! kept (all but the per-resource ones) for the command's one document (`--output json`) and
//! its closing text.

mod bars;
mod question;
mod term;
pub use question::{Answer, Question, cancelled, parse_answer, question_text};

use super::Output;
use crate::output::event::Event;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::time::Duration;

pub struct Reporter {
    out: Output,
    multi: Option<bars::Bars>,
    /// Serializes prompts with each other.
    prompt: tokio::sync::Mutex<()>,
    /// The questions of this run: `a` given, environments declined, lines held meanwhile.
    asking: question::Asking,
    /// Where each environment's run stands, for the report after Ctrl-C.
    pub ledger: super::ledger::Ledger,
    /// The events so far, for the document at the end (per-resource events are left out).
    events: std::sync::Mutex<Vec<Value>>,
    /// Whether the per-stack previews are printed (`--details`); off, the closing summary
    /// says it in one row per environment.
    details: bool,
}

/// The spinner of one stack operation (a no-op off a terminal).
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    pub fn set(&self, msg: impl Into<String>) {
        if let Some(pb) = &self.0 {
            pb.set_message(msg.into());
        }
    }

    pub fn finish(&self) {
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

impl Reporter {
    pub fn new(out: Output) -> Reporter {
        let multi = (out.interactive && !out.is_json()).then(bars::Bars::new);
        Reporter {
            out,
            multi,
            prompt: tokio::sync::Mutex::new(()),
            asking: Default::default(),
            ledger: Default::default(),
            events: Default::default(),
            details: true,
        }
    }

    /// Prints the per-stack previews (`detail`) or leaves them to the closing summary.
    pub fn with_details(mut self, details: bool) -> Reporter {
        self.details = details;
        self
    }

    /// The events kept so far (every kind but `resource`), in the order they happened.
    pub fn events(&self) -> Vec<Value> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    pub fn is_json(&self) -> bool {
        self.out.is_json()
    }

    /// A spinner for `label`; on a terminal only.
    pub fn spinner(&self, label: &str) -> Spinner {
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

    /// A line of human progress on stderr (above the spinners on a terminal), whatever the
    /// output format: stdout carries the JSON, and a CI log still shows what the run is doing.
    pub fn line(&self, text: impl AsRef<str>) {
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
    pub fn detail(&self, text: impl AsRef<str>) {
        if self.details {
            self.line(text);
        }
    }

    /// A machine-readable event: printed at once with `--output ndjson`, and kept (except the
    /// per-resource ones) for the document and the closing summary.
    pub fn event(&self, event: Event) {
        let fields = event.to_json();
        if self.out.is_ndjson() {
            self.out.json(&fields);
        }
        if !matches!(event, Event::Resource(_))
            && let Ok(mut events) = self.events.lock()
        {
            events.push(fields);
        }
    }

    /// One line per resource event of a stack operation (text), or one JSON event.
    pub fn resource_event(&self, e: &crate::aws::cfn::stack_events::ResourceEvent) {
        self.line(format!(
            "  {:<28} {:<26} {:<36} {}{}",
            e.stack,
            e.logical_id,
            e.resource_type,
            e.status.as_str(),
            e.reason
                .as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
        if self.out.is_ndjson()
            && let Ok(v) = serde_json::to_value(e)
        {
            self.event(Event::Resource(v));
        }
    }
}
