//! Builders for hand-built snapshots in the tests of status, drift and teardown.

use super::{Snapshot, StackSnapshot};
use crate::aws::cfn::stacks::StackState;
use crate::aws::functions::{Function, Mapping};
use crate::aws::queues::Queue;
use crate::snapshot::fact::Fact;
use std::collections::BTreeMap;

impl Snapshot {
    /// Both stacks complete, no resource read yet, deletion policies all the default.
    pub fn deployed(env: &str) -> Snapshot {
        let mut s = Snapshot::empty(env, "eu-west-1");
        for (stack, role) in [(&mut s.data, "data"), (&mut s.fleet, "fleet")] {
            let name = format!("qfleet-{env}-{role}");
            let mut state = StackState::new(
                &name,
                aws_sdk_cloudformation::types::StackStatus::CreateComplete,
            );
            state
                .tags
                .insert(crate::config::ENVIRONMENT_TAG.into(), env.into());
            *stack = StackSnapshot {
                state: Fact::Known(state),
                resources: Fact::Known(BTreeMap::new()),
                deletion_policies: Some(Fact::Known(BTreeMap::new())),
                name,
            };
        }
        s
    }
}

impl Queue {
    /// A queue holding `visible` messages, with the given attributes.
    pub fn for_tests(name: &str, visible: u64, attrs: &[(&str, &str)]) -> Queue {
        Queue {
            name: name.into(),
            url: format!("https://q/{name}"),
            depth: crate::aws::queues::Depth {
                visible,
                in_flight: 0,
                delayed: 0,
            },
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

impl Snapshot {
    /// The snapshot of an environment whose workers are a Lambda function: nothing read of a
    /// group, the function and its mapping absent until a test sets them.
    pub fn serverless(mut self) -> Snapshot {
        self.group = None;
        self.policies = None;
        self.hooks = None;
        self.activities = None;
        self.function = Some(Fact::Absent);
        self.mapping = Some(Fact::Absent);
        self
    }
}

impl Function {
    /// An active function, its last update successful, nothing reserved.
    pub fn for_tests(name: &str, memory_mb: i32, timeout_seconds: i32) -> Function {
        Function {
            name: name.into(),
            arn: Some(format!(
                "arn:aws:lambda:eu-west-1:111122223333:function:{name}"
            )),
            state: Some("Active".into()),
            state_reason: None,
            last_update_status: Some("Successful".into()),
            last_update_status_reason: None,
            runtime: Some("python3.12".into()),
            image: None,
            image_uri: None,
            memory_mb,
            timeout_seconds,
            reserved_concurrency: None,
        }
    }
}

impl Mapping {
    /// An enabled mapping from `queue` reporting batch item failures.
    pub fn for_tests(
        queue: &str,
        batch_size: i32,
        window_seconds: i32,
        maximum_concurrency: i32,
    ) -> Mapping {
        Mapping {
            uuid: "a1b2c3d4-5678-90ab-cdef-11111EXAMPLE".into(),
            event_source_arn: Some(format!("arn:aws:sqs:eu-west-1:111122223333:{queue}")),
            function_arn: None,
            state: "Enabled".into(),
            state_transition_reason: Some("USER_INITIATED".into()),
            batch_size: Some(batch_size),
            batching_window_seconds: Some(window_seconds),
            function_response_types: vec!["ReportBatchItemFailures".into()],
            maximum_concurrency: Some(maximum_concurrency),
            pollers: None,
            last_processing_result: Some("No records processed".into()),
        }
    }
}
