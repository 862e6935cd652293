"""Tests of the job table's protocol (qfleet_jobs.py, docs/jobs.md) through the reference worker,
against moto's in-process AWS mock (no network): a pipeline's two stages on one job (fed by
objects and by messages), the next stage starting before the earlier one's done write, a job
failed then redriven, and a table that cannot be written (the job is not run)."""
import datetime
import hashlib
import json
import os
import re
import threading
import time
import urllib.parse

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import qfleet_jobs as qj
import qfleet_shared
import qfleet_worker as qw

REGION = "eu-west-1"
# The names are the environment's when the IAM test runs these tests under its worker policy.
BUCKET = os.environ.get("QFLEET_TEST_BUCKET", "qfleet-jobs-bucket")
QUEUE = os.environ.get("QFLEET_TEST_QUEUE", "qfleet-t-jobs")
TABLE = os.environ.get("QFLEET_TEST_TABLE", "qfleet-t-job-table")
RESPONSES = os.environ.get("QFLEET_TEST_RESPONSES", "qfleet-t-responses")
LEASES = os.environ.get("QFLEET_TEST_LEASE_TABLE", "qfleet-t-job-leases")


@pytest.fixture
def aws(monkeypatch):
    for k in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "QFLEET_NEXT_QUEUE_URL", "QFLEET_ASG_NAME"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        sqs = boto3.client("sqs", region_name=REGION)
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
        responses = sqs.create_queue(QueueName=RESPONSES)["QueueUrl"]
        yield type("Aws", (), dict(s3=s3, sqs=sqs, ddb=ddb, responses=responses))


def stage(monkeypatch, aws, index, name, nxt, reads, writes, next_queue=None, queue=None,
          visibility="30"):
    """A worker of one stage, its settings as the stage's user data gives them."""
    q = aws.sqs.create_queue(QueueName=queue or "q-" + name)["QueueUrl"]
    env = {"QFLEET_JOB_TABLE": TABLE, "QFLEET_RESPONSE_QUEUE_URL": aws.responses,
           "QFLEET_LEASE_TABLE": LEASES, "QFLEET_STAGE": name,
           "QFLEET_STAGE_INDEX": str(index), "QFLEET_NEXT_STAGE": nxt,
           "QFLEET_MAX_RECEIVE_COUNT": "2", "QFLEET_ENVIRONMENT": "t"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cfg = qw.Config({"QFLEET_QUEUE_URL": q, "QFLEET_BUCKET": BUCKET, "QFLEET_UPLOAD_PREFIX": reads,
                     "QFLEET_PROCESSED_PREFIX": writes, "QFLEET_WAIT_SECONDS": "0",
                     "QFLEET_RETRY_BACKOFF": "0", "QFLEET_VISIBILITY_TIMEOUT": visibility,
                     "QFLEET_NEXT_QUEUE_URL": next_queue or ""})
    return qw.Worker(cfg, sqs=aws.sqs, s3=aws.s3, instance_id="i-" + name), q


def event(key, version, job=None):
    body = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                         "eventTime": "2026-11-24T19:55:00.120Z",
                         "s3": {"bucket": {"name": BUCKET},
                                "object": {"key": key, "versionId": version}}}]}
    if job:
        body["qfleetJob"] = job
    return json.dumps(body)


def item(aws, key, upload):
    i = aws.ddb.get_item(TableName=TABLE, ConsistentRead=True,
                         Key={"key": {"S": key}, "upload": {"S": upload}})["Item"]
    return i, [(h["M"]["state"]["S"], h["M"].get("stage", {}).get("S"))
               for h in i["history"]["L"]]


def item_or_none(aws, key, upload):
    return aws.ddb.get_item(TableName=TABLE, ConsistentRead=True, Key={
        "key": {"S": key}, "upload": {"S": upload}}).get("Item")


