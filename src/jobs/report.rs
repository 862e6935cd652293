//! `qfleet jobs`'s result: one upload key's jobs with their history, or a list of recent jobs;
//! a table for people, one document for `--output json`.

use super::Found;
use super::table::Job;
use crate::error::{Exit, Result};
use crate::output::{Document, Environment, Output, Report};
use schemars::JsonSchema;
use serde::Serialize;

/// The jobs of one environment, or why they could not be read.
pub(crate) struct Jobs {
    pub environment: String,
    pub result: Result<Found>,
    /// How far back the list went (`1h`), for the text.
    pub since: String,
    /// The state the list was filtered by (`failed`), for the text.
    pub state: Option<String>,
}

/// The jobs found: one key's (each with its history) or the recent ones (without).
#[derive(Serialize, JsonSchema)]
struct Body<'a> {
    /// The job table read.
    table: Option<&'a str>,
    /// The upload key looked up, as stored (`null` for a list of recent jobs).
    key: Option<&'a str>,
    /// The jobs: of the key, oldest change first; of a list, the most recent change first.
    jobs: Option<&'a [Job]>,
    /// Jobs of the list left out by `--limit`.
    more: Option<usize>,
    /// `--cancel`: the uploads of the key whose jobs were cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelled: Option<&'a [String]>,
    /// A key's lookup: where each job's message is, in the order of `jobs`.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    whereabouts: &'a [super::Whereabouts],
}

/// The schema of `qfleet jobs`'s document.
#[cfg(test)]
pub(crate) fn schema() -> serde_json::Value {
    use crate::output::document_schema::{self as schema, Environments};
    schema::document::<Body<'static>, ()>("jobs", "qfleet jobs --output json", Environments::One)
}

impl Report for Jobs {
    fn exit_code(&self) -> Exit {
        self.result
            .as_ref()
            .map_or_else(crate::error::Error::exit_code, |_| Exit::Ok)
    }

    fn document(&self) -> Document<impl Serialize + '_, impl Serialize + '_> {
        let env = match &self.result {
            Ok(f) => Environment::ok(
                &self.environment,
                Body {
                    table: Some(&f.table),
                    key: f.key.as_deref(),
                    jobs: Some(&f.jobs),
                    more: Some(f.more),
                    cancelled: f.cancelled.as_deref(),
                    whereabouts: &f.whereabouts,
                },
            ),
            Err(e) => Environment::failed(
                &self.environment,
                e,
                Body {
                    table: None,
                    key: None,
                    jobs: None,
                    more: None,
                    cancelled: None,
                    whereabouts: &[],
                },
            ),
        };
        Document::new(self.exit_code(), vec![env])
    }

    fn text(&self, out: &Output) -> Result<()> {
        let f = match &self.result {
            Ok(f) => f,
            Err(e) => {
                out.note(format!(
                    "error: {}",
                    crate::output::words::of_env(&self.environment, &e.to_string())
                ));
                return Ok(());
            }
        };
        match &f.key {
            Some(_) => history_text(&self.environment, f, out),
            None => list_text(self, f, out),
        }
        for upload in f.cancelled.iter().flatten() {
            out.line(format!(
                "{}: cancelled job {} ({upload}): a worker that receives it skips it and deletes its message",
                self.environment,
                f.key.as_deref().unwrap_or_default()
            ));
        }
        Ok(())
    }
}

fn ago(t: Option<&str>) -> String {
    t.map(crate::output::ago).unwrap_or_default()
}

fn seconds(j: &Job) -> String {
    j.seconds().map(|s| format!("{s:.1} s")).unwrap_or_default()
}

/// Text at most `n` characters long (an error in a table cell).
fn short(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(n - 1).collect::<String>())
    }
}

