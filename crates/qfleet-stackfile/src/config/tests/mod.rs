//! Stack file parsing and every validation error: each names the file, line, column and field.

use super::*;
use crate::config::Error;

pub(super) fn parse_str(yaml: &str) -> Result<LoadedFile> {
    parse(PathBuf::from("stacks/t.yaml"), yaml.to_string())
}

/// The errors of an invalid stack file.
pub(super) fn errors(yaml: &str) -> Vec<InputError> {
    match parse_str(yaml) {
        Ok(_) => panic!("expected errors for:\n{yaml}"),
        Err(Error::Input(list)) => list,
        Err(other) => panic!("expected input errors, got {other:?}"),
    }
}

/// The lines `program` prints, run by the project's Python (`.venv`, else `python3`) beside
/// the shipped worker's modules (crates/qfleet-runtime/python): what the workers compute,
/// for a test to hold equal to this crate's.
pub(super) fn shipped_python(program: &str) -> Vec<String> {
    let root = crate::config::workspace_root();
    let venv = root.join(".venv/bin/python");
    let python = if venv.exists() {
        venv
    } else {
        "python3".into()
    };
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(program)
        .current_dir(root.join("crates/qfleet-runtime/python"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// The single error of an invalid stack file, checked for field and line.
pub(super) fn error(yaml: &str, field: &str, line: usize) -> InputError {
    let list = errors(yaml);
    assert_eq!(list.len(), 1, "expected one error, got {list:#?}");
    let e = list.into_iter().next().unwrap();
    assert_eq!(e.field, field, "{e}");
    assert_eq!(e.line, line, "{e}");
    assert_eq!(e.file, "stacks/t.yaml");
    assert!(e.span.is_some(), "{e} has no source span");
    e
}

#[test]
fn a_minimal_file_gets_the_documented_defaults() {
    let env = parse_str("region: eu-west-1\n").unwrap().into_only();
    assert_eq!(env.name, "t");
    let s = &env.spec;
    assert_eq!(s.bucket.upload_prefix, "uploads/");
    assert_eq!(s.bucket.processed_prefix, "processed/");
    assert_eq!(s.queue.visibility_timeout.0, 60);
    assert_eq!(s.queue.message_retention.0, 4 * 86_400);
    assert_eq!(s.queue.receive_wait_time.0, 20);
    assert_eq!(s.queue.max_receive_count, 5);
    assert_eq!(s.queue.dlq_retention.0, 14 * 86_400);
    assert_eq!(s.workers.ami, schema::DEFAULT_AMI);
    assert_eq!((s.workers.min, s.workers.max), (1, 2));
    assert_eq!(s.workers.network, Network::Default);
    assert!(!s.workers.public_ip);
    assert!(env.retain_bucket(), "outside labs the bucket is retained");
    assert!(
        env.termination_protection(),
        "outside labs stacks are protected"
    );
    assert_eq!(env.backlog_target(), 100.0);
    assert_eq!(env.data_stack_name(), "qfleet-t-data");
    assert_eq!(env.fleet_stack_name(), "qfleet-t-fleet");
}

#[test]
fn labs_default_to_purgeable_and_unprotected() {
    let env = parse_str("region: eu-west-1\nlab: true\n")
        .unwrap()
        .into_only();
    assert!(!env.retain_bucket());
    assert!(!env.termination_protection());
    let env = parse_str("region: eu-west-1\nlab: true\nbucket: {retain: true}\n")
        .unwrap()
        .into_only();
    assert!(
        env.retain_bucket(),
        "an explicit setting wins over the lab default"
    );
}

#[test]
fn the_target_is_a_utilisation_with_headroom_for_the_p99_not_latency_over_processing_time() {
    // AWS's latency ÷ processing time (100 here) would park the fleet where a message waits
    // the whole goal; the derived target is a busy share below one message per instance.
    let env = parse_str(
        "region: eu-west-1\nscaling:\n  max_latency_seconds: 10\n  seconds_per_message: 0.1\n",
    )
    .unwrap()
    .into_only();
    let t = env.backlog_target();
    assert!(t > 0.0 && t <= crate::config::headroom::HIGHEST, "{t}");
    // A goal of 100 processing times leaves room for the highest utilisation allowed.
    assert_eq!(t, crate::config::headroom::HIGHEST);
    // A tight goal (5 processing times) on one instance asks for much more headroom.
    let tight = parse_str(
        "region: eu-west-1\nworkers: {min: 1, max: 2}\nscaling:\n  max_latency_seconds: 10\n  seconds_per_message: 2\n",
    )
    .unwrap()
    .into_only();
    assert!(tight.backlog_target() < 0.5, "{}", tight.backlog_target());
    let env = parse_str("region: eu-west-1\nscaling: {target_backlog_per_instance: 7}\n")
        .unwrap()
        .into_only();
    assert_eq!(env.backlog_target(), 7.0);
}

#[test]
fn durations_accept_units() {
    let env =
        parse_str("region: eu-west-1\nqueue:\n  visibility_timeout: 5m\n  message_retention: 2d\n")
            .unwrap()
            .into_only();
    assert_eq!(env.spec.queue.visibility_timeout.0, 300);
    assert_eq!(env.spec.queue.message_retention.0, 172_800);
}

#[test]
fn the_environment_key_overrides_the_file_name() {
    let env = parse_str("environment: media-dev\nregion: eu-west-1\n")
        .unwrap()
        .into_only();
    assert_eq!(env.name, "media-dev");
}

#[test]
fn bad_yaml_is_located() {
    let e = error(
        "region: eu-west-1\ntags: {team: media\nlab: true\n",
        "tags",
        3,
    );
    assert!(
        e.message.contains("did not find expected ',' or '}'"),
        "{e}"
    );
}

#[test]
fn an_empty_file_is_an_error() {
    let e = error("# nothing here\n", "-", 1);
    assert!(e.message.contains("empty"), "{e}");
}

#[test]
fn unknown_keys_are_rejected_with_the_allowed_ones() {
    let e = error("region: eu-west-1\nworkers:\n  mni: 1\n", "workers.mni", 3);
    assert!(e.message.contains("unknown field `mni`"), "{e}");
    assert!(e.message.contains("did you mean `min`?"), "{e}");
    assert!(
        e.allowed.as_deref().unwrap().contains("min, max, network"),
        "lists allowed keys: {e:?}"
    );
    let e = error("region: eu-west-1\nregoin: x\n", "regoin", 2);
    assert!(e.message.contains("unknown field"), "{e}");
}

#[test]
fn a_missing_region_is_an_error() {
    let list = errors("lab: true\n");
    assert!(
        list[0].message.contains("missing field `region`"),
        "{}",
        list[0]
    );
}

#[test]
fn wrong_types_are_located() {
    let e = error(
        "region: eu-west-1\nworkers:\n  max: lots\n",
        "workers.max",
        3,
    );
    assert_eq!(e.message, "expected a whole number, found `lots`");
    assert!(
        e.allowed.as_deref().unwrap().contains("whole number"),
        "{e:?}"
    );
    let e = error(
        "region: eu-west-1\nqueue:\n  visibility_timeout: 3 weeks\n",
        "queue.visibility_timeout",
        3,
    );
    assert!(e.message.contains("duration"), "{e}");
    let e = error("region: eu-west-1\nlab: maybe\n", "lab", 2);
    assert_eq!(e.message, "expected true or false, found `maybe`");
}

#[test]
fn user_data_must_exist_and_be_a_script() {
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("w.yaml");
    std::fs::write(
        &stack,
        "region: eu-west-1\nworkers:\n  user_data: missing.sh\n",
    )
    .unwrap();
    let Err(Error::Input(list)) = load(&stack) else {
        panic!("expected an error")
    };
    assert_eq!(
        (list[0].field.as_str(), list[0].line),
        ("workers.user_data", 3)
    );
    assert!(list[0].message.contains("cannot read"), "{}", list[0]);

    std::fs::write(dir.path().join("missing.sh"), "echo no shebang\n").unwrap();
    let Err(Error::Input(list)) = load(&stack) else {
        panic!("expected an error")
    };
    assert!(list[0].message.contains("#!"), "{}", list[0]);

    std::fs::write(dir.path().join("missing.sh"), "#!/bin/bash\necho ${HOME}\n").unwrap();
    let env = load(&stack).unwrap().into_only();
    assert!(env.user_data.unwrap().contains("${HOME}"));
}

#[test]
fn several_problems_are_reported_together() {
    let list =
        errors("region: eu-west-1\nworkers:\n  min: 3\n  max: 2\nqueue:\n  max_receive_count: 0\n");
    let fields: Vec<&str> = list.iter().map(|e| e.field.as_str()).collect();
    // In the file's order: workers (line 3) before queue (line 6).
    assert_eq!(fields, ["workers.min", "queue.max_receive_count"]);
}

#[test]
fn every_shipped_stack_file_is_valid() {
    let root = crate::config::workspace_root();
    let root = root.as_path();
    let mut n = 0;
    for dir in ["stacks", "examples"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "yaml") {
                load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                n += 1;
            }
        }
    }
    assert!(
        n >= 3,
        "expected lab, prod and at least one example, found {n}"
    );
}

#[test]
fn copies_expand_to_numbered_environments() {
    let file = parse_str("environment: lab\nregion: eu-west-1\nlab: true\ncopies: 3\n").unwrap();
    let names: Vec<String> = file.expand().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["lab-01", "lab-02", "lab-03"]);
    let file = parse_str("environment: c\nregion: eu-west-1\ncopies: 100\n").unwrap();
    let all = file.expand();
    assert_eq!(
        (all[0].name.as_str(), all[99].name.as_str()),
        ("c-001", "c-100")
    );
    assert_eq!(all[41].data_stack_name(), "qfleet-c-042-data");
    let file = parse_str("region: eu-west-1\n").unwrap();
    assert_eq!(file.expand().len(), 1);
}