def answers(aws):
    got = aws.sqs.receive_message(QueueUrl=aws.responses, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def test_two_stages_fed_by_objects_keep_one_job_and_only_the_last_answers(aws, monkeypatch):
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/a.jpg", Body=b"a")["VersionId"]
    w1, q1 = stage(monkeypatch, aws, 0, "resize", "thumb", "uploads/", "resized/")
    aws.sqs.send_message(QueueUrl=q1, MessageBody=event("uploads/a.jpg", v))
    w1.run(once=True)
    meta = aws.s3.head_object(Bucket=BUCKET, Key="resized/a.jpg")["Metadata"]
    assert meta == {"qfleet-job-key": "uploads%2Fa.jpg", "qfleet-job-upload": v}
    i, h = item(aws, "uploads/a.jpg", v)
    assert i["state"]["S"] == "queued" and i["stage"]["S"] == "thumb"
    assert answers(aws) == []
    w2, q2 = stage(monkeypatch, aws, 1, "thumb", "", "resized/", "processed/")
    v2 = aws.s3.head_object(Bucket=BUCKET, Key="resized/a.jpg")["VersionId"]
    aws.sqs.send_message(QueueUrl=q2, MessageBody=event("resized/a.jpg", v2))
    w2.run(once=True)
    i, h = item(aws, "uploads/a.jpg", v)
    assert i["state"]["S"] == "done" and i["output"]["S"] == "processed/a.jpg"
    assert h == [("queued", "resize"), ("processing", "resize"), ("done", "resize"),
                 ("queued", "thumb"), ("processing", "thumb"), ("done", "thumb")]
    assert [(a["state"], a["stage"], a["key"]) for a in answers(aws)] == [
        ("done", "thumb", "uploads/a.jpg")]


def test_a_stage_fed_by_messages_reads_the_job_from_the_message(aws, monkeypatch):
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/m.jpg", Body=b"m")["VersionId"]
    nq = aws.sqs.create_queue(QueueName="q-next")["QueueUrl"]
    w1, q1 = stage(monkeypatch, aws, 0, "one", "two", "uploads/", "one/", next_queue=nq)
    aws.sqs.send_message(QueueUrl=q1, MessageBody=event("uploads/m.jpg", v))
    w1.run(once=True)
    sent = aws.sqs.receive_message(QueueUrl=nq)["Messages"][0]["Body"]
    assert json.loads(sent)["qfleetJob"] == {"key": "uploads/m.jpg", "upload": v}


def test_a_jobs_tenant_is_kept_in_its_record_and_goes_on_as_its_group(aws, monkeypatch):
    """queue.tenant on an upload stage: the job's record keeps the tenant read from its key,
    the next stage gets the job in that group, and that stage's start keeps the tenant (a
    later stage never replaces it)."""
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/acme/m.jpg", Body=b"m")["VersionId"]
    nq = aws.sqs.create_queue(QueueName="q-next")["QueueUrl"]
    w1, q1 = stage(monkeypatch, aws, 0, "one", "two", "uploads/", "one/", next_queue=nq)
    w1.cfg.tenant = qfleet_shared.tenant_rule("key_segment:1")
    aws.sqs.send_message(QueueUrl=q1, MessageBody=event("uploads/acme/m.jpg", v))
    w1.run(once=True)
    i, _ = item(aws, "uploads/acme/m.jpg", v)
    assert i["tenant"]["S"] == "acme"
    (m,) = aws.sqs.receive_message(QueueUrl=nq, AttributeNames=["MessageGroupId"],
                                   MessageAttributeNames=["All"])["Messages"]
    assert m["Attributes"]["MessageGroupId"] == "acme"
    w2, q2 = stage(monkeypatch, aws, 1, "two", "", "one/", "processed/")
    w2.cfg.tenant = qfleet_shared.tenant_rule("attribute:customer")
    aws.sqs.send_message(QueueUrl=q2, MessageBody=m["Body"], MessageGroupId="acme")
    w2.run(once=True)
    i, h = item(aws, "uploads/acme/m.jpg", v)
    assert i["state"]["S"] == "done" and i["tenant"]["S"] == "acme"
    assert [s for s, _ in h][-3:] == ["queued", "processing", "done"]


def test_a_jobs_lane_in_its_record_is_the_lane_of_its_latest_attempt(aws, monkeypatch):
    """queue.priority: an attempt on a message of the stage's priority lane writes `lane` =
    "priority" to the job's record; an attempt on an ordinary message takes it away (a next
    stage without a lane, a job redriven to the job queue), so `qfleet jobs` counts no job
    as a priority one where it waits in an ordinary queue."""
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/p.jpg", Body=b"p")["VersionId"]
    o = aws.s3.put_object(Bucket=BUCKET, Key="uploads/o.jpg", Body=b"o")["VersionId"]
    nq = aws.sqs.create_queue(QueueName="q-next")["QueueUrl"]
    w1, q1 = stage(monkeypatch, aws, 0, "one", "two", "uploads/", "one/", next_queue=nq)
    p1 = aws.sqs.create_queue(QueueName="q-one-priority")["QueueUrl"]
    w1.cfg.priority_url = p1
    aws.sqs.send_message(QueueUrl=p1, MessageBody=event("uploads/p.jpg", v))
    aws.sqs.send_message(QueueUrl=q1, MessageBody=event("uploads/o.jpg", o))
    w1.run(max_messages=2)
    assert item(aws, "uploads/p.jpg", v)[0]["lane"]["S"] == "priority"
    assert "lane" not in item(aws, "uploads/o.jpg", o)[0]
    # The next stage has no lane: both jobs come to its job queue, and neither is a priority
    # one there.
    w2, q2 = stage(monkeypatch, aws, 1, "two", "", "one/", "processed/")
    for m in aws.sqs.receive_message(QueueUrl=nq, MaxNumberOfMessages=10)["Messages"]:
        aws.sqs.send_message(QueueUrl=q2, MessageBody=m["Body"])
    w2.run(max_messages=2)
    i, h = item(aws, "uploads/p.jpg", v)
    assert i["state"]["S"] == "done" and "lane" not in i
    assert "lane" not in item(aws, "uploads/o.jpg", o)[0]
    # A job sent as a message (run_ref): each attempt says its own lane.
    jobs = qj.Jobs(qj.JobConfig(dict(QFLEET_JOB_TABLE=TABLE, AWS_REGION=REGION)))
    given = {"MessageId": "m-1", "MessageAttributes": {"job_id": {"StringValue": "j-1"}}}
    jobs.run_ref(qj.message_ref(given), given, lambda meta, field: "out", None, "priority")
    assert item(aws, "j-1", "job")[0]["lane"]["S"] == "priority"
    aws.ddb.update_item(TableName=TABLE, Key={"key": {"S": "j-1"}, "upload": {"S": "job"}},
                        UpdateExpression="SET #s = :q", ExpressionAttributeNames={"#s": "state"},
                        ExpressionAttributeValues={":q": {"S": "queued"}})
    jobs.run_ref(qj.message_ref(given), given, lambda meta, field: "out", None, None)
    i, h = item(aws, "j-1", "job")
    assert "lane" not in i and [s for s, _ in h].count("processing") == 2


def test_the_next_stage_starting_first_moves_the_job_on_and_the_earlier_done_is_kept(aws,
                                                                                   monkeypatch):
    ref = qj.JobRef("uploads/r.jpg", "v1", BUCKET, "2026-11-24T19:55:00.120Z")
    monkeypatch.setenv("QFLEET_JOB_TABLE", TABLE)
    first = qj.Jobs(qj.JobConfig(dict(QFLEET_JOB_TABLE=TABLE, QFLEET_STAGE="a",
                                      QFLEET_NEXT_STAGE="b", AWS_REGION=REGION)))
    second = qj.Jobs(qj.JobConfig(dict(QFLEET_JOB_TABLE=TABLE, QFLEET_STAGE="b",
                                       QFLEET_STAGE_INDEX="1", AWS_REGION=REGION)))
    assert first.start(ref, 1) == "started"
    assert second.start(ref, 1) == "started"  # its message came before a's done write
    first.done(ref, "b/r.jpg")
    i, h = item(aws, "uploads/r.jpg", "v1")
    assert i["stage_index"]["N"] == "1" and i["state"]["S"] == "processing"
    assert ("done", "a") in h
    # A redelivery of a's message now is a duplicate: the job is beyond stage a.
    assert first.start(ref, 2) == "duplicate"


def test_a_failed_job_redriven_starts_again(aws, monkeypatch):
    ref = qj.JobRef("uploads/f.jpg", "v1", BUCKET)
    jobs = qj.Jobs(qj.JobConfig(dict(QFLEET_JOB_TABLE=TABLE, QFLEET_MAX_RECEIVE_COUNT="1",
                                     AWS_REGION=REGION)))
    assert jobs.start(ref, 1) == "started"
    jobs.fail(ref, "boom", 1)
    assert item(aws, "uploads/f.jpg", "v1")[0]["state"]["S"] == "failed"
    assert jobs.start(ref, 1) == "started"  # `qfleet dlq redrive` sent it back
    jobs.done(ref, "processed/f.jpg")
    assert [s for s, _ in item(aws, "uploads/f.jpg", "v1")[1]] == [
        "queued", "processing", "failed", "processing", "done"]


def cancel(aws, key, upload):
    """What `qfleet jobs ENV ID --cancel` writes (job_table::cancel): a queued job cancelled."""
    aws.ddb.update_item(
        TableName=TABLE, Key={"key": {"S": key}, "upload": {"S": upload}},
        UpdateExpression="SET #s = :c", ConditionExpression="#s IN (:q, :r)",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":c": {"S": "cancelled"}, ":q": {"S": "queued"},
                                   ":r": {"S": "retrying"}})


def test_a_cancelled_job_is_skipped_its_message_deleted_and_it_is_never_failed(
        aws, monkeypatch, capsys):
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/c.jpg", Body=b"c")["VersionId"]
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
    ref = qj.JobRef("uploads/c.jpg", v, BUCKET)
    jobs = qj.Jobs(qj.JobConfig(dict(QFLEET_JOB_TABLE=TABLE, AWS_REGION=REGION,
                                     QFLEET_MAX_RECEIVE_COUNT="2")))
    assert jobs.arrive(ref)
    cancel(aws, "uploads/c.jpg", v)
    aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/c.jpg", v))
    w.run(once=True)
    assert "outcome=cancelled" in capsys.readouterr().out
    assert aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="processed/").get("KeyCount") == 0
    assert aws.sqs.receive_message(QueueUrl=q).get("Messages") is None, "deleted"
    i, h = item(aws, "uploads/c.jpg", v)
    assert i["state"]["S"] == "cancelled" and [s for s, _ in h] == ["queued"]
    # A worker stopping on the job's last receive fails a job it never ran, not a cancelled one.
    jobs.halt = "not started"
    assert jobs.run_ref(ref, {"Attributes": {"ApproximateReceiveCount": "2"}},
                        lambda *a: None) is None
    assert item(aws, "uploads/c.jpg", v)[0]["state"]["S"] == "cancelled"
    assert answers(aws) == [], "a cancelled job is not answered"


def test_an_attempt_that_ends_after_its_job_was_cancelled_leaves_it_cancelled(aws, monkeypatch):
    """A redelivery still running when the job was cancelled (it had gone back to retrying):
    its end neither marks the job done nor answers it."""
    monkeypatch.setenv("QFLEET_JOB_TABLE", TABLE)
    ref = qj.JobRef("uploads/late.jpg", "v1", BUCKET)
    jobs = qj.Jobs(qj.JobConfig(dict(QFLEET_JOB_TABLE=TABLE, AWS_REGION=REGION,
                                     QFLEET_RESPONSE_QUEUE_URL=aws.responses)), sqs=aws.sqs)
    assert jobs.start(ref, 1) == "started"
    jobs.fail(ref, "boom", 1)  # retrying
    cancel(aws, "uploads/late.jpg", "v1")
    jobs.done(ref, "processed/late.jpg")
    assert item(aws, "uploads/late.jpg", "v1")[0]["state"]["S"] == "cancelled"
    assert answers(aws) == []


