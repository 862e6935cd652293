#!/bin/bash
# Installs a custom worker instead of qfleet's reference worker. qfleet has already written
# /etc/qfleet/worker.env (queue URL, bucket, prefixes, region); the program and its systemd
# unit read it. This one writes a SHA-256 checksum of every upload under the processed prefix.
set -euo pipefail
dnf install -y python3 python3-boto3
id batch >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin batch
install -d -m 0755 /opt/batch
cat > /opt/batch/checksum.py <<'PY'
import hashlib, json, os, urllib.parse
import boto3

sqs, s3 = boto3.client("sqs"), boto3.client("s3")
queue, out = os.environ["QFLEET_QUEUE_URL"], os.environ["QFLEET_PROCESSED_PREFIX"]
upload = os.environ["QFLEET_UPLOAD_PREFIX"]
while True:
    for m in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20).get("Messages", []):
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
Restart=always
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now batch-worker.service
