//! `qfleet dev ENV --check JOB [-- COMMAND]`: a team's worker checked against the worker
//! protocol (docs/workers.md, "The worker protocol") on a laptop. The worker runs as `qfleet
//! dev` runs it; the check sends it one job as a message (the body in JOB, under a new id of
//! its own), follows the job's record for at most `--timeout`, sends the same message again,
//! then stops the worker
//! with SIGTERM as the fleet does. Each rule is said ok, failed or not checked, with why; the
//! run exits 0 only when every rule that applies was checked and kept, else 3.
//!
//! What the check cannot see from outside (a message deleted after success, visibility
//! extended, failures and dead letters, a pipeline's hand-off of objects) it says it did not
//! check.

use super::signal;
use crate::aws::Clients;
use crate::config::Environment;
use crate::error::{Error, Exit, Result};
use crate::jobs::table::Job as Record;
use crate::output::Output;
use crate::submit::Request;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::AsyncBufReadExt;

/// How long the job may take at this stage when `--timeout` is not given.
pub(crate) const DEFAULT_WAIT: Duration = Duration::from_secs(120);
/// How long a record may still say `queued` after the worker's lines named the job: a worker
/// starts a job in the table before any work (docs/jobs.md, "The protocol", step 1).
const STARTED_WITHIN: Duration = Duration::from_secs(10);
/// How long the worker may take to see the same message again and count it a duplicate.
const DUPLICATE_WAIT: Duration = Duration::from_secs(60);
/// How long after the record's end a line naming the job may come.
const LINE_AFTER_RECORD: Duration = Duration::from_secs(5);
/// The seconds a container on an instance has after SIGTERM: its unit stops it with
/// `docker stop --time 90` (templates/qfleet-container.service.j2), as systemd's default
/// `TimeoutStopSec` gives a script's worker. A task has `QFLEET_STOP_GRACE`.
const INSTANCE_GRACE: u64 = 90;

/// What the check found of one rule.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Verdict {
    Kept(String),
    Broken(String),
    /// The rule applies, but the check could not tell: never taken for kept.
    NotChecked(String),
    /// The rule does not apply to this stage (no `jobs:`).
    NotApplicable(String),
}

/// One rule of the protocol and what the check found.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rule {
    pub(super) rule: &'static str,
    pub(super) verdict: Verdict,
}