fn list_text(r: &Jobs, f: &Found, out: &Output) {
    if f.jobs.is_empty() {
        let (which, others) = match &r.state {
            Some(state) => (
                format!("{state} "),
                format!(
                    " ({} in other states)",
                    crate::output::words::count(f.other_states as u64, "job", "jobs")
                ),
            ),
            None => (String::new(), String::new()),
        };
        out.line(format!(
            "{}: no {which}job changed in the last {}{others}",
            r.environment, r.since
        ));
        return;
    }
    // A tenant column only where a job shown has one (`queue.tenant`, or a group it was sent
    // with).
    let tenants = f.jobs.iter().any(|j| j.tenant.is_some());
    // A lane column only where a job shown came through a priority lane (`queue.priority`).
    let lanes = f.jobs.iter().any(|j| j.lane.is_some());
    let rows: Vec<Vec<String>> = f
        .jobs
        .iter()
        .map(|j| {
            let mut row = vec![
                j.key.clone(),
                j.state.clone(),
                j.stage.clone().unwrap_or_default(),
                j.attempts.map(|a| a.to_string()).unwrap_or_default(),
                ago(j.updated_at.as_deref()),
                seconds(j),
                short(
                    &super::plain_error(j.error.as_deref().unwrap_or_default()),
                    60,
                ),
            ];
            if tenants {
                row.insert(1, j.tenant.clone().unwrap_or_default());
            }
            if lanes {
                row.insert(1, j.lane.clone().unwrap_or_default());
            }
            row
        })
        .collect();
    let mut head = vec![
        "key", "state", "stage", "attempts", "changed", "took", "error",
    ];
    if tenants {
        head.insert(1, "tenant");
    }
    if lanes {
        head.insert(1, "lane");
    }
    out.line(crate::output::table(&head, rows));
    for (what, waiting) in [
        ("tenant", queued_by(&f.jobs, |j| j.tenant.as_deref())),
        ("lane", queued_by(&f.jobs, |j| j.lane.as_deref())),
    ] {
        if waiting.is_empty() {
            continue;
        }
        let each: Vec<String> = waiting
            .iter()
            .map(|(t, stage, n, oldest)| {
                let at = stage
                    .as_ref()
                    .map(|s| format!(" at {s}"))
                    .unwrap_or_default();
                match oldest {
                    Some(when) => format!("{t} {n}{at} (the oldest queued {})", ago(Some(when))),
                    None => format!("{t} {n}{at}"),
                }
            })
            .collect();
        out.line(format!(
            "queued by {what}, of the jobs shown: {}",
            each.join("; ")
        ));
    }
    if f.more > 0 {
        out.note(format!(
            "{} more in the last {} (--limit shows more; `qfleet jobs {} KEY` shows one job's history)",
            crate::output::words::count(f.more as u64, "job", "jobs"),
            r.since,
            r.environment
        ));
    }
}

/// The jobs still queued, by stage and tenant: each with its count and the earliest time one
/// of them was queued there (the change to `queued` is its record's last, `updated_at`; its
/// `queued_at` is the first stage's), those whose oldest job has waited longest first (a noisy
/// tenant's backlog beside the others'). The same by lane (`queue.priority`). Jobs without
/// one (`of` gives none) are not counted.
fn queued_by<'j>(
    jobs: &'j [Job],
    of: impl Fn(&'j Job) -> Option<&'j str>,
) -> Vec<(String, Option<String>, usize, Option<String>)> {
    type Key<'a> = (&'a str, Option<&'a str>);
    let mut by: std::collections::BTreeMap<Key, (usize, Option<&str>)> = Default::default();
    for j in jobs.iter().filter(|j| j.state == "queued") {
        let Some(t) = of(j) else {
            continue;
        };
        let e = by.entry((t, j.stage.as_deref())).or_default();
        e.0 += 1;
        // RFC 3339 times in UTC ("…Z", as the workers write them) order as text.
        if let Some(q) = j.updated_at.as_deref() {
            e.1 = Some(e.1.map_or(q, |o| o.min(q)));
        }
    }
    let mut out: Vec<(String, Option<String>, usize, Option<String>)> = by
        .into_iter()
        .map(|((t, st), (n, o))| {
            (
                t.to_string(),
                st.map(str::to_string),
                n,
                o.map(str::to_string),
            )
        })
        .collect();
    // The oldest first; one without a readable time last.
    out.sort_by(|a, b| match (&a.3, &b.3) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => (&a.0, &a.1).cmp(&(&b.0, &b.1)),
    });
    out
}

