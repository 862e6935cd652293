"""A job's whole path through a two-stage pipeline (docs/jobs.md), against moto's in-process AWS
mock: every way a job comes in (an upload, a message with or without `job_id`, SNS's envelope,
a schedule's run, a FIFO queue), the second stage fed by the objects the first writes or by its
messages, with the reference worker and with the Lambda handler. Each ends with the job's record
`done` (or failed, then redriven and done; or cancelled while it waits at either stage, never
run) and exactly one response per job done or failed; a job that fails
for good sends one notice, whose commands run as printed. Keys and job ids of S3's 1,024 bytes
go through both stages.

Between the stages, what AWS does is done here as AWS does it: S3's event for an object written
(its key URL-encoded, its version id), SQS's move to the dead-letter queue after
maxReceiveCount receives (moto's), and a redrive as a new message with the same body and
attributes."""
import hashlib
import json
import shlex
import urllib.parse
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

import qfleet_handler as qh
import qfleet_jobs as qj
import qfleet_worker as qw
from qfleet_shared import Notices

REGION = "eu-west-1"
BUCKET = "qfleet-journeys"
TABLE, LEASES, RESPONSES = "qfleet-j-jobs", "qfleet-j-leases", "qfleet-j-responses"
ALERTS = "arn:aws:sns:eu-west-1:123456789012:qfleet-photos-alarms"
# The two stages of examples/jobs.yaml, with prefixes of one length: an input key of S3's
# 1,024 bytes makes an output key of as many.
FIRST = dict(name="resize", reads="uploads/", writes="resized/")
SECOND = dict(name="thumbnail", reads="resized/", writes="thumbed/")


@pytest.fixture
def aws(monkeypatch):
    for k in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "QFLEET_NEXT_QUEUE_URL",
              "QFLEET_ASG_NAME", "QFLEET_JOBS_STACK"):
        monkeypatch.delenv(k, raising=False)
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(qh, "_s3", None)
    monkeypatch.setattr(qh, "_sqs", None)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        sqs = boto3.client("sqs", region_name=REGION)
        ddb = boto3.client("dynamodb", region_name=REGION)
        keyed = dict(BillingMode="PAY_PER_REQUEST", AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("key", "upload")],
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"},
                       {"AttributeName": "upload", "KeyType": "RANGE"}])
        ddb.create_table(TableName=TABLE, **keyed)
        ddb.create_table(TableName=LEASES, **keyed)
        responses = sqs.create_queue(QueueName=RESPONSES)["QueueUrl"]
        yield SimpleNamespace(s3=s3, sqs=sqs, ddb=ddb, responses=responses, notices=[])


class Sns:
    """The alerts topic: what a stage's notices publish."""

    def __init__(self, sent):
        self.sent = sent

    def publish(self, **kw):
        self.sent.append(kw)
        return {"MessageId": "n-%d" % len(self.sent)}


class Context:
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self):
        return 30000


def queue(aws, name, fifo=False, max_receive=2):
    """A stage's queue and its dead-letter queue (maxReceiveCount receives, then moved)."""
    suffix, attrs = (".fifo", {"FifoQueue": "true"}) if fifo else ("", {})
    dlq = aws.sqs.create_queue(QueueName=name + "-dlq" + suffix, Attributes=attrs)["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    url = aws.sqs.create_queue(QueueName=name + suffix, Attributes=dict(attrs, **{
        "VisibilityTimeout": "30", "RedrivePolicy": json.dumps({
            "deadLetterTargetArn": arn, "maxReceiveCount": str(max_receive)})}))["QueueUrl"]
    return url, dlq


