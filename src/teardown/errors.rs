//! The errors of a teardown, in their own words.
//! [`crate::error`] keeps the exit codes: through [`crate::error::Of`], a `Usage` exits 2
//! and a `Refusal` 4.

crate::error::classes!(usage: Usage, refused: Refusal, refused: TeardownRefusal);

/// A flag, a name or a file this feature cannot act on (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Usage {
    #[error(
        "{env}: --stage {stage} names no stage of the stack file, or comes without --only fleet"
    )]
    TeardownStage { env: String, stage: String },
}

/// Why this feature would not go on: data would be lost, or what it would act on is not
/// its own (exit 4).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// A teardown without `--yes` and no terminal to ask on.
    #[error(
        "not deleting {} without confirmation: no terminal to ask on; pass --yes",
        .stacks.join(", ")
    )]
    TeardownUnconfirmed { stacks: Vec<String> },
    /// Objects written to the bucket while it was being emptied.
    #[error(
        "{env}: {} arrived in bucket {bucket} while it was being emptied; they and the data stack were kept. Run the teardown again",
        count_objects(*.objects)
    )]
    ObjectsArrived {
        env: String,
        bucket: String,
        objects: u64,
    },
}

/// `3 objects`, `1 object`, `1,200 objects`.
fn count_objects(n: u64) -> String {
    format!(
        "{} {}",
        indicatif::HumanCount(n),
        if n == 1 { "object" } else { "objects" }
    )
}

/// A teardown's refusal, every reason at once (the reasons themselves are the teardown's, in
/// its JSON `refusals`; here each as its description).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct TeardownRefusal {
    pub(crate) env: String,
    /// Each reason, described.
    pub(crate) reasons: Vec<String>,
    /// The flags that would allow the losses, each once.
    pub(crate) flags: Vec<&'static str>,
    /// A bucket or queue holds data.
    pub(crate) holds_data: bool,
    /// Something could not be checked.
    pub(crate) unchecked: bool,
    /// Refused when checked again after the fleet was deleted (the data stack stays).
    pub(crate) rechecked: bool,
    /// A fleet stack may be left (`--only fleet` would tear it down and keep the data).
    pub(crate) fleet_left: bool,
}

impl TeardownRefusal {
    fn message(&self) -> String {
        let mut msg = format!(
            "{}: nothing was deleted: {}.",
            self.env,
            self.reasons.join("; ")
        );
        if self.holds_data {
            msg.push_str(&format!(
                " To delete it anyway pass {}",
                self.flags.join(" and ")
            ));
            if self.fleet_left {
                msg.push_str(", or tear down only the workers with --only fleet");
            }
        } else if !self.flags.is_empty() {
            msg.push_str(&format!(" Pass {} to go ahead", self.flags.join(" and ")));
        }
        if self.unchecked {
            msg.push_str(" Nothing is deleted on a guess: run the teardown again when AWS answers");
        }
        if self.rechecked {
            msg.push_str(" (checked again after the fleet was deleted; the data stack stays)");
        }
        msg
    }
}
