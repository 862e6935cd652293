//! Grants (action, resources, condition) gathered per environment, merged across environments,
//! then written as IAM policy documents that each fit AWS's size limit for managed policies.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// AWS's limit on a managed policy document, in characters without whitespace.
pub const MANAGED_POLICY_LIMIT: usize = 6144;

/// Where an action may act, and under which condition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Scope {
    /// ARN patterns; `["*"]` for actions AWS lets no policy scope.
    resources: BTreeSet<String>,
    /// `(operator, key, value)`, e.g. `("StringEquals", "iam:PassedToService", "ec2.amazonaws.com")`.
    condition: Option<(String, String, String)>,
}

impl Scope {
    pub(super) fn any() -> Scope {
        Scope::on(["*".to_string()])
    }

    pub(super) fn on(arns: impl IntoIterator<Item = String>) -> Scope {
        Scope {
            resources: arns.into_iter().collect(),
            condition: None,
        }
    }

    pub(super) fn when(mut self, op: &str, key: &str, value: &str) -> Scope {
        self.condition = Some((op.into(), key.into(), value.into()));
        self
    }

    fn is_any(&self) -> bool {
        self.resources.contains("*")
    }
}

type Condition = Option<(String, String, String)>;

/// The permissions one principal needs: (action, condition) → scope.
#[derive(Debug, Default, Clone)]
pub(super) struct Grants(BTreeMap<(String, Condition), Scope>);

impl Grants {
    /// Adds `action` on `scope`. The same action on two scopes under one condition gets both
    /// resource lists (one environment's queue and another's); `"*"` absorbs any list. Under
    /// different conditions (a role passed to EC2 here, to Lambda there) they stay apart.
    pub(super) fn add(&mut self, action: &str, scope: Scope) {
        let key = (action.to_string(), scope.condition.clone());
        match self.0.get_mut(&key) {
            None => {
                self.0.insert(key, scope);
            }
            Some(have) => {
                if have.is_any() || scope.is_any() {
                    have.resources = Scope::any().resources;
                } else {
                    have.resources.extend(scope.resources);
                }
            }
        }
    }

    /// Adds every grant of `other`.
    pub(super) fn extend(&mut self, other: Grants) {
        for ((action, _), scope) in other.0 {
            self.add(&action, scope);
        }
    }

    /// The grants as IAM policy documents, each within [`MANAGED_POLICY_LIMIT`].
    pub(super) fn documents(&self) -> Vec<Value> {
        let mut by_scope: BTreeMap<&Scope, Vec<&str>> = BTreeMap::new();
        for ((action, _), scope) in &self.0 {
            by_scope.entry(scope).or_default().push(action);
        }
        let mut statements = Vec::new();
        let mut used: BTreeMap<String, usize> = BTreeMap::new();
        for (scope, actions) in by_scope {
            let label = label(scope);
            // Leave room for the document's own wrapping.
            for (chunk, part) in chunks(&actions, scope, MANAGED_POLICY_LIMIT - 64) {
                // Statement ids are unique within a policy.
                let n = used.entry(label.clone()).or_default();
                *n += 1;
                let sid = if *n == 1 {
                    label.clone()
                } else {
                    format!("{label}{n}")
                };
                statements.push(statement(&sid, &chunk, &part));
            }
        }
        // Each document with its compact length, kept as statements join it (the empty
        // document's, each statement's, and a comma between two) rather than written out
        // again for every statement.
        let empty = compact_len(&document(&[]));
        let mut docs: Vec<(Vec<Value>, usize)> = Vec::new();
        for s in statements {
            let size = compact_len(&s);
            match docs
                .iter_mut()
                // The statement and the comma before it.
                .find(|(_, len)| *len + size < MANAGED_POLICY_LIMIT)
            {
                Some((d, len)) => {
                    *len += 1 + size;
                    d.push(s);
                }
                None => docs.push((vec![s], empty + size)),
            }
        }
        docs.iter().map(|(d, _)| document(d)).collect()
    }
}

fn document(statements: &[Value]) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

fn statement(sid: &str, actions: &[&str], scope: &Scope) -> Value {
    let resources: Vec<&String> = scope.resources.iter().collect();
    let mut s = json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": if resources.len() == 1 { json!(resources[0]) } else { json!(resources) },
    });
    if let Some((op, key, value)) = &scope.condition {
        s["Condition"] = json!({ op: { key: value } });
    }
    s
}

