"""Lambda entry points for SQS events: parse records, call services, no logic.

`outbox_handler` is what the outbox queue's event source invokes and
`events_handler` the SES events queue's. Both take batches and answer with
the records to retry (emailhub/batches.py); the local runner's pollers hand
their batches to these same handlers. `process_outbox_records` /
`process_event_records` take bare records and return the ids to retry."""

import json
import os

from emailhub.batches import Malformed, sqs_batch_handle
from emailhub.logs import log_context_add


def _django():
    """Event-source invocations may arrive before anything set Django up."""
    from django.apps import apps

    if not apps.ready:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emailhub.settings")
        django.setup()


def _parsed(parse, body):
    try:
        return parse(body)
    except (ValueError, KeyError, TypeError) as err:
        raise Malformed(f"{type(err).__name__}: {err}") from err


def _outbox_parse(body):
    message = json.loads(body)
    return message["email_id"], message.get("request")


def deliver_one(record):
    """One outbox record: send its email (or find it already handled)."""
    from emailhub.services import email_deliver

    email_id, request = _parsed(_outbox_parse, record["body"])
    log_context_add(email_id=email_id)
    return email_deliver(email_id=email_id, request=request)


def record_event_one(record):
    """One events-queue record: put the SES event on its email's timeline."""
    from emailhub.ses_events import notification_parse, ses_event_record

    dedupe_id, ses_event = _parsed(notification_parse, record["body"])
    kind = ses_event.get("eventType") or ses_event.get("notificationType")
    return f"{ses_event_record(ses_event=ses_event, dedupe_id=dedupe_id)}: SES {kind}"


def _event_later(record, error):
    from emailhub.ses_events import event_retry_later

    event_retry_later(receipt_handle=record.get("receiptHandle"), error=error,
                      receive_count=int(record.get("attributes", {}).get("ApproximateReceiveCount", 1)))


def _failed_ids(answer):
    return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]


def process_outbox_records(records, context=None):
    """Deliver each record's email; returns the messageIds to try again."""
    _django()
    return _failed_ids(sqs_batch_handle(records, deliver_one, worker="outbox", context=context))


def process_event_records(records, context=None):
    """Record each SES event; returns the messageIds to try again."""
    _django()
    return _failed_ids(sqs_batch_handle(records, record_event_one, worker="events", context=context,
                                        on_retry=_event_later))


def outbox_handler(event, context=None):
    _django()
    return sqs_batch_handle(event.get("Records", []), deliver_one, worker="outbox", context=context)


def events_handler(event, context=None):
    _django()
    return sqs_batch_handle(event.get("Records", []), record_event_one, worker="events", context=context,
                            on_retry=_event_later)
