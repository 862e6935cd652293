//! `qfleet completions SHELL`: the script that registers qfleet's completions, and the
//! completion of ENV arguments to the environment names of the stacks directory.

use crate::error::{Result, Usage};

/// Prints the completion script for `shell`.
pub(crate) fn run(shell: clap_complete::Shell) -> Result<crate::error::Exit> {
    crate::output::stdout_write(&completion_script(shell)?);
    Ok(crate::error::Exit::Ok)
}

/// The candidates for an ENV argument: environment names (copies included), or paths once the
/// word holds a `/`.
pub(crate) fn complete_env(current: &std::ffi::OsStr) -> Vec<clap_complete::CompletionCandidate> {
    use clap_complete::CompletionCandidate;
    use clap_complete::engine::{PathCompleter, ValueCompleter};
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    if current.contains('/') || current.starts_with('.') || current.starts_with('~') {
        return PathCompleter::any().complete(current.as_ref());
    }
    crate::config::completion_candidates(&completion_stacks_dir(), current)
        .into_iter()
        .map(|c| CompletionCandidate::new(c.name).help(Some(c.help.into())))
        .collect()
}

/// The stacks directory of the command line being completed: its `--stacks-dir`, else
/// `QFLEET_STACKS_DIR`, else `stacks`.
fn completion_stacks_dir() -> std::path::PathBuf {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut dir = None;
    for (i, a) in args.iter().enumerate() {
        if a == "--stacks-dir" {
            dir = args.get(i + 1).cloned().or(dir);
        } else if let Some(v) = a.strip_prefix("--stacks-dir=") {
            dir = Some(v.to_string());
        }
    }
    dir.or_else(|| std::env::var("QFLEET_STACKS_DIR").ok())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| crate::config::DEFAULT_STACKS_DIR.to_string())
        .into()
}

/// The script that registers qfleet's completions with `shell`: it calls this qfleet back
/// (`COMPLETE=SHELL qfleet -- WORDS`) for every completion, so names are always current.
fn completion_script(shell: clap_complete::Shell) -> Result<String> {
    use clap_complete::Shell;
    use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
    let registrar: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::Elvish => &Elvish,
        Shell::PowerShell => &Powershell,
        other => {
            return Err(Usage::NoCompletions {
                shell: other.to_string(),
            }
            .into());
        }
    };
    // `qfleet` when found on PATH, else the path it was started by, made absolute.
    let started = std::env::args_os().next().unwrap_or_default();
    let started = std::path::Path::new(&started);
    let program = if started.components().count() > 1 {
        let absolute = std::env::current_dir()
            .map(|d| d.join(started))
            .unwrap_or_else(|_| started.to_path_buf());
        let clean: std::path::PathBuf = absolute
            .components()
            .filter(|c| *c != std::path::Component::CurDir)
            .collect();
        clean.to_string_lossy().into_owned()
    } else {
        "qfleet".to_string()
    };
    let mut script = Vec::new();
    registrar
        .write_registration("COMPLETE", "qfleet", "qfleet", &program, &mut script)
        .map_err(|source| Usage::CompletionScript { source })?;
    Ok(String::from_utf8_lossy(&script).into_owned())
}
