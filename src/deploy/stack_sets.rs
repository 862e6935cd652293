//! A deploy (or plan) of a stack file's targets through CloudFormation StackSets
//! (`rollout.mode: stack_sets`, with self-managed or service-managed permissions, see
//! [`crate::aws::cfn::stack_sets`]): a stack set per stack of the
//! environment in the account and region qfleet runs in (the file's `region`), a stack instance
//! per target. Per wave and per stack set, in the stacks' order (the data first):
//!
//! 1. the stack set is created if there is none, with the merged template
//!    ([`crate::render::stack_set`]); one that exists must carry the file's marks (tags
//!    `qfleet:environment` = the file's environment, `qfleet:owner`), else it is refused;
//! 2. when its template changed, the first UpdateStackSet AWS accepts names the template and
//!    the first group of the wave's existing instances: they get it, and AWS marks every other
//!    instance OUTDATED, their stacks untouched until their wave
//!    (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html>);
//!    the wave's other groups, and an instance of the wave still OUTDATED (its wave was
//!    stopped), get the template the stack set holds through UpdateStackInstances, which
//!    changes nothing of the stack set ([`stack_sets::update_instances`]); an INOPERABLE
//!    instance is named in no call;
//! 3. CreateStackInstances creates the wave's missing instances, once the stack set holds the
//!    new template;
//! 4. each target deployed is read back: its instance must be CURRENT.
//!
//! A call acts on every account in every region it names, so each call names accounts that
//! share the same regions (a target's account is never deployed in another target's region).
//! Every operation is followed to its end and each account and region's result is the
//! target's: FAILED with AWS's reason, CANCELLED when the operation stopped first (failure
//! tolerance exceeded, or StopStackSetOperation). A target whose data stack set failed gets no
//! fleet.
//!
//! StackSets has no change set per instance: `plan` shows what each stack set and instance
//! would get (created, template changed, brought up to date, nothing), with each instance's
//! changes from comparing the stack set's template now and the new one ([`previews`]), and
//! `deploy` needs `--yes` (no question: a template does not say what a change replaces).

use super::{Action, EnvOutcome, Mode, Options, StackOutcome};
use crate::aws::Clients;
use crate::aws::cfn::stack_sets::{self, Desired, Group, Instance, Preferences};
use crate::config::Environment;
use crate::config::schema::PermissionModel;
use crate::error::{Error, ErrorReport, Exit, Refusal, Result, Usage};
use crate::output::words::count;
use crate::render::RenderedStack;
use crate::render::fingerprint::{FINGERPRINT_PARAMETER, fingerprint};
use crate::render::stack_set::Place;
use std::collections::BTreeMap;
use std::time::Instant;

use stack_sets::{MAX_POLLS, operation_token};

/// What happens to one target in one stack set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
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

/// Why a target whose instance is INOPERABLE is not deployed ([`Step::Inoperable`]).
const INOPERABLE: &str = "INOPERABLE: a deletion (or an import) of the instance failed and left its stack unstable, and StackSets leaves it out of every update; AWS's remedy: DeleteStackInstances with RetainStacks true (the stack and its data stay), then delete the stack yourself once its data is safe, and deploy again";

