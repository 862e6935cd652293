//! What consumes the queue: the Auto Scaling group, the Lambda function with its queue
//! mapping, or the ECS service of Fargate tasks. The kind the stack file names is always read; the other one only when the fleet
//! stack still lists it (an environment switching kinds holds both for a moment). A consumer
//! the stack does not list is looked up by its fixed name, and only AWS saying "no such thing"
//! makes it absent.

use super::{Located, Snapshot, StackSnapshot};
use crate::aws::Clients;
use crate::aws::EcsService as Service;
use crate::aws::{self, EventSourceMapping as Mapping, Function};
use crate::aws::{AutoScalingGroup as Group, ScalingActivity as Activity, ScalingPolicy};
use crate::config::{Environment, WorkerKind};
use crate::render::{ResourceNames, ids};
use crate::snapshot::fact::Fact;
use crate::snapshot::locate::to_fact;

/// One kind of consumer as read, with that kind's parts.
#[derive(Debug, Clone, PartialEq)]
pub enum Consumer {
    /// The Auto Scaling group of EC2 instances.
    Ec2(GroupRead),
    /// The Lambda function and its queue mapping (boxed: the largest by far).
    Lambda(Box<FunctionRead>),
    /// The ECS service of Fargate tasks.
    Fargate(ServiceRead),
}

/// The Auto Scaling group and what the scope read with it (`None`: not in the scope).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRead {
    pub group: Fact<Group>,
    pub policies: Option<Fact<Vec<ScalingPolicy>>>,
    /// The lifecycle hooks' names (drift).
    pub hooks: Option<Fact<Vec<String>>>,
    /// Recent scaling activities (status).
    pub activities: Option<Fact<Vec<Activity>>>,
}

/// The worker function and the event source mapping from the queue to it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionRead {
    pub function: Fact<Function>,
    pub mapping: Fact<Mapping>,
    /// The mapping from the priority lane (`queue.priority`): `None` where the fleet stack lists
    /// none and the stack file has no lane.
    pub priority_mapping: Option<Fact<Mapping>>,
}

/// The Fargate workers' ECS service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRead {
    pub service: Fact<Service>,
}

impl Consumer {
    pub(super) fn kind(&self) -> WorkerKind {
        match self {
            Consumer::Ec2(_) => WorkerKind::Ec2,
            Consumer::Lambda(_) => WorkerKind::Lambda,
            Consumer::Fargate(_) => WorkerKind::Fargate,
        }
    }
}

/// The consumers read, in the order of [`WorkerKind::ALL`].
pub(super) fn consumers(
    group: Option<GroupRead>,
    function: Option<FunctionRead>,
    service: Option<ServiceRead>,
) -> Vec<Consumer> {
    [
        group.map(Consumer::Ec2),
        function.map(|f| Consumer::Lambda(Box::new(f))),
        service.map(Consumer::Fargate),
    ]
    .into_iter()
    .flatten()
    .collect()
}

impl Snapshot {
    /// The kinds of consumer read, in the order of [`WorkerKind::ALL`].
    pub(crate) fn kinds_read(&self) -> Vec<WorkerKind> {
        self.workers.iter().map(Consumer::kind).collect()
    }

    /// The Auto Scaling group's parts, when read.
    pub(super) fn ec2(&self) -> Option<&GroupRead> {
        self.workers.iter().find_map(|c| match c {
            Consumer::Ec2(g) => Some(g),
            _ => None,
        })
    }

    /// The function's parts, when read.
    pub(super) fn lambda(&self) -> Option<&FunctionRead> {
        self.workers.iter().find_map(|c| match c {
            Consumer::Lambda(f) => Some(f.as_ref()),
            _ => None,
        })
    }

    /// The service's parts, when read.
    pub(super) fn fargate(&self) -> Option<&ServiceRead> {
        self.workers.iter().find_map(|c| match c {
            Consumer::Fargate(s) => Some(s),
            _ => None,
        })
    }

    /// The group (`None` when not read: not in the scope, or the stack file's workers are of
    /// another kind and the fleet stack lists no group).
    pub(crate) fn group(&self) -> Option<&Fact<Group>> {
        self.ec2().map(|g| &g.group)
    }

    pub(crate) fn policies(&self) -> Option<&Fact<Vec<ScalingPolicy>>> {
        self.ec2().and_then(|g| g.policies.as_ref())
    }

