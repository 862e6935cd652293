//! Interruptions (exit 130): the user pressed Ctrl-C. Each variant carries what was done and
//! what was not, as its message tells it.

/// What Ctrl-C stopped, and where it left things.
#[derive(Debug, thiserror::Error)]
pub enum Interruption {
    /// A deploy or plan stopped waiting; `notes`: what each environment had done and what it
    /// left behind (change sets in flight, stacks mid-update).
    #[error("interrupted: stopped waiting.\n  {}", .notes.join("\n  "))]
    Deploy { notes: Vec<String> },
    /// A teardown stopped waiting and starts nothing more; `notes`: what each environment had
    /// done.
    #[error(
        "interrupted: stopped waiting; nothing more is started.\n  {}",
        .notes.join("\n  ")
    )]
    Teardown { notes: Vec<String> },
    /// A redrive cancelled: the messages moved so far are in `queue`, the rest still in
    /// `dead_letter`; `target` is how `qfleet dlq` names the queue's owner.
    #[error(
        "{env}: the redrive was cancelled; the messages moved so far stay in {queue}, the rest in {dead_letter}; `qfleet dlq {target} redrive` starts it again"
    )]
    Redrive {
        env: String,
        queue: String,
        dead_letter: String,
        target: String,
    },
}
