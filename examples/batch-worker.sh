#!/bin/bash
# Installs a custom worker instead of qfleet's reference worker. qfleet has already written
# /etc/qfleet/worker.env (queue URL, bucket, prefixes, region); the program and its systemd
# unit read it. This one writes a SHA-256 checksum of every upload under the processed prefix.
# It follows qfleet's contract for custom workers (crates/qfleet-runtime/python/qfleet_worker.md,
# "Custom workers"): it runs qfleet-signal-ready once it has reached the queue (the deploy waits
# for that), takes work only while qfleet-lifecycle-state says InService, and on Terminated runs
# qfleet-complete-lifecycle.
set -euo pipefail
dnf install -y python3 python3-boto3
id batch >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin batch
install -d -m 0755 /opt/batch
cat > /opt/batch/checksum.py <<'PY'
import hashlib, json, os, subprocess, time, urllib.parse
import boto3

sqs, s3 = boto3.client("sqs"), boto3.client("s3")
queue, out = os.environ["QFLEET_QUEUE_URL"], os.environ["QFLEET_PROCESSED_PREFIX"]
upload = os.environ["QFLEET_UPLOAD_PREFIX"]
signalled = False
while True:
    state = subprocess.run(["qfleet-lifecycle-state"], capture_output=True, text=True)
    if state.stdout.strip() == "Terminated":  # scale-in chose this instance: drained, let it go
        subprocess.run(["qfleet-complete-lifecycle"], check=True)
        break
    if state.returncode or state.stdout.strip() != "InService":
        time.sleep(5)  # leaving service, or the state is unreadable: no new work
        continue
    msgs = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20).get("Messages", [])
    if not signalled:  # the queue answered: this instance is healthy
        subprocess.run(["qfleet-signal-ready"], check=True)
        signalled = True
    for m in msgs:
        body = json.loads(m["Body"])
        for r in body.get("Records", []):
            bucket = r["s3"]["bucket"]["name"]
            key = urllib.parse.unquote_plus(r["s3"]["object"]["key"])
            digest = hashlib.sha256()
            for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
                digest.update(chunk)
            s3.put_object(Bucket=bucket, Key=out + key[len(upload):] + ".sha256",
                          Body=digest.hexdigest().encode())
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        print("checksummed", m["MessageId"], flush=True)
PY
cat > /etc/systemd/system/batch-worker.service <<'UNIT'
[Unit]
Description=Nightly checksum worker
After=network-online.target
Wants=network-online.target

[Service]
User=batch
EnvironmentFile=/etc/qfleet/worker.env
ExecStart=/usr/bin/python3 /opt/batch/checksum.py
# Exits 0 only after completing the lifecycle hook: not restarted then.
Restart=on-failure
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now batch-worker.service
