//! The preview of an environment's stacks as one block of text (printed with the question, or
//! on its own), and the events that say the same in JSON.

use super::event::Event;
use super::event::Reporter;
use super::prepare::Prepared;
use crate::output::changes as preview;

/// The preview of both stacks as one block (printed with the question, or on its own), and
/// the events that say the same in JSON.
pub(super) fn block(prepared: &[Prepared], reporter: &Reporter) -> String {
    let mut lines = Vec::new();
    for p in prepared {
        let name = &p.desired.name;
        for n in &p.notes {
            lines.push(if n.starts_with(name.as_str()) {
                n.clone()
            } else {
                format!("{name}: {n}")
            });
        }
        if !p.has_changes() {
            lines.push(format!("{name}: no changes"));
            continue;
        }
        let list = p.changes();
        lines.push(preview::heading(name, p.creating(), list.len()));
        lines.push(preview::changes(list));
        reporter.event(Event::Changes {
            stack: name.clone(),
            creating: Some(p.creating()),
            import: None,
            changes: list.to_vec(),
        });
        if let Some((from, to)) = super::changeset::kind_switch(list) {
            let text = super::changeset::describe_switch(from, to);
            lines.push(format!("{name}: {text}"));
            reporter.event(Event::Switch {
                stack: name.clone(),
                from: from.to_string(),
                to: to.to_string(),
                message: text,
            });
        }
        if let Some((cs, _)) = p.change_set() {
            for v in cs.warnings() {
                let text = format!("pre-deployment validation {}", v.describe());
                lines.push(format!("WARNING: {name}: {text}"));
                reporter.event(Event::Validation {
                    stack: name.clone(),
                    validation: v.clone(),
                    message: text,
                });
            }
            if let Some(why) = &cs.validation_unread {
                let text = format!(
                    "CloudFormation's pre-deployment validation results could not be read ({why}); its checks still run when the change set executes"
                );
                // An endpoint that does not serve the call is said once a run, as that.
                match why.not_served() {
                    Some(api) if reporter.first_not_served(api) => {
                        lines.push(not_served_note(api));
                    }
                    Some(_) => {}
                    None => lines.push(format!("{name}: {text}")),
                }
                reporter.event(Event::ValidationUnread {
                    stack: name.clone(),
                    message: text,
                });
            }
        }
        for c in list.iter().filter(|c| c.loses_data()) {
            lines.push(format!(
                "WARNING: {name}: this change {}",
                c.describe_loss()
            ));
            reporter.event(Event::Warning {
                environment: None,
                stack: Some(name.clone()),
                change: Some(c.clone()),
                message: c.describe_loss(),
            });
        }
    }
    lines.join("\n")
}

/// The note for an endpoint that does not serve the call that reads the pre-deployment
/// validation: said once a run, whatever the stacks.
fn not_served_note(api: &crate::aws::NotServed) -> String {
    format!(
        "note: this endpoint does not serve {}; pre-deployment validation results are not shown (CloudFormation still runs its checks when the change set executes)",
        api.api()
    )
}
