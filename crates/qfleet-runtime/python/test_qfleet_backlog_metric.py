"""Tests for qfleet_backlog_metric.py against moto's in-process SQS, Auto Scaling and CloudWatch
(boto3; moto's CloudWatch speaks boto3's protocol)."""
import datetime
import os

import boto3
import pytest
from moto import mock_aws

import qfleet_backlog_metric as m

REGION = "eu-west-1"
# The IAM test (tests/integration/iam.rs) names an environment's queue and group.
QUEUE = os.environ.get("QFLEET_TEST_QUEUE", "qfleet-lab-jobs")
GROUP = os.environ.get("QFLEET_TEST_ASG", "qfleet-lab-workers")
PRIORITY = os.environ.get("QFLEET_TEST_PRIORITY_QUEUE", "qfleet-lab-priority")  # queue.priority


@pytest.fixture
def aws(monkeypatch):
    for k in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        sqs, asg, cw, ec2 = (boto3.client(s, region_name=REGION)
                             for s in ("sqs", "autoscaling", "cloudwatch", "ec2"))
        url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        # One of moto's own images, by id: describing them all takes a second a test.
        ec2.create_launch_template(LaunchTemplateName="qfleet-lt", LaunchTemplateData={
            "ImageId": "ami-03cf127a", "InstanceType": "t3.micro"})
        asg.create_auto_scaling_group(
            AutoScalingGroupName=GROUP, MinSize=0, MaxSize=10, DesiredCapacity=0,
            LaunchTemplate={"LaunchTemplateName": "qfleet-lt"}, AvailabilityZones=[f"{REGION}a"])
        yield (sqs, asg, cw), url


def env(url, stage=None):
    e = {"QFLEET_ENVIRONMENT": "lab", "QFLEET_QUEUE_URL": url, "QFLEET_GROUP": GROUP}
    if stage:
        e["QFLEET_STAGE"] = stage
    return e


def datapoints(cw, dims):
    now = datetime.datetime.now(datetime.timezone.utc)
    got = cw.get_metric_statistics(
        Namespace="qfleet", MetricName="BacklogPerInstance", Dimensions=dims,
        StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=1),
        Period=1, Statistics=["Sum", "SampleCount"])["Datapoints"]
    return sorted(got, key=lambda d: d["Timestamp"])


def test_visible_and_in_flight_messages_are_divided_by_the_instances_in_service(aws, record_calls):
    (sqs, asg, cw), url = aws
    for i in range(9):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)  # 3 in flight, 6 visible
    asg.set_desired_capacity(AutoScalingGroupName=GROUP, DesiredCapacity=3)
    assert m.in_service(asg, GROUP) == 3
    assert m.publish_once((sqs, asg, cw), env(url)) == 3.0
    got = datapoints(cw, [{"Name": "Environment", "Value": "lab"}])
    assert [d["Sum"] for d in got] == [3.0]


def test_with_a_priority_lane_the_backlog_is_both_lanes(aws, record_calls):
    """queue.priority: QFLEET_PRIORITY_QUEUE_URL's visible and in-flight messages count too."""
    (sqs, asg, cw), url = aws
    lane = sqs.create_queue(QueueName=PRIORITY)["QueueUrl"]
    for i in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    for i in range(5):
        sqs.send_message(QueueUrl=lane, MessageBody=str(i))
    sqs.receive_message(QueueUrl=lane, MaxNumberOfMessages=2)  # 2 in flight, 3 visible
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)
    asg.set_desired_capacity(AutoScalingGroupName=GROUP, DesiredCapacity=3)
    assert m.publish_once((sqs, asg, cw), dict(env(url), QFLEET_PRIORITY_QUEUE_URL=lane)) == 3.0
    assert m.publish_once((sqs, asg, cw), env(url)) == 4 / 3, "without it: the queue alone"


def test_with_no_instance_in_service_the_backlog_itself_is_published(aws, record_calls):
    (sqs, asg, cw), url = aws
    for i in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    assert m.in_service(asg, GROUP) == 0
    assert m.publish_once((sqs, asg, cw), env(url)) == 4.0


def test_an_empty_queue_publishes_zero_not_nothing(aws, record_calls):
    (sqs, asg, cw), url = aws
    asg.set_desired_capacity(AutoScalingGroupName=GROUP, DesiredCapacity=2)
    assert m.publish_once((sqs, asg, cw), env(url)) == 0.0
    assert len(datapoints(cw, [{"Name": "Environment", "Value": "lab"}])) == 1


def test_a_later_stage_is_its_own_dimension(aws, record_calls):
    (sqs, asg, cw), url = aws
    sqs.send_message(QueueUrl=url, MessageBody="x")
    m.publish_once((sqs, asg, cw), env(url, stage="thumbs"))
    stage = [{"Name": "Environment", "Value": "lab"}, {"Name": "Stage", "Value": "thumbs"}]
    assert len(datapoints(cw, stage)) == 1
    # CloudWatch matches dimensions exactly (moto matches a subset): the metric is its own.
    listed = cw.list_metrics(Namespace="qfleet", MetricName="BacklogPerInstance")["Metrics"]
    assert [sorted((d["Name"], d["Value"]) for d in x["Dimensions"]) for x in listed] == [
        [("Environment", "lab"), ("Stage", "thumbs")]]


def test_six_datapoints_ten_seconds_apart_at_one_second_resolution(aws, monkeypatch, record_calls):
    (sqs, asg, cw), url = aws
    sent = []
    put = cw.put_metric_data
    monkeypatch.setattr(cw, "put_metric_data", lambda **kw: (sent.append(kw), put(**kw))[1])
    t = [0.0]
    slept = []

    def sleep(s):
        slept.append(round(s, 3))
        t[0] += s
    values = m.run((sqs, asg, cw), env(url), remaining=lambda: 60 - t[0], sleep=sleep,
                   clock=lambda: t[0])
    assert values == [0.0] * 6
    assert slept == [10.0] * 5
    assert all(kw["MetricData"][0]["StorageResolution"] == 1 for kw in sent)
    assert len(sent) == 6


def test_it_stops_before_the_functions_timeout(aws, record_calls):
    (sqs, asg, cw), url = aws
    t = [0.0]

    def sleep(s):
        t[0] += s
    values = m.run((sqs, asg, cw), env(url), remaining=lambda: 30 - t[0], sleep=sleep,
                   clock=lambda: t[0])
    assert len(values) == 3


def test_a_missing_group_is_an_error_not_a_zero(aws, record_calls):
    (sqs, asg, cw), url = aws
    e = env(url)
    e["QFLEET_GROUP"] = "no-such-group"
    with pytest.raises(RuntimeError, match="not found"):
        m.publish_once((sqs, asg, cw), e)


def test_the_handler_reads_its_settings_from_the_environment(aws, monkeypatch, record_calls):
    (sqs, asg, cw), url = aws
    for k, v in env(url).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("QFLEET_SAMPLES", "1")

    class Context:
        def get_remaining_time_in_millis(self):
            return 59_000
    assert m.handler({}, Context()) == [0.0]


def test_the_file_fits_a_templates_inline_code():
    # CloudFormation's ZipFile holds at most 4,096 characters (AWS::Lambda::Function Code).
    import pathlib
    assert len(pathlib.Path(m.__file__).read_text()) <= 4096