mod alerts;
mod budget;
mod docs_samples;
mod ecs_managed;
mod errors;
mod fuzz;
mod gpu;
mod input;
mod lambda;
mod language;
mod limits;
mod network;
mod permissions;
mod priority;
mod retry;
mod rules;
mod spot;
mod stack_file_schema;
mod stages;
mod tenant;
mod warm_pool;
mod yaml_syntax;

#[test]
fn a_goal_too_close_to_the_processing_time_for_the_p99_is_a_warning() {
    let tight = parse_str(
        "region: eu-west-1\nlab: true\nworkers: {min: 1, max: 4}\nscaling:\n  max_latency_seconds: 60\n  seconds_per_message: 30\n",
    )
    .unwrap()
    .into_only();
    let w = crate::config::warnings::warnings(&tight);
    assert!(
        w.iter()
            .any(|w| w.starts_with("scaling.max_latency_seconds: 60 s leaves too little room")),
        "{w:?}"
    );
    let roomy = parse_str(
        "region: eu-west-1\nlab: true\nworkers: {min: 1, max: 4}\nscaling:\n  max_latency_seconds: 600\n  seconds_per_message: 30\n",
    )
    .unwrap()
    .into_only();
    assert!(
        !crate::config::warnings::warnings(&roomy)
            .iter()
            .any(|w| w.contains("too little room"))
    );
}

