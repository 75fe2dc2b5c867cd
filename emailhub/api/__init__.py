"""The REST API: thin views over the services, every error as
{"error": {"code", "message", "field"}}.

One NinjaAPI; each group of operations beyond sending lives in its own
module of this package as a ninja Router, added at the end of this file."""

import json
import logging
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.urls import register_converter
from ninja import Header, NinjaAPI, Path, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer

from emailhub import examples, services
from emailhub.apikeys import api_key_authenticate
from emailhub.errors import (
    AwsUnavailable, EmailhubError, EnqueueFailed, Forbidden, IdempotencyConflict, InvalidSchedule, NotFound,
    StatusConflict, Suppressed, TooLarge, UnverifiedIdentities,
)
from emailhub.health import health_check
from emailhub.schemas import ERROR_CODES, AcceptedOut, EmailOut, ErrorOut, HealthOut, SendEmailIn
from emailhub.selectors import email_for_key, email_record

logger = logging.getLogger(__name__)


class EmailRefConverter:
    """An email id in a path: anything but "batch", so that the URL pattern of
    /emails/{email_id} (GET, PATCH) leaves /emails/batch to its own operation
    (Django takes the first pattern that matches, whatever the method)."""

    regex = r"(?!batch$)[^/]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(EmailRefConverter, "email_ref")
# The path of the operations on one email (GET here, PATCH in api/scheduling.py).
EMAIL_PATH = "emails/{email_ref:email_id}"

