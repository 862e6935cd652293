//! Scheduling: slots are held to read, decide and send calls, not to wait for CloudFormation
//! (mocked).

use super::*;

/// Both environments' stacks as DescribeStacks answers: a data stack never exists; a fleet is
/// complete until its DeleteStack, then DELETE_IN_PROGRESS until every fleet in `all` has been
/// sent its DeleteStack, then gone. Each answer records the free slots at that moment, as
/// `(stack, "read" | "wait", free slots)`.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, &'static str, usize)>>>;

fn fleets_gone_together(
    all: &'static [&'static str],
    deleted: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    schedule: schedule::Schedule,
    seen: Seen,
) -> Rule {
    mock!(Cfn::describe_stacks).then_compute_response(move |r| {
        use aws_smithy_mocks::MockResponse;
        let name = r.stack_name().unwrap_or_default().to_string();
        if !name.ends_with("-fleet") {
            return MockResponse::Error(crate::aws::mock::no_such_stack(&name));
        }
        let gone = deleted.lock().unwrap().clone();
        let phase = if gone.contains(&name) { "wait" } else { "read" };
        seen.lock()
            .unwrap()
            .push((name.clone(), phase, schedule.free_slots()));
        if all.iter().all(|f| gone.iter().any(|g| g == f)) {
            MockResponse::Error(crate::aws::mock::no_such_stack(&name))
        } else if phase == "wait" {
            MockResponse::Output(stack(&name, cfn::StackStatus::DeleteInProgress, false))
        } else {
            MockResponse::Output(stack(&name, cfn::StackStatus::CreateComplete, false))
        }
    })
}

fn recording_delete(
    deleted: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    schedule: schedule::Schedule,
    seen: Seen,
) -> Rule {
    mock!(Cfn::delete_stack).then_compute_output(move |r| {
        let name = r.stack_name().unwrap_or_default().to_string();
        seen.lock()
            .unwrap()
            .push((name.clone(), "delete", schedule.free_slots()));
        deleted.lock().unwrap().push(name);
        DeleteStackOutput::builder().build()
    })
}

fn named(name: &str) -> Environment {
    crate::config::parse(
        PathBuf::from(format!("stacks/{name}.yaml")),
        "region: eu-west-1\ntermination_protection: false\n".into(),
    )
    .unwrap()
    .into_only()
}

#[tokio::test]
async fn mocked_with_one_slot_two_environments_wait_for_their_deletions_at_the_same_time() {
    // ta's fleet is gone only once tb's fleet has been sent its DeleteStack too. With one slot
    // held through the wait, tb could never be read or deleted and ta's wait would run out of
    // polls; with the slot given back while CloudFormation deletes, both waits overlap.
    let schedule = schedule::Schedule::new(1);
    let (deleted, seen): (std::sync::Arc<std::sync::Mutex<Vec<String>>>, Seen) = Default::default();
    let describe = fleets_gone_together(
        &["qfleet-ta-fleet", "qfleet-tb-fleet"],
        deleted.clone(),
        schedule.clone(),
        seen.clone(),
    );
    let del = recording_delete(deleted.clone(), schedule.clone(), seen.clone());
    let res = mock!(Cfn::list_stack_resources)
        .then_output(|| ListStackResourcesOutput::builder().build());
    let (t, ev) = (template(), no_events());
    let clients = Rules {
        cfn: vec![&describe, &del, &res, &t, &ev],
        ..Default::default()
    }
    .clients();
    let opts = Options {
        schedule: schedule.clone(),
        ..opts()
    };
    let rep = reporter();
    let (a, b) = (named("ta"), named("tb"));
    // Boxed: two teardowns side by side are too large for a test thread's stack.
    let (oa, ob) = tokio::join!(
        Box::pin(environment(&clients, &a, &opts, &rep)),
        Box::pin(environment(&clients, &b, &opts, &rep))
    );
    assert!(oa.ok && ob.ok, "{oa:?}\n{ob:?}");
    assert_eq!(oa.deleted, ["qfleet-ta-fleet"]);
    assert_eq!(ob.deleted, ["qfleet-tb-fleet"]);
    let seen = seen.lock().unwrap();
    let waited = |stack: &str| {
        seen.iter()
            .filter(|(s, phase, _)| s == stack && *phase == "wait")
            .count()
    };
    assert!(
        waited("qfleet-ta-fleet") >= 1 && waited("qfleet-tb-fleet") >= 1,
        "both waited: {seen:?}"
    );
    // ta was still waiting (DELETE_IN_PROGRESS) when tb was read and its DeleteStack sent.
    let tb_deleted = seen
        .iter()
        .position(|(s, phase, _)| s == "qfleet-tb-fleet" && *phase == "delete")
        .unwrap();
    assert!(
        seen[..tb_deleted]
            .iter()
            .any(|(s, phase, _)| s == "qfleet-ta-fleet" && *phase == "wait"),
        "{seen:?}"
    );
    for (s, phase, free) in seen.iter() {
        if *phase != "wait" {
            assert_eq!(*free, 0, "{s} {phase} holds the one slot: {seen:?}");
        }
    }
    assert_eq!(schedule.free_slots(), 1, "every slot given back");
    assert_eq!(schedule.waits(), 0);
}

