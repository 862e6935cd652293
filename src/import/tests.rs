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
    import(&path, &text, &opts).map_err(|f| f.error)
}

fn opts<'a>(env: Option<&'a str>, image: Option<&'a str>) -> Options<'a> {
    Options {
        env,
        image,
        region: Some("eu-west-1"),
        ..Options::default()
    }
}

/// The stack file validates on its own, as a file `qfleet validate` reads.
fn assert_valid(i: &Imported) {
    let env = crate::config::parse(PathBuf::from("imported.yaml"), i.stack_file.clone())
        .unwrap_or_else(|e| panic!("{e}\n{}", i.stack_file))
        .into_only();
    assert_eq!(env.spec.workers.kind, crate::config::WorkerKind::Fargate);
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
    // Private placement: the subnets come from --vpc and --subnet, without public IPs.
    let env = golden(
        "copilot-03-placement-env-phonetool",
        "03-",
        Options {
            vpc: Some(VPC),
            subnets: &subnets(),
            ..opts(Some("phonetool"), Some(IMAGE))
        },
    );
    assert!(env.report.carried.iter().any(|c| c.source.as_deref()
        == Some("network.vpc.placement")
        && c.note.contains("private")));
    assert!(env.stack_file.contains("public_ip: false"));
    assert!(env.stack_file.contains(&format!("vpc: {VPC}")));
    // Without them the import is refused, naming the line and the flags, with the report.
    let (path, text) = fixture("03-");
    let f = import(&path, &text, &opts(Some("phonetool"), Some(IMAGE))).unwrap_err();
    let msg = f.error.to_string();
    assert!(
        msg.contains(":51:") && msg.contains("--vpc VPC_ID --subnet ZONE=SUBNET_ID"),
        "{msg}"
    );
    assert!(f.report.is_some());
}

#[test]
fn golden_04_default_fifo_queue() {
    let i = golden(
        "copilot-04-default-fifo-queue",
        "04-",
        opts(None, Some(IMAGE)),
    );
    let carried = |key: &str| {
        i.report
            .carried
            .iter()
            .any(|c| c.qfleet.as_deref() == Some(key))
    };
    assert!(carried("queue.fifo"), "{}", i.report.text());
    let env = crate::config::parse(PathBuf::from("imported.yaml"), i.stack_file.clone())
        .unwrap()
        .into_only();
    assert!(env.spec.queue.fifo);
    assert_eq!(env.spec.sources.uploads, Some(false));
    assert!(
        env.spec.sources.messages.is_some(),
        "no topic ARN: messages feed it"
    );
}

/// Issue 56: a FIFO worker with a FIFO topic given by ARN: the stack file validates and
/// carries both, the FIFO queue and the topic, and takes no uploads.
#[test]
fn a_fifo_worker_and_its_fifo_topic_are_carried_together() {
    let arn = "arn:aws:sns:eu-west-1:111122223333:shop-test-api-orders.fifo";
    let topics = [("api/orders".to_string(), arn.to_string())];
    let i = run(
        "08-",
        Options {
            topics: &topics,
            ..opts(Some("test"), Some(IMAGE))
        },
    )
    .unwrap();
    assert_valid(&i);
    let env = crate::config::parse(PathBuf::from("imported.yaml"), i.stack_file.clone())
        .unwrap()
        .into_only();
    assert!(env.spec.queue.fifo, "{}", i.stack_file);
    assert_eq!(env.spec.sources.uploads, Some(false));
    assert_eq!(env.spec.sources.topics.len(), 1, "{}", i.stack_file);
    assert_eq!(env.spec.sources.topics[0].arn, arn);
    assert!(env.spec.sources.messages.is_none(), "the topic feeds it");
    assert!(
        i.report.text().contains("subscribed as"),
        "{}",
        i.report.text()
    );
    // Without its ARN, the topic is reported by the name Copilot gave it: a FIFO topic's ends
    // in .fifo, as SNS requires.
    let unnamed = run("08-", opts(Some("test"), Some(IMAGE))).unwrap();
    assert!(
        unnamed.report.text().contains("-api-orders.fifo)"),
        "{}",
        unnamed.report.text()
    );
    // A standard topic's ARN for a FIFO worker is carried by the file and refused by
    // validate, with why: the import refuses the stack file.
    let std = [(
        "api/orders".to_string(),
        arn.trim_end_matches(".fifo").to_string(),
    )];
    let e = run(
        "08-",
        Options {
            topics: &std,
            ..opts(Some("test"), Some(IMAGE))
        },
    )
    .map(|_| ())
    .unwrap_err();
    assert!(e.to_string().contains("standard topic"), "{e}");
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
    assert!(i.report.text().contains("Copilot likely refused it: write"));
}

#[test]
fn golden_08_worker_fifo() {
    golden("copilot-08-worker-fifo", "08-", opts(None, Some(IMAGE)));
}

