//! `qfleet validate ENV...`: checks the stack files and their rendered templates, offline.

use super::Global;
use crate::config::Environment;
use crate::config::schema::WorkerKind;
use crate::error::{Error, Result};
use crate::output::Output;
use crate::output::envelope;
use crate::output::words::{self, count};
use crate::render::{self, RenderedStack, check};
use clap::Args;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Environment names (files in the stacks directory, copies, globs) or paths to stack files.
    #[arg(required = true)]
    pub envs: Vec<String>,
    /// The full summary of every environment (the default for one); several get a row each.
    #[arg(long)]
    pub details: bool,
}

pub fn run(args: ValidateArgs, g: &Global, out: Output) -> Result<i32> {
    let envs = super::load_environments(&args.envs, g)?;
    let mut checked = Vec::new();
    for env in &envs {
        checked.push((
            env,
            checked_stacks(env)?,
            crate::config::advice::warnings(env)
                .into_iter()
                .chain(crate::simulate::peak_warning(env))
                .collect::<Vec<_>>(),
        ));
    }
    if out.is_json() {
        let environments = checked
            .iter()
            .map(|(env, stacks, warnings)| {
                envelope::environment(&env.name, 0, None, json(env, stacks, warnings))
            })
            .collect();
        out.document(envelope::document(
            "validate",
            0,
            environments,
            Default::default(),
        ));
        return Ok(0);
    }
    if args.details || envs.len() == 1 {
        for (env, stacks, _) in &checked {
            details(env, stacks, out);
        }
    } else {
        out.line(rows(&checked));
    }
    let grouped = words::group_notes(
        checked
            .iter()
            .map(|(env, _, w)| (env.name.as_str(), w.clone())),
    );
    for (w, names) in &grouped {
        out.note(format!(
            "warning: {}",
            words::noted_for(w, names, envs.len())
        ));
    }
    Ok(0)
}

/// The rendered stacks, checked: a problem in a template is invalid input.
fn checked_stacks(env: &Environment) -> Result<Vec<RenderedStack>> {
    let stacks = render::render(env)?;
    let problems: Vec<String> = stacks.iter().flat_map(check::check).collect();
    if !problems.is_empty() {
        return Err(Error::usage(format!(
            "the rendered templates of {} have problems:\n  {}",
            env.name,
            problems.join("\n  ")
        )));
    }
    Ok(stacks)
}

fn json(env: &Environment, stacks: &[RenderedStack], warnings: &[String]) -> serde_json::Value {
    let spec = &env.spec;
    serde_json::json!({
        "stack_file": env.source.display().to_string(),
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
    })
}

/// What the workers are, in a few words.
fn workers(env: &Environment) -> String {
    let w = &env.spec.workers;
    match w.kind {
        WorkerKind::Ec2 => format!("EC2 {}–{}", w.min, w.max),
        WorkerKind::Lambda => format!("Lambda, ≤ {} at once", w.lambda.max_concurrency),
    }
}

/// The Spot share in words, with what it saves: "Spot Instances are available at a discount of
/// up to 90% off compared to On-Demand pricing" (https://aws.amazon.com/ec2/spot/pricing/).
pub fn spot_share(spot: &crate::config::schema::SpotSpec) -> String {
    if spot.percent == 0 {
        return String::new();
    }
    let base = match spot.on_demand_base {
        0 => String::new(),
        n => format!(" above {n} On-Demand"),
    };
    format!(
        "; Spot: {}% of the instances{base} (up to 90% off On-Demand on the Spot share)",
        spot.percent
    )
}

/// One row per environment.
fn rows(checked: &[(&Environment, Vec<RenderedStack>, Vec<String>)]) -> String {
    crate::output::table(
        &[
            "environment",
            "region",
            "workers",
            "target",
            "bucket",
            "protection",
            "warnings",
        ],
        checked.iter().map(|(env, _, w)| {
            vec![
                env.name.clone(),
                env.spec.region.clone(),
                workers(env),
                match env.spec.workers.kind {
                    WorkerKind::Ec2 => format!("{} per instance", env.backlog_target()),
                    WorkerKind::Lambda => "-".into(),
                },
                if env.retain_bucket() {
                    "retained"
                } else {
                    "deleted"
                }
                .into(),
                if env.termination_protection() {
                    "on"
                } else {
                    "off"
                }
                .into(),
                w.len().to_string(),
            ]
        }),
    )
}

/// The whole summary of one environment.
fn details(env: &Environment, stacks: &[RenderedStack], out: Output) {
    let spec = &env.spec;
    out.line(format!("{}: valid ({})", env.source.display(), env.name));
    for s in stacks {
        out.line(format!(
            "  {:<6} {:<28} {}",
            s.role.as_str(),
            s.stack_name,
            count(s.template.len() as u64, "byte", "bytes")
        ));
    }
    let l = &spec.workers.lambda;
    out.line(match spec.workers.kind {
        WorkerKind::Ec2 => format!(
            "  workers: EC2 {}, target {} messages per instance, {}–{} instances{}",
            spec.workers.types().join(", "),
            env.backlog_target(),
            spec.workers.min,
            spec.workers.max,
            spot_share(&spec.workers.spot)
        ),
        WorkerKind::Lambda => format!(
            "  workers: Lambda {} ({} MB, {} s), batches of {}, at most {} at once",
            match &l.image {
                Some(image) => format!("image {image} ({})", l.architecture.as_str()),
                None => l.runtime.clone(),
            },
            l.memory_mb,
            l.timeout.0,
            l.batch_size,
            l.max_concurrency
        ),
    });
    for line in crate::config::permissions::describe(&spec.workers) {
        out.line(format!("  workers get {line}"));
    }
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
}

#[cfg(test)]
mod tests {
    use super::spot_share;
    use crate::config::schema::SpotSpec;

    /// The summary states the Spot share and the saving AWS's Spot pricing page promises
    /// ("up to 90% off compared to On-Demand pricing", https://aws.amazon.com/ec2/spot/pricing/),
    /// and nothing when there is no Spot.
    #[test]
    fn the_summary_states_the_spot_share_and_the_saving() {
        let s = spot_share(&SpotSpec {
            percent: 70,
            on_demand_base: 1,
        });
        assert_eq!(
            s,
            "; Spot: 70% of the instances above 1 On-Demand (up to 90% off On-Demand on the Spot share)"
        );
        let all = spot_share(&SpotSpec {
            percent: 100,
            on_demand_base: 0,
        });
        assert!(
            all.starts_with("; Spot: 100% of the instances (up to 90%"),
            "{all}"
        );
        assert_eq!(spot_share(&SpotSpec::default()), "");
    }
}
