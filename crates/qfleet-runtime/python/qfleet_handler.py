"""qfleet reference Lambda handler: S3 upload -> SNS -> SQS -> this function.

The serverless twin of the reference worker (qfleet_worker.py). An SQS event source mapping with
FunctionResponseTypes [ReportBatchItemFailures] invokes handler(event, context) with a batch;
the default job moves uploads/<k> to processed/<k>. Stdlib + boto3 only; see qfleet_handler.md.
"""
import json
import os
import time

import boto3

# qfleet_jobs.py (docs/jobs.md): qfleet's render puts its loader in this line's place.
from qfleet_jobs import JobConfig, Jobs, message_ref

# What the handler and the reference worker share (qfleet_shared.py): qfleet's render puts its
# text in this statement's place, as the function's inline code is one file.
from qfleet_shared import (
    METRIC, NAMESPACE, JobCounts, SharedConfig, answer, classify, event_time, job_ids,
    job_names, job_tenant, last_receive, log_line, Notices, message_job, next_stage_message,
    next_stage_send, parse_body, process, retry_delay, seconds_since, stored_body,
)

_notices = None  # alerts: this execution environment's failure notices, bounded across invocations
_s3 = None  # created on first use, then reused by every invocation of this execution environment
_sqs = None


def notices():
    global _notices
    if _notices is None:
        _notices = Notices()
    return _notices


def s3_client():
    global _s3
    if _s3 is None:
        _s3 = boto3.client("s3", region_name=os.environ.get("AWS_REGION") or None)
    return _s3


def sqs_client():
    global _sqs
    if _sqs is None:
        _sqs = boto3.client("sqs", region_name=os.environ.get("AWS_REGION") or None)
    return _sqs


Config = SharedConfig  # the handler reads only the settings it shares with the worker


# With less time left a record goes back as a failure, not started (a timeout would fail the
# whole batch: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
# 2 s fit the writes that fail a batch's last receives (a few requests each) and the return.
STOP_MS = 2000
LATE = "not started: the invocation ran out of time on its last attempt"
# From a FIFO queue: "your function should stop processing messages after the first failure and
# return all failed and unprocessed messages in batchItemFailures. This helps preserve the
# ordering of messages in your queue."
# (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html). Order is kept
# per message group ("Messages within the same message group are always processed one at a
# time, in strict order", FIFO-key-terms), so only the failed message's group stops: a later
# message of another group is worked on, rather than received again for nothing (each receive
# counts toward maxReceiveCount).
AFTER_FAILURE = "not started: an earlier message of its group failed in this batch"


def metric_lines(environment, seconds, now_ms=None, stage=""):
    """The batch's upload-to-processed seconds as CloudWatch embedded metric format lines (at
    most 100 values each, as the specification allows): Lambda sends stdout to the function's
    log group and CloudWatch Logs turns these into the metric, with no PutMetricData call and no
    permission beyond the logs ("Using the embedded metric format with Lambda":
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Lambda.html)."""
    if not environment or not seconds:
        return []
    ts = int(time.time() * 1000) if now_ms is None else now_ms
    # A pipeline's stage (QFLEET_STAGE) has a metric of its own, never mixed with another's.
    names = ["Environment", "Stage"] if stage else ["Environment"]
    meta = {"Timestamp": ts, "CloudWatchMetrics": [{
        "Namespace": NAMESPACE, "Dimensions": [names],
        "Metrics": [{"Name": METRIC, "Unit": "Seconds"}]}]}
    values = {"Environment": environment, "Stage": stage} if stage else {"Environment": environment}
    return [json.dumps({"_aws": meta, **values,
                        METRIC: [round(v, 1) for v in seconds[i:i + 100]]})
            for i in range(0, len(seconds), 100)]


