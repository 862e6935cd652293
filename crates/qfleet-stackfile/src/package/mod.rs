//! A worker function's deployment package: `workers.lambda.code` as a `.zip` file, or a
//! directory with dependencies (a `requirements.txt` for Python, a `package.json` for Node.js)
//! or with more than one source file. CloudFormation takes only one source file inline, so
//! these travel as a .zip archive in qfleet's code bucket (`ENV-code-ACCOUNT-REGION`, in the
//! data stack) under a content-addressed key, `lambda/<sha256>.zip`.
//!
//! The key is known offline, without building anything (`render` and `validate` stay fast and
//! need no network): for a `.zip` file it is the SHA-256 of its bytes, for a directory the
//! SHA-256 of its inputs (every packaged file's path and bytes, and the runtime). `deploy`
//! builds the archive only when no object has that key yet, and builds it deterministically:
//! entries sorted by path, every timestamp 1980-01-01 00:00, modes 0644 (0755 for files the
//! user made executable), so that the same inputs give the same bytes.
//!
//! Dependencies are installed as AWS's pages say:
//! - Python (https://docs.aws.amazon.com/lambda/latest/dg/python-package.html): `pip install
//!   --target` with `--platform manylinux2014_x86_64 --only-binary=:all: --implementation cp
//!   --python-version X.Y`, so that wheels built for Lambda's Linux (x86_64, the architecture
//!   qfleet's functions have) are taken whatever machine deploys;
//! - Node.js (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-package.html): the
//!   packages in `node_modules` beside the handler, installed with `npm ci --omit=dev` (or
//!   `npm install --omit=dev` without a `package-lock.json`).
//!
//! Lambda's size limit (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
//! 250 MB unzipped, the package's contents. The 50 MB limit on a zipped package applies to
//! uploads straight to Lambda's API; qfleet's packages go through S3, which that limit does
//! not apply to (`CodeSizeZipped`, https://docs.aws.amazon.com/lambda/latest/api/API_AccountLimit.html).

mod code;
pub mod engine;
pub mod image;

pub use code::{FunctionCode, REFERENCE_HANDLER, Settings as CodeSettings, read as read_code};

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Lambda's limit on a package's unzipped size (250 MB).
const MAX_UNZIPPED: u64 = 250 * 1024 * 1024;

/// The prefix of every key qfleet writes in its code bucket; teardown deletes only keys of
/// the form `lambda/<64 hex digits>.zip`.
const KEY_PREFIX: &str = "lambda/";

/// How the dependencies of a directory are installed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Installer {
    /// `requirements.txt` with pip, for `python3.X`.
    Pip { python_version: String },
    /// `package.json` with npm (`npm ci` when there is a `package-lock.json`).
    Npm { lockfile: bool },
}

/// Where the package comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A `.zip` file taken as it is.
    Zip(PathBuf),
    /// A directory's files (by path inside the archive), with its dependencies when it
    /// declares any.
    Directory {
        dir: PathBuf,
        files: Vec<(String, PathBuf)>,
        installer: Option<Installer>,
    },
}

/// A deployment package, known by its key before it is built.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Package {
    pub source: Source,
    /// SHA-256 (hex) of the zip file, or of the directory's inputs.
    digest: String,
}

impl Package {
    /// The object's key in the code bucket.
    pub fn key(&self) -> String {
        format!("{KEY_PREFIX}{}.zip", self.digest)
    }
}

