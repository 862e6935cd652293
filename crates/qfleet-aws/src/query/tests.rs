//! The Query protocol against a fake connection that answers as AWS's API references show:
//! the form each call sends, the answers read (lists of `member`s, maps of `entry`s, pages),
//! errors by their code, and a throttled call retried.

use super::super::autoscaling;
use super::super::mock::query_answer;
use super::super::signed::fake::Fake;
use super::super::topics;
use super::{AUTO_SCALING, Query, SNS};

fn query(api: super::Api, fake: &Fake) -> Query {
    Query::with_http_client(api, "eu-west-1", fake.client())
}

/// An error as the Query protocol sends it
/// (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/CommonErrors.html>).
fn error(kind: &str, code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    )
}

/// A group as DescribeAutoScalingGroups answers, in the shape of its API reference's
/// AutoScalingGroup, with the elements qfleet does not read beside those it does.
const GROUP: &str = r#"<AutoScalingGroups>
  <member>
    <AutoScalingGroupARN>arn:aws:autoscaling:eu-west-1:111122223333:autoScalingGroup:1:autoScalingGroupName/qfleet-st-workers</AutoScalingGroupARN>
    <AutoScalingGroupName>qfleet-st-workers</AutoScalingGroupName>
    <MinSize>1</MinSize>
    <MaxSize>4</MaxSize>
    <DesiredCapacity>2</DesiredCapacity>
    <DefaultCooldown>300</DefaultCooldown>
    <AvailabilityZones><member>eu-west-1a</member><member>eu-west-1b</member></AvailabilityZones>
    <LaunchTemplate><LaunchTemplateId>lt-1</LaunchTemplateId><LaunchTemplateName>t</LaunchTemplateName><Version>3</Version></LaunchTemplate>
    <Instances>
      <member>
        <InstanceId>i-1</InstanceId>
        <InstanceType>c7g.large</InstanceType>
        <AvailabilityZone>eu-west-1a</AvailabilityZone>
        <LifecycleState>InService</LifecycleState>
        <HealthStatus>Healthy</HealthStatus>
        <LaunchTemplate><LaunchTemplateId>lt-1</LaunchTemplateId><Version>2</Version></LaunchTemplate>
        <ProtectedFromScaleIn>true</ProtectedFromScaleIn>
      </member>
      <member>
        <InstanceId>i-2</InstanceId>
        <AvailabilityZone>eu-west-1b</AvailabilityZone>
        <LifecycleState>Terminating:Wait</LifecycleState>
        <HealthStatus>Healthy</HealthStatus>
        <ProtectedFromScaleIn>false</ProtectedFromScaleIn>
      </member>
    </Instances>
    <SuspendedProcesses>
      <member><ProcessName>AZRebalance</ProcessName><SuspensionReason>User suspended at 2026-11-28T08:00:00Z</SuspensionReason></member>
    </SuspendedProcesses>
    <Tags><member><Key>qfleet:environment</Key><Value>st</Value></member></Tags>
  </member>
</AutoScalingGroups>"#;

#[tokio::test]
async fn a_group_is_asked_for_by_name_and_read_as_auto_scaling_describes_it() {
    let fake = Fake::by_action(&[(
        "DescribeAutoScalingGroups",
        &query_answer("DescribeAutoScalingGroups", GROUP),
    )]);
    let g = autoscaling::group(&query(AUTO_SCALING, &fake), "qfleet-st-workers")
        .await
        .unwrap()
        .expect("the group");
    assert_eq!((g.desired, g.min, g.max), (2, 1, 4));
    assert_eq!(g.zones, ["eu-west-1a", "eu-west-1b"]);
    assert_eq!(g.launch_template_version.as_deref(), Some("3"));
    assert_eq!(g.suspended_processes, ["AZRebalance"]);
    assert_eq!(g.instances.len(), 2);
    let first = &g.instances[0];
    assert_eq!(
        (
            first.id.as_str(),
            first.zone.as_str(),
            first.lifecycle.as_str()
        ),
        ("i-1", "eu-west-1a", "InService")
    );
    assert_eq!(first.launch_template_version.as_deref(), Some("2"));
    assert!(first.protected_from_scale_in);
    assert_eq!(first.instance_type.as_deref(), Some("c7g.large"));
    let second = &g.instances[1];
    assert_eq!(second.lifecycle, "Terminating:Wait");
    assert!(!second.protected_from_scale_in);
    assert_eq!(second.instance_type, None);
    assert_eq!(g.in_service(), 1);

    let seen = fake.requests();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.param("Action"), Some("DescribeAutoScalingGroups"));
    assert_eq!(r.param("Version"), Some("2011-01-01"));
    assert_eq!(
        r.param("AutoScalingGroupNames.member.1"),
        Some("qfleet-st-workers")
    );
    assert!(
        r.uri
            .starts_with("https://autoscaling.eu-west-1.amazonaws.com")
    );
    let auth = &r.headers["authorization"];
    assert!(
        auth.contains("/eu-west-1/autoscaling/aws4_request"),
        "{auth}"
    );
}

