//! Status fields the emulator cannot produce (CloudWatch metric values and alarm states, the
//! scaling policy's target, instances on an older launch template, scaling out), from
//! SDK-level mocks. Test names say `mocked`.

use super::*;
use crate::aws::{
    mock::Rules, mock::describe_stacks, mock::list_resources, mock::queue_attributes,
    mock::resource,
};
use aws_sdk_cloudformation::types as cfn;
use aws_sdk_cloudwatch::types as cw;
use aws_smithy_mocks::mock;
use std::path::PathBuf;

const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-st-jobs";
const DLQ: &str =
    "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-st-data-DeadLetterQueue-X";

/// An instance of a group as DescribeAutoScalingGroups lists it (XML).
fn instance(id: &str, zone: &str, version: &str) -> String {
    format!(
        "<member><InstanceId>{id}</InstanceId><AvailabilityZone>{zone}</AvailabilityZone><LifecycleState>InService</LifecycleState><HealthStatus>Healthy</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn><LaunchTemplate><Version>{version}</Version></LaunchTemplate></member>"
    )
}

/// Auto Scaling answering each action with its status and result (XML), as the Query protocol
/// sends it; any other action an error.
fn auto_scaling(answers: Vec<(&'static str, u16, String)>) -> crate::aws::fake::Fake {
    crate::aws::fake::Fake::new(move |r| {
        let action = r.param("Action").unwrap_or_default();
        match answers.iter().find(|(a, _, _)| *a == action) {
            Some((_, 200, result)) => (200, crate::aws::mock::query_answer(action, result)),
            Some((_, status, body)) => (*status, body.clone()),
            None => (
                400,
                crate::aws::fake::error("InvalidAction", "not in this test"),
            ),
        }
    })
}

#[tokio::test]
async fn mocked_status_reads_cloudwatch_policy_alarms_and_outdated_instances() {
    use aws_sdk_cloudwatch::Client as Cw;
    use aws_sdk_sqs::Client as Sqs;

    let env = crate::config::parse(
        PathBuf::from("stacks/st.yaml"),
        "region: eu-west-1\nscaling: {max_latency_seconds: 600, seconds_per_message: 30}\nworkers: {min: 1, max: 4}\n".into(),
    )
    .unwrap()
    .into_only();
    let describe = describe_stacks(vec![
        (
            "qfleet-st-data",
            Some((cfn::StackStatus::UpdateComplete, true)),
        ),
        (
            "qfleet-st-fleet",
            Some((cfn::StackStatus::UpdateComplete, true)),
        ),
    ]);
    let live = cfn::ResourceStatus::CreateComplete;
    let res = list_resources(vec![
        (
            "qfleet-st-data",
            vec![
                resource("Queue", QUEUE, "AWS::SQS::Queue", live.clone()),
                resource("DeadLetterQueue", DLQ, "AWS::SQS::Queue", live.clone()),
                resource(
                    "Dashboard",
                    "qfleet-st-eu-west-1",
                    "AWS::CloudWatch::Dashboard",
                    live.clone(),
                ),
                resource(
                    "Bucket",
                    "st-uploads-111122223333-eu-west-1",
                    "AWS::S3::Bucket",
                    live.clone(),
                ),
            ],
        ),
        (
            "qfleet-st-fleet",
            vec![resource(
                "WorkerGroup",
                "qfleet-st-workers",
                "AWS::AutoScaling::AutoScalingGroup",
                live,
            )],
        ),
    ]);
    let groups = format!(
        "<AutoScalingGroups><member><AutoScalingGroupName>qfleet-st-workers</AutoScalingGroupName><MinSize>1</MinSize><MaxSize>4</MaxSize><DesiredCapacity>3</DesiredCapacity><AvailabilityZones><member>eu-west-1a</member><member>eu-west-1b</member></AvailabilityZones><LaunchTemplate><Version>2</Version></LaunchTemplate><Instances>{}{}</Instances><SuspendedProcesses><member><ProcessName>AZRebalance</ProcessName></member></SuspendedProcesses><Tags><member><ResourceId>qfleet-st-workers</ResourceId><ResourceType>auto-scaling-group</ResourceType><Key>qfleet:environment</Key><Value>st</Value><PropagateAtLaunch>true</PropagateAtLaunch></member><member><ResourceId>qfleet-st-workers</ResourceId><ResourceType>auto-scaling-group</ResourceType><Key>qfleet:budget-hold</Key><Value>4 since 2026-11-30T10:00:00Z</Value><PropagateAtLaunch>false</PropagateAtLaunch></member></Tags></member></AutoScalingGroups>",
        instance("i-1", "eu-west-1a", "2"),
        instance("i-2", "eu-west-1b", "1"),
    );
    let activities = "<Activities><member><ActivityId>a</ActivityId><AutoScalingGroupName>g</AutoScalingGroupName><Cause>backlog</Cause><Description>Launching a new EC2 instance</Description><StartTime>1970-01-01T00:00:00Z</StartTime><StatusCode>InProgress</StatusCode></member></Activities>";
    let policies = "<ScalingPolicies><member><PolicyName>BacklogPerInstance</PolicyName><PolicyType>TargetTrackingScaling</PolicyType><TargetTrackingConfiguration><TargetValue>20.0</TargetValue></TargetTrackingConfiguration></member></ScalingPolicies>";
    let attrs = mock!(Sqs::get_queue_attributes).then_compute_output(|r| {
        let visible = if r.queue_url() == Some(QUEUE) { 40 } else { 2 };
        queue_attributes(visible, 1, 0, &[])
    });
    let alarms = mock!(Cw::describe_alarms).then_compute_output(|r| {
        let out = aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder();
        if r.alarm_name_prefix() == Some("qfleet-st-data-") {
            out.metric_alarms(
                cw::MetricAlarm::builder()
                    .alarm_name("qfleet-st-data-DeadLetterQueueNotEmptyAlarm-1")
                    .state_value(cw::StateValue::Alarm)
                    .state_reason("Threshold Crossed")
                    .build(),
            )
            .build()
        } else {
            out.build()
        }
    });
    let data = mock!(Cw::get_metric_data).then_compute_output(|req| {
        // The upload-to-processed statistics: the environment's metric, one period over the
        // whole window.
        let latency: Vec<_> = req
            .metric_data_queries()
            .iter()
            .filter_map(|q| q.metric_stat())
            .filter(|m| m.metric().and_then(|m| m.namespace()) == Some("qfleet"))
            .collect();
        let stats: Vec<_> = latency.iter().filter_map(|m| m.stat()).collect();
        assert_eq!(stats, ["SampleCount", "p50", "p95", "p99", "Maximum"]);
        for m in &latency {
            let metric = m.metric().unwrap();
            assert_eq!(metric.metric_name(), Some("UploadToProcessedSeconds"));
            // A one-stage environment's metric has the environment as its only dimension
            // (a pipeline's stage adds Stage: a metric of its own).
            let dims: Vec<_> = metric
                .dimensions()
                .iter()
                .map(|d| (d.name(), d.value()))
                .collect();
            assert_eq!(dims, [(Some("Environment"), Some("st"))]);
            assert_eq!(m.period(), Some(900));
        }
        let r = |id: &str, v: f64| cw::MetricDataResult::builder().id(id).values(v).build();
        aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput::builder()
            .metric_data_results(r("oldest", 125.0))
            .metric_data_results(r("backlog", 20.5))
            .metric_data_results(r("latencyjobs", 120.0))
            .metric_data_results(r("latencyp50", 12.0))
            .metric_data_results(r("latencyp95", 400.0))
            .metric_data_results(r("latencyp99", 700.0))
            .metric_data_results(r("latencymax", 900.0))
            .metric_data_results(cw::MetricDataResult::builder().id("dlqoldest").build())
            .build()
    });
    let clients = Rules {
        cfn: vec![&describe, &res],
        autoscaling: Some(auto_scaling(vec![
            ("DescribeAutoScalingGroups", 200, groups),
            ("DescribeScalingActivities", 200, activities.into()),
            ("DescribePolicies", 200, policies.into()),
        ])),
        sqs: vec![&attrs],
        cloudwatch: vec![&alarms, &data],
        ..Default::default()
    }
    .clients();

    let s = gather(&clients, &env).await;
    let f = s.fleet().unwrap();
    assert_eq!((f.desired, f.in_service, f.outdated), (3, 2, 1));
    assert_eq!(f.per_zone.get("eu-west-1b"), Some(&1));
    assert_eq!(f.suspended_processes, ["AZRebalance"]);
    // The budget hold's tag (DescribeAutoScalingGroups' TagDescription), among the group's.
    let hold = f.budget_hold.as_ref().unwrap();
    assert_eq!(
        (hold.max, hold.since.as_deref()),
        (Some(4), Some("2026-11-30T10:00:00Z"))
    );
    let mut lines = Vec::new();
    crate::status::group::render(f, &mut |l| lines.push(l));
    assert!(
        lines[0].contains("(min 1, max 4, HELD by the budget at 4 since 2026-11-30T10:00:00Z)"),
        "{}",
        lines[0]
    );
    assert_eq!(f.activities[0].status, "InProgress");
    let q = s.queue.as_ref().unwrap();
    assert_eq!(
        (q.visible, q.in_flight, q.oldest_message_age_seconds),
        (40, 1, Some(125.0))
    );
    let dlq = s.dead_letter_queue.as_ref().unwrap();
    assert_eq!(dlq.visible, 2);
    assert_eq!(
        dlq.oldest_message_age_seconds, None,
        "no data is None, not 0"
    );
    assert_eq!(
        s.scaling.as_ref().unwrap().backlog_per_instance,
        Some(20.5),
        "(40 visible + 1 in flight) / 2 in service, as the policy's metric counts: its 20.5"
    );
    assert_eq!(
        s.scaling.as_ref().unwrap().target_direction,
        TargetDirection::Out,
        "20.5 above the target 20, desired 3 below the maximum 4"
    );
    assert_eq!(
        s.scaling.as_ref().unwrap().backlog_per_instance_metric,
        Some(20.5)
    );
    assert_eq!(s.scaling.as_ref().unwrap().target, Some(20.0));
    assert_eq!(
        s.scaling.as_ref().unwrap().direction,
        Direction::Out,
        "desired 3 > 2 in service"
    );
    assert_eq!(s.alarms.len(), 1);
    assert_eq!(s.alarms[0].state, "ALARM");
    assert!(
        s.stacks
            .iter()
            .all(|st| st.termination_protection == Some(true))
    );

    let p = s.upload_to_processed.as_ref().unwrap();
    assert_eq!(
        (
            p.jobs,
            p.p50_seconds,
            p.p95_seconds,
            p.p99_seconds,
            p.max_seconds
        ),
        (120, 12.0, 400.0, 700.0, 900.0)
    );
    let goal = s.latency.as_ref().unwrap();
    assert_eq!(
        (goal.oldest_message_age_seconds, goal.p99_seconds, goal.met),
        (Some(125.0), Some(700.0), Some(false)),
        "the oldest message is within 600 s, the jobs' p99 is not"
    );

    let text = text(&s);
    assert!(
        text.contains(
            "upload to processed (last 15 min, 120 jobs): p50 12 s, p95 400 s, p99 700 s, max 900 s"
        ),
        "{text}"
    );
    assert!(text.contains("latency goal 600 s: MISSED"), "{text}");
    assert!(text.contains("FAILED JOBS WAITING"), "{text}");
    assert!(text.contains("SUSPENDED: AZRebalance"), "{text}");
    assert!(text.contains("scaling out"), "{text}");
    assert!(text.contains("(outdated)"), "{text}");
    // The data stack's dashboard, as its console page.
    let link = "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/qfleet-st-eu-west-1";
    assert_eq!(s.dashboard.as_deref(), Some(link));
    assert!(text.contains(&format!("dashboard: {link}")), "{text}");
    assert_eq!(serde_json::to_value(&s).unwrap()["dashboard"], link);
}

#[test]
fn launch_template_versions_compare_as_numbers() {
    use crate::aws::launch_template_outdated as is_outdated;
    assert!(is_outdated(Some("9"), Some("10")));
    assert!(!is_outdated(Some("10"), Some("10")));
    assert!(!is_outdated(Some("$Latest"), Some("3")));
    assert!(!is_outdated(None, Some("3")));
}

// Status over hand-built snapshots: no AWS, no mocks.

mod snapshots {
    use super::super::*;
    use crate::aws::Queue;
    use crate::aws::{AutoScalingGroup as Group, GroupInstance as AsgInstance};
    use crate::snapshot::Fact;
    use crate::snapshot::Snapshot;

    fn deployed() -> Snapshot {
        let mut s = Snapshot::deployed("st");
        s.queue = Fact::Known(Queue::for_tests("qfleet-st-jobs", 30, &[]));
        s.dead_letter_queue = Fact::Known(Queue::for_tests("qfleet-st-dlq", 0, &[]));
        let instance = |id: &str, zone: &str| AsgInstance {
            id: id.into(),
            zone: zone.into(),
            lifecycle: "InService".into(),
            health: "Healthy".into(),
            launch_template_version: Some("1".into()),
            protected_from_scale_in: false,
            instance_type: Some("t3.micro".into()),
        };
        s.ec2_mut().group = Fact::Known(Group {
            name: "qfleet-st-workers".into(),
            desired: 3,
            min: 1,
            max: 4,
            zones: vec![
                "eu-west-1a".into(),
                "eu-west-1b".into(),
                "eu-west-1c".into(),
            ],
            launch_template_version: Some("1".into()),
            instances: vec![
                instance("i-1", "eu-west-1a"),
                instance("i-2", "eu-west-1b"),
                instance("i-3", "eu-west-1c"),
            ],
            suspended_processes: vec![],
            budget_hold: None,
        });
        s
    }

    /// `workers.gpu`: each instance's GPUs from its type, and those in service and healthy
    /// (an unhealthy instance's are not: its GPUs went missing, and it is being replaced).
    #[test]
    fn a_gpu_fleet_says_how_many_gpus_each_instance_has_in_service() {
        let mut snap = deployed();
        if let Some(Fact::Known(g)) = snap.group_mut() {
            for i in &mut g.instances {
                i.instance_type = Some("g6.12xlarge".into());
            }
            g.instances[2].health = "Unhealthy".into();
        }
        let mut st = from_snapshot(&snap, 10.0);
        let plain = text(&st);
        assert!(!plain.contains("GPU"), "{plain}");
        let fleet = st
            .workers
            .iter_mut()
            .find_map(|w| match w {
                Workers::Ec2(Some(f)) => Some(f),
                _ => None,
            })
            .unwrap();
        assert_eq!(fleet.instance_types(), vec!["g6.12xlarge".to_string()]);
        fleet.with_gpus(&[("g6.12xlarge".to_string(), 4)].into());
        let text = text(&st);
        assert!(text.contains("3 in service (8 GPUs in service)"), "{text}");
        assert!(text.contains("GPUs"), "{text}");
        let json = serde_json::to_value(&st).unwrap();
        assert_eq!(json["fleet"]["gpus_in_service"], 8, "{json}");
        assert_eq!(json["fleet"]["instances"][0]["gpus"], 4);
    }

    /// Issue 85: the backlog per instance is counted as the scaling policy counts it
    /// (visible and in flight, per instance in service), and the direction follows from it
    /// against the target: far above it reads "270× the target: scales out", never "steady"
    /// because the group's desired size equals what is in service.
    #[test]
    fn the_backlog_counts_in_flight_and_says_where_the_target_sends_the_scaling() {
        let mut snap = deployed();
        let mut queue = Queue::for_tests("qfleet-st-jobs", 700, &[]);
        queue.depth.in_flight = 20;
        snap.queue = Fact::Known(queue);
        snap.ec2_mut().policies = Some(Fact::Known(vec![crate::aws::ScalingPolicy {
            name: "BacklogPerInstance".into(),
            policy_type: "TargetTrackingScaling".into(),
            target: Some(0.89),
        }]));
        let st = from_snapshot(&snap, 0.89);
        let sc = st.scaling.as_ref().unwrap();
        assert_eq!(sc.backlog_per_instance, Some(240.0), "(700 + 20) / 3");
        assert_eq!(sc.direction, Direction::Steady, "desired 3, 3 in service");
        assert_eq!(sc.target_direction, TargetDirection::Out);
        let row = super::super::rows::backlog(&st);
        assert!(
            row.contains("240.0 / 0.89 (270× the target: scales out)"),
            "{row}"
        );
        let shown = text(&st);
        assert!(
            shown.contains(
                "backlog per instance 240.0 (visible and in flight, as the policy counts;"
            ),
            "{shown}"
        );
        assert!(
            shown.contains("270× the target: scales out; the instances now: steady"),
            "{shown}"
        );
        let json = serde_json::to_value(&st).unwrap();
        assert_eq!(json["scaling"]["target_direction"], "out", "{json}");
        assert_eq!(json["scaling"]["backlog_per_instance"], 240.0, "{json}");

        // Within the bounds: at the maximum no more; below the target at the minimum no fewer.
        let of = TargetDirection::of;
        assert_eq!(
            of(Some(240.0), Some(0.89), Some((10, 1, 10))),
            TargetDirection::AtMax
        );
        assert_eq!(
            of(Some(0.1), Some(0.89), Some((1, 1, 10))),
            TargetDirection::AtMin
        );
        assert_eq!(
            of(Some(0.1), Some(0.89), Some((4, 1, 10))),
            TargetDirection::In
        );
        assert_eq!(of(Some(2.0), Some(2.0), None), TargetDirection::AtTarget);
        assert_eq!(
            of(None, Some(2.0), None),
            TargetDirection::Unknown,
            "none in service"
        );
        assert_eq!(
            of(Some(2.0), None, None),
            TargetDirection::Unknown,
            "no target read"
        );
        assert_eq!(
            TargetDirection::AtMax.words(Some(240.0), Some(0.89), Some(10)),
            "270× the target, at its maximum 10: cannot scale out"
        );
        assert_eq!(
            TargetDirection::Out.words(Some(1.5), Some(1.0), None),
            "above the target: scales out"
        );
    }

    #[test]
    fn a_healthy_environment_reads_as_steady_with_its_backlog() {
        let st = from_snapshot(&deployed(), 10.0);
        assert_eq!(
            st.scaling.as_ref().unwrap().backlog_per_instance,
            Some(10.0),
            "30 visible / 3 in service"
        );
        assert_eq!(st.scaling.as_ref().unwrap().direction, Direction::Steady);
        assert!(st.unavailable.is_empty(), "{:?}", st.unavailable);
        let text = text(&st);
        assert!(
            text.contains("dead-letter queue qfleet-st-dlq: 0 messages"),
            "{text}"
        );
        assert!(
            text.contains("per zone: eu-west-1a: 1, eu-west-1b: 1, eu-west-1c: 1"),
            "{text}"
        );
    }

    /// Schedules on a FIFO stage: what Scheduler could not send waits in a queue of its own,
    /// shown with its depth; unreadable is said, never zero; without one, no line.
    #[test]
    fn the_schedules_dead_letter_queue_is_shown_when_the_stack_has_one() {
        let st = from_snapshot(&deployed(), 10.0);
        assert!(st.schedule_dead_letter_queue.is_none());
        assert!(!text(&st).contains("schedule dead-letter"), "{}", text(&st));

        let mut s = deployed();
        s.schedule_dead_letters = Some(Fact::Known(Queue::for_tests(
            "qfleet-st-schedule-dlq",
            2,
            &[],
        )));
        let st = from_snapshot(&s, 10.0);
        let shown = text(&st);
        assert!(
            shown.contains(
                "schedule dead-letter queue qfleet-st-schedule-dlq: 2 messages  <-- SCHEDULED RUNS NOT SENT"
            ),
            "{shown}"
        );
        let json = serde_json::to_value(&st).unwrap();
        assert_eq!(json["schedule_dead_letter_queue"]["visible"], 2, "{json}");

        s.schedule_dead_letters = Some(Fact::Unknown("AccessDenied".into()));
        let st = from_snapshot(&s, 10.0);
        assert!(st.schedule_dead_letter_queue.is_none());
        let shown = text(&st);
        assert!(
            shown.contains("not available: schedule dead-letter queue: AccessDenied"),
            "{shown}"
        );

        // The data stack lists it, SQS says it does not exist: missing, not left out.
        s.schedule_dead_letters = Some(Fact::Absent);
        let shown = text(&from_snapshot(&s, 10.0));
        assert!(
            shown.contains("schedule dead-letter queue: missing: stack"),
            "{shown}"
        );
    }

    /// A priority lane (`queue.priority`): its depth shown beside the queue's and counted in
    /// the backlog per instance as the scaling counts it; a lane that could not be read is
    /// said, and leaves the backlog unknown rather than the queue's alone.
    #[test]
    fn a_priority_lane_is_shown_and_counted_in_the_backlog() {
        let base = from_snapshot(&deployed(), 10.0);
        assert!(base.priority_queue.is_none());
        assert!(!text(&base).contains("priority lane"), "{}", text(&base));
        let before = base.scaling.as_ref().unwrap().backlog_per_instance.unwrap();
        let in_service = {
            let q = base.queue.as_ref().unwrap();
            (q.visible + q.in_flight) as f64 / before
        };

        let mut s = deployed();
        s.priority_queue = Some(Fact::Known(Queue::for_tests("qfleet-st-priority", 6, &[])));
        let st = from_snapshot(&s, 10.0);
        let shown = text(&st);
        assert!(
            shown.contains("priority lane qfleet-st-priority: 6 visible, 0 in flight, 0 delayed"),
            "{shown}"
        );
        let after = st.scaling.as_ref().unwrap().backlog_per_instance.unwrap();
        assert!(
            (after - (before + 6.0 / in_service)).abs() < 1e-9,
            "{before} {after}"
        );
        let json = serde_json::to_value(&st).unwrap();
        assert_eq!(json["priority_queue"]["visible"], 6, "{json}");

        s.priority_queue = Some(Fact::Unknown("AccessDenied".into()));
        let st = from_snapshot(&s, 10.0);
        assert!(st.priority_queue.is_none());
        assert_eq!(st.scaling.as_ref().unwrap().backlog_per_instance, None);
        let shown = text(&st);
        assert!(shown.contains("priority lane: AccessDenied"), "{shown}");
    }

    #[test]
    fn an_unreadable_fleet_is_said_with_its_reason_and_the_rest_is_shown() {
        let mut s = deployed();
        s.ec2_mut().group = Fact::Unknown("describing group qfleet-st-workers: InternalFailure: not included in your current license plan".into());
        let st = from_snapshot(&s, 10.0);
        assert!(st.fleet().is_none());
        assert_eq!(st.scaling.as_ref().unwrap().direction, Direction::Unknown);
        assert_eq!(
            st.scaling.as_ref().unwrap().backlog_per_instance,
            None,
            "no denominator: no number, not 0"
        );
        let text = text(&st);
        assert!(
            text.contains("fleet: not available (describing group"),
            "{text}"
        );
        assert!(!text.contains("fleet: not deployed"), "{text}");
        assert!(text.contains("queue qfleet-st-jobs: 30 visible"), "{text}");
    }

    #[test]
    fn an_unreadable_queue_is_not_shown_as_empty() {
        let mut s = deployed();
        s.queue = Fact::Unknown("reading queue qfleet-st-jobs: the answer could not be read (HTTP 200 with an HTML page)".into());
        let st = from_snapshot(&s, 10.0);
        assert!(st.queue.is_none());
        assert!(st.unavailable.contains_key("queue"));
        let text = text(&st);
        assert!(
            text.contains("queue: not available (reading queue"),
            "{text}"
        );
        assert!(!text.contains("0 visible"), "{text}");
    }

    #[test]
    fn a_stack_that_cannot_be_read_is_neither_deployed_nor_missing() {
        let mut s = deployed();
        s.data.state = Fact::Unknown("describing stack qfleet-st-data: throttled".into());
        let st = from_snapshot(&s, 10.0);
        assert_eq!(st.stacks[0].exists, None);
        let text = text(&st);
        assert!(text.contains("could not be read"), "{text}");
    }

    #[test]
    fn an_environment_not_deployed_says_so() {
        let st = from_snapshot(&Snapshot::empty("st", "eu-west-1"), 10.0);
        let text = text(&st);
        assert!(
            text.contains("fleet: not deployed") && text.contains("queue: not deployed"),
            "{text}"
        );
        assert!(st.unavailable.is_empty());
    }
}

mod fargate;
mod lambda;

/// The latency goal is met only on a known age at or under it and no p99 over it; either
/// figure over it misses it; without an age it is unknown, never met.
#[test]
fn the_latency_goal_is_met_missed_or_unknown_never_assumed() {
    let q = |age: Option<f64>| QueueDepth {
        name: "q".into(),
        visible: 1,
        in_flight: 0,
        delayed: 0,
        oldest_message_age_seconds: age,
        fair_shares: None,
    };
    let p99 = |p99_seconds: f64| Percentiles {
        window_minutes: 15,
        jobs: 40,
        p50_seconds: 1.0,
        p95_seconds: 2.0,
        p99_seconds,
        max_seconds: p99_seconds + 1.0,
    };
    let of = LatencyGoal::of;
    assert_eq!(of(10.0, Some(&q(Some(4.0))), None).met, Some(true));
    assert_eq!(of(10.0, Some(&q(Some(10.0))), None).met, Some(true));
    assert_eq!(of(10.0, Some(&q(Some(31.0))), None).met, Some(false));
    assert_eq!(of(10.0, Some(&q(None)), None).met, None);
    assert_eq!(of(10.0, None, None).met, None);
    assert_eq!(
        of(10.0, Some(&q(Some(4.0))), Some(&p99(9.0))).met,
        Some(true)
    );
    // The queue is quick now, but the jobs done in the window took too long.
    assert_eq!(
        of(10.0, Some(&q(Some(4.0))), Some(&p99(12.0))).met,
        Some(false)
    );
    assert_eq!(of(10.0, None, Some(&p99(12.0))).met, Some(false));
    assert_eq!(of(10.0, None, Some(&p99(9.0))).met, None, "no age: unknown");
    assert_eq!(of(10.0, None, Some(&p99(9.0))).p99_seconds, Some(9.0));
}

/// A pipeline's oldest message is the oldest across every stage, and unknown when any stage's
/// age is: never the known stages' maximum passed off as the pipeline's.
#[test]
fn a_pipeline_s_oldest_message_is_known_only_when_every_stage_s_is() {
    let with_age = |age: Option<f64>| {
        let mut s = from_snapshot(&Snapshot::deployed("p"), 10.0);
        s.queue = Some(QueueDepth {
            name: "q".into(),
            visible: 1,
            in_flight: 0,
            delayed: 0,
            oldest_message_age_seconds: age,
            fair_shares: None,
        });
        s
    };
    let mut first = with_age(Some(30.0));
    first.stages = vec![StageStatus {
        stage: "b".into(),
        status: with_age(Some(90.0)),
    }];
    let p = pipeline_of(&first);
    assert_eq!((p.stages, p.oldest_message_age_seconds), (2, Some(90.0)));
    first.stages[0].status.queue = None;
    assert_eq!(pipeline_of(&first).oldest_message_age_seconds, None);
    // A later stage's unreadable fleet stack makes the whole status no answer (exit 1).
    assert_eq!(first.exit_code(), 0);
    first.stages[0].status.stacks[1].exists = None;
    assert_eq!(first.exit_code(), crate::error::Exit::Aws);
    assert!(first.error().is_some());
}

/// Several environments' rows: a pipeline's later stages each get a row of their own under
/// it, with their own queue, so that a slow stage's backlog shows beside the first's.
#[test]
fn a_pipeline_s_later_stages_have_rows_of_their_own() {
    let with_visible = |env: &str, name: &str, visible: u64| {
        let mut s = from_snapshot(&Snapshot::deployed(env), 10.0);
        s.queue = Some(QueueDepth {
            name: name.into(),
            visible,
            in_flight: 0,
            delayed: 0,
            oldest_message_age_seconds: Some(1.0),
            fair_shares: None,
        });
        s
    };
    let mut pipe = with_visible("p", "qfleet-p-jobs", 3);
    let mut slow = with_visible("p", "qfleet-p--thumbs-jobs", 4_321);
    slow.unavailable.insert("alarms".into(), "throttled".into());
    pipe.stages = vec![StageStatus {
        stage: "thumbs".into(),
        status: slow,
    }];
    let other = with_visible("q", "qfleet-q-jobs", 0);
    let text = super::render_rows(&[pipe, other]);
    // The table's rows, each starting with its label (a long cell wraps onto a line of its own).
    let labels: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .map(|l| l.split("  ").next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(labels, ["environment", "p", "p / thumbs", "q"], "{text}");
    assert!(text.contains("4,321 messages"), "{text}");
    assert!(
        text.contains("alarms: throttled (for p / thumbs)"),
        "{text}"
    );
}

/// A stack file's targets: each row says in which account (read from its stacks' ARNs) and
/// region the environment is, once the rows span more than one; one place needs no column.
#[test]
fn rows_of_several_accounts_or_regions_say_where_each_is() {
    let eu = from_snapshot(&Snapshot::deployed("orders-eu1"), 10.0);
    assert_eq!(eu.account.as_deref(), Some("123456789012"));
    let mut us = from_snapshot(&Snapshot::deployed("orders-us2"), 10.0);
    us.region = "us-east-1".into();
    us.account = Some("444455556666".into());
    let mut absent = from_snapshot(&Snapshot::empty("orders-eu2", "eu-west-1"), 10.0);
    assert_eq!(absent.account, None, "no stack read, no account");
    absent.region = "eu-west-1".into();
    let text = super::render_rows(&[eu.clone(), us, absent]);
    assert!(text.contains("| environment   where  "), "{text}");
    // The column's text, row by row (a cell wraps onto a second line: the account, then the
    // region).
    let header = text.lines().nth(1).unwrap();
    let (from, to) = (
        header.find("where").unwrap(),
        header.find("stacks").unwrap(),
    );
    let column: Vec<&str> = text
        .lines()
        .skip(4)
        .filter(|l| l.starts_with('|'))
        .map(|l| l[from..to].trim())
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        column,
        [
            "123456789012",
            "eu-west-1",
            "444455556666",
            "us-east-1",
            "? eu-west-1"
        ],
        "{text}"
    );
    assert!(text.contains("? eu-west-1"), "{text}");
    let one = super::render_rows(&[eu.clone(), eu.clone()]);
    assert!(!one.contains("where"), "{one}");
    assert!(
        super::text(&eu).starts_with("environment orders-eu1 (account 123456789012, eu-west-1)\n"),
        "{}",
        super::text(&eu)
    );
    let json = serde_json::to_value(&eu).unwrap();
    assert_eq!(json["account"], "123456789012");
}

/// A target deployed through StackSets: its rows are its instances' stacks, found through the
/// file's stack sets (SDK-level mocks: no emulator here runs qfleet's stacks as instances), and
/// never the stacks of its own names.
#[tokio::test]
async fn mocked_status_of_a_stack_set_target_reads_its_instances_stacks() {
    use crate::aws::{mock::instance_stacks, mock::list_instances, mock::stack_sets, mock::state};
    const A: &str = "111122223333";
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/stack-sets.yaml");
    let env = crate::config::load(&p).unwrap().targets.remove(0);
    let st = state(&[
        (
            "qfleet-fleetsets-data",
            A,
            "eu-west-1",
            Some("StackSet-qfleet-fleetsets-data-aaa"),
        ),
        (
            "qfleet-fleetsets-fleet",
            A,
            "us-east-1",
            Some("StackSet-qfleet-fleetsets-fleet-us"),
        ),
    ]);
    let (sets, list) = (stack_sets("fleetsets"), list_instances(&st));
    let admin = Rules {
        cfn: vec![&sets, &list],
        ..Default::default()
    }
    .clients();
    let stacks = instance_stacks(&st, A, "eu-west-1", "fleetsets");
    let sts = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
            .account(A)
            .build()
    });
    // Nothing else is deployed there: no resource, queue, group or alarm.
    let res = list_resources(Vec::new());
    let no_queue = mock!(aws_sdk_sqs::Client::get_queue_url).then_error(|| {
        aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError::QueueDoesNotExist(
            aws_sdk_sqs::types::error::QueueDoesNotExist::builder().build(),
        )
    });
    let no_alarm = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
        aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder().build()
    });
    let no_bucket = mock!(aws_sdk_s3::Client::head_bucket).then_error(|| {
        aws_sdk_s3::operation::head_bucket::HeadBucketError::NotFound(
            aws_sdk_s3::types::error::NotFound::builder().build(),
        )
    });
    let clients = Rules {
        cfn: vec![&stacks, &res],
        s3: vec![&no_bucket],
        sqs: vec![&no_queue],
        autoscaling: Some(crate::aws::mock::no_group()),
        cloudwatch: vec![&no_alarm],
        sts: vec![&sts],
        ..Default::default()
    }
    .clients();
    let names = crate::placement::instances_of(admin, &env)
        .await
        .map(|t| StackNames { stack_set: Some(t) });
    let s = gather_at(&clients, &env, names).await;
    let rows: Vec<(&str, Option<bool>)> = s
        .stacks
        .iter()
        .map(|r| (r.name.as_str(), r.exists))
        .collect();
    assert_eq!(
        rows,
        [
            ("StackSet-qfleet-fleetsets-data-aaa", Some(true)),
            // The fleet's stack set has an instance in another region only: none here.
            ("qfleet-fleetsets-eu1-fleet", Some(false)),
        ]
    );
    // Each row says its stack set, and its instance as ListStackInstances says.
    assert_eq!(
        s.stacks[0].origin.stack_set.as_deref(),
        Some("qfleet-fleetsets-data")
    );
    assert_eq!(
        s.stacks[0]
            .origin
            .instance
            .as_ref()
            .map(|i| i.status.as_str()),
        Some("CURRENT")
    );
    assert_eq!(
        s.stacks[1].origin.stack_set.as_deref(),
        Some("qfleet-fleetsets-fleet")
    );
    assert!(s.stacks[1].origin.instance.is_none());
    let text = crate::status::text(&s);
    for line in [
        "stack set qfleet-fleetsets-data: instance CURRENT, up to date with the stack set",
        "stack set qfleet-fleetsets-fleet: no instance here (deploy its wave to create it)",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}: {text}");
    }

    // A stack set that could not be read: every stack unknown, never "not deployed".
    let denied = mock!(aws_sdk_cloudformation::Client::describe_stack_set).then_error(|| {
        aws_sdk_cloudformation::operation::describe_stack_set::DescribeStackSetError::generic(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code("AccessDenied")
                .message("not allowed")
                .build(),
        )
    });
    let broken = Rules {
        cfn: vec![&denied],
        ..Default::default()
    }
    .clients();
    let names = crate::placement::instances_of(broken, &env)
        .await
        .map(|t| StackNames { stack_set: Some(t) });
    let s = gather_at(&clients, &env, names).await;
    assert!(
        s.stacks.iter().all(|r| r.exists.is_none()),
        "{:?}",
        s.stacks
    );
}

