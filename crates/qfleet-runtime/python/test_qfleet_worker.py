"""Tests for qfleet_worker.py against moto's in-process AWS mock (no network)."""
import datetime
import hashlib
import json
import os
import re
import signal
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import qfleet_shared
import qfleet_worker as qw
from conftest import inline_shared, record

REGION = "eu-west-1"
# The names are the environment's when the IAM test runs these tests under its worker policy.
BUCKET = os.environ.get("QFLEET_TEST_BUCKET", "qfleet-test-bucket")
QUEUE = os.environ.get("QFLEET_TEST_QUEUE", "qfleet")
PRIORITY = os.environ.get("QFLEET_TEST_PRIORITY_QUEUE", QUEUE + "-priority")  # queue.priority
ASG = os.environ.get("QFLEET_TEST_ASG", "grp")
STACK = os.environ.get("QFLEET_TEST_STACK", "qfleet-lab-fleet")
LINE = re.compile(r"^msg=\S+(?: job=\"(?:[^\"\\]|\\.)*\")* outcome=(processed|skipped-test-event|skipped-confirmation|ignored|cancelled|failed|released)"
                  r" keys=\d+ receive_count=\d+ seconds=\d+\.\d\d( .*)?$")


@pytest.fixture(autouse=True)
def no_imds(monkeypatch):
    """No test reaches a real instance metadata service (tests may run on EC2): a closed port."""
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")


@pytest.fixture
def imds(monkeypatch):
    """Instance metadata as EC2 serves it with IMDSv2: a session token from PUT
    /latest/api/token, then GETs that carry it in X-aws-ec2-metadata-token (401 without)
    (Amazon EC2 User Guide, "Use the Instance Metadata Service to access instance metadata":
    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html).
    `lifecycle` is autoscaling/target-lifecycle-state (None: absent, 404); `fail`: 500."""
    state = SimpleNamespace(lifecycle="InService", fail=False, gets=[])

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def send(self, code, body=""):
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def do_PUT(self):
            ok = (self.path == "/latest/api/token"
                  and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"))
            self.send(200 if ok else 400, "token-1")

        def do_GET(self):
            state.gets.append(self.path)
            if self.headers.get("X-aws-ec2-metadata-token") != "token-1":
                return self.send(401)
            if state.fail:
                return self.send(500)
            body = {"/latest/meta-data/instance-id": "i-0abc",
                    "/latest/meta-data/autoscaling/target-lifecycle-state": state.lifecycle,
                    }.get(self.path)
            self.send(200 if body else 404, body or "")

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{srv.server_port}")
    yield state
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def aws(monkeypatch):
    for k in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET,
                         CreateBucketConfiguration={"LocationConstraint": REGION})
        dlq = sqs.create_queue(QueueName=QUEUE + "-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        q = sqs.create_queue(QueueName=QUEUE, Attributes={
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "2"}),
        })["QueueUrl"]
        yield SimpleNamespace(s3=s3, sqs=sqs, q=q, dlq=dlq)


def worker(aws, **kw):
    env = {"QFLEET_QUEUE_URL": aws.q, "QFLEET_BUCKET": BUCKET, "AWS_REGION": REGION,
           "QFLEET_WAIT_SECONDS": "0", "QFLEET_RETRY_BACKOFF": "0"}
    env.update(kw.pop("env", {}))
    return qw.Worker(qw.Config(env), **{"sqs": aws.sqs, "s3": aws.s3, **kw})


def s3_event(key, bucket=BUCKET, encode=True, at=None):
    k = urllib.parse.quote_plus(key, safe="/") if encode else key
    t = {"eventTime": at} if at else {}
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", **t,
                         "eventName": "ObjectCreated:Put", "awsRegion": REGION,
                         "s3": {"bucket": {"name": bucket},
                                "object": {"key": k, "size": 5}}}]}


def sns_wrap(event):
    return {"Type": "Notification", "MessageId": "m-1",
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:qfleet",
            "Subject": "Amazon S3 Notification", "Message": json.dumps(event)}


def send(aws, body):
    aws.sqs.send_message(QueueUrl=aws.q, MessageBody=json.dumps(body))


def put(aws, key, data=b"hello"):
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=data)


