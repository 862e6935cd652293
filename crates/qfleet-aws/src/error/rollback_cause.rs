//! What a stack's rollback alarms say of a failed update, as an error carries it (read in
//! [`crate::rollback`]).

use serde::Serialize;

/// What a stack's rollback alarms say of an update that failed.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RollbackCause {
    /// The stack whose update failed.
    pub stack: String,
    /// Its rollback alarms that went into ALARM since the deploy began, or were in ALARM when
    /// it began (a deployment may stop on one at its start), each with CloudWatch's reason. Empty:
    /// none did (only when `unknown` is null).
    pub alarms: Vec<FiredAlarm>,
    /// Why the alarms could not be read: which fired, if any, is then unknown, never "none".
    pub unknown: Option<String>,
}

/// One rollback alarm that fired.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FiredAlarm {
    pub name: String,
    /// CloudWatch's reason for the state (the datapoints that crossed the threshold).
    pub reason: Option<String>,
    /// When it went into ALARM (RFC 3339).
    pub at: Option<String>,
    /// It was in ALARM before the deploy began, and stayed there.
    pub before_the_deploy: bool,
}