def test_each_attempt_keeps_the_message_id_it_came_in(aws, monkeypatch):
    """A redrive gives the job a new message id; each attempt's entry keeps its own, which
    `qfleet logs ENV --job ID` looks for."""
    ref = qj.JobRef("uploads/m.jpg", "v1", BUCKET)
    jobs = qj.Jobs(qj.JobConfig(dict(QFLEET_JOB_TABLE=TABLE, QFLEET_MAX_RECEIVE_COUNT="1",
                                     AWS_REGION=REGION)))

    def boom(meta, field):
        raise RuntimeError("boom")
    first = {"MessageId": "m-first", "Attributes": {"ApproximateReceiveCount": "1"}}
    with pytest.raises(RuntimeError):
        jobs.run_ref(ref, first, boom)
    again = {"messageId": "m-again", "attributes": {"ApproximateReceiveCount": "1"}}  # Lambda's
    assert jobs.run_ref(ref, again, lambda meta, field: "processed/m.jpg") == "processed/m.jpg"
    i, _ = item(aws, "uploads/m.jpg", "v1")
    attempts = [h["M"].get("message", {}).get("S") for h in i["history"]["L"]
                if h["M"]["state"]["S"] == "processing"]
    assert attempts == ["m-first", "m-again"]


def test_a_redriven_job_answers_failed_then_done_and_the_greatest_seq_is_the_latest(
        aws, monkeypatch):
    """docs/jobs.md's rule for consumers: per key and upload, keep the answer with the greatest
    `seq`. A job redriven after its failure answers twice, and the rule keeps `done`."""
    monkeypatch.setenv("QFLEET_JOB_TABLE", TABLE)
    ref = qj.JobRef("uploads/q.jpg", "v1", BUCKET)
    jobs = qj.Jobs(qj.JobConfig(dict(
        QFLEET_JOB_TABLE=TABLE, QFLEET_MAX_RECEIVE_COUNT="2", AWS_REGION=REGION,
        QFLEET_RESPONSE_QUEUE_URL=aws.responses)), sqs=aws.sqs)
    assert jobs.start(ref, 1) == "started"
    jobs.fail(ref, "boom", 1)  # retrying
    assert jobs.start(ref, 2) == "started"
    jobs.fail(ref, "boom", 2)  # the last receive: failed, answered
    assert jobs.start(ref, 1) == "started"  # `qfleet dlq redrive` sent it back
    jobs.done(ref, "processed/q.jpg")
    got = answers(aws)
    assert [(a["state"], a["seq"]) for a in got] == [("failed", 4), ("done", 6)]
    latest = max(got, key=lambda a: a["seq"])
    assert latest["state"] == "done"
    i, _ = item(aws, "uploads/q.jpg", "v1")
    assert i["seq"]["N"] == "6" and i["responded_seq"]["N"] == "6"


def test_a_worker_stopped_before_the_done_answer_of_a_redriven_job_answers_on_redelivery(
        aws, monkeypatch):
    """The failed answer was sent; the redriven run wrote `done` and stopped before answering.
    The redelivery is a duplicate that answers `done`: `responded` alone would have said the
    job was answered."""
    monkeypatch.setenv("QFLEET_JOB_TABLE", TABLE)
    ref = qj.JobRef("uploads/d.jpg", "v1", BUCKET)
    cfg = dict(QFLEET_JOB_TABLE=TABLE, QFLEET_MAX_RECEIVE_COUNT="1", AWS_REGION=REGION,
               QFLEET_RESPONSE_QUEUE_URL=aws.responses)
    jobs = qj.Jobs(qj.JobConfig(cfg), sqs=aws.sqs)
    assert jobs.start(ref, 1) == "started"
    jobs.fail(ref, "boom", 1)
    assert jobs.start(ref, 1) == "started"
    silent = qj.Jobs(qj.JobConfig(dict(cfg, QFLEET_RESPONSE_QUEUE_URL="")))
    silent.done(ref, "processed/d.jpg")  # stopped before its answer
    assert [a["state"] for a in answers(aws)] == ["failed"]
    assert jobs.start(ref, 2) == "duplicate"
    assert [(a["state"], a["seq"]) for a in answers(aws)] == [("done", 4)]
    assert jobs.start(ref, 3) == "duplicate"  # answered now: not again
    assert answers(aws) == []


def test_a_table_that_cannot_be_written_runs_no_job(aws, monkeypatch):
    aws.s3.put_object(Bucket=BUCKET, Key="uploads/x.jpg", Body=b"x")
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
    w.jobs.cfg.table = "no-such-table"
    ran = []
    w.job = lambda *a: ran.append(a) or "processed/x.jpg"
    aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/x.jpg", "v1"))
    w.run(once=True)
    assert ran == []
    got = aws.sqs.receive_message(QueueUrl=q, VisibilityTimeout=0)
    assert len(got.get("Messages", [])) == 1, "the message is still there, to be retried"


def test_one_stage_keeps_its_job_answers_once_and_skips_a_redelivery(aws, monkeypatch):
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/o.jpg", Body=b"o")["VersionId"]
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
    for _ in range(2):  # delivered twice
        aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/o.jpg", v))
        w.run(once=True)
    i, h = item(aws, "uploads/o.jpg", v)
    assert [s for s, _ in h] == ["queued", "processing", "done"]
    assert i["duplicates"]["N"] == "1" and i["worker"]["S"] == "i-"
    assert [a["state"] for a in answers(aws)] == ["done"]


DATA_STACK = os.environ.get("QFLEET_TEST_DATA_STACK", "qfleet-t-data")
KEYED_TABLE = {
    "Type": "AWS::DynamoDB::Table",
    "Properties": {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "key", "AttributeType": "S"},
                                 {"AttributeName": "upload", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "key", "KeyType": "HASH"},
                      {"AttributeName": "upload", "KeyType": "RANGE"}]}}
TABLE_TEMPLATE = json.dumps({"Resources": {"JobTable": KEYED_TABLE, "JobLeaseTable": KEYED_TABLE}})


def test_a_worker_given_the_data_stack_finds_its_table_there(aws, monkeypatch):
    """As a function's or a task's environment gives it (QFLEET_JOBS_STACK, and QFLEET_LEASES=on
    for the leases): CloudFormation names both tables, and the worker reads each name from the
    stack (DescribeStackResource). The first receive is the last here, so it takes a lease."""
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=DATA_STACK, TemplateBody=TABLE_TEMPLATE)
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/s.jpg", Body=b"s")["VersionId"]
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
    w.jobs.cfg.table = w.jobs.cfg.lease_table = ""
    w.jobs.cfg.stack, w.jobs.cfg.leases, w.jobs.cfg.max_receives = DATA_STACK, True, 1
    leased = []
    put = w.jobs._lease
    w.jobs._lease = lambda op, *a, **kw: leased.append(op) or put(op, *a, **kw)
    aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/s.jpg", v))
    w.run(once=True)
    name, leases = w.jobs.cfg.table, w.jobs.cfg.lease_table
    assert name.startswith(DATA_STACK + "-JobTable-"), name
    assert leases.startswith(DATA_STACK + "-JobLeaseTable-"), leases
    assert leased == ["put_item", "delete_item"], leased
    key = {"key": {"S": "uploads/s.jpg"}, "upload": {"S": v}}
    i = aws.ddb.get_item(TableName=name, Key=key)
    assert i["Item"]["state"]["S"] == "done"
    assert "Item" not in aws.ddb.get_item(TableName=leases, Key=key, ConsistentRead=True)