def work(body, cfg, latencies=None, jobs=None, message=None):
    """Run the job on every record of one message; returns (outcome, done, ignored). The
    upload-to-processed seconds of each job done go to `latencies`. With `jobs` (a job table:
    docs/jobs.md) each record's job is kept around its work; a job already done is not run."""
    kind = classify(body)
    if kind == "test":
        return "skipped-test-event", 0, 0
    if kind == "confirmation":  # SNS asks to confirm a subscription qfleet did not make
        return "skipped-confirmation", 0, 0
    if kind == "message":
        return work_message(body, cfg, latencies, jobs, message or {})
    recs = parse_body(body, message_required=True)
    done = ign = 0
    raw, records = jobs.records(body) if jobs else ({}, [None] * len(recs))
    for (bucket, key, ev, at), record in zip(recs, records):
        if ((cfg.bucket and bucket != cfg.bucket)
                or not key.startswith(cfg.upload_prefix)
                or not ev.startswith("ObjectCreated:")):
            ign += 1
            continue

        tenant = job_tenant(cfg, message, body, key)

        def one(meta=None, job=None, bucket=bucket, key=key, tenant=tenant):
            dest = process(s3_client(), bucket, key, cfg, meta)
            if cfg.next_queue_url:
                # At least once: a retry after a failed send finds the object moved and sends
                # again.
                sqs_client().send_message(**next_stage_send(cfg.next_url(message), (
                    next_stage_message(bucket, dest, event_time(), job)), message, dest,
                    tenant))
            return dest
        if jobs is None:
            one()
        elif jobs.run(s3_client(), record, raw, message or {}, bucket, key, one,
                      cfg.processed_prefix + key[len(cfg.upload_prefix):], tenant,
                      cfg.lane(message)) is None:
            continue  # a duplicate of a job done: not run again
        if latencies is not None and (s := seconds_since(at)) is not None:
            latencies.append(s)
        done += 1
    outcome = "processed" if done else ("cancelled" if jobs and jobs.cancelled else
                                        "duplicate" if jobs and jobs.duplicates else "ignored")
    return outcome, done, ign


def work_message(body, cfg, latencies=None, jobs=None, record=None):
    """A job sent as a message (docs/jobs.md)."""
    record = record or {}
    job = message_job(body, record)
    tenant = job_tenant(cfg, record, body)

    def one(meta=None, field=None):
        dest = answer(s3_client(), cfg.bucket, stored_body(s3_client(), cfg.bucket, job), cfg,
                      meta)
        if cfg.next_queue_url:
            sqs_client().send_message(**next_stage_send(cfg.next_url(record), (
                next_stage_message(cfg.bucket, dest, event_time(), field)), record, dest,
                tenant))
        return dest
    if jobs is None:
        one()
    elif jobs.run_ref(message_ref(record), record, one, tenant, cfg.lane(record)) is None:
        return ("cancelled" if jobs.cancelled else "duplicate"), 0, 0
    sent = (record.get("attributes") or {}).get("SentTimestamp")
    if latencies is not None and sent:
        latencies.append(max(0.0, time.time() - int(sent) / 1000))
    return "processed", 1, 0


_secrets_loaded = False


def load_secrets(env=None, client=None):
    """Once per execution environment: QFLEET_SECRETS, a JSON object of variable name ->
    "ssm:/NAME", "secretsmanager:ID" or the ARN of either (stack file's workers.secrets), read
    with the function's role into the environment. A failure names the variable and where it
    looked, never a value, and fails the invocation (its messages are retried)."""
    global _secrets_loaded
    env = os.environ if env is None else env
    if _secrets_loaded or not env.get("QFLEET_SECRETS"):
        return
    made = {}
    for name, ref in sorted(json.loads(env["QFLEET_SECRETS"]).items()):
        parts = ref.split(":", 5)
        arn = len(parts) == 6 and parts[0] == "arn"
        service = parts[2] if arn else parts[0]
        ident = ref if arn else ref.split(":", 1)[1]
        region = parts[3] if arn else env.get("AWS_REGION")
        try:
            if (service, region) not in made:
                made[(service, region)] = (client or boto3.client)(service, region_name=region)
            c = made[(service, region)]
            if service == "ssm":
                value = c.get_parameter(Name=ident, WithDecryption=True)["Parameter"]["Value"]
            elif service == "secretsmanager":
                value = c.get_secret_value(SecretId=ident)["SecretString"]
            else:
                raise ValueError("not ssm:NAME, secretsmanager:ID or an ARN of either")
        except Exception as e:  # noqa: BLE001 - reported with the name, never the value
            code = getattr(e, "response", {}).get("Error", {}).get("Code")
            raise RuntimeError(f"secret {name} from {ref}: {code or type(e).__name__}") from None
        env[name] = value
    _secrets_loaded = True


