#!/usr/bin/env python3
"""qfleet reference worker: S3 upload -> SNS -> SQS -> this process (EC2 ASG).

Default job moves uploads/<k> to processed/<k>. Stdlib + boto3 only; see qfleet_worker.md.
"""
import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.request

import boto3

# What the worker and the Lambda handler share (qfleet_shared.py), beside it: qfleet ships the
# worker as one file, the module's text in this statement's place.
from qfleet_shared import (
    FROM, METRIC, NAMESPACE, JobCounts, SharedConfig, _whole, answer, classify, event_time,
    job_ids, job_names, job_tenant, last_receive, log_line, Notices, message_job,
    next_stage_message, next_stage_send, parse_body, process, retry_delay, seconds_since,
    stored_body, with_meta,
)

try:  # beside the worker with jobs: (docs/jobs.md)
    import qfleet_jobs
except ImportError:
    qfleet_jobs = None


def err(what, e):
    print(f"qfleet-worker {what}: {e!r}", file=sys.stderr, flush=True)


class Config(SharedConfig):
    """The settings the worker shares with the handler (SharedConfig) and its own."""

    def __init__(self, env=None):
        super().__init__(env)
        e = os.environ if env is None else env
        g = lambda k, d="": e.get(k) or d  # noqa: E731
        self.queue_url = g("QFLEET_QUEUE_URL")
        self.queue_name = g("QFLEET_QUEUE_NAME")
        v = g("QFLEET_VISIBILITY_TIMEOUT")  # unset: read from the queue
        self.visibility = int(v) if v else None
        self.asg_name = g("QFLEET_ASG_NAME")
        self.hook = g("QFLEET_LIFECYCLE_HOOK")
        self.launch_hook = g("QFLEET_LAUNCH_HOOK")
        self.region = g("AWS_REGION") or g("AWS_DEFAULT_REGION") or None
        self.wait = int(g("QFLEET_WAIT_SECONDS", "20"))
        # queue.priority.weight: at most this many priority jobs in a row (unset: no limit).
        self.priority_weight = _whole(g("QFLEET_PRIORITY_WEIGHT"), 0)
        self.grace = float(g("QFLEET_STOP_GRACE", "20"))
        # workers.job_timeout: an attempt that runs longer is stopped (unset: no limit).
        try:
            self.job_timeout = max(float(g("QFLEET_JOB_TIMEOUT", "0")), 0.0)
        except ValueError:
            self.job_timeout = 0.0
        self.lc_interval = float(g("QFLEET_LIFECYCLE_INTERVAL", "5"))
        self.lc_stale = float(g("QFLEET_LIFECYCLE_STALE", "60"))
        self.signal_stack = g("QFLEET_SIGNAL_STACK")
        self.signal_resource = g("QFLEET_SIGNAL_RESOURCE")
        self.metric_interval = float(g("QFLEET_METRIC_INTERVAL", "60"))


def sent_seconds_ago(m, now=None):
    """Seconds since the message was sent (its SentTimestamp); None if it has none."""
    try:
        sent = int((m.get("Attributes") or {})["SentTimestamp"]) / 1000
    except (KeyError, TypeError, ValueError):
        return None
    return max(0.0, (now or time.time()) - sent)


def dimensions(environment, stage):
    """The latency metric's dimensions: the environment, and a pipeline's stage."""
    dims = [{"Name": "Environment", "Value": environment}]
    if stage:
        dims.append({"Name": "Stage", "Value": stage})
    return dims


