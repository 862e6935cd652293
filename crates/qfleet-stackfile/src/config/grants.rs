//! What the stack file grants the workers beyond qfleet's own, one line each, for `validate`
//! and the deploy preview: their settings, secrets, managed policies and IAM statements.

use super::permissions::Effect;
use super::schema::WorkersSpec;

/// What the stack file gives the workers beyond qfleet's own grants, one line each, for
/// `validate` and the deploy preview (secrets by name and place, never a value).
pub fn describe(w: &WorkersSpec) -> Vec<String> {
    let mut out = Vec::new();
    if !w.environment.is_empty() {
        let names: Vec<&str> = w.environment.keys().map(String::as_str).collect();
        out.push(format!("settings: {}", names.join(", ")));
    }
    if !w.secrets.is_empty() {
        let list: Vec<String> = w
            .secrets
            .iter()
            .map(|(name, from)| format!("{name} from {from}"))
            .collect();
        out.push(format!(
            "secrets, read when the worker starts: {}",
            list.join(", ")
        ));
    }
    for arn in &w.policies {
        out.push(format!("managed policy {arn}"));
    }
    for st in &w.statements {
        out.push(format!(
            "{} {} on {}{}",
            match st.effect {
                Effect::Allow => "allow",
                Effect::Deny => "deny",
            },
            st.action.items().join(", "),
            st.resource.items().join(", "),
            if st.condition.is_some() {
                " (with a condition)"
            } else {
                ""
            }
        ));
    }
    out
}
