//! Builders for hand-built snapshots in the tests of status, drift and teardown.

use super::workers::FunctionRead;
use super::{Consumer, GroupRead, ServiceRead, Snapshot, StackSnapshot};
use crate::aws::AutoScalingGroup as Group;
use crate::aws::StackState;
use crate::aws::{EventSourceMapping as Mapping, Function};
use crate::config::WorkerKind;
use crate::snapshot::fact::Fact;
use std::collections::BTreeMap;

impl Snapshot {
    /// Both stacks complete, no resource read yet, deletion policies all the default.
    pub(crate) fn deployed(env: &str) -> Snapshot {
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

impl Snapshot {
    /// The snapshot of an environment whose workers are a Lambda function: nothing read of a
    /// group, the function and its mapping absent until a test sets them.
    pub(crate) fn serverless(mut self) -> Snapshot {
        self.workers = vec![Consumer::Lambda(Box::new(FunctionRead {
            function: Fact::Absent,
            mapping: Fact::Absent,
            priority_mapping: None,
        }))];
        self
    }

    /// The group's parts, added (absent, nothing else read) when the snapshot has none.
    pub(crate) fn ec2_mut(&mut self) -> &mut GroupRead {
        let at = self.consumer_at(WorkerKind::Ec2, || {
            Consumer::Ec2(GroupRead {
                group: Fact::Absent,
                policies: None,
                hooks: None,
                activities: None,
            })
        });
        match &mut self.workers[at] {
            Consumer::Ec2(g) => g,
            _ => unreachable!("consumer_at found the group"),
        }
    }

    /// The function's parts, added (both absent) when the snapshot has none.
    pub(crate) fn lambda_mut(&mut self) -> &mut FunctionRead {
        let at = self.consumer_at(WorkerKind::Lambda, || {
            Consumer::Lambda(Box::new(FunctionRead {
                function: Fact::Absent,
                mapping: Fact::Absent,
                priority_mapping: None,
            }))
        });
        match &mut self.workers[at] {
            Consumer::Lambda(f) => f.as_mut(),
            _ => unreachable!("consumer_at found the function"),
        }
    }

    /// The service's parts, added (absent) when the snapshot has none.
    pub(crate) fn fargate_mut(&mut self) -> &mut ServiceRead {
        let at = self.consumer_at(WorkerKind::Fargate, || {
            Consumer::Fargate(ServiceRead {
                service: Fact::Absent,
            })
        });
        match &mut self.workers[at] {
            Consumer::Fargate(s) => s,
            _ => unreachable!("consumer_at found the service"),
        }
    }

    /// The group, when read.
    pub(crate) fn group_mut(&mut self) -> Option<&mut Fact<Group>> {
        self.workers.iter_mut().find_map(|c| match c {
            Consumer::Ec2(g) => Some(&mut g.group),
            _ => None,
        })
    }

    /// The function, when read.
    pub(crate) fn function_mut(&mut self) -> Option<&mut Fact<Function>> {
        self.workers.iter_mut().find_map(|c| match c {
            Consumer::Lambda(f) => Some(&mut f.function),
            _ => None,
        })
    }

    /// The queue mapping, when read.
    pub(crate) fn mapping_mut(&mut self) -> Option<&mut Fact<Mapping>> {
        self.workers.iter_mut().find_map(|c| match c {
            Consumer::Lambda(f) => Some(&mut f.mapping),
            _ => None,
        })
    }

    /// Nothing read of this kind's consumer.
    pub(crate) fn without(&mut self, kind: WorkerKind) {
        self.workers.retain(|c| c.kind() != kind);
    }

    /// Where the consumer of `kind` is, inserted with `new` in the order of
    /// [`WorkerKind::ALL`] when missing.
    fn consumer_at(&mut self, kind: WorkerKind, new: impl FnOnce() -> Consumer) -> usize {
        if let Some(at) = self.workers.iter().position(|c| c.kind() == kind) {
            return at;
        }
        let rank = |k: WorkerKind| WorkerKind::ALL.iter().position(|x| *x == k);
        let at = self
            .workers
            .iter()
            .position(|c| rank(c.kind()) > rank(kind))
            .unwrap_or(self.workers.len());
        self.workers.insert(at, new());
        at
    }
}
