//! The status of a Lambda environment: over hand-built snapshots (no AWS), and once through
//! SDK-level mocks for what the emulator cannot produce (the function's CloudWatch metrics).
//! Test names say `mocked` for the latter.

use super::*;
use crate::aws::Metrics;
use crate::aws::{EventSourceMapping as Mapping, Function};

fn deployed() -> Snapshot {
    let mut s = Snapshot::deployed("st").serverless();
    s.queue = Fact::Known(Queue::for_tests("qfleet-st-jobs", 30, &[]));
    s.dead_letter_queue = Fact::Known(Queue::for_tests("qfleet-st-dlq", 0, &[]));
    s.lambda_mut().function = Fact::Known(Function::for_tests("qfleet-st-worker", 256, 20));
    s.lambda_mut().mapping = Fact::Known(Mapping::for_tests("qfleet-st-jobs", 10, 2, 5));
    s.metrics = Some(Fact::Known(Metrics {
        function_errors: Some(4.0),
        function_throttles: Some(0.0),
        function_concurrency_peak: Some(3.0),
        ..Metrics::default()
    }));
    s
}

#[test]
fn a_function_environment_shows_the_function_section_instead_of_the_fleet() {
    let st = from_snapshot(&deployed(), 10.0);
    assert!(st.unavailable.is_empty(), "{:?}", st.unavailable);
    assert_eq!(st.kinds(), [crate::config::WorkerKind::Lambda]);
    let f = st.function().expect("the function section");
    assert_eq!(f.function.state.as_deref(), Some("Active"));
    assert_eq!(
        (f.function.memory_mb, f.function.timeout_seconds),
        (256, 20)
    );
    assert_eq!((f.errors, f.throttles), (Some(4.0), Some(0.0)));
    let c = &f.concurrency;
    assert_eq!(
        (c.in_use, c.mapping_maximum, c.reserved, c.cap),
        (Some(3.0), Some(5), None, Some(5))
    );
    assert_eq!(
        c.backlog_per_execution,
        Some(10.0),
        "30 visible / 3 executions"
    );
    let m = f.mapping.as_ref().expect("the mapping");
    assert_eq!(
        (m.state.as_str(), m.batch_size, m.batching_window_seconds),
        ("Enabled", Some(10), Some(2))
    );
    assert!(m.report_batch_item_failures);

    let text = text(&st);
    for want in [
        "function qfleet-st-worker: Active (last update Successful), python3.12, 256 MB, timeout 20 s",
        "concurrency in use (peak, last 15 min): 3; cap: the mapping's maximum 5\n",
        "last 15 min: errors 4, throttles 0",
        "queue mapping a1b2c3d4-5678-90ab-cdef-11111EXAMPLE: Enabled, batch size 10, batching window 2 s, ReportBatchItemFailures on",
        "scaling: 30 visible messages; per execution in use: 10.0",
    ] {
        assert!(text.contains(want), "{want}\n{text}");
    }
    assert!(!text.contains("\nfleet"), "{text}");
    assert!(!text.contains("backlog per instance"), "{text}");
}

#[test]
fn a_function_environment_in_json_has_a_function_object_and_a_null_fleet() {
    let v = serde_json::to_value(from_snapshot(&deployed(), 10.0)).unwrap();
    assert!(v["fleet"].is_null() && v["scaling"].is_null(), "{v}");
    assert_eq!(v["workers"], serde_json::json!(["lambda"]));
    assert_eq!(v["function"]["name"], "qfleet-st-worker");
    assert_eq!(v["function"]["concurrency"]["in_use"], 3.0);
    assert_eq!(v["function"]["concurrency"]["cap"], 5);
    assert_eq!(v["function"]["mapping"]["report_batch_item_failures"], true);
    assert_eq!(v["function"]["mapping"]["batching_window_seconds"], 2);
    assert_eq!(v["function"]["errors"], 4.0);
}

#[test]
fn an_ec2_environment_in_json_has_a_null_function() {
    let st = from_snapshot(&Snapshot::deployed("st"), 10.0);
    let v = serde_json::to_value(&st).unwrap();
    assert!(v["function"].is_null(), "{v}");
    assert_eq!(v["workers"], serde_json::json!(["ec2"]));
    assert!(v["scaling"].is_object(), "{v}");
    assert!(!text(&st).contains("function"));
}

