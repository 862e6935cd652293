"""qfleet's job table protocol (docs/jobs.md), for qfleet_worker.py and the Lambda handler."""
import base64
import binascii
import datetime
import json
import os
import random
import re
import sys
import threading
import time
import urllib.parse
import zlib

import boto3
from botocore.exceptions import ClientError

JOB_SHARDS = 8
GONE = ("NoSuchKey", "404", "NotFound", "AccessDenied", "403")  # S3's answers for no object
JOB_ERROR_MAX = 256
JOB_META_KEY, JOB_META_UPLOAD = "qfleet-job-key", "qfleet-job-upload"
# The job's key in base64url, where URL-encoding would be longer (docs/jobs.md, "Which job a
# message is"). S3 user metadata: "the user-defined metadata is limited to 2 KB in size. The size
# of user-defined metadata is measured by taking the sum of the number of bytes in the UTF-8
# encoding of each key and value", and metadata with unprintable characters is not returned
# ("Working with object metadata",
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html). A key of S3's
# 1,024 bytes is at most 1,368 printable ASCII characters so, where URL-encoding can reach 3,072.
JOB_META_KEY64 = "qfleet-job-key64"


class JobTableError(Exception):
    """The table could not be written or read: the job is not run."""


def job_now(ms=None):
    """UTC, ISO 8601 with milliseconds (sorts as text): now, or epoch milliseconds."""
    try:
        t = datetime.datetime.fromtimestamp(
            (time.time() * 1000 if ms is None else int(ms)) / 1000, datetime.timezone.utc)
    except (TypeError, ValueError):
        return None
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


class JobConfig:
    def __init__(self, env=None):
        e = os.environ if env is None else env
        self.table = e.get("QFLEET_JOB_TABLE") or ""
        # Without the table's name, the data stack that holds it (CloudFormation names it).
        self.stack = e.get("QFLEET_JOBS_STACK") or ""
        self.response_url = e.get("QFLEET_RESPONSE_QUEUE_URL") or ""
        self.stage = e.get("QFLEET_STAGE") or ""
        self.stage_index = int(e.get("QFLEET_STAGE_INDEX") or 0)
        self.next_stage = e.get("QFLEET_NEXT_STAGE") or ""
        # The next stage reads each input's job from its metadata when it is fed by the
        # objects this stage writes (a stage fed by messages reads it from the message).
        self.next_reads_metadata = bool(self.next_stage) and not e.get("QFLEET_NEXT_QUEUE_URL")
        self.max_receives = int(e.get("QFLEET_MAX_RECEIVE_COUNT") or 0)
        self.retention_days = int(e.get("QFLEET_JOB_RETENTION_DAYS") or 30)
        self.environment = e.get("QFLEET_ENVIRONMENT") or ""
        self.region = e.get("AWS_REGION") or e.get("AWS_DEFAULT_REGION") or None
        # The limits this stage's jobs hold a slot of (`limits`, `workers.limits`): NAME=N,...
        self.limits = [(n, int(c)) for n, _, c in (p.partition("=") for p in
                       (e.get("QFLEET_LIMITS") or "").split(",") if p)]
        # A last attempt's lease (docs/jobs.md, "A worker that stops"); none in older stacks.
        self.lease_table = e.get("QFLEET_LEASE_TABLE") or ""
        self.leases = bool(self.lease_table) or e.get("QFLEET_LEASES") == "on"
        self.first_stage = e.get("QFLEET_FIRST_STAGE") or ""  # the sweeper's: uploads' stage


class JobRef:
    """A job: the upload's key and id, and what the first stage knows of it."""

    def __init__(self, key, upload, bucket="", uploaded_at=None, queued_at=None, tenant=None,
                 lane=None):
        self.key, self.upload, self.bucket = key, upload, bucket
        self.uploaded_at, self.queued_at = uploaded_at, queued_at
        self.tenant = tenant  # its message group (queue.tenant), kept in its record
        self.lane = lane  # "priority" from a priority lane (queue.priority), kept in its record


