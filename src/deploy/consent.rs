//! Whether an environment's changes may be executed: with `--yes`, after one question on a
//! terminal, or not at all. A change that loses data needs `--allow-replacement` with `--yes`,
//! and on a terminal the question says data would be lost.

use super::Options;
use crate::aws::ResourceChange as Change;
use crate::error::{self, Error, Refusal};

/// A change that would lose data, and the stack it belongs to.
pub(super) struct Loss<'a> {
    pub(super) stack: &'a str,
    pub(super) change: &'a Change,
}

/// What to do before executing an environment's change sets.
#[derive(Debug)]
pub(super) enum Decision {
    Go,
    /// Ask on the terminal; the question says whether data would be lost.
    Ask {
        loses_data: bool,
    },
    /// Execute nothing.
    Refuse(Error),
}

/// Decides, from the flags and the terminal, what to do about an environment whose stacks
/// have changes (`losses`: those that lose data).
pub(super) fn decide(env: &str, losses: &[Loss], opts: &Options) -> Decision {
    if !losses.is_empty() && opts.yes && !opts.allow_replacement {
        return Decision::Refuse(
            Refusal::DataLoss {
                env: env.to_string(),
                losses: losses
                    .iter()
                    .map(|l| error::Loss {
                        resource: l.change.logical_id.clone(),
                        stack: l.stack.to_string(),
                    })
                    .collect(),
            }
            .into(),
        );
    }
    if opts.yes {
        return Decision::Go;
    }
    if !opts.can_prompt {
        return Decision::Refuse(
            crate::deploy::errors::Usage::ChangeSetsUnconfirmed {
                env: env.to_string(),
            }
            .into(),
        );
    }
    Decision::Ask {
        loses_data: !losses.is_empty(),
    }
}

/// The question, the same shape as teardown's: `lab: deploy these changes (qfleet-lab-data,
/// then qfleet-lab-fleet)?`, or, when data would be lost, saying so first.
pub(super) fn question(env: &str, stacks: &[&str], losses: &[Loss]) -> String {
    let lost: Vec<String> = losses
        .iter()
        .map(|l| format!("{} in {}", l.change.logical_id, l.stack))
        .collect();
    crate::output::question_text(
        env,
        &format!("deploy these changes ({})", stacks.join(", then ")),
        &lost,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::{ChangeAction, Replacement};

    fn queue_replaced() -> Change {
        Change {
            action: ChangeAction::Modify,
            logical_id: "Queue".into(),
            resource_type: "AWS::SQS::Queue".into(),
            replacement: Some(Replacement::True),
            details: Some(vec![]),
            drift: None,
        }
    }

    fn opts(yes: bool, allow: bool, tty: bool) -> Options {
        Options {
            yes,
            allow_replacement: allow,
            can_prompt: tty,
            ..Default::default()
        }
    }

    #[test]
    fn the_flags_and_the_terminal_decide() {
        let q = queue_replaced();
        let loss = [Loss {
            stack: "qfleet-lab-data",
            change: &q,
        }];
        let decide = |losses: &[Loss], o: Options| decide("lab", losses, &o);
        assert!(matches!(
            decide(&[], opts(true, false, false)),
            Decision::Go
        ));
        assert!(matches!(
            decide(&loss, opts(true, false, true)),
            Decision::Refuse(Error::Refused(Refusal::DataLoss { env, losses }))
                if env == "lab" && losses == [error::Loss { resource: "Queue".into(), stack: "qfleet-lab-data".into() }]
        ));
        assert!(matches!(
            decide(&loss, opts(true, true, false)),
            Decision::Go
        ));
        let Decision::Refuse(e) = decide(&[], opts(false, false, false)) else {
            panic!("not refused without a terminal or --yes")
        };
        assert!(matches!(
            e.of(),
            Some(crate::deploy::errors::Usage::ChangeSetsUnconfirmed { env }) if env == "lab"
        ));
        assert_eq!(e.exit_code(), crate::error::Exit::Input);
        assert!(matches!(
            decide(&[], opts(false, false, true)),
            Decision::Ask { loses_data: false }
        ));
        // --allow-replacement does not answer the question: it is asked, saying data is lost.
        assert!(matches!(
            decide(&loss, opts(false, true, true)),
            Decision::Ask { loses_data: true }
        ));
    }

    #[test]
    fn the_question_names_the_stacks_in_order_and_any_loss_first() {
        let stacks = ["qfleet-lab-data", "qfleet-lab-fleet"];
        assert_eq!(
            question("lab", &stacks, &[]),
            "lab: deploy these changes (qfleet-lab-data, then qfleet-lab-fleet)?"
        );
        let q = queue_replaced();
        let loss = [Loss {
            stack: "qfleet-lab-data",
            change: &q,
        }];
        assert_eq!(
            question("lab", &stacks[..1], &loss),
            "lab: DATA WOULD BE LOST (Queue in qfleet-lab-data). Deploy these changes (qfleet-lab-data) anyway?"
        );
    }
}
