"""The job sweeper's inline function code (docs/jobs.md, "A worker that stops"): loads
qfleet_jobs.py and qfleet_sweeper.py, gzipped, from the job table's metadata in its own stack,
once per execution environment, and runs the sweeper."""
import base64
import json
import os
import sys
import types
import zlib

import boto3

# Module name -> its key in the table's `qfleet` metadata (the sweeper imports qfleet_jobs).
MODULES = {"qfleet_jobs": "jobs_module", "qfleet_sweeper": "sweeper_module"}


def load(metadata):
    """Each module from the table's `qfleet` metadata: gzip in base64 (lines of 76)."""
    for name, key in MODULES.items():
        text = zlib.decompress(base64.b64decode(metadata[key]), 16 + zlib.MAX_WBITS)
        module = types.ModuleType(name)
        exec(compile(text.decode(), name + ".py", "exec"), module.__dict__)  # noqa: S102
        sys.modules[name] = module
    return sys.modules["qfleet_sweeper"]


def handler(event, context=None, cfn=None):
    if "qfleet_sweeper" not in sys.modules:
        cfn = cfn or boto3.client("cloudformation")
        detail = cfn.describe_stack_resource(
            StackName=os.environ["QFLEET_JOBS_STACK"], LogicalResourceId="JobTable",
        )["StackResourceDetail"]
        load(json.loads(detail["Metadata"])["qfleet"])
    return sys.modules["qfleet_sweeper"].handler(event, context)
