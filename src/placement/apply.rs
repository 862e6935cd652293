//! A wave of a stack file's targets through CloudFormation StackSets (`rollout.mode:
//! stack_sets`, with self-managed or service-managed permissions, see
//! [`crate::aws::StackSetApi`]): a stack set per stack of the environment in the account
//! and region qfleet runs in (the file's `region`), a stack instance per target. Per stack
//! set, in the stacks' order (the data first):
//!
//! 1. the stack set is created if there is none, with the merged template
//!    ([`crate::render::merged`]); one that exists must carry the file's marks (tags
//!    `qfleet:environment` = the file's environment, `qfleet:owner`), else it is refused, and
//!    must pass [`super::plan::guard`];
//! 2. when its template changed, the first UpdateStackSet AWS accepts names the template and
//!    the first group of the wave's existing instances: they get it, and AWS marks every other
//!    instance OUTDATED, their stacks untouched until their wave
//!    (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html>);
//!    the wave's other groups, and an instance of the wave still OUTDATED (its wave was
//!    stopped), get the template the stack set holds through UpdateStackInstances, which
//!    changes nothing of the stack set ([`aws::update_stack_instances`]); an INOPERABLE
//!    instance is named in no call;
//! 3. CreateStackInstances creates the wave's missing instances, once the stack set holds the
//!    new template;
//! 4. each target deployed is read back: its instance must be CURRENT ([`super::judge`]).
//!
//! A call acts on every account in every region it names, so each call names accounts that
//! share the same regions (a target's account is never deployed in another target's region).
//! Every operation is followed to its end and each account and region's result is the
//! target's: FAILED with AWS's reason, CANCELLED when the operation stopped first (failure
//! tolerance exceeded, or StopStackSetOperation). A target whose data stack set failed gets no
//! fleet.
//!
//! StackSets has no change set per instance: a plan shows what each stack set and instance
//! would get (created, template changed, brought up to date, nothing), with each instance's
//! changes from comparing the stack set's template now and the new one
//! ([`super::instance_changes`]), and a deploy needs `--yes` (no question: a template does not say
//! what a change replaces).

use super::errors::Usage;
use super::plan::{self, Step};
use super::{instance_changes, judge};
use crate::aws::Clients;
use crate::aws::Polling;
use crate::aws::ResourceChange as Change;
use crate::aws::{
    self, DeploymentGroup as Group, DesiredStackSet as Desired,
    OperationPreferences as Preferences, StackInstance as Instance,
};
use crate::config::{Environment, PermissionModel, TargetFile};
use crate::error::{Error, ErrorReport, Exit, Result};
use crate::output::words::count;
use crate::render::{FINGERPRINT_PARAMETER, Place, RenderedStack, StackRole, fingerprint};
use std::collections::BTreeMap;
use std::time::Instant;

use crate::aws::{STACK_SET_MAX_POLLS as MAX_POLLS, stack_set_operation_token as operation_token};

/// How a wave is run: planned (nothing changes) or deployed, and the flags that decide what
/// a deploy may do.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) plan: bool,
    /// `--yes`: StackSets has no change set to ask about, so a deploy needs it.
    pub(crate) yes: bool,
    /// `--allow-replacement`: a change that loses data goes ahead.
    pub(crate) allow_replacement: bool,
    pub(crate) polling: Polling,
}

/// What one stack set does for one target.
#[derive(Debug, Clone)]
pub(crate) struct SetOutcome {
    /// The stack set's name.
    pub(crate) stack: String,
    pub(crate) role: StackRole,
    pub(crate) step: Step,
    /// `FAILED` or `INOPERABLE` when the target's instance was not deployed.
    pub(crate) status: Option<String>,
    pub(crate) changes: Vec<Change>,
    pub(crate) notes: Vec<String>,
    pub(crate) duration_ms: u128,
}

/// One target's wave: what each stack set did, and what ended it (the report and its code).
pub(crate) struct TargetOutcome {
    pub(crate) started: Instant,
    pub(crate) stacks: Vec<SetOutcome>,
    pub(crate) error: Option<(ErrorReport, Exit)>,
}

fn reported(e: &Error) -> (ErrorReport, Exit) {
    (e.report(), e.exit_code())
}

