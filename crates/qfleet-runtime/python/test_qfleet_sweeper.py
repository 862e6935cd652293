"""Tests of the job sweeper (qfleet_sweeper.py, docs/jobs.md "A worker that stops") against
moto's in-process AWS mock (no network): a worker that stops during a job's last attempt
leaves its record `processing` and its lease in the lease table; once the lease and the grace
have passed, the sweeper fails the job and answers it, once. The workers here are
qfleet_jobs.Jobs, as the reference worker and handler drive them; time moves by the sweep's
`now`."""
import json
import os
import time
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

import qfleet_jobs as qj
import qfleet_sweeper as qs

REGION = "eu-west-1"
# The names are the environment's when the IAM test runs these tests under the sweeper's policy.
TABLE = os.environ.get("QFLEET_TEST_TABLE", "qfleet-t-job-table")
LEASES = os.environ.get("QFLEET_TEST_LEASE_TABLE", "qfleet-t-job-leases")
RESPONSES = os.environ.get("QFLEET_TEST_RESPONSES", "qfleet-t-responses")
BUCKET = "qfleet-t-uploads"
LEASE = 30  # a worker's visibility timeout
# What the GSI design put on the job's item; the lease table's design puts nothing there.
NOT_ON_THE_JOB = {"lease_shard", "lease_until", "started", "failed_seq"}


@pytest.fixture
def aws(monkeypatch):
    for k in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "QFLEET_LEASE_TABLE", "QFLEET_JOBS_STACK"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
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
        ddb.create_table(
            TableName=LEASES, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                  for n in ("key", "upload")],
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"},
                       {"AttributeName": "upload", "KeyType": "RANGE"}])
        responses = sqs.create_queue(QueueName=RESPONSES)["QueueUrl"]
        yield SimpleNamespace(sqs=sqs, ddb=ddb, responses=responses)


def config(aws, **env):
    """The job tables' settings: a stage worker's (max receive count 2), or the sweeper's
    (the data template gives it no stage)."""
    return qj.JobConfig(dict({
        "QFLEET_JOB_TABLE": TABLE, "QFLEET_LEASE_TABLE": LEASES,
        "QFLEET_RESPONSE_QUEUE_URL": aws.responses, "QFLEET_MAX_RECEIVE_COUNT": "2",
        "QFLEET_ENVIRONMENT": "t", "AWS_REGION": REGION}, **env))


def worker(aws, **env):
    return qj.Jobs(config(aws, **env), ddb=aws.ddb, sqs=aws.sqs, worker="i-0abc", lease=LEASE)


def sweep(aws, after, **kw):
    """A sweep `after` seconds from now (the clock), with the sweeper's own settings."""
    cfg = config(aws, **kw.pop("env", {}))
    return qs.sweep(aws.ddb, aws.sqs, cfg, now=time.time() + after, **kw)


def sweeper(aws):
    return qj.Jobs(config(aws), aws.ddb, aws.sqs, worker="sweeper")


def record(aws, ref):
    i = aws.ddb.get_item(TableName=TABLE, ConsistentRead=True,
                         Key={"key": {"S": ref.key}, "upload": {"S": ref.upload}})["Item"]
    return i, [h["M"] for h in i["history"]["L"]]


def lease_of(aws, ref):
    i = aws.ddb.get_item(TableName=LEASES, ConsistentRead=True, Key={
        "key": {"S": ref.key}, "upload": {"S": ref.upload}}).get("Item")
    return i and qs.plain(i)