def job_ref_of(record, body, message, metadata=None):
    """The job of an S3 record: the message's qfleetJob, the input's metadata, else the record's
    own key and version id (or sequencer, or message id)."""
    attrs = message.get("Attributes") or message.get("attributes") or {}
    queued = job_now(attrs["SentTimestamp"]) if attrs.get("SentTimestamp") else None
    s3 = record.get("s3") or {}
    bucket = (s3.get("bucket") or {}).get("name", "")
    given = body.get("qfleetJob") if isinstance(body, dict) else None
    # A job sent as a message has no upload's bucket at any stage.
    if isinstance(given, dict) and given.get("key") and given.get("upload"):
        return JobRef(given["key"], given["upload"],
                      "" if given["upload"] == MESSAGE_UPLOAD else bucket, None, queued)
    link = linked_job(metadata)
    if link:
        return JobRef(link[0], link[1], "" if link[1] == MESSAGE_UPLOAD else bucket, None,
                      queued)
    obj = s3.get("object") or {}
    key = urllib.parse.unquote_plus(obj.get("key", ""))
    upload = (obj.get("versionId") or obj.get("sequencer")
              or "message:" + (message.get("MessageId") or message.get("messageId") or ""))
    return JobRef(key, upload, bucket, record.get("eventTime"), queued)


def job_link(ref):
    """The user metadata that links an output to the job `ref`: its key URL-encoded, or in
    base64url where that is shorter, and its upload."""
    q = urllib.parse.quote(ref.key, safe="")
    b = base64.urlsafe_b64encode(ref.key.encode()).decode()
    name, value = (JOB_META_KEY, q) if len(q) <= len(b) else (JOB_META_KEY64, b)
    return {name: value, JOB_META_UPLOAD: ref.upload}


def linked_job(meta):
    """(key, upload) of the job an input's user metadata links it to (job_link's), None when it
    names none. A link in part, in both encodings, or that does not decode exactly raises: the
    input is never taken for a job of its own, or another's."""
    meta = meta or {}
    q, b, up = (meta.get(n) for n in (JOB_META_KEY, JOB_META_KEY64, JOB_META_UPLOAD))
    if q is None and b is None and up is None:
        return None
    try:
        if not up or (q is None) == (b is None):
            raise ValueError("not one key and its upload")
        if q is not None:
            key = urllib.parse.unquote(q, errors="strict")
            if urllib.parse.quote(key, safe="") != q:
                raise ValueError("not URL-encoded as written")
        else:
            raw = base64.b64decode(b, altchars=b"-_", validate=True)
            if base64.urlsafe_b64encode(raw).decode() != b:
                raise ValueError("not base64url as written")
            key = raw.decode()
    except (ValueError, binascii.Error) as e:
        raise ValueError("the input's job link (user metadata %s) cannot be read: %s" % (
            ", ".join(sorted(k for k in meta if k.startswith("qfleet-job-"))), e)) from None
    if not key:
        raise ValueError("the input's job link names an empty key")
    return key, up


# A limit's slots in the lease table: key LIMIT_KEY + the limit's name, upload "slot-I" (no
# job's: an upload's upload is its version id, a message's "job"), held by `holder` until
# `held_until` (epoch seconds; no `lease_until`, so the sweeper never reads one).
LIMIT_KEY = "qfleet-limit/"
# A slot whose time passed is taken only this many seconds later: the holder's clock (which
# wrote the time) and the taker's (which reads it) may differ by that much.
LIMIT_SKEW = 5


def job_key(ref):
    return {"key": {"S": ref.key}, "upload": {"S": ref.upload}}


def lease_until(seconds):
    """A lease's end, `seconds` from now, and its expiry (TTL) a day later."""
    t = time.time() + seconds
    return {"S": job_now(t * 1000)}, {"N": str(int(t) + 86400)}


def say_limits(what):
    print("qfleet-jobs limits: %s" % what, file=sys.stderr, flush=True)


def names_of(*texts):
    return {w: w[1:] for t in texts for w in re.findall(r"#\w+", t)}


def unanswered(job):
    """Whether the job's latest state has no response yet: its `responded_seq` is below its
    `seq` (a job redriven after a failed answer answers again when it is done). An item written
    before `seq` existed has neither: its `responded` says."""
    if "responded_seq" in job:
        return int(job["responded_seq"]) < int(job.get("seq") or 0)
    return not job.get("responded")