/// Deploys (or plans) the targets `envs` of one wave of `file` through StackSets, with
/// `admin`'s clients (the account and region that hold the stack sets). One outcome per
/// target, in `envs`' order.
pub(crate) async fn wave(
    admin: &Clients,
    file: &TargetFile,
    envs: &[Environment],
    run: &Run,
    note: &(dyn Fn(String) + Sync),
) -> Vec<TargetOutcome> {
    let places: Vec<Place> = envs.iter().map(Place::of).collect();
    let mut progress: Vec<TargetOutcome> = envs
        .iter()
        .map(|_| TargetOutcome {
            started: Instant::now(),
            stacks: Vec::new(),
            error: None,
        })
        .collect();
    let everyone = |progress: &mut Vec<TargetOutcome>, e: Error| {
        for p in progress.iter_mut() {
            p.error.get_or_insert_with(|| reported(&e));
        }
    };
    if !run.plan && !run.yes {
        let e = Usage::StackSetsUnconfirmed {
            file: file.base.source.display(),
        };
        everyone(&mut progress, e.into());
    }
    // Nothing to render for when every target is refused already (deploy without --yes).
    let sets = match progress.iter().all(|p| p.error.is_some()) {
        true => Ok(Vec::new()),
        false => crate::render::stack_sets_for(&file.base, file.targets()),
    };
    let sets = match sets {
        Ok(sets) => sets,
        Err(e) => {
            everyone(&mut progress, e.into());
            return progress;
        }
    };
    for set in &sets {
        let live: Vec<usize> = (0..envs.len())
            .filter(|&i| progress[i].error.is_none())
            .collect();
        if live.is_empty() {
            break;
        }
        let wave: Vec<Place> = live.iter().map(|&i| places[i].clone()).collect();
        match one_set(admin, file, set, &wave, run, note).await {
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
    progress
}

/// What the calls of one stack set share.
struct SetCall<'a> {
    api: aws::StackSetApi<'a>,
    name: &'a str,
    desired: Desired<'a>,
    prefs: Preferences,
    run: &'a Run,
    note: &'a (dyn Fn(String) + Sync),
}

/// One stack set for the wave's live targets: each target's outcome and error.
async fn one_set(
    admin: &Clients,
    file: &TargetFile,
    set: &RenderedStack,
    wave: &[Place],
    run: &Run,
    note: &(dyn Fn(String) + Sync),
) -> Result<Vec<(SetOutcome, Option<Error>)>> {
    let base = &file.base;
    let name = set.stack_name.as_str();
    let parameters = BTreeMap::from([(
        FINGERPRINT_PARAMETER.to_string(),
        fingerprint(&set.template),
    )]);
    let mut tags = base.spec.tags.clone();
    tags.extend(crate::ownership::marks(
        base,
        set.role == crate::render::StackRole::Fleet,
    ));
    let r = &base.spec.rollout;
    let call = SetCall {
        api: aws::StackSetApi::new(&admin.cfn, super::stack_names::call_as(base)),
        name,
        desired: Desired {
            name,
            template: &set.template,
            parameters: &parameters,
            tags: &tags,
            administration_role: r.administration_role.as_deref(),
            execution_role: r.execution_role.as_deref(),
            service_managed: r.permission_model == PermissionModel::ServiceManaged,
            auto_deployment: None,
        },
        prefs: plan::preferences(base, file.targets()),
        run,
        note,
    };
    let owner = base.spec.owner.as_deref();
    let current =
        super::stack_names::describe_ours(call.api, name, &base.name, &base.name, owner).await?;
    let unit_wide = crate::config::unit_wide(&base.spec);
    plan::guard(base, name, current.as_ref(), unit_wide)?;
    let new_template = current.as_ref().is_none_or(|c| {
        c.parameters.get(FINGERPRINT_PARAMETER) != parameters.get(FINGERPRINT_PARAMETER)
    });
    let instances = match &current {
        Some(_) => aws::stack_instances(call.api, name).await?,
        None => Vec::new(),
    };
    let mut steps = plan::steps(wave, &instances, new_template);
    let previews =
        instance_changes::previews(name, set, current.as_ref(), &instances, wave, &steps, note);
    let told = Told {
        name,
        role: set.role,
        exists: current.is_some(),
        wave,
        previews: &previews,
        started: Instant::now(),
    };
    if run.plan {
        return Ok(told.planned(&steps, &instances));
    }
    if let Some(e) = plan::wave_refusal(name, new_template, &instances, &steps) {
        return Err(e);
    }
    let mut refusals = match run.allow_replacement {
        true => (0..wave.len()).map(|_| None).collect(),
        false => plan::refusals(name, wave, &previews, &mut steps),
    };
    if current.is_none() {
        call.create(base, unit_wide).await?;
    }
    let mut walk = Walk::new(wave, &steps, &instances, new_template, current.is_some());
    // A new template for a stack set without any instance an update reaches (none, or only
    // INOPERABLE ones): UpdateStackSet naming no account acts on every instance it reaches
    // (here none), and the instances created next get the template.
    let updatable = instances.iter().any(|i| i.status != "INOPERABLE");
    if new_template && current.is_some() && !updatable {
        call.update_template().await?;
        walk.holds_template = true;
    }
    for (step, which) in plan::calls(&steps) {
        for group in plan::call_groups(&which, wave, &instances) {
            walk.call(&call, step, &which, &group).await;
        }
    }
    walk.read_back(&call).await;
    Ok(told.deployed(&steps, &mut refusals, walk))
}

impl SetCall<'_> {
    /// Creates the stack set. Automatic deployment waits for the data stack set's instance
    /// before a fleet's in an account that joins a unit: the fleet needs the data stack's
    /// queue.
    async fn create(&self, file: &Environment, unit_wide: bool) -> Result<()> {
        (self.note)(format!("creating stack set {}", self.name));
        let depends_on = match unit_wide {
            true => dependencies(self.api, file, self.name).await?,
            false => Vec::new(),
        };
        let desired = Desired {
            auto_deployment: unit_wide.then_some(depends_on.as_slice()),
            ..self.desired.clone()
        };
        Ok(aws::create_stack_set(self.api, &desired).await?)
    }

    /// The new template given to the stack set alone (no instance an update reaches).
    async fn update_template(&self) -> Result<()> {
        let name = self.name;
        let token = operation_token(name);
        (self.note)(format!("stack set {name}: updating its template"));
        let id = aws::update_stack_set(self.api, &self.desired, None, &self.prefs, &token).await?;
        let op = aws::wait_for_stack_set_operation(
            self.api,
            name,
            &id,
            self.run.polling,
            MAX_POLLS,
            &[],
        )
        .await?;
        if op.status != "SUCCEEDED" {
            return Err(Error::from(crate::aws::AwsError::new(format!(
                "updating stack set {name}'s template: the operation {}{}",
                op.status,
                op.reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ))));
        }
        Ok(())
    }
}

