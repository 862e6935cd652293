"""What the reference worker (qfleet_worker.py) and the Lambda handler (qfleet_handler.py) share,
written once: the settings both read, what a message is and the S3 records it carries, a job
sent as a message and its stored body, the default jobs (an upload moved, a message answered)
within S3's limits, and the message that feeds a pipeline's next stage.

Beside the worker it is imported. qfleet ships the worker (the launch template's metadata) and
the handler (the function's inline code) as one file each: this module's text in the place of
their `from qfleet_shared import (...)` statement (crates/qfleet-runtime/src/lib.rs,
inline_shared). Neither file binds again a name this module defines.
"""
import datetime
import hashlib
import inspect
import json
import os
import random
import re
import shlex
import time
import urllib.parse

from botocore.exceptions import ClientError


class SharedConfig:
    """The settings both read from the environment: the default job's bucket and prefixes, the
    latency metric's environment and pipeline stage, and a pipeline's next queue. The worker's
    Config adds its own; the handler's is this one."""

    def __init__(self, env=None):
        e = os.environ if env is None else env
        self.bucket = e.get("QFLEET_BUCKET") or ""
        self.upload_prefix = e.get("QFLEET_UPLOAD_PREFIX") or "uploads/"
        self.processed_prefix = e.get("QFLEET_PROCESSED_PREFIX") or "processed/"
        self.environment = e.get("QFLEET_ENVIRONMENT") or ""  # names the latency metric; unset: none
        self.stage = e.get("QFLEET_STAGE") or ""  # a pipeline's stage: its own latency metric
        # A pipeline's stage whose next stage is fed by messages: where to say what it wrote.
        self.next_queue_url = e.get("QFLEET_NEXT_QUEUE_URL") or ""
        # queue.priority (docs/workers.md, "Priority lanes"): this stage's priority lane, and the
        # next stage's, where a job from this one's goes on. Unset: one lane.
        self.priority_url = e.get("QFLEET_PRIORITY_QUEUE_URL") or ""
        self.next_priority_url = e.get("QFLEET_NEXT_PRIORITY_QUEUE_URL") or ""
        # The worker version (a hash of the workers' definition): the deploy's rollback alarms
        # read the failures of this version alone. Unset: no versioned counts.
        self.version = e.get("QFLEET_VERSION") or ""
        # The queue's maxReceiveCount: a failure on this receive sends the job to the
        # dead-letter queue. Unset or not a number: no dead-letter counts.
        try:
            self.max_receive = int(e.get("QFLEET_MAX_RECEIVE_COUNT") or 0)
        except ValueError:
            self.max_receive = 0
        # queue.retry (docs/workers.md, "Retries that back off"): the wait after a failed
        # attempt, doubled with each attempt up to a cap, with full jitter drawn below it.
        # Unset: the worker waits 1 s doubling up to 10 s; the handler sets no wait of its
        # own (the queue's visibility timeout).
        self.retry = bool(e.get("QFLEET_RETRY_BACKOFF"))
        self.retry_backoff = _whole(e.get("QFLEET_RETRY_BACKOFF"), 1)
        self.retry_max_delay = _whole(e.get("QFLEET_RETRY_MAX_DELAY"), 10)
        self.retry_jitter = e.get("QFLEET_RETRY_JITTER") or "none"
        # queue.tenant (docs/workers.md, "Fair shares"): where a job's tenant is read from,
        # "attribute:NAME", "key_segment:N" or "json:PATH". Unset or unreadable: none.
        self.tenant = tenant_rule(e.get("QFLEET_TENANT"))

    def lane(self, m):
        """The lane of message `m`: "priority" for the priority lane's, else None. A worker's
        message by the queue it came from (FROM), a Lambda record by its eventSourceARN's."""
        p, m = self.priority_url, m or {}
        if p and (m.get(FROM) == p or (m.get("eventSourceARN") or "").split(":")[-1]
                  == p.rstrip("/").rsplit("/", 1)[-1]):
            return "priority"
        return None

    def next_url(self, m):
        """The next stage's queue for a job of message `m`: its priority lane's, if any, for a
        job of this stage's priority lane."""
        return (self.lane(m) and self.next_priority_url) or self.next_queue_url