def test_only_an_output_the_next_stage_reads_carries_the_job():
    """The job's metadata goes on an output only where a next stage fed by objects reads it: a
    last stage's output, or one whose next stage reads messages, carries none (S3 keeps at most
    2 KB of user metadata, which a long key alone can pass)."""
    ref = qj.JobRef("uploads/" + "\u00e9" * 500, "v1")
    base = {"QFLEET_JOB_TABLE": "t"}
    for env, carried in [
        ({}, False),
        ({"QFLEET_NEXT_STAGE": "thumb"}, True),
        ({"QFLEET_NEXT_STAGE": "thumb", "QFLEET_NEXT_QUEUE_URL": "https://q"}, False),
    ]:
        jobs = qj.Jobs(qj.JobConfig(dict(base, **env)))
        meta = jobs.metadata(ref)
        assert bool(meta) == carried, env
        if carried:
            assert qj.linked_job(meta) == (ref.key, "v1")


def test_a_job_sent_as_a_message_is_kept_under_its_id_and_answered_once(aws, monkeypatch):
    """A producer's own SDK call: a JSON body and a `job_id` attribute. The worker records the
    job under that id, writes its record of the message, answers once, and a redelivery is a
    duplicate."""
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
    body = json.dumps({"photo": 42, "resize": "1080p"})
    attrs = {"job_id": {"DataType": "String", "StringValue": "order-42/resize"},
             "tenant": {"DataType": "String", "StringValue": "acme"}}
    for _ in range(2):  # delivered twice
        aws.sqs.send_message(QueueUrl=q, MessageBody=body, MessageAttributes=attrs)
        assert w.run(once=True) == 0
    i, h = item(aws, "order-42/resize", "job")
    assert i["state"]["S"] == "done" and i["duplicates"]["N"] == "1"
    assert [s for s, _ in h] == ["queued", "processing", "done"]
    out = i["output"]["S"]
    assert out == "processed/jobs/order-42%2Fresize.json"
    record = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=out)["Body"].read())
    assert record == {"job_id": "order-42/resize", "source": "message", "bytes": len(body),
                      "sha256": hashlib.sha256(body.encode()).hexdigest(),
                      "attributes": {"tenant": "acme"}}
    got = answers(aws)
    assert [(a["key"], a["upload"], a["state"], a["seq"]) for a in got] == [
        ("order-42/resize", "job", "done", 2)]
    assert aws.sqs.receive_message(QueueUrl=q, VisibilityTimeout=0).get("Messages") is None


def test_a_body_stored_in_the_bucket_is_read_as_the_extended_client_library_stores_it(
        aws, monkeypatch):
    """A body over SQS's limit: the producer (`qfleet submit`, or the Amazon SQS Extended Client
    Library) stores it under bodies/ and sends a pointer with ExtendedPayloadSize. The worker's
    job gets the stored body; the size attribute is not one of the job's attributes."""
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
    body = json.dumps({"photo": 43, "pixels": "x" * 4096})
    aws.s3.put_object(Bucket=BUCKET, Key="bodies/b-1", Body=body.encode())
    pointer = json.dumps(["software.amazon.payloadoffloading.PayloadS3Pointer",
                          {"s3BucketName": BUCKET, "s3Key": "bodies/b-1"}])
    attrs = {"job_id": {"DataType": "String", "StringValue": "big-1"},
             "ExtendedPayloadSize": {"DataType": "Number", "StringValue": str(len(body))}}
    aws.sqs.send_message(QueueUrl=q, MessageBody=pointer, MessageAttributes=attrs)
    assert w.run(once=True) == 0
    i, _ = item(aws, "big-1", "job")
    assert i["state"]["S"] == "done"
    record = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=i["output"]["S"])["Body"].read())
    assert record["bytes"] == len(body) and record["attributes"] == {}
    assert record["sha256"] == hashlib.sha256(body.encode()).hexdigest()
    # A pointer anywhere else fails the job, saying where it points; the body stays.
    for bucket, key in ((BUCKET, "uploads/elsewhere"), ("another-bucket", "bodies/b-1")):
        bad = json.dumps(["software.amazon.payloadoffloading.PayloadS3Pointer",
                          {"s3BucketName": bucket, "s3Key": key}])
        job = qw.message_job(bad, {"MessageAttributes": {
            "SQSLargePayloadSize": {"DataType": "Number", "StringValue": "9"}}})
        with pytest.raises(ValueError, match="only under s3://%s/bodies/" % BUCKET):
            qw.stored_body(aws.s3, BUCKET, job)
    job = qw.message_job('{"not": "a pointer"}', {"MessageAttributes": {
        "ExtendedPayloadSize": {"DataType": "Number", "StringValue": "9"}}})
    with pytest.raises(ValueError, match="not a stored body's pointer"):
        qw.stored_body(aws.s3, BUCKET, job)
    plain = qw.message_job("{}", {})
    assert qw.stored_body(None, BUCKET, plain) is plain


def test_a_message_without_a_job_id_is_a_job_of_its_message_id(aws, monkeypatch):
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
    sent = aws.sqs.send_message(QueueUrl=q, MessageBody="not JSON, still a job")
    w.run(once=True)
    i, _ = item(aws, "sqs:" + sent["MessageId"], "job")
    assert i["state"]["S"] == "done"


def test_an_sns_confirmation_is_never_a_job_and_never_confirmed(aws, monkeypatch):
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
    aws.sqs.send_message(QueueUrl=q, MessageBody=json.dumps({
        "Type": "SubscriptionConfirmation", "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:eu-west-1:444455556666:orders",
        "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"}))
    confirmed = []
    monkeypatch.setattr(qw.urllib.request, "urlopen", lambda *a, **k: confirmed.append(a))
    w.run(once=True)
    assert confirmed == []
    scan = aws.ddb.scan(TableName=TABLE)["Items"]
    assert scan == [], "no job recorded"
    assert aws.sqs.receive_message(QueueUrl=q, VisibilityTimeout=0).get("Messages") is None


# A last attempt's lease (docs/jobs.md, "A worker that stops"): qfleet_sweeper.py fails a job
# whose lease has passed. SQS: "The maxReceiveCount is the number of times a consumer can
# receive a message from a source queue before it is moved to a dead-letter queue"
# (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html):
# after the receive at QFLEET_MAX_RECEIVE_COUNT, no worker runs the job again.

# What the GSI design put on the job's item; the lease table's design puts nothing there.
NOT_ON_THE_JOB = {"lease_shard", "lease_until", "started", "failed_seq"}