/// The state of a stack set's calls through the wave.
struct Walk<'a> {
    wave: &'a [Place],
    instances: &'a [Instance],
    /// Each target's result once its call ended (`None`: no call named it).
    results: Vec<Option<std::result::Result<(), String>>>,
    /// For a whole unit, the accounts its operation has a result for (each checked against
    /// the instances listed after it).
    answered: Vec<Vec<String>>,
    /// The accounts a whole unit's instances are in, said in its outcome.
    reached: Vec<Option<String>>,
    /// Whether the stack set holds the new template: AWS keeps an accepted UpdateStackSet's
    /// template "even if the stack set operation created by updating the stack set fails",
    /// and "subsequent CreateStackInstances calls on the specified stack set use the updated
    /// stack set"
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html>):
    /// until then, an instance created would get the previous one.
    holds_template: bool,
    /// Whether an UpdateStackSet of the wave was sent (else a Create waits on none).
    tried_update: bool,
}

impl<'a> Walk<'a> {
    fn new(
        wave: &'a [Place],
        steps: &[Step],
        instances: &'a [Instance],
        new_template: bool,
        exists: bool,
    ) -> Walk<'a> {
        Walk {
            wave,
            instances,
            results: steps
                .iter()
                .zip(wave)
                .map(|(s, p)| {
                    (*s == Step::Inoperable).then(|| Err(judge::inoperable(p, instances)))
                })
                .collect(),
            answered: vec![Vec::new(); wave.len()],
            reached: vec![None; wave.len()],
            holds_template: !new_template || !exists,
            tried_update: false,
        }
    }

    /// One call naming `group` of the targets `which` (of `step`), followed to its end; each
    /// target's result in it.
    async fn call(&mut self, call: &SetCall<'_>, step: Step, which: &[usize], group: &Group) {
        let wave = self.wave;
        let mine: Vec<usize> = which
            .iter()
            .copied()
            .filter(|&i| plan::in_group(group, &wave[i]))
            .collect();
        if step == Step::Create && !self.holds_template {
            // No update was sent when every instance that would carry the template was
            // refused (data loss, or a preview that could not be made).
            for &i in &mine {
                self.results[i] = Some(Err(plan::not_created(self.tried_update).to_string()));
            }
            return;
        }
        let (api, name, prefs) = (call.api, call.name, &call.prefs);
        let token = operation_token(name);
        (call.note)(format!(
            "stack set {name}: {} in {}",
            doing(step),
            where_(group)
        ));
        let op = match step {
            Step::Create => aws::create_stack_instances(api, name, group, prefs, &token).await,
            // The template goes in the first update AWS takes: each UpdateStackSet that names
            // a template marks every instance OUTDATED first (the ones updated by an earlier
            // call of this wave too); the later ones, and the instances brought up to date,
            // get the template the stack set holds through UpdateStackInstances, which leaves
            // the other instances as they are.
            Step::Update if !self.holds_template => {
                aws::update_stack_set(api, &call.desired, Some(group), prefs, &token).await
            }
            _ => aws::update_stack_instances(api, name, group, prefs, &token).await,
        };
        if step == Step::Update {
            self.tried_update = true;
            self.holds_template |= op.is_ok();
        }
        let places = self.awaited(step, &mine);
        let ended = match op {
            Ok(id) => {
                aws::wait_for_stack_set_operation(
                    api,
                    name,
                    &id,
                    call.run.polling,
                    MAX_POLLS,
                    &places,
                )
                .await
            }
            Err(e) => Err(e),
        };
        for &i in &mine {
            let p = &wave[i];
            self.results[i] = Some(match &ended {
                Err(e) => Err(e.to_string()),
                Ok(op) => judge::judged(op, p),
            });
            if let Ok(op) = &ended {
                self.answered[i] = op
                    .results
                    .iter()
                    .filter(|r| r.region == p.region)
                    .map(|r| r.account.clone())
                    .collect();
            }
        }
    }

    /// The accounts and regions whose results a call's wait reads again until each has one:
    /// a whole unit's accounts are known from its instances when it has some (an update), and
    /// the region needs one at least ("", every account there).
    fn awaited(&self, step: Step, mine: &[usize]) -> Vec<(&'a str, &'a str)> {
        let (wave, instances) = (self.wave, self.instances);
        mine.iter()
            .map(|&i| &wave[i])
            .flat_map(|p| {
                let known = instances
                    .iter()
                    .filter(move |x| {
                        p.whole_unit()
                            && step != Step::Create
                            && p.holds(&x.account, &x.region, x.organizational_unit.as_deref())
                    })
                    .map(move |x| (x.account.as_str(), p.region.as_str()));
                std::iter::once((p.account.as_str(), p.region.as_str())).chain(known)
            })
            .collect()
    }

    /// Positive evidence that each instance deployed has the stack set's template: CURRENT in
    /// ListStackInstances once the stack set's calls of the wave are done (an operation's
    /// SUCCEEDED is for the call, and a later call may mark an instance OUTDATED). At once:
    /// each may be read again for a while when ListStackInstances lags.
    async fn read_back(&mut self, call: &SetCall<'_>) {
        let (api, name, polling) = (call.api, call.name, call.run.polling);
        let wave = self.wave;
        let deployed: Vec<usize> = (0..wave.len())
            .filter(|&i| matches!(self.results[i], Some(Ok(()))))
            .collect();
        let listed = futures::future::join_all(deployed.iter().map(|&i| {
            let p = &wave[i];
            async move {
                match p.whole_unit() {
                    true => {
                        aws::stack_set_region_settled(
                            api,
                            name,
                            &p.region,
                            p.unit.as_deref(),
                            polling,
                        )
                        .await
                    }
                    false => aws::stack_instance_settled(api, name, &p.account, &p.region, polling)
                        .await
                        .map(|i| i.into_iter().collect()),
                }
            }
        }))
        .await;
        for (i, listed) in deployed.into_iter().zip(listed) {
            self.results[i] = Some(match listed {
                Err(e) => Err(format!(
                    "the operation SUCCEEDED here, and its instance could not be read back: {e}"
                )),
                Ok(instances) if wave[i].whole_unit() => {
                    self.reached[i] = Some(reached(&wave[i], &instances));
                    judge::unit_current(&instances, &self.answered[i])
                }
                Ok(instances) => judge::listed_current(instances.first()),
            });
        }
    }
}

