//! Offline checks of a rendered template: it parses, stays within CloudFormation's limits, and
//! every `Ref`, `GetAtt` and `${…}` names a parameter, resource or pseudo parameter it has.

use super::RenderedStack;
use super::{TEMPLATE_BODY_LIMIT, request_body};
use serde_yaml_ng::Value;
use std::collections::BTreeSet;
/// CloudFormation's limit on resources per stack.
const RESOURCE_LIMIT: usize = 500;

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
    // What CloudFormation receives: the YAML, or its compact JSON where the YAML is too big.
    let sent = request_body(&stack.template).len();
    if sent > TEMPLATE_BODY_LIMIT {
        // The dashboard's body is the largest part a stack file can leave out.
        let dashboard = if stack.template.contains("Type: AWS::CloudWatch::Dashboard") {
            " (dashboard: false leaves out the dashboard, about 2 KB a stage)"
        } else {
            ""
        };
        problems.push(format!(
            "{} is {}; CloudFormation accepts at most {TEMPLATE_BODY_LIMIT} in a request{dashboard}",
            stack.file_name,
            if sent == stack.template.len() {
                format!("{sent} bytes")
            } else {
                format!("{} bytes, {sent} as compact JSON", stack.template.len())
            }
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
    problems.extend(iam_limits(&doc, &stack.file_name));
    problems.extend(lambda_environments(&doc, &stack.file_name));
    problems
}

/// "Function environment variables: 4 KB, for all environment variables associated with the
/// function, in aggregate" (Lambda quotas,
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>). Lambda measures
/// the variables as one JSON object (its refusal quotes the "String measured":
/// `{"NAME":"value",…}`), so names, quotes, separators and escapes count.
const LAMBDA_ENVIRONMENT_LIMIT: usize = 4 * 1024;

/// Every function's environment measured as Lambda does, each value at its longest
/// ([`longest_text`]).
fn lambda_environments(doc: &Value, file: &str) -> Vec<String> {
    let Some(resources) = doc.get("Resources").and_then(Value::as_mapping) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for (id, r) in resources {
        if r.get("Type").and_then(Value::as_str) != Some("AWS::Lambda::Function") {
            continue;
        }
        let Some(vars) = r
            .get("Properties")
            .and_then(|p| p.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping)
        else {
            continue;
        };
        let measured: serde_json::Map<String, serde_json::Value> = vars
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().unwrap_or_default().to_string(),
                    serde_json::Value::String(longest_text(v)),
                )
            })
            .collect();
        let size = serde_json::Value::Object(measured).to_string().len();
        if size > LAMBDA_ENVIRONMENT_LIMIT {
            problems.push(format!(
                "{file}: function {}'s environment takes up to {size} bytes as Lambda measures it (its variables as one JSON object, each value at its longest); Lambda takes at most {LAMBDA_ENVIRONMENT_LIMIT}: shorten workers.environment or the bucket's prefixes",
                id.as_str().unwrap_or_default()
            ));
        }
    }
    problems
}

/// A template value as the text it becomes, at its longest: a literal as written, a `!Sub`
/// with its pseudo parameters at their longest (a Region of 14 characters, `aws-us-gov`,
/// `amazonaws.com.cn`, a 12-digit account, a stack name of 128) and any other reference at
/// [`REFERENCE_LENGTH`]; an imported value (qfleet imports only the data stack's name) at 128.
fn longest_text(v: &Value) -> String {
    let fill = |n: usize| "x".repeat(n);
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Tagged(t) if t.tag == "Sub" => {
            sub_at_longest(&t.value).unwrap_or_else(|| fill(REFERENCE_LENGTH))
        }
        Value::Tagged(t) if t.tag == "ImportValue" => fill(crate::render::STACK_NAME_MAX),
        _ => fill(REFERENCE_LENGTH),
    }
}

/// IAM's quotas on what a template attaches to its roles (IAM and AWS STS quotas,
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): "Managed
/// policies attached to an IAM role: 10" (the default; 20 on request, which qfleet does not
/// assume), "Managed policy size: 6,144 characters" and "Role policy size cannot exceed 10,240
/// characters" (all inline policies together); "IAM does not count white space".
pub(super) const MANAGED_POLICIES_PER_ROLE: usize = crate::config::ROLE_POLICY_LIMIT;
const MANAGED_POLICY_SIZE: usize = 6_144;
const ROLE_INLINE_POLICY_SIZE: usize = 10_240;

