//! What consumes the queue: the Auto Scaling group or the Lambda function with its queue
//! mapping. The kind the stack file names is always read; the other one only when the fleet
//! stack still lists it (an environment switching kinds holds both for a moment). A consumer
//! the stack does not list is looked up by its fixed name, and only AWS saying "no such thing"
//! makes it absent.

use super::{Located, StackSnapshot};
use crate::aws::Clients;
use crate::aws::functions::{self, Function, Mapping};
use crate::config::Environment;
use crate::config::schema::WorkerKind;
use crate::render::{ResourceNames, ids};
use crate::snapshot::fact::Fact;
use crate::snapshot::locate::to_fact;

/// Which consumers to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Wanted {
    pub group: bool,
    pub function: bool,
}

pub(super) fn wanted(env: &Environment, fleet: &StackSnapshot) -> Wanted {
    let lists = |logical: &str| matches!(fleet.locate(logical), Located::Physical(_));
    let lambda = env.spec.workers.kind == WorkerKind::Lambda;
    Wanted {
        group: !lambda || lists(ids::WORKER_GROUP),
        function: lambda || lists(ids::FUNCTION),
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
/// else its fixed name.
pub(super) fn function_name(fleet: &StackSnapshot, names: &ResourceNames) -> Fact<String> {
    match fleet.locate(ids::FUNCTION) {
        Located::NotListed => Fact::Known(names.function.clone()),
        other => to_fact(other, ids::FUNCTION, &fleet.name),
    }
}

pub(super) async fn read_function(clients: &Clients, name: &Fact<String>) -> Fact<Function> {
    match name {
        Fact::Known(n) => Fact::from(functions::function(&clients.lambda, n).await),
        Fact::Absent => Fact::Absent,
        Fact::Unknown(why) => Fact::Unknown(why.clone()),
    }
}

/// The queue's mapping: by the UUID the fleet stack lists, else among the function's mappings
/// the one from the queue.
pub(super) async fn read_mapping(
    clients: &Clients,
    fleet: &StackSnapshot,
    function: &Fact<String>,
    names: &ResourceNames,
) -> Fact<Mapping> {
    match fleet.locate(ids::QUEUE_MAPPING) {
        Located::Physical(uuid) => Fact::from(functions::mapping(&clients.lambda, &uuid).await),
        Located::NotListed => match function {
            Fact::Known(f) => {
                Fact::from(functions::queue_mapping(&clients.lambda, f, &names.queue).await)
            }
            Fact::Absent => Fact::Absent,
            Fact::Unknown(why) => Fact::Unknown(why.clone()),
        },
        Located::Absent => Fact::Absent,
        Located::Unknown(why) => Fact::Unknown(why),
    }
}