/// What a call does, as its note says.
fn doing(step: Step) -> &'static str {
    match step {
        Step::Create => "creating instances",
        Step::Update => "updating instances with the new template",
        _ => "bringing instances up to date",
    }
}

/// Where a call acts, as its note says.
fn where_(group: &Group) -> String {
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
}

/// The accounts a whole unit's instances are in after the wave.
fn reached(p: &Place, instances: &[Instance]) -> String {
    let accounts: Vec<&str> = instances.iter().map(|x| x.account.as_str()).collect();
    format!(
        "instances in {} of {} in {}: {}",
        count(accounts.len() as u64, "account", "accounts"),
        p.unit.as_deref().unwrap_or("its unit"),
        p.region,
        accounts.join(", ")
    )
}

/// What the outcomes of one stack set are told from.
struct Told<'a> {
    name: &'a str,
    role: StackRole,
    exists: bool,
    wave: &'a [Place],
    previews: &'a [std::result::Result<Vec<Change>, String>],
    started: Instant,
}

impl Told<'_> {
    fn outcome(&self, i: usize, step: Step) -> SetOutcome {
        SetOutcome {
            stack: self.name.to_string(),
            role: self.role,
            step,
            status: None,
            duration_ms: self.started.elapsed().as_millis(),
            changes: self.previews[i].clone().unwrap_or_default(),
            notes: vec![plan::step_note(self.name, self.exists, step, &self.wave[i])],
        }
    }

    /// A plan's outcomes: what each target would get, an INOPERABLE one failed with why.
    fn planned(&self, steps: &[Step], instances: &[Instance]) -> Vec<(SetOutcome, Option<Error>)> {
        steps
            .iter()
            .zip(self.wave)
            .enumerate()
            .map(|(i, (&s, p))| {
                let mut o = self.outcome(i, s);
                o.notes.extend(judge::unit_now(p, instances));
                let error = (s == Step::Inoperable)
                    .then(|| judge::instance_error(self.name, p, &judge::inoperable(p, instances)));
                if error.is_some() {
                    o.status = Some("INOPERABLE".into());
                }
                (o, error)
            })
            .collect()
    }

    /// A deploy's outcomes: a refused target failed with its refusal (its previewed changes
    /// were not made), one whose call or read-back failed with why.
    fn deployed(
        &self,
        steps: &[Step],
        refusals: &mut [Option<Error>],
        mut walk: Walk<'_>,
    ) -> Vec<(SetOutcome, Option<Error>)> {
        (0..steps.len())
            .map(|i| {
                let mut o = self.outcome(i, steps[i]);
                if let Some(refused) = refusals[i].take() {
                    o.status = Some("FAILED".into());
                    return (o, Some(refused));
                }
                let error = match walk.results[i].take() {
                    Some(Err(why)) => Some(judge::instance_error(self.name, &self.wave[i], &why)),
                    _ => None,
                };
                o.notes.extend(walk.reached[i].take());
                if error.is_some() {
                    o.status = Some("FAILED".into());
                }
                (o, error)
            })
            .collect()
    }
}

/// The ARN of the data stack set that stack set `name` of a unit-wide file waits for in an
/// account that joins a unit ([`Desired::auto_deployment`]); none for the data stack set.
async fn dependencies(
    api: aws::StackSetApi<'_>,
    file: &Environment,
    name: &str,
) -> Result<Vec<String>> {
    let data = file.data_stack_name();
    if name == data {
        return Ok(Vec::new());
    }
    match aws::describe_stack_set(api, &data)
        .await?
        .and_then(|d| d.arn)
    {
        Some(arn) => Ok(vec![arn]),
        None => Err(Error::aws(format!(
            "stack set {name} is created with automatic deployment, which must wait for stack set {data} in an account that joins a unit, and {data} could not be read with its ARN; nothing was created"
        ))),
    }
}