def hide(m, seconds, cfg):
    """queue.retry: a failed message comes back after `seconds`, not after the queue's
    visibility timeout. Lambda leaves a message it is told failed (batchItemFailures) in the
    queue as it is: it "becomes visible again" when its visibility timeout ends
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html), which this
    sets from now, on the queue it came from (its lane's). Not set (an error logged): it comes
    back after the queue's."""
    url = cfg.priority_url if cfg.lane(m) else os.environ.get("QFLEET_QUEUE_URL")
    if not (url and m.get("receiptHandle")):
        return
    try:
        sqs_client().change_message_visibility(
            QueueUrl=url, ReceiptHandle=m["receiptHandle"], VisibilityTimeout=seconds)
    except Exception as e:  # noqa: BLE001 - the queue's own timeout stands
        print(f"qfleet-handler change-visibility: {e!r}", flush=True)


def handler(event, context=None):
    """SQS batch in, the messages that failed out: Lambda deletes the others from the queue and
    leaves these to be retried (and dead-lettered after maxReceiveCount receives)."""
    load_secrets()
    cfg = Config()
    failures, latencies, counts = [], [], JobCounts()
    # The job table (docs/jobs.md): this invocation is the worker a job's record names.
    jobs = None
    # A job's last attempt holds a lease till this invocation's deadline, when the job
    # sweeper may fail it (docs/jobs.md, "A worker that stops"). The attempt is over by
    # then: "Timeout is the maximum amount of time in seconds that a Lambda function can
    # run" (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html), and
    # get_remaining_time_in_millis "Returns the number of milliseconds left before the
    # execution times out" (https://docs.aws.amazon.com/lambda/latest/dg/python-context.html).
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if os.environ.get("QFLEET_JOB_TABLE") or os.environ.get("QFLEET_JOBS_STACK"):
        jobs = Jobs(JobConfig(), sqs=sqs_client(),
                    worker=lambda: getattr(context, "aws_request_id", None) or "lambda",
                    lease=(lambda: remaining() / 1000) if remaining else None)
    records = (event or {}).get("Records") or []
    fifo = any((m.get("eventSourceARN") or "").endswith(".fifo") for m in records)
    failed = set()  # from a FIFO queue: the groups held back after a failure
    for m in records:
        group = (m.get("attributes") or {}).get("MessageGroupId")
        t0 = time.monotonic()
        rc = (m.get("attributes") or {}).get("ApproximateReceiveCount", "?")
        keys, extra, halt = 0, "", ""
        wait = {}

        def delay(rc=rc, t0=t0, wait=wait):
            """queue.retry: the wait before the next attempt once this one failed, drawn once
            (the job's record says when it comes back)."""
            if "s" not in wait:
                wait["s"] = retry_delay(cfg, rc, time.monotonic() - t0)
            return wait["s"]
        if jobs:
            jobs.duplicates = jobs.cancelled = 0
            jobs.refs = []
            jobs.retry_in = delay if cfg.retry else None
        try:
            halt = AFTER_FAILURE if fifo and group in failed else (
                LATE if remaining and remaining() < STOP_MS else "")
            if halt:
                if jobs:  # no job runs; one on its last receive fails
                    jobs.halt = halt
                    work(m["body"], cfg, None, jobs, m)
                    jobs.halt = ""
                raise TimeoutError(halt if halt == AFTER_FAILURE
                                   else "not started: %d ms left" % remaining())
            outcome, keys, ign = work(m["body"], cfg, latencies, jobs, m)
            counts.add(outcome, rc, cfg.max_receive)
            if ign:
                extra = f" ignored={ign}"
            if jobs and jobs.duplicates:
                extra += f" duplicates={jobs.duplicates}"
        except Exception as e:  # one bad message must not fail the whole batch
            outcome = "failed"
            counts.add("halted" if halt else "failed", rc, cfg.max_receive)
            extra = " error=" + json.dumps(repr(e))
            failures.append({"itemIdentifier": m.get("messageId")})
            failed.add(group)
            if cfg.retry:
                # A record held back (after its group's failure, or not started) comes back
                # at once: a FIFO group waits only for its failed message's wait.
                hide(m, 0 if halt else delay(), cfg)
            # A job held back or not started has not failed on its own, but does for good on
            # its last receive. Its ids: the job table's (a later stage's input names its job).
            if not halt or last_receive(rc, cfg.max_receive):
                notices().failed(job_names(jobs and jobs.refs, m.get("body", ""), m),
                                 halt or repr(e), m)
        print(log_line(m.get("messageId"), job_ids(m.get("body", ""), m), outcome, keys, rc,
                       time.monotonic() - t0, extra, cfg.lane(m)), flush=True)
    lines = metric_lines(cfg.environment, latencies, stage=cfg.stage)
    for line in lines + counts.emf_lines(cfg, int(time.time() * 1000)):
        print(line, flush=True)
    return {"batchItemFailures": failures}
