//! What a wave does to one stack set, decided before any call: each target's [`Step`], the
//! guards a stack set must pass, the targets refused for data, and the calls that carry the
//! rest, grouped as StackSets takes them. Pure: the walk that makes the calls is
//! [`super::apply`].

use super::errors::{Refusal, Usage};
use crate::aws::ResourceChange as Change;
use crate::aws::{
    DeploymentGroup as Group, OperationPreferences as Preferences, StackInstance as Instance,
    StackSet,
};
use crate::config::{Environment, PermissionModel};
use crate::error::Error;
use crate::render::Place;

/// What happens to one target in one stack set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Step {
    Create,
    /// The stack set's template changed: updated with it.
    Update,
    /// OUTDATED: brought to the stack set's template.
    Refresh,
    /// INOPERABLE: "a DeleteStackInstances operation has failed and left the stack in an
    /// unstable state. Stacks in this state are excluded from further UpdateStackSet
    /// operations"
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceSummary.html>):
    /// no call names it, and the target fails with what AWS advises.
    Inoperable,
    /// Its preview removes or replaces a resource that holds data, and `--allow-replacement`
    /// was not given: no call names it, and the target is refused.
    Refused,
    Nothing,
}

/// What each target of the wave gets in a stack set, from its instances.
pub(super) fn steps(places: &[Place], instances: &[Instance], new_template: bool) -> Vec<Step> {
    places
        .iter()
        .map(|p| {
            // A target's instance; for a whole unit, every account's in its region.
            let mine: Vec<&Instance> = instances
                .iter()
                .filter(|i| p.holds(&i.account, &i.region, i.organizational_unit.as_deref()))
                .collect();
            match () {
                _ if mine.is_empty() => Step::Create,
                _ if mine.iter().any(|i| i.status == "INOPERABLE") => Step::Inoperable,
                _ if new_template => Step::Update,
                _ if mine.iter().any(|i| i.status != "CURRENT") => Step::Refresh,
                _ => Step::Nothing,
            }
        })
        .collect()
}

/// The calls for these targets (account, region, and the account's AWS Organizations unit
/// with service-managed permissions): accounts grouped by the same regions, in the targets'
/// order, each group with its accounts' units.
pub(crate) fn groups<'a>(
    targets: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>)>,
) -> Vec<Group> {
    let mut regions_of: Vec<(String, Vec<String>, Option<&str>)> = Vec::new();
    for (account, region, unit) in targets {
        match regions_of.iter_mut().find(|(a, _, _)| a == account) {
            Some((_, r, _)) if !r.iter().any(|x| x == region) => r.push(region.to_string()),
            Some(_) => {}
            None => regions_of.push((account.to_string(), vec![region.to_string()], unit)),
        }
    }
    let mut out: Vec<Group> = Vec::new();
    for (account, mut regions, unit) in regions_of {
        regions.sort();
        let at = match out.iter().position(|g| g.regions == regions) {
            Some(at) => at,
            None => {
                out.push(Group {
                    regions,
                    ..Group::default()
                });
                out.len() - 1
            }
        };
        let g = &mut out[at];
        g.accounts.push(account);
        if let Some(unit) = unit.filter(|u| !g.organizational_units.iter().any(|x| x == u)) {
            g.organizational_units.push(unit.to_string());
        }
    }
    out
}

/// The groups of one call for the targets `which` of `wave`: a group per whole unit (naming
/// no account), then the accounts grouped by regions ([`groups`]), an existing instance
/// named in the unit it was created in (as ListStackInstances says), else in the file's.
pub(super) fn call_groups(which: &[usize], wave: &[Place], instances: &[Instance]) -> Vec<Group> {
    let by_unit = which
        .iter()
        .map(|&i| &wave[i])
        .filter(|p| p.whole_unit())
        .map(|p| Group {
            accounts: Vec::new(),
            regions: vec![p.region.clone()],
            organizational_units: p.unit.iter().cloned().collect(),
            whole_units: true,
        });
    let by_account = groups(which.iter().filter(|&&i| !wave[i].whole_unit()).map(|&i| {
        let p = &wave[i];
        let recorded = instances
            .iter()
            .find(|x| x.account == p.account && x.region == p.region)
            .and_then(|x| x.organizational_unit.as_deref());
        (
            p.account.as_str(),
            p.region.as_str(),
            recorded.or(p.unit.as_deref()),
        )
    }));
    by_unit.chain(by_account).collect()
}

