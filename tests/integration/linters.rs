//! The linters over many templates: cfn-lint, each Guard rule set and checkov, each process
//! over many templates, as many processes at once as the machine has cores, the longest
//! first.
//!
//! What a linter passed is remembered under `target/` (never committed), by the template's
//! SHA-256 and the linter's identity: the tool's version and every package of its virtual
//! environment (for cfn-guard, its binary), its arguments, the rule set's text, the
//! configuration files and environment variables the tool reads. An unchanged template is
//! not linted again by an unchanged linter; anything else is. Only a pass is remembered (a
//! process with a finding, an error or output that cannot be read remembers nothing), and a
//! linter whose identity cannot be read remembers nothing either. `rm -r target/tmp/lint-passed`
//! forgets every verdict.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const SETUP: &str = "run the README's test command (scripts/test), which installs cfn-lint into .venv, checkov into .venv-checkov and cfn-guard with cargo";

/// The fewest templates one process lints (each tool takes a second or more to start).
const MIN_CHUNK: usize = 16;

/// One tool with its arguments.
enum Tool {
    /// cfn-lint, no finding allowed (informational ones included), checked against `regions`.
    CfnLint { regions: Vec<String> },
    /// cfn-guard with one rule set: no rule may fail.
    Guard { rules: PathBuf },
    /// checkov's CloudFormation checks: none may fail.
    Checkov,
}

/// A tool ready to run: where it is, and its identity (`None`: its verdicts are not kept).
pub(crate) struct Linter {
    tool: Tool,
    exe: PathBuf,
    identity: Option<String>,
    /// Roughly the CPU seconds one template takes, to start the longest processes first.
    cost: f64,
}

/// Every template in `files` linted by cfn-lint (against `regions`), each Guard rule set and
/// checkov: the findings, each naming its tool and the file.
pub(crate) fn lint(files: &[PathBuf], regions: &[&str]) -> Vec<String> {
    let mut linters = vec![cfn_lint(regions), checkov()];
    linters.extend(guard());
    lint_with(&linters, files)
}

/// cfn-lint, checking Region-specific facts against `regions`: no finding allowed,
/// informational ones included.
pub(crate) fn cfn_lint(regions: &[impl AsRef<str>]) -> Linter {
    Linter::new(
        Tool::CfnLint {
            regions: regions.iter().map(|r| r.as_ref().to_string()).collect(),
        },
        tool("CFN_LINT", &[root().join(".venv/bin/cfn-lint")], SETUP),
        0.5,
    )
}

/// cfn-guard with each of the four Guard rule sets ([`guard_rule_sets`]): no rule may fail.
pub(crate) fn guard() -> Vec<Linter> {
    let mut candidates = cargo_bin("cfn-guard");
    candidates.push(PathBuf::from("/usr/local/bin/cfn-guard"));
    let guard = tool("CFN_GUARD", &candidates, SETUP);
    guard_rule_sets()
        .into_iter()
        .map(|rules| {
            // A rule set takes about a microsecond a template for each byte of its rules.
            let cost = std::fs::metadata(&rules).map_or(0.2, |m| m.len() as f64 * 1e-6);
            Linter::new(Tool::Guard { rules }, guard.clone(), cost)
        })
        .collect()
}

/// checkov's CloudFormation checks: none may fail, and it must read every template's
/// resources.
pub(crate) fn checkov() -> Linter {
    Linter::new(
        Tool::Checkov,
        tool(
            "CHECKOV",
            &[root().join(".venv-checkov/bin/checkov")],
            SETUP,
        ),
        0.3,
    )
}

