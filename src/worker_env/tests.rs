//! The workers' variables as the docs list them (docs/workers.md, "The variables"; docs/jobs.md,
//! "The protocol") checked against what every kind's rendered template sets, on every shipped
//! stack file and a few that set what none of them does, and against what `qfleet dev` gives;
//! dev's own rules (what it replaces, `--keep`).

use super::Tables;
use super::dev::{apply_keep, for_dev};
use crate::config::{Environment, WorkerKind};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ACCOUNT: &str = "123456789012";

/// The rows of the table between `<!-- MARKER: begin` and `<!-- MARKER: end -->` in a doc: each
/// row's variables (the backticked names of its first cell) and its cells by column heading.
fn table(doc: &str, marker: &str) -> Vec<(Vec<String>, BTreeMap<String, String>)> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).unwrap();
    let body = text
        .split(&format!("<!-- {marker}: begin"))
        .nth(1)
        .unwrap_or_else(|| panic!("{doc} has no {marker} table"))
        .split(&format!("<!-- {marker}: end -->"))
        .next()
        .unwrap();
    let rows: Vec<Vec<String>> = body
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    let heads = &rows[0];
    rows[2..]
        .iter()
        .map(|cells| {
            assert_eq!(cells.len(), heads.len(), "{doc}: {cells:?}");
            let names = cells[0]
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>();
            assert!(!names.is_empty(), "{doc}: {cells:?}");
            let by_head = heads.iter().cloned().zip(cells.iter().cloned()).collect();
            (names, by_head)
        })
        .collect()
}

/// One stage of a rendered environment: its kind, the variables its workers get (without the
/// names the stack file chose: `workers.environment`, `workers.queue_url_as`), its instances'
/// user data (EC2), and what `qfleet dev` gives its worker.
struct Rendered {
    what: String,
    kind: WorkerKind,
    container: bool,
    vars: BTreeSet<String>,
    user_data: Option<String>,
    dev: Option<BTreeSet<String>>,
}

fn names(v: &BTreeMap<String, String>, own: &BTreeSet<String>) -> BTreeSet<String> {
    v.keys().filter(|k| !own.contains(*k)).cloned().collect()
}

fn rendered(env: &Environment, what: &str) -> Vec<Rendered> {
    let stacks = crate::render::render(env).unwrap_or_else(|e| panic!("{what}: {e}"));
    env.stages()
        .into_iter()
        .map(|stage| {
            let fleet = stacks
                .iter()
                .find(|s| s.stack_name == stage.fleet_stack_name())
                .unwrap();
            let vars = crate::render::worker_variables(env, stage, fleet, ACCOUNT).unwrap();
            let w = &stage.spec.workers;
            let own: BTreeSet<String> = w
                .environment
                .keys()
                .chain(&w.queue_url_as)
                .cloned()
                .collect();
            let kind = w.kind;
            let user_data = (kind == WorkerKind::Ec2)
                .then(|| crate::render::worker_user_data(env, stage, fleet, ACCOUNT).unwrap());
            let tables = Tables {
                jobs: "qfleet-we-data-JobTable-1".into(),
                leases: "qfleet-we-data-JobLeaseTable-1".into(),
            };
            let dev = (kind != WorkerKind::Lambda).then(|| {
                let with = vars.contains_key("QFLEET_JOBS_STACK").then_some(&tables);
                names(&for_dev(vars.clone(), with).0, &own)
            });
            Rendered {
                what: format!("{what} ({})", stage.name),
                kind,
                container: w.image.is_some(),
                vars: names(&vars, &own),
                user_data,
                dev,
            }
        })
        .collect()
}

/// Pipelines that set what no shipped file does (the next stage fed by messages, a team's
/// alert topic, jobs in a container or a custom script), one for each kind.
const MORE: &[&str] = &[
    "workers:\n  min: 1\n  max: 2\n  public_ip: true\n",
    "workers:\n  image: public.ecr.aws/org/worker:1\n  min: 1\n  max: 2\n  public_ip: true\n",
    "workers:\n  user_data: ../examples/batch-worker.sh\n  min: 1\n  max: 2\n  public_ip: true\n",
    "workers:\n  kind: fargate\n  image: public.ecr.aws/org/worker:1\n  min: 1\n  max: 2\n  public_ip: true\n  limits: [db]\n",
    "workers:\n  kind: lambda\n  secrets:\n    API_KEY: ssm:/we/api-key\n",
];

