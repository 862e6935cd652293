//! The errors of the lock of one run at a time, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Refusal` exits 4.

crate::error::classes!(refused: Refusal);

/// Why this feature would not go on: data would be lost, or what it would act on is not
/// its own (exit 4).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// Another run holds the environment's lock: it is changing the environment now.
    #[error(
        "{env} is being changed by another run: {by}, its lock last renewed {renewed}; nothing was changed. Run again when it ends (a run that crashed frees the lock {lease} minutes after its last renewal)"
    )]
    Locked {
        env: String,
        by: String,
        renewed: String,
        lease: u64,
    },
    /// The run's lock was taken over (or could not be confirmed) before its first change:
    /// another run may be changing the environment.
    #[error(
        "{env}: this run's lock could not be confirmed before its first change ({why}); nothing was changed. Another run may be changing {env}: check it with `qfleet status {env}`, then run again"
    )]
    LockLost { env: String, why: String },
}
