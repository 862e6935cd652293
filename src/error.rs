//! Errors and the exit codes they map to.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | an AWS operation failed |
//! | 2 | invalid input (stack file, template, flags) |
//! | 3 | differences found (drift, pending changes) |
//! | 4 | refused, to protect data |
//! | 130 | interrupted (Ctrl-C) |
//!
//! A run of several environments (or a pipeline's stages) exits with
//! [`crate::output::envelope::combined_exit_code`]: any failure (1, 2, 4, 130) wins, and of
//! several the highest code; 3 only when none failed and at least one has differences; else 0.

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Serialize;
use std::fmt;

pub const EXIT_OK: i32 = 0;
pub const EXIT_AWS: i32 = 1;
pub const EXIT_INPUT: i32 = 2;
pub const EXIT_DIFFERENCES: i32 = 3;
pub const EXIT_REFUSED: i32 = 4;
pub const EXIT_INTERRUPTED: i32 = 130;

pub type Result<T, E = Error> = std::result::Result<T, E>;

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

/// Everything qfleet can fail with; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more problems in a stack file or template (exit 2).
    #[error("{}", summarize(.0))]
    Input(Vec<InputError>),
    /// A bad command-line flag or argument, or a missing file (exit 2).
    #[error("{0}")]
    Usage(String),
    /// An AWS call or operation failed (exit 1); the SDK error is its source.
    #[error(transparent)]
    Aws(#[from] crate::aws::error::AwsError),
    /// qfleet refused to go on because data would be lost (exit 4).
    #[error("{0}")]
    Refused(String),
    /// The user pressed Ctrl-C (exit 130).
    #[error("{0}")]
    Interrupted(String),
}

fn summarize(errors: &[InputError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Usage(_) => EXIT_INPUT,
            Error::Aws(_) => EXIT_AWS,
            Error::Refused(_) => EXIT_REFUSED,
            Error::Interrupted(_) => EXIT_INTERRUPTED,
        }
    }

    /// Short machine-readable kind for JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Input(_) => "input",
            Error::Usage(_) => "usage",
            Error::Aws(_) => "aws",
            Error::Refused(_) => "refused",
            Error::Interrupted(_) => "interrupted",
        }
    }

    /// The error as JSON output reports it.
    pub fn report(&self) -> ErrorReport {
        ErrorReport {
            kind: self.kind(),
            message: self.to_string(),
            problems: match self {
                Error::Input(list) => list.clone(),
                _ => Vec::new(),
            },
        }
    }

    pub fn usage(msg: impl fmt::Display) -> Error {
        Error::Usage(msg.to_string())
    }

    /// An AWS operation that failed without an SDK error (a stack that ended badly, …).
    pub fn aws(msg: impl fmt::Display) -> Error {
        Error::Aws(crate::aws::error::AwsError::new(msg.to_string()))
    }
}

/// The one shape of an error in JSON output, for a whole run and for one environment alike.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorReport {
    /// `input`, `usage`, `aws`, `refused` or `interrupted`.
    pub kind: &'static str,
    pub message: String,
    /// Every problem of an invalid stack file or template, each located (empty otherwise).
    pub problems: Vec<InputError>,
}

impl ErrorReport {
    /// An error known only by its message and exit code (an environment's outcome).
    pub fn from_exit_code(code: i32, message: impl fmt::Display) -> ErrorReport {
        ErrorReport {
            kind: match code {
                EXIT_INPUT => "input",
                EXIT_REFUSED => "refused",
                EXIT_INTERRUPTED => "interrupted",
                _ => "aws",
            },
            message: message.to_string(),
            problems: Vec::new(),
        }
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(vec![e])
    }
}
