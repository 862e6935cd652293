//! A Lambda function fed by the queue through an event source mapping.

use super::{Kind, LogGroup};
use crate::config::{Environment, LambdaSpec, WorkerKind};

pub(super) struct Lambda;

impl Kind for Lambda {
    fn id(&self) -> WorkerKind {
        WorkerKind::Lambda
    }
    fn template(&self) -> &'static str {
        "lambda.yaml.j2"
    }
    fn noun(&self) -> &'static str {
        "function"
    }
    fn unit(&self) -> Option<&'static str> {
        None
    }
    fn has_network(&self) -> bool {
        false
    }
    fn bound_to_queue(&self) -> bool {
        true
    }
    fn consumer_type(&self) -> &'static str {
        "AWS::Lambda::Function"
    }
    fn arrives(&self) -> &'static str {
        "the function and its queue mapping"
    }
    fn leaves(&self) -> &'static str {
        "the queue mapping and the function (a batch in flight finishes or becomes visible again)"
    }
    fn log_group(&self) -> LogGroup {
        LogGroup::Function
    }
    /// The runtime's START and END lines come through too: they tell the invocation of the
    /// lines between them (and are shown only if they contain the text themselves).
    fn log_pattern(&self, terms: Vec<String>) -> String {
        format!(
            "?\"START RequestId\" ?\"END RequestId\" {}",
            super::any_of(&terms)
        )
    }
    fn summary(&self, env: &Environment) -> String {
        let l = &env.spec.workers.lambda;
        match l.provisioned_pollers {
            None => format!("Lambda, ≤ {} at once", l.max_concurrency),
            Some(p) => format!("Lambda, ≤ {} at once (provisioned)", p.max_invocations()),
        }
    }
    fn describe(&self, env: &Environment) -> String {
        let l = &env.spec.workers.lambda;
        format!(
            "workers: Lambda {} ({} MB, {} s){}, batches of {}, {}",
            match &l.image {
                Some(image) => format!("image {image} ({})", l.architecture.as_str()),
                None => l.runtime.clone(),
            },
            l.memory_mb,
            l.timeout.0,
            managed_instances(l),
            l.batch_size,
            mapping_scaling(l)
        )
    }
}

/// How the queue's mapping scales, in words: its cap, or provisioned mode's pollers.
pub fn mapping_scaling(l: &LambdaSpec) -> String {
    match l.provisioned_pollers {
        None => format!("at most {} at once", l.max_concurrency),
        Some(p) => format!(
            "provisioned mode: {}–{} event pollers, at most {} at once (pollers are billed by the hour, the minimum always)",
            p.minimum,
            p.maximum,
            p.max_invocations()
        ),
    }
}

/// A function on Lambda Managed Instances, in words: its capacity provider's bounds and its
/// concurrency per execution environment, where the file sets them (nothing on Lambda's
/// default compute).
fn managed_instances(l: &LambdaSpec) -> String {
    let Some(m) = &l.managed_instances else {
        return String::new();
    };
    let mut parts = Vec::new();
    if let Some(v) = m.max_vcpus {
        parts.push(format!("at most {v} vCPUs"));
    }
    if let Some(r) = m.memory_per_vcpu {
        parts.push(format!("{r} GiB per vCPU"));
    }
    if let Some(n) = m.per_environment {
        parts.push(format!("{n} at once per execution environment"));
    }
    match parts.is_empty() {
        true => " on managed instances".into(),
        false => format!(" on managed instances ({})", parts.join(", ")),
    }
}
