//! One environment's deploy or plan: prepare both stacks at once (their change sets created
//! and computed, nothing executed), show both previews, ask once (or go ahead with `--yes`),
//! then execute both at once when that is safe, else the data stack and then the fleet (see
//! [`together`]). Whatever is not
//! executed in the end — after a no, a refusal, a failure — is deleted: the change sets and the
//! empty review stacks their creation made.

use super::Ctx;
use super::consent::{self, Decision, Loss};
use super::desired::DesiredStack;
use super::event::Event;
use super::execute;
use super::execute::ledger_step;
use super::network::fleet_network;
use super::prepare::{self, Prepared};
use super::{Action, Mode, StackOutcome, recover};
use crate::aws;
use crate::aws::AwsError;
use crate::config::{Environment, WorkerKind};
use crate::error::{Error, Result};
use crate::output::Question;
use crate::render::{self, StackRole};

/// How an environment's run ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    Done,
    /// The question was answered no: nothing was changed.
    Cancelled,
}

pub(super) async fn run(cx: &Ctx<'_>, done: &mut Vec<StackOutcome>) -> Result<Ended> {
    crate::ownership::check_account(&cx.clients.sts, cx.env).await?;
    let read = Box::pin(read(cx)).await?;
    // A deploy that changes something changes the environment: one run at a time (after the
    // account guard, so that nothing is written in an account the file does not allow). A
    // plan only reads; so does a deploy whose stacks are all deployed as desired, decided on
    // DescribeStacks alone (a no-op deploy takes no lock and reads nothing more). The lock is
    // taken right after that read and before any change set: a run that held it meanwhile
    // and changed the stacks is seen by CloudFormation, which computes each change set
    // against the stack as it is then, and by the stack's state, which the preparation reads
    // again wherever an operation was under way.
    let lock = match cx.mode == Mode::Deploy && cx.env.deployed_directly() && read.changes(cx.opts)
    {
        true => Some(take_lock(cx, done).await?),
        false => None,
    };
    // Boxed: the whole deploy's future is large, and a test thread's stack small.
    let result = Box::pin(locked(cx, lock.as_ref(), read, done)).await;
    if let Some(lock) = lock
        && let Some(note) = lock.release().await
    {
        cx.reporter.line(format!("warning: {note}"));
    }
    result
}

/// The environment's lock, in the credentials' account (which an interrupted run's document
/// then names). Refused (another run holds it): the stacks as they stand, their changes
/// unknown ([`locked_out`]). Taken over from a run that never released it: said.
async fn take_lock(cx: &Ctx<'_>, done: &mut Vec<StackOutcome>) -> Result<crate::lock::EnvLock> {
    let env = cx.env;
    let account = crate::aws::account_id(&cx.clients.sts).await?;
    cx.reporter.ledger.account(&env.name, &account);
    let lock = match crate::lock::take(cx.clients, env, &account, "deploy").await {
        Ok(lock) => lock,
        Err(e) => {
            if matches!(e.of(), Some(crate::lock::errors::Refusal::Locked { .. })) {
                locked_out(cx, done).await;
            }
            return Err(e);
        }
    };
    if let Some(w) = lock.taken_over() {
        cx.reporter.line(format!("warning: {}: {w}", env.name));
        cx.reporter.event(Event::Warning {
            environment: Some(env.name.clone()),
            stack: None,
            change: None,
            message: w.to_string(),
        });
    }
    Ok(lock)
}

/// A deploy another run's lock refused: each stack of the environment as it stands (read
/// only, DescribeStacks), `refused` with its changes unknown. Nothing was previewed, so
/// nothing says "no changes": they count as pending (`changes_pending`), and a stack that
/// does not exist yet would be created. A stack that cannot be read has no status.
async fn locked_out(cx: &Ctx<'_>, done: &mut Vec<StackOutcome>) {
    let started = std::time::Instant::now();
    let env = cx.env;
    let stacks: Vec<(String, StackRole)> =
        std::iter::once((env.data_stack_name(), StackRole::Data))
            .chain(
                env.stages()
                    .iter()
                    .map(|s| (s.fleet_stack_name(), StackRole::Fleet)),
            )
            .collect();
    let read = futures::future::join_all(
        stacks
            .iter()
            .map(|(name, _)| aws::describe_stack(&cx.clients.cfn, name)),
    )
    .await;
    let plan = format!("`qfleet plan {}` previews them", env.name);
    for ((name, role), state) in stacks.into_iter().zip(read) {
        let note = match &state {
            Ok(None) => format!(
                "not created yet: the deploy would create it; nothing was previewed while another run holds the environment's lock ({plan})"
            ),
            Ok(Some(_)) => format!(
                "its changes are unknown: nothing was previewed while another run holds the environment's lock ({plan})"
            ),
            Err(e) => format!(
                "its changes are unknown: nothing was previewed while another run holds the environment's lock, and the stack could not be read ({e})"
            ),
        };
        let state = state.ok().flatten();
        cx.reporter.event(Event::Stack {
            stack: name.clone(),
            action: Action::Refused,
        });
        done.push(StackOutcome {
            stack: name,
            role,
            action: Action::Refused,
            status: state.as_ref().map(|s| s.status.as_str().to_string()),
            duration_ms: started.elapsed().as_millis(),
            changes: Vec::new(),
            notes: vec![note],
            outputs: state.map(|s| s.outputs).unwrap_or_default(),
            // Nothing was previewed: what version it would run is not known.
            worker_version: None,
        });
    }
}

