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

/// A stack file that could not be found or read. The commands say each in their words.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A path given as ENV that is no file.
    #[error("stack file {target} does not exist")]
    NoStackFile { target: String, stacks_dir: PathBuf },
    /// An environment name with no `NAME.yaml` in the stacks directory; `known`: the
    /// environments there are.
    #[error("no stack file for environment `{name}` in {}", .stacks_dir.display())]
    UnknownEnvironment {
        name: String,
        stacks_dir: PathBuf,
        known: Vec<String>,
    },
    /// A directory where a stack file was expected.
    #[error("{target} is a directory, not a stack file")]
    Directory { target: String },
    /// The file is there but could not be read.
    #[error("cannot read stack file {}: {source}", .path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
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
