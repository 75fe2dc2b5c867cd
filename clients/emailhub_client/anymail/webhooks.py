"""Emailhub's signed webhooks as anymail's `tracking` signal.

Emailhub signs every delivery the Standard Webhooks way (webhook-id,
webhook-timestamp, webhook-signature: v1,<HMAC-SHA256>) with the endpoint's
`whsec_...` secret, given here as ANYMAIL["EMAILHUB_WEBHOOK_SECRET"] (a list
is accepted while rotating). A missing or wrong signature, or a timestamp
more than 5 minutes off, is anymail's AnymailWebhookValidationFailure: a 400,
and no signal.

One Emailhub event is about one email; anymail's events are about one
recipient, so an event becomes one AnymailTrackingEvent per recipient it
names (a bounce's bounced addresses, a delivery's delivered ones; otherwise
the email's to and cc), all with the Emailhub event id as `event_id` (the
same on Emailhub's retries: dedupe on it) and the email id as `message_id`
(what `message.anymail_status.message_id` said when it was sent)."""

import json
from datetime import datetime

from anymail.exceptions import AnymailConfigurationError, AnymailInvalidAddress, AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent, EventType, RejectReason, tracking
from anymail.utils import get_anymail_setting, parse_single_address
from anymail.webhooks.base import AnymailBaseWebhookView
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from emailhub_client.anymail.tags import tags_from_emailhub

# Emailhub event type -> anymail's. No anymail type fits a canceled or
# resent email (a resent one goes on under a new id, with its own events).
EVENT_TYPES = {
    "email.accepted": EventType.QUEUED,
    "email.queued": EventType.QUEUED,
    "email.retrying": EventType.DEFERRED,
    "email.deferred": EventType.DEFERRED,
    "email.delivery_delayed": EventType.DEFERRED,
    "email.sent": EventType.SENT,
    "email.delivered": EventType.DELIVERED,
    "email.bounced": EventType.BOUNCED,
    "email.complained": EventType.COMPLAINED,
    "email.failed": EventType.FAILED,
    "email.discarded": EventType.FAILED,
    "email.expired": EventType.FAILED,
    "email.canceled": EventType.UNKNOWN,
    "email.resent": EventType.UNKNOWN,
}
TEST_EVENT = "webhook.test"  # the dashboard's "send a test": answered 200, no signal


class EmailhubTrackingWebhookView(AnymailBaseWebhookView):
    esp_name = "Emailhub"
    signal = tracking
    warn_if_no_basic_auth = False  # the signature is the check
    webhook_secret = None  # as_view(webhook_secret=...) may set it

    def __init__(self, **kwargs):
        secrets = get_anymail_setting("webhook_secret", esp_name=self.esp_name, kwargs=kwargs)
        self.webhooks = _verifiers([secrets] if isinstance(secrets, str) else list(secrets or ()))
        super().__init__(**kwargs)

    def validate_request(self, request):
        headers = {name: request.headers.get(name, "")
                   for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        for webhook in self.webhooks:
            try:
                webhook.verify(request.body, headers, json_parse=False)
                return
            except (WebhookVerificationError, ValueError):  # ValueError: a malformed header or body
                continue
        raise AnymailWebhookValidationFailure(
            "Emailhub webhook called with a missing, incorrect or stale signature "
            "(check Anymail EMAILHUB_WEBHOOK_SECRET: the endpoint's whsec_ secret)")

    def parse_events(self, request):
        try:
            esp_event = json.loads(request.body)
        except ValueError as err:
            raise AnymailWebhookValidationFailure("Emailhub webhook body is not JSON") from err
        if not isinstance(esp_event, dict) or esp_event.get("type") == TEST_EVENT:
            return []
        return tracking_events(esp_event)


def _verifiers(secrets):
    """One verifier per secret; a missing or unreadable secret is a configuration error
    (each request a 500 saying so) rather than a receiver that accepts anything."""
    try:
        verifiers = [Webhook(secret) for secret in secrets]
    except (EmptyWebhookSecretError, ValueError, TypeError) as err:
        raise AnymailConfigurationError(_SECRET_HELP) from err
    if not verifiers:
        raise AnymailConfigurationError(_SECRET_HELP)
    return verifiers


_SECRET_HELP = ("Set ANYMAIL['EMAILHUB_WEBHOOK_SECRET'] to the webhook endpoint's signing secret "
                "(whsec_..., shown once when the endpoint is created or its secret rotated)")


def tracking_events(esp_event):
    """The AnymailTrackingEvents of one Emailhub event (one per recipient)."""
    data = esp_event.get("data") if isinstance(esp_event.get("data"), dict) else {}
    details = data.get("details") if isinstance(data.get("details"), dict) else {}
    event_type = EVENT_TYPES.get(esp_event.get("type"), EventType.UNKNOWN)
    reject_reason = None
    if event_type == EventType.BOUNCED:
        reject_reason = RejectReason.BOUNCED
    elif event_type == EventType.COMPLAINED:
        reject_reason = RejectReason.SPAM
    elif event_type == EventType.FAILED and _refused_before_sending(data, details):
        event_type, reject_reason = EventType.REJECTED, _reject_reason(details)
    tags, metadata = tags_from_emailhub(data.get("tags"))
    common = dict(
        event_type=event_type, timestamp=_instant(esp_event.get("created_at")), event_id=esp_event.get("id"),
        message_id=data.get("email_id"), tags=tags, metadata=metadata, reject_reason=reject_reason,
        description=_description(data, details), mta_response=details.get("diagnostic") or details.get("smtp_response"),
        esp_event=esp_event,
    )
    return [AnymailTrackingEvent(recipient=recipient, **common) for recipient in _recipients(data, details)]


def _recipients(data, details):
    named = details.get("recipients") or [*(data.get("to") or []), *(data.get("cc") or [])]
    addresses = []
    for value in named if isinstance(named, list) else []:
        try:
            address = parse_single_address(value).addr_spec if isinstance(value, str) else None
        except (AnymailInvalidAddress, IndexError, ValueError):  # IndexError: no address in it at all
            continue
        if not address:
            continue
        if address not in addresses:
            addresses.append(address)
    return addresses or [None]


def _refused_before_sending(data, details):
    """SES rejected it, or a recipient was suppressed while it waited."""
    return data.get("timeline_event") == "reject" or _error_code(details) == "suppressed_recipient"


def _reject_reason(details):
    return RejectReason.BLOCKED if _error_code(details) == "suppressed_recipient" else RejectReason.OTHER


def _error_code(details):
    error = details.get("error")
    return details.get("code") or (error.get("code") if isinstance(error, dict) else None)


def _description(data, details):
    for key in ("diagnostic", "reason", "message", "feedback_type", "bounce_subtype"):
        if isinstance(details.get(key), str) and details[key]:
            return details[key]
    return data.get("status")


def _instant(value):
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, TypeError, ValueError):
        return None