def seconds_of(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def lease_jobs(aws, lease=30, **env):
    cfg = dict(QFLEET_JOB_TABLE=TABLE, QFLEET_MAX_RECEIVE_COUNT="2", AWS_REGION=REGION,
               QFLEET_RESPONSE_QUEUE_URL=aws.responses, QFLEET_ENVIRONMENT="t",
               QFLEET_LEASE_TABLE=LEASES)
    return qj.Jobs(qj.JobConfig(dict(cfg, **env)), ddb=aws.ddb, sqs=aws.sqs, worker="i-test",
                   lease=lease)


def lease_of(aws, ref):
    """The lease item of `ref`'s job, as plain values; None when there is none. Read from
    another thread: a read from inside a job is the test's, not the worker's, and the IAM test
    records only the calls whose stack is the worker's (tests/support/aws_calls.py)."""
    got = []
    t = threading.Thread(target=lambda: got.append(aws.ddb.get_item(
        TableName=LEASES, ConsistentRead=True,
        Key={"key": {"S": ref.key}, "upload": {"S": ref.upload}}).get("Item")))
    t.start()
    t.join()
    return got[0] and {k: list(v.values())[0] for k, v in got[0].items()}


def writes(aws):
    """The DynamoDB requests the test makes from here on: (operation, table)."""
    seen = []
    for op in ("PutItem", "UpdateItem", "DeleteItem"):
        aws.ddb.meta.events.register(
            "provide-client-params.dynamodb." + op,
            lambda params, op=op, **kw: seen.append((op, params["TableName"])))
    return seen


def test_only_the_last_attempt_puts_a_lease_and_before_its_start(aws):
    ref = qj.JobRef("uploads/l.jpg", "v1", BUCKET)
    jobs = lease_jobs(aws)
    seen = writes(aws)
    assert jobs.start(ref, 1) == "started"
    assert lease_of(aws, ref) is None and jobs.leased is None, "receive 1 of 2: no lease"
    assert seen == [("UpdateItem", TABLE)]
    jobs.fail(ref, "boom", 1)
    seen.clear()
    before = time.time()
    assert jobs.start(ref, 2) == "started"
    # The lease first: a last attempt never runs without one.
    assert seen[0] == ("PutItem", LEASES) and set(seen[1:]) == {("UpdateItem", TABLE)}
    i, _ = item(aws, ref.key, ref.upload)
    lease = lease_of(aws, ref)
    assert set(lease) == {"key", "upload", "stage_index", "lease_until", "started",
                          "expires_at"}
    assert (lease["key"], lease["upload"], lease["stage_index"]) == (ref.key, ref.upload, "0")
    # `started` is the updated_at of the start write: the sweeper's proof nothing followed.
    assert lease["started"] == i["updated_at"]["S"] and jobs.leased == (ref, lease["started"])
    until = seconds_of(lease["lease_until"])
    assert before + 30 - 0.01 <= until <= time.time() + 30, lease
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", lease["lease_until"])
    assert int(lease["expires_at"]) == int(until) + 86400  # TTL: a day after its end
    assert not NOT_ON_THE_JOB & set(i), "the job's item carries no lease"
    # A lease given as a function is read at the start: a Lambda invocation's remaining time.
    other = qj.JobRef("uploads/l2.jpg", "v1", BUCKET)
    jobs.lease = lambda: 90.0
    assert jobs.start(other, 2) == "started"
    assert abs(seconds_of(lease_of(aws, other)["lease_until"]) - (time.time() + 90)) < 5


def test_no_lease_without_a_lease_table_a_deadline_or_a_max_receive_count(aws):
    """An older data stack has no lease table (QFLEET_LEASE_TABLE unset): nothing is leased,
    and the job runs as before."""
    for n, (env, lease) in enumerate((({"QFLEET_LEASE_TABLE": ""}, 30), ({}, None),
                                      ({"QFLEET_MAX_RECEIVE_COUNT": ""}, 30))):
        ref = qj.JobRef("uploads/n.jpg", "v%d" % n, BUCKET)
        jobs = lease_jobs(aws, lease, **env)
        seen = writes(aws)
        assert jobs.start(ref, 5) == "started"
        assert lease_of(aws, ref) is None and jobs.leased is None, env
        assert ("PutItem", LEASES) not in seen
        jobs.done(ref, "processed/n.jpg")
        assert item(aws, ref.key, ref.upload)[0]["state"]["S"] == "done"


def test_a_lease_that_cannot_be_written_runs_no_job(aws, monkeypatch):
    """The last receive's lease is written first; when it cannot be, the start fails as a
    start that cannot be written does: no work, no record written, the message left to SQS."""
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/nl.jpg", Body=b"x")["VersionId"]
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
    w.jobs.cfg.max_receives = 1  # the first receive is the last
    w.jobs._ddb = aws.ddb

    def refused(**kw):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                     "Message": "throttled"}}, "PutItem")

    monkeypatch.setattr(aws.ddb, "put_item", refused)
    ran = []
    w.job = lambda *a: ran.append(a) or "processed/nl.jpg"
    aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/nl.jpg", v))
    w.run(once=True)
    assert ran == []
    assert "Item" not in aws.ddb.get_item(TableName=TABLE, Key={
        "key": {"S": "uploads/nl.jpg"}, "upload": {"S": v}})
    got = aws.sqs.receive_message(QueueUrl=q, VisibilityTimeout=0)
    assert len(got.get("Messages", [])) == 1, "the message is still there"
    with pytest.raises(qj.JobTableError, match="table %s: .*throttled" % LEASES):
        w.jobs.start(qj.JobRef("uploads/nl.jpg", v, BUCKET), 1)


@pytest.mark.parametrize("end", ["done", "failed", "retrying", "next stage"])
def test_every_write_that_ends_the_attempt_deletes_its_lease(aws, end):
    ref = qj.JobRef("uploads/e.jpg", "v1", BUCKET)
    jobs = lease_jobs(aws, **({"QFLEET_NEXT_STAGE": "b", "QFLEET_STAGE": "a"}
                              if end == "next stage" else {}))
    assert jobs.start(ref, 2) == "started"
    assert lease_of(aws, ref) is not None
    seen = writes(aws)
    if end in ("done", "next stage"):
        jobs.done(ref, "processed/e.jpg")
    else:  # a failure at the last receive fails the job; one before it retries
        jobs.fail(ref, "boom", 2 if end == "failed" else 1)
    i, _ = item(aws, ref.key, ref.upload)
    assert i["state"]["S"] == {"next stage": "queued"}.get(end, end)
    assert lease_of(aws, ref) is None and jobs.leased is None
    # The lease goes right after the write that ended the attempt.
    assert seen[:2] == [("UpdateItem", TABLE), ("DeleteItem", LEASES)], seen


def test_a_duplicate_at_its_last_receive_leaves_no_lease(aws):
    """A job done, delivered again at its last receive: the lease put first goes as soon as
    the start finds the duplicate, and nothing runs."""
    ref = qj.JobRef("uploads/dup.jpg", "v1", BUCKET)
    jobs = lease_jobs(aws)
    assert jobs.start(ref, 1) == "started"
    jobs.done(ref, "processed/dup.jpg")
    seen = writes(aws)
    assert jobs.start(ref, 2) == "duplicate"
    assert seen[0] == ("PutItem", LEASES) and ("DeleteItem", LEASES) in seen
    assert lease_of(aws, ref) is None and jobs.leased is None


def test_a_lease_that_cannot_be_deleted_is_left_to_the_sweeper_and_the_job_still_ends(
        aws, capsys):
    ref = qj.JobRef("uploads/kd.jpg", "v1", BUCKET)
    jobs = lease_jobs(aws)
    assert jobs.start(ref, 2) == "started"
    jobs.cfg.lease_table = "no-such-lease-table"
    jobs.done(ref, "processed/kd.jpg")
    assert item(aws, ref.key, ref.upload)[0]["state"]["S"] == "done"
    assert [a["state"] for a in answers(aws)] == ["done"]
    assert "qfleet-jobs lease: table no-such-lease-table" in capsys.readouterr().err
    assert lease_of(aws, ref) is not None and jobs.leased is None


def test_a_redriven_start_takes_no_lease_and_leaves_the_old_one_to_the_sweeper(aws):
    """A message redriven from the dead-letter queue starts again at receive 1: not a last
    attempt. The old lease, if its attempt left one, is not this attempt's: the sweeper finds
    the job moved on and deletes it."""
    ref = qj.JobRef("uploads/r1.jpg", "v1", BUCKET)
    jobs = lease_jobs(aws)
    assert jobs.start(ref, 2) == "started"
    old = lease_of(aws, ref)
    assert jobs.start(ref, 1) == "started"
    assert jobs.leased is None and lease_of(aws, ref) == old
    assert item(aws, ref.key, ref.upload)[0]["updated_at"]["S"] != old["started"]


def test_the_next_stage_starting_first_keeps_its_own_lease(aws):
    """Stage b's last attempt started before stage a's done write (its message came first):
    b's lease replaces a's, and a's done, which only appends its entry, leaves b's alone (its
    delete is on a's `started`)."""
    ref = qj.JobRef("uploads/s.jpg", "v1", BUCKET)
    first = lease_jobs(aws, QFLEET_STAGE="a", QFLEET_NEXT_STAGE="b")
    second = lease_jobs(aws, 600, QFLEET_STAGE="b", QFLEET_STAGE_INDEX="1")
    assert first.start(ref, 2) == "started"
    time.sleep(0.002)  # another millisecond: another `started`
    assert second.start(ref, 2) == "started"
    b_lease = lease_of(aws, ref)
    assert b_lease["stage_index"] == "1" and b_lease["started"] == second.leased[1]
    first.done(ref, "b/s.jpg")
    i, h = item(aws, ref.key, ref.upload)
    assert ("done", "a") in h and i["stage_index"]["N"] == "1"
    assert lease_of(aws, ref) == b_lease and first.leased is None
    assert first.renew(ref, 30) is False  # a's lease is gone: nothing to renew


