//! Tearing an environment down without losing data by accident: read the environment
//! ([`Snapshot`]), decide on positive evidence only ([`decide`]), ask, then delete the fleet,
//! check the data again, empty the bucket when asked, and delete the data stack. Environments
//! hold one of `--concurrency` slots only while they read, decide or send calls, not while
//! CloudFormation deletes their stacks ([`schedule`]).

mod decide;
mod delete;
mod endpoints;
pub(crate) mod errors;
mod event;
mod images;
mod placed;
mod report;
mod schedule;
mod text;
mod wait;

pub(crate) use event::Event;
pub(crate) use report::all;
pub(crate) use schedule::Schedule;

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use decide::{DATA_BEARING, TRANSIENT};
#[cfg(test)]
pub(crate) use event::tests::one_of_each as one_event_of_each;
#[cfg(test)]
pub(crate) use report::schema;

use crate::aws;
use crate::aws::Clients;
use crate::aws::Polling;
use crate::config::Environment;
use crate::error::{Error, ErrorReport, Exit, Result};
use crate::output::Question;
use crate::output::words::count;
use crate::placement::StackNames;
use crate::snapshot::{self, Scope};
use decide::{Allowed, DataAtRisk, Decision, Plan, Refusal};
use event::Reporter;
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    pub(crate) yes: bool,
    pub(crate) can_prompt: bool,
    /// Empty the bucket (all versions and delete markers) so that it can be deleted.
    pub(crate) purge_bucket: bool,
    /// Delete queues that still hold messages.
    pub(crate) discard_messages: bool,
    /// Delete the job table with the records it holds.
    pub(crate) delete_job_records: bool,
    /// The user says the producers' managed policy is attached to nothing.
    pub(crate) producers_detached: bool,
    /// Turn termination protection off before deleting.
    pub(crate) disable_termination_protection: bool,
    /// Only the fleet stack; the data stays.
    pub(crate) only_fleet: bool,
    /// With `only_fleet`, only this stage's fleet stack of a pipeline (the stage's queues are
    /// in the data stack: a deploy without the stage removes them).
    pub(crate) stage: Option<String>,
    /// After DELETE_FAILED, retry once keeping the resources that failed.
    pub(crate) retain_failed: bool,
    /// Delete the VPC endpoints the data stack made (kept otherwise: they serve the VPC).
    pub(crate) delete_endpoints: bool,
    /// `--delete-images`: the images qfleet built go with their repository.
    pub(crate) delete_images: bool,
    pub(crate) polling: Polling,
    /// The slots and the poll budget shared by the run's environments (clones share them).
    pub(crate) schedule: Schedule,
    /// One StackSets operation at a time per stack set among the run's targets.
    pub(crate) rollout_locks: crate::placement::SetLocks,
}

impl Options {
    fn allowed(&self) -> Allowed {
        Allowed {
            purge_bucket: self.purge_bucket,
            discard_messages: self.discard_messages,
            delete_job_records: self.delete_job_records,
            delete_images: self.delete_images,
            producers_detached: self.producers_detached,
            disable_termination_protection: self.disable_termination_protection,
            only_fleet: self.only_fleet,
            wants_protection: false,
            yes: self.yes,
        }
    }

