//! Malformed input of every sort gets a located error, never a panic: nesting too deep, a
//! byte-order mark, numbers out of range, a directory for a stack file, regions AWS does not
//! have, and problems in the file's order.

use super::*;
use crate::config::Error;

/// A block mapping nested `depth` levels deep (`a:` under `a:` …), as a runaway generator
/// writes it: 2,800 levels make a file of about 9 MB.
fn nested_block(depth: usize) -> String {
    let mut s = String::from("region: eu-west-1\n");
    for i in 0..depth {
        s.push_str(&"  ".repeat(i));
        s.push_str("a:\n");
    }
    s.push_str(&"  ".repeat(depth));
    s.push_str("b: 1\n");
    s
}

#[test]
fn the_nine_megabyte_file_nested_2800_levels_deep_is_refused_without_a_crash() {
    let yaml = nested_block(2_800);
    assert!(yaml.len() > MAX_FILE_BYTES);
    let list = errors(&yaml);
    assert!(list[0].message.contains("too large"), "{}", list[0]);
    // The index that runs first reads it level by level, and stops at the limit.
    let index = positions::Locations::index(&yaml);
    let (pos, top) = index.too_deep().unwrap();
    // The top-level mapping is level 1 (line 1); level N starts on line N + 1.
    assert_eq!((pos.line, top), (MAX_DEPTH + 2, "a"));
}

#[test]
fn nesting_too_deep_is_refused_before_any_parser_recurses() {
    for yaml in [
        nested_block(300),
        format!(
            "region: eu-west-1\ntags: {}{}\n",
            "[".repeat(5_000),
            "]".repeat(5_000)
        ),
        format!(
            "region: eu-west-1\ntags: {}\n",
            "{a: ".repeat(5_000) + &"}".repeat(5_000)
        ),
        format!("region: eu-west-1\nworkers:\n{}1\n", "  - ".repeat(3_000)),
    ] {
        let list = errors(&yaml);
        assert_eq!(list.len(), 1, "{list:#?}");
        let e = &list[0];
        assert!(e.message.contains("nested"), "{e}");
        assert!(e.message.contains(&MAX_DEPTH.to_string()), "{e}");
        assert!(e.line >= 2, "located at the level that is too deep: {e}");
        assert!(e.allowed.is_some(), "{e:?}");
        assert!(
            e.field.len() <= "workers".len(),
            "the top-level key, not the path: {e}"
        );
    }
}

#[test]
fn a_file_that_is_not_utf8_is_located_at_its_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, b"region: eu-west-1\ntags:\n  team: caf\xe9\n").unwrap();
    let Err(Error::Input(list)) = load(&path) else {
        panic!("a file that is not UTF-8 must be refused")
    };
    assert_eq!((list[0].line, list[0].column), (3, 12), "{}", list[0]);
    assert!(list[0].message.contains("not UTF-8"), "{}", list[0]);
    // UTF-16 as Windows tools write it: little-endian, after its byte-order mark.
    let utf16: Vec<u8> = "\u{feff}region: eu-west-1\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    std::fs::write(&path, utf16).unwrap();
    let Err(Error::Input(list)) = load(&path) else {
        panic!("a UTF-16 file must be refused")
    };
    assert!(list[0].message.contains("UTF-16"), "{}", list[0]);
}

#[test]
fn nesting_within_the_limit_is_read_as_usual() {
    // A deep but legal value is reported as the unknown key it is, not as too deep.
    // `nested_block(n)` is n + 1 levels deep, counting the top-level mapping.
    let list = errors(&nested_block(MAX_DEPTH - 1));
    assert!(list[0].message.contains("unknown field `a`"), "{}", list[0]);
    let list = errors(&nested_block(MAX_DEPTH));
    assert!(list[0].message.contains("nested more than"), "{}", list[0]);
}

#[test]
fn a_file_too_large_is_refused_with_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    let mut text = String::from("region: eu-west-1\n");
    while text.len() <= MAX_FILE_BYTES {
        text.push_str("# a comment line to fill the file with\n");
    }
    std::fs::write(&path, &text).unwrap();
    let Err(Error::Input(list)) = load(&path) else {
        panic!("a file over the limit must be refused")
    };
    assert!(list[0].message.contains("too large"), "{}", list[0]);
    assert!(list[0].message.contains("1 MiB"), "{}", list[0]);
    assert!(
        list[0].allowed.as_deref().unwrap().contains("at most"),
        "{:?}",
        list[0]
    );
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let env = parse_str("\u{feff}region: eu-west-1\nworkers:\n  max: 3\n")
        .unwrap()
        .into_only();
    assert_eq!(env.spec.region, "eu-west-1");
    assert_eq!(env.spec.workers.max, 3);
    // Errors still point at the right line and column.
    let e = error(
        "\u{feff}region: eu-west-1\nworkers:\n  mxa: 3\n",
        "workers.mxa",
        3,
    );
    assert_eq!(e.column, 3, "{e}");
}

