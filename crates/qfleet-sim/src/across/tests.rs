//! `--kinds`: the flag's grammar, the GPU stage (EC2 and ECS Managed Instances ranked,
//! Fargate and Lambda refused for want of a GPU), a small CPU job that Lambda fits, and the
//! management fee on the instance's price.

use super::*;
use crate::compare::parse_types;
use crate::load;
use std::path::Path;

fn gpu_env() -> Environment {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/testdata/gpu/gpu.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    crate::config::parse("stacks/gpu.yaml".into(), text)
        .unwrap()
        .into_only()
}

/// A CPU job of 2 s on a c6a.large (2 vCPUs: a 2-vCPU, 4 GB task or function), a 2-minute
/// goal, from one worker.
fn cpu_env() -> Environment {
    let yaml = "environment: orders\nregion: us-east-1\nworkers:\n  instance_type: c6a.large\n  min: 1\n  max: 10\n  network:\n    vpc: vpc-0123456789abcdef0\n    subnets:\n      us-east-1a: subnet-0123456789abcdef0\n      us-east-1b: subnet-0123456789abcdef1\nscaling:\n  max_latency_seconds: 120\n  seconds_per_message: 2\n";
    crate::config::parse("stacks/orders.yaml".into(), yaml.into())
        .unwrap()
        .into_only()
}

fn assumptions(spec: &str, duration: Option<u64>) -> Assumptions {
    Assumptions {
        duration,
        ..Assumptions::defaults(load::parse(spec, Path::new(".")).unwrap())
    }
}

#[test]
fn the_flag_takes_all_or_kinds_by_their_stack_file_names() {
    assert_eq!(parse_kinds("all").unwrap(), Kind::ALL.to_vec());
    assert_eq!(
        parse_kinds("fargate,ec2").unwrap(),
        vec![Kind::Fargate, Kind::Ec2]
    );
    for (bad, why) in [
        ("ecs", "`ecs` is no kind"),
        ("ec2,ec2", "given twice"),
        ("", "is no kind"),
    ] {
        let e = parse_kinds(bad).unwrap_err().to_string();
        assert!(e.contains("--kinds") && e.contains(why), "{bad}: {e}");
    }
}

/// A file already on ECS Managed Instances: its GPUs and its first allowed type are the job's,
/// so Fargate and Lambda are refused and both instance kinds are ranked on that type.
#[test]
fn a_managed_instances_file_is_compared_on_its_own_gpus_and_types() {
    let yaml = "environment: gm\nregion: us-east-1\nworkers:\n  kind: ecs_managed\n  image: public.ecr.aws/a/b:1\n  instance_types: [g6.xlarge, g5.xlarge]\n  gpu: {count: 1}\n  ecs_managed: {cpu: 4096, memory: 14336}\n  min: 0\n  max: 4\nscaling:\n  scale_from_zero: true\n  max_latency_seconds: 600\n  seconds_per_message: 20\n";
    let env = crate::config::parse("stacks/gm.yaml".into(), yaml.into())
        .unwrap()
        .into_only();
    let a = assumptions("poisson:0.05/s", Some(6 * 3_600));
    let (_, k) = compare(&env, &a, &Kind::ALL, None).unwrap();
    let ranked: Vec<(Kind, Option<&str>)> = k
        .rows
        .iter()
        .filter(|r| r.refused.is_none())
        .map(|r| (r.kind, r.instance_type.as_deref()))
        .collect();
    assert_eq!(ranked.len(), 2, "{:?}", k.rows);
    assert!(
        ranked.iter().all(|(_, t)| *t == Some("g6.xlarge")),
        "{ranked:?}"
    );
    for kind in [Kind::Fargate, Kind::Lambda] {
        let r = k.rows.iter().find(|r| r.kind == kind).unwrap();
        assert!(r.refused.as_deref().unwrap().contains("no GPUs"), "{r:?}");
    }
}

#[test]
fn a_gpu_stage_ranks_ec2_and_ecs_managed_instances_and_refuses_fargate_and_lambda() {
    let env = gpu_env();
    let a = assumptions("poisson:0.05/s", Some(6 * 3_600));
    let (tuning, k) = compare(&env, &a, &Kind::ALL, None).unwrap();
    let kinds: Vec<Kind> = k.rows.iter().map(|r| r.kind).collect();
    assert_eq!(kinds[2..], [Kind::Fargate, Kind::Lambda], "{kinds:?}");
    for r in &k.rows[..2] {
        let (lo, hi) = r.cost_per_day_usd.unwrap();
        assert!(lo > 0.0 && lo <= hi, "{r:?}");
        assert_eq!(r.instance_type.as_deref(), Some("g6.xlarge"));
        assert!(
            r.refused.is_none() && r.min.is_some() && r.max.is_some(),
            "{r:?}"
        );
    }
    // Ranked by the high end: the first is no dearer than the second.
    assert!(rank(&k.rows[0]).1 <= rank(&k.rows[1]).1);
    let ecs = k.rows.iter().find(|r| r.kind == Kind::EcsManaged).unwrap();
    let ec2 = k.rows.iter().find(|r| r.kind == Kind::Ec2).unwrap();
    // An accelerated type's launch, then ECS's placement at its slow end.
    assert_eq!(ec2.start_seconds, Some(rules::GPU_LAUNCH));
    assert_eq!(ecs.start_seconds, Some(rules::GPU_LAUNCH + PLACEMENT.1));
    assert!(
        ecs.lines
            .as_deref()
            .unwrap()
            .starts_with("workers:\n  kind: ecs_managed\n  instance_types: [g6.xlarge]\n")
    );
    for r in &k.rows[2..] {
        assert!(r.lines.is_none() && r.cost_per_day_usd.is_none());
        assert!(r.refused.as_deref().unwrap().contains("no GPUs"), "{r:?}");
    }
    assert_eq!(k.cheapest.as_deref(), Some(label(&k.rows[0]).as_str()));
    // The tuning kept is the first row's.
    assert_eq!(tuning.choices[0].min, k.rows[0].min.unwrap());
    // Every figure says whose it is; AWS's name their page.
    assert!(k.figures.iter().all(|f| match f.basis {
        "aws" => f.source.starts_with("https://"),
        "modelled" => !f.source.is_empty(),
        _ => false,
    }));
    let text = text("gpu", &k);
    assert!(
        text.contains("Fargate: no GPUs") && text.contains("Lambda: no GPUs"),
        "{text}"
    );
}