/// An instance whose account StackSets skipped as suspended names no stack, although one may
/// be there: the target's stacks are unknown, never "not deployed" (SDK-level mock: no
/// emulator suspends accounts).
#[tokio::test]
async fn mocked_an_instance_skipped_as_suspended_is_no_answer() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/stack-sets.yaml");
    let env = crate::config::load(&p).unwrap().targets.remove(0);
    let sets = crate::aws::mock::stack_sets("fleetsets");
    let list = mock!(aws_sdk_cloudformation::Client::list_stack_instances).then_output(|| {
        aws_sdk_cloudformation::operation::list_stack_instances::ListStackInstancesOutput::builder()
            .summaries(
                cfn::StackInstanceSummary::builder()
                    .account("111122223333")
                    .region("eu-west-1")
                    .status(cfn::StackInstanceStatus::Outdated)
                    .stack_instance_status(
                        cfn::StackInstanceComprehensiveStatus::builder()
                            .detailed_status(
                                cfn::StackInstanceDetailedStatus::SkippedSuspendedAccount,
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let admin = Rules {
        cfn: vec![&sets, &list],
        ..Default::default()
    }
    .clients();
    let err = crate::placement::instances_of(admin, &env)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("is SKIPPED_SUSPENDED_ACCOUNT") && err.contains("nothing is taken for absent"),
        "{err}"
    );
}

/// A target that stands for a whole AWS Organizations unit is each account of it where its
/// stacks are: the accounts of its file's stack sets' instances in its region (another
/// region's are another target's), each an environment named `ENV-TARGET@ACCOUNT` whose
/// stacks are its instances there; with none, the target is not deployed (SDK-level mocks: no
/// emulator here runs StackSets with AWS Organizations).
#[tokio::test]
async fn mocked_a_whole_units_accounts_are_found_in_its_stack_sets_instances() {
    use crate::aws::{
        mock::list_instances, mock::list_instances_in_unit, mock::stack_sets, mock::state,
    };
    use crate::placement::{accounts_in, instances_of};
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/org-units.yaml");
    let eu = crate::config::load(&p).unwrap().targets.remove(0);
    let st = state(&[
        (
            "qfleet-orgunits-data",
            "444455556666",
            "eu-west-1",
            Some("d-b"),
        ),
        (
            "qfleet-orgunits-data",
            "111122223333",
            "eu-west-1",
            Some("d-a"),
        ),
        (
            "qfleet-orgunits-data",
            "777777777777",
            "us-east-1",
            Some("d-us"),
        ),
        // A fleet instance whose data instance is gone still makes the account the unit's.
        (
            "qfleet-orgunits-fleet",
            "555555555555",
            "eu-west-1",
            Some("f-c"),
        ),
        (
            "qfleet-orgunits-fleet",
            "111122223333",
            "eu-west-1",
            Some("f-a"),
        ),
    ]);
    // Named in another unit (or in none): no target's of this file.
    let (sets, list) = (stack_sets("orgunits"), list_instances(&st));
    let admin = Rules {
        cfn: vec![&sets, &list],
        ..Default::default()
    }
    .clients();
    assert!(accounts_in(&admin, &eu).await.unwrap().is_empty());
    let list = list_instances_in_unit(&st, "ou-ab12-34cd56ef");
    let admin = Rules {
        cfn: vec![&sets, &list],
        ..Default::default()
    }
    .clients();
    let accounts = accounts_in(&admin, &eu).await.unwrap();
    let names: Vec<&str> = accounts.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "orgunits-eu@111122223333",
            "orgunits-eu@444455556666",
            "orgunits-eu@555555555555"
        ]
    );
    let a = instances_of(admin.clone(), &accounts[0]).await.unwrap();
    let at = StackNames { stack_set: Some(a) };
    assert_eq!(at.name("qfleet-orgunits-eu-data").as_deref(), Some("d-a"));
    assert_eq!(at.name("qfleet-orgunits-eu-fleet").as_deref(), Some("f-a"));
    // No instance in the unit's region: the target as it is, not deployed.
    let empty = state(&[(
        "qfleet-orgunits-data",
        "777777777777",
        "us-east-1",
        Some("d-us"),
    )]);
    let list = list_instances_in_unit(&empty, "ou-ab12-34cd56ef");
    let admin = Rules {
        cfn: vec![&sets, &list],
        ..Default::default()
    }
    .clients();
    assert!(accounts_in(&admin, &eu).await.unwrap().is_empty());
    let none = instances_of(admin, &eu).await.unwrap();
    let at = StackNames {
        stack_set: Some(none),
    };
    assert_eq!(at.name("qfleet-orgunits-eu-data"), None);
    assert_eq!(at.name("qfleet-orgunits-eu-fleet"), None);
}

/// `ENV@ACCOUNT` picks an account of a target that stands for a whole unit: of any other
/// environment it is refused before AWS is asked (exit 2), and the same pick twice too.
#[test]
fn an_account_is_picked_only_of_a_whole_unit() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/stack-sets.yaml");
    let load = |names: &[String]| -> crate::error::Result<Vec<crate::config::Environment>> {
        let file = crate::config::load(&p)?;
        Ok(file
            .targets
            .into_iter()
            .filter(|e| names.contains(&e.name))
            .collect())
    };
    let pick = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        crate::placement::of_accounts(&args, load, crate::aws::Settings::default(), 1)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let e = pick(&["fleetsets-eu1@111122223333"]);
    assert!(
        e.contains(
            "`fleetsets-eu1` is not a target that stands for a whole AWS Organizations unit"
        ),
        "{e}"
    );
    let e = pick(&["fleetsets-eu1@111122223333", "fleetsets-eu1@111122223333"]);
    assert!(e.contains("named twice"), "{e}");
}