/// Whether target `p` is one that call `group` names.
pub(super) fn in_group(group: &Group, p: &Place) -> bool {
    match p.whole_unit() {
        true => group.whole_units && group.regions == [p.region.clone()],
        false => group.accounts.contains(&p.account) && group.regions.contains(&p.region),
    }
}

/// The calls of the wave, in order: the updates (the first carries the template), the
/// instances brought up to date, then the creations; each with the targets it names.
pub(super) fn calls(steps: &[Step]) -> Vec<(Step, Vec<usize>)> {
    [Step::Update, Step::Refresh, Step::Create]
        .into_iter()
        .filter_map(|want| {
            let which: Vec<usize> = (0..steps.len()).filter(|&i| steps[i] == want).collect();
            (!which.is_empty()).then_some((want, which))
        })
        .collect()
}

/// The operation preferences of the file's `rollout`, regions in the targets' order.
pub(crate) fn preferences(file: &Environment, targets: &[Environment]) -> Preferences {
    let r = &file.spec.rollout;
    let mut order: Vec<String> = Vec::new();
    for t in targets {
        if !order.contains(&t.spec.region) {
            order.push(t.spec.region.clone());
        }
    }
    Preferences {
        region_order: order,
        regions_in_parallel: r.regions_in_parallel,
        max_concurrent_accounts: i32::try_from(r.max_concurrent_accounts.unwrap_or(1)).unwrap_or(1),
        failure_tolerance: i32::try_from(r.failure_tolerance.unwrap_or(0)).unwrap_or(0),
    }
}

/// Whether an existing stack set `name` may be deployed as the file says, else the refusal:
/// - its permission model is its own once it has instances (UpdateStackSet: "You can't modify
///   PermissionModel if there are stack instances associated with your stack set",
///   <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html>);
/// - targets that each stand for a whole unit need automatic deployment on, and an account
///   that leaves a unit keeping its data; an answer that does not say so is not taken for it.
///   A fleet's stack set waits for the data's in an account that joins a unit;
/// - otherwise, automatic deployment (turned on by someone else) acts on accounts the file
///   never names; a service-managed stack set whose answer does not say it is off is not
///   taken for off.
pub(super) fn guard(
    file: &Environment,
    name: &str,
    current: Option<&StackSet>,
    unit_wide: bool,
) -> Result<(), Error> {
    let Some(c) = current else { return Ok(()) };
    let service_managed = file.spec.rollout.permission_model == PermissionModel::ServiceManaged;
    let wanted = match service_managed {
        true => "SERVICE_MANAGED",
        false => "SELF_MANAGED",
    };
    if let Some(has) = c.permission_model.as_deref().filter(|m| *m != wanted) {
        return Err(Usage::StackSetPermissionModel {
            set: name.to_string(),
            has: has.to_string(),
            file: file.source.display(),
            wanted: wanted.to_string(),
        }
        .into());
    }
    let data_set = format!(":stackset/{}:", file.data_stack_name());
    let waits_for_data =
        name == file.data_stack_name() || c.depends_on.iter().any(|arn| arn.contains(&data_set));
    if unit_wide
        && (c.auto_deployment != Some(true) || c.retains_stacks != Some(true) || !waits_for_data)
    {
        return Err(Refusal::StackSetAutoDeploymentOff {
            set: name.to_string(),
            file: file.source.display(),
        }
        .into());
    }
    let deploys_alone = c.auto_deployment == Some(true)
        || (c.permission_model.as_deref() == Some("SERVICE_MANAGED")
            && c.auto_deployment != Some(false));
    if !unit_wide && deploys_alone {
        return Err(Refusal::StackSetAutoDeployment {
            set: name.to_string(),
            file: file.source.display(),
        }
        .into());
    }
    Ok(())
}

