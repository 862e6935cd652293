//! Refusals (exit 4): qfleet would not go on, because data would be lost or what it would act
//! on is not its own. A feature's own refusals are its `errors` module's, held here as
//! [`Refusal::Of`]; a deploy's loss of data is refused here, for the direct and the StackSets
//! modes alike. Each variant carries what was at stake; its message says what was not
//! done and how to go ahead.

/// Why qfleet refused to go on.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    // deploy
    /// The change sets lose data and `--allow-replacement` was not given.
    #[error(
        "{env}: the change sets remove or replace {} holding data; nothing was executed. Review them with `qfleet plan {env}` and pass --allow-replacement to go ahead",
        loss_list(.losses)
    )]
    DataLoss { env: String, losses: Vec<Loss> },

    /// A feature's own refusal (placement's, …), in its words.
    #[error(transparent)]
    Of(super::Of),
}

/// A resource a change set removes or replaces, and its stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    pub(crate) resource: String,
    pub(crate) stack: String,
}

fn loss_list(losses: &[Loss]) -> String {
    losses
        .iter()
        .map(|l| format!("{} ({})", l.resource, l.stack))
        .collect::<Vec<_>>()
        .join(", ")
}