#[test]
fn a_small_cpu_job_that_lambda_fits_is_ranked_with_its_concurrency() {
    let env = cpu_env();
    let a = assumptions("poisson:1/s", Some(2 * 3_600));
    let (_, k) = compare(&env, &a, &[Kind::Lambda, Kind::Fargate], None).unwrap();
    assert_eq!(k.rows.len(), 2);
    let lambda = k.rows.iter().find(|r| r.kind == Kind::Lambda).unwrap();
    assert!(lambda.refused.is_none(), "{lambda:?}");
    let m = lambda.max_concurrency.unwrap();
    assert!((2..=rules::LAMBDA_MAX).contains(&m), "{m}");
    assert!(lambda.cost_per_day_usd.unwrap().0 > 0.0);
    let lines = lambda.lines.as_deref().unwrap();
    assert!(
        lines.contains("kind: lambda") && lines.contains(&format!("max_concurrency: {m}")),
        "{lines}"
    );
    // A job of 2 s a message on 2 GB: Lambda's price a day is GB-seconds of work, far below
    // a task kept up all day; it ranks first.
    assert_eq!(k.rows[0].kind, Kind::Lambda, "{k:?}");
    let fargate = &k.rows[1];
    assert!(fargate.lines.as_deref().unwrap().contains("kind: fargate"));
}

#[test]
fn lambda_refuses_a_job_over_15_minutes_and_over_10240_mb() {
    let env = cpu_env();
    let mut a = assumptions("poisson:1/s", Some(3_600));
    a.seconds_per_message = Some(800.0);
    let why = lambda_refusal(&env, &a, 2_048).unwrap();
    assert!(why.contains("960 s") && why.contains("15 minutes"), "{why}");
    a.seconds_per_message = Some(2.0);
    assert_eq!(lambda_refusal(&env, &a, 2_048), None);
    let why = lambda_refusal(&env, &a, 16_384).unwrap();
    assert!(why.contains("16384 MB") && why.contains("10240"), "{why}");
    // A c6a.2xlarge's job (8 vCPUs, so 16 GB): over Lambda's memory, refused with why.
    let big = parse_types("c6a.2xlarge").unwrap();
    assert_eq!(task_size(&env, &big), (8_192, 16_384));
    let (_, k) = compare(&env, &a, &[Kind::Lambda, Kind::Fargate], Some(&big)).unwrap();
    assert_eq!(k.rows[1].kind, Kind::Lambda);
    assert!(
        k.rows[1]
            .refused
            .as_deref()
            .unwrap()
            .contains("over Lambda's 10240 MB")
    );
}

#[test]
fn ecs_managed_instances_cost_the_instance_and_aws_s_fee_for_each_task_hour() {
    // The pricing page's example: $0.037 an hour on a c6a.2xlarge, $0.306 on demand.
    assert_eq!(fee_hour("us-east-1", "c6a.2xlarge"), Some((0.037, 0.037)));
    assert_eq!(
        price::instance_hour("us-east-1", "c6a.2xlarge"),
        Some(0.306)
    );
    // Another type: the modelled share of its price, a range.
    let h = price::instance_hour("us-east-1", "g6.xlarge").unwrap();
    let (lo, hi) = fee_hour("us-east-1", "g6.xlarge").unwrap();
    assert!((lo / h - 0.0605).abs() < 1e-3 && (hi / h - 0.2418).abs() < 1e-3);
    let env = cpu_env();
    let a = assumptions("poisson:1/s", Some(2 * 3_600));
    let types = parse_types("c6a.2xlarge").unwrap();
    let mut out = Vec::new();
    ecs_managed_rows(&env, &a, &types, &mut tune::Runs::default(), &mut out).unwrap();
    let (row, tuning) = &out[0];
    let hours = tuning.as_ref().unwrap().choices[0].resources_per_day;
    let (lo, hi) = row.cost_per_day_usd.unwrap();
    assert!(
        (lo - hours * (0.306 + 0.037)).abs() < 1e-9 && lo == hi,
        "{row:?}"
    );
    // The fee over EC2's price on the same task-hours is the documented amount.
    assert!((lo - hours * 0.306 - hours * 0.037).abs() < 1e-9);
    assert_eq!(row.start_seconds, Some(rules::EC2_LAUNCH + PLACEMENT.1));
}