/// [`run`] once the environment is the run's to change (`lock`: a deploy's).
async fn locked(
    cx: &Ctx<'_>,
    lock: Option<&crate::lock::EnvLock>,
    read: Read,
    done: &mut Vec<StackOutcome>,
) -> Result<Ended> {
    // What only a change needs checked, and is cheap to check, comes first: a network the
    // workers cannot use, or a quota the fleet would exceed, fails in seconds, not after a
    // build of many minutes.
    let checked = check_changes(cx, &read).await?;
    // What can fail here fails before the first change on AWS: a function's package is built
    // before any change set (whose creation makes a new stack) exists.
    let packages = match cx.mode {
        Mode::Deploy => super::package::build_missing(cx).await?,
        Mode::Plan => Vec::new(),
    };
    // So is a worker image qfleet builds; a plan says whether the deploy will build it.
    let images = match cx.mode {
        Mode::Deploy => super::image::build_missing(cx).await?,
        Mode::Plan => {
            for note in super::image::plan_notes(cx).await? {
                cx.reporter.line(note);
            }
            Vec::new()
        }
    };
    let express = read.express;
    let prepared = prepare_both(cx, read, checked).await?;
    let block = super::preview::block(&prepared, cx.reporter);
    if cx.mode == Mode::Deploy
        && let Some(e) = removed_stages(cx, &prepared).await
    {
        cx.reporter.detail(&block);
        discard(cx, &prepared).await;
        if matches!(e, Error::Refused(_)) {
            refused(cx, &prepared, done);
        }
        return Err(e);
    }
    if cx.mode == Mode::Plan {
        cx.reporter.detail(&block);
        if let Some(note) = super::hold::plan_note(&prepared) {
            cx.reporter.line(note);
            cx.reporter.event(Event::Warning {
                environment: Some(cx.env.name.clone()),
                stack: None,
                change: None,
                message: note.to_string(),
            });
        }
        // The deploy of this plan would be refused: said now, not first in the deploy.
        if let Some(e) = removed_stages(cx, &prepared).await {
            let w = format!("deploy would refuse: {e}");
            cx.reporter.line(format!("warning: {w}"));
            cx.reporter.event(Event::Warning {
                environment: Some(cx.env.name.clone()),
                stack: None,
                change: None,
                message: w,
            });
        }
        let deleted = discard_strictly(cx, &prepared).await;
        for p in &prepared {
            finish(cx, p, p.plan_action(), done);
        }
        deleted?;
        return Ok(Ended::Done);
    }
    if !confirmed(cx, &prepared, &block, done).await? {
        return Ok(Ended::Cancelled);
    }
    // Still this run's to change: the answer may have come long after the lock was taken.
    if let Some(lock) = lock.filter(|_| prepared.iter().any(Prepared::has_changes))
        && let Err(e) = lock.confirm().await
    {
        discard(cx, &prepared).await;
        refused(cx, &prepared, done);
        return Err(e);
    }
    // A hold the deploy turns off gives its fleets back while its function still stands.
    if let Err(e) = super::hold::give_back(cx, &prepared).await {
        discard(cx, &prepared).await;
        refused(cx, &prepared, done);
        return Err(e);
    }
    execute_all(cx, &prepared, (&packages, &images), done).await?;
    if express && prepared.iter().any(Prepared::has_changes) {
        let said = super::express::express_done(&cx.env.name);
        cx.reporter.line(&said);
        cx.reporter.event(Event::Express {
            environment: cx.env.name.clone(),
            message: said,
        });
    }
    Ok(Ended::Done)
}

/// Every stack of the environment as rendered, as deployed (described) and as desired: what a
/// deploy decides on before anything else (a no-op deploy costs these calls and nothing more).
pub(super) struct Read {
    rendered: Vec<render::RenderedStack>,
    states: Vec<Option<aws::StackState>>,
    desired: Vec<Desired>,
    /// Whether they deploy in express mode.
    express: bool,
}

