use super::*;

fn event(ms: i64, stream: &str, message: &str, id: &str) -> Event {
    Event {
        time_ms: ms,
        stream: stream.into(),
        message: message.into(),
        id: id.into(),
    }
}

#[test]
fn an_ec2_line_names_the_instance_of_its_stream_and_the_bootstrap_stream_too() {
    let mut r = Reader::new(WorkerKind::Ec2, vec![]);
    let lines = r.lines(vec![
        event(1_000, "i-0abc", "outcome=processed keys=1", "1"),
        event(2_000, "i-0abc/bootstrap", "Installed: python3", "2"),
    ]);
    assert_eq!(lines[0].instance.as_deref(), Some("i-0abc"));
    assert_eq!(lines[1].instance.as_deref(), Some("i-0abc"));
    assert_eq!(lines[1].stream, "i-0abc/bootstrap");
    assert_eq!(lines[0].time, "1970-01-01T00:00:01Z");
    assert!(lines.iter().all(|l| l.request.is_none()));
}

/// awslogs on Fargate names a task's stream PREFIX/CONTAINER/TASK-ID: the line names the task.
#[test]
fn a_fargate_line_names_the_task_of_its_stream() {
    let mut r = Reader::new(WorkerKind::Fargate, vec![]);
    let lines = r.lines(vec![event(
        1_000,
        "worker/worker/4f1c0e2b9d8a4e6f8a1b2c3d4e5f6a7b",
        "outcome=processed keys=1",
        "1",
    )]);
    assert_eq!(
        lines[0].instance.as_deref(),
        Some("4f1c0e2b9d8a4e6f8a1b2c3d4e5f6a7b")
    );
    assert_eq!(
        pattern(WorkerKind::Fargate, &["x".into()]).as_deref(),
        Some("\"x\"")
    );
}

#[test]
fn a_function_line_belongs_to_the_invocation_its_stream_started_last() {
    let mut r = Reader::new(WorkerKind::Lambda, vec![]);
    let a = "2026/11/23/[$LATEST]aaaa";
    let b = "2026/11/23/[$LATEST]bbbb";
    let lines = r.lines(vec![
        event(1, a, "START RequestId: r-1 Version: $LATEST", "1"),
        event(2, b, "START RequestId: r-2 Version: $LATEST", "2"),
        event(3, a, "processed uploads/a.txt", "3"),
        event(4, b, "processed uploads/b.txt", "4"),
        event(5, a, "END RequestId: r-1", "5"),
        event(6, a, "REPORT RequestId: r-1\tDuration: 3.1 ms", "6"),
        event(7, a, "INIT_START Runtime Version: python:3.12", "7"),
    ]);
    let by: Vec<(&str, Option<&str>)> = lines
        .iter()
        .map(|l| (l.message.as_str(), l.request.as_deref()))
        .collect();
    assert_eq!(
        by,
        [
            ("START RequestId: r-1 Version: $LATEST", Some("r-1")),
            ("START RequestId: r-2 Version: $LATEST", Some("r-2")),
            ("processed uploads/a.txt", Some("r-1")),
            ("processed uploads/b.txt", Some("r-2")),
            ("END RequestId: r-1", Some("r-1")),
            ("REPORT RequestId: r-1\tDuration: 3.1 ms", Some("r-1")),
            // After END, a stream's lines belong to no invocation until the next START.
            ("INIT_START Runtime Version: python:3.12", None),
        ]
    );
}

#[test]
fn following_shows_each_event_once_across_overlapping_reads() {
    let mut r = Reader::new(WorkerKind::Ec2, vec![]);
    assert_eq!(r.lines(vec![event(1, "i-1", "one", "e1")]).len(), 1);
    let again = r.lines(vec![
        event(1, "i-1", "one", "e1"),
        event(2, "i-1", "two", "e2"),
    ]);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message, "two");
}

