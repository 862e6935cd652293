//! The errors of `qfleet send`, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2.

crate::error::classes!(usage: Usage);

/// A flag, a name or a file this feature cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
    /// `send --until queue` where a look could send the job to the dead-letter queue.
    #[error(
        "--until queue looks into the job queue, and each look counts as a receive toward queue.max_receive_count ({max_receive_count}): a single look could send a job to the dead-letter queue. Use --until processed"
    )]
    UntilQueue { max_receive_count: i64 },
    /// `send` to an environment whose uploads feed no queue (`sources.uploads: false`).
    #[error(
        "{env} takes no uploads (sources.uploads: false), so an uploaded file would make no job: send a job with `qfleet submit {env} BODY`"
    )]
    NoUploads { env: String },
    /// An object key outside the bucket's upload prefix.
    #[error("{key} is not under the upload prefix {prefix}")]
    NotUnderPrefix { key: String, prefix: String },
}
