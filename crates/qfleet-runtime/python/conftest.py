"""Records every AWS call the shipped code makes in its tests, when QFLEET_RECORD_CALLS names a
file, for the project's IAM test (tests/integration/iam.rs); see tests/support/aws_calls.py.

The IAM test runs each consumer's tests on their own and checks their calls against that
consumer's policy: the reference worker's (test_qfleet_worker.py, test_qfleet_jobs.py,
test_qfleet_secrets.py), the Lambda handler's (test_qfleet_handler.py), the job sweeper's
(test_qfleet_sweeper.py), the backlog publisher's (test_qfleet_backlog_metric.py) and the
budget hold's (test_qfleet_budget_hold.py). A call
made from qfleet_shared.py is the worker's or the handler's, whichever runs it. The SQS calls of
the handler's event source mapping (ReceiveMessage, DeleteMessage, ...) are made by Lambda on
the function's behalf, not by the handler, so they never appear here."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "tests" / "support"))
import aws_calls  # noqa: E402

# The worker's tests import `record` from here for their Auto Scaling and CloudFormation fakes.
record = aws_calls.record
record_calls = aws_calls.recording_fixture(
    "qfleet_worker.py", "qfleet_handler.py", "qfleet_shared.py", "qfleet_sweeper.py",
    "qfleet_backlog_metric.py", "qfleet_budget_hold.py")

SHARED = pathlib.Path(__file__).resolve().parent / "qfleet_shared.py"


def inline_shared(text):
    """`text` (the worker's or the handler's) as qfleet ships it, one file: its
    `from qfleet_shared import (...)` statement replaced by qfleet_shared.py's text, as
    crates/qfleet-runtime/src/lib.rs (inline_shared) does it."""
    out, within = [], False
    for line in text.splitlines():
        if within:
            within = ")" not in line
        elif line.startswith("from qfleet_shared import "):
            out.append(SHARED.read_text().rstrip())
            within = "(" in line and ")" not in line
        else:
            out.append(line)
    return "\n".join(out) + "\n"
