//! Errors and the exit codes they map to.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | an AWS operation failed |
//! | 2 | invalid input (stack file, template, flags) |
//! | 3 | differences found (drift, pending changes) |
//! | 4 | refused, to protect data |
//! | 5 | a tool qfleet runs failed (pip, npm), not the stack file's fault; nothing changed on AWS |
//! | 129, 130, 143 | interrupted: SIGHUP, Ctrl-C (SIGINT), SIGTERM (128 + the signal's number) |
//!
//! A run of several environments (or a pipeline's stages) exits with
//! [`crate::output::envelope::combined_exit_code`]: any failure (1, 2, 4, 130) wins, and of
//! several the highest code; 3 only when none failed and at least one has differences; else 0.

mod interruption;
mod refusal;
mod signal;
mod tool;
mod usage;

pub(crate) use signal::{
    Holding, interrupted, listen as listen_for_signals, on_deadline, time_left,
};

pub use interruption::{Followed, Interruption, LeftBehind, Stopped};
pub use refusal::{Loss, Refusal};
pub use signal::Signal;
pub use tool::ToolFailure;
pub use usage::Usage;

use serde::Serialize;
use std::fmt;

/// How a run (or one environment of it) ends: its exit code, the table above. In JSON it is
/// the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Exit {
    /// 0: success.
    #[default]
    Ok,
    /// 1: an AWS operation failed.
    Aws,
    /// 2: invalid input (stack file, template, flags).
    Input,
    /// 3: differences found (drift, pending changes, a missed goal).
    Differences,
    /// 4: refused, to protect data.
    Refused,
    /// 5: a tool qfleet runs (pip, npm) failed for a cause outside the stack file (no
    /// network, no package index, the tool missing); nothing was changed on AWS.
    Tool,
    /// 128 + the signal's number: interrupted by SIGHUP (129), Ctrl-C (130) or SIGTERM (143).
    Interrupted(Signal),
}

impl Exit {
    /// Every exit code, lowest first.
    pub(crate) const ALL: [Exit; 9] = [
        Exit::Ok,
        Exit::Aws,
        Exit::Input,
        Exit::Differences,
        Exit::Refused,
        Exit::Tool,
        Exit::Interrupted(Signal::Hangup),
        Exit::Interrupted(Signal::Interrupt),
        Exit::Interrupted(Signal::Terminate),
    ];

    /// The process's exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Aws => 1,
            Exit::Input => 2,
            Exit::Differences => 3,
            Exit::Refused => 4,
            Exit::Tool => 5,
            Exit::Interrupted(signal) => signal.exit_code(),
        }
    }

    /// Success or differences: the run did not fail.
    pub fn failed(self) -> bool {
        !matches!(self, Exit::Ok | Exit::Differences)
    }
}

/// Compares with a number, as the exit code a shell sees.
impl PartialEq<i32> for Exit {
    fn eq(&self, other: &i32) -> bool {
        i32::from(self.code()) == *other
    }
}

impl Serialize for Exit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

impl schemars::JsonSchema for Exit {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ExitCode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "0 success, 1 an AWS operation failed, 2 invalid input, 3 differences found, 4 refused to protect data, 5 a tool qfleet runs failed (pip, npm; nothing changed on AWS), 129/130/143 interrupted by SIGHUP/Ctrl-C/SIGTERM",
            "enum": Exit::ALL.map(Exit::code)
        })
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// A feature's error types and their classes, the one place that says which exits how: a
/// `usage` type exits 2 (JSON `kind` `usage`), a `refused` one 4 (`refused`), each held as
/// [`Usage::Of`] or [`Refusal::Of`]. In a feature's `errors.rs`:
/// `crate::error::classes!(usage: Usage, refused: Refusal);`.
macro_rules! classes {
    ($($class:ident: $t:ty),+ $(,)?) => {
        $(crate::error::classes!(@one $class $t);)+
    };
    (@one usage $t:ty) => {
        impl From<$t> for crate::error::Error {
            fn from(e: $t) -> Self {
                crate::error::Error::Usage(crate::error::Usage::Of(crate::error::Of::new(e)))
            }
        }
    };
    (@one refused $t:ty) => {
        impl From<$t> for crate::error::Error {
            fn from(e: $t) -> Self {
                crate::error::Error::Refused(crate::error::Refusal::Of(crate::error::Of::new(e)))
            }
        }
    };
}
pub(crate) use classes;

