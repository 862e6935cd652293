//! `qfleet logs ENV [--follow] [--since 10m] [--filter TEXT]`: the workers' log lines, each
//! with the instance or the invocation it came from.

use super::{Global, Session};
use crate::error::{Error, Result};
use crate::logs::{self, Line, Query, Reader};
use crate::output::{Output, envelope};
use clap::Args;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// One environment: its name (a file in the stacks directory, or one copy), or a path.
    pub env: String,
    /// Keep showing new lines as they arrive, until Ctrl-C (text output only).
    #[arg(long, short)]
    pub follow: bool,
    /// How far back to start: whole seconds or a number with a unit (90, 30s, 10m, 2h, 1d).
    #[arg(long, default_value = "10m", value_parser = parse_since)]
    pub since: Duration,
    /// Only lines containing this text (case-sensitive).
    #[arg(long)]
    pub filter: Option<String>,
    /// For a pipeline, only this stage's workers (default: every stage's, merged by time).
    #[arg(long)]
    pub stage: Option<String>,
}

fn parse_since(text: &str) -> std::result::Result<Duration, String> {
    crate::config::duration::parse(text)
        .filter(|s| s.0 > 0)
        .map(|s| Duration::from_secs(s.0))
        .ok_or_else(|| format!("`{text}` is not a duration such as 90, 30s, 10m or 2h"))
}

/// How often `--follow` looks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);
/// How far behind the newest line shown `--follow` looks again: CloudWatch Logs may make a
/// line readable a little after its timestamp; lines seen before are not shown twice.
const FOLLOW_OVERLAP_MS: i64 = 60_000;

fn text(line: &Line) -> String {
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
        let mut lines = logs::read(clients, self.env, &mut self.reader, &self.query).await?;
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

pub fn run(args: LogsArgs, g: &Global, out: Output) -> Result<i32> {
    if args.follow && out.is_json() {
        return Err(Error::usage(
            "--follow shows lines as they come, as text; with -o json, leave it out to get one document of the lines since --since",
        ));
    }
    if args.filter.as_deref().is_some_and(str::is_empty) {
        return Err(Error::usage("--filter needs some text to look for"));
    }
    let session = Session::open_with_pipelines(std::slice::from_ref(&args.env), g)?;
    let [env] = session.envs.as_slice() else {
        return Err(Error::usage(format!(
            "logs takes one environment; `{}` names {}",
            args.env,
            session.envs.len()
        )));
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let query = Query {
        start_ms: now_ms - args.since.as_millis() as i64,
        text: args.filter.clone(),
    };
    let stages = super::chosen_stages(env, args.stage.as_deref())?;
    let several = stages.len() > 1;
    let mut sources: Vec<Source> = stages
        .into_iter()
        .map(|stage| Source {
            env: stage,
            stage: stage
                .stage
                .as_ref()
                .filter(|_| several)
                .map(|s| s.name.clone()),
            group: logs::group(stage),
            reader: Reader::new(stage.spec.workers.kind, args.filter.clone()),
            newest_ms: query.start_ms,
            query: query.clone(),
        })
        .collect();
    let groups: Vec<(Option<String>, String)> = sources
        .iter()
        .map(|s| {
            (
                s.env.stage.as_ref().map(|st| st.name.clone()),
                s.group.clone(),
            )
        })
        .collect();
    let groups_text = groups
        .iter()
        .map(|(_, g)| g.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let work = async {
        let clients = session
            .aws
            .clients(&session.aws.region_for(&env.spec.region))
            .await;
        let lines = read_all(&clients, &mut sources).await?;
        if out.is_json() {
            return Ok::<_, Error>(lines);
        }
        for l in &lines {
            out.line(text(l));
        }
        if !args.follow {
            if lines.is_empty() {
                out.note(format!(
                    "{}: no lines in {groups_text} in the last {}",
                    env.name,
                    crate::config::duration::Seconds(args.since.as_secs())
                ));
            }
            return Ok(lines);
        }
        loop {
            tokio::time::sleep(FOLLOW_EVERY).await;
            for source in &mut sources {
                source.query.start_ms = source
                    .query
                    .start_ms
                    .max(source.newest_ms - FOLLOW_OVERLAP_MS);
            }
            let lines = read_all(&clients, &mut sources).await?;
            for l in &lines {
                out.line(text(l));
            }
        }
    };
    let result = session.block_on(async {
        tokio::select! {
            r = work => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    let lines = match result {
        // Ctrl-C ends --follow, its normal way to stop.
        None => return Ok(0),
        Some(r) => r?,
    };
    if out.is_json() {
        out.document(envelope::document(
            "logs",
            0,
            vec![envelope::environment(
                &env.name,
                0,
                None,
                if env.is_pipeline() {
                    serde_json::json!({
                        "log_group": groups[0].1,
                        "stages": groups
                            .iter()
                            .map(|(stage, group)| serde_json::json!({ "stage": stage, "log_group": group }))
                            .collect::<Vec<_>>(),
                        "lines": lines,
                    })
                } else {
                    serde_json::json!({ "log_group": groups[0].1, "lines": lines })
                },
            )],
            Default::default(),
        ));
    }
    Ok(0)
}
