//! Every problem of a stack file at once, in words: unknown keys with a suggestion, wrong types
//! without Rust type names, YAML syntax errors said as what they usually are.

use super::*;
use crate::config::Error;

pub(super) fn errors(yaml: &str) -> Vec<InputError> {
    match parse(PathBuf::from("stacks/t.yaml"), yaml.to_string()) {
        Ok(_) => panic!("expected errors for:\n{yaml}"),
        Err(Error::Input(list)) => list,
        Err(other) => panic!("expected input errors, got {other:?}"),
    }
}

pub(super) fn one(yaml: &str) -> InputError {
    let list = errors(yaml);
    assert_eq!(list.len(), 1, "expected one error, got {list:#?}");
    list.into_iter().next().unwrap()
}

/// (field, line, column) of each error.
fn located(list: &[InputError]) -> Vec<(&str, usize, usize)> {
    list.iter()
        .map(|e| (e.field.as_str(), e.line, e.column))
        .collect()
}

/// No Rust type or serde wording reaches a user.
pub(super) fn assert_in_words(e: &InputError) {
    for jargon in [
        "u32",
        "u64",
        "i64",
        "f64",
        "struct ",
        "invalid type",
        "unit value",
        "sequence",
    ] {
        assert!(!e.message.contains(jargon), "`{jargon}` in {e}");
    }
}

#[test]
fn an_unknown_key_a_wrong_type_and_a_bad_duration_are_reported_together() {
    let yaml = "region: eu-west-1\nworkers:\n  instance_typ: t3.small\n  max: lots\nqueue:\n  visibility_timeout: 3 weeks\n";
    let list = errors(yaml);
    assert_eq!(
        located(&list),
        [
            ("workers.instance_typ", 3, 3),
            ("workers.max", 4, 8),
            ("queue.visibility_timeout", 6, 23)
        ]
    );
    assert_eq!(
        list[0].message,
        "unknown field `instance_typ`; did you mean `instance_type`?"
    );
    assert!(
        list[0]
            .allowed
            .as_deref()
            .unwrap()
            .starts_with("the settings of workers: kind, lambda"),
        "{:?}",
        list[0].allowed
    );
    assert_eq!(list[1].message, "expected a whole number, found `lots`");
    assert_eq!(
        list[2].message,
        "expected a duration such as 90 (seconds), 90s, 5m, 2h or 4d, found `3 weeks`"
    );
    assert!(
        list.iter()
            .all(|e| e.span.is_some() && e.file == "stacks/t.yaml")
    );
    list.iter().for_each(assert_in_words);
}

#[test]
fn a_missing_region_comes_with_the_other_problems() {
    let list = errors("lab: maybe\ncopeis: 3\n");
    let fields: Vec<&str> = list.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["region", "lab", "copeis"]);
    assert_eq!(list[0].message, "missing field `region`");
    assert_eq!(list[1].message, "expected true or false, found `maybe`");
    assert!(
        list[2].message.contains("did you mean `copies`?"),
        "{}",
        list[2]
    );
}

#[test]
fn suggestions_for_unknown_keys() {
    for (yaml, field, suggestion) in [
        (
            "workers:\n  instance-type: t3.small\n",
            "workers.instance-type",
            "`instance_type`",
        ),
        (
            "workers:\n  InstanceType: t3.small\n",
            "workers.InstanceType",
            "`instance_type`",
        ),
        (
            "scaling:\n  scale_to_zero: true\n",
            "scaling.scale_to_zero",
            "`scale_from_zero`",
        ),
        (
            "queue:\n  max_receive: 3\n",
            "queue.max_receive",
            "`max_receive_count`",
        ),
        // At the wrong level: the key of another mapping.
        (
            "instance_type: t3.small\n",
            "instance_type",
            "`workers.instance_type` (instance_type indented under workers:)",
        ),
        (
            "workers:\n  timeout: 30s\n",
            "workers.timeout",
            "`workers.lambda.timeout`",
        ),
    ] {
        let e = one(&format!("region: eu-west-1\n{yaml}"));
        assert_eq!(e.field, field);
        assert!(
            e.message.contains(&format!("did you mean {suggestion}")),
            "{e}"
        );
    }
    let e = one("region: eu-west-1\nbananas: 3\n");
    assert_eq!(e.message, "unknown field `bananas`");
    assert!(
        e.allowed
            .as_deref()
            .unwrap()
            .contains("region, region_unlisted, lab, copies"),
        "{e:?}"
    );
}