#[test]
fn the_cap_is_the_lower_of_the_mappings_maximum_and_the_reserved_concurrency_and_reaching_it_is_flagged()
 {
    let mut s = deployed();
    if let Some(Fact::Known(f)) = s.function_mut() {
        f.reserved_concurrency = Some(3);
    }
    let st = from_snapshot(&s, 10.0);
    assert_eq!(st.function().unwrap().concurrency.cap, Some(3));
    let text = text(&st);
    assert!(
        text.contains(
            "(peak, last 15 min): 3; cap: the mapping's maximum 5, reserved 3  <-- AT THE CAP"
        ),
        "{text}"
    );
    assert!(
        text.contains("at the cap: the backlog waits for free executions"),
        "{text}"
    );
}

#[test]
fn an_unreadable_function_is_said_with_its_reason_and_the_rest_is_shown() {
    let mut s = deployed();
    s.lambda_mut().function = Fact::Unknown(
        "reading function qfleet-st-worker: access denied: not authorized to perform: lambda:GetFunction".into(),
    );
    let st = from_snapshot(&s, 10.0);
    assert!(st.function().is_none());
    assert!(st.unavailable["function"].contains("lambda:GetFunction"));
    let text = text(&st);
    assert!(
        text.contains("function: not available (reading function qfleet-st-worker: access denied"),
        "{text}"
    );
    assert!(!text.contains("function: not deployed"), "{text}");
    assert!(text.contains("queue qfleet-st-jobs: 30 visible"), "{text}");
}

#[test]
fn an_unreadable_mapping_is_said_with_its_reason_not_as_missing() {
    let mut s = deployed();
    s.lambda_mut().mapping = Fact::Unknown("listing the event source mappings of function qfleet-st-worker: AWS kept throttling the request (TooManyRequestsException) after every retry; run again later or lower --concurrency".into());
    let st = from_snapshot(&s, 10.0);
    assert!(st.function().unwrap().mapping.is_none());
    assert!(st.unavailable.contains_key("queue mapping"));
    let text = text(&st);
    assert!(
        text.contains("queue mapping: not available (listing the event source mappings"),
        "{text}"
    );
    assert!(!text.contains("not deployed"), "{text}");
    assert!(
        !text.contains("not available: queue mapping"),
        "said once: {text}"
    );
}

#[test]
fn a_function_without_a_mapping_says_the_queue_feeds_nothing() {
    let mut s = deployed();
    s.lambda_mut().mapping = Fact::Absent;
    let text = text(&from_snapshot(&s, 10.0));
    assert!(
        text.contains("queue mapping: not deployed (the queue feeds no function)"),
        "{text}"
    );
}

#[test]
fn metrics_that_could_not_be_read_are_not_available_not_zero() {
    let mut s = deployed();
    // What moto answers the SDK's CloudWatch protocol.
    s.metrics = Some(Fact::Unknown(
        "reading the metrics: AWS answered HTTP 404 with an empty body and no error AWS would send"
            .into(),
    ));
    let st = from_snapshot(&s, 10.0);
    let f = st.function().unwrap();
    assert_eq!(
        (f.errors, f.throttles, f.concurrency.in_use),
        (None, None, None)
    );
    let text = text(&st);
    assert!(
        text.contains("errors not available, throttles not available"),
        "{text}"
    );
    assert!(
        text.contains(
            "concurrency in use (peak, last 15 min): not available; cap: the mapping's maximum 5"
        ),
        "{text}"
    );
    assert!(
        text.contains("per execution in use: not available (the metrics could not be read)"),
        "{text}"
    );
    assert!(
        text.contains("not available: metrics: reading the metrics"),
        "{text}"
    );
}

#[test]
fn a_function_environment_not_deployed_says_so() {
    let st = from_snapshot(&Snapshot::empty("st", "eu-west-1").serverless(), 10.0);
    let text = text(&st);
    assert!(text.contains("function: not deployed"), "{text}");
    assert!(!text.contains("\nfleet"), "{text}");
    assert!(st.unavailable.is_empty(), "{:?}", st.unavailable);
}