class Latencies:
    """Upload-to-processed seconds and the jobs done, failed and dead-lettered, sent at most
    once a minute (see qfleet_worker.md)."""

    def __init__(self, cfg, cw=None):
        self.cfg, self.cw, self.counts, self.jobs = cfg, cw, {}, JobCounts()
        self.next = time.monotonic() + cfg.metric_interval

    def add(self, seconds):
        if self.cfg.environment and seconds is not None:
            v = round(seconds, 1)
            self.counts[v] = self.counts.get(v, 0) + 1

    def outcome(self, outcome, receive_count):
        self.jobs.add(outcome, receive_count, self.cfg.max_receive)

    def flush(self, force=False):
        if not (self.counts or self.jobs) or (not force and time.monotonic() < self.next):
            return
        self.next = time.monotonic() + self.cfg.metric_interval
        items, self.counts = sorted(self.counts.items()), {}
        data = [{"MetricName": METRIC, "Unit": "Seconds",
                 "Dimensions": dimensions(self.cfg.environment, self.cfg.stage),
                 "Values": [v for v, _ in items[i:i + 150]],
                 "Counts": [float(c) for _, c in items[i:i + 150]]}
                for i in range(0, len(items), 150)] + self.jobs.metric_data(self.cfg)
        if not data:
            return
        try:
            self.cw = self.cw or boto3.client("cloudwatch", region_name=self.cfg.region)
            for i in range(0, len(data), 20):
                self.cw.put_metric_data(Namespace=NAMESPACE, MetricData=data[i:i + 20])
        except Exception as e:
            err("put-metric-data", e)


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
    """ECS task scale-in protection while working (see qfleet_worker.md)."""

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
        self.beats, self.ok = 0, time.monotonic()  # ok: the last extension

    def run(self):
        while not self.ev.wait(max(self.vis / 2, 0.5)):
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=self.rh,
                    VisibilityTimeout=self.vis)
                self.beats, self.ok = self.beats + 1, time.monotonic()
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
        if asg is None and (self.lc or (cfg.launch_hook and cfg.asg_name)):
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
        self.notices = Notices()  # alerts: one notice per failed job, bounded
        # An attempt that ran past workers.job_timeout: its thread cannot be stopped from
        # here, so the worker stops, and its supervisor starts it afresh (exit status 3).
        self.timed_out = False
        self.stop = threading.Event()
        self.lc_pending = False
        self.lc_state, self._lc_read, self._next_lc = None, 0.0, 0.0
        self.in_row = 0  # priority jobs taken in a row (QFLEET_PRIORITY_WEIGHT)

    def install_signals(self):
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, lambda *_: self.stop.set())

    def check_lifecycle(self):
        """Reads the target lifecycle state (see qfleet_worker.md, Draining)."""
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
        """Once the worker has reached the queue: this instance is up. Its launch goes on (the
        group's launch hook, which an instance refresh waits for), and a first create counts it
        (CloudFormation's signal). Either may not be waiting (a hook completed by a warm pool's
        helper, a stack not creating): its error is logged, no failure."""
        c, self.signalled = self.cfg, True
        if c.launch_hook and c.asg_name and self.iid and self.asg is not None:
            try:
                self.asg.complete_lifecycle_action(
                    LifecycleHookName=c.launch_hook, AutoScalingGroupName=c.asg_name,
                    LifecycleActionResult="CONTINUE", InstanceId=self.iid)
            except Exception as e:
                err("complete-launch-hook", e)
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
        self.jobs.beat(self.cfg.visibility)  # the job's lease and slots: docs/jobs.md

    def not_started(self, m):
        """A message received but not run, as the worker stops: on its last receive no attempt
        follows, so its jobs fail (docs/jobs.md, "A worker that stops"). Then it is released."""
        halt = "not started: the worker was stopping on its last attempt"
        if self.jobs:
            self.jobs.halt, self.jobs.refs = halt, []
            try:
                self.work(m["Body"], m)
            except Exception as e:  # its job cannot be told or written: released as it is
                err("not-started", e)
            finally:
                self.jobs.halt = ""
        if last_receive(m.get("Attributes", {}).get("ApproximateReceiveCount"),
                        self.cfg.max_receive):
            self.notices.failed(job_names(self.jobs and self.jobs.refs, m["Body"], m), halt, m)
        self.set_vis(m, 0)

    def queue(self, m):
        """The queue (lane) message `m` came from: its visibility and its delete go there."""
        return m.get(FROM) or self.url

    def set_vis(self, m, seconds):
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue(m), ReceiptHandle=m["ReceiptHandle"],
                VisibilityTimeout=seconds)
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

            tenant = job_tenant(c, m, body, key)

            def one(meta=None, job=None, bucket=bucket, key=key, tenant=tenant):
                f = self.job or process
                dest = f(self.s3, bucket, key, c, **with_meta(f, meta))
                if not isinstance(dest, str):
                    dest = c.processed_prefix + key[len(c.upload_prefix):]
                if c.next_queue_url:  # a retry finds the object moved and sends again
                    self.sqs.send_message(**next_stage_send(c.next_url(m), (
                        next_stage_message(bucket, dest, event_time(), job)), m, dest, tenant))
                return dest
            if not self.jobs:
                one()
            elif self.jobs.run(self.s3, record, raw, m or {}, bucket, key, one, None if self.job
                               else c.processed_prefix + key[len(c.upload_prefix):],
                               tenant, c.lane(m)) is None:
                continue  # a duplicate of a job done: not run again
            self.latencies.add(seconds_since(at))
            done += 1
        dup = self.jobs and self.jobs.duplicates
        stopped = self.jobs and self.jobs.cancelled
        return ("processed" if done else "cancelled" if stopped else "duplicate" if dup
                else "ignored"), done, ign

    def work_message(self, body, m):
        """A job sent as a message (docs/jobs.md): one job, its id from its attributes."""
        c, job = self.cfg, message_job(body, m)
        tenant = job_tenant(c, m, body)

        def one(meta=None, field=None):
            f = self.message_job or answer
            dest = f(self.s3, c.bucket, stored_body(self.s3, c.bucket, job), c,
                     **with_meta(f, meta))
            if c.next_queue_url:
                self.sqs.send_message(**next_stage_send(c.next_url(m), (
                    next_stage_message(c.bucket, dest, event_time(), field)), m, dest, tenant))
            return dest
        if not self.jobs:
            one()
        elif self.jobs.run_ref(qfleet_jobs.message_ref(m), m, one, tenant, c.lane(m)) is None:
            return ("cancelled" if self.jobs.cancelled else "duplicate"), 0, 0
        self.latencies.add(sent_seconds_ago(m))
        return "processed", 1, 0

    def handle(self, m):
        t0 = time.monotonic()
        rh = m["ReceiptHandle"]
        rc = m.get("Attributes", {}).get("ApproximateReceiveCount", "?")
        res, extra = {}, ""

        def delay():
            """The wait before the next attempt once this one failed (queue.retry), drawn
            once: the job's record says when it comes back, and the message comes back then."""
            if "delay" not in res:
                res["delay"] = retry_delay(self.cfg, rc, time.monotonic() - t0)
            return res["delay"]
        if self.jobs:
            self.jobs.duplicates, self.jobs.cancelled, self.jobs.leased = 0, 0, None
            self.jobs.refs = []
            self.jobs.retry_in = delay
            self.jobs.attempt = object()

        def run(attempt=self.jobs and self.jobs.attempt):
            try:
                if self.jobs:
                    self.jobs.mine.attempt = attempt  # this thread's: see Jobs.run_ref
                res["r"] = self.work(m["Body"], m)
            except BaseException as e:  # noqa: B036 - reported as failed
                res["e"] = e

        # No instance scale-in protection: an instance drains through the lifecycle hook; a
        # job cut short is redelivered. An ECS task has no hook: it protects itself.
        self.protection.busy()
        hb = Heartbeat(self.sqs, self.queue(m), rh, self.cfg.visibility,
                       self.renew_lease if self.jobs else None)
        hb.start()
        # limits: the job waits for its slots, the message held; a stop first releases it, as
        # does a message no longer surely held (its visibility not extended, or near SQS's
        # 12 hours from the receive).
        if self.jobs and not self.jobs.slots(lambda s: self.check_lifecycle() or
                                             self.protection.busy() or self.stop.wait(s) or
                                             time.monotonic() - hb.ok > self.cfg.visibility or
                                             time.monotonic() - t0 > 42000):
            hb.stop()
            self.not_started(m)
            self.log(m, "released", 0, rc, t0)
            return "released"
        t0 = time.monotonic()
        t = threading.Thread(target=run, daemon=True)
        t.start()
        deadline = None
        limit = self.cfg.job_timeout
        while True:
            t.join(0.1)
            if not t.is_alive():
                break
            if limit and time.monotonic() - t0 >= limit:
                break
            self.check_lifecycle()
            if self.stop.is_set():
                if deadline is None:
                    deadline = time.monotonic() + self.cfg.grace
                elif time.monotonic() >= deadline:
                    break
        hb.stop()
        if self.jobs and not t.is_alive():  # a thread still running keeps its slots to their end
            self.jobs.free()
        keys = 0
        if t.is_alive() and limit and time.monotonic() - t0 >= limit:
            outcome = self.time_out(m, rc, limit, delay())
            extra = " error=" + json.dumps("timed out after %g s (workers.job_timeout)" % limit)
            extra += " timed_out=1"
        elif t.is_alive():
            outcome = "released"
            self.set_vis(m, 0)
        elif "e" in res:
            outcome = "failed"
            extra = " error=" + json.dumps(repr(res["e"]))
            self.latencies.outcome("failed", rc)
            self.notices.failed(job_names(self.jobs and self.jobs.refs, m.get("Body", ""), m),
                                repr(res["e"]), m)
            self.set_vis(m, delay())
        else:
            outcome, keys, ign = res["r"]
            self.latencies.outcome(outcome, rc)
            if ign:
                extra = f" ignored={ign}"
            if self.jobs and self.jobs.duplicates:
                extra += f" duplicates={self.jobs.duplicates}"
            try:
                self.sqs.delete_message(QueueUrl=self.queue(m), ReceiptHandle=rh)
            except Exception as e:
                outcome = "failed"
                extra += " error=" + json.dumps("delete: " + repr(e))
        self.log(m, outcome, keys, rc, t0, extra)
        return outcome

    def time_out(self, m, rc, limit, wait):
        """An attempt past workers.job_timeout: recorded as a failed attempt that timed out
        (retried or failed by the same rules), its message hidden for the retry's wait, and
        the worker stopped, since a thread cannot be killed: systemd or ECS starts it again
        (docs/workers.md, "A time limit per attempt")."""
        why = "timed out after %g s (workers.job_timeout)" % limit
        self.latencies.outcome("failed", rc)
        if self.jobs:
            self.jobs.attempt = object()  # the attempt's thread, if it ends, records nothing
            try:
                if self.jobs.refs:
                    self.jobs.fail(self.jobs.refs[-1], why, rc, timed_out=True)
                else:  # given up before it began: on its last receive, failed as not started
                    self.jobs.halt = why
                    self.work(m["Body"], m)
            except Exception as e:  # noqa: BLE001 - the message still comes back
                err("timed-out", e)
            finally:
                self.jobs.halt = ""
        self.notices.failed(job_names(self.jobs and self.jobs.refs, m.get("Body", ""), m), why, m)
        self.set_vis(m, wait)
        self.timed_out = True
        self.stop.set()
        # A failure as every failure's reader counts one (`--filter outcome=failed`), with
        # timed_out=1 on its line.
        return "failed"

    def log(self, m, outcome, keys, rc, t0, extra=""):
        print(log_line(m.get("MessageId"), job_ids(m.get("Body", ""), m), outcome, keys, rc,
                       time.monotonic() - t0, extra, self.cfg.lane(m)), flush=True)

    def poll(self, url, wait):
        """One ReceiveMessage on `url`; each message keeps the queue it came from (FROM)."""
        msgs = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=1,
            WaitTimeSeconds=wait, MessageAttributeNames=["All"],
            VisibilityTimeout=self.cfg.visibility,
            AttributeNames=["ApproximateReceiveCount", "SentTimestamp",
                            "MessageGroupId"],
        ).get("Messages", [])
        if not self.signalled:
            self.signal_ready()
        if url == self.cfg.priority_url:  # a priority job counts; an empty lane resets
            self.in_row = self.in_row + 1 if msgs else 0
        elif msgs:
            self.in_row = 0
        for m in msgs:
            m[FROM] = url
        return msgs

    def receive(self):
        """One receive cycle. With a priority lane, it first, then the ordinary lane; after
        QFLEET_PRIORITY_WEIGHT priority jobs in a row, the ordinary lane first."""
        c = self.cfg
        if not c.priority_url:
            return self.poll(self.url, c.wait)
        lanes = [c.priority_url, self.url]
        if c.priority_weight and self.in_row >= c.priority_weight:
            lanes.reverse()
        # A long poll, however short, queries all of SQS's servers; a short poll (0 s) may miss a
        # message (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html).
        # One lane that cannot be read (gone with a deploy that took queue.priority out,
        # refused) never keeps the worker from the other: logged, and the other polled.
        try:
            msgs = self.poll(lanes[0], 1)
        except Exception as e:
            err("receive " + lanes[0], e)
            msgs = []
        if msgs or self.check_lifecycle() or self.stop.is_set() or not self.may_receive():
            return msgs
        # At most 5 s: an idle worker is back at the priority lane within about 6 s.
        return self.poll(lanes[1], min(c.wait, 5))

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
                msgs = self.receive()
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
        return 3 if self.timed_out else 0


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