def answers(aws):
    got = aws.sqs.receive_message(QueueUrl=aws.responses, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def stopped(aws, key="uploads/a.jpg", **env):
    """A job whose worker started its last attempt (receive 2 of 2) and stopped: no write
    after the start."""
    ref = qj.JobRef(key, "v1", BUCKET, "2026-11-24T19:55:00.120Z")
    jobs = worker(aws, **env)
    assert jobs.start(ref, 1) == "started"
    jobs.fail(ref, "boom", 1)  # retrying
    assert jobs.start(ref, 2) == "started"
    i, _ = record(aws, ref)
    assert i["state"]["S"] == "processing" and not NOT_ON_THE_JOB & set(i)
    assert lease_of(aws, ref)["started"] == i["updated_at"]["S"]
    return ref, jobs


def requests(aws):
    """The DynamoDB requests made from here on: (operation, table)."""
    seen = []
    for op in ("Scan", "GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        aws.ddb.meta.events.register(
            "provide-client-params.dynamodb." + op,
            lambda params, op=op, **kw: seen.append((op, params["TableName"])))
    return seen


NOTHING = {"failed": 0, "answered": 0, "tidied": 0, "skipped": 0}


def test_a_job_whose_worker_stopped_on_its_last_attempt_fails_and_answers_once(aws):
    ref, _ = stopped(aws)
    before, _ = record(aws, ref)
    lease_end = lease_of(aws, ref)["lease_until"]
    seen = requests(aws)
    assert sweep(aws, LEASE + qs.GRACE + 1) == dict(NOTHING, failed=1)
    # Read the leases, read the job, fail it, mark the lease, answer, delete the lease.
    assert seen == [("Scan", LEASES), ("GetItem", TABLE), ("UpdateItem", TABLE),
                    ("UpdateItem", LEASES), ("UpdateItem", TABLE), ("DeleteItem", LEASES)]
    i, history = record(aws, ref)
    assert i["state"]["S"] == "failed" and i["finished_at"]["S"]
    assert int(i["seq"]["N"]) == int(before["seq"]["N"]) + 1  # a change of state
    assert i["attempts"] == before["attempts"] and i["worker"] == before["worker"]
    assert i["error"]["S"].startswith("no result from the last attempt by its lease's end "
                                      + lease_end)
    assert "qfleet dlq redrive" in i["error"]["S"] and len(i["error"]["S"]) <= qj.JOB_ERROR_MAX
    last = history[-1]
    assert (last["state"]["S"], last["worker"]["S"]) == ("failed", "sweeper")
    assert last["error"]["S"] == i["error"]["S"] and "stage" not in last  # a one-stage job
    assert lease_of(aws, ref) is None, "the lease is gone with the answer"
    assert not NOT_ON_THE_JOB & set(i)
    assert i["responded"]["BOOL"] is True and i["responded_seq"] == i["seq"]
    got = answers(aws)
    assert got == [{
        "environment": "t", "bucket": BUCKET, "key": ref.key, "upload": ref.upload,
        "state": "failed", "stage": None, "output": None, "error": i["error"]["S"],
        "attempts": 2, "seq": int(i["seq"]["N"]),
        "uploaded_at": "2026-11-24T19:55:00.120Z", "finished_at": i["finished_at"]["S"]}]
    # A second sweep finds no lease: nothing more, no second answer.
    assert sweep(aws, LEASE + qs.GRACE + 120) == NOTHING
    assert record(aws, ref)[0] == i and answers(aws) == []


def test_the_sweeper_s_answer_has_the_shape_of_a_worker_s(aws):
    """A consumer reads both the same way: the sweeper's answer has exactly the fields of a
    worker's failed answer (Jobs._respond), and a pipeline's stage is the job's."""
    ref, _ = stopped(aws, QFLEET_STAGE="thumb", QFLEET_STAGE_INDEX="0")
    sweep(aws, LEASE + qs.GRACE + 1)
    swept = answers(aws)
    other = qj.JobRef("uploads/b.jpg", "v1", BUCKET, "2026-11-24T19:55:00.120Z")
    jobs = worker(aws, QFLEET_STAGE="thumb")
    jobs.start(other, 2)
    jobs.fail(other, "boom", 2)
    failed = answers(aws)
    assert len(swept) == len(failed) == 1
    assert list(swept[0]) == list(failed[0])
    assert swept[0]["stage"] == failed[0]["stage"] == "thumb"
    assert record(aws, ref)[1][-1]["stage"]["S"] == "thumb"


def test_nothing_happens_within_the_grace(aws):
    ref, _ = stopped(aws)
    before = record(aws, ref), lease_of(aws, ref)
    assert sweep(aws, LEASE) == NOTHING  # the lease's end
    assert sweep(aws, LEASE + qs.GRACE - 2) == NOTHING  # clocks may differ by that much
    assert (record(aws, ref), lease_of(aws, ref)) == before and answers(aws) == []


def test_a_renewed_lease_is_swept_only_after_its_new_end(aws):
    ref, jobs = stopped(aws)
    assert jobs.renew(ref, 600) is True  # the heartbeat's
    assert sweep(aws, LEASE + qs.GRACE + 1) == NOTHING
    assert record(aws, ref)[0]["state"]["S"] == "processing"
    assert sweep(aws, 600 + qs.GRACE + 1)["failed"] == 1
    assert record(aws, ref)[0]["state"]["S"] == "failed"


def test_a_lease_whose_job_moved_on_or_is_gone_is_tidied_and_nothing_is_answered(aws):
    """The sweeper fails a job only when its record is `processing` as the leased start left
    it (its updated_at is the lease's `started`, at the lease's stage). Otherwise the job moved
    on, and the lease, of no use, is deleted."""
    # Done, but the lease could not be deleted (its delete is best effort).
    done, jobs = stopped(aws, "uploads/d.jpg")
    jobs.cfg.lease_table = "no-such-lease-table"
    jobs.done(done, "processed/d.jpg")
    # Started again by a redrive (receive 1: no lease of its own), still running.
    again, jobs = stopped(aws, "uploads/r.jpg")
    time.sleep(0.002)  # another millisecond: another updated_at
    assert jobs.start(again, 1) == "started"
    # A lease whose start write failed (the job table could not be reached after the put).
    put_only = qj.JobRef("uploads/p.jpg", "v1", BUCKET)
    jobs = worker(aws)
    assert jobs.start(put_only, 1) == "started"
    jobs.fail(put_only, "boom", 1)
    jobs.cfg.table = "no-such-table"
    with pytest.raises(qj.JobTableError):
        jobs.start(put_only, 2)
    # A job whose record is gone (expired, say).
    gone, _ = stopped(aws, "uploads/g.jpg")
    aws.ddb.delete_item(TableName=TABLE, Key={"key": {"S": gone.key}, "upload": {"S": "v1"}})
    refs = (done, again, put_only)
    before = [record(aws, r) for r in refs]
    answers(aws)
    assert sweep(aws, LEASE + qs.GRACE + 1) == dict(NOTHING, tidied=4)
    assert [record(aws, r) for r in refs] == before and answers(aws) == []
    assert [lease_of(aws, r) for r in refs + (gone,)] == [None] * 4
    assert record(aws, again)[0]["state"]["S"] == "processing", "the redrive runs on"


def test_a_late_worker_s_done_still_wins_by_its_greater_seq(aws):
    """The worker was only slow: after the sweeper failed the job, its done write still
    succeeds (its condition is `state <> done`), and answers with a greater seq. A consumer
    keeping the greatest seq per key and upload keeps `done`."""
    ref, jobs = stopped(aws)
    sweep(aws, LEASE + qs.GRACE + 1)
    jobs.done(ref, "processed/a.jpg")
    got = answers(aws)
    assert [a["state"] for a in got] == ["failed", "done"]
    assert got[1]["seq"] == got[0]["seq"] + 1
    assert max(got, key=lambda a: a["seq"])["state"] == "done"
    i, history = record(aws, ref)
    assert i["state"]["S"] == "done" and [h["state"]["S"] for h in history][-2:] == [
        "failed", "done"]
    assert lease_of(aws, ref) is None


def test_a_redrive_after_the_sweep_runs_the_job_again_without_a_lease(aws):
    """`qfleet dlq redrive` sends the message back: receive 1, not a last attempt."""
    ref, jobs = stopped(aws)
    sweep(aws, LEASE + qs.GRACE + 1)
    assert jobs.start(ref, 1) == "started"
    assert lease_of(aws, ref) is None and jobs.leased is None
    jobs.done(ref, "processed/a.jpg")
    got = answers(aws)
    assert [(a["state"], a["seq"]) for a in got] == [("failed", 4), ("done", 6)]
    assert sweep(aws, 3600) == NOTHING


def test_a_redrive_before_the_answer_keeps_its_record(aws, monkeypatch):
    """The sweeper failed the job; before its answer, a redrive started the job again. The
    answer is sent (it is true of that seq) but the record is the redrive's: `responded` is
    left to it, and the next run, finding the job moved on, deletes the old lease."""
    ref, jobs = stopped(aws)
    failed_seq = []
    real = qs.lease_write

    def no_delete(jobs_, ref_, started, op, **kw):
        if op == "delete_item":
            raise RuntimeError("the function stopped")
        if op == "update_item":
            failed_seq.append(kw["values"][":seq"]["N"])
        return real(jobs_, ref_, started, op, **kw)

    with monkeypatch.context() as m:  # the run stops before its answer and its delete
        m.setattr(qs, "answer", lambda *a: None)
        m.setattr(qs, "lease_write", no_delete)
        with pytest.raises(qs.SweepError, match="the function stopped"):
            sweep(aws, LEASE + qs.GRACE + 1)
    failed = qs.plain(record(aws, ref)[0])
    assert failed["state"] == "failed" and lease_of(aws, ref)["failed_seq"] == failed["seq"]
    assert failed_seq == [failed["seq"]]
    assert jobs.start(ref, 1) == "started"  # `qfleet dlq redrive`
    qs.answer(sweeper(aws), ref, failed)
    i, _ = record(aws, ref)
    assert i["state"]["S"] == "processing" and "responded_seq" not in i
    assert [(a["state"], a["seq"]) for a in answers(aws)] == [("failed", int(failed["seq"]))]
    assert sweep(aws, LEASE + qs.GRACE + 61) == dict(NOTHING, tidied=1)
    assert lease_of(aws, ref) is None and answers(aws) == []
    assert record(aws, ref)[0]["state"]["S"] == "processing"


def test_a_lost_answer_is_sent_by_the_next_sweep_once(aws, monkeypatch):
    """The failing write succeeded, the send did not: the job is failed, unanswered, and its
    lease stays with the failure's seq, so the next run finds it again and answers it."""
    ref, _ = stopped(aws)
    real = aws.sqs.send_message
    monkeypatch.setattr(aws.sqs, "send_message", lambda **kw: (_ for _ in ()).throw(
        RuntimeError("SQS unreachable")))
    with pytest.raises(qs.SweepError, match="SQS unreachable"):
        sweep(aws, LEASE + qs.GRACE + 1)
    i, _ = record(aws, ref)
    assert i["state"]["S"] == "failed" and lease_of(aws, ref)["failed_seq"] == i["seq"]["N"]
    assert qj.unanswered({"seq": i["seq"]["N"], "responded_seq": "0"})
    monkeypatch.setattr(aws.sqs, "send_message", real)
    assert sweep(aws, LEASE + qs.GRACE + 61) == dict(NOTHING, answered=1)
    got = answers(aws)
    assert [(a["state"], a["seq"]) for a in got] == [("failed", int(i["seq"]["N"]))]
    assert sweep(aws, LEASE + qs.GRACE + 121) == NOTHING and answers(aws) == []
    i2, _ = record(aws, ref)
    assert i2["seq"] == i["seq"] and i2["responded_seq"] == i["seq"]
    assert lease_of(aws, ref) is None


def test_a_lease_that_could_not_be_marked_still_gets_its_answer(aws, monkeypatch):
    """The failure's seq could not be written on the lease: the answer goes all the same, the
    run reports the error, and the next run deletes the lease."""
    ref, _ = stopped(aws)
    real = qs.lease_write

    def unmarked(jobs_, ref_, started, op, **kw):
        if op == "update_item":
            raise RuntimeError("throttled")
        return real(jobs_, ref_, started, op, **kw)

    monkeypatch.setattr(qs, "lease_write", unmarked)
    with pytest.raises(qs.SweepError, match="throttled"):
        sweep(aws, LEASE + qs.GRACE + 1)
    assert [a["state"] for a in answers(aws)] == ["failed"]
    monkeypatch.setattr(qs, "lease_write", real)
    assert sweep(aws, LEASE + qs.GRACE + 61) == dict(NOTHING, tidied=1)
    assert answers(aws) == [] and lease_of(aws, ref) is None


def test_without_a_response_queue_the_job_fails_and_its_lease_goes_at_once(aws):
    ref, _ = stopped(aws)
    seen = requests(aws)
    assert sweep(aws, LEASE + qs.GRACE + 1, env={"QFLEET_RESPONSE_QUEUE_URL": ""}) == dict(
        NOTHING, failed=1)
    assert seen == [("Scan", LEASES), ("GetItem", TABLE), ("UpdateItem", TABLE),
                    ("DeleteItem", LEASES)]
    i, _ = record(aws, ref)
    assert i["state"]["S"] == "failed" and lease_of(aws, ref) is None
    assert "responded" not in i and answers(aws) == []


def test_jobs_that_ended_or_are_not_on_their_last_attempt_are_never_swept(aws):
    jobs = worker(aws)
    done = qj.JobRef("uploads/d.jpg", "v1", BUCKET)
    jobs.start(done, 2)
    jobs.done(done, "processed/d.jpg")
    failed = qj.JobRef("uploads/f.jpg", "v1", BUCKET)
    jobs.start(failed, 2)
    jobs.fail(failed, "boom", 2)
    first = qj.JobRef("uploads/r.jpg", "v1", BUCKET)
    jobs.start(first, 1)  # its worker stopped too: SQS delivers it again
    before = [record(aws, r) for r in (done, failed, first)]
    answers(aws)
    assert aws.ddb.scan(TableName=LEASES)["Items"] == []
    assert sweep(aws, 86400) == NOTHING
    assert [record(aws, r) for r in (done, failed, first)] == before and answers(aws) == []


def test_a_lease_that_cannot_be_settled_is_reported_after_the_others_are_swept(aws):
    refs = [stopped(aws, "uploads/%d.jpg" % n)[0] for n in range(4)]
    broken = refs[2].key

    class Ddb:
        """The tables' client, whose read of one job fails."""

        def __getattr__(self, name):
            return getattr(aws.ddb, name)

        def get_item(self, **kw):
            if kw["Key"]["key"]["S"] == broken:
                raise RuntimeError("throttled")
            return aws.ddb.get_item(**kw)

    with pytest.raises(qs.SweepError, match="1 error.*%s v1: RuntimeError" % broken):
        qs.sweep(Ddb(), aws.sqs, config(aws), now=time.time() + LEASE + qs.GRACE + 1)
    states = {r.key: record(aws, r)[0]["state"]["S"] for r in refs}
    assert states == {r.key: "processing" if r.key == broken else "failed" for r in refs}
    assert lease_of(aws, refs[2]) is not None, "left for the next run"


def test_a_lease_table_that_cannot_be_read_is_reported(aws, capsys, monkeypatch):
    ref, _ = stopped(aws)

    def throttled(**kw):
        raise RuntimeError("throttled")

    monkeypatch.setattr(aws.ddb, "scan", throttled)
    with pytest.raises(qs.SweepError, match="lease table %s: RuntimeError" % LEASES):
        sweep(aws, LEASE + qs.GRACE + 1)
    assert record(aws, ref)[0]["state"]["S"] == "processing"
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["sweeper"] == "error"


def test_a_scan_reads_every_page(aws, monkeypatch):
    for n in range(3):
        stopped(aws, "uploads/p%d.jpg" % n)
    pages = []
    real = aws.ddb.scan

    def one_a_page(**kw):
        assert kw["ConsistentRead"] is True and kw["TableName"] == LEASES
        pages.append(kw.get("ExclusiveStartKey"))
        return real(**dict(kw, Limit=1))

    monkeypatch.setattr(aws.ddb, "scan", one_a_page)
    assert sweep(aws, LEASE + qs.GRACE + 1)["failed"] == 3
    assert sum(p is not None for p in pages) >= 2  # one item a page: 3 pages at least


def test_a_run_near_its_timeout_leaves_the_rest_for_the_next(aws):
    for n in range(3):
        stopped(aws, "uploads/t%d.jpg" % n)
    calls = []
    first = sweep(aws, LEASE + qs.GRACE + 1, stop=lambda: calls.append(1) or len(calls) > 1)
    assert first == dict(NOTHING, failed=1)
    assert len(aws.ddb.scan(TableName=LEASES)["Items"]) == 2
    assert sweep(aws, LEASE + qs.GRACE + 1)["failed"] == 2


def test_the_function_sweeps_the_tables_its_environment_names(aws, monkeypatch, capsys):
    ref, _ = stopped(aws)
    for k, v in {"QFLEET_JOB_TABLE": TABLE, "QFLEET_LEASE_TABLE": LEASES,
                 "QFLEET_RESPONSE_QUEUE_URL": aws.responses, "QFLEET_ENVIRONMENT": "t",
                 "QFLEET_JOB_RETENTION_DAYS": "7"}.items():
        monkeypatch.setenv(k, v)
    for k in ("QFLEET_STAGE", "QFLEET_STAGE_INDEX", "QFLEET_MAX_RECEIVE_COUNT"):
        monkeypatch.delenv(k, raising=False)

    class Context:
        def get_remaining_time_in_millis(self):
            return 58000

    monkeypatch.setattr(qs, "GRACE", -LEASE - 1)  # the lease passed a grace ago
    assert qs.handler({"source": "aws.events"}, Context()) == dict(NOTHING, failed=1)
    i, _ = record(aws, ref)
    assert i["state"]["S"] == "failed"
    assert int(i["expires_at"]["N"]) - time.time() == pytest.approx(7 * 86400, abs=60)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["sweeper"] for x in lines] == ["failed", "swept"]
    assert lines[0]["key"] == ref.key and lines[1]["failed"] == 1
    monkeypatch.delenv("QFLEET_LEASE_TABLE")
    with pytest.raises(qs.SweepError, match="QFLEET_LEASE_TABLE"):
        qs.handler({}, Context())
    monkeypatch.delenv("QFLEET_JOB_TABLE")
    with pytest.raises(qs.SweepError, match="QFLEET_JOB_TABLE"):
        qs.handler({}, Context())


