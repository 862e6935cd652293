//! The preview of a template change where CloudFormation makes no change set: a stack set's
//! instance (StackSets has none per instance). Each resource of the two templates, as the
//! instance reads them ([`crate::render::instantiate`]), compared: added, removed,
//! or modified with the properties (and other attributes: `DeletionPolicy`, `DependsOn`, …)
//! whose values differ, down to the first level where they are not both mappings (lists of
//! the same length item by item). A template says nothing of replacements: for the resources
//! that hold data ([`crate::deploy::STATEFUL_TYPES`]) a property AWS's resource
//! schema makes create-only replaces the resource, and any other does not ([`CREATE_ONLY`]);
//! any other resource's modification is `Conditional` (shown `maybe replace`), never "no".

use crate::aws::{PropertyChange, ResourceChange as Change};
use aws_sdk_cloudformation::types::{ChangeAction, Replacement};
use serde_json::Value;

/// The properties of the resources that hold data whose change replaces the resource: their
/// `createOnlyProperties` in AWS's resource type schemas ("properties that can only be
/// specified by the customer when creating a resource ... Changing these properties requires
/// the resource be replaced",
/// <https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html>;
/// an integration test compares this table with the schemas cfn-lint ships).
pub const CREATE_ONLY: &[(&str, &[&str])] = &[
    ("AWS::SQS::Queue", &["FifoQueue", "QueueName"]),
    (
        "AWS::S3::Bucket",
        &["BucketName", "BucketNamePrefix", "BucketNamespace"],
    ),
    ("AWS::KMS::Key", &[]),
    (
        "AWS::DynamoDB::Table",
        &["TableName", "ImportSourceSpecification"],
    ),
];

/// What changes from the template `before` to `after` (both in their long form, as JSON), in
/// the order of the resources' logical ids; an error when one has no `Resources` mapping
/// (no template: nothing can be said).
pub(super) fn changes(before: &Value, after: &Value) -> Result<Vec<Change>, String> {
    let resources = |t: &Value, which: &str| {
        t.get("Resources")
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| format!("the {which} template has no Resources mapping"))
    };
    let (was, will) = (resources(before, "deployed")?, resources(after, "new")?);
    let mut ids: Vec<&String> = was.keys().chain(will.keys()).collect();
    ids.sort();
    ids.dedup();
    let type_of = |r: &Value| {
        r.get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut out = Vec::new();
    for id in ids {
        let change = |action: ChangeAction, r: &Value, details| Change {
            replacement: (action == ChangeAction::Modify).then_some(Replacement::Conditional),
            action,
            logical_id: id.clone(),
            resource_type: type_of(r),
            details,
            drift: None,
        };
        match (was.get(id), will.get(id)) {
            (None, Some(r)) => out.push(change(ChangeAction::Add, r, Some(Vec::new()))),
            (Some(r), None) => out.push(change(ChangeAction::Remove, r, Some(Vec::new()))),
            (Some(a), Some(b)) if !same(a, b) => {
                let mut details = Vec::new();
                attributes(a, b, &mut details);
                let mut c = change(ChangeAction::Modify, b, Some(details));
                if let Some((_, create_only)) =
                    CREATE_ONLY.iter().find(|(t, _)| *t == c.resource_type)
                {
                    let mut replaces = false;
                    for d in c.details.iter_mut().flatten() {
                        let always = d.name.as_deref().is_some_and(|n| create_only.contains(&n));
                        replaces |= always;
                        d.requires_recreation =
                            Some(if always { "Always" } else { "Never" }.to_string());
                    }
                    c.replacement = Some(if replaces {
                        Replacement::True
                    } else {
                        Replacement::False
                    });
                }
                out.push(c);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The attributes of a resource that differ, `Properties` property by property.
fn attributes(a: &Value, b: &Value, out: &mut Vec<PropertyChange>) {
    let keys = |v: &Value| v.as_object().cloned().unwrap_or_default();
    let (a, b) = (keys(a), keys(b));
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        if name == "Properties" {
            let (pa, pb) = (
                a.get(name).cloned().unwrap_or(Value::Null),
                b.get(name).cloned().unwrap_or(Value::Null),
            );
            values("/Properties", &pa, &pb, out);
        } else if !same_opt(a.get(name), b.get(name)) {
            out.push(detail(name, &format!("/{name}"), a.get(name), b.get(name)));
        }
    }
}

/// The values under `path` that differ: each key of two mappings in turn, anything else
/// whole.
fn values(path: &str, a: &Value, b: &Value, out: &mut Vec<PropertyChange>) {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                values(&format!("{path}/{i}"), v, w, out);
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let at = format!("{path}/{k}");
                match (x.get(k), y.get(k)) {
                    (Some(v), Some(w)) => values(&at, v, w, out),
                    (v, w) => out.push(detail("Properties", &at, v, w)),
                }
            }
        }
        _ if same(a, b) => {}
        _ => out.push(detail("Properties", path, Some(a), Some(b))),
    }
}

