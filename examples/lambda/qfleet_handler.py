"""qfleet reference Lambda handler: S3 upload -> SNS -> SQS -> this function.

The serverless twin of examples/worker/qfleet_worker.py. An SQS event source mapping with
FunctionResponseTypes [ReportBatchItemFailures] invokes handler(event, context) with a batch;
the default job moves uploads/<k> to processed/<k>. Stdlib + boto3 only; see README.md.
"""
import datetime
import hashlib
import json
import os
import time
import urllib.parse

import boto3
from botocore.exceptions import ClientError

# examples/worker/qfleet_jobs.py (docs/jobs.md): qfleet's render puts its text in this line's place.
from qfleet_jobs import JobConfig, Jobs, message_ref

# What S3 answers for a source object that is not there: 404 with s3:ListBucket on the bucket,
# 403 without it (the function's role has no s3:ListBucket), so a redelivered message meets 403.
MISSING_SOURCE = ("NoSuchKey", "404", "NotFound", "AccessDenied", "403")
# What CopyObject keeps of the source by itself; a multipart copy copies only the bytes.
KEEP = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage",
        "CacheControl", "Metadata")

_s3 = None  # created on first use, then reused by every invocation of this execution environment
_sqs = None


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


class Config:
    def __init__(self, env=None):
        e = os.environ if env is None else env
        self.bucket = e.get("QFLEET_BUCKET") or ""
        self.upload_prefix = e.get("QFLEET_UPLOAD_PREFIX") or "uploads/"
        self.processed_prefix = e.get("QFLEET_PROCESSED_PREFIX") or "processed/"
        self.environment = e.get("QFLEET_ENVIRONMENT") or ""  # names the latency metric
        self.stage = e.get("QFLEET_STAGE") or ""  # a pipeline's stage: its own metric
        # A pipeline's stage whose next stage is fed by messages: where to say what it wrote.
        self.next_queue_url = e.get("QFLEET_NEXT_QUEUE_URL") or ""


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

# qfleet status reads upload-to-processed percentiles from this metric (Environment dimension).
NAMESPACE, METRIC = "qfleet", "UploadToProcessedSeconds"


def seconds_since(event_time, now=None):
    """Seconds from an S3 eventTime ("2026-11-23T09:00:00.123Z") to now; None if unreadable."""
    try:
        t = datetime.datetime.fromisoformat(str(event_time).replace("Z", "+00:00"))
        now = now or datetime.datetime.now(datetime.timezone.utc)
        return max(0.0, (now - t).total_seconds())
    except (TypeError, ValueError):
        return None


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


def parse_body(body):
    """(bucket, key, eventName, eventTime) of each record of an S3 event (classify's uploads)."""
    d = json.loads(body)
    if d.get("Type") == "Notification":
        d = json.loads(d["Message"])
    return [(r["s3"]["bucket"]["name"], urllib.parse.unquote_plus(r["s3"]["object"]["key"]),
             r.get("eventName", ""), r.get("eventTime")) for r in d["Records"]]


KEY_LIMIT, METADATA_LIMIT, META_PREFIX = 1024, 2048, "x-amz-meta-"


def classify(body):
    """test, uploads, confirmation (SNS's: never a job) or message (as the worker's)."""
    try:
        d = json.loads(body)
    except ValueError:
        return "message"
    if not isinstance(d, dict):
        return "message"
    if d.get("Type") in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
        return "confirmation"
    if d.get("Type") == "Notification" and isinstance(d.get("Message"), str):
        try:
            d = json.loads(d["Message"])
        except ValueError:
            return "message"
        if not isinstance(d, dict):
            return "message"
    if d.get("Event") == "s3:TestEvent":
        return "test"
    recs = d.get("Records")
    if isinstance(recs, list) and recs and all(
            isinstance(r, dict) and r.get("eventSource") == "aws:s3" for r in recs):
        return "uploads"
    return "message"


# A stored body's pointer, as the worker's (examples/worker/qfleet_worker.py, stored_body).
POINTERS = ("software.amazon.payloadoffloading.PayloadS3Pointer",
            "com.amazon.sqs.javamessaging.MessageS3Pointer")
SIZE_ATTRIBUTES = ("ExtendedPayloadSize", "SQSLargePayloadSize")
BODIES = "bodies/"


