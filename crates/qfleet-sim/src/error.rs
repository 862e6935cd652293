//! What a run is refused for. The command gives each its exit code (2: invalid input).

use crate::config::InputError;

/// Everything the simulator fails with; nothing is simulated when it does.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting of the stack file the run needs and does not have, located.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Input(Vec<InputError>),
    /// A flag's value that is not what the flag takes.
    #[error("{flag} {value}: {why}")]
    FlagValue {
        flag: &'static str,
        value: String,
        why: String,
    },
    /// `--load`'s specification, and the grammar it did not follow.
    #[error("--load {spec}: {why}; the grammar: {grammar}")]
    Load {
        spec: String,
        why: String,
        grammar: &'static str,
    },
    /// No processing time, in the stack file (`file`) or the flags.
    #[error(
        "{file}: the stack file sets no scaling.seconds_per_message; give the processing time of one message with --seconds-per-message"
    )]
    NoSecondsPerMessage { file: String },
    /// A flag that fills a setting no stage of a pipeline leaves unset (`setting`).
    #[error(
        "{flag}: every stage of {env} sets its own scaling.{setting}; the flag only fills a stage that sets none (a Lambda stage), so here it would change nothing"
    )]
    SetByEveryStage {
        flag: &'static str,
        env: String,
        setting: &'static str,
    },
    #[error(
        "--tune: {env} runs a Lambda function, which scales with its queue up to workers.lambda.max_concurrency; `qfleet simulate` without --tune advises that setting when the goal is missed"
    )]
    TuneLambda { env: String },
    #[error(
        "--tune: {env} is a pipeline; tune one stage at a time (each stage's scaling is its own)"
    )]
    TunePipeline { env: String },
    #[error("--tune: {env} sets no scaling.max_latency_seconds; give the goal with --max-latency")]
    TuneNoGoal { env: String },
}

/// What the simulator's functions return.
pub type Result<T, E = Error> = std::result::Result<T, E>;
