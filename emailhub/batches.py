"""One SQS batch, one record at a time, with partial failures.

Lambda's SQS event sources deliver up to `batch_size` records an invocation.
With the mapping's FunctionResponseTypes set to ["ReportBatchItemFailures"]
(`bootstrap_aws --stage S --after-deploy`), the handler answers
{"batchItemFailures": [{"itemIdentifier": messageId}, ...]} and SQS makes
only those records visible again; the others are deleted. Every worker
(outbox, SES events, and any later one) runs its records through
`sqs_batch_handle` so the rules are the same:

- `handle_one(record)` returns an outcome (logged) or raises;
- `Malformed` drops the record (retrying cannot fix its body);
- any other exception reports the record for retry. Records the services
  have already handled are safe to see again: their conditional writes make
  a redelivered record a "duplicate", never a second send;
- records not started when the Lambda's time runs short are reported for
  retry untouched, rather than lost to a timeout that fails the whole batch."""

import logging
import time

from emailhub.errors import EmailhubError
from emailhub.logs import elapsed_ms, log_context, log_event
from emailhub.metrics import metric_now, metrics_collect, oldest_age_seconds

logger = logging.getLogger(__name__)

# Left for the records in hand when the Lambda's time is nearly up: one
# email's preparation, pacing wait and SES call, with room to spare.
RESERVE_MILLIS = 8000


class Malformed(Exception):
    """The record's body cannot be read: drop it (logged) instead of retrying it."""


def _remaining_millis(context):
    get = getattr(context, "get_remaining_time_in_millis", None)
    return get() if get else None


def sqs_batch_handle(records, handle_one, *, worker, context=None, on_retry=None):
    """Run `handle_one` on each record; returns {"batchItemFailures": [...]}
    naming exactly the records to deliver again. `on_retry(record, error)`
    runs for a record reported for a project error (EmailhubError)."""
    failures = []
    request_id = getattr(context, "aws_request_id", None)
    with log_context(worker=worker, lambda_request_id=request_id), metrics_collect():
        age = oldest_age_seconds(records)
        if age is not None:
            metric_now("OldestMessageAge", age, Worker=worker)
        for index, record in enumerate(records):
            remaining = _remaining_millis(context)
            if remaining is not None and remaining < RESERVE_MILLIS:
                left = [r["messageId"] for r in records[index:]]
                log_event(logger, "worker.batch_cut", f"{len(left)} record(s) left for redelivery: time is short",
                          level=logging.WARNING, remaining_ms=remaining)
                failures.extend(left)
                break
            if not _handle(record, handle_one, on_retry):
                failures.append(record["messageId"])
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}


def _handle(record, handle_one, on_retry):
    """True when the record is done with (handled or dropped)."""
    message_id = record.get("messageId")
    receive_count = int(record.get("attributes", {}).get("ApproximateReceiveCount", 1) or 1)
    started = time.monotonic()
    with log_context(message_id=message_id, receive_count=receive_count):
        try:
            outcome = handle_one(record)
        except Malformed as err:
            log_event(logger, "worker.record", f"Dropping malformed message: {err}", level=logging.ERROR,
                      outcome="malformed", duration_ms=elapsed_ms(started))
            return True
        except EmailhubError as err:
            log_event(logger, "worker.record", f"Will retry the message ({err.code}: {err.message})",
                      level=logging.WARNING, outcome="retry", error_code=err.code, duration_ms=elapsed_ms(started))
            if on_retry:
                on_retry(record, err)
            return False
        except Exception:
            logger.exception("Unexpected error, message left for redelivery",
                             extra={"event": "worker.record", "fields": {
                                 "outcome": "retry", "error_code": "internal_error",
                                 "duration_ms": elapsed_ms(started)}})
            return False
        result = str(outcome).split(":")[0]
        log_event(logger, "worker.record", str(outcome), outcome=result, status=result,
                  duration_ms=elapsed_ms(started))
        return True
