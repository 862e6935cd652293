//! What sits beside a Copilot service's manifest and changed what its tasks ran with:
//! `addons/` (CloudFormation templates Copilot deployed with the service: a DynamoDB table, the
//! IAM policy that lets the tasks use it, and outputs that became the tasks' variables;
//! "Modeling Additional Resources with AWS CloudFormation",
//! <https://aws.github.io/copilot-cli/docs/developing/addons/workload/>) and `overrides/`
//! (patches to Copilot's own template, <https://aws.github.io/copilot-cli/docs/developing/overrides/yamlpatch/>).
//! qfleet deploys neither; each file is reported with what it held and what to do, never
//! dropped silently.

use super::super::report::Item;
use serde_yaml_ng::Value;
use std::path::Path;

/// What `${App}`, `${Env}` and `${Name}` stand for in an addon (the parameters Copilot passes
/// every addon template), and the qfleet environment the statements are for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Names<'a> {
    pub(crate) app: Option<&'a str>,
    pub(crate) env: Option<&'a str>,
    pub(crate) service: &'a str,
    pub(crate) environment: &'a str,
}

/// The statements of the addons' IAM policies the import carries into `workers.statements`,
/// and the report of each: carried, or not (with why and what to do).
#[derive(Debug, Default)]
pub(crate) struct Policies {
    pub(crate) statements: Vec<serde_json::Value>,
    pub(crate) carried: Vec<Item>,
    pub(crate) not_carried: Vec<Item>,
}

/// Reads the IAM policies of the addons beside the service manifest at `service`: each
/// statement whose every resource qfleet can name is carried (Copilot attached the policy to
/// the task role, so without it the worker gets AccessDenied); a resource CloudFormation named
/// (no name property) or an intrinsic function qfleet does not resolve is reported.
pub(crate) fn policies(service: &Path, names: &Names) -> Policies {
    let mut out = Policies::default();
    // A folder that cannot be listed is reported by [`report`].
    let Ok(files) = files_in(service, "addons") else {
        return out;
    };
    for f in files {
        let Some(doc) = read(&f) else { continue };
        let file = format!(
            "addons/{}",
            f.file_name().unwrap_or_default().to_string_lossy()
        );
        let resources = doc.get("Resources").and_then(Value::as_mapping);
        for (id, r) in resources.into_iter().flatten() {
            let t = r.get("Type").and_then(Value::as_str).unwrap_or("");
            if t != "AWS::IAM::ManagedPolicy" && t != "AWS::IAM::Policy" {
                continue;
            }
            let id = id.as_str().unwrap_or("?");
            let statements = r
                .get("Properties")
                .and_then(|p| p.get("PolicyDocument"))
                .and_then(|d| d.get("Statement"))
                .and_then(Value::as_sequence);
            for (n, st) in statements.into_iter().flatten().enumerate() {
                let source = format!("{file} ({id}, statement {})", n + 1);
                match statement(st, &doc, names) {
                    Ok(s) => {
                        out.carried.push(Item {
                            source: Some(source),
                            qfleet: Some("workers.statements".into()),
                            line: None,
                            note: format!(
                                "{} on {}: Copilot attached the addon's policy to the task role",
                                s["Action"], s["Resource"]
                            ),
                        });
                        out.statements.push(s);
                    }
                    Err(why) => out.not_carried.push(Item {
                        source: Some(source),
                        qfleet: None,
                        line: None,
                        note: format!(
                            "{why}: without it the worker gets AccessDenied, so grant it in workers.statements (or attach a policy with workers.policies)"
                        ),
                    }),
                }
            }
        }
    }
    out
}