/// Every role's managed policies counted (its `ManagedPolicyArns` and each
/// `AWS::IAM::ManagedPolicy` whose `Roles` names it), each managed policy's and each role's
/// inline policies' size measured as IAM counts it, once the pseudo parameters are resolved
/// (at their longest).
fn iam_limits(doc: &Value, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(resources) = doc.get("Resources").and_then(Value::as_mapping) else {
        return problems;
    };
    let typed = |ty: &'static str| {
        resources
            .iter()
            .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
            .map(|(id, r)| (id.as_str().unwrap_or_default(), r.get("Properties")))
    };
    let names_role = |props: Option<&Value>, role: &str| {
        props
            .and_then(|p| p.get("Roles"))
            .and_then(Value::as_sequence)
            .is_some_and(|roles| roles.iter().any(|r| ref_name(r) == Some(role)))
    };
    for (role, props) in typed("AWS::IAM::Role") {
        let arns = props
            .and_then(|p| p.get("ManagedPolicyArns"))
            .and_then(Value::as_sequence)
            .map_or(0, Vec::len);
        let managed = typed("AWS::IAM::ManagedPolicy")
            .filter(|(_, p)| names_role(*p, role))
            .count();
        if arns + managed > MANAGED_POLICIES_PER_ROLE {
            problems.push(format!(
                "{file}: role {role} would have {} managed policies attached ({arns} by ARN, {managed} of the template's); IAM attaches at most {MANAGED_POLICIES_PER_ROLE} to a role",
                arns + managed
            ));
        }
        let inline: usize = props
            .and_then(|p| p.get("Policies"))
            .and_then(Value::as_sequence)
            .map_or(0, |ps| {
                ps.iter()
                    .map(|p| iam_size(p.get("PolicyDocument").unwrap_or(&Value::Null)))
                    .sum()
            })
            + typed("AWS::IAM::Policy")
                .filter(|(_, p)| names_role(*p, role))
                .map(|(_, p)| {
                    iam_size(
                        p.and_then(|p| p.get("PolicyDocument"))
                            .unwrap_or(&Value::Null),
                    )
                })
                .sum::<usize>();
        if inline > ROLE_INLINE_POLICY_SIZE {
            problems.push(format!(
                "{file}: role {role}'s inline policies take {inline} characters; IAM allows {ROLE_INLINE_POLICY_SIZE} per role"
            ));
        }
    }
    for (id, props) in typed("AWS::IAM::ManagedPolicy") {
        let size = iam_size(
            props
                .and_then(|p| p.get("PolicyDocument"))
                .unwrap_or(&Value::Null),
        );
        if size > MANAGED_POLICY_SIZE {
            problems.push(format!(
                "{file}: managed policy {id} takes {size} characters; IAM allows {MANAGED_POLICY_SIZE} (move statements to another policy or shorten them)"
            ));
        }
    }
    problems
}

/// The resource a `!Ref X` or `{Ref: X}` names.
fn ref_name(v: &Value) -> Option<&str> {
    match v {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str(),
        Value::Mapping(m) => m.get("Ref").and_then(Value::as_str),
        _ => None,
    }
}

/// What a `Ref`, a `GetAtt` or another `${…}` counts for: the longest ARN qfleet's templates
/// name that way (a log group's ARN, with its 512-character name, is the longest).
pub(super) const REFERENCE_LENGTH: usize = 600;

/// A policy document's size as IAM counts it: its JSON without white space, each `!Sub` as
/// the text it becomes at its longest ([`sub_at_longest`]: pseudo parameters at their longest,
/// a region name is at most 14 characters, `aws-us-gov` the longest partition,
/// `amazonaws.com.cn` the longest URL suffix, a stack name 128; its variables as their values,
/// an imported stack name at 128, not as text of their own), and every other reference
/// (`!Ref`, `!GetAtt`, `${Resource.Arn}`) at [`REFERENCE_LENGTH`].
fn iam_size(v: &Value) -> usize {
    fn resolve(v: &Value) -> serde_json::Value {
        match v {
            Value::Tagged(t) if t.tag == "Sub" => serde_json::Value::String(
                sub_at_longest(&t.value).unwrap_or_else(|| "r".repeat(REFERENCE_LENGTH)),
            ),
            Value::Tagged(t) if t.tag == "ImportValue" => {
                serde_json::Value::String("s".repeat(crate::render::STACK_NAME_MAX))
            }
            // `!Ref`, `!GetAtt` and any other function: a reference at its longest.
            Value::Tagged(_) => serde_json::Value::String("r".repeat(REFERENCE_LENGTH)),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Sequence(seq) => serde_json::Value::Array(seq.iter().map(resolve).collect()),
            Value::Mapping(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), resolve(v)))
                    .collect(),
            ),
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::String(n.to_string()),
            Value::Null => serde_json::Value::Null,
        }
    }
    resolve(v)
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// A pseudo parameter's longest value: a 12-digit account, the longest Region name, partition
/// and URL suffix, a stack name of 128 characters; any other name a reference at
/// [`REFERENCE_LENGTH`].
fn longest_pseudo(name: &str) -> usize {
    match name {
        "AWS::AccountId" => 12,
        "AWS::Region" => "ap-southeast-7".len(),
        "AWS::Partition" => "aws-us-gov".len(),
        "AWS::URLSuffix" => "amazonaws.com.cn".len(),
        "AWS::StackName" => crate::render::STACK_NAME_MAX,
        _ => REFERENCE_LENGTH,
    }
}

