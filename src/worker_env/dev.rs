//! `qfleet dev`: a worker run on this machine with a stage's settings, the reference worker by
//! default. It takes the environment's real jobs and records them in the job table as the
//! fleet does. It runs with the caller's credentials, or with the workers' own role assumed
//! (`--as-workers`, where the role trusts the caller: `workers.dev_principals`). On Ctrl-C (or
//! SIGTERM) the worker stops and releases the messages it holds at once, as it does on an
//! instance.

use super::{Tables, signal};
use crate::config::Environment;
use crate::error::{Error, Exit, Result};
use crate::output::Output;
use crate::session::Session;
use std::collections::BTreeMap;

/// The variables only an instance of the group can use: a machine that is not one has no
/// lifecycle to follow (the worker would wait for an `InService` state that never comes) and
/// no group to signal.
const INSTANCE_ONLY: &[&str] = &[
    "QFLEET_ASG_NAME",
    "QFLEET_LIFECYCLE_HOOK",
    "QFLEET_LAUNCH_HOOK",
    "QFLEET_SIGNAL_STACK",
    "QFLEET_SIGNAL_RESOURCE",
];

/// Variables a stage may lack that another stage, or an instance, has: inherited from the
/// caller's shell (after `eval "$(qfleet env … --shell)"` for another stage, say), they would
/// send this stage's output to another queue or make the worker wait for an instance's
/// lifecycle. The child never inherits them; the stage's own are set.
const NOT_INHERITED: &[&str] = &[
    "QFLEET_NEXT_QUEUE_URL",
    "QFLEET_NEXT_STAGE",
    "QFLEET_STAGE",
    "QFLEET_STAGE_INDEX",
    "QFLEET_RESPONSE_QUEUE_URL",
    "QFLEET_JOBS_STACK",
    "QFLEET_JOB_TABLE",
    "QFLEET_LEASE_TABLE",
    "QFLEET_LEASES",
    "QFLEET_LIMITS",
    "QFLEET_MAX_RECEIVE_COUNT",
    "QFLEET_RETRY_BACKOFF",
    "QFLEET_RETRY_MAX_DELAY",
    "QFLEET_RETRY_JITTER",
    "QFLEET_TENANT",
    "QFLEET_PRIORITY_QUEUE_URL",
    "QFLEET_PRIORITY_WEIGHT",
    "QFLEET_NEXT_PRIORITY_QUEUE_URL",
    "QFLEET_JOB_RETENTION_DAYS",
    "QFLEET_STOP_GRACE",
];

/// The alert topics (`alerts:`): a job that fails on this machine, often on purpose while a
/// worker is debugged, must not page the team. They are not set; one exported in the caller's
/// shell is kept, for trying the notices on purpose.
const ALERT_TOPICS: &[&str] = &["QFLEET_ALERTS_TOPIC", "QFLEET_ALERTS_TEAM_TOPIC"];

/// Takes the alert topics out of a stage's variables: whether there were any.
fn without_alert_topics(variables: &mut BTreeMap<String, String>) -> bool {
    let before = variables.len();
    variables.retain(|k, _| !ALERT_TOPICS.contains(&k.as_str()));
    variables.len() != before
}

/// What `qfleet dev` runs.
pub(crate) struct Dev {
    /// The command and its arguments; empty: the reference worker.
    pub(crate) command: Vec<String>,
    /// Run on a protected environment too.
    pub(crate) on_protected: bool,
    /// Run with the workers' role, assumed (`--as-workers`).
    pub(crate) as_workers: bool,
    /// Read the secrets when the worker starts, as an instance does (`--with-secrets`).
    pub(crate) with_secrets: bool,
    /// Names whose value in the caller's shell the worker keeps over the fleet's (`--keep`).
    pub(crate) keep: Vec<String>,
    /// Check the worker against the protocol with this job's body (`--check`), instead of
    /// running it until Ctrl-C.
    pub(crate) check: Option<std::path::PathBuf>,
    /// How long the check's job may take at this stage (`--timeout`).
    pub(crate) timeout: Option<std::time::Duration>,
}

