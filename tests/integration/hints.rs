//! Every command qfleet prints as a hint runs as printed (issue 36): the hints of real output
//! on the offline paths are extracted and run, from the same directory, through the CLI's
//! parser and target resolution (and, being offline, the command itself): none may end in a
//! usage or input error (exit 2), whether the environment was named with `--stacks-dir` or by
//! its stack file's path.

use crate::common::*;
use std::path::Path;

/// The `` `qfleet …` `` spans of `text`, each split into its words.
pub fn hints(text: &str) -> Vec<Vec<String>> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|h| h.starts_with("qfleet "))
        .map(|h| h.split_whitespace().skip(1).map(str::to_string).collect())
        .collect()
}

/// A hint ran as printed: it did not end in a usage or input error (exit 2), such as a flag
/// the CLI does not know or an environment it cannot find.
pub fn ran_as_printed(hint: &[String], o: &std::process::Output) {
    assert_ne!(
        o.status.code(),
        Some(2),
        "`qfleet {}` as printed: {}",
        hint.join(" "),
        stderr(o)
    );
}

fn run_in(dir: &Path, args: &[String]) -> std::process::Output {
    run(qfleet()
        .current_dir(dir)
        .env_remove("QFLEET_STACKS_DIR")
        .args(args))
}

#[test]
fn hints_on_the_offline_paths_run_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("class")).unwrap();
    // A goal too close to the processing time: validate advises `qfleet simulate ENV …`.
    std::fs::write(
        dir.path().join("class/classroom.yaml"),
        "environment: room\nregion: eu-west-1\nlab: true\ncopies: 3\nworkers:\n  min: 1\n  max: 2\n  public_ip: true\nscaling:\n  max_latency_seconds: 2\n  seconds_per_message: 1.9\n",
    )
    .unwrap();
    let ways: [&[&str]; 2] = [
        &["--stacks-dir", "class", "validate", "room-02"],
        &["validate", "class/classroom.yaml"],
    ];
    let mut ran = 0;
    for way in ways {
        let args: Vec<String> = way.iter().map(|s| s.to_string()).collect();
        let o = run_in(dir.path(), &args);
        let text = format!("{}{}", stdout(&o), stderr(&o));
        assert_eq!(o.status.code(), Some(0), "{text}");
        let found = hints(&text);
        assert!(!found.is_empty(), "no hint in: {text}");
        for hint in found {
            assert!(
                hint.windows(2).any(|w| w == ["--stacks-dir", "class"]),
                "{hint:?} would not find the environment from here"
            );
            ran_as_printed(&hint, &run_in(dir.path(), &hint));
            ran += 1;
        }
    }
    assert!(ran >= 2);
}
