//! The container engine that builds and pushes a worker image: Docker (a client whose daemon
//! answers) or Podman (no daemon). A `docker` client without its daemon is not an engine: it
//! cannot build (`docker version` then fails to reach the server).
//!
//! Registry credentials never touch the user's own configuration: each push reads a
//! credentials file qfleet writes in a temporary directory (Docker's `--config`, Podman's
//! `--authfile`), removed when the push ends; the password is never on a command line and no
//! `login` runs (ECR's registry authentication:
//! <https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html>).

use super::BuildFailure;
use super::image::ImageBuild;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Lines of an engine's output a failure keeps (its own error is at the end).
const SHOWN_LINES: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
}

impl Engine {
    pub fn program(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }

    /// Whether this engine can build here: Podman runs; Docker's daemon answers.
    fn works(self) -> Result<(), String> {
        let mut cmd = Command::new(self.program());
        match self {
            Engine::Docker => cmd.args(["version", "--format", "{{.Server.Version}}"]),
            Engine::Podman => cmd.args(["version", "--format", "{{.Client.Version}}"]),
        };
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{} cannot be run: {e}", self.program()))?;
        if out.status.success() {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        Err(match self {
            Engine::Docker => format!(
                "docker's daemon does not answer ({}); start it, or build with Podman (build.engine: podman), which needs no daemon",
                said.trim()
            ),
            Engine::Podman => format!("podman does not run ({})", said.trim()),
        })
    }
}

/// The engine to build with: the one named (it must work), else Docker when its daemon
/// answers, else Podman. None: a tool failure saying what was tried.
pub fn choose(named: Option<Engine>) -> Result<Engine, BuildFailure> {
    let tried = match named {
        Some(e) => vec![e],
        None => vec![Engine::Docker, Engine::Podman],
    };
    let mut why = Vec::new();
    for e in tried {
        match e.works() {
            Ok(()) => return Ok(e),
            Err(w) => why.push(w),
        }
    }
    Err(BuildFailure::Tool {
        tool: "a container engine",
        why: format!(
            "no engine can build the image: {}; install Docker (with its daemon) or Podman",
            why.join("; ")
        ),
    })
}

/// Builds `b` as `local` (`localhost/qfleet/ENV:TAG`); a failure carries the engine's last
/// lines. `one_manifest`: for Lambda, which takes an image manifest only, never an index
/// (Lambda developer guide, "Create a Lambda function using a container image"): Docker's
/// BuildKit attaches provenance attestations by default, which make the pushed tag an index
/// (<https://docs.docker.com/build/metadata/attestations/slsa-provenance/>), so Docker builds
/// it with `--provenance=false`; Podman adds none.
pub fn build(
    engine: Engine,
    b: &ImageBuild,
    local: &str,
    one_manifest: bool,
) -> Result<(), BuildFailure> {
    let mut cmd = Command::new(engine.program());
    cmd.arg("build").arg("--file").arg(&b.dockerfile).args([
        "--platform",
        &b.platform,
        "--tag",
        local,
    ]);
    if one_manifest && engine == Engine::Docker {
        cmd.arg("--provenance=false");
    }
    if let Some(t) = &b.target {
        cmd.args(["--target", t]);
    }
    for (k, v) in &b.args {
        cmd.arg("--build-arg").arg(format!("{k}={v}"));
    }
    cmd.arg(&b.context);
    run(engine, cmd, "build")
}

/// How long a push may take ([`Watch`]), unless `deploy --push-timeout` says otherwise.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// What watches a long engine command: the lines it prints, each handed to `progress` as it
/// comes, and the time it may take before it is stopped.
pub struct Watch<'a> {
    pub timeout: Duration,
    pub progress: &'a dyn Fn(&str),
}

