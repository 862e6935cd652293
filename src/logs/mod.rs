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
use crate::aws::{self, LogEvent as Event};
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
    /// Only lines containing any of these texts (case-sensitive, as CloudWatch Logs matches
    /// terms); none: every line.
    pub terms: Vec<String>,
}

/// The log group of the environment's workers.
pub(crate) fn group(env: &Environment) -> String {
    crate::render::ResourceNames::of(env)
        .log_group(env.spec.workers.kind)
        .to_string()
}

/// The longest filter pattern FilterLogEvents takes.
const MAX_PATTERN: usize = 1024;

/// The filter pattern that finds the lines containing any of `terms`; for a function it also
/// lets through the runtime's START and END lines, which tell the invocation of the lines
/// between them (and are shown only if they contain a term themselves).
pub(crate) fn pattern(kind: WorkerKind, terms: &[String]) -> Option<String> {
    if terms.is_empty() {
        return None;
    }
    // A term in double quotes matches it exactly, spaces and punctuation included; a double
    // quote or backslash inside is escaped
    // (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>).
    let quoted = terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    Some(crate::kinds::of(kind).log_pattern(quoted))
}

/// The pattern sent to CloudWatch Logs: [`pattern`], unless it is longer than it takes.
pub(crate) fn server_pattern(kind: WorkerKind, terms: &[String]) -> Option<String> {
    pattern(kind, terms).filter(|p| p.chars().count() <= MAX_PATTERN)
}

/// What a worker's log line says of a job: `job=` and its id as a JSON string (the reference
/// worker's and handler's `log_line`, docs/jobs.md).
pub(crate) fn job_term(id: &str) -> String {
    format!("job={}", serde_json::Value::from(id))
}

/// The texts that find the log lines of the job `id`: its id as a line names it (as given, and
/// under the upload prefix), and, with a job table, the message id of each attempt its record
/// keeps (a line written before the job's id was known names the message only). A record that
/// cannot be read is an error, never "no attempts".
pub(crate) async fn job_terms(
    clients: &Clients,
    aws: &crate::aws::Aws,
    env: &Environment,
    id: &str,
) -> Result<Vec<String>> {
    let mut terms = vec![job_term(id)];
    let stored = crate::jobs::stored_key(env, id);
    if stored != id {
        terms.push(job_term(&stored));
    }
    if env.spec.jobs.is_some() {
        let at = crate::placement::stacks_of(aws, env).await?;
        let q = crate::jobs::Query {
            key: Some(id.to_string()),
            state: None,
            since: std::time::Duration::ZERO,
            limit: usize::MAX,
        };
        for job in crate::jobs::read(clients, env, &at, &q).await?.jobs {
            terms.push(job_term(&job.key));
            terms.extend(job.history.iter().filter_map(|c| {
                let m = c.message.as_deref()?;
                Some(format!("msg={m}"))
            }));
        }
    }
    let mut seen = HashSet::new();
    terms.retain(|t| seen.insert(t.clone()));
    Ok(terms)
}

/// Turns events into lines, remembering across calls (while following) which invocation each
/// function stream is in and which events were shown.
#[derive(Debug)]
pub(crate) struct Reader {
    kind: WorkerKind,
    /// Only lines containing any of these (none: every line).
    pub(crate) terms: Vec<String>,
    /// The request a function stream is running, from its last START line.
    running: HashMap<String, String>,
    shown: HashSet<String>,
}

impl Reader {
    pub(crate) fn new(kind: WorkerKind, terms: Vec<String>) -> Reader {
        Reader {
            kind,
            terms,
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
            if !self.terms.is_empty() && !self.terms.iter().any(|t| e.message.contains(t.as_str()))
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
    // FilterLogEvents takes a pattern of at most 1,024 characters ("filterPattern ... Length
    // Constraints: Minimum length of 0. Maximum length of 1024",
    // <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html>):
    // a longer one (a long job id, many attempts) reads every line, and the reader keeps the
    // ones that hold a term.
    let filter = server_pattern(kind, &query.terms);
    let events = aws::log_events(&clients.logs, &group, query.start_ms, filter.as_deref())
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