def test_a_lease_of_another_stage_never_fails_the_job(aws):
    """A lease names its attempt's stage: a job now at another stage is not that attempt's,
    even were its updated_at the lease's `started` (one millisecond for two writes)."""
    ref, _ = stopped(aws)
    aws.ddb.update_item(TableName=TABLE, Key={"key": {"S": ref.key}, "upload": {"S": "v1"}},
                        UpdateExpression="SET stage_index = :one",
                        ExpressionAttributeValues={":one": {"N": "1"}})
    assert sweep(aws, LEASE + qs.GRACE + 1) == dict(NOTHING, tidied=1)
    assert record(aws, ref)[0]["state"]["S"] == "processing" and answers(aws) == []


def test_an_answered_job_whose_lease_stayed_is_not_answered_twice(aws, monkeypatch):
    """The answer went out and was recorded; the lease's delete did not: the next run finds
    the job answered, and only deletes the lease."""
    ref, _ = stopped(aws)
    real = qs.lease_write

    def kept(jobs_, ref_, started, op, **kw):
        if op == "delete_item":
            raise RuntimeError("throttled")
        return real(jobs_, ref_, started, op, **kw)

    monkeypatch.setattr(qs, "lease_write", kept)
    with pytest.raises(qs.SweepError, match="throttled"):
        sweep(aws, LEASE + qs.GRACE + 1)
    assert [a["state"] for a in answers(aws)] == ["failed"] and lease_of(aws, ref)["failed_seq"]
    monkeypatch.setattr(qs, "lease_write", real)
    assert sweep(aws, LEASE + qs.GRACE + 61) == dict(NOTHING, tidied=1)
    assert answers(aws) == [] and lease_of(aws, ref) is None