impl Read {
    /// Whether any stack needs a change: not deployed as desired, or its protection not as
    /// the file asks.
    fn changes(&self, opts: &super::Options) -> bool {
        self.desired
            .iter()
            .zip(&self.states)
            .any(|(d, s)| !prepare::unchanged(&d.stack, s.as_ref(), opts))
    }
}

/// One stack as desired, with what its desire took to know.
struct Desired {
    stack: DesiredStack,
    /// The fleet's network (none for the data stack and a worker function).
    network: Option<super::FleetNetwork>,
    /// What finding the VPC's endpoints said (the data stack's, with `endpoints: create`).
    notes: Vec<String>,
}

/// Every stack rendered, described and desired at once: the data stack and each stage's fleet
/// (one for a one-stage environment). The express mode's warning and the insecure opt-ins in
/// force are said here, on every run.
async fn read(cx: &Ctx<'_>) -> Result<Read> {
    let Ctx {
        clients,
        env,
        opts,
        reporter,
        ..
    } = *cx;
    let rendered = render::render(env)?;
    let states = futures::future::try_join_all(
        rendered
            .iter()
            .map(|s| aws::describe_stack(&clients.cfn, &s.stack_name)),
    )
    .await?;
    adoptions(cx, &states)?;
    // The account the stacks are in: an interrupted run's document names it.
    if let Some(account) = states.iter().flatten().find_map(|s| s.account()) {
        reporter.ledger.account(&env.name, account);
    }
    reporter.ledger.plan(
        &env.name,
        rendered
            .iter()
            .map(|s| ledger_step(cx.mode, &s.stack_name))
            .collect(),
    );
    let (express, warning) = super::express::express(env, opts);
    // The insecure opt-ins in force are said on every run, not only by validate.
    let privileged = env
        .stages()
        .into_iter()
        .flat_map(crate::config::privileged)
        .map(|w| format!("WARNING: {}: {w}", env.name));
    for w in warning.into_iter().chain(privileged) {
        reporter.line(&w);
        reporter.event(Event::Warning {
            environment: Some(env.name.clone()),
            stack: None,
            change: None,
            message: w,
        });
    }
    if rendered.len() < 2 || rendered[0].role != StackRole::Data {
        return Err(Error::aws(format!(
            "{}: rendering gave no data and fleet stacks",
            env.name
        )));
    }
    let endpoints = render::endpoint_plan(env, &rendered[1..])?;
    let mut desired = Vec::new();
    for (i, (stack, state)) in rendered.iter().zip(&states).enumerate() {
        let scx = Ctx {
            env: owner(cx, i),
            ..*cx
        };
        desired.push(desire(&scx, stack, state.as_ref(), express, endpoints.as_ref()).await?);
    }
    Ok(Read {
        rendered,
        states,
        desired,
        express,
    })
}

/// What a stack's change needs checked before anything is built or changed, for the stacks
/// that change alone: whether the account can launch each EC2 fleet, the alerts' chat
/// channels, and each fleet's groups and prefix lists in its VPC and its workers' way to the
/// AWS APIs. An environment deployed as desired needs none of it. Its notes, by stack.
async fn check_changes(cx: &Ctx<'_>, read: &Read) -> Result<Vec<Vec<String>>> {
    let Ctx {
        clients,
        env,
        opts,
        reporter,
        ..
    } = *cx;
    let changing: Vec<bool> = read
        .desired
        .iter()
        .zip(&read.states)
        .map(|(d, s)| !prepare::unchanged(&d.stack, s.as_ref(), opts))
        .collect();
    // Whether the account can launch each EC2 fleet that changes, before any change set is
    // made.
    for (i, stack) in read.rendered.iter().enumerate().skip(1) {
        if !changing[i] {
            continue;
        }
        let spinner = reporter.spinner(&stack.stack_name);
        spinner.set("checking the account's EC2 quotas");
        let deployed = read.states[i].is_some();
        let mut notes = super::quota::check(
            clients,
            owner(cx, i),
            &stack.stack_name,
            deployed,
            opts.over_quota,
        )
        .await?;
        notes.extend(
            opts.together
                .check(clients, owner(cx, i), opts.over_quota)
                .await?,
        );
        drop(spinner);
        for n in notes {
            reporter.line(&n);
            if let Some(w) = n.strip_prefix("WARNING: ") {
                reporter.event(Event::Warning {
                    environment: Some(env.name.clone()),
                    stack: Some(stack.stack_name.clone()),
                    change: None,
                    message: w.to_string(),
                });
            }
        }
    }
    // alerts' chat channels: the workspace or team authorised once in the console.
    let any = changing.iter().any(|c| *c);
    if any {
        for n in super::chat::check(clients, env).await? {
            reporter.line(&n);
            if let Some(w) = n.strip_prefix("WARNING: ") {
                reporter.event(Event::Warning {
                    environment: Some(env.name.clone()),
                    stack: None,
                    change: None,
                    message: w.to_string(),
                });
            }
        }
    }
    // Where the environment changes (any of its stacks: the data stack's endpoints are the
    // fleets' way out too), each fleet's network, all fleets at once.
    let results = futures::future::join_all(read.rendered.iter().enumerate().map(|(i, stack)| {
        let scx = Ctx {
            env: owner(cx, i),
            ..*cx
        };
        let (state, desired) = (read.states[i].as_ref(), &read.desired[i]);
        async move {
            match any && stack.role == StackRole::Fleet {
                true => check_network(&scx, stack, state, desired.network.as_ref()).await,
                false => Ok(Vec::new()),
            }
        }
    }))
    .await;
    let (mut ok, mut errors) = (Vec::new(), Vec::new());
    for r in results {
        match r {
            Ok(notes) => ok.push(notes),
            Err(e) => errors.push(e),
        }
    }
    match errors.is_empty() {
        true => Ok(ok),
        false => Err(one_error(errors)),
    }
}