/// What each target of the wave gets in a stack set, from its instances.
fn steps(places: &[Place], instances: &[Instance], new_template: bool) -> Vec<Step> {
    places
        .iter()
        .map(|p| {
            // A target's instance; for a whole unit, every account's in its region.
            let mine: Vec<&Instance> = instances.iter().filter(|i| p.holds(i)).collect();
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
pub fn groups<'a>(
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

/// The operation preferences of the file's `rollout`, regions in the targets' order.
fn preferences(file: &Environment) -> Preferences {
    let r = &file.spec.rollout;
    let mut order: Vec<String> = Vec::new();
    for t in &file.targets {
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

/// The state of one target through the wave.
struct Progress {
    started: Instant,
    stacks: Vec<StackOutcome>,
    /// What ended it: the report and its exit code.
    error: Option<(ErrorReport, Exit)>,
}

fn reported(e: &Error) -> (ErrorReport, Exit) {
    (e.report(), e.exit_code())
}

/// Deploys (or plans) the targets `envs` of one wave of `file` (the stack file loaded whole,
/// all its targets) through StackSets, with `admin`'s clients (the account and region that
/// hold the stack sets). One outcome per target, in `envs`' order.
pub async fn wave(
    admin: &Clients,
    file: &Environment,
    envs: &[Environment],
    mode: Mode,
    opts: &Options,
    note: &(dyn Fn(String) + Sync),
) -> Vec<EnvOutcome> {
    let places: Vec<Place> = envs.iter().map(Place::of).collect();
    let mut progress: Vec<Progress> = envs
        .iter()
        .map(|_| Progress {
            started: Instant::now(),
            stacks: Vec::new(),
            error: None,
        })
        .collect();
    let everyone = |progress: &mut Vec<Progress>, e: Error| {
        let e = &e;
        for p in progress.iter_mut() {
            p.error.get_or_insert_with(|| reported(e));
        }
    };
    if mode == Mode::Deploy && !opts.yes {
        everyone(
            &mut progress,
            Usage::StackSetsUnconfirmed {
                file: file.source.display(),
            }
            .into(),
        );
    }
    // Nothing to render for when every target is refused already (deploy without --yes).
    let sets = match progress.iter().all(|p| p.error.is_some()) {
        true => Ok(Vec::new()),
        false => crate::render::stack_sets_of(file),
    };
    match sets {
        Err(e) => everyone(&mut progress, e),
        Ok(sets) => {
            for set in &sets {
                let live: Vec<usize> = (0..envs.len())
                    .filter(|&i| progress[i].error.is_none())
                    .collect();
                if live.is_empty() {
                    break;
                }
                let wave: Vec<Place> = live.iter().map(|&i| places[i].clone()).collect();
                match one_set(admin, file, set, &wave, mode, opts, note).await {
                    Err(e) => {
                        for &i in &live {
                            progress[i].error = Some(reported(&e));
                        }
                    }
                    Ok(results) => {
                        for (&i, (stack, error)) in live.iter().zip(results) {
                            progress[i].stacks.push(stack);
                            progress[i].error = error.as_ref().map(reported);
                        }
                    }
                }
            }
        }
    }
    envs.iter()
        .zip(progress)
        .map(|(env, p)| {
            let (ok, error, exit_code) = match p.error {
                None => (true, None, Exit::Ok),
                Some((report, exit)) => (false, Some(report), exit),
            };
            EnvOutcome {
                environment: env.name.clone(),
                region: env.spec.region.clone(),
                ok,
                cancelled: false,
                stacks: p.stacks,
                error,
                exit_code,
                duration_ms: p.started.elapsed().as_millis(),
            }
        })
        .collect()
}

/// One stack set for the wave's live targets: each target's stack outcome and error.
async fn one_set(
    admin: &Clients,
    file: &Environment,
    set: &RenderedStack,
    wave: &[Place],
    mode: Mode,
    opts: &Options,
    note: &(dyn Fn(String) + Sync),
) -> Result<Vec<(StackOutcome, Option<Error>)>, Error> {
    let api = stack_sets::Api::new(&admin.cfn, crate::ownership::stack_names::call_as(file));
    let name = set.stack_name.as_str();
    let parameters = BTreeMap::from([(
        FINGERPRINT_PARAMETER.to_string(),
        fingerprint(&set.template),
    )]);
    let mut tags = file.spec.tags.clone();
    tags.extend(crate::ownership::marks(file));
    let prefs = preferences(file);
    let r = &file.spec.rollout;
    let desired = Desired {
        name,
        template: &set.template,
        parameters: &parameters,
        tags: &tags,
        administration_role: r.administration_role.as_deref(),
        execution_role: r.execution_role.as_deref(),
        service_managed: r.permission_model == PermissionModel::ServiceManaged,
        auto_deployment: None,
    };
    let owner = file.spec.owner.as_deref();
    let current =
        crate::ownership::stack_names::describe_ours(api, name, &file.name, &file.name, owner)
            .await?;
    let unit_wide = crate::config::deploy_targets::unit_wide(&file.spec);
    // A stack set's permission model is its own once it has instances (UpdateStackSet: "You
    // can't modify PermissionModel if there are stack instances associated with your stack
    // set", <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html>).
    let wanted = match desired.service_managed {
        true => "SERVICE_MANAGED",
        false => "SELF_MANAGED",
    };
    if let Some(has) = current
        .as_ref()
        .and_then(|c| c.permission_model.as_deref())
        .filter(|m| *m != wanted)
    {
        return Err(Usage::StackSetPermissionModel {
            set: name.to_string(),
            has: has.to_string(),
            file: file.source.display(),
            wanted: wanted.to_string(),
        }
        .into());
    }
    // Targets that each stand for a whole unit need automatic deployment on, and an account
    // that leaves a unit keeping its data; an answer that does not say so is not taken for it.
    // A fleet's stack set waits for the data's in an account that joins a unit.
    let data_set = format!(":stackset/{}:", file.data_stack_name());
    if unit_wide
        && current.as_ref().is_some_and(|c| {
            c.auto_deployment != Some(true)
                || c.retains_stacks != Some(true)
                || (name != file.data_stack_name()
                    && !c.depends_on.iter().any(|arn| arn.contains(&data_set)))
        })
    {
        return Err(Refusal::StackSetAutoDeploymentOff {
            set: name.to_string(),
            file: file.source.display(),
        }
        .into());
    }
    // Automatic deployment (turned on by someone else) acts on accounts the file never names;
    // a service-managed stack set whose answer does not say it is off is not taken for off.
    if !unit_wide
        && current.as_ref().is_some_and(|c| {
            c.auto_deployment == Some(true)
                || (c.permission_model.as_deref() == Some("SERVICE_MANAGED")
                    && c.auto_deployment != Some(false))
        })
    {
        return Err(Refusal::StackSetAutoDeployment {
            set: name.to_string(),
            file: file.source.display(),
        }
        .into());
    }
    let new_template = current.as_ref().is_none_or(|c| {
        c.parameters.get(FINGERPRINT_PARAMETER) != parameters.get(FINGERPRINT_PARAMETER)
    });
    let instances = match &current {
        Some(_) => stack_sets::instances(api, name).await?,
        None => Vec::new(),
    };
    let mut steps = steps(wave, &instances, new_template);
    let previews = previews(name, set, current.as_ref(), &instances, wave, &steps, note);
    let outcome = |i: usize, step: Step, action: Action, started: Instant| StackOutcome {
        stack: name.to_string(),
        role: set.role,
        action,
        status: None,
        duration_ms: started.elapsed().as_millis(),
        changes: previews[i].clone().unwrap_or_default(),
        notes: vec![match (current.is_some(), step) {
            (false, _) if wave[i].whole_unit() => format!(
                "stack set {name} is created, with automatic deployment, with an instance in {}",
                wave[i].label()
            ),
            (true, Step::Create) if wave[i].whole_unit() => {
                format!(
                    "instances of stack set {name} are created in {}",
                    wave[i].label()
                )
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
        }],
        outputs: BTreeMap::new(),
    };
    let started = Instant::now();
    if mode == Mode::Plan {
        return Ok(steps
            .iter()
            .zip(wave)
            .enumerate()
            .map(|(i, (&s, p))| {
                let action = match s {
                    Step::Create => Action::WouldCreate,
                    Step::Update | Step::Refresh => Action::ChangesPending,
                    Step::Nothing | Step::Inoperable | Step::Refused => Action::NoChanges,
                };
                let mut o = outcome(i, s, action, started);
                o.notes.extend(unit_now(p, &instances));
                let error = (s == Step::Inoperable)
                    .then(|| instance_error(name, p, &inoperable(p, &instances)));
                if error.is_some() {
                    o.status = Some("INOPERABLE".into());
                }
                (o, error)
            })
            .collect());
    }
    // Instances an update can reach: StackSets leaves INOPERABLE ones out of every update.
    let updatable = instances.iter().any(|i| i.status != "INOPERABLE");
    // The template changes for a wave without an instance an update can carry it to, while
    // other waves have some: an update names instances, and creating this wave's would deploy
    // the old template.
    if new_template && updatable && steps.contains(&Step::Create) && !steps.contains(&Step::Update)
    {
        return Err(Refusal::StackSetWave {
            set: name.to_string(),
        }
        .into());
    }
    // A change that removes or replaces a resource holding data needs --allow-replacement, as
    // in the direct mode ([`super::consent::decide`]): no call names such a target.
    let mut refusals: Vec<Option<Error>> = (0..wave.len()).map(|_| None).collect();
    // A preview that could not be made cannot show that nothing is lost: the same rule.
    if !opts.allow_replacement {
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
                        Refusal::DataLoss {
                            env: p.environment.clone(),
                            losses,
                        }
                        .into()
                    })
                }
            };
            if refusal.is_some() {
                steps[i] = Step::Refused;
                refusals[i] = refusal;
            }
        }
    }
    if current.is_none() {
        note(format!("creating stack set {name}"));
        // Automatic deployment waits for the data stack set's instance before a fleet's in an
        // account that joins a unit: the fleet needs the data stack's queue.
        let depends_on = match unit_wide {
            true => dependencies(api, file, name).await?,
            false => Vec::new(),
        };
        let desired = Desired {
            auto_deployment: unit_wide.then_some(depends_on.as_slice()),
            ..desired.clone()
        };
        stack_sets::create(api, &desired).await?;
    }
    // For a whole unit, the accounts its operation has a result for (each checked against the
    // instances listed after it).
    let mut answered: Vec<Vec<String>> = (0..wave.len()).map(|_| Vec::new()).collect();
    let mut results: Vec<Option<Result<(), String>>> = steps
        .iter()
        .zip(wave)
        .map(|(s, p)| (*s == Step::Inoperable).then(|| Err(inoperable(p, &instances))))
        .collect();
    let chosen = |want: &[Step]| -> Vec<usize> {
        (0..wave.len())
            .filter(|&i| want.contains(&steps[i]))
            .collect()
    };
    // Whether the stack set holds the new template: AWS keeps an accepted UpdateStackSet's
    // template "even if the stack set operation created by updating the stack set fails", and
    // "subsequent CreateStackInstances calls on the specified stack set use the updated stack
    // set" (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html>):
    // until then, an instance created would get the previous one.
    let mut holds_template = !new_template || current.is_none();
    // Whether an UpdateStackSet of the wave was sent (else a Create waits on none).
    let mut tried_update = false;
    // A new template for a stack set without any instance an update reaches (none, or only
    // INOPERABLE ones): UpdateStackSet naming no account acts on every instance it reaches
    // (here none), and the instances created next get the template.
    if new_template && current.is_some() && !updatable {
        let token = operation_token(name);
        note(format!("stack set {name}: updating its template"));
        let id = stack_sets::update(api, &desired, None, &prefs, &token).await?;
        let op = stack_sets::wait(api, name, &id, opts.polling, MAX_POLLS, &[]).await?;
        if op.status != "SUCCEEDED" {
            return Err(Error::from(crate::aws::error::AwsError::new(format!(
                "updating stack set {name}'s template: the operation {}{}",
                op.status,
                op.reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ))));
        }
        holds_template = true;
    }
    let mut calls: Vec<(Step, Vec<usize>)> = Vec::new();
    let updated = chosen(&[Step::Update]);
    if !updated.is_empty() {
        calls.push((Step::Update, updated));
    }
    let refreshed = chosen(&[Step::Refresh]);
    if !refreshed.is_empty() {
        calls.push((Step::Refresh, refreshed));
    }
    let created = chosen(&[Step::Create]);
    if !created.is_empty() {
        calls.push((Step::Create, created));
    }
    for (step, which) in calls {
        // Targets that each stand for a whole unit: a call per unit, naming no account.
        let by_unit: Vec<Group> = which
            .iter()
            .map(|&i| &wave[i])
            .filter(|p| p.whole_unit())
            .map(|p| Group {
                accounts: Vec::new(),
                regions: vec![p.region.clone()],
                organizational_units: p.unit.iter().cloned().collect(),
                whole_units: true,
            })
            .collect();
        let by_account = groups(which.iter().filter(|&&i| !wave[i].whole_unit()).map(|&i| {
            let p = &wave[i];
            // An existing instance is named in the unit it was created in (as
            // ListStackInstances says), else in the file's.
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
        for group in by_unit.into_iter().chain(by_account) {
            let in_group = |p: &Place| match p.whole_unit() {
                true => group.whole_units && group.regions == [p.region.clone()],
                false => group.accounts.contains(&p.account) && group.regions.contains(&p.region),
            };
            if step == Step::Create && !holds_template {
                // No update was sent when every instance that would carry the template was
                // refused (data loss, or a preview that could not be made).
                let why = match tried_update {
                    true => {
                        "not created: the stack set's new template was not taken (its update failed), and an instance created now would get the previous one"
                    }
                    false => {
                        "not created: the wave's instances that would carry the stack set's new template were refused (see their errors), and an instance created now would get the previous one; deploy again once they may be updated (--allow-replacement, when their data is safe)"
                    }
                };
                for &i in which.iter().filter(|&&i| in_group(&wave[i])) {
                    results[i] = Some(Err(why.to_string()));
                }
                continue;
            }
            let token = operation_token(name);
            note(format!(
                "stack set {name}: {} in {}",
                match step {
                    Step::Create => "creating instances",
                    Step::Update => "updating instances with the new template",
                    _ => "bringing instances up to date",
                },
                match group.whole_units {
                    true => format!(
                        "every account of {} in {}",
                        group.organizational_units.join(", "),
                        group.regions.join(", ")
                    ),
                    false => format!(
                        "{} × {}",
                        group.accounts.join(", "),
                        group.regions.join(", ")
                    ),
                }
            ));
            let op = match step {
                Step::Create => {
                    stack_sets::create_instances(api, name, &group, &prefs, &token).await
                }
                // The template goes in the first update AWS takes: each UpdateStackSet that
                // names a template marks every instance OUTDATED first (the ones updated by an
                // earlier call of this wave too); the later ones, and the instances brought up
                // to date, get the template the stack set holds through UpdateStackInstances,
                // which leaves the other instances as they are.
                Step::Update if !holds_template => {
                    stack_sets::update(api, &desired, Some(&group), &prefs, &token).await
                }
                _ => stack_sets::update_instances(api, name, &group, &prefs, &token).await,
            };
            // A whole unit's accounts are known from its instances when it has some (an update):
            // the results are read again until each of them has one, and until the region
            // has one at least ("", every account there).
            let places: Vec<(&str, &str)> = which
                .iter()
                .map(|&i| &wave[i])
                .filter(|p| in_group(p))
                .flat_map(|p| {
                    let known = instances
                        .iter()
                        .filter(move |x| p.whole_unit() && step != Step::Create && p.holds(x))
                        .map(move |x| (x.account.as_str(), p.region.as_str()));
                    std::iter::once((p.account.as_str(), p.region.as_str())).chain(known)
                })
                .collect();
            if step == Step::Update {
                tried_update = true;
                holds_template |= op.is_ok();
            }
            let ended = match op {
                Ok(id) => stack_sets::wait(api, name, &id, opts.polling, MAX_POLLS, &places).await,
                Err(e) => Err(e),
            };
            for &i in &which {
                let p = &wave[i];
                if !in_group(p) {
                    continue;
                }
                results[i] = Some(match &ended {
                    Err(e) => Err(e.to_string()),
                    Ok(op) => judged(op, p),
                });
                if let Ok(op) = &ended {
                    answered[i] = op
                        .results
                        .iter()
                        .filter(|r| r.region == p.region)
                        .map(|r| r.account.clone())
                        .collect();
                }
            }
        }
    }
    // Positive evidence that each instance deployed has the stack set's template: CURRENT in
    // ListStackInstances once the stack set's calls of the wave are done (an operation's
    // SUCCEEDED is for the call, and a later call may mark an instance OUTDATED).
    let deployed: Vec<usize> = (0..wave.len())
        .filter(|&i| matches!(results[i], Some(Ok(()))))
        .collect();
    // At once: each may be read again for a while when ListStackInstances lags.
    let read_back = futures::future::join_all(deployed.iter().map(|&i| {
        let p = &wave[i];
        async move {
            match p.whole_unit() {
                true => {
                    stack_sets::region_settled(
                        api,
                        name,
                        &p.region,
                        p.unit.as_deref(),
                        opts.polling,
                    )
                    .await
                }
                false => {
                    stack_sets::instance_settled(api, name, &p.account, &p.region, opts.polling)
                        .await
                        .map(|i| i.into_iter().collect())
                }
            }
        }
    }))
    .await;
    // The accounts a whole unit's instances are in, said in its outcome.
    let mut reached: Vec<Option<String>> = (0..wave.len()).map(|_| None).collect();
    for (i, listed) in deployed.into_iter().zip(read_back) {
        results[i] = Some(match listed {
            Err(e) => Err(format!(
                "the operation SUCCEEDED here, and its instance could not be read back: {e}"
            )),
            Ok(instances) if wave[i].whole_unit() => {
                let accounts: Vec<&str> = instances.iter().map(|x| x.account.as_str()).collect();
                reached[i] = Some(format!(
                    "instances in {} of {} in {}: {}",
                    count(accounts.len() as u64, "account", "accounts"),
                    wave[i].unit.as_deref().unwrap_or("its unit"),
                    wave[i].region,
                    accounts.join(", ")
                ));
                unit_current(&instances, &answered[i])
            }
            Ok(instances) => listed_current(instances.first()),
        });
    }
    Ok(steps
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let action = match s {
                Step::Create => Action::Created,
                Step::Update | Step::Refresh => Action::Updated,
                Step::Nothing | Step::Inoperable | Step::Refused => Action::NoChanges,
            };
            if let Some(refused) = refusals[i].take() {
                // Its previewed changes were not made: said as failed, never counted.
                let mut o = outcome(i, s, action, started);
                o.status = Some("FAILED".into());
                return (o, Some(refused));
            }
            let error = match results[i].take() {
                Some(Err(why)) => Some(instance_error(name, &wave[i], &why)),
                _ => None,
            };
            let mut o = outcome(i, s, action, started);
            o.notes.extend(reached[i].take());
            if error.is_some() {
                o.action = Action::NoChanges;
                o.status = Some("FAILED".into());
            }
            (o, error)
        })
        .collect())
}

/// What each target's instance of stack set `set` gets, as a change set would say it
/// (StackSets makes none per instance): the template it has now and the new one, each as the
/// instance reads it ([`crate::render::stack_set::instantiate`]), compared resource by
/// resource ([`super::template_diff`]); every resource added for an instance created. Each
/// preview that changes something is said (`note`), once for the instances whose changes are
/// the same (twenty targets with one change read as one preview); one that cannot be made is
/// an `Err` with why (and said so), never taken for "no change".
fn previews(
    name: &str,
    set: &RenderedStack,
    current: Option<&stack_sets::StackSet>,
    instances: &[Instance],
    wave: &[Place],
    steps: &[Step],
    note: &(dyn Fn(String) + Sync),
) -> Vec<Result<Vec<crate::aws::cfn::changesets::Change>, String>> {
    use crate::render::stack_set::{instantiate, long_form};
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
            .find(|i| p.holds(i) && i.status != "CURRENT")
            .filter(|_| *step == Step::Update);
        if let Some(i) = behind {
            note(format!(
                "stack set {name}, {} {}: the instance is {}, so it may also lack changes of an earlier template than the stack set's, which this preview does not show",
                i.account, p.region, i.status
            ));
        }
        // A creation adds every resource: said by the plan's summary, not line by line.
        if !changes.is_empty() && *step == Step::Update {
            let text = super::preview::changes(&changes);
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
            super::preview::heading(&format!("stack set {name}, {whose}"), false, n)
        ));
    }
    if let Some(why) = unread {
        note(format!(
            "stack set {name}: its template changes, and the change could not be previewed ({why}): see qfleet render for the new one; deploy needs --allow-replacement, since whether it loses data is unknown"
        ));
    }
    out
}