/// The files of the folder `sub` beside the service manifest at `service`, sorted; none when
/// there is no such folder, an error when it cannot be listed.
fn files_in(service: &Path, sub: &str) -> Result<Vec<std::path::PathBuf>, String> {
    let Some(dir) = service.parent() else {
        return Ok(Vec::new());
    };
    let entries = match std::fs::read_dir(dir.join(sub)) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.to_string()),
    };
    let mut files = Vec::new();
    for e in entries {
        let path = e.map_err(|e| e.to_string())?.path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> Option<Value> {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// One statement as qfleet writes it, or why it cannot be carried.
fn statement(st: &Value, doc: &Value, names: &Names) -> Result<serde_json::Value, String> {
    let effect = st.get("Effect").and_then(Value::as_str).unwrap_or("Allow");
    let actions: Vec<String> = match st.get("Action") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Sequence(v)) => v
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
        _ => return Err("a statement without Action (NotAction is not carried)".into()),
    };
    let raw: Vec<&Value> = match st.get("Resource") {
        Some(Value::Sequence(v)) => v.iter().collect(),
        Some(one) => vec![one],
        None => return Err(format!("{} without Resource", actions.join(", "))),
    };
    if st.get("Condition").is_some() {
        return Err(format!("{} with a Condition", actions.join(", ")));
    }
    let mut resources = Vec::new();
    for r in raw {
        match r {
            // ECS's task protection on any task: the environment's own tasks are enough.
            Value::String(s)
                if s == "*"
                    && actions.iter().all(|a| {
                        a == "ecs:UpdateTaskProtection" || a == "ecs:GetTaskProtection"
                    }) =>
            {
                resources.push(format!(
                    "arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:task/qfleet-{}/*",
                    names.environment
                ));
            }
            Value::String(s) if s == "*" => {
                return Err(format!(
                    "{} on \"*\": qfleet grants named resources only",
                    actions.join(", ")
                ));
            }
            other => resources.push(
                arn(other, doc, names).map_err(|why| format!("{}: {why}", actions.join(", ")))?,
            ),
        }
    }
    let mut s = serde_json::json!({ "Effect": effect, "Action": actions, "Resource": resources });
    if let Some(sid) = st.get("Sid").and_then(Value::as_str) {
        s["Sid"] = sid.into();
    }
    Ok(s)
}

/// An intrinsic function's name and argument, short (`!Sub`) or long (`Fn::Sub:`) form.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_string(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            let k = k.as_str()?;
            let name = k.strip_prefix("Fn::").unwrap_or(k);
            Some((name.to_string(), v))
        }
        _ => None,
    }
}

/// The ARN a resource value names: as written, or built from an addon resource's name.
fn arn(v: &Value, doc: &Value, names: &Names) -> Result<String, String> {
    let text = match v {
        Value::String(s) => s.clone(),
        other => match intrinsic(other) {
            Some((f, arg)) if f == "Sub" => sub(arg, doc, names)?,
            Some((f, arg)) if f == "GetAtt" => {
                let (id, attr) = match arg {
                    Value::String(s) => s.split_once('.').ok_or("a GetAtt without an attribute")?,
                    Value::Sequence(v) if v.len() == 2 => (
                        v[0].as_str().unwrap_or_default(),
                        v[1].as_str().unwrap_or_default(),
                    ),
                    _ => return Err("a GetAtt qfleet does not read".into()),
                };
                attribute(id, attr, doc, names)?
            }
            Some((f, Value::String(id))) if f == "Ref" => attribute(id, "Ref", doc, names)?,
            _ => {
                return Err(
                    "a resource built with an intrinsic function qfleet does not resolve".into(),
                );
            }
        },
    };
    if !text.starts_with("arn:") {
        return Err(format!("`{text}` is not an ARN"));
    }
    Ok(text)
}