class Stage:
    """One stage's workers, with the variables the fleet gives them (templates/user-data.sh.j2,
    lambda.yaml.j2): the reference worker (`kind` worker) or the Lambda handler (`handler`),
    each receiving one message a turn."""

    def __init__(self, aws, monkeypatch, kind, index, spec, nxt, q, next_queue="",
                 max_receive=2, job=None):
        self.aws, self.mp, self.kind, self.q, self.job = aws, monkeypatch, kind, q, job
        self.env = {
            "QFLEET_QUEUE_URL": q, "QFLEET_BUCKET": BUCKET, "QFLEET_UPLOAD_PREFIX": spec["reads"],
            "QFLEET_PROCESSED_PREFIX": spec["writes"], "QFLEET_WAIT_SECONDS": "0",
            "QFLEET_RETRY_BACKOFF": "0", "QFLEET_VISIBILITY_TIMEOUT": "30",
            "QFLEET_NEXT_QUEUE_URL": next_queue, "QFLEET_ENVIRONMENT": "photos",
            "QFLEET_STAGE": spec["name"], "QFLEET_STAGE_INDEX": str(index),
            "QFLEET_NEXT_STAGE": nxt, "QFLEET_MAX_RECEIVE_COUNT": str(max_receive),
            "QFLEET_JOB_TABLE": TABLE, "QFLEET_LEASE_TABLE": LEASES,
            "QFLEET_RESPONSE_QUEUE_URL": aws.responses, "QFLEET_ALERTS_TOPIC": ALERTS}
        self.worker = None

    def turn(self):
        """One receive of this stage's queue; what it logged."""
        for k, v in self.env.items():
            self.mp.setenv(k, v)
        if self.kind == "worker":
            if self.worker is None:
                self.worker = qw.Worker(qw.Config(self.env), sqs=self.aws.sqs, s3=self.aws.s3,
                                        instance_id="i-" + self.env["QFLEET_STAGE"])
                self.worker.notices.sns = Sns(self.aws.notices)
                if self.job:
                    self.worker.job = self.job
            self.worker.run(once=True)
            return
        if self.job:
            self.mp.setattr(qh, "process", self.job)
        # This stage's function: its execution environment's notices, as the handler makes them.
        self.notices = getattr(self, "notices", None) or Notices(sns=Sns(self.aws.notices))
        self.mp.setattr(qh, "_notices", self.notices)
        got = self.aws.sqs.receive_message(
            QueueUrl=self.q, MaxNumberOfMessages=1, AttributeNames=["All"],
            MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            return
        arn = self.aws.sqs.get_queue_attributes(QueueUrl=self.q, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        records = [lambda_record(m, arn) for m in got]
        out = qh.handler({"Records": records}, Context())
        failed = {f["itemIdentifier"] for f in out["batchItemFailures"]}
        for m in got:  # as the event source mapping does
            if m["MessageId"] in failed:
                self.aws.sqs.change_message_visibility(
                    QueueUrl=self.q, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
            else:
                self.aws.sqs.delete_message(QueueUrl=self.q, ReceiptHandle=m["ReceiptHandle"])


def lambda_record(m, arn):
    """A received message as Lambda's SQS event source mapping gives it to the function
    ("Using Lambda with Amazon SQS": messageId, body, attributes, messageAttributes with
    stringValue and dataType, eventSourceARN)."""
    return {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": {k: {"stringValue": v.get("StringValue"), "dataType": v["DataType"],
                                      "stringListValues": [], "binaryListValues": []}
                                  for k, v in m.get("MessageAttributes", {}).items()},
            "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs", "eventSourceARN": arn,
            "awsRegion": REGION}


def s3_notifies(aws, q, key, name="ObjectCreated:Put"):
    """S3's event for the object `key` as written now, to the queue `q`: its key URL-encoded
    (spaces as +), its version id."""
    version = aws.s3.head_object(Bucket=BUCKET, Key=key)["VersionId"]
    aws.sqs.send_message(QueueUrl=q, MessageBody=json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": name,
        "eventTime": "2026-11-24T19:55:00.120Z",
        "s3": {"bucket": {"name": BUCKET},
               "object": {"key": urllib.parse.quote_plus(key, safe="/"), "versionId": version,
                          "sequencer": "0055AED6DCD90281E5"}}}]}))
    return version


def pipeline(aws, monkeypatch, kind, feed, fifo=False, max_receive=2, second_job=None,
             kinds=None):
    """The two stages: the second fed by the objects the first writes (S3's event to its
    queue, from here) or by the first's messages (QFLEET_NEXT_QUEUE_URL)."""
    q1, dlq1 = queue(aws, "photos-resize", fifo)
    q2, dlq2 = queue(aws, "photos-thumbnail", fifo and feed == "messages", max_receive)
    kinds = kinds or (kind, kind)
    first = Stage(aws, monkeypatch, kinds[0], 0, FIRST, "thumbnail", q1,
                  q2 if feed == "messages" else "")
    second = Stage(aws, monkeypatch, kinds[1], 1, SECOND, "", q2, max_receive=max_receive,
                   job=second_job)
    return SimpleNamespace(first=first, second=second, q1=q1, q2=q2, dlq1=dlq1, dlq2=dlq2,
                           feed=feed)


