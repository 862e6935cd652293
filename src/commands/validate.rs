//! `qfleet validate ENV`: checks the stack file and its rendered templates, offline.

use super::Global;
use crate::config::schema::WorkerKind;
use crate::config::{Environment, Network};
use crate::error::{Error, Result};
use crate::output::Output;
use crate::render::{self, check};
use clap::Args;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Environment name (a file in the stacks directory) or path to a stack file.
    pub env: String,
}

/// Settings that are allowed but deserve a second look.
pub fn warnings(env: &Environment) -> Vec<String> {
    let spec = &env.spec;
    let mut w = Vec::new();
    // A function has no network of qfleet's: it reaches the regional endpoints.
    let ec2 = spec.workers.kind == WorkerKind::Ec2;
    if ec2 && spec.workers.public_ip {
        w.push("workers.public_ip: true gives every worker a public IP address (no inbound port is open); prefer private subnets with a NAT gateway or VPC endpoints".to_string());
    } else if ec2 && spec.workers.network == Network::Default {
        w.push("workers.network: default without workers.public_ip: the default VPC's subnets have no NAT gateway, so workers reach SQS and S3 only if the VPC has endpoints for them".to_string());
    }
    if spec.queue.max_receive_count == 1 {
        w.push("queue.max_receive_count: 1 sends a message to the dead-letter queue after a single failed attempt, including transient failures; 3 to 5 is usual".to_string());
    }
    if !env.retain_bucket() && !spec.lab {
        w.push("bucket.retain: false outside a lab: deleting the data stack deletes the bucket (qfleet still refuses while it holds objects)".to_string());
    }
    if spec.kms_key.is_none() && !spec.lab {
        w.push("no kms_key: the bucket uses SSE-S3, the queues SSE-SQS and the topics are not encrypted with a customer managed key".to_string());
    }
    w
}

pub fn run(args: ValidateArgs, g: &Global, out: Output) -> Result<i32> {
    let envs = super::load_environments(std::slice::from_ref(&args.env), g)?;
    let mut code = 0;
    for env in &envs {
        code = code.max(one(env, out)?);
    }
    Ok(code)
}

fn one(env: &Environment, out: Output) -> Result<i32> {
    let stacks = render::render(env)?;
    let problems: Vec<String> = stacks.iter().flat_map(check::check).collect();
    if !problems.is_empty() {
        return Err(Error::usage(format!(
            "the rendered templates of {} have problems:\n  {}",
            env.name,
            problems.join("\n  ")
        )));
    }
    let warnings = warnings(env);
    let spec = &env.spec;
    if out.is_json() {
        out.json(&serde_json::json!({
            "ok": true,
            "environment": env.name,
            "stack_file": env.source.display(),
            "region": spec.region,
            "stacks": stacks.iter().map(|s| serde_json::json!({
                "role": s.role,
                "stack_name": s.stack_name,
                "bytes": s.template.len(),
            })).collect::<Vec<_>>(),
            "workers": spec.workers.kind.as_str(),
            "backlog_target": env.backlog_target(),
            "retain_bucket": env.retain_bucket(),
            "termination_protection": env.termination_protection(),
            "warnings": warnings,
        }));
    } else {
        out.line(format!("{}: valid ({})", env.source.display(), env.name));
        for s in &stacks {
            out.line(format!(
                "  {:<6} {:<28} {} bytes",
                s.role.as_str(),
                s.stack_name,
                s.template.len()
            ));
        }
        let l = &spec.workers.lambda;
        out.line(match spec.workers.kind {
            WorkerKind::Ec2 => format!(
                "  workers: EC2, target {} messages per instance, {}–{} instances",
                env.backlog_target(),
                spec.workers.min,
                spec.workers.max
            ),
            WorkerKind::Lambda => format!(
                "  workers: Lambda {} ({} MB, {} s), batches of {}, at most {} at once",
                l.runtime, l.memory_mb, l.timeout.0, l.batch_size, l.max_concurrency
            ),
        });
        out.line(format!(
            "  bucket {} on teardown; termination protection {}",
            if env.retain_bucket() {
                "retained"
            } else {
                "deleted (when empty)"
            },
            if env.termination_protection() {
                "on"
            } else {
                "off"
            }
        ));
        for w in &warnings {
            out.note(format!("warning: {w}"));
        }
    }
    Ok(0)
}
