# Makes this directory a package for pytest, so its conftest is imported as "metric.conftest" and
# never takes the top-level name "conftest" that examples/worker/test_qfleet_worker.py imports
# (`from conftest import record`) when both directories run in one pytest session.