/// Whether `key` is one qfleet writes (`lambda/<64 lowercase hex digits>.zip`).
pub fn is_package_key(key: &str) -> bool {
    key.strip_prefix(KEY_PREFIX)
        .and_then(|k| k.strip_suffix(".zip"))
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The file names the handler's module may have at the package's root: `MODULE.py` for
/// Python, `MODULE.js`, `.mjs` or `.cjs` for Node.js (Lambda's handler pages).
fn module_files(module: &str, python: bool) -> Vec<String> {
    if python {
        vec![format!("{module}.py")]
    } else {
        ["js", "mjs", "cjs"]
            .iter()
            .map(|e| format!("{module}.{e}"))
            .collect()
    }
}

/// A `.zip` file as the package: readable as a zip archive, within Lambda's unzipped limit,
/// holding the handler's module at its root (`module.py`, or `module.js`, `.mjs`, `.cjs`).
fn zip_file(path: &Path, module: &str, python: bool) -> Result<Package, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes))
        .map_err(|e| format!("{} is not a readable .zip archive: {e}", path.display()))?;
    let unzipped: u64 = archive
        .decompressed_size()
        .map(|s| s as u64)
        .unwrap_or(u64::MAX);
    check_unzipped(unzipped, &path.display().to_string())?;
    let wanted = module_files(module, python);
    let has = |n: &[u8]| wanted.iter().any(|w| w.as_bytes() == n);
    if !archive.file_names_raw().any(has) {
        return Err(format!(
            "{} has no {} at its root, the module of the handler",
            path.display(),
            wanted.join(" or ")
        ));
    }
    Ok(Package {
        source: Source::Zip(path.to_path_buf()),
        digest: hex(&Sha256::digest(&bytes)),
    })
}

fn check_unzipped(size: u64, what: &str) -> Result<(), String> {
    if size > MAX_UNZIPPED {
        return Err(format!(
            "{what} unzips to {size} bytes; Lambda takes at most 250 MB (262144000 bytes) unzipped, dependencies included"
        ));
    }
    Ok(())
}

/// Whether a path's file name is skipped at every depth: hidden files, Python's caches, and
/// `node_modules` (installed again from `package.json`).
fn skipped_anywhere(name: &str) -> bool {
    name.starts_with('.')
        || name == "__pycache__"
        || name == "node_modules"
        || name.ends_with(".pyc")
}

/// Whether a top-level file is left out: tests, `conftest.py`, `__init__.py` (the directory as
/// a package for the tests) and `*.md`, as for inline code.
fn skipped_at_top(name: &str) -> bool {
    name.starts_with("test_")
        || name == "conftest.py"
        || name == "__init__.py"
        || name.ends_with(".md")
}

/// Every packaged file of `dir`, by its path inside the archive (`/`-separated), sorted.
fn files_of(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the directory {}: {e}", dir.display()))?;
    for e in entries {
        let e = e.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if skipped_anywhere(&name) || (prefix.is_empty() && skipped_at_top(&name)) {
            continue;
        }
        let path = e.path();
        let kind = e
            .file_type()
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let inside = format!("{prefix}{name}");
        if kind.is_dir() || (kind.is_symlink() && path.is_dir()) {
            walk(&path, &format!("{inside}/"), out)?;
        } else {
            out.push((inside, path));
        }
    }
    Ok(())
}

/// A directory as the package, its digest over the runtime and every packaged file.
fn directory(
    dir: &Path,
    files: Vec<(String, PathBuf)>,
    runtime: &str,
    installer: Option<Installer>,
) -> Result<Package, String> {
    let mut h = Sha256::new();
    h.update(b"qfleet package 1\0");
    h.update(runtime.as_bytes());
    h.update(b"\0");
    let mut total = 0u64;
    for (inside, path) in &files {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        total += bytes.len() as u64;
        h.update(inside.as_bytes());
        h.update(b"\0");
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(&bytes);
        h.update([executable(path) as u8]);
    }
    check_unzipped(total, &dir.display().to_string())?;
    Ok(Package {
        source: Source::Directory {
            dir: dir.to_path_buf(),
            files,
            installer,
        },
        digest: hex(&h.finalize()),
    })
}

#[cfg(unix)]
fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn executable(_: &Path) -> bool {
    false
}

