"""Lambda entry points for SQS events: parse records, call services, no logic.

`outbox_handler` is what the outbox queue's event source invokes,
`events_handler` the SES events queue's, `webhooks_handler` the webhooks
queue's and `scheduler_handler` the every-minute schedule rule's. The queue
handlers take batches and answer with the records to retry
(emailhub/batches.py); the local runner's pollers hand their batches to
these same handlers. `process_outbox_records` / `process_event_records` /
`process_webhook_records` take bare records and return the ids to retry."""

import json
import logging
import os

from emailhub.batches import Malformed, sqs_batch_handle
from emailhub.logs import log_context_add

logger = logging.getLogger(__name__)


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


def _webhook_parse(body):
    message = json.loads(body)
    return message["endpoint_id"], message["event"]


def deliver_webhook_one(record):
    """One webhooks-queue record: POST its event to its endpoint. A failed
    POST raises, and comes back on its retry schedule (the delivery set the
    message's visibility)."""
    from emailhub.webhooks.delivery import webhook_deliver

    endpoint_id, event = _parsed(_webhook_parse, record["body"])
    log_context_add(email_id=(event.get("data") or {}).get("email_id"))
    outcome = webhook_deliver(endpoint_id=endpoint_id, event=event, receipt_handle=record.get("receiptHandle"),
                              receive_count=int(record.get("attributes", {}).get("ApproximateReceiveCount", 1)))
    return f"webhook {event.get('id')} -> {endpoint_id}: {outcome}"


def _flush_unsent_webhooks():
    """Events whose enqueue failed earlier (parked as unsent) go on the queue again first."""
    from emailhub.webhooks.enqueue import webhooks_unsent_flush_due

    try:
        webhooks_unsent_flush_due()
    except Exception:  # noqa: BLE001 - the batch in hand still gets delivered
        logger.exception("Could not look for unsent webhook events")


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


def process_webhook_records(records, context=None):
    """Deliver each record's webhook event; returns the messageIds to try again."""
    _django()
    _flush_unsent_webhooks()
    return _failed_ids(sqs_batch_handle(records, deliver_webhook_one, worker="webhooks", context=context))


def webhooks_handler(event, context=None):
    _django()
    _flush_unsent_webhooks()
    return sqs_batch_handle(event.get("Records", []), deliver_webhook_one, worker="webhooks", context=context)


def scheduler_handler(event=None, context=None):
    """The every-minute rule (zappa_settings.json `events`): hand due scheduled emails to the outbox."""
    _django()
    from emailhub.scheduling.ticks import scheduler_tick

    report = scheduler_tick()
    return {"enqueued": len(report.enqueued), "expired": len(report.expired), "busy": report.busy}
