//! The text preview of a change set: a line per resource change, then a line per property it
//! changes with the values before and after (`VisibilityTimeout: 60 → 120`), shortened to fit
//! a terminal or a log line, and whether the change replaces the resource.
//!
//! A value CloudFormation did not report is shown as such, never as unchanged; a modification
//! it did not detail says so.

use crate::aws::{KNOWN_AFTER_APPLY, TRUNCATED};
use crate::aws::{PropertyChange, ResourceChange as Change};
use aws_sdk_cloudformation::types::ChangeAction;

/// How many characters of a value the text preview shows.
const TEXT_WIDTH: usize = 48;
/// How many characters of a value the Markdown preview shows.
pub(crate) const MARKDOWN_WIDTH: usize = 80;

/// `+ add`, `~ modify`, `- remove`, …
pub(crate) fn action_mark(a: &ChangeAction) -> &str {
    match a {
        ChangeAction::Add => "+ add",
        ChangeAction::Modify => "~ modify",
        ChangeAction::Remove => "- remove",
        ChangeAction::Import => "> import",
        ChangeAction::Dynamic => "? dynamic",
        other => other.as_str(),
    }
}

/// `REPLACE`, `maybe replace` or nothing, from the resource's `Replacement` and its details.
pub(crate) fn replacement_mark(c: &Change) -> &'static str {
    if c.action != ChangeAction::Modify {
        return "";
    }
    match c.replaces() {
        Some(true) => "REPLACE",
        None => "maybe replace",
        Some(false) => "",
    }
}

/// A value for display: the placeholders CloudFormation uses in words, JSON made compact, one
/// line, at most `width` characters (then cut with `…`).
fn value(v: Option<&str>, width: usize) -> String {
    let Some(v) = v else {
        return "(not reported)".into();
    };
    if v == KNOWN_AFTER_APPLY {
        return "(known once deployed)".into();
    }
    if v.starts_with(TRUNCATED) {
        return "(a long value)".into();
    }
    if v.is_empty() {
        return "\"\"".into();
    }
    let compact = match serde_json::from_str::<serde_json::Value>(v) {
        Ok(j @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
            serde_json::to_string(&j).unwrap_or_else(|_| v.to_string())
        }
        _ => v.to_string(),
    };
    let one_line = compact.split_whitespace().collect::<Vec<_>>().join(" ");
    shorten(&one_line, width)
}