/// The template changes for a wave without an instance an update can carry it to, while
/// other waves have some: an update names instances, and creating this wave's would deploy
/// the old template.
pub(super) fn wave_refusal(
    name: &str,
    new_template: bool,
    instances: &[Instance],
    steps: &[Step],
) -> Option<Error> {
    // Instances an update can reach: StackSets leaves INOPERABLE ones out of every update.
    let updatable = instances.iter().any(|i| i.status != "INOPERABLE");
    (new_template && updatable && steps.contains(&Step::Create) && !steps.contains(&Step::Update))
        .then(|| {
            Refusal::StackSetWave {
                set: name.to_string(),
            }
            .into()
        })
}

/// The targets refused because their change removes or replaces a resource holding data,
/// without `--allow-replacement`, as in the direct mode: a preview that could not be made
/// cannot show that nothing is lost, the same rule. Their steps become [`Step::Refused`].
pub(super) fn refusals(
    name: &str,
    wave: &[Place],
    previews: &[Result<Vec<Change>, String>],
    steps: &mut [Step],
) -> Vec<Option<Error>> {
    let mut out: Vec<Option<Error>> = (0..wave.len()).map(|_| None).collect();
    for (i, p) in wave.iter().enumerate() {
        let refusal: Option<Error> = match &previews[i] {
            Err(why) => Some(
                Refusal::PreviewUnread {
                    env: p.environment.clone(),
                    set: name.to_string(),
                    why: why.clone(),
                }
                .into(),
            ),
            Ok(changes) => {
                let losses: Vec<crate::error::Loss> = changes
                    .iter()
                    .filter(|c| c.loses_data())
                    .map(|c| crate::error::Loss {
                        resource: c.logical_id.clone(),
                        stack: name.to_string(),
                    })
                    .collect();
                (!losses.is_empty()).then(|| {
                    crate::error::Refusal::DataLoss {
                        env: p.environment.clone(),
                        losses,
                    }
                    .into()
                })
            }
        };
        if refusal.is_some() {
            steps[i] = Step::Refused;
            out[i] = refusal;
        }
    }
    out
}

/// Why an instance of the wave is not created while the stack set does not hold the new
/// template: its update failed (`tried_update`), or every instance that would carry it was
/// refused.
pub(super) fn not_created(tried_update: bool) -> &'static str {
    match tried_update {
        true => {
            "not created: the stack set's new template was not taken (its update failed), and an instance created now would get the previous one"
        }
        false => {
            "not created: the wave's instances that would carry the stack set's new template were refused (see their errors), and an instance created now would get the previous one; deploy again once they may be updated (--allow-replacement, when their data is safe)"
        }
    }
}

/// The note that says what a stack set's target gets (`plan` and `deploy` alike).
pub(super) fn step_note(name: &str, exists: bool, step: Step, p: &Place) -> String {
    match (exists, step) {
        (false, _) if p.whole_unit() => format!(
            "stack set {name} is created, with automatic deployment, with an instance in {}",
            p.label()
        ),
        (true, Step::Create) if p.whole_unit() => {
            format!("instances of stack set {name} are created in {}", p.label())
        }
        (false, _) => format!("stack set {name} is created, with an instance here"),
        (true, Step::Create) => format!("an instance of stack set {name} is created here"),
        (true, Step::Update) => {
            format!("stack set {name}'s template changes: this instance is updated")
        }
        (true, Step::Refresh) => format!(
            "this instance of stack set {name} is not up to date with its template: it is updated"
        ),
        (true, Step::Nothing) => format!("this instance of stack set {name} is up to date"),
        (true, Step::Inoperable) => {
            format!("this instance of stack set {name} is INOPERABLE: it is not deployed")
        }
        (true, Step::Refused) => format!(
            "stack set {name}'s template change would remove or replace a resource holding data here: not deployed without --allow-replacement"
        ),
    }
}
