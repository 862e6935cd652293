//! Every command qfleet prints as a hint runs as printed (issue 36): the hints of real output
//! on the offline paths are extracted and run, from the same directory, through the CLI's
//! parser and target resolution (and, being offline, the command itself): none may end in a
//! usage or input error (exit 2), whether the environment was named with `--stacks-dir` or by
//! its stack file's path. A hint is read as a person pastes it (issue 85): split into words as
//! a POSIX shell splits them (quotes, escapes), parsed whole by the CLI's definitions, and on
//! AWS's paths run through bash itself ([`run_in_bash`]).

use crate::common::*;
use clap::CommandFactory;
use std::path::Path;

/// The `` `qfleet …` `` spans of `text`, each split into its words as a POSIX shell splits
/// them (`qfleet` left out); a span a shell cannot split (an unclosed quote) fails the test.
pub fn hints(text: &str) -> Vec<Vec<String>> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|h| h.starts_with("qfleet "))
        .map(|h| {
            let words = shlex::split(h)
                .unwrap_or_else(|| panic!("`{h}` is not words a shell can split, in: {text}"));
            words.into_iter().skip(1).collect()
        })
        .collect()
}

/// The hint parses whole with the CLI's definitions: every flag known, every required
/// argument there, each value one the flag takes.
pub fn parses(hint: &[String]) {
    let words = std::iter::once("qfleet").chain(hint.iter().map(String::as_str));
    if let Err(e) = qfleet::cli::Cli::command().try_get_matches_from(words) {
        panic!("`qfleet {}` does not parse: {e}", hint.join(" "));
    }
}

/// The printed hint `qfleet …`, run by bash as a person pastes it (its quotes are bash's to
/// read), from `cwd`, with `qfleet` this build on moto.
pub fn run_in_bash(printed: &str, cwd: impl AsRef<Path>) -> std::process::Output {
    run_in_bash_with(printed, cwd, &[])
}

/// [`run_in_bash`] in a shell that exports `vars` too (a person's own settings).
pub fn run_in_bash_with(
    printed: &str,
    cwd: impl AsRef<Path>,
    vars: &[(&str, &str)],
) -> std::process::Output {
    assert!(printed.starts_with("qfleet "), "{printed}");
    let bin = env!("CARGO_BIN_EXE_qfleet");
    let script = format!("qfleet() {{ '{bin}' \"$@\"; }}\n{printed}\n");
    run(std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(cwd)
        .envs(vars.iter().copied())
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-1")
        .env_remove("AWS_PROFILE")
        .env_remove("QFLEET_OUTPUT")
        .env_remove("QFLEET_STACKS_DIR")
        .env("CI", "true"))
}

/// The `` `qfleet …` `` spans of `text` as printed (for [`run_in_bash`]).
pub fn printed(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|h| h.starts_with("qfleet "))
        .map(str::to_string)
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
            parses(&hint);
            ran_as_printed(&hint, &run_in(dir.path(), &hint));
            ran += 1;
        }
    }
    assert!(ran >= 2);
}

/// The harness reads a hint as a shell does: a quoted job id is one word, an unquoted one is
/// not, and a command the CLI cannot parse whole is caught.
#[test]
fn a_hint_is_split_as_a_shell_splits_it_and_parsed_whole() {
    let text = "run `qfleet dlq shop --stage photos redrive --job 'order 7 (rush)'` then `qfleet jobs shop -- -7`";
    let found = hints(text);
    assert_eq!(
        found[0],
        [
            "dlq",
            "shop",
            "--stage",
            "photos",
            "redrive",
            "--job",
            "order 7 (rush)"
        ]
    );
    assert_eq!(found[1], ["jobs", "shop", "--", "-7"]);
    for h in &found {
        parses(h);
    }
    let unquoted = hints("`qfleet jobs shop order 7`");
    assert!(
        std::panic::catch_unwind(|| parses(&unquoted[0])).is_err(),
        "three words where one was meant"
    );
    assert!(std::panic::catch_unwind(|| hints("`qfleet jobs shop 'order`")).is_err());
}
