//! Names the commit qfleet was built from, for `qfleet --version`: `QFLEET_COMMIT` when the
//! builder sets it (a release pipeline, a source archive), else `git rev-parse` of the checkout
//! (a clone, `cargo install --git`), else "unknown commit". A tree with uncommitted changes is
//! marked `-dirty`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=QFLEET_COMMIT");
    // A new commit or a checkout of another one moves HEAD or the branch it names.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{branch}");
        }
        println!("cargo:rerun-if-changed={dir}/index");
    }
    let commit = std::env::var("QFLEET_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            let head = git(&["rev-parse", "--short=12", "HEAD"])?;
            // --no-optional-locks: `git status` otherwise refreshes and rewrites the index,
            // which this script watches: the next cargo command would compile qfleet again.
            let dirty = git(&[
                "--no-optional-locks",
                "status",
                "--porcelain",
                "--untracked-files=no",
            ])
            .is_some_and(|s| !s.is_empty());
            Some(if dirty { format!("{head}-dirty") } else { head })
        })
        .unwrap_or_else(|| "unknown commit".into());
    println!("cargo:rustc-env=QFLEET_COMMIT={commit}");
}
