//! `limits` and `workers.limits` (docs/workers.md, "Limits shared across stages"): named
//! limits the environment's workers share, each slot an item of the job lease table.

use super::{Checker, Environment, WorkerKind};

/// The most slots a limit has: each is an item the workers read with one query (a page of
/// DynamoDB's Query holds 1 MB, far more than 1,000 slots' key and time).
const MAX_LIMIT: u32 = 1000;

/// Whether `name` names a limit: 1 to 32 lowercase letters, digits and hyphens (it is part of
/// a slot's key and of the workers' `QFLEET_LIMITS`, which `,` and `=` separate).
fn valid_limit_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The file's `limits`: names and counts, and the job lease table that keeps their slots.
pub(super) fn check(c: &mut Checker, env: &Environment) {
    let limits = &env.spec.limits;
    for (name, n) in limits {
        let field = format!("limits.{name}");
        if !valid_limit_name(name) {
            c.fail(
                &field,
                format!(
                    "`{name}` is not a limit name: 1 to 32 lowercase letters, digits and hyphens"
                ),
            );
        }
        c.range(&field, (*n).into(), 1, MAX_LIMIT.into(), "");
    }
    if !limits.is_empty() && env.spec.jobs.is_none() {
        c.fail(
            "limits",
            "limits keep their slots in the job lease table: add `jobs: {}` (docs/jobs.md), or remove limits",
        );
    }
    // A limit no stage names bounds nothing: refused, as a name mistyped on one side would be.
    let stages = env.stages();
    for name in limits.keys() {
        if !stages.iter().any(|s| s.spec.workers.limits.contains(name)) {
            c.fail(
                &format!("limits.{name}"),
                format!("no workers name the limit `{name}`: add it to workers.limits (a list) of the stages it bounds, or remove it"),
            );
        }
    }
}

/// A stage's `workers.limits`: names of the file's `limits`, each once, on EC2 or Fargate.
pub(super) fn check_workers(c: &mut Checker, env: &Environment) {
    let w = &env.spec.workers;
    if w.limits.is_empty() {
        return;
    }
    if w.kind == WorkerKind::Lambda {
        c.fail(
            "workers.limits",
            "`workers.limits` applies to EC2 and Fargate workers (workers.kind is lambda): a function's concurrency is bounded by workers.lambda.max_concurrency, the most invocations its queue's mapping starts",
        );
        return;
    }
    for (i, name) in w.limits.iter().enumerate() {
        let field = format!("workers.limits.{i}");
        if w.limits[..i].contains(name) {
            c.fail(
                &field,
                format!("`{name}` is named twice: a job holds one slot of a limit"),
            );
        } else if !env.spec.limits.contains_key(name) {
            let known: Vec<&str> = env.spec.limits.keys().map(String::as_str).collect();
            c.fail(
                &field,
                if known.is_empty() {
                    format!("`{name}` is no limit of this file: declare it under limits (`limits: {{{name}: 10}}`)")
                } else {
                    format!("`{name}` is no limit of this file (limits: {})", known.join(", "))
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::valid_limit_name;

    #[test]
    fn a_limit_name_is_short_lowercase_and_free_of_separators() {
        for ok in ["db", "orders-db", "a", &"x".repeat(32)] {
            assert!(valid_limit_name(ok), "{ok}");
        }
        for bad in ["", "DB", "a,b", "a=b", "a b", "a/b", &"x".repeat(33)] {
            assert!(!valid_limit_name(bad), "{bad}");
        }
    }
}