#[test]
fn golden_09_publish_subscribe_orders_worker() {
    let i = golden(
        "copilot-09-publish-subscribe",
        "09-",
        opts(None, Some(IMAGE)),
    );
    assert!(i.stack_file.contains("max_receive_count: 5"));
}

#[test]
fn golden_10_filter_policy_in_two_environments() {
    // Two Copilot environments of one manifest: two qfleet environments, never one name.
    let test = golden(
        "copilot-10-filter-policy-env-test",
        "10-",
        Options {
            app: Some("shop"),
            ..opts(Some("test"), Some("nginx"))
        },
    );
    let production = run(
        "10-",
        Options {
            app: Some("shop"),
            ..opts(Some("production"), Some(IMAGE))
        },
    )
    .unwrap();
    assert_eq!(test.environment, "orders-worker-test");
    assert_eq!(production.environment, "orders-worker-production");
    // --image follows the one rule for image references: written in full, said so.
    assert!(
        test.stack_file
            .contains("image: docker.io/library/nginx:latest")
    );
    assert!(test.report.text().contains("`nginx` written in full"));
}

const VPC: &str = "vpc-0123456789abcdef0";

fn subnets() -> Vec<(String, String)> {
    vec![
        ("eu-west-1a".into(), "subnet-0123456789abcdef0".into()),
        ("eu-west-1b".into(), "subnet-0123456789abcdef1".into()),
    ]
}

