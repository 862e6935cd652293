//! Decisions over hand-built snapshots: no AWS, no mocks.

use super::super::decide::*;
use crate::aws::Queue;
use crate::aws::{BucketContents as Contents, ObjectVersion as Version};
use crate::snapshot::Fact;
use crate::snapshot::Snapshot;

fn contents(n: usize) -> Contents {
    let versions: Vec<Version> = (0..n)
        .map(|i| Version {
            key: format!("uploads/{i}"),
            version_id: Some("v".into()),
        })
        .collect();
    Contents {
        objects: n as u64,
        bytes: 5 * n as u64,
        versions,
    }
}

/// A deployed environment, empty: both stacks complete, bucket not retained.
fn deployed() -> Snapshot {
    let mut s = Snapshot::deployed("td");
    s.bucket = Fact::Known("td-uploads-1-eu-west-1".into());
    s.bucket_contents = Some(Fact::Known(contents(0)));
    s.queue = Fact::Known(Queue::for_tests("qfleet-td-jobs", 0, &[]));
    s.dead_letter_queue = Fact::Known(Queue::for_tests("qfleet-td-dlq", 0, &[]));
    s
}

fn none() -> Allowed {
    Allowed::default()
}

fn refusals(d: Decision) -> (Vec<Refusal>, bool) {
    match d {
        Decision::Refuse {
            reasons,
            aws_unreadable,
            ..
        } => (reasons, aws_unreadable),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_empty_environment_is_torn_down_fleet_first() {
    let Decision::Proceed(plan) = decide(&deployed(), none()) else {
        panic!()
    };
    let names: Vec<&str> = plan.targets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["qfleet-td-fleet", "qfleet-td-data"]);
    assert!(plan.purge.is_none());
}

#[test]
fn an_unreadable_queue_is_a_refusal_not_an_empty_queue() {
    let mut s = deployed();
    s.queue = Fact::Unknown(
        "reading queue qfleet-td-jobs: the answer has no ApproximateNumberOfMessages".into(),
    );
    let (r, unreadable) = refusals(decide(&s, none()));
    assert!(!unreadable);
    assert!(
        matches!(&r[..], [Refusal::CannotCheck { what, .. }] if what == "the queue"),
        "{r:?}"
    );
    // Allowing the bucket to go does not allow messages to go.
    let (r, _) = refusals(decide(
        &s,
        Allowed {
            purge_bucket: true,
            ..none()
        },
    ));
    assert_eq!(r.len(), 1);
    let msg = refusal("td", &r, false, true).to_string();
    assert!(
        msg.contains("nothing was deleted") && msg.contains("could not check the queue"),
        "{msg}"
    );
}

#[test]
fn an_unreadable_dead_letter_queue_is_a_refusal_too() {
    let mut s = deployed();
    s.dead_letter_queue = Fact::Unknown(
        "qfleet-td-data does not list DeadLetterQueue and no redrive policy names it".into(),
    );
    let (r, _) = refusals(decide(&s, none()));
    assert!(
        matches!(&r[..], [Refusal::CannotCheck { what, .. }] if what == "the dead-letter queue"),
        "{r:?}"
    );
}

#[test]
fn discarding_messages_is_allowed_only_by_its_flag() {
    let mut s = deployed();
    s.queue = Fact::Known(Queue::for_tests("qfleet-td-jobs", 3, &[]));
    s.dead_letter_queue = Fact::Known(Queue::for_tests("qfleet-td-dlq", 1, &[]));
    let (r, _) = refusals(decide(
        &s,
        Allowed {
            purge_bucket: true,
            ..none()
        },
    ));
    assert_eq!(r.len(), 2, "{r:?}");
    let msg = refusal("td", &r, false, true).to_string();
    assert!(msg.contains("queue qfleet-td-jobs: 3 messages"), "{msg}");
    assert!(
        msg.contains("DLQ qfleet-td-dlq: 1 message."),
        "singular: {msg}"
    );
    assert!(
        msg.contains("--discard-messages") && !msg.contains("--purge-bucket"),
        "{msg}"
    );
    assert!(matches!(
        decide(
            &s,
            Allowed {
                discard_messages: true,
                ..none()
            }
        ),
        Decision::Proceed(_)
    ));
    // An unknown queue stops being a question once its messages may go.
    s.queue = Fact::Unknown("boom".into());
    assert!(matches!(
        decide(
            &s,
            Allowed {
                discard_messages: true,
                ..none()
            }
        ),
        Decision::Proceed(_)
    ));
}

#[test]
fn a_bucket_with_objects_is_purged_only_with_the_flag_and_exactly_what_was_listed() {
    let mut s = deployed();
    s.bucket_contents = Some(Fact::Known(contents(3)));
    let (r, _) = refusals(decide(&s, none()));
    assert_eq!(
        r,
        [Refusal::BucketHoldsObjects {
            bucket: "td-uploads-1-eu-west-1".into(),
            objects: 3,
            bytes: 15
        }]
    );
    assert!(
        refusal("td", &r, false, true)
            .to_string()
            .contains("bucket td-uploads-1-eu-west-1: 3 objects, 15 B")
    );
    let Decision::Proceed(plan) = decide(
        &s,
        Allowed {
            purge_bucket: true,
            ..none()
        },
    ) else {
        panic!()
    };
    let (bucket, versions) = plan.purge.unwrap();
    assert_eq!(
        (bucket.as_str(), versions.len()),
        ("td-uploads-1-eu-west-1", 3)
    );
}

#[test]
fn unlisted_bucket_contents_are_a_refusal_even_with_purge() {
    let mut s = deployed();
    s.bucket_contents = Some(Fact::Unknown(
        "listing the objects: the answer was not whole".into(),
    ));
    for allowed in [
        none(),
        Allowed {
            purge_bucket: true,
            ..none()
        },
    ] {
        let (r, _) = refusals(decide(&s, allowed));
        assert!(matches!(&r[..], [Refusal::CannotCheck { .. }]), "{r:?}");
    }
}

#[test]
fn a_retained_bucket_keeps_its_objects_and_needs_no_flag() {
    let mut s = deployed();
    s.bucket_contents = Some(Fact::Known(contents(2)));
    s.data.deletion_policies = Some(Fact::Known(
        [("Bucket".to_string(), "RetainExceptOnCreate".to_string())].into(),
    ));
    let Decision::Proceed(plan) = decide(&s, none()) else {
        panic!()
    };
    assert!(plan.data.unwrap().bucket_retained);
    assert!(plan.purge.is_none(), "a retained bucket is never emptied");
}

#[test]
fn an_unreadable_template_leaves_a_full_bucket_unchecked() {
    let mut s = deployed();
    s.bucket_contents = Some(Fact::Known(contents(2)));
    s.data.deletion_policies = Some(Fact::Unknown("the template could not be read".into()));
    let (r, _) = refusals(decide(&s, none()));
    assert!(
        matches!(&r[..], [Refusal::CannotCheck { what, .. }] if what.contains("retained")),
        "{r:?}"
    );
}

#[test]
fn only_fleet_never_looks_at_or_deletes_the_data() {
    let mut s = deployed();
    s.queue = Fact::Unknown("boom".into());
    s.bucket_contents = Some(Fact::Known(contents(9)));
    let Decision::Proceed(plan) = decide(
        &s,
        Allowed {
            only_fleet: true,
            ..none()
        },
    ) else {
        panic!()
    };
    assert_eq!(plan.targets.len(), 1);
    assert!(plan.data.is_none());
}

#[test]
fn unreadable_stacks_refuse_with_exit_1_and_one_unreadable_stack_with_exit_4() {
    let mut s = deployed();
    s.data.state = Fact::Unknown("describing stack: throttled".into());
    s.fleet.state = Fact::Unknown("describing stack: throttled".into());
    let (_, unreadable) = refusals(decide(&s, none()));
    assert!(unreadable, "AWS could not be read at all: exit 1");
    let mut s = deployed();
    s.data.state = Fact::Unknown("describing stack: throttled".into());
    let (r, unreadable) = refusals(decide(&s, none()));
    assert!(!unreadable);
    assert!(
        matches!(&r[..], [Refusal::CannotCheck { what, .. }] if what == "stack qfleet-td-data"),
        "{r:?}"
    );
}

#[test]
fn protection_and_data_are_refused_together_with_both_flags_named() {
    let mut s = deployed();
    if let Fact::Known(st) = &mut s.fleet.state {
        st.termination_protection = Some(true);
    }
    s.queue = Fact::Known(Queue::for_tests("qfleet-td-jobs", 1, &[]));
    let (r, _) = refusals(decide(&s, none()));
    let msg = refusal("td", &r, false, true).to_string();
    assert!(
        msg.contains("qfleet-td-fleet has termination protection"),
        "{msg}"
    );
    assert!(
        msg.contains("--disable-termination-protection") && msg.contains("--discard-messages"),
        "{msg}"
    );
}

/// Issue 83: a file that asks for termination protection (the default outside labs) whose
/// stacks lack it (a deploy could not set it). With `--yes` nobody would be told: refused as
/// protection in place is, lifted by the same flag. Asked on a terminal, the plan carries the
/// stacks so that the question says so. A lab, or a stack that has it, is no such case.
#[test]
fn protection_the_file_asks_for_and_the_stacks_lack_is_refused_with_yes_and_asked_without() {
    let s = deployed();
    let wanted = Allowed {
        wants_protection: true,
        ..none()
    };
    let unattended = Allowed {
        yes: true,
        ..wanted
    };
    let (r, unreadable) = refusals(decide(&s, unattended));
    assert!(!unreadable);
    assert_eq!(
        r,
        [Refusal::ProtectionMissing {
            stacks: vec!["qfleet-td-fleet".into(), "qfleet-td-data".into()]
        }]
    );
    let said = refusal("td", &r, false, true).to_string();
    assert!(
        said.contains("qfleet-td-fleet and qfleet-td-data lack the termination protection their stack file asks for (termination_protection; a deploy could not set it)")
            && said.contains("--disable-termination-protection"),
        "{said}"
    );
    // The flag that lifts protection goes ahead, the stacks still said.
    let lifted = Allowed {
        disable_termination_protection: true,
        ..unattended
    };
    let Decision::Proceed(plan) = decide(&s, lifted) else {
        panic!("the flag goes ahead")
    };
    assert_eq!(
        plan.protection_missing,
        ["qfleet-td-fleet", "qfleet-td-data"]
    );
    // Without --yes the question is asked, and says so.
    let Decision::Proceed(plan) = decide(&s, wanted) else {
        panic!("asked, not refused")
    };
    assert_eq!(
        plan.protection_missing,
        ["qfleet-td-fleet", "qfleet-td-data"]
    );
    // A lab's file asks for none.
    let Decision::Proceed(plan) = decide(
        &s,
        Allowed {
            yes: true,
            ..none()
        },
    ) else {
        panic!("a lab goes ahead")
    };
    assert!(plan.protection_missing.is_empty());
    // A stack that has it is refused as protected, not as lacking it.
    let mut s = deployed();
    if let Fact::Known(st) = &mut s.fleet.state {
        st.termination_protection = Some(true);
    }
    let (r, _) = refusals(decide(&s, unattended));
    assert_eq!(
        r,
        [
            Refusal::Protected {
                stacks: vec!["qfleet-td-fleet".into()]
            },
            Refusal::ProtectionMissing {
                stacks: vec!["qfleet-td-data".into()]
            }
        ]
    );
    let said = refusal("td", &r, false, true).to_string();
    assert_eq!(
        said.matches("--disable-termination-protection").count(),
        1,
        "{said}"
    );
}

/// Data refused: `--only fleet` is offered as the way to tear down the workers alone only
/// while a fleet may be there (not after a teardown with --only fleet, nor when refused on
/// the second look, after the fleet went).
#[test]
fn only_fleet_is_offered_while_a_fleet_is_left() {
    let mut s = deployed();
    s.queue = Fact::Known(Queue::for_tests("qfleet-td-jobs", 1, &[]));
    let (r, _) = refusals(decide(&s, none()));
    let offer = "or tear down only the workers with --only fleet";
    assert!(refusal("td", &r, false, true).to_string().contains(offer));
    let gone = refusal("td", &r, false, false).to_string();
    assert!(!gone.contains(offer), "{gone}");
    assert!(
        gone.contains("To delete it anyway pass --discard-messages"),
        "{gone}"
    );
}

/// A queue holding messages and schedules both ask for --discard-messages: the refusal names
/// it once.
#[test]
fn a_flag_two_reasons_ask_for_is_named_once() {
    let reasons = [
        Refusal::QueueHoldsMessages {
            queue: "qfleet-td-jobs".into(),
            dead_letter: false,
            messages: 3,
        },
        Refusal::Schedules {
            schedules: vec!["nightly".into()],
        },
        Refusal::ProducerPolicy {
            policy: "qfleet-td-producers".into(),
        },
    ];
    let said = refusal("td", &reasons, false, false).to_string();
    assert_eq!(said.matches("--discard-messages").count(), 1, "{said}");
    assert!(
        said.contains("pass --discard-messages and --producers-detached"),
        "{said}"
    );
}

/// DescribeStacks' `EnableTerminationProtection` is optional ("Required: No" in the `Stack`
/// type): a stack whose answer leaves it out is not taken as unprotected (a teardown would
/// purge and delete the fleet, then fail on the data stack); it is refused, and the flag
/// that lifts protection goes on whatever it is.
#[test]
fn protection_not_in_the_answer_is_unknown_and_refused_without_the_flag() {
    let mut s = deployed();
    if let Fact::Known(st) = &mut s.data.state {
        st.termination_protection = None;
    }
    let (r, _) = refusals(decide(&s, none()));
    assert!(
        matches!(&r[..], [Refusal::CannotCheck { what, .. }] if what == "whether qfleet-td-data has termination protection"),
        "{r:?}"
    );
    let lifted = Allowed {
        disable_termination_protection: true,
        ..none()
    };
    assert!(matches!(decide(&s, lifted), Decision::Proceed(_)));
}

#[test]
fn nothing_deployed_is_nothing_to_do() {
    assert!(matches!(
        decide(&Snapshot::empty("td", "eu-west-1"), none()),
        Decision::Nothing
    ));
}

fn code(keys: &[&str]) -> Fact<(String, Contents)> {
    let versions: Vec<Version> = keys
        .iter()
        .map(|k| Version {
            key: k.to_string(),
            version_id: Some("v".into()),
        })
        .collect();
    Fact::Known((
        "td-code-1-eu-west-1".into(),
        Contents {
            objects: keys.len() as u64,
            bytes: 7,
            versions,
        },
    ))
}

/// The function's packages are rebuilt from the stack file's code: they go with the data
/// stack without a flag, exactly the versions listed.
#[test]
fn the_code_buckets_packages_are_deleted_without_a_flag() {
    let pkg = format!("lambda/{}.zip", "ab".repeat(32));
    let mut s = deployed();
    s.code_bucket = Some(code(&[&pkg, &pkg]));
    let Decision::Proceed(plan) = decide(&s, none()) else {
        panic!()
    };
    let (bucket, versions) = plan.code_purge.unwrap();
    assert_eq!(bucket, "td-code-1-eu-west-1");
    assert_eq!(versions.len(), 2);
    // Only the fleet goes: the code bucket is left alone.
    let only_fleet = Allowed {
        only_fleet: true,
        ..none()
    };
    let Decision::Proceed(plan) = decide(&s, only_fleet) else {
        panic!()
    };
    assert!(plan.code_purge.is_none());
}

/// Anything else in the code bucket was put there by someone: nothing is deleted, even with
/// --purge-bucket (which is about the upload bucket), and the refusal names the keys.
#[test]
fn a_foreign_object_in_the_code_bucket_is_a_refusal() {
    let pkg = format!("lambda/{}.zip", "ab".repeat(32));
    let mut s = deployed();
    s.code_bucket = Some(code(&[&pkg, "notes.txt", "lambda/mine.zip"]));
    for allowed in [
        none(),
        Allowed {
            purge_bucket: true,
            discard_messages: true,
            ..none()
        },
    ] {
        let (reasons, unreadable) = refusals(decide(&s, allowed));
        assert!(!unreadable);
        assert_eq!(
            reasons,
            [Refusal::CodeBucketHoldsOthers {
                bucket: "td-code-1-eu-west-1".into(),
                objects: 2,
                keys: vec!["lambda/mine.zip".into(), "notes.txt".into()],
            }]
        );
        let msg = refusal("td", &reasons, false, true).to_string();
        assert!(msg.contains("qfleet did not write"), "{msg}");
    }
}

/// Fail closed: a code bucket that could not be listed is not taken for empty.
#[test]
fn an_unlisted_code_bucket_is_a_refusal() {
    let mut s = deployed();
    s.code_bucket = Some(Fact::Unknown("AccessDenied".into()));
    let (reasons, _) = refusals(decide(&s, none()));
    assert!(
        matches!(&reasons[..], [Refusal::CannotCheck { what, .. }] if what == "the code bucket")
    );
    s.code_bucket = None;
    let (reasons, _) = refusals(decide(&s, none()));
    assert_eq!(reasons.len(), 1);
}

/// The question's preview says the packages go, and why that needs no flag.
#[test]
fn the_preview_names_the_code_buckets_packages() {
    let pkg = format!("lambda/{}.zip", "cd".repeat(32));
    let mut s = deployed();
    s.code_bucket = Some(code(&[&pkg]));
    let Decision::Proceed(plan) = decide(&s, none()) else {
        panic!()
    };
    let text =
        crate::teardown::preview(&plan, &crate::teardown::Options::default(), &str::to_string);
    assert!(
        text.contains(
            "code bucket td-code-1-eu-west-1: 1 package version (deleted: qfleet rebuilds them"
        ),
        "{text}"
    );
}

fn log_group(streams: bool, bytes: u64) -> Fact<crate::aws::LogGroupHolding> {
    Fact::Known(crate::aws::LogGroupHolding {
        name: "/qfleet/td/workers".into(),
        stored_bytes: Some(bytes),
        retention_days: Some(14),
        has_streams: streams,
    })
}

/// The workers' log group goes with the fleet stack: the question says so, and counts it
/// among what is lost, when it holds lines; a fleet that stays keeps it unmentioned.
#[test]
fn the_workers_log_group_is_reported_as_lost_with_the_fleet() {
    let opts = crate::teardown::Options::default();
    let mut s = deployed();
    s.log_group = Some(log_group(true, 2_500));
    let Decision::Proceed(plan) = decide(&s, none()) else {
        panic!()
    };
    let text = crate::teardown::preview(&plan, &opts, &str::to_string);
    assert!(
        text.contains("log group /qfleet/td/workers: the workers' lines (2.50 kB stored) deleted with the fleet"),
        "{text}"
    );
    assert_eq!(
        crate::teardown::losses(&plan, &opts),
        [
            "log group /qfleet/td/workers: the workers' lines (2.50 kB stored) deleted with the fleet"
        ]
    );

    s.log_group = Some(log_group(false, 0));
    let Decision::Proceed(plan) = decide(&s, none()) else {
        panic!()
    };
    assert!(crate::teardown::losses(&plan, &opts).is_empty());
    assert!(
        crate::teardown::preview(&plan, &opts, &str::to_string)
            .contains("log group /qfleet/td/workers: no lines")
    );

    // Not read: said, and counted as a possible loss, never as empty.
    s.log_group = Some(Fact::Unknown("AccessDenied".into()));
    let Decision::Proceed(plan) = decide(&s, none()) else {
        panic!()
    };
    assert_eq!(
        crate::teardown::losses(&plan, &opts),
        ["the workers' log group: not read (AccessDenied); deleted with the fleet"]
    );
}

/// A pipeline's later stage: its fleet stack deployed, its queues empty unless a test fills them.
fn later_stage(name: &str) -> LaterStage {
    let mut s = Snapshot::deployed("td");
    let fleet = format!("qfleet-td--{name}-fleet");
    s.fleet.name = fleet.clone();
    if let Fact::Known(st) = &mut s.fleet.state {
        st.name = fleet;
    }
    s.queue = Fact::Known(Queue::for_tests(&format!("qfleet-td--{name}-jobs"), 0, &[]));
    s.dead_letter_queue = Fact::Known(Queue::for_tests(&format!("qfleet-td--{name}-dlq"), 0, &[]));
    LaterStage {
        name: name.into(),
        queue_id: "StageThumbsQueue".into(),
        dead_letter_id: "StageThumbsDeadLetterQueue".into(),
        priority_id: "StageThumbsPriorityQueue".into(),
        snap: s,
    }
}

#[test]
fn a_pipeline_goes_every_fleet_first_then_the_data_with_every_stage_s_queues_counted() {
    let later = [later_stage("thumbs")];
    let Decision::Proceed(plan) = decide_stages(&deployed(), &later, none()) else {
        panic!()
    };
    let names: Vec<&str> = plan.targets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "qfleet-td--thumbs-fleet",
            "qfleet-td-fleet",
            "qfleet-td-data"
        ]
    );
    let stages = &plan.data.unwrap().stages;
    assert_eq!(stages.len(), 1);
    assert_eq!(stages[0].queue.as_deref(), Some("qfleet-td--thumbs-jobs"));
    assert_eq!(stages[0].queue_messages, Some(0));
    // Only the fleets with --only-fleet.
    let Decision::Proceed(plan) = decide_stages(
        &deployed(),
        &later,
        Allowed {
            only_fleet: true,
            ..none()
        },
    ) else {
        panic!()
    };
    assert_eq!(plan.targets.len(), 2);
    assert!(plan.data.is_none());
}