#[tokio::test]
async fn no_group_of_that_name_is_none_and_a_group_without_its_size_is_malformed() {
    let fake = Fake::by_action(&[(
        "DescribeAutoScalingGroups",
        &query_answer("DescribeAutoScalingGroups", "<AutoScalingGroups/>"),
    )]);
    let asg = query(AUTO_SCALING, &fake);
    assert_eq!(autoscaling::group(&asg, "g").await.unwrap(), None);

    let fake = Fake::by_action(&[(
        "DescribeAutoScalingGroups",
        &query_answer(
            "DescribeAutoScalingGroups",
            "<AutoScalingGroups><member><AutoScalingGroupName>g</AutoScalingGroupName><MinSize>1</MinSize></member></AutoScalingGroups>",
        ),
    )]);
    let e = autoscaling::group(&query(AUTO_SCALING, &fake), "g")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("lacks the group's size"), "{e}");
}

#[tokio::test]
async fn every_page_of_the_policies_is_read_and_a_token_given_back_is_an_error() {
    let page = |policy: &str, next: Option<&str>| {
        query_answer(
            "DescribePolicies",
            &format!(
                "<ScalingPolicies><member><PolicyName>{policy}</PolicyName><PolicyType>TargetTrackingScaling</PolicyType><TargetTrackingConfiguration><TargetValue>0.9</TargetValue></TargetTrackingConfiguration></member></ScalingPolicies>{}",
                next.map(|n| format!("<NextToken>{n}</NextToken>"))
                    .unwrap_or_default()
            ),
        )
    };
    let (one, two) = (page("first", Some("t1")), page("second", None));
    let fake = Fake::new(move |r| match r.param("NextToken") {
        None => (200, one.clone()),
        Some("t1") => (200, two.clone()),
        Some(_) => (400, error("Sender", "InvalidNextToken", "no such token")),
    });
    let policies = autoscaling::policies(&query(AUTO_SCALING, &fake), "g")
        .await
        .unwrap();
    let names: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["first", "second"]);
    assert!(policies.iter().all(|p| p.is_target_tracking()));
    assert_eq!(policies[0].target, Some(0.9));
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(fake.requests()[1].param("AutoScalingGroupName"), Some("g"));

    // An answer that names the token it was asked with would be asked again for ever.
    let again = page("same", Some("t1"));
    let fake = Fake::new(move |_| (200, again.clone()));
    let e = autoscaling::policies(&query(AUTO_SCALING, &fake), "g")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("page token"), "{e}");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn activities_and_hooks_are_read_with_their_times_as_the_sdk_printed_them() {
    let fake = Fake::by_action(&[
        (
            "DescribeScalingActivities",
            &query_answer(
                "DescribeScalingActivities",
                "<Activities><member><ActivityId>a</ActivityId><Description>Launching a new EC2 instance</Description><Cause>backlog</Cause><StartTime>2026-11-28T08:00:00.125Z</StartTime><StatusCode>Failed</StatusCode><StatusMessage>VcpuLimitExceeded</StatusMessage></member></Activities>",
            ),
        ),
        (
            "DescribeLifecycleHooks",
            &query_answer(
                "DescribeLifecycleHooks",
                "<LifecycleHooks><member><LifecycleHookName>drain</LifecycleHookName><LifecycleTransition>autoscaling:EC2_INSTANCE_TERMINATING</LifecycleTransition></member></LifecycleHooks>",
            ),
        ),
    ]);
    let asg = query(AUTO_SCALING, &fake);
    let a = autoscaling::recent_activities(&asg, "g").await.unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].start, "2026-11-28T08:00:00.125Z");
    assert_eq!(a[0].status, "Failed");
    assert_eq!(a[0].status_message, "VcpuLimitExceeded");
    assert!(a[0].launch_failure().unwrap().starts_with("over quota"));
    assert_eq!(
        autoscaling::lifecycle_hooks(&asg, "g").await.unwrap(),
        ["drain"]
    );
    let seen = fake.requests();
    assert_eq!(seen[0].param("MaxRecords"), Some("5"));
}