/// Every template in `files` linted by each of `linters`, those a linter passed before
/// skipped by it: the findings.
pub(crate) fn lint_with(linters: &[Linter], files: &[PathBuf]) -> Vec<String> {
    let sums: Vec<String> = files
        .iter()
        .map(|f| sha256(&std::fs::read(f).unwrap()))
        .collect();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Each linter's templates not yet passed, in `cores` processes (fewer for few templates).
    let mut jobs: Vec<(&Linter, Vec<(PathBuf, String)>)> = Vec::new();
    for l in linters {
        let todo: Vec<(PathBuf, String)> = files
            .iter()
            .zip(&sums)
            .filter(|(_, sum)| !l.passed(sum))
            .map(|(f, sum)| (f.clone(), sum.clone()))
            .collect();
        let parts = cores.min(todo.len().div_ceil(MIN_CHUNK)).max(1);
        let size = todo.len().div_ceil(parts).max(1);
        for chunk in todo.chunks(size) {
            jobs.push((l, chunk.to_vec()));
        }
    }
    // The longest last: taken first.
    jobs.sort_by(|a, b| (a.0.cost * a.1.len() as f64).total_cmp(&(b.0.cost * b.1.len() as f64)));
    let queue = std::sync::Mutex::new(jobs);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                s.spawn(|| {
                    let mut findings = Vec::new();
                    loop {
                        let job = queue.lock().unwrap().pop();
                        let Some((linter, files)) = job else {
                            break findings;
                        };
                        findings.extend(linter.run(&files));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    })
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Linter {
    fn new(tool: Tool, exe: PathBuf, cost: f64) -> Linter {
        let mut l = Linter {
            tool,
            exe,
            identity: None,
            cost,
        };
        l.identity = l.identity();
        l
    }

    fn name(&self) -> String {
        match &self.tool {
            Tool::CfnLint { .. } => "cfn-lint".into(),
            Tool::Guard { rules } => format!("cfn-guard {}", rules.display()),
            Tool::Checkov => "checkov".into(),
        }
    }

    fn command(&self, files: &[(PathBuf, String)]) -> Command {
        let mut cmd = Command::new(&self.exe);
        match &self.tool {
            Tool::CfnLint { regions } => {
                cmd.args(["--format", "parseable", "-c", "I", "--regions"])
                    .args(regions)
                    .arg("--")
                    .args(files.iter().map(|(f, _)| f));
            }
            Tool::Guard { rules } => {
                cmd.args([
                    "validate",
                    "--show-summary",
                    "fail",
                    "--output-format",
                    "single-line-summary",
                    "--rules",
                ])
                .arg(rules);
                for (f, _) in files {
                    cmd.arg("--data").arg(f);
                }
            }
            Tool::Checkov => {
                cmd.args([
                    "--framework",
                    "cloudformation",
                    "--quiet",
                    "--compact",
                    "--skip-download",
                    "--output",
                    "json",
                ]);
                for (f, _) in files {
                    cmd.arg("--file").arg(f);
                }
            }
        }
        cmd
    }

    /// The findings of one process over `files`; when there are none, each is remembered as
    /// passed.
    fn run(&self, files: &[(PathBuf, String)]) -> Vec<String> {
        let o = self
            .command(files)
            .output()
            .unwrap_or_else(|e| panic!("{} runs: {e}", self.name()));
        let passed = match self.tool {
            // Any output is a finding, informational ones included.
            Tool::CfnLint { .. } => o.status.success() && o.stdout.is_empty(),
            Tool::Guard { .. } => o.status.success(),
            Tool::Checkov => true,
        };
        let findings = match self.tool {
            Tool::Checkov => checkov_findings(&o, files.len()),
            _ if passed => Vec::new(),
            _ => vec![format!(
                "{} (exit {:?}):\n{}{}",
                self.name(),
                o.status.code(),
                stdout(&o),
                stderr(&o)
            )],
        };
        if findings.is_empty() {
            self.remember(files);
        }
        findings
    }

    /// Where this linter's passes are kept: `None` when its identity could not be read.
    fn kept(&self) -> Option<PathBuf> {
        let identity = self.identity.as_ref()?;
        Some(
            Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join("lint-passed")
                .join(&sha256(identity.as_bytes())[..32]),
        )
    }

    fn passed(&self, sum: &str) -> bool {
        self.kept().is_some_and(|dir| dir.join(sum).is_file())
    }

    fn remember(&self, files: &[(PathBuf, String)]) {
        let Some(dir) = self.kept() else { return };
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        for (_, sum) in files {
            // A mark written only after the pass: an empty file says all it has to.
            let _ = std::fs::write(dir.join(sum), b"");
        }
    }

    /// What decides this linter's verdict on a template besides the template: `None` when any
    /// of it cannot be read.
    fn identity(&self) -> Option<String> {
        let mut id = format!("{}\n", self.name());
        match &self.tool {
            Tool::CfnLint { regions } => {
                id += &format!("regions {regions:?}\n");
                id += &version(&self.exe)?;
                id += &venv_packages(&self.exe)?;
                id += &config_files(&[".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml"])?;
                id += &environment(&["CFN_LINT", "CFNLINT", "AWS_REGION", "AWS_DEFAULT_REGION"]);
            }
            Tool::Guard { rules } => {
                id += &format!("binary {}\n", sha256(&std::fs::read(&self.exe).ok()?));
                id += &format!("rules {}\n", sha256(&std::fs::read(rules).ok()?));
            }
            Tool::Checkov => {
                id += &version(&self.exe)?;
                id += &venv_packages(&self.exe)?;
                id += &config_files(&[".checkov.yaml", ".checkov.yml"])?;
                id += &environment(&["CHECKOV", "CKV_", "BC_", "PRISMA"]);
            }
        }
        Some(id)
    }
}

/// checkov's findings for one process over `count` templates: each failed check, a template it
/// could not parse, output that is not its report, or a report that read too few resources.
fn checkov_findings(o: &std::process::Output, count: usize) -> Vec<String> {
    let doc: Value = match serde_json::from_slice(&o.stdout) {
        Ok(doc) => doc,
        Err(e) => {
            return vec![format!(
                "checkov's output is not JSON ({e}): {}{}",
                stdout(o),
                stderr(o)
            )];
        }
    };
    // One report per framework: an object for one, a list for several.
    let reports = match doc {
        Value::Array(a) => a,
        one => vec![one],
    };
    let mut findings = Vec::new();
    let mut resources = 0;
    for r in &reports {
        if r["check_type"] != "cloudformation" {
            findings.push(format!("checkov ran {} checks", r["check_type"]));
        }
        if r["summary"]["parsing_errors"] != 0 {
            findings.push(format!("checkov could not parse: {}", r["summary"]));
        }
        resources += r["summary"]["resource_count"].as_u64().unwrap_or(0);
        for f in r["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            findings.push(format!(
                "checkov {} {} ({}) in {} lines {}",
                text(&f["check_id"]),
                text(&f["resource"]),
                text(&f["check_name"]),
                text(&f["file_abs_path"]),
                f["file_line_range"]
            ));
        }
    }
    if !o.status.success() && findings.is_empty() {
        findings.push(format!(
            "checkov (exit {:?}): {}",
            o.status.code(),
            stderr(o)
        ));
    }
    // Not vacuous: checkov read every template's resources.
    if resources as usize <= count * 5 {
        findings.push(format!(
            "checkov read {resources} resources in {count} templates: {}",
            stderr(o)
        ));
    }
    findings
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// `exe --version`'s output, when it says one.
fn version(exe: &Path) -> Option<String> {
    let o = Command::new(exe).arg("--version").output().ok()?;
    let out = format!("{}{}", stdout(&o), stderr(&o));
    (o.status.success() && !out.trim().is_empty()).then(|| format!("version {out}\n"))
}

/// The Python and every package (with its version) of the virtual environment `exe` is in
/// (`VENV/bin/exe`).
fn venv_packages(exe: &Path) -> Option<String> {
    let venv = exe.parent()?.parent()?;
    let mut out = std::fs::read_to_string(venv.join("pyvenv.cfg")).ok()?;
    let mut found = false;
    for lib in std::fs::read_dir(venv.join("lib")).ok()? {
        let site = lib.ok()?.path().join("site-packages");
        let mut names: Vec<String> = std::fs::read_dir(&site)
            .ok()?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()
            .ok()?;
        names.retain(|n| n.ends_with(".dist-info"));
        names.sort();
        found |= !names.is_empty();
        out += &names.join("\n");
        out.push('\n');
    }
    found.then_some(out)
}

/// The text of each configuration file a tool reads from the working directory or the home
/// directory (`absent` for one that is not there).
fn config_files(names: &[&str]) -> Option<String> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let dirs = [std::env::current_dir().ok()?]
        .into_iter()
        .chain(home)
        .collect::<Vec<_>>();
    let mut out = String::new();
    for d in dirs {
        for n in names {
            let p = d.join(n);
            let text = match std::fs::read_to_string(&p) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => "absent".into(),
                Err(_) => return None,
            };
            out += &format!("{}: {text}\n", p.display());
        }
    }
    Some(out)
}

