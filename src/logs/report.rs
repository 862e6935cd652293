//! `qfleet logs`' result: the lines of an environment's workers (every stage's, merged by
//! time, or one stage's) since a time, as text (one line each, `--follow` until Ctrl-C) or
//! the document; each line with the instance or the invocation it came from.

use super::{Line, Query, Reader};
use crate::config::Environment;
use crate::error::{Error, Result};
use crate::output::{Document, Environment as EnvDoc, Output, Report};
use crate::session::Session;
use schemars::JsonSchema;
use serde::Serialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What to read.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// How far back to start.
    pub since: Duration,
    /// Only lines containing this text.
    pub filter: Option<String>,
    /// Only the lines of this job (by its id, and the message id of each attempt).
    pub job: Option<String>,
    /// Keep showing new lines until Ctrl-C (text only).
    pub follow: bool,
}

/// How often `--follow` looks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);
/// How far behind the newest line shown `--follow` looks again: CloudWatch Logs may make a
/// line readable a little after its timestamp; lines seen before are not shown twice.
const FOLLOW_OVERLAP_MS: i64 = 60_000;

pub(super) fn text(line: &Line) -> String {
    let from = line
        .instance
        .clone()
        .or_else(|| line.request.clone())
        .unwrap_or_else(|| line.stream.clone());
    match &line.stage {
        Some(stage) => format!("{}  {stage}  {from}  {}", line.time, line.message),
        None => format!("{}  {from}  {}", line.time, line.message),
    }
}

/// One stage's workers' lines: where they are, and what was read of them so far.
struct Source<'a> {
    env: &'a crate::config::Environment,
    /// The stage's name, shown on each line when several stages are read.
    stage: Option<String>,
    group: String,
    reader: Reader,
    query: Query,
    /// The time of the newest line read.
    newest_ms: i64,
}

impl Source<'_> {
    async fn read(&mut self, clients: &crate::aws::Clients) -> Result<Vec<Line>> {
        let mut lines = super::read(clients, self.env, &mut self.reader, &self.query).await?;
        for l in &mut lines {
            l.stage.clone_from(&self.stage);
            self.newest_ms = self.newest_ms.max(l.time_ms);
        }
        Ok(lines)
    }
}

/// Every source's new lines, oldest first (each source's are; merged by time).
async fn read_all(clients: &crate::aws::Clients, sources: &mut [Source<'_>]) -> Result<Vec<Line>> {
    let mut lines = Vec::new();
    for source in sources.iter_mut() {
        lines.extend(source.read(clients).await?);
    }
    lines.sort_by_key(|l| l.time_ms);
    Ok(lines)
}

/// The lines read of one environment.
pub(super) struct Logs {
    pub environment: String,
    pub pipeline: bool,
    /// Each stage's name (a pipeline's) and log group.
    pub groups: Vec<(Option<String>, String)>,
    pub lines: Vec<Line>,
    pub since: Duration,
}

/// A stage of a pipeline and its workers' log group.
#[derive(Serialize, JsonSchema)]
struct StageGroup<'a> {
    stage: &'a Option<String>,
    log_group: &'a str,
}

/// The workers' log lines since --since (matching --filter), oldest first, each with the instance
/// (EC2 workers) or the invocation (a function) it came from; for a pipeline, every stage's lines
/// (or --stage's) merged by time, each with its stage when several are read, and stages naming each
/// stage's log group.
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    /// The (first stage's) workers' log group.
    log_group: &'a str,
    /// A pipeline's stages, each with its log group.
    #[serde(skip_serializing_if = "Option::is_none")]
    stages: Option<Vec<StageGroup<'a>>>,
    /// Oldest first.
    lines: &'a [Line],
}

impl Report for Logs {
    fn exit_code(&self) -> crate::error::Exit {
        crate::error::Exit::Ok
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let stages = self.pipeline.then(|| {
            self.groups
                .iter()
                .map(|(stage, group)| StageGroup {
                    stage,
                    log_group: group,
                })
                .collect()
        });
        let body = Body {
            log_group: self.groups.first().map_or("", |(_, g)| g.as_str()),
            stages,
            lines: &self.lines,
        };
        Document::new(
            crate::error::Exit::Ok,
            vec![EnvDoc::ok(&self.environment, body)],
        )
    }