fn history_text(env: &str, f: &Found, out: &Output) {
    if f.jobs.is_empty() {
        let looked: Vec<String> = f.looked_for.iter().map(|k| format!("`{k}`")).collect();
        out.line(format!(
            "{env}: no job with id or upload key {} in the job table {}",
            looked.join(" or "),
            f.table
        ));
        return;
    }
    for (i, j) in f.jobs.iter().enumerate() {
        if i > 0 {
            out.line(String::new());
        }
        // How it came: an upload's version, or a message.
        let came = match j.upload.as_str() {
            super::MESSAGE_UPLOAD => "sent as a message".to_string(),
            upload => format!("upload {upload}"),
        };
        let mut head = format!("{} ({came}): {}", j.key, j.state);
        if let Some(s) = j.seconds() {
            head.push_str(&format!(" after {s:.1} s"));
        }
        if let Some(t) = &j.tenant {
            head.push_str(&format!(", tenant {t}"));
        }
        if let Some(l) = &j.lane {
            head.push_str(&format!(", {l} lane"));
        }
        if let Some(o) = &j.output {
            head.push_str(&format!(", output {o}"));
        }
        if let Some(d) = j.duplicates.filter(|d| *d > 0) {
            head.push_str(&format!(
                ", {} deleted unprocessed",
                crate::output::words::count(d, "duplicate", "duplicates")
            ));
        }
        out.line(head);
        let rows: Vec<Vec<String>> = j
            .history
            .iter()
            .map(|c| {
                vec![
                    c.at.clone(),
                    c.state.clone(),
                    c.stage.clone().unwrap_or_default(),
                    c.worker.clone().unwrap_or_default(),
                    c.attempt.map(|a| a.to_string()).unwrap_or_default(),
                    // Whole: the table wraps a long cell.
                    c.output
                        .clone()
                        .or_else(|| c.error.as_deref().map(super::plain_error))
                        .unwrap_or_default(),
                ]
            })
            .collect();
        out.line(crate::output::table(
            &[
                "at",
                "state",
                "stage",
                "worker",
                "attempt",
                "output or error",
            ],
            rows,
        ));
        if let Some(at) = next_attempt(j) {
            out.line(format!(
                "next attempt at {at}, when its message is visible again (queue.retry)"
            ));
        }
        if let Some(w) = f.whereabouts.get(i) {
            out.line(whereabouts_text(w, j));
        }
    }
}

/// Where a job's message is, in a line: what was looked at, what it showed, and what was not
/// looked at, with why.
fn whereabouts_text(w: &super::Whereabouts, j: &Job) -> String {
    let dlq = w
        .dead_letter_queue
        .as_deref()
        .unwrap_or("dead-letter queue");
    let held = match (j.state.as_str(), &j.worker) {
        ("processing", Some(worker)) => format!("its record says {worker} took it; "),
        _ => String::new(),
    };
    match w.place {
        "dead_letter_queue" => format!(
            "its message {} is in the dead-letter queue {dlq} (looked){}: `{}` sends it back",
            w.message.as_deref().unwrap_or_default(),
            match j.state.as_str() {
                "failed" => String::new(),
                state => format!(", though its record says {state}"),
            },
            w.redrive.as_deref().unwrap_or_default()
        ),
        "not_looked" => format!(
            "its message: {held}not in the dead-letter queue {dlq} (looked at every message); {}",
            w.why
                .as_deref()
                .unwrap_or("the job queue is not looked into")
        ),
        "not_found" => match &w.why {
            Some(why) => {
                format!("its message is not in the dead-letter queue {dlq} (looked): {why}")
            }
            None => format!(
                "its message is not in the dead-letter queue {dlq} (looked at every message): SQS moves it there at its next receive, or it was deleted (`qfleet submit` sends a job again)"
            ),
        },
        "unknown" => format!(
            "where its message is is not known: {held}{}",
            w.why.as_deref().unwrap_or("no reason given")
        ),
        _ => "it has ended: its worker deleted its message when it recorded it done (not looked)"
            .to_string(),
    }
}

