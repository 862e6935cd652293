//! What the engine refuses: a stack file's located problems, a StackSets file whose targets
//! do not merge, a policy IAM would not take, or a template of its own it cannot read back.
//! The root crate maps each to its exit code (`src/error/`): the first three are invalid
//! input (exit 2), the last an operation that failed (exit 1).

use crate::config::{FileError, InputError};
use std::path::PathBuf;

/// Everything rendering templates or making policies fails with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more problems in a stack file, each located.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Input(Vec<InputError>),
    /// A stack file that could not be found or read.
    #[error(transparent)]
    File(FileError),
    /// A StackSets file whose targets cannot share one template.
    #[error(
        "{}: the targets cannot be deployed as stack sets: {why}; make the targets differ only in values a stack set's template can look up (not in which settings or how many list items they have, nor in workers.min; docs/targets.md, StackSets mode), or use rollout.mode: direct",
        file.display()
    )]
    StackSets { file: PathBuf, why: String },
    /// A StackSets target without an account (validation refuses such a file).
    #[error(
        "{env} is deployed through CloudFormation StackSets (rollout.mode: stack_sets) and names no account: give the target its account"
    )]
    StackSetsTargetWithoutAccount { env: String },
    /// The built-in IAM reference cannot be read.
    #[error(
        "this qfleet's built-in IAM reference (crates/qfleet-engine/src/iam/reference.json) cannot be read: {why}; regenerate it with scripts/iam-reference"
    )]
    IamReference { why: String },
    /// More policy documents than IAM lets one principal (`who`) have (`max`).
    #[error(
        "{who} would need {count} managed policies, more than the {max} IAM lets a role or user have: print the policy for fewer environments at a time and give each group its own principal, or give the environments a CloudFormation service role (service_role_arn): the caller then keeps only qfleet's own calls, and the handlers' permissions go to the service role"
    )]
    TooManyPolicies {
        who: String,
        count: usize,
        max: usize,
    },
    /// A rendered template that does not parse.
    #[error("a rendered template does not parse: {source}")]
    TemplateUnparsable { source: serde_yaml_ng::Error },
    /// A resource type the IAM reference does not list.
    #[error(
        "the templates declare {resource_type}, which crates/qfleet-engine/src/iam/reference.json does not list: add it to scripts/iam-reference and run it"
    )]
    UnlistedResourceType { resource_type: String },
    /// Problems the checks of a rendered template found ([`crate::render::check`]).
    #[error("the rendered templates of {env} have problems:\n  {}", .problems.join("\n  "))]
    TemplateProblems { env: String, problems: Vec<String> },
    /// A template of qfleet's own that it cannot read back (a fault of qfleet's, not the
    /// file's): the message names the environment and what could not be read.
    #[error("{0}")]
    Internal(String),
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(vec![e])
    }
}

impl From<crate::config::Error> for Error {
    fn from(e: crate::config::Error) -> Self {
        match e {
            crate::config::Error::Input(problems) => Error::Input(problems),
            crate::config::Error::File(file) => Error::File(file),
        }
    }
}

impl Error {
    /// A template of qfleet's own it cannot read back.
    pub(crate) fn internal(msg: impl std::fmt::Display) -> Error {
        Error::Internal(msg.to_string())
    }
}

/// What rendering and policies return.
pub type Result<T, E = Error> = std::result::Result<T, E>;