#[test]
fn a_later_stage_s_messages_are_refused_like_the_first_s_and_unreadable_ones_too() {
    let mut later = [later_stage("thumbs")];
    later[0].snap.queue = Fact::Known(Queue::for_tests("qfleet-td--thumbs-jobs", 4, &[]));
    let (r, _) = refusals(decide_stages(&deployed(), &later, none()));
    assert_eq!(
        r,
        [Refusal::QueueHoldsMessages {
            queue: "qfleet-td--thumbs-jobs".into(),
            dead_letter: false,
            messages: 4
        }]
    );
    assert!(matches!(
        decide_stages(
            &deployed(),
            &later,
            Allowed {
                discard_messages: true,
                ..none()
            }
        ),
        Decision::Proceed(_)
    ));
    later[0].snap.dead_letter_queue = Fact::Unknown("AccessDenied".into());
    later[0].snap.queue = Fact::Known(Queue::for_tests("qfleet-td--thumbs-jobs", 0, &[]));
    let (r, aws_unreadable) = refusals(decide_stages(&deployed(), &later, none()));
    assert!(!aws_unreadable);
    assert!(
        matches!(&r[..], [Refusal::CannotCheck { what, .. }] if what == "stage thumbs's dead-letter queue"),
        "{r:?}"
    );
    // A later fleet that could not be read is a refusal, never "absent".
    let mut later = [later_stage("thumbs")];
    later[0].snap.fleet.state = Fact::Unknown("Throttling".into());
    let (r, _) = refusals(decide_stages(&deployed(), &later, none()));
    assert!(
        matches!(&r[..], [Refusal::CannotCheck { what, .. }] if what == "stack qfleet-td--thumbs-fleet"),
        "{r:?}"
    );
}

