"""Tests for qfleet_handler.py against moto's in-process AWS mock (no network).

Events are built as Lambda delivers them from an SQS event source mapping (AWS Lambda
Developer Guide, "Using Lambda with Amazon SQS": Records[].messageId, receiptHandle, body,
attributes, eventSource "aws:sqs", eventSourceARN).
"""
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import qfleet_handler as qh
from conftest import inline_shared

REGION = "eu-west-1"
ACCOUNT = "123456789012"
# The names are the environment's when the IAM test runs these tests under the function's policy.
BUCKET = os.environ.get("QFLEET_TEST_BUCKET", "qfleet-test-bucket")
TABLE = os.environ.get("QFLEET_TEST_TABLE", "qfleet-t-job-table")
RESPONSES = os.environ.get("QFLEET_TEST_RESPONSES", "qfleet-t-responses")
LEASES = os.environ.get("QFLEET_TEST_LEASE_TABLE", "qfleet-t-job-leases")
QUEUE = os.environ.get("QFLEET_TEST_QUEUE", "qfleet")
PRIORITY = os.environ.get("QFLEET_TEST_PRIORITY_QUEUE", QUEUE + "-priority")  # queue.priority
LINE = re.compile(r"^msg=(\S+)(?: job=\"(?:[^\"\\]|\\.)*\")* outcome=(processed|skipped-test-event|skipped-confirmation|ignored|cancelled|failed)"
                  r" keys=(\d+) receive_count=(\d+) seconds=\d+\.\d\d( .*)?$")


@pytest.fixture
def aws(monkeypatch):
    for k in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN",
              "QFLEET_UPLOAD_PREFIX", "QFLEET_PROCESSED_PREFIX"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)  # set by the Lambda runtime
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("QFLEET_BUCKET", BUCKET)
    monkeypatch.setattr(qh, "_s3", None)  # the handler creates its own clients inside the mock
    monkeypatch.setattr(qh, "_sqs", None)
    for k in ("QFLEET_NEXT_QUEUE_URL", "QFLEET_PRIORITY_QUEUE_URL",
              "QFLEET_NEXT_PRIORITY_QUEUE_URL"):
        monkeypatch.delenv(k, raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield SimpleNamespace(s3=s3)


class Context:
    """The parts of Lambda's context object a handler may use."""
    function_name = "qfleet-handler"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def get_remaining_time_in_millis(self):
        return 30000


def sqs_record(body, receive_count=1, message_id=None):
    body = body if isinstance(body, str) else json.dumps(body)
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a" + uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}",
        "awsRegion": REGION,
    }


def sqs_event(*records):
    return {"Records": list(records)}


def s3_event(key, bucket=BUCKET, encode=True, event="ObjectCreated:Put"):
    k = urllib.parse.quote_plus(key, safe="/") if encode else key
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
                         "eventTime": "2024-01-01T00:00:00.000Z", "eventName": event,
                         "s3": {"s3SchemaVersion": "1.0", "configurationId": "qfleet",
                                "bucket": {"name": bucket,
                                           "arn": f"arn:aws:s3:::{bucket}"},
                                "object": {"key": k, "size": 5}}}]}


def sns_wrap(event):
    return {"Type": "Notification", "MessageId": "m-1",
            "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:qfleet",
            "Subject": "Amazon S3 Notification", "Message": json.dumps(event)}


TEST_EVENT = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET,
              "Time": "2024-01-01T00:00:00.000Z", "RequestId": "r", "HostId": "h"}


def put(aws, key, data=b"hello"):
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=data)


