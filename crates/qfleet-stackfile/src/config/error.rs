//! What reading a stack file fails with: problems located in the file, or a file that cannot be
//! found or read. The commands give each its words and exit code (2).

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Serialize;
use std::path::PathBuf;

/// One problem in an input file, located to the line and column.
#[derive(Debug, Clone, thiserror::Error, Diagnostic, Serialize)]
#[error("{file}:{line}:{column}: {field}: {message}")]
pub struct InputError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Dotted path of the setting (`workers.min`), or `-` when the file as a whole is wrong.
    pub field: String,
    pub message: String,
    /// What the setting accepts.
    #[help]
    pub allowed: Option<String>,
    #[source_code]
    #[serde(skip)]
    pub src: NamedSource<String>,
    #[label("here")]
    #[serde(skip)]
    pub span: Option<SourceSpan>,
}

/// A stack file that could not be found or read: a usage error to the commands (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A path to a stack file that does not exist.
    #[error(
        "stack file {target} does not exist (ENV is an environment name in {} or a path to a stack file)",
        .stacks_dir.display()
    )]
    NoStackFile { target: String, stacks_dir: PathBuf },
    /// An environment name with no stack file; `known`: the environments there are.
    #[error(
        "no stack file for environment `{name}` ({}/{name}.yaml does not exist); {}",
        .stacks_dir.display(),
        known_environments(.stacks_dir, .known)
    )]
    UnknownEnvironment {
        name: String,
        stacks_dir: PathBuf,
        known: Vec<String>,
    },
    /// A directory where a stack file was expected.
    #[error(
        "{target} is a directory, not a stack file: ENV is an environment name (its stack file is ENV.yaml in the stacks directory) or the path to a stack file (a .yaml file)"
    )]
    Directory { target: String },
    /// The file is there but could not be read.
    #[error("cannot read stack file {}: {source}", .path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn known_environments(stacks_dir: &std::path::Path, known: &[String]) -> String {
    if known.is_empty() {
        format!("{} holds no stack files", stacks_dir.display())
    } else {
        format!(
            "environments in {}: {}",
            stacks_dir.display(),
            known.join(", ")
        )
    }
}

/// Everything reading a stack file fails with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more problems in the file, each located.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Input(Vec<InputError>),
    /// The file could not be found or read.
    #[error(transparent)]
    File(FileError),
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(vec![e])
    }
}

impl From<FileError> for Error {
    fn from(e: FileError) -> Self {
        Error::File(e)
    }
}

/// What reading a stack file returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;