/// Each stack prepared at once (see [`prepare::prepare`]), with what [`check_changes`] said
/// of it (`checked`, by stack).
async fn prepare_both(
    cx: &Ctx<'_>,
    read: Read,
    checked: Vec<Vec<String>>,
) -> Result<Vec<Prepared>> {
    // A fleet refers to the data stack's resources only by their names, so its change set
    // does not wait for the data stack's; each fleet is prepared in its stage's terms.
    let Read {
        rendered,
        states,
        desired,
        ..
    } = read;
    let results = futures::future::join_all(
        rendered
            .iter()
            .zip(states)
            .zip(desired)
            .zip(checked)
            .enumerate()
            .map(|(i, (((stack, state), desired), checked))| async move {
                let scx = Ctx {
                    env: owner(cx, i),
                    ..*cx
                };
                prepare_stack(&scx, stack, state, desired, checked).await
            }),
    )
    .await;
    let (mut ok, mut errors) = (Vec::new(), Vec::new());
    for r in results {
        match r {
            Ok(p) => ok.push(p),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        discard(cx, &ok).await;
        Err(one_error(errors))
    }
}

/// Stacks of the environment's names that lack its marks (see [`crate::ownership`]) are
/// refused before any change set is made, unless `--adopt` takes them over: then each is
/// named in a warning, and the preview and the question (or `--yes`) follow as for any change.
fn adoptions(cx: &Ctx<'_>, states: &[Option<aws::StackState>]) -> Result<()> {
    for state in states.iter().flatten() {
        let Some(refused) = crate::ownership::refusal(cx.env, state) else {
            continue;
        };
        if !cx.opts.adopt {
            return Err(refused);
        }
        let w = format!(
            "{}: --adopt: stack {} was not made by qfleet for this environment; this {} takes it over (its template becomes qfleet's and it gets qfleet's tags)",
            cx.env.name,
            state.name,
            match cx.mode {
                Mode::Deploy => "deploy",
                Mode::Plan => "plan previews how deploy",
            }
        );
        cx.reporter.line(format!("warning: {w}"));
        cx.reporter.event(Event::Warning {
            environment: Some(cx.env.name.clone()),
            stack: Some(state.name.clone()),
            change: None,
            message: w,
        });
    }
    Ok(())
}

/// A deploy that would take a stage out of a pipeline (its queues leave the data stack) goes
/// ahead only once the stage's fleet stack is gone: with the stage out of the stack file no
/// command would find that fleet any more, and its workers would read a deleted queue. The
/// way to remove a stage is `teardown --only fleet --stage NAME` with the stage still in the
/// file, then this deploy, whose removal of the stage's queues is a loss of data like any
/// other (refused without `--allow-replacement`, or asked about). The stage is known from the
/// removed queue's name in the deployed data stack; whatever cannot be checked refuses.
async fn removed_stages(cx: &Ctx<'_>, prepared: &[Prepared]) -> Option<Error> {
    let env = cx.env;
    let data = prepared.first()?;
    let removed: Vec<&str> = data
        .changes()
        .iter()
        .filter(|c| {
            c.action == aws_sdk_cloudformation::types::ChangeAction::Remove
                && c.resource_type == "AWS::SQS::Queue"
                && c.logical_id.starts_with("Stage")
                && !c.logical_id.ends_with("DeadLetterQueue")
        })
        .map(|c| c.logical_id.as_str())
        .collect();
    if removed.is_empty() {
        return None;
    }
    let cfn = &cx.clients.cfn;
    let cannot = |why: String| {
        Some(Error::aws(format!(
            "{}: this deploy would remove a stage's queues ({}), and whether the stage's fleet stack is gone could not be checked: {why}; nothing was executed",
            env.name,
            removed.join(", ")
        )))
    };
    let resources = match aws::stack_resources(cfn, &data.desired.name).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return cannot(format!(
                "the stack {} lists no resources",
                data.desired.name
            ));
        }
        Err(e) => return cannot(e.to_string()),
    };
    let prefix = format!("qfleet-{}--", env.resource_name());
    let mut running = Vec::new();
    for id in &removed {
        // The queue's URL ends with its name, `qfleet-ENV--STAGE-jobs`.
        let stage = resources
            .get(*id)
            .and_then(|r| r.physical_id.as_deref())
            .and_then(|url| url.rsplit('/').next())
            .and_then(|name| name.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix("-jobs"));
        let Some(stage) = stage else {
            return cannot(format!("the queue {id} does not name its stage"));
        };
        let fleet = format!("{prefix}{stage}-fleet");
        match aws::describe_stack(cfn, &fleet).await {
            Ok(None) => {}
            Ok(Some(_)) => running.push(super::errors::RunningStage {
                stage: stage.to_string(),
                fleet,
            }),
            Err(e) => return cannot(e.to_string()),
        }
    }
    if running.is_empty() {
        return None;
    }
    Some(
        crate::deploy::errors::Refusal::RunningStages {
            env: env.name.clone(),
            file: env.source.display(),
            running,
        }
        .into(),
    )
}