/// An HTTP answer with `status`, `content_type` and `body`, as an endpoint sends it.
fn http(
    status: u16,
    content_type: &str,
    body: impl Into<aws_smithy_types::body::SdkBody>,
) -> aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    let mut r = aws_smithy_runtime_api::client::orchestrator::HttpResponse::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(status).expect("a status"),
        body.into(),
    );
    r.headers_mut()
        .insert("content-type", content_type.to_string());
    r
}

/// The status of `st` (an EC2 fleet, its stacks complete, its queue empty) on an endpoint whose
/// DescribePolicies, DescribeAlarms and GetMetricData `policies`, `alarms` and `data` answer.
async fn st_status(
    policies: (u16, String),
    alarms: &aws_smithy_mocks::Rule,
    data: &aws_smithy_mocks::Rule,
) -> Status {
    st_status_with("", None, None, (policies, alarms, data)).await
}

/// [`st_status`] of `st` with `extra` settings, its data stack holding the budget `budget`
/// (by its name), AWS Budgets answered by `budgets`.
async fn st_status_with(
    extra: &str,
    budget: Option<&str>,
    budgets: Option<crate::aws::fake::Fake>,
    (policies, alarms, data): (
        (u16, String),
        &aws_smithy_mocks::Rule,
        &aws_smithy_mocks::Rule,
    ),
) -> Status {
    use aws_sdk_sqs::Client as Sqs;

    let env = crate::config::parse(
        PathBuf::from("stacks/st.yaml"),
        format!("region: eu-west-1\nworkers: {{min: 1, max: 4}}\n{extra}"),
    )
    .unwrap()
    .into_only();
    let describe = describe_stacks(vec![
        (
            "qfleet-st-data",
            Some((cfn::StackStatus::CreateComplete, false)),
        ),
        (
            "qfleet-st-fleet",
            Some((cfn::StackStatus::CreateComplete, false)),
        ),
    ]);
    let live = cfn::ResourceStatus::CreateComplete;
    let mut data_resources = vec![
        resource("Queue", QUEUE, "AWS::SQS::Queue", live.clone()),
        resource("DeadLetterQueue", DLQ, "AWS::SQS::Queue", live.clone()),
        resource(
            "Bucket",
            "st-uploads-111122223333-eu-west-1",
            "AWS::S3::Bucket",
            live.clone(),
        ),
    ];
    if let Some(name) = budget {
        data_resources.push(resource(
            "Budget",
            name,
            "AWS::Budgets::Budget",
            live.clone(),
        ));
    }
    let res = list_resources(vec![
        ("qfleet-st-data", data_resources),
        (
            "qfleet-st-fleet",
            vec![resource(
                "WorkerGroup",
                "qfleet-st-workers",
                "AWS::AutoScaling::AutoScalingGroup",
                live,
            )],
        ),
    ]);
    let groups = format!(
        "<AutoScalingGroups><member><AutoScalingGroupName>qfleet-st-workers</AutoScalingGroupName><MinSize>1</MinSize><MaxSize>4</MaxSize><DesiredCapacity>1</DesiredCapacity><AvailabilityZones><member>eu-west-1a</member></AvailabilityZones><Instances>{}</Instances></member></AutoScalingGroups>",
        instance("i-1", "eu-west-1a", "1")
    );
    let attrs =
        mock!(Sqs::get_queue_attributes).then_compute_output(|_| queue_attributes(0, 0, 0, &[]));
    let clients = Rules {
        cfn: vec![&describe, &res],
        autoscaling: Some(auto_scaling(vec![
            ("DescribeAutoScalingGroups", 200, groups),
            ("DescribeScalingActivities", 200, String::new()),
            ("DescribePolicies", policies.0, policies.1),
        ])),
        sqs: vec![&attrs],
        cloudwatch: vec![alarms, data],
        budgets,
        ..Default::default()
    }
    .clients();
    gather(&clients, &env).await
}

