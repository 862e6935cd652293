//! One run at a time per environment: `deploy` and `teardown` hold an environment's lock while
//! they change it ([`protocol`]: an object per environment in qfleet's lock bucket of its
//! account and Region, taken with S3's conditional writes). A second run refuses, naming the
//! holder; a holder that crashed frees it [`LEASE`] after its last renewal. Reading commands (`plan`, `status`, …) never take it.

pub(crate) mod errors;
mod protocol;
use crate::aws;
use crate::aws::Clients;
use crate::config::Environment;
use crate::error::Result;
use protocol::{After, Held, Holder, LEASE, RENEW_EVERY, Taken};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// How long a run that takes over the lock of a run whose process ended, or that released it
/// less than this long ago, waits (from the release) before it reads anything: the time for
/// that run's last requests to land. A request of a killed run delayed 150 ms on its way (the
/// fault harness's slow endpoint) landed after the next run had read the stacks, and the two
/// runs' change sets then raced for one stack.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(3);

/// The lock buckets this run made sure of, by account and Region: the environments of one run
/// make sure of each once, one after the other.
static BUCKETS: tokio::sync::Mutex<BTreeMap<(String, String), String>> =
    tokio::sync::Mutex::const_new(BTreeMap::new());

/// qfleet's lock bucket of `account` in the clients' Region, made sure of once per run.
async fn lock_bucket(clients: &Clients, account: &str) -> Result<String> {
    let mut known = BUCKETS.lock().await;
    let key = (account.to_string(), clients.region.clone());
    if let Some(bucket) = known.get(&key) {
        return Ok(bucket.clone());
    }
    let bucket = aws::ensure_lock_bucket(&clients.s3, account, &clients.region).await?;
    known.insert(key, bucket.clone());
    Ok(bucket)
}

/// `m`'s guard, also when a panic elsewhere poisoned it: what it holds is read as it is, never
/// taken as nothing (no lock held, nothing to release).
fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The locks this run holds now: an interrupted run releases them as it ends.
static HELD: Mutex<Vec<EnvLock>> = Mutex::new(Vec::new());

/// The environments whose locks this run holds now.
pub(crate) fn held() -> Vec<String> {
    guard(&HELD)
        .iter()
        .map(|l| l.environment().to_string())
        .collect()
}

/// Releases every lock this run still holds (an interrupted run, as it ends), telling `say`
/// what could not be.
pub(crate) async fn release_all(say: &impl Fn(String)) {
    let all: Vec<EnvLock> = guard(&HELD).clone();
    let notes = futures::future::join_all(all.iter().map(|l| l.release_as(true))).await;
    for note in notes.into_iter().flatten() {
        say(note);
    }
}

/// What an interrupted run leaves of `env`'s lock, when it holds it: released as it ends,
/// else free a lease after its last renewal.
pub(crate) fn left_behind(env: &str) -> Option<crate::error::LeftBehind> {
    held().iter().any(|e| e == env).then(|| crate::error::LeftBehind {
        what: "its lock (one run at a time), held by this run".to_string(),
        cleanup: format!(
            "released as this run ends; else another run may take it {} minutes after its last renewal",
            LEASE.as_secs() / 60
        ),
    })
}

/// An access denied on the lock bucket, with what to do: a deploying policy printed before
/// qfleet took locks has no grant on it (`qfleet iam-policy` prints it now).
fn policy_hint(e: crate::error::Error, env: &str) -> crate::error::Error {
    use crate::aws::{AwsError, ErrorKind as Kind};
    match e {
        crate::error::Error::Aws(a) if a.kind == Kind::AccessDenied => {
            crate::error::Error::Aws(AwsError::with_kind(
                format!(
                    "{a}; the deploying policy lacks the grants of qfleet's lock bucket (a policy printed by an older qfleet): print it again with `qfleet iam-policy {env}` and update the role"
                ),
                Kind::AccessDenied,
            ))
        }
        other => other,
    }
}

/// An environment's lock this run holds, renewed in the background until released.
#[derive(Clone)]
pub(crate) struct EnvLock(Arc<Inner>);