/// Pushes `local` as `remote` to `registry`, as `username` with `password`, through a
/// credentials file of its own that qfleet writes (mode 0600; the format both engines read:
/// `{"auths": {REGISTRY: {"auth": base64("USER:PASSWORD")}}}`). No `login` runs: Docker's
/// would hand the password to the platform's credential helper (a keychain), where it would
/// outlive the push. The push's lines go to `watch.progress`; one that runs longer than
/// `watch.timeout` is stopped, an error.
pub fn push(
    engine: Engine,
    (local, remote): (&str, &str),
    (registry, username, password): (&str, &str, &str),
    watch: Watch<'_>,
) -> Result<(), BuildFailure> {
    let failed = |e: std::io::Error| BuildFailure::Tool {
        tool: engine.program(),
        why: format!("cannot write the registry's credentials: {e}"),
    };
    let dir = tempfile::tempdir().map_err(failed)?;
    let file = dir.path().join(match engine {
        Engine::Docker => "config.json",
        Engine::Podman => "auth.json",
    });
    write_private(&file, &auth_file(registry, username, password)).map_err(failed)?;
    let mut tag = Command::new(engine.program());
    tag.args(["tag", local, remote]);
    run(engine, tag, "tag")?;
    let mut push = Command::new(engine.program());
    match engine {
        Engine::Docker => push.arg("--config").arg(dir.path()).arg("push"),
        Engine::Podman => push.arg("push").arg("--authfile").arg(&file),
    };
    push.arg(remote);
    run_watched(engine, push, "push", watch)
}