/// `budget`: the spend AWS Budgets has calculated, read with the account the stacks are in and
/// the budget's own name, shown in a line and in JSON; a budget AWS does not have is said so;
/// a budget not read is said in `unavailable`, never shown as spent or unspent.
#[tokio::test]
async fn mocked_status_shows_the_budget_s_spend_as_aws_budgets_calculated_it() {
    use aws_sdk_cloudwatch::Client as Cw;
    use serde_json::json;

    const PAGE: &str = "<!doctype html><html><title>404 Not Found</title></html>";
    const NAME: &str = "qfleet-st-eu-west-1-deployed";
    let policies = (200, String::new());
    let alarms = mock!(Cw::describe_alarms).then_http_response(|| http(404, "text/html", PAGE));
    let data = mock!(Cw::get_metric_data).then_http_response(|| http(404, "text/html", PAGE));
    let rules = (policies, &alarms, &data);
    let extra = "alerts: {email: a@example.com}\nbudget: {amount: 300}\n";
    let answer = |status: u16, body: serde_json::Value| {
        crate::aws::fake::Fake::new(move |_| (status, body.to_string()))
    };
    let spent = |actual: &str, limit: &str| {
        json!({"Budget": {
            "BudgetName": NAME,
            "BudgetLimit": {"Amount": limit, "Unit": "USD"},
            "CalculatedSpend": {
                "ActualSpend": {"Amount": actual, "Unit": "USD"},
                "ForecastedSpend": {"Amount": "280.5", "Unit": "USD"}
            },
            "TimeUnit": "MONTHLY"
        }})
    };
    let budget_lines = |s: &Status| -> Vec<String> {
        text(s)
            .lines()
            .filter(|l| l.starts_with("budget:"))
            .map(str::to_string)
            .collect()
    };
    // Read under the name the data stack holds (not the one the file would give now), in the
    // account the stacks are in.
    let fake = answer(200, spent("42.17", "300.0"));
    let s = st_status_with(extra, Some(NAME), Some(fake.clone()), rules.clone()).await;
    let asked = fake.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].json(),
        json!({"AccountId": "111122223333", "BudgetName": NAME})
    );
    assert_eq!(
        budget_lines(&s),
        ["budget: $42.17 of $300 this month, UTC (forecast $280.50)"]
    );
    let doc = serde_json::to_value(&s).unwrap();
    assert_eq!(doc["budget"]["name"], NAME);
    assert_eq!(doc["budget"]["spend"]["actual_usd"], 42.17);
    assert_eq!(doc["budget"]["spend"]["period"], "month");
    assert!(doc["budget"]["missing"].is_null());

    // Nothing counted yet, and a deployed amount the file has since changed: both said.
    let fake = answer(200, spent("0", "250"));
    let s = st_status_with(extra, Some(NAME), Some(fake), rules.clone()).await;
    let line = &budget_lines(&s)[0];
    assert!(
        line.starts_with("budget: $0.00 of $250 this month, UTC (forecast $280.50; it counts only once the cost allocation tag qfleet:environment is active")
            && line.ends_with("; the stack file says $300 a month, not deployed yet)"),
        "{line}"
    );

    // The data stack holds no budget yet: not deployed, and AWS is not asked.
    let unasked = answer(500, json!({}));
    let s = st_status_with(extra, None, Some(unasked.clone()), rules.clone()).await;
    assert!(unasked.requests().is_empty());
    assert_eq!(
        budget_lines(&s),
        ["budget: not deployed yet (the next deploy makes it)"]
    );
    assert_eq!(
        serde_json::to_value(&s).unwrap()["budget"]["missing"],
        "not deployed"
    );

    // The stack holds it, AWS does not: deleted outside CloudFormation.
    let missing = answer(
        400,
        json!({"__type": "NotFoundException", "Message": "the budget doesn't exist"}),
    );
    let s = st_status_with(extra, Some(NAME), Some(missing), rules.clone()).await;
    assert_eq!(
        budget_lines(&s),
        [format!(
            "budget: {NAME} is in the data stack but not in AWS Budgets (deleted outside CloudFormation)"
        )]
    );
    let doc = serde_json::to_value(&s).unwrap();
    assert!(doc["budget"]["spend"].is_null() && doc["unavailable"]["budget"].is_null());

    // Not read: unknown, in `unavailable`, and no budget line at all.
    let denied = answer(
        400,
        json!({"__type": "AccessDeniedException", "Message": "not authorized to perform: budgets:ViewBudget"}),
    );
    let s = st_status_with(extra, Some(NAME), Some(denied), rules.clone()).await;
    let doc = serde_json::to_value(&s).unwrap();
    assert!(doc["budget"].is_null());
    assert!(
        doc["unavailable"]["budget"]
            .as_str()
            .is_some_and(|w| w.contains("budgets:ViewBudget")),
        "{doc}"
    );
    assert!(budget_lines(&s).is_empty(), "{}", text(&s));
    assert!(text(&s).contains("budget: reading budget"), "{}", text(&s));

    // Without a budget in the file, no call and no section.
    let unasked = answer(500, json!({}));
    let s = st_status_with("", Some(NAME), Some(unasked.clone()), rules.clone()).await;
    assert!(unasked.requests().is_empty());
    assert!(serde_json::to_value(&s).unwrap()["budget"].is_null());
}

