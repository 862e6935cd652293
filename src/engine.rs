//! The offline engine, called in-process: stack files in; their checks, templates and
//! deploying policies out, as `qfleet validate`, `render` and `iam-policy` give them, with no
//! process to start and no call to AWS.
//!
//! - [`validate`]: the document `qfleet validate FILE… -o json` prints;
//! - [`render`]: the templates `qfleet render FILE… --out DIR` writes (each with its path under
//!   DIR), and the document it prints with `-o json`;
//! - [`iam_policy`]: the document `qfleet iam-policy FILE… --account ID -o json` prints;
//! - [`tag_room`]: how many tags a stack file may have, and the tags qfleet adds (what
//!   `validate` says of a file with too many).
//!
//! The commands and these functions run one path: the stack files loaded as the command line
//! loads a path, the same checks, templates and policies, the same document. What ends a
//! command (a stack file qfleet refuses, a file it cannot write) is a [`Failure`]: the document
//! the command prints for it, and its exit code.
//!
//! A call has no command line: the files are paths to stack files (an environment's name is
//! looked up beside the stacks directory `stacks`, as a bare `qfleet` does); no `--region`,
//! `--profile` or `--role-arn` applies, and the hints in a document carry no flags. Nothing is
//! written to stdout or stderr: the notes a command prints there are in its document (the
//! warnings) or left out (`iam-policy`'s summary). The functions change no shared state (the
//! compiled templates and the packed shipped code they share are made once and only read):
//! they may run on many threads at once.

use crate::config::{DEFAULT_STACKS_DIR, Environment, StackFiles};
use crate::error::Error;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub use crate::config::TagRoom;

/// What ended a command: the document it prints with `--output json` (`ok: false`, its
/// `error` with the kind, message and every located problem), and its exit code.
#[derive(Debug, Clone)]
pub struct Failure {
    document: Value,
    exit_code: u8,
}

impl Failure {
    fn of(command: &'static str, err: &Error) -> Failure {
        Failure {
            document: crate::output::failure_of(command, err),
            exit_code: err.exit_code().code(),
        }
    }

    /// The document the command prints.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The error's message (the document's `error.message`): for a refused stack file, each
    /// problem on a line, with its file, line and field.
    pub fn message(&self) -> &str {
        self.document["error"]["message"]
            .as_str()
            .unwrap_or_default()
    }

    /// The command's exit code (2 for a stack file qfleet refuses).
    pub fn exit_code(&self) -> u8 {
        self.exit_code
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Failure {}

/// The environments of `files`, as a command line naming them loads them.
fn load<P: AsRef<Path>>(files: &[P]) -> Result<Vec<Environment>, Error> {
    let words: Vec<String> = files
        .iter()
        .map(|p| p.as_ref().to_string_lossy().into_owned())
        .collect();
    crate::environments::load_from(
        &words,
        Path::new(DEFAULT_STACKS_DIR),
        &StackFiles::default(),
    )
}

/// `qfleet validate FILE… -o json`: the stack files and their templates checked, offline;
/// the document it prints.
pub fn validate<P: AsRef<Path>>(files: &[P]) -> Result<Value, Failure> {
    const COMMAND: &str = "validate";
    let envs = load(files).map_err(|e| Failure::of(COMMAND, &e))?;
    let checked = crate::validate::check_all(&envs, false).map_err(|e| Failure::of(COMMAND, &e))?;
    Ok(crate::output::document_of(COMMAND, &checked))
}

/// Every template of a `render`, and its document.
#[derive(Debug, Clone)]
pub struct Templates {
    /// The document `qfleet render FILE… -o json` prints (with `--out DIR`, each template's
    /// `file` rather than its text).
    pub document: Value,
    /// Each template as `render --out DIR` writes it: each environment's stacks (in DIR, or
    /// in DIR/ENV/ for each of several environments), then the stack sets' (DIR/stack-sets/).
    pub files: Vec<Template>,
}

/// One template file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Its path under `--out DIR` (`data.yaml`, `lab-01/fleet.yaml`,
    /// `stack-sets/qfleet-orders-data.json`).
    pub path: PathBuf,
    /// The template.
    pub text: String,
}

/// `qfleet render FILE… [--out DIR] -o json`: the environments' CloudFormation templates,
/// written under `out` as `--out` writes them when given.
pub fn render<P: AsRef<Path>>(files: &[P], out: Option<&Path>) -> Result<Templates, Failure> {
    const COMMAND: &str = "render";
    let envs = load(files).map_err(|e| Failure::of(COMMAND, &e))?;
    let renders = crate::placement::render_all(&envs, out).map_err(|e| Failure::of(COMMAND, &e))?;
    Ok(Templates {
        document: crate::output::document_of(COMMAND, &renders),
        files: renders
            .files()
            .into_iter()
            .map(|(path, text)| Template {
                path,
                text: text.to_string(),
            })
            .collect(),
    })
}

/// `qfleet iam-policy FILE… --account ACCOUNT -o json`: the least-privilege policies that
/// deploy these environments in `account` (with StackSets, the account that holds the stack
/// sets); the document it prints. The account is given, so no AWS call asks whose the
/// credentials are.
pub fn iam_policy<P: AsRef<Path>>(files: &[P], account: &str) -> Result<Value, Failure> {
    const COMMAND: &str = "iam-policy";
    let envs = load(files).map_err(|e| Failure::of(COMMAND, &e))?;
    let policies = crate::iam::policies_in(&envs, account).map_err(|e| Failure::of(COMMAND, &e))?;
    Ok(crate::output::document_of(COMMAND, &policies))
}

/// The room for tags in each environment a stack file makes, by the environment's name: the
/// most tags the file may have there and the tags qfleet adds (`validate` refuses a file with
/// more, saying both). The file must be one `validate` takes.
pub fn tag_room(file: &Path) -> Result<Vec<(String, TagRoom)>, Failure> {
    let envs = load(&[file]).map_err(|e| Failure::of("validate", &e))?;
    Ok(envs
        .iter()
        .map(|e| (e.name.clone(), crate::config::tag_room(e)))
        .collect())
}
