//! `drift`: is the environment still what was deployed? CloudFormation drift detection on each
//! stack, plus qfleet's own checks of what it does not cover, comparing one [`Snapshot`] with
//! what the stack file says ([`compare`]). What could not be checked is said, never counted as
//! in sync or as a difference.

mod compare;
mod findings;
mod function;
mod group;
mod hold;
mod jobs;
mod report;
mod service;
mod text;

pub(crate) use report::Drifts;

// For the tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use report::schema;

use crate::aws;
use crate::aws::Clients;
use crate::aws::Polling;
use crate::config::Environment;
use crate::error::{Error, Exit, Result};
use crate::placement::StackNames;
use crate::snapshot::{self, Fact, Scope, Snapshot};
use serde::Serialize;

pub use text::text;

/// Who found a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub(crate) enum Source {
    /// CloudFormation's drift detection.
    #[serde(rename = "cloudformation")]
    CloudFormation,
    /// qfleet's own checks.
    #[serde(rename = "fleet")]
    Qfleet,
}

impl Source {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Source::CloudFormation => "cloudformation",
            Source::Qfleet => "fleet",
        }
    }
}

/// One difference between what was deployed and what runs.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub(crate) struct Difference {
    pub source: Source,
    pub stack: String,
    pub resource: String,
    /// The property, e.g. `VisibilityTimeout`, or `-` for the resource as a whole.
    pub property: String,
    pub expected: String,
    pub actual: String,
}

/// Something that could not be checked, and why.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub(crate) struct Unchecked {
    pub what: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub(crate) struct DriftReport {
    pub environment: String,
    pub differences: Vec<Difference>,
    /// What could not be checked (exit 1: the answer is incomplete).
    pub unchecked: Vec<Unchecked>,
    /// Why CloudFormation drift detection could not run, when it could not.
    pub detection_unavailable: Option<String>,
    /// The stack file differs from what is deployed (compare with `plan`).
    pub undeployed_changes: Vec<String>,
}

impl DriftReport {
    pub(crate) fn drifted(&self) -> bool {
        !self.differences.is_empty()
    }

    /// 1 when anything could not be checked (a partial answer is not an answer), else 3 when
    /// something drifted, else 0.
    pub(crate) fn exit_code(&self) -> crate::error::Exit {
        if !self.unchecked.is_empty() {
            Exit::Aws
        } else if self.drifted() {
            Exit::Differences
        } else {
            Exit::Ok
        }
    }
}

/// Runs CloudFormation drift detection and qfleet's checks on one environment: on every stage
/// of a pipeline (the data stack once, each stage's fleet stack, each stage's queues and feed).
/// The stacks are where `at` says (a StackSets target's: its stack sets' instances).
pub(crate) async fn check(
    clients: &Clients,
    env: &Environment,
    at: Result<StackNames>,
    polling: Polling,
) -> Result<DriftReport> {
    // Another account's stacks are not this file's: "in sync" about them would mislead.
    crate::ownership::check_account(&clients.sts, env).await?;
    let at = &at?;
    let stages = env.stages();
    let snaps = futures::future::join_all(
        stages
            .iter()
            .map(|stage| snapshot::read_at(clients, stage, Scope::DRIFT, at)),
    )
    .await;
    let first = &snaps[0];
    if first.data.state.is_absent() && snaps.iter().all(|s| s.fleet.state.is_absent()) {
        return Err(Error::aws(format!(
            "environment {} is not deployed",
            env.name
        )));
    }
    let (data_detect, fleet_detects) = tokio::join!(
        detect(clients, &first.data, polling),
        futures::future::join_all(snaps.iter().map(|s| detect(clients, &s.fleet, polling)))
    );
    let mut fleet_detects = fleet_detects.into_iter();
    let mut report = compare::report(
        first,
        stages[0],
        [data_detect, fleet_detects.next().flatten()],
    );
    for ((snap, stage), detection) in snaps.iter().zip(&stages).skip(1).zip(fleet_detects) {
        compare::later_stage(&mut report, snap, stage, detection);
    }
    report.undeployed_changes = undeployed(&snaps, env, at)?;
    Ok(report)
}

/// Drift detection on one stack: `None` when the stack is not there to check.
async fn detect(
    clients: &Clients,
    stack: &snapshot::StackSnapshot,
    polling: Polling,
) -> Option<crate::aws::Result<Vec<aws::PropertyDrift>>> {
    match &stack.state {
        Fact::Known(_) => Some(aws::detect_drift(&clients.cfn, &stack.name, polling).await),
        _ => None,
    }
}

/// The stacks whose deployed template is not what the stack file renders now: the data stack
/// and each stage's fleet stack ([`snapshot::as_file`]).
fn undeployed(snaps: &[Snapshot], env: &Environment, at: &StackNames) -> Result<Vec<String>> {
    let wanted = crate::placement::wanted_templates(env, at)?;
    let deployed: Vec<&snapshot::StackSnapshot> = std::iter::once(&snaps[0].data)
        .chain(snaps.iter().map(|s| &s.fleet))
        .collect();
    Ok(wanted
        .iter()
        .filter(|(name, template)| {
            deployed
                .iter()
                .find(|s| &s.name == name)
                .and_then(|s| snapshot::as_file::holds(s, template))
                == Some(false)
        })
        .map(|(name, _)| name.clone())
        .collect())
}

#[cfg(test)]
mod tests;
