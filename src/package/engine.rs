//! The container engine that builds and pushes a worker image: Docker (a client whose daemon
//! answers) or Podman (no daemon). A `docker` client without its daemon is not an engine: it
//! cannot build (`docker version` then fails to reach the server).
//!
//! Registry credentials never touch the user's own configuration: each push logs in with a
//! file of its own in a temporary directory (Docker's `--config`, Podman's `--authfile`),
//! removed when the push ends. The password goes on standard input, never on a command line
//! (ECR's `get-login-password` recipe:
//! <https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html>).

use super::BuildFailure;
use super::image::ImageBuild;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Lines of an engine's output a failure keeps (its own error is at the end).
const SHOWN_LINES: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Docker,
    Podman,
}

impl Engine {
    pub(crate) fn program(self) -> &'static str {
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
pub(crate) fn choose(named: Option<Engine>) -> Result<Engine, BuildFailure> {
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

/// Builds `b` as `local` (`qfleet-build/ENV:TAG`); a failure carries the engine's last lines.
pub(crate) fn build(engine: Engine, b: &ImageBuild, local: &str) -> Result<(), BuildFailure> {
    let mut cmd = Command::new(engine.program());
    cmd.arg("build").arg("--file").arg(&b.dockerfile).args([
        "--platform",
        &b.platform,
        "--tag",
        local,
    ]);
    if let Some(t) = &b.target {
        cmd.args(["--target", t]);
    }
    for (k, v) in &b.args {
        cmd.arg("--build-arg").arg(format!("{k}={v}"));
    }
    cmd.arg(&b.context);
    run(engine, cmd, "build", None)
}

/// Pushes `local` as `remote` to `registry`, logged in as `username` with `password` through
/// a credentials file of its own.
pub(crate) fn push(
    engine: Engine,
    local: &str,
    remote: &str,
    registry: &str,
    username: &str,
    password: &str,
) -> Result<(), BuildFailure> {
    let dir = tempfile::tempdir().map_err(|e| BuildFailure::Tool {
        tool: engine.program(),
        why: format!("cannot make a directory for the registry's credentials: {e}"),
    })?;
    let with_auth = |verb: &str| {
        let mut cmd = Command::new(engine.program());
        auth(engine, &mut cmd, dir.path(), verb);
        cmd
    };
    let mut tag = Command::new(engine.program());
    tag.args(["tag", local, remote]);
    run(engine, tag, "tag", None)?;
    let mut login = with_auth("login");
    login.args(["--username", username, "--password-stdin", registry]);
    run(engine, login, "login", Some(password))?;
    let mut push = with_auth("push");
    push.arg(remote);
    run(engine, push, "push", None)
}

/// `engine VERB` with the credentials in `dir`: Docker's is a global option before the verb.
fn auth(engine: Engine, cmd: &mut Command, dir: &Path, verb: &str) {
    match engine {
        Engine::Docker => {
            cmd.arg("--config").arg(dir).arg(verb);
        }
        Engine::Podman => {
            cmd.arg(verb).arg("--authfile").arg(dir.join("auth.json"));
        }
    }
}

/// Runs one engine command, `input` on its standard input; a failure with its last lines.
fn run(
    engine: Engine,
    mut cmd: Command,
    verb: &str,
    input: Option<&str>,
) -> Result<(), BuildFailure> {
    let tool = engine.program();
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BuildFailure::Tool {
            tool,
            why: format!("cannot run {tool} {verb}: {e}"),
        })?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // A write error shows as the command's own failure below.
        let _ = stdin.write_all(text.as_bytes());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_to_a_file_of_the_push_never_the_users() {
        let dir = Path::new("/tmp/x");
        let mut d = Command::new("docker");
        auth(Engine::Docker, &mut d, dir, "push");
        let args: Vec<_> = d
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["--config", "/tmp/x", "push"]);
        let mut p = Command::new("podman");
        auth(Engine::Podman, &mut p, dir, "login");
        let args: Vec<_> = p
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["login", "--authfile", "/tmp/x/auth.json"]);
    }
}