#[test]
fn wrong_types_say_what_was_expected_and_found() {
    for (yaml, field, message) in [
        (
            "workers:\n  min: \"3\"\n",
            "workers.min",
            "expected a whole number, found the quoted text \"3\"; write it without quotes",
        ),
        (
            "workers:\n  min: 1.5\n",
            "workers.min",
            "expected a whole number, found `1.5`",
        ),
        (
            "workers:\n  root_volume_gib: -4\n",
            "workers.root_volume_gib",
            "expected a whole number of 0 or more, found `-4`",
        ),
        (
            "workers:\n  root_volume_gib: 5000000000\n",
            "workers.root_volume_gib",
            "`5000000000` is too large (at most 4294967295)",
        ),
        (
            "scaling:\n  seconds_per_message: fast\n",
            "scaling.seconds_per_message",
            "expected a number, found `fast`",
        ),
        (
            "workers:\n  public_ip: yes\n",
            "workers.public_ip",
            "expected true or false, found `yes`",
        ),
        (
            "workers:\n  public_ip:\n",
            "workers.public_ip",
            "expected true or false, found nothing (the value is empty)",
        ),
        (
            "workers:\n  kind: ecs\n",
            "workers.kind",
            "expected ec2, lambda, fargate or ecs_managed, found `ecs`",
        ),
        (
            "workers:\n  instance_type: [t3.micro]\n",
            "workers.instance_type",
            "expected a text value, found a list",
        ),
        (
            "queue:\n  dlq_retention: -5\n",
            "queue.dlq_retention",
            "expected a duration of 0s or more, found `-5`",
        ),
        (
            "queue:\n  dlq_retention: 1.5h\n",
            "queue.dlq_retention",
            "expected a duration such as 90 (seconds), 90s, 5m, 2h or 4d, found `1.5h`",
        ),
        (
            "tags: [a, b]\n",
            "tags",
            "expected a mapping of names to values, found a list",
        ),
        (
            "tags:\n  team: {name: media}\n",
            "tags.team",
            "expected a text value, found a mapping",
        ),
        (
            "tags:\n  [team]: media\n",
            "tags",
            "expected a name, found a list",
        ),
        (
            "workers: 3\n",
            "workers",
            "expected a mapping of settings, found `3`",
        ),
        (
            "bucket: ~\n",
            "bucket",
            "expected a mapping of settings, found `~`; leave the value empty (or remove the key) for the defaults",
        ),
        (
            "workers:\n  network: []\n",
            "workers.network",
            "expected `default` or a mapping with vpc and subnets, found a list",
        ),
        (
            "workers:\n  network:\n    subnets: {}\n",
            "workers.network.vpc",
            "missing field `vpc` in workers.network",
        ),
    ] {
        let e = one(&format!("region: eu-west-1\n{yaml}"));
        assert_eq!((e.field.as_str(), e.message.as_str()), (field, message));
        assert_in_words(&e);
    }
    let e = one("- region: eu-west-1\n");
    assert_eq!(
        e.message,
        "expected a mapping of settings (region: eu-west-1, …), found a list"
    );
}

#[test]
fn serde_messages_lose_their_rust_type_names() {
    use super::syntax::humanize;
    assert_eq!(
        humanize("invalid type: string \"x\", expected u32"),
        "expected a whole number of 0 or more, found `x`"
    );
    assert_eq!(
        humanize("invalid type: floating point `1.5`, expected i64"),
        "expected a whole number, found `1.5`"
    );
    assert_eq!(
        humanize("invalid type: unit value, expected f64"),
        "expected a number, found nothing (the value is empty)"
    );
    assert_eq!(
        humanize("invalid type: sequence, expected struct WorkersSpec"),
        "expected a mapping of settings, found a list"
    );
    assert_eq!(
        humanize("unknown variant `ecs`, expected one of `ec2`, `lambda`, `fargate`"),
        "expected one of ec2, lambda, fargate, found `ecs`"
    );
    assert_eq!(humanize("missing field `region`"), "missing field `region`");
}

