"""Examples in the OpenAPI document, one per request body and main response:
tools that turn the document into requests (Postman, generated clients) send
these instead of placeholders, so they must be valid requests. The address is
the one the README's local stack verifies."""

EMAIL_ID = "01a21ecc-a182-77b3-b4ce-7855025ae3fc"
AT = "2026-11-27T10:00:00.000000+00:00"


def _error(code, message, field=None):
    return {"error": {"code": code, "message": message, "field": field}}


SEND_EMAIL = {
    "body": {"to": ["alice@example.com"], "subject": "Your order", "text": "Thanks!"},
    202: {"id": EMAIL_ID, "status": "queued", "created_at": AT},
    400: _error("invalid_address", "The address has no @.", "to.0"),
    401: _error("unauthorized", "Missing, invalid or revoked API key. Send `Authorization: Bearer <key>`."),
    422: _error("unverified_identity", "The SES sandbox only sends between verified identities. Verify "
                "bob@example.com (python manage.py verify_identity ADDRESS) or leave the sandbox.", "to"),
    503: _error("aws_unavailable", "A service Emailhub depends on is unavailable right now; nothing was "
                "accepted. Retry in 5 seconds with the same Idempotency-Key."),
}

GET_EMAIL = {
    200: {"id": EMAIL_ID, "status": "sent", "created_at": AT, "updated_at": AT, "sender": "no-reply@example.com",
          "to": ["alice@example.com"], "cc": [], "bcc": [], "reply_to": [], "subject": "Your order", "tags": {},
          "attempts": 1, "last_error": None, "ses_message_id": "0100018f-example", "sent_at": AT,
          "parent_id": None, "resent_as": None,
          "events": [{"at": AT, "type": "accepted"}, {"at": AT, "type": "sent", "attempt": 1}]},
    404: _error("not_found", f"No email with id {EMAIL_ID!r}."),
}

HEALTH = {
    200: {"status": "ok", "checks": {"dynamodb": {"ok": True}, "outbox": {"ok": True}, "ses": {"ok": True}}},
}

SEND_AT = "2026-12-01T09:00:00+01:00"
SEND_AT_UTC = "2026-12-01T08:00:00.000000Z"
SECOND_ID = "01a21ecc-a182-77b3-b4ce-7855025ae3fd"

SEND_BATCH = {
    "body": {"mode": "permissive", "emails": [
        {"to": ["alice@example.com"], "subject": "Your order", "text": "Thanks!"},
        {"to": ["alice@example.com"], "subject": "Your invoice", "text": "Attached soon.", "send_at": SEND_AT},
    ]},
    202: {"mode": "permissive", "accepted": 2, "rejected": 0, "data": [
        {"index": 0, "id": EMAIL_ID, "status": "queued", "created_at": AT},
        {"index": 1, "id": SECOND_ID, "status": "scheduled", "created_at": AT, "send_at": SEND_AT_UTC},
    ]},
    400: {"error": {"code": "invalid_batch", "message": "1 of 2 emails are invalid; nothing was accepted. "
                    "See `errors` (by index).", "field": "emails",
                    "errors": [{"index": 1, "code": "send_at_in_past", "field": "send_at",
                                "message": "send_at 2026-11-01T08:00:00.000000Z is in the past (it is "
                                "2026-11-27T10:00:00.000000Z now); leave it out to send now."}]}},
    409: _error("idempotency_key_reused", "This Idempotency-Key was already used with a different request. "
                "Use a new key for a new email.", "Idempotency-Key"),
    413: _error("payload_too_large", "The request body is over 5242880 bytes."),
}

_SCHEDULED = {**GET_EMAIL[200], "status": "scheduled", "attempts": 0, "ses_message_id": None, "sent_at": None,
              "send_at": SEND_AT_UTC, "expires_at": None, "events": [{"at": AT, "type": "accepted"}]}

CANCEL_EMAIL = {
    200: {**_SCHEDULED, "status": "canceled",
          "events": [{"at": AT, "type": "accepted"}, {"at": AT, "type": "canceled", "by": "api key eh_live_ab12"}]},
    404: _error("not_found", f"No email with id {EMAIL_ID!r}."),
    409: {"error": {"code": "not_cancelable", "field": None, "email_status": "sending",
                    "message": "This email can no longer be canceled: A worker is sending it right now. Only an "
                    "email no worker is sending and none has sent (scheduled, queued, retrying or deferred) can "
                    "be canceled."}},
}

RESCHEDULE_EMAIL = {
    "body": {"send_at": "2026-12-02T09:00:00+01:00"},
    200: {**_SCHEDULED, "send_at": "2026-12-02T08:00:00.000000Z",
          "events": [{"at": AT, "type": "accepted"},
                     {"at": AT, "type": "rescheduled", "send_at": "2026-12-02T08:00:00.000000Z",
                      "previous": SEND_AT_UTC}]},
    400: _error("send_at_too_far", "send_at is more than 30 days ahead (EMAILHUB_MAX_SCHEDULE_DAYS).", "send_at"),
    404: _error("not_found", f"No email with id {EMAIL_ID!r}."),
    409: {"error": {"code": "not_reschedulable", "field": None, "email_status": "sent",
                    "message": "This email can no longer be rescheduled: It is already sent. Only a scheduled "
                    "email can be rescheduled."}},
}

SEARCH_EMAILS = {
    200: {"data": [{"id": EMAIL_ID, "status": "delivered", "created_at": AT, "updated_at": AT,
                    "sender": "no-reply@example.com", "to": ["alice@example.com"], "cc": [], "subject": "Your order",
                    "tags": {"type": "order"}, "attempts": 1, "last_error": None,
                    "ses_message_id": "0100018f-example", "send_at": None, "expires_at": None}],
          "next_cursor": None},
    400: _error("invalid_cursor", "The cursor is not one this API made, or it was changed: start again without "
                "a cursor.", "cursor"),
}

# The suppression operations' example address: not the one the send example writes to.
SUPPRESSED_ADDRESS = "bounced@example.com"
SUPPRESSION = {"address": SUPPRESSED_ADDRESS, "reason": "hard bounce", "created_at": AT,
               "source_email_id": EMAIL_ID, "added_by": None}
_SCOPE = _error("insufficient_scope", "This API key's scope is 'send'; this operation needs a 'full' key.")

LIST_SUPPRESSIONS = {200: {"data": [SUPPRESSION], "next_cursor": None}, 403: _SCOPE}
GET_SUPPRESSION = {200: SUPPRESSION, 404: _error("not_found", f"{SUPPRESSED_ADDRESS} is not on the suppression list."),
                   403: _SCOPE}
PUT_SUPPRESSION = {
    "body": {"reason": "asked to stop"},
    201: {"address": SUPPRESSED_ADDRESS, "reason": "asked to stop", "created_at": AT, "source_email_id": None,
          "added_by": "api key shop-backend (1a2b3c4d)"},
    200: SUPPRESSION,  # it was already there: its first reason stays
    400: _error("invalid_address", "'alice@' is not a valid email address: There must be something after the @-sign.",
                "address"),
    403: _SCOPE,
}
DELETE_SUPPRESSION = {404: _error("not_found", f"{SUPPRESSED_ADDRESS} is not on the suppression list."),
                      403: _SCOPE}