def keys(aws):
    return sorted(o["Key"] for o in aws.s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def run(*records):
    return qh.handler(sqs_event(*records), Context())


def lines(capsys):
    out = capsys.readouterr().out.splitlines()
    assert all(LINE.match(x) for x in out), out
    return [LINE.match(x) for x in out]


def outcomes(capsys):
    return [m.group(2) for m in lines(capsys)]


def no_failures():
    return {"batchItemFailures": []}


@pytest.fixture
def job_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(qh, "process", lambda *a: calls.append(a[1:3]))
    return calls


class DeniedSource:
    """S3 as the function's role sees it without s3:ListBucket: HeadObject of a missing object is
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


class FailingCopy(DeniedSource):
    """The copy fails for a reason other than a missing source."""

    def copy(self, *a, **kw):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce"}},
                          "CopyObject")


# --- what a message means -------------------------------------------------------------------

def test_raw_s3_event_moves_object(aws, capsys):
    put(aws, "uploads/a/b.txt")
    assert run(sqs_record(s3_event("uploads/a/b.txt"))) == no_failures()
    assert keys(aws) == ["processed/a/b.txt"]
    assert aws.s3.get_object(Bucket=BUCKET, Key="processed/a/b.txt")["Body"].read() == b"hello"
    assert outcomes(capsys) == ["processed"]


def test_sns_wrapped_event_moves_object(aws, capsys):
    put(aws, "uploads/x.bin")
    assert run(sqs_record(sns_wrap(s3_event("uploads/x.bin")))) == no_failures()
    assert keys(aws) == ["processed/x.bin"]
    assert outcomes(capsys) == ["processed"]


@pytest.mark.parametrize("wrap", [False, True], ids=["raw", "sns"])
def test_s3_test_event_is_skipped_without_work(aws, capsys, job_calls, wrap):
    put(aws, "uploads/keep.txt")
    assert run(sqs_record(sns_wrap(TEST_EVENT) if wrap else TEST_EVENT)) == no_failures()
    assert job_calls == []
    assert keys(aws) == ["uploads/keep.txt"]
    assert outcomes(capsys) == ["skipped-test-event"]


def test_url_encoded_key_is_decoded(aws, capsys):
    put(aws, "uploads/my file(1).txt")
    assert run(sqs_record(s3_event("uploads/my+file%281%29.txt", encode=False))) == no_failures()
    assert keys(aws) == ["processed/my file(1).txt"]
    assert outcomes(capsys) == ["processed"]


@pytest.mark.parametrize("bucket,key,event", [
    ("someone-elses-bucket", "uploads/y.txt", "ObjectCreated:Put"),
    (BUCKET, "other/x.txt", "ObjectCreated:Put"),
    (BUCKET, "uploads/z.txt", "ObjectRemoved:Delete"),
], ids=["other-bucket", "outside-prefix", "not-object-created"])
def test_records_not_for_this_function_are_ignored(aws, capsys, job_calls, bucket, key, event):
    assert run(sqs_record(s3_event(key, bucket=bucket, event=event))) == no_failures()
    assert job_calls == []
    out = capsys.readouterr().out
    assert "outcome=ignored keys=0" in out and " ignored=1" in out


def test_a_message_mixing_ignored_and_wanted_records_processes_the_wanted_one(aws, capsys):
    put(aws, "uploads/w.txt")
    put(aws, "other/x.txt")
    ev = s3_event("other/x.txt")
    ev["Records"] += s3_event("uploads/w.txt")["Records"]
    assert run(sqs_record(ev)) == no_failures()
    assert keys(aws) == ["other/x.txt", "processed/w.txt"]
    out = capsys.readouterr().out
    assert "outcome=processed keys=1" in out and " ignored=1" in out


def test_prefixes_come_from_the_environment(aws, capsys, monkeypatch):
    monkeypatch.setenv("QFLEET_UPLOAD_PREFIX", "uploads/inbox/")
    monkeypatch.setenv("QFLEET_PROCESSED_PREFIX", "processed/done/")
    put(aws, "uploads/inbox/a.txt")
    put(aws, "uploads/b.txt")
    assert run(sqs_record(s3_event("uploads/inbox/a.txt")),
               sqs_record(s3_event("uploads/b.txt"))) == no_failures()
    assert keys(aws) == ["processed/done/a.txt", "uploads/b.txt"]
    assert outcomes(capsys) == ["processed", "ignored"]


# --- the default job ------------------------------------------------------------------------

def test_move_is_a_copy_then_a_delete_of_the_source(aws, capsys):
    put(aws, "uploads/m.txt", b"payload")
    calls = []
    qh.s3_client().meta.events.register(
        "before-call.s3", lambda model, params, **kw: calls.append(
            (model.name, params.get("Key") or params.get("url_path"))))
    assert run(sqs_record(s3_event("uploads/m.txt"))) == no_failures()
    # HeadObject of the source: by the job (its metadata), then by the managed copy (its size).
    assert [c for c, _ in calls] == ["HeadObject", "HeadObject", "CopyObject", "DeleteObject"]
    assert keys(aws) == ["processed/m.txt"]
    assert aws.s3.get_object(Bucket=BUCKET, Key="processed/m.txt")["Body"].read() == b"payload"


def test_redelivery_after_a_move_succeeds_on_404(aws, capsys):
    put(aws, "uploads/r.txt")
    msg = sqs_record(s3_event("uploads/r.txt"))
    assert run(msg) == no_failures()
    # The same message again (Lambda's delete was lost): the source is gone, S3 says 404.
    with pytest.raises(ClientError) as e:
        aws.s3.head_object(Bucket=BUCKET, Key="uploads/r.txt")
    assert e.value.response["Error"]["Code"] == "404"
    msg["attributes"]["ApproximateReceiveCount"] = "2"
    assert run(msg) == no_failures()
    assert keys(aws) == ["processed/r.txt"]
    assert outcomes(capsys) == ["processed", "processed"]


def test_redelivery_after_a_move_succeeds_on_403(aws, capsys, monkeypatch):
    monkeypatch.setattr(qh, "_s3", DeniedSource(aws.s3))
    put(aws, "uploads/r.txt")
    msg = sqs_record(s3_event("uploads/r.txt"))
    assert run(msg) == no_failures()
    assert keys(aws) == ["processed/r.txt"]
    # The same message again: the source is gone, S3 says 403 (no s3:ListBucket).
    assert run(msg) == no_failures()
    assert keys(aws) == ["processed/r.txt"]
    assert outcomes(capsys) == ["processed", "processed"]


@pytest.mark.parametrize("denied,code", [(False, "404"), (True, "403")], ids=["404", "403"])
def test_a_source_missing_and_never_moved_is_a_failure_with_the_original_error(
        aws, capsys, monkeypatch, denied, code):
    if denied:
        monkeypatch.setattr(qh, "_s3", DeniedSource(aws.s3))
    msg = sqs_record(s3_event("uploads/never.txt"))
    assert run(msg) == {"batchItemFailures": [{"itemIdentifier": msg["messageId"]}]}
    out = capsys.readouterr().out
    assert "outcome=failed" in out and code in out, out


def test_other_copy_errors_are_not_taken_for_a_missing_source(aws, capsys, monkeypatch):
    put(aws, "uploads/s.txt")
    put(aws, "processed/s.txt")  # the destination exists, but the copy failed for another reason
    monkeypatch.setattr(qh, "_s3", FailingCopy(aws.s3))
    msg = sqs_record(s3_event("uploads/s.txt"))
    assert run(msg) == {"batchItemFailures": [{"itemIdentifier": msg["messageId"]}]}
    assert "SlowDown" in capsys.readouterr().out


BIG = 9 * 1024 * 1024  # above the managed copy's multipart threshold (8 MiB)


def s3_calls():
    """The S3 operations the handler's client sends, in order (the managed copy's threads too)."""
    ops = []
    qh.s3_client().meta.events.register("before-call.s3",
                                        lambda model, **kw: ops.append(model.name))
    return ops


# Amazon S3 API Reference, CopyObject: "You create a copy of your object up to 5 GB in size in a
# single atomic action using this API. However, to copy an object greater than 5 GB, you must use
# the multipart upload Upload Part - Copy (UploadPartCopy) API."
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html; S3 User Guide, "Copying
# an object using multipart upload": https://docs.aws.amazon.com/AmazonS3/latest/userguide/CopyingObjctsMPUapi.html)
# boto3's managed copy goes multipart above its threshold (8 MiB, far below 5 GB), so an object
# of 9 MiB takes the path one of 6 GB takes.
def test_copyobject_stops_at_5_gb_so_a_large_upload_is_copied_in_parts(aws, capsys):
    data = os.urandom(BIG)
    aws.s3.put_object(Bucket=BUCKET, Key="uploads/big.bin", Body=data,
                      ContentType="video/mp4", Metadata={"owner": "team-a"})
    ops = s3_calls()
    assert run(sqs_record(s3_event("uploads/big.bin"))) == no_failures()
    assert "CopyObject" not in ops, ops
    assert ops.count("UploadPartCopy") == 2, ops
    assert ops.index("CreateMultipartUpload") < ops.index("CompleteMultipartUpload"), ops
    assert keys(aws) == ["processed/big.bin"]
    got = aws.s3.get_object(Bucket=BUCKET, Key="processed/big.bin")
    assert got["Body"].read() == data
    # CopyObject keeps the source's metadata; a multipart copy must set it again itself.
    assert (got["ContentType"], got["Metadata"]) == ("video/mp4", {"owner": "team-a"})


# S3 User Guide, "Uploading and copying objects using multipart upload": the parts of an upload
# that is neither completed nor aborted are stored and billed
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html); aborting needs
# s3:AbortMultipartUpload ("Multipart upload API and permissions", same page).
def test_a_failed_multipart_copy_is_aborted_so_no_parts_stay_billed(aws, capsys):
    aws.s3.put_object(Bucket=BUCKET, Key="uploads/big.bin", Body=os.urandom(BIG))
    ops = s3_calls()
    qh.s3_client().meta.events.register("before-call.s3.UploadPartCopy", lambda **kw: (
        SimpleNamespace(status_code=500, headers={}),
        {"Error": {"Code": "InternalError", "Message": "We encountered an internal error."},
         "ResponseMetadata": {"HTTPStatusCode": 500}}))
    msg = sqs_record(s3_event("uploads/big.bin"))
    assert run(msg) == {"batchItemFailures": [{"itemIdentifier": msg["messageId"]}]}
    assert "InternalError" in capsys.readouterr().out
    assert "AbortMultipartUpload" in ops, ops
    assert aws.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert keys(aws) == ["uploads/big.bin"], "the upload stays for the retry"


# --- partial batch failures -----------------------------------------------------------------

def test_one_bad_message_in_a_batch_of_three_is_reported_alone(aws, capsys):
    put(aws, "uploads/1.txt")
    put(aws, "uploads/3.txt")
    good1 = sqs_record(s3_event("uploads/1.txt"))
    bad = sqs_record(s3_event("uploads/2-missing.txt"))  # its job fails: no such object
    good2 = sqs_record(s3_event("uploads/3.txt"))
    assert run(good1, bad, good2) == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    assert keys(aws) == ["processed/1.txt", "processed/3.txt"]
    assert outcomes(capsys) == ["processed", "failed", "processed"]


def fifo(record, group="customer-7"):
    """The record as it comes from a FIFO queue: its ARN ends in .fifo, and it has its group."""
    record["eventSourceARN"] += ".fifo"
    record["attributes"]["MessageGroupId"] = group
    return record


def test_from_a_fifo_queue_a_failure_holds_back_the_rest_of_its_group(aws, capsys):
    """"your function should stop processing messages after the first failure and return all
    failed and unprocessed messages in batchItemFailures" (services-sqs-errorhandling), per
    message group: the later message of the failed one's group is not worked on, so the group
    keeps its order; another group's is, rather than received again for nothing."""
    put(aws, "uploads/1.txt")
    put(aws, "uploads/3.txt")
    put(aws, "uploads/4.txt")
    good1 = fifo(sqs_record(s3_event("uploads/1.txt")))
    bad = fifo(sqs_record(s3_event("uploads/2-missing.txt")))
    after = fifo(sqs_record(s3_event("uploads/3.txt")))
    other = fifo(sqs_record(s3_event("uploads/4.txt")), group="customer-9")
    assert run(good1, bad, after, other) == {"batchItemFailures": [
        {"itemIdentifier": bad["messageId"]}, {"itemIdentifier": after["messageId"]}]}
    assert keys(aws) == ["processed/1.txt", "processed/4.txt", "uploads/3.txt"], \
        "the third waits for its turn; the other group's goes on"
    assert outcomes(capsys) == ["processed", "failed", "failed", "processed"]