#[tokio::test]
async fn an_error_keeps_its_code_and_message_and_throttling_is_retried() {
    let fake = Fake::new(|_| {
        (
            400,
            error("Sender", "ValidationError", "Group g not found &amp; gone"),
        )
    });
    let e = autoscaling::lifecycle_hooks(&query(AUTO_SCALING, &fake), "g")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"), "{e:?}");
    assert!(e.to_string().contains("Group g not found & gone"), "{e}");
    assert!(
        e.to_string().contains("reading the lifecycle hooks of g"),
        "{e}"
    );
    assert_eq!(fake.requests().len(), 1, "a client error is not retried");

    // Throttling (HTTP 400, code Throttling) is retried within the budget.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = calls.clone();
    let fake = Fake::new(move |_| {
        if n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            (400, error("Sender", "Throttling", "Rate exceeded"))
        } else {
            (
                200,
                query_answer("DescribeLifecycleHooks", "<LifecycleHooks/>"),
            )
        }
    });
    let hooks = autoscaling::lifecycle_hooks(&query(AUTO_SCALING, &fake), "g")
        .await
        .unwrap();
    assert!(hooks.is_empty());
    assert_eq!(fake.requests().len(), 2);
}

/// SNS's subscriptions of a topic: across pages, an unconfirmed one (`PendingConfirmation`)
/// skipped, the queue's read with its attributes (a map of `entry`s).
#[tokio::test]
async fn the_queue_s_confirmed_subscription_is_found_across_pages_with_its_attributes() {
    const TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:t";
    let sub = |arn: &str, endpoint: &str| {
        format!(
            "<member><TopicArn>{TOPIC}</TopicArn><Protocol>sqs</Protocol><SubscriptionArn>{arn}</SubscriptionArn><Owner>111122223333</Owner><Endpoint>{endpoint}</Endpoint></member>"
        )
    };
    let first = query_answer(
        "ListSubscriptionsByTopic",
        &format!(
            "<Subscriptions>{}{}</Subscriptions><NextToken>n1</NextToken>",
            sub(
                "PendingConfirmation",
                "arn:aws:sqs:eu-west-1:111122223333:jobs"
            ),
            sub(
                &format!("{TOPIC}:other"),
                "arn:aws:sqs:eu-west-1:111122223333:other-jobs"
            ),
        ),
    );
    let second = query_answer(
        "ListSubscriptionsByTopic",
        &format!(
            "<Subscriptions>{}</Subscriptions>",
            sub(
                &format!("{TOPIC}:s1"),
                "arn:aws:sqs:eu-west-1:111122223333:jobs"
            )
        ),
    );
    let attributes = query_answer(
        "GetSubscriptionAttributes",
        r#"<Attributes><entry><key>RawMessageDelivery</key><value>true</value></entry><entry><key>FilterPolicyScope</key><value>MessageBody</value></entry><entry><key>FilterPolicy</key><value>{"Event":[{"exists":false}]}</value></entry></Attributes>"#,
    );
    let fake =
        Fake::new(
            move |r| match (r.param("Action").unwrap_or_default(), r.param("NextToken")) {
                ("ListSubscriptionsByTopic", None) => (200, first.clone()),
                ("ListSubscriptionsByTopic", Some("n1")) => (200, second.clone()),
                ("GetSubscriptionAttributes", _) => (200, attributes.clone()),
                _ => (400, error("Sender", "InvalidParameter", "not in this test")),
            },
        );
    let sns = query(SNS, &fake);
    let s = topics::queue_subscription(&sns, TOPIC, "jobs")
        .await
        .unwrap()
        .expect("the subscription");
    assert_eq!(s.arn, format!("{TOPIC}:s1"));
    assert!(s.raw_delivery && s.leaves_test_event_out);
    let seen = fake.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].param("TopicArn"), Some(TOPIC));
    assert_eq!(seen[0].param("Version"), Some("2010-03-31"));
    assert_eq!(
        seen[2].param("SubscriptionArn"),
        Some(format!("{TOPIC}:s1").as_str())
    );
    assert!(seen[0].headers["authorization"].contains("/eu-west-1/sns/aws4_request"));
    assert_eq!(
        topics::queue_subscription(&sns, TOPIC, "none")
            .await
            .unwrap(),
        None
    );
}

/// GetSubscriptionAttributes on a subscription SNS does not have: `NotFound` (HTTP 404) is
/// none; any other error stays one.
#[tokio::test]
async fn a_subscription_sns_does_not_know_is_none_and_other_errors_stay_errors() {
    let fake = Fake::new(|_| {
        (
            404,
            error("Sender", "NotFound", "Subscription does not exist"),
        )
    });
    let sns = query(SNS, &fake);
    assert_eq!(
        topics::subscription_attributes(&sns, "arn:aws:sns:eu-west-1:1:t:s")
            .await
            .unwrap(),
        None
    );
    let fake = Fake::new(|_| (403, error("Sender", "AuthorizationError", "not allowed")));
    let e = topics::subscription_attributes(&query(SNS, &fake), "arn:aws:sns:eu-west-1:1:t:s")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AuthorizationError"));
}