def notification(key, version=None, sequencer="0A1B2C", name="ObjectCreated:Put",
                 at="2026-11-27T01:02:03.456Z"):
    """What SNS gives a function subscribed to the uploads' topic: S3's event as its Message."""
    obj = {"key": key, "sequencer": sequencer}
    if version:
        obj["versionId"] = version
    s3 = {"eventSource": "aws:s3", "eventName": name, "eventTime": "2026-11-27T01:02:03.001Z",
          "s3": {"bucket": {"name": BUCKET}, "object": obj}}
    return {"Records": [{"EventSource": "aws:sns", "Sns": {
        "MessageId": "m-1", "Timestamp": at, "Message": json.dumps({"Records": [s3]})}}]}


def test_an_upload_is_queued_as_it_arrives_and_its_worker_goes_on_from_there(aws, monkeypatch):
    """The uploads' topic also invokes the function: each upload's job is `queued` before any
    worker receives it, under the key the worker computes from the same event; the worker's
    start then moves it on, and its history holds one `queued`."""
    monkeypatch.setenv("QFLEET_JOB_TABLE", TABLE)
    monkeypatch.setenv("QFLEET_FIRST_STAGE", "resize")
    event = notification("uploads/a%20b.jpg", version="v-1")
    assert qs.handler(event) == {"queued": 1, "known": 0, "ignored": 0}
    ref = qj.JobRef("uploads/a b.jpg", "v-1", BUCKET)
    i, h = record(aws, ref)
    assert i["state"]["S"] == "queued" and i["seq"]["N"] == "1"
    assert i["queued_at"]["S"] == "2026-11-27T01:02:03.456Z"
    assert i["uploaded_at"]["S"] == "2026-11-27T01:02:03.001Z"
    assert [(x["state"]["S"], x["stage"]["S"]) for x in h] == [("queued", "resize")]
    # The worker's key for the same S3 record is the same job.
    s3 = json.loads(event["Records"][0]["Sns"]["Message"])["Records"][0]
    assert vars(qj.job_ref_of(s3, {}, {})) == vars(qj.job_ref_of(s3, {}, {"MessageId": "q"}))
    assert qj.job_ref_of(s3, {}, {}).key == ref.key
    w = worker(aws, QFLEET_STAGE="resize")
    assert w.start(ref, 1) == "started"
    w.done(ref, "processed/a b.jpg")
    i, h = record(aws, ref)
    assert [x["state"]["S"] for x in h] == ["queued", "processing", "done"]
    assert i["queued_at"]["S"] == "2026-11-27T01:02:03.456Z" and i["seq"]["N"] == "3"
    # A repeated notification (S3 delivers at least once) never moves the job back.
    assert qs.handler(event) == {"queued": 0, "known": 1, "ignored": 0}
    assert record(aws, ref)[0]["state"]["S"] == "done"