/// A deterministic archive of `entries` (path inside, bytes, executable): sorted by path,
/// deflated, every timestamp 1980-01-01 00:00 (the earliest a zip can say), modes 0644 or 0755.
pub fn deterministic_zip(mut entries: Vec<(String, Vec<u8>, bool)>) -> Result<Vec<u8>, String> {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|a, b| a.0 == b.0);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes, exec) in &entries {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(if *exec { 0o755 } else { 0o644 });
        w.start_file(name.as_str(), options)
            .map_err(|e| format!("cannot add {name} to the package: {e}"))?;
        w.write_all(bytes)
            .map_err(|e| format!("cannot add {name} to the package: {e}"))?;
    }
    let out = w
        .finish()
        .map_err(|e| format!("cannot finish the package: {e}"))?;
    Ok(out.into_inner())
}

/// Why a package could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildFailure {
    /// The stack file's code is at fault (an unreadable file, a dependency the index does not
    /// have, a package over Lambda's limit): invalid input.
    Input(String),
    /// The tool that installs the dependencies failed for a cause outside the stack file: it
    /// could not be started, or could not reach its package index (`tool`: `pip`, `npm`).
    Tool { tool: &'static str, why: String },
}

impl From<String> for BuildFailure {
    fn from(why: String) -> BuildFailure {
        BuildFailure::Input(why)
    }
}