/// A later stage's workers' log group goes with its fleet: said in the question and counted
/// among what is lost, beside the first stage's.
#[test]
fn a_later_stage_s_log_group_is_reported_as_lost_with_its_fleet() {
    let opts = crate::teardown::Options::default();
    let mut first = deployed();
    first.log_group = Some(log_group(true, 2_500));
    let mut later = later_stage("thumbs");
    later.snap.log_group = Some(Fact::Known(crate::aws::LogGroupHolding {
        name: "/qfleet/td/thumbs/workers".into(),
        stored_bytes: Some(1_000),
        retention_days: Some(14),
        has_streams: true,
    }));
    let Decision::Proceed(plan) = decide_stages(&first, std::slice::from_ref(&later), none())
    else {
        panic!()
    };
    assert_eq!(
        crate::teardown::losses(&plan, &opts),
        [
            "log group /qfleet/td/workers: the workers' lines (2.50 kB stored) deleted with the fleet",
            "log group /qfleet/td/thumbs/workers: the workers' lines (1.00 kB stored) deleted with the fleet",
        ]
    );
    assert!(
        crate::teardown::preview(&plan, &opts, &str::to_string)
            .contains("log group /qfleet/td/thumbs/workers"),
        "{}",
        crate::teardown::preview(&plan, &opts, &str::to_string)
    );

    // Not read: a possible loss, never none.
    later.snap.log_group = Some(Fact::Unknown("AccessDenied".into()));
    let Decision::Proceed(plan) = decide_stages(&first, std::slice::from_ref(&later), none())
    else {
        panic!()
    };
    assert!(
        crate::teardown::losses(&plan, &opts)
            .iter()
            .any(|l| l.contains("not read (AccessDenied)")),
        "{:?}",
        crate::teardown::losses(&plan, &opts)
    );
}