/// The environment a prepared stack belongs to, by its place in the rendered order: the
/// environment for the data stack (0), the stage for each fleet after it.
fn owner<'a>(cx: &Ctx<'a>, i: usize) -> &'a Environment {
    let env = cx.env;
    match i.checked_sub(1) {
        Some(stage) => env.stages().get(stage).copied().unwrap_or(env),
        None => env,
    }
}

/// The environment's consent: given (`--yes`, nothing to change), refused (data would be lost
/// without `--allow-replacement`), or asked once on a terminal. `false`: answered no, the
/// change sets are deleted and the stacks recorded as cancelled.
async fn confirmed(
    cx: &Ctx<'_>,
    prepared: &[Prepared],
    block: &str,
    done: &mut Vec<StackOutcome>,
) -> Result<bool> {
    let Ctx {
        env,
        opts,
        reporter,
        ..
    } = *cx;
    if !prepared.iter().any(Prepared::has_changes) {
        reporter.detail(block);
        return Ok(true);
    }
    let losses: Vec<Loss> = prepared
        .iter()
        .flat_map(|p| {
            p.changes().iter().filter(|c| c.loses_data()).map(|c| Loss {
                stack: &p.desired.name,
                change: c,
            })
        })
        .collect();
    let asked = match consent::decide(&env.name, &losses, opts) {
        Decision::Go => {
            reporter.detail(block);
            Ok(true)
        }
        Decision::Refuse(e) => {
            reporter.detail(block);
            Err(e)
        }
        Decision::Ask { loses_data } => {
            let stacks: Vec<&str> = prepared
                .iter()
                .filter(|p| p.has_changes())
                .map(|p| p.desired.name.as_str())
                .collect();
            let text = consent::question(&env.name, &stacks, &losses);
            reporter
                .ask(Question {
                    environment: &env.name,
                    preview: block,
                    text: &text,
                    loses_data,
                })
                .await
        }
    };
    match asked {
        Ok(true) => Ok(true),
        Ok(false) => {
            discard(cx, prepared).await;
            for p in prepared {
                // Only a stack with changes was cancelled; the other had nothing to do.
                let action = if p.has_changes() {
                    Action::Cancelled
                } else {
                    Action::NoChanges
                };
                finish(cx, p, action, done);
            }
            let said = crate::output::cancelled(&env.name);
            reporter.line(&said);
            reporter.event(Event::Cancelled {
                environment: env.name.clone(),
                message: said,
            });
            Ok(false)
        }
        Err(e) => {
            discard(cx, prepared).await;
            if matches!(e, Error::Refused(_)) {
                refused(cx, prepared, done);
            }
            Err(e)
        }
    }
}

/// A refused deploy's stacks, each with the changes it would have made: the stacks with
/// changes were refused and keep them pending, the others had nothing to do. A saved document
/// keeps what was refused.
fn refused(cx: &Ctx<'_>, prepared: &[Prepared], done: &mut Vec<StackOutcome>) {
    for p in prepared {
        let action = match p.has_changes() {
            true => Action::Refused,
            false => Action::NoChanges,
        };
        finish(cx, p, action, done);
    }
}