struct Inner {
    s3: aws_sdk_s3::Client,
    holder: Holder,
    held: Mutex<Held>,
    /// Why a renewal failed, if one did (said when the lock is released).
    lost: Mutex<Option<String>>,
    /// Held while the lock object is written (a renewal, a confirmation): two writes over one
    /// version would make the second read as a takeover.
    writing: tokio::sync::Mutex<()>,
    renewing: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// From whom this run took the lock over, when from a run that never released it.
    taken_over: Option<String>,
}

/// Takes `env`'s lock for `command` (`deploy`, `teardown`), in `account` (the credentials')
/// and the clients' Region; another run's is a refusal naming it.
pub(crate) async fn take(
    clients: &Clients,
    env: &Environment,
    account: &str,
    command: &str,
) -> Result<EnvLock> {
    let bucket = lock_bucket(clients, account)
        .await
        .map_err(|e| policy_hint(e, &env.name))?;
    let holder = Holder {
        environment: env.name.clone(),
        command: command.to_string(),
        holder: who(),
        run: run_id(),
        since: jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
            .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string()),
        released: false,
        interrupted: false,
        host: host(),
        pid: Some(std::process::id()),
        write: 0,
    };
    let taken = protocol::take(&clients.s3, &bucket, account, &holder, &ended)
        .await
        .map_err(|e| policy_hint(e.into(), &env.name))?;
    match taken {
        Taken::Held { held, after } => {
            let taken_over = taken_over(&after, &bucket, &env.name);
            // Registered (and renewed) first: an interrupt during the wait below releases it.
            let lock = EnvLock::renewed(clients.s3.clone(), holder, held, taken_over);
            // The run before this one was killed or crashed, or released the lock moments ago
            // (an interrupted one): a request it had sent may still be on its way (a
            // CreateChangeSet or DeleteStack that lands after this run has read the stacks).
            // Its requests land first.
            let wait = match after {
                After::Nobody | After::Stale { .. } => std::time::Duration::ZERO,
                After::Ended(_) => SETTLE,
                After::Released(ago) => SETTLE.saturating_sub(ago),
            };
            tokio::time::sleep(wait).await;
            Ok(lock)
        }
        Taken::Busy {
            holder: other,
            renewed_ago,
        } => Err(crate::lock::errors::Refusal::Locked {
            env: env.name.clone(),
            by: other.map_or_else(
                || {
                    format!(
                        "a lock object qfleet cannot read (s3://{bucket}/{})",
                        env.name
                    )
                },
                |o| format!("qfleet {} run by {} since {}", o.command, o.holder, o.since),
            ),
            renewed: renewed_ago.map_or_else(
                || "when, S3 did not say".to_string(),
                |ago| format!("{} s ago", ago.as_secs()),
            ),
            lease: LEASE.as_secs() / 60,
        }
        .into()),
    }
}

/// What to say of a lock taken over from a run that never released it (`after`): from whom
/// (what it ran, who, on which host and process, since when) and why it could be taken.
/// `None` for a new lock, or one released.
fn taken_over(after: &After, bucket: &str, env: &str) -> Option<String> {
    let whose = |h: &Holder| {
        let mut at = Vec::new();
        // The host as written (`studio pid:[4026531836]`): its name, without the namespace.
        if let Some(host) = h.host.as_deref().and_then(|h| h.split_whitespace().next()) {
            at.push(format!("host {host}"));
        }
        if let Some(pid) = h.pid {
            at.push(format!("pid {pid}"));
        }
        at.push(format!("taken {}", h.since));
        format!(
            "the lock of qfleet {} run by {} ({})",
            h.command,
            h.holder,
            at.join(", ")
        )
    };
    match after {
        After::Nobody | After::Released(_) => None,
        After::Ended(h) => Some(format!(
            "this run took over {}: that process has ended (killed or crashed) without releasing it, so what it was changing may be half done; this run goes on from where the stacks stand",
            whose(h)
        )),
        After::Stale {
            holder,
            renewed_ago,
        } => Some(format!(
            "this run took over {}: it was not renewed for {} min (S3's clock; a holder renews it every minute), so that run crashed or lost its way to S3; if it still runs, two runs may change {env} at once: check it with `qfleet status {env}`",
            holder.as_ref().map_or_else(
                || format!("a lock object qfleet cannot read (s3://{bucket}/{env})"),
                whose
            ),
            renewed_ago.as_secs() / 60
        )),
    }
}