/// The variables `qfleet dev` gives a worker, from the stage's (`fleet`, as its workers get
/// them): less those only an instance uses and the alert topics, plus the tables' names the
/// fleet's instances learn at boot (`tables`: the job table's and the lease table's) and the
/// Region's second name, which ECS gives a task. Whether alert topics were left out.
pub(super) fn for_dev(
    mut fleet: BTreeMap<String, String>,
    tables: Option<&Tables>,
) -> (BTreeMap<String, String>, bool) {
    fleet.retain(|k, _| !INSTANCE_ONLY.contains(&k.as_str()));
    let alerts_left_out = without_alert_topics(&mut fleet);
    // Every worker in the fleet has the Region under both names: an instance's worker.env
    // sets both, and ECS sets both for a task ("AWS_DEFAULT_REGION – ... the default Region
    // where your task runs", Amazon ECS environment variables,
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-environment-variables.html).
    // An SDK that reads only AWS_DEFAULT_REGION (boto3's) then finds it here too.
    if let Some(region) = fleet.get("AWS_REGION").cloned() {
        fleet.entry("AWS_DEFAULT_REGION".into()).or_insert(region);
    }
    if let Some(t) = tables {
        fleet.insert("QFLEET_JOB_TABLE".into(), t.jobs.clone());
        fleet.insert("QFLEET_LEASE_TABLE".into(), t.leases.clone());
    }
    (fleet, alerts_left_out)
}

/// The tables' names, read from the data stack `stack`'s resources with the caller's
/// credentials, as an instance's bootstrap reads them: the worker then makes no call of its
/// own for them. Fail closed: a stack that cannot be read, or holds no table, stops `dev`.
fn tables_of(session: &Session, env: &Environment, stack: &str) -> Result<Tables> {
    session.block_on(async {
        let clients = crate::session::clients_for(&session.aws, env).await;
        let resources = crate::aws::stack_resources(&clients.cfn, stack)
            .await
            .map_err(|e| {
                Error::aws(format!(
                    "{}: the job tables' names could not be read from {stack}, so the worker would keep no records: {e}",
                    env.name
                ))
            })?
            .unwrap_or_default();
        let name = |logical: &str| {
            resources
                .get(logical)
                .filter(|r| r.is_live())
                .and_then(|r| r.physical_id.clone())
                .ok_or_else(|| {
                    Error::aws(format!(
                        "{}: {stack} lists no {logical}: deploy the stack file with `jobs:` first (`qfleet deploy {}`)",
                        env.name,
                        env.resource_name()
                    ))
                })
        };
        Ok(Tables {
            jobs: name(crate::render::ids::JOB_TABLE)?,
            leases: name(crate::render::ids::LEASE_TABLE)?,
        })
    })
}

/// What the caller's shell had that the worker does not get as it was: names whose value the
/// fleet's replaces, names cleared (another stage's or an instance's), and the `--keep` names
/// the shell does not set (nothing to keep: the fleet's value stays).
#[derive(Debug, Default, PartialEq)]
pub(super) struct Overrides {
    pub(super) replaced: Vec<String>,
    pub(super) cleared: Vec<String>,
    pub(super) kept: Vec<String>,
    pub(super) not_in_shell: Vec<String>,
}