#[tokio::test]
async fn mocked_an_environment_holds_its_slot_to_read_and_delete_but_not_to_wait() {
    let schedule = schedule::Schedule::new(3);
    let (deleted, seen): (std::sync::Arc<std::sync::Mutex<Vec<String>>>, Seen) = Default::default();
    let describe = fleets_gone_together(
        &["qfleet-td-fleet"],
        deleted.clone(),
        schedule.clone(),
        seen.clone(),
    );
    let del = recording_delete(deleted.clone(), schedule.clone(), seen.clone());
    // The wait's first poll still finds the stack deleting; it is gone at the second.
    let polls = std::sync::Arc::new(std::sync::Mutex::new(0));
    let counted = polls.clone();
    let gone = deleted.clone();
    let describe_slow = mock!(Cfn::describe_stacks)
        .match_requests(move |r| {
            let deleting = r.stack_name() == Some("qfleet-td-fleet")
                && gone.lock().unwrap().iter().any(|g| g == "qfleet-td-fleet");
            if deleting {
                *counted.lock().unwrap() += 1;
            }
            deleting && *counted.lock().unwrap() == 1
        })
        .then_output(|| stack("qfleet-td-fleet", cfn::StackStatus::DeleteInProgress, false));
    let res = mock!(Cfn::list_stack_resources)
        .then_output(|| ListStackResourcesOutput::builder().build());
    let (t, ev) = (template(), no_events());
    let clients = Rules {
        cfn: vec![&describe_slow, &describe, &del, &res, &t, &ev],
        ..Default::default()
    }
    .clients();
    let opts = Options {
        schedule: schedule.clone(),
        ..opts()
    };
    let o = environment(&clients, &env(), &opts, &reporter()).await;
    assert!(o.ok, "{o:?}");
    let seen = seen.lock().unwrap();
    let free = |phase: &str| -> Vec<usize> {
        seen.iter()
            .filter(|(_, p, _)| *p == phase)
            .map(|(_, _, f)| *f)
            .collect()
    };
    assert_eq!(free("read"), [2], "the first read holds a slot");
    assert_eq!(free("delete"), [2], "DeleteStack is sent holding it");
    assert!(!free("wait").is_empty(), "{seen:?}");
    assert!(
        free("wait").iter().all(|f| *f == 3),
        "no slot is held while CloudFormation deletes: {seen:?}"
    );
    assert!(*polls.lock().unwrap() >= 2, "waited past the first poll");
    assert_eq!(schedule.free_slots(), 3);
}
