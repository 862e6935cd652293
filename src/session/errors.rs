//! The errors of a command line's environments and stages, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2.

crate::error::classes!(usage: Usage);

/// A flag, a name or a file this feature cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
    /// `--region` or `--role-arn` for a target of a stack file, which names its own.
    #[error(
        "{flag} does not go with {env}, a target of {file}: the target names its own {what}; name the file's targets in a run without {flag}"
    )]
    TargetFlag {
        flag: &'static str,
        env: String,
        file: String,
        /// `region`, or `role`.
        what: &'static str,
    },
    /// `--stage` for a stack file (`file`) without stages.
    #[error("--stage {stage}: {file} declares no stages; leave --stage out")]
    NoStages { stage: String, file: String },
    /// `--stage` naming no stage of the stack file.
    #[error("--stage {stage}: {file} has no such stage; its stages are {}", .stages.join(", "))]
    UnknownStage {
        stage: String,
        file: String,
        stages: Vec<String>,
    },
}
