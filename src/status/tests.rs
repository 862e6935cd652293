//! Status fields the emulator cannot produce (CloudWatch metric values and alarm states, the
//! scaling policy's target, instances on an older launch template, scaling out), from
//! SDK-level mocks. Test names say `mocked`.

use super::*;
use crate::aws::mock::Rules;
use aws_sdk_autoscaling::types as asg;
use aws_sdk_cloudformation::types as cfn;
use aws_sdk_cloudwatch::types as cw;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_mocks::mock;
use std::path::PathBuf;

const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-st-jobs";
const DLQ: &str =
    "https://sqs.eu-west-1.amazonaws.com/111122223333/qfleet-st-data-DeadLetterQueue-X";

fn stack(name: &str) -> cfn::Stack {
    cfn::Stack::builder()
        .stack_name(name)
        .stack_status(cfn::StackStatus::UpdateComplete)
        .creation_time(aws_smithy_types::DateTime::from_secs(0))
        .enable_termination_protection(true)
        .build()
}

fn resource(logical: &str, physical: &str) -> cfn::StackResource {
    cfn::StackResource::builder()
        .logical_resource_id(logical)
        .physical_resource_id(physical)
        .resource_type("x")
        .resource_status(cfn::ResourceStatus::CreateComplete)
        .timestamp(aws_smithy_types::DateTime::from_secs(0))
        .build()
}