def parse(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def message_job(body, record):
    """A job sent as a message, as the worker's (Lambda spells attributes stringValue)."""
    attrs = record.get("messageAttributes") or {}
    given = (attrs.get("job_id") or {}).get("stringValue")
    return {"id": given or "sqs:" + (record.get("messageId") or ""), "source": "message",
            "body": body, "json": parse(body),
            "stored": next((a for a in SIZE_ATTRIBUTES if a in attrs), None),
            "attributes": {k: v.get("stringValue") for k, v in sorted(attrs.items())
                           if k != "job_id" and not k.startswith("qfleet_")
                           and k not in SIZE_ATTRIBUTES and v.get("stringValue") is not None}}


def stored_body(s3, bucket, job):
    """The job with its stored body read from the bucket, as the worker's."""
    if not job.get("stored"):
        return job
    p = job["json"]
    if not (isinstance(p, list) and len(p) == 2 and p[0] in POINTERS and isinstance(p[1], dict)):
        raise ValueError("the message has %s but its body is not a stored body's pointer"
                         % job["stored"])
    b, k = p[1].get("s3BucketName"), str(p[1].get("s3Key") or "")
    if b != bucket or not k.startswith(BODIES):
        raise ValueError("the stored body is s3://%s/%s: this environment reads stored bodies "
                         "only under s3://%s/%s" % (b, k, bucket, BODIES))
    data = s3.get_object(Bucket=b, Key=k)["Body"].read().decode()
    return dict(job, body=data, json=parse(data), stored="s3://%s/%s" % (b, k))


def answer(s3, bucket, job, cfg):
    """Default job for a message: processed/jobs/<id>.json, as the worker's."""
    if not bucket:
        raise ValueError("a message job needs QFLEET_BUCKET for its output")
    data = job["body"].encode()
    dest = "%sjobs/%s.json" % (cfg.processed_prefix, urllib.parse.quote(job["id"], safe=""))
    if len(dest.encode()) > KEY_LIMIT:
        raise ValueError("the output key for job %r is %d bytes, over S3's %d: use a shorter "
                         "job_id" % (job["id"][:64], len(dest.encode()), KEY_LIMIT))
    s3.put_object(Bucket=bucket, Key=dest, ContentType="application/json", Body=json.dumps({
        "job_id": job["id"], "source": job["source"], "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(), "attributes": job["attributes"]},
        sort_keys=True).encode())
    return dest


def metadata_bytes(meta):
    """The bytes `meta` (an object's user metadata) counts for against METADATA_LIMIT."""
    return sum(len((META_PREFIX + k).encode()) + len(str(v).encode())
               for k, v in (meta or {}).items())


def within_limits(key, dest, meta):
    """Raises, saying why, when S3 would refuse the output `dest` of `key` with `meta`: a
    failure that no retry can mend, said at once rather than as S3's error on every receive."""
    if len(dest.encode()) > KEY_LIMIT:
        raise ValueError("the output key %r is %d bytes, over S3's %d: the upload's key is too "
                         "long for the output prefix" % (dest[:64] + "...", len(dest.encode()),
                                                         KEY_LIMIT))
    size = metadata_bytes(meta)
    if size > METADATA_LIMIT:
        raise ValueError("the output's user metadata would be %d bytes, over S3's %d: the "
                         "upload's own metadata (%d bytes) and its key (%d bytes) leave no room "
                         "for the job's reference" % (size, METADATA_LIMIT, metadata_bytes(
                             {k: v for k, v in meta.items() if not k.startswith("qfleet-job-")}),
                             len(key.encode())))


def process(s3, bucket, key, cfg, meta=None):
    """Default job: move uploads/<rest> to processed/<rest>. Idempotent: a message redelivered
    after a successful move finds the destination in place and succeeds without work.
    CopyObject stops at 5 GB: the managed copy goes multipart (UploadPartCopy) above 8 MB and
    aborts the upload when a part fails. `meta`: user metadata for the copy besides the
    source's (its job, for the next stage: docs/jobs.md)."""
    dest = cfg.processed_prefix + key[len(cfg.upload_prefix):]
    try:
        h = s3.head_object(Bucket=bucket, Key=key)
        extra = {k: h[k] for k in KEEP if h.get(k)}
        if meta:
            extra["Metadata"] = dict(extra.get("Metadata") or {}, **meta)
        within_limits(key, dest, extra.get("Metadata"))
        s3.copy({"Bucket": bucket, "Key": key}, bucket, dest,
                ExtraArgs=dict(extra, MetadataDirective="REPLACE"))
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") not in MISSING_SOURCE:
            raise
        try:
            s3.head_object(Bucket=bucket, Key=dest)  # already moved by a previous try?
        except ClientError:
            raise e from None  # not moved either: the original error stands
        return dest
    s3.delete_object(Bucket=bucket, Key=key)
    return dest


def event_time(now=None):
    """A time as S3 writes an event's eventTime (UTC, milliseconds)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def next_stage_message(bucket, key, at, job=None):
    """The message that feeds a pipeline's next stage (QFLEET_NEXT_QUEUE_URL): an S3 event
    record for the object this stage wrote, at the time it was written (`at`), as S3's own
    event would be, so that the next stage's latency counts from then, as it does for a stage
    fed by objects; `job`, the job table's job it belongs to (docs/jobs.md)."""
    body = {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Copy",
        "eventTime": at,
        "s3": {"bucket": {"name": bucket},
               "object": {"key": urllib.parse.quote_plus(key, safe="/")}}}]}
    if job:
        body["qfleetJob"] = job
    return json.dumps(body)


