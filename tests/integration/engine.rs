//! The offline engine (`qfleet::engine`) gives what the binary prints: the heavy tests call it
//! in-process (`pairs`, `lint`, `least_privilege`, …) for what `qfleet validate`, `render`
//! and `iam-policy` would print, so its documents and files must be the commands' own, for a
//! valid file and a refused one alike.

use crate::common::*;
use qfleet::engine;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The shipped files this compares on: the stacks directory's two (a lab, and production with
/// its own key, logs and private subnets), one environment, copies, targets (direct),
/// StackSets, a pipeline, and each kind of worker.
const FILES: [&str; 9] = [
    "stacks/lab.yaml",
    "stacks/prod.yaml",
    "examples/batch.yaml",
    "examples/classroom.yaml",
    "examples/multi-account.yaml",
    "examples/stack-sets.yaml",
    "examples/pipeline.yaml",
    "examples/lambda.yaml",
    "examples/fargate.yaml",
];

/// The binary, run from the repository root with the file's folder as the bare stacks
/// directory: its hints then carry no `--stacks-dir`, as the engine's (a call has no command
/// line) carry none.
fn cli(file: &str) -> std::process::Command {
    let mut c = qfleet();
    c.env(
        "QFLEET_STACKS_DIR",
        Path::new(file).parent().unwrap_or(Path::new(".")),
    );
    c
}

/// The JSON document of a run, and its exit code.
fn printed(cmd: &mut std::process::Command) -> (serde_json::Value, i32) {
    let o = run(cmd);
    let doc = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(&o), stderr(&o)));
    (doc, o.status.code().unwrap_or(-1))
}

/// Every file under `dir`, by its path under it, with its text.
fn tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let text = std::fs::read_to_string(&p).unwrap();
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), text);
            }
        }
    }
    out
}

#[test]
fn the_engine_gives_the_documents_and_files_the_commands_print_and_write() {
    let dir = tempfile::tempdir().unwrap();
    for file in FILES {
        let (doc, code) = printed(cli(file).args(["validate", file, "-o", "json"]));
        assert_eq!(code, 0, "{file}: {doc}");
        assert_eq!(engine::validate(&[file]).unwrap(), doc, "validate {file}");

        let (doc, _) = printed(cli(file).args(["render", file, "-o", "json"]));
        let templates = engine::render(&[file], None).unwrap();
        assert_eq!(templates.document, doc, "render {file}");
        // The files `--out` writes are the engine's, path for path, and the engine writes the
        // same ones (its document naming them as the command's does).
        let (by_cli, by_engine) = (dir.path().join("cli"), dir.path().join("engine"));
        let (doc, _) = printed(
            cli(file)
                .args(["render", file, "-o", "json", "--out"])
                .arg(&by_cli),
        );
        let written = engine::render(&[file], Some(&by_engine)).unwrap();
        let listed: BTreeMap<PathBuf, String> = templates
            .files
            .iter()
            .map(|t| (t.path.clone(), t.text.clone()))
            .collect();
        assert_eq!(tree(&by_cli), listed, "render --out {file}");
        assert_eq!(tree(&by_engine), listed, "render --out {file}");
        assert_eq!(
            written
                .document
                .to_string()
                .replace(&*by_engine.to_string_lossy(), &by_cli.to_string_lossy()),
            doc.to_string(),
            "render --out {file}"
        );
        std::fs::remove_dir_all(&by_cli).unwrap();
        std::fs::remove_dir_all(&by_engine).unwrap();

        // The account the file names, else a stand-in.
        let yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let account = yaml["rollout"]["administration_account"]
            .as_str()
            .or_else(|| yaml["targets"][0]["account"].as_str())
            .unwrap_or("123456789012");
        let (doc, code) =
            printed(cli(file).args(["iam-policy", file, "--account", account, "-o", "json"]));
        assert_eq!(code, 0, "{file}: {doc}");
        assert_eq!(
            engine::iam_policy(&[file], account).unwrap(),
            doc,
            "iam-policy {file}"
        );
    }
}

#[test]
fn the_engine_refuses_a_stack_file_with_the_commands_document_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "region: eu-west-1\nworkers:\n  min: 4\n  max: 2\ntags:\n  team: x\n",
    )
    .unwrap();
    let file = bad.to_str().unwrap();
    let (doc, code) = printed(cli(file).args(["validate", file, "-o", "json"]));
    let refused = engine::validate(&[file]).unwrap_err();
    assert_eq!(refused.document(), &doc);
    assert_eq!(i32::from(refused.exit_code()), code);
    assert_eq!(code, 2);
    assert!(
        refused
            .message()
            .contains("workers.min: 4 is greater than workers.max (2)"),
        "{refused}"
    );
    let (doc, code) = printed(cli(file).args(["render", file, "-o", "json"]));
    let refused = engine::render(&[file], None).unwrap_err();
    assert_eq!(
        (refused.document(), i32::from(refused.exit_code())),
        (&doc, code)
    );
    let (doc, code) = printed(cli(file).args([
        "iam-policy",
        file,
        "--account",
        "123456789012",
        "-o",
        "json",
    ]));
    let refused = engine::iam_policy(&[file], "123456789012").unwrap_err();
    assert_eq!(
        (refused.document(), i32::from(refused.exit_code())),
        (&doc, code)
    );
}

/// The room for tags the engine tells is what validate keeps: the most tags pass, one more is
/// refused, with the same numbers and tags in its message.
#[test]
fn the_room_for_tags_is_what_validate_takes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tags.yaml");
    let write = |n: usize| {
        let tags: String = (0..n).map(|i| format!("  t{i}: v\n")).collect();
        let tags = if n == 0 {
            String::new()
        } else {
            format!("tags:\n{tags}")
        };
        std::fs::write(
            &file,
            format!("region: eu-west-1\nowner: team\ntargets:\n  - {{name: eu, account: '111122223333'}}\n  - {{name: us, account: '444455556666', region: us-east-1}}\n{tags}"),
        )
        .unwrap();
    };
    write(0);
    let rooms = engine::tag_room(&file).unwrap();
    assert_eq!(rooms.len(), 2, "{rooms:?}");
    let (_, room) = rooms.iter().min_by_key(|(_, r)| r.most).unwrap();
    assert!(room.most < 50 && room.most > 30, "{room:?}");
    write(room.most);
    engine::validate(&[&file]).unwrap();
    write(room.most + 1);
    let refused = engine::validate(&[&file]).unwrap_err();
    assert!(
        refused.message().contains(&format!(
            "qfleet adds {}: {}; at most {} are the file's",
            room.qfleet_adds.len(),
            room.qfleet_adds.join(", "),
            room.most
        )),
        "{refused}"
    );
}