/// Issue 33: a stack of the environment's name that qfleet did not make for it (no
/// qfleet:environment tag, or another owner's) is never deleted, whatever the flags.
#[test]
fn a_stack_without_the_environments_marks_is_refused_whatever_the_flags() {
    let all = Allowed {
        purge_bucket: true,
        discard_messages: true,
        delete_job_records: true,
        delete_images: true,
        producers_detached: true,
        disable_termination_protection: true,
        only_fleet: false,
        wants_protection: true,
        yes: true,
    };
    let mut s = deployed();
    if let Fact::Known(st) = &mut s.data.state {
        st.tags.clear();
    }
    let (reasons, unreadable) = refusals(decide(&s, all));
    assert!(!unreadable);
    assert_eq!(
        reasons,
        [Refusal::NotOurs {
            stack: "qfleet-td-data".into(),
            lacks: vec!["the tag qfleet:environment=td (it has none)".into()],
        }]
    );
    assert!(
        reasons[0].flag().is_none(),
        "no flag deletes another's stack"
    );
    assert!(reasons[0].describe().contains("deploy --adopt"));

    // Another team's stacks of the same environment name: their owner differs.
    let mut s = deployed();
    s.owner = Some("team-b".into());
    if let Fact::Known(st) = &mut s.fleet.state {
        st.tags
            .insert(crate::config::OWNER_TAG.into(), "team-a".into());
    }
    let (reasons, _) = refusals(decide(&s, all));
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons.iter().all(
        |r| matches!(r, Refusal::NotOurs { lacks, .. } if lacks[0].contains("qfleet:owner=team-b"))
    ));

    // With the marks, the same snapshot proceeds.
    let s = deployed();
    assert!(matches!(decide(&s, all), Decision::Proceed(_)));
}