/// Executes the confirmed stacks: both at once when [`together`] allows it, else the data stack
/// and then the fleet (whose change set is deleted, not executed, if the data stack fails).
async fn execute_all(
    cx: &Ctx<'_>,
    prepared: &[Prepared],
    (packages, images): (&[super::package::Ready], &[super::image::Ready]),
    done: &mut Vec<StackOutcome>,
) -> Result<()> {
    let Ctx { env, reporter, .. } = *cx;
    let record = |outcome: StackOutcome, done: &mut Vec<StackOutcome>| {
        reporter.ledger.finish(
            &env.name,
            &ledger_step(cx.mode, &outcome.stack),
            format!("{} {}", outcome.stack, outcome.action.text()),
        );
        done.push(outcome);
    };
    // A function's package goes to the code bucket between the data stack and the fleets: the
    // data stack holds the bucket, a function's stack names the object.
    // So do the workers' images, to the data stack's repository.
    let package =
        env.stages().iter().any(|s| super::package::of(s).is_some()) || !images.is_empty();
    if let [data, fleet] = prepared
        && !package
        && together(data, fleet, owner(cx, 1).spec.workers.kind)
    {
        // Both stacks stand and the data stack's update keeps every resource that holds data:
        // the fleet's update does not wait for it (a deploy takes as long as the slower one).
        let (sd, sf) = (
            reporter.spinner(&data.desired.name),
            reporter.spinner(&fleet.desired.name),
        );
        let (d, f) = futures::join!(
            execute::apply(cx, data, &sd),
            execute::apply(cx, fleet, &sf),
        );
        let mut errors = Vec::new();
        for (r, p) in [(d, data), (f, fleet)] {
            match r {
                Ok(outcome) => record(outcome, done),
                Err(e) => {
                    done.push(failed(p));
                    errors.push(e)
                }
            }
        }
        return if errors.is_empty() {
            Ok(())
        } else {
            Err(one_error(errors))
        };
    }
    // The data stack first: a fleet being created needs the queue (the workers' health gate
    // waits for a receive, a function's mapping names the queue); then each stage's fleet.
    for (i, p) in prepared.iter().enumerate() {
        let scx = Ctx {
            env: owner(cx, i),
            ..*cx
        };
        let spinner = reporter.spinner(&p.desired.name);
        let applied = match execute::apply(&scx, p, &spinner).await {
            Ok(outcome) => {
                record(outcome, done);
                if package && p.desired.role == StackRole::Data {
                    match super::package::upload(cx, packages).await {
                        Ok(()) => super::image::push(cx, images).await,
                        Err(e) => Err(e),
                    }
                } else {
                    Ok(())
                }
            }
            Err(e) => {
                done.push(failed(p));
                Err(e)
            }
        };
        match applied {
            Ok(()) => {}
            Err(e) => {
                // The stacks after it are not deployed: their change sets go.
                discard(cx, &prepared[i + 1..]).await;
                return Err(e);
            }
        }
    }
    Ok(())
}

/// One of the environment's stacks as desired: its network (the file's, or the deployed one
/// where the file names none), its template, parameters and tags (the VPC's endpoints found,
/// with `endpoints: create`; the records its data stack keeps).
async fn desire(
    cx: &Ctx<'_>,
    stack: &render::RenderedStack,
    state: Option<&aws::StackState>,
    express: bool,
    endpoints: Option<&crate::render::reach::EndpointPlan>,
) -> Result<Desired> {
    let Ctx {
        clients,
        env,
        opts,
        reporter,
        ..
    } = *cx;
    let network = match stack.role {
        StackRole::Fleet if env.kind().has_network() => {
            Some(fleet_network(clients, env, state, opts).await?)
        }
        // The data stack and a worker function have no network of qfleet's.
        _ => None,
    };
    let mut desired = DesiredStack::new(env, stack, network.as_ref());
    let mut notes = Vec::new();
    if stack.role == StackRole::Data
        && let Some(plan) = endpoints
    {
        let spinner = reporter.spinner(&stack.stack_name);
        spinner.set("finding the VPC's endpoints");
        let (params, said) = super::reach::endpoint_parameters(clients, env, plan, state).await?;
        desired.parameters.extend(
            params
                .into_iter()
                .map(|(k, v)| (k, super::desired::Param::Value(v))),
        );
        notes = said;
    }
    if stack.role == StackRole::Data {
        let recorded = state.map(|s| s.tags.clone()).unwrap_or_default();
        // A repository a deploy made stays recorded after the file stops building.
        if let Some(r) = recorded.get(crate::config::IMAGES_TAG) {
            desired
                .tags
                .insert(crate::config::IMAGES_TAG.to_string(), r.clone());
        }
        desired.tags.extend(opts.found.kept_record(env, &recorded));
    }
    desired.express = express;
    desired.revert_drift = opts.revert_drift;
    Ok(Desired {
        stack: desired,
        network,
        notes,
    })
}