def test_failures_and_dead_letters_are_counted_for_the_version_that_failed(aws, capsys,
                                                                          monkeypatch):
    """The rollback alarms read qfleet/JobsFailed and JobsDeadLettered{Environment, Stage,
    Version}: the held-back message is not a failure of its own, but on its last receive it
    goes to the dead-letter queue all the same (sqs-dead-letter-queues)."""
    for k, v in (("QFLEET_ENVIRONMENT", "lab"), ("QFLEET_STAGE", "split"),
                 ("QFLEET_VERSION", "0123456789ab"), ("QFLEET_MAX_RECEIVE_COUNT", "3")):
        monkeypatch.setenv(k, v)
    put(aws, "uploads/1.txt")
    good = fifo(sqs_record(s3_event("uploads/1.txt")))
    bad = fifo(sqs_record(s3_event("uploads/2-missing.txt"), receive_count=2))
    held = fifo(sqs_record(s3_event("uploads/3.txt"), receive_count=3))
    run(good, bad, held)
    emf = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    plain = [e for e in emf if "JobsDone" in e]
    versioned = [e for e in emf if "Version" in e]
    assert [(e["JobsDone"], e["JobsFailed"], e["Stage"]) for e in plain] == [(1, 1, "split")]
    (v,) = versioned
    assert (v["Version"], v["JobsFailed"], v["JobsDeadLettered"]) == ("0123456789ab", 1, 1)
    (directive,) = v["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["Environment", "Stage", "Version"]]
    assert {m["Name"] for m in directive["Metrics"]} == {"JobsFailed", "JobsDeadLettered"}


def test_to_a_fifo_next_stage_a_message_keeps_its_group_and_is_sent_once(aws, monkeypatch):
    """A next stage with a FIFO queue: the message takes the group of the one worked on, and a
    deduplication id from it and the object written, so a retry adds no second copy."""
    sqs = boto3.client("sqs", region_name=REGION)
    nxt = sqs.create_queue(QueueName=QUEUE + "-next.fifo",
                           Attributes={"FifoQueue": "true"})["QueueUrl"]
    monkeypatch.setenv("QFLEET_PROCESSED_PREFIX", "mid/")
    monkeypatch.setenv("QFLEET_NEXT_QUEUE_URL", nxt)
    record = fifo(sqs_record(s3_event("uploads/a.txt")), group="customer-9")
    for _ in range(2):  # the second: a retry that finds the object moved, and sends again
        put(aws, "uploads/a.txt")
        assert run(record) == {"batchItemFailures": []}
    msgs = sqs.receive_message(QueueUrl=nxt, MaxNumberOfMessages=10,
                               AttributeNames=["MessageGroupId"])["Messages"]
    assert len(msgs) == 1, msgs
    assert msgs[0]["Attributes"]["MessageGroupId"] == "customer-9"
    args = qh.next_stage_send(nxt, "{}", {"messageId": "m-1"}, "mid/a.txt")
    assert args["MessageGroupId"] == "m-1", "a message without a group is a group of its own"
    plain = qh.next_stage_send("https://sqs/q", "{}", record, "mid/a.txt")
    assert plain == {"QueueUrl": "https://sqs/q", "MessageBody": "{}",
                     "MessageGroupId": "customer-9"}, "a standard queue: the tenant alone"
    plain = qh.next_stage_send("https://sqs/q", "{}", {"messageId": "m-1"}, "mid/a.txt")
    assert set(plain) == {"QueueUrl", "MessageBody"}, "no group: none made up"


def test_a_standard_stage_passes_a_tenant_on_when_its_record_carries_it(aws, monkeypatch):
    """Fair shares down a pipeline on Lambda: a record from a standard queue whose attributes
    carry its group (a tenant) goes on to the next standard queue in that group; one without
    goes on without. AWS's examples show the group on FIFO records only, so the docs do not
    count on it; when it is there, it is kept."""
    sqs = boto3.client("sqs", region_name=REGION)
    nxt = sqs.create_queue(QueueName=QUEUE + "-fair-next")["QueueUrl"]
    monkeypatch.setenv("QFLEET_PROCESSED_PREFIX", "mid/")
    monkeypatch.setenv("QFLEET_NEXT_QUEUE_URL", nxt)
    put(aws, "uploads/t.txt")
    put(aws, "uploads/u.txt")
    tenant = sqs_record(s3_event("uploads/t.txt"))
    tenant["attributes"]["MessageGroupId"] = "customer-3"
    assert run(tenant, sqs_record(s3_event("uploads/u.txt"))) == {"batchItemFailures": []}
    msgs = sqs.receive_message(QueueUrl=nxt, MaxNumberOfMessages=10,
                               AttributeNames=["MessageGroupId"])["Messages"]
    groups = sorted((m.get("Attributes") or {}).get("MessageGroupId") or "-" for m in msgs)
    assert groups == ["-", "customer-3"], msgs


def test_a_function_sends_each_job_on_in_the_tenant_queue_tenant_reads(aws, monkeypatch):
    """queue.tenant on Lambda: an upload's tenant from its key's folder, a message job's from
    its JSON body; each goes on in that group. The record's own group, when it has one, comes
    first; a job the rule finds nothing in goes on without."""
    sqs = boto3.client("sqs", region_name=REGION)
    nxt = sqs.create_queue(QueueName=QUEUE + "-tenant-next")["QueueUrl"]
    monkeypatch.setenv("QFLEET_PROCESSED_PREFIX", "mid/")
    monkeypatch.setenv("QFLEET_NEXT_QUEUE_URL", nxt)
    monkeypatch.setenv("QFLEET_TENANT", "key_segment:1")
    for k in ("uploads/acme/a.txt", "uploads/beta/b.txt", "uploads/c.txt"):
        put(aws, k)
    given = sqs_record(s3_event("uploads/beta/b.txt"))
    given["attributes"]["MessageGroupId"] = "given"
    assert run(sqs_record(s3_event("uploads/acme/a.txt")), given,
               sqs_record(s3_event("uploads/c.txt"))) == {"batchItemFailures": []}
    monkeypatch.setenv("QFLEET_TENANT", "json:customer")
    assert run(sqs_record(json.dumps({"customer": "delta"})),
               sqs_record(json.dumps({"other": 1}))) == {"batchItemFailures": []}
    msgs = sqs.receive_message(QueueUrl=nxt, MaxNumberOfMessages=10,
                               AttributeNames=["MessageGroupId"])["Messages"]
    groups = sorted((m.get("Attributes") or {}).get("MessageGroupId") or "-" for m in msgs)
    assert groups == ["-", "-", "acme", "delta", "given"], msgs


@pytest.mark.parametrize("body", [
    "not json at all",
    json.dumps({"Type": "Notification", "Message": "not json either"}),
    json.dumps(["a", "list"]),
    json.dumps({"hello": "world"}),
    json.dumps({"Records": [dict(s3_event("uploads/ok.txt")["Records"][0],
                                 eventSource="aws:sqs")]}),
], ids=["not-json", "sns-message-not-json", "json-not-object", "no-records", "not-s3-records"])
def test_a_body_that_is_not_an_s3_event_is_a_job_sent_as_a_message(aws, capsys, job_calls,
                                                                    body):
    """Anything but an S3 event, S3's test event or an SNS confirmation is a job sent as a
    message (docs/jobs.md): the default job writes its record under processed/jobs/."""
    put(aws, "uploads/ok.txt")
    msg, good = sqs_record(body), sqs_record(s3_event("uploads/ok.txt"))
    assert run(msg, good) == no_failures()
    assert job_calls == [(BUCKET, "uploads/ok.txt")]
    assert outcomes(capsys) == ["processed", "processed"]
    out = "processed/jobs/sqs%3A" + msg["messageId"] + ".json"
    assert out in keys(aws)
    record = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=out)["Body"].read())
    assert record["job_id"] == "sqs:" + msg["messageId"] and record["bytes"] == len(body)


