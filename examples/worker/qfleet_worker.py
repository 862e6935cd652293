#!/usr/bin/env python3
"""qfleet reference worker: S3 upload -> SNS -> SQS -> this process (EC2 ASG).

Default job moves uploads/<k> to processed/<k>. Stdlib + boto3 only; see README.md.
"""
import argparse
import datetime
import hashlib
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request

import boto3
from botocore.exceptions import ClientError

try:  # beside the worker with jobs: (docs/jobs.md)
    import qfleet_jobs
except ImportError:
    qfleet_jobs = None


def err(what, e):
    print(f"qfleet-worker {what}: {e!r}", file=sys.stderr, flush=True)


class Config:
    def __init__(self, env=None):
        e = os.environ if env is None else env
        g = lambda k, d="": e.get(k) or d  # noqa: E731
        self.queue_url = g("QFLEET_QUEUE_URL")
        self.queue_name = g("QFLEET_QUEUE_NAME")
        self.bucket = g("QFLEET_BUCKET")
        self.upload_prefix = g("QFLEET_UPLOAD_PREFIX", "uploads/")
        self.processed_prefix = g("QFLEET_PROCESSED_PREFIX", "processed/")
        v = g("QFLEET_VISIBILITY_TIMEOUT")  # unset: read from the queue
        self.visibility = int(v) if v else None
        self.asg_name = g("QFLEET_ASG_NAME")
        self.hook = g("QFLEET_LIFECYCLE_HOOK")
        self.region = g("AWS_REGION") or g("AWS_DEFAULT_REGION") or None
        self.wait = int(g("QFLEET_WAIT_SECONDS", "20"))
        self.grace = float(g("QFLEET_STOP_GRACE", "20"))
        self.backoff = int(g("QFLEET_RETRY_BACKOFF", "10"))
        self.lc_interval = float(g("QFLEET_LIFECYCLE_INTERVAL", "5"))
        self.lc_stale = float(g("QFLEET_LIFECYCLE_STALE", "60"))
        self.signal_stack = g("QFLEET_SIGNAL_STACK")
        self.signal_resource = g("QFLEET_SIGNAL_RESOURCE")
        self.environment = g("QFLEET_ENVIRONMENT")  # names the latency metric; unset: none
        self.stage = g("QFLEET_STAGE")  # a pipeline's stage: its own latency metric
        self.metric_interval = float(g("QFLEET_METRIC_INTERVAL", "60"))
        self.next_queue_url = g("QFLEET_NEXT_QUEUE_URL")


def parse_body(body):
    """Return None for s3:TestEvent, else a list of (bucket, key, eventName, eventTime)."""
    d = json.loads(body)
    if d.get("Type") == "Notification" and "Message" in d:
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


def message_job(body, m):
    """A job sent as a message, as a job of your own receives it: its id (the `job_id`
    attribute, else `sqs:` and the message id), its body, the body parsed when it is JSON, and
    its other string attributes."""
    attrs = m.get("MessageAttributes") or {}
    given = (attrs.get("job_id") or {}).get("StringValue")
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    stored = next((a for a in SIZE_ATTRIBUTES if a in attrs), None)
    return {"id": given or "sqs:" + (m.get("MessageId") or ""), "source": "message",
            "body": body, "json": parsed, "stored": stored,
            "attributes": {k: v.get("StringValue") for k, v in sorted(attrs.items())
                           if k != "job_id" and not k.startswith("qfleet_")
                           and k not in SIZE_ATTRIBUTES and "StringValue" in v}}


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
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    return dict(job, body=data, json=parsed, stored="s3://%s/%s" % (b, k))


def answer(s3, bucket, job, cfg):
    """Default job for a message: writes processed/jobs/<id, URL-encoded>.json, a small record
    of what came (the id, the body's size and SHA-256, the attributes). Idempotent: the same
    message writes the same object."""
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


def sent_seconds_ago(m, now=None):
    """Seconds since the message was sent (its SentTimestamp); None if it has none."""
    try:
        sent = int((m.get("Attributes") or {})["SentTimestamp"]) / 1000
    except (KeyError, TypeError, ValueError):
        return None
    return max(0.0, (now or time.time()) - sent)


def seconds_since(event_time, now=None):
    """Seconds from an S3 eventTime ("2026-11-23T09:00:00.123Z") to now; None if unreadable."""
    try:
        t = datetime.datetime.fromisoformat(str(event_time).replace("Z", "+00:00"))
        now = now or datetime.datetime.now(datetime.timezone.utc)
        return max(0.0, (now - t).total_seconds())
    except (TypeError, ValueError):
        return None


