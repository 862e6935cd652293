//! Integration tests: the `qfleet` binary as users run it.
//!
//! - `cli`: offline commands, exit codes and output formats;
//! - `deploy_moto`: deploy, plan and outputs against moto's server;
//! - `status_drift_moto`: status and drift against moto's server;
//! - `teardown_moto`: teardown and copies against moto's server;
//! - `user_data`: the rendered user data checked with shellcheck and systemd-analyze;
//! - `walkthrough_moto`: every step of examples/lab/README.md against moto's server;
//! - `lint`: every shipped stack file rendered and checked with cfn-lint and cfn-guard.

mod cli;
mod common;
mod deploy_moto;
mod faults_moto;
mod lint;
mod localstack;
mod status_drift_moto;
mod teardown_moto;
mod terminal_moto;
mod user_data;
mod walkthrough_moto;