/// A fleet's network checked before any change: the groups and prefix lists its file names
/// in its VPC, and whether its workers reach the services they call. Its notes.
async fn check_network(
    cx: &Ctx<'_>,
    stack: &render::RenderedStack,
    state: Option<&aws::StackState>,
    network: Option<&super::FleetNetwork>,
) -> Result<Vec<String>> {
    let Ctx {
        clients,
        env,
        reporter,
        ..
    } = *cx;
    let Some((vpc, subnets)) = workers_subnets(env, network, state) else {
        return Ok(Vec::new());
    };
    let spinner = reporter.spinner(&stack.stack_name);
    let named = super::network::check_network_references(clients, env, &vpc).await;
    spinner.set("checking the workers' way to the AWS APIs");
    let reached = super::reach::check(
        clients,
        env,
        &stack.template,
        &stack.stack_name,
        &vpc,
        &subnets,
    )
    .await;
    // Every problem with the file's network at once: a missing group and a missing endpoint
    // are both said.
    match (named, reached) {
        (Err(Error::Input(mut a)), Err(Error::Input(b))) => {
            a.extend(b);
            Err(Error::Input(a))
        }
        (Err(e), _) | (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(notes)) => Ok(notes),
    }
}

/// Prepares one of the environment's stacks (see [`prepare::prepare`]), with the notes of its
/// checks (`checked`, [`check_changes`]).
async fn prepare_stack(
    cx: &Ctx<'_>,
    stack: &render::RenderedStack,
    state: Option<aws::StackState>,
    desired: Desired,
    checked: Vec<String>,
) -> Result<Prepared> {
    let Ctx { env, reporter, .. } = *cx;
    let spinner = reporter.spinner(&stack.stack_name);
    let Desired {
        stack: desired,
        notes,
        ..
    } = desired;
    let mut reach = notes;
    reach.extend(checked);
    let mut prepared = prepare::prepare(cx, desired, state, &spinner).await?;
    if stack.role == StackRole::Data {
        reach.extend(endpoints_left(env, &stack.stack_name, prepared.changes()));
    }
    prepared.notes.splice(0..0, reach);
    Ok(prepared)
}

/// What to say when the data stack's change removes endpoints it made: they are kept
/// (RetainExceptOnCreate), as they serve the whole VPC, and teardown deletes them when asked.
fn endpoints_left(
    env: &Environment,
    stack: &str,
    changes: &[crate::aws::ResourceChange],
) -> Option<String> {
    let left: Vec<&str> = changes
        .iter()
        .filter(|c| {
            c.action == aws_sdk_cloudformation::types::ChangeAction::Remove
                && c.resource_type == "AWS::EC2::VPCEndpoint"
        })
        .map(|c| c.logical_id.as_str())
        .collect();
    (!left.is_empty()).then(|| {
        format!(
            "{stack}: {} leave the stack and stay in the VPC, as they may serve more than these workers; `qfleet teardown {} --delete-endpoints` deletes them with the environment",
            left.join(", "),
            env.name
        )
    })
}

/// The VPC and subnets the workers run in: the placement found, the deployed one kept, or the
/// file's; `None` for a function outside any VPC, or a deployed network that cannot be read.
fn workers_subnets(
    env: &Environment,
    network: Option<&super::FleetNetwork>,
    state: Option<&aws::StackState>,
) -> Option<(String, Vec<String>)> {
    match (network, &env.spec.workers.network) {
        (Some(super::FleetNetwork::Place(p)), _) => {
            Some((p.vpc.clone(), p.subnets.values().cloned().collect()))
        }
        (Some(super::FleetNetwork::KeepDeployed), _) => {
            let params = &state?.parameters;
            let subnets = params.get("SubnetIds")?;
            Some((
                params.get("VpcId")?.clone(),
                subnets.split(',').map(str::to_string).collect(),
            ))
        }
        (None, crate::config::Network::Explicit(n)) => {
            Some((n.vpc.clone(), n.subnets.values().cloned().collect()))
        }
        (None, crate::config::Network::Default) => None,
    }
}

/// Whether the two stacks' change sets may run at the same time: both change, and the data
/// stack is an update (it stands; the fleet's workers and mapping find its queue) that
/// replaces or removes nothing holding data. A worker function's mapping is checked against
/// the queue's settings when it is created or changed (its visibility timeout against the
/// function's timeout), so a change to the queue goes first there.
pub(super) fn together(data: &Prepared, fleet: &Prepared, kind: WorkerKind) -> bool {
    let updating = matches!(
        data.step,
        prepare::Step::ChangeSet {
            creating: false,
            ..
        }
    );
    let queue_changes = data
        .changes()
        .iter()
        .any(|c| c.logical_id == crate::render::ids::QUEUE);
    data.has_changes()
        && fleet.has_changes()
        && updating
        && !data.changes().iter().any(|c| c.loses_data())
        // New workers reach the AWS APIs through the endpoints the data stack makes.
        && !data
            .changes()
            .iter()
            .any(|c| c.resource_type == "AWS::EC2::VPCEndpoint")
        && !(crate::kinds::of(kind).bound_to_queue() && queue_changes)
}

