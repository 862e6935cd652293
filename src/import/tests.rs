//! `qfleet import copilot`: a golden test per fixture manifest (tests/fixtures/copilot, real
//! public Copilot Worker Service manifests: the stack file and the report, each stack file
//! validated as `qfleet validate` validates stack files), and the rules one by one.

use super::Imported;
use super::copilot::manifest::{Manifest, duration, go_duration};
use super::copilot::mapping::{environment_name, full_reference};
use super::copilot::{Options, import};
use crate::error::Error;
use std::path::{Path, PathBuf};

const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker:1.0";

/// The fixture whose name starts with `prefix`, as a path relative to the repository root.
fn fixture(prefix: &str) -> (PathBuf, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/copilot");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".yml"))
        .collect();
    names.sort();
    let name = names
        .first()
        .unwrap_or_else(|| panic!("no fixture {prefix}"));
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    (PathBuf::from("tests/fixtures/copilot").join(name), text)
}

fn run(prefix: &str, opts: Options) -> Result<Imported, Error> {
    let (path, text) = fixture(prefix);
    import(&path, &text, &opts)
}

fn opts<'a>(env: Option<&'a str>, image: Option<&'a str>) -> Options<'a> {
    Options {
        env,
        image,
        environment_name: None,
        region: Some("eu-west-1"),
    }
}

/// The stack file validates on its own, as a file `qfleet validate` reads.
fn assert_valid(i: &Imported) {
    let env = crate::config::parse(PathBuf::from("imported.yaml"), i.stack_file.clone())
        .unwrap_or_else(|e| panic!("{e}\n{}", i.stack_file));
    assert_eq!(
        env.spec.workers.kind,
        crate::config::schema::WorkerKind::Fargate
    );
    assert_eq!(env.name, i.environment);
}

fn golden(name: &str, prefix: &str, o: Options) -> Imported {
    let i = run(prefix, o).unwrap_or_else(|e| panic!("{prefix}: {e}"));
    assert_valid(&i);
    insta::assert_snapshot!(
        name,
        format!(
            "{}\n---- report ----\n{}\n---- report as JSON ----\n{}",
            i.stack_file,
            i.report.text(),
            serde_json::to_string_pretty(&i.report).unwrap()
        )
    );
    i
}

#[test]
fn golden_01_dogworker_with_env_test() {
    let i = golden(
        "copilot-01-dogworker-env-test",
        "01-",
        opts(Some("test"), None),
    );
    assert!(
        i.stack_file
            .contains("image: docker.io/amazon/ecs-example:latest")
    );
    assert!(i.stack_file.contains("on_demand_base: 5"));
    assert!(i.stack_file.contains("max_latency_seconds: 900"));
}

#[test]
fn golden_02_subscribe() {
    golden("copilot-02-subscribe", "02-", opts(None, Some(IMAGE)));
}

#[test]
fn golden_03_placement_base_and_env_phonetool() {
    let base = golden("copilot-03-placement", "03-", opts(None, Some(IMAGE)));
    assert_eq!(base.report.source_environments, ["phonetool"]);
    assert!(base.report.text().contains("give --env NAME"));
    let env = golden(
        "copilot-03-placement-env-phonetool",
        "03-",
        opts(Some("phonetool"), Some(IMAGE)),
    );
    assert!(env.report.carried.iter().any(|c| c.source.as_deref()
        == Some("network.vpc.placement")
        && c.note.contains("private")));
}

#[test]
fn golden_04_default_fifo_queue() {
    let i = golden(
        "copilot-04-default-fifo-queue",
        "04-",
        opts(None, Some(IMAGE)),
    );
    assert!(
        i.report
            .not_carried
            .iter()
            .any(|n| n.source.as_deref() == Some("subscribe.queue.fifo"))
    );
}

#[test]
fn golden_05_single_queue() {
    let i = golden("copilot-05-single-queue", "05-", opts(None, Some(IMAGE)));
    assert!(i.stack_file.contains("DB: secretsmanager:mysql"));
    assert!(i.stack_file.contains("max_receive_count: 10"));
}

#[test]
fn golden_06_spot_autoscaling() {
    let i = golden(
        "copilot-06-spot-autoscaling",
        "06-",
        opts(None, Some(IMAGE)),
    );
    assert!(i.stack_file.contains("seconds_per_message: 0.25"));
}

#[test]
fn golden_07_separate_queues() {
    let i = golden("copilot-07-separate-queues", "07-", opts(None, Some(IMAGE)));
    assert!(i.report.text().contains("Copilot would have rejected it"));
}

#[test]
fn golden_08_worker_fifo() {
    golden("copilot-08-worker-fifo", "08-", opts(None, Some(IMAGE)));
}

