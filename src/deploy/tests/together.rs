//! When both stacks' change sets may run at the same time ([`super::super::flow::together`]).

use super::super::flow::together;
use super::super::prepare::{self, Prepared};
use super::*;
use crate::aws::{ChangeSet, ResourceChange as Change};
use crate::config::WorkerKind;
use aws_sdk_cloudformation::types::{ChangeAction, Replacement};
fn prepared_stack(role: StackRole, creating: bool, changes: &[(&str, &str, bool)]) -> Prepared {
    let env = crate::config::parse("stacks/mk.yaml".into(), "region: eu-west-1\n".into())
        .unwrap()
        .into_only();
    let rendered = render::render(&env).unwrap();
    let stack = rendered.iter().find(|s| s.role == role).unwrap();
    let changes = changes
        .iter()
        .map(|(id, ty, replaced)| Change {
            action: ChangeAction::Modify,
            logical_id: id.to_string(),
            resource_type: ty.to_string(),
            replacement: Some(if *replaced {
                Replacement::True
            } else {
                Replacement::False
            }),
            details: Some(vec![]),
            drift: None,
        })
        .collect();
    Prepared {
        desired: DesiredStack::new(&env, stack, None),
        state: None,
        step: prepare::Step::ChangeSet {
            cs: ChangeSet {
                id: "cs".into(),
                stack: stack.stack_name.clone(),
                changes,
                empty: false,
                validations: vec![],
                validation_unread: None,
                made: true,
            },
            creating,
        },
        notes: vec![],
        new_version: None,
        started: std::time::Instant::now(),
    }
}

#[test]
fn both_stacks_run_together_only_when_the_data_stack_stands_and_keeps_its_data() {
    let fleet = prepared_stack(
        StackRole::Fleet,
        false,
        &[("WorkerGroup", "AWS::AutoScaling::AutoScalingGroup", false)],
    );
    let queue = ("Queue", "AWS::SQS::Queue", false);
    let alarm = ("DlqAlarm", "AWS::CloudWatch::Alarm", false);
    let update = prepared_stack(StackRole::Data, false, &[queue]);
    assert!(together(&update, &fleet, WorkerKind::Ec2));
    // Created: the workers' health gate needs the queue first.
    let create = prepared_stack(StackRole::Data, true, &[queue]);
    assert!(!together(&create, &fleet, WorkerKind::Ec2));
    // Replacing the queue loses its messages: one step at a time.
    let replace = prepared_stack(
        StackRole::Data,
        false,
        &[("Queue", "AWS::SQS::Queue", true)],
    );
    assert!(!together(&replace, &fleet, WorkerKind::Ec2));
    // A function's mapping is checked against the queue's settings: the queue goes first.
    assert!(!together(&update, &fleet, WorkerKind::Lambda));
    let alarms_only = prepared_stack(StackRole::Data, false, &[alarm]);
    assert!(together(&alarms_only, &fleet, WorkerKind::Lambda));
    // Nothing to wait for when one stack does not change.
    let unchanged = Prepared {
        step: prepare::Step::Nothing,
        ..prepared_stack(StackRole::Fleet, false, &[])
    };
    assert!(!together(&update, &unchanged, WorkerKind::Ec2));
}
