//! Live progress of long operations: a spinner per stack on a terminal, one plain line per
//! event in CI logs, newline-delimited JSON events with `--output json`.

use super::Output;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::Value;
use std::time::Duration;

pub struct Reporter {
    out: Output,
    multi: Option<MultiProgress>,
    /// Serializes prompts with each other.
    prompt: tokio::sync::Mutex<()>,
    /// Where each environment's run stands, for the report after Ctrl-C.
    pub ledger: super::ledger::Ledger,
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
        let multi = (out.interactive && !out.is_json()).then(MultiProgress::new);
        Reporter {
            out,
            multi,
            prompt: tokio::sync::Mutex::new(()),
            ledger: Default::default(),
        }
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

    /// A line of human progress (stderr; above the spinners on a terminal). Ignored in JSON mode,
    /// where [`Reporter::event`] carries the same information.
    pub fn line(&self, text: impl AsRef<str>) {
        if self.out.is_json() {
            return;
        }
        match &self.multi {
            Some(m) => {
                let _ = m.println(text.as_ref());
            }
            None => super::stderr_line(text.as_ref()),
        }
    }

    /// A machine-readable event (stdout, JSON mode only).
    pub fn event(&self, kind: &str, mut fields: Value) {
        if !self.out.is_json() {
            return;
        }
        if let Value::Object(map) = &mut fields {
            map.insert("event".into(), Value::from(kind));
        }
        self.out.json(&fields);
    }

    /// One line per resource event of a stack operation (text), or one JSON event.
    pub fn resource_event(&self, e: &crate::aws::stack_events::ResourceEvent) {
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
        if let Ok(v) = serde_json::to_value(e) {
            self.event("resource", v);
        }
    }

    /// Waits for the stack operation that started after event `since`, printing each resource
    /// event and keeping the stack's spinner current.
    pub async fn follow(
        &self,
        cfn: &aws_sdk_cloudformation::Client,
        stack: &str,
        since: Option<String>,
        polling: crate::aws::poll::Polling,
        spinner: &Spinner,
    ) -> crate::error::Result<crate::aws::stack_wait::Finished> {
        crate::aws::stack_wait::until_settled(
            cfn,
            stack,
            since,
            polling,
            |e| {
                self.resource_event(e);
                spinner.set(format!("{} {}", e.logical_id, e.status.as_str()));
            },
            |s| spinner.set(s.status.as_str()),
        )
        .await
    }

    /// Asks a yes/no question on the terminal: `Ok(true)` only for yes. Ctrl-C while it waits
    /// for the answer is `Err(Interrupted)` at once, not after the next Enter: the answer is read
    /// on a thread of its own while this waits for it or for the signal. The spinners are hidden
    /// while the question is up.
    pub async fn confirm(&self, question: &str) -> crate::error::Result<bool> {
        let _guard = self.prompt.lock().await;
        if let Some(m) = &self.multi {
            m.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        super::stderr_write(&format!("{question} [y/N] "));
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut answer = String::new();
            let yes = std::io::stdin().read_line(&mut answer).is_ok()
                && matches!(answer.trim().to_lowercase().as_str(), "y" | "yes");
            let _ = tx.send(yes);
        });
        let answer = tokio::select! {
            a = rx => Ok(a.unwrap_or(false)),
            _ = tokio::signal::ctrl_c() => {
                super::stderr_line("");
                Err(crate::error::Error::Interrupted("interrupted at the question".into()))
            }
        };
        if let Some(m) = &self.multi {
            m.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        answer
    }
}
