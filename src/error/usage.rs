//! Usage errors (exit 2) that are no one feature's: the command line, a stack file that cannot
//! be read, and the engine's and the simulator's refusals. A feature's own are its `errors`
//! module's (`crate::jobs::errors`, …), held here as [`Usage::Of`]. Each variant carries what
//! went wrong as data; its message is the one the user reads.

/// A bad command-line flag or argument, or a missing file.
#[derive(Debug, thiserror::Error)]
pub enum Usage {
    // The command line.
    /// The argument parser's own message (clap), on one line.
    #[error("{0}")]
    Arguments(String),
    /// A flag's value that is not what the flag takes (a flag that takes none: its value is
    /// empty, and not shown).
    #[error("{flag}{}: {why}", spaced(.value))]
    FlagValue {
        flag: &'static str,
        value: String,
        why: String,
    },
    /// Something only text output can do, asked for with JSON output: what and why.
    #[error("{0}")]
    TextOnly(&'static str),
    /// A command that acts on one environment, given a name for several.
    #[error("{command} takes one environment; `{named}` names {count}")]
    OneEnvironment {
        command: &'static str,
        named: String,
        count: usize,
    },
    /// `outputs --shell` for several environments.
    #[error(
        "--shell takes one environment ({count} named: their KEY=value lines would overwrite each other)"
    )]
    ShellOneEnvironment { count: usize },
    /// No environment was left to act on (`what`: `act on`, `send to`).
    #[error("no environment to {what}")]
    NoEnvironment { what: &'static str },
    /// `status --watch` with a single-document output.
    #[error("--watch prints a document per refresh: use --output ndjson (one document per line)")]
    WatchNeedsNdjson,
    /// `logs --filter ''` or `logs --job ''`.
    #[error("{flag} needs some text to look for")]
    EmptyFilter { flag: &'static str },
    /// `completions` for a shell it has none for.
    #[error("no completions for {shell}")]
    NoCompletions { shell: String },
    #[error("cannot write the completion script: {source}")]
    CompletionScript { source: std::io::Error },

    // Environments and their stack files.
    /// A stack file that could not be found or read (its words are the stack file's).
    #[error(transparent)]
    StackFile(crate::config::FileError),
    /// The same environment named twice on the command line.
    #[error("environment `{env}` is named twice")]
    NamedTwice { env: String },

    // simulate
    /// What the simulator refused a run for (`--load`, a missing setting, `--tune`).
    #[error(transparent)]
    Simulation(crate::sim::Error),

    // The offline engine (crates/qfleet-engine).
    /// What the engine refuses besides a stack file's problems: a StackSets file whose
    /// targets do not merge, a policy IAM would not take, its IAM reference unreadable.
    #[error(transparent)]
    Engine(qfleet_engine::Error),
    /// A feature's own usage error (placement's, …), in its words.
    #[error(transparent)]
    Of(super::Of),
}

/// ` VALUE`, or nothing for a flag given without one.
fn spaced(value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!(" {value}")
    }
}
