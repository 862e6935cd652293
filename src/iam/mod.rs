//! `qfleet iam-policy`: the offline engine's deploying policies (crates/qfleet-engine,
//! `iam`), in the account `--account`, the targets or AWS STS name, and the document the
//! command prints.

pub use qfleet_engine::iam::*;

mod report;

pub(crate) use report::{policies_for, policies_in};
// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use report::schema;