def between(aws, p):
    """What passes from the first stage to the second, fed by objects: S3's event for each
    object the first wrote (the messages feed needs nothing: the worker sent them)."""
    if p.feed != "objects":
        return
    for o in aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=FIRST["writes"]).get("Contents", []):
        s3_notifies(aws, p.q2, o["Key"])


def record(aws, key, upload):
    i = aws.ddb.get_item(TableName=TABLE, ConsistentRead=True,
                         Key={"key": {"S": key}, "upload": {"S": upload}}).get("Item")
    assert i, "no record of %r" % key
    return i, [(h["M"]["state"]["S"], h["M"].get("stage", {}).get("S"))
               for h in i["history"]["L"]]


def responses(aws):
    out = []
    while True:
        got = aws.sqs.receive_message(QueueUrl=aws.responses, MaxNumberOfMessages=10)
        if not got.get("Messages"):
            return out
        for m in got["Messages"]:
            out.append(json.loads(m["Body"]))
            aws.sqs.delete_message(QueueUrl=aws.responses, ReceiptHandle=m["ReceiptHandle"])


def all_keys(aws):
    return [k for k, _ in sorted(
        (i["key"]["S"], i) for i in aws.ddb.scan(TableName=TABLE)["Items"])]


DONE_HISTORY = [("queued", "resize"), ("processing", "resize"), ("done", "resize"),
                ("queued", "thumbnail"), ("processing", "thumbnail"), ("done", "thumbnail")]


def ends_done(aws, key, upload, output):
    """The job's record ends done at the last stage, through both, with one response; the
    table holds no other job."""
    i, h = record(aws, key, upload)
    assert (i["state"]["S"], i["stage"]["S"]) == ("done", "thumbnail"), i
    assert h == DONE_HISTORY, h
    assert i["output"]["S"] == output
    said = responses(aws)
    assert [(a["key"], a["upload"], a["state"], a["stage"], a["output"]) for a in said] == [
        (key, upload, "done", "thumbnail", output)], said
    # An upload's bucket, or none for a job sent as a message: never a made-up name.
    assert said[0]["bucket"] == (None if upload == "job" else BUCKET), said
    assert "bucket" not in i or i["bucket"]["S"] == BUCKET, i
    assert all_keys(aws) == [key], "no other job was recorded"
    return i


# The ways a job comes in as a message (docs/jobs.md, docs/sources.md): what the first stage's
# queue receives, and the job id it is kept under (`sqs:` and the message id without one).
def plain(aws, q, fifo):
    return {"MessageBody": json.dumps({"photo": 42, "resize": "1080p"}),
            "MessageAttributes": {"job_id": {"DataType": "String", "StringValue": "photo-42"},
                                  "tenant": {"DataType": "String", "StringValue": "acme"}}}


def no_id(aws, q, fifo):
    return {"MessageBody": "resize photo 43, not JSON"}


def sns_envelope(aws, q, fifo):
    """A topic's message with `envelope: true`: SNS's JSON envelope is the body."""
    return {"MessageBody": json.dumps({
        "Type": "Notification", "MessageId": "5d3a-sns", "TopicArn":
        "arn:aws:sns:eu-west-1:444455556666:orders", "Message": json.dumps({"photo": 44}),
        "MessageAttributes": {"job_id": {"Type": "String", "Value": "photo-44"}}})}


def scheduled(aws, q, fifo):
    """EventBridge Scheduler's run: qfleet's envelope around the schedule's body."""
    return {"MessageBody": json.dumps({"qfleetSchedule": {
        "name": "nightly-report", "scheduled_time": "2026-11-27T01:00:00Z"},
        "body": {"report": "daily"}})}


WAYS = {"job_id": plain, "no job_id": no_id, "sns envelope": sns_envelope,
        "schedule": scheduled}


def send_job(aws, q, way, fifo=False):
    args = WAYS[way](aws, q, fifo)
    if fifo:
        args.update(MessageGroupId="customer-7",
                    MessageDeduplicationId=hashlib.sha256(args["MessageBody"].encode()).hexdigest())
    sent = aws.sqs.send_message(QueueUrl=q, **args)
    given = args.get("MessageAttributes", {}).get("job_id", {}).get("StringValue")
    return given or "sqs:" + sent["MessageId"]


