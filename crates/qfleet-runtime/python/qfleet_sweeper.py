"""qfleet's job sweeper (docs/jobs.md, "A worker that stops"): it fails the jobs whose worker
stopped during their last attempt, and answers them.

A worker can stop in the middle of a job and write nothing more: out of memory, an instance or
a task lost, a function stopped at its timeout. Before the last attempt, the message comes back
and another worker runs the job. On the last attempt, SQS moves the message to the dead-letter
queue at its next receive, and nothing would end the job's record: it would stay `processing`.
So a start on the last attempt first puts a lease in the lease table (QFLEET_LEASE_TABLE;
qfleet_jobs.py): the job's key and upload, its `stage_index`, `lease_until` and `started`, the
`updated_at` its start wrote. Every write that ends the attempt deletes it. Every minute (an
EventBridge rule), this function reads the leases that ended more than GRACE ago. It fails each
job that is still `processing` as that start left it, and sends its response, as a worker's
failure does. The message itself stays in the dead-letter queue, where `qfleet dlq redrive` can
run it again.

What no mechanism can see: a message whose record was never written, or whose last receive's
lease could not be written (the lease table could not be reached). The worker runs no job it
could not lease on its last receive (docs/jobs.md, step 1), so such a message holds no lease.
It reaches the dead-letter queue with no record, or with its record as the attempt before left
it, and both stay as they are.
"""
import copy
import json
import time

import boto3

import qfleet_jobs
from qfleet_jobs import JobRef, Jobs, job_key, job_now, unanswered

# Why no worker ends such a job: "The maxReceiveCount is the number of times a consumer can
# receive a message from a source queue before it is moved to a dead-letter queue" (Amazon SQS
# Developer Guide:
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
# After the receive at QFLEET_MAX_RECEIVE_COUNT, the last attempt's, no worker gets the message.

# How long after a lease's end its job is failed. The worker's clock and the sweeper's can
# differ; and a heartbeat extends the message's visibility first, then the lease, so the
# lease's write can land a little after the message was kept.
GRACE = 60
# A run stops taking new leases this long before its function's timeout: the next minute's run
# takes the rest, as they stay in the table.
STOP_MS = 10_000
# What the sweeper reads of a job: what tells whether the leased start was its last write, and
# what its response says.
READ = ("state", "stage", "stage_index", "updated_at", "responded", "responded_seq", "seq",
        "output", "error", "attempts", "uploaded_at", "finished_at", "bucket")


class SweepError(Exception):
    """Something could not be read or written: raised at the end of the run, after the rest,
    so that the function's Errors metric shows it."""


def log(event, **fields):
    print(json.dumps(dict(fields, sweeper=event), sort_keys=True), flush=True)


def plain(item):
    return {k: list(v.values())[0] for k, v in item.items()}


def expired(jobs, cutoff):
    """Every lease that ended before `cutoff`, as a plain dict, every page of the scan.

    A Scan reads the whole table, and "A filter expression is applied after a Scan finishes
    but before the results are returned" (Amazon DynamoDB Developer Guide, "Scanning tables in
    DynamoDB": https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html). That
    is cheap here: the lease table holds only the last attempts in flight, as every write that
    ends one deletes its lease, and the sweeper deletes the rest. A page holds at most 1 MB;
    LastEvaluatedKey says there may be another.

    A consistent scan: "If ConsistentRead is true, then all of the write operations that
    completed before the Scan began are guaranteed to be contained in the Scan response"
    (Amazon DynamoDB API Reference, Scan:
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Scan.html). A heartbeat's
    renewal moves only `lease_until`, never the job's record, so this read is the one that sees
    it."""
    kw = dict(TableName=jobs.cfg.lease_table, ConsistentRead=True,
              FilterExpression="#lease_until < :cutoff",
              ExpressionAttributeNames={"#lease_until": "lease_until"},
              ExpressionAttributeValues={":cutoff": {"S": cutoff}})
    found = []
    while True:
        page = jobs._db().scan(**kw)
        found += [plain(i) for i in page.get("Items", [])]
        if not page.get("LastEvaluatedKey"):
            return found
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def read(jobs, ref):
    """The job's record as it is now (a consistent read), {} when there is none."""
    item = jobs._db().get_item(
        TableName=jobs._name(), ConsistentRead=True, Key=job_key(ref),
        ProjectionExpression=", ".join("#" + n for n in READ),
        ExpressionAttributeNames={"#" + n: n for n in READ}).get("Item") or {}
    return plain(item)


