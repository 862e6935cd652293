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
    format!("{}  {from}  {}", line.time, line.message)
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
    let session = Session::open(std::slice::from_ref(&args.env), g)?;
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
    let mut query = Query {
        start_ms: now_ms - args.since.as_millis() as i64,
        text: args.filter.clone(),
    };
    let mut reader = Reader::new(env.spec.workers.kind, args.filter.clone());
    let group = logs::group(env);
    let work = async {
        let clients = session
            .aws
            .clients(&session.aws.region_for(&env.spec.region))
            .await;
        let lines = logs::read(&clients, env, &mut reader, &query).await?;
        if out.is_json() {
            return Ok::<_, Error>(lines);
        }
        for l in &lines {
            out.line(text(l));
        }
        if !args.follow {
            if lines.is_empty() {
                out.note(format!(
                    "{}: no lines in {group} in the last {}",
                    env.name,
                    crate::config::duration::Seconds(args.since.as_secs())
                ));
            }
            return Ok(lines);
        }
        let mut newest_ms = lines.last().map_or(query.start_ms, |l| l.time_ms);
        loop {
            tokio::time::sleep(FOLLOW_EVERY).await;
            query.start_ms = query.start_ms.max(newest_ms - FOLLOW_OVERLAP_MS);
            let lines = logs::read(&clients, env, &mut reader, &query).await?;
            for l in &lines {
                out.line(text(l));
            }
            newest_ms = lines.last().map_or(newest_ms, |l| l.time_ms.max(newest_ms));
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
                serde_json::json!({ "log_group": group, "lines": lines }),
            )],
            Default::default(),
        ));
    }
    Ok(0)
}
