"""Scheduled emails: cancel one, or move its send_at.

PATCH shares its path with GET /emails/{email_id}, so it goes on the API's
own router (one URL pattern serves both methods); cancel has a Router."""

from ninja import Path, Router

from emailhub import examples
from emailhub.api import AUTH_CODES, EMAIL_PATH, ApiKeyAuth, _examples, api
from emailhub.schemas import EmailOut, ErrorOut, RescheduleIn
from emailhub.scheduling.changes import email_cancel, email_reschedule
from emailhub.selectors import email_for_key, email_status

router = Router(tags=["default"])

EMAIL_ID = Path(..., example=examples.EMAIL_ID)


_BODY_CODES = ["malformed_json", "unknown_field", "missing_field", "invalid_field"]


@router.post("emails/{email_id}/cancel", auth=ApiKeyAuth(),
             response={200: EmailOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 503: ErrorOut},
             summary="Cancel an email before it is sent", operation_id="cancel_email",
             openapi_extra=_examples(examples.CANCEL_EMAIL, codes={
                 **AUTH_CODES, 404: ["not_found"], 409: ["not_cancelable"]}))
def cancel_email(request, email_id: str = EMAIL_ID):
    """While no worker is sending it and none has sent it (`scheduled`,
    `queued`, `retrying` or `deferred`), it becomes `canceled` and is never
    sent. A 409 (`not_cancelable`) means a worker got to it first: it is
    being sent, or was. Canceling a canceled email again answers 200."""
    email = email_for_key(email_id=email_id, api_key=request.auth)
    email_cancel(email=email, by=request.auth.actor)
    return email_status(email_id=email_id)


@api.patch(EMAIL_PATH, auth=ApiKeyAuth(),
              response={200: EmailOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 503: ErrorOut},
              summary="Move a scheduled email's send_at", operation_id="reschedule_email",
              openapi_extra=_examples(examples.RESCHEDULE_EMAIL, codes={
                  **AUTH_CODES, 400: _BODY_CODES + ["invalid_datetime", "send_at_in_past", "send_at_too_far",
                                                    "expires_before_send"],
                  404: ["not_found"], 409: ["not_reschedulable"]}))
def reschedule_email(request, payload: RescheduleIn, email_id: str = EMAIL_ID):
    """Only while the email is `scheduled` (else 409 `not_reschedulable`).
    The new send_at follows the same rules as when sending."""
    email = email_for_key(email_id=email_id, api_key=request.auth)
    email_reschedule(email=email, send_at=payload.send_at, by=request.auth.actor)
    return email_status(email_id=email_id)
