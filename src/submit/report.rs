//! The result of `qfleet submit`: the job's id and what became of it (a line for people, one
//! document for `--output json`).

use super::{Outcome, Submission};
use crate::error::{Error, Exit, Result};
use crate::output::{Document, Environment, Output, Report};
use schemars::JsonSchema;
use serde::Serialize;

/// One environment's submission, or why it could not be made.
pub(crate) struct Submitted {
    pub environment: String,
    pub result: Result<Submission>,
}

/// The job submitted: its id, what became of it, and its record when read.
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    /// The job queue the message went to.
    queue: Option<&'a str>,
    /// The job's id: its `job_id` message attribute and its key in the job table.
    job_id: Option<&'a str>,
    /// `sent`, `resubmitted` (its record said failed, or queued with --resend), `duplicate`
    /// (done already: nothing sent) or `in_flight` (queued or being processed already: nothing
    /// sent; --wait follows it).
    outcome: Option<Outcome>,
    /// The message's id in SQS (null when nothing was sent).
    message_id: Option<&'a str>,
    /// The job's state in its record as last read: with `--wait` its end (`done`, `failed`),
    /// for a job not sent its state then; null otherwise.
    state: Option<&'a str>,
    /// The key its last finished stage wrote.
    output: Option<&'a str>,
    /// The last failure's error.
    error: Option<&'a str>,
    /// The record's sequence (docs/jobs.md).
    seq: Option<u64>,
    /// `--wait` ended before the job did.
    timed_out: bool,
}

/// The schema of `qfleet submit`'s document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::json_schema::{self as schema, Environments};
    schema::document::<Body<'static>, ()>(
        "submit",
        "qfleet submit ENV BODY --output json",
        Environments::One,
    )
}

impl Submitted {
    /// A `--wait` that did not end `done`: the job failed, or the wait ended first.
    fn unfinished(&self) -> Option<Error> {
        let s = self.result.as_ref().ok()?;
        let env = &self.environment;
        let history = format!("`qfleet jobs {env} {}` shows its history", s.id);
        if let Some(e) = &s.wait_error {
            return Some(Error::aws(format!(
                "{env}: job {}: --wait could not read its record: {e}; {history}",
                s.id
            )));
        }
        if s.timed_out {
            return Some(Error::aws(format!(
                "{env}: job {} was not done when --wait ended ({}): {history}",
                s.id,
                s.job.as_ref().map_or("no record yet", |j| j.state.as_str())
            )));
        }
        let job = s.job.as_ref()?;
        (job.state == "failed").then(|| {
            Error::aws(format!(
                "{env}: job {} failed: {}; {history}",
                s.id,
                job.error.as_deref().unwrap_or("no error recorded")
            ))
        })
    }

    fn body(&self) -> Body<'_> {
        let s = self.result.as_ref().ok();
        let job = s.and_then(|s| s.job.as_ref());
        Body {
            queue: s.map(|s| s.queue.as_str()),
            job_id: s.map(|s| s.id.as_str()),
            outcome: s.map(|s| s.outcome),
            message_id: s.and_then(|s| s.message_id.as_deref()),
            state: job.map(|j| j.state.as_str()),
            output: job.and_then(|j| j.output.as_deref()),
            error: job.and_then(|j| j.error.as_deref()),
            seq: job.and_then(|j| j.seq),
            timed_out: s.is_some_and(|s| s.timed_out),
        }
    }
}

impl Report for Submitted {
    fn exit_code(&self) -> Exit {
        match (&self.result, self.unfinished()) {
            (Err(e), _) => e.exit_code(),
            (Ok(_), Some(e)) => e.exit_code(),
            (Ok(_), None) => Exit::Ok,
        }
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let env = match (&self.result, self.unfinished()) {
            (Err(e), _) => Environment::failed(&self.environment, e, self.body()),
            (Ok(_), Some(e)) => Environment::failed(&self.environment, &e, self.body()),
            (Ok(_), None) => Environment::ok(&self.environment, self.body()),
        };
        Document::new(self.exit_code(), vec![env])
    }

    fn text(&self, out: &Output) -> Result<()> {
        let env = &self.environment;
        let s = match &self.result {
            Ok(s) => s,
            Err(e) => {
                out.note(format!(
                    "error: {}",
                    crate::output::words::of_env(env, &e.to_string())
                ));
                return Ok(());
            }
        };
        let (id, queue) = (&s.id, &s.queue);
        let state = s.job.as_ref().map_or("", |j| j.state.as_str());
        out.line(match s.outcome {
            Outcome::Sent => format!("{env}: job {id} sent to {queue}"),
            Outcome::Resubmitted => {
                format!("{env}: job {id} sent to {queue} again (it had failed, or --resend)")
            }
            Outcome::Duplicate => format!("{env}: job {id} is done already: nothing sent"),
            Outcome::InFlight => format!("{env}: job {id} is {state} already: nothing sent"),
        });
        if let Some(e) = self.unfinished() {
            out.note(format!("error: {e}"));
        } else if let Some(job) = s.job.as_ref().filter(|j| j.state == "done") {
            out.line(format!(
                "{env}: job {id} done{}",
                job.output
                    .as_deref()
                    .map(|o| format!(": {o}"))
                    .unwrap_or_default()
            ));
        }
        Ok(())
    }
}