def output_of(job_id, prefix=SECOND["writes"]):
    name = urllib.parse.quote(job_id, safe="")
    if len((prefix + "jobs/" + name + ".json").encode()) > 1024:
        name = "sha256=" + hashlib.sha256(job_id.encode()).hexdigest()
    return prefix + "jobs/" + name + ".json"


@pytest.mark.parametrize("kind", ["worker", "handler"])
@pytest.mark.parametrize("feed", ["objects", "messages"])
@pytest.mark.parametrize("way", list(WAYS) + ["fifo"])
def test_a_job_sent_as_a_message_ends_done_with_one_response(aws, monkeypatch, kind, feed, way):
    """The issue's journey: `qfleet submit` (or the SDK, a topic, a schedule) to a two-stage
    pipeline. The first stage's output carries the job (its metadata, or its message's
    qfleetJob), so the second stage ends that job, not one of its own, and answers it once."""
    fifo = way == "fifo"
    p = pipeline(aws, monkeypatch, kind, feed, fifo=fifo)
    job_id = send_job(aws, p.q1, "job_id" if fifo else way, fifo)
    p.first.turn()
    i, h = record(aws, job_id, "job")
    assert (i["state"]["S"], i["stage"]["S"]) == ("queued", "thumbnail") and responses(aws) == []
    between(aws, p)
    p.second.turn()
    ends_done(aws, job_id, "job", output_of(job_id))
    # Nothing is left to run again, and a redelivery of either message would be a duplicate.
    for q in (p.q1, p.q2):
        assert aws.sqs.receive_message(QueueUrl=q, VisibilityTimeout=0).get("Messages") is None
    assert aws.notices == []


def cancel(aws, key, upload):
    """`qfleet jobs ENV ID --cancel`, as its UpdateItem writes it (qfleet-aws job_table::cancel):
    `cancelled` with an entry, only while the job waits (queued or retrying)."""
    aws.ddb.update_item(
        TableName=TABLE, Key={"key": {"S": key}, "upload": {"S": upload}},
        UpdateExpression="SET #state = :cancelled, #history = list_append(#history, :entry) "
                         "ADD #seq :one",
        ConditionExpression="#state IN (:queued, :retrying)",
        ExpressionAttributeNames={"#state": "state", "#history": "history", "#seq": "seq"},
        ExpressionAttributeValues={
            ":cancelled": {"S": "cancelled"}, ":queued": {"S": "queued"},
            ":retrying": {"S": "retrying"}, ":one": {"N": "1"},
            ":entry": {"L": [{"M": {"state": {"S": "cancelled"},
                                     "at": {"S": "2026-11-29T04:00:00Z"}}}]}})


@pytest.mark.parametrize("kind", ["worker", "handler"])
@pytest.mark.parametrize("feed", ["objects", "messages"])
@pytest.mark.parametrize("at", ["first", "second"])
def test_a_job_cancelled_while_it_waits_at_either_stage_is_never_run_and_never_answered(
        aws, monkeypatch, kind, feed, at):
    """A job cancelled while it waits (at the first stage as `submit` recorded it, or queued at
    the second after the first stage's done) is skipped by the stage that receives it: its
    message deleted, nothing written, no response, no notice; its record stays `cancelled`."""
    p = pipeline(aws, monkeypatch, kind, feed)
    if at == "first":
        # As `submit` records it before it sends: queued at the first stage.
        aws.ddb.put_item(TableName=TABLE, Item={
            "key": {"S": "photo-42"}, "upload": {"S": "job"}, "state": {"S": "queued"},
            "stage_index": {"N": "0"}, "seq": {"N": "1"},
            "history": {"L": [{"M": {"state": {"S": "queued"},
                                     "at": {"S": "2026-11-29T03:59:00Z"}}}]}})
        cancel(aws, "photo-42", "job")
    job_id = send_job(aws, p.q1, "job_id")
    p.first.turn()
    if at == "second":
        i, h = record(aws, job_id, "job")
        assert (i["state"]["S"], i["stage"]["S"]) == ("queued", "thumbnail"), h
        cancel(aws, job_id, "job")
        between(aws, p)
    p.second.turn()
    i, h = record(aws, job_id, "job")
    assert i["state"]["S"] == "cancelled", h
    assert h[-1][0] == "cancelled", h
    ran = [s for s, stage in h if s == "processing" and stage == "thumbnail"]
    assert ran == [], h
    if at == "first":
        assert [s for s, _ in h] == ["queued", "cancelled"], h
        assert aws.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    assert responses(aws) == [] and aws.notices == []
    for q in (p.q1, p.q2):
        assert aws.sqs.receive_message(QueueUrl=q, VisibilityTimeout=0).get("Messages") is None