/// The credentials file's text.
fn auth_file(registry: &str, username: &str, password: &str) -> String {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    serde_json::json!({ "auths": { registry: { "auth": auth } } }).to_string()
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Runs one engine command; a failure with its last lines.
fn run(engine: Engine, mut cmd: Command, verb: &str) -> Result<(), BuildFailure> {
    let tool = engine.program();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BuildFailure::Tool {
            tool,
            why: format!("cannot run {tool} {verb}: {e}"),
        })?;
    let out = child.wait_with_output().map_err(|e| BuildFailure::Tool {
        tool,
        why: format!("{tool} {verb} did not finish: {e}"),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).collect();
    let shown = lines[lines.len().saturating_sub(SHOWN_LINES)..].join("\n");
    Err(BuildFailure::Tool {
        tool,
        why: format!("{tool} {verb} failed ({}):\n{shown}", out.status),
    })
}

/// Runs one engine command as [`run`] does, watched: each line it prints (stdout or stderr) is
/// handed to `watch.progress` as it comes, and a command still running after `watch.timeout`
/// is killed, an error that says so with its last lines.
fn run_watched(
    engine: Engine,
    mut cmd: Command,
    verb: &str,
    watch: Watch<'_>,
) -> Result<(), BuildFailure> {
    let tool = engine.program();
    let failed = |why: String| BuildFailure::Tool { tool, why };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run {tool} {verb}: {e}")))?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let streams: Vec<Box<dyn std::io::Read + Send>> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .collect();
    for stream in streams {
        let tx = tx.clone();
        std::thread::spawn(move || {
            // Read to the end whatever the bytes (an engine's message need not be UTF-8): a
            // reader that stopped early would leave the engine writing to a closed pipe.
            let mut reader = std::io::BufReader::new(stream);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = String::from_utf8_lossy(&line)
                    .trim_end_matches('\n')
                    .to_string();
                line.clear();
                if tx.send(text).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let started = Instant::now();
    let mut last: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let shown = |last: &std::collections::VecDeque<String>| {
        last.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut open = true;
    // When the engine has exited: its own lines are in by then, and what a process it left
    // behind keeps open is not waited for beyond this.
    let mut exited: Option<(std::process::ExitStatus, Instant)> = None;
    let status = loop {
        if open {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    // An engine redraws its progress with carriage returns: the last one counts.
                    let line = line.rsplit('\r').next().unwrap_or_default().trim_end();
                    if !line.trim().is_empty() {
                        (watch.progress)(line);
                        last.push_back(line.to_string());
                        if last.len() > SHOWN_LINES {
                            last.pop_front();
                        }
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => open = false,
            }
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
        if exited.is_none()
            && let Some(status) = child
                .try_wait()
                .map_err(|e| failed(format!("{tool} {verb} did not finish: {e}")))?
        {
            exited = Some((status, Instant::now()));
        }
        if let Some((status, at)) = exited
            && (!open || at.elapsed() > EXITED_GRACE)
        {
            break status;
        }
        if started.elapsed() > watch.timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed(format!(
                "{tool} {verb} did not finish within {} and was stopped; a slow link or a large image may need more (deploy --push-timeout):\n{}",
                spoken(watch.timeout),
                shown(&last)
            )));
        }
    };
    if status.success() {
        return Ok(());
    }
    Err(failed(format!(
        "{tool} {verb} failed ({status}):\n{}",
        shown(&last)
    )))
}

/// How long a watched command's output is still read after it exited.
const EXITED_GRACE: Duration = Duration::from_secs(2);

/// A duration as the flags take it: `30m`, `90s`.
pub fn spoken(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for an engine's command: a shell script.
    fn script(body: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(body);
        c
    }

    #[test]
    fn a_watched_command_hands_each_line_on_as_it_comes_and_keeps_the_last_for_its_failure() {
        let seen = std::cell::RefCell::new(Vec::new());
        let progress = |l: &str| seen.borrow_mut().push(l.to_string());
        let watch = Watch {
            timeout: Duration::from_secs(30),
            progress: &progress,
        };
        let ok = run_watched(
            Engine::Podman,
            script(
                "echo 'Copying blob 1'; printf 'at 10%%\\rat 100%%\\n'; echo 'Writing manifest' >&2",
            ),
            "push",
            watch,
        );
        assert!(ok.is_ok(), "{ok:?}");
        let mut seen = seen.into_inner();
        seen.sort();
        assert_eq!(seen, ["Copying blob 1", "Writing manifest", "at 100%"]);

        let progress = |_: &str| {};
        let failed = run_watched(
            Engine::Podman,
            script("echo 'denied: not authorized' >&2; exit 3"),
            "push",
            Watch {
                timeout: Duration::from_secs(30),
                progress: &progress,
            },
        );
        let Err(BuildFailure::Tool { why, .. }) = failed else {
            panic!("{failed:?}");
        };
        assert!(why.contains("podman push failed"), "{why}");
        assert!(why.contains("denied: not authorized"), "{why}");
    }

    #[test]
    fn a_watched_command_ends_with_its_engine_whatever_its_bytes_or_what_it_left_running() {
        let seen = std::cell::RefCell::new(Vec::new());
        let progress = |l: &str| seen.borrow_mut().push(l.to_string());
        let started = Instant::now();
        // A line that is not UTF-8, more lines after it, and a process left behind that holds
        // the output open for longer than the test may take.
        let ok = run_watched(
            Engine::Podman,
            script("printf 'bad \\377 byte\\n'; echo after; (sleep 30 &); echo done"),
            "push",
            Watch {
                timeout: Duration::from_secs(60),
                progress: &progress,
            },
        );
        assert!(ok.is_ok(), "{ok:?}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not held by the sleep"
        );
        let seen = seen.into_inner();
        assert!(seen.iter().any(|l| l.starts_with("bad ")), "{seen:?}");
        assert!(seen.contains(&"after".to_string()), "{seen:?}");
    }

    #[test]
    fn a_watched_command_that_runs_past_its_time_is_stopped_and_said() {
        let progress = |_: &str| {};
        let started = Instant::now();
        let r = run_watched(
            Engine::Docker,
            script("echo 'Pushing layer'; exec sleep 30"),
            "push",
            Watch {
                timeout: Duration::from_secs(1),
                progress: &progress,
            },
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "stopped, not waited for"
        );
        let Err(BuildFailure::Tool { why, .. }) = r else {
            panic!("{r:?}");
        };
        assert!(
            why.contains("docker push did not finish within 1s"),
            "{why}"
        );
        assert!(why.contains("deploy --push-timeout"), "{why}");
        assert!(why.contains("Pushing layer"), "{why}");
        assert_eq!(spoken(PUSH_TIMEOUT), "30m");
    }

    #[test]
    fn the_credentials_file_holds_the_registrys_login_as_both_engines_read_it() {
        let text = auth_file("1.dkr.ecr.eu-west-1.amazonaws.com", "AWS", "secret");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        // base64("AWS:secret")
        assert_eq!(
            v["auths"]["1.dkr.ecr.eu-west-1.amazonaws.com"]["auth"],
            "QVdTOnNlY3JldA=="
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("auth.json");
        write_private(&f, &text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&f).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
