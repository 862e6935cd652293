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

/// The report items for the addons and overrides beside the service manifest at `service`.
/// A file that cannot be read or parsed is reported as such.
pub(crate) fn report(service: &Path) -> Vec<Item> {
    let Some(dir) = service.parent() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (sub, what) in [
        ("addons", addon as fn(&Path) -> String),
        ("overrides", overrides),
    ] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
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
            "; its policy let the tasks {}: without it the worker gets AccessDenied, so grant them in workers.statements (or attach the policy with workers.policies) once the resources exist",
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