def test_an_earlier_stage_s_redelivery_never_replaces_a_later_stage_s_lease(aws):
    """Stage a's message comes again at its last receive while stage b's last attempt runs:
    a's lease is refused (a later stage holds the job), its start finds a duplicate, and b's
    lease, which the sweeper needs if b's worker stops, stays."""
    ref = qj.JobRef("uploads/s2.jpg", "v1", BUCKET)
    first = lease_jobs(aws, QFLEET_STAGE="a", QFLEET_NEXT_STAGE="b")
    second = lease_jobs(aws, 600, QFLEET_STAGE="b", QFLEET_STAGE_INDEX="1")
    assert first.start(ref, 1) == "started"
    first.done(ref, "b/s2.jpg")
    assert second.start(ref, 2) == "started"
    b_lease = lease_of(aws, ref)
    assert first.start(ref, 2) == "duplicate" and first.leased is None
    assert lease_of(aws, ref) == b_lease


def test_renew_moves_the_lease_only_while_the_attempt_holds_it(aws):
    ref = qj.JobRef("uploads/w.jpg", "v1", BUCKET)
    jobs = lease_jobs(aws)
    assert jobs.start(ref, 2) == "started"
    l0, (i0, h0) = lease_of(aws, ref), item(aws, ref.key, ref.upload)
    time.sleep(0.01)
    assert jobs.renew(ref, 300) is True
    l1, (i1, h1) = lease_of(aws, ref), item(aws, ref.key, ref.upload)
    assert seconds_of(l1["lease_until"]) - seconds_of(l0["lease_until"]) > 250
    assert int(l1["expires_at"]) > int(l0["expires_at"]) + 250
    assert l1["started"] == l0["started"] and l1["stage_index"] == l0["stage_index"]
    # Only the lease moves: the job's record is as its start left it, which the sweeper checks.
    assert (i1, h1) == (i0, h0)
    jobs.done(ref, "processed/w.jpg")
    assert jobs.renew(ref, 300) is False  # ended: no lease comes back
    assert lease_of(aws, ref) is None
    never = qj.JobRef("uploads/w2.jpg", "v1", BUCKET)
    assert jobs.start(never, 1) == "started"
    assert jobs.renew(never, 300) is False  # a first attempt holds none to renew
    assert lease_of(aws, never) is None


def test_renew_moves_only_its_own_attempt_s_lease_and_keeps_the_sweeper_s_mark(aws):
    """A lease another attempt put since is not renewed. One the sweeper marked with the
    failure's seq keeps its mark: the sweeper answers a lost answer once the lease passes."""
    ref = qj.JobRef("uploads/w3.jpg", "v1", BUCKET)
    jobs = lease_jobs(aws)
    assert jobs.start(ref, 2) == "started"
    key = {"key": {"S": ref.key}, "upload": {"S": ref.upload}}
    aws.ddb.update_item(TableName=LEASES, Key=key, UpdateExpression="SET failed_seq = :s",
                        ExpressionAttributeValues={":s": {"N": "2"}})
    before = lease_of(aws, ref)
    assert jobs.renew(ref, 300) is True
    after = lease_of(aws, ref)
    assert after["failed_seq"] == "2" and after["lease_until"] > before["lease_until"]
    aws.ddb.put_item(TableName=LEASES, Item=dict(key, started={"S": "another start"}))
    assert jobs.renew(ref, 300) is False
    assert lease_of(aws, ref) == {"key": ref.key, "upload": ref.upload,
                                  "started": "another start"}


def test_renew_never_brings_back_a_lease_deleted_under_it(aws):
    """The sweeper deleted the lease (it found the job moved on) while the worker still held
    it: the renew is refused, and writes no new lease."""
    ref = qj.JobRef("uploads/w4.jpg", "v1", BUCKET)
    jobs = lease_jobs(aws)
    assert jobs.start(ref, 2) == "started"
    aws.ddb.delete_item(TableName=LEASES, Key={"key": {"S": ref.key}, "upload": {"S": "v1"}})
    assert jobs.renew(ref, 300) is False and lease_of(aws, ref) is None


def test_renew_says_why_when_the_table_cannot_be_written(aws):
    jobs = lease_jobs(aws, QFLEET_LEASE_TABLE="no-such-table")
    ref = qj.JobRef("uploads/x.jpg", "v1")
    jobs.leased = (ref, "2026-11-24T19:55:00.120Z")
    with pytest.raises(qj.JobTableError, match="no-such-table"):
        jobs.renew(ref, 30)


def test_the_worker_s_heartbeat_renews_the_lease_of_a_last_attempt(aws, monkeypatch, capsys):
    """The reference worker's lease is its visibility timeout; each heartbeat that extends the
    message's visibility extends the lease as far. A renew that fails is logged and the job
    goes on."""
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/h.jpg", Body=b"h")["VersionId"]
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE,
                 visibility="2")
    w.jobs.cfg.max_receives = 1  # the first receive is the last
    seen = []

    def slow(s3, bucket, key, cfg, **kw):
        seen.append(lease_of(aws, qj.JobRef(key, versions[key]))["lease_until"])
        time.sleep(2.6)  # the heartbeat beats at 1 s and 2 s
        seen.append(lease_of(aws, qj.JobRef(key, versions[key]))["lease_until"])
        return qw.process(s3, bucket, key, cfg, **kw)

    versions = {"uploads/h.jpg": v}
    w.job = slow
    aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/h.jpg", v))
    w.run(once=True)
    first, last = (seconds_of(t) for t in seen)
    assert last - first >= 0.9, seen  # renewed: 2 s from the latest beat
    assert item(aws, "uploads/h.jpg", v)[0]["state"]["S"] == "done"
    assert lease_of(aws, qj.JobRef("uploads/h.jpg", v)) is None

    # The table refuses the renew: logged, and the job is still done.
    v2 = aws.s3.put_object(Bucket=BUCKET, Key="uploads/h2.jpg", Body=b"h")["VersionId"]
    versions["uploads/h2.jpg"] = v2
    renews = []

    def refuse(ref, seconds):
        renews.append((ref.key, seconds))
        raise qj.JobTableError("lease table: throttled")

    monkeypatch.setattr(w.jobs, "renew", refuse)
    seen.clear()
    aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/h2.jpg", v2))
    w.run(once=True)
    assert renews and all(r == ("uploads/h2.jpg", 2) for r in renews)
    assert seen[0] == seen[1]  # not renewed
    assert item(aws, "uploads/h2.jpg", v2)[0]["state"]["S"] == "done"
    assert "qfleet-worker lease: JobTableError('lease table: throttled')" in \
        capsys.readouterr().err


def test_a_worker_not_on_a_last_attempt_renews_nothing(aws, monkeypatch):
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/k.jpg", Body=b"k")["VersionId"]
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE,
                 visibility="2")
    renews = []
    monkeypatch.setattr(w.jobs, "renew", lambda *a: renews.append(a))

    def slow(s3, bucket, key, cfg, **kw):
        time.sleep(1.3)
        return qw.process(s3, bucket, key, cfg, **kw)

    w.job = slow
    beats = []
    aws.sqs.meta.events.register("provide-client-params.sqs.ChangeMessageVisibility",
                                 lambda params, **kw: beats.append(params))
    aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/k.jpg", v))
    w.run(once=True)  # receive 1 of 2
    assert beats and renews == []
    assert item(aws, "uploads/k.jpg", v)[0]["state"]["S"] == "done"
    assert lease_of(aws, qj.JobRef("uploads/k.jpg", v)) is None


