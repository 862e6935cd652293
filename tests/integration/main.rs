//! Integration tests: the `qfleet` binary as users run it, and the offline engine it runs
//! (`qfleet::engine`), which the heavy offline tests call in-process on every core.
//!
//! - `engine`: the engine's documents and files are the ones `validate`, `render` and
//!   `iam-policy` print and write;
//! - `cli`: offline commands, exit codes and output formats;
//! - `deploy_moto`: deploy, plan and outputs against moto's server;
//! - `status_drift_moto`: status and drift against moto's server;
//! - `teardown_moto`: teardown and copies against moto's server;
//! - `user_data`: the rendered user data checked with shellcheck and systemd-analyze;
//! - `localstack`: the data stack's real wiring and a failed create's rollback and retry
//!   against LocalStack;
//! - `classroom_localstack`: the trainer's path: 20 copies deployed, one addressed by its
//!   environment's name, `send` to it, the class torn down without a flag;
//! - `walkthrough_localstack`: every step of examples/lab/README.md against LocalStack;
//! - `iam`: every call of qfleet and of the reference worker checked against the policy it
//!   runs under, with an IAM policy evaluator;
//! - `jobs_moto`: jobs a user can follow (`jobs:`) on moto, which runs DynamoDB: an upload
//!   kept by the reference worker as a job, a duplicate processed once, a poison message
//!   failed, the response queue, `qfleet jobs` and `status`, a pipeline's two stages on one
//!   job, a teardown that refuses a table holding records;
//! - `journeys_moto`: the two-stage example as a user runs it on moto: a submitted job through
//!   both stages run by `qfleet dev`, done with one response; a cancelled one never run; every
//!   printed command run by bash;
//! - `fargate_moto`: Fargate workers on moto: the example deploys and status reads its
//!   service; switching ec2 → fargate → lambda keeps every waiting message; teardown;
//! - `lambda_moto`: Lambda workers on moto: switching workers.kind both ways keeps every
//!   waiting message; teardown of a function environment;
//! - `import`: `qfleet import copilot` through the binary: a fixture to a file that
//!   `qfleet validate` reads, its JSON document, the refusals and their exit code;
//! - `json_contract`: every command's `--output json` is one document of the same shape for
//!   one and two environments, matching its schema in `schemas/output/`; ndjson; globs; rows;
//! - `many_envs`: globs that read only the files they can match; one row per environment in
//!   validate, status and plan, a shared warning told once;
//! - `modes_moto`: express mode and drift-aware change sets as sent, seen through a logging
//!   proxy in front of moto;
//! - `ownership_moto`: a hand-made stack of qfleet's name refused by deploy, plan and teardown
//!   and left unchanged, taken over by `deploy --adopt`; the account guard;
//! - `lint`: every shipped stack file rendered and checked with cfn-lint and cfn-guard;
//! - `guard_rules`: scripts/guard-rules against a registry served on 127.0.0.1: the rule sets
//!   built as its mappings list them, checked against the pins, put in place whole or not at
//!   all; where the tests look for the rule sets and for cargo's tools;
//! - `pairs`: every pair of stack-file features for each kind of worker, at ordinary and at the
//!   longest names: rendered and linted, every name a worker or role uses checked against what
//!   its mode deploys, AWS's limits measured as AWS receives them; or refused as docs say;
//! - `linters`: cfn-lint, each Guard rule set and checkov over many templates on every core,
//!   a pass remembered under target/ by the template's and the linter's identity;
//! - `hints`: every hint printed on the offline paths runs as printed;
//! - `docs`: the README's shape, the book in docs/ built with mdBook, and no broken link.
//! - `cli_reference`: docs/commands.md's flag reference generated from the CLI's definitions;
//!   every `qfleet …` example of the README and that chapter parses;
//! - `pipeline_localstack`: a pipeline's data stack on LocalStack: an upload travels through
//!   both stages, the second fed only by the first stage's output;
//! - `logs_localstack`: `qfleet logs` reading the workers' and a function's log groups on
//!   LocalStack, filtered and followed;
//! - `container_moto`: the reference worker's image run with the rendered unit's command line,
//!   env file and secrets, against moto;
//! - `simulate`: the scaling simulator offline: timeline, verdict and exit code, chart, errors;
//! - `simulate_moto`: the model against reality: real reference workers on moto's queue give
//!   the latencies the simulation of the same run gives, within a stated tolerance;
//! - `spot_moto`: a Spot fleet with several instance types deployed with its mixed instances
//!   policy.
//! - `identity_moto`: one environment, one name (issue 83): a target moved to another Region,
//!   a copy split into a file of its own, `environment:` renamed, and the file renamed with
//!   it; the bare names refused or reaching one environment, the printed retire commands run;
//! - `retired_moto`: environments a stack file made and no longer makes (a copy above
//!   `copies`, a target taken out): named by plan and status, reached by name, retired;
//! - `targets_moto`: one stack file's two targets deployed, each in its own account and region
//!   through the role qfleet assumes there, one row each in status, the account guard;
//! - `worker_access`: a worker's declared settings, secrets and permissions: the IAM evaluator
//!   allows its declared calls and nothing beside them, no secret value is ever rendered, and
//!   the example deploys on moto.

mod ci_examples;
mod classroom_localstack;
mod cli;
mod cli_reference;
mod common;
mod completions;
mod container_moto;
mod deploy_moto;
mod docs;
mod emulator_table;
mod engine;
mod env_moto;
mod fargate_moto;
mod faults_moto;
mod gpu_moto;
mod guard_rules;
mod hints;
mod iam;
mod identity_moto;
mod image_moto;
mod import;
mod jobs_moto;
mod journeys_moto;
mod json_contract;
mod lambda_moto;
mod least_privilege;
mod lint;
mod linters;
mod localstack;
mod logs_localstack;
mod many_envs;
mod modes_moto;
mod network_moto;
mod ownership_moto;
mod pairs;
mod pipeline_localstack;
mod retired_moto;
mod simulate;
mod simulate_moto;
mod spot_moto;
mod status_drift_moto;
mod targets_moto;
mod teardown_moto;
mod terminal_moto;
mod user_data;
mod walkthrough_localstack;
mod worker_access;
