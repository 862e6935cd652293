"""qfleet's high-resolution backlog metric (scaling.metric: high_resolution), run by Lambda.

Started once a minute by an EventBridge rule; publishes six datapoints 10 s apart of
(visible + in-flight messages, of both lanes with a priority lane) / in-service instances, at
one-second storage resolution, for the target tracking policy that reads it with a 10-second
period. With no instance in service it publishes the backlog itself (divided by 1): never a
division by zero, and the empty group is started by the scale-from-zero step policy, as with
the SQS metric.
"""
import os
import time

import boto3

NAMESPACE = "qfleet"
METRIC = "BacklogPerInstance"


def dimensions(env):
    dims = [{"Name": "Environment", "Value": env["QFLEET_ENVIRONMENT"]}]
    if env.get("QFLEET_STAGE"):
        dims.append({"Name": "Stage", "Value": env["QFLEET_STAGE"]})
    return dims


def backlog(sqs, queue_url):
    a = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])


def in_service(asg, group):
    groups = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    if not groups:
        raise RuntimeError(f"Auto Scaling group {group} not found")
    return sum(1 for i in groups[0].get("Instances", []) if i["LifecycleState"] == "InService")


def per_instance(messages, instances):
    return messages / max(instances, 1)


def publish_once(clients, env, now=time.time):
    sqs, asg, cw = clients
    # queue.priority: the priority lane's messages count too.
    queued = sum(backlog(sqs, u) for u in (env["QFLEET_QUEUE_URL"],
                                           env.get("QFLEET_PRIORITY_QUEUE_URL")) if u)
    value = per_instance(queued, in_service(asg, env["QFLEET_GROUP"]))
    cw.put_metric_data(Namespace=NAMESPACE, MetricData=[{
        "MetricName": METRIC, "Dimensions": dimensions(env), "Timestamp": now(),
        "Value": value, "Unit": "Count", "StorageResolution": 1}])
    return value


def run(clients, env, samples=6, interval=10.0, remaining=None, sleep=time.sleep, clock=time.monotonic):
    """Publishes `samples` datapoints `interval` seconds apart; stops early rather than be cut
    off by the function's timeout (`remaining()` is the time left, in seconds)."""
    start, values = clock(), []
    for i in range(samples):
        if i:
            wait = start + i * interval - clock()
            if remaining is not None and remaining() < wait + 5:
                break
            if wait > 0:
                sleep(wait)
        values.append(publish_once(clients, env))
    return values


def handler(event, context):
    region = os.environ["AWS_REGION"]
    clients = tuple(boto3.client(s, region_name=region) for s in ("sqs", "autoscaling", "cloudwatch"))
    return run(clients, os.environ, samples=int(os.environ.get("QFLEET_SAMPLES", "6")),
               interval=float(os.environ.get("QFLEET_INTERVAL", "10")),
               remaining=lambda: context.get_remaining_time_in_millis() / 1000)
