//! `qfleet plan --format markdown`: the preview as Markdown for a pull-request comment. One
//! section per environment with changes, a table per stack (a row per property changed, with
//! its values before and after), the data-loss warnings in bold; one line for each environment
//! without changes, and one for each that could not be planned.

use super::{Action, EnvOutcome, StackOutcome};
use crate::aws::ResourceChange as Change;
use crate::changes::{self as preview, MARKDOWN_WIDTH};

/// A value as inline code that survives a table cell: pipes escaped, a backtick inside handled.
fn code(text: &str) -> String {
    let escaped = text.replace('|', "\\|");
    if escaped.contains('`') {
        format!("`` {escaped} ``")
    } else {
        format!("`{escaped}`")
    }
}

/// Plain text for a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn rows(c: &Change) -> Vec<String> {
    let mark = preview::replacement_mark(c);
    let resource = format!(
        "{} ({}){}",
        code(&c.logical_id),
        cell(&c.resource_type),
        match mark {
            "" => String::new(),
            "REPLACE" => " **replaced**".to_string(),
            other => format!(" **{other}**"),
        }
    );
    let action = preview::action_mark(&c.action);
    let mut out = Vec::new();
    let row = |first: bool, property: String, before: String, after: String, note: String| {
        format!(
            "| {} | {} | {property} | {before} | {after} | {note} |",
            if first { action } else { "" },
            if first { resource.as_str() } else { "" },
        )
    };
    match &c.details {
        None => out.push(row(
            true,
            cell(preview::NOT_DETAILED),
            String::new(),
            String::new(),
            String::new(),
        )),
        Some(details) if details.is_empty() => out.push(row(
            true,
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        )),
        Some(details) => {
            for (i, d) in details.iter().enumerate() {
                let (before, after) = preview::before_after(d, MARKDOWN_WIDTH);
                let mut notes = preview::remarks(d);
                notes.extend(preview::drift_remark(d, MARKDOWN_WIDTH));
                out.push(row(
                    i == 0,
                    code(&d.label()),
                    code(&before),
                    code(&after),
                    cell(&notes.join("; ")),
                ));
            }
        }
    }
    out
}

fn stack(s: &StackOutcome) -> Vec<String> {
    let mut out = Vec::new();
    let heading = match s.action {
        Action::NoChanges => format!("**{}**: no changes", s.stack),
        Action::WouldCreate => format!(
            "**{}**: would be created ({} resource{})",
            s.stack,
            s.changes.len(),
            if s.changes.len() == 1 { "" } else { "s" }
        ),
        other => format!(
            "**{}**: {} ({} change{})",
            s.stack,
            other.text(),
            s.changes.len(),
            if s.changes.len() == 1 { "" } else { "s" }
        ),
    };
    out.push(heading);
    for n in &s.notes {
        out.push(String::new());
        out.push(format!("> {}", cell(n)));
    }
    if s.changes.is_empty() {
        return out;
    }
    out.push(String::new());
    out.push("| | resource | property | before | after | |".into());
    out.push("|---|---|---|---|---|---|".into());
    for c in &s.changes {
        out.extend(rows(c));
    }
    let losses: Vec<&Change> = s.changes.iter().filter(|c| c.loses_data()).collect();
    if !losses.is_empty() {
        out.push(String::new());
        for c in losses {
            out.push(format!(
                "**⚠️ Data loss: {}: this change {}**",
                s.stack,
                cell(&super::changeset::describe_loss(c))
            ));
            out.push(String::new());
        }
        out.pop();
    }
    out
}