/// Issue 57: a teardown decides on the queues' counts alone, never receiving (SQS has no peek:
/// every receive counts toward the dead-letter queue); S3's test event never waits in a queue
/// (the subscriptions leave it out), so every message counted is data, and it is refused for.
#[test]
fn every_message_counted_is_data() {
    let mut s = deployed();
    s.queue = Fact::Known(Queue::for_tests("qfleet-td-jobs", 1, &[]));
    let (r, _) = refusals(decide(&s, none()));
    assert_eq!(
        r,
        [Refusal::QueueHoldsMessages {
            queue: "qfleet-td-jobs".into(),
            dead_letter: false,
            messages: 1
        }]
    );
    let mut later = [later_stage("thumbs")];
    later[0].snap.queue = Fact::Known(Queue::for_tests("qfleet-td--thumbs-jobs", 1, &[]));
    let (r, _) = refusals(decide_stages(&deployed(), &later, none()));
    assert!(
        matches!(&r[..], [Refusal::QueueHoldsMessages { messages: 1, .. }]),
        "{r:?}"
    );
}

/// `jobs:` (issue 37): a deployed environment with a job table, holding records or not, and
/// its response queue.
fn with_jobs(records: Fact<bool>) -> Snapshot {
    let mut s = deployed();
    s.job_table = Some(Fact::Known(crate::snapshot::JobTable {
        name: "qfleet-td-data-JobTable-1A2B".into(),
        settings: None,
        holds_records: Some(records),
        recent: None,
    }));
    s.response_queue = Some(Fact::Known(Queue::for_tests("qfleet-td-responses", 0, &[])));
    s
}

