"""What the API refused, as exceptions.

Every answer of the API that is not a success carries
`{"error": {"code", "message", "field", ...}}`; `error_from_response` turns
it into the subclass of `EmailhubError` its HTTP status means, keeping
every part of the body. The class says what kind of problem it is (catch
`ValidationError` to show a form error, `ServiceUnavailableError` to retry
later); `.code` says exactly which (`invalid_address`, `not_cancelable`, ...)."""

import json

__all__ = [
    "EmailhubError", "AuthenticationError", "PermissionDeniedError", "NotFoundError", "ConflictError",
    "ValidationError", "RateLimitError", "ServerError", "ServiceUnavailableError", "EmailhubConnectionError",
    "error_from_response",
]


class EmailhubError(Exception):
    """An error answered by the API (or, for EmailhubConnectionError, no answer at all).

    status: the HTTP status (None when no answer came).
    code, message, field: the API's `error.code`, `error.message`, `error.field`.
    addresses: the addresses concerned (422 unverified_identity, suppressed_recipient), else [].
    errors: per-email errors of a strict batch (400 invalid_batch): [{"index", "code", "message", "field"}].
    body: the parsed JSON answer (or None), raw: its text.
    idempotency_key: the key the request was sent with (sends only): retrying later with
        the same key can never send twice.
    """

    def __init__(self, message, *, status=None, code=None, field=None, addresses=None, errors=None, body=None,
                 raw=None, headers=None, idempotency_key=None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.addresses = list(addresses or [])
        self.errors = list(errors or [])
        self.body, self.raw = body, raw
        self.headers = dict(headers or {})
        self.idempotency_key = idempotency_key

    @property
    def details(self):
        """Every other key of the API's `error` object (e.g. `email_status` of a 409 not_cancelable)."""
        error = (self.body or {}).get("error") if isinstance(self.body, dict) else None
        if not isinstance(error, dict):
            return {}
        return {k: v for k, v in error.items() if k not in ("code", "message", "field", "addresses", "errors")}

    def __str__(self):
        where = f" ({self.field})" if self.field else ""
        status = f"{self.status} " if self.status else ""
        return f"{status}{self.code}: {self.message}{where}"

    def __repr__(self):
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class AuthenticationError(EmailhubError):
    """401: the API key is missing, invalid or revoked."""


class PermissionDeniedError(EmailhubError):
    """403: the key's scope does not allow the operation (a `send` key on the suppression list)."""


class NotFoundError(EmailhubError):
    """404: no such email (or another `send` key's), or an address not on the suppression list."""


class ConflictError(EmailhubError):
    """409: the Idempotency-Key was used with another request, or the email's status forbids
    the change (`not_cancelable`, `not_reschedulable`; `.details["email_status"]` says which)."""


class ValidationError(EmailhubError):
    """400, 413, 422: the request cannot be accepted as it is (a field, its size, the SES
    sandbox, the suppression list). Sending it again unchanged gets the same answer."""


class RateLimitError(EmailhubError):
    """429: too many requests (a gateway in front of the API may answer it)."""


class ServerError(EmailhubError):
    """5xx other than 503: a fault on the server's side (500 `internal_error` is logged there)."""


class ServiceUnavailableError(ServerError):
    """503: a service Emailhub depends on is unreachable; nothing was accepted. The client
    retries it (honouring Retry-After); this is raised when the retries ran out."""


class EmailhubConnectionError(EmailhubError):
    """No answer: the connection failed or timed out on every attempt.

    `outcome_unknown` is True when an attempt may have reached the server (the
    connection broke or timed out after the request was sent): a send may then
    have been accepted. Sending again with `.idempotency_key` is safe either way."""

    def __init__(self, message, *, outcome_unknown, attempts, **kwargs):
        super().__init__(message, **kwargs)
        self.outcome_unknown, self.attempts = outcome_unknown, attempts


_BY_STATUS = {400: ValidationError, 401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError,
              409: ConflictError, 413: ValidationError, 422: ValidationError, 429: RateLimitError,
              503: ServiceUnavailableError}


def error_class(status):
    """The exception class for an HTTP error status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    if status >= 400:
        return ValidationError if status in (405, 415) else EmailhubError
    return EmailhubError


def _parsed(text):
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def error_from_response(response, *, idempotency_key=None):
    """The exception for a `requests.Response` with an error status. An answer
    without the API's error shape (a proxy's HTML page, say) still gives one,
    with code `http_<status>` and the start of the text as its message."""
    status, text = response.status_code, response.text
    body = _parsed(text)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        # API Gateway answers {"message": "..."}; anything else: its first line.
        fallback = body.get("message") if isinstance(body, dict) else None
        message = fallback if isinstance(fallback, str) else (text.strip().splitlines() or [response.reason or ""])[0]
        error = {"code": f"http_{status}", "message": message[:500]}
    return error_class(status)(
        str(error.get("message") or ""), status=status, code=error.get("code"), field=error.get("field"),
        addresses=error.get("addresses"), errors=error.get("errors"), body=body, raw=text,
        headers=response.headers, idempotency_key=idempotency_key,
    )
