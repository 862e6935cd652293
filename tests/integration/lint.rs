//! Every template rendered from every stack file in `stacks/` and `examples/` passes cfn-lint
//! with no findings at all (informational ones included), every Guard rule set (in
//! `QFLEET_GUARD_RULES`, `../shared/guard/` or `.tools/guard-rules/`: `common::guard_rules`) with
//! no failures, and checkov's CloudFormation checks with none failed. The linters run as
//! `linters` runs them: many templates a process, on every core, a template an unchanged
//! linter passed before not linted again.

use crate::common::*;
use crate::linters;
use std::path::PathBuf;
use std::process::Command;

const SETUP: &str = "run the README's test command (scripts/test), which installs cfn-lint into .venv, checkov into .venv-checkov and cfn-guard with cargo";

fn render_all(dir: &std::path::Path) -> Vec<PathBuf> {
    render_all_in_regions(dir)
        .into_iter()
        .map(|(file, _)| file)
        .collect()
}

/// The Regions a stack file deploys to: its own and its targets' (a mapping or a list of
/// them). cfn-lint checks Region-specific facts (instance types offered, E3628) against the
/// Regions it is given, else against the environment's AWS_REGION or us-east-1: each
/// template is linted against its own.
fn regions_of(stack_file: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(stack_file).unwrap();
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut regions: Vec<String> = v["region"]
        .as_str()
        .map(str::to_string)
        .into_iter()
        .collect();
    let targets: Vec<&serde_yaml_ng::Value> = match &v["targets"] {
        serde_yaml_ng::Value::Mapping(m) => m.values().collect(),
        serde_yaml_ng::Value::Sequence(s) => s.iter().collect(),
        _ => Vec::new(),
    };
    for t in targets {
        if let Some(r) = t["region"].as_str() {
            regions.push(r.to_string());
        }
    }
    regions.sort();
    regions.dedup();
    regions
}

/// Every template rendered, with the Regions its stack file deploys to.
fn render_all_in_regions(dir: &std::path::Path) -> Vec<(PathBuf, Vec<String>)> {
    let mut files = Vec::new();
    for stack_file in shipped_stack_files() {
        let regions = regions_of(&stack_file);
        let name = stack_file
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let out = dir.join(&name);
        // `qfleet render FILE --out DIR`, in-process.
        if let Err(f) = qfleet::engine::render(&[&stack_file], Some(&out)) {
            panic!("render {}: {f}", stack_file.display());
        }
        // A stack file with copies or targets renders one directory per environment (and one
        // of its stack sets' templates, `stack-sets`, with rollout.mode: stack_sets). Copies
        // (`NAME-01`) differ only in their names, so the first one stands for all; targets
        // (`NAME-eu`) differ in region, key and workers, so each is checked.
        let dirs = if out.join("data.yaml").is_file() {
            vec![out]
        } else {
            let mut subdirs: Vec<PathBuf> = std::fs::read_dir(&out)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            subdirs.sort();
            let copies = subdirs.iter().all(|d| {
                let name = d.file_name().unwrap().to_string_lossy().into_owned();
                name.rsplit_once('-')
                    .is_some_and(|(_, n)| n.chars().all(|c| c.is_ascii_digit()))
            });
            if copies {
                subdirs.truncate(1);
            }
            subdirs
        };
        for dir in dirs {
            // The data stack and every fleet: one per stage of a pipeline (`fleet-STAGE.yaml`).
            let mut rendered: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "json"))
                .collect();
            rendered.sort();
            assert!(rendered.len() >= 2, "{}: {rendered:?}", dir.display());
            files.extend(rendered.into_iter().map(|f| (f, regions.clone())));
        }
    }
    files
}

#[test]
fn rendered_templates_pass_cfn_lint_with_no_findings() {
    let dir = tempfile::tempdir().unwrap();
    let files = render_all_in_regions(dir.path());
    assert!(files.len() >= 6);
    // One run per set of Regions.
    let mut by_regions: std::collections::BTreeMap<Vec<String>, Vec<PathBuf>> =
        std::collections::BTreeMap::new();
    for (file, regions) in files {
        by_regions.entry(regions).or_default().push(file);
    }
    for (regions, files) in by_regions {
        assert!(
            !regions.is_empty(),
            "a stack file without a region: {files:?}"
        );
        let findings = linters::lint_with(&[linters::cfn_lint(&regions)], &files);
        assert!(
            findings.is_empty(),
            "cfn-lint findings in {regions:?}:\n{}",
            findings.join("\n")
        );
    }
}

#[test]
fn rendered_templates_pass_every_guard_rule_set() {
    let dir = tempfile::tempdir().unwrap();
    let files = render_all(dir.path());
    let failures = linters::lint_with(&linters::guard(), &files);
    assert!(
        failures.is_empty(),
        "cfn-guard failures:\n{}",
        failures.join("\n")
    );
}

/// checkov (pinned in scripts/requirements-checkov.txt) finds nothing: each of its findings is
/// fixed in the template or skipped in the resource's own Metadata with a comment saying why it
/// is false or accepted (docs/decisions.md lists them).
#[test]
fn rendered_templates_pass_checkov_with_no_failed_check() {
    let dir = tempfile::tempdir().unwrap();
    let files = render_all(dir.path());
    assert!(files.len() >= 6);
    let findings = linters::lint_with(&[linters::checkov()], &files);
    assert!(
        findings.is_empty(),
        "checkov findings: fix each, or skip it in the resource's Metadata with the reason\n{}",
        findings.join("\n")
    );
}