# The key of the queue URL a worker's message came from (never sent, never logged).
FROM = "qfleet:queue"


def _whole(value, default):
    """A variable's whole number of seconds, at least 0; unset or not a number: `default`."""
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return default


# A message's visibility "can't" be extended "to more than a total visibility timeout of 12
# hours" from its receive; SQS rejects a longer one (ChangeMessageVisibility,
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html).
VISIBILITY_MAX = 43200


def retry_delay(cfg, receive_count, elapsed=0.0, rand=random.random):
    """Seconds a message stays hidden after its attempt `receive_count` (its
    ApproximateReceiveCount) failed: backoff x 2^(attempt - 1), at most max_delay; with full
    jitter a whole number drawn uniformly from 0 to that; none after the last attempt
    (QFLEET_MAX_RECEIVE_COUNT). Kept within SQS's 12 hours from the
    receive, `elapsed` seconds ago. qfleet's simulator and validate compute the same
    (RetrySpec::delay in the stack file's crate; a test holds the two equal)."""
    try:
        n = max(int(receive_count), 1)
    except (TypeError, ValueError):
        n = 1
    if cfg.max_receive and n >= cfg.max_receive:
        # The last attempt: SQS moves the message to the dead-letter queue at its next
        # receive, which no wait should put off (nor let the queue's retention overtake).
        return 0
    d = min(cfg.retry_max_delay, cfg.retry_backoff * 2 ** min(n - 1, 40))
    if cfg.retry_jitter == "full":
        d = int(rand() * (d + 1))  # rand() < 1: each of 0..d alike
    return max(0, min(d, VISIBILITY_MAX - int(elapsed) - 1))


# qfleet status reads upload-to-processed percentiles from this metric (Environment dimension,
# and Stage for a pipeline's stage: each stage its own metric, never mixed with another's).
NAMESPACE, METRIC = "qfleet", "UploadToProcessedSeconds"

# Jobs done and failed, by Environment (and Stage); failed and dead-lettered also by Version,
# the series a deploy's rollback alarms and the dashboard read (docs/rollback.md).
DONE, FAILED, DEAD_LETTERED = "JobsDone", "JobsFailed", "JobsDeadLettered"


def metric_dimensions(cfg, version=False):
    """The names and values of the job metrics' dimensions: Environment, a pipeline's Stage,
    and with `version` the worker version."""
    values = {"Environment": cfg.environment}
    if cfg.stage:
        values["Stage"] = cfg.stage
    if version:
        values["Version"] = cfg.version
    return values


