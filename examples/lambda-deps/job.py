"""The reference handler with a dependency: the same job (uploads/<k> -> processed/<k>), and a
log line per batch that says in words how it went (humanize, from requirements.txt)."""
import humanize

import qfleet_handler


def handler(event, context):
    records = event.get("Records") or []
    result = qfleet_handler.handler(event, context)
    failed = len((result or {}).get("batchItemFailures") or [])
    print("batch: %s, %s failed" % (humanize.apnumber(len(records)), humanize.apnumber(failed)))
    return result
