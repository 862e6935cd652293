//! `--instance-types`: the flag's grammar, what it refuses, and the comparison of types by
//! their cheapest settings' cost a day, on a GPU fleet's stack file
//! (`testdata/gpu/gpu.yaml`: g6.xlarge, 20 s a job, a 10-minute goal, from zero).

use super::*;
use crate::load;
use std::path::Path;

fn gpu_env(region: &str) -> Environment {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/testdata/gpu/gpu.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("us-east-1", region);
    crate::config::parse("stacks/gpu.yaml".into(), text)
        .unwrap()
        .into_only()
}

fn assumptions(spec: &str) -> Assumptions {
    Assumptions::defaults(load::parse(spec, Path::new(".")).unwrap())
}

fn types(text: &str) -> Vec<TypeSpec> {
    parse_types(text).unwrap()
}

#[test]
fn the_flag_takes_types_with_their_own_figures_and_names_itself_when_refusing() {
    assert_eq!(
        types("g6.xlarge,g6e.xlarge:2,g6.12xlarge:4:12.5"),
        vec![
            TypeSpec {
                name: "g6.xlarge".into(),
                per_instance: None,
                seconds_per_message: None
            },
            TypeSpec {
                name: "g6e.xlarge".into(),
                per_instance: Some(2),
                seconds_per_message: None
            },
            TypeSpec {
                name: "g6.12xlarge".into(),
                per_instance: Some(4),
                seconds_per_message: Some(12.5)
            },
        ]
    );
    for (bad, why) in [
        ("G6.xlarge", "is not an EC2 instance type"),
        ("g6", "is not an EC2 instance type"),
        ("g6.xlarge,", "is not an EC2 instance type"),
        ("g6.xlarge:0", "whole number of messages"),
        ("g6.xlarge:two", "whole number of messages"),
        ("g6.xlarge:1:0", "seconds above 0"),
        ("g6.xlarge:1:nan", "seconds above 0"),
        ("g6.xlarge:1:2:3", "at most TYPE:N:S"),
        ("g6.xlarge,g6.xlarge:2", "given twice"),
        (
            "g6.xlarge,g6.2xlarge,g6.4xlarge,g6.8xlarge,g6.12xlarge,g6.16xlarge,g6.24xlarge,g6.48xlarge,g6e.xlarge,g6e.2xlarge,g6e.4xlarge",
            "more than 10",
        ),
    ] {
        let e = parse_types(bad).unwrap_err().to_string();
        assert!(
            e.starts_with("--instance-types ") && e.contains(why) && e.contains("g6e.xlarge:2:1.5"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn what_cannot_be_compared_is_refused_naming_the_flag() {
    let a = assumptions("poisson:0.1/s");
    let e = gpu_env("us-east-1");
    // A Graviton type beside an x86 file: one AMI runs one architecture.
    let err = compare(&e, &a, &types("g6.xlarge,g5g.xlarge"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("--instance-types") && err.contains("`g5g.xlarge` is an arm64"),
        "{err}"
    );
    // A name in no Region of the table: misspelt, most likely.
    let err = compare(&e, &a, &types("g6.xlarge,g6e.xlage"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`g6e.xlage` is in no Region"), "{err}");
    // Workers that are no EC2 group.
    let lambda = crate::config::parse(
        "stacks/f.yaml".into(),
        "region: us-east-1\nworkers:\n  kind: lambda\n".into(),
    )
    .unwrap()
    .into_only();
    let err = compare(&lambda, &a, &types("g6.xlarge"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("runs lambda workers"), "{err}");
}

#[test]
fn the_types_are_ranked_by_their_cheapest_settings_cost_a_day_and_the_cheapest_s_lines_printed() {
    let e = gpu_env("us-east-1");
    let a = assumptions("poisson:0.1/s");
    let (t, c) = compare(&e, &a, &types("g6e.xlarge,g6.xlarge")).unwrap();
    let names: Vec<&str> = c.types.iter().map(|r| r.instance_type.as_str()).collect();
    // The same work on each (the file's 20 s, one at a time): the cheaper hour wins.
    assert_eq!(names, ["g6.xlarge", "g6e.xlarge"]);
    assert_eq!(c.cheapest.as_deref(), Some("g6.xlarge"));
    let (g6, g6e) = (&c.types[0], &c.types[1]);
    assert_eq!(
        (g6.usd_per_hour, g6e.usd_per_hour),
        (Some(0.8048), Some(1.861))
    );
    assert!(g6.cost_per_day_usd.unwrap() < g6e.cost_per_day_usd.unwrap());
    // The tuning returned is the cheapest type's: its first choice is the row's cost.
    assert_eq!(t.choices[0].cost_per_day_usd, g6.cost_per_day_usd);
    assert!(t.choices[0].cost_per_day_usd.unwrap() > 0.0);
    // Each as its own tuning would find it alone.
    let alone = tune::tune_as(&e, &a, Some("g6e.xlarge")).unwrap();
    assert_eq!(alone.choices[0].cost_per_day_usd, g6e.cost_per_day_usd);
    // The file's own type needs no line; the accelerated launch default is each row's.
    assert!(
        !t.choices[0].lines.contains("instance_type"),
        "{}",
        t.choices[0].lines
    );
    assert_eq!((g6.launch_seconds, g6e.launch_seconds), (300, 300));
    let text = super::text("gpu", &t, &c);
    assert!(
        text.starts_with(&format!(
            "gpu: the cheapest of 2 instance types at the goal is g6.xlarge: ${:.2} a day",
            g6.cost_per_day_usd.unwrap()
        )),
        "{text}"
    );
    assert!(text.contains("As g6.xlarge, the cheapest type:"), "{text}");
    assert!(text.contains("Paste these lines"), "{text}");
}

#[test]
fn a_type_said_faster_can_win_and_its_lines_set_the_type_and_its_time() {
    // g6e said to take 5 s a job where g6 takes 20: a quarter of the time at 2.3 times the
    // hour's price.
    let e = gpu_env("us-east-1");
    let a = assumptions("poisson:0.2/s");
    let (t, c) = compare(&e, &a, &types("g6.xlarge,g6e.xlarge:1:5")).unwrap();
    assert_eq!(c.cheapest.as_deref(), Some("g6e.xlarge"), "{:?}", c.types);
    assert_eq!(c.types[0].seconds_per_message, 5.0);
    assert_eq!(c.types[1].seconds_per_message, 20.0);
    let lines = &t.choices[0].lines;
    assert!(
        lines.contains("  instance_type: g6e.xlarge\n") && lines.contains("seconds_per_message: 5"),
        "{lines}"
    );
    // Its launch time is said, as a default.
    assert!(
        t.launch
            .as_deref()
            .unwrap()
            .contains("accelerated type (g6e.xlarge)")
    );
}

#[test]
fn a_type_the_region_does_not_price_is_said_missing_and_ranked_after_every_priced_one() {
    // g6 is not sold in eu-west-1 on the table's day; g5 is.
    let e = gpu_env("eu-west-1");
    let a = assumptions("poisson:0.1/s");
    let (_, c) = compare(&e, &a, &types("g6.xlarge,g5.xlarge")).unwrap();
    assert_eq!(c.cheapest.as_deref(), Some("g5.xlarge"));
    let g6 = &c.types[1];
    assert_eq!(g6.instance_type, "g6.xlarge");
    assert_eq!((g6.usd_per_hour, g6.cost_per_day_usd), (None, None));
    assert!(
        g6.note.as_deref().unwrap().contains("price missing"),
        "{g6:?}"
    );
    let text = table_text("gpu", &c);
    assert!(
        text.contains("price missing") && text.contains("missing "),
        "{text}"
    );
    // Only missing prices: no cheapest, and the text says so.
    let (t, c) = compare(&e, &a, &types("g6.xlarge")).unwrap();
    assert_eq!(c.cheapest, None);
    assert!(super::text("gpu", &t, &c).contains("no type of the 1 compared has both a price"));
}
