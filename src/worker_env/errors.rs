//! The errors of `qfleet env` and `qfleet dev`, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2
//! and a `Refusal` 4.

crate::error::classes!(usage: Usage, refused: Refusal);

/// A flag, a name or a file this feature cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
    /// `dev` for a function: Lambda polls its queue and calls the handler.
    #[error(
        "{env}'s workers are a Lambda function: Lambda polls the queue and calls the handler, so there is no worker for qfleet dev to run here; `qfleet env {env}` prints the function's variables"
    )]
    DevFunction { env: String },
    /// `dev --as-workers` where the workers' role trusts no developer.
    #[error(
        "{env}: --as-workers needs the workers' role to trust you: add your role's or user's ARN to workers.dev_principals and deploy (an opt-in: they may then do all the workers may)"
    )]
    DevAsWorkersNotTrusted { env: String },
}

/// Why this feature would not go on: data would be lost, or what it would act on is not
/// its own (exit 4).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// `dev` on a protected environment, without `--on-protected`.
    #[error(
        "{env} is protected: a worker run by `qfleet dev` takes its real jobs from its queue; nothing was started. Give --on-protected to run it there anyway"
    )]
    DevOnProtected { env: String },
}
