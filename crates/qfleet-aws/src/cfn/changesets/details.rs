//! Property-level changes of a change set: what DescribeChangeSet lists under a resource
//! change's `Details` when asked with `IncludePropertyValues` (each a `ResourceChangeDetail`
//! whose `Target` is a `ResourceTargetDefinition` with `Path`, `BeforeValue`, `AfterValue`,
//! `AttributeChangeType` and `RequiresRecreation`).
//!
//! Nothing here is inferred: a field the answer left out stays `None`, so that a value AWS did
//! not report is never shown as "unchanged".

use aws_sdk_cloudformation::types::ResourceChangeDetail;
use serde::Serialize;

/// The placeholder CloudFormation puts where a value is only known once the change set runs
/// (a value that depends on another resource, such as a `Ref` to a resource being replaced).
pub const KNOWN_AFTER_APPLY: &str = "{{changeSet:KNOWN_AFTER_APPLY}}";

/// The prefix CloudFormation puts before a hash in place of a value too large to return.
pub const TRUNCATED: &str = "(Truncated-Signature):";

/// One property (or other attribute) a change set changes on a resource.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema, PartialEq)]
pub struct PropertyChange {
    /// What changes: `Properties`, `Tags`, `Metadata`, `DeletionPolicy`, `UpdatePolicy`, …
    pub attribute: Option<String>,
    /// The property's name (for `Properties` only).
    pub name: Option<String>,
    /// The property's path in the resource, e.g. `/Properties/VisibilityTimeout`.
    pub path: Option<String>,
    /// `Add`, `Remove`, `Modify` or `SyncWithActual` (AttributeChangeType).
    pub change: Option<String>,
    /// The value before, as CloudFormation returns it (JSON text for structures; large values
    /// as `(Truncated-Signature):HASH`); `None` when the answer has none.
    pub before: Option<String>,
    /// The value after; `{{changeSet:KNOWN_AFTER_APPLY}}` when only execution tells.
    pub after: Option<String>,
    /// `Never`, `Always` or `Conditionally`.
    pub requires_recreation: Option<String>,
    /// `Static` (known now) or `Dynamic` (depends on another resource's change).
    pub evaluation: Option<String>,
    /// `DirectModification`, `ParameterReference`, `ResourceReference`, …
    pub source: Option<String>,
    /// The parameter or resource that causes it, when `source` names one.
    pub causing_entity: Option<String>,
    /// In a drift-aware change set: where `before` comes from, `ACTUAL_STATE` (the resource
    /// as it is now) or `PREVIOUS_DEPLOYMENT_STATE` (the last deployed template).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_from: Option<String>,
    /// In a drift-aware change set: the property was changed outside CloudFormation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<PropertyDrift>,
}

/// An out-of-band change of one property: its value as last deployed, and as it actually is.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema, PartialEq)]
pub struct PropertyDrift {
    pub deployed: Option<String>,
    pub actual: Option<String>,
}

impl PropertyChange {
    fn from_sdk(d: &ResourceChangeDetail) -> PropertyChange {
        let t = d.target();
        let s = |v: Option<&str>| v.map(str::to_string);
        PropertyChange {
            attribute: t
                .and_then(|t| t.attribute())
                .map(|a| a.as_str().to_string()),
            name: s(t.and_then(|t| t.name())),
            path: s(t.and_then(|t| t.path())),
            change: t
                .and_then(|t| t.attribute_change_type())
                .map(|c| c.as_str().to_string()),
            before: s(t.and_then(|t| t.before_value())),
            after: s(t.and_then(|t| t.after_value())),
            requires_recreation: t
                .and_then(|t| t.requires_recreation())
                .map(|r| r.as_str().to_string()),
            evaluation: d.evaluation().map(|e| e.as_str().to_string()),
            source: d.change_source().map(|c| c.as_str().to_string()),
            causing_entity: s(d.causing_entity()),
            before_from: t
                .and_then(|t| t.before_value_from())
                .map(|b| b.as_str().to_string()),
            drift: t.and_then(|t| t.drift()).map(|dr| PropertyDrift {
                deployed: s(dr.previous_value()),
                actual: s(dr.actual_value()),
            }),
        }
    }