def test_a_message_job_takes_its_id_from_the_job_id_attribute(aws, capsys):
    msg = sqs_record(json.dumps({"photo": 42}))
    msg["messageAttributes"] = {
        "job_id": {"stringValue": "order-42", "dataType": "String"},
        "tenant": {"stringValue": "acme", "dataType": "String"}}
    assert run(msg) == no_failures()
    record = json.loads(aws.s3.get_object(
        Bucket=BUCKET, Key="processed/jobs/order-42.json")["Body"].read())
    assert record["attributes"] == {"tenant": "acme"}


def test_a_stored_body_is_read_from_the_bucket_as_the_worker_reads_it(aws, capsys):
    body = json.dumps({"photo": 44})
    aws.s3.put_object(Bucket=BUCKET, Key="bodies/b-2", Body=body.encode())
    msg = sqs_record(json.dumps(["com.amazon.sqs.javamessaging.MessageS3Pointer",
                                 {"s3BucketName": BUCKET, "s3Key": "bodies/b-2"}]))
    msg["messageAttributes"] = {
        "job_id": {"stringValue": "big-2", "dataType": "String"},
        "SQSLargePayloadSize": {"stringValue": str(len(body)), "dataType": "Number"}}
    assert run(msg) == no_failures()
    record = json.loads(aws.s3.get_object(
        Bucket=BUCKET, Key="processed/jobs/big-2.json")["Body"].read())
    assert record["bytes"] == len(body) and record["attributes"] == {}
    bad = sqs_record(json.dumps(["software.amazon.payloadoffloading.PayloadS3Pointer",
                                 {"s3BucketName": "elsewhere", "s3Key": "bodies/b-2"}]))
    bad["messageAttributes"] = {"ExtendedPayloadSize": {"stringValue": "9",
                                                        "dataType": "Number"}}
    assert run(bad) == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    assert "only under s3://%s/bodies/" % BUCKET in capsys.readouterr().out


def test_an_sns_confirmation_is_never_a_job(aws, capsys):
    msg = sqs_record({"Type": "SubscriptionConfirmation", "MessageId": "m-1",
                      "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/"})
    assert run(msg) == no_failures()
    assert outcomes(capsys) == ["skipped-confirmation"]
    assert keys(aws) == []


def test_an_exception_in_the_job_is_reported_not_raised(aws, capsys, monkeypatch):
    def boom(*a):
        raise RuntimeError("boom")

    monkeypatch.setattr(qh, "process", boom)
    put(aws, "uploads/e.txt")
    a, b = sqs_record(s3_event("uploads/e.txt")), sqs_record(s3_event("uploads/e.txt"))
    assert run(a, b) == {"batchItemFailures": [{"itemIdentifier": a["messageId"]},
                                               {"itemIdentifier": b["messageId"]}]}
    out = capsys.readouterr().out
    assert out.count("outcome=failed") == 2 and "RuntimeError('boom')" in out
    assert keys(aws) == ["uploads/e.txt"]


@pytest.mark.parametrize("event", [{}, {"Records": []}], ids=["no-records", "empty"])
def test_an_event_without_records_fails_nothing(aws, capsys, event):
    assert qh.handler(event, Context()) == no_failures()
    assert capsys.readouterr().out == ""


# --- logging, client, import ----------------------------------------------------------------

def test_one_parseable_log_line_per_message(aws, capsys):
    put(aws, "uploads/1.txt")
    msgs = [sqs_record(s3_event("uploads/1.txt"), receive_count=1),
            sqs_record(TEST_EVENT, receive_count=2),
            sqs_record(s3_event("elsewhere/1.txt"), receive_count=3),
            sqs_record("not json at all", receive_count=4),
            sqs_record(s3_event("uploads/gone.txt"), receive_count=5)]
    run(*msgs)
    got = [(m.group(1), m.group(2), m.group(3), m.group(4)) for m in lines(capsys)]
    assert got == [(msgs[0]["messageId"], "processed", "1", "1"),
                   (msgs[1]["messageId"], "skipped-test-event", "0", "2"),
                   (msgs[2]["messageId"], "ignored", "0", "3"),
                   (msgs[3]["messageId"], "processed", "1", "4"),
                   (msgs[4]["messageId"], "failed", "0", "5")]


def test_the_s3_client_is_created_once_in_the_lambda_region(aws, capsys, monkeypatch):
    made = []
    real = boto3.client

    def client(*a, **kw):
        made.append((a, kw))
        return real(*a, **kw)

    monkeypatch.setattr(qh.boto3, "client", client)
    for k in ("uploads/1.txt", "uploads/2.txt"):
        put(aws, k)
        assert run(sqs_record(s3_event(k))) == no_failures()
    assert made == [(("s3",), {"region_name": REGION})]
    assert keys(aws) == ["processed/1.txt", "processed/2.txt"]


JOBS_MODULE = os.path.join(os.path.dirname(os.path.abspath(qh.__file__)), "qfleet_jobs.py")
LOADER = os.path.join(os.path.dirname(os.path.abspath(qh.__file__)), "..", "..", "..",
                      "templates", "lambda-jobs-from-stack.py")


def assembled():
    """The handler as qfleet deploys it, one file: the shared module's text in its import's
    place (conftest.inline_shared), and its `from qfleet_jobs import ...` line replaced by the
    loader that reads the module from the data stack (crates/qfleet-engine/src/render/mod.rs, handler_with_jobs)."""
    with open(qh.__file__) as f, open(LOADER) as m:
        loader = m.read().rstrip("\n")
        return "\n".join(loader if line.startswith("from qfleet_jobs import ") else line
                         for line in inline_shared(f.read()).splitlines()) + "\n"


class FakeStack:
    """The data stack's JobTable as DescribeStackResource shows it: the module in its metadata,
    gzipped and in base64 as qfleet's render writes it."""

    def __init__(self):
        import base64
        import gzip
        with open(JOBS_MODULE) as m:
            packed = base64.b64encode(gzip.compress(m.read().encode())).decode()
        self.metadata = json.dumps({"qfleet": {"jobs_module": packed}})
        self.calls = []

    def describe_stack_resource(self, **kw):
        self.calls.append(kw)
        return {"StackResourceDetail": {"Metadata": self.metadata}}