/// A function from a container image has no runtime: status names the image it runs, as Lambda
/// resolved it (the digest a tag pointed to when the function was last changed).
#[test]
fn an_image_function_shows_its_resolved_image_instead_of_a_runtime() {
    let mut s = deployed();
    let image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/resizer@sha256:abc";
    if let Some(Fact::Known(f)) = s.function_mut() {
        f.name = "qfleet-st-worker-image".into();
        f.runtime = None;
        f.image = Some(image.into());
    }
    let text = text(&from_snapshot(&s, 10.0));
    assert!(
        text.contains(&format!(
            "function qfleet-st-worker-image: Active (last update Successful), image {image}, 256 MB"
        )),
        "{text}"
    );
}

/// A queue deleted outside CloudFormation while its stack stands is MISSING, as drift calls
/// it, never "not deployed" (issue 57); before its stack exists, it is not deployed.
#[test]
fn a_queue_deleted_outside_cloudformation_is_missing_not_undeployed() {
    let mut s = deployed();
    s.queue = Fact::Absent;
    let st = from_snapshot(&s, 10.0);
    assert!(
        st.unavailable["queue"].starts_with(
            "missing: stack qfleet-st-data stands, but SQS says the queue does not exist (deleted outside CloudFormation); `qfleet drift st` shows it"
        ),
        "{:?}",
        st.unavailable
    );
    let shown = text(&st);
    assert!(
        shown.contains("\nqueue: MISSING (stack qfleet-st-data stands"),
        "{shown}"
    );
    assert!(!shown.contains("queue: not deployed"), "{shown}");
    let rows = crate::status::rows::render_rows(std::slice::from_ref(&st));
    assert!(rows.contains("MISSING"), "{rows}");

    let mut fresh = Snapshot::empty("st", "eu-west-1");
    fresh.queue = Fact::Absent;
    let st = from_snapshot(&fresh, 10.0);
    assert!(
        !st.unavailable.contains_key("queue"),
        "{:?}",
        st.unavailable
    );
    assert!(text(&st).contains("queue: not deployed"));
}

/// A priority lane's mapping (`queue.priority`): shown with its state and maximum concurrency;
/// one the stack file asks for and the fleet stack lacks is said, never left out.
#[test]
fn the_priority_lanes_mapping_is_shown_and_a_missing_one_said() {
    let mut s = deployed();
    assert!(!text(&from_snapshot(&s, 10.0)).contains("priority lane mapping"));
    let mut lane = Mapping::for_tests("qfleet-st-priority", 10, 2, 3);
    lane.state = "Disabled".into();
    s.lambda_mut().priority_mapping = Some(Fact::Known(lane));
    let st = from_snapshot(&s, 10.0);
    let shown = text(&st);
    assert!(
        shown.contains("priority lane mapping ")
            && shown.contains(": Disabled, maximum concurrency 3"),
        "{shown}"
    );
    let json = serde_json::to_value(&st).unwrap();
    assert_eq!(
        json["function"]["priority_mapping"]["state"], "Disabled",
        "{json}"
    );
    s.lambda_mut().priority_mapping = Some(Fact::Absent);
    let shown = text(&from_snapshot(&s, 10.0));
    assert!(
        shown.contains("priority lane mapping: not deployed: the stack file has queue.priority"),
        "{shown}"
    );
    assert_eq!(
        shown.matches("priority lane mapping").count(),
        1,
        "said once: {shown}"
    );
}

/// A function on Lambda Managed Instances names its capacity provider, in text and JSON;
/// one on Lambda's default compute says nothing of one.
#[test]
fn a_function_on_managed_instances_names_its_capacity_provider() {
    let mut s = deployed();
    assert!(!text(&from_snapshot(&s, 10.0)).contains("managed instances"));
    let arn = "arn:aws:lambda:eu-west-1:123456789012:capacity-provider:qfleet-st-capacity-0a1b2c3d";
    if let Some(Fact::Known(f)) = s.function_mut() {
        f.capacity_provider = Some(arn.into());
    }
    let st = from_snapshot(&s, 10.0);
    let shown = text(&st);
    assert!(
        shown.contains("256 MB, timeout 20 s, on managed instances (qfleet-st-capacity-0a1b2c3d)"),
        "{shown}"
    );
    let json = serde_json::to_value(&st).unwrap();
    assert_eq!(json["function"]["capacity_provider"], arn, "{json}");
}