    pub(crate) fn hooks(&self) -> Option<&Fact<Vec<String>>> {
        self.ec2().and_then(|g| g.hooks.as_ref())
    }

    pub(crate) fn activities(&self) -> Option<&Fact<Vec<Activity>>> {
        self.ec2().and_then(|g| g.activities.as_ref())
    }

    /// The worker function (`None` when not read: not in the scope, or the stack file's
    /// workers are of another kind and the fleet stack lists no function).
    pub(crate) fn function(&self) -> Option<&Fact<Function>> {
        self.lambda().map(|f| &f.function)
    }

    /// The event source mapping from the queue to the function (read with the function).
    pub(crate) fn mapping(&self) -> Option<&Fact<Mapping>> {
        self.lambda().map(|f| &f.mapping)
    }

    /// The mapping from the priority lane (`queue.priority`), where there is one to read.
    pub(crate) fn priority_mapping(&self) -> Option<&Fact<Mapping>> {
        self.lambda().and_then(|f| f.priority_mapping.as_ref())
    }

    /// The ECS service of Fargate workers (`None` when not read: not in the scope, or the
    /// stack file's workers are of another kind and the fleet stack lists no service).
    pub(crate) fn service(&self) -> Option<&Fact<Service>> {
        self.fargate().map(|s| &s.service)
    }
}

/// Which consumers to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Wanted {
    pub group: bool,
    pub function: bool,
    pub service: bool,
}

pub(super) fn wanted(env: &Environment, fleet: &StackSnapshot) -> Wanted {
    let lists = |logical: &str| matches!(fleet.locate(logical), Located::Physical(_));
    let kind = env.spec.workers.kind;
    Wanted {
        group: kind == WorkerKind::Ec2 || lists(ids::WORKER_GROUP),
        function: kind == WorkerKind::Lambda || ids::FUNCTIONS.iter().any(|id| lists(id)),
        service: matches!(kind, WorkerKind::Fargate | WorkerKind::EcsManaged)
            || lists(ids::SERVICE),
    }
}

/// The group's name: what the fleet stack lists, else its fixed name.
pub(super) fn group_name(fleet: &StackSnapshot, names: &ResourceNames) -> Fact<String> {
    match fleet.locate(ids::WORKER_GROUP) {
        Located::NotListed => Fact::Known(names.asg.clone()),
        other => to_fact(other, ids::WORKER_GROUP, &fleet.name),
    }
}

/// The function's name: what the fleet stack lists (a function's physical id is its name),
/// else its fixed name. The stack file's kind of function (zip package or image) is looked up
/// first; while a deploy switches between them the stack lists both, and the other one is
/// what the stack holds when the stack file has switched but not been deployed yet.
pub(super) fn function_name(
    env: &Environment,
    fleet: &StackSnapshot,
    names: &ResourceNames,
) -> Fact<String> {
    let wanted = ids::function_of(env);
    let other = ids::FUNCTIONS.into_iter().find(|id| *id != wanted);
    match fleet.locate(wanted) {
        Located::NotListed => match other.map(|id| (id, fleet.locate(id))) {
            Some((id, found @ Located::Physical(_))) => to_fact(found, id, &fleet.name),
            _ => Fact::Known(names.function.clone()),
        },
        found => to_fact(found, wanted, &fleet.name),
    }
}

/// The Fargate workers' service, by the names qfleet gives the cluster and the service: absent
/// with the fleet stack, else as ECS describes it (absent only when ECS says so).
pub(super) async fn read_service(
    clients: &Clients,
    fleet: &StackSnapshot,
    names: &ResourceNames,
) -> Fact<crate::aws::EcsService> {
    match fleet.locate(ids::SERVICE) {
        Located::Absent => Fact::Absent,
        Located::Unknown(why) => Fact::Unknown(why),
        Located::Physical(_) | Located::NotListed => {
            Fact::from(crate::aws::ecs_service(&clients.ecs, &names.cluster, &names.service).await)
        }
    }
}