def keys(aws):
    return sorted(o["Key"] for o in aws.s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def counts(aws, url=None):
    a = aws.sqs.get_queue_attributes(
        QueueUrl=url or aws.q,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def outcomes(capsys):
    lines = capsys.readouterr().out.splitlines()
    assert all(LINE.match(x) for x in lines), lines
    return [re.search(r"outcome=(\S+)", x).group(1) for x in lines]


def test_raw_s3_event_moves_object_and_deletes_message(aws, capsys):
    put(aws, "uploads/a/b.txt")
    send(aws, s3_event("uploads/a/b.txt"))
    assert worker(aws).run(once=True) == 0
    assert keys(aws) == ["processed/a/b.txt"]
    assert aws.s3.get_object(Bucket=BUCKET, Key="processed/a/b.txt")["Body"].read() == b"hello"
    assert counts(aws) == (0, 0)
    assert outcomes(capsys) == ["processed"]


def test_sns_wrapped_event_moves_object(aws, capsys):
    put(aws, "uploads/x.bin")
    send(aws, sns_wrap(s3_event("uploads/x.bin")))
    worker(aws).run(once=True)
    assert keys(aws) == ["processed/x.bin"]
    assert counts(aws) == (0, 0)
    assert outcomes(capsys) == ["processed"]


@pytest.mark.parametrize("wrap", [False, True])
def test_s3_test_event_deleted_without_work(aws, capsys, monkeypatch, wrap):
    put(aws, "uploads/keep.txt")
    calls = []
    monkeypatch.setattr(qw, "process", lambda *a: calls.append(a))
    ev = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET,
          "Time": "2024-01-01T00:00:00.000Z", "RequestId": "r", "HostId": "h"}
    send(aws, sns_wrap(ev) if wrap else ev)
    worker(aws).run(once=True)
    assert calls == []
    assert keys(aws) == ["uploads/keep.txt"]
    assert counts(aws) == (0, 0)
    assert outcomes(capsys) == ["skipped-test-event"]


def test_url_encoded_key_is_decoded(aws, capsys):
    put(aws, "uploads/my file(1).txt")
    send(aws, s3_event("uploads/my+file%281%29.txt", encode=False))
    worker(aws).run(once=True)
    assert keys(aws) == ["processed/my file(1).txt"]
    assert counts(aws) == (0, 0)
    assert outcomes(capsys) == ["processed"]


def test_foreign_bucket_and_prefix_ignored_and_deleted(aws, capsys):
    put(aws, "other/x.txt")
    put(aws, "uploads/y.txt")
    ev = s3_event("other/x.txt")
    ev["Records"] += s3_event("uploads/y.txt", bucket="someone-elses-bucket")["Records"]
    send(aws, ev)
    worker(aws).run(once=True)
    assert keys(aws) == ["other/x.txt", "uploads/y.txt"]
    assert counts(aws) == (0, 0)
    out = capsys.readouterr().out
    assert "outcome=ignored" in out and "ignored=2" in out


def test_failing_job_is_retried_then_dead_lettered(aws, capsys, monkeypatch):
    put(aws, "uploads/bad.txt")
    send(aws, s3_event("uploads/bad.txt"))

    def boom(*a):
        raise RuntimeError("boom")

    monkeypatch.setattr(qw, "process", boom)
    w = worker(aws)  # visibility 60 s; only the failure backoff (0) makes it visible again
    w.run(once=True)
    time.sleep(0.01)
    assert counts(aws) == (1, 0)  # not deleted, visible again
    assert counts(aws, aws.dlq) == (0, 0)
    w.run(once=True)  # 2nd receive == maxReceiveCount
    time.sleep(0.01)
    assert counts(aws) == (1, 0)
    w.run(once=True)  # SQS redrives on the next receive
    assert counts(aws) == (0, 0)
    assert counts(aws, aws.dlq) == (1, 0)
    assert keys(aws) == ["uploads/bad.txt"]
    assert outcomes(capsys) == ["failed", "failed"]


def test_a_failing_jobs_attempts_come_back_at_growing_intervals(aws, capsys, monkeypatch):
    """queue.retry: each failed attempt's message is hidden for the next wait (1 s, then
    2 s), not for the queue's visibility timeout (30 s here): it comes back then, on moto."""
    put(aws, "uploads/bad.txt")
    send(aws, s3_event("uploads/bad.txt"))
    monkeypatch.setattr(qw, "process", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    w = worker(aws, env={"QFLEET_RETRY_BACKOFF": "1", "QFLEET_RETRY_MAX_DELAY": "60"})
    waits = []
    change = aws.sqs.change_message_visibility

    def spy(**kw):
        waits.append(kw["VisibilityTimeout"])
        return change(**kw)
    monkeypatch.setattr(aws.sqs, "change_message_visibility", spy)
    w.run(once=True)
    assert waits == [1] and counts(aws) == (0, 1)  # hidden, in flight
    time.sleep(1.3)
    assert counts(aws) == (1, 0)  # back after 1 s
    w.run(once=True)  # the second attempt: maxReceiveCount
    assert waits == [1, 2] and counts(aws) == (0, 1)
    time.sleep(2.5)
    assert counts(aws) == (1, 0)  # back after 2 s
    assert outcomes(capsys) == ["failed", "failed"]


def test_an_attempt_past_the_job_timeout_is_stopped_retried_and_the_worker_restarts(
        aws, capsys, monkeypatch):
    """workers.job_timeout: an attempt still running at the limit is taken as a failure: its
    message hidden for the retry's wait (1 s here, not the 30 s visibility timeout), a
    timed_out line, and the worker stops with status 3 for systemd or ECS to start afresh
    (the attempt's thread cannot be killed)."""
    put(aws, "uploads/slow.txt")
    send(aws, s3_event("uploads/slow.txt"))
    release = threading.Event()
    monkeypatch.setattr(qw, "process", lambda *a: release.wait(10))
    w = worker(aws, env={"QFLEET_JOB_TIMEOUT": "0.5", "QFLEET_RETRY_BACKOFF": "1"})
    t0 = time.monotonic()
    assert w.run() == 3  # not once=True: the timeout alone ends the run
    assert 0.5 <= time.monotonic() - t0 < 5
    release.set()
    out = capsys.readouterr().out
    assert 'outcome=failed' in out and "timed_out=1" in out and "workers.job_timeout" in out
    assert counts(aws) == (0, 1)  # hidden for the wait
    time.sleep(1.3)
    assert counts(aws) == (1, 0)
    assert keys(aws) == ["uploads/slow.txt"]


def test_without_a_job_timeout_a_long_attempt_runs_to_its_end(aws, capsys, monkeypatch):
    put(aws, "uploads/slow.txt")
    send(aws, s3_event("uploads/slow.txt"))
    real = qw.process
    monkeypatch.setattr(qw, "process", lambda *a, **k: (time.sleep(0.7), real(*a, **k))[1])
    w = worker(aws, env={"QFLEET_JOB_TIMEOUT": ""})
    assert w.run(once=True) == 0
    assert outcomes(capsys) == ["processed"]


def test_message_deleted_only_after_success(aws, capsys, monkeypatch):
    put(aws, "uploads/a.txt")
    send(aws, s3_event("uploads/a.txt"))
    seen = []
    real = qw.process

    def job(s3, bucket, key, cfg):
        seen.append(counts(aws))
        real(s3, bucket, key, cfg)

    monkeypatch.setattr(qw, "process", job)
    worker(aws).run(once=True)
    assert seen == [(0, 1)]  # in flight, not yet deleted, while the job ran
    assert counts(aws) == (0, 0)
    assert keys(aws) == ["processed/a.txt"]


def test_heartbeat_extends_visibility_of_long_job(aws, capsys, monkeypatch):
    put(aws, "uploads/slow.txt")
    send(aws, s3_event("uploads/slow.txt"))
    changes, stolen = [], []
    aws.sqs.meta.events.register(
        "provide-client-params.sqs.ChangeMessageVisibility",
        lambda params, **kw: changes.append(params["VisibilityTimeout"]))

    def slow(*a):
        time.sleep(2.5)  # beyond the 2 s visibility timeout
        other = boto3.client("sqs", region_name=REGION)
        stolen.append(len(other.receive_message(QueueUrl=aws.q, WaitTimeSeconds=0)
                          .get("Messages", [])))
        time.sleep(0.5)

    monkeypatch.setattr(qw, "process", slow)
    worker(aws, env={"QFLEET_VISIBILITY_TIMEOUT": "2"}).run(once=True)
    assert len(changes) >= 2 and all(v == 2 for v in changes)
    assert stolen == [0]  # a concurrent receiver did not get the message
    assert counts(aws) == (0, 0)
    assert outcomes(capsys) == ["processed"]


def test_quick_job_sends_no_heartbeat(aws, capsys):
    put(aws, "uploads/q.txt")
    send(aws, s3_event("uploads/q.txt"))
    changes = []
    aws.sqs.meta.events.register("provide-client-params.sqs.ChangeMessageVisibility",
                                 lambda **kw: changes.append(1))
    worker(aws).run(once=True)
    assert changes == []


class RecordingASG:
    """Auto Scaling as the worker calls it; records every call."""

    def __init__(self):
        self.calls = []

    def complete_lifecycle_action(self, **kw):
        record("autoscaling", "CompleteLifecycleAction", kw)
        self.calls.append(("complete", kw))

    def __getattr__(self, name):
        def call(**kw):
            self.calls.append((name, kw))
        return call


LIFECYCLE = {"QFLEET_ASG_NAME": ASG, "QFLEET_LIFECYCLE_HOOK": "drain",
             "QFLEET_LIFECYCLE_INTERVAL": "0"}


# EC2 Auto Scaling User Guide, "Retrieve the target lifecycle state through instance metadata"
# (https://docs.aws.amazon.com/autoscaling/ec2/userguide/retrieving-target-lifecycle-state-through-imds.html):
# an instance reads autoscaling/target-lifecycle-state (InService, Terminated, Detached, Standby,
# Warmed:*) from its own metadata, and a lifecycle hook keeps it running until it calls
# complete-lifecycle-action. No Auto Scaling API call (throttled per account) per instance.
def test_the_target_lifecycle_state_comes_from_instance_metadata_not_the_auto_scaling_api(
        aws, capsys, imds):
    asg = RecordingASG()
    put(aws, "uploads/p.txt")
    send(aws, s3_event("uploads/p.txt"))
    w = worker(aws, asg=asg, env=LIFECYCLE)
    w.run(once=True)
    assert outcomes(capsys) == ["processed"]
    assert "/latest/meta-data/autoscaling/target-lifecycle-state" in imds.gets
    assert w.iid == "i-0abc", "its instance id from instance metadata too"
    # Not even scale-in protection: termination drains through the hook and cannot stall.
    assert asg.calls == [], "no Auto Scaling API call while in service"


def test_target_lifecycle_state_terminated_drains_then_completes_the_hook(
        aws, capsys, monkeypatch, imds):
    asg = RecordingASG()
    real = qw.process

    def job(*a):
        imds.lifecycle = "Terminated"  # scale-in chose this instance while the job runs
        time.sleep(0.3)
        real(*a)

    monkeypatch.setattr(qw, "process", job)
    for k in ("uploads/1.txt", "uploads/2.txt"):
        put(aws, k)
        send(aws, s3_event(k))
    w = worker(aws, asg=asg, env=LIFECYCLE)
    safety = threading.Timer(5, w.stop.set)
    safety.start()
    try:
        assert w.run() == 0
    finally:
        safety.cancel()
    assert outcomes(capsys) == ["processed"], "the current job finishes"
    assert counts(aws) == (1, 0), "no new message is taken"
    assert asg.calls == [("complete", {
        "LifecycleHookName": "drain", "AutoScalingGroupName": ASG,
        "LifecycleActionResult": "CONTINUE", "InstanceId": "i-0abc"})]


@pytest.mark.parametrize("state", ["Standby", "Detached", "Warmed:Running", None],
                         ids=["standby", "detached", "warm-pool", "absent-404"])
def test_no_new_work_unless_the_target_lifecycle_state_is_in_service(aws, capsys, imds, state):
    asg = RecordingASG()
    put(aws, "uploads/w.txt")
    send(aws, s3_event("uploads/w.txt"))
    imds.lifecycle = state
    w = worker(aws, asg=asg, env=LIFECYCLE)
    w.run(once=True)
    assert counts(aws) == (1, 0) and outcomes(capsys) == [], "not received"
    assert asg.calls == [] and not w.stop.is_set(), "not drained either: it is not terminating"
    imds.lifecycle = "InService"
    w.run(once=True)
    assert outcomes(capsys) == ["processed"]


def test_an_unreadable_lifecycle_state_stops_new_work_but_never_drains(aws, capsys, imds):
    """One failed read keeps the last state (QFLEET_LIFECYCLE_STALE s): a transient error does
    not stop a healthy instance. A state unread for longer is unknown: the worker takes no new
    work it could not drain (it would not see Terminated), and it completes no hook."""
    asg = RecordingASG()
    for k in ("uploads/1.txt", "uploads/2.txt", "uploads/3.txt"):
        put(aws, k)
        send(aws, s3_event(k))
    w = worker(aws, asg=asg, env=dict(LIFECYCLE, QFLEET_LIFECYCLE_STALE="3600"))
    w.run(once=True)
    imds.fail = True
    w.run(once=True)
    assert outcomes(capsys) == ["processed", "processed"], "one failed read stops nothing"
    w.cfg.lc_stale = 0  # the state has now gone unread for longer than QFLEET_LIFECYCLE_STALE
    w.run(once=True)
    assert outcomes(capsys) == [] and counts(aws) == (1, 0), "no new work"
    assert asg.calls == [] and not w.stop.is_set(), "no drain: nothing says it is terminating"
    imds.fail = False
    w.run(once=True)
    assert outcomes(capsys) == ["processed"] and counts(aws) == (0, 0)


def test_no_signal_and_no_work_when_instance_metadata_cannot_be_read(aws, capsys):
    cfn = Recorder()
    put(aws, "uploads/n.txt")
    send(aws, s3_event("uploads/n.txt"))
    w = worker(aws, asg=RecordingASG(), cfn=cfn, env=dict(
        LIFECYCLE, QFLEET_SIGNAL_STACK=STACK, QFLEET_SIGNAL_RESOURCE="WorkerGroup"))
    w.run(once=True)  # the metadata endpoint refuses connections (no_imds)
    assert cfn.calls == [] and counts(aws) == (1, 0)


def test_sigterm_releases_unfinishable_message_and_exits(aws, capsys, monkeypatch):
    put(aws, "uploads/stuck.txt")
    send(aws, s3_event("uploads/stuck.txt"))
    gate = threading.Event()
    monkeypatch.setattr(qw, "process", lambda *a: gate.wait(10))
    w = worker(aws, env={"QFLEET_STOP_GRACE": "0.3"})
    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        w.install_signals()
        t0 = time.monotonic()
        timer.start()
        rc = w.run()  # not --once: only the stop request ends the loop
        elapsed = time.monotonic() - t0
    finally:
        timer.cancel()
        gate.set()
        for s, h in old.items():
            signal.signal(s, h)
    assert rc == 0 and elapsed < 3
    assert outcomes(capsys) == ["released"]
    time.sleep(0.01)
    m = aws.sqs.receive_message(QueueUrl=aws.q, WaitTimeSeconds=0,
                                AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert len(m) == 1 and m[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert keys(aws) == ["uploads/stuck.txt"]


def test_stop_mid_job_finishes_current_and_stops_receiving(aws, capsys, monkeypatch):
    for k in ("uploads/1.txt", "uploads/2.txt"):
        put(aws, k)
        send(aws, s3_event(k))
    w = worker(aws, env={"QFLEET_STOP_GRACE": "5"})
    real = qw.process

    def job(*a):
        w.stop.set()
        time.sleep(0.3)
        real(*a)

    monkeypatch.setattr(qw, "process", job)
    assert w.run() == 0
    assert outcomes(capsys) == ["processed"]
    assert counts(aws) == (1, 0)  # second message never received
    assert len([k for k in keys(aws) if k.startswith("processed/")]) == 1


def test_one_log_line_per_message(aws, capsys):
    put(aws, "uploads/1.txt")
    send(aws, s3_event("uploads/1.txt"))
    send(aws, {"Event": "s3:TestEvent", "Bucket": BUCKET})
    send(aws, s3_event("elsewhere/1.txt"))
    send(aws, "not json at all")  # a job sent as a message: its record is written
    send(aws, s3_event("uploads/gone.txt"))  # no such object
    worker(aws).run(max_messages=5)
    assert sorted(outcomes(capsys)) == ["failed", "ignored", "processed", "processed",
                                        "skipped-test-event"]


def test_every_log_line_names_the_jobs_of_its_message(aws, capsys):
    """`qfleet logs ENV --job ID` looks for `job=` and the id as a JSON string."""
    put(aws, "uploads/my \"big\" photo.jpg")
    put(aws, "uploads/b.txt")
    two = s3_event("uploads/my \"big\" photo.jpg")
    two["Records"] += s3_event("uploads/b.txt")["Records"]
    send(aws, sns_wrap(two))
    aws.sqs.send_message(QueueUrl=aws.q, MessageBody="resize me",
                         MessageAttributes={"job_id": {"DataType": "String",
                                                       "StringValue": "order-7 ü"}})
    plain = aws.sqs.send_message(QueueUrl=aws.q, MessageBody="no id given")["MessageId"]
    send(aws, {"Event": "s3:TestEvent", "Bucket": BUCKET})
    worker(aws).run(max_messages=4)
    lines = capsys.readouterr().out.splitlines()
    assert all(LINE.match(x) for x in lines), lines
    named = sorted(re.findall(r' job=("(?:[^"\\]|\\.)*")', x) for x in lines)
    assert named == sorted([
        [json.dumps('uploads/my "big" photo.jpg'), '"uploads/b.txt"'],
        ['"order-7 ü"'],  # as written: the search term is the id's JSON text
        [json.dumps("sqs:" + plain)],
        [],  # S3's test event is no job
    ]), lines


def test_a_log_lines_job_ids_come_from_the_message_alone():
    """job_ids reads the message, never AWS: a later stage's message names the job it carries;
    a body that is not what it says names none, and the line is still written."""
    later = json.dumps({"Records": s3_event("resized/a.jpg")["Records"],
                        "qfleetJob": {"key": "uploads/a.jpg", "upload": "v1"}})
    assert qw.job_ids(later, {}) == ["uploads/a.jpg"]
    assert qw.job_ids(json.dumps(s3_event("uploads/a+b.txt", encode=False)), {}) == [
        "uploads/a b.txt"]
    assert qw.job_ids("{}", {"MessageId": "m-1"}) == ["sqs:m-1"]
    broken = json.dumps({"Type": "Notification", "Message": "{not json"})
    assert qw.job_ids(broken, {"MessageId": "m-2"}) == ["sqs:m-2"]  # a message, as classify says
    line = qw.log_line("m-3", ["a\\b\n"], "processed", 1, "1", 0.5)
    assert line == 'msg=m-3 job="a\\\\b\\n" outcome=processed keys=1 receive_count=1 seconds=0.50'


def test_parse_body_and_queue_name_resolution(aws):
    assert qw.parse_body(json.dumps(s3_event("uploads/a+b.txt", encode=False))) == [
        (BUCKET, "uploads/a b.txt", "ObjectCreated:Put", None)]
    w = qw.Worker(qw.Config({"QFLEET_QUEUE_NAME": QUEUE, "AWS_REGION": REGION}),
                  sqs=aws.sqs, s3=aws.s3)
    assert w.url == aws.q and w.iid is None


def test_visibility_timeout_comes_from_the_queue_unless_set(aws):
    w = qw.Worker(qw.Config({"QFLEET_QUEUE_NAME": QUEUE, "AWS_REGION": REGION}),
                  sqs=aws.sqs, s3=aws.s3)
    assert w.cfg.visibility == 30, "read from the queue's VisibilityTimeout"
    w = worker(aws, env={"QFLEET_VISIBILITY_TIMEOUT": "7"})
    assert w.cfg.visibility == 7


def test_stop_during_long_poll_releases_received_message(aws, capsys, monkeypatch):
    put(aws, "uploads/late.txt")
    send(aws, s3_event("uploads/late.txt"))
    calls = []
    monkeypatch.setattr(qw, "process", lambda *a: calls.append(a))
    w = worker(aws)
    aws.sqs.meta.events.register("after-call.sqs.ReceiveMessage", lambda **kw: w.stop.set())
    assert w.run() == 0
    assert calls == [] and keys(aws) == ["uploads/late.txt"]
    assert outcomes(capsys) == ["released"]
    time.sleep(0.01)
    assert counts(aws) == (1, 0)


class DeniedSource:
    """S3 as the worker's role sees it without s3:ListBucket: HeadObject of a missing object is
    403, not 404 (Amazon S3 API Reference, HeadObject, "Permissions":
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html); the rest is real."""

    def __init__(self, s3):
        self.s3 = s3

    def head_object(self, **kw):
        try:
            return self.s3.head_object(**kw)
        except ClientError as e:
            if e.response["Error"]["Code"] != "404":
                raise
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}},
                                 "HeadObject") from None

    def __getattr__(self, name):
        return getattr(self.s3, name)


def test_redelivery_after_a_move_succeeds_although_s3_answers_403(aws, capsys):
    put(aws, "uploads/r.txt")
    cfg = qw.Config({"QFLEET_QUEUE_URL": aws.q, "AWS_REGION": REGION})
    s3 = DeniedSource(aws.s3)
    qw.process(s3, BUCKET, "uploads/r.txt", cfg)
    assert keys(aws) == ["processed/r.txt"]
    # The same message again (its delete was lost): the source is gone, S3 says 403.
    qw.process(s3, BUCKET, "uploads/r.txt", cfg)
    assert keys(aws) == ["processed/r.txt"]


def test_a_source_missing_and_never_moved_is_still_an_error(aws):
    cfg = qw.Config({"QFLEET_QUEUE_URL": aws.q, "AWS_REGION": REGION})
    with pytest.raises(ClientError) as e:
        qw.process(DeniedSource(aws.s3), BUCKET, "uploads/never.txt", cfg)
    assert e.value.response["Error"]["Code"] == "403"


def s3_calls(aws):
    """The S3 operations the worker's client sends, in order (the managed copy's threads too)."""
    ops = []
    aws.s3.meta.events.register("before-call.s3", lambda model, **kw: ops.append(model.name))
    return ops


BIG = 9 * 1024 * 1024  # above the managed copy's multipart threshold (8 MiB)


# Amazon S3 API Reference, CopyObject: "You create a copy of your object up to 5 GB in size in a
# single atomic action using this API. However, to copy an object greater than 5 GB, you must use
# the multipart upload Upload Part - Copy (UploadPartCopy) API."
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html; S3 User Guide, "Copying
# an object using multipart upload": https://docs.aws.amazon.com/AmazonS3/latest/userguide/CopyingObjctsMPUapi.html)
# boto3's managed copy goes multipart above its threshold (8 MiB, far below 5 GB), so an object
# of 9 MiB takes the path one of 6 GB takes.
def test_copyobject_stops_at_5_gb_so_a_large_upload_is_copied_in_parts(aws):
    data = os.urandom(BIG)
    aws.s3.put_object(Bucket=BUCKET, Key="uploads/big.bin", Body=data,
                      ContentType="video/mp4", Metadata={"owner": "team-a"})
    ops = s3_calls(aws)
    qw.process(aws.s3, BUCKET, "uploads/big.bin", qw.Config({}))
    assert "CopyObject" not in ops, ops
    assert ops.count("UploadPartCopy") == 2, ops
    assert ops.index("CreateMultipartUpload") < ops.index("CompleteMultipartUpload"), ops
    assert keys(aws) == ["processed/big.bin"]
    got = aws.s3.get_object(Bucket=BUCKET, Key="processed/big.bin")
    assert got["Body"].read() == data
    # CopyObject keeps the source's metadata; a multipart copy must set it again itself.
    assert (got["ContentType"], got["Metadata"]) == ("video/mp4", {"owner": "team-a"})


def fail_part_copies(aws):
    """S3 answers every UploadPartCopy with 500 InternalError."""
    aws.s3.meta.events.register("before-call.s3.UploadPartCopy", lambda **kw: (
        SimpleNamespace(status_code=500, headers={}),
        {"Error": {"Code": "InternalError", "Message": "We encountered an internal error."},
         "ResponseMetadata": {"HTTPStatusCode": 500}}))


# S3 User Guide, "Uploading and copying objects using multipart upload": the parts of an upload
# that is neither completed nor aborted are stored and billed
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html); aborting needs
# s3:AbortMultipartUpload ("Multipart upload API and permissions", same page).
def test_a_failed_multipart_copy_is_aborted_so_no_parts_stay_billed(aws):
    aws.s3.put_object(Bucket=BUCKET, Key="uploads/big.bin", Body=os.urandom(BIG))
    fail_part_copies(aws)
    ops = s3_calls(aws)
    with pytest.raises(ClientError) as e:
        qw.process(aws.s3, BUCKET, "uploads/big.bin", qw.Config({}))
    assert e.value.response["Error"]["Code"] == "InternalError"
    assert "AbortMultipartUpload" in ops, ops
    assert aws.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert keys(aws) == ["uploads/big.bin"], "the upload stays for the retry"


