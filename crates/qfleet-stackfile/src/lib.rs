//! The stack file, the floor under every command: what a user writes and what it names.
//!
//! - [`config`]: finding, parsing and validating stack files (each a [`config::LoadedFile`]),
//!   with every problem located to its file, line and field; the schema and its defaults, the
//!   advice, and the environments a file makes: itself, its copies or its targets, and their
//!   stages, each an [`config::Environment`] of its own.
//! - [`kinds`]: what each kind of worker (ec2, lambda, fargate) is to every feature.
//! - [`package`]: the files a stack file names: a Lambda function's code and deployment
//!   package, and a worker image's build inputs and their digest.
//!
//! Nothing here talks to AWS: `cargo tree -p qfleet-stackfile` lists no SDK crate.

// No production function over the threshold in clippy.toml (150 lines).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
// A panic is never an answer to what a user gives or AWS answers: production code neither
// unwraps nor expects (tests and test support may).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod config;
pub mod kinds;
pub mod package;