/// Every stage of every shipped stack file (examples/, stacks/), and of [`MORE`].
fn corpus() -> Vec<Rendered> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["examples", "stacks"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        for f in files {
            let loaded = crate::config::load(&f).unwrap_or_else(|e| panic!("{f:?}: {e}"));
            for env in loaded.expand() {
                out.extend(rendered(&env, &format!("{}", f.display())));
            }
        }
    }
    for (i, _) in MORE.iter().enumerate() {
        out.extend(more(i, true));
    }
    out
}

/// The stages of [`MORE`]`[i]`, with `jobs:` or without (and then without `workers.limits`,
/// whose slots are in the job lease table).
fn more(i: usize, jobs: bool) -> Vec<Rendered> {
    let workers: String = MORE[i]
        .lines()
        .filter(|l| jobs || !l.contains("limits:"))
        .map(|l| format!("    {l}\n"))
        .collect();
    let limits = jobs && MORE[i].contains("limits:");
    // Both stages with a priority lane: the first sends its priority jobs on to the second's.
    let priority = if MORE[i].contains("kind: lambda") {
        "{}"
    } else {
        "{weight: 3}"
    };
    let yaml = format!(
        "region: eu-west-1\nlab: true\n{}{}alerts:\n  topic: arn:aws:sns:eu-west-1:{ACCOUNT}:oncall\nstages:\n  - name: first\n    queue: {{tenant: {{key_segment: 1}}, priority: {priority}}}\n{workers}  - name: second\n    fed_by: messages\n    queue: {{priority: {priority}}}\n{workers}",
        if jobs { "jobs: {}\n" } else { "" },
        if limits { "limits: {db: 8}\n" } else { "" }
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let env = crate::config::parse(root.join("stacks/we.yaml"), yaml)
        .unwrap_or_else(|e| panic!("MORE[{i}]: {e}"))
        .into_only();
    rendered(&env, &format!("MORE[{i}]"))
}

/// docs/workers.md's table holds every variable each kind sets, and only those: "yes" where
/// every stage of the kind has it, a condition where some do, "-" where none does. A variable
/// set "at boot" is written by the user data of every EC2 stage with jobs; one "not in a
/// container" is left out of a container's environment; "Lambda's own" and "ECS's own" are
/// set by AWS, not by the template.
#[test]
fn the_docs_list_every_variable_each_kind_sets_and_qfleet_dev_gives() {
    let rows = table("docs/workers.md", "worker variables");
    let all = corpus();
    // "ECS tasks": an ECS service's, on Fargate or on ECS Managed Instances.
    let columns: [(&str, &[WorkerKind]); 3] = [
        ("EC2", &[WorkerKind::Ec2]),
        ("ECS tasks", &[WorkerKind::Fargate, WorkerKind::EcsManaged]),
        ("Lambda", &[WorkerKind::Lambda]),
    ];
    for (column, kinds) in columns {
        let of_kind: Vec<&Rendered> = all.iter().filter(|r| kinds.contains(&r.kind)).collect();
        assert!(of_kind.len() >= 3, "{column}: {} stages", of_kind.len());
        for r in &of_kind {
            for v in &r.vars {
                let row = rows.iter().find(|(n, _)| n.contains(v));
                assert!(
                    row.is_some_and(|(_, c)| c[column] != "-"),
                    "{}: {column} sets {v}, which docs/workers.md does not list for {column}",
                    r.what
                );
            }
        }
        for (names, cells) in &rows {
            let cell = cells[column].as_str();
            for v in names {
                let set_in = of_kind.iter().filter(|r| r.vars.contains(v)).count();
                match cell {
                    "-" => assert_eq!(set_in, 0, "{v}: docs/workers.md says {column} sets none"),
                    "yes" | "yes, not in a container" => assert_eq!(
                        set_in,
                        of_kind.len(),
                        "{v}: docs/workers.md says every {column} stage has it"
                    ),
                    "Lambda's own" | "ECS's own" => {
                        assert_eq!(set_in, 0, "{v}: {cell}: AWS sets it, not qfleet")
                    }
                    c if c.contains("at boot") => {
                        assert_eq!(set_in, 0, "{v}: said to be written at boot");
                        for r in &of_kind {
                            let ud = r.user_data.as_deref().unwrap();
                            assert_eq!(
                                ud.contains(&format!("{v}=")),
                                r.vars.contains("QFLEET_JOBS_STACK"),
                                "{}: the bootstrap writes {v} with jobs: and only then",
                                r.what
                            );
                        }
                    }
                    _ => assert!(
                        set_in > 0,
                        "{v}: docs/workers.md says some {column} stage has it ({cell}); none does"
                    ),
                }
            }
        }
    }
    // A container's environment is worker.env less the rows "not in a container".
    let instance_only: BTreeSet<String> = rows
        .iter()
        .filter(|(_, c)| c["EC2"] == "yes, not in a container")
        .flat_map(|(n, _)| n.clone())
        .collect();
    let containers: Vec<&Rendered> = all
        .iter()
        .filter(|r| r.container && r.kind == WorkerKind::Ec2)
        .collect();
    assert!(!containers.is_empty());
    for r in containers {
        let ud = r.user_data.as_deref().unwrap();
        let filter = ud
            .lines()
            .find(|l| l.starts_with("grep -Ev '^("))
            .unwrap_or_else(|| panic!("{}: no container filter", r.what));
        let left_out: BTreeSet<String> = filter["grep -Ev '^(".len()..]
            .split(")='")
            .next()
            .unwrap()
            .split('|')
            .map(str::to_string)
            .collect();
        assert_eq!(left_out, instance_only, "{}", r.what);
    }

    // `qfleet dev`: the stages it runs (not a function's).
    let devs: Vec<(&Rendered, &BTreeSet<String>)> = all
        .iter()
        .filter_map(|r| r.dev.as_ref().map(|d| (r, d)))
        .collect();
    for (r, dev) in &devs {
        for v in *dev {
            assert!(
                rows.iter()
                    .any(|(n, c)| n.contains(v) && c["`qfleet dev`"] != "-"),
                "{}: qfleet dev sets {v}, which docs/workers.md does not list for it",
                r.what
            );
        }
    }
    for (names, cells) in &rows {
        let cell = cells["`qfleet dev`"].as_str();
        for v in names {
            let set_in: Vec<&Rendered> = devs
                .iter()
                .filter(|(_, d)| d.contains(v))
                .map(|(r, _)| *r)
                .collect();
            match cell {
                "-" => assert!(set_in.is_empty(), "{v}: said not set by qfleet dev"),
                "yes" => assert_eq!(
                    set_in.len(),
                    devs.len(),
                    "{v}: said set by every qfleet dev"
                ),
                "EC2" | "ECS tasks" => {
                    let kinds: &[WorkerKind] = if cell == "EC2" {
                        &[WorkerKind::Ec2]
                    } else {
                        &[WorkerKind::Fargate, WorkerKind::EcsManaged]
                    };
                    for (r, d) in &devs {
                        assert_eq!(
                            d.contains(v),
                            kinds.contains(&r.kind),
                            "{}: {v} with qfleet dev",
                            r.what
                        );
                    }
                }
                _ => assert!(
                    !set_in.is_empty(),
                    "{v}: said set by some qfleet dev ({cell})"
                ),
            }
        }
    }
}

/// docs/jobs.md names every variable the job keeping reads, each also in docs/workers.md's
/// table: those a stage has only with `jobs:`, and the tables' names.
#[test]
fn the_job_protocols_variables_are_the_ones_the_fleet_sets_with_jobs() {
    let jobs: BTreeSet<String> = table("docs/jobs.md", "job variables")
        .into_iter()
        .flat_map(|(n, _)| n)
        .collect();
    let workers: BTreeSet<String> = table("docs/workers.md", "worker variables")
        .into_iter()
        .flat_map(|(n, _)| n)
        .collect();
    assert!(jobs.is_subset(&workers), "{:?}", jobs.difference(&workers));
    // What `jobs:` adds to each stage of each kind (and to what dev gives).
    let mut added = BTreeSet::new();
    for i in 0..MORE.len() {
        for (with, without) in more(i, true).iter().zip(more(i, false)) {
            let all = |r: &Rendered| -> BTreeSet<String> {
                r.vars
                    .iter()
                    .chain(r.dev.iter().flatten())
                    .cloned()
                    .collect()
            };
            added.extend(all(with).difference(&all(&without)).cloned());
        }
    }
    assert!(added.contains("QFLEET_JOB_TABLE") && added.contains("QFLEET_RESPONSE_QUEUE_URL"));
    assert!(
        added.is_subset(&jobs),
        "docs/jobs.md lacks {:?}",
        added.difference(&jobs)
    );
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `qfleet dev` leaves out what only an instance uses and the alert topics, and adds the
/// tables' names it read from the data stack and the Region's second name (a task's from ECS).
#[test]
fn dev_gives_the_tables_and_leaves_out_the_instances_own() {
    let fleet = vars(&[
        ("AWS_REGION", "eu-west-1"),
        ("QFLEET_QUEUE_URL", "https://sqs/q"),
        ("QFLEET_ASG_NAME", "qfleet-we-workers"),
        ("QFLEET_LIFECYCLE_HOOK", "drain-on-terminate"),
        ("QFLEET_ALERTS_TOPIC", "arn:aws:sns:eu-west-1:1:t"),
        ("QFLEET_JOBS_STACK", "qfleet-we-data"),
    ]);
    let tables = Tables {
        jobs: "jt".into(),
        leases: "lt".into(),
    };
    let (v, alerts) = for_dev(fleet.clone(), Some(&tables));
    assert!(alerts);
    assert_eq!(
        v,
        vars(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("QFLEET_QUEUE_URL", "https://sqs/q"),
            ("QFLEET_JOBS_STACK", "qfleet-we-data"),
            ("QFLEET_JOB_TABLE", "jt"),
            ("QFLEET_LEASE_TABLE", "lt"),
        ])
    );
    let (v, _) = for_dev(fleet, None);
    assert!(!v.contains_key("QFLEET_JOB_TABLE"));
}

/// dev names what the fleet's values replace in the caller's shell (a local PGHOST), and what
/// it clears; `--keep` keeps the shell's value in both cases; a name the shell lacks is said.
#[test]
fn dev_names_what_it_overrides_and_keep_keeps_the_shells_value() {
    let shell = vars(&[
        ("PGHOST", "localhost"),
        ("QFLEET_BUCKET", "same"),
        ("QFLEET_NEXT_QUEUE_URL", "https://sqs/other-stage"),
        ("HOME", "/home/me"),
    ]);
    let look = |k: &str| shell.get(k).map(std::ffi::OsString::from);
    let fleet = vars(&[
        ("PGHOST", "db.internal"),
        ("QFLEET_BUCKET", "same"),
        ("QFLEET_QUEUE_URL", "https://sqs/q"),
    ]);
    let cleared = || {
        vec![
            "QFLEET_NEXT_QUEUE_URL".to_string(),
            "QFLEET_STAGE".to_string(),
        ]
    };

    let (mut v, mut c) = (fleet.clone(), cleared());
    let o = apply_keep(&mut v, &mut c, &look, &[]);
    assert_eq!(o.replaced, ["PGHOST"], "the same value replaces nothing");
    assert_eq!(
        o.cleared,
        ["QFLEET_NEXT_QUEUE_URL"],
        "QFLEET_STAGE is not in the shell"
    );
    assert!(o.kept.is_empty() && o.not_in_shell.is_empty());
    assert_eq!(v, fleet);

    let (mut v, mut c) = (fleet.clone(), cleared());
    let keep = ["PGHOST", "QFLEET_NEXT_QUEUE_URL", "HOME", "NOT_SET"].map(String::from);
    let o = apply_keep(&mut v, &mut c, &look, &keep);
    assert_eq!(
        o.kept,
        ["PGHOST", "QFLEET_NEXT_QUEUE_URL"],
        "HOME was never touched"
    );
    assert_eq!(o.not_in_shell, ["NOT_SET"]);
    assert!(o.replaced.is_empty() && o.cleared.is_empty());
    assert!(!v.contains_key("PGHOST"), "the child inherits the shell's");
    assert_eq!(c, ["QFLEET_STAGE"]);
}

#[test]
fn keep_takes_variable_names_and_never_the_roles_keys_with_as_workers() {
    use super::dev::check_keep;
    assert!(check_keep(&["PGHOST".into(), "_X1".into()], false).is_ok());
    assert!(check_keep(&["AWS_ACCESS_KEY_ID".into()], false).is_ok());
    for (bad, as_workers) in [
        ("1X", false),
        ("PG-HOST", false),
        ("", false),
        ("AWS_SESSION_TOKEN", true),
        ("AWS_PROFILE", true),
    ] {
        let e = check_keep(&[bad.to_string()], as_workers)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--keep"), "{e}");
    }
}

/// The command dev prints to keep the shell's values runs as printed: the same environment,
/// stage, flags and command, each word one shell word, with `--keep` for the team's own names
/// only (an `AWS_` or `QFLEET_` name points the worker at the fleet: said, never kept for you).
#[test]
fn the_command_that_keeps_the_shells_values_runs_as_printed() {
    use super::dev::{Dev, Overrides, overrides_said};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let yaml = "region: eu-west-1\nlab: true\nstages:\n  - name: first\n    workers:\n      min: 1\n      max: 1\n      public_ip: true\n  - name: second\n    fed_by: messages\n    workers:\n      min: 1\n      max: 1\n      public_ip: true\n";
    let env = crate::config::parse(root.join("stacks/we.yaml"), yaml.to_string())
        .unwrap()
        .into_only();
    let stages = env.stages();
    let second = stages[1];
    let dev = Dev {
        command: vec!["python3".into(), "my worker.py".into(), "--it's".into()],
        on_protected: false,
        as_workers: false,
        with_secrets: true,
        keep: vec!["TZ".into()],
        check: Some("my job.json".into()),
        timeout: Some(std::time::Duration::from_secs(300)),
    };
    let o = Overrides {
        replaced: vec!["AWS_REGION".into(), "PGHOST".into(), "QFLEET_BUCKET".into()],
        cleared: vec!["QFLEET_NEXT_QUEUE_URL".into()],
        ..Overrides::default()
    };
    let lines = overrides_said(&env, second, &dev, &o);
    let text = lines.join("\n");
    assert!(
        lines[0].starts_with(
            "we: the fleet's value replaces your shell's for AWS_REGION, PGHOST, QFLEET_BUCKET; to keep yours: `qfleet dev"
        ),
        "{text}"
    );
    let parsed = crate::cli::printed::parse_all(&text);
    assert_eq!(parsed.len(), 1, "{text}");
    let crate::cli::Command::Dev(a) = &parsed[0].command else {
        panic!("{text}");
    };
    assert_eq!(a.env, "we");
    assert_eq!(a.stage.as_deref(), Some("second"));
    assert!(a.with_secrets && !a.as_workers && !a.on_protected);
    assert_eq!(a.keep, ["TZ", "PGHOST"]);
    assert_eq!(a.check, dev.check);
    assert_eq!(a.timeout, dev.timeout);
    assert_eq!(a.command, dev.command);
    assert!(
        lines[1].contains("QFLEET_NEXT_QUEUE_URL not passed on")
            && lines[1].contains("--keep QFLEET_NEXT_QUEUE_URL"),
        "{text}"
    );

    // Only the fleet's own names replaced: no command, the flag named.
    let o = Overrides {
        replaced: vec!["AWS_REGION".into()],
        ..Overrides::default()
    };
    let lines = overrides_said(&env, stages[0], &dev, &o);
    assert_eq!(
        lines,
        [
            "we: the fleet's value replaces your shell's for AWS_REGION; give --keep NAME to keep yours"
        ]
    );
}
