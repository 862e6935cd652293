//! The trainer's path on LocalStack (issue 36): a class of 20 copies deployed from one stack
//! file that declares its environment's name, one student's copy addressed by that name
//! (`NAME-07`, as the deploy's hints print it), `send` to it, and the whole class torn down with
//! no flag at all: the students made no data, S3's test event in every fresh queue is not data,
//! and `send` removed what it created. LocalStack has no Auto Scaling: the fleet stacks deploy
//! as its fallback, as in the other LocalStack tests.

use crate::common::*;
use crate::localstack::qfleet_on_localstack;
use std::time::Instant;

const COPIES: usize = 20;

#[test]
fn a_class_of_twenty_is_deployed_addressed_by_name_sent_to_and_torn_down_without_flags() {
    let dir = tempfile::tempdir().unwrap();
    // The file's name is not the environment's, as in examples/classroom.yaml.
    let name = unique("cls");
    let file = dir.path().join("classroom.yaml");
    std::fs::write(
        &file,
        format!(
            "environment: {name}\nregion: eu-west-1\nlab: true\ncopies: {COPIES}\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\n"
        ),
    )
    .unwrap();
    let stacks_dir = dir.path().to_str().unwrap().to_string();
    let on_class = |args: &[&str]| {
        let mut c = qfleet_on_localstack();
        c.args(["--stacks-dir", &stacks_dir]).args(args);
        run(&mut c)
    };

    let started = Instant::now();
    let o = on_class(&["deploy", "classroom", "--yes", "-o", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // What the commands print, for the hints in it.
    let mut printed = format!("{}{}", stdout(&o), stderr(&o));
    let deployed = document(&o);
    assert_eq!(deployed["environments"].as_array().unwrap().len(), COPIES);
    let deploy_s = started.elapsed().as_secs_f64();

    // What could not be read (LocalStack has no Auto Scaling) is said once for the class, not
    // once per student: each copy's resource names differ only by the copy's name.
    let o = on_class(&["status", "classroom"]);
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    printed.push_str(&text);
    let fleet_notes = text
        .lines()
        .filter(|l| l.starts_with("not served by this endpoint:") && l.contains("fleet ("))
        .collect::<Vec<_>>();
    assert!(
        fleet_notes.len() == 1
            && fleet_notes
                .iter()
                .all(|l| l.contains(&format!("(for all {COPIES} environments)"))),
        "{text}"
    );

    // One student's copy, by the environment's own name.
    let student = format!("{name}-07");
    let o = on_class(&["outputs", &student, "-o", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = document(&o);
    assert_eq!(doc["environments"].as_array().unwrap().len(), 1);
    assert_eq!(doc["environments"][0]["environment"], student.as_str());

    let o = on_class(&[
        "send",
        &student,
        "--until",
        "queue",
        "--timeout",
        "60",
        "-o",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sent = document(&o);
    let cleanup = &sent["environments"][0]["journey"]["cleanup"];
    assert_eq!(cleanup["left"], serde_json::Value::Null, "{sent}");
    assert_eq!(cleanup["removed"].as_array().unwrap().len(), 2, "{sent}");
    printed.push_str(&stderr(&o));

    // Every hint printed on the way runs as printed: each parses with the CLI's own
    // definitions, and each that only reads runs here (none may end in exit 2, a usage or
    // input error such as an environment it cannot find).
    let found = crate::hints::hints(&printed);
    assert!(!found.is_empty(), "no hint in: {printed}");
    let reads = [
        "status", "outputs", "drift", "logs", "validate", "plan", "render", "simulate",
    ];
    let mut ran = 0;
    for hint in &found {
        let parsed = <qfleet::cli::Cli as clap::CommandFactory>::command().try_get_matches_from(
            std::iter::once("qfleet".to_string()).chain(hint.iter().cloned()),
        );
        let matches = match parsed {
            Ok(m) => m,
            Err(e) => panic!("`qfleet {}` does not parse: {e}", hint.join(" ")),
        };
        let only_reads = match matches.subcommand() {
            Some(("dlq", dlq)) => dlq.subcommand_name() == Some("list"),
            Some((command, _)) => reads.contains(&command),
            None => false,
        };
        if only_reads {
            crate::hints::ran_as_printed(hint, &run(qfleet_on_localstack().args(hint)));
            ran += 1;
        }
    }
    assert!(ran >= 1, "no reading hint among {found:?}");

    // The whole class, with no flag: nothing of theirs to lose.
    let started_teardown = Instant::now();
    let o = on_class(&["teardown", "classroom", "--yes", "-o", "json"]);
    let doc = document(&o);
    assert_eq!(o.status.code(), Some(0), "{}\n{doc}", stderr(&o));
    let envs = doc["environments"].as_array().unwrap();
    assert_eq!(envs.len(), COPIES);
    for e in envs {
        assert_eq!(e["ok"], true, "{e}");
        assert!(e["refusals"].as_array().unwrap().is_empty(), "{e}");
    }
    // No fresh queue held S3's test event: the subscriptions leave it out (issue 57).
    for e in envs {
        assert_eq!(e["data"]["queue_messages"], 0, "{e}");
    }
    eprintln!(
        "classroom on LocalStack: {COPIES} copies deployed in {deploy_s:.1} s, torn down in {:.1} s, {:.1} s in all",
        started_teardown.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
