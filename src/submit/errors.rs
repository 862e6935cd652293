//! The errors of `qfleet submit`, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2.

use std::path::PathBuf;

crate::error::classes!(usage: Usage);

/// A flag, a name or a file this feature cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
    /// `submit --lines`: a line that is not a job SQS and the workers take.
    #[error("{}:{line}: {why}", .path.display())]
    JobLine {
        path: PathBuf,
        line: usize,
        why: String,
    },
}