/// Every fixture, as its golden test imports it: each stack file validates (templates rendered
/// and checked, as `qfleet validate` does offline) with no warning that the tasks could not
/// reach their queue, the bucket or the registry their image is pulled from.
#[test]
fn every_fixture_validates_with_a_network_that_reaches_the_queue_and_the_image() {
    let subnets = subnets();
    let cases: Vec<(&str, Options)> = vec![
        ("01-", opts(Some("test"), None)),
        ("02-", opts(None, Some(IMAGE))),
        ("03-", opts(None, Some(IMAGE))),
        (
            "03-",
            Options {
                vpc: Some(VPC),
                subnets: &subnets,
                ..opts(Some("phonetool"), Some(IMAGE))
            },
        ),
        ("04-", opts(None, Some(IMAGE))),
        ("05-", opts(None, Some(IMAGE))),
        ("06-", opts(None, Some(IMAGE))),
        ("07-", opts(None, Some(IMAGE))),
        ("08-", opts(None, Some(IMAGE))),
        ("09-", opts(None, Some(IMAGE))),
        ("10-", opts(Some("test"), Some(IMAGE))),
    ];
    for (prefix, o) in cases {
        let i = run(prefix, o).unwrap_or_else(|e| panic!("{prefix}: {e}"));
        let env = crate::config::parse(PathBuf::from("imported.yaml"), i.stack_file.clone())
            .unwrap_or_else(|e| panic!("{prefix}: {e}"))
            .into_only();
        let checked = crate::validate::check_all(std::slice::from_ref(&env), true)
            .unwrap_or_else(|e| panic!("{prefix}: {e}"));
        for w in &checked.checked[0].warnings {
            let unreachable = [
                "reach SQS",
                "NAT gateway, so",
                "cannot pull",
                "cannot reach",
            ]
            .iter()
            .any(|s| w.contains(s));
            assert!(!unreachable, "{prefix}: {w}\n{}", i.stack_file);
        }
        // The tasks reach ECR, SQS and S3: a public IP in the default VPC's public subnets,
        // or subnets named with --vpc and --subnet.
        assert!(
            env.spec.workers.public_ip
                || matches!(
                    env.spec.workers.network,
                    crate::config::Network::Explicit(_)
                ),
            "{prefix}"
        );
    }
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
    assert!(note.unwrap().contains("Copilot likely refused it"));
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
    import(Path::new("copilot/w/manifest.yml"), text, &o).map_err(|f| f.error)
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
    let env = crate::config::parse(PathBuf::from("w.yaml"), i.stack_file.clone())
        .unwrap()
        .into_only();
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
    // Beside Copilot's, qfleet's own target, what it means and what it assumes: the one the
    // written file derives, as the simulator and the templates use it.
    let ours = env.backlog_target();
    let text = i.report.text();
    assert!(
        text.contains(&format!(
            "qfleet's is {ours} busy messages per task (derived from the goal at workers.max 5): each task busy {:.0} % of the time",
            ours * 100.0
        )) && text.contains("one message at a time per task (`qfleet simulate --messages-per-instance N`"),
        "{text}"
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
    // An environment the manifest does not override imports the base, and says so.
    let staging = import_text(&text, opts(Some("staging"), None)).unwrap();
    assert!(staging.stack_file.contains("min: 1"));
    assert!(
        staging.report.text().contains(
            "the manifest overrides no setting for environment `staging` (it overrides prod, dev)"
        ),
        "{}",
        staging.report.text()
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
    let m = Manifest::read(Path::new("m.yml"), &manifest(""), &Default::default()).unwrap();
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

/// A shell with `TAG` defined and nothing else.
fn shell(name: &str) -> Option<String> {
    (name == "TAG").then(|| "v7".to_string())
}

#[test]
fn copilots_predefined_variables_resolve_from_app_and_env_and_secret_paths_are_carried() {
    let text = "name: w\ntype: Worker Service\nimage:\n  location: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/w:${TAG}\nvariables:\n  WHERE: ${COPILOT_APPLICATION_NAME}-${COPILOT_ENVIRONMENT_NAME}\n  KEPT: \\${COPILOT_APPLICATION_NAME}\nsecrets:\n  DB_PASSWORD: /copilot/${COPILOT_APPLICATION_NAME}/${COPILOT_ENVIRONMENT_NAME}/secrets/db_password\n";
    let o = Options {
        app: Some("shop"),
        shell: Some(shell),
        ..opts(Some("test"), None)
    };
    let i = import_text(text, o).unwrap();
    assert_valid(&i);
    let s = &i.stack_file;
    assert!(
        s.contains("DB_PASSWORD: ssm:/copilot/shop/test/secrets/db_password"),
        "{s}"
    );
    assert!(s.contains("WHERE: shop-test"), "{s}");
    assert!(s.contains("KEPT: \"${COPILOT_APPLICATION_NAME}\""), "{s}");
    assert!(s.contains("/w:v7"), "{s}");
    assert!(!s.contains("${COPILOT_ENVIRONMENT_NAME}"), "{s}");
    let text_report = i.report.text();
    assert!(
        text_report.contains(
            "secrets.DB_PASSWORD (line 9): `${COPILOT_APPLICATION_NAME}` is `shop` (from --app)"
        ),
        "{text_report}"
    );
    assert!(text_report.contains("`${TAG}` is `v7` (from the shell's environment)"));

    // Without --app (or --env), the import is refused naming the line and the flag, and
    // the report is still given.
    let f = import(
        Path::new("copilot/w/manifest.yml"),
        text,
        &Options {
            shell: Some(shell),
            ..opts(Some("test"), None)
        },
    )
    .unwrap_err();
    assert_eq!(f.error.exit_code(), crate::error::Exit::Input);
    let msg = f.error.to_string();
    assert!(
        msg.contains("copilot/w/manifest.yml:6:") && msg.contains("give it with --app NAME"),
        "{msg}"
    );
    assert!(msg.contains(":9:"), "{msg}");
    let report = f.report.expect("the report of a refused import").text();
    assert!(report.contains("carried ("), "{report}");
    // A shell variable that is not defined is refused, as Copilot refused it.
    let f = import(
        Path::new("copilot/w/manifest.yml"),
        text,
        &Options {
            app: Some("shop"),
            ..opts(Some("test"), None)
        },
    )
    .unwrap_err();
    assert!(f.error.to_string().contains("define TAG"), "{}", f.error);
}

#[test]
fn per_topic_queues_give_the_longest_timeout_and_retention() {
    let i = run("07-", opts(None, Some(IMAGE))).unwrap();
    let env = crate::config::parse(PathBuf::from("w.yaml"), i.stack_file.clone())
        .unwrap()
        .into_only();
    assert_eq!(env.spec.queue.visibility_timeout.0, 3_600);
    assert_eq!(env.spec.queue.message_retention.0, 5 * 86_400);
    let line = i
        .report
        .changed
        .iter()
        .find(|c| c.source.as_deref() == Some("subscribe.queue.timeout"))
        .unwrap();
    assert!(
        line.note
            .contains("1h, raised from 30s (Copilot's default): the longest of the per-topic queues', subscribe.topics.0.queue.timeout"),
        "{}",
        line.note
    );
}

#[test]
fn each_queue_setting_has_one_report_line_that_says_the_value_written() {
    let i = import_text(
        &manifest("count:\n  range: {min: 1, max: 5}\n  queue_delay:\n    acceptable_latency: 10m\n    msg_processing_time: 45s\nsubscribe:\n  queue:\n    timeout: 3s\n"),
        opts(None, None),
    )
    .unwrap();
    let about: Vec<String> = [
        &i.report.carried,
        &i.report.defaulted,
        &i.report.changed,
        &i.report.not_carried,
    ]
    .iter()
    .flat_map(|l| l.iter())
    .filter(|c| c.qfleet.as_deref() == Some("queue.visibility_timeout"))
    .map(|c| c.note.clone())
    .collect();
    assert_eq!(about.len(), 1, "{about:?}");
    assert!(about[0].starts_with("45s, raised from 3s:"), "{about:?}");
    assert!(i.stack_file.contains("visibility_timeout: 45s"));
}

#[test]
fn a_built_image_whose_context_is_not_there_is_refused_with_the_report() {
    let (path, text) = fixture("05-");
    let f = import(&path, &text, &opts(None, None)).unwrap_err();
    assert_eq!(f.error.exit_code(), crate::error::Exit::Input);
    let e = f.error.to_string();
    assert!(e.contains("cost-analyzer is not a directory"), "{e}");
    let report = f.report.expect("the report").text();
    assert!(
        report.contains("image.build (line 14) → workers.image.build"),
        "{report}"
    );
    assert!(
        report.contains("subscribe.queue.retention (line 26)"),
        "{report}"
    );
}

/// Issue 56: a topic given with --topic becomes a topic source, with SNS's envelope as
/// Copilot delivered it and its filter policy; the stack file validates and carries it. A
/// topic without an ARN stays reported, with the flag that would carry it.
#[test]
fn a_topic_given_by_arn_becomes_a_topic_source_with_its_filter_policy() {
    let arn = "arn:aws:sns:eu-west-1:111122223333:shop-test-api-ordersTopic";
    let topics = [("api/ordersTopic".to_string(), arn.to_string())];
    let i = run(
        "10-",
        Options {
            topics: &topics,
            ..opts(Some("test"), Some(IMAGE))
        },
    )
    .unwrap();
    assert_valid(&i);
    let env = crate::config::parse(PathBuf::from("imported.yaml"), i.stack_file.clone())
        .unwrap()
        .into_only();
    let t = &env.spec.sources.topics;
    assert_eq!(t.len(), 1, "{}", i.stack_file);
    assert_eq!(t[0].arn, arn);
    assert!(t[0].envelope, "Copilot's workers read SNS's envelope");
    let policy = t[0].filter_policy.as_ref().unwrap();
    assert_eq!(policy["event"][0], "order_canceled");
    let report = i.report.text();
    assert!(report.contains("subscribed as"), "{report}");

    // Without --topic: not carried, and the report says how to carry it.
    let i = run("02-", opts(None, Some(IMAGE))).unwrap();
    assert!(!i.stack_file.contains("sources:"), "{}", i.stack_file);
    assert!(
        i.report.text().contains("--topic testTopic=ARN"),
        "{}",
        i.report.text()
    );
}

/// The variables Copilot set in every task: the three qfleet knows go to
/// workers.environment (a manifest variable of the same name is kept); the queue's URL and the
/// service discovery namespace are reported, and so is a variable naming a discovered service.
#[test]
fn copilots_own_variables_are_set_or_reported_one_by_one() {
    let text = manifest(
        "variables:\n  API_URL: http://api.test.shop.local:8080/v1\n  COPILOT_SERVICE_NAME: mine\n  PLAIN: https://example.com/localized\n",
    );
    let i = import_text(
        &text,
        Options {
            app: Some("shop"),
            ..opts(Some("test"), None)
        },
    )
    .unwrap();
    assert_valid(&i);
    let file: serde_yaml_ng::Value = serde_yaml_ng::from_str(&i.stack_file).unwrap();
    let vars = &file["workers"]["environment"];
    assert_eq!(vars["COPILOT_APPLICATION_NAME"], "shop");
    assert_eq!(vars["COPILOT_ENVIRONMENT_NAME"], "test");
    assert_eq!(
        vars["COPILOT_SERVICE_NAME"], "mine",
        "the manifest's own is kept"
    );
    let report = i.report.text();
    assert!(
        report.contains("COPILOT_QUEUE_URI → workers.queue_url_as: the queue's URL"),
        "{report}"
    );
    assert_eq!(file["workers"]["queue_url_as"][0], "COPILOT_QUEUE_URI");
    assert!(
        report.contains("COPILOT_SERVICE_DISCOVERY_ENDPOINT: test.shop.local"),
        "{report}"
    );
    let discovered: Vec<_> = i
        .report
        .changed
        .iter()
        .filter(|c| c.note.contains("service discovery namespace"))
        .map(|c| c.source.clone().unwrap_or_default())
        .collect();
    assert_eq!(discovered, ["variables.API_URL"]);

    // Without --app: the application's variable is reported, not guessed.
    let i = import_text(&manifest(""), opts(None, None)).unwrap();
    let file: serde_yaml_ng::Value = serde_yaml_ng::from_str(&i.stack_file).unwrap();
    assert_eq!(file["workers"]["environment"]["COPILOT_SERVICE_NAME"], "w");
    assert!(
        file["workers"]["environment"]
            .get("COPILOT_APPLICATION_NAME")
            .is_none()
    );
    let missing: Vec<_> = i
        .report
        .not_carried
        .iter()
        .filter_map(|c| c.source.clone())
        .filter(|s| s.starts_with("COPILOT_"))
        .collect();
    assert_eq!(
        missing,
        [
            "COPILOT_APPLICATION_NAME",
            "COPILOT_ENVIRONMENT_NAME",
            "COPILOT_SERVICE_DISCOVERY_ENDPOINT"
        ]
    );
}

/// Issue 85: a manifest that sets `COPILOT_QUEUE_URI` itself keeps it (docs/copilot.md): the
/// variable is carried as written, and the queue's URL is not set under that name too (the
/// file would set it twice, which validate refuses); the report says which one the worker gets.
#[test]
fn a_manifests_own_copilot_queue_uri_is_kept() {
    let text = manifest(
        "variables:\n  COPILOT_QUEUE_URI: https://sqs.eu-west-1.amazonaws.com/111122223333/legacy\n",
    );
    let i = import_text(&text, opts(Some("test"), None)).unwrap();
    assert_valid(&i);
    let file: serde_yaml_ng::Value = serde_yaml_ng::from_str(&i.stack_file).unwrap();
    assert_eq!(
        file["workers"]["environment"]["COPILOT_QUEUE_URI"],
        "https://sqs.eu-west-1.amazonaws.com/111122223333/legacy"
    );
    assert!(
        file["workers"].get("queue_url_as").is_none(),
        "{}",
        i.stack_file
    );
    let report = i.report.text();
    assert!(
        report.contains(
            "COPILOT_QUEUE_URI → workers.environment.COPILOT_QUEUE_URI: the manifest's own value is kept"
        ),
        "{report}"
    );
    assert!(
        !report.contains("COPILOT_QUEUE_URI → workers.queue_url_as"),
        "{report}"
    );
    // Set as a secret: kept there the same way.
    let text = manifest("secrets:\n  COPILOT_QUEUE_URI: /copilot/legacy/queue-uri\n");
    let i = import_text(&text, opts(Some("test"), None)).unwrap();
    assert_valid(&i);
    let file: serde_yaml_ng::Value = serde_yaml_ng::from_str(&i.stack_file).unwrap();
    assert!(
        file["workers"].get("queue_url_as").is_none(),
        "{}",
        i.stack_file
    );
    assert!(
        i.stack_file.contains("COPILOT_QUEUE_URI"),
        "{}",
        i.stack_file
    );
}

/// Issue 66: the groups a manifest attaches are carried to workers.security_groups, beside
/// Copilot's reach (every port out) written as an egress rule; with `deny_default` the tasks
/// wore only those groups, so no rule is added; a group given as another stack's export is
/// reported, never dropped silently.
#[test]
fn the_manifests_security_groups_are_carried_and_deny_default_adds_no_egress() {
    let vpc = |groups: &str| {
        let i = import_text(
            &manifest(&format!(
                "network:\n  vpc:\n    security_groups: {groups}\n"
            )),
            opts(None, None),
        )
        .unwrap();
        assert_valid(&i);
        i
    };
    let i = vpc("[sg-0123456789abcdef0, {from_cfn: db-client-group}]");
    assert!(
        i.stack_file
            .contains("security_groups: [sg-0123456789abcdef0]"),
        "{}",
        i.stack_file
    );
    assert!(
        i.stack_file.contains("egress: [{protocol: all"),
        "{}",
        i.stack_file
    );
    assert!(
        i.report
            .not_carried
            .iter()
            .any(|n| n.note.contains("give the group's id")),
        "{}",
        i.report.text()
    );
    let i = vpc("{groups: [sg-0123456789abcdef0], deny_default: true}");
    assert!(
        i.stack_file
            .contains("security_groups: [sg-0123456789abcdef0]")
    );
    assert!(!i.stack_file.contains("egress:"), "{}", i.stack_file);
    assert!(
        i.report.text().contains("with deny_default"),
        "{}",
        i.report.text()
    );
}

/// The Copilot environment manifest beside the service's (`copilot/environments/ENV/manifest.yml`)
/// gives an imported VPC and its subnets: carried when each says its zone, refused naming the
/// subnets when not; Container Insights' setting is reported.
#[test]
fn the_environment_manifest_beside_gives_the_vpc_and_subnets_and_insights_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let service = dir.path().join("copilot/w/manifest.yml");
    let env_dir = dir.path().join("copilot/environments/prod");
    std::fs::create_dir_all(service.parent().unwrap()).unwrap();
    std::fs::create_dir_all(&env_dir).unwrap();
    let text = manifest("network:\n  vpc:\n    placement: private\n");
    let write_env = |subnets: &str| {
        std::fs::write(
            env_dir.join("manifest.yml"),
            format!("name: prod\ntype: Environment\nnetwork:\n  vpc:\n    id: vpc-0a1b2c3d4e5f67890\n    subnets:\n      public:\n        - id: subnet-0000000000000000a\n          az: eu-west-1a\n      private:\n{subnets}observability:\n  container_insights: false\n"),
        )
        .unwrap();
    };
    write_env(
        "        - id: subnet-1a1b2c3d4e5f67890\n          az: eu-west-1a\n        - id: subnet-2a1b2c3d4e5f67890\n          az: eu-west-1b\n",
    );
    let i = import(&service, &text, &opts(Some("prod"), None)).unwrap();
    assert_valid(&i);
    let s = &i.stack_file;
    assert!(s.contains("vpc: vpc-0a1b2c3d4e5f67890"), "{s}");
    assert!(s.contains("eu-west-1a: subnet-1a1b2c3d4e5f67890"), "{s}");
    assert!(s.contains("eu-west-1b: subnet-2a1b2c3d4e5f67890"), "{s}");
    assert!(
        !s.contains("subnet-0000000000000000a"),
        "the public subnets are not the tasks': {s}"
    );
    let report = i.report.text();
    assert!(report.contains("Container Insights on"), "{report}");
    assert!(
        report.contains("private subnets eu-west-1a: subnet-1a1b2c3d4e5f67890"),
        "{report}"
    );

    // Subnets without their zones: refused, naming them and the flags that give them.
    write_env("        - id: subnet-1a1b2c3d4e5f67890\n        - id: subnet-2a1b2c3d4e5f67890\n");
    let f = import(&service, &text, &opts(Some("prod"), None)).unwrap_err();
    let msg = f.error.to_string();
    assert!(msg.contains("environments/prod/manifest.yml"), "{msg}");
    assert!(
        msg.contains("subnet-1a1b2c3d4e5f67890, subnet-2a1b2c3d4e5f67890 without their zones"),
        "{msg}"
    );
    assert!(
        msg.contains("--vpc vpc-0a1b2c3d4e5f67890 --subnet ZONE=SUBNET_ID"),
        "{msg}"
    );

    // --vpc and --subnet win over the manifest's.
    let given = subnets();
    let i = import(
        &service,
        &text,
        &Options {
            vpc: Some("vpc-0fedcba9876543210"),
            subnets: &given,
            ..opts(Some("prod"), None)
        },
    )
    .unwrap();
    assert!(
        i.stack_file.contains("vpc: vpc-0fedcba9876543210"),
        "{}",
        i.stack_file
    );
}

/// Copilot hands variables to the container as the text it read: the import keeps `True`,
/// `0x10` and `1.50` as written, and the stack file gives the worker the same.
#[test]
fn variables_are_carried_as_written() {
    let text = manifest("variables:\n  DEBUG: True\n  MASK: 0x10\n  PRICE: 1.50\n  NAME: plain\n");
    let i = import_text(&text, opts(None, None)).unwrap();
    let env = crate::config::parse(PathBuf::from("imported.yaml"), i.stack_file.clone())
        .unwrap_or_else(|e| panic!("{e}\n{}", i.stack_file))
        .into_only();
    let vars = &env.spec.workers.environment;
    assert_eq!(vars["DEBUG"], "True", "{}", i.stack_file);
    assert_eq!(vars["MASK"], "0x10", "{}", i.stack_file);
    assert_eq!(vars["PRICE"], "1.50", "{}", i.stack_file);
    assert_eq!(vars["NAME"], "plain");
}

/// A service's addons (a DynamoDB table, the policy for it, its output as a variable) and
/// overrides are reported, each with what it held and what to do: never dropped silently.
#[test]
fn addons_and_overrides_beside_the_manifest_are_reported_with_what_they_held() {
    let dir = tempfile::tempdir().unwrap();
    let service = dir.path().join("copilot/w/manifest.yml");
    std::fs::create_dir_all(dir.path().join("copilot/w/addons")).unwrap();
    std::fs::create_dir_all(dir.path().join("copilot/w/overrides")).unwrap();
    std::fs::write(
        dir.path().join("copilot/w/addons/orders-table.yml"),
        "Parameters:\n  App: {Type: String}\nResources:\n  OrdersTable:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      BillingMode: PAY_PER_REQUEST\n  OrdersAccessPolicy:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Action: [dynamodb:GetItem, dynamodb:PutItem]\n            Resource: !GetAtt OrdersTable.Arn\n          - Effect: Allow\n            Action: ecs:UpdateTaskProtection\n            Resource: '*'\nOutputs:\n  OrdersTableName:\n    Value: !Ref OrdersTable\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("copilot/w/overrides/cfn.patches.yml"),
        "- op: add\n  path: /Resources/TaskDefinition/Properties/EphemeralStorage\n  value: {SizeInGiB: 50}\n",
    )
    .unwrap();
    let i = import(&service, &manifest(""), &opts(None, None)).unwrap();
    let items: Vec<(&str, &str)> = i
        .report
        .not_carried
        .iter()
        .filter_map(|x| Some((x.source.as_deref()?, x.note.as_str())))
        .collect();
    let addon = items
        .iter()
        .find(|(s, _)| *s == "addons/orders-table.yml")
        .unwrap_or_else(|| panic!("{items:?}"))
        .1;
    assert!(
        addon.contains("OrdersTable (AWS::DynamoDB::Table)"),
        "{addon}"
    );
    assert!(
        addon.contains("dynamodb:GetItem, dynamodb:PutItem, ecs:UpdateTaskProtection"),
        "{addon}"
    );
    assert!(addon.contains("(OrdersTableName)"), "{addon}");
    // The table's statement: CloudFormation named the table, so qfleet cannot; said.
    let table = items
        .iter()
        .find(|(s, _)| s.starts_with("addons/orders-table.yml (OrdersAccessPolicy, statement 1)"))
        .unwrap_or_else(|| panic!("{items:?}"))
        .1;
    assert!(
        table.contains("CloudFormation named it") && table.contains("AccessDenied"),
        "{table}"
    );
    // Task protection on "*": carried, on the environment's own tasks.
    assert!(
        i.stack_file
            .contains("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/qfleet-w/*"),
        "{}",
        i.stack_file
    );
    let patch = items
        .iter()
        .find(|(s, _)| *s == "overrides/cfn.patches.yml")
        .unwrap_or_else(|| panic!("{items:?}"))
        .1;
    assert!(patch.contains("qfleet's templates do not take"), "{patch}");
    assert!(i.report.text().contains("addons/orders-table.yml"));
}

/// Copilot's `image.build` becomes `workers.image.build`: its paths, relative to the workspace
/// (the directory holding `copilot/`), are written relative to where the stack file goes, and
/// the file validates there; `cache_from` is reported, not carried.
#[test]
fn a_built_image_is_carried_with_its_paths_relative_to_the_stack_file() {
    let root = tempfile::tempdir().unwrap();
    let svc = root.path().join("copilot/resizer");
    std::fs::create_dir_all(&svc).unwrap();
    std::fs::create_dir_all(root.path().join("worker")).unwrap();
    std::fs::create_dir_all(root.path().join("stacks")).unwrap();
    std::fs::write(root.path().join("worker/Dockerfile"), "FROM scratch\n").unwrap();
    let text = "name: resizer\ntype: Worker Service\nimage:\n  build:\n    dockerfile: worker/Dockerfile\n    context: .\n    target: run\n    args:\n      PYTHON: 3.12\n    cache_from: [x/y:latest]\n";
    let path = svc.join("manifest.yml");
    let out = root.path().join("stacks");
    let o = Options {
        out_dir: Some(&out),
        ..opts(None, None)
    };
    let i = import(&path, text, &o).unwrap_or_else(|f| panic!("{}", f.error));
    let s = &i.stack_file;
    assert!(
        s.contains(
            "    build:\n      context: \"..\"  # Copilot's image.build, relative to this file\n"
        ),
        "{s}"
    );
    assert!(
        s.contains("      dockerfile: \"../worker/Dockerfile\"\n"),
        "{s}"
    );
    assert!(
        s.contains("      target: run\n") && s.contains("        PYTHON: \"3.12\"\n"),
        "{s}"
    );
    let report = i.report.text();
    assert!(
        report.contains("image.build (line 4) → workers.image.build"),
        "{report}"
    );
    assert!(
        report.contains("image.build.cache_from (line 10)"),
        "{report}"
    );
    // Validated where it is written: the context resolves to the workspace.
    let env = crate::config::parse(out.join("resizer.yaml"), s.clone())
        .unwrap()
        .into_only();
    let b = env.image_build.expect("a build");
    assert!(b.tag.starts_with("src-"));
    // A Dockerfile named by a string: its directory is the context.
    let text = "name: resizer\ntype: Worker Service\nimage:\n  build: worker/Dockerfile\n";
    let i = import(&path, text, &o).unwrap_or_else(|f| panic!("{}", f.error));
    assert!(
        i.stack_file.contains("      context: \"../worker\"  #"),
        "{}",
        i.stack_file
    );
    assert!(
        !i.stack_file.contains("dockerfile:"),
        "the context's own Dockerfile"
    );
}

/// `count: 0`, how Copilot parks an environment, is a parked qfleet environment: no worker,
/// said in the report and by every command after.
#[test]
fn a_parked_copilot_environment_is_parked() {
    let i = import_text(&manifest("count: 0\n"), opts(None, None)).unwrap();
    assert_valid(&i);
    assert!(
        i.stack_file.contains("  min: 0\n") && i.stack_file.contains("  max: 0\n"),
        "{}",
        i.stack_file
    );
    let report = i.report.text();
    assert!(report.contains("the environment is parked"), "{report}");
    let env = crate::config::parse("imported.yaml".into(), i.stack_file.clone())
        .unwrap()
        .into_only();
    assert!(env.parked());
}

/// An addon's policy on a table it names (`TableName: !Sub ${App}-${Env}-orders`) is carried
/// into `workers.statements`, the table's ARN and its indexes' built with the stack's own
/// partition, Region and account; the stack file validates with it.
#[test]
fn an_addons_policy_on_a_named_table_is_carried_into_the_statements() {
    let dir = tempfile::tempdir().unwrap();
    let service = dir.path().join("copilot/w/manifest.yml");
    std::fs::create_dir_all(dir.path().join("copilot/w/addons")).unwrap();
    std::fs::write(
        dir.path().join("copilot/w/addons/orders.yml"),
        "Parameters:\n  App: {Type: String}\n  Env: {Type: String}\n  Name: {Type: String}\nResources:\n  OrdersTable:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: !Sub ${App}-${Env}-orders\n  OrdersAccessPolicy:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Sid: OrdersActions\n            Effect: Allow\n            Action: [dynamodb:GetItem, dynamodb:Query]\n            Resource: [!GetAtt OrdersTable.Arn, !Sub '${OrdersTable.Arn}/index/*']\n",
    )
    .unwrap();
    let o = Options {
        app: Some("shop"),
        env: None,
        ..opts(None, None)
    };
    // ${Env} without --env: not carried, and said.
    let i = import(&service, &manifest(""), &o).unwrap();
    assert!(!i.stack_file.contains("statements"), "{}", i.stack_file);
    assert!(
        i.report.text().contains("${Env} without --env"),
        "{}",
        i.report.text()
    );
    let text = format!("{}environments:\n  prod: {{}}\n", manifest(""));
    let o = Options {
        app: Some("shop"),
        ..opts(Some("prod"), None)
    };
    let i = import(&service, &text, &o).unwrap_or_else(|f| panic!("{}", f.error));
    assert_valid(&i);
    let env = crate::config::parse("imported.yaml".into(), i.stack_file.clone())
        .unwrap()
        .into_only();
    let st = &env.spec.workers.statements[0];
    assert_eq!(st.sid.as_deref(), Some("OrdersActions"));
    let table =
        "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/shop-prod-orders";
    assert_eq!(
        serde_json::to_value(&st.resource).unwrap(),
        serde_json::json!([table, format!("{table}/index/*")])
    );
    assert!(
        i.report.text().contains("→ workers.statements"),
        "{}",
        i.report.text()
    );
}

/// An `addons/` that cannot be listed is said, never taken for "no addons".
#[test]
fn an_addons_folder_that_cannot_be_listed_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let service = dir.path().join("copilot/w/manifest.yml");
    std::fs::create_dir_all(service.parent().unwrap()).unwrap();
    // A file where the folder should be: listing it fails.
    std::fs::write(dir.path().join("copilot/w/addons"), "not a folder").unwrap();
    let i = import(&service, &manifest(""), &opts(None, None)).unwrap();
    let item = i
        .report
        .not_carried
        .iter()
        .find(|x| x.source.as_deref() == Some("addons/"))
        .unwrap_or_else(|| panic!("{}", i.report.text()));
    assert!(item.note.contains("could not be listed"), "{}", item.note);
}

/// A Copilot worker that patches a GPU into its task (`taskdef_overrides`, the only way a
/// manifest can ask for one) cannot run on Fargate: the importer says so, and offers the kind
/// that runs it, and the file it offers validates once the user follows the note.
#[test]
fn a_gpu_patched_into_the_task_is_offered_ecs_managed_instances() {
    let text = manifest(
        "taskdef_overrides:\n  - path: ContainerDefinitions[0].ResourceRequirements[-]\n    value:\n      Type: GPU\n      Value: 2\n",
    );
    let i = import_text(&text, opts(None, None)).unwrap();
    assert_valid(&i);
    let note = i
        .report
        .not_carried
        .iter()
        .find(|n| n.source.as_deref() == Some("taskdef_overrides.0"))
        .unwrap();
    assert!(
        note.note.contains("2 GPUs per task")
            && note.note.contains("workers.kind: ecs_managed")
            && note.note.contains("workers.gpu: {count: 2}"),
        "{}",
        note.note
    );
    // Followed: the kind, the GPUs, the block, a network with a way out and no public IP.
    let followed: String = i
        .stack_file
        .lines()
        .filter(|l| {
            !l.contains("public_ip")
                && !l.starts_with("  network: default")
                && !l.trim_start().starts_with('#')
        })
        .map(|l| match l {
            "  kind: fargate" => "  kind: ecs_managed\n  gpu: {count: 2}\n  network: {vpc: vpc-0123456789abcdef0, subnets: {eu-west-1a: subnet-0123456789abcdef0, eu-west-1b: subnet-0123456789abcdef1}}".to_string(),
            "  fargate:" => "  ecs_managed:".to_string(),
            l => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(followed.contains("kind: ecs_managed"), "{}", i.stack_file);
    let parsed = crate::config::parse(std::path::PathBuf::from("stacks/x.yaml"), followed.clone());
    assert!(
        parsed.is_ok(),
        "{followed}\n{:?}",
        parsed.err().map(|e| e.to_string())
    );
}