@pytest.mark.parametrize("kinds", [("worker", "handler"), ("handler", "worker")])
def test_the_worker_and_the_handler_carry_the_job_to_each_other(aws, monkeypatch, kinds):
    """Stages of different kinds (an instance stage before a function, and back) read the same
    link."""
    p = pipeline(aws, monkeypatch, None, "objects", kinds=kinds)
    job_id = send_job(aws, p.q1, "job_id")
    p.first.turn()
    between(aws, p)
    p.second.turn()
    ends_done(aws, job_id, "job", output_of(job_id))


@pytest.mark.parametrize("kind", ["worker", "handler"])
@pytest.mark.parametrize("feed", ["objects", "messages"])
def test_an_upload_through_two_stages_still_ends_done_with_one_response(aws, monkeypatch, kind,
                                                                        feed):
    p = pipeline(aws, monkeypatch, kind, feed)
    version = aws.s3.put_object(Bucket=BUCKET, Key="uploads/cat 1.jpg", Body=b"c",
                                Metadata={"camera": "x100"})["VersionId"]
    s3_notifies(aws, p.q1, "uploads/cat 1.jpg")
    p.first.turn()
    between(aws, p)
    p.second.turn()
    ends_done(aws, "uploads/cat 1.jpg", version, "thumbed/cat 1.jpg")
    meta = aws.s3.head_object(Bucket=BUCKET, Key="thumbed/cat 1.jpg")["Metadata"]
    assert meta["camera"] == "x100", "the upload's own metadata is kept"


class Broken:
    """The second stage's job, failing until mended."""

    def __init__(self):
        self.mended = False

    def __call__(self, s3, bucket, key, cfg, meta=None):
        if not self.mended:
            raise RuntimeError("thumbnailer crashed on %s" % key)
        return qw.process(s3, bucket, key, cfg, meta=meta)


def redrive(aws, dlq, q):
    """`qfleet dlq redrive`: each dead letter back to its queue as a new message (new id, same
    body and attributes), then deleted from the dead-letter queue."""
    moved = 0
    for m in aws.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10,
                                     MessageAttributeNames=["All"]).get("Messages", []):
        attrs = {k: {kk: vv for kk, vv in v.items() if kk in ("DataType", "StringValue")}
                 for k, v in m.get("MessageAttributes", {}).items()}
        aws.sqs.send_message(QueueUrl=q, MessageBody=m["Body"], MessageAttributes=attrs)
        aws.sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
        moved += 1
    return moved


