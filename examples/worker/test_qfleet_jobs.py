"""Tests of the job table's protocol (qfleet_jobs.py, docs/jobs.md) through the reference worker,
against moto's in-process AWS mock (no network): a pipeline's two stages on one job (fed by
objects and by messages), the next stage starting before the earlier one's done write, a job
failed then redriven, and a table that cannot be written (the job is not run)."""
import json
import os
import urllib.parse

import boto3
import pytest
from moto import mock_aws

import qfleet_jobs as qj
import qfleet_worker as qw

REGION = "eu-west-1"
# The names are the environment's when the IAM test runs these tests under its worker policy.
BUCKET = os.environ.get("QFLEET_TEST_BUCKET", "qfleet-jobs-bucket")
QUEUE = os.environ.get("QFLEET_TEST_QUEUE", "qfleet-t-jobs")
TABLE = os.environ.get("QFLEET_TEST_TABLE", "qfleet-t-job-table")
RESPONSES = os.environ.get("QFLEET_TEST_RESPONSES", "qfleet-t-responses")


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
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                  for n in ("key", "upload", "recent", "updated_at")],
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"},
                       {"AttributeName": "upload", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{
                "IndexName": "recent",
                "KeySchema": [{"AttributeName": "recent", "KeyType": "HASH"},
                              {"AttributeName": "updated_at", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"}}])
        responses = sqs.create_queue(QueueName=RESPONSES)["QueueUrl"]
        yield type("Aws", (), dict(s3=s3, sqs=sqs, ddb=ddb, responses=responses))


def stage(monkeypatch, aws, index, name, nxt, reads, writes, next_queue=None, queue=None):
    """A worker of one stage, its settings as the stage's user data gives them."""
    q = aws.sqs.create_queue(QueueName=queue or "q-" + name)["QueueUrl"]
    env = {"QFLEET_JOB_TABLE": TABLE, "QFLEET_RESPONSE_QUEUE_URL": aws.responses,
           "QFLEET_STAGE": name, "QFLEET_STAGE_INDEX": str(index), "QFLEET_NEXT_STAGE": nxt,
           "QFLEET_MAX_RECEIVE_COUNT": "2", "QFLEET_ENVIRONMENT": "t"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cfg = qw.Config({"QFLEET_QUEUE_URL": q, "QFLEET_BUCKET": BUCKET, "QFLEET_UPLOAD_PREFIX": reads,
                     "QFLEET_PROCESSED_PREFIX": writes, "QFLEET_WAIT_SECONDS": "0",
                     "QFLEET_RETRY_BACKOFF": "0", "QFLEET_VISIBILITY_TIMEOUT": "30",
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
    w, q = stage(monkeypatch, aws, 0, "only", "", "uploads/", "processed/")
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
TABLE_TEMPLATE = json.dumps({"Resources": {"JobTable": {
    "Type": "AWS::DynamoDB::Table",
    "Properties": {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "key", "AttributeType": "S"},
                                 {"AttributeName": "upload", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "key", "KeyType": "HASH"},
                      {"AttributeName": "upload", "KeyType": "RANGE"}]}}}})


def test_a_worker_given_the_data_stack_finds_its_table_there(aws, monkeypatch):
    """As a function's or a task's environment gives it (QFLEET_JOBS_STACK): CloudFormation
    names the table, and the worker reads the name from the stack (DescribeStackResource)."""
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=DATA_STACK, TemplateBody=TABLE_TEMPLATE)
    v = aws.s3.put_object(Bucket=BUCKET, Key="uploads/s.jpg", Body=b"s")["VersionId"]
    w, q = stage(monkeypatch, aws, 0, "", "", "uploads/", "processed/", queue=QUEUE)
    w.jobs.cfg.table = ""
    w.jobs.cfg.stack = DATA_STACK
    aws.sqs.send_message(QueueUrl=q, MessageBody=event("uploads/s.jpg", v))
    w.run(once=True)
    name = w.jobs.cfg.table
    assert name.startswith(DATA_STACK + "-JobTable-"), name
    i = aws.ddb.get_item(TableName=name, Key={"key": {"S": "uploads/s.jpg"}, "upload": {"S": v}})
    assert i["Item"]["state"]["S"] == "done"


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
            assert urllib.parse.unquote(meta[qj.JOB_META_KEY]) == ref.key


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
                      "sha256": qw.hashlib.sha256(body.encode()).hexdigest(),
                      "attributes": {"tenant": "acme"}}
    got = answers(aws)
    assert [(a["key"], a["upload"], a["state"], a["seq"]) for a in got] == [
        ("order-42/resize", "job", "done", 2)]
    assert aws.sqs.receive_message(QueueUrl=q, VisibilityTimeout=0).get("Messages") is None


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