#[test]
fn checkov_skips_carry_a_reason() {
    // `checkov: skip:` entries are `- id: CKV_…` followed by `comment: "why"`.
    let dir = tempfile::tempdir().unwrap();
    let mut skips = 0;
    for f in render_all(dir.path()) {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (i, t) in lines.iter().enumerate() {
            if let Some(id) = t.strip_prefix("- id: CKV") {
                skips += 1;
                let reason = lines
                    .get(i + 1)
                    .and_then(|n| n.strip_prefix("comment:"))
                    .unwrap_or("");
                assert!(
                    reason.trim().trim_matches('"').len() > 20,
                    "{}: CKV{id} has no reason",
                    f.display()
                );
            }
        }
    }
    assert!(skips > 0);
}

#[test]
fn guard_suppressions_carry_a_reason() {
    // A suppression is allowed only in the resource's own Metadata, next to a comment saying why.
    let dir = tempfile::tempdir().unwrap();
    for f in render_all(dir.path()) {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut in_list = false;
        for line in text.lines() {
            let t = line.trim();
            if t == "SuppressedRules:" {
                in_list = true;
                continue;
            }
            if in_list && t.starts_with("- ") {
                let (rule, reason) = t.split_once('#').unwrap_or((t, ""));
                assert!(
                    reason.trim().len() > 20,
                    "{}: `{}` has no reason",
                    f.display(),
                    rule.trim()
                );
            } else {
                in_list = false;
            }
        }
    }
}

/// The Lambda runtime lifecycle qfleet validates against matches the one the pinned cfn-lint
/// ships (deprecation and block dates, successors).
#[test]
fn the_lambda_runtime_lifecycle_is_current() {
    let o = run(std::process::Command::new(root().join(".venv/bin/python"))
        .arg(root().join("scripts/lambda-runtimes"))
        .arg("--check")
        .current_dir(root()));
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

/// The resources that hold data are replaced by a change of the properties qfleet's template
/// preview says (a StackSets instance has no change set): exactly the `createOnlyProperties`
/// of AWS's resource type schemas, as cfn-lint ships them.
#[test]
fn the_create_only_properties_of_resources_with_data_are_awss_schemas() {
    let python = tool("CFN_LINT_PYTHON", &[root().join(".venv/bin/python")], SETUP);
    let script = r#"
import json, os, sys, cfnlint
d = os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas")
index = json.load(open(os.path.join(d, "providers", "us-east-1.json")))
out = {}
for t in sys.argv[1:]:
    schema = json.load(open(os.path.join(d, "resources", index[t] + ".json")))
    out[t] = sorted(p.split("/")[-1] for p in schema.get("createOnlyProperties", []) if p.count("/") == 2)
print(json.dumps(out))
"#;
    let types: Vec<&str> = qfleet::replacement::CREATE_ONLY
        .iter()
        .map(|(t, _)| *t)
        .collect();
    let o = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(&types)
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let schemas: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&o.stdout).unwrap();
    for (t, ours) in qfleet::replacement::CREATE_ONLY {
        let mut ours: Vec<String> = ours.iter().map(|p| p.to_string()).collect();
        ours.sort();
        assert_eq!(ours, schemas[*t], "{t}");
    }
    // Every type that holds data is in the table.
    for t in qfleet::replacement::STATEFUL_TYPES {
        assert!(types.contains(t), "{t}");
    }
}

/// Every shipped stack file passes `validate` (in-process, as the command runs it): a template
/// too big for CloudFormation, or any other refusal, is found here, not by a user's deploy.
#[test]
fn every_shipped_stack_file_validates() {
    let mut refused = Vec::new();
    for f in shipped_stack_files() {
        if let Err(e) = qfleet::engine::validate(&[&f]) {
            refused.push(format!("{}: {}", f.display(), e.message()));
        }
    }
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}

/// A template over CloudFormation's 51,200 bytes as YAML is sent as compact JSON: that body is,
/// value for value, the template cfn-lint reads from the YAML (its own parser, the short forms
/// in their long forms), so what the linters passed is what CloudFormation receives. At least
/// one shipped file's data stack goes as JSON (examples/fifo.yaml: jobs, two stages, topics, a
/// schedule, a budget).
#[test]
fn a_body_sent_as_json_is_the_template_cfn_lint_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut pairs = Vec::new();
    for f in render_all(dir.path()) {
        let yaml = std::fs::read_to_string(&f).unwrap();
        let body = qfleet_engine::render::request_body(&yaml);
        if body.len() != yaml.len() {
            let json = f.with_extension("sent.json");
            std::fs::write(&json, body.as_bytes()).unwrap();
            pairs.push((f, json));
        }
    }
    assert!(
        pairs.iter().any(|(f, _)| f.ends_with("fifo/data.yaml")),
        "{pairs:?}"
    );
    let script = "import json, sys\n\
        from cfnlint.decode import decode_str\n\
        for yaml, body in zip(sys.argv[1::2], sys.argv[2::2]):\n\
        \x20   read, errors = decode_str(open(yaml).read())\n\
        \x20   assert not errors, (yaml, errors)\n\
        \x20   plain = json.loads(json.dumps(read))\n\
        \x20   assert plain == json.load(open(body)), yaml\n\
        print(len(sys.argv) // 2)\n";
    let o = Command::new(root().join(".venv/bin/python"))
        .arg("-c")
        .arg(script)
        .args(pairs.iter().flat_map(|(y, j)| [y, j]))
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{}\n{SETUP}", stderr(&o));
    assert_eq!(stdout(&o).trim(), pairs.len().to_string());
}
