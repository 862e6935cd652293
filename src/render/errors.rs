//! The errors of `qfleet render`, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2.

use crate::error::Error;
use std::path::PathBuf;

/// A flag, a name or a file this feature cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
    #[error("--out {}: cannot create it: {source}", .dir.display())]
    OutDirUncreatable {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("--out {}: cannot write {}: {source}", .dir.display(), .path.display())]
    OutFileUnwritable {
        dir: PathBuf,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<Usage> for Error {
    fn from(e: Usage) -> Self {
        Error::Usage(crate::error::Usage::Of(crate::error::Of::new(e)))
    }
}