/// The job the check sends: its body (read from the file given to `--check`) under a new id
/// of its own (`dev-check-…`), to a stage that takes messages; `wait` is how long it may
/// take at this stage, from its send to its record's end here (`--timeout`).
pub(super) fn request(stage: &Environment, file: &std::path::Path, wait: Duration) -> Result<Job> {
    let id = format!(
        "dev-check-{:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    );
    // Not `submit --wait`: the check follows the record itself, the worker watched.
    let request = Request::new(stage, None, Some(file), Some(id), &[], None, false)?;
    // A FIFO queue takes a message only with its group.
    Ok(Job {
        request: request.with_group(stage.spec.queue.fifo.then(|| "dev-check".to_string()))?,
        wait,
    })
}

/// The check's job and how long it may take at this stage.
pub(super) struct Job {
    pub(super) request: Request,
    pub(super) wait: Duration,
}

/// What the worker printed on stdout so far, and when each line came.
type Lines = Arc<Mutex<Vec<(Instant, String)>>>;

/// Whether `line` names the job `id` as the protocol asks: `job=` and the id as a JSON string
/// (docs/jobs.md, "A job's log lines").
pub(super) fn names_job(line: &str, id: &str) -> bool {
    line.match_indices("job=").any(|(at, _)| {
        let rest = &line[at + "job=".len()..];
        serde_json::Deserializer::from_str(rest)
            .into_iter::<String>()
            .next()
            .is_some_and(|v| v.is_ok_and(|v| v == id))
    })
}

/// When the first line naming `id` came, if one has.
fn named_at(lines: &Lines, id: &str) -> Option<Instant> {
    let lines = lines.lock().unwrap_or_else(|e| e.into_inner());
    lines
        .iter()
        .find(|(_, l)| names_job(l, id))
        .map(|(at, _)| *at)
}

/// Where the job is for this stage (index `si`), from its record: `Some` once it ended here.
pub(super) fn ended_here(job: &Record, si: u64) -> Option<Verdict> {
    let at = job.stage_index.unwrap_or(0);
    let attempts = job.attempts.unwrap_or(0);
    if at < si {
        // Not here yet.
        return None;
    }
    Some(match job.state.as_str() {
        _ if at > si => Verdict::Kept(format!(
            "its record moved on to stage {}, queued there",
            job.stage.as_deref().unwrap_or("next")
        )),
        "done" => Verdict::Kept(format!(
            "its record says done after {attempts} attempt{}",
            if attempts == 1 { "" } else { "s" }
        )),
        "failed" | "retrying" => Verdict::Broken(format!(
            "the job failed: {}",
            crate::jobs::plain_error(job.error.as_deref().unwrap_or("(no error recorded)"))
        )),
        "cancelled" => Verdict::NotChecked("its record says cancelled".to_string()),
        _ => return None,
    })
}

/// Runs the check: the worker started as `qfleet dev` starts it, the job sent and followed,
/// sent again, the worker stopped. Its report on stdout; exit 0 when every rule that applies
/// was kept, else 3 ([`Exit::Differences`]).
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    clients: &Clients,
    stage: &Environment,
    table: Option<&str>,
    job: &Job,
    (program, args): (&str, &[String]),
    vars: &BTreeMap<String, String>,
    cleared: &[&str],
    out: &Output,
) -> Result<Exit> {
    let _holding = crate::error::Holding::new();
    let grace = vars
        .get("QFLEET_STOP_GRACE")
        .and_then(|g| g.parse().ok())
        .unwrap_or(INSTANCE_GRACE);
    let mut child = super::spawn(program, args, vars, cleared, true)?;
    let lines: Lines = Arc::default();
    let reader = child.stdout.take().map(|stdout| {
        let lines = lines.clone();
        tokio::spawn(async move {
            let mut r = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = r.next_line().await {
                // The worker's own line, as it wrote it.
                let _ = writeln!(std::io::stdout().lock(), "{line}");
                lines
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((Instant::now(), line));
            }
        })
    });
    let retention = stage.spec.jobs.as_ref().map_or(30, |j| j.retention_days);
    let (request, wait) = (&job.request, job.wait);
    let queue_url = vars.get("QFLEET_QUEUE_URL").cloned().unwrap_or_default();
    let probes = async {
        let mut rules = Vec::new();
        let sent = crate::submit::submit(
            clients,
            stage,
            &crate::placement::StackNames::own(),
            request,
        )
        .await?;
        let si = stage.stage.as_ref().map_or(0, |s| s.index) as u64;
        let job_table = table.map(|t| (t, retention));
        let (worked, named, record) = follow(
            clients,
            job_table,
            (&request.id, wait),
            si,
            &lines,
            &mut child,
        )
        .await?;
        rules.push(worked);
        rules.push(named);
        rules.push(match (table, record) {
            (None, _) => Rule {
                rule: DUPLICATE,
                verdict: Verdict::NotApplicable(
                    "without jobs: no record says a job is done".into(),
                ),
            },
            (Some(table), Some(record)) if sent.stored_body.is_none() => {
                let probe = Probe {
                    table,
                    queue_url: &queue_url,
                    fifo: stage.spec.queue.fifo,
                    si,
                };
                duplicate(clients, &probe, request, &record, &mut child).await?
            }
            (Some(_), Some(_)) => Rule {
                rule: DUPLICATE,
                verdict: Verdict::NotChecked(
                    "the body went to the bucket (over the queue's limit): give a smaller one"
                        .into(),
                ),
            },
            (Some(_), None) => Rule {
                rule: DUPLICATE,
                verdict: Verdict::NotChecked("the job did not end here".into()),
            },
        });
        Ok::<_, Error>(rules)
    };
    let outcome = tokio::select! {
        biased;
        signal = crate::error::interrupted() => Err(signal),
        rules = probes => Ok(rules),
    };
    let mut rules = match outcome {
        Err(signal) => {
            self::signal(&child, "INT").await;
            let _ = child.wait().await;
            return Ok(Exit::Interrupted(signal));
        }
        Ok(Err(e)) => {
            stop(&mut child, grace).await;
            return Err(e);
        }
        Ok(Ok(rules)) => rules,
    };
    rules.push(stopped(&mut child, grace).await);
    if let Some(r) = reader {
        let _ = tokio::time::timeout(Duration::from_secs(1), r).await;
    }
    for line in report(program, args, &request.id, &rules) {
        out.line(line);
    }
    let kept = rules
        .iter()
        .all(|r| matches!(r.verdict, Verdict::Kept(_) | Verdict::NotApplicable(_)));
    Ok(if kept { Exit::Ok } else { Exit::Differences })
}