# qfleet status reads upload-to-processed percentiles from this metric (Environment dimension,
# and Stage for a pipeline's stage: each stage its own metric, never mixed with another's).
NAMESPACE, METRIC = "qfleet", "UploadToProcessedSeconds"


def dimensions(environment, stage):
    """The latency metric's dimensions: the environment, and a pipeline's stage."""
    dims = [{"Name": "Environment", "Value": environment}]
    if stage:
        dims.append({"Name": "Stage", "Value": stage})
    return dims


class Latencies:
    """Upload-to-processed seconds, sent at most once a minute (see README.md)."""

    def __init__(self, cfg, cw=None):
        self.cfg, self.cw, self.counts = cfg, cw, {}
        self.next = time.monotonic() + cfg.metric_interval

    def add(self, seconds):
        if self.cfg.environment and seconds is not None:
            v = round(seconds, 1)
            self.counts[v] = self.counts.get(v, 0) + 1

    def flush(self, force=False):
        if not self.counts or (not force and time.monotonic() < self.next):
            return
        self.next = time.monotonic() + self.cfg.metric_interval
        items, self.counts = sorted(self.counts.items()), {}
        data = [{"MetricName": METRIC, "Unit": "Seconds",
                 "Dimensions": dimensions(self.cfg.environment, self.cfg.stage),
                 "Values": [v for v, _ in items[i:i + 150]],
                 "Counts": [float(c) for _, c in items[i:i + 150]]}
                for i in range(0, len(items), 150)]
        try:
            self.cw = self.cw or boto3.client("cloudwatch", region_name=self.cfg.region)
            for i in range(0, len(data), 20):
                self.cw.put_metric_data(Namespace=NAMESPACE, MetricData=data[i:i + 20])
        except Exception as e:
            err("put-metric-data", e)


# What S3 answers for a source object that is not there: 404 with s3:ListBucket on the bucket,
# 403 without it (the worker's role has no s3:ListBucket: it lists nothing), so a redelivered
# message meets 403.
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
    """Default job: move uploads/<rest> to processed/<rest>, idempotent (see README.md)."""
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


def next_stage_send(url, body, message, dest):
    """SendMessage's arguments for the next stage. A FIFO queue (a name ending in .fifo) takes
    the message group of the message worked on (its own id when it has none), and a
    deduplication id from that message and the object written: a retry within SQS's 5-minute
    deduplication interval sends no second copy (docs/workers.md)."""
    args = {"QueueUrl": url, "MessageBody": body}
    if url.endswith(".fifo"):
        message = message or {}
        mid = message.get("MessageId") or ""
        group = (message.get("Attributes") or {}).get("MessageGroupId")
        args["MessageGroupId"] = group or mid or hashlib.sha256(dest.encode()).hexdigest()
        args["MessageDeduplicationId"] = hashlib.sha256(f"{mid}\n{dest}".encode()).hexdigest()
    return args


def next_stage_message(bucket, key, at, job=None):
    """The next stage's S3 event for the object written at `at` (and its job, if any)."""
    return json.dumps(dict({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Copy",
        "eventTime": at,
        "s3": {"bucket": {"name": bucket},
               "object": {"key": urllib.parse.quote_plus(key, safe="/")}}}]},
        **({"qfleetJob": job} if job else {})))


def imds(path, timeout=1.0):
    """GET latest/<path> from instance metadata (IMDSv2); raises on any failure, 404 too."""
    base = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or "http://169.254.169.254"
    base = base.rstrip("/") + "/latest/"
    op = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    tok = op.open(urllib.request.Request(
        base + "api/token", method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}), timeout=timeout).read()
    return op.open(urllib.request.Request(
        base + path, headers={"X-aws-ec2-metadata-token": tok.decode()}),
        timeout=timeout).read().decode().strip()


