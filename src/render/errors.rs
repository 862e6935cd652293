//! The errors of `qfleet render`, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2.

use std::path::PathBuf;

crate::error::classes!(usage: Usage);

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