    /// What the teardown covers, as placement's removal reads it.
    fn removal_scope(&self) -> crate::placement::RemovalScope<'_> {
        crate::placement::RemovalScope {
            stage: self.stage.as_deref(),
            only_fleet: self.only_fleet,
        }
    }

    /// [`Options::allowed`] for `env`, whose stack file may ask for termination protection.
    fn allowed_for(&self, env: &Environment) -> Allowed {
        Allowed {
            wants_protection: env.termination_protection(),
            ..self.allowed()
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct TeardownOutcome {
    environment: String,
    ok: bool,
    /// The question was answered no: nothing was deleted (exit code 0).
    cancelled: bool,
    exit_code: crate::error::Exit,
    /// What ended the environment, with its kind; in JSON the environment's `error` (the
    /// envelope's key, [`crate::output::Environment`]).
    #[serde(skip)]
    error: Option<ErrorReport>,
    /// Why it refused, one entry per reason (exit 4, or 1 when AWS could not be read).
    refusals: Vec<Refusal>,
    deleted: Vec<String>,
    /// Resources left in place (retained by policy, or kept after DELETE_FAILED), with ids.
    retained: Vec<String>,
    /// The VPC endpoints `workers.network.endpoints: create` made, with their security group
    /// and prefix list, deleted after the data stack (`--delete-endpoints`).
    endpoints_deleted: Vec<String>,
    /// The same kept: they serve the whole VPC, so they go only when asked.
    endpoints_kept: Vec<String>,
    /// The ECR repository of the images qfleet built, deleted after the data stack, and how
    /// many images went with it (`--delete-images`).
    image_repository_deleted: Option<String>,
    images_deleted: u64,
    data: Option<DataAtRisk>,
    /// The workers' log group deleted with the fleet stack, and what it held (a pipeline's
    /// first stage's; `log_groups` has every stage's).
    log_group: Option<LogGroupHeld>,
    /// Every workers' log group deleted with its fleet stack: the first stage's, then each
    /// later stage's.
    log_groups: Vec<LogGroupHeld>,
    purged_objects: u64,
    duration_ms: u128,
    /// The stacks of a target deployed through StackSets, under the names AWS gave them (its
    /// events name them). Not in the JSON.
    #[serde(skip)]
    instance_stacks: Vec<String>,
}

impl TeardownOutcome {
    /// The outcome of `environment` before anything is done.
    fn new(environment: &str) -> TeardownOutcome {
        TeardownOutcome {
            environment: environment.to_string(),
            ok: true,
            cancelled: false,
            exit_code: crate::error::Exit::Ok,
            error: None,
            refusals: Vec::new(),
            deleted: Vec::new(),
            retained: Vec::new(),
            data: None,
            log_group: None,
            log_groups: Vec::new(),
            purged_objects: 0,
            endpoints_deleted: Vec::new(),
            endpoints_kept: Vec::new(),
            image_repository_deleted: None,
            images_deleted: 0,
            duration_ms: 0,
            instance_stacks: Vec::new(),
        }
    }
}

/// The workers' log group a teardown deletes with the fleet (its lines go with it).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
struct LogGroupHeld {
    /// `null` when it could not be read.
    name: Option<String>,
    /// CloudWatch Logs' count, updated with a delay.
    stored_bytes: Option<u64>,
    /// Whether it holds any stream of lines.
    has_lines: Option<bool>,
    /// Why it could not be read.
    unknown: Option<String>,
}

impl LogGroupHeld {
    fn of(fact: &crate::snapshot::Fact<crate::aws::LogGroupHolding>) -> Option<LogGroupHeld> {
        use crate::snapshot::Fact;
        match fact {
            Fact::Absent => None,
            Fact::Known(h) => Some(LogGroupHeld {
                name: Some(h.name.clone()),
                stored_bytes: h.stored_bytes,
                has_lines: Some(h.has_streams),
                unknown: None,
            }),
            Fact::Unknown(why) => Some(LogGroupHeld {
                name: None,
                stored_bytes: None,
                has_lines: None,
                unknown: Some(why.to_string()),
            }),
        }
    }

    /// One line for the preview and the losses.
    fn describe(&self) -> String {
        match (&self.name, self.has_lines, self.stored_bytes) {
            (Some(n), Some(false), _) => format!("log group {n}: no lines"),
            (Some(n), _, Some(b)) => format!(
                "log group {n}: the workers' lines ({} stored) deleted with the fleet",
                indicatif::DecimalBytes(b)
            ),
            (Some(n), _, None) => {
                format!("log group {n}: the workers' lines deleted with the fleet")
            }
            _ => format!(
                "the workers' log group: not read ({}); deleted with the fleet",
                self.unknown.as_deref().unwrap_or("unknown")
            ),
        }
    }
}

/// Tears down one environment. Errors end up in the outcome so that other environments go on.
#[cfg(test)]
async fn environment(
    clients: &Clients,
    env: &Environment,
    opts: &Options,
    reporter: &Reporter,
) -> TeardownOutcome {
    environment_at(
        clients,
        env,
        async { Ok(StackNames::own()) },
        opts,
        reporter,
    )
    .await
}

/// The environment's bucket that outlived its stacks (an earlier teardown kept it), found by
/// its fixed name, never by listing every bucket: what it holds, and what to do with it.
/// `None` when there is none.
async fn kept_bucket(clients: &crate::aws::Clients, env: &Environment) -> Result<Option<String>> {
    let account = crate::aws::account_id(&clients.sts).await?;
    let names = crate::render::ResourceNames::of(env);
    let bucket = format!("{}-{account}-{}", names.bucket, clients.region);
    if !crate::aws::bucket_exists(&clients.s3, &bucket).await? {
        return Ok(None);
    }
    let held = match crate::aws::bucket_contents(&clients.s3, &bucket).await? {
        Some(c) if c.objects > 0 => format!(
            "{} of {} bytes",
            crate::output::words::count(c.objects, "object version", "object versions"),
            c.bytes
        ),
        Some(_) => "nothing".to_string(),
        None => return Ok(None),
    };
    Ok(Some(format!(
        "bucket {bucket} outlived them (kept by an earlier teardown) and holds {held}: `qfleet deploy {}` takes it back, or delete it yourself once its data is safe",
        env.name
    )))
}

/// Tears down one environment whose stacks are where `locate` finds them (a StackSets
/// target's: its stack sets' instances), looked for in the environment's slot and after its
/// account guard.
async fn environment_at(
    clients: &Clients,
    env: &Environment,
    locate: impl std::future::Future<Output = Result<StackNames>>,
    opts: &Options,
    reporter: &Reporter,
) -> TeardownOutcome {
    let started = Instant::now();
    let mut out = TeardownOutcome::new(&env.name);
    if let Err(e) = run(clients, env, locate, opts, reporter, &mut out).await {
        out.ok = false;
        out.exit_code = e.exit_code();
        out.error = Some(e.report());
    }
    out.duration_ms = started.elapsed().as_millis();
    out
}

/// The refusal of `reasons` (`rechecked`: found when checked again after the fleet was
/// deleted; `fleet_left`: a fleet stack may be there), kept in the outcome; an AWS error when
/// not even the stacks could be read.
fn refuse(
    env: &str,
    reasons: Vec<Refusal>,
    (aws_unreadable, rechecked, fleet_left): (bool, bool, bool),
    out: &mut TeardownOutcome,
) -> Error {
    let refusal = decide::refusal(env, &reasons, rechecked, fleet_left);
    out.refusals = reasons;
    if aws_unreadable {
        out.exit_code = Exit::Aws;
        Error::aws(refusal)
    } else {
        out.exit_code = Exit::Refused;
        refusal.into()
    }
}

/// What one environment's teardown works with.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    clients: &'a Clients,
    env: &'a Environment,
    opts: &'a Options,
    reporter: &'a Reporter,
}

async fn run(
    clients: &Clients,
    env: &Environment,
    locate: impl std::future::Future<Output = Result<StackNames>>,
    opts: &Options,
    reporter: &Reporter,
    out: &mut TeardownOutcome,
) -> Result<()> {
    let at = Ctx {
        clients,
        env,
        opts,
        reporter,
    };
    let mut turn = opts.schedule.turn();
    turn.take().await;
    crate::ownership::check_account(&clients.sts, env).await?;
    // One run at a time, as a deploy (after the account guard).
    let lock = match env.deployed_directly() {
        true => Some(take_lock(&at).await?),
        false => None,
    };
    // Boxed: the whole teardown's future is large, and a test thread's stack small.
    let result = Box::pin(locked(at, lock.as_ref(), locate, &mut turn, out)).await;
    if let Some(lock) = lock
        && let Some(note) = lock.release().await
    {
        reporter.line(format!("warning: {note}"));
    }
    result
}

/// The environment's lock, in the credentials' account (which an interrupted run's document
/// then names); taken over from a run that never released it: said.
async fn take_lock(at: &Ctx<'_>) -> Result<crate::lock::EnvLock> {
    let Ctx {
        clients,
        env,
        reporter,
        ..
    } = *at;
    let account = crate::aws::account_id(&clients.sts).await?;
    reporter.ledger.account(&env.name, &account);
    let lock = crate::lock::take(clients, env, &account, "teardown").await?;
    if let Some(w) = lock.taken_over() {
        warn(reporter, &env.name, w.to_string());
    }
    Ok(lock)
}

/// A warning about the environment: a line on stderr, and an event in its document.
fn warn(reporter: &Reporter, env: &str, message: String) {
    reporter.line(format!("warning: {env}: {message}"));
    reporter.event(Event::Warning {
        environment: env.to_string(),
        message,
    });
}

/// [`run`] once the environment is the run's to change (`lock`: its lock, when taken).
async fn locked(
    at: Ctx<'_>,
    lock: Option<&crate::lock::EnvLock>,
    locate: impl std::future::Future<Output = Result<StackNames>>,
    turn: &mut schedule::Turn,
    out: &mut TeardownOutcome,
) -> Result<()> {
    let Ctx {
        clients,
        env,
        opts,
        reporter,
    } = at;
    let names = &locate.await?;
    if let Some(why) = names.retain_failed_void()
        && opts.retain_failed
    {
        reporter.line(format!("{}: {why}", env.name));
    }
    out.instance_stacks = names.placed_stacks();
    let scope = opts.removal_scope();
    let (snap, later) = read(clients, env, names, opts).await?;
    found_in(reporter, &env.name, &snap);
    let plan: Plan = match decide::decide_stages(&snap, &later, opts.allowed_for(env)) {
        Decision::Nothing => {
            // No stack: what placement left all the same holds nothing; it goes once
            // confirmed.
            let left = crate::placement::leftovers(names, env, scope).await?;
            if !left.is_empty() {
                let preview: Vec<String> = left.iter().map(|x| format!("  - delete {x}")).collect();
                let preview = preview.join("\n");
                if confirmed(&at, &left, (&[], &[]), &preview, turn, out).await? {
                    let mut steps = placed::Steps::new(&at, turn);
                    let deleted = &mut out.deleted;
                    Box::pin(crate::placement::tidy(
                        names, env, scope, true, &mut steps, deleted,
                    ))
                    .await?;
                }
                return Ok(());
            }
            return nothing_left(&at, &snap, out).await;
        }
        Decision::Refuse {
            reasons,
            data,
            aws_unreadable,
        } => {
            out.data = data;
            // A fleet that is not there (torn down with --only fleet) is no way out.
            let fleet_left = std::iter::once(&snap)
                .chain(later.iter().map(|l| &l.snap))
                .any(|s| !matches!(s.fleet.state, crate::snapshot::Fact::Absent));
            return Err(refuse(
                &env.name,
                reasons,
                (aws_unreadable, false, fleet_left),
                out,
            ));
        }
        Decision::Proceed(plan) => plan,
    };
    out.data = plan.data.clone();
    out.log_group = plan.log_group.as_ref().and_then(LogGroupHeld::of);
    out.log_groups = plan.log_groups().filter_map(LogGroupHeld::of).collect();
    let label = |s: &str| names.label(s);
    let step = |s: &str| format!("delete {}", label(s));
    reporter.ledger.plan(
        &env.name,
        plan.targets.iter().map(|s| step(&s.name)).collect(),
    );

    let mut stack_names: Vec<String> = plan.targets.iter().map(|s| label(&s.name)).collect();
    stack_names.extend(names.also_deleted(env, scope));
    let mut preview = preview(&plan, opts, &label);
    for s in stack_names.iter().skip(plan.targets.len()) {
        preview.push_str(&format!("\n  - delete {s}"));
    }
    let asked = (losses(&plan, opts), missing_protection(&at, &plan));
    if !confirmed(&at, &stack_names, (&asked.0, asked.1), &preview, turn, out).await? {
        return Ok(());
    }
    // Still this run's to change: the answer may have come long after the lock was taken.
    if let Some(lock) = lock {
        lock.confirm().await?;
    }

    // On, or unknown (then lifted whatever it is: the user passed the flag).
    for s in plan
        .targets
        .iter()
        .filter(|s| s.termination_protection != Some(false))
    {
        aws::set_termination_protection(&clients.cfn, &s.name, false).await?;
        reporter.line(format!(
            "{}: termination protection turned off (--disable-termination-protection)",
            s.name
        ));
    }

    let retained_by_policy = |s: &str| -> Vec<delete::Retained> {
        if s == snap.data.name {
            delete::retained(&snap.data)
        } else if let Some(l) = later.iter().find(|l| l.snap.fleet.name == s) {
            delete::retained(&l.snap.fleet)
        } else {
            delete::retained(&snap.fleet)
        }
    };
    for s in &plan.targets {
        if s.name == snap.data.name {
            // Work may have arrived while the fleet went: look again, right before the data goes.
            turn.take().await;
            recheck_and_purge(clients, env, names, opts, reporter, out).await?;
            // The repository of the images qfleet built goes before the data stack, whose tag
            // (qfleet:images) records it: a teardown stopped between the two finds it again.
            if let Some(repo) = &plan.images {
                images::tidy(&at, repo, out).await?;
            }
        }
        let kept = retained_by_policy(&s.name);
        out.retained
            .extend(kept.iter().map(delete::Retained::describe));
        reporter.ledger.start(&env.name, &step(&s.name));
        if names.removed_here() {
            let mut steps = placed::Steps::new(&at, turn);
            // Boxed, as each removal's future is large (the teardown's future holds it).
            Box::pin(crate::placement::delete(names, &s.name, &mut steps)).await?;
        } else {
            delete::stack(&at, &s.name, &kept, out, turn).await?;
        }
        reporter
            .ledger
            .finish(&env.name, &step(&s.name), format!("deleted {}", s.name));
        out.deleted.push(s.name.clone());
    }
    if !names.removed_here() && out.deleted.contains(&snap.data.name) {
        after_data(&at, &snap, out).await?;
    }
    for r in &out.retained {
        reporter.line(format!("retained: {r}"));
    }
    let mut steps = placed::Steps::new(&at, turn);
    Box::pin(crate::placement::tidy(
        names,
        env,
        scope,
        false,
        &mut steps,
        &mut out.deleted,
    ))
    .await?;
    Ok(())
}

/// The account `snap`'s stacks are in, recorded: an interrupted run's document names it.
fn found_in(reporter: &Reporter, env: &str, snap: &crate::snapshot::Snapshot) {
    if let Some(account) = [&snap.data, &snap.fleet]
        .iter()
        .find_map(|s| s.state.known().and_then(|s| s.account()))
    {
        reporter.ledger.account(env, account);
    }
}

/// The stacks of `plan` that lack the termination protection their stack file asks for, said
/// before anything is deleted, whether it is asked about or lifted by the flag.
fn missing_protection<'p>(at: &Ctx<'_>, plan: &'p Plan) -> &'p [String] {
    let unprotected = &plan.protection_missing;
    if !unprotected.is_empty() {
        let said = decide::missing_protection(unprotected);
        warn(
            at.reporter,
            &at.env.name,
            match at.opts.disable_termination_protection {
                true => format!("{said}; torn down as asked (--disable-termination-protection)"),
                false => format!("{said}; a teardown of a protected environment is asked about"),
            },
        );
    }
    unprotected
}

/// The data stack gone: its kept endpoints go too where nothing else can use them.
async fn after_data(
    at: &Ctx<'_>,
    snap: &crate::snapshot::Snapshot,
    out: &mut TeardownOutcome,
) -> Result<()> {
    if endpoints::asked(at.env) || endpoints::had(&snap.data) || at.opts.delete_endpoints {
        endpoints::tidy(at, out).await?;
    }
    Ok(())
}

/// An environment without stacks: a bucket an earlier teardown kept is said, and the
/// endpoints it kept (or left when it stopped half-way) go where nothing else can use them.
async fn nothing_left(
    at: &Ctx<'_>,
    snap: &crate::snapshot::Snapshot,
    out: &mut TeardownOutcome,
) -> Result<()> {
    let Ctx {
        clients,
        env,
        reporter,
        ..
    } = *at;
    match kept_bucket(clients, env).await? {
        Some(line) => {
            reporter.line(format!("{}: no stack to tear down; {line}", env.name));
            out.retained.push(line);
        }
        None => reporter.line(format!("{}: nothing to tear down", env.name)),
    }
    let said = out.retained.len();
    if endpoints::asked(env) || at.opts.delete_endpoints {
        endpoints::tidy(at, out).await?;
    }
    // A repository of images an earlier teardown left (it stopped after the data stack).
    let (repo, reasons) = decide::images_at_risk(snap, at.opts.allowed());
    if !reasons.is_empty() {
        return Err(refuse(&env.name, reasons, (false, false, false), out));
    }
    if let Some(repo) = &repo {
        images::tidy(at, repo, out).await?;
    }
    for r in out.retained.iter().skip(said) {
        reporter.line(format!("retained: {r}"));
    }
    Ok(())
}

/// Whether to go on and delete `what`: yes with `--yes`; without it, the question on a
/// terminal (`preview` above it, `losses` in it, and the stacks that lack the termination
/// protection the stack file asks for, `unprotected`: never answered by `a`), else refused
/// (nothing deleted). A no is said, and the outcome is cancelled.
async fn confirmed(
    at: &Ctx<'_>,
    what: &[String],
    (losses, unprotected): (&[String], &[String]),
    preview: &str,
    turn: &mut schedule::Turn,
    out: &mut TeardownOutcome,
) -> Result<bool> {
    let Ctx {
        env,
        opts,
        reporter,
        ..
    } = *at;
    if opts.yes {
        return Ok(true);
    }
    if !opts.can_prompt {
        return Err(crate::teardown::errors::Refusal::TeardownUnconfirmed {
            stacks: what.to_vec(),
        }
        .into());
    }
    let mut text = format!("tear down (delete {})", what.join(", then "));
    if !unprotected.is_empty() {
        text.push_str(&format!(
            " though {} asks for termination protection and {} {} it",
            env.source.display(),
            unprotected.join(" and "),
            if unprotected.len() == 1 {
                "lacks"
            } else {
                "lack"
            }
        ));
    }
    let question = crate::output::question_text(&env.name, &text, losses);
    let asked = Question {
        environment: &env.name,
        preview,
        text: &question,
        // Like a loss of data, never answered by an earlier `a`.
        loses_data: !losses.is_empty() || !unprotected.is_empty(),
    };
    // The answer may take a while: other environments use the slot meanwhile.
    turn.give_back();
    if !reporter.ask(asked).await? {
        let said = crate::output::cancelled(&env.name);
        reporter.line(&said);
        reporter.event(Event::Cancelled {
            environment: env.name.clone(),
            message: said,
        });
        out.cancelled = true;
        return Ok(false);
    }
    turn.take().await;
    Ok(true)
}

/// What a teardown decides on. A pipeline is read stage by stage: the first stage's snapshot
/// holds the data stack, the bucket and the first queues; each later one its fleet and its
/// queues. With `--only fleet --stage NAME`, that stage alone, read as a later stage is (its
/// fleet, its log group).
async fn read(
    clients: &Clients,
    env: &Environment,
    names: &StackNames,
    opts: &Options,
) -> Result<(snapshot::Snapshot, Vec<decide::LaterStage>)> {
    let Some(name) = opts.stage.as_deref() else {
        // Boxed: a snapshot read is a large future. The queues are counted, never received
        // from: a receive counts toward a message's maxReceiveCount (SQS has no peek), and a
        // refused teardown run again and again must never move a job to the dead-letter
        // queue. S3's test event never waits in a queue to be told apart: the subscriptions
        // leave it out (templates/data.yaml.j2).
        let (snap, later) = Box::pin(async {
            tokio::join!(
                snapshot::read_at(clients, env.stages()[0], Scope::TEARDOWN, names),
                read_later_stages(clients, env, names),
            )
        })
        .await;
        return Ok((snap, later));
    };
    let stage = env
        .stages()
        .into_iter()
        .find(|s| s.stage.as_ref().is_some_and(|s| s.name == name))
        .filter(|_| opts.only_fleet)
        .ok_or_else(|| crate::teardown::errors::Usage::TeardownStage {
            env: env.name.clone(),
            stage: name.to_string(),
        })?;
    let snap = Box::pin(snapshot::read_at(
        clients,
        stage,
        Scope::TEARDOWN_STAGE,
        names,
    ))
    .await;
    Ok((snap, Vec::new()))
}

/// The later stages of a pipeline, each read with its fleet and its queues (none for one
/// stage).
async fn read_later_stages(
    clients: &Clients,
    env: &Environment,
    names: &StackNames,
) -> Vec<decide::LaterStage> {
    let stages = env.stages();
    futures::future::join_all(stages.iter().skip(1).map(|stage| async move {
        let (queue_id, dead_letter_id) = crate::render::ids::stage_queues(stage);
        decide::LaterStage {
            name: stage
                .stage
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            queue_id,
            dead_letter_id,
            priority_id: crate::render::ids::stage_priority_queue(stage),
            snap: snapshot::read_at(clients, stage, Scope::TEARDOWN_STAGE, names).await,
        }
    }))
    .await
}

/// What a confirmed teardown loses for good: the bucket's objects it empties, the messages in
/// the queues it deletes (allowed by --purge-bucket and --discard-messages).
pub(crate) fn losses(plan: &Plan, opts: &Options) -> Vec<String> {
    let mut out = Vec::new();
    for held in plan.log_groups().filter_map(LogGroupHeld::of) {
        if held.has_lines != Some(false) {
            out.push(held.describe());
        }
    }
    if let Some(r) = plan.images.as_ref().filter(|r| r.lacks.is_empty())
        && !r.digests.is_empty()
    {
        out.push(format!(
            "ECR repository {}: {} deleted",
            r.name,
            count(r.digests.len() as u64, "image", "images")
        ));
    }
    let Some(d) = &plan.data else { return out };
    if let (Some((bucket, versions)), false) = (&plan.purge, d.bucket_retained)
        && !versions.is_empty()
    {
        out.push(format!(
            "bucket {bucket}: {} emptied",
            count(versions.len() as u64, "object version", "object versions")
        ));
    }
    if let Some(j) = &d.jobs
        && let (Some(t), Some(true), false) = (&j.table, j.records, j.retained)
    {
        out.push(format!("job table {t}: deleted with every job's record"));
    }
    if opts.discard_messages {
        for (queue, messages) in queues_held(d) {
            if let (Some(q), Some(n)) = (queue, messages)
                && n > 0
            {
                out.push(format!(
                    "queue {q}: {} discarded",
                    count(n, "message", "messages")
                ));
            }
        }
    }
    out
}

/// The messages a teardown that deleted the data stack discarded with its queues: nothing but
/// those `--discard-messages` allowed, since without it any would have refused the teardown.
/// From the last count, after the fleet was gone.
pub(crate) fn messages_discarded(d: &DataAtRisk) -> u64 {
    queues_held(d)
        .into_iter()
        .filter_map(|(_, messages)| messages)
        .sum()
}

/// Every queue a teardown counts: its name and the messages it holds; the first stage's, then
/// the later stages', then the response queue and the schedules' dead-letter queue.
fn queues_held(d: &DataAtRisk) -> Vec<(&Option<String>, Option<u64>)> {
    let mut out = vec![
        (&d.queue, d.queue_messages),
        (&d.dead_letter_queue, d.dead_letter_messages),
    ];
    for s in &d.stages {
        out.push((&s.queue, s.queue_messages));
        out.push((&s.dead_letter_queue, s.dead_letter_messages));
        if let Some(q) = &s.priority_queue {
            out.push((&q.queue, q.messages));
        }
    }
    if let Some(q) = &d.priority_queue {
        out.push((&q.queue, q.messages));
    }
    if let Some(j) = &d.jobs {
        out.push((&j.response_queue, j.response_messages));
    }
    if let Some(q) = &d.schedule_dead_letters {
        out.push((&q.queue, q.messages));
    }
    out
}

/// What the question shows above it: the stacks to delete, in order, and what they hold.
fn preview(plan: &Plan, opts: &Options, label: &dyn Fn(&str) -> String) -> String {
    let mut lines: Vec<String> = plan
        .targets
        .iter()
        .map(|s| format!("  - delete {}", label(&s.name)))
        .collect();
    for held in plan.log_groups().filter_map(LogGroupHeld::of) {
        lines.push(format!("  {}", held.describe()));
    }
    if let Some(r) = &plan.images {
        lines.push(match r.lacks.is_empty() {
            true => format!(
                "  ECR repository {}: {} (deleted{})",
                r.name,
                count(r.digests.len() as u64, "image", "images"),
                if r.digests.is_empty() {
                    ""
                } else {
                    ": --delete-images"
                }
            ),
            false => format!("  ECR repository {}: not qfleet's, stays", r.name),
        });
    }
    if let Some((bucket, versions)) = &plan.code_purge {
        lines.push(format!(
            "  code bucket {bucket}: {} (deleted: qfleet rebuilds them from the stack file's code)",
            count(versions.len() as u64, "package version", "package versions")
        ));
    }
    if let Some(d) = &plan.data {
        if let Some(b) = &d.bucket {
            let held = match (d.objects, d.bytes) {
                (Some(o), Some(b)) => format!(
                    "{}, {}",
                    count(o, "object", "objects"),
                    indicatif::DecimalBytes(b)
                ),
                _ => "not counted".into(),
            };
            lines.push(format!(
                "  bucket {b}: {held}{}",
                if d.bucket_retained {
                    " (retained by its policy)"
                } else if opts.purge_bucket {
                    " (emptied: --purge-bucket)"
                } else {
                    ""
                }
            ));
        }
        if let Some(j) = &d.jobs
            && let Some(t) = &j.table
        {
            let held = match j.records {
                Some(true) => "holds jobs' records",
                Some(false) => "no record",
                None => "not read",
            };
            let fate = if j.retained {
                " (retained by its policy)"
            } else if opts.delete_job_records {
                " (deleted: --delete-job-records)"
            } else {
                ""
            };
            lines.push(format!("  job table {t}: {held}{fate}"));
        }
        for (q, n) in queues_held(d) {
            if let Some(q) = q {
                lines.push(format!(
                    "  queue {q}: {}",
                    n.map(|n| count(n, "message", "messages"))
                        .unwrap_or_else(|| "not counted".into())
                ));
            }
        }
    }
    lines.join("\n")
}

/// Reads the data again after the fleet is gone (no worker writes any more), refuses if it now
/// holds data the user did not allow to lose, empties the bucket of exactly what it listed, and
/// confirms it empty.
async fn recheck_and_purge(
    clients: &Clients,
    env: &Environment,
    names: &StackNames,
    opts: &Options,
    reporter: &Reporter,
    out: &mut TeardownOutcome,
) -> Result<()> {
    let (snap, later) = read(clients, env, names, opts).await?;
    let (mut data, purge, mut reasons) = decide::data_at_risk(&snap, opts.allowed());
    for l in &later {
        let stage = decide::stage_queues_at_risk(&snap, l, opts.allowed(), &mut reasons);
        data.stages.push(stage);
    }
    let (code_purge, code_reasons) = decide::code_at_risk(&snap);
    reasons.extend(code_reasons);
    out.data = Some(data);
    if !reasons.is_empty() {
        return Err(refuse(&env.name, reasons, (false, true, false), out));
    }
    if let Some((bucket, versions)) = code_purge {
        // The function's packages: rebuilt from the stack file's code by the next deploy.
        let step = format!("empty code bucket {bucket}");
        reporter.ledger.start(&env.name, &step);
        let n = aws::delete_object_versions(&clients.s3, &bucket, &versions).await?;
        reporter.ledger.finish(
            &env.name,
            &step,
            format!(
                "emptied code bucket {bucket} ({})",
                count(n, "package version", "package versions")
            ),
        );
    }
    let Some((bucket, versions)) = purge else {
        return Ok(());
    };
    reporter.line(format!(
        "emptying bucket {bucket} ({}, --purge-bucket)",
        count(versions.len() as u64, "object version", "object versions")
    ));
    let step = format!("empty bucket {bucket}");
    reporter.ledger.start(&env.name, &step);
    out.purged_objects = aws::delete_object_versions(&clients.s3, &bucket, &versions).await?;
    reporter.ledger.finish(
        &env.name,
        &step,
        format!(
            "emptied bucket {bucket} ({})",
            count(out.purged_objects, "object", "objects")
        ),
    );
    match aws::bucket_contents(&clients.s3, &bucket).await? {
        Some(left) if left.objects > 0 => Err(crate::teardown::errors::Refusal::ObjectsArrived {
            env: env.name.clone(),
            bucket,
            objects: left.objects,
        }
        .into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
