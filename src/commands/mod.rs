//! One module per subcommand. Each parses its flags, calls the modules that do the work and
//! prints the result; none holds logic of its own.

pub mod deploy;
pub mod drift;
pub mod outputs;
pub mod render;
pub mod status;
pub mod validate;

use crate::cli::Global;
use crate::config::{self, Environment};
use crate::error::{Error, Result};

/// Loads every environment named on the command line (names or paths), reporting every
/// invalid stack file before anything touches AWS.
pub fn load_environments(targets: &[String], g: &Global) -> Result<Vec<Environment>> {
    let mut envs = Vec::new();
    let mut problems = Vec::new();
    for t in targets {
        match config::locate(t, &g.stacks_dir).and_then(|p| config::load(&p)) {
            Ok(env) => envs.push(env),
            Err(Error::Input(list)) => problems.extend(list),
            Err(other) => return Err(other),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Input(problems));
    }
    let mut names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::usage(format!(
            "environment `{}` is named twice",
            w[0]
        )));
    }
    Ok(envs)
}

/// A Tokio runtime for the commands that talk to AWS (the offline ones never start one).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Aws(format!("cannot start the async runtime: {e}")))
}