def load_assembled(tmp_path, monkeypatch, stack=None):
    """The assembled handler imported as Lambda imports it; with `stack`, the data stack's name
    is set and its JobTable answers with the module."""
    import importlib.util
    (tmp_path / "index.py").write_text(assembled())
    spec = importlib.util.spec_from_file_location("qfleet_index", tmp_path / "index.py")
    index = importlib.util.module_from_spec(spec)
    if stack is not None:
        monkeypatch.setenv("QFLEET_JOBS_STACK", "qfleet-t-data")
        real = boto3.client
        monkeypatch.setattr(boto3, "client",
                            lambda name, *a, **kw: stack if name == "cloudformation"
                            else real(name, *a, **kw))
    spec.loader.exec_module(index)
    return index


def top_level_names(text):
    import ast
    names = set()
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def test_the_inlined_loader_defines_only_the_names_the_import_did():
    with open(qh.__file__) as f, open(LOADER) as m:
        assert top_level_names(f.read()) & top_level_names(m.read()) == set()
    with open(LOADER) as m:
        text = m.read()
    # One function, and a tuple assignment of the three names the import line bound.
    assert top_level_names(text) == {"_qfleet_jobs"}
    assert "JobConfig, Jobs, message_ref = _qfleet_jobs()" in text
    assert sum(line.startswith("from qfleet_jobs import ") for line in assembled().splitlines()) == 0


def test_the_module_imports_without_credentials_or_region(tmp_path):
    (tmp_path / "index.py").write_text(assembled())  # as deployed: one file, no qfleet_jobs
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true", PYTHONPATH=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", "import index as h; "
                        "print(h.handler({}, None), h._s3)"],
                       env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "{'batchItemFailures': []} None"


def test_upload_to_processed_seconds_are_one_embedded_metric_format_line(aws, capsys,
                                                                        monkeypatch):
    """status reads percentiles of qfleet/UploadToProcessedSeconds{Environment}: the batch's
    seconds from each S3 eventTime, as one EMF line on stdout that CloudWatch Logs turns into the
    metric (Specification: Embedded metric format:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)."""
    monkeypatch.setenv("QFLEET_ENVIRONMENT", "lab")
    for k in ("uploads/a", "uploads/b"):
        put(aws, k)
    assert run(sqs_record(s3_event("uploads/a")), sqs_record(s3_event("uploads/b")),
               sqs_record(TEST_EVENT)) == no_failures()
    out = capsys.readouterr().out.splitlines()
    assert [LINE.match(x).group(2) for x in out[:3]] == ["processed", "processed",
                                                         "skipped-test-event"]
    emf, counts = [json.loads(x) for x in out[3:]]
    assert counts["JobsDone"] == 2 and "JobsFailed" not in counts, counts
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert directive == {"Namespace": "qfleet", "Dimensions": [["Environment"]],
                         "Metrics": [{"Name": "UploadToProcessedSeconds", "Unit": "Seconds"}]}
    assert isinstance(emf["_aws"]["Timestamp"], int) and emf["Environment"] == "lab"
    # s3_event's eventTime is 2024-01-01: the seconds since then, once per job done.
    assert len(emf["UploadToProcessedSeconds"]) == 2
    assert all(v > 86400 * 300 for v in emf["UploadToProcessedSeconds"])


def test_no_metric_line_without_an_environment_and_at_most_100_values_a_line(aws, capsys):
    put(aws, "uploads/a")
    assert run(sqs_record(s3_event("uploads/a"))) == no_failures()
    assert outcomes(capsys) == ["processed"]
    assert qh.metric_lines("", [1.0]) == [] and qh.metric_lines("lab", []) == []
    many = qh.metric_lines("lab", [float(i) for i in range(250)], now_ms=0)
    assert [len(json.loads(x)["UploadToProcessedSeconds"]) for x in many] == [100, 100, 50]


def test_a_pipeline_stage_s_metric_lines_carry_its_stage_as_a_dimension():
    (line,) = qh.metric_lines("lab", [2.0], now_ms=0, stage="thumbs")
    doc = json.loads(line)
    assert doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Environment", "Stage"]]
    assert doc["Environment"] == "lab" and doc["Stage"] == "thumbs"
    (line,) = qh.metric_lines("lab", [2.0], now_ms=0)
    doc = json.loads(line)
    assert doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Environment"]]
    assert "Stage" not in doc


def test_secrets_are_read_once_into_the_environment_and_never_shown(aws, monkeypatch):
    ssm = boto3.client("ssm", region_name=REGION)
    sm = boto3.client("secretsmanager", region_name=REGION)
    ssm.put_parameter(Name="/app/db", Value="p@ss", Type="SecureString")
    arn = sm.create_secret(Name="app/key", SecretString="k-1")["ARN"]
    env = {"AWS_REGION": REGION,
           "QFLEET_SECRETS": json.dumps({"DB": "ssm:/app/db", "KEY": "secretsmanager:app/key",
                                         "KEY2": arn})}
    monkeypatch.setattr(qh, "_secrets_loaded", False)
    qh.load_secrets(env)
    assert (env["DB"], env["KEY"], env["KEY2"]) == ("p@ss", "k-1", "k-1")
    env["QFLEET_SECRETS"] = json.dumps({"GONE": "ssm:/app/nope"})
    qh.load_secrets(env)  # once per execution environment: not read again
    monkeypatch.setattr(qh, "_secrets_loaded", False)
    with pytest.raises(RuntimeError) as e:
        qh.load_secrets(env)
    assert str(e.value) == "secret GONE from ssm:/app/nope: ParameterNotFound"
    assert "p@ss" not in str(e.value)


def test_a_stage_fed_by_messages_gets_one_per_object_written(aws, monkeypatch, capsys):
    """A pipeline stage whose next stage is fed by messages (QFLEET_NEXT_QUEUE_URL): one S3
    event record per object written, under the stage's output prefix, at the time it was
    written (as S3's own event would be), not the upload's."""
    sqs = boto3.client("sqs", region_name=REGION)
    nxt = sqs.create_queue(QueueName=QUEUE + "-next")["QueueUrl"]
    monkeypatch.setenv("QFLEET_PROCESSED_PREFIX", "mid/")
    monkeypatch.setenv("QFLEET_NEXT_QUEUE_URL", nxt)
    put(aws, "uploads/a b.txt")
    assert run(sqs_record(s3_event("uploads/a b.txt"))) == {"batchItemFailures": []}
    assert keys(aws) == ["mid/a b.txt"]
    msgs = sqs.receive_message(QueueUrl=nxt, MaxNumberOfMessages=10)["Messages"]
    ((rec,),) = [qh.parse_body(m["Body"]) for m in msgs]
    assert rec[:3] == (BUCKET, "mid/a b.txt", "ObjectCreated:Copy")
    # s3_event's upload is from 2024: the next stage's job is from now.
    assert qh.seconds_since(rec[3]) < 60, rec


# Jobs (docs/jobs.md): the handler keeps the job table and answers on the response queue.

