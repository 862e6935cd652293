//! The errors of `qfleet import`, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2.

use crate::error::InputError;
use std::path::PathBuf;

crate::error::classes!(usage: Usage);

/// A flag, a name or a file this feature cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
    #[error("cannot read Copilot manifest {}: {source}", .path.display())]
    ManifestUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A service name that makes no environment name (at most `max_len` characters).
    #[error(
        "{}: the service name `{service}` makes no qfleet environment name (lowercase letters, digits and single hyphens, starting with a letter, at most {max_len} characters); give one with --environment-name",
        .manifest.display()
    )]
    ServiceName {
        manifest: PathBuf,
        service: String,
        max_len: usize,
    },
    /// The imported stack file's problems.
    #[error(
        "the stack file imported from {} does not validate, so it was not written:\n{}\n(fix the manifest, or give the value with a flag: --image, --environment-name, --region)",
        .manifest.display(),
        import_problems(.problems)
    )]
    ImportInvalid {
        manifest: PathBuf,
        problems: Vec<InputError>,
    },
    #[error(
        "--out {}: the file exists; qfleet import does not overwrite it (remove it or choose another name)",
        .path.display()
    )]
    ImportExists { path: PathBuf },
    #[error("cannot write {}: {source}", .path.display())]
    ImportUnwritable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An import whose environment name a stack file of the stacks directory already makes:
    /// the two files would deploy over each other's stacks.
    #[error(
        "`{name}` is already an environment of {}: the imported file would deploy over its stacks; give --environment-name {suggested} (or another name)",
        .file.display()
    )]
    ImportNameTaken {
        name: String,
        file: PathBuf,
        suggested: String,
    },
}

fn import_problems(problems: &[InputError]) -> String {
    problems
        .iter()
        .map(|p| {
            format!(
                "  {} (line {} of the stack file): {}",
                p.field, p.line, p.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
