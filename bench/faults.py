"""Fault injection: a proxy between qfleet and moto's server on 127.0.0.1 that throttles, fails,
resets, delays, empties, truncates or replaces answers, and signals qfleet at chosen points.
Runs scenarios and prints a table: runs, passes, exit codes, wall time, objects and messages lost
(counted behind qfleet's back, straight from the emulator).

    bench/faults              every scenario (several minutes)
    bench/faults --ci         a bounded subset; exit 1 when any run fails (the test suite runs it)

Options: --qfleet PATH (default target/release/qfleet), --endpoint URL (an emulator already
running; default: a private moto server).
"""
import argparse
import collections
import http.client
import http.server
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

import boto3  # noqa: E402

HTML = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>"
THROTTLE = (b'<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>'
            b"<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>f</RequestId></ErrorResponse>")


def operation(headers, body, path, method):
    """(service, operation) of a request, from its signature scope and its action."""
    auth = headers.get("Authorization", "")
    m = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
    service = m.group(1) if m else "?"
    target = headers.get("X-Amz-Target")
    if target:
        return service, target.split(".")[-1]
    if body.startswith(b"Action="):
        return service, urllib.parse.parse_qs(body.decode())["Action"][0]
    if service == "s3":
        q = urllib.parse.urlparse(path).query
        if method == "GET" and "versions" in q:
            return service, "ListObjectVersions"
        if method == "HEAD":
            return service, "HeadBucket"
        if method == "GET" and "notification" in q:
            return service, "GetBucketNotificationConfiguration"
        if method == "POST" and "delete" in q:
            return service, "DeleteObjects"
        return service, method
    return service, "?"


class Faults:
    """What the proxy does to each request: a rule (service, operation, nth occurrence) -> fault,
    a random fraction of a service's calls throttled, and a signal to qfleet at the Nth request."""

    def __init__(self):
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.active = 0  # requests the proxy is handling (a killed run's may still be)
        self.reset(None)

    def reset(self, rule=None, throttle=None, kill_at=None, sig=None, slow=0.0, fail_every=None, kill_on=None):
        """kill_on: (service, op, nth): the signal at the nth call of that operation instead of
        the kill_at-th request; slow: seconds added to every answer; fail_every: (service, op)
        answered 503 every time. Waits first (up to 30 s) until the proxy has handed on every
        request a killed run left in flight: the rerun must not race the dead run's own late
        CreateChangeSet, of which moto makes a second stack of the same name."""
        with self.lock:
            self.idle.wait_for(lambda: self.active == 0, timeout=30)
            self.rule, self.throttle, self.kill_at, self.sig = rule, throttle, kill_at, sig
            self.slow, self.fail_every, self.kill_on = slow, fail_every, kill_on
            self.seen = collections.Counter()
            self.count = 0
            self.pid = None
            self.injected = 0
            self.signalled_at = None

    def signal_now(self):
        """Sends the signal to qfleet (with the lock held) and notes when."""
        try:
            os.kill(self.pid, self.sig)
            self.signalled_at = time.monotonic()
        except ProcessLookupError:
            pass

    def decide(self, service, op):
        with self.lock:
            self.count += 1
            self.seen[(service, op)] += 1
            if self.kill_at is not None and self.count == self.kill_at and self.pid:
                self.signal_now()
            if self.kill_on and self.pid and self.kill_on == (service, op, self.seen[(service, op)]):
                self.signal_now()
            if self.fail_every == (service, op):
                self.injected += 1
                return "500"
            if self.slow:
                return "slow"
            if self.rule:
                r_service, r_op, nth, fault = self.rule
                if r_service == service and r_op == op and self.seen[(service, op)] == nth:
                    self.injected += 1
                    return fault
            if self.throttle:
                t_service, fraction = self.throttle
                if service == t_service and random.random() < fraction:
                    self.injected += 1
                    return "throttle"
            return None


