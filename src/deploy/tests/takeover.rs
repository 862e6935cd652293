//! Issue 83, item 2: a file that makes an environment another file made (a copy split into a
//! file of its own, a target merged into another file) takes it over on deploy: its stacks'
//! marks are rewritten though nothing else changes. On CloudFormation a change of a stack's
//! tags alone is a change: the change set lists each taggable resource as `Modify` with the
//! scope `Tags` ("For the Modify action, indicates which resource attribute is triggering this
//! update, such as a change in the resource attribute's Metadata, Properties, or Tags",
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html>),
//! and executing it updates the stack's tags, which CloudFormation propagates to the
//! resources that support tags
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html>,
//! `Tags`). Proven with mocks answering as AWS does: moto refuses a change set of tags alone
//! ("No updates are to be performed."), which qfleet reads as no changes there.

use super::logged::*;
use super::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The tags each CreateChangeSet sent, by stack.
type Sent = Arc<Mutex<Vec<(String, BTreeMap<String, String>)>>>;

fn create_cs_sending(log: &Log, sent: &Sent) -> Rule {
    let (log, sent) = (log.clone(), sent.clone());
    mock!(Cfn::create_change_set).then_compute_output(move |r| {
        let stack = r.stack_name().unwrap_or_default().to_string();
        log.lock().unwrap().push(format!("create {stack}"));
        let tags = r
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        sent.lock().unwrap().push((stack.clone(), tags));
        CreateChangeSetOutput::builder()
            .id(format!("cs-{stack}"))
            .stack_id("id")
            .build()
    })
}

/// Each stack as the file that made it left it: the same template and parameters, marked as
/// made by copy 3 of `mk-old` (`mk-old.yaml`).
fn as_made_by_another_file(d: &DesiredStack) -> DescribeStacksOutput {
    let mut old = d.clone();
    old.tags
        .insert(crate::config::FILE_TAG.into(), "mk-old".into());
    old.tags
        .insert(crate::config::STACK_FILE_TAG.into(), "mk-old.yaml".into());
    old.tags.insert(crate::config::COPY_TAG.into(), "3".into());
    stack(&old, StackStatus::UpdateComplete, true, false)
}

#[tokio::test]
async fn mocked_a_file_takes_over_the_stacks_another_file_made_by_rewriting_their_marks() {
    let e = env(&format!("{STACK_FILE}lab: true\n"));
    let (d, f) = (desired(&e, StackRole::Data), desired(&e, StackRole::Fleet));
    let (log, sent) = (Log::default(), Sent::default());
    let done = |name: &'static str| {
        events_after(
            name,
            1,
            vec![(
                name,
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateComplete,
                None,
            )],
        )
    };
    let after = |s: &DesiredStack| stack(s, StackStatus::UpdateComplete, true, false);
    let rules: Vec<&'static Rule> = [
        describe_sequence(DATA, vec![as_made_by_another_file(&d), after(&d)]),
        describe_sequence(FLEET, vec![as_made_by_another_file(&f), after(&f)]),
        done(DATA),
        done(FLEET),
        create_cs_sending(&log, &sent),
        // As AWS answers a change of the stack's tags alone: each taggable resource modified
        // in the scope `Tags`, nothing replaced.
        change_set_of(DATA, "Modify", "Queue", "AWS::SQS::Queue", Some("False")),
        change_set_of(
            FLEET,
            "Modify",
            "WorkerLogGroup",
            "AWS::Logs::LogGroup",
            Some("False"),
        ),
        execute_logged(&log),
        delete_cs_logged(&log),
    ]
    .into_iter()
    .map(|r| &*Box::leak(Box::new(r)))
    .collect();
    let o = deploy(&clients(&rules), &e, Mode::Deploy, &opts(true)).await;
    assert!(o.ok, "{o:?}");
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2, "both stacks get a change set: {sent:?}");
    for (stack, tags) in &sent {
        assert_eq!(
            tags.get(crate::config::FILE_TAG).map(String::as_str),
            Some("mk"),
            "{stack}"
        );
        assert_eq!(
            tags.get(crate::config::STACK_FILE_TAG).map(String::as_str),
            Some("mk.yaml"),
            "{stack}"
        );
        assert!(
            !tags.contains_key(crate::config::COPY_TAG),
            "{stack}: no longer a copy of another file: {tags:?}"
        );
    }
    let log = logged(&log);
    for stack in [DATA, FLEET] {
        assert!(
            log.contains(&format!("execute {stack}")),
            "{stack} marked anew: {log:?}"
        );
    }
}