#[test]
fn a_file_without_type_errors_still_gets_every_semantic_error() {
    // The first pass finds nothing, so the checks of values run and report all they find.
    let list =
        errors("region: eu-west-1\nworkers:\n  min: 3\n  max: 2\nqueue:\n  max_receive_count: 0\n");
    assert_eq!(list.len(), 2, "{list:#?}");
}

/// `sources` (docs/sources.md): each refusal names the field, its line and why.
#[test]
fn a_source_the_stack_cannot_serve_is_located_and_explained() {
    let e = one(
        "region: eu-west-1\nsources:\n  topics:\n    - arn: arn:aws:sns:us-east-1:444455556666:orders\n",
    );
    assert_eq!((e.field.as_str(), e.line), ("sources.topics.0.arn", 4));
    assert!(e.message.contains("dead-letter queue"), "{e}");
    assert_in_words(&e);

    let e = one(
        "region: eu-west-1\nsources:\n  topics:\n    - arn: arn:aws:sns:eu-west-1:444455556666:orders\n      filter_policy: {a: [1], b: [1], c: [1], d: [1], e: [1], f: [1]}\n",
    );
    assert_eq!(e.field, "sources.topics.0.filter_policy");
    assert!(e.message.contains("at most 5"), "{e}");

    let e = one(
        "region: eu-west-1\naccounts: [\"111122223333\"]\nsources:\n  messages:\n    producers: [\"111122223333\", arn:aws:iam::444455556666:role/api]\n",
    );
    assert_eq!(e.field, "sources.messages.producers.0");
    assert!(e.message.contains("managed policy"), "{e}");

    // In a pipeline, each stage takes its own sources: a top-level one is refused.
    let e = one("region: eu-west-1\nsources:\n  messages: {}\nstages:\n  - name: first\n");
    assert_eq!(e.field, "sources");
    assert!(e.message.contains("each stage has its own"), "{e}");
}

/// Schedules share one group per environment: a name is unique across its stages.
#[test]
fn a_schedule_is_located_and_its_name_unique_in_the_environment() {
    let e = one(
        "region: eu-west-1\nstages:\n  - name: first\n    sources:\n      schedules:\n        - {name: nightly, cron: \"0 2 * * ? *\"}\n  - name: second\n    fed_by: messages\n    sources:\n      schedules:\n        - {name: nightly, rate: 1 day}\n",
    );
    assert_eq!(e.field, "stages.1.sources.schedules.0.name");
    assert!(e.message.contains("unique in the environment"), "{e}");

    let e = one(
        "region: eu-west-1\nsources:\n  schedules:\n    - name: nightly\n      cron: \"0 2 * *\"\n",
    );
    assert_eq!((e.field.as_str(), e.line), ("sources.schedules.0.cron", 5));
    assert!(e.message.contains("six"), "{e}");

    let e =
        one("region: eu-west-1\nsources:\n  schedules:\n    - {name: often, rate: 90 seconds}\n");
    assert_eq!(e.field, "sources.schedules.0.rate");

    // A cron value out of its field's range, located.
    let e = one(
        "region: eu-west-1\nsources:\n  schedules:\n    - name: nightly\n      cron: \"0 25 * * ? *\"\n",
    );
    assert_eq!((e.field.as_str(), e.line), ("sources.schedules.0.cron", 5));
    assert!(e.message.contains("has 25 in hours; it takes 0-23"), "{e}");

    // A time zone neither the system's database nor qfleet's copy knows, and one spelled
    // in another case than IANA's.
    for (zone, says) in [
        ("Europe/Pariss", "`Europe/Pariss` is not an IANA time zone"),
        ("europe/paris", "`europe/paris` is spelled `Europe/Paris`"),
    ] {
        let e = one(&format!(
            "region: eu-west-1\nsources:\n  schedules:\n    - name: nightly\n      cron: \"0 2 * * ? *\"\n      timezone: {zone}\n"
        ));
        assert_eq!(
            (e.field.as_str(), e.line),
            ("sources.schedules.0.timezone", 6)
        );
        assert!(e.message.contains(says), "{e}");
    }
}

