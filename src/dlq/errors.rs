//! The errors of the dead-letter queue, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2
//! and a `Refusal` 4.

crate::error::classes!(usage: Usage, refused: Refusal);

/// A flag, a name or a file this feature cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
    /// `dlq show` of a pipeline: no stage's dead-letter queue holds the message.
    #[error(
        "{env}: no message {id} in any stage's dead-letter queue (`qfleet dlq {env} list` shows the ids)"
    )]
    NoMessageInAnyStage { env: String, id: String },
    /// `dlq show` of one queue (`who`: the environment, or its stage) without the message.
    #[error(
        "{who}: no message {id} in the dead-letter queue (`qfleet dlq {env} list` shows the ids)"
    )]
    NoMessage {
        who: String,
        env: String,
        id: String,
    },
    /// `dlq redrive --job` of a job with no message in the dead-letter queue.
    #[error(
        "{who}: no message of job {job} in the dead-letter queue (`qfleet dlq {env} list` names each message's jobs; `qfleet jobs {env} {job_arg}` says where the job is)"
    )]
    NoDeadLetterOfJob {
        who: String,
        env: String,
        job: String,
        /// The job's id as the command's last argument, shell-quoted.
        job_arg: String,
    },
    /// `dlq redrive` or `purge` of a pipeline without `--stage`.
    #[error(
        "dlq {action}: {env} is a pipeline with a dead-letter queue per stage; name the one to {action} with --stage ({})",
        .stages.join(", ")
    )]
    StageNeeded {
        action: &'static str,
        env: String,
        stages: Vec<String>,
    },
}

/// Why this feature would not go on: data would be lost, or what it would act on is not
/// its own (exit 4).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// `dlq purge --confirm N` where the queue holds another count.
    #[error(
        "{env}: {queue} holds {held} messages, not {confirmed}: nothing was deleted; look again (`qfleet dlq {target} list`) and confirm the count it holds"
    )]
    PurgeCountMismatch {
        env: String,
        queue: String,
        held: u64,
        confirmed: u64,
        /// How the command names the queue's owner (`ENV` or `ENV --stage STAGE`).
        target: String,
    },
    /// `dlq purge` without `--confirm`.
    #[error(
        "{env}: purging {queue} deletes its {held} messages for good: nothing was deleted; run `qfleet dlq {target} purge --confirm {held}` to delete exactly those"
    )]
    PurgeUnconfirmed {
        env: String,
        queue: String,
        held: u64,
        target: String,
    },
}
