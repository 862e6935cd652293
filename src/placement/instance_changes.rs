//! What a stack set's change does to each target's instance, as a change set would say it:
//! StackSets makes no change set per instance, so qfleet compares the templates.

use super::plan::Step;
use crate::aws::{self, StackInstance as Instance};
use crate::render::{Place, RenderedStack};

/// What each target's instance of stack set `set` gets, as a change set would say it
/// (StackSets makes none per instance): the template it has now and the new one, each as the
/// instance reads it ([`crate::render::instantiate`]), compared resource by
/// resource ([`super::template_diff`]); every resource added for an instance created. Each
/// preview that changes something is said (`note`), once for the instances whose changes are
/// the same (twenty targets with one change read as one preview); one that cannot be made is
/// an `Err` with why (and said so), never taken for "no change".
pub(super) fn previews(
    name: &str,
    set: &RenderedStack,
    current: Option<&aws::StackSet>,
    instances: &[Instance],
    wave: &[Place],
    steps: &[Step],
    note: &(dyn Fn(String) + Sync),
) -> Vec<Result<Vec<crate::aws::ResourceChange>, String>> {
    use crate::render::{instantiate, long_form};
    let new = long_form(&set.template);
    let old = current.map(|c| match c.template.as_deref() {
        Some(text) => long_form(text),
        None => Err("DescribeStackSet gave no template".to_string()),
    });
    let mut unread: Option<String> = None;
    // Each preview's text, its number of changes, and the instances it is theirs.
    let mut shown: Vec<(String, usize, Vec<String>)> = Vec::new();
    // Each loss of data, and the instances it is theirs.
    let mut losses: Vec<(String, Vec<String>)> = Vec::new();
    let mut out = Vec::new();
    for (p, step) in wave.iter().zip(steps) {
        let at = |t: &serde_json::Value| instantiate(t, &p.region, p.key());
        let empty = serde_json::json!({"Resources": {}});
        let previewed = match (step, &old, &new) {
            (Step::Create, _, Ok(n)) => super::template_diff::changes(&empty, &at(n)),
            (Step::Update, Some(Ok(o)), Ok(n)) => super::template_diff::changes(&at(o), &at(n)),
            (Step::Create | Step::Update, Some(Err(e)), _)
            | (Step::Create | Step::Update, _, Err(e)) => Err(e.clone()),
            (Step::Update, None, _) => Err("there is no stack set to compare with".to_string()),
            _ => Ok(Vec::new()),
        };
        let changes = match previewed {
            Ok(c) => c,
            Err(why) => {
                unread.get_or_insert(why.clone());
                out.push(Err(why));
                continue;
            }
        };
        for c in changes.iter().filter(|c| c.loses_data()) {
            let what = format!(
                "{} {} ({}), losing the data it holds (deploy needs --allow-replacement)",
                match c.action {
                    aws_sdk_cloudformation::types::ChangeAction::Remove => "removes",
                    _ => "replaces",
                },
                c.logical_id,
                c.resource_type
            );
            let at = p.label();
            match losses.iter_mut().find(|(w, _)| *w == what) {
                Some((_, places)) => places.push(at),
                None => losses.push((what, vec![at])),
            }
        }
        // An instance behind its stack set (an earlier operation failed or stopped) may lack
        // more than the preview shows: it compares the stack set's template with the new one.
        let behind = instances
            .iter()
            .find(|i| {
                p.holds(&i.account, &i.region, i.organizational_unit.as_deref())
                    && i.status != "CURRENT"
            })
            .filter(|_| *step == Step::Update);
        if let Some(i) = behind {
            note(format!(
                "stack set {name}, {} {}: the instance is {}, so it may also lack changes of an earlier template than the stack set's, which this preview does not show",
                i.account, p.region, i.status
            ));
        }
        // A creation adds every resource: said by the plan's summary, not line by line.
        if !changes.is_empty() && *step == Step::Update {
            let text = crate::changes::changes(&changes);
            let at = p.label();
            match shown.iter_mut().find(|(t, _, _)| *t == text) {
                Some((_, _, places)) => places.push(at),
                None => shown.push((text, changes.len(), vec![at])),
            }
        }
        out.push(Ok(changes));
    }
    // The instances a change or a loss is theirs: `A eu-west-1`, or `2 instances (…)`.
    let whose = |places: &[String]| match places {
        [one] => one.clone(),
        many => format!("{} instances ({})", many.len(), many.join(", ")),
    };
    for (what, places) in losses {
        note(format!(
            "WARNING: stack set {name}, {}: {what}",
            whose(&places)
        ));
    }
    // Instances with the same changes are previewed once, naming each of them.
    for (text, n, places) in shown {
        let whose = whose(&places);
        note(format!(
            "{}\n{text}",
            crate::changes::heading(&format!("stack set {name}, {whose}"), false, n)
        ));
    }
    if let Some(why) = unread {
        note(format!(
            "stack set {name}: its template changes, and the change could not be previewed ({why}): see qfleet render for the new one; deploy needs --allow-replacement, since whether it loses data is unknown"
        ));
    }
    out
}