class Recorder:
    def __init__(self):
        self.calls = []

    def signal_resource(self, **kw):
        record("cloudformation", "SignalResource", kw)
        self.calls.append(kw)


def test_the_instance_signals_once_after_it_reached_the_queue(aws, capsys):
    cfn = Recorder()
    w = worker(aws, instance_id="i-0abc", cfn=cfn,
               env={"QFLEET_SIGNAL_STACK": STACK, "QFLEET_SIGNAL_RESOURCE": "WorkerGroup"})
    assert cfn.calls == [], "no signal before the queue answered"
    w.run(once=True)
    w.run(once=True)
    assert cfn.calls == [{"StackName": STACK, "LogicalResourceId": "WorkerGroup",
                          "UniqueId": "i-0abc", "Status": "SUCCESS"}]


class Group:
    """Auto Scaling, as far as the launch hook goes: records CompleteLifecycleAction."""

    def __init__(self):
        self.calls = []

    def complete_lifecycle_action(self, **kw):
        record("autoscaling", "CompleteLifecycleAction", kw)
        self.calls.append(kw)


# An instance refresh waits for each new instance's EC2_INSTANCE_LAUNCHING hook before it goes
# on ("Verify instance readiness during an instance refresh", AWS CloudFormation Template
# Reference, https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatepolicy.html#cfn-attributes-updatepolicy-instancerefresh-readiness):
# the worker completes it, CONTINUE, once, when the queue first answered.
def test_the_instance_completes_its_launch_hook_once_after_it_reached_the_queue(aws, capsys):
    asg, cfn = Group(), Recorder()
    w = worker(aws, instance_id="i-0abc", cfn=cfn, asg=asg,
               env={"QFLEET_ASG_NAME": ASG, "QFLEET_LAUNCH_HOOK": "bootstrap-on-launch",
                    "QFLEET_SIGNAL_STACK": STACK, "QFLEET_SIGNAL_RESOURCE": "WorkerGroup"})
    assert asg.calls == [], "the launch waits until the queue answered"
    w.run(once=True)
    w.run(once=True)
    assert asg.calls == [{"LifecycleHookName": "bootstrap-on-launch", "AutoScalingGroupName": ASG,
                          "LifecycleActionResult": "CONTINUE", "InstanceId": "i-0abc"}]
    assert len(cfn.calls) == 1