    /// Whether this change replaces the resource: `Some(true)` surely, `None` maybe (a
    /// conditional recreation, or one whose value is decided only at deploy time: AWS then
    /// reports the resource's `Replacement` as `Conditional`), `Some(false)` never or not said.
    pub fn recreates(&self) -> Option<bool> {
        match self.requires_recreation.as_deref() {
            Some("Always") if self.evaluation.as_deref() == Some("Dynamic") => None,
            Some("Always") => Some(true),
            Some("Conditionally") => None,
            _ => Some(false),
        }
    }

    /// The name to show: the path below `/Properties` (`RedrivePolicy.maxReceiveCount`,
    /// `Tags[0]`), else the property's name, else the attribute (`DeletionPolicy`).
    pub fn label(&self) -> String {
        if let Some(path) = self.path.as_deref().filter(|p| !p.is_empty()) {
            let rest = path
                .strip_prefix("/Properties/")
                .unwrap_or(path.trim_start_matches('/'));
            let mut out = String::new();
            for part in rest.split('/').filter(|p| !p.is_empty()) {
                if part.chars().all(|c| c.is_ascii_digit()) {
                    out.push_str(&format!("[{part}]"));
                } else {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(part);
                }
            }
            if !out.is_empty() {
                return out;
            }
        }
        self.name
            .clone()
            .or_else(|| self.attribute.clone())
            .unwrap_or_else(|| "(an attribute CloudFormation did not name)".into())
    }
}

/// The details of one resource change. A modification CloudFormation listed no details for is
/// `None` (what changes is unknown), never an empty list that would read as "nothing".
pub(super) fn of_change(
    action_is_modify: bool,
    details: &[ResourceChangeDetail],
) -> Option<Vec<PropertyChange>> {
    let list: Vec<PropertyChange> = details.iter().map(PropertyChange::from_sdk).collect();
    let mut unique: Vec<PropertyChange> = Vec::with_capacity(list.len());
    // CloudFormation may list one path once per cause (the template, and a parameter it
    // references): the same change, shown once.
    for d in list {
        let same = unique.iter().any(|u| {
            u.path == d.path
                && u.name == d.name
                && u.attribute == d.attribute
                && u.change == d.change
                && u.before == d.before
                && u.after == d.after
                && u.requires_recreation == d.requires_recreation
                && u.drift == d.drift
        });
        if !same {
            unique.push(d);
        }
    }
    if unique.is_empty() && action_is_modify {
        None
    } else {
        Some(unique)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(path: Option<&str>, name: Option<&str>, attribute: Option<&str>) -> String {
        PropertyChange {
            path: path.map(str::to_string),
            name: name.map(str::to_string),
            attribute: attribute.map(str::to_string),
            ..Default::default()
        }
        .label()
    }

    #[test]
    fn labels_follow_the_path_below_properties() {
        assert_eq!(
            labelled(
                Some("/Properties/VisibilityTimeout"),
                Some("VisibilityTimeout"),
                None
            ),
            "VisibilityTimeout"
        );
        assert_eq!(
            labelled(
                Some("/Properties/Environment/Variables/QUEUE"),
                Some("Environment"),
                None
            ),
            "Environment.Variables.QUEUE"
        );
        assert_eq!(
            labelled(Some("/Properties/Tags/0"), None, Some("Tags")),
            "Tags[0]"
        );
        assert_eq!(
            labelled(None, Some("Description"), Some("Properties")),
            "Description"
        );
        assert_eq!(
            labelled(None, None, Some("DeletionPolicy")),
            "DeletionPolicy"
        );
        assert!(labelled(None, None, None).contains("did not name"));
    }
}
