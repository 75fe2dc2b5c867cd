"""Webhook event types and payloads.

The types follow the statuses (model.STATUSES): `email.<status>`, plus
`email.accepted` for a new email. `sending` only lasts one SES call and is
not published. A payload is built once, when the status changes, and sent
unchanged on every attempt and replay, so its id can be used to dedupe."""

from emailhub import model

ACCEPTED = "email.accepted"
# SES's DeliveryDelay moves no status but is news for the sender (the
# receiving server is deferring it): published from the same hook.
DELIVERY_DELAYED = "email.delivery_delayed"
TEST = "webhook.test"
# `sending` lasts one SES call; an email is only ever `scheduled` from its
# accept, which email.accepted announces (its status and send_at in `data`).
UNPUBLISHED_STATUSES = (model.SENDING, model.SCHEDULED)


def event_types():
    """Every type an endpoint can subscribe to, in the order statuses are declared."""
    return ([ACCEPTED] + [f"email.{status}" for status in model.STATUSES if status not in UNPUBLISHED_STATUSES]
            + [DELIVERY_DELAYED])


def event_type_for(status):
    """The event type published when an email moves to `status`, or None."""
    if status in UNPUBLISHED_STATUSES:
        return None
    return f"email.{status}"


# Timeline keys that are bookkeeping, not news for the receiving application.
_INTERNAL_DETAILS = ("at", "type", "api_key", "by")


def event_sequence(email, timeline_event):
    """The 1-based position of `timeline_event` on the email's timeline: it
    only grows for one email (the timeline is append-only), so a receiver can
    order an email's events by it."""
    events = email.get("events") or []
    for position, entry in enumerate(events, start=1):
        if entry.get("at") == timeline_event.get("at") and entry.get("type") == timeline_event.get("type"):
            return position
    return len(events) + 1


def event_id(email_id, sequence):
    """Unique per event and the same for every attempt: what receivers dedupe on."""
    return f"evt_{email_id}_{sequence}"


def email_event_payload(*, email, event_type, status, timeline_event):
    summary = email.get("summary") or {}
    sequence = event_sequence(email, timeline_event)
    data = {
        "email_id": email["id"],
        "status": status,
        "sequence": sequence,
        "from": summary.get("sender"),
        "to": summary.get("to", []),
        "cc": summary.get("cc", []),
        "subject": summary.get("subject"),
        "tags": summary.get("tags", {}),
        "ses_message_id": email.get("ses_message_id") or timeline_event.get("ses_message_id"),
        "attempts": email.get("attempts", 0),
        "send_at": email.get("send_at"),
        "expires_at": email.get("send_by"),
        "timeline_event": timeline_event.get("type"),
        "details": {k: v for k, v in timeline_event.items() if k not in _INTERNAL_DETAILS},
    }
    return {"type": event_type, "id": event_id(email["id"], sequence),
            "created_at": timeline_event.get("at") or model.iso(model.now()), "data": data}


def test_payload(*, endpoint_id, moment):
    token = model.new_email_id(moment)
    return {"type": TEST, "id": f"evt_test_{token}", "created_at": model.iso(moment),
            "data": {"endpoint_id": endpoint_id, "message": "A test event from Emailhub."}}