def test_a_launch_hook_not_waiting_is_no_failure(aws, capsys):
    class Done(Group):
        def complete_lifecycle_action(self, **kw):
            super().complete_lifecycle_action(**kw)
            raise ClientError({"Error": {"Code": "ValidationError",
                                         "Message": "No active Lifecycle Action found"}},
                              "CompleteLifecycleAction")
    asg, cfn = Done(), Recorder()
    w = worker(aws, instance_id="i-0abc", cfn=cfn, asg=asg,
               env={"QFLEET_ASG_NAME": ASG, "QFLEET_LAUNCH_HOOK": "bootstrap-on-launch",
                    "QFLEET_SIGNAL_STACK": STACK, "QFLEET_SIGNAL_RESOURCE": "WorkerGroup"})
    w.run(once=True)
    assert len(asg.calls) == 1 and len(cfn.calls) == 1, "the signal still goes"
    assert "complete-launch-hook" in capsys.readouterr().err


def test_no_signal_when_the_queue_cannot_be_reached(aws, capsys):
    cfn = Recorder()
    w = worker(aws, instance_id="i-0abc", cfn=cfn,
               env={"QFLEET_SIGNAL_STACK": STACK, "QFLEET_SIGNAL_RESOURCE": "WorkerGroup"})
    w.url = aws.q + "-missing"
    w.run(once=True)
    assert cfn.calls == []


class Recording:
    """A client that records its calls and passes them on (botocore validates each)."""

    def __init__(self, client):
        self.client, self.calls = client, []

    def __getattr__(self, name):
        def call(**kw):
            self.calls.append((name, kw))
            return getattr(self.client, name)(**kw)
        return call


def test_upload_to_processed_seconds_reach_cloudwatch_with_values_and_counts(aws, capsys):
    """status reads percentiles of qfleet/UploadToProcessedSeconds{Environment}: every job's
    seconds from its S3 eventTime, sent with Values and Counts (PutMetricData keeps each sample,
    so percentiles hold over any window; CloudWatch API Reference, PutMetricData:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html)."""
    cw = Recording(boto3.client("cloudwatch", region_name=REGION))
    at = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=30))
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
    for k in ("uploads/a", "uploads/b", "uploads/c"):
        put(aws, k)
        send(aws, s3_event(k, at=stamp))
    w = worker(aws, cw=cw, env={"QFLEET_ENVIRONMENT": "lab"})
    w.run(max_messages=3)
    assert outcomes(capsys) == ["processed"] * 3
    assert [c[0] for c in cw.calls] == ["put_metric_data"], "one call for the three jobs"
    kw = cw.calls[0][1]
    assert kw["Namespace"] == "qfleet"
    d, done = kw["MetricData"]
    assert (done["MetricName"], done["Value"], done["Unit"]) == ("JobsDone", 3.0, "Count")
    assert d["MetricName"] == "UploadToProcessedSeconds" and d["Unit"] == "Seconds"
    assert d["Dimensions"] == [{"Name": "Environment", "Value": "lab"}]
    assert sum(d["Counts"]) == 3 and len(d["Values"]) == len(d["Counts"])
    assert all(30 <= v < 90 for v in d["Values"]), d["Values"]
    names = [m["MetricName"] for m in cw.client.list_metrics(Namespace="qfleet")["Metrics"]]
    assert sorted(names) == ["JobsDone", "UploadToProcessedSeconds"]


def test_a_pipeline_stage_s_latency_is_a_metric_of_its_own(aws, capsys):
    """A pipeline's stage (QFLEET_STAGE) publishes with the Stage dimension beside the
    Environment: CloudWatch keeps each combination of dimensions as a metric of its own, so
    status reads each stage's percentiles without another stage's mixed in."""
    cw = Recording(boto3.client("cloudwatch", region_name=REGION))
    at = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    put(aws, "uploads/a")
    send(aws, s3_event("uploads/a", at=at.strftime("%Y-%m-%dT%H:%M:%S.000Z")))
    worker(aws, cw=cw, env={"QFLEET_ENVIRONMENT": "lab", "QFLEET_STAGE": "thumbs"}).run(max_messages=1)
    assert outcomes(capsys) == ["processed"]
    d, done = cw.calls[0][1]["MetricData"]
    assert d["Dimensions"] == done["Dimensions"] == [{"Name": "Environment", "Value": "lab"},
                                                     {"Name": "Stage", "Value": "thumbs"}]
    for m in cw.client.list_metrics(Namespace="qfleet")["Metrics"]:
        assert sorted((x["Name"], x["Value"]) for x in m["Dimensions"]) == [
            ("Environment", "lab"), ("Stage", "thumbs")]