/// Applies `keep` to what the worker gets (`variables` set, `cleared` removed) given the
/// caller's shell (`shell`), and says what the shell loses. A kept name is neither set nor
/// cleared: the worker inherits the shell's value. Values are never said (a shell holds
/// secrets too), only names.
pub(super) fn apply_keep(
    variables: &mut BTreeMap<String, String>,
    cleared: &mut Vec<String>,
    shell: &dyn Fn(&str) -> Option<std::ffi::OsString>,
    keep: &[String],
) -> Overrides {
    let mut o = Overrides::default();
    for name in keep {
        if shell(name).is_none() {
            o.not_in_shell.push(name.clone());
            continue;
        }
        let set = variables.remove(name).is_some();
        let before = cleared.len();
        cleared.retain(|c| c != name);
        if set || cleared.len() != before {
            o.kept.push(name.clone());
        }
    }
    for (k, v) in variables.iter() {
        if shell(k).is_some_and(|s| s.as_os_str() != std::ffi::OsStr::new(v)) {
            o.replaced.push(k.clone());
        }
    }
    o.cleared = cleared
        .iter()
        .filter(|c| shell(c).is_some())
        .cloned()
        .collect();
    o
}

/// A `--keep` name: an environment variable's (letters, digits and `_`, not starting with a
/// digit), and none of the workers' role's keys with `--as-workers`.
pub(super) fn check_keep(keep: &[String], as_workers: bool) -> Result<()> {
    for name in keep {
        let valid = name.chars().next().is_some_and(|c| !c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let why = if !valid {
            "not a variable's name: letters, digits and _, not starting with a digit"
        } else if as_workers
            && (ROLE_KEYS.contains(&name.as_str()) || OTHER_CREDENTIALS.contains(&name.as_str()))
        {
            "--as-workers runs the worker with the workers' role's keys; keeping your own credentials would undo it"
        } else {
            continue;
        };
        return Err(crate::error::Usage::FlagValue {
            flag: "--keep",
            value: name.clone(),
            why: why.to_string(),
        }
        .into());
    }
    Ok(())
}

/// The keys `--as-workers` sets: the workers' role's.
const ROLE_KEYS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// Where credentials come from besides the environment's keys: cleared for a worker run with
/// the workers' role, so that the SDK in it takes the role's keys.
const OTHER_CREDENTIALS: &[&str] = &[
    "AWS_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// The workers' role (EC2's `WorkerRole`, Fargate's `WorkerTaskRole`) assumed: its keys for
/// the worker's environment, and the role's ARN. The role must trust the caller
/// (`workers.dev_principals`); AWS answers AccessDenied otherwise.
fn as_workers(
    session: &Session,
    env: &Environment,
    stage: &Environment,
    account: &str,
) -> Result<(BTreeMap<String, String>, String)> {
    let logical = match stage.spec.workers.kind {
        crate::config::WorkerKind::Fargate | crate::config::WorkerKind::EcsManaged => {
            "WorkerTaskRole"
        }
        _ => "WorkerRole",
    };
    session.block_on(async {
        let clients = crate::session::clients_for(&session.aws, env).await;
        let fleet = stage.fleet_stack_name();
        let name = crate::aws::stack_resources(&clients.cfn, &fleet)
            .await?
            .and_then(|r| r.get(logical).and_then(|r| r.physical_id.clone()))
            .ok_or_else(|| {
                Error::aws(format!(
                    "{fleet} lists no {logical}: deploy the environment first"
                ))
            })?;
        let partition = crate::config::partition(&stage.spec.region).unwrap_or("aws");
        let role = format!("arn:{partition}:iam::{account}:role/{name}");
        let keys = crate::aws::assume_role(&clients.sts, &role, "qfleet-dev").await?;
        let vars = BTreeMap::from([
            ("AWS_ACCESS_KEY_ID".to_string(), keys.access_key_id),
            ("AWS_SECRET_ACCESS_KEY".to_string(), keys.secret_access_key),
            ("AWS_SESSION_TOKEN".to_string(), keys.session_token),
        ]);
        Ok((vars, format!("{role} (until {})", keys.expiration)))
    })
}

/// Runs the command with `stage`'s worker variables (of the environment `env`) until it ends
/// or is interrupted.
pub(crate) fn run(
    session: &Session,
    env: &Environment,
    stage: &Environment,
    dev: Dev,
    out: Output,
) -> Result<Exit> {
    out.text_only("dev runs a worker in the foreground and prints its lines, as text; use `qfleet env ENV -o json` for the settings as JSON")?;
    if stage.spec.workers.kind == crate::config::WorkerKind::Lambda {
        return Err(crate::worker_env::errors::Usage::DevFunction {
            env: env.name.clone(),
        }
        .into());
    }
    // Said before any call: the role would refuse anyone it does not trust.
    if dev.as_workers && stage.spec.workers.dev_principals.is_empty() {
        return Err(crate::worker_env::errors::Usage::DevAsWorkersNotTrusted {
            env: env.name.clone(),
        }
        .into());
    }
    if env.termination_protection() && !dev.on_protected {
        return Err(crate::worker_env::errors::Refusal::DevOnProtected {
            env: env.name.clone(),
        }
        .into());
    }
    check_keep(&dev.keep, dev.as_workers)?;
    // The check's job is read and checked before any call: a stage must take messages.
    let check = match &dev.check {
        Some(file) => {
            crate::submit::stage_of(env, stage.pipeline_stage().map(|s| s.name.as_str()))?;
            let wait = dev.timeout.unwrap_or(super::check::DEFAULT_WAIT);
            Some(super::check::request(stage, file, wait)?)
        }
        None => None,
    };
    let (account, fleet) = super::read(session, env, stage, "dev")?;
    let tables = match fleet.get("QFLEET_JOBS_STACK") {
        Some(stack) => Some(tables_of(session, env, stack)?),
        None => None,
    };
    let (mut variables, alerts_left_out) = for_dev(fleet, tables.as_ref());
    let role = match dev.as_workers {
        true => {
            let (keys, role) = as_workers(session, env, stage, &account)?;
            variables.extend(keys);
            Some(role)
        }
        false => None,
    };
    let mut cleared: Vec<String> = INSTANCE_ONLY
        .iter()
        .chain(NOT_INHERITED)
        .chain(if role.is_some() {
            OTHER_CREDENTIALS
        } else {
            &[]
        })
        .copied()
        .filter(|k| !variables.contains_key(*k))
        .map(str::to_string)
        .collect();
    let overrides = apply_keep(
        &mut variables,
        &mut cleared,
        &|k| std::env::var_os(k),
        &dev.keep,
    );
    // The reference worker and the secrets' helper live (and are removed) with `dir`.
    let dir = private_dir()?;
    let (mut program, mut args) = match dev.command.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec()),
        None => {
            let worker = write(
                &dir,
                "qfleet_worker.py",
                &qfleet_runtime::inline_shared(qfleet_runtime::WORKER),
            )?;
            write(&dir, "qfleet_jobs.py", qfleet_runtime::JOBS)?;
            ("python3".to_string(), vec![worker])
        }
    };
    let references = crate::render::secret_references(&stage.spec.workers);
    if let (true, Some(refs)) = (dev.with_secrets, &references) {
        // As on an instance: qfleet-secrets reads each value with the worker's credentials
        // and runs the command with them; qfleet never sees them.
        let file = write(&dir, "secrets.json", refs)?;
        let helper = write(&dir, "qfleet_secrets.py", qfleet_runtime::SECRETS)?;
        variables.insert("QFLEET_SECRETS_FILE".into(), file);
        args.insert(0, program);
        args.insert(0, helper);
        program = "python3".to_string();
    }
    let shown = std::iter::once(program.as_str())
        .chain(args.iter().map(String::as_str))
        .map(crate::output::hint::quote)
        .collect::<Vec<_>>()
        .join(" ");
    let of_stage = stage
        .pipeline_stage()
        .map(|s| format!(" of stage {}", s.name))
        .unwrap_or_default();
    let queue = variables
        .get("QFLEET_QUEUE_URL")
        .map_or("its queue", String::as_str);
    out.note(match &check {
        None => format!(
            "{}: running `{shown}` with the workers' settings{of_stage}: it takes the environment's real jobs from {queue}; Ctrl-C stops it (the reference worker puts the messages it holds back in the queue)",
            env.name,
        ),
        Some(r) => format!(
            "{}: checking `{shown}` with the workers' settings{of_stage} against the worker protocol: it takes the job {} and the environment's real jobs from {queue} for up to {} s, then a minute more, then is stopped with SIGTERM",
            env.name,
            serde_json::json!(r.request.id),
            r.wait.as_secs()
        ),
    });
    if let Some(role) = &role {
        out.note(format!(
            "{}: as the workers' role {role}: AccessDenied shows as it would in the fleet",
            env.name
        ));
    }
    if alerts_left_out {
        out.note(format!(
            "{}: failed jobs here send no alert (QFLEET_ALERTS_TOPIC is not set): export it yourself to try the notices",
            env.name
        ));
    }
    say_overrides(&out, env, stage, &dev, &overrides);
    if !dev.with_secrets {
        for (name, from) in &stage.spec.workers.secrets {
            out.note(format!(
                "{name}: a secret the fleet reads from {from}; not set here: give --with-secrets to read it as the fleet does, or export it yourself"
            ));
        }
    }
    let cleared: Vec<&str> = cleared.iter().map(String::as_str).collect();
    let Some(request) = check else {
        return session.block_on(wait(&program, &args, &variables, &cleared));
    };
    session.block_on(async {
        let clients = crate::session::clients_for(&session.aws, env).await;
        super::check::run(
            &clients,
            stage,
            tables.as_ref().map(|t| t.jobs.as_str()),
            &request,
            (&program, &args),
            &variables,
            &cleared,
            &out,
        )
        .await
    })
}

