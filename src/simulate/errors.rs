//! The errors of `qfleet simulate`, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2.

use std::path::PathBuf;

crate::error::classes!(usage: Usage);

/// A flag, a name or a file this feature cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
    #[error("--chart: cannot draw the chart: {why}")]
    ChartUndrawable { why: String },
    #[error("--chart {}: cannot write it: {source}", .path.display())]
    ChartUnwritable {
        path: PathBuf,
        source: std::io::Error,
    },
}
