//! The templates render what the simulator's model takes from the stack file: the model's own
//! tests (crates/qfleet-sim) check that it takes these values; these check that the rendered
//! stacks carry the same ones.

use crate::config::{Environment, headroom};
use crate::kinds::fargate::{SCALE_IN_COOLDOWN, SCALE_OUT_COOLDOWN, START_COOLDOWN};

const NETWORK: &str = "  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      eu-west-1a: subnet-0123456789abcdef0\n      eu-west-1b: subnet-0123456789abcdef1\n";

fn env(yaml: &str) -> Environment {
    crate::config::parse("stacks/t.yaml".into(), yaml.to_string())
        .unwrap()
        .into_only()
}

fn template_with(e: &Environment, text: &str) -> String {
    crate::render::render(e)
        .unwrap()
        .into_iter()
        .find(|s| s.template.contains(text))
        .unwrap_or_else(|| panic!("no template with {text}"))
        .template
}

#[test]
fn an_ec2_fleet_renders_the_target_and_step_scale_in_the_model_runs() {
    // The file of the model's test the_model_uses_the_values_the_templates_render.
    let e = env(&format!(
        "region: eu-west-1\nqueue:\n  visibility_timeout: 90\n  max_receive_count: 4\nscaling:\n  max_latency_seconds: 60\n  seconds_per_message: 2\n  scale_from_zero: true\nworkers:\n  min: 0\n  max: 7\n  instance_warmup: 45\n{NETWORK}"
    ));
    let fleet = template_with(&e, "TargetValue");
    let target = headroom::target(60.0, 2.0, 7, None);
    assert!(
        fleet.contains(&format!("TargetValue: {target}\n")),
        "rendered target {target}"
    );
    // The step scale-in the model runs: 10 % below 75 % of the target for 10 minutes, 300 s.
    assert!(fleet.contains("ScalingAdjustment: -10\n"));
    assert!(fleet.contains("EvaluationPeriods: 10\n"));
    assert!(fleet.contains("Cooldown: \"300\"\n"));
    assert!(fleet.contains(&format!(
        "Threshold: {}\n",
        (target * 0.75 * 1_000.0).round() / 1_000.0
    )));
}

#[test]
fn a_fargate_service_renders_the_cooldowns_the_model_runs() {
    let e = env(&format!(
        "region: eu-west-1\nlab: true\nscaling:\n  max_latency_seconds: 60\n  seconds_per_message: 2\n  scale_from_zero: true\nworkers:\n  kind: fargate\n  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker:1.0\n  min: 0\n  max: 12\n{NETWORK}"
    ));
    let fleet = template_with(&e, "ScaleOutCooldown");
    assert_eq!(
        (SCALE_OUT_COOLDOWN, SCALE_IN_COOLDOWN, START_COOLDOWN),
        (60, 120, 180)
    );
    assert!(fleet.contains(&format!("ScaleOutCooldown: {SCALE_OUT_COOLDOWN}")));
    assert!(fleet.contains(&format!("ScaleInCooldown: {SCALE_IN_COOLDOWN}")));
    assert!(fleet.contains(&format!("Cooldown: {START_COOLDOWN}")));
}

#[test]
fn a_lambda_mapping_reports_batch_item_failures_as_the_model_assumes() {
    // The model returns a failed message alone from its batch.
    let e = env("region: eu-west-1\nworkers:\n  kind: lambda\n");
    let stacks = crate::render::render(&e).unwrap();
    assert!(
        stacks.iter().any(|s| s
            .template
            .contains("FunctionResponseTypes:\n        - ReportBatchItemFailures")),
        "the mapping reports batch item failures"
    );
}

fn assumptions(load: &str) -> super::Assumptions {
    super::Assumptions {
        load: super::parse_load(load, std::path::Path::new(".")).unwrap(),
        duration: None,
        seconds_per_message: None,
        spread: 0.0,
        failure_rate: 0.0,
        launch_time: Some(60),
        per_instance: 1,
        seed: 1,
        max_latency: None,
        margin: 0.1,
        priority_share: 0.0,
    }
}

#[test]
fn the_command_exits_3_when_a_goal_is_missed_0_when_met_and_2_for_a_refused_run() {
    use crate::output::Report;
    let e = env(&format!(
        "region: eu-west-1\nlab: true\nscaling:\n  max_latency_seconds: 60\n  seconds_per_message: 1\nworkers:\n  min: 1\n  max: 2\n{NETWORK}"
    ));
    let one = std::slice::from_ref(&e);
    let missed = super::simulate_all(one, &assumptions("burst:5000@60s"), None).unwrap();
    assert_eq!(missed.exit_code(), 3);
    let met = super::simulate_all(one, &assumptions("steady:0.5/s"), None).unwrap();
    assert_eq!(met.exit_code(), 0);
    // The simulator's refusals are invalid input: a bad --load, a missing processing time.
    let bad_load = super::parse_load("sine:10/s", std::path::Path::new(".")).unwrap_err();
    assert_eq!(crate::error::Error::from(bad_load).exit_code(), 2);
    let unset = env(&format!(
        "region: eu-west-1\nscaling:\n  target_backlog_per_instance: 20\nworkers:\n  min: 1\n{NETWORK}"
    ));
    let refused = super::simulate_all(
        std::slice::from_ref(&unset),
        &assumptions("steady:1/s"),
        None,
    );
    let Err(err) = refused else {
        panic!("a run without a processing time is refused")
    };
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("--seconds-per-message"), "{err}");
}

