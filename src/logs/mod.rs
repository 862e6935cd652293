//! `qfleet logs`: the workers' log lines, each with where it came from. EC2 workers' lines are
//! in the log group `/qfleet/ENV/workers`, one stream per instance (named by its id; the
//! bootstrap's own log in `INSTANCE/bootstrap`); a function's are in `/aws/lambda/FUNCTION`,
//! where each invocation's lines fall between the runtime's `START RequestId: …` and
//! `END RequestId: …` lines in one stream, since an execution environment runs one invocation
//! at a time (<https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html>).

mod report;

pub(crate) use report::{Options, show};

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use report::schema;

use crate::aws::Clients;
use crate::aws::logs::{self, Event};
use crate::config::{Environment, WorkerKind};
use crate::error::{Error, Result};
use crate::kinds::LogGroup;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// One line as `qfleet logs` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub(crate) struct Line {
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub time: String,
    #[serde(skip)]
    pub time_ms: i64,
    pub stream: String,
    /// The instance (EC2 workers) the line came from.
    pub instance: Option<String>,
    /// The invocation (a function) the line belongs to, when the stream shows it.
    pub request: Option<String>,
    pub message: String,
    /// The stage of a pipeline whose workers wrote the line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

/// Which lines to show.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    /// Milliseconds since the epoch: lines written from then on.
    pub start_ms: i64,
    /// Only lines containing this text (case-sensitive, as CloudWatch Logs matches terms).
    pub text: Option<String>,
}

/// The log group of the environment's workers.
pub(crate) fn group(env: &Environment) -> String {
    crate::render::ResourceNames::of(env)
        .log_group(env.spec.workers.kind)
        .to_string()
}

/// The filter pattern that finds the lines containing `text`; for a function it also lets
/// through the runtime's START and END lines, which tell the invocation of the lines between
/// them (and are shown only if they contain the text themselves).
pub(crate) fn pattern(kind: WorkerKind, text: Option<&str>) -> Option<String> {
    let text = text?;
    // A term in double quotes matches it exactly, spaces and punctuation included; a double
    // quote or backslash inside is escaped
    // (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>).
    let term = format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
    Some(crate::kinds::of(kind).log_pattern(term))
}

/// Turns events into lines, remembering across calls (while following) which invocation each
/// function stream is in and which events were shown.
#[derive(Debug)]
pub(crate) struct Reader {
    kind: WorkerKind,
    text: Option<String>,
    /// The request a function stream is running, from its last START line.
    running: HashMap<String, String>,
    shown: HashSet<String>,
}

impl Reader {
    pub(crate) fn new(kind: WorkerKind, text: Option<String>) -> Reader {
        Reader {
            kind,
            text,
            running: HashMap::new(),
            shown: HashSet::new(),
        }
    }

    /// The lines of `events` not shown before, in time order.
    pub(crate) fn lines(&mut self, events: Vec<Event>) -> Vec<Line> {
        let mut out = Vec::new();
        for e in events {
            if !self.shown.insert(e.id.clone()) {
                continue;
            }
            let mut request = None;
            let mut instance = None;
            match crate::kinds::of(self.kind).log_group() {
                LogGroup::Function => {
                    if let Some(id) = request_id(&e.message, "START RequestId:") {
                        self.running.insert(e.stream.clone(), id.to_string());
                        request = Some(id.to_string());
                    } else if let Some(id) = request_id(&e.message, "END RequestId:") {
                        self.running.remove(&e.stream);
                        request = Some(id.to_string());
                    } else if let Some(id) = request_id(&e.message, "REPORT RequestId:") {
                        request = Some(id.to_string());
                    } else {
                        request = self.running.get(&e.stream).cloned();
                    }
                }
                // `INSTANCE/...` on EC2, `worker/worker/TASK` on Fargate.
                LogGroup::Workers => {
                    instance = Some(
                        crate::kinds::of(self.kind)
                            .worker_of_stream(&e.stream)
                            .to_string(),
                    );
                }
            }
            if let Some(t) = &self.text
                && !e.message.contains(t.as_str())
            {
                continue;
            }
            out.push(Line {
                time: time(e.time_ms),
                time_ms: e.time_ms,
                stream: e.stream,
                instance,
                request,
                message: e.message,
                stage: None,
            });
        }
        out
    }
}

/// The request id after `marker` at the start of a runtime line.
fn request_id<'a>(message: &'a str, marker: &str) -> Option<&'a str> {
    message
        .strip_prefix(marker)?
        .split_whitespace()
        .next()
        .filter(|id| !id.is_empty())
}

fn time(ms: i64) -> String {
    aws_smithy_types::DateTime::from_millis(ms)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| ms.to_string())
}

/// The lines of the environment's workers matching `query`, read once.
pub(crate) async fn read(
    clients: &Clients,
    env: &Environment,
    reader: &mut Reader,
    query: &Query,
) -> Result<Vec<Line>> {
    let group = group(env);
    let kind = env.spec.workers.kind;
    let events = logs::events(
        &clients.logs,
        &group,
        query.start_ms,
        pattern(kind, query.text.as_deref()).as_deref(),
    )
    .await?
    .ok_or_else(|| {
        Error::aws(format!(
            "{}: the log group {group} does not exist: the environment's {} are not deployed (`qfleet deploy {}`), or were deployed by a qfleet without logs",
            env.name,
            crate::kinds::of(kind).noun(),
            env.resource_name()
        ))
    })?;
    Ok(reader.lines(events))
}

#[cfg(test)]
mod tests;
