//! CloudFormation: stacks as qfleet sees them, their events and the wait for an operation to
//! end, change sets (with their property values and validation), the events of one operation,
//! drift detection, and stack sets with their instances and operations.

pub(crate) mod changesets;
pub(crate) mod drift_detection;
pub(crate) mod operation_events;
pub(crate) mod stack_events;
pub(crate) mod stack_sets;
pub(crate) mod stack_wait;
pub(crate) mod stacks;
