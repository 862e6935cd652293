"""Tests for qfleet_secrets.py against moto's in-process SSM and Secrets Manager."""
import json
import os
import subprocess
import sys

import boto3
import pytest
from moto import mock_aws

import qfleet_secrets as qs

REGION = "eu-west-1"
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def aws(monkeypatch):
    for k in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        ssm = boto3.client("ssm", region_name=REGION)
        sm = boto3.client("secretsmanager", region_name=REGION)
        ssm.put_parameter(Name="/app/db-password", Value="s3cr3t\nline2", Type="SecureString")
        arn = sm.create_secret(Name="app/api-key", SecretString='{"key": "k-123"}')["ARN"]
        yield ssm, sm, arn


def test_parameters_and_secrets_resolve_by_name_and_by_arn(aws):
    _, _, arn = aws
    got = qs.resolve({"DB": "ssm:/app/db-password", "API": "secretsmanager:app/api-key",
                      "API2": arn}, REGION)
    assert got == {"DB": "s3cr3t\nline2", "API": '{"key": "k-123"}', "API2": '{"key": "k-123"}'}


def test_an_arn_is_read_in_its_own_region(aws):
    asked = []

    def client(service, region):
        asked.append((service, region))
        return boto3.client(service, region_name=REGION)

    with pytest.raises(RuntimeError):
        qs.resolve({"P": "arn:aws:ssm:us-east-2:123456789012:parameter/x"}, REGION, client)
    assert asked == [("ssm", "us-east-2")]


def test_a_missing_secret_names_the_variable_and_never_a_value(aws):
    with pytest.raises(RuntimeError) as e:
        qs.resolve({"DB": "ssm:/app/db-password", "GONE": "secretsmanager:app/nope"}, REGION)
    msg = str(e.value)
    assert msg.startswith("GONE from secretsmanager:app/nope: ResourceNotFoundException"), msg
    assert "s3cr3t" not in msg
    with pytest.raises(RuntimeError, match="BAD from vault:x: ValueError"):
        qs.resolve({"BAD": "vault:x"}, REGION)


def run(tmp_path, refs, env):
    f = tmp_path / "secrets.json"
    f.write_text(json.dumps(refs))
    cmd = [sys.executable, os.path.join(HERE, "qfleet_secrets.py"), sys.executable, "-c",
           "import os, json; print(json.dumps({k: os.environ.get(k) for k in ('DB', 'KEEP')}))"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          env=dict(env, QFLEET_SECRETS_FILE=str(f), KEEP="yes"))


def test_the_command_runs_with_the_values_added_and_a_failure_stops_it(tmp_path):
    """A real process: moto's server stands in for AWS (AWS_ENDPOINT_URL)."""
    from moto.server import ThreadedMotoServer
    srv = ThreadedMotoServer(port=0, verbose=False)
    srv.start()
    try:
        host, port = srv.get_host_and_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ENDPOINT_URL=f"http://{host}:{port}", AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=REGION)
        ssm = boto3.client("ssm", region_name=REGION, endpoint_url=env["AWS_ENDPOINT_URL"],
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        ssm.put_parameter(Name="/app/db", Value="p@ss", Type="SecureString")
        ok = run(tmp_path, {"DB": "ssm:/app/db"}, env)
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout) == {"DB": "p@ss", "KEEP": "yes"}
        bad = run(tmp_path, {"DB": "ssm:/app/missing"}, env)
        assert bad.returncode == 1 and bad.stdout == ""
        assert "qfleet-secrets: DB from ssm:/app/missing: ParameterNotFound" in bad.stderr
    finally:
        srv.stop()