/// The error of a target whose instance of stack set `set` was not deployed, and why.
fn instance_error(set: &str, p: &Place, why: &str) -> Error {
    Error::from(crate::aws::error::AwsError::new(format!(
        "stack set {set}'s instance{} in {}: {why}",
        if p.whole_unit() { "s" } else { "" },
        p.label()
    )))
}

/// Where a whole unit's instances are before the wave (`plan`: which accounts a change
/// reaches), each with its status; `None` for a target of one account, or a unit without any.
fn unit_now(p: &Place, instances: &[Instance]) -> Option<String> {
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
fn inoperable(p: &Place, instances: &[Instance]) -> String {
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
    instances
        .iter()
        .filter(move |i| p.whole_unit() && p.holds(i))
}

/// A whole unit's instances in its region as listed after the wave: each CURRENT, one at
/// least (a unit without an account StackSets deployed to is not known to be deployed), and
/// the same accounts as its operation's results (`answered`): those results are eventually
/// consistent, so an account listed without one may have failed, and one with a result but
/// not listed is not known to have the stack set's template.
fn unit_current(instances: &[Instance], answered: &[String]) -> Result<(), String> {
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

/// The ARN of the data stack set that stack set `name` of a unit-wide file waits for in an
/// account that joins a unit ([`Desired::auto_deployment`]); none for the data stack set.
async fn dependencies(
    api: stack_sets::Api<'_>,
    file: &Environment,
    name: &str,
) -> Result<Vec<String>> {
    let data = file.data_stack_name();
    if name == data {
        return Ok(Vec::new());
    }
    match stack_sets::describe(api, &data).await?.and_then(|d| d.arn) {
        Some(arn) => Ok(vec![arn]),
        None => Err(Error::aws(format!(
            "stack set {name} is created with automatic deployment, which must wait for stack set {data} in an account that joins a unit, and {data} could not be read with its ARN; nothing was created"
        ))),
    }
}

/// A deployed target's instance as listed: CURRENT, else why it is not deployed.
fn listed_current(instance: Option<&Instance>) -> Result<(), String> {
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
fn judged(op: &stack_sets::Operation, p: &Place) -> Result<(), String> {
    let of_op = || match &op.reason {
        Some(r) => format!("the operation {} ({r})", op.status),
        None => format!("the operation {}", op.status),
    };
    if p.whole_unit() {
        // Each account's result, and the operation's own: one the failure tolerance let
        // through, or that stopped, is not the whole unit deployed.
        let here: Vec<&stack_sets::InstanceResult> =
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

#[cfg(test)]
mod tests;

/// Termination protection on a target's instance stacks, as the stack file sets it (on by
/// default outside labs, [`Environment::termination_protection`]), in the target's account
/// (`target`): StackSets creates its stacks without it and takes no such setting
/// (CreateStackInstances and UpdateStackSet have none,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackInstances.html>),
/// so qfleet sets it on each instance's stack, by its id, as it does on its own stacks
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateTerminationProtection.html>);
/// only where it differs (unknown is set, not assumed), after the target's account guard. The
/// instances are found through the file's stack sets (with `admin`), which must carry the
/// file's marks; an instance without a stack (a creation that failed) has nothing to protect.
/// Each stack set whose instance's protection changed, with a line that says so.
pub async fn protect(
    admin: Clients,
    target: &Clients,
    env: &Environment,
) -> Result<Vec<(String, String)>> {
    crate::ownership::check_account(&target.sts, env).await?;
    let want = env.termination_protection();
    let located = crate::ownership::stack_names::instances_of(admin, env).await?;
    let mut changed = Vec::new();
    for own in env.stack_names() {
        let Some((set, Some(instance))) = located.instances.get(&own) else {
            continue;
        };
        // An INOPERABLE instance's stack is left as it is: AWS's remedy ends with deleting it.
        if instance.status == "INOPERABLE" {
            continue;
        }
        let Some(id) = instance.stack_id.as_deref() else {
            continue;
        };
        let name = stack_sets::stack_name_of(id);
        let Some(state) = crate::aws::cfn::stacks::describe(&target.cfn, id).await? else {
            return Err(Error::aws(format!(
                "{}: the stack {name} of its stack set {set}'s instance is not there",
                env.name
            )));
        };
        if state.termination_protection != Some(want) {
            crate::aws::cfn::stacks::set_termination_protection(&target.cfn, id, want).await?;
            changed.push((
                set.clone(),
                format!(
                    "{name}: termination protection turned {}",
                    if want { "on" } else { "off" }
                ),
            ));
        }
    }
    Ok(changed)
}

/// After a wave: `outcome`'s protection set (`Ok`: the changes, recorded as notes of its stack
/// sets' outcomes) or not (`Err`: a deployed target fails with it; one that failed already
/// keeps its own error, and the note says its stacks may be unprotected).
pub fn protected(outcome: &mut EnvOutcome, result: Result<Vec<(String, String)>>) -> Vec<String> {
    match result {
        Ok(changed) => changed
            .into_iter()
            .map(|(set, line)| {
                if let Some(s) = outcome.stacks.iter_mut().find(|s| s.stack == set) {
                    s.notes.push(line.clone());
                }
                format!("{}: {line}", outcome.environment)
            })
            .collect(),
        Err(e) if outcome.ok => {
            failed_after(outcome, &e);
            Vec::new()
        }
        Err(e) => vec![format!(
            "{}: its instance stacks may be without termination protection: {e}",
            outcome.environment
        )],
    }
}

/// `outcome` failed after its deploy, with `e`.
fn failed_after(outcome: &mut EnvOutcome, e: &Error) {
    let (report, exit) = reported(e);
    outcome.ok = false;
    outcome.error = Some(report);
    outcome.exit_code = exit;
}
