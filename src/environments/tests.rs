//! The marks read back: an environment, its file, and the record of its file's targets.

use super::*;
use aws_sdk_cloudformation::types::StackStatus;
use std::collections::BTreeMap;

fn data(name: &str, tags: &[(&str, &str)]) -> StackState {
    let mut s = StackState::new(name, StackStatus::CreateComplete);
    s.tags = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<BTreeMap<_, _>>();
    s
}

#[test]
fn a_data_stack_names_its_environment_its_stacks_and_its_files_targets() {
    let names: Vec<String> = [
        "qfleet-orders-us-data",
        "qfleet-orders-us-fleet",
        "qfleet-orders-us--thumbs-fleet",
        "qfleet-orders-us2-data",
        "qfleet-orders-usx-fleet",
    ]
    .map(String::from)
    .to_vec();
    let m = Made::of(
        &data(
            "qfleet-orders-us-data",
            &[
                (ENVIRONMENT_TAG, "orders-us"),
                (FILE_TAG, "orders"),
                (TARGET_TAG, "us"),
                ("qfleet:targets:eu", "111122223333 eu-west-1"),
                (
                    "qfleet:targets:ap",
                    "- ap-southeast-2 arn:aws:iam::777788889999:role/x",
                ),
            ],
        ),
        &names,
    )
    .unwrap();
    assert_eq!(m.environment, "orders-us");
    assert_eq!(m.file.as_deref(), Some("orders"));
    assert_eq!(m.target.as_deref(), Some("us"));
    // Its own stacks only (the data stack first, then as listed): not those of orders-us2
    // or orders-usx.
    assert_eq!(
        m.stacks,
        [
            "qfleet-orders-us-data",
            "qfleet-orders-us-fleet",
            "qfleet-orders-us--thumbs-fleet"
        ]
    );
    assert_eq!(
        m.record,
        [
            Recorded {
                name: "ap".into(),
                account: None,
                region: "ap-southeast-2".into(),
                role: Some("arn:aws:iam::777788889999:role/x".into()),
            },
            Recorded {
                name: "eu".into(),
                account: Some("111122223333".into()),
                region: "eu-west-1".into(),
                role: None,
            },
        ]
    );
    // A stack without qfleet's environment mark is no environment of qfleet's.
    assert!(Made::of(&data("qfleet-x-data", &[]), &names).is_none());
}

#[test]
fn an_environment_is_a_files_by_its_mark_or_before_the_mark_by_its_files_names() {
    let marked = |file: Option<&str>, env: &str| Made {
        environment: env.into(),
        file: file.map(String::from),
        stack_file: None,
        owner: None,
        kind: None,
        copy: None,
        target: None,
        stacks: Vec::new(),
        record: Vec::new(),
        was: Vec::new(),
        account: None,
    };
    // The mark decides, whatever the name.
    assert!(marked(Some("class"), "class-21").of_file("class", &[]));
    assert!(!marked(Some("class-extra"), "class-extra-01").of_file("class", &[]));
    assert!(!marked(Some("other"), "class-21").of_file("class", &[]));
    // Before the mark: a copy's name (two or three digits) or a target's.
    assert!(marked(None, "class-21").of_file("class", &[]));
    assert!(marked(None, "class-021").of_file("class", &[]));
    assert!(!marked(None, "class-extra").of_file("class", &[]));
    assert!(marked(None, "class-us2").of_file("class", &["us2".into()]));
    assert!(!marked(None, "class-us3").of_file("class", &["us2".into()]));
}

/// Issue 72: a name with its place reaches one environment in one Region (and account); a
/// path, a whole unit's account and a bare name are not places.
#[test]
fn a_place_is_a_region_or_an_account_and_a_region_after_the_name() {
    let (name, place) = Place::pick("orders-us1@us-east-1").unwrap();
    assert_eq!(name, "orders-us1");
    assert_eq!(
        place,
        Place {
            account: None,
            region: "us-east-1".into()
        }
    );
    assert_eq!(place.address(name), "orders-us1@us-east-1");
    let (name, place) = Place::pick("orders-us1@111122223333/us-gov-west-1").unwrap();
    assert_eq!(name, "orders-us1");
    assert_eq!(place.account.as_deref(), Some("111122223333"));
    assert_eq!(place.region, "us-gov-west-1");
    assert_eq!(place.address(name), "orders-us1@111122223333/us-gov-west-1");
    assert_eq!(place.describe(), "111122223333 us-gov-west-1");
    for not_a_place in [
        "orders-us1",
        "orders-eu@111122223333",
        "ci/job@2/orders.yaml",
        "orders.yaml@us-east-1",
        "@us-east-1",
        "orders@12345/us-east-1",
        "orders@us-east",
        "lab-*@us-east-1",
    ] {
        assert!(Place::pick(not_a_place).is_none(), "{not_a_place}");
    }
}

/// A target its file moved keeps its old place in the record under `NAME@REGION`: read back
/// as that target, where it was.
#[test]
fn a_moved_targets_old_place_is_read_back_as_that_target() {
    let m = Made::of(
        &data(
            "qfleet-orders-eu-data",
            &[
                (crate::config::ENVIRONMENT_TAG, "orders-eu"),
                ("qfleet:targets:us", "222222222222 us-west-2"),
                ("qfleet:targets:us@us-east-1", "222222222222 us-east-1"),
            ],
        ),
        &[],
    )
    .unwrap();
    let places: Vec<(&str, &str)> = m
        .record
        .iter()
        .map(|r| (r.name.as_str(), r.region.as_str()))
        .collect();
    assert_eq!(places, [("us", "us-west-2"), ("us", "us-east-1")]);
}