/// The worker function named `name` and its mappings: the queue's ([`read_queue_mapping`]) and
/// the priority lane's, by the UUID the fleet stack lists (not listed: absent where the stack
/// file has a lane, else none).
pub(super) async fn read_function(
    clients: &Clients,
    env: &Environment,
    fleet: &StackSnapshot,
    (name, names): (&Fact<String>, &ResourceNames),
) -> FunctionRead {
    let function = async {
        match name {
            Fact::Known(n) => Fact::from(aws::lambda_function(&clients.lambda, n).await),
            Fact::Absent => Fact::Absent,
            Fact::Unknown(why) => Fact::Unknown(why.clone()),
        }
    };
    let lane = async {
        match fleet.locate(ids::PRIORITY_QUEUE_MAPPING) {
            Located::Physical(uuid) => Some(Fact::from(
                aws::event_source_mapping(&clients.lambda, &uuid).await,
            )),
            Located::Unknown(why) => Some(Fact::Unknown(why)),
            Located::Absent | Located::NotListed => env.spec.queue.priority.map(|_| Fact::Absent),
        }
    };
    let (function, mapping, priority_mapping) = tokio::join!(
        function,
        read_queue_mapping(clients, fleet, name, names),
        lane
    );
    FunctionRead {
        function,
        mapping,
        priority_mapping,
    }
}

/// The queue's mapping: by the UUID the fleet stack lists, else among the function's mappings
/// the one from the queue.
async fn read_queue_mapping(
    clients: &Clients,
    fleet: &StackSnapshot,
    function: &Fact<String>,
    names: &ResourceNames,
) -> Fact<Mapping> {
    match fleet.locate(ids::QUEUE_MAPPING) {
        Located::Physical(uuid) => {
            Fact::from(aws::event_source_mapping(&clients.lambda, &uuid).await)
        }
        Located::NotListed => match function {
            Fact::Known(f) => {
                Fact::from(aws::queue_mapping(&clients.lambda, f, &names.queue).await)
            }
            Fact::Absent => Fact::Absent,
            Fact::Unknown(why) => Fact::Unknown(why.clone()),
        },
        Located::Absent => Fact::Absent,
        Located::Unknown(why) => Fact::Unknown(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::StackResource;
    use aws_sdk_cloudformation::types::ResourceStatus;
    use std::collections::BTreeMap;

    fn env(lambda: &str) -> Environment {
        crate::config::parse(
            "stacks/fn.yaml".into(),
            format!("region: eu-west-1\nlab: true\nworkers:\n  kind: lambda\n{lambda}"),
        )
        .unwrap()
        .into_only()
    }

    fn image_env() -> Environment {
        env(
            "  lambda:\n    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/w@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
        )
    }

    /// A fleet stack that lists these functions (logical id → name).
    fn fleet(functions: &[(&str, &str)]) -> StackSnapshot {
        let mut s = crate::snapshot::Snapshot::deployed("fn").fleet;
        s.resources = Fact::Known(
            functions
                .iter()
                .map(|(id, name)| {
                    let r = StackResource {
                        logical_id: id.to_string(),
                        physical_id: Some(name.to_string()),
                        resource_type: "AWS::Lambda::Function".into(),
                        status: ResourceStatus::CreateComplete,
                        reason: None,
                    };
                    (id.to_string(), r)
                })
                .collect::<BTreeMap<_, _>>(),
        );
        s
    }

    /// A stack file switched from a package to an image but not deployed yet: the function the
    /// stack holds is the package's, and status reads it, not a name nothing has.
    #[test]
    fn the_function_is_the_one_the_stack_lists_under_either_logical_id() {
        let image = image_env();
        let names = ResourceNames::of(&image);
        let zip_only = fleet(&[(ids::FUNCTION, "qfleet-fn-worker")]);
        assert_eq!(
            function_name(&image, &zip_only, &names),
            Fact::Known("qfleet-fn-worker".into())
        );
        assert!(wanted(&image, &zip_only).function);
        // Both listed (a switch under way): the stack file's kind.
        let both = fleet(&[
            (ids::FUNCTION, "qfleet-fn-worker"),
            (ids::IMAGE_FUNCTION, "qfleet-fn-worker-image"),
        ]);
        assert_eq!(
            function_name(&image, &both, &names),
            Fact::Known("qfleet-fn-worker-image".into())
        );
        let zip = env("");
        assert_eq!(
            function_name(&zip, &both, &ResourceNames::of(&zip)),
            Fact::Known("qfleet-fn-worker".into())
        );
        // Neither listed: the stack file's fixed name, looked up by it.
        assert_eq!(
            function_name(&image, &fleet(&[]), &names),
            Fact::Known("qfleet-fn-worker-image".into())
        );
    }
}