def test_no_latency_metric_without_an_environment_or_an_event_time(aws, capsys):
    cw = Recording(boto3.client("cloudwatch", region_name=REGION))
    put(aws, "uploads/a")
    send(aws, s3_event("uploads/a", at="2026-01-01T00:00:00.000Z"))
    worker(aws, cw=cw).run(max_messages=1)
    put(aws, "uploads/b")
    send(aws, s3_event("uploads/b"))
    worker(aws, cw=cw, env={"QFLEET_ENVIRONMENT": "lab"}).run(max_messages=1)
    assert outcomes(capsys) == ["processed"] * 2
    sent = [d["MetricName"] for _, kw in cw.calls for d in kw["MetricData"]]
    assert sent == ["JobsDone"], "the first names no environment; the second, no event time"


def test_failures_and_dead_letters_reach_cloudwatch_by_version(aws, capsys, monkeypatch):
    """The rollback alarms read qfleet/JobsFailed and JobsDeadLettered{Environment, Version}:
    the failure on the queue's last receive (maxReceiveCount, QFLEET_MAX_RECEIVE_COUNT) is the
    one SQS dead-letters (sqs-dead-letter-queues)."""
    cw = Recording(boto3.client("cloudwatch", region_name=REGION))
    put(aws, "uploads/bad.txt")
    send(aws, s3_event("uploads/bad.txt"))
    monkeypatch.setattr(qw, "process", lambda *a: 1 / 0)
    env = {"QFLEET_ENVIRONMENT": "lab", "QFLEET_VERSION": "0123456789ab",
           "QFLEET_MAX_RECEIVE_COUNT": "2"}
    w = worker(aws, cw=cw, env=env)
    w.run(once=True)
    time.sleep(0.01)
    w.run(once=True)
    assert outcomes(capsys) == ["failed", "failed"]
    sent = [(d["MetricName"], d["Value"], {x["Name"]: x["Value"] for x in d["Dimensions"]})
            for _, kw in cw.calls for d in kw["MetricData"]]
    lab, v = {"Environment": "lab"}, {"Environment": "lab", "Version": "0123456789ab"}
    assert sent == [("JobsFailed", 1.0, lab), ("JobsFailed", 1.0, v),
                    ("JobsFailed", 1.0, lab), ("JobsFailed", 1.0, v),
                    ("JobsDeadLettered", 1.0, v)], sent


def test_a_failed_metric_send_is_logged_and_the_job_still_counts(aws, capsys):
    class Broken:
        def put_metric_data(self, **kw):
            raise RuntimeError("throttled")
    put(aws, "uploads/a")
    send(aws, s3_event("uploads/a", at="2026-01-01T00:00:00.000Z"))
    worker(aws, cw=Broken(), env={"QFLEET_ENVIRONMENT": "lab"}).run(max_messages=1)
    out = capsys.readouterr()
    assert "outcome=processed" in out.out
    assert "put-metric-data" in out.err and keys(aws) == ["processed/a"]


def test_event_times_parse_as_s3_writes_them():
    now = datetime.datetime(2026, 11, 23, 9, 0, 10, 500000, tzinfo=datetime.timezone.utc)
    assert qw.seconds_since("2026-11-23T09:00:00.000Z", now) == 10.5
    assert qw.seconds_since("2026-11-23T09:00:20.000Z", now) == 0.0, "clock skew is not negative"
    assert qw.seconds_since(None, now) is None and qw.seconds_since("yesterday", now) is None


def test_a_stage_fed_by_messages_gets_one_per_object_written_and_reads_it_as_an_upload(aws, capsys):
    """A pipeline whose next stage is fed by messages (QFLEET_NEXT_QUEUE_URL): the first stage
    moves uploads/ to mid/ and sends one S3-event-shaped message per object to the next queue,
    at the time it wrote the object (as S3's event would be); the next stage's worker, reading
    mid/, moves it to processed/."""
    nxt = aws.sqs.create_queue(QueueName=QUEUE + "-next")["QueueUrl"]
    put(aws, "uploads/a b.txt")
    send(aws, s3_event("uploads/a b.txt", at="2026-11-23T09:00:00.000Z"))
    first = worker(aws, env={"QFLEET_PROCESSED_PREFIX": "mid/", "QFLEET_NEXT_QUEUE_URL": nxt})
    first.run(max_messages=1)
    assert keys(aws) == ["mid/a b.txt"]
    msgs = aws.sqs.receive_message(QueueUrl=nxt, MaxNumberOfMessages=10,
                                   VisibilityTimeout=0)["Messages"]
    assert len(msgs) == 1
    ((bucket, key, event, at),) = qw.parse_body(msgs[0]["Body"])
    assert (bucket, key, event) == (BUCKET, "mid/a b.txt", "ObjectCreated:Copy")
    # Written just now, not at the upload's time: the next stage's latency starts here.
    assert qw.seconds_since(at) < 60, at
    second = qw.Worker(qw.Config({
        "QFLEET_QUEUE_URL": nxt, "QFLEET_BUCKET": BUCKET, "AWS_REGION": REGION,
        "QFLEET_WAIT_SECONDS": "0", "QFLEET_UPLOAD_PREFIX": "mid/"}), sqs=aws.sqs, s3=aws.s3)
    second.run(max_messages=1)
    assert keys(aws) == ["processed/a b.txt"]
    assert counts(aws, nxt) == (0, 0)
    assert sorted(outcomes(capsys)) == ["processed", "processed"]


def test_a_fifo_stage_works_a_group_in_order_and_passes_its_group_on(aws):
    """A FIFO stage (queue.fifo) whose next stage is FIFO too: the jobs of one group are done in
    the order sent, and each goes on in the same group, once, in that order."""
    fifo = {"FifoQueue": "true"}
    src = aws.sqs.create_queue(QueueName=QUEUE + ".fifo", Attributes=fifo)["QueueUrl"]
    nxt = aws.sqs.create_queue(QueueName=QUEUE + "-next.fifo", Attributes=fifo)["QueueUrl"]
    for i in range(3):
        put(aws, f"uploads/{i}.txt")
        aws.sqs.send_message(QueueUrl=src, MessageBody=json.dumps(s3_event(f"uploads/{i}.txt")),
                             MessageGroupId="customer-7", MessageDeduplicationId=f"d-{i}")
    w = worker(aws, env={"QFLEET_QUEUE_URL": src, "QFLEET_PROCESSED_PREFIX": "mid/",
                         "QFLEET_NEXT_QUEUE_URL": nxt})
    w.run(max_messages=3)
    assert keys(aws) == ["mid/0.txt", "mid/1.txt", "mid/2.txt"]
    msgs = aws.sqs.receive_message(QueueUrl=nxt, MaxNumberOfMessages=10,
                                   AttributeNames=["MessageGroupId"])["Messages"]
    assert [qw.parse_body(m["Body"])[0][1] for m in msgs] == ["mid/0.txt", "mid/1.txt",
                                                                "mid/2.txt"]
    assert {m["Attributes"]["MessageGroupId"] for m in msgs} == {"customer-7"}


def test_a_standard_stage_passes_a_jobs_tenant_on_and_makes_none_up(aws):
    """Fair shares in a pipeline: a job sent with a message group (`qfleet submit --group`, a
    tenant of SQS's fair queues) reaches the next standard queue in the same group; a job
    without one reaches it without one (each message its own tenant), never in a made-up
    group."""
    src = aws.sqs.create_queue(QueueName=QUEUE + "-fair")["QueueUrl"]
    nxt = aws.sqs.create_queue(QueueName=QUEUE + "-fair-next")["QueueUrl"]
    put(aws, "uploads/t.txt")
    put(aws, "uploads/u.txt")
    aws.sqs.send_message(QueueUrl=src, MessageBody=json.dumps(s3_event("uploads/t.txt")),
                         MessageGroupId="customer-7")
    aws.sqs.send_message(QueueUrl=src, MessageBody=json.dumps(s3_event("uploads/u.txt")))
    w = worker(aws, env={"QFLEET_QUEUE_URL": src, "QFLEET_PROCESSED_PREFIX": "mid/",
                         "QFLEET_NEXT_QUEUE_URL": nxt})
    w.run(max_messages=2)
    msgs = aws.sqs.receive_message(QueueUrl=nxt, MaxNumberOfMessages=10,
                                   AttributeNames=["MessageGroupId"])["Messages"]
    groups = {qw.parse_body(m["Body"])[0][1]: (m.get("Attributes") or {}).get("MessageGroupId")
              for m in msgs}
    assert groups == {"mid/t.txt": "customer-7", "mid/u.txt": None}


