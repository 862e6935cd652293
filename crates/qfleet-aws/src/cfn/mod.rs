//! CloudFormation: stacks as qfleet sees them, their events and the wait for an operation to
//! end, change sets (with their property values and validation), the events of one operation,
//! drift detection, and stack sets with their instances and operations.

pub mod changesets;
pub mod drift_detection;
pub mod operation_events;
pub mod stack_events;
pub mod stack_sets;
pub mod stack_wait;
pub mod stacks;
