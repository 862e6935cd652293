//! qfleet: deploys a queue-fed worker fleet on AWS with CloudFormation.
//!
//! - [`package`]: a Lambda function's code and deployment package (pip, npm, zip);
//! - [`config`]: stack files (one environment each), parsing and validation;
//! - [`kinds`]: what each kind of worker (ec2, lambda, fargate) is to every feature;
//! - [`render`]: the offline engine's templates (crates/qfleet-engine) as qfleet uses them,
//!   and `qfleet render`'s errors (its document is [`placement`]'s);
//! - [`aws`]: AWS access (credentials, clients, errors), stacks, network discovery;
//! - [`snapshot`]: one read of a whole environment, every part known, absent or unknown,
//!   which status, drift and teardown decide on;
//! - [`deploy`]: change sets, previews, execution and waiting (deploy and plan);
//! - [`jobs`]: the jobs a user can follow: the job table's records (`qfleet jobs`);
//! - [`submit`]: a job sent as a message (`qfleet submit`), followed to its end with `--wait`;
//! - [`lock`]: one run at a time per environment: deploy's and teardown's lock;
//! - [`send`]: the smoke test: an upload followed to the queue and the processed prefix;
//! - [`simulate`]: the scaling simulator: the environment as rendered, run under a load;
//! - [`sim`]: the simulator's model and `--tune` (crates/qfleet-sim);
//! - [`text`]: the words and tables every report uses (crates/qfleet-text);
//! - [`status`]: the environment as an operator sees it (stacks, fleet, queues, scaling);
//! - [`dlq`]: the dead-letter queue: list, show, redrive, purge;
//! - [`logs`]: the workers' log lines, each with its instance or invocation;
//! - [`worker_env`]: a stage's worker environment as the fleet gets it (`qfleet env`, `dev`);
//! - [`iam`]: `qfleet iam-policy`, over the offline engine's deploying policies;
//! - [`validate`]: the stack files and their templates checked offline, with advice;
//! - [`drift`]: CloudFormation drift detection plus qfleet's fleet checks;
//! - [`teardown`]: deleting environments without losing data by accident;
//! - [`stack_outputs`]: the stacks' outputs, merged and as shell variables;
//! - [`placement`]: where an environment's stacks are and how they roll out: targets, copies,
//!   whole units' accounts, waves and their bakes, StackSets (plan, calls, read-back), and
//!   their own errors;
//! - [`ownership`]: which stacks and accounts a stack file may act on (qfleet's marks, `accounts`);
//! - [`environments`]: what qfleet made in an account and region, and what a file no longer makes;
//! - [`import`]: another tool's workload as a stack file (`qfleet import copilot`);
//! - [`session`]: the environments of a command line, each with its region's clients;
//! - [`changes`]: a change set's changes in words (the text and Markdown previews' lines);
//! - [`output`]: text and JSON output, progress, error reports;
//! - [`error`]: errors and the exit codes they map to;
//! - [`engine`]: the offline commands called in-process: validate, render and iam-policy's
//!   documents for stack files (over crates/qfleet-engine), as the commands give them (the
//!   tests call it on all cores);
//! - [`commands`]: one module per subcommand, thin over the modules above;
//! - [`cli`]: the command line.

// No production function over the threshold in clippy.toml (150 lines): CI's clippy runs with
// `-D warnings`. Tests may run longer (a scenario reads top to bottom).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
// A panic is never an answer to what a user gives or AWS answers: production code neither
// unwraps nor expects (tests and test support may).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

// AWS access is a crate of its own (crates/qfleet-aws): it cannot reach back into this one.
pub(crate) use qfleet_aws as aws;
// So is the stack file (crates/qfleet-stackfile), which knows nothing of AWS.
pub(crate) use qfleet_stackfile::{config, kinds, package};
// And the simulator's model (crates/qfleet-sim), and the words and tables every report uses
// (crates/qfleet-text). The offline engine (crates/qfleet-engine) is reached through the thin
// `render` and `iam` modules, which add the commands' documents.
pub(crate) use qfleet_sim as sim;
pub(crate) use qfleet_text as text;
pub(crate) mod changes;
pub mod cli;
pub(crate) mod commands;
pub(crate) mod deploy;
/// What the template preview of a StackSets instance takes for replacing a resource that holds
/// data (checked against AWS's resource schemas by an integration test).
pub mod replacement {
    pub use crate::deploy::STATEFUL_TYPES;
    pub use crate::placement::CREATE_ONLY;
}
pub(crate) mod dlq;
pub(crate) mod drift;
pub mod engine;
pub(crate) mod environments;
pub(crate) mod error;
pub mod iam;
pub(crate) mod import;
pub(crate) mod jobs;
pub(crate) mod lock;
pub(crate) mod logs;
pub(crate) mod output;
pub(crate) mod ownership;
pub(crate) mod placement;
pub(crate) mod render;
pub(crate) mod send;
pub(crate) mod session;
pub(crate) mod simulate;
pub(crate) mod snapshot;
pub(crate) mod stack_outputs;
pub(crate) mod status;
pub(crate) mod submit;
pub(crate) mod teardown;
pub(crate) mod validate;
pub(crate) mod worker_env;