@pytest.mark.parametrize("kind", ["worker", "handler"])
@pytest.mark.parametrize("way", ["message", "upload"])
def test_a_job_failed_at_the_second_stage_then_redriven_ends_done(aws, monkeypatch, kind, way):
    """The second stage fails the job on each of its 2 receives: the job is failed at that
    stage, answered `failed` once, and one notice names it and the stage; SQS moves the message
    to the dead-letter queue. Mended and redriven, the same job ends done and is answered
    `done`, with a greater seq."""
    job = Broken()
    p = pipeline(aws, monkeypatch, kind, "objects", second_job=job)
    if way == "message":
        key, upload = "order 7 (rush)", "job"
        aws.sqs.send_message(QueueUrl=p.q1, MessageBody="{}", MessageAttributes={
            "job_id": {"DataType": "String", "StringValue": key}})
    else:
        key = "uploads/order 7 (rush).jpg"
        upload = aws.s3.put_object(Bucket=BUCKET, Key=key, Body=b"o")["VersionId"]
        s3_notifies(aws, p.q1, key)
    p.first.turn()
    between(aws, p)
    for attempt in (1, 2):
        p.second.turn()
        i, h = record(aws, key, upload)
        assert i["state"]["S"] == ("retrying", "failed")[attempt - 1], i
    assert [(a["state"], a["stage"]) for a in responses(aws)] == [("failed", "thumbnail")]
    p.second.turn()  # the receive after the last: SQS moves the message
    assert aws.sqs.get_queue_attributes(QueueUrl=p.dlq2, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "1"
    # One notice: the job by its id in the job table (not the second stage's input key), its
    # stage named in every command, and the commands a shell reads back as meant.
    [n] = aws.notices
    email = json.loads(n["Message"])["email"]
    assert "job %s failed on its last attempt (2 of 2)" % key in email
    cmds = [shlex.split(line[2:]) for line in email.splitlines() if line.startswith("- qfleet")]
    assert cmds == [
        ["qfleet", "logs", "photos", "--stage", "thumbnail", "--job", key, "--since", "25h"],
        ["qfleet", "jobs", "photos", key],
        ["qfleet", "dlq", "photos", "--stage", "thumbnail", "list"]], cmds
    job.mended = True
    assert redrive(aws, p.dlq2, p.q2) == 1
    p.second.turn()
    i, h = record(aws, key, upload)
    assert (i["state"]["S"], i["stage"]["S"]) == ("done", "thumbnail")
    assert [s for s, _ in h][-3:] == ["failed", "processing", "done"]
    said = responses(aws)
    assert [(a["state"], a["key"], a["upload"]) for a in said] == [("done", key, upload)]
    assert said[0]["seq"] == int(i["seq"]["N"]) and all_keys(aws) == [key]
    assert len(aws.notices) == 1


@pytest.mark.parametrize("kind", ["worker", "handler"])
def test_a_job_failing_five_attempts_sends_one_notice(aws, monkeypatch, kind):
    """max_receive_count 5: the first four failures are retried quietly; the fifth, after which
    SQS dead-letters the message, sends the one notice."""
    job = Broken()
    p = pipeline(aws, monkeypatch, kind, "messages", max_receive=5, second_job=job)
    job_id = send_job(aws, p.q1, "job_id")
    p.first.turn()
    for attempt in range(1, 6):
        p.second.turn()
        assert len(aws.notices) == (attempt == 5), (attempt, aws.notices)
    [n] = aws.notices
    assert "(5 of 5)" in json.loads(n["Message"])["email"]
    assert record(aws, job_id, "job")[0]["state"]["S"] == "failed"


def test_a_stage_whose_output_was_moved_before_its_done_write_ends_the_same_job(aws,
                                                                              monkeypatch):
    """The second stage moved its input, then could not write `done` (the table throttled).
    Redelivered, the input is gone: the job is the one the moved output links, as its record
    confirms (its output is that input), never a job of the input's own."""
    p = pipeline(aws, monkeypatch, "worker", "objects")
    job_id = send_job(aws, p.q1, "job_id")
    p.first.turn()
    between(aws, p)
    done = qj.Jobs.done
    monkeypatch.setattr(qj.Jobs, "done", lambda *a: (_ for _ in ()).throw(
        qj.JobTableError("table: throttled")))
    p.second.turn()
    assert aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="resized/").get("KeyCount") == 0
    monkeypatch.setattr(qj.Jobs, "done", done)
    p.second.turn()
    i, _ = record(aws, job_id, "job")
    assert i["state"]["S"] == "done" and all_keys(aws) == [job_id]
    assert [a["state"] for a in responses(aws)] == ["done"]


def test_a_later_stage_s_input_gone_with_no_record_to_confirm_it_is_no_job(aws, monkeypatch,
                                                                           capsys):
    """An input of the second stage deleted by someone else: the output where the default job
    would have moved it names a job whose record does not name it. The job is not guessed;
    the message fails, saying why, and no job is recorded for it."""
    p = pipeline(aws, monkeypatch, "worker", "objects")
    aws.s3.put_object(Bucket=BUCKET, Key="resized/x.jpg", Body=b"x")
    s3_notifies(aws, p.q2, "resized/x.jpg")
    aws.s3.delete_object(Bucket=BUCKET, Key="resized/x.jpg")
    aws.s3.put_object(Bucket=BUCKET, Key="thumbed/x.jpg", Body=b"x", Metadata=qj.job_link(
        qj.JobRef("another-job", "job")))
    p.second.turn()
    assert "outcome=failed" in capsys.readouterr().out
    assert aws.ddb.scan(TableName=TABLE)["Items"] == []