/// An endpoint without CloudWatch's alarms and metrics (an HTML 404 for each, as an emulator
/// without that protocol sends) and whose Auto Scaling fails in earnest (AWS's own 500): the
/// sections it does not serve are one line, the failure stays an error, the rest is shown.
#[tokio::test]
async fn mocked_sections_the_endpoint_does_not_serve_are_one_line_and_errors_stay_errors() {
    use aws_sdk_cloudwatch::Client as Cw;

    let policies = (
        500,
        r#"<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>internal error</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"#.to_string(),
    );
    const PAGE: &str = "<!doctype html><html><title>404 Not Found</title></html>";
    let alarms = mock!(Cw::describe_alarms).then_http_response(|| http(404, "text/html", PAGE));
    let data = mock!(Cw::get_metric_data).then_http_response(|| http(404, "text/html", PAGE));
    let s = st_status(policies, &alarms, &data).await;
    assert_eq!(
        s.exit_code(),
        crate::error::Exit::Ok,
        "every stack was read"
    );
    assert!(s.fleet().is_some() && s.queue.is_some());
    let text = text(&s);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("not served by this endpoint"))
        .collect();
    assert_eq!(
        lines,
        [
            "not served by this endpoint: alarms (CloudWatch DescribeAlarms), metrics (CloudWatch GetMetricData)"
        ],
        "{text}"
    );
    assert!(
        text.contains("not available: scaling policies: this endpoint could not answer Auto Scaling DescribePolicies (HTTP 500, an error on its side)"),
        "AWS's own 500 stays an error, in its own line: {text}"
    );
    for gone in [
        "HTML page",
        "captive portal",
        "not available: alarms",
        "not available: metrics",
    ] {
        assert!(!text.contains(gone), "{gone}: {text}");
    }
    // In JSON each section not read stays in `unavailable` with its line: unknown, not none.
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(
        json["unavailable"]["alarms"],
        "reading the alarms: this endpoint does not serve CloudWatch DescribeAlarms (HTTP 404 with an HTML page)"
    );
    assert!(json["unavailable"]["metrics"].is_string());
    assert!(json["unavailable"]["scaling policies"].is_string());
}