def stopped_error(until):
    """The failed job's `error`: what happened, and what to do."""
    return ("no result from the last attempt by its lease's end %s: the worker stopped (a "
            "crash, a lost instance or task, or a job longer than its timeout); SQS moves the "
            "message to the dead-letter queue, where `qfleet dlq redrive` can run it again"
            % until)[:qfleet_jobs.JOB_ERROR_MAX]


def lease_write(jobs, ref, started, op, **kw):
    """A write of the lease of the attempt that `started`, on that condition: False when the
    lease is gone or another attempt's (a redrive's start put its own)."""
    values = dict(kw.pop("values", {}), **{":started": {"S": started}})
    return jobs._lease(op, ref, "#started = :started", values, **kw)


def answer(jobs, ref, job):
    """Sends the failed job's response (the worker's shape), and records it on the condition
    that the job's seq is still the failure's: a redrive that started the job again meanwhile
    owns the record now, and its own answer will follow."""
    jobs._respond(ref, "failed", None, job.get("error"), job, condition="#seq = :rs")


def settle(base, lease):
    """What one expired lease comes to: `failed` (the job failed now, and answered when there
    is a response queue), `answered` (failed by an earlier run whose response was lost),
    `tidied` (a lease whose job moved on or is gone: deleted) or `skipped` (it changed since it
    was read: the next run looks again)."""
    ref, started = JobRef(lease["key"], lease["upload"]), lease["started"]
    job = read(base, ref)
    # A Jobs as the job's stage's worker would be: its history entry and response name it.
    cfg = copy.copy(base.cfg)
    cfg.stage = job.get("stage") or ""
    jobs = Jobs(cfg, base._ddb, base._sqs, worker="sweeper")
    failed_seq = int(lease.get("failed_seq") or 0)
    if (job.get("state") == "processing" and job.get("updated_at") == started
            and str(job.get("stage_index")) == str(lease.get("stage_index"))):
        # Nothing was written since the leased start: the worker stopped.
        now, error = job_now(), stopped_error(lease["lease_until"])
        item = jobs._update(
            ref, ["#state = :failed", "#error = :error", "#finished_at = :finished"],
            {":failed": {"S": "failed"}, ":error": {"S": error}, ":finished": {"S": now},
             ":processing": {"S": "processing"}, ":started": {"S": started}},
            "#state = :processing AND #updated_at = :started",
            [jobs._entry("failed", now, worker="sweeper", error=error)], step=True,
            ReturnValues="ALL_NEW")
        if not item:
            return "skipped"  # the worker wrote meanwhile
        job = plain(item)
        log("failed", key=ref.key, upload=ref.upload, lease_until=lease["lease_until"],
            seq=int(job["seq"]))
        if cfg.response_url:
            # The lease remembers the failure till it is answered: the next run sends a lost
            # answer (below). A redrive's start may have put its own lease meanwhile: then
            # none is set. The answer goes whatever this write came to.
            try:
                lease_write(jobs, ref, started, "update_item",
                            UpdateExpression="SET #failed_seq = :seq",
                            values={":seq": {"N": str(job["seq"])}})
            finally:
                answer(jobs, ref, job)
        lease_write(jobs, ref, started, "delete_item")
        return "failed"
    if (failed_seq and cfg.response_url and int(job.get("seq") or 0) == failed_seq
            and unanswered(job)):
        # Failed by an earlier run, nothing since, and its answer was lost: sent now.
        answer(jobs, ref, job)
        log("answered", key=ref.key, upload=ref.upload, lease_until=lease["lease_until"],
            seq=failed_seq)
        lease_write(jobs, ref, started, "delete_item")
        return "answered"
    # The job moved on (done, retrying, a redrive's new start, another stage) or is gone: the
    # lease is of no use, and would be read every minute till it expires.
    return "tidied" if lease_write(jobs, ref, started, "delete_item") else "skipped"