def test_a_heartbeat_that_could_not_extend_the_visibility_renews_no_lease(monkeypatch):
    """The lease follows the message's visibility: a beat whose change failed renews none."""
    calls = []

    class Sqs:
        def change_message_visibility(self, **kw):
            calls.append("visibility")
            raise RuntimeError("throttled")

    hb = qw.Heartbeat(Sqs(), "https://q", "rh", 1, lambda: calls.append("lease"))
    hb.start()
    time.sleep(1.3)
    hb.stop()
    assert calls and set(calls) == {"visibility"}


# A message the worker received but will not run, as it stops: on its last receive, no attempt
# follows (SQS dead-letters it at the next receive), so its job fails, and it is answered.

def stopping_worker(monkeypatch, aws, **kw):
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE, **kw)
    w.jobs._ddb = aws.ddb  # its requests seen by `writes`
    aws.sqs.meta.events.register("after-call.sqs.ReceiveMessage", lambda **_: w.stop.set())
    ran = []
    w.job = lambda *a, **k: ran.append(a) or "processed/never.jpg"
    return w, q, ran


def test_a_stopping_worker_fails_a_last_receive_message_it_releases(aws, monkeypatch, capsys):
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/st.jpg", Body=b"s")["VersionId"]
    w, q, ran = stopping_worker(monkeypatch, aws)
    w.jobs.cfg.max_receives = 1  # the first receive is the last
    aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/st.jpg", v))
    assert w.run() == 0
    assert ran == [] and "outcome=released" in capsys.readouterr().out
    i, h = item(aws, "uploads/st.jpg", v)
    assert i["state"]["S"] == "failed" and h[-1] == ("failed", None)
    assert i["error"]["S"] == "not started: the worker was stopping on its last attempt"
    assert "attempts" not in i, "no attempt was made"
    got = answers(aws)
    assert [(a["state"], a["error"], a["seq"]) for a in got] == [
        ("failed", i["error"]["S"], 1)]
    assert lease_of(aws, qj.JobRef("uploads/st.jpg", v)) is None
    assert w.jobs.halt == ""
    # Released as before: SQS dead-letters it at its next receive.
    assert len(aws.sqs.receive_message(QueueUrl=q, VisibilityTimeout=0)["Messages"]) == 1


def test_a_stopping_worker_fails_a_job_message_that_retried_before(aws, monkeypatch):
    """A job sent as a message, retried once, then received by a stopping worker at its last
    receive: the record it had goes on to failed, with one more seq."""
    q = aws.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    attrs = {"job_id": {"DataType": "String", "StringValue": "order-7"}}
    aws.sqs.send_message(QueueUrl=q, MessageBody="{}", MessageAttributes=attrs)
    aws.sqs.receive_message(QueueUrl=q, VisibilityTimeout=0)  # receive 1 of 2
    first = lease_jobs(aws)
    ref = qj.JobRef("order-7", "job")
    assert first.start(ref, 1) == "started"
    first.fail(ref, "boom", 1)  # retrying
    w, q, ran = stopping_worker(monkeypatch, aws)
    assert w.run() == 0  # receive 2: the last
    i, h = item(aws, "order-7", "job")
    assert ran == [] and i["state"]["S"] == "failed" and i["seq"]["N"] == "3"
    assert [s for s, _ in h] == ["queued", "processing", "retrying", "failed"]
    assert [a["state"] for a in answers(aws)] == ["failed"]


def test_a_stopping_worker_before_the_last_receive_writes_nothing(aws, monkeypatch, capsys):
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/st2.jpg", Body=b"s")["VersionId"]
    w, q, ran = stopping_worker(monkeypatch, aws)
    aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/st2.jpg", v))
    seen = writes(aws)
    assert w.run() == 0  # receive 1 of 2
    assert ran == [] and seen == [] and answers(aws) == []
    assert "outcome=released" in capsys.readouterr().out


def test_a_stopping_worker_releases_a_message_whose_job_it_cannot_tell(aws, monkeypatch,
                                                                        capsys):
    w, q, ran = stopping_worker(monkeypatch, aws)
    w.jobs.cfg.max_receives = 1
    attrs = {"job_id": {"DataType": "String", "StringValue": "j" * 1025}}  # over 1,024 bytes
    aws.sqs.send_message(QueueUrl=q, MessageBody="{}", MessageAttributes=attrs)
    assert w.run() == 0
    captured = capsys.readouterr()
    assert "outcome=released" in captured.out and "qfleet-worker not-started" in captured.err
    assert aws.ddb.scan(TableName=TABLE)["Items"] == [] and answers(aws) == []
    assert len(aws.sqs.receive_message(QueueUrl=q, VisibilityTimeout=0)["Messages"]) == 1