class TaskProtection:
    """ECS task scale-in protection while working (see README.md)."""

    def __init__(self, agent_uri, visibility):
        self.url = agent_uri.rstrip("/") + "/task-protection/v1/state" if agent_uri else None
        self.minutes = min(max(1, -(-int(visibility) // 60) + 1), 2880)
        self.until = None  # monotonic time the protection runs out, None while off

    def _put(self, body):
        op = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        op.open(urllib.request.Request(
            self.url, data=json.dumps(body).encode(), method="PUT",
            headers={"Content-Type": "application/json"}), timeout=5).read()

    def busy(self):
        if not self.url:
            return
        now = time.monotonic()
        if self.until is not None and self.until - now > self.minutes * 30:
            return
        try:
            self._put({"ProtectionEnabled": True, "ExpiresInMinutes": self.minutes})
            self.until = now + self.minutes * 60
        except Exception as e:
            err("task-protection", e)

    def idle(self):
        if not self.url or self.until is None:
            return
        try:
            self._put({"ProtectionEnabled": False})
            self.until = None
        except Exception as e:
            err("task-protection", e)


class Heartbeat(threading.Thread):
    """Extends the message's visibility every vis/2 seconds until stopped; after each
    extension, calls `beat` (the job table's lease goes as far: docs/jobs.md)."""

    def __init__(self, sqs, url, rh, vis, beat=None):
        super().__init__(daemon=True)
        self.sqs, self.url, self.rh, self.vis, self.beat = sqs, url, rh, vis, beat
        self.ev = threading.Event()
        self.beats = 0

    def run(self):
        while not self.ev.wait(max(self.vis / 2, 0.5)):
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=self.rh,
                    VisibilityTimeout=self.vis)
                self.beats += 1
            except Exception as e:
                err("heartbeat", e)
                continue
            if self.beat:
                try:
                    self.beat()
                except Exception as e:  # the job goes on; the sweeper waits for the lease
                    err("lease", e)

    def stop(self):
        self.ev.set()
        self.join()


class Worker:
    def __init__(self, cfg, sqs=None, s3=None, asg=None, instance_id=None, job=None, cfn=None,
                 cw=None, message_job=None):
        self.cfg = cfg
        self.latencies = Latencies(cfg, cw)
        self.cfn, self.signalled = cfn, False
        self.sqs = sqs or boto3.client("sqs", region_name=cfg.region)
        self.s3 = s3 or boto3.client("s3", region_name=cfg.region)
        self.url = cfg.queue_url or self.sqs.get_queue_url(
            QueueName=cfg.queue_name)["QueueUrl"]
        if cfg.visibility is None:
            cfg.visibility = int(self.sqs.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["VisibilityTimeout"]
            )["Attributes"]["VisibilityTimeout"])
        self.protection = TaskProtection(os.environ.get("ECS_AGENT_URI"), cfg.visibility)
        self.iid = instance_id  # read from instance metadata if None
        self.lc = bool(cfg.hook and cfg.asg_name)  # drains through the lifecycle hook
        if asg is None and self.lc:
            asg = boto3.client("autoscaling", region_name=cfg.region)
        self.asg = asg
        self.job = job
        # A job sent as a message: message_job(s3, bucket, job, cfg) returns its output's key
        # (job: message_job()'s dict); the default writes a record of it (answer).
        self.message_job = message_job
        self.jobs = None
        if os.environ.get("QFLEET_JOB_TABLE") or os.environ.get("QFLEET_JOBS_STACK"):
            if qfleet_jobs is None:
                sys.exit("qfleet-worker: jobs are on, and qfleet_jobs.py is missing")
            # A job's last attempt holds a lease till its message's visibility ends; the
            # heartbeat extends both (docs/jobs.md, "A worker that stops").
            self.jobs = qfleet_jobs.Jobs(qfleet_jobs.JobConfig(), sqs=self.sqs,
                                         worker=lambda: qfleet_jobs.worker_id(self.iid, imds),
                                         lease=cfg.visibility)
        self.stop = threading.Event()
        self.lc_pending = False
        self.lc_state, self._lc_read, self._next_lc = None, 0.0, 0.0

    def install_signals(self):
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, lambda *_: self.stop.set())

    def check_lifecycle(self):
        """Reads the target lifecycle state (see README.md, Draining)."""
        if not self.lc:
            return
        now = time.monotonic()
        if now < self._next_lc:
            return
        self._next_lc = now + self.cfg.lc_interval
        try:
            self.iid = self.iid or imds("meta-data/instance-id")
            self.lc_state = imds("meta-data/autoscaling/target-lifecycle-state")
            self._lc_read = now
        except Exception as e:
            err("target-lifecycle-state", e)
            if now - self._lc_read >= self.cfg.lc_stale:
                self.lc_state = None
        if self.lc_state == "Terminated":
            self.lc_pending = True
            self.stop.set()

    def may_receive(self):
        """New work only while known to stay InService (an unknown state cannot drain)."""
        return not self.lc or self.lc_state == "InService"

    def signal_ready(self):
        """Once the worker has reached the queue: tell CloudFormation this instance is up."""
        c, self.signalled = self.cfg, True
        if not (c.signal_stack and c.signal_resource and self.iid):
            return
        try:
            self.cfn = self.cfn or boto3.client("cloudformation", region_name=c.region)
            self.cfn.signal_resource(StackName=c.signal_stack, LogicalResourceId=c.signal_resource,
                                     UniqueId=self.iid, Status="SUCCESS")
        except Exception as e:
            err("signal-resource", e)

    def complete_lifecycle(self):
        try:
            self.asg.complete_lifecycle_action(
                LifecycleHookName=self.cfg.hook,
                AutoScalingGroupName=self.cfg.asg_name,
                LifecycleActionResult="CONTINUE", InstanceId=self.iid)
        except Exception as e:
            err("complete-lifecycle-action", e)

    def renew_lease(self):
        """The heartbeat's, after a visibility extension: the lease of the job on its last
        attempt ends when the message's visibility does. A job done meanwhile has none."""
        held = self.jobs.leased
        if held:
            self.jobs.renew(held[0], self.cfg.visibility)

    def not_started(self, m):
        """A message received but not run, as the worker stops: on its last receive no attempt
        follows, so its jobs fail (docs/jobs.md, "A worker that stops"). Then it is released."""
        if self.jobs:
            self.jobs.halt = "not started: the worker was stopping on its last attempt"
            try:
                self.work(m["Body"], m)
            except Exception as e:  # its job cannot be told or written: released as it is
                err("not-started", e)
            finally:
                self.jobs.halt = ""
        self.set_vis(m["ReceiptHandle"], 0)

    def set_vis(self, rh, seconds):
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=rh, VisibilityTimeout=seconds)
        except Exception as e:
            err("change-visibility", e)

    def work(self, body, m=None):
        """Run the job on every record; returns (outcome, done, ignored)."""
        kind = classify(body)
        if kind == "test":
            return "skipped-test-event", 0, 0
        if kind == "confirmation":  # SNS asks to confirm a subscription qfleet did not make
            return "skipped-confirmation", 0, 0
        if kind == "message":
            return self.work_message(body, m or {})
        recs = parse_body(body)
        c, done, ign = self.cfg, 0, 0
        raw, records = self.jobs.records(body) if self.jobs else ({}, [None] * len(recs))
        for (bucket, key, ev, at), record in zip(recs, records):
            if ((c.bucket and bucket != c.bucket)
                    or not key.startswith(c.upload_prefix)
                    or (ev and not ev.startswith("ObjectCreated"))):
                ign += 1
                continue

            def one(meta=None, job=None, bucket=bucket, key=key):
                more = {"meta": meta} if meta and self.job is None else {}
                dest = (self.job or process)(self.s3, bucket, key, c, **more)
                if not isinstance(dest, str):
                    dest = c.processed_prefix + key[len(c.upload_prefix):]
                if c.next_queue_url:  # a retry finds the object moved and sends again
                    self.sqs.send_message(**next_stage_send(c.next_queue_url, (
                        next_stage_message(bucket, dest, event_time(), job)), m, dest))
                return dest
            if not self.jobs:
                one()
            elif self.jobs.run(self.s3, record, raw, m or {}, bucket, key, one) is None:
                continue  # a duplicate of a job done: not run again
            self.latencies.add(seconds_since(at))
            done += 1
        dup = self.jobs and self.jobs.duplicates
        return ("processed" if done else "duplicate" if dup else "ignored"), done, ign

    def work_message(self, body, m):
        """A job sent as a message (docs/jobs.md): one job, its id from its attributes."""
        c, job = self.cfg, message_job(body, m)

        def one(meta=None, field=None):
            dest = (self.message_job or answer)(self.s3, c.bucket, stored_body(
                self.s3, c.bucket, job), c)
            if c.next_queue_url:
                self.sqs.send_message(**next_stage_send(c.next_queue_url, (
                    next_stage_message(c.bucket, dest, event_time(), field)), m, dest))
            return dest
        if not self.jobs:
            one()
        elif self.jobs.run_ref(qfleet_jobs.message_ref(m), m, one) is None:
            return "duplicate", 0, 0
        self.latencies.add(sent_seconds_ago(m))
        return "processed", 1, 0

    def handle(self, m):
        t0 = time.monotonic()
        rh = m["ReceiptHandle"]
        rc = m.get("Attributes", {}).get("ApproximateReceiveCount", "?")
        res, extra = {}, ""
        if self.jobs:
            self.jobs.duplicates, self.jobs.leased = 0, None

        def run():
            try:
                res["r"] = self.work(m["Body"], m)
            except BaseException as e:  # noqa: B036 - reported as failed
                res["e"] = e

        # No instance scale-in protection: an instance drains through the lifecycle hook; a
        # job cut short is redelivered. An ECS task has no hook: it protects itself.
        self.protection.busy()
        hb = Heartbeat(self.sqs, self.url, rh, self.cfg.visibility,
                       self.renew_lease if self.jobs else None)
        hb.start()
        t = threading.Thread(target=run, daemon=True)
        t.start()
        deadline = None
        while True:
            t.join(0.1)
            if not t.is_alive():
                break
            self.check_lifecycle()
            if self.stop.is_set():
                if deadline is None:
                    deadline = time.monotonic() + self.cfg.grace
                elif time.monotonic() >= deadline:
                    break
        hb.stop()
        keys = 0
        if t.is_alive():
            outcome = "released"
            self.set_vis(rh, 0)
        elif "e" in res:
            outcome = "failed"
            extra = " error=" + json.dumps(repr(res["e"]))
            try:
                n = int(rc)
            except ValueError:
                n = 1
            self.set_vis(rh, min(self.cfg.backoff, 2 ** (n - 1)))
        else:
            outcome, keys, ign = res["r"]
            if ign:
                extra = f" ignored={ign}"
            if self.jobs and self.jobs.duplicates:
                extra += f" duplicates={self.jobs.duplicates}"
            try:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=rh)
            except Exception as e:
                outcome = "failed"
                extra += " error=" + json.dumps("delete: " + repr(e))
        self.log(m, outcome, keys, rc, t0, extra)
        return outcome

    def log(self, m, outcome, keys, rc, t0, extra=""):
        print(f"msg={m.get('MessageId')} outcome={outcome} keys={keys} "
              f"receive_count={rc} seconds={time.monotonic() - t0:.2f}{extra}",
              flush=True)

    def run(self, once=False, max_messages=0):
        handled = 0
        while not self.stop.is_set():
            self.check_lifecycle()
            if self.stop.is_set():
                break
            if not self.may_receive():
                if once:
                    break
                self.stop.wait(min(self.cfg.lc_interval, 5) or 0.1)
                continue
            try:
                msgs = self.sqs.receive_message(
                    QueueUrl=self.url, MaxNumberOfMessages=1,
                    WaitTimeSeconds=self.cfg.wait, MessageAttributeNames=["All"],
                    VisibilityTimeout=self.cfg.visibility,
                    AttributeNames=["ApproximateReceiveCount", "SentTimestamp",
                                    "MessageGroupId"],
                ).get("Messages", [])
                if not self.signalled:
                    self.signal_ready()
            except Exception as e:
                err("receive", e)
                if once:
                    break
                self.stop.wait(5)
                continue
            if not msgs:
                self.protection.idle()
            for m in msgs:
                if self.stop.is_set():  # stop arrived during the long poll
                    t0 = time.monotonic()
                    self.not_started(m)
                    self.log(m, "released", 0, m.get("Attributes", {}).get(
                        "ApproximateReceiveCount", "?"), t0)
                    continue
                self.handle(m)
                handled += 1
            self.latencies.flush()
            if once or (max_messages and handled >= max_messages):
                break
        self.latencies.flush(force=True)
        self.protection.idle()
        if self.lc_pending:
            self.complete_lifecycle()
        return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description="qfleet S3/SQS worker")
    ap.add_argument("--once", action="store_true",
                    help="process at most one receive batch, then exit")
    ap.add_argument("--max-messages", type=int, default=0,
                    help="exit after handling N messages")
    a = ap.parse_args(argv)
    cfg = Config()
    if not (cfg.queue_url or cfg.queue_name):
        sys.exit("qfleet-worker: set QFLEET_QUEUE_URL or QFLEET_QUEUE_NAME")
    w = Worker(cfg)
    w.install_signals()
    print(f"qfleet-worker start queue={w.url}",
          file=sys.stderr, flush=True)
    sys.exit(w.run(once=a.once, max_messages=a.max_messages))


if __name__ == "__main__":
    main()
