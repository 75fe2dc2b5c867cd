"""Lambda entry points for SQS events: parse records, call services, no logic.

`outbox_handler` is what the outbox queue's event source invokes; the local
runner's poller calls `process_outbox_records` with the same record shape."""

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
    skipped by the services' conditional claims."""


def process_outbox_records(records):
    """Deliver each record's email; returns the messageIds to try again."""
    _django()
    from emailhub.errors import EmailhubError
    from emailhub.services import email_deliver

    retry = []
    for record in records:
        try:
            email_id = json.loads(record["body"])["email_id"]
        except (ValueError, KeyError, TypeError):
            logger.error("Dropping malformed outbox message %s", record.get("messageId"))
            continue
        try:
            outcome = email_deliver(email_id=email_id)
            logger.info("email %s: %s", email_id, outcome)
        except EmailhubError as err:
            logger.warning("email %s: will retry the message (%s: %s)", email_id, err.code, err.message)
            retry.append(record["messageId"])
        except Exception:
            logger.exception("email %s: unexpected error, message left for redelivery", email_id)
            retry.append(record["messageId"])
    return retry


def outbox_handler(event, context=None):
    retry = process_outbox_records(event.get("Records", []))
    if retry:
        raise BatchFailed(f"{len(retry)} outbox message(s) to retry: {', '.join(retry)}")
    return {"batchItemFailures": []}