/// When a retrying job's next attempt comes: its last failed attempt's `retry_at`, while the
/// job is still retrying.
fn next_attempt(j: &Job) -> Option<&str> {
    if j.state != "retrying" {
        return None;
    }
    let last = j.history.iter().rev().find(|c| c.state == "retrying")?;
    last.retry_at.as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: &str) -> Job {
        Job {
            key: "order 7 (rush)".into(),
            upload: super::super::MESSAGE_UPLOAD.into(),
            state: state.into(),
            stage: None,
            stage_index: None,
            attempts: Some(1),
            seq: Some(2),
            worker: Some("i-0abc".into()),
            tenant: None,
            lane: None,
            uploaded_at: None,
            queued_at: None,
            received_at: None,
            finished_at: None,
            output: None,
            error: None,
            duplicates: None,
            updated_at: None,
            expires_at: None,
            history: Vec::new(),
        }
    }

    fn at(place: &'static str) -> super::super::Whereabouts {
        super::super::Whereabouts {
            upload: "job".into(),
            place,
            dead_letter_queue: Some("qfleet-shop-dlq".into()),
            message: None,
            redrive: None,
            why: None,
        }
    }

    /// Issue 85: the line says what was looked at and what it showed; a job whose record says
    /// queued or processing is never said to wait in the job queue, which is not looked into.
    #[test]
    fn whereabouts_say_what_was_looked_at_and_never_guess() {
        let mut w = at("not_looked");
        w.why = Some(
            "not looked for in the job queue: reading a message there means receiving it".into(),
        );
        for state in ["queued", "retrying", "processing", "cancelled"] {
            let line = whereabouts_text(&w, &job(state));
            assert!(
                line.contains(
                    "not in the dead-letter queue qfleet-shop-dlq (looked at every message)"
                ),
                "{line}"
            );
            assert!(line.contains("not looked for in the job queue"), "{line}");
            assert!(!line.contains("waits in the job queue"), "{line}");
            assert_eq!(
                line.contains("i-0abc took it"),
                state == "processing",
                "{line}"
            );
        }
        let mut w = at("dead_letter_queue");
        w.message = Some("m-1".into());
        w.redrive = Some("qfleet dlq shop redrive --job 'order 7 (rush)'".into());
        let line = whereabouts_text(&w, &job("queued"));
        assert_eq!(
            line,
            "its message m-1 is in the dead-letter queue qfleet-shop-dlq (looked), though its record says queued: `qfleet dlq shop redrive --job 'order 7 (rush)'` sends it back"
        );
        let line = whereabouts_text(&w, &job("failed"));
        assert!(
            line.starts_with(
                "its message m-1 is in the dead-letter queue qfleet-shop-dlq (looked): `"
            ),
            "{line}"
        );
        // The command it prints runs as printed: one word for the id, parsed whole.
        let parsed = crate::cli::printed::parse_all(&line);
        match &parsed[..] {
            [cli] => match &cli.command {
                crate::cli::Command::Dlq(a) => assert!(
                    matches!(&a.action, crate::commands::dlq::DlqAction::Redrive { job: Some(j), .. } if j == "order 7 (rush)"),
                    "{line}"
                ),
                other => panic!("{other:?}"),
            },
            _ => panic!("one command in: {line}"),
        }
        let mut w = at("unknown");
        w.why = Some("the dead-letter queue could not be read (AccessDenied)".into());
        let line = whereabouts_text(&w, &job("queued"));
        assert_eq!(
            line,
            "where its message is is not known: the dead-letter queue could not be read (AccessDenied)"
        );
        let line = whereabouts_text(&at("none"), &job("done"));
        assert!(line.contains("(not looked)"), "{line}");
    }

    /// queue.retry: a retrying job says when its next attempt comes, from its last failed
    /// attempt; once it runs again or ends, nothing.
    /// Waiting per tenant: the queued jobs of each tenant at each stage, timed from their
    /// change to `queued` there (not the first stage's `queued_at`), the longest waiting
    /// first; other states and jobs without a tenant are not counted.
    #[test]
    fn queued_jobs_are_counted_by_tenant_and_stage_the_longest_waiting_first() {
        let at = |state: &str, tenant: Option<&str>, stage: Option<&str>, since: Option<&str>| {
            let mut j = job(state);
            j.tenant = tenant.map(str::to_string);
            j.stage = stage.map(str::to_string);
            j.queued_at = Some("2026-11-30T01:00:00.000Z".into());
            j.updated_at = since.map(str::to_string);
            j
        };
        let jobs = [
            at(
                "queued",
                Some("beta"),
                None,
                Some("2026-11-30T08:00:05.000Z"),
            ),
            at(
                "queued",
                Some("acme"),
                None,
                Some("2026-11-30T08:01:00.000Z"),
            ),
            at(
                "queued",
                Some("acme"),
                None,
                Some("2026-11-30T07:59:00.000Z"),
            ),
            at(
                "queued",
                Some("acme"),
                Some("thumb"),
                Some("2026-11-30T08:02:00.000Z"),
            ),
            at("done", Some("beta"), None, Some("2026-11-30T07:00:00.000Z")),
            at("queued", None, None, Some("2026-11-30T06:00:00.000Z")),
            at("queued", Some("gamma"), None, None),
        ];
        let s = |x: &str| Some(x.to_string());
        assert_eq!(
            queued_by(&jobs, |j| j.tenant.as_deref()),
            [
                ("acme".to_string(), None, 2, s("2026-11-30T07:59:00.000Z")),
                ("beta".to_string(), None, 1, s("2026-11-30T08:00:05.000Z")),
                (
                    "acme".to_string(),
                    s("thumb"),
                    1,
                    s("2026-11-30T08:02:00.000Z")
                ),
                ("gamma".to_string(), None, 1, None),
            ]
        );
        assert!(queued_by(&jobs[4..6], |j| j.tenant.as_deref()).is_empty());
    }

    #[test]
    fn a_retrying_job_says_when_its_next_attempt_comes() {
        let change = |state: &str, retry_at: Option<&str>| super::super::table::Change {
            state: state.into(),
            at: "2026-11-29T10:00:00.000Z".into(),
            stage: None,
            worker: Some("i-0abc".into()),
            attempt: Some(1),
            error: Some("boom".into()),
            output: None,
            message: None,
            retry_at: retry_at.map(String::from),
            timed_out: None,
        };
        let mut j = job("retrying");
        j.history = vec![
            change("retrying", Some("2026-11-29T10:00:01.000Z")),
            change("processing", None),
            change("retrying", Some("2026-11-29T10:00:02.000Z")),
        ];
        assert_eq!(next_attempt(&j), Some("2026-11-29T10:00:02.000Z"));
        j.history[2].retry_at = None; // a worker without queue.retry's record: not said
        assert_eq!(next_attempt(&j), None);
        j.history[2].retry_at = Some("2026-11-29T10:00:02.000Z".into());
        j.state = "processing".into();
        assert_eq!(next_attempt(&j), None);
    }
}
