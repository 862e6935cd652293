//! The errors of the jobs a user follows, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2
//! and a `Refusal` 4.

use std::path::PathBuf;

crate::error::classes!(usage: Usage, refused: Refusal);

/// A flag, a name or a file this feature cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
    #[error("cannot read {}: {source}", .path.display())]
    JobUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `jobs` (or a job lookup) for an environment without `jobs:`.
    #[error(
        "{env} has no job table: add `jobs: {{}}` to its stack file and deploy it (docs/jobs.md)"
    )]
    NoJobTable { env: String },
    /// `jobs ID --cancel` of a job the table has no record of.
    #[error("{env}: no job with id or upload key {id} in the job table {table}: nothing to cancel")]
    NoJob {
        env: String,
        id: String,
        table: String,
    },
    /// `jobs --state` with a word that is not a state.
    #[error("--state {state}: a job's state is one of {allowed}")]
    JobState { state: String, allowed: String },
}

/// Why this feature would not go on: data would be lost, or what it would act on is not
/// its own (exit 4).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// `jobs ID --cancel` of a job none of whose records waits in its queue.
    #[error(
        "{env}: job {id} is not waiting in its queue ({}): only a queued or retrying job can be cancelled; nothing was changed. A job a worker holds finishes or fails as it would",
        .states.join(", ")
    )]
    JobNotWaiting {
        env: String,
        id: String,
        states: Vec<String>,
    },
}