/// `!Sub` with `${App}`, `${Env}`, `${Name}`, an addon resource (`${Table.Arn}`, `${Table}`)
/// and pseudo parameters; IAM policy variables (`${aws:username}`) stay.
fn sub(arg: &Value, doc: &Value, names: &Names) -> Result<String, String> {
    let Some(template) = arg.as_str() else {
        return Err("a Sub with variables of its own".into());
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let Some(end) = rest[i..].find('}') else {
            return Err(format!("`{template}` is not a Sub string"));
        };
        let var = &rest[i + 2..i + end];
        let value = match var {
            "App" => names
                .app
                .map(str::to_string)
                .ok_or("${App} without --app")?,
            "Env" => names
                .env
                .map(str::to_string)
                .ok_or("${Env} without --env")?,
            "Name" => names.service.to_string(),
            v if v.starts_with("AWS::") => format!("${{{v}}}"),
            v if v.contains(':') || v.starts_with('!') => format!("${{{v}}}"),
            v => match v.split_once('.') {
                Some((id, attr)) => attribute(id, attr, doc, names)?,
                None => attribute(v, "Ref", doc, names)?,
            },
        };
        out.push_str(&value);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An addon resource's ARN (`Arn`, or `Ref` where it is one) from its name property; one
/// CloudFormation named, or of a type qfleet does not know, cannot be named.
fn attribute(id: &str, attr: &str, doc: &Value, names: &Names) -> Result<String, String> {
    let r = doc
        .get("Resources")
        .and_then(|rs| rs.get(id))
        .ok_or_else(|| format!("`{id}` is not a resource of the addon (an addon parameter?)"))?;
    let t = r.get("Type").and_then(Value::as_str).unwrap_or("?");
    let props = r.get("Properties");
    let (key, arn_of): (&str, fn(&str) -> String) = match t {
        "AWS::DynamoDB::Table" => ("TableName", |n| {
            format!(
                "arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{n}"
            )
        }),
        "AWS::S3::Bucket" => ("BucketName", |n| {
            format!("arn:${{AWS::Partition}}:s3:::{n}")
        }),
        "AWS::SQS::Queue" => ("QueueName", |n| {
            format!("arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{n}")
        }),
        "AWS::SNS::Topic" => ("TopicName", |n| {
            format!("arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{n}")
        }),
        _ => {
            return Err(format!(
                "`{id}` ({t}) is not a kind of resource qfleet names"
            ));
        }
    };
    // Ref is the ARN for a topic only; for the others it is the name.
    if attr != "Arn" && !(attr == "Ref" && t == "AWS::SNS::Topic") && attr != "TopicArn" {
        return Err(format!("`{id}.{attr}` is not an ARN"));
    }
    let name = match props.and_then(|p| p.get(key)) {
        Some(Value::String(n)) => n.clone(),
        Some(other) => match intrinsic(other) {
            Some((f, arg)) if f == "Sub" => sub(arg, doc, names)?,
            _ => {
                return Err(format!(
                    "`{id}`'s {key} is built with a function qfleet does not resolve"
                ));
            }
        },
        None => {
            return Err(format!(
                "`{id}` ({t}) has no {key}: CloudFormation named it, so qfleet cannot; name it in the grant yourself"
            ));
        }
    };
    if name.contains("${") {
        return Err(format!("`{id}`'s {key} `{name}` is not a name yet"));
    }
    Ok(arn_of(&name))
}

/// The report items for the addons and overrides beside the service manifest at `service`.
/// A file that cannot be read or parsed is reported as such.
pub(crate) fn report(service: &Path) -> Vec<Item> {
    let mut out = Vec::new();
    for (sub, what) in [
        ("addons", addon as fn(&Path) -> String),
        ("overrides", overrides),
    ] {
        let files = match files_in(service, sub) {
            Ok(f) => f,
            // Could not be listed is not "none": said, so nothing goes unreported.
            Err(why) => {
                out.push(Item {
                    source: Some(format!("{sub}/")),
                    qfleet: None,
                    line: None,
                    note: format!(
                        "could not be listed ({why}): check what it holds yourself, as Copilot deployed it with the service"
                    ),
                });
                continue;
            }
        };
        for f in files {
            out.push(Item {
                source: Some(format!(
                    "{sub}/{}",
                    f.file_name().unwrap_or_default().to_string_lossy()
                )),
                qfleet: None,
                line: None,
                note: what(&f),
            });
        }
    }
    out
}

/// One addon template: its resources by type, the actions its IAM policies grant, and its
/// outputs (each a variable of the tasks in Copilot).
fn addon(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    if name.starts_with("addons.parameters") {
        return "the parameters Copilot passed to the addons: set what the worker needs in workers.environment".into();
    }
    let doc: Value = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_yaml_ng::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(d) => d,
        Err(e) => return format!("could not be read ({e}): check what it created yourself"),
    };
    let mut resources = Vec::new();
    let mut actions = Vec::new();
    for (id, r) in doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        let t = r.get("Type").and_then(Value::as_str).unwrap_or("?");
        resources.push(format!("{} ({t})", id.as_str().unwrap_or("?")));
        if t == "AWS::IAM::ManagedPolicy" || t == "AWS::IAM::Policy" {
            let statements = r
                .get("Properties")
                .and_then(|p| p.get("PolicyDocument"))
                .and_then(|d| d.get("Statement"));
            for s in statements
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                match s.get("Action") {
                    Some(Value::String(a)) => actions.push(a.clone()),
                    Some(Value::Sequence(v)) => {
                        actions.extend(v.iter().filter_map(|a| a.as_str().map(str::to_string)))
                    }
                    _ => {}
                }
            }
        }
    }
    let outputs: Vec<String> = doc
        .get("Outputs")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.as_str().map(str::to_string))
        .collect();
    let mut note = format!(
        "an addon Copilot deployed with the service, which qfleet does not: its resources {}",
        if resources.is_empty() {
            "(none listed)".to_string()
        } else {
            resources.join(", ")
        }
    );
    if !actions.is_empty() {
        note.push_str(&format!(
            "; its policy let the tasks {}: each statement is carried or reported on its own",
            actions.join(", ")
        ));
    }
    if !outputs.is_empty() {
        note.push_str(&format!(
            "; Copilot gave the tasks its outputs as variables ({}): set them in workers.environment",
            outputs.join(", ")
        ));
    }
    note
}

fn overrides(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!(
        "{name}: a change to the template Copilot made for the service, which qfleet's templates do not take: make the change in the stack file where it has a setting for it"
    )
}