def test_two_tenants_bursts_go_on_in_their_groups_under_queue_tenant(aws):
    """Fair shares (queue.tenant): two tenants' bursts, read from the key (folder 1 below the
    upload prefix) on an upload stage and from an attribute on a message stage, reach the next
    standard queue each in its tenant's group, so that SQS's fair queues can interleave them
    (moto keeps the group but does not reorder). An upload outside any folder, and a job
    without the attribute, go on without one: none is made up."""
    src = aws.sqs.create_queue(QueueName=QUEUE + "-tenants")["QueueUrl"]
    nxt = aws.sqs.create_queue(QueueName=QUEUE + "-tenants-next")["QueueUrl"]
    sent = [f"uploads/acme/{i}.txt" for i in range(6)] + ["uploads/beta/0.txt",
                                                          "uploads/beta/1.txt", "uploads/x.txt"]
    for k in sent:
        put(aws, k)
        aws.sqs.send_message(QueueUrl=src, MessageBody=json.dumps(s3_event(k)))
    w = worker(aws, env={"QFLEET_QUEUE_URL": src, "QFLEET_PROCESSED_PREFIX": "mid/",
                         "QFLEET_NEXT_QUEUE_URL": nxt, "QFLEET_TENANT": "key_segment:1"})
    w.run(max_messages=len(sent))
    groups = {}
    while True:
        msgs = aws.sqs.receive_message(QueueUrl=nxt, MaxNumberOfMessages=10,
                                       AttributeNames=["MessageGroupId"]).get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            groups[qw.parse_body(m["Body"])[0][1]] = (m.get("Attributes") or {}).get(
                "MessageGroupId")
            aws.sqs.delete_message(QueueUrl=nxt, ReceiptHandle=m["ReceiptHandle"])
    assert groups == {**{f"mid/acme/{i}.txt": "acme" for i in range(6)},
                      "mid/beta/0.txt": "beta", "mid/beta/1.txt": "beta", "mid/x.txt": None}
    # Jobs sent as messages: the tenant is the `customer` attribute's value.
    for i, customer in enumerate(["acme", "acme", "beta", None]):
        attrs = {"job_id": {"DataType": "String", "StringValue": f"j-{i}"}}
        if customer:
            attrs["customer"] = {"DataType": "String", "StringValue": customer}
        aws.sqs.send_message(QueueUrl=src, MessageBody=json.dumps({"n": i}),
                             MessageAttributes=attrs)
    w = worker(aws, env={"QFLEET_QUEUE_URL": src, "QFLEET_NEXT_QUEUE_URL": nxt,
                         "QFLEET_TENANT": "attribute:customer"})
    w.run(max_messages=4)
    msgs = aws.sqs.receive_message(QueueUrl=nxt, MaxNumberOfMessages=10,
                                   AttributeNames=["MessageGroupId"])["Messages"]
    assert sorted((m.get("Attributes") or {}).get("MessageGroupId") or "-" for m in msgs) == [
        "-", "acme", "acme", "beta"]


def test_a_tenant_is_read_as_queue_tenant_says_and_sqs_takes_it(aws):
    """job_tenant: the message's own group first; then the rule's attribute (the message's, or
    its SNS envelope's without raw delivery), the key's folder below the upload prefix, or a
    JSON field (a string or a number; in an envelope, its Message's). A tenant SQS would not
    take as a MessageGroupId goes as its SHA-256, one tenant still one group."""
    cfg = lambda rule: qw.SharedConfig({"QFLEET_TENANT": rule})  # noqa: E731
    attr = {"MessageAttributes": {"customer": {"DataType": "String", "StringValue": "acme"}}}
    assert qw.job_tenant(cfg("attribute:customer"), attr, "{}") == "acme"
    own = dict(attr, Attributes={"MessageGroupId": "given"})
    assert qw.job_tenant(cfg("attribute:customer"), own, "{}") == "given"
    envelope = json.dumps({"Type": "Notification", "Message": json.dumps({"c": {"id": 7}}),
                           "MessageAttributes": {"customer": {"Type": "String",
                                                              "Value": "beta"}}})
    assert qw.job_tenant(cfg("attribute:customer"), {}, envelope) == "beta"
    assert qw.job_tenant(cfg("json:c.id"), {}, envelope) == "7"
    assert qw.job_tenant(cfg("json:c.id"), {}, json.dumps({"c": {"id": "t-1"}})) == "t-1"
    for body in ['{"c": {"id": true}}', '{"c": {"id": ""}}', '{"c": 3}', "[1]", "not json",
                 '{"c": {"id": 1.5}}', '{"c": {"id": 1e3}}', '{"c": {"id": 18446744073709551616}}']:
        assert qw.job_tenant(cfg("json:c.id"), {}, body) is None, body
    assert qw.job_tenant(cfg("json:c.id"), {}, '{"c": {"id": -7}}') == "-7"
    assert qw.job_tenant(cfg("key_segment:2"), {}, "{}", "uploads/eu/acme/a.csv") == "acme"
    assert qw.job_tenant(cfg("key_segment:2"), {}, "{}", "uploads/eu/a.csv") is None
    assert qw.job_tenant(cfg("key_segment:1"), {}, "{}", "elsewhere/acme/a.csv") is None
    assert qw.job_tenant(cfg(""), attr, "{}") is None
    assert qw.job_tenant(cfg("bogus:x"), attr, "{}") is None
    long = "é" + "a" * 200
    assert qfleet_shared.tenant_group(long) == hashlib.sha256(long.encode()).hexdigest()
    assert qfleet_shared.tenant_group("customer-7") == "customer-7"
    with_space = {"MessageAttributes": {"customer": {"StringValue": "Acme Ltd"}}}
    assert qw.job_tenant(cfg("attribute:customer"), with_space, "{}") == hashlib.sha256(
        b"Acme Ltd").hexdigest()


def test_without_a_next_queue_nothing_is_sent(aws):
    nxt = aws.sqs.create_queue(QueueName=QUEUE + "-next")["QueueUrl"]
    put(aws, "uploads/1.txt")
    send(aws, s3_event("uploads/1.txt"))
    worker(aws).run(max_messages=1)
    assert keys(aws) == ["processed/1.txt"]
    assert counts(aws, nxt) == (0, 0)


CLUSTER = os.environ.get("QFLEET_TEST_CLUSTER", "qfleet-lab")