/// Cuts `s` to `width` characters, the last one `…`.
fn shorten(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The before and after of one property change, in words where a value is absent by nature
/// (`Add`, `Remove`) or was not reported.
pub(crate) fn before_after(d: &PropertyChange, width: usize) -> (String, String) {
    match d.change.as_deref() {
        Some("Add") if d.before.is_none() => ("(not set)".into(), value(d.after.as_deref(), width)),
        Some("Remove") if d.after.is_none() => {
            (value(d.before.as_deref(), width), "(removed)".into())
        }
        Some("SyncWithActual") => (
            value(d.before.as_deref(), width),
            "(drift reset, not modified)".into(),
        ),
        _ => {
            let truncated =
                |v: &Option<String>| v.as_deref().is_some_and(|v| v.starts_with(TRUNCATED));
            let after = if truncated(&d.before) && truncated(&d.after) && d.before != d.after {
                "(another long value)".into()
            } else {
                value(d.after.as_deref(), width)
            };
            (value(d.before.as_deref(), width), after)
        }
    }
}

/// What else to say about a property change: recreation, a value decided only at deploy time,
/// the parameter or resource causing it.
pub(crate) fn remarks(d: &PropertyChange) -> Vec<String> {
    let mut out = Vec::new();
    match (d.requires_recreation.as_deref(), d.recreates()) {
        (Some("Always"), Some(true)) => out.push("replaces the resource".to_string()),
        (Some("Always"), _) => out.push("replaces the resource if its value changes".to_string()),
        (Some("Conditionally"), _) => out.push("may replace the resource".to_string()),
        _ => {}
    }
    if d.evaluation.as_deref() == Some("Dynamic") && d.after.as_deref() != Some(KNOWN_AFTER_APPLY) {
        out.push("decided at deploy time".into());
    }
    if let Some(cause) = &d.causing_entity {
        match d.source.as_deref() {
            Some("ParameterReference") => out.push(format!("parameter {cause}")),
            Some("ResourceReference" | "ResourceAttribute") => out.push(format!("from {cause}")),
            _ => {}
        }
    }
    out
}

/// What a drift-aware change set says about a property changed outside CloudFormation:
/// `changed outside CloudFormation (deployed: 60), overwritten` — or, for a template that now
/// takes the actual value (`SyncWithActual`), that the drift is accepted.
pub(crate) fn drift_remark(d: &PropertyChange, width: usize) -> Option<String> {
    let drift = d.drift.as_ref()?;
    let deployed = value(drift.deployed.as_deref(), width);
    Some(if d.change.as_deref() == Some("SyncWithActual") {
        format!(
            "changed outside CloudFormation (deployed: {deployed}); the template now matches it"
        )
    } else {
        format!(
            "changed outside CloudFormation (deployed: {deployed}, actual: {}); this deploy overwrites it",
            value(drift.actual.as_deref(), width)
        )
    })
}

/// The words for a resource's drift in a drift-aware change set; nothing when in sync or not
/// drift-aware.
fn resource_drift(c: &Change) -> Option<String> {
    match c.drift.as_deref()? {
        "MODIFIED" => Some("drifted: changed outside CloudFormation".into()),
        "DELETED" => Some("drifted: deleted outside CloudFormation".into()),
        "NOT_CHECKED" => Some("drift not checked".into()),
        "UNSUPPORTED" => Some("drift not comparable for this type".into()),
        "UNKNOWN" => Some("drift unknown".into()),
        _ => None,
    }
}

/// The line of one property change: `VisibilityTimeout: 60 → 120  [replaces the resource]`.
pub(crate) fn detail_line(d: &PropertyChange) -> String {
    let (before, after) = before_after(d, TEXT_WIDTH);
    let mut remarks = remarks(d);
    remarks.extend(drift_remark(d, TEXT_WIDTH));
    let mut line = format!("{}: {before} → {after}", d.label());
    if !remarks.is_empty() {
        line.push_str(&format!("  [{}]", remarks.join("; ")));
    }
    line
}

/// What to say when a modification lists no properties.
pub(crate) const NOT_DETAILED: &str = "(CloudFormation did not say which properties change)";

/// The preview of a list of changes, one resource per line and its properties below it.
pub(crate) fn changes(changes: &[Change]) -> String {
    let mut lines = Vec::new();
    for c in changes {
        let mark = replacement_mark(c);
        let drift = resource_drift(c);
        lines.push(format!(
            "  {:<9} {} ({}){}{}",
            action_mark(&c.action),
            c.logical_id,
            c.resource_type,
            if mark.is_empty() {
                String::new()
            } else {
                format!("  {mark}")
            },
            drift.map(|d| format!("  [{d}]")).unwrap_or_default()
        ));
        match &c.details {
            Some(details) => {
                for d in details {
                    lines.push(format!("      {}", detail_line(d)));
                }
            }
            None => lines.push(format!("      {NOT_DETAILED}")),
        }
    }
    lines.join("\n")
}

/// The heading of a stack's preview: `qfleet-lab-data: update (2 changes)`.
pub(crate) fn heading(stack: &str, creating: bool, n: usize) -> String {
    format!(
        "{stack}: {} ({n} change{})",
        if creating { "create" } else { "update" },
        if n == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::Replacement;

    fn detail(
        path: &str,
        change: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> PropertyChange {
        PropertyChange {
            attribute: Some("Properties".into()),
            path: Some(path.into()),
            change: Some(change.into()),
            before: before.map(str::to_string),
            after: after.map(str::to_string),
            requires_recreation: Some("Never".into()),
            evaluation: Some("Static".into()),
            source: Some("DirectModification".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_modified_property_shows_both_values() {
        let d = detail(
            "/Properties/VisibilityTimeout",
            "Modify",
            Some("60"),
            Some("120"),
        );
        assert_eq!(detail_line(&d), "VisibilityTimeout: 60 → 120");
    }

    #[test]
    fn a_missing_value_is_not_reported_never_unchanged() {
        let d = detail("/Properties/VisibilityTimeout", "Modify", None, Some("120"));
        assert_eq!(detail_line(&d), "VisibilityTimeout: (not reported) → 120");
        let c = Change {
            action: ChangeAction::Modify,
            logical_id: "Queue".into(),
            resource_type: "AWS::SQS::Queue".into(),
            replacement: Some(Replacement::False),
            details: None,
            drift: None,
        };
        assert!(changes(&[c]).contains(NOT_DETAILED));
    }

    #[test]
    fn long_json_is_compacted_and_cut() {
        let v = r#"{"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:111122223333:qfleet-lab-jobs-dlq",
            "maxReceiveCount": 5}"#;
        let shown = value(Some(v), TEXT_WIDTH);
        assert_eq!(shown.chars().count(), TEXT_WIDTH);
        assert!(
            shown.starts_with(r#"{"deadLetterTargetArn":"arn:aws:sqs"#),
            "{shown}"
        );
        assert!(shown.ends_with('…'));
        assert_eq!(value(Some(""), TEXT_WIDTH), "\"\"");
    }

    #[test]
    fn placeholders_and_recreation_are_said_in_words() {
        let mut d = detail(
            "/Properties/QueueName",
            "Modify",
            Some("a"),
            Some(KNOWN_AFTER_APPLY),
        );
        d.requires_recreation = Some("Always".into());
        assert_eq!(
            detail_line(&d),
            "QueueName: a → (known once deployed)  [replaces the resource]"
        );
        let t = detail(
            "/Properties/LaunchTemplateData",
            "Modify",
            Some("(Truncated-Signature):8892"),
            Some("(Truncated-Signature):de79"),
        );
        assert_eq!(
            detail_line(&t),
            "LaunchTemplateData: (a long value) → (another long value)"
        );
        let add = detail(
            "/Properties/Tags/0",
            "Add",
            None,
            Some(r#"{"Key":"Test","Value":"Test"}"#),
        );
        assert_eq!(
            detail_line(&add),
            r#"Tags[0]: (not set) → {"Key":"Test","Value":"Test"}"#
        );
        let gone = detail("/Properties/Ipv4Prefixes", "Remove", Some("[]"), None);
        assert_eq!(detail_line(&gone), "Ipv4Prefixes: [] → (removed)");
    }
}