@pytest.fixture
def jobs(aws, monkeypatch):
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in (
            "key", "upload", "recent", "updated_at")],
        KeySchema=[{"AttributeName": "key", "KeyType": "HASH"},
                   {"AttributeName": "upload", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "recent",
            "KeySchema": [{"AttributeName": "recent", "KeyType": "HASH"},
                          {"AttributeName": "updated_at", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}}])
    # The leases of the jobs on their last attempt (docs/jobs.md, "A worker that stops").
    ddb.create_table(
        TableName=LEASES, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                              for n in ("key", "upload")],
        KeySchema=[{"AttributeName": "key", "KeyType": "HASH"},
                   {"AttributeName": "upload", "KeyType": "RANGE"}])
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=RESPONSES)["QueueUrl"]
    for k, v in {"QFLEET_JOB_TABLE": TABLE, "QFLEET_RESPONSE_QUEUE_URL": url,
                 "QFLEET_LEASE_TABLE": LEASES,
                 "QFLEET_STAGE_INDEX": "0", "QFLEET_NEXT_STAGE": "",
                 "QFLEET_MAX_RECEIVE_COUNT": "2", "QFLEET_ENVIRONMENT": "t"}.items():
        monkeypatch.setenv(k, v)
    return SimpleNamespace(ddb=ddb, sqs=sqs, url=url)


def versioned(key, version):
    e = s3_event(key)
    e["Records"][0]["s3"]["object"]["versionId"] = version
    return e


def record_of(jobs, key, version):
    item = jobs.ddb.get_item(TableName=TABLE, ConsistentRead=True,
                             Key={"key": {"S": key}, "upload": {"S": version}})["Item"]
    return item["state"]["S"], [h["M"]["state"]["S"] for h in item["history"]["L"]], item


def answers(jobs):
    msgs = jobs.sqs.receive_message(QueueUrl=jobs.url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in msgs]


def test_a_job_is_kept_done_once_and_answered_once(jobs, aws, capsys):
    put(aws, "uploads/a.txt")
    message = sqs_record(versioned("uploads/a.txt", "v1"))
    assert run(message) == no_failures()
    state, history, item = record_of(jobs, "uploads/a.txt", "v1")
    assert (state, history) == ("done", ["queued", "processing", "done"])
    assert item["worker"]["S"] == Context.aws_request_id
    assert item["output"]["S"] == "processed/a.txt"
    # Delivered again: not run (the object is not needed), counted, no second answer.
    assert run(message) == no_failures()
    state, history, item = record_of(jobs, "uploads/a.txt", "v1")
    assert history == ["queued", "processing", "done"] and item["duplicates"]["N"] == "1"
    said = answers(jobs)
    assert [(a["state"], a["key"], a["upload"]) for a in said] == [("done", "uploads/a.txt", "v1")]
    assert "duplicates=1" in capsys.readouterr().out


def test_a_poison_job_retries_then_fails_at_the_max_receive_count(jobs, aws):
    message = sqs_record(versioned("uploads/gone.txt", "v9"), receive_count=1)
    assert run(message) != no_failures()
    assert record_of(jobs, "uploads/gone.txt", "v9")[0] == "retrying"
    message["attributes"]["ApproximateReceiveCount"] = "2"
    assert run(message) != no_failures()
    state, history, item = record_of(jobs, "uploads/gone.txt", "v9")
    assert (state, history[-1]) == ("failed", "failed") and item["error"]["S"]
    assert [a["state"] for a in answers(jobs)] == ["failed"]


def test_the_assembled_handler_keeps_a_job(jobs, aws, tmp_path, monkeypatch):
    stack = FakeStack()
    index = load_assembled(tmp_path, monkeypatch, stack)
    # Read once, when the execution environment imports the handler.
    assert stack.calls == [{"StackName": "qfleet-t-data", "LogicalResourceId": "JobTable"}]
    put(aws, "uploads/b.txt")
    assert index.handler(sqs_event(sqs_record(versioned("uploads/b.txt", "v2"))),
                         Context()) == no_failures()
    assert record_of(jobs, "uploads/b.txt", "v2")[0] == "done"


def test_the_function_finds_its_table_in_the_data_stack(jobs, aws, monkeypatch):
    """The function's environment names the data stack (QFLEET_JOBS_STACK), whose JobTable
    CloudFormation named: the handler reads the name there once (DescribeStackResource)."""
    stack = os.environ.get("QFLEET_TEST_DATA_STACK", "qfleet-t-data")
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=stack, TemplateBody=json.dumps({"Resources": {"JobTable": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "key", "AttributeType": "S"},
                                         {"AttributeName": "upload", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "key", "KeyType": "HASH"},
                              {"AttributeName": "upload", "KeyType": "RANGE"}]}}}}))
    monkeypatch.delenv("QFLEET_JOB_TABLE")
    monkeypatch.setenv("QFLEET_JOBS_STACK", stack)
    put(aws, "uploads/c.txt")
    assert run(sqs_record(versioned("uploads/c.txt", "v3"))) == no_failures()
    table = [t for t in jobs.ddb.list_tables()["TableNames"]
             if t.startswith(stack + "-JobTable-") and t != TABLE]
    assert len(table) == 1, table
    item = jobs.ddb.get_item(TableName=table[0],
                             Key={"key": {"S": "uploads/c.txt"}, "upload": {"S": "v3"}})["Item"]
    assert item["state"]["S"] == "done"


# S3 refuses a key over 1,024 bytes and more than 2 KB of user metadata ("Naming Amazon S3
# objects", "Working with object metadata", Amazon S3 User Guide): the handler refuses such an
# output, saying why, before any copy; the upload stays where it was.
def test_an_output_s3_would_refuse_is_not_copied_and_says_why(aws):
    cfg = qh.Config({})  # uploads/ to processed/: an output key 2 bytes longer than its input's
    key = "uploads/" + "k" * (1024 - len("uploads/"))
    put(aws, key)
    with pytest.raises(ValueError, match="over S3's 1024"):
        qh.process(aws.s3, BUCKET, key, cfg)
    aws.s3.put_object(Bucket=BUCKET, Key="uploads/a.txt", Body=b"a", Metadata={"note": "n" * 1500})
    with pytest.raises(ValueError, match="over S3's 2048"):
        qh.process(aws.s3, BUCKET, "uploads/a.txt", cfg, meta={"qfleet-job-key": "k" * 600})
    assert keys(aws) == sorted([key, "uploads/a.txt"])


# A job's last attempt holds a lease till the invocation's deadline (docs/jobs.md, "A worker
# that stops"): Lambda stops the function at its timeout, so the attempt is over by then.

def lease_of(jobs, key, version):
    """The lease item, as plain values; None when there is none. Read from another thread: a
    read from inside a job is the test's, not the handler's, and the IAM test records only the
    calls whose stack is the handler's (tests/support/aws_calls.py)."""
    got = []
    t = threading.Thread(target=lambda: got.append(jobs.ddb.get_item(
        TableName=LEASES, ConsistentRead=True,
        Key={"key": {"S": key}, "upload": {"S": version}}).get("Item")))
    t.start()
    t.join()
    return got[0] and {k: list(v.values())[0] for k, v in got[0].items()}


def seconds_of(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class Late(Context):
    def get_remaining_time_in_millis(self):
        return 42000  # 42 s left in this invocation


def test_a_last_attempt_s_lease_ends_when_the_invocation_does(jobs, aws, monkeypatch):
    seen = []

    def watch(s3, bucket, key, cfg, meta=None):
        seen.append(lease_of(jobs, key, "v5"))
        return "processed/l.txt"

    monkeypatch.setattr(qh, "process", watch)
    message = sqs_record(versioned("uploads/l.txt", "v5"), receive_count=1)
    assert qh.handler(sqs_event(message), Late()) == no_failures()
    assert seen == [None], "receive 1 of 2 holds no lease"
    message["attributes"]["ApproximateReceiveCount"] = "2"
    jobs.ddb.update_item(  # as if the first receive had failed: the job runs again
        TableName=TABLE, Key={"key": {"S": "uploads/l.txt"}, "upload": {"S": "v5"}},
        UpdateExpression="SET #s = :r", ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":r": {"S": "retrying"}})
    t0 = time.time()
    assert qh.handler(sqs_event(message), Late()) == no_failures()
    lease = seen[1]
    assert lease["stage_index"] == "0" and lease["started"]
    assert t0 + 42 - 1 <= seconds_of(lease["lease_until"]) <= time.time() + 42
    assert lease_of(jobs, "uploads/l.txt", "v5") is None, "done: the lease is gone"
    item = record_of(jobs, "uploads/l.txt", "v5")[2]
    assert not {"lease_shard", "lease_until", "started"} & set(item)