impl EnvLock {
    /// The lock held, with its renewal every [`RENEW_EVERY`] started; `taken_over`:
    /// from whom, when from a run that never released it.
    fn renewed(
        s3: aws_sdk_s3::Client,
        holder: Holder,
        held: Held,
        taken_over: Option<String>,
    ) -> EnvLock {
        let lock = EnvLock(Arc::new(Inner {
            s3,
            holder,
            held: Mutex::new(held),
            lost: Mutex::new(None),
            writing: tokio::sync::Mutex::new(()),
            renewing: Mutex::new(None),
            taken_over,
        }));
        let this = lock.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                if let Err(why) = this.renew().await {
                    *guard(&this.0.lost) = Some(why);
                }
            }
        });
        *guard(&lock.0.renewing) = Some(task);
        guard(&HELD).push(lock.clone());
        lock
    }

    fn held(&self) -> Held {
        guard(&self.0.held).clone()
    }

    /// Writes the lock again over this run's version; why not, when another run took it over
    /// or the write failed.
    async fn renew(&self) -> std::result::Result<(), String> {
        let _writing = self.0.writing.lock().await;
        match protocol::renew(&self.0.s3, &self.held(), &self.0.holder).await {
            Ok(Some(next)) => {
                *guard(&self.0.held) = next;
                Ok(())
            }
            Ok(None) => Err("another run took it over".to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Confirms, with a write, that this run still holds the lock: called before the run's
    /// first change, which may come long after the lock was taken (a question answered late).
    /// A lock another run took over, or one whose write fails, is a refusal (fail closed).
    pub(crate) async fn confirm(&self) -> Result<()> {
        self.renew().await.map_err(|why| {
            crate::lock::errors::Refusal::LockLost {
                env: self.environment().to_string(),
                why,
            }
            .into()
        })
    }

    pub(crate) fn environment(&self) -> &str {
        &self.0.holder.environment
    }

    /// From whom this run took the lock over, when from a run that never released it (its
    /// process ended, or it was not renewed for a lease): said as a warning by the caller.
    pub(crate) fn taken_over(&self) -> Option<&str> {
        self.0.taken_over.as_deref()
    }

    /// Releases the lock (the renewals stop); a note when it could not be released, or a
    /// renewal had failed.
    pub(crate) async fn release(&self) -> Option<String> {
        self.release_as(false).await
    }

    /// [`EnvLock::release`], by an interrupted run (`interrupted`): the next run then lets this
    /// run's last requests land first.
    async fn release_as(&self, interrupted: bool) -> Option<String> {
        if let Some(task) = guard(&self.0.renewing).take() {
            task.abort();
        }
        let env = &self.0.holder.environment;
        let lost = guard(&self.0.lost).clone();
        let held = self.held();
        let released = protocol::release(&self.0.s3, &held, &self.0.holder, interrupted).await;
        // Out of the run's locks once its release was answered, whatever the answer.
        guard(&HELD).retain(|l| !Arc::ptr_eq(&l.0, &self.0));
        match released {
            Ok(true) => lost.map(|why| {
                format!(
                    "{env}: a renewal of its lock failed ({why}); the lock was released at the end"
                )
            }),
            Ok(false) => Some(format!(
                "{env}: another run took its lock over while this run held it{}: two runs may have changed the environment at once; check it with `qfleet status {env}`",
                lost.map(|why| format!(" (a renewal failed: {why})"))
                    .unwrap_or_default()
            )),
            Err(e) => Some(format!(
                "{env}: its lock could not be released ({e}); another run may take it {} minutes after its last renewal",
                LEASE.as_secs() / 60
            )),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let renewing = self
            .renewing
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(task) = renewing.take() {
            task.abort();
        }
    }
}

/// Whether the process that holds a lock is known to have ended: it ran on this host, and no
/// process has its id here now (kill with signal 0 answers ESRCH, "No such process"; POSIX
/// kill(), <https://pubs.opengroup.org/onlinepubs/9699919799/functions/kill.html>), or the one
/// that has it has ended and waits to be reaped (a zombie, [`process_ended`]). A process of
/// that id that runs, one that may not be signalled, or one whose state cannot be read, counts
/// as the holder (fail closed).
fn ended(holder: &Holder) -> bool {
    let (Some(theirs), Some(pid), Some(ours)) = (&holder.host, holder.pid, host()) else {
        return false;
    };
    *theirs == ours && pid != std::process::id() && !process_exists(pid)
}

#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    let Ok(id) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: kill with signal 0 sends nothing; it only checks the process's existence.
    let sent = unsafe { libc::kill(id, 0) };
    let exists = sent == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
    // kill() succeeds on a process that has ended but not yet been reaped by its parent (a
    // zombie): its id is taken until then, and a run killed with SIGKILL stays one for a moment.
    exists && !process_ended(pid)
}

#[cfg(not(unix))]
fn process_exists(_pid: u32) -> bool {
    true
}

/// Whether the process `pid` has ended though its id is still taken: its state in
/// `/proc/PID/stat` (the third field, after the command name in parentheses, which may itself
/// hold parentheses) is `Z` (zombie: ended, not yet reaped by its parent) or `X` (dead)
/// (proc_pid_stat(5), <https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html>). `false`
/// whenever that cannot be read for certain: no such file, a line that does not parse, or a
/// `/proc` that is not this process's own pid namespace's (its `self` is not this process).
#[cfg(target_os = "linux")]
fn process_ended(pid: u32) -> bool {
    let own = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| stat_fields(&s).map(|(id, _)| id));
    if own != Some(std::process::id()) {
        return false;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| stat_fields(&s))
        .is_some_and(|(id, state)| id == pid && matches!(state, 'Z' | 'X'))
}

#[cfg(all(unix, not(target_os = "linux")))]
fn process_ended(_pid: u32) -> bool {
    false
}

/// The pid and state of a `/proc/PID/stat` line: `1234 (qfleet) S 1 …`; `None` when it does not
/// parse.
#[cfg(any(target_os = "linux", test))]
fn stat_fields(line: &str) -> Option<(u32, char)> {
    let (id, rest) = line.split_once(" (")?;
    let (_, after) = rest.rsplit_once(')')?;
    let state = after.trim_start().chars().next()?;
    Some((id.trim().parse().ok()?, state))
}

/// Where this process's ids mean something: the host's name and, on Linux, its pid
/// namespace (`studio pid:[4026531836]`), so that two containers of one host name (sharing
/// the host's network) never read each other's ids as their own. `None`: it could not be read,
/// and no holder's process is ever taken as ended.
#[cfg(target_os = "linux")]
fn host() -> Option<String> {
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{} {}", host_name()?, ns.display()))
}

#[cfg(all(unix, not(target_os = "linux")))]
fn host() -> Option<String> {
    host_name()
}

/// This host's name (`None`: it could not be read).
#[cfg(unix)]
fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec())
        .ok()
        .filter(|h| !h.is_empty())
}