class ApiError(Exception):
    def __init__(self, status, code, message, field=None, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.extra = status, code, message, field, extra


# How long a client should wait before retrying a 503 (AWS unreachable).
RETRY_AFTER_SECONDS = 5


def error_response(status, code, message, field=None, **extra):
    response = JsonResponse({"error": {"code": code, "message": message, "field": field, **extra}}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="emailhub"'
    elif status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class CappedJsonParser(Parser):
    """JSON bodies up to EMAILHUB_MAX_REQUEST_BYTES, checked before reading."""

    def parse_body(self, request):
        limit = settings.EMAILHUB_MAX_REQUEST_BYTES
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > limit:
            raise ApiError(413, "payload_too_large", f"The request body is over {limit} bytes.")
        try:
            body = request.body
        except RequestDataTooBig as err:
            raise ApiError(413, "payload_too_large", f"The request body is over {limit} bytes.") from err
        if len(body) > limit:
            raise ApiError(413, "payload_too_large", f"The request body is over {limit} bytes.")
        try:
            data = json.loads(body)
        except ValueError as err:
            raise ApiError(400, "malformed_json", f"The body is not valid JSON: {err}.") from err
        if not isinstance(data, dict):
            raise ApiError(400, "malformed_json", "The body must be a JSON object.")
        if _SURROGATE_ESCAPE.search(body):
            try:
                json.dumps(data, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError as err:
                raise ApiError(400, "invalid_unicode", "The body has a lone UTF-16 surrogate escape "
                               "(\\ud800-\\udfff); it is not a character.") from err
        return data


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request, token):
        return api_key_authenticate(presented=token)


api = NinjaAPI(
    title="Emailhub",
    version="1",
    description="Transactional email through Amazon SES. Authenticate with `Authorization: Bearer <API key>`.",
    parser=CappedJsonParser(),
    openapi_url="api/openapi.json",
    docs_url="api/docs",
    urls_namespace="api",
)


def _field(loc):
    # Where the value came from (the body, the query string, the path) is not part of the field's name.
    parts = [str(p) for p in loc if p not in ("body", "payload", "query", "path")]
    return ".".join(parts) or None


_PYDANTIC_CODES = {"extra_forbidden": "unknown_field", "missing": "missing_field", "string_too_long": "field_too_long"}
# A JSON \u escape of a lone UTF-16 surrogate parses into a str that cannot be
# encoded as UTF-8 (for MIME, for SES): looked for only when an escape is there.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB]")


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    # Raised when django-ninja reads the body, before the parser's own check.
    return error_response(413, "payload_too_large",
                          f"The request body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")


def validation_error_body(errors):
    """{"code", "message", "field"} for the first of pydantic's `errors`."""
    first = errors[0]
    code = _PYDANTIC_CODES.get(first["type"]) or (
        first["type"] if first["type"] in ERROR_CODES else "invalid_field")
    field = _field(first.get("loc", ()))
    message = first.get("msg", "Invalid value.")
    if code == "unknown_field":
        message = f"Unknown field {field!r}."
    elif code == "missing_field" and first["type"] == "missing":
        message = f"Field {field!r} is required."
    return {"code": code, "message": message, "field": field}


@api.exception_handler(ValidationError)
def _validation_error(request, exc):
    first = exc.errors[0]
    if first["type"] == "missing" and not _field(first.get("loc", ())):
        return error_response(400, "malformed_json", "The body is empty: send a JSON object.")
    return error_response(400, **validation_error_body(exc.errors))


@api.exception_handler(HttpError)
def _http_error(request, exc):
    if isinstance(exc.__cause__, ApiError):
        return _api_error(request, exc.__cause__)
    if isinstance(exc, AuthenticationError):
        return error_response(401, "unauthorized", "Missing, invalid or revoked API key. "
                              "Send `Authorization: Bearer <key>`.")
    return error_response(exc.status_code, "http_error", str(exc))


@api.exception_handler(ApiError)
def _api_error(request, exc):
    return error_response(exc.status, exc.code, exc.message, exc.field, **exc.extra)


@api.exception_handler(EmailhubError)
def _emailhub_error(request, exc):
    if isinstance(exc, UnverifiedIdentities):
        return error_response(422, exc.code, exc.message, exc.field, addresses=exc.addresses)
    if isinstance(exc, Suppressed):
        return error_response(422, exc.code, exc.message, exc.field, addresses=exc.addresses)
    if isinstance(exc, IdempotencyConflict):
        return error_response(409, exc.code, exc.message, "Idempotency-Key")
    if isinstance(exc, NotFound):
        return error_response(404, exc.code, exc.message)
    if isinstance(exc, InvalidSchedule):
        return error_response(400, exc.code, exc.message, exc.field)
    if isinstance(exc, StatusConflict):
        return error_response(409, exc.code, exc.message, email_status=exc.status)
    if isinstance(exc, Forbidden):
        return error_response(403, exc.code, exc.message)
    if isinstance(exc, TooLarge):
        return error_response(413, exc.code, exc.message)
    if isinstance(exc, (EnqueueFailed, AwsUnavailable)):
        # The detail names internal endpoints and operations: the log has it, the caller does not.
        logger.warning("503 %s: %s", exc.code, exc.message)
        return error_response(503, exc.code, "A service Emailhub depends on is unavailable right now; nothing "
                              f"was accepted. Retry in {RETRY_AFTER_SECONDS} seconds with the same Idempotency-Key.")
    return error_response(500, exc.code, exc.message)


@api.exception_handler(Exception)
def _unexpected(request, exc):
    """A bug: logged with its traceback; the caller gets the error shape, not an HTML page."""
    logger.exception("Unexpected error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "Something went wrong in Emailhub; it has been logged. "
                          "A send may be retried with the same Idempotency-Key.")


def _idempotency_key(value):
    if value is None:
        return None
    if not 1 <= len(value) <= 255 or not value.isprintable() or not value.isascii():
        raise ApiError(400, "invalid_idempotency_key",
                       "Idempotency-Key must be 1 to 255 printable ASCII characters.", "Idempotency-Key")
    return value


def openapi_document(request):
    """The OpenAPI document, with this deployment as its server: generated
    clients (openapi-python-client, Postman) take their base URL from it."""
    schema = api.get_openapi_schema()
    schema["servers"] = [{"url": request.build_absolute_uri("/").rstrip("/"), "description": "This deployment"}]
    return JsonResponse(schema)


# The error codes each status can carry, named in every operation's
# description of that status (an operation passes the codes it can answer).
STATUS_TEXT = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
               413: "Request Entity Too Large", 422: "Unprocessable Entity", 503: "Service Unavailable"}
AUTH_CODES = {401: ["unauthorized"], 503: ["aws_unavailable"]}


def _examples(examples, links=None, codes=None):
    """An operation's `openapi_extra` with an example for each status given
    (a status of "body" is the request body's), OpenAPI links ({status:
    {name: link}}: what a client, or schemathesis's stateful phase, can call
    next with a value from this answer), and the error codes of each status
    ({status: [code, ...]}) in its description."""
    extra = {"responses": {s: {"content": {"application/json": {"example": e}}}
                           for s, e in examples.items() if s != "body"}}
    for status, named in (links or {}).items():
        extra["responses"].setdefault(status, {})["links"] = named
    for status, names in (codes or {}).items():
        extra["responses"].setdefault(status, {})["description"] = (
            f"{STATUS_TEXT[status]}. `error.code`: " + ", ".join(f"`{c}`" for c in names) + ".")
    if "body" in examples:
        extra["requestBody"] = {"content": {"application/json": {"example": examples["body"]}}}
    return extra


@api.post(
    "send-email",
    auth=ApiKeyAuth(),
    response={202: AcceptedOut, 400: ErrorOut, 401: ErrorOut, 409: ErrorOut, 413: ErrorOut,
              422: ErrorOut, 503: ErrorOut},
    summary="Accept an email for sending",
    operation_id="send_email",
    openapi_extra=_examples(examples.SEND_EMAIL, links={202: {
        "GetEmail": {"operationId": "get_email", "parameters": {"email_id": "$response.body#/id"},
                     "description": "The email's status and timeline."},
        "CancelEmail": {"operationId": "cancel_email", "parameters": {"email_id": "$response.body#/id"},
                        "description": "Cancel it while it is not yet being sent."}}}, codes={
        400: ["malformed_json", "unknown_field", "missing_field", "invalid_field", "invalid_address",
              "header_injection", "control_character", "field_too_long", "too_many_tags", "forbidden_header",
              "too_many_headers", "too_many_reply_to", "invalid_unicode", "too_many_recipients", "missing_body",
              "invalid_tag", "invalid_header", "invalid_attachment", "invalid_idempotency_key"],
        409: ["idempotency_key_reused"], 413: ["payload_too_large", "message_too_large", "item_too_large"],
        422: ["unverified_identity", "suppressed_recipient"], 401: ["unauthorized"],
        503: ["queue_unavailable", "aws_unavailable"]}),
)
def send_email(request, payload: SendEmailIn,
               idempotency_key: str = Header(None, alias="Idempotency-Key", example="order-1042")):
    """Validate, store and queue an email. 202 means it will be sent or, if SES
    refuses it, parked in the dead-letter queue for a human."""
    accepted = services.email_send(
        request=payload.as_request(),
        api_key_prefix=request.auth.prefix,
        idempotency_key=_idempotency_key(idempotency_key),
        search_key=request.auth.search_key,
    )
    response = api.create_response(request, accepted.body, status=202)
    if accepted.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@api.get(EMAIL_PATH, auth=ApiKeyAuth(), response={200: EmailOut, 401: ErrorOut, 404: ErrorOut, 503: ErrorOut},
         summary="An email's status and timeline", operation_id="get_email",
         openapi_extra=_examples(examples.GET_EMAIL, codes={**AUTH_CODES, 404: ["not_found"]}))
def get_email(request, email_id: str = Path(..., example=examples.EMAIL_ID)):
    """A `send` key reads only the emails sent with it: another key's email is a 404."""
    return email_record(email=email_for_key(email_id=email_id, api_key=request.auth))


@api.get("health", response={200: HealthOut, 503: HealthOut}, summary="Reachability of each AWS dependency",
         operation_id="health",
         openapi_extra=_examples(examples.HEALTH))
def health(request):
    """503 when an AWS dependency is unreachable; 200 "degraded" when emails are stuck."""
    reachable, degraded, checks = health_check()
    status = "unavailable" if not reachable else "degraded" if degraded else "ok"
    return Status(200 if reachable else 503, {"status": status, "checks": checks})


# The operations beyond sending, one Router module each (imported here, at
# the end, because they use the helpers above).
from emailhub.api import batch, scheduling, search, suppressions  # noqa: E402

api.add_router("", batch.router)
api.add_router("", scheduling.router)
api.add_router("", search.router)
api.add_router("", suppressions.router)