@pytest.fixture
def ecs_agent(monkeypatch):
    """The ECS agent's task scale-in protection endpoint on a Fargate task, as documented
    (Amazon ECS Developer Guide, "Task scale-in protection endpoint":
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection-endpoint.html):
    PUT $ECS_AGENT_URI/task-protection/v1/state with ProtectionEnabled and ExpiresInMinutes; the
    agent calls UpdateTaskProtection with the task role, recorded as that call."""
    state = SimpleNamespace(puts=[], fail=False)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_PUT(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            ok = self.path == "/v3/task-1/task-protection/v1/state" and not state.fail
            if ok:
                state.puts.append(body)
                record("ecs", "UpdateTaskProtection",
                       {"cluster": CLUSTER, "tasks": ["task-1"], **body})
            out = json.dumps({"protection": {"ProtectionEnabled": body["ProtectionEnabled"]}}
                             if ok else {"error": {"Code": "ServerException"}}).encode()
            self.send_response(200 if ok else 500)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setenv("ECS_AGENT_URI", f"http://127.0.0.1:{srv.server_port}/v3/task-1")
    yield state
    srv.shutdown()
    srv.server_close()


def test_a_fargate_task_protects_itself_while_it_works_and_not_when_idle(aws, capsys, ecs_agent):
    for i in range(2):
        put(aws, f"uploads/p{i}.txt")
        send(aws, s3_event(f"uploads/p{i}.txt"))
    w = worker(aws, env={"QFLEET_VISIBILITY_TIMEOUT": "300"})
    w.run(max_messages=2)
    # One protection for both jobs (6 minutes: the visibility timeout rounded up, plus one),
    # no call per message; cleared when the worker stops.
    assert ecs_agent.puts == [{"ProtectionEnabled": True, "ExpiresInMinutes": 6},
                              {"ProtectionEnabled": False}]
    assert outcomes(capsys) == ["processed", "processed"]
    # Idle: a receive that finds nothing leaves an unprotected task as it is.
    w.run(once=True)
    assert len(ecs_agent.puts) == 2


def test_when_the_ecs_agent_fails_the_job_still_runs(aws, capsys, ecs_agent):
    ecs_agent.fail = True
    put(aws, "uploads/q.txt")
    send(aws, s3_event("uploads/q.txt"))
    worker(aws).run(once=True)
    out = capsys.readouterr()
    assert "outcome=processed" in out.out
    assert "qfleet-worker task-protection" in out.err
    assert counts(aws) == (0, 0)


def test_an_instance_worker_never_calls_a_task_protection_endpoint(aws, capsys, monkeypatch):
    monkeypatch.delenv("ECS_AGENT_URI", raising=False)
    put(aws, "uploads/r.txt")
    send(aws, s3_event("uploads/r.txt"))
    w = worker(aws)
    assert w.protection.url is None
    w.run(once=True)
    assert outcomes(capsys) == ["processed"]


# S3 refuses a key over 1,024 bytes and more than 2 KB of user metadata ("Naming Amazon S3
# objects", "Working with object metadata", Amazon S3 User Guide): an output beyond either is
# refused by the worker, saying why, before any copy, and the upload stays where it was.
def test_an_output_s3_would_refuse_is_not_copied_and_says_why(aws):
    cfg = qw.Config({})  # uploads/ to processed/: an output key 2 bytes longer than its input's
    key = "uploads/" + "k" * (1024 - len("uploads/"))  # the longest key S3 takes
    put(aws, key)
    with pytest.raises(ValueError, match="over S3's 1024"):
        qw.process(aws.s3, BUCKET, key, cfg)
    assert keys(aws) == [key]
    # The upload's own metadata and the job's reference over 2 KB together.
    aws.s3.put_object(Bucket=BUCKET, Key="uploads/a.txt", Body=b"a", Metadata={"note": "n" * 1500})
    with pytest.raises(ValueError, match="over S3's 2048"):
        qw.process(aws.s3, BUCKET, "uploads/a.txt", cfg, meta={"qfleet-job-key": "k" * 600})
    assert "processed/a.txt" not in keys(aws)
    # Within both, the copy carries both.
    qw.process(aws.s3, BUCKET, "uploads/a.txt", cfg, meta={"qfleet-job-key": "k" * 100})
    got = aws.s3.head_object(Bucket=BUCKET, Key="processed/a.txt")["Metadata"]
    assert got == {"note": "n" * 1500, "qfleet-job-key": "k" * 100}
    assert qfleet_shared.metadata_bytes(got) <= qfleet_shared.METADATA_LIMIT


def test_the_worker_as_qfleet_ships_it_in_one_file_runs_as_the_worker_does(aws, capsys, tmp_path,
                                                                           monkeypatch):
    """The launch template carries the worker as one file, qfleet_shared.py's text in its
    import's place (conftest.inline_shared, as qfleet's render does): loaded from there, with no
    qfleet_shared module to import, it moves an upload and answers a job sent as a message."""
    import importlib.util
    import sys
    shipped_file = tmp_path / "qfleet_worker.py"
    with open(qw.__file__) as f:
        shipped_file.write_text(inline_shared(f.read()))
    monkeypatch.setitem(sys.modules, "qfleet_shared", None)  # importing it would fail
    spec = importlib.util.spec_from_file_location("qfleet_worker_shipped", shipped_file)
    shipped = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shipped)
    put(aws, "uploads/one.txt")
    send(aws, sns_wrap(s3_event("uploads/one.txt")))
    aws.sqs.send_message(QueueUrl=aws.q, MessageBody="not an S3 event",
                         MessageAttributes={"job_id": {"DataType": "String",
                                                       "StringValue": "job-1"}})
    env = {"QFLEET_QUEUE_URL": aws.q, "QFLEET_BUCKET": BUCKET, "AWS_REGION": REGION,
           "QFLEET_WAIT_SECONDS": "0", "QFLEET_RETRY_BACKOFF": "0"}
    shipped.Worker(shipped.Config(env), sqs=aws.sqs, s3=aws.s3).run(max_messages=2)
    assert outcomes(capsys) == ["processed", "processed"]
    assert keys(aws) == ["processed/jobs/job-1.json", "processed/one.txt"]
    assert counts(aws) == (0, 0)


# Priority lanes (queue.priority; docs/workers.md, "Priority lanes"): a second queue,
# NAME-priority, with the same settings and dead-letter queue.

class Lanes:
    """SQS as the worker calls it: each call recorded, and each receipt handle's queue (the one
    that returned it). A receive reaches moto as a short poll: moto has one server, where a
    short poll sees every message, and a test does not sit out each empty long poll."""

    def __init__(self, client):
        self.client, self.calls, self.of = client, [], {}

    def __getattr__(self, name):
        def call(**kw):
            self.calls.append((name, dict(kw)))
            if name == "receive_message":
                kw["WaitTimeSeconds"] = 0
            out = getattr(self.client, name)(**kw)
            for m in out.get("Messages", []) if name == "receive_message" else []:
                self.of[m["ReceiptHandle"]] = kw["QueueUrl"]
            return out
        return call

    def receives(self):
        return [(kw["QueueUrl"], kw["WaitTimeSeconds"]) for n, kw in self.calls
                if n == "receive_message"]

    def per_message(self):
        """(call, queue, the queue its receipt handle came from) of each per-message call."""
        return [(n, kw["QueueUrl"], self.of.get(kw["ReceiptHandle"])) for n, kw in self.calls
                if "ReceiptHandle" in kw]


def priority_lane(aws):
    arn = aws.sqs.get_queue_attributes(QueueUrl=aws.dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    return aws.sqs.create_queue(QueueName=PRIORITY, Attributes={
        "VisibilityTimeout": "30",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "2"}),
    })["QueueUrl"]


def submit(aws, url, job_id, group=None):
    aws.sqs.send_message(QueueUrl=url, MessageBody="job " + job_id, MessageAttributes={
        "job_id": {"DataType": "String", "StringValue": job_id}},
        **({"MessageGroupId": group} if group else {}))


def clear(aws, url):
    """The messages left in a queue deleted, unrecorded (PurgeQueue: once a minute)."""
    while msgs := aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for m in msgs:
            aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def taken(capsys):
    """(job id, lane) of each log line, in order."""
    lines = capsys.readouterr().out.splitlines()
    assert all(LINE.match(x) for x in lines), lines
    return [(re.search(r' job="([^"]*)"', x).group(1),
             "priority" if x.endswith(" lane=priority") else "ordinary") for x in lines]


def test_a_priority_job_sent_after_100_ordinary_ones_is_done_first(aws, capsys):
    """The issue's case: 100 ordinary jobs queued, then one urgent job on the priority lane
    (`qfleet submit --priority`): the worker's next job is the urgent one, then the ordinary
    lane drains."""
    p = priority_lane(aws)
    for i in range(0, 100, 10):
        aws.sqs.send_message_batch(QueueUrl=aws.q, Entries=[
            {"Id": str(j), "MessageBody": f"job o-{j}", "MessageAttributes": {
                "job_id": {"DataType": "String", "StringValue": f"o-{j}"}}}
            for j in range(i, i + 10)])
    submit(aws, p, "urgent")
    lanes = Lanes(aws.sqs)
    w = worker(aws, sqs=lanes, env={"QFLEET_PRIORITY_QUEUE_URL": p})
    w.run(max_messages=1)
    assert taken(capsys) == [("urgent", "priority")]
    assert lanes.receives() == [(p, 1)], "the priority lane first, a long poll of 1 s"
    assert counts(aws, p) == (0, 0) and counts(aws) == (100, 0)
    w.run(max_messages=100)
    got = taken(capsys)
    assert sorted(j for j, _ in got) == sorted(f"o-{j}" for j in range(100))
    assert {lane for _, lane in got} == {"ordinary"}, "no lane= on an ordinary job's line"
    assert counts(aws) == (0, 0)
    # Each cycle: the priority lane (empty) for 1 s, then the ordinary lane.
    assert lanes.receives()[1:3] == [(p, 1), (aws.q, 0)]


def test_with_a_weight_a_worker_takes_one_ordinary_job_after_that_many_priority_ones(aws,
                                                                                      capsys):
    """QFLEET_PRIORITY_WEIGHT=2: P, P, O, P, P, O while both lanes hold jobs; the turn of the
    ordinary lane is a poll of it first. Without a weight: every priority job first."""
    p = priority_lane(aws)
    for i in range(6):
        submit(aws, p, f"p-{i}")
    for i in range(4):
        submit(aws, aws.q, f"o-{i}")
    lanes = Lanes(aws.sqs)
    w = worker(aws, sqs=lanes, env={"QFLEET_PRIORITY_QUEUE_URL": p,
                                    "QFLEET_PRIORITY_WEIGHT": "2"})
    w.run(max_messages=6)
    assert [lane[0] for _, lane in taken(capsys)] == list("pp" "o" "pp" "o")
    assert lanes.receives() == [(p, 1), (p, 1), (aws.q, 1), (p, 1), (p, 1), (aws.q, 1)]
    w = worker(aws, sqs=Lanes(aws.sqs), env={"QFLEET_PRIORITY_QUEUE_URL": p})
    w.run(max_messages=4)
    assert [lane[0] for _, lane in taken(capsys)] == list("pp" "oo")


def test_the_weights_count_restarts_when_the_priority_lane_is_empty(aws, capsys):
    p = priority_lane(aws)
    lanes = Lanes(aws.sqs)
    w = worker(aws, sqs=lanes, env={"QFLEET_PRIORITY_QUEUE_URL": p,
                                    "QFLEET_PRIORITY_WEIGHT": "2"})
    for i in range(2):
        submit(aws, p, f"p-{i}")
    w.run(max_messages=2)
    assert w.in_row == 2
    w.run(once=True)  # the ordinary lane's turn: empty, then the priority lane, empty too
    assert lanes.receives()[2:] == [(aws.q, 1), (p, 0)] and w.in_row == 0
    submit(aws, p, "p-2")
    submit(aws, aws.q, "o-0")
    w.run(max_messages=1)
    assert taken(capsys) == [("p-0", "priority"), ("p-1", "priority"), ("p-2", "priority")]