/// One error for the environment: the first, or both stacks' when both are AWS failures.
fn one_error(mut errors: Vec<Error>) -> Error {
    if errors.len() == 2
        && let (Error::Aws(a), Error::Aws(b)) = (&errors[0], &errors[1])
    {
        return Error::Aws(AwsError::with_kind(format!("{a}; and {b}"), a.kind));
    }
    if errors.is_empty() {
        return Error::aws("the deploy failed without an error");
    }
    errors.swap_remove(0)
}

/// A stack whose execution failed, as the outcome lists it beside the others (status
/// `FAILED`, its action the one attempted), so that the JSON's `stacks` says what each stack
/// of the environment came to: the data stack created, the fleet failed.
fn failed(p: &Prepared) -> StackOutcome {
    StackOutcome {
        stack: p.desired.name.clone(),
        role: p.desired.role,
        action: match p.creating() {
            true => Action::Created,
            false => Action::Updated,
        },
        status: Some("FAILED".into()),
        duration_ms: p.started.elapsed().as_millis(),
        changes: p.changes().to_vec(),
        notes: p.notes.clone(),
        outputs: Default::default(),
        worker_version: p.new_version.clone(),
    }
}

/// Records a stack that ends without being executed (plan, or cancelled).
fn finish(cx: &Ctx<'_>, p: &Prepared, action: Action, done: &mut Vec<StackOutcome>) {
    let Ctx {
        env,
        mode,
        reporter,
        ..
    } = *cx;
    let name = &p.desired.name;
    reporter.event(Event::Stack {
        stack: name.clone(),
        action,
    });
    reporter.ledger.finish(
        &env.name,
        &ledger_step(mode, name),
        format!("{name} {}", action.text()),
    );
    done.push(StackOutcome {
        stack: name.clone(),
        role: p.desired.role,
        action,
        status: p.state.as_ref().map(|s| s.status.as_str().to_string()),
        duration_ms: p.started.elapsed().as_millis(),
        changes: p.changes().to_vec(),
        notes: p.notes.clone(),
        outputs: p
            .state
            .as_ref()
            .map(|s| s.outputs.clone())
            .unwrap_or_default(),
        worker_version: p.new_version.clone(),
    });
}

/// Deletes the unexecuted change sets of `prepared` (and the review stacks of first creates,
/// waiting until they are gone); what fails to go is left to the next run's recovery.
async fn discard(cx: &Ctx<'_>, prepared: &[Prepared]) {
    let _ = discard_strictly(cx, prepared).await;
}

/// Like [`discard`], returning the first change set that could not be deleted (a plan says so).
async fn discard_strictly(cx: &Ctx<'_>, prepared: &[Prepared]) -> Result<()> {
    let Ctx {
        clients,
        inflight,
        opts,
        ..
    } = *cx;
    let mut first = Ok(());
    for p in prepared {
        let Some((cs, creating)) = p.change_set() else {
            continue;
        };
        if inflight.was_executed(&cs.id) {
            continue;
        }
        let name = &p.desired.name;
        let deleted = aws::delete_change_set(&clients.cfn, &cs.id, name).await;
        // Only a review stack this run made: one that stood before is someone's first deploy.
        if creating && p.state.is_none() {
            recover::abandon_review_stack_and_wait(
                &clients.cfn,
                name,
                p.desired.role_arn.as_deref(),
                opts.polling,
            )
            .await;
        }
        inflight.done(&cs.id);
        if first.is_ok() {
            first = deleted;
        }
    }
    Ok(first?)
}

/// Deploys (or plans) one environment. Errors end up in the outcome, not in the return value,
/// so that other environments carry on.
pub(super) async fn environment(
    clients: &crate::aws::Clients,
    env: &Environment,
    mode: Mode,
    opts: &super::Options,
    reporter: &super::event::Reporter,
    inflight: &super::InFlight,
) -> super::EnvOutcome {
    let started = std::time::Instant::now();
    let mut stacks_done = Vec::new();
    let cx = super::Ctx {
        clients,
        env,
        mode,
        opts,
        reporter,
        inflight,
    };
    let result = run(&cx, &mut stacks_done).await;
    let (ok, cancelled, error, exit_code) = match result {
        Ok(ended) => (
            true,
            ended == Ended::Cancelled,
            None,
            crate::error::Exit::Ok,
        ),
        Err(e) => (false, false, Some(e.report()), e.exit_code()),
    };
    super::EnvOutcome {
        environment: env.name.clone(),
        region: clients.region.clone(),
        ok,
        cancelled,
        stacks: stacks_done,
        error,
        exit_code,
        duration_ms: started.elapsed().as_millis(),
    }
}
