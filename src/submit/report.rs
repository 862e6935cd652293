//! The result of `qfleet submit`: the job's id and what became of it (a line for people, one
//! document for `--output json`).

use super::lines::Backfill;
use super::{Outcome, Submission};
use crate::error::{Error, Exit, Result};
use crate::output::{Document, Environment, Output, Report};
use schemars::JsonSchema;
use serde::Serialize;

/// One environment's submission, or why it could not be made.
pub(crate) struct Submitted {
    pub environment: String,
    pub result: Result<Submission>,
    /// The command that shows where the job is (`qfleet jobs ENV ID`), shell-quoted.
    pub follow: String,
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
    /// Where the body was stored when it was over the queue's size limit
    /// (`s3://BUCKET/bodies/ID`; the message carries its pointer); null otherwise.
    stored_body: Option<&'a str>,
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
    /// With `--lines`: each line's job, in the file's order (the fields above are null then).
    jobs: Option<Vec<LineBody<'a>>>,
}

/// One line's job of `--lines`.
#[derive(Serialize, JsonSchema)]
struct LineBody<'a> {
    /// The line's number in the file (1 first).
    line: usize,
    /// The job's id (its `job_id` message attribute).
    job_id: &'a str,
    /// As `outcome` above; null when it was not sent, or may have been (see `error`).
    outcome: Option<Outcome>,
    /// The message's id in SQS.
    message_id: Option<&'a str>,
    /// Where the body went when it was over the queue's limit (`s3://BUCKET/bodies/ID`).
    stored_body: Option<&'a str>,
    /// Why it was not sent, or why it may have been.
    error: Option<&'a str>,
}

/// The schema of `qfleet submit`'s document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Body<'static>, ()>(
        "submit",
        "qfleet submit ENV BODY --output json",
        Environments::One,
    )
}

impl Submitted {
    /// `env`'s submission of the job `id` to its stage `stage`, or why it could not be made.
    pub(crate) fn new(
        env: &crate::config::Environment,
        stage: &crate::config::Environment,
        id: &str,
        result: Result<Submission>,
    ) -> Submitted {
        Submitted {
            environment: env.name.clone(),
            result,
            follow: super::follow_command(stage, id),
        }
    }

    /// A `--wait` that did not end `done`: the job failed, or the wait ended first.
    fn unfinished(&self) -> Option<Error> {
        let s = self.result.as_ref().ok()?;
        let env = &self.environment;
        let history = format!("`{}` shows its history", self.follow);
        if s.interrupted {
            return Some(
                crate::error::Interruption::Followed(Box::new(crate::error::Followed {
                    env: env.clone(),
                    id: s.id.clone(),
                    message: s.message_id.clone().unwrap_or_else(|| "sent before".into()),
                    state: s
                        .job
                        .as_ref()
                        .map_or("no record yet", |j| j.state.as_str())
                        .to_string(),
                    follow: self.follow.clone(),
                }))
                .into(),
            );
        }
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
                job.error
                    .as_deref()
                    .map_or_else(|| "no error recorded".into(), crate::jobs::plain_error)
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
            stored_body: s.and_then(|s| s.stored_body.as_deref()),
            state: job.map(|j| j.state.as_str()),
            output: job.and_then(|j| j.output.as_deref()),
            error: job.and_then(|j| j.error.as_deref()),
            seq: job.and_then(|j| j.seq),
            timed_out: s.is_some_and(|s| s.timed_out),
            jobs: None,
        }
    }
}

/// What decides one environment's exit code and document: the command's error, else what its
/// result left undone (a wait that did not end done, jobs not sent), else nothing.
fn problem<'a, T>(result: &'a Result<T>, undone: &'a Option<Error>) -> Option<&'a Error> {
    result.as_ref().err().or(undone.as_ref())
}

/// One environment's document, failed with [`problem`]'s error or ok.
fn document_of<B: Serialize>(
    environment: &str,
    problem: Option<&Error>,
    body: B,
) -> Document<Environment<B>, ()> {
    let (exit, env) = match problem {
        Some(e) => (e.exit_code(), Environment::failed(environment, e, body)),
        None => (Exit::Ok, Environment::ok(environment, body)),
    };
    Document::new(exit, vec![env])
}

impl Report for Submitted {
    fn exit_code(&self) -> Exit {
        let undone = self.unfinished();
        problem(&self.result, &undone).map_or(Exit::Ok, Error::exit_code)
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let undone = self.unfinished();
        document_of(
            &self.environment,
            problem(&self.result, &undone),
            self.body(),
        )
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
        if let Some(at) = &s.stored_body {
            out.line(format!(
                "{env}: its body is over the queue's size limit: stored at {at}, the message carries its pointer"
            ));
        }
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
        } else {
            // Not followed here (no --wait): the command that does, never a second send.
            out.line(format!("{env}: `{}` shows where it is", self.follow));
        }
        Ok(())
    }
}

/// One environment's backfill (`submit --lines`), or why it could not be made.
pub(crate) struct Backfilled {
    pub environment: String,
    pub result: Result<Backfill>,
}

impl Backfilled {
    /// Jobs not sent, or that may have been: the backfill did not do all it was asked.
    fn unsent(&self) -> Option<Error> {
        let b = self.result.as_ref().ok()?;
        let n = b.jobs.iter().filter(|j| j.outcome.is_none()).count();
        (n > 0).then(|| {
            Error::aws(format!(
                "{}: {n} of {} jobs from {} were not sent, or may have been (each line says why)",
                self.environment,
                b.jobs.len(),
                b.path.display()
            ))
        })
    }

