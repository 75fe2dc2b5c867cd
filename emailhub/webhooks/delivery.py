"""The webhooks worker: one message = one event for one endpoint.

Each attempt claims the event's delivery item (deliveries.delivery_claim),
checks the URL again (DNS may have changed since the endpoint was made),
POSTs the signed event to the checked address with a short timeout and
records the answer. A failure comes back after the next step of
EMAILHUB_WEBHOOK_RETRY_SECONDS (the message's visibility is changed; SQS's
receive count says which attempt this is); after the last step the event is
parked on the webhooks dead-letter queue. An endpoint whose deliveries have
failed for EMAILHUB_WEBHOOK_DISABLE_AFTER_HOURS (no success between) is
disabled and audited; its events are parked from then on, to be replayed."""

import json
import logging
import time
from datetime import timedelta

from django.conf import settings

from emailhub import model
from emailhub.aws import sqs
from emailhub.errors import EmailhubError, NotFound
from emailhub.webhooks import transport
from emailhub.webhooks.deliveries import (
    DELIVERED, PARKED, RETRYING, deliveries_recent, delivery_claim, delivery_record,
)
from emailhub.webhooks.endpoints import (
    endpoint_disable_failing, endpoint_failing, endpoint_recovered, endpoints_cached, signing_secrets,
    webhook_endpoint_get,
)
from emailhub.webhooks.signing import signed_headers
from emailhub.webhooks.ssrf import UnsafeUrl, url_resolve

logger = logging.getLogger(__name__)


class DeliveryLater(EmailhubError):
    """The attempt failed; the message comes back after its next delay."""

    code = "webhook_retry_later"


def _now():
    """The clock of this module (the tests move it)."""
    return model.now()


def _endpoint(endpoint_id):
    cached = next((e for e in endpoints_cached() if e["id"] == endpoint_id), None)
    if cached is not None:
        return cached
    try:  # made a moment ago in another process
        return webhook_endpoint_get(endpoint_id=endpoint_id, with_secrets=True)
    except NotFound:
        return None


def _lease_seconds():
    return int(2 * settings.EMAILHUB_WEBHOOK_TIMEOUT_SECONDS) + 30


def webhook_deliver(*, endpoint_id, event, receive_count=1, receipt_handle=None):
    """Try one event on one endpoint. Returns "delivered", "duplicate",
    "parked" or "dropped"; raises DeliveryLater (after setting when the
    message comes back) or DeliveryBusy, so the message is kept."""
    endpoint = _endpoint(endpoint_id)
    if endpoint is None:
        logger.warning("webhook event %s for deleted endpoint %s dropped", event.get("id"), endpoint_id)
        return "dropped"
    moment = _now()
    claim_id = delivery_claim(endpoint_id=endpoint_id, event=event, moment=moment, lease_seconds=_lease_seconds())
    if claim_id is None:
        return "duplicate"
    if not endpoint.get("enabled"):
        return _park(endpoint_id, event, claim_id, moment, None, "the endpoint is disabled")
    answer = _post(endpoint, event, moment)
    if answer.ok:
        delivery_record(endpoint_id=endpoint_id, event_id=event["id"], claim_id=claim_id, state=DELIVERED,
                        moment=moment, answer=answer, extra={"delivered_at": model.iso(moment)})
        if endpoint.get("failing_since"):
            endpoint_recovered(endpoint_id=endpoint_id)
        return "delivered"
    failure = answer.error or f"HTTP {answer.status}"
    if _disable_if_failing_too_long(endpoint, moment, failure):
        return _park(endpoint_id, event, claim_id, moment, answer, f"{failure}; the endpoint was disabled")
    schedule = settings.EMAILHUB_WEBHOOK_RETRY_SECONDS
    if receive_count > len(schedule):
        return _park(endpoint_id, event, claim_id, moment, answer, f"{failure}; gave up after {receive_count} attempts")
    delay = schedule[receive_count - 1]
    delivery_record(endpoint_id=endpoint_id, event_id=event["id"], claim_id=claim_id, state=RETRYING, moment=moment,
                    answer=answer, error=failure, extra={"next_attempt_at": _later(moment, delay)})
    if receipt_handle:
        sqs.change_visibility(settings.EMAILHUB_WEBHOOKS_QUEUE, receipt_handle, min(delay, 43200))
    raise DeliveryLater(f"{failure}; attempt {receive_count}, next in {delay} s")


def _later(moment, seconds):
    return model.iso(moment + timedelta(seconds=seconds))


def _post(endpoint, event, moment):
    try:
        target = url_resolve(endpoint["url"])
    except UnsafeUrl as err:
        return transport.Answer(status=0, latency_ms=0, snippet="", error=err.message)
    body = json.dumps(event, separators=(",", ":")).encode()
    # The timestamp is the real time of sending: receivers check it against their clock.
    headers = signed_headers([s["secret"] for s in signing_secrets(endpoint, moment)],
                             msg_id=event["id"], timestamp=time.time(), body=body)
    return transport.post(target, body=body, headers=headers, timeout=settings.EMAILHUB_WEBHOOK_TIMEOUT_SECONDS)


def _disable_if_failing_too_long(endpoint, moment, failure):
    since = endpoint.get("failing_since") or endpoint_failing(endpoint_id=endpoint["id"], moment=moment)
    hours = (moment - model.parse_iso(since)).total_seconds() / 3600
    if hours < settings.EMAILHUB_WEBHOOK_DISABLE_AFTER_HOURS:
        return False
    # The cached copy may be stale (a success elsewhere clears failing_since): look again before disabling,
    # and a success another process saw (while its copy did not know of the streak) ends the streak too.
    fresh = webhook_endpoint_get(endpoint_id=endpoint["id"], with_secrets=True)
    if not fresh.get("failing_since") or fresh["failing_since"] != since:
        return False
    if _delivered_since(endpoint["id"], since, moment):
        endpoint_recovered(endpoint_id=endpoint["id"], failing_since=since)
        return False
    reason = f"failing since {since} (last: {failure})"
    if endpoint_disable_failing(endpoint_id=endpoint["id"], moment=moment, reason=reason):
        from emailhub.audit import audit_record

        audit_record(actor="webhooks worker", action="webhook.disable", target=endpoint["id"],
                     outcome=f"disabled {endpoint['url']}: {reason}"[:1000])
        logger.error("webhook endpoint %s disabled: %s", endpoint["id"], reason)
    return True


def _delivered_since(endpoint_id, since, moment):
    recent = deliveries_recent(endpoint_id=endpoint_id, limit=50, days=2, moment=moment)
    return any(d.get("status") == DELIVERED and d.get("updated_at", "") > since for d in recent)


def _park(endpoint_id, event, claim_id, moment, answer, reason):
    """Give up on this event: the webhooks dead-letter queue keeps it (a
    human sees it, replays it from the dashboard); the item says why."""
    message_id = sqs.send(settings.EMAILHUB_WEBHOOKS_DLQ, {"endpoint_id": endpoint_id, "event_id": event["id"],
                                                          "event_type": event["type"], "reason": reason[:500]})
    delivery_record(endpoint_id=endpoint_id, event_id=event["id"], claim_id=claim_id, state=PARKED, moment=moment,
                    answer=answer, error=reason, extra={"parked_at": model.iso(moment), "dlq_message_id": message_id})
    return "parked"