#[test]
fn a_job_table_holding_records_is_refused_unless_its_loss_is_asked_for() {
    let (reasons, _) = refusals(decide(&with_jobs(Fact::Known(true)), none()));
    assert_eq!(
        reasons,
        [Refusal::TableHoldsRecords {
            table: "qfleet-td-data-JobTable-1A2B".into()
        }]
    );
    assert!(
        reasons[0]
            .flag()
            .unwrap()
            .starts_with("--delete-job-records")
    );
    // Other flags do not lift it.
    let others = Allowed {
        purge_bucket: true,
        discard_messages: true,
        ..Allowed::default()
    };
    assert!(matches!(
        decide(&with_jobs(Fact::Known(true)), others),
        Decision::Refuse { .. }
    ));
    let asked = Allowed {
        delete_job_records: true,
        ..Allowed::default()
    };
    let Decision::Proceed(plan) = decide(&with_jobs(Fact::Known(true)), asked) else {
        panic!("the flag allows exactly that loss")
    };
    let jobs = plan.data.unwrap().jobs.unwrap();
    assert_eq!(jobs.records, Some(true));
    // An empty table goes without a flag.
    assert!(matches!(
        decide(&with_jobs(Fact::Known(false)), none()),
        Decision::Proceed(_)
    ));
}

