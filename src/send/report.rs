//! The result of `qfleet send`: the steps its object took (text: one line each), or the step
//! it did not reach in time, with where to look; and its JSON document.

use super::Journey;
use crate::error::{Error, ErrorReport, Result};
use crate::output::{Document, Environment, Output, Report};
use schemars::JsonSchema;
use serde::Serialize;
use std::time::Duration;

/// One environment's send: its journey, or why it could not be followed.
pub(crate) struct Sent {
    pub(crate) environment: String,
    /// The environment is a pipeline (the missing first step then names its first stage).
    pub(crate) pipeline: bool,
    /// How long the object was followed.
    pub(crate) timeout: Duration,
    pub(crate) result: Result<Journey>,
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
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
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
        let workers =
            format!("`qfleet status {env}`, `qfleet logs {env}`, `qfleet dlq {env} list`");
        let cannot_tell = |why: String| {
            Some(Error::aws(format!(
                "{env}: s3://{}/{} was not processed within {} s, and whether its event reached the job queue cannot be told ({why}): look at the workers first ({workers}), then the wiring (`qfleet drift {env}`)",
                journey.bucket,
                journey.key,
                self.timeout.as_secs(),
            )))
        };
        match (step.as_str(), journey.counted) {
            ("queued", super::Counted::Busy { held }) => {
                return cannot_tell(format!(
                    "the queue held {held} other message{} and its count did not rise",
                    if held == 1 { "" } else { "s" }
                ));
            }
            ("queued", super::Counted::Unreadable) => {
                return cannot_tell("the queue's count could not be read".into());
            }
            ("processed", super::Counted::Rose) if !matches!(&journey.job, Some(Some(j)) if j.state == "failed") =>
            {
                return Some(Error::aws(format!(
                    "{env}: s3://{}/{} was queued, not processed within {} s: look at the workers ({workers})",
                    journey.bucket,
                    journey.key,
                    self.timeout.as_secs(),
                )));
            }
            _ => {}
        }
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
                j.error
                    .as_deref()
                    .map_or_else(|| "no error recorded".into(), crate::jobs::plain_error),
                crate::output::hint::last_argument(&j.key)
            )
        } else {
            format!(": look at the workers ({workers})")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::send::{Cleanup, Counted, Journey, Step};

    fn journey(missing: &'static str, counted: Counted) -> Journey {
        Journey {
            bucket: "lab-uploads-1-eu-west-1".into(),
            key: "uploads/a.txt".into(),
            steps: vec![Step {
                step: "uploaded",
                stage: None,
                after_ms: Some(0),
                how: String::new(),
            }],
            missing: Some(missing),
            missing_stage: None,
            cleanup: Cleanup::default(),
            job: None,
            counted,
        }
    }

    fn said(j: Journey) -> String {
        Sent {
            environment: "lab".into(),
            pipeline: false,
            timeout: Duration::from_secs(60),
            result: Ok(j),
        }
        .failure()
        .unwrap()
        .message
    }

    /// Issue 57: a job that was queued and never processed named the wiring. The queue's count
    /// (never a receive) tells the workers from the wiring, and a busy queue says it cannot.
    #[test]
    fn the_workers_are_named_when_the_count_rose_the_wiring_only_when_the_queue_stayed_empty() {
        assert_eq!(
            said(journey("processed", Counted::Rose)),
            "lab: s3://lab-uploads-1-eu-west-1/uploads/a.txt was queued, not processed within 60 s: look at the workers (`qfleet status lab`, `qfleet logs lab`, `qfleet dlq lab list`)"
        );
        let wiring = said(journey("queued", Counted::StayedEmpty));
        assert!(
            wiring.contains("was not queued within 60 s: check the bucket's notification"),
            "{wiring}"
        );
        let busy = said(journey("queued", Counted::Busy { held: 4 }));
        assert!(
            busy.contains("cannot be told (the queue held 4 other messages and its count did not rise): look at the workers first"),
            "{busy}"
        );
        let unread = said(journey("queued", Counted::Unreadable));
        assert!(
            unread.contains("the queue's count could not be read"),
            "{unread}"
        );
    }

    /// `--keep` says what it left as it stands (issue 57: it claimed the upload and its event
    /// after the worker had moved the one and consumed the other).
    #[test]
    fn keep_names_what_is_left_as_it_stands() {
        let outputs = vec![(None, "processed/a.txt".to_string())];
        assert_eq!(
            crate::send::kept(
                "b",
                "uploads/a.txt",
                &outputs,
                &[Some((5, "x".into()))],
                &None,
                false
            ),
            "s3://b/processed/a.txt, the worker's output (it moved the upload and consumed its event): --keep"
        );
        assert_eq!(
            crate::send::kept(
                "b",
                "uploads/a.txt",
                &outputs,
                &[None],
                &Some((5, "x".into())),
                false
            ),
            "s3://b/uploads/a.txt and its event in the job queue: --keep"
        );
        assert_eq!(
            crate::send::kept("b", "uploads/a.txt", &outputs, &[None], &None, false),
            "s3://b/uploads/a.txt: --keep"
        );
    }
}
