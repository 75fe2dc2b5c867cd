"""POST /emails/batch: many emails in one request (emailhub/batch.py)."""

import pydantic
from ninja import Header, Router

from emailhub import examples
from emailhub.api import (
    AUTH_CODES, ApiKeyAuth, _examples, _idempotency_key, api, error_response, validation_error_body,
)
from emailhub.batch import BatchInvalid, emails_send_batch
from emailhub.schemas import BatchErrorOut, BatchIn, BatchOut, ErrorOut, SendEmailIn

router = Router(tags=["default"])


def _entry(email):
    """One email of the batch as the service takes it: its request, or why it cannot be read."""
    if not isinstance(email, dict):
        return {"error": {"code": "invalid_field", "message": "Each email is a JSON object.", "field": None}}
    try:
        return {"request": SendEmailIn.model_validate(email).as_request()}
    except pydantic.ValidationError as err:
        return {"error": validation_error_body(err.errors())}


@router.post(
    "emails/batch", auth=ApiKeyAuth(),
    response={202: BatchOut, 400: BatchErrorOut, 401: ErrorOut, 409: ErrorOut, 413: ErrorOut, 503: ErrorOut},
    summary="Accept up to 100 emails at once", operation_id="send_batch",
    openapi_extra=_examples(examples.SEND_BATCH, codes={
        **AUTH_CODES, 400: ["malformed_json", "unknown_field", "missing_field", "invalid_field", "too_many_emails",
                            "empty_batch", "invalid_batch"],
        409: ["idempotency_key_reused"], 413: ["payload_too_large"], 503: ["aws_unavailable", "queue_unavailable"]}),
)
def send_batch(request, payload: BatchIn,
               idempotency_key: str = Header(None, alias="Idempotency-Key", example="orders-2026-11-27")):
    """Each email is what `POST /send-email` takes (attachments, send_at and
    expires_at included) and is checked the same way. `mode` strict (the
    default): one invalid email and nothing is accepted, the 400 lists every
    error by index. permissive: the valid ones are accepted and `data` gives
    each index its id or its error. One Idempotency-Key covers the batch: the
    same key and body answer the same ids again, another body is a 409. The
    whole body is bounded by EMAILHUB_MAX_REQUEST_BYTES (413)."""
    try:
        answer = emails_send_batch(
            entries=[_entry(email) for email in payload.emails], mode=payload.mode,
            api_key_prefix=request.auth.prefix, idempotency_key=_idempotency_key(idempotency_key),
            search_key=request.auth.search_key,
            batch_request={"mode": payload.mode, "emails": payload.emails},
        )
    except BatchInvalid as err:
        return error_response(400, err.code, err.message, "emails", errors=err.errors)
    response = api.create_response(request, answer.as_body(), status=202)
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response