#[test]
fn a_job_table_not_read_is_a_refusal_and_a_kept_one_is_not() {
    let (reasons, _) = refusals(decide(
        &with_jobs(Fact::Unknown("throttled".into())),
        none(),
    ));
    assert!(
        matches!(&reasons[..], [Refusal::CannotCheck { what, why }] if what.contains("job table") && why == "throttled"),
        "{reasons:?}"
    );
    // A protected environment's table is retained with the stack: no loss, no refusal.
    let mut kept = with_jobs(Fact::Known(true));
    if let Some(Fact::Known(p)) = &mut kept.data.deletion_policies {
        p.insert("JobTable".into(), "Retain".into());
    }
    let Decision::Proceed(plan) = decide(&kept, none()) else {
        panic!("a retained table is not lost")
    };
    assert!(plan.data.unwrap().jobs.unwrap().retained);
    // The response queue's messages are data: refused without --discard-messages.
    let mut answered = with_jobs(Fact::Known(false));
    answered.response_queue = Some(Fact::Known(Queue::for_tests("qfleet-td-responses", 3, &[])));
    let (reasons, _) = refusals(decide(&answered, none()));
    assert!(
        matches!(&reasons[..], [Refusal::QueueHoldsMessages { queue, messages: 3, .. }] if queue == "qfleet-td-responses"),
        "{reasons:?}"
    );
}

/// The producers' managed policy (`sources.messages`): CloudFormation would detach it from
/// the producers' roles to delete it, and qfleet cannot see them. Refused until the user says
/// it is attached to nothing; then the teardown goes on.
#[test]
fn a_producers_policy_is_refused_until_the_user_says_it_is_detached() {
    use crate::aws::StackResource;
    use aws_sdk_cloudformation::types::ResourceStatus;
    let arn = "arn:aws:iam::111122223333:policy/qfleet-td-data-ProducerPolicy-ABC";
    let mut s = deployed();
    let Fact::Known(resources) = &mut s.data.resources else {
        panic!()
    };
    for (id, status) in [
        ("ProducerPolicy", ResourceStatus::CreateComplete),
        ("StageThumbsProducerPolicy", ResourceStatus::DeleteComplete),
    ] {
        resources.insert(
            id.into(),
            StackResource {
                logical_id: id.into(),
                physical_id: Some(arn.into()),
                resource_type: "AWS::IAM::ManagedPolicy".into(),
                status,
                reason: None,
            },
        );
    }
    let (reasons, _) = refusals(decide(&s, none()));
    assert_eq!(reasons, [Refusal::ProducerPolicy { policy: arn.into() }]);
    let msg = refusal("td", &reasons, false, true).to_string();
    assert!(msg.contains("--producers-detached"), "{msg}");
    let detached = Allowed {
        producers_detached: true,
        ..none()
    };
    assert!(matches!(decide(&s, detached), Decision::Proceed(_)));

    // Resources that could not be listed are not taken for "no policy".
    s.data.resources = Fact::Unknown("ListStackResources failed".into());
    let (reasons, _) = refusals(decide(&s, none()));
    assert!(
        reasons.iter().any(
            |r| matches!(r, Refusal::CannotCheck { what, .. } if what.contains("producers' policies"))
        ),
        "{reasons:?}"
    );
}