/// A feature's own error, held as [`Usage::Of`] or [`Refusal::Of`]: the feature keeps its
/// variants and their words (e.g. [`crate::placement::errors::Usage`]), and this module, which the
/// feature's `From` picks the class of, keeps the exit code and the JSON `kind`.
#[derive(Debug)]
pub struct Of(Box<dyn std::error::Error + Send + Sync + 'static>);

impl Of {
    pub(crate) fn new(e: impl std::error::Error + Send + Sync + 'static) -> Of {
        Of(Box::new(e))
    }
}

impl fmt::Display for Of {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Of {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

pub use crate::config::InputError;

/// Everything qfleet can fail with; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more problems in a stack file or template (exit 2).
    #[error("{}", summarize(.0))]
    Input(Vec<InputError>),
    /// A bad command-line flag or argument, or a missing file (exit 2).
    #[error(transparent)]
    Usage(#[from] Usage),
    /// An AWS call or operation failed (exit 1); the SDK error is its source.
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    /// qfleet refused to go on because data would be lost, or what it would act on is not its
    /// own (exit 4).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A tool qfleet runs (pip, npm) failed for a cause outside the stack file (exit 5).
    #[error(transparent)]
    Tool(#[from] ToolFailure),
    /// The user pressed Ctrl-C, or the run was sent SIGTERM or SIGHUP (exit 130, 143, 129).
    #[error(transparent)]
    Interrupted(#[from] Interruption),
}

fn summarize(errors: &[InputError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    pub(crate) fn exit_code(&self) -> Exit {
        match self {
            Error::Input(_) | Error::Usage(_) => Exit::Input,
            Error::Aws(_) => Exit::Aws,
            Error::Refused(_) => Exit::Refused,
            Error::Tool(_) => Exit::Tool,
            Error::Interrupted(_) => Exit::Interrupted(signal::received().unwrap_or_default()),
        }
    }

    /// Short machine-readable kind for JSON output.
    fn kind(&self) -> &'static str {
        match self {
            Error::Input(_) => "input",
            Error::Usage(_) => "usage",
            Error::Aws(_) => "aws",
            Error::Refused(_) => "refused",
            Error::Tool(_) => "tool",
            Error::Interrupted(_) => "interrupted",
        }
    }

    /// The error as JSON output reports it.
    pub(crate) fn report(&self) -> ErrorReport {
        ErrorReport {
            kind: self.kind(),
            message: self.to_string(),
            problems: match self {
                Error::Input(list) => list.clone(),
                _ => Vec::new(),
            },
            stopped: match self {
                Error::Interrupted(i) => i.stopped().to_vec(),
                _ => Vec::new(),
            },
            rollback: match self {
                Error::Aws(e) => e.rollback().cloned(),
                _ => None,
            },
        }
    }

    /// A feature's own error (a usage error or a refusal), when it is a `T`: for a caller
    /// that decides on it (`environments::errors::Usage::NotInFile`, …), never to word it.
    pub(crate) fn of<T: std::error::Error + 'static>(&self) -> Option<&T> {
        match self {
            Error::Usage(Usage::Of(o)) | Error::Refused(Refusal::Of(o)) => o.0.downcast_ref(),
            _ => None,
        }
    }

    /// An AWS operation that failed without an SDK error (a stack that ended badly, …).
    pub(crate) fn aws(msg: impl fmt::Display) -> Error {
        Error::Aws(crate::aws::AwsError::new(msg.to_string()))
    }
}

/// The one shape of an error in JSON output, for a whole run and for one environment alike.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorReport {
    /// `input`, `usage`, `aws`, `refused`, `tool` or `interrupted`.
    pub(crate) kind: &'static str,
    pub(crate) message: String,
    /// Every problem of an invalid stack file or template, each located (empty otherwise).
    problems: Vec<InputError>,
    /// An interrupted run's environments, each with what was done, under way, not started and
    /// left behind (empty otherwise).
    stopped: Vec<Stopped>,
    /// A deploy whose fleet stack's update failed: which of its rollback alarms fired (only
    /// then present).
    #[serde(skip_serializing_if = "Option::is_none")]
    rollback: Option<crate::aws::RollbackCause>,
}

impl fmt::Display for ErrorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(vec![e])
    }
}

/// A run the simulator refused is invalid input: the stack file's (located) or the flags'.
impl From<crate::sim::Error> for Error {
    fn from(e: crate::sim::Error) -> Self {
        match e {
            crate::sim::Error::Input(problems) => Error::Input(problems),
            crate::sim::Error::FlagValue { flag, value, why } => {
                Error::Usage(Usage::FlagValue { flag, value, why })
            }
            other => Error::Usage(Usage::Simulation(other)),
        }
    }
}

/// What the offline engine refuses: a stack file's problems are invalid input, its other
/// refusals usage errors (exit 2); a template of qfleet's own it cannot read back, a failed
/// operation (exit 1).
impl From<qfleet_engine::Error> for Error {
    fn from(e: qfleet_engine::Error) -> Self {
        match e {
            qfleet_engine::Error::Input(problems) => Error::Input(problems),
            qfleet_engine::Error::File(file) => Error::Usage(Usage::StackFile(file)),
            qfleet_engine::Error::Internal(why) => Error::aws(why),
            other => Error::Usage(Usage::Engine(other)),
        }
    }
}

/// A stack file's problems are invalid input; a file that cannot be found or read, a usage
/// error: both exit 2.
impl From<crate::config::Error> for Error {
    fn from(e: crate::config::Error) -> Self {
        match e {
            crate::config::Error::Input(problems) => Error::Input(problems),
            crate::config::Error::File(file) => Error::Usage(Usage::StackFile(file)),
        }
    }
}