#[test]
fn a_priority_share_needs_the_lane_and_the_document_gets_each_lanes_latency() {
    let file = |queue: &str| {
        env(&format!(
            "region: eu-west-1\nlab: true\n{queue}scaling:\n  max_latency_seconds: 60\n  seconds_per_message: 1\nworkers:\n  min: 2\n  max: 2\n{NETWORK}"
        ))
    };
    let a = super::Assumptions {
        priority_share: 0.25,
        duration: Some(600),
        ..assumptions("steady:1/s")
    };
    // Without queue.priority: refused, exit 2, saying what to add.
    let without = file("");
    let Err(err) = super::simulate_all(std::slice::from_ref(&without), &a, None) else {
        panic!("a share without a priority lane is refused")
    };
    assert_eq!(err.exit_code(), 2);
    let message = err.to_string();
    assert!(
        message.contains("--priority-share 0.25") && message.contains("add queue.priority"),
        "{message}"
    );
    // With it: each lane's jobs and latency, in the document as `lanes`.
    let with = file("queue:\n  priority: {}\n");
    let runs = super::simulate_all(std::slice::from_ref(&with), &a, None).unwrap();
    let doc = crate::output::document_of("simulate", &runs);
    let lanes = &doc["environments"][0]["lanes"];
    assert_eq!(lanes["priority_share"], 0.25, "{doc}");
    let arrived = |lane: &str| lanes[lane]["arrived"].as_u64().unwrap();
    assert_eq!(arrived("priority") + arrived("ordinary"), 600, "{doc}");
    assert!(lanes["ordinary"]["latency"]["p95"].is_u64(), "{doc}");
    // Without a share, no `lanes`: the document is as before.
    let plain = super::simulate_all(
        std::slice::from_ref(&with),
        &assumptions("steady:1/s"),
        None,
    )
    .unwrap();
    let doc = crate::output::document_of("simulate", &plain);
    assert!(doc["environments"][0].get("lanes").is_none(), "{doc}");
}

#[test]
fn tune_with_kinds_documents_each_kind_ranked_and_the_refused_last_with_why() {
    let e = env(
        "region: us-east-1\nlab: true\nscaling:\n  max_latency_seconds: 600\n  seconds_per_message: 20\n  scale_from_zero: true\nworkers:\n  instance_type: g6.xlarge\n  gpu: {count: 1}\n  min: 0\n  max: 8\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      us-east-1a: subnet-0123456789abcdef0\n      us-east-1b: subnet-0123456789abcdef1\n",
    );
    let one = std::slice::from_ref(&e);
    let a = super::Assumptions {
        duration: Some(4 * 3_600),
        launch_time: None,
        spread: 0.2,
        ..assumptions("poisson:0.05/s")
    };
    let kinds = super::parse_kinds("all").unwrap();
    let tuned = super::tune_all(one, &a, None, Some(&kinds)).unwrap();
    let doc = crate::output::document_of("simulate", &tuned);
    let env0 = &doc["environments"][0];
    let rows = env0["kinds"]["rows"].as_array().unwrap();
    let kind = |i: usize| rows[i]["kind"].as_str().unwrap();
    assert_eq!(rows.len(), 4, "{doc}");
    // EC2 and ECS Managed Instances priced and ranked by cost; Fargate and Lambda refused.
    let mut ranked = [kind(0), kind(1)];
    ranked.sort_unstable();
    assert_eq!(ranked, ["ec2", "ecs_managed"], "{doc}");
    assert_eq!([kind(2), kind(3)], ["fargate", "lambda"], "{doc}");
    let high = |i: usize| rows[i]["cost_per_day_usd"][1].as_f64().unwrap();
    assert!(high(0) <= high(1), "{doc}");
    for row in &rows[2..] {
        assert!(
            row["refused"].as_str().unwrap().contains("no GPUs"),
            "{doc}"
        );
        assert!(row["lines"].is_null(), "{doc}");
    }
    let figures = env0["kinds"]["figures"].as_array().unwrap();
    assert!(
        figures
            .iter()
            .any(|f| f["basis"] == "aws" && f["source"] == "https://aws.amazon.com/ecs/pricing/"),
        "{doc}"
    );
    assert!(figures.iter().any(|f| f["basis"] == "modelled"), "{doc}");
    // The tuning beside it is the first row's: its lines are the first row's.
    assert_eq!(env0["choices"][0]["min"], rows[0]["min"], "{doc}");
    // Without --kinds the document has no `kinds`: as before.
    let plain = super::tune_all(one, &a, None, None).unwrap();
    let doc = crate::output::document_of("simulate", &plain);
    assert!(doc["environments"][0].get("kinds").is_none(), "{doc}");
}