#[test]
fn a_number_out_of_range_says_the_range() {
    for (yaml, field, line, range) in [
        (
            "region: eu-west-1\nworkers:\n  max: 99999999999999999999999\n",
            "workers.max",
            3,
            "from 0 to 1000",
        ),
        (
            "region: eu-west-1\nworkers:\n  max: -99999999999999999999999\n",
            "workers.max",
            3,
            "from 0 to 1000",
        ),
        (
            "region: eu-west-1\ncopies: 99999999999999999999999\n",
            "copies",
            2,
            "from 1 to 100",
        ),
        (
            "region: eu-west-1\nqueue:\n  max_receive_count: 99999999999999999999999\n",
            "queue.max_receive_count",
            3,
            "1",
        ),
    ] {
        let e = error(yaml, field, line);
        assert!(e.message.contains("out of range"), "{e}");
        assert!(e.message.contains(range), "says the range allowed: {e}");
        assert!(
            !e.message.contains("u128") && !e.message.contains("i128"),
            "{e}"
        );
        assert!(e.allowed.is_some(), "{e:?}");
    }
}

#[test]
fn a_directory_is_not_a_stack_file() {
    let dir = tempfile::tempdir().unwrap();
    let stacks = dir.path().join("stacks");
    std::fs::create_dir(&stacks).unwrap();
    let target = format!("{}/", stacks.display());
    let e = locate(&target, &stacks).unwrap_err().to_string();
    assert!(e.contains("is a directory"), "{e}");
    assert!(!e.contains("does not exist"), "{e}");
    assert!(e.contains("a stack file"), "says what is expected: {e}");
    // Also a directory named like an environment in the stacks directory.
    std::fs::create_dir(stacks.join("lab.yaml")).unwrap();
    let e = locate("lab", &stacks).unwrap_err().to_string();
    assert!(e.contains("is a directory"), "{e}");
}

#[test]
fn an_unknown_region_is_refused_with_the_closest_one() {
    let e = error("region: eu-westt-1\n", "region", 1);
    assert!(e.message.contains("did you mean `eu-west-1`?"), "{e}");
    assert!(
        e.message.contains("region_unlisted"),
        "names the way out: {e}"
    );
    let e = error("region: us-gov-east-2\n", "region", 1);
    assert!(e.message.contains("not a region"), "{e}");
    for known in [
        "eu-west-1",
        "us-gov-west-1",
        "cn-northwest-1",
        "ap-southeast-5",
        "mx-central-1",
    ] {
        parse_str(&format!("region: {known}\n")).unwrap_or_else(|e| panic!("{known}: {e}"));
    }
}

#[test]
fn an_unlisted_region_is_accepted_when_the_file_says_so_with_a_warning() {
    let env = parse_str("region: xx-newland-1\nregion_unlisted: true\n")
        .unwrap()
        .into_only();
    assert_eq!(env.spec.region, "xx-newland-1");
    let w = warnings::warnings(&env);
    assert!(
        w.iter()
            .any(|w| w.contains("xx-newland-1") && w.contains("region_unlisted")),
        "{w:#?}"
    );
    // Still a region name, though.
    let e = error("region: Europe\nregion_unlisted: true\n", "region", 1);
    assert!(e.message.contains("not an AWS region name"), "{e}");
    // And no warning for a region qfleet knows.
    let env = parse_str("region: eu-west-1\nregion_unlisted: true\n")
        .unwrap()
        .into_only();
    assert!(
        !warnings::warnings(&env)
            .iter()
            .any(|w| w.contains("region_unlisted"))
    );
}

#[test]
fn problems_are_listed_in_the_file_order() {
    // Validation finds the region last and the workers first; the list is in line order.
    let list = errors(
        "region: eu-westt-1\nqueue:\n  max_receive_count: 0\nworkers:\n  min: 3\n  max: 2\n",
    );
    let lines: Vec<(usize, usize)> = list.iter().map(|e| (e.line, e.column)).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "{list:#?}");
    assert_eq!(list[0].field, "region", "{list:#?}");
}

