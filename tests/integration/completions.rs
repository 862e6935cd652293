//! Shell completion as a shell runs it: `qfleet completions SHELL` prints a script that calls
//! qfleet back (`COMPLETE=bash qfleet -- WORDS`), and ENV arguments complete to the
//! environment names of the stacks directory, copies included.

use crate::common::*;
use std::path::Path;

/// A stacks directory: a classroom file with 12 copies, a production file, a broken file.
fn stacks() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("lab.yaml"),
        "region: eu-west-1\nlab: true\ncopies: 12\n",
    )
    .unwrap();
    std::fs::write(d.join("prod.yaml"), "region: eu-west-1\n").unwrap();
    std::fs::write(d.join("broken.yaml"), "region: [\n").unwrap();
    dir
}

/// What completing the last of `words` offers, as bash's completion function asks it.
fn complete(words: &[&str], stacks_dir_env: Option<&Path>) -> Vec<String> {
    let mut c = qfleet();
    c.env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .args(words);
    if let Some(d) = stacks_dir_env {
        c.env("QFLEET_STACKS_DIR", d);
    }
    let o = run(&mut c);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o).lines().map(str::to_string).collect()
}

fn lab_and_copies() -> Vec<String> {
    let mut names = vec!["lab".to_string()];
    names.extend((1..=12).map(|i| format!("lab-{i:02}")));
    names
}

#[test]
fn env_arguments_complete_to_the_names_of_the_stacks_directory() {
    let dir = stacks();
    let d = dir.path().to_str().unwrap();
    assert_eq!(
        complete(&["qfleet", "deploy", "--stacks-dir", d, "la"], None),
        lab_and_copies()
    );
    // QFLEET_STACKS_DIR, the second ENV of a command that takes several.
    assert_eq!(
        complete(&["qfleet", "status", "prod", "lab-1"], Some(dir.path())),
        ["lab-10", "lab-11", "lab-12"]
    );
    let flag = format!("--stacks-dir={d}");
    assert_eq!(complete(&["qfleet", "render", &flag, "p"], None), ["prod"]);
    // Every name, the broken file's too (completion does not validate); an empty word is
    // offered the flags as well.
    let mut all = complete(&["qfleet", "teardown", ""], Some(dir.path()));
    assert!(all.contains(&"--yes".to_string()), "{all:?}");
    all.retain(|w| !w.starts_with('-'));
    assert_eq!(all.len(), 15, "{all:?}");
    assert_eq!((all[0].as_str(), all[14].as_str()), ("broken", "prod"));
    // Without a flag or variable: the repository's own stacks/.
    let own = complete(&["qfleet", "validate", ""], None);
    assert!(
        own.contains(&"lab".to_string()) && own.contains(&"prod".to_string()),
        "{own:?}"
    );
}

#[test]
fn commands_flags_and_paths_still_complete() {
    assert_eq!(complete(&["qfleet", "dep"], None), ["deploy"]);
    assert!(complete(&["qfleet", "deploy", "lab", "--ye"], None).contains(&"--yes".to_string()));
    // A path to a stack file once the word holds a `/`.
    let paths = complete(&["qfleet", "validate", "stacks/l"], None);
    assert_eq!(paths, ["stacks/lab.yaml"]);
}

#[test]
fn the_bash_script_completes_environment_names_in_bash() {
    let dir = stacks();
    let script = r#"
eval "$("$QFLEET" completions bash)"
complete -p qfleet
COMP_WORDS=(qfleet plan lab-0)
COMP_CWORD=2
COMP_LINE="qfleet plan lab-0"
COMP_POINT=${#COMP_LINE}
COMP_TYPE=9
_clap_complete_qfleet qfleet lab-0 plan
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let o = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script])
        .env("QFLEET", env!("CARGO_BIN_EXE_qfleet"))
        .env("QFLEET_STACKS_DIR", dir.path())
        .env_remove("COMPLETE")
        .output()
        .expect("bash runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    assert!(
        lines
            .next()
            .unwrap_or("")
            .contains("-F _clap_complete_qfleet qfleet"),
        "{out}"
    );
    let offered: Vec<&str> = lines.collect();
    let expected: Vec<String> = (1..=9).map(|i| format!("lab-{i:02}")).collect();
    assert_eq!(offered, expected);
}

#[test]
fn every_shell_gets_a_script_that_calls_qfleet_back() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run(qfleet().args(["completions", shell]));
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        assert!(
            script.contains("COMPLETE") && script.contains(env!("CARGO_BIN_EXE_qfleet")),
            "{shell}: {script}"
        );
    }
}

#[test]
fn without_the_variable_qfleet_runs_as_usual() {
    for value in [None, Some(""), Some("0")] {
        let mut c = qfleet();
        c.args(["validate", "examples/classroom.yaml"]);
        match value {
            Some(v) => c.env("COMPLETE", v),
            None => c.env_remove("COMPLETE"),
        };
        let o = run(&mut c);
        assert_eq!(o.status.code(), Some(0), "{value:?}: {}", stderr(&o));
        // The classroom file's copies, not completion candidates.
        assert!(stdout(&o).contains("class-01"), "{}", stdout(&o));
    }
}
