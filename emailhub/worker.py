"""Lambda entry points for SQS events: parse records, call services, no logic.

`outbox_handler` is what the outbox queue's event source invokes,
`events_handler` the SES events queue's and `scheduler_handler` the
every-minute schedule rule's; the local runner's pollers call
`process_outbox_records` / `process_event_records` with the same record shape."""

import json
import logging
import os

logger = logging.getLogger(__name__)


def _django():
    """Event-source invocations may arrive before anything set Django up."""
    from django.apps import apps

    if not apps.ready:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emailhub.settings")
        django.setup()


class BatchFailed(Exception):
    """Raised so SQS delivers the batch again; records already done are
    skipped by the services' conditional writes."""


def _process(records, parse, handle, later=None):
    """Run `handle(parse(body))` per record; returns the messageIds to try
    again (after `later(record, error)`, when given, for a project error).
    A body `parse` cannot read is dropped (logged): retrying cannot fix it."""
    from emailhub.errors import EmailhubError

    retry = []
    for record in records:
        try:
            parsed = parse(record["body"])
        except (ValueError, KeyError, TypeError):
            logger.error("Dropping malformed message %s", record.get("messageId"))
            continue
        try:
            logger.info("%s: %s", record.get("messageId"), handle(parsed))
        except EmailhubError as err:
            logger.warning("%s: will retry the message (%s: %s)", record.get("messageId"), err.code, err.message)
            retry.append(record["messageId"])
            if later:
                later(record, err)
        except Exception:
            logger.exception("%s: unexpected error, message left for redelivery", record.get("messageId"))
            retry.append(record["messageId"])
    return retry


def _outbox_parse(body):
    message = json.loads(body)
    return message["email_id"], message.get("request")


def _deliver(parsed):
    from emailhub.services import email_deliver

    email_id, request = parsed
    return f"email {email_id}: {email_deliver(email_id=email_id, request=request)}"


def _events_parse(body):
    from emailhub.ses_events import notification_parse

    return notification_parse(body)


def _record_event(parsed):
    from emailhub.ses_events import ses_event_record

    dedupe_id, ses_event = parsed
    kind = ses_event.get("eventType") or ses_event.get("notificationType")
    return f"SES {kind}: {ses_event_record(ses_event=ses_event, dedupe_id=dedupe_id)}"


def _event_later(record, error):
    from emailhub.ses_events import event_retry_later

    event_retry_later(receipt_handle=record.get("receiptHandle"), error=error,
                      receive_count=int(record.get("attributes", {}).get("ApproximateReceiveCount", 1)))


def process_outbox_records(records):
    """Deliver each record's email; returns the messageIds to try again."""
    _django()
    return _process(records, _outbox_parse, _deliver)


def process_event_records(records):
    """Record each SES event; returns the messageIds to try again."""
    _django()
    return _process(records, _events_parse, _record_event, later=_event_later)


def _handler(process, event):
    retry = process(event.get("Records", []))
    if retry:
        raise BatchFailed(f"{len(retry)} message(s) to retry: {', '.join(retry)}")
    return {"batchItemFailures": []}


def outbox_handler(event, context=None):
    return _handler(process_outbox_records, event)


def events_handler(event, context=None):
    return _handler(process_event_records, event)


def scheduler_handler(event=None, context=None):
    """The every-minute rule (zappa_settings.json `events`): hand due scheduled emails to the outbox."""
    _django()
    from emailhub.scheduling.ticks import scheduler_tick

    report = scheduler_tick()
    return {"enqueued": len(report.enqueued), "expired": len(report.expired), "busy": report.busy}