/// The text a `!Sub`'s argument (`text`, or `[text, {variables}]`) becomes at its longest:
/// each pseudo parameter at [`longest_pseudo`], each variable at its own longest (a literal as
/// written, an imported value, which qfleet imports only as a stack's name, at 128 characters,
/// any other function at [`REFERENCE_LENGTH`]), `${!X}` as `${X}`. The variables themselves are
/// not part of the text.
fn sub_at_longest(arg: &Value) -> Option<String> {
    let (text, vars) = match arg {
        Value::String(s) => (s.as_str(), None),
        Value::Sequence(parts) => (parts.first()?.as_str()?, parts.get(1)?.as_mapping()),
        _ => return None,
    };
    let var = |name: &str| {
        let v = vars?.get(name)?;
        Some(match v {
            Value::String(s) => s.len(),
            Value::Tagged(t) if t.tag == "ImportValue" => crate::render::STACK_NAME_MAX,
            _ => REFERENCE_LENGTH,
        })
    };
    Some(substituted(text, |n| {
        var(n).unwrap_or_else(|| longest_pseudo(n))
    }))
}

/// The length of the text `Fn::Sub` makes of `template`: each `${NAME}` (a pseudo parameter, a
/// parameter, a resource's attribute or a variable) as `value(NAME)` bytes, each `${!X}` as the
/// literal `${X}` it stands for ("To write a dollar sign and curly braces (`${}`) literally,
/// add an exclamation point (`!`) after the open curly brace", Fn::Sub,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-sub.html>).
pub(super) fn substituted_len(template: &str, value: impl Fn(&str) -> usize) -> usize {
    substituted(template, value).len()
}

/// The text `Fn::Sub` makes of `template`, each `${NAME}` as `value(NAME)`; a name `value`
/// does not know is an error that names it.
pub(crate) fn sub(
    template: &str,
    value: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let unknown = std::cell::RefCell::new(None);
    let out = fill(template, |name| {
        value(name).unwrap_or_else(|| {
            unknown.borrow_mut().get_or_insert_with(|| name.to_string());
            String::new()
        })
    });
    match unknown.into_inner() {
        Some(name) => Err(format!("${{{name}}} cannot be filled in")),
        None => Ok(out),
    }
}

/// The text `Fn::Sub` makes of `template` ([`substituted_len`]), each `${NAME}` as `value(NAME)`
/// characters `x`.
fn substituted(template: &str, value: impl Fn(&str) -> usize) -> String {
    fill(template, |name| "x".repeat(value(name)))
}

