//! Interruptions (exit 130; 143 for SIGTERM, 129 for SIGHUP, see [`super::signal`]): the user
//! pressed Ctrl-C, or the run was told to stop. Each variant carries what was done and what was
//! not, as its message tells it.

/// What Ctrl-C stopped, and where it left things.
#[derive(Debug, thiserror::Error)]
pub enum Interruption {
    /// A deploy or plan stopped waiting; `notes`: what each environment had done and what it
    /// left behind (change sets in flight, stacks mid-update).
    #[error("interrupted{}: stopped waiting.\n  {}", by(), .notes.join("\n  "))]
    Deploy { notes: Vec<String> },
    /// A teardown stopped waiting and starts nothing more; `notes`: what each environment had
    /// done.
    #[error(
        "interrupted{}: stopped waiting; nothing more is started.\n  {}",
        by(),
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

/// ` by SIGTERM` (or SIGHUP) when a signal other than Ctrl-C stopped the run.
fn by() -> String {
    match super::signal::received() {
        Some(s) if s != super::Signal::Interrupt => format!(" by {}", s.name()),
        _ => String::new(),
    }
}