#[cfg(not(unix))]
fn host_name() -> Option<String> {
    std::env::var("COMPUTERNAME").ok().filter(|h| !h.is_empty())
}

#[cfg(not(unix))]
fn host() -> Option<String> {
    host_name()
}

/// Who runs this: a CI run's address where the runner says it (GitHub Actions, GitLab CI),
/// else `user@host (pid N)`.
fn who() -> String {
    who_from(|k| std::env::var(k).ok(), host_name(), std::process::id())
}

/// [`who`] from the process's variables (`var`), its host name and its id.
fn who_from(var: impl Fn(&str) -> Option<String>, host: Option<String>, pid: u32) -> String {
    let var = |k: &str| var(k).filter(|v| !v.is_empty());
    if let (Some(server), Some(repo), Some(run)) = (
        var("GITHUB_SERVER_URL"),
        var("GITHUB_REPOSITORY"),
        var("GITHUB_RUN_ID"),
    ) {
        return format!("{server}/{repo}/actions/runs/{run}");
    }
    if let Some(job) = var("CI_JOB_URL") {
        return job;
    }
    let user = var("USER")
        .or_else(|| var("USERNAME"))
        .unwrap_or_else(|| "someone".into());
    let host = host
        .filter(|h| !h.is_empty())
        .or_else(|| var("HOSTNAME"))
        .or_else(|| var("COMPUTERNAME"))
        .unwrap_or_else(|| "a host".into());
    format!("{user}@{host} (pid {pid})")
}