class JobCounts:
    """Jobs done, failed and dead-lettered since the last flush. A job failed when its work
    raised; it is dead-lettered when it failed on the queue's last receive: "If the source
    queue's ReceiveCount for a message exceeds maxReceiveCount, Amazon SQS moves the message to
    the dead-letter queue"
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html),
    and the receive it failed on was the maxReceiveCount-th."""

    def __init__(self):
        self.done = self.failed = self.dead = 0

    def add(self, outcome, receive_count, max_receive):
        """Counts one message's outcome: "processed" is done, "failed" failed, "halted" not run
        (its receive counts all the same); any other (a test event, a duplicate) is neither."""
        if outcome == "processed":
            self.done += 1
        if outcome not in ("failed", "halted"):
            return
        if outcome == "failed":
            self.failed += 1
        self.dead += int(last_receive(receive_count, max_receive))

    def __bool__(self):
        return bool(self.done or self.failed or self.dead)

    def series(self, cfg):
        """(dimension values, [(metric, count)]) for each series with a count above zero;
        none without an environment to name them."""
        if not cfg.environment:
            return []
        plain = [(m, n) for m, n in ((DONE, self.done), (FAILED, self.failed)) if n]
        versioned = [(m, n) for m, n in ((FAILED, self.failed), (DEAD_LETTERED, self.dead))
                     if n and cfg.version]
        return [(metric_dimensions(cfg, v), ms) for v, ms in ((False, plain), (True, versioned))
                if ms]

    def metric_data(self, cfg, now=None):
        """The counts as PutMetricData entries, then cleared."""
        data = [{"MetricName": m, "Unit": "Count", "Value": float(n),
                 "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                 **({"Timestamp": now} if now is not None else {})}
                for dims, ms in self.series(cfg) for m, n in ms]
        self.done = self.failed = self.dead = 0
        return data

    def emf_lines(self, cfg, now_ms):
        """The counts as CloudWatch embedded metric format lines, one per series ("Embedded
        metric format specification":
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)."""
        lines = []
        for dims, ms in self.series(cfg):
            meta = {"Timestamp": now_ms, "CloudWatchMetrics": [{
                "Namespace": NAMESPACE, "Dimensions": [list(dims)],
                "Metrics": [{"Name": m, "Unit": "Count"} for m, _ in ms]}]}
            lines.append(json.dumps({"_aws": meta, **dims, **{m: n for m, n in ms}}))
        self.done = self.failed = self.dead = 0
        return lines


def last_receive(receive_count, max_receive):
    """Whether a message on this receive is on its last: failed now, SQS moves it to the
    dead-letter queue (JobCounts). False when either is unknown."""
    try:
        return max_receive > 0 and int(receive_count) >= max_receive
    except (TypeError, ValueError):
        return False


def seconds_since(event_time, now=None):
    """Seconds from an S3 eventTime ("2026-11-23T09:00:00.123Z") to now; None if unreadable."""
    try:
        t = datetime.datetime.fromisoformat(str(event_time).replace("Z", "+00:00"))
        now = now or datetime.datetime.now(datetime.timezone.utc)
        return max(0.0, (now - t).total_seconds())
    except (TypeError, ValueError):
        return None


def event_time(now=None):
    """A time as S3 writes an event's eventTime (UTC, milliseconds)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def parse_body(body, message_required=False):
    """Return None for s3:TestEvent, else a list of (bucket, key, eventName, eventTime): the
    records of a message classify() calls "uploads". An SNS envelope (Type Notification) is
    opened when it carries a Message; `message_required` (the handler's): whenever its Type says
    so, and one without a Message fails (KeyError), as the handler's own copy always did, where
    the worker reads the body's own Records."""
    d = json.loads(body)
    if d.get("Type") == "Notification" and (message_required or "Message" in d):
        d = json.loads(d["Message"])
    if d.get("Event") == "s3:TestEvent":
        return None
    out = []
    for r in d.get("Records") or []:
        if r.get("eventSource") != "aws:s3":
            raise ValueError("not an S3 record: %r" % r.get("eventSource"))
        s3 = r["s3"]
        key = urllib.parse.unquote_plus(s3["object"]["key"])
        out.append((s3["bucket"]["name"], key, r.get("eventName", ""), r.get("eventTime")))
    return out


def classify(body):
    """What a message is (docs/workers.md): "test" (S3's test event), "uploads" (an S3 event,
    raw or in an SNS envelope), "confirmation" (an SNS subscription or unsubscription
    confirmation: never a job, never confirmed), or "message" (anything else: a job sent as a
    message)."""
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


def job_ids(body, m):
    """The jobs a message carries, as its log line names them (docs/jobs.md, "A job's log
    lines"): a job sent as a message by its id; an upload's job by the key of the job a later
    stage's message carries (`qfleetJob`), else by each record's object key. None for a test
    event, a confirmation, or a body that cannot be read: the line still names the message."""
    try:
        kind = classify(body)
        if kind == "message":
            return [message_job(body, m)["id"]]
        if kind != "uploads":
            return []
        d = json.loads(body)
        if d.get("Type") == "Notification":
            d = json.loads(d["Message"])
        given = d.get("qfleetJob")
        if isinstance(given, dict) and isinstance(given.get("key"), str) and given["key"]:
            return [given["key"]]
        return [urllib.parse.unquote_plus(r["s3"]["object"]["key"]) for r in d["Records"]]
    except (ValueError, KeyError, TypeError):
        return []


def job_names(refs, body, m):
    """The jobs of a message by their keys in the job table (`refs`, qfleet_jobs's: a later
    stage's input names its job there), else as its log line names them (job_ids)."""
    return list(dict.fromkeys(r.key for r in refs or ())) or job_ids(body, m)


def log_line(message_id, jobs, outcome, keys, receive_count, seconds, extra="", lane=None):
    """The one line a worker or the handler writes per message: `msg=` its message id, then
    `job=` and each job's id as a JSON string (`qfleet logs ENV --job ID` looks for exactly
    that), then what became of it, and last `lane=priority` for a priority lane's message."""
    named = "".join(" job=" + json.dumps(j, ensure_ascii=False) for j in jobs)
    return (f"msg={message_id}{named} outcome={outcome} keys={keys} "
            f"receive_count={receive_count} seconds={seconds:.2f}{extra}"
            + (" lane=" + lane if lane else ""))


def json_or_none(text):
    """`text` parsed as JSON, or None when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None


# A body over SQS's limit is stored in S3 and the message carries a pointer to it, as the Amazon
# SQS Extended Client Library writes one ("These libraries store the message payload in an
# Amazon S3 bucket and send a reference to the stored object in the Amazon SQS queue",
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-managing-large-messages.html):
# the body ["software.amazon.payloadoffloading.PayloadS3Pointer", {"s3BucketName": B, "s3Key":
# K}] and a message attribute ExtendedPayloadSize (SQSLargePayloadSize and the older class name
# in its legacy mode). `qfleet submit` stores such bodies under BODIES in the bucket.
POINTERS = ("software.amazon.payloadoffloading.PayloadS3Pointer",
            "com.amazon.sqs.javamessaging.MessageS3Pointer")
SIZE_ATTRIBUTES = ("ExtendedPayloadSize", "SQSLargePayloadSize")
BODIES = "bodies/"


def message_job(body, m):
    """A job sent as a message, as a job of your own receives it: its id (the `job_id`
    attribute, else `sqs:` and the message id), its body, the body parsed when it is JSON, and
    its other string attributes. `m` is the message as ReceiveMessage returns it (the worker's:
    MessageAttributes, StringValue, MessageId) or as a Lambda event record spells it (the
    handler's: messageAttributes, stringValue, messageId), as qfleet_jobs.message_ref reads it."""
    attrs = m.get("MessageAttributes") or m.get("messageAttributes") or {}

    def string(v):
        """An attribute's string value; None for none (a binary attribute)."""
        return v.get("StringValue") if "StringValue" in v else v.get("stringValue")
    given = string(attrs.get("job_id") or {})
    # A string attribute: ReceiveMessage's has a StringValue, a Lambda record's a stringValue
    # that is not null.
    return {"id": given or "sqs:" + (m.get("MessageId") or m.get("messageId") or ""),
            "source": "message", "body": body, "json": json_or_none(body),
            "stored": next((a for a in SIZE_ATTRIBUTES if a in attrs), None),
            "attributes": {k: string(v) for k, v in sorted(attrs.items())
                           if k != "job_id" and not k.startswith("qfleet_")
                           and k not in SIZE_ATTRIBUTES
                           and ("StringValue" in v or string(v) is not None)}}


def stored_body(s3, bucket, job):
    """The job with its body read from the bucket when its message carries a stored body's
    pointer (`job["stored"]`, message_job's); else the job as it is. Only this environment's
    bucket, under BODIES: a pointer elsewhere fails the job, saying where it points."""
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
    return dict(job, body=data, json=json_or_none(data), stored="s3://%s/%s" % (b, k))


# What S3 answers for a source object that is not there: 404 with s3:ListBucket on the bucket,
# 403 without it (neither the worker's role nor the function's has s3:ListBucket: they list
# nothing), so a redelivered message meets 403.
MISSING_SOURCE = ("NoSuchKey", "404", "NotFound", "AccessDenied", "403")
# What CopyObject keeps of the source by itself; a multipart copy copies only the bytes.
KEEP = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage",
        "CacheControl", "Metadata")


# S3's limits on what a worker writes (Amazon S3 User Guide): "The object key name is a
# sequence of Unicode characters with UTF-8 encoding of up to 1,024 bytes long" ("Naming Amazon
# S3 objects", https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html), and
# "the user-defined metadata is limited to 2 KB in size. The size of user-defined metadata is
# measured by taking the sum of the number of bytes in the UTF-8 encoding of each key and
# value" ("Working with object metadata",
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html). Each key counts
# here with its x-amz-meta- prefix, as the request's header carries it: an output within these
# is within S3's whichever way S3 counts.
KEY_LIMIT, METADATA_LIMIT, META_PREFIX = 1024, 2048, "x-amz-meta-"


def answer(s3, bucket, job, cfg, meta=None):
    """Default job for a message: writes processed/jobs/<id, URL-encoded>.json, a small record
    of what came (the id, the body's size and SHA-256, the attributes); an id whose name would
    pass S3's key limit is named by its SHA-256 (jobs/sha256=<hex>.json: `=` is never in a
    URL-encoded id). Idempotent: the same message writes the same object. `meta`: the output's
    user metadata (its job, for the next stage: docs/jobs.md)."""
    if not bucket:
        raise ValueError("a message job needs QFLEET_BUCKET for its output")
    data = job["body"].encode()
    dest = "%sjobs/%s.json" % (cfg.processed_prefix, urllib.parse.quote(job["id"], safe=""))
    if len(dest.encode()) > KEY_LIMIT:
        dest = "%sjobs/sha256=%s.json" % (cfg.processed_prefix,
                                           hashlib.sha256(job["id"].encode()).hexdigest())
    within_limits(dest, dest, meta)
    s3.put_object(Bucket=bucket, Key=dest, ContentType="application/json", Body=json.dumps({
        "job_id": job["id"], "source": job["source"], "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(), "attributes": job["attributes"]},
        sort_keys=True).encode(), **({"Metadata": meta} if meta else {}))
    return dest


def with_meta(job, meta):
    """`meta` as the keyword argument of a job (yours, or process/answer) that writes the output
    the next stage reads its job from: none to give, none. A job that takes no `meta` fails here,
    before it writes an output whose job the next stage could not tell."""
    if not meta:
        return {}
    if not any(p.name == "meta" or p.kind == p.VAR_KEYWORD
               for p in inspect.signature(job).parameters.values()):
        raise TypeError("the next stage reads each output's job from its user metadata, and the "
                        "job %s takes no `meta` to write there (docs/jobs.md)"
                        % getattr(job, "__name__", job))
    return {"meta": meta}


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
        own = metadata_bytes({k: v for k, v in meta.items() if not k.startswith("qfleet-job-")})
        raise ValueError("the output's user metadata would be %d bytes, over S3's %d: the "
                         "input's own metadata (%d bytes) leaves no room for the job's link "
                         "(%d bytes)" % (size, METADATA_LIMIT, own, size - own))


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


def tenant_rule(value):
    """QFLEET_TENANT as (kind, argument): ("attribute", NAME), ("key_segment", N) or ("json",
    [field, ...]); None when unset or not one of those (validate writes only those)."""
    kind, _, arg = (value or "").partition(":")
    if kind == "attribute" and arg:
        return kind, arg
    if kind == "key_segment" and arg.isdigit() and int(arg) > 0:
        return kind, int(arg)
    if kind == "json" and arg and all(arg.split(".")):
        return kind, arg.split(".")
    return None


def tenant_group(tenant):
    """The message group of a tenant's jobs: the tenant itself when SQS takes it as a
    MessageGroupId (1 to 128 ASCII letters, digits and punctuation, SendMessage,
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html),
    else its SHA-256 in hex, so that one tenant is still one group. `qfleet submit` computes the
    same (tenant_group in the stack file's crate; a test holds the two equal)."""
    if 1 <= len(tenant) <= 128 and all(33 <= ord(c) <= 126 for c in tenant):
        return tenant
    return hashlib.sha256(tenant.encode("utf-8", "surrogatepass")).hexdigest()


def job_tenant(cfg, m, body=None, key=None):
    """The message group a job goes on with, as its tenant (docs/workers.md, "Fair shares"):
    the group of the message it came in (`m`, in either spelling), else the one cfg.tenant
    (queue.tenant) reads from the message's attributes (or its SNS envelope's), from folder N
    of the upload's `key` below the upload prefix, or from a string or whole-number field of
    its JSON `body` (an SNS envelope's Message); None when there is none."""
    m = m or {}
    group = (m.get("Attributes") or m.get("attributes") or {}).get("MessageGroupId")
    if group:
        return group
    rule = getattr(cfg, "tenant", None)
    if not rule:
        return None
    kind, arg = rule
    found = None
    if kind == "key_segment":
        below = key[len(cfg.upload_prefix):] if key and key.startswith(cfg.upload_prefix) else None
        parts = (below or "").split("/")
        # A folder: the last part is the object's own name.
        if below is not None and len(parts) > arg:
            found = parts[arg - 1]
        return tenant_group(found) if found else None
    if kind == "attribute":
        attrs = m.get("MessageAttributes") or m.get("messageAttributes") or {}
        a = attrs.get(arg) or {}
        found = a.get("StringValue") if "StringValue" in a else a.get("stringValue")
    # The body is read only where the message itself does not say: a topic's message without
    # raw delivery comes in SNS's envelope, its attributes and its Message inside.
    doc = json_or_none(body) if found is None and isinstance(body, str) else None
    envelope = doc if isinstance(doc, dict) and doc.get("Type") == "Notification" else None
    if kind == "attribute" and envelope:
        found = ((envelope.get("MessageAttributes") or {}).get(arg) or {}).get("Value")
    elif kind == "json":
        if envelope:
            message = envelope.get("Message")
            doc = json_or_none(message) if isinstance(message, str) else None
        for part in arg:
            doc = doc.get(part) if isinstance(doc, dict) else None
        # A string, or a whole number as JSON writes it (as `qfleet submit` reads it; a
        # fraction or an exponent prints differently in Rust).
        whole = isinstance(doc, int) and not isinstance(doc, bool) and -2**63 <= doc < 2**64
        found = doc if isinstance(doc, str) else str(doc) if whole else None
    return tenant_group(found) if found else None


def next_stage_send(url, body, m, dest, tenant=None):
    """SendMessage's arguments for the next stage. A FIFO queue (a name ending in .fifo) takes
    the message group of the message worked on (its own id when it has none), and a
    deduplication id from that message and the object written: a retry within SQS's 5-minute
    deduplication interval sends no second copy (docs/workers.md). A standard queue takes the
    message's group when it has one: its tenant, which SQS's fair queues keep apart in every
    stage ("In standard queues, using MessageGroupId enables fair queues", SQS Developer
    Guide). `m`, the message worked on, in either spelling (message_job's); `tenant`, the
    job's group when it has one (job_tenant's: the message's own, else queue.tenant's)."""
    args = {"QueueUrl": url, "MessageBody": body}
    m = m or {}
    group = tenant or (m.get("Attributes") or m.get("attributes") or {}).get("MessageGroupId")
    if url.endswith(".fifo"):
        mid = m.get("MessageId") or m.get("messageId") or ""
        args["MessageGroupId"] = group or mid or hashlib.sha256(dest.encode()).hexdigest()
        args["MessageDeduplicationId"] = hashlib.sha256(f"{mid}\n{dest}".encode()).hexdigest()
    elif group:
        args["MessageGroupId"] = group
    return args


class Notices:
    """One notice per job that has failed for good, published to the alarm topic (`alerts`,
    docs/alerts.md): the chat channels read its `default` entry, a custom notification of Amazon
    Q Developer in chat applications
    (https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html); e-mail reads its
    `email` entry, in words (SNS's MessageStructure json: a message per protocol, `default` for
    the others, https://docs.aws.amazon.com/sns/latest/api/API_Publish.html).

    For good: on the queue's last receive (QFLEET_MAX_RECEIVE_COUNT), after which SQS moves the
    message to the dead-letter queue; a failure before it is retried and sends none. Without the
    count, or without the message's receive count, each failure sends one.

    Bounded per worker by two token buckets: PER_MINUTE at once and PER_MINUTE a minute, and
    PER_HOUR an hour (so at most 20 in any hour); what the bound holds back is counted and said
    in the next notice that goes. Unset QFLEET_ALERTS_TOPIC (no alerts): nothing is sent. A
    notice that cannot be published is logged, never a reason to fail the job's handling."""

    PER_MINUTE, PER_HOUR = 3, 10
    MAX_ERROR = 1000  # characters of the error a notice carries

    def __init__(self, env=None, sns=None, clock=time.monotonic):
        e = os.environ if env is None else env
        self.topics = [t for t in (e.get("QFLEET_ALERTS_TOPIC"),
                                   e.get("QFLEET_ALERTS_TEAM_TOPIC")) if t]
        self.environment = e.get("QFLEET_ENVIRONMENT") or ""
        self.stage = e.get("QFLEET_STAGE") or ""  # set for each stage of a pipeline, the first too
        self.jobs = bool(e.get("QFLEET_JOB_TABLE") or e.get("QFLEET_JOBS_STACK"))
        self.max_receive = SharedConfig(e).max_receive
        self.region = e.get("AWS_REGION") or e.get("AWS_DEFAULT_REGION")
        self.sns, self.clock = sns, clock
        self.minute, self.hour = float(self.PER_MINUTE), float(self.PER_HOUR)
        self.last, self.suppressed = None, 0

    def take(self):
        """Whether a notice may go now (and takes its token)."""
        now = self.clock()
        if self.last is not None:
            dt = max(0.0, now - self.last)
            self.minute = min(self.PER_MINUTE, self.minute + dt * self.PER_MINUTE / 60)
            self.hour = min(self.PER_HOUR, self.hour + dt * self.PER_HOUR / 3600)
        self.last = now
        if self.minute >= 1 and self.hour >= 1:
            self.minute, self.hour = self.minute - 1, self.hour - 1
            return True
        return False

    def failed(self, jobs, error, m=None):
        """The jobs of the message `m` (ReceiveMessage's or a Lambda record's) failed: their
        notice, when this was their last attempt and the bound lets it go. Returns whether it
        was sent."""
        m = m or {}
        attrs = m.get("Attributes") or m.get("attributes") or {}
        rc = attrs.get("ApproximateReceiveCount")
        try:
            rc = int(rc)
        except (TypeError, ValueError):
            rc = None
        if not self.topics or (rc and rc < self.max_receive):
            return False
        if not self.take():
            self.suppressed += 1
            return False
        more, self.suppressed = self.suppressed, 0
        # `qfleet logs` reads back --since from when it runs: back to when this stage's message
        # was sent (its hours rounded up), for a day after the notice.
        try:
            age = max(0.0, time.time() - int(attrs["SentTimestamp"]) / 1000)
        except (KeyError, TypeError, ValueError):
            age = 0.0
        attempt = ("%d of %d" % (rc, self.max_receive) if rc and self.max_receive
                   else "%d" % rc if rc else "")
        subject, message = notice(self, jobs, str(error), more, attempt,
                                  "%dh" % (24 - (-age // 3600)),
                                  m.get("MessageId") or m.get("messageId") or "")
        if self.sns is None:
            import boto3
            self.sns = boto3.client("sns", region_name=self.region)
        for topic in self.topics:
            try:
                self.sns.publish(TopicArn=topic, Subject=subject, Message=message,
                                 MessageStructure="json")
            except Exception as e:  # noqa: BLE001 - a notice lost is logged, the job is not
                print("qfleet: failure notice to %s not sent: %r" % (topic, e), flush=True)
        return True


def code(text):
    """`text` as a markdown code span, whatever backticks it holds (CommonMark: a span opens
    and closes with runs of as many backticks, one longer than any within, and a space inside
    each end is stripped: https://spec.commonmark.org/0.31.2/#code-spans)."""
    ticks = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    return ticks + (" %s " % text if len(ticks) > 1 else text) + ticks


def notice(n, jobs, error, more=0, attempt="", since="24h", message=""):
    """The e-mail subject and the SNS message (MessageStructure json) of a failed job's notice.
    Every command in it is a shell's words (shlex.quote) that run as printed, with `--stage` in
    a pipeline; `since` reaches back to its first lines."""
    where = n.environment + (", stage " + n.stage if n.stage else "")
    named = ", ".join(jobs) or "(no job id)"
    clean = lambda t: t.replace("`", "'")  # noqa: E731 - markdown code spans hold the text
    error = error if len(error) <= n.MAX_ERROR else error[:n.MAX_ERROR] + "…"
    q = shlex.quote
    env, stage = q(n.environment), " --stage " + q(n.stage) if n.stage else ""
    logs, since = "qfleet logs %s%s " % (env, stage), " --since " + since
    steps = []
    for j in jobs:  # an id that starts with `-` is not taken for a flag
        dash = j.startswith("-")
        steps.append((logs + ("--job=" if dash else "--job ") + q(j) + since,
                      "shows its log lines"))
        if n.jobs:
            steps.append(("qfleet jobs %s %s%s" % (env, "-- " if dash else "", q(j)),
                          "shows its record and every change"))
    if not jobs and message:
        steps.append((logs + "--filter " + q("msg=" + message) + since,
                      "shows its message's log lines"))
    steps.append(("qfleet dlq %s%s list" % (env, stage),
                  "shows the jobs that failed every attempt"))
    last = " on its last attempt (%s): its message goes to the dead-letter queue" % attempt \
        if " of " in attempt else " (attempt %s)" % attempt if attempt else ""
    held = ("%d more failure%s not sent (at most %d notices a minute and %d an hour per worker)"
            % (more, "" if more == 1 else "s", n.PER_MINUTE, n.PER_HOUR)) if more else ""
    chat = {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": ":x: qfleet %s: job `%s` failed" % (where, clean(named)),
            "description": "Failed%s.\n`%s`" % (last, clean(error))
                           + ("\n" + held if held else ""),
            "nextSteps": [code(c) + " " + why for c, why in steps],
        },
        "metadata": {
            "summary": "qfleet %s: job %s failed" % (where, named),
            "eventType": "qfleet.JobFailed",
            "additionalContext": {"environment": n.environment, "job": named},
        },
    }
    words = "\n".join(
        ["qfleet %s: job %s failed%s." % (where, named, last), "", "Why: " + error, ""]
        + ([held + ".", ""] if held else [])
        + ["What to run next:"] + ["- %s\n  %s" % step for step in steps])
    # Subjects: ASCII, no line breaks, under 100 characters (Publish's Subject).
    subject = "".join(c if " " <= c <= "~" else "?" for c in
                      "qfleet %s: job %s failed" % (where, named))[:99]
    return subject, json.dumps({"default": json.dumps(chat), "email": words})