LONG = {
    # S3's longest keys (1,024 bytes of UTF-8): "Naming Amazon S3 objects",
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
    "cjk": "写真" * 169 + "ab",         # 1,016 bytes: 3 a character
    "emoji": "📷" * 254,                 # 1,016 bytes: 4 a character
    "a b/": "a b/" * 254,                # 1,016 bytes: URL-encoding doubles it
}


@pytest.mark.parametrize("kind", ["worker", "handler"])
@pytest.mark.parametrize("feed", ["objects", "messages"])
@pytest.mark.parametrize("script", list(LONG))
def test_an_upload_key_of_1024_bytes_goes_through_both_stages(aws, monkeypatch, kind, feed,
                                                              script):
    """The link the first stage's output carries fits S3's 2 KB of user metadata for any key
    S3 takes, beside the upload's own metadata: base64url where URL-encoding would not fit."""
    key = "uploads/" + LONG[script]
    assert len(key.encode()) == 1024
    p = pipeline(aws, monkeypatch, kind, feed)
    own = {"camera": "x" * 400}
    version = aws.s3.put_object(Bucket=BUCKET, Key=key, Body=b"k", Metadata=own)["VersionId"]
    s3_notifies(aws, p.q1, key)
    p.first.turn()
    between(aws, p)
    p.second.turn()
    out = "thumbed/" + LONG[script]
    ends_done(aws, key, version, out)
    meta = aws.s3.head_object(Bucket=BUCKET, Key=out)["Metadata"]
    assert meta["camera"] == own["camera"]


@pytest.mark.parametrize("kind", ["worker", "handler"])
@pytest.mark.parametrize("script", list(LONG))
def test_a_job_id_of_1024_bytes_goes_through_both_stages(aws, monkeypatch, kind, script):
    """A message's job id of 1,024 bytes: its output is named by the id's SHA-256 (its
    URL-encoded name would pass S3's key limit), and the link carries the id itself."""
    job_id = (LONG[script] + "12345678")
    assert len(job_id.encode()) == 1024
    p = pipeline(aws, monkeypatch, kind, "objects")
    aws.sqs.send_message(QueueUrl=p.q1, MessageBody="{}", MessageAttributes={
        "job_id": {"DataType": "String", "StringValue": job_id}})
    p.first.turn()
    [o] = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="resized/")["Contents"]
    assert o["Key"] == output_of(job_id, "resized/") and "sha256=" in o["Key"]
    meta = aws.s3.head_object(Bucket=BUCKET, Key=o["Key"])["Metadata"]
    assert qj.linked_job(meta) == (job_id, "job")
    between(aws, p)
    p.second.turn()
    ends_done(aws, job_id, "job", output_of(job_id))
    body = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=output_of(job_id))["Body"].read())
    assert body["job_id"] == job_id


def test_the_link_is_the_shorter_of_its_two_spellings_and_fits_for_every_key():
    """URL-encoding (as qfleet always wrote it) where it is no longer than base64url; either way
    the link of a 1,024-byte key, with a version id, is within S3's 2 KB with room to spare."""
    from qfleet_shared import metadata_bytes
    assert qj.job_link(qj.JobRef("uploads/a.jpg", "v1")) == {
        "qfleet-job-key": "uploads%2Fa.jpg", "qfleet-job-upload": "v1"}
    for text in list(LONG.values()) + ["\x00" * 1016, "%" * 1016, "é" * 508]:
        ref = qj.JobRef("uploads/" + text, "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")
        meta = qj.job_link(ref)
        assert metadata_bytes(meta) <= 1500, (text[:8], metadata_bytes(meta))
        assert all(v.isascii() and v.isprintable() for v in meta.values())
        assert qj.linked_job(meta) == (ref.key, ref.upload)


@pytest.mark.parametrize("meta", [
    {"qfleet-job-key": "a"},                                    # no upload
    {"qfleet-job-upload": "v1"},                                # no key
    {"qfleet-job-key": "a", "qfleet-job-key64": "YQ==", "qfleet-job-upload": "v1"},  # both
    {"qfleet-job-key64": "YQ", "qfleet-job-upload": "v1"},      # not padded as written
    {"qfleet-job-key64": "Y!==", "qfleet-job-upload": "v1"},    # not base64url
    {"qfleet-job-key64": "_w==", "qfleet-job-upload": "v1"},    # not UTF-8
    {"qfleet-job-key": "a%2fb", "qfleet-job-upload": "v1"},     # not as qfleet encodes it
    {"qfleet-job-key": "%FF", "qfleet-job-upload": "v1"},       # not UTF-8
])
def test_a_link_that_cannot_be_read_exactly_fails_closed(meta):
    """Never a job of the input's own, never another's: the input's job is told or refused."""
    with pytest.raises(ValueError, match="job link"):
        qj.linked_job(meta)
    with pytest.raises(ValueError, match="job link"):
        qj.job_ref_of({"s3": {"object": {"key": "resized/a", "versionId": "v9"}}}, {}, {}, meta)
    assert qj.linked_job({"camera": "x100"}) is None