def sweep(ddb, sqs, cfg, now=None, stop=None):
    """One run: every job whose last attempt's lease ended more than GRACE before `now` (epoch
    seconds; the clock's by default) is failed and answered. Returns the counts by outcome
    (settle's). A lease that cannot be settled is logged and the run goes on with the others;
    then it raises SweepError, as it does when the leases cannot be read. `stop()` true ends
    the run early (its function's timeout is near): what is left stays for the next run."""
    now = time.time() if now is None else now
    cutoff = job_now((now - GRACE) * 1000)
    jobs = Jobs(cfg, ddb, sqs, worker="sweeper")
    jobs._name()  # no job table, no sweep: raised at once
    counts = {"failed": 0, "answered": 0, "tidied": 0, "skipped": 0}
    errors, left = [], False
    try:
        leases = expired(jobs, cutoff)
    except Exception as e:  # noqa: BLE001 - said, then raised
        log("error", table=cfg.lease_table, error=repr(e))
        raise SweepError("lease table %s: %r" % (cfg.lease_table, e)) from None
    for lease in leases:
        if stop and stop():
            left = True
            break
        try:
            counts[settle(jobs, lease)] += 1
        except Exception as e:  # noqa: BLE001 - the other leases go on
            errors.append("%s %s: %r" % (lease.get("key"), lease.get("upload"), e))
            log("error", key=lease.get("key"), upload=lease.get("upload"),
                lease_until=lease.get("lease_until"), error=repr(e))
    log("stopped" if left else "swept", cutoff=cutoff, **counts)
    if errors:
        raise SweepError("%d error(s), first: %s" % (len(errors), errors[0]))
    return counts


# SNS invokes the function asynchronously: "Amazon Simple Notification Service (Amazon SNS),
# invoke functions asynchronously" and "If the function returns an error, by default Lambda
# attempts to run it two more times"; also "events might also be deleted from the queue without
# being sent to the function" (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html,
# https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). So an
# arrival is the earliest record, never the only one: the worker's first receive writes the
# job's record when no arrival did.
def arrivals(ddb, cfg, event):
    """The uploads' topic's notifications (docs/jobs.md, "When a job is queued"): each upload's
    job is recorded `queued` unless it has a record. Its key is the one the first stage's worker
    computes from the same S3 event (job_ref_of); `queued_at` is SNS's publish time. Returns the
    counts; a write that fails raises, and Lambda retries the notification."""
    jobs = Jobs(cfg, ddb, worker="arrivals")
    counts = {"queued": 0, "known": 0, "ignored": 0}
    for n in (event or {}).get("Records") or []:
        sns = n.get("Sns") or {}
        try:
            body = json.loads(sns.get("Message") or "")
        except ValueError:
            body = None
        for r in (body.get("Records") or []) if isinstance(body, dict) else []:
            if r.get("eventSource") != "aws:s3" or not str(r.get("eventName")).startswith(
                    "ObjectCreated:"):
                counts["ignored"] += 1
                continue
            ref = qfleet_jobs.job_ref_of(r, {}, {})
            if ref.upload.startswith("message:"):  # no version id, no sequencer: the worker's
                counts["ignored"] += 1  # key would be its message's, unknown here
                continue
            ref.queued_at = sns.get("Timestamp") or job_now()
            counts["queued" if jobs.arrive(ref) else "known"] += 1
    log("arrived", **counts)
    return counts


def handler(event, context=None):
    """The function's entry: its loader (qfleet_sweeper_loader.py) calls it every minute, and
    for each notification of the uploads' topic (then it records arrivals)."""
    cfg = qfleet_jobs.JobConfig()
    if not (cfg.table or cfg.stack):
        raise SweepError("QFLEET_JOB_TABLE is not set: no job table to sweep")
    if any(r.get("EventSource") == "aws:sns" for r in (event or {}).get("Records") or []):
        cfg.stage = cfg.first_stage
        return arrivals(boto3.client("dynamodb", region_name=cfg.region), cfg, event)
    if not cfg.lease_table:
        raise SweepError("QFLEET_LEASE_TABLE is not set: no leases to read")
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return sweep(boto3.client("dynamodb", region_name=cfg.region),
                 boto3.client("sqs", region_name=cfg.region), cfg,
                 stop=(lambda: remaining() < STOP_MS) if remaining else None)