#[test]
fn an_answer_is_read_as_a_tree_without_namespaces_and_entities_unescaped() {
    let root = super::parse(
        r#"<?xml version="1.0"?><R xmlns="http://x/"><A>a &amp; b</A><L><member>1</member><member>2</member></L><E/></R>"#,
    )
    .unwrap();
    assert_eq!(root.name, "R");
    assert_eq!(root.text("A"), Some("a & b"));
    let members: Vec<&str> = root.members("L").map(|m| m.text.as_str()).collect();
    assert_eq!(members, ["1", "2"]);
    assert_eq!(root.text("E"), Some(""));
    assert_eq!(root.text("missing"), None);
    assert!(super::parse("<R><unclosed></R>").is_err());
}

/// An endpoint without Auto Scaling (an HTML 404, as an emulator without it sends) is said as
/// the API it does not serve, by the service's name, as an SDK call's would be.
#[tokio::test]
async fn an_endpoint_without_the_api_is_said_so_by_its_name() {
    let fake = Fake::with_headers(|_| {
        (
            404,
            vec![("content-type", "text/html".to_string())],
            "<!doctype html><html><title>404 Not Found</title></html>".into(),
        )
    });
    let e = autoscaling::lifecycle_hooks(&query(AUTO_SCALING, &fake), "g")
        .await
        .unwrap_err();
    assert_eq!(
        super::super::Why::from(&e)
            .not_served()
            .map(|n| n.api())
            .as_deref(),
        Some("Auto Scaling DescribeLifecycleHooks"),
        "{e}"
    );
}

/// A success that is not the action's answer (a proxy's page, another protocol's document) is
/// an answer not read, never "no group": status then says it could not read the group.
#[tokio::test]
async fn a_success_that_is_not_the_actions_answer_is_not_read_as_empty() {
    for (body, said) in [
        (
            "<html><body>Welcome to the network</body></html>",
            "it was an HTML page",
        ),
        (
            "<DescribePoliciesResponse><DescribePoliciesResult/></DescribePoliciesResponse>",
            "not the document AWS sends",
        ),
    ] {
        let fake = Fake::new(move |_| (200, body.to_string()));
        let e = autoscaling::group(&query(AUTO_SCALING, &fake), "g")
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("could not be read") && text.contains(said),
            "{text}"
        );
    }
}

#[test]
fn a_comment_inside_a_value_is_not_part_of_it() {
    let root = super::parse("<R><V><!-- a note -->3</V></R>").unwrap();
    assert_eq!(root.text("V"), Some("3"));
}

/// GovCloud's Auto Scaling and SNS endpoints are FIPS endpoints already: with FIPS asked for,
/// no `-fips` host (the SDK's endpoint rules gave the same).
#[test]
fn fips_in_gov_cloud_is_the_regional_endpoint() {
    let conf = |fips: bool| {
        aws_config::SdkConfig::builder()
            .use_fips(fips)
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build()
    };
    let at = |api, region: &str, fips| {
        Query::from_config(api, region, &conf(fips))
            .signed
            .endpoint
            .clone()
    };
    assert_eq!(
        at(AUTO_SCALING, "us-gov-west-1", true),
        "https://autoscaling.us-gov-west-1.amazonaws.com"
    );
    assert_eq!(
        at(SNS, "us-gov-east-1", true),
        "https://sns.us-gov-east-1.amazonaws.com"
    );
    assert_eq!(
        at(AUTO_SCALING, "us-east-1", true),
        "https://autoscaling-fips.us-east-1.amazonaws.com"
    );
    assert_eq!(
        at(SNS, "eu-west-1", false),
        "https://sns.eu-west-1.amazonaws.com"
    );
}

/// The pages after the one with the queue's confirmed subscription are not asked for.
#[tokio::test]
async fn the_subscriptions_are_read_only_to_the_page_that_has_the_queue_s() {
    const TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:t";
    let first = query_answer(
        "ListSubscriptionsByTopic",
        &format!(
            "<Subscriptions><member><Protocol>sqs</Protocol><SubscriptionArn>{TOPIC}:s1</SubscriptionArn><Endpoint>arn:aws:sqs:eu-west-1:111122223333:jobs</Endpoint></member></Subscriptions><NextToken>n1</NextToken>"
        ),
    );
    let attributes = query_answer("GetSubscriptionAttributes", "<Attributes/>");
    let fake = Fake::new(move |r| match r.param("Action").unwrap_or_default() {
        "ListSubscriptionsByTopic" => (200, first.clone()),
        _ => (200, attributes.clone()),
    });
    let s = topics::queue_subscription(&query(SNS, &fake), TOPIC, "jobs")
        .await
        .unwrap()
        .expect("the subscription");
    assert_eq!(s.arn, format!("{TOPIC}:s1"));
    let actions: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.param("Action").unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        actions,
        ["ListSubscriptionsByTopic", "GetSubscriptionAttributes"]
    );
}
