//! The preview of an environment's stacks as one block of text (printed with the question, or
//! on its own), and the events that say the same in JSON.

use super::event::Event;
use super::event::Reporter;
use super::prepare::Prepared;
use crate::changes as preview;

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
        if let Some(named) = sources_named(&p.desired.template, list) {
            lines.push(format!("{name}: {named}"));
        }
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
                    Some(api) if reporter.first_not_served(&api.api()) => {
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
                super::changeset::describe_loss(c)
            ));
            reporter.event(Event::Warning {
                environment: None,
                stack: Some(name.clone()),
                change: Some(c.clone()),
                message: super::changeset::describe_loss(c),
            });
        }
    }
    lines.join("\n")
}

/// What the changed topic subscriptions and schedules are, by their logical ids (a hash of
/// the topic's ARN or the schedule's name, which says nothing to a reader), from the template
/// deployed: `Schedule842bd2b0 is schedule nightly`. A removed one is no longer in the
/// template, and is left unnamed.
fn sources_named(template: &str, changes: &[crate::aws::ResourceChange]) -> Option<String> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(template).ok()?;
    let named: Vec<String> = changes
        .iter()
        .filter_map(|c| {
            let props = &doc["Resources"][c.logical_id.as_str()]["Properties"];
            match c.resource_type.as_str() {
                "AWS::Scheduler::Schedule" => props["Name"]
                    .as_str()
                    .map(|n| format!("{} is schedule {n}", c.logical_id)),
                // The topic sources' subscriptions name their topic's ARN; the uploads' refers
                // to the stack's own topic.
                "AWS::SNS::Subscription" => props["TopicArn"]
                    .as_str()
                    .filter(|arn| arn.starts_with("arn:"))
                    .map(|arn| format!("{} subscribes the queue to {arn}", c.logical_id)),
                _ => None,
            }
        })
        .collect();
    (!named.is_empty()).then(|| named.join("; "))
}

/// The note for an endpoint that does not serve the call that reads the pre-deployment
/// validation: said once a run, whatever the stacks.
fn not_served_note(api: &crate::aws::NotServed) -> String {
    format!(
        "note: this endpoint does not serve {}; pre-deployment validation results are not shown (CloudFormation still runs its checks when the change set executes)",
        api.api()
    )
}

#[cfg(test)]
mod tests {
    use crate::aws::ResourceChange as Change;
    use aws_sdk_cloudformation::types::ChangeAction;

    /// A source's hashed logical id is named in the preview: the schedule by its name, a topic
    /// source's subscription by its topic; the uploads' subscription and a removed source (no
    /// longer in the template) are not.
    #[test]
    fn changed_sources_are_named_by_what_they_are() {
        let env = crate::config::parse(
            "stacks/feeds.yaml".into(),
            "region: eu-west-1\nlab: true\nsources:\n  topics:\n    - arn: arn:aws:sns:eu-west-1:444455556666:orders\n  schedules:\n    - {name: nightly, cron: 0 2 * * ? *}\n"
                .into(),
        )
        .unwrap()
        .into_only();
        let data = crate::render::render(&env).unwrap().remove(0).template;
        let deployed = crate::render::deployed_sources(&env);
        let change = |id: &str, ty: &str| Change {
            action: ChangeAction::Add,
            logical_id: id.into(),
            resource_type: ty.into(),
            replacement: None,
            details: None,
            drift: None,
        };
        let changes = [
            change(&deployed[0].logical_id, "AWS::SNS::Subscription"),
            change(&deployed[1].logical_id, "AWS::Scheduler::Schedule"),
            change("Subscription", "AWS::SNS::Subscription"),
            change("Schedule00000000", "AWS::Scheduler::Schedule"),
            change("Queue", "AWS::SQS::Queue"),
        ];
        assert_eq!(
            super::sources_named(&data, &changes).as_deref(),
            Some(
                format!(
                    "{} subscribes the queue to arn:aws:sns:eu-west-1:444455556666:orders; {} is schedule nightly",
                    deployed[0].logical_id, deployed[1].logical_id
                )
                .as_str()
            )
        );
        assert_eq!(super::sources_named(&data, &changes[2..]), None);
    }
}
