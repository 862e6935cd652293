"""CloudWatch Logs for the integration tests, as the workers' writers write it (boto3; qfleet
itself has no Logs SDK crate to lend them).

    logs.py ENDPOINT group GROUP                  create the log group
    logs.py ENDPOINT write GROUP STREAM LINE...   write the lines to the stream (created if
                                                  needed), stamped now, a millisecond apart
"""
import sys
import time

import boto3


def main():
    endpoint, command, group, *rest = sys.argv[1:]
    logs = boto3.client(
        "logs",
        region_name="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    if command == "group":
        logs.create_log_group(logGroupName=group)
    elif command == "write":
        stream, lines = rest[0], rest[1:]
        try:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now + i, "message": line} for i, line in enumerate(lines)],
        )
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
