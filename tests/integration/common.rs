//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A `qfleet` command run from the repository root, with no AWS settings leaking in.
pub fn qfleet() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qfleet"));
    c.current_dir(root());
    c.env_remove("QFLEET_OUTPUT")
        .env_remove("QFLEET_STACKS_DIR");
    c
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("qfleet runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every stack file shipped in `stacks/` and `examples/`.
pub fn shipped_stack_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["stacks", "examples"] {
        for e in std::fs::read_dir(root().join(dir)).expect("directory exists") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// A tool from the environment variable `var`, else the first candidate that exists.
pub fn tool(var: &str, candidates: &[PathBuf], setup_hint: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    for c in candidates {
        if c.is_file() {
            return c.clone();
        }
    }
    panic!("{var} is not set and none of {candidates:?} exists: {setup_hint}");
}