/// A CBOR text string (RFC 8949, major type 3) of fewer than 256 bytes.
fn cbor_text(s: &str) -> Vec<u8> {
    let mut out = match u8::try_from(s.len()).expect("a short text") {
        n @ 0..24 => vec![0x60 | n],
        n => vec![0x78, n],
    };
    out.extend_from_slice(s.as_bytes());
    out
}

/// An endpoint whose CloudWatch fails GetMetricData on its side: HTTP 500 with an error
/// document of its own (here LocalStack's answer to the metric math status sends; AWS may
/// answer `InternalFailure` so too). The metrics are said not available once, as what
/// happened, never in the server's words (its stack trace's last line), and never as zero.
#[tokio::test]
async fn mocked_metrics_the_endpoint_failed_on_its_side_are_said_so_once_never_as_zero() {
    use aws_sdk_cloudwatch::Client as Cw;

    let policies = (200, String::new());
    let alarms = mock!(Cw::describe_alarms).then_output(|| {
        aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder().build()
    });
    let data = mock!(Cw::get_metric_data).then_http_response(|| {
        // {"__type": "InternalError", "message": "…"}, in the SDK's CloudWatch protocol (CBOR).
        let mut body = vec![0xa2];
        for s in [
            "__type",
            "InternalError",
            "message",
            "exception while calling cloudwatch.GetMetricData: 'MetricStat'",
        ] {
            body.extend(cbor_text(s));
        }
        http(500, "application/cbor", body)
    });
    let s = st_status(policies, &alarms, &data).await;
    assert_eq!(
        s.exit_code(),
        crate::error::Exit::Ok,
        "the stacks were read"
    );
    const SAID: &str =
        "this endpoint could not answer CloudWatch GetMetricData (HTTP 500, an error on its side)";
    let text = text(&s);
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("metrics")).collect();
    assert_eq!(lines, [format!("not available: metrics: {SAID}")], "{text}");
    for raw in [
        "InternalError",
        "exception while calling",
        "MetricStat",
        "not served by this endpoint",
    ] {
        assert!(!text.contains(raw), "{raw}: {text}");
    }
    // Not read, so not zero: unknown in JSON too, with the same words.
    assert!(text.contains("oldest message: no data yet"), "{text}");
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["unavailable"]["metrics"], SAID);
    assert!(
        json["queue"]["oldest_message_age_seconds"].is_null(),
        "{json}"
    );
    assert!(json["upload_to_processed"].is_null(), "{json}");
    assert!(
        json["scaling"]["backlog_per_instance_metric"].is_null(),
        "{json}"
    );
}