def test_without_a_deadline_in_its_context_the_handler_takes_no_lease(jobs, aws, monkeypatch):
    seen = []
    monkeypatch.setattr(qh, "process", lambda s3, bucket, key, cfg, meta=None: seen.append(
        lease_of(jobs, key, "v6")) or "processed/m.txt")
    message = sqs_record(versioned("uploads/m.txt", "v6"), receive_count=2)
    assert qh.handler(sqs_event(message), None) == no_failures()
    assert seen == [None]


# Near its timeout, the handler takes no more records: it returns the rest as failures (a
# timeout would return the whole batch, those it finished too), and fails the jobs of those on
# their last receive, as no attempt follows.

class Ending(Context):
    """An invocation whose time runs out: `left` milliseconds, less `step` at each look."""

    def __init__(self, left, step=0):
        self.left, self.step = left, step

    def get_remaining_time_in_millis(self):
        self.left -= self.step
        return self.left


def test_near_its_timeout_the_handler_returns_the_rest_and_fails_their_last_receives(
        jobs, aws, monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(qh, "process", lambda s3, bucket, key, cfg, meta=None: ran.append(
        key) or "processed/" + key)
    first = sqs_record(versioned("uploads/1.txt", "v1"), receive_count=2)
    last = sqs_record(versioned("uploads/2.txt", "v1"), receive_count=2)
    early = sqs_record(versioned("uploads/3.txt", "v1"), receive_count=1)
    job = sqs_record("a job of its own", receive_count=2, message_id="m-4")
    # 3.5 s left, a second gone by each record: the first runs, the rest are too late.
    out = qh.handler(sqs_event(first, last, early, job), Ending(4500, 1000))
    assert out == {"batchItemFailures": [{"itemIdentifier": m["messageId"]}
                                         for m in (last, early, job)]}
    assert ran == ["uploads/1.txt"]
    assert record_of(jobs, "uploads/1.txt", "v1")[0] == "done"
    for key, upload in (("uploads/2.txt", "v1"), ("sqs:m-4", "job")):
        state, history, item = record_of(jobs, key, upload)
        assert (state, history) == ("failed", ["failed"]), key
        assert item["error"]["S"] == qh.LATE
        assert item["stage_index"]["N"] == "0" and "attempts" not in item
        assert lease_of(jobs, key, upload) is None
    with pytest.raises(KeyError):  # receive 1 of 2: another receive follows, nothing written
        record_of(jobs, "uploads/3.txt", "v1")
    said = answers(jobs)
    assert sorted((a["key"], a["state"], a["error"]) for a in said) == [
        ("sqs:m-4", "failed", qh.LATE), ("uploads/1.txt", "done", None),
        ("uploads/2.txt", "failed", qh.LATE)]
    out = [LINE.match(x).group(2, 5) for x in capsys.readouterr().out.splitlines()
           if x.startswith("msg=")]
    assert len(out) == 4 and out[0] == ("processed", None)
    assert all(o == "failed" and "not started" in e for o, e in out[1:]), out


def test_a_job_that_retried_before_fails_when_its_last_receive_is_not_reached(jobs, aws):
    message = sqs_record(versioned("uploads/gone.txt", "v9"), receive_count=1)
    assert run(message) != no_failures()  # no such object: retrying
    message["attributes"]["ApproximateReceiveCount"] = "2"
    out = qh.handler(sqs_event(message), Ending(1500))
    assert out == {"batchItemFailures": [{"itemIdentifier": message["messageId"]}]}
    state, history, item = record_of(jobs, "uploads/gone.txt", "v9")
    assert (state, history) == ("failed", ["queued", "processing", "retrying", "failed"])
    assert item["error"]["S"] == qh.LATE and item["attempts"]["N"] == "1"
    assert [(a["state"], a["seq"]) for a in answers(jobs)] == [("failed", 3)]


def test_a_job_done_is_never_failed_by_a_late_redelivery(jobs, aws):
    put(aws, "uploads/d.txt")
    message = sqs_record(versioned("uploads/d.txt", "v2"), receive_count=1)
    assert run(message) == no_failures()
    answers(jobs)
    message["attributes"]["ApproximateReceiveCount"] = "2"  # delivered again, too late
    assert qh.handler(sqs_event(message), Ending(100)) != no_failures()
    assert record_of(jobs, "uploads/d.txt", "v2")[0] == "done" and answers(jobs) == []


def test_without_a_job_table_the_rest_goes_back_all_the_same(aws, capsys):
    put(aws, "uploads/n.txt")
    message = sqs_record(s3_event("uploads/n.txt"), receive_count=5)
    out = qh.handler(sqs_event(message), Ending(qh.STOP_MS - 1))
    assert out == {"batchItemFailures": [{"itemIdentifier": message["messageId"]}]}
    assert keys(aws) == ["uploads/n.txt"], "not run"
    assert outcomes(capsys) == ["failed"]


def test_a_late_record_whose_failure_cannot_be_written_goes_back_all_the_same(jobs, aws,
                                                                             monkeypatch,
                                                                             capsys):
    class Throttled:
        """The job table's client, which refuses every write."""

        def update_item(self, **kw):
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                         "Message": "throttled"}}, "UpdateItem")

    monkeypatch.setattr(qh.Jobs, "_db", lambda self: Throttled())
    message = sqs_record(versioned("uploads/w.txt", "v1"), receive_count=2)
    out = qh.handler(sqs_event(message), Ending(100))
    assert out == {"batchItemFailures": [{"itemIdentifier": message["messageId"]}]}
    assert "JobTableError" in capsys.readouterr().out


def test_without_jobs_the_assembled_handler_reads_no_stack(aws, tmp_path, monkeypatch):
    monkeypatch.delenv("QFLEET_JOBS_STACK", raising=False)
    index = load_assembled(tmp_path, monkeypatch)
    assert (index.JobConfig, index.Jobs, index.message_ref) == (None, None, None)
    put(aws, "uploads/d.txt")
    assert index.handler(sqs_event(sqs_record(s3_event("uploads/d.txt"))),
                         Context()) == no_failures()


def test_an_envelope_that_says_notification_without_a_message_fails_here_as_it_always_did(
        aws, capsys):
    """The handler's own copy of parse_body opened an envelope whenever its Type said
    Notification, and a body without its Message failed (KeyError); the worker's reads such a
    body's own records. Written once in qfleet_shared.py, each keeps its way
    (message_required)."""
    import qfleet_shared
    body = json.dumps({"Type": "Notification", **s3_event("uploads/a.txt")})
    put(aws, "uploads/a.txt")
    result = run(sqs_record(body, message_id="m-1"))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert "KeyError('Message')" in capsys.readouterr().out
    assert qfleet_shared.parse_body(body) == [
        (BUCKET, "uploads/a.txt", "ObjectCreated:Put", "2024-01-01T00:00:00.000Z")]