/// Schedules (`sources.schedules`) could send a job between the queues' check and their
/// deletion: refused unless messages may go anyway.
#[test]
fn schedules_are_refused_unless_messages_may_be_discarded() {
    use crate::aws::StackResource;
    use aws_sdk_cloudformation::types::ResourceStatus;
    let mut s = deployed();
    let Fact::Known(resources) = &mut s.data.resources else {
        panic!()
    };
    resources.insert(
        "Schedule842bd2b0".into(),
        StackResource {
            logical_id: "Schedule842bd2b0".into(),
            physical_id: Some("qfleet-td|nightly-report".into()),
            resource_type: "AWS::Scheduler::Schedule".into(),
            status: ResourceStatus::CreateComplete,
            reason: None,
        },
    );
    let (reasons, _) = refusals(decide(&s, none()));
    assert_eq!(
        reasons,
        [Refusal::Schedules {
            schedules: vec!["qfleet-td|nightly-report".into()]
        }]
    );
    let msg = refusal("td", &reasons, false, true).to_string();
    assert!(msg.contains("--discard-messages"), "{msg}");
    let discard = Allowed {
        discard_messages: true,
        ..none()
    };
    assert!(matches!(decide(&s, discard), Decision::Proceed(_)));
}

/// Issue 56: what Scheduler could not send to a FIFO stage waits in a queue of the data stack's
/// own. Its messages are data: refused without --discard-messages, counted with it, and a
/// queue that could not be read is a refusal, never empty.
#[test]
fn the_schedules_dead_letter_queue_is_counted_like_every_queue() {
    let mut s = deployed();
    s.schedule_dead_letters = Some(Fact::Known(Queue::for_tests(
        "qfleet-td-data-ScheduleDeadLetterQueue-X",
        2,
        &[],
    )));
    let (reasons, _) = refusals(decide(&s, none()));
    assert!(
        matches!(&reasons[..], [Refusal::QueueHoldsMessages { queue, messages: 2, dead_letter: true }] if queue.contains("ScheduleDeadLetterQueue")),
        "{reasons:?}"
    );
    let discard = Allowed {
        discard_messages: true,
        ..none()
    };
    let Decision::Proceed(plan) = decide(&s, discard) else {
        panic!("--discard-messages allows it")
    };
    let data = plan.data.unwrap();
    assert_eq!(
        data.schedule_dead_letters.as_ref().unwrap().messages,
        Some(2)
    );
    assert_eq!(crate::teardown::messages_discarded(&data), 2);
    s.schedule_dead_letters = Some(Fact::Unknown("throttled".into()));
    let (reasons, _) = refusals(decide(&s, none()));
    assert!(
        matches!(&reasons[..], [Refusal::CannotCheck { what, .. }] if what.contains("schedules' dead-letter queue")),
        "{reasons:?}"
    );
}

/// A priority lane (`queue.priority`) holds jobs like the queue beside it: refused without
/// --discard-messages, counted with it, and a lane that could not be read is a refusal, never
/// empty; a later stage's lane the same, named by its stage.
#[test]
fn a_priority_lane_is_counted_like_every_queue() {
    let mut s = deployed();
    s.priority_queue = Some(Fact::Known(Queue::for_tests("qfleet-td-priority", 3, &[])));
    let (reasons, _) = refusals(decide(&s, none()));
    assert!(
        matches!(&reasons[..], [Refusal::QueueHoldsMessages { queue, messages: 3, dead_letter: false }] if queue == "qfleet-td-priority"),
        "{reasons:?}"
    );
    let discard = Allowed {
        discard_messages: true,
        ..none()
    };
    let Decision::Proceed(plan) = decide(&s, discard) else {
        panic!("--discard-messages allows it")
    };
    let data = plan.data.unwrap();
    assert_eq!(data.priority_queue.as_ref().unwrap().messages, Some(3));
    assert_eq!(crate::teardown::messages_discarded(&data), 3);
    s.priority_queue = Some(Fact::Unknown("throttled".into()));
    let (reasons, _) = refusals(decide(&s, none()));
    assert!(
        matches!(&reasons[..], [Refusal::CannotCheck { what, .. }] if what == "the priority lane"),
        "{reasons:?}"
    );
    // A later stage's lane.
    let mut later = later_stage("thumbs");
    later.snap.priority_queue = Some(Fact::Known(Queue::for_tests(
        "qfleet-td--thumbs-priority",
        1,
        &[],
    )));
    let (reasons, _) = refusals(decide_stages(&deployed(), &[later], none()));
    assert!(
        matches!(&reasons[..], [Refusal::QueueHoldsMessages { queue, messages: 1, .. }] if queue == "qfleet-td--thumbs-priority"),
        "{reasons:?}"
    );
}
