"""The job sweeper's loader (qfleet_sweeper_loader.py): it reads the two modules from the job
table's metadata, as the data template carries them (gzip, base64 in lines of 76), once per
execution environment, and runs the sweeper's handler."""
import base64
import gzip
import json
import pathlib
import sys

import pytest

import qfleet_sweeper_loader as loader

HERE = pathlib.Path(__file__).resolve().parent


def packed(text):
    """As qfleet's render packs a module: gzip, base64, lines of 76 characters."""
    b = base64.b64encode(gzip.compress(text.encode())).decode()
    return "\n".join(b[i:i + 76] for i in range(0, len(b), 76))


class FakeCfn:
    def __init__(self, metadata):
        self.metadata, self.calls = metadata, []

    def describe_stack_resource(self, **kw):
        self.calls.append(kw)
        return {"StackResourceDetail": {"Metadata": json.dumps({"qfleet": self.metadata})}}


@pytest.fixture
def fresh_modules(monkeypatch):
    """No qfleet_jobs or qfleet_sweeper loaded; whatever was there is back afterwards."""
    for name in loader.MODULES:
        monkeypatch.setitem(sys.modules, name, sys.modules.get(name))
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setenv("QFLEET_JOBS_STACK", "qfleet-t-data")


def test_the_modules_come_from_the_tables_metadata_once(fresh_modules):
    cfn = FakeCfn({
        "jobs_module": packed("SHARDS = 8\n"),
        "sweeper_module": packed(
            "import qfleet_jobs\n\n\ndef handler(event, context):\n"
            "    return {'shards': qfleet_jobs.SHARDS, 'event': event}\n"),
    })
    assert loader.handler({"n": 1}, None, cfn=cfn) == {"shards": 8, "event": {"n": 1}}
    assert cfn.calls == [{"StackName": "qfleet-t-data", "LogicalResourceId": "JobTable"}]
    # The execution environment keeps them: no second read.
    assert loader.handler({"n": 2}, None, cfn=cfn)["event"] == {"n": 2}
    assert len(cfn.calls) == 1


def test_the_shipped_modules_load_and_the_sweeper_has_its_handler(fresh_modules):
    cfn = FakeCfn({
        "jobs_module": packed((HERE / "qfleet_jobs.py").read_text()),
        "sweeper_module": packed((HERE / "qfleet_sweeper.py").read_text()),
    })
    loader.load(json.loads(cfn.describe_stack_resource()["StackResourceDetail"]["Metadata"])
                ["qfleet"])
    assert callable(sys.modules["qfleet_sweeper"].handler)
    assert sys.modules["qfleet_sweeper"].qfleet_jobs is sys.modules["qfleet_jobs"]