def make_proxy(upstream, faults):
    up = urllib.parse.urlparse(upstream)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, body, ctype="text/xml"):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def drop(self):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def forward(self, body):
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            conn.request(self.command, self.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            conn.close()
            return r.status, r.getheaders(), data

        def handle_any(self):
            with faults.lock:
                faults.active += 1
            try:
                self.proxy()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            finally:
                with faults.lock:
                    faults.active -= 1
                    faults.idle.notify_all()

        def proxy(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            service, op = operation(self.headers, body, self.path, self.command)
            fault = faults.decide(service, op)
            if fault == "reset_before":
                return self.drop()
            if fault == "throttle":
                return self.reply(400, THROTTLE)
            if fault == "500":
                return self.reply(503, HTML, "text/html")
            if fault == "delay":
                time.sleep(2)
            if fault == "slow":
                time.sleep(faults.slow)
            status, headers, data = self.forward(body)
            if fault == "reset_after":
                return self.drop()
            if fault == "empty":
                data = b""
            elif fault == "truncate":
                data = data[: len(data) // 2]
            elif fault == "html":
                return self.reply(200, HTML, "text/html")
            self.send_response(status)
            for k, v in headers:
                if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class Lab:
    """Environments on the emulator, read and seeded straight from it (behind qfleet's back)."""

    def __init__(self, qfleet, endpoint, work):
        self.qfleet, self.endpoint, self.work = qfleet, endpoint, work
        kw = dict(endpoint_url=endpoint, region_name="eu-west-1", aws_access_key_id="testing",
                  aws_secret_access_key="testing")
        self.cfn = boto3.client("cloudformation", **kw)
        self.sqs = boto3.client("sqs", **kw)
        self.s3 = boto3.client("s3", **kw)
        self.iam = boto3.client("iam", **dict(kw, region_name="us-east-1"))
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                        AWS_REGION="eu-west-1", AWS_DEFAULT_REGION="eu-west-1", CI="true")
        self.env.pop("AWS_PROFILE", None)
        self.serial = 0

    def stack_file(self, name, extra=""):
        path = os.path.join(self.work, name + ".yaml")
        with open(path, "w") as f:
            f.write(f"environment: {name}\nregion: eu-west-1\nlab: true\nworkers:\n  public_ip: true\n{extra}")
        return path

    def name(self, prefix):
        self.serial += 1
        return f"{prefix}{os.getpid() % 1000}x{self.serial}"

    def qfleet_run(self, args, endpoint=None, faults=None, timeout=300):
        env = dict(self.env, AWS_ENDPOINT_URL=endpoint or self.endpoint)
        t = time.perf_counter()
        p = subprocess.Popen([self.qfleet] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
        if faults:
            faults.pid = p.pid
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return "hang", time.perf_counter() - t, out, err
        return p.returncode, time.perf_counter() - t, out, err

    def deploy(self, path):
        code, _, out, err = self.qfleet_run(["deploy", path, "--yes"])
        if code != 0:
            sys.exit(f"setup deploy failed ({code}):\n{err}")

    def seed(self, env):
        """Two jobs in the queue, one in the DLQ, one object in the bucket."""
        q = self.sqs.get_queue_url(QueueName=f"qfleet-{env}-jobs")["QueueUrl"]
        for i in range(2):
            self.sqs.send_message(QueueUrl=q, MessageBody=f"job {i}")
        self.sqs.send_message(QueueUrl=self.dlq_url(env), MessageBody="poison")
        self.s3.put_object(Bucket=self.bucket(env), Key="uploads/a.txt", Body=b"hello")

    def detach_role_policies(self, env):
        """moto gap: its CloudFormation cannot delete a role with managed policies attached (AWS
        detaches them itself); done behind qfleet's back before a fleet stack is deleted."""
        for page in self.iam.get_paginator("list_roles").paginate():
            for role in page["Roles"]:
                if role["RoleName"].startswith(f"qfleet-{env}-fleet"):
                    for pol in self.iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]:
                        self.iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=pol["PolicyArn"])

    def stacks_gone(self, env):
        for role in ("data", "fleet"):
            try:
                s = self.cfn.describe_stacks(StackName=f"qfleet-{env}-{role}")["Stacks"][0]
            except Exception:
                continue
            if s["StackStatus"] != "DELETE_COMPLETE":
                return f"qfleet-{env}-{role} {s['StackStatus']}"
        return None

    def dlq_url(self, env):
        for r in self.cfn.list_stack_resources(StackName=f"qfleet-{env}-data")["StackResourceSummaries"]:
            if r.get("LogicalResourceId") == "DeadLetterQueue":
                return r["PhysicalResourceId"]
        raise RuntimeError("no DLQ")

    def bucket(self, env):
        return f"{env}-uploads-123456789012-eu-west-1"

    def holdings(self, env, dlq):
        """(objects, messages) the environment holds now; missing resources hold nothing."""
        messages = 0
        for url in (f"qfleet-{env}-jobs", dlq):
            try:
                if not url.startswith("http"):
                    url = self.sqs.get_queue_url(QueueName=url)["QueueUrl"]
                a = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                messages += int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])
            except Exception:
                pass
        try:
            v = self.s3.list_object_versions(Bucket=self.bucket(env))
            objects = len(v.get("Versions", [])) + len(v.get("DeleteMarkers", []))
        except Exception:
            objects = 0
        return objects, messages

    def stacks_settled(self, envs):
        """Every stack complete and no unexecuted change set left."""
        for env in envs:
            for role in ("data", "fleet"):
                name = f"qfleet-{env}-{role}"
                try:
                    s = self.cfn.describe_stacks(StackName=name)["Stacks"][0]
                except Exception:
                    return f"{name} missing"
                if s["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
                    return f"{name} {s['StackStatus']}"
                # moto lists every stack's change sets, deleted stacks' included: keep this one's.
                for c in self.cfn.list_change_sets(StackName=name).get("Summaries", []):
                    if c.get("StackId") == s["StackId"] and c.get("ExecutionStatus") == "AVAILABLE":
                        return f"{name} keeps change set {c['ChangeSetName']}"
        return None


Row = collections.namedtuple("Row", "scenario runs passes codes wall lost_objects lost_messages notes")

TEARDOWN_READS = [
    ("cloudformation", "DescribeStacks"), ("cloudformation", "ListStackResources"),
    ("cloudformation", "GetTemplate"), ("sqs", "GetQueueAttributes"), ("s3", "ListObjectVersions"),
]
FAULTS = ["empty", "truncate", "html", "500", "reset_before", "reset_after", "throttle", "delay"]


def teardown_scenarios(lab, proxy_url, faults, plan, rows):
    """Single faults on every read a teardown decides from; flagless and --purge-bucket only."""
    for (service, op), fault, nth in plan:
        for flags in ([], ["--purge-bucket"]):
            env = lab.name("tf")
            path = lab.stack_file(env)
            lab.deploy(path)
            lab.seed(env)
            dlq = lab.dlq_url(env)
            before = lab.holdings(env, dlq)
            faults.reset(rule=(service, op, nth, fault))
            code, wall, out, err = lab.qfleet_run(["teardown", path, "--yes"] + flags, proxy_url, faults)
            faults.reset()
            after = lab.holdings(env, dlq)
            lost_objects = 0 if flags else before[0] - after[0]
            lost_messages = before[1] - after[1]
            ok = code in (0, 1, 4) and lost_objects <= 0 and lost_messages <= 0 and "panicked" not in err
            rows.append(Row(f"teardown {' '.join(flags) or '(no flag)'}: {fault} on {op} #{nth}", 1, int(ok),
                            str(code), wall, max(lost_objects, 0), max(lost_messages, 0),
                            "" if ok else err.strip().splitlines()[-1][:80] if err.strip() else ""))


def kill_scenarios(lab, proxy_url, faults, points, sig, rows):
    """Signal qfleet at the Nth request of a 3-environment deploy; a plain rerun must converge."""
    for n in points:
        base = lab.name("kd")
        path = lab.stack_file(base, "copies: 3\n")
        envs = [f"{base}-{i:02d}" for i in (1, 2, 3)]
        faults.reset(kill_at=n, sig=sig)
        code, wall, out, err = lab.qfleet_run(["deploy", path, "--yes"], proxy_url, faults)
        faults.reset()
        code2, wall2, out2, err2 = lab.qfleet_run(["deploy", path, "--yes"])
        problem = lab.stacks_settled(envs)
        ok = code2 == 0 and problem is None and code != "hang"
        rows.append(Row(f"deploy x3, {signal.Signals(sig).name} at request {n}, then rerun", 1, int(ok),
                        f"{code}->{code2}", wall + wall2, 0, 0,
                        "" if ok else (problem or err2.strip()[-80:])))


def slow_kill_scenarios(lab, proxy_url, faults, points, rows):
    """SIGKILL at the Nth request of a lab deploy whose every call is answered 150 ms late, then
    a plain rerun straight to the emulator: it must converge (both stacks complete, no change
    set left). The killed run's last CreateChangeSet, held 150 ms on its way, could land after
    the rerun had read the stacks: moto then made a second stack of the same name, and the
    rerun's fleet stack was reported as the late one, in REVIEW_IN_PROGRESS. A run that takes
    over a dead run's lock now waits for such requests to land (src/lock.rs)."""
    for n in points:
        env = lab.name("ks")
        path = lab.stack_file(env)
        faults.reset(kill_at=n, sig=signal.SIGKILL, slow=0.15)
        code, wall, out, err = lab.qfleet_run(["deploy", path, "--yes"], proxy_url, faults)
        faults.reset()
        code2, wall2, out2, err2 = lab.qfleet_run(["deploy", path, "--yes"])
        problem = lab.stacks_settled([env])
        ok = code2 == 0 and problem is None and code != "hang"
        rows.append(Row(f"deploy, every call 150 ms late, SIGKILL at request {n}, then rerun", 1, int(ok),
                        f"{code}->{code2}", wall + wall2, 0, 0,
                        "" if ok else (problem or err2.strip()[-80:])))


def teardown_kill_scenarios(lab, proxy_url, faults, points, sig, rows):
    """Signal qfleet at the Nth request of a teardown (with the flags for the environment's data);
    a plain rerun must finish it."""
    flags = ["--yes", "--purge-bucket", "--discard-messages"]
    for n in points:
        env = lab.name("kt")
        path = lab.stack_file(env)
        lab.deploy(path)
        lab.seed(env)
        lab.detach_role_policies(env)
        faults.reset(kill_at=n, sig=sig)
        code, wall, out, err = lab.qfleet_run(["teardown", path] + flags, proxy_url, faults)
        faults.reset()
        code2, wall2, out2, err2 = lab.qfleet_run(["teardown", path] + flags)
        problem = lab.stacks_gone(env)
        ok = code2 == 0 and problem is None and code != "hang" and "panicked" not in err + err2
        rows.append(Row(f"teardown (both flags), {signal.Signals(sig).name} at request {n}, then rerun", 1, int(ok),
                        f"{code}->{code2}", wall + wall2, 0, 0,
                        "" if ok else (problem or err2.strip()[-80:])))


def interrupt_scenarios(lab, proxy_url, faults, rows):
    """SIGTERM during a first deploy, as its second change set is being created, against an
    endpoint that answers every call 1 s late and against one that fails every
    DeleteChangeSet: one interrupted document on stdout within 3 s of the signal, naming the
    environment, exit 143 within 7.5 s (GitHub's SIGTERM follows its SIGINT by 7.5 s); with a
    SIGINT 0.5 s after it, the run ends within 1 s of that. A plain rerun converges."""
    endpoints = [("every call 1 s late", dict(slow=1.0)),
                 ("every DeleteChangeSet failing", dict(fail_every=("cloudformation", "DeleteChangeSet")))]
    for label, how in endpoints:
        for second in (False, True):
            env = lab.name("ki")
            path = lab.stack_file(env)
            faults.reset(kill_on=("cloudformation", "CreateChangeSet", 2), sig=signal.SIGTERM, **how)
            run = timed_run(lab, ["deploy", path, "--yes", "-o", "json"], proxy_url, faults, second)
            faults.reset()
            code2, wall2, _, err2 = lab.qfleet_run(["deploy", path, "--yes"])
            problems = interrupt_problems(run, env, second)
            settled = lab.stacks_settled([env])
            if code2 != 0 or settled:
                problems.append(f"rerun: {code2} {settled or err2.strip()[-80:]}")
            rows.append(Row(f"deploy, SIGTERM{' + SIGINT' if second else ''}, {label}, then rerun", 1,
                            int(not problems), f"{run['code']}->{code2}", run["wall"] + wall2, 0, 0,
                            "; ".join(problems)[:160]))


def timed_run(lab, args, endpoint, faults, second):
    """Runs qfleet through the proxy, noting when each stdout line arrived and when it ended;
    with `second`, a SIGINT 0.5 s after the proxy's signal."""
    env = dict(lab.env, AWS_ENDPOINT_URL=endpoint)
    t = time.monotonic()
    p = subprocess.Popen([lab.qfleet] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    faults.pid = p.pid
    lines, err = [], []
    readers = [threading.Thread(target=lambda: [lines.append((time.monotonic(), line)) for line in p.stdout]),
               threading.Thread(target=lambda: err.extend(p.stderr))]
    for r in readers:
        r.start()
    second_at = None
    while p.poll() is None and time.monotonic() - t < 300:
        if second and second_at is None and faults.signalled_at and time.monotonic() - faults.signalled_at >= 0.5:
            os.kill(p.pid, signal.SIGINT)
            second_at = time.monotonic()
        time.sleep(0.02)
    if p.poll() is None:
        p.kill()
    ended = time.monotonic()
    p.wait()
    for r in readers:
        r.join()
    return dict(code=p.returncode, wall=ended - t, lines=lines, err="".join(err),
                signalled=faults.signalled_at, second=second_at, ended=ended)


def interrupt_problems(run, env, second):
    """What an interrupted run did wrong against the contract of docs/ci.md."""
    if run["signalled"] is None:
        return ["the signal was never sent"]
    problems = []
    if run["code"] != 143:
        problems.append(f"exit {run['code']}, not 143")
    if len(run["lines"]) != 1:
        problems.append(f"{len(run['lines'])} lines on stdout")
    else:
        at, line = run["lines"][0]
        if at - run["signalled"] > 3.0:
            problems.append(f"document {at - run['signalled']:.1f} s after the signal")
        try:
            doc = json.loads(line)
            stopped = [s["environment"] for s in doc["error"]["stopped"]]
            if doc["error"]["kind"] != "interrupted" or doc["exit_code"] != 143 or stopped != [env]:
                problems.append(f"document: {doc['error']['kind']}, {doc['exit_code']}, {stopped}")
        except (ValueError, KeyError, TypeError) as e:
            problems.append(f"not the document: {e}")
    if run["ended"] - run["signalled"] > 7.5:
        problems.append(f"ended {run['ended'] - run['signalled']:.1f} s after the signal")
    if second and run["second"] is not None and run["ended"] - run["second"] > 1.0:
        problems.append(f"ended {run['ended'] - run['second']:.1f} s after the second signal")
    if "panicked" in run["err"]:
        problems.append("panicked")
    return problems


def throttle_scenario(lab, proxy_url, faults, copies, fraction, rows):
    """A fraction of CloudFormation calls throttled during a deploy of `copies` environments."""
    for frac in (0.0, fraction):
        base = lab.name("th")
        path = lab.stack_file(base, f"copies: {copies}\n")
        faults.reset(throttle=("cloudformation", frac) if frac else None)
        code, wall, out, err = lab.qfleet_run(["deploy", path, "--yes", "-o", "json"], proxy_url, faults, timeout=900)
        injected = faults.injected
        faults.reset()
        failed = copies
        try:
            summary = json.loads(out)  # --output json: one document
            failed = sum(1 for e in summary["environments"] if not e["ok"])
        except Exception:
            pass
        ok = code == 0 and failed == 0
        rows.append(Row(f"deploy x{copies}, {int(frac * 100)} % of CloudFormation calls throttled ({injected})",
                        copies, copies - failed, str(code), wall, 0, 0, "" if ok else err.strip()[-80:]))


def print_table(rows):
    print(f"{'scenario':<66} {'runs':>4} {'pass':>4} {'exit':>7} {'wall s':>7} {'lost obj':>8} {'lost msg':>8}")
    for r in rows:
        print(f"{r.scenario:<66} {r.runs:>4} {r.passes:>4} {r.codes:>7} {r.wall:>7.1f} {r.lost_objects:>8} {r.lost_messages:>8}"
              + (f"  {r.notes}" if r.notes else ""))
    runs, passes = sum(r.runs for r in rows), sum(r.passes for r in rows)
    print(f"faults: {passes} passed, {runs - passes} failed")
    return runs == passes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ci", action="store_true")
    ap.add_argument("--qfleet", default=benchlib.QFLEET)
    ap.add_argument("--endpoint")
    args = ap.parse_args()
    random.seed(7)
    moto = None
    if not args.endpoint:
        moto = benchlib.Moto().__enter__()
        args.endpoint = moto.endpoint
    work = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"qfleet-faults-{os.getpid()}")
    os.makedirs(work, exist_ok=True)
    faults = Faults()
    server, proxy_url = make_proxy(args.endpoint, faults)
    lab = Lab(args.qfleet, args.endpoint, work)
    rows = []
    try:
        if args.ci:
            plan = [(("sqs", "GetQueueAttributes"), "empty", 1), (("cloudformation", "ListStackResources"), "truncate", 1),
                    (("s3", "ListObjectVersions"), "html", 1), (("cloudformation", "DescribeStacks"), "throttle", 1)]
            teardown_scenarios(lab, proxy_url, faults, plan, rows)
            kill_scenarios(lab, proxy_url, faults, [4, 9], signal.SIGKILL, rows)
            kill_scenarios(lab, proxy_url, faults, [6], signal.SIGINT, rows)
            slow_kill_scenarios(lab, proxy_url, faults, [8, 12, 16], rows)
            teardown_kill_scenarios(lab, proxy_url, faults, [8], signal.SIGKILL, rows)
            teardown_kill_scenarios(lab, proxy_url, faults, [12], signal.SIGINT, rows)
            interrupt_scenarios(lab, proxy_url, faults, rows)
            throttle_scenario(lab, proxy_url, faults, 3, 0.3, rows)
        else:
            plan = [(op, f, n) for op in TEARDOWN_READS for f in FAULTS for n in (1, 2)]
            teardown_scenarios(lab, proxy_url, faults, plan, rows)
            kill_scenarios(lab, proxy_url, faults, range(2, 42, 4), signal.SIGKILL, rows)
            kill_scenarios(lab, proxy_url, faults, range(3, 43, 4), signal.SIGINT, rows)
            slow_kill_scenarios(lab, proxy_url, faults, range(4, 30, 2), rows)
            teardown_kill_scenarios(lab, proxy_url, faults, range(2, 26, 5), signal.SIGKILL, rows)
            teardown_kill_scenarios(lab, proxy_url, faults, range(4, 28, 5), signal.SIGINT, rows)
            interrupt_scenarios(lab, proxy_url, faults, rows)
            throttle_scenario(lab, proxy_url, faults, 10, 0.3, rows)
    finally:
        server.shutdown()
        if moto:
            moto.__exit__(None, None, None)
    sys.exit(0 if print_table(rows) else 1)


if __name__ == "__main__":
    main()