def test_a_retrying_attempt_says_when_the_next_one_comes(aws):
    """queue.retry: the history's retrying entry holds retry_at, the time the failed attempt's
    message is visible again (`qfleet jobs ID` shows it); a last attempt's failure has none."""
    jobs = lease_jobs(aws)
    ref = qj.JobRef("order-9", "job")
    assert jobs.start(ref, 1) == "started"
    jobs.retry_in = lambda: 90
    before = time.time()
    jobs.fail(ref, "boom", 1)
    i, h = item(aws, "order-9", "job")
    entry = i["history"]["L"][-1]["M"]
    assert entry["state"]["S"] == "retrying" and entry["attempt"]["N"] == "1"
    at = datetime.datetime.strptime(entry["retry_at"]["S"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    assert before + 89 <= at <= time.time() + 91
    assert entry["at"]["S"] < entry["retry_at"]["S"]  # ISO 8601 in UTC sorts as text
    assert jobs.start(ref, 2) == "started"
    jobs.fail(ref, "boom", 2)  # the last receive (QFLEET_MAX_RECEIVE_COUNT 2): failed
    i, h = item(aws, "order-9", "job")
    assert i["state"]["S"] == "failed" and "retry_at" not in i["history"]["L"][-1]["M"]


def late(run_ref, ended):
    """`run_ref` reached 0.8 s late by an attempt's thread (the worker's own call, on the main
    thread, at once); `ended` set once the late call returns."""
    def slow(*a, **k):
        if threading.current_thread() is threading.main_thread():
            return run_ref(*a, **k)
        time.sleep(0.8)
        try:
            return run_ref(*a, **k)
        finally:
            ended.set()
    return slow


def test_an_attempt_given_up_before_it_began_never_runs_nor_writes(aws, monkeypatch):
    """A thread slower to start than workers.job_timeout (a loaded machine, a slow table):
    given up before its job began, it neither starts the record nor runs the job."""
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
    w.cfg.job_timeout = 0.3
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/late.txt", Body=b"x")["VersionId"]
    aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/late.txt", v))
    ran, ended = [], threading.Event()
    w.job = lambda *a, **k: ran.append(a)
    w.jobs.run_ref = late(w.jobs.run_ref, ended)
    assert w.run() == 3
    assert ended.wait(10)
    assert ran == []
    assert "Item" not in aws.ddb.get_item(TableName=TABLE, ConsistentRead=True, Key={
        "key": {"S": "uploads/late.txt"}, "upload": {"S": v}})

    # On its last receive it fails, as a job not started does: never left `queued` while its
    # message goes to the dead-letter queue.
    aws.sqs.purge_queue(QueueUrl=q)  # the first message, back after its retry wait of 0 s
    w2, q2 = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
    w2.cfg.job_timeout, w2.jobs.cfg.max_receives = 0.3, 1
    w2.job = w.job
    ended.clear()
    w2.jobs.run_ref = late(w2.jobs.run_ref, ended)
    v2 = aws.s3.put_object(Bucket=BUCKET, Key="uploads/late2.txt", Body=b"x")["VersionId"]
    aws.sqs.send_message(QueueUrl=q2, MessageBody=event("uploads/late2.txt", v2))
    assert w2.run() == 3
    assert ended.wait(10) and ran == []
    i = item_or_none(aws, "uploads/late2.txt", v2)
    assert i["state"]["S"] == "failed" and "timed out after 0.3 s" in i["error"]["S"], i


def test_a_timed_out_attempt_is_recorded_as_one_and_retried_as_a_failure(aws, monkeypatch):
    """workers.job_timeout with jobs: the attempt's history entry says timed_out, with the
    limit in its error; the job goes on retrying as after a failure."""
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
    w.cfg.job_timeout = 0.3
    aws.s3.put_object(Bucket=BUCKET, Key="uploads/slow.txt", Body=b"x")
    aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/slow.txt", "v1"))
    release, ended = threading.Event(), threading.Event()
    w.job = lambda *a, **k: release.wait(10)
    run_ref = w.jobs.run_ref

    def watched(*a, **k):
        try:
            return run_ref(*a, **k)
        finally:
            ended.set()
    w.jobs.run_ref = watched
    assert w.run() == 3  # the timeout alone ends the run
    # The given-up attempt's thread ends after all, and records nothing: not `done`.
    release.set()
    assert ended.wait(10)
    i, h = item(aws, "uploads/slow.txt", "v1")
    assert [s for s, _ in h].count("done") == 0, h
    entry = i["history"]["L"][-1]["M"]
    assert i["state"]["S"] == "retrying" and entry["state"]["S"] == "retrying"
    assert entry["timed_out"]["BOOL"] is True
    assert "timed out after 0.3 s (workers.job_timeout)" in entry["error"]["S"]


class Atomic:
    """The DynamoDB client, one request at a time: DynamoDB applies a conditional write to an
    item atomically ("Condition expressions", Amazon DynamoDB Developer Guide,
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html);
    moto, called from several threads, checks and writes in separate steps."""

    def __init__(self, client):
        self.client, self.lock = client, threading.Lock()

    def __getattr__(self, name):
        call = getattr(self.client, name)

        def locked(*a, **k):
            with self.lock:
                return call(*a, **k)
        return locked


def limited(monkeypatch, aws, limits, names=("a", "b", "c")):
    """Workers of one queue whose jobs hold a slot of each of `limits` (QFLEET_LIMITS)."""
    monkeypatch.setenv("QFLEET_LIMITS", limits)
    # One lock for all the workers: each with its own, two could check and write the same
    # slot at once in moto, which DynamoDB never lets happen.
    atomic = Atomic(aws.ddb)
    workers = []
    for n in names:
        w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
        w.jobs._ddb = atomic
        workers.append(w)
    return workers, q


def test_a_limit_of_two_never_has_three_jobs_running_and_a_waiting_job_is_no_attempt(
        aws, monkeypatch):
    """limits: {db: 2} across three workers: at most two jobs run at once; the third waits, its
    message held, and runs once a slot is free; every job done at its first attempt."""
    workers, q = limited(monkeypatch, aws, "db=2")
    lock, running, peak = threading.Lock(), [0], [0]

    def job(s3, bucket, key, cfg, **kw):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.6)
        with lock:
            running[0] -= 1
        return qw.process(s3, bucket, key, cfg, **kw)

    versions = {}
    for i in range(6):
        key = "uploads/l%d.txt" % i
        versions[key] = aws.s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")["VersionId"]
        aws.sqs.send_message(QueueUrl=q, MessageBody=event(key, versions[key]))
    for w in workers:
        w.job = job
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    for t in threads:
        t.start()

    def states():
        return [aws.ddb.get_item(TableName=TABLE, ConsistentRead=True, Key={
            "key": {"S": k}, "upload": {"S": v}}).get("Item", {}).get("state", {}).get("S")
            for k, v in versions.items()]
    deadline = time.monotonic() + 60
    while states() != ["done"] * 6 and time.monotonic() < deadline:
        time.sleep(0.2)
    for w in workers:
        w.stop.set()
    for t in threads:
        t.join(30)
    assert peak[0] == 2, peak
    for key, v in versions.items():
        i, h = item(aws, key, v)
        assert i["state"]["S"] == "done" and int(i["attempts"]["N"]) == 1, (key, h)
    # Every slot was given back: none is held.
    held = aws.ddb.scan(TableName=LEASES)["Items"]
    assert [x for x in held if x["key"]["S"].startswith(qj.LIMIT_KEY)] == [], held


def test_a_slot_whose_holder_stopped_is_free_once_its_time_passed(aws, monkeypatch, capsys):
    """A slot's holder that stopped leaves it held till `held_until`: then another takes it.
    A slot held for longer keeps the job waiting; a worker stopping meanwhile releases the
    message, its job still queued and never attempted."""
    (w,), q = limited(monkeypatch, aws, "db=1", names=("a",))
    # Within the clocks' allowance the slot is still its holder's; past it, free.
    slot = {"key": {"S": qj.LIMIT_KEY + "db"}, "upload": {"S": "slot-0"},
            "holder": {"S": "gone/1"}, "held_until": {"N": str(time.time() - 2)}}
    aws.ddb.put_item(TableName=LEASES, Item=slot)
    assert not w.jobs.slots(lambda s: True) and w.jobs.held == []
    slot["held_until"] = {"N": str(time.time() - qj.LIMIT_SKEW - 1)}
    aws.ddb.put_item(TableName=LEASES, Item=slot)
    assert w.jobs.slots(lambda s: pytest.fail("waited for a slot whose time passed"))
    assert w.jobs.held == [(qj.LIMIT_KEY + "db", "slot-0")]
    # A heartbeat that finds its slot taken (its time ran out) lets it go, and says so.
    aws.ddb.update_item(TableName=LEASES, Key={k: slot[k] for k in ("key", "upload")},
                        UpdateExpression="SET holder = :o", ExpressionAttributeValues={
                            ":o": {"S": "other/2"}})
    w.jobs.beat(30)
    assert w.jobs.held == []
    assert "slot-0 was taken by another worker" in capsys.readouterr().err
    aws.ddb.delete_item(TableName=LEASES, Key={k: slot[k] for k in ("key", "upload")})
    assert aws.ddb.scan(TableName=LEASES)["Items"] == []

    slot["held_until"] = {"N": str(time.time() + 600)}
    aws.ddb.put_item(TableName=LEASES, Item=slot)
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/w.txt", Body=b"x")["VersionId"]
    aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/w.txt", v))
    timer = threading.Timer(1.5, w.stop.set)
    timer.daemon = True
    timer.start()
    w.job = lambda *a, **k: pytest.fail("ran over its limit")
    t0 = time.monotonic()
    assert w.run(once=True) == 0
    assert time.monotonic() - t0 >= 1.4  # it waited for the slot
    got = aws.sqs.receive_message(QueueUrl=q, AttributeNames=["ApproximateReceiveCount"])
    assert len(got["Messages"]) == 1  # released at once, not hidden
    # No attempt began: the job's record is not written (an upload's arrival writes `queued`).
    assert "Item" not in aws.ddb.get_item(TableName=TABLE, ConsistentRead=True, Key={
        "key": {"S": "uploads/w.txt"}, "upload": {"S": v}})
    assert w.jobs.held == []
    assert aws.ddb.get_item(TableName=LEASES, Key={k: slot[k] for k in ("key", "upload")}
                            )["Item"]["holder"]["S"] == "gone/1"


def test_a_lease_table_that_cannot_be_read_holds_the_job(aws, monkeypatch, capsys):
    """Fail closed: a slot that cannot be counted is not taken, and the job waits (said once)."""
    (w,), q = limited(monkeypatch, aws, "db=1", names=("a",))

    def refuse(*a, **k):
        raise qj.JobTableError("lease table: AccessDenied")
    monkeypatch.setattr(w.jobs, "_call", refuse)
    waits = []
    assert not w.jobs.slots(lambda s: waits.append(s) or len(waits) >= 3)
    assert len(waits) == 3 and w.jobs.held == []
    assert capsys.readouterr().err.count("qfleet-jobs limits: lease table: AccessDenied") == 1