/// Follows the job until its record ends at this stage (with a table), or a line of the
/// worker names it (without): whether it was worked, whether the worker's lines named it,
/// and its record as it ended here.
async fn follow(
    clients: &Clients,
    table: Option<(&str, u32)>,
    (id, wait): (&str, Duration),
    si: u64,
    lines: &Lines,
    child: &mut tokio::process::Child,
) -> Result<(Rule, Rule, Option<Record>)> {
    const WORKS: &str = "works a job sent as a message, keeping its record";
    const NAMES: &str = "names the job in a line of its output (job=\"ID\")";
    let started = Instant::now();
    let mut ended: Option<(Verdict, Record)> = None;
    let mut last: Option<Record> = None;
    let exited = loop {
        if let Some(status) = child.try_wait().ok().flatten() {
            break Some(status);
        }
        let named = named_at(lines, id);
        match table {
            Some((table, _)) => {
                let job = crate::jobs::table::job(
                    &clients.dynamodb,
                    table,
                    id,
                    crate::jobs::MESSAGE_UPLOAD,
                )
                .await?;
                if let Some(v) = job.as_ref().and_then(|j| ended_here(j, si)) {
                    ended = job.clone().map(|j| (v, j));
                    break None;
                }
                last = job;
                let queued = last.as_ref().is_none_or(|j| j.state == "queued");
                if queued && named.is_some_and(|at| at.elapsed() > STARTED_WITHIN) {
                    break None;
                }
            }
            None if named.is_some() => break None,
            None => {}
        }
        if started.elapsed() > wait {
            break None;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    // A line may come just after the record's last write.
    let deadline = Instant::now() + LINE_AFTER_RECORD;
    while named_at(lines, id).is_none() && Instant::now() < deadline && exited.is_none() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let named = named_at(lines, id).is_some();
    let gone = exited.map(|s| format!("the worker exited ({s}) before the job ended"));
    let worked = match (&ended, table, &gone) {
        (Some((v, _)), _, _) => v.clone(),
        (None, None, _) => {
            Verdict::NotApplicable("without jobs: no record says whether it was done".to_string())
        }
        (None, Some(_), Some(g)) => Verdict::Broken(g.clone()),
        (None, Some(_), None) => {
            let state = last.as_ref().map_or("no record", |j| j.state.as_str());
            Verdict::Broken(match named {
                true => format!(
                    "the worker's lines named the job, but its record still says {state}: a worker starts a job in the table before any work"
                ),
                false => format!("its record says {state} after {} s", wait.as_secs()),
            })
        }
    };
    // Nothing is left to run the job later: one that failed here or never ended is cancelled
    // when it waits in its queue (a worker then deletes its message unrun), and the report
    // says so. One being processed is left as it is.
    let worked = match (worked, table) {
        (Verdict::Broken(why), Some((table, retention))) => {
            let cancelled = crate::jobs::table::cancel(
                &clients.dynamodb,
                table,
                (id, crate::jobs::MESSAGE_UPLOAD),
                SystemTime::now(),
                retention,
            )
            .await
            .unwrap_or(false);
            Verdict::Broken(match cancelled {
                true => format!("{why}; the check cancelled it"),
                false => why,
            })
        }
        (worked, _) => worked,
    };
    let names = match (named, &ended, &gone) {
        (true, _, _) => Verdict::Kept(format!("job={}", serde_json::json!(id))),
        (false, Some((_, job)), _) => Verdict::Broken(format!(
            "no line of this worker named it{}",
            match &job.worker {
                Some(w) => format!(
                    " (its record names the worker {w}: if the fleet's own workers took it, stop them and run the check again)"
                ),
                None => String::new(),
            }
        )),
        (false, None, Some(g)) => Verdict::Broken(g.clone()),
        (false, None, None) => Verdict::Broken(format!(
            "no line of this worker named it in {} s",
            wait.as_secs()
        )),
    };
    let rule = |rule, verdict| Rule { rule, verdict };
    Ok((
        rule(WORKS, worked),
        rule(NAMES, names),
        ended.map(|(_, j)| j),
    ))
}

/// The rule [`duplicate`] checks.
const DUPLICATE: &str = "does not run a done job again";

/// Where the same message goes again: the job table, the stage's queue, whether it is FIFO,
/// and the stage's index.
struct Probe<'a> {
    table: &'a str,
    queue_url: &'a str,
    fifo: bool,
    si: u64,
}

/// Sends the job's message again, as SQS may (at least once): a worker that follows the
/// protocol counts it a duplicate and deletes it unrun, the record otherwise unchanged.
async fn duplicate(
    clients: &Clients,
    probe: &Probe<'_>,
    request: &Request,
    before: &Record,
    child: &mut tokio::process::Child,
) -> Result<Rule> {
    let rule = |verdict| {
        Ok(Rule {
            rule: DUPLICATE,
            verdict,
        })
    };
    let attributes = [(
        crate::submit::JOB_ID_ATTRIBUTE.to_string(),
        request.id.clone(),
    )];
    // On a FIFO queue, an id of its own: SQS delivers no second message of one id within 5
    // minutes.
    let again = format!("{}#again", request.id);
    crate::aws::send_message(
        &clients.sqs,
        probe.queue_url,
        &request.body,
        &attributes,
        crate::aws::QueueOrdering {
            group: request.group.as_deref(),
            deduplication: probe.fifo.then_some(again.as_str()),
        },
    )
    .await?;
    let (table, si) = (probe.table, probe.si);
    let started = Instant::now();
    let counted = before.duplicates.unwrap_or(0);
    loop {
        let job = crate::jobs::table::job(
            &clients.dynamodb,
            table,
            &request.id,
            crate::jobs::MESSAGE_UPLOAD,
        )
        .await?;
        let Some(job) = job else {
            return rule(Verdict::NotChecked("the job's record is gone".into()));
        };
        let at = job.stage_index.unwrap_or(0);
        if job.seq != before.seq && at <= si {
            return rule(Verdict::Broken(format!(
                "the same message again changed the job's record here (state {}, attempts {}): a start whose condition fails on a done job is a duplicate, deleted unrun",
                job.state,
                job.attempts.unwrap_or(0)
            )));
        }
        if job.duplicates.unwrap_or(0) > counted {
            return rule(Verdict::Kept(
                "the same message again was counted a duplicate, the record otherwise unchanged"
                    .into(),
            ));
        }
        if let Some(status) = child.try_wait().ok().flatten() {
            return rule(Verdict::Broken(format!(
                "the worker exited ({status}) before it took the same message again"
            )));
        }
        if started.elapsed() > DUPLICATE_WAIT {
            return rule(Verdict::Broken(format!(
                "the same message again was not counted a duplicate in {} s (duplicates {counted})",
                DUPLICATE_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Stops the worker as the fleet does (SIGTERM) and says whether it exited within the grace
/// of its kind, by its own hand: a worker ended by the signal's default action drops the
/// message it holds, which then waits out its visibility timeout.
async fn stopped(child: &mut tokio::process::Child, grace: u64) -> Rule {
    const RULE: &str = "stops on SIGTERM within its grace";
    let rule = |verdict| Rule {
        rule: RULE,
        verdict,
    };
    if let Some(status) = child.try_wait().ok().flatten() {
        return rule(Verdict::Broken(format!(
            "the worker exited ({status}) before it was stopped"
        )));
    }
    let asked = Instant::now();
    signal(child, "TERM").await;
    let waited = tokio::time::timeout(Duration::from_secs(grace), child.wait()).await;
    let seconds = asked.elapsed().as_secs_f64();
    match waited {
        Ok(Ok(status)) => {
            #[cfg(unix)]
            {
                use std::os::unix::process::ExitStatusExt;
                if status.signal() == Some(15) {
                    return rule(Verdict::Broken(
                        "SIGTERM ended it (no handler): a message in hand would wait out its visibility timeout; finish or release it (visibility 0), then exit".to_string(),
                    ));
                }
            }
            rule(Verdict::Kept(format!(
                "exited ({status}) {seconds:.1} s after SIGTERM (grace {grace} s)"
            )))
        }
        Ok(Err(e)) => rule(Verdict::NotChecked(format!("waiting for it: {e}"))),
        Err(_) => {
            stop(child, 0).await;
            rule(Verdict::Broken(format!(
                "still running {grace} s after SIGTERM: the fleet would kill it (SIGKILL)"
            )))
        }
    }
}

/// Ends the worker: SIGINT, as dev passes Ctrl-C on, then SIGKILL after `grace` seconds.
async fn stop(child: &mut tokio::process::Child, grace: u64) {
    signal(child, "INT").await;
    if tokio::time::timeout(Duration::from_secs(grace), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// The report's lines: what was checked, each rule's verdict, and what the check cannot see.
pub(super) fn report(program: &str, args: &[String], id: &str, rules: &[Rule]) -> Vec<String> {
    let shown = std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(crate::output::hint::quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut lines = vec![format!(
        "check of `{shown}` against the worker protocol (docs/workers.md), with the job {}:",
        serde_json::json!(id)
    )];
    for r in rules {
        let (word, why) = match &r.verdict {
            Verdict::Kept(w) => ("ok", w),
            Verdict::Broken(w) => ("FAILED", w),
            Verdict::NotChecked(w) => ("not checked", w),
            Verdict::NotApplicable(w) => ("-", w),
        };
        lines.push(format!("  {word:<11}  {}: {why}", r.rule));
    }
    lines.push(
        "not seen from outside, so not checked: a message deleted after success (never before), visibility extended for a long job, failures and dead letters, a pipeline's hand-off in objects".to_string(),
    );
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: &str, stage_index: u64) -> Record {
        Record {
            key: "dev-check-1".into(),
            upload: "job".into(),
            state: state.into(),
            stage: Some("second".into()),
            stage_index: Some(stage_index),
            attempts: Some(1),
            seq: Some(3),
            worker: None,
            tenant: None,
            lane: None,
            uploaded_at: None,
            queued_at: None,
            received_at: None,
            finished_at: None,
            output: None,
            error: Some("ValueError('no such order')".into()),
            duplicates: None,
            updated_at: None,
            expires_at: None,
            history: Vec::new(),
        }
    }

    /// A line names the job as `job=` and its id as a JSON string, wherever it is in the line;
    /// a prefix of the id, another id or an unquoted id does not.
    #[test]
    fn a_line_names_the_job_as_a_json_string_after_job_equals() {
        let id = "order 7 \"rush\"";
        let named = format!("msg=1 job={} outcome=processed", serde_json::json!(id));
        assert!(names_job(&named, id));
        assert!(names_job(
            &format!("x=1 job=\"a\" job={}", serde_json::json!(id)),
            id
        ));
        assert!(!names_job(&named, "order 7"));
        assert!(!names_job("msg=1 job=order7 outcome=processed", "order7"));
        assert!(!names_job("msg=1 job=\"order7", "order7"));
        assert!(!names_job("processing order7", "order7"));
    }

    /// A job ends at a stage done, failed (or retrying: an attempt failed) or moved on to a
    /// later stage; queued or processing, it has not.
    #[test]
    fn the_job_ends_here_done_failed_or_moved_on() {
        assert!(matches!(
            ended_here(&job("done", 0), 0),
            Some(Verdict::Kept(_))
        ));
        assert!(
            matches!(ended_here(&job("queued", 1), 0), Some(Verdict::Kept(w)) if w.contains("stage second"))
        );
        for failed in ["failed", "retrying"] {
            let Some(Verdict::Broken(why)) = ended_here(&job(failed, 0), 0) else {
                panic!("{failed}");
            };
            assert_eq!(why, "the job failed: ValueError: no such order");
        }
        assert!(matches!(
            ended_here(&job("cancelled", 0), 0),
            Some(Verdict::NotChecked(_))
        ));
        assert_eq!(ended_here(&job("queued", 0), 0), None);
        assert_eq!(ended_here(&job("processing", 0), 0), None);
        // A record of an earlier stage is not this stage's end.
        assert_eq!(ended_here(&job("done", 0), 1), None);
    }

    /// The report names the command, the job and each rule with its verdict, and says what it
    /// could not see.
    #[test]
    fn the_report_says_each_rule_and_what_was_not_seen() {
        let rules = [
            Rule {
                rule: "works a job sent as a message",
                verdict: Verdict::Kept("its record says done after 1 attempt".into()),
            },
            Rule {
                rule: "stops on SIGTERM within its grace",
                verdict: Verdict::Broken("still running 90 s after SIGTERM".into()),
            },
            Rule {
                rule: DUPLICATE,
                verdict: Verdict::NotApplicable("without jobs:".into()),
            },
        ];
        let lines = report("python3", &["worker.py".into()], "dev-check-1", &rules);
        assert_eq!(
            lines[..4],
            [
                "check of `python3 worker.py` against the worker protocol (docs/workers.md), with the job \"dev-check-1\":",
                "  ok           works a job sent as a message: its record says done after 1 attempt",
                "  FAILED       stops on SIGTERM within its grace: still running 90 s after SIGTERM",
                "  -            does not run a done job again: without jobs:",
            ]
        );
        assert!(lines[4].starts_with("not seen from outside, so not checked:"));
    }

    /// The check's job: the file's text under an id of its own; on a FIFO stage, in a group;
    /// a file that cannot be read, or an empty body, refused before anything is sent.
    #[test]
    fn the_checks_job_is_the_files_body_under_an_id_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let body = dir.path().join("job.json");
        std::fs::write(&body, r#"{"order": 7}"#).unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let parse = |queue: &str| {
            crate::config::parse(
                root.join("stacks/we.yaml"),
                format!("region: eu-west-1\nlab: true\n{queue}workers:\n  min: 1\n  max: 1\n  public_ip: true\njobs: {{}}\n"),
            )
            .unwrap()
            .into_only()
        };
        let env = parse("");
        let minute = Duration::from_secs(60);
        let a = request(env.stages()[0], &body, minute).unwrap();
        let b = request(env.stages()[0], &body, minute).unwrap();
        assert_eq!(a.wait, minute);
        assert_eq!(a.request.wait, None, "followed by the check, not by submit");
        let (a, b) = (a.request, b.request);
        assert_eq!(a.body, r#"{"order": 7}"#);
        assert!(
            a.id.starts_with("dev-check-") && a.id != b.id,
            "{} {}",
            a.id,
            b.id
        );
        assert_eq!(a.group, None);
        let fifo = parse("queue:\n  fifo: true\nsources:\n  uploads: false\n  messages: {}\n");
        assert_eq!(
            request(fifo.stages()[0], &body, minute)
                .unwrap()
                .request
                .group
                .as_deref(),
            Some("dev-check")
        );
        assert!(request(env.stages()[0], &dir.path().join("none.json"), minute).is_err());
        std::fs::write(&body, "").unwrap();
        assert!(request(env.stages()[0], &body, minute).is_err());
    }
}