# "All redriven messages are considered new messages" (new message ids; https://docs.aws.
# amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html)
MESSAGE_UPLOAD, JOB_ID_ATTRIBUTE, JOB_ID_MAX = "job", "job_id", 1024


def message_ref(message):
    """A message job: key = its `job_id` attribute (a redrive changes the message id; AWS
    documents no change to attributes), else `sqs:` and its message id; upload = "job"."""
    attrs = message.get("MessageAttributes") or message.get("messageAttributes") or {}
    given = attrs.get(JOB_ID_ATTRIBUTE) or {}
    job_id = given.get("StringValue") or given.get("stringValue")
    if job_id is not None and not 0 < len(job_id.encode()) <= JOB_ID_MAX:
        raise ValueError("the job_id attribute is %d bytes: 1 to %d are allowed"
                         % (len(job_id.encode()), JOB_ID_MAX))
    if job_id is None:
        job_id = "sqs:" + (message.get("MessageId") or message.get("messageId") or "")
    sys_attrs = message.get("Attributes") or message.get("attributes") or {}
    queued = job_now(sys_attrs["SentTimestamp"]) if sys_attrs.get("SentTimestamp") else None
    return JobRef(job_id, MESSAGE_UPLOAD, "", None, queued)


def worker_id(iid=None, imds=None):
    """Who works, for a job's record: the EC2 instance (IMDSv2, with QFLEET_ASG_NAME set), the
    ECS task (its metadata endpoint), else the host's name."""
    import socket
    import urllib.request
    try:
        if iid or (imds and os.environ.get("QFLEET_ASG_NAME")):
            return iid or imds("meta-data/instance-id")
        uri = os.environ.get("ECS_CONTAINER_METADATA_URI_V4")
        if uri:
            op = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            return json.loads(op.open(uri.rstrip("/") + "/task", timeout=2).read())["TaskARN"]
    except Exception:  # noqa: BLE001
        pass
    return socket.gethostname()