    fn text(&self, out: &Output) -> Result<()> {
        for l in &self.lines {
            out.line(text(l));
        }
        if self.lines.is_empty() {
            let groups: Vec<&str> = self.groups.iter().map(|(_, g)| g.as_str()).collect();
            out.note(format!(
                "{}: no lines in {} in the last {}",
                self.environment,
                groups.join(", "),
                crate::config::duration::Seconds(self.since.as_secs())
            ));
        }
        Ok(())
    }
}

/// The schema of `qfleet logs`' document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Body<'static>, ()>(
        "logs",
        "qfleet logs ENV --output json",
        Environments::One,
    )
}

/// Reads the lines of `stages` (of `env`) and prints them; with `follow`, again every few
/// seconds until Ctrl-C, its normal way to stop.
pub(crate) fn show(
    session: &Session,
    env: &Environment,
    stages: Vec<&Environment>,
    opts: &Options,
    out: Output,
) -> Result<crate::error::Exit> {
    let mut sources = sources(stages, opts);
    let groups: Vec<(Option<String>, String)> = sources
        .iter()
        .map(|s| {
            (
                s.env.stage.as_ref().map(|st| st.name.clone()),
                s.group.clone(),
            )
        })
        .collect();
    let work = async {
        let clients = crate::session::clients_for(&session.aws, env).await;
        // The account guard first: another account's log group is not this environment's.
        crate::ownership::check_account(&clients.sts, env).await?;
        if let Some(id) = &opts.job {
            let terms = super::job_terms(&clients, &session.aws, env, id).await?;
            for s in sources.iter_mut() {
                s.query.terms.clone_from(&terms);
                s.reader.terms.clone_from(&terms);
            }
        }
        let lines = read_all(&clients, &mut sources).await?;
        if !opts.follow {
            return Ok::<_, Error>(lines);
        }
        for l in &lines {
            out.line(text(l));
        }
        follow(&clients, &mut sources, out).await
    };
    let result = session.block_on(async {
        tokio::select! {
            r = work => Some(r),
            _ = crate::error::interrupted() => None,
        }
    });
    match result {
        // Ctrl-C ends --follow, its normal way to stop.
        None => Ok(crate::error::Exit::Ok),
        Some(lines) => out.print(&Logs {
            environment: env.name.clone(),
            pipeline: env.is_pipeline(),
            groups,
            lines: lines?,
            since: opts.since,
        }),
    }
}

/// One source per stage, each reading from `opts.since` ago.
fn sources<'a>(stages: Vec<&'a Environment>, opts: &Options) -> Vec<Source<'a>> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let query = Query {
        start_ms: now_ms - opts.since.as_millis() as i64,
        terms: opts.filter.iter().cloned().collect(),
    };
    let several = stages.len() > 1;
    stages
        .into_iter()
        .map(|stage| Source {
            env: stage,
            stage: stage
                .stage
                .as_ref()
                .filter(|_| several)
                .map(|s| s.name.clone()),
            group: super::group(stage),
            reader: Reader::new(stage.spec.workers.kind, query.terms.clone()),
            newest_ms: query.start_ms,
            query: query.clone(),
        })
        .collect()
}

/// Shows the new lines every [`FOLLOW_EVERY`], forever (Ctrl-C stops it).
async fn follow(
    clients: &crate::aws::Clients,
    sources: &mut [Source<'_>],
    out: Output,
) -> Result<Vec<Line>> {
    loop {
        tokio::time::sleep(FOLLOW_EVERY).await;
        for source in sources.iter_mut() {
            source.query.start_ms = source
                .query
                .start_ms
                .max(source.newest_ms - FOLLOW_OVERLAP_MS);
        }
        let lines = read_all(clients, sources).await?;
        for l in &lines {
            out.line(text(l));
        }
    }
}