/// FIFO stages (docs/sources.md, "FIFO stages"): every source must be able to feed a FIFO
/// queue, and each refusal says why at the field that decides it.
#[test]
fn a_fifo_stage_refuses_what_cannot_feed_it() {
    // S3 cannot send to a FIFO queue: the uploads must be off.
    let e = error(
        "region: eu-west-1\nqueue:\n  fifo: true\nsources:\n  messages: {}\n",
        "queue.fifo",
        3,
    );
    assert!(e.message.contains("sources.uploads: false"), "{e}");
    assert_in_words(&e);
    // Nothing at all would feed the queue.
    let e = error(
        "region: eu-west-1\nsources:\n  uploads: false\n",
        "sources.uploads",
        3,
    );
    assert!(e.message.contains("nothing to feed it"), "{e}");
    // A standard topic into a FIFO queue, a FIFO topic into a standard one.
    let e = error(
        "region: eu-west-1\nqueue: {fifo: true}\nsources:\n  uploads: false\n  topics:\n    - arn: arn:aws:sns:eu-west-1:444455556666:orders\n",
        "sources.topics.0.arn",
        6,
    );
    assert!(e.message.contains("standard topic"), "{e}");
    let e = error(
        "region: eu-west-1\nsources:\n  topics:\n    - arn: arn:aws:sns:eu-west-1:444455556666:orders.fifo\n",
        "sources.topics.0.arn",
        4,
    );
    assert!(e.message.contains("queue.fifo: true"), "{e}");
    // A schedule sends to a FIFO queue only with content-based deduplication; its group is
    // a FIFO stage's setting.
    let e = error(
        "region: eu-west-1\nqueue: {fifo: true}\nsources:\n  uploads: false\n  schedules:\n    - {name: nightly, rate: 1 day}\n",
        "sources.schedules",
        6,
    );
    assert!(
        e.message.contains("content_based_deduplication: true"),
        "{e}"
    );
    parse_str(
        "region: eu-west-1\nqueue: {fifo: true, content_based_deduplication: true}\nsources:\n  uploads: false\n  schedules:\n    - {name: nightly, rate: 1 day, group: reports}\n",
    )
    .unwrap();
    let e = error(
        "region: eu-west-1\nsources:\n  schedules:\n    - name: nightly\n      rate: 1 day\n      group: reports\n",
        "sources.schedules.0.group",
        6,
    );
    assert!(e.message.contains("FIFO"), "{e}");
    // FIFO settings on a standard queue.
    let e = error(
        "region: eu-west-1\nqueue:\n  high_throughput: true\n",
        "queue.high_throughput",
        3,
    );
    assert!(e.message.contains("queue.fifo: true"), "{e}");
    // Lambda's FIFO limits.
    let e = error(
        "region: eu-west-1\nqueue: {fifo: true}\nsources: {uploads: false, messages: {}}\nworkers:\n  kind: lambda\n  lambda:\n    code: x\n    batch_size: 20\n    batching_window: 0\n",
        "workers.lambda.batch_size",
        8,
    );
    assert!(e.message.contains("at most 10"), "{e}");
    // A later stage fed by objects, and `uploads` on a later stage.
    let list = errors(
        "region: eu-west-1\nstages:\n  - name: one\n  - name: two\n    queue: {fifo: true}\n    sources: {uploads: true}\n",
    );
    let fields: Vec<&str> = list.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"stages.1.queue.fifo"), "{list:#?}");
    assert!(fields.contains(&"stages.1.sources.uploads"), "{list:#?}");
}

/// The shipped FIFO example is valid, and a FIFO stage may follow a standard one.
#[test]
fn a_fifo_pipeline_validates() {
    parse_str(
        "region: eu-west-1\nstages:\n  - name: one\n  - name: two\n    fed_by: messages\n    queue: {fifo: true}\n",
    )
    .unwrap();
}
