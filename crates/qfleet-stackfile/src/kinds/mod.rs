//! What each kind of worker (`workers.kind`) is to every feature: one module per kind
//! ([`ec2`], [`lambda`], [`fargate`], [`ecs_managed`]), each answering the same questions ([`Kind`]). A feature
//! asks `env.kind()` rather than matching on the kind; the few places whose logic differs
//! in substance per kind (validation's rules, drift's checks, status's reads, the simulator's
//! model) match exhaustively, so a new kind is a compile error in exactly those places.

pub mod ec2;
pub mod ecs_managed;
pub mod fargate;
pub mod lambda;

use crate::config::{Environment, WorkerKind};

/// A kind in a word, as the stack file and every JSON document spell it (`ec2`, `lambda`,
/// `fargate`, `ecs_managed`).
impl std::fmt::Display for WorkerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of the environment's log groups the workers write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogGroup {
    /// `/qfleet/ENV/workers`: qfleet's group, written by instances or tasks.
    Workers,
    /// `/aws/lambda/NAME`: the function's own group.
    Function,
}

/// The questions every feature asks of a kind of worker.
pub trait Kind: Sync {
    fn id(&self) -> WorkerKind;
    /// The fleet stack's template under `templates/`.
    fn template(&self) -> &'static str;
    /// The workers in a word, as messages name them ("workers", "function", "tasks").
    fn noun(&self) -> &'static str;
    /// The unit that target tracking counts (backlog per instance, per task); `None` when the
    /// kind scales itself (a function's event source mapping).
    fn unit(&self) -> Option<&'static str>;
    /// Whether the workers run in subnets qfleet places them in (network, security group,
    /// public IP).
    fn has_network(&self) -> bool;
    /// Whether `scaling.metric: high_resolution` is offered (its publisher counts instances).
    fn high_resolution(&self) -> bool {
        false
    }
    /// Whether the fleet holds a resource bound to the queue's identity (a function's event
    /// source mapping), so the two stacks are not updated at once when the queue changes.
    fn bound_to_queue(&self) -> bool {
        false
    }
    /// The resource type that is this kind's consumer in the fleet stack: a change set that
    /// removes one kind's and adds another's switches kinds.
    fn consumer_type(&self) -> &'static str;
    /// What CloudFormation creates when a switch brings this kind in (the preview's words).
    fn arrives(&self) -> &'static str;
    /// What it removes in its cleanup phase when a switch takes this kind out.
    fn leaves(&self) -> &'static str;
    /// The workers' log group.
    fn log_group(&self) -> LogGroup;
    /// The CloudWatch Logs filter pattern for lines containing any of `terms` (each already
    /// quoted; at least one): one term alone, or each after a `?`, the syntax that matches
    /// any of several terms
    /// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>).
    fn log_pattern(&self, terms: Vec<String>) -> String {
        match terms.as_slice() {
            [one] => one.clone(),
            _ => any_of(&terms),
        }
    }
    /// The worker a log stream of the workers' group belongs to: on EC2 the instance
    /// (`INSTANCE/...`).
    fn worker_of_stream<'a>(&self, stream: &'a str) -> &'a str {
        stream.split('/').next().unwrap_or(stream)
    }
    /// The workers in a few words (`qfleet validate`'s table).
    fn summary(&self, env: &Environment) -> String;
    /// The workers in a line (`qfleet validate`'s text).
    fn describe(&self, env: &Environment) -> String;
}

/// The kind of worker `kind` names.
pub fn of(kind: WorkerKind) -> &'static dyn Kind {
    match kind {
        WorkerKind::Ec2 => &ec2::Ec2,
        WorkerKind::Lambda => &lambda::Lambda,
        WorkerKind::Fargate => &fargate::Fargate,
        WorkerKind::EcsManaged => &ecs_managed::EcsManaged,
    }
}

impl Environment {
    /// The kind of this environment's (or stage's) workers.
    pub fn kind(&self) -> &'static dyn Kind {
        of(self.spec.workers.kind)
    }
}

/// The backlog target in words: "3 per instance", or "-" for a kind that scales itself.
pub fn target_text(env: &Environment) -> String {
    match env.kind().unit() {
        Some(unit) => format!("{} per {unit}", env.backlog_target()),
        None => "-".into(),
    }
}

/// Why the target is what it is, in words: given, derived from the goal, or the default.
fn target_reason(env: &Environment) -> String {
    let s = &env.spec.scaling;
    match (
        s.target_backlog_per_instance,
        s.max_latency_seconds,
        s.seconds_per_message,
    ) {
        (Some(_), _, _) => "visible + in flight; as the stack file sets it".into(),
        (None, Some(goal), Some(per_message)) => format!(
            "visible + in flight; derived so that 99 % of the messages meet the {goal} s goal at {per_message} s each"
        ),
        _ => "visible + in flight; qfleet's default without a goal".into(),
    }
}

/// The Spot share of a fleet, in words ("" without Spot).
pub fn spot_share(spot: &crate::config::SpotSpec, units: &str) -> String {
    if spot.percent == 0 {
        return String::new();
    }
    let base = match spot.on_demand_base {
        0 => String::new(),
        n => format!(" above {n} On-Demand"),
    };
    format!(
        "; Spot: {}% of the {units}{base} (up to 90% off On-Demand on the Spot share)",
        spot.percent
    )
}

/// A filter pattern that matches a line containing any of `terms` (each already quoted).
pub fn any_of(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("?{t}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_answers_for_itself() {
        for kind in WorkerKind::ALL {
            assert_eq!(of(kind).id(), kind);
        }
    }

    #[test]
    fn only_the_kinds_that_count_units_have_a_target() {
        assert_eq!(of(WorkerKind::Ec2).unit(), Some("instance"));
        assert_eq!(of(WorkerKind::Fargate).unit(), Some("task"));
        assert_eq!(of(WorkerKind::Lambda).unit(), None);
    }
}