/// `Fn::Sub`'s substitution: each `${NAME}` as `value(NAME)`, each `${!X}` as `${X}`.
fn fill(template: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match (after.strip_prefix('!'), after.find('}')) {
            // `${!X}`: the `!` goes, the rest stays as written.
            (Some(literal), _) => {
                out.push_str("${");
                rest = literal;
            }
            (None, Some(end)) => {
                out.push_str(&value(&after[..end]));
                rest = &after[end + 1..];
            }
            // An unclosed `${` stays literal.
            (None, None) => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
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
    fn a_sub_is_measured_as_cloudformation_fills_it_in() {
        let len = |n: &str| match n {
            "AWS::Region" => "eu-west-1".len(),
            "AWS::StackName" => 128,
            _ => 0,
        };
        // `${!HOME}` is the six characters `${HOME}` less its `!`.
        assert_eq!(
            substituted_len("r=${AWS::Region} s=${AWS::StackName} h=${!HOME}", len),
            "r=eu-west-1 s=".len() + 128 + " h=${HOME}".len()
        );
        assert_eq!(substituted_len("no dollar", len), 9);
        assert_eq!(substituted_len("open ${ end", len), 11);
    }

    /// Lambda's 4 KB counts the variables as JSON: a value full of quotes (the secrets'
    /// references are JSON) counts twice over, and a `!Sub` at its longest.
    #[test]
    fn a_functions_environment_is_measured_as_lambda_measures_it() {
        let function = |vars: &str| {
            format!(
                "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Environment:\n        Variables:\n{vars}"
            )
        };
        // 2,100 quotes: 2,100 bytes by their text, 4,200 escaped in JSON: over 4,096.
        let quotes = format!("          Q: '{}'\n", "\"".repeat(2_100));
        let problems = check(&stack(&function(&quotes)));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("function F's environment")),
            "{problems:?}"
        );
        let plain = format!("          Q: '{}'\n", "a".repeat(2_100));
        assert!(check(&stack(&function(&plain))).is_empty());
        // A stack name fills in at 128 characters, each time.
        let subs: String = (0..30)
            .map(|i| format!("          S{i}: !Sub '${{AWS::StackName}}'\n"))
            .collect();
        let problems = check(&stack(&function(&subs)));
        assert!(!problems.is_empty(), "30 x 128 bytes");
    }

    #[test]
    fn reports_broken_yaml_and_size() {
        assert!(check(&stack("Resources: [\n"))[0].contains("not valid YAML"));
        let big = format!(
            "Resources:\n  A: {{Type: AWS::SNS::Topic, Properties: {{DisplayName: {}}}}}\n",
            "x".repeat(TEMPLATE_BODY_LIMIT)
        );
        let problems = check(&stack(&big));
        assert!(problems[0].contains("bytes; CloudFormation accepts at most 51200"));
        // What only the YAML's white space takes over is sent as compact JSON, and fits.
        let indented = format!(
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n{}",
            (0..1000)
                .map(|i| format!("    Metadata{i}:\n                                       k: v\n"))
                .collect::<String>()
        );
        assert!(indented.len() > TEMPLATE_BODY_LIMIT);
        assert!(!check(&stack(&indented)).iter().any(|p| p.contains("bytes")));
    }
}

#[cfg(test)]
mod iam_size_tests {
    use super::*;

    /// References count at their longest, never as the text of their names: eleven `!GetAtt`s
    /// of log group ARNs (up to 512-character names) can pass 6,144 characters.
    #[test]
    fn references_and_the_stack_name_count_at_their_longest() {
        let statements: String = (0..11)
            .map(|i| {
                format!(
                    "          - {{Effect: Allow, Action: logs:PutLogEvents, Resource: !GetAtt G{i}.Arn}}\n"
                )
            })
            .collect();
        let doc: Value =
            serde_yaml_ng::from_str(&format!("Version: '2012-10-17'\nStatement:\n{statements}"))
                .unwrap();
        assert!(iam_size(&doc) > MANAGED_POLICY_SIZE, "{}", iam_size(&doc));
        let one: Value = serde_yaml_ng::from_str(
            "Resource: !Sub 'arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AWS::StackName}/*'",
        )
        .unwrap();
        // "Resource" + the ARN with a 128-character stack name, the longest region and partition.
        assert_eq!(
            iam_size(&one),
            r#"{"Resource":"arn:aws-us-gov:cloudformation:ap-southeast-7:123456789012:stack/"#
                .len()
                + 128
                + r#"/*"}"#.len()
        );
    }

    /// A `!Sub` with variables is the text it makes: an imported stack name counts at 128
    /// characters, and the variables' own mapping is not part of the policy (a StackSets
    /// target's job table grant names the data stack through its export).
    #[test]
    fn a_subs_variables_count_as_their_values_not_as_text() {
        let with_vars: Value = serde_yaml_ng::from_str(
            "Resource: !Sub ['arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${DataStack}-JobTable-*', {DataStack: !ImportValue qfleet-o-data-stack}]",
        )
        .unwrap();
        assert_eq!(
            iam_size(&with_vars),
            r#"{"Resource":"arn:aws-us-gov:dynamodb:ap-southeast-7:123456789012:table/"#.len()
                + 128
                + r#"-JobTable-*"}"#.len()
        );
    }
}