    fn body(&self) -> Body<'_> {
        let b = self.result.as_ref().ok();
        Body {
            queue: b.map(|b| b.queue.as_str()),
            job_id: None,
            outcome: None,
            message_id: None,
            stored_body: None,
            state: None,
            output: None,
            error: None,
            seq: None,
            timed_out: false,
            jobs: b.map(|b| {
                b.jobs
                    .iter()
                    .map(|j| LineBody {
                        line: j.line,
                        job_id: &j.id,
                        outcome: j.outcome,
                        message_id: j.message_id.as_deref(),
                        stored_body: j.stored_body.as_deref(),
                        error: j.error.as_deref(),
                    })
                    .collect()
            }),
        }
    }
}

impl Report for Backfilled {
    fn exit_code(&self) -> Exit {
        let undone = self.unsent();
        problem(&self.result, &undone).map_or(Exit::Ok, Error::exit_code)
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let undone = self.unsent();
        document_of(
            &self.environment,
            problem(&self.result, &undone),
            self.body(),
        )
    }

    /// A line per job (its line, its id, what became of it), then the counts.
    fn text(&self, out: &Output) -> Result<()> {
        let env = &self.environment;
        let b = match &self.result {
            Ok(b) => b,
            Err(e) => {
                out.note(format!(
                    "error: {}",
                    crate::output::words::of_env(env, &e.to_string())
                ));
                return Ok(());
            }
        };
        let mut counts = std::collections::BTreeMap::new();
        for j in &b.jobs {
            let what = match j.outcome {
                Some(Outcome::Sent) => "sent",
                Some(Outcome::Resubmitted) => "sent again",
                Some(Outcome::Duplicate) => "done already",
                Some(Outcome::InFlight) => "in flight already",
                None => "not sent",
            };
            *counts.entry(what).or_insert(0usize) += 1;
            let why = j
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            let body = j
                .stored_body
                .as_deref()
                .map(|at| format!(" (its body stored at {at})"))
                .unwrap_or_default();
            out.line(format!(
                "{env}: line {}: job {} {what}{body}{why}",
                j.line, j.id
            ));
        }
        let counts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        out.line(format!(
            "{env}: {} jobs from {} to {}: {}",
            b.jobs.len(),
            b.path.display(),
            b.queue,
            counts.join(", ")
        ));
        if let Some(e) = self.unsent() {
            out.note(format!("error: {e}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(interrupted: bool) -> Submitted {
        Submitted {
            environment: "shop".into(),
            result: Ok(Submission {
                queue: "qfleet-shop-jobs".into(),
                id: "order 7 (rush)".into(),
                outcome: Outcome::Sent,
                message_id: Some("m-1".into()),
                job: None,
                timed_out: false,
                wait_error: None,
                interrupted,
                stored_body: None,
            }),
            follow: "qfleet jobs shop 'order 7 (rush)'".into(),
        }
    }

    /// Issue 85: an interrupted `--wait` names the job it sent and how to follow it, exits as
    /// the signal does, and never suggests running the command again (a second job).
    #[test]
    fn an_interrupted_wait_names_the_job_it_sent_and_how_to_follow_it() {
        let s = sent(true);
        let e = s.unfinished().unwrap();
        let said = e.to_string();
        assert_eq!(
            said,
            "shop: stopped following job order 7 (rush) (no record yet); it was sent (message m-1) and goes on without this command: `qfleet jobs shop 'order 7 (rush)'` shows where it is"
        );
        assert!(!said.contains("again"), "{said}");
        match &crate::cli::printed::parse_all(&said)[..] {
            [cli] => match &cli.command {
                crate::cli::Command::Jobs(a) => {
                    assert_eq!(a.key.as_deref(), Some("order 7 (rush)"), "{said}");
                }
                other => panic!("{other:?}"),
            },
            _ => panic!("one command in: {said}"),
        }
        assert!(matches!(s.exit_code(), Exit::Interrupted(_)));
        let doc = serde_json::to_value(s.document()).unwrap();
        let env = &doc["environments"][0];
        assert_eq!(env["job_id"], "order 7 (rush)", "{doc}");
        assert_eq!(env["message_id"], "m-1", "{doc}");
        assert_eq!(env["error"]["kind"], "interrupted", "{doc}");
        assert!(sent(false).unfinished().is_none());
    }

    /// A failed job's error reads as people read it (no Python repr), and the command that
    /// shows its history is the quoted one.
    #[test]
    fn a_failed_waits_error_is_plain_and_its_command_quoted() {
        let mut s = sent(false);
        if let Ok(sub) = &mut s.result {
            sub.job = Some(crate::jobs::table::Job {
                key: "order 7 (rush)".into(),
                upload: crate::jobs::MESSAGE_UPLOAD.into(),
                state: "failed".into(),
                stage: None,
                stage_index: None,
                attempts: Some(5),
                seq: Some(9),
                worker: None,
                tenant: None,
                lane: None,
                uploaded_at: None,
                queued_at: None,
                received_at: None,
                finished_at: None,
                output: None,
                error: Some("ValueError('no such photo')".into()),
                duplicates: None,
                updated_at: None,
                expires_at: None,
                history: Vec::new(),
            });
        }
        let said = s.unfinished().unwrap().to_string();
        assert_eq!(
            said,
            "shop: job order 7 (rush) failed: ValueError: no such photo; `qfleet jobs shop 'order 7 (rush)'` shows its history"
        );
    }
}
