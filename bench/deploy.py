"""Driver for bench/deploy.sh (see there). Starts its own moto server so that the request
log holds only this benchmark's calls, and stops it by PID at the end."""
import json, os, re, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QFLEET = os.path.join(ROOT, "target", "release", "qfleet")
VENV = os.path.join(ROOT, ".venv", "bin")
REQUEST = re.compile(r'"(GET|POST|PUT|DELETE|HEAD) ')


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    work = tempfile.mkdtemp(prefix="qfleet-bench-")
    port = free_port()
    log_path = os.path.join(work, "moto.log")
    log = open(log_path, "w")
    moto = subprocess.Popen([os.path.join(VENV, "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="eu-west-1",
               AWS_DEFAULT_REGION="eu-west-1", CI="true")
    env.pop("AWS_PROFILE", None)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/")
                break
            except OSError:
                time.sleep(0.1)
        run_all(work, env, endpoint, log_path)
    finally:
        moto.terminate()
        moto.wait()


def requests_in(log_path):
    with open(log_path) as f:
        return sum(1 for line in f if REQUEST.search(line))


def measure(cmd, env, log_path, ok=(0,), no_change_ok=False):
    before = requests_in(log_path)
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    time.sleep(0.05)  # let the server flush its log line
    # moto answers an unchanged CreateChangeSet with "No updates are to be performed", which
    # the AWS CLI reports as an error even with --no-fail-on-empty-changeset: still a no-op.
    no_change = no_change_ok and "No updates are to be performed" in p.stderr
    if p.returncode not in ok and not no_change:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    rss_kb = int(p.stderr.strip().splitlines()[-1])
    return wall, requests_in(log_path) - before, rss_kb / 1024


def stack_file(work, name):
    path = os.path.join(work, name + ".yaml")
    with open(path, "w") as f:
        f.write(f"environment: {name}\nregion: eu-west-1\nlab: true\nworkers:\n  public_ip: true\n")
    return path


def run_all(work, env, endpoint, log_path):
    rows = []
    peak = 0.0

    def row(label, result):
        nonlocal peak
        wall, reqs, rss = result
        rows.append((label, wall, reqs, rss))
        return result

    q = stack_file(work, "bench-q")
    row("qfleet deploy (create)", measure([QFLEET, "deploy", q, "--yes"], env, log_path))
    noop_q = row("qfleet deploy (no-op)", measure([QFLEET, "deploy", q, "--yes"], env, log_path))
    row("qfleet plan (no-op)", measure([QFLEET, "plan", q], env, log_path))

    # The AWS CLI on the same two templates, with the network parameters qfleet discovered.
    out = os.path.join(work, "rendered")
    subprocess.run([QFLEET, "render", stack_file(work, "bench-aws"), "--out", out], check=True, env=env,
                   capture_output=True)
    import boto3
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="eu-west-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = ",".join(s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default-for-az", "Values": ["true"]}])["Subnets"])
    aws = [os.path.join(VENV, "aws"), "--endpoint-url", endpoint, "cloudformation", "deploy",
           "--no-fail-on-empty-changeset", "--capabilities", "CAPABILITY_IAM"]

    def aws_deploy(noop=False):
        a = measure(aws + ["--template-file", os.path.join(out, "data.yaml"), "--stack-name", "bench-aws-data"],
                    env, log_path, no_change_ok=noop)
        b = measure(aws + ["--template-file", os.path.join(out, "fleet.yaml"), "--stack-name", "bench-aws-fleet",
                           "--parameter-overrides", f"VpcId={vpc}", f"SubnetIds={subnets}"], env, log_path,
                    no_change_ok=noop)
        return a[0] + b[0], a[1] + b[1], max(a[2], b[2])

    row("aws cloudformation deploy x2 (create)", aws_deploy())
    noop_aws = row("aws cloudformation deploy x2 (no-op)", aws_deploy(noop=True))

    one = row("qfleet deploy, 1 environment", measure([QFLEET, "deploy", stack_file(work, "bench-one"), "--yes"],
                                                      env, log_path))
    ten_files = [stack_file(work, f"bench-ten-{i:02}") for i in range(1, 11)]
    ten = row("qfleet deploy, 10 environments", measure([QFLEET, "deploy", *ten_files, "--yes"], env, log_path))

    print(f"{'command':<40} {'wall s':>8} {'requests':>9} {'peak MB':>8}")
    for label, wall, reqs, rss in rows:
        print(f"{label:<40} {wall:>8.3f} {reqs:>9} {rss:>8.1f}")
    qfleet_peak = max(r[3] for r in rows if r[0].startswith("qfleet"))
    speedup = noop_aws[0] / noop_q[0]
    print()
    print(f"no-op speed-up over the AWS CLI: {speedup:.1f}x (target >= 10x): {'met' if speedup >= 10 else 'NOT met'}")
    print(f"no-op requests: {noop_q[1]} (target <= 2): {'met' if noop_q[1] <= 2 else 'NOT met'}")
    ratio = ten[0] / one[0]
    print(f"10 environments / 1: {ratio:.2f}x wall time (target < 3x): {'met' if ratio < 3 else 'NOT met'}")
    print(f"peak memory of a qfleet deploy: {qfleet_peak:.1f} MB (target < 60 MB): {'met' if qfleet_peak < 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