/// The environment variables whose names start with one of `prefixes`, sorted.
fn environment(prefixes: &[&str]) -> String {
    let mut vars: Vec<String> = std::env::vars()
        .filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p)))
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    vars.sort();
    vars.concat()
}

/// A template with a finding is linted again every time (only a pass is remembered), and a
/// template that passes is remembered by every linter that passed it.
#[test]
fn only_a_pass_is_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    // A queue with its key, its retention and what a delete does: nothing cfn-lint finds.
    std::fs::write(
        &good,
        "AWSTemplateFormatVersion: '2010-09-09'\nDescription: one queue\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n    DeletionPolicy: Delete\n    UpdateReplacePolicy: Delete\n    Properties:\n      KmsMasterKeyId: alias/aws/sqs\n      MessageRetentionPeriod: 345600\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      NoSuchProperty: 1\n",
    )
    .unwrap();
    let sum = |p: &Path| sha256(&std::fs::read(p).unwrap());
    for _ in 0..2 {
        let findings = lint(std::slice::from_ref(&bad), &["eu-west-1"]);
        assert!(
            findings.iter().any(|f| f.starts_with("cfn-lint")),
            "{findings:?}"
        );
    }
    let cfn_lint = cfn_lint(&["eu-west-1"]);
    assert!(cfn_lint.kept().is_some(), "cfn-lint's identity is read");
    assert!(!cfn_lint.passed(&sum(&bad)));
    let findings = lint(std::slice::from_ref(&good), &["eu-west-1"]);
    assert!(
        !findings.iter().any(|f| f.starts_with("cfn-lint")),
        "{findings:?}"
    );
    assert!(cfn_lint.passed(&sum(&good)));
}