/// A fleet that idles at zero lets its queue fall asleep (no call for six hours), and SQS's
/// metrics resume up to 15 minutes after the next message: a goal shorter than that is
/// warned of, unless the high-resolution publisher keeps the queue active, or a worker
/// always runs.
#[test]
fn a_fleet_at_zero_with_a_goal_shorter_than_a_sleeping_queues_wake_up_is_warned_of() {
    let base = "region: eu-west-1\nlab: true\nworkers:\n  min: 0\n  max: 4\nscaling:\n  scale_from_zero: true\n  seconds_per_message: 5\n";
    let warned = |yaml: &str| {
        warnings::warnings(
            &parse_str(yaml)
                .unwrap_or_else(|e| panic!("{e}"))
                .into_only(),
        )
        .iter()
        .any(|w| w.contains("SQS stops publishing its metrics"))
    };
    assert!(warned(&format!("{base}  max_latency_seconds: 600\n")));
    assert!(!warned(&format!("{base}  max_latency_seconds: 1800\n")));
    assert!(!warned(&format!(
        "{base}  max_latency_seconds: 600\n  metric: high_resolution\n"
    )));
    assert!(!warned(
        &format!("{base}  max_latency_seconds: 600\n").replace("min: 0", "min: 1")
    ));
    // Fargate tasks: the same, without the publisher (EC2's only) offered.
    let fargate = format!("{base}  max_latency_seconds: 600\n").replace(
        "workers:\n",
        "workers:\n  kind: fargate\n  image: public.ecr.aws/docker/library/busybox:1\n",
    );
    let w = warnings::warnings(
        &parse_str(&fargate)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_only(),
    );
    let said: Vec<&String> = w
        .iter()
        .filter(|w| w.contains("SQS stops publishing"))
        .collect();
    assert_eq!(said.len(), 1, "{w:#?}");
    assert!(!said[0].contains("high_resolution"), "{}", said[0]);
}

/// A cron whose years are past is taken by Scheduler and never sends: validate warns of it,
/// and only of it.
#[test]
fn a_schedule_with_no_run_left_is_warned_of() {
    let w = warnings::warnings(
        &parse_str(
            "region: eu-west-1\nlab: true\nsources:\n  schedules:\n    - {name: once, cron: 0 2 1 1 ? 2025}\n    - {name: nightly, cron: 0 2 * * ? *}\n    - {name: often, rate: 5 minutes}\n",
        )
        .unwrap_or_else(|e| panic!("{e}")).into_only(),
    );
    let about: Vec<&String> = w.iter().filter(|w| w.starts_with("sources.")).collect();
    assert_eq!(
        about,
        [
            "sources.schedules.0.cron: `0 2 1 1 ? 2025` has no run left: schedule once never sends a job"
        ],
        "{w:?}"
    );
}

/// With `kms_key`, the sources need the key's policy to allow them, which qfleet neither
/// reads nor changes: validate says so, once per need, naming the key and who needs it.
#[test]
fn a_key_with_topics_or_other_accounts_producers_is_warned_of_its_policy() {
    let key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let warnings = |sources: &str| {
        warnings::warnings(
            &parse_str(&format!(
                "region: eu-west-1\nlab: true\nkms_key: {key}\nsources:\n{sources}"
            ))
            .unwrap_or_else(|e| panic!("{e}"))
            .into_only(),
        )
    };
    let w = warnings("  topics:\n    - arn: arn:aws:sns:eu-west-1:444455556666:orders\n");
    assert!(
        w.iter()
            .any(|w| w.contains("sns.amazonaws.com") && w.contains(key)),
        "{w:?}"
    );
    let w = warnings("  messages:\n    producers: [\"444455556666\"]\n");
    assert!(
        w.iter()
            .any(|w| w.contains("444455556666") && w.contains("kms:GenerateDataKey")),
        "{w:?}"
    );
    // This account's producers attach the managed policy, which grants the key's use.
    let w = warnings("  messages: {}\n");
    assert!(!w.iter().any(|w| w.contains("key's policy")), "{w:?}");
}

/// Thirty lab copies make thirty dashboards: the cost is said, and `dashboard: false` named.
#[test]
fn copies_beyond_three_dashboards_are_warned_of_their_cost() {
    let dashboards = |yaml: &str| {
        let file = parse_str(yaml).unwrap();
        warnings::warnings(&file.base)
            .into_iter()
            .filter(|w| w.contains("dashboard"))
            .collect::<Vec<_>>()
    };
    let w = dashboards("region: eu-west-1\nlab: true\ncopies: 30\n");
    assert!(
        w.len() == 1 && w[0].contains("$3 a month") && w[0].contains("dashboard: false"),
        "{w:?}"
    );
    assert!(dashboards("region: eu-west-1\nlab: true\ncopies: 30\ndashboard: false\n").is_empty());
    assert!(dashboards("region: eu-west-1\nlab: true\ncopies: 3\n").is_empty());
}
