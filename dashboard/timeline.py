"""An email's timeline in words: what happened, and its details as labelled
plain values (never a Python repr of a list or a dict)."""

from django.urls import reverse

from dashboard.templatetags.dashboard_tags import FORMAT, as_utc

EVENTS = {
    "accepted": "Accepted by the API",
    "sent": "Handed to SES",
    "ses_send": "SES accepted the message",
    "attempt_failed": "Attempt failed; will retry",
    "deferred": "Deferred",
    "failed": "Failed",
    "parked": "Parked on the dead-letter queue",
    "resent": "Resent",
    "discarded": "Discarded",
    "delivery": "Delivered",
    "delivery_delay": "Delivery delayed",
    "bounce": "Bounced (permanent)",
    "soft_bounce": "Bounced (temporary)",
    "complaint": "Complaint",
    "reject": "Rejected by SES",
    "rendering_failure": "SES could not render it",
    "expired": "Expired: not sent by its expires_at, never will be",
    "canceled": "Canceled before it was sent",
    "rescheduled": "Rescheduled",
    "due": "Due: handed to the outbox",
}

DETAILS = {
    "api_key": "API key", "by": "by", "resend_of": "resend of", "child_id": "resent as",
    "attempt": "attempt", "ses_message_id": "SES message id", "reason": "reason",
    "retry_in_seconds": "retry in", "code": "error", "message": "message", "kind": "kind",
    "ses_error": "SES error", "dlq_message_id": "DLQ message id", "recipients": "recipients",
    "smtp_response": "SMTP response", "processing_ms": "took", "bounce_type": "bounce type",
    "bounce_subtype": "bounce subtype", "diagnostic": "diagnostic", "feedback_type": "feedback type",
    "delay_type": "delay type", "expires": "gives up at", "send_at": "send at", "previous": "was",
    "expires_at": "expires at",
}
EMAIL_LINKS = {"child_id", "resend_of"}
TIMES = {"expires", "send_at", "previous", "expires_at"}
UNITS = {"retry_in_seconds": " s", "processing_ms": " ms"}


def _plain(value, name=""):
    if name in TIMES and as_utc(value):
        return as_utc(value).strftime(FORMAT)
    if isinstance(value, (list, tuple, set)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    return str(value)


def event_in_words(event):
    """{"at", "type", "label", "details": [(label, value, url or None)]}"""
    details = []
    for name, value in event.items():
        if name in ("at", "type") or value in (None, "", [], {}):
            continue
        url = reverse("admin:email_detail", args=[value]) if name in EMAIL_LINKS else None
        details.append((DETAILS.get(name, name.replace("_", " ")), _plain(value, name) + UNITS.get(name, ""), url))
    kind = event.get("type", "")
    return {"at": event.get("at"), "type": kind, "label": EVENTS.get(kind, kind.replace("_", " ").capitalize()),
            "details": details}


def timeline_in_words(events):
    return [event_in_words(event) for event in events or []]