/// Splits `actions` on `scope` into statements no longer than `limit` characters each: the
/// actions into groups, and a group's resources in halves while its statement is still too
/// long (many environments' ARNs for one action). When the resources are the longer part
/// (many environments' ARNs for a few actions), they are halved first, each half with every
/// action: grouping the actions first would repeat nearly the whole list in every group.
fn chunks<'a>(actions: &[&'a str], scope: &Scope, limit: usize) -> Vec<(Vec<&'a str>, Scope)> {
    let too_long = compact_len(&statement("Sid00", actions, scope)) > limit;
    if too_long
        && scope.resources.len() >= 2
        && compact_len(&json!(scope.resources)) > compact_len(&json!(actions))
    {
        let all: Vec<String> = scope.resources.iter().cloned().collect();
        let (a, b) = all.split_at(all.len() / 2);
        let mut out = Vec::new();
        for half in [a, b] {
            let part = Scope {
                resources: half.iter().cloned().collect(),
                condition: scope.condition.clone(),
            };
            out.extend(chunks(actions, &part, limit));
        }
        return out;
    }
    // The statement's length kept as actions join it (the statement's with no action, each
    // action's, and a comma between two), not written out again for every action.
    let empty = compact_len(&statement("Sid00", &[], scope));
    let mut groups: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut len = empty;
    for a in actions {
        len += compact_len(&json!(a)) + usize::from(!current.is_empty());
        current.push(a);
        if current.len() > 1 && len > limit {
            current.pop();
            groups.push(std::mem::replace(&mut current, vec![a]));
            len = empty + compact_len(&json!(a));
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    let mut out = Vec::new();
    for g in groups {
        split_resources(g, scope.clone(), limit, &mut out);
    }
    out
}

fn split_resources<'a>(
    actions: Vec<&'a str>,
    scope: Scope,
    limit: usize,
    out: &mut Vec<(Vec<&'a str>, Scope)>,
) {
    if scope.resources.len() < 2 || compact_len(&statement("Sid00", &actions, &scope)) <= limit {
        out.push((actions, scope));
        return;
    }
    let all: Vec<String> = scope.resources.iter().cloned().collect();
    let (a, b) = all.split_at(all.len() / 2);
    for half in [a, b] {
        let part = Scope {
            resources: half.iter().cloned().collect(),
            condition: scope.condition.clone(),
        };
        split_resources(actions.clone(), part, limit, out);
    }
}

/// Length of the JSON text without whitespace, as AWS counts it.
pub(super) fn compact_len(v: &Value) -> usize {
    v.to_string().len()
}

/// The statement id of the resources of each AWS service (an ARN's third field: a service
/// prefix such as `ec2` or `lambda`, not a kind of worker) where the service alone decides it.
const BY_SERVICE: [(&str, &str); 10] = [
    ("cloudformation", "Stacks"),
    ("sqs", "Queues"),
    ("sns", "Topics"),
    ("autoscaling", "WorkerGroup"),
    ("cloudwatch", "Alarms"),
    ("ec2", "Ec2InRegion"),
    ("ssm", "AmiParameter"),
    ("kms", "Key"),
    ("lambda", "Function"),
    ("logs", "WorkerLogs"),
];

/// A statement id that says what the statement is for.
fn label(scope: &Scope) -> String {
    if scope.is_any() {
        return "NoResourceLevelPermissions".into();
    }
    let first = scope.resources.iter().next().map(String::as_str);
    let kind = first
        .and_then(|arn| arn.split(':').nth(2).map(|svc| (svc, arn)))
        .map(|(svc, arn)| match (svc, arn) {
            ("s3", arn) if arn.contains('/') => "Objects",
            ("s3", _) => "Bucket",
            ("iam", arn) if arn.contains("aws-service-role") => "ServiceLinkedRole",
            ("iam", _) if scope.condition.is_some() => "PassRole",
            // The fleet's own roles and profiles, by the start of the names generated for them.
            ("iam", arn) if arn.ends_with('*') => "WorkerIdentity",
            // Roles the stack file names (StackSets' and the targets').
            ("iam", _) => "Roles",
            ("cloudformation", _) if scope.resources.iter().any(|r| r.contains(":stackset")) => {
                "StackSets"
            }
            ("lambda", arn) if arn.contains("event-source-mapping") => "QueueMappings",
            (svc, _) => BY_SERVICE
                .iter()
                .find(|(prefix, _)| *prefix == svc)
                .map_or("Environment", |(_, id)| id),
        })
        .unwrap_or("Environment");
    kind.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lengths [`chunks`] and [`Grants::documents`] keep as a list grows are the lengths
    /// of the JSON written: the value's with the list empty, each item's, and a comma between
    /// two.
    #[test]
    fn a_growing_lists_length_is_counted_as_written() {
        let scope = Scope {
            resources: ["arn:aws:sqs:eu-west-1:123456789012:qfleet-lab-jobs".to_string()]
                .into_iter()
                .collect(),
            condition: None,
        };
        let actions = [
            "sqs:GetQueueAttributes",
            "sqs:SetQueueAttributes",
            "sqs:TagQueue",
        ];
        let empty = compact_len(&statement("Sid00", &[], &scope));
        let mut statements = Vec::new();
        for n in 1..=actions.len() {
            let listed = &actions[..n];
            let counted =
                empty + listed.iter().map(|a| compact_len(&json!(a))).sum::<usize>() + (n - 1);
            let s = statement("Sid00", listed, &scope);
            assert_eq!(counted, compact_len(&s), "{listed:?}");
            statements.push(s);
        }
        let empty = compact_len(&document(&[]));
        for k in 1..=statements.len() {
            let counted = empty + statements[..k].iter().map(compact_len).sum::<usize>() + (k - 1);
            assert_eq!(counted, compact_len(&document(&statements[..k])));
        }
    }
}