fn detail(attribute: &str, path: &str, a: Option<&Value>, b: Option<&Value>) -> PropertyChange {
    let name = path
        .strip_prefix("/Properties/")
        .and_then(|p| p.split('/').next())
        .map(str::to_string);
    let text = |v: Option<&Value>| {
        v.map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    PropertyChange {
        attribute: Some(attribute.to_string()),
        name,
        path: Some(path.to_string()),
        change: Some(
            match (a, b) {
                (None, _) => "Add",
                (_, None) => "Remove",
                _ => "Modify",
            }
            .to_string(),
        ),
        before: text(a),
        after: text(b),
        ..Default::default()
    }
}

fn same_opt(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Two values alike, a string standing for a number or a boolean as CloudFormation reads it.
fn same(a: &Value, b: &Value) -> bool {
    crate::render::same_value(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn diff(before: &Value, after: &Value) -> Vec<Change> {
        changes(before, after).unwrap()
    }

    /// A document without resources is no template: no change can be said of it.
    #[test]
    fn a_document_without_resources_is_no_preview() {
        let t = json!({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}});
        let err = changes(&json!({}), &t).unwrap_err();
        assert_eq!(err, "the deployed template has no Resources mapping");
        assert!(changes(&t, &json!([])).is_err());
    }

    fn template(queue_timeout: Value, extra: Option<(&str, Value)>) -> Value {
        let mut resources = json!({
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "DeletionPolicy": "Retain",
                "Properties": {"VisibilityTimeout": queue_timeout, "Tags": [{"Key": "a", "Value": "b"}]}
            },
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}}
        });
        if let Some((id, r)) = extra {
            resources[id] = r;
        }
        json!({ "Resources": resources })
    }

    /// Added, removed and modified resources, each modified property with both values; a
    /// string that stands for the same number is no change; a modification's replacement is
    /// unknown.
    #[test]
    fn a_template_change_is_told_resource_by_resource_and_property_by_property() {
        let before = template(json!(60), Some(("Old", json!({"Type": "AWS::SQS::Queue"}))));
        let mut after = template(
            json!("120"),
            Some((
                "Group",
                json!({"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {"MaxSize": "10"}}),
            )),
        );
        after["Resources"]["Queue"]["DeletionPolicy"] = json!("Delete");
        let c = diff(&before, &after);
        let summary: Vec<(String, &str)> = c
            .iter()
            .map(|c| (c.action.as_str().to_string(), c.logical_id.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("Add".to_string(), "Group"),
                ("Remove".to_string(), "Old"),
                ("Modify".to_string(), "Queue"),
            ]
        );
        // A queue's VisibilityTimeout and DeletionPolicy replace nothing: no data is lost.
        let queue = &c[2];
        assert_eq!(queue.replacement, Some(Replacement::False));
        assert_eq!(crate::changes::replacement_mark(queue), "");
        assert!(!queue.loses_data());
        let details = queue.details.as_ref().unwrap();
        let lines: Vec<String> = details.iter().map(crate::changes::detail_line).collect();
        assert_eq!(
            lines,
            [
                "DeletionPolicy: Retain → Delete",
                "VisibilityTimeout: 60 → 120"
            ]
        );
        // Alike, a number's string for the number: nothing.
        assert!(diff(&template(json!(60), None), &template(json!("60"), None)).is_empty());
        // The removed queue loses its messages.
        assert!(c[1].loses_data());
    }

    /// A create-only property of a resource that holds data (the schema's
    /// createOnlyProperties) replaces it, and so loses its data; a resource that holds none
    /// may be replaced, which a template cannot tell.
    #[test]
    fn a_create_only_property_of_a_resource_with_data_replaces_it() {
        let renamed = |name: &str| {
            json!({"Resources": {
                "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name}},
                "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name}}
            }})
        };
        let c = diff(&renamed("a"), &renamed("b"));
        let queue = c.iter().find(|c| c.logical_id == "Queue").unwrap();
        assert_eq!(queue.replacement, Some(Replacement::True));
        assert!(queue.loses_data());
        assert_eq!(crate::changes::replacement_mark(queue), "REPLACE");
        let topic = c.iter().find(|c| c.logical_id == "Topic").unwrap();
        assert_eq!(crate::changes::replacement_mark(topic), "maybe replace");
        assert!(!topic.loses_data());
    }

    /// Lists of the same length are compared item by item.
    #[test]
    fn a_list_item_is_told_by_its_index() {
        let tags = |v: &str| json!({"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": v}]}}}});
        let c = diff(&tags("2"), &tags("3"));
        let labels: Vec<String> = c[0].details.iter().flatten().map(|d| d.label()).collect();
        assert_eq!(labels, ["Tags[1].Value"]);
    }

    /// A nested property is told at the first level where the two differ in more than
    /// their keys' values; a key only one side has is added or removed.
    #[test]
    fn a_nested_property_is_told_by_its_path() {
        let env = |vars: Value| json!({"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": vars}}}}});
        let c = diff(
            &env(json!({"QUEUE": "a", "OLD": "x"})),
            &env(json!({"QUEUE": "b", "NEW": "y"})),
        );
        let lines: Vec<String> = c[0]
            .details
            .as_ref()
            .unwrap()
            .iter()
            .map(|d| format!("{} {}", d.change.as_deref().unwrap(), d.label()))
            .collect();
        assert_eq!(
            lines,
            [
                "Add Environment.Variables.NEW",
                "Remove Environment.Variables.OLD",
                "Modify Environment.Variables.QUEUE"
            ]
        );
    }
}
