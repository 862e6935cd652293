"""Records every AWS call the Lambda handler makes in its tests, when QFLEET_RECORD_CALLS names a
file, for the project's IAM test (tests/integration/iam.rs); see tests/support/aws_calls.py.

The SQS calls of the event source mapping (ReceiveMessage, DeleteMessage, ...) are made by
Lambda on the function's behalf, not by the handler, so they never appear here."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "support"))
# The job table's protocol (examples/worker/qfleet_jobs.py), which the deployed handler carries
# inline (qfleet's render puts it in its import line's place).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "worker"))
import aws_calls  # noqa: E402

record_calls = aws_calls.recording_fixture("qfleet_handler.py")
