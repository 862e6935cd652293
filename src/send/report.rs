//! The result of `qfleet send`: the steps its object took (text: one line each), or the step
//! it did not reach in time, with where to look; and its JSON document.

use super::Journey;
use crate::error::{Error, ErrorReport, Result};
use crate::output::Output;
use crate::output::report::{Document, Environment, Report};
use schemars::JsonSchema;
use serde::Serialize;
use std::time::Duration;

/// One environment's send: its journey, or why it could not be followed.
pub struct Sent {
    pub environment: String,
    /// The environment is a pipeline (the missing first step then names its first stage).
    pub pipeline: bool,
    /// How long the object was followed.
    pub timeout: Duration,
    pub result: Result<Journey>,
}

/// The test object's journey: uploaded, queued (seen in the job queue, or implied by a worker
/// processing it), processed (under the processed prefix); for a pipeline one processed step per
/// stage, naming the stage, each stage's output (a later stage's implies every earlier one, which
/// it moved on); missing names the first step that did not happen in time (exit 1), missing_stage
/// its stage for a pipeline.
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    /// Null when the send failed before its object could be followed.
    journey: Option<&'a Journey>,
}

/// The schema of `qfleet send`'s document.
#[cfg(test)]
pub fn schema() -> serde_json::Value {
    use crate::output::json_schema::{self as schema, Environments};
    schema::document::<Body<'static>, ()>(
        "send",
        "qfleet send ENV --output json",
        Environments::One,
    )
}

impl Sent {
    /// The error of a journey that did not reach its last step in time, with where to look.
    fn missed(&self, journey: &Journey) -> Option<Error> {
        let step = journey.missing?;
        let step = match &journey.missing_stage {
            Some(stage) => format!("{step} by stage {stage}"),
            None => step.to_string(),
        };
        let env = &self.environment;
        let hint = if step == "queued" && self.pipeline {
            format!(
                ": check the bucket's notification, the topic's subscription and the first stage's queue policy (`qfleet drift {env}`)"
            )
        } else if step == "queued" {
            format!(
                ": check the bucket's notification, the topic's subscription and the queue's policy (`qfleet drift {env}`)"
            )
        } else if let Some(Some(j)) = &journey.job
            && j.state == "failed"
        {
            format!(
                ": its job failed ({}; `qfleet jobs {env} {}` shows its history)",
                j.error.as_deref().unwrap_or("no error recorded"),
                j.key
            )
        } else {
            format!(": check the workers (`qfleet status {env}`, `qfleet dlq {env} list`)")
        };
        Some(Error::aws(format!(
            "{}: s3://{}/{} was not {step} within {} s{hint}",
            self.environment,
            journey.bucket,
            journey.key,
            self.timeout.as_secs(),
        )))
    }

    /// What ended the send: the error it failed with, or the step it did not reach.
    fn failure(&self) -> Option<Failure> {
        let of = |e: &Error| Failure {
            exit_code: e.exit_code(),
            report: e.report(),
            message: e.to_string(),
        };
        match &self.result {
            Ok(journey) => self.missed(journey).map(|e| of(&e)),
            Err(e) => Some(of(e)),
        }
    }
}

/// An error as the report says it twice (in text and in the document).
struct Failure {
    exit_code: crate::error::Exit,
    report: ErrorReport,
    message: String,
}

impl Report for Sent {
    fn exit_code(&self) -> crate::error::Exit {
        self.failure()
            .map_or(crate::error::Exit::Ok, |f| f.exit_code)
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let body = Body {
            journey: self.result.as_ref().ok(),
        };
        let env = match self.failure() {
            None => Environment::ok(&self.environment, body),
            Some(f) => Environment::new(&self.environment, f.exit_code, Some(f.report), body),
        };
        Document::new(self.exit_code(), vec![env])
    }

    fn text(&self, out: &Output) -> Result<()> {
        if let Ok(journey) = &self.result {
            for s in &journey.steps {
                let step = match &s.stage {
                    Some(stage) => format!("{} by {stage}", s.step),
                    None => s.step.to_string(),
                };
                let after = s.after_ms.map_or("—".to_string(), |ms| {
                    format!("+{:.1} s", ms as f64 / 1000.0)
                });
                out.line(format!(
                    "{}: {:<9} {}  {}",
                    self.environment, step, after, s.how
                ));
            }
            for r in &journey.cleanup.removed {
                out.line(format!("{}: removed   {r}", self.environment));
            }
            if let Some(why) = &journey.cleanup.left {
                out.line(format!("{}: left      {why}", self.environment));
            }
        }
        if let Some(f) = self.failure() {
            out.note(format!("error: {}", f.message));
        }
        Ok(())
    }
}