class Jobs:
    """One stage worker's writes."""

    def __init__(self, cfg, ddb=None, sqs=None, worker=None, lease=None):
        self.cfg, self._ddb, self._sqs = cfg, ddb, sqs
        self.worker = worker or (lambda: "")  # called once, lazily
        self.duplicates = 0  # counted by run
        self.cancelled = 0  # jobs `qfleet jobs ENV ID --cancel` stopped: skipped, not run
        # The lease: seconds or a function giving them; (job, its start) held; halt: run_ref
        self.lease, self.leased, self.halt = lease, None, ""
        self.refs = []  # the jobs run_ref was given, for a failure's notice: reset per message
        # The attempt under way: a worker that gives one up (workers.job_timeout) sets another,
        # and the given-up attempt's thread (`mine.attempt`, set as it starts) records nothing
        # from then on, whether it had begun or not.
        self.attempt, self.mine = None, threading.local()
        self.held, self._holder = [], None  # the limits' slots held: (key, slot)
        self._held = threading.Lock()  # the heartbeat renews them as the worker takes them
        # The wait before a failed attempt's next one (the worker's queue.retry), a function
        # giving seconds: the record says when the job comes back. None: not said.
        self.retry_in = None

    def records(self, body):
        """The message body (SNS envelope removed) and its S3 records, as dicts."""
        d = json.loads(body)
        if d.get("Type") == "Notification" and "Message" in d:
            d = json.loads(d["Message"])
        return d, [r for r in d.get("Records") or [] if r.get("eventSource") == "aws:s3"]

    def run(self, s3, record, body, message, bucket, key, work, moved=None, tenant=None,
            lane=None):
        """Runs `work(meta, job)` (the S3 metadata and message field that carry the job to the
        next stage; it returns the output's key) inside the protocol: None, not run, for a
        duplicate. A later stage fed by objects reads its input's job from its metadata; an
        input it cannot read is no job of its own: see moved_link."""
        meta = None
        if self.cfg.stage_index > 0 and not body.get("qfleetJob"):
            try:
                meta = s3.head_object(Bucket=bucket, Key=key).get("Metadata") or {}
            except ClientError as e:
                meta = self.moved_link(s3, bucket, key, moved, e)
        return self.run_ref(job_ref_of(record, body, message, meta), message, work, tenant, lane)

    def moved_link(self, s3, bucket, key, moved, error):
        """The metadata of a later stage's input that cannot be read. Gone (S3 answers 404, or
        403 without s3:ListBucket), it may be an earlier attempt's move: `moved`, where the
        default job writes it, keeps its metadata, and is taken when the job it links names
        either as its output (the stage before's, or this stage's). Otherwise raises."""
        why = "its metadata cannot be read (%s)" % error
        if moved and error.response.get("Error", {}).get("Code") in GONE:
            try:
                link = linked_job(s3.head_object(Bucket=bucket, Key=moved).get("Metadata"))
            except ClientError:
                link = None
            job = self._get(JobRef(*link)) if link else {}
            if job.get("output") in (key, moved) and int(job.get("stage_index", -1)) >= \
                    self.cfg.stage_index:
                return job_link(JobRef(*link))
            why = "it is gone, and no job's record names it or %s as its output" % moved
        raise ValueError("the job of s3://%s/%s cannot be told: %s" % (bucket, key, why))

    def run_ref(self, ref, message, work, tenant=None, lane=None):
        """Runs `work(meta, job)` for the job `ref` of `message` inside the protocol: None, not
        run, for a duplicate. `tenant`: the job's group (job_tenant's), and `lane`: "priority"
        for a message of the priority lane, each kept in its record."""
        ref.tenant, ref.lane = ref.tenant or tenant, lane
        attrs = message.get("Attributes") or message.get("attributes") or {}
        rc = attrs.get("ApproximateReceiveCount")
        mine = getattr(self.mine, "attempt", self.attempt)
        if mine is not self.attempt:  # given up before it began
            return None
        self.refs.append(ref)
        if self.halt:  # no work: the last receive fails the job, with this error
            if 0 < self.cfg.max_receives <= int(rc or 1):
                self.fail(ref, self.halt, rc)
            return None
        mid = message.get("MessageId") or message.get("messageId")
        started = self.start(ref, rc, mid)
        if mine is not self.attempt:  # given up meanwhile: not run (its start may stand)
            return None
        if started == "duplicate":
            self.duplicates += 1
            return None
        if started == "cancelled":  # its message is deleted, the job never run
            self.cancelled += 1
            return None
        try:
            out = work(self.metadata(ref), self.message_field(ref))
        except BaseException as e:  # noqa: B036 - recorded, then raised
            if self.attempt is mine:
                self.fail(ref, repr(e), rc)
            raise
        if self.attempt is mine:  # else given up: already recorded as failed, and retried
            self.done(ref, out)
        return out

    def _name(self, attr="table", logical="JobTable"):
        """A table's name, read once from the data stack when only the stack is given."""
        if not getattr(self.cfg, attr):
            try:
                cfn = boto3.client("cloudformation", region_name=self.cfg.region)
                setattr(self.cfg, attr, cfn.describe_stack_resource(
                    StackName=self.cfg.stack, LogicalResourceId=logical,
                )["StackResourceDetail"]["PhysicalResourceId"])
            except Exception as e:  # noqa: BLE001
                raise JobTableError("%s of %s: %r" % (logical, self.cfg.stack, e)) from None
        return getattr(self.cfg, attr)

    def _db(self):
        if self._ddb is None:
            self._ddb = boto3.client("dynamodb", region_name=self.cfg.region)
        return self._ddb

    def _worker(self):
        if callable(self.worker):
            try:
                self.worker = self.worker() or ""
            except Exception:  # noqa: BLE001
                self.worker = ""
        return self.worker

    def metadata(self, ref):
        """The output's metadata that carries the job to the next stage, where it reads it: a
        last stage, or one whose next stage is fed by messages, writes none (S3 keeps at most
        2 KB of user metadata on an object, and a long key alone can take more)."""
        if not self.cfg.next_reads_metadata:
            return {}
        return job_link(ref)

    def message_field(self, ref):
        return {"key": ref.key, "upload": ref.upload}

    def _entry(self, state, at, **more):
        m = {"state": {"S": state}, "at": {"S": at}}
        if self.cfg.stage:
            m["stage"] = {"S": self.cfg.stage}
        for k, v in more.items():
            if v is None or v == "" or v is False:
                continue
            if isinstance(v, bool):
                m[k] = {"BOOL": v}
            else:
                m[k] = {"N": str(v)} if isinstance(v, int) else {"S": str(v)}
        return {"M": m}

    def _update(self, ref, sets, values, condition=None, entries=None, add=None, step=False,
                now=None, remove=(), **more):
        """One conditional write; `step`: a change of state, which adds 1 to the job's `seq`
        (its sequence over its whole life, every stage, every redrive)."""
        now = now or job_now()
        shard = zlib.crc32((ref.key + "\n" + ref.upload).encode()) % JOB_SHARDS
        values = dict(values)
        values.update({":now": {"S": now}, ":recent": {"S": "%s#%d" % (now[:13], shard)},
                       ":exp": {"N": str(int(time.time()) + self.cfg.retention_days * 86400)}})
        sets = list(sets) + ["#updated_at = :now", "#recent = :recent", "#expires_at = :exp"]
        if entries:
            values[":entries"] = {"L": entries}
            values[":empty"] = {"L": []}
            sets.append("#history = list_append(if_not_exists(#history, :empty), :entries)")
        add = list(add or [])
        if step:
            values[":step"] = {"N": "1"}
            add.append("#seq :step")
        expr = "SET " + ", ".join(sets)
        if remove:
            expr += " REMOVE " + ", ".join(remove)
        if add:
            expr += " ADD " + ", ".join(add)
        if condition:
            more["ConditionExpression"] = condition
        r = self._call(self._name(), "update_item", Key=job_key(ref), UpdateExpression=expr,
                       ExpressionAttributeNames=names_of(expr, condition or ""),
                       ExpressionAttributeValues=values, **more)
        return r is not None and (r.get("Attributes") or True)

    def _call(self, table, op, **kw):
        """One request: its answer, None when its condition failed, else JobTableError."""
        try:
            return getattr(self._db(), op)(TableName=table, **kw)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise JobTableError("table %s: %s" % (table, e)) from None
        except Exception as e:  # noqa: BLE001
            raise JobTableError("table %s: %r" % (table, e)) from None

    def _lease(self, op, ref, cond, values, **kw):
        """A request on the lease table (docs/jobs.md, "A worker that stops"): False when
        `cond` failed."""
        if op != "put_item":
            kw["Key"] = job_key(ref)
        table = self._name("lease_table", "JobLeaseTable")
        return self._call(table, op, ConditionExpression=cond,
                          ExpressionAttributeNames=names_of(cond, kw.get("UpdateExpression", "")),
                          ExpressionAttributeValues=values, **kw) is not None

    def _release(self, ref):
        """After a write that ended the attempt: its lease goes (else the sweeper removes it)."""
        held = self.leased
        if held and held[0] is ref:
            self.leased = None
            try:
                self._lease("delete_item", ref, "#started = :s", {":s": {"S": held[1]}})
            except JobTableError as e:
                print("qfleet-jobs lease: %s" % e, file=sys.stderr, flush=True)

    def _get(self, ref):
        names = ("state", "stage_index", "responded", "responded_seq", "seq", "output", "error",
                 "attempts", "uploaded_at", "finished_at", "bucket")
        item = self._call(self._name(), "get_item", ConsistentRead=True, Key=job_key(ref),
                          ProjectionExpression=", ".join("#" + n for n in names),
                          ExpressionAttributeNames={"#" + n: n for n in names}).get("Item") or {}
        return {k: list(v.values())[0] for k, v in item.items()}

    def arrive(self, ref):
        """An upload's record as it arrives (docs/jobs.md, "When a job is queued"): `queued`,
        written only when the job has none yet, so it never moves a job back. True if written."""
        sets = ["#state = :queued", "#stage_index = :si"]
        values = {":queued": {"S": "queued"}, ":si": {"N": "0"}}
        if ref.bucket:  # a job sent as a message has no upload's bucket
            sets.append("#bucket = :bucket")
            values[":bucket"] = {"S": ref.bucket}
        if self.cfg.stage:
            sets.append("#stage = :stage")
            values[":stage"] = {"S": self.cfg.stage}
        for name, t in (("uploaded_at", ref.uploaded_at), ("queued_at", ref.queued_at)):
            if t:
                sets.append("#%s = :%s" % (name, name))
                values[":" + name] = {"S": t}
        return bool(self._update(ref, sets, values, "attribute_not_exists(#key)",
                                 [self._entry("queued", ref.queued_at or job_now())], step=True))

    def start(self, ref, receive_count, message_id=None):
        """Before any work: `started`, `duplicate` (done here or beyond: not run again), or
        `cancelled` (`qfleet jobs ENV ID --cancel` stopped it while queued: never run).
        The last receive first leases the job (docs/jobs.md, "A worker that stops"). The
        attempt's history entry keeps the SQS message id it came in (a redrive gives the job a
        new one): `qfleet logs ENV --job ID` finds the attempt's lines by it."""
        si, now, n = self.cfg.stage_index, job_now(), int(receive_count or 1)
        lease, self.leased = self.lease, None
        sets = ["#state = :processing", "#stage_index = :si", "#worker = :worker",
                "#received_at = if_not_exists(#received_at, :now)"]
        values = {":processing": {"S": "processing"}, ":si": {"N": str(si)},
                  ":worker": {"S": self._worker() or "unknown"}, ":one": {"N": "1"}}
        if ref.bucket:
            sets.append("#bucket = if_not_exists(#bucket, :bucket)")
            values[":bucket"] = {"S": ref.bucket}
        if self.cfg.stage:
            sets.append("#stage = :stage")
            values[":stage"] = {"S": self.cfg.stage}
        for name, t in (("uploaded_at", ref.uploaded_at), ("queued_at", ref.queued_at),
                        ("tenant", ref.tenant)):
            if t:
                sets.append("#%s = if_not_exists(#%s, :%s)" % (name, name, name))
                values[":" + name] = {"S": t}
        # The lane of this attempt's message (queue.priority): a later stage's or a redriven
        # job's lane is the one it came from this time.
        remove = () if ref.lane else ("#lane",)
        if ref.lane:
            sets.append("#lane = :lane")
            values[":lane"] = {"S": ref.lane}
        if lease and self.cfg.leases and 0 < self.cfg.max_receives <= n:
            # The lease first, `started` as the start write's updated_at; a later stage keeps its.
            lu, exp = lease_until(lease() if callable(lease) else lease)
            if self._lease("put_item", ref, "attribute_not_exists(#key) OR #stage_index <= :si",
                           {":si": values[":si"]}, Item=dict(
                               job_key(ref), stage_index=values[":si"], started={"S": now},
                               lease_until=lu, expires_at=exp)):
                self.leased = (ref, now)
        attempt = self._entry("processing", now, worker=self._worker(), attempt=n,
                              message=message_id)
        queued = self._entry("queued", ref.queued_at or now)
        more = dict(add=["#attempts :one"], step=True, now=now, remove=remove)
        if self._update(ref, sets, values, "attribute_not_exists(#key)", [queued, attempt],
                        **more):
            return "started"
        values[":done"] = {"S": "done"}
        values[":cancelled"] = {"S": "cancelled"}
        cond = ("(#stage_index < :si OR (#stage_index = :si AND #state <> :done))"
                " AND #state <> :cancelled")
        if self._update(ref, sets, values, cond, [attempt], **more):
            return "started"
        job = self._get(ref)
        if job.get("state") == "cancelled":
            self._release(ref)
            return "cancelled"
        later = int(job.get("stage_index", si)) > si
        if later or job.get("state") == "done":
            self._update(ref, [], {":one": {"N": "1"}}, add=["#duplicates :one"])
            self._release(ref)
            if not later and not self.cfg.next_stage and unanswered(job):
                self._respond(ref, "done", job.get("output"), None, job)
            return "duplicate"
        raise JobTableError("job table %s: the start of %s was refused" % (self.cfg.table,
                                                                           ref.key))

    def done(self, ref, output):
        si, now = self.cfg.stage_index, job_now()
        values = {":si": {"N": str(si)}, ":done": {"S": "done"}, ":output": {"S": output or ""},
                  ":cancelled": {"S": "cancelled"}}
        # A job cancelled meanwhile (a redelivery was running) stays cancelled: not done, not
        # answered, not moved on.
        cond = "#stage_index = :si AND #state <> :done AND #state <> :cancelled"
        entry = self._entry("done", now, worker=self._worker(), output=output)
        if self.cfg.next_stage:
            values.update({":queued": {"S": "queued"}, ":next_si": {"N": str(si + 1)},
                           ":next": {"S": self.cfg.next_stage}, ":zero": {"N": "0"}})
            nxt = self._entry("queued", now)
            nxt["M"]["stage"] = {"S": self.cfg.next_stage}
            sets = ["#state = :queued", "#stage_index = :next_si", "#stage = :next",
                    "#attempts = :zero", "#output = :output"]
            if not self._update(ref, sets, values, cond, [entry, nxt], step=True):
                # The next stage started first: only this stage's entry.
                self._update(ref, [], {":si": {"N": str(si)}}, "#stage_index > :si", [entry])
            self._release(ref)
            return
        values[":finished"] = {"S": now}
        sets = ["#state = :done", "#finished_at = :finished", "#output = :output"]
        ended = self._update(ref, sets, values, cond, [entry], step=True)
        self._release(ref)
        if ended:
            self._respond(ref, "done", output, None, self._get(ref))

    def fail(self, ref, error, receive_count, timed_out=False):
        si, now = self.cfg.stage_index, job_now()
        error = str(error)[:JOB_ERROR_MAX]
        values = {":si": {"N": str(si)}, ":error": {"S": error}}
        n = int(receive_count or 1)
        if self.cfg.max_receives and n >= self.cfg.max_receives:
            values.update({":failed": {"S": "failed"}, ":done": {"S": "done"},
                           ":finished": {"S": now}, ":cancelled": {"S": "cancelled"}})
            sets = ["#state = :failed", "#error = :error", "#finished_at = :finished",
                    "#stage_index = :si"]
            entry = self._entry("failed", now, worker=self._worker(), attempt=n, error=error,
                                timed_out=timed_out)
            # One never started (run_ref's halt) may have no record yet.
            ended = self._update(ref, sets, values, "attribute_not_exists(#key) OR "
                                 "(#stage_index = :si AND #state <> :done"
                                 " AND #state <> :cancelled)", [entry], step=True)
            self._release(ref)
            if ended:
                self._respond(ref, "failed", None, error, self._get(ref))
            return
        values.update({":retrying": {"S": "retrying"}, ":q": {"S": "queued"},
                       ":p": {"S": "processing"}})
        wait = self.retry_in() if self.retry_in else None
        retry_at = job_now(time.time() * 1000 + wait * 1000) if wait is not None else None
        entry = self._entry("retrying", now, worker=self._worker(), attempt=n, error=error,
                            retry_at=retry_at, timed_out=timed_out)
        self._update(ref, ["#state = :retrying", "#error = :error"], values,
                     "#stage_index = :si AND #state IN (:q, :p, :retrying)", [entry],
                     step=True)
        self._release(ref)

    def slots(self, wait):
        """Before an attempt: a slot of each limit the stage names (docs/workers.md, "Limits
        shared across stages"). A job over a limit waits, its message held and its record
        unchanged: no attempt, no failure. `wait(seconds)` is True once the worker stops: then
        False, nothing held. A table that cannot be read holds the job too (fail closed)."""
        said = False
        while self.cfg.limits:
            try:
                if all(self._slot(name, n) for name, n in self.cfg.limits):
                    return True
            except JobTableError as e:
                if not said:
                    say_limits(e)
                    said = True
            self.free()
            if wait(0.5 + random.random()):
                return False
        return True

    def _hold(self, seconds=None):
        """A slot's time: 1.5 heartbeats' worth (one beats every half visibility timeout)."""
        if seconds is None:
            seconds = self.lease() if callable(self.lease) else self.lease or 60
        return max(1.5 * seconds, 30)

    def _slot(self, name, n):
        """One free slot of limit `name` (`n` slots) taken: a slot is free when no item holds
        it or its holder's time passed (a worker that stopped). True if taken."""
        key, now = LIMIT_KEY + name, time.time()
        past = now - LIMIT_SKEW
        if self._holder is None:
            self._holder = "%s/%s" % (self._worker() or "unknown", os.urandom(6).hex())
        cond, projection = "#key = :k", "#upload, #held_until, #holder"
        got = self._call(self._name("lease_table", "JobLeaseTable"), "query",
                         ConsistentRead=True, KeyConditionExpression=cond,
                         ProjectionExpression=projection,
                         ExpressionAttributeNames=names_of(cond, projection),
                         ExpressionAttributeValues={":k": {"S": key}})
        taken = {i["upload"]["S"] for i in (got or {}).get("Items", [])
                 if float(i["held_until"]["N"]) >= past and
                 i.get("holder", {}).get("S") != self._holder}
        free = [s for s in ("slot-%d" % i for i in range(n)) if s not in taken]
        random.shuffle(free)
        for slot in free[:3]:  # another worker may take one first
            until = now + self._hold()
            # Its own: a put retried after its answer was lost (botocore retries).
            if self._lease("put_item", None, "attribute_not_exists(#key) OR "
                           "#held_until < :now OR #holder = :me",
                           {":now": {"N": "%.3f" % past}, ":me": {"S": self._holder}}, Item={
                               "key": {"S": key}, "upload": {"S": slot},
                               "holder": {"S": self._holder},
                               "held_until": {"N": "%.3f" % until},
                               "expires_at": {"N": str(int(until) + 86400)}}):
                with self._held:
                    self.held.append((key, slot))
                return True
        return False

    def free(self):
        """After the attempt: the slots go at once (else their time runs out)."""
        with self._held:
            held, self.held = self.held, []
        for key, slot in held:
            try:
                self._lease("delete_item", JobRef(key, slot), "#holder = :me",
                            {":me": {"S": self._holder}})
            except JobTableError as e:
                say_limits(e)

    def beat(self, seconds):
        """The heartbeat's, after a visibility extension: the lease of the job on its last
        attempt, and the slots held, end when the message's visibility does."""
        until = time.time() + self._hold(seconds)
        with self._held:
            held = list(self.held)
        for key, slot in held:
            try:
                if not self._lease("update_item", JobRef(key, slot), "#holder = :me",
                                   {":me": {"S": self._holder}, ":u": {"N": "%.3f" % until},
                                    ":exp": {"N": str(int(until) + 86400)}},
                                   UpdateExpression="SET #held_until = :u, #expires_at = :exp"):
                    # Another took it (this one's time ran out): the job goes on, over the limit.
                    with self._held:
                        if (key, slot) in self.held:
                            self.held.remove((key, slot))
                    say_limits("%s %s was taken by another worker" % (key, slot))
            except JobTableError as e:  # the job goes on; the slot's time may run out
                say_limits(e)
        if self.leased:
            self.renew(self.leased[0], seconds)

    def renew(self, ref, seconds):
        """The heartbeat: the attempt's lease ends in `seconds`; False if it ended."""
        held, (lu, exp) = self.leased, lease_until(seconds)
        return bool(held and held[0] is ref) and self._lease(
            "update_item", ref, "attribute_exists(#key) AND #started = :s",
            {":s": {"S": held[1]}, ":lu": lu, ":exp": exp},
            UpdateExpression="SET #lease_until = :lu, #expires_at = :exp")

    def _respond(self, ref, state, output, error, job, **more):
        if not self.cfg.response_url:
            return
        # A job sent as a message has no bucket: null, never a made-up name ("unknown" in
        # records written before).
        bucket = ref.bucket or job.get("bucket")
        body = {"environment": self.cfg.environment,
                "bucket": bucket if bucket and bucket != "unknown" else None,
                "key": ref.key, "upload": ref.upload, "state": state,
                "stage": self.cfg.stage or None, "output": output or job.get("output"),
                "error": error, "attempts": int(job.get("attempts") or 0),
                "seq": int(job.get("seq") or 0),
                "uploaded_at": job.get("uploaded_at"), "finished_at": job.get("finished_at")}
        if self._sqs is None:
            self._sqs = boto3.client("sqs", region_name=self.cfg.region)
        self._sqs.send_message(QueueUrl=self.cfg.response_url, MessageBody=json.dumps(body))
        return self._update(ref, ["#responded = :true", "#responded_seq = :rs"],
                            {":true": {"BOOL": True}, ":rs": {"N": str(body["seq"])}}, **more)
