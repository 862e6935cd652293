"""Records every AWS call the worker makes in its tests, when QFLEET_RECORD_CALLS names a file,
for the project's IAM test (tests/integration/iam.rs); see tests/support/aws_calls.py."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "support"))
import aws_calls  # noqa: E402

# The worker's tests import `record` from here for their Auto Scaling and CloudFormation fakes.
record = aws_calls.record
record_calls = aws_calls.recording_fixture("qfleet_worker.py")
# The job sweeper (qfleet_sweeper.py) runs with a role of its own, in the data stack: its calls
# are recorded the same way, under its tests' ids (examples/worker/test_qfleet_sweeper.py).
record_sweeper_calls = aws_calls.recording_fixture("qfleet_sweeper.py")