/// Says what the caller's shell had that the worker does not get as it was: names only, never
/// values; with `--as-workers`, the credentials it replaces are said elsewhere.
fn say_overrides(
    out: &Output,
    env: &Environment,
    stage: &Environment,
    dev: &Dev,
    overrides: &Overrides,
) {
    for line in overrides_said(env, stage, dev, overrides) {
        out.note(line);
    }
}

/// The lines [`say_overrides`] prints. Where the fleet replaces a value of the team's own (not
/// an `AWS_` or `QFLEET_` name, which point the worker at the fleet), the command that keeps
/// them runs as printed: this run again with `--keep` for each.
pub(super) fn overrides_said(
    env: &Environment,
    stage: &Environment,
    dev: &Dev,
    overrides: &Overrides,
) -> Vec<String> {
    let said = |names: &[String]| {
        names
            .iter()
            .filter(|n| {
                !dev.as_workers
                    || !(ROLE_KEYS.contains(&n.as_str()) || OTHER_CREDENTIALS.contains(&n.as_str()))
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    let name = &env.name;
    let replaced = said(&overrides.replaced);
    let gone = said(&overrides.cleared);
    let mut lines = Vec::new();
    if !replaced.is_empty() {
        let own: Vec<String> = replaced
            .iter()
            .filter(|n| !n.starts_with("AWS_") && !n.starts_with("QFLEET_"))
            .cloned()
            .collect();
        let how = match own.is_empty() {
            true => "give --keep NAME to keep yours".to_string(),
            false => format!("to keep yours: `{}`", again_keeping(env, stage, dev, &own)),
        };
        lines.push(format!(
            "{name}: the fleet's value replaces your shell's for {}; {how}",
            replaced.join(", ")
        ));
    }
    if let Some(first) = gone.first() {
        lines.push(format!(
            "{name}: your shell's {} not passed on (an instance's own, or another stage's): give --keep {first} to pass it",
            gone.join(", ")
        ));
    }
    if !overrides.kept.is_empty() {
        lines.push(format!(
            "{name}: your shell's {} kept over the fleet's (--keep)",
            overrides.kept.join(", ")
        ));
    }
    if !overrides.not_in_shell.is_empty() {
        lines.push(format!(
            "{name}: --keep {}: your shell does not set it; the fleet's value is used",
            overrides.not_in_shell.join(", ")
        ));
    }
    lines
}

/// This `qfleet dev` run again, keeping `more` too: the same environment, stage, flags and
/// command, each word as a shell reads it back.
fn again_keeping(env: &Environment, stage: &Environment, dev: &Dev, more: &[String]) -> String {
    use crate::output::hint::quote;
    let mut words = vec!["qfleet dev".to_string(), quote(&env.name)];
    if let Some(s) = stage.pipeline_stage() {
        words.push(format!("--stage {}", quote(&s.name)));
    }
    for (on, flag) in [
        (dev.on_protected, "--on-protected"),
        (dev.as_workers, "--as-workers"),
        (dev.with_secrets, "--with-secrets"),
    ] {
        if on {
            words.push(flag.to_string());
        }
    }
    for k in dev.keep.iter().chain(more) {
        words.push(format!("--keep {}", quote(k)));
    }
    if let Some(job) = &dev.check {
        words.push(format!("--check {}", quote(&job.display().to_string())));
    }
    if let Some(t) = dev.timeout {
        words.push(format!("--timeout {}s", t.as_secs()));
    }
    if !dev.command.is_empty() {
        words.push("--".to_string());
        words.extend(dev.command.iter().map(|w| quote(w)));
    }
    words.join(" ")
}

/// A new private directory (mode 0700, its name unpredictable) for the reference worker and
/// the secrets' helper, removed when the returned value is dropped.
fn private_dir() -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("qfleet-dev-")
        .tempdir()
        .map_err(|e| Error::aws(format!("making a private directory: {e}")))
}

/// Writes `text` to `name` in `dir`; its path.
fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> Result<String> {
    let path = dir.path().join(name);
    std::fs::write(&path, text).map_err(|e| Error::aws(format!("writing {name}: {e}")))?;
    Ok(path.display().to_string())
}

/// Runs the program in a process group of its own and waits for it. A signal to qfleet (a
/// terminal's Ctrl-C reaches qfleet alone) is passed on as one SIGINT, and qfleet keeps
/// waiting while the program stops, holding the signal taken up so that it is not ended
/// first.
async fn wait(
    program: &str,
    args: &[String],
    vars: &BTreeMap<String, String>,
    cleared: &[&str],
) -> Result<Exit> {
    let _holding = crate::error::Holding::new();
    let mut child = super::spawn(program, args, vars, cleared, false)?;
    let status = tokio::select! {
        s = child.wait() => s,
        signal = crate::error::interrupted() => {
            self::signal(&child, "INT").await;
            let _ = child.wait().await;
            return Ok(Exit::Interrupted(signal));
        }
    };
    let status = status.map_err(|e| Error::aws(format!("waiting for `{program}`: {e}")))?;
    if status.success() {
        return Ok(Exit::Ok);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return Err(Error::aws(format!(
                "`{program}` was killed by signal {sig}"
            )));
        }
    }
    Err(Error::aws(format!(
        "`{program}` exited with status {}",
        status.code().unwrap_or(-1)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_laptop_run_leaves_the_alert_topics_out_and_keeps_the_rest() {
        let mut v: BTreeMap<String, String> = [
            (
                "QFLEET_QUEUE_URL",
                "https://sqs.eu-west-1.amazonaws.com/1/q",
            ),
            (
                "QFLEET_ALERTS_TOPIC",
                "arn:aws:sns:eu-west-1:1:qfleet-shop-alerts",
            ),
            ("QFLEET_ALERTS_TEAM_TOPIC", "arn:aws:sns:eu-west-1:2:oncall"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert!(without_alert_topics(&mut v));
        assert_eq!(v.keys().collect::<Vec<_>>(), ["QFLEET_QUEUE_URL"]);
        assert!(!without_alert_topics(&mut v), "none left: nothing to say");
        // Not cleared from the caller's shell: an export of one's own is kept.
        assert!(
            !NOT_INHERITED
                .iter()
                .chain(INSTANCE_ONLY)
                .any(|k| ALERT_TOPICS.contains(k))
        );
    }
}