/// This run's own id: its process and start, unique enough to tell two runs apart.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variables of a runner (GitHub Actions' default variables, GitLab's predefined
    /// CI_JOB_URL), else the user and host.
    #[test]
    fn the_holder_is_a_ci_runs_address_else_user_at_host() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let github = vars(&[
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/orders"),
            ("GITHUB_RUN_ID", "42"),
            ("USER", "runner"),
        ]);
        assert_eq!(
            who_from(github, Some("fv-az1".into()), 7),
            "https://github.com/acme/orders/actions/runs/42"
        );
        let gitlab = vars(&[("CI_JOB_URL", "https://gitlab.com/acme/orders/-/jobs/9")]);
        assert_eq!(
            who_from(gitlab, None, 7),
            "https://gitlab.com/acme/orders/-/jobs/9"
        );
        let laptop = vars(&[("USER", "ana"), ("GITHUB_RUN_ID", "")]);
        assert_eq!(
            who_from(laptop, Some("studio".into()), 7),
            "ana@studio (pid 7)"
        );
        assert_eq!(who_from(vars(&[]), None, 9), "someone@a host (pid 9)");
    }

    /// A holder whose process ended on this host frees the lock at once; one that runs (this
    /// test's own process), one on another host, or one that says neither, holds it.
    #[test]
    fn a_holder_on_this_host_whose_process_ended_frees_the_lock() {
        let holder = |host: Option<String>, pid: Option<u32>| Holder {
            environment: "lab".into(),
            command: "deploy".into(),
            holder: "x".into(),
            run: "r".into(),
            since: "t".into(),
            released: false,
            interrupted: false,
            host,
            pid,
            write: 0,
        };
        let here = host();
        assert!(here.is_some(), "the host's name is read");
        // A child that has ended: its id names no process (until the system reuses it).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        assert!(ended(&holder(here.clone(), Some(gone))));
        assert!(!ended(&holder(here.clone(), Some(std::process::id()))));
        assert!(!ended(&holder(Some("another-host".into()), Some(gone))));
        assert!(!ended(&holder(None, Some(gone))));
        assert!(!ended(&holder(here, None)));
    }

    /// A holder killed but not yet reaped by its parent (a zombie: kill(pid, 0) still succeeds
    /// on it) has ended, read from its state; a live one holds. A real child of this test,
    /// killed and left unreaped.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_holder_killed_but_not_yet_reaped_has_ended_and_a_live_one_holds() {
        let holder = |pid: u32| Holder {
            environment: "lab".into(),
            command: "deploy".into(),
            holder: "x".into(),
            run: "r".into(),
            since: "t".into(),
            released: false,
            interrupted: false,
            host: host(),
            pid: Some(pid),
            write: 0,
        };
        let state = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| stat_fields(&s))
                .map(|(_, state)| state)
        };
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(!ended(&holder(pid)), "a live process holds");
        // SIGKILL, without a wait: the child stays a zombie until it is reaped.
        child.kill().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while state(pid) != Some('Z') && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(state(pid), Some('Z'), "killed and not reaped: a zombie");
        // SAFETY: signal 0 sends nothing.
        let signalled = unsafe { libc::kill(libc::pid_t::try_from(pid).unwrap(), 0) };
        assert_eq!(signalled, 0, "kill(pid, 0) succeeds on a zombie");
        assert!(ended(&holder(pid)), "a zombie has ended");
        child.wait().unwrap();
        assert!(ended(&holder(pid)), "reaped: no such process");
    }

    /// The state is read after the command name's last parenthesis: a name may hold
    /// parentheses and spaces.
    #[test]
    fn a_proc_stat_line_gives_its_pid_and_state() {
        assert_eq!(stat_fields("412 (qfleet) S 1 412 412 0"), Some((412, 'S')));
        assert_eq!(stat_fields("7 (a) b) (c) Z 1 7"), Some((7, 'Z')));
        assert_eq!(stat_fields("9 (x) X"), Some((9, 'X')));
        assert_eq!(stat_fields(""), None);
        assert_eq!(stat_fields("x (y) R"), None);
        assert_eq!(stat_fields("3 (y)"), None);
    }

    /// A lock taken over from a run that never released it is said, naming that run: what it
    /// ran, who, its host and process, and when it took the lock; and why it could be taken
    /// (its process ended, or it went a lease without a renewal). A new or released lock is
    /// not a takeover.
    #[test]
    fn a_lock_taken_over_says_from_whom_and_why() {
        let gone = Holder {
            environment: "lab".into(),
            command: "deploy".into(),
            holder: "ana@studio (pid 4242)".into(),
            run: "r".into(),
            since: "2026-11-28T03:00:00Z".into(),
            released: false,
            interrupted: false,
            host: Some("studio pid:[4026531836]".into()),
            pid: Some(4242),
            write: 0,
        };
        let bucket = "qfleet-locks-1-eu-west-1";
        assert_eq!(
            taken_over(&After::Ended(gone.clone()), bucket, "lab").as_deref(),
            Some(
                "this run took over the lock of qfleet deploy run by ana@studio (pid 4242) (host studio, pid 4242, taken 2026-11-28T03:00:00Z): that process has ended (killed or crashed) without releasing it, so what it was changing may be half done; this run goes on from where the stacks stand"
            )
        );
        let ci = Holder {
            holder: "https://github.com/acme/orders/actions/runs/42".into(),
            command: "teardown".into(),
            host: None,
            pid: None,
            ..gone
        };
        let stale = After::Stale {
            holder: Some(ci),
            renewed_ago: std::time::Duration::from_secs(420),
        };
        assert_eq!(
            taken_over(&stale, bucket, "lab").as_deref(),
            Some(
                "this run took over the lock of qfleet teardown run by https://github.com/acme/orders/actions/runs/42 (taken 2026-11-28T03:00:00Z): it was not renewed for 7 min (S3's clock; a holder renews it every minute), so that run crashed or lost its way to S3; if it still runs, two runs may change lab at once: check it with `qfleet status lab`"
            )
        );
        let unreadable = After::Stale {
            holder: None,
            renewed_ago: std::time::Duration::from_secs(3600),
        };
        let said = taken_over(&unreadable, bucket, "lab").unwrap_or_default();
        assert!(
            said.starts_with(
                "this run took over a lock object qfleet cannot read (s3://qfleet-locks-1-eu-west-1/lab): it was not renewed for 60 min"
            ),
            "{said}"
        );
        assert_eq!(taken_over(&After::Nobody, bucket, "lab"), None);
        assert_eq!(
            taken_over(
                &After::Released(std::time::Duration::from_secs(1)),
                bucket,
                "lab"
            ),
            None
        );
    }

    /// An access denied on the lock bucket says what to do: print the policy again. Any other
    /// failure stays as it was.
    #[test]
    fn an_access_denied_on_the_lock_bucket_says_to_print_the_policy_again() {
        use crate::aws::{AwsError, ErrorKind as Kind};
        let denied = crate::error::Error::Aws(AwsError::with_kind(
            "reading the lock bucket qfleet-locks-1-eu-west-1: access denied (HTTP 403)",
            Kind::AccessDenied,
        ));
        let said = policy_hint(denied, "lab").to_string();
        assert!(
            said.starts_with("reading the lock bucket qfleet-locks-1-eu-west-1: access denied")
                && said.contains("print it again with `qfleet iam-policy lab`"),
            "{said}"
        );
        let other = crate::error::Error::aws("reading the lock bucket: cannot reach AWS");
        assert_eq!(
            policy_hint(other, "lab").to_string(),
            "reading the lock bucket: cannot reach AWS"
        );
    }

    /// A run whose lock another run took over while it waited (a question answered late)
    /// refuses before its first change, and says so; one that still holds it goes on (mocked
    /// S3: the takeover is another run's write, which no emulator here can be made to do
    /// between two of qfleet's own requests).
    #[tokio::test]
    async fn a_lock_taken_over_before_the_first_change_is_a_refusal_mocked() {
        use aws_sdk_s3::operation::get_object::GetObjectOutput;
        use aws_sdk_s3::operation::put_object::PutObjectOutput;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        use aws_smithy_runtime_api::http::{Response, StatusCode};
        use aws_smithy_types::body::SdkBody;
        let env = crate::config::parse(
            std::path::PathBuf::from("stacks/lk.yaml"),
            "environment: lk\nregion: eu-west-1\n".to_string(),
        )
        .unwrap()
        .into_only();
        let lab = |taken_over: bool| {
            let head = mock!(aws_sdk_s3::Client::head_bucket).then_output(|| {
                aws_sdk_s3::operation::head_bucket::HeadBucketOutput::builder().build()
            });
            let tags = mock!(aws_sdk_s3::Client::get_bucket_tagging).then_output(|| {
                let tag = aws_sdk_s3::types::Tag::builder()
                    .key(aws::LOCK_BUCKET_TAG.0)
                    .value(aws::LOCK_BUCKET_TAG.1)
                    .build()
                    .unwrap();
                aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingOutput::builder()
                    .tag_set(tag)
                    .build()
                    .unwrap()
            });
            // The first write (If-None-Match) takes it; a write over it (If-Match) finds
            // another run's version when the lock was taken over.
            let take = mock!(aws_sdk_s3::Client::put_object)
                .match_requests(|r| r.if_match().is_none())
                .then_output(|| PutObjectOutput::builder().e_tag("\"01\"").build());
            let over = mock!(aws_sdk_s3::Client::put_object)
                .match_requests(move |r| r.if_match().is_some() && taken_over)
                .then_http_response(|| {
                    Response::new(
                        StatusCode::try_from(412).unwrap(),
                        SdkBody::from("<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>"),
                    )
                });
            let renewed = mock!(aws_sdk_s3::Client::put_object)
                .match_requests(|r| r.if_match().is_some())
                .then_output(|| PutObjectOutput::builder().e_tag("\"02\"").build());
            let other = serde_json::json!({"environment": "x", "command": "deploy",
                "holder": "ci@elsewhere", "run": "another-run", "since": "2026-11-28T00:00:00Z"});
            let read = mock!(aws_sdk_s3::Client::get_object).then_output(move || {
                GetObjectOutput::builder()
                    .e_tag("\"09\"")
                    .body(aws_sdk_s3::primitives::ByteStream::from(
                        other.to_string().into_bytes(),
                    ))
                    .build()
            });
            let rules: Vec<&'static aws_smithy_mocks::Rule> =
                [head, tags, take, over, renewed, read]
                    .into_iter()
                    .map(|r| &*Box::leak(Box::new(r)))
                    .collect();
            let mut clients = crate::aws::mock::Rules::default().clients();
            clients.s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules, |c| c
                .force_path_style(true));
            clients
        };
        let clients = lab(true);
        let lock = take(&clients, &env, "123456789012", "deploy")
            .await
            .unwrap();
        let e = lock.confirm().await.unwrap_err().to_string();
        assert!(
            e.contains("this run's lock could not be confirmed before its first change (another run took it over); nothing was changed"),
            "{e}"
        );
        // Released as a run releases it: out of the run's locks, whatever S3 answered.
        assert!(
            lock.release()
                .await
                .is_some_and(|n| n.contains("another run took its lock over"))
        );
        let clients = lab(false);
        let lock = take(&clients, &env, "123456789012", "deploy")
            .await
            .unwrap();
        lock.confirm().await.unwrap();
        assert_eq!(lock.release().await, None);
    }
}