def received(aws, body):
    """A message sent to a queue of moto's and received (a 30 s visibility timeout), as
    Lambda's event record names it: its receipt handle is the queue's."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=QUEUE, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    m = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]
    record = sqs_record(body, receive_count=m["Attributes"]["ApproximateReceiveCount"],
                        message_id=m["MessageId"])
    record["receiptHandle"] = m["ReceiptHandle"]
    return sqs, url, record


def visible(sqs, url):
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])


def test_with_queue_retry_a_failed_message_comes_back_after_its_wait(aws, capsys, monkeypatch):
    """queue.retry on Lambda: the handler hides a failed message for the wait (1 s), not for
    the queue's visibility timeout (30 s); without queue.retry it leaves it to the queue."""
    sqs, url, record = received(aws, s3_event("uploads/gone.txt"))  # no object: it fails
    monkeypatch.setenv("QFLEET_QUEUE_URL", url)
    assert run(record) == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    time.sleep(1.3)
    assert visible(sqs, url) == 0  # no queue.retry: the queue's 30 s
    monkeypatch.setenv("QFLEET_RETRY_BACKOFF", "1")
    monkeypatch.setenv("QFLEET_RETRY_MAX_DELAY", "60")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=record["receiptHandle"])
    sqs, url, record = received(aws, s3_event("uploads/gone.txt"))
    assert run(record) != no_failures()
    assert visible(sqs, url) == 0
    time.sleep(1.3)
    assert visible(sqs, url) == 1  # back after its 1 s
    assert outcomes(capsys) == ["failed", "failed"]


def test_a_wait_that_cannot_be_set_leaves_the_message_to_the_queue(aws, capsys, monkeypatch):
    """A ChangeMessageVisibility SQS refuses (a receipt handle gone stale) is logged; the
    record is still reported failed, so Lambda does not delete it."""
    monkeypatch.setenv("QFLEET_RETRY_BACKOFF", "1")
    monkeypatch.setenv("QFLEET_QUEUE_URL", f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/nope")
    record = sqs_record(s3_event("uploads/gone.txt"))
    assert run(record) == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert "change-visibility" in capsys.readouterr().out


def test_a_retrying_jobs_record_says_when_lambda_tries_it_again(jobs, aws, monkeypatch):
    sqs, url, record = received(aws, versioned("uploads/gone.txt", "v3"))
    for k, v in {"QFLEET_QUEUE_URL": url, "QFLEET_RETRY_BACKOFF": "120",
                 "QFLEET_RETRY_MAX_DELAY": "600"}.items():
        monkeypatch.setenv(k, v)
    assert run(record) != no_failures()
    state, history, item = record_of(jobs, "uploads/gone.txt", "v3")
    entry = item["history"]["L"][-1]["M"]
    assert state == "retrying" and entry["retry_at"]["S"] > entry["at"]["S"]


# Priority lanes (queue.priority): the function has an event source mapping on each queue; a
# record is the priority lane's when its eventSourceARN names the QFLEET_PRIORITY_QUEUE_URL's
# queue.

def priority(record):
    record["eventSourceARN"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PRIORITY}"
    return record


def test_a_priority_record_goes_on_to_the_next_stages_priority_lane(aws, monkeypatch, capsys):
    """A job from the priority lane goes on to QFLEET_NEXT_PRIORITY_QUEUE_URL in its group, an
    ordinary one to QFLEET_NEXT_QUEUE_URL; a next stage without a priority lane gets both. The
    priority job's log line ends with lane=priority."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=PRIORITY)["QueueUrl"]
    nxt = sqs.create_queue(QueueName=QUEUE + "-next")["QueueUrl"]
    nxt_p = sqs.create_queue(QueueName=QUEUE + "-next-priority")["QueueUrl"]
    for k, v in {"QFLEET_PRIORITY_QUEUE_URL": url, "QFLEET_PROCESSED_PREFIX": "mid/",
                 "QFLEET_NEXT_QUEUE_URL": nxt, "QFLEET_NEXT_PRIORITY_QUEUE_URL": nxt_p}.items():
        monkeypatch.setenv(k, v)
    for k in ("uploads/p.txt", "uploads/o.txt"):
        put(aws, k)
    urgent = priority(sqs_record(s3_event("uploads/p.txt")))
    urgent["attributes"]["MessageGroupId"] = "acme"
    message = priority(sqs_record("answer me"))
    message["messageAttributes"] = {"job_id": {"stringValue": "j-p", "dataType": "String"}}
    assert run(urgent, message, sqs_record(s3_event("uploads/o.txt"))) == no_failures()

    def sent(q):
        msgs = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10,
                                   AttributeNames=["MessageGroupId"]).get("Messages", [])
        return sorted((qh.parse_body(m["Body"])[0][1],
                       (m.get("Attributes") or {}).get("MessageGroupId")) for m in msgs)
    assert sent(nxt_p) == [("mid/jobs/j-p.json", None), ("mid/p.txt", "acme")]
    assert sent(nxt) == [("mid/o.txt", None)]
    out = [line.group(0) for line in lines(capsys)]
    assert [x.endswith(" lane=priority") for x in out] == [True, True, False]
    assert "lane=" not in out[2]
    monkeypatch.delenv("QFLEET_NEXT_PRIORITY_QUEUE_URL")
    put(aws, "uploads/p2.txt")
    assert run(priority(sqs_record(s3_event("uploads/p2.txt")))) == no_failures()
    assert sent(nxt) == [("mid/p2.txt", None)]


def test_a_failed_priority_record_is_hidden_on_the_priority_lane(aws, capsys, monkeypatch):
    """queue.retry: the wait of a failed priority job is set on the priority lane, where its
    receipt handle is valid, not on QFLEET_QUEUE_URL."""
    sqs = boto3.client("sqs", region_name=REGION)
    ordinary = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    url = sqs.create_queue(QueueName=PRIORITY,
                           Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    body = s3_event("uploads/gone.txt")  # no object: it fails
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    m = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]
    record = priority(sqs_record(body, message_id=m["MessageId"]))
    record["receiptHandle"] = m["ReceiptHandle"]
    for k, v in {"QFLEET_QUEUE_URL": ordinary, "QFLEET_PRIORITY_QUEUE_URL": url,
                 "QFLEET_RETRY_BACKOFF": "1", "QFLEET_RETRY_MAX_DELAY": "60"}.items():
        monkeypatch.setenv(k, v)
    urls = []
    monkeypatch.setattr(qh, "sqs_client", lambda: SimpleNamespace(
        change_message_visibility=lambda **kw: (urls.append(kw["QueueUrl"]),
                                                sqs.change_message_visibility(**kw))))
    assert run(record) == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert urls == [url] and visible(sqs, url) == 0
    time.sleep(1.3)
    assert visible(sqs, url) == 1, "back on its lane after its 1 s"
    out = capsys.readouterr().out
    assert "change-visibility" not in out and out.rstrip().endswith(" lane=priority")


def test_a_priority_records_job_keeps_lane_priority(jobs, aws, monkeypatch):
    monkeypatch.setenv("QFLEET_PRIORITY_QUEUE_URL",
                       f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{PRIORITY}")
    put(aws, "uploads/p.txt")
    put(aws, "uploads/o.txt")
    urgent = sqs_record("urgent")
    urgent["messageAttributes"] = {"job_id": {"stringValue": "j-p", "dataType": "String"}}
    assert run(priority(sqs_record(versioned("uploads/p.txt", "v1"))), priority(urgent),
               sqs_record(versioned("uploads/o.txt", "v2"))) == no_failures()
    assert record_of(jobs, "uploads/p.txt", "v1")[2]["lane"]["S"] == "priority"
    assert record_of(jobs, "j-p", "job")[2]["lane"]["S"] == "priority"
    assert "lane" not in record_of(jobs, "uploads/o.txt", "v2")[2]