#[test]
fn a_scale_in_step_that_would_cross_the_target_is_a_warning() {
    let flapping = parse_str(
        "region: eu-west-1\nlab: true\nscaling:\n  scale_in: {percent: 20, below: 0.85}\n",
    )
    .unwrap()
    .into_only();
    assert!(
        crate::config::warnings::warnings(&flapping)
            .iter()
            .any(|w| w.starts_with("scaling.scale_in: removing 20 %")),
        "{:?}",
        crate::config::warnings::warnings(&flapping)
    );
    let default = parse_str("region: eu-west-1\nlab: true\n")
        .unwrap()
        .into_only();
    assert!(
        !crate::config::warnings::warnings(&default)
            .iter()
            .any(|w| w.starts_with("scaling.scale_in"))
    );
}

/// `….image.build.promote_from` names another environment, as an environment's name is
/// written; neither a name qfleet could not have given nor this environment's own.
#[test]
fn an_image_is_promoted_only_from_another_environment_named_as_environments_are() {
    let file = |from: &str| {
        format!(
            "region: eu-west-1\nworkers:\n  kind: fargate\n  image:\n    build:\n      promote_from: {from}\n"
        )
    };
    let e = error(&file("Staging"), "workers.image.build.promote_from", 6);
    assert!(
        e.message.contains("`Staging` is not an environment's name"),
        "{e}"
    );
    assert!(
        e.allowed.as_deref().unwrap().contains("lowercase letters"),
        "{e}"
    );
    let e = error(&file("t"), "workers.image.build.promote_from", 6);
    assert!(e.message.contains("names this environment, t"), "{e}");
    let lambda = "region: eu-west-1\nworkers:\n  kind: lambda\n  lambda:\n    image:\n      build:\n        promote_from: t\n";
    error(lambda, "workers.lambda.image.build.promote_from", 7);
}

/// Two stages of a pipeline that build the same inputs share one image (a deploy makes it
/// once): one cannot build it while the other copies it from staging. Refused at the later
/// stage's field when the file is loaded (validate, plan and deploy alike); stages that agree
/// load.
#[test]
fn stages_that_share_an_image_must_agree_on_where_it_comes_from() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let load = |second: &str| {
        let p = dir.path().join("p.yaml");
        let build = |extra: &str| {
            format!(
                "      kind: fargate\n      image:\n        build:\n          engine: podman\n{extra}"
            )
        };
        std::fs::write(
            &p,
            format!(
                "region: eu-west-1\nlab: true\nstages:\n  - name: first\n    workers:\n{}  - name: second\n    workers:\n{}",
                build("          promote_from: staging\n"),
                build(second)
            ),
        )
        .unwrap();
        crate::config::load(&p)
    };
    let Err(Error::Input(list)) = load("") else {
        panic!("a build and a copy of one image load")
    };
    assert_eq!(list.len(), 1, "{list:#?}");
    let e = &list[0];
    assert_eq!(e.field, "stages.1.workers.image.build.promote_from", "{e}");
    assert!(
        e.message
            .contains("stages first and second build the same image"),
        "{e}"
    );
    assert!(
        e.message
            .contains("one copied from staging and one built here"),
        "{e}"
    );
    load("          promote_from: staging\n").unwrap();
}