#[test]
fn go_durations_parse_as_copilot_reads_them() {
    assert_eq!(go_duration("30s"), Ok(30.0));
    assert_eq!(go_duration("1m30s"), Ok(90.0));
    assert_eq!(go_duration("336h"), Ok(1_209_600.0));
    assert_eq!(go_duration("250ms"), Ok(0.25));
    assert_eq!(go_duration("1.5h"), Ok(5_400.0));
    assert_eq!(go_duration("0"), Ok(0.0));
    for bad in ["", "30", "5d", "-1s", "1x", "s", "1..5s"] {
        assert!(go_duration(bad).is_err(), "{bad}");
    }
    let v = |s: &str| serde_yaml_ng::Value::String(s.into());
    assert_eq!(duration(&v("96h")), Ok((345_600.0, None)));
    let (secs, note) = duration(&v("5d")).unwrap();
    assert_eq!(secs, 432_000.0);
    assert!(note.unwrap().contains("Copilot would have rejected"));
    assert!(duration(&serde_yaml_ng::Value::Number(30.into())).is_err());
    assert_eq!(
        duration(&serde_yaml_ng::Value::Number(0.into())),
        Ok((0.0, None))
    );
}

fn manifest(body: &str) -> String {
    format!("name: w\ntype: Worker Service\nimage:\n  location: {IMAGE}\n{body}")
}

fn import_text(text: &str, o: Options) -> Result<Imported, Error> {
    import(Path::new("copilot/w/manifest.yml"), text, &o)
}

#[test]
fn spot_from_gives_an_on_demand_base_as_copilots_code_does() {
    let base = |range: &str| {
        let i = import_text(
            &manifest(&format!("count:\n  range: {range}\n")),
            opts(None, None),
        )
        .unwrap();
        assert_valid(&i);
        i.stack_file
    };
    // spot_from at or above min: the first spot_from - 1 tasks On-Demand.
    let s = base("{min: 2, max: 10, spot_from: 4}");
    assert!(
        s.contains("percent: 100") && s.contains("on_demand_base: 3"),
        "{s}"
    );
    // Below min: every task on Spot (what Copilot rendered, not what its docs say).
    let s = base("{min: 3, max: 10, spot_from: 2}");
    assert!(s.contains("on_demand_base: 0"), "{s}");
    // A base above max is capped at max: no task ran on Spot in Copilot either.
    let s = base("{min: 1, max: 4, spot_from: 9}");
    assert!(s.contains("on_demand_base: 4"), "{s}");
    // No spot_from: no Spot; a string range.
    let s = base("\"2-6\"");
    assert!(
        !s.contains("spot:") && s.contains("min: 2") && s.contains("max: 6"),
        "{s}"
    );
    // count.spot: every task on Spot, a fixed count.
    let i = import_text(&manifest("count:\n  spot: 3\n"), opts(None, None)).unwrap();
    assert!(i.stack_file.contains("percent: 100") && i.stack_file.contains("min: 3"));
}

#[test]
fn queue_delay_becomes_latency_and_processing_time_and_min_0_starts_from_zero() {
    let i = import_text(
        &manifest("count:\n  range: {min: 0, max: 5}\n  queue_delay:\n    acceptable_latency: 1m30s\n    msg_processing_time: 7s\n"),
        opts(None, None),
    )
    .unwrap();
    assert_valid(&i);
    let env = crate::config::parse(PathBuf::from("w.yaml"), i.stack_file.clone()).unwrap();
    assert_eq!(env.spec.scaling.max_latency_seconds, Some(90.0));
    assert_eq!(env.spec.scaling.seconds_per_message, Some(7.0));
    assert!(env.spec.scaling.scale_from_zero);
    assert_eq!(env.spec.workers.min, 0);
    // 90 / 7 is not whole: Copilot rounded the target up, and the report says so.
    assert!(
        i.report.text().contains("Copilot rounded it up to 13"),
        "{}",
        i.report.text()
    );
    // A processing time longer than the visibility timeout raises the timeout.
    let i = import_text(
        &manifest("count:\n  range: {min: 1, max: 5}\n  queue_delay:\n    acceptable_latency: 10m\n    msg_processing_time: 45s\nsubscribe:\n  queue:\n    timeout: 20s\n"),
        opts(None, None),
    )
    .unwrap();
    assert_valid(&i);
    assert!(
        i.stack_file.contains("visibility_timeout: 45s"),
        "{}",
        i.stack_file
    );
}

#[test]
fn another_workload_type_is_refused_naming_the_file_line_and_type() {
    let text = "name: api\ntype: Load Balanced Web Service\nimage:\n  location: nginx\n";
    let e = import_text(text, opts(None, None)).unwrap_err();
    assert_eq!(e.exit_code(), crate::error::Exit::Input);
    let msg = e.to_string();
    assert!(
        msg.contains(
            "copilot/w/manifest.yml:2:7: type: `Load Balanced Web Service` is not a Worker Service"
        ),
        "{msg}"
    );
    let e = import_text("name: x\nimage: [\n", opts(None, None)).unwrap_err();
    assert_eq!(e.exit_code(), crate::error::Exit::Input);
    assert!(e.to_string().contains("is not valid YAML"), "{e}");
}

#[test]
fn a_built_image_needs_the_image_flag_and_an_environment_image_needs_env() {
    let e = run("02-", opts(None, None)).unwrap_err();
    assert_eq!(e.exit_code(), crate::error::Exit::Input);
    assert!(e.to_string().contains("--image"), "{e}");
    let e = run("01-", opts(None, None)).unwrap_err().to_string();
    assert!(e.contains(":113:") && e.contains("add --env test"), "{e}");
}

