//! qfleet: deploys a queue-fed worker fleet on AWS with CloudFormation.
//!
//! - [`package`]: a Lambda function's code and deployment package (pip, npm, zip);
//! - [`config`]: stack files (one environment each), parsing and validation;
//! - [`kinds`]: what each kind of worker (ec2, lambda, fargate) is to every feature;
//! - [`render`]: the CloudFormation templates rendered from `templates/`;
//! - [`aws`]: AWS access (credentials, clients, errors), stacks, network discovery;
//! - [`snapshot`]: one read of a whole environment, every part known, absent or unknown,
//!   which status, drift and teardown decide on;
//! - [`deploy`]: change sets, previews, execution and waiting (deploy and plan);
//! - [`send`]: the smoke test: an upload followed to the queue and the processed prefix;
//! - [`simulate`]: the scaling simulator: the environment as rendered, run under a load;
//! - [`status`]: the environment as an operator sees it (stacks, fleet, queues, scaling);
//! - [`dlq`]: the dead-letter queue: list, show, redrive, purge;
//! - [`logs`]: the workers' log lines, each with its instance or invocation;
//! - [`validate`]: the stack files and their templates checked offline, with advice;
//! - [`drift`]: CloudFormation drift detection plus qfleet's fleet checks;
//! - [`teardown`]: deleting environments without losing data by accident;
//! - [`outputs`]: the stacks' outputs, merged and as shell variables;
//! - [`ownership`]: which stacks and accounts a stack file may act on (qfleet's marks, `accounts`);
//! - [`import`]: another tool's workload as a stack file (`qfleet import copilot`);
//! - [`session`]: the environments of a command line, each with its region's clients;
//! - [`output`]: text and JSON output, progress, error reports;
//! - [`commands`]: one module per subcommand, thin over the modules above;
//! - [`cli`]: the command line.

pub mod aws;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod dlq;
pub mod drift;
pub mod error;
pub mod iam;
pub mod import;
pub mod kinds;
pub mod logs;
pub mod output;
pub mod outputs;
pub mod ownership;
pub mod package;
pub mod render;
pub mod send;
pub mod session;
pub mod simulate;
pub mod snapshot;
pub mod status;
pub mod teardown;
pub mod validate;
