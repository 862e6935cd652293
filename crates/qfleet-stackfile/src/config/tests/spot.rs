//! `workers.instance_types` and `workers.spot`: several instance types of one architecture and
//! a Spot share above an On-Demand base, each mistake named with its file, line and field.

use super::{error, errors, parse_str};

const ARM: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64";

fn arm_workers(rest: &str) -> String {
    format!("region: eu-west-1\nworkers:\n  ami: {ARM}\n{rest}")
}

#[test]
fn several_types_of_the_amis_architecture_and_a_spot_share_are_valid() {
    let env = parse_str(&arm_workers(
        "  instance_types: [m7g.large, m6g.large, c7g.large]\n  spot: {percent: 70, on_demand_base: 1}\n  max: 4\n",
    ))
    .unwrap()
    .into_only();
    let w = &env.spec.workers;
    assert_eq!(w.types(), ["m7g.large", "m6g.large", "c7g.large"]);
    assert!(w.mixed());
    assert_eq!((w.spot.percent, w.spot.on_demand_base), (70, 1));
}

#[test]
fn the_default_is_one_type_and_no_spot() {
    let w = parse_str("region: eu-west-1\n")
        .unwrap()
        .into_only()
        .spec
        .workers;
    assert_eq!(w.types(), ["t3.micro"]);
    assert_eq!((w.spot.percent, w.spot.on_demand_base), (0, 0));
    assert!(!w.mixed());
}

#[test]
fn instance_types_takes_two_to_twenty_distinct_types() {
    let e = error(
        &arm_workers("  instance_types: [m7g.large]\n"),
        "workers.instance_types",
        4,
    );
    assert!(
        e.message.contains("1 type given") && e.message.contains("instance_type"),
        "{e}"
    );
    let many: Vec<String> = (1..=21).map(|i| format!("m7g.{i}xlarge")).collect();
    let e = error(
        &arm_workers(&format!("  instance_types: [{}]\n", many.join(", "))),
        "workers.instance_types",
        4,
    );
    assert!(e.message.contains("21 types given"), "{e}");
    let e = error(
        &arm_workers("  instance_types: [m7g.large, m7g.large]\n"),
        "workers.instance_types",
        4,
    );
    assert!(e.message.contains("m7g.large is listed twice"), "{e}");
    let e = error(
        &arm_workers("  instance_types: [m7g.large, huge]\n"),
        "workers.instance_types",
        4,
    );
    assert!(
        e.message.contains("`huge` is not an EC2 instance type"),
        "{e}"
    );
    assert!(
        e.allowed
            .as_deref()
            .is_some_and(|a| a.contains("one architecture"))
    );
}

#[test]
fn instance_types_share_one_architecture_and_it_is_the_amis() {
    let e = error(
        &arm_workers("  instance_types: [m7g.large, m5.large]\n"),
        "workers.instance_types",
        4,
    );
    assert!(
        e.message
            .contains("m7g.large is Arm (Graviton) but m5.large is x86_64"),
        "{e}"
    );
    // The default AMI is x86_64: Graviton types need the arm64 image, and the error says which.
    let e = error(
        "region: eu-west-1\nworkers:\n  instance_types: [m7g.large, c7g.large]\n",
        "workers.instance_types",
        3,
    );
    assert!(e.message.contains("al2023-ami-kernel-default-arm64"), "{e}");
    parse_str("region: eu-west-1\nworkers:\n  instance_types: [m7i.large, m6i.large]\n").unwrap();
}

#[test]
fn instance_type_and_instance_types_are_exclusive() {
    let e = error(
        "region: eu-west-1\nworkers:\n  instance_type: m7i.large\n  instance_types: [m7i.large, m6i.large]\n",
        "workers.instance_type",
        3,
    );
    assert!(e.message.contains("not both"), "{e}");
}

#[test]
fn the_spot_share_is_a_percent_and_the_base_fits_in_the_group() {
    let e = error(
        "region: eu-west-1\nworkers:\n  spot:\n    percent: 101\n",
        "workers.spot.percent",
        4,
    );
    assert!(
        e.message.contains("101% is out of range (0% to 100%)"),
        "{e}"
    );
    let e = error(
        "region: eu-west-1\nworkers:\n  max: 3\n  spot:\n    percent: 50\n    on_demand_base: 4\n",
        "workers.spot.on_demand_base",
        6,
    );
    assert!(e.message.contains("greater than workers.max (3)"), "{e}");
    // A negative base is a type error, said in words.
    let list = errors("region: eu-west-1\nworkers:\n  spot: {percent: 50, on_demand_base: -1}\n");
    assert_eq!(list[0].field, "workers.spot.on_demand_base");
    assert!(list[0].message.contains("0 or more"), "{}", list[0]);
}

#[test]
fn spot_and_instance_types_are_ec2_settings() {
    let list = errors(
        "region: eu-west-1\nworkers:\n  kind: lambda\n  instance_types: [m7i.large, m6i.large]\n  spot: {percent: 50}\n",
    );
    let fields: Vec<&str> = list.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["workers.instance_types", "workers.spot"]);
    // Fargate tasks take Spot too; instance types are EC2's alone.
    assert!(list[0].message.contains("EC2 workers only"), "{}", list[0]);
    assert!(
        list[1].message.contains("EC2 and Fargate workers only"),
        "{}",
        list[1]
    );
}

/// Each instance type in each zone is a Spot capacity pool of its own, and AWS's Spot best
/// practices ask for flexibility across instance types
/// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-best-practices.html): Spot with
/// one type is allowed, and said.
#[test]
fn spot_with_a_single_type_is_a_warning() {
    let one = parse_str("region: eu-west-1\nworkers:\n  spot: {percent: 50}\n")
        .unwrap()
        .into_only();
    let w = super::warnings::warnings(&one);
    assert!(
        w.iter().any(
            |w| w.contains("workers.spot with the one instance type t3.micro")
                && w.contains("workers.instance_types")
        ),
        "{w:?}"
    );
    let several = parse_str(
        "region: eu-west-1\nworkers:\n  instance_types: [m7i.large, m6i.large]\n  spot: {percent: 50}\n",
    )
    .unwrap()
    .into_only();
    assert!(
        !super::warnings::warnings(&several)
            .iter()
            .any(|w| w.contains("workers.spot")),
    );
    let base_only = parse_str("region: eu-west-1\nworkers:\n  spot: {on_demand_base: 1}\n")
        .unwrap()
        .into_only();
    assert!(
        super::warnings::warnings(&base_only)
            .iter()
            .any(|w| w.contains("on_demand_base: 1 with spot.percent 0")),
    );
}
