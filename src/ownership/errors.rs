//! The errors of what qfleet may act on, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Refusal` exits 4.

use std::path::PathBuf;

crate::error::classes!(refused: Refusal);

/// Why this feature would not go on: data would be lost, or what it would act on is not
/// its own (exit 4).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// The credentials' account is not one the stack file (`file`) allows.
    #[error(
        "{env}: the credentials are for account {account}, and {} allows only {} (accounts); nothing was read or changed. Use credentials of an allowed account, or add this one to accounts",
        .file.display(),
        .allowed.join(", ")
    )]
    WrongAccount {
        env: String,
        account: String,
        file: PathBuf,
        allowed: Vec<String>,
    },
    /// A stack with the environment's name but without qfleet's marks for it (`lacks`).
    #[error(
        "{env}: stack {stack} is not qfleet's for environment {env}: it lacks {}. qfleet changes only the stacks it created for this environment; nothing was changed. If this stack file should manage it, `qfleet plan {env} --adopt` previews taking it over and `qfleet deploy {env} --adopt` does it (its template becomes qfleet's: resources qfleet's template does not declare are deleted)",
        .lacks.join(" and ")
    )]
    StackNotOurs {
        env: String,
        stack: String,
        lacks: Vec<String>,
    },
}
