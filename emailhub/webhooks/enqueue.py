"""From a status change to messages on the webhooks queue.

`webhook_events_enqueue` runs right after an email's status write succeeded
(emails.email_status_changed). With no endpoint subscribed to the event it
returns without any AWS call (the endpoint list is cached per process).

If the queue cannot take the messages, the status write is not undone (the
email did change) and the caller is not failed (its SQS message would come
back and find the status already moved, so the event would be lost): the
event is parked instead as an "unsent" item in DynamoDB (feed=WHUNSENT),
counted on the overview and /health, and put on the queue again by
`webhooks_unsent_flush` (the webhooks worker tries it, at most once a minute,
when it next works a batch; `manage.py flush_webhooks` does it by hand). Event ids are fixed per
event, so an event enqueued twice is still delivered once."""

import json
import logging
import time

from django.conf import settings

from emailhub import model
from emailhub.aws import dynamodb, sqs
from emailhub.errors import EmailhubError
from emailhub.webhooks.endpoints import endpoints_subscribed
from emailhub.webhooks.events import email_event_payload, event_type_for

logger = logging.getLogger(__name__)

UNSENT_FEED = "WHUNSENT"


def _has_event(email, timeline_event):
    return any(e.get("at") == timeline_event.get("at") and e.get("type") == timeline_event.get("type")
               for e in (email or {}).get("events") or ())


def webhook_events_enqueue(*, email_id, status, timeline_event, email=None, event_type=None, strict=False):
    """Put one message per subscribed endpoint on the webhooks queue. Never
    raises unless `strict` (the flush): a failure parks the event as unsent.
    Returns how many messages went out."""
    try:
        event_type = event_type or event_type_for(status)
        endpoints = endpoints_subscribed(event_type) if event_type else []
        if not endpoints:
            return 0
        if not _has_event(email, timeline_event):
            from emailhub.emails import email_get

            # The write that moved it returned no item (a transaction): read it once.
            email = email_get(email_id)
        payload = email_event_payload(email=email, event_type=event_type, status=status,
                                      timeline_event=timeline_event)
        bodies = [{"endpoint_id": e["id"], "event": payload} for e in endpoints]
        failed = _send(bodies)
        if failed:
            raise EmailhubError(f"the webhooks queue refused {len(failed)} of {len(bodies)} messages")
        return len(bodies)
    except Exception as err:  # the status write stands whatever happens here
        if strict:
            raise
        _park_unsent(email_id=email_id, status=status, timeline_event=timeline_event, event_type=event_type,
                     reason=getattr(err, "message", None) or f"{type(err).__name__}: {err}")
        return 0


# A SendMessageBatch carries at most 256 KiB in all: large events (many
# recipients, long subjects) for many endpoints go one message per call.
BATCH_BYTES = 200 * 1024


def _send(bodies):
    size = len(json.dumps(bodies[0], separators=(",", ":")).encode())
    if size * min(len(bodies), 10) <= BATCH_BYTES:
        return sqs.send_batch(settings.EMAILHUB_WEBHOOKS_QUEUE, bodies)
    failed = []
    for index, body in enumerate(bodies):
        try:
            sqs.send(settings.EMAILHUB_WEBHOOKS_QUEUE, body)
        except EmailhubError:
            failed.append(index)
    return failed


def _park_unsent(*, email_id, status, timeline_event, event_type, reason):
    moment = model.now()
    item = {
        "pk": f"WHUNSENT#{email_id}#{timeline_event.get('at')}#{timeline_event.get('type')}", "sk": "WHUNSENT",
        "feed": UNSENT_FEED, "created_at": model.iso(moment), "id": email_id, "email_id": email_id,
        "status": status, "event_type": event_type, "timeline_event": timeline_event,
        "summary": {"email_id": email_id, "event_type": event_type},  # what the feed index shows
        "last_error": {"message": reason[:500], "at": model.iso(moment)},
        model.TTL_ATTRIBUTE: model.epoch(moment) + settings.EMAILHUB_RETENTION_DAYS * 86400,
    }
    try:
        dynamodb.put(item)
        logger.warning("email %s: webhook event %s not enqueued (%s); parked as unsent", email_id, event_type, reason)
    except EmailhubError:
        logger.error("email %s: webhook event %s (%s) could neither be enqueued nor parked: %s",
                     email_id, event_type, timeline_event, reason)


def webhooks_unsent(*, limit=100):
    items, _ = dynamodb.query(index=model.FEED_INDEX, key_condition="feed = :feed",
                              values={":feed": UNSENT_FEED}, limit=limit, newest_first=False)
    return items


def webhooks_unsent_flush(*, limit=100):
    """Enqueue parked unsent events again (oldest first). Returns (sent, left)."""
    sent = left = 0
    for entry in webhooks_unsent(limit=limit):
        item = dynamodb.get(entry["pk"], entry["sk"])
        if item is None:
            continue
        try:
            webhook_events_enqueue(email_id=item["email_id"], status=item["status"],
                                   timeline_event=item["timeline_event"], event_type=item.get("event_type"),
                                   strict=True)
        except Exception as err:  # noqa: BLE001 - stays parked; counted
            logger.warning("unsent webhook event for %s still not enqueued: %s", item["email_id"], err)
            left += 1
            continue
        dynamodb.delete(entry["pk"], entry["sk"])
        sent += 1
    return sent, left


UNSENT_FLUSH_EVERY_SECONDS = 60
_last_flush = {"at": None}


def webhooks_unsent_flush_due():
    """The worker's flush: at most once a minute per process (one Query when there is nothing)."""
    if _last_flush["at"] is not None and time.monotonic() - _last_flush["at"] < UNSENT_FLUSH_EVERY_SECONDS:
        return None
    _last_flush["at"] = time.monotonic()
    return webhooks_unsent_flush(limit=10)


def webhook_test_send(*, endpoint_id):
    """Put a `webhook.test` event for one endpoint on the queue (whatever
    types it subscribed to); it is delivered and listed like any other."""
    from emailhub.webhooks.events import test_payload

    payload = test_payload(endpoint_id=endpoint_id, moment=model.now())
    sqs.send(settings.EMAILHUB_WEBHOOKS_QUEUE, {"endpoint_id": endpoint_id, "event": payload})
    return payload
