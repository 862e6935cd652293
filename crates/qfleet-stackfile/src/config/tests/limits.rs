//! `limits` and `workers.limits`: named limits the stages' workers share.

use super::*;

const JOBS: &str = "region: eu-west-1\njobs: {}\n";

#[test]
fn a_limit_is_declared_once_and_named_by_the_workers_it_bounds() {
    let env = parse_str(&format!(
        "{JOBS}limits:\n  db: 20\nworkers:\n  limits: [db]\n"
    ))
    .unwrap()
    .into_only();
    assert_eq!(env.spec.limits.get("db"), Some(&20));
    assert_eq!(env.spec.workers.limits, ["db"]);

    // A pipeline's stages share one: each names it.
    let file = parse_str(&format!(
        "{JOBS}limits: {{db: 2}}\nstages:\n  - name: load\n    workers: {{limits: [db]}}\n  - name: index\n    workers: {{kind: fargate, image: public.ecr.aws/x/y:1, limits: [db]}}\n"
    ))
    .unwrap()
    .into_only();
    assert!(
        file.pipeline
            .iter()
            .all(|s| s.spec.workers.limits == ["db"])
    );
}

#[test]
fn a_limit_needs_jobs_a_name_a_count_and_workers_that_name_it() {
    let e = error(
        "region: eu-west-1\nlimits: {db: 2}\nworkers: {limits: [db]}\n",
        "limits",
        2,
    );
    assert!(e.message.contains("add `jobs: {}`"), "{e}");
    let e = error(
        &format!("{JOBS}limits:\n  db: 0\nworkers: {{limits: [db]}}\n"),
        "limits.db",
        4,
    );
    assert!(e.message.contains("out of range (1 to 1000)"), "{e}");
    let e = error(&format!("{JOBS}limits:\n  db: x\n"), "limits.db", 4);
    assert!(e.message.contains("whole number"), "{e}");
    let e = error(
        &format!("{JOBS}limits:\n  DB: 2\nworkers: {{limits: [DB]}}\n"),
        "limits.DB",
        4,
    );
    assert!(
        e.message.contains("lowercase letters, digits and hyphens"),
        "{e}"
    );
    let e = error(&format!("{JOBS}limits:\n  db: 2\n"), "limits.db", 4);
    assert!(e.message.contains("no workers name the limit `db`"), "{e}");
}

#[test]
fn the_workers_name_a_declared_limit_once_and_not_on_lambda() {
    let e = error(
        &format!("{JOBS}limits: {{db: 2}}\nworkers:\n  limits: [db, cache]\n"),
        "workers.limits.1",
        5,
    );
    assert!(
        e.message
            .contains("`cache` is no limit of this file (limits: db)"),
        "{e}"
    );
    let e = error(
        &format!("{JOBS}workers:\n  limits: [db]\n"),
        "workers.limits.0",
        4,
    );
    assert!(e.message.contains("declare it under limits"), "{e}");
    let e = error(
        &format!("{JOBS}limits: {{db: 2}}\nworkers:\n  limits: [db, db]\n"),
        "workers.limits.1",
        5,
    );
    assert!(e.message.contains("named twice"), "{e}");
    let list = errors(&format!(
        "{JOBS}limits: {{db: 2}}\nworkers:\n  kind: lambda\n  limits: [db]\n"
    ));
    assert!(
        list.iter()
            .any(|e| e.field == "workers.limits"
                && e.message.contains("workers.lambda.max_concurrency")),
        "{list:#?}"
    );
}