/// The Markdown preview of a plan's environments, and of those their files made and no
/// longer make (`found`): each still runs, and counts as a difference (`plan
/// --detailed-exitcode` exits 3), so the comment says so; `differences`: why the run exits 3,
/// said last.
pub(super) fn render(
    outcomes: &[EnvOutcome],
    found: &crate::environments::Found,
    differences: Option<&str>,
) -> String {
    let pending = |o: &EnvOutcome| o.stacks.iter().any(|s| s.action.pending());
    let with_changes: Vec<&EnvOutcome> = outcomes.iter().filter(|o| o.ok && pending(o)).collect();
    let retired = match found.retired.len() {
        0 => String::new(),
        n => format!(
            "; {n} environment{} no longer made still running",
            if n == 1 { "" } else { "s" }
        ),
    };
    let mut out = vec![format!(
        "## qfleet plan: {} of {} environment{} with changes{retired}",
        with_changes.len(),
        outcomes.len(),
        if outcomes.len() == 1 { "" } else { "s" }
    )];
    for o in &with_changes {
        out.push(String::new());
        out.push(format!("### {} ({})", o.environment, o.region));
        for s in &o.stacks {
            out.push(String::new());
            out.extend(stack(s));
        }
    }
    let rest: Vec<String> = outcomes
        .iter()
        .filter(|o| !(o.ok && pending(o)))
        .map(|o| match &o.error {
            Some(e) => format!(
                "- **{}** ({}): could not be planned: {}",
                o.environment,
                o.region,
                cell(&e.message)
            ),
            None => format!("- **{}** ({}): no changes", o.environment, o.region),
        })
        .collect();
    if !rest.is_empty() {
        out.push(String::new());
        out.extend(rest);
    }
    if !(found.retired.is_empty() && found.unchecked.is_empty()) {
        out.push(String::new());
        out.push("### No longer made by their stack files".to_string());
        out.push(String::new());
        for r in &found.retired {
            out.push(format!(
                "- **{}** ({}): {}; it keeps running until `qfleet teardown {}` retires it",
                r.environment,
                crate::environments::Place {
                    account: r.in_account.clone(),
                    region: r.region.clone(),
                }
                .describe(),
                cell(&format!("made by {}: {}", r.file, r.why)),
                r.address()
            ));
        }
        for u in &found.unchecked {
            out.push(format!(
                "- could not check whether {} left environments running: {}",
                u.file,
                cell(&u.why)
            ));
        }
    }
    if let Some(why) = differences {
        out.push(String::new());
        let (code, causes) = why.split_once(": ").unwrap_or(("exit 3", why));
        out.push(format!(
            "**{}**: {}",
            code.replacen('e', "E", 1),
            cell(causes)
        ));
    }
    out.push(String::new());
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::PropertyChange;
    use crate::render::StackRole;
    use aws_sdk_cloudformation::types::{ChangeAction, Replacement};

    fn outcome(env: &str, stacks: Vec<StackOutcome>, error: Option<&str>) -> EnvOutcome {
        EnvOutcome {
            environment: env.into(),
            region: "eu-west-1".into(),
            ok: error.is_none(),
            cancelled: false,
            stacks,
            error: error.map(|m| crate::error::Error::aws(m).report()),
            exit_code: if error.is_some() {
                crate::error::Exit::Aws
            } else {
                crate::error::Exit::Ok
            },
            duration_ms: 0,
        }
    }

    fn stack_outcome(name: &str, action: Action, changes: Vec<Change>) -> StackOutcome {
        StackOutcome {
            stack: name.into(),
            role: StackRole::Data,
            action,
            status: None,
            duration_ms: 0,
            changes,
            notes: vec![],
            outputs: Default::default(),
            worker_version: None,
        }
    }

    #[test]
    fn a_plan_in_markdown_has_a_table_per_stack_bold_losses_and_a_line_per_quiet_environment() {
        let queue = Change {
            action: ChangeAction::Modify,
            logical_id: "Queue".into(),
            resource_type: "AWS::SQS::Queue".into(),
            replacement: Some(Replacement::True),
            details: Some(vec![
                PropertyChange {
                    path: Some("/Properties/VisibilityTimeout".into()),
                    change: Some("Modify".into()),
                    before: Some("60".into()),
                    after: Some("120".into()),
                    requires_recreation: Some("Never".into()),
                    ..Default::default()
                },
                PropertyChange {
                    path: Some("/Properties/QueueName".into()),
                    change: Some("Modify".into()),
                    before: Some("a|b".into()),
                    after: Some("c".into()),
                    requires_recreation: Some("Always".into()),
                    ..Default::default()
                },
            ]),
            drift: None,
        };
        let md = render(
            &[
                outcome(
                    "lab",
                    vec![
                        stack_outcome("qfleet-lab-data", Action::ChangesPending, vec![queue]),
                        stack_outcome("qfleet-lab-fleet", Action::NoChanges, vec![]),
                    ],
                    None,
                ),
                outcome("ci", vec![], None),
                outcome("broken", vec![], Some("AccessDenied")),
            ],
            &Default::default(),
            None,
        );
        assert!(
            md.starts_with("## qfleet plan: 1 of 3 environments with changes\n"),
            "{md}"
        );
        assert!(md.contains("### lab (eu-west-1)"), "{md}");
        assert!(
            md.contains("**qfleet-lab-data**: changes pending (1 change)"),
            "{md}"
        );
        assert!(
            md.contains("| ~ modify | `Queue` (AWS::SQS::Queue) **replaced** | `VisibilityTimeout` | `60` | `120` |  |"),
            "{md}"
        );
        assert!(
            md.contains("|  |  | `QueueName` | `a\\|b` | `c` | replaces the resource |"),
            "{md}"
        );
        assert!(
            md.contains("**⚠️ Data loss: qfleet-lab-data: this change REPLACES Queue"),
            "{md}"
        );
        assert!(md.contains("**qfleet-lab-fleet**: no changes"), "{md}");
        assert!(md.contains("- **ci** (eu-west-1): no changes"), "{md}");
        assert!(
            md.contains("- **broken** (eu-west-1): could not be planned: AccessDenied"),
            "{md}"
        );
    }

    /// Issue 72: a pull request's comment says what `plan --detailed-exitcode` counts as a
    /// difference: an environment the file no longer makes, with the command that retires
    /// exactly it, and a file whose search could not be made.
    #[test]
    fn a_plan_in_markdown_names_each_environment_no_longer_made_with_its_address() {
        use crate::environments::{Found, Retired, Unchecked};
        let found = Found {
            retired: vec![Retired {
                environment: "orders-us1".into(),
                file: "stacks/orders.yaml".into(),
                account: Some("111122223333".into()),
                in_account: Some("111122223333".into()),
                region: "us-east-1".into(),
                stacks: vec!["qfleet-orders-us1-data".into()],
                why: "target `us1` is not in its targets".into(),
                target: Some("us1".into()),
                copy: None,
                role: None,
                made_as: Some("orders".into()),
                by_this_file: true,
                reached_as: "orders-us1@111122223333/us-east-1".into(),
            }],
            unchecked: vec![Unchecked {
                file: "stacks/other.yaml".into(),
                why: "AccessDenied".into(),
                credentials: false,
            }],
        };
        let md = render(
            &[outcome("orders-eu1", vec![], None)],
            &found,
            Some(
                "exit 3: 1 environment no longer made by its stack file still running (orders-us1@111122223333/us-east-1)",
            ),
        );
        assert!(
            md.ends_with("\n**Exit 3**: 1 environment no longer made by its stack file still running (orders-us1@111122223333/us-east-1)\n"),
            "{md}"
        );
        assert!(
            md.starts_with("## qfleet plan: 0 of 1 environment with changes; 1 environment no longer made still running\n"),
            "{md}"
        );
        assert!(
            md.contains("- **orders-us1** (111122223333 us-east-1): made by stacks/orders.yaml: target `us1` is not in its targets; it keeps running until `qfleet teardown orders-us1@111122223333/us-east-1` retires it"),
            "{md}"
        );
        assert!(
            md.contains("- could not check whether stacks/other.yaml left environments running: AccessDenied"),
            "{md}"
        );
    }
}
