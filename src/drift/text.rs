//! The drift report as text.

use super::DriftReport;

pub fn text(r: &DriftReport) -> String {
    let mut out = String::new();
    if !r.undeployed_changes.is_empty() {
        out.push_str(&format!(
            "note: the stack file has changes not deployed yet to {} (see `qfleet plan {}`); differences are against the stack file\n",
            r.undeployed_changes.join(", "),
            r.environment
        ));
    }
    if r.differences.is_empty() && r.unchecked.is_empty() {
        out.push_str(&format!("{}: in sync\n", r.environment));
        return out;
    }
    if !r.differences.is_empty() {
        out.push_str(&format!(
            "{}: {} difference{}\n",
            r.environment,
            r.differences.len(),
            if r.differences.len() == 1 { "" } else { "s" }
        ));
        out.push_str(&crate::output::table(
            &[
                "stack", "resource", "property", "expected", "actual", "found by",
            ],
            r.differences.iter().map(|d| {
                vec![
                    d.stack.clone(),
                    d.resource.clone(),
                    d.property.clone(),
                    d.expected.clone(),
                    d.actual.clone(),
                    d.source.as_str().to_string(),
                ]
            }),
        ));
        out.push('\n');
    }
    if !r.unchecked.is_empty() {
        out.push_str(&format!(
            "{}: could not check {} thing{} (exit 1; run again when AWS answers):\n",
            r.environment,
            r.unchecked.len(),
            if r.unchecked.len() == 1 { "" } else { "s" }
        ));
        for u in &r.unchecked {
            out.push_str(&format!("  {}: {}\n", u.what, u.reason));
        }
    }
    out
}