/// The stage's topics and schedules, each with its state from the data stack's resources:
/// a subscription CloudFormation created is subscribed, a schedule enabled or paused as
/// deployed, one the stack does not hold yet not deployed, and unknown when the resources
/// could not be read.
#[test]
fn each_source_is_shown_with_its_state_in_the_data_stack() {
    use crate::aws::StackResource;
    let arn = "arn:aws:sns:eu-west-1:444455556666:orders";
    let env = crate::config::parse(
        PathBuf::from("stacks/st.yaml"),
        format!(
            "region: eu-west-1\nlab: true\nsources:\n  topics:\n    - arn: {arn}\n  schedules:\n    - name: nightly\n      cron: 0 2 * * ? *\n      timezone: Europe/Paris\n    - name: hourly\n      rate: 1 hour\n      paused: true\n    - name: later\n      rate: 5 minutes\n"
        ),
    )
    .unwrap()
    .into_only();
    let deployed = crate::render::deployed_sources(&env);
    let mut snap = Snapshot::empty("st", "eu-west-1");
    let live = |d: &crate::render::DeployedSource, status: cfn::ResourceStatus| StackResource {
        logical_id: d.logical_id.clone(),
        physical_id: Some("x".into()),
        resource_type: "AWS::Any".into(),
        status,
        reason: None,
    };
    snap.data.resources = Fact::Known(
        [
            live(&deployed[0], cfn::ResourceStatus::CreateComplete),
            live(&deployed[1], cfn::ResourceStatus::UpdateComplete),
            live(&deployed[2], cfn::ResourceStatus::CreateComplete),
        ]
        .into_iter()
        .map(|r| (r.logical_id.clone(), r))
        .collect(),
    );
    // The logical ids are the data template's own.
    let rendered = crate::render::render(&env).unwrap()[0].template.clone();
    for d in &deployed {
        assert!(
            rendered.contains(&format!("  {}:\n", d.logical_id)),
            "{}",
            d.logical_id
        );
    }
    let now: jiff::Timestamp = "2026-11-27T06:00:00Z".parse().unwrap();
    let states: Vec<(String, String, Option<String>)> =
        super::sources_of(&env, &snap.data, Some(true), now)
            .into_iter()
            .map(|s| (s.kind.to_string(), s.detail, s.state))
            .collect();
    assert_eq!(
        states,
        [
            (
                "topic".into(),
                "raw delivery".into(),
                Some("subscribed".into())
            ),
            (
                "schedule".into(),
                "cron(0 2 * * ? *) Europe/Paris".into(),
                Some("enabled".into())
            ),
            (
                "schedule".into(),
                "rate(1 hour)".into(),
                Some("paused".into())
            ),
            (
                "schedule".into(),
                "rate(5 minutes)".into(),
                Some("not deployed".into())
            ),
        ]
    );
    let mut st = from_snapshot(&snap, 10.0);
    st.sources = super::sources_of(&env, &snap.data, Some(true), now);
    // Only the enabled cron schedule has a next run; a paused one and one not deployed none.
    let runs: Vec<_> = st
        .sources
        .iter()
        .map(|s| {
            (
                s.next_run.as_ref().map(|r| r.at.as_str()),
                s.no_next_run.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        runs,
        [
            (None, None),
            (Some("2026-11-28T01:00:00Z"), None),
            (None, None),
            (None, None)
        ]
    );
    let shown = text(&st);
    assert!(
        shown.contains(
            "schedule nightly (cron(0 2 * * ? *) Europe/Paris): enabled, next run 2026-11-28 02:00 Europe/Paris (2026-11-28T01:00:00Z)"
        ),
        "{shown}"
    );
    // A file changed since the last deploy, or a data stack not read: the file's expression
    // may not be the deployed one, so no next run is shown, and why is said.
    for (as_file, why) in [
        (
            Some(false),
            "the data stack is not the stack file's as it is now",
        ),
        (None, "could not be read"),
    ] {
        let nightly = super::sources_of(&env, &snap.data, as_file, now).remove(1);
        assert!(nightly.next_run.is_none());
        assert!(
            nightly
                .no_next_run
                .as_deref()
                .is_some_and(|w| w.contains(why)),
            "{nightly:?}"
        );
    }
    assert!(
        shown.contains(&format!("topic {arn} (raw delivery): subscribed")),
        "{shown}"
    );
    assert!(
        shown.contains("schedule hourly (rate(1 hour)): paused"),
        "{shown}"
    );
    snap.data.resources = Fact::Unknown("AccessDenied".into());
    assert!(
        super::sources_of(&env, &snap.data, Some(true), now)
            .iter()
            .all(|s| s.state.is_none() && s.next_run.is_none())
    );
}

/// Fair shares (`queue.tenant`): a stage whose queue gets jobs in their tenants' groups shows
/// SQS's noisy tenants and the others' oldest message, from the metrics read (no data yet
/// said as such); a queue that gets no groups (an upload stage reading the key) shows none.
#[test]
fn a_fair_queue_shows_its_noisy_tenants_and_the_others_oldest_message() {
    use crate::aws::Metrics;
    let stage = |yaml: &str| {
        crate::config::parse(PathBuf::from("stacks/p.yaml"), yaml.to_string())
            .unwrap()
            .into_only()
    };
    let fair = stage(
        "region: eu-west-1\nqueue:\n  tenant: {attribute: customer}\nsources:\n  messages: {}\n",
    );
    let uploads = stage("region: eu-west-1\njobs: {}\nqueue:\n  tenant: {key_segment: 1}\n");
    let status = |env: &crate::config::Environment, metrics: Option<Metrics>| {
        let mut snap = Snapshot::deployed("p");
        snap.metrics = metrics.map(Fact::Known);
        let mut s = from_snapshot(&snap, 10.0);
        s.queue = Some(QueueDepth {
            name: "q".into(),
            visible: 40,
            in_flight: 10,
            delayed: 0,
            oldest_message_age_seconds: Some(300.0),
            fair_shares: None,
        });
        with_fair_shares(&mut s, env, &snap);
        s.queue.unwrap().fair_shares
    };
    let read = Metrics {
        quiet_tenants_oldest_age_seconds: Some(4.0),
        noisy_tenants: Some(1.0),
        ..Metrics::default()
    };
    let f = status(&fair, Some(read.clone())).unwrap();
    assert_eq!(
        (f.quiet_tenants_oldest_age_seconds, f.noisy_tenants),
        (Some(4.0), Some(1))
    );
    assert_eq!(
        super::text::fair_shares_line(&f),
        "fair shares: 1 noisy tenant; the other tenants' oldest message: 4 s"
    );
    let none = status(&fair, Some(Metrics::default())).unwrap();
    assert_eq!(
        super::text::fair_shares_line(&none),
        "fair shares: noisy tenants: no data yet; the other tenants' oldest message: no data yet"
    );
    assert!(status(&uploads, Some(read)).is_none());
}
