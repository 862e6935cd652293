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
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

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

/// Pushes `local` as `remote` to `registry`, as `username` with `password`, through a
/// credentials file of its own that qfleet writes (mode 0600; the format both engines read:
/// `{"auths": {REGISTRY: {"auth": base64("USER:PASSWORD")}}}`). No `login` runs: Docker's
/// would hand the password to the platform's credential helper (a keychain), where it would
/// outlive the push.
pub fn push(
    engine: Engine,
    local: &str,
    remote: &str,
    registry: &str,
    username: &str,
    password: &str,
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
    run(engine, push, "push")
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

#[cfg(test)]
mod tests {
    use super::*;

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
