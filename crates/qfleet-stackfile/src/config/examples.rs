//! Test support: the shipped examples the tests of several modules share.
// Test support, built only for tests (`test-util`): a broken fixture panics the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::LoadedFile;

const A: &str = "111122223333";
const B: &str = "444455556666";

/// The workspace's root: the folder of `examples/`, `docs/` and `schemas/`.
pub fn workspace_root() -> std::path::PathBuf {
    let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .nth(2)
        .expect("the crate's folder is crates/NAME in the workspace")
        .to_path_buf()
}

fn path() -> std::path::PathBuf {
    workspace_root().join("examples/stack-sets.yaml")
}

/// examples/stack-sets.yaml with service-managed permissions: its targets in account
/// 111122223333 in the AWS Organizations unit `ou-ab12-34cd56ef`, the one in 444455556666 in
/// `ou-ab12-99zz88yy`.
pub fn stack_sets_service_managed() -> LoadedFile {
    let text = std::fs::read_to_string(path())
        .expect("the example")
        .replace(
            "  mode: stack_sets\n",
            "  mode: stack_sets\n  permission_model: service_managed\n",
        )
        .replace(
            &format!("    account: '{A}'\n"),
            &format!("    account: '{A}'\n    organizational_unit: ou-ab12-34cd56ef\n"),
        )
        .replace(
            &format!("    account: '{B}'\n"),
            &format!("    account: '{B}'\n    organizational_unit: ou-ab12-99zz88yy\n"),
        );
    super::parse(path(), text).expect("a valid file")
}

/// examples/stack-sets.yaml written into `dir` with a shape only one target has (two instance
/// types for `us1`): its targets cannot share a stack set's template. The file's path.
pub fn unmergeable_stack_sets(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(path()).expect("the example");
    let shaped = text.replace(
        "    workers:\n      max: 30\n",
        "    workers:\n      max: 30\n      instance_types: [m7g.large, m6g.large]\n",
    );
    assert_ne!(
        shaped, text,
        "the example's us1 target sets workers.max: 30"
    );
    let file = dir.join("fleetsets.yaml");
    std::fs::write(&file, shaped).expect("a temporary directory");
    file
}