#[test]
fn a_filter_keeps_matching_lines_but_still_learns_the_invocation_from_start_lines() {
    let mut r = Reader::new(WorkerKind::Lambda, vec!["error".into()]);
    let s = "2026/11/23/[$LATEST]aaaa";
    let lines = r.lines(vec![
        event(1, s, "START RequestId: r-9 Version: $LATEST", "1"),
        event(2, s, "an error in uploads/x.txt", "2"),
        event(3, s, "END RequestId: r-9", "3"),
    ]);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].message, "an error in uploads/x.txt");
    assert_eq!(lines[0].request.as_deref(), Some("r-9"));
}

#[test]
fn the_filter_pattern_quotes_the_text_and_lets_a_functions_start_and_end_lines_through() {
    assert_eq!(pattern(WorkerKind::Ec2, &[]), None);
    assert_eq!(
        pattern(WorkerKind::Ec2, &[r#"say "hi" \ now"#.into()]).as_deref(),
        Some(r#""say \"hi\" \\ now""#)
    );
    assert_eq!(
        pattern(WorkerKind::Lambda, &["timeout".into()]).as_deref(),
        Some(r#"?"START RequestId" ?"END RequestId" ?"timeout""#)
    );
}

#[test]
fn several_terms_match_any_of_them_in_the_pattern_and_in_the_lines_kept() {
    let terms = vec![r#"job="uploads/a.jpg""#.to_string(), "msg=m-1".to_string()];
    assert_eq!(
        pattern(WorkerKind::Ec2, &terms).as_deref(),
        Some(r#"?"job=\"uploads/a.jpg\"" ?"msg=m-1""#)
    );
    assert_eq!(
        pattern(WorkerKind::Lambda, &terms).as_deref(),
        Some(r#"?"START RequestId" ?"END RequestId" ?"job=\"uploads/a.jpg\"" ?"msg=m-1""#)
    );
    let mut r = Reader::new(WorkerKind::Ec2, terms);
    let s = "i-1/worker";
    let lines = r.lines(vec![
        event(
            1,
            s,
            r#"msg=m-0 job="uploads/a.jpg" outcome=processed"#,
            "1",
        ),
        event(2, s, "msg=m-1 outcome=released", "2"),
        event(
            3,
            s,
            r#"msg=m-2 job="uploads/a.jpg.bak" outcome=processed"#,
            "3",
        ),
    ]);
    let kept: Vec<&str> = lines.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        kept,
        [
            r#"msg=m-0 job="uploads/a.jpg" outcome=processed"#,
            "msg=m-1 outcome=released"
        ]
    );
}

/// The same cases as the reference worker's test of its `log_line`
/// (crates/qfleet-runtime/python/test_qfleet_worker.py): the term is the line's text exactly.
#[test]
fn a_jobs_term_is_its_id_as_the_workers_log_line_writes_it() {
    assert_eq!(
        super::job_term(r#"uploads/my "big" photo.jpg"#),
        r#"job="uploads/my \"big\" photo.jpg""#
    );
    assert_eq!(super::job_term("order-7 ü"), r#"job="order-7 ü""#);
    assert_eq!(super::job_term("a\\b\n"), r#"job="a\\b\n""#);
}

/// A job id of 1,024 bytes makes a pattern CloudWatch Logs refuses (over 1,024 characters):
/// none is sent, and the reader keeps the lines that hold a term.
#[test]
fn a_pattern_longer_than_cloudwatch_takes_is_not_sent() {
    let short = vec![super::job_term("uploads/a.jpg")];
    assert!(super::server_pattern(WorkerKind::Ec2, &short).is_some());
    let long = vec![super::job_term(&"k".repeat(1024))];
    assert_eq!(super::server_pattern(WorkerKind::Ec2, &long), None);
    let mut r = Reader::new(WorkerKind::Ec2, long.clone());
    let line = format!("msg=m {} outcome=processed", long[0]);
    let kept = r.lines(vec![
        event(1, "i-1/worker", &line, "1"),
        event(2, "i-1/worker", "msg=n outcome=processed", "2"),
    ]);
    assert_eq!(kept.len(), 1);
}
