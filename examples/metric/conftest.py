"""Records every AWS call the backlog publisher makes in its tests, when QFLEET_RECORD_CALLS names
a file, for the project's IAM test (tests/integration/iam.rs); see tests/support/aws_calls.py."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "support"))
import aws_calls  # noqa: E402

record_calls = aws_calls.recording_fixture("qfleet_backlog_metric.py")
