"""Shared by the benchmark drivers: a private moto server, timing, request counting."""
import os, re, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QFLEET = os.path.join(ROOT, "target", "release", "qfleet")
VENV = os.path.join(ROOT, ".venv", "bin")
AWS = os.path.join(VENV, "aws")
REQUEST = re.compile(r'"(GET|POST|PUT|DELETE|HEAD) ')


class Moto:
    """moto's server on a free port of 127.0.0.1, logging to its own file; stopped by PID."""

    def __enter__(self):
        self.work = tempfile.mkdtemp(prefix="qfleet-bench-")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        self.log_path = os.path.join(self.work, "moto.log")
        self.log = open(self.log_path, "w")
        # As scripts/local-aws starts it: moto's server with its lists copied before they are
        # written out (scripts/moto_server.py).
        launcher = os.path.join(ROOT, "scripts", "moto_server.py")
        self.proc = subprocess.Popen([os.path.join(VENV, "python"), launcher, "-H", "127.0.0.1", "-p", str(port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.endpoint = f"http://127.0.0.1:{port}"
        self.env = dict(os.environ, AWS_ENDPOINT_URL=self.endpoint, AWS_ACCESS_KEY_ID="testing",
                        AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="eu-west-1",
                        AWS_DEFAULT_REGION="eu-west-1", CI="true")
        self.env.pop("AWS_PROFILE", None)
        for _ in range(100):
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/")
                break
            except OSError:
                time.sleep(0.1)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()

    def requests(self):
        with open(self.log_path) as f:
            return sum(1 for line in f if REQUEST.search(line))

    def measure(self, cmd, ok=(0,), accept=None):
        """Runs cmd; returns (wall seconds, requests it made, peak RSS in MB)."""
        before = self.requests()
        t = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, env=self.env, capture_output=True, text=True)
        wall = time.perf_counter() - t
        time.sleep(0.05)  # let the server flush its log line
        if p.returncode not in ok and not (accept and accept(p)):
            sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
        return wall, self.requests() - before, int(p.stderr.strip().splitlines()[-1]) / 1024

    def measure_output(self, cmd):
        """Like measure, for a command that must succeed; also returns its stdout and stderr
        (without /usr/bin/time's line)."""
        before = self.requests()
        t = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, env=self.env, capture_output=True, text=True)
        wall = time.perf_counter() - t
        time.sleep(0.05)  # let the server flush its log line
        if p.returncode != 0:
            sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
        err = p.stderr.strip().splitlines()
        return wall, self.requests() - before, int(err[-1]) / 1024, p.stdout, "\n".join(err[:-1])

    def stack_file(self, name, extra=""):
        path = os.path.join(self.work, name + ".yaml")
        with open(path, "w") as f:
            f.write(f"environment: {name}\nregion: eu-west-1\nlab: true\nworkers:\n  public_ip: true\n{extra}")
        return path


def table(rows):
    print(f"{'command':<52} {'wall s':>8} {'requests':>9} {'peak MB':>8}")
    for label, (wall, reqs, rss) in rows:
        print(f"{label:<52} {wall:>8.3f} {reqs:>9} {rss:>8.1f}")