def test_a_late_arrival_never_moves_a_started_job_back(aws, monkeypatch):
    """SNS may invoke the function after the queue's worker started the job: nothing changes."""
    monkeypatch.setenv("QFLEET_JOB_TABLE", TABLE)
    ref = qj.JobRef("uploads/late.jpg", "0A1B2C", BUCKET)
    assert worker(aws).start(ref, 1) == "started"
    before, _ = record(aws, ref)
    assert qs.handler(notification("uploads/late.jpg")) == {"queued": 0, "known": 1, "ignored": 0}
    assert record(aws, ref)[0] == before


def test_what_is_not_an_upload_is_not_recorded(aws, monkeypatch):
    """S3's test event, a removal, a record without version id or sequencer, a body that is not
    JSON: nothing written."""
    monkeypatch.setenv("QFLEET_JOB_TABLE", TABLE)
    test_event = {"Records": [{"EventSource": "aws:sns", "Sns": {
        "Message": json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})}}]}
    bad = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "not json"}}]}
    assert qs.handler(test_event) == {"queued": 0, "known": 0, "ignored": 0}
    assert qs.handler(bad) == {"queued": 0, "known": 0, "ignored": 0}
    assert qs.handler(notification("uploads/x.jpg", name="ObjectRemoved:Delete"))["ignored"] == 1
    assert qs.handler(notification("uploads/x.jpg", sequencer=None))["ignored"] == 1
    assert aws.ddb.scan(TableName=TABLE)["Count"] == 0


def test_an_arrival_that_cannot_be_written_raises_so_that_lambda_retries(aws, monkeypatch):
    monkeypatch.setenv("QFLEET_JOB_TABLE", TABLE)
    aws.ddb.delete_table(TableName=TABLE)
    with pytest.raises(qj.JobTableError):
        qs.handler(notification("uploads/y.jpg"))
