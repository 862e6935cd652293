//! Interruptions (exit 130; 143 for SIGTERM, 129 for SIGHUP, see [`super::signal`]): the user
//! pressed Ctrl-C, or the run was told to stop. Each variant carries, per environment, what was
//! done and what was not (as fields in JSON, [`Stopped`]), and its message tells the same.

use serde::Serialize;

/// What Ctrl-C stopped, and where it left things.
#[derive(Debug, thiserror::Error)]
pub enum Interruption {
    /// A deploy or plan stopped waiting; where it left each environment (change sets in
    /// flight, stacks mid-update).
    #[error("interrupted{}: stopped waiting.{}", by(), lines(.environments))]
    Deploy { environments: Vec<Stopped> },
    /// A teardown stopped waiting and starts nothing more; where it left each environment.
    #[error(
        "interrupted{}: stopped waiting; nothing more is started.{}",
        by(),
        lines(.environments)
    )]
    Teardown { environments: Vec<Stopped> },
    /// A redrive cancelled: the messages moved so far are in `queue`, the rest still in
    /// `dead_letter`; `target` is how `qfleet dlq` names the queue's owner; `cancelled`: SQS
    /// answered the cancel in time (else the move task may carry on on its own).
    #[error(
        "{env}: the redrive was {}; the messages moved so far stay in {queue}, the rest in {dead_letter}; `qfleet dlq {target} redrive` starts it again",
        if *.cancelled { "cancelled" } else { "stopped, but SQS did not confirm its cancel: the move task may carry on moving them" }
    )]
    Redrive {
        env: String,
        queue: String,
        dead_letter: String,
        target: String,
        cancelled: bool,
    },
    /// `submit --wait` stopped following the job it sent, which goes on without it.
    #[error("{0}")]
    Followed(Box<Followed>),
    /// `submit` stopped before SQS answered its send: the job's message may be out. `follow`
    /// is the command that shows whether a worker took it.
    #[error(
        "{env}: interrupted before SQS confirmed job {id}'s message: it may have been sent; `{follow}` shows whether a worker took it"
    )]
    Submitting {
        env: String,
        id: String,
        follow: String,
    },
    /// The run could not say in time where it left each environment: the document is written
    /// within seconds of the signal, whatever the run was doing.
    #[error(
        "interrupted{}: stopped before it could say where it left each environment; `qfleet status ENV` shows where each stands, and running the command again carries on",
        by()
    )]
    Unsaid,
}

impl Interruption {
    /// Where the run left each environment (empty when it could not say).
    pub(crate) fn stopped(&self) -> &[Stopped] {
        match self {
            Interruption::Deploy { environments } | Interruption::Teardown { environments } => {
                environments
            }
            Interruption::Redrive { .. }
            | Interruption::Followed(_)
            | Interruption::Submitting { .. }
            | Interruption::Unsaid => &[],
        }
    }
}

/// The job an interrupted `submit --wait` sent and stopped following: `follow` is the command
/// that shows where it is (sending it again would make a second job).
#[derive(Debug, thiserror::Error)]
#[error(
    "{env}: stopped following job {id} ({state}); it was sent (message {message}) and goes on without this command: `{follow}` shows where it is"
)]
pub struct Followed {
    pub env: String,
    pub id: String,
    pub message: String,
    /// Its state as last read (`no record yet`).
    pub state: String,
    pub follow: String,
}

/// Where an interrupted run left one environment, said before its cleanup starts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Stopped {
    pub environment: String,
    /// Where its stacks are: the Region, and the account when the run knew it.
    pub region: String,
    pub account: Option<String>,
    /// The steps that ended, as each ended.
    pub done: Vec<String>,
    /// Steps CloudFormation carries on with after qfleet stops.
    pub under_way: Vec<String>,
    /// Steps the run never began.
    pub not_started: Vec<String>,
    /// What the run leaves to clean up, and how it goes.
    pub left_behind: Vec<LeftBehind>,
}

/// One thing an interrupted run leaves: being cleaned up as the run ends, else by the next run.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LeftBehind {
    pub what: String,
    /// How it goes: this run deletes it as it ends, else the command named here does.
    pub cleanup: String,
}

/// One line per environment, each beginning on a line of its own.
fn lines(environments: &[Stopped]) -> String {
    environments
        .iter()
        .map(|s| format!("\n  {}", line(s)))
        .collect()
}

/// `lab (eu-west-1, 123456789012): done: …; under way: …; not started: …; left behind: …`.
fn line(s: &Stopped) -> String {
    let mut parts = Vec::new();
    parts.push(if s.done.is_empty() {
        "nothing done".to_string()
    } else {
        format!("done: {}", s.done.join(", "))
    });
    if !s.under_way.is_empty() {
        parts.push(format!(
            "under way: {} (CloudFormation carries on; run the command again to follow it)",
            s.under_way.join(", ")
        ));
    }
    if !s.not_started.is_empty() {
        parts.push(format!("not started: {}", s.not_started.join(", ")));
    }
    for l in &s.left_behind {
        parts.push(format!("left behind: {} ({})", l.what, l.cleanup));
    }
    let place = match &s.account {
        Some(a) => format!("{}, {a}", s.region),
        None => s.region.clone(),
    };
    format!("{} ({place}): {}", s.environment, parts.join("; "))
}

/// ` by SIGTERM` (or SIGHUP) when a signal other than Ctrl-C stopped the run.
fn by() -> String {
    match super::signal::received() {
        Some(s) if s != super::Signal::Interrupt => format!(" by {}", s.name()),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_says_per_environment_what_the_fields_hold() {
        let stopped = Stopped {
            environment: "lab".into(),
            region: "eu-west-1".into(),
            account: Some("123456789012".into()),
            done: vec!["deployed qfleet-lab-data".into()],
            under_way: vec!["deploy qfleet-lab-fleet".into()],
            not_started: vec![],
            left_behind: vec![LeftBehind {
                what: "the change set of qfleet-lab-x".into(),
                cleanup: "deleted as this run ends".into(),
            }],
        };
        let e = Interruption::Deploy {
            environments: vec![
                stopped,
                Stopped {
                    environment: "b".into(),
                    region: "us-east-1".into(),
                    ..Stopped::default()
                },
            ],
        };
        assert_eq!(
            e.to_string(),
            "interrupted: stopped waiting.\n  lab (eu-west-1, 123456789012): done: deployed qfleet-lab-data; under way: deploy qfleet-lab-fleet (CloudFormation carries on; run the command again to follow it); left behind: the change set of qfleet-lab-x (deleted as this run ends)\n  b (us-east-1): nothing done"
        );
        assert_eq!(e.stopped().len(), 2);
        assert!(Interruption::Unsaid.stopped().is_empty());
    }
}
