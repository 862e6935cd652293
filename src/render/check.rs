//! Offline checks of a rendered template: it parses, stays within CloudFormation's limits, and
//! every `Ref`, `GetAtt` and `${…}` names a parameter, resource or pseudo parameter it has.

use super::RenderedStack;
use serde_yaml_ng::Value;
use std::collections::BTreeSet;

/// CloudFormation's limit on a template passed in the request body.
pub const TEMPLATE_BODY_LIMIT: usize = 51_200;
/// CloudFormation's limit on resources per stack.
pub const RESOURCE_LIMIT: usize = 500;

/// The same checks on a template qfleet derives at deploy time (the bucket's import template).
pub fn check_template(template: &str) -> Vec<String> {
    check(&RenderedStack {
        role: super::StackRole::Data,
        stack_name: String::new(),
        file_name: "the import template".into(),
        template: template.to_string(),
    })
}

/// Problems found in one rendered template (empty when it is sound).
pub fn check(stack: &RenderedStack) -> Vec<String> {
    let mut problems = Vec::new();
    if stack.template.len() > TEMPLATE_BODY_LIMIT {
        problems.push(format!(
            "{} is {} bytes; CloudFormation accepts at most {TEMPLATE_BODY_LIMIT} in a request",
            stack.file_name,
            stack.template.len()
        ));
    }
    let doc: Value = match serde_yaml_ng::from_str(&stack.template) {
        Ok(v) => v,
        Err(e) => {
            problems.push(format!("{} is not valid YAML: {e}", stack.file_name));
            return problems;
        }
    };
    let keys = |section: &str| -> BTreeSet<String> {
        doc.get(section)
            .and_then(Value::as_mapping)
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let resources = keys("Resources");
    let parameters = keys("Parameters");
    if resources.is_empty() {
        problems.push(format!("{} declares no resources", stack.file_name));
    }
    if resources.len() > RESOURCE_LIMIT {
        problems.push(format!(
            "{} declares {} resources; a stack holds at most {RESOURCE_LIMIT}",
            stack.file_name,
            resources.len()
        ));
    }
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    for (kind, name) in refs {
        let known = resources.contains(&name)
            || (kind != "GetAtt" && parameters.contains(&name))
            || name.starts_with("AWS::");
        if !known {
            problems.push(format!(
                "{}: {kind} names `{name}`, which is neither a parameter nor a resource",
                stack.file_name
            ));
        }
    }
    problems
}

fn collect_refs(v: &Value, out: &mut Vec<(&'static str, String)>) {
    match v {
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            match (tag.as_str(), &t.value) {
                ("!Ref", Value::String(s)) => out.push(("Ref", s.clone())),
                ("!GetAtt", Value::String(s)) => out.push((
                    "GetAtt",
                    s.split('.').next().unwrap_or_default().to_string(),
                )),
                ("!Sub", Value::String(s)) => sub_refs(s, out),
                _ => {}
            }
            collect_refs(&t.value, out);
        }
        Value::Mapping(m) => {
            for (k, val) in m {
                match (k.as_str(), val) {
                    (Some("Ref"), Value::String(s)) => out.push(("Ref", s.clone())),
                    (Some("Fn::GetAtt"), Value::Sequence(seq)) => {
                        if let Some(Value::String(s)) = seq.first() {
                            out.push(("GetAtt", s.clone()));
                        }
                    }
                    (Some("Fn::Sub"), Value::String(s)) => sub_refs(s, out),
                    _ => {}
                }
                collect_refs(val, out);
            }
        }
        Value::Sequence(seq) => seq.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// `${Name}` and `${Name.Attr}` in an `Fn::Sub` string; `${!Literal}` is not a reference.
fn sub_refs(s: &str, out: &mut Vec<(&'static str, String)>) {
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find('}') else { break };
        let inner = &rest[..end];
        if !inner.starts_with('!') {
            let name = inner.split('.').next().unwrap_or_default().to_string();
            out.push(("Sub", name));
        }
        rest = &rest[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::StackRole;

    fn stack(template: &str) -> RenderedStack {
        RenderedStack {
            role: StackRole::Data,
            stack_name: "s".into(),
            file_name: "t.yaml".into(),
            template: template.into(),
        }
    }

    #[test]
    fn finds_dangling_references_in_every_form() {
        let t = "Parameters:\n  P: {Type: String}\nResources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      X: !Ref P\n      Y: !Ref Missing1\n      Z: !GetAtt Missing2.Arn\n      W: !Sub \"${A}-${Missing3.Arn}-${!Literal}-${AWS::Region}\"\n      V: {Ref: Missing4}\n      U: {\"Fn::GetAtt\": [Missing5, Arn]}\n";
        let problems = check(&stack(t));
        let joined = problems.join("\n");
        for m in ["Missing1", "Missing2", "Missing3", "Missing4", "Missing5"] {
            assert!(joined.contains(m), "{m} not reported in {joined}");
        }
        assert!(
            !joined.contains("`P`")
                && !joined.contains("Literal")
                && !joined.contains("AWS::Region")
        );
        assert_eq!(problems.len(), 5);
    }

    #[test]
    fn reports_broken_yaml_and_size() {
        assert!(check(&stack("Resources: [\n"))[0].contains("not valid YAML"));
        let big = format!(
            "Resources:\n  A: {{Type: AWS::SNS::Topic}}\n#{}\n",
            "x".repeat(TEMPLATE_BODY_LIMIT)
        );
        assert!(check(&stack(&big))[0].contains("at most 51200"));
    }
}
