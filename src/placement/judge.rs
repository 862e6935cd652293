//! The read-back of a wave, judged: each target's result in an ended StackSets operation,
//! and its instances as listed after it. A target passes only on positive evidence (its
//! account and region SUCCEEDED, its instance CURRENT, a whole unit's accounts the same in
//! the results and the listing); anything else says why not. Pure.

use crate::aws::{self, StackInstance as Instance};
use crate::error::Error;
use crate::output::words::count;
use crate::render::Place;

/// Why a target whose instance is INOPERABLE is not deployed ([`Step::Inoperable`]).
pub(super) const INOPERABLE: &str = "INOPERABLE: a deletion (or an import) of the instance failed and left its stack unstable, and StackSets leaves it out of every update; AWS's remedy: DeleteStackInstances with RetainStacks true (the stack and its data stay), then delete the stack yourself once its data is safe, and deploy again";

/// The error of a target whose instance of stack set `set` was not deployed, and why.
pub(super) fn instance_error(set: &str, p: &Place, why: &str) -> Error {
    Error::from(crate::aws::AwsError::new(format!(
        "stack set {set}'s instance{} in {}: {why}",
        if p.whole_unit() { "s" } else { "" },
        p.label()
    )))
}

/// Where a whole unit's instances are before the wave (`plan`: which accounts a change
/// reaches), each with its status; `None` for a target of one account, or a unit without any.
pub(super) fn unit_now(p: &Place, instances: &[Instance]) -> Option<String> {
    let now: Vec<String> = unit_instances(p, instances)
        .map(|i| format!("{} ({})", i.account, i.status))
        .collect();
    (!now.is_empty()).then(|| {
        format!(
            "its instances now, in {} of {} in {}: {}",
            count(now.len() as u64, "account", "accounts"),
            p.unit.as_deref().unwrap_or("its unit"),
            p.region,
            now.join(", ")
        )
    })
}

/// Why an INOPERABLE target is not deployed ([`INOPERABLE`]), naming the accounts of a whole
/// unit whose instance is.
pub(super) fn inoperable(p: &Place, instances: &[Instance]) -> String {
    let accounts: Vec<&str> = unit_instances(p, instances)
        .filter(|i| i.status == "INOPERABLE")
        .map(|i| i.account.as_str())
        .collect();
    match accounts.is_empty() {
        true => INOPERABLE.to_string(),
        false => format!("the instance in {} is {INOPERABLE}", accounts.join(", ")),
    }
}

/// A whole unit's instances among `instances` (none for a target of one account).
fn unit_instances<'a>(
    p: &'a Place,
    instances: &'a [Instance],
) -> impl Iterator<Item = &'a Instance> {
    instances.iter().filter(move |i| {
        p.whole_unit() && p.holds(&i.account, &i.region, i.organizational_unit.as_deref())
    })
}

/// A whole unit's instances in its region as listed after the wave: each CURRENT, one at
/// least (a unit without an account StackSets deployed to is not known to be deployed), and
/// the same accounts as its operation's results (`answered`): those results are eventually
/// consistent, so an account listed without one may have failed, and one with a result but
/// not listed is not known to have the stack set's template.
pub(super) fn unit_current(instances: &[Instance], answered: &[String]) -> Result<(), String> {
    let listed: Vec<&str> = instances.iter().map(|i| i.account.as_str()).collect();
    let unanswered: Vec<&str> = listed
        .iter()
        .copied()
        .filter(|a| !answered.iter().any(|x| x == a))
        .collect();
    let unlisted: Vec<&str> = answered
        .iter()
        .map(String::as_str)
        .filter(|a| !listed.contains(a))
        .collect();
    let parts: Vec<String> = [
        ("listed without a result", &unanswered),
        ("a result but no instance listed", &unlisted),
    ]
    .iter()
    .filter(|(_, accounts)| !accounts.is_empty())
    .map(|(what, accounts)| format!("{what}: {}", accounts.join(", ")))
    .collect();
    if !parts.is_empty() {
        return Err(format!(
            "the operation's results and the instances listed after it name different accounts of the unit ({}): not known to be deployed everywhere; deploy again",
            parts.join("; ")
        ));
    }
    if instances.is_empty() {
        return Err(
            "the operation SUCCEEDED, and the stack set lists no instance in the unit's region: no account of the unit is known to have the environment (is the unit empty?)"
                .into(),
        );
    }
    let behind: Vec<String> = instances
        .iter()
        .filter(|i| i.status != "CURRENT")
        .map(|i| format!("{} is {}", i.account, i.status))
        .collect();
    match behind.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "the operation SUCCEEDED, and not every instance has the stack set's template after it: {}",
            behind.join(", ")
        )),
    }
}

/// A deployed target's instance as listed: CURRENT, else why it is not deployed.
pub(super) fn listed_current(instance: Option<&Instance>) -> Result<(), String> {
    match instance {
        Some(x) if x.status == "CURRENT" => Ok(()),
        Some(x) => Err(format!(
            "the operation SUCCEEDED here, and the instance is {} after it{}: it does not have the stack set's template",
            x.status,
            x.reason
                .as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )),
        None => {
            Err("the operation SUCCEEDED here, and the stack set lists no instance here".into())
        }
    }
}

/// A target's result in an ended operation: its account and region SUCCEEDED, else why not.
pub(super) fn judged(op: &aws::StackSetOperation, p: &Place) -> Result<(), String> {
    let of_op = || match &op.reason {
        Some(r) => format!("the operation {} ({r})", op.status),
        None => format!("the operation {}", op.status),
    };
    if p.whole_unit() {
        // Each account's result, and the operation's own: one the failure tolerance let
        // through, or that stopped, is not the whole unit deployed.
        let here: Vec<&aws::StackInstanceResult> =
            op.results.iter().filter(|r| r.region == p.region).collect();
        let failed: Vec<String> = here
            .iter()
            .filter(|r| r.status != "SUCCEEDED")
            .map(|r| {
                format!(
                    "{} {}{}",
                    r.account,
                    r.status,
                    r.reason
                        .as_ref()
                        .map(|x| format!(" ({x})"))
                        .unwrap_or_default()
                )
            })
            .collect();
        return match (op.status == "SUCCEEDED", here.is_empty(), failed.is_empty()) {
            (true, false, true) => Ok(()),
            (_, _, false) => Err(format!(
                "{}: {} of {} accounts did not succeed: {}",
                of_op(),
                failed.len(),
                here.len(),
                failed.join("; ")
            )),
            (true, true, _) => Err(format!(
                "{}, and its results name no account in {}: not known to be deployed",
                of_op(),
                p.label()
            )),
            (false, _, true) => Err(of_op()),
        };
    }
    match op.result(&p.account, &p.region) {
        Some(r) if r.status == "SUCCEEDED" => Ok(()),
        Some(r) if r.status == "CANCELLED" => Err(format!(
            "not reached: {} before it came to {} in {}{}",
            of_op(),
            p.account,
            p.region,
            r.reason
                .as_ref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default()
        )),
        Some(r) => Err(format!(
            "{} in {} {}: {}",
            r.status,
            p.account,
            p.region,
            r.reason.as_deref().unwrap_or("StackSets gave no reason")
        )),
        None => Err(format!(
            "{}, and its results name no instance in {} {}: not known to be deployed",
            of_op(),
            p.account,
            p.region
        )),
    }
}
