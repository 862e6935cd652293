//! qfleet: deploys a queue-fed worker fleet on AWS with CloudFormation.
//!
//! - [`config`]: stack files (one environment each), parsing and validation;
//! - [`render`]: the CloudFormation templates rendered from `templates/`;
//! - [`output`]: text and JSON output, error reports;
//! - [`commands`]: one module per subcommand, thin over the modules above;
//! - [`cli`]: the command line.

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod output;
pub mod render;