def test_without_a_priority_lane_each_cycle_is_one_receive_as_before(aws, capsys):
    """No QFLEET_PRIORITY_QUEUE_URL: exactly one ReceiveMessage per cycle, on the queue, with
    QFLEET_WAIT_SECONDS; with a lane, an idle cycle is 1 s on it, then at most 5 s on the
    ordinary one."""
    for i in range(2):
        submit(aws, aws.q, f"o-{i}")
    lanes = Lanes(aws.sqs)
    w = worker(aws, sqs=lanes, env={"QFLEET_WAIT_SECONDS": "20"})
    w.run(max_messages=2)
    w.run(once=True)
    assert [x[1] for x in taken(capsys)] == ["ordinary", "ordinary"]
    assert [kw for n, kw in lanes.calls if n == "receive_message"] == [dict(
        QueueUrl=aws.q, MaxNumberOfMessages=1, WaitTimeSeconds=20,
        MessageAttributeNames=["All"], VisibilityTimeout=30,
        AttributeNames=["ApproximateReceiveCount", "SentTimestamp", "MessageGroupId"])] * 3
    p = priority_lane(aws)
    for wait, second in (("20", 5), ("3", 3)):
        lanes = Lanes(aws.sqs)
        worker(aws, sqs=lanes, env={"QFLEET_WAIT_SECONDS": wait,
                                    "QFLEET_PRIORITY_QUEUE_URL": p}).run(once=True)
        assert lanes.receives() == [(p, 1), (aws.q, second)]


def test_a_stop_between_the_two_polls_starts_no_second(aws, capsys):
    p = priority_lane(aws)
    lanes = Lanes(aws.sqs)
    w = worker(aws, sqs=lanes, env={"QFLEET_PRIORITY_QUEUE_URL": p})
    aws.sqs.meta.events.register("after-call.sqs.ReceiveMessage", lambda **kw: w.stop.set())
    assert w.run() == 0
    assert lanes.receives() == [(p, 1)]


def test_a_lane_that_cannot_be_read_keeps_no_worker_from_the_job_queue(aws, capsys):
    """A priority lane gone (a deploy took queue.priority out and deleted it before the fleet
    was updated) or refused: each cycle logs it and polls the job queue all the same."""
    gone = aws.q.rsplit("/", 1)[0] + "/qfleet-gone-priority"
    w = worker(aws, env={"QFLEET_PRIORITY_QUEUE_URL": gone})
    submit(aws, aws.q, "ordinary")
    assert w.run(max_messages=1) == 0
    out, errors = capsys.readouterr()
    assert 'job="ordinary"' in out and "outcome=processed" in out, out
    assert "qfleet-gone-priority" in errors, errors


def test_every_call_on_a_message_goes_to_the_queue_it_came_from(aws, capsys):
    """The heartbeat's extensions, the delete, a failure's retry wait, a release on stop, a
    message released unstarted and an attempt past workers.job_timeout: each on the lane its
    message came from. A failed priority job comes back on the priority lane, and after its
    last receive goes to the one dead-letter queue."""
    p = priority_lane(aws)
    lanes = Lanes(aws.sqs)
    gate = threading.Event()

    def job(s3, bucket, j, cfg):
        if j["id"] == "slow":
            time.sleep(1.3)  # beyond half the 2 s visibility: a heartbeat
        if j["id"] == "bad":
            raise RuntimeError("boom")
        if j["id"] == "stuck":
            gate.wait(10)
        return "processed/" + j["id"]
    env = {"QFLEET_PRIORITY_QUEUE_URL": p, "QFLEET_VISIBILITY_TIMEOUT": "2"}
    w = worker(aws, sqs=lanes, message_job=job, env=env)
    submit(aws, p, "slow")
    submit(aws, aws.q, "slow")
    w.run(max_messages=2)
    submit(aws, p, "bad")
    w.run(once=True)  # failed: back at once (no backoff), on its own lane
    assert counts(aws, p) == (1, 0) and counts(aws) == (0, 0)
    submit(aws, aws.q, "bad")
    w.run(max_messages=3)  # the priority job's last receive, then the ordinary job's two
    w.run(once=True)  # SQS moves it to the dead-letter queue on the next receive
    assert counts(aws, p) == counts(aws) == (0, 0) and counts(aws, aws.dlq) == (2, 0)
    assert taken(capsys) == [("slow", "priority"), ("slow", "ordinary")] + [
        ("bad", "priority")] * 2 + [("bad", "ordinary")] * 2
    for url in (p, aws.q):
        submit(aws, url, "stuck")  # released as the worker stops
        w = worker(aws, sqs=lanes, message_job=job, env=dict(env, QFLEET_STOP_GRACE="0.2"))
        threading.Timer(0.3, w.stop.set).start()
        w.run()
        clear(aws, url)
        submit(aws, url, "late")  # received as the worker stops: never started
        w.stop.set()
        w.not_started(w.poll(url, 0)[0])
        clear(aws, url)
        submit(aws, url, "stuck")  # past workers.job_timeout
        w = worker(aws, sqs=lanes, message_job=job, env=dict(env, QFLEET_JOB_TIMEOUT="0.3"))
        assert w.run() == 3
        clear(aws, url)
    gate.set()
    assert [lane for _, lane in taken(capsys)] == ["priority"] * 2 + ["ordinary"] * 2
    calls = lanes.per_message()
    assert len(calls) >= 14, calls  # 2 deletes, 2 beats, 4 retry waits, 6 releases
    assert [c for c in calls if c[1] != c[2]] == [], "a call on another lane than its own"
    made = {(n, "priority" if q == p else "ordinary") for n, q, _ in calls}
    assert made == {(n, lane) for n in ("change_message_visibility", "delete_message")
                    for lane in ("priority", "ordinary")}
    beats = [kw["QueueUrl"] for n, kw in lanes.calls
             if n == "change_message_visibility" and kw["VisibilityTimeout"] == 2]
    assert sorted(beats) == sorted([p, aws.q]), "the heartbeat's, on each lane"


def test_a_priority_job_goes_on_to_the_next_stages_priority_lane(aws, capsys):
    """A pipeline whose next stage has a priority lane (QFLEET_NEXT_PRIORITY_QUEUE_URL): a job
    from this stage's priority lane goes on there, in its group; an ordinary job to the next
    stage's queue. A next stage without a priority lane gets both in its queue."""
    p = priority_lane(aws)
    nxt = aws.sqs.create_queue(QueueName=QUEUE + "-next")["QueueUrl"]
    nxt_p = aws.sqs.create_queue(QueueName=QUEUE + "-next-priority")["QueueUrl"]
    for k in ("uploads/p.txt", "uploads/o.txt"):
        put(aws, k)
    aws.sqs.send_message(QueueUrl=p, MessageBody=json.dumps(s3_event("uploads/p.txt")),
                         MessageGroupId="acme")
    submit(aws, p, "pm")
    aws.sqs.send_message(QueueUrl=aws.q, MessageBody=json.dumps(s3_event("uploads/o.txt")))
    submit(aws, aws.q, "om")
    env = {"QFLEET_PRIORITY_QUEUE_URL": p, "QFLEET_PROCESSED_PREFIX": "mid/",
           "QFLEET_NEXT_QUEUE_URL": nxt, "QFLEET_NEXT_PRIORITY_QUEUE_URL": nxt_p}
    worker(aws, env=env).run(max_messages=4)

    def sent(url):
        msgs = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       AttributeNames=["MessageGroupId"]).get("Messages", [])
        for m in msgs:
            aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return sorted((qw.parse_body(m["Body"])[0][1],
                       (m.get("Attributes") or {}).get("MessageGroupId")) for m in msgs)
    assert sent(nxt_p) == [("mid/jobs/pm.json", None), ("mid/p.txt", "acme")]
    assert sent(nxt) == [("mid/jobs/om.json", None), ("mid/o.txt", None)]
    submit(aws, p, "pm2")
    worker(aws, env=dict(env, QFLEET_NEXT_PRIORITY_QUEUE_URL="")).run(max_messages=1)
    assert sent(nxt) == [("mid/jobs/pm2.json", None)] and sent(nxt_p) == []
    assert [lane for _, lane in taken(capsys)] == ["priority"] * 2 + ["ordinary"] * 2 + [
        "priority"]


def test_the_lane_a_worker_received_from_is_never_sent_on():
    cfg = qw.Config({"QFLEET_PRIORITY_QUEUE_URL": "https://sqs/q-priority",
                     "QFLEET_NEXT_QUEUE_URL": "https://sqs/n"})
    m = {"MessageId": "m-1", "Body": "{}", qw.FROM: "https://sqs/q-priority"}
    assert cfg.lane(m) == "priority" and cfg.lane({qw.FROM: "https://sqs/q"}) is None
    assert cfg.lane({}) is None and qw.Config({}).lane(m) is None
    assert cfg.next_url(m) == "https://sqs/n"
    args = qw.next_stage_send(cfg.next_url(m), "{}", m, "mid/a")
    assert qw.FROM not in json.dumps(args)
