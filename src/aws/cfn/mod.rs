//! CloudFormation: stacks as qfleet sees them, their events and the wait for an operation to
//! end, change sets (with their property values and validation), the events of one operation,
//! and drift detection.

pub mod changesets;
pub mod drift_detection;
pub mod operation_events;
pub mod stack_events;
pub mod stack_wait;
pub mod stacks;