#[test]
fn env_overrides_merge_over_the_base_and_an_unknown_env_lists_the_known_ones() {
    let text = manifest(
        "count: 1\ncpu: 512\nmemory: 1024\nvariables:\n  A: one\n  B: two\nenvironments:\n  prod:\n    count:\n      range: 2-8\n    variables:\n      B: deux\n  dev: ~\n",
    );
    let i = import_text(&text, opts(Some("prod"), None)).unwrap();
    assert_valid(&i);
    let s = &i.stack_file;
    assert!(s.contains("min: 2") && s.contains("max: 8"), "{s}");
    assert!(s.contains("A: one") && s.contains("B: deux"), "{s}");
    assert!(s.contains("cpu: 512") && s.contains("memory: 1024"), "{s}");
    let line = |src: &str| {
        i.report
            .carried
            .iter()
            .find(|c| c.source.as_deref() == Some(src))
            .and_then(|c| c.line)
    };
    assert_eq!(line("variables.B"), Some(16));
    assert_eq!(line("variables.A"), Some(9));
    let e = import_text(&text, opts(Some("staging"), None))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--env staging") && e.contains("its environments are prod, dev"),
        "{e}"
    );
    let base = import_text(&text, opts(None, None)).unwrap();
    assert_eq!(base.report.source_environments, ["prod", "dev"]);
    assert!(base.stack_file.contains("min: 1"));
}

#[test]
fn unknown_and_unsupported_keys_are_listed_never_dropped() {
    let text = manifest(
        "subscribe:\n  queues:\n    retention: 1d\n  queue:\n    delay: 5s\ncount:\n  range: 1-3\n  cpu_percentage: 70\nsidecars:\n  nginx:\n    image: nginx\ntaskdef_overrides:\n  - path: ContainerDefinitions[0].StopTimeout\n    value: 60\n  - path: Ulimits\n    value: []\nsecrets:\n  TOKEN: GITHUB_TOKEN\n  FROM: {from_cfn: export-x}\n  JSONKEY: {secretsmanager: 'db:username::'}\nvariables:\n  REF: {from_cfn: other}\nplatform: windows/x86_64\nentrypoint: \"/bin/sh -c 'run'\"\ncommand: python app.py\n",
    );
    let i = import_text(&text, opts(None, None)).unwrap();
    assert_valid(&i);
    let not: Vec<&str> = i
        .report
        .not_carried
        .iter()
        .filter_map(|n| n.source.as_deref())
        .collect();
    for key in [
        "subscribe.queues",
        "subscribe.queue.delay",
        "count.cpu_percentage",
        "sidecars",
        "taskdef_overrides.1",
        "secrets.FROM",
        "secrets.JSONKEY",
        "variables.REF",
        "platform",
        "entrypoint",
    ] {
        assert!(not.contains(&key), "{key} not listed: {not:?}");
    }
    let s = &i.stack_file;
    assert!(s.contains("TOKEN: ssm:GITHUB_TOKEN"), "{s}");
    assert!(
        s.contains("stop_timeout: 1m") && s.contains("visibility_timeout: 1m"),
        "{s}"
    );
    assert!(s.contains("command: [python, app.py]"), "{s}");
    let unknown = i
        .report
        .not_carried
        .iter()
        .find(|n| n.source.as_deref() == Some("subscribe.queues"))
        .unwrap();
    assert!(unknown.note.contains("Copilot ignored it too"));
}

#[test]
fn names_and_images_are_written_as_qfleet_reads_them() {
    assert_eq!(environment_name("Dog_Worker"), "dog-worker");
    assert_eq!(environment_name("a--b-"), "a-b");
    assert_eq!(
        environment_name("x".repeat(40).as_str()).len(),
        crate::config::MAX_NAME_LEN
    );
    assert_eq!(
        full_reference("amazon/ecs-example"),
        "docker.io/amazon/ecs-example:latest"
    );
    assert_eq!(full_reference("nginx:1.25"), "docker.io/library/nginx:1.25");
    assert_eq!(
        full_reference("public.ecr.aws/a/b:1"),
        "public.ecr.aws/a/b:1"
    );
    assert_eq!(
        full_reference("localhost:5000/w"),
        "localhost:5000/w:latest"
    );
    let m = Manifest::read(Path::new("m.yml"), &manifest(""), None).unwrap();
    assert_eq!(m.name, "w");
}

#[test]
fn an_invalid_result_is_refused_with_why() {
    // 256 CPU units with 4096 MiB is not a Fargate size: nothing is written.
    let e = import_text(&manifest("cpu: 256\nmemory: 4096\n"), opts(None, None)).unwrap_err();
    assert_eq!(e.exit_code(), crate::error::Exit::Input);
    let msg = e.to_string();
    assert!(
        msg.contains("does not validate, so it was not written"),
        "{msg}"
    );
    assert!(msg.contains("workers.fargate.memory"), "{msg}");
}