/// Builds the archive: the zip file's bytes, or the directory's files with its dependencies
/// installed in a temporary directory (the user's directory is not written to).
pub fn build(p: &Package) -> Result<Vec<u8>, BuildFailure> {
    let (dir, files, installer) = match &p.source {
        Source::Zip(path) => {
            return std::fs::read(path)
                .map_err(|e| BuildFailure::Input(format!("cannot read {}: {e}", path.display())));
        }
        Source::Directory {
            dir,
            files,
            installer,
        } => (dir, files, installer),
    };
    let mut entries = Vec::new();
    for (inside, path) in files {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        entries.push((inside.clone(), bytes, executable(path)));
    }
    if let Some(installer) = installer {
        let staging = tempdir()?;
        install(installer, dir, staging.path())?;
        let mut deps = Vec::new();
        walk_all(staging.path(), "", &mut deps)?;
        for (inside, path) in deps {
            // The user's own files win over an installed file of the same path.
            if entries.iter().any(|(n, _, _)| *n == inside) {
                continue;
            }
            let mut bytes = Vec::new();
            std::fs::File::open(&path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            entries.push((inside, bytes, executable(&path)));
        }
    }
    let unzipped: u64 = entries.iter().map(|(_, b, _)| b.len() as u64).sum();
    check_unzipped(unzipped, &format!("the package of {}", dir.display()))?;
    Ok(deterministic_zip(entries)?)
}

/// Every file under `dir` (installed dependencies: only Python's caches are left out).
fn walk_all(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the directory {}: {e}", dir.display()))?;
    for e in entries {
        let e = e.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "__pycache__" || name.ends_with(".pyc") {
            continue;
        }
        let path = e.path();
        let inside = format!("{prefix}{name}");
        if path.is_dir() {
            walk_all(&path, &format!("{inside}/"), out)?;
        } else {
            out.push((inside, path));
        }
    }
    Ok(())
}

struct TempDir(PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> Result<TempDir, String> {
    let base = std::env::temp_dir();
    for n in 0..100u32 {
        let p = base.join(format!("qfleet-package-{}-{n}", std::process::id()));
        if std::fs::create_dir(&p).is_ok() {
            return Ok(TempDir(p));
        }
    }
    Err(format!(
        "cannot make a temporary directory in {}",
        base.display()
    ))
}

/// Installs the dependencies into `target` (`node_modules` under it for npm).
fn install(installer: &Installer, dir: &Path, target: &Path) -> Result<(), BuildFailure> {
    let cmd = match installer {
        Installer::Pip { python_version } => {
            let python = std::env::var("QFLEET_PYTHON").unwrap_or_else(|_| "python3".into());
            let mut c = Command::new(python);
            // Debug output (-vv), read only to tell a package index out of reach ("Could not
            // fetch URL …: connection error", said at that level alone when pip does not
            // retry) from a requirement the index does not have.
            c.args(["-m", "pip", "install", "--disable-pip-version-check", "-vv"])
                .arg("--requirement")
                .arg(dir.join("requirements.txt"))
                .arg("--target")
                .arg(target)
                .args([
                    "--platform",
                    "manylinux2014_x86_64",
                    "--only-binary=:all:",
                    "--implementation",
                    "cp",
                    "--python-version",
                    python_version,
                ]);
            c
        }
        Installer::Npm { lockfile } => {
            for f in ["package.json", "package-lock.json"] {
                let from = dir.join(f);
                if from.exists() {
                    std::fs::copy(&from, target.join(f))
                        .map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
                }
            }
            let mut c = Command::new("npm");
            c.arg(if *lockfile { "ci" } else { "install" })
                .args(["--omit=dev", "--no-audit", "--no-fund", "--ignore-scripts"])
                .current_dir(target);
            c
        }
    };
    let tool = match installer {
        Installer::Pip { .. } => "pip",
        Installer::Npm { .. } => "npm",
    };
    run_installer(cmd, tool)?;
    if matches!(installer, Installer::Npm { .. }) {
        // The manifests were copied to run npm; the user's copies are already in the package.
        for f in ["package.json", "package-lock.json"] {
            let _ = std::fs::remove_file(target.join(f));
        }
    }
    Ok(())
}

/// Runs an installer's command line; its failure as [`install_failure`] says.
fn run_installer(mut cmd: Command, tool: &'static str) -> Result<(), BuildFailure> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| BuildFailure::Tool {
        tool,
        why: format!("cannot run {shown}: {e}"),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Err(install_failure(
        tool,
        &shown,
        &out.status.to_string(),
        &said,
    ))
}

/// Words with which pip and npm say they could not reach their package index (or could not
/// run at all), rather than that the index lacks what the code asks for: pip's (urllib3's)
/// connection errors and npm's Node.js network error codes
/// (<https://docs.npmjs.com/common-errors>, <https://nodejs.org/api/errors.html#common-system-errors>).
const TOOL_TROUBLE: &[&str] = &[
    // pip
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "nodename nor servname provided",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Connection refused",
    "Connection reset by peer",
    "connection broken by",
    "ProxyError",
    "SSLError",
    "Could not fetch URL",
    "No module named pip",
    "HTTP error 5",
    // npm (`npm ERR! code …` / `npm error code …`)
    "ENOTFOUND",
    "EAI_AGAIN",
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "ENETUNREACH",
    "EHOSTUNREACH",
    "ERR_SOCKET_TIMEOUT",
    "code E500",
    "code E502",
    "code E503",
    "code E504",
];

/// A failed install as what it is: the tool's trouble (no network, no index, no pip), or the
/// code's (a requirement no index has, a conflict), with the tool's last lines.
fn install_failure(tool: &'static str, shown: &str, status: &str, said: &str) -> BuildFailure {
    let lines: Vec<&str> = said
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    // The tool's own error lines (pip's `ERROR:`, npm's `npm ERR!`/`npm error`), else its last
    // lines: its debug output is long.
    let errors: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            l.starts_with("ERROR") || l.starts_with("npm ERR") || l.starts_with("npm error")
        })
        .collect();
    let errors = match errors.is_empty() {
        true => &lines[lines.len().saturating_sub(5)..],
        false => &errors[errors.len().saturating_sub(5)..],
    };
    let tail = errors.join(" / ");
    if let Some(trouble) = lines
        .iter()
        .find(|l| TOOL_TROUBLE.iter().any(|w| l.contains(w)))
    {
        let trouble: String = trouble.chars().take(300).collect();
        return BuildFailure::Tool {
            tool,
            why: format!("{shown} ({status}): {trouble} / {tail}"),
        };
    }
    BuildFailure::Input(format!(
        "installing the dependencies failed ({status}): {shown}: {tail}"
    ))
}

#[cfg(test)]
mod tests;