def test_a_job_of_your_own_that_takes_no_meta_fails_before_it_writes(aws, monkeypatch):
    """Where the next stage reads each output's job from its metadata, a job given to the
    worker must take `meta` (and write it on its output): one that does not fails at once,
    saying so, and writes nothing the next stage would take for a job of its own."""
    p = pipeline(aws, monkeypatch, "worker", "objects")
    written = []
    p.first.turn()  # makes the worker
    p.first.worker.message_job = lambda s3, bucket, job, cfg: written.append(job) or "x"
    send_job(aws, p.q1, "job_id")
    p.first.turn()
    assert written == []
    i, _ = record(aws, "photo-42", "job")
    assert i["state"]["S"] == "retrying" and "takes no `meta`" in i["error"]["S"]
    # One that takes it runs.
    p.first.worker.message_job = lambda s3, bucket, job, cfg, meta=None: qw.answer(
        s3, bucket, job, cfg, meta=meta)
    p.first.turn()  # its second receive (the worker's backoff here is 0 s)
    assert record(aws, "photo-42", "job")[0]["stage"]["S"] == "thumbnail"


class Ending(Context):
    """An invocation with `left` milliseconds, less a second at each look."""

    def __init__(self, left):
        self.left = left

    def get_remaining_time_in_millis(self):
        self.left -= 1000
        return self.left


def test_a_job_not_started_on_its_last_receive_sends_its_one_notice(aws, monkeypatch):
    """Near its timeout the handler starts no more records; a job on its last receive fails
    for good all the same (SQS dead-letters it next), and sends one notice. One not on its last
    receive is tried again: none."""
    p = pipeline(aws, monkeypatch, "handler", "objects")
    for k, v in p.first.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(qh, "_notices", Notices(sns=Sns(aws.notices)))
    records = [lambda_record({"MessageId": "m-%d" % rc, "ReceiptHandle": "r", "Body": "{}",
                              "MD5OfBody": "", "Attributes": {
                                  "ApproximateReceiveCount": str(rc),
                                  "SentTimestamp": "1764014100000"},
                              "MessageAttributes": {"job_id": {
                                  "DataType": "String", "StringValue": "late-%d" % rc}}},
                             "arn:aws:sqs:eu-west-1:123456789012:photos-resize")
               for rc in (1, 2)]
    out = qh.handler({"Records": records}, Ending(2500))
    assert len(out["batchItemFailures"]) == 2
    assert record(aws, "late-2", "job")[0]["state"]["S"] == "failed"
    [n] = aws.notices
    email = json.loads(n["Message"])["email"]
    assert "job late-2 failed on its last attempt (2 of 2)" in email and qh.LATE in email


def test_a_stopping_worker_s_job_on_its_last_receive_sends_its_one_notice(aws, monkeypatch):
    """A worker of the second stage told to stop during its long poll releases what it
    received; on its last receive that job fails for good (docs/jobs.md, "A worker that
    stops"): one notice, naming the job its input links, not the input."""
    p = pipeline(aws, monkeypatch, "worker", "objects", second_job=Broken())
    aws.sqs.send_message(QueueUrl=p.q1, MessageBody="{}", MessageAttributes={
        "job_id": {"DataType": "String", "StringValue": "stopped"}})
    p.first.turn()
    between(aws, p)
    p.second.turn()  # receive 1 of 2: the job fails, to be retried
    assert record(aws, "stopped", "job")[0]["state"]["S"] == "retrying" and not aws.notices
    w = p.second.worker
    aws.sqs.meta.events.register("after-call.sqs.ReceiveMessage", lambda **_: w.stop.set())
    w.run()
    assert record(aws, "stopped", "job")[0]["state"]["S"] == "failed"
    [n] = aws.notices
    assert "job stopped failed on its last attempt (2 of 2)" in json.loads(n["Message"])["email"]