def next_stage_send(url, body, record, dest):
    """SendMessage's arguments for the next stage. A FIFO queue (a name ending in .fifo) takes
    the message group of the message worked on (its own id when it has none), and a
    deduplication id from that message and the object written: a retry within SQS's 5-minute
    deduplication interval sends no second copy (docs/workers.md)."""
    args = {"QueueUrl": url, "MessageBody": body}
    if url.endswith(".fifo"):
        record = record or {}
        mid = record.get("messageId") or ""
        group = (record.get("attributes") or {}).get("MessageGroupId")
        args["MessageGroupId"] = group or mid or hashlib.sha256(dest.encode()).hexdigest()
        args["MessageDeduplicationId"] = hashlib.sha256(f"{mid}\n{dest}".encode()).hexdigest()
    return args


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
    recs = parse_body(body)
    done = ign = 0
    raw, records = jobs.records(body) if jobs else ({}, [None] * len(recs))
    for (bucket, key, ev, at), record in zip(recs, records):
        if ((cfg.bucket and bucket != cfg.bucket)
                or not key.startswith(cfg.upload_prefix)
                or not ev.startswith("ObjectCreated:")):
            ign += 1
            continue

        def one(meta=None, job=None, bucket=bucket, key=key):
            dest = process(s3_client(), bucket, key, cfg, meta)
            if cfg.next_queue_url:
                # At least once: a retry after a failed send finds the object moved and sends
                # again.
                sqs_client().send_message(**next_stage_send(cfg.next_queue_url, (
                    next_stage_message(bucket, dest, event_time(), job)), message, dest))
            return dest
        if jobs is None:
            one()
        elif jobs.run(s3_client(), record, raw, message or {}, bucket, key, one) is None:
            continue  # a duplicate of a job done: not run again
        if latencies is not None and (s := seconds_since(at)) is not None:
            latencies.append(s)
        done += 1
    outcome = "processed" if done else ("duplicate" if jobs and jobs.duplicates else "ignored")
    return outcome, done, ign


def work_message(body, cfg, latencies=None, jobs=None, record=None):
    """A job sent as a message (docs/jobs.md)."""
    record = record or {}
    job = message_job(body, record)

    def one(meta=None, field=None):
        dest = answer(s3_client(), cfg.bucket, stored_body(s3_client(), cfg.bucket, job), cfg)
        if cfg.next_queue_url:
            sqs_client().send_message(**next_stage_send(cfg.next_queue_url, (
                next_stage_message(cfg.bucket, dest, event_time(), field)), record, dest))
        return dest
    if jobs is None:
        one()
    elif jobs.run_ref(message_ref(record), record, one) is None:
        return "duplicate", 0, 0
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


def handler(event, context=None):
    """SQS batch in, the messages that failed out: Lambda deletes the others from the queue and
    leaves these to be retried (and dead-lettered after maxReceiveCount receives)."""
    load_secrets()
    cfg = Config()
    failures, latencies = [], []
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
        keys, extra = 0, ""
        if jobs:
            jobs.duplicates = 0
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
            if ign:
                extra = f" ignored={ign}"
            if jobs and jobs.duplicates:
                extra += f" duplicates={jobs.duplicates}"
        except Exception as e:  # one bad message must not fail the whole batch
            outcome = "failed"
            extra = " error=" + json.dumps(repr(e))
            failures.append({"itemIdentifier": m.get("messageId")})
            failed.add(group)
        print(f"msg={m.get('messageId')} outcome={outcome} keys={keys} "
              f"receive_count={rc} seconds={time.monotonic() - t0:.2f}{extra}", flush=True)
    for line in metric_lines(cfg.environment, latencies, stage=cfg.stage):
        print(line, flush=True)
    return {"batchItemFailures": failures}