fn instance(id: &str, zone: &str, version: &str) -> asg::Instance {
    asg::Instance::builder()
        .instance_id(id)
        .availability_zone(zone)
        .lifecycle_state(asg::LifecycleState::InService)
        .health_status("Healthy")
        .protected_from_scale_in(false)
        .launch_template(
            asg::LaunchTemplateSpecification::builder()
                .version(version)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn mocked_status_reads_cloudwatch_policy_alarms_and_outdated_instances() {
    use aws_sdk_autoscaling::Client as Asg;
    use aws_sdk_cloudformation::Client as Cfn;
    use aws_sdk_cloudwatch::Client as Cw;
    use aws_sdk_sqs::Client as Sqs;

    let env = crate::config::parse(
        PathBuf::from("stacks/st.yaml"),
        "region: eu-west-1\nscaling: {target_backlog_per_instance: 20}\nworkers: {min: 1, max: 4}\n".into(),
    )
    .unwrap();
    let describe = mock!(Cfn::describe_stacks).then_compute_output(|r| {
        aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput::builder()
            .stacks(stack(r.stack_name().unwrap()))
            .build()
    });
    let res = mock!(Cfn::describe_stack_resources).then_compute_output(|r| {
        let out = aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesOutput::builder();
        if r.stack_name() == Some("qfleet-st-data") {
            out.stack_resources(resource("Queue", QUEUE))
                .stack_resources(resource("DeadLetterQueue", DLQ))
                .build()
        } else {
            out.stack_resources(resource("WorkerGroup", "qfleet-st-workers")).build()
        }
    });
    let groups = mock!(Asg::describe_auto_scaling_groups).then_output(|| {
        aws_sdk_autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput::builder()
            .auto_scaling_groups(
                asg::AutoScalingGroup::builder()
                    .auto_scaling_group_name("qfleet-st-workers")
                    .min_size(1)
                    .max_size(4)
                    .desired_capacity(3)
                    .availability_zones("eu-west-1a")
                    .availability_zones("eu-west-1b")
                    .launch_template(asg::LaunchTemplateSpecification::builder().version("2").build())
                    .instances(instance("i-1", "eu-west-1a", "2"))
                    .instances(instance("i-2", "eu-west-1b", "1"))
                    .suspended_processes(asg::SuspendedProcess::builder().process_name("AZRebalance").build())
                    .build(),
            )
            .build()
    });
    let activities = mock!(Asg::describe_scaling_activities).then_output(|| {
        aws_sdk_autoscaling::operation::describe_scaling_activities::DescribeScalingActivitiesOutput::builder()
            .activities(
                asg::Activity::builder()
                    .activity_id("a")
                    .auto_scaling_group_name("g")
                    .cause("backlog")
                    .description("Launching a new EC2 instance")
                    .start_time(aws_smithy_types::DateTime::from_secs(0))
                    .status_code(asg::ScalingActivityStatusCode::InProgress)
                    .build(),
            )
            .build()
    });
    let policies = mock!(Asg::describe_policies).then_output(|| {
        aws_sdk_autoscaling::operation::describe_policies::DescribePoliciesOutput::builder()
            .scaling_policies(
                asg::ScalingPolicy::builder()
                    .policy_name("BacklogPerInstance")
                    .policy_type("TargetTrackingScaling")
                    .target_tracking_configuration(
                        asg::TargetTrackingConfiguration::builder()
                            .target_value(20.0)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let attrs = mock!(Sqs::get_queue_attributes).then_compute_output(|r| {
        let visible = if r.queue_url() == Some(QUEUE) {
            "40"
        } else {
            "2"
        };
        aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput::builder()
            .attributes(QueueAttributeName::ApproximateNumberOfMessages, visible)
            .attributes(
                QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                "1",
            )
            .attributes(QueueAttributeName::ApproximateNumberOfMessagesDelayed, "0")
            .build()
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
    let data = mock!(Cw::get_metric_data).then_output(|| {
        let r = |id: &str, v: f64| cw::MetricDataResult::builder().id(id).values(v).build();
        aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput::builder()
            .metric_data_results(r("oldest", 125.0))
            .metric_data_results(r("backlog", 20.5))
            .metric_data_results(cw::MetricDataResult::builder().id("dlqoldest").build())
            .build()
    });
    let clients = Rules {
        cfn: vec![&describe, &res],
        autoscaling: vec![&groups, &activities, &policies],
        sqs: vec![&attrs],
        cloudwatch: vec![&alarms, &data],
        ..Default::default()
    }
    .clients();

    let s = gather(&clients, &env).await.unwrap();
    let f = s.fleet.as_ref().unwrap();
    assert_eq!((f.desired, f.in_service, f.outdated), (3, 2, 1));
    assert_eq!(f.per_zone.get("eu-west-1b"), Some(&1));
    assert_eq!(f.suspended_processes, ["AZRebalance"]);
    assert_eq!(f.activities[0].status, "InProgress");
    let q = s.queue.as_ref().unwrap();
    assert_eq!(
        (q.visible, q.in_flight, q.oldest_message_age_seconds),
        (Some(40), Some(1), Some(125.0))
    );
    let dlq = s.dead_letter_queue.as_ref().unwrap();
    assert_eq!(dlq.visible, Some(2));
    assert_eq!(
        dlq.oldest_message_age_seconds, None,
        "no data is None, not 0"
    );
    assert_eq!(
        s.scaling.backlog_per_instance,
        Some(20.0),
        "40 visible / 2 in service"
    );
    assert_eq!(s.scaling.backlog_per_instance_metric, Some(20.5));
    assert_eq!(s.scaling.target, Some(20.0));
    assert_eq!(s.scaling.direction, "out", "desired 3 > 2 in service");
    assert_eq!(s.alarms.len(), 1);
    assert_eq!(s.alarms[0].state, "ALARM");
    assert!(s.stacks.iter().all(|st| st.termination_protection));

    let text = render_text(&s);
    assert!(text.contains("FAILED JOBS WAITING"), "{text}");
    assert!(text.contains("SUSPENDED: AZRebalance"), "{text}");
    assert!(text.contains("scaling out"), "{text}");
    assert!(text.contains("(outdated)"), "{text}");
}

#[test]
fn launch_template_versions_compare_as_numbers() {
    assert!(is_outdated(Some("9"), Some("10")));
    assert!(!is_outdated(Some("10"), Some("10")));
    assert!(!is_outdated(Some("$Latest"), Some("3")));
    assert!(!is_outdated(None, Some("3")));
}
