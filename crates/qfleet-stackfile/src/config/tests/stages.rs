//! `stages`: a pipeline's stages, each checked by the one-stage rules with its errors located
//! under `stages.N`, and the rules of the pipeline itself (names, prefixes, no top-level
//! queue, workers or scaling beside the stages).

use super::{error, errors, parse_str};
use crate::config::schema::{Feed, WorkerKind};

/// A stage as the tests see it: index, name, feed, prefix read, prefix written, queue sent to.
type Seen<'a> = (
    usize,
    &'a str,
    Option<Feed>,
    &'a str,
    &'a str,
    Option<&'a str>,
);

const HEAD: &str = "region: eu-west-1\nlab: true\n";

#[test]
fn each_stage_is_an_environment_of_its_own_reading_the_previous_stage_s_output() {
    let env = parse_str(&format!(
        "{HEAD}stages:\n  - name: parse\n    workers: {{max: 4}}\n  - name: enrich\n    fed_by: messages\n    workers: {{kind: lambda}}\n  - name: index\n    prefix: enriched/\n"
    ))
    .unwrap()
    .into_only();
    assert!(env.is_pipeline());
    let stages = env.stages();
    let seen: Vec<Seen> = stages
        .iter()
        .map(|s| {
            let st = s.stage.as_ref().unwrap();
            (
                st.index,
                st.name.as_str(),
                st.feed,
                s.spec.bucket.upload_prefix.as_str(),
                s.spec.bucket.processed_prefix.as_str(),
                st.next_queue.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                0,
                "parse",
                None,
                "uploads/",
                "enrich/",
                Some("qfleet-t--enrich-jobs")
            ),
            (
                1,
                "enrich",
                Some(Feed::Messages),
                "enrich/",
                "enriched/",
                None
            ),
            (
                2,
                "index",
                Some(Feed::Objects),
                "enriched/",
                "processed/",
                None
            ),
        ]
    );
    assert_eq!(stages[0].spec.workers.max, 4);
    assert_eq!(stages[1].spec.workers.kind, WorkerKind::Lambda);
    assert!(
        stages[1].function_code.is_some(),
        "the stage's function code is read"
    );
    assert_eq!(
        stages
            .iter()
            .map(|s| s.fleet_stack_name())
            .collect::<Vec<_>>(),
        [
            "qfleet-t-fleet",
            "qfleet-t--enrich-fleet",
            "qfleet-t--index-fleet"
        ]
    );
    // Copies rename every stage, and the queue a stage sends to.
    let copies = parse_str(&format!(
        "{HEAD}copies: 2\nstages:\n  - name: a\n  - name: b\n    fed_by: messages\n"
    ))
    .unwrap()
    .expand();
    let second = copies[1].stages()[0].clone();
    assert_eq!(second.name, "t-02");
    assert_eq!(
        second.stage.unwrap().next_queue.as_deref(),
        Some("qfleet-t-02--b-jobs")
    );
}

#[test]
fn a_stage_s_settings_are_checked_and_located_under_its_index() {
    let e = error(
        &format!(
            "{HEAD}stages:\n  - name: a\n  - name: b\n    workers:\n      min: 5\n      max: 2\n"
        ),
        "stages.1.workers.min",
        7,
    );
    assert!(e.message.contains("max"), "{e}");
    let e = error(
        &format!("{HEAD}stages:\n  - name: a\n    queue:\n      visibility_timeout: 13h\n"),
        "stages.0.queue.visibility_timeout",
        6,
    );
    assert!(e.message.contains("out of range"), "{e}");
}

#[test]
fn top_level_queue_workers_and_scaling_are_refused_beside_stages() {
    let list = errors(&format!(
        "{HEAD}workers:\n  max: 3\nscaling:\n  target_backlog_per_instance: 5\nstages:\n  - name: a\n"
    ));
    let fields: Vec<&str> = list.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["workers", "scaling"], "{list:#?}");
    assert!(
        list[0].message.contains("move it into the stage"),
        "{}",
        list[0]
    );
}

#[test]
fn stage_names_are_short_distinct_and_safe_in_resource_names() {
    let e = error(
        &format!("{HEAD}stages:\n  - name: a\n  - name: a\n"),
        "stages.1.name",
        5,
    );
    assert!(e.message.contains("two stages"), "{e}");
    for bad in ["Upper", "two--hyphens", "a-very-long-stage-name", "9lives"] {
        let e = error(
            &format!("{HEAD}stages:\n  - name: ok\n  - name: {bad}\n"),
            "stages.1.name",
            5,
        );
        assert!(e.message.contains("not allowed"), "{bad}: {e}");
    }
}

#[test]
fn the_first_stage_is_fed_by_the_uploads_only() {
    let e = error(
        &format!("{HEAD}stages:\n  - name: a\n    fed_by: messages\n"),
        "stages.0.fed_by",
        5,
    );
    assert!(e.message.contains("fed by the uploads"), "{e}");
}

/// S3 refuses two notifications for the same event types with overlapping prefixes
/// ("Configurations overlap", Amazon S3 User Guide, event notification configuration), and a
/// stage that read its own output would feed itself: every prefix stands apart.
#[test]
fn every_stage_s_prefix_stands_apart_from_the_others_and_the_bucket_s() {
    for (prefix, other) in [
        ("uploads/x/", "bucket.upload_prefix"),
        ("processed/", "bucket.processed_prefix"),
        ("b/", "stages.1.prefix"),
    ] {
        let e = error(
            &format!(
                "{HEAD}stages:\n  - name: a\n  - name: b\n  - name: c\n    prefix: {prefix}\n"
            ),
            "stages.2.prefix",
            7,
        );
        assert!(e.message.contains(other), "{prefix}: {e}");
    }
    let e = error(
        &format!("{HEAD}stages:\n  - name: a\n  - name: b\n    prefix: no-slash\n"),
        "stages.1.prefix",
        6,
    );
    assert!(e.message.contains("ending in /"), "{e}");
}

#[test]
fn a_pipeline_has_one_to_eight_stages() {
    let e = error(&format!("{HEAD}stages: []\n"), "stages", 3);
    assert!(e.message.contains("at least one stage"), "{e}");
    let many: String = (0..9).map(|i| format!("  - name: s{i}\n")).collect();
    let e = error(&format!("{HEAD}stages:\n{many}"), "stages", 4);
    assert!(e.message.contains("at most 8"), "{e}");
}
